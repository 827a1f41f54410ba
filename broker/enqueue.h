/*
 * enqueue: the broker's Redis side. Holds the one Redis connection, and stores the
 * valid events of many client requests in ONE pipelined round trip:
 *     FCALL kinerja_enqueue 2 <dedupe key> <stream key> <id> <event msgpack> <ttl> <recv ms> <client>
 * per event (<client>: the CURVE client's name from ZAP, the stream entry's cl field,
 * which the ingest worker stores as event_log.client; "" without CURVE), in
 * schemas/redis/kinerja.lua: SET NX EX + XADD, atomic. A reply that is an entry id
 * means accepted, 0 means duplicate (the function runs in pipeline order, so
 * a second event with the same id in one round is a duplicate too).
 *
 * An event gets accepted only from its own reply. When Redis is down, a command fails,
 * or a reply times out, every event without a reply gets retry "storage unavailable:
 * <reason>", the connection is dropped and re-established with exponential backoff
 * (ENQUEUE_BACKOFF_MIN_MS .. ENQUEUE_BACKOFF_MAX_MS); while in backoff, rounds answer
 * retry at once without touching the network. Each (re)connect loads the function
 * library and, with intake.durability = always, sets appendfsync always (refused ->
 * the connection is not used: retry, never a pretended fsync).
 *
 * Called by the broker's main loop only (not thread-safe).
 */
#ifndef KINERJA_BROKER_ENQUEUE_H
#define KINERJA_BROKER_ENQUEUE_H

#include "request.h"

#include <stdbool.h>
#include <stddef.h>

#define ENQUEUE_BACKOFF_MIN_MS 100
#define ENQUEUE_BACKOFF_MAX_MS 5000
#define ENQUEUE_REASON_MAX 256

struct enqueue_options {
    const char *redis_url; /* copied */
    int timeout_ms;        /* connect and each command */
    long long dedupe_ttl_s;
    bool fsync_always; /* intake.durability = always */
};

struct enqueue;

struct enqueue *enqueue_new(const struct enqueue_options *o);
void enqueue_destroy(struct enqueue **e);

/* Connects when down and the backoff has passed (may block up to timeout_ms). Logs
 * "Redis lost" / "Redis connected" on changes. */
void enqueue_maintain(struct enqueue *e, long long now_ms);

bool enqueue_is_up(const struct enqueue *e);
/* Why Redis is unusable ("connection refused", ...); "" when up. */
const char *enqueue_down_reason(const struct enqueue *e);
/* Monotonic ms of the next connect attempt while down; 0 when up. */
long long enqueue_next_attempt_ms(const struct enqueue *e);

/* Gives every ACK_PENDING event of reqs[0..n) its outcome: rejected when it lies outside
 * its CURVE client's bindings (clients.h: source=, as=), else accepted, duplicate or
 * retry. Returns the number of Redis round trips made (0 or 1). */
int enqueue_round(struct enqueue *e, struct request **reqs, size_t n, long long now_ms);

#endif
