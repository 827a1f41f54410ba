/*
 * webhook: the X-Kinerja-Signature of known bodies and keys against HMAC-SHA256 values
 * computed independently with Python's hmac module (the command is beside each value),
 * the loggable origin of a URL (no credentials, path or query), the retry delay
 * (doubling, cap, +-50% jitter), and webhook_post against a real HTTP receiver
 * (libmicrohttpd on a loopback port): headers and body as sent, 2xx / 500 / refused /
 * timeout / cancelled.
 */
#include "webhook.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- signature --------------------------------------------------------------------- */

static void test_sign_known_body(void **state)
{
    (void)state;
    static const char key[] = "s3cret-key";
    static const char body[] =
        "{\"id\":\"0b9d2c1e-5f7a-4e36-9a44-2d1f6c3b8e70\",\"kind\":\"result_approved\"}";
    /* /usr/bin/python3 -c 'import hmac,hashlib;print(hmac.new(b"s3cret-key",
     *   b"{\"id\":\"0b9d2c1e-5f7a-4e36-9a44-2d1f6c3b8e70\",\"kind\":\"result_approved\"}",
     *   hashlib.sha256).hexdigest())' */
    static const char expected[] = "sha256=9d6aeefdb829def6b78097993363dd9370c2756742163b892122930b2c2d91ff";
    char sig[WEBHOOK_SIGNATURE_MAX];
    webhook_sign(key, strlen(key), body, strlen(body), sig);
    assert_string_equal(sig, expected);
    assert_int_equal(strlen(sig), WEBHOOK_SIGNATURE_MAX - 1);

    /* one byte more in the body: another signature */
    char sig2[WEBHOOK_SIGNATURE_MAX];
    webhook_sign(key, strlen(key), body, strlen(body) - 1, sig2);
    assert_string_not_equal(sig2, expected);
}

static void test_sign_empty_and_long_key(void **state)
{
    (void)state;
    char sig[WEBHOOK_SIGNATURE_MAX];
    /* /usr/bin/python3 -c 'import hmac,hashlib;print(hmac.new(b"",b"",hashlib.sha256).hexdigest())' */
    webhook_sign("", 0, "", 0, sig);
    assert_string_equal(sig, "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");

    /* a key longer than the SHA-256 block (64 bytes) is hashed first (RFC 2104):
     * /usr/bin/python3 -c 'import hmac,hashlib;print(hmac.new(b"k"*100,
     *   b"The quick brown fox jumps over the lazy dog",hashlib.sha256).hexdigest())' */
    char key[100];
    memset(key, 'k', sizeof key);
    static const char body[] = "The quick brown fox jumps over the lazy dog";
    webhook_sign(key, sizeof key, body, strlen(body), sig);
    assert_string_equal(sig, "sha256=d545ebc800857f4b734cbdc38712fe226d36a8ac3469cad63650e5bc872cd76d");
}

/* ---- origin and backoff --------------------------------------------------------------- */

static void test_url_origin(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(
        webhook_url_origin("https://user:pa55@hooks.example.go.id/k/notify?token=abc", out, sizeof out), 0);
    assert_string_equal(out, "https://hooks.example.go.id");
    assert_null(strstr(out, "pa55"));
    assert_int_equal(webhook_url_origin("http://127.0.0.1:8080/hook", out, sizeof out), 0);
    assert_string_equal(out, "http://127.0.0.1:8080");
    assert_int_equal(webhook_url_origin("ftp://example.com/x", out, sizeof out), -1);
    assert_string_equal(out, "(invalid URL)");
    assert_int_equal(webhook_url_origin("not a url", out, sizeof out), -1);
    char tiny[8];
    assert_int_equal(webhook_url_origin("http://127.0.0.1:8080/hook", tiny, sizeof tiny), -1);
}

static void test_backoff(void **state)
{
    (void)state;
    /* u = 0.5: factor 1.0, the plain doubling 1 s, 2 s, 4 s, 8 s ... */
    assert_int_equal(webhook_backoff_ms(1, 1000, 600000, 0.5), 1000);
    assert_int_equal(webhook_backoff_ms(2, 1000, 600000, 0.5), 2000);
    assert_int_equal(webhook_backoff_ms(4, 1000, 600000, 0.5), 8000);
    /* 2^(10-1) s = 512 s; 2^(11-1) s = 1024 s capped at 600 s */
    assert_int_equal(webhook_backoff_ms(10, 1000, 600000, 0.5), 512000);
    assert_int_equal(webhook_backoff_ms(11, 1000, 600000, 0.5), 600000);
    assert_int_equal(webhook_backoff_ms(1000, 1000, 600000, 0.5), 600000);
    /* jitter: u = 0 halves, u -> 1 gives 1.5x */
    assert_int_equal(webhook_backoff_ms(3, 1000, 600000, 0.0), 2000);
    assert_int_equal(webhook_backoff_ms(3, 1000, 600000, 0.999), 5996);
    assert_int_equal(webhook_backoff_ms(11, 1000, 600000, 0.0), 300000);
    /* nonsense inputs stay sane */
    assert_int_equal(webhook_backoff_ms(0, 1000, 600000, 0.5), 1000);
    assert_int_equal(webhook_backoff_ms(1, 0, 600000, 0.0), 1);
    assert_int_equal(webhook_backoff_ms(2, 1000, 600000, -3.0), 2000);
}

/* ---- a real HTTP receiver ------------------------------------------------------------- */

#define RX_BODY_MAX 4096

struct receiver {
    struct MHD_Daemon *d;
    int port;
    unsigned status; /* answer */
    int delay_ms;    /* before answering */
    int requests;
    char method[16], content_type[64], signature[128], id[160];
    char body[RX_BODY_MAX];
    size_t body_len;
};

static enum MHD_Result rx_answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct receiver *rx = cls;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = rx;
        rx->body_len = 0;
        snprintf(rx->method, sizeof rx->method, "%s", method);
        const char *v;
        v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        snprintf(rx->content_type, sizeof rx->content_type, "%s", v ? v : "");
        v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Kinerja-Signature");
        snprintf(rx->signature, sizeof rx->signature, "%s", v ? v : "");
        v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Kinerja-Id");
        snprintf(rx->id, sizeof rx->id, "%s", v ? v : "");
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (n > RX_BODY_MAX - 1 - rx->body_len)
            n = RX_BODY_MAX - 1 - rx->body_len;
        memcpy(rx->body + rx->body_len, upload_data, n);
        rx->body_len += n;
        rx->body[rx->body_len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    rx->requests++;
    if (rx->delay_ms)
        usleep((useconds_t)rx->delay_ms * 1000);
    static const char reply[] = "receiver says\nno";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof reply - 1, (void *)reply, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_queue_response(conn, rx->status, r);
    MHD_destroy_response(r);
    return rc;
}

static void rx_start(struct receiver *rx, unsigned status)
{
    memset(rx, 0, sizeof *rx);
    rx->status = status;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rx->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, rx_answer, rx,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    assert_non_null(rx->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(rx->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    rx->port = info->port;
}

static void rx_stop(struct receiver *rx)
{
    MHD_stop_daemon(rx->d);
    rx->d = NULL;
}

static struct webhook *hook_for(int port, const char *secret, long timeout_ms,
                                const volatile sig_atomic_t *cancel)
{
    char url[128], err[WEBHOOK_ERR_MAX];
    snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%d/hooks/kinerja?t=1", port);
    struct webhook_config cfg = {.url = url, .secret = secret, .timeout_ms = timeout_ms, .cancel = cancel};
    struct webhook *w = webhook_new(&cfg, err, sizeof err);
    assert_non_null(w);
    return w;
}

static const char json_body[] =
    "{\"id\":\"0b9d2c1e-5f7a-4e36-9a44-2d1f6c3b8e70\",\"kind\":\"result_approved\"}";

static void test_post_delivered(void **state)
{
    (void)state;
    struct receiver rx;
    rx_start(&rx, 204);
    struct webhook *w = hook_for(rx.port, "s3cret-key", 0, NULL);
    long status = -1;
    char err[WEBHOOK_ERR_MAX] = "";
    assert_int_equal(webhook_post(w, "0b9d2c1e-5f7a-4e36-9a44-2d1f6c3b8e70", json_body, strlen(json_body),
                                  &status, err, sizeof err),
                     WEBHOOK_DELIVERED);
    assert_int_equal(status, 204);
    assert_int_equal(rx.requests, 1);
    assert_string_equal(rx.method, "POST");
    assert_string_equal(rx.content_type, "application/json");
    assert_string_equal(rx.id, "0b9d2c1e-5f7a-4e36-9a44-2d1f6c3b8e70");
    assert_string_equal(rx.body, json_body);
    /* the value computed with Python in test_sign_known_body */
    assert_string_equal(rx.signature,
                        "sha256=9d6aeefdb829def6b78097993363dd9370c2756742163b892122930b2c2d91ff");

    /* the same handle again (connection kept alive) */
    assert_int_equal(webhook_post(w, "second", "{}", 2, &status, err, sizeof err), WEBHOOK_DELIVERED);
    assert_int_equal(rx.requests, 2);
    assert_string_equal(rx.id, "second");
    assert_string_equal(rx.body, "{}");
    webhook_destroy(&w);
    assert_null(w);
    rx_stop(&rx);
}

static void test_post_http_error(void **state)
{
    (void)state;
    struct receiver rx;
    rx_start(&rx, 500);
    struct webhook *w = hook_for(rx.port, "k", 0, NULL);
    long status = 0;
    char err[WEBHOOK_ERR_MAX];
    assert_int_equal(webhook_post(w, "n1", "{}", 2, &status, err, sizeof err), WEBHOOK_FAILED);
    assert_int_equal(status, 500);
    assert_string_equal(err, "HTTP 500: receiver says no"); /* one line */
    webhook_destroy(&w);
    rx_stop(&rx);
}

static void test_post_refused(void **state)
{
    (void)state;
    struct receiver rx;
    rx_start(&rx, 200);
    int port = rx.port;
    rx_stop(&rx); /* nothing listens there any more */
    struct webhook *w = hook_for(port, "k", 0, NULL);
    long status = -1;
    char err[WEBHOOK_ERR_MAX];
    assert_int_equal(webhook_post(w, "n1", "{}", 2, &status, err, sizeof err), WEBHOOK_FAILED);
    assert_int_equal(status, 0);
    assert_non_null(strstr(err, "127.0.0.1"));
    assert_null(strstr(err, "pw")); /* no credentials of the URL */
    assert_null(strstr(err, "hooks/kinerja"));
    /* a bad id is refused before any request */
    assert_int_equal(webhook_post(w, "a\r\nX-Evil: 1", "{}", 2, &status, err, sizeof err), WEBHOOK_FAILED);
    webhook_destroy(&w);
}

static void test_post_timeout(void **state)
{
    (void)state;
    struct receiver rx;
    rx_start(&rx, 200);
    rx.delay_ms = 1500;
    struct webhook *w = hook_for(rx.port, "k", 300, NULL);
    char err[WEBHOOK_ERR_MAX];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(webhook_post(w, "n1", "{}", 2, NULL, err, sizeof err), WEBHOOK_FAILED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(s < 1.2);
    assert_non_null(strstr(err, "imeout") ? strstr(err, "imeout") : strstr(err, "timed out"));
    webhook_destroy(&w);
    rx_stop(&rx);
}

static volatile sig_atomic_t cancel_flag;

static void *set_cancel_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    cancel_flag = 1;
    return NULL;
}

static void test_post_cancelled(void **state)
{
    (void)state;
    struct receiver rx;
    rx_start(&rx, 200);
    rx.delay_ms = 3000;
    cancel_flag = 0;
    struct webhook *w = hook_for(rx.port, "k", 0, &cancel_flag);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, set_cancel_later, NULL), 0);
    char err[WEBHOOK_ERR_MAX];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(webhook_post(w, "n1", "{}", 2, NULL, err, sizeof err), WEBHOOK_CANCELLED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(s < 2.5); /* the progress callback runs at least once a second */
    webhook_destroy(&w);
    rx_stop(&rx);
}

static void test_new_refuses_bad_url(void **state)
{
    (void)state;
    char err[WEBHOOK_ERR_MAX];
    struct webhook_config cfg = {.url = "file:///etc/passwd", .secret = "k"};
    assert_null(webhook_new(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "http"));
    cfg.url = "";
    assert_null(webhook_new(&cfg, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_known_body), cmocka_unit_test(test_sign_empty_and_long_key),
        cmocka_unit_test(test_url_origin),      cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_post_delivered),  cmocka_unit_test(test_post_http_error),
        cmocka_unit_test(test_post_refused),    cmocka_unit_test(test_post_timeout),
        cmocka_unit_test(test_post_cancelled),  cmocka_unit_test(test_new_refuses_bad_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
