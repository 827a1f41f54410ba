/*
 * score: the score role of kinerja-worker (SPEC 5, 7). Keeps results current: the
 * ingest transaction derives ratings, work results and citizen feedback and bumps the
 * period's generation (schemas/0002_scoring.sql); this role recomputes every period
 * whose generation is ahead of the one it last computed, and writes a new score
 * version for each result whose output changed (and only those).
 *
 * Why a whole period at a time: rater effects are estimated jointly over all of a
 * period's evaluations (SPEC 5.3), so one new rating can move every offset, and the
 * credibility targets are unit means. Recomputing the period from its derived tables
 * is what makes the incremental path and a full recalculation give byte-identical
 * results; versions are still written only where the output changed (a digest of the
 * result JSON is kept per result). A period is recomputed once for any number of
 * changes that arrive while the previous computation runs.
 *
 * Concurrency: a session advisory lock per period, so several score workers share the
 * periods and never compute one at the same time. Frozen results (approved, appealed,
 * final) are never changed. `recalc` requests rebuild the derived tables of their
 * scope from the event log first (kinerja_rebuild).
 *
 * Woken by NOTIFY kinerja_score (sent by the ingest trigger), or every poll interval.
 * Called by workers/main.c.
 */
#ifndef KINERJA_WORKER_SCORER_H
#define KINERJA_WORKER_SCORER_H

#include "metrics.h"
#include "score.h"

#define SCORER_POLL_MS 2000
#define SCORER_BACKOFF_MAX_MS 5000

struct scorer_config {
    const char *postgres_dsn;
    struct score_params params;
    int settle_ms;             /* score.settle_ms: compute a period once quiet this long ... */
    int settle_max_ms;         /* score.settle_max_ms: ... or once dirty this long */
    int threads;               /* score.threads resolved: threads that compute a period's results */
    int signoff_split_min;     /* score.signoff_split_min: results from which a period's sign-off
                                  requests are made in `threads` parts after the commit (0: never) */
    int work_mem_mb;           /* score.work_mem_mb: work_mem of every session of the worker (0: the
                                  server's) */
    void (*reload)(void *arg); /* SIGHUP */
    void *reload_arg;
};

struct scorer;

struct scorer *scorer_new(const struct scorer_config *cfg, struct metrics *m);
/* Runs until SIGTERM; returns the exit code (0). */
int scorer_run(struct scorer *s);
void scorer_destroy(struct scorer **s);

#endif
