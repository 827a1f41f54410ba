/*
 * rstream: see rstream.h. hiredis 0.14.1 (RESP2): pipelines are built with
 * redisAppendCommandArgv and read back with redisGetReply, one reply per command, in
 * order. Error texts never carry the password: they are built from the host, the port
 * and what Redis or the socket said.
 */
#include "rstream.h"

#include "embedded.h"
#include "rcluster.h"

#include <ctype.h>
#include <sodium.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define RSTREAM_DEFAULT_PORT 6379
#define RSTREAM_SCHEME "redis://"
#define RSTREAM_DB_MAX 1000000

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copies s[0..n) into out with %XX decoded (URL userinfo may be percent-encoded).
 * Returns 0, or -1 when out is too small or an escape is malformed. */
static int copy_decoded(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int rstream_parse_number(const char *s, size_t n, long lo, long hi, long *out)
{
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int rstream_parse_url(const char *url, struct redis_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->port = RSTREAM_DEFAULT_PORT;
    size_t scheme_len = strlen(RSTREAM_SCHEME);
    if (!url || strncmp(url, RSTREAM_SCHEME, scheme_len) != 0) {
        set_err(err, errlen, "redis.url: must start with redis://");
        return -1;
    }
    const char *p = url + scheme_len;
    const char *end = p + strlen(p);

    /* userinfo: everything up to the last '@' before the path (a password may hold '@'
     * only percent-encoded, but be lenient and take the last one). */
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *authority_end = slash ? slash : end;
    const char *at = NULL;
    for (const char *q = p; q < authority_end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (copy_decoded(p, (size_t)(colon - p), out->user, sizeof out->user) != 0 ||
                copy_decoded(colon + 1, (size_t)(at - colon - 1), out->password, sizeof out->password) != 0) {
                set_err(err, errlen, "redis.url: malformed or too long user or password");
                return -1;
            }
        } else {
            /* redis://secret@host: a bare userinfo is taken as the password, as
             * redis-cli -u does. */
            if (copy_decoded(p, (size_t)(at - p), out->password, sizeof out->password) != 0) {
                set_err(err, errlen, "redis.url: malformed or too long password");
                return -1;
            }
        }
        p = at + 1;
    }

    /* host[:port]; an IPv6 literal in brackets. */
    const char *host = p, *host_end, *port_start = NULL;
    if (p < authority_end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(authority_end - p));
        if (!rb) {
            set_err(err, errlen, "redis.url: unterminated [ in host");
            return -1;
        }
        host = p + 1;
        host_end = rb;
        if (rb + 1 < authority_end) {
            if (rb[1] != ':') {
                set_err(err, errlen, "redis.url: unexpected text after ]");
                return -1;
            }
            port_start = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(authority_end - p));
        host_end = colon ? colon : authority_end;
        if (colon)
            port_start = colon + 1;
    }
    size_t host_len = (size_t)(host_end - host);
    if (host_len == 0 || host_len >= sizeof out->host) {
        set_err(err, errlen, "redis.url: missing or too long host");
        return -1;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    if (port_start) {
        long port;
        if (rstream_parse_number(port_start, (size_t)(authority_end - port_start), 1, 65535, &port) != 0) {
            set_err(err, errlen, "redis.url: port must be 1..65535");
            return -1;
        }
        out->port = (int)port;
    }
    if (slash && slash + 1 < end) {
        long db;
        if (rstream_parse_number(slash + 1, (size_t)(end - slash - 1), 0, RSTREAM_DB_MAX, &db) != 0) {
            set_err(err, errlen, "redis.url: database must be a number, got \"%.32s\"", slash + 1);
            return -1;
        }
        out->db = (int)db;
    }
    return 0;
}

/* Runs one command; returns the reply, or NULL with the reason in err. An error reply
 * is returned as a failure with its text. */
static redisReply *command_argv(redisContext *c, int argc, const char **argv, const size_t *lens,
                                const char *what, char *err, size_t errlen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) {
        /* hiredis reports a read timeout (SO_RCVTIMEO) as EAGAIN's text */
        if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable"))
            set_err(err, errlen, "%s: no reply (timed out)", what);
        else
            set_err(err, errlen, "%s: %s", what, c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        set_err(err, errlen, "%s: %s", what, r->str ? r->str : "error");
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisContext *rstream_connect(const char *url, int timeout_ms, char *err, size_t errlen)
{
    struct redis_url u;
    if (rstream_parse_url(url, &u, err, errlen) != 0)
        return NULL;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (!c) {
        set_err(err, errlen, "redis %s:%d: out of memory", u.host, u.port);
        return NULL;
    }
    if (c->err) {
        set_err(err, errlen, "redis %s:%d: %s", u.host, u.port, c->errstr);
        redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        set_err(err, errlen, "redis %s:%d: cannot set timeout: %s", u.host, u.port, c->errstr);
        redisFree(c);
        return NULL;
    }
    char what[300];
    if (u.password[0]) {
        snprintf(what, sizeof what, "redis %s:%d: AUTH", u.host, u.port);
        const char *argv[3];
        size_t lens[3];
        int argc = 0;
        argv[argc] = "AUTH", lens[argc++] = 4;
        if (u.user[0])
            argv[argc] = u.user, lens[argc++] = strlen(u.user);
        argv[argc] = u.password, lens[argc++] = strlen(u.password);
        redisReply *r = command_argv(c, argc, argv, lens, what, err, errlen);
        memset(&u.password, 0, sizeof u.password);
        if (!r) {
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    if (u.db != 0) {
        snprintf(what, sizeof what, "redis %s:%d: SELECT %d", u.host, u.port, u.db);
        char db[16];
        snprintf(db, sizeof db, "%d", u.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        redisReply *r = command_argv(c, 2, argv, lens, what, err, errlen);
        if (!r) {
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

void rstream_stream_key(unsigned shard, char *out, size_t outlen)
{
    snprintf(out, outlen, "kinerja:ev:{%u}", shard);
}

void rstream_dedupe_key(const char *id, size_t idlen, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "kinerja:dd:");
    if (n < 0 || (size_t)n >= outlen)
        return;
    size_t room = outlen - (size_t)n - 1;
    if (idlen > room)
        idlen = room;
    memcpy(out + n, id, idlen);
    out[(size_t)n + idlen] = '\0';
}

int rstream_load_library(redisContext *c, char *err, size_t errlen)
{
    const char *argv[3] = {"FUNCTION", "LOAD", "REPLACE"};
    const char *args[4] = {argv[0], argv[1], argv[2], embedded_redis_library};
    size_t lens[4] = {8, 4, 7, strlen(embedded_redis_library)};
    redisReply *r = command_argv(c, 4, args, lens, "FUNCTION LOAD", err, errlen);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Reads one pipelined reply; NULL with the reason when the connection failed. */
static redisReply *pipeline_reply(redisContext *c, char *err, size_t errlen)
{
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
        set_err(err, errlen, "redis: %s", c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    return reply;
}

/* The connection of each shard [0, nshards) into ctx; -1 with err when one cannot be
 * reached. */
static int shard_contexts(struct rlink *l, unsigned nshards, redisContext **ctx, const char *what, char *err,
                          size_t errlen)
{
    for (unsigned i = 0; i < nshards; i++) {
        char why[256];
        ctx[i] = rlink_shard(l, i, why, sizeof why);
        if (!ctx[i]) {
            set_err(err, errlen, "%s: %s", what, why);
            return -1;
        }
    }
    return 0;
}

int rstream_ensure_groups(struct rlink *l, unsigned nshards, const char *group, char *err, size_t errlen)
{
    char key[RSTREAM_KEY_MAX];
    redisContext **ctx = calloc(nshards ? nshards : 1, sizeof *ctx);
    if (!ctx) {
        set_err(err, errlen, "XGROUP CREATE: out of memory");
        return -1;
    }
    int rc = shard_contexts(l, nshards, ctx, "XGROUP CREATE", err, errlen);
    for (unsigned i = 0; rc == 0 && i < nshards; i++) {
        rstream_stream_key(i, key, sizeof key);
        const char *argv[6] = {"XGROUP", "CREATE", key, group, "0", "MKSTREAM"};
        size_t lens[6] = {6, 6, strlen(key), strlen(group), 1, 8};
        if (redisAppendCommandArgv(ctx[i], 6, argv, lens) != REDIS_OK) {
            set_err(err, errlen, "XGROUP CREATE: %s", ctx[i]->errstr);
            rc = -2; /* replies of the shards before it are still owed: not read, the link is dropped */
        }
    }
    for (unsigned i = 0; rc == 0 && i < nshards; i++) {
        char why[256];
        redisReply *r = pipeline_reply(ctx[i], why, sizeof why);
        if (!r) {
            set_err(err, errlen, "XGROUP CREATE: %s", why);
            rc = -2; /* the connection is broken: no further replies to read */
            break;
        }
        if (r->type == REDIS_REPLY_ERROR && rc == 0 && strncmp(r->str, "BUSYGROUP", 9) != 0) {
            rstream_stream_key(i, key, sizeof key);
            set_err(err, errlen, "XGROUP CREATE %s %s: %s", key, group, r->str);
            rc = -1;
        }
        freeReplyObject(r);
    }
    free(ctx);
    return rc < 0 ? -1 : 0;
}

int rstream_totals(struct rlink *l, unsigned nshards, const char *group, long long *length,
                   long long *pending, char *err, size_t errlen)
{
    char key[RSTREAM_KEY_MAX];
    *length = 0;
    *pending = 0;
    redisContext **ctx = calloc(nshards ? nshards : 1, sizeof *ctx);
    if (!ctx) {
        set_err(err, errlen, "stream totals: out of memory");
        return -1;
    }
    if (shard_contexts(l, nshards, ctx, "stream totals", err, errlen) < 0) {
        free(ctx);
        return -1;
    }
    for (unsigned i = 0; i < nshards; i++) {
        redisContext *c = ctx[i];
        rstream_stream_key(i, key, sizeof key);
        const char *xlen[2] = {"XLEN", key};
        size_t xlen_lens[2] = {4, strlen(key)};
        const char *xpending[3] = {"XPENDING", key, group};
        size_t xpending_lens[3] = {8, strlen(key), strlen(group)};
        if (redisAppendCommandArgv(c, 2, xlen, xlen_lens) != REDIS_OK ||
            redisAppendCommandArgv(c, 3, xpending, xpending_lens) != REDIS_OK) {
            set_err(err, errlen, "stream totals: %s", c->errstr);
            free(ctx);
            return -1;
        }
    }
    int rc = 0;
    for (unsigned i = 0; i < 2 * nshards; i++) {
        char why[256];
        redisReply *r = pipeline_reply(ctx[i / 2], why, sizeof why);
        if (!r) {
            set_err(err, errlen, "stream totals: %s", why);
            free(ctx);
            return -1;
        }
        bool is_xlen = (i % 2) == 0;
        if (r->type == REDIS_REPLY_ERROR) {
            /* A shard without the group (nothing consumed yet) has nothing pending. */
            if (!(!is_xlen && strncmp(r->str, "NOGROUP", 7) == 0) && rc == 0) {
                rstream_stream_key(i / 2, key, sizeof key);
                set_err(err, errlen, "%s %s: %s", is_xlen ? "XLEN" : "XPENDING", key, r->str);
                rc = -1;
            }
        } else if (is_xlen && r->type == REDIS_REPLY_INTEGER) {
            *length += r->integer;
        } else if (!is_xlen && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                   r->element[0]->type == REDIS_REPLY_INTEGER) {
            *pending += r->element[0]->integer;
        }
        freeReplyObject(r);
    }
    free(ctx);
    return rc;
}

/* ---- the link: one server or a cluster */

int rlink_connect(struct rlink *l, const char *url, bool cluster, int timeout_ms, char *err, size_t errlen)
{
    rlink_close(l);
    if (cluster) {
        l->rc = rcluster_connect(url, timeout_ms, err, errlen);
        return l->rc ? 0 : -1;
    }
    l->c = rstream_connect(url, timeout_ms, err, errlen);
    return l->c ? 0 : -1;
}

void rlink_close(struct rlink *l)
{
    if (l->c)
        redisFree(l->c);
    l->c = NULL;
    if (l->rc)
        rcluster_destroy(&l->rc);
}

bool rlink_up(const struct rlink *l)
{
    return l->c || l->rc;
}

bool rlink_is_cluster(const struct rlink *l)
{
    return l->rc != NULL;
}

unsigned rstream_shard_slot(unsigned shard)
{
    char tag[16];
    int n = snprintf(tag, sizeof tag, "%u", shard);
    return rcluster_key_slot(tag, (size_t)n); /* the slot of "{N}" is the slot of "N" */
}

redisContext *rlink_shard(struct rlink *l, unsigned shard, char *err, size_t errlen)
{
    if (l->c)
        return l->c;
    if (l->rc)
        return rcluster_node(l->rc, rstream_shard_slot(shard), err, errlen);
    set_err(err, errlen, "not connected");
    return NULL;
}

int rlink_each_master(struct rlink *l, int (*fn)(redisContext *c, const char *addr, void *arg), void *arg,
                      char *err, size_t errlen)
{
    if (l->rc)
        return rcluster_each_master(l->rc, fn, arg, err, errlen);
    if (!l->c) {
        set_err(err, errlen, "not connected");
        return -1;
    }
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", l->c->tcp.host ? l->c->tcp.host : "?", l->c->tcp.port);
    return fn(l->c, addr, arg);
}

int rstream_describe_url(const char *url, bool cluster, char *out, size_t outlen, char *err, size_t errlen)
{
    if (!cluster) {
        if (url && strchr(url, ',')) {
            set_err(err, errlen,
                    "redis.url: names several hosts (seeds of a Redis Cluster): set redis.cluster = true");
            return -1;
        }
        struct redis_url u;
        if (rstream_parse_url(url, &u, err, errlen) < 0)
            return -1;
        snprintf(out, outlen, "%s:%d/%d", u.host, u.port, u.db);
        return 0;
    }
    struct rcluster_seeds *s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    int rc = rcluster_parse_seeds(url, s, err, errlen);
    if (rc == 0) {
        size_t n = (size_t)snprintf(out, outlen, "cluster of seeds ");
        for (size_t i = 0; i < s->count && n < outlen; i++) {
            char addr[RCLUSTER_ADDR_MAX];
            rcluster_format_addr(&s->seed[i], addr, sizeof addr);
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? "," : "", addr);
        }
    }
    sodium_memzero(s->password, sizeof s->password);
    free(s);
    return rc;
}
