#include "ikm.h"

#include <stdio.h>
#include <stdlib.h>

#define IKM_MS_PER_S 1000
/* Band lower bounds, in hundredths, applied to the IKM rounded half-up to hundredths. */
#define IKM_A_MIN_CENTI 8831
#define IKM_B_MIN_CENTI 7661
#define IKM_C_MIN_CENTI 6500
#define IKM_CENTI_PER_UNIT 100.0
/* 100 x IKM = 100 x 25 S / (9 n) = 2500 S / (9 n); doubled for the half-up rounding */
#define IKM_CENTI_NUM 5000u
/* 1..4 onto 1..5 linearly (SPEC 5.2): the 3 steps of the answer become the 4 of the scale */
#define IKM_TO_SCALE5_MIN 1.0
#define IKM_TO_SCALE5_STEP (4.0 / 3.0)

const char *ikm_mutu_name(enum ikm_mutu m)
{
    switch (m) {
    case IKM_MUTU_A:
        return "A";
    case IKM_MUTU_B:
        return "B";
    case IKM_MUTU_C:
        return "C";
    case IKM_MUTU_D:
        return "D";
    default:
        return NULL;
    }
}

const char *ikm_mutu_label(enum ikm_mutu m)
{
    switch (m) {
    case IKM_MUTU_A:
        return "Sangat Baik";
    case IKM_MUTU_B:
        return "Baik";
    case IKM_MUTU_C:
        return "Kurang Baik";
    case IKM_MUTU_D:
        return "Tidak Baik";
    default:
        return NULL;
    }
}

int ikm_feedback_check(const struct ikm_feedback *fb, char *err, size_t errlen)
{
    if (fb->rating) {
        if (fb->rating < IKM_ANSWER_MIN || fb->rating > IKM_ANSWER_MAX) {
            snprintf(err, errlen, "rating: must be 1..4, got %d", fb->rating);
            return -1;
        }
        return 0;
    }
    for (int j = 0; j < IKM_ELEMENTS; j++) {
        if (fb->skm[j] < IKM_ANSWER_MIN || fb->skm[j] > IKM_ANSWER_MAX) {
            snprintf(err, errlen, "skm.u%d: must be 1..4, got %d", j + 1, fb->skm[j]);
            return -1;
        }
    }
    return 0;
}

static bool ikm_is_skm(const struct ikm_feedback *fb)
{
    if (fb->rating)
        return false;
    for (int j = 0; j < IKM_ELEMENTS; j++)
        if (fb->skm[j] < IKM_ANSWER_MIN || fb->skm[j] > IKM_ANSWER_MAX)
            return false;
    return true;
}

static bool ikm_is_press(const struct ikm_feedback *fb)
{
    return fb->rating >= IKM_ANSWER_MIN && fb->rating <= IKM_ANSWER_MAX;
}

static int ikm_cmp_press(const void *a, const void *b, void *ctx)
{
    const struct ikm_feedback *fb = ctx;
    const struct ikm_feedback *x = &fb[*(const size_t *)a], *y = &fb[*(const size_t *)b];
    if (x->device != y->device)
        return x->device < y->device ? -1 : 1;
    if (x->employee != y->employee)
        return x->employee < y->employee ? -1 : 1;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    if (x->rating != y->rating)
        return x->rating < y->rating ? -1 : 1;
    return 0;
}

long ikm_mark_repeats(const struct ikm_feedback *fb, size_t n, int repeat_s, bool *repeat)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        repeat[i] = false;
        if (ikm_is_press(&fb[i]))
            np++;
    }
    if (repeat_s <= 0 || np < 2)
        return 0;
    size_t *idx = malloc(np * sizeof *idx);
    if (!idx)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (ikm_is_press(&fb[i]))
            idx[j++] = i;
    qsort_r(idx, np, sizeof *idx, ikm_cmp_press, (void *)fb);
    const int64_t window_ms = (int64_t)repeat_s * IKM_MS_PER_S;
    long repeats = 0;
    for (size_t k = 1; k < np; k++) {
        const struct ikm_feedback *prev = &fb[idx[k - 1]], *cur = &fb[idx[k]];
        /* within the window of the press before it (chained: a long burst counts once) */
        if (prev->device == cur->device && prev->employee == cur->employee &&
            cur->ts_ms - prev->ts_ms <= window_ms) {
            repeat[idx[k]] = true;
            repeats++;
        }
    }
    free(idx);
    return repeats;
}

long ikm_centi_of_sum(uint64_t answer_sum, uint64_t responses)
{
    if (responses == 0)
        return 0;
    /* 100 x IKM = 2500 S / (9 n); half up: floor(2500 S / (9 n) + 1/2)
     *         = floor((5000 S + 9 n) / (18 n)). */
    const uint64_t num = IKM_CENTI_NUM * answer_sum + IKM_ELEMENTS * responses;
    return (long)(num / (2u * IKM_ELEMENTS * responses));
}

enum ikm_mutu ikm_mutu_of_centi(long centi)
{
    if (centi <= 0)
        return IKM_MUTU_NONE;
    if (centi >= IKM_A_MIN_CENTI)
        return IKM_MUTU_A;
    if (centi >= IKM_B_MIN_CENTI)
        return IKM_MUTU_B;
    if (centi >= IKM_C_MIN_CENTI)
        return IKM_MUTU_C;
    return IKM_MUTU_D;
}

enum ikm_mutu ikm_mutu_of_sum(uint64_t answer_sum, uint64_t responses)
{
    return ikm_mutu_of_centi(ikm_centi_of_sum(answer_sum, responses));
}

void ikm_compute(const struct ikm_feedback *fb, size_t n, struct ikm_result *out)
{
    uint64_t sum[IKM_ELEMENTS] = {0}, total = 0, responses = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ikm_is_skm(&fb[i]))
            continue;
        responses++;
        for (int j = 0; j < IKM_ELEMENTS; j++) {
            sum[j] += fb[i].skm[j];
            total += fb[i].skm[j];
        }
    }
    out->n = (int)responses;
    for (int j = 0; j < IKM_ELEMENTS; j++)
        out->element_mean[j] = responses ? (double)sum[j] / (double)responses : 0.0;
    /* once, from the integer sums; the figure shown and its band come from it */
    out->centi = ikm_centi_of_sum(total, responses);
    out->value = (double)out->centi / IKM_CENTI_PER_UNIT;
    out->mutu = ikm_mutu_of_centi(out->centi);
}

void ikm_satisfaction(const struct ikm_feedback *fb, size_t n, const bool *repeat,
                      struct ikm_satisfaction *out)
{
    long sum = 0;
    out->presses = out->repeats = out->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ikm_is_press(&fb[i]))
            continue;
        out->presses++;
        if (repeat && repeat[i]) {
            out->repeats++;
            continue;
        }
        out->n++;
        sum += fb[i].rating;
    }
    out->mean = out->n ? (double)sum / out->n : 0.0;
}

double ikm_feedback_scale5(const struct ikm_feedback *fb)
{
    double x;
    if (fb->rating) {
        x = fb->rating;
    } else {
        int s = 0;
        for (int j = 0; j < IKM_ELEMENTS; j++)
            s += fb->skm[j];
        x = (double)s / IKM_ELEMENTS;
    }
    return IKM_TO_SCALE5_MIN + (x - IKM_ANSWER_MIN) * IKM_TO_SCALE5_STEP;
}
