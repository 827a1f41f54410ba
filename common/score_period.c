/*
 * score_period: a whole period: every employee scored with the joint rater-effects estimate, one callback per
 * result.
 */
#include "score.h"
#include "score_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- a whole period */

/* What the threads of one round read (all of it fixed during the round) and where they
 * write: results[k] and status[k] of the round's employee base + k, and its slot. */
struct period_view {
    const struct score_params *p;
    const struct score_parallel *par;
    const struct score_model *model;
    const struct score_indicator *inds;
    const size_t *ind_start;
    const struct score_evaluation *evs;
    const struct score_fit *efits;
    const size_t *ev_start;
    const struct ikm_feedback *fbs;
    const size_t *fb_start;
    struct score_result *results;
    int *status;
};

struct round_part {
    const struct period_view *v;
    size_t base, lo, hi; /* employees base + lo .. base + hi */
};

static void *slot_at(const struct score_parallel *par, size_t k)
{
    return par->slots ? (char *)par->slots + k * par->slot_size : NULL;
}

static void *round_part_run(void *arg)
{
    const struct round_part *rp = arg;
    const struct period_view *v = rp->v;
    for (size_t k = rp->lo; k < rp->hi; k++) {
        size_t e = rp->base + k;
        struct score_employee_input ei = {
            .indicators = v->inds + v->ind_start[e],
            .n_indicators = v->ind_start[e + 1] - v->ind_start[e],
            .evaluations = v->evs + v->ev_start[e],
            .fits = v->efits + v->ev_start[e],
            .n_evaluations = v->ev_start[e + 1] - v->ev_start[e],
            .feedback = v->fbs + v->fb_start[e],
            .n_feedback = v->fb_start[e + 1] - v->fb_start[e],
            .model = v->model,
        };
        v->status[k] = score_employee(v->p, &ei, &v->results[k]);
        if (v->status[k] == 0 && v->par->prepare)
            v->par->prepare(e, &v->results[k], slot_at(v->par, k), v->par->ctx);
    }
    return NULL;
}

/* Scores employees base .. base + n on up to `threads` threads, the caller's the first. A
 * thread that cannot be started leaves its part to the caller. */
static void run_round(const struct period_view *v, size_t base, size_t n, int threads)
{
    struct round_part parts[SCORE_PARALLEL_THREADS_MAX];
    pthread_t tid[SCORE_PARALLEL_THREADS_MAX];
    bool started[SCORE_PARALLEL_THREADS_MAX] = {false};
    if ((size_t)threads > n)
        threads = n ? (int)n : 1;
    for (int t = 0; t < threads; t++)
        parts[t] = (struct round_part){v, base, n * (size_t)t / (size_t)threads,
                                       n * (size_t)(t + 1) / (size_t)threads};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, round_part_run, &parts[t]) == 0;
    round_part_run(&parts[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            round_part_run(&parts[t]);
    }
}

/* Stable counting sort of 0..n-1 by key[i] in 0..nkeys-1: order[] and start[nkeys+1]. */
static void counting_order(const int32_t *key, size_t n, size_t nkeys, size_t *order, size_t *start)
{
    memset(start, 0, (nkeys + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[(size_t)key[i] + 1]++;
    for (size_t k = 0; k < nkeys; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < n; i++)
        order[start[key[i]]++] = i;
    for (size_t k = nkeys; k > 0; k--)
        start[k] = start[k - 1];
    start[0] = 0;
}

/* One employee's citizen value of berorientasi_pelayanan (after the kiosk step) minus
 * their joint level of it (every corrected non-self rating). Returns 1 with *gap, 0 when
 * either is missing, -1 on an invalid record or out of memory. */
static int score_citizen_gap(const struct score_params *p, const struct score_employee_input *in, double *gap,
                             char *err, size_t errlen)
{
    const int j = SCORE_VALUE_PELAYANAN;
    if (in->n_feedback == 0 || in->n_evaluations == 0)
        return 0;
    struct sc_rating *r = score_sc_ratings_sorted(p, in->evaluations, p->rater_effects ? in->fits : NULL,
                                                  in->n_evaluations, err, errlen);
    if (!r)
        return -1;
    struct ikm_feedback *fb;
    bool *repeat;
    if (score_fb_sorted(p, in->feedback, in->n_feedback, &fb, &repeat, err, errlen) < 0) {
        free(r);
        return -1;
    }
    struct cw *x = malloc((in->n_evaluations + 1) * sizeof *x);
    int rc = -1;
    if (!x) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < in->n_evaluations; i++) {
        if (r[i].ev.relation == RELATION_SELF || !r[i].ev.values[j])
            continue;
        x[n].c = score_sc_corrected(p, &r[i], j);
        x[n].w = score_sc_weight(p, &r[i]);
        n++;
    }
    score_cw_sort(x, n);
    double cs = 0;
    int cn = 0;
    for (size_t i = 0; i < in->n_feedback; i++)
        if (!repeat[i]) {
            cs += ikm_feedback_scale5(&fb[i]);
            cn++;
        }
    rc = 0;
    if (n > 0 && cn > 0) {
        *gap = cs / cn - score_cw_mean(x, n);
        rc = 1;
    }
out:
    free(x);
    free(r);
    free(fb);
    free(repeat);
    return rc;
}

int score_period_parallel(const struct score_params *p, const struct score_period_input *in,
                          const struct score_parallel *par, char *err, size_t errlen)
{
    const size_t ne = in->n_employees, nev = in->n_evaluations, nfb = in->n_feedback, nind = in->n_indicators;
    if (ne > RATER_EFFECTS_MAX_PEOPLE) {
        snprintf(err, errlen, "too many employees (%zu)", ne);
        return -1;
    }
    for (size_t e = 0; e < ne; e++)
        if (in->unit && in->unit[e] < 0) {
            snprintf(err, errlen, "employee %zu: unit index must be >= 0", e);
            return -1;
        }
    for (size_t i = 0; i < nfb; i++)
        if (in->feedback[i].employee != IKM_NO_EMPLOYEE &&
            (in->feedback[i].employee < 0 || (uint64_t)in->feedback[i].employee >= ne)) {
            snprintf(err, errlen, "feedback %zu: employee index outside 0..%zu", i, ne);
            return -1;
        }
    for (size_t i = 0; i < nind; i++)
        if (in->indicator_employee[i] < 0 || (size_t)in->indicator_employee[i] >= ne) {
            snprintf(err, errlen, "indicator %zu: employee index outside 0..%zu", i, ne);
            return -1;
        }

    int rc = -1;
    struct score_model model;
    struct score_fit *fits = malloc((nev ? nev : 1) * sizeof *fits);
    /* per employee: evaluations (with fits), feedback, indicators, contiguous */
    size_t *ev_order = malloc((nev ? nev : 1) * sizeof *ev_order),
           *ev_start = malloc((ne + 1) * sizeof *ev_start);
    int32_t *ev_key = calloc(nev ? nev : 1, sizeof *ev_key);
    int32_t *fb_key = calloc(nfb ? nfb : 1, sizeof *fb_key);
    size_t *fb_order = malloc((nfb ? nfb : 1) * sizeof *fb_order),
           *fb_start = malloc((ne + 2) * sizeof *fb_start);
    size_t *ind_order = malloc((nind ? nind : 1) * sizeof *ind_order),
           *ind_start = malloc((ne + 1) * sizeof *ind_start);
    struct score_evaluation *evs = malloc((nev ? nev : 1) * sizeof *evs);
    struct score_fit *efits = malloc((nev ? nev : 1) * sizeof *efits);
    struct ikm_feedback *fbs = malloc((nfb ? nfb : 1) * sizeof *fbs);
    struct score_indicator *inds = malloc((nind ? nind : 1) * sizeof *inds);
    struct score_result *results = malloc(SCORE_PARALLEL_BLOCK * sizeof *results);
    int *status = malloc(SCORE_PARALLEL_BLOCK * sizeof *status);
    if (!fits || !ev_order || !ev_start || !ev_key || !fb_key || !fb_order || !fb_start || !ind_order ||
        !ind_start || !evs || !efits || !fbs || !inds || !results || !status) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (score_rater_effects(p, in->evaluations, nev, ne, fits, &model, err, errlen) < 0)
        goto done;

    for (size_t i = 0; i < nev; i++)
        ev_key[i] = in->evaluations[i].ratee;
    counting_order(ev_key, nev, ne, ev_order, ev_start);
    for (size_t k = 0; k < nev; k++) {
        evs[k] = in->evaluations[ev_order[k]];
        efits[k] = fits[ev_order[k]];
    }
    /* feedback about no employee goes to key ne (last), not used for perilaku */
    for (size_t i = 0; i < nfb; i++)
        fb_key[i] =
            in->feedback[i].employee == IKM_NO_EMPLOYEE ? (int32_t)ne : (int32_t)in->feedback[i].employee;
    counting_order(fb_key, nfb, ne + 1, fb_order, fb_start);
    for (size_t k = 0; k < nfb; k++)
        fbs[k] = in->feedback[fb_order[k]];
    counting_order(in->indicator_employee, nind, ne, ind_order, ind_start);
    for (size_t k = 0; k < nind; k++)
        inds[k] = in->indicators[ind_order[k]];

    /* the citizens' group offset: their generosity against the joint levels */
    if (p->citizen_offset) {
        double gs = 0;
        int gn = 0;
        for (size_t e = 0; e < ne; e++) {
            struct score_employee_input ei = {
                .evaluations = evs + ev_start[e],
                .fits = efits + ev_start[e],
                .n_evaluations = ev_start[e + 1] - ev_start[e],
                .feedback = fbs + fb_start[e],
                .n_feedback = fb_start[e + 1] - fb_start[e],
            };
            double gap;
            int got = score_citizen_gap(p, &ei, &gap, err, errlen);
            if (got < 0)
                goto done;
            if (got) {
                gs += gap;
                gn++;
            }
        }
        if (gn > 0) {
            model.has_citizen_offset = true;
            model.citizen_offset = gs / gn;
            model.citizen_offset_n = gn;
        }
    }

    struct period_view view = {
        .p = p,
        .par = par,
        .model = &model,
        .inds = inds,
        .ind_start = ind_start,
        .evs = evs,
        .efits = efits,
        .ev_start = ev_start,
        .fbs = fbs,
        .fb_start = fb_start,
        .results = results,
        .status = status,
    };
    int threads = par->threads < 1                            ? 1
                  : par->threads > SCORE_PARALLEL_THREADS_MAX ? SCORE_PARALLEL_THREADS_MAX
                                                              : par->threads;
    for (size_t base = 0; base < ne; base += SCORE_PARALLEL_BLOCK) {
        size_t n = ne - base < SCORE_PARALLEL_BLOCK ? ne - base : SCORE_PARALLEL_BLOCK;
        run_round(&view, base, n, threads);
        for (size_t k = 0; k < n; k++) {
            if (status[k] < 0) {
                snprintf(err, errlen, "employee %zu: %s", base + k, results[k].err);
                goto done;
            }
            int stop = par->commit(base + k, &results[k], slot_at(par, k), par->ctx);
            if (stop) {
                snprintf(err, errlen, "stopped by the caller at employee %zu", base + k);
                rc = stop;
                goto out;
            }
        }
    }
    rc = 0;
    goto out;
done:
    rc = -1;
out:
    free(results);
    free(status);
    free(fits);
    free(ev_order);
    free(ev_start);
    free(ev_key);
    free(fb_key);
    free(fb_order);
    free(fb_start);
    free(ind_order);
    free(ind_start);
    free(evs);
    free(efits);
    free(fbs);
    free(inds);
    return rc;
}

struct each_adapter {
    score_each_fn each;
    void *ctx;
};

static int each_commit(size_t employee, const struct score_result *r, void *slot, void *ctx)
{
    (void)slot;
    const struct each_adapter *a = ctx;
    return a->each(employee, r, a->ctx);
}

int score_period_each(const struct score_params *p, const struct score_period_input *in, score_each_fn each,
                      void *ctx, char *err, size_t errlen)
{
    struct each_adapter a = {each, ctx};
    struct score_parallel par = {.threads = 1, .commit = each_commit, .ctx = &a};
    return score_period_parallel(p, in, &par, err, errlen);
}

static int score_copy_result(size_t employee, const struct score_result *r, void *ctx)
{
    struct score_result *results = ctx;
    results[employee] = *r;
    return 0;
}

int score_period(const struct score_params *p, const struct score_period_input *in,
                 struct score_result *results, char *err, size_t errlen)
{
    return score_period_each(p, in, score_copy_result, results, err, errlen);
}
