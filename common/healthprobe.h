/*
 * healthprobe: a thread that asks the daemon's dependencies whether they answer, every
 * interval, whether or not traffic flows, and tells metrics (metrics_health_dep) so
 * /healthz turns 503 within about one interval of losing Redis or PostgreSQL and 200
 * within about one interval of its return (SPEC 2, issue 16). Without it a daemon
 * learns of a dead dependency only when it next uses it.
 *
 * Redis: one connection of its own (rstream_connect: AUTH and SELECT from the URL), a
 * PING each interval, reconnected after a failure. PostgreSQL: one connection of its
 * own (the daemon's DSN, so authentication is checked too), `SELECT 1` each interval
 * with a deadline, reconnected after a failure. Neither ever logs the DSN or the URL's
 * password; a change of state is logged once ("health: postgres: ..." / "... answers
 * again").
 *
 * Usage (every daemon's main):
 *     struct healthprobe *hp = NULL;
 *     healthprobe_start(m, &(struct healthprobe_opts){.redis_url = url, .pg_dsn = dsn}, &hp);
 *     ...
 *     healthprobe_stop(&hp);
 */
#ifndef KINERJA_HEALTHPROBE_H
#define KINERJA_HEALTHPROBE_H

#include "metrics.h"

#include <stdbool.h>

#define HEALTHPROBE_INTERVAL_MS 1000
#define HEALTHPROBE_TIMEOUT_MS 2000

struct healthprobe_opts {
    const char *redis_url; /* NULL: Redis not probed */
    bool redis_cluster;    /* redis.cluster: every master is pinged */
    const char *pg_dsn;    /* NULL: PostgreSQL not probed */
    int interval_ms;       /* 0: HEALTHPROBE_INTERVAL_MS */
    int timeout_ms;        /* per probe; 0: HEALTHPROBE_TIMEOUT_MS */
};

struct healthprobe;

/* Starts the thread (the strings are copied). Returns 0, or -1 (no thread: out of
 * memory or pthread_create failed; the daemon runs on without the probe). */
int healthprobe_start(struct metrics *m, const struct healthprobe_opts *o, struct healthprobe **out);

/* Stops and joins the thread (within one probe's timeout); NULL-safe. */
void healthprobe_stop(struct healthprobe **p);

#endif
