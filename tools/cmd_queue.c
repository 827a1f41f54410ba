/*
 * kinerja queue --supervisor ID [--json] (SPEC 9): the sign-off queue of one pejabat
 * penilai, read from PostgreSQL through common/resultstore: the current versions in
 * pending_signoff of the employees whose supervisor (in the organisation data now,
 * SPEC 6) is ID, oldest pending_since first, each with its warnings (the highlights a
 * sign-off request carries: the calibration flag and the values it concerns, rater
 * groups hidden by anonymity, events that arrived late).
 *
 * ID is a NIP, or the id of an evaluator who is not ASN (evaluators.csv), so any 1..64
 * characters without control characters. Times are shown in time.zone. The --json
 * document (and the warnings) come from common/views.c, the same for kinerja-web.
 */
#include "buf.h"
#include "cli.h"
#include "resultstore.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_ID_MAX 64           /* characters of a supervisor or evaluator id */
#define QUEUE_JSON_MAX (1u << 28) /* bound of the JSON output */
#define QUEUE_WARNINGS_MAX 1024   /* bytes of one entry's warnings line */

static void queue_usage(FILE *out)
{
    fprintf(
        out,
        "usage: kinerja queue --supervisor ID [--json]\n"
        "  The sign-off queue of one pejabat penilai: every current score version waiting for\n"
        "  the sign-off of ID (results in pending_signoff whose employee's supervisor is ID in\n"
        "  the organisation data), oldest first, with employee, name, unit, period, version,\n"
        "  predikat, score, when it started waiting (in time.zone) and its warnings: the\n"
        "  calibration flag and the values it concerns, rater groups hidden by anonymity,\n"
        "  events that arrived late.\n"
        "  --supervisor ID  a NIP, or the id of an evaluator who is not ASN (1..%d characters)\n"
        "  --json           [{\"employee\",\"name\",\"unit\",\"period\",\"version\",\"predikat\",\"score\",\n"
        "                   \"pending_since\" (ISO 8601 with offset),\"calibration\",\"highlights\",\n"
        "                   \"warnings\":[text,...]}]\n"
        "Exit 0 ok (also when the queue is empty), 1 database error, 2 usage.\n",
        QUEUE_ID_MAX);
}

static bool queue_valid_id(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if ((*p & 0xc0) != 0x80)
            n++;
    }
    return n >= 1 && n <= QUEUE_ID_MAX;
}

/* Prints s with control characters replaced, so a name cannot drive the terminal. */
static void queue_put(const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stdout);
}

struct queue_print {
    long n;
};

static int queue_collect(const struct resultstore_queued *q, void *ctx)
{
    struct queue_print *qp = ctx;
    char warnings[QUEUE_WARNINGS_MAX];
    qp->n++;
    view_queue_warnings_line(q->highlights_json, q->calibration, warnings, sizeof warnings);
    const char *label = resultstore_predikat_label(q->predikat);
    printf("\n%ld. waiting since %s  ", qp->n, q->pending_since ? q->pending_since : "-");
    queue_put(q->name);
    printf(" (%s), ", q->employee ? q->employee : "?");
    queue_put(q->unit);
    printf("\n   period %s, version %d, predikat %s, score ", q->period ? q->period : "?", q->version,
           label ? label : "not decided");
    if (q->has_score)
        printf("%.2f\n", q->score);
    else
        printf("-\n");
    printf("   warnings: %s\n", warnings[0] ? warnings : "none");
    return 0;
}

int cmd_queue(struct cli *cli, int argc, char **argv)
{
    const char *supervisor = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            queue_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--supervisor") && i + 1 < argc) {
            supervisor = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "kinerja queue: unknown option or missing value '%s'\n", a);
            queue_usage(stderr);
            return CLI_USAGE;
        } else {
            fprintf(stderr,
                    "kinerja queue: unexpected argument '%s' (the supervisor goes after --supervisor)\n", a);
            return CLI_USAGE;
        }
    }
    if (!supervisor) {
        fprintf(stderr, "kinerja queue: --supervisor missing\n");
        queue_usage(stderr);
        return CLI_USAGE;
    }
    if (!queue_valid_id(supervisor)) {
        fprintf(stderr, "kinerja queue: --supervisor: must be 1..%d characters without control characters\n",
                QUEUE_ID_MAX);
        return CLI_USAGE;
    }

    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja queue: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja queue: PostgreSQL unreachable: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    const char *tz = config_str(cli->cfg, "time.zone");
    if (pgstore_use_time_zone(db, tz) < 0) {
        fprintf(stderr, "kinerja queue: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (json) {
        /* the document is common/views.c's, as for the web */
        char err[512];
        struct buf b;
        buf_init(&b, QUEUE_JSON_MAX);
        if (view_queue(db, supervisor, tz, &b, err, sizeof err) != VIEW_OK) {
            fprintf(stderr, "kinerja queue: %s\n", err);
            rc = CLI_FAIL;
        } else {
            printf("%s\n", b.data);
        }
        buf_free(&b);
        pgstore_destroy(&db);
        return rc == CLI_OK && ferror(stdout) ? CLI_FAIL : rc;
    }
    struct queue_print qp = {0};
    printf("Sign-off queue of %s, oldest first (times in %s)\n", supervisor, tz);
    fflush(stdout);
    int q = resultstore_each_queued(db, supervisor, queue_collect, &qp);
    if (q < 0) {
        fprintf(stderr, "kinerja queue: PostgreSQL: %s%s\n", db->errstr,
                strstr(db->errstr, "does not exist") ? " (run `kinerja migrate`?)" : "");
        rc = CLI_FAIL;
    } else if (qp.n == 0) {
        printf("No results are waiting for the sign-off of %s.\n", supervisor);
    } else {
        printf("\n%ld result%s waiting.\n", qp.n, qp.n == 1 ? "" : "s");
    }
    pgstore_destroy(&db);
    if (rc == CLI_OK && ferror(stdout))
        rc = CLI_FAIL;
    return rc;
}
