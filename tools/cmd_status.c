/* kinerja status [--json]: the pipeline at a glance (SPEC 9): Redis stream length and
 * pending entries (rstream_totals), PostgreSQL counts (pgstore_status). Either store
 * being unreachable is reported on stderr and the exit code is 1, but what could be
 * read is still printed (JSON null / "unavailable" for the rest), so a monitoring
 * script sees as much as there is. */
#include "cli.h"
#include "pgstore.h"
#include "rstream.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_QUARANTINE_MAX 1000 /* quarantined results listed */

struct status_view {
    bool redis_ok, pg_ok;
    long long stream_length, pending;
    struct pg_status pg;
    /* score_quarantine (schemas/0008_quarantine.sql): employee, period, error,
     * event ids ("a,b"), since (UTC), tries; NULL when it could not be read */
    PGresult *quarantine;
};

static void status_usage(FILE *out)
{
    fprintf(out,
            "usage: kinerja status [--json]\n"
            "  Redis: stream_length (entries in all kinerja:ev:{N} shards), pending (read by the\n"
            "  ingest group, not yet acknowledged); PostgreSQL: stored (event_log), rejected\n"
            "  (rejected_events), dead (dead_letters), results per state, notifications.\n"
            "  --json  one JSON object: {\"stream_length\",\"pending\",\"stored\",\"rejected\",\"dead\",\n"
            "          \"results\":{...},\"notifications\":{\"queued\",\"sent\",\"dead\"},\n"
            "          "
            "\"quarantined\":[{\"employee\",\"period\",\"error\",\"event_ids\",\"since\",\"tries\"}], ...}\n"
            "  quarantined: results the score worker set aside because they cannot be computed or\n"
            "  stored (the rest of their period is stored), with the reason and the input events.\n"
            "  If Redis or PostgreSQL cannot be reached, stderr says which, the values that need\n"
            "  it are null (JSON) or \"unavailable\" (table), and the exit code is 1.\n");
}

static json_t *status_num(bool ok, long long v)
{
    return ok ? json_integer(v) : json_null();
}

static int status_print_json(const struct status_view *s)
{
    json_t *root = json_object();
    json_t *results = json_object();
    json_t *notif = json_object();
    if (!root || !results || !notif) {
        json_decref(root);
        json_decref(results);
        json_decref(notif);
        return -1;
    }
    json_object_set_new(root, "stream_length", status_num(s->redis_ok, s->stream_length));
    json_object_set_new(root, "pending", status_num(s->redis_ok, s->pending));
    json_object_set_new(root, "stored", status_num(s->pg_ok, s->pg.stored));
    json_object_set_new(root, "rejected", status_num(s->pg_ok, s->pg.rejected));
    json_object_set_new(root, "dead", status_num(s->pg_ok, s->pg.dead));
    for (int i = 0; i < PG_RESULT_STATES; i++)
        json_object_set_new(results, pgstore_result_states[i], status_num(s->pg_ok, s->pg.results[i]));
    json_object_set_new(root, "results", results);
    for (int i = 0; i < PG_NOTIFICATION_STATES; i++)
        json_object_set_new(notif, pgstore_notification_states[i],
                            status_num(s->pg_ok, s->pg.notifications[i]));
    json_object_set_new(root, "notifications", notif);
    json_t *q = s->quarantine ? json_array() : json_null();
    for (int i = 0; s->quarantine && q && i < PQntuples(s->quarantine); i++) {
        json_t *row = json_object(), *ids = json_array();
        if (!row || !ids) {
            json_decref(row);
            json_decref(ids);
            break;
        }
        json_object_set_new(row, "employee", json_string(PQgetvalue(s->quarantine, i, 0)));
        json_object_set_new(row, "period", json_string(PQgetvalue(s->quarantine, i, 1)));
        json_object_set_new(row, "error", json_string(PQgetvalue(s->quarantine, i, 2)));
        const char *p = PQgetvalue(s->quarantine, i, 3);
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            json_array_append_new(ids, json_stringn(p, n));
            p += n + (comma ? 1 : 0);
        }
        json_object_set_new(row, "event_ids", ids);
        json_object_set_new(row, "since", json_string(PQgetvalue(s->quarantine, i, 4)));
        json_object_set_new(row, "tries", json_integer(strtoll(PQgetvalue(s->quarantine, i, 5), NULL, 10)));
        json_array_append_new(q, row);
    }
    json_object_set_new(root, "quarantined", q);
    json_object_set_new(root, "employees", status_num(s->pg_ok, s->pg.employees));
    json_object_set_new(root, "units", status_num(s->pg_ok, s->pg.units));
    json_object_set_new(root, "redis_ok", json_boolean(s->redis_ok));
    json_object_set_new(root, "postgres_ok", json_boolean(s->pg_ok));
    int rc = json_dumpf(root, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (rc == 0)
        fputc('\n', stdout);
    return rc;
}

static void status_row(const char *name, bool ok, long long v)
{
    if (ok)
        printf("  %-18s %lld\n", name, v);
    else
        printf("  %-18s unavailable\n", name);
}

static void status_print_table(const struct status_view *s)
{
    printf("Redis\n");
    status_row("stream_length", s->redis_ok, s->stream_length);
    status_row("pending", s->redis_ok, s->pending);
    printf("PostgreSQL\n");
    status_row("stored", s->pg_ok, s->pg.stored);
    status_row("rejected", s->pg_ok, s->pg.rejected);
    status_row("dead", s->pg_ok, s->pg.dead);
    status_row("employees", s->pg_ok, s->pg.employees);
    status_row("units", s->pg_ok, s->pg.units);
    printf("Results%s\n", s->pg_ok && !s->pg.have_results ? " (no results table yet)" : "");
    for (int i = 0; i < PG_RESULT_STATES; i++)
        status_row(pgstore_result_states[i], s->pg_ok, s->pg.results[i]);
    printf("Notifications%s\n", s->pg_ok && !s->pg.have_notifications ? " (no notifications table yet)" : "");
    for (int i = 0; i < PG_NOTIFICATION_STATES; i++)
        status_row(pgstore_notification_states[i], s->pg_ok, s->pg.notifications[i]);
    if (!s->quarantine) {
        printf("Quarantined results\n  unavailable\n");
        return;
    }
    int n = PQntuples(s->quarantine);
    printf("Quarantined results (set aside: cannot be computed or stored)\n");
    if (n == 0)
        printf("  none\n");
    for (int i = 0; i < n; i++)
        printf("  %s %s (since %s, %s tries): %s\n    input events: %s\n", PQgetvalue(s->quarantine, i, 0),
               PQgetvalue(s->quarantine, i, 1), PQgetvalue(s->quarantine, i, 4),
               PQgetvalue(s->quarantine, i, 5), PQgetvalue(s->quarantine, i, 2),
               PQgetvalue(s->quarantine, i, 3));
}

/* The quarantined results, oldest first; NULL (with the reason on stderr) when they
 * cannot be read (a database before schemas/0008_quarantine.sql). */
static PGresult *status_read_quarantine(PGconn *c)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", STATUS_QUARANTINE_MAX);
    const char *params[1] = {limit};
    PGresult *r =
        PQexecParams(c,
                     "SELECT employee, period, error, array_to_string(event_ids, ','),"
                     " to_char(first_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), tries"
                     " FROM score_quarantine ORDER BY first_at, employee, period LIMIT $1::int",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "kinerja status: quarantined results: %s", PQerrorMessage(c));
        PQclear(r);
        return NULL;
    }
    return r;
}

static bool status_read_redis(const struct config *cfg, struct status_view *s)
{
    char err[512];
    redisContext *c = rstream_connect(config_str(cfg, "redis.url"), (int)config_int(cfg, "redis.timeout_ms"),
                                      err, sizeof err);
    if (!c) {
        fprintf(stderr, "kinerja status: Redis unreachable: %s\n", err);
        return false;
    }
    bool ok = rstream_totals(c, (unsigned)config_int(cfg, "redis.shards"), RSTREAM_GROUP_INGEST,
                             &s->stream_length, &s->pending, err, sizeof err) == 0;
    if (!ok)
        fprintf(stderr, "kinerja status: Redis: %s\n", err);
    redisFree(c);
    return ok;
}

static bool status_read_postgres(const struct config *cfg, struct status_view *s)
{
    struct pgstore *db = pgstore_connect(config_str(cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja status: out of memory\n");
        return false;
    }
    bool ok = false;
    if (db->err)
        fprintf(stderr, "kinerja status: PostgreSQL unreachable: %s\n", db->errstr);
    else if (pgstore_status(db, &s->pg) < 0)
        fprintf(stderr, "kinerja status: PostgreSQL: %s%s\n", db->errstr,
                strstr(db->errstr, "does not exist") ? " (run `kinerja migrate`?)" : "");
    else
        ok = true;
    if (ok)
        s->quarantine = status_read_quarantine(db->conn);
    pgstore_destroy(&db);
    return ok;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            status_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else {
            fprintf(stderr, "kinerja status: unexpected argument '%s'\n", argv[i]);
            status_usage(stderr);
            return CLI_USAGE;
        }
    }
    struct status_view s = {0};
    s.redis_ok = status_read_redis(cli->cfg, &s);
    s.pg_ok = status_read_postgres(cli->cfg, &s);
    int rc = s.redis_ok && s.pg_ok ? CLI_OK : CLI_FAIL;
    if (json) {
        if (status_print_json(&s) < 0) {
            fprintf(stderr, "kinerja status: out of memory\n");
            rc = CLI_FAIL;
        }
    } else {
        status_print_table(&s);
    }
    PQclear(s.quarantine);
    return rc;
}
