/*
 * resultstore: the read side of scoring in PostgreSQL (schemas/0002_scoring.sql), for
 * the CLI: one employee's result at a given score version (`kinerja score`), and per
 * period the unit summaries (IKM, satisfaction, predikat counts) and the per-result
 * rows that `kinerja report unit|awards|training|public` are built from.
 *
 * Read only; only parameterized SQL. It shares the pgstore handle (connection and
 * hiredis-style error carrying: functions return 0 / -1 and the caller reads
 * db->errstr). Called by tools/cmd_score.c, tools/cmd_report.c and tools/cmd_queue.c.
 * The rows are written by the score worker (workers/score_store.h) and the workflow
 * SQL (schemas/0003_workflow.sql); this module never writes.
 *
 * Signed results (SPEC 5.5, 6): a result the pejabat penilai signed, i.e. in state
 * approved, appealed or final; its predikat is the one revised on appeal where a
 * decision revised it. Awards and the public report count only signed results.
 *
 * Times (SPEC 9: "Times shown to people are in time.zone"): every time this module
 * returns is formatted by PostgreSQL in the session's time zone, which
 * pgstore_use_time_zone sets from config time.zone: RESULTSTORE_TIME_TEXT for
 * people ("2026-10-04 06:30"), ISO 8601 with the offset in JSON
 * ("2026-10-04T06:30:00+07:00").
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
    char *computed_at;   /* when the shown version was computed ("YYYY-MM-DD HH:MM", time.zone) */
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
    long long signed_results;                  /* of them, signed (approved, appealed, final) */
    long long signed_predikat[RESULTSTORE_PREDIKATS]; /* of the signed, per (revised) predikat */
};

/* Return non-zero to stop; that value is returned by the iterator. */
typedef int (*resultstore_unit_fn)(const struct resultstore_unit *u, void *ctx);

/* Calls fn for every unit of the units table, ordered by code, with the period's
 * unit_scores (absent: no IKM, no satisfaction, zero counts), the predikat counts of
 * the current results of the unit's employees, and those of their signed results.
 * Returns 0, fn's non-zero value, or -1. */
int resultstore_each_unit(struct pgstore *db, const char *period, resultstore_unit_fn fn, void *ctx);

/* One employee's current result in a period, for the person-level reports. Strings
 * point into the query result and live only during the callback. */
struct resultstore_row {
    const char *employee, *name, *unit;
    const char *state;    /* result_state */
    bool is_signed;       /* approved, appealed or final */
    const char *predikat; /* code (the revised one where an appeal revised it), NULL when not decided */
    int version;
    bool has_score;
    double score; /* 0..100 */
    bool calibration;
    const char *groups_json;   /* the version's perilaku.groups object as text, or NULL */
    const char *training_json; /* the version's training array as text, or NULL */
};

enum resultstore_order {
    RESULTSTORE_BY_SCORE,    /* unit, score descending (no score last), NIP */
    RESULTSTORE_BY_EMPLOYEE, /* unit, NIP */
    /* SPEC 5.5's ranking: unit, predikat (sangat_baik first, in the order of
     * event_predikat_codes; none last), score descending (none last), NIP */
    RESULTSTORE_BY_PREDIKAT_SCORE
};

enum resultstore_scope {
    RESULTSTORE_ALL,
    RESULTSTORE_SIGNED,  /* approved, appealed, final */
    RESULTSTORE_UNSIGNED /* collecting, pending_signoff, returned */
};

typedef int (*resultstore_row_fn)(const struct resultstore_row *r, void *ctx);

/* Calls fn for every result of the period in scope that has a score version, streamed
 * row by row (memory does not grow with the organisation). Returns 0, fn's non-zero
 * value (the rest of the rows are discarded), or -1. */
int resultstore_each_result(struct pgstore *db, const char *period, enum resultstore_order order,
                            enum resultstore_scope scope, resultstore_row_fn fn, void *ctx);

/* One entry of a pejabat penilai's sign-off queue (SPEC 9 `kinerja queue`): a current
 * version in pending_signoff of an employee whose supervisor_nip is the queue's owner.
 * Strings point into the query result and live only during the callback. */
struct resultstore_queued {
    const char *employee, *name, *unit, *period;
    int version;
    const char *predikat; /* NULL when not decided */
    bool has_score;
    double score;
    const char *pending_since;     /* RESULTSTORE_TIME_TEXT in time.zone; NULL if unknown */
    const char *pending_since_iso; /* ISO 8601 with offset; NULL if unknown */
    bool calibration;
    /* kinerja_signoff_highlights (schemas/0003) of the version, as JSON text:
     * {"calibration","calibration_values","late_events","groups_hidden","hasil_kerja",
     * "perilaku","replaces_version"} */
    const char *highlights_json;
};

typedef int (*resultstore_queued_fn)(const struct resultstore_queued *q, void *ctx);

/* Calls fn for each result waiting for supervisor's sign-off (any id of 1..64 chars: a
 * NIP, or an evaluator who is not ASN), oldest pending_since first (then period, NIP).
 * Returns 0, fn's non-zero value, or -1. */
int resultstore_each_queued(struct pgstore *db, const char *supervisor, resultstore_queued_fn fn, void *ctx);

/*
 * The whole history of employee nip's result for period (SPEC 6) as a JSON array text
 * (malloc'd into *out, the caller frees; "[]" when there is none), oldest first:
 *   {"what":"version","version","predikat","score","at"} for every score version;
 *   {"what","from","to","version","actor","note","event_id","at"} for every state
 *   change, "what" one of created, signoff_requested, approved, returned, collecting,
 *   appealed, decided, final, reopened; an appeal ("appealed") adds "reason" (the
 *   keberatan); a decision ("decided") adds "decider", "decision" (uphold | revise),
 *   "decision_note" and, when revised, "predikat".
 * "at" is ISO 8601 in time.zone. Returns 0 or -1.
 */
int resultstore_history_json(struct pgstore *db, const char *nip, const char *period, char **out);

/*
 * The periodic results beside the annual result of employee nip for year (SPEC 5.9),
 * as a malloc'd JSON array (caller frees) of {"period", "predikat", "state", "version"}:
 * the year's quarters under workflow.cadence = quarterly, else its months, in order,
 * null members where a period has no result (schemas/0014_periods.sql,
 * kinerja_periodic_results). Returns 0 or -1.
 */
int resultstore_periodic_json(struct pgstore *db, const char *nip, const char *year, char **out);

/* "Sangat Baik", "Baik", "Butuh Perbaikan", "Kurang", "Sangat Kurang" for a predikat
 * code; NULL for NULL or an unknown code. */
const char *resultstore_predikat_label(const char *code);
/* Index 0..4 of a predikat code in event_predikat_codes, or -1. */
int resultstore_predikat_index(const char *code);
/* "Sangat Baik", "Baik", "Kurang Baik", "Tidak Baik" for mutu "A".."D"; NULL otherwise. */
const char *resultstore_mutu_label(const char *mutu);

#endif
