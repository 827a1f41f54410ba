/*
 * resultstore: reads of results, score versions and unit scores (see resultstore.h).
 * Fixed SQL text with parameters only; rows of the person-level reports are streamed in
 * libpq's single-row mode.
 */
#include "resultstore.h"

#include "event.h"
#include "ikm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *resultstore_dup(const PGresult *res, int row, int col, bool *oom)
{
    const char *s = pgstore_text(res, row, col);
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static long long resultstore_ll(const PGresult *res, int row, int col)
{
    const char *s = pgstore_text(res, row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

/* Signed results (see resultstore.h): the states after the pejabat penilai's signature. */
#define RS_SIGNED "kinerja_frozen(r.state)" /* schemas/0018_frozen_states.sql */
/* The predikat a result holds now: the one revised on appeal, else the computed one. */
#define RS_PREDIKAT "coalesce(r.revised_predikat, r.predikat)"
/* Times in the session's time zone (pgstore_use_time_zone). */
#define RS_TIME_TEXT(x) "to_char(" x ", 'YYYY-MM-DD HH24:MI')"
#define RS_TIME_ISO(x) "to_char(" x ", 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"
#define RS_PREDIKAT_ARRAY_MAX 128 /* "{sangat_baik,baik,...}" */

static bool resultstore_num(const PGresult *res, int row, int col, double *out)
{
    const char *s = pgstore_text(res, row, col);
    if (!s)
        return false;
    char *end;
    *out = strtod(s, &end);
    return end != s;
}

/* ---------------------------------------------------------------- labels */

static const char *const resultstore_predikat_labels[RESULTSTORE_PREDIKATS] = {
    "Sangat Baik", "Baik", "Butuh Perbaikan", "Kurang", "Sangat Kurang",
};

int resultstore_predikat_index(const char *code)
{
    if (!code)
        return -1;
    for (int i = 0; i < RESULTSTORE_PREDIKATS; i++)
        if (!strcmp(code, event_predikat_codes[i]))
            return i;
    return -1;
}

const char *resultstore_predikat_label(const char *code)
{
    int i = resultstore_predikat_index(code);
    return i < 0 ? NULL : resultstore_predikat_labels[i];
}

const char *resultstore_mutu_label(const char *mutu)
{
    if (!mutu || !mutu[0] || mutu[1])
        return NULL;
    static const enum ikm_mutu by_letter[] = {IKM_MUTU_A, IKM_MUTU_B, IKM_MUTU_C, IKM_MUTU_D};
    if (mutu[0] < 'A' || mutu[0] > 'D')
        return NULL;
    return ikm_mutu_label(by_letter[mutu[0] - 'A']);
}

/* ---------------------------------------------------------------- time zone */

/* ---------------------------------------------------------------- one result */

void resultstore_score_clear(struct resultstore_score *s)
{
    free(s->employee);
    free(s->name);
    free(s->unit);
    free(s->state);
    free(s->computed_at);
    free(s->result_json);
    memset(s, 0, sizeof *s);
}

/* The employee always (no row: unknown NIP); the result row and the version when they
 * exist. The version asked for, or the current one when $3 is 0. A predikat revised on
 * appeal (SPEC 6) replaces the computed one in the current version's output, with the
 * computed one kept as "computed_predikat". */
static const char SQL_SCORE[] =
    "SELECT e.nip, e.name, e.unit, r.state::text, r.version, r.late_events,"
    "       v.version, " RS_TIME_TEXT(
        "v.computed_at") ","
                         "       CASE WHEN r.revised_predikat IS NOT NULL AND v.version = r.version"
                         "            THEN (v.result::jsonb || jsonb_build_object('predikat', "
                         "r.revised_predikat,"
                         "                  'computed_predikat', v.result::json -> 'predikat'))::text"
                         "            ELSE v.result::text END"
                         " FROM employees e"
                         " LEFT JOIN results r ON r.employee = e.nip AND r.period = $2"
                         " LEFT JOIN score_versions v ON v.employee = e.nip AND v.period = $2"
                         "       AND v.version = CASE WHEN $3::int > 0 THEN $3::int ELSE r.version END"
                         " WHERE e.nip = $1";

int resultstore_score(struct pgstore *db, const char *nip, const char *period, int version,
                      struct resultstore_score *out, enum resultstore_found *found)
{
    memset(out, 0, sizeof *out);
    *found = RESULTSTORE_NO_EMPLOYEE;
    if (pgstore_require_conn(db) < 0)
        return -1;
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", version > 0 ? version : 0);
    const char *params[3] = {nip, period, vbuf};
    PGresult *res = PQexecParams(db->conn, SQL_SCORE, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, "score");
        PQclear(res);
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    bool oom = false;
    out->employee = resultstore_dup(res, 0, 0, &oom);
    out->name = resultstore_dup(res, 0, 1, &oom);
    out->unit = resultstore_dup(res, 0, 2, &oom);
    out->state = resultstore_dup(res, 0, 3, &oom);
    out->current_version = (int)resultstore_ll(res, 0, 4);
    out->late_events = (int)resultstore_ll(res, 0, 5);
    out->version = (int)resultstore_ll(res, 0, 6);
    out->computed_at = resultstore_dup(res, 0, 7, &oom);
    out->result_json = resultstore_dup(res, 0, 8, &oom);
    PQclear(res);
    if (oom) {
        snprintf(db->errstr, sizeof db->errstr, "score: out of memory");
        db->err = -1;
        return -1;
    }
    if (!out->state || (version <= 0 && out->current_version <= 0))
        *found = RESULTSTORE_NO_RESULT;
    else if (!out->result_json)
        *found = version > 0 ? RESULTSTORE_NO_VERSION : RESULTSTORE_NO_RESULT;
    else
        *found = RESULTSTORE_FOUND;
    return 0;
}

/* ---------------------------------------------------------------- units */

/* Every unit; its unit_scores row for the period; the predikat counts of the current
 * results (with a version) of the employees now in the unit. */
static const char SQL_UNITS[] =
    "SELECT u.code, u.name, s.ikm, s.mutu, coalesce(s.skm_n, 0), s.satisfaction,"
    "       coalesce(s.counted, 0), coalesce(s.presses, 0), coalesce(s.repeats, 0),"
    "       coalesce(p.results, 0), coalesce(p.sangat_baik, 0), coalesce(p.baik, 0),"
    "       coalesce(p.butuh_perbaikan, 0), coalesce(p.kurang, 0), coalesce(p.sangat_kurang, 0),"
    "       coalesce(p.signed, 0), coalesce(p.s_sangat_baik, 0), coalesce(p.s_baik, 0),"
    "       coalesce(p.s_butuh_perbaikan, 0), coalesce(p.s_kurang, 0), coalesce(p.s_sangat_kurang, 0)"
    " FROM units u"
    " LEFT JOIN unit_scores s ON s.unit = u.code AND s.period = $1"
    " LEFT JOIN (SELECT e.unit, count(*) AS results,"
    "                   count(*) FILTER (WHERE r.predikat = 'sangat_baik') AS sangat_baik,"
    "                   count(*) FILTER (WHERE r.predikat = 'baik') AS baik,"
    "                   count(*) FILTER (WHERE r.predikat = 'butuh_perbaikan') AS butuh_perbaikan,"
    "                   count(*) FILTER (WHERE r.predikat = 'kurang') AS kurang,"
    "                   count(*) FILTER (WHERE r.predikat = 'sangat_kurang') AS sangat_kurang,"
    "                   count(*) FILTER (WHERE " RS_SIGNED ") AS signed,"
    "                   count(*) FILTER (WHERE " RS_SIGNED " AND " RS_PREDIKAT
    " = 'sangat_baik') AS s_sangat_baik,"
    "                   count(*) FILTER (WHERE " RS_SIGNED " AND " RS_PREDIKAT " = 'baik') AS s_baik,"
    "                   count(*) FILTER (WHERE " RS_SIGNED " AND " RS_PREDIKAT " = 'butuh_perbaikan')"
    "                       AS s_butuh_perbaikan,"
    "                   count(*) FILTER (WHERE " RS_SIGNED " AND " RS_PREDIKAT " = 'kurang') AS s_kurang,"
    "                   count(*) FILTER (WHERE " RS_SIGNED " AND " RS_PREDIKAT " = 'sangat_kurang')"
    "                       AS s_sangat_kurang"
    "            FROM results r JOIN employees e ON e.nip = r.employee"
    "            WHERE r.period = $1 AND r.version > 0"
    "            GROUP BY e.unit) p ON p.unit = u.code"
    " ORDER BY u.code";

int resultstore_each_unit(struct pgstore *db, const char *period, resultstore_unit_fn fn, void *ctx)
{
    if (pgstore_require_conn(db) < 0)
        return -1;
    const char *params[1] = {period};
    PGresult *res = PQexecParams(db->conn, SQL_UNITS, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, "units");
        PQclear(res);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct resultstore_unit u = {0};
        u.unit = pgstore_text(res, i, 0);
        u.name = pgstore_text(res, i, 1);
        u.has_ikm = resultstore_num(res, i, 2, &u.ikm);
        u.mutu = u.has_ikm ? pgstore_text(res, i, 3) : NULL;
        u.skm_n = (int)resultstore_ll(res, i, 4);
        u.has_satisfaction = resultstore_num(res, i, 5, &u.satisfaction);
        u.counted = (int)resultstore_ll(res, i, 6);
        u.presses = (int)resultstore_ll(res, i, 7);
        u.repeats = (int)resultstore_ll(res, i, 8);
        if (u.counted == 0)
            u.has_satisfaction = false; /* a mean of nothing */
        u.results = resultstore_ll(res, i, 9);
        for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
            u.predikat[k] = resultstore_ll(res, i, 10 + k);
        u.signed_results = resultstore_ll(res, i, 10 + RESULTSTORE_PREDIKATS);
        for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
            u.signed_predikat[k] = resultstore_ll(res, i, 11 + RESULTSTORE_PREDIKATS + k);
        rc = fn(&u, ctx);
    }
    PQclear(res);
    return rc;
}

/* ---------------------------------------------------------------- results */

/* $1 period; $2 scope ('all', 'signed', 'unsigned'); $3 (the predikat ranking only) the
 * predikat codes in rank order. */
#define SQL_RESULTS_HEAD                                                                                     \
    "SELECT r.employee, e.name, e.unit, r.state::text, " RS_PREDIKAT ", r.version, r.score, r.calibration,"  \
    "       (v.result::json #> '{perilaku,groups}')::text, (v.result::json -> 'training')::text, " RS_SIGNED \
    " FROM results r"                                                                                        \
    " JOIN employees e ON e.nip = r.employee"                                                                \
    " JOIN score_versions v ON v.employee = r.employee AND v.period = r.period AND v.version = r.version"    \
    " WHERE r.period = $1 AND r.version > 0"                                                                 \
    "   AND ($2 = 'all' OR ($2 = 'signed') = (" RS_SIGNED "))"

static const char SQL_RESULTS_BY_SCORE[] =
    SQL_RESULTS_HEAD " ORDER BY e.unit, r.score DESC NULLS LAST, r.employee";
static const char SQL_RESULTS_BY_EMPLOYEE[] = SQL_RESULTS_HEAD " ORDER BY e.unit, r.employee";
static const char SQL_RESULTS_BY_PREDIKAT_SCORE[] =
    SQL_RESULTS_HEAD " ORDER BY e.unit, array_position($3::text[], " RS_PREDIKAT ") NULLS LAST,"
                     " r.score DESC NULLS LAST, r.employee";

struct results_walk {
    resultstore_row_fn fn;
    void *ctx;
};

/* The columns of SQL_RESULTS_HEAD, in its order. */
enum results_col {
    RESULTS_EMPLOYEE,
    RESULTS_NAME,
    RESULTS_UNIT,
    RESULTS_STATE,
    RESULTS_PREDIKAT,
    RESULTS_VERSION,
    RESULTS_SCORE,
    RESULTS_CALIBRATION,
    RESULTS_GROUPS,
    RESULTS_TRAINING,
    RESULTS_SIGNED
};

static int results_row(const PGresult *res, void *arg)
{
    struct results_walk *w = arg;
    struct resultstore_row r = {0};
    r.employee = pgstore_text(res, 0, RESULTS_EMPLOYEE);
    r.name = pgstore_text(res, 0, RESULTS_NAME);
    r.unit = pgstore_text(res, 0, RESULTS_UNIT);
    r.state = pgstore_text(res, 0, RESULTS_STATE);
    r.predikat = pgstore_text(res, 0, RESULTS_PREDIKAT);
    r.version = (int)resultstore_ll(res, 0, RESULTS_VERSION);
    r.has_score = resultstore_num(res, 0, RESULTS_SCORE, &r.score);
    const char *cal = pgstore_text(res, 0, RESULTS_CALIBRATION);
    r.calibration = cal && cal[0] == 't';
    r.groups_json = pgstore_text(res, 0, RESULTS_GROUPS);
    r.training_json = pgstore_text(res, 0, RESULTS_TRAINING);
    const char *sig = pgstore_text(res, 0, RESULTS_SIGNED);
    r.is_signed = sig && sig[0] == 't';
    return w->fn(&r, w->ctx);
}

/* "{sangat_baik,baik,butuh_perbaikan,kurang,sangat_kurang}": the rank order of SPEC 5.5,
 * from its one home, event_predikat_codes. */
static void resultstore_predikat_array(char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "{");
    for (int k = 0; k < RESULTSTORE_PREDIKATS && len < n; k++)
        len += (size_t)snprintf(out + len, n - len, "%s%s", k ? "," : "", event_predikat_codes[k]);
    if (len < n)
        snprintf(out + len, n - len, "}");
}

int resultstore_each_result(struct pgstore *db, const char *period, enum resultstore_order order,
                            enum resultstore_scope scope, resultstore_row_fn fn, void *ctx)
{
    static const char *const scopes[] = {"all", "signed", "unsigned"};
    char ranks[RS_PREDIKAT_ARRAY_MAX];
    resultstore_predikat_array(ranks, sizeof ranks);
    const char *params[3] = {period, scopes[scope], ranks};
    const char *sql = order == RESULTSTORE_BY_EMPLOYEE         ? SQL_RESULTS_BY_EMPLOYEE
                      : order == RESULTSTORE_BY_PREDIKAT_SCORE ? SQL_RESULTS_BY_PREDIKAT_SCORE
                                                               : SQL_RESULTS_BY_SCORE;
    struct results_walk w = {fn, ctx};
    int nparams = order == RESULTSTORE_BY_PREDIKAT_SCORE ? 3 : 2;
    return pgstore_each_row(db, "results", sql, nparams, params, results_row, &w);
}

/* ---------------------------------------------------------------- sign-off queue */

/* Current versions in pending_signoff of the employees whose pejabat penilai (in the
 * organisation data now, SPEC 6) is $1, with the highlights a sign-off request carries. */
static const char SQL_QUEUE[] =
    "SELECT r.employee, e.name, e.unit, r.period, r.version, r.predikat, r.score,"
    "       " RS_TIME_TEXT("r.pending_since") ", " RS_TIME_ISO(
        "r.pending_since") ", r.calibration,"
                           "       (kinerja_signoff_from_facts(coalesce(v.signoff, "
                           "kinerja_signoff_facts(v.result)), "
                           "r.calibration, r.late_events, NULL)"
                           /* the curve warning of the unit now (SPEC 5.10, schemas/0013) */
                           " || coalesce((SELECT jsonb_build_object('curve', w)"
                           " FROM kinerja_curve_warning(e.unit, r.period) AS w WHERE w IS NOT NULL),"
                           " '{}'::jsonb))::text"
                           " FROM results r"
                           " JOIN employees e ON e.nip = r.employee"
                           " LEFT JOIN score_versions v ON v.employee = r.employee AND v.period = r.period "
                           "AND v.version = r.version"
                           " WHERE r.state = 'pending_signoff' AND e.supervisor_nip = $1"
                           " ORDER BY r.pending_since NULLS LAST, r.period, r.employee";

struct queue_walk {
    resultstore_queued_fn fn;
    void *ctx;
};

/* The columns of SQL_QUEUE, in its order. */
enum queue_col {
    QUEUE_EMPLOYEE,
    QUEUE_NAME,
    QUEUE_UNIT,
    QUEUE_PERIOD,
    QUEUE_VERSION,
    QUEUE_PREDIKAT,
    QUEUE_SCORE,
    QUEUE_PENDING_SINCE,
    QUEUE_PENDING_SINCE_ISO,
    QUEUE_CALIBRATION,
    QUEUE_HIGHLIGHTS
};

static int queue_row(const PGresult *res, void *arg)
{
    struct queue_walk *w = arg;
    struct resultstore_queued q = {0};
    q.employee = pgstore_text(res, 0, QUEUE_EMPLOYEE);
    q.name = pgstore_text(res, 0, QUEUE_NAME);
    q.unit = pgstore_text(res, 0, QUEUE_UNIT);
    q.period = pgstore_text(res, 0, QUEUE_PERIOD);
    q.version = (int)resultstore_ll(res, 0, QUEUE_VERSION);
    q.predikat = pgstore_text(res, 0, QUEUE_PREDIKAT);
    q.has_score = resultstore_num(res, 0, QUEUE_SCORE, &q.score);
    q.pending_since = pgstore_text(res, 0, QUEUE_PENDING_SINCE);
    q.pending_since_iso = pgstore_text(res, 0, QUEUE_PENDING_SINCE_ISO);
    const char *cal = pgstore_text(res, 0, QUEUE_CALIBRATION);
    q.calibration = cal && cal[0] == 't';
    q.highlights_json = pgstore_text(res, 0, QUEUE_HIGHLIGHTS);
    return w->fn(&q, w->ctx);
}

int resultstore_each_queued(struct pgstore *db, const char *supervisor, resultstore_queued_fn fn, void *ctx)
{
    const char *params[1] = {supervisor};
    struct queue_walk w = {fn, ctx};
    return pgstore_each_row(db, "queue", SQL_QUEUE, 1, params, queue_row, &w);
}

/* ---------------------------------------------------------------- history */

/* Every score version and every state change of one result, oldest first; a version
 * and the state changes of the transaction that wrote it share a time, and the version
 * comes first. What a change means follows from its two states (SPEC 6): the appeal's
 * reason is the note of approved -> appealed; the decision's decider is the actor of
 * appealed -> final, whose note is "uphold|revise[: note]" (schemas/0003). */
static const char SQL_HISTORY[] =
    "WITH h AS ("
    "  SELECT v.computed_at AS at, 0 AS src, v.version::bigint AS ord,"
    "         jsonb_build_object('what', 'version', 'version', v.version, 'predikat', v.predikat,"
    "                            'score', v.score, 'reason', v.reason, 'at', " RS_TIME_ISO(
        "v.computed_at") ") AS j"
                         "  FROM score_versions v WHERE v.employee = $1 AND v.period = $2"
                         "  UNION ALL"
                         "  SELECT a.at, 1, a.id,"
                         "         jsonb_build_object('what', CASE"
                         "                  WHEN a.from_state IS NULL THEN 'created'"
                         "                  WHEN a.to_state = 'pending_signoff' THEN 'signoff_requested'"
                         "                  WHEN a.to_state = 'approved' THEN 'approved'"
                         "                  WHEN a.from_state = 'approved' AND a.to_state = 'returned' THEN "
                         "'reopened'"
                         "                  WHEN a.to_state = 'returned' THEN 'returned'"
                         "                  WHEN a.to_state = 'collecting' THEN 'collecting'"
                         "                  WHEN a.to_state = 'appealed' THEN 'appealed'"
                         "                  WHEN a.from_state = 'appealed' AND a.to_state = 'final' THEN "
                         "'decided'"
                         "                  WHEN a.to_state = 'final' THEN 'final'"
                         "                  ELSE a.to_state::text END,"
                         "             'from', a.from_state, 'to', a.to_state, 'version', a.version, "
                         "'actor', a.actor,"
                         "             'note', a.note, 'event_id', a.event_id, 'at', " RS_TIME_ISO(
                             "a.at") ")"
                                     "         || CASE"
                                     "              WHEN a.from_state = 'approved' AND a.to_state = "
                                     "'appealed'"
                                     "                THEN jsonb_build_object('reason', a.note)"
                                     "              WHEN a.from_state = 'appealed' AND a.to_state = 'final'"
                                     "                THEN jsonb_build_object('decider', a.actor,"
                                     "                       'decision', split_part(a.note, ': ', 1),"
                                     "                       'decision_note', nullif(substr(a.note, "
                                     "length(split_part(a.note, ': ', 1)) + 3), ''))"
                                     "                     || CASE WHEN split_part(a.note, ': ', 1) = "
                                     "'revise'"
                                     "                             THEN jsonb_build_object('predikat', "
                                     "r.revised_predikat)"
                                     "                             ELSE '{}'::jsonb END"
                                     "              ELSE '{}'::jsonb END"
                                     "  FROM result_audit a"
                                     "  LEFT JOIN results r ON r.employee = a.employee AND r.period = "
                                     "a.period"
                                     "  WHERE a.employee = $1 AND a.period = $2"
                                     "  UNION ALL"
                                     /* the supervisor's feedback notes (umpan balik, schemas/0015) of
                                      * the period and of the shorter periods inside it */
                                     "  SELECT f.ts, 2, 0,"
                                     "         jsonb_build_object('what', 'feedback', 'actor', "
                                     "f.payload ->> 'supervisor',"
                                     "             'note', f.payload ->> 'text', 'value', f.payload ->> "
                                     "'value',"
                                     "             'period', f.period, 'event_id', f.id, 'at', " RS_TIME_ISO(
                                         "f.ts") ")"
                                                 "  FROM event_log f"
                                                 "  WHERE f.type = 'feedback' AND f.employee = $1"
                                                 "    AND f.period = ANY (kinerja_period_parts($2))"
                                                 ")"
                                                 " SELECT coalesce(jsonb_agg(j ORDER BY at, src, ord), "
                                                 "'[]'::jsonb)::text FROM h";

int resultstore_history_json(struct pgstore *db, const char *nip, const char *period, char **out)
{
    *out = NULL;
    const char *params[2] = {nip, period};
    PGresult *res = pgstore_query(db, "history", SQL_HISTORY, 2, params);
    if (!res)
        return -1;
    const char *text = PQntuples(res) == 1 ? pgstore_text(res, 0, 0) : NULL;
    *out = strdup(text ? text : "[]");
    PQclear(res);
    if (!*out) {
        snprintf(db->errstr, sizeof db->errstr, "history: out of memory");
        db->err = -1;
        return -1;
    }
    return 0;
}

int resultstore_periodic_json(struct pgstore *db, const char *nip, const char *year, char **out)
{
    *out = NULL;
    const char *params[2] = {nip, year};
    PGresult *res =
        pgstore_query(db, "periodic results", "SELECT kinerja_periodic_results($1, $2)::text", 2, params);
    if (!res)
        return -1;
    const char *text = PQntuples(res) == 1 ? pgstore_text(res, 0, 0) : NULL;
    *out = strdup(text ? text : "[]");
    PQclear(res);
    if (!*out) {
        snprintf(db->errstr, sizeof db->errstr, "periodic results: out of memory");
        db->err = -1;
        return -1;
    }
    return 0;
}
