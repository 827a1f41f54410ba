/*
 * metrics: the Prometheus text a scrape gets (families grouped, HELP/TYPE once), the
 * sink for invalid or surplus series, and the HTTP server's /metrics, /healthz (200 ok,
 * 503 with the reason) and 404, fetched with libcurl from a server on port 0.
 */
#include "metrics.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static char out[8192];

static void test_render_groups_families(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    assert_non_null(m);
    struct metric *acc = metrics_counter(m, "k_events_total", "status=\"accepted\"", "events by status");
    struct metric *up = metrics_gauge(m, "k_up", NULL, "1 when up");
    struct metric *rej = metrics_counter(m, "k_events_total", "status=\"rejected\"", "events by status");
    metric_add(acc, 41);
    metric_inc(acc);
    metric_inc(rej);
    metric_set(up, 1);
    size_t n = metrics_render(m, out, sizeof out);
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "# HELP k_events_total events by status\n"
                             "# TYPE k_events_total counter\n"
                             "k_events_total{status=\"accepted\"} 42\n"
                             "k_events_total{status=\"rejected\"} 1\n"
                             "# HELP k_up 1 when up\n"
                             "# TYPE k_up gauge\n"
                             "k_up 1\n");
    assert_int_equal(metric_get(acc), 42);
    /* a short buffer: truncated, NUL-terminated, the needed length returned */
    char small[16];
    assert_int_equal(metrics_render(m, small, sizeof small), n);
    assert_int_equal(strlen(small), sizeof small - 1);
    metrics_destroy(&m);
    assert_null(m);
}

/* Histograms: cumulative buckets, +Inf, _sum and _count, labels before le; the default
 * latency buckets; bad bounds give a sink that is never exported. */
static void test_histogram_render(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    static const double b[] = {0.01, 0.1, 1};
    struct metric_histogram *h = metrics_histogram(m, "k_commit_seconds", NULL, "batch commit", b, 3);
    struct metric_histogram *l = metrics_histogram(m, "k_ack_seconds", "shard=\"1\"", "ack latency", NULL, 0);
    metric_observe(h, 0.005);
    metric_observe(h, 0.01); /* on the bound: counts in le="0.01" */
    metric_observe(h, 0.5);
    metric_observe(h, 7);
    metric_observe(h, -1); /* counts as 0 */
    metric_observe(l, 0.0002);
    assert_int_equal(metric_histogram_count(h), 5);
    assert_true(metric_histogram_sum(h) > 7.514 && metric_histogram_sum(h) < 7.516);
    struct metric_histogram *bad = metrics_histogram(m, "k_bad", NULL, "x", (const double[]){1, 0.5}, 2);
    metric_observe(bad, 1); /* a sink: must not crash, never shown */
    metrics_render(m, out, sizeof out);
    assert_non_null(strstr(out, "# HELP k_commit_seconds batch commit\n# TYPE k_commit_seconds histogram\n"
                                "k_commit_seconds_bucket{le=\"0.01\"} 3\n"
                                "k_commit_seconds_bucket{le=\"0.1\"} 3\n"
                                "k_commit_seconds_bucket{le=\"1\"} 4\n"
                                "k_commit_seconds_bucket{le=\"+Inf\"} 5\n"
                                "k_commit_seconds_sum 7.515\n"
                                "k_commit_seconds_count 5\n"));
    assert_non_null(strstr(out, "k_ack_seconds_bucket{shard=\"1\",le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(out, "k_ack_seconds_bucket{shard=\"1\",le=\"60\"} 1\n"));
    assert_non_null(strstr(out, "k_ack_seconds_count{shard=\"1\"} 1\n"));
    assert_null(strstr(out, "k_bad"));
    metrics_destroy(&m);
}

/* The process series read from /proc/self, and the build info. */
static void test_process_render(void **state)
{
    (void)state;
    size_t n = metrics_render_process(out, sizeof out);
    assert_int_equal(n, strlen(out));
    assert_non_null(strstr(out, "kinerja_build_info{version=\"" KINERJA_VERSION "\"} 1\n"));
    long long rss = 0;
    const char *p = strstr(out, "\nprocess_resident_memory_bytes ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\nprocess_resident_memory_bytes %lld", &rss), 1);
    assert_true(rss > 100000); /* a running process holds at least 100 kB */
    assert_non_null(strstr(out, "\nprocess_cpu_seconds_total "));
    assert_non_null(strstr(out, "\nprocess_start_time_seconds "));
    long fds = -1;
    p = strstr(out, "\nprocess_open_fds ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\nprocess_open_fds %ld", &fds), 1);
    assert_true(fds >= 3); /* stdin, stdout, stderr */
}

static void test_invalid_and_surplus_series_are_sinks(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    struct metric *bad = metrics_counter(m, "9starts_with_digit", NULL, "x");
    assert_non_null(bad);
    metric_inc(bad); /* must not crash */
    char name[32];
    for (int i = 0; i < METRICS_MAX; i++) {
        snprintf(name, sizeof name, "k_m%d", i);
        metrics_counter(m, name, NULL, "x");
    }
    struct metric *extra = metrics_counter(m, "k_extra", NULL, "x");
    metric_inc(extra);
    metrics_render(m, out, sizeof out);
    assert_null(strstr(out, "9starts"));
    assert_null(strstr(out, "k_extra"));
    assert_non_null(strstr(out, "k_m127 0"));
    metrics_destroy(&m);
}

struct body {
    char text[4096];
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *userdata)
{
    struct body *b = userdata;
    size_t len = size * n;
    if (b->len + len >= sizeof b->text)
        len = sizeof b->text - 1 - b->len;
    memcpy(b->text + b->len, p, len);
    b->len += len;
    b->text[b->len] = '\0';
    return size * n;
}

static long http_get(int port, const char *path, struct body *b)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(b, 0, sizeof *b);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static void test_http_server(void **state)
{
    (void)state;
    char err[256];
    struct metrics *m = metrics_new();
    struct metric *req = metrics_counter(m, "k_requests_total", NULL, "requests");
    metric_add(req, 7);
    struct metrics_server *srv = NULL;
    assert_int_equal(metrics_server_start(m, "127.0.0.1:0", "127.0.0.1:9570", &srv, err, sizeof err), 0);
    int port = metrics_server_port(srv);
    assert_true(port > 0 && port != 9570);

    struct body b;
    assert_int_equal(http_get(port, "/metrics", &b), 200);
    assert_non_null(strstr(b.text, "k_requests_total 7\n"));
    assert_int_equal(http_get(port, "/healthz", &b), 200);
    assert_string_equal(b.text, "ok\n");
    metrics_health_set(m, "redis: connection refused");
    assert_int_equal(http_get(port, "/healthz", &b), 503);
    assert_string_equal(b.text, "redis: connection refused\n");
    metrics_health_set(m, NULL);
    assert_int_equal(http_get(port, "/healthz", &b), 200);
    assert_int_equal(http_get(port, "/nothing", &b), 404);

    /* the same port again cannot be bound */
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    struct metrics_server *second = NULL;
    assert_int_equal(metrics_server_start(m, listen, "x", &second, err, sizeof err), -1);
    assert_null(second);

    metrics_server_stop(&srv);
    assert_null(srv);
    metrics_destroy(&m);
}

static void test_listen_values(void **state)
{
    (void)state;
    char err[256];
    struct metrics *m = metrics_new();
    struct metrics_server *srv = (struct metrics_server *)1;
    assert_int_equal(metrics_server_start(m, "off", "127.0.0.1:9570", &srv, err, sizeof err), 0);
    assert_null(srv);
    assert_int_equal(metrics_server_port(srv), 0);
    assert_int_equal(metrics_server_start(m, "nonsense", "127.0.0.1:9570", &srv, err, sizeof err), -1);
    assert_non_null(strstr(err, "metrics.listen"));
    assert_int_equal(metrics_server_start(m, "127.0.0.1:99999", "x", &srv, err, sizeof err), -1);
    /* auto uses the daemon's address (given here as port 0 so the test never takes 9570) */
    assert_int_equal(metrics_server_start(m, "auto", "127.0.0.1:0", &srv, err, sizeof err), 0);
    assert_non_null(srv);
    metrics_server_stop(&srv);
    metrics_destroy(&m);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_groups_families),
        cmocka_unit_test(test_histogram_render),
        cmocka_unit_test(test_process_render),
        cmocka_unit_test(test_invalid_and_surplus_series_are_sinks),
        cmocka_unit_test(test_http_server),
        cmocka_unit_test(test_listen_values),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
