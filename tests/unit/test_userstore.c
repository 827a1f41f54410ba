/* Unit tests for the parts of common/userstore.c that need no PostgreSQL: password
 * hashing and verification, id validation, role names. The database half (add, passwd,
 * disable, the epoch, the relation) is tested in tests/integration/test_cli_user.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "userstore.h"

static void account_with(struct user_account *u, const char *password)
{
    memset(u, 0, sizeof *u);
    snprintf(u->id, sizeof u->id, "%s", "199001012020121001");
    u->role = USER_EMPLOYEE;
    u->epoch = 1;
    assert_int_equal(userstore_hash(password, u->pwhash), 0);
}

static void test_hash_verify_round_trip(void **state)
{
    (void)state;
    struct user_account u;
    account_with(&u, "correct horse");
    /* the stored form is libsodium's argon2id string, never the password itself */
    assert_true(strncmp(u.pwhash, "$argon2id$", 10) == 0);
    assert_null(strstr(u.pwhash, "correct horse"));
    assert_true(userstore_verify(&u, "correct horse"));

    /* two hashes of the same password differ (a random salt each) and both verify */
    struct user_account v;
    account_with(&v, "correct horse");
    assert_string_not_equal(u.pwhash, v.pwhash);
    assert_true(userstore_verify(&v, "correct horse"));
}

static void test_wrong_password_is_false(void **state)
{
    (void)state;
    struct user_account u;
    account_with(&u, "correct horse");
    assert_false(userstore_verify(&u, "correct hors"));   /* one byte short */
    assert_false(userstore_verify(&u, "correct horse ")); /* one byte more */
    assert_false(userstore_verify(&u, "Correct horse"));  /* case counts */
    assert_false(userstore_verify(&u, ""));
    assert_false(userstore_verify(&u, NULL));
    assert_false(userstore_verify(NULL, "correct horse"));
}

static void test_disabled_is_false(void **state)
{
    (void)state;
    struct user_account u;
    account_with(&u, "correct horse");
    u.disabled = true;
    assert_false(userstore_verify(&u, "correct horse")); /* the right password, but disabled */
    u.disabled = false;
    assert_true(userstore_verify(&u, "correct horse")); /* and it was the right one */
}

static void test_password_length_bounds(void **state)
{
    (void)state;
    char hash[crypto_pwhash_STRBYTES];
    char pw[USER_PASSWORD_MAX + 2];
    /* USER_PASSWORD_MIN - 1 = 7 bytes: refused; 8: hashed */
    assert_int_equal(userstore_hash("1234567", hash), -1);
    assert_int_equal(userstore_hash("12345678", hash), 0);
    assert_int_equal(userstore_hash(NULL, hash), -1);
    /* USER_PASSWORD_MAX = 256 bytes: hashed; 257: refused */
    memset(pw, 'x', USER_PASSWORD_MAX);
    pw[USER_PASSWORD_MAX] = '\0';
    assert_int_equal(userstore_hash(pw, hash), 0);
    struct user_account u;
    memset(&u, 0, sizeof u);
    memcpy(u.pwhash, hash, sizeof hash);
    assert_true(userstore_verify(&u, pw));
    pw[USER_PASSWORD_MAX] = 'x';
    pw[USER_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(userstore_hash(pw, hash), -1);
    /* a 257-byte attempt against the 256-byte password is false, not truncated to a match */
    assert_false(userstore_verify(&u, pw));
}

static void test_verify_needs_a_terminated_hash(void **state)
{
    (void)state;
    struct user_account u;
    account_with(&u, "correct horse");
    memset(u.pwhash, 'a', sizeof u.pwhash); /* no NUL anywhere: must not be read past */
    assert_false(userstore_verify(&u, "correct horse"));
    userstore_verify_dummy("correct horse"); /* runs, returns nothing, must not crash */
    userstore_verify_dummy(NULL);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fastest of TIMING_RUNS runs of what (0 verify, 1 verify of a disabled account, 2
 * the dummy), so a busy machine's pauses do not count. */
#define TIMING_RUNS 3
static double fastest(const struct user_account *u, int what)
{
    double best = 1e9;
    for (int i = 0; i < TIMING_RUNS; i++) {
        struct user_account d = *u;
        d.disabled = what == 1;
        double t0 = seconds_now();
        if (what == 2)
            userstore_verify_dummy("wrong password");
        else
            assert_false(userstore_verify(&d, "wrong password"));
        double t = seconds_now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static void test_failures_take_as_long_as_a_verify(void **state)
{
    (void)state;
    struct user_account u;
    account_with(&u, "correct horse");
    double verify = fastest(&u, 0), disabled = fastest(&u, 1), dummy = fastest(&u, 2);
    /* an argon2id pass with 64 MiB takes tens of milliseconds; an early return takes
     * microseconds. A quarter of the verify's time is far from both, so the bound holds
     * on a busy machine and fails for a dummy or a disabled check that skips the work. */
    assert_true(verify > 0.001);
    assert_true(dummy > verify / 4);
    assert_true(disabled > verify / 4);
}

static void test_id_validation(void **state)
{
    (void)state;
    char id[USER_ID_MAX + 2];
    assert_true(user_id_valid("199001012020121001")); /* an NIP */
    assert_true(user_id_valid("bupati.kupang"));
    assert_true(user_id_valid("ops_admin-2"));
    assert_true(user_id_valid("a"));
    assert_false(user_id_valid(""));
    assert_false(user_id_valid(NULL));
    assert_true(user_id_valid("bupati:kupang")); /* evaluator ids hold a colon */
    assert_false(user_id_valid("a b"));
    assert_false(user_id_valid("a/b"));
    assert_false(user_id_valid("a'b"));
    assert_false(user_id_valid("\xc3\xa9t\xc3\xa9")); /* non-ASCII */
    memset(id, 'a', USER_ID_MAX);
    id[USER_ID_MAX] = '\0';
    assert_true(user_id_valid(id)); /* 64 characters */
    id[USER_ID_MAX] = 'a';
    id[USER_ID_MAX + 1] = '\0';
    assert_false(user_id_valid(id)); /* 65 */
}

static void test_role_parse(void **state)
{
    (void)state;
    enum user_role r = USER_OPERATOR;
    assert_int_equal(user_role_parse("employee", &r), 0);
    assert_int_equal(r, USER_EMPLOYEE);
    assert_int_equal(user_role_parse("supervisor", &r), 0);
    assert_int_equal(r, USER_SUPERVISOR);
    assert_int_equal(user_role_parse("operator", &r), 0);
    assert_int_equal(r, USER_OPERATOR);
    assert_int_equal(user_role_parse("Operator", &r), -1);
    assert_int_equal(user_role_parse("admin", &r), -1);
    assert_int_equal(user_role_parse("", &r), -1);
    assert_int_equal(user_role_parse(NULL, &r), -1);
    assert_int_equal(r, USER_OPERATOR); /* a refused name leaves *out alone */
    for (int i = USER_EMPLOYEE; i <= USER_OPERATOR; i++) {
        enum user_role back;
        assert_int_equal(user_role_parse(user_role_name((enum user_role)i), &back), 0);
        assert_int_equal(back, i);
    }
    assert_string_equal(user_role_name((enum user_role)7), "?");
    assert_string_equal(user_relation_name(USER_REL_SECOND_LINE), "second_line");
    assert_string_equal(user_relation_name(USER_REL_NONE), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_verify_round_trip),
        cmocka_unit_test(test_wrong_password_is_false),
        cmocka_unit_test(test_disabled_is_false),
        cmocka_unit_test(test_password_length_bounds),
        cmocka_unit_test(test_verify_needs_a_terminated_hash),
        cmocka_unit_test(test_id_validation),
        cmocka_unit_test(test_role_parse),
        cmocka_unit_test(test_failures_take_as_long_as_a_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
