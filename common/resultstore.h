/*
 * resultstore: the read side of scoring in PostgreSQL (schemas/0002_scoring.sql), for
 * the CLI: one employee's result at a given score version (`kinerja score`), and per
 * period the unit summaries (IKM, satisfaction, predikat counts) and the per-result
 * rows that `kinerja report unit|awards|training|public` are built from.
 *
 * Read only; only parameterized SQL. It shares the pgstore handle (connection and
 * hiredis-style error carrying: functions return 0 / -1 and the caller reads
 * db->errstr). Called by tools/cmd_score.c and tools/cmd_report.c. The rows are written
 * by the score worker (workers/score_store.h); this module never writes.
 *
 * Glossary: predikat = the final performance predicate of a result (sangat_baik ..
 * sangat_kurang); IKM = Indeks Kepuasan Masyarakat, the unit's citizen-satisfaction
 * index from SKM surveys, with its mutu (quality band A..D); satisfaction = the mean of
 * the four-button smiley presses (1..4).
 */
#ifndef KINERJA_RESULTSTORE_H
#define KINERJA_RESULTSTORE_H

#include "pgstore.h"

#include <stdbool.h>

#define RESULTSTORE_PREDIKATS 5 /* in the order of event_predikat_codes */

/* Why resultstore_score found nothing to show. */
enum resultstore_found {
    RESULTSTORE_FOUND,
    RESULTSTORE_NO_EMPLOYEE, /* the NIP is not in the organisation */
    RESULTSTORE_NO_RESULT,   /* no result for that period, or no score version yet */
    RESULTSTORE_NO_VERSION   /* the requested version does not exist */
};

/* One employee's result at one version. Strings are malloc'd and owned by the struct
 * (resultstore_score_clear frees them); NULL when absent. */
struct resultstore_score {
    char *employee; /* NIP */
    char *name;
    char *unit;
    char *state;         /* result_state: collecting, pending_signoff, ... (NULL: no result row) */
    int version;         /* the version shown */
    int current_version; /* results.version; 0 = none yet */
    int late_events;     /* events that arrived while the result was frozen */
    char *computed_at;   /* when the shown version was computed (timestamptz text) */
    char *result_json;   /* score_versions.result as text: {"predikat":..,"score":..,...} */
};

/*
 * Reads employee nip's result for period at version (0 = the current one). Returns 0
 * with *found saying whether there is something to show (out is filled as far as it
 * goes: name and unit whenever the employee exists, state when a result row exists),
 * or -1 on a database error (db->errstr). The caller clears out in every case.
 */
int resultstore_score(struct pgstore *db, const char *nip, const char *period, int version,
                      struct resultstore_score *out, enum resultstore_found *found);
void resultstore_score_clear(struct resultstore_score *s);

/* One unit of the organisation for one period. Strings point into the query result
 * and live only during the callback. */
struct resultstore_unit {
    const char *unit; /* unit code */
    const char *name; /* may be NULL */
    bool has_ikm;     /* the score worker stored an IKM (SKM responses exist) */
    double ikm;       /* 25..100 */
    const char *mutu; /* "A".."D"; NULL without IKM */
    int skm_n;        /* SKM responses behind the IKM */
    bool has_satisfaction;
    double satisfaction;                       /* mean of the counted smiley presses, 1..4 */
    int counted, presses, repeats;             /* smiley presses: counted, raw, flagged repeats */
    long long results;                         /* results with a score version, employees of the unit */
    long long predikat[RESULTSTORE_PREDIKATS]; /* of them, per predikat code */
};

/* Return non-zero to stop; that value is returned by the iterator. */
typedef int (*resultstore_unit_fn)(const struct resultstore_unit *u, void *ctx);

/* Calls fn for every unit of the units table, ordered by code, with the period's
 * unit_scores (absent: no IKM, no satisfaction, zero counts) and the predikat counts of
 * the current results of the unit's employees. Returns 0, fn's non-zero value, or -1. */
int resultstore_each_unit(struct pgstore *db, const char *period, resultstore_unit_fn fn, void *ctx);

/* One employee's current result in a period, for the person-level reports. Strings
 * point into the query result and live only during the callback. */
struct resultstore_row {
    const char *employee, *name, *unit;
    const char *state;    /* result_state */
    const char *predikat; /* code, NULL when not decided */
    int version;
    bool has_score;
    double score; /* 0..100 */
    bool calibration;
    const char *groups_json;   /* the version's perilaku.groups object as text, or NULL */
    const char *training_json; /* the version's training array as text, or NULL */
};

enum resultstore_order {
    RESULTSTORE_BY_SCORE,   /* unit, score descending (no score last), NIP */
    RESULTSTORE_BY_EMPLOYEE /* unit, NIP */
};

typedef int (*resultstore_row_fn)(const struct resultstore_row *r, void *ctx);

/* Calls fn for every result of the period that has a score version, streamed row by
 * row (memory does not grow with the organisation). Returns 0, fn's non-zero value
 * (the rest of the rows are discarded), or -1. */
int resultstore_each_result(struct pgstore *db, const char *period, enum resultstore_order order,
                            resultstore_row_fn fn, void *ctx);

/* "Sangat Baik", "Baik", "Butuh Perbaikan", "Kurang", "Sangat Kurang" for a predikat
 * code; NULL for NULL or an unknown code. */
const char *resultstore_predikat_label(const char *code);
/* Index 0..4 of a predikat code in event_predikat_codes, or -1. */
int resultstore_predikat_index(const char *code);
/* "Sangat Baik", "Baik", "Kurang Baik", "Tidak Baik" for mutu "A".."D"; NULL otherwise. */
const char *resultstore_mutu_label(const char *mutu);

#endif
