/*
 * kinerja partitions [--json]: the period partitions of the tables partitioned by period
 * (schemas/0027-0029: event_log, rejected_events, feedback, ratings, work_results,
 * score_versions, notifications, result_audit),
 * with their rows' bytes.
 * kinerja partitions ensure --period P: makes P's partitions now (the scheduler makes
 * the months ahead by itself). kinerja partitions detach --period P: detaches a past
 * period's partitions for archive; they stay as tables named
 * <partition>_detached_<time>, to be dumped (pg_dump -t) and dropped. Run detach as the
 * database owner, like migrate.
 */
#include "cli.h"
#include "pgstore.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void partitions_usage(FILE *out)
{
    fprintf(out, "usage: kinerja partitions [--json]\n"
                 "       kinerja partitions ensure --period P\n"
                 "       kinerja partitions detach --period P\n"
                 "  The tables that grow with every period (event_log, rejected_events, feedback,\n"
                 "  ratings, work_results, score_versions, notifications, result_audit) are\n"
                 "  partitioned by period, one partition per period value and a DEFAULT one for rows\n"
                 "  that came before theirs; the schedule role makes this month's and\n"
                 "  schedule.partitions_ahead months' partitions, their quarters' and years'.\n"
                 "  (no verb)  lists every partition: table, period, bytes (--json: an array)\n"
                 "  ensure     makes the period's partitions now, moving its rows out of DEFAULT\n"
                 "  detach     detaches a past period's partitions for archive (refused while a result\n"
                 "             of the period is not final, and for the current period); prints the\n"
                 "             tables they became, to dump and drop. As the database owner.\n"
                 "  --period P  YYYY-MM, YYYY-Qn or YYYY\n"
                 "Exit 0 ok, 1 failure (PostgreSQL's reason on stderr), 2 usage.\n");
}

static int list(struct pgstore *db, bool as_json)
{
    PGresult *r = PQexec(db->conn, "SELECT parent, period, partition, bytes FROM kinerja_partitions "
                                   "ORDER BY parent, period = '', period");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "kinerja partitions: %s", PQresultErrorMessage(r));
        PQclear(r);
        return CLI_FAIL;
    }
    int n = PQntuples(r);
    if (as_json) {
        json_t *a = json_array();
        for (int i = 0; a && i < n; i++)
            json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I}", "table", PQgetvalue(r, i, 0), "period",
                                               PQgetvalue(r, i, 1), "partition", PQgetvalue(r, i, 2), "bytes",
                                               (json_int_t)strtoll(PQgetvalue(r, i, 3), NULL, 10)));
        char *s = a ? json_dumps(a, JSON_INDENT(2)) : NULL;
        json_decref(a);
        if (!s) {
            PQclear(r);
            fprintf(stderr, "kinerja partitions: out of memory\n");
            return CLI_FAIL;
        }
        printf("%s\n", s);
        free(s);
    } else {
        printf("%-16s %-9s %-34s %14s\n", "TABLE", "PERIOD", "PARTITION", "BYTES");
        for (int i = 0; i < n; i++) {
            const char *period = PQgetvalue(r, i, 1);
            printf("%-16s %-9s %-34s %14s\n", PQgetvalue(r, i, 0), period[0] ? period : "(default)",
                   PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
        }
    }
    PQclear(r);
    return CLI_OK;
}

static int run_verb(struct pgstore *db, const char *verb, const char *period)
{
    const char *sql = !strcmp(verb, "ensure") ? "SELECT kinerja_partitions_ensure($1)::text"
                                              : "SELECT * FROM kinerja_partition_detach($1)";
    const char *p[1] = {period};
    PGresult *r = PQexecParams(db->conn, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "kinerja partitions %s: %s", verb, PQresultErrorMessage(r));
        PQclear(r);
        return CLI_FAIL;
    }
    if (!strcmp(verb, "ensure")) {
        printf("partitions ensure: %s made for %s\n", PQgetvalue(r, 0, 0), period);
    } else {
        for (int i = 0; i < PQntuples(r); i++)
            printf("%s\n", PQgetvalue(r, i, 0));
        fprintf(stderr, "partitions detach: %d tables detached for %s (pg_dump -t each, then DROP TABLE)\n",
                PQntuples(r), period);
    }
    PQclear(r);
    return CLI_OK;
}

int cmd_partitions(struct cli *cli, int argc, char **argv)
{
    const char *verb = NULL, *period = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            partitions_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            as_json = true;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            period = argv[++i];
        } else if (!verb && (!strcmp(a, "ensure") || !strcmp(a, "detach"))) {
            verb = a;
        } else {
            fprintf(stderr, "kinerja partitions: unexpected argument '%s'\n", a);
            partitions_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (verb && !period) {
        fprintf(stderr, "kinerja partitions %s: --period P is required\n", verb);
        return CLI_USAGE;
    }
    if (!verb && period) {
        fprintf(stderr, "kinerja partitions: --period goes with ensure or detach\n");
        return CLI_USAGE;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja partitions: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja partitions: PostgreSQL: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    int rc = verb ? run_verb(db, verb, period) : list(db, as_json);
    pgstore_destroy(&db);
    return rc;
}
