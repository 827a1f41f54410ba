/*
 * pgcopy: PostgreSQL's binary COPY format (src/backend/commands/copyfromparse.c: the
 * signature, flags, header extension; per row an int16 field count, per field an int32
 * length, -1 for NULL, then the bytes; all integers in network byte order).
 */
#include "pgcopy.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* numeric's binary form: ndigits, weight, sign, dscale, then ndigits base-10000 digits
 * (src/backend/utils/adt/numeric.c, numeric_send), each digit four decimal ones */
#define NUMERIC_DEC_DIGITS 4
#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
/* the digits a numeric text may have here: far beyond any numeric(p,s) column of ours */
#define PGCOPY_NUMERIC_DIGITS_MAX 64

static void be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int pgcopy_header(struct buf *b)
{
    /* "PGCOPY\n\377\r\n\0", flags 0, header extension length 0 */
    static const unsigned char h[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n', 0};
    return buf_append(b, h, sizeof h);
}

int pgcopy_trailer(struct buf *b)
{
    unsigned char t[2];
    be16(t, 0xffff);
    return buf_append(b, t, sizeof t);
}

int pgcopy_row(struct buf *b, int nfields)
{
    unsigned char n[2];
    be16(n, (uint16_t)nfields);
    return buf_append(b, n, sizeof n);
}

int pgcopy_null(struct buf *b)
{
    unsigned char n[4];
    be32(n, 0xffffffffu);
    return buf_append(b, n, sizeof n);
}

/* One field of n bytes: prefix (pn bytes) then s. Appended whole or not at all. */
static int field(struct buf *b, const void *prefix, size_t pn, const char *s, size_t n)
{
    if (n + pn > INT32_MAX)
        return -1;
    unsigned char len[4];
    be32(len, (uint32_t)(n + pn));
    size_t was = b->len;
    if (buf_append(b, len, sizeof len) < 0 || (pn && buf_append(b, prefix, pn) < 0) ||
        buf_append(b, s, n) < 0) {
        buf_truncate(b, was);
        return -1;
    }
    return 0;
}

int pgcopy_text(struct buf *b, const char *s, size_t n)
{
    return field(b, NULL, 0, s, n);
}

int pgcopy_jsonb(struct buf *b, const char *s, size_t n)
{
    static const unsigned char version = 1;
    return field(b, &version, 1, s, n);
}

int pgcopy_int4(struct buf *b, int v)
{
    unsigned char f[8];
    be32(f, 4);
    be32(f + 4, (uint32_t)v);
    return buf_append(b, f, sizeof f);
}

int pgcopy_numeric(struct buf *b, const char *text)
{
    const char *p = text;
    bool neg = *p == '-';
    if (neg)
        p++;
    const char *ip = p;
    while (*p >= '0' && *p <= '9')
        p++;
    size_t ni = (size_t)(p - ip), nf = 0;
    const char *fp = p;
    if (*p == '.') {
        fp = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        nf = (size_t)(p - fp);
    }
    if (*p || ni + nf == 0 || ni > PGCOPY_NUMERIC_DIGITS_MAX || nf > PGCOPY_NUMERIC_DIGITS_MAX)
        return -1;
    /* the integer digits in groups of four from the point leftwards, the fraction's
     * from the point rightwards (the last group padded with zeros) */
    size_t gi = (ni + NUMERIC_DEC_DIGITS - 1) / NUMERIC_DEC_DIGITS;
    size_t gf = (nf + NUMERIC_DEC_DIGITS - 1) / NUMERIC_DEC_DIGITS;
    uint16_t digits[2 * (PGCOPY_NUMERIC_DIGITS_MAX / NUMERIC_DEC_DIGITS + 1)];
    size_t nd = 0;
    for (size_t g = 0; g < gi; g++) {
        /* group g covers integer digits [ni - 4 (gi - g), ni - 4 (gi - g - 1)) */
        long start = (long)ni - (long)(NUMERIC_DEC_DIGITS * (gi - g));
        unsigned v = 0;
        for (long k = start; k < start + NUMERIC_DEC_DIGITS; k++)
            v = v * 10 + (k >= 0 ? (unsigned)(ip[k] - '0') : 0);
        digits[nd++] = (uint16_t)v;
    }
    for (size_t g = 0; g < gf; g++) {
        unsigned v = 0;
        for (size_t k = g * NUMERIC_DEC_DIGITS; k < (g + 1) * NUMERIC_DEC_DIGITS; k++)
            v = v * 10 + (k < nf ? (unsigned)(fp[k] - '0') : 0);
        digits[nd++] = (uint16_t)v;
    }
    /* leading and trailing zero digits are the server's to strip (make_result) */
    unsigned char f[4 + 8 + sizeof digits];
    size_t len = 8 + 2 * nd;
    be32(f, (uint32_t)len);
    be16(f + 4, (uint16_t)nd);
    be16(f + 6, (uint16_t)(int16_t)((long)gi - 1)); /* weight of the first digit */
    be16(f + 8, neg ? NUMERIC_NEG : NUMERIC_POS);
    be16(f + 10, (uint16_t)nf); /* dscale: the decimals written */
    for (size_t i = 0; i < nd; i++)
        be16(f + 12 + 2 * i, digits[i]);
    return buf_append(b, f, 4 + len);
}
