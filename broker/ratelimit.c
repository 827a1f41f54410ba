/*
 * ratelimit: per-client token buckets; see ratelimit.h.
 */
#include "ratelimit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
    unsigned char key[RATELIMIT_KEY_MAX];
    unsigned char keylen;
    bool used;
    double tokens;
    long long last_ms; /* last refill, also the LRU stamp */
};

struct ratelimit {
    long long rate;
    struct bucket buckets[RATELIMIT_SETS][RATELIMIT_WAYS];
};

struct ratelimit *ratelimit_new(long long rate_per_s)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (rl)
        rl->rate = rate_per_s;
    return rl;
}

void ratelimit_destroy(struct ratelimit **rl)
{
    if (!rl || !*rl)
        return;
    free(*rl);
    *rl = NULL;
}

void ratelimit_set_rate(struct ratelimit *rl, long long rate_per_s)
{
    rl->rate = rate_per_s;
    for (size_t s = 0; s < RATELIMIT_SETS; s++)
        for (size_t w = 0; w < RATELIMIT_WAYS; w++)
            if (rl->buckets[s][w].tokens > (double)rate_per_s)
                rl->buckets[s][w].tokens = (double)rate_per_s;
}

long long ratelimit_rate(const struct ratelimit *rl)
{
    return rl->rate;
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

bool ratelimit_admit(struct ratelimit *rl, const void *key, size_t keylen, size_t n, long long now_ms)
{
    if (rl->rate <= 0)
        return true;
    if (keylen > RATELIMIT_KEY_MAX)
        keylen = RATELIMIT_KEY_MAX;
    struct bucket *set = rl->buckets[fnv1a(key, keylen) % RATELIMIT_SETS];
    struct bucket *b = NULL, *oldest = &set[0];
    for (size_t w = 0; w < RATELIMIT_WAYS; w++) {
        if (set[w].used && set[w].keylen == keylen && memcmp(set[w].key, key, keylen) == 0) {
            b = &set[w];
            break;
        }
        if (!set[w].used || (oldest->used && set[w].last_ms < oldest->last_ms))
            oldest = &set[w];
    }
    double capacity = (double)rl->rate;
    if (!b) {
        b = oldest;
        memcpy(b->key, key, keylen);
        b->keylen = (unsigned char)keylen;
        b->used = true;
        b->tokens = capacity;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * capacity / 1000.0;
        if (b->tokens > capacity)
            b->tokens = capacity;
    }
    b->last_ms = now_ms;
    if (b->tokens >= (double)n || b->tokens >= capacity) {
        b->tokens -= (double)n;
        return true;
    }
    return false;
}
