/*
 * request: one client request as the broker handles it: the envelope frames to echo,
 * the payload frame, and the events decoded from it with the outcome of each.
 *
 * request_decode applies the intake limits in this order: frame size
 * (intake.max_frame_bytes), mpscan_check (nesting intake.max_depth, declared counts,
 * trailing bytes; before msgpack-c allocates anything), msgpack unpack, shape (a map,
 * or an array of 1..intake.max_batch elements), then event_decode per event. Invalid
 * events are ACK_REJECTED with their reason; valid ones ACK_PENDING with their stream
 * shard. A frame that cannot be read at all is a frame-level rejection: one ack map
 * with id nil.
 *
 * Filled by intake (frames), request_decode (events), ratelimit and enqueue (outcomes);
 * read by ack. Owned by the broker's request pool; request_release frees what a
 * request holds and makes it reusable.
 *
 * No allocation per event on this path: the unpacked tree lives in a zone the caller
 * owns for a whole round (cleared once after the round's acks went out), the events
 * array is kept between uses of a pool slot and only grows, and each event records
 * where its own msgpack bytes lie inside the frame (raw), so enqueue sends them as
 * they came instead of packing them again.
 */
#ifndef KINERJA_BROKER_REQUEST_H
#define KINERJA_BROKER_REQUEST_H

#include "ack.h"
#include "event.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

/* Frames before the payload: the routing id the ROUTER puts in front, and the empty
 * delimiter when the client has one (a REQ socket always does). Nothing else: SPEC 3
 * makes a request one frame, so any further frame is the client's (intake.h). */
#define REQUEST_ENVELOPE_MAX 2
#define REQUEST_ERROR_MAX 512 /* longest error text in an ack */

struct request_limits {
    size_t max_frame_bytes;
    size_t max_depth;
    size_t max_batch;
    unsigned shards;
    int64_t max_future_s; /* intake.max_future_s: the ts window, judged at receipt */
    int64_t max_age_s;    /* intake.max_age_s */
};

struct request_event {
    const msgpack_object *obj; /* the event map inside the request's unpacked tree; NULL if not a map */
    const char *raw;           /* the event's own msgpack bytes inside the payload frame */
    size_t raw_len;
    struct strview id;    /* for the ack; p == NULL: nil */
    unsigned shard;       /* stream shard, valid while pending */
    enum event_type type; /* valid while pending (the client's allowed types, SPEC 8) */
    enum ack_status status;
    char *error; /* owned; set for rejected and retry */
};

struct request {
    zmq_msg_t envelope[REQUEST_ENVELOPE_MAX]; /* [0] = the client's routing id, [1] its delimiter */
    size_t nenvelope;
    zmq_msg_t payload; /* the client's first frame after its envelope */
    bool has_payload;
    size_t nframes;         /* frames the client sent after its envelope (1 in a valid request) */
    long long recv_wall_ms; /* when it was received (stream entry field rt) */

    msgpack_object top;  /* the unpacked frame, in the round's zone (request_decode) */
    bool is_batch;       /* the reply is an array of acks */
    bool frame_rejected; /* the reply is one rejected ack with id nil */
    char frame_error[REQUEST_ERROR_MAX];

    struct request_event *events;
    size_t nevents;
    size_t events_cap; /* allocated length of events, kept across request_release */
};

/* Prepares a zeroed request for use (zmq_msg_init of its frames is done by intake). */
void request_init(struct request *r);

/* Decodes r->payload into events (see above), the unpacked tree allocated from zone
 * (which must outlive r's use; the broker clears it once per round). Returns 0, or -1
 * only when memory ran out (the request is then frame-rejected with "broker: out of
 * memory"). */
int request_decode(struct request *r, const struct request_limits *lim, msgpack_zone *zone);

/* Sets an event's outcome; fmt (may be NULL) gives the error text, truncated to
 * REQUEST_ERROR_MAX. */
void request_event_set(struct request_event *e, enum ack_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Rejects the whole frame: one ack, id nil. */
void request_reject_frame(struct request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Number of events still ACK_PENDING. */
size_t request_pending(const struct request *r);

/* Frees the error texts and the frames; r is ready for reuse (its events array is
 * kept for the next request; the unpacked tree belongs to the caller's zone). */
void request_release(struct request *r);

/* request_release, and frees the events array too (teardown). */
void request_free(struct request *r);

/* The end of the one msgpack object starting at p (p < end), or NULL when it does not
 * fit in [p, end). Reads headers only, without recursion; used on frames mpscan has
 * already checked, to find each batch element's bytes. */
const char *request_skip_object(const char *p, const char *end);

#endif
