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
 *             units with at least REPORT_PUBLIC_MIN_RESULTS signed results;
 *   skm       the SKM report of PermenPANRB 14/2017 (SPEC 5.6): per unit the respondents
 *             and their profile, NRR and NRR tertimbang per element, IKM and mutu, the
 *             weakest elements and the citizens' comments (text only), one row a line.
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
#define REPORT_JSON_MAX (1u << 30) /* bound of the JSON output buffer */
#define REPORT_STR_(x) #x
#define REPORT_STR(x) REPORT_STR_(x)
#define REPORT_SKM_MIN_PROFILE_STR REPORT_STR(VIEW_REPORT_SKM_MIN_PROFILE)
#define REPORT_CSV_FORMULA_LEADS "=+-@\t\r" /* first characters a spreadsheet takes as a formula */

enum report_kind {
    REPORT_UNIT,
    REPORT_AWARDS,
    REPORT_TRAINING,
    REPORT_PUBLIC,
    REPORT_ANGKA_KREDIT,
    REPORT_CURVE,
    REPORT_SKM
};
enum report_format { REPORT_TABLE, REPORT_CSV, REPORT_JSON, REPORT_HTML };

static const char *const report_kind_names[] = {
    "unit", "awards", "training", "public", VIEW_REPORT_ANGKA_KREDIT, "curve", "skm"};
static const char *const report_format_names[] = {"table", "csv", "json", "html"};

static void report_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kinerja report unit|awards|training|public|angka-kredit|curve|skm --period P [--unit U]\n"
        "                      [--format table|csv|json|html] [--top N] [--provisional]\n"
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
        "  angka-kredit  per SIGNED result of an employee with an ak_coefficient (org CSV): the angka\n"
        "            kredit it earns = coefficient x share of the predikat (sangat_baik 150%%, baik 100%%,\n"
        "            butuh_perbaikan 75%%, kurang 50%%, sangat_kurang 25%%) x months of the period / 12\n"
        "            (PerBKN 3/2023), rounded half up to 2 decimals (12.5 x 100%% x 3/12 = 3.125 -> 3.13)\n"
        "  curve     per unit its organisation predikat (`kinerja unit-predikat`) and the predikat\n"
        "            distribution of its current results (signed or not) against the pattern\n"
        "            (SE MenPANRB 3/2023): one row per rule, passed or broken; JSON [{\"unit\",\"name\",\n"
        "            \"predikat\",\"results\",\"distribution\",\"follows\",\"broken\",\"rules\":[...]}]\n"
        "  skm       the SKM report of PermenPANRB 14/2017 per unit: respondents and their\n"
        "            profile (gender, age_band, education, occupation; from %d respondents on),\n"
        "            NRR per element u1..u9 (sum / n), NRR tertimbang (NRR x 1/9), IKM (sum of\n"
        "            NRR tertimbang x 25, the unit report's figure) and mutu, the weakest elements,\n"
        "            the citizens' comments (the text only, newest first); one row a line\n"
        "  --period P   YYYY-MM, YYYY-Qn or YYYY (required)\n"
        "  --unit U     one unit only\n"
        "  --format F   table (default), csv, json or html (a self-contained page)\n"
        "JSON of `unit`: "
        "[{\"unit\",\"name\",\"ikm\":{\"value\",\"mutu\",\"n\"}|null,\"satisfaction\":{\"mean\",\"n\"},\n"
        "\"results\",\"signed_results\",\"predikat\":{\"sangat_baik\":n,...}}]; `public` the same with\n"
        "\"predikat\" counting signed results only (\"predikat_basis\":\"signed\"), null when suppressed.\n"
        "JSON of `awards`: "
        "[{\"unit\",\"rank\",\"employee\",\"name\",\"score\",\"predikat\",\"state\",\"raters\",\n"
        "\"signed\":true|false}]. JSON of `skm`: "
        "[{\"unit\",\"name\",\"respondents\",\"profile\",\"elements\":\n"
        "[{\"element\",\"name\",\"sum\",\"nrr\",\"nrr_weighted\",\"value\",\"mutu\"}],\"nrr_weighted_sum\","
        "\"ikm\",\n"
        "\"weakest\",\"comments\":[{\"month\",\"kind\",\"text\"}],\"comments_total\"}] (common/views.h).\n"
        "Exit 0 ok, 1 database error (or no such --unit), 2 usage.\n",
        REPORT_DEFAULT_TOP, REPORT_TRUST_MIN_RATERS, REPORT_PUBLIC_MIN_RESULTS, VIEW_REPORT_SKM_MIN_PROFILE);
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

/* ---------------------------------------------------------------- the SKM page */

/* Column indexes of the skm report's table (common/views.c, view_report_skm_cols). */
enum {
    SKM_UNIT,
    SKM_SECTION,
    SKM_ITEM,
    SKM_LABEL,
    SKM_N,
    SKM_NRR,
    SKM_WEIGHTED,
    SKM_VALUE,
    SKM_MUTU,
    SKM_TEXT
};
#define SKM_COLS 10

static const char *report_skm_cell(const struct view_table *t, size_t r, size_t c)
{
    const char *v = view_table_cell(t, r, c);
    return v ? v : "-";
}

static bool report_skm_is(const struct view_table *t, size_t r, const char *section)
{
    const char *v = view_table_cell(t, r, SKM_SECTION);
    return v && !strcmp(v, section);
}

static void report_skm_td(FILE *out, const char *v, bool number)
{
    fputs(number ? "<td class=\"n\">" : "<td>", out);
    report_html_escape(out, v);
    fputs("</td>", out);
}

/* One unit's rows [from, to) as the regulation's sections: respondents and profile, the
 * elements with NRR and NRR tertimbang, the IKM, the weakest elements, the comments. */
static void report_skm_unit_html(FILE *out, const struct view_table *t, size_t from, size_t to)
{
    fputs("<section class=\"unit\">\n<h2>", out);
    report_html_escape(out, report_skm_cell(t, from, SKM_UNIT));
    if (view_table_cell(t, from, SKM_TEXT)) {
        fputs(" &mdash; ", out);
        report_html_escape(out, view_table_cell(t, from, SKM_TEXT));
    }
    fputs("</h2>\n<p>Jumlah responden: <strong class=\"respondents\">", out);
    report_html_escape(out, report_skm_cell(t, from, SKM_N));
    fputs("</strong></p>\n", out);

    bool profile = false;
    for (size_t r = from; r < to; r++) {
        if (!report_skm_is(t, r, "profile"))
            continue;
        if (!profile)
            fputs("<h3>Profil responden</h3>\n<table "
                  "class=\"profile\"><thead><tr><th>Profil</th><th>Jumlah</th>"
                  "</tr></thead><tbody>\n",
                  out);
        profile = true;
        fputs("<tr>", out);
        report_skm_td(out, report_skm_cell(t, r, SKM_LABEL), false);
        report_skm_td(out, report_skm_cell(t, r, SKM_N), true);
        fputs("</tr>\n", out);
    }
    if (profile)
        fputs("</tbody></table>\n", out);
    else
        fputs("<p>Profil responden ditampilkan mulai " REPORT_SKM_MIN_PROFILE_STR " responden.</p>\n", out);

    fputs(
        "<h3>Nilai per unsur pelayanan</h3>\n<table class=\"elements\"><thead><tr><th>Unsur</th><th>Nama</th>"
        "<th>NRR</th><th>NRR tertimbang</th><th>Nilai (NRR x 25)</th><th>Mutu</th></tr></thead><tbody>\n",
        out);
    for (size_t r = from; r < to; r++) {
        if (!report_skm_is(t, r, "element") && !report_skm_is(t, r, "total"))
            continue;
        bool total = report_skm_is(t, r, "total");
        fputs(total ? "<tr class=\"total\">" : "<tr>", out);
        report_skm_td(out, total ? "" : report_skm_cell(t, r, SKM_ITEM), false);
        report_skm_td(out, report_skm_cell(t, r, SKM_LABEL), false);
        report_skm_td(out, total ? "" : report_skm_cell(t, r, SKM_NRR), true);
        report_skm_td(out, report_skm_cell(t, r, SKM_WEIGHTED), true);
        report_skm_td(out, total ? "" : report_skm_cell(t, r, SKM_VALUE), true);
        report_skm_td(out, total ? "" : report_skm_cell(t, r, SKM_MUTU), false);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);

    for (size_t r = from; r < to; r++) {
        if (!report_skm_is(t, r, "ikm"))
            continue;
        if (!view_table_cell(t, r, SKM_VALUE)) {
            fputs("<p class=\"no-ikm\">Belum ada survei SKM pada periode ini.</p>\n", out);
            continue;
        }
        fputs("<p class=\"ikm\">IKM unit pelayanan: <strong>", out);
        report_html_escape(out, report_skm_cell(t, r, SKM_VALUE));
        fputs("</strong>, mutu <strong>", out);
        report_html_escape(out, report_skm_cell(t, r, SKM_MUTU));
        fputs("</strong> (", out);
        report_html_escape(out, report_skm_cell(t, r, SKM_TEXT));
        fputs(")</p>\n", out);
    }
    bool weakest = false;
    for (size_t r = from; r < to; r++) {
        if (!report_skm_is(t, r, "weakest"))
            continue;
        fputs(weakest ? "; " : "<p class=\"weakest\">Unsur dengan nilai terendah: ", out);
        weakest = true;
        report_html_escape(out, report_skm_cell(t, r, SKM_LABEL));
        fputs(" (", out);
        report_html_escape(out, report_skm_cell(t, r, SKM_VALUE));
        fputs(")", out);
    }
    if (weakest)
        fputs("</p>\n", out);

    fputs("<h3>Saran dan masukan</h3>\n", out);
    bool comments = false;
    for (size_t r = from; r < to; r++) {
        if (report_skm_is(t, r, "comments")) {
            fputs("<p>Jumlah: ", out);
            report_html_escape(out, report_skm_cell(t, r, SKM_N));
            fputs("</p>\n", out);
        } else if (report_skm_is(t, r, "comment")) {
            fputs(comments ? "" : "<ul class=\"comments\">\n", out);
            comments = true;
            fputs("<li>", out);
            report_html_escape(out, report_skm_cell(t, r, SKM_TEXT));
            fputs(" <small>(", out);
            report_html_escape(out, report_skm_cell(t, r, SKM_LABEL));
            fputs(")</small></li>\n", out);
        }
    }
    if (comments)
        fputs("</ul>\n", out);
    fputs("</section>\n", out);
}

/* The SKM report as a page in the regulation's order, one section a unit; every value
 * escaped (a citizen's comment is untrusted text). */
static void report_render_skm_html(FILE *out, const struct view_table *t)
{
    if (t->ncols != SKM_COLS) { /* not the table this page knows: the plain one */
        report_render_html(out, t);
        return;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"id\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    report_html_escape(out, t->title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em}\n"
          "table{border-collapse:collapse;margin:.5em 0}\n"
          "th,td{border:1px solid #999;padding:.25em .6em}\n"
          "th{background:#eee;text-align:left}\n"
          "td.n{text-align:right}\n"
          "tr.total td{font-weight:bold}\n"
          "</style>\n</head>\n<body>\n<h1>",
          out);
    report_html_escape(out, t->title);
    fputs("</h1>\n", out);
    for (size_t from = 0; from < t->nrows;) {
        size_t to = from + 1;
        while (to < t->nrows && !report_skm_is(t, to, "respondents"))
            to++;
        report_skm_unit_html(out, t, from, to);
        from = to;
    }
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
                      long top, bool provisional, const char *unit)
{
    struct view_report_opts o = {.unit = unit, .top = top, .provisional = provisional};
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
    } else if (kind == REPORT_SKM && fmt == REPORT_HTML) {
        report_render_skm_html(stdout, &t);
        if (ferror(stdout)) {
            fprintf(stderr, "kinerja report: output error\n");
            rc = CLI_FAIL;
        }
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
    const char *unit = NULL;
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
        } else if (!strcmp(a, "--unit") && i + 1 < argc) {
            unit = argv[++i];
            if (!*unit) {
                fprintf(stderr, "kinerja report: --unit must not be empty\n");
                return CLI_USAGE;
            }
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
                fprintf(stderr,
                        "kinerja report: unknown report '%s' (unit, awards, training, public, angka-kredit, "
                        "curve, "
                        "skm)\n",
                        a);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "kinerja report: one report at a time, got '%s' too\n", a);
            return CLI_USAGE;
        }
    }
    if (kind < 0 || !period) {
        fprintf(stderr, "kinerja report: %s\n",
                kind < 0 ? "which report? (unit, awards, training, public, angka-kredit, curve, skm)"
                         : "--period missing");
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
    int rc = report_run(db, (enum report_kind)kind, (enum report_format)fmt, period, top, provisional, unit);
    pgstore_destroy(&db);
    return rc;
}
