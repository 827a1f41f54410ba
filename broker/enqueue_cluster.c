/*
 * enqueue_cluster: the broker's rounds on a Redis Cluster (redis.cluster = true); see
 * enqueue.h. A round is synchronous: the reservations of its ids over the per-node
 * pipelines, then the shards' calls (and with replicated the WAITs) in a second, and
 * every event has its outcome when enqueue_cluster_round returns. The one-server path
 * (enqueue.c) keeps rounds in flight; here the broker waits for each round.
 *
 * What an event may be told:
 *   accepted   its shard's call stored it (the shard's dedupe key and the XADD in one
 *              function call), and with replicated every node the round wrote to
 *              confirmed a replica holds the round;
 *   duplicate  its id is reserved for another shard, or its shard's call found it;
 *   retry      anything else: a node lost or redirected in between, an error reply, a
 *              WAIT short of intake.replicas. A resend finds its reservation (same
 *              shard: on to the shard's call) and is stored once.
 */
#include "enqueue_int.h"

#include "log.h"
#include "rstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_KEY_MAX (RSTREAM_KEY_MAX + EVENT_ID_LEN + 8)
/* the texts of one call's arguments: per event two keys, the id and the time */
#define CLUSTER_CALL_TEXT (ENQUEUE_CALL_EVENTS * (2 * CLUSTER_KEY_MAX + EVENT_ID_LEN + 2 * ENQUEUE_NUM_MAX))
#define CLUSTER_CALL_ARGS (4 + 6 * ENQUEUE_CALL_EVENTS)
#define CLUSTER_NODES_SEEN 128 /* nodes one round can write to and WAIT on; a round reaching more: retry */

struct call_args {
    const char *argv[CLUSTER_CALL_ARGS];
    size_t lens[CLUSTER_CALL_ARGS];
    int argc;
    char text[CLUSTER_CALL_TEXT];
    size_t used;
};

static void push(struct call_args *a, const char *p, size_t len)
{
    a->argv[a->argc] = p;
    a->lens[a->argc] = len;
    a->argc++;
}

/* Copies len bytes into a's text and pushes them (the text is sized for a full call). */
static void push_copy(struct call_args *a, const char *p, size_t len)
{
    char *at = a->text + a->used;
    memcpy(at, p, len);
    a->used += len;
    push(a, at, len);
}

static size_t reservation_key(const struct request_event *ev, char *out)
{
    char id[EVENT_ID_LEN + 1];
    size_t n = enqueue_lower_id(ev, id);
    return (size_t)snprintf(out, CLUSTER_KEY_MAX, "kinerja:dd:%.*s", (int)n, id);
}

static size_t shard_dedupe_key(const struct request_event *ev, char *out)
{
    char id[EVENT_ID_LEN + 1];
    size_t n = enqueue_lower_id(ev, id);
    return (size_t)snprintf(out, CLUSTER_KEY_MAX, "kinerja:dd:{%u}:%.*s", ev->shard, (int)n, id);
}

static int each_master_ready(redisContext *c, const char *addr, void *arg)
{
    struct enqueue *e = arg;
    char why[ENQUEUE_REASON_MAX / 2];
    if (rstream_load_library(c, why, sizeof why) != 0) {
        snprintf(e->reason, sizeof e->reason, "%s: %s", addr, why);
        return 1;
    }
    if (e->fsync_always) {
        if (enqueue_require_fsync_always(c, why, sizeof why) != 0) {
            snprintf(e->reason, sizeof e->reason, "%s: %s", addr, why);
            return 2;
        }
    } else if (!e->warned_aof_off && enqueue_aof_enabled(c, why, sizeof why) == 0) {
        log_warn("Redis %s runs with appendonly no: accepted events survive its restart only as far as its "
                 "snapshots go (SPEC 7 expects AOF)",
                 addr);
        e->warned_aof_off = true;
    }
    if (e->replicas > 0)
        enqueue_warn_replicas(c, e->replicas);
    return 0;
}

void enqueue_cluster_maintain(struct enqueue *e, long long now_ms)
{
    if (e->rc || now_ms < e->next_attempt_ms)
        return;
    char why[ENQUEUE_REASON_MAX];
    struct rcluster *rc = rcluster_connect(e->url, e->timeout_ms, why, sizeof why);
    if (!rc) {
        enqueue_connect_failed(e, now_ms, why, false);
        return;
    }
    /* a round waits out a failover for redis.timeout_ms at most; then its events get
     * retry and the client resends */
    rcluster_set_retry_ms(rc, e->timeout_ms);
    char err[ENQUEUE_REASON_MAX / 2];
    int rc_ready = rcluster_each_master(rc, each_master_ready, e, err, sizeof err);
    if (rc_ready != 0) {
        if (rc_ready < 0)
            snprintf(why, sizeof why, "%s", err);
        else
            snprintf(why, sizeof why, "%s", e->reason);
        rcluster_destroy(&rc);
        enqueue_connect_failed(e, now_ms, why, rc_ready == 2);
        return;
    }
    if (!e->pipe && !(e->pipe = rcluster_pipe_new(rc))) {
        rcluster_destroy(&rc);
        enqueue_connect_failed(e, now_ms, "broker out of memory", false);
        return;
    }
    e->rc = rc;
    log_info("Redis Cluster %s: %zu masters (function library loaded on each)",
             e->ever_up ? "regained" : "connected", rcluster_master_count(rc));
    e->ever_up = true;
    e->reason[0] = '\0';
    e->backoff_ms = 0;
    e->next_attempt_ms = 0;
}

void enqueue_cluster_close(struct enqueue *e)
{
    rcluster_pipe_destroy(&e->pipe);
    if (e->rc)
        rcluster_destroy(&e->rc);
}

/* The cluster failed us mid-round (an error reply, a node lost): drop it and connect
 * again at once (then back off); reconnecting reads the map and reloads the library. */
static void cluster_lost(struct enqueue *e, long long now_ms, const char *why)
{
    enqueue_cluster_close(e);
    snprintf(e->reason, sizeof e->reason, "%s", why);
    e->backoff_ms = 0;
    e->next_attempt_ms = now_ms;
    log_warn("Redis Cluster lost: %s; answering retry until it is back", why);
}

static bool same_stats(const struct rcluster_stats *a, const struct rcluster_stats *b)
{
    return a->moved == b->moved && a->ask == b->ask && a->refreshes == b->refreshes && a->lost == b->lost &&
           a->retries == b->retries;
}

static int order_by_shard(const void *pa, const void *pb, void *arg)
{
    const struct enqueue_batch *b = arg;
    size_t x = *(const size_t *)pa, y = *(const size_t *)pb;
    unsigned sx = b->slots[x].ev->shard, sy = b->slots[y].ev->shard;
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return x < y ? -1 : x > y; /* the order of arrival within a shard */
}

/* The nodes a round wrote to, by connection, with a slot of each (for its WAIT). */
struct nodes_seen {
    redisContext *c[CLUSTER_NODES_SEEN];
    unsigned slot[CLUSTER_NODES_SEEN];
    char tag[CLUSTER_NODES_SEEN][CLUSTER_KEY_MAX]; /* a hash tag in that slot */
    size_t n;
    bool confirmed[CLUSTER_NODES_SEEN]; /* replicated: its WAIT answered intake.replicas */
    char why[ENQUEUE_REASON_MAX];       /* why the first unconfirmed node is not */
};

/* The index in ns of the node serving slot (added with tag if new), or -1 when it
 * cannot be told: then nothing written there can be vouched for. */
static int node_seen(struct enqueue *e, struct nodes_seen *ns, unsigned slot, const char *tag, size_t taglen)
{
    char why[ENQUEUE_REASON_MAX];
    redisContext *c = rcluster_node(e->rc, slot, why, sizeof why);
    if (!c)
        return -1;
    for (size_t i = 0; i < ns->n; i++)
        if (ns->c[i] == c)
            return (int)i;
    if (ns->n == CLUSTER_NODES_SEEN || taglen >= CLUSTER_KEY_MAX)
        return -1;
    ns->c[ns->n] = c;
    ns->slot[ns->n] = slot;
    memcpy(ns->tag[ns->n], tag, taglen);
    ns->tag[ns->n][taglen] = '\0';
    return (int)ns->n++;
}

/* Step 1: reserve every id for its event's shard. Events whose reservation says
 * duplicate or failed get their outcome; the others are listed in e->order. Returns how
 * many go on, or -1 (the cluster is dropped; every event has retry). */
static long reserve(struct enqueue *e, struct enqueue_batch *b, struct nodes_seen *ns, int *res_node,
                    long long now_ms)
{
    struct rcluster_pipe *p = e->pipe;
    rcluster_pipe_reset(p);
    char key[CLUSTER_KEY_MAX], shard[ENQUEUE_NUM_MAX];
    for (size_t i = 0; i < b->k; i++) {
        const struct request_event *ev = b->slots[i].ev;
        size_t kl = reservation_key(ev, key);
        int sl = snprintf(shard, sizeof shard, "%u", ev->shard);
        const char *argv[7] = {"SET", key, shard, "NX", "GET", "EX", e->ttl};
        size_t lens[7] = {3, kl, (size_t)sl, 2, 3, 2, strlen(e->ttl)};
        unsigned slot = rcluster_key_slot(key, kl);
        if (rcluster_pipe_append(p, slot, 7, argv, lens) != 0) {
            enqueue_retry_from(b->slots, 0, b->k, "broker out of memory");
            return -1;
        }
        res_node[i] = node_seen(e, ns, slot, key, kl); /* the key has no braces: {key} hashes as key */
    }
    char why[ENQUEUE_REASON_MAX];
    bool failed = rcluster_pipe_exec(p, why, sizeof why) != 0;
    size_t go = 0;
    for (size_t i = 0; i < b->k; i++) {
        struct request_event *ev = b->slots[i].ev;
        const char *lost = NULL;
        const redisReply *r = rcluster_pipe_reply(p, i, &lost);
        if (!r) {
            enqueue_retry_from(b->slots, i, i + 1, lost ? lost : "no reply");
        } else if (r->type == REDIS_REPLY_NIL) {
            e->order[go++] = i; /* reserved now */
        } else if (r->type == REDIS_REPLY_STRING) {
            int n = snprintf(shard, sizeof shard, "%u", ev->shard);
            if ((size_t)n == r->len && memcmp(shard, r->str, r->len) == 0)
                e->order[go++] = i; /* reserved for this shard before: its call decides */
            else
                request_event_set(ev, ACK_DUPLICATE, NULL); /* taken about another shard's event */
        } else {
            const char *what = r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply to SET NX GET";
            enqueue_retry_from(b->slots, i, i + 1, what);
            if (!failed)
                snprintf(why, sizeof why, "%s", what);
            failed = true;
        }
    }
    if (failed) {
        cluster_lost(e, now_ms, why);
        for (size_t j = 0; j < go; j++)
            enqueue_retry_from(b->slots, e->order[j], e->order[j] + 1, why);
        return -1;
    }
    return (long)go;
}

/* Appends one FCALL kinerja_enqueue_many for the slots e->order[from, to) (one shard). */
static int append_call(struct enqueue *e, struct enqueue_batch *b, size_t from, size_t to,
                       struct call_args *a)
{
    size_t n = to - from;
    a->argc = 0;
    a->used = 0;
    char num[ENQUEUE_NUM_MAX], key[CLUSTER_KEY_MAX], id[EVENT_ID_LEN + 1];
    push(a, "FCALL", 5);
    push(a, ENQUEUE_FUNCTION, sizeof ENQUEUE_FUNCTION - 1);
    push_copy(a, num, (size_t)snprintf(num, sizeof num, "%zu", 2 * n));
    unsigned shard = b->slots[e->order[from]].ev->shard;
    size_t sk = 0;
    char stream[RSTREAM_KEY_MAX];
    rstream_stream_key(shard, stream, sizeof stream);
    sk = strlen(stream);
    for (size_t i = from; i < to; i++) {
        push_copy(a, key, shard_dedupe_key(b->slots[e->order[i]].ev, key));
        push(a, stream, sk);
    }
    push(a, e->ttl, strlen(e->ttl));
    for (size_t i = from; i < to; i++) {
        const struct slot *s = &b->slots[e->order[i]];
        long long rt = s->recv_wall_ms > 0 ? s->recv_wall_ms : 0;
        push_copy(a, id, enqueue_lower_id(s->ev, id));
        push(a, s->ev->raw, s->ev->raw_len);
        push_copy(a, num, (size_t)snprintf(num, sizeof num, "%lld", rt));
        push(a, s->client, s->client_len);
    }
    /* the stream key's text is on this stack frame: copied by append before return */
    return rcluster_pipe_append(e->pipe, rstream_shard_slot(shard), a->argc, a->argv, a->lens);
}

/* The outcome of the events e->order[from, to) from their call's reply. Returns 0, or
 * -1 with why when the cluster should be dropped. */
static int apply_call(struct enqueue *e, struct enqueue_batch *b, const redisReply *r, size_t from, size_t to,
                      char *why, size_t whylen)
{
    size_t n = to - from;
    const redisReply *st = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[0] : NULL;
    const redisReply *er = st ? r->element[1] : NULL;
    if (!st || st->type != REDIS_REPLY_STRING || st->len != n || er->type != REDIS_REPLY_STRING) {
        snprintf(why, whylen, "%s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply from " ENQUEUE_FUNCTION);
        for (size_t i = from; i < to; i++)
            enqueue_retry_from(b->slots, e->order[i], e->order[i] + 1, why);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct request_event *ev = b->slots[e->order[from + i]].ev;
        if (st->str[i] == 'a') {
            request_event_set(ev, ACK_ACCEPTED, NULL);
        } else if (st->str[i] == 'd') {
            request_event_set(ev, ACK_DUPLICATE, NULL);
        } else {
            request_event_set(ev, ACK_RETRY, "storage unavailable: %s", er->len ? er->str : "not stored");
            if (rc == 0)
                snprintf(why, whylen, "%s", er->len ? er->str : "an event was not stored");
            rc = -1;
        }
    }
    return rc;
}

/* replicated: which nodes of the round confirmed (their WAIT replies follow the calls:
 * SET, WAIT per node). stable: no redirect, refresh or lost node during the round. */
static void confirm_nodes(const struct enqueue *e, const struct rcluster_pipe *p, size_t ncalls, size_t waits,
                          struct nodes_seen *ns, bool stable)
{
    ns->why[0] = '\0';
    for (size_t k = 0; k < ns->n; k++) {
        ns->confirmed[k] = false;
        if (!stable) {
            snprintf(ns->why, sizeof ns->why, "the cluster moved a slot or lost a node during the round");
            continue;
        }
        if (k >= waits) {
            snprintf(ns->why, sizeof ns->why, "no WAIT was sent");
            continue;
        }
        const char *lost = NULL;
        const redisReply *r = rcluster_pipe_reply(p, ncalls + 2 * k + 1, &lost);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer >= e->replicas) {
            ns->confirmed[k] = true;
        } else if (!ns->why[0]) {
            if (r && r->type == REDIS_REPLY_INTEGER)
                snprintf(ns->why, sizeof ns->why,
                         "%lld of %d replicas within intake.replica_timeout_ms (%d ms)", r->integer,
                         e->replicas, e->replica_timeout_ms);
            else
                snprintf(ns->why, sizeof ns->why, "WAIT: %s",
                         !r                             ? (lost ? lost : "no reply")
                         : r->type == REDIS_REPLY_ERROR ? r->str
                                                        : "unexpected reply");
            log_debug("replicated: node of {%s} not confirmed: %s", ns->tag[k], ns->why);
        }
    }
}

/* Why writes to node k are not vouched for, or NULL when they are. */
static const char *node_unconfirmed(const struct nodes_seen *ns, int k)
{
    if (k < 0)
        return "a node of the round could not be told";
    return ns->confirmed[k] ? NULL : ns->why[0] ? ns->why : "not confirmed";
}

void enqueue_cluster_round(struct enqueue *e, struct enqueue_batch *b, long long now_ms)
{
    b->done = true;
    if (b->k > e->order_cap) {
        size_t *o = realloc(e->order, b->k * sizeof *o);
        if (!o) {
            enqueue_retry_from(b->slots, 0, b->k, "broker out of memory");
            return;
        }
        e->order = o;
        e->order_cap = b->k;
    }
    struct rcluster_stats before, after;
    rcluster_get_stats(e->rc, &before);
    struct nodes_seen *ns = calloc(1, sizeof *ns);
    struct call_args *a = malloc(sizeof *a);
    size_t *calls = malloc((b->k + 1) * sizeof *calls);
    int *res_node = malloc(b->k * sizeof *res_node), *str_node = malloc(b->k * sizeof *str_node);
    if (!ns || !a || !calls || !res_node || !str_node) {
        enqueue_retry_from(b->slots, 0, b->k, "broker out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->k; i++)
        str_node[i] = res_node[i] = -1;
    long go = reserve(e, b, ns, res_node, now_ms);
    if (go <= 0)
        goto out;
    qsort_r(e->order, (size_t)go, sizeof *e->order, order_by_shard, b);

    /* Step 2: a call per shard (ENQUEUE_CALL_EVENTS events at most), then the WAITs */
    struct rcluster_pipe *p = e->pipe;
    rcluster_pipe_reset(p);
    size_t ncalls = 0;
    char why[ENQUEUE_REASON_MAX] = "";
    for (size_t i = 0; i < (size_t)go;) {
        unsigned shard = b->slots[e->order[i]].ev->shard;
        size_t j = i;
        while (j < (size_t)go && j - i < ENQUEUE_CALL_EVENTS && b->slots[e->order[j]].ev->shard == shard)
            j++;
        calls[ncalls++] = i;
        if (append_call(e, b, i, j, a) != 0) {
            snprintf(why, sizeof why, "broker out of memory");
            break;
        }
        char tag[ENQUEUE_NUM_MAX];
        int node =
            node_seen(e, ns, rstream_shard_slot(shard), tag, (size_t)snprintf(tag, sizeof tag, "%u", shard));
        for (size_t k = i; k < j; k++)
            str_node[e->order[k]] = node;
        i = j;
    }
    calls[ncalls] = (size_t)go;
    size_t waits = 0;
    if (!why[0] && e->replicas > 0) {
        char nrep[ENQUEUE_NUM_MAX], ms[ENQUEUE_NUM_MAX], key[CLUSTER_KEY_MAX + 16];
        snprintf(nrep, sizeof nrep, "%d", e->replicas);
        snprintf(ms, sizeof ms, "%d", e->replica_timeout_ms);
        for (size_t k = 0; k < ns->n; k++) {
            int kl = snprintf(key, sizeof key, "%s:{%s}", RSTREAM_WAIT_KEY, ns->tag[k]);
            const char *set[] = {"SET", key, "1", "EX", "60"};
            size_t set_lens[] = {3, (size_t)kl, 1, 2, 2};
            const char *wait[] = {"WAIT", nrep, ms};
            size_t wait_lens[] = {4, strlen(nrep), strlen(ms)};
            if (rcluster_pipe_append(p, ns->slot[k], 5, set, set_lens) != 0 ||
                rcluster_pipe_append(p, ns->slot[k], 3, wait, wait_lens) != 0) {
                snprintf(why, sizeof why, "broker out of memory");
                break;
            }
            waits++;
        }
    }
    if (why[0]) {
        for (long i = 0; i < go; i++)
            enqueue_retry_from(b->slots, e->order[i], e->order[i] + 1, why);
        if (e->replicas > 0)
            enqueue_unconfirmed(b, why); /* the duplicates of step 1 were not waited for */
        goto out;
    }
    bool failed = rcluster_pipe_exec(p, why, sizeof why) != 0;
    for (size_t c = 0; c < ncalls; c++) {
        const char *lost = NULL;
        const redisReply *r = rcluster_pipe_reply(p, c, &lost);
        if (!r) {
            for (size_t i = calls[c]; i < calls[c + 1]; i++)
                enqueue_retry_from(b->slots, e->order[i], e->order[i] + 1, lost ? lost : "no reply");
            failed = true;
        } else if (apply_call(e, b, r, calls[c], calls[c + 1], why, sizeof why) != 0) {
            failed = true;
        }
    }
    if (e->replicas > 0) {
        /* an event's answer stands once both nodes it was written to (its reservation's
         * and its shard's) confirmed, each on the connection that carried the writes: a
         * redirect or a lost node in between leaves the round unconfirmed */
        rcluster_get_stats(e->rc, &after);
        confirm_nodes(e, p, ncalls, waits, ns, same_stats(&before, &after));
        for (size_t i = 0; i < b->k; i++) {
            struct request_event *ev = b->slots[i].ev;
            if (ev->status != ACK_ACCEPTED && ev->status != ACK_DUPLICATE)
                continue;
            const char *w = node_unconfirmed(ns, res_node[i]);
            if (!w && str_node[i] >= 0)
                w = node_unconfirmed(ns, str_node[i]);
            if (w)
                request_event_set(ev, ACK_RETRY, "not confirmed by a replica: %s", w);
        }
    }
    if (failed)
        cluster_lost(e, now_ms, why[0] ? why : "a command got no reply");
out:
    free(ns);
    free(a);
    free(calls);
    free(res_node);
    free(str_node);
}
