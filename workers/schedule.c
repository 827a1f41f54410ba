#include "schedule.h"

#include "cron.h"
#include "daemon.h"
#include "log.h"
#include "rstream.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCHEDULE_ERR_MAX 512
#define SCHEDULE_CONNECT_TIMEOUT_S "5"
/* TCP keepalives of both connections, client side (libpq) and server side (the
 * session's settings): a peer that vanished without closing is noticed within about
 * idle + interval x count seconds, so a dead leader's lock does not outlive it long. */
#define SCHEDULE_KEEPALIVE_IDLE_S "5"
#define SCHEDULE_KEEPALIVE_INTERVAL_S "2"
#define SCHEDULE_KEEPALIVE_COUNT "3"
#define SCHEDULE_TCP_USER_TIMEOUT_MS "10000"
#define SCHEDULE_SERVER_KEEPALIVES                                                                           \
    "SET tcp_keepalives_idle = " SCHEDULE_KEEPALIVE_IDLE_S                                                   \
    "; SET tcp_keepalives_interval = " SCHEDULE_KEEPALIVE_INTERVAL_S                                         \
    "; SET tcp_keepalives_count = " SCHEDULE_KEEPALIVE_COUNT                                                 \
    "; SET tcp_user_timeout = " SCHEDULE_TCP_USER_TIMEOUT_MS
/* No job statement runs longer than this (they are set-based and normally take ms). */
#define SCHEDULE_STATEMENT_TIMEOUT "SET statement_timeout = '300s'"
#define SCHEDULE_ERROR_REPEAT_MS 60000 /* an unchanged job error is logged once a minute */
#define SCHEDULE_COLLAPSE_MAX 1000000  /* missed cron minutes folded into one run, per tick */
#define SCHEDULE_STREAM_ID_MAX 48
#define SCHEDULE_SQLSTATE_NOT_LEADER "55P03" /* lock_not_available, from kinerja_schedule_fence */
#define SCHEDULE_SQLSTATE_BAD_VALUE "22023"  /* invalid_parameter_value: an unknown time zone */

enum job { JOB_RECALC, JOB_PERIOD_CLOSE, JOB_APPEAL_WINDOW, JOB_REMINDERS, JOB_HOUSEKEEPING, JOB_COUNT };
static const char *const job_names[JOB_COUNT] = {"recalc", "period_close", "appeal_window", "reminders",
                                                 "housekeeping"};

struct scheduler {
    struct scheduler_config cfg;
    struct cron recalc;
    char identity[SCHEDULE_IDENTITY_MAX];

    PGconn *lock;      /* the leadership connection: holds the advisory lock */
    PGconn *work;      /* the jobs' connection */
    char lock_pid[16]; /* backend pid of the lock connection, for the fence */
    bool leader;
    bool leader_ready;   /* settings published and schedule_leader written */
    bool standby_logged; /* "standby" said since the last change */
    bool tz_checked;
    bool idle_warned;
    int exit_code;
    char problem[SCHEDULE_ERR_MAX];    /* what is wrong with PostgreSQL now ("" = nothing) */
    char last_error[SCHEDULE_ERR_MAX]; /* the last job error logged, and when */
    long long last_error_ms;

    bool recalc_primed;
    int64_t recalc_next; /* wall-clock minute (cron_time_to_minutes) of the next run */
    long long next_reminders_ms, next_housekeeping_ms;
    redisContext *redis;

    struct metrics *m;
    struct metric *m_leader, *m_changes, *m_pg_up;
    struct metric *m_runs[JOB_COUNT], *m_errors[JOB_COUNT], *m_last_ok[JOB_COUNT];
    struct metric *m_recalcs, *m_closed, *m_moved, *m_requests, *m_reminders, *m_finalized, *m_trimmed;
};

/* ---- lifecycle ----------------------------------------------------------------------- */

struct scheduler *scheduler_new(const struct scheduler_config *cfg, struct metrics *m)
{
    struct scheduler *s = calloc(1, sizeof *s);
    if (!s) {
        log_error("out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    char err[SCHEDULE_ERR_MAX];
    if (cron_parse(cfg->recalc, &s->recalc, err, sizeof err) < 0) {
        log_error("schedule.recalc '%s': %s", cfg->recalc ? cfg->recalc : "", err);
        free(s);
        return NULL;
    }
    if (s->cfg.tick_ms <= 0)
        s->cfg.tick_ms = 1000;
    if (s->cfg.housekeeping_s <= 0)
        s->cfg.housekeeping_s = 300;
    if (cfg->identity && cfg->identity[0]) {
        snprintf(s->identity, sizeof s->identity, "%s", cfg->identity);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        snprintf(s->identity, sizeof s->identity, "%s-schedule-%ld", host, (long)getpid());
    }
    s->m = m;
    s->m_leader =
        metrics_gauge(m, "kinerja_schedule_leader", NULL, "1 while this scheduler is the active one");
    s->m_changes = metrics_counter(m, "kinerja_schedule_leader_changes_total", NULL,
                                   "times this scheduler became leader or stepped down");
    s->m_pg_up = metrics_gauge(m, "kinerja_schedule_postgres_up", NULL, "1 when PostgreSQL is reachable");
    for (int j = 0; j < JOB_COUNT; j++) {
        char labels[64];
        snprintf(labels, sizeof labels, "job=\"%s\"", job_names[j]);
        s->m_runs[j] = metrics_counter(m, "kinerja_schedule_runs_total", labels, "scheduled job runs");
        s->m_errors[j] =
            metrics_counter(m, "kinerja_schedule_errors_total", labels, "failed scheduled job runs");
        s->m_last_ok[j] = metrics_gauge(m, "kinerja_schedule_last_success_timestamp_seconds", labels,
                                        "when the job last ran without error (Unix seconds; 0: not yet)");
    }
    s->m_recalcs = metrics_counter(m, "kinerja_schedule_recalc_requests_total", NULL,
                                   "full recalculations requested by the cron schedule");
    s->m_closed = metrics_counter(m, "kinerja_schedule_periods_closed_total", NULL, "periods closed");
    s->m_moved = metrics_counter(m, "kinerja_schedule_results_closed_total", NULL,
                                 "collecting results moved to pending_signoff by period close");
    s->m_requests = metrics_counter(m, "kinerja_schedule_signoff_requests_total", NULL,
                                    "signoff_requested notifications queued by period close");
    s->m_reminders =
        metrics_counter(m, "kinerja_schedule_reminders_total", NULL, "signoff_reminder notifications queued");
    s->m_finalized = metrics_counter(m, "kinerja_schedule_finalized_total", NULL,
                                     "approved results made final when their appeal window ended");
    s->m_trimmed = metrics_counter(m, "kinerja_schedule_stream_trimmed_total", NULL,
                                   "stream entries trimmed by housekeeping");
    return s;
}

static void redis_drop(struct scheduler *s)
{
    if (s->redis)
        redisFree(s->redis);
    s->redis = NULL;
}

static void pg_drop(PGconn **c)
{
    if (*c)
        PQfinish(*c);
    *c = NULL;
}

void scheduler_destroy(struct scheduler **ps)
{
    struct scheduler *s = *ps;
    if (!s)
        return;
    pg_drop(&s->work);
    pg_drop(&s->lock);
    redis_drop(s);
    free(s);
    *ps = NULL;
}

/* ---- PostgreSQL plumbing ------------------------------------------------------------- */

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The connection's last error, one line. */
static void pg_error(PGconn *c, const PGresult *r, const char *what, char *err, size_t errlen)
{
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = c ? PQerrorMessage(c) : "out of memory";
    snprintf(err, errlen, "%s: %s", what, msg);
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

static bool sqlstate_is(const PGresult *r, const char *code)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return st && !strcmp(st, code);
}

/* Connects with keepalives and a bounded connect wait (the DSN may override them). */
static PGconn *pg_open(const char *dsn, const char *app, const char *setup, char *err, size_t errlen)
{
    const char *const keys[] = {"connect_timeout",
                                "fallback_application_name",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "tcp_user_timeout",
                                "dbname",
                                NULL};
    const char *const values[] = {SCHEDULE_CONNECT_TIMEOUT_S,
                                  app,
                                  "1",
                                  SCHEDULE_KEEPALIVE_IDLE_S,
                                  SCHEDULE_KEEPALIVE_INTERVAL_S,
                                  SCHEDULE_KEEPALIVE_COUNT,
                                  SCHEDULE_TCP_USER_TIMEOUT_MS,
                                  dsn ? dsn : "",
                                  NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        pg_error(c, NULL, "connect", err, errlen);
        if (c)
            PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    PGresult *r = PQexec(c, setup);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_error(c, r, "session settings", err, errlen);
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/*
 * One parameterized query with a deadline: NULL with the reason in err when the
 * server does not answer within timeout_ms or the connection broke (the caller then
 * drops the connection: it may still be busy). Otherwise the result (an error result
 * included), which the caller clears.
 */
static PGresult *pg_query_deadline(PGconn *c, const char *sql, int nparams, const char *const *params,
                                   int timeout_ms, char *err, size_t errlen)
{
    if (!PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0)) {
        pg_error(c, NULL, "send", err, errlen);
        return NULL;
    }
    long long deadline = daemon_now_ms() + timeout_ms;
    while (PQisBusy(c)) {
        long long left = deadline - daemon_now_ms();
        if (left <= 0) {
            snprintf(err, errlen, "no answer within %d ms", timeout_ms);
            return NULL;
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        if (pfd.fd < 0) {
            snprintf(err, errlen, "connection closed");
            return NULL;
        }
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return NULL;
        }
        if (rc > 0 && !PQconsumeInput(c)) {
            pg_error(c, NULL, "receive", err, errlen);
            return NULL;
        }
    }
    PGresult *r = PQgetResult(c), *extra;
    while ((extra = PQgetResult(c)))
        PQclear(extra);
    if (!r || PQstatus(c) != CONNECTION_OK) {
        pg_error(c, r, "query", err, errlen);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* PostgreSQL is unreachable (or refuses what the role needs): 503 and one log line per
 * distinct reason. */
static void pg_problem(struct scheduler *s, const char *why)
{
    if (strcmp(s->problem, why) != 0)
        log_error("postgres: %s", why);
    snprintf(s->problem, sizeof s->problem, "%s", why);
    metric_set(s->m_pg_up, 0);
    char reason[METRICS_REASON_MAX];
    snprintf(reason, sizeof reason, "postgres: %s", why);
    metrics_health_set(s->m, reason);
}

static void pg_fine(struct scheduler *s)
{
    if (s->problem[0])
        log_info("postgres: reachable again");
    s->problem[0] = '\0';
    metric_set(s->m_pg_up, 1);
    metrics_health_set(s->m, NULL);
}

/* ---- leadership ---------------------------------------------------------------------- */

static void step_down(struct scheduler *s, const char *why)
{
    if (s->leader) {
        log_info("standby: stepping down: %s", why);
        metric_inc(s->m_changes);
    }
    s->leader = false;
    s->leader_ready = false;
    s->standby_logged = false;
    metric_set(s->m_leader, 0);
    pg_drop(&s->work); /* whatever a job was doing is rolled back */
    redis_drop(s);
}

static void become_leader(struct scheduler *s)
{
    s->leader = true;
    s->leader_ready = false;
    s->recalc_primed = false;
    s->next_reminders_ms = 0;
    s->next_housekeeping_ms = 0;
    metric_set(s->m_leader, 1);
    metric_inc(s->m_changes);
    log_info("leader: %s holds the schedule lock (lock backend %s); running the scheduled jobs every %ld ms",
             s->identity, s->lock_pid, s->cfg.tick_ms);
}

/* Opens the lock connection and, the first time, checks time.zone. -1: not now;
 * -2: time.zone is unknown (fatal). */
static int lock_connect(struct scheduler *s)
{
    char err[SCHEDULE_ERR_MAX];
    s->lock =
        pg_open(s->cfg.postgres_dsn, "kinerja-schedule-lock", SCHEDULE_SERVER_KEEPALIVES, err, sizeof err);
    if (!s->lock) {
        pg_problem(s, err);
        return -1;
    }
    snprintf(s->lock_pid, sizeof s->lock_pid, "%d", PQbackendPID(s->lock));
    /* Every tick uses this session; one silent for many ticks belongs to a scheduler
     * that hangs or was stopped (SIGSTOP, a frozen VM): the server ends the session and
     * so frees the lock for another. PostgreSQL 14+; older servers go without. */
    char idle[32];
    snprintf(idle, sizeof idle, "%ld", s->cfg.tick_ms * SCHEDULE_LOCK_IDLE_TICKS);
    const char *ip[1] = {idle};
    PGresult *ir = pg_query_deadline(s->lock, "SELECT set_config('idle_session_timeout', $1, false)", 1, ip,
                                     SCHEDULE_CHECK_TIMEOUT_MS, err, sizeof err);
    if (!ir) {
        pg_problem(s, err);
        pg_drop(&s->lock);
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
        PGresult *r = pg_query_deadline(s->lock, "SELECT now() AT TIME ZONE $1", 1, p,
                                        SCHEDULE_CHECK_TIMEOUT_MS, err, sizeof err);
        if (r && sqlstate_is(r, SCHEDULE_SQLSTATE_BAD_VALUE)) {
            pg_error(s->lock, r, "time.zone", err, sizeof err);
            log_error("%s", err);
            PQclear(r);
            return -2;
        }
        bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
        if (r && !ok)
            pg_error(s->lock, r, "time.zone check", err, sizeof err);
        PQclear(r);
        if (!ok) {
            pg_problem(s, err);
            pg_drop(&s->lock);
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
    char err[SCHEDULE_ERR_MAX];
    PGresult *r = pg_query_deadline(
        s->lock, "SELECT holder, to_char(since, 'YYYY-MM-DD\"T\"HH24:MI:SSOF') FROM schedule_leader", 0, NULL,
        SCHEDULE_CHECK_TIMEOUT_MS, err, sizeof err);
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        log_info("standby: another scheduler holds the schedule lock (last recorded leader: %s since %s); "
                 "trying every %ld ms",
                 PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), s->cfg.tick_ms);
    else
        log_info("standby: another scheduler holds the schedule lock; trying every %ld ms", s->cfg.tick_ms);
    PQclear(r);
    if (!r)
        pg_drop(&s->lock);
}

/*
 * The leadership step of a tick: connect if needed; as leader, check (with a deadline)
 * that the lock connection still holds the lock; as standby, try to take it.
 * Returns 0, or -2 on a fatal configuration error.
 */
static int leadership_tick(struct scheduler *s)
{
    if (!s->lock || PQstatus(s->lock) != CONNECTION_OK) {
        pg_drop(&s->lock);
        if (s->leader)
            step_down(s, "the lock connection is gone");
        int rc = lock_connect(s);
        if (rc < 0)
            return rc == -2 ? -2 : 0;
    }
    char err[SCHEDULE_ERR_MAX];
    PGresult *r;
    if (s->leader) {
        r = pg_query_deadline(s->lock, "SELECT kinerja_schedule_fence(pg_backend_pid())", 0, NULL,
                              SCHEDULE_CHECK_TIMEOUT_MS, err, sizeof err);
        if (!r) {
            /* Closing the socket ends the session, so the server frees the lock for the
             * next leader (when it can still hear us at all). */
            pg_drop(&s->lock);
            char why[SCHEDULE_ERR_MAX + 64];
            snprintf(why, sizeof why, "lost the lock connection (%s)", err);
            step_down(s, why);
            pg_problem(s, err);
            return 0;
        }
        if (sqlstate_is(r, SCHEDULE_SQLSTATE_NOT_LEADER)) {
            PQclear(r);
            step_down(s, "the schedule lock is no longer held by this session");
            return 0;
        }
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            pg_error(s->lock, r, "leadership check", err, sizeof err);
        PQclear(r);
        if (!ok) {
            step_down(s, err);
            pg_problem(s, err);
            pg_drop(&s->lock);
            return 0;
        }
        return 0;
    }
    r = pg_query_deadline(s->lock, "SELECT pg_try_advisory_lock(kinerja_schedule_lock_key())", 0, NULL,
                          SCHEDULE_CHECK_TIMEOUT_MS, err, sizeof err);
    if (!r) {
        pg_problem(s, err);
        pg_drop(&s->lock);
        return 0;
    }
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    bool got = ok && PQgetvalue(r, 0, 0)[0] == 't';
    if (!ok)
        pg_error(s->lock, r, "schedule lock (is 0004_schedule migrated?)", err, sizeof err);
    PQclear(r);
    if (!ok) {
        pg_problem(s, err);
        pg_drop(&s->lock);
        return 0;
    }
    pg_fine(s);
    if (got)
        become_leader(s);
    else
        log_standby(s);
    return 0;
}

/* ---- the jobs' connection ------------------------------------------------------------ */

/* A job's query failed (j: JOB_COUNT for the leader's setup): drop the connection if
 * it broke, step down if the fence says this scheduler is no longer the leader. The
 * same error again within SCHEDULE_ERROR_REPEAT_MS is not logged again (it would be,
 * every tick). */
static void job_failed(struct scheduler *s, enum job j, PGresult *r, const char *what)
{
    char err[SCHEDULE_ERR_MAX];
    pg_error(s->work, r, what, err, sizeof err);
    if (j < JOB_COUNT)
        metric_inc(s->m_errors[j]);
    if (sqlstate_is(r, SCHEDULE_SQLSTATE_NOT_LEADER)) {
        PQclear(r);
        step_down(s, err);
        return;
    }
    long long t = daemon_now_ms();
    if (strcmp(err, s->last_error) != 0 || t - s->last_error_ms >= SCHEDULE_ERROR_REPEAT_MS) {
        log_error("%s: %s", j < JOB_COUNT ? job_names[j] : "leader", err);
        snprintf(s->last_error, sizeof s->last_error, "%s", err);
        s->last_error_ms = t;
    }
    PQclear(r);
    if (s->work && PQstatus(s->work) != CONNECTION_OK) {
        pg_drop(&s->work);
        pg_problem(s, "the job connection broke");
    }
}

static PGresult *job_query(struct scheduler *s, const char *sql, int n, const char *const *params)
{
    return PQexecParams(s->work, sql, n, NULL, params, NULL, NULL, 0);
}

static bool work_ready(struct scheduler *s)
{
    if (s->work && PQstatus(s->work) == CONNECTION_OK)
        return true;
    pg_drop(&s->work);
    char err[SCHEDULE_ERR_MAX], why[SCHEDULE_ERR_MAX + 32];
    s->work = pg_open(s->cfg.postgres_dsn, "kinerja-schedule",
                      SCHEDULE_SERVER_KEEPALIVES "; " SCHEDULE_STATEMENT_TIMEOUT, err, sizeof err);
    if (!s->work) {
        snprintf(why, sizeof why, "job connection: %s", err);
        pg_problem(s, why);
        return false;
    }
    return true;
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
    PGresult *r = job_query(s,
                            "SELECT kinerja_publish_setting($1, $2), kinerja_publish_setting($3, $4), "
                            "kinerja_publish_setting($5, $6), kinerja_publish_setting($7, $8)",
                            8, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        job_failed(s, JOB_COUNT, r, "publishing settings");
        return false;
    }
    PQclear(r);
    const char *q[2] = {s->identity, s->lock_pid};
    r = job_query(s, "SELECT kinerja_schedule_became_leader($1, $2::int)", 2, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        job_failed(s, JOB_COUNT, r, "recording the leader");
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
    PGresult *r = job_query(s, "SELECT to_char(now() AT TIME ZONE $1, 'YYYY MM DD HH24 MI')", 1, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        job_failed(s, JOB_RECALC, r, "reading the wall clock");
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
static void job_ran(struct scheduler *s, int job)
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
    PGresult *r = job_query(s, "SELECT kinerja_schedule_recalc($1::timestamp, $2, $3::int)", 3, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        job_failed(s, JOB_RECALC, r, "requesting the recalculation");
        return; /* tried again next tick */
    }
    job_ran(s, JOB_RECALC);
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
    PGresult *r =
        job_query(s,
                  "SELECT period, newly_closed, to_char(period_end AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI'), "
                  "moved, requests, missing FROM kinerja_schedule_close_periods($1, $2::int, $3, $4::int)",
                  4, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        job_failed(s, JOB_PERIOD_CLOSE, r, "closing periods");
        return;
    }
    job_ran(s, JOB_PERIOD_CLOSE);
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
    PGresult *r = job_query(s, "SELECT kinerja_schedule_finalize($1, $2::int)", 2, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        job_failed(s, JOB_APPEAL_WINDOW, r, "ending appeal windows");
        return;
    }
    job_ran(s, JOB_APPEAL_WINDOW);
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
    PGresult *r = job_query(s, "SELECT kinerja_schedule_remind($1::int, $2, $3::int)", 3, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        job_failed(s, JOB_REMINDERS, r, "queueing reminders");
        return;
    }
    job_ran(s, JOB_REMINDERS);
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

/* ---- housekeeping: stream trimming --------------------------------------------------- */

struct stream_id {
    unsigned long long ms, seq;
};

static int stream_id_parse(const char *s, size_t len, struct stream_id *out)
{
    char buf[SCHEDULE_STREAM_ID_MAX];
    if (!s || len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    out->ms = strtoull(buf, &end, 10);
    if (errno || end == buf || (*end != '-' && *end != '\0'))
        return -1;
    out->seq = 0;
    if (*end == '-') {
        const char *q = end + 1;
        out->seq = strtoull(q, &end, 10);
        if (errno || end == q || *end)
            return -1;
    }
    return 0;
}

static int stream_id_cmp(struct stream_id a, struct stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

static struct stream_id stream_id_next(struct stream_id a)
{
    if (a.seq == ULLONG_MAX) {
        a.ms++;
        a.seq = 0;
    } else {
        a.seq++;
    }
    return a;
}

/* The value of field `name` in a flat [name, value, ...] reply, or NULL. */
static const redisReply *reply_field(const redisReply *r, const char *name)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i];
        if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, name))
            return r->element[i + 1];
    }
    return NULL;
}

/*
 * Trims one shard below the first entry a consumer group still needs: for each group,
 * the smaller of its oldest pending entry (delivered, not acknowledged) and its last
 * delivered entry + 1 (the first not yet read); the smallest over the groups. A stream
 * without groups is left alone (nobody has read it). Safe against concurrent readers:
 * both bounds only move forward while the trim runs. *trimmed, *kept: entries removed
 * and left.
 */
static int trim_shard(redisContext *c, unsigned shard, long long *trimmed, long long *kept, char *err,
                      size_t errlen)
{
    char key[RSTREAM_KEY_MAX];
    rstream_stream_key(shard, key, sizeof key);
    *trimmed = *kept = 0;
    redisReply *groups = redisCommand(c, "XINFO GROUPS %s", key);
    if (!groups) {
        snprintf(err, errlen, "XINFO GROUPS %s: %s", key, c->errstr);
        return -1;
    }
    if (groups->type == REDIS_REPLY_ERROR) {
        bool missing = strstr(groups->str, "no such key") != NULL;
        if (!missing)
            snprintf(err, errlen, "XINFO GROUPS %s: %s", key, groups->str);
        freeReplyObject(groups);
        return missing ? 0 : -1; /* a shard nobody has written to yet */
    }
    if (groups->type != REDIS_REPLY_ARRAY || groups->elements == 0) {
        freeReplyObject(groups);
        return 0;
    }
    struct stream_id bound = {ULLONG_MAX, ULLONG_MAX};
    int rc = 0;
    for (size_t g = 0; g < groups->elements && rc == 0; g++) {
        const redisReply *name = reply_field(groups->element[g], "name");
        const redisReply *last = reply_field(groups->element[g], "last-delivered-id");
        const redisReply *pending = reply_field(groups->element[g], "pending");
        struct stream_id last_id, cand;
        if (!name || name->type != REDIS_REPLY_STRING || !last || last->type != REDIS_REPLY_STRING ||
            stream_id_parse(last->str, last->len, &last_id) < 0 || !pending ||
            pending->type != REDIS_REPLY_INTEGER) {
            snprintf(err, errlen, "XINFO GROUPS %s: unexpected reply", key);
            rc = -1;
            break;
        }
        cand = stream_id_next(last_id);
        if (pending->integer > 0) {
            redisReply *x = redisCommand(c, "XPENDING %s %b", key, name->str, name->len);
            struct stream_id oldest;
            if (!x) {
                snprintf(err, errlen, "XPENDING %s: %s", key, c->errstr);
                rc = -1;
            } else if (x->type != REDIS_REPLY_ARRAY || x->elements < 2 ||
                       x->element[1]->type != REDIS_REPLY_STRING ||
                       stream_id_parse(x->element[1]->str, x->element[1]->len, &oldest) < 0) {
                snprintf(err, errlen, "XPENDING %s %s: unexpected reply", key, name->str);
                rc = -1;
            } else if (stream_id_cmp(oldest, cand) < 0) {
                cand = oldest;
            }
            if (x)
                freeReplyObject(x);
        }
        if (rc == 0 && stream_id_cmp(cand, bound) < 0)
            bound = cand;
    }
    freeReplyObject(groups);
    if (rc < 0)
        return -1;
    char minid[SCHEDULE_STREAM_ID_MAX];
    snprintf(minid, sizeof minid, "%llu-%llu", bound.ms, bound.seq);
    redisReply *t = redisCommand(c, "XTRIM %s MINID %s", key, minid);
    if (!t || t->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errlen, "XTRIM %s MINID %s: %s", key, minid,
                 !t                             ? c->errstr
                 : t->type == REDIS_REPLY_ERROR ? t->str
                                                : "unexpected reply");
        if (t)
            freeReplyObject(t);
        return -1;
    }
    *trimmed = t->integer;
    freeReplyObject(t);
    redisReply *n = redisCommand(c, "XLEN %s", key);
    if (n && n->type == REDIS_REPLY_INTEGER)
        *kept = n->integer;
    if (n)
        freeReplyObject(n);
    if (*trimmed > 0)
        log_debug("housekeeping: %s: trimmed %lld entries below %s, %lld kept", key, *trimmed, minid, *kept);
    return 0;
}

static void job_housekeeping(struct scheduler *s)
{
    char err[SCHEDULE_ERR_MAX] = "";
    if (!s->redis &&
        !(s->redis = rstream_connect(s->cfg.redis_url, s->cfg.redis_timeout_ms, err, sizeof err))) {
        metric_inc(s->m_errors[JOB_HOUSEKEEPING]);
        log_error("housekeeping: %s; trying again in %ld s", err, s->cfg.housekeeping_s);
        return;
    }
    long long trimmed = 0, kept = 0;
    for (unsigned shard = 0; shard < s->cfg.shards && !daemon_stopping; shard++) {
        long long t, k;
        if (trim_shard(s->redis, shard, &t, &k, err, sizeof err) < 0) {
            metric_inc(s->m_errors[JOB_HOUSEKEEPING]);
            metric_add(s->m_trimmed, trimmed);
            log_error("housekeeping: %s (after trimming %lld entries); trying again in %ld s", err, trimmed,
                      s->cfg.housekeeping_s);
            redis_drop(s);
            return;
        }
        trimmed += t;
        kept += k;
    }
    job_ran(s, JOB_HOUSEKEEPING);
    metric_add(s->m_trimmed, trimmed);
    char detail[256];
    snprintf(detail, sizeof detail, "trimmed %lld stream entries over %u shards, %lld kept", trimmed,
             s->cfg.shards, kept);
    log_info("housekeeping: %s (not yet read or not acknowledged entries are never trimmed); dedupe keys "
             "kinerja:dd:* expire by their TTL (intake.dedupe_ttl_s = %lld s), nothing to remove for them",
             detail, s->cfg.dedupe_ttl_s);
    const char *p[3] = {"housekeeping", s->identity, detail};
    PGresult *r = job_query(s, "SELECT kinerja_schedule_record($1, $2, $3)", 3, p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        job_failed(s, JOB_HOUSEKEEPING, r, "recording housekeeping");
    else
        PQclear(r);
}

/* Every job that is due, in order; stops early if leadership or the connection goes. */
static void jobs_tick(struct scheduler *s)
{
    if (!work_ready(s))
        return;
    if (!s->leader_ready && !leader_setup(s))
        return;
    struct cron_time now;
    if (!wall_clock(s, &now))
        return;
    job_recalc(s, &now);
    if (s->leader && s->work)
        job_period_close(s);
    if (s->leader && s->work)
        job_appeal_window(s);
    long long t = daemon_now_ms();
    if (s->leader && s->work && t >= s->next_reminders_ms) {
        job_reminders(s);
        s->next_reminders_ms = t + SCHEDULE_REMINDER_EVERY_MS;
    }
    if (s->leader && s->work && t >= s->next_housekeeping_ms) {
        job_housekeeping(s);
        s->next_housekeeping_ms = daemon_now_ms() + s->cfg.housekeeping_s * 1000;
    }
    if (s->leader && s->work)
        pg_fine(s);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void sleep_until(long long deadline_ms)
{
    long long left;
    while (!daemon_stopping && (left = deadline_ms - daemon_now_ms()) > 0) {
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* a signal cuts it short; the loop re-checks */
    }
}

int scheduler_run(struct scheduler *s)
{
    log_info("schedule role started as %s: recalc '%s' in %s, period close %d days after a period ends, "
             "reminders after %d days, housekeeping every %ld s, leadership checked every %ld ms",
             s->identity, s->cfg.recalc, s->cfg.time_zone, s->cfg.period_close_grace_days,
             s->cfg.reminder_days, s->cfg.housekeeping_s, s->cfg.tick_ms);
    if (s->cfg.reminder_days == 0)
        log_warn("workflow.reminder_days = 0: every pending sign-off is reminded at once and then every %d s",
                 SCHEDULE_REMINDER_EVERY_MS / 1000);
    metric_set(s->m_leader, 0);
    while (!daemon_stopping) {
        long long start = daemon_now_ms();
        if (daemon_reload_requested && s->cfg.reload) {
            daemon_reload_requested = 0;
            s->cfg.reload(s->cfg.reload_arg);
        }
        if (leadership_tick(s) == -2) {
            s->exit_code = 1;
            break;
        }
        if (s->leader)
            jobs_tick(s);
        sleep_until(start + s->cfg.tick_ms);
    }
    step_down(s, "stopping; the schedule lock is free for another scheduler");
    pg_drop(&s->lock); /* ends the session: PostgreSQL releases the lock at once */
    log_info("schedule role stopped");
    return s->exit_code;
}
