/*
 * inboxstore: the read side of the workflow in PostgreSQL (schemas/0003_workflow.sql),
 * for the CLI: one person's notifications (`kinerja inbox`), a result's state and
 * current version (what `kinerja signoff` signs when no version is given), and what
 * became of one sent event (stored in event_log, or refused into rejected_events with
 * its reason), which `kinerja signoff|appeal|decide` wait for.
 *
 * Read only; only parameterized SQL. It shares the pgstore handle (connection and
 * hiredis-style error carrying: functions return 0 / -1 and the caller reads
 * db->errstr). Called by tools/cmd_inbox.c and tools/wfevent.c. The rows are written by
 * the workflow's SQL (the outbox), never here.
 *
 * Glossary: pejabat penilai = the employee's direct supervisor, who signs off a result;
 * keberatan = the employee's appeal, decided by the supervisor's own supervisor.
 */
#ifndef KINERJA_INBOXSTORE_H
#define KINERJA_INBOXSTORE_H

#include "pgstore.h"

#include <stdbool.h>
#include <stddef.h>

#define INBOXSTORE_STATE_MAX 32
#define INBOXSTORE_TEXT_MAX 512

/* A result's workflow position. exists false: no result row for (employee, period). */
struct inboxstore_result {
    bool employee_known; /* the NIP is in the organisation */
    bool exists;
    char state[INBOXSTORE_STATE_MAX];           /* result_state: collecting, pending_signoff, ... */
    int version;                                /* the current score version; 0 = none yet */
    char predikat[INBOXSTORE_STATE_MAX];        /* "" when not decided */
    char appeal_deadline[INBOXSTORE_STATE_MAX]; /* "YYYY-MM-DD HH:MM" in the session's time zone, or "" */
};

/* Reads the result of nip for period. Returns 0 (see out->exists) or -1. */
int inboxstore_result(struct pgstore *db, const char *nip, const char *period, struct inboxstore_result *out);

enum inboxstore_outcome {
    INBOXSTORE_NOT_YET, /* in neither table: the ingest worker has not stored it yet */
    INBOXSTORE_STORED,  /* in event_log */
    INBOXSTORE_REJECTED /* in rejected_events; reason says why */
};

/* What became of the event with this id. reason (reasonlen bytes, may be truncated)
 * gets the rejection reason. Returns 0 or -1. */
int inboxstore_event_outcome(struct pgstore *db, const char *event_id, enum inboxstore_outcome *out,
                             char *reason, size_t reasonlen);

/* Whether nip is in the organisation: an employee's NIP or an evaluator's id (SPEC 4:
 * evaluators who are not ASN, table evaluators). Returns 0 or -1. */
int inboxstore_known(struct pgstore *db, const char *nip, bool *known);

/* One notification. Strings point into the query result and live only during the
 * callback; NULL when absent. */
struct inboxstore_notification {
    const char *id;            /* uuid */
    const char *kind;          /* signoff_requested, signoff_reminder, result_approved, ... */
    const char *recipient;     /* NIP, or an evaluator id */
    const char *employee;      /* NIP the notification is about */
    const char *employee_name; /* NULL when the employee left the organisation */
    const char *period;
    bool has_version;
    int version;
    const char *created_at;    /* ISO 8601 UTC, "2026-03-31T10:00:00.123456Z" */
    const char *created_local; /* "2026-03-31 17:00" in the session's time zone (pgstore_use_time_zone) */
    const char *status;        /* queued, sent, dead */
    const char *payload_json;  /* the payload object as text */
    bool superseded;           /* a newer signoff_requested of the same result replaced it */
    bool has_superseded_by_version;
    int superseded_by_version; /* the version the newer request names */
};

/* Return non-zero to stop; that value is returned by the iterator. */
typedef int (*inboxstore_fn)(const struct inboxstore_notification *n, void *ctx);

/* Calls fn for the newest `limit` notifications of recipient (limit 0: all), newest
 * first, streamed row by row. *total (may be NULL) gets how many the recipient has in
 * all. Returns 0, fn's non-zero value (the rest of the rows are discarded), or -1. */
int inboxstore_each(struct pgstore *db, const char *recipient, long limit, inboxstore_fn fn, void *ctx,
                    long long *total);

#endif
