/*
 * angkakredit: the angka kredit a signed result earns a functional position (SPEC 5.11,
 * PerBKN 3/2023; docs/DOMAIN.md "Angka kredit"), and the months a period spans (also
 * the bulan mulai / selesai of the SIASN export, common/siasn.c). Pure functions over
 * plain values, no database; called by common/views.c (kinerja report angka-kredit) and
 * common/siasn.c.
 *
 * Angka kredit = the position's annual coefficient x the predikat's share x the months
 * of the period / 12. Shares: sangat_baik 150%, baik 100%, butuh_perbaikan 75%, kurang
 * 50%, sangat_kurang 25%. The value is computed exactly in integers (the coefficient in
 * thousandths, as employees.ak_coefficient stores it) and rounded once, half up, to two
 * decimals: 12.5 x 100% x 3/12 = 3.125 shows as 3.13.
 */
#ifndef KINERJA_ANGKAKREDIT_H
#define KINERJA_ANGKAKREDIT_H

#include <stddef.h>
#include <stdint.h>

#define AK_MONTHS_PER_YEAR 12
#define AK_COEFFICIENT_SCALE 1000 /* the coefficient in thousandths (numeric(8, 3)) */

/* The share in percent of predikat code (event_predikat_codes), or -1 when unknown. */
int ak_share_percent(const char *predikat);

/* The months of a period: "YYYY-MM" one (start = end = MM), "YYYY-Qn" three (quarter n:
 * months 3n-2..3n), "YYYY" twelve (1..12). Writes year, first and last month; returns the
 * number of months, or -1 when period is none of these. Any pointer may be NULL. */
int ak_period_months(const char *period, int *year, int *first_month, int *last_month);

/* A coefficient's text ("12.5", "12.500", "3") in thousandths; -1 when it is not a plain
 * decimal >= 0 with at most 3 decimals (and at most 10^9). */
int64_t ak_coefficient_milli(const char *text);

/* The angka kredit in hundredths, rounded half up: coefficient_milli x share_percent x
 * months / (1000 x 100 x 12), x 100. -1 when an argument is out of range (negative, share
 * above 1000%, months outside 1..12). */
int64_t ak_hundredths(int64_t coefficient_milli, int share_percent, int months);

/* Formats hundredths as "3.13" into out (n bytes). */
void ak_format_hundredths(int64_t hundredths, char *out, size_t n);

/* Formats thousandths as a short decimal ("12.5", "3", "0.125") into out (n bytes). */
void ak_format_milli(int64_t milli, char *out, size_t n);

#endif
