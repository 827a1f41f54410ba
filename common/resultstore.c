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
static const char SQL_SCORE[] = "SELECT e.nip, e.name, e.unit, r.state::text, r.version, r.late_events,"
                                "       v.version, v.computed_at::text,"
                                "       CASE WHEN r.revised_predikat IS NOT NULL AND v.version = r.version"
                                "            THEN (v.result || jsonb_build_object('predikat', r.revised_predikat,"
                                "                  'computed_predikat', v.result -> 'predikat'))::text"
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
    "       coalesce(p.butuh_perbaikan, 0), coalesce(p.kurang, 0), coalesce(p.sangat_kurang, 0)"
    " FROM units u"
    " LEFT JOIN unit_scores s ON s.unit = u.code AND s.period = $1"
    " LEFT JOIN (SELECT e.unit, count(*) AS results,"
    "                   count(*) FILTER (WHERE r.predikat = 'sangat_baik') AS sangat_baik,"
    "                   count(*) FILTER (WHERE r.predikat = 'baik') AS baik,"
    "                   count(*) FILTER (WHERE r.predikat = 'butuh_perbaikan') AS butuh_perbaikan,"
    "                   count(*) FILTER (WHERE r.predikat = 'kurang') AS kurang,"
    "                   count(*) FILTER (WHERE r.predikat = 'sangat_kurang') AS sangat_kurang"
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
        rc = fn(&u, ctx);
    }
    PQclear(res);
    return rc;
}

/* ---------------------------------------------------------------- results */

#define SQL_RESULTS_HEAD                                                                                     \
    "SELECT r.employee, e.name, e.unit, r.state::text, r.predikat, r.version, r.score, r.calibration,"       \
    "       (v.result #> '{perilaku,groups}')::text, (v.result -> 'training')::text"                         \
    " FROM results r"                                                                                        \
    " JOIN employees e ON e.nip = r.employee"                                                                \
    " JOIN score_versions v ON v.employee = r.employee AND v.period = r.period AND v.version = r.version"    \
    " WHERE r.period = $1 AND r.version > 0"

static const char SQL_RESULTS_BY_SCORE[] =
    SQL_RESULTS_HEAD " ORDER BY e.unit, r.score DESC NULLS LAST, r.employee";
static const char SQL_RESULTS_BY_EMPLOYEE[] = SQL_RESULTS_HEAD " ORDER BY e.unit, r.employee";

struct results_walk {
    resultstore_row_fn fn;
    void *ctx;
};

static int results_row(const PGresult *res, void *arg)
{
    struct results_walk *w = arg;
    struct resultstore_row r = {0};
    r.employee = pgstore_text(res, 0, 0);
    r.name = pgstore_text(res, 0, 1);
    r.unit = pgstore_text(res, 0, 2);
    r.state = pgstore_text(res, 0, 3);
    r.predikat = pgstore_text(res, 0, 4);
    r.version = (int)resultstore_ll(res, 0, 5);
    r.has_score = resultstore_num(res, 0, 6, &r.score);
    const char *cal = pgstore_text(res, 0, 7);
    r.calibration = cal && cal[0] == 't';
    r.groups_json = pgstore_text(res, 0, 8);
    r.training_json = pgstore_text(res, 0, 9);
    return w->fn(&r, w->ctx);
}

int resultstore_each_result(struct pgstore *db, const char *period, enum resultstore_order order,
                            resultstore_row_fn fn, void *ctx)
{
    const char *params[1] = {period};
    const char *sql = order == RESULTSTORE_BY_EMPLOYEE ? SQL_RESULTS_BY_EMPLOYEE : SQL_RESULTS_BY_SCORE;
    struct results_walk w = {fn, ctx};
    return pgstore_each_row(db, "results", sql, 1, params, results_row, &w);
}
