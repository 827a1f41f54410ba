/*
 * pgsession: see pgsession.h. The connect loop and the NOTIFY wait that notify and
 * score used to carry each in their own copy.
 */
#include "pgsession.h"

#include "daemon.h"
#include "log.h"

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
}

void pgsession_down(struct pgsession *s, const char *why)
{
    if (s->is_up || !s->logged_down)
        log_error("postgres %s: %s", s->is_up ? "lost" : "unavailable", why && *why ? why : "unknown error");
    s->is_up = false;
    s->logged_down = true;
    s->listening = false;
    if (s->up)
        metric_set(s->up, 0);
    if (s->health)
        metrics_health_set(s->health, "postgres: unreachable");
}

/* LISTEN once per connection; a failure is a lost connection. */
static bool session_listen(struct pgsession *s)
{
    if (!s->channel[0] || s->listening)
        return true;
    char sql[PGSESSION_CHANNEL_MAX + 8];
    snprintf(sql, sizeof sql, "LISTEN %s", s->channel); /* a fixed identifier of the role */
    PGresult *r = PQexec(s->db->conn, sql);
    s->listening = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!s->listening)
        pgstore_fail(s->db, r, "LISTEN");
    PQclear(r);
    return s->listening;
}

int pgsession_ready(struct pgsession *s)
{
    long long backoff = PGSESSION_BACKOFF_MIN_MS;
    while (!daemon_stopping) {
        if (!s->db)
            s->db = pgstore_connect(s->dsn);
        else if (!pgstore_ok(s->db))
            pgstore_reconnect(s->db);
        if (s->db && !s->db->err && pgstore_ok(s->db) && session_listen(s)) {
            if (!s->is_up)
                log_info("postgres %s", s->logged_down ? "regained" : "connected");
            s->is_up = true;
            s->logged_down = false;
            if (s->up)
                metric_set(s->up, 1);
            if (s->health)
                metrics_health_set(s->health, NULL);
            return 0;
        }
        pgsession_down(s, s->db ? s->db->errstr : "out of memory");
        daemon_sleep_ms(backoff);
        backoff = backoff * 2 > PGSESSION_BACKOFF_MAX_MS ? PGSESSION_BACKOFF_MAX_MS : backoff * 2;
    }
    return -1;
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

void pgsession_close(struct pgsession *s)
{
    pgstore_destroy(&s->db);
    s->is_up = s->listening = false;
}
