/*
 * skm: the arithmetic of the SKM report (Survei Kepuasan Masyarakat, PermenPANRB 14/2017;
 * SPEC 5.6) over the integer sums of a unit's survey responses. Pure: no I/O. Called by
 * common/views.c (kinerja report skm) and its unit test.
 *
 * For n complete responses and S_k the sum of the answers (1..4) to element k (u1..u9):
 *   NRR_k             = S_k / n                    the element's mean (nilai rata-rata)
 *   NRR tertimbang_k  = NRR_k x 1/9                the weighted mean (weight 1/9 each;
 *                                                  the regulation prints it as 0.111)
 *   IKM               = (sum of NRR tertimbang) x 25 = 25 x S / (9 n)
 * The IKM and its mutu come from ikm_centi_of_sum (common/ikm.c), the one rounding of the
 * figure the unit report shows; every shown decimal here is rounded half up from the
 * integer sums, exactly (no floating-point drift at a band boundary). An element's value
 * on the 25..100 scale is NRR_k x 25, its mutu the band of that value (the regulation's
 * nilai interval 1.00-2.5996 D, 2.60-3.064 C, 3.0644-3.532 B, 3.5324-4.00 A are those
 * bands / 25). The weakest elements are those with the lowest sum (every element has
 * the same n), ties all listed.
 */
#ifndef KINERJA_SKM_H
#define KINERJA_SKM_H

#include "ikm.h"

#include <stdbool.h>

#define SKM_ELEMENTS IKM_ELEMENTS

/* The nine elements (unsur) of PermenPANRB 14/2017 in the order u1..u9. */
extern const char *const skm_element_names[SKM_ELEMENTS];

/* Complete SKM responses of one unit and period: n and each element's answer sum. */
struct skm_sums {
    long long n;
    long long sum[SKM_ELEMENTS];
};

struct skm_element {
    long nrr_milli;      /* NRR x 1000, rounded half up (3250 = 3.250) */
    long weighted_milli; /* NRR / 9 x 1000, rounded half up (361 = 0.361) */
    long value_centi;    /* NRR x 25 x 100, rounded half up (8125 = 81.25) */
    enum ikm_mutu mutu;  /* the band of value_centi */
    bool weakest;
};

struct skm_summary {
    long long n; /* 0: no responses, nothing else is set */
    struct skm_element el[SKM_ELEMENTS];
    long weighted_sum_milli; /* sum of NRR tertimbang = S / (9 n), x 1000 rounded half up */
    long ikm_centi;          /* ikm_centi_of_sum(S, n) */
    enum ikm_mutu mutu;      /* ikm_mutu_of_centi(ikm_centi) */
    int weakest_n;           /* elements flagged weakest */
};

/* Fills out from s (n <= 0: out->n = 0 and every figure 0 / NONE). Sums must be those of
 * complete responses (each S_k in n..4n); a sum outside that is used as it is. */
void skm_summarize(const struct skm_sums *s, struct skm_summary *out);

#endif
