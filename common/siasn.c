/*
 * siasn: see siasn.h and docs/SIASN.md.
 */
#include "siasn.h"

#include "angkakredit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct siasn_code {
    const char *code;
    int value;
    const char *label;
};

static const struct siasn_code siasn_ratings[] = {
    {"above", 3, "Di Atas Ekspektasi"},
    {"meets", 2, "Sesuai Ekspektasi"},
    {"below", 1, "Di Bawah Ekspektasi"},
    {NULL, 0, NULL},
};

static const struct siasn_code siasn_kuadran[] = {
    {"sangat_baik", 5, "Sangat Baik"},         {"baik", 4, "Baik"},
    {"butuh_perbaikan", 3, "Butuh Perbaikan"}, {"kurang", 2, "Kurang"},
    {"sangat_kurang", 1, "Sangat Kurang"},     {NULL, 0, NULL},
};

/* The entry of code in table (ends with a NULL code), or that end entry (0, NULL). */
static const struct siasn_code *siasn_lookup(const struct siasn_code *table, const char *code)
{
    while (table->code && (!code || strcmp(table->code, code)))
        table++;
    return table;
}

int siasn_rating_value(const char *rating)
{
    return siasn_lookup(siasn_ratings, rating)->value;
}

const char *siasn_rating_label(const char *rating)
{
    return siasn_lookup(siasn_ratings, rating)->label;
}

int siasn_kuadran_value(const char *predikat)
{
    return siasn_lookup(siasn_kuadran, predikat)->value;
}

const char *siasn_kuadran_label(const char *predikat)
{
    return siasn_lookup(siasn_kuadran, predikat)->label;
}

/*
 * The signer: the actor of the result's latest approval (result_audit; the supervisor
 * who signed, SPEC 6: the pejabat penilai at the time of the sign-off), else the
 * employee's supervisor now. Columns: 0 nip, 1 name, 2 period, 3 state, 4 version,
 * 5 predikat, 6 hasil rating, 7 perilaku rating, 8 signer, 9 its name, 10 position,
 * 11 unit (name, else code), 12 is an employee, 13 is an evaluator.
 */
static const char SQL_SIASN_RECORDS[] =
    "SELECT r.employee, e.name, r.period, r.state::text, r.version,"
    "       coalesce(r.revised_predikat, r.predikat),"
    "       v.result::json -> 'hasil_kerja' ->> 'rating', v.result::json -> 'perilaku' ->> 'rating',"
    "       s.signer, coalesce(pe.name, pv.name), coalesce(pe.position, pv.position),"
    "       CASE WHEN pe.nip IS NOT NULL THEN coalesce(pu.name, pe.unit) END,"
    "       pe.nip IS NOT NULL, pv.id IS NOT NULL"
    " FROM results r"
    " JOIN employees e ON e.nip = r.employee"
    " LEFT JOIN score_versions v ON v.employee = r.employee AND v.period = r.period AND v.version = r.version"
    " CROSS JOIN LATERAL (SELECT coalesce((SELECT a.actor FROM result_audit a"
    "                                      WHERE a.employee = r.employee AND a.period = r.period"
    "                                        AND a.to_state = 'approved' ORDER BY a.id DESC LIMIT 1),"
    "                                     e.supervisor_nip) AS signer) s"
    " LEFT JOIN employees pe ON pe.nip = s.signer"
    " LEFT JOIN units pu ON pu.code = pe.unit"
    " LEFT JOIN evaluators pv ON pv.id = s.signer"
    " WHERE r.period = $1 AND kinerja_frozen(r.state)"
    " ORDER BY e.unit, r.employee";

static const char *siasn_value(const PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

struct siasn_walk {
    siasn_record_fn fn;
    void *ctx;
    int year, first, last;
};

static int siasn_row(const PGresult *res, void *ctx)
{
    struct siasn_walk *w = ctx;
    struct siasn_record r = {
        .nip = siasn_value(res, 0),
        .name = siasn_value(res, 1),
        .period = siasn_value(res, 2),
        .year = w->year,
        .first_month = w->first,
        .last_month = w->last,
        .state = siasn_value(res, 3),
        .version = atoi(PQgetvalue(res, 0, 4)),
        .predikat = siasn_value(res, 5),
        .hasil_rating = siasn_value(res, 6),
        .perilaku_rating = siasn_value(res, 7),
        .evaluator_id = siasn_value(res, 8),
        .evaluator_name = siasn_value(res, 9),
        .evaluator_position = siasn_value(res, 10),
        .evaluator_unit = siasn_value(res, 11),
        .evaluator_asn = !strcmp(PQgetvalue(res, 0, 12), "t"),
    };
    r.evaluator_known = r.evaluator_asn || !strcmp(PQgetvalue(res, 0, 13), "t");
    return w->fn(&r, w->ctx);
}

int siasn_each_record(struct pgstore *db, const char *period, siasn_record_fn fn, void *ctx)
{
    struct siasn_walk w = {.fn = fn, .ctx = ctx};
    if (ak_period_months(period, &w.year, &w.first, &w.last) < 0) {
        snprintf(db->errstr, sizeof db->errstr, "period: must be YYYY-MM, YYYY-Qn or YYYY, got '%.64s'",
                 period ? period : "");
        db->err = -1;
        db->transient = false;
        return -1;
    }
    const char *params[1] = {period};
    return pgstore_each_row(db, "export siasn", SQL_SIASN_RECORDS, 1, params, siasn_row, &w);
}
