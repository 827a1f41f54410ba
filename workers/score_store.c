#include "score_store.h"

#include "daemon.h"
#include "pgcopy.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_FLUSH_BYTES (1 << 20)
#define SCORE_STORE_COPY_MAX ((size_t)64 << 20)
/* The result rows of one computation held until its versions are stored: ~120 bytes
 * each, so 1 GiB holds some 8 million (a national period is 4 million). */
#define SCORE_STORE_HEADS_MAX ((size_t)1 << 30)
#define MAX_FIELDS 12
#define SCORE_VERSIONS_COPY_FIELDS 8
#define SCORE_STORE_MONTH_CHARS 7 /* "YYYY-MM" (and "YYYY-Qn", told apart by the Q) */

/* ---- reading ------------------------------------------------------------------ */

static int exec_cmd(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

/* Splits one COPY text line in place; fields stay escaped (\N = NULL). */
static int split_fields(char *line, int len, char **f, int max)
{
    if (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    int n = 0;
    char *p = line;
    f[n++] = p;
    for (; *p; p++) {
        if (*p == '\t') {
            *p = '\0';
            if (n == max)
                return -1;
            f[n++] = p + 1;
        }
    }
    return n;
}

static bool is_null(const char *s)
{
    return s[0] == '\\' && s[1] == 'N' && s[2] == '\0';
}

typedef int (*row_fn)(char **f, int n, void *ctx);

/* Runs COPY (query) TO STDOUT and hands every row to fn. */
static int copy_out(PGconn *c, const char *query, int nfields, row_fn fn, void *ctx, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, query);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    int rc = 0;
    for (;;) {
        char *line = NULL;
        int len = PQgetCopyData(c, &line, 0);
        if (len == -1)
            break;
        if (len < 0) {
            snprintf(err, errlen, "COPY: %s", PQerrorMessage(c));
            return -1;
        }
        char *f[MAX_FIELDS];
        int n = split_fields(line, len, f, MAX_FIELDS);
        if (rc == 0 && n != nfields) {
            snprintf(err, errlen, "COPY: expected %d fields, got %d", nfields, n);
            rc = -1;
        }
        if (rc == 0 && fn(f, n, ctx) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        PQfreemem(line);
    }
    while ((r = PQgetResult(c))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
            snprintf(err, errlen, "COPY: %s", PQerrorMessage(c));
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 1024;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static bool parse_nip(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int i = 0;
    for (; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= EVENT_NIP_LEN)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return i == EVENT_NIP_LEN;
}

void score_store_nip(const struct period_data *d, size_t i, char out[EVENT_NIP_LEN + 1])
{
    snprintf(out, 19, "%018llu", (unsigned long long)d->nip[i]);
}

static int32_t person_index(const struct period_data *d, const char *s)
{
    uint64_t key;
    if (!parse_nip(s, &key))
        return -1;
    size_t lo = 0, hi = d->n_people;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->nip[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n_people && d->nip[lo] == key ? (int32_t)lo : -1;
}

static int32_t unit_index(const struct period_data *d, const char *s)
{
    size_t lo = 0, hi = d->n_units;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(d->unit_code[mid], s);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n_units && !strcmp(d->unit_code[lo], s) ? (int32_t)lo : -1;
}

/* Employees as loaded, before sorting. */
struct raw_people {
    uint64_t *nip;
    char **unit;
    size_t n, cap, cap2;
};

static int on_employee(char **f, int n, void *ctx)
{
    struct raw_people *rp = ctx;
    (void)n;
    uint64_t nip;
    if (!parse_nip(f[0], &nip))
        return 0;
    if (grow((void **)&rp->nip, &rp->cap, rp->n + 1, sizeof *rp->nip) < 0 ||
        grow((void **)&rp->unit, &rp->cap2, rp->n + 1, sizeof *rp->unit) < 0)
        return -1;
    rp->nip[rp->n] = nip;
    rp->unit[rp->n] = strdup(f[1]);
    if (!rp->unit[rp->n])
        return -1;
    rp->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const uint64_t *sort_nips;
static int cmp_by_nip(const void *a, const void *b)
{
    uint64_t x = sort_nips[*(const size_t *)a], y = sort_nips[*(const size_t *)b];
    return (x > y) - (x < y);
}

/* Builds the sorted people and unit tables from the raw rows. */
static int index_people(struct period_data *d, struct raw_people *rp)
{
    size_t n = rp->n;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    char **codes = malloc((n ? n : 1) * sizeof *codes);
    d->nip = malloc((n ? n : 1) * sizeof *d->nip);
    d->unit_of = malloc((n ? n : 1) * sizeof *d->unit_of);
    if (!order || !codes || !d->nip || !d->unit_of) {
        free(order);
        free(codes);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        codes[i] = rp->unit[i];
    }
    sort_nips = rp->nip; /* the worker is single-threaded per process role */
    qsort(order, n, sizeof *order, cmp_by_nip);
    qsort(codes, n, sizeof *codes, cmp_str);
    d->unit_code = malloc((n ? n : 1) * sizeof *d->unit_code);
    if (!d->unit_code) {
        free(order);
        free(codes);
        return -1;
    }
    d->n_units = 0;
    for (size_t i = 0; i < n; i++) {
        if (d->n_units && !strcmp(d->unit_code[d->n_units - 1], codes[i]))
            continue;
        d->unit_code[d->n_units] = strdup(codes[i]);
        if (!d->unit_code[d->n_units]) {
            free(order);
            free(codes);
            return -1;
        }
        d->n_units++;
    }
    d->n_people = n;
    for (size_t k = 0; k < n; k++) {
        d->nip[k] = rp->nip[order[k]];
        d->unit_of[k] = unit_index(d, rp->unit[order[k]]);
    }
    free(order);
    free(codes);
    return 0;
}

/* Feedback may name a unit without employees (a counter): add such units too. */
static int add_unit(struct period_data *d, const char *code)
{
    if (unit_index(d, code) >= 0)
        return 0;
    char **u = realloc(d->unit_code, (d->n_units + 1) * sizeof *u);
    if (!u)
        return -1;
    d->unit_code = u;
    char *c = strdup(code);
    if (!c)
        return -1;
    size_t pos = d->n_units;
    while (pos > 0 && strcmp(d->unit_code[pos - 1], c) > 0) {
        d->unit_code[pos] = d->unit_code[pos - 1];
        pos--;
    }
    d->unit_code[pos] = c;
    d->n_units++;
    /* indexes moved: recompute unit_of */
    return 1;
}

struct load_ctx {
    struct period_data *d;
    size_t cap_evs, cap_ind, cap_ind_emp, cap_fb[5];
};

static enum relation relation_of(const char *s)
{
    if (!strcmp(s, "supervisor"))
        return RELATION_SUPERVISOR;
    if (!strcmp(s, "peer"))
        return RELATION_PEER;
    if (!strcmp(s, "subordinate"))
        return RELATION_SUBORDINATE;
    if (!strcmp(s, "self"))
        return RELATION_SELF;
    return RELATION_NONE;
}

static enum hasil_kerja hasil_of(const char *s)
{
    if (!strcmp(s, "above"))
        return HASIL_ABOVE;
    if (!strcmp(s, "meets"))
        return HASIL_MEETS;
    if (!strcmp(s, "below"))
        return HASIL_BELOW;
    return HASIL_NONE;
}

/* "{1,2,0,...}" into out[max]; returns the count or -1. */
static int parse_small_array(const char *s, uint8_t *out, int max)
{
    if (*s != '{')
        return -1;
    int n = 0;
    s++;
    while (*s && *s != '}') {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || n >= max || v < 0 || v > 255)
            return -1;
        out[n++] = (uint8_t)v;
        s = end;
        if (*s == ',')
            s++;
    }
    return n;
}

static int on_rating(char **f, int n, void *ctx)
{
    struct load_ctx *lc = ctx;
    struct period_data *d = lc->d;
    (void)n;
    int32_t ratee = person_index(d, f[0]), rater = person_index(d, f[1]);
    if (ratee < 0 || rater < 0) {
        d->skipped++;
        return 0;
    }
    if (grow((void **)&d->evs, &lc->cap_evs, d->n_evs + 1, sizeof *d->evs) < 0)
        return -1;
    struct score_evaluation *e = &d->evs[d->n_evs];
    memset(e, 0, sizeof *e);
    e->ratee = ratee;
    e->rater = rater;
    e->relation = relation_of(f[2]);
    if (parse_small_array(f[3], e->values, SCORE_VALUES) != SCORE_VALUES) {
        d->skipped++;
        return 0;
    }
    e->hasil_kerja = is_null(f[4]) ? HASIL_NONE : hasil_of(f[4]);
    e->ts_ms = strtoll(f[5], NULL, 10);
    if (d->has_data) /* the second half's are marked when it is merged */
        d->has_data[ratee] = true;
    d->n_evs++;
    return 0;
}

static int on_work_result(char **f, int n, void *ctx)
{
    struct load_ctx *lc = ctx;
    struct period_data *d = lc->d;
    (void)n;
    int32_t emp = person_index(d, f[0]);
    if (strlen(f[5]) >= sizeof d->ind[0].code) {
        d->skipped++; /* longer than an event may carry: not ours */
        return 0;
    }
    if (emp < 0) {
        d->skipped++;
        return 0;
    }
    if (grow((void **)&d->ind, &lc->cap_ind, d->n_ind + 1, sizeof *d->ind) < 0 ||
        grow((void **)&d->ind_emp, &lc->cap_ind_emp, d->n_ind + 1, sizeof *d->ind_emp) < 0)
        return -1;
    struct score_indicator *x = &d->ind[d->n_ind];
    x->target = strtod(f[1], NULL);
    x->realization = strtod(f[2], NULL);
    x->direction = !strcmp(f[3], "lower_better") ? DIRECTION_LOWER_BETTER : DIRECTION_HIGHER_BETTER;
    x->weight = strtod(f[4], NULL);
    snprintf(x->code, sizeof x->code, "%s", f[5]); /* COPY-escaped, as the digest sees it */
    d->ind_emp[d->n_ind] = emp;
    d->has_data[emp] = true;
    d->n_ind++;
    return 0;
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int on_feedback(char **f, int n, void *ctx)
{
    struct load_ctx *lc = ctx;
    struct period_data *d = lc->d;
    (void)n;
    int32_t emp = -1;
    if (!is_null(f[2]) && (emp = person_index(d, f[2])) < 0) {
        d->skipped++;
        return 0;
    }
    int added = add_unit(d, f[1]);
    if (added < 0)
        return -1;
    if (added > 0) {
        /* a counter-only unit: shift the unit indexes already given out */
        int32_t at = unit_index(d, f[1]);
        for (size_t i = 0; i < d->n_people; i++)
            if (d->unit_of[i] >= at)
                d->unit_of[i]++;
        for (size_t i = 0; i < d->n_fb; i++)
            if (d->fb_unit[i] >= at)
                d->fb_unit[i]++;
    }
    size_t k = d->n_fb;
    if (grow((void **)&d->fb, &lc->cap_fb[0], k + 1, sizeof *d->fb) < 0 ||
        grow((void **)&d->fb_unit, &lc->cap_fb[1], k + 1, sizeof *d->fb_unit) < 0 ||
        grow((void **)&d->fb_event, &lc->cap_fb[2], k + 1, sizeof *d->fb_event) < 0 ||
        grow((void **)&d->fb_repeat, &lc->cap_fb[3], k + 1, sizeof *d->fb_repeat) < 0)
        return -1;
    struct ikm_feedback *x = &d->fb[k];
    memset(x, 0, sizeof *x);
    x->ts_ms = strtoll(f[4], NULL, 10);
    x->device = (int64_t)(fnv1a64(f[3]) & 0x7fffffffffffffffULL);
    x->employee = emp >= 0 ? emp : IKM_NO_EMPLOYEE;
    x->respondent = !strcmp(f[5], "student")  ? RESPONDENT_STUDENT
                    : !strcmp(f[5], "parent") ? RESPONDENT_PARENT
                                              : RESPONDENT_CITIZEN;
    if (!is_null(f[6])) {
        x->rating = (uint8_t)strtol(f[6], NULL, 10);
    } else if (parse_small_array(f[7], x->skm, IKM_ELEMENTS) != IKM_ELEMENTS) {
        d->skipped++;
        return 0;
    }
    d->fb_unit[k] = unit_index(d, f[1]);
    snprintf(d->fb_event[k], SCORE_STORE_UUID_LEN, "%s", f[0]);
    d->fb_repeat[k] = f[8][0] == 't';
    if (emp >= 0)
        d->has_data[emp] = true;
    d->n_fb++;
    return 0;
}

static int on_result(char **f, int n, void *ctx)
{
    struct load_ctx *lc = ctx;
    struct period_data *d = lc->d;
    (void)n;
    int32_t emp = person_index(d, f[0]);
    if (emp < 0) {
        d->skipped++;
        return 0;
    }
    d->state[emp] =
        !strcmp(f[1], "t") ? STORED_FROZEN : STORED_OPEN; /* kinerja_frozen(state), schemas/0018 */
    struct scoreversion_current *cur = &d->current[emp];
    cur->version = (int)strtol(f[2], NULL, 10);
    snprintf(cur->json_digest, sizeof cur->json_digest, "%s", is_null(f[3]) ? "" : f[3]);
    cur->predikat = is_null(f[4]) ? SCORE_PREDIKAT_NONE : scoreversion_predikat_of(f[4]);
    cur->has_score = !is_null(f[5]);
    cur->score = cur->has_score ? strtod(f[5], NULL) : 0;
    cur->known = !is_null(f[6]) && !is_null(f[7]) && !is_null(f[8]);
    cur->hasil = cur->known ? scoreversion_rating_of(f[6]) : SCORE_RATING_NONE;
    cur->perilaku = cur->known ? scoreversion_rating_of(f[7]) : SCORE_RATING_NONE;
    snprintf(cur->inputs_digest, sizeof cur->inputs_digest, "%s", cur->known ? f[8] : "");
    d->has_data[emp] = true;
    return 0;
}

void period_data_free(struct period_data *d)
{
    free(d->nip);
    free(d->unit_of);
    for (size_t i = 0; i < d->n_units; i++)
        free(d->unit_code[i]);
    free(d->unit_code);
    free(d->evs);
    free(d->ind);
    free(d->ind_emp);
    free(d->fb);
    free(d->fb_unit);
    free(d->fb_event);
    free(d->fb_repeat);
    free(d->state);
    free(d->current);
    free(d->has_data);
    memset(d, 0, sizeof *d);
}

/* A month's ratings, all or one half of them by hashtext(employee) & 1 (a second
 * connection reads the other half in the same snapshot: score_store_load). */
#define RATINGS_MONTH_SQL(where)                                                                             \
    "COPY (SELECT employee, rater, relation, vals, hasil_kerja, (date_part('epoch', ts) * 1000)::bigint "    \
    "FROM ratings WHERE period = current_setting('kinerja.period')" where ") TO STDOUT"

/* The second half of a large month's ratings, read on a connection of its own and a
 * thread of its own while the caller's reads the first half and the rest. The server's
 * side of that COPY (one backend formatting every rating: 29.7 M at 1 000 000 employees)
 * was the load's whole time. The half's rows go into part, whose people index is the
 * caller's (read only); has_data is marked when they are merged. */
struct load_half {
    PGconn *c;
    char snapshot[64]; /* pg_export_snapshot() of the caller's transaction */
    const char *period;
    struct period_data part;
    struct load_ctx lc;
    int rc;
    char err[256];
};

static void *load_half_run(void *arg)
{
    struct load_half *h = arg;
    h->rc = -1;
    char sql[128];
    snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", h->snapshot); /* checked: [0-9A-F-] */
    const char *params[1] = {h->period};
    if (exec_cmd(h->c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", h->err, sizeof h->err) < 0)
        return NULL;
    if (exec_cmd(h->c, sql, h->err, sizeof h->err) == 0) {
        PGresult *r = PQexecParams(h->c, "SELECT set_config('kinerja.period', $1, true)", 1, NULL, params,
                                   NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            snprintf(h->err, sizeof h->err, "%s", PQerrorMessage(h->c));
        PQclear(r);
        if (ok && copy_out(h->c, RATINGS_MONTH_SQL(" AND hashtext(employee) & 1 = 1"), 6, on_rating, &h->lc,
                           h->err, sizeof h->err) == 0)
            h->rc = 0;
    }
    char ignore[256];
    exec_cmd(h->c, h->rc == 0 ? "COMMIT" : "ROLLBACK", ignore, sizeof ignore);
    return NULL;
}

/* Starts the second half: the caller's snapshot exported, the thread started (or, when
 * it cannot be, run by load_half_join). Returns 0, or -1 (nothing started: the caller
 * reads the ratings whole). */
static int load_half_start(struct load_half *h, PGconn *c, const struct period_data *d, pthread_t *tid,
                           bool *started, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "SELECT pg_export_snapshot()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    const char *id = PQgetvalue(r, 0, 0);
    size_t n = strlen(id);
    bool good = n > 0 && n < sizeof h->snapshot && strspn(id, "0123456789ABCDEF-") == n;
    if (good)
        memcpy(h->snapshot, id, n + 1);
    PQclear(r);
    if (!good)
        return -1;
    h->part.n_people = d->n_people;
    h->part.nip = d->nip; /* borrowed, read only */
    h->lc.d = &h->part;
    *started = pthread_create(tid, NULL, load_half_run, h) == 0;
    return 0;
}

/* Waits for the second half and appends its rows to d's. Returns 0, or -1 with the
 * reason (its own, or out of memory). */
static int load_half_join(struct load_half *h, PGconn *c, struct period_data *d, struct load_ctx *lc,
                          pthread_t tid, bool started, char *err, size_t errlen)
{
    if (started)
        pthread_join(tid, NULL);
    else
        load_half_run(h);
    int rc = -1;
    if (h->rc < 0) {
        /* the second connection failed (a dropped session, a refused snapshot): its half
         * is read here, on the caller's connection in the same snapshot, so a bad second
         * connection never stops a period; the reason goes to the caller's log */
        snprintf(d->evs_second_err, sizeof d->evs_second_err, "%s", h->err);
        rc = copy_out(c, RATINGS_MONTH_SQL(" AND hashtext(employee) & 1 = 1"), 6, on_rating, lc, err, errlen);
    } else if (grow((void **)&d->evs, &lc->cap_evs, d->n_evs + h->part.n_evs, sizeof *d->evs) < 0) {
        snprintf(err, errlen, "out of memory");
    } else {
        if (h->part.n_evs)
            memcpy(d->evs + d->n_evs, h->part.evs, h->part.n_evs * sizeof *d->evs);
        for (size_t i = 0; i < h->part.n_evs; i++)
            d->has_data[h->part.evs[i].ratee] = true;
        d->n_evs += h->part.n_evs;
        d->evs_second = h->part.n_evs;
        d->skipped += h->part.skipped;
        rc = 0;
    }
    free(h->part.evs);
    h->part.evs = NULL;
    return rc;
}

int score_store_load(PGconn *c, PGconn *second, size_t split_min, const char *period, struct period_data *d,
                     char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    snprintf(d->period, sizeof d->period, "%s", period);
    if (exec_cmd(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen) < 0)
        return -1;
    int rc = -1;
    struct raw_people rp = {0};
    struct load_ctx lc = {.d = d};
    const char *params[1] = {period};
    /* a large month's ratings in two halves on two connections at once (below) */
    struct load_half half = {.c = second, .period = period};
    pthread_t half_tid;
    bool split = false, half_started = false, half_joined = true;
    /* COPY takes no parameters: the period travels as a transaction-local setting. A
     * quarter or a year reads the inputs of its months and quarters too
     * (schemas/0014_periods.sql: kinerja_period_ratings, kinerja_period_work_results). */
    PGresult *r = PQexecParams(c,
                               "SELECT set_config('kinerja.period', $1, true), "
                               "(SELECT generation FROM score_periods WHERE period = $1)",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        PQclear(r);
        goto out;
    }
    d->generation = PQgetisnull(r, 0, 1) ? 0 : strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);

    if (copy_out(c, "COPY (SELECT nip, unit FROM employees) TO STDOUT", 2, on_employee, &rp, err, errlen) <
            0 ||
        index_people(d, &rp) < 0)
        goto out;
    size_t np = d->n_people ? d->n_people : 1;
    d->state = calloc(np, sizeof *d->state);
    d->current = calloc(np, sizeof *d->current);
    d->has_data = calloc(np, sizeof *d->has_data);
    if (!d->state || !d->current || !d->has_data) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* A month is its own only part: kinerja_period_ratings / _work_results would return
     * its rows unchanged, so they are read straight, without the aggregation's cost (a
     * month of a large organisation holds millions of ratings). */
    bool month = strlen(period) == SCORE_STORE_MONTH_CHARS && period[5] != 'Q';
    /* A rating's time in ms: date_part (double) rather than extract (numeric since
     * PostgreSQL 14): the same integer for every whole-ms time, which every event's is
     * (to_timestamp of its ts), and ~20% less of the COPY out of 3 M ratings. */
    /* A large month's ratings in two halves on two connections at once (the second in
     * this transaction's snapshot), when the caller gave a second connection; when the
     * snapshot cannot be exported, whole on this one. */
    split = second && month && d->n_people >= split_min &&
            load_half_start(&half, c, d, &half_tid, &half_started, err, errlen) == 0;
    half_joined = !split;
    if (copy_out(c,
                 split   ? RATINGS_MONTH_SQL(" AND hashtext(employee) & 1 = 0")
                 : month ? RATINGS_MONTH_SQL("")
                         : "COPY (SELECT employee, rater, relation, vals, hasil_kerja, "
                           "(date_part('epoch', ts) * 1000)::bigint "
                           "FROM kinerja_period_ratings(current_setting('kinerja.period'))) TO STDOUT",
                 6, on_rating, &lc, err, errlen) < 0 ||
        copy_out(c,
                 month ? "COPY (SELECT employee, target, realization, direction, weight, indicator "
                         "FROM work_results WHERE period = current_setting('kinerja.period')) TO STDOUT"
                       : "COPY (SELECT employee, target, realization, direction, weight, indicator "
                         "FROM kinerja_period_work_results(current_setting('kinerja.period'))) TO STDOUT",
                 6, on_work_result, &lc, err, errlen) < 0 ||
        copy_out(
            c,
            "COPY (SELECT event_id, unit, employee, source, ts_ms, respondent, rating, skm, repeat "
            "FROM feedback WHERE period = ANY (kinerja_period_months(current_setting('kinerja.period')))) "
            "TO STDOUT",
            9, on_feedback, &lc, err, errlen) < 0 ||
        copy_out(c,
                 "COPY (SELECT employee, kinerja_frozen(state), version, digest, predikat, score, "
                 "hasil_rating, perilaku_rating, "
                 "inputs_digest FROM results WHERE period = current_setting('kinerja.period')) TO STDOUT",
                 9, on_result, &lc, err, errlen) < 0)
        goto out;
    half_joined = true;
    if (split && load_half_join(&half, c, d, &lc, half_tid, half_started, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    if (!half_joined &&
        half_started) { /* this half failed: the other ends before the snapshot's transaction */
        pthread_join(half_tid, NULL);
        free(half.part.evs);
    }
    for (size_t i = 0; i < rp.n; i++)
        free(rp.unit[i]);
    free(rp.unit);
    free(rp.nip);
    char ignore[256];
    exec_cmd(c, rc == 0 ? "COMMIT" : "ROLLBACK", ignore, sizeof ignore);
    if (rc < 0)
        period_data_free(d);
    return rc;
}

/* ---- writing ------------------------------------------------------------------ */

static int copy_flush(struct score_writer *w, bool force, char *err, size_t errlen)
{
    if (!w->copy.len || (!force && w->copy.len < COPY_FLUSH_BYTES))
        return 0;
    if (PQputCopyData(w->conn, w->copy.data, (int)w->copy.len) != 1) {
        snprintf(err, errlen, "COPY: %s", PQerrorMessage(w->conn));
        return -1;
    }
    buf_reset(&w->copy);
    return 0;
}

static int copy_end(PGconn *c, char *err, size_t errlen)
{
    int rc = 0;
    if (PQputCopyEnd(c, NULL) != 1) {
        snprintf(err, errlen, "COPY end: %s", PQerrorMessage(c));
        rc = -1;
    }
    PGresult *r;
    while ((r = PQgetResult(c))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
            snprintf(err, errlen, "COPY: %s", PQerrorMessage(c));
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

/* The versions go straight into score_versions by COPY as they are computed (their
 * result JSON parsed and stored once, not through a temporary table); the result row of
 * each is held in w->heads and COPY'd into _score_new when they are in, for the upsert of
 * results (score_store_finish). A version whose result was frozen meanwhile is taken back
 * there, in the same transaction: no one ever sees it. */
int score_store_begin(struct score_writer *w, const char *period, char *err, size_t errlen)
{
    buf_init(&w->copy, SCORE_STORE_COPY_MAX);
    buf_init(&w->heads, SCORE_STORE_HEADS_MAX);
    w->period = period;
    w->rows = 0;
    if (exec_cmd(w->conn, "BEGIN", err, errlen) < 0)
        return -1;
    if (exec_cmd(w->conn,
                 "CREATE TEMP TABLE _score_new (employee text, version int, predikat text, "
                 "score numeric(6,2), calibration boolean, digest text, hasil_rating text, "
                 "perilaku_rating text, inputs_digest text) ON COMMIT DROP",
                 err, errlen) < 0 ||
        exec_cmd(w->conn,
                 "CREATE TEMP TABLE _unit_new (unit text, ikm numeric(6,2), mutu text, "
                 "skm_n int, "
                 "element_means double precision[], satisfaction numeric(6,4), presses int, repeats int, "
                 "counted int) ON COMMIT DROP",
                 err, errlen) < 0)
        goto fail;
    PGresult *r = PQexec(w->conn, "COPY score_versions (employee, period, version, predikat, score, reason, "
                                  "result, signoff) FROM STDIN (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        snprintf(err, errlen, "%s", PQerrorMessage(w->conn));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    if (pgcopy_header(&w->copy) < 0) {
        snprintf(err, errlen, "COPY buffer full");
        goto fail;
    }
    return 0;
fail:
    score_store_abort(w);
    return -1;
}

int score_store_row(struct score_writer *w, const struct score_store_version *v, char *err, size_t errlen)
{
    struct buf *b = &w->copy, *h = &w->heads;
    const struct score_result *r = v->result;
    const char *predikat = score_predikat_code(r->predikat);
    char score[32];
    if (r->has_score)
        snprintf(score, sizeof score, "%.2f", r->score);
    else
        snprintf(score, sizeof score, "\\N");
    if (r->has_score && !isfinite(r->score)) {
        snprintf(err, errlen, "%s: score %s is not a number", v->nip, score);
        return -1;
    }
    /* score_versions (employee, period, version, predikat, score, reason, result, signoff),
     * binary: the server neither scans the JSON for escapes nor the writer escapes it */
    size_t was = b->len;
    int rc = pgcopy_row(b, SCORE_VERSIONS_COPY_FIELDS);
    rc |= pgcopy_text(b, v->nip, strlen(v->nip));
    rc |= pgcopy_text(b, w->period, strlen(w->period));
    rc |= pgcopy_int4(b, v->version);
    rc |= predikat ? pgcopy_text(b, predikat, strlen(predikat)) : pgcopy_null(b);
    rc |= r->has_score ? pgcopy_numeric(b, score) : pgcopy_null(b);
    rc |= pgcopy_text(b, v->reason, strlen(v->reason));
    rc |= pgcopy_text(b, v->json, v->json_len);
    rc |= pgcopy_jsonb(b, v->signoff, v->signoff_len);
    if (rc) {
        /* a row goes whole or not at all: a part of one would shift the stream */
        buf_truncate(b, was);
        snprintf(err, errlen, "COPY buffer full");
        return -1;
    }
    /* _score_new (employee, version, predikat, score, calibration, digest, hasil_rating,
     * perilaku_rating, inputs_digest) */
    rc |= buf_printf(h, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v->nip, v->version,
                     predikat ? predikat : "\\N", score, r->calibration_flag ? "t" : "f", v->digest,
                     score_rating_name(r->hasil), score_rating_name(r->perilaku_rating), v->inputs_digest);
    if (rc) {
        snprintf(err, errlen, "%s",
                 h->len + 512 > SCORE_STORE_HEADS_MAX
                     ? "more result rows in one computation than the 1 GiB held for them"
                     : "COPY buffer full");
        return -1;
    }
    w->rows++;
    return copy_flush(w, false, err, errlen);
}

void score_store_abort(struct score_writer *w)
{
    if (PQtransactionStatus(w->conn) == PQTRANS_ACTIVE)
        PQputCopyEnd(w->conn, "aborted");
    PGresult *r;
    while ((r = PQgetResult(w->conn)))
        PQclear(r);
    r = PQexec(w->conn, "ROLLBACK");
    PQclear(r);
    buf_free(&w->copy);
    buf_free(&w->heads);
}

/* A text[] literal of n strings, each double-quoted with \\ and \" escaped. */
static int append_text_array(struct buf *b, const struct score_quarantine *q, size_t n, bool errors)
{
    int rc = buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        const char *s = errors ? q[i].error : q[i].key;
        rc |= buf_puts(b, i ? ",\"" : "\"");
        for (; *s; s++) {
            if (*s == '"' || *s == '\\')
                rc |= buf_putc(b, '\\');
            rc |= buf_putc(b, *s);
        }
        rc |= buf_putc(b, '"');
    }
    return rc | buf_putc(b, '}');
}

/* Records q (replacing the period's earlier rows of the same employees, tries + 1) with
 * the event ids of each employee's inputs in the period, and releases the period's
 * rows of employees not in q: they were stored this time. */
static int store_quarantine(PGconn *c, const char *period, const struct score_quarantine *q, size_t n,
                            char *err, size_t errlen)
{
    struct buf nips, errs;
    buf_init(&nips, SCORE_STORE_COPY_MAX);
    buf_init(&errs, SCORE_STORE_COPY_MAX);
    int rc = -1;
    if (append_text_array(&nips, q, n, false) < 0 || append_text_array(&errs, q, n, true) < 0) {
        snprintf(err, errlen, "quarantine: too many results set aside (%zu)", n);
        goto out;
    }
    const char *params[3] = {period, nips.data, errs.data};
    PGresult *r = PQexecParams(
        c,
        "WITH rel AS (DELETE FROM score_quarantine s WHERE s.period = $1 AND s.employee <> ALL($2::text[]))"
        " INSERT INTO score_quarantine AS s (employee, period, error, event_ids)"
        " SELECT q.employee, $1, q.error,"
        "   ARRAY(SELECT w.event_id FROM work_results w WHERE w.period = $1 AND w.employee = q.employee"
        "         UNION SELECT g.event_id FROM ratings g WHERE g.period = $1 AND g.employee = q.employee"
        "         ORDER BY 1)"
        " FROM unnest($2::text[], $3::text[]) AS q(employee, error)"
        " ON CONFLICT (employee, period) DO UPDATE SET error = excluded.error, event_ids = "
        "excluded.event_ids,"
        "   last_at = now(), tries = s.tries + 1",
        3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "quarantine: %s", PQerrorMessage(c));
        PQclear(r);
        goto out;
    }
    PQclear(r);
    rc = 0;
out:
    buf_free(&nips);
    buf_free(&errs);
    return rc;
}

long long score_store_quarantined(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT count(*) FROM score_quarantine");
    long long n = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

static int append_uuid_array(struct buf *b, const char (*ids)[SCORE_STORE_UUID_LEN], size_t n)
{
    int rc = buf_putc(b, '{');
    for (size_t i = 0; i < n; i++)
        rc |= buf_printf(b, "%s%s", i ? "," : "", ids[i]);
    return rc | buf_putc(b, '}');
}

/* The held result rows into _score_new, in COPY_FLUSH_BYTES pieces. */
static int copy_heads(struct score_writer *w, char *err, size_t errlen)
{
    PGconn *c = w->conn;
    PGresult *r = PQexec(c, "COPY _score_new FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        snprintf(err, errlen, "%s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    for (size_t off = 0; off < w->heads.len;) {
        size_t n = w->heads.len - off < COPY_FLUSH_BYTES ? w->heads.len - off : COPY_FLUSH_BYTES;
        if (PQputCopyData(c, w->heads.data + off, (int)n) != 1) {
            snprintf(err, errlen, "COPY: %s", PQerrorMessage(c));
            return -1;
        }
        off += n;
    }
    buf_free(&w->heads);
    return copy_end(c, err, errlen);
}

/* score_periods.computed_generation up to the generation loaded: in the write
 * transaction, or on its own after a split sign-off. */
static int mark_computed(PGconn *c, const struct period_data *d, char *err, size_t errlen)
{
    char gen[32];
    snprintf(gen, sizeof gen, "%lld", d->generation);
    const char *params[2] = {d->period, gen};
    PGresult *r = PQexecParams(
        c,
        "UPDATE score_periods SET computed_generation = greatest(computed_generation, $2::bigint),"
        " computed_at = now() WHERE period = $1",
        2, NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "score_periods: %s", PQerrorMessage(c));
    PQclear(r);
    return rc;
}

/* The split sign-off: kinerja_after_score(period, k, n) sent on every part's connection
 * first, so PostgreSQL runs the parts at once, then every answer read (each part is its
 * own transaction). Every result is read even after a failure, so each connection is
 * left idle. */
static int signoff_parts(struct score_writer *w, const char *period, char *err, size_t errlen)
{
    char parts[16], part[SCORE_STORE_PARTS_MAX][16];
    int n = w->n_parts < SCORE_STORE_PARTS_MAX ? w->n_parts : SCORE_STORE_PARTS_MAX;
    snprintf(parts, sizeof parts, "%d", n);
    bool sent[SCORE_STORE_PARTS_MAX] = {false};
    int rc = 0;
    for (int k = 0; k < n; k++) {
        snprintf(part[k], sizeof part[k], "%d", k);
        const char *params[3] = {period, part[k], parts};
        sent[k] = PQsendQueryParams(w->part_conn[k], "SELECT kinerja_after_score($1, $2::int, $3::int)", 3,
                                    NULL, params, NULL, NULL, 0) == 1;
        if (!sent[k] && rc == 0) {
            snprintf(err, errlen, "sign-off requests, part %d of %d: %s", k + 1, n,
                     PQerrorMessage(w->part_conn[k]));
            rc = -1;
        }
    }
    for (int k = 0; k < n; k++) {
        if (!sent[k])
            continue;
        PGresult *r;
        while ((r = PQgetResult(w->part_conn[k]))) {
            if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
                w->requests += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            else if (rc == 0) {
                snprintf(err, errlen, "sign-off requests, part %d of %d: %s", k + 1, n,
                         PQerrorMessage(w->part_conn[k]));
                rc = -1;
            }
            PQclear(r);
        }
    }
    return rc;
}

int score_store_finish(struct score_writer *w, const struct period_data *d,
                       const char (*flip)[SCORE_STORE_UUID_LEN], size_t n_flip,
                       const struct unit_score *units, size_t n_units, const struct score_quarantine *q,
                       size_t n_q, size_t *written, char *err, size_t errlen)
{
    PGconn *c = w->conn;
    long long t0 = daemon_now_ms();
    w->ms_copy_end = w->ms_commit = w->ms_parts = 0;
    if (pgcopy_trailer(&w->copy) < 0) {
        snprintf(err, errlen, "COPY buffer full");
        goto fail;
    }
    if (copy_flush(w, true, err, errlen) < 0 || copy_end(c, err, errlen) < 0)
        goto fail;
    long long t1 = daemon_now_ms();
    w->ms_copy_end = t1 - t0;

    const char *params[2] = {d->period, NULL};
    if (copy_heads(w, err, errlen) < 0)
        goto fail;
    PGresult *r = PQexecParams(
        c,
        "WITH upd AS ("
        "  INSERT INTO results AS r (employee, period, version, predikat, score, digest, calibration,"
        "                            hasil_rating, perilaku_rating, inputs_digest, updated_at)"
        "  SELECT n.employee, $1, n.version, n.predikat, n.score, n.digest, n.calibration,"
        "         n.hasil_rating, n.perilaku_rating, n.inputs_digest, now() FROM _score_new n"
        "  ON CONFLICT (employee, period) DO UPDATE"
        "    SET version = excluded.version, predikat = excluded.predikat, score = excluded.score,"
        "        digest = excluded.digest, calibration = excluded.calibration,"
        "        hasil_rating = excluded.hasil_rating, perilaku_rating = excluded.perilaku_rating,"
        "        inputs_digest = excluded.inputs_digest, updated_at = now()"
        "    WHERE NOT kinerja_frozen(r.state) AND r.version = excluded.version - 1"
        "  RETURNING 1"
        ") SELECT count(*) FROM upd",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "storing versions: %s", PQerrorMessage(c));
        PQclear(r);
        goto fail;
    }
    *written = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (*written < w->rows) {
        /* frozen (signed) meanwhile: the version written for it is taken back, unseen */
        r = PQexecParams(c, "SELECT kinerja_versions_take_back($1)", 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "taking back versions: %s", PQerrorMessage(c));
            PQclear(r);
            goto fail;
        }
        PQclear(r);
    }

    if (n_flip) {
        struct buf ids;
        buf_init(&ids, SCORE_STORE_COPY_MAX);
        if (append_uuid_array(&ids, flip, n_flip) < 0) {
            buf_free(&ids);
            snprintf(err, errlen, "too many flags to flip");
            goto fail;
        }
        /* the months the load read them from: feedback's key is (period, event_id), so
         * naming them reads only their partitions, by key */
        const char *p2[2] = {ids.data, d->period};
        r = PQexecParams(
            c,
            "UPDATE feedback SET repeat = NOT repeat WHERE period = ANY (kinerja_period_months($2))"
            " AND event_id = ANY($1::uuid[])",
            2, NULL, p2, NULL, NULL, 0);
        buf_free(&ids);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "kiosk flags: %s", PQerrorMessage(c));
            PQclear(r);
            goto fail;
        }
        PQclear(r);
    }

    if (n_units) {
        r = PQexec(c, "COPY _unit_new FROM STDIN");
        if (PQresultStatus(r) != PGRES_COPY_IN) {
            snprintf(err, errlen, "%s", PQerrorMessage(c));
            PQclear(r);
            goto fail;
        }
        PQclear(r);
        buf_reset(&w->copy);
        for (size_t i = 0; i < n_units; i++) {
            const struct unit_score *u = &units[i];
            struct buf *b = &w->copy;
            int rc = buf_printf(b, "%s\t", u->unit); /* already in COPY form: it came out of COPY */
            if (u->ikm.n > 0) {
                rc |= buf_printf(b, "%.2f\t%s\t%d\t{", u->ikm.value, ikm_mutu_name(u->ikm.mutu), u->ikm.n);
                for (int k = 0; k < IKM_ELEMENTS; k++)
                    rc |= buf_printf(b, "%s%.4f", k ? "," : "", u->ikm.element_mean[k]);
                rc |= buf_puts(b, "}\t");
            } else {
                rc |= buf_puts(b, "\\N\t\\N\t0\t\\N\t");
            }
            if (u->sat.n > 0)
                rc |= buf_printf(b, "%.4f\t", u->sat.mean);
            else
                rc |= buf_puts(b, "\\N\t");
            rc |= buf_printf(b, "%d\t%d\t%d\n", u->sat.presses, u->sat.repeats, u->sat.n);
            if (rc || copy_flush(w, false, err, errlen) < 0) {
                if (rc)
                    snprintf(err, errlen, "COPY buffer full");
                goto fail;
            }
        }
        if (copy_flush(w, true, err, errlen) < 0 || copy_end(c, err, errlen) < 0)
            goto fail;
        r = PQexecParams(
            c,
            "INSERT INTO unit_scores AS u (period, unit, ikm, mutu, skm_n, element_means, satisfaction,"
            " presses, repeats, counted, computed_at)"
            " SELECT $1, unit, ikm, mutu, skm_n, element_means, satisfaction, presses, repeats, counted,"
            " now() FROM _unit_new"
            " ON CONFLICT (period, unit) DO UPDATE SET ikm = excluded.ikm, mutu = excluded.mutu,"
            " skm_n = excluded.skm_n, element_means = excluded.element_means,"
            " satisfaction = excluded.satisfaction, presses = excluded.presses,"
            " repeats = excluded.repeats, counted = excluded.counted, computed_at = now()"
            " WHERE (u.ikm, u.mutu, u.skm_n, u.satisfaction, u.presses, u.repeats, u.counted)"
            " IS DISTINCT FROM (excluded.ikm, excluded.mutu, excluded.skm_n, excluded.satisfaction,"
            " excluded.presses, excluded.repeats, excluded.counted)",
            1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "unit scores: %s", PQerrorMessage(c));
            PQclear(r);
            goto fail;
        }
        PQclear(r);
    }

    if (store_quarantine(c, d->period, q, n_q, err, errlen) < 0)
        goto fail;

    w->requests = 0;
    bool split = w->n_parts >= 2 && w->part_conn;
    if (!split) {
        r = PQexecParams(c, "SELECT kinerja_after_score($1)", 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "after score: %s", PQerrorMessage(c));
            PQclear(r);
            goto fail;
        }
        PQclear(r);
        if (mark_computed(c, d, err, errlen) < 0)
            goto fail;
    }
    if (exec_cmd(c, "COMMIT", err, errlen) < 0)
        goto fail;
    long long t2 = daemon_now_ms();
    w->ms_commit = t2 - t1;
    buf_free(&w->copy);
    buf_free(&w->heads);
    if (split && (signoff_parts(w, d->period, err, errlen) < 0 || mark_computed(c, d, err, errlen) < 0))
        return -1;
    w->ms_parts = split ? daemon_now_ms() - t2 : 0;
    return 0;
fail:
    score_store_abort(w);
    return -1;
}
