/*
 * pgstore_int: what the parts of pgstore share (pgstore.h is the contract outside):
 *   pgstore.c          errors, queries, the connection, status
 *   pgstore_migrate.c  the embedded migrations, under an advisory lock
 *   pgstore_events.c   COPY text format, the ingest batch, dead letters
 *   pgstore_org.c      the organisation import (its CSV read by common/csvread.c)
 * Not for use outside common/pgstore*.c.
 */
#ifndef KINERJA_PGSTORE_INT_H
#define KINERJA_PGSTORE_INT_H

#include "buf.h"
#include "event.h"
#include "pgstore.h"

#include <stdbool.h>
#include <stdint.h>

/* Key of the advisory lock that serialises concurrent `kinerja migrate` runs
 * ("kinerja" in ASCII, as a bigint). */
#define PGSTORE_MIGRATE_LOCK "7731046993177153"
/* COPY data is sent in chunks of about this size. */
#define PGSTORE_COPY_CHUNK (256 * 1024)
/* Upper bound of one batch's COPY buffer (one row must fit). */
#define PGSTORE_COPY_MAX (64u * 1024 * 1024)
/* Seconds to wait for a connection unless the DSN says otherwise. */
#define PGSTORE_CONNECT_TIMEOUT_S "10"
/* Longest error text stored in dead_letters. */
#define PGSTORE_DEAD_ERROR_MAX 2000

void pgstore_quiet_notice(void *arg, const char *message);
void pgstore_clear(struct pgstore *db);
void pgstore_trim_newline(char *s);
int pgstore_fail_data(struct pgstore *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pgstore_rollback(struct pgstore *db);
int pgstore_exec(struct pgstore *db, const char *sql, const char *what);
int pgstore_commit(struct pgstore *db, const char *what);

/* COPY ... FROM STDIN in text format: fields appended to b, sent in chunks. */
int copy_put_null(struct buf *b);
int copy_sep(struct buf *b, bool first);
int copy_put_str(struct buf *b, bool first, const char *s);
int copy_put_view(struct buf *b, bool first, struct strview v);
int copy_put_i64(struct buf *b, bool first, bool present, int64_t v);
int copy_send(struct pgstore *db, struct buf *b, const char *what);
int copy_finish(struct pgstore *db, const char *what);
int copy_start(struct pgstore *db, const char *sql, const char *what);

#endif
