#include "batch.h"

#include "event_json.h"
#include "mpscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int batch_init(struct batch *b, size_t cap, unsigned nshards, size_t max_depth)
{
    memset(b, 0, sizeof *b);
    b->e = calloc(cap, sizeof *b->e);
    b->keys = calloc(nshards, sizeof *b->keys);
    b->zone = msgpack_zone_new(BATCH_ZONE_CHUNK);
    if (!b->e || !b->keys || !b->zone) {
        batch_free(b);
        return -1;
    }
    b->cap = cap;
    b->nshards = nshards;
    b->max_depth = max_depth;
    for (unsigned i = 0; i < nshards; i++)
        rstream_stream_key(i, b->keys[i], sizeof b->keys[i]);
    return 0;
}

static void entry_release(struct batch_entry *e)
{
    buf_free(&e->json);
    free(e->raw);
    memset(e, 0, sizeof *e);
}

void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        entry_release(&b->e[i]);
    b->n = 0;
    if (b->zone)
        msgpack_zone_clear(b->zone);
}

void batch_free(struct batch *b)
{
    if (b->e)
        batch_clear(b);
    free(b->e);
    free(b->keys);
    if (b->zone)
        msgpack_zone_free(b->zone);
    memset(b, 0, sizeof *b);
}

bool batch_full(const struct batch *b)
{
    return b->n >= b->cap;
}

int batch_shard_of_key(const struct batch *b, const char *key, size_t keylen)
{
    for (unsigned i = 0; i < b->nshards; i++)
        if (strlen(b->keys[i]) == keylen && memcmp(b->keys[i], key, keylen) == 0)
            return (int)i;
    return -1;
}

#define BATCH_MS_DIGITS_MAX 18 /* a decimal int64 below 10^18: no overflow */

/* Parses a decimal integer s[0..n) (no sign); -1 when it is not one or is too long. */
static int64_t parse_ms(const char *s, size_t n)
{
    if (n == 0 || n > BATCH_MS_DIGITS_MAX)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The broker's receive time: the rt field when it is a plausible time, else the
 * millisecond part of the stream entry id (XADD's clock, within a moment of it). */
static int64_t received_time(const char *rt, size_t rtlen, const char *stream_id)
{
    int64_t v = rt ? parse_ms(rt, rtlen) : -1;
    if (v >= EVENT_TS_MIN && v <= EVENT_TS_MAX)
        return v;
    const char *dash = strchr(stream_id, '-');
    v = parse_ms(stream_id, dash ? (size_t)(dash - stream_id) : strlen(stream_id));
    return v < 0 ? 0 : v;
}

static struct batch_entry *entry_new(struct batch *b, unsigned shard, const char *stream_id, size_t idlen)
{
    if (b->n >= b->cap || shard >= b->nshards || idlen == 0 || idlen >= BATCH_STREAM_ID_MAX)
        return NULL;
    struct batch_entry *e = &b->e[b->n];
    memset(e, 0, sizeof *e);
    e->shard = shard;
    memcpy(e->stream_id, stream_id, idlen);
    e->stream_id[idlen] = '\0';
    buf_init(&e->json, BATCH_JSON_MAX);
    return e;
}

/*
 * Decodes e->raw the way the broker did. Sets state READY with error "" (valid) or
 * the reason (refused), or UNREADABLE when no event id can be had from ev itself.
 */
static void entry_decode(struct batch *b, struct batch_entry *e)
{
    char why[EVENT_ERR_MAX];
    e->state = ENTRY_UNREADABLE;
    if (!e->raw) {
        snprintf(e->error, sizeof e->error, "entry: no ev field");
        return;
    }
    if (mpscan_check(e->raw, e->rawlen, b->max_depth, NULL, why, sizeof why) < 0) {
        snprintf(e->error, sizeof e->error, "ev: %s", why);
        return;
    }
    /* msgpack_unpack into the batch's one zone (msgpack_unpack_next would give every
     * entry its own 8 KB zone); strings stay views into raw. mpscan_check made sure
     * raw is exactly one object. */
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack((const char *)e->raw, e->rawlen, &off, b->zone, &e->obj);
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        snprintf(e->error, sizeof e->error, "ev: not a msgpack object (unpack returned %d)", (int)ur);
        return;
    }
    if (e->obj.type != MSGPACK_OBJECT_MAP) {
        snprintf(e->error, sizeof e->error, "ev: not a msgpack map");
        return;
    }
    /* the ts window by the broker's receive time, as the broker judged it (e->received_ms
     * is 0 when the entry does not say: then only the fixed 2000..2100 bounds) */
    const struct event_limits window = {e->received_ms, b->max_future_s, b->max_age_s};
    int rc = event_decode_at(&e->obj, &e->ev, &window, why, sizeof why);
    if (!e->ev.id.p || e->ev.id.n != EVENT_ID_LEN) {
        snprintf(e->error, sizeof e->error, "ev: %s", rc < 0 ? why : "id: missing");
        return;
    }
    memcpy(e->event_id, e->ev.id.p, EVENT_ID_LEN);
    e->event_id[EVENT_ID_LEN] = '\0';
    e->state = ENTRY_READY;
    if (rc < 0)
        snprintf(e->error, sizeof e->error, "%s", why);
    if (event_json_from_msgpack(&e->obj, &e->json) == 0) {
        e->has_json = true;
    } else if (!e->error[0]) {
        /* valid yet too large to keep as JSON: refused with the reason, nothing lost */
        snprintf(e->error, sizeof e->error, "payload: larger than %d bytes as JSON", BATCH_JSON_MAX);
    }
}

/* A client name as broker/clients.c admits it: 1..BATCH_CLIENT_MAX of A-Z a-z 0-9 . _ - */
static bool client_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > BATCH_CLIENT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

struct batch_entry *batch_add(struct batch *b, unsigned shard, const char *stream_id, size_t idlen,
                              const char *ev, size_t evlen, const char *field_id, size_t field_idlen,
                              const char *rt, size_t rtlen, const char *cl, size_t cllen, int deliveries)
{
    struct batch_entry *e = entry_new(b, shard, stream_id, idlen);
    if (!e)
        return NULL;
    e->deliveries = deliveries;
    if (ev) {
        size_t keep = evlen > BATCH_EV_MAX ? 0 : evlen;
        e->raw = malloc(keep ? keep : 1);
        if (!e->raw) {
            entry_release(e);
            return NULL;
        }
        memcpy(e->raw, ev, keep);
        e->rawlen = keep;
    }
    e->received_ms = received_time(rt, rtlen, e->stream_id);
    b->n++;
    if (ev && evlen > BATCH_EV_MAX) {
        e->state = ENTRY_UNREADABLE;
        snprintf(e->error, sizeof e->error, "ev: %zu bytes, more than the %d a worker reads", evlen,
                 BATCH_EV_MAX);
    } else {
        entry_decode(b, e);
    }
    if (cl && client_name_valid(cl, cllen)) {
        memcpy(e->client, cl, cllen);
        e->client[cllen] = '\0';
    } else if (cl && e->state == ENTRY_READY && !e->error[0]) {
        /* only the broker writes cl: this entry was made by something else */
        snprintf(e->error, sizeof e->error,
                 "entry: cl: not a client name (1..%d characters of A-Z a-z 0-9 . _ -)", BATCH_CLIENT_MAX);
    }
    /* The entry's own id field names an unreadable event in its dead letter. */
    if (!e->event_id[0] && field_id && event_valid_uuid(field_id, field_idlen)) {
        memcpy(e->event_id, field_id, EVENT_ID_LEN);
        e->event_id[EVENT_ID_LEN] = '\0';
    }
    return e;
}

struct batch_entry *batch_add_gone(struct batch *b, unsigned shard, const char *stream_id, size_t idlen)
{
    struct batch_entry *e = entry_new(b, shard, stream_id, idlen);
    if (!e)
        return NULL;
    e->state = ENTRY_GONE;
    b->n++;
    return e;
}

void batch_entry_row(const struct batch *b, const struct batch_entry *e, struct ingest_row *row)
{
    memset(row, 0, sizeof *row);
    row->stream_key = b->keys[e->shard];
    row->stream_id = e->stream_id;
    row->ev = &e->ev;
    row->payload_json = e->has_json ? e->json.data : NULL;
    row->payload_len = e->has_json ? e->json.len : 0;
    row->received_ms = e->received_ms;
    row->client = e->client[0] ? e->client : NULL;
    row->reject_reason = e->error[0] ? e->error : NULL;
}
