/*
 * kinerja-broker: the intake daemon (SPEC 2, 3, 7). Options, setup and the main loop:
 *
 *   poll the ROUTER and Redis -> drain up to intake.read_batch waiting requests
 *   (request_decode validates each) -> rate limit -> ONE pipelined Redis round for
 *   every valid event of the round (enqueue: a few FCALLs of many events each) ->
 *   back to polling; when Redis has replied for a round: one reply per request (ack).
 *
 * Batching across clients is what makes the intake fast: many kiosks' single events
 * share one Redis round trip. Up to BROKER_ROUNDS rounds are in flight, so the broker
 * reads and decodes the next round while Redis stores the last (issue 15). Acks go out
 * only after Redis answered for their events, oldest round first.
 * SIGTERM/SIGINT: stop reading, finish the round in hand (Redis and acks), exit 0.
 * SIGHUP: reload log.level, log.json and intake.rate_per_client from the config, and
 * with CURVE the allow-list security.clients_file.
 *
 * security.curve = true (SPEC 8): the ROUTER is a CURVE server (security.server_secret_file),
 * zap (polled here with the ROUTER) admits only keys of the allow-list (clients.h), each
 * message carries its client's name as "User-Id", events of types the client may not send
 * are rejected, and the rate limit counts per client name instead of per connection.
 */
#include "ack.h"
#include "clients.h"
#include "config.h"
#include "curvekey.h"
#include "daemon.h"
#include "enqueue.h"
#include "healthprobe.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "request.h"
#include "rstream.h"
#include "zap.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#ifndef KINERJA_VERSION
#define KINERJA_VERSION "0.1.0"
#endif

#define BROKER_COMPONENT "broker"
#define BROKER_METRICS_AUTO "127.0.0.1:9570"
#define BROKER_ROUND_EVENTS_MAX 16384 /* stop draining once a round holds this many events */
#define BROKER_STATS_INTERVAL_MS 10000
#define BROKER_POLL_MAX_MS 1000
#define BROKER_ERR_MAX 512
/* A round's unpacked trees come from its zone, cleared after the round's acks; a chunk
 * this size holds a round of small requests (or a few batches of 100) without a malloc. */
#define BROKER_ZONE_CHUNK (256 * 1024)
/* Rounds in flight at once: while Redis works on one, the next is read and sent. */
#define BROKER_ROUNDS 4

/* Settings this binary reads (for --help). */
static const char *const broker_settings[] = {
    "redis.url",
    "redis.cluster",
    "redis.shards",
    "redis.timeout_ms",
    "intake.endpoint",
    "intake.max_batch",
    "intake.max_frame_bytes",
    "intake.max_depth",
    "intake.dedupe_ttl_s",
    "intake.durability",
    "intake.replicas",
    "intake.replica_timeout_ms",
    "intake.rate_per_client",
    "intake.read_batch",
    "intake.max_future_s",
    "intake.max_age_s",
    "log.level",
    "log.json",
    "metrics.listen",
    "security.curve",
    "security.server_secret_file",
    "security.clients_file",
};

struct broker_metrics {
    struct metric *requests;
    struct metric *events[ACK_STATUS_COUNT];
    struct metric *roundtrips;
    struct metric *acks_dropped;
    struct metric_histogram *ack_seconds; /* receipt to reply, per request frame */
    struct metric *redis_up;
    struct metric *zap_refused;
};

/* The requests read together and sent to Redis together; answered together once
 * Redis replied for all of their events (or gave up). */
struct round {
    struct request *pool;  /* read_batch requests, reused */
    struct request **reqs; /* the n requests of the round */
    size_t n;
    msgpack_zone zone; /* their unpacked frames */
    bool zone_live;
    struct enqueue_batch *batch;
};

/* Totals at the last periodic log line, to print what happened since. */
struct broker_snapshot {
    long long requests, events[ACK_STATUS_COUNT], roundtrips, dropped;
};

struct broker {
    struct config *cfg;
    const char *config_arg; /* -c FILE as given (NULL: default resolution) */
    bool log_json_flag;

    struct intake *intake;
    struct enqueue *enq;
    struct ratelimit *rl;
    struct clients *clients; /* the CURVE allow-list; NULL without security.curve */
    struct zap_state zap;
    struct request_limits limits;
    size_t read_batch;

    struct round rounds[BROKER_ROUNDS]; /* a ring: rhead is the oldest of rcount in flight */
    size_t rhead, rcount;
    bool rounds_live;
    msgpack_sbuffer reply;

    struct metrics *metrics;
    struct metrics_server *metrics_srv;
    struct healthprobe *probe; /* /healthz follows Redis without traffic */
    struct broker_metrics m;
    bool health_up;
    char health_reason[METRICS_REASON_MAX];

    struct broker_snapshot last;
    long long next_stats_ms;
};

static void print_usage(FILE *out)
{
    fprintf(out, "usage: kinerja-broker [-c FILE] [--log-json] [--help] [--version]\n"
                 "\n"
                 "Intake daemon: ZeroMQ ROUTER on intake.endpoint; validates msgpack events, dedupes\n"
                 "and appends them to Redis Streams, acks each (accepted, duplicate, rejected, retry).\n"
                 "\n"
                 "  -c, --config FILE  settings file (default $KINERJA_CONFIG, else config/kinerja.conf)\n"
                 "      --log-json     log JSON lines\n"
                 "  -h, --help         this text\n"
                 "      --version      print the version\n"
                 "\n"
                 "Settings used (file section.key, or environment KINERJA_SECTION_KEY):\n");
    size_t count;
    const struct setting_def *defs = config_settings(&count);
    for (size_t i = 0; i < sizeof broker_settings / sizeof broker_settings[0]; i++) {
        for (size_t j = 0; j < count; j++) {
            if (strcmp(defs[j].name, broker_settings[i]) != 0)
                continue;
            char env[128];
            config_env_name(defs[j].name, env, sizeof env);
            fprintf(out, "  %-24s default %s%s%s%s\n      %s (env %s)\n", defs[j].name,
                    defs[j].secret ? "(secret) " : "", defs[j].def[0] ? defs[j].def : "\"\"",
                    defs[j].choices ? ", one of " : "", defs[j].choices ? defs[j].choices : "", defs[j].help,
                    env);
        }
    }
    fprintf(
        out,
        "\nNotes: a frame above intake.max_frame_bytes gets a rejected ack; above twice that,\n"
        "libzmq drops the connection without a reply. metrics.listen auto = %s;\n"
        "GET /metrics (Prometheus) and /healthz (200 ok, 503 with the reason).\n"
        "Signals: TERM/INT drain and exit 0; HUP reloads log.level, log.json, intake.rate_per_client\n"
        "and, with security.curve, security.clients_file.\n"
        "CURVE: security.clients_file lines are `<z85 public key> <name> <event types, comma-separated, or "
        "*>\n"
        "[source=<prefixes>] [as=<NIPs or evaluator ids>]`; `kinerja keygen --out PREFIX` makes key pairs.\n",
        BROKER_METRICS_AUTO);
}

static void register_metrics(struct broker *b)
{
    struct metrics *m = b->metrics;
    b->m.requests = metrics_counter(m, "kinerja_broker_requests_total", NULL, "request frames received");
    static const char *const labels[ACK_STATUS_COUNT] = {NULL, "status=\"accepted\"", "status=\"duplicate\"",
                                                         "status=\"rejected\"", "status=\"retry\""};
    for (int s = ACK_ACCEPTED; s < ACK_STATUS_COUNT; s++)
        b->m.events[s] = metrics_counter(m, "kinerja_broker_events_total", labels[s],
                                         "acks sent by status (a frame-level rejection counts once)");
    b->m.roundtrips = metrics_counter(m, "kinerja_broker_redis_roundtrips_total", NULL,
                                      "pipelined Redis round trips (one per round of requests)");
    b->m.acks_dropped = metrics_counter(m, "kinerja_broker_acks_dropped_total", NULL,
                                        "replies dropped because the client was gone or not reading");
    b->m.redis_up =
        metrics_gauge(m, "kinerja_broker_redis_up", NULL, "1 when the broker holds a Redis connection");
    b->m.zap_refused = metrics_counter(m, "kinerja_broker_zap_refused_total", NULL,
                                       "CURVE connections refused (key not in security.clients_file)");
    b->m.ack_seconds =
        metrics_histogram(m, "kinerja_broker_ack_seconds", NULL,
                          "time from a request frame's receipt to its reply (ms resolution)", NULL, 0);
}

/* Keeps /healthz and the redis_up gauge in line with the Redis connection. */
static void update_health(struct broker *b)
{
    bool up = enqueue_is_up(b->enq);
    const char *why = enqueue_down_reason(b->enq);
    if (up == b->health_up && (up || strcmp(why, b->health_reason) == 0))
        return;
    b->health_up = up;
    snprintf(b->health_reason, sizeof b->health_reason, "%s", why);
    metric_set(b->m.redis_up, up ? 1 : 0);
    if (up) {
        metrics_health_set(b->metrics, NULL);
    } else {
        char text[METRICS_REASON_MAX];
        /* most reasons already name Redis ("redis 127.0.0.1:6390: Connection refused") */
        bool named = strncasecmp(why, "redis", 5) == 0;
        snprintf(text, sizeof text, "%s%s", named ? "" : "redis: ", why);
        metrics_health_set(b->metrics, text);
    }
}

/* Log level, format and the rate limit can change without a restart. */
static void reload_config(struct broker *b)
{
    struct config *next = config_new();
    char err[BROKER_ERR_MAX];
    if (!next || config_load(next, b->config_arg, err, sizeof err) != 0) {
        log_error("SIGHUP: config not reloaded: %s", next ? err : "out of memory");
        config_destroy(&next);
        return;
    }
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(config_str(next, "log.level"), &level);
    bool json = b->log_json_flag || config_bool(next, "log.json");
    log_init(BROKER_COMPONENT, level, json);
    long long rate = config_int(next, "intake.rate_per_client");
    ratelimit_set_rate(b->rl, rate);
    if (b->clients) {
        const char *path = config_str(next, "security.clients_file");
        struct clients *list = clients_load(path, err, sizeof err);
        if (list) {
            clients_destroy(&b->clients);
            b->clients = list;
            log_info("SIGHUP: reloaded security.clients_file %s: %zu clients", path, clients_count(list));
        } else {
            log_error("SIGHUP: %s; the previous allow-list stays in force", err);
        }
    }
    log_info(
        "SIGHUP: reloaded %s: log.level=%s log.json=%s intake.rate_per_client=%lld (other settings need a "
        "restart)",
        config_path(next), config_str(next, "log.level"), json ? "true" : "false", rate);
    config_destroy(&b->cfg);
    b->cfg = next;
}

static void count_acks(struct broker *b, const struct request *r)
{
    if (r->frame_rejected) {
        metric_inc(b->m.events[ACK_REJECTED]);
        return;
    }
    for (size_t i = 0; i < r->nevents; i++) {
        enum ack_status s = r->events[i].status;
        metric_inc(b->m.events[s == ACK_PENDING ? ACK_RETRY : s]);
    }
}

/* With CURVE: the name zap gave the sender's connection ("User-Id"), or NULL. */
static const char *client_name(const struct broker *b, struct request *r)
{
    if (!b->clients || !r->has_payload)
        return NULL;
    return zmq_msg_gets(&r->payload, "User-Id");
}

/* With CURVE: events of types the client may not send are rejected. A client dropped
 * from the list by SIGHUP while connected has all its events rejected. */
static void apply_client_types(struct broker *b, struct request *r)
{
    if (!b->clients || r->frame_rejected)
        return;
    const char *name = client_name(b, r);
    const struct client *cl = name ? clients_find_name(b->clients, name) : NULL;
    for (size_t i = 0; i < r->nevents; i++) {
        struct request_event *e = &r->events[i];
        if (e->status != ACK_PENDING)
            continue;
        if (!cl)
            request_event_set(e, ACK_REJECTED, "client %s is not in security.clients_file any more",
                              name ? name : "(unknown)");
        else if (!client_allows(cl, e->type))
            request_event_set(e, ACK_REJECTED, "type: %s is not allowed for client %s",
                              event_type_name(e->type), cl->name);
    }
}

/* Over the client's rate: its valid events get retry "rate limited". The client is
 * its name with CURVE, else its connection (routing id). */
static void apply_rate_limit(struct broker *b, struct request *r, long long now_ms)
{
    if (ratelimit_rate(b->rl) <= 0 || r->frame_rejected || r->nenvelope == 0)
        return;
    size_t valid = request_pending(r);
    if (valid == 0)
        return;
    const char *name = client_name(b, r);
    const void *key = name ? (const void *)name : zmq_msg_data(&r->envelope[0]);
    size_t keylen = name ? strlen(name) : zmq_msg_size(&r->envelope[0]);
    if (ratelimit_admit(b->rl, key, keylen, valid, now_ms))
        return;
    for (size_t i = 0; i < r->nevents; i++)
        if (r->events[i].status == ACK_PENDING)
            request_event_set(&r->events[i], ACK_RETRY, "rate limited");
}

/* Reads what is waiting (up to read_batch requests) into round rd. Returns n. */
static size_t read_round(struct broker *b, struct round *rd, long long now, long long wall)
{
    size_t n = 0, events = 0;
    while (n < b->read_batch && events < BROKER_ROUND_EVENTS_MAX && !(n > 0 && daemon_stopping)) {
        struct request *r = &rd->pool[n];
        int rc = intake_recv(b->intake, r, wall);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (errno != EINTR)
                log_error("intake: receive failed: %s", zmq_strerror(errno));
            request_release(r);
            break;
        }
        rd->reqs[n++] = r;
        metric_inc(b->m.requests);
        if (!r->frame_rejected && request_decode(r, &b->limits, &rd->zone) != 0)
            log_error("intake: out of memory decoding a request");
        if (r->frame_rejected)
            log_debug("request rejected: %s", r->frame_error);
        apply_client_types(b, r);
        apply_rate_limit(b, r, now);
        events += r->nevents ? r->nevents : 1;
    }
    return n;
}

/* One reply per request of the round, then the round is free again. */
static void answer_round(struct broker *b, struct round *rd)
{
    for (size_t i = 0; i < rd->n; i++) {
        struct request *r = rd->reqs[i];
        msgpack_sbuffer_clear(&b->reply);
        if (ack_pack_reply(r, &b->reply) != 0) {
            log_error("intake: out of memory building a reply; request dropped");
            metric_inc(b->m.acks_dropped);
        } else if (intake_send(b->intake, r, b->reply.data, b->reply.size) != 0) {
            log_debug("intake: reply dropped: %s", zmq_strerror(errno));
            metric_inc(b->m.acks_dropped);
        } else {
            count_acks(b, r);
            metric_observe(b->m.ack_seconds, (double)(daemon_wall_ms() - r->recv_wall_ms) / 1000.0);
        }
        request_release(r);
    }
    rd->n = 0;
    msgpack_zone_clear(&rd->zone); /* every tree of the round at once (keeps one chunk) */
}

/* Answers the rounds Redis has finished with, oldest first (so a client's replies
 * keep the order of its requests). */
static void answer_done(struct broker *b)
{
    while (b->rcount && enqueue_batch_done(b->rounds[b->rhead].batch)) {
        answer_round(b, &b->rounds[b->rhead]);
        b->rhead = (b->rhead + 1) % BROKER_ROUNDS;
        b->rcount--;
    }
}

/* Reads what is waiting into a free round and sends its events to Redis (the acks go
 * out once Redis replied: answer_done). */
static void serve_round(struct broker *b)
{
    if (b->rcount == BROKER_ROUNDS)
        return;
    struct round *rd = &b->rounds[(b->rhead + b->rcount) % BROKER_ROUNDS];
    long long now = daemon_now_ms(), wall = daemon_wall_ms();
    rd->n = read_round(b, rd, now, wall);
    if (rd->n == 0)
        return;
    b->rcount++;
    metric_add(b->m.roundtrips, enqueue_submit(b->enq, rd->batch, rd->reqs, rd->n, now));
    answer_done(b);
}

static struct broker_snapshot snapshot(const struct broker *b)
{
    struct broker_snapshot s = {0};
    s.requests = metric_get(b->m.requests);
    for (int i = ACK_ACCEPTED; i < ACK_STATUS_COUNT; i++)
        s.events[i] = metric_get(b->m.events[i]);
    s.roundtrips = metric_get(b->m.roundtrips);
    s.dropped = metric_get(b->m.acks_dropped);
    return s;
}

/* Every BROKER_STATS_INTERVAL_MS, when there was traffic: what happened since. */
static void log_stats(struct broker *b, long long now_ms)
{
    if (now_ms < b->next_stats_ms)
        return;
    b->next_stats_ms = now_ms + BROKER_STATS_INTERVAL_MS;
    struct broker_snapshot s = snapshot(b);
    if (s.requests == b->last.requests)
        return;
    log_info(
        "last %ds: requests=%lld accepted=%lld duplicate=%lld rejected=%lld retry=%lld redis_roundtrips=%lld "
        "acks_dropped=%lld",
        BROKER_STATS_INTERVAL_MS / 1000, s.requests - b->last.requests,
        s.events[ACK_ACCEPTED] - b->last.events[ACK_ACCEPTED],
        s.events[ACK_DUPLICATE] - b->last.events[ACK_DUPLICATE],
        s.events[ACK_REJECTED] - b->last.events[ACK_REJECTED],
        s.events[ACK_RETRY] - b->last.events[ACK_RETRY], s.roundtrips - b->last.roundtrips,
        s.dropped - b->last.dropped);
    b->last = s;
}

static int poll_timeout_ms(const struct broker *b, long long now_ms)
{
    long long t = BROKER_POLL_MAX_MS;
    long long next = enqueue_next_attempt_ms(b->enq);
    if (next && next - now_ms < t)
        t = next - now_ms;
    if (b->next_stats_ms - now_ms < t)
        t = b->next_stats_ms - now_ms;
    long long deadline = enqueue_deadline_ms(b->enq);
    if (deadline && deadline - now_ms < t)
        t = deadline - now_ms;
    return t < 0 ? 0 : (int)t;
}

/* Replies from Redis that have arrived, and the rounds they finish. */
static void collect(struct broker *b, bool readable)
{
    long long now = daemon_now_ms();
    if (readable)
        enqueue_read(b->enq, now);
    enqueue_expire(b->enq, now);
    answer_done(b);
}

static void run_loop(struct broker *b)
{
    void *zap = intake_zap_socket(b->intake);
    while (!daemon_stopping) {
        if (daemon_reload_requested) {
            daemon_reload_requested = 0;
            reload_config(b);
        }
        long long now = daemon_now_ms();
        enqueue_maintain(b->enq, now);
        update_health(b);
        /* the ROUTER only while a round is free: otherwise its requests wait there
         * (and behind them TCP), which is the backpressure */
        zmq_pollitem_t items[3];
        int nitems = 0, router = -1, zapi = -1, redis = -1;
        if (b->rcount < BROKER_ROUNDS) {
            router = nitems;
            items[nitems++] = (zmq_pollitem_t){.socket = intake_socket(b->intake), .events = ZMQ_POLLIN};
        }
        if (zap) {
            zapi = nitems;
            items[nitems++] = (zmq_pollitem_t){.socket = zap, .events = ZMQ_POLLIN};
        }
        int fd = enqueue_wait_fd(b->enq);
        if (fd >= 0) {
            redis = nitems;
            items[nitems++] = (zmq_pollitem_t){.socket = NULL, .fd = fd, .events = ZMQ_POLLIN};
        }
        int rc = zmq_poll(items, nitems, poll_timeout_ms(b, now));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("intake: poll failed: %s", zmq_strerror(errno));
            break;
        }
        collect(b, redis >= 0 && (items[redis].revents & ZMQ_POLLIN));
        if (zapi >= 0 && (items[zapi].revents & ZMQ_POLLIN))
            metric_add(b->m.zap_refused, zap_serve(zap, b->clients, &b->zap, daemon_now_ms()));
        if (router >= 0 && (items[router].revents & ZMQ_POLLIN))
            serve_round(b);
        update_health(b);
        log_stats(b, daemon_now_ms());
    }
    /* stopping: no more reading; the rounds in flight get their replies (or retry at
     * redis.timeout_ms) and their acks */
    while (b->rcount) {
        int fd = enqueue_wait_fd(b->enq);
        if (fd < 0) {
            collect(b, false); /* nothing in flight: the batches are done */
            if (b->rcount) {
                log_error("intake: %zu rounds without a batch in flight; answered as they are", b->rcount);
                while (b->rcount) {
                    answer_round(b, &b->rounds[b->rhead]);
                    b->rhead = (b->rhead + 1) % BROKER_ROUNDS;
                    b->rcount--;
                }
            }
            break;
        }
        zmq_pollitem_t item = {.socket = NULL, .fd = fd, .events = ZMQ_POLLIN};
        long long now = daemon_now_ms(), deadline = enqueue_deadline_ms(b->enq);
        int rc = zmq_poll(&item, 1, deadline > now ? (long)(deadline - now) : 0);
        collect(b, rc > 0 && (item.revents & ZMQ_POLLIN));
    }
}

/* Settings that cannot work are refused at start, with the reason. */
static int check_settings(const struct config *cfg, char *err, size_t errlen)
{
    char where[512];
    if (rstream_describe_url(config_str(cfg, "redis.url"), config_bool(cfg, "redis.cluster"), where,
                             sizeof where, err, errlen) != 0)
        return -1;
    return 0;
}

static int setup(struct broker *b, char *err, size_t errlen)
{
    const struct config *cfg = b->cfg;
    if (check_settings(cfg, err, errlen) != 0)
        return -1;
    b->limits.max_frame_bytes = (size_t)config_int(cfg, "intake.max_frame_bytes");
    b->limits.max_depth = (size_t)config_int(cfg, "intake.max_depth");
    b->limits.max_batch = (size_t)config_int(cfg, "intake.max_batch");
    b->limits.shards = (unsigned)config_int(cfg, "redis.shards");
    b->limits.max_future_s = config_int(cfg, "intake.max_future_s");
    b->limits.max_age_s = config_int(cfg, "intake.max_age_s");
    b->read_batch = (size_t)config_int(cfg, "intake.read_batch");

    b->metrics = metrics_new();
    b->rl = ratelimit_new(config_int(cfg, "intake.rate_per_client"));
    msgpack_sbuffer_init(&b->reply);
    b->rounds_live = true;
    bool ok = b->metrics && b->rl;
    for (size_t i = 0; i < BROKER_ROUNDS; i++) {
        struct round *rd = &b->rounds[i];
        rd->pool = calloc(b->read_batch, sizeof *rd->pool); /* calloc: request_init done */
        rd->reqs = calloc(b->read_batch, sizeof *rd->reqs);
        rd->batch = enqueue_batch_new();
        rd->zone_live = msgpack_zone_init(&rd->zone, BROKER_ZONE_CHUNK);
        ok = ok && rd->pool && rd->reqs && rd->batch && rd->zone_live;
    }
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    register_metrics(b);
    metrics_health_set(b->metrics, "redis: not connected yet");
    snprintf(b->health_reason, sizeof b->health_reason, "not connected yet");

    struct enqueue_options eo = {
        .redis_url = config_str(cfg, "redis.url"),
        .timeout_ms = (int)config_int(cfg, "redis.timeout_ms"),
        .dedupe_ttl_s = config_int(cfg, "intake.dedupe_ttl_s"),
        .fsync_always = strcmp(config_str(cfg, "intake.durability"), "always") == 0,
        .replicas = strcmp(config_str(cfg, "intake.durability"), "replicated") == 0
                        ? (int)config_int(cfg, "intake.replicas")
                        : 0,
        .replica_timeout_ms = (int)config_int(cfg, "intake.replica_timeout_ms"),
        .cluster = config_bool(cfg, "redis.cluster"),
    };
    b->enq = enqueue_new(&eo);
    if (!b->enq) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char secret[CURVEKEY_Z85_LEN + 1] = "";
    if (config_bool(cfg, "security.curve")) {
        b->clients = clients_load(config_str(cfg, "security.clients_file"), err, errlen);
        if (!b->clients)
            return -1;
        if (curvekey_read(config_str(cfg, "security.server_secret_file"), "security.server_secret_file",
                          secret, err, errlen) != 0)
            return -1;
    }
    b->intake = intake_new(config_str(cfg, "intake.endpoint"), b->limits.max_frame_bytes,
                           b->clients ? secret : NULL, err, errlen);
    explicit_bzero(secret, sizeof secret); /* libzmq holds its own copy */
    if (!b->intake)
        return -1;
    if (metrics_server_start(b->metrics, config_str(cfg, "metrics.listen"), BROKER_METRICS_AUTO,
                             &b->metrics_srv, err, errlen) != 0)
        return -1;
    if (b->metrics_srv)
        healthprobe_start(b->metrics,
                          &(struct healthprobe_opts){.redis_url = config_str(cfg, "redis.url"),
                                                     .redis_cluster = config_bool(cfg, "redis.cluster"),
                                                     .timeout_ms = (int)config_int(cfg, "redis.timeout_ms")},
                          &b->probe);
    return 0;
}

static void teardown(struct broker *b)
{
    intake_destroy(&b->intake);
    healthprobe_stop(&b->probe);
    metrics_server_stop(&b->metrics_srv);
    enqueue_destroy(&b->enq);
    ratelimit_destroy(&b->rl);
    clients_destroy(&b->clients);
    if (b->rounds_live)
        msgpack_sbuffer_destroy(&b->reply);
    for (size_t i = 0; i < BROKER_ROUNDS; i++) {
        struct round *rd = &b->rounds[i];
        for (size_t k = 0; rd->pool && k < b->read_batch; k++)
            request_free(&rd->pool[k]);
        free(rd->pool);
        free(rd->reqs);
        enqueue_batch_destroy(&rd->batch);
        if (rd->zone_live)
            msgpack_zone_destroy(&rd->zone);
    }
    metrics_destroy(&b->metrics);
    config_destroy(&b->cfg);
}

static void log_start(const struct broker *b)
{
    const struct config *cfg = b->cfg;
    char err[BROKER_ERR_MAX], where[512];
    bool cluster = config_bool(cfg, "redis.cluster");
    /* checked in setup */
    rstream_describe_url(config_str(cfg, "redis.url"), cluster, where, sizeof where, err, sizeof err);
    struct redis_url u = {0};
    if (!cluster)
        rstream_parse_url(config_str(cfg, "redis.url"), &u, err, sizeof err);
    char metrics_at[300] = "off";
    char curve[96] = "off";
    if (b->clients)
        snprintf(curve, sizeof curve, "on (%zu clients in security.clients_file)", clients_count(b->clients));
    if (b->metrics_srv) {
        const char *listen = config_str(cfg, "metrics.listen");
        const char *addr = strcmp(listen, "auto") == 0 ? BROKER_METRICS_AUTO : listen;
        const char *colon = strrchr(addr, ':');
        snprintf(metrics_at, sizeof metrics_at, "http://%.*s:%d", (int)(colon - addr), addr,
                 metrics_server_port(b->metrics_srv));
    }
    log_info("kinerja-broker %s started: intake %s, redis %s%s, shards %lld, durability %s, read_batch %zu, "
             "max_batch %zu, max_frame_bytes %zu, rate_per_client %lld, metrics %s, curve %s",
             KINERJA_VERSION, config_str(cfg, "intake.endpoint"), where,
             u.password[0] ? " (with password)" : "", config_int(cfg, "redis.shards"),
             config_str(cfg, "intake.durability"), b->read_batch, b->limits.max_batch,
             b->limits.max_frame_bytes, config_int(cfg, "intake.rate_per_client"), metrics_at, curve);
    if (!b->clients)
        log_warn(
            "security.curve = false: anyone who can reach %s can send any event, as any source and for any "
            "NIP; set security.curve = true (make up makes the keys)",
            config_str(cfg, "intake.endpoint"));
}

int main(int argc, char **argv)
{
    struct broker b;
    memset(&b, 0, sizeof b);
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            b.config_arg = optarg;
            break;
        case 'j':
            b.log_json_flag = true;
            break;
        case 'h':
            print_usage(stdout);
            return 0;
        case 'V':
            printf("kinerja-broker %s\n", KINERJA_VERSION);
            return 0;
        default:
            print_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kinerja-broker: unexpected argument \"%s\"\n", argv[optind]);
        print_usage(stderr);
        return 2;
    }

    log_init(BROKER_COMPONENT, LOG_LEVEL_INFO, b.log_json_flag);
    char err[BROKER_ERR_MAX];
    b.cfg = config_new();
    if (!b.cfg || config_load(b.cfg, b.config_arg, err, sizeof err) != 0) {
        log_error("config: %s", b.cfg ? err : "out of memory");
        config_destroy(&b.cfg);
        return 1;
    }
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(config_str(b.cfg, "log.level"), &level);
    log_init(BROKER_COMPONENT, level, b.log_json_flag || config_bool(b.cfg, "log.json"));

    daemon_install_signals();
    if (setup(&b, err, sizeof err) != 0) {
        log_error("%s", err);
        teardown(&b);
        return 1;
    }
    log_start(&b);
    b.next_stats_ms = daemon_now_ms() + BROKER_STATS_INTERVAL_MS;
    enqueue_maintain(b.enq, daemon_now_ms());
    update_health(&b);

    run_loop(&b);

    log_info("stopping: %s; requests in hand answered", daemon_stopping ? "signal received" : "loop failed");
    bool failed = !daemon_stopping;
    struct broker_snapshot t = snapshot(&b);
    log_info(
        "totals: requests=%lld accepted=%lld duplicate=%lld rejected=%lld retry=%lld redis_roundtrips=%lld "
        "acks_dropped=%lld",
        t.requests, t.events[ACK_ACCEPTED], t.events[ACK_DUPLICATE], t.events[ACK_REJECTED],
        t.events[ACK_RETRY], t.roundtrips, t.dropped);
    teardown(&b);
    log_info("stopped");
    return failed ? 1 : 0;
}
