/* Unit tests for common/buf.c: the bound, and the two escapers that feed PostgreSQL
 * (COPY text format) and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "buf.h"

static void test_bound_is_kept(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "12345678"), 0);
    assert_int_equal(buf_putc(&b, '9'), -1); /* one past the bound fails ... */
    assert_int_equal(b.len, 8);              /* ... and leaves the buffer as it was */
    assert_string_equal(b.data, "12345678");
    buf_free(&b);
}

static void test_copy_escape(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    const char in[] = "a\tb\nc\\d\re";
    assert_int_equal(buf_copy_escape(&b, in, sizeof in - 1), 0);
    /* each of tab, newline, backslash, CR becomes backslash + letter */
    assert_string_equal(b.data, "a\\tb\\nc\\\\d\\re");
    buf_reset(&b);
    assert_int_equal(buf_copy_escape(&b, "plain", 5), 0);
    assert_string_equal(b.data, "plain");
    buf_free(&b);
}

static void test_json_escape(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    const char in[] = "q\"b\\n\n\x01";
    assert_int_equal(buf_json_escape(&b, in, sizeof in - 1), 0);
    assert_string_equal(b.data, "q\\\"b\\\\n\\n\\u0001");
    buf_free(&b);
}

static void test_truncate_keeps_the_nul(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_puts(&b, "row1;"), 0);
    size_t mark = b.len;
    assert_int_equal(buf_puts(&b, "half a row"), 0);
    buf_truncate(&b, mark); /* a row taken back: what was before it, still a string */
    assert_int_equal(b.len, mark);
    assert_string_equal(b.data, "row1;");
    buf_truncate(&b, 100); /* past the end: nothing changes */
    assert_int_equal(b.len, mark);
    assert_string_equal(b.data, "row1;");
    buf_truncate(&b, 0);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_free(&b);

    buf_init(&b, 64); /* never written: no data to terminate */
    buf_truncate(&b, 0);
    assert_null(b.data);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_is_kept),
        cmocka_unit_test(test_copy_escape),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_truncate_keeps_the_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
