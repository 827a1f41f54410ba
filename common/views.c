/*
 * views: the JSON documents shared by the CLI's --json and kinerja-web (see views.h).
 */
#include "views.h"

#include "event.h"
#include "inboxstore.h"
#include "resultstore.h"
#include "rstream.h"
#include "score.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_ID_CHARS_MAX 64                      /* a NIP or an evaluator id */
#define VIEW_ID_BYTES_MAX (VIEW_ID_CHARS_MAX * 4) /* in UTF-8 */
#define VIEW_QUEUE_WARNINGS_MAX 1024              /* bytes of one queue entry's warnings text */
#define VIEW_QUEUE_WARNING_PARTS 4                /* calibration, hidden groups, late events, curve */
#define VIEW_REPORT_CELL_MAX 64                   /* bytes of a formatted number or count */
#define VIEW_YEAR_CHARS 4                         /* an annual period, "YYYY" (SPEC 3) */
#define VIEW_STR_(x) #x
#define VIEW_STR(x) VIEW_STR_(x)

/* ---------------------------------------------------------------- errors */

static int view_fail(struct buf *out, size_t mark, int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Resets out to mark, writes the reason into err and returns rc. */
static int view_fail(struct buf *out, size_t mark, int rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (out && out->len > mark) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
    }
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* "PostgreSQL: <reason>", with a hint when the schema is missing. */
static int view_db_fail(struct pgstore *db, struct buf *out, size_t mark, char *err, size_t errlen)
{
    return view_fail(out, mark, VIEW_ERROR, err, errlen, "PostgreSQL: %s%s", db->errstr,
                     strstr(db->errstr, "does not exist") ? " (run `kinerja migrate`?)" : "");
}

static int view_oom(struct buf *out, size_t mark, char *err, size_t errlen)
{
    return view_fail(out, mark, VIEW_ERROR, err, errlen, "out of memory (or the output bound reached)");
}

/* Sets the session's time zone to tz (NULL: keep it). */
static int view_use_tz(struct pgstore *db, const char *tz, struct buf *out, size_t mark, char *err,
                       size_t errlen)
{
    if (!tz)
        return pgstore_require_conn(db) < 0 ? view_db_fail(db, out, mark, err, errlen) : VIEW_OK;
    if (pgstore_use_time_zone(db, tz) < 0)
        return view_fail(out, mark, VIEW_ERROR, err, errlen, "%s", db->errstr);
    return VIEW_OK;
}

/* "s" as a JSON string, or null for NULL. */
static int view_json_str(struct buf *b, const char *s)
{
    if (!s)
        return buf_puts(b, "null");
    int rc = buf_putc(b, '"');
    rc |= buf_json_escape(b, s, strlen(s));
    rc |= buf_putc(b, '"');
    return rc;
}

/* Appends jansson's compact text of j (consumed). */
static int view_put_json(struct buf *b, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    int rc = text ? buf_puts(b, text) : -1;
    free(text);
    return rc;
}

/* ---------------------------------------------------------------- score */

static int view_score_missing(const struct resultstore_score *s, enum resultstore_found found,
                              const char *nip, const char *period, int version, struct buf *out, size_t mark,
                              char *err, size_t errlen)
{
    switch (found) {
    case RESULTSTORE_NO_EMPLOYEE:
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "unknown NIP %s (not in the organisation; see `kinerja org import`)", nip);
    case RESULTSTORE_NO_RESULT:
        if (s->state)
            return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                             "%s has no score version for period %s yet (state %s)", nip, period, s->state);
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen, "%s has no result for period %s yet", nip,
                         period);
    case RESULTSTORE_NO_VERSION:
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "%s has no version %d for period %s (the current one is %d)", nip, version, period,
                         s->current_version);
    case RESULTSTORE_FOUND:
        break;
    }
    return VIEW_OK;
}

/* {"employee","period","version","state", the stored object's members, "history",
 * "time_zone"}: the stored text is spliced in unchanged, so the numbers are exactly what
 * the score worker wrote. */
static int view_score_json(const struct resultstore_score *s, const char *period, const char *history,
                           const char *periodic, const char *tz, struct buf *out, size_t mark, char *err,
                           size_t errlen)
{
    const char *body = s->result_json + strspn(s->result_json, " \t\r\n");
    const char *end = strrchr(body, '}');
    if (*body != '{' || !end)
        return view_fail(out, mark, VIEW_ERROR, err, errlen,
                         "the stored result of version %d is not a JSON object", s->version);
    body++;
    bool empty = body + strspn(body, " \t\r\n") == end;
    int rc = buf_puts(out, "{\"employee\":\"");
    rc |= buf_json_escape(out, s->employee, strlen(s->employee));
    rc |= buf_puts(out, "\",\"period\":\"");
    rc |= buf_json_escape(out, period, strlen(period));
    rc |= buf_printf(out, "\",\"version\":%d,\"state\":\"", s->version);
    rc |= buf_json_escape(out, s->state, strlen(s->state));
    rc |= buf_puts(out, empty ? "\"" : "\",");
    rc |= buf_append(out, body, (size_t)(end - body)); /* the stored members, unchanged */
    rc |= buf_puts(out, ",\"history\":");
    rc |= buf_puts(out, history ? history : "[]");
    if (periodic) { /* an annual result: its periodic results beside it (SPEC 5.9) */
        rc |= buf_puts(out, ",\"periodic\":");
        rc |= buf_puts(out, periodic);
    }
    rc |= buf_puts(out, ",\"time_zone\":\"");
    rc |= buf_json_escape(out, tz ? tz : "", tz ? strlen(tz) : 0);
    rc |= buf_puts(out, "\"}");
    return rc < 0 ? view_oom(out, mark, err, errlen) : VIEW_OK;
}

int view_score(struct pgstore *db, const char *nip, const char *period, int version, const char *tz,
               struct buf *out, char *err, size_t errlen)
{
    size_t mark = out->len;
    if (!nip || !event_valid_nip(nip, strlen(nip)))
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen, "nip: must be 18 digits, got '%.64s'",
                         nip ? nip : "");
    if (!period || !event_valid_period(period, strlen(period)))
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "period: must be " EVENT_PERIOD_RULE ", got '%.64s'", period ? period : "");
    if (version < 0)
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "version: must be >= 1 (0 = current), got %d", version);
    int rc = view_use_tz(db, tz, out, mark, err, errlen);
    if (rc != VIEW_OK)
        return rc;
    struct resultstore_score s;
    enum resultstore_found found;
    char *history = NULL, *periodic = NULL;
    bool annual = strlen(period) == VIEW_YEAR_CHARS;
    if (resultstore_score(db, nip, period, version, &s, &found) < 0 ||
        (found == RESULTSTORE_FOUND && resultstore_history_json(db, nip, period, &history) < 0) ||
        (found == RESULTSTORE_FOUND && annual && resultstore_periodic_json(db, nip, period, &periodic) < 0))
        rc = view_db_fail(db, out, mark, err, errlen);
    else if (found != RESULTSTORE_FOUND)
        rc = view_score_missing(&s, found, nip, period, version, out, mark, err, errlen);
    else
        rc = view_score_json(&s, period, history, periodic, tz, out, mark, err, errlen);
    free(history);
    free(periodic);
    resultstore_score_clear(&s);
    return rc;
}

/* ---------------------------------------------------------------- queue */

/* Appends the names in a JSON array of strings, comma separated. */
static void view_queue_join(struct buf *b, json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s)
            buf_printf(b, "%s%s", i ? ", " : "", s);
    }
}

/*
 * The warnings of one queue entry, from its highlights, each as one text into the JSON
 * array `out` (may be NULL) and joined with "; " into line (empty: none).
 */
static void view_queue_warnings(const char *highlights_json, bool calibration, json_t *out, char *line,
                                size_t n)
{
    line[0] = '\0';
    json_t *h = highlights_json ? json_loads(highlights_json, 0, NULL) : NULL;
    struct buf parts[VIEW_QUEUE_WARNING_PARTS];
    size_t k = 0;
    for (size_t i = 0; i < VIEW_QUEUE_WARNING_PARTS; i++)
        buf_init(&parts[i], VIEW_QUEUE_WARNINGS_MAX);

    json_t *cal_values = json_object_get(h, "calibration_values");
    if (calibration || json_is_true(json_object_get(h, "calibration"))) {
        buf_puts(&parts[k], "calibration flagged");
        if (json_is_array(cal_values) && json_array_size(cal_values) > 0) {
            buf_puts(&parts[k], " on ");
            view_queue_join(&parts[k], cal_values);
        }
        k++;
    }
    json_t *hidden = json_object_get(h, "groups_hidden");
    if (json_is_array(hidden) && json_array_size(hidden) > 0) {
        buf_puts(&parts[k], "hidden rater groups: ");
        view_queue_join(&parts[k], hidden);
        k++;
    }
    json_t *late = json_object_get(h, "late_events");
    if (json_is_integer(late) && json_integer_value(late) > 0) {
        buf_printf(&parts[k], "%lld late event%s", (long long)json_integer_value(late),
                   json_integer_value(late) == 1 ? "" : "s");
        k++;
    }
    const char *curve = json_string_value(json_object_get(h, "curve"));
    if (curve) {
        buf_printf(&parts[k], "curve: %s", curve);
        k++;
    }
    size_t len = 0;
    for (size_t i = 0; i < k; i++) {
        const char *text = parts[i].data ? parts[i].data : "";
        if (out)
            json_array_append_new(out, json_stringn(text, parts[i].len));
        int w = snprintf(line + len, n - len, "%s%.*s", i ? "; " : "", (int)parts[i].len, text);
        if (w < 0 || (size_t)w >= n - len) {
            len = n - 1;
            break;
        }
        len += (size_t)w;
    }
    for (size_t i = 0; i < VIEW_QUEUE_WARNING_PARTS; i++)
        buf_free(&parts[i]);
    json_decref(h);
}

void view_queue_warnings_line(const char *highlights_json, bool calibration, char *line, size_t n)
{
    if (n)
        view_queue_warnings(highlights_json, calibration, NULL, line, n);
}

static int view_queue_entry(const struct resultstore_queued *q, void *ctx)
{
    json_t *arr = ctx;
    char warnings[VIEW_QUEUE_WARNINGS_MAX];
    json_t *w = json_array();
    view_queue_warnings(q->highlights_json, q->calibration, w, warnings, sizeof warnings);
    json_t *h = q->highlights_json ? json_loads(q->highlights_json, 0, NULL) : NULL;
    json_t *o = json_pack(
        "{s:s?, s:s?, s:s?, s:s?, s:i, s:s?, s:o, s:s?, s:b, s:o, s:o}", "employee", q->employee, "name",
        q->name, "unit", q->unit, "period", q->period, "version", q->version, "predikat", q->predikat,
        "score", q->has_score ? json_real(q->score) : json_null(), "pending_since", q->pending_since_iso,
        "calibration", q->calibration, "highlights", h ? h : json_null(), "warnings", w ? w : json_array());
    return !o || json_array_append_new(arr, o) < 0 ? 1 : 0;
}

int view_queue(struct pgstore *db, const char *supervisor, const char *tz, struct buf *out, char *err,
               size_t errlen)
{
    size_t mark = out->len;
    if (!supervisor || !*supervisor || strlen(supervisor) > VIEW_ID_BYTES_MAX)
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen, "supervisor: must be 1..%d characters",
                         VIEW_ID_CHARS_MAX);
    int rc = view_use_tz(db, tz, out, mark, err, errlen);
    if (rc != VIEW_OK)
        return rc;
    json_t *arr = json_array();
    if (!arr)
        return view_oom(out, mark, err, errlen);
    int q = resultstore_each_queued(db, supervisor, view_queue_entry, arr);
    if (q < 0) {
        json_decref(arr);
        return view_db_fail(db, out, mark, err, errlen);
    }
    if (q > 0) {
        json_decref(arr);
        return view_oom(out, mark, err, errlen);
    }
    return view_put_json(out, arr) < 0 ? view_oom(out, mark, err, errlen) : VIEW_OK;
}

/* ---------------------------------------------------------------- results */

/* Times in the session's time zone (view_use_tz), ISO 8601 with the offset. */
#define VIEW_TIME_ISO(x) "to_char(" x ", 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"

static const char SQL_VIEW_EMPLOYEE[] =
    "SELECT nip, name, unit, supervisor_nip FROM employees WHERE nip = $1";

/* The predikat a result holds now: the one revised on appeal, else the computed one. */
static const char SQL_VIEW_RESULTS[] =
    "SELECT r.period, r.version, r.state::text, coalesce(r.revised_predikat, r.predikat), "
    "r.score::text, " VIEW_TIME_ISO("v.computed_at") " FROM results r"
                                                     " LEFT JOIN score_versions v ON v.employee = r.employee "
                                                     "AND v.period = r.period AND v.version = r.version"
                                                     " WHERE r.employee = $1 ORDER BY r.period DESC";

int view_results(struct pgstore *db, const char *nip, const char *tz, struct buf *out, char *err,
                 size_t errlen)
{
    size_t mark = out->len;
    if (!nip || !event_valid_nip(nip, strlen(nip)))
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen, "nip: must be 18 digits, got '%.64s'",
                         nip ? nip : "");
    int rc = view_use_tz(db, tz, out, mark, err, errlen);
    if (rc != VIEW_OK)
        return rc;
    const char *params[1] = {nip};
    PGresult *emp = pgstore_query(db, "employee", SQL_VIEW_EMPLOYEE, 1, params);
    if (!emp)
        return view_db_fail(db, out, mark, err, errlen);
    if (PQntuples(emp) == 0) {
        PQclear(emp);
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "unknown NIP %s (not in the organisation; see `kinerja org import`)", nip);
    }
    PGresult *res = pgstore_query(db, "results", SQL_VIEW_RESULTS, 1, params);
    if (!res) {
        PQclear(emp);
        return view_db_fail(db, out, mark, err, errlen);
    }
    int w = buf_puts(out, "{\"employee\":");
    w |= view_json_str(out, pgstore_text(emp, 0, 0));
    w |= buf_puts(out, ",\"name\":");
    w |= view_json_str(out, pgstore_text(emp, 0, 1));
    w |= buf_puts(out, ",\"unit\":");
    w |= view_json_str(out, pgstore_text(emp, 0, 2));
    w |= buf_puts(out, ",\"supervisor\":");
    w |= view_json_str(out, pgstore_text(emp, 0, 3));
    w |= buf_puts(out, ",\"results\":[");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *score = pgstore_text(res, i, 4);
        w |= buf_puts(out, i ? ",{\"period\":" : "{\"period\":");
        w |= view_json_str(out, pgstore_text(res, i, 0));
        w |= buf_printf(out, ",\"version\":%d,\"state\":", atoi(PQgetvalue(res, i, 1)));
        w |= view_json_str(out, pgstore_text(res, i, 2));
        w |= buf_puts(out, ",\"predikat\":");
        w |= view_json_str(out, pgstore_text(res, i, 3));
        w |= buf_printf(out, ",\"score\":%s,\"computed_at\":", score ? score : "null"); /* numeric text */
        w |= view_json_str(out, pgstore_text(res, i, 5));
        w |= buf_putc(out, '}');
    }
    w |= buf_puts(out, "]}");
    PQclear(emp);
    PQclear(res);
    return w < 0 ? view_oom(out, mark, err, errlen) : VIEW_OK;
}

/* ---------------------------------------------------------------- periods */

#define VIEW_PERIODS_MAX 1000 /* periods listed at most (over eighty years of months) */

static const char SQL_VIEW_PERIODS[] = "SELECT period FROM results UNION SELECT period FROM feedback"
                                       " ORDER BY 1 DESC LIMIT $1::int";

int view_periods(struct pgstore *db, struct buf *out, char *err, size_t errlen)
{
    size_t mark = out->len;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", VIEW_PERIODS_MAX);
    const char *params[1] = {limit};
    PGresult *res = pgstore_query(db, "periods", SQL_VIEW_PERIODS, 1, params);
    if (!res)
        return view_db_fail(db, out, mark, err, errlen);
    int w = buf_puts(out, "{\"periods\":[");
    for (int i = 0; i < PQntuples(res); i++) {
        if (i)
            w |= buf_putc(out, ',');
        w |= view_json_str(out, pgstore_text(res, i, 0));
    }
    w |= buf_puts(out, "]}");
    PQclear(res);
    return w < 0 ? view_oom(out, mark, err, errlen) : VIEW_OK;
}

/* ---------------------------------------------------------------- event */

/* Where an event ended, first match wins: refused at ingest; stored but its result set
 * aside by the score worker; stored; never stored (a dead letter). */
static const char SQL_VIEW_EVENT[] =
    "SELECT state, place, type, source, employee, period, at, reason, client FROM ("
    " SELECT 1 AS ord, 'rejected' AS state, 'rejected_events' AS place, type, source, employee,"
    "        payload ->> 'period' AS period, " VIEW_TIME_ISO(
        "rejected_at") " AS at, reason, client"
                       "   FROM rejected_events WHERE event_id = $1::uuid"
                       " UNION ALL"
                       " SELECT 2, 'quarantined', 'score_quarantine', e.type, e.source, e.employee, "
                       "e.period, " VIEW_TIME_ISO(
                           "q.first_at") ", q.error, e.client"
                                         "   FROM event_log e JOIN score_quarantine q ON e.id = ANY "
                                         "(q.event_ids) WHERE e.id = $1::uuid"
                                         " UNION ALL"
                                         " SELECT 3, 'stored', 'event_log', type, source, employee, "
                                         "period, " VIEW_TIME_ISO(
                                             "stored_at") ","
                                                          "        NULL, client FROM event_log WHERE id = "
                                                          "$1::uuid"
                                                          " UNION ALL"
                                                          " SELECT 4, 'quarantined', 'dead_letters', NULL, "
                                                          "NULL, NULL, NULL, " VIEW_TIME_ISO(
                                                              "dead_at") ","
                                                                         "        'dead letter after ' || "
                                                                         "deliveries || ' deliveries: ' || "
                                                                         "coalesce(error, 'no error "
                                                                         "recorded'), NULL"
                                                                         "   FROM dead_letters WHERE "
                                                                         "event_id = $1::uuid"
                                                                         ") AS w ORDER BY ord LIMIT 1";

#define VIEW_EVENT_UNKNOWN_NOTE                                                                              \
    "not in PostgreSQL: the ingest worker may not have stored it yet (it may still be in the Redis "         \
    "stream), or the broker never accepted it"

int view_event(struct pgstore *db, const char *event_id, const char *tz, struct buf *out, char *err,
               size_t errlen)
{
    size_t mark = out->len;
    if (!event_id || !event_valid_uuid(event_id, strlen(event_id)))
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "id: must be a UUID (8-4-4-4-12 hexadecimal digits), got '%.64s'",
                         event_id ? event_id : "");
    int rc = view_use_tz(db, tz, out, mark, err, errlen);
    if (rc != VIEW_OK)
        return rc;
    const char *params[1] = {event_id};
    PGresult *res = pgstore_query(db, "event", SQL_VIEW_EVENT, 1, params);
    if (!res)
        return view_db_fail(db, out, mark, err, errlen);
    int w = buf_puts(out, "{\"id\":");
    w |= view_json_str(out, event_id);
    if (PQntuples(res) == 0) {
        w |= buf_puts(out, ",\"state\":\"unknown\",\"where\":null,\"type\":null,\"source\":null,"
                           "\"employee\":null,\"period\":null,\"at\":null,\"reason\":null,\"client\":null,"
                           "\"note\":\"" VIEW_EVENT_UNKNOWN_NOTE "\"}");
    } else {
        static const char *const keys[] = {"state",  "where", "type",   "source", "employee",
                                           "period", "at",    "reason", "client"};
        for (int c = 0; c < (int)(sizeof keys / sizeof keys[0]); c++) {
            w |= buf_printf(out, ",\"%s\":", keys[c]);
            w |= view_json_str(out, pgstore_text(res, 0, c));
        }
        w |= buf_puts(out, ",\"note\":null}");
    }
    PQclear(res);
    return w < 0 ? view_oom(out, mark, err, errlen) : VIEW_OK;
}

/* ---------------------------------------------------------------- rejections */

static const char SQL_VIEW_REJECTIONS[] =
    "SELECT event_id::text, type, source, client, reason, " VIEW_TIME_ISO(
        "rejected_at") " FROM rejected_events ORDER BY rejected_at DESC, event_id LIMIT $1::int";

int view_rejections(struct pgstore *db, long limit, const char *tz, struct buf *out, char *err, size_t errlen)
{
    size_t mark = out->len;
    if (limit <= 0 || limit > VIEW_REJECTIONS_MAX)
        limit = VIEW_REJECTIONS_MAX;
    int rc = view_use_tz(db, tz, out, mark, err, errlen);
    if (rc != VIEW_OK)
        return rc;
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *params[1] = {lim};
    PGresult *res = pgstore_query(db, "rejections", SQL_VIEW_REJECTIONS, 1, params);
    if (!res)
        return view_db_fail(db, out, mark, err, errlen);
    static const char *const keys[] = {"event_id", "type", "source", "client", "reason", "at"};
    int w = buf_puts(out, "{\"rejections\":[");
    for (int i = 0; i < PQntuples(res); i++) {
        w |= buf_puts(out, i ? ",{" : "{");
        for (int c = 0; c < (int)(sizeof keys / sizeof keys[0]); c++) {
            w |= buf_printf(out, "%s\"%s\":", c ? "," : "", keys[c]);
            w |= view_json_str(out, pgstore_text(res, i, c));
        }
        w |= buf_putc(out, '}');
    }
    w |= buf_puts(out, "]}");
    PQclear(res);
    return w < 0 ? view_oom(out, mark, err, errlen) : VIEW_OK;
}

/* ---------------------------------------------------------------- not yet moved */

/* ---------------------------------------------------------------- inbox */

struct view_inbox_walk {
    struct buf *out;
    size_t rows;
    bool failed;
};

/* One notification: its columns, then the stored payload spliced in unchanged (jsonb
 * text: valid JSON); each element on its own line. */
static int view_inbox_row(const struct inboxstore_notification *n, void *ctx)
{
    struct view_inbox_walk *j = ctx;
    struct buf *b = j->out;
    int rc = buf_puts(b, j->rows ? ",\n{\"id\":\"" : "\n{\"id\":\"");
    const char *keys[] = {"kind", "recipient", "employee", "period"};
    const char *vals[] = {n->kind, n->recipient, n->employee, n->period};
    rc |= buf_json_escape(b, n->id ? n->id : "", n->id ? strlen(n->id) : 0);
    rc |= buf_putc(b, '"');
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        rc |= buf_printf(b, ",\"%s\":\"", keys[k]);
        rc |= buf_json_escape(b, vals[k] ? vals[k] : "", vals[k] ? strlen(vals[k]) : 0);
        rc |= buf_putc(b, '"');
    }
    if (n->has_version)
        rc |= buf_printf(b, ",\"version\":%d", n->version);
    else
        rc |= buf_puts(b, ",\"version\":null");
    rc |= buf_puts(b, ",\"created_at\":\"");
    rc |= buf_json_escape(b, n->created_at ? n->created_at : "", n->created_at ? strlen(n->created_at) : 0);
    rc |= buf_puts(b, "\",\"status\":\"");
    rc |= buf_json_escape(b, n->status ? n->status : "", n->status ? strlen(n->status) : 0);
    rc |= buf_printf(b, "\",\"superseded\":%s", n->superseded ? "true" : "false");
    if (n->has_superseded_by_version)
        rc |= buf_printf(b, ",\"superseded_by_version\":%d", n->superseded_by_version);
    else
        rc |= buf_puts(b, ",\"superseded_by_version\":null");
    rc |= buf_puts(b, ",\"payload\":");
    rc |= buf_puts(b, n->payload_json ? n->payload_json : "null");
    rc |= buf_putc(b, '}');
    if (rc < 0) {
        j->failed = true;
        return 1;
    }
    j->rows++;
    return 0;
}

int view_inbox(struct pgstore *db, const char *nip, long limit, const char *tz, struct buf *out, char *err,
               size_t errlen)
{
    size_t mark = out->len;
    if (!nip || (!event_valid_nip(nip, strlen(nip)) && !event_valid_evaluator_id(nip, strlen(nip))))
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "nip: must be 18 digits (or an evaluator id: 1..%d of A-Z a-z 0-9 . _ : -, not all "
                         "digits), got '%.64s'",
                         EVENT_EVALUATOR_ID_MAX, nip ? nip : "");
    if (limit < 0 || limit > VIEW_INBOX_LIMIT_MAX)
        return view_fail(out, mark, VIEW_ERROR, err, errlen, "limit: must be 0..%ld, got %ld",
                         VIEW_INBOX_LIMIT_MAX, limit);
    /* the CLI's messages: the store's reason as it is */
    bool known = false;
    if ((tz && pgstore_use_time_zone(db, tz) < 0) || inboxstore_known(db, nip, &known) < 0)
        return view_fail(out, mark, VIEW_ERROR, err, errlen, "%s", db->errstr);
    if (!known)
        return view_fail(out, mark, VIEW_NOT_FOUND, err, errlen,
                         "%s: unknown NIP (neither an employee nor an evaluator)", nip);
    struct view_inbox_walk j = {.out = out};
    int rc = buf_putc(out, '[');
    if (rc == 0 && inboxstore_each(db, nip, limit, view_inbox_row, &j, NULL) < 0)
        return view_fail(out, mark, VIEW_ERROR, err, errlen, "%s", db->errstr);
    if (rc < 0 || j.failed || buf_puts(out, j.rows ? "\n]" : "]") < 0)
        return view_oom(out, mark, err, errlen);
    return VIEW_OK;
}

/* ---------------------------------------------------------------- report */

void view_table_free(struct view_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* Appends a row of ncols cells (copied; NULL allowed). Records oom on failure. */
static void view_table_add_row(struct view_table *t, const char *const *cells)
{
    if (t->oom)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **p = realloc(t->cells, cap * t->ncols * sizeof *p);
        if (!p) {
            t->oom = true;
            return;
        }
        t->cells = p;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        row[c] = NULL;
        if (cells[c] && !(row[c] = strdup(cells[c])))
            t->oom = true;
    }
    t->nrows++;
}

const char *view_table_cell(const struct view_table *t, size_t r, size_t c)
{
    return t->cells[r * t->ncols + c];
}

/* Flat objects, one per row; number cells are emitted as they are (they were
 * formatted by this file as JSON numbers). */
static int view_table_json(struct buf *b, const struct view_table *t)
{
    int rc = buf_putc(b, '[');
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        rc |= buf_puts(b, r ? ",{" : "{");
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = view_table_cell(t, r, c);
            rc |= buf_puts(b, c ? ",\"" : "\"");
            rc |= buf_puts(b, t->cols[c].name);
            rc |= buf_puts(b, "\":");
            rc |= t->cols[c].kind != VIEW_COL_TEXT && v ? buf_puts(b, v) : view_json_str(b, v);
        }
        rc |= buf_putc(b, '}');
    }
    rc |= buf_putc(b, ']');
    return rc < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- unit and public */

static const struct view_column view_report_unit_cols[] = {
    {"unit", VIEW_COL_TEXT},
    {"name", VIEW_COL_TEXT},
    {"ikm", VIEW_COL_NUMBER},
    {"mutu", VIEW_COL_TEXT},
    {"ikm_n", VIEW_COL_NUMBER},
    {"satisfaction", VIEW_COL_NUMBER},
    {"satisfaction_n", VIEW_COL_NUMBER},
    {"results", VIEW_COL_NUMBER},
    {"sangat_baik", VIEW_COL_NUMBER},
    {"baik", VIEW_COL_NUMBER},
    {"butuh_perbaikan", VIEW_COL_NUMBER},
    {"kurang", VIEW_COL_NUMBER},
    {"sangat_kurang", VIEW_COL_NUMBER},
};
#define VIEW_REPORT_UNIT_COLS (sizeof view_report_unit_cols / sizeof view_report_unit_cols[0])
#define VIEW_REPORT_UNIT_RESULTS 7
#define VIEW_REPORT_UNIT_FIRST_PREDIKAT 8

/* The public report: the same columns, its counts over signed results only. */
static const struct view_column view_report_public_cols[] = {
    {"unit", VIEW_COL_TEXT},
    {"name", VIEW_COL_TEXT},
    {"ikm", VIEW_COL_NUMBER},
    {"mutu", VIEW_COL_TEXT},
    {"ikm_n", VIEW_COL_NUMBER},
    {"satisfaction", VIEW_COL_NUMBER},
    {"satisfaction_n", VIEW_COL_NUMBER},
    {"signed_results", VIEW_COL_NUMBER},
    {"sangat_baik", VIEW_COL_NUMBER},
    {"baik", VIEW_COL_NUMBER},
    {"butuh_perbaikan", VIEW_COL_NUMBER},
    {"kurang", VIEW_COL_NUMBER},
    {"sangat_kurang", VIEW_COL_NUMBER},
};
_Static_assert(sizeof view_report_public_cols == sizeof view_report_unit_cols,
               "public and unit reports share a row");

struct view_report_units {
    bool public_only;
    const char *only_unit; /* NULL: every unit */
    struct view_table table;
    struct buf *json; /* the nested SPEC 9 shape, built alongside (NULL: not wanted) */
    size_t n;
    int rc;
};

static long long view_report_signed_decided(const struct resultstore_unit *u)
{
    long long n = 0;
    for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
        n += u->signed_predikat[k];
    return n;
}

/* The unit report counts every current result; the public one signed results only. */
static int view_report_unit_json(struct buf *b, const struct resultstore_unit *u, bool public_only,
                                 bool show_predikat, size_t index)
{
    const long long *counts = public_only ? u->signed_predikat : u->predikat;
    int rc = buf_puts(b, index ? ",{\"unit\":" : "{\"unit\":");
    rc |= view_json_str(b, u->unit);
    rc |= buf_puts(b, ",\"name\":");
    rc |= view_json_str(b, u->name);
    rc |= buf_puts(b, ",\"ikm\":");
    if (u->has_ikm) {
        rc |= buf_printf(b, "{\"value\":%.2f,\"mutu\":", u->ikm);
        rc |= view_json_str(b, u->mutu);
        rc |= buf_printf(b, ",\"n\":%d}", u->skm_n);
    } else {
        rc |= buf_puts(b, "null");
    }
    rc |= buf_puts(b, ",\"satisfaction\":{\"mean\":");
    if (u->has_satisfaction)
        rc |= buf_printf(b, "%.2f", u->satisfaction);
    else
        rc |= buf_puts(b, "null");
    rc |= buf_printf(b, ",\"n\":%d},\"results\":%lld,\"signed_results\":%lld,", u->counted, u->results,
                     u->signed_results);
    if (public_only)
        rc |= buf_puts(b, "\"predikat_basis\":\"signed\",");
    rc |= buf_puts(b, "\"predikat\":");
    if (show_predikat) {
        for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
            rc |= buf_printf(b, "%s\"%s\":%lld", k ? "," : "{", event_predikat_codes[k], counts[k]);
        rc |= buf_putc(b, '}');
    } else {
        rc |= buf_puts(b, "null");
    }
    rc |= buf_putc(b, '}');
    return rc < 0 ? -1 : 0;
}

static int view_report_collect_unit(const struct resultstore_unit *u, void *ctx)
{
    struct view_report_units *ru = ctx;
    if (ru->only_unit && (!u->unit || strcmp(u->unit, ru->only_unit)))
        return 0;
    bool show = !ru->public_only || view_report_signed_decided(u) >= VIEW_REPORT_PUBLIC_MIN_RESULTS;
    const long long *counts = ru->public_only ? u->signed_predikat : u->predikat;
    char num[VIEW_REPORT_UNIT_COLS][VIEW_REPORT_CELL_MAX];
    const char *cells[VIEW_REPORT_UNIT_COLS] = {u->unit, u->name};
    if (u->has_ikm) {
        snprintf(num[2], sizeof num[2], "%.2f", u->ikm);
        cells[2] = num[2];
        cells[3] = u->mutu;
    }
    snprintf(num[4], sizeof num[4], "%d", u->skm_n);
    cells[4] = num[4];
    if (u->has_satisfaction) {
        snprintf(num[5], sizeof num[5], "%.2f", u->satisfaction);
        cells[5] = num[5];
    }
    snprintf(num[6], sizeof num[6], "%d", u->counted);
    cells[6] = num[6];
    snprintf(num[VIEW_REPORT_UNIT_RESULTS], sizeof num[VIEW_REPORT_UNIT_RESULTS], "%lld",
             ru->public_only ? u->signed_results : u->results);
    cells[VIEW_REPORT_UNIT_RESULTS] = num[VIEW_REPORT_UNIT_RESULTS];
    for (int k = 0; k < RESULTSTORE_PREDIKATS && show; k++) {
        snprintf(num[VIEW_REPORT_UNIT_FIRST_PREDIKAT + k], VIEW_REPORT_CELL_MAX, "%lld", counts[k]);
        cells[VIEW_REPORT_UNIT_FIRST_PREDIKAT + k] = num[VIEW_REPORT_UNIT_FIRST_PREDIKAT + k];
    }
    view_table_add_row(&ru->table, cells);
    if (ru->table.oom ||
        (ru->json && view_report_unit_json(ru->json, u, ru->public_only, show, ru->n++) < 0)) {
        ru->rc = -1;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- awards */

static const struct view_column view_report_award_cols[] = {
    {"unit", VIEW_COL_TEXT},  {"rank", VIEW_COL_NUMBER},   {"employee", VIEW_COL_TEXT},
    {"name", VIEW_COL_TEXT},  {"score", VIEW_COL_NUMBER},  {"predikat", VIEW_COL_TEXT},
    {"state", VIEW_COL_TEXT}, {"raters", VIEW_COL_NUMBER}, {"signed", VIEW_COL_BOOL},
};
#define VIEW_REPORT_AWARD_COLS (sizeof view_report_award_cols / sizeof view_report_award_cols[0])

struct view_report_awards {
    long top;
    const char *only_unit; /* NULL: every unit */
    struct view_table table;
    char *unit;  /* unit of the rows being ranked */
    long ranked; /* in that unit so far */
    int rc;
};

/*
 * Non-self raters of a result, from its perilaku.groups: the n of the supervisor, peer
 * and subordinate groups; a group hidden by anonymity holds at least one rating.
 * Returns -1 when the groups cannot be read.
 */
static int view_report_raters(const char *groups_json)
{
    static const int counted[] = {SCORE_GROUP_SUPERVISOR, SCORE_GROUP_PEER, SCORE_GROUP_SUBORDINATE};
    if (!groups_json)
        return -1;
    json_t *groups = json_loads(groups_json, 0, NULL);
    if (!json_is_object(groups)) {
        json_decref(groups);
        return -1;
    }
    long long n = 0;
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
        json_t *g = json_object_get(groups, score_group_names[counted[i]]);
        if (!json_is_object(g))
            continue;
        if (!json_is_true(json_object_get(g, "shown")))
            n += 1;
        else if (json_is_integer(json_object_get(g, "n")) && json_integer_value(json_object_get(g, "n")) > 0)
            n += json_integer_value(json_object_get(g, "n"));
    }
    json_decref(groups);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

static int view_report_collect_award(const struct resultstore_row *r, void *ctx)
{
    struct view_report_awards *ra = ctx;
    const char *unit = r->unit ? r->unit : "";
    if (!ra->unit || strcmp(ra->unit, unit)) {
        free(ra->unit);
        if (!(ra->unit = strdup(unit))) {
            ra->rc = -1;
            return 1;
        }
        ra->ranked = 0;
    }
    if ((ra->only_unit && strcmp(unit, ra->only_unit)) || ra->ranked >= ra->top || !r->has_score ||
        !r->predikat || r->calibration)
        return 0;
    int raters = view_report_raters(r->groups_json);
    if (raters < VIEW_REPORT_TRUST_MIN_RATERS)
        return 0;
    char rank[VIEW_REPORT_CELL_MAX], score[VIEW_REPORT_CELL_MAX], nraters[VIEW_REPORT_CELL_MAX];
    snprintf(rank, sizeof rank, "%ld", ++ra->ranked);
    snprintf(score, sizeof score, "%.2f", r->score);
    snprintf(nraters, sizeof nraters, "%d", raters);
    const char *cells[VIEW_REPORT_AWARD_COLS] = {unit,     rank,    r->employee,
                                                 r->name,  score,   r->predikat,
                                                 r->state, nraters, r->is_signed ? "true" : "false"};
    view_table_add_row(&ra->table, cells);
    if (ra->table.oom) {
        ra->rc = -1;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- training */

static const struct view_column view_report_training_cols[] = {
    {"employee", VIEW_COL_TEXT}, {"name", VIEW_COL_TEXT},   {"unit", VIEW_COL_TEXT},
    {"value", VIEW_COL_TEXT},    {"mean", VIEW_COL_NUMBER}, {"course", VIEW_COL_TEXT},
};
#define VIEW_REPORT_TRAINING_COLS (sizeof view_report_training_cols / sizeof view_report_training_cols[0])

struct view_report_training {
    const char *only_unit; /* NULL: every unit */
    struct view_table table;
    int rc;
};

static int view_report_collect_training(const struct resultstore_row *r, void *ctx)
{
    struct view_report_training *rt = ctx;
    if (!r->training_json || (rt->only_unit && (!r->unit || strcmp(r->unit, rt->only_unit))))
        return 0;
    json_t *arr = json_loads(r->training_json, JSON_DECODE_ANY, NULL);
    if (!json_is_array(arr)) {
        rt->table.unreadable++;
        json_decref(arr);
        return 0;
    }
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        const char *value = json_string_value(json_object_get(t, "value"));
        json_t *mean = json_object_get(t, "mean");
        char m[VIEW_REPORT_CELL_MAX];
        if (json_is_number(mean))
            snprintf(m, sizeof m, "%.2f", json_number_value(mean));
        const char *cells[VIEW_REPORT_TRAINING_COLS] = {r->employee,
                                                        r->name,
                                                        r->unit,
                                                        value,
                                                        json_is_number(mean) ? m : NULL,
                                                        json_string_value(json_object_get(t, "course"))};
        view_table_add_row(&rt->table, cells);
    }
    json_decref(arr);
    if (rt->table.oom) {
        rt->rc = -1;
        return 1;
    }
    return 0;
}

static const char *const view_report_kinds[] = {"unit", "awards", "training", "public"};
enum view_report_kind { VIEW_REPORT_UNIT, VIEW_REPORT_AWARDS, VIEW_REPORT_TRAINING, VIEW_REPORT_PUBLIC };

#define VIEW_REPORT_OOM "out of memory or output error"

/* The unit and public reports: one row per unit, the nested JSON into json (may be NULL). */
static int view_report_units(struct pgstore *db, bool public_only, const char *period, const char *only_unit,
                             struct view_table *t, struct buf *json, char *err, size_t errlen)
{
    struct view_report_units ru = {.public_only = public_only, .only_unit = only_unit, .json = json};
    ru.table.cols = public_only ? view_report_public_cols : view_report_unit_cols;
    ru.table.ncols = VIEW_REPORT_UNIT_COLS;
    if (public_only) {
        snprintf(ru.table.title, sizeof ru.table.title,
                 "Public unit report, period %s: predikat of signed results only (approved, appealed, final)",
                 period);
        ru.table.note = "Predikat counts are of signed results only (approved, appealed, final; the revised "
                        "predikat where an appeal revised it), shown only for units with at least " VIEW_STR(
                            VIEW_REPORT_PUBLIC_MIN_RESULTS) " signed results (\"-\" or null: suppressed). "
                                                            "No personal data.";
    } else {
        snprintf(ru.table.title, sizeof ru.table.title, "Unit report, period %s", period);
    }
    size_t mark = json ? json->len : 0;
    int rc = VIEW_OK;
    if (json && buf_putc(json, '[') < 0) {
        rc = view_fail(json, mark, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    } else {
        int q = resultstore_each_unit(db, period, view_report_collect_unit, &ru);
        if (q < 0)
            rc = view_db_fail(db, json, mark, err, errlen);
        else if (q > 0 || ru.rc < 0 || (json && buf_putc(json, ']') < 0))
            rc = view_fail(json, mark, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    }
    if (rc != VIEW_OK)
        view_table_free(&ru.table);
    *t = ru.table;
    return rc;
}

static int view_report_awards(struct pgstore *db, const char *period, long top, bool provisional,
                              const char *only_unit, struct view_table *t, char *err, size_t errlen)
{
    struct view_report_awards ra = {.top = top, .only_unit = only_unit};
    ra.table.cols = view_report_award_cols;
    ra.table.ncols = VIEW_REPORT_AWARD_COLS;
    if (provisional)
        snprintf(ra.table.title, sizeof ra.table.title,
                 "PROVISIONAL awards, period %s: NOT SIGNED results (collecting, pending_signoff, "
                 "returned), top %ld per unit",
                 period, top);
    else
        snprintf(ra.table.title, sizeof ra.table.title,
                 "Awards, period %s: top %ld per unit among signed results (approved, appealed, final)",
                 period, top);
    ra.table.note =
        provisional ? "NOT SIGNED: these results may still change and are no ranking for awards. Ranked by "
                      "predikat, then score. Trustworthy results only: a predikat and a numeric score, no "
                      "calibration flag, at least " VIEW_STR(VIEW_REPORT_TRUST_MIN_RATERS) " non-self raters."
                    : "Signed results only, ranked by predikat, then score. Trustworthy results only: a "
                      "predikat and a numeric score, no calibration flag, at least " VIEW_STR(
                          VIEW_REPORT_TRUST_MIN_RATERS) " non-self raters (supervisor, peers, subordinates). "
                                                        "`--provisional` lists the unsigned ones.";
    int q = resultstore_each_result(db, period, RESULTSTORE_BY_PREDIKAT_SCORE,
                                    provisional ? RESULTSTORE_UNSIGNED : RESULTSTORE_SIGNED,
                                    view_report_collect_award, &ra);
    free(ra.unit);
    int rc = VIEW_OK;
    if (q < 0)
        rc = view_db_fail(db, NULL, 0, err, errlen);
    else if (q > 0 || ra.rc < 0)
        rc = view_fail(NULL, 0, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    if (rc != VIEW_OK)
        view_table_free(&ra.table);
    *t = ra.table;
    return rc;
}

static int view_report_training(struct pgstore *db, const char *period, const char *only_unit,
                                struct view_table *t, char *err, size_t errlen)
{
    struct view_report_training rt = {.only_unit = only_unit};
    rt.table.cols = view_report_training_cols;
    rt.table.ncols = VIEW_REPORT_TRAINING_COLS;
    snprintf(rt.table.title, sizeof rt.table.title, "Training recommendations, period %s", period);
    int q = resultstore_each_result(db, period, RESULTSTORE_BY_EMPLOYEE, RESULTSTORE_ALL,
                                    view_report_collect_training, &rt);
    int rc = VIEW_OK;
    if (q < 0)
        rc = view_db_fail(db, NULL, 0, err, errlen);
    else if (q > 0 || rt.rc < 0)
        rc = view_fail(NULL, 0, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    if (rc != VIEW_OK)
        view_table_free(&rt.table);
    *t = rt.table;
    return rc;
}

int view_report_read(struct pgstore *db, const char *kind, const char *period,
                     const struct view_report_opts *o, struct view_table *t, struct buf *json, char *err,
                     size_t errlen)
{
    memset(t, 0, sizeof *t);
    size_t mark = json ? json->len : 0;
    int k = -1;
    for (size_t i = 0; kind && i < sizeof view_report_kinds / sizeof view_report_kinds[0]; i++)
        if (!strcmp(kind, view_report_kinds[i]))
            k = (int)i;
    if (k < 0)
        return view_fail(json, mark, VIEW_NOT_FOUND, err, errlen,
                         "kind: unknown report '%.32s' (unit, awards, training, public)", kind ? kind : "");
    if (!period || !event_valid_period(period, strlen(period)))
        return view_fail(json, mark, VIEW_NOT_FOUND, err, errlen,
                         "period: must be " EVENT_PERIOD_RULE ", got '%.64s'", period ? period : "");
    long top = o && o->top > 0 ? o->top : VIEW_REPORT_DEFAULT_TOP;
    if (top > VIEW_REPORT_TOP_MAX)
        return view_fail(json, mark, VIEW_ERROR, err, errlen, "top: must be 1..%d, got %ld",
                         VIEW_REPORT_TOP_MAX, top);
    const char *only_unit = o && o->unit && *o->unit ? o->unit : NULL;
    int rc;
    switch ((enum view_report_kind)k) {
    case VIEW_REPORT_UNIT:
    case VIEW_REPORT_PUBLIC:
        return view_report_units(db, k == VIEW_REPORT_PUBLIC, period, only_unit, t, json, err, errlen);
    case VIEW_REPORT_AWARDS:
        rc = view_report_awards(db, period, top, o && o->provisional, only_unit, t, err, errlen);
        break;
    default:
        rc = view_report_training(db, period, only_unit, t, err, errlen);
        break;
    }
    /* the flat reports: one object a row */
    if (rc == VIEW_OK && json && view_table_json(json, t) < 0) {
        view_table_free(t);
        return view_fail(json, mark, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    }
    return rc;
}

int view_report(struct pgstore *db, const char *kind, const char *period, const struct view_report_opts *o,
                const char *tz, struct buf *out, char *err, size_t errlen)
{
    struct view_table t;
    int rc = view_report_read(db, kind, period, o, &t, out, err, errlen);
    view_table_free(&t);
    return rc;
}

/* ---------------------------------------------------------------- status */

static json_t *view_status_num(bool ok, long long v)
{
    return ok ? json_integer(v) : json_null();
}

int view_status_json(const struct view_status_data *s, struct buf *out)
{
    json_t *root = json_object();
    json_t *results = json_object();
    json_t *notif = json_object();
    if (!root || !results || !notif) {
        json_decref(root);
        json_decref(results);
        json_decref(notif);
        return -1;
    }
    json_object_set_new(root, "stream_length", view_status_num(s->redis_ok, s->stream_length));
    json_object_set_new(root, "pending", view_status_num(s->redis_ok, s->pending));
    json_object_set_new(root, "stored", view_status_num(s->pg_ok, s->pg.stored));
    json_object_set_new(root, "rejected", view_status_num(s->pg_ok, s->pg.rejected));
    json_object_set_new(root, "dead", view_status_num(s->pg_ok, s->pg.dead));
    for (int i = 0; i < PG_RESULT_STATES; i++)
        json_object_set_new(results, pgstore_result_states[i], view_status_num(s->pg_ok, s->pg.results[i]));
    json_object_set_new(root, "results", results);
    for (int i = 0; i < PG_NOTIFICATION_STATES; i++)
        json_object_set_new(notif, pgstore_notification_states[i],
                            view_status_num(s->pg_ok, s->pg.notifications[i]));
    json_object_set_new(root, "notifications", notif);
    json_t *q = s->quarantine ? json_array() : json_null();
    for (int i = 0; s->quarantine && q && i < PQntuples(s->quarantine); i++) {
        json_t *row = json_object(), *ids = json_array();
        if (!row || !ids) {
            json_decref(row);
            json_decref(ids);
            break;
        }
        json_object_set_new(row, "employee", json_string(PQgetvalue(s->quarantine, i, 0)));
        json_object_set_new(row, "period", json_string(PQgetvalue(s->quarantine, i, 1)));
        json_object_set_new(row, "error", json_string(PQgetvalue(s->quarantine, i, 2)));
        const char *p = PQgetvalue(s->quarantine, i, 3);
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            json_array_append_new(ids, json_stringn(p, n));
            p += n + (comma ? 1 : 0);
        }
        json_object_set_new(row, "event_ids", ids);
        json_object_set_new(row, "since", json_string(PQgetvalue(s->quarantine, i, 4)));
        json_object_set_new(row, "tries", json_integer(strtoll(PQgetvalue(s->quarantine, i, 5), NULL, 10)));
        json_array_append_new(q, row);
    }
    json_object_set_new(root, "quarantined", q);
    json_object_set_new(root, "employees", view_status_num(s->pg_ok, s->pg.employees));
    json_object_set_new(root, "units", view_status_num(s->pg_ok, s->pg.units));
    json_object_set_new(root, "redis_ok", json_boolean(s->redis_ok));
    json_object_set_new(root, "postgres_ok", json_boolean(s->pg_ok));
    return view_put_json(out, root);
}

/* The quarantined results, oldest first; NULL (with the reason in s->quarantine_err)
 * when they cannot be read (a database before schemas/0008_quarantine.sql). */
static PGresult *view_status_quarantine(PGconn *c, struct view_status_data *s)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", VIEW_STATUS_QUARANTINE_MAX);
    const char *params[1] = {limit};
    PGresult *r =
        PQexecParams(c,
                     "SELECT employee, period, error, array_to_string(event_ids, ','),"
                     " to_char(first_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), tries"
                     " FROM score_quarantine ORDER BY first_at, employee, period LIMIT $1::int",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *m = PQerrorMessage(c);
        snprintf(s->quarantine_err, sizeof s->quarantine_err, "quarantined results: %.*s",
                 (int)strcspn(m, "\n"), m);
        PQclear(r);
        return NULL;
    }
    return r;
}

static bool view_status_redis(const struct config *cfg, struct view_status_data *s)
{
    char err[512];
    redisContext *c = rstream_connect(config_str(cfg, "redis.url"), (int)config_int(cfg, "redis.timeout_ms"),
                                      err, sizeof err);
    if (!c) {
        snprintf(s->redis_err, sizeof s->redis_err, "Redis unreachable: %s", err);
        return false;
    }
    bool ok = rstream_totals(c, (unsigned)config_int(cfg, "redis.shards"), RSTREAM_GROUP_INGEST,
                             &s->stream_length, &s->pending, err, sizeof err) == 0;
    if (!ok)
        snprintf(s->redis_err, sizeof s->redis_err, "Redis: %s", err);
    redisFree(c);
    return ok;
}

static bool view_status_postgres(const struct config *cfg, struct view_status_data *s)
{
    struct pgstore *db = pgstore_connect(config_str(cfg, "postgres.dsn"));
    if (!db) {
        snprintf(s->pg_err, sizeof s->pg_err, "out of memory");
        return false;
    }
    bool ok = false;
    if (db->err)
        snprintf(s->pg_err, sizeof s->pg_err, "PostgreSQL unreachable: %s", db->errstr);
    else if (pgstore_status(db, &s->pg) < 0)
        snprintf(s->pg_err, sizeof s->pg_err, "PostgreSQL: %s%s", db->errstr,
                 strstr(db->errstr, "does not exist") ? " (run `kinerja migrate`?)" : "");
    else
        ok = true;
    if (ok)
        s->quarantine = view_status_quarantine(db->conn, s);
    pgstore_destroy(&db);
    return ok;
}

int view_status_read(const struct config *cfg, struct view_status_data *s)
{
    memset(s, 0, sizeof *s);
    s->redis_ok = view_status_redis(cfg, s);
    s->pg_ok = view_status_postgres(cfg, s);
    return s->redis_ok && s->pg_ok ? 0 : -1;
}

void view_status_clear(struct view_status_data *s)
{
    PQclear(s->quarantine);
    s->quarantine = NULL;
}

int view_status(const struct config *cfg, struct buf *out, char *err, size_t errlen)
{
    size_t mark = out->len;
    struct view_status_data s;
    int read = view_status_read(cfg, &s);
    int rc = view_status_json(&s, out);
    if (rc < 0) {
        view_status_clear(&s);
        return view_oom(out, mark, err, errlen);
    }
    if (read < 0) {
        view_fail(NULL, 0, VIEW_ERROR, err, errlen, "%s%s%s", s.redis_err,
                  s.redis_err[0] && s.pg_err[0] ? "; " : "", s.pg_err);
    } else if (err && errlen) {
        snprintf(err, errlen, "%s", s.quarantine_err);
    }
    view_status_clear(&s);
    return read < 0 ? VIEW_ERROR : VIEW_OK;
}
