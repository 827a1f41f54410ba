#include "streams.h"

#include "daemon.h"
#include "rstream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAMS_NUM_MAX 24 /* a long long in decimal */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Growable argv for one command. */
struct args {
    const char **v;
    size_t *len;
    size_t n, cap;
};

static int args_init(struct args *a, size_t cap)
{
    a->v = calloc(cap, sizeof *a->v);
    a->len = calloc(cap, sizeof *a->len);
    a->n = 0;
    a->cap = cap;
    return a->v && a->len ? 0 : -1;
}

static void args_free(struct args *a)
{
    free(a->v);
    free(a->len);
    a->v = NULL;
    a->len = NULL;
}

static void args_push(struct args *a, const char *s)
{
    if (a->n < a->cap) {
        a->v[a->n] = s;
        a->len[a->n] = strlen(s);
        a->n++;
    }
}

/* One command, one reply; NULL with the reason in err when the connection failed or
 * Redis answered with an error. */
static redisReply *run(redisContext *c, struct args *a, const char *what, char *err, size_t errlen)
{
    redisReply *r = redisCommandArgv(c, (int)a->n, a->v, a->len);
    if (!r) {
        set_err(err, errlen, "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(err, errlen, "%s: %s", what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static bool is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/*
 * Adds one stream entry reply [id, [field, value, ...] | nil] to the batch.
 * Returns 0, or -1 when the reply is malformed. A full batch is not an error: the
 * entry stays pending in Redis and a later reclaim delivers it again.
 */
static int add_entry(struct batch *b, unsigned shard, const redisReply *r, int deliveries, size_t *got)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !is_str(r->element[0]))
        return -1;
    const redisReply *id = r->element[0], *fields = r->element[1];
    struct batch_entry *e;
    if (fields->type == REDIS_REPLY_NIL) {
        e = batch_add_gone(b, shard, id->str, id->len);
    } else {
        if (fields->type != REDIS_REPLY_ARRAY)
            return -1;
        const char *ev = NULL, *fid = NULL, *rt = NULL, *cl = NULL;
        size_t evlen = 0, fidlen = 0, rtlen = 0, cllen = 0;
        for (size_t i = 0; i + 1 < fields->elements; i += 2) {
            const redisReply *k = fields->element[i], *v = fields->element[i + 1];
            if (!is_str(k) || !is_str(v))
                continue;
            if (k->len == 2 && memcmp(k->str, "ev", 2) == 0) {
                ev = v->str;
                evlen = v->len;
            } else if (k->len == 2 && memcmp(k->str, "id", 2) == 0) {
                fid = v->str;
                fidlen = v->len;
            } else if (k->len == 2 && memcmp(k->str, "rt", 2) == 0) {
                rt = v->str;
                rtlen = v->len;
            } else if (k->len == 2 && memcmp(k->str, "cl", 2) == 0) {
                cl = v->str;
                cllen = v->len;
            }
        }
        e = batch_add(b, shard, id->str, id->len, ev, evlen, fid, fidlen, rt, rtlen, cl, cllen, deliveries);
    }
    if (e)
        (*got)++;
    return 0;
}

/* One XREADGROUP over shards [first, first + nshards) on c (one server: every shard;
 * a cluster: one shard, its keys' slot), adding to *got. */
static int read_one(redisContext *c, struct batch *b, const char *group, const char *consumer, unsigned first,
                    unsigned nshards, const char *const *ids, long count, long block_ms, int deliveries,
                    size_t *got, char *err, size_t errlen)
{
    char count_s[STREAMS_NUM_MAX], block_s[STREAMS_NUM_MAX];
    snprintf(count_s, sizeof count_s, "%ld", count);
    snprintf(block_s, sizeof block_s, "%ld", block_ms);
    struct args a;
    if (args_init(&a, 9 + 2 * (size_t)nshards) < 0) {
        set_err(err, errlen, "XREADGROUP: out of memory");
        return -1;
    }
    args_push(&a, "XREADGROUP");
    args_push(&a, "GROUP");
    args_push(&a, group);
    args_push(&a, consumer);
    args_push(&a, "COUNT");
    args_push(&a, count_s);
    if (block_ms >= 0) {
        args_push(&a, "BLOCK");
        args_push(&a, block_s);
    }
    args_push(&a, "STREAMS");
    for (unsigned i = 0; i < nshards; i++)
        args_push(&a, b->keys[first + i]);
    for (unsigned i = 0; i < nshards; i++)
        args_push(&a, ids ? ids[i] : ">");
    redisReply *r = run(c, &a, "XREADGROUP", err, errlen);
    args_free(&a);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *s = r->element[i];
            if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || !is_str(s->element[0]) ||
                s->element[1]->type != REDIS_REPLY_ARRAY) {
                rc = -1;
                break;
            }
            int shard = batch_shard_of_key(b, s->element[0]->str, s->element[0]->len);
            if (shard < 0) {
                rc = -1;
                break;
            }
            const redisReply *entries = s->element[1];
            for (size_t j = 0; j < entries->elements && rc == 0; j++)
                rc = add_entry(b, (unsigned)shard, entries->element[j], deliveries, got);
        }
    } else if (r->type != REDIS_REPLY_NIL) {
        rc = -1; /* NIL: BLOCK timed out with nothing new */
    }
    if (rc < 0)
        set_err(err, errlen, "XREADGROUP: unexpected reply shape");
    freeReplyObject(r);
    return rc;
}

int streams_read(struct rlink *l, struct batch *b, const char *group, const char *consumer, unsigned first,
                 unsigned nshards, const char *const *ids, long count, long block_ms, int deliveries,
                 size_t *got, char *err, size_t errlen)
{
    *got = 0;
    if (first + nshards > b->nshards) {
        set_err(err, errlen, "XREADGROUP: shard %u out of range", first + nshards);
        return -1;
    }
    char why[STREAMS_ERR_MAX];
    if (!rlink_is_cluster(l)) {
        redisContext *c = rlink_shard(l, first, why, sizeof why);
        if (!c) {
            set_err(err, errlen, "XREADGROUP: %s", why);
            return -1;
        }
        return read_one(c, b, group, consumer, first, nshards, ids, count, block_ms, deliveries, got, err,
                        errlen);
    }
    /* A cluster: the keys of one command share a slot, so one XREADGROUP per shard
     * (COUNT count each, as one command over all shards has it), without BLOCK, from a
     * shard that turns round by round (none waits behind the others), while the batch
     * has room. Nothing anywhere: a blocking read of at most STREAMS_CLUSTER_BLOCK_MS on
     * the next shard in turn, then every shard again, until block_ms have passed, so an
     * empty read means block_ms of quiet as on one server (the ingest worker derives
     * the queued events then). */
    long long deadline = block_ms >= 0 ? daemon_now_ms() + block_ms : 0;
    for (;;) {
        unsigned start = l->turn++ % nshards;
        for (unsigned k = 0; k < nshards && b->n < b->cap; k++) {
            unsigned i = (start + k) % nshards;
            redisContext *c = rlink_shard(l, first + i, why, sizeof why);
            if (!c) {
                set_err(err, errlen, "XREADGROUP %s: %s", b->keys[first + i], why);
                return -1;
            }
            const char *id1[1] = {ids ? ids[i] : ">"};
            long room = (long)(b->cap - b->n);
            if (read_one(c, b, group, consumer, first + i, 1, id1, count < room ? count : room, -1,
                         deliveries, got, err, errlen) < 0)
                return -1;
        }
        long long left = deadline - daemon_now_ms();
        if (*got > 0 || block_ms < 0 || left <= 0)
            return 0;
        unsigned i = start;
        redisContext *c = rlink_shard(l, first + i, why, sizeof why);
        if (!c) {
            set_err(err, errlen, "XREADGROUP %s: %s", b->keys[first + i], why);
            return -1;
        }
        const char *id1[1] = {ids ? ids[i] : ">"};
        if (read_one(c, b, group, consumer, first + i, 1, id1, count,
                     left < STREAMS_CLUSTER_BLOCK_MS ? (long)left : STREAMS_CLUSTER_BLOCK_MS, deliveries, got,
                     err, errlen) < 0 ||
            *got > 0)
            return *got > 0 ? 0 : -1;
    }
}

static bool needs_ack(const struct batch_entry *e)
{
    return !e->acked && (e->state == ENTRY_COMMITTED || e->state == ENTRY_GONE);
}

static bool in_hand(const struct batch_entry *e)
{
    return !e->acked && (e->state == ENTRY_READY || e->state == ENTRY_UNREADABLE);
}

/*
 * Sends, per shard holding a selected entry, one command: the prefix (prefixn words,
 * the key inserted after the first) followed by the ids, then suffix (may be NULL);
 * pipelined, then reads every reply. Returns 0, or -1 with err.
 */
static int per_shard(struct rlink *l, struct batch *b, bool (*select)(const struct batch_entry *),
                     const char *const *prefix, size_t prefixn, const char *suffix, const char *what,
                     char *err, size_t errlen)
{
    struct args a;
    redisContext **sent_to = calloc(b->nshards ? b->nshards : 1, sizeof *sent_to);
    if (!sent_to || args_init(&a, prefixn + 2 + b->n) < 0) {
        free(sent_to);
        set_err(err, errlen, "%s: out of memory", what);
        return -1;
    }
    unsigned sent = 0;
    for (unsigned s = 0; s < b->nshards; s++) {
        a.n = 0;
        args_push(&a, prefix[0]);
        args_push(&a, b->keys[s]);
        for (size_t i = 1; i < prefixn; i++)
            args_push(&a, prefix[i]);
        size_t fixed = a.n;
        for (size_t i = 0; i < b->n; i++)
            if (b->e[i].shard == s && select(&b->e[i]))
                args_push(&a, b->e[i].stream_id);
        if (a.n == fixed)
            continue;
        if (suffix)
            args_push(&a, suffix);
        char why[STREAMS_ERR_MAX];
        redisContext *c = rlink_shard(l, s, why, sizeof why);
        if (!c || redisAppendCommandArgv(c, (int)a.n, a.v, a.len) != REDIS_OK) {
            set_err(err, errlen, "%s: %s", what, c ? c->errstr : why);
            args_free(&a);
            free(sent_to);
            return -1;
        }
        sent_to[sent++] = c;
    }
    args_free(&a);
    int rc = 0;
    for (unsigned i = 0; i < sent; i++) {
        redisContext *c = sent_to[i];
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            set_err(err, errlen, "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
            free(sent_to);
            return -1; /* the connection is broken: no further replies to read */
        }
        if (r->type == REDIS_REPLY_ERROR && rc == 0) {
            set_err(err, errlen, "%s: %s", what, r->str);
            rc = -1;
        }
        freeReplyObject(r);
    }
    free(sent_to);
    return rc;
}

int streams_ack(struct rlink *l, struct batch *b, const char *group, char *err, size_t errlen)
{
    const char *prefix[] = {"XACK", group};
    if (per_shard(l, b, needs_ack, prefix, 2, NULL, "XACK", err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        if (needs_ack(&b->e[i]))
            b->e[i].acked = true;
    return 0;
}

int streams_touch(struct rlink *l, struct batch *b, const char *group, const char *consumer, char *err,
                  size_t errlen)
{
    const char *prefix[] = {"XCLAIM", group, consumer, "0"};
    return per_shard(l, b, in_hand, prefix, 4, "JUSTID", "XCLAIM JUSTID", err, errlen);
}

static long long reply_int(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (is_str(r))
        return strtoll(r->str, NULL, 10);
    return -1;
}

int streams_pending(struct rlink *l, const struct batch *b, unsigned shard, const char *group,
                    long long min_idle_ms, struct pending_entry *out, size_t max, size_t *n, char *err,
                    size_t errlen)
{
    *n = 0;
    const char *key = b->keys[shard];
    char why[STREAMS_ERR_MAX];
    redisContext *c = rlink_shard(l, shard, why, sizeof why);
    if (!c) {
        set_err(err, errlen, "XPENDING %s: %s", key, why);
        return -1;
    }
    char idle_s[STREAMS_NUM_MAX], max_s[STREAMS_NUM_MAX];
    snprintf(idle_s, sizeof idle_s, "%lld", min_idle_ms);
    snprintf(max_s, sizeof max_s, "%zu", max);
    struct args a;
    if (args_init(&a, 8) < 0) {
        set_err(err, errlen, "XPENDING: out of memory");
        return -1;
    }
    const char *words[] = {"XPENDING", key, group, "IDLE", idle_s, "-", "+", max_s};
    for (size_t i = 0; i < 8; i++)
        args_push(&a, words[i]);
    redisReply *r = run(c, &a, "XPENDING", err, errlen);
    args_free(&a);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = -1;
    } else {
        for (size_t i = 0; i < r->elements && *n < max; i++) {
            const redisReply *p = r->element[i];
            if (p->type != REDIS_REPLY_ARRAY || p->elements < 4 || !is_str(p->element[0]) ||
                p->element[0]->len >= BATCH_STREAM_ID_MAX) {
                rc = -1;
                break;
            }
            struct pending_entry *pe = &out[(*n)++];
            memcpy(pe->id, p->element[0]->str, p->element[0]->len);
            pe->id[p->element[0]->len] = '\0';
            snprintf(pe->consumer, sizeof pe->consumer, "%s",
                     is_str(p->element[1]) ? p->element[1]->str : "?");
            pe->idle_ms = reply_int(p->element[2]);
            pe->deliveries = reply_int(p->element[3]);
        }
    }
    if (rc < 0)
        set_err(err, errlen, "XPENDING %s: unexpected reply shape", key);
    freeReplyObject(r);
    return rc;
}

int streams_claim(struct rlink *l, struct batch *b, unsigned shard, const char *group, const char *consumer,
                  long long min_idle_ms, const struct pending_entry *ids, size_t n, bool *claimed, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        claimed[i] = false;
    if (n == 0)
        return 0;
    char why[STREAMS_ERR_MAX];
    redisContext *c = rlink_shard(l, shard, why, sizeof why);
    if (!c) {
        set_err(err, errlen, "XCLAIM %s: %s", b->keys[shard], why);
        return -1;
    }
    char idle_s[STREAMS_NUM_MAX];
    snprintf(idle_s, sizeof idle_s, "%lld", min_idle_ms);
    struct args a;
    if (args_init(&a, 5 + n) < 0) {
        set_err(err, errlen, "XCLAIM: out of memory");
        return -1;
    }
    args_push(&a, "XCLAIM");
    args_push(&a, b->keys[shard]);
    args_push(&a, group);
    args_push(&a, consumer);
    args_push(&a, idle_s);
    for (size_t i = 0; i < n; i++)
        args_push(&a, ids[i].id);
    redisReply *r = run(c, &a, "XCLAIM", err, errlen);
    args_free(&a);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = -1;
    } else {
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            const redisReply *x = r->element[i];
            if (x->type == REDIS_REPLY_NIL)
                continue; /* Redis 6: a deleted entry, without its id; reclaim checks with XRANGE */
            if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 || !is_str(x->element[0])) {
                rc = -1;
                break;
            }
            size_t k = 0;
            while (k < n && (strlen(ids[k].id) != x->element[0]->len ||
                             memcmp(ids[k].id, x->element[0]->str, x->element[0]->len) != 0))
                k++;
            if (k == n)
                continue; /* not asked for */
            /* XCLAIM counted this as one more delivery */
            size_t got = 0;
            rc = add_entry(b, shard, x, (int)(ids[k].deliveries + 1), &got);
            claimed[k] = got > 0;
        }
    }
    if (rc < 0)
        set_err(err, errlen, "XCLAIM %s: unexpected reply shape", b->keys[shard]);
    freeReplyObject(r);
    return rc;
}

int streams_exists(struct rlink *l, const struct batch *b, unsigned shard, const char *id, bool *exists,
                   char *err, size_t errlen)
{
    const char *key = b->keys[shard];
    char why[STREAMS_ERR_MAX];
    redisContext *c = rlink_shard(l, shard, why, sizeof why);
    if (!c) {
        set_err(err, errlen, "XRANGE %s: %s", key, why);
        return -1;
    }
    struct args a;
    if (args_init(&a, 4) < 0) {
        set_err(err, errlen, "XRANGE: out of memory");
        return -1;
    }
    const char *words[] = {"XRANGE", key, id, id};
    for (size_t i = 0; i < 4; i++)
        args_push(&a, words[i]);
    redisReply *r = run(c, &a, "XRANGE", err, errlen);
    args_free(&a);
    if (!r)
        return -1;
    *exists = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
    freeReplyObject(r);
    return 0;
}

int streams_backlog(struct rlink *l, const struct batch *b, const char *group, long long *backlog, char *err,
                    size_t errlen)
{
    *backlog = 0;
    redisContext **ctx = calloc(b->nshards ? b->nshards : 1, sizeof *ctx);
    if (!ctx) {
        set_err(err, errlen, "XINFO GROUPS: out of memory");
        return -1;
    }
    for (unsigned s = 0; s < b->nshards; s++) {
        const char *argv[3] = {"XINFO", "GROUPS", b->keys[s]};
        size_t lens[3] = {5, 6, strlen(b->keys[s])};
        char why[STREAMS_ERR_MAX];
        ctx[s] = rlink_shard(l, s, why, sizeof why);
        if (!ctx[s] || redisAppendCommandArgv(ctx[s], 3, argv, lens) != REDIS_OK) {
            set_err(err, errlen, "XINFO GROUPS: %s", ctx[s] ? ctx[s]->errstr : why);
            free(ctx);
            return -1;
        }
    }
    int rc = 0;
    for (unsigned s = 0; s < b->nshards; s++) {
        redisContext *c = ctx[s];
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            set_err(err, errlen, "XINFO GROUPS: %s", c->errstr[0] ? c->errstr : "no reply");
            free(ctx);
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            if (rc == 0)
                set_err(err, errlen, "XINFO GROUPS %s: %s", b->keys[s], r->str);
            rc = -1;
        } else if (r->type == REDIS_REPLY_ARRAY && *backlog >= 0) {
            /* each group: a flat map name, <name>, ..., lag, <n or nil> */
            for (size_t g = 0; g < r->elements; g++) {
                const redisReply *m = r->element[g];
                if (m->type != REDIS_REPLY_ARRAY)
                    continue;
                bool ours = false;
                long long lag = -1;
                for (size_t k = 0; k + 1 < m->elements; k += 2) {
                    const redisReply *key = m->element[k], *v = m->element[k + 1];
                    if (!is_str(key))
                        continue;
                    if (!strcmp(key->str, "name") && is_str(v) && !strcmp(v->str, group))
                        ours = true;
                    else if (!strcmp(key->str, "lag") && v->type == REDIS_REPLY_INTEGER)
                        lag = v->integer;
                }
                if (ours)
                    *backlog = lag < 0 ? -1 : *backlog + lag;
            }
        }
        freeReplyObject(r);
    }
    free(ctx);
    return rc;
}
