/* Unit tests for common/skm.c: the SKM report of PermenPANRB 14/2017 from integer sums,
 * hand-computed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "skm.h"

/*
 * Four responses (u1..u9):
 *   r1  4 4 3 4 3 4 4 3 4
 *   r2  3 4 2 3 3 4 3 3 4
 *   r3  4 3 2 4 4 3 4 2 3
 *   r4  3 3 1 4 3 3 4 3 3
 * sums 14 14 8 15 13 14 15 11 14, total 118, n 4.
 * NRR       = S/4:   3.500 3.500 2.000 3.750 3.250 3.500 3.750 2.750 3.500
 * tertimbang = NRR/9: 0.389 0.389 0.222 0.417 0.361 0.389 0.417 0.306 0.389
 *   (3.5/9 = 0.3888.., 2/9 = 0.2222.., 3.75/9 = 0.41666.., 3.25/9 = 0.36111.., 2.75/9 = 0.30555..)
 * value     = NRR x 25: 87.50 B, 50.00 D, 93.75 A, 81.25 B, 68.75 C
 * sum of tertimbang = 118 / 36 = 3.2777.. -> 3.278
 * IKM = 25 x 118 / 36 = 81.944.. -> 81.94, mutu B (76.61..88.30)
 * weakest: u3 (sum 8) alone.
 */
static void test_known_responses(void **state)
{
    (void)state;
    static const int r[4][SKM_ELEMENTS] = {
        {4, 4, 3, 4, 3, 4, 4, 3, 4},
        {3, 4, 2, 3, 3, 4, 3, 3, 4},
        {4, 3, 2, 4, 4, 3, 4, 2, 3},
        {3, 3, 1, 4, 3, 3, 4, 3, 3},
    };
    struct skm_sums s = {.n = 4};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < SKM_ELEMENTS; k++)
            s.sum[k] += r[i][k];
    static const long long want_sum[SKM_ELEMENTS] = {14, 14, 8, 15, 13, 14, 15, 11, 14};
    for (int k = 0; k < SKM_ELEMENTS; k++)
        assert_int_equal(s.sum[k], want_sum[k]);

    struct skm_summary out;
    skm_summarize(&s, &out);
    static const long nrr[SKM_ELEMENTS] = {3500, 3500, 2000, 3750, 3250, 3500, 3750, 2750, 3500};
    static const long wt[SKM_ELEMENTS] = {389, 389, 222, 417, 361, 389, 417, 306, 389};
    static const long val[SKM_ELEMENTS] = {8750, 8750, 5000, 9375, 8125, 8750, 9375, 6875, 8750};
    static const enum ikm_mutu mutu[SKM_ELEMENTS] = {IKM_MUTU_B, IKM_MUTU_B, IKM_MUTU_D,
                                                     IKM_MUTU_A, IKM_MUTU_B, IKM_MUTU_B,
                                                     IKM_MUTU_A, IKM_MUTU_C, IKM_MUTU_B};
    assert_int_equal(out.n, 4);
    for (int k = 0; k < SKM_ELEMENTS; k++) {
        assert_int_equal(out.el[k].nrr_milli, nrr[k]);
        assert_int_equal(out.el[k].weighted_milli, wt[k]);
        assert_int_equal(out.el[k].value_centi, val[k]);
        assert_int_equal(out.el[k].mutu, mutu[k]);
        assert_int_equal(out.el[k].weakest, k == 2);
    }
    assert_int_equal(out.weakest_n, 1);
    assert_int_equal(out.weighted_sum_milli, 3278);
    assert_int_equal(out.ikm_centi, 8194);
    assert_int_equal(out.mutu, IKM_MUTU_B);
    /* the same figure the unit report shows (common/ikm.c, one rounding) */
    assert_int_equal(out.ikm_centi, ikm_centi_of_sum(118, 4));
}

/* SPEC 5.6's boundary: 5000 responses whose answers sum to 158949 give 25 x 158949 / 45000
 * = 88.305, shown 88.31 and in band A; each element's sum 158949 / 9 = 17661 gives NRR
 * 3.5322 (3.532), value 2500 x 17661 / 5000 = 8830.5 -> 88.31 A as well. Every element is
 * the lowest: all nine are weakest. */
static void test_boundary_rounds_half_up_once(void **state)
{
    (void)state;
    struct skm_sums s = {.n = 5000};
    for (int k = 0; k < SKM_ELEMENTS; k++)
        s.sum[k] = 17661;
    struct skm_summary out;
    skm_summarize(&s, &out);
    assert_int_equal(out.ikm_centi, 8831);
    assert_int_equal(out.mutu, IKM_MUTU_A);
    for (int k = 0; k < SKM_ELEMENTS; k++) {
        assert_int_equal(out.el[k].nrr_milli, 3532);
        assert_int_equal(out.el[k].value_centi, 8831);
        assert_int_equal(out.el[k].mutu, IKM_MUTU_A);
        assert_true(out.el[k].weakest);
    }
    assert_int_equal(out.weakest_n, 9);
    /* 158949 / 45000 = 3.53220 -> 3.532 */
    assert_int_equal(out.weighted_sum_milli, 3532);
}

/* Ties: u2 and u8 share the lowest sum (n = 2: u2 = 2 + 3 = 5, u8 = 3 + 2 = 5, the others 8). */
static void test_weakest_ties_all_listed(void **state)
{
    (void)state;
    struct skm_sums s = {.n = 2, .sum = {8, 5, 8, 8, 8, 8, 8, 5, 8}};
    struct skm_summary out;
    skm_summarize(&s, &out);
    assert_int_equal(out.weakest_n, 2);
    for (int k = 0; k < SKM_ELEMENTS; k++)
        assert_int_equal(out.el[k].weakest, k == 1 || k == 7);
    /* total 66 over 2: IKM = 25 x 66 / 18 = 91.666.. -> 91.67 A; u2 NRR 2.5 -> 62.50 D */
    assert_int_equal(out.ikm_centi, 9167);
    assert_int_equal(out.el[1].value_centi, 6250);
    assert_int_equal(out.el[1].mutu, IKM_MUTU_D);
}

static void test_no_responses(void **state)
{
    (void)state;
    struct skm_sums s = {0};
    struct skm_summary out;
    skm_summarize(&s, &out);
    assert_int_equal(out.n, 0);
    assert_int_equal(out.ikm_centi, 0);
    assert_int_equal(out.mutu, IKM_MUTU_NONE);
    assert_int_equal(out.weakest_n, 0);
    skm_summarize(NULL, &out);
    assert_int_equal(out.n, 0);
    assert_string_equal(skm_element_names[2], "Waktu penyelesaian");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_responses),
        cmocka_unit_test(test_boundary_rounds_half_up_once),
        cmocka_unit_test(test_weakest_ties_all_listed),
        cmocka_unit_test(test_no_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
