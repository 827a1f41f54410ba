/*
 * reclaim: finding stream entries left pending (SPEC 7), as pages put into a batch for
 * the ingest worker to store (workers/ingest.c runs the passes and stores each page; the
 * dead-letter rule is in its storing path):
 *  - this consumer's own pending entries (it may have restarted under the same
 *    configured name): XREADGROUP ... <id>, page after page;
 *  - entries nobody has touched for claim_idle_ms (a dead or stopped worker's, or this
 *    worker's own refused ones): XPENDING IDLE, then XCLAIM with the same min idle (so
 *    two workers never both take one); an id the stream no longer holds is put in the
 *    batch as gone (acked and logged by the storing path).
 * Redis only: no PostgreSQL, no waiting, no reconnecting (the caller's).
 */
#ifndef KINERJA_WORKER_RECLAIM_H
#define KINERJA_WORKER_RECLAIM_H

#include "batch.h"

#include "rstream.h"

#include <hiredis/hiredis.h>
#include <stddef.h>

#define RECLAIM_PAGE 100      /* entries per XPENDING / XCLAIM */
#define RECLAIM_PAGES_MAX 100 /* per shard and pass, so a pass always ends */

struct reclaim_ctx {
    struct rlink *redis;
    const char *consumer;    /* this worker's consumer name */
    long long claim_idle_ms; /* worker.claim_idle_ms */
};

/*
 * Fills b (cleared first) with up to page of this consumer's own pending entries of
 * shard after the id in after (start with "0"), which moves to the last one read.
 * Returns the entries read (0: none left), or -1 with the reason in err (Redis).
 */
int reclaim_own_page(const struct reclaim_ctx *c, struct batch *b, unsigned shard,
                     char after[BATCH_STREAM_ID_MAX], size_t page, char *err, size_t errlen);

/*
 * Fills b (cleared first) with one page of shard's idle entries, claimed for this
 * consumer, and those the stream lost. *listed: the entries XPENDING listed (a full
 * page means there may be more). Returns 0, or -1 with the reason in err (Redis).
 */
int reclaim_idle_page(const struct reclaim_ctx *c, struct batch *b, unsigned shard, size_t page,
                      size_t *listed, char *err, size_t errlen);

#endif
