/*
 * ratelimit: intake.rate_per_client (SPEC 8) as a token bucket per client: its routing id,
 * or with security.curve its name from security.clients_file (the broker passes the key).
 * Events over the limit are answered retry "rate limited" (nothing stored).
 *
 * The table is bounded: RATELIMIT_SETS x RATELIMIT_WAYS entries, set-associative; a
 * new client takes the least recently seen entry of its set. An evicted client comes
 * back with a full bucket, so the limit is exact for up to a few thousand concurrently
 * active clients and approximate beyond that. A bucket holds one second of tokens; a
 * request is admitted when the bucket holds enough tokens for all its events or is full
 * (so a batch larger than one second's worth still passes, and the debt is repaid before
 * the next one: the average rate holds). Called by the broker's loop.
 */
#ifndef KINERJA_BROKER_RATELIMIT_H
#define KINERJA_BROKER_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define RATELIMIT_SETS 1024
#define RATELIMIT_WAYS 4
#define RATELIMIT_KEY_MAX 255 /* a ZeroMQ routing id is at most 255 bytes */

struct ratelimit;

/* rate_per_s 0 = unlimited (every request admitted). NULL on OOM. */
struct ratelimit *ratelimit_new(long long rate_per_s);
void ratelimit_destroy(struct ratelimit **rl);
/* Changes the rate (SIGHUP); buckets keep their tokens, capped to the new size. */
void ratelimit_set_rate(struct ratelimit *rl, long long rate_per_s);
long long ratelimit_rate(const struct ratelimit *rl);

/* Takes n tokens for client key if admitted. */
bool ratelimit_admit(struct ratelimit *rl, const void *key, size_t keylen, size_t n, long long now_ms);

#endif
