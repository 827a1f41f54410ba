/*
 * curve: the organisation predikat and the distribution pattern it sets for its staff's
 * predikat (SPEC 5.10; SE MenPANRB 3/2023 and PermenPANRB 6/2022, see docs/DOMAIN.md
 * "Organisation predikat and the curve"). This is the ONE place the pattern rules
 * live: `kinerja unit-predikat` copies curve_rules[] into the table curve_rules
 * (schemas/0013) on every call, where the sign-off warning reads them; `kinerja report
 * curve` evaluates them here. Pure: no I/O, no allocation.
 *
 * Counts are indexed like event_predikat_codes: sangat_baik, baik, butuh_perbaikan,
 * kurang, sangat_kurang. Percentages are compared in integers (count x 100 against
 * percent x total), so 7 of 10 is exactly 70%.
 */
#ifndef KINERJA_CURVE_H
#define KINERJA_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#define CURVE_PREDIKATS 5
#define CURVE_RULE_TEXT_MAX 192 /* bytes of one rule's description with its figures */

enum curve_pattern {
    CURVE_ISTIMEWA,
    CURVE_BAIK,
    CURVE_BUTUH_PERBAIKAN,
    CURVE_KURANG,
    CURVE_SANGAT_KURANG,
    CURVE_PATTERNS
};

/* "istimewa", "baik", "butuh_perbaikan", "kurang", "sangat_kurang" */
extern const char *const curve_pattern_codes[CURVE_PATTERNS];

/* Bits of a rule's predikat set, by the predikat's index. */
#define CURVE_SB (1u << 0)
#define CURVE_B (1u << 1)
#define CURVE_BP (1u << 2)
#define CURVE_K (1u << 3)
#define CURVE_SK (1u << 4)

enum curve_op {
    CURVE_AT_MOST_PCT,  /* count of the set x 100 <= value x total */
    CURVE_AT_LEAST_PCT, /* count of the set x 100 >= value x total */
    CURVE_AT_LEAST_N    /* count of the set >= value */
};

/* "at_most_pct", "at_least_pct", "at_least_n": the op as schemas/0013 stores it */
extern const char *const curve_op_codes[3];

struct curve_rule {
    enum curve_pattern pattern;
    const char *id; /* "baik.max_baik": pattern, dot, what it bounds */
    unsigned set;   /* CURVE_SB | ... */
    enum curve_op op;
    int value;        /* percent, or a count for CURVE_AT_LEAST_N */
    const char *text; /* "at most 70% Baik" */
};

/* The whole table, in pattern order; *n its length. */
const struct curve_rule *curve_rules(size_t *n);

/* Parses a pattern code; false when s is none of curve_pattern_codes. */
bool curve_pattern_parse(const char *s, enum curve_pattern *out);

/* The count of the rule's set among counts. */
long long curve_rule_count(const struct curve_rule *r, const long long counts[CURVE_PREDIKATS]);

/* Whether the rule holds for counts. With no results at all (total 0) every rule holds:
 * there is no distribution to judge (curve_total tells the caller). */
bool curve_rule_holds(const struct curve_rule *r, const long long counts[CURVE_PREDIKATS]);

long long curve_total(const long long counts[CURVE_PREDIKATS]);

/* The rules of pattern p that counts break, in table order, into broken (at most max);
 * returns how many are broken (may exceed max). */
size_t curve_check(enum curve_pattern p, const long long counts[CURVE_PREDIKATS],
                   const struct curve_rule **broken, size_t max);

/* "baik.max_baik (at most 70% Baik): 8 of 10 = 80%" into out (n bytes, truncated);
 * the same words the sign-off warning uses (schemas/0013 kinerja_curve_warning). */
void curve_rule_describe(const struct curve_rule *r, const long long counts[CURVE_PREDIKATS], char *out,
                         size_t n);

#endif
