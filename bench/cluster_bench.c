/*
 * cluster_bench: the Redis Cluster client (common/rcluster.h) against a real cluster,
 * three ways; each prints one JSON line on stdout (logs go to stderr):
 *
 *   --check N     SET N keys spread over RCLUSTER_BENCH_TAGS slots with the pipe, GET
 *                 them back with the pipe: {"written","read","mismatched","failed",
 *                 "keys_in_cluster" (DBSIZE summed over the masters),"redirects",
 *                 "refreshes",...}; exit 0 only when every key reads back its value.
 *                 --pause-after-write FILE writes FILE after the SETs and waits until
 *                 it is removed before the GETs (a test moves a slot meanwhile: the
 *                 GETs then meet MOVED with the map read before).
 *   --xadd N      N pipelined XADDs round-robin over --shards S streams <prefix>:{i}
 *                 (as the broker's shards), --batch commands per master per exec:
 *                 {"xadd_per_s","in_streams" (XLEN summed, one command per stream),...};
 *                 exit 0 only when the streams hold every entry. The streams are deleted
 *                 before and after.
 *   --loop SECS   SET/GET rounds of --batch new keys for SECS seconds, each key written
 *                 once with its own value: a key is written when its GET returns that
 *                 value; a key whose SET or GET had no reply (a master died under it) is
 *                 retried in the next rounds (SET of the same value is idempotent).
 *                 After the time, the keys still failing are retried for --retry-ms,
 *                 then every written key is read back: {"keys","ok" (first try),
 *                 "recovered" (failed, then written), "unwritten", "lost" (written, not
 *                 read back at the end),...}; exit 0 only when unwritten and lost are 0.
 *
 * Keys are <prefix>:check:{T}:<i>, <prefix>:loop:<run>:{T}:<i> with T = i mod
 * RCLUSTER_BENCH_TAGS (default prefix kinerja:bench). Nothing here is clever on
 * purpose: the figures are what rcluster does with a plain pipeline.
 */
#include "daemon.h"
#include "log.h"
#include "rcluster.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RCLUSTER_BENCH_TAGS 1024 /* hash tags, so slots, the keys are spread over */
#define BENCH_KEY_MAX 256
#define BENCH_VALUE_MAX 64
#define BENCH_TIMEOUT_MS 2000
#define BENCH_RETRY_MS 20000 /* above a test cluster's node timeout plus election */
#define BENCH_BATCH 1000
#define BENCH_SHARDS 16
#define BENCH_XADD_VALUE_BYTES 64 /* about an event's msgpack body */
#define BENCH_PAUSE_MAX_MS 120000 /* --pause-after-write waits at most this long */
#define BENCH_PAUSE_POLL_MS 20
#define BENCH_LOOP_KEYS_MAX 50000000 /* key states kept by --loop */
#define BENCH_ERRORS_SHOWN 5         /* per phase, on stderr */

enum bench_key_state {
    KEY_NEW,       /* not tried yet */
    KEY_OK,        /* written at the first try */
    KEY_FAILING,   /* a SET or GET had no reply or the wrong value: retried */
    KEY_RECOVERED, /* failed, then written */
};

struct bench {
    struct rcluster *rc;
    struct rcluster_pipe *pipe;
    const char *prefix;
    long long nonce; /* makes this run's values (and --loop's keys) its own */
    int batch;
    int retry_ms;
    unsigned errors_shown;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cluster_bench --url redis://[[user]:password@]host:port[,host:port...] MODE [options]\n"
            "modes:\n"
            "  --check N              SET then GET N keys over the cluster; exit 0 if all read back\n"
            "  --xadd N               N pipelined XADDs over --shards streams; prints xadd_per_s\n"
            "  --loop SECONDS         SET/GET rounds; keys whose command failed are retried;\n"
            "                         prints ok / recovered / unwritten / lost\n"
            "options:\n"
            "  --shards S             streams for --xadd (default 16)\n"
            "  --batch B              commands per master per pipeline (default 1000)\n"
            "  --timeout-ms MS        connect and command timeout (default 2000)\n"
            "  --retry-ms MS          how long a command retries through a failover (default 20000)\n"
            "  --prefix P             key prefix (default kinerja:bench)\n"
            "  --pause-after-write F  --check: write F after the SETs, wait until it is removed\n"
            "  --log-level L          debug, info, warn, error (default info)\n"
            "  --help\n");
}

static void show_error(struct bench *b, const char *what, const char *why)
{
    if (b->errors_shown++ < BENCH_ERRORS_SHOWN)
        log_warn("%s: %s", what, why);
}

static void stats_json(struct bench *b)
{
    struct rcluster_stats s;
    rcluster_get_stats(b->rc, &s);
    printf("\"redirects\":%llu,\"moved\":%llu,\"ask\":%llu,\"refreshes\":%llu,\"retries\":%llu,"
           "\"lost_connections\":%llu",
           s.moved + s.ask, s.moved, s.ask, s.refreshes, s.retries, s.lost);
}

static int append_command(struct bench *b, const char *a0, const char *key, const char *value)
{
    const char *argv[3] = {a0, key, value};
    size_t lens[3] = {strlen(a0), strlen(key), value ? strlen(value) : 0};
    return rcluster_pipe_append(b->pipe, rcluster_key_slot(key, lens[1]), value ? 3 : 2, argv, lens);
}

static bool reply_is_ok(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
}

static bool reply_is(const redisReply *r, const char *value)
{
    return r && r->type == REDIS_REPLY_STRING && r->len == strlen(value) &&
           memcmp(r->str, value, r->len) == 0;
}

/* ---- --check */

static void check_key(const struct bench *b, long i, char *key, char *value)
{
    snprintf(key, BENCH_KEY_MAX, "%s:check:{%ld}:%ld", b->prefix, i % RCLUSTER_BENCH_TAGS, i);
    snprintf(value, BENCH_VALUE_MAX, "%lld:%ld", b->nonce, i);
}

static int wait_for_removal(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs("written\n", f) == EOF || fclose(f) != 0) {
        log_error("--pause-after-write %s: %s", path, strerror(errno));
        return -1;
    }
    long long until = daemon_now_ms() + BENCH_PAUSE_MAX_MS;
    while (access(path, F_OK) == 0) {
        if (daemon_now_ms() > until) {
            log_error("--pause-after-write %s: still there after %d ms", path, BENCH_PAUSE_MAX_MS);
            return -1;
        }
        daemon_sleep_ms(BENCH_PAUSE_POLL_MS);
    }
    return 0;
}

/* rcluster_each_master: adds the master's DBSIZE to *(long long *)arg (-1: none yet). */
static int add_dbsize(redisContext *c, const char *addr, void *arg)
{
    long long *total = arg;
    redisReply *r = redisCommand(c, "DBSIZE");
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc == 0)
        *total = (*total < 0 ? 0 : *total) + r->integer;
    else
        log_warn("DBSIZE on %s: %s", addr, r && r->str ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return rc;
}

static int run_check(struct bench *b, long n, const char *pause_file)
{
    long written = 0, read = 0, mismatched = 0, failed = 0;
    long step = (long)b->batch * (long)rcluster_master_count(b->rc);
    char key[BENCH_KEY_MAX], value[BENCH_VALUE_MAX], err[512];
    for (int phase = 0; phase < 2; phase++) {
        if (phase == 1 && pause_file && wait_for_removal(pause_file) != 0)
            return 1;
        for (long from = 0; from < n; from += step) {
            long to = from + step < n ? from + step : n;
            rcluster_pipe_reset(b->pipe);
            for (long i = from; i < to; i++) {
                check_key(b, i, key, value);
                if (append_command(b, phase ? "GET" : "SET", key, phase ? NULL : value) != 0) {
                    log_error("out of memory");
                    return 1;
                }
            }
            if (rcluster_pipe_exec(b->pipe, err, sizeof err) != 0)
                show_error(b, phase ? "GET" : "SET", err);
            for (long i = from; i < to; i++) {
                const char *why = NULL;
                const redisReply *r = rcluster_pipe_reply(b->pipe, (size_t)(i - from), &why);
                check_key(b, i, key, value);
                if (!r)
                    failed++;
                else if (phase == 0 && reply_is_ok(r))
                    written++;
                else if (phase == 1 && reply_is(r, value))
                    read++;
                else if (phase == 1)
                    mismatched++;
                else
                    show_error(b, key, r->type == REDIS_REPLY_ERROR ? r->str : "SET: not OK");
                if (phase == 1 && r && !reply_is(r, value))
                    show_error(b, key, r->type == REDIS_REPLY_ERROR ? r->str : "GET: not the value written");
            }
        }
    }
    long long in_cluster = -1;
    if (rcluster_each_master(b->rc, add_dbsize, &in_cluster, err, sizeof err) != 0)
        show_error(b, "DBSIZE", err);
    printf("{\"written\":%ld,\"read\":%ld,\"mismatched\":%ld,\"failed\":%ld,\"keys_in_cluster\":%lld,",
           written, read, mismatched, failed, in_cluster);
    stats_json(b);
    printf("}\n");
    return written == n && read == n && mismatched == 0 && failed == 0 ? 0 : 1;
}

/* ---- --xadd */

static void stream_key(const struct bench *b, long shard, char *key)
{
    snprintf(key, BENCH_KEY_MAX, "%s:{%ld}", b->prefix, shard);
}

static int delete_streams(struct bench *b, long shards)
{
    char key[BENCH_KEY_MAX], err[512];
    rcluster_pipe_reset(b->pipe);
    for (long s = 0; s < shards; s++) {
        stream_key(b, s, key);
        if (append_command(b, "DEL", key, NULL) != 0)
            return -1;
    }
    if (rcluster_pipe_exec(b->pipe, err, sizeof err) != 0) {
        log_error("DEL: %s", err);
        return -1;
    }
    return 0;
}

static int run_xadd(struct bench *b, long n, long shards)
{
    if (delete_streams(b, shards) != 0)
        return 1;
    char key[BENCH_KEY_MAX], err[512], body[BENCH_XADD_VALUE_BYTES + 1];
    memset(body, 'x', BENCH_XADD_VALUE_BYTES);
    body[BENCH_XADD_VALUE_BYTES] = '\0';
    long step = (long)b->batch * (long)rcluster_master_count(b->rc), failed = 0;
    long long t0 = daemon_now_ms();
    for (long from = 0; from < n; from += step) {
        long to = from + step < n ? from + step : n;
        rcluster_pipe_reset(b->pipe);
        for (long i = from; i < to; i++) {
            stream_key(b, i % shards, key);
            const char *argv[5] = {"XADD", key, "*", "ev", body};
            size_t lens[5] = {4, strlen(key), 1, 2, BENCH_XADD_VALUE_BYTES};
            if (rcluster_pipe_append(b->pipe, rcluster_key_slot(key, lens[1]), 5, argv, lens) != 0) {
                log_error("out of memory");
                return 1;
            }
        }
        if (rcluster_pipe_exec(b->pipe, err, sizeof err) != 0)
            show_error(b, "XADD", err);
        for (long i = from; i < to; i++) {
            const redisReply *r = rcluster_pipe_reply(b->pipe, (size_t)(i - from), NULL);
            failed += !r || r->type != REDIS_REPLY_STRING;
        }
    }
    long long ms = daemon_now_ms() - t0;
    double seconds = (ms > 0 ? (double)ms : 1.0) / 1000.0;
    long long entries = 0; /* what the streams hold: XLEN, one command per stream */
    for (long sh = 0; sh < shards; sh++) {
        stream_key(b, sh, key);
        const char *argv[2] = {"XLEN", key};
        size_t lens[2] = {4, strlen(key)};
        redisReply *r = rcluster_command_argv(b->rc, rcluster_key_slot(key, lens[1]), 2, argv, lens,
                                              RCLUSTER_RESEND_SAFE, err, sizeof err);
        if (r && r->type == REDIS_REPLY_INTEGER)
            entries += r->integer;
        else
            show_error(b, "XLEN", r ? (r->str ? r->str : "not an integer") : err);
        if (r)
            freeReplyObject(r);
    }
    printf("{\"xadd_per_s\":%.0f,\"entries\":%ld,\"in_streams\":%lld,\"failed\":%ld,\"shards\":%ld,"
           "\"masters\":%zu,\"batch\":%d,"
           "\"seconds\":%.3f,",
           (double)(n - failed) / seconds, n, entries, failed, shards, rcluster_master_count(b->rc), b->batch,
           seconds);
    stats_json(b);
    printf("}\n");
    delete_streams(b, shards);
    return failed == 0 && entries == n ? 0 : 1;
}

/* ---- --loop */

struct loop_keys {
    unsigned char *state; /* enum bench_key_state per key */
    long count, cap;
    long *retry; /* keys in KEY_FAILING, oldest first */
    long nretry, retry_cap;
};

static void loop_key(const struct bench *b, long i, char *key, char *value)
{
    snprintf(key, BENCH_KEY_MAX, "%s:loop:%lld:{%ld}:%ld", b->prefix, b->nonce, i % RCLUSTER_BENCH_TAGS, i);
    snprintf(value, BENCH_VALUE_MAX, "%lld:%ld", b->nonce, i);
}

static int grow(void **p, long *cap, long need, size_t size)
{
    if (need <= *cap)
        return 0;
    if (need > BENCH_LOOP_KEYS_MAX)
        return -1;
    long c = *cap ? *cap : BENCH_BATCH;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* One SET round then one GET round over keys[0..n); marks each key's outcome. */
static int loop_round(struct bench *b, struct loop_keys *k, const long *keys, long n, bool *ok)
{
    char key[BENCH_KEY_MAX], value[BENCH_VALUE_MAX], err[512];
    for (int phase = 0; phase < 2; phase++) {
        rcluster_pipe_reset(b->pipe);
        long sent = 0;
        for (long j = 0; j < n; j++) {
            if (phase == 1 && !ok[j])
                continue;
            loop_key(b, keys[j], key, value);
            if (append_command(b, phase ? "GET" : "SET", key, phase ? NULL : value) != 0)
                return -1;
            sent++;
        }
        if (sent && rcluster_pipe_exec(b->pipe, err, sizeof err) != 0)
            show_error(b, phase ? "GET" : "SET", err);
        long at = 0;
        for (long j = 0; j < n; j++) {
            if (phase == 1 && !ok[j])
                continue;
            const redisReply *r = rcluster_pipe_reply(b->pipe, (size_t)at++, NULL);
            loop_key(b, keys[j], key, value);
            ok[j] = phase ? reply_is(r, value) : reply_is_ok(r);
        }
    }
    for (long j = 0; j < n; j++) {
        unsigned char *s = &k->state[keys[j]];
        if (ok[j]) {
            *s = *s == KEY_NEW ? KEY_OK : KEY_RECOVERED;
            continue;
        }
        if (*s != KEY_FAILING) {
            if (grow((void **)&k->retry, &k->retry_cap, k->nretry + 1, sizeof *k->retry) != 0)
                return -1;
            k->retry[k->nretry++] = keys[j];
        }
        *s = KEY_FAILING;
    }
    return 0;
}

/* Takes up to max keys to retry off the front of k->retry into keys. */
static long take_retries(struct loop_keys *k, long *keys, long max)
{
    long n = k->nretry < max ? k->nretry : max;
    if (n == 0)
        return 0;
    memcpy(keys, k->retry, (size_t)n * sizeof *keys);
    memmove(k->retry, k->retry + n, (size_t)(k->nretry - n) * sizeof *k->retry);
    k->nretry -= n;
    return n;
}

static int run_loop(struct bench *b, int seconds)
{
    struct loop_keys k = {0};
    long step = (long)b->batch * (long)rcluster_master_count(b->rc), rounds = 0;
    long *keys = malloc((size_t)step * sizeof *keys);
    bool *ok = malloc((size_t)step * sizeof *ok);
    int rc = 1;
    if (!keys || !ok)
        goto oom;
    long long end = daemon_now_ms() + (long long)seconds * 1000, drain_until = 0;
    for (;;) {
        long long now = daemon_now_ms();
        if (now >= end && !drain_until)
            drain_until = now + b->retry_ms;
        if (drain_until && (k.nretry == 0 || now >= drain_until))
            break;
        long n = take_retries(&k, keys, step);
        while (!drain_until && n < step) {
            if (grow((void **)&k.state, &k.cap, k.count + 1, sizeof *k.state) != 0)
                goto oom;
            k.state[k.count] = KEY_NEW;
            keys[n++] = k.count++;
        }
        if (loop_round(b, &k, keys, n, ok) != 0)
            goto oom;
        rounds++;
        if (drain_until && k.nretry)
            daemon_sleep_ms(100); /* only retries left: don't spin on a cluster still settling */
    }

    /* Read back every key written; a GET without a reply is tried again for a while. */
    long counts[4] = {0}, lost = 0;
    char key[BENCH_KEY_MAX], value[BENCH_VALUE_MAX], err[512];
    for (long i = 0; i < k.count; i++)
        counts[k.state[i]]++;
    for (long from = 0; from < k.count; from += step) {
        long n = 0;
        for (long i = from; i < k.count && i < from + step; i++)
            if (k.state[i] == KEY_OK || k.state[i] == KEY_RECOVERED)
                keys[n++] = i;
        long long until = daemon_now_ms() + b->retry_ms;
        while (n > 0) {
            rcluster_pipe_reset(b->pipe);
            for (long j = 0; j < n; j++) {
                loop_key(b, keys[j], key, value);
                if (append_command(b, "GET", key, NULL) != 0)
                    goto oom;
            }
            if (rcluster_pipe_exec(b->pipe, err, sizeof err) != 0)
                show_error(b, "GET (final)", err);
            long again = 0;
            for (long j = 0; j < n; j++) {
                const redisReply *r = rcluster_pipe_reply(b->pipe, (size_t)j, NULL);
                loop_key(b, keys[j], key, value);
                if (!r)
                    keys[again++] = keys[j];
                else if (!reply_is(r, value)) {
                    lost++;
                    show_error(b, key, "written, but not read back at the end");
                }
            }
            n = again;
            if (n && daemon_now_ms() > until) {
                lost += n;
                show_error(b, "GET (final)", "no reply within --retry-ms: counted as lost");
                break;
            }
        }
    }
    printf("{\"keys\":%ld,\"ok\":%ld,\"recovered\":%ld,\"unwritten\":%ld,\"lost\":%ld,\"rounds\":%ld,"
           "\"prefix\":\"%s:loop:%lld:\",",
           k.count, counts[KEY_OK], counts[KEY_RECOVERED], counts[KEY_FAILING] + counts[KEY_NEW], lost,
           rounds, b->prefix, b->nonce);
    stats_json(b);
    printf("}\n");
    rc = counts[KEY_FAILING] + counts[KEY_NEW] == 0 && lost == 0 ? 0 : 1;
    goto out;
oom:
    log_error("out of memory (or more than %d keys)", BENCH_LOOP_KEYS_MAX);
out:
    free(keys);
    free(ok);
    free(k.state);
    free(k.retry);
    return rc;
}

/* ---- main */

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "cluster_bench: %s must be a number %ld..%ld\n", opt, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *prefix = "kinerja:bench", *pause_file = NULL, *level_name = "info";
    long check = -1, xadd = -1, loop = -1, shards = BENCH_SHARDS, batch = BENCH_BATCH;
    long timeout_ms = BENCH_TIMEOUT_MS, retry_ms = BENCH_RETRY_MS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--url") && v)
            url = v, i++;
        else if (!strcmp(a, "--prefix") && v)
            prefix = v, i++;
        else if (!strcmp(a, "--pause-after-write") && v)
            pause_file = v, i++;
        else if (!strcmp(a, "--log-level") && v)
            level_name = v, i++;
        else if (!strcmp(a, "--check"))
            bad = parse_long(a, v, 1, 100000000, &check), i++;
        else if (!strcmp(a, "--xadd"))
            bad = parse_long(a, v, 1, 1000000000, &xadd), i++;
        else if (!strcmp(a, "--loop"))
            bad = parse_long(a, v, 1, 86400, &loop), i++;
        else if (!strcmp(a, "--shards"))
            bad = parse_long(a, v, 1, 16384, &shards), i++;
        else if (!strcmp(a, "--batch"))
            bad = parse_long(a, v, 1, 100000, &batch), i++;
        else if (!strcmp(a, "--timeout-ms"))
            bad = parse_long(a, v, 1, 600000, &timeout_ms), i++;
        else if (!strcmp(a, "--retry-ms"))
            bad = parse_long(a, v, 0, 600000, &retry_ms), i++;
        else {
            fprintf(stderr, "cluster_bench: unknown or incomplete option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (bad)
            return 2;
    }
    enum log_level level;
    if (log_level_parse(level_name, &level) != 0) {
        fprintf(stderr, "cluster_bench: --log-level must be debug, info, warn or error\n");
        return 2;
    }
    if (!url || (check > 0) + (xadd > 0) + (loop > 0) != 1) {
        fprintf(stderr, "cluster_bench: give --url and one of --check, --xadd, --loop\n");
        usage(stderr);
        return 2;
    }
    log_init("cluster_bench", level, false);
    signal(SIGPIPE, SIG_IGN); /* a write to a killed master must fail, not kill us */

    char err[1024];
    struct bench b = {.prefix = prefix, .batch = (int)batch, .retry_ms = (int)retry_ms};
    b.nonce = daemon_wall_ms() * 1000 + getpid() % 1000;
    b.rc = rcluster_connect(url, (int)timeout_ms, err, sizeof err);
    if (!b.rc) {
        fprintf(stderr, "cluster_bench: %s\n", err);
        return 1;
    }
    rcluster_set_retry_ms(b.rc, (int)retry_ms);
    b.pipe = rcluster_pipe_new(b.rc);
    int rc = 1;
    if (!b.pipe)
        fprintf(stderr, "cluster_bench: out of memory\n");
    else if (check > 0)
        rc = run_check(&b, check, pause_file);
    else if (xadd > 0)
        rc = run_xadd(&b, xadd, shards);
    else
        rc = run_loop(&b, (int)loop);
    fflush(stdout);
    rcluster_pipe_destroy(&b.pipe);
    rcluster_destroy(&b.rc);
    return rc;
}
