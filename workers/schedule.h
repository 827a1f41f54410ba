/*
 * schedule: the schedule role of kinerja-worker (SPEC 6 "Scheduled jobs"). Any number
 * may run, on any hosts; exactly one is active (the leader), the others wait:
 *
 *   - leadership: a PostgreSQL session advisory lock (kinerja_schedule_lock_key(),
 *     schemas/0004_schedule.sql) held on a connection of its own. The holder is the
 *     leader; the others try again every tick (schedule.tick_ms, ~1 s), so one takes
 *     over within seconds of the leader's death (PostgreSQL releases a session lock when
 *     the session ends; TCP keepalives on both sides bound how long a vanished host
 *     keeps it; the lock session's idle_session_timeout of SCHEDULE_LOCK_IDLE_TICKS
 *     ticks ends the session of a leader that hangs or is stopped). The leader checks
 *     its lock connection every tick, with a deadline, and steps down when it is lost. Jobs run on a second
 * connection and each job's SQL first checks that the lock connection still holds the lock (a fence); the
 * jobs are idempotent anyway.
 *
 *   - jobs, while leader, each tick:
 *       full recalculation at the cron minutes of schedule.recalc (common/cron.h) on
 *         the wall clock of time.zone: a recalc request for everything, which the score
 *         worker carries out; schedule_runs keeps the last minute done, so a restart or
 *         a takeover in the same minute does not repeat it, and a run missed by up to
 *         SCHEDULE_CATCHUP_MIN minutes (no leader at that minute) is made up once;
 *       period close: periods that ended schedule.period_close_grace_days ago (in
 *         time.zone) are closed once; their collecting results go to pending_signoff
 *         (audited, actor 'scheduler') with a signoff_requested to the supervisor;
 *       appeal window: approved results past their appeal deadline become final;
 *       sign-off reminders (workflow.reminder_days), every SCHEDULE_REMINDER_EVERY_MS
 *         (reminders count in days; with reminder_days 0 this bounds their rate);
 *       housekeeping every schedule.housekeeping_s: each stream shard is trimmed
 *         (XTRIM MINID) below the smaller of its consumer groups' oldest pending entry
 *         and last delivered entry + 1, so nothing unread or unacknowledged is ever
 *         removed; dedupe keys expire by their TTL (intake.dedupe_ttl_s).
 *     On becoming leader it publishes workflow.appeal_days, workflow.reminder_days,
 *     schedule.period_close_grace_days and workflow.cadence into kinerja_settings (the
 *     leader's config wins). Under workflow.cadence = quarterly the period close and the
 *     sign-off requests (hence reminders) concern quarters and years, not months
 *     (schemas/0014_periods.sql, kinerja_period_appraised).
 *
 * Metrics: kinerja_schedule_leader (gauge), kinerja_schedule_runs_total{job=...},
 * kinerja_schedule_errors_total{job=...} and what the jobs did. /healthz is 503 while
 * PostgreSQL is unreachable. Called by workers/main.c.
 */
#ifndef KINERJA_WORKER_SCHEDULE_H
#define KINERJA_WORKER_SCHEDULE_H

#include "metrics.h"

#include <stdbool.h>

#define SCHEDULE_CATCHUP_MIN 60          /* a recalc missed by up to this many minutes runs late */
#define SCHEDULE_REMINDER_EVERY_MS 60000 /* sign-off reminders are checked once a minute */
#define SCHEDULE_CHECK_TIMEOUT_MS 5000   /* the lock connection must answer within this */
#define SCHEDULE_LOCK_IDLE_TICKS 10      /* a lock session silent this many ticks is ended by the server */
#define SCHEDULE_IDENTITY_MAX 128

struct scheduler_config {
    const char *postgres_dsn;
    const char *redis_url;
    bool redis_cluster; /* redis.cluster */
    int redis_timeout_ms;
    unsigned shards;             /* redis.shards */
    const char *time_zone;       /* time.zone: the wall clock of the cron and of period ends */
    const char *recalc;          /* schedule.recalc, a cron expression */
    int period_close_grace_days; /* schedule.period_close_grace_days */
    int reminder_days;           /* workflow.reminder_days */
    int appeal_days;             /* workflow.appeal_days (published for the SQL side) */
    const char *cadence;         /* workflow.cadence, monthly|quarterly (published for the SQL side) */
    long long dedupe_ttl_s;      /* intake.dedupe_ttl_s (housekeeping says it relies on it) */
    long tick_ms;                /* schedule.tick_ms */
    long housekeeping_s;         /* schedule.housekeeping_s (also the partitions' pass) */
    int partitions_ahead;        /* schedule.partitions_ahead: months */
    const char *identity;        /* worker.consumer; NULL or "": host-schedule-pid */
    void (*reload)(void *arg);   /* SIGHUP */
    void *reload_arg;
};

struct scheduler;

/* NULL (logged) when schedule.recalc is not a valid cron expression or out of memory. */
struct scheduler *scheduler_new(const struct scheduler_config *cfg, struct metrics *m);
/* Runs until SIGTERM (stepping down, which hands the lock to a standby at once);
 * returns the exit code: 0, or 1 when time.zone is unknown to PostgreSQL. */
int scheduler_run(struct scheduler *s);
void scheduler_destroy(struct scheduler **s);

#endif
