/*
 * enqueue: the broker's Redis side. Holds the one Redis connection, and stores the
 * valid events of many client requests in ONE pipelined round trip of a few calls
 * (schemas/redis/kinerja.lua), each carrying up to ENQUEUE_CALL_EVENTS events:
 *     FCALL kinerja_enqueue_many 2n <dedupe key, stream key> x n <ttl>
 *           <id> <event msgpack> <recv ms> <client>  x n
 * (<client>: the CURVE client's name from ZAP, the stream entry's cl field, which the
 * ingest worker stores as event_log.client; "" without CURVE). Per event the function
 * does SET NX EX + XADD, the whole call atomic, and answers one status byte per event:
 * accepted, duplicate (an id seen before, in an earlier call or earlier in the same
 * one: two events with one id in a round are accepted once), or not stored (retry,
 * with the reason).
 *
 * An event gets accepted only from its own status byte in its call's reply. When Redis is down, a command
 * fails, or a reply times out, every event without a reply gets retry "storage unavailable: <reason>", the
 * connection is dropped and re-established with exponential backoff (ENQUEUE_BACKOFF_MIN_MS ..
 * ENQUEUE_BACKOFF_MAX_MS); while in backoff, rounds answer retry at once without touching the network. Each
 * (re)connect loads the function library and, with intake.durability = always, sets appendfsync always
 * (refused -> the connection is not used: retry, never a pretended fsync).
 *
 * A Redis Cluster (redis.cluster = true; broker/enqueue_cluster.c): a round is made
 * start to end inside enqueue_submit, over per-node pipelines, in two steps. First each
 * event's id is reserved in the id's own slot (SET kinerja:dd:<id> <shard> NX GET EX
 * ttl): taken for another shard means duplicate, as on one server. Then one FCALL per
 * shard (the keys of one call must share a slot) with the shard's own dedupe keys
 * kinerja:dd:{N}:<id>, and with replicated a SET and WAIT on every node the round wrote
 * to, on the connection that carried its writes. A round whose commands were
 * redirected or whose node was lost gets no accepted it cannot vouch for: retry.
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
/* Events per FCALL, and the bytes after which a call takes no more. A call runs alone
 * in Redis, so it is kept short (about 1 ms of Redis time) not to hold up the ingest
 * workers' commands; measured (Redis CPU per event, issue 15), 16..256 events per call
 * cost the same, about 12 us against 14 us for one call per event: the work is the
 * SET and XADD inside, not the call. */
#define ENQUEUE_CALL_EVENTS 64
#define ENQUEUE_CALL_BYTES (512 * 1024)

struct enqueue_options {
    const char *redis_url; /* copied */
    int timeout_ms;        /* connect and each command */
    long long dedupe_ttl_s;
    bool fsync_always; /* intake.durability = always */
    /* intake.durability = replicated: every round ends with WAIT replicas
     * replica_timeout_ms, and its accepted and duplicate acks wait for it (0: off) */
    int replicas;
    int replica_timeout_ms;
    bool cluster; /* redis.cluster: a Redis Cluster, seeds in redis_url (enqueue_cluster.c) */
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

/* Rounds in flight (issue 15): the broker sends a round and goes on reading the next
 * while Redis works; replies are read as they arrive (enqueue_read when
 * enqueue_wait_fd is readable) and applied in order, oldest call first. A batch holds
 * one round's slots; it is the caller's and is reused round after round. */
struct enqueue_batch;
struct enqueue_batch *enqueue_batch_new(void);
void enqueue_batch_destroy(struct enqueue_batch **b);
/* True once every pending event given to enqueue_submit has its outcome. */
bool enqueue_batch_done(const struct enqueue_batch *b);

/* Gives every ACK_PENDING event of reqs[0..n) its outcome, now or later: rejected when
 * it lies outside its CURVE client's bindings (clients.h: source=, as=) and retry when
 * Redis is down (at once), else the calls are sent and the batch is in flight until
 * its replies are read: accepted, duplicate or retry. reqs and their events must stay
 * alive until enqueue_batch_done(b). Returns the number of Redis round trips begun
 * (0 or 1). */
int enqueue_submit(struct enqueue *e, struct enqueue_batch *b, struct request **reqs, size_t n,
                   long long now_ms);

/* Reads the replies that have arrived (one read: call it when enqueue_wait_fd is
 * readable) and gives their events their outcomes. A broken connection, an error
 * reply or an unreadable one drops the connection: every event in flight without its
 * reply gets retry. */
void enqueue_read(struct enqueue *e, long long now_ms);
/* The oldest batch waited redis.timeout_ms: the connection is dropped, retry for all
 * in flight. */
void enqueue_expire(struct enqueue *e, long long now_ms);
/* The socket to poll for replies, -1 when nothing is in flight. */
int enqueue_wait_fd(const struct enqueue *e);
/* Monotonic ms when the oldest batch in flight times out; 0 when none is. */
long long enqueue_deadline_ms(const struct enqueue *e);
/* Batches in flight. */
size_t enqueue_inflight(const struct enqueue *e);

#endif
