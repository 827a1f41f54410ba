#include "sender.h"

#include "daemon.h"

#include <errno.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define SENDER_BACKOFF_MIN_MS 100
#define SENDER_BACKOFF_MAX_MS 5000
#define SENDER_POLL_MS 100
#define SENDER_PROGRESS_MS 500
#define SENDER_FRAME_SLACK 64 /* array header */
#define SENDER_ERROR_MAX 512

struct pending {
    struct sender_item item;
    int attempts;
    long long due_ms;        /* when a retry may be sent */
    long long first_sent_ms; /* when it first went out; 0: not sent yet (its timeout runs from then) */
};

/* A growable FIFO of pending events. */
struct queue {
    struct pending **v;
    size_t head, len, cap;
};

struct frame {
    struct pending **ev;
    size_t n;
    long long sent_ms;
};

struct sender {
    const struct sender_opts *opts;
    sender_ack_fn on_ack;
    void *ctx;
    struct sender_counts *counts;
    void *zctx, *sock;
    struct queue ready, waiting; /* waiting: retries not yet due */
    struct frame *frames;        /* window slots; n == 0 means free */
    size_t inflight;
    size_t outstanding;       /* events sent and without a final ack yet */
    bool input_waiting;       /* the input said SENDER_NEXT_WAIT last time */
    long long quiet_since_ms; /* last reply from the broker, or the first send after none was outstanding */
    bool input_done;
};

static int queue_push(struct queue *q, struct pending *p)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        struct pending **v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < q->len; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->len) % q->cap] = p;
    q->len++;
    return 0;
}

static struct pending *queue_pop(struct queue *q)
{
    if (!q->len)
        return NULL;
    struct pending *p = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return p;
}

static void pending_free(struct pending *p)
{
    if (p) {
        free(p->item.data);
        free(p);
    }
}

static void finish(struct sender *s, struct pending *p, enum sender_status st, const char *error,
                   double latency)
{
    if (p->first_sent_ms)
        s->outstanding--;
    switch (st) {
    case SENDER_ACCEPTED:
        s->counts->accepted++;
        break;
    case SENDER_DUPLICATE:
        s->counts->duplicate++;
        break;
    case SENDER_REJECTED:
        s->counts->rejected++;
        break;
    case SENDER_UNACKED:
        s->counts->unacked++;
        break;
    }
    if (s->on_ack)
        s->on_ack(s->ctx, &p->item, st, error, latency);
    pending_free(p);
}

static long long backoff_ms(int attempts)
{
    long long d = SENDER_BACKOFF_MIN_MS;
    for (int i = 1; i < attempts && d < SENDER_BACKOFF_MAX_MS; i++)
        d *= 2;
    if (d > SENDER_BACKOFF_MAX_MS)
        d = SENDER_BACKOFF_MAX_MS;
    /* full jitter on the upper half, so a crowd of clients does not resend in step */
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)daemon_now_ms() ^ (unsigned)(uintptr_t)&seed;
    return d / 2 + (long long)(rand_r(&seed) % (int)(d / 2 + 1));
}

static void schedule_retry(struct sender *s, struct pending *p, long long now)
{
    p->attempts++;
    p->due_ms = now + backoff_ms(p->attempts);
    s->counts->retries++;
    if (queue_push(&s->waiting, p) < 0)
        finish(s, p, SENDER_UNACKED, "out of memory", 0);
}

static int socket_open(struct sender *s, char *err, size_t errlen)
{
    s->sock = zmq_socket(s->zctx, ZMQ_DEALER);
    if (!s->sock) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        return -1;
    }
    int zero = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    const struct sender_opts *o = s->opts;
    if (o->curve_server_key && *o->curve_server_key) {
        if (zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, o->curve_server_key, strlen(o->curve_server_key)) ||
            zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, o->curve_public_key, strlen(o->curve_public_key)) ||
            zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, o->curve_secret_key, strlen(o->curve_secret_key))) {
            snprintf(err, errlen, "curve keys: %s", zmq_strerror(errno));
            return -1;
        }
    }
    if (zmq_connect(s->sock, o->endpoint) != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", o->endpoint, zmq_strerror(errno));
        zmq_close(s->sock);
        s->sock = NULL;
        return -1;
    }
    return 0;
}

/* Takes events from the input until `ready` holds a batch, the input ends, or it has
 * nothing more without waiting (SENDER_NEXT_WAIT). */
static int fill_ready(struct sender *s, sender_next_fn next)
{
    s->input_waiting = false;
    while (!s->input_done && s->ready.len < s->opts->batch) {
        struct pending *p = calloc(1, sizeof *p);
        if (!p)
            return -1;
        int rc = next(s->ctx, &p->item);
        if (rc == SENDER_NEXT_WAIT) {
            free(p);
            s->input_waiting = true;
            break;
        }
        if (rc <= 0) {
            free(p);
            s->input_done = true;
            if (rc < 0)
                return -1;
            break;
        }
        s->counts->sent++;
        if (queue_push(&s->ready, p) < 0) {
            pending_free(p);
            return -1;
        }
    }
    return 0;
}

static struct frame *free_slot(struct sender *s)
{
    for (size_t i = 0; i < s->opts->window; i++)
        if (!s->frames[i].n)
            return &s->frames[i];
    return NULL;
}

/* Sends one frame from the ready queue. now is the time of this very send (taken after
 * any wait for input, so a pause of the input never counts against the frame's reply
 * timeout or its events' --timeout). Returns 1 sent, 0 nothing to send / cannot now. */
static int send_frame(struct sender *s, long long now)
{
    struct frame *f = free_slot(s);
    if (!f || !s->ready.len)
        return 0;
    size_t n = 0, bytes = SENDER_FRAME_SLACK;
    f->ev = malloc(s->opts->batch * sizeof *f->ev);
    if (!f->ev)
        return 0;
    while (n < s->opts->batch && s->ready.len) {
        struct pending *p = s->ready.v[s->ready.head];
        /* keep frames under the broker's limit; a lone oversize event still goes, and
         * the broker's rejection of its frame becomes its ack */
        if (n > 0 && bytes + p->item.len > s->opts->max_frame)
            break;
        f->ev[n++] = queue_pop(&s->ready);
        bytes += p->item.len;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_sbuffer_write(&sb, f->ev[i]->item.data, f->ev[i]->item.len);
    int rc = zmq_send(s->sock, sb.data, sb.size, ZMQ_DONTWAIT);
    msgpack_sbuffer_destroy(&sb);
    if (rc < 0) {
        /* not queued (HWM): put them back in front, try later */
        for (size_t i = n; i-- > 0;) {
            s->ready.head = (s->ready.head + s->ready.cap - 1) % s->ready.cap;
            s->ready.v[s->ready.head] = f->ev[i];
            s->ready.len++;
        }
        free(f->ev);
        f->ev = NULL;
        return 0;
    }
    f->n = n;
    f->sent_ms = now;
    s->inflight++;
    if (!s->outstanding)
        s->quiet_since_ms = now; /* the broker's silence is counted from here */
    for (size_t i = 0; i < n; i++) {
        if (!f->ev[i]->first_sent_ms) {
            f->ev[i]->first_sent_ms = now;
            s->outstanding++;
        }
    }
    return 1;
}

static void frame_release(struct sender *s, struct frame *f)
{
    free(f->ev);
    f->ev = NULL;
    f->n = 0;
    s->inflight--;
}

static void str_of(const msgpack_object *o, char *out, size_t outlen)
{
    out[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < outlen - 1 ? o->via.str.size : outlen - 1;
        memcpy(out, o->via.str.ptr, n);
        out[n] = '\0';
    }
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    if (m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen && !memcmp(k->via.str.ptr, key, klen))
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static void apply_ack(struct sender *s, struct pending *p, const msgpack_object *ack, long long now,
                      double latency)
{
    char status[32], error[SENDER_ERROR_MAX];
    str_of(map_get(ack, "status"), status, sizeof status);
    str_of(map_get(ack, "error"), error, sizeof error);
    if (!strcmp(status, "accepted"))
        finish(s, p, SENDER_ACCEPTED, NULL, latency);
    else if (!strcmp(status, "duplicate"))
        finish(s, p, SENDER_DUPLICATE, NULL, latency);
    else if (!strcmp(status, "rejected"))
        finish(s, p, SENDER_REJECTED, error[0] ? error : "rejected", latency);
    else
        schedule_retry(s, p, now); /* retry, or anything we do not understand */
}

/* Which in-flight frame does this reply answer? By the first ack's id, else the oldest
 * frame of the same size (several brokers behind one socket may answer out of order). */
static struct frame *match_frame(struct sender *s, const msgpack_object *reply)
{
    struct frame *oldest = NULL;
    size_t want = reply->type == MSGPACK_OBJECT_ARRAY ? reply->via.array.size : 0;
    char first_id[SENDER_ID_MAX + 1] = "";
    if (want)
        str_of(map_get(&reply->via.array.ptr[0], "id"), first_id, sizeof first_id);
    for (size_t i = 0; i < s->opts->window; i++) {
        struct frame *f = &s->frames[i];
        if (!f->n)
            continue;
        if (want && f->n != want)
            continue;
        if (first_id[0] && !strcmp(f->ev[0]->item.id, first_id))
            return f;
        if (!oldest || f->sent_ms < oldest->sent_ms)
            oldest = f;
    }
    return oldest;
}

static void handle_reply(struct sender *s, const char *data, size_t len, long long now)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "kinerja: unreadable reply from the broker (%zu bytes), ignored\n", len);
        msgpack_unpacked_destroy(&up);
        return;
    }
    const msgpack_object *r = &up.data;
    s->quiet_since_ms = now; /* any readable reply shows the broker is answering */
    struct frame *f = match_frame(s, r);
    if (!f) {
        msgpack_unpacked_destroy(&up);
        return; /* a late reply to a frame already resent */
    }
    double latency = (double)(now - f->sent_ms);
    if (r->type == MSGPACK_OBJECT_ARRAY) {
        for (size_t i = 0; i < f->n; i++)
            apply_ack(s, f->ev[i], &r->via.array.ptr[i], now, latency);
    } else {
        /* a frame-level answer (the whole frame refused): it applies to every event */
        for (size_t i = 0; i < f->n; i++)
            apply_ack(s, f->ev[i], r, now, latency);
    }
    frame_release(s, f);
    msgpack_unpacked_destroy(&up);
}

/* No reply in time: resend everything in flight on a fresh socket. */
static int reset_socket(struct sender *s, long long now, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->opts->window; i++) {
        struct frame *f = &s->frames[i];
        if (!f->n)
            continue;
        for (size_t k = 0; k < f->n; k++)
            schedule_retry(s, f->ev[k], now);
        frame_release(s, f);
    }
    zmq_close(s->sock);
    s->sock = NULL;
    return socket_open(s, err, errlen);
}

static void promote_due(struct sender *s, long long now)
{
    size_t n = s->waiting.len;
    for (size_t i = 0; i < n; i++) {
        struct pending *p = queue_pop(&s->waiting);
        if (p->due_ms <= now)
            queue_push(&s->ready, p);
        else
            queue_push(&s->waiting, p);
    }
}

/* Gives up on the events of q that have waited --timeout since their first sending
 * (retries not yet due, or due and not yet resent); the others keep their order. */
static void expire_queue(struct sender *s, struct queue *q, long long now, const char *why)
{
    size_t n = q->len;
    for (size_t i = 0; i < n; i++) {
        struct pending *p = queue_pop(q);
        if (p->first_sent_ms && now - p->first_sent_ms >= s->opts->timeout_ms)
            finish(s, p, SENDER_UNACKED, why, 0);
        else
            queue_push(q, p); /* cannot fail: the slot was just freed */
    }
}

static void give_up(struct sender *s, sender_next_fn next)
{
    struct pending *p;
    while ((p = queue_pop(&s->ready)))
        finish(s, p, SENDER_UNACKED, "no final ack before the timeout", 0);
    while ((p = queue_pop(&s->waiting)))
        finish(s, p, SENDER_UNACKED, "no final ack before the timeout (last answer: retry)", 0);
    for (size_t i = 0; i < s->opts->window; i++) {
        struct frame *f = &s->frames[i];
        for (size_t k = 0; k < f->n; k++)
            finish(s, f->ev[k], SENDER_UNACKED, "no reply from the broker before the timeout", 0);
        if (f->n)
            frame_release(s, f);
    }
    while (!s->input_done) {
        struct pending tmp = {0};
        int rc = next(s->ctx, &tmp.item);
        if (rc == SENDER_NEXT_WAIT || rc <= 0)
            break; /* what the input has not written yet was never sent: not counted */
        s->counts->sent++;
        s->counts->unacked++;
        if (s->on_ack)
            s->on_ack(s->ctx, &tmp.item, SENDER_UNACKED, "not sent before the timeout", 0);
        free(tmp.item.data);
    }
}

int sender_run(const struct sender_opts *opts, sender_next_fn next, sender_ack_fn on_ack, void *ctx,
               struct sender_counts *counts, char *err, size_t errlen)
{
    struct sender s = {.opts = opts, .on_ack = on_ack, .ctx = ctx, .counts = counts};
    memset(counts, 0, sizeof *counts);
    s.frames = calloc(opts->window, sizeof *s.frames);
    s.zctx = opts->zctx ? opts->zctx : zmq_ctx_new();
    if (!s.frames || !s.zctx) {
        snprintf(err, errlen, "out of memory");
        free(s.frames);
        if (s.zctx && !opts->zctx)
            zmq_ctx_term(s.zctx);
        return -1;
    }
    int rc = 0;
    if (socket_open(&s, err, errlen) < 0) {
        rc = -1;
        goto out;
    }
    /*
     * Time is read afresh after every call that may wait for input (fill_ready blocks
     * on a pipe that pauses): a frame is timed from its sending, an event's --timeout
     * runs from its first sending, and the broker is given up on only when it has said
     * nothing for --timeout while events were out. What the input takes is its own.
     */
    long long last_progress = daemon_now_ms();
    for (;;) {
        if (fill_ready(&s, next) < 0) {
            snprintf(err, errlen, "reading input failed");
            rc = -1;
            break;
        }
        if (s.input_done && !s.ready.len && !s.waiting.len && !s.inflight)
            break;
        if (daemon_stopping) {
            give_up(&s, next);
            break;
        }
        promote_due(&s, daemon_now_ms());
        while (s.inflight < opts->window && (s.ready.len || !s.input_done)) {
            if (fill_ready(&s, next) < 0 || !send_frame(&s, daemon_now_ms()))
                break;
        }
        /* wait for replies, and for the input when it had nothing (never longer than
         * SENDER_POLL_MS: retries fall due, timeouts run out) */
        zmq_pollitem_t items[2] = {{.socket = s.sock, .events = ZMQ_POLLIN},
                                   {.fd = opts->input_fd, .events = ZMQ_POLLIN}};
        bool input_poll = s.input_waiting && opts->poll_input;
        long wait = s.inflight || s.input_waiting ? SENDER_POLL_MS : (s.waiting.len ? 20 : 0);
        if (zmq_poll(items, input_poll ? 2 : 1, wait) > 0 && (items[0].revents & ZMQ_POLLIN)) {
            /* drain every reply that is there */
            for (;;) {
                zmq_msg_t msg;
                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, s.sock, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&msg);
                    break;
                }
                bool more = zmq_msg_more(&msg);
                if (!more) /* the payload is the last frame */
                    handle_reply(&s, zmq_msg_data(&msg), zmq_msg_size(&msg), daemon_now_ms());
                zmq_msg_close(&msg);
            }
        }
        long long now = daemon_now_ms();
        for (size_t i = 0; i < opts->window; i++) {
            if (s.frames[i].n && now - s.frames[i].sent_ms > opts->reply_timeout_ms) {
                if (opts->progress)
                    fprintf(stderr, "\nkinerja: no reply from %s in %d ms, resending\n", opts->endpoint,
                            opts->reply_timeout_ms);
                if (reset_socket(&s, now, err, errlen) < 0) {
                    rc = -1;
                    goto out;
                }
                break;
            }
        }
        expire_queue(&s, &s.waiting, now,
                     "no final ack within the timeout of its first sending (last answer: retry)");
        expire_queue(&s, &s.ready, now, "no final ack within the timeout of its first sending");
        if (s.outstanding && now - s.quiet_since_ms >= opts->timeout_ms) {
            give_up(&s, next); /* the broker has said nothing for the whole timeout */
            break;
        }
        if (opts->progress && now - last_progress >= SENDER_PROGRESS_MS) {
            last_progress = now;
            size_t done = counts->accepted + counts->duplicate + counts->rejected;
            fprintf(stderr, "\r  read %zu, final acks %zu (accepted %zu), in flight %zu, retrying %zu   ",
                    counts->sent, done, counts->accepted, s.inflight * opts->batch, s.waiting.len);
        }
    }
    if (opts->progress)
        fprintf(stderr, "\r%100s\r", "");
    if (rc == 0 && counts->unacked)
        rc = 1;
out:
    give_up(&s, next);
    free(s.ready.v);
    free(s.waiting.v);
    free(s.frames);
    if (s.sock)
        zmq_close(s.sock);
    if (!opts->zctx)
        zmq_ctx_term(s.zctx);
    return rc;
}

void sender_extract_id(const char *data, size_t len, char *id, size_t idlen)
{
    id[0] = '\0';
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS)
        str_of(map_get(&up.data, "id"), id, idlen);
    msgpack_unpacked_destroy(&up);
}
