/*
 * schedule_jobs: the jobs' connection and the jobs the leader runs each tick (recalc,
 * period close, appeal window, reminders; housekeeping is schedule_trim.c), in order.
 */
#include "daemon.h"
#include "log.h"
#include "schedule_int.h"

#include <stdio.h>
#include <string.h>

/* ---- the jobs' connection ------------------------------------------------------------ */

/* A job's query failed (j: JOB_COUNT for the leader's setup): drop the connection if
 * it broke, step down if the fence says this scheduler is no longer the leader. The
 * same error again within SCHEDULE_ERROR_REPEAT_MS is not logged again (it would be,
 * every tick). */
void sched_job_failed(struct scheduler *s, enum job j, PGresult *r, const char *what)
{
    char err[SCHEDULE_ERR_MAX];
    sched_pg_error(&s->work, r, what, err, sizeof err);
    if (j < JOB_COUNT)
        metric_inc(s->m_errors[j]);
    if (sched_sqlstate_is(r, SCHEDULE_SQLSTATE_NOT_LEADER)) {
        PQclear(r);
        sched_step_down(s, err);
        return;
    }
    long long t = daemon_now_ms();
    if (strcmp(err, s->last_error) != 0 || t - s->last_error_ms >= SCHEDULE_ERROR_REPEAT_MS) {
        log_error("%s: %s", j < JOB_COUNT ? sched_job_names[j] : "leader", err);
        snprintf(s->last_error, sizeof s->last_error, "%s", err);
        s->last_error_ms = t;
    }
    PQclear(r);
    if (s->work.db && !pgstore_ok(s->work.db)) {
        pgsession_drop(&s->work);
        sched_pg_problem(s, "the job connection broke");
    }
}

PGresult *sched_job_query(struct scheduler *s, const char *sql, int n, const char *const *params)
{
    if (!s->work.db) /* dropped by an earlier failure of this tick: a failed result */
        return NULL;
    return PQexecParams(s->work.db->conn, sql, n, NULL, params, NULL, NULL, 0);
}

static bool work_ready(struct scheduler *s)
{
    if (pgstore_ok(s->work.db))
        return true;
    pgsession_drop(&s->work); /* a new session, with its settings */
    if (pgsession_try(&s->work) == 0)
        return true;
    char why[PGSESSION_ERR_MAX + 32];
    snprintf(why, sizeof why, "job connection: %s", s->work.err);
    pgsession_drop(&s->work); /* no job runs without one */
    sched_pg_problem(s, why);
    return false;
}

/* Once per leadership: the settings the SQL side reads, and who leads. */
static bool leader_setup(struct scheduler *s)
{
    char appeal[16], reminder[16], grace[16];
    snprintf(appeal, sizeof appeal, "%d", s->cfg.appeal_days);
    snprintf(reminder, sizeof reminder, "%d", s->cfg.reminder_days);
    snprintf(grace, sizeof grace, "%d", s->cfg.period_close_grace_days);
    const char *p[9] = {"workflow.appeal_days",
                        appeal,
                        "workflow.reminder_days",
                        reminder,
                        "schedule.period_close_grace_days",
                        grace,
                        "workflow.cadence",
                        s->cfg.cadence && *s->cfg.cadence ? s->cfg.cadence : "monthly",
                        NULL};
    PGresult *r = sched_job_query(s,
                                  "SELECT kinerja_publish_setting($1, $2), kinerja_publish_setting($3, $4), "
                                  "kinerja_publish_setting($5, $6), kinerja_publish_setting($7, $8)",
                                  8, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        sched_job_failed(s, JOB_COUNT, r, "publishing settings");
        return false;
    }
    PQclear(r);
    const char *q[2] = {s->identity, s->lock_pid};
    r = sched_job_query(s, "SELECT kinerja_schedule_became_leader($1, $2::int)", 2, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        sched_job_failed(s, JOB_COUNT, r, "recording the leader");
        return false;
    }
    PQclear(r);
    log_info("leader: published workflow.appeal_days=%d, workflow.reminder_days=%d, "
             "schedule.period_close_grace_days=%d, workflow.cadence=%s to kinerja_settings",
             s->cfg.appeal_days, s->cfg.reminder_days, s->cfg.period_close_grace_days, p[7]);
    s->leader_ready = true;
    return true;
}

/* The wall clock of time.zone, to the minute, from PostgreSQL (the same time-zone
 * database the SQL side uses). */
static bool wall_clock(struct scheduler *s, struct cron_time *out)
{
    const char *p[1] = {s->cfg.time_zone};
    PGresult *r = sched_job_query(s, "SELECT to_char(now() AT TIME ZONE $1, 'YYYY MM DD HH24 MI')", 1, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        sched_job_failed(s, JOB_RECALC, r, "reading the wall clock");
        return false;
    }
    int n = sscanf(PQgetvalue(r, 0, 0), "%d %d %d %d %d", &out->year, &out->month, &out->day, &out->hour,
                   &out->minute);
    PQclear(r);
    if (n != 5) {
        log_error("recalc: unexpected wall clock from PostgreSQL");
        return false;
    }
    return true;
}

/* ---- jobs ---------------------------------------------------------------------------- */

/*
 * Full recalculation. recalc_next is the next cron minute; when the wall clock reaches
 * it, the latest cron minute not after now is due (minutes missed meanwhile fold into
 * one run) and kinerja_schedule_recalc() inserts the request unless schedule_runs shows
 * that minute (or a later one) done. On becoming leader the search starts
 * SCHEDULE_CATCHUP_MIN minutes back, so a run missed during a failover is made up.
 */
/* A job ran without error: its run counter and its last-success time. */
void sched_job_ran(struct scheduler *s, int job)
{
    metric_inc(s->m_runs[job]);
    metric_set(s->m_last_ok[job], daemon_wall_ms() / 1000);
}

static void job_recalc(struct scheduler *s, const struct cron_time *now)
{
    int64_t now_min = cron_time_to_minutes(now);
    char when[32];
    if (!s->recalc_primed) {
        struct cron_time base, next;
        cron_time_from_minutes(now_min - SCHEDULE_CATCHUP_MIN, &base);
        if (cron_next(&s->recalc, &base, &next) < 0) {
            log_error("recalc: '%s' has no next run", s->cfg.recalc);
            s->recalc_next = INT64_MAX;
        } else {
            s->recalc_next = cron_time_to_minutes(&next);
            cron_time_format(&next, when, sizeof when);
            if (s->recalc_next <= now_min)
                log_info("recalc: '%s' (%s): the run due %s is checked now", s->cfg.recalc, s->cfg.time_zone,
                         when);
            else
                log_info("recalc: '%s' (%s): next run %s", s->cfg.recalc, s->cfg.time_zone, when);
        }
        s->recalc_primed = true;
    }
    if (now_min < s->recalc_next)
        return;
    struct cron_time due, next;
    cron_time_from_minutes(s->recalc_next, &due);
    for (int i = 0; i < SCHEDULE_COLLAPSE_MAX && cron_next(&s->recalc, &due, &next) == 0 &&
                    cron_time_to_minutes(&next) <= now_min;
         i++)
        due = next;
    cron_time_format(&due, when, sizeof when);
    const char *p[3] = {when, s->identity, s->lock_pid};
    PGresult *r = sched_job_query(s, "SELECT kinerja_schedule_recalc($1::timestamp, $2, $3::int)", 3, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        sched_job_failed(s, JOB_RECALC, r, "requesting the recalculation");
        return; /* tried again next tick */
    }
    sched_job_ran(s, JOB_RECALC);
    if (PQgetisnull(r, 0, 0)) {
        log_info("recalc: the run due %s (%s) was already done (schedule_runs); not repeated", when,
                 s->cfg.time_zone);
    } else {
        metric_inc(s->m_recalcs);
        log_info(
            "recalc: full recalculation requested for the run due %s (%s): recalc request %s (all periods), "
            "carried out by the score worker",
            when, s->cfg.time_zone, PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    s->recalc_next = cron_next(&s->recalc, &due, &next) == 0 ? cron_time_to_minutes(&next) : INT64_MAX;
    if (s->recalc_next != INT64_MAX) {
        cron_time_format(&next, when, sizeof when);
        log_info("recalc: next run %s (%s)", when, s->cfg.time_zone);
    }
}

static void job_period_close(struct scheduler *s)
{
    char grace[16];
    snprintf(grace, sizeof grace, "%d", s->cfg.period_close_grace_days);
    const char *p[4] = {s->cfg.time_zone, grace, s->identity, s->lock_pid};
    PGresult *r = sched_job_query(
        s,
        "SELECT period, newly_closed, to_char(period_end AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI'), "
        "moved, requests, missing FROM kinerja_schedule_close_periods($1, $2::int, $3, $4::int)",
        4, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        sched_job_failed(s, JOB_PERIOD_CLOSE, r, "closing periods");
        return;
    }
    sched_job_ran(s, JOB_PERIOD_CLOSE);
    for (int i = 0; i < PQntuples(r); i++) {
        long long moved = strtoll(PQgetvalue(r, i, 3), NULL, 10),
                  requests = strtoll(PQgetvalue(r, i, 4), NULL, 10),
                  missing = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        metric_add(s->m_moved, moved);
        metric_add(s->m_requests, requests);
        if (PQgetvalue(r, i, 1)[0] == 't') {
            metric_inc(s->m_closed);
            log_info("period close: period %s ended %s (%s), %d grace days passed: closed; %lld collecting "
                     "results "
                     "-> pending_signoff, %lld signoff_requested notifications",
                     PQgetvalue(r, i, 0), PQgetvalue(r, i, 2), s->cfg.time_zone,
                     s->cfg.period_close_grace_days, moved, requests);
        } else {
            log_info("period close: closed period %s: %lld results collecting again with a new version "
                     "-> pending_signoff, %lld signoff_requested notifications",
                     PQgetvalue(r, i, 0), moved, requests);
        }
        /* SPEC 6: a result without a predikat, or without anyone to sign it, stays
         * collecting; its supervisor and employee are told once what is missing */
        if (missing > 0)
            log_info(
                "period close: period %s: %lld inputs_missing notifications (results without a predikat or "
                "a pejabat penilai stay collecting)",
                PQgetvalue(r, i, 0), missing);
    }
    PQclear(r);
}

static void job_appeal_window(struct scheduler *s)
{
    const char *p[2] = {s->identity, s->lock_pid};
    PGresult *r = sched_job_query(s, "SELECT kinerja_schedule_finalize($1, $2::int)", 2, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        sched_job_failed(s, JOB_APPEAL_WINDOW, r, "ending appeal windows");
        return;
    }
    sched_job_ran(s, JOB_APPEAL_WINDOW);
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    metric_add(s->m_finalized, n);
    if (n > 0)
        log_info("appeal window: %lld approved results past their appeal deadline -> final", n);
    else
        log_debug("appeal window: no approved result past its deadline");
}

static void job_reminders(struct scheduler *s)
{
    char days[16];
    snprintf(days, sizeof days, "%d", s->cfg.reminder_days);
    const char *p[3] = {days, s->identity, s->lock_pid};
    PGresult *r = sched_job_query(s, "SELECT kinerja_schedule_remind($1::int, $2, $3::int)", 3, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        sched_job_failed(s, JOB_REMINDERS, r, "queueing reminders");
        return;
    }
    sched_job_ran(s, JOB_REMINDERS);
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    metric_add(s->m_reminders, n);
    if (n > 0)
        log_info("reminders: %lld signoff_reminder notifications (pending_signoff longer than %d days, "
                 "not reminded within that time)",
                 n, s->cfg.reminder_days);
    else
        log_debug("reminders: none due");
}

/* The period partitions (schemas/0027): the months ahead, their quarters and years, in
 * the organisation's time zone, and any period whose rows wait in a DEFAULT partition. */
static void job_partitions(struct scheduler *s)
{
    char ahead[16];
    snprintf(ahead, sizeof ahead, "%d", s->cfg.partitions_ahead);
    const char *p[2] = {s->cfg.time_zone, ahead};
    PGresult *r = sched_job_query(
        s, "SELECT made, left_in_default FROM kinerja_partitions_maintain((now() AT TIME ZONE $1), $2::int)",
        2, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        sched_job_failed(s, JOB_PARTITIONS, r, "making period partitions");
        return;
    }
    sched_job_ran(s, JOB_PARTITIONS);
    long long made = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    long long left = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (made > 0)
        log_info(
            "partitions: made %lld period partitions (this month and %d ahead, their quarters and years)",
            made, s->cfg.partitions_ahead);
    else
        log_debug("partitions: every period partition is there");
    if (left > 0)
        log_warn("partitions: %lld rows in DEFAULT partitions carry a period value that is no period", left);
}

/* Every job that is due, in order; stops early if leadership or the connection goes. */
void sched_jobs_tick(struct scheduler *s)
{
    if (!work_ready(s))
        return;
    if (!s->leader_ready && !leader_setup(s))
        return;
    struct cron_time now;
    if (!wall_clock(s, &now))
        return;
    job_recalc(s, &now);
    if (s->leader && s->work.db)
        job_period_close(s);
    if (s->leader && s->work.db)
        job_appeal_window(s);
    long long t = daemon_now_ms();
    if (s->leader && s->work.db && t >= s->next_reminders_ms) {
        job_reminders(s);
        s->next_reminders_ms = t + SCHEDULE_REMINDER_EVERY_MS;
    }
    if (s->leader && s->work.db && t >= s->next_housekeeping_ms) {
        sched_job_housekeeping(s);
        s->next_housekeeping_ms = daemon_now_ms() + s->cfg.housekeeping_s * 1000;
    }
    if (s->leader && s->work.db && t >= s->next_partitions_ms) {
        job_partitions(s);
        s->next_partitions_ms = daemon_now_ms() + s->cfg.housekeeping_s * 1000;
    }
    if (s->leader && s->work.db)
        sched_pg_fine(s);
}
