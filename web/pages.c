/*
 * pages: the signed-in pages of kinerja-web (SPEC 12) and the sign-in itself.
 *
 *   GET/POST /login              the sign-in form; POST checks the password
 *   POST     /logout             ends the session
 *   GET      /saya               the employee's results
 *   GET      /saya/P             one result (breakdown, feedback, training, history) and
 *                                the appeal form while an appeal is possible
 *   POST     /saya/P/banding     files an appeal (keberatan): event `appeal`
 *   GET      /atasan             the pejabat penilai's sign-off queue with its warnings
 *   GET      /atasan/NIP/P       one subordinate's result and the sign-off form, pinned to
 *                                the version shown
 *   POST     /atasan/NIP/P/signoff  approve or return: event `signoff`
 *   POST     /atasan/NIP/P/feedback a feedback note to the employee: event `feedback`
 *   GET/POST /atasan/banding     appeals for which the signed-in person is the second line,
 *                                and their decision: event `appeal_decision`
 *   GET      /operator           pipeline status and the refused events with their reasons
 *   GET      /operator/event?id= where one event ended
 *   GET      /static/...         web/static.c
 *
 * Every page reads through common/views.h (the CLI's JSON documents, parsed with
 * jansson) or, for the list of appeals to decide, one parameterized query; every change
 * is an event through the broker (web_send_event_wait), so the workers decide and the
 * audit trail records it. After an action the browser is sent back to the page with
 * ?event=ID, and the page reads where that event ended (view_event): a p.notice when it
 * was stored, a p.error with the worker's reason when it was refused.
 *
 * Every dynamic string goes out through web_h; web_printf/buf_printf only carry constants
 * and numbers. Labels are Indonesian (SPEC 12); the codes of the JSON never reach a
 * person untranslated except where no label exists (then escaped).
 */
#include "server.h"
#include "web.h"

#include "event.h"
#include "inboxstore.h"
#include "log.h"
#include "resultstore.h"
#include "static.h"
#include "userstore.h"
#include "views.h"

#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES_VIEW_MAX (4u * 1024 * 1024) /* bound of one view document read */
#define PAGES_ERR_MAX 256
#define PAGES_MSG_MAX 1024        /* a notice or error shown on a page */
#define PAGES_NEXT_MAX 256        /* ?next= after the sign-in */
#define PAGES_SEG_MAX 72          /* one path segment (an NIP, a period, "banding") */
#define PAGES_SEGS 4              /* path segments after the section's prefix */
#define PAGES_PERIOD_MAX 16       /* "2026-Q4" and the like */
#define PAGES_LOCATION_MAX 256    /* a redirect target */
#define PAGES_LOGIN_ADDR_LIMIT 10 /* sign-in attempts per address ... */
#define PAGES_LOGIN_ID_LIMIT 5    /* ... and per account ... */
#define PAGES_LOGIN_WINDOW_S 900  /* ... per 15 minutes */
#define PAGES_LOG_ID_MAX 64       /* characters of a typed id in a log line */
#define PAGES_SEND_WAIT_MS 5000   /* how long an action waits for the ingest worker */
#define PAGES_INBOX_RECENT 10     /* notifications on /saya */
#define PAGES_INBOX_MISSING 200   /* notifications scanned for inputs_missing on /atasan */
#define PAGES_REJECTIONS 100      /* rows of table#rejections */
#define PAGES_APPEALS_MAX 500     /* appeals listed on /atasan/banding */
#define PAGES_COMMENTS_MAX 200    /* comments listed on a result */
#define PAGES_VERSION_TEXT_MAX 16 /* a version number as typed */
#define PAGES_TIME_TEXT 16        /* "YYYY-MM-DD HH:MM" of an ISO 8601 time */
#define PAGES_DATE_CHARS 10       /* "YYYY-MM-DD" */
#define PAGES_PERCENT 100.0
#define PAGES_SCALE_MAX 5  /* the BerAKHLAK scale is 1..5 */
#define PAGES_NAME_MAX 256 /* an employee's or unit's name as read */

/* ---------------------------------------------------------------- output */

/* Appends a constant (never a dynamic string: those go through web_h). */
static void out(struct web_req *rq, const char *constant)
{
    buf_puts(&rq->out, constant);
}

/* Appends text escaped for HTML. */
static void esc(struct web_req *rq, const char *s)
{
    web_h(&rq->out, s);
}

/* A number with two decimals, or the dash when absent. */
static void out_num(struct web_req *rq, json_t *v)
{
    if (json_is_number(v))
        web_printf(&rq->out, "%.2f", json_number_value(v));
    else
        out(rq, "&ndash;");
}

static const char *js(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long ji(json_t *o, const char *key, long long otherwise)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : otherwise;
}

/* A notice (success) and an error to show at the top of a page; either may be empty. */
struct pages_msg {
    char notice[PAGES_MSG_MAX];
    char error[PAGES_MSG_MAX];
};

static void pages_msg_render(struct web_req *rq, const struct pages_msg *m)
{
    if (m && m->notice[0]) {
        out(rq, "<p class=\"notice\" role=\"status\">");
        esc(rq, m->notice);
        out(rq, "</p>\n");
    }
    if (m && m->error[0]) {
        out(rq, "<p class=\"error\" role=\"alert\">");
        esc(rq, m->error);
        out(rq, "</p>\n");
    }
}

/* "2026-10-04 06:30" of "2026-10-04T06:30:00+07:00" in a <time> element. */
static void out_time(struct web_req *rq, const char *iso)
{
    if (!iso || strlen(iso) < PAGES_TIME_TEXT) {
        out(rq, "&ndash;");
        return;
    }
    char t[PAGES_TIME_TEXT + 1];
    memcpy(t, iso, PAGES_TIME_TEXT);
    t[PAGES_TIME_TEXT] = '\0';
    if (t[PAGES_DATE_CHARS] == 'T')
        t[PAGES_DATE_CHARS] = ' ';
    out(rq, "<time datetime=\"");
    esc(rq, iso);
    out(rq, "\">");
    esc(rq, t);
    out(rq, "</time>");
}

/* ---------------------------------------------------------------- labels */

struct pages_label {
    const char *code;
    const char *label;
};

static const char *pages_lookup(const struct pages_label *t, size_t n, const char *code)
{
    for (size_t i = 0; code && i < n; i++)
        if (!strcmp(t[i].code, code))
            return t[i].label;
    return NULL;
}

#define PAGES_LOOKUP(table, code) pages_lookup(table, sizeof table / sizeof table[0], code)

static const struct pages_label pages_states[] = {
    {"collecting", "Mengumpulkan masukan"},
    {"pending_signoff", "Menunggu tanda tangan pejabat penilai"},
    {"approved", "Disetujui"},
    {"returned", "Dikembalikan untuk diperbaiki"},
    {"appealed", "Dalam keberatan"},
    {"final", "Final"},
};

static const struct pages_label pages_ratings[] = {
    {"above", "Di atas ekspektasi"},
    {"meets", "Sesuai ekspektasi"},
    {"below", "Di bawah ekspektasi"},
    {"none", "Belum dapat dinilai"},
};

/* The seven BerAKHLAK values, in the order of event_behaviour_keys. */
static const struct pages_label pages_values[] = {
    {"berorientasi_pelayanan", "Berorientasi Pelayanan"},
    {"akuntabel", "Akuntabel"},
    {"kompeten", "Kompeten"},
    {"harmonis", "Harmonis"},
    {"loyal", "Loyal"},
    {"adaptif", "Adaptif"},
    {"kolaboratif", "Kolaboratif"},
};

/* The rater groups as the JSON names them, "others" being the pool of the small ones. */
static const struct pages_label pages_groups[] = {
    {"supervisor", "Atasan (pejabat penilai)"},
    {"peer", "Rekan kerja"},
    {"subordinate", "Bawahan"},
    {"citizen", "Masyarakat"},
    {"self", "Penilaian diri sendiri"},
    {"others", "Gabungan kelompok kecil"},
};

static const struct pages_label pages_kinds[] = {
    {"signoff_requested", "Permintaan tanda tangan"}, {"signoff_reminder", "Pengingat tanda tangan"},
    {"inputs_missing", "Masukan belum lengkap"},      {"result_approved", "Hasil disetujui"},
    {"result_returned", "Hasil dikembalikan"},        {"appeal_filed", "Keberatan diajukan"},
    {"appeal_decided", "Keberatan diputuskan"},       {"feedback_note", "Umpan balik dari atasan"},
};

static const struct pages_label pages_missing[] = {
    {"pejabat_penilai", "belum ada pejabat penilai"},
    {"supervisor_evaluation", "penilaian perilaku oleh atasan belum ada"},
    {"work_results", "realisasi SKP (hasil kerja) belum ada"},
    {"behaviour_ratings", "penilaian perilaku belum ada"},
};

static const struct pages_label pages_event_states[] = {
    {"stored", "Tersimpan"},
    {"rejected", "Ditolak"},
    {"quarantined", "Disisihkan (karantina)"},
    {"unknown", "Belum ada di PostgreSQL"},
};

static const struct pages_label pages_event_types[] = {
    {"citizen_feedback", "Tanggapan masyarakat"},
    {"evaluation", "Penilaian perilaku"},
    {"work_result", "Realisasi SKP"},
    {"signoff", "Tanda tangan"},
    {"appeal", "Keberatan"},
    {"appeal_decision", "Keputusan keberatan"},
    {"recalc", "Hitung ulang"},
};

/* The label, or the code itself (escaped by the caller) when there is none. */
static void out_label(struct web_req *rq, const struct pages_label *t, size_t n, const char *code)
{
    const char *label = pages_lookup(t, n, code);
    if (label)
        out(rq, label);
    else if (code)
        esc(rq, code);
    else
        out(rq, "&ndash;");
}

#define OUT_LABEL(rq, table, code) out_label(rq, table, sizeof table / sizeof table[0], code)

static void out_predikat(struct web_req *rq, const char *code)
{
    const char *label = resultstore_predikat_label(code);
    if (!label) {
        out(rq, "<span class=\"muted\">belum ditetapkan</span>");
        return;
    }
    web_printf(&rq->out, "<span class=\"pred-%s\">%s</span>",
               event_predikat_codes[resultstore_predikat_index(code)], label);
}

/* ---------------------------------------------------------------- requests */

static bool pages_is_get(const struct web_req *rq)
{
    return !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
}

static bool pages_is_post(const struct web_req *rq)
{
    return !strcmp(rq->method, "POST");
}

static void pages_method_refused(struct web_req *rq)
{
    web_error(rq, 405, "Metode ini tidak didukung untuk alamat tersebut");
}

/* 503 unless a database connection was lent to the request. */
static bool pages_need_db(struct web_req *rq)
{
    if (rq->db)
        return true;
    web_error(rq, 503, "Basis data sedang tidak dapat dihubungi; coba lagi sebentar lagi");
    return false;
}

static void pages_view_failed(struct web_req *rq, const char *what, const char *err)
{
    log_error("web %s: %s", what, err);
    web_error(rq, 500, "Data tidak dapat dibaca saat ini; coba lagi sebentar lagi");
}

/*
 * Parses the document a view_* call appended to b (rc is its return). VIEW_OK with
 * *doc set (the caller json_decref's it), VIEW_NOT_FOUND, or VIEW_ERROR with err set.
 * b is freed in every case.
 */
static int pages_doc(int rc, struct buf *b, json_t **doc, char *err, size_t errlen)
{
    *doc = NULL;
    if (rc == VIEW_OK) {
        json_error_t jerr;
        *doc = json_loadb(b->data ? b->data : "", b->len, 0, &jerr);
        if (!*doc) {
            snprintf(err, errlen, "view document: %s", jerr.text);
            rc = VIEW_ERROR;
        }
    }
    buf_free(b);
    return rc;
}

/* True when path is prefix or continues with '/'; *rest is then "" or "/..." ("/" alone
 * counts as ""). */
static bool pages_under(const char *path, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
        return false;
    *rest = path[n] == '/' && path[n + 1] == '\0' ? path + n + 1 : path + n;
    return true;
}

/* Splits "/a/b/c" into segs; the count, or -1 when there are more than PAGES_SEGS, one
 * is empty or too long. "" gives 0. */
static int pages_segments(const char *rest, char segs[PAGES_SEGS][PAGES_SEG_MAX])
{
    int n = 0;
    while (*rest == '/') {
        rest++;
        size_t len = strcspn(rest, "/");
        if (n == PAGES_SEGS || len == 0 || len >= PAGES_SEG_MAX)
            return -1;
        memcpy(segs[n], rest, len);
        segs[n][len] = '\0';
        n++;
        rest += len;
    }
    return *rest ? -1 : n;
}

static bool pages_valid_period(const char *p)
{
    return strlen(p) < PAGES_PERIOD_MAX && event_valid_period(p, strlen(p));
}

static bool pages_valid_nip(const char *p)
{
    return event_valid_nip(p, strlen(p));
}

enum pages_field { PAGES_FIELD_ABSENT, PAGES_FIELD_OK, PAGES_FIELD_TOO_LONG };

/*
 * A text field of the form into out (outlen bytes): ABSENT ("" in out) when the form has
 * no such field, TOO_LONG when it holds more than outlen - 1 bytes. web_form alone cannot
 * tell those apart, so the field is first read into a buffer as long as the body (a
 * decoded value is never longer than its encoding).
 */
static enum pages_field pages_form_text(struct web_req *rq, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    char *all = malloc(rq->body_len + 1);
    if (!all)
        return PAGES_FIELD_TOO_LONG;
    enum pages_field r = PAGES_FIELD_ABSENT;
    if (web_form(rq, name, all, rq->body_len + 1)) {
        size_t n = strlen(all);
        r = n < outlen ? PAGES_FIELD_OK : PAGES_FIELD_TOO_LONG;
        if (r == PAGES_FIELD_OK)
            memcpy(out, all, n + 1);
    }
    free(all);
    return r;
}

/* True when s holds something other than white space. */
static bool pages_has_text(const char *s)
{
    return s[strspn(s, " \t\r\n")] != '\0';
}

static const char *pages_home(enum web_role r)
{
    switch (r) {
    case WEB_ROLE_SUPERVISOR:
        return "/atasan";
    case WEB_ROLE_OPERATOR:
        return "/operator";
    case WEB_ROLE_EMPLOYEE:
    case WEB_ROLE_NONE:
        break;
    }
    return "/saya";
}

/*
 * Whether next is a path on this site that the sign-in may send the browser to: it
 * starts with one '/', holds no backslash (browsers read "/\host" as "//host"), no
 * control character, no space. Anything else would make the sign-in an open redirect.
 */
static bool pages_local_path(const char *next)
{
    if (next[0] != '/' || next[1] == '/' || next[1] == '\\')
        return false;
    for (const unsigned char *p = (const unsigned char *)next; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '\\')
            return false;
    return strlen(next) <= PAGES_NEXT_MAX;
}

/* A typed id made safe for one log line: at most PAGES_LOG_ID_MAX characters, anything
 * outside [A-Za-z0-9._:@-] as '?'. */
static void pages_log_id(const char *id, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = id; *p && k + 1 < n && k < PAGES_LOG_ID_MAX; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == ':' || c == '@' || c == '-';
        out[k++] = ok ? c : '?';
    }
    out[k] = '\0';
}

/* ---------------------------------------------------------------- people */

struct pages_person {
    bool found;
    char name[PAGES_NAME_MAX];
    char unit[PAGES_NAME_MAX];      /* code */
    char unit_name[PAGES_NAME_MAX]; /* "" when the unit has none */
};

static void pages_copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static int pages_person_row(const PGresult *row, void *ctx)
{
    struct pages_person *p = ctx;
    p->found = true;
    pages_copy(p->name, sizeof p->name, pgstore_text(row, 0, 0));
    pages_copy(p->unit, sizeof p->unit, pgstore_text(row, 0, 1));
    pages_copy(p->unit_name, sizeof p->unit_name, pgstore_text(row, 0, 2));
    return 0;
}

/* Name and unit of employee nip (p->found false when unknown). 0 or -1. */
static int pages_person_get(struct pgstore *db, const char *nip, struct pages_person *p)
{
    memset(p, 0, sizeof *p);
    const char *params[1] = {nip};
    return pgstore_each_row(
               db, "employee name",
               "SELECT e.name, e.unit, u.name FROM employees e LEFT JOIN units u ON u.code = e.unit"
               " WHERE e.nip = $1",
               1, params, pages_person_row, p) < 0
               ? -1
               : 0;
}

static void pages_person_render(struct web_req *rq, const char *nip, const struct pages_person *p)
{
    out(rq, "<p class=\"person\"><strong>");
    esc(rq, p->found ? p->name : nip);
    out(rq, "</strong> <span class=\"muted\">NIP <span class=\"mono\">");
    esc(rq, nip);
    out(rq, "</span></span>");
    if (p->found) {
        out(rq, "<br>Unit kerja: ");
        esc(rq, p->unit_name[0] ? p->unit_name : p->unit);
    }
    out(rq, "</p>\n");
}

static bool pages_relation(struct web_req *rq, const char *nip, enum user_relation *rel)
{
    char err[PAGES_ERR_MAX];
    if (userstore_relation(rq->db, rq->s.uid, nip, rel, err, sizeof err) < 0) {
        pages_view_failed(rq, "relation", err);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- actions */

/*
 * What a page says about the event it was sent back with (?event=ID): a notice when the
 * event is stored (or still on its way), an error with the worker's reason when it was
 * refused. Only events about employee (when given), or with second_line about someone
 * whose appeals the signed-in person decides, are described, so a link cannot make a
 * page show the fate of somebody else's event.
 */
static void pages_event_message(struct web_req *rq, const char *employee, bool second_line,
                                struct pages_msg *m)
{
    char id[WEB_EVENT_ID_LEN + 2];
    if (!web_query(rq, "event", id, sizeof id) || !event_valid_uuid(id, strlen(id)))
        return;
    char err[PAGES_ERR_MAX];
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    json_t *doc;
    if (pages_doc(view_event(rq->db, id, web_time_zone(rq->w), &b, err, sizeof err), &b, &doc, err,
                  sizeof err) != VIEW_OK) {
        log_warn("web event message %s: %s", id, err);
        return;
    }
    const char *state = js(doc, "state");
    const char *type = js(doc, "type");
    const char *who = js(doc, "employee");
    bool known = state && strcmp(state, "unknown") != 0;
    enum user_relation rel = USER_REL_NONE;
    if (known &&
        ((employee && (!who || strcmp(who, employee) != 0)) ||
         (second_line && (!who || userstore_relation(rq->db, rq->s.uid, who, &rel, err, sizeof err) < 0 ||
                          rel != USER_REL_SECOND_LINE)))) {
        json_decref(doc);
        return;
    }
    const char *reason = js(doc, "reason");
    if (!state || !strcmp(state, "unknown")) {
        snprintf(m->notice, sizeof m->notice, "Terkirim dan sedang diproses (nomor peristiwa %s).", id);
    } else if (!strcmp(state, "stored")) {
        const char *what = "Tercatat";
        if (type && !strcmp(type, "appeal"))
            what = "Keberatan Anda tercatat dan diteruskan kepada atasan pejabat penilai";
        else if (type && !strcmp(type, "signoff"))
            what = "Keputusan tanda tangan tercatat";
        else if (type && !strcmp(type, "appeal_decision"))
            what = "Keputusan keberatan tercatat";
        else if (type && !strcmp(type, "feedback"))
            what = "Umpan balik Anda tercatat dan dikirim kepada pegawai";
        snprintf(m->notice, sizeof m->notice, "%s (nomor peristiwa %s).", what, id);
    } else if (!strcmp(state, "rejected")) {
        snprintf(m->error, sizeof m->error, "Ditolak: %s", reason ? reason : "tanpa alasan tercatat");
    } else {
        snprintf(m->error, sizeof m->error, "Tersimpan tetapi belum dapat diproses: %s",
                 reason ? reason : "tanpa alasan tercatat");
    }
    json_decref(doc);
}

/*
 * Sends one workflow event and answers: a redirect to back?event=ID when the broker took
 * it (the page then says what the worker made of it); false with m->error and
 * rq->status set when it could not be sent, for the caller to show the page again.
 * fields is stolen.
 */
static bool pages_send(struct web_req *rq, const char *type, json_t *fields, const char *back,
                       struct pages_msg *m)
{
    struct web_sent sent;
    memset(&sent, 0, sizeof sent);
    bool built = fields != NULL;
    int rc = built ? web_send_event_wait(rq, type, NULL, fields, PAGES_SEND_WAIT_MS, &sent) : -1;
    json_decref(fields);
    if (rc < 0) {
        log_error("web %s: not sent: %s", type, built ? sent.error : "out of memory");
        snprintf(m->error, sizeof m->error,
                 "Tidak terkirim: layanan penerima sedang tidak dapat dihubungi (%s).",
                 sent.error[0] ? sent.error : "kehabisan memori");
        rq->status = 503;
        return false;
    }
    if (!strcmp(sent.status, "accepted") || !strcmp(sent.status, "duplicate")) {
        char loc[PAGES_LOCATION_MAX];
        snprintf(loc, sizeof loc, "%s?event=%s", back, sent.id);
        web_redirect(rq, loc);
        return true;
    }
    if (!strcmp(sent.status, "rejected")) {
        snprintf(m->error, sizeof m->error, "Ditolak: %s", sent.error[0] ? sent.error : "tanpa alasan");
        rq->status = 422;
    } else {
        snprintf(m->error, sizeof m->error,
                 "Belum terkirim: penyimpanan sedang tidak tersedia. Kirim ulang sebentar lagi.");
        rq->status = 503;
    }
    return false;
}

/* ---------------------------------------------------------------- a result */

static void pages_render_hasil(struct web_req *rq, json_t *h)
{
    out(rq, "<section id=\"hasil-kerja\"><h2>Hasil kerja</h2>\n<dl class=\"facts\"><dt>Capaian</dt><dd>");
    json_t *ach = json_object_get(h, "achievement");
    if (json_is_number(ach))
        web_printf(&rq->out, "%.2f%% dari %lld indikator", json_number_value(ach) * PAGES_PERCENT,
                   ji(h, "indicators", 0));
    else
        out(rq, "<span class=\"muted\">belum ada realisasi SKP</span>");
    out(rq, "</dd><dt>Penilaian</dt><dd>");
    OUT_LABEL(rq, pages_ratings, js(h, "rating"));
    if (json_is_true(json_object_get(h, "from_supervisor")))
        out(rq, " <span class=\"muted\">(penilaian pejabat penilai)</span>");
    out(rq, "</dd></dl>\n");
    json_t *detail = json_object_get(h, "detail");
    if (json_is_array(detail) && json_array_size(detail) > 0) {
        out(rq,
            "<div class=\"table-wrap\"><table id=\"indikator\" class=\"stack\"><caption>Indikator "
            "SKP</caption>"
            "<thead><tr><th>Indikator</th><th class=\"num\">Target</th><th class=\"num\">Realisasi</th>"
            "<th>Arah</th><th class=\"num\">Bobot</th><th class=\"num\">Capaian</th></tr></thead><tbody>\n");
        size_t i;
        json_t *row;
        json_array_foreach(detail, i, row)
        {
            const char *dir = js(row, "direction");
            out(rq, "<tr><td data-label=\"Indikator\">");
            esc(rq, js(row, "indicator"));
            out(rq, "</td><td class=\"num\" data-label=\"Target\">");
            out_num(rq, json_object_get(row, "target"));
            out(rq, "</td><td class=\"num\" data-label=\"Realisasi\">");
            out_num(rq, json_object_get(row, "realization"));
            out(rq, "</td><td data-label=\"Arah\">");
            out(rq,
                dir && !strcmp(dir, "lower_better") ? "makin rendah makin baik" : "makin tinggi makin baik");
            out(rq, "</td><td class=\"num\" data-label=\"Bobot\">");
            out_num(rq, json_object_get(row, "weight"));
            out(rq, "</td><td class=\"num\" data-label=\"Capaian\">");
            json_t *a = json_object_get(row, "achievement");
            if (json_is_number(a))
                web_printf(&rq->out, "%.2f%%", json_number_value(a) * PAGES_PERCENT);
            else
                out(rq, "&ndash;");
            out(rq, "</td></tr>\n");
        }
        out(rq, "</tbody></table></div>\n");
        long long omitted = ji(h, "detail_omitted", 0);
        if (omitted > 0)
            web_printf(&rq->out, "<p class=\"muted small\">%lld indikator lain tidak dirinci.</p>\n",
                       omitted);
    }
    out(rq, "</section>\n");
}

/*
 * The rater groups as the JSON gives them: a group that is null has no ratings; one with
 * shown false is hidden by the anonymity rule and shows only that (never n or a mean);
 * a shown group whose mean is null (the result is restricted: the figure would let a
 * reader work a hidden group out) shows its n only.
 */
static void pages_render_groups(struct web_req *rq, json_t *groups, long long anonymity_min)
{
    out(rq, "<div class=\"table-wrap\"><table id=\"kelompok\"><caption>Kelompok penilai</caption>"
            "<thead><tr><th>Kelompok</th><th class=\"num\">Penilai</th><th class=\"num\">Rata-rata</th>"
            "<th>Selang 95%</th></tr></thead><tbody>\n");
    for (size_t g = 0; g < sizeof pages_groups / sizeof pages_groups[0]; g++) {
        json_t *gr = json_object_get(groups, pages_groups[g].code);
        bool others = !strcmp(pages_groups[g].code, "others");
        if (others && !json_is_object(gr))
            continue;
        web_printf(&rq->out, "<tr data-group=\"%s\"><td>%s</td>", pages_groups[g].code,
                   pages_groups[g].label);
        if (!json_is_object(gr)) {
            out(rq, "<td colspan=\"3\" class=\"muted\">belum ada penilaian</td></tr>\n");
            continue;
        }
        if (!json_is_true(json_object_get(gr, "shown"))) {
            web_printf(
                &rq->out,
                "<td colspan=\"3\" class=\"muted\">disembunyikan (kurang dari %lld penilai)</td></tr>\n",
                anonymity_min);
            continue;
        }
        web_printf(&rq->out, "<td class=\"num\">%lld</td><td class=\"num\">", ji(gr, "n", 0));
        out_num(rq, json_object_get(gr, "mean"));
        out(rq, "</td><td>");
        json_t *ci = json_object_get(gr, "ci95");
        if (json_is_array(ci) && json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0)) &&
            json_is_number(json_array_get(ci, 1)))
            web_printf(&rq->out, "%.2f &ndash; %.2f", json_number_value(json_array_get(ci, 0)),
                       json_number_value(json_array_get(ci, 1)));
        else
            out(rq, "&ndash;");
        out(rq, "</td></tr>\n");
    }
    out(rq, "</tbody></table></div>\n");
}

/*
 * svg.chart: one bar per BerAKHLAK value on the 1..5 scale, the figures of table#perilaku
 * (nothing the table does not show). A value without a figure gets no bar.
 */
static void pages_render_values_chart(struct web_req *rq, json_t *values)
{
    const int label_w = 150, bar_w = 150, row_h = 26, top = 8;
    int rows = (int)(sizeof pages_values / sizeof pages_values[0]);
    int width = label_w + bar_w + 50, height = top + rows * row_h + 18;
    web_printf(&rq->out,
               "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"chart-perilaku\">"
               "<title id=\"chart-perilaku\">Nilai per perilaku BerAKHLAK (skala 1 sampai 5)</title>\n",
               width, height);
    for (int k = 0; k <= PAGES_SCALE_MAX; k++) /* grid lines at 0..5 */
        web_printf(&rq->out,
                   "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d0d7de\" stroke-width=\"1\"/>"
                   "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#57606a\">%d</text>\n",
                   label_w + k * bar_w / PAGES_SCALE_MAX, top, label_w + k * bar_w / PAGES_SCALE_MAX,
                   top + rows * row_h, label_w + k * bar_w / PAGES_SCALE_MAX, top + rows * row_h + 14, k);
    for (int j = 0; j < rows; j++) {
        json_t *v = json_object_get(values, pages_values[j].code);
        int y = top + j * row_h;
        web_printf(&rq->out, "<text x=\"0\" y=\"%d\" fill=\"#1b1f24\">%s</text>", y + row_h / 2 + 4,
                   pages_values[j].label);
        if (json_is_number(v)) {
            double x = json_number_value(v);
            if (x < 0)
                x = 0;
            if (x > PAGES_SCALE_MAX)
                x = PAGES_SCALE_MAX;
            double w = x / PAGES_SCALE_MAX * bar_w;
            web_printf(&rq->out,
                       "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#0b5cad\"/>"
                       "<text x=\"%.1f\" y=\"%d\" fill=\"#1b1f24\">%.2f</text>",
                       label_w, y + 4, w, row_h - 8, label_w + w + 4, y + row_h / 2 + 4, x);
        }
        out(rq, "\n");
    }
    out(rq, "</svg>\n");
}

static void pages_render_perilaku(struct web_req *rq, json_t *result)
{
    json_t *p = json_object_get(result, "perilaku");
    json_t *values = json_object_get(p, "values");
    json_t *breakdown = json_object_get(result, "breakdown");
    json_t *detail = json_object_get(breakdown, "values");
    long long anonymity_min = ji(json_object_get(breakdown, "params"), "anonymity_min", 3);

    out(rq, "<section id=\"perilaku-kerja\"><h2>Perilaku kerja (BerAKHLAK)</h2>\n<dl class=\"facts\">"
            "<dt>Nilai perilaku</dt><dd>");
    out_num(rq, json_object_get(p, "value"));
    out(rq, " <span class=\"muted\">(skala 1&ndash;5)</span></dd><dt>Penilaian</dt><dd>");
    OUT_LABEL(rq, pages_ratings, js(p, "rating"));
    out(rq, "</dd></dl>\n");

    out(rq, "<div class=\"table-wrap\"><table id=\"perilaku\"><caption>Nilai per perilaku</caption>"
            "<thead><tr><th>Perilaku</th><th class=\"num\">Nilai</th><th class=\"num\">Selisih penilaian "
            "diri</th>"
            "</tr></thead><tbody>\n");
    for (size_t j = 0; j < sizeof pages_values / sizeof pages_values[0]; j++) {
        json_t *d = json_object_get(detail, pages_values[j].code);
        web_printf(&rq->out, "<tr data-value=\"%s\"><td>%s</td><td class=\"num\">", pages_values[j].code,
                   pages_values[j].label);
        out_num(rq, json_object_get(values, pages_values[j].code));
        out(rq, "</td><td class=\"num\">");
        json_t *gap = json_object_get(d, "self_gap");
        if (json_is_number(gap))
            web_printf(&rq->out, "%+.2f", json_number_value(gap));
        else
            out(rq, "&ndash;");
        if (json_is_true(json_object_get(d, "calibration")))
            out(rq, " <span class=\"warning\">kalibrasi</span>");
        out(rq, "</td></tr>\n");
    }
    out(rq, "</tbody></table></div>\n");
    pages_render_values_chart(rq, values);

    pages_render_groups(rq, json_object_get(p, "groups"), anonymity_min);
    json_t *anon = json_object_get(breakdown, "anonymity");
    if (json_is_true(json_object_get(anon, "restricted")))
        out(rq, "<p class=\"muted small\">Hanya nilai gabungan yang ditampilkan: dengan angka atasan di "
                "sampingnya, penilaian kelompok yang disembunyikan dapat dihitung balik.</p>\n");
    else if (json_is_true(json_object_get(anon, "pooled")))
        out(rq, "<p class=\"muted small\">Kelompok dengan penilai terlalu sedikit digabung agar tidak dapat "
                "dikenali.</p>\n");

    json_t *cal = json_object_get(breakdown, "calibration_test");
    if (json_is_true(json_object_get(breakdown, "calibration"))) {
        out(rq, "<p><span class=\"warning\">Kalibrasi</span> Penilaian atasan berbeda nyata dari yang "
                "ditunjukkan penilai lain");
        json_t *z = json_object_get(cal, "z");
        if (json_is_number(z))
            web_printf(&rq->out, " (z = %+.2f dari %lld penilai lain)", json_number_value(z),
                       ji(cal, "n", 0));
        out(rq, "; bobotnya dikurangi sesuai uji tersebut.</p>\n");
    }
    out(rq, "</section>\n");
}

static void pages_render_citizens(struct web_req *rq, json_t *result)
{
    json_t *ikm = json_object_get(result, "ikm");
    json_t *sat = json_object_get(result, "satisfaction");
    out(rq, "<section id=\"masyarakat\"><h2>Tanggapan masyarakat</h2>\n<dl class=\"facts\">"
            "<dt>Indeks Kepuasan Masyarakat (IKM)</dt><dd>");
    if (json_is_object(ikm) && json_is_number(json_object_get(ikm, "value"))) {
        out_num(rq, json_object_get(ikm, "value"));
        const char *mutu = js(ikm, "mutu");
        const char *label = resultstore_mutu_label(mutu);
        out(rq, "</dd><dt>Mutu pelayanan</dt><dd>");
        if (label) {
            esc(rq, mutu);
            out(rq, " (");
            out(rq, label);
            out(rq, ")");
        } else {
            out(rq, "&ndash;");
        }
        web_printf(&rq->out, "</dd><dt>Jumlah responden</dt><dd>%lld", ji(ikm, "n", 0));
    } else {
        out(rq, "<span class=\"muted\">belum cukup survei SKM tentang pegawai ini</span>");
    }
    out(rq, "</dd><dt>Kepuasan (tombol penilaian)</dt><dd>");
    json_t *mean = json_object_get(sat, "mean");
    if (json_is_number(mean))
        web_printf(&rq->out, "%.2f dari 4 (%lld tanggapan)", json_number_value(mean), ji(sat, "n", 0));
    else if (ji(sat, "n", 0) > 0)
        web_printf(&rq->out, "<span class=\"muted\">disembunyikan (kurang dari %lld penilai)</span>",
                   ji(json_object_get(json_object_get(result, "breakdown"), "params"), "anonymity_min", 3));
    else
        out(rq, "<span class=\"muted\">belum ada</span>");
    out(rq, "</dd></dl></section>\n");
}

/*
 * The comments about one result: view_score's "comments" (common/views.c), which already
 * obey the anonymity rule (only the shown rater groups, labelled by group, never by rater,
 * in an order that points at no one).
 */
static void pages_render_feedback(struct web_req *rq, json_t *result)
{
    long long anonymity_min =
        ji(json_object_get(json_object_get(result, "breakdown"), "params"), "anonymity_min", 3);
    out(rq, "<section id=\"feedback\"><h2>Komentar dan masukan</h2>\n");
    json_t *comments = json_object_get(result, "comments");
    size_t n = json_is_array(comments) ? json_array_size(comments) : 0;
    for (size_t i = 0; i < n && i < PAGES_COMMENTS_MAX; i++) {
        json_t *c = json_array_get(comments, i);
        if (i == 0)
            out(rq, "<ul class=\"comments\">\n");
        out(rq, "<li class=\"comment\"><span class=\"muted\">");
        OUT_LABEL(rq, pages_groups, js(c, "group"));
        out(rq, ":</span> ");
        esc(rq, js(c, "text") ? js(c, "text") : "");
        out(rq, "</li>\n");
    }
    if (n > 0)
        out(rq, "</ul>\n");
    else
        out(rq, "<p class=\"muted\">Belum ada komentar yang dapat ditampilkan.</p>\n");
    web_printf(&rq->out,
               "<p class=\"muted small\">Komentar dari kelompok penilai dengan kurang dari %lld orang tidak "
               "ditampilkan, agar penilai tidak dapat dikenali.</p>\n</section>\n",
               anonymity_min);
}

static void pages_render_training(struct web_req *rq, json_t *training)
{
    out(rq, "<section id=\"training\"><h2>Rekomendasi pelatihan</h2>\n");
    if (!json_is_array(training) || json_array_size(training) == 0) {
        out(rq,
            "<p class=\"muted\">Tidak ada: setiap nilai perilaku di atas ambang pelatihan.</p></section>\n");
        return;
    }
    out(rq, "<ul>\n");
    size_t i;
    json_t *t;
    json_array_foreach(training, i, t)
    {
        out(rq, "<li><strong>");
        OUT_LABEL(rq, pages_values, js(t, "value"));
        out(rq, "</strong> (nilai ");
        out_num(rq, json_object_get(t, "mean"));
        out(rq, "): ");
        const char *course = js(t, "course");
        if (course)
            esc(rq, course);
        else
            out(rq, "<span class=\"muted\">belum ada pelatihan di katalog</span>");
        out(rq, "</li>\n");
    }
    out(rq, "</ul></section>\n");
}

/*
 * Why a version was written (score_versions.reason, common/scoreversion.c's English
 * texts) in Indonesian: the known forms translated, the ratings and predikat codes in
 * them labelled; anything else shown as it is (escaped).
 */
static void out_version_reason(struct web_req *rq, const char *why)
{
    static const struct pages_label fixed[] = {
        {"first version", "versi pertama"},
        {"inputs changed", "masukan pegawai berubah"},
        {"score now computed", "nilai kini dapat dihitung"},
        {"score no longer computed", "nilai tidak lagi dapat dihitung"},
        {"result changed (recorded before material versions)", "hasil berubah"},
    };
    static const struct pages_label prefixes[] = {
        {"predikat ", "predikat "}, {"hasil kerja ", "hasil kerja "}, {"perilaku ", "perilaku kerja "}};
    const char *label = PAGES_LOOKUP(fixed, why);
    if (label) {
        out(rq, label);
        return;
    }
    if (!strncmp(why, "score moved ", strlen("score moved "))) {
        out(rq, "nilai bergeser ");
        esc(rq, why + strlen("score moved "));
        return;
    }
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i].code);
        const char *arrow = strstr(why, " -> ");
        if (strncmp(why, prefixes[i].code, n) != 0 || !arrow || arrow < why + n)
            continue;
        char from[PAGES_SEG_MAX];
        snprintf(from, sizeof from, "%.*s", (int)(arrow - why - n), why + n);
        const char *to = arrow + strlen(" -> ");
        out(rq, prefixes[i].label);
        const char *a = PAGES_LOOKUP(pages_ratings, from), *b = PAGES_LOOKUP(pages_ratings, to);
        const char *pa = resultstore_predikat_label(from), *pb = resultstore_predikat_label(to);
        if (a || pa)
            out(rq, a ? a : pa);
        else
            esc(rq, from);
        out(rq, " &rarr; ");
        if (b || pb)
            out(rq, b ? b : pb);
        else
            esc(rq, to);
        return;
    }
    esc(rq, why);
}

/* " oleh ACTOR" and ": NOTE" when present. */
static void out_by(struct web_req *rq, const char *actor)
{
    if (actor && *actor) {
        out(rq, " oleh <span class=\"mono\">");
        esc(rq, actor);
        out(rq, "</span>");
    }
}

static void out_note(struct web_req *rq, const char *label, const char *note)
{
    if (note && *note) {
        out(rq, "; ");
        out(rq, label);
        out(rq, ": &ldquo;");
        esc(rq, note);
        out(rq, "&rdquo;");
    }
}

static void pages_render_history(struct web_req *rq, json_t *history)
{
    out(rq, "<section id=\"history\"><h2>Riwayat</h2>\n");
    if (!json_is_array(history) || json_array_size(history) == 0) {
        out(rq, "<p class=\"muted\">Belum ada riwayat.</p></section>\n");
        return;
    }
    out(rq, "<ol class=\"history\">\n");
    size_t i;
    json_t *e;
    json_array_foreach(history, i, e)
    {
        const char *what = js(e, "what");
        long long v = ji(e, "version", 0);
        out(rq, "<li data-what=\"");
        esc(rq, what);
        out(rq, "\">");
        out_time(rq, js(e, "at"));
        out(rq, " ");
        if (!what) {
            out(rq, "(tidak dikenal)");
        } else if (!strcmp(what, "version")) {
            web_printf(&rq->out, "Versi %lld dihitung: predikat ", v);
            out_predikat(rq, js(e, "predikat"));
            out(rq, ", nilai ");
            out_num(rq, json_object_get(e, "score"));
            const char *why = js(e, "reason");
            if (why && *why) {
                out(rq, " <span class=\"muted\">(");
                out_version_reason(rq, why);
                out(rq, ")</span>");
            }
        } else if (!strcmp(what, "created")) {
            out(rq, "Hasil dibuat");
        } else if (!strcmp(what, "signoff_requested")) {
            web_printf(&rq->out, "Tanda tangan diminta untuk versi %lld", v);
        } else if (!strcmp(what, "approved")) {
            web_printf(&rq->out, "Versi %lld disetujui", v);
            out_by(rq, js(e, "actor"));
            out_note(rq, "catatan", js(e, "note"));
        } else if (!strcmp(what, "returned")) {
            web_printf(&rq->out, "Versi %lld dikembalikan", v);
            out_by(rq, js(e, "actor"));
            out_note(rq, "catatan", js(e, "note"));
        } else if (!strcmp(what, "reopened")) {
            web_printf(&rq->out, "Versi %lld dibuka kembali", v);
            out_by(rq, js(e, "actor"));
            out_note(rq, "catatan", js(e, "note"));
        } else if (!strcmp(what, "collecting")) {
            out(rq, "Kembali mengumpulkan masukan");
            out_note(rq, "catatan", js(e, "note"));
        } else if (!strcmp(what, "appealed")) {
            web_printf(&rq->out, "Keberatan diajukan terhadap versi %lld", v);
            out_by(rq, js(e, "actor"));
            out_note(rq, "alasan", js(e, "reason"));
        } else if (!strcmp(what, "decided")) {
            const char *decision = js(e, "decision");
            out(rq, "Keberatan diputuskan");
            out_by(rq, js(e, "decider") ? js(e, "decider") : js(e, "actor"));
            if (decision && !strcmp(decision, "revise")) {
                out(rq, ": predikat direvisi menjadi ");
                out_predikat(rq, js(e, "predikat"));
            } else if (decision && !strcmp(decision, "uphold")) {
                out(rq, ": hasil dikuatkan");
            }
            out_note(rq, "catatan", js(e, "decision_note"));
        } else if (!strcmp(what, "final")) {
            out(rq, "Final (masa keberatan berakhir)");
        } else if (!strcmp(what, "feedback")) {
            const char *aspect = js(e, "value");
            out(rq, "Umpan balik dari atasan");
            if (aspect) {
                out(rq, " tentang ");
                if (!strcmp(aspect, "hasil_kerja"))
                    out(rq, "hasil kerja");
                else
                    OUT_LABEL(rq, pages_values, aspect);
            }
            out_by(rq, js(e, "actor"));
            out_note(rq, "isi", js(e, "note"));
        } else {
            esc(rq, what);
            out_by(rq, js(e, "actor"));
            out_note(rq, "catatan", js(e, "note"));
        }
        out(rq, "</li>\n");
    }
    out(rq, "</ol></section>\n");
}

/* The whole of one result (from view_score's document): summary, hasil kerja, perilaku,
 * citizens, feedback, training, history. */
static void pages_render_result(struct web_req *rq, json_t *doc)
{
    long long version = ji(doc, "version", 0);
    out(rq, "<section id=\"ringkasan\" class=\"card\"><dl class=\"facts\"><dt>Predikat</dt>"
            "<dd class=\"big\" id=\"predikat\">");
    out_predikat(rq, js(doc, "predikat"));
    out(rq, "</dd><dt>Nilai</dt><dd class=\"big\" id=\"score\">");
    out_num(rq, json_object_get(doc, "score"));
    out(rq, "</dd><dt>Status</dt><dd id=\"state\">");
    OUT_LABEL(rq, pages_states, js(doc, "state"));
    web_printf(&rq->out, "</dd><dt>Versi</dt><dd>%lld</dd></dl>\n", version);
    out(rq,
        "<p class=\"muted small\">Nilai 0&ndash;100 untuk peringkat di dalam predikat yang sama; predikat "
        "ditentukan oleh hasil kerja dan perilaku kerja (PermenPANRB 6/2022).</p></section>\n");
    pages_render_hasil(rq, json_object_get(doc, "hasil_kerja"));
    pages_render_perilaku(rq, doc);
    pages_render_citizens(rq, doc);
    pages_render_feedback(rq, doc);
    pages_render_training(rq, json_object_get(doc, "training"));
    pages_render_history(rq, json_object_get(doc, "history"));
}

/* Reads view_score for (nip, period); false when it answered (404 / 500) itself. */
static bool pages_load_score(struct web_req *rq, const char *nip, const char *period, json_t **doc)
{
    char err[PAGES_ERR_MAX];
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    int rc = pages_doc(view_score(rq->db, nip, period, 0, web_time_zone(rq->w), &b, err, sizeof err), &b, doc,
                       err, sizeof err);
    if (rc == VIEW_NOT_FOUND) {
        web_error(rq, 404, "Belum ada hasil untuk periode ini");
        return false;
    }
    if (rc != VIEW_OK) {
        pages_view_failed(rq, "score", err);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- sign-in */

static void pages_login_form(struct web_req *rq, const char *id, const char *next, const char *error)
{
    web_page_begin(rq, "Masuk");
    out(rq, "<h1>Masuk ke Kinerja</h1>\n");
    if (error) {
        out(rq, "<p class=\"error\" role=\"alert\">");
        esc(rq, error);
        out(rq, "</p>\n");
    }
    out(rq, "<form id=\"login\" method=\"post\" action=\"/login\">\n");
    web_csrf_field(rq, &rq->out);
    if (next && *next) {
        out(rq, "<input type=\"hidden\" name=\"next\" value=\"");
        esc(rq, next);
        out(rq, "\">\n");
    }
    out(rq,
        "<label for=\"nip\">NIP</label>\n<input id=\"nip\" name=\"nip\" type=\"text\" "
        "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required maxlength=\"64\" "
        "value=\"");
    esc(rq, id ? id : "");
    out(rq, "\">\n<label for=\"password\">Kata sandi</label>\n<input id=\"password\" name=\"password\" "
            "type=\"password\" autocomplete=\"current-password\" required maxlength=\"256\">\n"
            "<button id=\"login-submit\" type=\"submit\">Masuk</button>\n</form>\n"
            "<p class=\"muted small\">Lupa kata sandi? Hubungi operator kepegawaian di kantor Anda.</p>\n");
    web_page_end(rq);
}

static void pages_login_post(struct web_req *rq)
{
    char id[WEB_ID_MAX + 1] = "", next[PAGES_NEXT_MAX + 1] = "", logid[PAGES_LOG_ID_MAX + 1];
    char pw[USER_PASSWORD_MAX + 2]; /* one more than allowed: a longer one is refused */
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah: muat ulang halaman masuk lalu coba lagi");
        return;
    }
    bool have_id = web_form(rq, "nip", id, sizeof id);
    if (!have_id)
        id[0] = '\0';
    if (!web_form(rq, "next", next, sizeof next) || !pages_local_path(next))
        next[0] = '\0';
    pages_log_id(id, logid, sizeof logid);
    /* checked before the password, counted only when it fails (web.h): an office behind
     * one address signing in every morning is not locked out, a guesser is */
    if (!web_rate_check(rq->w, "login-addr", rq->addr, PAGES_LOGIN_ADDR_LIMIT, PAGES_LOGIN_WINDOW_S) ||
        !web_rate_check(rq->w, "login-id", id, PAGES_LOGIN_ID_LIMIT, PAGES_LOGIN_WINDOW_S)) {
        log_warn("login refused for %s from %s: too many attempts", logid, rq->addr);
        pages_login_form(rq, id, next, "Terlalu banyak percobaan masuk. Coba lagi dalam 15 menit.");
        rq->status = 429;
        return;
    }
    if (!pages_need_db(rq))
        return;
    bool have_pw = web_form(rq, "password", pw, sizeof pw);
    if (!have_pw)
        pw[0] = '\0';

    struct user_account u;
    char err[PAGES_ERR_MAX];
    int found = have_id && user_id_valid(id) ? userstore_get(rq->db, id, &u, err, sizeof err) : 1;
    bool ok = false;
    if (found == 0)
        ok = have_pw && userstore_verify(&u, pw);
    else
        userstore_verify_dummy(pw); /* the same work, so the time does not tell which ids exist */
    sodium_memzero(pw, sizeof pw);
    if (found < 0) {
        log_error("login: %s", err);
        web_error(rq, 503, "Masuk sedang tidak dapat diproses; coba lagi sebentar lagi");
        return;
    }
    if (!ok) {
        web_rate_allow(rq->w, "login-addr", rq->addr, PAGES_LOGIN_ADDR_LIMIT, PAGES_LOGIN_WINDOW_S);
        web_rate_allow(rq->w, "login-id", id, PAGES_LOGIN_ID_LIMIT, PAGES_LOGIN_WINDOW_S);
        log_warn("login failed for %s from %s", logid, rq->addr);
        pages_login_form(rq, id, next, "NIP atau kata sandi salah");
        rq->status = 401;
        sodium_memzero(&u, sizeof u);
        return;
    }
    enum web_role role = web_role_of_user((int)u.role);
    web_session_start(rq, u.id, role, u.epoch);
    log_info("login %s (%s) from %s", logid, user_role_name(u.role), rq->addr);
    sodium_memzero(&u, sizeof u);
    web_redirect(rq, next[0] ? next : pages_home(role));
}

static void pages_login(struct web_req *rq)
{
    if (pages_is_post(rq)) {
        pages_login_post(rq);
        return;
    }
    if (!pages_is_get(rq)) {
        pages_method_refused(rq);
        return;
    }
    char next[PAGES_NEXT_MAX + 1];
    if (!web_query(rq, "next", next, sizeof next) || !pages_local_path(next))
        next[0] = '\0';
    if (rq->s.ok) {
        web_redirect(rq, next[0] ? next : pages_home(rq->s.role));
        return;
    }
    pages_login_form(rq, "", next, NULL);
}

static void pages_logout(struct web_req *rq)
{
    if (!pages_is_post(rq)) {
        pages_method_refused(rq);
        return;
    }
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah: muat ulang halaman lalu coba lagi");
        return;
    }
    web_session_end(rq);
    web_redirect(rq, "/login");
}

/* ---------------------------------------------------------------- employee */

static void pages_recent_inbox(struct web_req *rq)
{
    char err[PAGES_ERR_MAX];
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    json_t *doc;
    if (pages_doc(
            view_inbox(rq->db, rq->s.uid, PAGES_INBOX_RECENT, web_time_zone(rq->w), &b, err, sizeof err), &b,
            &doc, err, sizeof err) != VIEW_OK)
        return;
    out(rq, "<section id=\"inbox\"><h2>Pemberitahuan terbaru</h2>\n");
    if (!json_is_array(doc) || json_array_size(doc) == 0) {
        out(rq, "<p class=\"muted\">Belum ada pemberitahuan.</p>\n");
    } else {
        out(rq, "<ul>\n");
        size_t i;
        json_t *n;
        json_array_foreach(doc, i, n)
        {
            out(rq, "<li>");
            out_time(rq, js(n, "created_at"));
            out(rq, " ");
            OUT_LABEL(rq, pages_kinds, js(n, "kind"));
            if (js(n, "period")) {
                out(rq, " &middot; periode ");
                esc(rq, js(n, "period"));
            }
            out(rq, "</li>\n");
        }
        out(rq, "</ul>\n");
    }
    out(rq, "</section>\n");
    json_decref(doc);
}

static void pages_saya_list(struct web_req *rq)
{
    char err[PAGES_ERR_MAX];
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    json_t *doc;
    int rc = pages_doc(view_results(rq->db, rq->s.uid, web_time_zone(rq->w), &b, err, sizeof err), &b, &doc,
                       err, sizeof err);
    if (rc == VIEW_NOT_FOUND) {
        /* a pejabat penilai who is not ASN (an evaluator, e.g. the regional head) has no
         * results of their own */
        web_page_begin(rq, "Hasil kinerja saya");
        out(rq,
            "<h1>Hasil kinerja saya</h1>\n<p>Akun ini tidak terhubung dengan data pegawai, jadi tidak ada "
            "hasil penilaian untuk ditampilkan.");
        if (rq->s.role == WEB_ROLE_SUPERVISOR)
            out(rq, " Hasil bawahan Anda ada di <a href=\"/atasan\">antrean tanda tangan</a>.");
        out(rq, "</p>\n");
        web_page_end(rq);
        return;
    }
    if (rc != VIEW_OK) {
        pages_view_failed(rq, "results", err);
        return;
    }
    web_page_begin(rq, "Hasil kinerja saya");
    out(rq, "<h1>Hasil kinerja saya</h1>\n<p class=\"person\"><strong>");
    esc(rq, js(doc, "name"));
    out(rq, "</strong> <span class=\"muted\">NIP <span class=\"mono\">");
    esc(rq, js(doc, "employee"));
    out(rq, "</span></span><br>Unit kerja: ");
    esc(rq, js(doc, "unit"));
    out(rq, "</p>\n");
    json_t *results = json_object_get(doc, "results");
    if (!json_is_array(results) || json_array_size(results) == 0) {
        out(rq, "<p class=\"muted\">Belum ada hasil penilaian.</p>\n");
    } else {
        out(rq,
            "<div class=\"table-wrap\"><table id=\"results\" "
            "class=\"stack\"><thead><tr><th>Periode</th><th>Predikat</th>"
            "<th class=\"num\">Nilai</th><th>Status</th><th class=\"num\">Versi</th></tr></thead><tbody>\n");
        size_t i;
        json_t *r;
        json_array_foreach(results, i, r)
        {
            const char *period = js(r, "period");
            if (!period || !pages_valid_period(period))
                continue;
            out(rq, "<tr><td data-label=\"Periode\"><a class=\"result-link\" href=\"/saya/");
            esc(rq, period);
            out(rq, "\">");
            esc(rq, period);
            out(rq, "</a></td><td data-label=\"Predikat\">");
            out_predikat(rq, js(r, "predikat"));
            out(rq, "</td><td class=\"num\" data-label=\"Nilai\">");
            out_num(rq, json_object_get(r, "score"));
            out(rq, "</td><td data-label=\"Status\">");
            OUT_LABEL(rq, pages_states, js(r, "state"));
            web_printf(&rq->out, "</td><td class=\"num\" data-label=\"Versi\">%lld</td></tr>\n",
                       ji(r, "version", 0));
        }
        out(rq, "</tbody></table></div>\n");
    }
    json_decref(doc);
    pages_recent_inbox(rq);
    web_page_end(rq);
}

static void pages_appeal_form(struct web_req *rq, const char *period, const char *state)
{
    if (state && !strcmp(state, "appealed")) {
        out(rq, "<section id=\"banding\"><h2>Keberatan</h2><p>Keberatan Anda sedang diperiksa oleh atasan "
                "pejabat penilai.</p></section>\n");
        return;
    }
    if (!state || strcmp(state, "approved") != 0)
        return;
    struct inboxstore_result r;
    memset(&r, 0, sizeof r);
    if (inboxstore_result(rq->db, rq->s.uid, period, &r) < 0)
        r.appeal_deadline[0] = '\0';
    out(rq,
        "<section id=\"banding\"><h2>Ajukan keberatan</h2>\n<p>Jika Anda tidak sependapat dengan hasil ini, "
        "ajukan keberatan beserta alasannya. Keberatan diputuskan oleh atasan pejabat penilai Anda.");
    if (r.appeal_deadline[0]) {
        out(rq, " Batas waktu: <strong>");
        esc(rq, r.appeal_deadline);
        out(rq, "</strong>.");
    }
    out(rq, "</p>\n<form id=\"appeal\" method=\"post\" action=\"/saya/");
    esc(rq, period);
    out(rq, "/banding\">\n");
    web_csrf_field(rq, &rq->out);
    web_printf(&rq->out,
               "<label for=\"appeal-reason\">Alasan keberatan</label>\n<textarea id=\"appeal-reason\" "
               "name=\"reason\" required maxlength=\"%d\"></textarea>\n<button id=\"appeal-submit\" "
               "type=\"submit\">Ajukan keberatan</button>\n</form></section>\n",
               EVENT_REASON_MAX);
}

static void pages_saya_result(struct web_req *rq, const char *period, struct pages_msg *m)
{
    if (!pages_valid_period(period)) {
        web_error(rq, 404, "Periode tidak dikenal");
        return;
    }
    json_t *doc;
    if (!pages_load_score(rq, rq->s.uid, period, &doc))
        return;
    struct pages_person who;
    if (pages_person_get(rq->db, rq->s.uid, &who) < 0)
        who.found = false;
    int status = rq->status;
    web_page_begin(rq, "Hasil kinerja");
    out(rq, "<p><a href=\"/saya\">&larr; Semua hasil</a></p>\n<h1>Hasil kinerja periode ");
    esc(rq, period);
    out(rq, "</h1>\n");
    pages_msg_render(rq, m);
    pages_person_render(rq, rq->s.uid, &who);
    pages_render_result(rq, doc);
    pages_appeal_form(rq, period, js(doc, "state"));
    web_page_end(rq);
    rq->status = status;
    json_decref(doc);
}

static void pages_saya_appeal(struct web_req *rq, const char *period)
{
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah: muat ulang halaman lalu coba lagi");
        return;
    }
    if (!web_require(rq, WEB_ROLE_EMPLOYEE, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) || !pages_need_db(rq))
        return;
    if (!pages_valid_period(period)) {
        web_error(rq, 404, "Periode tidak dikenal");
        return;
    }
    struct pages_msg m = {{0}, {0}};
    char reason[EVENT_REASON_MAX + 1];
    if (pages_form_text(rq, "reason", reason, sizeof reason) == PAGES_FIELD_TOO_LONG) {
        snprintf(m.error, sizeof m.error, "Alasan keberatan terlalu panjang (paling banyak %d bita).",
                 EVENT_REASON_MAX);
        rq->status = 400;
    } else if (!pages_has_text(reason)) {
        snprintf(m.error, sizeof m.error, "Alasan keberatan wajib diisi.");
        rq->status = 400;
    } else {
        char back[PAGES_LOCATION_MAX];
        snprintf(back, sizeof back, "/saya/%s", period);
        json_t *f = json_pack("{s:s, s:s, s:s}", "employee", rq->s.uid, "period", period, "reason", reason);
        if (pages_send(rq, "appeal", f, back, &m))
            return;
    }
    pages_saya_result(rq, period, &m);
}

static void pages_saya(struct web_req *rq, const char *rest)
{
    char segs[PAGES_SEGS][PAGES_SEG_MAX];
    int n = pages_segments(rest, segs);
    if (n == 2 && !strcmp(segs[1], "banding")) {
        if (!pages_is_post(rq)) {
            pages_method_refused(rq);
            return;
        }
        pages_saya_appeal(rq, segs[0]);
        return;
    }
    if (!pages_is_get(rq)) {
        pages_method_refused(rq);
        return;
    }
    if (!web_require(rq, WEB_ROLE_EMPLOYEE, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) || !pages_need_db(rq))
        return;
    if (n == 0) {
        pages_saya_list(rq);
    } else if (n == 1) {
        struct pages_msg m = {{0}, {0}};
        pages_event_message(rq, rq->s.uid, false, &m);
        pages_saya_result(rq, segs[0], &m);
    } else {
        web_error(rq, 404, "Halaman tidak ditemukan");
    }
}

/* ---------------------------------------------------------------- supervisor */

static void out_value_names(struct web_req *rq, json_t *arr, const struct pages_label *t, size_t n)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (i)
            out(rq, ", ");
        out_label(rq, t, n, json_string_value(v));
    }
}

/* The warnings of one queue entry as span.warning, from its highlights (the sign-off
 * request's: calibration and its values, hidden groups, late events, the curve rule). */
static void pages_queue_warnings(struct web_req *rq, json_t *q)
{
    json_t *h = json_object_get(q, "highlights");
    size_t shown = 0;
    if (json_is_true(json_object_get(q, "calibration")) || json_is_true(json_object_get(h, "calibration"))) {
        out(rq, "<span class=\"warning\">Kalibrasi: penilaian atasan ditandai");
        json_t *vals = json_object_get(h, "calibration_values");
        if (json_is_array(vals) && json_array_size(vals) > 0) {
            out(rq, " (");
            out_value_names(rq, vals, pages_values, sizeof pages_values / sizeof pages_values[0]);
            out(rq, ")");
        }
        out(rq, "</span> ");
        shown++;
    }
    json_t *hidden = json_object_get(h, "groups_hidden");
    if (json_is_array(hidden) && json_array_size(hidden) > 0) {
        out(rq, "<span class=\"warning\">Kelompok disembunyikan: ");
        out_value_names(rq, hidden, pages_groups, sizeof pages_groups / sizeof pages_groups[0]);
        out(rq, "</span> ");
        shown++;
    }
    long long late = ji(h, "late_events", 0);
    if (late > 0) {
        web_printf(&rq->out, "<span class=\"warning\">%lld masukan terlambat</span> ", late);
        shown++;
    }
    json_t *cv = json_object_get(h, "curve"); /* the rule the unit's distribution breaks (SPEC 5.10) */
    const char *curve = json_is_string(cv) ? json_string_value(cv)
                        : js(cv, "rule")   ? js(cv, "rule")
                                           : js(cv, "text");
    if (curve) {
        out(rq, "<span class=\"warning\">Kurva distribusi: ");
        esc(rq, curve);
        out(rq, "</span> ");
        shown++;
    }
    if (shown == 0)
        out(rq, "<span class=\"muted\">tidak ada</span>");
}

/* inputs_missing notifications of the supervisor: results the period close did not
 * offer for sign-off, with what is missing (newest per result). */
static void pages_missing_inputs(struct web_req *rq)
{
    char err[PAGES_ERR_MAX];
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    json_t *doc;
    if (pages_doc(
            view_inbox(rq->db, rq->s.uid, PAGES_INBOX_MISSING, web_time_zone(rq->w), &b, err, sizeof err), &b,
            &doc, err, sizeof err) != VIEW_OK)
        return;
    size_t i, shown = 0;
    json_t *n;
    json_array_foreach(doc, i, n)
    {
        const char *kind = js(n, "kind");
        json_t *p = json_object_get(n, "payload");
        const char *employee = js(n, "employee");
        if (!kind || strcmp(kind, "inputs_missing") != 0 || !employee || !strcmp(employee, rq->s.uid))
            continue;
        bool seen = false; /* newest first: an older one about the same result is skipped */
        for (size_t k = 0; k < i && !seen; k++) {
            json_t *o = json_array_get(doc, k);
            seen = js(o, "kind") && !strcmp(js(o, "kind"), "inputs_missing") && js(o, "employee") &&
                   !strcmp(js(o, "employee"), employee) && js(o, "period") && js(n, "period") &&
                   !strcmp(js(o, "period"), js(n, "period"));
        }
        if (seen)
            continue;
        if (shown++ == 0)
            out(rq,
                "<section id=\"missing\"><h2>Masukan belum lengkap</h2>\n<p class=\"muted\">Hasil berikut "
                "belum dapat ditandatangani saat periode ditutup.</p>\n<ul>\n");
        out(rq, "<li>");
        esc(rq, js(p, "name") ? js(p, "name") : employee);
        out(rq, " <span class=\"muted mono\">");
        esc(rq, employee);
        out(rq, "</span> &middot; periode ");
        esc(rq, js(n, "period"));
        out(rq, ": ");
        json_t *missing = json_object_get(p, "missing");
        size_t j;
        json_t *what;
        json_array_foreach(missing, j, what)
        {
            out(rq, "<span class=\"warning\">");
            OUT_LABEL(rq, pages_missing, json_string_value(what));
            out(rq, "</span> ");
        }
        out(rq, "</li>\n");
    }
    if (shown)
        out(rq, "</ul></section>\n");
    json_decref(doc);
}

static void pages_atasan_queue(struct web_req *rq)
{
    char err[PAGES_ERR_MAX];
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    json_t *doc;
    int rc = pages_doc(view_queue(rq->db, rq->s.uid, web_time_zone(rq->w), &b, err, sizeof err), &b, &doc,
                       err, sizeof err);
    if (rc != VIEW_OK) {
        pages_view_failed(rq, "queue", err);
        return;
    }
    web_page_begin(rq, "Antrean tanda tangan");
    out(rq, "<h1>Antrean tanda tangan</h1>\n");
    out(rq, "<p class=\"muted\">Hasil bawahan langsung Anda yang menunggu persetujuan, yang terlama di atas. "
            "Halaman ini diperbarui sendiri saat ada pemberitahuan baru.</p>\n");
    out(rq, "<div class=\"table-wrap\"><table id=\"queue\" "
            "class=\"stack\"><thead><tr><th>Pegawai</th><th>Periode</th>"
            "<th>Predikat</th><th class=\"num\">Nilai</th><th class=\"num\">Versi</th><th>Menunggu sejak</th>"
            "<th>Peringatan</th></tr></thead><tbody>\n");
    size_t i, rows = 0;
    json_t *q;
    json_array_foreach(doc, i, q)
    {
        const char *nip = js(q, "employee"), *period = js(q, "period");
        if (!nip || !period || !pages_valid_nip(nip) || !pages_valid_period(period))
            continue;
        rows++;
        out(rq, "<tr class=\"queue-row\" data-employee=\"");
        esc(rq, nip);
        out(rq, "\" data-period=\"");
        esc(rq, period);
        out(rq, "\"><td data-label=\"Pegawai\"><a class=\"review-link\" href=\"/atasan/");
        esc(rq, nip);
        out(rq, "/");
        esc(rq, period);
        out(rq, "\">");
        esc(rq, js(q, "name") ? js(q, "name") : nip);
        out(rq, "</a><br><span class=\"muted small mono\">");
        esc(rq, nip);
        out(rq, "</span></td><td data-label=\"Periode\">");
        esc(rq, period);
        out(rq, "</td><td data-label=\"Predikat\">");
        out_predikat(rq, js(q, "predikat"));
        out(rq, "</td><td class=\"num\" data-label=\"Nilai\">");
        out_num(rq, json_object_get(q, "score"));
        web_printf(&rq->out,
                   "</td><td class=\"num\" data-label=\"Versi\">%lld</td><td data-label=\"Menunggu\">",
                   ji(q, "version", 0));
        out_time(rq, js(q, "pending_since"));
        out(rq, "</td><td data-label=\"Peringatan\">");
        pages_queue_warnings(rq, q);
        out(rq, "</td></tr>\n");
    }
    if (rows == 0)
        out(rq, "<tr><td colspan=\"7\" class=\"muted\">Tidak ada hasil yang menunggu tanda tangan "
                "Anda.</td></tr>\n");
    out(rq, "</tbody></table></div>\n");
    json_decref(doc);
    pages_missing_inputs(rq);
    web_page_end(rq);
}

static void pages_signoff_form(struct web_req *rq, const char *nip, const char *period, json_t *doc,
                               enum user_relation rel)
{
    const char *state = js(doc, "state");
    long long version = ji(doc, "version", 0);
    out(rq, "<section id=\"tanda-tangan\"><h2>Tanda tangan pejabat penilai</h2>\n");
    if (rel != USER_REL_SUPERVISOR) {
        out(rq, "<p class=\"muted\">Hanya pejabat penilai langsung yang dapat menyetujui atau mengembalikan "
                "hasil ini.");
        if (rel == USER_REL_SECOND_LINE && state && !strcmp(state, "appealed"))
            out(rq,
                " Keberatannya dapat Anda putuskan di <a href=\"/atasan/banding\">halaman keberatan</a>.");
        out(rq, "</p></section>\n");
        return;
    }
    if (state && !strcmp(state, "approved")) {
        /* SPEC 6: before it is final the pejabat penilai may reopen an approved result to
         * take late inputs in: a `return` of the approved version */
        web_printf(
            &rq->out,
            "<p>Versi %lld sudah Anda setujui. Sampai hasil menjadi final, Anda dapat membukanya kembali "
            "agar masukan yang terlambat ikut dihitung; versi baru akan diajukan lagi untuk "
            "ditandatangani.</p>\n<form id=\"reopen\" method=\"post\" action=\"/atasan/",
            version);
        esc(rq, nip);
        out(rq, "/");
        esc(rq, period);
        out(rq, "/signoff\">\n");
        web_csrf_field(rq, &rq->out);
        web_printf(
            &rq->out,
            "<input type=\"hidden\" name=\"version\" value=\"%lld\">\n<label for=\"reopen-note\">Alasan "
            "membuka kembali</label>\n<textarea id=\"reopen-note\" name=\"note\" "
            "maxlength=\"%d\"></textarea>\n"
            "<button id=\"reopen-submit\" class=\"secondary\" type=\"submit\" name=\"decision\" "
            "value=\"return\">Buka kembali</button>\n</form></section>\n",
            version, EVENT_COMMENT_MAX);
        return;
    }
    if (!state || strcmp(state, "pending_signoff") != 0) {
        out(rq, "<p class=\"muted\">Hasil ini tidak sedang menunggu tanda tangan (status: ");
        OUT_LABEL(rq, pages_states, state);
        out(rq, ").</p></section>\n");
        return;
    }
    web_printf(
        &rq->out,
        "<p>Versi yang Anda tanda tangani: <strong id=\"version\">%lld</strong>. Jika hasil berubah "
        "sebelum Anda mengirim, tanda tangan untuk versi ini ditolak dan versi baru ditampilkan.</p>\n",
        version);
    out(rq, "<form id=\"signoff\" method=\"post\" action=\"/atasan/");
    esc(rq, nip);
    out(rq, "/");
    esc(rq, period);
    out(rq, "/signoff\">\n");
    web_csrf_field(rq, &rq->out);
    web_printf(
        &rq->out,
        "<input type=\"hidden\" name=\"version\" value=\"%lld\">\n<label for=\"note\">Catatan "
        "(opsional)</label>\n<textarea id=\"note\" name=\"note\" "
        "maxlength=\"%d\"></textarea>\n"
        "<button id=\"approve\" type=\"submit\" name=\"decision\" value=\"approve\">Setujui</button>\n"
        "<button id=\"return\" type=\"submit\" name=\"decision\" value=\"return\">Kembalikan</button>\n"
        "</form></section>\n",
        version, EVENT_COMMENT_MAX);
}

/* The supervisor's feedback note (umpan balik, event `feedback`): any time in the period,
 * whatever the result's state; it changes no score. */
static void pages_feedback_form(struct web_req *rq, const char *nip, const char *period,
                                enum user_relation rel)
{
    if (rel != USER_REL_SUPERVISOR)
        return;
    out(rq,
        "<section id=\"umpan-balik-atasan\"><h2>Umpan balik untuk pegawai</h2>\n"
        "<p class=\"muted\">Catatan Anda dikirim kepada pegawai dan tercatat dalam riwayat hasil ini; "
        "catatan tidak mengubah nilai.</p>\n<form id=\"feedback-note\" method=\"post\" action=\"/atasan/");
    esc(rq, nip);
    out(rq, "/");
    esc(rq, period);
    out(rq, "/feedback\">\n");
    web_csrf_field(rq, &rq->out);
    out(rq, "<label for=\"feedback-value\">Tentang</label>\n<select id=\"feedback-value\" name=\"value\">\n"
            "<option value=\"\">(umum)</option>\n<option value=\"hasil_kerja\">Hasil kerja</option>\n");
    for (size_t j = 0; j < sizeof pages_values / sizeof pages_values[0]; j++)
        web_printf(&rq->out, "<option value=\"%s\">%s</option>\n", pages_values[j].code,
                   pages_values[j].label);
    web_printf(
        &rq->out,
        "</select>\n<label for=\"feedback-text\">Catatan</label>\n<textarea id=\"feedback-text\" "
        "name=\"text\" maxlength=\"%d\" required></textarea>\n"
        "<button id=\"feedback-submit\" class=\"secondary\" type=\"submit\">Kirim umpan balik</button>\n"
        "</form></section>\n",
        EVENT_COMMENT_MAX);
}

static void pages_atasan_review(struct web_req *rq, const char *nip, const char *period, struct pages_msg *m)
{
    if (!pages_valid_nip(nip) || !pages_valid_period(period)) {
        web_error(rq, 404, "Pegawai atau periode tidak dikenal");
        return;
    }
    if (!web_may_read(rq, nip))
        return;
    enum user_relation rel;
    if (!pages_relation(rq, nip, &rel))
        return;
    json_t *doc;
    if (!pages_load_score(rq, nip, period, &doc))
        return;
    struct pages_person who;
    if (pages_person_get(rq->db, nip, &who) < 0)
        who.found = false;
    int status = rq->status;
    web_page_begin(rq, "Tinjau hasil");
    out(rq, "<p><a href=\"/atasan\">&larr; Antrean tanda tangan</a></p>\n<h1>Hasil kinerja periode ");
    esc(rq, period);
    out(rq, "</h1>\n");
    pages_msg_render(rq, m);
    pages_person_render(rq, nip, &who);
    pages_signoff_form(rq, nip, period, doc, rel);
    pages_feedback_form(rq, nip, period, rel);
    pages_render_result(rq, doc);
    web_page_end(rq);
    rq->status = status;
    json_decref(doc);
}

static bool pages_parse_version(const char *s, long long *out)
{
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return false;
    long long v = strtoll(s, &end, 10);
    if (*end || v < 1 || v > INT_MAX)
        return false;
    *out = v;
    return true;
}

static void pages_atasan_signoff(struct web_req *rq, const char *nip, const char *period)
{
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah: muat ulang halaman lalu coba lagi");
        return;
    }
    if (!web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) || !pages_need_db(rq))
        return;
    if (!pages_valid_nip(nip) || !pages_valid_period(period)) {
        web_error(rq, 404, "Pegawai atau periode tidak dikenal");
        return;
    }
    enum user_relation rel;
    if (!pages_relation(rq, nip, &rel))
        return;
    if (rel != USER_REL_SUPERVISOR) {
        web_error(rq, 403, "Hanya pejabat penilai langsung yang dapat menandatangani hasil ini");
        return;
    }
    struct pages_msg m = {{0}, {0}};
    char decision[16], vtext[PAGES_VERSION_TEXT_MAX], note[EVENT_COMMENT_MAX + 1];
    long long version = 0;
    if (!web_form(rq, "decision", decision, sizeof decision) ||
        (strcmp(decision, "approve") != 0 && strcmp(decision, "return") != 0)) {
        snprintf(m.error, sizeof m.error, "Keputusan harus Setujui atau Kembalikan.");
        rq->status = 400;
    } else if (!web_form(rq, "version", vtext, sizeof vtext) || !pages_parse_version(vtext, &version)) {
        snprintf(m.error, sizeof m.error, "Versi yang ditandatangani tidak sah: muat ulang halaman.");
        rq->status = 400;
    } else if (pages_form_text(rq, "note", note, sizeof note) == PAGES_FIELD_TOO_LONG) {
        snprintf(m.error, sizeof m.error, "Catatan terlalu panjang (paling banyak %d bita).",
                 EVENT_COMMENT_MAX);
        rq->status = 400;
    } else {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:I}", "employee", nip, "period", period, "supervisor",
                              rq->s.uid, "decision", decision, "version", (json_int_t)version);
        if (f && pages_has_text(note) && json_object_set_new(f, "note", json_string(note)) < 0) {
            json_decref(f);
            f = NULL;
        }
        char back[PAGES_LOCATION_MAX];
        snprintf(back, sizeof back, "/atasan/%s/%s", nip, period);
        if (pages_send(rq, "signoff", f, back, &m))
            return;
    }
    pages_atasan_review(rq, nip, period, &m);
}

static bool pages_feedback_value_known(const char *v)
{
    if (!strcmp(v, "hasil_kerja"))
        return true;
    return PAGES_LOOKUP(pages_values, v) != NULL;
}

static void pages_atasan_feedback(struct web_req *rq, const char *nip, const char *period)
{
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah: muat ulang halaman lalu coba lagi");
        return;
    }
    if (!web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) || !pages_need_db(rq))
        return;
    if (!pages_valid_nip(nip) || !pages_valid_period(period)) {
        web_error(rq, 404, "Pegawai atau periode tidak dikenal");
        return;
    }
    enum user_relation rel;
    if (!pages_relation(rq, nip, &rel))
        return;
    if (rel != USER_REL_SUPERVISOR) {
        web_error(rq, 403, "Hanya pejabat penilai langsung yang dapat memberi umpan balik ini");
        return;
    }
    struct pages_msg m = {{0}, {0}};
    char text[EVENT_COMMENT_MAX + 1], value[64] = "";
    enum pages_field tf = pages_form_text(rq, "text", text, sizeof text);
    if (!web_form(rq, "value", value, sizeof value))
        value[0] = '\0';
    if (tf == PAGES_FIELD_TOO_LONG) {
        snprintf(m.error, sizeof m.error, "Catatan terlalu panjang (paling banyak %d bita).",
                 EVENT_COMMENT_MAX);
        rq->status = 400;
    } else if (!pages_has_text(text)) {
        snprintf(m.error, sizeof m.error, "Tulis catatan umpan balik terlebih dahulu.");
        rq->status = 400;
    } else if (value[0] && !pages_feedback_value_known(value)) {
        snprintf(m.error, sizeof m.error, "Pilihan \"Tentang\" tidak dikenal.");
        rq->status = 400;
    } else {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "employee", nip, "period", period, "supervisor",
                              rq->s.uid, "text", text);
        if (f && value[0] && json_object_set_new(f, "value", json_string(value)) < 0) {
            json_decref(f);
            f = NULL;
        }
        char back[PAGES_LOCATION_MAX];
        snprintf(back, sizeof back, "/atasan/%s/%s", nip, period);
        if (pages_send(rq, "feedback", f, back, &m))
            return;
    }
    pages_atasan_review(rq, nip, period, &m);
}

/* ---- appeals to decide */

struct pages_appeal {
    struct web_req *rq;
    size_t n;
};

static int pages_appeal_row(const PGresult *row, void *ctx)
{
    struct pages_appeal *a = ctx;
    struct web_req *rq = a->rq;
    const char *nip = pgstore_text(row, 0, 0), *name = pgstore_text(row, 0, 1);
    const char *period = pgstore_text(row, 0, 2), *version = pgstore_text(row, 0, 3);
    const char *predikat = pgstore_text(row, 0, 4), *score = pgstore_text(row, 0, 5);
    const char *reason = pgstore_text(row, 0, 6), *at = pgstore_text(row, 0, 7);
    const char *supervisor = pgstore_text(row, 0, 8);
    if (!nip || !period || !pages_valid_nip(nip) || !pages_valid_period(period))
        return 0;
    size_t k = ++a->n;
    out(rq, "<article class=\"card appeal\" data-employee=\"");
    esc(rq, nip);
    out(rq, "\" data-period=\"");
    esc(rq, period);
    out(rq, "\"><h2>");
    esc(rq, name ? name : nip);
    out(rq, " &middot; periode ");
    esc(rq, period);
    out(rq, "</h2>\n<dl class=\"facts\"><dt>NIP</dt><dd class=\"mono\">");
    esc(rq, nip);
    out(rq, "</dd><dt>Pejabat penilai</dt><dd class=\"mono\">");
    esc(rq, supervisor);
    out(rq, "</dd><dt>Predikat</dt><dd>");
    out_predikat(rq, predikat);
    out(rq, "</dd><dt>Nilai</dt><dd>");
    esc(rq, score ? score : "-");
    out(rq, "</dd><dt>Versi</dt><dd>");
    esc(rq, version);
    out(rq, "</dd><dt>Diajukan</dt><dd>");
    out_time(rq, at);
    out(rq, "</dd><dt>Alasan keberatan</dt><dd class=\"reason\">");
    esc(rq, reason ? reason : "");
    out(rq, "</dd></dl>\n<p><a href=\"/atasan/");
    esc(rq, nip);
    out(rq, "/");
    esc(rq, period);
    out(rq, "\">Lihat rincian hasil</a></p>\n<form class=\"decide\" method=\"post\" "
            "action=\"/atasan/banding\">\n");
    web_csrf_field(rq, &rq->out);
    out(rq, "<input type=\"hidden\" name=\"employee\" value=\"");
    esc(rq, nip);
    out(rq, "\"><input type=\"hidden\" name=\"period\" value=\"");
    esc(rq, period);
    web_printf(
        &rq->out,
        "\">\n<label for=\"decide-note-%zu\">Catatan keputusan</label>\n<textarea id=\"decide-note-%zu\" "
        "name=\"note\" maxlength=\"%d\"></textarea>\n<label for=\"decide-predikat-%zu\">Predikat baru (bila "
        "direvisi)</label>\n<select id=\"decide-predikat-%zu\" name=\"predikat\"><option value=\"\">"
        "&mdash; pilih &mdash;</option>",
        k, k, EVENT_COMMENT_MAX, k, k);
    for (int i = 0; i < RESULTSTORE_PREDIKATS; i++)
        web_printf(&rq->out, "<option value=\"%s\">%s</option>", event_predikat_codes[i],
                   resultstore_predikat_label(event_predikat_codes[i]));
    out(rq,
        "</select>\n<button class=\"uphold\" type=\"submit\" name=\"decision\" value=\"uphold\">Kuatkan hasil"
        "</button>\n<button class=\"revise\" type=\"submit\" name=\"decision\" value=\"revise\">Revisi "
        "predikat"
        "</button>\n</form></article>\n");
    return 0;
}

/* Appeals (results in state appealed) of the employees whose supervisor's supervisor is
 * the signed-in person, oldest first, with the keberatan's reason. */
static const char pages_appeals_sql[] =
    "SELECT r.employee, e.name, r.period, r.version::text, coalesce(r.revised_predikat, r.predikat),"
    "       to_char(r.score, 'FM990.00'), a.note,"
    "       to_char(a.at AT TIME ZONE $2, 'YYYY-MM-DD\"T\"HH24:MI:SS'), e.supervisor_nip"
    "  FROM results r"
    "  JOIN employees e ON e.nip = r.employee"
    "  JOIN employees s ON s.nip = e.supervisor_nip"
    "  LEFT JOIN LATERAL (SELECT x.note, x.at FROM result_audit x"
    "                      WHERE x.employee = r.employee AND x.period = r.period AND x.to_state = 'appealed'"
    "                      ORDER BY x.id DESC LIMIT 1) a ON true"
    " WHERE r.state = 'appealed' AND s.supervisor_nip = $1"
    " ORDER BY a.at NULLS LAST, r.period, r.employee"
    " LIMIT $3::int";

static void pages_atasan_appeals(struct web_req *rq, struct pages_msg *m)
{
    int status = rq->status;
    web_page_begin(rq, "Keberatan untuk diputuskan");
    out(rq, "<h1>Keberatan untuk diputuskan</h1>\n");
    pages_msg_render(rq, m);
    out(rq, "<p class=\"muted\">Keberatan pegawai yang pejabat penilainya adalah bawahan langsung Anda. "
            "Kuatkan hasilnya, atau revisi predikatnya dengan catatan.</p>\n<div id=\"appeals\">\n");
    struct pages_appeal a = {.rq = rq, .n = 0};
    char limit[16];
    snprintf(limit, sizeof limit, "%d", PAGES_APPEALS_MAX);
    const char *params[3] = {rq->s.uid, web_time_zone(rq->w), limit};
    if (pgstore_each_row(rq->db, "appeals to decide", pages_appeals_sql, 3, params, pages_appeal_row, &a) <
        0) {
        log_error("web appeals: %s", rq->db->errstr);
        out(rq, "<p class=\"error\">Daftar keberatan tidak dapat dibaca saat ini.</p>\n");
    } else if (a.n == 0) {
        out(rq, "<p class=\"muted\">Tidak ada keberatan yang menunggu keputusan Anda.</p>\n");
    }
    out(rq, "</div>\n");
    web_page_end(rq);
    rq->status = status;
}

static void pages_atasan_decide(struct web_req *rq)
{
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah: muat ulang halaman lalu coba lagi");
        return;
    }
    if (!web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) || !pages_need_db(rq))
        return;
    char nip[PAGES_SEG_MAX], period[PAGES_PERIOD_MAX], decision[16], predikat[32],
        note[EVENT_COMMENT_MAX + 1];
    if (!web_form(rq, "employee", nip, sizeof nip) || !pages_valid_nip(nip) ||
        !web_form(rq, "period", period, sizeof period) || !pages_valid_period(period)) {
        web_error(rq, 400, "Pegawai atau periode keberatan tidak sah");
        return;
    }
    enum user_relation rel;
    if (!pages_relation(rq, nip, &rel))
        return;
    if (rel != USER_REL_SECOND_LINE) {
        web_error(rq, 403, "Keberatan ini diputuskan oleh atasan pejabat penilainya, bukan oleh Anda");
        return;
    }
    struct pages_msg m = {{0}, {0}};
    if (!web_form(rq, "predikat", predikat, sizeof predikat))
        predikat[0] = '\0';
    if (!web_form(rq, "decision", decision, sizeof decision) ||
        (strcmp(decision, "uphold") != 0 && strcmp(decision, "revise") != 0)) {
        snprintf(m.error, sizeof m.error, "Keputusan harus Kuatkan atau Revisi.");
        rq->status = 400;
    } else if (!strcmp(decision, "revise") && resultstore_predikat_index(predikat) < 0) {
        snprintf(m.error, sizeof m.error, "Pilih predikat baru untuk merevisi hasil.");
        rq->status = 400;
    } else if (pages_form_text(rq, "note", note, sizeof note) == PAGES_FIELD_TOO_LONG) {
        snprintf(m.error, sizeof m.error, "Catatan terlalu panjang (paling banyak %d bita).",
                 EVENT_COMMENT_MAX);
        rq->status = 400;
    } else {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "employee", nip, "period", period, "decider", rq->s.uid,
                              "decision", decision);
        if (f && !strcmp(decision, "revise") &&
            json_object_set_new(f, "predikat", json_string(predikat)) < 0) {
            json_decref(f);
            f = NULL;
        }
        if (f && pages_has_text(note) && json_object_set_new(f, "note", json_string(note)) < 0) {
            json_decref(f);
            f = NULL;
        }
        if (pages_send(rq, "appeal_decision", f, "/atasan/banding", &m))
            return;
    }
    pages_atasan_appeals(rq, &m);
}

static void pages_atasan(struct web_req *rq, const char *rest)
{
    char segs[PAGES_SEGS][PAGES_SEG_MAX];
    int n = pages_segments(rest, segs);
    if (n == 1 && !strcmp(segs[0], "banding") && pages_is_post(rq)) {
        pages_atasan_decide(rq);
        return;
    }
    if (n == 3 && !strcmp(segs[2], "signoff")) {
        if (!pages_is_post(rq)) {
            pages_method_refused(rq);
            return;
        }
        pages_atasan_signoff(rq, segs[0], segs[1]);
        return;
    }
    if (n == 3 && !strcmp(segs[2], "feedback")) {
        if (!pages_is_post(rq)) {
            pages_method_refused(rq);
            return;
        }
        pages_atasan_feedback(rq, segs[0], segs[1]);
        return;
    }
    if (!pages_is_get(rq)) {
        pages_method_refused(rq);
        return;
    }
    if (!web_require(rq, WEB_ROLE_SUPERVISOR, WEB_ROLE_NONE) || !pages_need_db(rq))
        return;
    struct pages_msg m = {{0}, {0}};
    if (n == 0) {
        pages_atasan_queue(rq);
    } else if (n == 1 && !strcmp(segs[0], "banding")) {
        pages_event_message(rq, NULL, true, &m);
        pages_atasan_appeals(rq, &m);
    } else if (n == 2) {
        pages_event_message(rq, segs[0], false, &m);
        pages_atasan_review(rq, segs[0], segs[1], &m);
    } else {
        web_error(rq, 404, "Halaman tidak ditemukan");
    }
}

/* ---------------------------------------------------------------- operator */

static void out_count(struct web_req *rq, json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    if (json_is_integer(v))
        web_printf(&rq->out, "%lld", (long long)json_integer_value(v));
    else
        out(rq, "<span class=\"muted\">tidak tersedia</span>");
}

static void pages_event_lookup_form(struct web_req *rq, const char *id)
{
    out(rq,
        "<form id=\"event-lookup\" method=\"get\" action=\"/operator/event\">\n<label for=\"event-id\">Nomor "
        "peristiwa (UUID)</label>\n<input id=\"event-id\" name=\"id\" type=\"text\" maxlength=\"36\" "
        "autocomplete=\"off\" spellcheck=\"false\" required value=\"");
    esc(rq, id ? id : "");
    out(rq, "\">\n<button type=\"submit\">Cari</button>\n</form>\n");
}

static void pages_pipeline(struct web_req *rq)
{
    char err[PAGES_ERR_MAX] = "";
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    int rc = view_status(rq->cfg, &b, err, sizeof err);
    json_t *doc = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    buf_free(&b);
    out(rq, "<section id=\"pipeline\"><h2>Alur pemrosesan</h2>\n");
    if (rc != VIEW_OK) {
        log_warn("web status: %s", err);
        out(rq, "<p class=\"error\">Sebagian status tidak dapat dibaca: ");
        esc(rq, err);
        out(rq, "</p>\n");
    }
    if (!json_is_object(doc)) {
        out(rq, "</section>\n");
        json_decref(doc);
        return;
    }
    out(rq, "<dl class=\"facts\"><dt>Redis</dt><dd>");
    out(rq, json_is_true(json_object_get(doc, "redis_ok"))
                ? "terhubung"
                : "<span class=\"warning\">tidak terhubung</span>");
    out(rq, "</dd><dt>PostgreSQL</dt><dd>");
    out(rq, json_is_true(json_object_get(doc, "postgres_ok"))
                ? "terhubung"
                : "<span class=\"warning\">tidak terhubung</span>");
    out(rq, "</dd><dt>Di antrean Redis</dt><dd id=\"stream-length\">");
    out_count(rq, doc, "stream_length");
    out(rq, "</dd><dt>Belum selesai diproses (lag)</dt><dd id=\"pending\">");
    out_count(rq, doc, "pending");
    out(rq, "</dd><dt>Tersimpan</dt><dd>");
    out_count(rq, doc, "stored");
    out(rq, "</dd><dt>Ditolak</dt><dd>");
    out_count(rq, doc, "rejected");
    out(rq, "</dd><dt>Gagal diproses (dead letter)</dt><dd>");
    out_count(rq, doc, "dead");
    out(rq, "</dd><dt>Pegawai / unit</dt><dd>");
    out_count(rq, doc, "employees");
    out(rq, " / ");
    out_count(rq, doc, "units");
    out(rq, "</dd></dl>\n");

    json_t *results = json_object_get(doc, "results");
    out(rq,
        "<div class=\"table-wrap\"><table id=\"result-states\"><caption>Hasil per status</caption><tbody>\n");
    for (size_t i = 0; i < sizeof pages_states / sizeof pages_states[0]; i++) {
        web_printf(&rq->out, "<tr><th>%s</th><td class=\"num\">", pages_states[i].label);
        out_count(rq, results, pages_states[i].code);
        out(rq, "</td></tr>\n");
    }
    out(rq, "</tbody></table></div>\n");
    json_t *notif = json_object_get(doc, "notifications");
    out(rq, "<p>Pemberitahuan: antre ");
    out_count(rq, notif, "queued");
    out(rq, ", terkirim ");
    out_count(rq, notif, "sent");
    out(rq, ", gagal ");
    out_count(rq, notif, "dead");
    out(rq, ".</p>\n");

    json_t *q = json_object_get(doc, "quarantined");
    out(rq, "<h3>Karantina</h3>\n");
    if (!json_is_array(q) || json_array_size(q) == 0) {
        out(rq, "<p class=\"muted\">Tidak ada hasil yang disisihkan.</p>\n");
    } else {
        out(rq,
            "<div class=\"table-wrap\"><table id=\"quarantine\"><thead><tr><th>Pegawai</th><th>Periode</th>"
            "<th>Alasan</th><th>Peristiwa</th><th>Sejak</th><th class=\"num\">Percobaan</th></tr></thead>"
            "<tbody>\n");
        size_t i;
        json_t *row;
        json_array_foreach(q, i, row)
        {
            out(rq, "<tr><td class=\"mono\">");
            esc(rq, js(row, "employee"));
            out(rq, "</td><td>");
            esc(rq, js(row, "period"));
            out(rq, "</td><td>");
            esc(rq, js(row, "error"));
            out(rq, "</td><td class=\"mono small\">");
            size_t j;
            json_t *id;
            json_array_foreach(json_object_get(row, "event_ids"), j, id)
            {
                const char *s = json_string_value(id);
                if (!s || !event_valid_uuid(s, strlen(s)))
                    continue;
                out(rq, "<a href=\"/operator/event?id=");
                esc(rq, s);
                out(rq, "\">");
                esc(rq, s);
                out(rq, "</a> ");
            }
            out(rq, "</td><td>");
            esc(rq, js(row, "since"));
            web_printf(&rq->out, "</td><td class=\"num\">%lld</td></tr>\n", ji(row, "tries", 0));
        }
        out(rq, "</tbody></table></div>\n");
    }
    out(rq, "</section>\n");
    json_decref(doc);
}

static void pages_rejections(struct web_req *rq)
{
    char err[PAGES_ERR_MAX];
    struct buf b;
    buf_init(&b, PAGES_VIEW_MAX);
    json_t *doc;
    int rc = pages_doc(view_rejections(rq->db, PAGES_REJECTIONS, web_time_zone(rq->w), &b, err, sizeof err),
                       &b, &doc, err, sizeof err);
    web_printf(&rq->out,
               "<section id=\"refused\"><h2>Peristiwa yang ditolak</h2>\n<p class=\"muted\">%d terbaru, "
               "dengan alasannya.</p>\n",
               PAGES_REJECTIONS);
    out(rq, "<div class=\"table-wrap\"><table id=\"rejections\" "
            "class=\"stack\"><thead><tr><th>Waktu</th><th>Jenis</th>"
            "<th>Sumber</th><th>Klien</th><th>Alasan</th><th>Peristiwa</th></tr></thead><tbody>\n");
    json_t *list = rc == VIEW_OK ? json_object_get(doc, "rejections") : NULL;
    if (rc != VIEW_OK) {
        log_error("web rejections: %s", err);
        out(rq, "<tr><td colspan=\"6\" class=\"error\">Tidak dapat dibaca saat ini.</td></tr>\n");
    } else if (!json_is_array(list) || json_array_size(list) == 0) {
        out(rq, "<tr><td colspan=\"6\" class=\"muted\">Tidak ada peristiwa yang ditolak.</td></tr>\n");
    }
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        const char *id = js(r, "event_id");
        out(rq, "<tr class=\"rejection\"><td data-label=\"Waktu\">");
        out_time(rq, js(r, "at"));
        out(rq, "</td><td data-label=\"Jenis\">");
        OUT_LABEL(rq, pages_event_types, js(r, "type"));
        out(rq, "</td><td data-label=\"Sumber\">");
        esc(rq, js(r, "source"));
        out(rq, "</td><td data-label=\"Klien\">");
        esc(rq, js(r, "client"));
        out(rq, "</td><td class=\"reason\" data-label=\"Alasan\">");
        esc(rq, js(r, "reason"));
        out(rq, "</td><td class=\"mono small\" data-label=\"Peristiwa\">");
        if (id && event_valid_uuid(id, strlen(id))) {
            out(rq, "<a href=\"/operator/event?id=");
            esc(rq, id);
            out(rq, "\">");
            esc(rq, id);
            out(rq, "</a>");
        } else {
            esc(rq, id);
        }
        out(rq, "</td></tr>\n");
    }
    out(rq, "</tbody></table></div></section>\n");
    json_decref(doc);
}

static void pages_operator_home(struct web_req *rq)
{
    web_page_begin(rq, "Operator");
    out(rq, "<h1>Operator</h1>\n<h2>Lacak peristiwa</h2>\n<p class=\"muted\">Ke mana perginya satu peristiwa "
            "yang dikirim kios atau aplikasi: tersimpan, ditolak (dengan alasannya), atau disisihkan.</p>\n");
    pages_event_lookup_form(rq, NULL);
    pages_pipeline(rq);
    pages_rejections(rq);
    web_page_end(rq);
}

static void out_fact(struct web_req *rq, const char *label, const char *value)
{
    web_printf(&rq->out, "<dt>%s</dt><dd>", label);
    if (value)
        esc(rq, value);
    else
        out(rq, "&ndash;");
    out(rq, "</dd>");
}

static void pages_operator_event(struct web_req *rq)
{
    char id[WEB_EVENT_ID_LEN + 2] = "";
    if (!web_query(rq, "id", id, sizeof id) || !id[0]) {
        web_redirect(rq, "/operator");
        return;
    }
    bool valid = event_valid_uuid(id, strlen(id));
    char err[PAGES_ERR_MAX] = "";
    json_t *doc = NULL;
    int rc = VIEW_NOT_FOUND;
    if (valid) {
        struct buf b;
        buf_init(&b, PAGES_VIEW_MAX);
        rc = pages_doc(view_event(rq->db, id, web_time_zone(rq->w), &b, err, sizeof err), &b, &doc, err,
                       sizeof err);
        if (rc == VIEW_ERROR) {
            pages_view_failed(rq, "event", err);
            return;
        }
    }
    web_page_begin(rq, "Lacak peristiwa");
    out(rq, "<p><a href=\"/operator\">&larr; Operator</a></p>\n<h1>Lacak peristiwa</h1>\n");
    pages_event_lookup_form(rq, id);
    if (!valid || rc != VIEW_OK) {
        out(rq, "<p class=\"error\">Nomor peristiwa harus berupa UUID (36 karakter, misalnya "
                "123e4567-e89b-42d3-a456-426614174000).</p>\n");
        web_page_end(rq);
        rq->status = 400;
        json_decref(doc);
        return;
    }
    const char *state = js(doc, "state");
    out(rq, "<section id=\"event\"><dl class=\"facts\">");
    out_fact(rq, "Nomor peristiwa", js(doc, "id"));
    web_printf(&rq->out, "<dt>Status</dt><dd id=\"event-state\" data-state=\"%s\">",
               PAGES_LOOKUP(pages_event_states, state) ? state : "unknown");
    OUT_LABEL(rq, pages_event_states, state);
    out(rq, "</dd>");
    out_fact(rq, "Tabel", js(doc, "where"));
    web_printf(&rq->out, "<dt>Jenis</dt><dd>");
    OUT_LABEL(rq, pages_event_types, js(doc, "type"));
    out(rq, "</dd>");
    out_fact(rq, "Sumber", js(doc, "source"));
    out_fact(rq, "Pegawai", js(doc, "employee"));
    out_fact(rq, "Periode", js(doc, "period"));
    out(rq, "<dt>Waktu</dt><dd>");
    out_time(rq, js(doc, "at"));
    out(rq, "</dd>");
    out_fact(rq, "Alasan", js(doc, "reason"));
    out_fact(rq, "Catatan", js(doc, "note"));
    out(rq, "</dl></section>\n");
    web_page_end(rq);
    json_decref(doc);
}

static void pages_operator(struct web_req *rq, const char *rest)
{
    if (!pages_is_get(rq)) {
        pages_method_refused(rq);
        return;
    }
    if (!web_require(rq, WEB_ROLE_OPERATOR, WEB_ROLE_NONE) || !pages_need_db(rq))
        return;
    if (!*rest)
        pages_operator_home(rq);
    else if (!strcmp(rest, "/event"))
        pages_operator_event(rq);
    else
        web_error(rq, 404, "Halaman tidak ditemukan");
}

/* ---------------------------------------------------------------- dispatch */

bool pages_dispatch(struct web_req *rq)
{
    const char *rest;
    if (web_path_is(rq->path, "/static/", &rest)) {
        if (!pages_is_get(rq))
            pages_method_refused(rq);
        else if (!static_serve(rq, rest))
            web_error(rq, 404, "Berkas tidak ditemukan");
        return true;
    }
    if (!strcmp(rq->path, "/login")) {
        pages_login(rq);
        return true;
    }
    if (!strcmp(rq->path, "/logout")) {
        pages_logout(rq);
        return true;
    }
    if (pages_under(rq->path, "/saya", &rest)) {
        pages_saya(rq, rest);
        return true;
    }
    if (pages_under(rq->path, "/atasan", &rest)) {
        pages_atasan(rq, rest);
        return true;
    }
    if (pages_under(rq->path, "/operator", &rest)) {
        pages_operator(rq, rest);
        return true;
    }
    return false;
}
