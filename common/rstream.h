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
 */
#ifndef KINERJA_RSTREAM_H
#define KINERJA_RSTREAM_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#define RSTREAM_GROUP_INGEST "kinerja-ingest"
#define RSTREAM_KEY_MAX 128
#define RSTREAM_FUNCTION_ENQUEUE "kinerja_enqueue"
/* intake.durability = replicated: each round's own write before its WAIT (a round of
 * duplicates writes nothing else, and WAIT waits for its connection's last write) */
#define RSTREAM_WAIT_KEY "kinerja:wait"

struct redis_url {
    char host[256];
    int port;
    int db;
    char user[128]; /* ACL user (Redis 6+); empty: AUTH with the password alone */
    char password[256];
};

/* redis://[[user]:password@]host[:port][/db]; defaults port 6379, db 0. */
int rstream_parse_url(const char *url, struct redis_url *out, char *err, size_t errlen);

/* Connects with timeout_ms for connect and for every command; AUTH and SELECT as the
 * URL says. Returns NULL with the reason in err (never the password). */
redisContext *rstream_connect(const char *url, int timeout_ms, char *err, size_t errlen);

void rstream_stream_key(unsigned shard, char *out, size_t outlen);
void rstream_dedupe_key(const char *id, size_t idlen, char *out, size_t outlen);

/* FUNCTION LOAD REPLACE of the embedded library. */
int rstream_load_library(redisContext *c, char *err, size_t errlen);

/* XGROUP CREATE ... MKSTREAM for every shard; an existing group is fine. */
int rstream_ensure_groups(redisContext *c, unsigned nshards, const char *group, char *err, size_t errlen);

/* Sum of XLEN, and of pending entries of group, over all shards. */
int rstream_totals(redisContext *c, unsigned nshards, const char *group, long long *length,
                   long long *pending, char *err, size_t errlen);

#endif
