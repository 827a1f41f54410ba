/*
 * webhook: signed HTTP POSTs of JSON bodies (SPEC 6, the notification webhook), and the
 * pieces a sender needs around them: the signature, a loggable form of the URL, and
 * the retry delay. Used by the notify role (workers/notify.c); reusable by anything
 * that calls out over HTTP with the same contract.
 *
 * The contract a receiver relies on:
 *   POST <url>
 *   Content-Type: application/json
 *   X-Kinerja-Id: <id>                 (unique per notification; dedupe on it)
 *   X-Kinerja-Signature: sha256=<hex>  (HMAC-SHA256 of the exact body bytes, keyed with
 *                                       notify.webhook_secret; 64 lowercase hex digits)
 * Any 2xx answer is a delivery; anything else (other status, refused connection,
 * timeout) is a failed attempt. Redirects are not followed; only http and https.
 *
 * The secret and the full URL (which may carry credentials in its userinfo or query)
 * never appear in an error text: errors name the host at most.
 *
 * One handle keeps its connection alive between posts; a handle is used by one thread.
 */
#ifndef KINERJA_WEBHOOK_H
#define KINERJA_WEBHOOK_H

#include <signal.h>
#include <stddef.h>

#define WEBHOOK_SIGNATURE_PREFIX "sha256="
/* "sha256=" + 64 hex digits + NUL */
#define WEBHOOK_SIGNATURE_MAX (sizeof WEBHOOK_SIGNATURE_PREFIX - 1 + 64 + 1)
#define WEBHOOK_CONNECT_TIMEOUT_MS 5000L
#define WEBHOOK_TIMEOUT_MS 10000L
#define WEBHOOK_ID_MAX 128        /* longest X-Kinerja-Id */
#define WEBHOOK_ERR_MAX 256       /* room for any error text of this module */
#define WEBHOOK_REPLY_EXCERPT 120 /* bytes of a failed answer's body kept in the error */

/*
 * Writes "sha256=<hex HMAC-SHA256(key, body)>" into out (WEBHOOK_SIGNATURE_MAX bytes).
 * The key may have any length, including 0.
 */
void webhook_sign(const char *key, size_t keylen, const void *body, size_t len,
                  char out[WEBHOOK_SIGNATURE_MAX]);

/*
 * The part of a URL that is safe to log: "scheme://host[:port]" (no userinfo, path or
 * query). Returns 0, or -1 when url is not an absolute http or https URL (out then
 * holds "(invalid URL)").
 */
int webhook_url_origin(const char *url, char *out, size_t outlen);

/*
 * The pause before the next attempt after `attempts` failed ones (1, 2, ...):
 * base_ms * 2^(attempts - 1), capped at max_ms, then multiplied by a jitter factor
 * 0.5 + u (u uniform in [0, 1), i.e. +-50%). Never below 1 ms. Pure, for tests.
 */
long long webhook_backoff_ms(int attempts, long long base_ms, long long max_ms, double u);

struct webhook_config {
    const char *url;                     /* http:// or https:// */
    const char *secret;                  /* HMAC key; "" signs with an empty key */
    long connect_timeout_ms;             /* 0: WEBHOOK_CONNECT_TIMEOUT_MS */
    long timeout_ms;                     /* whole request; 0: WEBHOOK_TIMEOUT_MS */
    const volatile sig_atomic_t *cancel; /* optional: a post in flight ends when it turns non-zero */
};

enum webhook_outcome {
    WEBHOOK_DELIVERED = 0,  /* 2xx */
    WEBHOOK_FAILED = -1,    /* not delivered; reason in err */
    WEBHOOK_CANCELLED = -2, /* *cancel became set during the post; the receiver may or may not have it */
};

struct webhook;

/* Copies the settings (url and secret included). NULL with the reason in err when the
 * URL is not usable or libcurl could not start. Calls curl_global_init once. */
struct webhook *webhook_new(const struct webhook_config *cfg, char *err, size_t errlen);
void webhook_destroy(struct webhook **w);

/*
 * POSTs body[0..len) with the headers above (id becomes X-Kinerja-Id: printable ASCII,
 * at most WEBHOOK_ID_MAX bytes). *http_status (may be NULL) gets the answer's status,
 * 0 when none came. On failure err holds e.g. "HTTP 500: <start of the body>" or
 * libcurl's reason ("Failed to connect to 127.0.0.1 port 8080 after 0 ms: Couldn't connect
 * to server").
 */
enum webhook_outcome webhook_post(struct webhook *w, const char *id, const void *body, size_t len,
                                  long *http_status, char *err, size_t errlen);

#endif
