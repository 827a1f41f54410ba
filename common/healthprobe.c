/*
 * healthprobe: see healthprobe.h. One thread; it sleeps on a condition variable so
 * healthprobe_stop wakes it at once.
 */
#include "healthprobe.h"

#include "log.h"
#include "rstream.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEALTHPROBE_ERR_MAX 200

struct healthprobe {
    struct metrics *m;
    char *redis_url, *pg_dsn;
    int interval_ms, timeout_ms;
    bool redis_cluster;
    struct rlink redis;
    PGconn *pg;
    bool redis_bad, pg_bad; /* the last state logged */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first line of a libpq message, without its trailing newline. */
static void pg_reason(const char *msg, char *out, size_t outlen)
{
    snprintf(out, outlen, "postgres: %s", msg && *msg ? msg : "no answer");
    out[strcspn(out, "\n")] = '\0';
}

static void report(struct healthprobe *p, const char *dep, bool *was_bad, const char *why)
{
    metrics_health_dep(p->m, dep, why);
    if (why && !*was_bad)
        log_warn("health: %s (from the health probe; /healthz answers 503)", why);
    else if (!why && *was_bad)
        log_info("health: %s answers again", dep);
    *was_bad = why != NULL;
}

/* One PING on the probe's connection, connecting first if it has none; false with the
 * reason in why. */
struct ping_ctx {
    char *why;
    size_t whylen;
};

/* PING one server (or one master of a cluster); non-zero with the reason when it fails. */
static int ping_one(redisContext *c, const char *addr, void *arg)
{
    struct ping_ctx *pc = arg;
    redisReply *r = redisCommand(c, "PING");
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        snprintf(pc->why, pc->whylen, "redis %s: %s", addr,
                 r              ? r->str
                 : c->errstr[0] ? c->errstr
                                : "no answer");
    if (r)
        freeReplyObject(r);
    return ok ? 0 : 1;
}

/* One PING on the probe's connection (a cluster: on every master), connecting first
 * if it has none; false with the reason in why. */
static bool redis_ping(struct healthprobe *p, char *why, size_t whylen)
{
    char err[HEALTHPROBE_ERR_MAX - 16];
    if (!rlink_up(&p->redis) &&
        rlink_connect(&p->redis, p->redis_url, p->redis_cluster, p->timeout_ms, err, sizeof err) < 0) {
        snprintf(why, whylen, "redis: %s", err);
        return false;
    }
    struct ping_ctx pc = {why, whylen};
    int rc = rlink_each_master(&p->redis, ping_one, &pc, err, sizeof err);
    if (rc < 0)
        snprintf(why, whylen, "redis: %s", err);
    if (rc != 0)
        rlink_close(&p->redis);
    return rc == 0;
}

static void probe_redis(struct healthprobe *p)
{
    char why[HEALTHPROBE_ERR_MAX] = "";
    bool had = rlink_up(&p->redis);
    /* a connection that broke is tried once afresh, so the reason is today's
     * ("Connection refused"), not how the old connection ended */
    bool ok = redis_ping(p, why, sizeof why) || (had && redis_ping(p, why, sizeof why));
    report(p, "redis", &p->redis_bad, ok ? NULL : why);
}

/* Waits for the socket to be ready for ev until deadline; false on timeout or error. */
static bool pg_wait(PGconn *c, short ev, long long deadline)
{
    int fd = PQsocket(c);
    if (fd < 0)
        return false;
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = fd, .events = ev};
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* Connects without blocking past the deadline (a stopped server must not hang us). */
static PGconn *pg_connect(struct healthprobe *p, long long deadline, char *why, size_t whylen)
{
    PGconn *c = PQconnectStart(p->pg_dsn);
    if (!c) {
        snprintf(why, whylen, "postgres: out of memory");
        return NULL;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        if (!pg_wait(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
            snprintf(why, whylen, "postgres: no answer within %d ms", p->timeout_ms);
            PQfinish(c);
            return NULL;
        }
        st = PQconnectPoll(c);
    }
    if (PQstatus(c) != CONNECTION_OK) {
        pg_reason(PQerrorMessage(c), why, whylen);
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void probe_pg(struct healthprobe *p)
{
    char why[HEALTHPROBE_ERR_MAX] = "";
    long long deadline = mono_ms() + p->timeout_ms;
    if (!p->pg)
        p->pg = pg_connect(p, deadline, why, sizeof why);
    if (p->pg) {
        bool ok = PQsendQuery(p->pg, "SELECT 1") == 1;
        while (ok && PQisBusy(p->pg)) {
            ok = pg_wait(p->pg, POLLIN, deadline) && PQconsumeInput(p->pg) == 1;
            if (!ok && mono_ms() >= deadline)
                snprintf(why, sizeof why, "postgres: no answer within %d ms", p->timeout_ms);
        }
        PGresult *r;
        while (ok && (r = PQgetResult(p->pg)) != NULL) {
            ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            if (!ok)
                pg_reason(PQresultErrorMessage(r), why, sizeof why);
            PQclear(r);
        }
        if (!ok) {
            if (!why[0])
                pg_reason(PQerrorMessage(p->pg), why, sizeof why);
            PQfinish(p->pg); /* a fresh connection next time */
            p->pg = NULL;
        }
    }
    report(p, "postgres", &p->pg_bad, why[0] ? why : NULL);
}

static void *probe_main(void *arg)
{
    struct healthprobe *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        pthread_mutex_unlock(&p->lock);
        if (p->redis_url)
            probe_redis(p);
        if (p->pg_dsn)
            probe_pg(p);
        pthread_mutex_lock(&p->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = until.tv_nsec + (long long)p->interval_ms * 1000000LL;
        until.tv_sec += ns / 1000000000LL;
        until.tv_nsec = ns % 1000000000LL;
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int healthprobe_start(struct metrics *m, const struct healthprobe_opts *o, struct healthprobe **out)
{
    *out = NULL;
    struct healthprobe *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->m = m;
    p->interval_ms = o->interval_ms > 0 ? o->interval_ms : HEALTHPROBE_INTERVAL_MS;
    p->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : HEALTHPROBE_TIMEOUT_MS;
    p->redis_url = o->redis_url ? strdup(o->redis_url) : NULL;
    p->redis_cluster = o->redis_cluster;
    p->pg_dsn = o->pg_dsn ? strdup(o->pg_dsn) : NULL;
    if ((o->redis_url && !p->redis_url) || (o->pg_dsn && !p->pg_dsn) ||
        pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->redis_url);
        free(p->pg_dsn);
        free(p);
        return -1;
    }
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, probe_main, p) != 0) {
        log_warn("health: cannot start the health probe thread; /healthz follows traffic only");
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p->redis_url);
        free(p->pg_dsn);
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

void healthprobe_stop(struct healthprobe **pp)
{
    if (!pp || !*pp)
        return;
    struct healthprobe *p = *pp;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    rlink_close(&p->redis);
    if (p->pg)
        PQfinish(p->pg);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->redis_url);
    free(p->pg_dsn);
    free(p);
    *pp = NULL;
}
