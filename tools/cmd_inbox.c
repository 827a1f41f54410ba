/*
 * kinerja inbox NIP [--json] [--limit N]: the notifications for one person, newest
 * first (SPEC 6, 9), read from the outbox table through common/inboxstore.h: sign-off
 * requests and reminders for a supervisor, approvals, returns and appeal decisions for
 * an employee, appeals to decide for the supervisor's supervisor.
 *
 * --json prints SPEC 9's shape: an array of {"id","kind","recipient","employee",
 * "period","version","created_at","payload"} (plus "status", "superseded" and
 * "superseded_by_version": a sign-off request a newer one replaced), the stored payload spliced
 * in unchanged, built by common/views.c (view_inbox, the same for kinerja-web). Without
 * --json a table with one line per notification and its gist.
 */
#include "buf.h"
#include "cli.h"
#include "event.h"
#include "inboxstore.h"
#include "views.h"
#include "wfevent.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INBOX_DEFAULT_LIMIT 100
#define INBOX_LIMIT_MAX 1000000L
#define INBOX_JSON_MAX (1u << 30) /* bound of the JSON document */
#define INBOX_GIST_MAX 160        /* characters of the table's last column */
#define INBOX_NAME_WIDTH 24
#define INBOX_TIME_CHARS 16 /* "YYYY-MM-DD HH:MM" of the ISO timestamp */

static void inbox_usage(FILE *out)
{
    fprintf(out,
            "usage: kinerja inbox NIP|EVALUATOR_ID [--json] [--limit N]\n"
            "  The notifications for NIP (or an evaluator who is not ASN, by id), newest first:\n"
            "  signoff_requested, signoff_reminder, inputs_missing, result_approved,\n"
            "  result_returned, appeal_filed, appeal_decided. A sign-off request a newer one\n"
            "  replaced is marked superseded (only the newest is current).\n"
            "  --json      an array of {\"id\",\"kind\",\"recipient\",\"employee\",\"period\",\"version\",\n"
            "              \"created_at\",\"payload\",\"status\",\"superseded\",\"superseded_by_version\"}\n"
            "  --limit N   at most N, the newest (default %d; 0 = all)\n"
            "Exit 0 ok (also when there is nothing), 1 unknown NIP or database error, 2 usage.\n",
            INBOX_DEFAULT_LIMIT);
}

/* ---------------------------------------------------------------- JSON */

/* SPEC 9's array, built by common/views.c as for the web. */
static int inbox_print_json(struct pgstore *db, const char *nip, long limit, const char *zone)
{
    char err[1024];
    struct buf b;
    buf_init(&b, INBOX_JSON_MAX);
    int rc = CLI_OK;
    if (view_inbox(db, nip, limit, zone, &b, err, sizeof err) != VIEW_OK) {
        fprintf(stderr, "kinerja inbox: %s\n", err);
        rc = CLI_FAIL;
    } else {
        fwrite(b.data, 1, b.len, stdout);
        fputc('\n', stdout);
        rc = ferror(stdout) ? CLI_FAIL : CLI_OK;
    }
    buf_free(&b);
    return rc;
}

/* ---------------------------------------------------------------- table */

/* Writes s to out (at most n bytes with the NUL) with control characters replaced, so
 * a name or a note cannot drive the terminal. */
static void inbox_clean(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; s && *s && k + 1 < n; s++)
        out[k++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
    out[k] = '\0';
}

static const char *inbox_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The gist of a notification for the table: what happened, in a few words. */
static void inbox_gist(const struct inboxstore_notification *n, char *out, size_t len)
{
    json_t *p = n->payload_json ? json_loads(n->payload_json, 0, NULL) : NULL;
    const char *kind = n->kind ? n->kind : "";
    char score[32] = "-";
    json_t *sc = json_object_get(p, "score");
    if (json_is_number(sc))
        snprintf(score, sizeof score, "%.2f", json_number_value(sc));
    const char *pred = inbox_str(p, "predikat");
    if (!strcmp(kind, "signoff_requested") || !strcmp(kind, "signoff_reminder")) {
        json_t *h = json_object_get(p, "highlights");
        json_t *rep = json_object_get(h, "replaces_version");
        char extra[64] = "";
        if (json_is_integer(rep))
            snprintf(extra, sizeof extra, ", replaces version %lld", (long long)json_integer_value(rep));
        char was[48] = "";
        if (n->superseded && n->has_superseded_by_version)
            snprintf(was, sizeof was, "superseded by version %d: ", n->superseded_by_version);
        else if (n->superseded)
            snprintf(was, sizeof was, "superseded: ");
        snprintf(out, len, "%s%s: predikat %s, score %s%s%s", was,
                 !strcmp(kind, "signoff_reminder") ? "still to sign" : "to sign", *pred ? pred : "-", score,
                 json_is_true(json_object_get(p, "calibration")) ? ", calibration flagged" : "", extra);
    } else if (!strcmp(kind, "inputs_missing")) {
        snprintf(out, len, "not offered for sign-off: %s", inbox_str(p, "note"));
    } else if (!strcmp(kind, "result_approved")) {
        const char *until = inbox_str(p, "appeal_deadline");
        snprintf(out, len, "approved by %s: predikat %s, score %s; appeals until %.10s",
                 inbox_str(p, "supervisor"), *pred ? pred : "-", score, until);
    } else if (!strcmp(kind, "result_returned")) {
        snprintf(out, len, "%s by %s: %s",
                 json_is_true(json_object_get(p, "reopened")) ? "reopened" : "returned",
                 inbox_str(p, "supervisor"), inbox_str(p, "note"));
    } else if (!strcmp(kind, "appeal_filed")) {
        snprintf(out, len, "appeal to decide%s: %s",
                 json_is_true(json_object_get(p, "calibration")) ? " (calibration flagged)" : "",
                 inbox_str(p, "reason"));
    } else if (!strcmp(kind, "appeal_decided")) {
        if (!strcmp(inbox_str(p, "decision"), "revise"))
            snprintf(out, len, "appeal decided by %s: revised to %s", inbox_str(p, "decider"), pred);
        else
            snprintf(out, len, "appeal decided by %s: upheld (%s)", inbox_str(p, "decider"),
                     *pred ? pred : "-");
    } else {
        snprintf(out, len, "%s", kind);
    }
    json_decref(p);
}

static int inbox_table_row(const struct inboxstore_notification *n, void *ctx)
{
    size_t *rows = ctx;
    char name[INBOX_NAME_WIDTH + 1], gist[INBOX_GIST_MAX + 1], clean[INBOX_GIST_MAX + 1];
    inbox_clean(name, sizeof name, n->employee_name ? n->employee_name : "");
    inbox_gist(n, gist, sizeof gist);
    inbox_clean(clean, sizeof clean, gist);
    char when[INBOX_TIME_CHARS + 1];
    snprintf(when, sizeof when, "%s", n->created_local ? n->created_local : "");
    char version[16] = "-";
    if (n->has_version)
        snprintf(version, sizeof version, "%d", n->version);
    printf("%-16s  %-17s  %-18s  %-*s  %-7s  %3s  %s\n", when, n->kind ? n->kind : "",
           n->employee ? n->employee : "", INBOX_NAME_WIDTH, name, n->period ? n->period : "", version,
           clean);
    (*rows)++;
    return 0;
}

static int inbox_print_table(struct pgstore *db, const char *nip, long limit, const char *zone)
{
    printf("Inbox of %s (times in %s)\n", nip, zone);
    printf("%-16s  %-17s  %-18s  %-*s  %-7s  %3s  %s\n", "created", "kind", "employee", INBOX_NAME_WIDTH,
           "name", "period", "ver", "what");
    size_t rows = 0;
    long long total = 0;
    if (inboxstore_each(db, nip, limit, inbox_table_row, &rows, &total) < 0) {
        fprintf(stderr, "kinerja inbox: %s\n", db->errstr);
        return CLI_FAIL;
    }
    if (total == 0)
        printf("(no notifications for %s)\n", nip);
    else if ((long long)rows < total)
        printf("(the newest %zu of %lld; --limit 0 shows all)\n", rows, total);
    return ferror(stdout) ? CLI_FAIL : CLI_OK;
}

int cmd_inbox(struct cli *cli, int argc, char **argv)
{
    const char *nip = NULL;
    bool json = false;
    long limit = INBOX_DEFAULT_LIMIT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            inbox_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--limit") && i + 1 < argc) {
            char *end;
            errno = 0;
            limit = strtol(argv[++i], &end, 10);
            if (errno || end == argv[i] || *end || limit < 0 || limit > INBOX_LIMIT_MAX) {
                fprintf(stderr, "kinerja inbox: --limit must be a whole number 0..%ld, got '%s'\n",
                        INBOX_LIMIT_MAX, argv[i]);
                return CLI_USAGE;
            }
        } else if (a[0] != '-' && !nip) {
            nip = a;
        } else {
            fprintf(stderr, "kinerja inbox: unexpected argument or missing value '%s'\n", a);
            inbox_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!nip) {
        fprintf(stderr, "kinerja inbox: the NIP is required\n");
        inbox_usage(stderr);
        return CLI_USAGE;
    }
    if (!event_valid_nip(nip, strlen(nip)) && !event_valid_evaluator_id(nip, strlen(nip))) {
        fprintf(stderr,
                "kinerja inbox: NIP must be 18 digits (or an evaluator id: 1..%d of A-Z a-z 0-9 . _ : -, "
                "not all digits), got '%s'\n",
                EVENT_EVALUATOR_ID_MAX, nip);
        return CLI_USAGE;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja inbox: out of memory\n");
        return CLI_FAIL;
    }
    int rc = CLI_FAIL;
    bool known = false;
    const char *zone = config_str(cli->cfg, "time.zone");
    if (db->err || pgstore_use_time_zone(db, zone) < 0 || inboxstore_known(db, nip, &known) < 0)
        fprintf(stderr, "kinerja inbox: %s\n", db->errstr);
    else if (!known)
        fprintf(stderr, "kinerja inbox: %s: unknown NIP (neither an employee nor an evaluator)\n", nip);
    else
        rc = json ? inbox_print_json(db, nip, limit, zone) : inbox_print_table(db, nip, limit, zone);
    pgstore_destroy(&db);
    return rc;
}
