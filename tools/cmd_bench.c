/*
 * kinerja bench [--events N] [--clients C] [--batch B] [--json]: measures the running
 * stack (SPEC 9). C simulated kiosks (one thread and one DEALER socket each) send N
 * citizen_feedback events in frames of B; reported: acks/s at the broker, end-to-end
 * events/s until PostgreSQL holds them (event_log or rejected_events), ack latency
 * p50/p99, and in the same run the raw ceilings of this machine (common/ceiling.h) with
 * each figure's ratio to its ceiling.
 */
#include "ceiling.h"
#include "cli.h"
#include "clientkeys.h"
#include "daemon.h"
#include "pgstore.h"
#include "rstream.h"
#include "sender.h"
#include "uuid4.h"

#include <errno.h>
#include <msgpack.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_DEFAULT_EVENTS 100000
#define BENCH_DEFAULT_CLIENTS 8
#define BENCH_DEFAULT_BATCH 100
#define BENCH_WINDOW 4
#define BENCH_SAMPLE_ORG 256
#define BENCH_E2E_TIMEOUT_MS 300000
#define BENCH_POLL_MS 50

struct bench_client {
    int index;
    size_t count, made;
    const char (*nips)[19];
    const char (*units)[65];
    size_t norg;
    const struct sender_opts *opts;
    double *latencies; /* one per event */
    size_t nlat;
    struct sender_counts counts;
    long long end_ms;
    int rc;
    char err[256];
};

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static int bench_next(void *ctx, struct sender_item *out)
{
    struct bench_client *c = ctx;
    if (c->made >= c->count)
        return 0;
    size_t k = c->made++;
    char id[37], source[64];
    uuid4_generate(id);
    snprintf(source, sizeof source, "kiosk:bench-%02d", c->index);
    const char *unit = c->norg ? c->units[k % c->norg] : "BENCH";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, c->norg ? 8 : 7);
    pack_str(&pk, "v"), msgpack_pack_int(&pk, 1);
    pack_str(&pk, "id"), pack_str(&pk, id);
    pack_str(&pk, "type"), pack_str(&pk, "citizen_feedback");
    pack_str(&pk, "source"), pack_str(&pk, source);
    pack_str(&pk, "ts"), msgpack_pack_int64(&pk, daemon_wall_ms());
    pack_str(&pk, "unit"), pack_str(&pk, unit);
    pack_str(&pk, "rating"), msgpack_pack_int(&pk, (int)(1 + k % 4));
    if (c->norg)
        pack_str(&pk, "employee"), pack_str(&pk, c->nips[k % c->norg]);
    out->data = sb.data;
    out->len = sb.size;
    out->tag = (long)k;
    snprintf(out->id, sizeof out->id, "%s", id);
    return 1;
}

static void bench_ack(void *ctx, const struct sender_item *item, enum sender_status st, const char *error,
                      double latency_ms)
{
    struct bench_client *c = ctx;
    (void)item;
    (void)error;
    if (st != SENDER_UNACKED && c->nlat < c->count)
        c->latencies[c->nlat++] = latency_ms;
}

static void *bench_client_run(void *arg)
{
    struct bench_client *c = arg;
    c->rc = sender_run(c->opts, bench_next, bench_ack, c, &c->counts, c->err, sizeof c->err);
    c->end_ms = daemon_now_ms();
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void bench_usage(FILE *out)
{
    fprintf(out, "usage: kinerja bench [--events N] [--clients C] [--batch B] [--json]\n"
                 "  Against the running stack: N citizen_feedback events (default %d) from C simulated\n"
                 "  kiosks (default %d), B events per frame (default %d; 1 = one request per event).\n"
                 "  Reports acks/s at the broker, end-to-end events/s until stored in PostgreSQL,\n"
                 "  ack latency p50/p99, and the ceilings of this machine measured in the same run:\n"
                 "  pipelined XADD into the same Redis, COPY of the same rows into the same PostgreSQL.\n"
                 "  Events go to employees of the imported organisation (any are fine).\n",
            BENCH_DEFAULT_EVENTS, BENCH_DEFAULT_CLIENTS, BENCH_DEFAULT_BATCH);
}

static long long stored_total(struct pgstore *db)
{
    struct pg_status st;
    if (pgstore_status(db, &st) < 0)
        return -1;
    return st.stored + st.rejected;
}

int cmd_bench(struct cli *cli, int argc, char **argv)
{
    long events = BENCH_DEFAULT_EVENTS, clients = BENCH_DEFAULT_CLIENTS, batch = BENCH_DEFAULT_BATCH;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long *target = !strcmp(a, "--events") ? &events : !strcmp(a, "--clients") ? &clients
                                                      : !strcmp(a, "--batch")     ? &batch
                                                                                  : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bench_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (target && i + 1 < argc) {
            char *end;
            errno = 0;
            *target = strtol(argv[++i], &end, 10);
            if (errno || *end || *target <= 0 || *target > 100000000) {
                fprintf(stderr, "kinerja bench: %s: must be a positive whole number\n", a);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "kinerja bench: unexpected argument '%s'\n", a);
            bench_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (clients > 256)
        clients = 256;
    if (batch > config_int(cli->cfg, "intake.max_batch"))
        batch = config_int(cli->cfg, "intake.max_batch");
    if (sodium_init() < 0) {
        fprintf(stderr, "kinerja bench: libsodium failed to start\n");
        return CLI_FAIL;
    }

    char err[512];
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db || db->err) {
        fprintf(stderr, "kinerja bench: postgres: %s\n", db ? db->errstr : "out of memory");
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    redisContext *rc = rstream_connect(config_str(cli->cfg, "redis.url"), (int)config_int(cli->cfg, "redis.timeout_ms"),
                                       err, sizeof err);
    if (!rc) {
        fprintf(stderr, "kinerja bench: redis: %s\n", err);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }

    static char nips[BENCH_SAMPLE_ORG][19];
    static char units[BENCH_SAMPLE_ORG][65];
    size_t norg = 0;
    if (ceiling_sample_org(db->conn, nips, units, BENCH_SAMPLE_ORG, &norg, err, sizeof err) < 0) {
        fprintf(stderr, "kinerja bench: %s\n", err);
        goto fail;
    }
    if (!norg)
        fprintf(stderr, "kinerja bench: no organisation imported: events go to unit BENCH and end in "
                        "rejected_events (still stored; the figures hold)\n");

    long long base = stored_total(db);
    if (base < 0) {
        fprintf(stderr, "kinerja bench: postgres: %s\n", db->errstr);
        goto fail;
    }

    struct clientkeys keys; /* every simulated kiosk uses this client's key pair */
    if (clientkeys_load(cli->cfg, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "kinerja bench: %s\n", err);
        goto fail;
    }
    struct sender_opts opts = {
        .endpoint = config_str(cli->cfg, "intake.endpoint"),
        .batch = (size_t)batch,
        .window = BENCH_WINDOW,
        .max_frame = (size_t)config_int(cli->cfg, "intake.max_frame_bytes"),
        .timeout_ms = 600000,
        .reply_timeout_ms = 10000,
    };
    clientkeys_apply(&keys, &opts);
    struct bench_client *cs = calloc((size_t)clients, sizeof *cs);
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    double *lat = calloc((size_t)events, sizeof *lat);
    if (!cs || !th || !lat) {
        fprintf(stderr, "kinerja bench: out of memory\n");
        free(cs), free(th), free(lat);
        goto fail;
    }
    if (!json)
        fprintf(stderr, "bench: %ld events, %ld clients, %ld per frame -> %s\n", events, clients, batch, opts.endpoint);
    long long start = daemon_now_ms();
    size_t offset = 0;
    for (long i = 0; i < clients; i++) {
        struct bench_client *c = &cs[i];
        c->index = (int)i;
        c->count = (size_t)(events / clients + (i < events % clients ? 1 : 0));
        c->nips = (const char(*)[19])nips;
        c->units = (const char(*)[65])units;
        c->norg = norg;
        c->opts = &opts;
        c->latencies = lat + offset;
        offset += c->count;
        pthread_create(&th[i], NULL, bench_client_run, c);
    }
    size_t accepted = 0, acked = 0, unacked = 0, nlat = 0;
    long long end = start;
    for (long i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        struct bench_client *c = &cs[i];
        accepted += cs[i].counts.accepted;
        acked += c->counts.accepted + c->counts.duplicate + c->counts.rejected;
        unacked += c->counts.unacked;
        if (c->end_ms > end)
            end = c->end_ms;
        memmove(lat + nlat, c->latencies, c->nlat * sizeof *lat);
        nlat += c->nlat;
        if (c->rc < 0)
            fprintf(stderr, "kinerja bench: client %ld: %s\n", i, c->err);
    }
    double intake_s = (double)(end - start) / 1000.0;

    long long e2e_end = 0;
    for (;;) {
        long long now = daemon_now_ms();
        long long stored = stored_total(db);
        if (stored >= base + (long long)accepted) {
            e2e_end = now;
            break;
        }
        if (stored < 0 || now - start > BENCH_E2E_TIMEOUT_MS) {
            fprintf(stderr, "kinerja bench: only %lld of %zu events stored after %d s; is the ingest worker running?\n",
                    stored - base, accepted, BENCH_E2E_TIMEOUT_MS / 1000);
            break;
        }
        usleep(BENCH_POLL_MS * 1000);
    }
    double e2e_s = e2e_end ? (double)(e2e_end - start) / 1000.0 : 0;

    qsort(lat, nlat, sizeof *lat, cmp_double);
    double p50 = percentile(lat, nlat, 0.50), p99 = percentile(lat, nlat, 0.99);
    size_t payload = 200; /* about the size of one simulated event's msgpack */
    double xadd = 0, copy = 0;
    if (ceiling_xadd(rc, (size_t)events, payload, &xadd, err, sizeof err) < 0)
        fprintf(stderr, "kinerja bench: XADD ceiling: %s\n", err);
    if (ceiling_copy(db->conn, (size_t)events, payload, &copy, err, sizeof err) < 0)
        fprintf(stderr, "kinerja bench: COPY ceiling: %s\n", err);
    double intake = intake_s > 0 ? (double)acked / intake_s : 0;
    double e2e = e2e_s > 0 ? (double)accepted / e2e_s : 0;
    double intake_ratio = xadd > 0 ? intake / xadd : 0, e2e_ratio = copy > 0 ? e2e / copy : 0;

    if (json) {
        printf("{\"events\": %ld, \"clients\": %ld, \"batch\": %ld, \"accepted\": %zu, \"unacked\": %zu, "
               "\"intake_per_s\": %.1f, \"e2e_per_s\": %.1f, \"ack_p50_ms\": %.2f, \"ack_p99_ms\": %.2f, "
               "\"ceiling_xadd_per_s\": %.1f, \"ceiling_copy_per_s\": %.1f, \"intake_ratio\": %.3f, "
               "\"e2e_ratio\": %.3f}\n",
               events, clients, batch, accepted, unacked, intake, e2e, p50, p99, xadd, copy, intake_ratio, e2e_ratio);
    } else {
        printf("events sent           %ld (%zu accepted, %zu without final ack)\n", events, accepted, unacked);
        printf("intake (acks/s)       %10.0f   %.0f%% of pipelined XADD ceiling %.0f/s\n", intake, 100 * intake_ratio,
               xadd);
        printf("end-to-end (stored/s) %10.0f   %.0f%% of COPY ceiling %.0f/s\n", e2e, 100 * e2e_ratio, copy);
        printf("ack latency           p50 %.1f ms, p99 %.1f ms (per frame of %ld)\n", p50, p99, batch);
    }
    free(cs), free(th), free(lat);
    clientkeys_clear(&keys);
    redisFree(rc);
    pgstore_destroy(&db);
    return unacked || !e2e_end ? CLI_FAIL : CLI_OK;
fail:
    redisFree(rc);
    pgstore_destroy(&db);
    return CLI_FAIL;
}
