/*
 * web: what every part of kinerja-web shares (SPEC 12). The server (web/server.c) owns
 * libmicrohttpd, the PostgreSQL connection pool, the session key, the rate limits and the
 * broker client; it reads each request (path, query, a bounded body, the session cookie),
 * borrows a database connection, and hands a struct web_req to the dispatchers in order:
 *
 *     api_dispatch     web/api.c     /api/v1/...            (JSON)
 *     public_dispatch  web/public.c  /, /publik..., /survey/..., /qr/...   (no login)
 *     pages_dispatch   web/pages.c   /login, /logout, /saya, /atasan, /operator, /static/...
 *
 * A dispatcher returns true when the path is its own (it has then set the response, an
 * error page included) and false to let the next one look. What nobody claims is 404.
 * The server adds the security headers to every response (CSP default-src 'self', no
 * framing, nosniff, no-store for signed-in pages) and logs one line per request.
 *
 * Output: handlers append to rq->out and set rq->status and rq->ctype (or call one of the
 * helpers below). Everything dynamic that goes into HTML passes through web_h (text and
 * attribute values alike); into JSON through buf_json_escape or jansson.
 *
 * Actions: every change (sign-off, return, appeal, appeal decision, citizen response,
 * survey) is an event sent through the broker with web_send_event, so the workers' checks
 * and the audit trail apply unchanged. Forms carry the CSRF token (web_csrf_field) and a
 * POST handler checks it (web_csrf_ok) before anything else.
 *
 * Threads: one thread per connection; a web_req and its db belong to that thread.
 */
#ifndef KINERJA_WEB_H
#define KINERJA_WEB_H

#include "buf.h"
#include "config.h"
#include "pgstore.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define WEB_BODY_MAX (64 * 1024)      /* largest request body read; larger is 413 */
#define WEB_OUT_MAX (8 * 1024 * 1024) /* largest response built */
#define WEB_ID_MAX 64                 /* a user id: NIP, evaluator id or operator name */
#define WEB_TOKEN_MAX 96              /* CSRF token text */
#define WEB_EVENT_ID_LEN 36           /* canonical UUID */

struct web; /* the server */

enum web_role { WEB_ROLE_NONE, WEB_ROLE_EMPLOYEE, WEB_ROLE_SUPERVISOR, WEB_ROLE_OPERATOR };

struct web_session {
    bool ok;                  /* signed in (valid cookie, account enabled, epoch current) */
    char uid[WEB_ID_MAX + 1]; /* the account id (an NIP for employees and supervisors) */
    enum web_role role;
    char csrf[WEB_TOKEN_MAX + 1]; /* the token this session's forms must carry */
};

struct web_req {
    struct web *w;
    const char *method; /* "GET", "HEAD", "POST" */
    const char *path;   /* as received, without the query; never NULL */
    const char *body;   /* POST body (NUL-terminated), "" when none */
    size_t body_len;
    const char *content_type; /* "" when none */
    bool wants_json;          /* path under /api/ */
    char addr[64];            /* the client's address as text (rate limits, logs) */
    struct web_session s;
    struct pgstore *db; /* borrowed for this request; NULL when PostgreSQL is unreachable */
    const struct config *cfg;

    /* the response */
    int status;           /* default 200 */
    const char *ctype;    /* default "text/html; charset=utf-8" */
    struct buf out;       /* the body (bounded by WEB_OUT_MAX) */
    char location[512];   /* set by web_redirect */
    char set_cookie[512]; /* set by the session code */
    bool cacheable;       /* public pages and static files may be cached briefly */

    void *conn; /* the server's, do not touch */
};

/* ---- request ---- */

/* The value of a query parameter (URL-decoded) into out; false when absent or too long. */
bool web_query(struct web_req *rq, const char *name, char *out, size_t outlen);
/* The value of a field of an application/x-www-form-urlencoded body, URL-decoded. */
bool web_form(struct web_req *rq, const char *name, char *out, size_t outlen);
/* The body parsed as a JSON object (NULL when it is not one); caller json_decref. */
json_t *web_json_body(struct web_req *rq);
/* A request header's value, or NULL. */
const char *web_header(struct web_req *rq, const char *name);
/* True when path starts with prefix; *rest then points after it. */
bool web_path_is(const char *path, const char *prefix, const char **rest);

/* ---- output ---- */

/* Appends s to b escaped for HTML text and attribute values (& < > " ' and control
 * characters other than tab/newline), invalid UTF-8 replaced by U+FFFD. NULL appends
 * nothing. Returns 0 or -1 when b is full. */
int web_h(struct buf *b, const char *s);
/* buf_printf then, for each %s argument, NO escaping: use only with constants and numbers;
 * every dynamic string goes through web_h. */
#define web_printf buf_printf

/* The page around the content: <!doctype html> ... <main> with the title (escaped), the
 * navigation for rq->s, /static/app.css and /static/app.js; web_page_end closes it. */
void web_page_begin(struct web_req *rq, const char *title);
void web_page_end(struct web_req *rq);

/* A complete error page, or for /api/ a {"error": msg} document, with that status. */
void web_error(struct web_req *rq, int status, const char *msg);
/* 303 See Other to a local path (must start with '/'). */
void web_redirect(struct web_req *rq, const char *location);
/* Sets a JSON response from a document already in b (moved; b is reset). */
void web_json(struct web_req *rq, int status, struct buf *b);
/* Sets a JSON response from a jansson value (stolen: decref'd here). */
void web_json_value(struct web_req *rq, int status, json_t *v);

/* ---- sessions, access ---- */

/* A hidden <input name="csrf"> with the session's token (or the anonymous token for the
 * public forms, bound to a short-lived cookie). */
void web_csrf_field(struct web_req *rq, struct buf *b);
/* The form field csrf, the JSON field "csrf" or the header X-CSRF-Token matches. */
bool web_csrf_ok(struct web_req *rq);
/* 401 (not signed in: pages redirect to /login?next=...) unless signed in with one of the
 * roles given (WEB_ROLE_NONE ends the list; no role given = any signed-in person).
 * Returns true when the request may go on. */
bool web_require(struct web_req *rq, ...);
/* Can the signed-in person read this employee's result? self, their supervisor, or the
 * supervisor's supervisor (who decides appeals). Sets 403/404 itself and returns false
 * when not (404 for an unknown employee). */
bool web_may_read(struct web_req *rq, const char *nip);
/* Signs rq in as account uid (after the password was verified): sets the cookie. */
void web_session_start(struct web_req *rq, const char *uid, enum web_role role, long long epoch);
void web_session_end(struct web_req *rq);

/* Fixed-window rate limit: true when key may do one more thing in bucket
 * (at most max per window_s seconds). Thread-safe; memory bounded. */
bool web_rate_allow(struct web *w, const char *bucket, const char *key, int max, int window_s);
/* The same question without counting (sign-in: check before, count failures only). */
bool web_rate_check(struct web *w, const char *bucket, const char *key, int max, int window_s);

/* ---- actions: events through the broker ---- */

struct web_sent {
    char id[WEB_EVENT_ID_LEN + 1]; /* the event id (a fresh UUID) */
    char status[16];               /* accepted | duplicate | rejected | retry | unacked */
    char error[256];               /* the broker's reason when rejected */
    char outcome[32];              /* after web_send_event_wait: stored | rejected | quarantined | pending */
    char reason[512];              /* the worker's reason when rejected */
};

/* Sends one event: the envelope (v, id, type, source, ts) is added here; fields is a JSON
 * object of the event's own fields (strings, integers, objects of integers for skm and
 * behaviour). source NULL means the web's own (`web.source`). Returns 0 when the broker
 * answered (see out->status), -1 when it could not be reached (out->error says why). */
int web_send_event(struct web *w, const char *type, const char *source, json_t *fields, struct web_sent *out);
/* web_send_event, then waits up to wait_ms for the ingest worker's verdict
 * (out->outcome / out->reason), as `kinerja signoff` does. */
int web_send_event_wait(struct web_req *rq, const char *type, const char *source, json_t *fields, int wait_ms,
                        struct web_sent *out);

/* ---- settings the handlers read ---- */
const char *web_public_url(const struct web *w); /* web.public_url: the base for QR codes */
const char *web_time_zone(const struct web *w);  /* time.zone */

/* ---- the dispatchers (one per file) ---- */
bool api_dispatch(struct web_req *rq);
bool public_dispatch(struct web_req *rq);
bool pages_dispatch(struct web_req *rq);

#endif
