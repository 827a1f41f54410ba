/*
 * views: the JSON documents shared by the CLI's --json and kinerja-web (see views.h).
 */
#include "views.h"

#include "angkakredit.h"
#include "curve.h"
#include "event.h"
#include "inboxstore.h"
#include "resultstore.h"
#include "rstream.h"
#include "score.h"
#include "skm.h"

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
#define VIEW_SKM_COMMENTS_MAX 200                 /* comments per unit in the SKM report (newest) */
#define VIEW_YEAR_CHARS 4                         /* an annual period, "YYYY" (SPEC 3) */
#define VIEW_STR_(x) #x
#define VIEW_STR(x) VIEW_STR_(x)

/* ---------------------------------------------------------------- errors */

static int view_fail(struct buf *out, size_t mark, int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Resets out to mark, writes the reason into err and returns rc. */
static int view_fail(struct buf *out, size_t mark, int rc, char *err, size_t errlen, const char *fmt, ...)
{
    if (out)
        buf_truncate(out, mark);
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

/*
 * The comments about one result (umpan balik, PermenPANRB 6/2022 Pasal 5): ratings.comment
 * of the evaluations and feedback.comment of the citizens' responses about the employee
 * (kiosk repeats left out), only for the rater groups the stored result shows
 * (perilaku.groups.<g>.shown; SPEC 5.3: a hidden group shows no comment either, the pooled
 * "others" group never). Never the rater: each comment carries only its group, and the
 * comments are ordered by group and a hash of their text, not by when they came, so the
 * order points at no one. "at" (when it was written, in the session's zone) only for the
 * supervisor and self, who are attributed anyway. A result takes the comments of its
 * period and of the shorter periods inside it (kinerja_period_parts, schemas/0014: a
 * quarter its months', a year its quarters' and months'), as its figures do.
 */
#define VIEW_COMMENTS_MAX 200 /* comments carried by one result */
static const char *const view_comment_groups[] = {"supervisor", "peer", "subordinate", "citizen", "self"};

static const char SQL_VIEW_COMMENTS[] =
    "SELECT relation, comment, CASE WHEN relation IN ('supervisor', 'self') THEN "
    "to_char(ts, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') END FROM ("
    "  SELECT r.relation, r.comment, r.ts FROM ratings r"
    "   WHERE r.employee = $1 AND r.period = ANY (kinerja_period_parts($2))"
    "     AND r.comment IS NOT NULL AND btrim(r.comment) <> ''"
    "  UNION ALL"
    "  SELECT 'citizen', f.comment, NULL::timestamptz FROM feedback f"
    "   WHERE f.employee = $1 AND f.period = ANY (kinerja_period_parts($2))"
    "     AND NOT f.repeat AND f.comment IS NOT NULL AND btrim(f.comment) <> ''"
    ") c WHERE relation = ANY ($3::text[])"
    " ORDER BY array_position($3::text[], relation), md5(comment), comment"
    " LIMIT " VIEW_STR(VIEW_COMMENTS_MAX);

static int view_comment_row(const PGresult *row, void *ctx)
{
    json_t *arr = ctx, *c = json_object();
    const char *at = pgstore_text(row, 0, 2);
    if (!c || json_object_set_new(c, "group", json_string(pgstore_text(row, 0, 0))) < 0 ||
        json_object_set_new(c, "text", json_string(pgstore_text(row, 0, 1))) < 0 ||
        (at && json_object_set_new(c, "at", json_string(at)) < 0) || json_array_append_new(arr, c) < 0) {
        json_decref(c);
        return 1;
    }
    return 0;
}

/* *comments: the JSON array (malloc'd) of the result's shown comments. -1 with db's
 * error set when it could not be read; -2 when out of memory. */
static int view_score_comments(struct pgstore *db, const struct resultstore_score *s, const char *period,
                               char **comments)
{
    *comments = NULL;
    json_t *stored = json_loads(s->result_json, 0, NULL);
    json_t *groups = json_object_get(json_object_get(stored, "perilaku"), "groups");
    char shown[128] = "{"; /* the shown groups as a PostgreSQL array literal */
    bool any = false;
    for (size_t g = 0; g < sizeof view_comment_groups / sizeof view_comment_groups[0]; g++) {
        if (!json_is_true(json_object_get(json_object_get(groups, view_comment_groups[g]), "shown")))
            continue;
        size_t used = strlen(shown);
        snprintf(shown + used, sizeof shown - used, "%s%s", any ? "," : "", view_comment_groups[g]);
        any = true;
    }
    json_decref(stored);
    size_t used = strlen(shown);
    snprintf(shown + used, sizeof shown - used, "}");
    json_t *arr = json_array();
    if (!arr)
        return -2;
    if (any) {
        const char *params[3] = {s->employee, period, shown};
        int rc = pgstore_each_row(db, "comments", SQL_VIEW_COMMENTS, 3, params, view_comment_row, arr);
        if (rc < 0) {
            json_decref(arr);
            return -1;
        }
        if (rc > 0) {
            json_decref(arr);
            return -2;
        }
    }
    *comments = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(arr);
    return *comments ? 0 : -2;
}

/* {"employee","period","version","state", the stored object's members, "history",
 * "comments", "time_zone"}: the stored text is spliced in unchanged, so the numbers are exactly what
 * the score worker wrote. */
static int view_score_json(const struct resultstore_score *s, const char *period, const char *history,
                           const char *periodic, const char *comments, const char *tz, struct buf *out,
                           size_t mark, char *err, size_t errlen)
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
    rc |= buf_puts(out, ",\"comments\":");
    rc |= buf_puts(out, comments ? comments : "[]");
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
    char *history = NULL, *periodic = NULL, *comments = NULL;
    bool annual = strlen(period) == VIEW_YEAR_CHARS;
    int crc = 0;
    if (resultstore_score(db, nip, period, version, &s, &found) < 0 ||
        (found == RESULTSTORE_FOUND && resultstore_history_json(db, nip, period, &history) < 0) ||
        (found == RESULTSTORE_FOUND && annual && resultstore_periodic_json(db, nip, period, &periodic) < 0) ||
        (found == RESULTSTORE_FOUND && (crc = view_score_comments(db, &s, period, &comments)) == -1))
        rc = view_db_fail(db, out, mark, err, errlen);
    else if (found != RESULTSTORE_FOUND)
        rc = view_score_missing(&s, found, nip, period, version, out, mark, err, errlen);
    else if (crc < 0)
        rc = view_oom(out, mark, err, errlen);
    else
        rc = view_score_json(&s, period, history, periodic, comments, tz, out, mark, err, errlen);
    free(history);
    free(periodic);
    free(comments);
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
        "rejected_at") " FROM rejected_events "
                       "WHERE ($2::text = '' OR starts_with(coalesce(source, ''), $2::text)) "
                       "AND ($3::text = '' OR rejected_at >= $3::timestamptz) "
                       "ORDER BY rejected_at DESC, event_id LIMIT $1::int";

int view_rejections(struct pgstore *db, long limit, const char *tz, struct buf *out, char *err, size_t errlen)
{
    return view_rejections_where(db, limit, NULL, NULL, tz, out, err, errlen);
}

int view_rejections_where(struct pgstore *db, long limit, const char *source, const char *since,
                          const char *tz, struct buf *out, char *err, size_t errlen)
{
    size_t mark = out->len;
    if (limit <= 0 || limit > VIEW_REJECTIONS_MAX)
        limit = VIEW_REJECTIONS_MAX;
    int rc = view_use_tz(db, tz, out, mark, err, errlen);
    if (rc != VIEW_OK)
        return rc;
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *params[3] = {lim, source ? source : "", since ? since : ""};
    PGresult *res = pgstore_query(db, "rejections", SQL_VIEW_REJECTIONS, 3, params);
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

/* ---------------------------------------------------------------- curve (SPEC 5.10) */

/* One row per (unit, rule of its pattern); a unit without an organisation predikat for
 * the period is one row without a rule. */
static const struct view_column view_report_curve_cols[] = {
    {"unit", VIEW_COL_TEXT},
    {"name", VIEW_COL_TEXT},
    {"unit_predikat", VIEW_COL_TEXT},
    {"results", VIEW_COL_NUMBER},
    {"sangat_baik", VIEW_COL_NUMBER},
    {"baik", VIEW_COL_NUMBER},
    {"butuh_perbaikan", VIEW_COL_NUMBER},
    {"kurang", VIEW_COL_NUMBER},
    {"sangat_kurang", VIEW_COL_NUMBER},
    {"rule", VIEW_COL_TEXT},
    {"requirement", VIEW_COL_TEXT},
    {"count", VIEW_COL_NUMBER},
    {"share_pct", VIEW_COL_NUMBER},
    {"pass", VIEW_COL_BOOL},
};
#define VIEW_REPORT_CURVE_COLS (sizeof view_report_curve_cols / sizeof view_report_curve_cols[0])

/* Every unit with its organisation predikat for $1 (NULL: none set) and how many current
 * results of its employees have each predikat (the revised one where an appeal revised
 * it; signed or not), by unit code. */
static const char SQL_REPORT_CURVE[] =
    "SELECT u.code, u.name, up.predikat,"
    " count(*) FILTER (WHERE coalesce(r.revised_predikat, r.predikat) = 'sangat_baik'),"
    " count(*) FILTER (WHERE coalesce(r.revised_predikat, r.predikat) = 'baik'),"
    " count(*) FILTER (WHERE coalesce(r.revised_predikat, r.predikat) = 'butuh_perbaikan'),"
    " count(*) FILTER (WHERE coalesce(r.revised_predikat, r.predikat) = 'kurang'),"
    " count(*) FILTER (WHERE coalesce(r.revised_predikat, r.predikat) = 'sangat_kurang')"
    " FROM units u"
    " LEFT JOIN unit_predikat up ON up.unit = u.code AND up.period = $1"
    " LEFT JOIN employees e ON e.unit = u.code"
    " LEFT JOIN results r ON r.employee = e.nip AND r.period = $1"
    " WHERE $2::text IS NULL OR u.code = $2"
    " GROUP BY u.code, u.name, up.predikat ORDER BY u.code";

/* The unit's JSON object: {"unit","name","predikat","results","distribution":{...},
 * "follows":bool|null,"broken":[rule ids],"rules":[{"rule","requirement","count",
 * "share_pct","pass","detail"}]}. follows is null without a predikat or results. */
static int view_report_curve_unit(struct view_table *t, struct buf *json, size_t index, const char *unit,
                                  const char *name, const char *predikat,
                                  const long long counts[CURVE_PREDIKATS])
{
    char num[CURVE_PREDIKATS + 1][VIEW_REPORT_CELL_MAX], cnt[VIEW_REPORT_CELL_MAX], pct[VIEW_REPORT_CELL_MAX];
    long long total = curve_total(counts);
    const char *cells[VIEW_REPORT_CURVE_COLS] = {unit, name, predikat, num[0]};
    snprintf(num[0], sizeof num[0], "%lld", total);
    for (int k = 0; k < CURVE_PREDIKATS; k++) {
        snprintf(num[k + 1], sizeof num[k + 1], "%lld", counts[k]);
        cells[4 + k] = num[k + 1];
    }
    enum curve_pattern p;
    bool has = predikat && curve_pattern_parse(predikat, &p);
    int rc = 0;
    if (json) {
        rc |= buf_puts(json, index ? ",{\"unit\":" : "{\"unit\":");
        rc |= view_json_str(json, unit);
        rc |= buf_puts(json, ",\"name\":");
        rc |= view_json_str(json, name);
        rc |= buf_puts(json, ",\"predikat\":");
        rc |= view_json_str(json, has ? curve_pattern_codes[p] : NULL);
        rc |= buf_printf(json, ",\"results\":%lld,\"distribution\":", total);
        for (int k = 0; k < CURVE_PREDIKATS; k++)
            rc |= buf_printf(json, "%s\"%s\":%lld", k ? "," : "{", event_predikat_codes[k], counts[k]);
        rc |= buf_putc(json, '}');
    }
    if (!has) {
        view_table_add_row(t, cells);
        if (json)
            rc |= buf_puts(json, ",\"follows\":null,\"broken\":[],\"rules\":[]}");
        return rc < 0 || t->oom ? -1 : 0;
    }
    size_t n, broken = 0;
    const struct curve_rule *r = curve_rules(&n);
    struct buf rules;
    buf_init(&rules, 1u << 20);
    struct buf ids;
    buf_init(&ids, 1u << 16);
    for (size_t i = 0; i < n; i++) {
        if (r[i].pattern != p)
            continue;
        bool pass = curve_rule_holds(&r[i], counts);
        long long c = curve_rule_count(&r[i], counts);
        snprintf(cnt, sizeof cnt, "%lld", c);
        if (total)
            snprintf(pct, sizeof pct, "%lld", (c * 200 + total) / (2 * total));
        cells[9] = r[i].id;
        cells[10] = r[i].text;
        cells[11] = cnt;
        cells[12] = total ? pct : NULL;
        cells[13] = total ? (pass ? "true" : "false") : NULL;
        view_table_add_row(t, cells);
        if (!json)
            continue;
        char detail[CURVE_RULE_TEXT_MAX];
        curve_rule_describe(&r[i], counts, detail, sizeof detail);
        rc |= buf_puts(&rules, rules.len ? ",{\"rule\":" : "{\"rule\":");
        rc |= view_json_str(&rules, r[i].id);
        rc |= buf_puts(&rules, ",\"requirement\":");
        rc |= view_json_str(&rules, r[i].text);
        rc |= buf_printf(&rules, ",\"count\":%lld,\"share_pct\":", c);
        rc |= total ? buf_puts(&rules, pct) : buf_puts(&rules, "null");
        rc |= buf_printf(&rules, ",\"pass\":%s,\"detail\":", total ? (pass ? "true" : "false") : "null");
        rc |= view_json_str(&rules, detail);
        rc |= buf_putc(&rules, '}');
        if (total && !pass) {
            rc |= buf_puts(&ids, broken ? "," : "");
            rc |= view_json_str(&ids, r[i].id);
            broken++;
        }
    }
    if (json) {
        rc |= buf_printf(json, ",\"follows\":%s,\"broken\":[", total ? (broken ? "false" : "true") : "null");
        rc |= buf_append(json, ids.data ? ids.data : "", ids.len);
        rc |= buf_puts(json, "],\"rules\":[");
        rc |= buf_append(json, rules.data ? rules.data : "", rules.len);
        rc |= buf_puts(json, "]}");
    }
    buf_free(&rules);
    buf_free(&ids);
    return rc < 0 || t->oom ? -1 : 0;
}

static int view_report_curve(struct pgstore *db, const char *period, const char *only_unit,
                             struct view_table *t, struct buf *json, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->cols = view_report_curve_cols;
    t->ncols = VIEW_REPORT_CURVE_COLS;
    snprintf(t->title, sizeof t->title,
             "Distribution curve, period %s: each unit's predikat against its pattern", period);
    t->note = "Current results of each unit's employees (signed or not; the revised predikat where an appeal "
              "revised it) against the pattern of the unit's organisation predikat (SE MenPANRB 3/2023; "
              "`kinerja unit-predikat`). A unit without one has no rules. The curve informs; it never "
              "changes a result.";
    size_t mark = json ? json->len : 0;
    const char *params[2] = {period, only_unit};
    PGresult *res = pgstore_query(db, "curve", SQL_REPORT_CURVE, 2, params);
    if (!res)
        return view_db_fail(db, json, mark, err, errlen);
    int rc = json && buf_putc(json, '[') < 0 ? -1 : 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        long long counts[CURVE_PREDIKATS];
        for (int k = 0; k < CURVE_PREDIKATS; k++)
            counts[k] = strtoll(PQgetvalue(res, i, 3 + k), NULL, 10);
        rc = view_report_curve_unit(t, json, (size_t)i, pgstore_text(res, i, 0), pgstore_text(res, i, 1),
                                    pgstore_text(res, i, 2), counts);
    }
    PQclear(res);
    if (rc == 0 && json && buf_putc(json, ']') < 0)
        rc = -1;
    if (rc < 0) {
        view_table_free(t);
        return view_fail(json, mark, VIEW_ERROR, err, errlen, "out of memory or output error");
    }
    return VIEW_OK;
}

static const char *const view_report_kinds[] = {"unit", "awards", "training", "public", "curve", "skm"};
enum view_report_kind {
    VIEW_REPORT_UNIT,
    VIEW_REPORT_AWARDS,
    VIEW_REPORT_TRAINING,
    VIEW_REPORT_PUBLIC,
    VIEW_REPORT_CURVE,
    VIEW_REPORT_SKM
};

#define VIEW_REPORT_OOM "out of memory or output error"

/* ---------------------------------------------------------------- angka kredit */

/* SPEC 5.11: per signed result of an employee with an ak_coefficient, the angka kredit
 * it earns (common/angkakredit.h: coefficient x share x months / 12, half up to 2
 * decimals). */
static const struct view_column view_report_ak_cols[] = {
    {"employee", VIEW_COL_TEXT},      {"name", VIEW_COL_TEXT},
    {"unit", VIEW_COL_TEXT},          {"position", VIEW_COL_TEXT},
    {"period", VIEW_COL_TEXT},        {"predikat", VIEW_COL_TEXT},
    {"coefficient", VIEW_COL_NUMBER}, {"share_percent", VIEW_COL_NUMBER},
    {"months", VIEW_COL_NUMBER},      {"angka_kredit", VIEW_COL_NUMBER},
};
#define VIEW_REPORT_AK_COLS (sizeof view_report_ak_cols / sizeof view_report_ak_cols[0])

/* Signed: approved, appealed, final; the predikat revised on appeal where revised. */
static const char SQL_VIEW_ANGKA_KREDIT[] =
    "SELECT e.nip, e.name, e.unit, e.position, r.period, coalesce(r.revised_predikat, r.predikat),"
    "       e.ak_coefficient::text"
    " FROM results r JOIN employees e ON e.nip = r.employee"
    " WHERE r.period = $1 AND kinerja_frozen(r.state)"
    "   AND e.ak_coefficient IS NOT NULL AND ($2 = '' OR e.unit = $2)"
    " ORDER BY e.unit, e.nip";

static int view_report_angka_kredit(struct pgstore *db, const char *period, const struct view_report_opts *o,
                                    struct view_table *t, struct buf *json, char *err, size_t errlen)
{
    size_t mark = json ? json->len : 0;
    int months = ak_period_months(period, NULL, NULL, NULL);
    if (months < 0)
        return view_fail(json, mark, VIEW_NOT_FOUND, err, errlen,
                         "period: must be YYYY-MM, YYYY-Qn or YYYY, got '%.64s'", period ? period : "");
    t->cols = view_report_ak_cols;
    t->ncols = VIEW_REPORT_AK_COLS;
    snprintf(t->title, sizeof t->title, "Angka kredit, period %s (%d month%s): signed results", period,
             months, months == 1 ? "" : "s");
    t->note = "Angka kredit = ak_coefficient x share of the predikat (sangat_baik 150%, baik 100%, "
              "butuh_perbaikan 75%, kurang 50%, sangat_kurang 25%) x months / 12 (PerBKN 3/2023), computed "
              "exactly and rounded once, half up, to 2 decimals (3.125 -> 3.13): add the periods of a year "
              "from the coefficient, not from these rounded figures. Signed results only (approved, "
              "appealed, final; the revised predikat where an appeal revised it), of employees with an "
              "ak_coefficient in the organisation data.";
    const char *params[2] = {period, o && o->unit ? o->unit : ""};
    PGresult *res = pgstore_query(db, "report angka-kredit", SQL_VIEW_ANGKA_KREDIT, 2, params);
    if (!res)
        return view_db_fail(db, json, mark, err, errlen);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *predikat = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
        int share = ak_share_percent(predikat);
        int64_t milli = ak_coefficient_milli(PQgetvalue(res, i, 6));
        int64_t ak = ak_hundredths(milli, share, months);
        char coef[VIEW_REPORT_CELL_MAX], sh[VIEW_REPORT_CELL_MAX], mo[VIEW_REPORT_CELL_MAX],
            akv[VIEW_REPORT_CELL_MAX];
        if (ak < 0) {
            /* a signed result always has a predikat; a stored one we cannot read is refused */
            view_fail(json, mark, VIEW_ERROR, err, errlen,
                      "employee %.18s: predikat '%.32s' or ak_coefficient '%.32s' cannot be read",
                      PQgetvalue(res, i, 0), predikat ? predikat : "", PQgetvalue(res, i, 6));
            PQclear(res);
            view_table_free(t);
            return VIEW_ERROR;
        }
        ak_format_milli(milli, coef, sizeof coef);
        snprintf(sh, sizeof sh, "%d", share);
        snprintf(mo, sizeof mo, "%d", months);
        ak_format_hundredths(ak, akv, sizeof akv);
        const char *cells[VIEW_REPORT_AK_COLS] = {PQgetvalue(res, i, 0),
                                                  PQgetvalue(res, i, 1),
                                                  PQgetvalue(res, i, 2),
                                                  PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                                                  PQgetvalue(res, i, 4),
                                                  predikat,
                                                  coef,
                                                  sh,
                                                  mo,
                                                  akv};
        view_table_add_row(t, cells);
    }
    PQclear(res);
    if (t->oom || (json && view_table_json(json, t) < 0)) {
        view_table_free(t);
        return view_fail(json, mark, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    }
    return VIEW_OK;
}

/* ---------------------------------------------------------------- skm */

/* The SKM report of PermenPANRB 14/2017 (SPEC 5.6), one unit after the other, each in
 * the regulation's order: respondents, their profile, NRR per element, NRR tertimbang,
 * IKM and mutu, the weakest elements, the citizens' comments. The arithmetic is
 * common/skm.c's; this reads the sums, the profile and the comments. */
static const struct view_column view_report_skm_cols[] = {
    {"unit", VIEW_COL_TEXT},           {"section", VIEW_COL_TEXT}, {"item", VIEW_COL_TEXT},
    {"label", VIEW_COL_TEXT},          {"n", VIEW_COL_NUMBER},     {"nrr", VIEW_COL_NUMBER},
    {"nrr_weighted", VIEW_COL_NUMBER}, {"value", VIEW_COL_NUMBER}, {"mutu", VIEW_COL_TEXT},
    {"text", VIEW_COL_TEXT},
};
#define VIEW_SKM_COLS (sizeof view_report_skm_cols / sizeof view_report_skm_cols[0])
enum {
    VIEW_SKM_UNIT,
    VIEW_SKM_SECTION,
    VIEW_SKM_ITEM,
    VIEW_SKM_LABEL,
    VIEW_SKM_N,
    VIEW_SKM_NRR,
    VIEW_SKM_WEIGHTED,
    VIEW_SKM_VALUE,
    VIEW_SKM_MUTU,
    VIEW_SKM_TEXT
};

struct view_skm_comment {
    char *text;
    char month[16];
    bool skm; /* an SKM response's comment; false: a smiley press's */
};

struct view_skm_unit {
    char *code, *name;
    struct skm_sums sums;
    long long profile[EVENT_PROFILE_FIELDS][EVENT_PROFILE_CHOICES_MAX];
    long long profile_other[EVENT_PROFILE_FIELDS]; /* a code outside the set (stored before it was checked) */
    long long profile_none[EVENT_PROFILE_FIELDS];  /* not given */
    struct view_skm_comment *comments;             /* newest first, at most VIEW_SKM_COMMENTS_MAX */
    size_t ncomments;
    long long comments_total;
};

struct view_skm {
    struct view_skm_unit *units; /* by code in byte order ("C" collation), for bsearch */
    size_t n, cap;
    bool oom;
};

static void view_skm_free(struct view_skm *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct view_skm_unit *u = &s->units[i];
        for (size_t c = 0; c < u->ncomments; c++)
            free(u->comments[c].text);
        free(u->comments);
        free(u->code);
        free(u->name);
    }
    free(s->units);
    memset(s, 0, sizeof *s);
}

static int view_skm_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct view_skm_unit *)elem)->code);
}

static struct view_skm_unit *view_skm_find(struct view_skm *s, const char *code)
{
    return code ? bsearch(code, s->units, s->n, sizeof *s->units, view_skm_cmp) : NULL;
}

static long long view_skm_ll(const PGresult *row, int col)
{
    const char *v = pgstore_text(row, 0, col);
    return v ? atoll(v) : 0;
}

static int view_skm_on_unit(const PGresult *row, void *ctx)
{
    struct view_skm *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct view_skm_unit *p = realloc(s->units, cap * sizeof *p);
        if (!p) {
            s->oom = true;
            return 1;
        }
        s->units = p;
        s->cap = cap;
    }
    struct view_skm_unit *u = &s->units[s->n];
    memset(u, 0, sizeof *u);
    const char *code = pgstore_text(row, 0, 0), *name = pgstore_text(row, 0, 1);
    u->code = strdup(code ? code : "");
    u->name = name ? strdup(name) : NULL;
    s->n++;
    if (!u->code || (name && !u->name)) {
        s->oom = true;
        return 1;
    }
    return 0;
}

static int view_skm_on_sums(const PGresult *row, void *ctx)
{
    struct view_skm_unit *u = view_skm_find(ctx, pgstore_text(row, 0, 0));
    if (!u)
        return 0;
    u->sums.n = view_skm_ll(row, 1);
    for (int k = 0; k < SKM_ELEMENTS; k++)
        u->sums.sum[k] = view_skm_ll(row, 2 + k);
    return 0;
}

static int view_skm_on_profile(const PGresult *row, void *ctx)
{
    struct view_skm_unit *u = view_skm_find(ctx, pgstore_text(row, 0, 0));
    const char *f = pgstore_text(row, 0, 1), *v = pgstore_text(row, 0, 2);
    long long count = view_skm_ll(row, 3);
    for (int i = 0; u && f && i < EVENT_PROFILE_FIELDS; i++) {
        if (strcmp(event_profile_set((enum event_profile_field)i)->field, f))
            continue;
        int c = v && v[0] ? event_profile_code_index((enum event_profile_field)i, v, strlen(v)) : -1;
        if (!v || !v[0])
            u->profile_none[i] += count;
        else if (c < 0)
            u->profile_other[i] += count;
        else
            u->profile[i][c] += count;
        break;
    }
    return 0;
}

static int view_skm_on_comment(const PGresult *row, void *ctx)
{
    struct view_skm *s = ctx;
    struct view_skm_unit *u = view_skm_find(s, pgstore_text(row, 0, 0));
    const char *text = pgstore_text(row, 0, 3);
    if (!u || !text || u->ncomments >= VIEW_SKM_COMMENTS_MAX)
        return 0;
    if (!u->comments && !(u->comments = calloc(VIEW_SKM_COMMENTS_MAX, sizeof *u->comments))) {
        s->oom = true;
        return 1;
    }
    struct view_skm_comment *c = &u->comments[u->ncomments];
    const char *month = pgstore_text(row, 0, 1), *skm = pgstore_text(row, 0, 2);
    snprintf(c->month, sizeof c->month, "%s", month ? month : "");
    c->skm = skm && skm[0] == 't';
    if (!(c->text = strdup(text))) {
        s->oom = true;
        return 1;
    }
    u->ncomments++;
    u->comments_total = view_skm_ll(row, 4);
    return 0;
}

/* Complete SKM responses only, as ikm_compute counts them. */
#define VIEW_SKM_WHERE " period = ANY (kinerja_period_months($1)) AND ($2::text IS NULL OR unit = $2)"
static const char VIEW_SKM_SQL_UNITS[] =
    "SELECT code, name FROM units WHERE ($1::text IS NULL OR code = $1) ORDER BY code COLLATE \"C\"";
static const char VIEW_SKM_SQL_SUMS[] =
    "SELECT unit, count(*), sum(skm[1]), sum(skm[2]), sum(skm[3]), sum(skm[4]), sum(skm[5]), sum(skm[6]),"
    " sum(skm[7]), sum(skm[8]), sum(skm[9]) FROM feedback"
    " WHERE skm IS NOT NULL AND array_position(skm, NULL) IS NULL AND" VIEW_SKM_WHERE " GROUP BY unit";
/* The profile is not in the derived feedback table: it is read from the events (as the
 * public page does). */
static const char VIEW_SKM_SQL_PROFILE[] =
    "SELECT e.unit, x.f, x.v, count(*) FROM event_log e CROSS JOIN LATERAL (VALUES"
    " ('gender', e.payload ->> 'gender'), ('age_band', e.payload ->> 'age_band'),"
    " ('education', e.payload ->> 'education'), ('occupation', e.payload ->> 'occupation')) AS x(f, v)"
    " WHERE e.type = 'citizen_feedback' AND e.payload ? 'skm'"
    " AND e.period = ANY (kinerja_period_months($1)) AND ($2::text IS NULL OR e.unit = $2)"
    " GROUP BY e.unit, x.f, x.v";
/* The comment text and its month only: never the source, the employee or the respondent. */
static const char VIEW_SKM_SQL_COMMENTS[] =
    "SELECT unit, period, skm IS NOT NULL, comment, total FROM ("
    " SELECT unit, period, skm, comment, ts_ms, event_id,"
    "  row_number() OVER (PARTITION BY unit ORDER BY ts_ms DESC, event_id) AS rn,"
    "  count(*) OVER (PARTITION BY unit) AS total"
    " FROM feedback WHERE comment IS NOT NULL AND btrim(comment) <> '' AND" VIEW_SKM_WHERE ") c"
    " WHERE rn <= $3::int ORDER BY unit, ts_ms DESC, event_id";

static void view_skm_milli(char *out, size_t n, long v)
{
    snprintf(out, n, "%ld.%03ld", v / 1000, v % 1000);
}

static void view_skm_centi(char *out, size_t n, long v)
{
    snprintf(out, n, "%ld.%02ld", v / 100, v % 100);
}

/* One table row: the unit code, then cells for section .. text. */
static void view_skm_row(struct view_table *t, const char *unit, const char *section, const char *item,
                         const char *label, const char *n, const char *nrr, const char *weighted,
                         const char *value, const char *mutu, const char *text)
{
    const char *cells[VIEW_SKM_COLS] = {unit, section, item, label, n, nrr, weighted, value, mutu, text};
    view_table_add_row(t, cells);
}

static bool view_skm_profile_shown(const struct view_skm_unit *u)
{
    return u->sums.n >= VIEW_REPORT_SKM_MIN_PROFILE;
}

static void view_skm_unit_rows(struct view_table *t, const struct view_skm_unit *u,
                               const struct skm_summary *sm)
{
    char n[VIEW_REPORT_CELL_MAX], a[VIEW_REPORT_CELL_MAX], b[VIEW_REPORT_CELL_MAX], c[VIEW_REPORT_CELL_MAX];
    char item[VIEW_REPORT_CELL_MAX], label[VIEW_REPORT_CELL_MAX * 2];
    snprintf(n, sizeof n, "%lld", u->sums.n);
    view_skm_row(t, u->code, "respondents", "n", "Jumlah responden", n, NULL, NULL, NULL, NULL, u->name);
    for (int f = 0; f < EVENT_PROFILE_FIELDS && view_skm_profile_shown(u); f++) {
        const struct event_profile_set *ps = event_profile_set((enum event_profile_field)f);
        for (size_t ch = 0; ch < ps->n; ch++) {
            snprintf(item, sizeof item, "%s.%s", ps->field, ps->codes[ch]);
            snprintf(label, sizeof label, "%s: %s", ps->label, ps->choice_labels[ch]);
            snprintf(a, sizeof a, "%lld", u->profile[f][ch]);
            view_skm_row(t, u->code, "profile", item, label, a, NULL, NULL, NULL, NULL, NULL);
        }
        if (u->profile_other[f]) {
            snprintf(item, sizeof item, "%s.other", ps->field);
            snprintf(label, sizeof label, "%s: nilai lain", ps->label);
            snprintf(a, sizeof a, "%lld", u->profile_other[f]);
            view_skm_row(t, u->code, "profile", item, label, a, NULL, NULL, NULL, NULL, NULL);
        }
        snprintf(item, sizeof item, "%s.none", ps->field);
        snprintf(label, sizeof label, "%s: tidak diisi", ps->label);
        snprintf(a, sizeof a, "%lld", u->profile_none[f]);
        view_skm_row(t, u->code, "profile", item, label, a, NULL, NULL, NULL, NULL, NULL);
    }
    for (int k = 0; k < SKM_ELEMENTS; k++) {
        snprintf(item, sizeof item, "u%d", k + 1);
        if (sm->n > 0) {
            view_skm_milli(a, sizeof a, sm->el[k].nrr_milli);
            view_skm_milli(b, sizeof b, sm->el[k].weighted_milli);
            view_skm_centi(c, sizeof c, sm->el[k].value_centi);
        }
        view_skm_row(t, u->code, "element", item, skm_element_names[k], n, sm->n ? a : NULL, sm->n ? b : NULL,
                     sm->n ? c : NULL, sm->n ? ikm_mutu_name(sm->el[k].mutu) : NULL, NULL);
    }
    if (sm->n > 0)
        view_skm_milli(b, sizeof b, sm->weighted_sum_milli);
    view_skm_row(t, u->code, "total", "nrr_weighted_sum", "Jumlah NRR tertimbang", n, NULL, sm->n ? b : NULL,
                 NULL, NULL, NULL);
    if (sm->n > 0)
        view_skm_centi(c, sizeof c, sm->ikm_centi);
    view_skm_row(t, u->code, "ikm", "ikm", "IKM unit pelayanan (jumlah NRR tertimbang x 25)", n, NULL, NULL,
                 sm->n ? c : NULL, sm->n ? ikm_mutu_name(sm->mutu) : NULL,
                 sm->n ? ikm_mutu_label(sm->mutu) : NULL);
    for (int k = 0; k < SKM_ELEMENTS && sm->n > 0; k++) {
        if (!sm->el[k].weakest)
            continue;
        snprintf(item, sizeof item, "u%d", k + 1);
        view_skm_milli(a, sizeof a, sm->el[k].nrr_milli);
        view_skm_centi(c, sizeof c, sm->el[k].value_centi);
        view_skm_row(t, u->code, "weakest", item, skm_element_names[k], NULL, a, NULL, c,
                     ikm_mutu_name(sm->el[k].mutu), NULL);
    }
    snprintf(a, sizeof a, "%lld", u->comments_total);
    view_skm_row(t, u->code, "comments", "total", "Saran dan masukan", a, NULL, NULL, NULL, NULL, NULL);
    for (size_t i = 0; i < u->ncomments; i++)
        view_skm_row(t, u->code, "comment", u->comments[i].skm ? "skm" : "rating", u->comments[i].month, NULL,
                     NULL, NULL, NULL, NULL, u->comments[i].text);
}

static int view_skm_unit_json(struct buf *b, const struct view_skm_unit *u, const struct skm_summary *sm,
                              size_t index)
{
    int rc = buf_puts(b, index ? ",{\"unit\":" : "{\"unit\":");
    rc |= view_json_str(b, u->code);
    rc |= buf_puts(b, ",\"name\":");
    rc |= view_json_str(b, u->name);
    rc |= buf_printf(b, ",\"respondents\":%lld,\"profile\":", u->sums.n);
    if (view_skm_profile_shown(u)) {
        for (int f = 0; f < EVENT_PROFILE_FIELDS; f++) {
            const struct event_profile_set *ps = event_profile_set((enum event_profile_field)f);
            rc |= buf_printf(b, "%s\"%s\":{", f ? "," : "{", ps->field);
            for (size_t ch = 0; ch < ps->n; ch++)
                rc |= buf_printf(b, "\"%s\":%lld,", ps->codes[ch], u->profile[f][ch]);
            rc |= buf_printf(b, "\"other\":%lld,\"none\":%lld}", u->profile_other[f], u->profile_none[f]);
        }
        rc |= buf_putc(b, '}');
    } else {
        rc |= buf_puts(b, "null");
    }
    rc |= buf_puts(b, ",\"elements\":[");
    char a[VIEW_REPORT_CELL_MAX], w[VIEW_REPORT_CELL_MAX], c[VIEW_REPORT_CELL_MAX];
    for (int k = 0; k < SKM_ELEMENTS; k++) {
        rc |= buf_printf(b, "%s{\"element\":\"u%d\",\"name\":", k ? "," : "", k + 1);
        rc |= view_json_str(b, skm_element_names[k]);
        if (sm->n > 0) {
            view_skm_milli(a, sizeof a, sm->el[k].nrr_milli);
            view_skm_milli(w, sizeof w, sm->el[k].weighted_milli);
            view_skm_centi(c, sizeof c, sm->el[k].value_centi);
            rc |= buf_printf(b, ",\"sum\":%lld,\"nrr\":%s,\"nrr_weighted\":%s,\"value\":%s,\"mutu\":\"%s\"}",
                             u->sums.sum[k], a, w, c, ikm_mutu_name(sm->el[k].mutu));
        } else {
            rc |= buf_puts(b, ",\"sum\":0,\"nrr\":null,\"nrr_weighted\":null,\"value\":null,\"mutu\":null}");
        }
    }
    rc |= buf_puts(b, "],\"nrr_weighted_sum\":");
    if (sm->n > 0) {
        view_skm_milli(w, sizeof w, sm->weighted_sum_milli);
        view_skm_centi(c, sizeof c, sm->ikm_centi);
        rc |= buf_printf(b, "%s,\"ikm\":{\"value\":%s,\"mutu\":\"%s\",\"label\":\"%s\",\"n\":%lld}", w, c,
                         ikm_mutu_name(sm->mutu), ikm_mutu_label(sm->mutu), sm->n);
    } else {
        rc |= buf_puts(b, "null,\"ikm\":null");
    }
    rc |= buf_puts(b, ",\"weakest\":[");
    for (int k = 0, first = 1; k < SKM_ELEMENTS && sm->n > 0; k++)
        if (sm->el[k].weakest) {
            rc |= buf_printf(b, "%s\"u%d\"", first ? "" : ",", k + 1);
            first = 0;
        }
    rc |= buf_puts(b, "],\"comments\":[");
    for (size_t i = 0; i < u->ncomments; i++) {
        rc |= buf_printf(b, "%s{\"month\":", i ? "," : "");
        rc |= view_json_str(b, u->comments[i].month);
        rc |= buf_printf(b, ",\"kind\":\"%s\",\"text\":", u->comments[i].skm ? "skm" : "rating");
        rc |= view_json_str(b, u->comments[i].text);
        rc |= buf_putc(b, '}');
    }
    rc |= buf_printf(b, "],\"comments_total\":%lld}", u->comments_total);
    return rc < 0 ? -1 : 0;
}

static int view_report_skm(struct pgstore *db, const char *period, const char *only_unit,
                           struct view_table *t, struct buf *json, char *err, size_t errlen)
{
    struct view_skm s = {0};
    memset(t, 0, sizeof *t);
    t->cols = view_report_skm_cols;
    t->ncols = VIEW_SKM_COLS;
    snprintf(t->title, sizeof t->title,
             "Laporan Survei Kepuasan Masyarakat (PermenPANRB 14/2017), period %s%s%.64s", period,
             only_unit ? ", unit " : "", only_unit ? only_unit : "");
    t->note = "NRR = jumlah nilai per unsur / jumlah responden; NRR tertimbang = NRR x 1/9; IKM = jumlah NRR "
              "tertimbang x 25 (dihitung sekali dari jumlah bilangan bulat; dua desimal, 0,005 dibulatkan ke "
              "atas). "
              "Mutu: A 88.31-100 Sangat Baik, B 76.61-88.30 Baik, C 65.00-76.60 Kurang Baik, D 25.00-64.99 "
              "Tidak Baik. Profil responden ditampilkan mulai " VIEW_STR(
                  VIEW_REPORT_SKM_MIN_PROFILE) " responden. Saran dan masukan: teks saja, tanpa identitas, "
                                               "terbaru dulu, paling banyak " VIEW_STR(
                                                   VIEW_SKM_COMMENTS_MAX) " per unit.";
    size_t mark = json ? json->len : 0;
    char limit[VIEW_REPORT_CELL_MAX];
    snprintf(limit, sizeof limit, "%d", VIEW_SKM_COMMENTS_MAX);
    const char *p_unit[1] = {only_unit};
    const char *p2[3] = {period, only_unit, limit};
    int q = pgstore_each_row(db, "skm units", VIEW_SKM_SQL_UNITS, 1, p_unit, view_skm_on_unit, &s);
    if (q == 0 && !s.oom)
        q = pgstore_each_row(db, "skm sums", VIEW_SKM_SQL_SUMS, 2, p2, view_skm_on_sums, &s);
    if (q == 0 && !s.oom)
        q = pgstore_each_row(db, "skm profile", VIEW_SKM_SQL_PROFILE, 2, p2, view_skm_on_profile, &s);
    if (q == 0 && !s.oom)
        q = pgstore_each_row(db, "skm comments", VIEW_SKM_SQL_COMMENTS, 3, p2, view_skm_on_comment, &s);
    int rc = VIEW_OK;
    if (q < 0) {
        rc = view_db_fail(db, json, mark, err, errlen);
    } else if (q > 0 || s.oom) {
        rc = view_fail(json, mark, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    } else if (only_unit && s.n == 0) {
        rc = view_fail(json, mark, VIEW_NOT_FOUND, err, errlen, "unit: no unit '%.64s' in the organisation",
                       only_unit);
    } else {
        int j = json ? buf_putc(json, '[') : 0;
        for (size_t i = 0; i < s.n && j == 0 && !t->oom; i++) {
            struct skm_summary sm;
            skm_summarize(&s.units[i].sums, &sm);
            view_skm_unit_rows(t, &s.units[i], &sm);
            if (json)
                j = view_skm_unit_json(json, &s.units[i], &sm, i);
        }
        if (j < 0 || t->oom || (json && buf_putc(json, ']') < 0))
            rc = view_fail(json, mark, VIEW_ERROR, err, errlen, VIEW_REPORT_OOM);
    }
    view_skm_free(&s);
    if (rc != VIEW_OK)
        view_table_free(t);
    return rc;
}

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
    if (kind && !strcmp(kind, VIEW_REPORT_ANGKA_KREDIT))
        return view_report_angka_kredit(db, period, o, t, json, err, errlen);
    size_t mark = json ? json->len : 0;
    int k = -1;
    for (size_t i = 0; kind && i < sizeof view_report_kinds / sizeof view_report_kinds[0]; i++)
        if (!strcmp(kind, view_report_kinds[i]))
            k = (int)i;
    if (k < 0) {
        char kinds[VIEW_REPORT_CELL_MAX * 2]; /* the kinds named from the table, so a new one is listed */
        size_t used = 0;
        kinds[0] = '\0';
        for (size_t i = 0; i < sizeof view_report_kinds / sizeof view_report_kinds[0] && used < sizeof kinds;
             i++) {
            int w = snprintf(kinds + used, sizeof kinds - used, "%s%s", i ? ", " : "", view_report_kinds[i]);
            used += w > 0 ? (size_t)w : 0;
        }
        return view_fail(json, mark, VIEW_NOT_FOUND, err, errlen,
                         "kind: unknown report '%.32s' (%s, " VIEW_REPORT_ANGKA_KREDIT ")", kind ? kind : "",
                         kinds);
    }
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
    case VIEW_REPORT_CURVE:
        return view_report_curve(db, period, only_unit, t, json, err, errlen);
    case VIEW_REPORT_SKM:
        return view_report_skm(db, period, only_unit, t, json, err, errlen);
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
    json_object_set_new(root, "curve_units", view_status_num(s->pg_ok && s->curve_ok, s->curve_units));
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
    struct rlink l = {0};
    if (rlink_connect(&l, config_str(cfg, "redis.url"), config_bool(cfg, "redis.cluster"),
                      (int)config_int(cfg, "redis.timeout_ms"), err, sizeof err) < 0) {
        snprintf(s->redis_err, sizeof s->redis_err, "Redis unreachable: %s", err);
        return false;
    }
    bool ok = rstream_totals(&l, (unsigned)config_int(cfg, "redis.shards"), RSTREAM_GROUP_INGEST,
                             &s->stream_length, &s->pending, err, sizeof err) == 0;
    if (!ok)
        snprintf(s->redis_err, sizeof s->redis_err, "Redis: %s", err);
    rlink_close(&l);
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
    if (ok) {
        PGresult *c = PQexec(db->conn, "SELECT kinerja_curve_units()");
        s->curve_ok = PQresultStatus(c) == PGRES_TUPLES_OK && PQntuples(c) == 1;
        if (s->curve_ok)
            s->curve_units = strtoll(PQgetvalue(c, 0, 0), NULL, 10);
        PQclear(c);
    }
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
