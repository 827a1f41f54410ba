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
 * Called by workers/main.c; workers/reclaim.c finds the pending entries it stores.
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
    bool redis_cluster; /* redis.cluster */
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

struct ingest; /* opaque: workers/ingest.c */

/* Prepares a worker (no I/O); registers its metrics in m (may be NULL) so the caller
 * can start the metrics server next. NULL when out of memory. */
struct ingest *ingest_new(const struct ingest_config *cfg, struct metrics *m);
void ingest_destroy(struct ingest **w);

/* Runs until SIGTERM/SIGINT (daemon_stopping). Returns the exit code: 0 after a
 * clean stop, 1 when it could not start. */
int ingest_run(struct ingest *w);

#endif
