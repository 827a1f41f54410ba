/*
 * ikm: citizen feedback arithmetic (SPEC 5.6 and the kiosk-misuse step of 5.3). Pure:
 * plain structs in, numbers out, no I/O. Called by score.c (per employee), by the score
 * worker and the unit/public reports (per unit), and by bench/fairness_sim.c.
 *
 * IKM = Indeks Kepuasan Masyarakat (PermenPANRB 14/2017): from SKM survey responses
 * (nine elements u1..u9, each answered 1..4) the mean per element, then
 *     IKM = (sum of the nine element means / 9) x 25        (range 25..100)
 * and the mutu (service quality) band:
 *     A  88.31 - 100    Sangat Baik
 *     B  76.61 - 88.30  Baik
 *     C  65.00 - 76.60  Kurang Baik
 *     D  25.00 - 64.99  Tidak Baik
 * The bands are printed with two decimals and leave gaps (88.30 .. 88.31). SPEC 5.6:
 * the IKM is computed once from the integer sums, rounded half up to two decimals, and
 * the mutu is read from that rounded figure, so the number shown and its band always
 * agree (88.305 shows as 88.31, A). Because every response has all nine answers,
 * IKM = 25 x S / (9 x n) with S the sum of all answers and n the responses, and the
 * rounded figure in hundredths is floor((5000 S + 9 n) / (18 n)), exact integer
 * arithmetic: no floating-point drift at a boundary (25 x 158949 / 45000 = 88.305 is
 * 88.30499.. as a double, which "%.2f" prints as 88.30). ikm_result.value is that
 * rounded figure, so every place that prints it with "%.2f" (reports, the score JSON,
 * unit_scores) shows the same number, and its mutu is the band of that number.
 *
 * Smiley presses (the four-button kiosk, rating 1..4) are not SKM responses: they give
 * a separate satisfaction mean on 1..4.
 *
 * Kiosk misuse (fairness.kiosk_misuse): presses from one device about one employee
 * (or about no employee, i.e. the counter) that follow the previous such press within
 * fairness.kiosk_repeat_s seconds are repeats: a burst of presses, each within the
 * window of the one before it, counts once, as its first press. Raw presses are kept
 * and flagged (ikm_mark_repeats), never deleted. SKM responses are never repeats.
 */
#ifndef KINERJA_IKM_H
#define KINERJA_IKM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define IKM_ELEMENTS 9
#define IKM_ANSWER_MIN 1
#define IKM_ANSWER_MAX 4
#define IKM_SCALE 25.0
#define IKM_NO_EMPLOYEE (-1)

enum ikm_mutu { IKM_MUTU_NONE, IKM_MUTU_A, IKM_MUTU_B, IKM_MUTU_C, IKM_MUTU_D };

/* One citizen_feedback event as the score worker loads it. */
struct ikm_feedback {
    int64_t ts_ms;    /* event ts, Unix ms */
    int64_t device;   /* caller's id of the source (e.g. index of "kiosk:...") */
    int64_t employee; /* caller's id of the employee, IKM_NO_EMPLOYEE for a counter */
    enum respondent respondent;
    uint8_t rating;            /* smiley press 1..4; 0 when this is an SKM response */
    uint8_t skm[IKM_ELEMENTS]; /* u1..u9, each 1..4, when rating == 0 */
};

struct ikm_result {
    int n; /* SKM responses */
    double element_mean[IKM_ELEMENTS];
    long centi;         /* IKM in hundredths, rounded half up (8831 = 88.31); 0 when n == 0 */
    double value;       /* centi / 100: the IKM as shown; 0 when n == 0 */
    enum ikm_mutu mutu; /* the band of the rounded IKM; IKM_MUTU_NONE when n == 0 */
};

struct ikm_satisfaction {
    int presses; /* raw smiley presses */
    int repeats; /* of them flagged as repeats */
    int n;       /* presses counted */
    double mean; /* mean of the counted presses on 1..4; 0 when n == 0 */
};

/* "A".."D", NULL for NONE; and "Sangat Baik", "Baik", "Kurang Baik", "Tidak Baik". */
const char *ikm_mutu_name(enum ikm_mutu m);
const char *ikm_mutu_label(enum ikm_mutu m);

/* Checks one feedback record: exactly one of a press 1..4 or nine answers 1..4.
 * Returns 0, or -1 with the reason in err. */
int ikm_feedback_check(const struct ikm_feedback *fb, char *err, size_t errlen);

/*
 * Sets repeat[i] (an array of n) to true for every press that is a repeat (see
 * above) and false otherwise; repeat_s <= 0 flags nothing. The result does not depend
 * on the order of fb. Returns the number of repeats, or -1 when out of memory.
 */
long ikm_mark_repeats(const struct ikm_feedback *fb, size_t n, int repeat_s, bool *repeat);

/* IKM over the SKM responses in fb (presses are skipped). Invalid records must have
 * been rejected by ikm_feedback_check; they are skipped here. */
void ikm_compute(const struct ikm_feedback *fb, size_t n, struct ikm_result *out);

/* The IKM of S (sum of all answers) over n complete responses, in hundredths rounded
 * half up, exactly: floor((5000 S + 9 n) / (18 n)); 0 when n == 0. */
long ikm_centi_of_sum(uint64_t answer_sum, uint64_t responses);
/* The mutu band of an IKM given in hundredths (A >= 8831, B >= 7661, C >= 6500, D
 * below); IKM_MUTU_NONE for centi <= 0. */
enum ikm_mutu ikm_mutu_of_centi(long centi);
/* The mutu of S over n complete responses: the band of ikm_centi_of_sum. */
enum ikm_mutu ikm_mutu_of_sum(uint64_t answer_sum, uint64_t responses);

/* Mean of the smiley presses in fb; presses with repeat[i] set are not counted
 * (repeat may be NULL: every press counts). */
void ikm_satisfaction(const struct ikm_feedback *fb, size_t n, const bool *repeat,
                      struct ikm_satisfaction *out);

/* One feedback record on the 1..5 behaviour scale (SPEC 5.2: 1..4 -> 1..5 linearly):
 * a press as 1 + (r - 1) x 4/3, an SKM response as the same map of the mean of its
 * nine answers. */
double ikm_feedback_scale5(const struct ikm_feedback *fb);

#endif
