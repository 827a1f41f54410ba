/*
 * kinerja bench [--events N] [--clients C] [--batch B] [--window W] [--rate R] [--runs K]
 *               [--endpoint A[,B...]] [--no-e2e] [--json]: measures the running stack (SPEC 9). C simulated
 * kiosks (one thread and one DEALER socket each, W frames in flight) send N
 * citizen_feedback events in frames of B, as fast as the broker answers or paced at R
 * events/s in all. Reported: acks/s at the broker, end-to-end events/s until PostgreSQL
 * holds them (event_log or rejected_events), ack latency per event p50/p95/p99 (from
 * the event's making, or its scheduled time when paced, to its final ack: time spent
 * waiting for a free window slot counts), and in the same run the raw ceilings of this
 * machine (common/ceiling.h) with each figure's ratio to its ceiling. With --runs K the
 * whole measurement is repeated K times and the medians are reported. With several
 * endpoints (brokers sharing one Redis: scripts/stack.sh KINERJA_STACK_BROKERS) client
 * i sends to endpoint i mod their count; the ceilings are the same.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define BENCH_DEFAULT_EVENTS 100000
#define BENCH_DEFAULT_CLIENTS 8
#define BENCH_DEFAULT_BATCH 100
#define BENCH_DEFAULT_WINDOW 4
#define BENCH_RUNS_MAX 25
#define BENCH_SAMPLE_ORG 256
#define BENCH_E2E_TIMEOUT_MS 300000
#define BENCH_ENDPOINTS_MAX 16
#define BENCH_ENDPOINTS_BYTES 4096
#define BENCH_POLL_MS 50           /* Redis only: PostgreSQL is counted once, at the end */
#define BENCH_CEILING_CLIENT "cli" /* as long as the name the stack gives the CLI's key */

struct bench_client {
    int index, nclients;
    size_t count, made;
    const char (*nips)[19];
    const char (*units)[65];
    size_t norg;
    const struct sender_opts *opts;
    double rate;        /* events/s of all clients; 0: unpaced */
    long long start_us; /* the schedule's origin */
    int timer;          /* timerfd for the schedule, -1 unpaced */
    long long *made_us; /* per event: when it was made (scheduled) */
    double *latencies;  /* ms, one per event with a final ack */
    size_t nlat;
    size_t bytes; /* msgpack bytes of the events made */
    struct sender_counts counts;
    long long end_ms;
    int rc;
    char err[256];
};

struct bench_result {
    size_t accepted, acked, unacked;
    double intake, e2e, p50, p95, p99, xadd, copy, intake_ratio, e2e_ratio, event_bytes;
    bool e2e_ok;
};

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Paced: the time event k of this client is due (clients interleaved evenly). */
static long long due_us(const struct bench_client *c, size_t k)
{
    double slot = (double)k * c->nclients + c->index;
    return c->start_us + (long long)(slot * 1e6 / c->rate);
}

/* Paced and not yet due: arm the timer for it (the sender polls its fd). */
static int wait_due(struct bench_client *c, long long due)
{
    uint64_t ticks;
    if (read(c->timer, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        return -1;
    if (now_us() >= due)
        return 0;
    struct itimerspec its = {0};
    its.it_value.tv_sec = due / 1000000;
    its.it_value.tv_nsec = (due % 1000000) * 1000;
    if (timerfd_settime(c->timer, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return -1;
    return SENDER_NEXT_WAIT;
}

static int bench_next(void *ctx, struct sender_item *out)
{
    struct bench_client *c = ctx;
    if (c->made >= c->count)
        return 0;
    long long made = now_us();
    if (c->rate > 0) {
        long long due = due_us(c, c->made);
        int w = wait_due(c, due);
        if (w != 0)
            return w;
        made = due; /* latency from the schedule: a late send is the system's delay */
    }
    size_t k = c->made++;
    c->made_us[k] = made;
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
    c->bytes += sb.size;
    snprintf(out->id, sizeof out->id, "%s", id);
    return 1;
}

static void bench_ack(void *ctx, const struct sender_item *item, enum sender_status st, const char *error,
                      double latency_ms)
{
    struct bench_client *c = ctx;
    (void)error;
    (void)latency_ms; /* the frame's; ours runs from the event's making */
    size_t k = (size_t)item->tag;
    if (st != SENDER_UNACKED && c->nlat < c->count && k < c->count)
        c->latencies[c->nlat++] = (double)(now_us() - c->made_us[k]) / 1000.0;
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
    fprintf(out,
            "usage: kinerja bench [--events N] [--clients C] [--batch B] [--window W] [--rate R] [--runs K]\n"
            "                     [--endpoint A[,B...]] [--no-e2e] [--json]\n"
            "  Against the running stack: N citizen_feedback events (default %d) from C simulated\n"
            "  kiosks (default %d), B events per frame (default %d; 1 = one request per event), W frames\n"
            "  in flight per kiosk (default %d), as fast as acks come or paced at R events/s in all.\n"
            "  Reports acks/s at the broker, end-to-end events/s until stored in PostgreSQL (not with\n"
            "  --no-e2e), ack latency per event p50/p95/p99 (from its making, or its scheduled time\n"
            "  with --rate, to its final ack), and the ceilings of this machine measured in the same\n"
            "  run: pipelined XADD of entries shaped like the broker's (same fields, the events' mean\n"
            "  size, as many streams) into the same Redis, COPY of the same rows into the same\n"
            "  PostgreSQL. --runs K repeats it all K times (at most %d) and reports the medians.\n"
            "  --endpoint (repeatable, or comma-separated; default intake.endpoint): brokers to send\n"
            "  to, client i to endpoint i mod their count (at most %d).\n"
            "  Events go to employees of the imported organisation (any are fine).\n",
            BENCH_DEFAULT_EVENTS, BENCH_DEFAULT_CLIENTS, BENCH_DEFAULT_BATCH, BENCH_DEFAULT_WINDOW,
            BENCH_RUNS_MAX, BENCH_ENDPOINTS_MAX);
}

static long long stored_total(struct pgstore *db)
{
    struct pg_status st;
    if (pgstore_status(db, &st) < 0)
        return -1;
    return st.stored + st.rejected;
}

/* The ingest group's progress on one stream: 1 when every entry was delivered to it
 * (last-delivered-id = last-generated-id) and none is pending, i.e. every entry is
 * in PostgreSQL (the worker XACKs after its commit); 0 not yet; -1 on an error. A
 * stream or group that does not exist yet counts as not drained. */
static int shard_drained(redisContext *c, const char *key)
{
    redisReply *st = redisCommand(c, "XINFO STREAM %s", key);
    redisReply *gr = NULL;
    if (!st)
        return -1;
    const char *last = NULL;
    if (st->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < st->elements; i += 2)
            if (st->element[i]->type == REDIS_REPLY_STRING &&
                !strcmp(st->element[i]->str, "last-generated-id") &&
                st->element[i + 1]->type == REDIS_REPLY_STRING)
                last = st->element[i + 1]->str;
    int rc = 0;
    if (last && (gr = redisCommand(c, "XINFO GROUPS %s", key)) && gr->type == REDIS_REPLY_ARRAY) {
        for (size_t g = 0; g < gr->elements; g++) {
            const redisReply *info = gr->element[g];
            const char *name = NULL, *delivered = NULL;
            long long pending = -1;
            for (size_t i = 0; info->type == REDIS_REPLY_ARRAY && i + 1 < info->elements; i += 2) {
                const redisReply *k = info->element[i], *v = info->element[i + 1];
                if (k->type != REDIS_REPLY_STRING)
                    continue;
                if (!strcmp(k->str, "name") && v->type == REDIS_REPLY_STRING)
                    name = v->str;
                else if (!strcmp(k->str, "last-delivered-id") && v->type == REDIS_REPLY_STRING)
                    delivered = v->str;
                else if (!strcmp(k->str, "pending") && v->type == REDIS_REPLY_INTEGER)
                    pending = v->integer;
            }
            if (name && !strcmp(name, RSTREAM_GROUP_INGEST))
                rc = delivered && !strcmp(delivered, last) && pending == 0;
        }
    } else if (last && !gr) {
        rc = -1;
    }
    if (gr)
        freeReplyObject(gr);
    freeReplyObject(st);
    return rc;
}

/* 1 when the ingest group has every entry of every shard in PostgreSQL (see
 * shard_drained), 0 not yet, -1 on an error. Costs PostgreSQL nothing. */
static int ingest_drained(struct rlink *l, unsigned shards)
{
    char key[RSTREAM_KEY_MAX], why[256];
    for (unsigned k = 0; k < shards; k++) {
        rstream_stream_key(k, key, sizeof key);
        redisContext *c = rlink_shard(l, k, why, sizeof why);
        if (!c)
            return -1;
        int d = shard_drained(c, key);
        if (d != 1)
            return d;
    }
    return 1;
}

struct bench_params {
    long events, clients, batch, window, rate, runs;
    bool json, e2e;
    const char *endpoints[BENCH_ENDPOINTS_MAX]; /* none: intake.endpoint */
    size_t nendpoints;
    char endpoint_buf[BENCH_ENDPOINTS_BYTES]; /* the --endpoint values, split at commas */
    size_t endpoint_used;
};

/* Everything one run needs that outlives it. */
struct bench_env {
    const struct bench_params *p;
    struct pgstore *db;
    struct rlink rc; /* one server, or a cluster's masters */
    struct sender_opts opts;
    char (*nips)[19];
    char (*units)[65];
    size_t norg;
    unsigned shards;
    const char *ceiling_client;
};

/* Starts the clients of one run and waits for them; fills the intake part of r. */
static int run_clients(struct bench_env *env, struct bench_result *r, double *lat, size_t *nlat,
                       long long *start_out, size_t *bytes)
{
    const struct bench_params *p = env->p;
    struct bench_client *cs = calloc((size_t)p->clients, sizeof *cs);
    pthread_t *th = calloc((size_t)p->clients, sizeof *th);
    long long *made = calloc((size_t)p->events, sizeof *made);
    struct sender_opts *opts = calloc((size_t)p->clients, sizeof *opts);
    if (!cs || !th || !made || !opts) {
        free(cs), free(th), free(made), free(opts);
        fprintf(stderr, "kinerja bench: out of memory\n");
        return -1;
    }
    /* One ZeroMQ context (one I/O thread) for all the clients, each still with its own
     * socket and connection: a context each ran an I/O thread per client, on the cores
     * the stack is measured on (--batch 1 at 14 000/s: 3.7 -> 3.0 s of the bench's CPU
     * for 60 000 events). NULL (out of memory): each client makes its own. */
    void *zctx = zmq_ctx_new();
    long long start = daemon_now_ms(), start_us = now_us() + 1000;
    size_t offset = 0;
    int rc = 0;
    long started = 0;
    for (long i = 0; i < p->clients; i++) {
        struct bench_client *c = &cs[i];
        c->index = (int)i;
        c->nclients = (int)p->clients;
        c->count = (size_t)(p->events / p->clients + (i < p->events % p->clients ? 1 : 0));
        c->nips = (const char(*)[19])env->nips;
        c->units = (const char(*)[65])env->units;
        c->norg = env->norg;
        c->rate = (double)p->rate;
        c->start_us = start_us;
        c->timer = -1;
        opts[i] = env->opts;
        opts[i].zctx = zctx;
        if (p->nendpoints)
            opts[i].endpoint = p->endpoints[i % (long)p->nendpoints];
        if (p->rate > 0) {
            c->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
            if (c->timer < 0) {
                fprintf(stderr, "kinerja bench: timerfd: %s\n", strerror(errno));
                rc = -1;
                break;
            }
            opts[i].poll_input = true;
            opts[i].input_fd = c->timer;
        }
        c->opts = &opts[i];
        c->made_us = made + offset;
        c->latencies = lat + offset;
        offset += c->count;
        if (pthread_create(&th[i], NULL, bench_client_run, c) != 0) {
            fprintf(stderr, "kinerja bench: cannot start client %ld\n", i);
            rc = -1;
            break;
        }
        started++;
    }
    long long end = start;
    *nlat = 0;
    *bytes = 0;
    for (long i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        struct bench_client *c = &cs[i];
        r->accepted += c->counts.accepted;
        r->acked += c->counts.accepted + c->counts.duplicate + c->counts.rejected;
        r->unacked += c->counts.unacked;
        if (c->end_ms > end)
            end = c->end_ms;
        memmove(lat + *nlat, c->latencies, c->nlat * sizeof *lat);
        *nlat += c->nlat;
        *bytes += c->bytes;
        if (c->rc < 0)
            fprintf(stderr, "kinerja bench: client %ld: %s\n", i, c->err);
    }
    for (long i = 0; i < p->clients; i++)
        if (cs[i].timer >= 0)
            close(cs[i].timer);
    if (zctx)
        zmq_ctx_term(zctx);
    double intake_s = (double)(end - start) / 1000.0;
    r->intake = intake_s > 0 ? (double)r->acked / intake_s : 0;
    *start_out = start;
    free(cs), free(th), free(made), free(opts);
    return rc;
}

/* One whole measurement: clients, end to end, ceilings. */
static int run_once(struct bench_env *env, struct bench_result *r)
{
    const struct bench_params *p = env->p;
    memset(r, 0, sizeof *r);
    char err[512];
    long long base = stored_total(env->db);
    if (base < 0) {
        fprintf(stderr, "kinerja bench: postgres: %s\n", env->db->errstr);
        return -1;
    }
    double *lat = calloc((size_t)p->events, sizeof *lat);
    if (!lat) {
        fprintf(stderr, "kinerja bench: out of memory\n");
        return -1;
    }
    size_t nlat = 0, bytes = 0;
    long long start = 0;
    if (run_clients(env, r, lat, &nlat, &start, &bytes) < 0) {
        free(lat);
        return -1;
    }

    /* End to end: the ingest group's progress is polled in Redis (counting event_log
     * every 50 ms cost PostgreSQL about 20% CPU, issue 15); once every entry is
     * acknowledged, PostgreSQL is counted to prove the accepted events are there, and
     * polled (slowly) only should that count still fall short. */
    long long e2e_end = 0;
    bool redis_said = false;
    for (; p->e2e;) {
        long long now = daemon_now_ms();
        if (!redis_said && ingest_drained(&env->rc, env->shards) == 1)
            redis_said = true;
        long long stored = redis_said ? stored_total(env->db) : 0;
        if (redis_said && stored >= base + (long long)r->accepted) {
            e2e_end = now;
            break;
        }
        if (stored < 0 || now - start > BENCH_E2E_TIMEOUT_MS) {
            fprintf(
                stderr,
                "kinerja bench: only %lld of %zu events stored after %d s; is the ingest worker running?\n",
                stored_total(env->db) - base, r->accepted, BENCH_E2E_TIMEOUT_MS / 1000);
            break;
        }
        usleep((redis_said ? 10 : 1) * BENCH_POLL_MS * 1000);
    }
    r->e2e_ok = !p->e2e || e2e_end;
    double e2e_s = e2e_end ? (double)(e2e_end - start) / 1000.0 : 0;

    qsort(lat, nlat, sizeof *lat, cmp_double);
    r->p50 = percentile(lat, nlat, 0.50);
    r->p95 = percentile(lat, nlat, 0.95);
    r->p99 = percentile(lat, nlat, 0.99);
    free(lat);
    size_t made = (size_t)p->events;
    r->event_bytes = made ? (double)bytes / (double)made : 0;
    size_t payload = r->event_bytes > 0 ? (size_t)(r->event_bytes + 0.5) : 200;
    if (ceiling_xadd_like(&env->rc, (size_t)p->events, payload, env->shards, env->ceiling_client, &r->xadd,
                          err, sizeof err) < 0)
        fprintf(stderr, "kinerja bench: XADD ceiling: %s\n", err);
    if (p->e2e && ceiling_copy(env->db->conn, (size_t)p->events, payload, &r->copy, err, sizeof err) < 0)
        fprintf(stderr, "kinerja bench: COPY ceiling: %s\n", err);
    r->e2e = e2e_s > 0 ? (double)r->accepted / e2e_s : 0;
    r->intake_ratio = r->xadd > 0 ? r->intake / r->xadd : 0;
    r->e2e_ratio = r->copy > 0 ? r->e2e / r->copy : 0;
    return 0;
}

/* The median of field off over runs (the middle one, or the mean of the two middle). */
static double median_of(const struct bench_result *rs, size_t n, size_t off)
{
    double v[BENCH_RUNS_MAX];
    for (size_t i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&rs[i] + off);
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct bench_result medians(const struct bench_result *rs, size_t n)
{
    struct bench_result m = rs[n - 1];
    m.accepted = m.acked = m.unacked = 0;
    m.e2e_ok = true;
    for (size_t i = 0; i < n; i++) {
        m.accepted += rs[i].accepted;
        m.acked += rs[i].acked;
        m.unacked += rs[i].unacked;
        m.e2e_ok = m.e2e_ok && rs[i].e2e_ok;
    }
#define MED(f) m.f = median_of(rs, n, offsetof(struct bench_result, f))
    MED(intake);
    MED(e2e);
    MED(p50);
    MED(p95);
    MED(p99);
    MED(xadd);
    MED(copy);
    MED(intake_ratio);
    MED(e2e_ratio);
    MED(event_bytes);
#undef MED
    return m;
}

static void print_json_result(const struct bench_result *r)
{
    printf("\"accepted\": %zu, \"unacked\": %zu, \"intake_per_s\": %.1f, \"e2e_per_s\": %.1f, "
           "\"ack_p50_ms\": %.3f, \"ack_p95_ms\": %.3f, \"ack_p99_ms\": %.3f, \"ceiling_xadd_per_s\": %.1f, "
           "\"ceiling_copy_per_s\": %.1f, \"intake_ratio\": %.3f, \"e2e_ratio\": %.3f, \"event_bytes\": %.1f",
           r->accepted, r->unacked, r->intake, r->e2e, r->p50, r->p95, r->p99, r->xadd, r->copy,
           r->intake_ratio, r->e2e_ratio, r->event_bytes);
}

static void print_text_result(const struct bench_params *p, const struct bench_result *r, const char *title)
{
    printf("%s\n", title);
    printf("events acked          %zu (%zu accepted, %zu without final ack)\n", r->acked, r->accepted,
           r->unacked);
    printf("intake (acks/s)       %10.0f   %.0f%% of pipelined XADD ceiling %.0f/s (entries of %.0f bytes)\n",
           r->intake, 100 * r->intake_ratio, r->xadd, r->event_bytes);
    if (p->e2e)
        printf("end-to-end (stored/s) %10.0f   %.0f%% of COPY ceiling %.0f/s\n", r->e2e, 100 * r->e2e_ratio,
               r->copy);
    printf("ack latency per event p50 %.2f ms, p95 %.2f ms, p99 %.2f ms (%ld per frame, %ld in flight per "
           "client%s)\n",
           r->p50, r->p95, r->p99, p->batch, p->window, p->rate > 0 ? ", paced" : "");
}

/* Adds the comma-separated endpoints of v. Returns 0, or -1 with a message. */
static int add_endpoints(struct bench_params *p, const char *v)
{
    size_t len = strlen(v);
    if (len + 1 > sizeof p->endpoint_buf - p->endpoint_used) {
        fprintf(stderr, "kinerja bench: --endpoint: more than %d bytes in all\n", BENCH_ENDPOINTS_BYTES);
        return -1;
    }
    char *copy = p->endpoint_buf + p->endpoint_used;
    memcpy(copy, v, len + 1);
    p->endpoint_used += len + 1;
    size_t before = p->nendpoints;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (p->nendpoints == BENCH_ENDPOINTS_MAX) {
            fprintf(stderr, "kinerja bench: --endpoint: at most %d endpoints\n", BENCH_ENDPOINTS_MAX);
            return -1;
        }
        p->endpoints[p->nendpoints++] = tok;
    }
    if (p->nendpoints == before) { /* "" or ",": not a silent fall back to intake.endpoint */
        fprintf(stderr, "kinerja bench: --endpoint: no endpoint in '%s' (want e.g. tcp://127.0.0.1:5555)\n",
                v);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct bench_params *p)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long *target = !strcmp(a, "--events")    ? &p->events
                       : !strcmp(a, "--clients") ? &p->clients
                       : !strcmp(a, "--batch")   ? &p->batch
                       : !strcmp(a, "--window")  ? &p->window
                       : !strcmp(a, "--rate")    ? &p->rate
                       : !strcmp(a, "--runs")    ? &p->runs
                                                 : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bench_usage(stdout);
            return 1;
        } else if (!strcmp(a, "--json")) {
            p->json = true;
        } else if (!strcmp(a, "--no-e2e")) {
            p->e2e = false;
        } else if (!strcmp(a, "--endpoint") && i + 1 < argc) {
            if (add_endpoints(p, argv[++i]) != 0)
                return -1;
        } else if (target && i + 1 < argc) {
            char *end;
            errno = 0;
            *target = strtol(argv[++i], &end, 10);
            if (errno || *end || *target <= 0 || *target > 100000000) {
                fprintf(stderr, "kinerja bench: %s: must be a positive whole number\n", a);
                return -1;
            }
        } else {
            fprintf(stderr, "kinerja bench: unexpected argument '%s'\n", a);
            bench_usage(stderr);
            return -1;
        }
    }
    return 0;
}

int cmd_bench(struct cli *cli, int argc, char **argv)
{
    static struct bench_params p; /* holds the endpoints' text: kept off the stack */
    p = (struct bench_params){.events = BENCH_DEFAULT_EVENTS,
                              .clients = BENCH_DEFAULT_CLIENTS,
                              .batch = BENCH_DEFAULT_BATCH,
                              .window = BENCH_DEFAULT_WINDOW,
                              .runs = 1,
                              .e2e = true};
    int pa = parse_args(argc, argv, &p);
    if (pa != 0)
        return pa > 0 ? CLI_OK : CLI_USAGE;
    if (p.clients > 256)
        p.clients = 256;
    if (p.window > 1024)
        p.window = 1024;
    if (p.runs > BENCH_RUNS_MAX)
        p.runs = BENCH_RUNS_MAX;
    if (p.events < p.clients)
        p.clients = p.events;
    if (p.batch > config_int(cli->cfg, "intake.max_batch"))
        p.batch = config_int(cli->cfg, "intake.max_batch");
    if (sodium_init() < 0) {
        fprintf(stderr, "kinerja bench: libsodium failed to start\n");
        return CLI_FAIL;
    }

    char err[512];
    struct bench_env env = {.p = &p};
    env.db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!env.db || env.db->err) {
        fprintf(stderr, "kinerja bench: postgres: %s\n", env.db ? env.db->errstr : "out of memory");
        pgstore_destroy(&env.db);
        return CLI_FAIL;
    }
    if (rlink_connect(&env.rc, config_str(cli->cfg, "redis.url"), config_bool(cli->cfg, "redis.cluster"),
                      (int)config_int(cli->cfg, "redis.timeout_ms"), err, sizeof err) < 0) {
        fprintf(stderr, "kinerja bench: redis: %s\n", err);
        pgstore_destroy(&env.db);
        return CLI_FAIL;
    }
    env.shards = (unsigned)config_int(cli->cfg, "redis.shards");

    static char nips[BENCH_SAMPLE_ORG][19];
    static char units[BENCH_SAMPLE_ORG][65];
    env.nips = nips;
    env.units = units;
    struct clientkeys keys; /* every simulated kiosk uses this client's key pair */
    memset(&keys, 0, sizeof keys);
    struct bench_result rs[BENCH_RUNS_MAX];
    int status = CLI_FAIL;
    if (ceiling_sample_org(env.db->conn, nips, units, BENCH_SAMPLE_ORG, &env.norg, err, sizeof err) < 0) {
        fprintf(stderr, "kinerja bench: %s\n", err);
        goto out;
    }
    if (!env.norg)
        fprintf(stderr, "kinerja bench: no organisation imported: events go to unit BENCH and end in "
                        "rejected_events (still stored; the figures hold)\n");
    if (clientkeys_load(cli->cfg, &keys, err, sizeof err) != 0) {
        fprintf(stderr, "kinerja bench: %s\n", err);
        goto out;
    }
    env.opts = (struct sender_opts){
        .endpoint = config_str(cli->cfg, "intake.endpoint"),
        .batch = (size_t)p.batch,
        .window = (size_t)p.window,
        .max_frame = (size_t)config_int(cli->cfg, "intake.max_frame_bytes"),
        .timeout_ms = 600000,
        .reply_timeout_ms = 10000,
    };
    clientkeys_apply(&keys, &env.opts);
    env.ceiling_client = keys.on ? BENCH_CEILING_CLIENT : NULL; /* the broker adds cl with CURVE */

    if (!p.json) {
        fprintf(stderr, "bench: %ld events, %ld clients, %ld per frame, %ld in flight each%s ->", p.events,
                p.clients, p.batch, p.window, p.rate > 0 ? ", paced" : "");
        for (size_t i = 0; i < (p.nendpoints ? p.nendpoints : 1); i++)
            fprintf(stderr, " %s", p.nendpoints ? p.endpoints[i] : env.opts.endpoint);
        fprintf(stderr, "\n");
    }
    bool all_ok = true;
    size_t done = 0;
    for (long k = 0; k < p.runs; k++) {
        if (run_once(&env, &rs[done]) < 0) {
            all_ok = false;
            break;
        }
        all_ok = all_ok && !rs[done].unacked && rs[done].e2e_ok;
        done++;
        if (!p.json && p.runs > 1) {
            char title[64];
            snprintf(title, sizeof title, "run %ld of %ld:", k + 1, p.runs);
            print_text_result(&p, &rs[done - 1], title);
        }
    }
    if (done) {
        struct bench_result m = medians(rs, done);
        if (p.json) {
            printf("{\"events\": %ld, \"clients\": %ld, \"batch\": %ld, \"window\": %ld, \"rate\": %ld, "
                   "\"runs\": %zu, \"endpoints\": %zu, ",
                   p.events, p.clients, p.batch, p.window, p.rate, done, p.nendpoints ? p.nendpoints : 1);
            print_json_result(&m);
            printf(", \"each\": [");
            for (size_t i = 0; i < done; i++) {
                printf("%s{", i ? ", " : "");
                print_json_result(&rs[i]);
                printf("}");
            }
            printf("]}\n");
        } else {
            char title[64];
            snprintf(title, sizeof title, done > 1 ? "median of %zu runs:" : "", done);
            print_text_result(&p, &m, title[0] ? title : "bench:");
        }
    }
    status = all_ok && done ? CLI_OK : CLI_FAIL;
out:
    clientkeys_clear(&keys);
    rlink_close(&env.rc);
    pgstore_destroy(&env.db);
    return status;
}
