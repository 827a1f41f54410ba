/*
 * inboxstore: reads of notifications, result states and event outcomes (see
 * inboxstore.h). Fixed SQL text with parameters only; the inbox is streamed in libpq's
 * single-row mode.
 */
#include "inboxstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- one result */

static const char SQL_RESULT[] = "SELECT r.state::text, r.version, r.predikat,"
                                 "       to_char(r.appeal_deadline, 'YYYY-MM-DD HH24:MI')"
                                 " FROM employees e"
                                 " LEFT JOIN results r ON r.employee = e.nip AND r.period = $2"
                                 " WHERE e.nip = $1";

int inboxstore_result(struct pgstore *db, const char *nip, const char *period, struct inboxstore_result *out)
{
    memset(out, 0, sizeof *out);
    const char *params[2] = {nip, period};
    PGresult *res = pgstore_query(db, "result", SQL_RESULT, 2, params);
    if (!res)
        return -1;
    if (PQntuples(res) > 0) {
        out->employee_known = true;
        const char *state = pgstore_text(res, 0, 0);
        if (state) {
            out->exists = true;
            snprintf(out->state, sizeof out->state, "%s", state);
            out->version = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
            const char *p = pgstore_text(res, 0, 2);
            snprintf(out->predikat, sizeof out->predikat, "%s", p ? p : "");
            const char *d = pgstore_text(res, 0, 3);
            snprintf(out->appeal_deadline, sizeof out->appeal_deadline, "%s", d ? d : "");
        }
    }
    PQclear(res);
    return 0;
}

/* ---------------------------------------------------------------- one event */

static const char SQL_OUTCOME[] = "SELECT EXISTS (SELECT 1 FROM event_log WHERE id = $1::uuid),"
                                  "       (SELECT reason FROM rejected_events WHERE event_id = $1::uuid)";

int inboxstore_event_outcome(struct pgstore *db, const char *event_id, enum inboxstore_outcome *out,
                             char *reason, size_t reasonlen)
{
    *out = INBOXSTORE_NOT_YET;
    if (reasonlen)
        reason[0] = '\0';
    const char *params[1] = {event_id};
    PGresult *res = pgstore_query(db, "event", SQL_OUTCOME, 1, params);
    if (!res)
        return -1;
    const char *stored = pgstore_text(res, 0, 0);
    const char *why = pgstore_text(res, 0, 1);
    if (stored && stored[0] == 't') {
        *out = INBOXSTORE_STORED;
    } else if (why) {
        *out = INBOXSTORE_REJECTED;
        if (reasonlen)
            snprintf(reason, reasonlen, "%s", why);
    }
    PQclear(res);
    return 0;
}

int inboxstore_known(struct pgstore *db, const char *nip, bool *known)
{
    *known = false;
    const char *params[1] = {nip};
    PGresult *res = pgstore_query(
        db, "employee",
        "SELECT 1 FROM employees WHERE nip = $1 UNION ALL SELECT 1 FROM evaluators WHERE id = $1", 1, params);
    if (!res)
        return -1;
    *known = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

/* ---------------------------------------------------------------- the inbox */

/* $2 = 0: no limit. */
static const char SQL_INBOX[] =
    "SELECT n.id::text, n.kind, n.recipient, n.employee, e.name, n.period, n.version,"
    "       to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "       n.status, n.payload::text, n.superseded_at IS NOT NULL,"
    "       (SELECT s.version FROM notifications s"
    "        WHERE s.employee = n.employee AND s.period = n.period AND s.id = n.superseded_by),"
    "       to_char(n.created_at, 'YYYY-MM-DD HH24:MI')"
    " FROM notifications n"
    " LEFT JOIN employees e ON e.nip = n.employee"
    " WHERE n.recipient = $1"
    " ORDER BY n.created_at DESC, n.id DESC"
    " LIMIT CASE WHEN $2::bigint > 0 THEN $2::bigint END";

static const char SQL_INBOX_COUNT[] = "SELECT count(*) FROM notifications WHERE recipient = $1";

struct inbox_walk {
    inboxstore_fn fn;
    void *ctx;
};

static int inbox_row(const PGresult *res, void *arg)
{
    struct inbox_walk *w = arg;
    struct inboxstore_notification n = {0};
    n.id = pgstore_text(res, 0, 0);
    n.kind = pgstore_text(res, 0, 1);
    n.recipient = pgstore_text(res, 0, 2);
    n.employee = pgstore_text(res, 0, 3);
    n.employee_name = pgstore_text(res, 0, 4);
    n.period = pgstore_text(res, 0, 5);
    const char *v = pgstore_text(res, 0, 6);
    n.has_version = v != NULL;
    n.version = v ? (int)strtol(v, NULL, 10) : 0;
    n.created_at = pgstore_text(res, 0, 7);
    n.status = pgstore_text(res, 0, 8);
    n.payload_json = pgstore_text(res, 0, 9);
    const char *sup = pgstore_text(res, 0, 10);
    n.superseded = sup && sup[0] == 't';
    n.created_local = pgstore_text(res, 0, 12);
    const char *sv = pgstore_text(res, 0, 11);
    n.has_superseded_by_version = sv != NULL;
    n.superseded_by_version = sv ? (int)strtol(sv, NULL, 10) : 0;
    return w->fn(&n, w->ctx);
}

int inboxstore_each(struct pgstore *db, const char *recipient, long limit, inboxstore_fn fn, void *ctx,
                    long long *total)
{
    const char *cparams[1] = {recipient};
    if (total) {
        PGresult *c = pgstore_query(db, "inbox", SQL_INBOX_COUNT, 1, cparams);
        if (!c)
            return -1;
        *total = strtoll(PQgetvalue(c, 0, 0), NULL, 10);
        PQclear(c);
    }
    char lim[32];
    snprintf(lim, sizeof lim, "%ld", limit > 0 ? limit : 0L);
    const char *params[2] = {recipient, lim};
    struct inbox_walk w = {fn, ctx};
    return pgstore_each_row(db, "inbox", SQL_INBOX, 2, params, inbox_row, &w);
}
