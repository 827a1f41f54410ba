/* Unit tests for common/pgcopy.c: PostgreSQL's binary COPY framing and numeric's binary
 * form (ndigits, weight, sign, dscale, base-10000 digits), checked byte for byte; that
 * the server takes them is checked by every integration test that reads a stored score. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pgcopy.h"

static unsigned u16(const struct buf *b, size_t at)
{
    const unsigned char *p = (const unsigned char *)b->data + at;
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned long u32(const struct buf *b, size_t at)
{
    const unsigned char *p = (const unsigned char *)b->data + at;
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static void test_framing(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(pgcopy_header(&b), 0);
    assert_int_equal(b.len, 19);
    assert_memory_equal(b.data, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    assert_int_equal(pgcopy_row(&b, 4), 0);
    assert_int_equal(pgcopy_text(&b, "ab\tc", 4), 0);
    assert_int_equal(pgcopy_null(&b), 0);
    assert_int_equal(pgcopy_int4(&b, -2), 0);
    assert_int_equal(pgcopy_jsonb(&b, "{}", 2), 0);
    assert_int_equal(pgcopy_trailer(&b), 0);
    assert_int_equal(u16(&b, 19), 4);
    assert_int_equal(u32(&b, 21), 4); /* text: as it is, no escapes */
    assert_memory_equal(b.data + 25, "ab\tc", 4);
    assert_int_equal(u32(&b, 29), 0xffffffffUL); /* NULL */
    assert_int_equal(u32(&b, 33), 4);
    assert_int_equal(u32(&b, 37), 0xfffffffeUL); /* -2, two's complement */
    assert_int_equal(u32(&b, 41), 3);            /* jsonb: version 1, then the text */
    assert_int_equal((unsigned char)b.data[45], 1);
    assert_memory_equal(b.data + 46, "{}", 2);
    assert_int_equal(u16(&b, 48), 0xffff);
    assert_int_equal(b.len, 50);
    buf_free(&b);
}

/* one numeric field: its length, ndigits, weight, sign, dscale and digits */
static void check_numeric(const char *text, int weight, unsigned sign, unsigned dscale, int nd, ...)
{
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(pgcopy_numeric(&b, text), 0);
    assert_int_equal(u32(&b, 0), 8 + 2 * nd);
    assert_int_equal(b.len, 4 + 8 + 2 * nd);
    assert_int_equal(u16(&b, 4), nd);
    assert_int_equal((int16_t)u16(&b, 6), weight);
    assert_int_equal(u16(&b, 8), sign);
    assert_int_equal(u16(&b, 10), dscale);
    va_list ap;
    va_start(ap, nd);
    for (int i = 0; i < nd; i++)
        assert_int_equal(u16(&b, 12 + 2 * (size_t)i), va_arg(ap, int));
    va_end(ap);
    buf_free(&b);
}

static void test_numeric(void **state)
{
    (void)state;
    check_numeric("69.93", 0, 0x0000, 2, 2, 69, 9300);
    check_numeric("-0.50", 0, 0x4000, 2, 2, 0, 5000);
    check_numeric("100.00", 0, 0x0000, 2, 2, 100, 0);
    check_numeric("12345.6", 1, 0x0000, 1, 3, 1, 2345, 6000);
    check_numeric("7", 0, 0x0000, 0, 1, 7);
    check_numeric("0.00001", 0, 0x0000, 5, 3, 0, 0, 1000);
    check_numeric(".25", -1, 0x0000, 2, 1, 2500);
}

static void test_numeric_refuses(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    const char *bad[] = {"", "-", ".", "inf", "nan", "1e5", "1.2.3", " 1", "1 ", "+1", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(pgcopy_numeric(&b, bad[i]), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_bound(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(pgcopy_text(&b, "abc", 3), 0);   /* 4 + 3 */
    assert_int_equal(pgcopy_text(&b, "abcd", 4), -1); /* 7 + 8 > 10 */
    assert_int_equal(b.len, 7);                       /* as it was */
    assert_int_equal(pgcopy_jsonb(&b, "", 0), -1);    /* 7 + 5 */
    assert_int_equal(b.len, 7);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_numeric_refuses),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
