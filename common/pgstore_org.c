/*
 * pgstore_org: the organisation import (SPEC 4): the CSV checked row by row
 * (common/csvread.c reads it), then COPY into a staging table and set-based upserts in
 * one transaction.
 */
#include "pgstore.h"
#include "pgstore_int.h"

#include "buf.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csvread.h"

/* Organisation CSV (SPEC 4). */
#define ORG_NAME_MAX 200
#define ORG_POSITION_MAX 200
#define ORG_JOB_FAMILY_MAX 64
#define ORG_UNIT_NAME_MAX 200
#define ORG_AK_COEFFICIENT_MAX 1000.0 /* an annual coefficient; PerBKN 3/2023's largest is 50 */
#define ORG_AK_DECIMALS_MAX 3         /* employees.ak_coefficient is numeric(8, 3) */
#define ORG_COPY_MAX (512u * 1024 * 1024)
#define ORG_ROWS_MAX 5000000

/* The six required columns, then the optional ones (SPEC 4): a header may leave those
 * out or name them in any order. */
enum org_column {
    ORG_NIP,
    ORG_NAME,
    ORG_UNIT,
    ORG_POSITION,
    ORG_SUPERVISOR,
    ORG_JOB_FAMILY,
    ORG_UNIT_NAME,      /* optional: the unit's name (units.name); empty keeps the stored one */
    ORG_AK_COEFFICIENT, /* optional: the position's annual angka kredit coefficient, >= 0 */
    ORG_COLUMNS
};
#define ORG_REQUIRED_COLUMNS 6
static const char *const org_column_names[ORG_COLUMNS] = {
    "nip", "name", "unit", "position", "supervisor_nip", "job_family", "unit_name", "ak_coefficient"};

struct org_nip {
    char nip[EVENT_NIP_LEN + 1];
    long line;
};

static int org_nip_cmp(const void *a, const void *b)
{
    const struct org_nip *x = a, *y = b;
    int c = strcmp(x->nip, y->nip);
    if (c)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

/* Checks one field's text; writes "line N: field: why" into err. */
static int org_check_text(const char *v, const char *field, size_t max, bool required, long line, char *err,
                          size_t errlen)
{
    size_t n = strlen(v);
    if (required && n == 0) {
        snprintf(err, errlen, "line %ld: %s: required", line, field);
        return -1;
    }
    if (n > max) {
        snprintf(err, errlen, "line %ld: %s: longer than %zu bytes", line, field, max);
        return -1;
    }
    if (!event_valid_utf8(v, n)) {
        snprintf(err, errlen, "line %ld: %s: not valid UTF-8", line, field);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t') {
            snprintf(err, errlen, "line %ld: %s: contains a control character", line, field);
            return -1;
        }
    }
    return 0;
}

static int org_check_nip(const char *v, const char *field, long line, char *err, size_t errlen)
{
    if (!event_valid_nip(v, strlen(v))) {
        snprintf(err, errlen, "line %ld: %s: must be %d digits, got '%.40s'", line, field, EVENT_NIP_LEN, v);
        return -1;
    }
    return 0;
}

/* Maps header names to columns; col[k] = the field index of column k, -1 for an
 * optional column the header leaves out. */
static int org_read_header(const struct csv_record *rec, int col[ORG_COLUMNS], char *err, size_t errlen)
{
    for (int k = 0; k < ORG_COLUMNS; k++)
        col[k] = -1;
    for (size_t i = 0; i < rec->nfields; i++) {
        const char *name = csv_trim(rec->field[i]);
        int k = 0;
        while (k < ORG_COLUMNS && strcmp(name, org_column_names[k]) != 0)
            k++;
        if (k == ORG_COLUMNS) {
            snprintf(
                err, errlen,
                "line %ld: header: unknown column '%.40s' (expected nip,name,unit,position,supervisor_nip,"
                "job_family, optionally unit_name,ak_coefficient)",
                rec->line, name);
            return -1;
        }
        if (col[k] >= 0) {
            snprintf(err, errlen, "line %ld: header: column %s appears twice", rec->line, name);
            return -1;
        }
        col[k] = (int)i;
    }
    for (int k = 0; k < ORG_REQUIRED_COLUMNS; k++) {
        if (col[k] < 0) {
            snprintf(err, errlen, "line %ld: header: missing column %s", rec->line, org_column_names[k]);
            return -1;
        }
    }
    return 0;
}

/*
 * ak_coefficient: a plain decimal >= 0 ("12.5", "0"), at most ORG_AK_DECIMALS_MAX
 * decimals and ORG_AK_COEFFICIENT_MAX; no sign, exponent or comma (a decimal comma
 * "12,5" would have split the CSV field anyway). Empty is allowed (no coefficient).
 */
static int org_check_ak_coefficient(const char *v, long line, char *err, size_t errlen)
{
    if (!*v)
        return 0;
    const char *p = v;
    size_t digits = 0, decimals = 0;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, decimals++;
    }
    if (*p || digits == 0 || (p[-1] == '.')) {
        snprintf(err, errlen, "line %ld: ak_coefficient: must be a number >= 0 such as 12.5, got '%.40s'",
                 line, v);
        return -1;
    }
    if (decimals > ORG_AK_DECIMALS_MAX || strtod(v, NULL) > ORG_AK_COEFFICIENT_MAX) {
        snprintf(err, errlen, "line %ld: ak_coefficient: at most %d decimals and %.0f, got '%.40s'", line,
                 ORG_AK_DECIMALS_MAX, ORG_AK_COEFFICIENT_MAX, v);
        return -1;
    }
    return 0;
}

/* Validates one data record and appends it to the COPY buffer (line, then the eight
 * columns; empty fields and optional columns the header left out become NULL).
 * nheader is the number of fields of the header. */
static int org_read_row(const struct csv_record *rec, const int col[ORG_COLUMNS], size_t nheader,
                        struct buf *copy, struct org_nip *nip_out, char *err, size_t errlen)
{
    if (rec->nfields != nheader) {
        snprintf(err, errlen, "line %ld: expected %zu fields, got %zu", rec->line, nheader, rec->nfields);
        return -1;
    }
    const char *v[ORG_COLUMNS];
    for (int k = 0; k < ORG_COLUMNS; k++)
        v[k] = col[k] >= 0 ? csv_trim(rec->field[col[k]]) : "";
    long line = rec->line;
    if (org_check_nip(v[ORG_NIP], "nip", line, err, errlen) < 0 ||
        org_check_text(v[ORG_NAME], "name", ORG_NAME_MAX, true, line, err, errlen) < 0 ||
        org_check_text(v[ORG_UNIT], "unit", EVENT_UNIT_MAX, true, line, err, errlen) < 0 ||
        org_check_text(v[ORG_POSITION], "position", ORG_POSITION_MAX, false, line, err, errlen) < 0 ||
        org_check_text(v[ORG_JOB_FAMILY], "job_family", ORG_JOB_FAMILY_MAX, false, line, err, errlen) < 0 ||
        org_check_text(v[ORG_UNIT_NAME], "unit_name", ORG_UNIT_NAME_MAX, false, line, err, errlen) < 0 ||
        org_check_ak_coefficient(v[ORG_AK_COEFFICIENT], line, err, errlen) < 0)
        return -1;
    if (*v[ORG_SUPERVISOR]) {
        const char *sup = v[ORG_SUPERVISOR];
        if (!event_valid_nip(sup, strlen(sup)) && !event_valid_evaluator_id(sup, strlen(sup))) {
            snprintf(err, errlen,
                     "line %ld: supervisor_nip: must be %d digits or an evaluator id (1..%d of A-Z a-z 0-9 . "
                     "_ : -, "
                     "not all digits), got '%.40s'",
                     line, EVENT_NIP_LEN, EVENT_EVALUATOR_ID_MAX, sup);
            return -1;
        }
        if (!strcmp(v[ORG_SUPERVISOR], v[ORG_NIP])) {
            snprintf(err, errlen, "line %ld: supervisor_nip: %s cannot supervise themself", line, v[ORG_NIP]);
            return -1;
        }
    }
    snprintf(nip_out->nip, sizeof nip_out->nip, "%s", v[ORG_NIP]);
    nip_out->line = line;

    int rc = buf_printf(copy, "%ld", line);
    for (int k = 0; k < ORG_COLUMNS; k++)
        rc |= *v[k] ? copy_put_str(copy, false, v[k]) : copy_put_str(copy, false, NULL);
    rc |= buf_putc(copy, '\n');
    if (rc) {
        snprintf(err, errlen, "line %ld: file too large (more than %u bytes of data)", line, ORG_COPY_MAX);
        return -1;
    }
    return 0;
}

/* Reads and validates the whole file into COPY data. Returns the row count or -1. */
static long org_parse(FILE *csv, struct buf *copy, bool *ak_given, char *err, size_t errlen)
{
    struct csv_reader r = {.f = csv, .line = 1, .at_start = true};
    struct csv_record *rec = malloc(sizeof *rec);
    struct org_nip *nips = NULL;
    size_t nnips = 0, capnips = 0;
    long rows = -1;
    if (!rec) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int col[ORG_COLUMNS];
    int got = csv_read_record(&r, rec, err, errlen);
    if (got == 0)
        snprintf(err, errlen, "line 1: header: missing (empty file)");
    if (got <= 0 || org_read_header(rec, col, err, errlen) < 0)
        goto done;
    size_t nheader = rec->nfields;
    *ak_given = col[ORG_AK_COEFFICIENT] >= 0;
    while ((got = csv_read_record(&r, rec, err, errlen)) > 0) {
        if (nnips == capnips) {
            if (capnips >= ORG_ROWS_MAX) {
                snprintf(err, errlen, "line %ld: more than %d employees", rec->line, ORG_ROWS_MAX);
                goto done;
            }
            size_t cap = capnips ? capnips * 2 : 1024;
            struct org_nip *p = realloc(nips, cap * sizeof *p);
            if (!p) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            nips = p;
            capnips = cap;
        }
        if (org_read_row(rec, col, nheader, copy, &nips[nnips], err, errlen) < 0)
            goto done;
        nnips++;
    }
    if (got < 0)
        goto done;
    if (ferror(csv)) {
        snprintf(err, errlen, "read error: %s", strerror(errno));
        goto done;
    }
    qsort(nips, nnips, sizeof *nips, org_nip_cmp);
    for (size_t i = 1; i < nnips; i++) {
        if (!strcmp(nips[i].nip, nips[i - 1].nip)) {
            snprintf(err, errlen, "line %ld: nip: %s appears again (first on line %ld)", nips[i].line,
                     nips[i].nip, nips[i - 1].line);
            goto done;
        }
    }
    rows = (long)nnips;
done:
    free(nips);
    free(rec);
    return rows;
}

static const char org_staging_sql[] =
    "CREATE TEMP TABLE org_staging ("
    " line bigint, nip text, name text, unit text, position text, supervisor_nip text, job_family text,"
    " unit_name text, ak_coefficient numeric(8, 3)"
    ") ON COMMIT DROP";

/* The first row that names its unit otherwise than an earlier row of the file. */
static const char org_unit_name_conflict_sql[] =
    "SELECT s.line, format('unit_name: unit %s is named ''%s'' on line %s and ''%s'' here', s.unit,"
    "  s.first_name, s.first_line, s.unit_name)"
    " FROM (SELECT line, unit, unit_name, first_value(unit_name) OVER w AS first_name,"
    "        first_value(line) OVER w AS first_line"
    "       FROM org_staging WHERE unit_name IS NOT NULL WINDOW w AS (PARTITION BY unit ORDER BY line)) s"
    " WHERE s.unit_name <> s.first_name ORDER BY s.line LIMIT 1";

/* The first row whose supervisor is neither in the file nor in the database. */
static const char org_unknown_supervisor_sql[] =
    "SELECT s.line, s.supervisor_nip FROM org_staging s"
    " WHERE s.supervisor_nip IS NOT NULL"
    "   AND NOT EXISTS (SELECT 1 FROM org_staging t WHERE t.nip = s.supervisor_nip)"
    "   AND NOT EXISTS (SELECT 1 FROM employees e WHERE e.nip = s.supervisor_nip)"
    "   AND NOT EXISTS (SELECT 1 FROM evaluators v WHERE v.id = s.supervisor_nip)"
    " ORDER BY s.line LIMIT 1";

/* A unit_name given renames the unit; none (column absent or empty) keeps its name. */
static const char org_upsert_units_sql[] =
    "INSERT INTO units (code, name) SELECT unit, max(unit_name) FROM org_staging GROUP BY unit"
    " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name"
    " WHERE EXCLUDED.name IS NOT NULL AND units.name IS DISTINCT FROM EXCLUDED.name";

/* AK: what ak_coefficient becomes on update: the file's value when the header has the
 * column (empty = none), else the stored one (a file without the column changes none). */
#define ORG_UPSERT_EMPLOYEES_SQL(AK)                                                                         \
    "INSERT INTO employees (nip, name, unit, position, supervisor_nip, job_family, ak_coefficient)"          \
    " SELECT nip, name, unit, position, supervisor_nip, job_family, ak_coefficient FROM org_staging"         \
    " ON CONFLICT (nip) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit,"                           \
    "  position = EXCLUDED.position, supervisor_nip = EXCLUDED.supervisor_nip,"                              \
    "  job_family = EXCLUDED.job_family, ak_coefficient = " AK ", updated_at = now()"                        \
    " WHERE (employees.name, employees.unit, employees.position, employees.supervisor_nip,"                  \
    "  employees.job_family, employees.ak_coefficient)"                                                      \
    "  IS DISTINCT FROM"                                                                                     \
    "  (EXCLUDED.name, EXCLUDED.unit, EXCLUDED.position, EXCLUDED.supervisor_nip, EXCLUDED.job_family, " AK  \
    ")"
static const char org_upsert_employees_ak_sql[] = ORG_UPSERT_EMPLOYEES_SQL("EXCLUDED.ak_coefficient");
static const char org_upsert_employees_sql[] = ORG_UPSERT_EMPLOYEES_SQL("employees.ak_coefficient");

/* After the upsert: the first imported employee who is their own (indirect) supervisor.
 * Any new cycle passes through an imported row, so walking up from those is enough;
 * CYCLE stops walks that enter an older loop elsewhere. */
static const char org_cycle_sql[] =
    "WITH RECURSIVE walk (start, nip, chain) AS ("
    "  SELECT e.nip, e.supervisor_nip, e.nip || ' -> ' || e.supervisor_nip"
    "  FROM org_staging s JOIN employees e ON e.nip = s.nip WHERE e.supervisor_nip IS NOT NULL"
    " UNION ALL"
    "  SELECT w.start, e.supervisor_nip, w.chain || ' -> ' || e.supervisor_nip"
    "  FROM walk w JOIN employees e ON e.nip = w.nip"
    "  WHERE e.supervisor_nip IS NOT NULL AND w.nip <> w.start"
    ") CYCLE nip SET looped USING path "
    "SELECT s.line, w.chain FROM walk w JOIN org_staging s ON s.nip = w.start"
    " WHERE w.nip = w.start ORDER BY s.line LIMIT 1";

/* Runs a query expected to return at most one row of (line, text). Returns 1 when a row
 * came back (copied into line/text), 0 when none, -1 on error. */
static int org_query_first(struct pgstore *db, const char *sql, const char *what, long *line, char *text,
                           size_t textlen)
{
    PGresult *res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, what);
        PQclear(res);
        return -1;
    }
    int found = PQntuples(res) > 0;
    if (found) {
        *line = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(text, textlen, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

static int org_command_rows(struct pgstore *db, const char *sql, const char *what, size_t *rows)
{
    PGresult *res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgstore_fail(db, res, what);
        PQclear(res);
        return -1;
    }
    *rows = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

int pgstore_org_import(struct pgstore *db, FILE *csv, const char *filename, struct org_import_counts *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (pgstore_require_conn(db) < 0)
        return -1;
    (void)filename; /* errors name lines; the caller names the file */

    struct buf copy;
    buf_init(&copy, ORG_COPY_MAX);
    char err[sizeof db->errstr];
    bool ak_given = false;
    long nrows = org_parse(csv, &copy, &ak_given, err, sizeof err);
    if (nrows < 0) {
        buf_free(&copy);
        return pgstore_fail_data(db, "%s", err);
    }

    struct org_import_counts c = {0};
    long line = 0;
    char text[400];
    int found;
    if (pgstore_exec(db, "BEGIN", "org import") < 0 || pgstore_exec(db, org_staging_sql, "org import") < 0 ||
        copy_start(db, "COPY org_staging FROM STDIN", "org import: copy") < 0)
        goto fail;
    /* Send in chunks: PQputCopyData takes an int length. */
    for (size_t off = 0; off < copy.len;) {
        size_t n = copy.len - off < PGSTORE_COPY_CHUNK ? copy.len - off : PGSTORE_COPY_CHUNK;
        if (PQputCopyData(db->conn, copy.data + off, (int)n) != 1) {
            pgstore_fail(db, NULL, "org import: copy");
            goto fail;
        }
        off += n;
    }
    if (copy_finish(db, "org import: copy") < 0)
        goto fail;

    found = org_query_first(db, org_unknown_supervisor_sql, "org import", &line, text, sizeof text);
    if (found < 0)
        goto fail;
    if (found) {
        pgstore_fail_data(
            db,
            "line %ld: supervisor_nip: unknown NIP or evaluator id %s (not in the file, not stored, not an "
            "evaluator: import evaluators first with kinerja org import --evaluators)",
            line, text);
        goto fail;
    }
    found = org_query_first(db, org_unit_name_conflict_sql, "org import", &line, text, sizeof text);
    if (found < 0)
        goto fail;
    if (found) {
        pgstore_fail_data(db, "line %ld: %s", line, text);
        goto fail;
    }
    if (org_command_rows(db, org_upsert_units_sql, "org import: units", &c.units) < 0 ||
        org_command_rows(db, ak_given ? org_upsert_employees_ak_sql : org_upsert_employees_sql,
                         "org import: employees", &c.employees) < 0)
        goto fail;
    c.unchanged = (size_t)nrows - c.employees;

    found = org_query_first(db, org_cycle_sql, "org import: cycle check", &line, text, sizeof text);
    if (found < 0)
        goto fail;
    if (found) {
        pgstore_fail_data(db, "line %ld: supervisor_nip: cycle in the supervisor chain: %s", line, text);
        goto fail;
    }
    if (pgstore_commit(db, "org import: commit") < 0)
        goto fail;
    buf_free(&copy);
    if (out)
        *out = c;
    return 0;
fail:
    buf_free(&copy);
    pgstore_rollback(db);
    return -1;
}
