#include "reclaim.h"

#include "daemon.h"
#include "log.h"
#include "rstream.h"
#include "streams.h"

#include <stdio.h>
#include <string.h>

int reclaim_own_pending(struct ingest *w)
{
    struct batch *b = &w->batch;
    char err[STREAMS_ERR_MAX];
    size_t total = 0;
    long page = (long)(b->cap < RECLAIM_PAGE ? b->cap : RECLAIM_PAGE);
    for (unsigned shard = 0; shard < w->cfg.shards; shard++) {
        char after[BATCH_STREAM_ID_MAX] = "0";
        for (;;) {
            if (ingest_redis_ready(w) < 0)
                return -1;
            batch_clear(b);
            const char *ids[1] = {after};
            size_t got = 0;
            /* history of this consumer's own pending list: entries after `after` */
            if (streams_read(w->redis, b, RSTREAM_GROUP_INGEST, w->consumer, shard, 1, ids, page, -1, 0, &got,
                             err, sizeof err) < 0) {
                ingest_redis_lost(w, err);
                continue;
            }
            if (b->n == 0)
                break;
            snprintf(after, sizeof after, "%s", b->e[b->n - 1].stream_id);
            total += b->n;
            if (ingest_store_batch(w) < 0)
                return -1;
        }
    }
    batch_clear(b);
    if (total)
        log_info("stored %zu entries this consumer (%s) had left pending", total, w->consumer);
    return 0;
}

/* One line per other consumer whose entries this page took over (this worker's own
 * refused entries, delivered again, are not news). */
static void log_reclaimed(const struct ingest *w, const char *key, const struct pending_entry *pend,
                          const bool *claimed, size_t n)
{
    bool done[RECLAIM_PAGE] = {false};
    for (size_t i = 0; i < n; i++) {
        if (done[i] || !claimed[i] || strcmp(pend[i].consumer, w->consumer) == 0)
            continue;
        size_t count = 0;
        long long idle = pend[i].idle_ms;
        for (size_t j = i; j < n; j++) {
            if (claimed[j] && !done[j] && strcmp(pend[j].consumer, pend[i].consumer) == 0) {
                done[j] = true;
                count++;
                if (pend[j].idle_ms < idle)
                    idle = pend[j].idle_ms;
            }
        }
        log_info("reclaimed %zu entries of %s from consumer %s (first %s, idle >= %lld ms)", count, key,
                 pend[i].consumer, pend[i].id, idle);
    }
}

/*
 * One page of a shard: XPENDING IDLE, XCLAIM, store. *n_out: entries XPENDING listed
 * (a full page means there may be more). Returns 0, 1 when Redis failed (the pass
 * ends; the next one tries again), or -1 when stopping.
 */
static int reclaim_page(struct ingest *w, unsigned shard, size_t page, size_t *n_out)
{
    struct batch *b = &w->batch;
    const char *key = b->keys[shard];
    struct pending_entry pend[RECLAIM_PAGE];
    bool claimed[RECLAIM_PAGE];
    char err[STREAMS_ERR_MAX];
    size_t n = 0;
    *n_out = 0;
    if (streams_pending(w->redis, key, RSTREAM_GROUP_INGEST, w->cfg.claim_idle_ms, pend, page, &n, err,
                        sizeof err) < 0) {
        ingest_redis_lost(w, err);
        return 1;
    }
    *n_out = n;
    if (n == 0)
        return 0;
    batch_clear(b);
    if (streams_claim(w->redis, b, shard, RSTREAM_GROUP_INGEST, w->consumer, w->cfg.claim_idle_ms, pend, n,
                      claimed, err, sizeof err) < 0) {
        ingest_redis_lost(w, err);
        return 1;
    }
    size_t taken = 0, others = 0;
    log_reclaimed(w, key, pend, claimed, n);
    for (size_t i = 0; i < n; i++) {
        if (claimed[i]) {
            taken++;
            continue;
        }
        /* Not returned: another worker took it first, or the stream lost it (trimmed). */
        bool exists = true;
        if (streams_exists(w->redis, key, pend[i].id, &exists, err, sizeof err) < 0) {
            ingest_redis_lost(w, err);
            return 1;
        }
        if (exists) {
            others++;
        } else if (!batch_add_gone(b, shard, pend[i].id, strlen(pend[i].id))) {
            break; /* cannot happen: the page fits the batch */
        }
    }
    if (others)
        log_debug("%zu pending entries of %s were taken by another worker first", others, key);
    if (taken)
        log_debug("reclaim: %zu entries of %s idle >= %lld ms", taken, key, w->cfg.claim_idle_ms);
    int rc = ingest_store_batch(w);
    batch_clear(b);
    return rc < 0 ? -1 : 0;
}

int reclaim_idle_entries(struct ingest *w)
{
    size_t page = w->batch.cap < RECLAIM_PAGE ? w->batch.cap : RECLAIM_PAGE;
    for (unsigned shard = 0; shard < w->cfg.shards; shard++) {
        for (int p = 0; p < RECLAIM_PAGES_MAX; p++) {
            if (daemon_stopping)
                return 0;
            if (ingest_redis_ready(w) < 0)
                return -1;
            size_t n = 0;
            int rc = reclaim_page(w, shard, page, &n);
            if (rc < 0)
                return -1;
            if (rc > 0)
                return 0;
            if (n < page)
                break;
        }
    }
    return 0;
}
