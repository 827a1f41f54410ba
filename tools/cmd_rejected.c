/*
 * kinerja rejected [--source S] [--since T] [--limit N] [--json] (SPEC 9): what the
 * workers refused and why, newest first. The document is common/views.c's
 * view_rejections_where, the one kinerja-web's operator page and /api/v1/rejections show.
 */
#include "buf.h"
#include "cli.h"
#include "views.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REJECTED_JSON_MAX (8u << 20)
#define REJECTED_DEFAULT_LIMIT 100

static void rejected_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kinerja rejected [--source S] [--since T] [--limit N] [--json]\n"
        "  The events the workers refused (unknown employees, wrong relations, stale sign-offs,\n"
        "  ...), newest first, with their reasons.\n"
        "  --source S  only events whose source starts with S (e.g. kiosk:dukcapil-)\n"
        "  --since T   only those refused at or after T (e.g. 2026-05-01 or \"2026-05-01 08:00+07\";\n"
        "              without a zone, T is in time.zone)\n"
        "  --limit N   at most N (1..%d, default %d)\n"
        "  --json      {\"rejections\":[{\"event_id\",\"type\",\"source\",\"client\",\"reason\",\"at\"}]}\n"
        "Exit 0 ok (also when none), 1 database error, 2 usage.\n",
        VIEW_REJECTIONS_MAX, REJECTED_DEFAULT_LIMIT);
}

/* Prints s with control characters replaced, so a reason cannot drive the terminal. */
static void rejected_put(const char *s, int width)
{
    int n = 0;
    for (; s && *s; s++, n++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stdout);
    for (; n < width; n++)
        fputc(' ', stdout);
}

int cmd_rejected(struct cli *cli, int argc, char **argv)
{
    const char *source = NULL, *since = NULL;
    long limit = REJECTED_DEFAULT_LIMIT;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            rejected_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--source") && i + 1 < argc) {
            source = argv[++i];
        } else if (!strcmp(a, "--since") && i + 1 < argc) {
            since = argv[++i];
        } else if (!strcmp(a, "--limit") && i + 1 < argc) {
            char *end;
            limit = strtol(argv[++i], &end, 10);
            if (*end || limit < 1 || limit > VIEW_REJECTIONS_MAX) {
                fprintf(stderr, "kinerja rejected: --limit must be an integer 1..%d, got '%s'\n",
                        VIEW_REJECTIONS_MAX, argv[i]);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "kinerja rejected: unknown or incomplete option '%s'\n", a);
            rejected_usage(stderr);
            return CLI_USAGE;
        }
    }
    if ((source && strlen(source) > 64) || (since && strlen(since) > 64)) {
        fprintf(stderr, "kinerja rejected: --source and --since are at most 64 characters\n");
        return CLI_USAGE;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja rejected: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja rejected: PostgreSQL unreachable: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    char err[512];
    struct buf b;
    buf_init(&b, REJECTED_JSON_MAX);
    int rc = CLI_FAIL;
    if (view_rejections_where(db, limit, source, since, config_str(cli->cfg, "time.zone"), &b, err,
                              sizeof err) != VIEW_OK) {
        fprintf(stderr, "kinerja rejected: %s\n", err);
    } else if (json) {
        printf("%.*s\n", (int)b.len, b.data);
        rc = ferror(stdout) ? CLI_FAIL : CLI_OK;
    } else {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        json_t *rows = json_object_get(doc, "rejections");
        size_t i;
        json_t *r;
        printf("%-25s %-36s %-16s %-26s %s\n", "AT", "EVENT", "TYPE", "SOURCE", "REASON");
        json_array_foreach(rows, i, r)
        {
            rejected_put(json_string_value(json_object_get(r, "at")), 25);
            printf(" ");
            rejected_put(json_string_value(json_object_get(r, "event_id")), 36);
            printf(" ");
            rejected_put(json_string_value(json_object_get(r, "type")), 16);
            printf(" ");
            rejected_put(json_string_value(json_object_get(r, "source")), 26);
            printf(" ");
            rejected_put(json_string_value(json_object_get(r, "reason")), 0);
            printf("\n");
        }
        printf("%zu rejected%s\n", json_array_size(rows),
               json_array_size(rows) == (size_t)limit ? " (limit reached)" : "");
        json_decref(doc);
        rc = ferror(stdout) ? CLI_FAIL : CLI_OK;
    }
    buf_free(&b);
    pgstore_destroy(&db);
    return rc;
}
