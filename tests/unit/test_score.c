/* Unit tests for common/score.c: hasil kerja, perilaku with each fairness step,
 * predikat, numeric score, training recommendations, missing data, the breakdown JSON.
 * Expected values are computed by hand in the comments. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "score.h"

#define EPS 1e-9
#define J 7 /* BerAKHLAK values */
#define AKUNTABEL 1
#define KOMPETEN 2
#define HARMONIS 3
#define MAX_EVS 128

/* ------------------------------------------------------------------ helpers */

static struct score_evaluation ev(int32_t rater, int32_t ratee, enum relation rel, int v)
{
    struct score_evaluation e;
    memset(&e, 0, sizeof e);
    e.rater = rater;
    e.ratee = ratee;
    e.relation = rel;
    for (int j = 0; j < J; j++)
        e.values[j] = (uint8_t)v;
    return e;
}

static struct ikm_feedback press(int64_t device, int64_t employee, int64_t ts_s, int rating)
{
    struct ikm_feedback f;
    memset(&f, 0, sizeof f);
    f.device = device;
    f.employee = employee;
    f.ts_ms = ts_s * 1000;
    f.rating = (uint8_t)rating;
    return f;
}

/* Defaults with every switchable fairness step off (anonymity always applies), and
 * the supervisor's weight of the regulation's example, 0.4 (the default is 0.02, see
 * docs/SCORING.md), so that the arithmetic of the examples stays readable. */
static struct score_params plain_params(void)
{
    struct score_params p;
    score_params_default(&p);
    p.kiosk_misuse = false;
    p.rater_effects = false;
    p.citizen_offset = false;
    p.robust_location = false;
    p.credibility = false;
    p.calibration = false;
    p.weight[SCORE_GROUP_SUPERVISOR] = 0.4;
    return p;
}

/* Scores `ratee`: the joint rater-effects estimate over ALL evs (as the worker does
 * over a period), then score_employee with the evaluations about ratee. */
static void score_one(const struct score_params *p, const struct score_evaluation *evs, size_t n,
                      const struct ikm_feedback *fb, size_t nfb, const struct score_indicator *ind,
                      size_t nind, const struct score_model *model, int32_t ratee, struct score_result *out,
                      struct score_fit *fits_out)
{
    struct score_fit fits[MAX_EVS];
    struct score_evaluation mine[MAX_EVS];
    struct score_fit mine_fits[MAX_EVS];
    char err[SCORE_ERR_MAX];
    assert_true(n <= MAX_EVS);
    int32_t people = 0;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].rater + 1 > people)
            people = evs[i].rater + 1;
        if (evs[i].ratee + 1 > people)
            people = evs[i].ratee + 1;
    }
    struct score_model own;
    assert_int_equal(score_rater_effects(p, evs, n, (size_t)people, fits, &own, err, sizeof err), 0);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (evs[i].ratee == ratee) {
            mine[m] = evs[i];
            mine_fits[m] = fits[i];
            m++;
        }
    if (fits_out)
        memcpy(fits_out, fits, n * sizeof *fits);
    struct score_employee_input in = {
        .indicators = ind,
        .n_indicators = nind,
        .evaluations = mine,
        .fits = mine_fits,
        .n_evaluations = m,
        .feedback = fb,
        .n_feedback = nfb,
        .model = model ? model : &own,
    };
    int rc = score_employee(p, &in, out);
    if (rc != 0)
        fail_msg("score_employee: %s", out->err);
}

static char *result_json(const struct score_params *p, const struct score_result *r)
{
    struct buf b;
    buf_init(&b, SCORE_JSON_MAX);
    assert_int_equal(buf_putc(&b, '{'), 0);
    assert_int_equal(score_result_json_fields(p, r, &b), 0);
    assert_int_equal(buf_putc(&b, '}'), 0);
    char *s = strdup(b.data);
    buf_free(&b);
    return s;
}

/* Parses the JSON (it must be valid) and returns it. */
static json_t *parsed(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fail_msg("invalid JSON at %d: %s\n%s", e.position, e.text, s);
    return j;
}

/* ------------------------------------------------------------------ predikat */

/* SPEC 5.4, rows hasil kerja, columns perilaku:
 *            below          meets            above
 *   above    kurang         baik             sangat_baik
 *   meets    kurang         baik             baik
 *   below    sangat_kurang  butuh_perbaikan  butuh_perbaikan */
static void test_predikat_matrix(void **state)
{
    (void)state;
    const enum score_rating r[3] = {SCORE_RATING_ABOVE, SCORE_RATING_MEETS, SCORE_RATING_BELOW};
    const char *want[3][3] = {
        /* perilaku:  below            meets              above */
        /* above */ {"kurang", "baik", "sangat_baik"},
        /* meets */ {"kurang", "baik", "baik"},
        /* below */ {"sangat_kurang", "butuh_perbaikan", "butuh_perbaikan"},
    };
    const enum score_rating col[3] = {SCORE_RATING_BELOW, SCORE_RATING_MEETS, SCORE_RATING_ABOVE};
    for (int h = 0; h < 3; h++)
        for (int c = 0; c < 3; c++)
            assert_string_equal(score_predikat_code(score_predikat_of(r[h], col[c])), want[h][c]);
    assert_int_equal(score_predikat_of(SCORE_RATING_NONE, SCORE_RATING_ABOVE), SCORE_PREDIKAT_NONE);
    assert_int_equal(score_predikat_of(SCORE_RATING_ABOVE, SCORE_RATING_NONE), SCORE_PREDIKAT_NONE);
    assert_null(score_predikat_code(SCORE_PREDIKAT_NONE));
}

/* ------------------------------------------------------------------ hasil kerja */

/* Indicators (cap 1.2):
 *   A target 100, realization 150, higher better, weight 2: 1.5 -> capped 1.2
 *   B target 10, realization 8, LOWER better, weight 1: 10 / 8 = 1.25 -> capped 1.2
 *   C target 50, realization 30, higher better, weight 1: 0.6
 * weighted mean = (2 x 1.2 + 1.2 + 0.6) / 4 = 4.2 / 4 = 1.05 -> meets (0.85 <= 1.05 < 1.10). */
/* Found by make fuzz-pipeline: a subnormal weight (5e-324 is inside (0, 1000]) made
 * 5e-324 x 0.3 round to 0, so one indicator 30/100 scored achievement 0. Weights count
 * by their ratios: 30/100 with weight 5e-324 is 0.3; with a second indicator 90/100 of
 * weight 2 x 5e-324 it is (0.3 + 2 x 0.9) / 3 = 0.7. */
static void test_tiny_weights_keep_their_ratios(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_indicator ind[2] = {
        {100, 30, 5e-324, DIRECTION_HIGHER_BETTER, "a"},
        {100, 90, 1e-323, DIRECTION_HIGHER_BETTER, "b"},
    };
    struct score_result r;
    score_one(&p, NULL, 0, NULL, 0, ind, 1, NULL, 0, &r, NULL);
    assert_true(r.has_achievement);
    assert_true(fabs(r.achievement - 0.3) < EPS);
    score_one(&p, NULL, 0, NULL, 0, ind, 2, NULL, 0, &r, NULL);
    assert_true(fabs(r.achievement - 0.7) < EPS);
}

static void test_achievement_cap_lower_better_weighted(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_indicator ind[3] = {
        {100, 150, 2, DIRECTION_HIGHER_BETTER, ""},
        {10, 8, 1, DIRECTION_LOWER_BETTER, ""},
        {50, 30, 1, DIRECTION_HIGHER_BETTER, ""},
    };
    struct score_result r;
    score_one(&p, NULL, 0, NULL, 0, ind, 3, NULL, 0, &r, NULL);
    assert_true(r.has_achievement);
    assert_true(fabs(r.achievement - 1.05) < EPS);
    assert_int_equal(r.hasil, SCORE_RATING_MEETS);
    assert_false(r.hasil_from_supervisor);

    /* lower better, realization 12 vs target 10: 10 / 12 = 0.8333 -> below (< 0.85);
     * lower better, realization 0: perfect -> the cap 1.2 -> above */
    struct score_indicator low[1] = {{10, 12, 1, DIRECTION_LOWER_BETTER, ""}};
    score_one(&p, NULL, 0, NULL, 0, low, 1, NULL, 0, &r, NULL);
    assert_true(fabs(r.achievement - 10.0 / 12) < EPS);
    assert_int_equal(r.hasil, SCORE_RATING_BELOW);
    low[0].realization = 0;
    score_one(&p, NULL, 0, NULL, 0, low, 1, NULL, 0, &r, NULL);
    assert_true(fabs(r.achievement - 1.2) < EPS);
    assert_int_equal(r.hasil, SCORE_RATING_ABOVE);

    /* 1.15 (>= 1.10) -> above; 0.85 exactly -> meets (>=) */
    struct score_indicator one[1] = {{100, 115, 1, DIRECTION_HIGHER_BETTER, ""}};
    score_one(&p, NULL, 0, NULL, 0, one, 1, NULL, 0, &r, NULL);
    assert_int_equal(r.hasil, SCORE_RATING_ABOVE);
    one[0].realization = 85;
    score_one(&p, NULL, 0, NULL, 0, one, 1, NULL, 0, &r, NULL);
    assert_true(fabs(r.achievement - 0.85) < EPS);
    assert_int_equal(r.hasil, SCORE_RATING_MEETS);
}

/* The supervisor's own judgement wins over the achievement (1.05, meets); with two
 * supervisor evaluations the later one's judgement counts. */
static void test_hasil_from_supervisor(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_indicator ind[1] = {{100, 105, 1, DIRECTION_HIGHER_BETTER, ""}};
    struct score_evaluation e[2] = {ev(0, 1, RELATION_SUPERVISOR, 3), ev(0, 1, RELATION_SUPERVISOR, 3)};
    e[0].hasil_kerja = HASIL_BELOW;
    e[0].ts_ms = 2000;
    e[1].hasil_kerja = HASIL_ABOVE;
    e[1].ts_ms = 1000;
    struct score_result r;
    score_one(&p, e, 2, NULL, 0, ind, 1, NULL, 1, &r, NULL);
    assert_true(fabs(r.achievement - 1.05) < EPS);
    assert_true(r.hasil_from_supervisor);
    assert_int_equal(r.hasil, SCORE_RATING_BELOW); /* ts 2000 is the later one */

    /* the same ts: whichever comes first in the input, the same judgement wins */
    e[1].ts_ms = 2000;
    score_one(&p, e, 2, NULL, 0, ind, 1, NULL, 1, &r, NULL);
    enum score_rating first = r.hasil;
    struct score_evaluation swapped[2] = {e[1], e[0]};
    score_one(&p, swapped, 2, NULL, 0, ind, 1, NULL, 1, &r, NULL);
    assert_int_equal(r.hasil, first);
}

/* SPEC 5.5: when the supervisor's hasil_kerja judgement overrides the computed rating,
 * the score's hasil part is the achievement clamped into that rating's band (above >=
 * 1.10, meets 0.85..1.10, below <= 0.85), so a `below` never outranks a `meets` (at the
 * edge they can tie; the predikat orders them first).
 * All steps off, the supervisor's rating 3 on every value: perilaku 3, its part
 * 0.4 x (3 - 1) / 4 x 100 = 20.
 *   achievement 1.2 judged below: hasil part clamped to 0.85:
 *       0.6 x 0.85 / 1.2 x 100 = 42.5 (+ 20 = 62.5)
 *   achievement 0.9 judged meets (inside its band, unchanged): 0.6 x 0.9 / 1.2 x 100 = 45
 *       (+ 20 = 65): the `meets` ranks above the `below` with the higher achievement
 *   achievement 1.2 judged meets: 1.10: 0.6 x 1.1 / 1.2 x 100 = 55 (75)
 *   achievement 0.5 judged above: raised to 1.10: 55 (75); judged meets: 0.85: 42.5 (62.5)
 * The shown achievement stays the measured one (1.2, 0.9, 0.5). */
static void test_hasil_band_clamp(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    const double ach[5] = {1.2, 0.9, 1.2, 0.5, 0.5};
    const enum hasil_kerja judged[5] = {HASIL_BELOW, HASIL_MEETS, HASIL_MEETS, HASIL_ABOVE, HASIL_MEETS};
    const double want[5] = {62.5, 65, 75, 75, 62.5};
    double got[5];
    for (int i = 0; i < 5; i++) {
        struct score_indicator ind[1] = {{100, 100 * ach[i], 1, DIRECTION_HIGHER_BETTER, "K"}};
        struct score_evaluation e = ev(0, 1, RELATION_SUPERVISOR, 3);
        e.hasil_kerja = judged[i];
        struct score_result r;
        score_one(&p, &e, 1, NULL, 0, ind, 1, NULL, 1, &r, NULL);
        assert_true(r.has_score);
        assert_true(fabs(r.achievement - ach[i]) < EPS);
        assert_true(fabs(r.score - want[i]) < 1e-6);
        got[i] = r.score;
    }
    assert_true(got[0] < got[1]); /* below (1.2) never outranks meets (0.9) */
    assert_true(got[2] > got[1]);
    /* without a judgement the achievement is used as it is: 1.2 -> 60 + 20 = 80 */
    struct score_indicator ind[1] = {{100, 120, 1, DIRECTION_HIGHER_BETTER, "K"}};
    struct score_evaluation e = ev(0, 1, RELATION_SUPERVISOR, 3);
    struct score_result r;
    score_one(&p, &e, 1, NULL, 0, ind, 1, NULL, 1, &r, NULL);
    assert_true(fabs(r.score - 80) < 1e-9);
}

/* Per-indicator SKP detail, in canonical order (by code) whatever the input order:
 *   B-2 target 10, realization 8, lower better, weight 1: 10/8 = 1.25 -> capped 1.2
 *   A-1 target 50, realization 30, weight 2: 0.6
 * achievement (2 x 0.6 + 1.2) / 3 = 0.8. An indicator without a code shows null. */
static void test_indicator_detail(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_indicator ind[3] = {
        {10, 8, 1, DIRECTION_LOWER_BETTER, "B-2"},
        {50, 30, 2, DIRECTION_HIGHER_BETTER, "A-1"},
    };
    struct score_result r;
    score_one(&p, NULL, 0, NULL, 0, ind, 2, NULL, 1, &r, NULL);
    assert_int_equal(r.n_detail, 2);
    assert_string_equal(r.detail[0].code, "A-1");
    assert_true(fabs(r.detail[0].achievement - 0.6) < EPS);
    assert_string_equal(r.detail[1].code, "B-2");
    assert_true(fabs(r.detail[1].achievement - 1.2) < EPS);
    assert_true(fabs(r.achievement - 0.8) < EPS);
    char *s = result_json(&p, &r);
    assert_non_null(strstr(s, "\"indicators\":2,\"detail\":[{\"indicator\":\"A-1\",\"target\":50.0000,"
                              "\"realization\":30.0000,\"direction\":\"higher_better\",\"weight\":2.0000,"
                              "\"achievement\":0.6000},{\"indicator\":\"B-2\",\"target\":10.0000,"
                              "\"realization\":8.0000,\"direction\":\"lower_better\",\"weight\":1.0000,"
                              "\"achievement\":1.2000}],\"detail_omitted\":0}"));
    free(s);
    struct score_indicator rev[2] = {ind[1], ind[0]};
    struct score_result r2;
    score_one(&p, NULL, 0, NULL, 0, rev, 2, NULL, 1, &r2, NULL);
    char *a = result_json(&p, &r), *b = result_json(&p, &r2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* a code that is not a code (unterminated in its field, or control bytes): null */
    memset(ind[2].code, 'x', sizeof ind[2].code);
    ind[2].target = ind[2].realization = ind[2].weight = 1;
    ind[2].direction = DIRECTION_HIGHER_BETTER;
    score_one(&p, NULL, 0, NULL, 0, ind + 2, 1, NULL, 1, &r, NULL);
    s = result_json(&p, &r);
    assert_non_null(strstr(s, "\"detail\":[{\"indicator\":null,"));
    json_decref(parsed(s));
    free(s);
    /* more than SCORE_DETAIL_MAX: the first ones listed, the rest counted */
    struct score_indicator many[SCORE_DETAIL_MAX + 3];
    for (int i = 0; i < SCORE_DETAIL_MAX + 3; i++) {
        many[i] = (struct score_indicator){100, 100, 1, DIRECTION_HIGHER_BETTER, ""};
        snprintf(many[i].code, sizeof many[i].code, "K%03d", i);
    }
    score_one(&p, NULL, 0, NULL, 0, many, SCORE_DETAIL_MAX + 3, NULL, 1, &r, NULL);
    assert_int_equal(r.n_detail, SCORE_DETAIL_MAX);
    s = result_json(&p, &r);
    assert_non_null(strstr(s, "\"detail_omitted\":3}"));
    free(s);
}

/* ------------------------------------------------------------------ perilaku */

/* Weights renormalised over the groups that have ratings (all steps off).
 * Supervisor 4, three peers 3, no subordinates:
 *   each value = (0.4 x 4 + 0.2 x 3) / (0.4 + 0.2) = 2.2 / 0.6 = 3.6667 -> meets (< 3.75)
 * With three citizens pressing 4 (-> 5 on 1..5), berorientasi_pelayanan only:
 *   pelayanan = (0.4 x 4 + 0.2 x 3 + 0.25 x 5) / 0.85 = 3.45 / 0.85 = 4.0588
 *   perilaku = (4.0588 + 6 x 3.6667) / 7 = 3.7227 */
static void test_weight_renormalisation(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_evaluation e[4] = {ev(0, 1, RELATION_SUPERVISOR, 4), ev(2, 1, RELATION_PEER, 3),
                                    ev(3, 1, RELATION_PEER, 3), ev(4, 1, RELATION_PEER, 3)};
    struct score_result r;
    score_one(&p, e, 4, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    for (int j = 0; j < J; j++)
        assert_true(fabs(r.values[j].value - 2.2 / 0.6) < EPS);
    assert_true(fabs(r.perilaku - 2.2 / 0.6) < EPS);
    assert_int_equal(r.perilaku_rating, SCORE_RATING_MEETS);
    assert_int_equal(r.groups[SCORE_GROUP_SUBORDINATE].n, 0);

    struct ikm_feedback fb[3] = {press(9, 1, 0, 4), press(9, 1, 100, 4), press(9, 1, 200, 4)};
    score_one(&p, e, 4, fb, 3, NULL, 0, NULL, 1, &r, NULL);
    double pel = 3.45 / 0.85;
    assert_true(fabs(r.values[SCORE_VALUE_PELAYANAN].value - pel) < EPS);
    assert_true(fabs(r.values[AKUNTABEL].value - 2.2 / 0.6) < EPS);
    assert_true(fabs(r.perilaku - (pel + 6 * 2.2 / 0.6) / 7) < EPS);
    assert_int_equal(r.perilaku_rating, SCORE_RATING_MEETS);
}

/* Rater effects: a lenient supervisor. People: 0 = supervisor; 1..4 staff with true
 * levels 2, 3, 3, 4; 5..7 peers who rate every staff member at the true level. The
 * supervisor rates every staff member one point higher. Off: the supervisor's group
 * value for staff 1 is 3 and the result (0.4 x 3 + 0.2 x 2) / 0.6 = 2.6667. On: the
 * supervisor's offset (positive, shrunk: 4 ratings, k = 3) is subtracted from every
 * value -- the group value is exactly raw - offset -- and the peers' (slightly negative)
 * offsets are too; every staff member's result moves toward the true level. */
static void test_rater_effects_remove_leniency(void **state)
{
    (void)state;
    const int L[5] = {0, 2, 3, 3, 4};
    struct score_evaluation e[16];
    size_t n = 0;
    for (int32_t s = 1; s <= 4; s++) {
        e[n++] = ev(0, s, RELATION_SUPERVISOR, L[s] + 1);
        for (int32_t q = 5; q <= 7; q++)
            e[n++] = ev(q, s, RELATION_PEER, L[s]);
    }
    struct score_params off = plain_params(), on = plain_params();
    on.rater_effects = true;
    struct score_fit fits[16];
    for (int32_t s = 1; s <= 4; s++) {
        struct score_result a, b;
        score_one(&off, e, n, NULL, 0, NULL, 0, NULL, s, &a, NULL);
        score_one(&on, e, n, NULL, 0, NULL, 0, NULL, s, &b, fits);
        if (s == 1)
            assert_true(fabs(a.perilaku - 3.2 / 1.2) < EPS);
        double off_sup = fits[0].offset; /* e[0] is the supervisor's rating of staff 1 */
        assert_true(off_sup > 0.3 && off_sup < 0.75);
        assert_true(fits[1].offset < 0); /* a peer: slightly severe relative to the supervisor */
        const struct score_group_value *gv = &b.groups[SCORE_GROUP_SUPERVISOR].values[AKUNTABEL];
        assert_true(fabs(gv->raw - (L[s] + 1)) < EPS);
        assert_true(fabs(gv->rater_effects - (gv->raw - off_sup)) < EPS);
        assert_true(fabs(b.perilaku - L[s]) < fabs(a.perilaku - L[s]) - 0.1);
    }
}

/* A favourite: as above but the supervisor is fair except to staff 1, who gets +2.
 * That one rating gets a small robust weight, and the supervisor's group weight on
 * every value is 0.4 x that weight (calibration off here). With calibration on, the
 * supervisor's corrected rating (about 4) against the three peers' level (2), over its
 * standard error (the residual scale is at its floor 0.25 here, every other rating
 * fits exactly: se = 0.25 x sqrt(1 + 1/3) = 0.2887), gives z of about 6: flagged. The
 * flag does not reduce the weight again (calibration_factor 1); with factor 0.25 it
 * would. Staff 2, rated fairly, is not flagged. */
static void test_favourite_down_weighted(void **state)
{
    (void)state;
    const int L[5] = {0, 2, 3, 3, 4};
    struct score_evaluation e[16];
    size_t n = 0;
    for (int32_t s = 1; s <= 4; s++) {
        e[n++] = ev(0, s, RELATION_SUPERVISOR, L[s] + (s == 1 ? 2 : 0));
        for (int32_t q = 5; q <= 7; q++)
            e[n++] = ev(q, s, RELATION_PEER, L[s]);
    }
    struct score_params p = plain_params(), off = plain_params();
    p.rater_effects = true;
    struct score_result a, b;
    struct score_fit fits[16];
    score_one(&off, e, n, NULL, 0, NULL, 0, NULL, 1, &a, NULL);
    score_one(&p, e, n, NULL, 0, NULL, 0, NULL, 1, &b, fits);
    double w = fits[0].weight;
    assert_true(w < 0.3);
    assert_true(fabs(b.groups[SCORE_GROUP_SUPERVISOR].robust_weight - w) < EPS);
    for (int j = 0; j < J; j++)
        assert_true(fabs(b.values[j].supervisor_weight - 0.4 * w) < EPS);
    /* off: (0.4 x 4 + 0.2 x 2) / 0.6 = 3.3333; on: much closer to the true 2 */
    assert_true(fabs(a.perilaku - 2.0 / 0.6) < EPS);
    assert_true(b.perilaku < 2.6);
    assert_false(b.calibration_flag);

    p.calibration = true;
    score_one(&p, e, n, NULL, 0, NULL, 0, NULL, 1, &b, NULL);
    assert_true(b.calibration_flag);
    assert_true(b.calibration.tested);
    assert_int_equal(b.calibration.n, 3);
    assert_true(b.calibration.z > 5 && b.calibration.residual > 1.5);
    for (int j = 0; j < J; j++) {
        assert_true(b.values[j].calibration_flag);
        assert_true(fabs(b.values[j].supervisor_weight - 0.4 * w) < EPS);
    }
    p.calibration_factor = 0.25;
    score_one(&p, e, n, NULL, 0, NULL, 0, NULL, 1, &b, NULL);
    assert_true(fabs(b.values[KOMPETEN].supervisor_weight - 0.4 * w * 0.25) < EPS);
    p.calibration_factor = 1;
    /* staff 2, rated fairly: weight near 1, no flag */
    score_one(&p, e, n, NULL, 0, NULL, 0, NULL, 2, &b, NULL);
    assert_false(b.calibration_flag);
    assert_true(b.groups[SCORE_GROUP_SUPERVISOR].robust_weight > 0.9);
}

/* A favouring supervisor's other ratees are not pushed down by the test. The head (0)
 * rates staff 1..6 whose true levels are 3, 3, 3, 3, 4, 2 (peers 10..12 rate each at
 * the truth), but gives staff 1 and 2 +2 (5 instead of 3). Even down-weighted (robust
 * weight about 0.18), the favourites inflate the head's offset (fits[].offset, about
 * +0.09), so staff 3..6, rated exactly, would show a residual of about -0.1 against
 * their peers' level. The test's offset is computed again without the two favourites'
 * ratings (more than 2 se away): about -0.02, so the fair ratings' residuals are about 0
 * and only the favourites are flagged. */
static void test_calibration_favourites_do_not_shift_others(void **state)
{
    (void)state;
    const int L[7] = {0, 3, 3, 3, 3, 4, 2};
    struct score_evaluation e[32];
    size_t n = 0;
    for (int32_t s = 1; s <= 6; s++) {
        e[n++] = ev(0, s, RELATION_SUPERVISOR, L[s] + (s <= 2 ? 2 : 0));
        for (int32_t q = 10; q <= 12; q++)
            e[n++] = ev(q, s, RELATION_PEER, L[s]);
    }
    struct score_params p = plain_params();
    p.rater_effects = true;
    p.calibration = true;
    struct score_fit fits[32];
    struct score_result r;
    score_one(&p, e, n, NULL, 0, NULL, 0, NULL, 3, &r, fits);
    assert_true(fits[0].offset > 0.05);                                 /* inflated by the favourites */
    assert_true(fabs(fits[0].test_offset) < fits[0].offset / 3);        /* without them */
    assert_true(fabs(fits[8].test_offset - fits[0].test_offset) < EPS); /* one per rater */
    for (int32_t s = 1; s <= 6; s++) {
        score_one(&p, e, n, NULL, 0, NULL, 0, NULL, s, &r, NULL);
        assert_true(r.calibration.tested);
        if (s <= 2) {
            assert_true(r.calibration_flag);
        } else {
            assert_false(r.calibration_flag);
            assert_true(fabs(r.calibration.residual) < 0.05);
            /* with the inflated offset the same fair rating would show below -0.05 */
            assert_true(r.calibration.residual - (fits[0].offset - fits[0].test_offset) < -0.05);
        }
    }
}

/* The citizens' group offset (only that step on, through score_period). Employee 1:
 * three peers rate 3 everywhere, three citizen presses of 4 (-> 5): citizens minus the
 * joint level of pelayanan = 5 - 3 = 2. Employee 2: peers 4, presses 4: 5 - 4 = 1. The
 * offset is the mean over employees, 1.5, taken off every citizen response (5 -> 3.5):
 *   employee 1 pelayanan = (0.2 x 3 + 0.25 x 3.5) / 0.45 = 3.2778
 *   employee 2 pelayanan = (0.2 x 4 + 0.25 x 3.5) / 0.45 = 3.7222
 * The step off: (0.2 x 3 + 0.25 x 5) / 0.45 = 4.1111 for employee 1. */
static void test_citizen_offset(void **state)
{
    (void)state;
    struct score_evaluation e[6];
    for (int i = 0; i < 3; i++) {
        e[i] = ev(3 + i, 1, RELATION_PEER, 3);
        e[3 + i] = ev(6 + i, 2, RELATION_PEER, 4);
    }
    struct ikm_feedback fb[6];
    for (int i = 0; i < 3; i++) {
        fb[i] = press(20, 1, 100 * i, 4);
        fb[3 + i] = press(21, 2, 100 * i, 4);
    }
    int32_t unit[9] = {0};
    struct score_period_input in = {.n_employees = 9,
                                    .unit = unit,
                                    .evaluations = e,
                                    .n_evaluations = 6,
                                    .feedback = fb,
                                    .n_feedback = 6};
    struct score_params p = plain_params();
    p.citizen_offset = true;
    struct score_result r[9];
    char err[SCORE_ERR_MAX];
    assert_int_equal(score_period(&p, &in, r, err, sizeof err), 0);
    assert_true(r[1].model.has_citizen_offset);
    assert_int_equal(r[1].model.citizen_offset_n, 2);
    assert_true(fabs(r[1].model.citizen_offset - 1.5) < EPS);
    const struct score_group_value *c = &r[1].groups[SCORE_GROUP_CITIZEN].values[SCORE_VALUE_PELAYANAN];
    assert_true(fabs(c->rater_effects - 5.0) < EPS);  /* after the kiosk step */
    assert_true(fabs(c->citizen_offset - 3.5) < EPS); /* after the offset */
    assert_true(fabs(r[1].values[SCORE_VALUE_PELAYANAN].value - (0.6 + 0.875) / 0.45) < EPS);
    assert_true(fabs(r[2].values[SCORE_VALUE_PELAYANAN].value - (0.8 + 0.875) / 0.45) < EPS);
    char *s = result_json(&p, &r[1]);
    assert_non_null(strstr(s, "\"model\":{\"scale\":null,\"citizen_offset\":1.5000,\"citizen_offset_n\":2}"));
    free(s);
    p.citizen_offset = false;
    assert_int_equal(score_period(&p, &in, r, err, sizeof err), 0);
    assert_true(fabs(r[1].values[SCORE_VALUE_PELAYANAN].value - (0.6 + 1.25) / 0.45) < EPS);
}

/* Robust location (only that step on): five peers rating 1, 3, 3, 4, 5 on every value.
 * Plain mean 16 / 5 = 3.2; without the highest (5) and lowest (1): (3 + 3 + 4) / 3 =
 * 3.3333. Four peers 1, 3, 4, 5: fewer than 5, untouched: 13 / 4 = 3.25. */
static void test_robust_location(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    p.robust_location = true;
    const int v5[5] = {1, 3, 3, 4, 5};
    struct score_evaluation e[5];
    for (int i = 0; i < 5; i++)
        e[i] = ev(10 + i, 1, RELATION_PEER, v5[i]);
    struct score_result r;
    score_one(&p, e, 5, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    const struct score_group_value *gv = &r.groups[SCORE_GROUP_PEER].values[KOMPETEN];
    assert_true(fabs(gv->raw - 3.2) < EPS);
    assert_true(fabs(gv->robust_location - 10.0 / 3) < EPS);
    assert_true(fabs(r.perilaku - 10.0 / 3) < EPS);
    const int v4[4] = {1, 3, 4, 5};
    for (int i = 0; i < 4; i++)
        e[i] = ev(10 + i, 1, RELATION_PEER, v4[i]);
    score_one(&p, e, 4, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_true(fabs(r.perilaku - 3.25) < EPS);
}

/* Credibility v2 (only that step on, rater effects off so every weight is 1).
 * Supervisor 2, three peers 4 on every value. The ratee's joint level of a value is the
 * mean of every non-self rating of it: (2 + 4 + 4 + 4) / 4 = 3.5. The peers bring
 * Z = 3 / (3 + 3) = 0.5 of their weight (0.2 x 0.5 = 0.1) with their own value 4; the
 * 0.1 they give up goes to the joint level, never to the supervisor alone and never to
 * a unit mean; the supervisor is never shrunk (z = 1, full 0.4):
 *   value = (0.4 x 2 + 0.1 x 4 + 0.1 x 3.5) / 0.6 = 1.55 / 0.6 = 2.5833
 * Six peers: joint (2 + 6 x 4) / 7 = 26/7, Z = 6/9:
 *   value = (0.8 + 0.2 x 6/9 x 4 + 0.2 x 3/9 x 26/7) / 0.6
 * A colleague rated 1 by three other peers in the same period changes nothing (v1
 * pulled toward a unit mean, which it moved). Citizens only (no joint level): one press
 * of 4 (-> 5) keeps Z x 0.25 and has nothing to hand over: the value is the press, 5. */
static void test_credibility(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    p.credibility = true;
    struct score_evaluation e[12] = {ev(0, 1, RELATION_SUPERVISOR, 2), ev(2, 1, RELATION_PEER, 4),
                                     ev(3, 1, RELATION_PEER, 4), ev(4, 1, RELATION_PEER, 4)};
    struct score_result r;
    score_one(&p, e, 4, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    const struct score_group_value *gv = &r.groups[SCORE_GROUP_PEER].values[AKUNTABEL];
    assert_true(fabs(gv->z - 0.5) < EPS);
    assert_true(fabs(gv->robust_location - 4.0) < EPS);
    assert_true(fabs(r.groups[SCORE_GROUP_SUPERVISOR].values[AKUNTABEL].z - 1.0) < EPS);
    assert_true(r.values[AKUNTABEL].has_joint);
    assert_int_equal(r.values[AKUNTABEL].joint_n, 4);
    assert_true(fabs(r.values[AKUNTABEL].joint - 3.5) < EPS);
    assert_true(fabs(r.values[AKUNTABEL].joint_weight - 0.1) < EPS);
    assert_true(fabs(r.values[AKUNTABEL].value - 1.55 / 0.6) < EPS);
    assert_true(fabs(r.perilaku - 1.55 / 0.6) < EPS);

    /* another employee (5) rated 1 by three peers: nothing about employee 1 moves */
    for (int i = 0; i < 3; i++)
        e[4 + i] = ev(6 + i, 5, RELATION_PEER, 1);
    score_one(&p, e, 7, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_true(fabs(r.perilaku - 1.55 / 0.6) < EPS);

    for (int i = 4; i < 7; i++)
        e[i] = ev(i + 1, 1, RELATION_PEER, 4);
    score_one(&p, e, 7, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    gv = &r.groups[SCORE_GROUP_PEER].values[AKUNTABEL];
    assert_true(fabs(gv->z - 6.0 / 9) < EPS);
    assert_true(fabs(r.values[AKUNTABEL].joint - 26.0 / 7) < EPS);
    assert_true(fabs(r.perilaku - (0.8 + 0.2 * 6 / 9 * 4 + 0.2 * 3 / 9 * 26 / 7) / 0.6) < EPS);

    struct ikm_feedback fb[1] = {press(9, 1, 0, 4)};
    score_one(&p, NULL, 0, fb, 1, NULL, 0, NULL, 1, &r, NULL);
    assert_true(fabs(r.groups[SCORE_GROUP_CITIZEN].values[SCORE_VALUE_PELAYANAN].z - 0.25) < EPS);
    assert_false(r.values[SCORE_VALUE_PELAYANAN].has_joint);
    assert_true(fabs(r.values[SCORE_VALUE_PELAYANAN].value - 5.0) < EPS);
}

/* Calibration v2 (only that step on, rater effects off: offsets 0, weights 1), with a
 * residual scale of 0.5 given. The supervisor rates 5 everywhere; three peers rate 3:
 *   residual = 5 - 3 = 2; se = 0.5 x sqrt(1/1 + 1/3) = 0.57735; z = 3.4641 > 3.0: flagged.
 * The flag marks every value the supervisor rated, and changes no weight (factor 1):
 *   value = (0.4 x 5 + 0.2 x 3) / 0.6 = 4.3333.
 * The supervisor at 4: residual 1, z = 1.7321: not flagged. With two peers: not
 * tested (fewer than 3 other raters). The step off: the test is reported, no flag. */
static void test_calibration(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    p.calibration = true;
    struct score_model m = {.has_scale = true, .scale = 0.5};
    struct score_evaluation e[4] = {ev(0, 1, RELATION_SUPERVISOR, 5), ev(2, 1, RELATION_PEER, 3),
                                    ev(3, 1, RELATION_PEER, 3), ev(4, 1, RELATION_PEER, 3)};
    struct score_result r;
    score_one(&p, e, 4, NULL, 0, NULL, 0, &m, 1, &r, NULL);
    double se = 0.5 * sqrt(1.0 + 1.0 / 3);
    assert_true(r.calibration.tested);
    assert_true(r.calibration_flag);
    assert_int_equal(r.calibration.n, 3);
    assert_true(fabs(r.calibration.residual - 2.0) < EPS);
    assert_true(fabs(r.calibration.se - se) < EPS);
    assert_true(fabs(r.calibration.z - 2.0 / se) < EPS);
    for (int j = 0; j < J; j++)
        assert_true(r.values[j].calibration_flag);
    assert_true(fabs(r.values[AKUNTABEL].value - 2.6 / 0.6) < EPS);
    assert_true(fabs(r.values[AKUNTABEL].supervisor_weight - 0.4) < EPS);
    char *s = result_json(&p, &r);
    assert_non_null(strstr(s,
                           "\"calibration\":true,\"calibration_test\":{\"tested\":true,\"flag\":true,"
                           "\"residual\":2.0000,\"se\":0.5774,\"z\":3.4641,\"n\":3,\"threshold\":3.0000}"));
    free(s);

    e[0] = ev(0, 1, RELATION_SUPERVISOR, 4);
    score_one(&p, e, 4, NULL, 0, NULL, 0, &m, 1, &r, NULL);
    assert_true(r.calibration.tested);
    assert_true(fabs(r.calibration.z - 1.0 / se) < EPS);
    assert_false(r.calibration_flag);
    assert_false(r.values[AKUNTABEL].calibration_flag);

    e[0] = ev(0, 1, RELATION_SUPERVISOR, 5);
    score_one(&p, e, 3, NULL, 0, NULL, 0, &m, 1, &r, NULL);
    assert_false(r.calibration.tested);
    assert_false(r.calibration_flag);

    /* the supervisor also rating as a peer (issue 11's hole) is not a third "other":
     * still two others, not tested */
    struct score_evaluation dup[4] = {e[0], e[1], e[2], ev(0, 1, RELATION_PEER, 5)};
    score_one(&p, dup, 4, NULL, 0, NULL, 0, &m, 1, &r, NULL);
    assert_int_equal(r.calibration.n, 2);
    assert_false(r.calibration.tested);

    p.calibration = false;
    score_one(&p, e, 4, NULL, 0, NULL, 0, &m, 1, &r, NULL);
    assert_true(r.calibration.tested);
    assert_false(r.calibration_flag);
}

/* Every real number in a JSON text (the figures; integers are counts), for the
 * anonymity tests. */
static void collect_numbers(json_t *j, double *out, size_t *n, size_t cap)
{
    if (json_is_real(j)) {
        if (*n < cap)
            out[(*n)++] = json_real_value(j);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) collect_numbers(v, out, n, cap);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) collect_numbers(v, out, n, cap);
    }
}

/* docs/SCORING.md 11.5: a supervisor (4) and one peer (2). v1 showed the final value
 * 3.3333 = (0.4 x 4 + 0.2 x 2) / 0.6 and the supervisor's 4 beside it, so a reader
 * recovered the peer as (0.6 x 3.3333 - 0.4 x 4) / 0.2 = 2. Now the hidden peer is
 * pooled into "others" (n 1, still below 3): the result is restricted and the
 * supervisor's figures are not shown. The test applies that arithmetic to every number
 * the JSON shows, for both the example weights and the defaults: no shown number is
 * the supervisor's rating, the peer's, or recovers the peer. */
static void test_anonymity_arithmetic(void **state)
{
    (void)state;
    for (int defaults = 0; defaults < 2; defaults++) {
        struct score_params p = plain_params();
        if (defaults)
            score_params_default(&p);
        struct score_evaluation e[3] = {ev(0, 1, RELATION_SUPERVISOR, 4), ev(2, 1, RELATION_PEER, 2),
                                        ev(1, 1, RELATION_SELF, 3)};
        struct score_result r;
        score_one(&p, e, 3, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
        assert_true(r.has_others);
        assert_true(r.restricted);
        assert_false(r.groups[SCORE_GROUP_PEER].shown);
        assert_false(r.others.shown);
        if (!defaults)
            assert_true(fabs(r.values[KOMPETEN].value - 2.0 / 0.6) < EPS);
        char *s = result_json(&p, &r);
        json_t *j = parsed(s);
        json_t *sup =
            json_object_get(json_object_get(json_object_get(j, "perilaku"), "groups"), "supervisor");
        assert_true(json_is_true(json_object_get(sup, "shown"))); /* always attributed */
        assert_true(json_is_null(json_object_get(sup, "mean")));
        json_t *bsup =
            json_object_get(json_object_get(json_object_get(j, "breakdown"), "groups"), "supervisor");
        assert_true(json_is_null(json_object_get(bsup, "values")));
        assert_true(json_is_null(json_object_get(bsup, "robust_weight")));
        json_t *vk = json_object_get(json_object_get(json_object_get(j, "breakdown"), "values"), "kompeten");
        assert_true(json_is_null(json_object_get(vk, "supervisor_weight")));
        assert_true(json_is_null(json_object_get(vk, "joint")));
        assert_true(json_is_null(json_object_get(vk, "before_calibration")));
        double num[512];
        size_t nn = 0;
        collect_numbers(j, num, &nn, 512);
        assert_true(nn > 20 && nn < 512);
        double v = r.values[KOMPETEN].value,
               wsum = p.weight[SCORE_GROUP_SUPERVISOR] + p.weight[SCORE_GROUP_PEER];
        for (size_t i = 0; i < nn; i++) {
            assert_false(fabs(num[i] - 4.0) < 1e-4); /* the supervisor's rating */
            assert_false(fabs(num[i] - 2.0) < 1e-4); /* the peer's */
            double peer = (wsum * v - p.weight[SCORE_GROUP_SUPERVISOR] * num[i]) / p.weight[SCORE_GROUP_PEER];
            assert_false(fabs(peer - 2.0) < 1e-3);
        }
        json_decref(j);
        free(s);
    }
}

/* Anonymity, pooled: supervisor 4, two peers 2, three subordinates 3, self 5, two
 * citizen presses 4 (-> 5). Peers (2 < 3) and citizens (2 < 3) are hidden and pooled
 * into "others" for display and computation (all steps off). The pool's weight on a
 * value is the sum of the hidden groups' weights that rated it:
 *   pelayanan: pool (2, 2, 5, 5) = 3.5 with 0.2 + 0.25 = 0.45:
 *              (0.4 x 4 + 0.15 x 3 + 0.45 x 3.5) / 1.0 = 3.625
 *   others:    pool (2, 2) with 0.2: (1.6 + 0.45 + 0.4) / 0.75 = 3.2667
 * The pool has only 2 ratings of kompeten (< 3): the result is restricted. */
static void test_anonymity(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_evaluation e[8] = {
        ev(0, 1, RELATION_SUPERVISOR, 4),  ev(2, 1, RELATION_PEER, 2),
        ev(3, 1, RELATION_PEER, 2),        ev(4, 1, RELATION_SUBORDINATE, 3),
        ev(5, 1, RELATION_SUBORDINATE, 3), ev(6, 1, RELATION_SUBORDINATE, 3),
        ev(1, 1, RELATION_SELF, 5),
    };
    struct ikm_feedback fb[2] = {press(9, 1, 0, 4), press(9, 1, 100, 4)};
    struct score_result r;
    score_one(&p, e, 7, fb, 2, NULL, 0, NULL, 1, &r, NULL);
    assert_true(r.groups[SCORE_GROUP_SUPERVISOR].shown);
    assert_false(r.groups[SCORE_GROUP_PEER].shown);
    assert_true(r.groups[SCORE_GROUP_SUBORDINATE].shown);
    assert_false(r.groups[SCORE_GROUP_CITIZEN].shown);
    assert_true(r.groups[SCORE_GROUP_SELF].shown);
    assert_true(r.has_others);
    assert_int_equal(r.others.n, 4);
    assert_true(r.restricted);
    assert_true(fabs(r.values[SCORE_VALUE_PELAYANAN].value - 3.625) < EPS);
    assert_true(fabs(r.values[KOMPETEN].value - 2.45 / 0.75) < EPS);

    char *s = result_json(&p, &r);
    assert_non_null(strstr(s, "\"peer\":{\"shown\":false}"));
    assert_non_null(strstr(s, "\"citizen\":{\"shown\":false}"));
    assert_non_null(strstr(s, "\"supervisor\":{\"shown\":true,\"n\":1,\"mean\":null"));
    assert_non_null(strstr(s, "\"self\":{\"shown\":true,\"n\":1,\"mean\":5.0000"));
    assert_non_null(strstr(s, "\"others\":{\"shown\":false}"));
    /* the presses' satisfaction mean would be the hidden citizens' value: not shown */
    assert_non_null(strstr(s, "\"satisfaction\":{\"mean\":null,\"n\":2,"));
    json_t *j = parsed(s);
    json_t *peer = json_object_get(json_object_get(json_object_get(j, "breakdown"), "groups"), "peer");
    assert_int_equal(json_object_size(peer), 1);
    json_decref(j);
    free(s);

    /* a third peer: peers shown; the pool is the citizens alone (2 ratings of
     * pelayanan only, < 3): still restricted */
    e[7] = ev(7, 1, RELATION_PEER, 2);
    score_one(&p, e, 8, fb, 2, NULL, 0, NULL, 1, &r, NULL);
    assert_true(r.groups[SCORE_GROUP_PEER].shown);
    assert_true(r.restricted);
    /* and a third press: nothing hidden, nothing pooled, nothing restricted */
    struct ikm_feedback fb3[3] = {fb[0], fb[1], press(9, 1, 200, 4)};
    score_one(&p, e, 8, fb3, 3, NULL, 0, NULL, 1, &r, NULL);
    assert_false(r.has_others);
    assert_false(r.restricted);
    s = result_json(&p, &r);
    assert_non_null(strstr(s, "\"supervisor\":{\"shown\":true,\"n\":1,\"mean\":4.0000"));
    assert_non_null(strstr(s, "\"others\":null"));
    assert_non_null(strstr(s, "\"satisfaction\":{\"mean\":4.0000,\"n\":3,"));
    free(s);
}

/* A pool that reaches the minimum is shown as "others", and no figure depends on how
 * its ratings split between the hidden groups: supervisor 4, peers 2 and 3, one
 * subordinate 5 (hidden, hidden; pool n = 3, shown), every step on. Moving one pooled
 * rating from the peers to the subordinates (peer 2; subordinates 3 and 5) gives
 * byte-identical JSON: a reader learns the pool, never a hidden group. */
static void test_anonymity_pool_split(void **state)
{
    (void)state;
    struct score_params p;
    score_params_default(&p);
    struct score_evaluation a[4] = {ev(0, 1, RELATION_SUPERVISOR, 4), ev(2, 1, RELATION_PEER, 2),
                                    ev(3, 1, RELATION_PEER, 3), ev(4, 1, RELATION_SUBORDINATE, 5)};
    struct score_evaluation b[4] = {a[0], a[1], ev(3, 1, RELATION_SUBORDINATE, 3), a[3]};
    struct score_result ra, rb;
    score_one(&p, a, 4, NULL, 0, NULL, 0, NULL, 1, &ra, NULL);
    score_one(&p, b, 4, NULL, 0, NULL, 0, NULL, 1, &rb, NULL);
    assert_true(ra.has_others && ra.others.shown && !ra.restricted);
    assert_int_equal(ra.others.n, 3);
    char *sa = result_json(&p, &ra), *sb = result_json(&p, &rb);
    assert_string_equal(sa, sb);
    assert_non_null(strstr(sa, "\"peer\":{\"shown\":false},\"subordinate\":{\"shown\":false}"));
    assert_non_null(strstr(sa, "\"others\":{\"shown\":true,\"n\":3,"));
    free(sa);
    free(sb);
}

/* Kiosk misuse (only that step on): device 9 presses 4 six times in 10 s (0, 2, .. 10 s)
 * then 1, 2 and 3 at 100, 200, 300 s. On 1..5: 4 -> 5, 1 -> 1, 2 -> 2.3333, 3 -> 3.6667.
 * On: counted 5, 1, 2.3333, 3.6667 -> 12 / 4 = 3.0 (5 repeats dropped).
 * Off: 6 x 5 + 1 + 2.3333 + 3.6667 = 37 over 9 -> 4.1111.
 * Only citizens rated: only berorientasi_pelayanan has a value, so perilaku = it. */
static void test_kiosk_misuse(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    p.kiosk_misuse = true;
    struct ikm_feedback fb[9];
    for (int i = 0; i < 6; i++)
        fb[i] = press(9, 1, 2 * i, 4);
    fb[6] = press(9, 1, 100, 1);
    fb[7] = press(9, 1, 200, 2);
    fb[8] = press(9, 1, 300, 3);
    struct score_result r;
    score_one(&p, NULL, 0, fb, 9, NULL, 0, NULL, 1, &r, NULL);
    const struct score_group_result *c = &r.groups[SCORE_GROUP_CITIZEN];
    assert_int_equal(c->n, 4);
    assert_int_equal(c->presses, 9);
    assert_int_equal(c->repeats, 5);
    assert_true(fabs(c->values[SCORE_VALUE_PELAYANAN].raw - 37.0 / 9) < EPS);
    assert_true(fabs(c->values[SCORE_VALUE_PELAYANAN].rater_effects - 3.0) < EPS);
    assert_true(fabs(r.perilaku - 3.0) < EPS);
    assert_false(r.values[AKUNTABEL].has);
    assert_int_equal(r.satisfaction.n, 4);
    assert_true(fabs(r.satisfaction.mean - 10.0 / 4) < EPS); /* (4 + 1 + 2 + 3) / 4 on 1..4 */

    p.kiosk_misuse = false;
    score_one(&p, NULL, 0, fb, 9, NULL, 0, NULL, 1, &r, NULL);
    assert_int_equal(r.groups[SCORE_GROUP_CITIZEN].n, 9);
    assert_true(fabs(r.perilaku - 37.0 / 9) < EPS);
}

/* ------------------------------------------------------------------ a whole unit */

/* Six employees, one unit, DEFAULT parameters (every step on), through score_period.
 * Person 0 is the head; staff 1..6 are each rated by the head (with a hasil_kerja
 * judgement) and by three peers (the next three staff, cyclically); every rater gives
 * employee e the same value v_e on all seven values:
 *   staff     1      2      3      4      5      6
 *   hasil     above  meets  above  below  below  meets
 *   v         5      5      1      3      1      3
 * Ratings agree exactly, so the joint estimate finds levels v and offsets 0, all
 * weights 1; no calibration flag (residual 0). Credibility: the peers' group value
 * and the ratee's joint level are both v, so every value is v whatever the weights:
 *   v = 5 -> 5 above;  v = 3 -> 3 meets;  v = 1 -> 1 below.
 * (v1 shrank toward the unit mean 3 and gave 4.6667, 3, 1.3333: a unit mean pulls
 * everyone toward their colleagues.)
 * Predikat by the matrix: sangat_baik, baik, kurang, butuh_perbaikan, sangat_kurang,
 * baik. No work results were sent: achievement absent, so no numeric score. */
static void test_six_employees(void **state)
{
    (void)state;
    const enum hasil_kerja hk[7] = {HASIL_NONE,  HASIL_ABOVE, HASIL_MEETS, HASIL_ABOVE,
                                    HASIL_BELOW, HASIL_BELOW, HASIL_MEETS};
    const int v[7] = {0, 5, 5, 1, 3, 1, 3};
    const char *want[7] = {NULL, "sangat_baik", "baik", "kurang", "butuh_perbaikan", "sangat_kurang", "baik"};
    struct score_evaluation e[24];
    size_t n = 0;
    for (int32_t s = 1; s <= 6; s++) {
        e[n] = ev(0, s, RELATION_SUPERVISOR, v[s]);
        e[n++].hasil_kerja = hk[s];
        for (int k = 1; k <= 3; k++)
            e[n++] = ev((s - 1 + k) % 6 + 1, s, RELATION_PEER, v[s]);
    }
    int32_t unit[7] = {0};
    struct score_period_input in = {.n_employees = 7, .unit = unit, .evaluations = e, .n_evaluations = n};
    struct score_params p;
    score_params_default(&p);
    struct score_result r[7];
    char err[SCORE_ERR_MAX];
    assert_int_equal(score_period(&p, &in, r, err, sizeof err), 0);
    assert_int_equal(r[0].predikat, SCORE_PREDIKAT_NONE); /* the head was not rated */
    for (int s = 1; s <= 6; s++) {
        double want_v = v[s];
        assert_true(fabs(r[s].perilaku - want_v) < 1e-6);
        assert_false(r[s].calibration_flag);
        assert_true(fabs(r[s].groups[SCORE_GROUP_SUPERVISOR].robust_weight - 1.0) < 1e-6);
        assert_string_equal(score_predikat_code(r[s].predikat), want[s]);
        assert_false(r[s].has_score);
        assert_false(r[s].has_achievement);
    }
}

struct each_ctx {
    size_t seen[8];
    int calls;
};

static int each_stop_at_3(size_t employee, const struct score_result *r, void *ctx)
{
    struct each_ctx *c = ctx;
    (void)r;
    c->seen[c->calls++] = employee;
    return employee == 3 ? 7 : 0;
}

/* score_period_each visits employees in index order and stops when the callback
 * returns non-zero, passing that value back. */
static void test_period_each_stops(void **state)
{
    (void)state;
    struct score_evaluation e[2] = {ev(0, 1, RELATION_SUPERVISOR, 4), ev(0, 2, RELATION_SUPERVISOR, 2)};
    int32_t unit[6] = {0, 0, 0, 1, 1, 1};
    struct score_period_input in = {.n_employees = 6, .unit = unit, .evaluations = e, .n_evaluations = 2};
    struct score_params p;
    score_params_default(&p);
    struct each_ctx c = {{0}, 0};
    char err[SCORE_ERR_MAX];
    assert_int_equal(score_period_each(&p, &in, each_stop_at_3, &c, err, sizeof err), 7);
    assert_int_equal(c.calls, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(c.seen[i], (size_t)i);
}

/* A period over several rounds of score_period_parallel (SCORE_PARALLEL_BLOCK), the last
 * one partial: units of ten, each member rated by the head, four peers and themselves,
 * noisy values, citizen presses and an indicator for some. */
#define PAR_PEOPLE (2 * SCORE_PARALLEL_BLOCK + 301)
struct par_period {
    struct score_evaluation *e;
    struct ikm_feedback *fb;
    struct score_indicator *ind;
    int32_t *ind_emp, *unit;
    struct score_period_input in;
};

static void par_period_make(struct par_period *pp)
{
    pp->e = calloc(PAR_PEOPLE * 6, sizeof *pp->e);
    pp->fb = calloc(PAR_PEOPLE * 3, sizeof *pp->fb);
    pp->ind = calloc(PAR_PEOPLE, sizeof *pp->ind);
    pp->ind_emp = calloc(PAR_PEOPLE, sizeof *pp->ind_emp);
    pp->unit = calloc(PAR_PEOPLE, sizeof *pp->unit);
    assert_non_null(pp->e);
    assert_non_null(pp->fb);
    assert_non_null(pp->ind);
    assert_non_null(pp->ind_emp);
    assert_non_null(pp->unit);
    size_t n = 0, nf = 0, ni = 0;
    uint64_t s = 11;
#define NEXT() (s = s * 6364136223846793005ull + 1442695040888963407ull, (int)((s >> 33) % 1000))
    for (int32_t x = 0; x < PAR_PEOPLE; x++) {
        int32_t head = x / 10 * 10, size = PAR_PEOPLE - head < 10 ? PAR_PEOPLE - head : 10;
        pp->unit[x] = x / 10;
        if (x != head) {
            pp->e[n] = ev(head, x, RELATION_SUPERVISOR, 3);
            for (int j = 0; j < J; j++)
                pp->e[n].values[j] = (uint8_t)(1 + NEXT() % 5);
            pp->e[n++].hasil_kerja = (enum hasil_kerja)(1 + NEXT() % 3);
        }
        for (int k = 1; k <= 4 && k < size; k++) {
            pp->e[n] = ev(head + (x - head + k) % size, x, RELATION_PEER, 3);
            for (int j = 0; j < J; j++)
                pp->e[n].values[j] = (uint8_t)(NEXT() % 6);
            n++;
        }
        pp->e[n++] = ev(x, x, RELATION_SELF, 1 + NEXT() % 5);
        if (x % 3 == 0)
            for (int c = 0; c < 3; c++)
                pp->fb[nf++] = press(1000 + x, x, 100 * c + x, 1 + NEXT() % 4);
        if (x % 2 == 0) {
            pp->ind[ni] = (struct score_indicator){100, 50 + NEXT() % 90, 1, DIRECTION_HIGHER_BETTER, ""};
            pp->ind_emp[ni++] = x;
        }
    }
#undef NEXT
    pp->in =
        (struct score_period_input){PAR_PEOPLE, pp->unit, pp->e, n, pp->fb, nf, pp->ind, pp->ind_emp, ni};
}

static void par_period_free(struct par_period *pp)
{
    free(pp->e);
    free(pp->fb);
    free(pp->ind);
    free(pp->ind_emp);
    free(pp->unit);
}

struct par_slot {
    char *json;
    pthread_t made_by;
};

struct par_ctx {
    const struct score_params *p;
    char **want; /* the JSON from score_period_each, by employee */
    size_t next; /* the employee commit expects */
    pthread_t caller;
    size_t off_caller; /* results prepared on a thread other than the caller's */
    size_t stop_at;    /* commit returns 5 here (PAR_PEOPLE: never) */
};

static int par_collect(size_t employee, const struct score_result *r, void *ctx)
{
    struct par_ctx *c = ctx;
    c->want[employee] = result_json(c->p, r);
    return 0;
}

static void par_prepare(size_t employee, const struct score_result *r, void *slot, void *ctx)
{
    (void)employee;
    const struct par_ctx *c = ctx;
    struct par_slot *sl = slot;
    sl->json = result_json(c->p, r);
    sl->made_by = pthread_self();
}

static int par_commit(size_t employee, const struct score_result *r, void *slot, void *ctx)
{
    struct par_ctx *c = ctx;
    struct par_slot *sl = slot;
    assert_int_equal(employee, c->next);
    c->next++;
    /* the slot is this employee's (prepared from the same result), and the result is the
     * sequential run's to the byte */
    char *again = result_json(c->p, r);
    assert_string_equal(sl->json, again);
    assert_string_equal(sl->json, c->want[employee]);
    if (!pthread_equal(sl->made_by, c->caller))
        c->off_caller++;
    free(again);
    free(sl->json);
    sl->json = NULL;
    return employee == c->stop_at ? 5 : 0;
}

/* score_period_parallel on 1, 2 and 3 threads gives every employee's result byte for byte
 * as score_period_each does, commits in index order across rounds, prepares on the other
 * threads too, and stops where commit says. */
static void test_period_parallel_same_bytes(void **state)
{
    (void)state;
    struct par_period pp;
    par_period_make(&pp);
    struct score_params p;
    score_params_default(&p);
    char err[SCORE_ERR_MAX];
    char **want = calloc(PAR_PEOPLE, sizeof *want);
    assert_non_null(want);
    struct par_ctx c = {.p = &p, .want = want, .stop_at = PAR_PEOPLE};
    assert_int_equal(score_period_each(&p, &pp.in, par_collect, &c, err, sizeof err), 0);
    struct par_slot *slots = calloc(SCORE_PARALLEL_BLOCK, sizeof *slots);
    assert_non_null(slots);
    for (int threads = 1; threads <= 3; threads++) {
        struct par_ctx pc = {.p = &p, .want = want, .caller = pthread_self(), .stop_at = PAR_PEOPLE};
        struct score_parallel par = {threads, par_prepare, par_commit, &pc, slots, sizeof *slots};
        assert_int_equal(score_period_parallel(&p, &pp.in, &par, err, sizeof err), 0);
        assert_int_equal(pc.next, PAR_PEOPLE);
        if (threads == 1)
            assert_int_equal(pc.off_caller, 0);
        else
            assert_true(pc.off_caller >= PAR_PEOPLE / 4);
    }
    /* stopped in the second round: what was prepared and not committed is the caller's */
    struct par_ctx sc = {
        .p = &p, .want = want, .caller = pthread_self(), .stop_at = SCORE_PARALLEL_BLOCK + 7};
    struct score_parallel par = {2, par_prepare, par_commit, &sc, slots, sizeof *slots};
    assert_int_equal(score_period_parallel(&p, &pp.in, &par, err, sizeof err), 5);
    assert_int_equal(sc.next, SCORE_PARALLEL_BLOCK + 8);
    assert_non_null(strstr(err, "stopped by the caller at employee"));
    for (size_t k = 0; k < SCORE_PARALLEL_BLOCK; k++)
        free(slots[k].json);
    free(slots);
    for (size_t i = 0; i < PAR_PEOPLE; i++)
        free(want[i]);
    free(want);
    par_period_free(&pp);
}

/* ------------------------------------------------------------------ JSON */

/* A unit with noisy ratings, self-assessments, citizen presses with a burst, SKM
 * responses and indicators, scored by score_period; the same input in reverse order
 * must give byte-identical JSON for every employee (both paths sort inside). */
static void test_json_identical_for_any_input_order(void **state)
{
    (void)state;
    struct score_evaluation e[64];
    struct ikm_feedback fb[64];
    struct score_indicator ind[12];
    int32_t ind_emp[12];
    size_t n = 0, nf = 0, ni = 0;
    uint64_t s = 7;
#define NEXT() (s = s * 6364136223846793005ull + 1442695040888963407ull, (int)((s >> 33) % 1000))
    for (int32_t x = 1; x <= 6; x++) {
        e[n] = ev(0, x, RELATION_SUPERVISOR, 3);
        for (int j = 0; j < J; j++)
            e[n].values[j] = (uint8_t)(1 + NEXT() % 5);
        e[n++].hasil_kerja = (enum hasil_kerja)(1 + NEXT() % 3);
        for (int k = 1; k <= 4; k++) {
            e[n] = ev((x - 1 + k) % 6 + 1, x, RELATION_PEER, 3);
            for (int j = 0; j < J; j++)
                e[n].values[j] = (uint8_t)(NEXT() % 6); /* 0 = some values not rated */
            e[n].values[KOMPETEN] = (uint8_t)(1 + NEXT() % 5);
            n++;
        }
        e[n++] = ev(x, x, RELATION_SELF, 5);
        for (int c = 0; c < 6; c++)
            fb[nf++] = press(100 + x, x, 1000 * c + (c < 3 ? 0 : 3 * c), 1 + NEXT() % 4);
        ind[ni] =
            (struct score_indicator){100, 60 + NEXT() % 80, 1 + NEXT() % 3, DIRECTION_HIGHER_BETTER, ""};
        ind_emp[ni++] = x;
        ind[ni] = (struct score_indicator){10, 5 + NEXT() % 10, 1, DIRECTION_LOWER_BETTER, ""};
        ind_emp[ni++] = x;
    }
    for (int c = 0; c < 3; c++) { /* a burst, and SKM responses */
        fb[nf++] = press(101, 1, 2 + c, 4);
        struct ikm_feedback k = press(200, 2, 50 + c, 0);
        for (int q = 0; q < IKM_ELEMENTS; q++)
            k.skm[q] = (uint8_t)(1 + NEXT() % 4);
        fb[nf++] = k;
    }
#undef NEXT
    int32_t unit[7] = {0};
    struct score_period_input a = {7, unit, e, n, fb, nf, ind, ind_emp, ni};
    struct score_evaluation re[64];
    struct ikm_feedback rfb[64];
    struct score_indicator rind[12];
    int32_t rind_emp[12];
    for (size_t i = 0; i < n; i++)
        re[i] = e[n - 1 - i];
    for (size_t i = 0; i < nf; i++)
        rfb[i] = fb[nf - 1 - i];
    for (size_t i = 0; i < ni; i++) {
        rind[i] = ind[ni - 1 - i];
        rind_emp[i] = ind_emp[ni - 1 - i];
    }
    struct score_period_input b = {7, unit, re, n, rfb, nf, rind, rind_emp, ni};
    struct score_params p;
    score_params_default(&p);
    struct score_result ra[7], rb[7];
    char err[SCORE_ERR_MAX];
    assert_int_equal(score_period(&p, &a, ra, err, sizeof err), 0);
    assert_int_equal(score_period(&p, &b, rb, err, sizeof err), 0);
    for (int x = 0; x < 7; x++) {
        char *ja = result_json(&p, &ra[x]), *jb = result_json(&p, &rb[x]);
        assert_string_equal(ja, jb);
        /* not only the printed digits: the numbers themselves, to the last bit */
        assert_memory_equal(&ra[x].perilaku, &rb[x].perilaku, sizeof(double));
        assert_memory_equal(&ra[x].achievement, &rb[x].achievement, sizeof(double));
        for (int j = 0; j < J; j++)
            assert_memory_equal(&ra[x].values[j].value, &rb[x].values[j].value, sizeof(double));
        for (int g = 0; g < SCORE_GROUP_COUNT; g++)
            assert_memory_equal(&ra[x].groups[g], &rb[x].groups[g], sizeof ra[x].groups[g]);
        assert_null(strstr(ja, "-0.0000"));
        assert_null(strstr(ja, ":nan"));
        assert_null(strstr(ja, ":-nan"));
        assert_null(strstr(ja, "inf"));
        json_decref(parsed(ja));
        free(ja);
        free(jb);
    }
    assert_true(ra[1].groups[SCORE_GROUP_CITIZEN].repeats > 0);
    assert_true(ra[1].has_score);
}

/* The breakdown JSON for a hand-checkable case (all steps off): supervisor 4 with
 * judgement above, three peers 3, indicator achievement 1.2 (capped). Values 3.6667
 * (meets); predikat above x meets = baik; score 0.6 x 100 + 0.4 x (2.6667/4 x 100) =
 * 60 + 26.6667 = 86.6667. */
static void test_breakdown_json_content(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_evaluation e[4] = {ev(0, 1, RELATION_SUPERVISOR, 4), ev(2, 1, RELATION_PEER, 3),
                                    ev(3, 1, RELATION_PEER, 3), ev(4, 1, RELATION_PEER, 3)};
    e[0].hasil_kerja = HASIL_ABOVE;
    struct score_indicator ind[1] = {{100, 130, 1, DIRECTION_HIGHER_BETTER, "K1"}};
    struct score_result r;
    score_one(&p, e, 4, NULL, 0, ind, 1, NULL, 1, &r, NULL);
    char *s = result_json(&p, &r);
    assert_non_null(
        strstr(s, "{\"predikat\":\"baik\",\"score\":86.6667,\"hasil_kerja\":{\"achievement\":1.2000,"
                  "\"rating\":\"above\",\"from_supervisor\":true,\"indicators\":1,\"detail\":[{"
                  "\"indicator\":\"K1\",\"target\":100.0000,\"realization\":130.0000,\"direction\":"
                  "\"higher_better\",\"weight\":1.0000,\"achievement\":1.2000}],\"detail_omitted\":0}"));
    assert_non_null(strstr(s, "\"perilaku\":{\"value\":3.6667,\"rating\":\"meets\",\"values\":{"
                              "\"berorientasi_pelayanan\":3.6667,"));
    assert_non_null(strstr(s, "\"format\":2,\"steps\":{\"kiosk_misuse\":false,\"rater_effects\":false,"
                              "\"citizen_offset\":false,\"robust_location\":false,\"credibility\":false,"
                              "\"calibration\":false,\"anonymity\":true}"));
    assert_non_null(strstr(s, "\"score\":{\"hasil_achievement\":1.2000,\"hasil_scaled\":100.0000,"
                              "\"perilaku_scaled\":66.6667,\"value\":86.6667}"));
    assert_non_null(strstr(s, "\"ikm\":null"));
    json_t *j = parsed(s);
    json_t *bd = json_object_get(j, "breakdown");
    json_t *peer = json_object_get(json_object_get(bd, "groups"), "peer");
    assert_int_equal(json_integer_value(json_object_get(peer, "n")), 3);
    json_t *k = json_object_get(json_object_get(peer, "values"), "kompeten");
    assert_true(fabs(json_real_value(json_object_get(k, "raw")) - 3.0) < EPS);
    assert_true(json_is_null(json_object_get(json_object_get(bd, "groups"), "subordinate")));
    json_decref(j);
    free(s);
    assert_true(fabs(r.score - (60 + 0.4 * (2.2 / 0.6 - 1) / 4 * 100)) < EPS);
}

/* ------------------------------------------------------------------ missing data */

static void test_missing_data(void **state)
{
    (void)state;
    struct score_params p;
    score_params_default(&p);
    struct score_result r;
    /* nothing at all: collecting */
    score_one(&p, NULL, 0, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_false(r.has_achievement);
    assert_int_equal(r.hasil, SCORE_RATING_NONE);
    assert_false(r.has_perilaku);
    assert_int_equal(r.perilaku_rating, SCORE_RATING_NONE);
    assert_int_equal(r.predikat, SCORE_PREDIKAT_NONE);
    assert_false(r.has_score);
    assert_int_equal(r.n_training, 0);
    char *s = result_json(&p, &r);
    assert_non_null(strstr(s, "{\"predikat\":null,\"score\":null,\"hasil_kerja\":{\"achievement\":null,"
                              "\"rating\":\"none\""));
    assert_non_null(strstr(s, "\"perilaku\":{\"value\":null,\"rating\":\"none\""));
    json_decref(parsed(s));
    free(s);

    /* only the self-assessment (weight 0): reported, but no perilaku */
    struct score_evaluation self = ev(1, 1, RELATION_SELF, 5);
    score_one(&p, &self, 1, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_int_equal(r.groups[SCORE_GROUP_SELF].n, 1);
    assert_false(r.has_perilaku);
    assert_int_equal(r.predikat, SCORE_PREDIKAT_NONE);

    /* the supervisor's judgement but no work results: hasil kerja from the judgement,
     * predikat decidable, but no achievement and so no numeric score */
    struct score_evaluation sup = ev(0, 1, RELATION_SUPERVISOR, 4);
    sup.hasil_kerja = HASIL_ABOVE;
    score_one(&p, &sup, 1, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_false(r.has_achievement);
    assert_int_equal(r.hasil, SCORE_RATING_ABOVE);
    assert_int_equal(r.predikat, SCORE_PREDIKAT_SANGAT_BAIK);
    assert_false(r.has_score);

    /* work results but no behaviour rating: hasil known, perilaku none, no predikat */
    struct score_indicator ind[1] = {{100, 100, 1, DIRECTION_HIGHER_BETTER, ""}};
    score_one(&p, NULL, 0, NULL, 0, ind, 1, NULL, 1, &r, NULL);
    assert_int_equal(r.hasil, SCORE_RATING_MEETS);
    assert_int_equal(r.predikat, SCORE_PREDIKAT_NONE);
    assert_false(r.has_score);
}

/* ------------------------------------------------------------------ numeric score */

/* score = 0.6 x (achievement / cap x 100, at most 100) + 0.4 x (perilaku - 1) / 4 x 100
 *   achievement 1.2, perilaku 5: 0.6 x 100 + 0.4 x 100 = 100
 *   achievement 0.6, perilaku 3: 0.6 x 50 + 0.4 x 50 = 50
 *   achievement 0.9, perilaku 4: 0.6 x 75 + 0.4 x 75 = 75 */
static void test_numeric_score(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    const double ach[3] = {1.2, 0.6, 0.9};
    const int per[3] = {5, 3, 4};
    const double want[3] = {100, 50, 75};
    for (int i = 0; i < 3; i++) {
        struct score_indicator ind[1] = {{100, 100 * ach[i], 1, DIRECTION_HIGHER_BETTER, ""}};
        struct score_evaluation e = ev(0, 1, RELATION_SUPERVISOR, per[i]);
        struct score_result r;
        score_one(&p, &e, 1, NULL, 0, ind, 1, NULL, 1, &r, NULL);
        assert_true(r.has_score);
        assert_true(fabs(r.score - want[i]) < 1e-9);
    }
}

/* Self versus others: supervisor 3, self 5 -> gap +2 on every value; the self weighs 0
 * so the value is 3. With weight.self = 0.1: (0.4 x 3 + 0.1 x 5) / 0.5 = 3.4, the gap
 * is still measured against the others (3): +2. */
static void test_self_gap(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_evaluation e[2] = {ev(0, 1, RELATION_SUPERVISOR, 3), ev(1, 1, RELATION_SELF, 5)};
    struct score_result r;
    score_one(&p, e, 2, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_true(fabs(r.perilaku - 3.0) < EPS);
    for (int j = 0; j < J; j++) {
        assert_true(r.values[j].has_self_gap);
        assert_true(fabs(r.values[j].self_gap - 2.0) < EPS);
    }
    p.weight[SCORE_GROUP_SELF] = 0.1;
    score_one(&p, e, 2, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_true(fabs(r.perilaku - 3.4) < EPS);
    assert_true(fabs(r.values[HARMONIS].self_gap - 2.0) < EPS);
}

/* 95% interval of a group: peers 2, 3, 4 (per-rating means), mean 3, sd 1, t(0.975, 2)
 * = 4.303: 3 -/+ 4.303 / sqrt(3) = [0.51566, 5.48434], clamped to the scale: [1, 5].
 * Peers 3, 3, 4, 4: mean 3.5, sd 0.57735, t(3) = 3.182: 3.5 -/+ 0.91852 = [2.58148,
 * 4.41852], inside the scale. One rating: no interval. */
static void test_interval(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_evaluation e[3] = {ev(2, 1, RELATION_PEER, 2), ev(3, 1, RELATION_PEER, 3),
                                    ev(4, 1, RELATION_PEER, 4)};
    struct score_result r;
    score_one(&p, e, 3, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    const struct score_group_result *g = &r.groups[SCORE_GROUP_PEER];
    assert_true(g->has_ci);
    assert_true(fabs(g->ci_lo - 1.0) < 1e-9);
    assert_true(fabs(g->ci_hi - 5.0) < 1e-9);
    struct score_evaluation f[4] = {ev(2, 1, RELATION_PEER, 3), ev(3, 1, RELATION_PEER, 3),
                                    ev(4, 1, RELATION_PEER, 4), ev(5, 1, RELATION_PEER, 4)};
    score_one(&p, f, 4, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    double half = 3.182 * sqrt(1.0 / 3) / 2;
    assert_true(fabs(g->ci_lo - (3.5 - half)) < 1e-9);
    assert_true(fabs(g->ci_hi - (3.5 + half)) < 1e-9);
    score_one(&p, e, 1, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_false(r.groups[SCORE_GROUP_PEER].has_ci);
}

/* ------------------------------------------------------------------ config, training */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* training.threshold 3.0 and a catalog with courses for kompeten and akuntabel.
 * Supervisor: kompeten 2, harmonis 2, everything else 4 (all steps off): kompeten
 * and harmonis are below 3.0 -> recommended, in value order; harmonis has no course. */
static void test_training_from_config(void **state)
{
    (void)state;
    char path[] = "/tmp/kinerja-test-score-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "[fairness]\nrater_effects = false\ncredibility = false\ncalibration = false\n"
                     "robust_location = false\nkiosk_misuse = false\ncalibration_delta = 1.5\n"
                     "[weight]\nsupervisor = 0.4\n"
                     "[training]\nthreshold = 3.0\nkompeten = Pelatihan Teknis\n"
                     "akuntabel = Diklat Akuntabilitas\n");
    struct config *cfg = config_new();
    char err[256];
    assert_int_equal(config_load(cfg, path, err, sizeof err), 0);
    struct score_params p;
    assert_int_equal(score_params_from_config(cfg, &p, err, sizeof err), 0);
    assert_false(p.rater_effects);
    assert_true(fabs(p.weight[SCORE_GROUP_SUPERVISOR] - 0.4) < EPS);
    assert_true(fabs(p.calibration_delta - 1.5) < EPS); /* still parsed, no effect */
    assert_true(fabs(p.calibration_z - 3.0) < EPS);     /* the default */
    assert_true(p.citizen_offset);
    assert_string_equal(p.course[KOMPETEN], "Pelatihan Teknis");
    assert_string_equal(p.course[AKUNTABEL], "Diklat Akuntabilitas");
    assert_string_equal(p.course[HARMONIS], "");
    config_destroy(&cfg);

    struct score_evaluation e = ev(0, 1, RELATION_SUPERVISOR, 4);
    e.values[KOMPETEN] = 2;
    e.values[HARMONIS] = 2;
    struct score_result r;
    score_one(&p, &e, 1, NULL, 0, NULL, 0, NULL, 1, &r, NULL);
    assert_int_equal(r.n_training, 2);
    assert_int_equal(r.training[0].value, KOMPETEN);
    assert_int_equal(r.training[1].value, HARMONIS);
    char *s = result_json(&p, &r);
    assert_non_null(
        strstr(s, "\"training\":[{\"value\":\"kompeten\",\"mean\":2.0000,\"course\":"
                  "\"Pelatihan Teknis\"},{\"value\":\"harmonis\",\"mean\":2.0000,\"course\":null}]"));
    free(s);

    /* a typo in the catalog is an error, not a silently missing course */
    write_file(path, "[training]\nkompetn = Pelatihan Teknis\n");
    cfg = config_new();
    assert_int_equal(config_load(cfg, path, err, sizeof err), 0);
    assert_int_equal(score_params_from_config(cfg, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "training.kompetn"));
    config_destroy(&cfg);
    unlink(path);
}

/* ------------------------------------------------------------------ invalid input */

/* Every number of the result JSON is printed as "%.4f" would print it (score.c formats
 * them itself, falling back to printf next to a half unit): ties that round to even,
 * values just off a half unit, negatives that round to zero, large values. */
static void test_json_numbers_as_printf(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_indicator ind = {10, 8, 1, DIRECTION_HIGHER_BETTER, "A-1"};
    struct score_result r;
    score_one(&p, NULL, 0, NULL, 0, &ind, 1, NULL, 1, &r, NULL);
    const double fixed[] = {0.03125,   -0.03125, 0.00015,  0.00025, 2.00005,      4.99995,      -1.23456,
                            -0.00004,  -0.00005, -0.00006, 0.00005, 123456.78905, 999999.99995, 1000000.00005,
                            1e9 + 0.5, -7.77775, 1.5,      0.0,     -0.0,         3.0 / 7.0};
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] + 20000; i++) {
        double v;
        if (i < sizeof fixed / sizeof fixed[0]) {
            v = fixed[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* half of them exact multiples of 1/20000 (many exact ties), the rest anywhere in [-10, 10] */
            v = (i % 2) ? (double)((int64_t)(x % 400000) - 200000) / 20000.0
                        : (double)(x >> 11) / 9007199254740992.0 * 20 - 10;
        }
        r.model.has_scale = true;
        r.model.scale = v;
        char want[64], *s = result_json(&p, &r);
        snprintf(want, sizeof want, "\"scale\":%.4f,", fabs(v) < 0.00005 ? 0.0 : v);
        if (!strstr(s, want))
            fail_msg("%.17g: wanted %s in the JSON", v, want);
        free(s);
    }
}

static void test_invalid_input(void **state)
{
    (void)state;
    struct score_params p = plain_params();
    struct score_evaluation e = ev(0, 1, RELATION_PEER, 3);
    e.values[KOMPETEN] = 6;
    struct score_employee_input in = {.evaluations = &e, .n_evaluations = 1};
    struct score_result r;
    assert_int_equal(score_employee(&p, &in, &r), -1);
    assert_non_null(strstr(r.err, "kompeten must be 1..5"));
    e.values[KOMPETEN] = 3;
    e.relation = RELATION_NONE;
    assert_int_equal(score_employee(&p, &in, &r), -1);
    e.relation = RELATION_PEER;
    p.rater_effects = true; /* on, but no fits given */
    assert_int_equal(score_employee(&p, &in, &r), -1);
    assert_non_null(strstr(r.err, "fits"));
    p.rater_effects = false;
    struct score_indicator ind = {0, 1, 1, DIRECTION_HIGHER_BETTER, ""};
    struct score_employee_input in2 = {.indicators = &ind, .n_indicators = 1};
    assert_int_equal(score_employee(&p, &in2, &r), -1);
    struct ikm_feedback f = press(1, 1, 0, 9);
    struct score_employee_input in3 = {.feedback = &f, .n_feedback = 1};
    assert_int_equal(score_employee(&p, &in3, &r), -1);
    assert_non_null(strstr(r.err, "rating: must be 1..4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predikat_matrix),
        cmocka_unit_test(test_achievement_cap_lower_better_weighted),
        cmocka_unit_test(test_tiny_weights_keep_their_ratios),
        cmocka_unit_test(test_hasil_from_supervisor),
        cmocka_unit_test(test_weight_renormalisation),
        cmocka_unit_test(test_rater_effects_remove_leniency),
        cmocka_unit_test(test_favourite_down_weighted),
        cmocka_unit_test(test_robust_location),
        cmocka_unit_test(test_hasil_band_clamp),
        cmocka_unit_test(test_indicator_detail),
        cmocka_unit_test(test_calibration_favourites_do_not_shift_others),
        cmocka_unit_test(test_citizen_offset),
        cmocka_unit_test(test_credibility),
        cmocka_unit_test(test_anonymity_arithmetic),
        cmocka_unit_test(test_anonymity_pool_split),
        cmocka_unit_test(test_calibration),
        cmocka_unit_test(test_anonymity),
        cmocka_unit_test(test_kiosk_misuse),
        cmocka_unit_test(test_six_employees),
        cmocka_unit_test(test_period_each_stops),
        cmocka_unit_test(test_period_parallel_same_bytes),
        cmocka_unit_test(test_json_identical_for_any_input_order),
        cmocka_unit_test(test_breakdown_json_content),
        cmocka_unit_test(test_missing_data),
        cmocka_unit_test(test_numeric_score),
        cmocka_unit_test(test_self_gap),
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_training_from_config),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_json_numbers_as_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
