/*
 * pgsession: see pgsession.h. The connect loop, the loss / regain lines, the NOTIFY
 * wait, the pause before a retry and the query with a deadline that the worker roles
 * (notify, score, ingest, schedule) used to carry each in their own copy.
 */
#include "pgsession.h"

#include "daemon.h"
#include "log.h"
#include "pgstore_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

void pgsession_init(struct pgsession *s, const char *dsn, const char *channel, struct metrics *health,
                    struct metric *up)
{
    memset(s, 0, sizeof *s);
    s->dsn = dsn;
    snprintf(s->channel, sizeof s->channel, "%s", channel ? channel : "");
    s->health = health;
    s->up = up;
    s->retry_ms = PGSESSION_BACKOFF_MIN_MS;
    snprintf(s->err, sizeof s->err, "not connected yet");
}

/* libpq's messages end with a newline and may span lines; a log line should not. */
static void set_err(struct pgsession *s, const char *why)
{
    snprintf(s->err, sizeof s->err, "%s", why && *why ? why : "unknown error");
    size_t n = strlen(s->err);
    while (n > 0 && (s->err[n - 1] == '\n' || s->err[n - 1] == '\r' || s->err[n - 1] == ' '))
        s->err[--n] = '\0';
    for (char *p = s->err; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

static long backoff_next(long ms)
{
    ms *= 2;
    return ms > PGSESSION_BACKOFF_MAX_MS ? PGSESSION_BACKOFF_MAX_MS : ms;
}

/* A nap while waiting for PostgreSQL: the role's hook first, at most nap_max_ms. */
static void nap(struct pgsession *s, long ms)
{
    if (s->on_nap)
        s->on_nap(s->arg);
    long cap = s->nap_max_ms > 0 ? s->nap_max_ms : PGSESSION_BACKOFF_MAX_MS;
    daemon_sleep_ms(ms < cap ? ms : cap);
}

void pgsession_down(struct pgsession *s, const char *why)
{
    set_err(s, why);
    if (s->quiet)
        ; /* the role says it */
    else if (s->is_up || !s->logged_down)
        log_error("postgres %s: %s", s->is_up ? "lost" : "unavailable", s->err);
    else
        log_debug("postgres still unavailable: %s", s->err);
    s->is_up = false;
    s->logged_down = true;
    s->listening = false;
    if (s->up)
        metric_set(s->up, 0);
    if (s->health) {
        char reason[METRICS_REASON_MAX];
        snprintf(reason, sizeof reason, "postgres: %.230s", s->err);
        metrics_health_set(s->health, reason);
    }
    if (s->on_change)
        s->on_change(s->arg);
}

void pgsession_fine(struct pgsession *s)
{
    s->retry_ms = PGSESSION_BACKOFF_MIN_MS;
    bool changed = !s->is_up;
    if (changed && !s->quiet)
        log_info("postgres %s", s->logged_down ? "regained" : "connected");
    s->is_up = true;
    s->logged_down = false;
    s->err[0] = '\0';
    if (s->up)
        metric_set(s->up, 1);
    if (s->health)
        metrics_health_set(s->health, NULL);
    if (changed && s->on_change)
        s->on_change(s->arg);
}

/* The role's settings and LISTEN, once per connection; a failure is a lost connection. */
static bool session_setup(struct pgsession *s)
{
    if (s->setup && !s->set_up) {
        s->set_up = pgstore_exec(s->db, s->setup, "session settings") == 0;
        if (!s->set_up)
            return false;
    }
    if (!s->channel[0] || s->listening)
        return true;
    char sql[PGSESSION_CHANNEL_MAX + 8];
    snprintf(sql, sizeof sql, "LISTEN %s", s->channel); /* a fixed identifier of the role */
    s->listening = pgstore_exec(s->db, sql, "LISTEN") == 0;
    return s->listening;
}

int pgsession_try(struct pgsession *s)
{
    if (!s->db || !pgstore_ok(s->db)) {
        if (!s->db)
            s->db = pgstore_connect_as(s->dsn, s->app, s->keepalives);
        else
            pgstore_reconnect(s->db);
        s->set_up = s->listening = false;
    }
    if (!s->db) {
        pgsession_down(s, "out of memory");
        return -1;
    }
    if (!pgstore_ok(s->db) || !session_setup(s)) {
        pgsession_down(s, s->db->errstr);
        return -1;
    }
    if (!s->up_by_role)
        pgsession_fine(s);
    return 0;
}

int pgsession_ready(struct pgsession *s)
{
    long backoff = PGSESSION_BACKOFF_MIN_MS;
    while (!daemon_stopping) {
        if (pgsession_try(s) == 0)
            return 0;
        nap(s, backoff);
        backoff = backoff_next(backoff);
    }
    return -1;
}

int pgsession_retry(struct pgsession *s)
{
    if (!pgstore_ok(s->db)) {
        pgsession_down(s, s->db ? s->db->errstr : "not connected");
        return pgsession_ready(s);
    }
    /* connected, yet refused for now (serialization failure, disk full ...): the pause
     * grows until something succeeds again */
    set_err(s, s->db->errstr[0] ? s->db->errstr : "transient error");
    if (s->retry_ms <= PGSESSION_BACKOFF_MIN_MS)
        log_warn("postgres: %s; trying again", s->err);
    else
        log_debug("postgres: %s; trying again", s->err);
    nap(s, s->retry_ms);
    s->retry_ms = backoff_next(s->retry_ms);
    return daemon_stopping ? -1 : 0;
}

int pgsession_wait(struct pgsession *s, long timeout_ms)
{
    if (!s->db || !s->db->conn) {
        daemon_sleep_ms(timeout_ms);
        return 0;
    }
    PGconn *c = s->db->conn;
    int got = 0;
    PGnotify *note;
    while ((note = PQnotifies(c))) { /* one that came with an earlier result */
        PQfreemem(note);
        got = 1;
    }
    if (got)
        return 1;
    int fd = PQsocket(c);
    if (fd < 0) {
        daemon_sleep_ms(timeout_ms);
        return -1;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, (int)timeout_ms) > 0 && !PQconsumeInput(c))
        return -1;
    while ((note = PQnotifies(c))) {
        PQfreemem(note);
        got = 1;
    }
    return got;
}

/* The query's failure in db->errstr (why: one line), transient: the caller drops the
 * connection and tries again later. */
static PGresult *deadline_fail(struct pgsession *s, const char *why)
{
    snprintf(s->db->errstr, sizeof s->db->errstr, "%s", why);
    s->db->err = -1;
    s->db->transient = true;
    return NULL;
}

PGresult *pgsession_query_deadline(struct pgsession *s, const char *sql, int nparams,
                                   const char *const *params, int timeout_ms)
{
    if (!s->db)
        return NULL;
    if (pgstore_require_conn(s->db) < 0)
        return NULL;
    PGconn *c = s->db->conn;
    if (!PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0)) {
        pgstore_fail(s->db, NULL, "send");
        return NULL;
    }
    long long deadline = daemon_now_ms() + timeout_ms;
    while (PQisBusy(c)) {
        long long left = deadline - daemon_now_ms();
        if (left <= 0) {
            char why[48];
            snprintf(why, sizeof why, "no answer within %d ms", timeout_ms);
            return deadline_fail(s, why);
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        if (pfd.fd < 0)
            return deadline_fail(s, "connection closed");
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno != EINTR) {
            char why[96];
            snprintf(why, sizeof why, "poll: %s", strerror(errno));
            return deadline_fail(s, why);
        }
        if (rc > 0 && !PQconsumeInput(c)) {
            pgstore_fail(s->db, NULL, "receive");
            return NULL;
        }
    }
    PGresult *r = PQgetResult(c), *extra;
    while ((extra = PQgetResult(c)))
        PQclear(extra);
    if (!r || PQstatus(c) != CONNECTION_OK) {
        pgstore_fail(s->db, r, "query");
        PQclear(r);
        return NULL;
    }
    return r;
}

void pgsession_drop(struct pgsession *s)
{
    pgstore_destroy(&s->db);
    s->listening = s->set_up = false;
}

void pgsession_close(struct pgsession *s)
{
    pgsession_drop(s);
    s->is_up = false;
}
