/*
 * rstream: Redis URL parsing (every form SPEC 2's redis.url may take, and the errors,
 * which must never echo a password) and the key names the broker and workers share.
 * Connecting and the function library are covered by tests/integration/test_broker.py.
 */
#include "rstream.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static char err[256];

static void test_url_forms(void **state)
{
    (void)state;
    struct redis_url u;
    assert_int_equal(rstream_parse_url("redis://127.0.0.1:6390/0", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6390);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");

    assert_int_equal(rstream_parse_url("redis://localhost", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);

    assert_int_equal(rstream_parse_url("redis://:pw@h:7000/5", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 5);

    assert_int_equal(rstream_parse_url("redis://kinerja:p%40ss@[::1]:6390/2", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "kinerja");
    assert_string_equal(u.password, "p@ss");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6390);
    assert_int_equal(u.db, 2);

    assert_int_equal(rstream_parse_url("redis://secret@h/", &u, err, sizeof err), 0);
    assert_string_equal(u.password, "secret");
    assert_int_equal(u.db, 0);
}

static void test_url_errors_never_show_the_password(void **state)
{
    (void)state;
    struct redis_url u;
    const char *bad[] = {
        "http://:hunter2@h:1/0", "redis://:hunter2@h:0/0",    "redis://:hunter2@h:99999",
        "redis://:hunter2@h/x",  "redis://:hunter2%zz@h:1/0", "redis://:hunter2@:6379",
        "redis://:hunter2@[::1", "redis://:hunter2@h:12ab/0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(rstream_parse_url(bad[i], &u, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        assert_null(strstr(err, "hunter2"));
    }
}

static void test_describe_one_server_or_a_cluster(void **state)
{
    (void)state;
    char out[512], why[256];
    assert_int_equal(
        rstream_describe_url("redis://:pw@127.0.0.1:6390/2", false, out, sizeof out, why, sizeof why), 0);
    assert_string_equal(out, "127.0.0.1:6390/2");
    assert_int_equal(rstream_describe_url("redis://:pw@10.0.0.1:7001,10.0.0.2:7002", true, out, sizeof out,
                                          why, sizeof why),
                     0);
    assert_string_equal(out, "cluster of seeds 10.0.0.1:7001,10.0.0.2:7002");
    assert_null(strstr(out, "pw"));
    /* seeds without redis.cluster: told what to set, not "port must be 1..65535" */
    assert_int_equal(
        rstream_describe_url("redis://10.0.0.1:7001,10.0.0.2:7002", false, out, sizeof out, why, sizeof why),
        -1);
    assert_non_null(strstr(why, "set redis.cluster = true"));
    /* a cluster has database 0 only */
    assert_int_equal(rstream_describe_url("redis://10.0.0.1:7001/3", true, out, sizeof out, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "database 0 only"));
}

static void test_connect_refused_names_host_not_password(void **state)
{
    (void)state;
    /* port 1 on loopback: nothing listens there */
    redisContext *c = rstream_connect("redis://:hunter2@127.0.0.1:1/0", 500, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    assert_null(strstr(err, "hunter2"));
}

static void test_key_names(void **state)
{
    (void)state;
    char key[RSTREAM_KEY_MAX];
    rstream_stream_key(7, key, sizeof key);
    assert_string_equal(key, "kinerja:ev:{7}");
    const char *id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    /* one dedupe key per id, whatever the shard (an id reused about another employee is
     * a duplicate, not a second accepted event) */
    rstream_dedupe_key(id, strlen(id), key, sizeof key);
    assert_string_equal(key, "kinerja:dd:0f8fad5b-d9cb-469f-a165-70867728950e");
    /* a short buffer truncates, never overflows */
    char small[20];
    rstream_dedupe_key(id, strlen(id), small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_url_errors_never_show_the_password),
        cmocka_unit_test(test_describe_one_server_or_a_cluster),
        cmocka_unit_test(test_connect_refused_names_host_not_password),
        cmocka_unit_test(test_key_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
