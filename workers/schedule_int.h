/*
 * schedule_int: what the parts of the schedule role share (workers/schedule.h says what
 * the role does): the scheduler's state, and the functions each part offers the others.
 *   schedule.c         lifecycle, the PostgreSQL health (the sessions themselves are
 *                      common/pgsession: keepalives, queries with a deadline), the loop
 *   schedule_leader.c  leadership: the advisory lock on a connection of its own
 *   schedule_jobs.c    the jobs' connection and the jobs: recalc, period close, appeal
 *                      window, reminders, and the order of a tick
 *   schedule_trim.c    housekeeping: trimming the streams below what every group needs
 * Not for use outside workers/schedule*.c.
 */
#ifndef KINERJA_WORKER_SCHEDULE_INT_H
#define KINERJA_WORKER_SCHEDULE_INT_H

#include "cron.h"
#include "pgsession.h"
#include "rstream.h"
#include "schedule.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define SCHEDULE_ERR_MAX 512
/* TCP keepalives of both connections, client side (libpq: pgstore_connect_as) and server
 * side (the session's settings, the same numbers): a peer that vanished without closing
 * is noticed within about idle + interval x count seconds, so a dead leader's lock does
 * not outlive it long. */
#define SCHEDULE_SERVER_KEEPALIVES                                                                           \
    "SET tcp_keepalives_idle = " PGSTORE_KEEPALIVE_IDLE_S                                                    \
    "; SET tcp_keepalives_interval = " PGSTORE_KEEPALIVE_INTERVAL_S                                          \
    "; SET tcp_keepalives_count = " PGSTORE_KEEPALIVE_COUNT                                                  \
    "; SET tcp_user_timeout = " PGSTORE_TCP_USER_TIMEOUT_MS
/* No job statement runs longer than this (they are set-based and normally take ms). */
#define SCHEDULE_STATEMENT_TIMEOUT "SET statement_timeout = '300s'"
#define SCHEDULE_ERROR_REPEAT_MS 60000 /* an unchanged job error is logged once a minute */
#define SCHEDULE_COLLAPSE_MAX 1000000  /* missed cron minutes folded into one run, per tick */
#define SCHEDULE_STREAM_ID_MAX 48
#define SCHEDULE_SQLSTATE_NOT_LEADER "55P03" /* lock_not_available, from kinerja_schedule_fence */
#define SCHEDULE_SQLSTATE_BAD_VALUE "22023"  /* invalid_parameter_value: an unknown time zone */

enum job {
    JOB_RECALC,
    JOB_PERIOD_CLOSE,
    JOB_APPEAL_WINDOW,
    JOB_REMINDERS,
    JOB_HOUSEKEEPING,
    JOB_PARTITIONS,
    JOB_COUNT
};
extern const char *const sched_job_names[JOB_COUNT]; /* metric labels and log prefixes */

struct scheduler {
    struct scheduler_config cfg;
    struct cron recalc;
    char identity[SCHEDULE_IDENTITY_MAX];

    struct pgsession lock; /* the leadership session: holds the advisory lock; its state is
                            * the role's PostgreSQL health (gauge, /healthz, log lines) */
    struct pgsession work; /* the jobs' session (quiet: its troubles are said through lock) */
    char lock_pid[16];     /* backend pid of the lock connection, for the fence */
    bool leader;
    bool leader_ready;   /* settings published and schedule_leader written */
    bool standby_logged; /* "standby" said since the last change */
    bool tz_checked;
    bool idle_warned;
    int exit_code;
    char last_error[SCHEDULE_ERR_MAX]; /* the last job error logged, and when */
    long long last_error_ms;

    bool recalc_primed;
    int64_t recalc_next; /* wall-clock minute (cron_time_to_minutes) of the next run */
    long long next_reminders_ms, next_housekeeping_ms, next_partitions_ms;
    struct rlink redis;

    struct metrics *m;
    struct metric *m_leader, *m_changes, *m_pg_up;
    struct metric *m_runs[JOB_COUNT], *m_errors[JOB_COUNT], *m_last_ok[JOB_COUNT];
    struct metric *m_recalcs, *m_closed, *m_moved, *m_requests, *m_reminders, *m_finalized, *m_trimmed;
};

/* schedule.c: PostgreSQL health and errors */
void sched_pg_error(const struct pgsession *p, const PGresult *r, const char *what, char *err, size_t errlen);
bool sched_sqlstate_is(const PGresult *r, const char *code);
void sched_pg_problem(struct scheduler *s, const char *why);
void sched_pg_fine(struct scheduler *s);
void sched_redis_drop(struct scheduler *s);

/* schedule_leader.c */
void sched_step_down(struct scheduler *s, const char *why);
int sched_leadership_tick(struct scheduler *s); /* 0, or -2 on a fatal configuration error */

/* schedule_jobs.c */
void sched_job_failed(struct scheduler *s, enum job j, PGresult *r, const char *what);
PGresult *sched_job_query(struct scheduler *s, const char *sql, int n, const char *const *params);
void sched_job_ran(struct scheduler *s, int job);
void sched_jobs_tick(struct scheduler *s);

/* schedule_trim.c */
void sched_job_housekeeping(struct scheduler *s);

#endif
