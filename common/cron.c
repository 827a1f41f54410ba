#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CRON_FIELDS 5
#define CRON_NUMBER_MAX 9999 /* larger numbers are refused before they can overflow */

struct cron_field_def {
    const char *name;
    int lo, hi;               /* accepted numbers (day of week: 0..7, 7 = Sunday) */
    const char *const *names; /* names for lo, lo+1, ... (NULL: numbers only) */
    int names_first;          /* the number of names[0] */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct cron_field_def field_defs[CRON_FIELDS] = {
    {"minute", 0, 59, NULL, 0},          {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, dow_names, 0},
};

static const struct {
    const char *macro, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
};

/* ---- calendar ---------------------------------------------------------------------- */

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cron_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int cron_weekday(int year, int month, int day)
{
    int64_t w = (days_from_civil(year, month, day) + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

int64_t cron_time_to_minutes(const struct cron_time *t)
{
    return (days_from_civil(t->year, t->month, t->day) * 24 + t->hour) * 60 + t->minute;
}

void cron_time_from_minutes(int64_t minutes, struct cron_time *out)
{
    int64_t days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
    int64_t rest = minutes - days * 1440;
    civil_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rest / 60);
    out->minute = (int)(rest % 60);
}

void cron_time_format(const struct cron_time *t, char *out, size_t outlen)
{
    snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d", t->year, t->month, t->day, t->hour, t->minute);
}

static bool time_valid(const struct cron_time *t)
{
    return t->year >= 1 && t->year <= 9999 && t->month >= 1 && t->month <= 12 && t->day >= 1 &&
           t->day <= cron_days_in_month(t->year, t->month) && t->hour >= 0 && t->hour <= 23 &&
           t->minute >= 0 && t->minute <= 59;
}

/* The first set bit at or above `from` (up to `hi`), or -1. */
static int next_bit(uint64_t bits, int from, int hi)
{
    for (int v = from; v <= hi; v++)
        if (bits >> v & 1)
            return v;
    return -1;
}

/* ---- parsing ----------------------------------------------------------------------- */

/*
 * Reads a number or (for fields with names) a three-letter name at *p, advancing *p.
 * Returns 0, or -1 with the reason.
 */
static int parse_value(const struct cron_field_def *f, const char **p, const char *end, int *out, char *err,
                       size_t errlen)
{
    const char *s = *p;
    if (s < end && isdigit((unsigned char)*s)) {
        long v = 0;
        while (s < end && isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > CRON_NUMBER_MAX) {
                snprintf(err, errlen, "%s: number too large", f->name);
                return -1;
            }
            s++;
        }
        if (v < f->lo || v > f->hi) {
            snprintf(err, errlen, "%s: %ld is out of range %d..%d", f->name, v, f->lo, f->hi);
            return -1;
        }
        *out = (int)v;
        *p = s;
        return 0;
    }
    if (f->names && end - s >= 3 && isalpha((unsigned char)s[0])) {
        for (int i = 0; f->names[i]; i++) {
            if (strncasecmp(s, f->names[i], 3) == 0 && (end - s == 3 || !isalpha((unsigned char)s[3]))) {
                *out = f->names_first + i;
                *p = s + 3;
                return 0;
            }
        }
    }
    const char *tok_end = s;
    while (tok_end < end && *tok_end != '-' && *tok_end != '/' && *tok_end != ',')
        tok_end++;
    if (tok_end == s)
        snprintf(err, errlen, "%s: expected a number%s", f->name, f->names ? " or a name" : "");
    else
        snprintf(err, errlen, "%s: '%.*s' is not a %s", f->name, (int)(tok_end - s > 16 ? 16 : tok_end - s),
                 s, f->names ? "number or a name" : "number");
    return -1;
}

/* One list item: `*`, `v`, `a-b`, each with an optional `/step`. Sets bits. */
static int parse_item(const struct cron_field_def *f, const char *s, const char *end, uint64_t *bits,
                      char *err, size_t errlen)
{
    int from, to;
    bool ranged = false;
    if (s < end && *s == '*') {
        from = f->lo;
        to = f->hi;
        s++;
        ranged = true;
    } else {
        if (parse_value(f, &s, end, &from, err, errlen) < 0)
            return -1;
        to = from;
        if (s < end && *s == '-') {
            s++;
            if (parse_value(f, &s, end, &to, err, errlen) < 0)
                return -1;
            if (to < from) {
                snprintf(err, errlen, "%s: range %d-%d is reversed", f->name, from, to);
                return -1;
            }
            ranged = true;
        }
    }
    int step = 1;
    if (s < end && *s == '/') {
        s++;
        if (s == end || !isdigit((unsigned char)*s)) {
            snprintf(err, errlen, "%s: '/' must be followed by a step number", f->name);
            return -1;
        }
        long v = 0;
        while (s < end && isdigit((unsigned char)*s)) {
            v = v * 10 + (*s - '0');
            if (v > CRON_NUMBER_MAX) {
                snprintf(err, errlen, "%s: step too large", f->name);
                return -1;
            }
            s++;
        }
        if (v == 0) {
            snprintf(err, errlen, "%s: step 0", f->name);
            return -1;
        }
        step = (int)v;
        if (!ranged)
            to = f->hi; /* `a/n`: from a to the end of the range */
    }
    if (s != end) {
        snprintf(err, errlen, "%s: unexpected '%c'", f->name, *s);
        return -1;
    }
    for (int v = from; v <= to; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

static int parse_field(const struct cron_field_def *f, const char *s, const char *end, uint64_t *bits,
                       char *err, size_t errlen)
{
    *bits = 0;
    while (true) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;
        if (item_end == s) {
            snprintf(err, errlen, "%s: empty item in the list", f->name);
            return -1;
        }
        if (parse_item(f, s, item_end, bits, err, errlen) < 0)
            return -1;
        if (!comma)
            return 0;
        s = comma + 1;
    }
}

/* Whether a restricted day of month exists in one of the months (29 February counts). */
static bool some_day_exists(const struct cron *c)
{
    static const int longest[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int m = 1; m <= 12; m++)
        for (int d = 1; (c->month >> m & 1) && d <= longest[m]; d++)
            if (c->dom >> d & 1)
                return true;
    return false;
}

int cron_parse(const char *expr, struct cron *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!expr) {
        snprintf(err, errlen, "empty expression");
        return -1;
    }
    size_t len = strnlen(expr, CRON_EXPR_MAX + 1);
    if (len > CRON_EXPR_MAX) {
        snprintf(err, errlen, "longer than %d bytes", CRON_EXPR_MAX);
        return -1;
    }
    const char *s = expr, *end = expr + len;
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    if (s == end) {
        snprintf(err, errlen, "empty expression");
        return -1;
    }
    if (*s == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if ((size_t)(end - s) == strlen(macros[i].macro) &&
                !strncasecmp(s, macros[i].macro, (size_t)(end - s)))
                return cron_parse(macros[i].expr, out, err, errlen);
        snprintf(err, errlen, "unknown macro '%.*s' (@yearly, @monthly, @weekly, @daily, @hourly)",
                 (int)(end - s > 16 ? 16 : end - s), s);
        return -1;
    }

    const char *field[CRON_FIELDS], *field_end[CRON_FIELDS];
    int n = 0;
    while (s < end) {
        const char *b = s;
        while (s < end && !isspace((unsigned char)*s))
            s++;
        if (n < CRON_FIELDS) {
            field[n] = b;
            field_end[n] = s;
        }
        n++;
        while (s < end && isspace((unsigned char)*s))
            s++;
    }
    if (n != CRON_FIELDS) {
        snprintf(err, errlen, "expected 5 fields (minute hour day-of-month month day-of-week), got %d", n);
        return -1;
    }
    uint64_t bits[CRON_FIELDS];
    for (int i = 0; i < CRON_FIELDS; i++)
        if (parse_field(&field_defs[i], field[i], field_end[i], &bits[i], err, errlen) < 0)
            return -1;
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->dom_star = *field[2] == '*';
    out->dow_star = *field[4] == '*';
    /* Both restricted: either field may match, so some day always does. Otherwise the
     * day of month must exist in one of the months; every valid date then falls on
     * each weekday within the 28-year cycle. */
    if ((out->dom_star || out->dow_star) && !some_day_exists(out)) {
        int first = next_bit(out->dom, 1, 31);
        if (__builtin_popcount(out->dom) == 1)
            snprintf(err, errlen, "never fires: day-of-month %d does not occur in any month of the list",
                     first);
        else
            snprintf(err, errlen,
                     "never fires: no day of the day-of-month list occurs in a month of the list");
        return -1;
    }
    return 0;
}

/* ---- matching ---------------------------------------------------------------------- */

static bool day_matches(const struct cron *c, int year, int month, int day)
{
    bool dom = c->dom >> day & 1;
    bool dow = c->dow >> cron_weekday(year, month, day) & 1;
    return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

bool cron_matches(const struct cron *c, const struct cron_time *t)
{
    return time_valid(t) && (c->minute >> t->minute & 1) && (c->hour >> t->hour & 1) &&
           (c->month >> t->month & 1) && day_matches(c, t->year, t->month, t->day);
}

int cron_next(const struct cron *c, const struct cron_time *after, struct cron_time *out)
{
    if (!time_valid(after) || !c->minute || !c->hour || !c->month || !c->dom || !c->dow)
        return -1;
    struct cron_time t;
    cron_time_from_minutes(cron_time_to_minutes(after) + 1, &t);
    const int last_year = t.year + CRON_SEARCH_YEARS;
    /* Each pass either returns or moves t forward to the start of the next candidate
     * month, day or hour, so the loop ends. */
    while (t.year <= last_year && t.year <= 9999) {
        if (!(c->month >> t.month & 1)) {
            t.day = 1;
            t.hour = t.minute = 0;
            if (++t.month > 12) {
                t.month = 1;
                t.year++;
            }
            continue;
        }
        if (!day_matches(c, t.year, t.month, t.day)) {
            cron_time_from_minutes((days_from_civil(t.year, t.month, t.day) + 1) * 1440, &t);
            continue;
        }
        int h = next_bit(c->hour, t.hour, 23);
        if (h < 0) {
            cron_time_from_minutes((days_from_civil(t.year, t.month, t.day) + 1) * 1440, &t);
            continue;
        }
        int m = next_bit(c->minute, h == t.hour ? t.minute : 0, 59);
        if (m < 0) {
            if (h == 23) {
                cron_time_from_minutes((days_from_civil(t.year, t.month, t.day) + 1) * 1440, &t);
            } else {
                t.hour = h + 1;
                t.minute = 0;
            }
            continue;
        }
        *out = t;
        out->hour = h;
        out->minute = m;
        return 0;
    }
    return -1;
}
