/*
 * schedule: the schedule role's lifecycle, its PostgreSQL plumbing and its loop; the
 * parts are listed in workers/schedule_int.h.
 */
#include "schedule.h"

#include "daemon.h"
#include "log.h"
#include "schedule_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const sched_job_names[JOB_COUNT] = {"recalc", "period_close", "appeal_window", "reminders",
                                                "housekeeping"};

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
        snprintf(labels, sizeof labels, "job=\"%s\"", sched_job_names[j]);
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

void sched_redis_drop(struct scheduler *s)
{
    if (s->redis)
        redisFree(s->redis);
    s->redis = NULL;
}

void sched_pg_drop(PGconn **c)
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
    sched_pg_drop(&s->work);
    sched_pg_drop(&s->lock);
    sched_redis_drop(s);
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
void sched_pg_error(PGconn *c, const PGresult *r, const char *what, char *err, size_t errlen)
{
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = c ? PQerrorMessage(c) : "out of memory";
    snprintf(err, errlen, "%s: %s", what, msg);
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

bool sched_sqlstate_is(const PGresult *r, const char *code)
{
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return st && !strcmp(st, code);
}

/* Connects with keepalives and a bounded connect wait (the DSN may override them). */
PGconn *sched_pg_open(const char *dsn, const char *app, const char *setup, char *err, size_t errlen)
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
        sched_pg_error(c, NULL, "connect", err, errlen);
        if (c)
            PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    PGresult *r = PQexec(c, setup);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        sched_pg_error(c, r, "session settings", err, errlen);
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
PGresult *sched_pg_query_deadline(PGconn *c, const char *sql, int nparams, const char *const *params,
                                  int timeout_ms, char *err, size_t errlen)
{
    if (!PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 0)) {
        sched_pg_error(c, NULL, "send", err, errlen);
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
            sched_pg_error(c, NULL, "receive", err, errlen);
            return NULL;
        }
    }
    PGresult *r = PQgetResult(c), *extra;
    while ((extra = PQgetResult(c)))
        PQclear(extra);
    if (!r || PQstatus(c) != CONNECTION_OK) {
        sched_pg_error(c, r, "query", err, errlen);
        PQclear(r);
        return NULL;
    }
    return r;
}

/* PostgreSQL is unreachable (or refuses what the role needs): 503 and one log line per
 * distinct reason. */
void sched_pg_problem(struct scheduler *s, const char *why)
{
    if (strcmp(s->problem, why) != 0)
        log_error("postgres: %s", why);
    snprintf(s->problem, sizeof s->problem, "%s", why);
    metric_set(s->m_pg_up, 0);
    char reason[METRICS_REASON_MAX];
    snprintf(reason, sizeof reason, "postgres: %s", why);
    metrics_health_set(s->m, reason);
}

void sched_pg_fine(struct scheduler *s)
{
    if (s->problem[0])
        log_info("postgres: reachable again");
    s->problem[0] = '\0';
    metric_set(s->m_pg_up, 1);
    metrics_health_set(s->m, NULL);
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
        if (sched_leadership_tick(s) == -2) {
            s->exit_code = 1;
            break;
        }
        if (s->leader)
            sched_jobs_tick(s);
        sleep_until(start + s->cfg.tick_ms);
    }
    sched_step_down(s, "stopping; the schedule lock is free for another scheduler");
    sched_pg_drop(&s->lock); /* ends the session: PostgreSQL releases the lock at once */
    log_info("schedule role stopped");
    return s->exit_code;
}
