/* Unit tests for common/angkakredit.c: the share per predikat (PerBKN 3/2023), the months
 * of a period, the coefficient's text, and the angka kredit with its rounding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "angkakredit.h"

static void test_shares(void **state)
{
    (void)state;
    assert_int_equal(ak_share_percent("sangat_baik"), 150);
    assert_int_equal(ak_share_percent("baik"), 100);
    assert_int_equal(ak_share_percent("butuh_perbaikan"), 75);
    assert_int_equal(ak_share_percent("kurang"), 50);
    assert_int_equal(ak_share_percent("sangat_kurang"), 25);
    assert_int_equal(ak_share_percent("istimewa"), -1); /* a unit's predikat, not an employee's */
    assert_int_equal(ak_share_percent(NULL), -1);
}

static void test_period_months(void **state)
{
    (void)state;
    int y = 0, a = 0, b = 0;
    assert_int_equal(ak_period_months("2026-03", &y, &a, &b), 1);
    assert_int_equal(y, 2026);
    assert_int_equal(a, 3);
    assert_int_equal(b, 3);
    /* triwulan II: April..June */
    assert_int_equal(ak_period_months("2026-Q2", &y, &a, &b), 3);
    assert_int_equal(a, 4);
    assert_int_equal(b, 6);
    assert_int_equal(ak_period_months("2026-Q4", NULL, &a, &b), 3);
    assert_int_equal(a, 10);
    assert_int_equal(b, 12);
    assert_int_equal(ak_period_months("2026", &y, &a, &b), 12);
    assert_int_equal(a, 1);
    assert_int_equal(b, 12);
    assert_int_equal(ak_period_months("2026-13", NULL, NULL, NULL), -1);
    assert_int_equal(ak_period_months("2026-00", NULL, NULL, NULL), -1);
    assert_int_equal(ak_period_months("2026-Q5", NULL, NULL, NULL), -1);
    assert_int_equal(ak_period_months("2026-Q0", NULL, NULL, NULL), -1);
    assert_int_equal(ak_period_months("26-01", NULL, NULL, NULL), -1);
    assert_int_equal(ak_period_months("2026-1", NULL, NULL, NULL), -1);
    assert_int_equal(ak_period_months("", NULL, NULL, NULL), -1);
}

static void test_coefficient_text(void **state)
{
    (void)state;
    assert_int_equal(ak_coefficient_milli("12.5"), 12500);
    assert_int_equal(ak_coefficient_milli("12.500"), 12500); /* numeric(8, 3) as PostgreSQL shows it */
    assert_int_equal(ak_coefficient_milli("3"), 3000);
    assert_int_equal(ak_coefficient_milli("0.125"), 125);
    assert_int_equal(ak_coefficient_milli("0"), 0);
    assert_int_equal(ak_coefficient_milli("1.2345"), -1); /* a fourth decimal is not exact */
    assert_int_equal(ak_coefficient_milli("-1"), -1);
    assert_int_equal(ak_coefficient_milli("12,5"), -1);
    assert_int_equal(ak_coefficient_milli("12."), -1);
    assert_int_equal(ak_coefficient_milli(""), -1);
    assert_int_equal(ak_coefficient_milli(NULL), -1);
}

static void test_angka_kredit(void **state)
{
    (void)state;
    char s[32];
    /* A quarter of Baik, coefficient 12.5: 12.5 x 100% x 3/12 = 3.125; in hundredths
     * 12500 x 100 x 3 / 12000 = 312.5, half up 313: "3.13". */
    int64_t h = ak_hundredths(12500, ak_share_percent("baik"), 3);
    assert_int_equal(h, 313);
    ak_format_hundredths(h, s, sizeof s);
    assert_string_equal(s, "3.13");
    /* A year of Sangat Baik: 12.5 x 150% x 12/12 = 18.75 exactly (12500 x 150 x 12 / 12000
     * = 1875). */
    h = ak_hundredths(12500, ak_share_percent("sangat_baik"), 12);
    assert_int_equal(h, 1875);
    ak_format_hundredths(h, s, sizeof s);
    assert_string_equal(s, "18.75");
    /* A month of Butuh Perbaikan: 12.5 x 75% x 1/12 = 0.78125 -> 0.78 (12500 x 75 / 12000
     * = 78.125, down). */
    assert_int_equal(ak_hundredths(12500, 75, 1), 78);
    /* A quarter of Sangat Kurang, coefficient 25: 25 x 25% x 3/12 = 1.5625 -> 1.56. */
    assert_int_equal(ak_hundredths(25000, 25, 3), 156);
    /* A month of Kurang, coefficient 0.125: 0.125 x 50% / 12 = 0.005208.. -> 0.01. */
    assert_int_equal(ak_hundredths(125, 50, 1), 1);
    assert_int_equal(ak_hundredths(0, 150, 12), 0);
    ak_format_hundredths(5, s, sizeof s);
    assert_string_equal(s, "0.05");
    assert_int_equal(ak_hundredths(12500, 100, 0), -1);
    assert_int_equal(ak_hundredths(12500, 100, 13), -1);
    assert_int_equal(ak_hundredths(-1, 100, 3), -1);
    assert_int_equal(ak_hundredths(12500, -1, 3), -1);
}

static void test_format_milli(void **state)
{
    (void)state;
    char s[32];
    ak_format_milli(12500, s, sizeof s);
    assert_string_equal(s, "12.5");
    ak_format_milli(3000, s, sizeof s);
    assert_string_equal(s, "3");
    ak_format_milli(125, s, sizeof s);
    assert_string_equal(s, "0.125");
    ak_format_milli(12050, s, sizeof s);
    assert_string_equal(s, "12.05");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares),           cmocka_unit_test(test_period_months),
        cmocka_unit_test(test_coefficient_text), cmocka_unit_test(test_angka_kredit),
        cmocka_unit_test(test_format_milli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
