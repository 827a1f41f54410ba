/*
 * batch: the stream entries the ingest worker holds between reading them from Redis
 * and acknowledging them. Each entry owns a copy of its fields, is decoded again here
 * (defence in depth: mpscan_check, msgpack unpack, event_decode, as the broker did),
 * and carries its payload as JSON and its state on the way to PostgreSQL.
 *
 * An entry whose event id can be read becomes a row for pgstore_ingest_batch (valid,
 * or refused with its reason into rejected_events); one whose event id cannot be read
 * goes to dead_letters with its raw bytes.
 *
 * Used by workers/ingest.c, workers/reclaim.c and workers/streams.c.
 */
#ifndef KINERJA_WORKER_BATCH_H
#define KINERJA_WORKER_BATCH_H

#include "buf.h"
#include "event.h"
#include "pgstore.h"
#include "rstream.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATCH_STREAM_ID_MAX 48         /* "<ms>-<seq>": at most 41 chars */
#define BATCH_ERR_MAX 384              /* room for an event_decode error with a prefix */
#define BATCH_JSON_MAX (512 * 1024)    /* one event's payload as JSON */
#define BATCH_EV_MAX (4 * 1024 * 1024) /* largest ev field copied out of a stream entry */
#define BATCH_ZONE_CHUNK (64 * 1024)
#define BATCH_CLIENT_MAX 64 /* a CURVE client's name (broker/clients.h CLIENTS_NAME_MAX) */

enum entry_state {
    ENTRY_READY,      /* decoded; a row for event_log or (error set) rejected_events */
    ENTRY_UNREADABLE, /* no event id can be read from ev: goes to dead_letters */
    ENTRY_GONE,       /* the stream no longer holds it (trimmed): acknowledge only */
    ENTRY_COMMITTED,  /* stored, rejected, already there, or dead-lettered: acknowledge */
    ENTRY_HELD,       /* failed to store; stays pending for a later delivery */
};

struct batch_entry {
    unsigned shard;
    char stream_id[BATCH_STREAM_ID_MAX];
    int deliveries;     /* times delivered, this one included; 0 = unknown */
    unsigned char *raw; /* the ev field (owned copy); NULL when the entry has none */
    size_t rawlen;
    char event_id[EVENT_ID_LEN + 1];   /* from ev, else the entry's id field; "" unknown */
    int64_t received_ms;               /* the rt field, else the time in the stream id */
    char client[BATCH_CLIENT_MAX + 1]; /* the cl field: the CURVE client; "" without CURVE */
    msgpack_object obj;                /* ev unpacked (in the batch's zone; strings view raw) */
    struct event ev;                   /* views into raw */
    struct buf json;                   /* payload JSON (READY entries) */
    bool has_json;
    char error[BATCH_ERR_MAX]; /* why refused (READY) or unreadable; "" = valid */
    enum entry_state state;
    bool acked;
};

struct batch {
    struct batch_entry *e;
    size_t n, cap;
    unsigned nshards;
    char (*keys)[RSTREAM_KEY_MAX]; /* stream key of each shard */
    size_t max_depth;              /* intake.max_depth, for mpscan_check */
    int64_t max_future_s;          /* intake.max_future_s: the ts window, judged by the broker's */
    int64_t max_age_s;             /* intake.max_age_s     receive time (set after batch_init) */
    msgpack_zone *zone;            /* every entry's unpacked objects; cleared with the batch */
};

/* Returns 0, or -1 when out of memory. */
int batch_init(struct batch *b, size_t cap, unsigned nshards, size_t max_depth);
void batch_free(struct batch *b);
/* Drops every entry (their memory is released). */
void batch_clear(struct batch *b);
bool batch_full(const struct batch *b);

/*
 * Copies one stream entry in and decodes it. ev / field_id / rt / cl may be NULL when
 * the entry lacks that field (cl, the name of the CURVE client that sent the event, is
 * absent without CURVE; one that is not a client name refuses the event with the
 * reason). Returns the entry (state READY or UNREADABLE), or NULL when
 * the batch is full or memory ran out (the entry is then not taken: it stays pending).
 */
struct batch_entry *batch_add(struct batch *b, unsigned shard, const char *stream_id, size_t idlen,
                              const char *ev, size_t evlen, const char *field_id, size_t field_idlen,
                              const char *rt, size_t rtlen, const char *cl, size_t cllen, int deliveries);
/* An entry the stream no longer holds (XCLAIM / XREADGROUP returned it without fields). */
struct batch_entry *batch_add_gone(struct batch *b, unsigned shard, const char *stream_id, size_t idlen);

/* Fills row for a READY entry. */
void batch_entry_row(const struct batch *b, const struct batch_entry *e, struct ingest_row *row);

/* Shard of a stream key of this batch, or -1. */
int batch_shard_of_key(const struct batch *b, const char *key, size_t keylen);

#endif
