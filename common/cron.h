/*
 * cron: the 5-field cron expressions of `schedule.recalc` (SPEC 6): parsing with a
 * reason for every refusal, matching, and the next fire time. Used by the schedule
 * role (workers/schedule.c); pure functions, no clock, no I/O.
 *
 *   minute hour day-of-month month day-of-week
 *   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
 *
 * Each field is a comma list of items; an item is `*`, a number, a range `a-b`, each
 * optionally followed by a step `/n` (`*` with a step runs over the whole range;
 * `a/n` runs from a to the end of the range). Months take jan..dec and days of the
 * week sun..sat (any case) in place of numbers. `@yearly` (`@annually`), `@monthly`,
 * `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for their usual expressions.
 *
 * Day of month and day of week combine as in Vixie cron: when both fields are
 * restricted (neither starts with `*`) a day matches if EITHER matches (`0 0 1,15 * 1`:
 * the 1st, the 15th and every Monday); when either field starts with `*` (also `*`
 * with a step) a day must match both (`0 0 * * 1`: Mondays only).
 *
 * Time zone: the functions work on wall-clock ("civil") time, struct cron_time, in the
 * zone the expression is meant for (`time.zone`). The caller converts: the schedule
 * role asks PostgreSQL for the wall clock of time.zone, so the scheduler and the SQL
 * side use the same time-zone database (and a DST gap or repeat is handled by
 * comparing wall-clock minutes: a fire time inside a skipped hour fires when the clock
 * jumps past it; a repeated hour does not fire twice).
 */
#ifndef KINERJA_CRON_H
#define KINERJA_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRON_EXPR_MAX 256    /* longest expression accepted */
#define CRON_SEARCH_YEARS 28 /* cron_next looks this far ahead: the weekday cycle of dates */

struct cron {
    uint64_t minute; /* bit m: minute m (0..59) */
    uint32_t hour;   /* bit h: hour h (0..23) */
    uint32_t dom;    /* bit d: day of month d (1..31) */
    uint16_t month;  /* bit m: month m (1..12) */
    uint8_t dow;     /* bit d: day of week d (0 Sunday .. 6 Saturday) */
    bool dom_star;   /* the day-of-month field starts with '*' */
    bool dow_star;   /* the day-of-week field starts with '*' */
};

/* A wall-clock minute: year 1..9999, month 1..12, day 1..31, hour 0..23, minute 0..59. */
struct cron_time {
    int year, month, day, hour, minute;
};

/*
 * Parses expr into out. Returns 0, or -1 with the reason in err, naming the field and
 * what was wrong ("hour: 24 is out of range 0..23", "expected 5 fields, got 4",
 * "day-of-month: step 0", "never fires: no month of the list has day 30"). An
 * expression that can never fire (`0 0 30 2 *`) is refused.
 */
int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen);

/* Whether the expression fires at minute t. */
bool cron_matches(const struct cron *c, const struct cron_time *t);

/*
 * The first minute strictly after `after` at which the expression fires. Returns 0,
 * or -1 when there is none within CRON_SEARCH_YEARS (impossible for an expression
 * cron_parse accepted) or `after` is not a valid time.
 */
int cron_next(const struct cron *c, const struct cron_time *after, struct cron_time *out);

/* Minutes since 1970-01-01 00:00 of the same clock (no time zone involved) and back;
 * for comparing and stepping wall-clock times. */
int64_t cron_time_to_minutes(const struct cron_time *t);
void cron_time_from_minutes(int64_t minutes, struct cron_time *out);

/* 0 Sunday .. 6 Saturday. */
int cron_weekday(int year, int month, int day);
int cron_days_in_month(int year, int month);

/* "2024-02-29 01:00" (at least 17 bytes). */
void cron_time_format(const struct cron_time *t, char *out, size_t outlen);

#endif
