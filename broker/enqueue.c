/*
 * enqueue: the Redis connection and the pipelined FCALL round; see enqueue.h.
 */
#include "enqueue.h"

#include "clients.h"
#include "log.h"
#include "rstream.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENQUEUE_ARGC 10
#define ENQUEUE_NUM_MAX 24 /* a decimal long long */

/* One pending event in the round being built. */
struct slot {
    struct request_event *ev;
    const char *bytes; /* the event's msgpack map: the payload itself, or NULL = in packed */
    size_t off, len;
    long long recv_wall_ms;
    const char *client; /* the CURVE client's name ("User-Id"); "" without CURVE */
};

struct enqueue {
    char *url;
    int timeout_ms;
    long long ttl_s;
    bool fsync_always;

    redisContext *c;
    char reason[ENQUEUE_REASON_MAX]; /* why down; "" when up */
    int backoff_ms;
    long long next_attempt_ms;
    bool ever_up;
    bool warned_aof_off;

    msgpack_sbuffer packed; /* re-packed events of a batch, reused between rounds */
    struct slot *slots;
    size_t slots_cap;
};

struct enqueue *enqueue_new(const struct enqueue_options *o)
{
    struct enqueue *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->url = strdup(o->redis_url);
    if (!e->url) {
        free(e);
        return NULL;
    }
    e->timeout_ms = o->timeout_ms;
    e->ttl_s = o->dedupe_ttl_s;
    e->fsync_always = o->fsync_always;
    snprintf(e->reason, sizeof e->reason, "not connected yet");
    msgpack_sbuffer_init(&e->packed);
    return e;
}

void enqueue_destroy(struct enqueue **pe)
{
    if (!pe || !*pe)
        return;
    struct enqueue *e = *pe;
    if (e->c)
        redisFree(e->c);
    msgpack_sbuffer_destroy(&e->packed);
    free(e->slots);
    free(e->url);
    free(e);
    *pe = NULL;
}

bool enqueue_is_up(const struct enqueue *e)
{
    return e->c != NULL;
}

const char *enqueue_down_reason(const struct enqueue *e)
{
    return e->c ? "" : e->reason;
}

long long enqueue_next_attempt_ms(const struct enqueue *e)
{
    return e->c ? 0 : e->next_attempt_ms;
}

/* A connect attempt failed: back off (doubling) and log when the reason changed. */
static void connect_failed(struct enqueue *e, long long now_ms, const char *why, bool misconfigured)
{
    bool changed = strcmp(e->reason, why) != 0;
    snprintf(e->reason, sizeof e->reason, "%s", why);
    e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : ENQUEUE_BACKOFF_MIN_MS;
    if (e->backoff_ms > ENQUEUE_BACKOFF_MAX_MS)
        e->backoff_ms = ENQUEUE_BACKOFF_MAX_MS;
    e->next_attempt_ms = now_ms + e->backoff_ms;
    if (changed)
        log_msg(misconfigured ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN,
                "Redis unavailable: %s; answering retry, next attempt in %d ms (backoff up to %d ms)", why,
                e->backoff_ms, ENQUEUE_BACKOFF_MAX_MS);
    else
        log_debug("Redis still unavailable: %s; next attempt in %d ms", why, e->backoff_ms);
}

/* A working connection broke: drop it and try again at once (then back off). */
static void connection_lost(struct enqueue *e, long long now_ms, const char *why)
{
    if (e->c) {
        redisFree(e->c);
        e->c = NULL;
    }
    snprintf(e->reason, sizeof e->reason, "%s", why);
    e->backoff_ms = 0;
    e->next_attempt_ms = now_ms;
    log_warn("Redis lost: %s; answering retry until it is back", why);
}

/* Runs one command on c, returns the reply or NULL with the reason. */
static redisReply *run(redisContext *c, int argc, const char **argv, char *why, size_t whylen)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) {
        snprintf(why, whylen, "%s", c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "%s", r->str ? r->str : "error");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* "yes"/"no" of CONFIG GET appendonly; -1 when it cannot be read. */
static int aof_enabled(redisContext *c, char *why, size_t whylen)
{
    const char *argv[] = {"CONFIG", "GET", "appendonly"};
    redisReply *r = run(c, 3, argv, why, whylen);
    if (!r)
        return -1;
    int on = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING)
        on = strcmp(r->element[1]->str, "yes") == 0;
    else
        snprintf(why, whylen, "unexpected reply to CONFIG GET appendonly");
    freeReplyObject(r);
    return on;
}

/* intake.durability = always: every accepted event must be fsynced before its reply,
 * which Redis does with appendonly yes + appendfsync always. Returns 0 or -1. */
static int require_fsync_always(redisContext *c, char *why, size_t whylen)
{
    char err[ENQUEUE_REASON_MAX / 2]; /* leaves room for the prefix in why */
    const char *argv[] = {"CONFIG", "SET", "appendfsync", "always"};
    redisReply *r = run(c, 4, argv, err, sizeof err);
    if (!r) {
        snprintf(why, whylen, "intake.durability = always: CONFIG SET appendfsync always refused: %s", err);
        return -1;
    }
    freeReplyObject(r);
    int aof = aof_enabled(c, err, sizeof err);
    if (aof != 1) {
        snprintf(why, whylen, "intake.durability = always: %s",
                 aof == 0 ? "Redis runs with appendonly no (no AOF to fsync)" : err);
        return -1;
    }
    log_info("Redis: CONFIG SET appendfsync always (intake.durability = always)");
    return 0;
}

void enqueue_maintain(struct enqueue *e, long long now_ms)
{
    if (e->c || now_ms < e->next_attempt_ms)
        return;
    char why[ENQUEUE_REASON_MAX];
    redisContext *c = rstream_connect(e->url, e->timeout_ms, why, sizeof why);
    if (!c) {
        connect_failed(e, now_ms, why, false);
        return;
    }
    if (rstream_load_library(c, why, sizeof why) != 0) {
        redisFree(c);
        connect_failed(e, now_ms, why, false);
        return;
    }
    if (e->fsync_always) {
        if (require_fsync_always(c, why, sizeof why) != 0) {
            redisFree(c);
            connect_failed(e, now_ms, why, true);
            return;
        }
    } else if (!e->warned_aof_off && aof_enabled(c, why, sizeof why) == 0) {
        log_warn("Redis runs with appendonly no: accepted events survive a Redis restart only as far as its "
                 "snapshots go (SPEC 7 expects AOF)");
        e->warned_aof_off = true;
    }
    e->c = c;
    log_info("Redis %s (function library loaded)", e->ever_up ? "regained" : "connected");
    e->ever_up = true;
    e->reason[0] = '\0';
    e->backoff_ms = 0;
    e->next_attempt_ms = 0;
}

/* Outcome for every slot from index from on: retry with reason. */
static void retry_from(struct slot *slots, size_t from, size_t n, const char *reason)
{
    for (size_t i = from; i < n; i++)
        request_event_set(slots[i].ev, ACK_RETRY, "storage unavailable: %s", reason);
}

/* Why a pipelined read failed, in words a client log can use. */
static void read_failure(redisContext *c, int timeout_ms, char *why, size_t whylen)
{
    if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable"))
        snprintf(why, whylen, "no reply from Redis within redis.timeout_ms (%d ms)", timeout_ms);
    else
        snprintf(why, whylen, "Redis connection failed: %s", c->errstr[0] ? c->errstr : "no reply");
}

static int ensure_slots(struct enqueue *e, size_t n)
{
    if (n <= e->slots_cap)
        return 0;
    struct slot *s = realloc(e->slots, n * sizeof *s);
    if (!s)
        return -1;
    e->slots = s;
    e->slots_cap = n;
    return 0;
}

/* The name zap gave the sender's connection (ZAP user id, libzmq's "User-Id" of every
 * message of a CURVE connection), or "" when there is none (CURVE off). */
static const char *request_client(struct request *req)
{
    const char *name = req->has_payload ? zmq_msg_gets(&req->payload, "User-Id") : NULL;
    return name ? name : "";
}

/* Gathers the pending events of reqs into e->slots, re-packing batch elements into
 * e->packed (a single-event frame is used as it came: mpscan proved it is exactly one
 * map). Returns the number of slots. */
static size_t gather(struct enqueue *e, struct request **reqs, size_t n)
{
    msgpack_sbuffer_clear(&e->packed);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &e->packed, msgpack_sbuffer_write);
    size_t k = 0;
    for (size_t r = 0; r < n; r++) {
        struct request *req = reqs[r];
        for (size_t i = 0; i < req->nevents; i++) {
            struct request_event *ev = &req->events[i];
            if (ev->status != ACK_PENDING)
                continue;
            struct slot *s = &e->slots[k];
            s->ev = ev;
            s->recv_wall_ms = req->recv_wall_ms;
            s->client = request_client(req);
            if (!req->is_batch) {
                s->bytes = zmq_msg_data(&req->payload);
                s->off = 0;
                s->len = zmq_msg_size(&req->payload);
            } else {
                s->bytes = NULL;
                s->off = e->packed.size;
                if (msgpack_pack_object(&pk, *ev->obj) != 0) {
                    request_event_set(ev, ACK_RETRY, "storage unavailable: broker out of memory");
                    continue;
                }
                s->len = e->packed.size - s->off;
            }
            k++;
        }
    }
    return k;
}

/* Appends the FCALL for one slot to the pipeline. */
static int append_fcall(struct enqueue *e, const struct slot *s)
{
    char ddkey[RSTREAM_KEY_MAX], skey[RSTREAM_KEY_MAX];
    char id[EVENT_ID_LEN + 1];
    size_t idlen = s->ev->id.n < EVENT_ID_LEN ? s->ev->id.n : EVENT_ID_LEN;
    /* The id is a validated UUID; its lower-case form is the idempotency key, so
     * "ABC..." and "abc..." are one event. */
    for (size_t i = 0; i < idlen; i++)
        id[i] = (char)tolower((unsigned char)s->ev->id.p[i]);
    id[idlen] = '\0';
    rstream_dedupe_key(id, idlen, ddkey, sizeof ddkey);
    rstream_stream_key(s->ev->shard, skey, sizeof skey);
    char ttl[ENQUEUE_NUM_MAX], rt[ENQUEUE_NUM_MAX];
    snprintf(ttl, sizeof ttl, "%lld", e->ttl_s);
    snprintf(rt, sizeof rt, "%lld", s->recv_wall_ms);
    const char *bytes = s->bytes ? s->bytes + s->off : e->packed.data + s->off;
    const char *argv[ENQUEUE_ARGC] = {
        "FCALL", RSTREAM_FUNCTION_ENQUEUE, "2", ddkey, skey, id, bytes, ttl, rt, s->client};
    size_t lens[ENQUEUE_ARGC] = {5,
                                 strlen(RSTREAM_FUNCTION_ENQUEUE),
                                 1,
                                 strlen(ddkey),
                                 strlen(skey),
                                 idlen,
                                 s->len,
                                 strlen(ttl),
                                 strlen(rt),
                                 strlen(s->client)};
    return redisAppendCommandArgv(e->c, ENQUEUE_ARGC, argv, lens) == REDIS_OK ? 0 : -1;
}

/* With CURVE: a pending event outside its client's bindings (source=, as= of
 * security.clients_file, the list in force) is rejected with the reason. A client no
 * longer listed was rejected whole by the main loop already. */
static void apply_bindings(struct request *req)
{
    const char *name = request_client(req);
    const struct clients *list = name[0] ? clients_current() : NULL;
    const struct client *cl = list ? clients_find_name(list, name) : NULL;
    if (!cl || (!cl->sources && !cl->as))
        return;
    char why[CLIENTS_WHY_MAX];
    for (size_t i = 0; i < req->nevents; i++) {
        struct request_event *ev = &req->events[i];
        if (ev->status == ACK_PENDING && client_check_event(cl, ev->type, ev->obj, why, sizeof why) != 0)
            request_event_set(ev, ACK_REJECTED, "%s", why);
    }
}

int enqueue_round(struct enqueue *e, struct request **reqs, size_t n, long long now_ms)
{
    size_t pending = 0;
    for (size_t r = 0; r < n; r++) {
        apply_bindings(reqs[r]);
        pending += request_pending(reqs[r]);
    }
    if (pending == 0)
        return 0;
    if (ensure_slots(e, pending) != 0) {
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < reqs[r]->nevents; i++)
                if (reqs[r]->events[i].status == ACK_PENDING)
                    request_event_set(&reqs[r]->events[i], ACK_RETRY,
                                      "storage unavailable: broker out of memory");
        return 0;
    }
    size_t k = gather(e, reqs, n);
    /* No connect attempt here: the loop makes them (enqueue_maintain), so a round in
     * backoff is answered at once. */
    if (!e->c) {
        retry_from(e->slots, 0, k, e->reason);
        return 0;
    }

    for (size_t i = 0; i < k; i++) {
        if (append_fcall(e, &e->slots[i]) != 0) {
            /* Nothing was sent yet (appends only buffer), but the buffer is now in an
             * unknown state: drop the connection. */
            char why[ENQUEUE_REASON_MAX];
            snprintf(why, sizeof why, "cannot build the pipeline: %s", e->c->errstr);
            retry_from(e->slots, 0, k, why);
            connection_lost(e, now_ms, why);
            return 0;
        }
    }

    char broken[ENQUEUE_REASON_MAX] = "";
    for (size_t i = 0; i < k; i++) {
        void *reply = NULL;
        if (redisGetReply(e->c, &reply) != REDIS_OK || !reply) {
            char why[ENQUEUE_REASON_MAX];
            read_failure(e->c, e->timeout_ms, why, sizeof why);
            retry_from(e->slots, i, k, why);
            connection_lost(e, now_ms, why);
            return 1;
        }
        redisReply *r = reply;
        struct request_event *ev = e->slots[i].ev;
        if (r->type == REDIS_REPLY_STRING) {
            request_event_set(ev, ACK_ACCEPTED, NULL);
        } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
            request_event_set(ev, ACK_DUPLICATE, NULL);
        } else if (r->type == REDIS_REPLY_ERROR) {
            /* e.g. OOM, MISCONF, a flushed function library: nothing was stored for this
             * event. Reconnecting (and reloading the library) is the one remedy we have. */
            request_event_set(ev, ACK_RETRY, "storage unavailable: %s", r->str);
            if (!broken[0])
                snprintf(broken, sizeof broken, "%s", r->str);
        } else {
            request_event_set(ev, ACK_RETRY, "storage unavailable: unexpected reply type %d from %s", r->type,
                              RSTREAM_FUNCTION_ENQUEUE);
            if (!broken[0])
                snprintf(broken, sizeof broken, "unexpected reply type %d", r->type);
        }
        freeReplyObject(r);
    }
    if (broken[0])
        connection_lost(e, now_ms, broken);
    return 1;
}
