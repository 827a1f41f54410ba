/*
 * score_json: the result as JSON: byte-exact numbers (%.4f as printf gives it, without printf on the common
 * path).
 */
#include "score.h"
#include "score_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int j_training(struct buf *b, const struct score_params *p, const struct score_result *r)
{
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
    return buf_putc(b, ']');
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
    J(j_training(b, p, r));
    J(j_key(b, &f, "breakdown"));
    return score_breakdown_json(p, r, b);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A JSON array of the n keys, sorted bytewise (jsonb_agg(k ORDER BY k) of ASCII keys). */
static int j_sorted_keys(struct buf *b, const char **keys, int n)
{
    qsort(keys, (size_t)n, sizeof *keys, cmp_key);
    J(buf_putc(b, '['));
    for (int i = 0; i < n; i++) {
        if (i)
            J(buf_putc(b, ','));
        J(j_str(b, keys[i]));
    }
    return buf_putc(b, ']');
}

int score_signoff_json(const struct score_params *p, const struct score_result *r, struct buf *b)
{
    const char *keys[SCORE_VALUES > SCORE_GROUP_COUNT + 1 ? SCORE_VALUES : SCORE_GROUP_COUNT + 1];
    int n = 0;
    bool f = true;
    J(buf_putc(b, '{'));
    /* breakdown.values.<k>.calibration is true (j_values_detail) */
    J(j_key(b, &f, "calibration_values"));
    for (int j = 0; j < SCORE_VALUES; j++)
        if (r->values[j].calibration_flag)
            keys[n++] = event_behaviour_keys[j];
    J(j_sorted_keys(b, keys, n));
    /* perilaku.groups.<k> is an object with shown false (j_groups, summary form) */
    J(j_key(b, &f, "groups_hidden"));
    n = 0;
    for (int g = 0; g < SCORE_GROUP_COUNT; g++) {
        const struct score_group_result *gr = &r->groups[g];
        bool present = gr->n > 0 || (g == SCORE_GROUP_CITIZEN && gr->presses + gr->skm > 0);
        if (present && !gr->shown)
            keys[n++] = score_group_names[g];
    }
    if (r->has_others && (r->others.n > 0) && !r->others.shown)
        keys[n++] = "others";
    J(j_sorted_keys(b, keys, n));
    J(j_key(b, &f, "hasil_kerja"));
    J(j_str(b, score_rating_name(r->hasil)));
    J(j_key(b, &f, "perilaku"));
    J(j_str(b, score_rating_name(r->perilaku_rating)));
    J(j_key(b, &f, "training"));
    J(j_training(b, p, r));
    return buf_putc(b, '}');
}
