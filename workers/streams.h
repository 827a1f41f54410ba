/*
 * streams: the Redis stream commands of the ingest worker over a struct rlink (one
 * server, or a Redis Cluster where each shard's commands go to its slot's master):
 * XREADGROUP into a batch, XACK pipelined (one XACK per shard with many ids), XPENDING
 * with an idle filter, XCLAIM (to take over, or to keep one's own entries from looking
 * idle), XRANGE (does an entry still exist?), and the group's backlog.
 *
 * Every function returns 0, or -1 with the reason in err. After -1 the caller drops
 * the connection and reconnects (a refused command, e.g. NOGROUP after Redis lost its
 * data, is mended the same way: reconnecting re-creates the groups).
 *
 * Used by workers/ingest.c and workers/reclaim.c.
 */
#ifndef KINERJA_WORKER_STREAMS_H
#define KINERJA_WORKER_STREAMS_H

#include "batch.h"

#include <hiredis/hiredis.h>
#include "rstream.h"
#include <stdbool.h>
#include <stddef.h>

#define STREAMS_ERR_MAX 256
#define STREAMS_CONSUMER_MAX 128
/* A cluster: the longest BLOCK of an idle worker's read on one shard (streams_read) */
#define STREAMS_CLUSTER_BLOCK_MS 50

/*
 * XREADGROUP GROUP group consumer COUNT count [BLOCK block_ms] STREAMS <keys> <ids>
 * over the shards [first, first + nshards) of the batch, appending what it returns
 * (deliveries: the count to record on each entry, 0 = unknown). ids == NULL reads new
 * entries (">"), else ids[i] is the start id for shard first + i (reading this
 * consumer's own pending entries). block_ms < 0: no BLOCK. *got: entries added.
 * A cluster: one command per shard while the batch has room; when no shard had
 * anything, BLOCK on one shard at a time (STREAMS_CLUSTER_BLOCK_MS at most each, every
 * shard looked at again in between) until block_ms have passed.
 */
int streams_read(struct rlink *l, struct batch *b, const char *group, const char *consumer, unsigned first,
                 unsigned nshards, const char *const *ids, long count, long block_ms, int deliveries,
                 size_t *got, char *err, size_t errlen);

/* XACK of every COMMITTED or GONE entry not yet acknowledged, one XACK per shard,
 * pipelined; marks them acked. */
int streams_ack(struct rlink *l, struct batch *b, const char *group, char *err, size_t errlen);

/* XCLAIM key group consumer 0 <ids> JUSTID of the entries in hand (READY, UNREADABLE):
 * resets their idle time without counting a delivery, so no other worker reclaims a
 * batch this worker still holds (e.g. while PostgreSQL is down). */
int streams_touch(struct rlink *l, struct batch *b, const char *group, const char *consumer, char *err,
                  size_t errlen);

struct pending_entry {
    char id[BATCH_STREAM_ID_MAX];
    char consumer[STREAMS_CONSUMER_MAX]; /* who holds it (truncated) */
    long long idle_ms;
    long long deliveries;
};

/* XPENDING key group IDLE min_idle_ms - + max on shard's key: up to max entries idle
 * that long. */
int streams_pending(struct rlink *l, const struct batch *b, unsigned shard, const char *group,
                    long long min_idle_ms, struct pending_entry *out, size_t max, size_t *n, char *err,
                    size_t errlen);

/*
 * XCLAIM key group consumer min_idle_ms <ids> into the batch (shard's entries get
 * deliveries[i]). claimed[i] tells whether ids[i] came back: false when another
 * consumer took it first, or when the stream no longer holds it (Redis 7 drops such
 * ids from the pending list; Redis 6 returns nil: those are added as GONE entries).
 */
int streams_claim(struct rlink *l, struct batch *b, unsigned shard, const char *group, const char *consumer,
                  long long min_idle_ms, const struct pending_entry *ids, size_t n, bool *claimed, char *err,
                  size_t errlen);

/* XRANGE key id id on shard's key: whether the stream still holds the entry. */
int streams_exists(struct rlink *l, const struct batch *b, unsigned shard, const char *id, bool *exists,
                   char *err, size_t errlen);

/* Entries of the group's streams not yet delivered to it (XINFO GROUPS "lag", Redis
 * 7), summed over the shards; -1 in *backlog when Redis cannot tell. */
int streams_backlog(struct rlink *l, const struct batch *b, const char *group, long long *backlog, char *err,
                    size_t errlen);

#endif
