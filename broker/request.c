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

int request_decode(struct request *r, const struct request_limits *lim)
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
    msgpack_unpacked_init(&r->unpacked);
    r->unpacked_live = true;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&r->unpacked, data, len, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        request_reject_frame(r, "broker: out of memory");
        return -1;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        /* mpscan passed it, so msgpack-c disagreeing is unexpected; still just input. */
        request_reject_frame(r, "frame: not a msgpack object");
        return 0;
    }
    const msgpack_object *top = &r->unpacked.data;
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
        r->events = calloc(n, sizeof *r->events);
        if (!r->events) {
            request_reject_frame(r, "broker: out of memory");
            return -1;
        }
        r->is_batch = true;
        r->nevents = n;
        for (size_t i = 0; i < n; i++)
            decode_event(&r->events[i], &top->via.array.ptr[i], (long)i, lim->shards, &window);
        return 0;
    }
    if (top->type != MSGPACK_OBJECT_MAP) {
        request_reject_frame(r, "frame: must be a map (one event) or an array of maps (a batch)");
        return 0;
    }
    r->events = calloc(1, sizeof *r->events);
    if (!r->events) {
        request_reject_frame(r, "broker: out of memory");
        return -1;
    }
    r->nevents = 1;
    decode_event(&r->events[0], top, -1, lim->shards, &window);
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
    free(r->events);
    if (r->unpacked_live)
        msgpack_unpacked_destroy(&r->unpacked);
    for (size_t i = 0; i < r->nenvelope; i++)
        zmq_msg_close(&r->envelope[i]);
    if (r->has_payload)
        zmq_msg_close(&r->payload);
    request_init(r);
}
