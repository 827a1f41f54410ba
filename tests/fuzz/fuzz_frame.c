/*
 * libFuzzer target for the broker's front door: a request frame goes through
 * mpscan_check, then msgpack-c unpacks it, then event_decode runs on the map (or on each
 * map of a batch), exactly as the broker does. Besides crashes and sanitizer reports,
 * it traps when the layers disagree: a frame the scan passes must unpack completely,
 * and every error text must be short, valid UTF-8 with no control characters (errors
 * are sent to clients).
 *
 * Built only by `make fuzz` (not a unit test):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon \
 *     tests/fuzz/fuzz_frame.c common/mpscan.c common/event.c common/buf.c \
 *     $(pkg-config --cflags --libs msgpack) -lm -o fuzz_frame
 *   ./fuzz_frame -max_total_time=60 -max_len=4096
 */
#include "event.h"
#include "mpscan.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_MAX_DEPTH 6    /* intake.max_depth default */
#define FUZZ_MAX_BATCH 1000 /* intake.max_batch default */

static void check_error_text(const char *err)
{
    size_t n = strnlen(err, EVENT_ERR_MAX);
    if (n == 0 || n >= EVENT_ERR_MAX || !event_valid_utf8(err, n))
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)err[i];
        if (c < 0x20 || c == 0x7f)
            __builtin_trap();
    }
}

static void decode_one(const msgpack_object *o)
{
    struct event ev;
    char err[EVENT_ERR_MAX];
    if (event_decode(o, &ev, err, sizeof err) == 0) {
        if (!event_valid_uuid(ev.id.p, ev.id.n) || ev.v != EVENT_SCHEMA_VERSION)
            __builtin_trap();
        (void)event_shard(&ev, 16);
    } else {
        check_error_text(err);
        if (ev.id.p && !event_valid_uuid(ev.id.p, ev.id.n))
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mpscan_info info;
    char err[256];
    if (mpscan_check(data, size, FUZZ_MAX_DEPTH, &info, err, sizeof err) < 0) {
        if (strncmp(err, "frame: ", 7) != 0)
            __builtin_trap();
        return 0;
    }
    if (info.objects > size)
        __builtin_trap();

    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, (const char *)data, size, &off) != MSGPACK_UNPACK_SUCCESS || off != size)
        __builtin_trap(); /* the scan passed a frame msgpack-c cannot read */

    const msgpack_object *top = &up.data;
    if (top->type == MSGPACK_OBJECT_ARRAY) {
        if (top->via.array.size != info.top_count || !info.top_is_array)
            __builtin_trap();
        if (top->via.array.size <= FUZZ_MAX_BATCH)
            for (uint32_t i = 0; i < top->via.array.size; i++)
                decode_one(&top->via.array.ptr[i]);
    } else {
        decode_one(top);
    }
    msgpack_unpacked_destroy(&up);
    return 0;
}
