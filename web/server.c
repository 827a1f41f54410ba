/*
 * server: kinerja-web's HTTP core (see web.h): libmicrohttpd with one thread per
 * connection, the PostgreSQL pool, signed session cookies, CSRF tokens, rate limits,
 * the page frame, error pages, events through the broker and the live stream
 * (Server-Sent Events at /api/v1/stream).
 */
#include "server.h"

#include "clientkeys.h"
#include "daemon.h"
#include "inboxstore.h"
#include "log.h"
#include "sender.h"
#include "userstore.h"
#include "uuid4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <msgpack.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SESSION_COOKIE "kinerja_session"
#define ANON_COOKIE "kinerja_anon"
#define SESSION_MAX 512 /* the cookie's value */
#define NONCE_BYTES 16
#define RATE_SLOTS 8192 /* rate-limit entries kept (memory bound) */
#define RATE_PROBE 16
#define RATE_KEY_MAX 96
#define POOL_WAIT_MS 5000 /* a request waits this long for a database connection */
#define SSE_POLL_MS 1000
#define SSE_KEEPALIVE_MS 15000
#define SSE_SEEN 256       /* notification ids remembered per stream */
#define SSE_LOOKBACK_S 120 /* re-read this far back (a slow commit may land late) */
#define WAIT_STEP_MS 100

struct rate_slot {
    char key[RATE_KEY_MAX];
    long long window; /* window start, Unix seconds */
    int count;
};

struct web {
    const struct config *cfg;
    struct MHD_Daemon *mhd;
    int port;
    unsigned char key[crypto_auth_KEYBYTES];
    long long session_ttl_s;
    bool cookie_secure;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct pgstore **pool;
    bool *pool_busy;
    bool *pool_ready; /* the session time zone is set */
    size_t pool_n;

    pthread_mutex_t rate_mu;
    struct rate_slot *rate;

    struct clientkeys keys;
    char public_url[256];

    struct web_metrics *m;
};

struct conn {
    struct buf body;
    bool too_big;
    bool started;
};

/* ---------------------------------------------------------------- small helpers */

static long long now_s(void)
{
    return (long long)time(NULL);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !daemon_stopping)
        ;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool web_path_is(const char *path, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return false;
    if (rest)
        *rest = path + n;
    return true;
}

const char *web_public_url(const struct web *w)
{
    return w->public_url;
}

const char *web_time_zone(const struct web *w)
{
    return config_str(w->cfg, "time.zone");
}

int web_server_port(const struct web *w)
{
    return w ? w->port : 0;
}

/* ---------------------------------------------------------------- pool */

static struct pgstore *pool_get(struct web *w)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += POOL_WAIT_MS / 1000;
    pthread_mutex_lock(&w->pool_mu);
    size_t i;
    for (;;) {
        for (i = 0; i < w->pool_n && w->pool_busy[i]; i++)
            ;
        if (i < w->pool_n)
            break;
        if (pthread_cond_timedwait(&w->pool_cv, &w->pool_mu, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&w->pool_mu);
            return NULL;
        }
    }
    w->pool_busy[i] = true;
    pthread_mutex_unlock(&w->pool_mu);

    struct pgstore *db = w->pool[i];
    if (!db)
        db = w->pool[i] = pgstore_connect(config_str(w->cfg, "postgres.dsn"));
    if (db && !pgstore_ok(db)) {
        w->pool_ready[i] = false;
        if (pgstore_reconnect(db) != 0)
            db = NULL;
    }
    if (db && !w->pool_ready[i]) {
        if (pgstore_use_time_zone(db, web_time_zone(w)) == 0)
            w->pool_ready[i] = true;
        else
            db = NULL;
    }
    if (!db) {
        pthread_mutex_lock(&w->pool_mu);
        w->pool_busy[i] = false;
        pthread_cond_signal(&w->pool_cv);
        pthread_mutex_unlock(&w->pool_mu);
    }
    return db;
}

static void pool_put(struct web *w, struct pgstore *db)
{
    if (!db)
        return;
    pthread_mutex_lock(&w->pool_mu);
    for (size_t i = 0; i < w->pool_n; i++)
        if (w->pool[i] == db) {
            w->pool_busy[i] = false;
            pthread_cond_signal(&w->pool_cv);
            break;
        }
    pthread_mutex_unlock(&w->pool_mu);
}

bool web_db_probe(struct web *w, char *why, size_t whylen)
{
    struct pgstore *db = pool_get(w);
    if (!db) {
        snprintf(why, whylen, "postgres: no connection");
        return false;
    }
    PGresult *res = PQexec(db->conn, "SELECT 1");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(why, whylen, "postgres: %s", PQerrorMessage(db->conn));
    PQclear(res);
    pool_put(w, db);
    return ok;
}

/* ---------------------------------------------------------------- rate limits */

static bool rate_step(struct web *w, const char *bucket, const char *key, int max, int window_s, bool count);

static uint64_t rate_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

bool web_rate_allow(struct web *w, const char *bucket, const char *key, int max, int window_s)
{
    return rate_step(w, bucket, key, max, window_s, true);
}

bool web_rate_check(struct web *w, const char *bucket, const char *key, int max, int window_s)
{
    return rate_step(w, bucket, key, max, window_s, false);
}

static bool rate_step(struct web *w, const char *bucket, const char *key, int max, int window_s, bool count)
{
    char k[RATE_KEY_MAX];
    snprintf(k, sizeof k, "%s|%s", bucket, key);
    long long now = now_s(), win = now - now % (window_s > 0 ? window_s : 1);
    uint64_t h = rate_hash(k);
    pthread_mutex_lock(&w->rate_mu);
    struct rate_slot *hit = NULL, *victim = NULL;
    for (int p = 0; p < RATE_PROBE; p++) {
        struct rate_slot *s = &w->rate[(h + (uint64_t)p) % RATE_SLOTS];
        if (s->key[0] && strcmp(s->key, k) == 0) {
            hit = s;
            break;
        }
        if (!s->key[0]) { /* an empty slot is the best place for a new key */
            if (!victim || victim->key[0])
                victim = s;
        } else if (!victim || (victim->key[0] && s->window < victim->window)) {
            victim = s; /* else the one whose window is oldest */
        }
    }
    if (!hit) {
        hit = victim; /* an empty slot, or the one with the oldest window */
        snprintf(hit->key, sizeof hit->key, "%s", k);
        hit->window = win;
        hit->count = 0;
    }
    if (hit->window != win) {
        hit->window = win;
        hit->count = 0;
    }
    bool ok = hit->count < max;
    if (ok && count)
        hit->count++;
    pthread_mutex_unlock(&w->rate_mu);
    return ok;
}

/* ---------------------------------------------------------------- request parsing */

const char *web_header(struct web_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static const char *web_cookie(struct web_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, name);
}

bool web_query(struct web_req *rq, const char *name, char *out, size_t outlen)
{
    const char *v = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v || strlen(v) >= outlen)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* URL-decodes s[0..n) into out; false when it does not fit or has a NUL. */
static bool url_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
            c = (char)(unhex(s[i + 1]) * 16 + unhex(s[i + 2]));
            i += 2;
        }
        if (c == '\0' || o + 1 >= outlen)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

bool web_form(struct web_req *rq, const char *name, char *out, size_t outlen)
{
    if (strncmp(rq->content_type, "application/x-www-form-urlencoded", 33) != 0)
        return false;
    size_t nl = strlen(name);
    const char *p = rq->body, *end = rq->body + rq->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        char key[128];
        if (eq && url_decode(p, (size_t)(eq - p), key, sizeof key) && strlen(key) == nl &&
            memcmp(key, name, nl) == 0)
            return url_decode(eq + 1, (size_t)(stop - eq - 1), out, outlen);
        p = stop + 1;
    }
    return false;
}

json_t *web_json_body(struct web_req *rq)
{
    if (rq->body_len == 0)
        return NULL;
    json_error_t e;
    json_t *v = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &e);
    if (v && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---------------------------------------------------------------- output */

int web_h(struct buf *b, const char *s)
{
    if (!s)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    while (*p && rc == 0) {
        unsigned char c = *p;
        switch (c) {
        case '&':
            rc = buf_puts(b, "&amp;");
            p++;
            continue;
        case '<':
            rc = buf_puts(b, "&lt;");
            p++;
            continue;
        case '>':
            rc = buf_puts(b, "&gt;");
            p++;
            continue;
        case '"':
            rc = buf_puts(b, "&quot;");
            p++;
            continue;
        case '\'':
            rc = buf_puts(b, "&#39;");
            p++;
            continue;
        default:
            break;
        }
        if (c < 0x20 && c != '\t' && c != '\n') {
            rc = buf_puts(b, "\xEF\xBF\xBD");
            p++;
            continue;
        }
        if (c < 0x80) {
            rc = buf_putc(b, (char)c);
            p++;
            continue;
        }
        /* UTF-8: copy a well-formed sequence, replace anything else */
        int len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
        bool ok = len > 0;
        for (int i = 1; ok && i < len; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && len == 3)
            ok = !(c == 0xE0 && p[1] < 0xA0) && !(c == 0xED && p[1] >= 0xA0);
        if (ok && len == 4)
            ok = !(c == 0xF0 && p[1] < 0x90) && !(c == 0xF4 && p[1] >= 0x90);
        if (ok) {
            rc = buf_append(b, p, (size_t)len);
            p += len;
        } else {
            rc = buf_puts(b, "\xEF\xBF\xBD");
            p++;
        }
    }
    return rc;
}

/* The message in the API's language (English, for integrators) or the pages' (Indonesian). */
static const char *L(const struct web_req *rq, const char *en, const char *id)
{
    return rq->wants_json ? en : id;
}

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "Permintaan tidak valid";
    case 401:
        return "Perlu masuk";
    case 403:
        return "Tidak diizinkan";
    case 404:
        return "Tidak ditemukan";
    case 405:
        return "Metode tidak didukung";
    case 413:
        return "Permintaan terlalu besar";
    case 415:
        return "Jenis isi tidak didukung";
    case 429:
        return "Terlalu banyak permintaan";
    case 502:
        return "Broker tidak menjawab";
    case 503:
        return "Layanan belum tersedia";
    default:
        return status >= 500 ? "Kesalahan server" : "Kesalahan";
    }
}

static const char *role_name(enum web_role r)
{
    switch (r) {
    case WEB_ROLE_EMPLOYEE:
        return "employee";
    case WEB_ROLE_SUPERVISOR:
        return "supervisor";
    case WEB_ROLE_OPERATOR:
        return "operator";
    default:
        return "none";
    }
}

void web_page_begin(struct web_req *rq, const char *title)
{
    struct buf *b = &rq->out;
    rq->ctype = "text/html; charset=utf-8";
    buf_puts(b, "<!doctype html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>");
    web_h(b, title);
    buf_puts(b, " — Kinerja</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
                "<script src=\"/static/app.js\" defer></script></head>\n");
    buf_printf(b,
               "<body data-live=\"%d\"><header class=\"top\"><nav>"
               "<a class=\"brand\" href=\"/\">Kinerja</a> <a href=\"/publik\">Publik</a>",
               rq->s.ok ? 1 : 0);
    if (rq->s.ok) {
        if (rq->s.role == WEB_ROLE_EMPLOYEE || rq->s.role == WEB_ROLE_SUPERVISOR)
            buf_puts(b, " <a href=\"/saya\">Kinerja saya</a>");
        if (rq->s.role == WEB_ROLE_SUPERVISOR)
            buf_puts(b, " <a href=\"/atasan\">Persetujuan</a> <a href=\"/atasan/banding\">Banding</a>");
        if (rq->s.role == WEB_ROLE_OPERATOR)
            buf_puts(b, " <a href=\"/operator\">Operator</a>");
        buf_puts(b, " <span class=\"who\">");
        web_h(b, rq->s.uid);
        buf_puts(b, "</span> <form class=\"inline\" method=\"post\" action=\"/logout\">");
        web_csrf_field(rq, b);
        buf_puts(b, "<button id=\"nav-logout\" type=\"submit\">Keluar</button></form>");
    } else {
        buf_puts(b, " <a href=\"/login\">Masuk</a>");
    }
    buf_puts(b, "</nav>");
    if (rq->s.ok)
        buf_puts(b, "<ul id=\"live\" aria-live=\"polite\"></ul>");
    buf_puts(b, "</header>\n<main>\n");
}

void web_page_end(struct web_req *rq)
{
    buf_puts(&rq->out,
             "\n</main><footer class=\"muted\">Kinerja — penilaian kinerja ASN</footer></body></html>\n");
}

void web_error(struct web_req *rq, int status, const char *msg)
{
    buf_reset(&rq->out);
    rq->status = status;
    rq->location[0] = '\0';
    if (rq->wants_json) {
        rq->ctype = "application/json";
        buf_puts(&rq->out, "{\"error\":\"");
        buf_json_escape(&rq->out, msg, strlen(msg));
        buf_puts(&rq->out, "\"}\n");
        return;
    }
    web_page_begin(rq, status_text(status));
    buf_printf(&rq->out, "<h1>%s</h1><p class=\"error\">", status_text(status));
    web_h(&rq->out, msg);
    buf_puts(&rq->out, "</p>");
    if (status == 401)
        buf_puts(&rq->out, "<p><a href=\"/login\">Masuk</a></p>");
    web_page_end(rq);
}

void web_redirect(struct web_req *rq, const char *location)
{
    if (!location || location[0] != '/' || location[1] == '/' || location[1] == '\\')
        location = "/";
    buf_reset(&rq->out);
    rq->status = 303;
    snprintf(rq->location, sizeof rq->location, "%s", location);
}

void web_json(struct web_req *rq, int status, struct buf *b)
{
    buf_reset(&rq->out);
    rq->status = status;
    rq->ctype = "application/json";
    buf_append(&rq->out, b->data, b->len);
    buf_putc(&rq->out, '\n');
    buf_reset(b);
}

void web_json_value(struct web_req *rq, int status, json_t *v)
{
    buf_reset(&rq->out);
    rq->status = status;
    rq->ctype = "application/json";
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    if (s) {
        buf_puts(&rq->out, s);
        buf_putc(&rq->out, '\n');
        free(s);
    } else {
        buf_puts(&rq->out, "{\"error\":\"out of memory\"}\n");
        rq->status = 500;
    }
    json_decref(v);
}

/* ---------------------------------------------------------------- sessions, CSRF */

static void b64url(const unsigned char *p, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void csrf_token(const struct web *w, const char *kind, const char *nonce, char out[WEB_TOKEN_MAX + 1])
{
    unsigned char mac[crypto_auth_BYTES];
    char msg[128];
    int n = snprintf(msg, sizeof msg, "csrf|%s|%s", kind, nonce);
    crypto_auth(mac, (const unsigned char *)msg, (unsigned long long)n, w->key);
    hex(mac, 24, out); /* 48 hex digits of the MAC */
}

static void append_cookie(struct web_req *rq, const char *name, const char *value, long long max_age)
{
    size_t used = strlen(rq->set_cookie);
    /* several cookies: the server splits on "\n" into several Set-Cookie headers */
    snprintf(rq->set_cookie + used, sizeof rq->set_cookie - used,
             "%s%s=%s; Path=/; HttpOnly; SameSite=Strict%s; Max-Age=%lld", used ? "\n" : "", name, value,
             rq->w->cookie_secure ? "; Secure" : "", max_age);
}

void web_session_start(struct web_req *rq, const char *uid, enum web_role role, long long epoch)
{
    struct web *w = rq->w;
    unsigned char nonce[NONCE_BYTES];
    randombytes_buf(nonce, sizeof nonce);
    char nonce_hex[2 * NONCE_BYTES + 1];
    hex(nonce, sizeof nonce, nonce_hex);
    char payload[256];
    int n = snprintf(payload, sizeof payload, "1|%s|%d|%lld|%lld|%s", uid, (int)role, epoch,
                     now_s() + w->session_ttl_s, nonce_hex);
    if (n < 0 || (size_t)n >= sizeof payload)
        return;
    unsigned char mac[crypto_auth_BYTES];
    crypto_auth(mac, (const unsigned char *)payload, (unsigned long long)n, w->key);
    char p64[400], m64[64], value[SESSION_MAX];
    b64url((const unsigned char *)payload, (size_t)n, p64, sizeof p64);
    b64url(mac, sizeof mac, m64, sizeof m64);
    snprintf(value, sizeof value, "%s.%s", p64, m64);
    append_cookie(rq, SESSION_COOKIE, value, w->session_ttl_s);
    rq->s.ok = true;
    snprintf(rq->s.uid, sizeof rq->s.uid, "%s", uid);
    rq->s.role = role;
    csrf_token(w, "s", nonce_hex, rq->s.csrf);
    log_info("signed in %s (%s) from %s", uid, role_name(role), rq->addr);
}

void web_session_end(struct web_req *rq)
{
    if (rq->s.ok)
        log_info("signed out %s", rq->s.uid);
    append_cookie(rq, SESSION_COOKIE, "", 0);
    memset(&rq->s, 0, sizeof rq->s);
}

static enum web_role role_of(enum user_role r)
{
    switch (r) {
    case USER_EMPLOYEE:
        return WEB_ROLE_EMPLOYEE;
    case USER_SUPERVISOR:
        return WEB_ROLE_SUPERVISOR;
    case USER_OPERATOR:
        return WEB_ROLE_OPERATOR;
    }
    return WEB_ROLE_NONE;
}

enum web_role web_role_of_user(int user_role)
{
    return role_of((enum user_role)user_role);
}

/* Reads and checks the session cookie: signature, expiry, and the account (enabled, same
 * epoch, same role) in the database. */
static void session_read(struct web_req *rq)
{
    memset(&rq->s, 0, sizeof rq->s);
    const char *v = web_cookie(rq, SESSION_COOKIE);
    if (!v || !*v || strlen(v) >= SESSION_MAX)
        return;
    const char *dot = strchr(v, '.');
    if (!dot)
        return;
    unsigned char payload[300], mac[crypto_auth_BYTES + 8];
    size_t plen = 0, mlen = 0;
    if (sodium_base642bin(payload, sizeof payload - 1, v, (size_t)(dot - v), NULL, &plen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        sodium_base642bin(mac, sizeof mac, dot + 1, strlen(dot + 1), NULL, &mlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        mlen != crypto_auth_BYTES || crypto_auth_verify(mac, payload, plen, rq->w->key) != 0)
        return;
    payload[plen] = '\0';
    char uid[WEB_ID_MAX + 1], nonce[2 * NONCE_BYTES + 1];
    int role, ver;
    long long epoch, expires;
    if (sscanf((const char *)payload, "%d|%64[A-Za-z0-9._:-]|%d|%lld|%lld|%32[0-9a-f]", &ver, uid, &role,
               &epoch, &expires, nonce) != 6 ||
        ver != 1 || expires < now_s())
        return;
    if (!rq->db)
        return;
    struct user_account u;
    char err[256];
    if (userstore_get(rq->db, uid, &u, err, sizeof err) != 0 || u.disabled || u.epoch != epoch ||
        (int)role_of(u.role) != role)
        return;
    rq->s.ok = true;
    snprintf(rq->s.uid, sizeof rq->s.uid, "%s", uid);
    rq->s.role = (enum web_role)role;
    csrf_token(rq->w, "s", nonce, rq->s.csrf);
}

void web_csrf_field(struct web_req *rq, struct buf *b)
{
    if (!rq->s.ok && !rq->s.csrf[0]) {
        const char *anon = web_cookie(rq, ANON_COOKIE);
        char nonce[2 * NONCE_BYTES + 1];
        if (anon && strlen(anon) == 2 * NONCE_BYTES && strspn(anon, "0123456789abcdef") == 2 * NONCE_BYTES) {
            memcpy(nonce, anon, sizeof nonce);
        } else {
            unsigned char r[NONCE_BYTES];
            randombytes_buf(r, sizeof r);
            hex(r, sizeof r, nonce);
            append_cookie(rq, ANON_COOKIE, nonce, 86400);
        }
        csrf_token(rq->w, "a", nonce, rq->s.csrf);
    }
    buf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
    web_h(b, rq->s.csrf);
    buf_puts(b, "\">");
}

bool web_csrf_ok(struct web_req *rq)
{
    char expect[WEB_TOKEN_MAX + 1];
    if (rq->s.ok) {
        memcpy(expect, rq->s.csrf, sizeof expect);
    } else {
        const char *anon = web_cookie(rq, ANON_COOKIE);
        if (!anon || strlen(anon) != 2 * NONCE_BYTES)
            return false;
        csrf_token(rq->w, "a", anon, expect);
    }
    char got[WEB_TOKEN_MAX + 1] = "";
    const char *h = web_header(rq, "X-CSRF-Token");
    if (h && strlen(h) < sizeof got) {
        memcpy(got, h, strlen(h) + 1);
    } else if (!web_form(rq, "csrf", got, sizeof got)) {
        json_t *j = strncmp(rq->content_type, "application/json", 16) == 0 ? web_json_body(rq) : NULL;
        const char *s = json_string_value(json_object_get(j, "csrf"));
        if (s && strlen(s) < sizeof got)
            memcpy(got, s, strlen(s) + 1);
        json_decref(j);
    }
    size_t n = strlen(expect);
    return n > 0 && strlen(got) == n && sodium_memcmp(got, expect, n) == 0;
}

bool web_require(struct web_req *rq, ...)
{
    if (!rq->s.ok) {
        if (rq->wants_json) {
            web_error(rq, 401, "not signed in");
        } else {
            char loc[400];
            struct buf b;
            buf_init(&b, 300);
            buf_puts(&b, "/login?next=");
            for (const char *p = rq->path; *p && b.len < 280; p++)
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    *p == '/' || *p == '-' || *p == '_' || *p == '.')
                    buf_putc(&b, *p);
            snprintf(loc, sizeof loc, "%.*s", (int)b.len, b.data ? b.data : "/login");
            buf_free(&b);
            web_redirect(rq, loc);
        }
        return false;
    }
    va_list ap;
    va_start(ap, rq);
    bool any = false, match = false;
    for (;;) {
        int r = va_arg(ap, int);
        if (r == WEB_ROLE_NONE)
            break;
        any = true;
        match = match || r == (int)rq->s.role;
    }
    va_end(ap);
    if (any && !match) {
        web_error(rq, 403, L(rq, "this page is not for your role", "halaman ini bukan untuk peran Anda"));
        return false;
    }
    return true;
}

bool web_may_read(struct web_req *rq, const char *nip)
{
    if (!rq->s.ok) {
        web_require(rq, WEB_ROLE_NONE);
        return false;
    }
    if (!rq->db) {
        web_error(rq, 503,
                  L(rq, "database unavailable", "basis data tidak dapat dihubungi; coba lagi sebentar lagi"));
        return false;
    }
    bool known = false;
    if (inboxstore_known(rq->db, nip, &known) != 0) {
        web_error(rq, 503,
                  L(rq, "database unavailable", "basis data tidak dapat dihubungi; coba lagi sebentar lagi"));
        return false;
    }
    if (!known) {
        web_error(rq, 404, L(rq, "no such employee", "pegawai tidak ditemukan"));
        return false;
    }
    enum user_relation rel = USER_REL_NONE;
    char err[256];
    if (userstore_relation(rq->db, rq->s.uid, nip, &rel, err, sizeof err) != 0) {
        web_error(rq, 503,
                  L(rq, "database unavailable", "basis data tidak dapat dihubungi; coba lagi sebentar lagi"));
        return false;
    }
    if (rel == USER_REL_NONE) {
        web_error(rq, 403,
                  L(rq, "you may see only your own results and your reports'",
                    "Anda hanya dapat melihat hasil Anda sendiri dan hasil bawahan Anda"));
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- events through the broker */

struct send_ctx {
    char *data;
    size_t len;
    const char *id;
    bool given;
    bool acked;
    enum sender_status st;
    char error[256];
};

static int send_next(void *ctx, struct sender_item *out)
{
    struct send_ctx *c = ctx;
    if (c->given)
        return 0;
    c->given = true;
    out->data = c->data;
    out->len = c->len;
    snprintf(out->id, sizeof out->id, "%s", c->id);
    out->tag = 0;
    c->data = NULL;
    return 1;
}

static void send_ack(void *ctx, const struct sender_item *item, enum sender_status st, const char *error,
                     double latency_ms)
{
    struct send_ctx *c = ctx;
    c->acked = true;
    c->st = st;
    snprintf(c->error, sizeof c->error, "%s", error ? error : "");
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static int pack_json(msgpack_packer *pk, json_t *v, int depth)
{
    if (depth > 3)
        return -1;
    if (json_is_string(v)) {
        pack_str(pk, json_string_value(v));
    } else if (json_is_integer(v)) {
        msgpack_pack_int64(pk, json_integer_value(v));
    } else if (json_is_real(v)) {
        msgpack_pack_double(pk, json_real_value(v));
    } else if (json_is_boolean(v)) {
        json_is_true(v) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    } else if (json_is_object(v)) {
        msgpack_pack_map(pk, json_object_size(v));
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            pack_str(pk, k);
            if (pack_json(pk, x, depth + 1) < 0)
                return -1;
        }
    } else {
        return -1;
    }
    return 0;
}

int web_send_event(struct web *w, const char *type, const char *source, json_t *fields, struct web_sent *out)
{
    memset(out, 0, sizeof *out);
    char id[UUID4_LEN];
    uuid4_generate(id);
    snprintf(out->id, sizeof out->id, "%s", id);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5 + (fields ? json_object_size(fields) : 0));
    pack_str(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "id");
    pack_str(&pk, id);
    pack_str(&pk, "type");
    pack_str(&pk, type);
    pack_str(&pk, "source");
    pack_str(&pk, source ? source : config_str(w->cfg, "web.source"));
    pack_str(&pk, "ts");
    msgpack_pack_int64(&pk, daemon_wall_ms());
    const char *k;
    json_t *x;
    int bad = 0;
    json_object_foreach(fields, k, x)
    {
        pack_str(&pk, k);
        bad |= pack_json(&pk, x, 1);
    }
    if (bad) {
        msgpack_sbuffer_destroy(&sb);
        snprintf(out->status, sizeof out->status, "rejected");
        snprintf(out->error, sizeof out->error, "a field has a type events cannot carry");
        return 0;
    }
    struct send_ctx c = {.data = malloc(sb.size ? sb.size : 1), .len = sb.size, .id = id};
    if (!c.data) {
        msgpack_sbuffer_destroy(&sb);
        snprintf(out->error, sizeof out->error, "out of memory");
        return -1;
    }
    memcpy(c.data, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);

    int timeout_ms = (int)config_int(w->cfg, "web.send_timeout_ms");
    struct sender_opts opts = {
        .endpoint = config_str(w->cfg, "intake.endpoint"),
        .batch = 1,
        .window = 1,
        .max_frame = (size_t)config_int(w->cfg, "intake.max_frame_bytes"),
        .timeout_ms = timeout_ms,
        .reply_timeout_ms = timeout_ms < 2000 ? timeout_ms : 2000,
    };
    clientkeys_apply(&w->keys, &opts);
    struct sender_counts counts;
    char err[256];
    int rc = sender_run(&opts, send_next, send_ack, &c, &counts, err, sizeof err);
    free(c.data);
    if (rc < 0) {
        snprintf(out->status, sizeof out->status, "unacked");
        snprintf(out->error, sizeof out->error, "%s", err);
        log_warn("%s %s: broker: %s", type, id, err);
        return -1;
    }
    static const char *const names[] = {"accepted", "duplicate", "rejected", "unacked"};
    enum sender_status st = c.acked ? c.st : SENDER_UNACKED;
    snprintf(out->status, sizeof out->status, "%s", names[st]);
    snprintf(out->error, sizeof out->error, "%s", c.error);
    if (st == SENDER_UNACKED && !out->error[0])
        snprintf(out->error, sizeof out->error, "no answer from the broker within %d ms", timeout_ms);
    log_msg(st == SENDER_ACCEPTED ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "%s %s %s%s%s", type, id, out->status,
            out->error[0] ? ": " : "", out->error);
    metric_inc(st == SENDER_ACCEPTED ? w->m->events_accepted : w->m->events_refused);
    return st == SENDER_UNACKED ? -1 : 0;
}

int web_send_event_wait(struct web_req *rq, const char *type, const char *source, json_t *fields, int wait_ms,
                        struct web_sent *out)
{
    int rc = web_send_event(rq->w, type, source, fields, out);
    if (rc != 0 || strcmp(out->status, "accepted") != 0 || !rq->db)
        return rc;
    snprintf(out->outcome, sizeof out->outcome, "pending");
    for (int waited = 0; waited <= wait_ms; waited += WAIT_STEP_MS) {
        enum inboxstore_outcome o;
        if (inboxstore_event_outcome(rq->db, out->id, &o, out->reason, sizeof out->reason) != 0)
            break;
        if (o != INBOXSTORE_NOT_YET) {
            snprintf(out->outcome, sizeof out->outcome, "%s", o == INBOXSTORE_STORED ? "stored" : "rejected");
            break;
        }
        sleep_ms(WAIT_STEP_MS);
    }
    return 0;
}

/* ---------------------------------------------------------------- live stream (SSE) */

struct sse {
    struct web *w;
    char uid[WEB_ID_MAX + 1];
    char since[64]; /* timestamptz text: the stream's start */
    char seen[SSE_SEEN][40];
    size_t nseen;
    struct buf pending;
    size_t sent; /* of pending */
    long long last_write_ms;
    bool first;
};

static bool sse_seen(struct sse *s, const char *id)
{
    for (size_t i = 0; i < s->nseen && i < SSE_SEEN; i++)
        if (strcmp(s->seen[i], id) == 0)
            return true;
    snprintf(s->seen[s->nseen % SSE_SEEN], sizeof s->seen[0], "%s", id);
    s->nseen++;
    return false;
}

static int sse_row(const PGresult *res, void *ctx)
{
    struct sse *s = ctx;
    const char *id = PQgetvalue(res, 0, 0);
    if (sse_seen(s, id))
        return 0;
    buf_printf(&s->pending, "id: %s\nevent: notification\ndata: ", id);
    buf_puts(&s->pending, PQgetvalue(res, 0, 1));
    buf_puts(&s->pending, "\n\n");
    return 0;
}

static void sse_poll(struct sse *s)
{
    struct pgstore *db = pool_get(s->w);
    if (!db)
        return;
    if (!s->since[0]) {
        PGresult *r = PQexec(db->conn, "SELECT now()::text");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            snprintf(s->since, sizeof s->since, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    } else {
        char lookback[16];
        snprintf(lookback, sizeof lookback, "%d", SSE_LOOKBACK_S);
        const char *params[] = {s->uid, s->since, lookback};
        pgstore_each_row(
            db, "live notifications",
            "SELECT id::text, json_build_object('id', id, 'type', kind, 'kind', kind, 'employee', employee, "
            "'period', period, 'version', version, 'created_at', created_at, 'payload', payload)::text "
            "FROM notifications WHERE recipient = $1 AND created_at >= $2::timestamptz "
            "AND created_at > now() - make_interval(secs => $3::int) ORDER BY created_at, id LIMIT 100",
            3, params, sse_row, s);
    }
    pool_put(s->w, db);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct sse *s = cls;
    if (s->first) {
        s->first = false;
        int n = snprintf(out, max, "retry: 3000\n: live\n\n");
        s->last_write_ms = daemon_now_ms();
        sse_poll(s);
        return n;
    }
    while (s->sent >= s->pending.len) {
        if (daemon_stopping)
            return MHD_CONTENT_READER_END_OF_STREAM;
        buf_reset(&s->pending);
        s->sent = 0;
        sse_poll(s);
        if (s->pending.len)
            break;
        if (daemon_now_ms() - s->last_write_ms >= SSE_KEEPALIVE_MS) {
            s->last_write_ms = daemon_now_ms();
            return snprintf(out, max, ": keepalive\n\n");
        }
        sleep_ms(SSE_POLL_MS);
    }
    size_t n = s->pending.len - s->sent;
    if (n > max)
        n = max;
    memcpy(out, s->pending.data + s->sent, n);
    s->sent += n;
    s->last_write_ms = daemon_now_ms();
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse *s = cls;
    metric_add(s->w->m->live_streams, -1);
    buf_free(&s->pending);
    free(s);
}

/* ---------------------------------------------------------------- the request cycle */

static void add_headers(struct web_req *rq, struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    MHD_add_response_header(r, "Cache-Control",
                            rq->cacheable && !rq->s.ok && !rq->set_cookie[0] ? "public, max-age=30"
                                                                             : "no-store");
    char *save = NULL, cookies[sizeof rq->set_cookie];
    memcpy(cookies, rq->set_cookie, sizeof cookies);
    for (char *c = strtok_r(cookies, "\n", &save); c; c = strtok_r(NULL, "\n", &save))
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, c);
}

static enum MHD_Result respond(struct MHD_Connection *c, struct web_req *rq)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        rq->out.len, rq->out.len ? rq->out.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rq->ctype);
    if (rq->location[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, rq->location);
    add_headers(rq, r);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rq->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t n)
{
    snprintf(out, n, "unknown");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    char host[64];
    if (getnameinfo(ci->client_addr,
                    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in),
                    host, sizeof host, NULL, 0, NI_NUMERICHOST) == 0)
        snprintf(out, n, "%s", host);
}

static enum MHD_Result start_stream(struct MHD_Connection *c, struct web_req *rq)
{
    struct sse *s = calloc(1, sizeof *s);
    if (!s)
        return MHD_NO;
    s->w = rq->w;
    s->first = true;
    snprintf(s->uid, sizeof s->uid, "%s", rq->s.uid);
    buf_init(&s->pending, 1 << 20);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_read, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    metric_add(rq->w->m->live_streams, 1);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    add_headers(rq, r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    struct web *w = cls;
    struct conn *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        buf_init(&st->body, WEB_BODY_MAX);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!st->too_big && buf_append(&st->body, upload_data, *upload_size) != 0)
            st->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }

    long long t0 = daemon_now_ms();
    struct web_req rq = {
        .w = w,
        .method = method,
        .path = url,
        .body = st->body.len ? st->body.data : "",
        .body_len = st->body.len,
        .cfg = w->cfg,
        .status = 200,
        .ctype = "text/html; charset=utf-8",
        .conn = c,
    };
    if (st->body.len)
        buf_putc(&st->body, '\0'), rq.body = st->body.data, st->body.len--;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    rq.content_type = ct ? ct : "";
    rq.wants_json = strncmp(url, "/api/", 5) == 0;
    client_addr(c, rq.addr, sizeof rq.addr);
    buf_init(&rq.out, WEB_OUT_MAX);
    metric_inc(w->m->requests);

    bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    enum MHD_Result ret;
    if (!is_get && strcmp(method, "POST") != 0) {
        web_error(&rq, 405, "only GET, HEAD and POST");
    } else if (st->too_big) {
        web_error(&rq, 413, "request body too large");
    } else {
        rq.db = pool_get(w);
        session_read(&rq);
        if (strcmp(url, "/api/v1/stream") == 0 && is_get) {
            if (!rq.s.ok) {
                web_error(&rq, 401, "not signed in");
            } else {
                pool_put(w, rq.db);
                rq.db = NULL;
                ret = start_stream(c, &rq);
                buf_free(&rq.out);
                log_debug("%s %s live stream for %s", method, url, rq.s.uid);
                return ret;
            }
        } else if (!api_dispatch(&rq) && !public_dispatch(&rq) && !pages_dispatch(&rq)) {
            web_error(&rq, 404, L(&rq, "no such page", "halaman tidak ditemukan"));
        }
        pool_put(w, rq.db);
        rq.db = NULL;
    }
    if (rq.status >= 500)
        metric_inc(w->m->errors);
    ret = respond(c, &rq);
    log_msg(rq.status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "%s %s %d %zu bytes %lld ms%s%s", method,
            url, rq.status, rq.out.len, daemon_now_ms() - t0, rq.s.ok ? " as " : "", rq.s.ok ? rq.s.uid : "");
    buf_free(&rq.out);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct conn *st = *con_cls;
    if (st) {
        buf_free(&st->body);
        free(st);
        *con_cls = NULL;
    }
}

/* ---------------------------------------------------------------- start, stop */

/* libmicrohttpd's own messages (a client that went away mid-stream, ...): debug lines. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("http: %s", line);
}

static int read_key(struct web *w, char *err, size_t errlen)
{
    const char *path = config_str(w->cfg, "web.session_key_file");
    if (!*path) {
        randombytes_buf(w->key, sizeof w->key);
        log_warn("web.session_key_file is empty: sessions are signed with a random key and end when "
                 "kinerja-web restarts");
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen,
                 "web.session_key_file %s: %s (make up creates it; or: head -c 32 /dev/urandom > %s)", path,
                 strerror(errno), path);
        return -1;
    }
    unsigned char raw[512];
    size_t n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    if (n < 32) {
        snprintf(err, errlen, "web.session_key_file %s: holds %zu bytes, at least 32 random bytes needed",
                 path, n);
        sodium_memzero(raw, sizeof raw);
        return -1;
    }
    crypto_generichash(w->key, sizeof w->key, raw, n, NULL, 0);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

static int parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= hostlen)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

struct web *web_server_start(const struct config *cfg, struct web_metrics *m, char *err, size_t errlen)
{
    struct web *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    w->m = m;
    w->session_ttl_s = config_int(cfg, "web.session_ttl_s");
    w->cookie_secure = config_bool(cfg, "web.cookie_secure");
    snprintf(w->public_url, sizeof w->public_url, "%s", config_str(cfg, "web.public_url"));
    size_t ul = strlen(w->public_url);
    while (ul > 0 && w->public_url[ul - 1] == '/')
        w->public_url[--ul] = '\0';
    pthread_mutex_init(&w->pool_mu, NULL);
    pthread_cond_init(&w->pool_cv, NULL);
    pthread_mutex_init(&w->rate_mu, NULL);
    w->pool_n = (size_t)config_int(cfg, "web.db_pool");
    w->pool = calloc(w->pool_n, sizeof *w->pool);
    w->pool_busy = calloc(w->pool_n, sizeof *w->pool_busy);
    w->pool_ready = calloc(w->pool_n, sizeof *w->pool_ready);
    w->rate = calloc(RATE_SLOTS, sizeof *w->rate);
    if (!w->pool || !w->pool_busy || !w->pool_ready || !w->rate) {
        snprintf(err, errlen, "out of memory");
        web_server_stop(&w);
        return NULL;
    }
    if (read_key(w, err, errlen) != 0 ||
        clientkeys_load_setting(cfg, "web.client_key_file", &w->keys, err, errlen) != 0) {
        web_server_stop(&w);
        return NULL;
    }

    char host[128];
    int port;
    if (parse_listen(config_str(cfg, "web.listen"), host, sizeof host, &port) != 0) {
        snprintf(err, errlen, "web.listen %s: want host:port", config_str(cfg, "web.listen"));
        web_server_stop(&w);
        return NULL;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "web.listen %s: the host must be an IPv4 address",
                 config_str(cfg, "web.listen"));
        web_server_stop(&w);
        return NULL;
    }
    w->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                                  MHD_USE_ERROR_LOG,
                              (uint16_t)port, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_done, w,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)config_int(cfg, "web.max_connections"),
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_LISTENING_ADDRESS_REUSE,
                              (unsigned)1, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!w->mhd) {
        snprintf(err, errlen, "web.listen %s: cannot listen (%s)", config_str(cfg, "web.listen"),
                 strerror(errno));
        web_server_stop(&w);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT);
    w->port = di ? di->port : port;
    return w;
}

void web_server_stop(struct web **wp)
{
    struct web *w = *wp;
    if (!w)
        return;
    if (w->mhd)
        MHD_stop_daemon(w->mhd); /* waits for every connection's thread */
    for (size_t i = 0; w->pool && i < w->pool_n; i++)
        pgstore_destroy(&w->pool[i]);
    free(w->pool);
    free(w->pool_busy);
    free(w->pool_ready);
    free(w->rate);
    clientkeys_clear(&w->keys);
    sodium_memzero(w->key, sizeof w->key);
    pthread_mutex_destroy(&w->pool_mu);
    pthread_cond_destroy(&w->pool_cv);
    pthread_mutex_destroy(&w->rate_mu);
    free(w);
    *wp = NULL;
}

void web_server_quiesce(struct web *w)
{
    if (w && w->mhd)
        MHD_quiesce_daemon(w->mhd); /* no new connections; the ones open finish */
}

void web_login_failed(struct web_req *rq, const char *id)
{
    metric_inc(rq->w->m->logins_failed);
    struct buf b;
    buf_init(&b, 256);
    for (const char *p = id; *p && b.len < WEB_ID_MAX; p++) /* printable ASCII only in the log */
        buf_putc(&b, (*p > 0x20 && *p < 0x7f) ? *p : '?');
    log_warn("sign-in failed for %.*s from %s", (int)b.len, b.data ? b.data : "", rq->addr);
    buf_free(&b);
}
