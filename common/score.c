#include "score.h"
#include "score_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rater_effects.h"

const char *const score_group_names[SCORE_GROUP_COUNT] = {
    "supervisor", "peer", "subordinate", "citizen", "self",
};

/* t quantile 0.975 for 1..30 degrees of freedom. */
static const double t975[SCORE_T_TABLE_DF + 1] = {
    0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
    2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

static double score_t975(int df)
{
    if (df <= 0)
        return NAN;
    if (df <= SCORE_T_TABLE_DF)
        return t975[df];
    return SCORE_Z_975 + 2.5 / df; /* within 0.002 of the true quantile above 30 df */
}

const char *score_rating_name(enum score_rating r)
{
    switch (r) {
    case SCORE_RATING_ABOVE:
        return "above";
    case SCORE_RATING_MEETS:
        return "meets";
    case SCORE_RATING_BELOW:
        return "below";
    default:
        return "none";
    }
}

const char *score_predikat_code(enum score_predikat p)
{
    if (p <= SCORE_PREDIKAT_NONE || p > SCORE_PREDIKAT_SANGAT_KURANG)
        return NULL;
    return event_predikat_codes[p - SCORE_PREDIKAT_SANGAT_BAIK];
}

/* ---------------------------------------------------------------- predikat */

enum score_predikat score_predikat_of(enum score_rating hasil, enum score_rating perilaku)
{
    if (hasil == SCORE_RATING_NONE || perilaku == SCORE_RATING_NONE)
        return SCORE_PREDIKAT_NONE;
    if (hasil == SCORE_RATING_BELOW)
        return perilaku == SCORE_RATING_BELOW ? SCORE_PREDIKAT_SANGAT_KURANG : SCORE_PREDIKAT_BUTUH_PERBAIKAN;
    if (perilaku == SCORE_RATING_BELOW)
        return SCORE_PREDIKAT_KURANG; /* misconduct, whatever the work results */
    if (hasil == SCORE_RATING_ABOVE && perilaku == SCORE_RATING_ABOVE)
        return SCORE_PREDIKAT_SANGAT_BAIK;
    return SCORE_PREDIKAT_BAIK;
}

/* ---------------------------------------------------------------- helpers */

static int score_group_of(enum relation r)
{
    switch (r) {
    case RELATION_SUPERVISOR:
        return SCORE_GROUP_SUPERVISOR;
    case RELATION_PEER:
        return SCORE_GROUP_PEER;
    case RELATION_SUBORDINATE:
        return SCORE_GROUP_SUBORDINATE;
    case RELATION_SELF:
        return SCORE_GROUP_SELF;
    default:
        return SCORE_GROUP_COUNT;
    }
}

int score_rated_count(const struct score_evaluation *ev)
{
    int k = 0;
    for (int j = 0; j < SCORE_VALUES; j++)
        if (ev->values[j])
            k++;
    return k;
}

double score_rated_mean(const struct score_evaluation *ev)
{
    int k = 0, s = 0;
    for (int j = 0; j < SCORE_VALUES; j++)
        if (ev->values[j]) {
            s += ev->values[j];
            k++;
        }
    return k ? (double)s / k : NAN;
}

int score_check_evaluation(const struct score_evaluation *ev, size_t i, char *err, size_t errlen)
{
    if (score_group_of(ev->relation) == SCORE_GROUP_COUNT) {
        snprintf(err, errlen, "evaluation %zu: relation must be supervisor, peer, subordinate or self", i);
        return -1;
    }
    for (int j = 0; j < SCORE_VALUES; j++) {
        if (ev->values[j] > SCORE_VALUE_MAX) {
            snprintf(err, errlen, "evaluation %zu: %s must be 1..5 or 0 (not rated), got %d", i,
                     event_behaviour_keys[j], ev->values[j]);
            return -1;
        }
    }
    if ((unsigned)ev->hasil_kerja > HASIL_BELOW) {
        snprintf(err, errlen, "evaluation %zu: hasil_kerja out of range", i);
        return -1;
    }
    return 0;
}

static double clamp_scale(double x)
{
    if (x < SCORE_VALUE_MIN)
        return SCORE_VALUE_MIN;
    if (x > SCORE_VALUE_MAX)
        return SCORE_VALUE_MAX;
    return x;
}

/* ---------------------------------------------------------------- one employee */

int score_cw_cmp(const void *pa, const void *pb)
{
    const struct cw *a = pa, *b = pb;
    int c = score_cmp_double(a->c, b->c);
    return c ? c : score_cmp_double(a->w, b->w);
}

/* Up to this many pairs, score_cw_sort sorts by insertion: a group's ratings are a few
 * dozen, and glibc's qsort (a merge sort calling score_cw_cmp through a pointer) was a
 * quarter of the score worker's time. */
#define SCORE_CW_INSERTION_MAX 48

static bool cw_after(const struct cw *a, const struct cw *b)
{
    return a->c > b->c || (a->c == b->c && a->w > b->w);
}

/* x in score_cw_cmp order (pairs that compare equal are equal: their order changes no
 * sum). */
void score_cw_sort(struct cw *x, size_t n)
{
    if (n > SCORE_CW_INSERTION_MAX) {
        qsort(x, n, sizeof *x, score_cw_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct cw v = x[i];
        size_t j = i;
        while (j > 0 && cw_after(&x[j - 1], &v)) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
}

double score_cw_mean(const struct cw *x, size_t n)
{
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i].w * x[i].c;
        sw += x[i].w;
    }
    return sw > 0 ? s / sw : NAN;
}

/* One group and value from its (corrected value, weight) pairs x[0..n): rater effects
 * (the weighted mean; for citizens, whose x holds the responses counted after the kiosk
 * step, that is the kiosk step's result), the citizens' group offset (shift, subtracted
 * from x already: `shift` is added back for the step before), robust location. The
 * credibility factor Z is recorded; it splits the group's weight, not its value. x is
 * put in canonical order first, so the sums do not depend on where the ratings came
 * from. raw_mean is the plain mean before any step. */
static void score_group_value_steps(const struct score_params *p, int g, double raw_mean, double shift,
                                    struct cw *x, size_t n, struct score_group_value *gv)
{
    score_cw_sort(x, n);
    gv->n = (int)n;
    gv->raw = raw_mean;
    gv->citizen_offset = score_cw_mean(x, n);
    gv->rater_effects = gv->citizen_offset + shift;
    gv->robust_location = gv->citizen_offset;
    if (p->robust_location && n >= SCORE_ROBUST_MIN_N)
        gv->robust_location = score_cw_mean(x + 1, n - 2);
    gv->z = 1.0;
    if (p->credibility && g != SCORE_GROUP_SUPERVISOR && g != SCORE_GROUP_SELF)
        gv->z = (double)n / ((double)n + p->credibility_k);
}

/* The 95% interval of a group's mean from the per-rating means, within the 1..5 scale. */
static void score_ci(struct score_group_result *gr, const double *per_rating, size_t n)
{
    gr->has_ci = false;
    if (n < 2 || !gr->has_mean)
        return;
    double m = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        m += per_rating[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (per_rating[i] - m) * (per_rating[i] - m);
    double sd = sqrt(ss / (double)(n - 1));
    double half = score_t975((int)n - 1) * sd / sqrt((double)n);
    gr->has_ci = true;
    gr->ci_lo = clamp_scale(gr->mean - half);
    gr->ci_hi = clamp_scale(gr->mean + half);
}

static double score_indicator_achievement(const struct score_params *p, const struct score_indicator *ind)
{
    double a;
    if (ind->direction == DIRECTION_LOWER_BETTER)
        a = ind->realization > 0 ? ind->target / ind->realization : p->achievement_cap;
    else
        a = ind->realization / ind->target;
    return a > p->achievement_cap ? p->achievement_cap : a;
}

static void score_hasil_kerja(const struct score_params *p, const struct score_indicator *ind, size_t n,
                              const struct sc_rating *r, size_t nr, struct score_result *out)
{
    out->n_indicators = (int)n;
    /* weights relative to the largest, so that tiny (even subnormal) weights keep their
     * ratios: 5e-324 x 0.3 would round to 0 and make the achievement 0 */
    double wmax = 0;
    for (size_t i = 0; i < n; i++)
        if (ind[i].weight > wmax)
            wmax = ind[i].weight;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double a = score_indicator_achievement(p, &ind[i]);
        double w = wmax > 0 ? ind[i].weight / wmax : 0;
        s += w * a;
        sw += w;
        if (i < SCORE_DETAIL_MAX) {
            struct score_indicator_detail *d = &out->detail[out->n_detail++];
            snprintf(d->code, sizeof d->code, "%.*s", (int)sizeof ind[i].code - 1, ind[i].code);
            d->target = ind[i].target;
            d->realization = ind[i].realization;
            d->weight = ind[i].weight;
            d->direction = ind[i].direction;
            d->achievement = a;
        }
    }
    out->has_achievement = n > 0 && sw > 0;
    out->achievement = out->has_achievement ? s / sw : 0;
    out->score_achievement = out->achievement;

    /* the supervisor's own judgement wins; the latest one when there are several
     * (r is sorted by relation, ratee, rater, ts: scan for the greatest ts) */
    const struct sc_rating *judge = NULL;
    for (size_t i = 0; i < nr; i++)
        if (r[i].ev.relation == RELATION_SUPERVISOR && r[i].ev.hasil_kerja != HASIL_NONE &&
            (!judge || r[i].ev.ts_ms >= judge->ev.ts_ms))
            judge = &r[i];
    out->hasil = SCORE_RATING_NONE;
    if (judge) {
        out->hasil_from_supervisor = true;
        out->hasil = judge->ev.hasil_kerja == HASIL_ABOVE   ? SCORE_RATING_ABOVE
                     : judge->ev.hasil_kerja == HASIL_MEETS ? SCORE_RATING_MEETS
                                                            : SCORE_RATING_BELOW;
        /* SPEC 5.5: the score's hasil part stays inside the band of the rating given, so
         * a `below` never outranks a `meets` (at a band's edge the two can tie; the
         * predikat orders them first anyway) */
        double a = out->achievement;
        if (out->hasil == SCORE_RATING_ABOVE && a < p->hk_above)
            a = p->hk_above;
        else if (out->hasil == SCORE_RATING_MEETS && a < p->hk_meets)
            a = p->hk_meets;
        else if (out->hasil == SCORE_RATING_MEETS && a > p->hk_above)
            a = p->hk_above;
        else if (out->hasil == SCORE_RATING_BELOW && a > p->hk_meets)
            a = p->hk_meets;
        out->score_achievement = a;
    } else if (out->has_achievement) {
        out->hasil = out->achievement >= p->hk_above   ? SCORE_RATING_ABOVE
                     : out->achievement >= p->hk_meets ? SCORE_RATING_MEETS
                                                       : SCORE_RATING_BELOW;
    }
}

/* The mean of a rating's rated values, corrected by its rater's offset. */
static double sc_corrected_mean(const struct score_params *p, const struct sc_rating *r)
{
    double cm = 0;
    int k = 0;
    for (int j = 0; j < SCORE_VALUES; j++)
        if (r->ev.values[j]) {
            cm += score_sc_corrected(p, r, j);
            k++;
        }
    return k ? cm / k : NAN;
}

static bool sc_is_crowd_rating(const struct sc_rating *r)
{
    return r->ev.relation == RELATION_PEER || r->ev.relation == RELATION_SUBORDINATE;
}

/* One group's result from its ratings: in(g) says whether rating r[i] belongs to it
 * (hidden: any rating of a hidden crowd group, for the pool), the citizens' responses
 * when cit. x and per have room for nr + nfb entries. */
struct score_group_members {
    bool eval_group[SCORE_GROUP_COUNT + 1]; /* evaluations of these relations' groups */
    bool citizens;
};

static void score_group_build(const struct score_params *p, int g, const struct score_group_members *mem,
                              const struct sc_rating *r, size_t nr, const struct ikm_feedback *fb,
                              const bool *repeat, size_t nfb, double cit_offset, struct cw *x, double *per,
                              struct score_group_result *gr)
{
    memset(gr, 0, sizeof *gr);
    gr->robust_weight = 1.0;
    for (int h = 0; h < SCORE_GROUP_COUNT; h++)
        if (mem->eval_group[h] || (h == SCORE_GROUP_CITIZEN && mem->citizens))
            gr->weight += p->weight[h];
    size_t nrated = 0;
    double wsum = 0;
    for (size_t i = 0; i < nr; i++) {
        if (!mem->eval_group[score_group_of(r[i].ev.relation)] || score_rated_count(&r[i].ev) == 0)
            continue;
        per[nrated++] = sc_corrected_mean(p, &r[i]);
        wsum += score_sc_weight(p, &r[i]);
    }
    size_t nresp = 0;
    if (mem->citizens)
        for (size_t i = 0; i < nfb; i++) {
            if (fb[i].rating)
                gr->presses++;
            else
                gr->skm++;
            if (repeat[i]) {
                gr->repeats++;
                continue;
            }
            per[nrated + nresp++] = ikm_feedback_scale5(&fb[i]) - cit_offset;
            wsum += 1.0;
        }
    gr->n = (int)(nrated + nresp);
    if (gr->n == 0)
        return;
    gr->robust_weight = wsum / (double)gr->n;
    for (int j = 0; j < SCORE_VALUES; j++) {
        size_t n = 0, nall = 0;
        double raw = 0;
        for (size_t i = 0; i < nr; i++) {
            if (!mem->eval_group[score_group_of(r[i].ev.relation)] || !r[i].ev.values[j])
                continue;
            raw += r[i].ev.values[j];
            nall++;
            x[n].c = score_sc_corrected(p, &r[i], j);
            x[n].w = score_sc_weight(p, &r[i]);
            n++;
        }
        if (mem->citizens && j == SCORE_VALUE_PELAYANAN)
            for (size_t i = 0; i < nfb; i++) {
                raw += ikm_feedback_scale5(&fb[i]);
                nall++;
                if (repeat[i])
                    continue;
                x[n].c = ikm_feedback_scale5(&fb[i]) - cit_offset;
                x[n].w = 1.0;
                n++;
            }
        if (n == 0)
            continue;
        gr->has[j] = true;
        score_group_value_steps(p, g, raw / (double)nall, g == SCORE_GROUP_CITIZEN ? cit_offset : 0, x, n,
                                &gr->values[j]);
        for (int h = 0; h < SCORE_GROUP_COUNT; h++) {
            bool rated = false;
            if (h == SCORE_GROUP_CITIZEN)
                rated = mem->citizens && j == SCORE_VALUE_PELAYANAN && nresp > 0;
            else if (mem->eval_group[h])
                for (size_t i = 0; i < nr && !rated; i++)
                    rated = score_group_of(r[i].ev.relation) == h && r[i].ev.values[j];
            if (rated)
                gr->values[j].weight += p->weight[h];
        }
    }
    double s = 0;
    int k = 0;
    for (int j = 0; j < SCORE_VALUES; j++)
        if (gr->has[j]) {
            s += gr->values[j].robust_location;
            k++;
        }
    gr->has_mean = k > 0;
    gr->mean = k ? s / k : 0;
    score_ci(gr, per, (size_t)gr->n);
}

/* The calibration test (SPEC 5.3): the supervisor's corrected mean against the level
 * the other non-self ratings imply (peers and subordinates, not the supervisor's own
 * rating under another relation), over its standard error. */
static void score_calibration_test(const struct score_params *p, const struct sc_rating *r, size_t nr,
                                   const struct score_model *model, struct score_calibration *c)
{
    memset(c, 0, sizeof *c);
    double ss = 0, so = 0, swo = 0;
    int m = 0, n = 0;
    /* r is sorted by relation first: the supervisor ratings are r[s0..s1) */
    size_t s0 = 0, s1;
    while (s0 < nr && r[s0].ev.relation != RELATION_SUPERVISOR)
        s0++;
    for (s1 = s0; s1 < nr && r[s1].ev.relation == RELATION_SUPERVISOR; s1++)
        ;
    for (size_t i = 0; i < nr; i++) {
        if (score_rated_count(&r[i].ev) == 0)
            continue;
        if (r[i].ev.relation == RELATION_SUPERVISOR) {
            /* the supervisor's offset over the ratings the test does not flag */
            ss +=
                sc_corrected_mean(p, &r[i]) + (p->rater_effects ? r[i].fit.offset - r[i].fit.test_offset : 0);
            m++;
        } else if (sc_is_crowd_rating(&r[i])) {
            /* a supervisor who also rated as a peer or subordinate is not an "other" */
            bool is_sup = false;
            for (size_t k = s0; k < s1 && !is_sup; k++)
                is_sup = r[k].ev.rater == r[i].ev.rater;
            if (is_sup)
                continue;
            double w = score_sc_weight(p, &r[i]);
            so += w * sc_corrected_mean(p, &r[i]);
            swo += w;
            n++;
        }
    }
    c->n = n;
    if (m == 0 || n < SCORE_CALIBRATION_MIN_N || swo <= 0 || !model || !model->has_scale ||
        !(model->scale > 0))
        return;
    c->tested = true;
    c->residual = ss / m - so / swo;
    c->se = model->scale * sqrt(1.0 / m + 1.0 / n);
    c->z = c->residual / c->se;
    c->flag = p->calibration && fabs(c->z) > p->calibration_z;
}

/* Combines value j over the groups that count: the supervisor (weight x robust weight,
 * x calibration_factor when calibrated and flagged), each shown crowd group with weight
 * x Z, the pool of hidden crowd groups likewise, self; the crowd groups' (1 - Z) goes
 * to the ratee's joint level of j (dropped when there is none). skip_self leaves self
 * out. Returns false when nothing with weight rated j. */
static bool score_combine(const struct score_params *p, const struct score_result *out, const bool *hidden,
                          int j, bool skip_self, bool calibrated, double *value, double *sup_weight,
                          double *joint_weight)
{
    double s = 0, sw = 0, jw = 0;
    *sup_weight = 0;
    for (int g = 0; g <= SCORE_GROUP_COUNT; g++) {
        const struct score_group_result *gr = g == SCORE_GROUP_COUNT ? &out->others : &out->groups[g];
        if (g == SCORE_GROUP_COUNT ? !out->has_others : hidden[g])
            continue;
        if (!gr->has[j] || (skip_self && g == SCORE_GROUP_SELF))
            continue;
        double w = gr->values[j].weight;
        if (g == SCORE_GROUP_SUPERVISOR) {
            w *= gr->robust_weight;
            if (calibrated && out->calibration.flag)
                w *= p->calibration_factor;
            *sup_weight = w;
        }
        if (w <= 0)
            continue;
        double z = gr->values[j].z;
        s += w * z * gr->values[j].robust_location;
        sw += w * z;
        jw += w * (1.0 - z);
    }
    if (out->values[j].has_joint && jw > 0) {
        s += jw * out->values[j].joint;
        sw += jw;
    } else {
        jw = 0;
    }
    *joint_weight = jw;
    if (sw <= 0)
        return false;
    *value = s / sw;
    return true;
}

static int score_perilaku(const struct score_params *p, const struct sc_rating *r, size_t nr,
                          const struct ikm_feedback *fb, const bool *repeat, size_t nfb,
                          const struct score_model *model, struct score_result *out)
{
    size_t cap = nr + nfb + 1;
    struct cw *x = malloc(cap * sizeof *x);
    double *per = malloc(cap * sizeof *per);
    if (!x || !per) {
        free(x);
        free(per);
        snprintf(out->err, sizeof out->err, "out of memory");
        return -1;
    }
    double cit_offset = 0;
    if (p->citizen_offset && model && model->has_citizen_offset)
        cit_offset = model->citizen_offset;

    for (int g = 0; g < SCORE_GROUP_COUNT; g++) {
        struct score_group_members mem = {{false}, false};
        if (g == SCORE_GROUP_CITIZEN)
            mem.citizens = true;
        else
            mem.eval_group[g] = true;
        score_group_build(p, g, &mem, r, nr, fb, repeat, nfb, cit_offset, x, per, &out->groups[g]);
    }

    /* anonymity: crowd groups below the minimum are never shown on their own; they are
     * pooled into one group for display and computation */
    bool hidden[SCORE_GROUP_COUNT] = {false};
    struct score_group_members pool = {{false}, false};
    for (int g = 0; g < SCORE_GROUP_COUNT; g++) {
        struct score_group_result *gr = &out->groups[g];
        bool crowd = g == SCORE_GROUP_PEER || g == SCORE_GROUP_SUBORDINATE || g == SCORE_GROUP_CITIZEN;
        hidden[g] = crowd && gr->n > 0 && gr->n < p->anonymity_min;
        gr->shown = !(crowd && gr->n < p->anonymity_min);
        if (hidden[g]) {
            out->has_others = true;
            if (g == SCORE_GROUP_CITIZEN)
                pool.citizens = true;
            else
                pool.eval_group[g] = true;
        }
    }
    if (out->has_others) {
        score_group_build(p, SCORE_GROUP_PEER, &pool, r, nr, fb, repeat, nfb, cit_offset, x, per,
                          &out->others);
        bool ok = out->others.n >= p->anonymity_min;
        for (int j = 0; j < SCORE_VALUES; j++)
            if (out->others.has[j] && out->others.values[j].n < p->anonymity_min)
                ok = false;
        out->others.shown = ok;
        out->restricted = !ok;
    }

    /* the ratee's joint level per value: every corrected non-self rating of it */
    for (int j = 0; j < SCORE_VALUES; j++) {
        struct score_value_result *vr = &out->values[j];
        size_t n = 0;
        for (size_t i = 0; i < nr; i++) {
            if (r[i].ev.relation == RELATION_SELF || !r[i].ev.values[j])
                continue;
            x[n].c = score_sc_corrected(p, &r[i], j);
            x[n].w = score_sc_weight(p, &r[i]);
            n++;
        }
        score_cw_sort(x, n);
        vr->joint_n = (int)n;
        vr->has_joint = n > 0;
        vr->joint = n ? score_cw_mean(x, n) : 0;
    }

    score_calibration_test(p, r, nr, model, &out->calibration);
    out->calibration_flag = out->calibration.flag;

    double total = 0;
    int nvalues = 0;
    for (int j = 0; j < SCORE_VALUES; j++) {
        struct score_value_result *vr = &out->values[j];
        vr->calibration_flag = out->calibration.flag && out->groups[SCORE_GROUP_SUPERVISOR].has[j];
        double before = 0, after = 0, w0 = 0, w1 = 0, jw = 0;
        if (!score_combine(p, out, hidden, j, false, false, &before, &w0, &jw))
            continue;
        score_combine(p, out, hidden, j, false, true, &after, &w1, &jw);
        vr->has = true;
        vr->before_calibration = before;
        vr->value = clamp_scale(after);
        vr->supervisor_weight = w1;
        vr->joint_weight = jw;
        if (out->groups[SCORE_GROUP_SELF].has[j]) {
            double others, w2, jw2;
            if (score_combine(p, out, hidden, j, true, true, &others, &w2, &jw2)) {
                vr->has_self_gap = true;
                vr->self_gap = out->groups[SCORE_GROUP_SELF].values[j].robust_location - clamp_scale(others);
            }
        }
        total += vr->value;
        nvalues++;
    }
    out->has_perilaku = nvalues > 0;
    out->perilaku = nvalues ? total / nvalues : 0;
    out->perilaku_rating = SCORE_RATING_NONE;
    if (out->has_perilaku)
        out->perilaku_rating = out->perilaku >= p->pk_above   ? SCORE_RATING_ABOVE
                               : out->perilaku >= p->pk_meets ? SCORE_RATING_MEETS
                                                              : SCORE_RATING_BELOW;
    free(x);
    free(per);
    return 0;
}

static int score_check_params(const struct score_params *p, char *err, size_t errlen)
{
    if (!(p->achievement_cap >= 1) || !(p->leniency_min >= 0) || !(p->credibility_k >= 0) ||
        !(p->calibration_factor >= 0) || !(p->calibration_z > 0) || !(p->w_hasil >= 0) ||
        !(p->w_perilaku >= 0)) {
        snprintf(err, errlen, "parameters out of range (see common/config.c)");
        return -1;
    }
    for (int g = 0; g < SCORE_GROUP_COUNT; g++)
        if (!(p->weight[g] >= 0)) {
            snprintf(err, errlen, "weight.%s: must be >= 0", score_group_names[g]);
            return -1;
        }
    return 0;
}

/* An indicator code as events carry it (printable ASCII, NUL-terminated in its field);
 * anything else (a caller that did not fill it) becomes "" (unknown), never bytes
 * that would make the JSON invalid. */
static void score_code_sanitize(char *code, size_t size)
{
    size_t n = 0;
    while (n < size && code[n])
        n++;
    bool ok = n < size;
    for (size_t i = 0; ok && i < n; i++)
        ok = code[i] > 0x20 && code[i] < 0x7f;
    if (!ok)
        code[0] = '\0';
}

int score_employee(const struct score_params *p, const struct score_employee_input *in,
                   struct score_result *out)
{
    memset(out, 0, sizeof *out);
    if (score_check_params(p, out->err, sizeof out->err) < 0)
        return -1;
    if (p->rater_effects && in->n_evaluations > 0 && !in->fits) {
        snprintf(out->err, sizeof out->err,
                 "rater effects are on but no fits were given (score_rater_effects)");
        return -1;
    }
    for (size_t i = 0; i < in->n_indicators; i++) {
        const struct score_indicator *ind = &in->indicators[i];
        if (!(ind->target > 0) || !(ind->realization >= 0) || !(ind->weight > 0) || !isfinite(ind->target) ||
            !isfinite(ind->realization) || !isfinite(ind->weight)) {
            snprintf(out->err, sizeof out->err,
                     "indicator %zu: target and weight must be > 0 and realization >= 0, all finite", i);
            return -1;
        }
    }

    struct score_indicator *ind = malloc((in->n_indicators ? in->n_indicators : 1) * sizeof *ind);
    struct sc_rating *r = NULL;
    struct ikm_feedback *fb = NULL;
    bool *repeat = NULL;
    int rc = -1;
    if (!ind) {
        snprintf(out->err, sizeof out->err, "out of memory");
        goto done;
    }
    if (in->n_indicators)
        memcpy(ind, in->indicators, in->n_indicators * sizeof *ind);
    for (size_t i = 0; i < in->n_indicators; i++)
        score_code_sanitize(ind[i].code, sizeof ind[i].code);
    qsort(ind, in->n_indicators, sizeof *ind, score_ind_cmp);
    r = score_sc_ratings_sorted(p, in->evaluations, p->rater_effects ? in->fits : NULL, in->n_evaluations,
                                out->err, sizeof out->err);
    if (!r)
        goto done;
    if (score_fb_sorted(p, in->feedback, in->n_feedback, &fb, &repeat, out->err, sizeof out->err) < 0) {
        fb = NULL;
        repeat = NULL;
        goto done;
    }

    if (in->model)
        out->model = *in->model;
    score_hasil_kerja(p, ind, in->n_indicators, r, in->n_evaluations, out);
    if (score_perilaku(p, r, in->n_evaluations, fb, repeat, in->n_feedback, in->model, out) < 0)
        goto done;

    out->predikat = score_predikat_of(out->hasil, out->perilaku_rating);
    double wsum = p->w_hasil + p->w_perilaku;
    if (out->has_achievement && out->has_perilaku && wsum > 0) {
        double h = out->score_achievement / p->achievement_cap * SCORE_PERCENT;
        if (h > SCORE_PERCENT)
            h = SCORE_PERCENT;
        double b = (out->perilaku - SCORE_VALUE_MIN) / SCORE_SCALE_SPAN * SCORE_PERCENT;
        out->has_score = true;
        out->score = (p->w_hasil * h + p->w_perilaku * b) / wsum;
    }

    for (int j = 0; j < SCORE_VALUES; j++) {
        if (!out->values[j].has || !(out->values[j].value < p->training_threshold))
            continue;
        struct score_training *t = &out->training[out->n_training++];
        t->value = j;
        t->mean = out->values[j].value;
    }

    ikm_compute(fb, in->n_feedback, &out->ikm);
    out->has_ikm = out->ikm.n > 0 && out->ikm.n >= p->ikm_min_responses;
    ikm_satisfaction(fb, in->n_feedback, repeat, &out->satisfaction);
    rc = 0;
done:
    free(ind);
    free(r);
    free(fb);
    free(repeat);
    return rc;
}
