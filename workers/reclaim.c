#include "reclaim.h"

#include "log.h"
#include "rstream.h"
#include "streams.h"

#include <stdio.h>
#include <string.h>

int reclaim_own_page(const struct reclaim_ctx *c, struct batch *b, unsigned shard,
                     char after[BATCH_STREAM_ID_MAX], size_t page, char *err, size_t errlen)
{
    batch_clear(b);
    const char *ids[1] = {after};
    size_t got = 0;
    /* history of this consumer's own pending list: entries after `after` */
    if (streams_read(c->redis, b, RSTREAM_GROUP_INGEST, c->consumer, shard, 1, ids, (long)page, -1, 0, &got,
                     err, errlen) < 0)
        return -1;
    if (b->n > 0)
        snprintf(after, BATCH_STREAM_ID_MAX, "%s", b->e[b->n - 1].stream_id);
    return (int)b->n;
}

/* One line per other consumer whose entries this page took over (this worker's own
 * refused entries, delivered again, are not news). */
static void log_reclaimed(const struct reclaim_ctx *c, const char *key, const struct pending_entry *pend,
                          const bool *claimed, size_t n)
{
    bool done[RECLAIM_PAGE] = {false};
    for (size_t i = 0; i < n; i++) {
        if (done[i] || !claimed[i] || strcmp(pend[i].consumer, c->consumer) == 0)
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

int reclaim_idle_page(const struct reclaim_ctx *c, struct batch *b, unsigned shard, size_t page,
                      size_t *listed, char *err, size_t errlen)
{
    const char *key = b->keys[shard];
    struct pending_entry pend[RECLAIM_PAGE];
    bool claimed[RECLAIM_PAGE];
    size_t n = 0;
    *listed = 0;
    batch_clear(b);
    if (page > RECLAIM_PAGE)
        page = RECLAIM_PAGE;
    if (streams_pending(c->redis, b, shard, RSTREAM_GROUP_INGEST, c->claim_idle_ms, pend, page, &n, err,
                        errlen) < 0)
        return -1;
    *listed = n;
    if (n == 0)
        return 0;
    if (streams_claim(c->redis, b, shard, RSTREAM_GROUP_INGEST, c->consumer, c->claim_idle_ms, pend, n,
                      claimed, err, errlen) < 0)
        return -1;
    size_t taken = 0, others = 0;
    log_reclaimed(c, key, pend, claimed, n);
    for (size_t i = 0; i < n; i++) {
        if (claimed[i]) {
            taken++;
            continue;
        }
        /* Not returned: another worker took it first, or the stream lost it (trimmed). */
        bool exists = true;
        if (streams_exists(c->redis, b, shard, pend[i].id, &exists, err, errlen) < 0)
            return -1;
        if (exists) {
            others++;
        } else if (!batch_add_gone(b, shard, pend[i].id, strlen(pend[i].id))) {
            break; /* cannot happen: the page fits the batch */
        }
    }
    if (others)
        log_debug("%zu pending entries of %s were taken by another worker first", others, key);
    if (taken)
        log_debug("reclaim: %zu entries of %s idle >= %lld ms", taken, key, c->claim_idle_ms);
    return 0;
}
