/*
 * kinerja event ID [--json]: where one event ended (SPEC 9, "add freely"): stored in
 * event_log, rejected at ingest (with the reason), quarantined (stored, but the score
 * worker set its result aside; or a dead letter after its deliveries ran out), or
 * unknown to PostgreSQL (it may still be waiting in the Redis stream). The document is
 * common/views.c's view_event, the one kinerja-web shows.
 */
#include "buf.h"
#include "cli.h"
#include "event.h"
#include "views.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define EVENT_CMD_JSON_MAX (1u << 20) /* bound of the document */
#define EVENT_CMD_LABEL_WIDTH 10

static void event_usage(FILE *out)
{
    fprintf(out, "usage: kinerja event ID [--json]\n"
                 "  Where the event with id ID (a UUID) ended:\n"
                 "    stored       in event_log, counted by the score worker\n"
                 "    rejected     refused at ingest (reason: e.g. an unknown employee)\n"
                 "    quarantined  stored, but its result was set aside by the score worker (reason:\n"
                 "                 the error), or never stored after its deliveries ran out (dead letter)\n"
                 "    unknown      not in PostgreSQL: not stored yet (it may still be in the Redis\n"
                 "                 stream) or never accepted by the broker\n"
                 "  with its type, source, employee, period and when (in time.zone).\n"
                 "  --json  {\"id\",\"state\",\"where\",\"type\",\"source\",\"employee\",\"period\",\"at\",\n"
                 "          \"reason\",\"client\",\"note\"} (absent members null)\n"
                 "Exit 0 found (stored, rejected or quarantined), 1 unknown or database error, 2 usage.\n");
}

/* Prints s with control characters replaced, so a reason cannot drive the terminal. */
static void event_put(const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stdout);
}

static void event_row(json_t *doc, const char *label, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    if (!v)
        return;
    printf("%-*s ", EVENT_CMD_LABEL_WIDTH, label);
    event_put(v);
    printf("\n");
}

static void event_print_table(json_t *doc, const char *tz)
{
    const char *where = json_string_value(json_object_get(doc, "where"));
    event_row(doc, "Event", "id");
    printf("%-*s ", EVENT_CMD_LABEL_WIDTH, "State");
    event_put(json_string_value(json_object_get(doc, "state")));
    if (where) {
        printf(" (in ");
        event_put(where);
        printf(")");
    }
    printf("\n");
    event_row(doc, "Type", "type");
    event_row(doc, "Source", "source");
    event_row(doc, "Client", "client");
    event_row(doc, "Employee", "employee");
    event_row(doc, "Period", "period");
    if (json_string_value(json_object_get(doc, "at"))) {
        printf("%-*s ", EVENT_CMD_LABEL_WIDTH, "At");
        event_put(json_string_value(json_object_get(doc, "at")));
        printf(" (");
        event_put(tz);
        printf(")\n");
    }
    event_row(doc, "Reason", "reason");
    event_row(doc, "Note", "note");
}

int cmd_event(struct cli *cli, int argc, char **argv)
{
    const char *id = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            event_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "kinerja event: unknown option '%s'\n", a);
            event_usage(stderr);
            return CLI_USAGE;
        } else if (!id) {
            id = a;
        } else {
            fprintf(stderr, "kinerja event: one ID only, got '%s' too\n", a);
            return CLI_USAGE;
        }
    }
    if (!id) {
        fprintf(stderr, "kinerja event: ID missing\n");
        event_usage(stderr);
        return CLI_USAGE;
    }
    if (!event_valid_uuid(id, strlen(id))) {
        fprintf(stderr, "kinerja event: ID must be a UUID (8-4-4-4-12 hexadecimal digits), got '%s'\n", id);
        return CLI_USAGE;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja event: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja event: PostgreSQL unreachable: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    const char *tz = config_str(cli->cfg, "time.zone");
    char err[512];
    struct buf b;
    buf_init(&b, EVENT_CMD_JSON_MAX);
    int rc = CLI_FAIL;
    if (view_event(db, id, tz, &b, err, sizeof err) != VIEW_OK) {
        fprintf(stderr, "kinerja event: %s\n", err);
    } else {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        const char *state = json_string_value(json_object_get(doc, "state"));
        if (!state) {
            fprintf(stderr, "kinerja event: the document of %s cannot be read\n", id);
        } else {
            if (json)
                printf("%s\n", b.data);
            else
                event_print_table(doc, tz);
            rc = strcmp(state, "unknown") ? CLI_OK : CLI_FAIL;
            if (ferror(stdout))
                rc = CLI_FAIL;
        }
        json_decref(doc);
    }
    buf_free(&b);
    pgstore_destroy(&db);
    return rc;
}
