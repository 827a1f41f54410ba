/*
 * pgstore_events: the event store: COPY text format, one ingest batch (COPY into the
 * staging table, one set-based merge, kinerja_ingest_staged), the deferred derivation of
 * large batches (kinerja_derive_queued, schemas/0019), dead letters.
 */
#include "pgstore.h"
#include "pgstore_int.h"

#include "buf.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- COPY text format */

int copy_put_null(struct buf *b)
{
    return buf_puts(b, "\\N");
}

/* Field separator (tab) before every field but the first of a line. */
int copy_sep(struct buf *b, bool first)
{
    return first ? 0 : buf_putc(b, '\t');
}

int copy_put_str(struct buf *b, bool first, const char *s)
{
    if (copy_sep(b, first) < 0)
        return -1;
    return s ? buf_copy_escape(b, s, strlen(s)) : copy_put_null(b);
}

int copy_put_view(struct buf *b, bool first, struct strview v)
{
    if (copy_sep(b, first) < 0)
        return -1;
    return v.p ? buf_copy_escape(b, v.p, v.n) : copy_put_null(b);
}

int copy_put_i64(struct buf *b, bool first, bool present, int64_t v)
{
    if (copy_sep(b, first) < 0)
        return -1;
    return present ? buf_printf(b, "%" PRId64, v) : copy_put_null(b);
}

int copy_send(struct pgstore *db, struct buf *b, const char *what)
{
    if (b->len == 0)
        return 0;
    if (PQputCopyData(db->conn, b->data, (int)b->len) != 1)
        return pgstore_fail(db, NULL, what);
    buf_reset(b);
    return 0;
}

/* Ends COPY and reads its result. */
int copy_finish(struct pgstore *db, const char *what)
{
    if (PQputCopyEnd(db->conn, NULL) != 1)
        return pgstore_fail(db, NULL, what);
    PGresult *res;
    int rc = 0;
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
            rc = pgstore_fail(db, res, what);
        PQclear(res);
    }
    return rc;
}

int copy_start(struct pgstore *db, const char *sql, const char *what)
{
    PGresult *res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pgstore_fail(db, res, what);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* ---------------------------------------------------------------- ingest */

static const char ingest_staging_sql[] =
    "BEGIN;"
    "CREATE TEMP TABLE IF NOT EXISTS ingest_staging ("
    " seq int, id uuid, type text, source text, ts_ms bigint, employee text, unit text,"
    " period text, rater text, relation text, supervisor text, decider text, payload jsonb,"
    " stream_key text, stream_id text, received_ms bigint, reject_reason text, client text"
    ") ON COMMIT DELETE ROWS";

static const char ingest_copy_sql[] =
    "COPY ingest_staging (seq, id, type, source, ts_ms, employee, unit, period, rater, relation,"
    " supervisor, decider, payload, stream_key, stream_id, received_ms, reject_reason, client) FROM STDIN";

/* Text PostgreSQL can store: valid UTF-8 without NUL bytes. */
static bool pgstore_storable(const char *s, size_t n)
{
    return memchr(s, '\0', n) == NULL && event_valid_utf8(s, n);
}

/* jsonb refuses the escape \u0000; an escaped backslash before "u0000" is fine. */
static bool pgstore_json_has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 6 <= n && !memcmp(s + i + 2, "0000", 4))
            return true;
        i++; /* skip the escaped character */
    }
    return false;
}

/* The view itself, or an absent view when PostgreSQL could not store it; *bad names the
 * first such field. */
static struct strview pgstore_view(struct strview v, const char *field, const char **bad)
{
    if (v.p && !pgstore_storable(v.p, v.n)) {
        if (!*bad)
            *bad = field;
        return (struct strview){NULL, 0};
    }
    return v;
}

/* One line of COPY data for rows[i]. */
static int ingest_put_row(struct buf *b, size_t seq, const struct ingest_row *row)
{
    const struct event *ev = row->ev;
    const char *bad = NULL;
    struct strview source = pgstore_view(ev->source, "source", &bad);
    struct strview employee = pgstore_view(ev->employee, "employee", &bad);
    struct strview unit = pgstore_view(ev->unit, "unit", &bad);
    struct strview period = pgstore_view(ev->period, "period", &bad);
    struct strview rater = pgstore_view(ev->rater, "rater", &bad);
    struct strview supervisor = pgstore_view(ev->supervisor, "supervisor", &bad);
    struct strview decider = pgstore_view(ev->decider, "decider", &bad);
    const char *type = (unsigned)ev->type < EVENT_TYPE_COUNT ? event_type_name(ev->type) : NULL;
    const char *relation = (unsigned)ev->relation <= RELATION_SELF ? event_relation_name(ev->relation) : NULL;
    bool ts_ok = ev->ts >= EVENT_TS_MIN && ev->ts <= EVENT_TS_MAX;

    const char *payload = row->payload_json;
    size_t payload_len = row->payload_len;
    char why[128] = "";
    const char *reason = row->reject_reason;
    if (payload &&
        (!pgstore_storable(payload, payload_len) || pgstore_json_has_nul_escape(payload, payload_len))) {
        payload = NULL;
        snprintf(why, sizeof why, "payload: contains a NUL character or invalid UTF-8");
    }
    if (!reason) {
        if (bad)
            snprintf(why, sizeof why, "%s: contains a NUL byte or invalid UTF-8", bad);
        else if (!type)
            snprintf(why, sizeof why, "type: unknown");
        else if (!ts_ok)
            snprintf(why, sizeof why, "ts: out of range");
        else if (!payload && !why[0])
            snprintf(why, sizeof why, "payload: missing");
        if (why[0])
            reason = why;
    }
    if (reason && !pgstore_storable(reason, strlen(reason)))
        reason = "rejected (reason not printable)";

    int rc = 0;
    rc |= buf_printf(b, "%zu", seq);
    rc |= copy_put_view(b, false, ev->id);
    rc |= copy_put_str(b, false, type);
    rc |= copy_put_view(b, false, source);
    rc |= copy_put_i64(b, false, ts_ok, ev->ts);
    rc |= copy_put_view(b, false, employee);
    rc |= copy_put_view(b, false, unit);
    rc |= copy_put_view(b, false, period);
    rc |= copy_put_view(b, false, rater);
    rc |= copy_put_str(b, false, relation);
    rc |= copy_put_view(b, false, supervisor);
    rc |= copy_put_view(b, false, decider);
    rc |= copy_sep(b, false);
    rc |= payload ? buf_copy_escape(b, payload, payload_len) : copy_put_null(b);
    rc |= copy_put_str(b, false, row->stream_key);
    rc |= copy_put_str(b, false, row->stream_id);
    rc |= copy_put_i64(b, false, row->received_ms > 0, row->received_ms);
    rc |= copy_put_str(b, false, reason);
    rc |= copy_put_str(b, false, row->client);
    rc |= buf_putc(b, '\n');
    return rc ? -1 : 0;
}

static int pgstore_ingest_store(struct pgstore *db, const struct ingest_row *rows, size_t n, const char *tz,
                                const char *busy_sql, struct ingest_counts *out);

int pgstore_ingest_batch(struct pgstore *db, const struct ingest_row *rows, size_t n, const char *tz,
                         struct ingest_counts *out)
{
    return pgstore_ingest_store(db, rows, n, tz, NULL, out);
}

int pgstore_ingest_batch_busy(struct pgstore *db, const struct ingest_row *rows, size_t n, const char *tz,
                              bool busy, struct ingest_counts *out)
{
    return pgstore_ingest_store(
        db, rows, n, tz, busy ? "SET LOCAL kinerja.ingest_busy = on" : "SET LOCAL kinerja.ingest_busy = off",
        out);
}

/* The batch's transaction; busy_sql (may be NULL: kinerja_ingest_staged then judges by
 * the batch's size) says whether the stream is busy (schemas/0019). */
static int pgstore_ingest_store(struct pgstore *db, const struct ingest_row *rows, size_t n, const char *tz,
                                const char *busy_sql, struct ingest_counts *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (pgstore_require_conn(db) < 0)
        return -1;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!rows[i].ev || !rows[i].ev->id.p || !event_valid_uuid(rows[i].ev->id.p, rows[i].ev->id.n))
            return pgstore_fail_data(db, "ingest: row %zu (%s %s) has no valid event id", i,
                                     rows[i].stream_key ? rows[i].stream_key : "?",
                                     rows[i].stream_id ? rows[i].stream_id : "?");

    struct buf b;
    buf_init(&b, PGSTORE_COPY_MAX);
    if (pgstore_exec(db, ingest_staging_sql, "ingest: staging") < 0)
        goto fail;
    if (busy_sql && pgstore_exec(db, busy_sql, "ingest: busy") < 0)
        goto fail;
    if (copy_start(db, ingest_copy_sql, "ingest: copy") < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (ingest_put_row(&b, i, &rows[i]) < 0) {
            pgstore_fail_data(db, "ingest: row %zu does not fit in %u bytes", i, PGSTORE_COPY_MAX);
            goto fail;
        }
        if (b.len >= PGSTORE_COPY_CHUNK && copy_send(db, &b, "ingest: copy") < 0)
            goto fail;
    }
    if (copy_send(db, &b, "ingest: copy") < 0 || copy_finish(db, "ingest: copy") < 0)
        goto fail;

    const char *params[1] = {tz ? tz : "UTC"};
    PGresult *res = PQexecParams(db->conn, "SELECT stored, rejected, already FROM kinerja_ingest_staged($1)",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pgstore_fail(db, res, "ingest");
        PQclear(res);
        goto fail;
    }
    struct ingest_counts c = {
        .stored = strtoull(PQgetvalue(res, 0, 0), NULL, 10),
        .rejected = strtoull(PQgetvalue(res, 0, 1), NULL, 10),
        .already = strtoull(PQgetvalue(res, 0, 2), NULL, 10),
    };
    PQclear(res);
    if (pgstore_commit(db, "ingest: commit") < 0)
        goto fail;
    buf_free(&b);
    if (out)
        *out = c;
    return 0;
fail:
    buf_free(&b);
    pgstore_rollback(db);
    return -1;
}

/* ---------------------------------------------------------------- deferred derivation */

int pgstore_derive_queued(struct pgstore *db, int chunk, bool wait, int rounds, long long *derived)
{
    if (derived)
        *derived = 0;
    if (pgstore_require_conn(db) < 0)
        return -1;
    char chunk_s[16];
    snprintf(chunk_s, sizeof chunk_s, "%d", chunk > 0 ? chunk : PGSTORE_DERIVE_CHUNK);
    const char *params[2] = {chunk_s, wait ? "true" : "false"};
    /* Each call is its own transaction: the rows taken from the queue and what they
     * derive commit together. Until the queue is empty, or `rounds` calls (0: no bound). */
    for (int i = 0; rounds <= 0 || i < rounds; i++) {
        PGresult *res = PQexecParams(db->conn, "SELECT kinerja_derive_queued($1::int, $2::boolean)", 2, NULL,
                                     params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            pgstore_fail(db, res, "derive queued events");
            PQclear(res);
            return -1;
        }
        long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (derived)
            *derived += n;
        if (n == 0)
            break;
    }
    return 0;
}

/* ---------------------------------------------------------------- dead letters */

/* Copies s into out (at most outlen-1 bytes), replacing non-ASCII bytes with '?' when
 * the copy is not valid UTF-8, so any error text can be stored. */
static void pgstore_sanitize(const char *s, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", s ? s : "");
    size_t n = strlen(out);
    if (event_valid_utf8(out, n))
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] >= 0x80)
            out[i] = '?';
}

int pgstore_dead_letter(struct pgstore *db, const char *stream_key, const char *stream_id,
                        const char *event_id, const void *raw, size_t rawlen, int deliveries,
                        const char *error)
{
    if (pgstore_require_conn(db) < 0)
        return -1;
    if (!stream_key || !stream_id)
        return pgstore_fail_data(db, "dead letter: stream key and entry id are required");
    if (raw && rawlen > (size_t)INT32_MAX)
        return pgstore_fail_data(db, "dead letter: raw entry too large");
    char deliveries_s[24];
    snprintf(deliveries_s, sizeof deliveries_s, "%d", deliveries);
    char err_s[PGSTORE_DEAD_ERROR_MAX + 1];
    pgstore_sanitize(error, err_s, sizeof err_s);
    char key_s[256], id_s[64];
    pgstore_sanitize(stream_key, key_s, sizeof key_s);
    pgstore_sanitize(stream_id, id_s, sizeof id_s);
    bool id_ok = event_id && event_valid_uuid(event_id, strlen(event_id));

    const char *params[6] = {key_s,
                             id_s,
                             id_ok ? event_id : NULL,
                             raw ? (const char *)raw : NULL,
                             deliveries_s,
                             error ? err_s : NULL};
    int lengths[6] = {0, 0, 0, (int)rawlen, 0, 0};
    int formats[6] = {0, 0, 0, 1, 0, 0};
    PGresult *res =
        PQexecParams(db->conn,
                     "INSERT INTO dead_letters (stream_key, stream_id, event_id, raw, deliveries, error)"
                     " VALUES ($1, $2, $3::uuid, $4::bytea, $5::int, $6)"
                     " ON CONFLICT (stream_key, stream_id) DO NOTHING",
                     6, NULL, params, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgstore_fail(db, res, "dead letter");
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}
