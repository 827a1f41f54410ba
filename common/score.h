/*
 * score: the scoring rules of SPEC 5 as pure functions over plain structs (no Redis,
 * no PostgreSQL, no I/O): hasil kerja (work results), perilaku kerja (behaviour, the
 * seven BerAKHLAK values) with the fairness steps, the predikat, the numeric score,
 * training recommendations and the breakdown (JSON) that lets a supervisor sign a
 * result and an employee or appeal decider see how it came about.
 *
 * Called by the score worker (loads the period from PostgreSQL into these structs,
 * stores each changed result as a new score version with its breakdown), by the CLI's
 * reports, and by bench/fairness_sim.c. The rules, their reasons and parameters are in
 * docs/SCORING.md.
 *
 * Glossary: hasil kerja = work results against SKP indicators (the work plan);
 * perilaku kerja = work behaviour; predikat = the final performance predicate;
 * pejabat penilai = the direct supervisor who rates and signs off.
 *
 * How a caller scores a period (score_period does exactly this):
 *   1. score_rater_effects over ALL evaluations of the period (every unit): the joint
 *      robust estimate gives each evaluation a rater offset and a robust weight;
 *      and the period's model (the residual scale; struct score_model);
 *   2. the citizens' group offset (their generosity against the joint levels) over
 *      every employee with both citizen feedback and colleagues' ratings;
 *   3. score_employee per employee with that employee's evaluations (and their fits),
 *      citizen feedback, work-result indicators and the period's model.
 * score_employee is a pure function of its input, and its result (and JSON) does not
 * depend on the order of any input array.
 */
#ifndef KINERJA_SCORE_H
#define KINERJA_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "event.h"
#include "ikm.h"

#define SCORE_VALUES EVENT_BEHAVIOUR_KEYS /* the BerAKHLAK values, order of event_behaviour_keys */
#define SCORE_VALUE_PELAYANAN 0           /* berorientasi_pelayanan: citizens count toward it */
#define SCORE_VALUE_MIN 1
#define SCORE_VALUE_MAX 5
#define SCORE_COURSE_MAX 256 /* bytes of a course title kept in a result */
#define SCORE_ERR_MAX 160
#define SCORE_JSON_MAX (1u << 20) /* a breakdown is a few KB; bound for struct buf */
#define SCORE_DETAIL_MAX 32       /* SKP indicators listed one by one in a result */

/* Rater groups of SPEC 5.2. Citizens are a group, not an evaluation relation. */
enum score_group {
    SCORE_GROUP_SUPERVISOR,
    SCORE_GROUP_PEER,
    SCORE_GROUP_SUBORDINATE,
    SCORE_GROUP_CITIZEN,
    SCORE_GROUP_SELF,
    SCORE_GROUP_COUNT
};

/* above / meets / below; NONE = not enough data to say (see score_employee). */
enum score_rating { SCORE_RATING_NONE, SCORE_RATING_ABOVE, SCORE_RATING_MEETS, SCORE_RATING_BELOW };

enum score_predikat {
    SCORE_PREDIKAT_NONE, /* not decidable yet: a rating is missing */
    SCORE_PREDIKAT_SANGAT_BAIK,
    SCORE_PREDIKAT_BAIK,
    SCORE_PREDIKAT_BUTUH_PERBAIKAN,
    SCORE_PREDIKAT_KURANG,
    SCORE_PREDIKAT_SANGAT_KURANG
};

/* Every score.*, weight.*, fairness.* and training.* setting, plus the course catalog. */
struct score_params {
    double achievement_cap; /* score.achievement_cap */
    double hk_above, hk_meets;
    double pk_above, pk_meets;
    double w_hasil, w_perilaku;
    int ikm_min_responses;
    double version_min_delta;         /* score.version_min_delta: a score move that is a new version */
    double weight[SCORE_GROUP_COUNT]; /* weight.supervisor .. weight.self, by enum score_group */
    bool kiosk_misuse;
    int kiosk_repeat_s;
    bool rater_effects;
    double leniency_min;
    bool citizen_offset; /* fairness.citizen_offset: remove the citizens' group generosity */
    bool robust_location;
    bool credibility;
    double credibility_k;
    bool calibration;
    double calibration_delta;  /* fairness.calibration_delta: parsed, no effect since format 2 */
    double calibration_z;      /* fairness.calibration_z: |z| above this flags */
    double calibration_factor; /* supervisor weight factor when flagged (1: robust weight only) */
    int anonymity_min;
    double training_threshold;
    char course[SCORE_VALUES][SCORE_COURSE_MAX]; /* [training] catalog; "" = no course */
};

/* One SKP indicator's realization (work_result event, latest per indicator). */
/* An indicator code as scored: the event's code, with "@YYYY-MM" or "@YYYY-Qn" after it
 * when a quarter or a year is computed from the figures of its parts
 * (schemas/0014_periods.sql). */
#define SCORE_INDICATOR_PART_SUFFIX 8
#define SCORE_INDICATOR_CODE_MAX (EVENT_INDICATOR_MAX + SCORE_INDICATOR_PART_SUFFIX)

struct score_indicator {
    double target;      /* > 0 */
    double realization; /* >= 0 */
    double weight;      /* > 0 */
    enum direction direction;

    char code[SCORE_INDICATOR_CODE_MAX + 1]; /* the indicator code ("" when unknown) */
};

/* One evaluation (360 rating), the latest per (rater, ratee, relation). */
struct score_evaluation {
    int32_t rater; /* index of the rater in the caller's person table */
    int32_t ratee; /* index of the employee rated (same table) */
    enum relation relation;
    uint8_t values[SCORE_VALUES]; /* 1..5; 0 = not rated */
    enum hasil_kerja hasil_kerja; /* supervisor's judgement of work results, or HASIL_NONE */
    int64_t ts_ms;                /* when given: the latest supervisor judgement wins */
};

/* What the joint estimate says about one evaluation (score_rater_effects). */
struct score_fit {
    double offset;      /* the rater's shrunk offset: subtracted from every value */
    double weight;      /* robust weight of this rating, (0, 1]; 1 for self */
    double test_offset; /* the rater's offset for the calibration test: as offset, but over
                           the rater's ratings that the test does not flag (a supervisor's
                           favourites would otherwise inflate it and push every other
                           ratee of theirs down); 0 when rater effects are off */
};

/* What the period's joint model says about every result (score_rater_effects and
 * score_period_each fill it; score_employee reads it). */
struct score_model {
    bool has_scale;
    double scale; /* robust residual scale of one rating's mean (rater_effects.h) */
    bool has_citizen_offset;
    double citizen_offset; /* citizens' generosity: mean over employees of their citizen
                              value minus their joint berorientasi_pelayanan level */
    int citizen_offset_n;  /* employees it was estimated from */
};

struct score_employee_input {
    const struct score_indicator *indicators;
    size_t n_indicators;
    const struct score_evaluation *evaluations; /* about this employee, any relation */
    const struct score_fit *fits;               /* parallel to evaluations; may be NULL
                                                   when params.rater_effects is off */
    size_t n_evaluations;
    const struct ikm_feedback *feedback; /* citizen feedback about this employee */
    size_t n_feedback;
    const struct score_model *model; /* NULL: no calibration test, no citizen offset */
};

/* One value within one group, after each step (equal to the step before when the
 * step is off or does not apply). */
struct score_group_value {
    int n;                  /* ratings of this value in the group */
    double raw;             /* plain mean of the raw values */
    double rater_effects;   /* robust-weighted mean of the corrected values; for
                               citizens: the mean after the kiosk-misuse step */
    double citizen_offset;  /* citizens: after removing the group offset; others: = rater_effects */
    double robust_location; /* after dropping highest and lowest (n >= 5): the group's value */
    double z;               /* credibility factor Z = n/(n+k) of the group weight (1 = none) */
    double weight;          /* configured weight on this value: the group's; for the pool of
                               hidden groups, the sum over those that rated this value */
};

struct score_group_result {
    int n;                /* ratings in the group (citizen: counted responses) */
    bool shown;           /* false: hidden by anonymity (value and comments) */
    double weight;        /* configured group weight */
    double robust_weight; /* mean robust weight of the group's ratings */
    bool has_mean;
    double mean; /* mean over values of the group's final value */
    bool has_ci;
    double ci_lo, ci_hi; /* 95% interval of the group mean (n >= 2) */
    bool has[SCORE_VALUES];
    struct score_group_value values[SCORE_VALUES];
    int presses, repeats, skm; /* citizen only: raw presses, flagged repeats, SKM responses */
};

struct score_value_result {
    bool has;                  /* some group with weight rated this value */
    double before_calibration; /* weighted combination before the calibration factor */
    double value;              /* final, clamped to 1..5 */
    double supervisor_weight;  /* effective supervisor weight on this value */
    bool has_joint;
    double joint;          /* the ratee's joint level of this value: robust-weighted mean of
                              every corrected non-self rating of it */
    int joint_n;           /* ratings in it */
    double joint_weight;   /* weight the crowd groups handed to it (credibility) */
    bool calibration_flag; /* the result is flagged and the supervisor rated this value */
    bool has_self_gap;
    double self_gap; /* self minus the others' combined value */
};

/* The calibration test of the supervisor's rating (SPEC 5.3). */
struct score_calibration {
    bool tested;     /* a supervisor rating, >= 3 other non-self raters, a residual scale */
    bool flag;       /* |z| > calibration_z (and the step is on) */
    double residual; /* supervisor's corrected mean minus the level the others imply */
    double se;       /* scale x sqrt(1/m + 1/n) */
    double z;
    int n; /* other non-self raters */
};

/* One SKP indicator as the result shows it (canonical order: by code). */
struct score_indicator_detail {
    char code[SCORE_INDICATOR_CODE_MAX + 1];
    double target, realization, weight;
    enum direction direction;
    double achievement; /* capped */
};

struct score_training {
    int value; /* index into event_behaviour_keys; the course is
                  params.course[value] ("" when the catalog has none) */
    double mean;
};

/* One employee's result. About 3 KB; it does not hold the parameters: pass the same
 * struct score_params to the JSON writers as to the scoring. */
struct score_result {
    int n_indicators;
    bool has_achievement;
    double achievement;       /* weighted mean of capped indicator achievements */
    double score_achievement; /* the achievement the numeric score uses: clamped into the
                                 band of the supervisor's rating when it overrides (SPEC 5.5) */
    bool hasil_from_supervisor;
    enum score_rating hasil;
    int n_detail; /* min(n_indicators, SCORE_DETAIL_MAX) */
    struct score_indicator_detail detail[SCORE_DETAIL_MAX];

    bool has_perilaku;
    double perilaku; /* 1..5 */
    enum score_rating perilaku_rating;
    struct score_value_result values[SCORE_VALUES];
    struct score_group_result groups[SCORE_GROUP_COUNT];
    bool has_others;                  /* some crowd group is hidden: they are pooled */
    struct score_group_result others; /* the hidden crowd groups pooled (display and computation) */
    bool restricted;                  /* the pool is still below anonymity_min: only final values are shown */
    struct score_calibration calibration;
    bool calibration_flag;    /* = calibration.flag */
    struct score_model model; /* the period's model the result used (zero without one) */

    enum score_predikat predikat;
    bool has_score;
    double score; /* 0..100 */

    int n_training;
    struct score_training training[SCORE_VALUES];

    struct ikm_result ikm; /* over SKM responses about the employee */
    bool has_ikm;          /* ikm.n >= params.ikm_min_responses */
    struct ikm_satisfaction satisfaction;

    char err[SCORE_ERR_MAX];
};

extern const char *const score_group_names[SCORE_GROUP_COUNT]; /* "supervisor", ... */
const char *score_rating_name(enum score_rating r);            /* "above", "meets", "below", "none" */
const char *score_predikat_code(enum score_predikat p);        /* event_predikat_codes; NULL for NONE */

/* The defaults of common/config.c's table, with an empty course catalog. */
void score_params_default(struct score_params *p);

/* Reads every setting named above and the [training] catalog (key = a BerAKHLAK value
 * name, value = course title). A catalog key that is not a BerAKHLAK value is an error
 * (a typo must not silently drop a course). Returns 0, or -1 with the reason in err. */
int score_params_from_config(const struct config *cfg, struct score_params *p, char *err, size_t errlen);

/* The predikat matrix of SPEC 5.4; NONE when either rating is NONE. */
enum score_predikat score_predikat_of(enum score_rating hasil, enum score_rating perilaku);

/*
 * The joint rater-effects estimate (rater_effects.h) over every non-self evaluation in
 * evs that rates at least one value, on the mean of its rated values. Raters and
 * ratees are indexes 0..n_people-1. Fills fits[i] for every evaluation (self and empty
 * ones: offset 0, weight 1). With p->rater_effects off it fills offset 0, weight 1
 * (the estimate still runs when calibration is on: its residual scale is the test's).
 * model (may be NULL) gets the residual scale; its citizen offset is left unset.
 * Returns 0, or -1 with the reason in err.
 */
int score_rater_effects(const struct score_params *p, const struct score_evaluation *evs, size_t n,
                        size_t n_people, struct score_fit *fits, struct score_model *model, char *err,
                        size_t errlen);

/*
 * Scores one employee for one period. Returns 0 with *out filled, or -1 with the
 * reason in out->err (an invalid input record, fits missing while rater effects are
 * on, out of memory).
 *
 * Missing data:
 *   - no indicators: achievement absent; hasil kerja from the supervisor's judgement if
 *     given, else NONE;
 *   - no rating that counts (no evaluation or citizen response, or only groups with
 *     weight 0, e.g. only the self-assessment): perilaku absent, rating NONE;
 *   - predikat NONE unless both ratings are known; numeric score absent unless both the
 *     achievement and perilaku are known; training only for values that have a mean.
 */
int score_employee(const struct score_params *p, const struct score_employee_input *in,
                   struct score_result *out);

/* A whole period at once (the recalculation): employees 0..n_employees-1, unit[e] the
 * unit index of employee e (checked to be >= 0; since breakdown format 2 no step uses
 * it: credibility's target is the ratee's own joint level, not a unit mean; may be NULL); evaluations,
 * feedback (feedback.employee = index or IKM_NO_EMPLOYEE) and indicators (indicator_employee[i] = whose) for
 * every employee. results has n_employees entries. Returns 0, or -1 with the reason in err. */
struct score_period_input {
    size_t n_employees;
    const int32_t *unit;
    const struct score_evaluation *evaluations;
    size_t n_evaluations;
    const struct ikm_feedback *feedback;
    size_t n_feedback;
    const struct score_indicator *indicators;
    const int32_t *indicator_employee;
    size_t n_indicators;
};
int score_period(const struct score_params *p, const struct score_period_input *in,
                 struct score_result *results, char *err, size_t errlen);

/* The same, streaming: calls each(e, result, ctx) for every employee in index order
 * with reused results (a round of SCORE_PARALLEL_BLOCK), so memory does not grow with the number of results.
 * A non-zero return from each stops the run and is returned. */
typedef int (*score_each_fn)(size_t employee, const struct score_result *r, void *ctx);
int score_period_each(const struct score_params *p, const struct score_period_input *in, score_each_fn each,
                      void *ctx, char *err, size_t errlen);

/* The same on several threads. Employees go in rounds of SCORE_PARALLEL_BLOCK: each
 * round's are scored on `threads` threads (the caller's among them), prepare(e, r, slot,
 * ctx) running beside each result on the thread that computed it; then commit(e, r, slot,
 * ctx) is called on the caller's thread for each in index order. prepare may write only
 * its slot (slots: SCORE_PARALLEL_BLOCK of slot_size bytes, the caller's, reused every
 * round) and may be NULL. Every employee's result reads only the period and the joint
 * model, so it is the same bytes whatever the number of threads. A non-zero commit stops
 * the run and is returned. */
#define SCORE_PARALLEL_BLOCK 512
#define SCORE_PARALLEL_THREADS_MAX 16
typedef void (*score_prepare_fn)(size_t employee, const struct score_result *r, void *slot, void *ctx);
typedef int (*score_commit_fn)(size_t employee, const struct score_result *r, void *slot, void *ctx);
struct score_parallel {
    int threads; /* 1..SCORE_PARALLEL_THREADS_MAX (outside: clamped) */
    score_prepare_fn prepare;
    score_commit_fn commit;
    void *ctx;
    void *slots;
    size_t slot_size;
};
int score_period_parallel(const struct score_params *p, const struct score_period_input *in,
                          const struct score_parallel *par, char *err, size_t errlen);

/*
 * JSON. Stable key order, numbers as "%.4f" (never "-0.0000"), null for what is
 * absent, so equal results give byte-identical text. p must be the parameters the
 * result was computed with (the breakdown records them, and the course titles).
 * score_result_json_fields appends the members
 *     "predikat","score","hasil_kerja","perilaku","ikm","satisfaction","training","breakdown"
 * WITHOUT the surrounding braces, so the caller can put its own first
 * ({"employee":..,"period":..,"version":..,"state":.., <these>}) as SPEC 9 shows.
 * score_breakdown_json appends the breakdown object alone. Both return 0, or -1 when
 * the buffer's bound is reached.
 */
int score_result_json_fields(const struct score_params *p, const struct score_result *r, struct buf *b);
int score_breakdown_json(const struct score_params *p, const struct score_result *r, struct buf *b);
/* The facts a sign-off request shows, as one small object (score_versions.signoff, so
 * the request need not parse the whole result): {"calibration_values":[..],
 * "groups_hidden":[..],"hasil_kerja":..,"perilaku":..,"training":[..]}, each exactly
 * what schemas/functions/kinerja_signoff_facts.sql derives from the result's JSON. */
int score_signoff_json(const struct score_params *p, const struct score_result *r, struct buf *b);

#endif
