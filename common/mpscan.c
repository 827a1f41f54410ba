#include "mpscan.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* The walk keeps one counter per open container on a fixed stack, so max_depth is
 * clamped to this; no configuration allows more than 32 (intake.max_depth). */
#define MPSCAN_STACK_MAX 64

/* msgpack first bytes with a fixed meaning (the fix* ranges are tested by masks). */
#define MP_NIL 0xc0
#define MP_RESERVED 0xc1
#define MP_FALSE 0xc2
#define MP_TRUE 0xc3
#define MP_BIN8 0xc4
#define MP_BIN16 0xc5
#define MP_BIN32 0xc6
#define MP_EXT8 0xc7
#define MP_EXT16 0xc8
#define MP_EXT32 0xc9
#define MP_FLOAT32 0xca
#define MP_FLOAT64 0xcb
#define MP_UINT8 0xcc
#define MP_UINT16 0xcd
#define MP_UINT32 0xce
#define MP_UINT64 0xcf
#define MP_INT8 0xd0
#define MP_INT16 0xd1
#define MP_INT32 0xd2
#define MP_INT64 0xd3
#define MP_FIXEXT1 0xd4
#define MP_FIXEXT2 0xd5
#define MP_FIXEXT4 0xd6
#define MP_FIXEXT8 0xd7
#define MP_FIXEXT16 0xd8
#define MP_STR8 0xd9
#define MP_STR16 0xda
#define MP_STR32 0xdb
#define MP_ARRAY16 0xdc
#define MP_ARRAY32 0xdd
#define MP_MAP16 0xde
#define MP_MAP32 0xdf

static void mpscan_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void mpscan_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Big-endian unsigned of n (1, 2 or 4) bytes at p. */
static uint32_t mp_be(const unsigned char *p, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* What one object header says about the bytes that follow it. */
struct mp_head {
    size_t head;       /* header bytes, type byte included */
    uint64_t payload;  /* bytes of data after the header (str/bin/ext/number) */
    uint64_t children; /* objects a container holds (a map's entries count twice) */
    uint32_t count;    /* declared count of a container */
    int container;     /* 0 scalar, 1 array, 2 map */
    const char *what;  /* for error texts */
};

/* Reads the header at p[0..avail). Returns 0, or -1 when the header itself is cut
 * short (avail too small) or the byte is reserved (*reserved set). */
static int mp_read_head(const unsigned char *p, size_t avail, struct mp_head *h, int *reserved)
{
    unsigned char c = p[0];
    size_t lenbytes = 0; /* size of a length or count field after the type byte */

    *reserved = 0;
    h->head = 1;
    h->payload = 0;
    h->children = 0;
    h->count = 0;
    h->container = 0;
    h->what = "value";

    if (c <= 0x7f || c >= 0xe0)
        return 0; /* positive / negative fixint */
    if ((c & 0xf0) == 0x80) {
        h->container = 2;
        h->count = c & 0x0f;
        h->children = 2 * (uint64_t)h->count;
        h->what = "map";
        return 0;
    }
    if ((c & 0xf0) == 0x90) {
        h->container = 1;
        h->count = c & 0x0f;
        h->children = h->count;
        h->what = "array";
        return 0;
    }
    if ((c & 0xe0) == 0xa0) {
        h->payload = c & 0x1f;
        h->what = "str";
        return 0;
    }

    switch (c) {
    case MP_NIL:
    case MP_FALSE:
    case MP_TRUE:
        return 0;
    case MP_RESERVED:
        *reserved = 1;
        return -1;
    case MP_FLOAT32:
        h->payload = 4;
        return 0;
    case MP_FLOAT64:
        h->payload = 8;
        return 0;
    case MP_UINT8:
    case MP_INT8:
        h->payload = 1;
        return 0;
    case MP_UINT16:
    case MP_INT16:
        h->payload = 2;
        return 0;
    case MP_UINT32:
    case MP_INT32:
        h->payload = 4;
        return 0;
    case MP_UINT64:
    case MP_INT64:
        h->payload = 8;
        return 0;
    /* fixext: a type byte, then 1..16 data bytes */
    case MP_FIXEXT1:
        h->payload = 1 + 1;
        h->what = "ext";
        return 0;
    case MP_FIXEXT2:
        h->payload = 1 + 2;
        h->what = "ext";
        return 0;
    case MP_FIXEXT4:
        h->payload = 1 + 4;
        h->what = "ext";
        return 0;
    case MP_FIXEXT8:
        h->payload = 1 + 8;
        h->what = "ext";
        return 0;
    case MP_FIXEXT16:
        h->payload = 1 + 16;
        h->what = "ext";
        return 0;
    case MP_STR8:
        lenbytes = 1;
        h->what = "str";
        break;
    case MP_STR16:
        lenbytes = 2;
        h->what = "str";
        break;
    case MP_STR32:
        lenbytes = 4;
        h->what = "str";
        break;
    case MP_BIN8:
        lenbytes = 1;
        h->what = "bin";
        break;
    case MP_BIN16:
        lenbytes = 2;
        h->what = "bin";
        break;
    case MP_BIN32:
        lenbytes = 4;
        h->what = "bin";
        break;
    case MP_EXT8:
        lenbytes = 1;
        h->what = "ext";
        break;
    case MP_EXT16:
        lenbytes = 2;
        h->what = "ext";
        break;
    case MP_EXT32:
        lenbytes = 4;
        h->what = "ext";
        break;
    case MP_ARRAY16:
        lenbytes = 2;
        h->container = 1;
        h->what = "array";
        break;
    case MP_ARRAY32:
        lenbytes = 4;
        h->container = 1;
        h->what = "array";
        break;
    case MP_MAP16:
        lenbytes = 2;
        h->container = 2;
        h->what = "map";
        break;
    case MP_MAP32:
        lenbytes = 4;
        h->container = 2;
        h->what = "map";
        break;
    default:
        return 0; /* unreachable: every byte is covered above */
    }

    if (avail < 1 + lenbytes)
        return -1;
    uint32_t n = mp_be(p + 1, lenbytes);
    h->head = 1 + lenbytes;
    if (h->container) {
        h->count = n;
        h->children = h->container == 2 ? 2 * (uint64_t)n : n;
    } else {
        h->payload = n;
        if (c == MP_EXT8 || c == MP_EXT16 || c == MP_EXT32)
            h->payload += 1; /* the ext type byte */
    }
    return 0;
}

/*
 * One pass over the bytes, no allocation. `left[d]` counts the objects still expected
 * in the open container at depth d; `owed` is their sum over all open containers, i.e.
 * the fewest bytes the rest of the frame must still hold (every object is at least one
 * byte). A declared count is refused when it does not fit in the bytes left after what
 * is already owed, so the objects a passing frame holds never exceed its length.
 */
int mpscan_check(const void *buf, size_t len, size_t max_depth, struct mpscan_info *info, char *err,
                 size_t errlen)
{
    const unsigned char *p = buf;
    uint64_t left[MPSCAN_STACK_MAX];
    size_t depth = 0;
    uint64_t owed = 0;
    size_t pos = 0;
    size_t objects = 0;

    if (info) {
        info->top_is_array = 0;
        info->top_count = 0;
        info->objects = 0;
    }
    if (max_depth > MPSCAN_STACK_MAX)
        max_depth = MPSCAN_STACK_MAX;
    if (!p || len == 0) {
        mpscan_err(err, errlen, "frame: empty");
        return -1;
    }

    for (;;) {
        if (pos >= len) {
            mpscan_err(err, errlen, "frame: truncated");
            return -1;
        }
        if (depth > 0)
            owed--; /* this object's one byte is the header about to be read */

        struct mp_head h;
        int reserved;
        if (mp_read_head(p + pos, len - pos, &h, &reserved) < 0) {
            if (reserved)
                mpscan_err(err, errlen, "frame: reserved byte 0xc1 at offset %zu", pos);
            else
                mpscan_err(err, errlen, "frame: truncated");
            return -1;
        }
        objects++;
        pos += h.head;
        size_t remain = len - pos;

        if (h.container) {
            if (depth + 1 > max_depth) {
                mpscan_err(err, errlen, "frame: nested deeper than %zu", max_depth);
                return -1;
            }
            uint64_t room = remain > owed ? remain - owed : 0;
            if (h.children > room) {
                if (h.container == 2)
                    mpscan_err(err, errlen, "frame: map declares %u entries but %llu bytes remain", h.count,
                               (unsigned long long)room);
                else
                    mpscan_err(err, errlen, "frame: array declares %u elements but %llu bytes remain",
                               h.count, (unsigned long long)room);
                return -1;
            }
            if (depth == 0 && info) {
                info->top_is_array = h.container == 1;
                info->top_count = h.count;
            }
            if (h.children > 0) {
                left[depth++] = h.children;
                owed += h.children;
                continue;
            }
        } else if (h.payload > remain) {
            mpscan_err(err, errlen, "frame: truncated: %s declares %llu bytes but %zu remain", h.what,
                       (unsigned long long)h.payload, remain);
            return -1;
        } else {
            pos += (size_t)h.payload;
        }

        /* The object is complete: close every container it completes. */
        while (depth > 0 && --left[depth - 1] == 0)
            depth--;
        if (depth == 0)
            break;
    }

    if (pos != len) {
        mpscan_err(err, errlen, "frame: %zu bytes after the object", len - pos);
        return -1;
    }
    if (info)
        info->objects = objects;
    return 0;
}
