/* Unit tests for common/scoreversion.c: SPEC 5.7's material-change rule (what makes a
 * new score version) and the digest of an employee's own inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "scoreversion.h"

#define SUP 198001012005011001ULL
#define PEER 198001012005011020ULL

static struct score_params params(void)
{
    struct score_params p;
    score_params_default(&p);
    return p; /* version_min_delta 0.5 */
}

/* A current version: baik, hasil meets, perilaku meets, score 79.31. */
static struct scoreversion_current current(void)
{
    struct scoreversion_current c = {
        .version = 1,
        .known = true,
        .predikat = SCORE_PREDIKAT_BAIK,
        .hasil = SCORE_RATING_MEETS,
        .perilaku = SCORE_RATING_MEETS,
        .has_score = true,
        .score = 79.31,
    };
    strcpy(c.inputs_digest, "inputs-1");
    strcpy(c.json_digest, "json-1");
    return c;
}

static struct score_result result(double score)
{
    struct score_result r;
    memset(&r, 0, sizeof r);
    r.predikat = SCORE_PREDIKAT_BAIK;
    r.hasil = SCORE_RATING_MEETS;
    r.perilaku_rating = SCORE_RATING_MEETS;
    r.has_score = true;
    r.score = score;
    return r;
}

static bool material(const struct scoreversion_current *c, const struct score_result *r, const char *inputs,
                     const char *json, char *why)
{
    struct score_params p = params();
    return scoreversion_material(&p, c, r, inputs, json, why, SCOREVERSION_REASON_MAX);
}

static void test_first_version_is_always_written(void **state)
{
    (void)state;
    struct scoreversion_current c;
    memset(&c, 0, sizeof c);
    struct score_result r = result(50);
    char why[SCOREVERSION_REASON_MAX];
    assert_true(material(&c, &r, "inputs-1", "json-1", why));
    assert_string_equal(why, "first version");
}

/* The case measured from outside: one peer evaluation about a colleague moved this
 * result 79.3143 -> 79.3069 through the joint estimate, same predikat and ratings, same
 * own inputs. Shown as 79.31 both times: no version, so a pending sign-off of version 1
 * is not stale. */
static void test_drift_from_other_peoples_ratings_is_no_version(void **state)
{
    (void)state;
    struct scoreversion_current c = current();
    struct score_result r = result(79.3069);
    char why[SCOREVERSION_REASON_MAX];
    assert_false(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "");
    /* 79.31 -> 79.80 (shown) is 0.49: still drift */
    r.score = 79.8049;
    assert_false(material(&c, &r, "inputs-1", "json-3", why));
}

/* |shown - current| >= 0.5: 79.8051 shows as 79.81, 79.81 - 79.31 = 0.50. */
static void test_score_move_of_min_delta_is_a_version(void **state)
{
    (void)state;
    struct scoreversion_current c = current();
    struct score_result r = result(79.8051);
    char why[SCOREVERSION_REASON_MAX];
    assert_true(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "score moved 0.50");
    r.score = 78.81; /* down by 0.50 counts the same */
    assert_true(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "score moved 0.50");
}

static void test_rating_and_predikat_changes_are_versions(void **state)
{
    (void)state;
    struct scoreversion_current c = current();
    char why[SCOREVERSION_REASON_MAX];
    struct score_result r = result(79.31);
    r.predikat = SCORE_PREDIKAT_SANGAT_BAIK;
    assert_true(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "predikat baik -> sangat_baik");
    r = result(79.31);
    r.hasil = SCORE_RATING_ABOVE; /* predikat baik either way (meets/above x meets) */
    assert_true(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "hasil kerja meets -> above");
    r = result(79.31);
    r.perilaku_rating = SCORE_RATING_ABOVE;
    assert_true(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "perilaku meets -> above");
    r = result(79.31);
    r.has_score = false;
    assert_true(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "score no longer computed");
}

static void test_own_inputs_changed_is_a_version(void **state)
{
    (void)state;
    struct scoreversion_current c = current();
    struct score_result r = result(79.32);
    char why[SCOREVERSION_REASON_MAX];
    assert_true(material(&c, &r, "inputs-2", "json-2", why));
    assert_string_equal(why, "inputs changed");
}

static void test_identical_result_is_never_a_version(void **state)
{
    (void)state;
    struct scoreversion_current c = current();
    c.known = false;
    struct score_result r = result(10); /* whatever it says: the same JSON is the same result */
    char why[SCOREVERSION_REASON_MAX];
    assert_false(material(&c, &r, "inputs-2", "json-1", why));
}

/* A row from before the rule (no ratings or inputs recorded): a changed result is a
 * version once, and that version records what the rule needs. */
static void test_row_from_before_the_rule(void **state)
{
    (void)state;
    struct scoreversion_current c = current();
    c.known = false;
    struct score_result r = result(79.3069);
    char why[SCOREVERSION_REASON_MAX];
    assert_true(material(&c, &r, "inputs-1", "json-2", why));
    assert_string_equal(why, "result changed (recorded before material versions)");
}

/* version_min_delta = 0: every change of the result is a version (the old rule). */
static void test_zero_delta_versions_every_change(void **state)
{
    (void)state;
    struct score_params p = params();
    p.version_min_delta = 0;
    struct scoreversion_current c = current();
    struct score_result r = result(79.31);
    char why[SCOREVERSION_REASON_MAX];
    assert_true(scoreversion_material(&p, &c, &r, "inputs-1", "json-2", why, sizeof why));
    assert_string_equal(why, "score moved 0.00");
}

static void digest(const struct scoreversion_rating *r, size_t nr, const struct score_indicator *ind,
                   size_t ni, char out[SCOREVERSION_DIGEST_HEX])
{
    assert_int_equal(scoreversion_inputs_digest(r, nr, ind, ni, out), 0);
    assert_int_equal(strlen(out), SCOREVERSION_DIGEST_HEX - 1);
}

static void test_inputs_digest(void **state)
{
    (void)state;
    struct scoreversion_rating r[2] = {
        {SUP, RELATION_SUPERVISOR, {4, 4, 4, 4, 4, 4, 4}, HASIL_MEETS},
        {PEER, RELATION_PEER, {3, 3, 3, 3, 3, 3, 0}, HASIL_NONE},
    };
    struct score_indicator ind[2] = {
        {100, 90, 1, DIRECTION_HIGHER_BETTER, "IKU-1"},
        {10, 8, 2, DIRECTION_LOWER_BETTER, "IKU-2"},
    };
    char a[SCOREVERSION_DIGEST_HEX], b[SCOREVERSION_DIGEST_HEX];
    digest(r, 2, ind, 2, a);

    /* the order of either array does not matter */
    struct scoreversion_rating rr[2] = {r[1], r[0]};
    struct score_indicator ii[2] = {ind[1], ind[0]};
    digest(rr, 2, ii, 2, b);
    assert_string_equal(a, b);

    /* every part of an input counts */
    rr[0] = r[1];
    rr[0].values[6] = 3;
    digest(rr, 2, ii, 2, b);
    assert_string_not_equal(a, b);
    rr[0] = r[1];
    rr[0].rater = PEER + 1;
    digest(rr, 2, ii, 2, b);
    assert_string_not_equal(a, b);
    rr[0] = r[1];
    rr[1].hasil_kerja = HASIL_ABOVE; /* the supervisor's judgement */
    digest(rr, 2, ii, 2, b);
    assert_string_not_equal(a, b);
    rr[1] = r[0];
    ii[0].realization = 7;
    digest(rr, 2, ii, 2, b);
    assert_string_not_equal(a, b);
    ii[0] = ind[1];
    strcpy(ii[1].code, "IKU-3");
    digest(rr, 2, ii, 2, b);
    assert_string_not_equal(a, b);

    /* a rating moved from one relation's list into another's is a change, and one
     * rating fewer is a change */
    digest(r, 1, ind, 2, b);
    assert_string_not_equal(a, b);
    digest(NULL, 0, NULL, 0, b);
    assert_string_not_equal(a, b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_version_is_always_written),
        cmocka_unit_test(test_drift_from_other_peoples_ratings_is_no_version),
        cmocka_unit_test(test_score_move_of_min_delta_is_a_version),
        cmocka_unit_test(test_rating_and_predikat_changes_are_versions),
        cmocka_unit_test(test_own_inputs_changed_is_a_version),
        cmocka_unit_test(test_identical_result_is_never_a_version),
        cmocka_unit_test(test_row_from_before_the_rule),
        cmocka_unit_test(test_zero_delta_versions_every_change),
        cmocka_unit_test(test_inputs_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
