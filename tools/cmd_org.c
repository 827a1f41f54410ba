/* kinerja org import FILE.csv: loads units and employees (SPEC 4) through
 * pgstore_org_import: the whole file is checked first, then upserted in one
 * transaction; a bad file changes nothing. Afterwards it warns, naming them, about
 * employees with no pejabat penilai (empty supervisor_nip): nobody could sign their
 * results, so those stay collecting and they are told so at period close
 * (schemas/0006_workflow_v2.sql).
 *
 * kinerja org import --evaluators FILE.csv: loads evaluators who are not ASN (SPEC 4, 6:
 * e.g. the regional head, the pejabat penilai of a sekda or kepala dinas), columns
 * id,name,position, upserted by id in one statement; a bad file changes nothing. Their
 * id may then stand in an employee's supervisor_nip: sign-off requests and reminders go
 * to them, they sign with `kinerja signoff ... --supervisor ID` and read `kinerja inbox
 * ID`. An id is 1..64 characters of [A-Za-z0-9._:-] with at least one that is not a
 * digit (never mistaken for an 18-digit NIP), e.g. `bupati:kupang`. */
#include "cli.h"
#include "pgstore.h"
#include "wfevent.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORG_EV_FIELD_MAX 512       /* bytes of one CSV field */
#define ORG_EV_FIELDS_MAX 16       /* columns of one record */
#define ORG_EV_ROWS_MAX 100000     /* evaluators in one file */
#define ORG_EV_TEXT_MAX 200        /* characters of a name or a position */
#define ORG_NO_SUPERVISOR_SHOWN 20 /* employees named in the warning */

static void org_usage(FILE *out)
{
    fprintf(out, "usage: kinerja org import FILE.csv   (FILE may be - for stdin)\n"
                 "       kinerja org import --evaluators FILE.csv\n"
                 "  CSV with the header nip,name,unit,position,supervisor_nip,job_family\n"
                 "  (any column order; RFC 4180 quoting; empty supervisor_nip = none).\n"
                 "  Upserts by NIP in one transaction; every row is checked first (18-digit NIP,\n"
                 "  unit present, supervisor in the file or already stored, no cycle), and a bad\n"
                 "  file changes nothing. Prints \"org import: units=U employees=E unchanged=X\":\n"
                 "  new units, employees inserted or changed, rows identical to what was stored.\n"
                 "  Warns, naming them, about employees without a supervisor: nobody can sign their\n"
                 "  results until an evaluator is named in their supervisor_nip.\n"
                 "  --evaluators: CSV with the header id,name,position (position may be empty):\n"
                 "  evaluators who are not ASN (e.g. the regional head), upserted by id. An id is\n"
                 "  1..64 of A-Z a-z 0-9 . _ : - and not all digits (e.g. bupati:kupang); it may\n"
                 "  stand in supervisor_nip. Prints \"org import: evaluators=N unchanged=X\".\n");
}

/* ---------------------------------------------------------------- a small CSV reader */

struct csv_rec {
    char field[ORG_EV_FIELDS_MAX][ORG_EV_FIELD_MAX];
    int n;
};

/* Reads one RFC 4180 record (quotes, "" inside quotes, CRLF or LF). Returns 1 with a
 * record, 0 at the end of the file, -1 with the reason in err. *line counts lines. */
static int csv_next(FILE *f, struct csv_rec *r, long *line, char *err, size_t errlen)
{
    r->n = 0;
    size_t len = 0;
    bool quoted = false, any = false;
    char *out = r->field[0];
    ++*line;
    for (;;) {
        int c = fgetc(f);
        if (c == EOF) {
            if (quoted) {
                snprintf(err, errlen, "line %ld: a quoted field is not closed", *line);
                return -1;
            }
            if (!any && r->n == 0)
                return 0;
            out[len] = '\0';
            r->n++;
            return 1;
        }
        any = true;
        if (quoted) {
            if (c == '"') {
                int d = fgetc(f);
                if (d != '"') {
                    quoted = false;
                    if (d != EOF)
                        ungetc(d, f);
                    continue;
                }
            } else if (c == '\n') {
                ++*line;
            }
        } else if (c == '"' && len == 0) {
            quoted = true;
            continue;
        } else if (c == ',' || c == '\n') {
            if (len && out[len - 1] == '\r' && c == '\n')
                len--;
            out[len] = '\0';
            r->n++;
            if (c == '\n')
                return 1;
            if (r->n >= ORG_EV_FIELDS_MAX) {
                snprintf(err, errlen, "line %ld: more than %d columns", *line, ORG_EV_FIELDS_MAX);
                return -1;
            }
            out = r->field[r->n];
            len = 0;
            continue;
        }
        if (len + 1 >= ORG_EV_FIELD_MAX) {
            snprintf(err, errlen, "line %ld: column %d: longer than %d bytes", *line, r->n + 1,
                     ORG_EV_FIELD_MAX - 1);
            return -1;
        }
        out[len++] = (char)c;
    }
}

/* ---------------------------------------------------------------- evaluators */

enum { EV_ID, EV_NAME, EV_POSITION, EV_COLUMNS };
static const char *const ev_columns[EV_COLUMNS] = {"id", "name", "position"};

/* Reads and checks the whole file into a JSON array of {line,id,name,position}.
 * Returns the array, or NULL with the reason (naming the line and field) in err. */
static json_t *org_read_evaluators(FILE *f, char *err, size_t errlen)
{
    struct csv_rec *rec = malloc(sizeof *rec);
    json_t *rows = json_array();
    json_t *seen = json_object();
    int col[EV_COLUMNS] = {-1, -1, -1};
    long line = 0;
    if (!rec || !rows || !seen) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int rc = csv_next(f, rec, &line, err, errlen);
    if (rc <= 0) {
        if (rc == 0)
            snprintf(err, errlen, "empty file: expected the header id,name,position");
        goto fail;
    }
    for (int i = 0; i < rec->n; i++) {
        int k = 0;
        while (k < EV_COLUMNS && strcmp(rec->field[i], ev_columns[k]))
            k++;
        if (k == EV_COLUMNS) {
            snprintf(err, errlen, "line 1: header: unknown column '%.40s' (expected id,name,position)",
                     rec->field[i]);
            goto fail;
        }
        if (col[k] >= 0) {
            snprintf(err, errlen, "line 1: header: column '%s' twice", ev_columns[k]);
            goto fail;
        }
        col[k] = i;
    }
    if (col[EV_ID] < 0 || col[EV_NAME] < 0) {
        snprintf(err, errlen, "line 1: header: columns id and name are required (id,name,position)");
        goto fail;
    }
    while ((rc = csv_next(f, rec, &line, err, errlen)) > 0) {
        if (rec->n == 1 && rec->field[0][0] == '\0')
            continue; /* a blank line */
        const char *v[EV_COLUMNS];
        for (int k = 0; k < EV_COLUMNS; k++)
            v[k] = col[k] >= 0 && col[k] < rec->n ? rec->field[col[k]] : "";
        if (!event_valid_evaluator_id(v[EV_ID], strlen(v[EV_ID]))) {
            snprintf(err, errlen,
                     "line %ld: id: must be 1..%d of A-Z a-z 0-9 . _ : - and not all digits (a NIP is not an "
                     "evaluator id), got '%.64s'",
                     line, EVENT_EVALUATOR_ID_MAX, v[EV_ID]);
            goto fail;
        }
        if (!v[EV_NAME][0] || strlen(v[EV_NAME]) > ORG_EV_TEXT_MAX) {
            snprintf(err, errlen, "line %ld: name: required, at most %d bytes", line, ORG_EV_TEXT_MAX);
            goto fail;
        }
        if (strlen(v[EV_POSITION]) > ORG_EV_TEXT_MAX) {
            snprintf(err, errlen, "line %ld: position: at most %d bytes", line, ORG_EV_TEXT_MAX);
            goto fail;
        }
        json_t *prev = json_object_get(seen, v[EV_ID]);
        if (prev) {
            snprintf(err, errlen, "line %ld: id: %s is already on line %lld", line, v[EV_ID],
                     (long long)json_integer_value(prev));
            goto fail;
        }
        if (json_array_size(rows) >= ORG_EV_ROWS_MAX) {
            snprintf(err, errlen, "line %ld: more than %d evaluators in one file", line, ORG_EV_ROWS_MAX);
            goto fail;
        }
        json_t *row = json_pack("{s:I,s:s,s:s,s:s?}", "line", (json_int_t)line, "id", v[EV_ID], "name",
                                v[EV_NAME], "position", v[EV_POSITION][0] ? v[EV_POSITION] : NULL);
        if (!row || json_array_append_new(rows, row) < 0 ||
            json_object_set_new(seen, v[EV_ID], json_integer((json_int_t)line)) < 0) {
            snprintf(err, errlen, "line %ld: not valid UTF-8, or out of memory", line);
            goto fail;
        }
    }
    if (rc < 0)
        goto fail;
    free(rec);
    json_decref(seen);
    return rows;
fail:
    free(rec);
    json_decref(seen);
    json_decref(rows);
    return NULL;
}

/* One statement: atomic, and idempotent (a row identical to the stored one is not
 * written). */
static const char SQL_EVALUATORS_UPSERT[] =
    "WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(line int, id text, name text, position "
    "text)),"
    " up AS (INSERT INTO evaluators AS v (id, name, position) SELECT id, name, position FROM r"
    "        ON CONFLICT (id) DO UPDATE SET name = excluded.name, position = excluded.position, updated_at = "
    "now()"
    "        WHERE (v.name, v.position) IS DISTINCT FROM (excluded.name, excluded.position)"
    "        RETURNING 1)"
    " SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM r)";

static int org_import_evaluators(struct pgstore *db, FILE *f, const char *file)
{
    char err[512];
    json_t *rows = org_read_evaluators(f, err, sizeof err);
    if (!rows) {
        fprintf(stderr, "kinerja org import --evaluators: %s: %s\n", file, err);
        return CLI_FAIL;
    }
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    if (!text) {
        fprintf(stderr, "kinerja org import --evaluators: out of memory\n");
        return CLI_FAIL;
    }
    const char *params[1] = {text};
    PGresult *res = pgstore_query(db, "evaluators", SQL_EVALUATORS_UPSERT, 1, params);
    free(text);
    if (!res) {
        fprintf(stderr, "kinerja org import --evaluators: %s: %s\n", file, db->errstr);
        return CLI_FAIL;
    }
    long long changed = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
              total = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    printf("org import: evaluators=%lld unchanged=%lld\n", changed, total - changed);
    return CLI_OK;
}

/* ---------------------------------------------------------------- employees */

static const char SQL_NO_SUPERVISOR[] = "SELECT nip, name, count(*) OVER () FROM employees"
                                        " WHERE supervisor_nip IS NULL ORDER BY nip LIMIT $1::int";

/* The warning after an employee import (SPEC 6: no result is left without someone who
 * can act on it). Not an error: the head of the organisation may be loaded before the
 * evaluator is. */
static void org_warn_no_supervisor(struct pgstore *db)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", ORG_NO_SUPERVISOR_SHOWN);
    const char *params[1] = {lim};
    PGresult *res = pgstore_query(db, "employees without a supervisor", SQL_NO_SUPERVISOR, 1, params);
    if (!res) {
        fprintf(stderr, "kinerja org import: warning: cannot list employees without a supervisor: %s\n",
                db->errstr);
        return;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        fprintf(
            stderr,
            "kinerja org import: warning: %s (%s) has no pejabat penilai (supervisor_nip empty): nobody can "
            "sign their results, which stay collecting; import an evaluator (kinerja org import "
            "--evaluators FILE.csv) and name its id in their supervisor_nip\n",
            PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    if (n > 0) {
        long long total = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        if (total > n)
            fprintf(stderr, "kinerja org import: warning: and %lld more without a supervisor\n", total - n);
    }
    PQclear(res);
}

int cmd_org(struct cli *cli, int argc, char **argv)
{
    const char *file = NULL;
    bool import = false, evaluators = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            org_usage(stdout);
            return CLI_OK;
        } else if (!import && !strcmp(argv[i], "import")) {
            import = true;
        } else if (import && !strcmp(argv[i], "--evaluators")) {
            evaluators = true;
        } else if (import && !file && (strcmp(argv[i], "-") == 0 || argv[i][0] != '-')) {
            file = argv[i];
        } else {
            fprintf(stderr, "kinerja org: unexpected argument '%s'\n", argv[i]);
            org_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!import || !file) {
        fprintf(stderr, "kinerja org: %s\n", import ? "import needs FILE.csv" : "expected 'import FILE.csv'");
        org_usage(stderr);
        return CLI_USAGE;
    }

    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "kinerja org import: %s: %s\n", file, strerror(errno));
        return CLI_FAIL;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    int rc = CLI_FAIL;
    if (!db) {
        fprintf(stderr, "kinerja org import: out of memory\n");
    } else if (db->err) {
        fprintf(stderr, "kinerja org import: PostgreSQL: %s\n", db->errstr);
    } else if (evaluators) {
        rc = org_import_evaluators(db, f, file);
    } else {
        struct org_import_counts c;
        if (pgstore_org_import(db, f, file, &c) < 0) {
            fprintf(stderr, "kinerja org import: %s: %s\n", file, db->errstr);
        } else {
            printf("org import: units=%zu employees=%zu unchanged=%zu\n", c.units, c.employees, c.unchanged);
            org_warn_no_supervisor(db);
            rc = CLI_OK;
        }
    }
    pgstore_destroy(&db);
    if (f != stdin)
        fclose(f);
    return rc;
}
