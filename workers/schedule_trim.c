/*
 * schedule_trim: housekeeping of the Redis streams: each shard trimmed below the first
 * entry any consumer group still needs, so nothing unread or unacknowledged goes.
 */
#include "daemon.h"
#include "log.h"
#include "schedule_int.h"

#include "rstream.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- housekeeping: stream trimming --------------------------------------------------- */

struct stream_id {
    unsigned long long ms, seq;
};

static int stream_id_parse(const char *s, size_t len, struct stream_id *out)
{
    char buf[SCHEDULE_STREAM_ID_MAX];
    if (!s || len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    out->ms = strtoull(buf, &end, 10);
    if (errno || end == buf || (*end != '-' && *end != '\0'))
        return -1;
    out->seq = 0;
    if (*end == '-') {
        const char *q = end + 1;
        out->seq = strtoull(q, &end, 10);
        if (errno || end == q || *end)
            return -1;
    }
    return 0;
}

static int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

static struct stream_id stream_id_next(struct stream_id a)
{
    if (a.seq == ULLONG_MAX) {
        a.ms++;
        a.seq = 0;
    } else {
        a.seq++;
    }
    return a;
}

/* The value of field `name` in a flat [name, value, ...] reply, or NULL. */
static const redisReply *reply_field(const redisReply *r, const char *name)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i];
        if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, name))
            return r->element[i + 1];
    }
    return NULL;
}

/*
 * Trims one shard below the first entry a consumer group still needs: for each group,
 * the smaller of its oldest pending entry (delivered, not acknowledged) and its last
 * delivered entry + 1 (the first not yet read); the smallest over the groups. A stream
 * without groups is left alone (nobody has read it). Safe against concurrent readers:
 * both bounds only move forward while the trim runs. *trimmed, *kept: entries removed
 * and left.
 */
static int trim_shard(redisContext *c, unsigned shard, long long *trimmed, long long *kept, char *err,
                      size_t errlen)
{
    char key[RSTREAM_KEY_MAX];
    rstream_stream_key(shard, key, sizeof key);
    *trimmed = *kept = 0;
    redisReply *groups = redisCommand(c, "XINFO GROUPS %s", key);
    if (!groups) {
        snprintf(err, errlen, "XINFO GROUPS %s: %s", key, c->errstr);
        return -1;
    }
    if (groups->type == REDIS_REPLY_ERROR) {
        bool missing = strstr(groups->str, "no such key") != NULL;
        if (!missing)
            snprintf(err, errlen, "XINFO GROUPS %s: %s", key, groups->str);
        freeReplyObject(groups);
        return missing ? 0 : -1; /* a shard nobody has written to yet */
    }
    if (groups->type != REDIS_REPLY_ARRAY || groups->elements == 0) {
        freeReplyObject(groups);
        return 0;
    }
    struct stream_id bound = {ULLONG_MAX, ULLONG_MAX};
    int rc = 0;
    for (size_t g = 0; g < groups->elements && rc == 0; g++) {
        const redisReply *name = reply_field(groups->element[g], "name");
        const redisReply *last = reply_field(groups->element[g], "last-delivered-id");
        const redisReply *pending = reply_field(groups->element[g], "pending");
        struct stream_id last_id, cand;
        if (!name || name->type != REDIS_REPLY_STRING || !last || last->type != REDIS_REPLY_STRING ||
            stream_id_parse(last->str, last->len, &last_id) < 0 || !pending ||
            pending->type != REDIS_REPLY_INTEGER) {
            snprintf(err, errlen, "XINFO GROUPS %s: unexpected reply", key);
            rc = -1;
            break;
        }
        cand = stream_id_next(last_id);
        if (pending->integer > 0) {
            redisReply *x = redisCommand(c, "XPENDING %s %b", key, name->str, name->len);
            struct stream_id oldest;
            if (!x) {
                snprintf(err, errlen, "XPENDING %s: %s", key, c->errstr);
                rc = -1;
            } else if (x->type != REDIS_REPLY_ARRAY || x->elements < 2 ||
                       x->element[1]->type != REDIS_REPLY_STRING ||
                       stream_id_parse(x->element[1]->str, x->element[1]->len, &oldest) < 0) {
                snprintf(err, errlen, "XPENDING %s %s: unexpected reply", key, name->str);
                rc = -1;
            } else if (stream_id_cmp(oldest, cand) < 0) {
                cand = oldest;
            }
            if (x)
                freeReplyObject(x);
        }
        if (rc == 0 && stream_id_cmp(cand, bound) < 0)
            bound = cand;
    }
    freeReplyObject(groups);
    if (rc < 0)
        return -1;
    char minid[SCHEDULE_STREAM_ID_MAX];
    snprintf(minid, sizeof minid, "%llu-%llu", bound.ms, bound.seq);
    redisReply *t = redisCommand(c, "XTRIM %s MINID %s", key, minid);
    if (!t || t->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "XTRIM %s MINID %s: %s", key, minid,
                 !t                             ? c->errstr
                 : t->type == REDIS_REPLY_ERROR ? t->str
                                                : "unexpected reply");
        if (t)
            freeReplyObject(t);
        return -1;
    }
    *trimmed = t->integer;
    freeReplyObject(t);
    redisReply *n = redisCommand(c, "XLEN %s", key);
    if (n && n->type == REDIS_REPLY_INTEGER)
        *kept = n->integer;
    if (n)
        freeReplyObject(n);
    if (*trimmed > 0)
        log_debug("housekeeping: %s: trimmed %lld entries below %s, %lld kept", key, *trimmed, minid, *kept);
    return 0;
}

void sched_job_housekeeping(struct scheduler *s)
{
    char err[SCHEDULE_ERR_MAX] = "";
    if (!rlink_up(&s->redis) && rlink_connect(&s->redis, s->cfg.redis_url, s->cfg.redis_cluster,
                                              s->cfg.redis_timeout_ms, err, sizeof err) < 0) {
        metric_inc(s->m_errors[JOB_HOUSEKEEPING]);
        log_error("housekeeping: %s; trying again in %ld s", err, s->cfg.housekeeping_s);
        return;
    }
    long long trimmed = 0, kept = 0;
    for (unsigned shard = 0; shard < s->cfg.shards && !daemon_stopping; shard++) {
        long long t, k;
        char why[SCHEDULE_ERR_MAX - 32];
        redisContext *c = rlink_shard(&s->redis, shard, why, sizeof why);
        if (!c)
            snprintf(err, sizeof err, "shard %u: %s", shard, why);
        if (!c || trim_shard(c, shard, &t, &k, err, sizeof err) < 0) {
            metric_inc(s->m_errors[JOB_HOUSEKEEPING]);
            metric_add(s->m_trimmed, trimmed);
            log_error("housekeeping: %s (after trimming %lld entries); trying again in %ld s", err, trimmed,
                      s->cfg.housekeeping_s);
            sched_redis_drop(s);
            return;
        }
        trimmed += t;
        kept += k;
    }
    sched_job_ran(s, JOB_HOUSEKEEPING);
    metric_add(s->m_trimmed, trimmed);
    char detail[256];
    snprintf(detail, sizeof detail, "trimmed %lld stream entries over %u shards, %lld kept", trimmed,
             s->cfg.shards, kept);
    log_info("housekeeping: %s (not yet read or not acknowledged entries are never trimmed); dedupe keys "
             "kinerja:dd:* expire by their TTL (intake.dedupe_ttl_s = %lld s), nothing to remove for them",
             detail, s->cfg.dedupe_ttl_s);
    const char *p[3] = {"housekeeping", s->identity, detail};
    PGresult *r = sched_job_query(s, "SELECT kinerja_schedule_record($1, $2, $3)", 3, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        sched_job_failed(s, JOB_HOUSEKEEPING, r, "recording housekeeping");
    else
        PQclear(r);
}
