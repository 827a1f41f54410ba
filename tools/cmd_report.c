/*
 * kinerja report unit|awards|training|public --period P [--format table|csv|json|html]
 * (SPEC 9), read from PostgreSQL through common/resultstore:
 *   unit      per unit: IKM (value, mutu, SKM responses), smiley satisfaction and the
 *             predikat distribution of its employees' current results;
 *   awards    per unit the top N trustworthy signed results, by predikat first and
 *             then numeric score (SPEC 5.5; see report_usage); --provisional lists
 *             the unsigned ones apart, labelled as not signed;
 *   training  who needs which course (the training recommendations of each result);
 *   public    the unit report without personal data: no NIPs, names or comments, and
 *             the predikat distribution of signed results only (approved, appealed,
 *             final; the revised predikat where an appeal revised it), shown only for
 *             units with at least REPORT_PUBLIC_MIN_RESULTS signed results.
 * Every report is built as one table of text cells and rendered as an aligned text
 * table, CSV (RFC 4180; text cells that a spreadsheet would run as a formula are
 * neutralised, see report_csv_field), a self-contained HTML page (everything escaped) or JSON (the
 * unit and public reports in SPEC 9's nested shape, the others as flat objects). The
 * tables and the JSON are read and built by common/views.c (view_report_read, the same
 * for kinerja-web); this file parses the options and renders.
 */
#include "buf.h"
#include "cli.h"
#include "event.h"
#include "resultstore.h"
#include "score.h"
#include "views.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_DEFAULT_TOP VIEW_REPORT_DEFAULT_TOP
#define REPORT_TOP_MAX VIEW_REPORT_TOP_MAX
#define REPORT_PUBLIC_MIN_RESULTS VIEW_REPORT_PUBLIC_MIN_RESULTS
#define REPORT_TRUST_MIN_RATERS VIEW_REPORT_TRUST_MIN_RATERS
#define REPORT_JSON_MAX (1u << 30)          /* bound of the JSON output buffer */
#define REPORT_CSV_FORMULA_LEADS "=+-@\t\r" /* first characters a spreadsheet takes as a formula */

enum report_kind { REPORT_UNIT, REPORT_AWARDS, REPORT_TRAINING, REPORT_PUBLIC };
enum report_format { REPORT_TABLE, REPORT_CSV, REPORT_JSON, REPORT_HTML };

static const char *const report_kind_names[] = {"unit", "awards", "training", "public"};
static const char *const report_format_names[] = {"table", "csv", "json", "html"};

static void report_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kinerja report unit|awards|training|public --period P [--format table|csv|json|html]\n"
        "                      [--top N] [--provisional]\n"
        "  unit      per unit: IKM (value, mutu A..D, SKM responses), smiley satisfaction (mean of\n"
        "            the counted presses, 1..4) and how many current results have each predikat;\n"
        "            every unit of the organisation appears, with no data as null / 0\n"
        "  awards    per unit the top N (--top, default %d) among trustworthy SIGNED results\n"
        "            (approved, appealed, final), ranked by predikat first (sangat_baik, baik,\n"
        "            butuh_perbaikan, kurang, sangat_kurang; the revised one where an appeal revised\n"
        "            it), then by numeric score. Trustworthy: the result has a predikat and a numeric\n"
        "            score, is not flagged for calibration, and at least %d non-self raters\n"
        "            (supervisor, peers, subordinates: the n of the rater groups in the result; a\n"
        "            group hidden by anonymity counts as 1, the least it can hold; citizens are\n"
        "            respondents, not raters, and do not count)\n"
        "            --provisional: the same ranking of the results NOT SIGNED yet (collecting,\n"
        "            pending_signoff, returned), apart and labelled so; they may still change\n"
        "  training  who needs which course: each result's training recommendations (BerAKHLAK\n"
        "            values whose mean is below training.threshold, with the catalog's course)\n"
        "  public    the unit report without personal data (no NIPs, names or comments); the\n"
        "            predikat distribution counts SIGNED results only (approved, appealed, final;\n"
        "            the revised predikat where revised), shown for units with at least %d of them\n"
        "  --period P   YYYY-MM, YYYY-Qn or YYYY (required)\n"
        "  --format F   table (default), csv, json or html (a self-contained page)\n"
        "JSON of `unit`: "
        "[{\"unit\",\"name\",\"ikm\":{\"value\",\"mutu\",\"n\"}|null,\"satisfaction\":{\"mean\",\"n\"},\n"
        "\"results\",\"signed_results\",\"predikat\":{\"sangat_baik\":n,...}}]; `public` the same with\n"
        "\"predikat\" counting signed results only (\"predikat_basis\":\"signed\"), null when suppressed.\n"
        "JSON of `awards`: "
        "[{\"unit\",\"rank\",\"employee\",\"name\",\"score\",\"predikat\",\"state\",\"raters\",\n"
        "\"signed\":true|false}]. Exit 0 ok, 1 database error, 2 usage.\n",
        REPORT_DEFAULT_TOP, REPORT_TRUST_MIN_RATERS, REPORT_PUBLIC_MIN_RESULTS);
}

/* ---------------------------------------------------------------- the table */

/* A cell as people read it: "-" for no value, "yes" / "no" for a BOOL. */
static const char *report_shown(const struct view_table *t, size_t c, const char *v)
{
    if (!v)
        return "-";
    if (t->cols[c].kind == VIEW_COL_BOOL)
        return strcmp(v, "true") ? "no" : "yes";
    return v;
}

/* Display width: code points, control characters shown as one '?'. */
static size_t report_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void report_put_safe(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static void report_pad(FILE *out, size_t n)
{
    while (n-- > 0)
        fputc(' ', out);
}

static void report_render_text(FILE *out, const struct view_table *t)
{
    size_t *w = calloc(t->ncols, sizeof *w);
    if (!w)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = report_width(t->cols[c].name);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = report_width(report_shown(t, c, view_table_cell(t, r, c)));
            if (n > w[c])
                w[c] = n;
        }
    }
    fprintf(out, "%s\n\n", t->title);
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = r == 0 ? t->cols[c].name : report_shown(t, c, view_table_cell(t, r - 1, c));
            size_t pad = w[c] - report_width(v);
            bool right = t->cols[c].kind == VIEW_COL_NUMBER;
            if (c)
                fputs("  ", out);
            if (right)
                report_pad(out, pad);
            report_put_safe(out, v);
            if (!right && c + 1 < t->ncols)
                report_pad(out, pad);
        }
        fputc('\n', out);
    }
    if (t->nrows == 0)
        fprintf(out, "(no rows)\n");
    if (t->note)
        fprintf(out, "\n%s\n", t->note);
    free(w);
}

/* A number as this file formats it: -?digits(.digits)?, nothing else. */
static bool report_plain_number(const char *s)
{
    if (*s == '-')
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    while (isdigit((unsigned char)*s))
        s++;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

/*
 * One RFC 4180 field. A spreadsheet runs a cell that begins with one of
 * REPORT_CSV_FORMULA_LEADS as a formula (OWASP "CSV injection": a name such as
 * =HYPERLINK(...)), so such a cell gets a single quote in front and is quoted. A
 * NUMBER column's cell that is a plain number (-0.50) stays as it is: the report
 * formatted it, and a spreadsheet must read it as the number it is; anything else in
 * a number column is treated as text.
 */
static void report_csv_field(FILE *out, const char *s, bool number)
{
    if (!s)
        return;
    bool formula = *s && strchr(REPORT_CSV_FORMULA_LEADS, *s) && !(number && report_plain_number(s));
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void report_render_csv(FILE *out, const struct view_table *t)
{
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', out);
            if (r == 0)
                report_csv_field(out, t->cols[c].name, false);
            else
                report_csv_field(out, view_table_cell(t, r - 1, c), t->cols[c].kind == VIEW_COL_NUMBER);
        }
        fputs("\r\n", out);
    }
}

static void report_html_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' ? '?' : *s, out);
        }
    }
}

static void report_render_html(FILE *out, const struct view_table *t)
{
    fputs("<!DOCTYPE html>\n<html lang=\"id\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    report_html_escape(out, t->title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em}\n"
          "table{border-collapse:collapse}\n"
          "th,td{border:1px solid #999;padding:.25em .6em}\n"
          "th{background:#eee;text-align:left}\n"
          "td.n{text-align:right}\n"
          "</style>\n</head>\n<body>\n<h1>",
          out);
    report_html_escape(out, t->title);
    fputs("</h1>\n<table>\n<thead><tr>", out);
    for (size_t c = 0; c < t->ncols; c++) {
        fputs("<th>", out);
        report_html_escape(out, t->cols[c].name);
        fputs("</th>", out);
    }
    fputs("</tr></thead>\n<tbody>\n", out);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs("<tr>", out);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = view_table_cell(t, r, c);
            fputs(t->cols[c].kind == VIEW_COL_NUMBER ? "<td class=\"n\">" : "<td>", out);
            report_html_escape(out, report_shown(t, c, v));
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table>\n", out);
    if (t->nrows == 0)
        fputs("<p>No rows.</p>\n", out);
    if (t->note) {
        fputs("<p>", out);
        report_html_escape(out, t->note);
        fputs("</p>\n", out);
    }
    fputs("</body>\n</html>\n", out);
}

static int report_emit(const struct view_table *t, enum report_format fmt, const struct buf *json)
{
    switch (fmt) {
    case REPORT_TABLE:
        report_render_text(stdout, t);
        break;
    case REPORT_CSV:
        report_render_csv(stdout, t);
        break;
    case REPORT_HTML:
        report_render_html(stdout, t);
        break;
    case REPORT_JSON:
        fwrite(json->data, 1, json->len, stdout);
        fputc('\n', stdout);
        break;
    }
    return ferror(stdout) ? -1 : 0;
}

/* The report read and built by common/views.c (as for the web), rendered here. */
static int report_run(struct pgstore *db, enum report_kind kind, enum report_format fmt, const char *period,
                      long top, bool provisional)
{
    struct view_report_opts o = {.top = top, .provisional = provisional};
    struct view_table t;
    struct buf json;
    buf_init(&json, REPORT_JSON_MAX);
    char err[1024];
    int rc = CLI_OK;
    int v = view_report_read(db, report_kind_names[kind], period, &o, &t, fmt == REPORT_JSON ? &json : NULL,
                             err, sizeof err);
    if (v != VIEW_OK) {
        fprintf(stderr, "kinerja report: %s\n", err);
        rc = CLI_FAIL;
    } else if (report_emit(&t, fmt, &json) < 0) {
        fprintf(stderr, "kinerja report: out of memory or output error\n");
        rc = CLI_FAIL;
    }
    if (t.unreadable)
        fprintf(stderr, "kinerja report: %zu results with an unreadable training list were skipped\n",
                t.unreadable);
    view_table_free(&t);
    buf_free(&json);
    return rc;
}

/* ---------------------------------------------------------------- command */

static int report_parse_top(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > REPORT_TOP_MAX)
        return -1;
    *out = v;
    return 0;
}

static int report_lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s))
            return (int)i;
    return -1;
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
    const char *period = NULL;
    int kind = -1;
    int fmt = REPORT_TABLE;
    long top = REPORT_DEFAULT_TOP;
    bool have_top = false, provisional = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            report_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            period = argv[++i];
        } else if (!strcmp(a, "--format") && i + 1 < argc) {
            fmt = report_lookup(report_format_names,
                                sizeof report_format_names / sizeof report_format_names[0], argv[++i]);
            if (fmt < 0) {
                fprintf(stderr, "kinerja report: --format must be table, csv, json or html, got '%s'\n",
                        argv[i]);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--top") && i + 1 < argc) {
            if (report_parse_top(argv[++i], &top) < 0) {
                fprintf(stderr, "kinerja report: --top must be a whole number 1..%d, got '%s'\n",
                        REPORT_TOP_MAX, argv[i]);
                return CLI_USAGE;
            }
            have_top = true;
        } else if (!strcmp(a, "--provisional")) {
            provisional = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "kinerja report: unknown option or missing value '%s'\n", a);
            report_usage(stderr);
            return CLI_USAGE;
        } else if (kind < 0) {
            kind =
                report_lookup(report_kind_names, sizeof report_kind_names / sizeof report_kind_names[0], a);
            if (kind < 0) {
                fprintf(stderr, "kinerja report: unknown report '%s' (unit, awards, training, public)\n", a);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "kinerja report: one report at a time, got '%s' too\n", a);
            return CLI_USAGE;
        }
    }
    if (kind < 0 || !period) {
        fprintf(stderr, "kinerja report: %s\n",
                kind < 0 ? "which report? (unit, awards, training, public)" : "--period missing");
        report_usage(stderr);
        return CLI_USAGE;
    }
    if (!event_valid_period(period, strlen(period))) {
        fprintf(stderr, "kinerja report: --period must be " EVENT_PERIOD_RULE ", got '%s'\n", period);
        return CLI_USAGE;
    }
    if ((have_top || provisional) && kind != REPORT_AWARDS) {
        fprintf(stderr, "kinerja report: %s applies to the awards report only\n",
                have_top ? "--top" : "--provisional");
        return CLI_USAGE;
    }

    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja report: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja report: PostgreSQL unreachable: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    int rc = report_run(db, (enum report_kind)kind, (enum report_format)fmt, period, top, provisional);
    pgstore_destroy(&db);
    return rc;
}
