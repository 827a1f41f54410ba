/*
 * pgsession: a daemon's long-lived PostgreSQL session, the one piece every worker role
 * needs around its pgstore connection (pgstore.h): connect and reconnect with backoff
 * until the server answers or SIGTERM, say a loss and a regain once each (not every
 * retry), keep the role's `*_postgres_up` gauge and /healthz reason, LISTEN on the
 * role's channel after every (re)connect, and wait for a NOTIFY with a timeout.
 *
 * Used by workers/notify.c and workers/scorer.c (NOTIFY-driven). The ingest worker's
 * batches and the scheduler's two fenced connections keep their own (they need a
 * deadline on every statement); they share daemon_sleep_ms.
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

struct pgsession {
    struct pgstore *db;                  /* NULL until the first connect; reconnected in place */
    const char *dsn;                     /* not copied: the daemon's config outlives the session */
    char channel[PGSESSION_CHANNEL_MAX]; /* LISTEN channel ("" = none) */
    struct metrics *health;              /* may be NULL: /healthz not touched */
    struct metric *up;                   /* may be NULL: the role's postgres_up gauge */
    bool is_up, logged_down, listening;
};

/* channel: an identifier ([a-z_]+) or NULL. */
void pgsession_init(struct pgsession *s, const char *dsn, const char *channel, struct metrics *health,
                    struct metric *up);

/* Returns 0 with a usable s->db (and LISTEN done), or -1 when the daemon is stopping. */
int pgsession_ready(struct pgsession *s);

/* The connection was lost or refused (why: libpq's message): logged once per spell,
 * the gauge 0, /healthz "postgres: unreachable". pgsession_ready reconnects. */
void pgsession_down(struct pgsession *s, const char *why);

/* Waits up to timeout_ms for a NOTIFY on the channel (drained). Returns 1 when one
 * came, 0 on timeout, -1 when the connection broke (then call pgsession_down). */
int pgsession_wait(struct pgsession *s, long timeout_ms);

void pgsession_close(struct pgsession *s);

#endif
