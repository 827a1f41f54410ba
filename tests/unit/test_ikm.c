/* Unit tests for common/ikm.c: IKM per PermenPANRB 14/2017, the mutu bands and their
 * boundaries, the smiley satisfaction mean, kiosk-misuse repeats. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ikm.h"

#define EPS 1e-9
#define S_MS 1000

static struct ikm_feedback skm_all(int answer)
{
    struct ikm_feedback f;
    memset(&f, 0, sizeof f);
    for (int j = 0; j < IKM_ELEMENTS; j++)
        f.skm[j] = (uint8_t)answer;
    return f;
}

static struct ikm_feedback press(int64_t device, int64_t employee, int64_t ts_s, int rating)
{
    struct ikm_feedback f;
    memset(&f, 0, sizeof f);
    f.device = device;
    f.employee = employee;
    f.ts_ms = ts_s * S_MS;
    f.rating = (uint8_t)rating;
    return f;
}

/* Five responses answering 4 everywhere and five answering 3: every element mean is
 * (5 x 4 + 5 x 3) / 10 = 3.5; IKM = (9 x 3.5 / 9) x 25 = 87.5, in band B (76.61-88.30). */
static void test_ikm_87_5_is_b(void **state)
{
    (void)state;
    struct ikm_feedback fb[10];
    for (int i = 0; i < 10; i++)
        fb[i] = skm_all(i < 5 ? 4 : 3);
    struct ikm_result r;
    ikm_compute(fb, 10, &r);
    assert_int_equal(r.n, 10);
    for (int j = 0; j < IKM_ELEMENTS; j++)
        assert_true(fabs(r.element_mean[j] - 3.5) < EPS);
    assert_true(fabs(r.value - 87.5) < EPS);
    assert_int_equal(r.mutu, IKM_MUTU_B);
    assert_string_equal(ikm_mutu_name(r.mutu), "B");
    assert_string_equal(ikm_mutu_label(r.mutu), "Baik");
}

/* Element means differ: u1 answered 4,2 (mean 3), u2..u9 answered 3,3 (mean 3) except
 * u9 answered 1,2 (mean 1.5). Sum = 3 + 7 x 3 + 1.5 = 25.5; IKM = 25.5 / 9 x 25 =
 * 70.8333, shown (rounded half up) as 70.83, band C (65.00-76.60). */
static void test_ikm_element_means(void **state)
{
    (void)state;
    struct ikm_feedback fb[2] = {skm_all(3), skm_all(3)};
    fb[0].skm[0] = 4;
    fb[1].skm[0] = 2;
    fb[0].skm[8] = 1;
    fb[1].skm[8] = 2;
    struct ikm_result r;
    ikm_compute(fb, 2, &r);
    assert_true(fabs(r.element_mean[0] - 3.0) < EPS);
    assert_true(fabs(r.element_mean[8] - 1.5) < EPS);
    assert_int_equal(r.centi, 7083);
    assert_true(fabs(r.value - 70.83) < EPS);
    assert_int_equal(r.mutu, IKM_MUTU_C);
}

/* Extremes: all 4 -> 100 (A); all 1 -> 25 (D); no responses -> no mutu. Smiley presses
 * are not SKM responses and are ignored by ikm_compute. */
static void test_ikm_extremes_and_empty(void **state)
{
    (void)state;
    struct ikm_feedback a = skm_all(4), d = skm_all(1), p = press(1, 1, 0, 4);
    struct ikm_result r;
    ikm_compute(&a, 1, &r);
    assert_true(fabs(r.value - 100.0) < EPS);
    assert_int_equal(r.mutu, IKM_MUTU_A);
    ikm_compute(&d, 1, &r);
    assert_true(fabs(r.value - 25.0) < EPS);
    assert_int_equal(r.mutu, IKM_MUTU_D);
    ikm_compute(&p, 1, &r);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.mutu, IKM_MUTU_NONE);
    assert_null(ikm_mutu_name(r.mutu));
}

/* Boundaries, decided on the IKM rounded half-up to two decimals (what a report
 * prints), in exact integer arithmetic: IKM = 25 S / (9 n). With n = 5000 responses
 * (45000 answers):
 *   S = 158949: 25 x 158949 / 45000 = 88.305 exactly  -> 88.31 -> A
 *   S = 158948: 88.30444..                             -> 88.30 -> B
 *   S = 137889: 76.605 exactly                         -> 76.61 -> B
 *   S = 137888: 76.60444..                             -> 76.60 -> C
 *   S = 116991: 64.995 exactly                         -> 65.00 -> C
 *   S = 116990: 64.99444..                             -> 64.99 -> D */
static void test_ikm_mutu_boundaries(void **state)
{
    (void)state;
    assert_int_equal(ikm_mutu_of_sum(158949, 5000), IKM_MUTU_A);
    assert_int_equal(ikm_mutu_of_sum(158948, 5000), IKM_MUTU_B);
    assert_int_equal(ikm_mutu_of_sum(137889, 5000), IKM_MUTU_B);
    assert_int_equal(ikm_mutu_of_sum(137888, 5000), IKM_MUTU_C);
    assert_int_equal(ikm_mutu_of_sum(116991, 5000), IKM_MUTU_C);
    assert_int_equal(ikm_mutu_of_sum(116990, 5000), IKM_MUTU_D);
    assert_int_equal(ikm_mutu_of_sum(0, 0), IKM_MUTU_NONE);
}

/* The same boundary through ikm_compute on real responses: 5000 responses answering 3
 * everywhere (S = 135000) with the first `extra` answers raised to 4. extra = 23949
 * gives S = 158949, IKM 88.305, shown as 88.31 (A); one answer fewer gives 88.3044,
 * shown as 88.30 (B). */
static void test_ikm_boundary_through_responses(void **state)
{
    (void)state;
    const size_t n = 5000;
    struct ikm_feedback *fb = malloc(n * sizeof *fb);
    assert_non_null(fb);
    for (int extra = 23948; extra <= 23949; extra++) {
        int left = extra;
        for (size_t i = 0; i < n; i++) {
            fb[i] = skm_all(3);
            for (int j = 0; j < IKM_ELEMENTS && left > 0; j++, left--)
                fb[i].skm[j] = 4;
        }
        struct ikm_result r;
        ikm_compute(fb, n, &r);
        assert_int_equal(r.n, 5000);
        assert_int_equal(r.centi, extra == 23949 ? 8831 : 8830);
        assert_true(fabs(r.value - (extra == 23949 ? 88.31 : 88.30)) < EPS);
        assert_int_equal(r.mutu, extra == 23949 ? IKM_MUTU_A : IKM_MUTU_B);
    }
    free(fb);
}

/* n responses of 3 everywhere (S = 27 n) with the first `extra` answers raised to 4:
 * S = 27 n + extra. */
static struct ikm_feedback *skm_with_sum(size_t n, long extra)
{
    struct ikm_feedback *fb = malloc(n * sizeof *fb);
    assert_non_null(fb);
    long left = extra;
    for (size_t i = 0; i < n; i++) {
        fb[i] = skm_all(3);
        for (int j = 0; j < IKM_ELEMENTS && left > 0; j++, left--)
            fb[i].skm[j] = 4;
    }
    return fb;
}

/* SPEC 5.6: the IKM is rounded once, half up, from the integer sums, and both the
 * figure shown ("%.2f" of ikm_result.value, as the reports, the score JSON and
 * unit_scores print it) and the mutu come from that rounded figure. n = 5000
 * responses, 45000 answers, IKM = 25 S / 45000:
 *   S = 158949 = 135000 + 23949: 88.305   -> "88.31", A (today's unrounded double
 *                                           88.30499.. printed "88.30" with mutu A)
 *   S = 158948:                  88.3044  -> "88.30", B
 *   S = 137889 = 135000 + 2889:  76.605   -> "76.61", B
 *   S = 137888:                  76.6044  -> "76.60", C
 *   S = 116991 = 135000 - 18009: 64.995   -> "65.00", C   (answers lowered to 2)
 *   S = 116990:                  64.9944  -> "64.99", D */
static void test_ikm_rounded_once_shown_and_band_agree(void **state)
{
    (void)state;
    const size_t n = 5000;
    const struct {
        long sum;
        long centi;
        const char *shown;
        enum ikm_mutu mutu;
    } cases[] = {
        {158949, 8831, "88.31", IKM_MUTU_A}, {158948, 8830, "88.30", IKM_MUTU_B},
        {137889, 7661, "76.61", IKM_MUTU_B}, {137888, 7660, "76.60", IKM_MUTU_C},
        {116991, 6500, "65.00", IKM_MUTU_C}, {116990, 6499, "64.99", IKM_MUTU_D},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long delta = cases[c].sum - 27L * (long)n;
        struct ikm_feedback *fb = skm_with_sum(n, delta > 0 ? delta : 0);
        for (long left = -delta, i = 0; left > 0 && i < (long)n; i++)
            for (int j = 0; j < IKM_ELEMENTS && left > 0; j++, left--)
                fb[i].skm[j] = 2;
        struct ikm_result r;
        ikm_compute(fb, n, &r);
        free(fb);
        char shown[16];
        snprintf(shown, sizeof shown, "%.2f", r.value);
        assert_string_equal(shown, cases[c].shown);
        assert_int_equal(r.centi, cases[c].centi);
        assert_int_equal(r.mutu, cases[c].mutu);
        assert_int_equal(ikm_centi_of_sum((uint64_t)cases[c].sum, n), cases[c].centi);
        assert_int_equal(ikm_mutu_of_sum((uint64_t)cases[c].sum, n), cases[c].mutu);
    }
}

/* The same boundaries reached with uneven elements, as real surveys are: 5000
 * responses whose element j sums to sums[j] (the first sums[j] mod 5000 responses answer
 * floor(sums[j] / 5000) + 1, the others floor(sums[j] / 5000)). Summing nine element
 * means in floating point lands just below the half (88.30499..), which "%.2f" printed
 * as 88.30 while the mutu, decided exactly, said A: these three cases failed before the
 * IKM was rounded once from the integer sums.
 *   sums 17762+17661+19870+15524+19857+12631+17481+19862+18301 = 158949 -> 88.305 -> "88.31" A
 *   sums 16146+18874+12827+12907+15143+11901+19157+15590+15344 = 137889 -> 76.605 -> "76.61" B
 *   sums 12191+16692+16774+15551+8438+16328+11106+9894+10017   = 116991 -> 64.995 -> "65.00" C */
static void test_ikm_uneven_elements_at_boundary(void **state)
{
    (void)state;
    const size_t n = 5000;
    const struct {
        long sums[IKM_ELEMENTS];
        const char *shown;
        enum ikm_mutu mutu;
    } cases[] = {
        {{17762, 17661, 19870, 15524, 19857, 12631, 17481, 19862, 18301}, "88.31", IKM_MUTU_A},
        {{16146, 18874, 12827, 12907, 15143, 11901, 19157, 15590, 15344}, "76.61", IKM_MUTU_B},
        {{12191, 16692, 16774, 15551, 8438, 16328, 11106, 9894, 10017}, "65.00", IKM_MUTU_C},
    };
    struct ikm_feedback *fb = malloc(n * sizeof *fb);
    assert_non_null(fb);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t i = 0; i < n; i++) {
            memset(&fb[i], 0, sizeof fb[i]);
            for (int j = 0; j < IKM_ELEMENTS; j++) {
                long base = cases[c].sums[j] / (long)n, rem = cases[c].sums[j] % (long)n;
                fb[i].skm[j] = (uint8_t)(base + ((long)i < rem ? 1 : 0));
            }
        }
        struct ikm_result r;
        ikm_compute(fb, n, &r);
        char shown[16];
        snprintf(shown, sizeof shown, "%.2f", r.value);
        assert_string_equal(shown, cases[c].shown);
        assert_int_equal(r.mutu, cases[c].mutu);
    }
    free(fb);
}

/* Every possible S for n = 1..40 responses (S = 9n .. 36n): the figure printed with
 * "%.2f" is 25 S / (9 n) rounded half up (compared in integers: 18 n x 100 x shown
 * <= 5000 S + 9 n < 18 n x (100 x shown + 1)), and the mutu is the band of the printed figure. */
static void test_ikm_every_sum_prints_its_band(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 40; n++) {
        for (uint64_t s = IKM_ELEMENTS * n; s <= 4 * IKM_ELEMENTS * n; s++) {
            long centi = ikm_centi_of_sum(s, n);
            char shown[16];
            snprintf(shown, sizeof shown, "%.2f", (double)centi / 100.0);
            long printed = strtol(shown, NULL, 10) * 100 + strtol(strchr(shown, '.') + 1, NULL, 10);
            assert_int_equal(printed, centi);
            assert_true(5000 * s + 9 * n < ((uint64_t)printed + 1) * 18 * n);
            assert_true(5000 * s + 9 * n >= (uint64_t)printed * 18 * n);
            enum ikm_mutu want = printed >= 8831   ? IKM_MUTU_A
                                 : printed >= 7661 ? IKM_MUTU_B
                                 : printed >= 6500 ? IKM_MUTU_C
                                                   : IKM_MUTU_D;
            assert_int_equal(ikm_mutu_of_sum(s, n), want);
        }
    }
    assert_int_equal(ikm_centi_of_sum(0, 0), 0);
    assert_int_equal(ikm_mutu_of_centi(0), IKM_MUTU_NONE);
}

/* Device 1 about employee 7 presses at 0 s (4), 3 s (4), 8 s (4), 19 s (4), 25 s (2);
 * device 2 about employee 7 at 5 s (1); device 1 about employee 8 at 4 s (3).
 * Window 10 s, chained: 3 s and 8 s follow within 10 s (repeats); 19 s is 11 s after
 * 8 s (counts); 25 s is 6 s after 19 s (repeat). Other device / other employee: count.
 * Repeats 3; counted presses 4, 4, 1, 3: mean 12 / 4 = 3.0. */
static void test_kiosk_repeats(void **state)
{
    (void)state;
    struct ikm_feedback fb[] = {
        press(1, 7, 0, 4),  press(1, 7, 3, 4), press(1, 7, 8, 4), press(1, 7, 19, 4),
        press(1, 7, 25, 2), press(2, 7, 5, 1), press(1, 8, 4, 3),
    };
    size_t n = sizeof fb / sizeof fb[0];
    bool rep[7];
    assert_int_equal(ikm_mark_repeats(fb, n, 10, rep), 3);
    bool want[7] = {false, true, true, false, true, false, false};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rep[i], want[i]);
    struct ikm_satisfaction s;
    ikm_satisfaction(fb, n, rep, &s);
    assert_int_equal(s.presses, 7);
    assert_int_equal(s.repeats, 3);
    assert_int_equal(s.n, 4);
    assert_true(fabs(s.mean - 3.0) < EPS);
    /* without the step every press counts: (4+4+4+4+2+1+3) / 7 = 22 / 7 */
    ikm_satisfaction(fb, n, NULL, &s);
    assert_int_equal(s.n, 7);
    assert_true(fabs(s.mean - 22.0 / 7) < EPS);

    /* the flags belong to the records, whatever their order */
    struct ikm_feedback rev[7];
    bool rrep[7];
    for (size_t i = 0; i < n; i++)
        rev[i] = fb[n - 1 - i];
    assert_int_equal(ikm_mark_repeats(rev, n, 10, rrep), 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rrep[i], want[n - 1 - i]);
}

/* A long burst (every 9 s for 27 s) counts once; window 0 flags nothing; SKM responses
 * are never repeats; exactly 10 s apart is still a repeat (within the window). */
static void test_kiosk_chain_and_edges(void **state)
{
    (void)state;
    struct ikm_feedback fb[] = {press(1, 1, 0, 4), press(1, 1, 9, 4), press(1, 1, 18, 4), press(1, 1, 27, 4)};
    bool rep[4];
    assert_int_equal(ikm_mark_repeats(fb, 4, 10, rep), 3);
    assert_int_equal(ikm_mark_repeats(fb, 4, 0, rep), 0);
    struct ikm_feedback e[] = {press(1, 1, 0, 4), press(1, 1, 10, 4), press(1, 1, 21, 4)};
    assert_int_equal(ikm_mark_repeats(e, 3, 10, rep), 1);
    assert_false(rep[0]);
    assert_true(rep[1]);
    assert_false(rep[2]);
    struct ikm_feedback s[2] = {skm_all(4), skm_all(4)};
    assert_int_equal(ikm_mark_repeats(s, 2, 10, rep), 0);
}

/* 1..4 -> 1..5 linearly: 1 + (r - 1) x 4/3. Press 1 -> 1, 2 -> 2.3333, 4 -> 5; an SKM
 * response all 3 -> 3.6667. */
static void test_scale5(void **state)
{
    (void)state;
    struct ikm_feedback a = press(1, 1, 0, 1), b = press(1, 1, 0, 2), c = press(1, 1, 0, 4), d = skm_all(3);
    assert_true(fabs(ikm_feedback_scale5(&a) - 1.0) < EPS);
    assert_true(fabs(ikm_feedback_scale5(&b) - (1 + 4.0 / 3)) < EPS);
    assert_true(fabs(ikm_feedback_scale5(&c) - 5.0) < EPS);
    assert_true(fabs(ikm_feedback_scale5(&d) - (1 + 8.0 / 3)) < EPS);
}

static void test_feedback_check(void **state)
{
    (void)state;
    char err[96];
    struct ikm_feedback f = press(1, 1, 0, 5);
    assert_int_equal(ikm_feedback_check(&f, err, sizeof err), -1);
    assert_string_equal(err, "rating: must be 1..4, got 5");
    f = skm_all(3);
    f.skm[2] = 7;
    assert_int_equal(ikm_feedback_check(&f, err, sizeof err), -1);
    assert_string_equal(err, "skm.u3: must be 1..4, got 7");
    f = skm_all(2);
    assert_int_equal(ikm_feedback_check(&f, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ikm_87_5_is_b),
        cmocka_unit_test(test_ikm_element_means),
        cmocka_unit_test(test_ikm_extremes_and_empty),
        cmocka_unit_test(test_ikm_mutu_boundaries),
        cmocka_unit_test(test_ikm_boundary_through_responses),
        cmocka_unit_test(test_ikm_rounded_once_shown_and_band_agree),
        cmocka_unit_test(test_ikm_uneven_elements_at_boundary),
        cmocka_unit_test(test_ikm_every_sum_prints_its_band),
        cmocka_unit_test(test_kiosk_repeats),
        cmocka_unit_test(test_kiosk_chain_and_edges),
        cmocka_unit_test(test_scale5),
        cmocka_unit_test(test_feedback_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
