/*
 * rater_effects: the joint robust estimate of ratee levels and rater offsets that
 * SPEC 5.3 calls "rater effects" (leniency, severity, favouritism). Pure: arrays in,
 * arrays out, no I/O. Called by score.c (score_rater_effects), which feeds it every
 * non-self evaluation of a period, and by bench/fairness_sim.c.
 *
 * Model: rating i by rater r(i) about ratee e(i) is
 *     y_i = level[e(i)] + offset[r(i)] + noise_i
 * Levels and offsets are estimated together by iteratively reweighted least squares:
 *   - Huber weights w_i = min(1, c * scale / |t_i|), c = RATER_EFFECTS_HUBER_C, where
 *     t_i is the residual y_i - level - offset divided by sqrt(1 - h_i), h_i = w_i /
 *     (sum of w over the ratee's ratings) (the rating's leverage on its ratee's level;
 *     a ratee's only rating has h = 1 and keeps w = 1, it cannot be judged against
 *     anything), and scale = 1.4826 x the median |t| (MAD), at least
 *     RATER_EFFECTS_MIN_SCALE;
 *   - offsets are shrunk toward 0 (a ridge penalty): offset[r] = sum w (y - level) /
 *     (sum w + k), so a rater with n full-weight ratings keeps n/(n+k) of their mean
 *     residual (k = fairness.leniency_min: at n = k half of it applies). The penalty
 *     also identifies the model: a common shift of every rating goes into the levels,
 *     never into the offsets;
 *   - levels are not shrunk: level[e] = sum w (y - offset) / sum w.
 * Each IRLS step holds the weights fixed and solves that weighted ridge problem
 * exactly: the levels are eliminated (level = weighted mean of y - offset) and the
 * offsets solve a symmetric positive definite system by preconditioned conjugate
 * gradients (Jacobi), warm-started from the previous step. (Alternating sweeps --
 * offsets, then levels -- converge slowly on real organisations: units are linked to
 * each other only through their supervisors, so "raise one unit's offsets, lower its
 * levels" is resisted by about one rating in thirty; CG does not care.) Then residuals,
 * scale and weights are recomputed. It stops when no level or offset moved more than
 * RATER_EFFECTS_TOL between steps, or after RATER_EFFECTS_MAX_ITER steps. Cost:
 * O(steps x CG iterations x ratings), flat arrays only; 3 million ratings take about
 * 1 s on the development machine (bench/fairness_sim.c --bench-rater-effects).
 *
 * At the optimum the offsets of every connected set of raters and ratees sum to 0 (the
 * ridge's derivative along "all offsets +d, all levels -d", which changes no residual).
 *
 * Determinism: ratings are put in a canonical order (by ratee, rater, y) before any
 * sum is taken, so the result depends on the set of ratings, not on their order.
 */
#ifndef KINERJA_RATER_EFFECTS_H
#define KINERJA_RATER_EFFECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATER_EFFECTS_MAX_ITER 100
#define RATER_EFFECTS_TOL 1e-6
#define RATER_EFFECTS_HUBER_C 1.345
#define RATER_EFFECTS_MAD_FACTOR 1.4826
/* Floor of the residual scale, on the 1..5 scale. Without it, a set of perfectly
 * consistent ratings (MAD 0) would give every rating that differs at all a weight
 * near 0. 0.25 is about the rounding noise of a mean of a few integer ratings. */
#define RATER_EFFECTS_MIN_SCALE 0.25
/* Largest number of people (raters and ratees share one index space) and ratings. */
#define RATER_EFFECTS_MAX_PEOPLE 50000000
#define RATER_EFFECTS_MAX_RATINGS 500000000

struct rater_effects {
    size_t n_people; /* raters and ratees are indexes 0..n_people-1 */
    size_t n_ratings;
    double *level;        /* per person as ratee; NAN when nobody rated them */
    double *offset;       /* per person as rater, already shrunk: subtract it from their ratings */
    double *rater_weight; /* per person: sum of the robust weights of their ratings */
    int *rater_n;         /* per person: number of ratings they gave */
    double *weight;       /* per rating, in the caller's order: the Huber weight, (0, 1] */
    double scale;         /* robust residual scale of the last step */
    int iterations;       /* IRLS steps */
    int cg_iterations;    /* conjugate-gradient iterations over all steps */
    bool converged;
    char errstr[128];
};

/* Allocates the result arrays. NULL on failure or when a count is over its limit. */
struct rater_effects *rater_effects_new(size_t n_people, size_t n_ratings);
void rater_effects_destroy(struct rater_effects **re);

/*
 * Estimates levels, offsets and weights for n_ratings ratings (the counts given to
 * rater_effects_new): rater[i] and ratee[i] in 0..n_people-1, y[i] finite (the mean of
 * the rating's values on the 1..5 scale). shrink_k >= 0 is fairness.leniency_min.
 * Returns 0, or -1 with the reason in re->errstr (bad index or value, out of memory).
 * A rater who gave no rating has offset 0; a person nobody rated has level NAN.
 */
int rater_effects_estimate(struct rater_effects *re, const int32_t *rater, const int32_t *ratee,
                           const double *y, double shrink_k);

#endif
