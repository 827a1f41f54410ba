/*
 * reclaim: stream entries left pending, and the dead-letter rule (SPEC 7).
 *  - At start, this consumer's own pending entries (it may have restarted under the
 *    same configured name) are read again (XREADGROUP ... 0) and stored.
 *  - Every ~min(claim_idle_ms / 2, 5 s), per shard, XPENDING ... IDLE claim_idle_ms
 *    finds entries nobody has touched for that long (a dead or stopped worker's, or
 *    this worker's own refused ones), XCLAIM takes them (min idle = claim_idle_ms, so
 *    two workers never both take one) and they are stored like a read batch. An entry
 *    refused again once delivered worker.max_deliveries times goes to dead_letters with
 *    its last error, then is acked. An id the stream no longer holds is acked and logged.
 *
 * Called by workers/ingest.c between batches.
 */
#ifndef KINERJA_WORKER_RECLAIM_H
#define KINERJA_WORKER_RECLAIM_H

#include "ingest.h"

#define RECLAIM_PAGE 100      /* entries per XPENDING / XCLAIM */
#define RECLAIM_PAGES_MAX 100 /* per shard and pass, so a pass always ends */

/* Both return 0, or -1 when asked to stop while waiting for PostgreSQL or Redis. */
int reclaim_own_pending(struct ingest *w);
int reclaim_idle_entries(struct ingest *w);

#endif
