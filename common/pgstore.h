/*
 * pgstore: the PostgreSQL handle every process uses (connect, reconnect, errors, one
 * parameterized query or a row walk), and the operations of intake behind functions
 * that take plain structs: migrations (pgstore_migrate.c, with schemas/functions/),
 * storing a batch of events (pgstore_events.c: one transaction, COPY into a staging
 * table, organisation checks set-based in SQL), dead letters, organisation import
 * (pgstore_org.c), status counts. The other modules keep their own statements on this
 * handle (score_store, resultstore, inboxstore, views, userstore ...). Every worker
 * role's long-lived session around it (reconnects with backoff, loss / regain said
 * once, keepalives, statement deadlines) is common/pgsession.h, the only one; the CLI
 * and kinerja-web (its pool) hold plain handles. Only parameterized SQL and COPY.
 *
 * Errors are carried hiredis-style in the handle: functions return 0 / -1 and the
 * caller reads db->errstr; db->transient says whether trying again may help
 * (connection lost, serialization failure) or not (the data itself is refused).
 */
#ifndef KINERJA_PGSTORE_H
#define KINERJA_PGSTORE_H

#include "event.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pgstore {
    PGconn *conn;
    int err;        /* 0 or -1 after the last call */
    bool transient; /* last error may go away on retry (connection, serialization) */
    char errstr[512];
};

/* Connects; NULL only when out of memory. Check db->err: a handle whose connection
 * failed is returned with err set, so pgstore_reconnect() can retry it. */
struct pgstore *pgstore_connect(const char *dsn);
/* The same, named app in pg_stat_activity (NULL: "kinerja") and, with keepalives, TCP
 * keepalives on the client side (PGSTORE_KEEPALIVE_*): a server that vanished without
 * closing is noticed within about idle + interval x count seconds. PQreset keeps them. */
#define PGSTORE_KEEPALIVE_IDLE_S "5"
#define PGSTORE_KEEPALIVE_INTERVAL_S "2"
#define PGSTORE_KEEPALIVE_COUNT "3"
#define PGSTORE_TCP_USER_TIMEOUT_MS "10000"
struct pgstore *pgstore_connect_as(const char *dsn, const char *app, bool keepalives);
int pgstore_reconnect(struct pgstore *db);
bool pgstore_ok(struct pgstore *db); /* connection usable */
void pgstore_destroy(struct pgstore **db);

/* Sets the session's time zone (config time.zone, e.g. "Asia/Jakarta"), in which
 * PostgreSQL formats every time the session shows people (SPEC 9). -1 with errstr
 * "time.zone: PostgreSQL does not know 'X'" when the zone is unknown (or on a database
 * error). */
int pgstore_use_time_zone(struct pgstore *db, const char *tz);

/* Helpers for the other PostgreSQL modules of common/ (resultstore, inboxstore), so
 * every one carries errors the same way:
 *  - pgstore_fail: sets err, errstr ("what: reason", one line) and transient from the
 *    result (may be NULL) and the connection; returns -1;
 *  - pgstore_require_conn: clears the error; -1 (transient) when not connected;
 *  - pgstore_text: the value, or NULL for SQL NULL (valid while res lives);
 *  - pgstore_query: parameterized query returning rows: the result (the caller clears
 *    it), or NULL with the error set. */
int pgstore_fail(struct pgstore *db, const PGresult *res, const char *what);
int pgstore_require_conn(struct pgstore *db);
const char *pgstore_text(const PGresult *res, int row, int col);
PGresult *pgstore_query(struct pgstore *db, const char *what, const char *sql, int nparams,
                        const char *const *params);
/* Streams a query's rows in libpq's single-row mode, so memory does not grow with the
 * result: fn gets each row (row 0 of its own PGresult) and returns 0 to go on or
 * non-zero to stop (that value is returned). -1 with the error set on failure. */
typedef int (*pgstore_row_fn)(const PGresult *row, void *ctx);
int pgstore_each_row(struct pgstore *db, const char *what, const char *sql, int nparams,
                     const char *const *params, pgstore_row_fn fn, void *ctx);

/* Checks that PostgreSQL knows the time zone tz (time.zone), which places citizen
 * feedback in its month: an unknown zone would make every ingest batch fail. -1 with
 * the error set (db->transient false: the zone itself is wrong). */
int pgstore_check_time_zone(struct pgstore *db, const char *tz);

/* Applies the embedded migrations (schemas/NNNN_*.sql) not yet in schema_migrations,
 * each in its own transaction, under an advisory lock so concurrent callers are safe.
 * *applied: how many were applied now. */
int pgstore_migrate(struct pgstore *db, int *applied);
/* The same, only the migrations whose names do not sort after upto's prefix ("0026":
 * 0001..0026), and then not the function bodies of schemas/functions/ (the database is
 * left as that release's migrations made it); NULL: all, then the bodies. For staged
 * upgrades and the tests of an upgrade's data path. */
int pgstore_migrate_to(struct pgstore *db, const char *upto, int *applied);

/* One stream entry to store. ev is the decoded, broker-validated event (views into a
 * msgpack object that lives until the call returns). When reject_reason is set the
 * row goes to rejected_events with that reason whatever ev holds (ev may then be
 * partly filled; ev->id must be valid). */
struct ingest_row {
    const char *stream_key; /* "kinerja:ev:{3}" */
    const char *stream_id;  /* "1700000000000-0" */
    const struct event *ev;
    const char *payload_json; /* the event as JSON (event_json_from_msgpack) */
    size_t payload_len;
    int64_t received_ms; /* broker receive time */
    const char *client;  /* the CURVE client that sent it (event_log.client); NULL without CURVE */
    const char *reject_reason;
};

struct ingest_counts {
    size_t stored;   /* new rows in event_log */
    size_t rejected; /* new rows in rejected_events */
    size_t already;  /* ids already stored or rejected before (redelivery) */
};

/*
 * Stores a batch in one transaction: COPY into a temporary staging table, then one
 * SQL function call that checks the organisation (SPEC 4: unknown employee, unit,
 * rater, supervisor, decider; a rater's relation against the supervisor chain),
 * inserts the good rows into event_log and the refused ones into rejected_events with
 * their reason, idempotent on event id across both tables (a redelivered entry changes
 * nothing). The month of citizen feedback is derived from ts in time zone tz.
 * Returns 0 after COMMIT, or -1 (rolled back; see db->transient).
 */
int pgstore_ingest_batch(struct pgstore *db, const struct ingest_row *rows, size_t n, const char *tz,
                         struct ingest_counts *out);
/* The same, saying whether the stream is busy (more entries waiting): a busy batch is
 * stored with its derivation deferred to kinerja_derive_queued, a quiet one derives its
 * events and up to a chunk of the queue in its transaction (schemas/0019). Without this
 * (pgstore_ingest_batch) the SQL side defers a batch of 256 events or more. */
int pgstore_ingest_batch_busy(struct pgstore *db, const struct ingest_row *rows, size_t n, const char *tz,
                              bool busy, struct ingest_counts *out);

/* Derives events whose batch was stored with its derivation deferred (schemas/0019):
 * calls kinerja_derive_queued, each call its own transaction taking up to chunk queued
 * events (0: PGSTORE_DERIVE_CHUNK), until the queue is empty or after `rounds` calls
 * (0: no bound). wait: wait for rows another deriver holds (the score worker, so that
 * everything stored before is derived); else skip them. *derived gets the count. */
int pgstore_derive_queued(struct pgstore *db, int chunk, bool wait, int rounds, long long *derived);
/* Queued events one kinerja_derive_queued call takes at most by default. */
#define PGSTORE_DERIVE_CHUNK 20000

/* Records an entry that could not be stored after `deliveries` attempts. raw is the
 * entry's ev field (may be NULL); event_id may be NULL when unreadable. Idempotent on
 * (stream_key, stream_id). */
int pgstore_dead_letter(struct pgstore *db, const char *stream_key, const char *stream_id,
                        const char *event_id, const void *raw, size_t rawlen, int deliveries,
                        const char *error);

struct org_import_counts {
    size_t units;     /* units inserted or updated */
    size_t employees; /* employees inserted or updated */
    size_t unchanged; /* rows identical to what was stored */
};

/* Loads the CSV of SPEC 4 (header nip,name,unit,position,supervisor_nip,job_family, then
 * optionally unit_name and ak_coefficient, columns in any order) in one transaction,
 * upserting units and employees by NIP. A unit_name renames its unit (two names for one
 * unit in a file is an error; none keeps the stored name); ak_coefficient (a number >= 0,
 * at most 3 decimals; empty = none) is set only when the header has the column, so a
 * file without it leaves the stored coefficients alone. Every row is checked first
 * (NIP 18 digits, unit present, supervisor known in the file or the database, no
 * cycle in the supervisor chain); a bad file changes nothing and errstr names the
 * line and the field ("line 7: supervisor_nip: unknown NIP 1980..."). */
int pgstore_org_import(struct pgstore *db, FILE *csv, const char *filename, struct org_import_counts *out);

/* Workflow states of a result (SPEC 6) and of a notification, in the order `kinerja
 * status` shows them: "collecting", "pending_signoff", "approved", "returned",
 * "appealed", "final"; "queued", "sent", "dead". */
#define PG_RESULT_STATES 6
#define PG_NOTIFICATION_STATES 3
extern const char *const pgstore_result_states[PG_RESULT_STATES];
extern const char *const pgstore_notification_states[PG_NOTIFICATION_STATES];

struct pg_status {
    long long stored;   /* rows in event_log */
    long long rejected; /* rows in rejected_events */
    long long dead;     /* rows in dead_letters */
    long long employees, units;
    /* Per state, counted from results.state and notifications.status when those tables
     * exist (later milestones); zero otherwise. */
    bool have_results, have_notifications;
    long long results[PG_RESULT_STATES];
    long long notifications[PG_NOTIFICATION_STATES];
};
int pgstore_status(struct pgstore *db, struct pg_status *out);

#endif
