/*
 * curve: the distribution pattern table (see curve.h). Source: SE MenPANRB 3/2023
 * (Surat Edaran Menteri PANRB Nomor 3 Tahun 2023 on the distribution of employee
 * predikat by organisation predikat), whose pattern restates the annex of PermenPANRB
 * 6/2022 (kurva distribusi predikat kinerja pegawai):
 *   1. Istimewa: "sebagian besar (maksimal 70%)" Sangat Baik; the others any predikat.
 *   2. Baik: at most 70% Baik; there must be staff with Butuh Perbaikan and/or Kurang
 *      (misconduct); the others Sangat Baik and/or Sangat Kurang.
 *   3. Butuh Perbaikan: at least 60% Butuh Perbaikan; Sangat Baik at most 10%.
 *   4. Kurang: at least 60% Kurang (misconduct); at least 10% Butuh Perbaikan; Sangat
 *      Baik at most 10%.
 *   5. Sangat Kurang: at least 60% Sangat Kurang; at least 10% Kurang and/or Butuh
 *      Perbaikan; no Sangat Baik.
 * What could not be confirmed from the primary text is in docs/DOMAIN.md.
 */
#include "curve.h"

#include <stdio.h>
#include <string.h>

const char *const curve_pattern_codes[CURVE_PATTERNS] = {"istimewa", "baik", "butuh_perbaikan", "kurang",
                                                         "sangat_kurang"};

const char *const curve_op_codes[3] = {"at_most_pct", "at_least_pct", "at_least_n"};

static const struct curve_rule curve_table[] = {
    {CURVE_ISTIMEWA, "istimewa.max_sangat_baik", CURVE_SB, CURVE_AT_MOST_PCT, 70, "at most 70% Sangat Baik"},
    {CURVE_BAIK, "baik.max_baik", CURVE_B, CURVE_AT_MOST_PCT, 70, "at most 70% Baik"},
    {CURVE_BAIK, "baik.some_butuh_perbaikan_or_kurang", CURVE_BP | CURVE_K, CURVE_AT_LEAST_N, 1,
     "at least one Butuh Perbaikan or Kurang"},
    {CURVE_BUTUH_PERBAIKAN, "butuh_perbaikan.min_butuh_perbaikan", CURVE_BP, CURVE_AT_LEAST_PCT, 60,
     "at least 60% Butuh Perbaikan"},
    {CURVE_BUTUH_PERBAIKAN, "butuh_perbaikan.max_sangat_baik", CURVE_SB, CURVE_AT_MOST_PCT, 10,
     "at most 10% Sangat Baik"},
    {CURVE_KURANG, "kurang.min_kurang", CURVE_K, CURVE_AT_LEAST_PCT, 60, "at least 60% Kurang"},
    {CURVE_KURANG, "kurang.min_butuh_perbaikan", CURVE_BP, CURVE_AT_LEAST_PCT, 10,
     "at least 10% Butuh Perbaikan"},
    {CURVE_KURANG, "kurang.max_sangat_baik", CURVE_SB, CURVE_AT_MOST_PCT, 10, "at most 10% Sangat Baik"},
    {CURVE_SANGAT_KURANG, "sangat_kurang.min_sangat_kurang", CURVE_SK, CURVE_AT_LEAST_PCT, 60,
     "at least 60% Sangat Kurang"},
    {CURVE_SANGAT_KURANG, "sangat_kurang.min_kurang_or_butuh_perbaikan", CURVE_K | CURVE_BP,
     CURVE_AT_LEAST_PCT, 10, "at least 10% Kurang or Butuh Perbaikan"},
    {CURVE_SANGAT_KURANG, "sangat_kurang.no_sangat_baik", CURVE_SB, CURVE_AT_MOST_PCT, 0, "no Sangat Baik"},
};

const struct curve_rule *curve_rules(size_t *n)
{
    *n = sizeof curve_table / sizeof curve_table[0];
    return curve_table;
}

bool curve_pattern_parse(const char *s, enum curve_pattern *out)
{
    for (int i = 0; s && i < CURVE_PATTERNS; i++) {
        if (!strcmp(s, curve_pattern_codes[i])) {
            *out = (enum curve_pattern)i;
            return true;
        }
    }
    return false;
}

long long curve_total(const long long counts[CURVE_PREDIKATS])
{
    long long t = 0;
    for (int k = 0; k < CURVE_PREDIKATS; k++)
        t += counts[k];
    return t;
}

long long curve_rule_count(const struct curve_rule *r, const long long counts[CURVE_PREDIKATS])
{
    long long c = 0;
    for (int k = 0; k < CURVE_PREDIKATS; k++)
        if (r->set & (1u << k))
            c += counts[k];
    return c;
}

bool curve_rule_holds(const struct curve_rule *r, const long long counts[CURVE_PREDIKATS])
{
    long long total = curve_total(counts);
    if (total == 0)
        return true;
    long long c = curve_rule_count(r, counts);
    switch (r->op) {
    case CURVE_AT_MOST_PCT:
        return c * 100 <= (long long)r->value * total;
    case CURVE_AT_LEAST_PCT:
        return c * 100 >= (long long)r->value * total;
    case CURVE_AT_LEAST_N:
        return c >= r->value;
    }
    return false;
}

size_t curve_check(enum curve_pattern p, const long long counts[CURVE_PREDIKATS],
                   const struct curve_rule **broken, size_t max)
{
    size_t n, k = 0;
    const struct curve_rule *rules = curve_rules(&n);
    for (size_t i = 0; i < n; i++) {
        if (rules[i].pattern != p || curve_rule_holds(&rules[i], counts))
            continue;
        if (k < max && broken)
            broken[k] = &rules[i];
        k++;
    }
    return k;
}

void curve_rule_describe(const struct curve_rule *r, const long long counts[CURVE_PREDIKATS], char *out,
                         size_t n)
{
    if (!n)
        return;
    long long total = curve_total(counts), c = curve_rule_count(r, counts);
    /* the share rounded to a whole percent, half up, from integers */
    long long pct = total ? (c * 200 + total) / (2 * total) : 0;
    int w = snprintf(out, n, "%s (%s): %lld of %lld = %lld%%", r->id, r->text, c, total, pct);
    if (w < 0)
        out[0] = '\0';
}
