/*
 * request (broker): the pieces of the no-allocation decode path (issue 15). The broker
 * sends each event's own bytes from the client's frame to Redis instead of packing it
 * again, so request_skip_object must delimit every msgpack object exactly (a wrong
 * boundary would store a different event than the one validated), and request_decode
 * must hand out slices equal to the elements as the client packed them, reusing a
 * pool slot's events array and taking its tree from the caller's zone.
 *
 * Built from broker/request.c directly (the unit tests link common/ only).
 */
#include "../../broker/request.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Packs one object of every kind msgpack has, nested, into sb. */
static void pack_everything(msgpack_packer *pk)
{
    static const char bin[300] = {0};
    static const char ext[70000] = {0};
    msgpack_pack_array(pk, 24);
    msgpack_pack_nil(pk);
    msgpack_pack_true(pk);
    msgpack_pack_false(pk);
    msgpack_pack_int(pk, 5);           /* positive fixint */
    msgpack_pack_int(pk, -7);          /* negative fixint */
    msgpack_pack_int(pk, 200);         /* uint8 */
    msgpack_pack_int(pk, 60000);       /* uint16 */
    msgpack_pack_int64(pk, 1LL << 40); /* uint64 */
    msgpack_pack_int(pk, -100);        /* int8 */
    msgpack_pack_int(pk, -30000);      /* int16 */
    msgpack_pack_int64(pk, -(1LL << 40));
    msgpack_pack_float(pk, 1.5f);
    msgpack_pack_double(pk, 2.5);
    msgpack_pack_str_with_body(pk, "short", 5);
    msgpack_pack_str_with_body(pk, bin, 40);  /* str8 */
    msgpack_pack_str_with_body(pk, bin, 300); /* str16 */
    msgpack_pack_bin_with_body(pk, bin, 3);
    msgpack_pack_bin_with_body(pk, bin, 300);
    msgpack_pack_ext_with_body(pk, ext, 1, 1);  /* fixext1 */
    msgpack_pack_ext_with_body(pk, ext, 16, 2); /* fixext16 */
    msgpack_pack_ext_with_body(pk, ext, 3, 3);  /* ext8 */
    msgpack_pack_ext_with_body(pk, ext, 70000, 4);
    msgpack_pack_map(pk, 17); /* map16 */
    for (int i = 0; i < 17; i++) {
        msgpack_pack_int(pk, i);
        msgpack_pack_array(pk, 1);
        msgpack_pack_str_with_body(pk, "x", 1);
    }
    msgpack_pack_array(pk, 20); /* array16 */
    for (int i = 0; i < 20; i++)
        msgpack_pack_map(pk, 0);
}

static void test_skip_delimits_every_kind(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_everything(&pk);
    size_t first = sb.size;
    msgpack_pack_int(&pk, 1); /* a second object after it */
    const char *end = request_skip_object(sb.data, sb.data + sb.size);
    assert_ptr_equal(end, sb.data + first);
    assert_ptr_equal(request_skip_object(end, sb.data + sb.size), sb.data + sb.size);
    /* every cut short of the first object's end is refused, never read past */
    for (size_t cut = 0; cut < first; cut += cut < 400 ? 1 : 997)
        assert_null(request_skip_object(sb.data, sb.data + cut));
    msgpack_sbuffer_destroy(&sb);
}

static void test_skip_refuses_counts_that_cannot_fit(void **state)
{
    (void)state;
    const char big_array[] = {(char)0xdd, (char)0xff, (char)0xff, (char)0xff, (char)0xff, 0x01};
    assert_null(request_skip_object(big_array, big_array + sizeof big_array));
    const char big_str[] = {(char)0xdb, 0x00, 0x00, 0x10, 0x00, 'a'};
    assert_null(request_skip_object(big_str, big_str + sizeof big_str));
    const char never_used[] = {(char)0xc1};
    assert_null(request_skip_object(never_used, never_used + 1));
}

static void pack_event(msgpack_packer *pk, const char *id, int rating)
{
    msgpack_pack_map(pk, 7);
    msgpack_pack_str_with_body(pk, "v", 1), msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "id", 2), msgpack_pack_str_with_body(pk, id, strlen(id));
    msgpack_pack_str_with_body(pk, "type", 4), msgpack_pack_str_with_body(pk, "citizen_feedback", 16);
    msgpack_pack_str_with_body(pk, "source", 6), msgpack_pack_str_with_body(pk, "kiosk:unit-test", 15);
    msgpack_pack_str_with_body(pk, "ts", 2), msgpack_pack_int64(pk, daemon_wall_ms());
    msgpack_pack_str_with_body(pk, "unit", 4), msgpack_pack_str_with_body(pk, "DUKCAPIL-KPG", 12);
    msgpack_pack_str_with_body(pk, "rating", 6), msgpack_pack_int(pk, rating);
}

static const struct request_limits limits = {1 << 20, 6, 1000, 16, 86400, 0};

static void decode_frame(struct request *r, const msgpack_sbuffer *sb, msgpack_zone *zone)
{
    zmq_msg_init_size(&r->payload, sb->size);
    memcpy(zmq_msg_data(&r->payload), sb->data, sb->size);
    r->has_payload = true;
    assert_int_equal(request_decode(r, &limits, zone), 0);
}

static void test_batch_elements_are_their_own_bytes(void **state)
{
    (void)state;
    static const char *const ids[] = {"6f1c8a52-3b0e-4a8e-9d0b-0d6c1f7a9e01",
                                      "6f1c8a52-3b0e-4a8e-9d0b-0d6c1f7a9e02",
                                      "6f1c8a52-3b0e-4a8e-9d0b-0d6c1f7a9e03"};
    msgpack_sbuffer elems[3];
    msgpack_sbuffer frame;
    msgpack_sbuffer_init(&frame);
    msgpack_packer fp;
    msgpack_packer_init(&fp, &frame, msgpack_sbuffer_write);
    msgpack_pack_array(&fp, 3);
    for (int i = 0; i < 3; i++) {
        msgpack_sbuffer_init(&elems[i]);
        msgpack_packer ep;
        msgpack_packer_init(&ep, &elems[i], msgpack_sbuffer_write);
        pack_event(&ep, ids[i], i == 1 ? 9 : 2); /* the middle one is invalid */
        msgpack_sbuffer_write(&frame, elems[i].data, elems[i].size);
    }
    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 4096));
    struct request r;
    request_init(&r);
    decode_frame(&r, &frame, &zone);
    assert_false(r.frame_rejected);
    assert_int_equal(r.nevents, 3);
    assert_int_equal(r.events[0].status, ACK_PENDING);
    assert_int_equal(r.events[1].status, ACK_REJECTED);
    assert_int_equal(r.events[2].status, ACK_PENDING);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.events[i].raw_len, elems[i].size);
        assert_memory_equal(r.events[i].raw, elems[i].data, elems[i].size);
    }
    struct request_event *kept = r.events;
    request_release(&r);
    msgpack_zone_clear(&zone);
    assert_ptr_equal(r.events, kept); /* the slot keeps its array for the next request */
    assert_int_equal(r.nevents, 0);

    /* a single event: the frame itself */
    decode_frame(&r, &elems[0], &zone);
    assert_int_equal(r.nevents, 1);
    assert_int_equal(r.events[0].status, ACK_PENDING);
    assert_ptr_equal(r.events, kept);
    assert_int_equal(r.events[0].raw_len, elems[0].size);
    assert_memory_equal(r.events[0].raw, elems[0].data, elems[0].size);
    request_free(&r);
    assert_null(r.events);
    msgpack_zone_destroy(&zone);
    for (int i = 0; i < 3; i++)
        msgpack_sbuffer_destroy(&elems[i]);
    msgpack_sbuffer_destroy(&frame);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skip_delimits_every_kind),
        cmocka_unit_test(test_skip_refuses_counts_that_cannot_fit),
        cmocka_unit_test(test_batch_elements_are_their_own_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
