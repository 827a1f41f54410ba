#include "scorer.h"

#include "daemon.h"
#include "log.h"
#include "pgsession.h"
#include "pgstore.h"
#include "score_store.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#define SCORER_PERIODS_PER_PASS 50
#define SCORER_LOCK_CLASS 4242 /* pg advisory lock namespace: (class, hashtext(period)) */
#define SCORER_ERR_MAX 512
#define SCORER_TIMING_LOG_MS 1000   /* a computation this long logs where its time went */
#define SCORER_FAILING_TRIES 3      /* /healthz is 503 once a period failed this many times in a row */
#define SCORER_FAILING_MAX 16       /* periods tracked as failing */
#define EVENT_BEHAVIOUR_VALUE_MAX 5 /* evaluation behaviour values (common/event.c) */
#define EVENT_RATING_VALUE_MAX 4    /* smiley press and SKM answers (common/event.c) */

/* A period whose computation keeps failing (for /healthz). */
struct failing {
    char period[8];
    int tries;
    char err[160];
};

struct store_slot {
    bool made;   /* json and digest hold this employee's result */
    int json_rc; /* < 0: the JSON passed SCORE_JSON_MAX */
    struct buf json;
    char digest[SCORE_STORE_DIGEST_HEX];
};

struct scorer {
    struct scorer_config cfg;
    struct pgsession pg; /* connect with backoff, LISTEN kinerja_score, NOTIFY waits */
    struct score_writer writer;
    struct metrics *m;
    struct metric *m_periods, *m_versions, *m_results, *m_recalcs, *m_errors, *m_last_ms, *m_pg_up;
    struct metric_histogram *m_compute_seconds;
    struct metric *m_quarantined, *m_failing;
    /* one per employee of a round (SCORE_PARALLEL_BLOCK): its result's JSON and digest,
     * made on the thread that computed it */
    struct store_slot *slots;
    struct buf signoff; /* the sign-off facts of the result being stored */
    struct failing failing[SCORER_FAILING_MAX];
    size_t n_failing;
    /* the split sign-off's connections for parts 1.. (part 0 is pg's), made when first
     * needed (split_signoff) */
    struct pgstore *part_db[SCORE_STORE_PARTS_MAX];
    bool part_down;       /* a part's connection failed: said once, until one works again */
    char session_sql[64]; /* SET work_mem of every session (score.work_mem_mb), or "" */
};

struct scorer *scorer_new(const struct scorer_config *cfg, struct metrics *m)
{
    if (sodium_init() < 0) {
        log_error("libsodium failed to start");
        return NULL;
    }
    struct scorer *s = calloc(1, sizeof *s);
    if (!s) {
        log_error("out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->m = m;
    s->m_periods = metrics_counter(m, "kinerja_score_periods_total", NULL, "period computations");
    s->m_results = metrics_counter(m, "kinerja_score_results_total", NULL, "results computed");
    s->m_versions = metrics_counter(m, "kinerja_score_versions_total", NULL, "score versions written");
    s->m_recalcs = metrics_counter(m, "kinerja_score_recalcs_total", NULL, "recalc requests carried out");
    s->m_errors = metrics_counter(m, "kinerja_score_errors_total", NULL, "failed period computations");
    s->m_last_ms = metrics_gauge(m, "kinerja_score_last_period_ms", NULL, "duration of the last computation");
    s->m_pg_up = metrics_gauge(m, "kinerja_score_postgres_up", NULL, "1 when PostgreSQL is reachable");
    pgsession_init(&s->pg, s->cfg.postgres_dsn, "kinerja_score", m, s->m_pg_up);
    /* A whole period in one statement (the rebuild's check of every rating against the
     * log, its sorts, the sign-off requests) spills to disk in batches under the server's
     * default work_mem (4 MB); score.work_mem_mb, when set, is the worker's sessions'. */
    if (s->cfg.work_mem_mb > 0) {
        snprintf(s->session_sql, sizeof s->session_sql, "SET work_mem = '%dMB'", s->cfg.work_mem_mb);
        s->pg.setup = s->session_sql;
    }
    static const double compute_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                             5,    10,   30,  60,   120, 300, 600};
    s->m_compute_seconds =
        metrics_histogram(m, "kinerja_score_period_seconds", NULL,
                          "one period's computation: load, score, store (the workflow hook included)",
                          compute_buckets, sizeof compute_buckets / sizeof compute_buckets[0]);
    s->m_quarantined = metrics_gauge(m, "kinerja_score_quarantined", NULL,
                                     "results set aside because they cannot be computed or stored");
    s->m_failing = metrics_gauge(m, "kinerja_score_failing_periods", NULL,
                                 "periods whose computation failed on their last tries");
    s->slots = calloc(SCORE_PARALLEL_BLOCK, sizeof *s->slots);
    if (!s->slots) {
        log_error("out of memory");
        free(s);
        return NULL;
    }
    for (size_t k = 0; k < SCORE_PARALLEL_BLOCK; k++)
        buf_init(&s->slots[k].json, SCORE_JSON_MAX);
    buf_init(&s->signoff, SCORE_JSON_MAX);
    return s;
}

void scorer_destroy(struct scorer **ps)
{
    struct scorer *s = *ps;
    if (!s)
        return;
    pgsession_close(&s->pg);
    for (size_t k = 0; k < SCORE_STORE_PARTS_MAX; k++)
        pgstore_destroy(&s->part_db[k]);
    for (size_t k = 0; k < SCORE_PARALLEL_BLOCK; k++)
        buf_free(&s->slots[k].json);
    free(s->slots);
    buf_free(&s->signoff);
    free(s);
    *ps = NULL;
}

/* /healthz: 503 naming the first period that failed SCORER_FAILING_TRIES times in a
 * row, else 200. PostgreSQL being down is reported by pg_down instead. */
static void health_refresh(struct scorer *s)
{
    size_t bad = 0;
    const struct failing *first = NULL;
    for (size_t i = 0; i < s->n_failing; i++)
        if (s->failing[i].tries >= SCORER_FAILING_TRIES) {
            bad++;
            if (!first)
                first = &s->failing[i];
        }
    metric_set(s->m_failing, (long long)bad);
    if (!first) {
        metrics_health_set(s->m, NULL);
        return;
    }
    char why[METRICS_REASON_MAX];
    snprintf(why, sizeof why, "score: period %s failed %d times in a row%s: %s", first->period, first->tries,
             bad > 1 ? " (and other periods)" : "", first->err);
    metrics_health_set(s->m, why);
}

/* Counts a failed (err) or successful (err NULL) computation of period. */
static void period_outcome(struct scorer *s, const char *period, const char *err)
{
    size_t i = 0;
    while (i < s->n_failing && strcmp(s->failing[i].period, period) != 0)
        i++;
    if (!err) {
        if (i < s->n_failing)
            s->failing[i] = s->failing[--s->n_failing];
    } else {
        if (i == s->n_failing) {
            if (s->n_failing == SCORER_FAILING_MAX)
                i = SCORER_FAILING_MAX - 1; /* full: the newest failure takes the last slot */
            else
                s->n_failing++;
            memset(&s->failing[i], 0, sizeof s->failing[i]);
            snprintf(s->failing[i].period, sizeof s->failing[i].period, "%s", period);
        }
        s->failing[i].tries++;
        snprintf(s->failing[i].err, sizeof s->failing[i].err, "%.150s", err);
    }
    health_refresh(s);
}

/* Forgets the failing periods that are no longer behind (rows: every period behind,
 * in column 0): another score worker computed them, so they fail no more. */
static void forget_computed(struct scorer *s, const PGresult *rows)
{
    size_t before = s->n_failing;
    for (size_t i = 0; i < s->n_failing;) {
        bool behind = false;
        for (int k = 0; k < PQntuples(rows) && !behind; k++)
            behind = strcmp(PQgetvalue(rows, k, 0), s->failing[i].period) == 0;
        if (behind)
            i++;
        else
            s->failing[i] = s->failing[--s->n_failing];
    }
    if (s->n_failing != before)
        health_refresh(s);
}

/* The session, and what the scorer keeps beside it: the writer's connection and its
 * own health (periods failing). */
static int pg_ready(struct scorer *s)
{
    if (pgsession_ready(&s->pg) < 0)
        return -1;
    s->writer.conn = s->pg.db->conn;
    health_refresh(s);
    return 0;
}

/* ---- one period ------------------------------------------------------------------ */

struct period_run {
    struct scorer *s;
    struct period_data *d;
    char (*inputs)[SCOREVERSION_DIGEST_HEX]; /* per person: the digest of their own inputs */
    size_t computed, changed, drift;
    struct score_quarantine *q; /* results set aside */
    size_t n_q, cap_q;
    bool *quarantined; /* by person index */
    char err[SCORER_ERR_MAX];
};

/* Sets the result of key (a NIP, or "unit:CODE") aside with the reason (the first
 * reason wins). */
static int quarantine_key(struct period_run *pr, const char *key, const char *why)
{
    for (size_t i = 0; i < pr->n_q; i++)
        if (!strcmp(pr->q[i].key, key))
            return 0;
    if (pr->n_q == pr->cap_q) {
        size_t cap = pr->cap_q ? pr->cap_q * 2 : 8;
        struct score_quarantine *q = realloc(pr->q, cap * sizeof *q);
        if (!q) {
            snprintf(pr->err, sizeof pr->err, "out of memory");
            return -1;
        }
        pr->q = q;
        pr->cap_q = cap;
    }
    struct score_quarantine *q = &pr->q[pr->n_q++];
    snprintf(q->key, sizeof q->key, "%s", key);
    snprintf(q->error, sizeof q->error, "%s", why);
    log_warn("period %s: result of %s set aside: %s", pr->d->period, q->key, q->error);
    return 0;
}

/* Sets person e's result aside with the reason. */
static int quarantine(struct period_run *pr, size_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int quarantine(struct period_run *pr, size_t e, const char *fmt, ...)
{
    if (pr->quarantined[e])
        return 0;
    char nip[EVENT_NIP_LEN + 1], why[SCORE_STORE_QERR_MAX];
    score_store_nip(pr->d, e, nip);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    pr->quarantined[e] = true;
    return quarantine_key(pr, nip, why);
}

/* The worker's own check of the stored inputs (rows written before the broker bounded
 * every number, or straight into the tables): a work result with a number outside the
 * event bounds (common/event.h), an evaluation value outside 0..5, a feedback answer
 * outside 1..4 sets the result it feeds aside with the reason (the employee's; a unit's
 * for feedback about no one: key "unit:CODE"), and the row leaves the period's input,
 * so nothing a stored row holds can make the period fail. */
static int screen_inputs(struct period_run *pr)
{
    struct period_data *d = pr->d;
    for (size_t i = 0; i < d->n_ind; i++) {
        const struct score_indicator *x = &d->ind[i];
        const char *field = NULL, *range = NULL;
        double v = 0;
        if (!(isfinite(x->target) && x->target > 0 && x->target <= EVENT_TARGET_MAX))
            field = "target", range = "(0, 1000000000]", v = x->target;
        else if (!(isfinite(x->realization) && x->realization >= 0 && x->realization <= EVENT_TARGET_MAX))
            field = "realization", range = "[0, 1000000000]", v = x->realization;
        else if (!(isfinite(x->weight) && x->weight > 0 && x->weight <= EVENT_WEIGHT_MAX))
            field = "weight", range = "(0, 1000]", v = x->weight;
        if (field &&
            quarantine(pr, (size_t)d->ind_emp[i], "work_result %s: %s must be a number in %s, got %g",
                       x->code, field, range, v) < 0)
            return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < d->n_ind; i++) {
        if (pr->quarantined[d->ind_emp[i]])
            continue;
        if (k != i) {
            d->ind[k] = d->ind[i];
            d->ind_emp[k] = d->ind_emp[i];
        }
        k++;
    }
    d->n_ind = k;

    /* evaluations: every value 0..5 (0 = not rated), as the broker checks 1..5 */
    k = 0;
    for (size_t i = 0; i < d->n_evs; i++) {
        const struct score_evaluation *x = &d->evs[i];
        int bad = -1;
        for (int j = 0; j < SCORE_VALUES && bad < 0; j++)
            if (x->values[j] > EVENT_BEHAVIOUR_VALUE_MAX)
                bad = j;
        if (bad >= 0) {
            if (quarantine(pr, (size_t)x->ratee, "evaluation: behaviour.%s must be an integer 1..5, got %d",
                           event_behaviour_keys[bad], x->values[bad]) < 0)
                return -1;
            continue; /* leaves the input: it would fail the period's rater model */
        }
        if (k != i)
            d->evs[k] = *x;
        k++;
    }
    d->n_evs = k;

    /* feedback: a press 1..4, or all nine SKM answers 1..4 */
    k = 0;
    for (size_t i = 0; i < d->n_fb; i++) {
        const struct ikm_feedback *x = &d->fb[i];
        char why[SCORE_STORE_QERR_MAX];
        why[0] = '\0';
        if (x->rating && x->rating > EVENT_RATING_VALUE_MAX)
            snprintf(why, sizeof why, "feedback %s: rating must be an integer 1..4, got %d", d->fb_event[i],
                     x->rating);
        for (int j = 0; !x->rating && j < IKM_ELEMENTS && !why[0]; j++)
            if (x->skm[j] < 1 || x->skm[j] > EVENT_RATING_VALUE_MAX)
                snprintf(why, sizeof why, "feedback %s: skm.u%d must be an integer 1..4, got %d",
                         d->fb_event[i], j + 1, x->skm[j]);
        if (why[0]) {
            int rc;
            if (x->employee != IKM_NO_EMPLOYEE) {
                rc = quarantine(pr, (size_t)x->employee, "%s", why);
            } else {
                char key[SCORE_STORE_QKEY_MAX];
                snprintf(key, sizeof key, "unit:%.64s", d->unit_code[d->fb_unit[i]]);
                rc = quarantine_key(pr, key, why);
            }
            if (rc < 0)
                return -1;
            continue;
        }
        if (k != i) { /* never copy onto itself (memcpy's arguments must not overlap) */
            d->fb[k] = *x;
            d->fb_unit[k] = d->fb_unit[i];
            memcpy(d->fb_event[k], d->fb_event[i], SCORE_STORE_UUID_LEN);
            d->fb_repeat[k] = d->fb_repeat[i];
        }
        k++;
    }
    d->n_fb = k;
    return 0;
}

/* Every number a stored result carries is finite and in range; else the reason. */
static const char *result_unstorable(const struct score_result *r, char *why, size_t len)
{
    if (r->has_score && !(isfinite(r->score) && r->score >= 0 && r->score <= 100))
        snprintf(why, len, "score: must be a finite number in [0, 100], got %g", r->score);
    else if (r->has_achievement && !(isfinite(r->achievement) && isfinite(r->score_achievement)))
        snprintf(why, len, "hasil_kerja.achievement: not a finite number (%g)", r->achievement);
    else if (r->has_perilaku && !isfinite(r->perilaku))
        snprintf(why, len, "perilaku.value: not a finite number (%g)", r->perilaku);
    else
        return NULL;
    return why;
}

/* Stable counting sort of 0..n-1 by key[i] in 0..nkeys-1: start[k]..start[k+1] index
 * order[] for key k. start has nkeys + 1 entries. Returns 0, or -1 out of memory. */
static int bucket_by(const int32_t *key, size_t stride, size_t n, size_t nkeys, size_t *order, size_t *start)
{
    size_t *fill = malloc((nkeys ? nkeys : 1) * sizeof *fill);
    if (!fill)
        return -1;
    memset(start, 0, (nkeys + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[*(const int32_t *)((const char *)key + i * stride) + 1]++;
    for (size_t k = 0; k < nkeys; k++)
        start[k + 1] += start[k];
    memcpy(fill, start, nkeys * sizeof *fill);
    for (size_t i = 0; i < n; i++)
        order[fill[*(const int32_t *)((const char *)key + i * stride)]++] = i;
    free(fill);
    return 0;
}

/* Per person, the digest of the inputs that are theirs alone (SPEC 5.7): evaluations
 * about them and their work results, hashed in canonical order
 * (scoreversion_inputs_digest). Returns the array, or NULL when out of memory. */
static char (*inputs_digests(const struct period_data *d))[SCOREVERSION_DIGEST_HEX]
{
    size_t np = d->n_people;
    char(*out)[SCOREVERSION_DIGEST_HEX] = calloc(np ? np : 1, sizeof *out);
    size_t *ev_start = malloc((np + 1) * sizeof *ev_start), *ind_start = malloc((np + 1) * sizeof *ind_start);
    size_t *ev_order = malloc((d->n_evs ? d->n_evs : 1) * sizeof *ev_order);
    size_t *ind_order = malloc((d->n_ind ? d->n_ind : 1) * sizeof *ind_order);
    struct scoreversion_rating *rt = malloc((d->n_evs ? d->n_evs : 1) * sizeof *rt);
    struct score_indicator *ind = malloc((d->n_ind ? d->n_ind : 1) * sizeof *ind);
    bool ok = out && ev_start && ind_start && ev_order && ind_order && rt && ind &&
              bucket_by(d->n_evs ? &d->evs[0].ratee : NULL, sizeof *d->evs, d->n_evs, np, ev_order,
                        ev_start) == 0 &&
              bucket_by(d->ind_emp, sizeof *d->ind_emp, d->n_ind, np, ind_order, ind_start) == 0;
    for (size_t e = 0; ok && e < np; e++) {
        if (!d->has_data[e])
            continue;
        size_t nr = 0, ni = 0;
        for (size_t k = ev_start[e]; k < ev_start[e + 1]; k++) {
            const struct score_evaluation *ev = &d->evs[ev_order[k]];
            struct scoreversion_rating *x = &rt[nr++];
            x->rater = d->nip[ev->rater];
            x->relation = ev->relation;
            memcpy(x->values, ev->values, SCORE_VALUES);
            x->hasil_kerja = ev->hasil_kerja;
        }
        for (size_t k = ind_start[e]; k < ind_start[e + 1]; k++)
            ind[ni++] = d->ind[ind_order[k]];
        if (scoreversion_inputs_digest(rt, nr, ind, ni, out[e]) < 0)
            ok = false;
    }
    free(ev_start);
    free(ind_start);
    free(ev_order);
    free(ind_order);
    free(rt);
    free(ind);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

/* Whether employee e's result is one to store at all. has_data and state are fixed
 * during the run; quarantined changes only in store_result, while no round is being
 * computed. */
static bool storable(const struct period_run *pr, size_t e)
{
    const struct period_data *d = pr->d;
    return d->has_data[e] && d->state[e] != STORED_FROZEN && !pr->quarantined[e];
}

/* On the thread that computed r: its JSON and digest into the slot (the costly part of
 * storing: half the score worker's time). Reads only the run's fixed data. */
static void prepare_result(size_t e, const struct score_result *r, void *slot, void *ctx)
{
    const struct period_run *pr = ctx;
    struct store_slot *sl = slot;
    sl->made = false;
    if (!storable(pr, e))
        return;
    buf_reset(&sl->json);
    sl->json_rc =
        (buf_putc(&sl->json, '{') < 0 || score_result_json_fields(&pr->s->cfg.params, r, &sl->json) < 0 ||
         buf_putc(&sl->json, '}') < 0)
            ? -1
            : 0;
    if (sl->json_rc == 0) {
        unsigned char h[16];
        crypto_generichash(h, sizeof h, (const unsigned char *)sl->json.data, sl->json.len, NULL, 0);
        sodium_bin2hex(sl->digest, sizeof sl->digest, h, sizeof h);
    }
    sl->made = true;
}

/* On the caller's thread, in employee order: the version decision and the row. */
static int store_result(size_t e, const struct score_result *r, void *slot, void *ctx)
{
    struct period_run *pr = ctx;
    struct period_data *d = pr->d;
    struct scorer *s = pr->s;
    struct store_slot *sl = slot;
    if (!storable(pr, e))
        return 0;
    char bad[SCORE_STORE_QERR_MAX];
    if (result_unstorable(r, bad, sizeof bad))
        return quarantine(pr, e, "%s", bad);
    pr->computed++;
    if (!sl->made)
        prepare_result(e, r, slot, ctx);
    if (sl->json_rc < 0) {
        snprintf(pr->err, sizeof pr->err, "result JSON larger than %u bytes", SCORE_JSON_MAX);
        return -1;
    }
    const char *digest = sl->digest;
    char why[SCOREVERSION_REASON_MAX];
    if (!scoreversion_material(&s->cfg.params, &d->current[e], r, pr->inputs[e], digest, why, sizeof why)) {
        if (strcmp(digest, d->current[e].json_digest) != 0)
            pr->drift++; /* moved, but not materially: no version (SPEC 5.7) */
        return 0;
    }
    buf_reset(&s->signoff);
    if (score_signoff_json(&s->cfg.params, r, &s->signoff) < 0) {
        snprintf(pr->err, sizeof pr->err, "sign-off facts larger than %u bytes", SCORE_JSON_MAX);
        return -1;
    }
    char nip[EVENT_NIP_LEN + 1];
    score_store_nip(d, e, nip);
    struct score_store_version v = {
        .nip = nip,
        .version = d->current[e].version + 1,
        .result = r,
        .json = sl->json.data,
        .json_len = sl->json.len,
        .signoff = s->signoff.data,
        .signoff_len = s->signoff.len,
        .digest = digest,
        .inputs_digest = pr->inputs[e],
        .reason = why,
    };
    if (score_store_row(&s->writer, &v, pr->err, sizeof pr->err) < 0)
        return -1;
    pr->changed++;
    return 0;
}

/* Kiosk flags to flip and per-unit IKM / satisfaction. */
static int unit_aggregates(const struct scorer *s, const struct period_data *d,
                           char (**flip)[SCORE_STORE_UUID_LEN], size_t *n_flip, struct unit_score **units,
                           size_t *n_units)
{
    size_t n = d->n_fb;
    bool *rep = calloc(n ? n : 1, sizeof *rep);
    *flip = malloc((n ? n : 1) * sizeof **flip);
    *units = calloc(d->n_units ? d->n_units : 1, sizeof **units);
    size_t *order = malloc((n ? n : 1) * sizeof *order), *start = calloc(d->n_units + 1, sizeof *start);
    struct ikm_feedback *fb = malloc((n ? n : 1) * sizeof *fb);
    bool *frep = malloc((n ? n : 1) * sizeof *frep);
    int rc = -1;
    if (!rep || !*flip || !*units || !order || !start || !fb || !frep)
        goto out;
    if (s->cfg.params.kiosk_misuse && n && ikm_mark_repeats(d->fb, n, s->cfg.params.kiosk_repeat_s, rep) < 0)
        goto out;
    *n_flip = 0;
    for (size_t i = 0; i < n; i++)
        if (rep[i] != d->fb_repeat[i])
            memcpy((*flip)[(*n_flip)++], d->fb_event[i], SCORE_STORE_UUID_LEN);

    /* group feedback by unit (counting sort) */
    for (size_t i = 0; i < n; i++)
        start[d->fb_unit[i] + 1]++;
    for (size_t u = 0; u < d->n_units; u++)
        start[u + 1] += start[u];
    size_t *fill = malloc((d->n_units ? d->n_units : 1) * sizeof *fill);
    if (!fill)
        goto out;
    memcpy(fill, start, d->n_units * sizeof *fill);
    for (size_t i = 0; i < n; i++)
        order[fill[d->fb_unit[i]]++] = i;
    free(fill);
    *n_units = 0;
    for (size_t u = 0; u < d->n_units; u++) {
        size_t m = start[u + 1] - start[u];
        if (!m)
            continue;
        for (size_t k = 0; k < m; k++) {
            fb[k] = d->fb[order[start[u] + k]];
            frep[k] = rep[order[start[u] + k]];
        }
        struct unit_score *us = &(*units)[(*n_units)++];
        us->unit = d->unit_code[u];
        ikm_compute(fb, m, &us->ikm);
        ikm_satisfaction(fb, m, frep, &us->sat);
    }
    rc = 0;
out:
    free(rep);
    free(order);
    free(start);
    free(fb);
    free(frep);
    return rc;
}

/* Part k's connection (k >= 1: its own session, kept between periods, the session
 * settings made once), or NULL when it cannot be had (said once, until one works). */
static PGconn *part_conn(struct scorer *s, int k, const char *what)
{
    struct pgstore **db = &s->part_db[k];
    bool fresh = !*db; /* a new session: the settings once, not every period */
    if (!*db && !(*db = pgstore_connect_as(s->cfg.postgres_dsn, "kinerja_score_signoff", true)))
        return NULL;
    if (!pgstore_ok(*db)) {
        fresh = true;
        if (pgstore_reconnect(*db) < 0) {
            if (!s->part_down)
                log_warn("%s: a part's connection failed: %s", what, (*db)->errstr);
            s->part_down = true;
            return NULL;
        }
    }
    if (fresh && s->pg.setup) {
        PGresult *r = PQexec((*db)->conn, s->pg.setup);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            log_warn("%s: a part's session settings failed: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        if (!ok) {
            pgstore_destroy(db); /* made again, with its settings, next time */
            return NULL;
        }
    }
    return (*db)->conn;
}

/* How many parts the sign-off requests of a period of n_people are made in (0: in the
 * write transaction, as for every small period): score.threads parts once the period
 * has score.signoff_split_min people, each on its own connection (schemas/0025). When a
 * part's connection cannot be had, the requests are made in the write transaction. */
static int split_signoff(struct scorer *s, size_t n_people, PGconn **conn)
{
    int n = s->cfg.threads < SCORE_STORE_PARTS_MAX ? s->cfg.threads : SCORE_STORE_PARTS_MAX;
    if (s->cfg.signoff_split_min <= 0 || n < 2 || n_people < (size_t)s->cfg.signoff_split_min)
        return 0;
    conn[0] = s->pg.db->conn;
    for (int k = 1; k < n; k++)
        if (!(conn[k] = part_conn(s, k, "sign-off requests in one transaction")))
            return 0;
    if (s->part_down)
        log_info("sign-off requests in %d parts again", n);
    s->part_down = false;
    return n;
}

/* Computes one period and stores what changed. Returns 0, or -1 with the reason. */
static int compute_period(struct scorer *s, const char *period, char *err, size_t errlen)
{
    long long t0 = daemon_now_ms();
    struct period_data d;
    /* a large month's ratings read in two halves at once, on the first part's connection
     * too (score.signoff_split_min people: the same size as the split sign-off) */
    PGconn *second = s->cfg.threads >= 2 && s->cfg.signoff_split_min > 0
                         ? part_conn(s, 1, "the ratings read on one connection")
                         : NULL;
    if (score_store_load(s->pg.db->conn, second, (size_t)s->cfg.signoff_split_min, period, &d, err, errlen) <
        0)
        return -1;
    long long t1 = daemon_now_ms();
    if (d.evs_second_err[0])
        log_warn("period %s: ratings, second half read on the first connection: the second failed: %s",
                 period, d.evs_second_err);
    if (second && d.evs_second)
        log_info("period %s: ratings read in two halves at once: %zu and %zu", period, d.n_evs - d.evs_second,
                 d.evs_second);
    if (d.skipped)
        log_warn("period %s: %zu rows name people or units missing from the organisation; skipped", period,
                 d.skipped);
    char(*flip)[SCORE_STORE_UUID_LEN] = NULL;
    struct unit_score *units = NULL;
    size_t n_flip = 0, n_units = 0, written = 0;
    int rc = -1;
    struct period_run pr = {.s = s, .d = &d};
    if (!(pr.quarantined = calloc(d.n_people ? d.n_people : 1, sizeof *pr.quarantined)) ||
        screen_inputs(&pr) < 0 || unit_aggregates(s, &d, &flip, &n_flip, &units, &n_units) < 0 ||
        !(pr.inputs = inputs_digests(&d))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    s->writer.conn = s->pg.db->conn;
    if (score_store_begin(&s->writer, period, err, errlen) < 0)
        goto out;
    struct score_period_input in = {
        .n_employees = d.n_people,
        .unit = d.unit_of,
        .evaluations = d.evs,
        .n_evaluations = d.n_evs,
        .feedback = d.fb,
        .n_feedback = d.n_fb,
        .indicators = d.ind,
        .indicator_employee = d.ind_emp,
        .n_indicators = d.n_ind,
    };
    char serr[SCORER_ERR_MAX];
    struct score_parallel par = {
        .threads = s->cfg.threads,
        .prepare = prepare_result,
        .commit = store_result,
        .ctx = &pr,
        .slots = s->slots,
        .slot_size = sizeof *s->slots,
    };
    if (score_period_parallel(&s->cfg.params, &in, &par, serr, sizeof serr) != 0) {
        snprintf(err, errlen, "%s", pr.err[0] ? pr.err : serr);
        score_store_abort(&s->writer);
        goto out;
    }
    PGconn *part_conn[SCORE_STORE_PARTS_MAX];
    s->writer.n_parts = split_signoff(s, d.n_people, part_conn);
    s->writer.part_conn = part_conn;
    if (score_store_finish(&s->writer, &d, (const char(*)[SCORE_STORE_UUID_LEN])flip, n_flip, units, n_units,
                           pr.q, pr.n_q, &written, err, errlen) < 0) {
        s->writer.part_conn = NULL;
        goto out;
    }
    s->writer.part_conn = NULL;
    long long nq = score_store_quarantined(s->pg.db->conn);
    if (nq >= 0)
        metric_set(s->m_quarantined, nq);
    long long t2 = daemon_now_ms();
    metric_inc(s->m_periods);
    metric_add(s->m_results, (long long)pr.computed);
    metric_add(s->m_versions, (long long)written);
    metric_set(s->m_last_ms, t2 - t0);
    metric_observe(s->m_compute_seconds, (double)(t2 - t0) / 1000.0);
    log_info("period %s (generation %lld): %zu results computed, %zu new versions, %zu moved below the "
             "material threshold, %zu set aside, %zu kiosk flags changed, %zu evaluations, %zu work results, "
             "%zu feedback; load %lld ms, score+store %lld ms",
             period, d.generation, pr.computed, written, pr.drift, pr.n_q, n_flip, d.n_evs, d.n_ind, d.n_fb,
             t1 - t0, t2 - t1);
    /* the split of a long computation, for whoever wonders where its time went */
    if (t2 - t1 >= SCORER_TIMING_LOG_MS)
        log_info(
            "period %s: score+store %lld ms = computing with the versions' COPY %lld ms, the COPY's end %lld "
            "ms, the results' upsert to the COMMIT %lld ms, the sign-off requests' parts %lld ms",
            period, t2 - t1, t2 - t1 - s->writer.ms_copy_end - s->writer.ms_commit - s->writer.ms_parts,
            s->writer.ms_copy_end, s->writer.ms_commit, s->writer.ms_parts);
    if (s->writer.n_parts >= 2)
        log_info("period %s: %lld sign-off requests made in %d parts after the results were committed",
                 period, s->writer.requests, s->writer.n_parts);
    if (written < pr.changed)
        log_info("period %s: %zu results were frozen (signed) meanwhile and kept their version", period,
                 pr.changed - written);
    rc = 0;
out:
    free(flip);
    free(units);
    free(pr.inputs);
    free(pr.q);
    free(pr.quarantined);
    period_data_free(&d);
    return rc;
}

/* ---- the work list ------------------------------------------------------------------ */

static bool try_lock(PGconn *c, const char *period, bool lock)
{
    const char *params[1] = {period};
    PGresult *r = PQexecParams(c,
                               lock ? "SELECT pg_try_advisory_lock(4242, hashtext($1))"
                                    : "SELECT pg_advisory_unlock(4242, hashtext($1))",
                               1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return ok;
}

/* Carries out one open recalc request. Returns 1 done, 0 none open, -1 error. */
static int recalc_one(struct scorer *s, char *err, size_t errlen)
{
    PGconn *c = s->pg.db->conn;
    PGresult *r = PQexec(c, "BEGIN");
    PQclear(r);
    r = PQexec(c, "SELECT event_id, period, unit, employee FROM recalc_requests WHERE done_at IS NULL "
                  "ORDER BY requested_at, event_id LIMIT 1 FOR UPDATE SKIP LOCKED");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return 0;
    }
    char id[64];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    const char *params[3];
    char scope[3][80];
    for (int i = 0; i < 3; i++) {
        snprintf(scope[i], sizeof scope[i], "%s", PQgetvalue(r, 0, i + 1));
        params[i] = PQgetisnull(r, 0, i + 1) ? NULL : scope[i];
    }
    PQclear(r);
    long long t0 = daemon_now_ms();
    /* a quarter or a year is rebuilt with its months and quarters, whose inputs it reads
     * (schemas/0014_periods.sql, kinerja_period_parts) */
    r = PQexecParams(c,
                     "SELECT count(*) FROM unnest(CASE WHEN $1::text IS NULL THEN ARRAY[NULL::text] "
                     "ELSE kinerja_period_parts($1::text) END) AS x(part), "
                     "LATERAL kinerja_rebuild(x.part, $2, $3)",
                     3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "rebuild: %s", PQerrorMessage(c));
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    long periods = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    const char *idp[1] = {id};
    r = PQexecParams(c, "UPDATE recalc_requests SET done_at = now() WHERE event_id = $1", 1, NULL, idp, NULL,
                     NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = PQexec(c, "COMMIT");
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        snprintf(err, errlen, "recalc %s: %s", id, PQerrorMessage(c));
        return -1;
    }
    metric_inc(s->m_recalcs);
    log_info("recalc %s (period %s, unit %s, employee %s): derived tables rebuilt for %ld periods in %lld ms",
             id, params[0] ? params[0] : "all", params[1] ? params[1] : "all", params[2] ? params[2] : "all",
             periods, daemon_now_ms() - t0);
    return 1;
}

/* One pass: open recalc requests, then every period behind whose inputs have settled:
 * quiet for score.settle_ms, or dirty for score.settle_max_ms however busy (so a burst
 * of events is scored once, not once per ingest batch, and a steady stream still is
 * every settle_max_ms). *wait_ms gets how long until the next unsettled period is due
 * (-1: none). Returns how many periods were computed, or -1 when PostgreSQL failed. */
static int scorer_pass(struct scorer *s, long *wait_ms)
{
    *wait_ms = -1;
    char err[SCORER_ERR_MAX];
    int rc;
    /* Events stored with their derivation deferred (schemas/0019) are derived first, so
     * the dirty periods, recalculations and inputs read below include every stored event. */
    if (pgstore_derive_queued(s->pg.db, 0, true, 0, NULL) < 0) {
        log_error("%s", s->pg.db->errstr);
        return -1;
    }
    while ((rc = recalc_one(s, err, sizeof err)) > 0 && !daemon_stopping)
        ;
    if (rc < 0) {
        log_error("%s", err);
        return -1;
    }
    PGconn *c = s->pg.db->conn;
    char settle[16], settle_max[16];
    snprintf(settle, sizeof settle, "%d", s->cfg.settle_ms);
    snprintf(settle_max, sizeof settle_max, "%d", s->cfg.settle_max_ms);
    const char *sp[2] = {settle, settle_max};
    PGresult *r = PQexecParams(
        c,
        "SELECT period, greatest(0, ceil(1000 * extract(epoch FROM least("
        "    changed_at + make_interval(secs => $1::int / 1000.0),"
        "    coalesce(dirty_since, changed_at) + make_interval(secs => $2::int / 1000.0)) - "
        "clock_timestamp())))::bigint"
        " FROM score_periods WHERE generation > computed_generation ORDER BY changed_at LIMIT 50",
        2, NULL, sp, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_error("score_periods: %s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r), done = 0, due = 0;
    char(*periods)[8] = calloc((size_t)(n ? n : 1), sizeof *periods);
    for (int i = 0; periods && i < n; i++) {
        long wait = strtol(PQgetvalue(r, i, 1), NULL, 10);
        if (wait > 0) {
            if (*wait_ms < 0 || wait < *wait_ms)
                *wait_ms = wait;
            continue; /* still settling */
        }
        snprintf(periods[due++], sizeof periods[0], "%s", PQgetvalue(r, i, 0));
    }
    if (n < SCORER_PERIODS_PER_PASS)
        forget_computed(s, r);
    n = due;
    PQclear(r);
    for (int i = 0; periods && i < n && !daemon_stopping; i++) {
        if (!try_lock(c, periods[i], true))
            continue; /* another score worker has it */
        if (compute_period(s, periods[i], err, sizeof err) < 0) {
            metric_inc(s->m_errors);
            log_error("period %s: %s", periods[i], err);
            period_outcome(s, periods[i], err);
            if (!pgstore_ok(s->pg.db)) {
                free(periods);
                return -1;
            }
        } else {
            period_outcome(s, periods[i], NULL);
            done++;
        }
        try_lock(c, periods[i], false);
    }
    free(periods);
    return done;
}

/* Waits for NOTIFY kinerja_score, the poll interval, or wait_ms when that is sooner
 * (a period settling). */
static void wait_for_work(struct scorer *s, long wait_ms)
{
    long ms = wait_ms >= 0 && wait_ms < SCORER_POLL_MS ? wait_ms : SCORER_POLL_MS;
    if (pgsession_wait(&s->pg, ms) < 0)
        pgsession_down(&s->pg, PQerrorMessage(s->pg.db->conn));
}

int scorer_run(struct scorer *s)
{
    log_info("score role started (%d threads compute a period's results)", s->cfg.threads);
    while (!daemon_stopping) {
        if (daemon_reload_requested && s->cfg.reload) {
            daemon_reload_requested = 0;
            s->cfg.reload(s->cfg.reload_arg);
        }
        if (pg_ready(s) < 0)
            break;
        long wait_ms;
        int n = scorer_pass(s, &wait_ms);
        if (n < 0) {
            if (!pgstore_ok(s->pg.db))
                pgsession_down(&s->pg, s->pg.db->errstr);
            else
                daemon_sleep_ms(SCORER_BACKOFF_MAX_MS); /* a query failed: do not spin on it */
            continue;
        }
        if (n == 0 && !daemon_stopping)
            wait_for_work(s, wait_ms);
    }
    log_info("score role stopped");
    return 0;
}
