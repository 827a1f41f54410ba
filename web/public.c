/*
 * public: the part of kinerja-web anyone may open without signing in (SPEC 12):
 *
 *   GET  /, /publik                  the landing page: per unit the IKM with its mutu, the
 *                                    SKM responses and smiley presses, the predikat
 *                                    distribution of signed results, the IKM trend
 *   GET  /publik/unit/CODE           one unit: the nine SKM elements, its trend, its
 *                                    distribution, and the response form
 *   POST /publik/unit/CODE/tanggapan a citizen's response (rating 1..4 and a comment)
 *   GET  /survey/CODE?service=S      the nine-question SKM survey (PermenPANRB 14/2017)
 *   POST /survey/CODE                a completed survey
 *   GET  /qr/CODE.png, /qr/CODE.svg  the QR code of the survey link, for the counter
 *   GET  /static/public.css          the styles of these pages
 *
 * No personal data: never a name or NIP, no comments of others. The predikat
 * distribution counts signed results only (approved, appealed, final; the revised
 * predikat where an appeal revised it), and only for units with at least
 * PUBLIC_MIN_SIGNED of them, so no single person's predikat can be read off the page;
 * the totals are summed over the units shown, so a hidden unit cannot be worked out
 * by subtraction either.
 *
 * IKM (Indeks Kepuasan Masyarakat): the landing page shows the figure the score worker
 * stored (unit_scores); the unit page's elements and every trend are computed here from
 * the integer sums of the stored SKM answers (table feedback) with common/ikm.h, so a
 * figure and its mutu band always agree (SPEC 5.6). A period is YYYY-MM, YYYY-Qn or
 * YYYY; its feedback is that of its months (kinerja_period_months).
 *
 * Actions are citizen_feedback events sent through the broker with source web:<unit>,
 * behind the CSRF check and a per-address rate limit; nothing here writes to PostgreSQL.
 */
#include "web.h"

#include "event.h"
#include "ikm.h"
#include "qr.h"
#include "resultstore.h"
#include "svg.h"
#include "views.h"

#include <ctype.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* signed results a unit needs before its distribution is shown: the rule of the public report */
#define PUBLIC_MIN_SIGNED VIEW_REPORT_PUBLIC_MIN_RESULTS
#define PUBLIC_MIN_PROFILE 5          /* SKM respondents a unit needs before their profile is shown */
#define PUBLIC_TREND_MONTHS 12        /* months in a trend */
#define PUBLIC_PERIODS_MAX 60         /* periods offered in the picker */
#define PUBLIC_PERIOD_MAX 7           /* "YYYY-MM" */
#define PUBLIC_UNITS_MAX 2000         /* units listed on the landing page */
#define PUBLIC_NAME_MAX 256           /* bytes of a unit name shown */
#define PUBLIC_RESPOND_MAX 5          /* responses per address ... */
#define PUBLIC_RESPOND_WINDOW_S 3600  /* ... per hour */
#define PUBLIC_SURVEY_MAX 10          /* surveys per address ... */
#define PUBLIC_SURVEY_WINDOW_S 3600   /* ... per hour */
#define PUBLIC_FIELD_MAX WEB_BODY_MAX /* a form field read whole, so a long one is seen as long */
#define PUBLIC_QUERY_MAX 4096         /* a query parameter read whole */
#define PUBLIC_SHOW_MAX 40            /* bytes of a refused value quoted in an error */
#define PUBLIC_URL_MAX 2048           /* the survey URL a QR code holds */
#define PUBLIC_SOURCE_PREFIX "web:"
#define PUBLIC_RATE_RETRY_TEXT "dalam satu jam"

#define PUBLIC_N(a) (sizeof(a) / sizeof((a)[0]))
#define PUBLIC_STR_(x) #x
#define PUBLIC_STR(x) PUBLIC_STR_(x)

/* ---------------------------------------------------------------- wording */

/* The nine elements (unsur) of PermenPANRB 14/2017, in the order of u1..u9. */
static const char *const public_element_names[IKM_ELEMENTS] = {
    "Persyaratan",        "Sistem, mekanisme, dan prosedur",         "Waktu penyelesaian",
    "Biaya/tarif",        "Produk spesifikasi jenis pelayanan",      "Kompetensi pelaksana",
    "Perilaku pelaksana", "Penanganan pengaduan, saran dan masukan", "Sarana dan prasarana",
};

/* The questionnaire of PermenPANRB 14/2017 (lampiran, contoh kuesioner), one question a
 * element, in the order of u1..u9, with its four answers worth 1..4. */
struct public_question {
    const char *text;
    const char *answers[IKM_ANSWER_MAX];
};

static const struct public_question public_questions[IKM_ELEMENTS] = {
    {"Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?",
     {"Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"}},
    {"Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
     {"Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"}},
    {"Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
     {"Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"}},
    {"Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
     {"Sangat mahal", "Cukup mahal", "Murah", "Gratis"}},
    {"Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang tercantum dalam standar "
     "pelayanan dengan hasil yang diberikan?",
     {"Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"}},
    {"Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
     {"Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"}},
    {"Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait kesopanan dan keramahan?",
     {"Tidak sopan dan ramah", "Kurang sopan dan ramah", "Sopan dan ramah", "Sangat sopan dan ramah"}},
    {"Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
     {"Tidak ada", "Ada tetapi tidak berfungsi", "Berfungsi kurang maksimal", "Dikelola dengan baik"}},
    {"Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
     {"Buruk", "Cukup", "Baik", "Sangat baik"}},
};

/* The four smiley answers of the response form, worth 1..4. */
static const char *const public_rating_labels[IKM_ANSWER_MAX] = {
    "Sangat tidak puas",
    "Tidak puas",
    "Puas",
    "Sangat puas",
};

/* The respondent profile of the SKM report (PermenPANRB 14/2017: jenis kelamin, umur,
 * pendidikan, pekerjaan): the sets event_decode validates, with their labels
 * (event_profile_set in common/event.h). */
#define PUBLIC_PROFILE_FIELDS EVENT_PROFILE_FIELDS
#define PUBLIC_PROFILE(i) event_profile_set((enum event_profile_field)(i))

static const char public_css[] =
    "main{max-width:60rem;margin:0 auto;padding:0 .75rem}\n"
    ".lead{font-size:1.05rem}\n"
    ".muted{color:#555}\n"
    ".table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0 1rem}\n"
    ".table-wrap table{border-collapse:collapse;min-width:100%}\n"
    ".table-wrap th,.table-wrap td{padding:.4rem .5rem;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top}\n"
    ".table-wrap td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "caption{text-align:left;font-weight:bold;padding:.25rem 0}\n"
    "svg.chart{display:block;width:100%;max-width:40rem;height:auto;margin:.5rem 0}\n"
    ".figure{font-size:2.2rem;font-weight:bold;margin:.25rem 0}\n"
    ".mutu-A{color:#1b6e20}.mutu-B{color:#2a6f97}.mutu-C{color:#9a6700}.mutu-D{color:#b3261e}\n"
    ".period-picker{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0 1rem}\n"
    ".period-picker select,.period-picker button{min-height:2.75rem;font-size:1rem}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:.75rem}\n"
    ".card{border:1px solid #ddd;border-radius:.5rem;padding:.5rem .75rem}\n"
    ".card p{margin:.2rem 0}\n"
    "form.public-form{max-width:36rem}\n"
    "form.public-form fieldset{border:1px solid #ccc;border-radius:.5rem;margin:0 0 1rem;padding:.5rem "
    ".75rem}\n"
    "form.public-form fieldset.missing{border:2px solid #b3261e;background:#fdf0ef}\n"
    "form.public-form legend{font-weight:bold;padding:0 .25rem}\n"
    ".choice{display:flex;align-items:center;gap:.6rem;min-height:2.75rem;padding:.2rem 0;cursor:pointer}\n"
    ".choice input{width:1.4rem;height:1.4rem;margin:0;flex:none}\n"
    "form.public-form label.field{display:block;font-weight:bold;margin:.75rem 0 .25rem}\n"
    "form.public-form select,form.public-form textarea{display:block;width:100%;box-sizing:border-box;"
    "font-size:1rem;min-height:2.75rem;padding:.4rem}\n"
    "form.public-form textarea{min-height:6rem}\n"
    "form.public-form button[type=submit]{display:block;width:100%;min-height:3rem;font-size:1.1rem;"
    "margin:1rem 0;border-radius:.5rem}\n"
    ".missing-note{color:#b3261e;font-weight:bold;margin:.25rem 0}\n"
    "p.notice{background:#e8f5e9;border-left:4px solid #1b6e20;padding:.5rem .75rem}\n"
    "p.error{background:#fdf0ef;border-left:4px solid #b3261e;padding:.5rem .75rem}\n"
    "#event-id{font-family:monospace;word-break:break-all}\n"
    "figure.qr{margin:1rem 0}figure.qr img{display:block;width:12rem;height:auto;image-rendering:pixelated}\n"
    "@media (max-width:480px){.figure{font-size:1.8rem}}\n";

/* ---------------------------------------------------------------- small helpers */

static void public_h(struct web_req *rq, const char *s)
{
    web_h(&rq->out, s);
}

/* Appends s percent-encoded for a URL path segment or query value (RFC 3986
 * unreserved characters kept); the result needs no further HTML escaping. */
static int public_put_url_part(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = buf_putc(b, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 0xf]};
            rc = buf_append(b, e, sizeof e);
        }
    }
    return rc;
}

/* Copies s into out (size outlen), cut at a UTF-8 character boundary. */
static void public_copy_text(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(s);
    if (n >= outlen) {
        n = outlen - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* A period of SPEC 3: YYYY-MM, YYYY-Qn or YYYY. */
static bool public_period_ok(const char *p)
{
    size_t n = strlen(p);
    if (event_valid_period(p, n))
        return true;
    return n == 7 && event_valid_period(p, 4) && p[4] == '-' && p[5] == 'Q' && p[6] >= '1' && p[6] <= '4';
}

/* The year and the last month of a period ("2026-Q2" -> 2026, 6). */
static void public_period_end(const char *p, int *year, int *month)
{
    *year = atoi(p);
    size_t n = strlen(p);
    if (n == 4)
        *month = 12;
    else if (p[5] == 'Q')
        *month = (p[6] - '0') * 3;
    else
        *month = atoi(p + 5);
}

/* The PUBLIC_TREND_MONTHS months ending with the last month of period, oldest first,
 * into months[] and as a PostgreSQL text[] literal into arr. */
static void public_trend_months(const char *period, char months[][PUBLIC_PERIOD_MAX + 1], struct buf *arr)
{
    int y, m;
    public_period_end(period, &y, &m);
    int idx = y * 12 + (m - 1) - (PUBLIC_TREND_MONTHS - 1);
    buf_putc(arr, '{');
    for (int i = 0; i < PUBLIC_TREND_MONTHS; i++, idx++) {
        snprintf(months[i], PUBLIC_PERIOD_MAX + 1, "%04u-%02u", (unsigned)(idx / 12) % 10000u,
                 (unsigned)(idx % 12) % 12u + 1u);
        buf_printf(arr, "%s%s", i ? "," : "", months[i]);
    }
    buf_putc(arr, '}');
}

static void public_db_unavailable(struct web_req *rq)
{
    web_error(rq, 503, "Data sedang tidak dapat dibaca. Silakan coba lagi beberapa saat lagi.");
}

static bool public_method_is(struct web_req *rq, const char *m)
{
    return !strcmp(rq->method, m) || (!strcmp(m, "GET") && !strcmp(rq->method, "HEAD"));
}

static void public_not_allowed(struct web_req *rq)
{
    web_error(rq, 405, "Metode permintaan ini tidak didukung untuk alamat ini.");
}

static void public_stylesheet(struct web_req *rq)
{
    /* <link rel=stylesheet> is allowed in the body (HTML5 "body-ok"); web_page_begin
     * writes the head with /static/app.css. */
    web_printf(&rq->out, "<link rel=\"stylesheet\" href=\"/static/public.css\">\n");
}

/* ---------------------------------------------------------------- units */

struct public_unit {
    char code[EVENT_UNIT_MAX + 1];
    char name[PUBLIC_NAME_MAX];
};

/* The unit's display name: its name, else its code. */
static const char *public_unit_title(const struct public_unit *u)
{
    return u->name[0] ? u->name : u->code;
}

/*
 * Takes the unit code s[0..n) of a path into u->code. The server hands the path already
 * URL-decoded (libmicrohttpd decodes it), so the code is taken as it is, a '/' in it
 * included (links encode it as %2F). False when it is empty, too long or holds a control
 * character: no such unit can exist.
 */
static bool public_code_from_path(const char *s, size_t n, struct public_unit *u)
{
    if (n == 0 || n > EVENT_UNIT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(u->code, s, n);
    u->code[n] = '\0';
    return true;
}

/* True when s ends with suffix; *n is then the length before it. */
static bool public_ends_with(const char *s, const char *suffix, size_t *n)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    if (ls < lx || strcmp(s + ls - lx, suffix))
        return false;
    *n = ls - lx;
    return true;
}

static int public_on_unit_row(const PGresult *row, void *ctx)
{
    struct public_unit *u = ctx;
    const char *name = pgstore_text(row, 0, 0);
    public_copy_text(u->name, sizeof u->name, name ? name : "");
    return 1;
}

/* Looks u->code up in the units table: 1 found (u->name set), 0 unknown, -1 error. */
static int public_unit_lookup(struct web_req *rq, struct public_unit *u)
{
    const char *params[1] = {u->code};
    u->name[0] = '\0';
    int rc = pgstore_each_row(rq->db, "units", "SELECT name FROM units WHERE code = $1", 1, params,
                              public_on_unit_row, u);
    return rc < 0 ? -1 : rc;
}

/* Resolves the unit of a request: true when found; otherwise the 404 or 503 is set. */
static bool public_unit_resolve(struct web_req *rq, struct public_unit *u)
{
    if (!rq->db) {
        public_db_unavailable(rq);
        return false;
    }
    int rc = public_unit_lookup(rq, u);
    if (rc < 0) {
        public_db_unavailable(rq);
        return false;
    }
    if (rc == 0) {
        web_error(rq, 404, "Unit layanan tidak ditemukan.");
        return false;
    }
    return true;
}

static void public_unit_href(struct web_req *rq, const char *prefix, const char *code, const char *suffix)
{
    buf_puts(&rq->out, prefix);
    public_put_url_part(&rq->out, code);
    buf_puts(&rq->out, suffix);
}

/* ---------------------------------------------------------------- periods */

struct public_periods {
    char list[PUBLIC_PERIODS_MAX][PUBLIC_PERIOD_MAX + 1];
    int n;
};

static int public_on_period(const PGresult *row, void *ctx)
{
    struct public_periods *ps = ctx;
    const char *p = pgstore_text(row, 0, 0);
    if (p && public_period_ok(p) && ps->n < PUBLIC_PERIODS_MAX)
        public_copy_text(ps->list[ps->n++], PUBLIC_PERIOD_MAX + 1, p);
    return 0;
}

/* The periods with data (appraised: a row in score_periods, which every scored result and
 * every month with citizen feedback has; or a stored IKM), newest first by their last month; of periods
 * ending in the same month the month first, then the quarter, then the year. */
static int public_load_periods(struct web_req *rq, struct public_periods *ps)
{
    static const char sql[] =
        "SELECT period FROM (SELECT period FROM score_periods UNION SELECT period FROM unit_scores) p"
        " WHERE cardinality(kinerja_period_months(period)) > 0"
        " ORDER BY (kinerja_period_months(period))[cardinality(kinerja_period_months(period))] DESC,"
        " cardinality(kinerja_period_months(period)), period DESC"
        " LIMIT " PUBLIC_STR(PUBLIC_PERIODS_MAX);
    ps->n = 0;
    return pgstore_each_row(rq->db, "periods", sql, 0, NULL, public_on_period, ps) < 0 ? -1 : 0;
}

/*
 * The period a page shows: ?period= when given (false with a 400 set when malformed),
 * else the newest month with data, else the newest period with data, else the current
 * month in time.zone (an empty site still shows its units).
 */
static bool public_pick_period(struct web_req *rq, const struct public_periods *ps, char *out)
{
    char q[PUBLIC_QUERY_MAX];
    if (web_query(rq, "period", q, sizeof q) && q[0]) {
        if (!public_period_ok(q)) {
            web_error(rq, 400,
                      "Periode tidak sah: gunakan YYYY-MM (bulan), YYYY-Qn (triwulan) atau YYYY (tahun).");
            return false;
        }
        strcpy(out, q);
        return true;
    }
    for (int i = 0; i < ps->n; i++)
        if (strlen(ps->list[i]) == 7 && ps->list[i][5] != 'Q') {
            strcpy(out, ps->list[i]);
            return true;
        }
    if (ps->n > 0) {
        strcpy(out, ps->list[0]);
        return true;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(out, PUBLIC_PERIOD_MAX + 1, "%04u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)tm.tm_mon % 12u + 1u);
    return true;
}

static const char *const public_month_names[12] = {
    "Januari", "Februari", "Maret",     "April",   "Mei",      "Juni",
    "Juli",    "Agustus",  "September", "Oktober", "November", "Desember",
};
static const char *const public_quarter_names[4] = {"I", "II", "III", "IV"};

/* "Desember 2026", "Triwulan II 2026", "Tahun 2026". */
static void public_period_label(const char *p, char *out, size_t outlen)
{
    size_t n = strlen(p);
    if (n == 4)
        snprintf(out, outlen, "Tahun %.4s", p);
    else if (p[5] == 'Q')
        snprintf(out, outlen, "Triwulan %s %.4s", public_quarter_names[p[6] - '1'], p);
    else
        snprintf(out, outlen, "%s %.4s", public_month_names[atoi(p + 5) - 1], p);
}

/* A short label for a chart axis: "Des 26". */
static void public_month_short(const char *p, char *out, size_t outlen)
{
    snprintf(out, outlen, "%.3s %.2s", public_month_names[atoi(p + 5) - 1], p + 2);
}

/* The period picker: a GET form to action, the current period selected. */
static void public_period_form(struct web_req *rq, const char *action, const struct public_periods *ps,
                               const char *period)
{
    char label[64];
    bool listed = false;
    web_printf(&rq->out, "<form class=\"period-picker\" method=\"get\" action=\"%s\">", action);
    web_printf(&rq->out, "<label for=\"period\">Periode</label><select id=\"period\" name=\"period\">");
    for (int i = 0; i < ps->n; i++) {
        bool sel = !strcmp(ps->list[i], period);
        listed |= sel;
        public_period_label(ps->list[i], label, sizeof label);
        web_printf(&rq->out, "<option value=\"%s\"%s>", ps->list[i], sel ? " selected" : "");
        public_h(rq, label);
        web_printf(&rq->out, "</option>");
    }
    if (!listed) {
        public_period_label(period, label, sizeof label);
        web_printf(&rq->out, "<option value=\"%s\" selected>", period);
        public_h(rq, label);
        web_printf(&rq->out, "</option>");
    }
    web_printf(&rq->out, "</select><button type=\"submit\">Tampilkan</button></form>\n");
}

/* ---------------------------------------------------------------- SKM sums */

/* The integer sums of SKM answers: n complete responses, sum[k] of element k's answers. */
struct public_skm {
    long long n;
    long long sum[IKM_ELEMENTS];
};

static long long public_skm_total(const struct public_skm *s)
{
    long long t = 0;
    for (int k = 0; k < IKM_ELEMENTS; k++)
        t += s->sum[k];
    return t;
}

/* The IKM in hundredths (0 when no response). */
static long public_skm_centi(const struct public_skm *s)
{
    return s->n > 0 ? ikm_centi_of_sum((uint64_t)public_skm_total(s), (uint64_t)s->n) : 0;
}

/* Element k on the IKM scale (mean x 25) in hundredths, rounded half up, exactly:
 * 25 x S / n = 2500 S / n hundredths, floor((5000 S + n) / (2 n)). */
static long public_element_centi(const struct public_skm *s, int k)
{
    if (s->n <= 0)
        return 0;
    return (long)((5000LL * s->sum[k] + s->n) / (2 * s->n));
}

/* The columns of an SKM sum over complete responses (ikm_compute skips a response with
 * a missing answer; so does this). */
#define PUBLIC_SKM_COLS                                                                                      \
    "count(*), sum(skm[1]), sum(skm[2]), sum(skm[3]), sum(skm[4]), sum(skm[5]), sum(skm[6]), sum(skm[7]),"   \
    " sum(skm[8]), sum(skm[9])"
#define PUBLIC_SKM_WHERE "skm IS NOT NULL AND array_position(skm, NULL) IS NULL"

static void public_skm_from_row(const PGresult *row, int col, struct public_skm *s)
{
    const char *v = pgstore_text(row, 0, col);
    s->n = v ? atoll(v) : 0;
    for (int k = 0; k < IKM_ELEMENTS; k++) {
        v = pgstore_text(row, 0, col + 1 + k);
        s->sum[k] = v ? atoll(v) : 0;
    }
}

static int public_on_skm(const PGresult *row, void *ctx)
{
    public_skm_from_row(row, 0, ctx);
    return 0;
}

/* The SKM sums of one unit (or every unit when unit is NULL) in a period. */
static int public_load_skm(struct web_req *rq, const char *unit, const char *period, struct public_skm *s)
{
    memset(s, 0, sizeof *s);
    const char *params[2] = {period, unit};
    if (unit)
        return pgstore_each_row(rq->db, "skm",
                                "SELECT " PUBLIC_SKM_COLS " FROM feedback WHERE " PUBLIC_SKM_WHERE
                                " AND period = ANY (kinerja_period_months($1)) AND unit = $2",
                                2, params, public_on_skm, s) < 0
                   ? -1
                   : 0;
    return pgstore_each_row(rq->db, "skm",
                            "SELECT " PUBLIC_SKM_COLS " FROM feedback WHERE " PUBLIC_SKM_WHERE
                            " AND period = ANY (kinerja_period_months($1))",
                            1, params, public_on_skm, s) < 0
               ? -1
               : 0;
}

/* ---------------------------------------------------------------- trends */

struct public_trend {
    char months[PUBLIC_TREND_MONTHS][PUBLIC_PERIOD_MAX + 1];
    long long n[PUBLIC_TREND_MONTHS];   /* SKM responses */
    long long sum[PUBLIC_TREND_MONTHS]; /* of all their answers */
};

static int public_on_trend_row(const PGresult *row, void *ctx)
{
    struct public_trend *t = ctx;
    const char *p = pgstore_text(row, 0, 0);
    const char *n = pgstore_text(row, 0, 1);
    const char *s = pgstore_text(row, 0, 2);
    for (int i = 0; p && i < PUBLIC_TREND_MONTHS; i++)
        if (!strcmp(t->months[i], p)) {
            t->n[i] = n ? atoll(n) : 0;
            t->sum[i] = s ? atoll(s) : 0;
        }
    return 0;
}

/* The IKM of each of the trend months of period, of one unit or (unit NULL) of all. */
static int public_load_trend(struct web_req *rq, const char *unit, const char *period, struct public_trend *t)
{
    memset(t, 0, sizeof *t);
    struct buf arr;
    buf_init(&arr, 256);
    public_trend_months(period, t->months, &arr);
    const char *params[2] = {arr.data, unit};
    int rc;
    if (unit)
        rc = pgstore_each_row(
            rq->db, "trend",
            "SELECT period, count(*), sum(skm[1] + skm[2] + skm[3] + skm[4] + skm[5] + skm[6]"
            " + skm[7] + skm[8] + skm[9]) FROM feedback WHERE " PUBLIC_SKM_WHERE
            " AND period = ANY ($1::text[]) AND unit = $2 GROUP BY period",
            2, params, public_on_trend_row, t);
    else
        rc = pgstore_each_row(
            rq->db, "trend",
            "SELECT period, count(*), sum(skm[1] + skm[2] + skm[3] + skm[4] + skm[5] + skm[6]"
            " + skm[7] + skm[8] + skm[9]) FROM feedback WHERE " PUBLIC_SKM_WHERE
            " AND period = ANY ($1::text[]) GROUP BY period",
            1, params, public_on_trend_row, t);
    buf_free(&arr);
    return rc < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- the sums, cached */

/*
 * The SKM sums of a period and the trend around it, of one unit or of all, read from
 * feedback: exact, but a scan of every response of twelve months (about 200 ms for the
 * organisation at 40 000 responses a month). A public page is read far more often than
 * the figures change, so they are kept PUBLIC_CACHE_TTL_MS (a few seconds, less than the
 * 30 s the server lets browsers cache the page) in a fixed table of
 * PUBLIC_CACHE_ENTRIES, the oldest replaced first. Thread-safe.
 */
#define PUBLIC_CACHE_ENTRIES 128
#define PUBLIC_CACHE_TTL_MS 5000
#define PUBLIC_CACHE_ALL "\x1f*" /* the key of "every unit" (no unit code holds a control character) */

struct public_cache_entry {
    bool used;
    long long at_ms;
    char unit[EVENT_UNIT_MAX + 1];
    char period[PUBLIC_PERIOD_MAX + 1];
    struct public_skm skm;
    struct public_trend trend;
};

static pthread_mutex_t public_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct public_cache_entry public_cache[PUBLIC_CACHE_ENTRIES];

static long long public_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int public_load_sums(struct web_req *rq, const char *unit, const char *period, struct public_skm *skm,
                            struct public_trend *trend)
{
    const char *key = unit ? unit : PUBLIC_CACHE_ALL;
    long long now = public_now_ms();
    pthread_mutex_lock(&public_cache_lock);
    for (int i = 0; i < PUBLIC_CACHE_ENTRIES; i++) {
        struct public_cache_entry *e = &public_cache[i];
        if (e->used && now - e->at_ms < PUBLIC_CACHE_TTL_MS && !strcmp(e->unit, key) &&
            !strcmp(e->period, period)) {
            *skm = e->skm;
            *trend = e->trend;
            pthread_mutex_unlock(&public_cache_lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&public_cache_lock);

    if (public_load_skm(rq, unit, period, skm) < 0 || public_load_trend(rq, unit, period, trend) < 0)
        return -1;

    pthread_mutex_lock(&public_cache_lock);
    struct public_cache_entry *slot = &public_cache[0];
    for (int i = 0; i < PUBLIC_CACHE_ENTRIES; i++) {
        struct public_cache_entry *e = &public_cache[i];
        if (e->used && !strcmp(e->unit, key) && !strcmp(e->period, period)) {
            slot = e;
            break;
        }
        if (!e->used || e->at_ms < slot->at_ms)
            slot = e;
        if (!e->used)
            break;
    }
    slot->used = true;
    slot->at_ms = now;
    snprintf(slot->unit, sizeof slot->unit, "%s", key);
    snprintf(slot->period, sizeof slot->period, "%s", period);
    slot->skm = *skm;
    slot->trend = *trend;
    pthread_mutex_unlock(&public_cache_lock);
    return 0;
}

static const double public_mutu_marks[] = {65.00, 76.61, 88.31};

/* The trend as a line chart and a table (id table_id). */
static void public_trend_render(struct web_req *rq, const struct public_trend *t, const char *title,
                                const char *table_id)
{
    struct svg_point pts[PUBLIC_TREND_MONTHS];
    char labels[PUBLIC_TREND_MONTHS][16];
    bool any = false;
    for (int i = 0; i < PUBLIC_TREND_MONTHS; i++) {
        public_month_short(t->months[i], labels[i], sizeof labels[i]);
        pts[i].label = labels[i];
        pts[i].has = t->n[i] > 0;
        pts[i].value = pts[i].has ? ikm_centi_of_sum((uint64_t)t->sum[i], (uint64_t)t->n[i]) / 100.0 : 0;
        any |= pts[i].has;
    }
    /* drawn even empty (the axes and the mutu bands, "no data" written in it), so the
     * page's layout and its charts do not depend on the data */
    svg_line_chart(&rq->out, title, pts, PUBLIC_TREND_MONTHS, IKM_SCALE, 100.0, public_mutu_marks,
                   (int)PUBLIC_N(public_mutu_marks));
    if (!any) {
        web_printf(&rq->out, "<p class=\"muted\">Belum ada survei SKM dalam %d bulan ini.</p>\n",
                   PUBLIC_TREND_MONTHS);
        return;
    }
    web_printf(&rq->out, "<div class=\"table-wrap\"><table id=\"%s\"><caption>", table_id);
    public_h(rq, title);
    web_printf(&rq->out, "</caption><thead><tr><th scope=\"col\">Bulan</th><th scope=\"col\">IKM</th>"
                         "<th scope=\"col\">Mutu pelayanan</th><th scope=\"col\">Jumlah responden</th></tr>"
                         "</thead><tbody>");
    char label[64];
    for (int i = PUBLIC_TREND_MONTHS - 1; i >= 0; i--) {
        if (!t->n[i])
            continue;
        long centi = ikm_centi_of_sum((uint64_t)t->sum[i], (uint64_t)t->n[i]);
        enum ikm_mutu m = ikm_mutu_of_centi(centi);
        public_period_label(t->months[i], label, sizeof label);
        web_printf(&rq->out, "<tr data-period=\"%s\"><th scope=\"row\">", t->months[i]);
        public_h(rq, label);
        web_printf(&rq->out,
                   "</th><td class=\"num\">%ld.%02ld</td><td>%s (%s)</td><td class=\"num\">%lld</td></tr>",
                   centi / 100, centi % 100, ikm_mutu_name(m), ikm_mutu_label(m), t->n[i]);
    }
    web_printf(&rq->out, "</tbody></table></div>\n");
}

/* ---------------------------------------------------------------- predikat distribution */

static const char *const public_predikat_short[RESULTSTORE_PREDIKATS] = {"SB", "B", "BP", "K", "SK"};

static long long public_signed_total(const long long *counts)
{
    long long n = 0;
    for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
        n += counts[k];
    return n;
}

/* A bar chart of the distribution counts (total > 0). */
static void public_predikat_chart(struct web_req *rq, const char *title, const long long *counts)
{
    struct svg_bar bars[RESULTSTORE_PREDIKATS];
    long long total = public_signed_total(counts);
    for (int k = 0; k < RESULTSTORE_PREDIKATS; k++) {
        bars[k].label = resultstore_predikat_label(event_predikat_codes[k]);
        bars[k].value = (double)counts[k];
        snprintf(bars[k].text, sizeof bars[k].text, "%lld (%.0f%%)", counts[k],
                 total > 0 ? 100.0 * (double)counts[k] / (double)total : 0.0);
    }
    svg_bar_chart(&rq->out, title, bars, RESULTSTORE_PREDIKATS, 0);
}

/* ---------------------------------------------------------------- landing */

struct public_landing_unit {
    struct public_unit u;
    bool has_ikm;
    double ikm;
    char mutu[4];
    int skm_n;
    bool has_sat;
    double sat;
    int presses; /* counted smiley presses */
    long long signed_n;
    long long signed_predikat[RESULTSTORE_PREDIKATS];
};

struct public_landing {
    struct public_landing_unit *units;
    size_t n, cap;
    bool truncated;
};

static int public_on_landing_unit(const struct resultstore_unit *r, void *ctx)
{
    struct public_landing *l = ctx;
    if (l->n == PUBLIC_UNITS_MAX) {
        l->truncated = true;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct public_landing_unit *p = realloc(l->units, cap * sizeof *p);
        if (!p)
            return -1;
        l->units = p;
        l->cap = cap;
    }
    struct public_landing_unit *u = &l->units[l->n++];
    memset(u, 0, sizeof *u);
    public_copy_text(u->u.code, sizeof u->u.code, r->unit);
    public_copy_text(u->u.name, sizeof u->u.name, r->name ? r->name : "");
    u->has_ikm = r->has_ikm && r->mutu;
    u->ikm = r->ikm;
    if (u->has_ikm)
        public_copy_text(u->mutu, sizeof u->mutu, r->mutu);
    u->skm_n = r->skm_n;
    u->has_sat = r->has_satisfaction;
    u->sat = r->satisfaction;
    u->presses = r->counted;
    u->signed_n = r->signed_results;
    memcpy(u->signed_predikat, r->signed_predikat, sizeof u->signed_predikat);
    return 0;
}

static bool public_shows_predikat(const struct public_landing_unit *u)
{
    return public_signed_total(u->signed_predikat) >= PUBLIC_MIN_SIGNED;
}

static void public_mutu_cell(struct web_req *rq, const char *mutu)
{
    const char *label = resultstore_mutu_label(mutu);
    if (!label) {
        web_printf(&rq->out, "<td>-</td>");
        return;
    }
    web_printf(&rq->out, "<td class=\"mutu-%c\">%c (", mutu[0], mutu[0]);
    public_h(rq, label);
    web_printf(&rq->out, ")</td>");
}

static void public_landing_page(struct web_req *rq)
{
    if (!rq->db) {
        public_db_unavailable(rq);
        return;
    }
    struct public_periods ps;
    char period[PUBLIC_PERIOD_MAX + 1];
    struct public_landing l = {0};
    struct public_skm all;
    struct public_trend trend;
    if (public_load_periods(rq, &ps) < 0) {
        public_db_unavailable(rq);
        return;
    }
    if (!public_pick_period(rq, &ps, period))
        return;
    if (resultstore_each_unit(rq->db, period, public_on_landing_unit, &l) != 0 ||
        public_load_sums(rq, NULL, period, &all, &trend) < 0) {
        free(l.units);
        public_db_unavailable(rq);
        return;
    }

    char plabel[64];
    public_period_label(period, plabel, sizeof plabel);
    web_page_begin(rq, "Kinerja dan Kepuasan Masyarakat");
    public_stylesheet(rq);
    web_printf(&rq->out, "<h1>Kinerja dan Kepuasan Masyarakat</h1>\n");
    web_printf(&rq->out, "<p class=\"lead\">Indeks Kepuasan Masyarakat (IKM) setiap unit layanan dan sebaran "
                         "predikat kinerja pegawai yang sudah ditandatangani pejabat penilai. Halaman ini "
                         "tidak memuat data pribadi.</p>\n");
    public_period_form(rq, "/publik", &ps, period);

    /* the organisation at a glance */
    long long presses = 0, signed_shown[RESULTSTORE_PREDIKATS] = {0};
    int units_hidden = 0;
    for (size_t i = 0; i < l.n; i++) {
        presses += l.units[i].presses;
        if (public_shows_predikat(&l.units[i])) {
            for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
                signed_shown[k] += l.units[i].signed_predikat[k];
        } else if (l.units[i].signed_n > 0) {
            units_hidden++;
        }
    }
    web_printf(&rq->out, "<section id=\"ringkasan\"><h2>Ringkasan ");
    public_h(rq, plabel);
    web_printf(&rq->out, "</h2><div class=\"cards\">");
    long centi = public_skm_centi(&all);
    if (all.n > 0) {
        enum ikm_mutu m = ikm_mutu_of_centi(centi);
        web_printf(
            &rq->out,
            "<div class=\"card\"><p>Indeks Kepuasan Masyarakat (IKM) seluruh unit</p>"
            "<p class=\"figure mutu-%s\" id=\"ikm-all\">%ld.%02ld</p><p>Mutu pelayanan %s (%s)</p></div>",
            ikm_mutu_name(m), centi / 100, centi % 100, ikm_mutu_name(m), ikm_mutu_label(m));
    } else {
        web_printf(&rq->out, "<div class=\"card\"><p>Indeks Kepuasan Masyarakat (IKM)</p>"
                             "<p class=\"figure\">-</p><p>Belum ada survei SKM pada periode ini.</p></div>");
    }
    web_printf(&rq->out,
               "<div class=\"card\"><p>Jumlah responden SKM</p><p class=\"figure\">%lld</p></div>"
               "<div class=\"card\"><p>Penilaian tombol kepuasan</p><p class=\"figure\">%lld</p></div>"
               "<div class=\"card\"><p>Unit layanan</p><p class=\"figure\">%zu</p></div></div></section>\n",
               all.n, presses, l.n);

    /* every unit */
    web_printf(&rq->out,
               "<section id=\"unit-layanan\"><h2>Unit layanan</h2>"
               "<div class=\"table-wrap\"><table id=\"units\"><caption>IKM dan kepuasan per unit, ");
    public_h(rq, plabel);
    web_printf(&rq->out, "</caption><thead><tr><th scope=\"col\">Unit</th><th scope=\"col\">IKM</th>"
                         "<th scope=\"col\">Mutu pelayanan</th><th scope=\"col\">Jumlah responden SKM</th>"
                         "<th scope=\"col\">Penilaian tombol kepuasan</th>"
                         "<th scope=\"col\">Rata-rata kepuasan (1-4)</th>"
                         "<th scope=\"col\">Hasil kinerja ditandatangani</th></tr></thead><tbody>");
    for (size_t i = 0; i < l.n; i++) {
        const struct public_landing_unit *u = &l.units[i];
        web_printf(&rq->out, "<tr class=\"unit-row\" data-unit=\"");
        public_h(rq, u->u.code);
        web_printf(&rq->out, "\"><th scope=\"row\"><a class=\"unit-link\" href=\"");
        public_unit_href(rq, "/publik/unit/", u->u.code, "?period=");
        buf_puts(&rq->out, period);
        web_printf(&rq->out, "\">");
        public_h(rq, public_unit_title(&u->u));
        web_printf(&rq->out, "</a></th>");
        if (u->has_ikm)
            web_printf(&rq->out, "<td class=\"num\">%.2f</td>", u->ikm);
        else
            web_printf(&rq->out, "<td class=\"num\">-</td>");
        public_mutu_cell(rq, u->has_ikm ? u->mutu : NULL);
        web_printf(&rq->out, "<td class=\"num\">%d</td><td class=\"num\">%d</td>", u->skm_n, u->presses);
        if (u->has_sat)
            web_printf(&rq->out, "<td class=\"num\">%.2f</td>", u->sat);
        else
            web_printf(&rq->out, "<td class=\"num\">-</td>");
        web_printf(&rq->out, "<td class=\"num\">%lld</td></tr>", u->signed_n);
    }
    web_printf(&rq->out,
               "</tbody></table></div><p class=\"muted\">Penilaian tombol kepuasan: tombol "
               "empat wajah di loket dan formulir tanggapan di halaman ini; tekanan berulang dari satu "
               "perangkat dalam waktu singkat dihitung sekali.</p>");
    if (l.truncated)
        web_printf(&rq->out, "<p class=\"muted\">Hanya %d unit pertama yang ditampilkan.</p>",
                   PUBLIC_UNITS_MAX);
    web_printf(&rq->out, "</section>\n");

    /* the predikat distribution */
    web_printf(&rq->out,
               "<section id=\"predikat\"><h2>Sebaran predikat kinerja pegawai</h2>"
               "<p class=\"muted\">Hanya hasil yang sudah ditandatangani pejabat penilai (predikat "
               "setelah keberatan bila diubah), dan hanya unit dengan sedikitnya %d hasil, agar "
               "predikat seseorang tidak dapat diketahui.</p>",
               PUBLIC_MIN_SIGNED);
    long long shown_total = public_signed_total(signed_shown);
    if (shown_total > 0) {
        char title[128];
        snprintf(title, sizeof title, "Sebaran predikat hasil kinerja yang ditandatangani, %s", plabel);
        public_predikat_chart(rq, title, signed_shown);
        web_printf(&rq->out, "<div class=\"table-wrap\"><table id=\"predikat-units\"><caption>Jumlah hasil "
                             "per predikat</caption><thead><tr><th scope=\"col\">Unit</th>");
        for (int k = 0; k < RESULTSTORE_PREDIKATS; k++) {
            web_printf(&rq->out, "<th scope=\"col\"><abbr title=\"");
            public_h(rq, resultstore_predikat_label(event_predikat_codes[k]));
            web_printf(&rq->out, "\">%s</abbr></th>", public_predikat_short[k]);
        }
        web_printf(&rq->out, "<th scope=\"col\">Jumlah</th></tr></thead><tbody>");
        for (size_t i = 0; i < l.n; i++) {
            const struct public_landing_unit *u = &l.units[i];
            if (!public_shows_predikat(u))
                continue;
            web_printf(&rq->out, "<tr data-unit=\"");
            public_h(rq, u->u.code);
            web_printf(&rq->out, "\"><th scope=\"row\">");
            public_h(rq, public_unit_title(&u->u));
            web_printf(&rq->out, "</th>");
            for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
                web_printf(&rq->out, "<td class=\"num\">%lld</td>", u->signed_predikat[k]);
            web_printf(&rq->out, "<td class=\"num\">%lld</td></tr>", public_signed_total(u->signed_predikat));
        }
        web_printf(&rq->out, "</tbody><tfoot><tr><th scope=\"row\">Semua unit yang ditampilkan</th>");
        for (int k = 0; k < RESULTSTORE_PREDIKATS; k++)
            web_printf(&rq->out, "<td class=\"num\">%lld</td>", signed_shown[k]);
        web_printf(&rq->out, "<td class=\"num\">%lld</td></tr></tfoot></table></div>", shown_total);
    } else {
        web_printf(&rq->out,
                   "<p>Belum ada unit dengan cukup hasil yang ditandatangani pada periode ini.</p>");
    }
    if (units_hidden > 0)
        web_printf(&rq->out,
                   "<p class=\"muted\">%d unit belum ditampilkan karena hasilnya kurang dari %d.</p>",
                   units_hidden, PUBLIC_MIN_SIGNED);
    web_printf(&rq->out, "</section>\n");

    /* the trend */
    web_printf(&rq->out, "<section id=\"tren\"><h2>Tren IKM %d bulan terakhir</h2>", PUBLIC_TREND_MONTHS);
    public_trend_render(rq, &trend, "Tren IKM seluruh unit per bulan", "trend");
    web_printf(&rq->out, "</section>\n");
    web_page_end(rq);
    free(l.units);
    rq->cacheable = true;
}

/* ---------------------------------------------------------------- unit page */

static int public_on_one_unit(const struct resultstore_unit *r, void *ctx)
{
    struct public_landing_unit *u = ctx;
    if (strcmp(r->unit, u->u.code))
        return 0;
    struct public_landing one = {0};
    if (public_on_landing_unit(r, &one) < 0)
        return -1;
    struct public_unit keep = u->u;
    *u = one.units[0];
    u->u = keep;
    free(one.units);
    return 1;
}

/* ---------------------------------------------------------------- respondent profile */

/* Per profile field, how many SKM respondents gave each value: choices[c] in the order of
 * the field's set, then one count for a code outside the set (older kiosks) and one
 * for none given. */
#define PUBLIC_CHOICES_MAX EVENT_PROFILE_CHOICES_MAX
struct public_profile_counts {
    long long n[PUBLIC_PROFILE_FIELDS][PUBLIC_CHOICES_MAX];
    long long other[PUBLIC_PROFILE_FIELDS];
    long long none[PUBLIC_PROFILE_FIELDS];
};

static int public_on_profile_row(const PGresult *row, void *ctx)
{
    struct public_profile_counts *pc = ctx;
    const char *f = pgstore_text(row, 0, 0), *v = pgstore_text(row, 0, 1), *n = pgstore_text(row, 0, 2);
    long long count = n ? atoll(n) : 0;
    for (size_t i = 0; f && i < PUBLIC_PROFILE_FIELDS; i++) {
        if (strcmp(PUBLIC_PROFILE(i)->field, f))
            continue;
        if (!v || !v[0]) {
            pc->none[i] += count;
            return 0;
        }
        for (size_t c = 0; c < PUBLIC_PROFILE(i)->n; c++)
            if (!strcmp(PUBLIC_PROFILE(i)->codes[c], v)) {
                pc->n[i][c] += count;
                return 0;
            }
        pc->other[i] += count;
    }
    return 0;
}

/* The profile of the unit's SKM respondents in a period, from the events themselves
 * (the derived feedback table keeps no profile). */
static int public_load_profile(struct web_req *rq, const char *unit, const char *period,
                               struct public_profile_counts *pc)
{
    memset(pc, 0, sizeof *pc);
    const char *params[2] = {unit, period};
    return pgstore_each_row(rq->db, "profile",
                            "SELECT x.f, x.v, count(*) FROM event_log e CROSS JOIN LATERAL (VALUES"
                            " ('gender', e.payload ->> 'gender'), ('age_band', e.payload ->> 'age_band'),"
                            " ('education', e.payload ->> 'education'),"
                            " ('occupation', e.payload ->> 'occupation')) AS x(f, v)"
                            " WHERE e.type = 'citizen_feedback' AND e.payload ? 'skm' AND e.unit = $1"
                            " AND e.period = ANY (kinerja_period_months($2)) GROUP BY x.f, x.v",
                            2, params, public_on_profile_row, pc) < 0
               ? -1
               : 0;
}

static void public_profile_row(struct web_req *rq, const char *label, long long n, long long total)
{
    web_printf(&rq->out, "<tr><th scope=\"row\">");
    public_h(rq, label);
    web_printf(&rq->out, "</th><td class=\"num\">%lld</td><td class=\"num\">%.0f%%</td></tr>", n,
               total > 0 ? 100.0 * (double)n / (double)total : 0.0);
}

/* The respondents' profile (PermenPANRB 14/2017 reports it beside the IKM), shown from
 * PUBLIC_MIN_PROFILE respondents on, so that no single respondent is described. */
static void public_profile_render(struct web_req *rq, const struct public_unit *u, const char *period,
                                  long long respondents)
{
    web_printf(&rq->out, "<section id=\"responden\"><h2>Profil responden SKM</h2>");
    if (respondents < PUBLIC_MIN_PROFILE) {
        web_printf(&rq->out,
                   "<p class=\"muted\">Profil responden ditampilkan bila sedikitnya %d orang mengisi survei "
                   "pada periode ini.</p></section>\n",
                   PUBLIC_MIN_PROFILE);
        return;
    }
    struct public_profile_counts pc;
    if (public_load_profile(rq, u->code, period, &pc) < 0) {
        web_printf(&rq->out,
                   "<p class=\"muted\">Profil responden sedang tidak dapat dibaca.</p></section>\n");
        return;
    }
    web_printf(&rq->out, "<div class=\"cards\">");
    for (size_t i = 0; i < PUBLIC_PROFILE_FIELDS; i++) {
        const struct event_profile_set *pf = PUBLIC_PROFILE(i);
        long long total = pc.other[i] + pc.none[i];
        for (size_t c = 0; c < pf->n; c++)
            total += pc.n[i][c];
        web_printf(&rq->out, "<div class=\"card table-wrap\"><table id=\"profile-%s\"><caption>", pf->field);
        public_h(rq, pf->label);
        web_printf(&rq->out,
                   "</caption><thead><tr><th scope=\"col\">Pilihan</th><th scope=\"col\">Jumlah</th>"
                   "<th scope=\"col\">Persen</th></tr></thead><tbody>");
        for (size_t c = 0; c < pf->n; c++)
            public_profile_row(rq, pf->choice_labels[c], pc.n[i][c], total);
        if (pc.other[i])
            public_profile_row(rq, "Lainnya", pc.other[i], total);
        public_profile_row(rq, "Tidak diisi", pc.none[i], total);
        web_printf(&rq->out, "</tbody></table></div>");
    }
    web_printf(&rq->out, "</div></section>\n");
}

/* What the response form keeps when it is shown again after an error. */
struct public_respond_form {
    int rating; /* 0: none chosen */
    const char *comment;
    const char *error;
};

static void public_respond_form_render(struct web_req *rq, const struct public_unit *u,
                                       const struct public_respond_form *f)
{
    web_printf(&rq->out, "<section id=\"tanggapan\"><h2>Beri tanggapan</h2>");
    if (f && f->error) {
        web_printf(&rq->out, "<p class=\"error\">");
        public_h(rq, f->error);
        web_printf(&rq->out, "</p>");
    }
    web_printf(&rq->out, "<form id=\"respond\" class=\"public-form\" method=\"post\" action=\"");
    public_unit_href(rq, "/publik/unit/", u->code, "/tanggapan");
    web_printf(&rq->out, "\">");
    web_csrf_field(rq, &rq->out);
    web_printf(&rq->out, "<fieldset><legend>Seberapa puas Anda dengan pelayanan unit ini?</legend>");
    for (int v = IKM_ANSWER_MIN; v <= IKM_ANSWER_MAX; v++) {
        web_printf(&rq->out,
                   "<label class=\"choice\"><input type=\"radio\" name=\"rating\" value=\"%d\" required%s> ",
                   v, f && f->rating == v ? " checked" : "");
        public_h(rq, public_rating_labels[v - 1]);
        web_printf(&rq->out, "</label>");
    }
    web_printf(
        &rq->out,
        "</fieldset><label class=\"field\" for=\"comment\">Kritik atau saran (boleh kosong, paling "
        "banyak %d byte)</label><textarea id=\"comment\" name=\"comment\" maxlength=\"%d\" rows=\"4\">",
        EVENT_COMMENT_MAX, EVENT_COMMENT_MAX);
    if (f && f->comment)
        public_h(rq, f->comment);
    web_printf(&rq->out,
               "</textarea><p class=\"muted\">Tanggapan dikirim tanpa nama dan tidak ditampilkan di "
               "halaman ini.</p><button id=\"respond-submit\" type=\"submit\">Kirim tanggapan</button>"
               "</form><p><a href=\"");
    public_unit_href(rq, "/survey/", u->code, "");
    web_printf(&rq->out, "\">Isi Survei Kepuasan Masyarakat lengkap (9 pertanyaan)</a></p>");
    /* the code a counter prints: the survey of this unit */
    web_printf(&rq->out, "<figure class=\"qr\"><img src=\"");
    public_unit_href(rq, "/qr/", u->code, ".png");
    web_printf(&rq->out, "\" alt=\"Kode QR Survei Kepuasan Masyarakat ");
    public_h(rq, public_unit_title(u));
    web_printf(&rq->out, "\"><figcaption>Pindai untuk mengisi survei di ponsel. Unduh: <a href=\"");
    public_unit_href(rq, "/qr/", u->code, ".png");
    web_printf(&rq->out, "\">PNG</a>, <a href=\"");
    public_unit_href(rq, "/qr/", u->code, ".svg");
    web_printf(&rq->out, "\">SVG</a></figcaption></figure></section>\n");
}

/* The unit page; f is the response form to show again (NULL: a fresh one). */
static void public_unit_page(struct web_req *rq, const struct public_unit *unit,
                             const struct public_respond_form *f)
{
    struct public_periods ps;
    char period[PUBLIC_PERIOD_MAX + 1];
    struct public_landing_unit u;
    struct public_skm skm;
    struct public_trend trend;
    memset(&u, 0, sizeof u);
    u.u = *unit;
    if (public_load_periods(rq, &ps) < 0) {
        public_db_unavailable(rq);
        return;
    }
    if (!public_pick_period(rq, &ps, period))
        return;
    if (resultstore_each_unit(rq->db, period, public_on_one_unit, &u) < 0 ||
        public_load_sums(rq, unit->code, period, &skm, &trend) < 0) {
        public_db_unavailable(rq);
        return;
    }
    char plabel[64], title[PUBLIC_NAME_MAX + 64];
    public_period_label(period, plabel, sizeof plabel);
    web_page_begin(rq, public_unit_title(unit));
    public_stylesheet(rq);
    web_printf(&rq->out, "<h1>");
    public_h(rq, public_unit_title(unit));
    web_printf(&rq->out, "</h1>\n");
    web_printf(&rq->out, "<p><a href=\"/publik?period=%s\">&larr; Semua unit layanan</a></p>", period);
    {
        struct buf action;
        buf_init(&action, 512);
        public_put_url_part(&action, unit->code);
        web_printf(&rq->out, "<p class=\"muted\">Kode unit: ");
        public_h(rq, unit->code);
        web_printf(&rq->out, "</p>");
        char act[600];
        snprintf(act, sizeof act, "/publik/unit/%s", action.data ? action.data : "");
        public_period_form(rq, act, &ps, period);
        buf_free(&action);
    }

    /* the IKM */
    long centi = public_skm_centi(&skm);
    web_printf(&rq->out, "<section id=\"ikm\"><h2>Indeks Kepuasan Masyarakat (IKM), ");
    public_h(rq, plabel);
    web_printf(&rq->out, "</h2><div class=\"cards\">");
    if (skm.n > 0) {
        enum ikm_mutu m = ikm_mutu_of_centi(centi);
        web_printf(&rq->out,
                   "<div class=\"card\"><p>IKM</p><p class=\"figure mutu-%s\" id=\"ikm-value\">%ld.%02ld</p>"
                   "<p id=\"mutu\">Mutu pelayanan %s (%s)</p></div>",
                   ikm_mutu_name(m), centi / 100, centi % 100, ikm_mutu_name(m), ikm_mutu_label(m));
    } else {
        web_printf(&rq->out, "<div class=\"card\"><p>IKM</p><p class=\"figure\" id=\"ikm-value\">-</p>"
                             "<p>Belum ada survei SKM pada periode ini.</p></div>");
    }
    web_printf(
        &rq->out,
        "<div class=\"card\"><p>Jumlah responden SKM</p><p class=\"figure\" id=\"skm-n\">%lld</p></div>"
        "<div class=\"card\"><p>Penilaian tombol kepuasan</p><p class=\"figure\" id=\"presses\">%d</p>",
        skm.n, u.presses);
    if (u.has_sat)
        web_printf(&rq->out, "<p>Rata-rata kepuasan %.2f dari 4</p>", u.sat);
    web_printf(&rq->out, "</div></div>");

    /* the nine elements */
    web_printf(&rq->out,
               "<div class=\"table-wrap\"><table id=\"elements\"><caption>Nilai per unsur pelayanan"
               "</caption><thead><tr><th scope=\"col\">No.</th><th scope=\"col\">Unsur pelayanan</th>"
               "<th scope=\"col\">Nilai rata-rata (1-4)</th><th scope=\"col\">Nilai (25-100)</th>"
               "<th scope=\"col\">Mutu pelayanan</th></tr></thead><tbody>");
    struct svg_bar bars[IKM_ELEMENTS];
    long long weakest = -1; /* the lowest element sum (every element has the same n) */
    for (int k = 0; k < IKM_ELEMENTS && skm.n > 0; k++)
        if (weakest < 0 || skm.sum[k] < weakest)
            weakest = skm.sum[k];
    for (int k = 0; k < IKM_ELEMENTS; k++) {
        web_printf(&rq->out,
                   "<tr class=\"element-row%s\" data-element=\"u%d\"><td class=\"num\">%d</td><th "
                   "scope=\"row\">",
                   skm.n > 0 && skm.sum[k] == weakest ? " weakest" : "", k + 1, k + 1);
        public_h(rq, public_element_names[k]);
        web_printf(&rq->out, "</th>");
        bars[k].label = public_element_names[k];
        bars[k].value = 0;
        bars[k].text[0] = '\0';
        if (skm.n > 0) {
            long ec = public_element_centi(&skm, k);
            enum ikm_mutu m = ikm_mutu_of_centi(ec);
            /* the mean to two decimals, rounded half up from the integer sum: floor((200 S + n) / (2 n)) */
            long long mean_centi = (200LL * skm.sum[k] + skm.n) / (2 * skm.n);
            web_printf(
                &rq->out,
                "<td class=\"num elem-mean\">%lld.%02lld</td><td class=\"num elem-value\">%ld.%02ld</td>"
                "<td class=\"mutu-%s\">%s (%s)</td></tr>",
                mean_centi / 100, mean_centi % 100, ec / 100, ec % 100, ikm_mutu_name(m), ikm_mutu_name(m),
                ikm_mutu_label(m));
            bars[k].value = ec / 100.0;
            snprintf(bars[k].text, sizeof bars[k].text, "%ld.%02ld", ec / 100, ec % 100);
        } else {
            web_printf(&rq->out, "<td class=\"num\">-</td><td class=\"num\">-</td><td>-</td></tr>");
        }
    }
    web_printf(&rq->out, "</tbody></table></div>");
    if (skm.n > 0) {
        web_printf(&rq->out, "<p id=\"weakest\">Unsur dengan nilai terendah:");
        for (int k = 0, first = 1; k < IKM_ELEMENTS; k++)
            if (skm.sum[k] == weakest) {
                long ec = public_element_centi(&skm, k);
                web_printf(&rq->out, "%s ", first ? "" : ";");
                public_h(rq, public_element_names[k]);
                web_printf(&rq->out, " (%ld.%02ld)", ec / 100, ec % 100);
                first = 0;
            }
        web_printf(&rq->out, ". Unsur ini yang paling perlu diperbaiki.</p>");
        snprintf(title, sizeof title, "Nilai per unsur pelayanan (25-100), %s", plabel);
        svg_bar_chart(&rq->out, title, bars, IKM_ELEMENTS, 100.0);
    }
    web_printf(&rq->out,
               "<p class=\"muted\">IKM = (jumlah nilai rata-rata sembilan unsur / 9) &times; 25. "
               "Mutu: A 88,31-100 (Sangat Baik), B 76,61-88,30 (Baik), C 65,00-76,60 (Kurang Baik), "
               "D 25,00-64,99 (Tidak Baik).</p></section>\n");

    public_profile_render(rq, unit, period, skm.n);

    /* the trend */
    web_printf(&rq->out, "<section id=\"tren\"><h2>Tren IKM %d bulan terakhir</h2>", PUBLIC_TREND_MONTHS);
    snprintf(title, sizeof title, "Tren IKM per bulan: %s", public_unit_title(unit));
    public_trend_render(rq, &trend, title, "trend");
    web_printf(&rq->out, "</section>\n");

    /* the distribution */
    web_printf(&rq->out, "<section id=\"predikat\"><h2>Sebaran predikat kinerja pegawai</h2>");
    if (public_shows_predikat(&u)) {
        snprintf(title, sizeof title, "Sebaran predikat hasil kinerja yang ditandatangani, %s", plabel);
        public_predikat_chart(rq, title, u.signed_predikat);
        web_printf(&rq->out,
                   "<div class=\"table-wrap\"><table id=\"predikat-table\"><caption>Hasil kinerja yang "
                   "ditandatangani per predikat</caption><thead><tr><th scope=\"col\">Predikat</th>"
                   "<th scope=\"col\">Jumlah</th></tr></thead><tbody>");
        for (int k = 0; k < RESULTSTORE_PREDIKATS; k++) {
            web_printf(&rq->out, "<tr data-predikat=\"%s\"><th scope=\"row\">", event_predikat_codes[k]);
            public_h(rq, resultstore_predikat_label(event_predikat_codes[k]));
            web_printf(&rq->out, "</th><td class=\"num\">%lld</td></tr>", u.signed_predikat[k]);
        }
        web_printf(&rq->out, "</tbody></table></div>");
    } else {
        web_printf(&rq->out,
                   "<p class=\"muted\">Sebaran ditampilkan bila sedikitnya %d hasil kinerja unit ini "
                   "sudah ditandatangani pejabat penilai, agar predikat seseorang tidak dapat diketahui."
                   "</p>",
                   PUBLIC_MIN_SIGNED);
    }
    web_printf(&rq->out, "</section>\n");

    public_respond_form_render(rq, unit, f);
    web_page_end(rq);
}

/* ---------------------------------------------------------------- sending */

/* The source of a citizen_feedback sent from this site: web:<unit>, cut to the
 * envelope's EVENT_SOURCE_MAX bytes (at a character boundary) for a very long code. */
static void public_source(const char *unit, char *out, size_t outlen)
{
    char s[EVENT_SOURCE_MAX + 1];
    snprintf(s, sizeof s, "%s", PUBLIC_SOURCE_PREFIX);
    size_t used = strlen(s);
    public_copy_text(s + used, sizeof s - used, unit);
    snprintf(out, outlen, "%s", s);
}

/* Sends fields as a citizen_feedback; true when the broker accepted it (or had it
 * already), with the id in sent. Otherwise the error page is set. */
static bool public_send(struct web_req *rq, const char *unit, json_t *fields, struct web_sent *sent)
{
    char source[EVENT_SOURCE_MAX + 1];
    public_source(unit, source, sizeof source);
    memset(sent, 0, sizeof *sent);
    int rc = web_send_event(rq->w, "citizen_feedback", source, fields, sent);
    if (rc == 0 && (!strcmp(sent->status, "accepted") || !strcmp(sent->status, "duplicate")))
        return true;
    if (rc == 0 && !strcmp(sent->status, "rejected")) {
        char msg[512];
        snprintf(msg, sizeof msg, "Tanggapan ditolak: %s", sent->error);
        web_error(rq, 400, msg);
        return false;
    }
    web_error(rq, 503, "Tanggapan belum dapat diterima saat ini. Silakan kirim lagi beberapa saat lagi.");
    return false;
}

static void public_rate_limited(struct web_req *rq, int max)
{
    char msg[256];
    snprintf(msg, sizeof msg,
             "Terlalu banyak kiriman dari alamat Anda (paling banyak %d per jam). Silakan coba lagi %s.", max,
             PUBLIC_RATE_RETRY_TEXT);
    web_error(rq, 429, msg);
}

/* Reads form field name whole into a malloc'd string ("" when absent); NULL when out
 * of memory (the 500 is set). */
static char *public_form_field(struct web_req *rq, const char *name)
{
    char *v = malloc(PUBLIC_FIELD_MAX + 1);
    if (!v) {
        web_error(rq, 500, "Kehabisan memori.");
        return NULL;
    }
    if (!web_form(rq, name, v, PUBLIC_FIELD_MAX + 1))
        v[0] = '\0';
    return v;
}

/* Checks a comment: at most EVENT_COMMENT_MAX bytes of valid UTF-8. NULL when fine,
 * else the reason (in msg). */
static const char *public_comment_problem(const char *c, char *msg, size_t msglen)
{
    size_t n = strlen(c);
    if (n > EVENT_COMMENT_MAX) {
        snprintf(msg, msglen, "Komentar terlalu panjang: paling banyak %d byte, terisi %zu byte.",
                 EVENT_COMMENT_MAX, n);
        return msg;
    }
    if (!event_valid_utf8(c, n)) {
        snprintf(msg, msglen, "Komentar memuat karakter yang tidak sah (bukan UTF-8).");
        return msg;
    }
    return NULL;
}

/* The thank-you page after a sent response or survey. */
static void public_thanks(struct web_req *rq, const struct public_unit *u, const struct web_sent *sent,
                          const char *what, const char *comment)
{
    web_page_begin(rq, "Terima kasih");
    public_stylesheet(rq);
    web_printf(&rq->out, "<h1>Terima kasih</h1>\n");
    web_printf(&rq->out, "<p class=\"notice\">Terima kasih, %s untuk ", what);
    public_h(rq, public_unit_title(u));
    web_printf(&rq->out, " sudah kami terima. Nomor tanda terima: <span id=\"event-id\">");
    public_h(rq, sent->id);
    web_printf(&rq->out, "</span></p>");
    if (comment && comment[0]) {
        web_printf(&rq->out, "<p>Komentar Anda:</p><blockquote class=\"comment\">");
        public_h(rq, comment);
        web_printf(&rq->out, "</blockquote>");
    }
    web_printf(&rq->out, "<p><a href=\"");
    public_unit_href(rq, "/publik/unit/", u->code, "");
    web_printf(&rq->out,
               "\">Kembali ke halaman unit</a> &middot; <a href=\"/publik\">Semua unit layanan</a></p>");
    web_page_end(rq);
}

/* ---------------------------------------------------------------- response POST */

static void public_respond(struct web_req *rq, struct public_unit *u)
{
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu kirim lagi.");
        return;
    }
    if (!public_unit_resolve(rq, u))
        return;
    char rating_s[8] = "";
    char *comment = public_form_field(rq, "comment");
    if (!comment)
        return;
    struct public_respond_form f = {.comment = comment};
    char msg[256];
    if (!web_form(rq, "rating", rating_s, sizeof rating_s) || strlen(rating_s) != 1 || rating_s[0] < '1' ||
        rating_s[0] > '4') {
        f.error = "Pilih salah satu dari empat tingkat kepuasan (Sangat tidak puas sampai Sangat puas).";
    } else {
        f.rating = rating_s[0] - '0';
        f.error = public_comment_problem(comment, msg, sizeof msg);
    }
    if (f.error) {
        public_unit_page(rq, u, &f);
        if (rq->status == 200)
            rq->status = 400;
        free(comment);
        return;
    }
    if (!web_rate_allow(rq->w, "respond", rq->addr, PUBLIC_RESPOND_MAX, PUBLIC_RESPOND_WINDOW_S)) {
        public_rate_limited(rq, PUBLIC_RESPOND_MAX);
        free(comment);
        return;
    }
    json_t *fields = json_pack("{s:s, s:i}", "unit", u->code, "rating", f.rating);
    if (fields && comment[0])
        json_object_set_new(fields, "comment", json_string(comment));
    struct web_sent sent;
    if (!fields)
        web_error(rq, 500, "Kehabisan memori.");
    else if (public_send(rq, u->code, fields, &sent))
        public_thanks(rq, u, &sent, "tanggapan Anda", comment);
    json_decref(fields);
    free(comment);
}

/* ---------------------------------------------------------------- survey */

struct public_survey_form {
    int answer[IKM_ELEMENTS];                                   /* 1..4, 0 = not answered */
    char profile[PUBLIC_PROFILE_FIELDS][EVENT_PROFILE_MAX + 1]; /* codes, "" = not given */
    const char *service;                                        /* NULL = none */
    const char *comment;
    bool submitted; /* shown again after a POST: mark what is missing */
    const char *error;
};

/* The service name of a survey link: at most EVENT_SERVICE_MAX bytes of UTF-8, as the
 * event's own `service`. NULL when fine, else the reason. */
static const char *public_service_problem(const char *s)
{
    size_t n = strlen(s);
    if (n > EVENT_SERVICE_MAX)
        return "Nama layanan (service) terlalu panjang: paling banyak " PUBLIC_STR(
            EVENT_SERVICE_MAX) " byte.";
    if (!event_valid_utf8(s, n))
        return "Nama layanan (service) memuat karakter yang tidak sah (bukan UTF-8).";
    return NULL;
}

static void public_survey_render(struct web_req *rq, const struct public_unit *u,
                                 const struct public_survey_form *f)
{
    web_page_begin(rq, "Survei Kepuasan Masyarakat");
    public_stylesheet(rq);
    web_printf(&rq->out, "<h1>Survei Kepuasan Masyarakat</h1>\n");
    web_printf(&rq->out, "<p class=\"lead\">Unit layanan: <strong id=\"survey-unit\">");
    public_h(rq, public_unit_title(u));
    web_printf(&rq->out, "</strong>");
    if (f->service && f->service[0]) {
        web_printf(&rq->out, "<br>Layanan: <strong id=\"survey-service\">");
        public_h(rq, f->service);
        web_printf(&rq->out, "</strong>");
    }
    web_printf(&rq->out, "</p><p class=\"muted\">Sembilan pertanyaan Survei Kepuasan Masyarakat (Peraturan "
                         "Menteri PANRB Nomor 14 Tahun 2017). Jawaban Anda tanpa nama; data diri boleh "
                         "dikosongkan.</p>");
    int missing = 0;
    for (int k = 0; k < IKM_ELEMENTS; k++)
        missing += f->submitted && !f->answer[k];
    if (f->error) {
        web_printf(&rq->out, "<p class=\"error\">");
        public_h(rq, f->error);
        web_printf(&rq->out, "</p>");
    }
    if (missing) {
        web_printf(&rq->out, "<p class=\"error\" id=\"missing\">Pertanyaan yang belum dijawab:");
        for (int k = 0, first = 1; k < IKM_ELEMENTS; k++)
            if (!f->answer[k]) {
                web_printf(&rq->out, "%s %d", first ? "" : ",", k + 1);
                first = 0;
            }
        web_printf(&rq->out, ". Semua pertanyaan wajib dijawab.</p>");
    }
    web_printf(&rq->out, "<form id=\"survey\" class=\"public-form\" method=\"post\" action=\"");
    public_unit_href(rq, "/survey/", u->code, "");
    web_printf(&rq->out, "\">");
    web_csrf_field(rq, &rq->out);
    if (f->service && f->service[0]) {
        web_printf(&rq->out, "<input type=\"hidden\" name=\"service\" value=\"");
        public_h(rq, f->service);
        web_printf(&rq->out, "\">");
    }
    for (int k = 0; k < IKM_ELEMENTS; k++) {
        bool miss = f->submitted && !f->answer[k];
        web_printf(&rq->out, "<fieldset id=\"q-u%d\" class=\"q%s\"><legend>%d. ", k + 1,
                   miss ? " missing" : "", k + 1);
        public_h(rq, public_questions[k].text);
        web_printf(&rq->out, "</legend>");
        if (miss)
            web_printf(&rq->out, "<p class=\"missing-note\">Belum dijawab</p>");
        for (int v = IKM_ANSWER_MIN; v <= IKM_ANSWER_MAX; v++) {
            web_printf(&rq->out,
                       "<label class=\"choice\"><input type=\"radio\" name=\"u%d\" value=\"%d\" required%s> ",
                       k + 1, v, f->answer[k] == v ? " checked" : "");
            public_h(rq, public_questions[k].answers[v - 1]);
            web_printf(&rq->out, "</label>");
        }
        web_printf(&rq->out, "</fieldset>");
    }
    web_printf(&rq->out, "<fieldset><legend>Data responden (boleh dikosongkan)</legend>");
    for (size_t i = 0; i < PUBLIC_PROFILE_FIELDS; i++) {
        const struct event_profile_set *pf = PUBLIC_PROFILE(i);
        web_printf(&rq->out, "<label class=\"field\" for=\"%s\">", pf->field);
        public_h(rq, pf->label);
        web_printf(&rq->out, "</label><select id=\"%s\" name=\"%s\"><option value=\"\">- pilih -</option>",
                   pf->field, pf->field);
        for (size_t c = 0; c < pf->n; c++) {
            web_printf(&rq->out, "<option value=\"%s\"%s>", pf->codes[c],
                       !strcmp(f->profile[i], pf->codes[c]) ? " selected" : "");
            public_h(rq, pf->choice_labels[c]);
            web_printf(&rq->out, "</option>");
        }
        web_printf(&rq->out, "</select>");
    }
    web_printf(
        &rq->out,
        "</fieldset><label class=\"field\" for=\"comment\">Kritik dan saran (boleh kosong, paling banyak %d "
        "byte)</label><textarea id=\"comment\" name=\"comment\" maxlength=\"%d\" rows=\"4\">",
        EVENT_COMMENT_MAX, EVENT_COMMENT_MAX);
    if (f->comment)
        public_h(rq, f->comment);
    web_printf(&rq->out,
               "</textarea><button id=\"survey-submit\" type=\"submit\">Kirim survei</button></form>");
    web_page_end(rq);
}

static void public_survey_get(struct web_req *rq, struct public_unit *u)
{
    if (!public_unit_resolve(rq, u))
        return;
    char *service = malloc(PUBLIC_QUERY_MAX);
    if (!service) {
        web_error(rq, 500, "Kehabisan memori.");
        return;
    }
    if (!web_query(rq, "service", service, PUBLIC_QUERY_MAX))
        service[0] = '\0';
    const char *problem = public_service_problem(service);
    if (problem) {
        web_error(rq, 400, problem);
        free(service);
        return;
    }
    struct public_survey_form f;
    memset(&f, 0, sizeof f);
    f.service = service;
    public_survey_render(rq, u, &f);
    free(service);
}

static void public_survey_post(struct web_req *rq, struct public_unit *u)
{
    if (!web_csrf_ok(rq)) {
        web_error(rq, 403, "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu kirim lagi.");
        return;
    }
    if (!public_unit_resolve(rq, u))
        return;
    struct public_survey_form f;
    memset(&f, 0, sizeof f);
    f.submitted = true;
    char *service = public_form_field(rq, "service");
    char *comment = service ? public_form_field(rq, "comment") : NULL;
    if (!comment) {
        free(service);
        return;
    }
    f.service = service;
    f.comment = comment;

    char msg[512];
    int missing = 0;
    for (int k = 0; k < IKM_ELEMENTS; k++) {
        char name[8], v[8];
        snprintf(name, sizeof name, "u%d", k + 1);
        if (web_form(rq, name, v, sizeof v) && strlen(v) == 1 && v[0] >= '1' && v[0] <= '4')
            f.answer[k] = v[0] - '0';
        else
            missing++;
    }
    for (size_t i = 0; i < PUBLIC_PROFILE_FIELDS; i++) {
        const struct event_profile_set *pf = PUBLIC_PROFILE(i);
        char v[PUBLIC_QUERY_MAX];
        if (!web_form(rq, pf->field, v, sizeof v) || !v[0])
            continue;
        int choice = event_profile_code_index((enum event_profile_field)i, v, strlen(v));
        if (choice >= 0) {
            snprintf(f.profile[i], sizeof f.profile[i], "%s", pf->codes[choice]);
        } else if (!f.error) { /* the first problem is named; the form keeps the rest */
            char shown[PUBLIC_SHOW_MAX + 1];
            public_copy_text(shown, sizeof shown, v);
            size_t o = (size_t)snprintf(
                msg, sizeof msg, "%s (%s): nilai '%s' tidak dikenal; pilihan:", pf->label, pf->field, shown);
            for (size_t c = 0; c < pf->n && o < sizeof msg; c++)
                o += (size_t)snprintf(msg + o, sizeof msg - o, "%s %s", c ? "," : "", pf->codes[c]);
            f.error = msg;
        }
    }
    if (!f.error)
        f.error = public_service_problem(service);
    if (!f.error)
        f.error = public_comment_problem(comment, msg, sizeof msg);

    if (f.error || missing) {
        public_survey_render(rq, u, &f);
        rq->status = 400;
        goto out;
    }
    if (!web_rate_allow(rq->w, "survey", rq->addr, PUBLIC_SURVEY_MAX, PUBLIC_SURVEY_WINDOW_S)) {
        public_rate_limited(rq, PUBLIC_SURVEY_MAX);
        goto out;
    }
    json_t *fields = json_object();
    json_t *skm = json_object();
    if (!fields || !skm) {
        json_decref(fields);
        json_decref(skm);
        web_error(rq, 500, "Kehabisan memori.");
        goto out;
    }
    for (int k = 0; k < IKM_ELEMENTS; k++) {
        char name[8];
        snprintf(name, sizeof name, "u%d", k + 1);
        json_object_set_new(skm, name, json_integer(f.answer[k]));
    }
    json_object_set_new(fields, "unit", json_string(u->code));
    json_object_set_new(fields, "skm", skm);
    if (service[0])
        json_object_set_new(fields, "service", json_string(service));
    for (size_t i = 0; i < PUBLIC_PROFILE_FIELDS; i++)
        if (f.profile[i][0])
            json_object_set_new(fields, PUBLIC_PROFILE(i)->field, json_string(f.profile[i]));
    if (comment[0])
        json_object_set_new(fields, "comment", json_string(comment));
    struct web_sent sent;
    if (public_send(rq, u->code, fields, &sent))
        public_thanks(rq, u, &sent, "survei Anda", comment);
    json_decref(fields);
out:
    free(service);
    free(comment);
}

/* ---------------------------------------------------------------- QR */

static void public_qr(struct web_req *rq, struct public_unit *u, bool svg)
{
    if (!public_unit_resolve(rq, u))
        return;
    char service[PUBLIC_QUERY_MAX];
    if (!web_query(rq, "service", service, sizeof service))
        service[0] = '\0';
    const char *problem = public_service_problem(service);
    if (problem) {
        web_error(rq, 400, problem);
        return;
    }
    struct buf url;
    buf_init(&url, PUBLIC_URL_MAX);
    const char *base = web_public_url(rq->w);
    size_t blen = base ? strlen(base) : 0;
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    int rc = buf_append(&url, base ? base : "", blen);
    rc |= buf_puts(&url, "/survey/");
    rc |= public_put_url_part(&url, u->code);
    if (service[0]) {
        rc |= buf_puts(&url, "?service=");
        rc |= public_put_url_part(&url, service);
    }
    char err[256];
    if (rc < 0) {
        web_error(rq, 400, "Alamat survei terlalu panjang untuk kode QR.");
    } else if ((svg ? qr_svg : qr_png)(url.data, &rq->out, err, sizeof err) < 0) {
        buf_reset(&rq->out);
        web_error(rq, 500, err);
    } else {
        rq->ctype = svg ? "image/svg+xml" : "image/png";
        rq->cacheable = true;
    }
    buf_free(&url);
}

/* ---------------------------------------------------------------- dispatch */

bool public_dispatch(struct web_req *rq)
{
    const char *p = rq->path, *rest;
    struct public_unit u;
    size_t n;
    memset(&u, 0, sizeof u);

    if (!strcmp(p, "/") || !strcmp(p, "/publik") || !strcmp(p, "/publik/")) {
        if (!public_method_is(rq, "GET"))
            public_not_allowed(rq);
        else
            public_landing_page(rq);
        return true;
    }
    if (!strcmp(p, "/static/public.css")) {
        if (!public_method_is(rq, "GET")) {
            public_not_allowed(rq);
            return true;
        }
        buf_append(&rq->out, public_css, sizeof public_css - 1);
        rq->ctype = "text/css; charset=utf-8";
        rq->cacheable = true;
        return true;
    }
    if (web_path_is(p, "/publik/unit/", &rest)) {
        bool respond = public_ends_with(rest, "/tanggapan", &n);
        if (!respond)
            n = strlen(rest);
        if (!public_code_from_path(rest, n, &u))
            web_error(rq, 404, "Unit layanan tidak ditemukan.");
        else if (respond && !strcmp(rq->method, "POST"))
            public_respond(rq, &u);
        else if (respond || !public_method_is(rq, "GET"))
            public_not_allowed(rq);
        else if (public_unit_resolve(rq, &u))
            public_unit_page(rq, &u, NULL);
        return true;
    }
    if (web_path_is(p, "/survey/", &rest)) {
        if (!public_code_from_path(rest, strlen(rest), &u))
            web_error(rq, 404, "Unit layanan tidak ditemukan.");
        else if (!strcmp(rq->method, "POST"))
            public_survey_post(rq, &u);
        else if (public_method_is(rq, "GET"))
            public_survey_get(rq, &u);
        else
            public_not_allowed(rq);
        return true;
    }
    if (web_path_is(p, "/qr/", &rest)) {
        bool svg = public_ends_with(rest, ".svg", &n);
        if ((!svg && !public_ends_with(rest, ".png", &n)) || !public_code_from_path(rest, n, &u))
            web_error(rq, 404, "Kode QR tidak ditemukan.");
        else if (!public_method_is(rq, "GET"))
            public_not_allowed(rq);
        else
            public_qr(rq, &u, svg);
        return true;
    }
    return false;
}
