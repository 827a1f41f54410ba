/*
 * sender: the reference client of the wire protocol (SPEC 3), used by `kinerja send`,
 * the one-event commands (signoff, appeal, decide, recalc) and `kinerja bench`.
 *
 * It pulls msgpack-encoded events from a callback, packs them into batch frames (at
 * most `batch` events and max_frame bytes each), keeps up to `window` frames in flight
 * on one DEALER socket, and reports every event's final ack through a callback.
 * `retry` acks are resent with exponential backoff and jitter; a frame without a reply
 * within reply_timeout_ms has its events resent on a fresh socket (so a late reply to
 * the old frame can never be mistaken for the new one). An event that has no final ack
 * (accepted, duplicate, rejected) timeout_ms after its first sending is counted as
 * unacked, and so is everything left when the broker has not answered at all for
 * timeout_ms while events were out. Every time is taken when the frame goes out,
 * after any wait for input: a pipe that pauses is not a broker that is slow.
 */
#ifndef KINERJA_SENDER_H
#define KINERJA_SENDER_H

#include <stdbool.h>
#include <stddef.h>

#define SENDER_ID_MAX 64

struct sender_opts {
    const char *endpoint;
    size_t batch;                 /* events per frame (<= intake.max_batch) */
    size_t window;                /* frames in flight */
    size_t max_frame;             /* bytes per frame (intake.max_frame_bytes) */
    int timeout_ms;               /* per event, from its first sending: give up without a final ack */
    int reply_timeout_ms;         /* a frame without reply this long after its sending is resent */
    bool progress;                /* progress line on stderr */
    const char *curve_server_key; /* z85 public key of the broker, or NULL */
    const char *curve_public_key, *curve_secret_key; /* this client's, with curve */
    bool poll_input; /* the input can say SENDER_NEXT_WAIT: poll input_fd for more */
    int input_fd;
    void *zctx; /* a ZeroMQ context to share (the caller's, outliving the run), or NULL: one of its own */
};

/* One event to send. data is malloc'd msgpack (one map) and owned by the sender once
 * handed over; id is the event's id as text ("" when it has none); tag is the caller's
 * (a line number, an index). */
struct sender_item {
    char *data;
    size_t len;
    char id[SENDER_ID_MAX + 1];
    long tag;
};

enum sender_status { SENDER_ACCEPTED, SENDER_DUPLICATE, SENDER_REJECTED, SENDER_UNACKED };

struct sender_counts {
    size_t sent, accepted, duplicate, rejected, unacked, retries;
};

/* Fills *out with the next event: returns 1, 0 at the end, -1 to stop with an error
 * (already reported by the callback), or SENDER_NEXT_WAIT when no event can be had
 * without waiting (a pipe that pauses): what was read goes out at once, as a shorter
 * frame, and the sender asks again when opts.input_fd is readable. */
#define SENDER_NEXT_WAIT 2
typedef int (*sender_next_fn)(void *ctx, struct sender_item *out);
/* Called once per event with its final status; error is the broker's text for
 * rejected (or the reason it stayed unacked); latency_ms is from the first send of the
 * frame that got the final ack to its reply. */
typedef void (*sender_ack_fn)(void *ctx, const struct sender_item *item, enum sender_status status,
                              const char *error, double latency_ms);

/* Runs until every event has a final ack or the timeout. Returns 0 when every event got
 * a final ack, 1 when some stayed unacked, -1 on a setup error (err says why). */
int sender_run(const struct sender_opts *opts, sender_next_fn next, sender_ack_fn on_ack, void *ctx,
               struct sender_counts *counts, char *err, size_t errlen);

/* Reads the "id" string of a msgpack map (for sender_item.id); "" when absent. */
void sender_extract_id(const char *data, size_t len, char *id, size_t idlen);

#endif
