/* Unit tests for common/cron.c: parsing (with the reason for every refusal), matching,
 * and next fire times computed by hand from the calendar (weekdays written beside
 * each date), including month ends, 29 February, day-of-month / day-of-week, steps and
 * year ends; and a brute-force cross-check minute by minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cron.h"

#define ERR_MAX 256

static struct cron parse_ok(const char *expr)
{
    struct cron c;
    char err[ERR_MAX] = "";
    int rc = cron_parse(expr, &c, err, sizeof err);
    if (rc != 0)
        fail_msg("'%s' refused: %s", expr, err);
    return c;
}

static struct cron_time at(int y, int mo, int d, int h, int mi)
{
    struct cron_time t = {y, mo, d, h, mi};
    return t;
}

/* Asserts that the next fire time of expr after `after` is `want`. */
static void check_next(const char *expr, struct cron_time after, struct cron_time want)
{
    struct cron c = parse_ok(expr);
    struct cron_time got;
    char a[32], w[32], g[32] = "(none)";
    cron_time_format(&after, a, sizeof a);
    cron_time_format(&want, w, sizeof w);
    int rc = cron_next(&c, &after, &got);
    if (rc == 0)
        cron_time_format(&got, g, sizeof g);
    if (rc != 0 || strcmp(g, w) != 0)
        fail_msg("'%s' after %s: want %s, got %s", expr, a, w, g);
    assert_true(cron_matches(&c, &got));
}

static void check_refused(const char *expr, const char *reason)
{
    struct cron c;
    char err[ERR_MAX] = "";
    if (cron_parse(expr, &c, err, sizeof err) == 0)
        fail_msg("'%s' was accepted", expr);
    if (reason && strcmp(err, reason) != 0)
        fail_msg("'%s': want reason \"%s\", got \"%s\"", expr, reason, err);
    assert_true(err[0] != '\0');
}

/* ---- calendar ---------------------------------------------------------------------- */

static void test_calendar(void **state)
{
    (void)state;
    assert_int_equal(cron_weekday(1970, 1, 1), 4);   /* Thursday */
    assert_int_equal(cron_weekday(2000, 1, 1), 6);   /* Saturday */
    assert_int_equal(cron_weekday(2024, 2, 29), 4);  /* Thursday */
    assert_int_equal(cron_weekday(2024, 9, 1), 0);   /* Sunday */
    assert_int_equal(cron_weekday(1969, 12, 31), 3); /* Wednesday: before the epoch */
    assert_int_equal(cron_days_in_month(2024, 2), 29);
    assert_int_equal(cron_days_in_month(2023, 2), 28);
    assert_int_equal(cron_days_in_month(2100, 2), 28); /* divisible by 100, not by 400 */
    assert_int_equal(cron_days_in_month(2000, 2), 29); /* divisible by 400 */
    assert_int_equal(cron_days_in_month(2024, 4), 30);

    /* 2024-01-01 00:00 is 19723 days after 1970-01-01: 54 years of 365 days = 19710,
     * plus 13 leap days (1972..2020) = 19723; x 1440 minutes. */
    struct cron_time t = at(2024, 1, 1, 0, 0);
    assert_int_equal(cron_time_to_minutes(&t), (int64_t)19723 * 1440);
    struct cron_time back;
    cron_time_from_minutes((int64_t)19723 * 1440 - 1, &back); /* one minute earlier */
    char s[32];
    cron_time_format(&back, s, sizeof s);
    assert_string_equal(s, "2023-12-31 23:59");
    cron_time_from_minutes(-1, &back);
    cron_time_format(&back, s, sizeof s);
    assert_string_equal(s, "1969-12-31 23:59");
}

/* ---- next fire times --------------------------------------------------------------- */

/* The default schedule.recalc: 01:00 every day. */
static void test_default_daily(void **state)
{
    (void)state;
    check_next("0 1 * * *", at(2024, 5, 1, 0, 59), at(2024, 5, 1, 1, 0));
    check_next("0 1 * * *", at(2024, 5, 1, 1, 0), at(2024, 5, 2, 1, 0));    /* strictly after */
    check_next("0 1 * * *", at(2024, 2, 28, 1, 30), at(2024, 2, 29, 1, 0)); /* leap day */
    check_next("0 1 * * *", at(2023, 2, 28, 1, 30), at(2023, 3, 1, 1, 0));
    check_next("0 1 * * *", at(2024, 12, 31, 1, 0), at(2025, 1, 1, 1, 0)); /* year end */
    check_next("@daily", at(2024, 4, 30, 23, 59), at(2024, 5, 1, 0, 0));
    check_next("  0   1 * *\t* ", at(2024, 5, 1, 0, 59), at(2024, 5, 1, 1, 0)); /* spacing */
}

static void test_every_minute_and_steps(void **state)
{
    (void)state;
    check_next("* * * * *", at(2024, 12, 31, 23, 59), at(2025, 1, 1, 0, 0));
    check_next("* * * * *", at(2024, 5, 1, 10, 7), at(2024, 5, 1, 10, 8));
    /* every 15 minutes: 0, 15, 30, 45 */
    check_next("*/15 * * * *", at(2024, 5, 1, 10, 7), at(2024, 5, 1, 10, 15));
    check_next("*/15 * * * *", at(2024, 5, 1, 10, 45), at(2024, 5, 1, 11, 0));
    /* 5/20: 5, 25, 45 */
    check_next("5/20 * * * *", at(2024, 5, 1, 10, 45), at(2024, 5, 1, 11, 5));
    check_next("5/20 * * * *", at(2024, 5, 1, 10, 5), at(2024, 5, 1, 10, 25));
    /* 10-50/20: 10, 30, 50 */
    check_next("10-50/20 * * * *", at(2024, 5, 1, 10, 30), at(2024, 5, 1, 10, 50));
    check_next("10-50/20 * * * *", at(2024, 5, 1, 10, 50), at(2024, 5, 1, 11, 10));
    /* every 6 hours: 0, 6, 12, 18 */
    check_next("0 */6 * * *", at(2024, 3, 10, 19, 0), at(2024, 3, 11, 0, 0));
    check_next("30 */6 * * *", at(2024, 3, 10, 6, 30), at(2024, 3, 10, 12, 30));
    /* a step larger than the range: only its start */
    check_next("0 0 */40 * *", at(2024, 3, 10, 0, 0), at(2024, 4, 1, 0, 0));
    /* lists and ranges mixed */
    check_next("0,20-22,59 * * * *", at(2024, 5, 1, 10, 0), at(2024, 5, 1, 10, 20));
    check_next("0,20-22,59 * * * *", at(2024, 5, 1, 10, 22), at(2024, 5, 1, 10, 59));
    check_next("@hourly", at(2024, 5, 1, 23, 0), at(2024, 5, 2, 0, 0));
}

static void test_month_ends(void **state)
{
    (void)state;
    /* The 31st skips the months without one: January 31 -> March 31 -> May 31. */
    check_next("0 0 31 * *", at(2024, 1, 31, 0, 0), at(2024, 3, 31, 0, 0));
    check_next("0 0 31 * *", at(2024, 3, 31, 0, 0), at(2024, 5, 31, 0, 0));
    check_next("0 0 31 * *", at(2024, 7, 31, 0, 0), at(2024, 8, 31, 0, 0)); /* July, August */
    /* The 30th skips February only. */
    check_next("0 0 30 * *", at(2024, 1, 30, 0, 0), at(2024, 3, 30, 0, 0));
    /* 29 February: 2024 -> 2028; 2096 -> 2104 (2100 is not a leap year: 8 years). */
    check_next("0 12 29 2 *", at(2024, 3, 1, 0, 0), at(2028, 2, 29, 12, 0));
    check_next("0 12 29 2 *", at(2096, 2, 29, 12, 0), at(2104, 2, 29, 12, 0));
    /* The first of the month, after the last minute of a month. */
    check_next("@monthly", at(2024, 2, 29, 23, 59), at(2024, 3, 1, 0, 0));
    check_next("0 0 1 jan,jul *", at(2024, 2, 1, 0, 0), at(2024, 7, 1, 0, 0));
    check_next("0 0 1 JUL-aug *", at(2024, 7, 1, 0, 0), at(2024, 8, 1, 0, 0));
    check_next("@yearly", at(2024, 1, 1, 0, 0), at(2025, 1, 1, 0, 0));
    /* Period close style: 02:00 on the 6th (5 grace days after the month ended). */
    check_next("0 2 6 * *", at(2024, 12, 6, 2, 0), at(2025, 1, 6, 2, 0));
}

static void test_day_of_week(void **state)
{
    (void)state;
    /* Weekdays: Friday 2024-05-31 09:00 -> Monday 2024-06-03 09:00. */
    check_next("0 9 * * 1-5", at(2024, 5, 31, 9, 0), at(2024, 6, 3, 9, 0));
    check_next("0 9 * * mon-fri", at(2024, 5, 31, 9, 0), at(2024, 6, 3, 9, 0));
    /* Sunday as 7, as 0 and as sun: Saturday 2024-06-01 -> Sunday 2024-06-02. */
    check_next("0 9 * * 7", at(2024, 6, 1, 0, 0), at(2024, 6, 2, 9, 0));
    check_next("0 9 * * 0", at(2024, 6, 1, 0, 0), at(2024, 6, 2, 9, 0));
    check_next("0 9 * * Sun", at(2024, 6, 1, 0, 0), at(2024, 6, 2, 9, 0));
    /* 5-7: Friday, Saturday, Sunday. After Sunday 2024-06-02: Friday 2024-06-07. */
    check_next("0 9 * * 5-7", at(2024, 6, 2, 9, 0), at(2024, 6, 7, 9, 0));
    /* mon-fri/2: Monday, Wednesday, Friday. After Monday 2024-06-03: Wednesday 06-05. */
    check_next("0 9 * * mon-fri/2", at(2024, 6, 3, 9, 0), at(2024, 6, 5, 9, 0));
    check_next("@weekly", at(2024, 6, 1, 12, 0), at(2024, 6, 2, 0, 0));
}

/* Both fields restricted: either matches (Vixie cron). One starts with '*': both. */
static void test_dom_dow_rule(void **state)
{
    (void)state;
    /* "the 10th, and every Friday": Friday 2024-09-06 -> Tuesday 2024-09-10 (the 10th)
     * -> Friday 2024-09-13. */
    check_next("0 0 10 * 5", at(2024, 9, 1, 0, 0), at(2024, 9, 6, 0, 0));
    check_next("0 0 10 * 5", at(2024, 9, 6, 0, 0), at(2024, 9, 10, 0, 0));
    check_next("0 0 10 * 5", at(2024, 9, 10, 0, 0), at(2024, 9, 13, 0, 0));
    /* "*" with a step counts as unrestricted: odd days that are Fridays. Fridays of
     * September 2024: 6 (even), 13 (odd). */
    check_next("0 0 */2 * 5", at(2024, 9, 1, 0, 0), at(2024, 9, 13, 0, 0));
    /* "* * fri": only Fridays (the day-of-month field is '*'). */
    check_next("0 0 * * fri", at(2024, 9, 6, 0, 0), at(2024, 9, 13, 0, 0));
    /* Day restricted, weekday '*': only that day. */
    check_next("0 0 13 * *", at(2024, 9, 6, 0, 0), at(2024, 9, 13, 0, 0));
    /* Friday the 13th needs both: cron cannot say it (that is the OR rule); "13 * 5"
     * fires on every Friday and every 13th. Thursday 2024-09-12 -> Friday 09-13. */
    check_next("0 0 13 * 5", at(2024, 9, 12, 0, 0), at(2024, 9, 13, 0, 0));
    /* 29 February or Mondays, in February only: Thursday 2024-02-29 itself, then the
     * Mondays of February 2025 (the 3rd). */
    check_next("0 0 29 2 1", at(2024, 2, 28, 0, 0), at(2024, 2, 29, 0, 0));
    check_next("0 0 29 2 1", at(2024, 2, 29, 0, 0), at(2025, 2, 3, 0, 0));
}

static void test_matches(void **state)
{
    (void)state;
    struct cron c = parse_ok("0 1 * * *");
    struct cron_time t = at(2024, 5, 1, 1, 0);
    assert_true(cron_matches(&c, &t));
    t.minute = 1;
    assert_false(cron_matches(&c, &t));
    t = at(2024, 2, 30, 1, 0); /* not a date */
    assert_false(cron_matches(&c, &t));
    c = parse_ok("0 0 10 * 5");
    t = at(2024, 9, 13, 0, 0); /* Friday */
    assert_true(cron_matches(&c, &t));
    t = at(2024, 9, 10, 0, 0); /* the 10th, a Tuesday */
    assert_true(cron_matches(&c, &t));
    t = at(2024, 9, 11, 0, 0);
    assert_false(cron_matches(&c, &t));
}

/* ---- refused ----------------------------------------------------------------------- */

static void test_invalid(void **state)
{
    (void)state;
    check_refused("", "empty expression");
    check_refused("   ", "empty expression");
    check_refused("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
    check_refused("* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6");
    check_refused("60 * * * *", "minute: 60 is out of range 0..59");
    check_refused("* 24 * * *", "hour: 24 is out of range 0..23");
    check_refused("* * 0 * *", "day-of-month: 0 is out of range 1..31");
    check_refused("* * 32 * *", "day-of-month: 32 is out of range 1..31");
    check_refused("* * * 13 *", "month: 13 is out of range 1..12");
    check_refused("* * * 0 *", "month: 0 is out of range 1..12");
    check_refused("* * * * 8", "day-of-week: 8 is out of range 0..7");
    check_refused("*/0 * * * *", "minute: step 0");
    check_refused("5-3 * * * *", "minute: range 5-3 is reversed");
    check_refused("1,,2 * * * *", "minute: empty item in the list");
    check_refused("1, * * * *", "minute: empty item in the list");
    check_refused("a * * * *", "minute: 'a' is not a number");
    check_refused("* * * foo *", "month: 'foo' is not a number or a name");
    check_refused("* * * * funday", "day-of-week: 'funday' is not a number or a name");
    check_refused("1/ * * * *", "minute: '/' must be followed by a step number");
    check_refused("-5 * * * *", "minute: expected a number");
    check_refused("1-* * * * *", "minute: '*' is not a number");
    check_refused("99999999999 * * * *", "minute: number too large");
    check_refused("*/99999999 * * * *", "minute: step too large");
    check_refused("5x * * * *", "minute: unexpected 'x'");
    check_refused("*5 * * * *", "minute: unexpected '5'");
    check_refused("@every", "unknown macro '@every' (@yearly, @monthly, @weekly, @daily, @hourly)");
    /* Dates that never come. */
    check_refused("0 0 30 2 *", "never fires: day-of-month 30 does not occur in any month of the list");
    check_refused("0 0 31 4,6,9,11 *",
                  "never fires: day-of-month 31 does not occur in any month of the list");
    check_refused("0 0 30,31 feb *",
                  "never fires: no day of the day-of-month list occurs in a month of the list");
    /* ... but with a restricted weekday the OR rule makes it fire (on the weekday). */
    struct cron c = parse_ok("0 0 30 2 1");
    struct cron_time after = at(2024, 2, 1, 0, 0), next;
    assert_int_equal(cron_next(&c, &after, &next), 0);
    assert_int_equal(next.day, 5); /* Monday 2024-02-05 */
    /* Too long. */
    char longexpr[CRON_EXPR_MAX + 16];
    memset(longexpr, '1', sizeof longexpr - 1);
    longexpr[sizeof longexpr - 1] = '\0';
    check_refused(longexpr, "longer than 256 bytes");
    check_refused(NULL, "empty expression");
}

static void test_next_refuses_bad_input(void **state)
{
    (void)state;
    struct cron c = parse_ok("* * * * *");
    struct cron_time bad = at(2024, 2, 30, 0, 0), out;
    assert_int_equal(cron_next(&c, &bad, &out), -1);
    bad = at(2024, 1, 1, 24, 0);
    assert_int_equal(cron_next(&c, &bad, &out), -1);
    struct cron empty;
    memset(&empty, 0, sizeof empty);
    struct cron_time ok = at(2024, 1, 1, 0, 0);
    assert_int_equal(cron_next(&empty, &ok, &out), -1);
}

/* ---- cross-check ------------------------------------------------------------------- */

/* cron_next against walking minute by minute with cron_matches, from several starts,
 * for a year and a half of minutes each. */
static void test_brute_force(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "0 1 * * *",   "*/7 */5 * * *", "0 0 31 * *",     "15 3 29 2 *", "0 0 10 * 5",
        "0 0 */2 * 5", "59 23 * * sun", "0 12 1-7 * mon", "0 0 1 */3 *", "30 4 1,15 * 3",
    };
    static const struct cron_time starts[] = {
        {2023, 12, 31, 23, 59},
        {2024, 2, 28, 23, 59},
        {2024, 6, 15, 12, 34},
        {2025, 3, 1, 0, 0},
    };
    for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e++) {
        struct cron c = parse_ok(exprs[e]);
        for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
            struct cron_time after = starts[s], got;
            /* three consecutive fire times */
            for (int k = 0; k < 3; k++) {
                int64_t m = cron_time_to_minutes(&after);
                int64_t limit = m + (int64_t)550 * 1440;
                struct cron_time want;
                bool found = false;
                for (int64_t x = m + 1; x <= limit; x++) {
                    cron_time_from_minutes(x, &want);
                    if (cron_matches(&c, &want)) {
                        found = true;
                        break;
                    }
                }
                int rc = cron_next(&c, &after, &got);
                if (!found) { /* 29 February beyond the window: cron_next must look further */
                    assert_int_equal(rc, 0);
                    assert_true(cron_time_to_minutes(&got) > limit);
                    break;
                }
                assert_int_equal(rc, 0);
                if (cron_time_to_minutes(&got) != cron_time_to_minutes(&want)) {
                    char a[32], w[32], g[32];
                    cron_time_format(&after, a, sizeof a);
                    cron_time_format(&want, w, sizeof w);
                    cron_time_format(&got, g, sizeof g);
                    fail_msg("'%s' after %s: brute force %s, cron_next %s", exprs[e], a, w, g);
                }
                after = got;
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_default_daily),
        cmocka_unit_test(test_every_minute_and_steps),
        cmocka_unit_test(test_month_ends),
        cmocka_unit_test(test_day_of_week),
        cmocka_unit_test(test_dom_dow_rule),
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_next_refuses_bad_input),
        cmocka_unit_test(test_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
