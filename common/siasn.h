/*
 * siasn: the periodic results of a period in the fields of SIASN's periodic-kinerja
 * record ("riwayat kinerja periodik", BKN's SIASN), for `kinerja export siasn`
 * (tools/cmd_export.c). Read only; parameterized SQL. Every field, its meaning, its
 * source here and what SIASN calls it: docs/SIASN.md.
 *
 * One record per SIGNED result of the period (approved, appealed, final): the predikat is
 * the one an appeal revised where revised; the ratings are those of the signed version;
 * the evaluator (penilai) is who approved it (result_audit), else the employee's
 * supervisor in the organisation data; an evaluator from the evaluators table is not ASN.
 */
#ifndef KINERJA_SIASN_H
#define KINERJA_SIASN_H

#include "pgstore.h"

#include <stdbool.h>

/* SIASN's values: hasil kerja and perilaku kerja ratings (1 below / di bawah ekspektasi,
 * 2 meets / sesuai, 3 above / di atas) and the kuadran (predikat) number, 1 sangat kurang
 * .. 5 sangat baik. 0 = unknown. docs/SIASN.md says what is confirmed and what not. */
int siasn_rating_value(const char *rating);            /* "above" 3, "meets" 2, "below" 1 */
const char *siasn_rating_label(const char *rating);    /* "Di Atas Ekspektasi", ...; NULL */
int siasn_kuadran_value(const char *predikat);         /* "sangat_baik" 5 .. "sangat_kurang" 1 */
const char *siasn_kuadran_label(const char *predikat); /* "Sangat Baik", ...; NULL */

/* One record; strings owned by the PGresult the callback's caller holds, NULL = none. */
struct siasn_record {
    const char *nip, *name; /* the employee appraised (pnsDinilai) */
    const char *period;     /* Kinerja's period: YYYY-MM, YYYY-Qn or YYYY */
    int year, first_month, last_month;
    const char *state;        /* approved, appealed, final */
    int version;              /* the score version signed */
    const char *predikat;     /* code; the revised one where an appeal revised it */
    const char *hasil_rating; /* "above" | "meets" | "below" (NULL: not in the version) */
    const char *perilaku_rating;
    const char *evaluator_id; /* NIP (ASN) or evaluator id (not ASN) */
    const char *evaluator_name, *evaluator_position, *evaluator_unit;
    bool evaluator_asn;   /* the evaluator is an employee (ASN), not from evaluators */
    bool evaluator_known; /* found in employees or evaluators */
};

typedef int (*siasn_record_fn)(const struct siasn_record *r, void *ctx);

/* Calls fn for each signed result of period (by unit, then NIP); fn returns 0 to go on.
 * Returns 0, fn's non-zero value, or -1 (db->errstr; a period that is none of YYYY-MM,
 * YYYY-Qn, YYYY is -1 with errstr "period: ..."). */
int siasn_each_record(struct pgstore *db, const char *period, siasn_record_fn fn, void *ctx);

#endif
