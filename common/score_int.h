/*
 * score_int: what the parts of the score engine share (score.h is the contract outside):
 *   score.c         names, the predikat matrix, one employee's result (hasil kerja,
 *                   perilaku, the numeric score, training)
 *   score_params.c  the parameters from the settings table (its defaults are the table's)
 *   score_raters.c  rater effects: leniency, credibility, the calibration test
 *   score_period.c  a whole period: every employee with the joint estimate
 *   score_json.c    the result as JSON, byte-exact
 * Not for use outside common/score*.c.
 */
#ifndef KINERJA_SCORE_INT_H
#define KINERJA_SCORE_INT_H

#include "rater_effects.h"
#include "score.h"

#include <stdbool.h>
#include <stddef.h>

#define SCORE_PERCENT 100.0
#define SCORE_SCALE_SPAN (SCORE_VALUE_MAX - SCORE_VALUE_MIN) /* 4: (perilaku - 1) / 4 */
#define SCORE_ROBUST_MIN_N 5      /* robust location applies from this many ratings */
#define SCORE_CALIBRATION_MIN_N 3 /* the calibration test needs this many other raters */
/* The supervisor offset the calibration test uses is computed again without the ratings
 * more than this many standard errors from it (score_test_offsets). */
#define SCORE_TEST_OFFSET_TRIM 2.0
#define SCORE_T_TABLE_DF 30
#define SCORE_Z_975 1.96
#define SCORE_JSON_ZERO 0.00005 /* |x| below this prints as 0.0000, never -0.0000 */
#define SCORE_BREAKDOWN_FORMAT 2

struct cw {
    double c, w;
};

/* An evaluation with its fit, as score_employee and the citizen offset sort them. */
struct sc_rating {
    struct score_evaluation ev;
    struct score_fit fit;
};

int score_cw_cmp(const void *pa, const void *pb);
void score_cw_sort(struct cw *x, size_t n);
double score_cw_mean(const struct cw *x, size_t n);
int score_check_evaluation(const struct score_evaluation *ev, size_t i, char *err, size_t errlen);
int score_rated_count(const struct score_evaluation *ev);
double score_rated_mean(const struct score_evaluation *ev);
int score_cmp_double(double a, double b);
int score_fb_sorted(const struct score_params *p, const struct ikm_feedback *fb, size_t n,
                    struct ikm_feedback **out, bool **repeat, char *err, size_t errlen);
int score_ind_cmp(const void *pa, const void *pb);
double score_sc_corrected(const struct score_params *p, const struct sc_rating *r, int j);
struct sc_rating *score_sc_ratings_sorted(const struct score_params *p, const struct score_evaluation *evs,
                                          const struct score_fit *fits, size_t n, char *err, size_t errlen);
double score_sc_weight(const struct score_params *p, const struct sc_rating *r);
int score_test_offsets(const struct rater_effects *re, const int32_t *rater, const int32_t *ratee,
                       const double *y, size_t m, double shrink_k, double z_max, const size_t *back,
                       struct score_fit *fits);

#endif
