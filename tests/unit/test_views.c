/* Unit tests for common/views.c, the parts that need no database: the warnings line of a
 * sign-off queue entry (what `kinerja queue` shows), and arguments that cannot name
 * anything: NOT_FOUND with the field in err, out left exactly as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "views.h"

static void test_warnings_none(void **state)
{
    (void)state;
    char line[256] = "junk";
    view_queue_warnings_line("{\"calibration\":false,\"groups_hidden\":[],\"late_events\":0}", false, line,
                             sizeof line);
    assert_string_equal(line, "");
    view_queue_warnings_line(NULL, false, line, sizeof line); /* a version without highlights */
    assert_string_equal(line, "");
    view_queue_warnings_line("not json", false, line, sizeof line);
    assert_string_equal(line, "");
}

static void test_warnings_all(void **state)
{
    (void)state;
    char line[256];
    view_queue_warnings_line("{\"calibration\":true,\"calibration_values\":[\"akuntabel\",\"loyal\"],"
                             "\"groups_hidden\":[\"peer\"],\"late_events\":2,\"curve\":\"applied\"}",
                             false, line, sizeof line);
    /* the four parts in order, joined with "; "; 2 late events: plural */
    assert_string_equal(
        line,
        "calibration flagged on akuntabel, loyal; hidden rater groups: peer; 2 late events; curve: applied");
    view_queue_warnings_line("{\"late_events\":1}", true, line, sizeof line);
    /* the result's own flag counts even when the highlights do not say so; 1: singular */
    assert_string_equal(line, "calibration flagged; 1 late event");
}

static void test_warnings_bounded(void **state)
{
    (void)state;
    char line[24];
    memset(line, 'x', sizeof line);
    view_queue_warnings_line(
        "{\"groups_hidden\":[\"supervisor\",\"peer\",\"subordinate\"],\"late_events\":7}", false, line,
        sizeof line);
    /* cut at the buffer: 23 characters and the NUL */
    assert_int_equal(strlen(line), sizeof line - 1);
    assert_memory_equal(line, "hidden rater groups: su", sizeof line - 1);
}

static void test_not_found_leaves_out_alone(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1024);
    assert_int_equal(buf_puts(&out, "kept"), 0);
    char err[256];
    struct view_report_opts o = {0};
    struct view_table t;
    /* none of these reaches the database: db is NULL */
    assert_int_equal(view_score(NULL, "12345", "2026-10", 0, NULL, &out, err, sizeof err), VIEW_NOT_FOUND);
    assert_string_equal(err, "nip: must be 18 digits, got '12345'");
    assert_int_equal(view_score(NULL, "198001012005011001", "2026-13", 0, NULL, &out, err, sizeof err),
                     VIEW_NOT_FOUND);
    assert_string_equal(err,
                        "period: must be YYYY-MM, YYYY-Qn (n 1..4) or YYYY (year 2000..2100), got '2026-13'");
    assert_int_equal(view_results(NULL, "", NULL, &out, err, sizeof err), VIEW_NOT_FOUND);
    assert_int_equal(view_event(NULL, "not-a-uuid", NULL, &out, err, sizeof err), VIEW_NOT_FOUND);
    assert_non_null(strstr(err, "id: must be a UUID"));
    assert_int_equal(view_inbox(NULL, "198001012005011001", -1, NULL, &out, err, sizeof err), VIEW_ERROR);
    assert_string_equal(err, "limit: must be 0..1000000, got -1");
    assert_int_equal(view_report(NULL, "salary", "2026-10", &o, NULL, &out, err, sizeof err), VIEW_NOT_FOUND);
    assert_string_equal(
        err, "kind: unknown report 'salary' (unit, awards, training, public, curve, skm, angka-kredit)");
    assert_int_equal(view_report_read(NULL, "unit", "26", NULL, &t, &out, err, sizeof err), VIEW_NOT_FOUND);
    assert_int_equal(t.nrows, 0);
    view_table_free(&t);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "kept");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warnings_none),
        cmocka_unit_test(test_warnings_all),
        cmocka_unit_test(test_warnings_bounded),
        cmocka_unit_test(test_not_found_leaves_out_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
