#include "ingest.h"

#include "daemon.h"
#include "log.h"
#include "pgsession.h"
#include "reclaim.h"
#include "rstream.h"
#include "streams.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct ingest {
    struct ingest_config cfg;
    char consumer[INGEST_CONSUMER_MAX];
    struct rlink redis;     /* down (rlink_up false) while disconnected */
    struct pgsession pg;    /* connect with backoff, loss / regain once each, retry pauses */
    struct pgstore *db;     /* pg.db: made by the first connect, reconnected in place, never dropped */
    bool redis_up;          /* as last seen, for lost / regained lines and /healthz */
    bool redis_logged_down; /* the loss was logged (log it once) */
    char redis_err[INGEST_ERR_MAX];
    struct batch batch;
    struct ingest_row *rows;
    size_t *row_entry; /* rows[i] is batch.e[row_entry[i]] */
    struct lasterr errors;
    struct ingest_counts_total total, window; /* window: since the last info line */
    long long window_lag_ms;                  /* most receive -> commit delay in the window */
    long long next_reclaim_ms, next_report_ms, next_touch_ms;
    long long reclaim_every_ms;

    struct metrics *metrics; /* may be NULL */
    struct metric *m_stored, *m_rejected, *m_already, *m_batches, *m_dead, *m_redis_up, *m_pg_up, *m_lag,
        *m_backlog;
    struct metric_histogram *m_commit_seconds; /* NULL without metrics */
};

#define INGEST_RECLAIM_EVERY_MIN_MS 50
#define INGEST_HOSTNAME_MAX 64

/* ---- small helpers ---------------------------------------------------------------- */

static long backoff_next(long ms)
{
    ms *= 2;
    return ms > INGEST_BACKOFF_MAX_MS ? INGEST_BACKOFF_MAX_MS : ms;
}

static void health_update(struct ingest *w)
{
    if (!w->metrics)
        return;
    metric_set(w->m_redis_up, w->redis_up);
    bool pg_up = w->pg.is_up;
    metric_set(w->m_pg_up, pg_up);
    if (pg_up && w->redis_up) {
        metrics_health_set(w->metrics, NULL);
        return;
    }
    char reason[METRICS_REASON_MAX];
    if (!pg_up && !w->redis_up)
        snprintf(reason, sizeof reason, "postgres: %.110s; redis: %.110s", w->pg.err, w->redis_err);
    else if (!pg_up)
        snprintf(reason, sizeof reason, "postgres: %.230s", w->pg.err);
    else
        snprintf(reason, sizeof reason, "redis: %.230s", w->redis_err);
    metrics_health_set(w->metrics, reason);
}

/* libpq's messages end with a newline; the log line should not. */
static void copy_reason(char *out, size_t outlen, const char *why)
{
    snprintf(out, outlen, "%s", why && *why ? why : "unknown error");
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

/* ---- Redis connection ------------------------------------------------------------- */

static void ingest_redis_lost(struct ingest *w, const char *why)
{
    copy_reason(w->redis_err, sizeof w->redis_err, why);
    rlink_close(&w->redis);
    if (w->redis_up || !w->redis_logged_down) {
        log_error("redis %s: %s", w->redis_up ? "lost" : "unavailable", w->redis_err);
        w->redis_logged_down = true;
    } else {
        log_debug("redis still unavailable: %s", w->redis_err);
    }
    w->redis_up = false;
    health_update(w);
}

/* One attempt: connect, make sure the groups exist, widen the timeout for BLOCK. */
static int redis_connect_once(struct ingest *w)
{
    char err[INGEST_ERR_MAX];
    struct rlink *l = &w->redis;
    if (rlink_connect(l, w->cfg.redis_url, w->cfg.redis_cluster, w->cfg.redis_timeout_ms, err, sizeof err) <
        0) {
        ingest_redis_lost(w, err);
        return -1;
    }
    if (rstream_ensure_groups(l, w->cfg.shards, RSTREAM_GROUP_INGEST, err, sizeof err) < 0) {
        ingest_redis_lost(w, err);
        return -1;
    }
    /* XREADGROUP BLOCK waits block_ms before answering: the socket must wait longer (a
     * cluster's reads block STREAMS_CLUSTER_BLOCK_MS at most, within redis.timeout_ms). */
    if (l->c) {
        long long t = (long long)w->cfg.redis_timeout_ms + w->cfg.block_ms;
        struct timeval tv = {(time_t)(t / 1000), (suseconds_t)((t % 1000) * 1000)};
        redisSetTimeout(l->c, tv);
    }
    if (!w->redis_up)
        log_info("redis %s", w->redis_logged_down ? "regained" : "connected");
    w->redis_up = true;
    w->redis_logged_down = false;
    w->redis_err[0] = '\0';
    health_update(w);
    return 0;
}

static int ingest_redis_ready(struct ingest *w)
{
    long backoff = INGEST_BACKOFF_MIN_MS;
    bool first = true;
    while (!rlink_up(&w->redis)) {
        if (daemon_stopping)
            return -1;
        /* after a loss, wait a moment first: a refused command must not spin */
        if (!first || w->redis_logged_down)
            daemon_sleep_ms(backoff);
        first = false;
        if (daemon_stopping)
            return -1;
        if (redis_connect_once(w) < 0)
            backoff = backoff_next(backoff);
    }
    return 0;
}

/* Keeps the entries in hand from looking idle, so no other worker reclaims a batch
 * this one is still trying to store. Best effort: one attempt, no waiting. */
static void touch_in_hand(struct ingest *w)
{
    long long now = daemon_now_ms();
    if (now < w->next_touch_ms)
        return;
    w->next_touch_ms = now + w->cfg.claim_idle_ms / 3;
    if (!rlink_up(&w->redis) && redis_connect_once(w) < 0)
        return;
    char err[STREAMS_ERR_MAX];
    if (streams_touch(&w->redis, &w->batch, RSTREAM_GROUP_INGEST, w->consumer, err, sizeof err) < 0)
        ingest_redis_lost(w, err);
}

/* ---- PostgreSQL connection: common/pgsession ------------------------------------- */

/* pgsession's hooks: /healthz and the gauges say both Redis and PostgreSQL; naps while
 * PostgreSQL is away keep the batch in hand claimed (at most claim_idle_ms / 3 each). */
static void pg_changed(void *arg)
{
    health_update(arg);
}

static void pg_nap(void *arg)
{
    touch_in_hand(arg);
}

/* A statement succeeded: PostgreSQL is fine again (the retry pause starts anew). */
static void pg_regained(struct ingest *w)
{
    pgsession_fine(&w->pg);
}

/* After a transient failure: a lost connection is logged with the error that showed it. */
static void pg_transient(struct ingest *w)
{
    if (!pgstore_ok(w->db))
        pgsession_down(&w->pg, w->db->errstr);
}

/* After a transient failure: waits until PostgreSQL takes commands again, keeping the
 * batch in hand alive meanwhile (pgsession_retry). Returns 0, or -1 when asked to stop
 * (nothing is acked then). */
static int pg_wait(struct ingest *w)
{
    return pgsession_retry(&w->pg);
}

/* ---- storing ---------------------------------------------------------------------- */

static const char *entry_key(const struct ingest *w, const struct batch_entry *e)
{
    return w->batch.keys[e->shard];
}

/* Records e in dead_letters and marks it committed (to ack). Returns -1 when stopping. */
static int dead_letter(struct ingest *w, struct batch_entry *e, const char *error)
{
    int deliveries = e->deliveries > 0 ? e->deliveries : 1;
    for (;;) {
        if (!pgstore_ok(w->db) && pg_wait(w) < 0)
            return -1;
        if (pgstore_dead_letter(w->db, entry_key(w, e), e->stream_id, e->event_id[0] ? e->event_id : NULL,
                                e->raw, e->rawlen, deliveries, error) == 0)
            break;
        if (w->db->transient) {
            pg_transient(w);
            if (pg_wait(w) < 0)
                return -1;
            continue;
        }
        char why[INGEST_ERR_MAX];
        copy_reason(why, sizeof why, w->db->errstr);
        log_error("stream entry %s %s: could not record its dead letter (%s); it stays pending",
                  entry_key(w, e), e->stream_id, why);
        e->state = ENTRY_HELD;
        return 0;
    }
    pg_regained(w);
    e->state = ENTRY_COMMITTED;
    w->total.dead++;
    w->window.dead++;
    if (w->metrics)
        metric_inc(w->m_dead);
    lasterr_forget(&w->errors, e->shard, e->stream_id);
    log_warn("dead letter: stream entry %s %s (event %s) after %d deliveries: %s", entry_key(w, e),
             e->stream_id, e->event_id[0] ? e->event_id : "unknown", deliveries, error);
    return 0;
}

/* An entry PostgreSQL refused on its own: pending until max_deliveries, then dead. */
static int entry_refused(struct ingest *w, struct batch_entry *e, const char *errstr)
{
    char why[INGEST_ERR_MAX];
    copy_reason(why, sizeof why, errstr);
    if (e->deliveries >= w->cfg.max_deliveries)
        return dead_letter(w, e, why);
    lasterr_put(&w->errors, e->shard, e->stream_id, why);
    e->state = ENTRY_HELD;
    log_warn("stream entry %s %s (event %s) not stored: %s; it stays pending (delivery %d of %d)",
             entry_key(w, e), e->stream_id, e->event_id, why, e->deliveries, w->cfg.max_deliveries);
    return 0;
}

static void count_in(struct ingest *w, const struct ingest_counts *c)
{
    w->total.stored += c->stored;
    w->total.rejected += c->rejected;
    w->total.already += c->already;
    w->window.stored += c->stored;
    w->window.rejected += c->rejected;
    w->window.already += c->already;
    if (w->metrics) {
        metric_add(w->m_stored, (long long)c->stored);
        metric_add(w->m_rejected, (long long)c->rejected);
        metric_add(w->m_already, (long long)c->already);
    }
}

static void mark_committed(struct ingest *w, const size_t *idx, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct batch_entry *e = &w->batch.e[idx[k]];
        e->state = ENTRY_COMMITTED;
        if (e->deliveries != 1) /* only redelivered entries can have a remembered error */
            lasterr_forget(&w->errors, e->shard, e->stream_id);
    }
}

static long read_count(const struct ingest *w);

/* One transaction for every READY entry; on a data error, one per entry. The batch is
 * stored as busy (its derivation deferred, schemas/0019) when some shard gave a whole
 * read's count: more entries are likely waiting behind it. */
static int store_rows(struct ingest *w)
{
    struct batch *b = &w->batch;
    size_t n = 0;
    uint32_t per_shard[1024]; /* redis.shards is at most 1024 */
    memset(per_shard, 0, sizeof per_shard);
    bool busy = false;
    long full = read_count(w);
    for (size_t i = 0; i < b->n; i++) {
        unsigned sh = b->e[i].shard;
        if (sh < sizeof per_shard / sizeof per_shard[0] && ++per_shard[sh] >= (uint32_t)full)
            busy = true;
        if (b->e[i].state != ENTRY_READY)
            continue;
        batch_entry_row(b, &b->e[i], &w->rows[n]);
        w->row_entry[n++] = i;
    }
    if (n == 0)
        return 0;
    for (;;) {
        if (!pgstore_ok(w->db) && pg_wait(w) < 0)
            return -1;
        struct ingest_counts c = {0};
        long long t0 = daemon_now_ms();
        if (pgstore_ingest_batch_busy(w->db, w->rows, n, w->cfg.time_zone, busy, &c) == 0) {
            metric_observe(w->m_commit_seconds, (double)(daemon_now_ms() - t0) / 1000.0);
            pg_regained(w);
            mark_committed(w, w->row_entry, n);
            count_in(w, &c);
            return 0;
        }
        if (!w->db->transient)
            break;
        pg_transient(w);
        if (pg_wait(w) < 0)
            return -1;
    }
    char why[INGEST_ERR_MAX];
    copy_reason(why, sizeof why, w->db->errstr);
    if (n > 1)
        log_warn("a batch of %zu entries was refused (%s); storing them one at a time", n, why);
    size_t refused = 0;
    for (size_t k = 0; k < n; k++) {
        struct batch_entry *e = &b->e[w->row_entry[k]];
        for (;;) {
            if (n > 1) {
                if (!pgstore_ok(w->db) && pg_wait(w) < 0)
                    return -1;
                struct ingest_counts c = {0};
                if (pgstore_ingest_batch(w->db, &w->rows[k], 1, w->cfg.time_zone, &c) == 0) {
                    pg_regained(w);
                    mark_committed(w, &w->row_entry[k], 1);
                    count_in(w, &c);
                    break;
                }
                if (w->db->transient) {
                    pg_transient(w);
                    if (pg_wait(w) < 0)
                        return -1;
                    continue;
                }
            }
            refused++;
            if (entry_refused(w, e, w->db->errstr) < 0)
                return -1;
            break;
        }
    }
    if (n > 1 && refused == n)
        log_error(
            "every entry of a batch of %zu was refused on its own (first: %s): if this repeats, suspect the "
            "schema or the configuration (time.zone, migrations, rights) rather than the events",
            n, why);
    return 0;
}

/* Acks every committed (and trimmed) entry; waits for Redis when it is away. */
static int ack_committed(struct ingest *w)
{
    char err[STREAMS_ERR_MAX];
    for (;;) {
        if (ingest_redis_ready(w) < 0)
            return -1;
        if (streams_ack(&w->redis, &w->batch, RSTREAM_GROUP_INGEST, err, sizeof err) == 0)
            return 0;
        ingest_redis_lost(w, err);
    }
}

static int ingest_store_batch(struct ingest *w)
{
    struct batch *b = &w->batch;
    /* A read that found nothing after batches were stored: what busy batches left in
     * derive_queue (schemas/0019) is derived now, a chunk per idle read (the score
     * worker's pass also does). One ingest role per process, so the flag can be static. */
    static bool queue_maybe_left;
    if (b->n == 0) {
        if (queue_maybe_left && pgstore_ok(w->db)) {
            long long derived = 0;
            if (pgstore_derive_queued(w->db, 0, false, 1, &derived) < 0)
                log_warn("deriving queued events: %s (the score worker derives them)", w->db->errstr);
            else if (derived < PGSTORE_DERIVE_CHUNK)
                queue_maybe_left = false;
            if (derived > 0)
                log_debug("derived %lld queued events", derived);
        }
        return 0;
    }
    queue_maybe_left = true;
    long long t0 = daemon_now_ms();
    struct ingest_counts_total before = w->total;

    for (size_t i = 0; i < b->n; i++) {
        struct batch_entry *e = &b->e[i];
        if (e->state == ENTRY_GONE) {
            log_warn("stream entry %s %s is no longer in the stream (trimmed); acknowledging it",
                     entry_key(w, e), e->stream_id);
            w->total.gone++;
        } else if (e->state == ENTRY_UNREADABLE) {
            if (dead_letter(w, e, e->error) < 0)
                return -1;
        } else if (e->state == ENTRY_READY && e->deliveries > 2 * w->cfg.max_deliveries) {
            /* delivered far too often without an answer (a worker dying on it?):
             * do not try again */
            const char *known = lasterr_get(&w->errors, e->shard, e->stream_id);
            char why[INGEST_ERR_MAX];
            if (known)
                snprintf(why, sizeof why, "%s", known);
            else
                snprintf(why, sizeof why, "delivered %d times without being stored", e->deliveries);
            if (dead_letter(w, e, why) < 0)
                return -1;
        }
    }
    if (store_rows(w) < 0)
        return -1;
    if (ack_committed(w) < 0)
        return -1;

    long long now = daemon_wall_ms();
    size_t held = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct batch_entry *e = &b->e[i];
        if (e->state == ENTRY_HELD)
            held++;
        else if (e->state == ENTRY_COMMITTED && e->received_ms > 0 && now - e->received_ms > w->window_lag_ms)
            w->window_lag_ms = now - e->received_ms;
    }
    w->total.batches++;
    w->window.batches++;
    if (w->metrics) {
        metric_inc(w->m_batches);
        metric_set(w->m_lag, w->window_lag_ms);
    }
    log_debug("batch of %zu: stored=%llu rejected=%llu already=%llu dead=%llu held=%zu in %lld ms", b->n,
              w->total.stored - before.stored, w->total.rejected - before.rejected,
              w->total.already - before.already, w->total.dead - before.dead, held, daemon_now_ms() - t0);
    return 0;
}

/* ---- the loop --------------------------------------------------------------------- */

/* Every 10 s when there was traffic: what was stored, and how far behind we are. */
static void report(struct ingest *w, bool final)
{
    long long now = daemon_now_ms();
    if (!final && now < w->next_report_ms)
        return;
    w->next_report_ms = now + INGEST_REPORT_EVERY_MS;
    const struct ingest_counts_total *c = &w->window;
    if (c->batches == 0 && c->dead == 0 && !final)
        return;
    long long backlog = -1;
    if (rlink_up(&w->redis)) {
        char err[STREAMS_ERR_MAX];
        if (streams_backlog(&w->redis, &w->batch, RSTREAM_GROUP_INGEST, &backlog, err, sizeof err) < 0) {
            ingest_redis_lost(w, err);
            backlog = -1;
        }
    }
    if (w->metrics && backlog >= 0)
        metric_set(w->m_backlog, backlog);
    char backlog_s[32];
    if (backlog >= 0)
        snprintf(backlog_s, sizeof backlog_s, "%lld", backlog);
    else
        snprintf(backlog_s, sizeof backlog_s, "unknown");
    if (final)
        log_info("stopping: stored=%llu rejected=%llu already=%llu dead=%llu batches=%llu in total",
                 w->total.stored, w->total.rejected, w->total.already, w->total.dead, w->total.batches);
    else
        log_info(
            "stored=%llu rejected=%llu already=%llu dead=%llu batches=%llu in the last %d s; lag_ms=%lld "
            "backlog=%s",
            c->stored, c->rejected, c->already, c->dead, c->batches, INGEST_REPORT_EVERY_MS / 1000,
            w->window_lag_ms, backlog_s);
    memset(&w->window, 0, sizeof w->window);
    w->window_lag_ms = 0;
}

static long read_count(const struct ingest *w)
{
    long per_shard = (long)(w->batch.cap / w->cfg.shards);
    if (per_shard < 1)
        per_shard = 1;
    return w->cfg.batch < per_shard ? w->cfg.batch : per_shard;
}

/* ---- the reclaim passes: reclaim.c fills a page, stored here ------------------------- */

static struct reclaim_ctx reclaim_ctx_of(const struct ingest *w)
{
    return (struct reclaim_ctx){
        .redis = (struct rlink *)&w->redis, .consumer = w->consumer, .claim_idle_ms = w->cfg.claim_idle_ms};
}

/* At start: this consumer's own pending entries, every shard, page by page. Returns 0,
 * or -1 when asked to stop while waiting. */
static int store_own_pending(struct ingest *w)
{
    struct batch *b = &w->batch;
    char err[STREAMS_ERR_MAX];
    size_t total = 0, page = b->cap < RECLAIM_PAGE ? b->cap : RECLAIM_PAGE;
    for (unsigned shard = 0; shard < w->cfg.shards; shard++) {
        char after[BATCH_STREAM_ID_MAX] = "0";
        for (;;) {
            if (ingest_redis_ready(w) < 0)
                return -1;
            struct reclaim_ctx c = reclaim_ctx_of(w);
            int n = reclaim_own_page(&c, b, shard, after, page, err, sizeof err);
            if (n < 0) {
                ingest_redis_lost(w, err);
                continue;
            }
            if (n == 0)
                break;
            total += (size_t)n;
            if (ingest_store_batch(w) < 0)
                return -1;
        }
    }
    batch_clear(b);
    if (total)
        log_info("stored %zu entries this consumer (%s) had left pending", total, w->consumer);
    return 0;
}

/* Every ~min(claim_idle_ms / 2, 5 s): the idle entries of every shard, a bounded number
 * of pages each. A Redis failure ends the pass (the next tries again). Returns 0, or -1
 * when asked to stop while waiting. */
static int store_idle_entries(struct ingest *w)
{
    char err[STREAMS_ERR_MAX];
    size_t page = w->batch.cap < RECLAIM_PAGE ? w->batch.cap : RECLAIM_PAGE;
    for (unsigned shard = 0; shard < w->cfg.shards; shard++) {
        for (int p = 0; p < RECLAIM_PAGES_MAX; p++) {
            if (daemon_stopping)
                return 0;
            if (ingest_redis_ready(w) < 0)
                return -1;
            struct reclaim_ctx c = reclaim_ctx_of(w);
            size_t listed = 0;
            if (reclaim_idle_page(&c, &w->batch, shard, page, &listed, err, sizeof err) < 0) {
                ingest_redis_lost(w, err);
                batch_clear(&w->batch);
                return 0;
            }
            int rc = listed ? ingest_store_batch(w) : 0;
            batch_clear(&w->batch);
            if (rc < 0)
                return -1;
            if (listed < page)
                break;
        }
    }
    return 0;
}

int ingest_run(struct ingest *w)
{
    char err[INGEST_ERR_MAX], where[512];
    if (rstream_describe_url(w->cfg.redis_url, w->cfg.redis_cluster, where, sizeof where, err, sizeof err) <
        0) {
        log_error("redis.url: %s", err);
        return 1;
    }
    log_info("starting: role ingest, consumer %s, group %s, %u shards, redis %s, batch %ld, "
             "max_deliveries %d, claim_idle_ms %lld, time zone %s",
             w->consumer, RSTREAM_GROUP_INGEST, w->cfg.shards, where, w->cfg.batch, w->cfg.max_deliveries,
             w->cfg.claim_idle_ms, w->cfg.time_zone);

    pgsession_try(&w->pg); /* "connected" or "unavailable": pg_wait retries */
    w->db = w->pg.db;
    if (!w->db) {
        log_error("out of memory");
        return 1;
    }

    long long now = daemon_now_ms();
    w->next_report_ms = now + INGEST_REPORT_EVERY_MS;
    w->next_reclaim_ms = now; /* the first pass right away: a dead worker's entries */

    if (ingest_redis_ready(w) < 0 || store_own_pending(w) < 0)
        goto stop;
    batch_clear(&w->batch);

    long count = read_count(w);
    while (!daemon_stopping) {
        if (daemon_reload_requested) {
            daemon_reload_requested = 0;
            if (w->cfg.reload)
                w->cfg.reload(w->cfg.reload_arg);
        }
        /* read nothing while PostgreSQL is away: it would only be held */
        if (!pgstore_ok(w->db) && pg_wait(w) < 0)
            break;
        if (ingest_redis_ready(w) < 0)
            break;
        now = daemon_now_ms();
        if (now >= w->next_reclaim_ms) {
            int rc = store_idle_entries(w);
            batch_clear(&w->batch);
            if (rc < 0)
                break;
            now = daemon_now_ms();
            w->next_reclaim_ms = now + w->reclaim_every_ms;
        }
        report(w, false);
        if (!rlink_up(&w->redis))
            continue;

        long block = w->cfg.block_ms;
        if (block > w->next_reclaim_ms - now)
            block = (long)(w->next_reclaim_ms - now);
        if (block < 1)
            block = 1;
        size_t got = 0;
        if (streams_read(&w->redis, &w->batch, RSTREAM_GROUP_INGEST, w->consumer, 0, w->cfg.shards, NULL,
                         count, block, 1, &got, err, sizeof err) < 0) {
            ingest_redis_lost(w, err);
            batch_clear(&w->batch); /* what was read stays pending: reclaimed later */
            continue;
        }
        int rc = ingest_store_batch(w);
        batch_clear(&w->batch);
        if (rc < 0)
            break;
    }
stop:
    report(w, true);
    return 0;
}

/* ---- life cycle ------------------------------------------------------------------- */

static int consumer_name(struct ingest *w)
{
    if (w->cfg.consumer && *w->cfg.consumer) {
        if (strlen(w->cfg.consumer) >= sizeof w->consumer)
            return -1;
        snprintf(w->consumer, sizeof w->consumer, "%s", w->cfg.consumer);
        return 0;
    }
    char host[INGEST_HOSTNAME_MAX + 1] = "";
    if (gethostname(host, sizeof host - 1) < 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    host[INGEST_HOSTNAME_MAX] = '\0';
    snprintf(w->consumer, sizeof w->consumer, "%s-ingest-%ld", host, (long)getpid());
    return 0;
}

static void register_metrics(struct ingest *w, struct metrics *m)
{
    w->metrics = m;
    if (!m)
        return;
    const char *events_help = "stream entries stored, by result (already = stored before: a redelivery)";
    w->m_stored = metrics_counter(m, "kinerja_ingest_events_total", "result=\"stored\"", events_help);
    w->m_rejected = metrics_counter(m, "kinerja_ingest_events_total", "result=\"rejected\"", events_help);
    w->m_already = metrics_counter(m, "kinerja_ingest_events_total", "result=\"already\"", events_help);
    w->m_batches =
        metrics_counter(m, "kinerja_ingest_batches_total", NULL, "batches committed to PostgreSQL");
    w->m_dead =
        metrics_counter(m, "kinerja_ingest_dead_letters_total", NULL, "stream entries sent to dead_letters");
    w->m_redis_up = metrics_gauge(m, "kinerja_ingest_redis_up", NULL, "1 when Redis is reachable");
    w->m_pg_up = metrics_gauge(m, "kinerja_ingest_postgres_up", NULL, "1 when PostgreSQL is reachable");
    w->m_lag = metrics_gauge(m, "kinerja_ingest_lag_ms", NULL,
                             "largest broker receive to commit delay in the current 10 s window");
    w->m_backlog = metrics_gauge(m, "kinerja_ingest_backlog", NULL,
                                 "stream entries not yet delivered to the ingest group (at the last report)");
    static const double commit_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    w->m_commit_seconds = metrics_histogram(m, "kinerja_ingest_batch_commit_seconds", NULL,
                                            "one batch: COPY into staging, the merge and COMMIT",
                                            commit_buckets, sizeof commit_buckets / sizeof commit_buckets[0]);
}

struct ingest *ingest_new(const struct ingest_config *cfg, struct metrics *m)
{
    struct ingest *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cfg = *cfg;
    if (consumer_name(w) < 0) {
        log_error("worker.consumer: longer than %d bytes", INGEST_CONSUMER_MAX - 1);
        free(w);
        return NULL;
    }
    size_t cap = (size_t)cfg->batch * cfg->shards;
    if (cap > INGEST_READ_MAX)
        cap = INGEST_READ_MAX;
    if (cap < RECLAIM_PAGE)
        cap = RECLAIM_PAGE;
    w->rows = calloc(cap, sizeof *w->rows);
    w->row_entry = calloc(cap, sizeof *w->row_entry);
    if (!w->rows || !w->row_entry || batch_init(&w->batch, cap, cfg->shards, cfg->max_depth) < 0 ||
        lasterr_init(&w->errors, LASTERR_CAPACITY) < 0) {
        ingest_destroy(&w);
        return NULL;
    }
    w->batch.max_future_s = cfg->max_future_s;
    w->batch.max_age_s = cfg->max_age_s;
    long nap_max = (long)(cfg->claim_idle_ms / 3);
    pgsession_init(&w->pg, cfg->postgres_dsn, NULL, NULL, NULL);
    w->pg.nap_max_ms = nap_max < INGEST_BACKOFF_MIN_MS ? INGEST_BACKOFF_MIN_MS : nap_max;
    w->pg.on_nap = pg_nap;
    w->pg.on_change = pg_changed;
    w->pg.arg = w;
    w->reclaim_every_ms = cfg->claim_idle_ms / 2;
    if (w->reclaim_every_ms > INGEST_RECLAIM_EVERY_MAX_MS)
        w->reclaim_every_ms = INGEST_RECLAIM_EVERY_MAX_MS;
    if (w->reclaim_every_ms < INGEST_RECLAIM_EVERY_MIN_MS)
        w->reclaim_every_ms = INGEST_RECLAIM_EVERY_MIN_MS;
    snprintf(w->redis_err, sizeof w->redis_err, "not connected yet");
    register_metrics(w, m);
    health_update(w);
    return w;
}

void ingest_destroy(struct ingest **pw)
{
    struct ingest *w = *pw;
    if (!w)
        return;
    rlink_close(&w->redis);
    pgsession_close(&w->pg);
    batch_free(&w->batch);
    lasterr_free(&w->errors);
    free(w->rows);
    free(w->row_entry);
    free(w);
    *pw = NULL;
}
