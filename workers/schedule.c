/*
 * schedule: the schedule role's lifecycle, its PostgreSQL health and its loop; the
 * parts are listed in workers/schedule_int.h. Both PostgreSQL sessions are
 * common/pgsession (keepalives, session settings, queries with a deadline).
 */
#include "schedule.h"

#include "daemon.h"
#include "log.h"
#include "schedule_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const sched_job_names[JOB_COUNT] = {"recalc",    "period_close", "appeal_window",
                                                "reminders", "housekeeping", "partitions"};

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
    /* The lock session speaks for both: "up" once the role's check passed on it. */
    pgsession_init(&s->lock, s->cfg.postgres_dsn, NULL, m, s->m_pg_up);
    s->lock.app = "kinerja-schedule-lock";
    s->lock.keepalives = true;
    s->lock.setup = SCHEDULE_SERVER_KEEPALIVES;
    s->lock.up_by_role = true;
    pgsession_init(&s->work, s->cfg.postgres_dsn, NULL, NULL, NULL);
    s->work.app = "kinerja-schedule";
    s->work.keepalives = true;
    s->work.setup = SCHEDULE_SERVER_KEEPALIVES "; " SCHEDULE_STATEMENT_TIMEOUT;
    s->work.up_by_role = true;
    s->work.quiet = true;
    return s;
}

void sched_redis_drop(struct scheduler *s)
{
    rlink_close(&s->redis);
}

void scheduler_destroy(struct scheduler **ps)
{
    struct scheduler *s = *ps;
    if (!s)
        return;
    pgsession_close(&s->work);
    pgsession_close(&s->lock);
    sched_redis_drop(s);
    free(s);
    *ps = NULL;
}

/* ---- PostgreSQL health and errors ----------------------------------------------------- */

/* The session's last error, one line. */
void sched_pg_error(const struct pgsession *p, const PGresult *r, const char *what, char *err, size_t errlen)
{
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = p->db && p->db->conn ? PQerrorMessage(p->db->conn) : "not connected";
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

/* PostgreSQL is unreachable (or refuses what the role needs), on either session: the
 * lock session says it (once a spell), the gauge 0, /healthz 503 with why. */
void sched_pg_problem(struct scheduler *s, const char *why)
{
    pgsession_down(&s->lock, why);
}

/* What the role needs worked: "regained" after a spell down, the gauge 1, /healthz 200. */
void sched_pg_fine(struct scheduler *s)
{
    pgsession_fine(&s->lock);
}

/* ---- the loop ------------------------------------------------------------------------ */

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
        daemon_sleep_ms(start + s->cfg.tick_ms - daemon_now_ms());
    }
    sched_step_down(s, "stopping; the schedule lock is free for another scheduler");
    pgsession_drop(&s->lock); /* ends the session: PostgreSQL releases the lock at once */
    log_info("schedule role stopped");
    return s->exit_code;
}
