/*
 * lasterr: a bounded memory of why stream entries failed to store, so that the entry
 * that finally goes to the dead-letter table carries its last error (SPEC 7). Keyed by
 * (shard, stream entry id); when full, the oldest remembered error is forgotten (the
 * dead letter then says how many times the entry was delivered instead).
 *
 * Used by the ingest worker (workers/ingest.c records, workers/reclaim.c reads).
 * Single-threaded.
 */
#ifndef KINERJA_WORKER_LASTERR_H
#define KINERJA_WORKER_LASTERR_H

#include <stddef.h>

#define LASTERR_CAPACITY 1024
#define LASTERR_ID_MAX 48 /* a stream entry id: "<ms>-<seq>", at most 41 chars */
#define LASTERR_TEXT_MAX 384

struct lasterr_slot {
    unsigned shard;
    char stream_id[LASTERR_ID_MAX]; /* "" = free */
    char text[LASTERR_TEXT_MAX];
};

struct lasterr {
    struct lasterr_slot *slots;
    size_t cap;
    size_t next; /* the slot overwritten next when the id is not present */
};

/* Returns 0, or -1 when out of memory. */
int lasterr_init(struct lasterr *m, size_t cap);
void lasterr_free(struct lasterr *m);

/* Remembers text (truncated) as the last error of the entry, replacing an earlier one. */
void lasterr_put(struct lasterr *m, unsigned shard, const char *stream_id, const char *text);
/* The remembered error, or NULL. */
const char *lasterr_get(const struct lasterr *m, unsigned shard, const char *stream_id);
/* Forgets the entry (it was stored or dead-lettered). */
void lasterr_forget(struct lasterr *m, unsigned shard, const char *stream_id);

#endif
