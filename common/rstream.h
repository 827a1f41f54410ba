/*
 * rstream: the Redis side shared by the broker, the workers and the CLI: URL parsing,
 * connecting (with timeout, AUTH and SELECT), the names of the stream shards and
 * dedupe keys, loading the function library (schemas/redis/kinerja.lua, embedded),
 * consumer groups, and the totals `kinerja status` shows.
 *
 * Layout in Redis (SPEC 11; the {N} hash tag keeps a shard's keys in one cluster slot):
 *   kinerja:ev:{N}        stream shard N; entry fields: id (event id), ev (the event's
 *                         msgpack map, exactly as validated), rt (broker receive ms),
 *                         cl (the authenticated CURVE client's name; absent without CURVE)
 *   kinerja:dd:<id>       dedupe key of an accepted event id, with a TTL: one per id
 *                         whatever the shard, so an id reused about another employee
 *                         is a duplicate, never a second accepted event (a per-shard
 *                         key let it through, and its body was then stored nowhere).
 *                         In a Redis Cluster (issue 17) it is not in the stream's slot.
 *   kinerja:wait          written by a broker before each WAIT (intake.durability =
 *                         replicated), value 1, EX 60
 * An event goes to shard event_shard(ev, redis.shards).
 *
 * In a Redis Cluster (redis.cluster = true, issue 17) every key of one command must be
 * in one slot, so the broker's dedupe is in two steps (broker/enqueue_cluster.c):
 *   kinerja:dd:<id>       the id's reservation, in the id's own slot: value = the shard
 *                         N of the event that took it, SET NX GET EX ttl. Taken for
 *                         another shard: a duplicate (the one-server rule above).
 *   kinerja:dd:{N}:<id>   the dedupe key kinerja_enqueue_many sets in the shard's slot,
 *                         atomically with the XADD: the exactly-once of the shard.
 *   kinerja:wait:{T}      replicated: the round's own write on a node before its WAIT,
 *                         T the hash tag of a key of that node's (the shard N, or the
 *                         reservation key itself).
 */
#ifndef KINERJA_RSTREAM_H
#define KINERJA_RSTREAM_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#define RSTREAM_GROUP_INGEST "kinerja-ingest"
#define RSTREAM_KEY_MAX 128
#define RSTREAM_FUNCTION_ENQUEUE "kinerja_enqueue"
/* intake.durability = replicated: each round's own write before its WAIT (a round of
 * duplicates writes nothing else, and WAIT waits for its connection's last write) */
#define RSTREAM_WAIT_KEY "kinerja:wait"

struct rcluster;

/* The Redis that holds the streams: one server, or a Redis Cluster (redis.cluster =
 * true, seeds in redis.url; common/rcluster.h). Commands about shard N's keys go to
 * rlink_shard(l, N); with one server that is its one connection. Neither is set while
 * down. After a command fails (an error reply, MOVED after a failover, a lost node) the
 * caller closes the link and connects again, which reads the cluster's map afresh. */
struct rlink {
    redisContext *c;     /* one server */
    struct rcluster *rc; /* a Redis Cluster */
    unsigned turn;       /* a cluster: the shard the next read of all shards starts from */
};

struct redis_url {
    char host[256];
    int port;
    int db;
    char user[128]; /* ACL user (Redis 6+); empty: AUTH with the password alone */
    char password[256];
};

/* A decimal number of 1..9 digits in s[0..n) within [lo, hi]: 0, or -1. */
int rstream_parse_number(const char *s, size_t n, long lo, long hi, long *out);

/* redis://[[user]:password@]host[:port][/db]; defaults port 6379, db 0. */
int rstream_parse_url(const char *url, struct redis_url *out, char *err, size_t errlen);

/* Connects with timeout_ms for connect and for every command; AUTH and SELECT as the
 * URL says. Returns NULL with the reason in err (never the password). */
redisContext *rstream_connect(const char *url, int timeout_ms, char *err, size_t errlen);

/* Connects l (closed first) to url: one server, or with cluster a Redis Cluster whose
 * slot map covers every slot. Returns 0, or -1 with the reason in err. */
int rlink_connect(struct rlink *l, const char *url, bool cluster, int timeout_ms, char *err, size_t errlen);
void rlink_close(struct rlink *l);
bool rlink_up(const struct rlink *l);
bool rlink_is_cluster(const struct rlink *l);
/* The connection for the keys of shard N (the one server's, or the master of the
 * shard's slot); NULL with the reason when it cannot be reached. */
redisContext *rlink_shard(struct rlink *l, unsigned shard, char *err, size_t errlen);
/* fn(context, "host:port", arg) for the one server, or for every master; stops at the
 * first non-zero fn and returns it; -1 with err when a master cannot be reached. */
int rlink_each_master(struct rlink *l, int (*fn)(redisContext *c, const char *addr, void *arg), void *arg,
                      char *err, size_t errlen);
/* Checks url as redis.url (a cluster: its seeds) and describes it for a start line:
 * "127.0.0.1:6390/0", or "cluster of seeds 127.0.0.1:7001,127.0.0.1:7002" (never the
 * password). Returns 0, or -1 with the reason in err. */
int rstream_describe_url(const char *url, bool cluster, char *out, size_t outlen, char *err, size_t errlen);
/* The cluster slot of shard N's keys (the hash tag {N}). */
unsigned rstream_shard_slot(unsigned shard);

void rstream_stream_key(unsigned shard, char *out, size_t outlen);
void rstream_dedupe_key(const char *id, size_t idlen, char *out, size_t outlen);

/* FUNCTION LOAD REPLACE of the embedded library. */
int rstream_load_library(redisContext *c, char *err, size_t errlen);

/* XGROUP CREATE ... MKSTREAM for every shard; an existing group is fine. */
int rstream_ensure_groups(struct rlink *l, unsigned nshards, const char *group, char *err, size_t errlen);

/* Sum of XLEN, and of pending entries of group, over all shards. */
int rstream_totals(struct rlink *l, unsigned nshards, const char *group, long long *length,
                   long long *pending, char *err, size_t errlen);

#endif
