/*
 * ack: the reply a client gets (SPEC 3): one ack map {"id", "status", "error"} per
 * event, or an array of them in the order of the batch. "error" is present only for
 * rejected and retry; "id" is nil when the event (or the frame) had no readable id.
 * Called by the broker's loop after the Redis round trip of a request.
 */
#ifndef KINERJA_BROKER_ACK_H
#define KINERJA_BROKER_ACK_H

#include <msgpack.h>

enum ack_status {
    ACK_PENDING,   /* valid, waiting for its Redis reply (never sent as such) */
    ACK_ACCEPTED,  /* Redis holds the event */
    ACK_DUPLICATE, /* an event with this id was accepted before */
    ACK_REJECTED,  /* invalid: will never be accepted as sent */
    ACK_RETRY,     /* nothing stored: storage unavailable or rate limited */
    ACK_STATUS_COUNT
};

struct request;

/* "accepted", "duplicate", "rejected", "retry" ("pending" for ACK_PENDING). */
const char *ack_status_name(enum ack_status s);

/* Packs the reply frame for req into sb (appended): a single ack map for a single
 * event or a frame-level rejection, else an array of acks. An event still pending
 * is answered retry (it has no outcome; never a false accepted). Returns 0, or -1 when
 * memory ran out. */
int ack_pack_reply(const struct request *req, msgpack_sbuffer *sb);

#endif
