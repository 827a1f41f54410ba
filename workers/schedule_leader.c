/*
 * schedule_leader: who runs the jobs. A PostgreSQL session advisory lock held on a
 * connection of its own (workers/schedule.h explains the whole scheme); the leader
 * checks it every tick through a fence, a standby tries to take it.
 */
#include "daemon.h"
#include "log.h"
#include "schedule_int.h"

#include <stdio.h>
#include <string.h>

/* ---- leadership ---------------------------------------------------------------------- */

void sched_step_down(struct scheduler *s, const char *why)
{
    if (s->leader) {
        log_info("standby: stepping down: %s", why);
        metric_inc(s->m_changes);
    }
    s->leader = false;
    s->leader_ready = false;
    s->standby_logged = false;
    metric_set(s->m_leader, 0);
    pgsession_drop(&s->work); /* whatever a job was doing is rolled back */
    sched_redis_drop(s);
}

static void become_leader(struct scheduler *s)
{
    s->leader = true;
    s->leader_ready = false;
    s->recalc_primed = false;
    s->next_reminders_ms = 0;
    s->next_housekeeping_ms = 0;
    s->next_partitions_ms = 0;
    metric_set(s->m_leader, 1);
    metric_inc(s->m_changes);
    log_info("leader: %s holds the schedule lock (lock backend %s); running the scheduled jobs every %ld ms",
             s->identity, s->lock_pid, s->cfg.tick_ms);
}

/* The lock session failed (why): said once a spell, and ended, so the server frees the
 * lock (when it still hears us) and the next tick opens a new session. */
static void lock_failed(struct scheduler *s, const char *why)
{
    char err[SCHEDULE_ERR_MAX];
    snprintf(err, sizeof err, "%s", why); /* why may live in the session */
    pgsession_drop(&s->lock);
    sched_pg_problem(s, err);
}

/* Opens the lock connection and, the first time, checks time.zone. -1: not now;
 * -2: time.zone is unknown (fatal). */
static int lock_connect(struct scheduler *s)
{
    char err[SCHEDULE_ERR_MAX];
    if (pgsession_try(&s->lock) < 0) {
        pgsession_drop(&s->lock); /* a new session next tick: settings and all */
        return -1;
    }
    snprintf(s->lock_pid, sizeof s->lock_pid, "%d", PQbackendPID(s->lock.db->conn));
    /* Every tick uses this session; one silent for many ticks belongs to a scheduler
     * that hangs or was stopped (SIGSTOP, a frozen VM): the server ends the session and
     * so frees the lock for another. PostgreSQL 14+; older servers go without. */
    char idle[32];
    snprintf(idle, sizeof idle, "%ld", s->cfg.tick_ms * SCHEDULE_LOCK_IDLE_TICKS);
    const char *ip[1] = {idle};
    PGresult *ir = pgsession_query_deadline(&s->lock, "SELECT set_config('idle_session_timeout', $1, false)",
                                            1, ip, SCHEDULE_CHECK_TIMEOUT_MS);
    if (!ir) {
        lock_failed(s, s->lock.db->errstr);
        return -1;
    }
    if (PQresultStatus(ir) != PGRES_TUPLES_OK && !s->idle_warned) {
        s->idle_warned = true;
        log_warn(
            "postgres: no idle_session_timeout (before PostgreSQL 14): a hung leader keeps the schedule lock "
            "until its connection closes");
    }
    PQclear(ir);
    if (!s->tz_checked) {
        const char *p[1] = {s->cfg.time_zone};
        PGresult *r = pgsession_query_deadline(&s->lock, "SELECT now() AT TIME ZONE $1", 1, p,
                                               SCHEDULE_CHECK_TIMEOUT_MS);
        if (!r)
            snprintf(err, sizeof err, "%s", s->lock.db->errstr);
        if (r && sched_sqlstate_is(r, SCHEDULE_SQLSTATE_BAD_VALUE)) {
            sched_pg_error(&s->lock, r, "time.zone", err, sizeof err);
            log_error("%s", err);
            PQclear(r);
            return -2;
        }
        bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
        if (r && !ok)
            sched_pg_error(&s->lock, r, "time.zone check", err, sizeof err);
        PQclear(r);
        if (!ok) {
            lock_failed(s, err);
            return -1;
        }
        s->tz_checked = true;
    }
    return 0;
}

/* Says once per standby spell who the leader is (as schedule_leader records it). */
static void log_standby(struct scheduler *s)
{
    if (s->standby_logged)
        return;
    s->standby_logged = true;
    PGresult *r = pgsession_query_deadline(
        &s->lock, "SELECT holder, to_char(since, 'YYYY-MM-DD\"T\"HH24:MI:SSOF') FROM schedule_leader", 0,
        NULL, SCHEDULE_CHECK_TIMEOUT_MS);
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        log_info("standby: another scheduler holds the schedule lock (last recorded leader: %s since %s); "
                 "trying every %ld ms",
                 PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), s->cfg.tick_ms);
    else
        log_info("standby: another scheduler holds the schedule lock; trying every %ld ms", s->cfg.tick_ms);
    PQclear(r);
    if (!r)
        pgsession_drop(&s->lock);
}

/*
 * The leadership step of a tick: connect if needed; as leader, check (with a deadline)
 * that the lock connection still holds the lock; as standby, try to take it.
 * Returns 0, or -2 on a fatal configuration error.
 */
int sched_leadership_tick(struct scheduler *s)
{
    if (!pgstore_ok(s->lock.db)) {
        pgsession_drop(&s->lock);
        if (s->leader)
            sched_step_down(s, "the lock connection is gone");
        int rc = lock_connect(s);
        if (rc < 0)
            return rc == -2 ? -2 : 0;
    }
    char err[SCHEDULE_ERR_MAX];
    PGresult *r;
    if (s->leader) {
        r = pgsession_query_deadline(&s->lock, "SELECT kinerja_schedule_fence(pg_backend_pid())", 0, NULL,
                                     SCHEDULE_CHECK_TIMEOUT_MS);
        if (!r) {
            /* Closing the socket ends the session, so the server frees the lock for the
             * next leader (when it can still hear us at all). */
            snprintf(err, sizeof err, "%s", s->lock.db->errstr);
            pgsession_drop(&s->lock);
            char why[SCHEDULE_ERR_MAX + 64];
            snprintf(why, sizeof why, "lost the lock connection (%s)", err);
            sched_step_down(s, why);
            sched_pg_problem(s, err);
            return 0;
        }
        if (sched_sqlstate_is(r, SCHEDULE_SQLSTATE_NOT_LEADER)) {
            PQclear(r);
            sched_step_down(s, "the schedule lock is no longer held by this session");
            return 0;
        }
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            sched_pg_error(&s->lock, r, "leadership check", err, sizeof err);
        PQclear(r);
        if (!ok) {
            sched_step_down(s, err);
            lock_failed(s, err);
            return 0;
        }
        return 0;
    }
    r = pgsession_query_deadline(&s->lock, "SELECT pg_try_advisory_lock(kinerja_schedule_lock_key())", 0,
                                 NULL, SCHEDULE_CHECK_TIMEOUT_MS);
    if (!r) {
        lock_failed(s, s->lock.db->errstr);
        return 0;
    }
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    bool got = ok && PQgetvalue(r, 0, 0)[0] == 't';
    if (!ok)
        sched_pg_error(&s->lock, r, "schedule lock (is 0004_schedule migrated?)", err, sizeof err);
    PQclear(r);
    if (!ok) {
        lock_failed(s, err);
        return 0;
    }
    sched_pg_fine(s);
    if (got)
        become_leader(s);
    else
        log_standby(s);
    return 0;
}
