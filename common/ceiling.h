/*
 * ceiling: the raw speed limits of this machine's Redis and PostgreSQL, measured by
 * `kinerja bench` in the same run as the pipeline itself, so each pipeline figure can
 * be given as a ratio to what the storage underneath could do at best (SPEC 9):
 *  - pipelined XADD of n entries of the same size into the same Redis (ceiling_xadd_like:
 *    shaped like the broker's entries: fields id, ev of the events' mean size, rt, and
 *    cl when the events carry a client name, spread over as many streams as the
 *    broker uses);
 *  - COPY of n rows shaped like event_log rows into the same PostgreSQL (a real table
 *    with the same indexes, created, filled in one transaction, dropped).
 * Neither leaves anything behind.
 */
#ifndef KINERJA_CEILING_H
#define KINERJA_CEILING_H

#include "rstream.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stddef.h>

/* Entries (or rows) per second; -1 with the reason in err. */
int ceiling_xadd(struct rlink *l, size_t n, size_t payload_bytes, double *per_s, char *err, size_t errlen);
/* client: the cl field's value, or NULL for none; streams >= 1 keys, round robin
 * (kinerja:bench:{i}: in a cluster each on shard i's master, pipelined per node). */
int ceiling_xadd_like(struct rlink *l, size_t n, size_t payload_bytes, unsigned streams, const char *client,
                      double *per_s, char *err, size_t errlen);
int ceiling_copy(PGconn *conn, size_t n, size_t payload_bytes, double *per_s, char *err, size_t errlen);

/* Up to max employees (NIP and unit) to address simulated feedback to; *n may be 0
 * when no organisation was imported. nips[i] and units[i] are NUL-terminated. */
int ceiling_sample_org(PGconn *conn, char (*nips)[19], char (*units)[65], size_t max, size_t *n, char *err,
                       size_t errlen);

#endif
