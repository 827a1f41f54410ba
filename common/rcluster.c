/*
 * rcluster: see rcluster.h. hiredis 0.14.1, blocking contexts only: a command is
 * formatted once as RESP (redisFormatCommandArgv) and written with
 * redisAppendFormattedCommand, so a resend after a redirect writes the same bytes.
 * Connections are made by rstream_connect (timeout, AUTH) from a URL built here with
 * the seeds' credentials percent-encoded; that URL is wiped after use.
 *
 * The client keeps the slot map (struct rcluster_map: its nodes, masters and
 * replicas, and slot -> node) and, parallel to the map's nodes, one context per node,
 * made at first use; only masters, and the target of an ASK, are ever connected to
 * for commands. A refresh builds a new map and moves over the contexts of the nodes
 * that are masters in both.
 */
#include "rcluster.h"

#include "daemon.h"
#include "log.h"
#include "rstream.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RCLUSTER_SCHEME "redis://"
#define RCLUSTER_URL_MAX 2048       /* one seed's or node's URL as rstream_parse_url reads it */
#define RCLUSTER_WHY_MAX 512        /* one reason: a node name and what failed */
#define RCLUSTER_REASONS_MAX 1024   /* the reasons of every seed, in a connect error */
#define RCLUSTER_CRC16_POLY 0x1021u /* CRC16/XMODEM */
#define RCLUSTER_RETRY_SLEEP_MS 100 /* between attempts at a slot whose node is lost or busy */
#define RCLUSTER_ASKING "*1\r\n$6\r\nASKING\r\n"
#define RCLUSTER_NOT_CLUSTER "cluster support disabled" /* CLUSTER SLOTS on a standalone server */
#define RCLUSTER_PIPE_FIRST_CAP 64
#define RCLUSTER_MAP_FIRST_CAP 8
#define RCLUSTER_NONE UINT32_MAX /* end of a pipe's per-node list */

_Static_assert(sizeof(((struct redis_url *)0)->host) == RCLUSTER_HOST_MAX, "host sizes differ");
_Static_assert(sizeof(((struct redis_url *)0)->user) == RCLUSTER_USER_MAX, "user sizes differ");
_Static_assert(sizeof(((struct redis_url *)0)->password) == RCLUSTER_PASSWORD_MAX, "password sizes differ");
_Static_assert(RCLUSTER_NODES_MAX < RCLUSTER_NO_OWNER, "a node index must fit rcluster_map.owner");

struct rcluster {
    struct rcluster_seeds seeds;
    int timeout_ms;
    int retry_ms;
    struct rcluster_map *map;
    redisContext **ctx; /* ctx[i]: the connection to map->nodes[i], or NULL */
    size_t ctx_cap;
    struct rcluster_stats stats;
};

struct pipe_command {
    char *cmd; /* the command as RESP (redisFormatCommandArgv) */
    size_t len;
    unsigned slot;
    uint32_t next;                      /* the next command of the same node, in this exec */
    bool resend;                        /* did not run: resent alone after the pipeline */
    struct rcluster_redirect *redirect; /* the MOVED/ASK it got, when resend for that */
    redisReply *reply;
    char *why; /* why reply is NULL after exec */
};

struct rcluster_pipe {
    struct rcluster *rc;
    struct pipe_command *cmds;
    size_t count, cap;
};

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

/* ---- slots */

/* crc16_table[b]: the CRC of the byte b shifted into a zero register, made once (the
 * bit-by-bit loop was 13% of a busy broker's CPU on a cluster; a table is a lookup per
 * byte). */
static uint16_t crc16_table[256];
static pthread_once_t crc16_once = PTHREAD_ONCE_INIT;

static void crc16_make_table(void)
{
    for (unsigned b = 0; b < 256; b++) {
        unsigned crc = b << 8;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000u) ? ((crc << 1) ^ RCLUSTER_CRC16_POLY) & 0xFFFFu : (crc << 1) & 0xFFFFu;
        crc16_table[b] = (uint16_t)crc;
    }
}

unsigned rcluster_crc16(const char *buf, size_t len)
{
    pthread_once(&crc16_once, crc16_make_table);
    unsigned crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = ((crc << 8) ^ crc16_table[((crc >> 8) ^ (unsigned char)buf[i]) & 0xFFu]) & 0xFFFFu;
    return crc;
}

unsigned rcluster_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t after = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', after);
        if (close && close > open + 1)
            return rcluster_crc16(open + 1, (size_t)(close - open - 1)) % RCLUSTER_SLOTS;
    }
    return rcluster_crc16(key, len) % RCLUSTER_SLOTS;
}

/* ---- seeds */

void rcluster_format_addr(const struct rcluster_addr *a, char *out, size_t outlen)
{
    snprintf(out, outlen, strchr(a->host, ':') ? "[%s]:%d" : "%s:%d", a->host, a->port);
}

int rcluster_parse_seeds(const char *url, struct rcluster_seeds *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t scheme_len = strlen(RCLUSTER_SCHEME);
    if (!url || strncmp(url, RCLUSTER_SCHEME, scheme_len) != 0) {
        set_err(err, errlen, "redis.url: must start with redis://");
        return -1;
    }
    const char *p = url + scheme_len;
    const char *end = p + strlen(p);
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *authority_end = slash ? slash : end;
    const char *at = NULL; /* the last '@', as rstream_parse_url takes it */
    for (const char *q = p; q < authority_end; q++)
        if (*q == '@')
            at = q;
    size_t userinfo_len = at ? (size_t)(at - p) + 1 : 0; /* with its '@' */
    const char *path = authority_end;
    size_t path_len = (size_t)(end - path);
    if (userinfo_len + path_len + scheme_len >= RCLUSTER_URL_MAX) {
        set_err(err, errlen, "redis.url: too long");
        return -1;
    }

    const char *q = at ? at + 1 : p;
    for (size_t n = 0;; n++) {
        const char *comma = memchr(q, ',', (size_t)(authority_end - q));
        const char *s = q, *e = comma ? comma : authority_end;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        if (s == e) {
            set_err(err, errlen, "redis.url: seed %zu is empty", n + 1);
            goto fail;
        }
        if (n == RCLUSTER_SEEDS_MAX) {
            set_err(err, errlen, "redis.url: at most %d seeds", RCLUSTER_SEEDS_MAX);
            goto fail;
        }
        /* Each seed is read as the URL redis://<userinfo>@<seed><path>. */
        char one[RCLUSTER_URL_MAX];
        size_t seed_len = (size_t)(e - s);
        if (scheme_len + userinfo_len + seed_len + path_len >= sizeof one) {
            set_err(err, errlen, "redis.url: seed %zu is too long", n + 1);
            goto fail;
        }
        size_t o = 0;
        memcpy(one + o, RCLUSTER_SCHEME, scheme_len), o += scheme_len;
        memcpy(one + o, p, userinfo_len), o += userinfo_len;
        memcpy(one + o, s, seed_len), o += seed_len;
        memcpy(one + o, path, path_len), o += path_len;
        one[o] = '\0';
        struct redis_url u;
        char why[RCLUSTER_WHY_MAX];
        int rc = rstream_parse_url(one, &u, why, sizeof why);
        explicit_bzero(one, sizeof one);
        if (rc != 0) {
            const char *prefix = "redis.url: ";
            const char *w = strncmp(why, prefix, strlen(prefix)) == 0 ? why + strlen(prefix) : why;
            set_err(err, errlen, "redis.url: seed %zu: %s", n + 1, w);
            explicit_bzero(&u, sizeof u);
            goto fail;
        }
        if (u.db != 0) {
            set_err(err, errlen, "redis.url: a Redis Cluster has database 0 only, got /%d", u.db);
            explicit_bzero(&u, sizeof u);
            goto fail;
        }
        memcpy(out->seed[n].host, u.host, sizeof u.host);
        out->seed[n].port = u.port;
        if (n == 0) {
            memcpy(out->user, u.user, sizeof u.user);
            memcpy(out->password, u.password, sizeof u.password);
        }
        explicit_bzero(&u, sizeof u);
        out->count = n + 1;
        if (!comma)
            return 0;
        q = comma + 1;
    }
fail:
    explicit_bzero(out, sizeof *out);
    return -1;
}

/* ---- the slot map */

void rcluster_map_init(struct rcluster_map *map)
{
    map->nodes = NULL;
    map->count = map->cap = map->masters = 0;
    map->covered = 0;
    for (size_t s = 0; s < RCLUSTER_SLOTS; s++)
        map->owner[s] = RCLUSTER_NO_OWNER;
}

void rcluster_map_free(struct rcluster_map *map)
{
    free(map->nodes);
    rcluster_map_init(map);
}

static int map_find(const struct rcluster_map *map, const struct rcluster_addr *a)
{
    for (size_t i = 0; i < map->count; i++)
        if (map->nodes[i].addr.port == a->port && strcmp(map->nodes[i].addr.host, a->host) == 0)
            return (int)i;
    return -1;
}

/* The index of node a, added when new; master: it serves slots (a node once named as
 * a master stays one). -1 when the map is full or out of memory. */
static int map_add(struct rcluster_map *map, const struct rcluster_addr *a, bool master)
{
    int found = map_find(map, a);
    if (found >= 0) {
        if (master && !map->nodes[found].master) {
            map->nodes[found].master = true;
            map->masters++;
        }
        return found;
    }
    if (map->count == RCLUSTER_NODES_MAX)
        return -1;
    if (map->count == map->cap) {
        size_t cap = map->cap ? map->cap * 2 : RCLUSTER_MAP_FIRST_CAP;
        if (cap > RCLUSTER_NODES_MAX)
            cap = RCLUSTER_NODES_MAX;
        struct rcluster_map_node *nodes = realloc(map->nodes, cap * sizeof *nodes);
        if (!nodes)
            return -1;
        map->nodes = nodes;
        map->cap = cap;
    }
    struct rcluster_map_node *n = &map->nodes[map->count];
    memset(n, 0, sizeof *n);
    n->addr = *a;
    rcluster_format_addr(a, n->name, sizeof n->name);
    n->master = master;
    map->masters += master;
    return (int)map->count++;
}

/* One node of a CLUSTER SLOTS entry: [host, port, id, ...]. */
static int parse_endpoint(const redisReply *r, const char *from_host, struct rcluster_addr *out, char *why,
                          size_t whylen)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        set_err(why, whylen, "not [host, port, ...]");
        return -1;
    }
    const redisReply *host = r->element[0];
    long long port = r->element[1]->integer;
    if (host->len == 1 && host->str[0] == '?') {
        set_err(why, whylen, "unknown endpoint \"?\" (see cluster-preferred-endpoint-type)");
        return -1;
    }
    const char *h = host->len ? host->str : from_host;
    size_t hlen = host->len ? host->len : strlen(from_host);
    if (hlen == 0 || hlen >= sizeof out->host || memchr(h, '\0', hlen)) {
        set_err(why, whylen, "missing or too long host");
        return -1;
    }
    if (port < 1 || port > 65535) {
        set_err(why, whylen, "port %lld out of range", port);
        return -1;
    }
    memcpy(out->host, h, hlen);
    out->host[hlen] = '\0';
    out->port = (int)port;
    return 0;
}

int rcluster_map_parse(const redisReply *slots, const char *from_host, struct rcluster_map *map, char *err,
                       size_t errlen)
{
    rcluster_map_init(map);
    if (!slots || slots->type != REDIS_REPLY_ARRAY) {
        set_err(err, errlen, "CLUSTER SLOTS: not an array");
        return -1;
    }
    for (size_t i = 0; i < slots->elements; i++) {
        const redisReply *e = slots->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER) {
            set_err(err, errlen, "CLUSTER SLOTS: entry %zu is not [start, end, master, replicas...]", i + 1);
            goto fail;
        }
        long long start = e->element[0]->integer, end = e->element[1]->integer;
        if (start < 0 || end >= RCLUSTER_SLOTS || start > end) {
            set_err(err, errlen, "CLUSTER SLOTS: entry %zu: slots %lld-%lld not within 0-%d", i + 1, start,
                    end, RCLUSTER_SLOTS - 1);
            goto fail;
        }
        int master = -1;
        for (size_t j = 2; j < e->elements; j++) {
            struct rcluster_addr a;
            char why[RCLUSTER_WHY_MAX];
            if (parse_endpoint(e->element[j], from_host, &a, why, sizeof why) != 0) {
                set_err(err, errlen, "CLUSTER SLOTS: entry %zu, node %zu: %s", i + 1, j - 1, why);
                goto fail;
            }
            int k = map_add(map, &a, j == 2);
            if (k < 0) {
                set_err(err, errlen, "CLUSTER SLOTS: more than %d nodes, or out of memory",
                        RCLUSTER_NODES_MAX);
                goto fail;
            }
            if (j == 2)
                master = k;
        }
        for (long long s = start; s <= end; s++) {
            uint16_t was = map->owner[s];
            if (was != RCLUSTER_NO_OWNER && was != master) {
                set_err(err, errlen, "CLUSTER SLOTS: slot %lld given to both %s and %s", s,
                        map->nodes[was].name, map->nodes[master].name);
                goto fail;
            }
            if (was == RCLUSTER_NO_OWNER)
                map->covered++;
            map->owner[s] = (uint16_t)master;
        }
    }
    return 0;
fail:
    rcluster_map_free(map);
    return -1;
}

/* ---- redirects */

int rcluster_parse_redirect(const char *msg, size_t len, struct rcluster_redirect *out)
{
    enum rcluster_redirect_kind kind;
    size_t skip;
    if (len > 6 && memcmp(msg, "MOVED ", 6) == 0)
        kind = RCLUSTER_REDIRECT_MOVED, skip = 6;
    else if (len > 4 && memcmp(msg, "ASK ", 4) == 0)
        kind = RCLUSTER_REDIRECT_ASK, skip = 4;
    else
        return 0;
    const char *p = msg + skip, *end = msg + len;
    const char *space = memchr(p, ' ', (size_t)(end - p));
    long slot, port;
    if (!space || rstream_parse_number(p, (size_t)(space - p), 0, RCLUSTER_SLOTS - 1, &slot) != 0)
        return 0;
    const char *addr = space + 1, *colon = NULL;
    for (const char *q = addr; q < end; q++)
        if (*q == ':')
            colon = q;
    if (!colon || (size_t)(colon - addr) >= sizeof out->to.host ||
        rstream_parse_number(colon + 1, (size_t)(end - colon - 1), 1, 65535, &port) != 0)
        return 0;
    out->kind = kind;
    out->slot = (unsigned)slot;
    memcpy(out->to.host, addr, (size_t)(colon - addr));
    out->to.host[colon - addr] = '\0';
    out->to.port = (int)port;
    return 1;
}

/* TRYAGAIN (a multi-key command during a migration), CLUSTERDOWN (no quorum, or a slot
 * not served yet) and LOADING (a restarted node reading its AOF): the command did not
 * run, and will once the cluster settles. */
static bool is_transient_error(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str &&
           (strncmp(r->str, "TRYAGAIN", 8) == 0 || strncmp(r->str, "CLUSTERDOWN", 11) == 0 ||
            strncmp(r->str, "LOADING", 7) == 0);
}

/* ---- connections */

static const char *ctx_error(const redisContext *c)
{
    /* hiredis reports a read timeout (SO_RCVTIMEO) as EAGAIN's text */
    if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable"))
        return "no reply (timed out)";
    return c->errstr[0] ? c->errstr : "no reply";
}

/* Appends s percent-encoded (all but RFC 3986's unreserved bytes) at out[*o]. */
static int url_encode(const char *s, char *out, size_t outlen, size_t *o)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            if (*o + 1 >= outlen)
                return -1;
            out[(*o)++] = (char)c;
        } else {
            if (*o + 3 >= outlen)
                return -1;
            out[(*o)++] = '%';
            out[(*o)++] = hex[c >> 4];
            out[(*o)++] = hex[c & 15];
        }
    }
    out[*o] = '\0';
    return 0;
}

/* Connects to node a with the seeds' credentials, through rstream_connect. */
static redisContext *node_connect(struct rcluster *rc, const struct rcluster_addr *a, char *err,
                                  size_t errlen)
{
    char url[RCLUSTER_URL_MAX];
    size_t o = (size_t)snprintf(url, sizeof url, "%s", RCLUSTER_SCHEME);
    int bad = 0;
    if (rc->seeds.password[0]) {
        bad |= url_encode(rc->seeds.user, url, sizeof url, &o);
        if (!bad && o + 1 < sizeof url)
            url[o++] = ':';
        bad |= url_encode(rc->seeds.password, url, sizeof url, &o);
        if (!bad && o + 1 < sizeof url)
            url[o++] = '@';
    }
    if (!bad) {
        int n =
            snprintf(url + o, sizeof url - o, strchr(a->host, ':') ? "[%s]:%d" : "%s:%d", a->host, a->port);
        bad = n < 0 || (size_t)n >= sizeof url - o;
    }
    redisContext *c = NULL;
    if (bad) {
        char name[RCLUSTER_ADDR_MAX];
        rcluster_format_addr(a, name, sizeof name);
        set_err(err, errlen, "redis %s: credentials too long", name);
    } else {
        c = rstream_connect(url, rc->timeout_ms, err, errlen);
    }
    explicit_bzero(url, sizeof url);
    if (c)
        rc->stats.connects++;
    return c;
}

/* Makes room for one more node in rc->ctx (before map_add may add it). */
static int ctx_reserve(struct rcluster *rc, size_t count)
{
    if (count <= rc->ctx_cap)
        return 0;
    size_t cap = rc->ctx_cap ? rc->ctx_cap * 2 : RCLUSTER_MAP_FIRST_CAP;
    while (cap < count)
        cap *= 2;
    redisContext **ctx = realloc(rc->ctx, cap * sizeof *ctx);
    if (!ctx)
        return -1;
    memset(ctx + rc->ctx_cap, 0, (cap - rc->ctx_cap) * sizeof *ctx);
    rc->ctx = ctx;
    rc->ctx_cap = cap;
    return 0;
}

/* The index of node a in the map, added when new (the target of a MOVED or ASK the map
 * does not know yet); -1 when the map is full or out of memory. */
static int node_index(struct rcluster *rc, const struct rcluster_addr *a, bool master)
{
    if (ctx_reserve(rc, rc->map->count + 1) != 0)
        return -1;
    return map_add(rc->map, a, master);
}

/* The connection to node i, made now if there is none or the last one broke. */
static redisContext *node_context(struct rcluster *rc, size_t i, char *err, size_t errlen)
{
    redisContext *c = rc->ctx[i];
    if (c && c->err) {
        redisFree(c);
        c = rc->ctx[i] = NULL;
    }
    if (!c)
        c = rc->ctx[i] = node_connect(rc, &rc->map->nodes[i].addr, err, errlen);
    return c;
}

static void node_drop(struct rcluster *rc, size_t i, const char *why)
{
    if (!rc->ctx[i])
        return;
    log_warn("Redis Cluster: connection to %s lost: %s", rc->map->nodes[i].name, why);
    redisFree(rc->ctx[i]);
    rc->ctx[i] = NULL;
    rc->stats.lost++;
}

/* Reads CLUSTER SLOTS over c (connected to name, whose host is host) into map, which
 * must then cover every slot. Returns 0; -1 with the reason; -2 when the node is not in
 * cluster mode. */
static int read_map(redisContext *c, const char *host, const char *name, struct rcluster_map *map, char *err,
                    size_t errlen)
{
    redisReply *r = redisCommand(c, "CLUSTER SLOTS");
    if (!r) {
        set_err(err, errlen, "%s: CLUSTER SLOTS: %s", name, ctx_error(c));
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        int rc = -1;
        if (r->str && strstr(r->str, RCLUSTER_NOT_CLUSTER)) {
            set_err(err, errlen, "redis.cluster = true but %s is not a cluster node (CLUSTER SLOTS: %s)",
                    name, r->str);
            rc = -2;
        } else {
            set_err(err, errlen, "%s: CLUSTER SLOTS: %s", name, r->str ? r->str : "error");
        }
        freeReplyObject(r);
        return rc;
    }
    char why[RCLUSTER_WHY_MAX];
    int rc = rcluster_map_parse(r, host, map, why, sizeof why);
    freeReplyObject(r);
    if (rc != 0) {
        set_err(err, errlen, "%s: %s", name, why);
        return -1;
    }
    if (map->covered < RCLUSTER_SLOTS) {
        unsigned missing = 0;
        while (map->owner[missing] != RCLUSTER_NO_OWNER)
            missing++;
        set_err(err, errlen,
                "%s: CLUSTER SLOTS covers %u of %d slots (slot %u has no master): the cluster is not set up "
                "or has lost a master",
                name, map->covered, RCLUSTER_SLOTS, missing);
        rcluster_map_free(map);
        return -1;
    }
    return 0;
}

/* Makes map (a full one, taken over and left empty) the slot map: the connections of
 * nodes that are masters in both move over, and *from_ctx (a connection to from made
 * to read the map) is kept if from is a master; every other connection is closed.
 * Returns 0, or -1 when out of memory (nothing changed). */
static int map_install(struct rcluster *rc, struct rcluster_map *map, const struct rcluster_addr *from,
                       redisContext **from_ctx)
{
    size_t cap = map->count ? map->count : 1;
    redisContext **ctx = calloc(cap, sizeof *ctx);
    struct rcluster_map *installed = malloc(sizeof *installed);
    if (!ctx || !installed) {
        free(ctx);
        free(installed);
        return -1;
    }
    bool changed = map->masters != rc->map->masters;
    for (size_t i = 0; i < map->count; i++) {
        if (!map->nodes[i].master)
            continue;
        int j = map_find(rc->map, &map->nodes[i].addr);
        changed |= j < 0 || !rc->map->nodes[j].master;
        if (j >= 0 && rc->ctx[j]) {
            ctx[i] = rc->ctx[j];
            rc->ctx[j] = NULL;
        } else if (from_ctx && *from_ctx && from->port == map->nodes[i].addr.port &&
                   strcmp(from->host, map->nodes[i].addr.host) == 0) {
            ctx[i] = *from_ctx;
            *from_ctx = NULL;
        }
    }
    for (size_t j = 0; j < rc->map->count; j++)
        if (rc->ctx[j])
            redisFree(rc->ctx[j]);
    free(rc->ctx);
    rc->ctx = ctx;
    rc->ctx_cap = cap;
    *installed = *map;
    map->nodes = NULL;
    rcluster_map_free(map);
    rcluster_map_free(rc->map);
    free(rc->map);
    rc->map = installed;
    if (changed) {
        char from_name[RCLUSTER_ADDR_MAX];
        rcluster_format_addr(from, from_name, sizeof from_name);
        log_info("Redis Cluster: %zu masters (slot map from %s)", installed->masters, from_name);
    }
    return 0;
}

static void append_reason(char *buf, size_t buflen, const char *why)
{
    size_t n = strlen(buf);
    if (n + 1 < buflen)
        snprintf(buf + n, buflen - n, "%s%s", n ? "; " : "", why);
}

void rcluster_destroy(struct rcluster **rcp)
{
    if (!rcp || !*rcp)
        return;
    struct rcluster *rc = *rcp;
    if (rc->map) {
        for (size_t i = 0; i < rc->map->count && i < rc->ctx_cap; i++)
            if (rc->ctx[i])
                redisFree(rc->ctx[i]);
        rcluster_map_free(rc->map);
        free(rc->map);
    }
    free(rc->ctx);
    explicit_bzero(&rc->seeds, sizeof rc->seeds);
    free(rc);
    *rcp = NULL;
}

struct rcluster *rcluster_connect(const char *url, int timeout_ms, char *err, size_t errlen)
{
    struct rcluster *rc = calloc(1, sizeof *rc);
    struct rcluster_map *map = malloc(sizeof *map);
    if (rc)
        rc->map = malloc(sizeof *rc->map);
    if (!rc || !map || !rc->map) {
        set_err(err, errlen, "redis cluster: out of memory");
        free(map);
        rcluster_destroy(&rc);
        return NULL;
    }
    rcluster_map_init(rc->map);
    rc->timeout_ms = timeout_ms;
    rc->retry_ms = RCLUSTER_RETRY_MS_DEFAULT;
    if (rcluster_parse_seeds(url, &rc->seeds, err, errlen) != 0) {
        free(map);
        rcluster_destroy(&rc);
        return NULL;
    }
    char reasons[RCLUSTER_REASONS_MAX] = "";
    for (size_t i = 0; i < rc->seeds.count; i++) {
        const struct rcluster_addr *seed = &rc->seeds.seed[i];
        char name[RCLUSTER_ADDR_MAX], why[RCLUSTER_WHY_MAX];
        rcluster_format_addr(seed, name, sizeof name);
        redisContext *c = node_connect(rc, seed, why, sizeof why);
        if (!c) {
            append_reason(reasons, sizeof reasons, why);
            continue;
        }
        int got = read_map(c, seed->host, name, map, why, sizeof why);
        if (got == -2) { /* misconfigured, not unreachable: no other seed can make it right */
            set_err(err, errlen, "%s", why);
            redisFree(c);
            free(map);
            rcluster_destroy(&rc);
            return NULL;
        }
        if (got == 0 && map_install(rc, map, seed, &c) == 0) {
            if (c)
                redisFree(c);
            free(map);
            return rc;
        }
        if (got == 0) {
            snprintf(why, sizeof why, "%s: out of memory", name);
            rcluster_map_free(map);
        }
        append_reason(reasons, sizeof reasons, why);
        redisFree(c);
    }
    set_err(err, errlen, "redis.url: no seed gave a slot map covering all %d slots: %s", RCLUSTER_SLOTS,
            reasons);
    free(map);
    rcluster_destroy(&rc);
    return NULL;
}

void rcluster_set_retry_ms(struct rcluster *rc, int retry_ms)
{
    rc->retry_ms = retry_ms;
}

/* Candidates in order: nodes connected now (live masters), then every other node of
 * the map (masters not connected yet, replicas), then the seeds the map does not name. */
int rcluster_refresh(struct rcluster *rc, char *err, size_t errlen)
{
    struct rcluster_map *map = malloc(sizeof *map);
    if (!map) {
        set_err(err, errlen, "redis cluster: out of memory");
        return -1;
    }
    char why[RCLUSTER_WHY_MAX] = "no node to ask";
    size_t known = rc->map->count;
    for (size_t k = 0; k < 2 * known + rc->seeds.count; k++) {
        bool first_pass = k < known, second_pass = k >= known && k < 2 * known;
        const struct rcluster_addr *addr;
        redisContext *c = NULL;
        int node = -1;
        if (first_pass || second_pass) {
            node = (int)(k % known);
            addr = &rc->map->nodes[node].addr;
            bool connected = rc->ctx[node] && !rc->ctx[node]->err;
            if (first_pass != connected)
                continue;
            if (first_pass)
                c = rc->ctx[node];
        } else {
            addr = &rc->seeds.seed[k - 2 * known];
            if (map_find(rc->map, addr) >= 0)
                continue;
        }
        char name[RCLUSTER_ADDR_MAX];
        rcluster_format_addr(addr, name, sizeof name);
        if (!c && !(c = node_connect(rc, addr, why, sizeof why)))
            continue;
        bool temporary = !first_pass;
        if (read_map(c, addr->host, name, map, why, sizeof why) != 0) {
            if (temporary)
                redisFree(c);
            else if (c->err)
                node_drop(rc, (size_t)node, why);
            continue;
        }
        struct rcluster_addr from = *addr; /* addr points into the map being replaced */
        int rc_install = map_install(rc, map, &from, temporary ? &c : NULL);
        if (temporary && c)
            redisFree(c);
        if (rc_install != 0) {
            rcluster_map_free(map);
            free(map);
            set_err(err, errlen, "redis cluster: out of memory");
            return -1;
        }
        rc->stats.refreshes++;
        free(map);
        return 0;
    }
    free(map);
    set_err(err, errlen, "redis cluster: no node gave a slot map covering every slot (last: %s)", why);
    return -1;
}

size_t rcluster_master_count(const struct rcluster *rc)
{
    return rc->map->masters;
}

redisContext *rcluster_node(struct rcluster *rc, unsigned slot, char *err, size_t errlen)
{
    if (slot >= RCLUSTER_SLOTS || rc->map->owner[slot] == RCLUSTER_NO_OWNER) {
        set_err(err, errlen, "redis cluster: no master serves slot %u", slot);
        return NULL;
    }
    return node_context(rc, rc->map->owner[slot], err, errlen);
}

int rcluster_each_master(struct rcluster *rc, int (*fn)(redisContext *c, const char *addr, void *arg),
                         void *arg, char *err, size_t errlen)
{
    for (size_t i = 0; i < rc->map->count; i++) {
        if (!rc->map->nodes[i].master)
            continue;
        redisContext *c = node_context(rc, i, err, errlen);
        if (!c)
            return -1;
        int r = fn(c, rc->map->nodes[i].name, arg);
        if (r != 0)
            return r;
    }
    return 0;
}

void rcluster_get_stats(const struct rcluster *rc, struct rcluster_stats *out)
{
    *out = rc->stats;
}

/* ---- one command */

/* Writes cmd over c, after ASKING when asking, and reads its reply. NULL when the
 * connection failed (c->err says why); the command may have run. */
static redisReply *send_formatted(redisContext *c, const char *cmd, size_t len, bool asking)
{
    void *reply = NULL;
    if (asking && redisAppendFormattedCommand(c, RCLUSTER_ASKING, strlen(RCLUSTER_ASKING)) != REDIS_OK)
        return NULL;
    if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK)
        return NULL;
    if (asking) {
        if (redisGetReply(c, &reply) != REDIS_OK)
            return NULL;
        freeReplyObject(reply); /* +OK; were it an error, the command's own reply says more */
        reply = NULL;
    }
    if (redisGetReply(c, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

/* Before another attempt at a command that did not run: sleeps RCLUSTER_RETRY_SLEEP_MS
 * when sleep (never past until), then re-reads the map when refresh. False when until
 * has passed or the process is stopping: give up. */
static bool retry_wait(struct rcluster *rc, long long until, bool sleep, bool refresh)
{
    long long now = daemon_now_ms();
    if (now >= until || daemon_stopping)
        return false;
    if (sleep)
        daemon_sleep_ms(until - now < RCLUSTER_RETRY_SLEEP_MS ? until - now : RCLUSTER_RETRY_SLEEP_MS);
    rc->stats.retries++;
    if (refresh) {
        char why[RCLUSTER_WHY_MAX];
        if (rcluster_refresh(rc, why, sizeof why) != 0)
            log_debug("Redis Cluster: %s", why);
    }
    return true;
}

/* Takes a redirect: ASK names the node for the next attempt; MOVED re-reads the map
 * and then gives the slot to the node MOVED named (it answers for the slot now, even if
 * the node the map came from has not heard yet). */
static void follow_redirect(struct rcluster *rc, const struct rcluster_redirect *rd,
                            struct rcluster_redirect *ask, bool *asking)
{
    if (rd->kind == RCLUSTER_REDIRECT_ASK) {
        rc->stats.ask++;
        *ask = *rd;
        *asking = true;
        return;
    }
    rc->stats.moved++;
    *asking = false;
    uint16_t owner = rc->map->owner[rd->slot];
    if (owner != RCLUSTER_NO_OWNER && rc->map->nodes[owner].addr.port == rd->to.port &&
        strcmp(rc->map->nodes[owner].addr.host, rd->to.host) == 0)
        return; /* the map has it already (a pipeline's second MOVED for a slot) */
    char why[RCLUSTER_WHY_MAX];
    if (rcluster_refresh(rc, why, sizeof why) != 0)
        log_debug("Redis Cluster: after MOVED %u %s:%d: %s", rd->slot, rd->to.host, rd->to.port, why);
    int i = node_index(rc, &rd->to, true);
    if (i >= 0)
        rc->map->owner[rd->slot] = (uint16_t)i;
}

/* How long a command may keep retrying: the retry time, at least the timeout. */
static long long retry_window_ms(const struct rcluster *rc)
{
    return rc->retry_ms > rc->timeout_ms ? rc->retry_ms : rc->timeout_ms;
}

/* rcluster_command_argv on a formatted command, retrying until the monotonic time
 * until; first: the redirect a pipeline got for it. */
static redisReply *command_formatted(struct rcluster *rc, unsigned slot, const char *cmd, size_t len,
                                     unsigned flags, const struct rcluster_redirect *first, long long until,
                                     char *err, size_t errlen)
{
    long long start = daemon_now_ms();
    struct rcluster_redirect ask;
    bool asking = false, tried = false;
    int redirects = 0;
    char why[RCLUSTER_WHY_MAX] = "";
    if (slot >= RCLUSTER_SLOTS) {
        set_err(err, errlen, "redis cluster: slot %u out of range", slot);
        return NULL;
    }
    if (first) {
        redirects++;
        follow_redirect(rc, first, &ask, &asking);
    }
    for (;;) {
        int i = asking ? node_index(rc, &ask.to, false) : rc->map->owner[slot];
        redisContext *c = NULL;
        if (i < 0 || i == RCLUSTER_NO_OWNER)
            snprintf(why, sizeof why, "slot %u: no node for it (out of memory or not served)", slot);
        else
            c = node_context(rc, (size_t)i, why, sizeof why);
        if (!c) { /* nothing was sent: try again once the map says where */
            if (!retry_wait(rc, until, tried, true)) {
                set_err(err, errlen, "%s (slot %u, gave up after %lld ms)", why, slot,
                        daemon_now_ms() - start);
                return NULL;
            }
            tried = true;
            asking = false;
            continue;
        }
        redisReply *r = send_formatted(c, cmd, len, asking);
        if (!r) {
            snprintf(why, sizeof why, "%s: %s", rc->map->nodes[i].name, ctx_error(c));
            node_drop(rc, (size_t)i, why);
            if (!(flags & RCLUSTER_RESEND_SAFE)) {
                set_err(err, errlen, "%s: connection lost after sending; outcome unknown", why);
                return NULL;
            }
            if (!retry_wait(rc, until, tried, true)) {
                set_err(err, errlen, "%s (slot %u, gave up after %lld ms)", why, slot,
                        daemon_now_ms() - start);
                return NULL;
            }
            tried = true;
            asking = false;
            continue;
        }
        struct rcluster_redirect rd;
        if (r->type == REDIS_REPLY_ERROR && r->str && rcluster_parse_redirect(r->str, r->len, &rd)) {
            if (!rd.to.host[0])
                memcpy(rd.to.host, rc->map->nodes[i].addr.host, sizeof rd.to.host);
            freeReplyObject(r);
            if (++redirects > RCLUSTER_REDIRECTS_MAX) {
                set_err(err, errlen, "redis cluster: slot %u: more than %d redirects (last to %s:%d)", slot,
                        RCLUSTER_REDIRECTS_MAX, rd.to.host, rd.to.port);
                return NULL;
            }
            log_debug("Redis Cluster: %s %u %s:%d", rd.kind == RCLUSTER_REDIRECT_ASK ? "ASK" : "MOVED",
                      rd.slot, rd.to.host, rd.to.port);
            follow_redirect(rc, &rd, &ask, &asking);
            continue;
        }
        if (is_transient_error(r) && retry_wait(rc, until, true, false)) {
            freeReplyObject(r);
            asking = false;
            continue;
        }
        return r;
    }
}

redisReply *rcluster_command_argv(struct rcluster *rc, unsigned slot, int argc, const char **argv,
                                  const size_t *lens, unsigned flags, char *err, size_t errlen)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0 || !cmd) {
        set_err(err, errlen, "redis cluster: out of memory");
        return NULL;
    }
    redisReply *r = command_formatted(rc, slot, cmd, (size_t)len, flags, NULL,
                                      daemon_now_ms() + retry_window_ms(rc), err, errlen);
    redisFreeCommand(cmd);
    return r;
}

/* ---- pipelines */

struct rcluster_pipe *rcluster_pipe_new(struct rcluster *rc)
{
    struct rcluster_pipe *p = calloc(1, sizeof *p);
    if (p)
        p->rc = rc;
    return p;
}

static void pipe_command_clear_result(struct pipe_command *pc)
{
    if (pc->reply)
        freeReplyObject(pc->reply);
    free(pc->why);
    free(pc->redirect);
    pc->reply = NULL;
    pc->why = NULL;
    pc->redirect = NULL;
    pc->resend = false;
}

void rcluster_pipe_reset(struct rcluster_pipe *p)
{
    for (size_t i = 0; i < p->count; i++) {
        pipe_command_clear_result(&p->cmds[i]);
        redisFreeCommand(p->cmds[i].cmd);
    }
    p->count = 0;
}

void rcluster_pipe_destroy(struct rcluster_pipe **pp)
{
    if (!pp || !*pp)
        return;
    rcluster_pipe_reset(*pp);
    free((*pp)->cmds);
    free(*pp);
    *pp = NULL;
}

int rcluster_pipe_append(struct rcluster_pipe *p, unsigned slot, int argc, const char **argv,
                         const size_t *lens)
{
    if (slot >= RCLUSTER_SLOTS || p->count == RCLUSTER_PIPE_COMMANDS_MAX)
        return -1;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : RCLUSTER_PIPE_FIRST_CAP;
        if (cap > RCLUSTER_PIPE_COMMANDS_MAX)
            cap = RCLUSTER_PIPE_COMMANDS_MAX;
        struct pipe_command *cmds = realloc(p->cmds, cap * sizeof *cmds);
        if (!cmds)
            return -1;
        p->cmds = cmds;
        p->cap = cap;
    }
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0 || !cmd)
        return -1;
    struct pipe_command *pc = &p->cmds[p->count++];
    memset(pc, 0, sizeof *pc);
    pc->cmd = cmd;
    pc->len = (size_t)len;
    pc->slot = slot;
    return 0;
}

size_t rcluster_pipe_count(const struct rcluster_pipe *p)
{
    return p->count;
}

/* Marks command k and the ones after it in its node's list as without a reply. */
static void pipe_fail_from(struct rcluster_pipe *p, uint32_t k, const char *why)
{
    for (; k != RCLUSTER_NONE; k = p->cmds[k].next) {
        free(p->cmds[k].why);
        p->cmds[k].why = strdup(why);
    }
}

/* Reads the replies of node n's commands (list from head) in order. */
static void pipe_read_node(struct rcluster_pipe *p, size_t n, uint32_t head)
{
    struct rcluster *rc = p->rc;
    redisContext *c = rc->ctx[n];
    for (uint32_t k = head; k != RCLUSTER_NONE; k = p->cmds[k].next) {
        struct pipe_command *pc = &p->cmds[k];
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
            char why[RCLUSTER_WHY_MAX];
            snprintf(why, sizeof why, "%s: %s; outcome unknown", rc->map->nodes[n].name, ctx_error(c));
            pipe_fail_from(p, k, why);
            node_drop(rc, n, why);
            return;
        }
        redisReply *r = reply;
        struct rcluster_redirect rd;
        if (r->type == REDIS_REPLY_ERROR && r->str && rcluster_parse_redirect(r->str, r->len, &rd)) {
            if (!rd.to.host[0]) /* now, while n still names the node that answered */
                memcpy(rd.to.host, rc->map->nodes[n].addr.host, sizeof rd.to.host);
            pc->redirect = malloc(sizeof *pc->redirect);
            if (pc->redirect)
                *pc->redirect = rd;
            pc->resend = true; /* without the redirect (out of memory): resent by the map */
            freeReplyObject(r);
        } else if (is_transient_error(r)) {
            pc->resend = true;
            freeReplyObject(r);
        } else {
            pc->reply = r;
        }
    }
}

int rcluster_pipe_exec(struct rcluster_pipe *p, char *err, size_t errlen)
{
    struct rcluster *rc = p->rc;
    size_t nodes = rc->map->count;
    uint32_t *head = malloc((nodes ? nodes : 1) * sizeof *head);
    uint32_t *tail = malloc((nodes ? nodes : 1) * sizeof *tail);
    if (!head || !tail) {
        free(head);
        free(tail);
        set_err(err, errlen, "redis cluster: out of memory");
        return -1;
    }
    for (size_t n = 0; n < nodes; n++)
        head[n] = tail[n] = RCLUSTER_NONE;

    /* Group by node, keeping append order within a node. */
    for (size_t i = 0; i < p->count; i++) {
        struct pipe_command *pc = &p->cmds[i];
        pipe_command_clear_result(pc);
        pc->next = RCLUSTER_NONE;
        uint16_t n = rc->map->owner[pc->slot];
        if (n == RCLUSTER_NO_OWNER) {
            pc->resend = true;
            continue;
        }
        if (head[n] == RCLUSTER_NONE)
            head[n] = (uint32_t)i;
        else
            p->cmds[tail[n]].next = (uint32_t)i;
        tail[n] = (uint32_t)i;
    }

    /* Write to every node first... */
    for (size_t n = 0; n < nodes; n++) {
        if (head[n] == RCLUSTER_NONE)
            continue;
        char why[RCLUSTER_WHY_MAX];
        redisContext *c = node_context(rc, n, why, sizeof why);
        if (!c) { /* nothing written: each is sent alone below, through a failover if need be */
            log_debug("Redis Cluster: pipeline to %s: %s", rc->map->nodes[n].name, why);
            for (uint32_t k = head[n]; k != RCLUSTER_NONE; k = p->cmds[k].next)
                p->cmds[k].resend = true;
            head[n] = RCLUSTER_NONE;
            continue;
        }
        int ok = REDIS_OK, done = 0;
        for (uint32_t k = head[n]; k != RCLUSTER_NONE && ok == REDIS_OK; k = p->cmds[k].next)
            ok = redisAppendFormattedCommand(c, p->cmds[k].cmd, p->cmds[k].len);
        while (ok == REDIS_OK && !done)
            ok = redisBufferWrite(c, &done);
        if (ok != REDIS_OK) {
            snprintf(why, sizeof why, "%s: %s; outcome unknown", rc->map->nodes[n].name, ctx_error(c));
            pipe_fail_from(p, head[n], why);
            node_drop(rc, n, why);
            head[n] = RCLUSTER_NONE;
        }
    }
    /* ...then read, node by node. */
    for (size_t n = 0; n < nodes; n++)
        if (head[n] != RCLUSTER_NONE)
            pipe_read_node(p, n, head[n]);
    free(head);
    free(tail);

    /* Redirected, refused for now, or never written: resent alone, in append order (the
     * map may change under these calls; nothing above is used after it), all within one
     * retry window: once it has passed and one of them failed, the rest are not tried
     * (they never ran; a caller may send them again). */
    long long until = daemon_now_ms() + retry_window_ms(rc);
    const char *given_up = NULL;
    for (size_t i = 0; i < p->count; i++) {
        struct pipe_command *pc = &p->cmds[i];
        if (!pc->resend)
            continue;
        if (given_up) {
            pc->why = strdup(given_up);
            continue;
        }
        char why[RCLUSTER_WHY_MAX];
        pc->reply =
            command_formatted(rc, pc->slot, pc->cmd, pc->len, 0, pc->redirect, until, why, sizeof why);
        if (!pc->reply)
            pc->why = strdup(why);
        if (!pc->reply && daemon_now_ms() >= until)
            given_up = "not sent: the pipeline's retry time ran out";
    }

    size_t failed = 0;
    const char *first = NULL;
    for (size_t i = 0; i < p->count; i++) {
        if (p->cmds[i].reply)
            continue;
        if (!failed)
            first = p->cmds[i].why ? p->cmds[i].why : "out of memory";
        failed++;
    }
    if (failed) {
        set_err(err, errlen, "%zu of %zu commands without a reply; first: %s", failed, p->count, first);
        return -1;
    }
    return 0;
}

const redisReply *rcluster_pipe_reply(const struct rcluster_pipe *p, size_t i, const char **why)
{
    if (i >= p->count)
        return NULL;
    if (!p->cmds[i].reply && why)
        *why = p->cmds[i].why ? p->cmds[i].why : "no reply (out of memory, or not executed)";
    return p->cmds[i].reply;
}
