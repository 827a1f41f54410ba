#include "skm.h"

#include <string.h>

#define SKM_MILLI 1000LL
#define SKM_CENTI_PER_POINT 2500LL /* NRR x 25 in hundredths: 25 x 100 */

const char *const skm_element_names[SKM_ELEMENTS] = {
    "Persyaratan",        "Sistem, mekanisme, dan prosedur",         "Waktu penyelesaian",
    "Biaya/tarif",        "Produk spesifikasi jenis pelayanan",      "Kompetensi pelaksana",
    "Perilaku pelaksana", "Penanganan pengaduan, saran dan masukan", "Sarana dan prasarana",
};

/* round(num / den) half up for num >= 0, den > 0: floor((2 num + den) / (2 den)). */
static long skm_round(long long num, long long den)
{
    return (long)((2 * num + den) / (2 * den));
}

void skm_summarize(const struct skm_sums *s, struct skm_summary *out)
{
    memset(out, 0, sizeof *out);
    if (!s || s->n <= 0)
        return;
    long long n = s->n, total = 0, lowest = -1;
    out->n = n;
    for (int k = 0; k < SKM_ELEMENTS; k++) {
        long long sk = s->sum[k] < 0 ? 0 : s->sum[k];
        struct skm_element *e = &out->el[k];
        total += sk;
        e->nrr_milli = skm_round(SKM_MILLI * sk, n);
        e->weighted_milli = skm_round(SKM_MILLI * sk, SKM_ELEMENTS * n);
        e->value_centi = skm_round(SKM_CENTI_PER_POINT * sk, n);
        e->mutu = ikm_mutu_of_centi(e->value_centi);
        if (lowest < 0 || sk < lowest)
            lowest = sk;
    }
    for (int k = 0; k < SKM_ELEMENTS; k++)
        if ((s->sum[k] < 0 ? 0 : s->sum[k]) == lowest) {
            out->el[k].weakest = true;
            out->weakest_n++;
        }
    out->weighted_sum_milli = skm_round(SKM_MILLI * total, SKM_ELEMENTS * n);
    out->ikm_centi = ikm_centi_of_sum((uint64_t)total, (uint64_t)n);
    out->mutu = ikm_mutu_of_centi(out->ikm_centi);
}
