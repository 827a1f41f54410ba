/*
 * enqueue_int: what enqueue.c (one Redis server) and enqueue_cluster.c (a Redis
 * Cluster, redis.cluster = true) share. Not for other files.
 */
#ifndef KINERJA_BROKER_ENQUEUE_INT_H
#define KINERJA_BROKER_ENQUEUE_INT_H

#include "buf.h"
#include "enqueue.h"
#include "rcluster.h"

#include <hiredis/hiredis.h>

#define ENQUEUE_NUM_MAX 24 /* a decimal long long */
#define ENQUEUE_FUNCTION "kinerja_enqueue_many"

/* One pending event in the round being built. */
struct slot {
    struct request_event *ev;
    long long recv_wall_ms;
    const char *client; /* the CURVE client's name ("User-Id"); "" without CURVE */
    size_t client_len;
};

struct enqueue {
    char *url;
    int timeout_ms;
    long long ttl_s;
    bool fsync_always;
    int replicas, replica_timeout_ms; /* intake.durability = replicated; replicas 0: off */

    redisContext *c;
    bool cluster;               /* redis.cluster: rc instead of c (enqueue_cluster.c) */
    struct rcluster *rc;        /* NULL while down */
    struct rcluster_pipe *pipe; /* one round's commands, reused */
    size_t *order;              /* a cluster round: its slots in shard order */
    size_t order_cap;
    char reason[ENQUEUE_REASON_MAX]; /* why down; "" when up */
    int backoff_ms;
    long long next_attempt_ms;
    bool ever_up;
    bool warned_aof_off;

    struct buf cmd; /* the RESP of one call, reused */
    char ttl[ENQUEUE_NUM_MAX];
    struct enqueue_batch *head, *tail; /* sent, replies not all read: oldest first */
    size_t inflight;
};

/* One round's events on their way: sent as calls [0, ncalls), replies read for the
 * calls before next_call. Kept by its round and reused (slots and calls only grow). */
struct enqueue_batch {
    struct slot *slots;
    size_t k, slots_cap;
    size_t *calls; /* first slot of each call, and k at [ncalls] */
    size_t ncalls, next_call, calls_cap;
    long long sent_ms;
    bool wait_pending;  /* replicated: the round's SET and WAIT sent, WAIT's reply not read yet */
    bool wait_set_read; /* ... and the SET's reply read */
    bool done;          /* every event has its outcome */
    struct enqueue_batch *next;
};

/* enqueue.c */
void enqueue_connect_failed(struct enqueue *e, long long now_ms, const char *why, bool misconfigured);
void enqueue_retry_from(struct slot *slots, size_t from, size_t n, const char *reason);
void enqueue_unconfirmed(struct enqueue_batch *b, const char *why);
size_t enqueue_lower_id(const struct request_event *ev, char *id);
int enqueue_aof_enabled(redisContext *c, char *why, size_t whylen);
int enqueue_require_fsync_always(redisContext *c, char *why, size_t whylen);
void enqueue_warn_replicas(redisContext *c, int want);

/* enqueue_cluster.c */
/* Connects to the cluster and readies every master (the function library, and
 * appendfsync always or the warnings as enqueue_maintain does for one server). */
void enqueue_cluster_maintain(struct enqueue *e, long long now_ms);
/* One round, start to end: every slot of b has its outcome on return. */
void enqueue_cluster_round(struct enqueue *e, struct enqueue_batch *b, long long now_ms);
void enqueue_cluster_close(struct enqueue *e);

#endif
