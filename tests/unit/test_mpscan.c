/*
 * mpscan: the hostile-frame pre-walk. Every frame a client could send to make
 * msgpack-c allocate without bound, recurse too deep, or read past the end must be
 * refused with a "frame: ..." reason; every well-formed frame must pass.
 */
#include "mpscan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#define DEPTH 6 /* intake.max_depth default */

static char err[256];

static int scan(const void *buf, size_t len, size_t max_depth, struct mpscan_info *info)
{
    memset(err, 0, sizeof err);
    return mpscan_check(buf, len, max_depth, info, err, sizeof err);
}

static void assert_rejected(const void *buf, size_t len, const char *expect)
{
    assert_int_equal(scan(buf, len, DEPTH, NULL), -1);
    assert_true(strncmp(err, "frame: ", 7) == 0);
    if (!strstr(err, expect))
        fail_msg("error \"%s\" does not contain \"%s\"", err, expect);
}

/* A realistic event and a batch of them, packed as a client would. */
static void pack_event(msgpack_packer *pk, int rating)
{
    msgpack_pack_map(pk, 3);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "citizen_feedback", 16);
    msgpack_pack_str_with_body(pk, "rating", 6);
    msgpack_pack_int(pk, rating);
    msgpack_pack_str_with_body(pk, "skm", 3);
    msgpack_pack_map(pk, 1);
    msgpack_pack_str_with_body(pk, "u1", 2);
    msgpack_pack_double(pk, 2.5);
}

static void test_accepts_one_event(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct mpscan_info info;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_event(&pk, 4);
    assert_int_equal(scan(sb.data, sb.size, DEPTH, &info), 0);
    assert_int_equal(info.top_is_array, 0);
    assert_int_equal(info.top_count, 3);
    /* map, 3 keys, 3 values, inner map's key and value */
    assert_int_equal(info.objects, 1 + 3 + 3 + 2);
    msgpack_sbuffer_destroy(&sb);
}

static void test_accepts_batch(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct mpscan_info info;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 20); /* array16: more than a fixarray holds */
    for (int i = 0; i < 20; i++)
        pack_event(&pk, i % 4 + 1);
    assert_int_equal(scan(sb.data, sb.size, DEPTH, &info), 0);
    assert_int_equal(info.top_is_array, 1);
    assert_int_equal(info.top_count, 20);
    assert_int_equal(info.objects, 1 + 20 * 9);
    msgpack_sbuffer_destroy(&sb);
}

/* Every scalar type, the 16/32-bit headers and ext, all in one well-formed frame. */
static void test_accepts_every_type(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char big[70000];
    memset(big, 'x', sizeof big);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 17);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_false(&pk);
    msgpack_pack_int64(&pk, -1);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_uint16(&pk, 60000);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_double(&pk, 1e300);
    msgpack_pack_str_with_body(&pk, big, 200);        /* str8 */
    msgpack_pack_str_with_body(&pk, big, 1000);       /* str16 */
    msgpack_pack_str_with_body(&pk, big, sizeof big); /* str32 */
    msgpack_pack_bin_with_body(&pk, big, 300);        /* bin16 */
    msgpack_pack_ext_with_body(&pk, big, 4, 7);       /* fixext4 */
    msgpack_pack_ext_with_body(&pk, big, 3, 7);       /* ext8 */
    msgpack_pack_map(&pk, 0);
    msgpack_pack_array(&pk, 0);
    assert_int_equal(scan(sb.data, sb.size, DEPTH, NULL), 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_rejects_array32_of_4_billion(void **state)
{
    (void)state;
    const unsigned char f[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    assert_rejected(f, sizeof f, "array declares 4294967295 elements but 0 bytes remain");
}

static void test_rejects_map32_of_4_billion(void **state)
{
    (void)state;
    const unsigned char f[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03};
    assert_rejected(f, sizeof f, "map declares 4294967295 entries but 3 bytes remain");
}

/* A map entry is a key and a value: two entries cannot fit in three bytes. */
static void test_rejects_map_entries_needing_two_bytes(void **state)
{
    (void)state;
    const unsigned char f[] = {0x82, 0x01, 0x02, 0x03};
    assert_rejected(f, sizeof f, "map declares 2 entries but 3 bytes remain");
}

static void test_rejects_array16_count_past_end(void **state)
{
    (void)state;
    const unsigned char f[] = {0xdc, 0x00, 0x05, 0x01, 0x02};
    assert_rejected(f, sizeof f, "array declares 5 elements but 2 bytes remain");
}

/* Bytes still owed to the outer array's second element are not there for the inner. */
static void test_rejects_count_ignoring_siblings(void **state)
{
    (void)state;
    const unsigned char f[] = {0x92, 0x93, 0x01, 0x01, 0x01};
    assert_rejected(f, sizeof f, "array declares 3 elements but 2 bytes remain");
}

static void test_rejects_100_nested_arrays(void **state)
{
    (void)state;
    unsigned char f[100];
    memset(f, 0x91, sizeof f - 1);
    f[sizeof f - 1] = 0x90;
    assert_rejected(f, sizeof f, "frame: nested deeper than 6");
    /* a max_depth beyond the walker's stack is clamped, not overflowed */
    assert_int_equal(scan(f, sizeof f, 1000, NULL), -1);
    assert_non_null(strstr(err, "nested deeper than"));
}

static void test_depth_limit_is_exact(void **state)
{
    (void)state;
    const unsigned char six[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01};
    const unsigned char seven[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01};
    const unsigned char seven_empty[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x80};
    assert_int_equal(scan(six, sizeof six, DEPTH, NULL), 0);
    assert_rejected(seven, sizeof seven, "nested deeper than 6");
    assert_rejected(seven_empty, sizeof seven_empty, "nested deeper than 6");
}

static void test_rejects_truncated_str32(void **state)
{
    (void)state;
    const unsigned char f[] = {0xdb, 0x00, 0x00, 0x00, 0x10, 'a', 'b'};
    assert_rejected(f, sizeof f, "truncated: str declares 16 bytes but 2 remain");
    const unsigned char huge[] = {0xdb, 0xff, 0xff, 0xff, 0xff};
    assert_rejected(huge, sizeof huge, "truncated");
}

static void test_rejects_cut_header(void **state)
{
    (void)state;
    const unsigned char str32[] = {0xdb, 0x00, 0x00};
    const unsigned char array32[] = {0xdd, 0x00};
    const unsigned char float64[] = {0xcb, 0x00, 0x00};
    const unsigned char uint64[] = {0xcf, 0x01};
    assert_rejected(str32, sizeof str32, "truncated");
    assert_rejected(array32, sizeof array32, "truncated");
    assert_rejected(float64, sizeof float64, "truncated");
    assert_rejected(uint64, sizeof uint64, "truncated");
}

static void test_rejects_bin_and_ext_past_end(void **state)
{
    (void)state;
    const unsigned char bin8[] = {0xc4, 0x05, 0x01};
    const unsigned char bin32[] = {0xc6, 0x7f, 0xff, 0xff, 0xff};
    const unsigned char ext8[] = {0xc7, 0x02, 0x01, 0xaa}; /* type byte + 1 of 2 */
    const unsigned char fixext4[] = {0xd6, 0x01, 0xaa, 0xbb, 0xcc};
    const unsigned char ext8_ok[] = {0xc7, 0x02, 0x01, 0xaa, 0xbb};
    assert_rejected(bin8, sizeof bin8, "truncated: bin");
    assert_rejected(bin32, sizeof bin32, "truncated: bin");
    assert_rejected(ext8, sizeof ext8, "truncated: ext");
    assert_rejected(fixext4, sizeof fixext4, "truncated: ext");
    assert_int_equal(scan(ext8_ok, sizeof ext8_ok, DEPTH, NULL), 0);
}

static void test_rejects_missing_elements(void **state)
{
    (void)state;
    /* a map whose last value is missing: the count fits the bytes, the objects do not */
    const unsigned char f[] = {0x81, 0xa1, 'k'};
    assert_rejected(f, sizeof f, "frame: ");
    const unsigned char g[] = {0x92, 0xa3, 'a', 'b', 'c'};
    assert_rejected(g, sizeof g, "truncated");
}

static void test_rejects_reserved_c1(void **state)
{
    (void)state;
    const unsigned char top[] = {0xc1};
    const unsigned char inside[] = {0x92, 0x01, 0xc1};
    assert_rejected(top, sizeof top, "frame: reserved byte 0xc1");
    assert_rejected(inside, sizeof inside, "reserved byte 0xc1");
}

static void test_rejects_trailing_bytes(void **state)
{
    (void)state;
    const unsigned char f[] = {0x80, 0x00, 0x00};
    assert_rejected(f, sizeof f, "frame: 2 bytes after the object");
    const unsigned char two[] = {0x81, 0xa1, 'k', 0x01, 0x81, 0xa1, 'k', 0x01};
    assert_rejected(two, sizeof two, "4 bytes after the object");
}

static void test_rejects_empty(void **state)
{
    (void)state;
    const unsigned char f[] = {0x80};
    assert_rejected(f, 0, "frame: empty");
    assert_int_equal(mpscan_check(NULL, 0, DEPTH, NULL, err, sizeof err), -1);
    assert_string_equal(err, "frame: empty");
}

static void test_scalar_and_empty_containers_pass(void **state)
{
    (void)state;
    struct mpscan_info info;
    const unsigned char empty_map[] = {0x80};
    const unsigned char empty_array32[] = {0xdd, 0, 0, 0, 0};
    const unsigned char scalar[] = {0x2a};
    assert_int_equal(scan(empty_map, 1, DEPTH, &info), 0);
    assert_int_equal(info.top_count, 0);
    assert_int_equal(scan(empty_array32, sizeof empty_array32, DEPTH, &info), 0);
    assert_int_equal(info.top_is_array, 1);
    assert_int_equal(scan(scalar, 1, DEPTH, &info), 0);
    assert_int_equal(info.top_is_array, 0);
    assert_int_equal(info.objects, 1);
}

/* A short err buffer is truncated, never overrun; NULL err is allowed. */
static void test_small_err_buffer(void **state)
{
    (void)state;
    const unsigned char f[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    char small[8];
    memset(small, 'z', sizeof small);
    assert_int_equal(mpscan_check(f, sizeof f, DEPTH, NULL, small, sizeof small), -1);
    assert_int_equal(small[7], '\0');
    assert_int_equal(mpscan_check(f, sizeof f, DEPTH, NULL, NULL, 0), -1);
}

/*
 * Property: on random frames (mutations of valid ones and raw noise), whatever passes
 * the scan is one object msgpack-c parses completely, with no more objects than bytes.
 */
static void test_random_frames_agree_with_msgpack(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    unsigned char f[256];
    unsigned passed = 0;
    srand(12345);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    pack_event(&pk, 3);
    pack_event(&pk, 1);
    assert_true(sb.size <= sizeof f);
    for (int round = 0; round < 200000; round++) {
        size_t len;
        if (round % 2) {
            len = sb.size;
            memcpy(f, sb.data, len);
            for (int k = rand() % 3; k >= 0; k--)
                f[rand() % len] = (unsigned char)rand();
            if (rand() % 4 == 0)
                len = (size_t)rand() % (len + 1);
        } else {
            len = (size_t)(rand() % 24);
            for (size_t i = 0; i < len; i++)
                f[i] = (unsigned char)rand();
        }
        struct mpscan_info info;
        if (mpscan_check(f, len, DEPTH, &info, err, sizeof err) < 0) {
            assert_true(strncmp(err, "frame: ", 7) == 0);
            continue;
        }
        passed++;
        assert_true(info.objects <= len);
        msgpack_unpacked up;
        size_t off = 0;
        msgpack_unpacked_init(&up);
        assert_int_equal(msgpack_unpack_next(&up, (const char *)f, len, &off), MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, len);
        msgpack_unpacked_destroy(&up);
    }
    assert_true(passed > 1000); /* the property was exercised, not vacuous */
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_one_event),
        cmocka_unit_test(test_accepts_batch),
        cmocka_unit_test(test_accepts_every_type),
        cmocka_unit_test(test_rejects_array32_of_4_billion),
        cmocka_unit_test(test_rejects_map32_of_4_billion),
        cmocka_unit_test(test_rejects_map_entries_needing_two_bytes),
        cmocka_unit_test(test_rejects_array16_count_past_end),
        cmocka_unit_test(test_rejects_count_ignoring_siblings),
        cmocka_unit_test(test_rejects_100_nested_arrays),
        cmocka_unit_test(test_depth_limit_is_exact),
        cmocka_unit_test(test_rejects_truncated_str32),
        cmocka_unit_test(test_rejects_cut_header),
        cmocka_unit_test(test_rejects_bin_and_ext_past_end),
        cmocka_unit_test(test_rejects_missing_elements),
        cmocka_unit_test(test_rejects_reserved_c1),
        cmocka_unit_test(test_rejects_trailing_bytes),
        cmocka_unit_test(test_rejects_empty),
        cmocka_unit_test(test_scalar_and_empty_containers_pass),
        cmocka_unit_test(test_small_err_buffer),
        cmocka_unit_test(test_random_frames_agree_with_msgpack),
    };
    return cmocka_run_group_tests_name("mpscan", tests, NULL, NULL);
}
