/*
 * event_json: msgpack -> JSON (what the ingest worker stores as jsonb) must always be
 * valid JSON with the same values; JSON -> msgpack (what `kinerja send` sends) must keep
 * integers as integers and reals as floats so the broker's rules see what was written.
 */
#include "event_json.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define OUT_MAX (1 << 20)

static msgpack_sbuffer sbuf;
static msgpack_packer pk;
static msgpack_unpacked unpacked;
static struct buf out;
static char err[256];

static int setup(void **state)
{
    (void)state;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_unpacked_init(&unpacked);
    buf_init(&out, OUT_MAX);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    buf_free(&out);
    return 0;
}

static void pack_str(const char *s, size_t n)
{
    msgpack_pack_str_with_body(&pk, s, n);
}

static void pack_cstr(const char *s)
{
    pack_str(s, strlen(s));
}

/* Unpacks what was packed so far and converts it to JSON in `out`. */
static int packed_to_json(void)
{
    size_t off = 0;
    msgpack_unpacked_destroy(&unpacked);
    msgpack_unpacked_init(&unpacked);
    assert_int_equal(msgpack_unpack_next(&unpacked, sbuf.data, sbuf.size, &off), MSGPACK_UNPACK_SUCCESS);
    buf_reset(&out);
    return event_json_from_msgpack(&unpacked.data, &out);
}

/* Parses `out` strictly (as PostgreSQL would reject bad JSON, jansson does too). */
static json_t *parse_out(void)
{
    json_error_t e;
    json_t *j = json_loadb(out.data, out.len, JSON_DECODE_ANY, &e);
    if (!j)
        fail_msg("output is not valid JSON (%s): %s", e.text, out.data);
    return j;
}

/* Converts a JSON line to msgpack and unpacks the result. */
static int json_to_object(const char *json)
{
    msgpack_sbuffer_clear(&sbuf);
    memset(err, 0, sizeof err);
    if (event_json_to_msgpack(json, strlen(json), &pk, err, sizeof err) < 0)
        return -1;
    size_t off = 0;
    msgpack_unpacked_destroy(&unpacked);
    msgpack_unpacked_init(&unpacked);
    assert_int_equal(msgpack_unpack_next(&unpacked, sbuf.data, sbuf.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, sbuf.size);
    return 0;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &m->via.map.ptr[i].val;
    }
    fail_msg("key %s not found", key);
    return NULL;
}

/* ---- msgpack -> JSON ------------------------------------------------------------------ */

static void test_event_to_json_exact_text(void **state)
{
    (void)state;
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_map(&pk, 6);
    pack_cstr("v");
    msgpack_pack_int(&pk, 1);
    pack_cstr("type");
    pack_cstr("citizen_feedback");
    pack_cstr("ts");
    msgpack_pack_int64(&pk, 1700000000000LL);
    pack_cstr("skm");
    msgpack_pack_map(&pk, 2);
    pack_cstr("u1");
    msgpack_pack_int(&pk, 4);
    pack_cstr("u2");
    msgpack_pack_int(&pk, 3);
    pack_cstr("tags");
    msgpack_pack_array(&pk, 3);
    msgpack_pack_true(&pk);
    msgpack_pack_false(&pk);
    msgpack_pack_nil(&pk);
    pack_cstr("neg");
    msgpack_pack_int64(&pk, -42);
    assert_int_equal(packed_to_json(), 0);
    assert_string_equal(out.data, "{\"v\":1,\"type\":\"citizen_feedback\",\"ts\":1700000000000,"
                                  "\"skm\":{\"u1\":4,\"u2\":3},\"tags\":[true,false,null],\"neg\":-42}");
}

static void test_integer_extremes(void **state)
{
    (void)state;
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_int(&pk, 0);
    assert_int_equal(packed_to_json(), 0);
    assert_string_equal(out.data, "[18446744073709551615,-9223372036854775808,0]");
}

/* A float stays a float in JSON ("3.0", not "3") and reads back as the same double. */
static void test_floats_round_trip(void **state)
{
    (void)state;
    const double vals[] = {3.0, 0.1, 0.1 + 0.2, -2.5, 1e300, 5e-324, 123456789.0, -0.0, 1.0 / 3.0};
    const size_t n = sizeof vals / sizeof vals[0];
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, n + 1);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_double(&pk, vals[i]);
    msgpack_pack_float(&pk, 0.5f);
    assert_int_equal(packed_to_json(), 0);
    assert_non_null(strstr(out.data, "[3.0,0.1,"));
    assert_non_null(strstr(out.data, ",0.5]"));
    json_t *j = parse_out();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(j, i);
        if (!json_is_real(e))
            fail_msg("element %zu is not a real in %s", i, out.data);
        assert_true(json_real_value(e) == vals[i]);
    }
    json_decref(j);
}

static void test_non_finite_floats_are_null(void **state)
{
    (void)state;
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_double(&pk, NAN);
    msgpack_pack_double(&pk, INFINITY);
    msgpack_pack_double(&pk, -INFINITY);
    assert_int_equal(packed_to_json(), 0);
    assert_string_equal(out.data, "[null,null,null]");
}

static void test_string_escaping(void **state)
{
    (void)state;
    const char s[] = "q\"b\\n\nr\rt\tc\x01\x1f"
                     "del\x7f"
                     "caf\xc3\xa9 \xf0\x9f\x98\x8a /";
    msgpack_sbuffer_clear(&sbuf);
    pack_str(s, sizeof s - 1);
    assert_int_equal(packed_to_json(), 0);
    assert_string_equal(out.data, "\"q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001fdel\x7f"
                                  "caf\xc3\xa9 \xf0\x9f\x98\x8a /\"");
    json_t *j = parse_out();
    assert_int_equal(json_string_length(j), sizeof s - 1);
    assert_memory_equal(json_string_value(j), s, sizeof s - 1);
    json_decref(j);
}

/* Bytes that are not UTF-8, and NUL, become U+FFFD: jsonb would refuse them. */
static void test_invalid_utf8_and_nul_replaced(void **state)
{
    (void)state;
    const char s[] = "a\xff"
                     "b\xed\xa0\x80"
                     "c\0d\xc3";
    msgpack_sbuffer_clear(&sbuf);
    pack_str(s, sizeof s - 1);
    assert_int_equal(packed_to_json(), 0);
    assert_string_equal(out.data, "\"a\xef\xbf\xbd"
                                  "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                  "c\xef\xbf\xbd"
                                  "d\xef\xbf\xbd\"");
    json_decref(parse_out());
}

static void test_keys_escaped(void **state)
{
    (void)state;
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_map(&pk, 1);
    pack_cstr("k\"\n");
    pack_cstr("v");
    assert_int_equal(packed_to_json(), 0);
    assert_string_equal(out.data, "{\"k\\\"\\n\":\"v\"}");
}

static void test_bin_and_ext_are_null(void **state)
{
    (void)state;
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_bin_with_body(&pk, "\x00\x01", 2);
    msgpack_pack_ext_with_body(&pk, "\x00\x01\x02\x03", 4, 1);
    assert_int_equal(packed_to_json(), 0);
    assert_string_equal(out.data, "[null,null]");
}

static void test_non_string_key_fails(void **state)
{
    (void)state;
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    assert_int_equal(packed_to_json(), -1);
}

/* The output buffer's bound is honoured: a too-long event fails instead of growing. */
static void test_output_bound(void **state)
{
    (void)state;
    char big[5000];
    struct buf small;
    memset(big, 'x', sizeof big);
    msgpack_sbuffer_clear(&sbuf);
    pack_str(big, sizeof big);
    assert_int_equal(packed_to_json(), 0);
    buf_init(&small, 1000);
    assert_int_equal(event_json_from_msgpack(&unpacked.data, &small), -1);
    assert_true(small.len <= 1000);
    buf_free(&small);
}

/* ---- JSON -> msgpack ------------------------------------------------------------------ */

static void test_json_types_preserved(void **state)
{
    (void)state;
    assert_int_equal(json_to_object("{\"v\":1,\"rating\":3.0,\"neg\":-7,\"big\":9007199254740993,"
                                    "\"s\":\"caf\\u00e9\",\"t\":true,\"f\":false,\"n\":null,"
                                    "\"a\":[1,2.5],\"m\":{\"u1\":4}}"),
                     0);
    const msgpack_object *root = &unpacked.data;
    assert_int_equal(root->via.map.size, 10);
    assert_int_equal(map_get(root, "v")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(map_get(root, "v")->via.u64, 1);
    /* 3.0 was written as a real: it must reach the broker as a float */
    assert_int_equal(map_get(root, "rating")->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(map_get(root, "rating")->via.f64 == 3.0);
    assert_int_equal(map_get(root, "neg")->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_int_equal(map_get(root, "neg")->via.i64, -7);
    assert_int_equal(map_get(root, "big")->via.u64, 9007199254740993ULL); /* exact, not via double */
    const msgpack_object *s = map_get(root, "s");
    assert_int_equal(s->type, MSGPACK_OBJECT_STR);
    assert_int_equal(s->via.str.size, 5);
    assert_memory_equal(s->via.str.ptr, "caf\xc3\xa9", 5);
    assert_int_equal(map_get(root, "t")->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(map_get(root, "t")->via.boolean);
    assert_false(map_get(root, "f")->via.boolean);
    assert_int_equal(map_get(root, "n")->type, MSGPACK_OBJECT_NIL);
    const msgpack_object *a = map_get(root, "a");
    assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(a->via.array.ptr[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(a->via.array.ptr[1].type, MSGPACK_OBJECT_FLOAT64);
    assert_int_equal(map_get(map_get(root, "m"), "u1")->via.u64, 4);
}

/* Keys keep the order the client wrote them in. */
static void test_json_key_order_kept(void **state)
{
    (void)state;
    assert_int_equal(json_to_object("{\"z\":1,\"a\":2,\"m\":3}"), 0);
    const msgpack_object *root = &unpacked.data;
    const char *want[] = {"z", "a", "m"};
    for (int i = 0; i < 3; i++)
        assert_memory_equal(root->via.map.ptr[i].key.via.str.ptr, want[i], 1);
}

static void test_json_invalid_reports_column(void **state)
{
    (void)state;
    assert_int_equal(json_to_object("{\"a\":1,}"), -1);
    assert_string_equal(err, "line is not valid JSON: string or '}' expected near '}' at column 8");
    assert_int_equal(json_to_object("{\"a\":"), -1);
    assert_true(strncmp(err, "line is not valid JSON: ", 24) == 0);
    assert_non_null(strstr(err, " at column 5"));
    assert_int_equal(json_to_object("{\"a\":1} x"), -1);
    assert_non_null(strstr(err, " at column 9"));
    assert_int_equal(json_to_object(""), -1);
    assert_true(strncmp(err, "line is not valid JSON: ", 24) == 0);
}

static void test_json_duplicate_keys_rejected(void **state)
{
    (void)state;
    assert_int_equal(json_to_object("{\"rating\":1,\"rating\":4}"), -1);
    assert_true(strncmp(err, "line is not valid JSON: duplicate object key", 44) == 0);
}

static void test_json_nul_and_big_int_rejected(void **state)
{
    (void)state;
    assert_int_equal(json_to_object("{\"c\":\"a\\u0000b\"}"), -1);
    assert_true(strncmp(err, "line is not valid JSON: ", 24) == 0);
    assert_int_equal(json_to_object("{\"ts\":99999999999999999999}"), -1);
    assert_non_null(strstr(err, "too big integer"));
}

static void test_json_invalid_utf8_rejected(void **state)
{
    (void)state;
    assert_int_equal(json_to_object("{\"c\":\"\xff\"}"), -1);
    assert_true(strncmp(err, "line is not valid JSON: ", 24) == 0);
}

/* JSON -> msgpack -> JSON gives back the same text for a canonical event. */
static void test_round_trip(void **state)
{
    (void)state;
    const char *line = "{\"v\":1,\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"type\":\"work_result\","
                       "\"source\":\"skp\",\"ts\":1700000000000,\"target\":12.5,\"realization\":10.0,"
                       "\"weight\":1,\"evidence\":\"a \\\"b\\\"\\n\"}";
    assert_int_equal(json_to_object(line), 0);
    buf_reset(&out);
    assert_int_equal(event_json_from_msgpack(&unpacked.data, &out), 0);
    assert_string_equal(out.data, line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_to_json_exact_text),
        cmocka_unit_test(test_integer_extremes),
        cmocka_unit_test(test_floats_round_trip),
        cmocka_unit_test(test_non_finite_floats_are_null),
        cmocka_unit_test(test_string_escaping),
        cmocka_unit_test(test_invalid_utf8_and_nul_replaced),
        cmocka_unit_test(test_keys_escaped),
        cmocka_unit_test(test_bin_and_ext_are_null),
        cmocka_unit_test(test_non_string_key_fails),
        cmocka_unit_test(test_output_bound),
        cmocka_unit_test(test_json_types_preserved),
        cmocka_unit_test(test_json_key_order_kept),
        cmocka_unit_test(test_json_invalid_reports_column),
        cmocka_unit_test(test_json_duplicate_keys_rejected),
        cmocka_unit_test(test_json_nul_and_big_int_rejected),
        cmocka_unit_test(test_json_invalid_utf8_rejected),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests_name("event_json", tests, setup, teardown);
}
