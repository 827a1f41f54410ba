/*
 * enqueue: the Redis connection and the round of FCALL kinerja_enqueue_many; see
 * enqueue.h. The hot path allocates nothing per event: slots and the command buffer
 * are kept between rounds, each event's bytes are sent as they lie in the client's
 * frame, and the RESP of each call is written here directly (no printf, no hiredis
 * argv formatting); hiredis then allocates per call, not per event.
 */
#include "enqueue.h"

#include "buf.h"
#include "clients.h"
#include "enqueue_int.h"
#include "log.h"
#include "rstream.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command buffer's bound: one call's bytes stop growing past ENQUEUE_CALL_BYTES,
 * plus its last event, which is at most a frame (intake.max_frame_bytes <= 64 MiB). */
#define ENQUEUE_CMD_MAX ((size_t)160 << 20)

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
    e->replicas = o->replicas;
    e->replica_timeout_ms = o->replica_timeout_ms;
    e->cluster = o->cluster;
    snprintf(e->reason, sizeof e->reason, "not connected yet");
    snprintf(e->ttl, sizeof e->ttl, "%lld", e->ttl_s);
    buf_init(&e->cmd, ENQUEUE_CMD_MAX);
    return e;
}

void enqueue_destroy(struct enqueue **pe)
{
    if (!pe || !*pe)
        return;
    struct enqueue *e = *pe;
    if (e->c)
        redisFree(e->c);
    enqueue_cluster_close(e);
    free(e->order);
    buf_free(&e->cmd);
    free(e->url);
    free(e);
    *pe = NULL;
}

bool enqueue_is_up(const struct enqueue *e)
{
    return e->c != NULL || e->rc != NULL;
}

const char *enqueue_down_reason(const struct enqueue *e)
{
    return enqueue_is_up(e) ? "" : e->reason;
}

long long enqueue_next_attempt_ms(const struct enqueue *e)
{
    return enqueue_is_up(e) ? 0 : e->next_attempt_ms;
}

/* A connect attempt failed: back off (doubling) and log when the reason changed. */
void enqueue_connect_failed(struct enqueue *e, long long now_ms, const char *why, bool misconfigured)
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

/* Every event in flight without its reply gets retry: its fate in Redis is unknown,
 * and a resend is answered duplicate at worst, never lost. With replicated, so does
 * every event of a round whose WAIT did not answer: held by the master, not known to
 * be held by a replica. */
static void fail_inflight(struct enqueue *e, const char *why)
{
    for (struct enqueue_batch *b = e->head, *next; b; b = next) {
        next = b->next;
        if (b->next_call < b->ncalls)
            enqueue_retry_from(b->slots, b->calls[b->next_call], b->k, why);
        if (b->wait_pending)
            enqueue_unconfirmed(b, why);
        b->wait_pending = false;
        b->next_call = b->ncalls;
        b->done = true;
        b->next = NULL;
    }
    e->head = e->tail = NULL;
    e->inflight = 0;
}

/* A working connection broke: drop it and try again at once (then back off). */
static void connection_lost(struct enqueue *e, long long now_ms, const char *why)
{
    fail_inflight(e, why);
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
int enqueue_aof_enabled(redisContext *c, char *why, size_t whylen)
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
int enqueue_require_fsync_always(redisContext *c, char *why, size_t whylen)
{
    char err[ENQUEUE_REASON_MAX / 2]; /* leaves room for the prefix in why */
    const char *argv[] = {"CONFIG", "SET", "appendfsync", "always"};
    redisReply *r = run(c, 4, argv, err, sizeof err);
    if (!r) {
        snprintf(why, whylen, "intake.durability = always: CONFIG SET appendfsync always refused: %s", err);
        return -1;
    }
    freeReplyObject(r);
    int aof = enqueue_aof_enabled(c, err, sizeof err);
    if (aof != 1) {
        snprintf(why, whylen, "intake.durability = always: %s",
                 aof == 0 ? "Redis runs with appendonly no (no AOF to fsync)" : err);
        return -1;
    }
    log_info("Redis: CONFIG SET appendfsync always (intake.durability = always)");
    return 0;
}

/* replicated: says at (re)connect how many replicas the master has, and what fewer than
 * intake.replicas means for the acks. */
void enqueue_warn_replicas(redisContext *c, int want)
{
    const char *argv[] = {"INFO", "replication"};
    char why[ENQUEUE_REASON_MAX];
    redisReply *r = run(c, 2, argv, why, sizeof why);
    const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "connected_slaves:") : NULL;
    int have = p ? atoi(p + strlen("connected_slaves:")) : -1;
    if (have >= want)
        log_info(
            "intake.durability = replicated: the master has %d replicas connected; every ack waits for %d "
            "to hold its events",
            have, want);
    else
        log_warn(
            "intake.durability = replicated: the master has %d replicas connected, %d wanted: every event "
            "is answered retry until enough replicas hold it",
            have < 0 ? 0 : have, want);
    if (r)
        freeReplyObject(r);
}

void enqueue_maintain(struct enqueue *e, long long now_ms)
{
    if (e->cluster) {
        enqueue_cluster_maintain(e, now_ms);
        return;
    }
    if (e->c || now_ms < e->next_attempt_ms)
        return;
    char why[ENQUEUE_REASON_MAX];
    redisContext *c = rstream_connect(e->url, e->timeout_ms, why, sizeof why);
    if (!c) {
        enqueue_connect_failed(e, now_ms, why, false);
        return;
    }
    if (rstream_load_library(c, why, sizeof why) != 0) {
        redisFree(c);
        enqueue_connect_failed(e, now_ms, why, false);
        return;
    }
    if (e->fsync_always) {
        if (enqueue_require_fsync_always(c, why, sizeof why) != 0) {
            redisFree(c);
            enqueue_connect_failed(e, now_ms, why, true);
            return;
        }
    } else if (!e->warned_aof_off && enqueue_aof_enabled(c, why, sizeof why) == 0) {
        log_warn("Redis runs with appendonly no: accepted events survive a Redis restart only as far as its "
                 "snapshots go (SPEC 7 expects AOF)");
        e->warned_aof_off = true;
    }
    if (e->replicas > 0)
        enqueue_warn_replicas(c, e->replicas);
    e->c = c;
    log_info("Redis %s (function library loaded)", e->ever_up ? "regained" : "connected");
    e->ever_up = true;
    e->reason[0] = '\0';
    e->backoff_ms = 0;
    e->next_attempt_ms = 0;
}

/* replicated: the round's accepted and duplicate events were not confirmed by enough
 * replicas. They are in the master, so a resend is answered duplicate, and that answer
 * too waits for a replica (the round's WAIT covers the master's writes before it). */
void enqueue_unconfirmed(struct enqueue_batch *b, const char *why)
{
    for (size_t i = 0; i < b->k; i++) {
        struct request_event *ev = b->slots[i].ev;
        if (ev->status == ACK_ACCEPTED || ev->status == ACK_DUPLICATE)
            request_event_set(ev, ACK_RETRY, "not confirmed by a replica: %s", why);
    }
}

/* Outcome for every slot from index from on: retry with reason. */
void enqueue_retry_from(struct slot *slots, size_t from, size_t n, const char *reason)
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

static int ensure_slots(struct enqueue_batch *b, size_t n)
{
    if (n > b->slots_cap) {
        struct slot *s = realloc(b->slots, n * sizeof *s);
        if (!s)
            return -1;
        b->slots = s;
        b->slots_cap = n;
    }
    /* at most one call per event, plus the end mark */
    if (n + 1 > b->calls_cap) {
        size_t *c = realloc(b->calls, (n + 1) * sizeof *c);
        if (!c)
            return -1;
        b->calls = c;
        b->calls_cap = n + 1;
    }
    return 0;
}

/* The name zap gave the sender's connection (ZAP user id, libzmq's "User-Id" of every
 * message of a CURVE connection), or "" when there is none (CURVE off). */
static const char *request_client(struct request *req)
{
    const char *name = req->has_payload ? zmq_msg_gets(&req->payload, "User-Id") : NULL;
    return name ? name : "";
}

/* Gathers the pending events of reqs into b->slots. Returns the number of slots. */
static size_t gather(struct enqueue_batch *b, struct request **reqs, size_t n)
{
    size_t k = 0;
    for (size_t r = 0; r < n; r++) {
        struct request *req = reqs[r];
        const char *client = request_client(req);
        size_t client_len = strlen(client);
        for (size_t i = 0; i < req->nevents; i++) {
            struct request_event *ev = &req->events[i];
            if (ev->status != ACK_PENDING)
                continue;
            struct slot *s = &b->slots[k++];
            s->ev = ev;
            s->recv_wall_ms = req->recv_wall_ms;
            s->client = client;
            s->client_len = client_len;
        }
    }
    return k;
}

/* Decimal digits of v (v >= 0) into out, most significant first; returns the count. */
static size_t put_uint(char *out, unsigned long long v)
{
    char tmp[ENQUEUE_NUM_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Appends a RESP header: c then the number then CRLF ("*12\r\n", "$36\r\n"). */
static int put_header(struct buf *b, char c, size_t v)
{
    char h[ENQUEUE_NUM_MAX + 3];
    h[0] = c;
    size_t n = 1 + put_uint(h + 1, v);
    h[n++] = '\r';
    h[n++] = '\n';
    return buf_append(b, h, n);
}

/* Appends one bulk string: $len CRLF bytes CRLF. */
static int put_bulk(struct buf *b, const char *p, size_t len)
{
    if (put_header(b, '$', len) != 0 || buf_append(b, p, len) != 0)
        return -1;
    return buf_append(b, "\r\n", 2);
}

/* The event's id in lower case (the id is a validated UUID; its lower-case form is the
 * idempotency key, so "ABC..." and "abc..." are one event). Returns its length. */
size_t enqueue_lower_id(const struct request_event *ev, char *id)
{
    size_t n = ev->id.n < EVENT_ID_LEN ? ev->id.n : EVENT_ID_LEN;
    for (size_t i = 0; i < n; i++)
        id[i] = (char)tolower((unsigned char)ev->id.p[i]);
    id[n] = '\0';
    return n;
}

/* The dedupe key kinerja:dd:<lower-case id>, as rstream_dedupe_key writes it. */
static size_t dedupe_key(const struct request_event *ev, char *out)
{
    static const char prefix[] = "kinerja:dd:";
    memcpy(out, prefix, sizeof prefix - 1);
    return sizeof prefix - 1 + enqueue_lower_id(ev, out + sizeof prefix - 1);
}

/* The stream key kinerja:ev:{N} of a shard, as rstream_stream_key writes it. */
static size_t stream_key(unsigned shard, char *out)
{
    static const char prefix[] = "kinerja:ev:{";
    memcpy(out, prefix, sizeof prefix - 1);
    size_t n = sizeof prefix - 1;
    n += put_uint(out + n, shard);
    out[n++] = '}';
    out[n] = '\0';
    return n;
}

/* Writes the RESP of FCALL kinerja_enqueue_many for slots [from, to) into e->cmd. */
static int build_call(struct enqueue *e, const struct enqueue_batch *bt, size_t from, size_t to)
{
    struct buf *b = &e->cmd;
    buf_reset(b);
    size_t n = to - from;
    if (put_header(b, '*', 3 + 2 * n + 1 + 4 * n) != 0 || put_bulk(b, "FCALL", 5) != 0 ||
        put_bulk(b, ENQUEUE_FUNCTION, sizeof ENQUEUE_FUNCTION - 1) != 0)
        return -1;
    char num[ENQUEUE_NUM_MAX];
    if (put_bulk(b, num, put_uint(num, 2 * n)) != 0)
        return -1;
    char key[RSTREAM_KEY_MAX], id[EVENT_ID_LEN + 1];
    for (size_t i = from; i < to; i++) {
        const struct request_event *ev = bt->slots[i].ev;
        size_t kl = dedupe_key(ev, key);
        if (put_bulk(b, key, kl) != 0 || put_bulk(b, key, stream_key(ev->shard, key)) != 0)
            return -1;
    }
    if (put_bulk(b, e->ttl, strlen(e->ttl)) != 0)
        return -1;
    for (size_t i = from; i < to; i++) {
        const struct slot *s = &bt->slots[i];
        size_t idlen = enqueue_lower_id(s->ev, id);
        long long rt = s->recv_wall_ms > 0 ? s->recv_wall_ms : 0;
        if (put_bulk(b, id, idlen) != 0 || put_bulk(b, s->ev->raw, s->ev->raw_len) != 0 ||
            put_bulk(b, num, put_uint(num, (unsigned long long)rt)) != 0 ||
            put_bulk(b, s->client, s->client_len) != 0)
            return -1;
    }
    return 0;
}

/* Splits slots [0, k) into calls of at most ENQUEUE_CALL_EVENTS events and about
 * ENQUEUE_CALL_BYTES bytes; b->calls[0..ncalls] are their bounds. */
static void plan_calls(struct enqueue_batch *b)
{
    size_t ncalls = 0, bytes = 0;
    for (size_t i = 0; i < b->k; i++) {
        if (i == 0 || i - b->calls[ncalls - 1] >= ENQUEUE_CALL_EVENTS || bytes >= ENQUEUE_CALL_BYTES) {
            b->calls[ncalls++] = i;
            bytes = 0;
        }
        bytes += b->slots[i].ev->raw_len + 128; /* keys, id, times */
    }
    b->calls[ncalls] = b->k;
    b->ncalls = ncalls;
    b->next_call = 0;
}

/* Gives the events of one call their outcome from its reply ({status, error}).
 * Returns 0, or -1 when the connection should be dropped (broken says why). */
static int apply_reply(struct enqueue_batch *b, const redisReply *r, size_t from, size_t to, char *broken,
                       size_t brokenlen)
{
    size_t n = to - from;
    if (r->type == REDIS_REPLY_ERROR) {
        /* e.g. a flushed function library, OOM, MISCONF: nothing of this call was
         * stored. Reconnecting (and reloading the library) is the one remedy we have. */
        enqueue_retry_from(b->slots, from, to, r->str);
        snprintf(broken, brokenlen, "%s", r->str);
        return -1;
    }
    const redisReply *st = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[0] : NULL;
    const redisReply *er = st ? r->element[1] : NULL;
    if (!st || st->type != REDIS_REPLY_STRING || st->len != n || er->type != REDIS_REPLY_STRING) {
        /* not what the function returns: trust none of it (never a guessed accepted) */
        char why[ENQUEUE_REASON_MAX];
        snprintf(why, sizeof why, "unexpected reply from %s (type %d)", ENQUEUE_FUNCTION, r->type);
        enqueue_retry_from(b->slots, from, to, why);
        snprintf(broken, brokenlen, "%s", why);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct request_event *ev = b->slots[from + i].ev;
        switch (st->str[i]) {
        case 'a':
            request_event_set(ev, ACK_ACCEPTED, NULL);
            break;
        case 'd':
            request_event_set(ev, ACK_DUPLICATE, NULL);
            break;
        default: /* 'r': not stored; the function stopped here */
            request_event_set(ev, ACK_RETRY, "storage unavailable: %s", er->len ? er->str : "not stored");
            if (rc == 0)
                snprintf(broken, brokenlen, "%s", er->len ? er->str : "an event was not stored");
            rc = -1;
            break;
        }
    }
    return rc;
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

struct enqueue_batch *enqueue_batch_new(void)
{
    return calloc(1, sizeof(struct enqueue_batch));
}

void enqueue_batch_destroy(struct enqueue_batch **pb)
{
    if (!pb || !*pb)
        return;
    free((*pb)->slots);
    free((*pb)->calls);
    free(*pb);
    *pb = NULL;
}

bool enqueue_batch_done(const struct enqueue_batch *b)
{
    return b->done;
}

/* Every pending event of reqs: retry with reason (nothing was sent). */
static void retry_pending(struct request **reqs, size_t n, const char *reason)
{
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < reqs[r]->nevents; i++)
            if (reqs[r]->events[i].status == ACK_PENDING)
                request_event_set(&reqs[r]->events[i], ACK_RETRY, "storage unavailable: %s", reason);
}

/* Writes what hiredis has buffered; -1 with the reason when the connection failed. */
static int flush(struct enqueue *e, char *why, size_t whylen)
{
    int done = 0;
    while (!done) {
        if (redisBufferWrite(e->c, &done) != REDIS_OK) {
            read_failure(e->c, e->timeout_ms, why, whylen);
            return -1;
        }
    }
    return 0;
}

/* The buffer holds part of round b: every event of it gets retry and the connection is
 * dropped (and with it every round still in flight on it). */
static void pipeline_broken(struct enqueue *e, struct enqueue_batch *b, long long now_ms,
                            const char *fallback)
{
    char why[ENQUEUE_REASON_MAX];
    snprintf(why, sizeof why, "cannot build the pipeline: %s", e->c->errstr[0] ? e->c->errstr : fallback);
    enqueue_retry_from(b->slots, 0, b->k, why);
    connection_lost(e, now_ms, why);
}

int enqueue_submit(struct enqueue *e, struct enqueue_batch *b, struct request **reqs, size_t n,
                   long long now_ms)
{
    b->done = true;
    b->k = b->ncalls = b->next_call = 0;
    b->next = NULL;
    size_t pending = 0;
    for (size_t r = 0; r < n; r++) {
        apply_bindings(reqs[r]);
        pending += request_pending(reqs[r]);
    }
    if (pending == 0)
        return 0;
    if (ensure_slots(b, pending) != 0) {
        retry_pending(reqs, n, "broker out of memory");
        return 0;
    }
    b->k = gather(b, reqs, n);
    /* No connect attempt here: the loop makes them (enqueue_maintain), so a round in
     * backoff is answered at once. */
    if (!enqueue_is_up(e)) {
        enqueue_retry_from(b->slots, 0, b->k, e->reason);
        return 0;
    }
    if (e->rc) {
        enqueue_cluster_round(e, b, now_ms);
        return 1;
    }
    plan_calls(b);
    char why[ENQUEUE_REASON_MAX];
    for (size_t c = 0; c < b->ncalls; c++) {
        if (build_call(e, b, b->calls[c], b->calls[c + 1]) != 0 ||
            redisAppendFormattedCommand(e->c, e->cmd.data, e->cmd.len) != REDIS_OK) {
            pipeline_broken(e, b, now_ms, "command too large or out of memory");
            return 0;
        }
    }
    /* replicated: a write of our own, so that WAIT covers this round even when all of
     * it was duplicates (a duplicate writes nothing, and WAIT waits for the
     * connection's last write), then WAIT */
    b->wait_pending = false;
    if (e->replicas > 0) {
        char nrep[ENQUEUE_NUM_MAX], ms[ENQUEUE_NUM_MAX];
        snprintf(nrep, sizeof nrep, "%d", e->replicas);
        snprintf(ms, sizeof ms, "%d", e->replica_timeout_ms);
        const char *set[] = {"SET", RSTREAM_WAIT_KEY, "1", "EX", "60"};
        const char *wait[] = {"WAIT", nrep, ms};
        if (redisAppendCommandArgv(e->c, 5, set, NULL) != REDIS_OK ||
            redisAppendCommandArgv(e->c, 3, wait, NULL) != REDIS_OK) {
            pipeline_broken(e, b, now_ms, "out of memory");
            return 0;
        }
        b->wait_pending = true;
        b->wait_set_read = false;
    }
    b->done = false;
    b->sent_ms = now_ms;
    if (e->tail)
        e->tail->next = b;
    else
        e->head = b;
    e->tail = b;
    e->inflight++;
    if (flush(e, why, sizeof why) != 0)
        connection_lost(e, now_ms, why); /* b too: retry for all of it */
    return 1;
}

/* One reply: the outcome of the oldest call without one. Returns 0, or -1 when the
 * connection must be dropped (why says why). */
static int take_reply(struct enqueue *e, redisReply *r, char *why, size_t whylen)
{
    struct enqueue_batch *b = e->head;
    if (!b) {
        snprintf(why, whylen, "a reply from Redis to no call of ours");
        return -1;
    }
    int rc = 0;
    if (b->next_call < b->ncalls) {
        size_t c = b->next_call++;
        rc = apply_reply(b, r, b->calls[c], b->calls[c + 1], why, whylen);
    } else if (b->wait_pending && !b->wait_set_read) {
        b->wait_set_read = true; /* the SET before WAIT: an error reply drops the connection */
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(why, whylen, "%s", r->str);
            return -1; /* connection_lost: unconfirmed with the rest */
        }
        return 0;
    } else if (b->wait_pending) {
        b->wait_pending = false;
        if (r->type != REDIS_REPLY_INTEGER) {
            snprintf(why, whylen, "WAIT: %s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            enqueue_unconfirmed(b, why);
            rc = -1;
        } else if (r->integer < e->replicas) {
            char w[ENQUEUE_REASON_MAX];
            snprintf(w, sizeof w, "%lld of %d replicas within intake.replica_timeout_ms (%d ms)", r->integer,
                     e->replicas, e->replica_timeout_ms);
            enqueue_unconfirmed(b, w);
            log_debug("replicated: round not confirmed: %s", w);
        }
    }
    if (b->next_call == b->ncalls && !b->wait_pending) {
        b->done = true;
        e->head = b->next;
        if (!e->head)
            e->tail = NULL;
        b->next = NULL;
        e->inflight--;
    }
    return rc;
}

void enqueue_read(struct enqueue *e, long long now_ms)
{
    if (!e->c || !e->head)
        return;
    char why[ENQUEUE_REASON_MAX];
    if (redisBufferRead(e->c) != REDIS_OK) {
        read_failure(e->c, e->timeout_ms, why, sizeof why);
        connection_lost(e, now_ms, why);
        return;
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(e->c->reader, &reply) != REDIS_OK) {
            snprintf(why, sizeof why, "Redis protocol error: %s",
                     e->c->reader->errstr[0] ? e->c->reader->errstr : "unreadable reply");
            connection_lost(e, now_ms, why);
            return;
        }
        if (!reply)
            return; /* the rest has not arrived yet */
        int rc = take_reply(e, reply, why, sizeof why);
        freeReplyObject(reply);
        if (rc != 0) {
            /* an error reply (a flushed library, OOM, MISCONF, ...): reconnecting and
             * reloading the library is the one remedy; later calls get retry */
            connection_lost(e, now_ms, why);
            return;
        }
    }
}

/* How long a round may wait for its replies: redis.timeout_ms, and with replicated the
 * WAIT's own timeout on top. */
static long long round_timeout_ms(const struct enqueue *e)
{
    return (long long)e->timeout_ms + (e->replicas > 0 ? e->replica_timeout_ms : 0);
}

void enqueue_expire(struct enqueue *e, long long now_ms)
{
    if (e->c && e->head && now_ms - e->head->sent_ms >= round_timeout_ms(e)) {
        char why[ENQUEUE_REASON_MAX];
        snprintf(why, sizeof why, "no reply from Redis within %lld ms", round_timeout_ms(e));
        connection_lost(e, now_ms, why);
    }
}

int enqueue_wait_fd(const struct enqueue *e)
{
    return e->c && e->head ? e->c->fd : -1;
}

long long enqueue_deadline_ms(const struct enqueue *e)
{
    return e->c && e->head ? e->head->sent_ms + round_timeout_ms(e) : 0;
}

size_t enqueue_inflight(const struct enqueue *e)
{
    return e->inflight;
}
