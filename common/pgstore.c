/*
 * pgstore: every PostgreSQL operation (see pgstore.h); this file has the errors, the
 * queries, the connection and the status counts, the other parts are listed in
 * pgstore_int.h. libpq only; parameterized statements or COPY in text format; the only
 * unparameterized SQL is fixed text in these files and the embedded migrations.
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

void pgstore_quiet_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgres: %s", message);
}

/* ---------------------------------------------------------------- errors */

void pgstore_clear(struct pgstore *db)
{
    db->err = 0;
    db->transient = false;
    db->errstr[0] = '\0';
}

/* libpq messages end with a newline and may span lines: one line for logs. */
void pgstore_trim_newline(char *s)
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
int pgstore_fail_data(struct pgstore *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pgstore_fail_data(struct pgstore *db, const char *fmt, ...)
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
void pgstore_rollback(struct pgstore *db)
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
int pgstore_exec(struct pgstore *db, const char *sql, const char *what)
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

int pgstore_commit(struct pgstore *db, const char *what)
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
    return pgstore_connect_as(dsn, NULL, false);
}

struct pgstore *pgstore_connect_as(const char *dsn, const char *app, bool keepalives)
{
    struct pgstore *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    /* Defaults the DSN may override: a bounded connect wait (libpq waits forever by
     * default), a name that shows in pg_stat_activity and, when asked, TCP keepalives. */
    const char *keys[9] = {"connect_timeout", "fallback_application_name"};
    const char *values[9] = {PGSTORE_CONNECT_TIMEOUT_S, app ? app : "kinerja"};
    int n = 2;
    if (keepalives) {
        static const char *const ka_keys[] = {"keepalives", "keepalives_idle", "keepalives_interval",
                                              "keepalives_count", "tcp_user_timeout"};
        static const char *const ka_values[] = {"1", PGSTORE_KEEPALIVE_IDLE_S, PGSTORE_KEEPALIVE_INTERVAL_S,
                                                PGSTORE_KEEPALIVE_COUNT, PGSTORE_TCP_USER_TIMEOUT_MS};
        for (int i = 0; i < 5; i++) {
            keys[n] = ka_keys[i];
            values[n++] = ka_values[i];
        }
    }
    keys[n] = "dbname";
    values[n++] = dsn ? dsn : "";
    keys[n] = values[n] = NULL;
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
