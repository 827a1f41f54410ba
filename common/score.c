#include "score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rater_effects.h"

#define SCORE_PERCENT 100.0
#define SCORE_SCALE_SPAN (SCORE_VALUE_MAX - SCORE_VALUE_MIN) /* 4: (perilaku - 1) / 4 */
#define SCORE_ROBUST_MIN_N 5      /* robust location applies from this many ratings */
#define SCORE_CALIBRATION_MIN_N 3 /* the calibration test needs this many other raters */
/* The supervisor offset the calibration test uses is computed again without the ratings
 * more than this many standard errors from it (score_test_offsets). */
#define SCORE_TEST_OFFSET_TRIM 2.0
#define SCORE_T_TABLE_DF 30
#define SCORE_Z_975 1.96
#define SCORE_JSON_ZERO 0.00005 /* |x| below this prints as 0.0000, never -0.0000 */
#define SCORE_BREAKDOWN_FORMAT 2

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

/* ---------------------------------------------------------------- parameters */

void score_params_default(struct score_params *p)
{
    memset(p, 0, sizeof *p);
    p->achievement_cap = 1.2;
    p->hk_above = 1.10;
    p->hk_meets = 0.85;
    p->pk_above = 3.75;
    p->pk_meets = 2.75;
    p->w_hasil = 0.6;
    p->w_perilaku = 0.4;
    p->ikm_min_responses = 10;
    p->version_min_delta = 0.5;
    p->weight[SCORE_GROUP_SUPERVISOR] = 0.02;
    p->weight[SCORE_GROUP_PEER] = 0.2;
    p->weight[SCORE_GROUP_SUBORDINATE] = 0.15;
    p->weight[SCORE_GROUP_CITIZEN] = 0.25;
    p->weight[SCORE_GROUP_SELF] = 0;
    p->kiosk_misuse = true;
    p->kiosk_repeat_s = 10;
    p->rater_effects = true;
    p->leniency_min = 3;
    p->robust_location = true;
    p->credibility = true;
    p->credibility_k = 3;
    p->calibration = true;
    p->calibration_delta = 1.0;
    p->calibration_z = 3.0;
    p->calibration_factor = 1.0;
    p->citizen_offset = true;
    p->anonymity_min = 3;
    p->training_threshold = 3.0;
}

static int score_value_index(const char *name)
{
    for (int j = 0; j < SCORE_VALUES; j++)
        if (strcmp(event_behaviour_keys[j], name) == 0)
            return j;
    return -1;
}

int score_params_from_config(const struct config *cfg, struct score_params *p, char *err, size_t errlen)
{
    score_params_default(p);
    p->achievement_cap = config_double(cfg, "score.achievement_cap");
    p->hk_above = config_double(cfg, "score.hk_above");
    p->hk_meets = config_double(cfg, "score.hk_meets");
    p->pk_above = config_double(cfg, "score.pk_above");
    p->pk_meets = config_double(cfg, "score.pk_meets");
    p->w_hasil = config_double(cfg, "score.w_hasil");
    p->w_perilaku = config_double(cfg, "score.w_perilaku");
    p->ikm_min_responses = (int)config_int(cfg, "score.ikm_min_responses");
    p->version_min_delta = config_double(cfg, "score.version_min_delta");
    p->weight[SCORE_GROUP_SUPERVISOR] = config_double(cfg, "weight.supervisor");
    p->weight[SCORE_GROUP_PEER] = config_double(cfg, "weight.peer");
    p->weight[SCORE_GROUP_SUBORDINATE] = config_double(cfg, "weight.subordinate");
    p->weight[SCORE_GROUP_CITIZEN] = config_double(cfg, "weight.citizen");
    p->weight[SCORE_GROUP_SELF] = config_double(cfg, "weight.self");
    p->kiosk_misuse = config_bool(cfg, "fairness.kiosk_misuse");
    p->kiosk_repeat_s = (int)config_int(cfg, "fairness.kiosk_repeat_s");
    p->rater_effects = config_bool(cfg, "fairness.rater_effects");
    p->leniency_min = config_double(cfg, "fairness.leniency_min");
    p->robust_location = config_bool(cfg, "fairness.robust_location");
    p->credibility = config_bool(cfg, "fairness.credibility");
    p->credibility_k = config_double(cfg, "fairness.credibility_k");
    p->calibration = config_bool(cfg, "fairness.calibration");
    p->calibration_delta = config_double(cfg, "fairness.calibration_delta");
    p->calibration_z = config_double(cfg, "fairness.calibration_z");
    p->citizen_offset = config_bool(cfg, "fairness.citizen_offset");
    p->calibration_factor = config_double(cfg, "fairness.calibration_factor");
    p->anonymity_min = (int)config_int(cfg, "fairness.anonymity_min");
    p->training_threshold = config_double(cfg, "training.threshold");

    if (p->hk_meets > p->hk_above) {
        snprintf(err, errlen, "score.hk_meets (%g) must not exceed score.hk_above (%g)", p->hk_meets,
                 p->hk_above);
        return -1;
    }
    if (p->pk_meets > p->pk_above) {
        snprintf(err, errlen, "score.pk_meets (%g) must not exceed score.pk_above (%g)", p->pk_meets,
                 p->pk_above);
        return -1;
    }

    size_t iter = 0;
    const char *key, *value;
    while (config_section_next(cfg, "training", &iter, &key, &value) == 0) {
        int j = score_value_index(key);
        if (j < 0) {
            snprintf(err, errlen, "training.%s: not a BerAKHLAK value (%s, %s, ...)", key,
                     event_behaviour_keys[0], event_behaviour_keys[1]);
            return -1;
        }
        if (strlen(value) >= SCORE_COURSE_MAX) {
            snprintf(err, errlen, "training.%s: course title longer than %d bytes", key,
                     SCORE_COURSE_MAX - 1);
            return -1;
        }
        snprintf(p->course[j], SCORE_COURSE_MAX, "%s", value);
    }
    return 0;
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

static int score_rated_count(const struct score_evaluation *ev)
{
    int k = 0;
    for (int j = 0; j < SCORE_VALUES; j++)
        if (ev->values[j])
            k++;
    return k;
}

static double score_rated_mean(const struct score_evaluation *ev)
{
    int k = 0, s = 0;
    for (int j = 0; j < SCORE_VALUES; j++)
        if (ev->values[j]) {
            s += ev->values[j];
            k++;
        }
    return k ? (double)s / k : NAN;
}

static int score_check_evaluation(const struct score_evaluation *ev, size_t i, char *err, size_t errlen)
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
        if (start[k] - a > 1)
            qsort(tmp + a, start[k] - a, sizeof *tmp, st_cmp);
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
static int score_test_offsets(const struct rater_effects *re, const int32_t *rater, const int32_t *ratee,
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

/* An evaluation with its fit, as score_employee and the citizen offset sort them. */
struct sc_rating {
    struct score_evaluation ev;
    struct score_fit fit;
};

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int cmp_double(double a, double b)
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
    if ((c = cmp_double(a->fit.offset, b->fit.offset)))
        return c;
    if ((c = cmp_double(a->fit.test_offset, b->fit.test_offset)))
        return c;
    return cmp_double(a->fit.weight, b->fit.weight);
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

static int ind_cmp(const void *pa, const void *pb)
{
    const struct score_indicator *a = pa, *b = pb;
    int c;
    if ((c = strncmp(a->code, b->code, sizeof a->code)))
        return c;
    if ((c = cmp_double(a->target, b->target)))
        return c;
    if ((c = cmp_double(a->realization, b->realization)))
        return c;
    if ((c = cmp_double(a->weight, b->weight)))
        return c;
    return cmp_i64(a->direction, b->direction);
}

/* The value a rating contributes once rater effects are applied (or not). */
static double sc_corrected(const struct score_params *p, const struct sc_rating *r, int j)
{
    if (!p->rater_effects || r->ev.relation == RELATION_SELF)
        return r->ev.values[j];
    return r->ev.values[j] - r->fit.offset;
}

static double sc_weight(const struct score_params *p, const struct sc_rating *r)
{
    if (!p->rater_effects || r->ev.relation == RELATION_SELF)
        return 1.0;
    return r->fit.weight;
}

static struct sc_rating *sc_ratings_sorted(const struct score_params *p, const struct score_evaluation *evs,
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
static int fb_sorted(const struct score_params *p, const struct ikm_feedback *fb, size_t n,
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

/* ---------------------------------------------------------------- one employee */

struct cw {
    double c, w;
};

static int cw_cmp(const void *pa, const void *pb)
{
    const struct cw *a = pa, *b = pb;
    int c = cmp_double(a->c, b->c);
    return c ? c : cmp_double(a->w, b->w);
}

static double cw_mean(const struct cw *x, size_t n)
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
    qsort(x, n, sizeof *x, cw_cmp);
    gv->n = (int)n;
    gv->raw = raw_mean;
    gv->citizen_offset = cw_mean(x, n);
    gv->rater_effects = gv->citizen_offset + shift;
    gv->robust_location = gv->citizen_offset;
    if (p->robust_location && n >= SCORE_ROBUST_MIN_N)
        gv->robust_location = cw_mean(x + 1, n - 2);
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
            cm += sc_corrected(p, r, j);
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
        wsum += sc_weight(p, &r[i]);
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
            x[n].c = sc_corrected(p, &r[i], j);
            x[n].w = sc_weight(p, &r[i]);
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
            double w = sc_weight(p, &r[i]);
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
            x[n].c = sc_corrected(p, &r[i], j);
            x[n].w = sc_weight(p, &r[i]);
            n++;
        }
        qsort(x, n, sizeof *x, cw_cmp);
        vr->joint_n = (int)n;
        vr->has_joint = n > 0;
        vr->joint = n ? cw_mean(x, n) : 0;
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
    qsort(ind, in->n_indicators, sizeof *ind, ind_cmp);
    r = sc_ratings_sorted(p, in->evaluations, p->rater_effects ? in->fits : NULL, in->n_evaluations, out->err,
                          sizeof out->err);
    if (!r)
        goto done;
    if (fb_sorted(p, in->feedback, in->n_feedback, &fb, &repeat, out->err, sizeof out->err) < 0) {
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

/* ---------------------------------------------------------------- a whole period */

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
    struct sc_rating *r = sc_ratings_sorted(p, in->evaluations, p->rater_effects ? in->fits : NULL,
                                            in->n_evaluations, err, errlen);
    if (!r)
        return -1;
    struct ikm_feedback *fb;
    bool *repeat;
    if (fb_sorted(p, in->feedback, in->n_feedback, &fb, &repeat, err, errlen) < 0) {
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
        x[n].c = sc_corrected(p, &r[i], j);
        x[n].w = sc_weight(p, &r[i]);
        n++;
    }
    qsort(x, n, sizeof *x, cw_cmp);
    double cs = 0;
    int cn = 0;
    for (size_t i = 0; i < in->n_feedback; i++)
        if (!repeat[i]) {
            cs += ikm_feedback_scale5(&fb[i]);
            cn++;
        }
    rc = 0;
    if (n > 0 && cn > 0) {
        *gap = cs / cn - cw_mean(x, n);
        rc = 1;
    }
out:
    free(x);
    free(r);
    free(fb);
    free(repeat);
    return rc;
}

int score_period_each(const struct score_params *p, const struct score_period_input *in, score_each_fn each,
                      void *ctx, char *err, size_t errlen)
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
    struct score_result *result = malloc(sizeof *result);
    if (!fits || !ev_order || !ev_start || !ev_key || !fb_key || !fb_order || !fb_start || !ind_order ||
        !ind_start || !evs || !efits || !fbs || !inds || !result) {
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

    for (size_t e = 0; e < ne; e++) {
        struct score_employee_input ei = {
            .indicators = inds + ind_start[e],
            .n_indicators = ind_start[e + 1] - ind_start[e],
            .evaluations = evs + ev_start[e],
            .fits = efits + ev_start[e],
            .n_evaluations = ev_start[e + 1] - ev_start[e],
            .feedback = fbs + fb_start[e],
            .n_feedback = fb_start[e + 1] - fb_start[e],
            .model = &model,
        };
        if (score_employee(p, &ei, result) < 0) {
            snprintf(err, errlen, "employee %zu: %s", e, result->err);
            goto done;
        }
        int stop = each(e, result, ctx);
        if (stop) {
            snprintf(err, errlen, "stopped by the caller at employee %zu", e);
            rc = stop;
            goto out;
        }
    }
    rc = 0;
    goto out;
done:
    rc = -1;
out:
    free(result);
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

/* ---------------------------------------------------------------- JSON */

/* Below this magnitude j_num formats without printf: x * 10^4 is then below 2^34, so
 * its rounding error (at most 2^-19) is far below SCORE_JSON_TIE_MARGIN. */
#define SCORE_JSON_FAST_MAX 1e6
/* Within this of a half unit of the fourth decimal, the exact value decides the
 * rounding (printf): the fast path steps aside. */
#define SCORE_JSON_TIE_MARGIN 1e-4
#define SCORE_JSON_DIGITS_MAX 24

/* Appends the decimal digits of v (no sign). */
static int j_uint(struct buf *b, unsigned long long v)
{
    char d[SCORE_JSON_DIGITS_MAX];
    size_t n = 0;
    do {
        d[sizeof d - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof d);
    return buf_append(b, d + sizeof d - n, n);
}

/* "%d" without printf (a result's JSON holds hundreds of numbers; printf was a third
 * of the score worker's CPU time). */
static int j_int(struct buf *b, int v)
{
    if (v < 0 && buf_putc(b, '-') < 0)
        return -1;
    return j_uint(b, v < 0 ? (unsigned long long)(-(long long)v) : (unsigned long long)v);
}

/* x as "%.4f" would print it, byte for byte: the correctly rounded value with four
 * decimals. The fast path rounds x * 10^4, which gives the same digits unless the exact
 * value lies next to a half unit (then printf, which rounds the exact value, decides). */
static int j_fixed4(struct buf *b, double x)
{
    double a = fabs(x) * 10000.0;
    double whole = floor(a), frac = a - whole;
    if (!(fabs(x) < SCORE_JSON_FAST_MAX) || fabs(frac - 0.5) < SCORE_JSON_TIE_MARGIN)
        return buf_printf(b, "%.4f", x);
    unsigned long long q = (unsigned long long)whole + (frac > 0.5);
    char dec[5] = {(char)('0' + q / 1000 % 10), (char)('0' + q / 100 % 10), (char)('0' + q / 10 % 10),
                   (char)('0' + q % 10), '\0'};
    if (signbit(x) && buf_putc(b, '-') < 0)
        return -1;
    if (j_uint(b, q / 10000) < 0 || buf_putc(b, '.') < 0)
        return -1;
    return buf_append(b, dec, 4);
}

static int j_num(struct buf *b, double x)
{
    if (!isfinite(x))
        return buf_puts(b, "null");
    if (fabs(x) < SCORE_JSON_ZERO)
        x = 0.0;
    return j_fixed4(b, x);
}

static int j_opt(struct buf *b, bool has, double x)
{
    return has ? j_num(b, x) : buf_puts(b, "null");
}

static int j_str(struct buf *b, const char *s)
{
    if (!s)
        return buf_puts(b, "null");
    if (buf_putc(b, '"') < 0 || buf_json_escape(b, s, strlen(s)) < 0)
        return -1;
    return buf_putc(b, '"');
}

static int j_bool(struct buf *b, bool v)
{
    return buf_puts(b, v ? "true" : "false");
}

/* Appends `"key":` with a leading comma unless first. */
static int j_key(struct buf *b, bool *first, const char *key)
{
    if (!*first && buf_putc(b, ',') < 0)
        return -1;
    *first = false;
    /* keys are this file's identifiers and event_behaviour_keys: nothing to escape */
    if (buf_putc(b, '"') < 0 || buf_puts(b, key) < 0)
        return -1;
    return buf_append(b, "\":", 2);
}

#define J(expr)                                                                                              \
    do {                                                                                                     \
        if ((expr) < 0)                                                                                      \
            return -1;                                                                                       \
    } while (0)

static int j_group_value(struct buf *b, const struct score_group_value *v, bool has, int g)
{
    if (!has)
        return buf_puts(b, "null");
    bool f = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "n"));
    J(j_int(b, v->n));
    J(j_key(b, &f, "raw"));
    J(j_num(b, v->raw));
    if (g == SCORE_GROUP_CITIZEN) {
        J(j_key(b, &f, "kiosk_misuse"));
        J(j_num(b, v->rater_effects)); /* citizens have no rater effect: this is after dedupe */
        J(j_key(b, &f, "citizen_offset"));
        J(j_num(b, v->citizen_offset));
    } else {
        J(j_key(b, &f, "rater_effects"));
        J(j_num(b, v->rater_effects));
    }
    J(j_key(b, &f, "robust_location"));
    J(j_num(b, v->robust_location));
    J(j_key(b, &f, "z"));
    J(j_num(b, v->z));
    return buf_putc(b, '}');
}

static int j_ci(struct buf *b, const struct score_group_result *gr)
{
    if (!gr->has_ci)
        return buf_puts(b, "null");
    J(buf_putc(b, '['));
    J(j_num(b, gr->ci_lo));
    J(buf_putc(b, ','));
    J(j_num(b, gr->ci_hi));
    return buf_putc(b, ']');
}

/* full: the breakdown's group object; otherwise the summary perilaku.groups shows.
 * g == SCORE_GROUP_COUNT is the pool of hidden crowd groups ("others"). figures: false
 * when the result is restricted by anonymity and this group's figures would let a
 * reader work a hidden group out (the supervisor's): n only. */
static int j_group(struct buf *b, const struct score_group_result *gr, int g, bool full, bool figures)
{
    if (gr->n == 0 && !(g == SCORE_GROUP_CITIZEN && gr->presses + gr->skm > 0))
        return buf_puts(b, "null");
    bool f = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "shown"));
    J(j_bool(b, gr->shown));
    if (!gr->shown)
        return buf_putc(b, '}');
    J(j_key(b, &f, "n"));
    J(j_int(b, gr->n));
    J(j_key(b, &f, "mean"));
    J(j_opt(b, figures && gr->has_mean, gr->mean));
    J(j_key(b, &f, "ci95"));
    if (figures)
        J(j_ci(b, gr));
    else
        J(buf_puts(b, "null"));
    if (!full)
        return buf_putc(b, '}');
    J(j_key(b, &f, "weight"));
    J(j_num(b, gr->weight));
    J(j_key(b, &f, "robust_weight"));
    J(j_opt(b, figures, gr->robust_weight));
    if (g == SCORE_GROUP_CITIZEN) {
        J(j_key(b, &f, "presses"));
        J(j_int(b, gr->presses));
        J(j_key(b, &f, "repeats"));
        J(j_int(b, gr->repeats));
        J(j_key(b, &f, "skm"));
        J(j_int(b, gr->skm));
    }
    J(j_key(b, &f, "values"));
    if (!figures)
        return buf_puts(b, "null}");
    J(buf_putc(b, '{'));
    bool fv = true;
    for (int j = 0; j < SCORE_VALUES; j++) {
        if (g == SCORE_GROUP_CITIZEN && j != SCORE_VALUE_PELAYANAN)
            continue;
        J(j_key(b, &fv, event_behaviour_keys[j]));
        J(j_group_value(b, &gr->values[j], gr->has[j], g));
    }
    J(buf_putc(b, '}'));
    return buf_putc(b, '}');
}

static int j_groups(struct buf *b, const struct score_result *r, bool full)
{
    bool f = true;
    J(buf_putc(b, '{'));
    for (int g = 0; g < SCORE_GROUP_COUNT; g++) {
        J(j_key(b, &f, score_group_names[g]));
        J(j_group(b, &r->groups[g], g, full, !(r->restricted && g == SCORE_GROUP_SUPERVISOR)));
    }
    J(j_key(b, &f, "others"));
    if (r->has_others)
        J(j_group(b, &r->others, SCORE_GROUP_COUNT, full, true));
    else
        J(buf_puts(b, "null"));
    return buf_putc(b, '}');
}

static int j_hasil(struct buf *b, const struct score_result *r)
{
    bool f = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "achievement"));
    J(j_opt(b, r->has_achievement, r->achievement));
    J(j_key(b, &f, "rating"));
    J(j_str(b, score_rating_name(r->hasil)));
    J(j_key(b, &f, "from_supervisor"));
    J(j_bool(b, r->hasil_from_supervisor));
    J(j_key(b, &f, "indicators"));
    J(j_int(b, r->n_indicators));
    J(j_key(b, &f, "detail"));
    J(buf_putc(b, '['));
    for (int i = 0; i < r->n_detail; i++) {
        const struct score_indicator_detail *d = &r->detail[i];
        bool fd = true;
        if (i)
            J(buf_putc(b, ','));
        J(buf_putc(b, '{'));
        J(j_key(b, &fd, "indicator"));
        J(j_str(b, d->code[0] ? d->code : NULL));
        J(j_key(b, &fd, "target"));
        J(j_num(b, d->target));
        J(j_key(b, &fd, "realization"));
        J(j_num(b, d->realization));
        J(j_key(b, &fd, "direction"));
        J(j_str(b, d->direction == DIRECTION_LOWER_BETTER ? "lower_better" : "higher_better"));
        J(j_key(b, &fd, "weight"));
        J(j_num(b, d->weight));
        J(j_key(b, &fd, "achievement"));
        J(j_num(b, d->achievement));
        J(buf_putc(b, '}'));
    }
    J(buf_putc(b, ']'));
    J(j_key(b, &f, "detail_omitted"));
    J(j_int(b, r->n_indicators - r->n_detail));
    return buf_putc(b, '}');
}

static int j_params(struct buf *b, const struct score_params *p)
{
    bool f = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "achievement_cap"));
    J(j_num(b, p->achievement_cap));
    J(j_key(b, &f, "hk_above"));
    J(j_num(b, p->hk_above));
    J(j_key(b, &f, "hk_meets"));
    J(j_num(b, p->hk_meets));
    J(j_key(b, &f, "pk_above"));
    J(j_num(b, p->pk_above));
    J(j_key(b, &f, "pk_meets"));
    J(j_num(b, p->pk_meets));
    J(j_key(b, &f, "w_hasil"));
    J(j_num(b, p->w_hasil));
    J(j_key(b, &f, "w_perilaku"));
    J(j_num(b, p->w_perilaku));
    J(j_key(b, &f, "weights"));
    J(buf_putc(b, '{'));
    bool fw = true;
    for (int g = 0; g < SCORE_GROUP_COUNT; g++) {
        J(j_key(b, &fw, score_group_names[g]));
        J(j_num(b, p->weight[g]));
    }
    J(buf_putc(b, '}'));
    J(j_key(b, &f, "kiosk_repeat_s"));
    J(j_int(b, p->kiosk_repeat_s));
    J(j_key(b, &f, "leniency_min"));
    J(j_num(b, p->leniency_min));
    J(j_key(b, &f, "credibility_k"));
    J(j_num(b, p->credibility_k));
    J(j_key(b, &f, "calibration_z"));
    J(j_num(b, p->calibration_z));
    J(j_key(b, &f, "calibration_factor"));
    J(j_num(b, p->calibration_factor));
    J(j_key(b, &f, "anonymity_min"));
    J(j_int(b, p->anonymity_min));
    J(j_key(b, &f, "training_threshold"));
    J(j_num(b, p->training_threshold));
    return buf_putc(b, '}');
}

static int j_steps(struct buf *b, const struct score_params *p)
{
    bool f = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "kiosk_misuse"));
    J(j_bool(b, p->kiosk_misuse));
    J(j_key(b, &f, "rater_effects"));
    J(j_bool(b, p->rater_effects));
    J(j_key(b, &f, "citizen_offset"));
    J(j_bool(b, p->citizen_offset));
    J(j_key(b, &f, "robust_location"));
    J(j_bool(b, p->robust_location));
    J(j_key(b, &f, "credibility"));
    J(j_bool(b, p->credibility));
    J(j_key(b, &f, "calibration"));
    J(j_bool(b, p->calibration));
    J(j_key(b, &f, "anonymity"));
    J(j_bool(b, true));
    return buf_putc(b, '}');
}

/* figures: false when restricted by anonymity: only the final value and the self gap. */
static int j_values_detail(struct buf *b, const struct score_result *r)
{
    bool f = true, fig = !r->restricted;
    J(buf_putc(b, '{'));
    for (int j = 0; j < SCORE_VALUES; j++) {
        const struct score_value_result *v = &r->values[j];
        J(j_key(b, &f, event_behaviour_keys[j]));
        bool fv = true;
        J(buf_putc(b, '{'));
        J(j_key(b, &fv, "value"));
        J(j_opt(b, v->has, v->value));
        J(j_key(b, &fv, "before_calibration"));
        J(j_opt(b, fig && v->has, v->before_calibration));
        J(j_key(b, &fv, "supervisor_weight"));
        J(j_opt(b, fig && v->has && r->groups[SCORE_GROUP_SUPERVISOR].has[j], v->supervisor_weight));
        J(j_key(b, &fv, "joint"));
        J(j_opt(b, fig && v->has_joint, v->joint));
        J(j_key(b, &fv, "joint_n"));
        J(j_int(b, v->joint_n));
        J(j_key(b, &fv, "joint_weight"));
        J(j_opt(b, fig && v->has, v->joint_weight));
        J(j_key(b, &fv, "calibration"));
        J(j_bool(b, v->calibration_flag));
        J(j_key(b, &fv, "self_gap"));
        J(j_opt(b, v->has_self_gap, v->self_gap));
        J(buf_putc(b, '}'));
    }
    return buf_putc(b, '}');
}

static int j_calibration_test(struct buf *b, const struct score_params *p, const struct score_result *r)
{
    const struct score_calibration *c = &r->calibration;
    bool f = true, fig = c->tested && !r->restricted;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "tested"));
    J(j_bool(b, c->tested));
    J(j_key(b, &f, "flag"));
    J(j_bool(b, c->flag));
    J(j_key(b, &f, "residual"));
    J(j_opt(b, fig, c->residual));
    J(j_key(b, &f, "se"));
    J(j_opt(b, fig, c->se));
    J(j_key(b, &f, "z"));
    J(j_opt(b, fig, c->z));
    J(j_key(b, &f, "n"));
    J(j_int(b, c->n));
    J(j_key(b, &f, "threshold"));
    J(j_num(b, p->calibration_z));
    return buf_putc(b, '}');
}

static int j_score_parts(struct buf *b, const struct score_params *p, const struct score_result *r)
{
    if (!r->has_score)
        return buf_puts(b, "null");
    double h = r->score_achievement / p->achievement_cap * SCORE_PERCENT;
    if (h > SCORE_PERCENT)
        h = SCORE_PERCENT;
    double pb = (r->perilaku - SCORE_VALUE_MIN) / SCORE_SCALE_SPAN * SCORE_PERCENT;
    bool f = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "hasil_achievement"));
    J(j_num(b, r->score_achievement));
    J(j_key(b, &f, "hasil_scaled"));
    J(j_num(b, h));
    J(j_key(b, &f, "perilaku_scaled"));
    J(j_num(b, pb));
    J(j_key(b, &f, "value"));
    J(j_num(b, r->score));
    return buf_putc(b, '}');
}

int score_breakdown_json(const struct score_params *p, const struct score_result *r, struct buf *b)
{
    bool f = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &f, "format"));
    J(j_int(b, SCORE_BREAKDOWN_FORMAT));
    J(j_key(b, &f, "steps"));
    J(j_steps(b, p));
    J(j_key(b, &f, "params"));
    J(j_params(b, p));
    J(j_key(b, &f, "model"));
    bool fm = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &fm, "scale"));
    J(j_opt(b, r->model.has_scale, r->model.scale));
    J(j_key(b, &fm, "citizen_offset"));
    J(j_opt(b, r->model.has_citizen_offset && p->citizen_offset, r->model.citizen_offset));
    J(j_key(b, &fm, "citizen_offset_n"));
    J(j_int(b, r->model.citizen_offset_n));
    J(buf_putc(b, '}'));
    J(j_key(b, &f, "hasil_kerja"));
    J(j_hasil(b, r));
    J(j_key(b, &f, "groups"));
    J(j_groups(b, r, true));
    J(j_key(b, &f, "values"));
    J(j_values_detail(b, r));
    J(j_key(b, &f, "calibration"));
    J(j_bool(b, r->calibration_flag));
    J(j_key(b, &f, "calibration_test"));
    J(j_calibration_test(b, p, r));
    J(j_key(b, &f, "anonymity"));
    bool fa = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &fa, "pooled"));
    J(j_bool(b, r->has_others));
    J(j_key(b, &fa, "restricted"));
    J(j_bool(b, r->restricted));
    J(buf_putc(b, '}'));
    J(j_key(b, &f, "perilaku"));
    bool fp = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &fp, "value"));
    J(j_opt(b, r->has_perilaku, r->perilaku));
    J(j_key(b, &fp, "rating"));
    J(j_str(b, score_rating_name(r->perilaku_rating)));
    J(buf_putc(b, '}'));
    J(j_key(b, &f, "score"));
    J(j_score_parts(b, p, r));
    J(j_key(b, &f, "predikat"));
    J(j_str(b, score_predikat_code(r->predikat)));
    return buf_putc(b, '}');
}

int score_result_json_fields(const struct score_params *p, const struct score_result *r, struct buf *b)
{
    bool f = true;
    J(j_key(b, &f, "predikat"));
    J(j_str(b, score_predikat_code(r->predikat)));
    J(j_key(b, &f, "score"));
    J(j_opt(b, r->has_score, r->score));
    J(j_key(b, &f, "hasil_kerja"));
    J(j_hasil(b, r));

    J(j_key(b, &f, "perilaku"));
    bool fp = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &fp, "value"));
    J(j_opt(b, r->has_perilaku, r->perilaku));
    J(j_key(b, &fp, "rating"));
    J(j_str(b, score_rating_name(r->perilaku_rating)));
    J(j_key(b, &fp, "values"));
    J(buf_putc(b, '{'));
    bool fv = true;
    for (int j = 0; j < SCORE_VALUES; j++) {
        J(j_key(b, &fv, event_behaviour_keys[j]));
        J(j_opt(b, r->values[j].has, r->values[j].value));
    }
    J(buf_putc(b, '}'));
    J(j_key(b, &fp, "groups"));
    J(j_groups(b, r, false));
    J(buf_putc(b, '}'));

    J(j_key(b, &f, "ikm"));
    if (r->has_ikm) {
        bool fi = true;
        J(buf_putc(b, '{'));
        J(j_key(b, &fi, "value"));
        J(j_num(b, r->ikm.value));
        J(j_key(b, &fi, "mutu"));
        J(j_str(b, ikm_mutu_name(r->ikm.mutu)));
        J(j_key(b, &fi, "n"));
        J(j_int(b, r->ikm.n));
        J(buf_putc(b, '}'));
    } else {
        J(buf_puts(b, "null"));
    }
    J(j_key(b, &f, "satisfaction"));
    bool fs = true;
    J(buf_putc(b, '{'));
    J(j_key(b, &fs, "mean"));
    /* the presses' mean is the citizens' value: hidden with the citizen group */
    J(j_opt(b, r->satisfaction.n > 0 && r->groups[SCORE_GROUP_CITIZEN].shown, r->satisfaction.mean));
    J(j_key(b, &fs, "n"));
    J(j_int(b, r->satisfaction.n));
    J(j_key(b, &fs, "presses"));
    J(j_int(b, r->satisfaction.presses));
    J(j_key(b, &fs, "repeats"));
    J(j_int(b, r->satisfaction.repeats));
    J(buf_putc(b, '}'));

    J(j_key(b, &f, "training"));
    J(buf_putc(b, '['));
    for (int i = 0; i < r->n_training; i++) {
        const struct score_training *t = &r->training[i];
        if (i)
            J(buf_putc(b, ','));
        bool ft = true;
        J(buf_putc(b, '{'));
        J(j_key(b, &ft, "value"));
        J(j_str(b, event_behaviour_keys[t->value]));
        J(j_key(b, &ft, "mean"));
        J(j_num(b, t->mean));
        J(j_key(b, &ft, "course"));
        J(j_str(b, p->course[t->value][0] ? p->course[t->value] : NULL));
        J(buf_putc(b, '}'));
    }
    J(buf_putc(b, ']'));
    J(j_key(b, &f, "breakdown"));
    return score_breakdown_json(p, r, b);
}
