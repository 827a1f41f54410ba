/*
 * kinerja score NIP --period P [--version V] [--json]: one employee's result for one
 * period with its breakdown (SPEC 9), read from PostgreSQL through common/resultstore.
 *
 * --json prints SPEC 9's shape: {"employee","period","version","state", then the
 * members of the stored result (predikat, score, hasil_kerja, perilaku, ikm,
 * satisfaction, training, breakdown), then "history" and "time_zone"}; the stored text
 * is spliced in unchanged, so the numbers are exactly what the score worker wrote. The
 * document is built by common/views.c (view_score), the same for kinerja-web.
 * "history" is the result's whole history (SPEC 6: every version, sign-off, return,
 * appeal with its reason, decision with its decider and note, who and when; see
 * resultstore_history_json). Without --json a human-readable rendering of the same
 * (parsed with jansson). Times are in time.zone.
 */
#include "buf.h"
#include "cli.h"
#include "event.h"
#include "resultstore.h"
#include "score.h"
#include "views.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_CMD_JSON_MAX (1u << 28) /* bound of the JSON document */
#define SCORE_CMD_PERCENT 100.0
#define SCORE_CMD_VALUE_WIDTH 24     /* column of the BerAKHLAK value names */
#define SCORE_CMD_GROUP_WIDTH 12     /* column of the rater group names */
#define SCORE_CMD_TIME_CHARS 16      /* "YYYY-MM-DD HH:MM" of an ISO 8601 time */
#define SCORE_CMD_INDICATOR_WIDTH 16 /* columns of the per-indicator SKP detail */
#define SCORE_CMD_NUMBER_WIDTH 11
#define SCORE_CMD_DIRECTION_WIDTH 13
#define SCORE_CMD_WEIGHT_WIDTH 6
#define SCORE_CMD_DATE_CHARS 10 /* "YYYY-MM-DD" */
#define SCORE_CMD_YEAR_CHARS 4  /* an annual period, "YYYY" (SPEC 3) */

static void score_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kinerja score NIP --period P [--version V] [--json]\n"
        "  The result of employee NIP for period P (YYYY-MM, YYYY-Qn or YYYY): state, version,\n"
        "  predikat, numeric score, hasil kerja (work results, per SKP indicator when the version\n"
        "  records them), perilaku kerja (the seven BerAKHLAK values, rater groups with n, mean\n"
        "  and 95%% interval), the calibration flag, IKM and smiley satisfaction about the\n"
        "  employee, training recommendations, and the result's history.\n"
        "  --period P   the period (required)\n"
        "  --version V  an older score version (default: the current one)\n"
        "  --json       {\"employee\",\"period\",\"version\",\"state\",\"predikat\",\"score\",\n"
        "               \"hasil_kerja\",\"perilaku\",\"ikm\",\"satisfaction\",\"training\",\"breakdown\",\n"
        "               \"history\":[{\"what\",\"at\",...}],\"time_zone\"}\n"
        "  The history lists every version, sign-off request, sign-off, return, appeal (reason),\n"
        "  decision (decider, note) with who and when; times are in time.zone.\n"
        "Exit 0 ok, 1 unknown NIP / no result yet / database error, 2 usage.\n");
}

/* ---------------------------------------------------------------- table */

/* Prints s with control characters replaced, so a name cannot drive the terminal. */
static void score_put(const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stdout);
}

static bool score_num(json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static const char *score_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* "4.25" (signed: "+0.25") or "-" when absent. */
static void score_fmt(char *out, size_t n, json_t *obj, const char *key, bool sign)
{
    double x;
    if (!score_num(obj, key, &x))
        snprintf(out, n, "-");
    else if (sign)
        snprintf(out, n, "%+.2f", x);
    else
        snprintf(out, n, "%.2f", x);
}

static int score_anonymity_min(json_t *result, const struct cli *cli)
{
    json_t *v =
        json_object_get(json_object_get(json_object_get(result, "breakdown"), "params"), "anonymity_min");
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    return (int)config_int(cli->cfg, "fairness.anonymity_min");
}

static void score_print_header(const struct resultstore_score *s, const char *period, json_t *result,
                               const char *tz)
{
    printf("Employee      ");
    score_put(s->name);
    printf("\nNIP           %s\nUnit          ", s->employee);
    score_put(s->unit);
    printf("\nPeriod        %s\nState         %s\n", period, s->state);
    if (s->version == s->current_version)
        printf("Version       %d (current)", s->version);
    else
        printf("Version       %d (the current one is %d)", s->version, s->current_version);
    if (s->computed_at) {
        printf(", computed %s (", s->computed_at);
        score_put(tz);
        printf(")");
    }
    const char *pred = score_str(result, "predikat");
    const char *label = resultstore_predikat_label(pred);
    printf("\nPredikat      %s\n", label ? label : "not decided yet (a rating is missing)");
    char sc[32];
    score_fmt(sc, sizeof sc, result, "score", false);
    printf("Score         %s%s\n", sc,
           strcmp(sc, "-") ? " of 100" : " (needs both the achievement and perilaku)");
}

/* A number of an indicator row, right-aligned in width, "-" when absent. */
static void score_put_cell(json_t *row, const char *key, int width, double scale, const char *suffix)
{
    double x;
    if (score_num(row, key, &x))
        printf(" %*.2f%s", width, x * scale, suffix);
    else
        printf(" %*s%s", width, "-", *suffix ? " " : "");
}

/*
 * The per-indicator SKP detail of hasil kerja (hasil_kerja.detail: [{"indicator",
 * "target","realization","direction","weight","achievement"}], achievement as a ratio,
 * capped). Versions written before the detail existed have none: nothing is printed.
 */
static void score_print_indicators(json_t *detail)
{
    if (!json_is_array(detail) || json_array_size(detail) == 0)
        return;
    size_t i;
    json_t *row;
    int width = SCORE_CMD_INDICATOR_WIDTH;
    json_array_foreach(detail, i, row)
    {
        const char *code = score_str(row, "indicator");
        if (code && (int)strlen(code) > width && strlen(code) <= EVENT_INDICATOR_MAX)
            width = (int)strlen(code);
    }
    printf("  %-*s %*s %*s  %-*s %*s %*s\n", width, "indicator", SCORE_CMD_NUMBER_WIDTH, "target",
           SCORE_CMD_NUMBER_WIDTH, "realization", SCORE_CMD_DIRECTION_WIDTH, "direction",
           SCORE_CMD_WEIGHT_WIDTH, "weight", SCORE_CMD_NUMBER_WIDTH + 1, "achievement");
    json_array_foreach(detail, i, row)
    {
        const char *code = score_str(row, "indicator");
        const char *direction = score_str(row, "direction");
        printf("  ");
        score_put(code ? code : "?");
        int len = code ? (int)strlen(code) : 1;
        printf("%*s", len < width ? width - len : 0, "");
        score_put_cell(row, "target", SCORE_CMD_NUMBER_WIDTH, 1.0, "");
        score_put_cell(row, "realization", SCORE_CMD_NUMBER_WIDTH, 1.0, "");
        printf("  %-*s", SCORE_CMD_DIRECTION_WIDTH, direction ? direction : "-");
        score_put_cell(row, "weight", SCORE_CMD_WEIGHT_WIDTH, 1.0, "");
        score_put_cell(row, "achievement", SCORE_CMD_NUMBER_WIDTH, SCORE_CMD_PERCENT, "%");
        printf("\n");
    }
}

static void score_print_hasil(json_t *result)
{
    json_t *h = json_object_get(result, "hasil_kerja");
    double ach;
    printf("\nHasil kerja (work results)\n");
    json_t *ind = json_object_get(h, "indicators");
    if (score_num(h, "achievement", &ach))
        printf("  achievement   %.2f%% over %lld indicator%s\n", ach * SCORE_CMD_PERCENT,
               (long long)json_integer_value(ind), json_integer_value(ind) == 1 ? "" : "s");
    else
        printf("  achievement   - (no work results)\n");
    const char *rating = score_str(h, "rating");
    bool from_sup = json_is_true(json_object_get(h, "from_supervisor"));
    printf("  rating        %s", rating ? rating : "none");
    if (rating && strcmp(rating, "none"))
        printf(" (%s)", from_sup ? "the supervisor's judgement" : "computed from the achievement");
    printf("\n");
    score_print_indicators(json_object_get(h, "detail"));
}

static void score_print_perilaku(json_t *result, int anonymity_min)
{
    json_t *p = json_object_get(result, "perilaku");
    json_t *values = json_object_get(p, "values");
    json_t *detail = json_object_get(json_object_get(result, "breakdown"), "values");
    char buf[32];
    printf("\nPerilaku kerja (behaviour, BerAKHLAK values on 1..5)\n");
    score_fmt(buf, sizeof buf, p, "value", false);
    const char *rating = score_str(p, "rating");
    printf("  value         %s\n  rating        %s\n", buf, rating ? rating : "none");
    printf("  %-*s %6s %9s  %s\n", SCORE_CMD_VALUE_WIDTH, "BerAKHLAK value", "mean", "self gap",
           "calibration");
    for (int j = 0; j < SCORE_VALUES; j++) {
        const char *key = event_behaviour_keys[j];
        json_t *d = json_object_get(detail, key);
        char mean[32], gap[32];
        score_fmt(mean, sizeof mean, values, key, false);
        score_fmt(gap, sizeof gap, d, "self_gap", true);
        printf("  %-*s %6s %9s  %s\n", SCORE_CMD_VALUE_WIDTH, key, mean, gap,
               json_is_true(json_object_get(d, "calibration")) ? "flagged" : "");
    }

    json_t *groups = json_object_get(p, "groups");
    json_t *anon = json_object_get(json_object_get(result, "breakdown"), "anonymity");
    printf("\nRater groups\n");
    /* the five groups, then "others": the pool of the crowd groups too small to be shown
     * on their own (scoring v2); absent in older versions */
    for (int g = 0; g <= SCORE_GROUP_COUNT; g++) {
        const char *name = g < SCORE_GROUP_COUNT ? score_group_names[g] : "others";
        json_t *gr = json_object_get(groups, name);
        if (g == SCORE_GROUP_COUNT && !json_is_object(gr))
            break;
        printf("  %-*s ", SCORE_CMD_GROUP_WIDTH, name);
        if (!json_is_object(gr)) {
            printf("no ratings\n");
            continue;
        }
        if (!json_is_true(json_object_get(gr, "shown"))) {
            if (g == SCORE_GROUP_COUNT)
                printf("hidden (the pooled small groups still have fewer than %d ratings)\n", anonymity_min);
            else
                printf("hidden (fewer than %d ratings%s)\n", anonymity_min,
                       json_is_true(json_object_get(anon, "pooled")) ? ": pooled into others" : "");
            continue;
        }
        char mean[32];
        score_fmt(mean, sizeof mean, gr, "mean", false);
        printf("n %-4lld mean %s", (long long)json_integer_value(json_object_get(gr, "n")), mean);
        json_t *ci = json_object_get(gr, "ci95");
        if (json_is_array(ci) && json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0)) &&
            json_is_number(json_array_get(ci, 1)))
            printf("   95%% interval %.2f .. %.2f", json_number_value(json_array_get(ci, 0)),
                   json_number_value(json_array_get(ci, 1)));
        printf("\n");
    }
    if (json_is_true(json_object_get(anon, "restricted")))
        printf("  (only the combined values are shown: with the supervisor's own figures beside them, the\n"
               "   hidden ratings could be worked out)\n");
}

/* The calibration test of the supervisor's rating (breakdown.calibration_test: tested,
 * flag, residual, se, z, n, threshold); older versions carry only the flag. */
static void score_print_calibration(json_t *breakdown)
{
    bool flagged = json_is_true(json_object_get(breakdown, "calibration"));
    json_t *t = json_object_get(breakdown, "calibration_test");
    double z, residual, threshold;
    printf("\nCalibration   %s", flagged ? "flagged" : "not flagged");
    if (!json_is_object(t)) {
        printf("\n");
        return;
    }
    if (!json_is_true(json_object_get(t, "tested"))) {
        printf(" (not tested: fewer than 3 other raters)\n");
        return;
    }
    if (score_num(t, "z", &z) && score_num(t, "residual", &residual) && score_num(t, "threshold", &threshold))
        printf(": the supervisor's rating is %+.2f from what %lld other raters imply, z = %+.2f (flagged "
               "beyond |z| %.1f)\n",
               residual, (long long)json_integer_value(json_object_get(t, "n")), z, threshold);
    else
        printf("\n");
}

static void score_print_rest(const struct resultstore_score *s, json_t *result)
{
    score_print_calibration(json_object_get(result, "breakdown"));

    json_t *ikm = json_object_get(result, "ikm");
    double x;
    if (json_is_object(ikm) && score_num(ikm, "value", &x)) {
        const char *mutu = score_str(ikm, "mutu");
        const char *label = resultstore_mutu_label(mutu);
        printf("IKM           %.2f (mutu %s%s%s, %lld SKM responses)\n", x, mutu ? mutu : "-",
               label ? " " : "", label ? label : "",
               (long long)json_integer_value(json_object_get(ikm, "n")));
    } else {
        printf("IKM           none (not enough SKM responses about this employee)\n");
    }
    json_t *sat = json_object_get(result, "satisfaction");
    if (score_num(sat, "mean", &x))
        printf("Satisfaction  %.2f of 4 (%lld counted; %lld presses, %lld repeats)\n", x,
               (long long)json_integer_value(json_object_get(sat, "n")),
               (long long)json_integer_value(json_object_get(sat, "presses")),
               (long long)json_integer_value(json_object_get(sat, "repeats")));
    else
        printf("Satisfaction  none (no smiley presses)\n");

    json_t *training = json_object_get(result, "training");
    printf("\nTraining recommendations\n");
    if (!json_is_array(training) || json_array_size(training) == 0)
        printf("  none\n");
    size_t i;
    json_t *t;
    json_array_foreach(training, i, t)
    {
        const char *value = score_str(t, "value");
        const char *course = score_str(t, "course");
        char mean[32];
        score_fmt(mean, sizeof mean, t, "mean", false);
        printf("  %s (mean %s): ", value ? value : "?", mean);
        score_put(course ? course : "no course in the catalog");
        printf("\n");
    }
    if (s->late_events > 0)
        printf("\nLate events   %d arrived while the result was frozen; they count once it is returned\n",
               s->late_events);
}

/* "2026-10-04 06:30" of an ISO 8601 time "2026-10-04T06:30:00+07:00" (the zone is
 * shown once, in the section's title). */
static void score_put_time(const char *iso)
{
    char t[SCORE_CMD_TIME_CHARS + 1];
    if (!iso || strlen(iso) < SCORE_CMD_TIME_CHARS) {
        printf("%-*s", SCORE_CMD_TIME_CHARS, "-");
        return;
    }
    memcpy(t, iso, SCORE_CMD_TIME_CHARS);
    t[SCORE_CMD_TIME_CHARS] = '\0';
    if (t[SCORE_CMD_DATE_CHARS] == 'T')
        t[SCORE_CMD_DATE_CHARS] = ' ';
    score_put(t);
}

/* " by ACTOR" and ": NOTE" when present. */
static void score_put_by(json_t *e, const char *key)
{
    const char *actor = score_str(e, key);
    if (actor) {
        printf(" by ");
        score_put(actor);
    }
}

static void score_put_note(const char *note)
{
    if (note && *note) {
        printf(": ");
        score_put(note);
    }
}

/* One line per entry of the history (resultstore_history_json), oldest first. */
static void score_print_history(json_t *history, const char *period, const char *tz)
{
    printf("\nHistory (times in ");
    score_put(tz);
    printf(")\n");
    if (!json_is_array(history) || json_array_size(history) == 0) {
        printf("  none recorded\n");
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(history, i, e)
    {
        const char *what = score_str(e, "what");
        json_t *version = json_object_get(e, "version");
        long long v = json_is_integer(version) ? (long long)json_integer_value(version) : 0;
        printf("  ");
        score_put_time(score_str(e, "at"));
        printf("  ");
        if (!what) {
            printf("?");
        } else if (!strcmp(what, "version")) {
            const char *label = resultstore_predikat_label(score_str(e, "predikat"));
            char sc[32];
            score_fmt(sc, sizeof sc, e, "score", false);
            const char *why = score_str(e, "reason"); /* why it is a version (SPEC 5.7) */
            printf("version %lld computed", v);
            if (why && *why) {
                printf(" (");
                score_put(why);
                printf(")");
            }
            printf(": %s, score %s", label ? label : "no predikat", sc);
        } else if (!strcmp(what, "created")) {
            printf("result created (%s)", score_str(e, "to") ? score_str(e, "to") : "?");
            score_put_by(e, "actor");
        } else if (!strcmp(what, "signoff_requested")) {
            printf("sign-off requested for version %lld", v);
            score_put_by(e, "actor");
            score_put_note(score_str(e, "note"));
        } else if (!strcmp(what, "approved")) {
            printf("version %lld approved (signed)", v);
            score_put_by(e, "actor");
            score_put_note(score_str(e, "note"));
        } else if (!strcmp(what, "returned")) {
            printf("version %lld returned", v);
            score_put_by(e, "actor");
            score_put_note(score_str(e, "note"));
        } else if (!strcmp(what, "reopened")) {
            printf("version %lld reopened", v);
            score_put_by(e, "actor");
            score_put_note(score_str(e, "note"));
        } else if (!strcmp(what, "collecting")) {
            printf("collecting again");
            score_put_note(score_str(e, "note"));
        } else if (!strcmp(what, "appealed")) {
            printf("appeal (keberatan) filed against version %lld", v);
            score_put_by(e, "actor");
            printf(", reason");
            score_put_note(score_str(e, "reason"));
        } else if (!strcmp(what, "decided")) {
            const char *decision = score_str(e, "decision");
            printf("appeal decided");
            score_put_by(e, "decider");
            printf(": ");
            score_put(decision ? decision : "?");
            const char *label = resultstore_predikat_label(score_str(e, "predikat"));
            if (decision && !strcmp(decision, "revise") && label)
                printf(" to %s", label);
            score_put_note(score_str(e, "decision_note"));
        } else if (!strcmp(what, "final")) {
            printf("final (the appeal window ended)");
            score_put_by(e, "actor");
        } else if (!strcmp(what, "feedback")) {
            const char *aspect = score_str(e, "value"), *of = score_str(e, "period");
            printf("feedback note (umpan balik)");
            if (aspect) {
                printf(" on ");
                score_put(aspect);
            }
            if (of && strcmp(of, period)) {
                printf(" for ");
                score_put(of);
            }
            score_put_by(e, "actor");
            score_put_note(score_str(e, "note"));
        } else {
            score_put(what);
            score_put_by(e, "actor");
            score_put_note(score_str(e, "note"));
        }
        printf("\n");
    }
}

/* The periodic results beside an annual one (SPEC 5.9), one line each, in order. */
static void score_print_periodic(json_t *periodic)
{
    printf("\nPeriodic results of the year\n");
    if (!json_is_array(periodic) || json_array_size(periodic) == 0) {
        printf("  none recorded\n");
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(periodic, i, e)
    {
        const char *label = resultstore_predikat_label(score_str(e, "predikat"));
        const char *state = score_str(e, "state");
        json_t *version = json_object_get(e, "version");
        printf("  %-9s ", score_str(e, "period") ? score_str(e, "period") : "?");
        if (!state) {
            printf("no result\n");
            continue;
        }
        printf("%-16s %-16s version %lld\n", label ? label : "no predikat", state,
               json_is_integer(version) ? (long long)json_integer_value(version) : 0LL);
    }
}

/* Umpan balik: view_score's comments (only the shown rater groups, each labelled by its
 * group, never by its rater; the time only for the supervisor and self). */
static void score_print_comments(json_t *comments, int anonymity_min)
{
    printf("\nUmpan balik (comments of the rater groups shown; groups under %d raters hide theirs)\n",
           anonymity_min);
    if (!json_is_array(comments) || json_array_size(comments) == 0) {
        printf("  none to show\n");
        return;
    }
    size_t i;
    json_t *c;
    json_array_foreach(comments, i, c)
    {
        printf("  %-*s ", SCORE_CMD_GROUP_WIDTH, score_str(c, "group") ? score_str(c, "group") : "?");
        const char *at = score_str(c, "at");
        if (at) {
            score_put_time(at);
            printf("  ");
        }
        score_put(score_str(c, "text"));
        printf("\n");
    }
}

static int score_print_table(const struct resultstore_score *s, const char *period, const struct cli *cli,
                             const char *history_json, const char *periodic_json, json_t *comments,
                             const char *tz)
{
    json_error_t jerr;
    json_t *result = json_loads(s->result_json, 0, &jerr);
    if (!json_is_object(result)) {
        fprintf(stderr, "kinerja score: the stored result of version %d cannot be read: %s\n", s->version,
                result ? "not an object" : jerr.text);
        json_decref(result);
        return CLI_FAIL;
    }
    score_print_header(s, period, result, tz);
    score_print_hasil(result);
    score_print_perilaku(result, score_anonymity_min(result, cli));
    score_print_rest(s, result);
    score_print_comments(comments, score_anonymity_min(result, cli));
    if (periodic_json) {
        json_t *periodic = json_loads(periodic_json, 0, NULL);
        score_print_periodic(periodic);
        json_decref(periodic);
    }
    json_t *history = json_loads(history_json, 0, NULL);
    score_print_history(history, period, tz);
    json_decref(history);
    json_decref(result);
    return ferror(stdout) ? CLI_FAIL : CLI_OK;
}

/* The table of nip's result: read here (the table needs the name, unit and times the
 * JSON does not carry); when there is nothing to show, view_score says why, so the
 * reasons live in one place. */
static int score_show_table(struct pgstore *db, const char *nip, const char *period, int version,
                            const struct cli *cli, const char *tz)
{
    struct resultstore_score s;
    enum resultstore_found found;
    char *history = NULL, *periodic = NULL;
    bool annual = strlen(period) == SCORE_CMD_YEAR_CHARS;
    int rc;
    if (resultstore_score(db, nip, period, version, &s, &found) < 0 ||
        (found == RESULTSTORE_FOUND && resultstore_history_json(db, nip, period, &history) < 0) ||
        (found == RESULTSTORE_FOUND && annual && resultstore_periodic_json(db, nip, period, &periodic) < 0)) {
        fprintf(stderr, "kinerja score: PostgreSQL: %s%s\n", db->errstr,
                strstr(db->errstr, "does not exist") ? " (run `kinerja migrate`?)" : "");
        rc = CLI_FAIL;
    } else if (found != RESULTSTORE_FOUND) {
        char err[512] = "no result";
        struct buf b;
        buf_init(&b, SCORE_CMD_JSON_MAX);
        view_score(db, nip, period, version, tz, &b, err, sizeof err);
        buf_free(&b);
        fprintf(stderr, "kinerja score: %s\n", err);
        rc = CLI_FAIL;
    } else {
        /* the comments from view_score's document, so the anonymity rule lives in one place */
        char err[512] = "no result";
        struct buf b;
        buf_init(&b, SCORE_CMD_JSON_MAX);
        json_t *doc = NULL;
        bool viewed = view_score(db, nip, period, version, tz, &b, err, sizeof err) == VIEW_OK;
        if (!viewed || !(doc = json_loadb(b.data, b.len, 0, NULL))) {
            fprintf(stderr, "kinerja score: comments: %s\n", viewed ? "the document cannot be read" : err);
            rc = CLI_FAIL;
        } else {
            rc = score_print_table(&s, period, cli, history, periodic, json_object_get(doc, "comments"), tz);
        }
        json_decref(doc);
        buf_free(&b);
    }
    free(history);
    free(periodic);
    resultstore_score_clear(&s);
    return rc;
}

/* SPEC 9's JSON document (common/views.c builds it, as for the web). */
static int score_print_json(struct pgstore *db, const char *nip, const char *period, int version,
                            const char *tz)
{
    char err[512];
    struct buf b;
    buf_init(&b, SCORE_CMD_JSON_MAX);
    int rc = CLI_OK;
    if (view_score(db, nip, period, version, tz, &b, err, sizeof err) != VIEW_OK) {
        fprintf(stderr, "kinerja score: %s\n", err);
        rc = CLI_FAIL;
    } else {
        fwrite(b.data, 1, b.len, stdout);
        fputc('\n', stdout);
        rc = ferror(stdout) ? CLI_FAIL : CLI_OK;
    }
    buf_free(&b);
    return rc;
}

/* ---------------------------------------------------------------- command */

static int score_parse_version(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int cmd_score(struct cli *cli, int argc, char **argv)
{
    const char *nip = NULL, *period = NULL;
    bool json = false;
    int version = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            score_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            period = argv[++i];
        } else if (!strcmp(a, "--version") && i + 1 < argc) {
            if (score_parse_version(argv[++i], &version) < 0) {
                fprintf(stderr, "kinerja score: --version: must be a whole number >= 1, got '%s'\n", argv[i]);
                return CLI_USAGE;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "kinerja score: unknown option or missing value '%s'\n", a);
            score_usage(stderr);
            return CLI_USAGE;
        } else if (!nip) {
            nip = a;
        } else {
            fprintf(stderr, "kinerja score: one NIP only, got '%s' too\n", a);
            return CLI_USAGE;
        }
    }
    if (!nip || !period) {
        fprintf(stderr, "kinerja score: %s\n", !nip ? "NIP missing" : "--period missing");
        score_usage(stderr);
        return CLI_USAGE;
    }
    if (!event_valid_nip(nip, strlen(nip))) {
        fprintf(stderr, "kinerja score: NIP must be 18 digits, got '%s'\n", nip);
        return CLI_USAGE;
    }
    if (!event_valid_period(period, strlen(period))) {
        fprintf(stderr, "kinerja score: --period must be " EVENT_PERIOD_RULE ", got '%s'\n", period);
        return CLI_USAGE;
    }

    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja score: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja score: PostgreSQL unreachable: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    const char *tz = config_str(cli->cfg, "time.zone");
    if (pgstore_use_time_zone(db, tz) < 0) {
        fprintf(stderr, "kinerja score: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    int rc = json ? score_print_json(db, nip, period, version, tz)
                  : score_show_table(db, nip, period, version, cli, tz);
    pgstore_destroy(&db);
    return rc;
}
