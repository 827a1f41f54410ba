/*
 * score_raters: rater effects over a period: leniency of each rater, credibility weights, the supervisor
 * calibration test.
 */
#include "score.h"
#include "score_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- rater effects */

struct st_item {
    int32_t key, other;
    double y, w;
    size_t k;
};

static int st_cmp(const void *pa, const void *pb)
{
    const struct st_item *a = pa, *b = pb;
    if (a->key != b->key)
        return (a->key > b->key) - (a->key < b->key);
    if (a->other != b->other)
        return (a->other > b->other) - (a->other < b->other);
    if (a->y != b->y)
        return (a->y > b->y) - (a->y < b->y);
    return (a->w > b->w) - (a->w < b->w);
}

/* Runs up to this long are sorted by insertion (st_cmp inlined) rather than by qsort. */
#define ST_INSERTION_MAX 48

/* Puts it[0..m) in st_cmp order: a counting sort by key (0..nkeys-1) into tmp, then
 * each key's (short) run sorted in place; the same order as one qsort, in O(m) plus the
 * runs. start has nkeys + 1 entries. Returns the sorted array (it or tmp). */
static struct st_item *st_sort(struct st_item *it, struct st_item *tmp, size_t m, size_t nkeys, size_t *start)
{
    memset(start, 0, (nkeys + 1) * sizeof *start);
    for (size_t i = 0; i < m; i++)
        start[(size_t)it[i].key + 1]++;
    for (size_t k = 0; k < nkeys; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < m; i++)
        tmp[start[it[i].key]++] = it[i];
    for (size_t k = 0, a = 0; k < nkeys; k++) { /* start[k] is now the end of run k */
        size_t len = start[k] - a;
        if (len > ST_INSERTION_MAX) {
            qsort(tmp + a, len, sizeof *tmp, st_cmp);
        } else {
            for (size_t i = a + 1; i < start[k]; i++) {
                struct st_item v = tmp[i];
                size_t j = i;
                while (j > a && st_cmp(&tmp[j - 1], &v) > 0) {
                    tmp[j] = tmp[j - 1];
                    j--;
                }
                tmp[j] = v;
            }
        }
        a = start[k];
    }
    return tmp;
}

/* fits[back[k]].test_offset for every rating k. A rating's departure is y minus its
 * ratee's level without it (every other rating about them, corrected). The rater's
 * offset is sum w d / (sum w + shrink_k) over their departures; the ratings whose
 * departure from that is more than z_max standard errors (scale x sqrt(1 + 1/n), n the
 * ratee's other ratings) are left out and it is computed again: the test offset. Sums
 * are taken in a canonical order (by ratee, rater, y, w; then by rater, ratee). */
int score_test_offsets(const struct rater_effects *re, const int32_t *rater, const int32_t *ratee,
                       const double *y, size_t m, double shrink_k, double z_max, const size_t *back,
                       struct score_fit *fits)
{
    size_t np = re->n_people ? re->n_people : 1;
    struct st_item *buf = malloc((m ? m : 1) * sizeof *buf), *tmp = malloc((m ? m : 1) * sizeof *tmp), *it;
    size_t *start = malloc((np + 1) * sizeof *start);
    double *wsum = calloc(np, sizeof *wsum);
    int *cnt = calloc(np, sizeof *cnt);
    double *dep = malloc((m ? m : 1) * sizeof *dep), *se = malloc((m ? m : 1) * sizeof *se);
    if (!buf || !tmp || !start || !wsum || !cnt || !dep || !se) {
        free(buf);
        free(tmp);
        free(start);
        free(wsum);
        free(cnt);
        free(dep);
        free(se);
        return -1;
    }
    for (size_t k = 0; k < m; k++)
        buf[k] = (struct st_item){ratee[k], rater[k], y[k], re->weight[k], k};
    it = st_sort(buf, tmp, m, re->n_people, start);
    for (size_t i = 0; i < m; i++) {
        wsum[it[i].key] += it[i].w;
        cnt[it[i].key]++;
    }
    for (size_t k = 0; k < m; k++) {
        int32_t e = ratee[k];
        double W = wsum[e], w = re->weight[k];
        dep[k] = NAN;
        se[k] = re->scale * sqrt(1.0 + 1.0 / (cnt[e] > 1 ? cnt[e] - 1 : 1));
        if (cnt[e] > 1 && W - w > 1e-12)
            dep[k] = y[k] - (re->level[e] * W - w * (y[k] - re->offset[rater[k]])) / (W - w);
    }
    for (size_t k = 0; k < m; k++)
        buf[k] = (struct st_item){rater[k], ratee[k], isnan(dep[k]) ? 0 : dep[k], re->weight[k], k};
    it = st_sort(buf, tmp, m, re->n_people, start);
    for (size_t a = 0; a < m;) {
        size_t b = a;
        while (b < m && it[b].key == it[a].key)
            b++;
        double o = 0;
        for (int pass = 0; pass < 2; pass++) {
            double s = 0, sw = 0;
            for (size_t i = a; i < b; i++) {
                size_t k = it[i].k;
                if (isnan(dep[k]) || (pass > 0 && fabs(dep[k] - o) > z_max * se[k]))
                    continue;
                s += it[i].w * dep[k];
                sw += it[i].w;
            }
            o = s / (sw + shrink_k);
            if (!(sw + shrink_k > 0))
                o = 0;
        }
        for (size_t i = a; i < b; i++)
            fits[back[it[i].k]].test_offset = o;
        a = b;
    }
    free(buf);
    free(tmp);
    free(start);
    free(wsum);
    free(cnt);
    free(dep);
    free(se);
    return 0;
}

int score_rater_effects(const struct score_params *p, const struct score_evaluation *evs, size_t n,
                        size_t n_people, struct score_fit *fits, struct score_model *model, char *err,
                        size_t errlen)
{
    size_t m = 0;
    if (model)
        memset(model, 0, sizeof *model);
    for (size_t i = 0; i < n; i++) {
        fits[i].offset = 0;
        fits[i].weight = 1;
        fits[i].test_offset = 0;
        if (score_check_evaluation(&evs[i], i, err, errlen) < 0)
            return -1;
        if (evs[i].rater < 0 || (size_t)evs[i].rater >= n_people || evs[i].ratee < 0 ||
            (size_t)evs[i].ratee >= n_people) {
            snprintf(err, errlen, "evaluation %zu: rater or ratee index outside 0..%zu", i, n_people);
            return -1;
        }
        if (evs[i].relation != RELATION_SELF && score_rated_count(&evs[i]) > 0)
            m++;
    }
    if ((!p->rater_effects && !(p->calibration && model)) || m == 0)
        return 0;

    int32_t *rater = malloc(m * sizeof *rater);
    int32_t *ratee = malloc(m * sizeof *ratee);
    double *y = malloc(m * sizeof *y);
    size_t *back = malloc(m * sizeof *back);
    struct rater_effects *re = rater_effects_new(n_people, m);
    int rc = -1;
    if (!rater || !ratee || !y || !back || !re) {
        snprintf(err, errlen, "rater effects: out of memory for %zu ratings", m);
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].relation == RELATION_SELF || score_rated_count(&evs[i]) == 0)
            continue;
        rater[k] = evs[i].rater;
        ratee[k] = evs[i].ratee;
        y[k] = score_rated_mean(&evs[i]);
        back[k] = i;
        k++;
    }
    if (rater_effects_estimate(re, rater, ratee, y, p->leniency_min) < 0) {
        snprintf(err, errlen, "rater effects: %s", re->errstr);
        goto done;
    }
    if (p->rater_effects) {
        for (k = 0; k < m; k++) {
            fits[back[k]].offset = re->offset[rater[k]];
            fits[back[k]].weight = re->weight[k];
        }
        if (score_test_offsets(re, rater, ratee, y, m, p->leniency_min, SCORE_TEST_OFFSET_TRIM, back, fits) <
            0) {
            snprintf(err, errlen, "rater effects: out of memory for %zu ratings", m);
            goto done;
        }
    }
    if (model) {
        model->has_scale = true;
        model->scale = re->scale;
    }
    rc = 0;
done:
    rater_effects_destroy(&re);
    free(rater);
    free(ratee);
    free(y);
    free(back);
    return rc;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

int score_cmp_double(double a, double b)
{
    return (a > b) - (a < b);
}

static int sc_rating_cmp(const void *pa, const void *pb)
{
    const struct sc_rating *a = pa, *b = pb;
    int c;
    if ((c = cmp_i64(a->ev.relation, b->ev.relation)))
        return c;
    if ((c = cmp_i64(a->ev.ratee, b->ev.ratee)))
        return c;
    if ((c = cmp_i64(a->ev.rater, b->ev.rater)))
        return c;
    if ((c = cmp_i64(a->ev.ts_ms, b->ev.ts_ms)))
        return c;
    if ((c = memcmp(a->ev.values, b->ev.values, SCORE_VALUES)))
        return c;
    if ((c = cmp_i64(a->ev.hasil_kerja, b->ev.hasil_kerja)))
        return c;
    if ((c = score_cmp_double(a->fit.offset, b->fit.offset)))
        return c;
    if ((c = score_cmp_double(a->fit.test_offset, b->fit.test_offset)))
        return c;
    return score_cmp_double(a->fit.weight, b->fit.weight);
}

static int fb_cmp(const void *pa, const void *pb)
{
    const struct ikm_feedback *a = pa, *b = pb;
    int c;
    if ((c = cmp_i64(a->employee, b->employee)))
        return c;
    if ((c = cmp_i64(a->device, b->device)))
        return c;
    if ((c = cmp_i64(a->ts_ms, b->ts_ms)))
        return c;
    if ((c = cmp_i64(a->rating, b->rating)))
        return c;
    if ((c = memcmp(a->skm, b->skm, IKM_ELEMENTS)))
        return c;
    return cmp_i64(a->respondent, b->respondent);
}

int score_ind_cmp(const void *pa, const void *pb)
{
    const struct score_indicator *a = pa, *b = pb;
    int c;
    if ((c = strncmp(a->code, b->code, sizeof a->code)))
        return c;
    if ((c = score_cmp_double(a->target, b->target)))
        return c;
    if ((c = score_cmp_double(a->realization, b->realization)))
        return c;
    if ((c = score_cmp_double(a->weight, b->weight)))
        return c;
    return cmp_i64(a->direction, b->direction);
}

/* The value a rating contributes once rater effects are applied (or not). */
double score_sc_corrected(const struct score_params *p, const struct sc_rating *r, int j)
{
    if (!p->rater_effects || r->ev.relation == RELATION_SELF)
        return r->ev.values[j];
    return r->ev.values[j] - r->fit.offset;
}

double score_sc_weight(const struct score_params *p, const struct sc_rating *r)
{
    if (!p->rater_effects || r->ev.relation == RELATION_SELF)
        return 1.0;
    return r->fit.weight;
}

struct sc_rating *score_sc_ratings_sorted(const struct score_params *p, const struct score_evaluation *evs,
                                          const struct score_fit *fits, size_t n, char *err, size_t errlen)
{
    struct sc_rating *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory for %zu evaluations", n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (score_check_evaluation(&evs[i], i, err, errlen) < 0) {
            free(r);
            return NULL;
        }
        r[i].ev = evs[i];
        r[i].fit.offset = fits ? fits[i].offset : 0;
        r[i].fit.weight = fits ? fits[i].weight : 1;
        r[i].fit.test_offset = fits ? fits[i].test_offset : 0;
        if (p->rater_effects && r[i].ev.relation != RELATION_SELF &&
            (!isfinite(r[i].fit.offset) || !(r[i].fit.weight > 0 && r[i].fit.weight <= 1))) {
            snprintf(err, errlen, "evaluation %zu: fit offset must be finite and weight in (0, 1]", i);
            free(r);
            return NULL;
        }
    }
    qsort(r, n, sizeof *r, sc_rating_cmp);
    return r;
}

/* Feedback copied and sorted, with repeat flags (all false when the step is off). */
int score_fb_sorted(const struct score_params *p, const struct ikm_feedback *fb, size_t n,
                    struct ikm_feedback **out, bool **repeat, char *err, size_t errlen)
{
    *out = malloc((n ? n : 1) * sizeof **out);
    *repeat = calloc(n ? n : 1, sizeof **repeat);
    if (!*out || !*repeat) {
        free(*out);
        free(*repeat);
        snprintf(err, errlen, "out of memory for %zu feedback records", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char why[96];
        if (ikm_feedback_check(&fb[i], why, sizeof why) < 0) {
            snprintf(err, errlen, "feedback %zu: %s", i, why);
            free(*out);
            free(*repeat);
            return -1;
        }
        (*out)[i] = fb[i];
    }
    qsort(*out, n, sizeof **out, fb_cmp);
    if (p->kiosk_misuse && ikm_mark_repeats(*out, n, p->kiosk_repeat_s, *repeat) < 0) {
        free(*out);
        free(*repeat);
        snprintf(err, errlen, "out of memory marking kiosk repeats");
        return -1;
    }
    return 0;
}
