/*
 * ingest: the ingest role of kinerja-worker (SPEC 2, 7; docs/DESIGN.md). Reads the
 * event stream shards as a member of the consumer group kinerja-ingest, decodes each
 * entry again, stores a whole read in one PostgreSQL transaction
 * (pgstore_ingest_batch) and acknowledges the entries in Redis only after COMMIT.
 *
 * Failures, and what happens:
 *  - PostgreSQL down or a transient error: the batch stays in hand (its entries kept
 *    from looking idle to other workers), reconnect with backoff, retry the same batch;
 *    nothing more is read meanwhile. SIGTERM while waiting: exit without acking.
 *  - The data refused: every entry of the batch alone, so one poison entry cannot
 *    block the rest; an entry still refused stays pending with its error remembered,
 *    until reclaim (workers/reclaim.c) dead-letters it after worker.max_deliveries.
 *  - An entry whose event id cannot be read: dead_letters at once, then acked.
 *  - Redis down: reconnect with backoff; acks not sent are sent after reconnecting.
 *
 * Called by workers/main.c; workers/reclaim.c shares the storing path.
 */
#ifndef KINERJA_WORKER_INGEST_H
#define KINERJA_WORKER_INGEST_H

#include "batch.h"
#include "lasterr.h"
#include "metrics.h"
#include "pgstore.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#define INGEST_CONSUMER_MAX 128
#define INGEST_ERR_MAX 512
#define INGEST_BACKOFF_MIN_MS 100
#define INGEST_BACKOFF_MAX_MS 5000
#define INGEST_REPORT_EVERY_MS 10000
#define INGEST_RECLAIM_EVERY_MAX_MS 5000
#define INGEST_READ_MAX 16384 /* most entries held from one read (COUNT applies per shard) */

/* What the ingest role needs from the settings; strings must outlive the worker. */
struct ingest_config {
    const char *redis_url;
    int redis_timeout_ms;
    unsigned shards;
    const char *postgres_dsn;
    long batch; /* worker.batch: COUNT per shard of one read */
    long block_ms;
    int max_deliveries;
    long long claim_idle_ms;
    const char *consumer; /* worker.consumer; "" = <hostname>-ingest-<pid> */
    const char *time_zone;
    size_t max_depth;          /* intake.max_depth */
    int64_t max_future_s;      /* intake.max_future_s */
    int64_t max_age_s;         /* intake.max_age_s */
    void (*reload)(void *arg); /* SIGHUP: reload what can be reloaded (log level) */
    void *reload_arg;
};

struct ingest_counts_total {
    unsigned long long stored, rejected, already, dead, batches, gone;
};

struct ingest {
    struct ingest_config cfg;
    char consumer[INGEST_CONSUMER_MAX];
    redisContext *redis; /* NULL while disconnected */
    struct pgstore *db;
    bool redis_up, pg_up;                   /* as last seen, for lost / regained lines and /healthz */
    bool redis_logged_down, pg_logged_down; /* the loss was logged (log it once) */
    char redis_err[INGEST_ERR_MAX], pg_err[INGEST_ERR_MAX];
    struct batch batch;
    struct ingest_row *rows;
    size_t *row_entry; /* rows[i] is batch.e[row_entry[i]] */
    struct lasterr errors;
    struct ingest_counts_total total, window; /* window: since the last info line */
    long long window_lag_ms;                  /* most receive -> commit delay in the window */
    long long next_reclaim_ms, next_report_ms, next_touch_ms;
    long long reclaim_every_ms;
    long pg_retry_ms; /* pause before retrying on a usable connection */

    struct metrics *metrics; /* may be NULL */
    struct metric *m_stored, *m_rejected, *m_already, *m_batches, *m_dead, *m_redis_up, *m_pg_up, *m_lag,
        *m_backlog;
    struct metric_histogram *m_commit_seconds; /* NULL without metrics */
};

/* Prepares a worker (no I/O); registers its metrics in m (may be NULL) so the caller
 * can start the metrics server next. NULL when out of memory. */
struct ingest *ingest_new(const struct ingest_config *cfg, struct metrics *m);
void ingest_destroy(struct ingest **w);

/* Runs until SIGTERM/SIGINT (daemon_stopping). Returns the exit code: 0 after a
 * clean stop, 1 when it could not start. */
int ingest_run(struct ingest *w);

/* Shared with workers/reclaim.c. ----------------------------------------------------- */

/* Connected to Redis (reconnecting with backoff when not), or -1 when stopping. */
int ingest_redis_ready(struct ingest *w);
/* Logs the loss once, drops the connection. */
void ingest_redis_lost(struct ingest *w, const char *why);

/*
 * Stores every entry of w->batch (see the top of this file), acks what committed, and
 * leaves the rest pending. Returns 0 when done, -1 when asked to stop while waiting for
 * PostgreSQL or Redis (then nothing uncommitted was acked).
 */
int ingest_store_batch(struct ingest *w);

/* Sleeps ms milliseconds or until a signal arrives. */
void ingest_sleep_ms(long ms);

#endif
