#include "notify.h"

#include "buf.h"
#include "daemon.h"
#include "event_json.h"
#include "log.h"
#include "pgsession.h"
#include "pgstore.h"
#include "webhook.h"

#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <zmq.h>

#define NOTIFY_BODY_MAX (1024 * 1024)          /* largest webhook body, and payload for the PUB */
#define NOTIFY_IDS_MAX (NOTIFY_BATCH * 40 + 8) /* '{uuid,uuid,...}' for one batch */
#define NOTIFY_PG_BACKOFF_MAX_MS 5000
#define NOTIFY_LEASE_MARGIN_MS 2000 /* renew when less than one post + this is left */
#define NOTIFY_MIN_WAIT_MS 100      /* shortest idle wait (a due row another worker holds) */
#define NOTIFY_UNREACHABLE_STREAK 3 /* posts without any HTTP answer before the batch pauses */
#define NOTIFY_SNDHWM 100000        /* PUB messages queued per subscriber before drops */
#define NOTIFY_LINGER_MS 1000       /* at exit, time for published messages to leave */
#define NOTIFY_ERR_MAX 512
#define NOTIFY_TOKEN_MAX 64 /* next_attempt_at as text */
#define NOTIFY_MSGPACK_FIELDS 8

/* Columns of the claim query, in order. */
enum claim_col {
    COL_ID,
    COL_KIND,
    COL_RECIPIENT,
    COL_EMPLOYEE,
    COL_PERIOD,
    COL_VERSION,
    COL_PAYLOAD,
    COL_CREATED_AT,
    COL_PUBLISHED,
    COL_DELIVERED,
    COL_ATTEMPTS,
    COL_TOKEN,
};

/* What is left to do for one claimed row. */
enum row_state {
    ROW_PENDING, /* leased by us, outcome not written */
    ROW_DONE,    /* outcome written, or the lease turned out to be someone else's */
};

struct batch {
    PGresult *r;
    int n;
    enum row_state *state;
    bool *published, *delivered;
    char token[NOTIFY_TOKEN_MAX]; /* the next_attempt_at our lease wrote */
    long long lease_until;        /* monotonic ms; a little before the lease really ends */
};

struct notifier {
    struct notifier_config cfg;
    struct pgsession pg; /* the session: connect with backoff, LISTEN, NOTIFY waits */
    void *zctx, *pub;
    struct webhook *hook; /* NULL: no webhook configured */
    long http_timeout_ms;
    struct metrics *m;
    struct metric *m_published, *m_sent, *m_failed, *m_dead, *m_queued, *m_pg_up;
    struct metric_histogram *m_webhook_delivered, *m_webhook_failed;
    struct buf body, ids;
    msgpack_sbuffer msg, payload;
    char query_err[NOTIFY_ERR_MAX]; /* the last query error logged (repeats are not) */
    long long next_due_ms;          /* until the earliest queued row is due; -1 none */
    long long refreshed_at;         /* when next_due_ms and the queued gauge were read */
    /* since the last summary line */
    long long summary_at;
    long sum_published, sum_sent, sum_failed, sum_dead, sum_paused;
    char sum_last_error[WEBHOOK_ERR_MAX];
};

/* ---- lifecycle ------------------------------------------------------------------------ */

struct notifier *notifier_new(const struct notifier_config *cfg, struct metrics *m)
{
    if (sodium_init() < 0) {
        log_error("libsodium failed to start");
        return NULL;
    }
    struct notifier *n = calloc(1, sizeof *n);
    if (!n) {
        log_error("out of memory");
        return NULL;
    }
    n->cfg = *cfg;
    n->m = m;
    n->next_due_ms = -1;
    buf_init(&n->body, NOTIFY_BODY_MAX);
    buf_init(&n->ids, NOTIFY_IDS_MAX);
    msgpack_sbuffer_init(&n->msg);
    msgpack_sbuffer_init(&n->payload);
    n->m_published =
        metrics_counter(m, "kinerja_notify_published_total", NULL, "notifications published on ZeroMQ");
    n->m_sent =
        metrics_counter(m, "kinerja_notify_sent_total", NULL, "notifications delivered on every channel");
    n->m_failed = metrics_counter(m, "kinerja_notify_failed_attempts_total", NULL, "failed webhook attempts");
    n->m_dead = metrics_counter(m, "kinerja_notify_dead_total", NULL, "notifications given up (status dead)");
    n->m_queued = metrics_gauge(m, "kinerja_notify_queued", NULL, "notifications waiting for delivery");
    n->m_pg_up = metrics_gauge(m, "kinerja_notify_postgres_up", NULL, "1 when PostgreSQL is reachable");
    pgsession_init(&n->pg, n->cfg.postgres_dsn, NOTIFY_CHANNEL, m, n->m_pg_up);
    n->m_webhook_delivered = metrics_histogram(m, "kinerja_notify_webhook_seconds", "outcome=\"delivered\"",
                                               "time of one webhook attempt, by outcome", NULL, 0);
    n->m_webhook_failed = metrics_histogram(m, "kinerja_notify_webhook_seconds", "outcome=\"failed\"",
                                            "time of one webhook attempt, by outcome", NULL, 0);

    /* A post must end well inside its lease, or another worker could send it too. */
    n->http_timeout_ms = WEBHOOK_TIMEOUT_MS;
    if (n->http_timeout_ms > cfg->lease_ms / 2)
        n->http_timeout_ms = (long)(cfg->lease_ms / 2);
    if (cfg->webhook_url && cfg->webhook_url[0]) {
        char err[WEBHOOK_ERR_MAX];
        struct webhook_config wc = {
            .url = cfg->webhook_url,
            .secret = cfg->webhook_secret,
            .connect_timeout_ms = WEBHOOK_CONNECT_TIMEOUT_MS < n->http_timeout_ms ? WEBHOOK_CONNECT_TIMEOUT_MS
                                                                                  : n->http_timeout_ms,
            .timeout_ms = n->http_timeout_ms,
            .cancel = &daemon_stopping,
        };
        if (!(n->hook = webhook_new(&wc, err, sizeof err))) {
            log_error("notify.webhook_url: %s", err);
            notifier_destroy(&n);
            return NULL;
        }
    }

    int hwm = NOTIFY_SNDHWM, linger = NOTIFY_LINGER_MS;
    if (!(n->zctx = zmq_ctx_new()) || !(n->pub = zmq_socket(n->zctx, ZMQ_PUB)) ||
        zmq_setsockopt(n->pub, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(n->pub, ZMQ_LINGER, &linger, sizeof linger) < 0) {
        log_error("zeromq: %s", zmq_strerror(zmq_errno()));
        notifier_destroy(&n);
        return NULL;
    }
    if (zmq_bind(n->pub, cfg->endpoint) < 0) {
        log_error("notify.endpoint %s: cannot bind: %s", cfg->endpoint, zmq_strerror(zmq_errno()));
        notifier_destroy(&n);
        return NULL;
    }
    return n;
}

void notifier_destroy(struct notifier **pn)
{
    struct notifier *n = *pn;
    if (!n)
        return;
    if (n->pub)
        zmq_close(n->pub);
    if (n->zctx)
        zmq_ctx_term(n->zctx);
    webhook_destroy(&n->hook);
    pgsession_close(&n->pg);
    buf_free(&n->body);
    buf_free(&n->ids);
    msgpack_sbuffer_destroy(&n->msg);
    msgpack_sbuffer_destroy(&n->payload);
    free(n);
    *pn = NULL;
}

/* ---- PostgreSQL ----------------------------------------------------------------------- */

/*
 * Runs one parameterized statement. Returns the result (caller clears), or NULL after
 * logging the error: once per distinct message, so a missing table or a lost server
 * does not flood the log while the loop retries.
 */
static PGresult *pg_run(struct notifier *n, const char *what, const char *sql, int nparams,
                        const char *const *params)
{
    PGresult *r = PQexecParams(n->pg.db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        n->query_err[0] = '\0';
        return r;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    char text[NOTIFY_ERR_MAX];
    if (state && !strcmp(state, "42P01"))
        snprintf(text, sizeof text, "%s: the notifications table does not exist yet (kinerja migrate)", what);
    else
        snprintf(text, sizeof text, "%s: %s", what, msg ? msg : PQerrorMessage(n->pg.db->conn));
    for (char *p = text; *p; p++)
        if (*p == '\n')
            *p = ' ';
    if (strcmp(text, n->query_err) != 0 && pgstore_ok(n->pg.db))
        log_error("%s", text);
    snprintf(n->query_err, sizeof n->query_err, "%s", text);
    snprintf(n->pg.db->errstr, sizeof n->pg.db->errstr, "%s", text);
    PQclear(r);
    return NULL;
}

/* ---- one batch -------------------------------------------------------------------------- */

static const char *col(const struct batch *b, int row, enum claim_col c)
{
    return PQgetvalue(b->r, row, (int)c);
}

static void batch_free(struct batch *b)
{
    PQclear(b->r);
    free(b->state);
    free(b->published);
    free(b->delivered);
    memset(b, 0, sizeof *b);
}

/*
 * Claims up to NOTIFY_BATCH due rows and leases them in one statement (its own
 * transaction: the row locks of FOR UPDATE SKIP LOCKED last only as long as it).
 * Returns the number claimed, or -1.
 */
static int batch_claim(struct notifier *n, struct batch *b)
{
    static const char sql[] =
        "WITH due AS (SELECT id, employee, period FROM notifications "
        "             WHERE status = 'queued' AND next_attempt_at <= now() "
        "             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED), "
        "leased AS (UPDATE notifications n SET next_attempt_at = now() + $1::interval "
        "           FROM due WHERE n.employee = due.employee AND n.period = due.period AND n.id = due.id "
        "           RETURNING n.id, n.kind, n.recipient, n.employee, n.period, n.version, n.payload, "
        "                     n.created_at, n.published_at, n.delivered_at, n.attempts, n.next_attempt_at) "
        "SELECT id::text, kind, recipient, employee, period, version, payload::text, "
        "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
        "       published_at IS NOT NULL, delivered_at IS NOT NULL, attempts, next_attempt_at::text "
        "FROM leased ORDER BY created_at, id";
    char lease[48], limit[16];
    snprintf(lease, sizeof lease, "%lld milliseconds", n->cfg.lease_ms);
    snprintf(limit, sizeof limit, "%d", NOTIFY_BATCH);
    const char *params[2] = {lease, limit};
    memset(b, 0, sizeof *b);
    long long t0 = daemon_now_ms();
    if (!(b->r = pg_run(n, "claim notifications", sql, 2, params)))
        return -1;
    b->n = PQntuples(b->r);
    b->lease_until = t0 + n->cfg.lease_ms;
    if (b->n == 0)
        return 0;
    b->state = calloc((size_t)b->n, sizeof *b->state);
    b->published = calloc((size_t)b->n, sizeof *b->published);
    b->delivered = calloc((size_t)b->n, sizeof *b->delivered);
    if (!b->state || !b->published || !b->delivered) {
        log_error("out of memory");
        batch_free(b); /* the lease expires; another pass delivers them */
        return -1;
    }
    for (int i = 0; i < b->n; i++) {
        b->published[i] = col(b, i, COL_PUBLISHED)[0] == 't';
        b->delivered[i] = col(b, i, COL_DELIVERED)[0] == 't';
    }
    snprintf(b->token, sizeof b->token, "%s", col(b, 0, COL_TOKEN));
    return b->n;
}

/* '{id,id,...}' of the rows still pending (and, when want_published, published). */
static int ids_literal(struct notifier *n, const struct batch *b, bool only_published)
{
    buf_reset(&n->ids);
    int count = 0;
    if (buf_putc(&n->ids, '{') < 0)
        return -1;
    for (int i = 0; i < b->n; i++) {
        if (b->state[i] != ROW_PENDING || (only_published && !b->published[i]))
            continue;
        if ((count++ && buf_putc(&n->ids, ',') < 0) || buf_puts(&n->ids, col(b, i, COL_ID)) < 0)
            return -1;
    }
    if (buf_putc(&n->ids, '}') < 0)
        return -1;
    return count;
}

static int row_of(const struct batch *b, const char *id)
{
    for (int i = 0; i < b->n; i++)
        if (!strcmp(col(b, i, COL_ID), id))
            return i;
    return -1;
}

/*
 * Moves the lease of every pending row forward, conditional on our token. Rows whose
 * lease someone else holds now are dropped from the batch. Returns 0, or -1 (PostgreSQL).
 */
static int batch_renew(struct notifier *n, struct batch *b)
{
    static const char sql[] =
        "UPDATE notifications SET next_attempt_at = now() + $3::interval "
        "WHERE id = ANY($1::uuid[]) AND status = 'queued' AND next_attempt_at = $2::timestamptz "
        "RETURNING id::text, next_attempt_at::text";
    if (ids_literal(n, b, false) <= 0)
        return 0;
    char lease[48];
    snprintf(lease, sizeof lease, "%lld milliseconds", n->cfg.lease_ms);
    const char *params[3] = {n->ids.data, b->token, lease};
    long long t0 = daemon_now_ms();
    PGresult *r = pg_run(n, "renew lease", sql, 3, params);
    if (!r)
        return -1;
    bool *kept = calloc((size_t)b->n, sizeof *kept);
    if (!kept) {
        PQclear(r);
        return -1;
    }
    for (int k = 0; k < PQntuples(r); k++) {
        int i = row_of(b, PQgetvalue(r, k, 0));
        if (i >= 0)
            kept[i] = true;
    }
    if (PQntuples(r) > 0) {
        snprintf(b->token, sizeof b->token, "%s", PQgetvalue(r, 0, 1));
        b->lease_until = t0 + n->cfg.lease_ms;
    }
    for (int i = 0; i < b->n; i++) {
        if (b->state[i] == ROW_PENDING && !kept[i]) {
            b->state[i] = ROW_DONE;
            log_warn("notification %s: lease lost to another worker; leaving it to that one",
                     col(b, i, COL_ID));
        }
    }
    free(kept);
    PQclear(r);
    return 0;
}

/* Gives the pending rows back (due after delay_ms) instead of letting the lease run out. */
static int batch_release(struct notifier *n, struct batch *b, long long delay_ms)
{
    static const char sql[] =
        "UPDATE notifications SET next_attempt_at = now() + $3::interval "
        "WHERE id = ANY($1::uuid[]) AND status = 'queued' AND next_attempt_at = $2::timestamptz";
    if (ids_literal(n, b, false) <= 0)
        return 0;
    char delay[48];
    snprintf(delay, sizeof delay, "%lld milliseconds", delay_ms);
    const char *params[3] = {n->ids.data, b->token, delay};
    PGresult *r = pg_run(n, "release lease", sql, 3, params);
    if (!r)
        return -1;
    PQclear(r);
    for (int i = 0; i < b->n; i++)
        b->state[i] = ROW_DONE;
    return 0;
}

/* Marks a row that can never be delivered (e.g. its payload is too large). */
static int row_dead(struct notifier *n, struct batch *b, int i, const char *why)
{
    static const char sql[] = "UPDATE notifications SET status = 'dead', last_error = $3 "
                              "WHERE id = $1 AND status = 'queued' AND next_attempt_at = $2::timestamptz";
    const char *params[3] = {col(b, i, COL_ID), b->token, why};
    PGresult *r = pg_run(n, "mark dead", sql, 3, params);
    if (!r)
        return -1;
    bool mine = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    b->state[i] = ROW_DONE;
    if (mine) {
        metric_inc(n->m_dead);
        n->sum_dead++;
        log_warn("notification %s (%s to %s) dead: %s", col(b, i, COL_ID), col(b, i, COL_KIND),
                 col(b, i, COL_RECIPIENT), why);
    }
    return 0;
}

/* ---- the ZeroMQ channel ------------------------------------------------------------------ */

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

/* The PUB body: a msgpack map of the notification's fields. Returns 0, or -1 with why. */
static int pack_notification(struct notifier *n, const struct batch *b, int i, char *why, size_t whylen)
{
    const char *payload = col(b, i, COL_PAYLOAD);
    size_t plen = (size_t)PQgetlength(b->r, i, COL_PAYLOAD);
    if (plen > NOTIFY_BODY_MAX) {
        snprintf(why, whylen, "payload of %zu bytes is larger than %d", plen, NOTIFY_BODY_MAX);
        return -1;
    }
    msgpack_sbuffer_clear(&n->payload);
    msgpack_packer ppk;
    msgpack_packer_init(&ppk, &n->payload, msgpack_sbuffer_write);
    char err[256];
    if (event_json_to_msgpack(payload, plen, &ppk, err, sizeof err) < 0) {
        snprintf(why, whylen, "payload: %s", err);
        return -1;
    }
    msgpack_sbuffer_clear(&n->msg);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &n->msg, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, NOTIFY_MSGPACK_FIELDS);
    static const struct {
        const char *key;
        enum claim_col c;
    } strs[] = {{"id", COL_ID},
                {"kind", COL_KIND},
                {"recipient", COL_RECIPIENT},
                {"employee", COL_EMPLOYEE},
                {"period", COL_PERIOD},
                {"created_at", COL_CREATED_AT}};
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
        pack_str(&pk, strs[k].key);
        pack_str(&pk, col(b, i, strs[k].c));
    }
    pack_str(&pk, "version");
    if (PQgetisnull(b->r, i, COL_VERSION))
        msgpack_pack_nil(&pk);
    else
        msgpack_pack_int64(&pk, strtoll(col(b, i, COL_VERSION), NULL, 10));
    pack_str(&pk, "payload");
    msgpack_sbuffer_write(&n->msg, n->payload.data, n->payload.size);
    return 0;
}

static int pub_send(void *sock, const void *data, size_t len, int flags)
{
    int rc;
    while ((rc = zmq_send(sock, data, len, flags)) < 0 && zmq_errno() == EINTR && !daemon_stopping)
        ;
    return rc;
}

/*
 * Publishes every pending row not published before, then records published_at (and,
 * without a webhook, or when the webhook was done on an earlier pass, status 'sent')
 * for all published rows in one statement. Returns 0, or -1 (PostgreSQL).
 */
static int batch_publish(struct notifier *n, struct batch *b)
{
    for (int i = 0; i < b->n; i++) {
        if (b->state[i] != ROW_PENDING || b->published[i])
            continue;
        char why[NOTIFY_ERR_MAX];
        if (pack_notification(n, b, i, why, sizeof why) < 0) {
            if (row_dead(n, b, i, why) < 0)
                return -1;
            continue;
        }
        const char *topic = col(b, i, COL_RECIPIENT);
        if (pub_send(n->pub, topic, strlen(topic), ZMQ_SNDMORE) < 0 ||
            pub_send(n->pub, n->msg.data, n->msg.size, 0) < 0) {
            log_error("notification %s: publish: %s", col(b, i, COL_ID), zmq_strerror(zmq_errno()));
            continue; /* stays pending: released with a delay at the end of the batch */
        }
        b->published[i] = true;
        metric_inc(n->m_published);
        n->sum_published++;
    }
    static const char sql[] =
        "UPDATE notifications SET published_at = coalesce(published_at, now()), "
        "  status = CASE WHEN $3::bool OR delivered_at IS NOT NULL THEN 'sent' ELSE status END, "
        "  delivered_at = CASE WHEN $3::bool THEN coalesce(delivered_at, now()) ELSE delivered_at END "
        "WHERE id = ANY($1::uuid[]) AND status = 'queued' AND next_attempt_at = $2::timestamptz "
        "RETURNING id::text, status";
    int count = ids_literal(n, b, true);
    if (count < 0) {
        log_error("batch ids larger than %d bytes", NOTIFY_IDS_MAX);
        return -1;
    }
    if (count == 0)
        return 0;
    const char *params[3] = {n->ids.data, b->token, n->hook ? "false" : "true"};
    PGresult *r = pg_run(n, "record published", sql, 3, params);
    if (!r)
        return -1;
    for (int k = 0; k < PQntuples(r); k++) {
        int i = row_of(b, PQgetvalue(r, k, 0));
        if (i < 0 || strcmp(PQgetvalue(r, k, 1), "sent") != 0)
            continue;
        b->state[i] = ROW_DONE;
        metric_inc(n->m_sent);
        n->sum_sent++;
    }
    PQclear(r);
    return 0;
}

/* ---- the webhook channel ------------------------------------------------------------------ */

static int json_field(struct buf *out, const char *key, const char *value, bool first)
{
    if ((!first && buf_putc(out, ',') < 0) || buf_printf(out, "\"%s\":\"", key) < 0 ||
        buf_json_escape(out, value, strlen(value)) < 0 || buf_putc(out, '"') < 0)
        return -1;
    return 0;
}

/* The webhook body: {"id","kind","recipient","employee","period","version","created_at","payload"}. */
static int json_notification(struct notifier *n, const struct batch *b, int i)
{
    struct buf *out = &n->body;
    buf_reset(out);
    if (buf_putc(out, '{') < 0 || json_field(out, "id", col(b, i, COL_ID), true) < 0 ||
        json_field(out, "kind", col(b, i, COL_KIND), false) < 0 ||
        json_field(out, "recipient", col(b, i, COL_RECIPIENT), false) < 0 ||
        json_field(out, "employee", col(b, i, COL_EMPLOYEE), false) < 0 ||
        json_field(out, "period", col(b, i, COL_PERIOD), false) < 0 ||
        buf_printf(out, ",\"version\":%s",
                   PQgetisnull(b->r, i, COL_VERSION) ? "null" : col(b, i, COL_VERSION)) < 0 ||
        json_field(out, "created_at", col(b, i, COL_CREATED_AT), false) < 0 ||
        buf_puts(out, ",\"payload\":") < 0 ||
        buf_append(out, col(b, i, COL_PAYLOAD), (size_t)PQgetlength(b->r, i, COL_PAYLOAD)) < 0 ||
        buf_putc(out, '}') < 0)
        return -1;
    return 0;
}

static double jitter_u(void)
{
    return (double)randombytes_uniform(1000000) / 1e6;
}

/* Writes the outcome of one post. Returns 0, or -1 (PostgreSQL). */
static int row_outcome(struct notifier *n, struct batch *b, int i, bool ok, const char *error)
{
    static const char sql_ok[] =
        "UPDATE notifications SET attempts = attempts + 1, delivered_at = now(), last_error = NULL, "
        "  status = CASE WHEN published_at IS NOT NULL THEN 'sent' ELSE 'queued' END, "
        "  next_attempt_at = CASE WHEN published_at IS NOT NULL THEN next_attempt_at ELSE now() END "
        "WHERE id = $1 AND status = 'queued' AND next_attempt_at = $2::timestamptz "
        "RETURNING status, attempts";
    static const char sql_failed[] =
        "UPDATE notifications SET attempts = attempts + 1, last_error = $3, "
        "  status = CASE WHEN attempts + 1 >= $4::int THEN 'dead' ELSE 'queued' END, "
        "  next_attempt_at = now() + $5::interval "
        "WHERE id = $1 AND status = 'queued' AND next_attempt_at = $2::timestamptz "
        "RETURNING status, attempts";
    const char *id = col(b, i, COL_ID);
    int attempts = atoi(col(b, i, COL_ATTEMPTS)) + 1;
    long long delay = webhook_backoff_ms(attempts, n->cfg.retry_base_ms, n->cfg.retry_max_ms, jitter_u());
    char max[16], delay_s[48];
    snprintf(max, sizeof max, "%d", n->cfg.max_attempts);
    snprintf(delay_s, sizeof delay_s, "%lld milliseconds", delay);
    const char *params[5] = {id, b->token, error, max, delay_s};
    PGresult *r = ok ? pg_run(n, "record delivery", sql_ok, 2, params)
                     : pg_run(n, "record failed attempt", sql_failed, 5, params);
    if (!r)
        return -1;
    b->state[i] = ROW_DONE;
    if (PQntuples(r) == 0) {
        log_warn("notification %s: lease lost during delivery; its outcome is left to the other worker", id);
        PQclear(r);
        return 0;
    }
    const char *status = PQgetvalue(r, 0, 0);
    if (ok) {
        if (!strcmp(status, "sent")) {
            metric_inc(n->m_sent);
            n->sum_sent++;
        }
    } else {
        metric_inc(n->m_failed);
        n->sum_failed++;
        snprintf(n->sum_last_error, sizeof n->sum_last_error, "%s", error);
        if (!strcmp(status, "dead")) {
            metric_inc(n->m_dead);
            n->sum_dead++;
            log_warn("notification %s (%s to %s) dead after %s webhook attempts: %s", id, col(b, i, COL_KIND),
                     col(b, i, COL_RECIPIENT), PQgetvalue(r, 0, 1), error);
        } else {
            log_debug("notification %s: webhook attempt %d failed: %s; next in %lld ms", id, attempts, error,
                      delay);
        }
    }
    PQclear(r);
    return 0;
}

/*
 * Posts every pending row whose webhook is not done, renewing the lease before a post
 * could outlive it. After NOTIFY_UNREACHABLE_STREAK posts in a row that got no HTTP
 * answer at all, the rest of the batch is given back with a pause and no attempt
 * counted (a receiver that is down would otherwise cost one timeout per row).
 * Returns 0, or -1 (PostgreSQL).
 */
static int batch_webhook(struct notifier *n, struct batch *b)
{
    int unreachable = 0;
    for (int i = 0; i < b->n && !daemon_stopping; i++) {
        if (b->state[i] != ROW_PENDING || b->delivered[i])
            continue;
        if (daemon_now_ms() + n->http_timeout_ms + NOTIFY_LEASE_MARGIN_MS > b->lease_until) {
            if (batch_renew(n, b) < 0)
                return -1;
            if (b->state[i] != ROW_PENDING)
                continue;
        }
        if (json_notification(n, b, i) < 0) {
            char why[128];
            snprintf(why, sizeof why, "webhook body larger than %d bytes", NOTIFY_BODY_MAX);
            if (row_dead(n, b, i, why) < 0)
                return -1;
            continue;
        }
        long status = 0;
        char err[WEBHOOK_ERR_MAX] = "";
        long long t0 = daemon_now_ms();
        enum webhook_outcome o =
            webhook_post(n->hook, col(b, i, COL_ID), n->body.data, n->body.len, &status, err, sizeof err);
        if (o == WEBHOOK_CANCELLED)
            break; /* SIGTERM: the row is given back below with the rest */
        metric_observe(o == WEBHOOK_DELIVERED ? n->m_webhook_delivered : n->m_webhook_failed,
                       (double)(daemon_now_ms() - t0) / 1000.0);
        if (row_outcome(n, b, i, o == WEBHOOK_DELIVERED, err) < 0)
            return -1;
        unreachable = o == WEBHOOK_FAILED && status == 0 ? unreachable + 1 : 0;
        if (unreachable >= NOTIFY_UNREACHABLE_STREAK) {
            int left = 0;
            for (int k = i + 1; k < b->n; k++)
                left += b->state[k] == ROW_PENDING && !b->delivered[k];
            if (left) {
                n->sum_paused += left;
                if (batch_release(n, b, n->cfg.retry_base_ms) < 0)
                    return -1;
            }
            break;
        }
    }
    return 0;
}

/* One pass: claim, publish, post, record. Returns the number claimed, or -1. */
static int notifier_pass(struct notifier *n)
{
    struct batch b;
    int got = batch_claim(n, &b);
    if (got <= 0) {
        batch_free(&b);
        return got;
    }
    int rc = batch_publish(n, &b);
    if (rc == 0 && n->hook)
        rc = batch_webhook(n, &b);
    /* What is still pending: SIGTERM came (give it back now), or its publish failed
     * (try again after a pause). */
    if (rc == 0)
        rc = batch_release(n, &b, daemon_stopping ? 0 : n->cfg.retry_base_ms);
    batch_free(&b);
    return rc < 0 ? -1 : got;
}

/* ---- the loop ------------------------------------------------------------------------------- */

/* Refreshes the queued gauge and when the earliest queued row falls due. */
static void queue_refresh(struct notifier *n)
{
    static const char sql[] =
        "SELECT count(*), "
        "  coalesce(ceil(extract(epoch FROM min(next_attempt_at) - clock_timestamp()) * 1000), -1) "
        "FROM notifications WHERE status = 'queued'";
    PGresult *r = pg_run(n, "count queued", sql, 0, NULL);
    n->next_due_ms = -1;
    n->refreshed_at = daemon_now_ms();
    if (!r)
        return;
    metric_set(n->m_queued, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    if (strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0)
        n->next_due_ms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
}

/* Waits for NOTIFY kinerja_notify, the poll interval or the next retry, whichever is first. */
static void wait_for_work(struct notifier *n)
{
    long long ms = NOTIFY_POLL_MS;
    if (n->next_due_ms >= 0 && n->next_due_ms < ms)
        ms = n->next_due_ms < NOTIFY_MIN_WAIT_MS ? NOTIFY_MIN_WAIT_MS : n->next_due_ms;
    if (pgsession_wait(&n->pg, (long)ms) < 0)
        pgsession_down(&n->pg, PQerrorMessage(n->pg.db->conn));
}

static void summary_maybe(struct notifier *n, bool force)
{
    long long now = daemon_now_ms();
    if (!force && now - n->summary_at < NOTIFY_SUMMARY_MS)
        return;
    if (n->sum_published || n->sum_sent || n->sum_failed || n->sum_dead) {
        char failed[WEBHOOK_ERR_MAX + 64] = "";
        if (n->sum_failed)
            snprintf(failed, sizeof failed, " (last: %s)", n->sum_last_error);
        char paused[64] = "";
        if (n->sum_paused)
            snprintf(paused, sizeof paused, ", %ld put off (receiver unreachable)", n->sum_paused);
        log_info(
            "last %lld s: %ld published, %ld sent, %ld failed webhook attempts%s, %ld dead%s; %lld queued",
            (now - n->summary_at + 500) / 1000, n->sum_published, n->sum_sent, n->sum_failed, failed,
            n->sum_dead, paused, metric_get(n->m_queued));
    }
    n->summary_at = now;
    n->sum_published = n->sum_sent = n->sum_failed = n->sum_dead = n->sum_paused = 0;
}

int notifier_run(struct notifier *n)
{
    char origin[256] = "none";
    if (n->hook)
        webhook_url_origin(n->cfg.webhook_url, origin, sizeof origin);
    log_info(
        "notify role started: PUB on %s, webhook %s%s (max_attempts %d, retry %lld ms doubling up to %lld s, "
        "lease %lld s)",
        n->cfg.endpoint, origin,
        n->hook && !(n->cfg.webhook_secret && n->cfg.webhook_secret[0]) ? " WITHOUT a secret" : "",
        n->cfg.max_attempts, n->cfg.retry_base_ms, n->cfg.retry_max_ms / 1000, n->cfg.lease_ms / 1000);
    n->summary_at = daemon_now_ms();
    while (!daemon_stopping) {
        if (daemon_reload_requested && n->cfg.reload) {
            daemon_reload_requested = 0;
            n->cfg.reload(n->cfg.reload_arg);
        }
        if (pgsession_ready(&n->pg) < 0)
            break;
        int got = notifier_pass(n);
        if (got < 0) {
            if (!pgstore_ok(n->pg.db))
                pgsession_down(&n->pg, n->pg.db->errstr);
            else
                daemon_sleep_ms(NOTIFY_PG_BACKOFF_MAX_MS); /* a query failed: do not spin on it */
            continue;
        }
        bool idle = got < NOTIFY_BATCH;
        if ((idle || daemon_now_ms() - n->refreshed_at >= NOTIFY_POLL_MS) && !daemon_stopping)
            queue_refresh(n);
        summary_maybe(n, false);
        if (idle && !daemon_stopping && pgstore_ok(n->pg.db))
            wait_for_work(n);
    }
    summary_maybe(n, true);
    log_info("notify role stopped");
    return 0;
}
