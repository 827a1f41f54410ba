/* kinerja status [--json]: the pipeline at a glance (SPEC 9): Redis stream length and
 * pending entries (rstream_totals), PostgreSQL counts (pgstore_status), read and built
 * into the JSON document by common/views.c (as for the web). Either store being
 * unreachable is reported on stderr and the exit code is 1, but what could be read is
 * still printed (JSON null / "unavailable" for the rest), so a monitoring script sees as
 * much as there is. */
#include "buf.h"
#include "cli.h"
#include "pgstore.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_JSON_MAX (1u << 26) /* bound of the JSON document */

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
            "  curve_units: units (per period) whose current results break the pattern of their\n"
            "  organisation predikat (SPEC 5.10; `kinerja report curve --period P` names the rules).\n"
            "  If Redis or PostgreSQL cannot be reached, stderr says which, the values that need\n"
            "  it are null (JSON) or \"unavailable\" (table), and the exit code is 1.\n");
}

static int status_print_json(const struct view_status_data *s)
{
    struct buf b;
    buf_init(&b, STATUS_JSON_MAX);
    int rc = view_status_json(s, &b);
    if (rc == 0) {
        fwrite(b.data, 1, b.len, stdout);
        fputc('\n', stdout);
    }
    buf_free(&b);
    return rc;
}

static void status_row(const char *name, bool ok, long long v)
{
    if (ok)
        printf("  %-18s %lld\n", name, v);
    else
        printf("  %-18s unavailable\n", name);
}

static void status_print_table(const struct view_status_data *s)
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
    printf("Curve (units breaking the pattern of their organisation predikat: kinerja report curve)\n");
    status_row("curve_units", s->pg_ok && s->curve_ok, s->curve_units);
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
    struct view_status_data s;
    view_status_read(cli->cfg, &s);
    const char *errs[] = {s.redis_err, s.pg_err, s.quarantine_err};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
        if (errs[i][0])
            fprintf(stderr, "kinerja status: %s\n", errs[i]);
    int rc = s.redis_ok && s.pg_ok ? CLI_OK : CLI_FAIL;
    if (json) {
        if (status_print_json(&s) < 0) {
            fprintf(stderr, "kinerja status: out of memory\n");
            rc = CLI_FAIL;
        }
    } else {
        status_print_table(&s);
    }
    view_status_clear(&s);
    return rc;
}
