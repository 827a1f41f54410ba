/*
 * kinerja recalc [--period P] [--unit U] [--employee NIP] [--timeout S]: asks the score
 * worker to recompute now, by sending one `recalc` event (SPEC 3) through the broker
 * like any other client (tools/sender.h). The ingest worker stores it and the log's
 * trigger files it in recalc_requests, which the score worker picks up. Prints the
 * broker's ack; exit 1 unless it was accepted.
 */
#include "cli.h"
#include "clientkeys.h"
#include "daemon.h"
#include "event.h"
#include "sender.h"
#include "uuid4.h"

#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECALC_DEFAULT_TIMEOUT_S 30
#define RECALC_TIMEOUT_MAX_S 3600
#define RECALC_REPLY_TIMEOUT_MS 5000
#define RECALC_SOURCE "cli:recalc"
#define RECALC_ERROR_MAX 512

struct recalc_request {
    const char *period, *unit, *employee; /* NULL = all */
    char id[37];
    bool handed_over;
    enum sender_status status;
    bool acked;
    char error[RECALC_ERROR_MAX];
};

static void recalc_usage(FILE *out)
{
    fprintf(out,
            "usage: kinerja recalc [--period P] [--unit U] [--employee NIP] [--timeout S]\n"
            "  Sends a `recalc` event to the broker: the score worker rebuilds the scope's derived\n"
            "  data from the event log and recomputes its results. Without options: everything.\n"
            "  --period P      YYYY-MM, YYYY-Qn or YYYY\n"
            "  --unit U        one unit code\n"
            "  --employee NIP  one employee (18 digits)\n"
            "  --timeout S     seconds to wait for the broker's ack (default %d)\n"
            "Prints the ack (`<id> accepted`). Exit 0 when accepted, 1 otherwise (rejected:\n"
            "the broker's reason on stderr; no ack: the broker is unreachable), 2 usage.\n",
            RECALC_DEFAULT_TIMEOUT_S);
}

/* A random (version 4) UUID; the same as tools/cmd_bench.c's. */

static void recalc_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* The one event, then the end. */
static int recalc_next(void *ctx, struct sender_item *out)
{
    struct recalc_request *rq = ctx;
    if (rq->handed_over)
        return 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    size_t fields = 5 + (rq->period != NULL) + (rq->unit != NULL) + (rq->employee != NULL);
    msgpack_pack_map(&pk, fields);
    recalc_pack_str(&pk, "v"), msgpack_pack_int(&pk, 1);
    recalc_pack_str(&pk, "id"), recalc_pack_str(&pk, rq->id);
    recalc_pack_str(&pk, "type"), recalc_pack_str(&pk, "recalc");
    recalc_pack_str(&pk, "source"), recalc_pack_str(&pk, RECALC_SOURCE);
    recalc_pack_str(&pk, "ts"), msgpack_pack_int64(&pk, daemon_wall_ms());
    if (rq->period)
        recalc_pack_str(&pk, "period"), recalc_pack_str(&pk, rq->period);
    if (rq->unit)
        recalc_pack_str(&pk, "unit"), recalc_pack_str(&pk, rq->unit);
    if (rq->employee)
        recalc_pack_str(&pk, "employee"), recalc_pack_str(&pk, rq->employee);
    if (!sb.data) {
        fprintf(stderr, "kinerja recalc: out of memory\n");
        return -1;
    }
    out->data = sb.data; /* ownership passes to the sender */
    out->len = sb.size;
    out->tag = 0;
    snprintf(out->id, sizeof out->id, "%s", rq->id);
    rq->handed_over = true;
    return 1;
}

static void recalc_on_ack(void *ctx, const struct sender_item *item, enum sender_status st, const char *error,
                          double latency_ms)
{
    struct recalc_request *rq = ctx;
    (void)item;
    (void)latency_ms;
    rq->acked = true;
    rq->status = st;
    snprintf(rq->error, sizeof rq->error, "%s", error ? error : "");
}

static int recalc_parse_timeout(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > RECALC_TIMEOUT_MAX_S)
        return -1;
    *out = v;
    return 0;
}

int cmd_recalc(struct cli *cli, int argc, char **argv)
{
    struct recalc_request rq = {0};
    long timeout_s = RECALC_DEFAULT_TIMEOUT_S;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            recalc_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            rq.period = argv[++i];
        } else if (!strcmp(a, "--unit") && i + 1 < argc) {
            rq.unit = argv[++i];
        } else if (!strcmp(a, "--employee") && i + 1 < argc) {
            rq.employee = argv[++i];
        } else if (!strcmp(a, "--timeout") && i + 1 < argc) {
            if (recalc_parse_timeout(argv[++i], &timeout_s) < 0) {
                fprintf(stderr, "kinerja recalc: --timeout must be a whole number 1..%d, got '%s'\n",
                        RECALC_TIMEOUT_MAX_S, argv[i]);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "kinerja recalc: unexpected argument or missing value '%s'\n", a);
            recalc_usage(stderr);
            return CLI_USAGE;
        }
    }
    /* The broker checks these too; a typo on the command line is a usage error here. */
    if (rq.period && !event_valid_period(rq.period, strlen(rq.period))) {
        fprintf(stderr, "kinerja recalc: --period must be " EVENT_PERIOD_RULE ", got '%s'\n", rq.period);
        return CLI_USAGE;
    }
    if (rq.employee && !event_valid_nip(rq.employee, strlen(rq.employee))) {
        fprintf(stderr, "kinerja recalc: --employee must be an 18-digit NIP, got '%s'\n", rq.employee);
        return CLI_USAGE;
    }
    if (rq.unit && !*rq.unit) {
        fprintf(stderr, "kinerja recalc: --unit must not be empty\n");
        return CLI_USAGE;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "kinerja recalc: libsodium failed to start\n");
        return CLI_FAIL;
    }
    uuid4_generate(rq.id);

    int timeout_ms = (int)(timeout_s * 1000);
    struct sender_opts opts = {
        .endpoint = config_str(cli->cfg, "intake.endpoint"),
        .batch = 1,
        .window = 1,
        .max_frame = (size_t)config_int(cli->cfg, "intake.max_frame_bytes"),
        .timeout_ms = timeout_ms,
        .reply_timeout_ms = RECALC_REPLY_TIMEOUT_MS < timeout_ms ? RECALC_REPLY_TIMEOUT_MS : timeout_ms,
        .progress = false,
    };
    struct sender_counts counts;
    char err[RECALC_ERROR_MAX];
    struct clientkeys keys;
    if (clientkeys_load(cli->cfg, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "kinerja recalc: %s\n", err);
        return CLI_FAIL;
    }
    clientkeys_apply(&keys, &opts);
    int sent = sender_run(&opts, recalc_next, recalc_on_ack, &rq, &counts, err, sizeof err);
    clientkeys_clear(&keys);
    if (sent < 0) {
        fprintf(stderr, "kinerja recalc: %s\n", err);
        return CLI_FAIL;
    }
    if (!rq.acked || rq.status == SENDER_UNACKED) {
        fprintf(stderr, "kinerja recalc: %s: no ack from %s within %lds%s%s\n", rq.id, opts.endpoint,
                timeout_s, rq.error[0] ? ": " : "", rq.error);
        return CLI_FAIL;
    }
    switch (rq.status) {
    case SENDER_ACCEPTED:
        printf("%s accepted\n", rq.id);
        return CLI_OK;
    case SENDER_DUPLICATE:
        /* a fresh random id cannot have been seen: say so rather than claim success */
        printf("%s duplicate\n", rq.id);
        fprintf(stderr, "kinerja recalc: the broker reports id %s as seen before; nothing was queued\n",
                rq.id);
        return CLI_FAIL;
    case SENDER_REJECTED:
        printf("%s rejected\n", rq.id);
        fprintf(stderr, "kinerja recalc: rejected: %s\n", rq.error);
        return CLI_FAIL;
    case SENDER_UNACKED:
        break;
    }
    return CLI_FAIL;
}
