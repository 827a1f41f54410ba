/*
 * csvread: RFC 4180 records from a FILE: quotes, doubled quotes, commas and line breaks
 * inside quotes, CRLF, a UTF-8 BOM, blank lines, trimming, and the bounds (fields per
 * record, bytes per record) as errors naming the line.
 */
#include "csvread.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static FILE *text(const char *s)
{
    FILE *f = fmemopen((void *)s, strlen(s), "r");
    assert_non_null(f);
    return f;
}

static void test_records_and_quotes(void **state)
{
    (void)state;
    FILE *f =
        text("\xEF\xBB\xBFnip,name\r\n\r\n1,\"Ani, S.Pd\"\n2,\"kata \"\"dua\"\"\nbaris\"\n  3 ,\t x \n");
    struct csv_reader r = {.f = f, .line = 1, .at_start = true};
    static struct csv_record rec;
    char err[128];
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), 1);
    assert_int_equal(rec.nfields, 2);
    assert_string_equal(rec.field[0], "nip"); /* the BOM is gone */
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), 1);
    assert_int_equal(rec.line, 3); /* the blank line skipped */
    assert_string_equal(rec.field[1], "Ani, S.Pd");
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), 1);
    assert_string_equal(rec.field[1], "kata \"dua\"\nbaris");
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), 1);
    assert_int_equal(rec.line, 6);
    assert_string_equal(csv_trim(rec.field[0]), "3");
    assert_string_equal(csv_trim(rec.field[1]), "x");
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), 0);
    fclose(f);
}

static void test_bounds_name_the_line(void **state)
{
    (void)state;
    static char many[CSV_FIELDS_MAX * 2 + 8], big[CSV_RECORD_MAX + 64];
    memset(many, ',', CSV_FIELDS_MAX + 1);
    many[CSV_FIELDS_MAX + 1] = '\n';
    char both[sizeof many + 8];
    snprintf(both, sizeof both, "a,b\n%s", many);
    FILE *f = text(both);
    struct csv_reader r = {.f = f, .line = 1, .at_start = true};
    static struct csv_record rec;
    char err[128];
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), 1);
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2: more than"));
    fclose(f);
    memset(big, 'x', CSV_RECORD_MAX + 10);
    big[CSV_RECORD_MAX + 10] = '\n';
    f = text(big);
    r = (struct csv_reader){.f = f, .line = 1, .at_start = true};
    assert_int_equal(csv_read_record(&r, &rec, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 1: record longer than"));
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_and_quotes),
        cmocka_unit_test(test_bounds_name_the_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
