/*
 * score_store: the score worker's PostgreSQL side. Loads everything one period needs
 * (the derived tables of schemas/0002_scoring.sql, the organisation, the current
 * results) into the plain arrays common/score.h takes, in one REPEATABLE READ snapshot
 * with COPY, and writes the changed results back in one transaction (COPY into a temp
 * table, then set-based upserts). Called by workers/score.c.
 */
#ifndef KINERJA_SCORE_STORE_H
#define KINERJA_SCORE_STORE_H

#include "buf.h"
#include "event.h"
#include "score.h"
#include "scoreversion.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCORE_STORE_DIGEST_HEX SCOREVERSION_DIGEST_HEX /* 16-byte BLAKE2b as hex + NUL */
#define SCORE_STORE_UUID_LEN 37
#define SCORE_STORE_PARTS_MAX SCORE_PARALLEL_THREADS_MAX /* split sign-off parts: score.threads' bound */

/* A result's state as stored (result_state in SQL). */
enum stored_state { STORED_NONE, STORED_OPEN, STORED_FROZEN }; /* FROZEN: approved, appealed, final */

struct period_data {
    char period[8];
    long long generation;

    /* people: every employee of the organisation, sorted by NIP */
    size_t n_people;
    uint64_t *nip;    /* NIP as a number (EVENT_NIP_LEN digits fit) */
    int32_t *unit_of; /* index into units */
    size_t n_units;
    char **unit_code; /* sorted */

    struct score_evaluation *evs;
    size_t n_evs;
    struct score_indicator *ind;
    int32_t *ind_emp;
    size_t n_ind;
    struct ikm_feedback *fb;
    int32_t *fb_unit;                       /* unit index of each feedback */
    char (*fb_event)[SCORE_STORE_UUID_LEN]; /* event id */
    bool *fb_repeat;                        /* as stored */
    size_t n_fb;

    /* current results, by person index: the state, and what the current version
     * recorded (version 0 = none yet), for the material-change rule */
    enum stored_state *state;
    struct scoreversion_current *current;
    bool *has_data;           /* the person has anything to be scored on in this period */
    size_t skipped;           /* rows naming a person or unit not in the organisation */
    size_t evs_second;        /* of n_evs, read by the second connection (0: read whole on one) */
    char evs_second_err[256]; /* set: the second connection failed, its half was read on the first */
};

void period_data_free(struct period_data *d);

/* Loads period p. With second (a connection of its own, or NULL), a month of split_min
 * people or more has its ratings read in two halves at once, the second on second in
 * the same snapshot. Returns 0, or -1 with the reason in err. */
int score_store_load(PGconn *conn, PGconn *second, size_t split_min, const char *period,
                     struct period_data *d, char *err, size_t errlen);

/* The writer: begin, one row per changed result, finish (flags, unit scores, the
 * period's computed generation), all in one transaction. */
/* The temp tables the writer fills (_score_new, _unit_new) are created in each write
 * transaction, ON COMMIT DROP: a rolled-back transaction or a new connection leaves no
 * state behind that the next transaction could trust (issue 12: a stale "tables exist"
 * flag failed every period with `relation "_score_new" does not exist`). */
struct score_writer {
    PGconn *conn;
    /* The split sign-off (schemas/0025_signoff_parts.sql): with n_parts >= 2 the
     * requests are not made in the write transaction; score_store_finish commits the
     * results first, then makes them in n_parts transactions at once, part k on
     * part_conn[k] (part_conn[0] is conn), and only then marks the period computed.
     * Set by the caller before score_store_finish; 0 or 1: all in one transaction. */
    int n_parts;
    PGconn *const *part_conn;
    long long requests; /* sign-off requests the split made (score_store_finish) */
    /* where score_store_finish's time went (ms): the end of the versions' COPY (what
     * PostgreSQL had not yet taken in while the results were computed), the results'
     * upsert and the rest up to and with the COMMIT, the split sign-off's parts */
    long long ms_copy_end, ms_commit, ms_parts;
    const char *period; /* the period being stored (score_store_begin) */
    struct buf copy;    /* pending COPY data (the versions, straight into score_versions) */
    struct buf heads;   /* each new version's result row, COPY'd into _score_new after them */
    size_t rows;
};

/* A result set aside (schemas/0008_quarantine.sql): whose, and why. key is the
 * employee's NIP, or "unit:CODE" for a unit's IKM (feedback about no one). */
#define SCORE_STORE_QERR_MAX 256
#define SCORE_STORE_QKEY_MAX 80
struct score_quarantine {
    char key[SCORE_STORE_QKEY_MAX];
    char error[SCORE_STORE_QERR_MAX];
};

int score_store_begin(struct score_writer *w, const char *period, char *err, size_t errlen);
/* One new version: its result JSON and digest, the digest of the employee's own inputs
 * and why it is a version (scoreversion_material). */
struct score_store_version {
    const char *nip;
    int version;
    const struct score_result *result;
    const char *json;
    size_t json_len;
    const char *signoff; /* score_signoff_json of the result */
    size_t signoff_len;
    const char *digest;
    const char *inputs_digest;
    const char *reason;
};
int score_store_row(struct score_writer *w, const struct score_store_version *v, char *err, size_t errlen);

struct unit_score {
    const char *unit;
    struct ikm_result ikm;
    struct ikm_satisfaction sat;
};

/* Ends the COPY; stores the versions of the rows whose result is still open and whose
 * version is the next one (a result approved meanwhile is left alone); flips the
 * kiosk repeat flags of the listed feedback events; upserts the unit scores; records
 * the quarantined results q (with the event ids of their inputs) and releases the
 * period's earlier ones not in q; makes the sign-off requests (kinerja_after_score);
 * marks the period computed up to generation; commits. With w->n_parts >= 2 the
 * requests and the mark come after the commit (see struct score_writer): a failure
 * there returns -1 with the results stored and the period still behind, so its next
 * computation makes what is missing. *written: versions stored. */
int score_store_finish(struct score_writer *w, const struct period_data *d,
                       const char (*flip)[SCORE_STORE_UUID_LEN], size_t n_flip,
                       const struct unit_score *units, size_t n_units, const struct score_quarantine *q,
                       size_t n_q, size_t *written, char *err, size_t errlen);
/* Rows of score_quarantine in all (for the kinerja_score_quarantined gauge); -1 on error. */
long long score_store_quarantined(PGconn *conn);
void score_store_abort(struct score_writer *w);

/* The formatted NIP of person i (EVENT_NIP_LEN digits). */
void score_store_nip(const struct period_data *d, size_t i, char out[EVENT_NIP_LEN + 1]);

#endif
