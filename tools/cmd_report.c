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
 * unit and public reports in SPEC 9's nested shape, the others as flat objects).
 */
#include "buf.h"
#include "cli.h"
#include "event.h"
#include "resultstore.h"
#include "score.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_DEFAULT_TOP 3
#define REPORT_TOP_MAX 100000
#define REPORT_PUBLIC_MIN_RESULTS 5 /* decided results a unit needs before its distribution is public */
#define REPORT_TRUST_MIN_RATERS 3   /* non-self raters a result needs to be trusted for awards */
#define REPORT_CELL_MAX 64          /* bytes of a formatted number or count */
#define REPORT_JSON_MAX (1u << 30)  /* bound of the JSON output buffer */
#define REPORT_CSV_FORMULA_LEADS "=+-@\t\r" /* first characters a spreadsheet takes as a formula */
#define REPORT_STR_(x) #x
#define REPORT_STR(x) REPORT_STR_(x)

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
        "  --period P   YYYY-MM or YYYY (required)\n"
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

/* BOOL cells hold "true" / "false": JSON booleans, "yes" / "no" for people. */
enum report_col_kind { REPORT_COL_TEXT, REPORT_COL_NUMBER, REPORT_COL_BOOL };

struct report_column {
    const char *name;
    enum report_col_kind kind;
};

/* nrows x ncols cells of malloc'd text; NULL = no value (JSON null, "-" in a table). */
struct report_table {
    char title[256];
    const struct report_column *cols;
    size_t ncols;
    char **cells;
    size_t nrows, cap;
    const char *note; /* a line under the table, or NULL */
    bool oom;
};

static void report_table_free(struct report_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* Appends a row of ncols cells (copied; NULL allowed). Records oom on failure. */
static void report_add_row(struct report_table *t, const char *const *cells)
{
    if (t->oom)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **p = realloc(t->cells, cap * t->ncols * sizeof *p);
        if (!p) {
            t->oom = true;
            return;
        }
        t->cells = p;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        row[c] = NULL;
        if (cells[c] && !(row[c] = strdup(cells[c])))
            t->oom = true;
    }
    t->nrows++;
}

static const char *report_cell(const struct report_table *t, size_t r, size_t c)
{
    return t->cells[r * t->ncols + c];
}

/* A cell as people read it: "-" for no value, "yes" / "no" for a BOOL. */
static const char *report_shown(const struct report_table *t, size_t c, const char *v)
{
    if (!v)
        return "-";
    if (t->cols[c].kind == REPORT_COL_BOOL)
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

static void report_render_text(FILE *out, const struct report_table *t)
{
    size_t *w = calloc(t->ncols, sizeof *w);
    if (!w)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = report_width(t->cols[c].name);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = report_width(report_shown(t, c, report_cell(t, r, c)));
            if (n > w[c])
                w[c] = n;
        }
    }
    fprintf(out, "%s\n\n", t->title);
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = r == 0 ? t->cols[c].name : report_shown(t, c, report_cell(t, r - 1, c));
            size_t pad = w[c] - report_width(v);
            bool right = t->cols[c].kind == REPORT_COL_NUMBER;
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

static void report_render_csv(FILE *out, const struct report_table *t)
{
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', out);
            if (r == 0)
                report_csv_field(out, t->cols[c].name, false);
            else
                report_csv_field(out, report_cell(t, r - 1, c), t->cols[c].kind == REPORT_COL_NUMBER);
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

static void report_render_html(FILE *out, const struct report_table *t)
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
            const char *v = report_cell(t, r, c);
            fputs(t->cols[c].kind == REPORT_COL_NUMBER ? "<td class=\"n\">" : "<td>", out);
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

static int report_json_str(struct buf *b, const char *s)
{
    if (!s)
        return buf_puts(b, "null");
    if (buf_putc(b, '"') < 0 || buf_json_escape(b, s, strlen(s)) < 0)
        return -1;
    return buf_putc(b, '"');
}

/* Flat objects, one per row; number cells are emitted as they are (they were
 * formatted by this file as JSON numbers). */
static int report_table_json(struct buf *b, const struct report_table *t)
{
    int rc = buf_putc(b, '[');
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        rc |= buf_puts(b, r ? ",{" : "{");
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = report_cell(t, r, c);
            rc |= buf_puts(b, c ? ",\"" : "\"");
            rc |= buf_puts(b, t->cols[c].name);
            rc |= buf_puts(b, "\":");
            rc |= t->cols[c].kind != REPORT_COL_TEXT && v ? buf_puts(b, v) : report_json_str(b, v);
        }
        rc |= buf_putc(b, '}');
    }
    rc |= buf_putc(b, ']');
    return rc < 0 ? -1 : 0;
}

static int report_emit(const struct report_table *t, enum report_format fmt, struct buf *json)
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
        if (!json) {
            struct buf b;
            buf_init(&b, REPORT_JSON_MAX);
            int rc = report_table_json(&b, t);
            if (rc == 0) {
                fwrite(b.data, 1, b.len, stdout);
                fputc('\n', stdout);
            }
            buf_free(&b);
            if (rc < 0)
                return -1;
        } else {
            fwrite(json->data, 1, json->len, stdout);
            fputc('\n', stdout);
        }
        break;
    }
    return ferror(stdout) ? -1 : 0;
}

/* ---------------------------------------------------------------- unit and public */

static const struct report_column report_unit_cols[] = {
    {"unit", REPORT_COL_TEXT},
    {"name", REPORT_COL_TEXT},
    {"ikm", REPORT_COL_NUMBER},
    {"mutu", REPORT_COL_TEXT},
    {"ikm_n", REPORT_COL_NUMBER},
    {"satisfaction", REPORT_COL_NUMBER},
    {"satisfaction_n", REPORT_COL_NUMBER},
    {"results", REPORT_COL_NUMBER},
    {"sangat_baik", REPORT_COL_NUMBER},
    {"baik", REPORT_COL_NUMBER},
    {"butuh_perbaikan", REPORT_COL_NUMBER},
    {"kurang", REPORT_COL_NUMBER},
    {"sangat_kurang", REPORT_COL_NUMBER},
};
#define REPORT_UNIT_COLS (sizeof report_unit_cols / sizeof report_unit_cols[0])
#define REPORT_UNIT_RESULTS 7
#define REPORT_UNIT_FIRST_PREDIKAT 8

/* The public report: the same columns, its counts over signed results only. */
static const struct report_column report_public_cols[] = {
    {"unit", REPORT_COL_TEXT},
    {"name", REPORT_COL_TEXT},
    {"ikm", REPORT_COL_NUMBER},
    {"mutu", REPORT_COL_TEXT},
    {"ikm_n", REPORT_COL_NUMBER},
    {"satisfaction", REPORT_COL_NUMBER},
    {"satisfaction_n", REPORT_COL_NUMBER},
    {"signed_results", REPORT_COL_NUMBER},
    {"sangat_baik", REPORT_COL_NUMBER},
    {"baik", REPORT_COL_NUMBER},
    {"butuh_perbaikan", REPORT_COL_NUMBER},
    {"kurang", REPORT_COL_NUMBER},
    {"sangat_kurang", REPORT_COL_NUMBER},
};
_Static_assert(sizeof report_public_cols == sizeof report_unit_cols, "public and unit reports share a row");

struct report_units {
    bool public_only;
    struct report_table table;
    struct buf json; /* the nested SPEC 9 shape, built alongside */
    size_t n;
    int rc;
};

static long long report_signed_decided(const struct resultstore_unit *u)
{
    long long n = 0;
    for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
        n += u->signed_predikat[k];
    return n;
}

/* The unit report counts every current result; the public one signed results only. */
static int report_unit_json(struct buf *b, const struct resultstore_unit *u, bool public_only,
                            bool show_predikat, size_t index)
{
    const long long *counts = public_only ? u->signed_predikat : u->predikat;
    int rc = buf_puts(b, index ? ",{\"unit\":" : "{\"unit\":");
    rc |= report_json_str(b, u->unit);
    rc |= buf_puts(b, ",\"name\":");
    rc |= report_json_str(b, u->name);
    rc |= buf_puts(b, ",\"ikm\":");
    if (u->has_ikm) {
        rc |= buf_printf(b, "{\"value\":%.2f,\"mutu\":", u->ikm);
        rc |= report_json_str(b, u->mutu);
        rc |= buf_printf(b, ",\"n\":%d}", u->skm_n);
    } else {
        rc |= buf_puts(b, "null");
    }
    rc |= buf_puts(b, ",\"satisfaction\":{\"mean\":");
    if (u->has_satisfaction)
        rc |= buf_printf(b, "%.2f", u->satisfaction);
    else
        rc |= buf_puts(b, "null");
    rc |= buf_printf(b, ",\"n\":%d},\"results\":%lld,\"signed_results\":%lld,", u->counted, u->results,
                     u->signed_results);
    if (public_only)
        rc |= buf_puts(b, "\"predikat_basis\":\"signed\",");
    rc |= buf_puts(b, "\"predikat\":");
    if (show_predikat) {
        for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
            rc |= buf_printf(b, "%s\"%s\":%lld", k ? "," : "{", event_predikat_codes[k], counts[k]);
        rc |= buf_putc(b, '}');
    } else {
        rc |= buf_puts(b, "null");
    }
    rc |= buf_putc(b, '}');
    return rc < 0 ? -1 : 0;
}

static int report_collect_unit(const struct resultstore_unit *u, void *ctx)
{
    struct report_units *ru = ctx;
    bool show = !ru->public_only || report_signed_decided(u) >= REPORT_PUBLIC_MIN_RESULTS;
    const long long *counts = ru->public_only ? u->signed_predikat : u->predikat;
    char num[REPORT_UNIT_COLS][REPORT_CELL_MAX];
    const char *cells[REPORT_UNIT_COLS] = {u->unit, u->name};
    if (u->has_ikm) {
        snprintf(num[2], sizeof num[2], "%.2f", u->ikm);
        cells[2] = num[2];
        cells[3] = u->mutu;
    }
    snprintf(num[4], sizeof num[4], "%d", u->skm_n);
    cells[4] = num[4];
    if (u->has_satisfaction) {
        snprintf(num[5], sizeof num[5], "%.2f", u->satisfaction);
        cells[5] = num[5];
    }
    snprintf(num[6], sizeof num[6], "%d", u->counted);
    cells[6] = num[6];
    snprintf(num[REPORT_UNIT_RESULTS], sizeof num[REPORT_UNIT_RESULTS], "%lld",
             ru->public_only ? u->signed_results : u->results);
    cells[REPORT_UNIT_RESULTS] = num[REPORT_UNIT_RESULTS];
    for (int k = 0; k < RESULTSTORE_PREDIKATS && show; k++) {
        snprintf(num[REPORT_UNIT_FIRST_PREDIKAT + k], REPORT_CELL_MAX, "%lld", counts[k]);
        cells[REPORT_UNIT_FIRST_PREDIKAT + k] = num[REPORT_UNIT_FIRST_PREDIKAT + k];
    }
    report_add_row(&ru->table, cells);
    if (ru->table.oom || report_unit_json(&ru->json, u, ru->public_only, show, ru->n++) < 0) {
        ru->rc = -1;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- awards */

static const struct report_column report_award_cols[] = {
    {"unit", REPORT_COL_TEXT},  {"rank", REPORT_COL_NUMBER},   {"employee", REPORT_COL_TEXT},
    {"name", REPORT_COL_TEXT},  {"score", REPORT_COL_NUMBER},  {"predikat", REPORT_COL_TEXT},
    {"state", REPORT_COL_TEXT}, {"raters", REPORT_COL_NUMBER}, {"signed", REPORT_COL_BOOL},
};
#define REPORT_AWARD_COLS (sizeof report_award_cols / sizeof report_award_cols[0])

struct report_awards {
    long top;
    struct report_table table;
    char *unit;  /* unit of the rows being ranked */
    long ranked; /* in that unit so far */
    int rc;
};

/*
 * Non-self raters of a result, from its perilaku.groups: the n of the supervisor, peer
 * and subordinate groups; a group hidden by anonymity holds at least one rating.
 * Returns -1 when the groups cannot be read.
 */
static int report_raters(const char *groups_json)
{
    static const int counted[] = {SCORE_GROUP_SUPERVISOR, SCORE_GROUP_PEER, SCORE_GROUP_SUBORDINATE};
    if (!groups_json)
        return -1;
    json_t *groups = json_loads(groups_json, 0, NULL);
    if (!json_is_object(groups)) {
        json_decref(groups);
        return -1;
    }
    long long n = 0;
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
        json_t *g = json_object_get(groups, score_group_names[counted[i]]);
        if (!json_is_object(g))
            continue;
        if (!json_is_true(json_object_get(g, "shown")))
            n += 1;
        else if (json_is_integer(json_object_get(g, "n")) && json_integer_value(json_object_get(g, "n")) > 0)
            n += json_integer_value(json_object_get(g, "n"));
    }
    json_decref(groups);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

static int report_collect_award(const struct resultstore_row *r, void *ctx)
{
    struct report_awards *ra = ctx;
    const char *unit = r->unit ? r->unit : "";
    if (!ra->unit || strcmp(ra->unit, unit)) {
        free(ra->unit);
        if (!(ra->unit = strdup(unit))) {
            ra->rc = -1;
            return 1;
        }
        ra->ranked = 0;
    }
    if (ra->ranked >= ra->top || !r->has_score || !r->predikat || r->calibration)
        return 0;
    int raters = report_raters(r->groups_json);
    if (raters < REPORT_TRUST_MIN_RATERS)
        return 0;
    char rank[REPORT_CELL_MAX], score[REPORT_CELL_MAX], nraters[REPORT_CELL_MAX];
    snprintf(rank, sizeof rank, "%ld", ++ra->ranked);
    snprintf(score, sizeof score, "%.2f", r->score);
    snprintf(nraters, sizeof nraters, "%d", raters);
    const char *cells[REPORT_AWARD_COLS] = {unit,     rank,    r->employee,
                                            r->name,  score,   r->predikat,
                                            r->state, nraters, r->is_signed ? "true" : "false"};
    report_add_row(&ra->table, cells);
    if (ra->table.oom) {
        ra->rc = -1;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- training */

static const struct report_column report_training_cols[] = {
    {"employee", REPORT_COL_TEXT}, {"name", REPORT_COL_TEXT},   {"unit", REPORT_COL_TEXT},
    {"value", REPORT_COL_TEXT},    {"mean", REPORT_COL_NUMBER}, {"course", REPORT_COL_TEXT},
};
#define REPORT_TRAINING_COLS (sizeof report_training_cols / sizeof report_training_cols[0])

struct report_training {
    struct report_table table;
    size_t unreadable; /* results whose training array could not be read */
    int rc;
};

static int report_collect_training(const struct resultstore_row *r, void *ctx)
{
    struct report_training *rt = ctx;
    if (!r->training_json)
        return 0;
    json_t *arr = json_loads(r->training_json, JSON_DECODE_ANY, NULL);
    if (!json_is_array(arr)) {
        rt->unreadable++;
        json_decref(arr);
        return 0;
    }
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        const char *value = json_string_value(json_object_get(t, "value"));
        json_t *mean = json_object_get(t, "mean");
        char m[REPORT_CELL_MAX];
        if (json_is_number(mean))
            snprintf(m, sizeof m, "%.2f", json_number_value(mean));
        const char *cells[REPORT_TRAINING_COLS] = {r->employee,
                                                   r->name,
                                                   r->unit,
                                                   value,
                                                   json_is_number(mean) ? m : NULL,
                                                   json_string_value(json_object_get(t, "course"))};
        report_add_row(&rt->table, cells);
    }
    json_decref(arr);
    if (rt->table.oom) {
        rt->rc = -1;
        return 1;
    }
    return 0;
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

static int report_db_error(struct pgstore *db)
{
    fprintf(stderr, "kinerja report: PostgreSQL: %s%s\n", db->errstr,
            strstr(db->errstr, "does not exist") ? " (run `kinerja migrate`?)" : "");
    return CLI_FAIL;
}

static int report_run(struct pgstore *db, enum report_kind kind, enum report_format fmt, const char *period,
                      long top, bool provisional)
{
    int rc = 0;
    if (kind == REPORT_UNIT || kind == REPORT_PUBLIC) {
        struct report_units ru = {.public_only = kind == REPORT_PUBLIC};
        ru.table.cols = kind == REPORT_PUBLIC ? report_public_cols : report_unit_cols;
        ru.table.ncols = REPORT_UNIT_COLS;
        if (kind == REPORT_PUBLIC)
            snprintf(
                ru.table.title, sizeof ru.table.title,
                "Public unit report, period %s: predikat of signed results only (approved, appealed, final)",
                period);
        else
            snprintf(ru.table.title, sizeof ru.table.title, "Unit report, period %s", period);
        if (kind == REPORT_PUBLIC)
            ru.table.note =
                "Predikat counts are of signed results only (approved, appealed, final; the revised "
                "predikat where an appeal revised it), shown only for units with at least " REPORT_STR(
                    REPORT_PUBLIC_MIN_RESULTS) " signed results (\"-\" or null: suppressed). "
                                               "No personal data.";
        buf_init(&ru.json, REPORT_JSON_MAX);
        rc = buf_putc(&ru.json, '[');
        int q = rc < 0 ? 1 : resultstore_each_unit(db, period, report_collect_unit, &ru);
        if (q < 0)
            rc = report_db_error(db);
        else if (q > 0 || ru.rc < 0 || buf_putc(&ru.json, ']') < 0)
            rc = -1;
        else
            rc = report_emit(&ru.table, fmt, &ru.json) < 0 ? -1 : 0;
        buf_free(&ru.json);
        report_table_free(&ru.table);
    } else if (kind == REPORT_AWARDS) {
        struct report_awards ra = {.top = top};
        ra.table.cols = report_award_cols;
        ra.table.ncols = REPORT_AWARD_COLS;
        if (provisional)
            snprintf(ra.table.title, sizeof ra.table.title,
                     "PROVISIONAL awards, period %s: NOT SIGNED results (collecting, pending_signoff, "
                     "returned), top %ld per unit",
                     period, top);
        else
            snprintf(ra.table.title, sizeof ra.table.title,
                     "Awards, period %s: top %ld per unit among signed results (approved, appealed, final)",
                     period, top);
        ra.table.note =
            provisional
                ? "NOT SIGNED: these results may still change and are no ranking for awards. Ranked by "
                  "predikat, then score. Trustworthy results only: a predikat and a numeric score, no "
                  "calibration flag, at least " REPORT_STR(REPORT_TRUST_MIN_RATERS) " non-self raters."
                : "Signed results only, ranked by predikat, then score. Trustworthy results only: a "
                  "predikat and a numeric score, no calibration flag, at least " REPORT_STR(
                      REPORT_TRUST_MIN_RATERS) " non-self raters (supervisor, peers, subordinates). "
                                               "`--provisional` lists the unsigned ones.";
        int q = resultstore_each_result(db, period, RESULTSTORE_BY_PREDIKAT_SCORE,
                                        provisional ? RESULTSTORE_UNSIGNED : RESULTSTORE_SIGNED,
                                        report_collect_award, &ra);
        if (q < 0)
            rc = report_db_error(db);
        else if (q > 0 || ra.rc < 0)
            rc = -1;
        else
            rc = report_emit(&ra.table, fmt, NULL) < 0 ? -1 : 0;
        free(ra.unit);
        report_table_free(&ra.table);
    } else {
        struct report_training rt = {0};
        rt.table.cols = report_training_cols;
        rt.table.ncols = REPORT_TRAINING_COLS;
        snprintf(rt.table.title, sizeof rt.table.title, "Training recommendations, period %s", period);
        int q = resultstore_each_result(db, period, RESULTSTORE_BY_EMPLOYEE, RESULTSTORE_ALL,
                                        report_collect_training, &rt);
        if (q < 0)
            rc = report_db_error(db);
        else if (q > 0 || rt.rc < 0)
            rc = -1;
        else
            rc = report_emit(&rt.table, fmt, NULL) < 0 ? -1 : 0;
        if (rt.unreadable)
            fprintf(stderr, "kinerja report: %zu results with an unreadable training list were skipped\n",
                    rt.unreadable);
        report_table_free(&rt.table);
    }
    if (rc < 0) {
        fprintf(stderr, "kinerja report: out of memory or output error\n");
        return CLI_FAIL;
    }
    return rc;
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
        fprintf(stderr, "kinerja report: --period must be YYYY-MM or YYYY, got '%s'\n", period);
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
