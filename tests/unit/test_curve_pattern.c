/* Unit tests for common/curve.c: the distribution pattern of each organisation predikat
 * (SPEC 5.10, SE MenPANRB 3/2023). For every pattern one unit that passes every rule and,
 * for every rule, one unit that breaks exactly that rule, each hand-counted. Counts are
 * {sangat_baik, baik, butuh_perbaikan, kurang, sangat_kurang}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "curve.h"

#define BROKEN_MAX 8

/* Asserts that pattern p with counts breaks exactly the rule named want (NULL: none). */
static void expect_broken(enum curve_pattern p, const long long c[CURVE_PREDIKATS], const char *want)
{
    const struct curve_rule *broken[BROKEN_MAX];
    size_t n = curve_check(p, c, broken, BROKEN_MAX);
    if (!want) {
        if (n)
            fail_msg("%s: expected no rule broken, got %s", curve_pattern_codes[p], broken[0]->id);
        return;
    }
    if (n != 1)
        fail_msg("%s: expected only %s broken, got %zu rules", curve_pattern_codes[p], want, n);
    assert_string_equal(broken[0]->id, want);
}

static void test_istimewa(void **state)
{
    (void)state;
    /* 7 of 10 Sangat Baik = 70%: at most 70% holds (7 x 100 = 700 <= 70 x 10 = 700) */
    expect_broken(CURVE_ISTIMEWA, (long long[]){7, 2, 1, 0, 0}, NULL);
    /* 8 of 10 = 80% > 70% */
    expect_broken(CURVE_ISTIMEWA, (long long[]){8, 2, 0, 0, 0}, "istimewa.max_sangat_baik");
}

static void test_baik(void **state)
{
    (void)state;
    /* 7 of 10 Baik = 70%, 1 Butuh Perbaikan: both rules hold */
    expect_broken(CURVE_BAIK, (long long[]){2, 7, 1, 0, 0}, NULL);
    /* a Kurang satisfies "at least one Butuh Perbaikan or Kurang" as well */
    expect_broken(CURVE_BAIK, (long long[]){2, 7, 0, 1, 0}, NULL);
    /* 8 of 10 Baik = 80% > 70%, with 1 Butuh Perbaikan */
    expect_broken(CURVE_BAIK, (long long[]){1, 8, 1, 0, 0}, "baik.max_baik");
    /* 6 of 10 Baik = 60%, but no Butuh Perbaikan and no Kurang (the Sangat Kurang does not count) */
    expect_broken(CURVE_BAIK, (long long[]){3, 6, 0, 0, 1}, "baik.some_butuh_perbaikan_or_kurang");
}

static void test_butuh_perbaikan(void **state)
{
    (void)state;
    /* 6 of 10 Butuh Perbaikan = 60%, 1 of 10 Sangat Baik = 10% */
    expect_broken(CURVE_BUTUH_PERBAIKAN, (long long[]){1, 3, 6, 0, 0}, NULL);
    /* 5 of 10 Butuh Perbaikan = 50% < 60% */
    expect_broken(CURVE_BUTUH_PERBAIKAN, (long long[]){1, 4, 5, 0, 0}, "butuh_perbaikan.min_butuh_perbaikan");
    /* 2 of 10 Sangat Baik = 20% > 10% (6 of 10 Butuh Perbaikan holds) */
    expect_broken(CURVE_BUTUH_PERBAIKAN, (long long[]){2, 2, 6, 0, 0}, "butuh_perbaikan.max_sangat_baik");
}

static void test_kurang(void **state)
{
    (void)state;
    /* 6 of 10 Kurang = 60%, 1 of 10 Butuh Perbaikan = 10%, 1 of 10 Sangat Baik = 10% */
    expect_broken(CURVE_KURANG, (long long[]){1, 2, 1, 6, 0}, NULL);
    /* 5 of 10 Kurang = 50% < 60% */
    expect_broken(CURVE_KURANG, (long long[]){1, 3, 1, 5, 0}, "kurang.min_kurang");
    /* no Butuh Perbaikan: 0 of 10 < 10% */
    expect_broken(CURVE_KURANG, (long long[]){1, 2, 0, 6, 1}, "kurang.min_butuh_perbaikan");
    /* 2 of 10 Sangat Baik = 20% > 10% */
    expect_broken(CURVE_KURANG, (long long[]){2, 1, 1, 6, 0}, "kurang.max_sangat_baik");
}

static void test_sangat_kurang(void **state)
{
    (void)state;
    /* 6 of 10 Sangat Kurang = 60%, 1 Kurang + 1 Butuh Perbaikan = 20% >= 10%, no Sangat Baik */
    expect_broken(CURVE_SANGAT_KURANG, (long long[]){0, 2, 1, 1, 6}, NULL);
    /* 5 of 10 Sangat Kurang = 50% < 60% */
    expect_broken(CURVE_SANGAT_KURANG, (long long[]){0, 3, 1, 1, 5}, "sangat_kurang.min_sangat_kurang");
    /* 0 Kurang or Butuh Perbaikan of 10 < 10% */
    expect_broken(CURVE_SANGAT_KURANG, (long long[]){0, 4, 0, 0, 6},
                  "sangat_kurang.min_kurang_or_butuh_perbaikan");
    /* one Sangat Baik: 1 x 100 = 100 > 0 x 10 */
    expect_broken(CURVE_SANGAT_KURANG, (long long[]){1, 1, 1, 1, 6}, "sangat_kurang.no_sangat_baik");
}

/* The boundaries in integers: 7 of 9 Baik = 77.8% > 70% breaks; 9 of 13 = 69.2% holds. One
 * employee alone breaks Baik's "at least one" whenever that one is not BP or Kurang. */
static void test_boundaries_and_empty(void **state)
{
    (void)state;
    expect_broken(CURVE_BAIK, (long long[]){1, 7, 1, 0, 0}, "baik.max_baik");
    expect_broken(CURVE_BAIK, (long long[]){3, 9, 1, 0, 0}, NULL);
    /* a unit with no results: nothing to judge, no rule broken */
    expect_broken(CURVE_BAIK, (long long[]){0, 0, 0, 0, 0}, NULL);
    expect_broken(CURVE_SANGAT_KURANG, (long long[]){0, 0, 0, 0, 0}, NULL);
    /* two rules at once are both named, in table order */
    const struct curve_rule *b[BROKEN_MAX];
    assert_int_equal(curve_check(CURVE_BAIK, (long long[]){0, 10, 0, 0, 0}, b, BROKEN_MAX), 2);
    assert_string_equal(b[0]->id, "baik.max_baik");
    assert_string_equal(b[1]->id, "baik.some_butuh_perbaikan_or_kurang");
    /* max bounds what is written, not what is counted */
    assert_int_equal(curve_check(CURVE_BAIK, (long long[]){0, 10, 0, 0, 0}, b, 1), 2);
}

static void test_describe_and_parse(void **state)
{
    (void)state;
    size_t n;
    const struct curve_rule *r = curve_rules(&n);
    assert_int_equal(n, 11); /* 1 + 2 + 2 + 3 + 3 rules */
    char line[CURVE_RULE_TEXT_MAX];
    const struct curve_rule *b[BROKEN_MAX];
    assert_int_equal(curve_check(CURVE_BAIK, (long long[]){0, 8, 2, 0, 0}, b, BROKEN_MAX), 1);
    curve_rule_describe(b[0], (long long[]){0, 8, 2, 0, 0}, line, sizeof line);
    assert_string_equal(line, "baik.max_baik (at most 70% Baik): 8 of 10 = 80%");
    /* 2 of 3 = 66.67% shows as 67% (half up) */
    curve_rule_describe(&r[0], (long long[]){2, 1, 0, 0, 0}, line, sizeof line);
    assert_string_equal(line, "istimewa.max_sangat_baik (at most 70% Sangat Baik): 2 of 3 = 67%");
    enum curve_pattern p;
    assert_true(curve_pattern_parse("butuh_perbaikan", &p));
    assert_int_equal(p, CURVE_BUTUH_PERBAIKAN);
    assert_false(curve_pattern_parse("sangat_baik", &p)); /* an employee predikat, not a unit's */
    assert_false(curve_pattern_parse(NULL, &p));
    /* every pattern has at least one rule, and every rule id starts with its pattern */
    for (int k = 0; k < CURVE_PATTERNS; k++) {
        size_t rules = 0;
        for (size_t i = 0; i < n; i++) {
            if (r[i].pattern != (enum curve_pattern)k)
                continue;
            rules++;
            size_t len = strlen(curve_pattern_codes[k]);
            assert_memory_equal(r[i].id, curve_pattern_codes[k], len);
            assert_int_equal(r[i].id[len], '.');
        }
        assert_true(rules >= 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_istimewa),           cmocka_unit_test(test_baik),
        cmocka_unit_test(test_butuh_perbaikan),    cmocka_unit_test(test_kurang),
        cmocka_unit_test(test_sangat_kurang),      cmocka_unit_test(test_boundaries_and_empty),
        cmocka_unit_test(test_describe_and_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
