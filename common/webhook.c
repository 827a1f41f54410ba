#include "webhook.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBHOOK_HEADER_MAX (WEBHOOK_ID_MAX + 64)

struct webhook {
    CURL *curl;
    char *url;
    char *secret;
    size_t secret_len;
    long connect_timeout_ms, timeout_ms;
    const volatile sig_atomic_t *cancel;
    char curl_err[CURL_ERROR_SIZE];
    char reply[WEBHOOK_REPLY_EXCERPT + 1]; /* start of the last answer's body */
    size_t reply_len;
};

void webhook_sign(const char *key, size_t keylen, const void *body, size_t len,
                  char out[WEBHOOK_SIGNATURE_MAX])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, keylen);
    crypto_auth_hmacsha256_update(&st, body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    memcpy(out, WEBHOOK_SIGNATURE_PREFIX, sizeof WEBHOOK_SIGNATURE_PREFIX - 1);
    sodium_bin2hex(out + sizeof WEBHOOK_SIGNATURE_PREFIX - 1, 2 * sizeof mac + 1, mac, sizeof mac);
}

int webhook_url_origin(const char *url, char *out, size_t outlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (u && url && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        (!strcmp(scheme, "http") || !strcmp(scheme, "https"))) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
            port = NULL; /* none given: the scheme's default */
        int n = snprintf(out, outlen, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
        rc = n >= 0 && (size_t)n < outlen ? 0 : -1;
    }
    if (rc < 0 && outlen)
        snprintf(out, outlen, "(invalid URL)");
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

long long webhook_backoff_ms(int attempts, long long base_ms, long long max_ms, double u)
{
    if (attempts < 1)
        attempts = 1;
    if (base_ms < 1)
        base_ms = 1;
    double d = (double)base_ms * ldexp(1.0, attempts > 62 ? 62 : attempts - 1);
    if (d > (double)max_ms)
        d = (double)max_ms;
    if (!(u >= 0.0 && u < 1.0))
        u = 0.5;
    d *= 0.5 + u;
    return d < 1.0 ? 1 : (long long)d;
}

/* ---- libcurl ----------------------------------------------------------------------- */

static pthread_once_t webhook_curl_once = PTHREAD_ONCE_INIT;
static CURLcode webhook_curl_init_rc = CURLE_FAILED_INIT;

static void webhook_curl_init(void)
{
    webhook_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Keeps the start of the answer (for the error text) and discards the rest. */
static size_t webhook_on_reply(char *data, size_t size, size_t nmemb, void *arg)
{
    struct webhook *w = arg;
    size_t n = size * nmemb;
    size_t room = WEBHOOK_REPLY_EXCERPT - w->reply_len;
    size_t take = n < room ? n : room;
    memcpy(w->reply + w->reply_len, data, take);
    w->reply_len += take;
    w->reply[w->reply_len] = '\0';
    return n;
}

static int webhook_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                               curl_off_t ulnow)
{
    const struct webhook *w = arg;
    return w->cancel && *w->cancel ? 1 : 0;
}

/* Error texts go to logs and to notifications.last_error: one line of printable ASCII. */
static void webhook_clean_text(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = ' ';
}

struct webhook *webhook_new(const struct webhook_config *cfg, char *err, size_t errlen)
{
    char origin[256];
    if (!cfg->url || webhook_url_origin(cfg->url, origin, sizeof origin) < 0) {
        snprintf(err, errlen, "webhook URL is not an absolute http:// or https:// URL");
        return NULL;
    }
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to start");
        return NULL;
    }
    pthread_once(&webhook_curl_once, webhook_curl_init);
    if (webhook_curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl failed to start: %s", curl_easy_strerror(webhook_curl_init_rc));
        return NULL;
    }
    struct webhook *w = calloc(1, sizeof *w);
    if (!w || !(w->url = strdup(cfg->url)) || !(w->secret = strdup(cfg->secret ? cfg->secret : "")) ||
        !(w->curl = curl_easy_init())) {
        snprintf(err, errlen, "out of memory");
        webhook_destroy(&w);
        return NULL;
    }
    w->secret_len = strlen(w->secret);
    w->connect_timeout_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : WEBHOOK_CONNECT_TIMEOUT_MS;
    w->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : WEBHOOK_TIMEOUT_MS;
    w->cancel = cfg->cancel;
    return w;
}

void webhook_destroy(struct webhook **pw)
{
    struct webhook *w = *pw;
    if (!w)
        return;
    if (w->curl)
        curl_easy_cleanup(w->curl);
    if (w->secret) {
        sodium_memzero(w->secret, w->secret_len);
        free(w->secret);
    }
    free(w->url);
    free(w);
    *pw = NULL;
}

static bool webhook_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > WEBHOOK_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return false;
    return true;
}

enum webhook_outcome webhook_post(struct webhook *w, const char *id, const void *body, size_t len,
                                  long *http_status, char *err, size_t errlen)
{
    if (http_status)
        *http_status = 0;
    if (!webhook_id_ok(id)) {
        snprintf(err, errlen, "notification id is not a printable header value");
        return WEBHOOK_FAILED;
    }
    char sig[WEBHOOK_SIGNATURE_MAX];
    webhook_sign(w->secret, w->secret_len, body, len, sig);
    char h_sig[WEBHOOK_HEADER_MAX], h_id[WEBHOOK_HEADER_MAX];
    snprintf(h_sig, sizeof h_sig, "X-Kinerja-Signature: %s", sig);
    snprintf(h_id, sizeof h_id, "X-Kinerja-Id: %s", id);
    struct curl_slist *headers = NULL, *t;
    const char *const lines[] = {"Content-Type: application/json", h_sig, h_id,
                                 "Expect:" /* no 100-continue round trip */};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!(t = curl_slist_append(headers, lines[i]))) {
            curl_slist_free_all(headers);
            snprintf(err, errlen, "out of memory");
            return WEBHOOK_FAILED;
        }
        headers = t;
    }

    CURL *c = w->curl;
    w->curl_err[0] = '\0';
    w->reply_len = 0;
    w->reply[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "kinerja-notify/1");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, w->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, webhook_on_reply);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, webhook_on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);

    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    if (http_status)
        *http_status = status;

    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, errlen, "cancelled");
        return WEBHOOK_CANCELLED;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", w->curl_err[0] ? w->curl_err : curl_easy_strerror(rc));
        webhook_clean_text(err);
        return WEBHOOK_FAILED;
    }
    if (status >= 200 && status < 300)
        return WEBHOOK_DELIVERED;
    webhook_clean_text(w->reply);
    snprintf(err, errlen, "HTTP %ld%s%.*s", status, w->reply_len ? ": " : "", WEBHOOK_REPLY_EXCERPT,
             w->reply);
    return WEBHOOK_FAILED;
}
