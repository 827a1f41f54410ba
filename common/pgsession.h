/*
 * pgsession: a daemon's long-lived PostgreSQL session, the one piece every worker role
 * needs around its pgstore connection (pgstore.h): connect and reconnect with backoff
 * until the server answers or SIGTERM, say a loss and a regain once each (not every
 * retry), keep the role's `*_postgres_up` gauge and /healthz reason, run the role's
 * session settings and LISTEN on its channel after every (re)connect, wait for a NOTIFY
 * with a timeout, run one query with a deadline, and pause before retrying a statement
 * the server refused for now.
 *
 * Used by every worker role: notify and score (NOTIFY-driven, pgsession_ready and
 * pgsession_wait), ingest (pgsession_retry around each batch, with a hook that keeps its
 * claimed Redis entries alive while it waits and a cap on the nap), schedule (two
 * sessions with keepalives, one attempt a tick with pgsession_try, fenced queries with
 * pgsession_query_deadline, the role saying when it is fine with pgsession_fine).
 *
 * Usage:
 *     struct pgsession pg;
 *     pgsession_init(&pg, dsn, "kinerja_score", metrics, m_pg_up);
 *     while (pgsession_ready(&pg) == 0) {      // -1 once SIGTERM arrived
 *         ... work with pg.db ...; on a lost connection: pgsession_down(&pg, pg.db->errstr);
 *         pgsession_wait(&pg, 1000);         // until a NOTIFY or 1 s
 *     }
 *     pgsession_close(&pg);
 */
#ifndef KINERJA_PGSESSION_H
#define KINERJA_PGSESSION_H

#include "metrics.h"
#include "pgstore.h"

#include <stdbool.h>

#define PGSESSION_BACKOFF_MIN_MS 100
#define PGSESSION_BACKOFF_MAX_MS 5000
#define PGSESSION_CHANNEL_MAX 64
#define PGSESSION_ERR_MAX 512

struct pgsession {
    struct pgstore *db;                  /* NULL until the first connect (or after pgsession_drop) */
    const char *dsn;                     /* not copied: the daemon's config outlives the session */
    char channel[PGSESSION_CHANNEL_MAX]; /* LISTEN channel ("" = none) */
    struct metrics *health;              /* may be NULL: /healthz not touched */
    struct metric *up;                   /* may be NULL: the role's postgres_up gauge */
    bool is_up, logged_down, listening, set_up;
    char err[PGSESSION_ERR_MAX]; /* why it is down (one line), or the last refusal; "" when fine */
    long retry_ms;               /* pgsession_retry's pause on a usable connection */

    /* Options, set after pgsession_init (all off by default): */
    const char *app;           /* fallback_application_name (NULL: "kinerja") */
    bool keepalives;           /* client TCP keepalives (pgstore_connect_as) */
    const char *setup;         /* SQL run after every (re)connect (fixed text, e.g. SET statement_timeout) */
    bool up_by_role;           /* a connect alone is not "up": the role says so with pgsession_fine */
    bool quiet;                /* no loss / regain lines: the role reports this session through another */
    long nap_max_ms;           /* cap on one backoff nap (0: PGSESSION_BACKOFF_MAX_MS) */
    void (*on_nap)(void *arg); /* before each nap while waiting for PostgreSQL */
    void (*on_change)(void *arg); /* after is_up or err changed (a role composing its own /healthz) */
    void *arg;
};

/* channel: an identifier ([a-z_]+) or NULL. */
void pgsession_init(struct pgsession *s, const char *dsn, const char *channel, struct metrics *health,
                    struct metric *up);

/* One attempt, no waiting: (re)connects when needed, runs setup and LISTEN. 0 with a
 * usable s->db, -1 (down, logged once per spell) otherwise. */
int pgsession_try(struct pgsession *s);

/* Returns 0 with a usable s->db (and LISTEN done), or -1 when the daemon is stopping.
 * Between attempts: on_nap, then a nap of 100 ms doubling to 5 s (at most nap_max_ms). */
int pgsession_ready(struct pgsession *s);

/* The connection was lost or refused (why: libpq's message, or what the role found
 * wrong): logged once per spell, the gauge 0, /healthz "postgres: <why>".
 * pgsession_ready reconnects. */
void pgsession_down(struct pgsession *s, const char *why);

/* The server is usable again for what the role needs: "regained" once after a spell
 * down, the gauge 1, /healthz fine; resets pgsession_retry's pause. */
void pgsession_fine(struct pgsession *s);

/* After a statement failed on s->db with a transient error (db->transient): waits until
 * PostgreSQL takes commands again. A lost connection: down, then pgsession_ready. A
 * usable one (serialization failure, disk full ...): one warning per spell, on_nap, a
 * pause growing from 100 ms to 5 s (at most nap_max_ms) until pgsession_fine. Returns 0
 * to try again, -1 when the daemon is stopping. */
int pgsession_retry(struct pgsession *s);

/* Waits up to timeout_ms for a NOTIFY on the channel (drained). Returns 1 when one
 * came, 0 on timeout, -1 when the connection broke (then call pgsession_down). */
int pgsession_wait(struct pgsession *s, long timeout_ms);

/* One parameterized query that must answer within timeout_ms: the result (an error
 * result included; the caller clears it), or NULL with s->db->errstr set when the
 * server did not answer in time or the connection broke (then pgsession_drop: the
 * connection may still be busy). Needs a connected s->db. */
PGresult *pgsession_query_deadline(struct pgsession *s, const char *sql, int nparams,
                                   const char *const *params, int timeout_ms);

/* Ends the server session (a session lock is freed, an open transaction rolled back);
 * the next pgsession_try opens a new one. The up / down state is kept. */
void pgsession_drop(struct pgsession *s);

void pgsession_close(struct pgsession *s);

#endif
