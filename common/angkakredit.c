/*
 * angkakredit: see angkakredit.h. The shares are PerBKN 3/2023's conversion of the
 * predikat kinerja into angka kredit (docs/DOMAIN.md "Angka kredit").
 */
#include "angkakredit.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define AK_SHARE_MAX 1000
#define AK_MILLI_MAX 1000000000LL

static const struct {
    const char *predikat;
    int percent;
} ak_shares[] = {
    {"sangat_baik", 150}, {"baik", 100}, {"butuh_perbaikan", 75}, {"kurang", 50}, {"sangat_kurang", 25},
};

int ak_share_percent(const char *predikat)
{
    for (size_t i = 0; predikat && i < sizeof ak_shares / sizeof ak_shares[0]; i++)
        if (!strcmp(predikat, ak_shares[i].predikat))
            return ak_shares[i].percent;
    return -1;
}

static int ak_digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int ak_period_months(const char *period, int *year, int *first_month, int *last_month)
{
    if (!period)
        return -1;
    size_t len = strlen(period);
    int y = len >= 4 ? ak_digits(period, 4) : -1;
    int first, last;
    if (y < 1 || (len != 4 && (len != 7 || period[4] != '-')))
        return -1;
    if (len == 4) {
        first = 1;
        last = AK_MONTHS_PER_YEAR;
    } else if (period[5] == 'Q') {
        int q = period[6] >= '1' && period[6] <= '4' ? period[6] - '0' : -1;
        if (q < 0)
            return -1;
        first = 3 * q - 2;
        last = 3 * q;
    } else {
        int m = ak_digits(period + 5, 2);
        if (m < 1 || m > AK_MONTHS_PER_YEAR)
            return -1;
        first = last = m;
    }
    if (year)
        *year = y;
    if (first_month)
        *first_month = first;
    if (last_month)
        *last_month = last;
    return last - first + 1;
}

int64_t ak_coefficient_milli(const char *text)
{
    if (!text || !isdigit((unsigned char)*text))
        return -1;
    int64_t v = 0;
    const char *p = text;
    for (; isdigit((unsigned char)*p); p++) {
        v = v * 10 + (*p - '0');
        if (v > AK_MILLI_MAX)
            return -1;
    }
    v *= AK_COEFFICIENT_SCALE;
    if (*p == '.') {
        p++;
        int64_t place = AK_COEFFICIENT_SCALE / 10;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++) {
            if (place == 0) {
                if (*p != '0') /* numeric(8, 3) shows trailing zeros only */
                    return -1;
                continue;
            }
            v += (*p - '0') * place;
            place /= 10;
        }
    }
    return *p || v > AK_MILLI_MAX ? -1 : v;
}

int64_t ak_hundredths(int64_t coefficient_milli, int share_percent, int months)
{
    if (coefficient_milli < 0 || coefficient_milli > AK_MILLI_MAX || share_percent < 0 ||
        share_percent > AK_SHARE_MAX || months < 1 || months > AK_MONTHS_PER_YEAR)
        return -1;
    /* value x 100 = milli x share x months x 100 / (1000 x 100 x 12) = milli x share x
     * months / 12000; half up: add half the divisor before the integer division. */
    const int64_t divisor = (int64_t)AK_COEFFICIENT_SCALE * AK_MONTHS_PER_YEAR; /* the two 100s cancel */
    int64_t num = coefficient_milli * share_percent * months;
    return (num + divisor / 2) / divisor;
}

void ak_format_hundredths(int64_t hundredths, char *out, size_t n)
{
    snprintf(out, n, "%lld.%02lld", (long long)(hundredths / 100), (long long)(hundredths % 100));
}

void ak_format_milli(int64_t milli, char *out, size_t n)
{
    long long whole = (long long)(milli / AK_COEFFICIENT_SCALE),
              frac = (long long)(milli % AK_COEFFICIENT_SCALE);
    if (frac == 0)
        snprintf(out, n, "%lld", whole);
    else if (frac % 100 == 0)
        snprintf(out, n, "%lld.%lld", whole, frac / 100);
    else if (frac % 10 == 0)
        snprintf(out, n, "%lld.%02lld", whole, frac / 10);
    else
        snprintf(out, n, "%lld.%03lld", whole, frac);
}
