/*
 * wfevent: send one workflow event and report the broker's ack and the worker's
 * verdict (see wfevent.h).
 */
#include "wfevent.h"

#include "clientkeys.h"

#include "daemon.h"
#include "event.h"
#include "inboxstore.h"
#include "sender.h"
#include "uuid4.h"

#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WFEVENT_REPLY_TIMEOUT_MS 5000
#define WFEVENT_POLL_MS 100
#define WFEVENT_ERROR_MAX 512
#define WFEVENT_SOURCE_MAX 64
#define WFEVENT_UUID_LEN 37
#define WFEVENT_ENVELOPE_FIELDS 7 /* v, id, type, source, ts, employee, period */

struct wfevent_request {
    const struct wfevent *ev;
    char id[WFEVENT_UUID_LEN];
    bool handed_over;
    bool acked;
    enum sender_status status;
    char error[WFEVENT_ERROR_MAX];
};

void wfevent_init(struct wfevent *ev, const char *cmd, const char *type)
{
    memset(ev, 0, sizeof *ev);
    ev->cmd = cmd;
    ev->type = type;
    ev->timeout_s = WFEVENT_DEFAULT_TIMEOUT_S;
    ev->wait_s = WFEVENT_DEFAULT_WAIT_S;
}

void wfevent_add_str(struct wfevent *ev, const char *key, const char *value)
{
    if (ev->n_fields < WFEVENT_MAX_FIELDS)
        ev->fields[ev->n_fields++] = (struct wfevent_field){.key = key, .str = value};
}

void wfevent_add_int(struct wfevent *ev, const char *key, long long value)
{
    if (ev->n_fields < WFEVENT_MAX_FIELDS)
        ev->fields[ev->n_fields++] = (struct wfevent_field){.key = key, .num = value};
}

static int wfevent_parse_seconds(const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > WFEVENT_MAX_S)
        return -1;
    *out = v;
    return 0;
}

int wfevent_common_option(struct wfevent *ev, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--no-wait")) {
        ev->wait_s = 0;
        return 1;
    }
    bool timeout = !strcmp(a, "--timeout"), wait = !strcmp(a, "--wait");
    if (!timeout && !wait)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "kinerja %s: %s needs a value\n", ev->cmd, a);
        return -1;
    }
    const char *v = argv[++*i];
    if (wfevent_parse_seconds(v, timeout ? 1 : 0, timeout ? &ev->timeout_s : &ev->wait_s) < 0) {
        fprintf(stderr, "kinerja %s: %s must be a whole number %d..%d, got '%s'\n", ev->cmd, a,
                timeout ? 1 : 0, WFEVENT_MAX_S, v);
        return -1;
    }
    return 1;
}

void wfevent_common_usage(FILE *out)
{
    fprintf(out,
            "  --timeout S     seconds to wait for the broker's ack (default %d)\n"
            "  --wait S        seconds to wait for the ingest worker to store or refuse it (default %d)\n"
            "  --no-wait       print the ack and stop\n",
            WFEVENT_DEFAULT_TIMEOUT_S, WFEVENT_DEFAULT_WAIT_S);
}

int wfevent_check_nip(const char *cmd, const char *what, const char *nip)
{
    if (!nip || !event_valid_nip(nip, strlen(nip))) {
        fprintf(stderr, "kinerja %s: %s must be an 18-digit NIP, got '%s'\n", cmd, what, nip ? nip : "");
        return -1;
    }
    return 0;
}

int wfevent_check_signer(const char *cmd, const char *what, const char *id)
{
    if (!id || (!event_valid_nip(id, strlen(id)) && !event_valid_evaluator_id(id, strlen(id)))) {
        fprintf(stderr,
                "kinerja %s: %s must be an 18-digit NIP or an evaluator id (1..%d of A-Z a-z 0-9 . _ : -, "
                "not all digits), got '%s'\n",
                cmd, what, EVENT_EVALUATOR_ID_MAX, id ? id : "");
        return -1;
    }
    return 0;
}

int wfevent_check_period(const char *cmd, const char *period)
{
    if (!period) {
        fprintf(stderr, "kinerja %s: --period P is required\n", cmd);
        return -1;
    }
    if (!event_valid_period(period, strlen(period))) {
        fprintf(stderr, "kinerja %s: --period must be " EVENT_PERIOD_RULE ", got '%s'\n", cmd, period);
        return -1;
    }
    return 0;
}

/* A random (version 4) UUID. */

static void wfevent_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* The one event, then the end. */
static int wfevent_next(void *ctx, struct sender_item *out)
{
    struct wfevent_request *rq = ctx;
    const struct wfevent *ev = rq->ev;
    if (rq->handed_over)
        return 0;
    char source[WFEVENT_SOURCE_MAX];
    snprintf(source, sizeof source, "cli:%s", ev->cmd);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, WFEVENT_ENVELOPE_FIELDS + ev->n_fields);
    wfevent_pack_str(&pk, "v"), msgpack_pack_int(&pk, 1);
    wfevent_pack_str(&pk, "id"), wfevent_pack_str(&pk, rq->id);
    wfevent_pack_str(&pk, "type"), wfevent_pack_str(&pk, ev->type);
    wfevent_pack_str(&pk, "source"), wfevent_pack_str(&pk, source);
    wfevent_pack_str(&pk, "ts"), msgpack_pack_int64(&pk, daemon_wall_ms());
    wfevent_pack_str(&pk, "employee"), wfevent_pack_str(&pk, ev->employee);
    wfevent_pack_str(&pk, "period"), wfevent_pack_str(&pk, ev->period);
    for (size_t i = 0; i < ev->n_fields; i++) {
        wfevent_pack_str(&pk, ev->fields[i].key);
        if (ev->fields[i].str)
            wfevent_pack_str(&pk, ev->fields[i].str);
        else
            msgpack_pack_int64(&pk, ev->fields[i].num);
    }
    if (!sb.data) {
        fprintf(stderr, "kinerja %s: out of memory\n", ev->cmd);
        return -1;
    }
    out->data = sb.data; /* ownership passes to the sender */
    out->len = sb.size;
    out->tag = 0;
    snprintf(out->id, sizeof out->id, "%s", rq->id);
    rq->handed_over = true;
    return 1;
}

static void wfevent_on_ack(void *ctx, const struct sender_item *item, enum sender_status st,
                           const char *error, double latency_ms)
{
    struct wfevent_request *rq = ctx;
    (void)item;
    (void)latency_ms;
    rq->acked = true;
    rq->status = st;
    snprintf(rq->error, sizeof rq->error, "%s", error ? error : "");
}

static void wfevent_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Prints the result's position after the event was stored. */
/* The result as the event left it; times in zone (the session's, pgstore_use_time_zone). */
static void wfevent_print_state(struct pgstore *db, const struct wfevent *ev, const char *zone)
{
    struct inboxstore_result r;
    if (inboxstore_result(db, ev->employee, ev->period, &r) < 0 || !r.exists) {
        printf("stored\n");
        if (ev->stored_note)
            printf("%s\n", ev->stored_note);
        return;
    }
    printf("stored: the result of %s for %s is now %s (version %d", ev->employee, ev->period, r.state,
           r.version);
    if (r.predikat[0])
        printf(", predikat %s", r.predikat);
    if (!strcmp(r.state, "approved") && r.appeal_deadline[0])
        printf(", appeals until %s %s", r.appeal_deadline, zone);
    printf(")\n");
    if (ev->stored_note)
        printf("%s\n", ev->stored_note);
}

/* Waits up to ev->wait_s for the ingest worker's verdict on the event id. */
static int wfevent_await(struct cli *cli, const struct wfevent *ev, const char *id)
{
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja %s: out of memory\n", ev->cmd);
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja %s: accepted, but cannot see whether it was stored: %s\n", ev->cmd,
                db->errstr);
        pgstore_destroy(&db);
        return CLI_OK;
    }
    const char *zone = config_str(cli->cfg, "time.zone");
    if (pgstore_use_time_zone(db, zone) < 0) {
        fprintf(stderr, "kinerja %s: %s; times in UTC\n", ev->cmd, db->errstr);
        zone = "UTC";
        pgstore_use_time_zone(db, zone);
    }
    long long deadline = daemon_now_ms() + ev->wait_s * 1000LL;
    char reason[INBOXSTORE_TEXT_MAX];
    enum inboxstore_outcome out = INBOXSTORE_NOT_YET;
    int rc = CLI_OK;
    for (;;) {
        if (inboxstore_event_outcome(db, id, &out, reason, sizeof reason) < 0) {
            fprintf(stderr, "kinerja %s: accepted, but cannot see whether it was stored: %s\n", ev->cmd,
                    db->errstr);
            break;
        }
        if (out != INBOXSTORE_NOT_YET || daemon_now_ms() >= deadline)
            break;
        wfevent_sleep_ms(WFEVENT_POLL_MS);
    }
    switch (out) {
    case INBOXSTORE_STORED:
        wfevent_print_state(db, ev, zone);
        break;
    case INBOXSTORE_REJECTED:
        printf("refused: %s\n", reason);
        fprintf(stderr, "kinerja %s: the ingest worker refused it: %s\n", ev->cmd, reason);
        rc = CLI_FAIL;
        break;
    case INBOXSTORE_NOT_YET:
        if (!db->err)
            fprintf(stderr,
                    "kinerja %s: accepted, not stored yet after %lds (is an ingest worker running?); "
                    "see `kinerja score %s --period %s`\n",
                    ev->cmd, ev->wait_s, ev->employee, ev->period);
        break;
    }
    pgstore_destroy(&db);
    return rc;
}

int wfevent_send(struct cli *cli, const struct wfevent *ev)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "kinerja %s: libsodium failed to start\n", ev->cmd);
        return CLI_FAIL;
    }
    struct wfevent_request rq = {.ev = ev};
    uuid4_generate(rq.id);

    int timeout_ms = (int)(ev->timeout_s * 1000);
    struct sender_opts opts = {
        .endpoint = config_str(cli->cfg, "intake.endpoint"),
        .batch = 1,
        .window = 1,
        .max_frame = (size_t)config_int(cli->cfg, "intake.max_frame_bytes"),
        .timeout_ms = timeout_ms,
        .reply_timeout_ms = WFEVENT_REPLY_TIMEOUT_MS < timeout_ms ? WFEVENT_REPLY_TIMEOUT_MS : timeout_ms,
        .progress = false,
    };
    struct sender_counts counts;
    char err[WFEVENT_ERROR_MAX];
    struct clientkeys keys;
    if (clientkeys_load(cli->cfg, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "kinerja %s: %s\n", ev->cmd, err);
        return CLI_FAIL;
    }
    clientkeys_apply(&keys, &opts);
    int sent = sender_run(&opts, wfevent_next, wfevent_on_ack, &rq, &counts, err, sizeof err);
    clientkeys_clear(&keys);
    if (sent < 0) {
        fprintf(stderr, "kinerja %s: %s\n", ev->cmd, err);
        return CLI_FAIL;
    }
    if (!rq.acked || rq.status == SENDER_UNACKED) {
        fprintf(stderr, "kinerja %s: %s: no ack from %s within %lds%s%s\n", ev->cmd, rq.id, opts.endpoint,
                ev->timeout_s, rq.error[0] ? ": " : "", rq.error);
        return CLI_FAIL;
    }
    switch (rq.status) {
    case SENDER_ACCEPTED:
        printf("%s accepted\n", rq.id);
        fflush(stdout);
        return ev->wait_s > 0 ? wfevent_await(cli, ev, rq.id) : CLI_OK;
    case SENDER_DUPLICATE:
        /* a fresh random id cannot have been seen: say so rather than claim success */
        printf("%s duplicate\n", rq.id);
        fprintf(stderr, "kinerja %s: the broker reports id %s as seen before; nothing was queued\n", ev->cmd,
                rq.id);
        return CLI_FAIL;
    case SENDER_REJECTED:
        printf("%s rejected\n", rq.id);
        fprintf(stderr, "kinerja %s: rejected: %s\n", ev->cmd, rq.error);
        return CLI_FAIL;
    case SENDER_UNACKED:
        break;
    }
    return CLI_FAIL;
}
