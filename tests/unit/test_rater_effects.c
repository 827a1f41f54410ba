/* Unit tests for common/rater_effects.c: the joint robust estimate of ratee levels and
 * rater offsets (SPEC 5.3 "rater effects"). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rater_effects.h"

#define EPS 1e-6
#define MAXR 64

struct data {
    int32_t rater[MAXR], ratee[MAXR];
    double y[MAXR];
    size_t n;
};

static void add(struct data *d, int32_t rater, int32_t ratee, double y)
{
    assert_true(d->n < MAXR);
    d->rater[d->n] = rater;
    d->ratee[d->n] = ratee;
    d->y[d->n] = y;
    d->n++;
}

static struct rater_effects *estimate(const struct data *d, size_t people, double k)
{
    struct rater_effects *re = rater_effects_new(people, d->n);
    assert_non_null(re);
    assert_int_equal(rater_effects_estimate(re, d->rater, d->ratee, d->y, k), 0);
    assert_true(re->converged);
    return re;
}

/*
 * A lenient rater's offset is removed, shrunk by n/(n+k).
 * Ratees 0..2 with true levels L = 2, 3, 4; raters 3..6 rate all three; rater 3 is
 * lenient by b = 0.5, the others rate exactly L (b = 0). Complete design, E = 3 ratees
 * per rater, k = 3. Normal equations of sum (y - l - o)^2 + k sum o^2:
 *   l_e = mean_r (y_er - o_r)                 -> with sum o = 0: l_e = L_e + mean b
 *   (E + k) o_r = sum_e (y_er - l_e) = E (b_r - mean b)
 * so o_r = E / (E + k) (b_r - mean b) = 3/6 (b_r - 0.125): the count at which half of
 * the offset applies is k. Rater 3: 0.5 x 0.375 = 0.1875; others: 0.5 x -0.125 = -0.0625;
 * levels L + 0.125. Residuals (1/2)(b - 0.125) are 0.1875 and -0.0625, standardised by
 * sqrt(1 - 1/4): 0.2165 and 0.0722, all below 1.345 x 0.25 (scale floor) = 0.336, so
 * every Huber weight stays 1.
 */
static void test_lenient_offset_half_at_k(void **state)
{
    (void)state;
    struct data d = {0};
    const double L[3] = {2, 3, 4};
    for (int32_t r = 3; r <= 6; r++)
        for (int32_t e = 0; e < 3; e++)
            add(&d, r, e, L[e] + (r == 3 ? 0.5 : 0.0));
    struct rater_effects *re = estimate(&d, 7, 3.0);
    assert_true(fabs(re->offset[3] - 0.1875) < EPS);
    for (int r = 4; r <= 6; r++)
        assert_true(fabs(re->offset[r] + 0.0625) < EPS);
    for (int e = 0; e < 3; e++)
        assert_true(fabs(re->level[e] - (L[e] + 0.125)) < EPS);
    for (size_t i = 0; i < d.n; i++)
        assert_true(fabs(re->weight[i] - 1.0) < EPS);
    /* the corrected ratings (y - offset) of the lenient rater now sit 0.5 - 0.1875 =
     * 0.3125 above the truth instead of 0.5; the others' 0.0625 above: the gap between
     * them shrank from 0.5 to 0.25 (half, at n = k) */
    assert_true(fabs((d.y[0] - re->offset[3]) - (L[0] + 0.3125)) < EPS);
    assert_int_equal(re->rater_n[3], 3);
    assert_true(fabs(re->rater_weight[3] - 3.0) < EPS);
    rater_effects_destroy(&re);
    assert_null(re);
}

/* Same design with 4 ratees (E = 4): o = 4/7 (b - mean b). Rater 3 with b = 0.5:
 * 4/7 x 0.375 = 0.2142857; others 4/7 x -0.125 = -0.0714286. Without shrinkage (k = 0)
 * the offsets are the full b - mean b: 0.375 and -0.125, and every rating is explained. */
static void test_shrinkage_by_count(void **state)
{
    (void)state;
    struct data d = {0};
    const double L[4] = {2, 3, 3.5, 4};
    for (int32_t r = 4; r <= 7; r++)
        for (int32_t e = 0; e < 4; e++)
            add(&d, r, e, L[e] + (r == 4 ? 0.5 : 0.0));
    struct rater_effects *re = estimate(&d, 8, 3.0);
    assert_true(fabs(re->offset[4] - 4.0 / 7 * 0.375) < EPS);
    assert_true(fabs(re->offset[5] + 4.0 / 7 * 0.125) < EPS);
    rater_effects_destroy(&re);
    re = estimate(&d, 8, 0.0);
    assert_true(fabs(re->offset[4] - 0.375) < EPS);
    assert_true(fabs(re->offset[6] + 0.125) < EPS);
    for (int e = 0; e < 4; e++)
        assert_true(fabs(re->level[e] - (L[e] + 0.125)) < EPS);
    rater_effects_destroy(&re);
}

/*
 * A favourite: raters 4 (supervisor), 5, 6, 7 rate ratees 0..3 at their true level
 * L = 2, 3, 3, 4, except that the supervisor gives ratee 0 a rating of 4 (+2).
 * A plain mean puts ratee 0 at (4 + 2 + 2 + 2) / 4 = 2.5. The joint robust estimate
 * must (a) give that one rating a small weight, (b) leave the supervisor's other
 * ratings at full weight and their offset near 0 (a favourite is not leniency), and
 * (c) put ratee 0 much closer to 2 than the plain mean does.
 */
static void test_favourite_down_weighted(void **state)
{
    (void)state;
    struct data d = {0};
    const double L[4] = {2, 3, 3, 4};
    size_t fav = 0;
    for (int32_t r = 4; r <= 7; r++)
        for (int32_t e = 0; e < 4; e++) {
            if (r == 4 && e == 0)
                fav = d.n;
            add(&d, r, e, L[e] + (r == 4 && e == 0 ? 2.0 : 0.0));
        }
    struct rater_effects *re = estimate(&d, 8, 3.0);
    assert_true(re->weight[fav] < 0.3);
    for (size_t i = 0; i < d.n; i++)
        if (i != fav)
            assert_true(re->weight[i] > 0.9);
    assert_true(fabs(re->offset[4]) < 0.1);
    assert_true(fabs(re->level[0] - 2.0) < 0.15); /* plain mean: 2.5 */
    assert_true(re->level[0] < 2.5 - 0.3);
    rater_effects_destroy(&re);
}

/* The result depends on the set of ratings, not their order: reversed input gives
 * bit-identical levels, offsets and (per rating) weights. */
static void test_order_independent(void **state)
{
    (void)state;
    struct data d = {0}, rev = {0};
    uint64_t s = 42;
    for (int i = 0; i < 60; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int32_t r = (int32_t)((s >> 33) % 10), e = (int32_t)((s >> 40) % 10);
        add(&d, r, e, 1 + (double)((s >> 20) % 5));
    }
    for (size_t i = 0; i < d.n; i++)
        add(&rev, d.rater[d.n - 1 - i], d.ratee[d.n - 1 - i], d.y[d.n - 1 - i]);
    struct rater_effects *a = estimate(&d, 10, 3.0), *b = estimate(&rev, 10, 3.0);
    for (int p = 0; p < 10; p++) {
        assert_memory_equal(&a->offset[p], &b->offset[p], sizeof(double));
        if (!isnan(a->level[p]))
            assert_memory_equal(&a->level[p], &b->level[p], sizeof(double));
    }
    for (size_t i = 0; i < d.n; i++)
        assert_memory_equal(&a->weight[i], &b->weight[d.n - 1 - i], sizeof(double));
    rater_effects_destroy(&a);
    rater_effects_destroy(&b);
}

/* Someone nobody rated has no level (NAN); someone who rated nobody has offset 0; a
 * ratee with a single rating keeps weight 1 (nothing to judge it against). */
static void test_unrated_and_single(void **state)
{
    (void)state;
    struct data d = {0};
    add(&d, 0, 1, 5.0);
    add(&d, 2, 3, 2.0);
    add(&d, 0, 3, 4.0);
    struct rater_effects *re = estimate(&d, 5, 3.0);
    assert_true(isnan(re->level[0]));
    assert_true(isnan(re->level[4]));
    assert_true(fabs(re->offset[4]) < EPS);
    assert_true(fabs(re->weight[0] - 1.0) < EPS);
    rater_effects_destroy(&re);
}

/* Invalid input is refused with a reason, not estimated. */
static void test_invalid_input(void **state)
{
    (void)state;
    struct data d = {0};
    add(&d, 0, 7, 3.0);
    struct rater_effects *re = rater_effects_new(3, d.n);
    assert_int_equal(rater_effects_estimate(re, d.rater, d.ratee, d.y, 3.0), -1);
    assert_non_null(strstr(re->errstr, "out of range"));
    d.ratee[0] = 1;
    d.y[0] = NAN;
    assert_int_equal(rater_effects_estimate(re, d.rater, d.ratee, d.y, 3.0), -1);
    assert_non_null(strstr(re->errstr, "finite"));
    d.y[0] = 3;
    assert_int_equal(rater_effects_estimate(re, d.rater, d.ratee, d.y, -1.0), -1);
    rater_effects_destroy(&re);
    assert_null(rater_effects_new(RATER_EFFECTS_MAX_PEOPLE + 1, 1));
}

/* Two separate groups (no rater in common) are separate problems: each group's offsets
 * sum to 0 (the ridge puts any common shift into the levels), and a constant added to
 * every rating of one group moves only that group's levels. */
static void test_components_identified(void **state)
{
    (void)state;
    struct data d = {0};
    /* group A: raters 0,1 rate ratees 2,3; group B: raters 4,5 rate ratees 6,7 */
    add(&d, 0, 2, 3);
    add(&d, 0, 3, 4);
    add(&d, 1, 2, 2);
    add(&d, 1, 3, 3);
    add(&d, 4, 6, 4);
    add(&d, 4, 7, 5);
    add(&d, 5, 6, 4);
    add(&d, 5, 7, 4);
    struct rater_effects *re = estimate(&d, 8, 3.0);
    assert_true(fabs(re->offset[0] + re->offset[1]) < EPS);
    assert_true(fabs(re->offset[4] + re->offset[5]) < EPS);
    double l6 = re->level[6];
    for (size_t i = 0; i < 4; i++)
        d.y[i] += 1.0;
    rater_effects_destroy(&re);
    re = estimate(&d, 8, 3.0);
    assert_true(fabs(re->level[6] - l6) < EPS);
    rater_effects_destroy(&re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenient_offset_half_at_k), cmocka_unit_test(test_shrinkage_by_count),
        cmocka_unit_test(test_favourite_down_weighted),  cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_unrated_and_single),       cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_components_identified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
