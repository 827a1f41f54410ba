/*
 * api: the JSON API under /api/v1 (SPEC 12, docs/API.md). Documents have the shapes of
 * the CLI's --json (common/views.h); errors are {"error": ...} with the status code.
 * Reads need a session (cookie from POST /api/v1/login) and the right relation to the
 * person asked about; actions also need the CSRF token (header X-CSRF-Token or the
 * field "csrf") and go to the broker as events.
 */
#include "server.h"
#include "userstore.h"
#include "views.h"
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/api/v1/"
#define API_WAIT_MS 5000 /* an action waits this long for the ingest worker's verdict */
#define API_SEG_MAX 4
#define API_SEG_LEN 80

/* Splits rest ("results/NIP/PERIOD") into at most API_SEG_MAX segments; -1 when a
 * segment is empty or too long or there are too many. */
static int api_split(const char *rest, char seg[API_SEG_MAX][API_SEG_LEN])
{
    int n = 0;
    const char *p = rest;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= API_SEG_LEN || n == API_SEG_MAX)
            return -1;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        p += len;
        if (*p == '/')
            p++;
    }
    return n;
}

/* Answers with the view's document, or its error. */
static void api_view(struct web_req *rq, int rc, struct buf *b, const char *err)
{
    if (rc == VIEW_OK)
        web_json(rq, 200, b);
    else if (rc == VIEW_NOT_FOUND)
        web_error(rq, 404, err[0] ? err : "not found");
    else
        web_error(rq, 503, err[0] ? err : "database unavailable");
}

static bool api_db(struct web_req *rq)
{
    if (rq->db)
        return true;
    web_error(rq, 503, "database unavailable");
    return false;
}

static bool api_get(struct web_req *rq)
{
    if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
        return true;
    web_error(rq, 405, "use GET");
    return false;
}

static bool api_post(struct web_req *rq)
{
    if (strcmp(rq->method, "POST") != 0) {
        web_error(rq, 405, "use POST");
        return false;
    }
    return true;
}

static json_t *api_me_doc(struct web_req *rq)
{
    static const char *const roles[] = {"none", "employee", "supervisor", "operator"};
    return json_pack("{s:s, s:s, s:s}", "id", rq->s.uid, "role", roles[rq->s.role], "csrf", rq->s.csrf);
}

/* POST /api/v1/login {"id": ..., "password": ...} */
static void api_login(struct web_req *rq)
{
    if (!api_post(rq) || !api_db(rq))
        return;
    /* JSON only: a cross-site form can send text/plain, never application/json */
    if (strncmp(rq->content_type, "application/json", 16) != 0) {
        web_error(rq, 415, "send the credentials as application/json");
        return;
    }
    json_t *j = web_json_body(rq);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!id)
        id = json_string_value(json_object_get(j, "nip"));
    const char *pw = json_string_value(json_object_get(j, "password"));
    if (!id || !pw || !user_id_valid(id) || strlen(pw) > USER_PASSWORD_MAX) {
        json_decref(j);
        web_error(rq, 400, "want {\"id\": ..., \"password\": ...}");
        return;
    }
    int max = (int)config_int(rq->cfg, "web.login_max");
    int max_id = max > 1 ? max / 2 : 1;
    if (!web_rate_check(rq->w, "login-addr", rq->addr, max, 900) ||
        !web_rate_check(rq->w, "login-id", id, max_id, 900)) {
        json_decref(j);
        web_error(rq, 429, "too many sign-in attempts; try again in 15 minutes");
        return;
    }
    struct user_account u;
    char err[256];
    int rc = userstore_get(rq->db, id, &u, err, sizeof err);
    bool ok = false;
    if (rc == 0)
        ok = userstore_verify(&u, pw);
    else
        userstore_verify_dummy(pw);
    if (rc < 0) {
        json_decref(j);
        web_error(rq, 503, "database unavailable");
        return;
    }
    if (!ok) {
        web_rate_allow(rq->w, "login-addr", rq->addr, max, 900); /* failures count */
        web_rate_allow(rq->w, "login-id", id, max_id, 900);
        web_login_failed(rq, id);
        json_decref(j);
        web_error(rq, 401, "wrong id or password");
        return;
    }
    web_session_start(rq, u.id, web_role_of_user((int)u.role), u.epoch);
    json_decref(j);
    web_json_value(rq, 200, api_me_doc(rq));
}

/* Sends an action and answers: 202 stored / pending, 409 refused by the worker, 422
 * refused by the broker, 502 broker unreachable. */
static void api_action(struct web_req *rq, const char *type, json_t *fields)
{
    struct web_sent s;
    int rc = web_send_event_wait(rq, type, NULL, fields, API_WAIT_MS, &s);
    json_decref(fields);
    if (rc < 0) {
        web_error(rq, 502, s.error[0] ? s.error : "the broker did not answer");
        return;
    }
    int status = 202;
    if (strcmp(s.status, "accepted") != 0)
        status = 422;
    else if (strcmp(s.outcome, "rejected") == 0)
        status = 409;
    json_t *doc = json_pack("{s:s, s:s}", "id", s.id, "status", s.status);
    if (s.error[0])
        json_object_set_new(doc, "error", json_string(s.error));
    if (s.outcome[0])
        json_object_set_new(doc, "outcome", json_string(s.outcome));
    if (s.reason[0])
        json_object_set_new(doc, "reason", json_string(s.reason));
    web_json_value(rq, status, doc);
}

/* Copies the string fields names[] from the request body into a new object; NULL (and
 * 400 set) when a required one is missing or not a string. */
static json_t *api_fields(struct web_req *rq, json_t *body, const char *const *required,
                          const char *const *optional)
{
    json_t *f = json_object();
    for (int pass = 0; pass < 2; pass++) {
        const char *const *names = pass ? optional : required;
        for (size_t i = 0; names && names[i]; i++) {
            json_t *v = json_object_get(body, names[i]);
            if (!v && pass)
                continue;
            if (!json_is_string(v) && !(json_is_integer(v) && strcmp(names[i], "version") == 0)) {
                char msg[128];
                snprintf(msg, sizeof msg, "%s: %s", names[i], v ? "must be a string" : "required");
                web_error(rq, 400, msg);
                json_decref(f);
                return NULL;
            }
            json_object_set(f, names[i], v);
        }
    }
    return f;
}

static void api_signoff(struct web_req *rq)
{
    if (!api_post(rq) || !web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE))
        return;
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "missing or wrong CSRF token");
        return;
    }
    json_t *body = web_json_body(rq);
    static const char *const req[] = {"employee", "period", "decision", "version", NULL};
    static const char *const opt[] = {"note", NULL};
    json_t *f = api_fields(rq, body, req, opt);
    json_decref(body);
    if (!f)
        return;
    if (!json_is_integer(json_object_get(f, "version"))) {
        json_decref(f);
        web_error(rq, 400, "version: must be an integer (the version being signed)");
        return;
    }
    json_object_set_new(f, "supervisor", json_string(rq->s.uid));
    api_action(rq, "signoff", f);
}

/* The supervisor's feedback note (umpan balik) to one of their staff: {employee, period,
 * text, value?}; the worker refuses it unless the signed-in person supervises them. */
static void api_feedback(struct web_req *rq)
{
    if (!api_post(rq) || !web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE))
        return;
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "missing or wrong CSRF token");
        return;
    }
    json_t *body = web_json_body(rq);
    static const char *const req[] = {"employee", "period", "text", NULL};
    static const char *const opt[] = {"value", NULL};
    json_t *f = api_fields(rq, body, req, opt);
    json_decref(body);
    if (!f)
        return;
    json_object_set_new(f, "supervisor", json_string(rq->s.uid));
    api_action(rq, "feedback", f);
}

static void api_appeal(struct web_req *rq)
{
    if (!api_post(rq) || !web_require(rq, WEB_ROLE_EMPLOYEE, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE))
        return;
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "missing or wrong CSRF token");
        return;
    }
    json_t *body = web_json_body(rq);
    static const char *const req[] = {"period", "reason", NULL};
    json_t *f = api_fields(rq, body, req, NULL);
    json_decref(body);
    if (!f)
        return;
    json_object_set_new(f, "employee", json_string(rq->s.uid));
    api_action(rq, "appeal", f);
}

static void api_decide(struct web_req *rq)
{
    if (!api_post(rq) || !web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE))
        return;
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "missing or wrong CSRF token");
        return;
    }
    json_t *body = web_json_body(rq);
    static const char *const req[] = {"employee", "period", "decision", NULL};
    static const char *const opt[] = {"predikat", "note", NULL};
    json_t *f = api_fields(rq, body, req, opt);
    json_decref(body);
    if (!f)
        return;
    json_object_set_new(f, "decider", json_string(rq->s.uid));
    api_action(rq, "appeal_decision", f);
}

static long api_long(struct web_req *rq, const char *name, long def, long lo, long hi)
{
    char v[32];
    if (!web_query(rq, name, v, sizeof v))
        return def;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi)
        return -1;
    return x;
}

bool api_dispatch(struct web_req *rq)
{
    const char *rest;
    if (!web_path_is(rq->path, API_PREFIX, &rest)) {
        if (web_path_is(rq->path, "/api/", NULL)) {
            web_error(rq, 404, "no such API route (the API is under /api/v1/)");
            return true;
        }
        return false;
    }
    char seg[API_SEG_MAX][API_SEG_LEN];
    int n = api_split(rest, seg);
    if (n <= 0) {
        web_error(rq, 404, "no such API route");
        return true;
    }
    const char *tz = web_time_zone(rq->w);
    struct buf b;
    buf_init(&b, WEB_OUT_MAX);
    char err[512] = "";

    if (n == 1 && strcmp(seg[0], "login") == 0) {
        api_login(rq);
    } else if (n == 1 && strcmp(seg[0], "logout") == 0) {
        if (api_post(rq) && web_require(rq, WEB_ROLE_NONE)) {
            if (!web_csrf_ok(rq)) {
                web_error(rq, 403, "missing or wrong CSRF token");
            } else {
                web_session_end(rq);
                web_json_value(rq, 200, json_pack("{s:b}", "signed_out", 1));
            }
        }
    } else if (n == 1 && strcmp(seg[0], "me") == 0) {
        if (api_get(rq) && web_require(rq, WEB_ROLE_NONE))
            web_json_value(rq, 200, api_me_doc(rq));
    } else if (n == 1 && strcmp(seg[0], "periods") == 0) {
        if (api_get(rq) && api_db(rq))
            api_view(rq, view_periods(rq->db, &b, err, sizeof err), &b, err);
    } else if (n >= 2 && n <= 3 && strcmp(seg[0], "results") == 0) {
        if (api_get(rq) && web_require(rq, WEB_ROLE_EMPLOYEE, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) &&
            web_may_read(rq, seg[1])) {
            if (n == 2) {
                api_view(rq, view_results(rq->db, seg[1], tz, &b, err, sizeof err), &b, err);
            } else {
                long version = api_long(rq, "version", 0, 1, 2147483647L);
                if (version < 0)
                    web_error(rq, 400, "version: must be a positive integer");
                else
                    api_view(rq, view_score(rq->db, seg[1], seg[2], (int)version, tz, &b, err, sizeof err),
                             &b, err);
            }
        }
    } else if (n == 1 && strcmp(seg[0], "queue") == 0) {
        if (api_get(rq) && web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) && api_db(rq))
            api_view(rq, view_queue(rq->db, rq->s.uid, tz, &b, err, sizeof err), &b, err);
    } else if (n == 1 && strcmp(seg[0], "inbox") == 0) {
        long limit = api_long(rq, "limit", 50, 0, 1000);
        if (limit < 0)
            web_error(rq, 400, "limit: must be an integer 0..1000");
        else if (api_get(rq) && web_require(rq, WEB_ROLE_NONE) && api_db(rq))
            api_view(rq, view_inbox(rq->db, rq->s.uid, limit, tz, &b, err, sizeof err), &b, err);
    } else if (n == 2 && strcmp(seg[0], "reports") == 0) {
        char period[16] = "", unit[64] = "", prov[8] = "";
        bool public_kind = strcmp(seg[1], "public") == 0;
        long top = api_long(rq, "top", 0, 1, 100000);
        if (!api_get(rq)) {
        } else if (!public_kind && !web_require(rq, WEB_ROLE_OPERATOR, WEB_ROLE_NONE)) {
        } else if (!web_query(rq, "period", period, sizeof period)) {
            web_error(rq, 400, "period: required (YYYY-MM, YYYY-Qn or YYYY)");
        } else if (top < 0) {
            web_error(rq, 400, "top: must be a positive integer");
        } else if (api_db(rq)) {
            web_query(rq, "unit", unit, sizeof unit);
            web_query(rq, "provisional", prov, sizeof prov);
            struct view_report_opts o = {
                .unit = unit[0] ? unit : NULL, .top = top, .provisional = prov[0] == '1'};
            int rc = view_report(rq->db, seg[1], period, &o, tz, &b, err, sizeof err);
            if (rc == VIEW_OK && public_kind)
                rq->cacheable = true;
            if (rc == VIEW_ERROR && strstr(err, "kind"))
                web_error(rq, 404, err);
            else
                api_view(rq, rc, &b, err);
        }
    } else if (n == 2 && strcmp(seg[0], "events") == 0) {
        if (api_get(rq) && web_require(rq, WEB_ROLE_OPERATOR, WEB_ROLE_NONE) && api_db(rq))
            api_view(rq, view_event(rq->db, seg[1], tz, &b, err, sizeof err), &b, err);
    } else if (n == 1 && strcmp(seg[0], "rejections") == 0) {
        long limit = api_long(rq, "limit", 100, 1, 1000);
        if (limit < 0)
            web_error(rq, 400, "limit: must be an integer 1..1000");
        else if (api_get(rq) && web_require(rq, WEB_ROLE_OPERATOR, WEB_ROLE_NONE) && api_db(rq))
            api_view(rq, view_rejections(rq->db, limit, tz, &b, err, sizeof err), &b, err);
    } else if (n == 1 && strcmp(seg[0], "status") == 0) {
        if (api_get(rq) && web_require(rq, WEB_ROLE_OPERATOR, WEB_ROLE_NONE))
            api_view(rq, view_status(rq->cfg, &b, err, sizeof err), &b, err);
    } else if (n == 1 && strcmp(seg[0], "signoff") == 0) {
        api_signoff(rq);
    } else if (n == 1 && strcmp(seg[0], "feedback") == 0) {
        api_feedback(rq);
    } else if (n == 1 && strcmp(seg[0], "appeal") == 0) {
        api_appeal(rq);
    } else if (n == 1 && strcmp(seg[0], "appeal_decision") == 0) {
        api_decide(rq);
    } else {
        web_error(rq, 404, "no such API route");
    }
    buf_free(&b);
    return true;
}
