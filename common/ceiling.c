/*
 * ceiling: the raw Redis and PostgreSQL ceilings `kinerja bench` compares against; see
 * ceiling.h.
 */
#include "ceiling.h"

#include "buf.h"
#include "daemon.h"
#include "rstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CEILING_PIPELINE 1000
#define CEILING_KEY_FMT "kinerja:bench:{%u}"
#define CEILING_STREAMS_MAX 1024
#define CEILING_COPY_CHUNK (1 << 20)

/* Deletes the ceiling's keys kinerja:bench:{0..streams), each on its own node (the
 * tag {i} puts kinerja:bench:{i} in shard i's slot). */
static void drop_keys(struct rlink *l, unsigned streams)
{
    for (unsigned i = 0; i < streams; i++) {
        char why[256];
        redisContext *c = rlink_shard(l, i, why, sizeof why);
        redisReply *r = c ? redisCommand(c, "DEL " CEILING_KEY_FMT, i) : NULL;
        if (r)
            freeReplyObject(r);
    }
}

/* Writes out what c has buffered; -1 when the connection failed. */
static int flush_ctx(redisContext *c)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return -1;
    return 0;
}

int ceiling_xadd_like(struct rlink *l, size_t n, size_t payload_bytes, unsigned streams, const char *client,
                      double *per_s, char *err, size_t errlen)
{
    if (streams < 1)
        streams = 1;
    if (streams > CEILING_STREAMS_MAX)
        streams = CEILING_STREAMS_MAX;
    char *payload = malloc(payload_bytes + 1);
    char(*keys)[32] = calloc(streams, sizeof *keys);
    redisContext **ctx = calloc(streams, sizeof *ctx); /* each stream's node */
    redisContext **sent = calloc(CEILING_PIPELINE, sizeof *sent);
    if (!payload || !keys || !ctx || !sent) {
        free(payload);
        free(keys);
        free(ctx);
        free(sent);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (unsigned i = 0; i < streams && rc == 0; i++) {
        char why[256];
        if (!(ctx[i] = rlink_shard(l, i, why, sizeof why))) {
            snprintf(err, errlen, "XADD: %s", why);
            rc = -1;
        }
    }
    memset(payload, 'x', payload_bytes);
    payload[payload_bytes] = '\0'; /* argv[] lengths below are taken with strlen */
    for (unsigned i = 0; i < streams; i++)
        snprintf(keys[i], sizeof keys[i], CEILING_KEY_FMT, i);
    const char *argv[11] = {"XADD",
                            keys[0],
                            "*",
                            "id",
                            "00000000-0000-4000-8000-000000000000",
                            "ev",
                            payload,
                            "rt",
                            "1700000000000",
                            "cl",
                            client ? client : ""};
    int argc = client && client[0] ? 11 : 9;
    size_t lens[11];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    lens[6] = payload_bytes;
    long long start = daemon_now_ms();
    for (size_t done = 0; done < n && rc == 0;) {
        size_t k = n - done < CEILING_PIPELINE ? n - done : CEILING_PIPELINE;
        for (size_t i = 0; i < k; i++) {
            unsigned s = (unsigned)((done + i) % streams);
            argv[1] = keys[s];
            lens[1] = strlen(argv[1]);
            redisAppendCommandArgv(ctx[s], argc, argv, lens);
            sent[i] = ctx[s];
        }
        /* every node's pipeline out before any reply is read (a cluster's nodes work at once) */
        for (unsigned s = 0; s < streams && s < k && rc == 0; s++)
            if (flush_ctx(ctx[s]) < 0) {
                snprintf(err, errlen, "XADD: %s", ctx[s]->errstr);
                rc = -1;
            }
        for (size_t i = 0; i < k && rc == 0; i++) {
            redisReply *r = NULL;
            if (redisGetReply(sent[i], (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
                snprintf(err, errlen, "XADD: %s", r ? r->str : sent[i]->errstr);
                rc = -1;
            }
            if (r)
                freeReplyObject(r);
        }
        done += k;
    }
    double secs = (double)(daemon_now_ms() - start) / 1000.0;
    if (rc == 0)
        drop_keys(l, streams);
    free(payload);
    free(keys);
    free(ctx);
    free(sent);
    if (rc == 0)
        *per_s = secs > 0 ? (double)n / secs : 0;
    return rc;
}

int ceiling_xadd(struct rlink *l, size_t n, size_t payload_bytes, double *per_s, char *err, size_t errlen)
{
    return ceiling_xadd_like(l, n, payload_bytes, 1, NULL, per_s, err, errlen);
}

static int exec_ok(PGconn *conn, const char *sql, ExecStatusType want, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == want;
    if (!ok)
        snprintf(err, errlen, "%s", PQerrorMessage(conn));
    PQclear(res);
    return ok ? 0 : -1;
}

int ceiling_copy(PGconn *conn, size_t n, size_t payload_bytes, double *per_s, char *err, size_t errlen)
{
    char ignore[256];
    exec_ok(conn, "DROP TABLE IF EXISTS kinerja_bench_ceiling", PGRES_COMMAND_OK, ignore, sizeof ignore);
    if (exec_ok(conn, "BEGIN", PGRES_COMMAND_OK, err, errlen) < 0)
        return -1;
    int rc = exec_ok(
        conn, "CREATE TABLE kinerja_bench_ceiling (LIKE event_log INCLUDING DEFAULTS INCLUDING INDEXES)",
        PGRES_COMMAND_OK, err, errlen);
    long long start = daemon_now_ms();
    if (rc == 0)
        rc = exec_ok(conn,
                     "COPY kinerja_bench_ceiling (id, type, source, ts, employee, unit, period, payload, "
                     "stream_key, stream_id, received_at) FROM STDIN",
                     PGRES_COPY_IN, err, errlen);
    struct buf b;
    buf_init(&b, CEILING_COPY_CHUNK * 2);
    /* payload: a JSON object of about payload_bytes */
    size_t pad = payload_bytes > 40 ? payload_bytes - 40 : 1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        buf_printf(
            &b,
            "00000000-0000-4000-8000-%012zx\tcitizen_feedback\tkiosk:bench\t2026-11-23 10:00:00+00\t"
            "199001012015011001\tBENCH\t2026-11\t{\"rating\": 4, \"pad\": \"%0*d\"}\tkinerja:ev:{0}\t%zu-0\t"
            "2026-11-23 10:00:00+00\n",
            i, (int)pad, 0, i);
        if (b.len >= CEILING_COPY_CHUNK || i + 1 == n) {
            if (PQputCopyData(conn, b.data, (int)b.len) != 1) {
                snprintf(err, errlen, "COPY: %s", PQerrorMessage(conn));
                rc = -1;
            }
            buf_reset(&b);
        }
    }
    buf_free(&b);
    if (rc == 0) {
        if (PQputCopyEnd(conn, NULL) != 1) {
            snprintf(err, errlen, "COPY end: %s", PQerrorMessage(conn));
            rc = -1;
        }
        PGresult *res;
        while ((res = PQgetResult(conn))) {
            if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
                snprintf(err, errlen, "COPY: %s", PQerrorMessage(conn));
                rc = -1;
            }
            PQclear(res);
        }
    }
    /* The commit (WAL flush) is part of what storing costs. */
    if (rc == 0)
        rc = exec_ok(conn, "COMMIT", PGRES_COMMAND_OK, err, errlen);
    else
        exec_ok(conn, "ROLLBACK", PGRES_COMMAND_OK, ignore, sizeof ignore);
    double secs = (double)(daemon_now_ms() - start) / 1000.0;
    exec_ok(conn, "DROP TABLE IF EXISTS kinerja_bench_ceiling", PGRES_COMMAND_OK, ignore, sizeof ignore);
    if (rc == 0)
        *per_s = secs > 0 ? (double)n / secs : 0;
    return rc;
}

int ceiling_sample_org(PGconn *conn, char (*nips)[19], char (*units)[65], size_t max, size_t *n, char *err,
                       size_t errlen)
{
    char limit[32];
    snprintf(limit, sizeof limit, "%zu", max);
    const char *params[1] = {limit};
    PGresult *res = PQexecParams(conn, "SELECT nip, unit FROM employees ORDER BY nip LIMIT $1::int", 1, NULL,
                                 params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    *n = 0;
    for (int i = 0; i < PQntuples(res) && *n < max; i++) {
        snprintf(nips[*n], 19, "%s", PQgetvalue(res, i, 0));
        snprintf(units[*n], 65, "%s", PQgetvalue(res, i, 1));
        (*n)++;
    }
    PQclear(res);
    return 0;
}
