/*
 * pgstore: every PostgreSQL operation (see pgstore.h). libpq only; parameterized
 * statements or COPY in text format; the only unparameterized SQL is fixed text in
 * this file and the embedded migrations.
 */
#include "pgstore.h"

#include "buf.h"
#include "embedded.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Key of the advisory lock that serialises concurrent `kinerja migrate` runs
 * ("kinerja" in ASCII, as a bigint). */
#define PGSTORE_MIGRATE_LOCK "7731046993177153"
/* COPY data is sent in chunks of about this size. */
#define PGSTORE_COPY_CHUNK (256 * 1024)
/* Upper bound of one batch's COPY buffer (one row must fit). */
#define PGSTORE_COPY_MAX (64u * 1024 * 1024)
/* Seconds to wait for a connection unless the DSN says otherwise. */
#define PGSTORE_CONNECT_TIMEOUT_S "10"
/* Longest error text stored in dead_letters. */
#define PGSTORE_DEAD_ERROR_MAX 2000

/* Organisation CSV (SPEC 4). */
#define ORG_RECORD_MAX 4096 /* bytes in one CSV record */
#define ORG_FIELDS_MAX 16   /* fields in one record before we give up on it */
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

static void pgstore_quiet_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgres: %s", message);
}

/* ---------------------------------------------------------------- errors */

static void pgstore_clear(struct pgstore *db)
{
    db->err = 0;
    db->transient = false;
    db->errstr[0] = '\0';
}

/* libpq messages end with a newline and may span lines: one line for logs. */
static void pgstore_trim_newline(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
            s[i] = ' ';
}

/* Sets err, errstr ("what: reason") and transient from the result (may be NULL) and the
 * connection state. Always returns -1. */
int pgstore_fail(struct pgstore *db, const PGresult *res, const char *what)
{
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = db->conn ? PQerrorMessage(db->conn) : "no connection";
    if (!msg || !*msg)
        msg = "unknown error";
    snprintf(db->errstr, sizeof db->errstr, "%s: %s", what, msg);
    pgstore_trim_newline(db->errstr);
    db->err = -1;
    bool bad_conn = !db->conn || PQstatus(db->conn) != CONNECTION_OK;
    db->transient = bad_conn || !sqlstate || !strncmp(sqlstate, "40", 2) || !strncmp(sqlstate, "08", 2) ||
                    !strncmp(sqlstate, "57P", 3) || !strncmp(sqlstate, "53", 2);
    return -1;
}

/* A failure that is the data's or the caller's fault, not the server's. */
static int pgstore_fail_data(struct pgstore *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pgstore_fail_data(struct pgstore *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->errstr, sizeof db->errstr, fmt, ap);
    va_end(ap);
    db->err = -1;
    db->transient = false;
    return -1;
}

/* Ends an open transaction after a failure; keeps the error already recorded. */
static void pgstore_rollback(struct pgstore *db)
{
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return;
    /* A COPY left open must be ended before anything else can run. */
    PGresult *res;
    while ((res = PQgetResult(db->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_COPY_IN)
            PQputCopyEnd(db->conn, "aborted by client");
        else if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
            break;
    }
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        PQclear(PQexec(db->conn, "ROLLBACK"));
}

/* Runs fixed SQL that returns no rows. */
static int pgstore_exec(struct pgstore *db, const char *sql, const char *what)
{
    PGresult *res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, what);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

static int pgstore_commit(struct pgstore *db, const char *what)
{
    PGresult *res = PQexec(db->conn, "COMMIT");
    /* COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK. */
    if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        pgstore_fail(db, res, what);
        if (!db->errstr[0] || PQresultStatus(res) == PGRES_COMMAND_OK)
            snprintf(db->errstr, sizeof db->errstr, "%s: transaction rolled back", what);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

int pgstore_require_conn(struct pgstore *db)
{
    pgstore_clear(db);
    if (!pgstore_ok(db)) {
        snprintf(db->errstr, sizeof db->errstr, "not connected to PostgreSQL");
        db->err = -1;
        db->transient = true;
        return -1;
    }
    return 0;
}

const char *pgstore_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

PGresult *pgstore_query(struct pgstore *db, const char *what, const char *sql, int nparams,
                        const char *const *params)
{
    if (pgstore_require_conn(db) < 0)
        return NULL;
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, what);
        PQclear(res);
        return NULL;
    }
    return res;
}

int pgstore_each_row(struct pgstore *db, const char *what, const char *sql, int nparams,
                     const char *const *params, pgstore_row_fn fn, void *ctx)
{
    if (pgstore_require_conn(db) < 0)
        return -1;
    if (!PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0))
        return pgstore_fail(db, NULL, what);
    PGresult *res;
    if (!PQsetSingleRowMode(db->conn)) {
        while ((res = PQgetResult(db->conn)) != NULL)
            PQclear(res);
        snprintf(db->errstr, sizeof db->errstr, "%s: single-row mode refused", what);
        db->err = -1;
        return -1;
    }
    int rc = 0;
    /* every result is read, also after fn stopped, so the connection stays usable */
    while ((res = PQgetResult(db->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && rc == 0)
            rc = fn(res, ctx);
        else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0)
            rc = pgstore_fail(db, res, what);
        PQclear(res);
    }
    return rc;
}

int pgstore_check_time_zone(struct pgstore *db, const char *tz)
{
    const char *params[1] = {tz};
    PGresult *res = pgstore_query(db, "time.zone", "SELECT now() AT TIME ZONE $1", 1, params);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

/* ---------------------------------------------------------------- connection */

struct pgstore *pgstore_connect(const char *dsn)
{
    struct pgstore *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    /* Defaults the DSN may override: a bounded connect wait (libpq waits forever by
     * default) and a name that shows in pg_stat_activity. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const values[] = {PGSTORE_CONNECT_TIMEOUT_S, "kinerja", dsn ? dsn : "", NULL};
    db->conn = PQconnectdbParams(keys, values, 1);
    if (!db->conn) {
        free(db);
        return NULL;
    }
    PQsetNoticeProcessor(db->conn, pgstore_quiet_notice, NULL);
    if (PQstatus(db->conn) != CONNECTION_OK)
        pgstore_fail(db, NULL, "connect");
    return db;
}

int pgstore_reconnect(struct pgstore *db)
{
    pgstore_clear(db);
    if (!db->conn)
        return pgstore_fail(db, NULL, "reconnect");
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK)
        return pgstore_fail(db, NULL, "reconnect");
    return 0;
}

bool pgstore_ok(struct pgstore *db)
{
    return db && db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

void pgstore_destroy(struct pgstore **db)
{
    if (!db || !*db)
        return;
    if ((*db)->conn)
        PQfinish((*db)->conn);
    free(*db);
    *db = NULL;
}

/* ---------------------------------------------------------------- migrations */

/* "0001_intake.sql" -> "0001_intake" */
static void pgstore_migration_version(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", name);
    size_t n = strlen(out);
    if (n > 4 && !strcmp(out + n - 4, ".sql"))
        out[n - 4] = '\0';
}

/* Applies one migration unless already recorded. *applied += 1 when it ran. */
static int pgstore_migrate_one(struct pgstore *db, const struct embedded_file *m, int *applied)
{
    char version[256];
    pgstore_migration_version(m->name, version, sizeof version);
    char what[300];
    snprintf(what, sizeof what, "migration %s", version);

    if (pgstore_exec(db, "BEGIN", what) < 0)
        return -1;
    if (pgstore_exec(db, "SELECT pg_advisory_xact_lock(" PGSTORE_MIGRATE_LOCK ")", what) < 0)
        goto fail;
    const char *params[1] = {version};
    PGresult *res = PQexecParams(db->conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
                                 params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, what);
        PQclear(res);
        goto fail;
    }
    bool done = PQntuples(res) > 0;
    PQclear(res);
    if (done)
        return pgstore_commit(db, what);

    /* The migration is our own embedded SQL (several statements), hence PQexec. It runs
     * inside our transaction, so it must not hold BEGIN/COMMIT or anything that cannot
     * run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM). */
    if (pgstore_exec(db, m->text, what) < 0)
        goto fail;
    if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS) {
        pgstore_fail_data(db, "%s: the migration ended its transaction (remove BEGIN/COMMIT from it)", what);
        goto fail;
    }
    res = PQexecParams(db->conn, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL, params, NULL,
                       NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgstore_fail(db, res, what);
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    if (pgstore_commit(db, what) < 0)
        return -1;
    (*applied)++;
    log_info("applied migration %s", version);
    return 0;
fail:
    pgstore_rollback(db);
    return -1;
}

int pgstore_migrate(struct pgstore *db, int *applied)
{
    int count = 0;
    if (applied)
        *applied = 0;
    if (pgstore_require_conn(db) < 0)
        return -1;
    /* The bookkeeping table itself, under the same lock so two first runs do not race
     * on CREATE TABLE. */
    if (pgstore_exec(db, "BEGIN", "migrate") < 0)
        return -1;
    if (pgstore_exec(db,
                     "SELECT pg_advisory_xact_lock(" PGSTORE_MIGRATE_LOCK ");"
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                     "migrate") < 0) {
        pgstore_rollback(db);
        return -1;
    }
    if (pgstore_commit(db, "migrate") < 0)
        return -1;
    for (int i = 0; embedded_migrations[i].name; i++) {
        if (pgstore_migrate_one(db, &embedded_migrations[i], &count) < 0) {
            if (applied)
                *applied = count;
            return -1;
        }
    }
    if (applied)
        *applied = count;
    return 0;
}

/* ---------------------------------------------------------------- COPY text format */

static int copy_put_null(struct buf *b)
{
    return buf_puts(b, "\\N");
}

/* Field separator (tab) before every field but the first of a line. */
static int copy_sep(struct buf *b, bool first)
{
    return first ? 0 : buf_putc(b, '\t');
}

static int copy_put_str(struct buf *b, bool first, const char *s)
{
    if (copy_sep(b, first) < 0)
        return -1;
    return s ? buf_copy_escape(b, s, strlen(s)) : copy_put_null(b);
}

static int copy_put_view(struct buf *b, bool first, struct strview v)
{
    if (copy_sep(b, first) < 0)
        return -1;
    return v.p ? buf_copy_escape(b, v.p, v.n) : copy_put_null(b);
}

static int copy_put_i64(struct buf *b, bool first, bool present, int64_t v)
{
    if (copy_sep(b, first) < 0)
        return -1;
    return present ? buf_printf(b, "%" PRId64, v) : copy_put_null(b);
}

static int copy_send(struct pgstore *db, struct buf *b, const char *what)
{
    if (b->len == 0)
        return 0;
    if (PQputCopyData(db->conn, b->data, (int)b->len) != 1)
        return pgstore_fail(db, NULL, what);
    buf_reset(b);
    return 0;
}

/* Ends COPY and reads its result. */
static int copy_finish(struct pgstore *db, const char *what)
{
    if (PQputCopyEnd(db->conn, NULL) != 1)
        return pgstore_fail(db, NULL, what);
    PGresult *res;
    int rc = 0;
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
            rc = pgstore_fail(db, res, what);
        PQclear(res);
    }
    return rc;
}

static int copy_start(struct pgstore *db, const char *sql, const char *what)
{
    PGresult *res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pgstore_fail(db, res, what);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* ---------------------------------------------------------------- ingest */

static const char ingest_staging_sql[] =
    "BEGIN;"
    "CREATE TEMP TABLE IF NOT EXISTS ingest_staging ("
    " seq int, id uuid, type text, source text, ts_ms bigint, employee text, unit text,"
    " period text, rater text, relation text, supervisor text, decider text, payload jsonb,"
    " stream_key text, stream_id text, received_ms bigint, reject_reason text, client text"
    ") ON COMMIT DELETE ROWS";

static const char ingest_copy_sql[] =
    "COPY ingest_staging (seq, id, type, source, ts_ms, employee, unit, period, rater, relation,"
    " supervisor, decider, payload, stream_key, stream_id, received_ms, reject_reason, client) FROM STDIN";

/* Text PostgreSQL can store: valid UTF-8 without NUL bytes. */
static bool pgstore_storable(const char *s, size_t n)
{
    return memchr(s, '\0', n) == NULL && event_valid_utf8(s, n);
}

/* jsonb refuses the escape \u0000; an escaped backslash before "u0000" is fine. */
static bool pgstore_json_has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 6 <= n && !memcmp(s + i + 2, "0000", 4))
            return true;
        i++; /* skip the escaped character */
    }
    return false;
}

/* The view itself, or an absent view when PostgreSQL could not store it; *bad names the
 * first such field. */
static struct strview pgstore_view(struct strview v, const char *field, const char **bad)
{
    if (v.p && !pgstore_storable(v.p, v.n)) {
        if (!*bad)
            *bad = field;
        return (struct strview){NULL, 0};
    }
    return v;
}

/* One line of COPY data for rows[i]. */
static int ingest_put_row(struct buf *b, size_t seq, const struct ingest_row *row)
{
    const struct event *ev = row->ev;
    const char *bad = NULL;
    struct strview source = pgstore_view(ev->source, "source", &bad);
    struct strview employee = pgstore_view(ev->employee, "employee", &bad);
    struct strview unit = pgstore_view(ev->unit, "unit", &bad);
    struct strview period = pgstore_view(ev->period, "period", &bad);
    struct strview rater = pgstore_view(ev->rater, "rater", &bad);
    struct strview supervisor = pgstore_view(ev->supervisor, "supervisor", &bad);
    struct strview decider = pgstore_view(ev->decider, "decider", &bad);
    const char *type = (unsigned)ev->type < EVENT_TYPE_COUNT ? event_type_name(ev->type) : NULL;
    const char *relation = (unsigned)ev->relation <= RELATION_SELF ? event_relation_name(ev->relation) : NULL;
    bool ts_ok = ev->ts >= EVENT_TS_MIN && ev->ts <= EVENT_TS_MAX;

    const char *payload = row->payload_json;
    size_t payload_len = row->payload_len;
    char why[128] = "";
    const char *reason = row->reject_reason;
    if (payload &&
        (!pgstore_storable(payload, payload_len) || pgstore_json_has_nul_escape(payload, payload_len))) {
        payload = NULL;
        snprintf(why, sizeof why, "payload: contains a NUL character or invalid UTF-8");
    }
    if (!reason) {
        if (bad)
            snprintf(why, sizeof why, "%s: contains a NUL byte or invalid UTF-8", bad);
        else if (!type)
            snprintf(why, sizeof why, "type: unknown");
        else if (!ts_ok)
            snprintf(why, sizeof why, "ts: out of range");
        else if (!payload && !why[0])
            snprintf(why, sizeof why, "payload: missing");
        if (why[0])
            reason = why;
    }
    if (reason && !pgstore_storable(reason, strlen(reason)))
        reason = "rejected (reason not printable)";

    int rc = 0;
    rc |= buf_printf(b, "%zu", seq);
    rc |= copy_put_view(b, false, ev->id);
    rc |= copy_put_str(b, false, type);
    rc |= copy_put_view(b, false, source);
    rc |= copy_put_i64(b, false, ts_ok, ev->ts);
    rc |= copy_put_view(b, false, employee);
    rc |= copy_put_view(b, false, unit);
    rc |= copy_put_view(b, false, period);
    rc |= copy_put_view(b, false, rater);
    rc |= copy_put_str(b, false, relation);
    rc |= copy_put_view(b, false, supervisor);
    rc |= copy_put_view(b, false, decider);
    rc |= copy_sep(b, false);
    rc |= payload ? buf_copy_escape(b, payload, payload_len) : copy_put_null(b);
    rc |= copy_put_str(b, false, row->stream_key);
    rc |= copy_put_str(b, false, row->stream_id);
    rc |= copy_put_i64(b, false, row->received_ms > 0, row->received_ms);
    rc |= copy_put_str(b, false, reason);
    rc |= copy_put_str(b, false, row->client);
    rc |= buf_putc(b, '\n');
    return rc ? -1 : 0;
}

int pgstore_ingest_batch(struct pgstore *db, const struct ingest_row *rows, size_t n, const char *tz,
                         struct ingest_counts *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (pgstore_require_conn(db) < 0)
        return -1;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!rows[i].ev || !rows[i].ev->id.p || !event_valid_uuid(rows[i].ev->id.p, rows[i].ev->id.n))
            return pgstore_fail_data(db, "ingest: row %zu (%s %s) has no valid event id", i,
                                     rows[i].stream_key ? rows[i].stream_key : "?",
                                     rows[i].stream_id ? rows[i].stream_id : "?");

    struct buf b;
    buf_init(&b, PGSTORE_COPY_MAX);
    if (pgstore_exec(db, ingest_staging_sql, "ingest: staging") < 0)
        goto fail;
    if (copy_start(db, ingest_copy_sql, "ingest: copy") < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (ingest_put_row(&b, i, &rows[i]) < 0) {
            pgstore_fail_data(db, "ingest: row %zu does not fit in %u bytes", i, PGSTORE_COPY_MAX);
            goto fail;
        }
        if (b.len >= PGSTORE_COPY_CHUNK && copy_send(db, &b, "ingest: copy") < 0)
            goto fail;
    }
    if (copy_send(db, &b, "ingest: copy") < 0 || copy_finish(db, "ingest: copy") < 0)
        goto fail;

    const char *params[1] = {tz ? tz : "UTC"};
    PGresult *res = PQexecParams(db->conn, "SELECT stored, rejected, already FROM kinerja_ingest_staged($1)",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pgstore_fail(db, res, "ingest");
        PQclear(res);
        goto fail;
    }
    struct ingest_counts c = {
        .stored = strtoull(PQgetvalue(res, 0, 0), NULL, 10),
        .rejected = strtoull(PQgetvalue(res, 0, 1), NULL, 10),
        .already = strtoull(PQgetvalue(res, 0, 2), NULL, 10),
    };
    PQclear(res);
    if (pgstore_commit(db, "ingest: commit") < 0)
        goto fail;
    buf_free(&b);
    if (out)
        *out = c;
    return 0;
fail:
    buf_free(&b);
    pgstore_rollback(db);
    return -1;
}

/* ---------------------------------------------------------------- dead letters */

/* Copies s into out (at most outlen-1 bytes), replacing non-ASCII bytes with '?' when
 * the copy is not valid UTF-8, so any error text can be stored. */
static void pgstore_sanitize(const char *s, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", s ? s : "");
    size_t n = strlen(out);
    if (event_valid_utf8(out, n))
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] >= 0x80)
            out[i] = '?';
}

int pgstore_dead_letter(struct pgstore *db, const char *stream_key, const char *stream_id,
                        const char *event_id, const void *raw, size_t rawlen, int deliveries,
                        const char *error)
{
    if (pgstore_require_conn(db) < 0)
        return -1;
    if (!stream_key || !stream_id)
        return pgstore_fail_data(db, "dead letter: stream key and entry id are required");
    if (raw && rawlen > (size_t)INT32_MAX)
        return pgstore_fail_data(db, "dead letter: raw entry too large");
    char deliveries_s[24];
    snprintf(deliveries_s, sizeof deliveries_s, "%d", deliveries);
    char err_s[PGSTORE_DEAD_ERROR_MAX + 1];
    pgstore_sanitize(error, err_s, sizeof err_s);
    char key_s[256], id_s[64];
    pgstore_sanitize(stream_key, key_s, sizeof key_s);
    pgstore_sanitize(stream_id, id_s, sizeof id_s);
    bool id_ok = event_id && event_valid_uuid(event_id, strlen(event_id));

    const char *params[6] = {key_s,
                             id_s,
                             id_ok ? event_id : NULL,
                             raw ? (const char *)raw : NULL,
                             deliveries_s,
                             error ? err_s : NULL};
    int lengths[6] = {0, 0, 0, (int)rawlen, 0, 0};
    int formats[6] = {0, 0, 0, 1, 0, 0};
    PGresult *res =
        PQexecParams(db->conn,
                     "INSERT INTO dead_letters (stream_key, stream_id, event_id, raw, deliveries, error)"
                     " VALUES ($1, $2, $3::uuid, $4::bytea, $5::int, $6)"
                     " ON CONFLICT (stream_key, stream_id) DO NOTHING",
                     6, NULL, params, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgstore_fail(db, res, "dead letter");
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* ---------------------------------------------------------------- organisation CSV */

struct csv_reader {
    FILE *f;
    long line;     /* current physical line, 1-based */
    bool at_start; /* nothing read yet (a UTF-8 BOM may follow) */
};

struct csv_record {
    long line; /* physical line where the record starts */
    char data[ORG_RECORD_MAX + ORG_FIELDS_MAX];
    size_t len;
    const char *field[ORG_FIELDS_MAX];
    size_t nfields;
};

/*
 * Reads one RFC 4180 record: fields separated by commas, optionally double-quoted
 * (a quote inside written as ""; commas and line breaks allowed inside quotes), CRLF
 * or LF line ends. Blank lines are skipped. Returns 1 with a record, 0 at the end of
 * the file, -1 with the reason in err ("line N: ...").
 */
static int csv_read_record(struct csv_reader *r, struct csv_record *rec, char *err, size_t errlen)
{
    int c;
    for (;;) {
        c = getc(r->f);
        if (r->at_start) {
            r->at_start = false;
            if (c == 0xEF) { /* UTF-8 byte order mark */
                if (getc(r->f) != 0xBB || getc(r->f) != 0xBF) {
                    snprintf(err, errlen, "line 1: not valid UTF-8 at the start of the file");
                    return -1;
                }
                c = getc(r->f);
            }
        }
        if (c == EOF)
            return 0;
        if (c == '\n') {
            r->line++;
            continue;
        }
        if (c == '\r') {
            int d = getc(r->f);
            if (d == '\n') {
                r->line++;
                continue;
            }
            if (d != EOF)
                ungetc(d, r->f);
            snprintf(err, errlen, "line %ld: carriage return outside a quoted field", r->line);
            return -1;
        }
        break;
    }

    rec->line = r->line;
    rec->len = 0;
    rec->nfields = 0;
    size_t field_start = 0;
    bool in_quotes = false, quoted = false, closed = false;
    for (;; c = getc(r->f)) {
        if (in_quotes) {
            if (c == EOF) {
                snprintf(err, errlen, "line %ld: quoted field not closed before the end of the file",
                         rec->line);
                return -1;
            }
            if (c == '"') {
                int d = getc(r->f);
                if (d != '"') {
                    if (d != EOF)
                        ungetc(d, r->f);
                    in_quotes = false;
                    closed = true;
                    continue;
                }
            } else if (c == '\n') {
                r->line++;
            }
        } else if (c == ',' || c == '\n' || c == EOF || c == '\r') {
            if (c == '\r') {
                int d = getc(r->f);
                if (d != '\n' && d != EOF) {
                    snprintf(err, errlen, "line %ld: carriage return outside a quoted field", r->line);
                    return -1;
                }
                c = '\n';
            }
            if (rec->nfields == ORG_FIELDS_MAX) {
                snprintf(err, errlen, "line %ld: more than %d fields", rec->line, ORG_FIELDS_MAX);
                return -1;
            }
            rec->data[rec->len++] = '\0'; /* room reserved: one NUL per field */
            rec->field[rec->nfields++] = rec->data + field_start;
            field_start = rec->len;
            quoted = closed = false;
            if (c == ',')
                continue;
            if (c == '\n')
                r->line++;
            return 1;
        } else if (c == '"') {
            if (quoted || rec->len != field_start) {
                snprintf(err, errlen, "line %ld: field %zu: quote inside an unquoted field", r->line,
                         rec->nfields + 1);
                return -1;
            }
            in_quotes = quoted = true;
            continue;
        } else if (closed) {
            snprintf(err, errlen, "line %ld: field %zu: text after the closing quote", r->line,
                     rec->nfields + 1);
            return -1;
        }
        if (rec->len >= ORG_RECORD_MAX) {
            snprintf(err, errlen, "line %ld: record longer than %d bytes", rec->line, ORG_RECORD_MAX);
            return -1;
        }
        rec->data[rec->len++] = (char)c;
    }
}

/* Strips ASCII spaces and tabs around a field, in place. */
static const char *csv_trim(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = (char *)s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

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

/* ---------------------------------------------------------------- status */

const char *const pgstore_result_states[PG_RESULT_STATES] = {"collecting", "pending_signoff", "approved",
                                                             "returned",   "appealed",        "final"};
const char *const pgstore_notification_states[PG_NOTIFICATION_STATES] = {"queued", "sent", "dead"};

/* Counts rows of `table` per value of `column` into counts[] (matched against names[]),
 * when that table and column exist; leaves counts at 0 otherwise. table and column are
 * fixed names from this file, never input. */
static int pgstore_count_states(struct pgstore *db, const char *table, const char *column,
                                const char *const *names, int nnames, long long *counts, bool *present)
{
    *present = false;
    const char *params[2] = {table, column};
    PGresult *res =
        PQexecParams(db->conn,
                     "SELECT 1 FROM information_schema.columns"
                     " WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, "status");
        PQclear(res);
        return -1;
    }
    bool exists = PQntuples(res) > 0;
    PQclear(res);
    if (!exists)
        return 0;

    char *qt = PQescapeIdentifier(db->conn, table, strlen(table));
    char *qc = PQescapeIdentifier(db->conn, column, strlen(column));
    char sql[512];
    if (qt && qc)
        snprintf(sql, sizeof sql, "SELECT %s::text, count(*) FROM %s GROUP BY 1", qc, qt);
    PQfreemem(qt);
    PQfreemem(qc);
    if (!qt || !qc)
        return pgstore_fail_data(db, "status: out of memory");
    res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, "status");
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++)
        for (int k = 0; k < nnames; k++)
            if (!strcmp(PQgetvalue(res, i, 0), names[k]))
                counts[k] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    PQclear(res);
    *present = true;
    return 0;
}

int pgstore_status(struct pgstore *db, struct pg_status *out)
{
    memset(out, 0, sizeof *out);
    if (pgstore_require_conn(db) < 0)
        return -1;
    PGresult *res =
        PQexec(db->conn, "SELECT (SELECT count(*) FROM event_log), (SELECT count(*) FROM rejected_events),"
                         " (SELECT count(*) FROM dead_letters), (SELECT count(*) FROM employees),"
                         " (SELECT count(*) FROM units)");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pgstore_fail(db, res, "status");
        PQclear(res);
        return -1;
    }
    out->stored = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->rejected = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->dead = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->employees = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    out->units = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    PQclear(res);
    if (pgstore_count_states(db, "results", "state", pgstore_result_states, PG_RESULT_STATES, out->results,
                             &out->have_results) < 0)
        return -1;
    if (pgstore_count_states(db, "notifications", "status", pgstore_notification_states,
                             PG_NOTIFICATION_STATES, out->notifications, &out->have_notifications) < 0)
        return -1;
    return 0;
}

int pgstore_use_time_zone(struct pgstore *db, const char *tz)
{
    if (pgstore_require_conn(db) < 0)
        return -1;
    const char *params[1] = {tz ? tz : ""};
    PGresult *res =
        PQexecParams(db->conn, "SELECT set_config('TimeZone', $1, false)", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        bool bad_value = state && !strcmp(state, "22023"); /* invalid_parameter_value */
        if (bad_value) {
            snprintf(db->errstr, sizeof db->errstr, "time.zone: PostgreSQL does not know '%.128s'",
                     params[0]);
            db->err = -1;
            db->transient = false;
        } else {
            pgstore_fail(db, res, "time.zone");
        }
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}
