/*
 * views: the JSON documents people read, built in one place for the `kinerja` CLI's
 * --json output (tools/cmd_*.c) and for the web front end kinerja-web (web/, SPEC 12),
 * so both serve exactly the same shapes. Read only; only parameterized SQL.
 *
 * Each view_* appends one JSON document to out (no trailing newline: the CLI adds it).
 * tz is the time.zone setting: the view sets the session's time zone to it
 * (pgstore_use_time_zone) before it reads, so every time shown is in tz; NULL keeps the
 * session's zone. Thread-safe as long as each thread uses its own pgstore.
 *
 * Returns VIEW_OK; VIEW_NOT_FOUND when the thing asked for does not exist (an argument
 * that cannot name one, e.g. a NIP that is not 18 digits, is also NOT_FOUND, with err
 * naming the field); VIEW_ERROR when it could not be read (database down, bad stored
 * data, out's bound reached). On NOT_FOUND / ERROR out is reset to its length on entry
 * and err holds a one-line reason (the CLI prints "kinerja CMD: <err>").
 *
 * Shapes (the CLI's documents, byte for byte):
 *   view_score    {"employee","period","version","state", the stored result's members
 *                 (predikat, score, hasil_kerja, perilaku, ikm, satisfaction, training,
 *                 breakdown), "history":[...],"comments":[{"group","text","at"?}],
 *                 "time_zone"}; comments: the umpan balik of the shown rater groups only
 *                 (never the rater; "at" only for supervisor and self), see views.c
 *   view_queue    an ARRAY (the CLI's document): [{"employee","name","unit","period",
 *                 "version","predikat","score","pending_since","calibration","highlights",
 *                 "warnings":[text]}], oldest pending_since first
 *   view_inbox    an ARRAY: [{"id","kind","recipient","employee","period","version",
 *                 "created_at","status","superseded","superseded_by_version","payload"}],
 *                 newest first, one element a line
 *   view_status   {"stream_length","pending","stored","rejected","dead","results":{},
 *                 "notifications":{},"quarantined":[],"employees","units","redis_ok",
 *                 "postgres_ok","curve_units"}
 *   the others    as documented at each function.
 */
#ifndef KINERJA_VIEWS_H
#define KINERJA_VIEWS_H

#include "buf.h"
#include "config.h"
#include "pgstore.h"

#include <stdbool.h>
#include <stddef.h>

#define VIEW_OK 0
#define VIEW_NOT_FOUND 1 /* no such employee / result / event / version */
#define VIEW_ERROR (-1)  /* err says why (database down, bad data) */

#define VIEW_REJECTIONS_MAX 1000 /* rows view_rejections returns at most */
#define VIEW_INBOX_LIMIT_MAX 1000000L

/* = kinerja score NIP --period P [--version V] --json; version 0 = the current one.
 * NOT_FOUND: unknown NIP, no result (or no score version yet) for the period, no such
 * version. */
int view_score(struct pgstore *db, const char *nip, const char *period, int version, const char *tz,
               struct buf *out, char *err, size_t errlen);

/* {"employee":NIP,"name","unit","supervisor","results":[{"period","version","state",
 * "predikat","score","computed_at"}]}: every result of the employee, newest period
 * first; predikat is the one revised on appeal where a decision revised it, null when
 * not decided; score null when none; computed_at (ISO 8601 in tz) of the current
 * version, null before the first. NOT_FOUND when the employee is unknown. */
int view_results(struct pgstore *db, const char *nip, const char *tz, struct buf *out, char *err,
                 size_t errlen);

/* = kinerja queue --supervisor S --json (an array; see the top). An empty queue is
 * "[]" and VIEW_OK. */
int view_queue(struct pgstore *db, const char *supervisor, const char *tz, struct buf *out, char *err,
               size_t errlen);

/* The warnings of one queue entry (from its highlights JSON text and calibration flag)
 * joined with "; " into line (n bytes; empty: none), as `kinerja queue` shows them. */
void view_queue_warnings_line(const char *highlights_json, bool calibration, char *line, size_t n);

/* = kinerja inbox NIP --json --limit LIMIT (0 = all). NOT_FOUND when NIP is neither an
 * employee nor an evaluator. */
int view_inbox(struct pgstore *db, const char *nip, long limit, const char *tz, struct buf *out, char *err,
               size_t errlen);

/* kinerja report's options; NULL / 0 / false = the defaults. */
struct view_report_opts {
    const char *unit;
    long top;
    bool provisional;
};

/*
 * = kinerja report KIND --period P --json (kind unit|awards|training|public|skm; SPEC 5.5, 5.6, 9):
 *   unit      an ARRAY [{"unit","name","ikm":{"value","mutu","n"}|null,"satisfaction":
 *             {"mean","n"},"results","signed_results","predikat":{"sangat_baik":n,...}}],
 *             every unit of the organisation, by code;
 *   public    the same with "predikat_basis":"signed" and the predikat counts of signed
 *             results only, null for a unit with fewer than VIEW_REPORT_PUBLIC_MIN_RESULTS;
 *   awards    an ARRAY [{"unit","rank","employee","name","score","predikat","state","raters",
 *             "signed"}]: per unit the top o->top trustworthy signed results (unsigned ones
 *             with o->provisional);
 *   training  an ARRAY [{"employee","name","unit","value","mean","course"}];
 *   curve     an ARRAY [{"unit","name","predikat"|null,"results","distribution":{"sangat_baik":n,
 *             ...},"follows":bool|null,"broken":[rule ids],"rules":[{"rule","requirement",
 *             "count","share_pct","pass","detail"}]}], every unit by code (SPEC 5.10).
 *   skm       the SKM report of PermenPANRB 14/2017 (SPEC 5.6), an ARRAY by unit code:
 *             [{"unit","name","respondents":n,
 *               "profile":{"gender":{"m":n,"f":n,"other":n,"none":n},"age_band":{...},
 *                          "education":{...},"occupation":{...}} | null (fewer than
 *                          VIEW_REPORT_SKM_MIN_PROFILE respondents; codes of
 *                          event_profile_set, "other" a code outside it, "none" not given),
 *               "elements":[{"element":"u1","name","sum","nrr","nrr_weighted","value",
 *                            "mutu"}] (nine; nrr = sum / n to 3 decimals, nrr_weighted =
 *                            nrr / 9, value = nrr x 25 and its mutu; null when n = 0),
 *               "nrr_weighted_sum", "ikm":{"value","mutu","label","n"} | null (the unit
 *               report's figure: ikm_centi_of_sum), "weakest":["u3",...] (lowest sum,
 *               ties all),
 *               "comments":[{"month","kind":"skm"|"rating","text"}] (newest first, at most
 *               VIEW_SKM_COMMENTS_MAX; the text only, never who), "comments_total"}];
 *             every unit of the organisation; with o->unit that unit only, NOT_FOUND
 *             when there is no such unit. Its table has one row per line of the
 *             layout (columns unit, section, item, label, n, nrr, nrr_weighted, value,
 *             mutu, text; sections respondents, profile, element, total, ikm, weakest,
 *             comments, comment).
 * o->unit keeps the rows of that unit only. No times are shown (tz is not used). An
 * unknown kind or a bad period is NOT_FOUND.
 */
int view_report(struct pgstore *db, const char *kind, const char *period, const struct view_report_opts *o,
                const char *tz, struct buf *out, char *err, size_t errlen);

/* kind "angka-kredit" (SPEC 5.11): an ARRAY [{"employee","name","unit","position","period",
 * "predikat","coefficient","share_percent","months","angka_kredit"}], one per signed result
 * (approved, appealed, final; the revised predikat where revised) of an employee with an
 * ak_coefficient, by unit and NIP; angka_kredit = coefficient x share x months / 12 rounded
 * half up to 2 decimals (common/angkakredit.h). period may be YYYY-MM, YYYY-Qn or YYYY. */
#define VIEW_REPORT_ANGKA_KREDIT "angka-kredit"

#define VIEW_REPORT_DEFAULT_TOP 3
#define VIEW_REPORT_TOP_MAX 100000
#define VIEW_REPORT_PUBLIC_MIN_RESULTS                                                                       \
    5 /* signed, decided results a unit needs before its distribution is public */
#define VIEW_REPORT_TRUST_MIN_RATERS 3 /* non-self raters a result needs to be trusted for awards */
#define VIEW_REPORT_SKM_MIN_PROFILE 5  /* SKM respondents before their profile is shown (no one described) */

/* A report as one table of text cells, for `kinerja report`'s table, CSV and HTML. BOOL
 * cells hold "true" / "false": JSON booleans, "yes" / "no" for people. */
enum view_col_kind { VIEW_COL_TEXT, VIEW_COL_NUMBER, VIEW_COL_BOOL };

struct view_column {
    const char *name;
    enum view_col_kind kind;
};

/* nrows x ncols cells of malloc'd text; NULL = no value (JSON null, "-" in a table). */
struct view_table {
    char title[256];
    const struct view_column *cols;
    size_t ncols;
    char **cells;
    size_t nrows, cap;
    const char *note; /* a line under the table, or NULL */
    bool oom;
    size_t unreadable; /* training: results whose training list could not be read (skipped) */
};

/* Reads report kind into t (view_table_free frees it, in every case) and appends its
 * JSON document (view_report's) to json unless json is NULL. Returns as view_report. */
int view_report_read(struct pgstore *db, const char *kind, const char *period,
                     const struct view_report_opts *o, struct view_table *t, struct buf *json, char *err,
                     size_t errlen);
void view_table_free(struct view_table *t);
const char *view_table_cell(const struct view_table *t, size_t r, size_t c);

/* {"periods":["2026-11","2026-10",...]}: every period with a result or citizen feedback,
 * newest first (a year "2026" sorts after its months). */
int view_periods(struct pgstore *db, struct buf *out, char *err, size_t errlen);

/*
 * Where event ID ended: {"id","state","where","type","source","employee","period","at",
 * "reason","note"}, state one of
 *   "stored"      in event_log (at = stored_at);
 *   "rejected"    in rejected_events (at = rejected_at, reason = why);
 *   "quarantined" stored, but the score worker set its result aside (score_quarantine:
 *                 reason = the error, at = since), or never stored after its deliveries
 *                 ran out (dead_letters: reason = the error, at = dead_at);
 *   "unknown"     not (yet) in PostgreSQL: "note" says it may still be in the Redis stream.
 * "where" names the table; absent members are null. "unknown" is VIEW_OK, not NOT_FOUND;
 * an id that is not a UUID is NOT_FOUND ("id: must be a UUID ...").
 */
int view_event(struct pgstore *db, const char *event_id, const char *tz, struct buf *out, char *err,
               size_t errlen);

/* {"rejections":[{"event_id","type","source","client","reason","at"}]}: newest first, at
 * most limit (1..VIEW_REJECTIONS_MAX; 0 or more = VIEW_REJECTIONS_MAX). */
int view_rejections(struct pgstore *db, long limit, const char *tz, struct buf *out, char *err,
                    size_t errlen);
/* The same, only events whose source starts with source (NULL or "": any) and that were
 * refused at or after since (a timestamptz PostgreSQL reads, e.g. "2026-05-01" or
 * "2026-05-01 08:00+07"; NULL or "": any time). A since PostgreSQL cannot read is
 * VIEW_ERROR with its message. For kinerja rejected (SPEC 9). */
int view_rejections_where(struct pgstore *db, long limit, const char *source, const char *since,
                          const char *tz, struct buf *out, char *err, size_t errlen);

/* = kinerja status --json: reads Redis and PostgreSQL itself. The document is appended
 * whenever it can be built: a store that cannot be read shows as null members and
 * redis_ok / postgres_ok false, and the return is then VIEW_ERROR with err naming it
 * ("Redis unreachable: ...; PostgreSQL: ..."; out keeps the document: the one exception
 * to the rule at the top). VIEW_OK with err non-empty: the quarantine list could not be
 * read ("quarantined": null). */
int view_status(const struct config *cfg, struct buf *out, char *err, size_t errlen);

/* What view_status reads, for `kinerja status`'s table: each store's part is valid when
 * its *_ok is true; otherwise its *_err says why ("Redis unreachable: ...",
 * "PostgreSQL: ..."). quarantine is NULL when it could not be read (quarantine_err). */
#define VIEW_STATUS_ERR_MAX 768
struct view_status_data {
    bool redis_ok, pg_ok;
    long long stream_length, pending;
    struct pg_status pg;
    /* score_quarantine (schemas/0008_quarantine.sql), oldest first, at most
     * VIEW_STATUS_QUARANTINE_MAX: employee, period, error, event ids ("a,b"), since
     * (UTC, ISO 8601), tries */
    PGresult *quarantine;
    char redis_err[VIEW_STATUS_ERR_MAX], pg_err[VIEW_STATUS_ERR_MAX], quarantine_err[VIEW_STATUS_ERR_MAX];
    /* (unit, period) pairs with an organisation predikat whose current results break its
     * pattern (SPEC 5.10, kinerja_curve_units in schemas/0013); curve_ok false when it
     * could not be read ("curve_units": null) */
    bool curve_ok;
    long long curve_units;
};
#define VIEW_STATUS_QUARANTINE_MAX 1000

/* Fills s (Redis first, then PostgreSQL). Returns 0 when both were read, -1 otherwise.
 * view_status_clear frees what it holds. */
int view_status_read(const struct config *cfg, struct view_status_data *s);
void view_status_clear(struct view_status_data *s);
/* Appends s as kinerja status --json's document. Returns 0 or -1 (out's bound / memory). */
int view_status_json(const struct view_status_data *s, struct buf *out);

#endif
