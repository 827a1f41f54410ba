/*
 * scoreversion: when a recomputed result is a new score version (SPEC 5.7). Pure: plain
 * structs in, a decision and its reason out, no I/O. Called by the score worker
 * (workers/scorer.c) for every result it computes, in the incremental path and in a full
 * recalculation alike, so both give the same versions.
 *
 * A score version is what a supervisor signs (pejabat penilai) and what an appeal
 * examines. A recomputation writes a new one only when the result changed materially:
 *   - there is no version yet;
 *   - its predikat, or the hasil kerja or perilaku rating, changed;
 *   - the employee's own inputs changed: the evaluations about them (rater, relation,
 *     values, the supervisor's hasil_kerja judgement) or their work results (indicator,
 *     target, realization, direction, weight) -- see scoreversion_inputs_digest;
 *   - or the numeric score moved by at least score.version_min_delta from the current
 *     version's (or appeared or went away).
 * Drift below that -- the joint rater-effects estimate moves every result a little when
 * anyone in the period is rated, and single citizen presses move the citizen group --
 * is not a version: it neither fills a supervisor's inbox nor makes a pending sign-off
 * stale.
 */
#ifndef KINERJA_SCOREVERSION_H
#define KINERJA_SCOREVERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "score.h"

#define SCOREVERSION_DIGEST_HEX 33 /* 16-byte BLAKE2b as hex + NUL */
#define SCOREVERSION_REASON_MAX 96

/* One evaluation about the employee, as the digest sees it: the rater by NIP (stable
 * across organisation imports, unlike a table index), never its ts (a rater who sends
 * the same values again has not changed anything). */
struct scoreversion_rating {
    uint64_t rater; /* NIP as a number */
    enum relation relation;
    uint8_t values[SCORE_VALUES]; /* 1..5, 0 = not rated */
    enum hasil_kerja hasil_kerja;
};

/* What the current version recorded (results row). known = false for a row written
 * before the rule existed (no ratings or inputs digest recorded): then any change of
 * the result's JSON digest decides, once. */
struct scoreversion_current {
    int version; /* 0 = none yet */
    bool known;
    enum score_predikat predikat;
    enum score_rating hasil, perilaku;
    bool has_score;
    double score; /* as stored: rounded to two decimals */
    char inputs_digest[SCOREVERSION_DIGEST_HEX];
    char json_digest[SCOREVERSION_DIGEST_HEX];
};

/*
 * The digest of one employee's own inputs, independent of the order of both arrays:
 * each is sorted into a canonical order (a copy; the inputs are not changed) before it
 * is hashed. out gets lowercase hex. Returns 0, or -1 when out of memory.
 */
int scoreversion_inputs_digest(const struct scoreversion_rating *ratings, size_t n_ratings,
                               const struct score_indicator *indicators, size_t n_indicators,
                               char out[SCOREVERSION_DIGEST_HEX]);

/*
 * Is result r (computed with p), whose own inputs hash to inputs_digest and whose JSON
 * hashes to json_digest, a new version after cur? Returns true and a short reason
 * ("first version", "predikat baik -> sangat_baik", "hasil kerja meets -> above",
 * "perilaku above -> meets", "inputs changed", "score moved 0.62") in why; false when
 * it is not (why empty).
 */
bool scoreversion_material(const struct score_params *p, const struct scoreversion_current *cur,
                           const struct score_result *r, const char *inputs_digest, const char *json_digest,
                           char *why, size_t whylen);

/* "above" .. "none" back to the rating; SCORE_RATING_NONE for anything else. */
enum score_rating scoreversion_rating_of(const char *name);
/* A predikat code back to the enum; SCORE_PREDIKAT_NONE for NULL or anything else. */
enum score_predikat scoreversion_predikat_of(const char *code);

#endif
