/*
 * pgstore_migrate: the migrations embedded in every binary (schemas/NNNN_*.sql), applied in
 * order, each once, under an advisory lock so concurrent `kinerja migrate` runs wait.
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
#include "embedded.h"

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

/* Every schemas/functions/ file, in one transaction under the migrations' lock: the one
 * current body of each function, whatever the migrations left (CREATE OR REPLACE). */
static int pgstore_apply_functions(struct pgstore *db)
{
    if (pgstore_exec(db, "BEGIN", "functions") < 0)
        return -1;
    if (pgstore_exec(db, "SELECT pg_advisory_xact_lock(" PGSTORE_MIGRATE_LOCK ")", "functions") < 0) {
        pgstore_rollback(db);
        return -1;
    }
    for (int i = 0; embedded_functions[i].name; i++) {
        char what[300];
        snprintf(what, sizeof what, "schemas/functions/%s", embedded_functions[i].name);
        if (pgstore_exec(db, embedded_functions[i].text, what) < 0) {
            pgstore_rollback(db);
            return -1;
        }
    }
    return pgstore_commit(db, "functions");
}

int pgstore_migrate(struct pgstore *db, int *applied)
{
    return pgstore_migrate_to(db, NULL, applied);
}

int pgstore_migrate_to(struct pgstore *db, const char *upto, int *applied)
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
        if (upto && strncmp(embedded_migrations[i].name, upto, strlen(upto)) > 0)
            break; /* the migrations are in name order */
        if (pgstore_migrate_one(db, &embedded_migrations[i], &count) < 0) {
            if (applied)
                *applied = count;
            return -1;
        }
    }
    if (applied)
        *applied = count;
    /* A staged upgrade stops where that release stood: the functions' current bodies
     * (schemas/functions/) may need tables of later migrations, and a function that a
     * later migration creates must not exist before it runs. The full run applies them. */
    if (upto) {
        log_info("functions: left as the migrations up to %s made them (a full run applies "
                 "schemas/functions/)",
                 upto);
        return 0;
    }
    return pgstore_apply_functions(db);
}
