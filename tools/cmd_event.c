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
#include <stdlib.h>
#include <string.h>

#define EVENT_CMD_JSON_MAX (1u << 20) /* bound of the document */
#define EVENT_CMD_LABEL_WIDTH 10

static void event_usage(FILE *out)
{
    fprintf(out,
            "usage: kinerja event ID [--json]\n"
            "usage: kinerja events ID... [--json]   (several; --json: an array of the documents)\n"
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
            "Exit 0 found (stored, rejected or quarantined; every one with events), 1 unknown or database\n"
            "error, 2 usage.\n");
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

/* One id's document into a parsed value (NULL with the message printed). */
static json_t *event_doc(struct pgstore *db, const char *cmd, const char *id, const char *tz, struct buf *b)
{
    char err[512];
    buf_reset(b);
    if (view_event(db, id, tz, b, err, sizeof err) != VIEW_OK) {
        fprintf(stderr, "kinerja %s: %s\n", cmd, err);
        return NULL;
    }
    json_t *doc = json_loadb(b->data, b->len, 0, NULL);
    if (!json_string_value(json_object_get(doc, "state"))) {
        fprintf(stderr, "kinerja %s: the document of %s cannot be read\n", cmd, id);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* kinerja event ID [--json] and kinerja events ID... [--json] (SPEC 9): the same report;
 * events takes several ids and its JSON is an array of the documents. */
int cmd_event(struct cli *cli, int argc, char **argv)
{
    const char *cmd = argc > 0 && !strcmp(argv[0], "events") ? "events" : "event";
    bool multi = !strcmp(cmd, "events");
    const char **ids = calloc((size_t)(argc > 0 ? argc : 1), sizeof *ids);
    size_t n = 0;
    bool json = false;
    if (!ids) {
        fprintf(stderr, "kinerja %s: out of memory\n", cmd);
        return CLI_FAIL;
    }
    int rc = CLI_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            event_usage(stdout);
            rc = CLI_OK;
            goto out;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (a[0] == '-') {
            fprintf(stderr, "kinerja %s: unknown option '%s'\n", cmd, a);
            event_usage(stderr);
            goto out;
        } else if (n == 0 || multi) {
            if (!event_valid_uuid(a, strlen(a))) {
                fprintf(stderr, "kinerja %s: ID must be a UUID (8-4-4-4-12 hexadecimal digits), got '%s'\n",
                        cmd, a);
                goto out;
            }
            ids[n++] = a;
        } else {
            fprintf(stderr, "kinerja event: one ID only, got '%s' too (kinerja events ID... takes several)\n",
                    a);
            goto out;
        }
    }
    if (n == 0) {
        fprintf(stderr, "kinerja %s: ID missing\n", cmd);
        event_usage(stderr);
        goto out;
    }
    rc = CLI_FAIL;
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja %s: out of memory\n", cmd);
        goto out;
    }
    if (db->err) {
        fprintf(stderr, "kinerja %s: PostgreSQL unreachable: %s\n", cmd, db->errstr);
        pgstore_destroy(&db);
        goto out;
    }
    const char *tz = config_str(cli->cfg, "time.zone");
    struct buf b;
    buf_init(&b, EVENT_CMD_JSON_MAX);
    bool all_found = true, failed = false;
    if (json && multi)
        printf("[");
    for (size_t k = 0; k < n && !failed; k++) {
        json_t *doc = event_doc(db, cmd, ids[k], tz, &b);
        if (!doc) {
            failed = true;
            break;
        }
        all_found = all_found && strcmp(json_string_value(json_object_get(doc, "state")), "unknown") != 0;
        if (json)
            printf("%s%.*s%s", k ? "," : "", (int)b.len, b.data, multi ? "" : "\n");
        else {
            if (k)
                printf("\n");
            event_print_table(doc, tz);
        }
        json_decref(doc);
    }
    if (json && multi)
        printf("]\n");
    rc = failed || ferror(stdout) ? CLI_FAIL : all_found ? CLI_OK : CLI_FAIL;
    buf_free(&b);
    pgstore_destroy(&db);
out:
    free(ids);
    return rc;
}
