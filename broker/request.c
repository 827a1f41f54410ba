/*
 * request: decoding a request frame into events with their outcomes; see request.h.
 */
#include "request.h"

#include "daemon.h"

#include "mpscan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void request_init(struct request *r)
{
    memset(r, 0, sizeof *r);
}

static char *format_error(const char *fmt, va_list ap)
{
    char text[REQUEST_ERROR_MAX];
    vsnprintf(text, sizeof text, fmt, ap);
    return strdup(text); /* NULL on OOM: ack falls back to a fixed text */
}

void request_event_set(struct request_event *e, enum ack_status status, const char *fmt, ...)
{
    e->status = status;
    free(e->error);
    e->error = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        e->error = format_error(fmt, ap);
        va_end(ap);
    }
}

void request_reject_frame(struct request *r, const char *fmt, ...)
{
    r->frame_rejected = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->frame_error, sizeof r->frame_error, fmt, ap);
    va_end(ap);
}

/* Validates one element; the outcome goes into e. index < 0 for a single event. */
static void decode_event(struct request_event *e, const msgpack_object *o, long index, unsigned shards,
                         const struct event_limits *window)
{
    memset(e, 0, sizeof *e);
    if (o->type != MSGPACK_OBJECT_MAP) {
        if (index >= 0)
            request_event_set(e, ACK_REJECTED, "[%ld]: must be a map", index);
        else
            request_event_set(e, ACK_REJECTED,
                              "frame: must be a map (one event) or an array of maps (a batch)");
        return;
    }
    e->obj = o;
    struct event ev;
    memset(&ev, 0, sizeof ev);
    char err[EVENT_ERR_MAX];
    if (event_decode_at(o, &ev, window, err, sizeof err) != 0) {
        e->id = ev.id;
        request_event_set(e, ACK_REJECTED, "%s", err);
        return;
    }
    e->id = ev.id;
    e->shard = event_shard(&ev, shards);
    e->type = ev.type;
    e->status = ACK_PENDING;
}

/* Makes room for n events, reusing the slot's array; -1 when memory ran out. */
static int reserve_events(struct request *r, size_t n)
{
    if (n <= r->events_cap)
        return 0;
    size_t cap = r->events_cap ? r->events_cap : 8;
    while (cap < n)
        cap *= 2;
    struct request_event *v = realloc(r->events, cap * sizeof *v);
    if (!v)
        return -1;
    r->events = v;
    r->events_cap = cap;
    return 0;
}

/* Big-endian unsigned of n bytes at p. */
static size_t be(const unsigned char *p, int n)
{
    size_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

const char *request_skip_object(const char *start, const char *stop)
{
    const unsigned char *p = (const unsigned char *)start, *end = (const unsigned char *)stop;
    size_t remaining = 1; /* objects still to skip; a container adds its elements */
    while (remaining > 0) {
        if (p >= end)
            return NULL;
        unsigned c = *p++;
        remaining--;
        size_t body = 0, items = 0;
        int hdr = 0; /* bytes of length after the type byte */
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, bool: nothing more */
        } else if (c >= 0x80 && c <= 0x8f) {
            items = 2 * (size_t)(c & 0x0f);
        } else if (c >= 0x90 && c <= 0x9f) {
            items = c & 0x0f;
        } else if (c >= 0xa0 && c <= 0xbf) {
            body = c & 0x1f;
        } else {
            switch (c) {
            case 0xc4:
            case 0xd9:
                hdr = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                hdr = 2;
                break; /* bin16, str16 */
            case 0xc6:
            case 0xdb:
                hdr = 4;
                break; /* bin32, str32 */
            case 0xc7:
                hdr = 1, body = 1;
                break; /* ext8: length + type */
            case 0xc8:
                hdr = 2, body = 1;
                break; /* ext16 */
            case 0xc9:
                hdr = 4, body = 1;
                break; /* ext32 */
            case 0xca:
            case 0xce:
            case 0xd2:
                body = 4;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                body = 8;
                break;
            case 0xcc:
            case 0xd0:
                body = 1;
                break;
            case 0xcd:
            case 0xd1:
                body = 2;
                break;
            case 0xd4:
                body = 2;
                break; /* fixext1: type + 1 */
            case 0xd5:
                body = 3;
                break;
            case 0xd6:
                body = 5;
                break;
            case 0xd7:
                body = 9;
                break;
            case 0xd8:
                body = 17;
                break;
            case 0xdc:
            case 0xde:
                hdr = 2;
                break; /* array16, map16 */
            case 0xdd:
            case 0xdf:
                hdr = 4;
                break; /* array32, map32 */
            default:
                return NULL; /* 0xc1: never used */
            }
        }
        if (hdr) {
            if ((size_t)(end - p) < (size_t)hdr)
                return NULL;
            size_t n = be(p, hdr);
            p += hdr;
            if (c == 0xdc || c == 0xdd)
                items = n;
            else if (c == 0xde || c == 0xdf)
                items = 2 * n;
            else
                body += n;
        }
        if ((size_t)(end - p) < body)
            return NULL;
        p += body;
        if (items > (size_t)(end - p))
            return NULL; /* each element needs a byte: a count that cannot fit */
        remaining += items;
    }
    return (const char *)p;
}

/* Where the batch's first element starts: after the array header at data. */
static const char *array_body(const char *data)
{
    unsigned c = (unsigned char)data[0];
    return data + (c == 0xdc ? 3 : c == 0xdd ? 5 : 1);
}

int request_decode(struct request *r, const struct request_limits *lim, msgpack_zone *zone)
{
    /* the ts window is judged at receipt (the ingest worker judges a stream entry by the
     * same receive time, so both agree) */
    const struct event_limits window = {daemon_wall_ms(), lim->max_future_s, lim->max_age_s};
    const char *data = zmq_msg_data(&r->payload);
    size_t len = zmq_msg_size(&r->payload);
    if (len > lim->max_frame_bytes) {
        request_reject_frame(r, "frame: %zu bytes exceeds intake.max_frame_bytes %zu", len,
                             lim->max_frame_bytes);
        return 0;
    }
    char err[REQUEST_ERROR_MAX];
    struct mpscan_info info;
    if (mpscan_check(data, len, lim->max_depth, &info, err, sizeof err) != 0) {
        request_reject_frame(r, "%s", err);
        return 0;
    }
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(data, len, &off, zone, &r->top);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        request_reject_frame(r, "broker: out of memory");
        return -1;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        /* mpscan passed it, so msgpack-c disagreeing is unexpected; still just input. */
        request_reject_frame(r, "frame: not a msgpack object");
        return 0;
    }
    const msgpack_object *top = &r->top;
    if (top->type == MSGPACK_OBJECT_ARRAY) {
        size_t n = top->via.array.size;
        if (n == 0) {
            request_reject_frame(r, "frame: empty batch");
            return 0;
        }
        if (n > lim->max_batch) {
            request_reject_frame(r, "frame: batch of %zu events exceeds intake.max_batch %zu", n,
                                 lim->max_batch);
            return 0;
        }
        if (reserve_events(r, n) != 0) {
            request_reject_frame(r, "broker: out of memory");
            return -1;
        }
        r->is_batch = true;
        r->nevents = n;
        const char *p = array_body(data), *end = data + len;
        for (size_t i = 0; i < n; i++) {
            struct request_event *e = &r->events[i];
            decode_event(e, &top->via.array.ptr[i], (long)i, lim->shards, &window);
            const char *next = p ? request_skip_object(p, end) : NULL;
            e->raw = next ? p : NULL;
            e->raw_len = next ? (size_t)(next - p) : 0;
            p = next;
            if (!e->raw && e->status == ACK_PENDING) /* cannot happen after mpscan; never send a guess */
                request_event_set(e, ACK_REJECTED, "[%zu]: cannot delimit the element", i);
        }
        return 0;
    }
    if (top->type != MSGPACK_OBJECT_MAP) {
        request_reject_frame(r, "frame: must be a map (one event) or an array of maps (a batch)");
        return 0;
    }
    if (reserve_events(r, 1) != 0) {
        request_reject_frame(r, "broker: out of memory");
        return -1;
    }
    r->nevents = 1;
    decode_event(&r->events[0], top, -1, lim->shards, &window);
    r->events[0].raw = data; /* mpscan proved the frame is exactly this one map */
    r->events[0].raw_len = len;
    return 0;
}

size_t request_pending(const struct request *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nevents; i++)
        n += r->events[i].status == ACK_PENDING;
    return n;
}

void request_release(struct request *r)
{
    for (size_t i = 0; i < r->nevents; i++)
        free(r->events[i].error);
    for (size_t i = 0; i < r->nenvelope; i++)
        zmq_msg_close(&r->envelope[i]);
    if (r->has_payload)
        zmq_msg_close(&r->payload);
    struct request_event *events = r->events;
    size_t cap = r->events_cap;
    request_init(r);
    r->events = events;
    r->events_cap = cap;
}

void request_free(struct request *r)
{
    request_release(r);
    free(r->events);
    request_init(r);
}
