/*
 * kiosk_client: an example intake client for kiosk vendors (docs/PROTOCOL.md), in C with
 * libzmq and msgpack-c only, so it builds anywhere those two do.
 *
 * A kiosk with four smiley buttons keeps the presses it collected and sends them as ONE
 * frame (a msgpack array of citizen_feedback events) to kinerja-broker over ZeroMQ with
 * CURVE. The one reply is an array of acks in the order of the events. Presses answered
 * `retry` (or all of them, when no reply came in time) are sent again later WITH THE SAME
 * id, so the broker can tell a resend from a new press; the pause grows each time.
 * Prints one line per press: `<id> accepted`, `<id> duplicate` or `<id> rejected <why>`.
 *
 * Build: cc kiosk_client.c $(pkg-config --cflags --libs libzmq msgpack) -o kiosk_client
 * Run:   kiosk_client --endpoint tcp://broker:5570 --server-key server.key --key kiosk-01 \
 *            --source kiosk:dukcapil-kupang-01 --unit DUKCAPIL-KPG 4 3 4
 * The operator gives you server.key (the broker's public key) and the pair kiosk-01.key,
 * kiosk-01.key_secret (`kinerja keygen --out kiosk-01`), and admits kiosk-01.key in the
 * broker's clients file. A press is RATING or RATING@ID (a press that already has its id).
 * Exit 0 when every press got a final ack (accepted, duplicate or rejected), 1 if not.
 */
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_PRESSES 1000 /* intake.max_batch: at most this many events in one frame */
#define REPLY_TIMEOUT_MS 5000
#define MAX_ATTEMPTS 12 /* then keep the presses on disk and try again later */
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

enum state { PENDING, ACCEPTED, DUPLICATE, REJECTED };
static const char *const state_names[] = {"retry", "accepted", "duplicate", "rejected"};

struct press {
    char id[37];      /* canonical UUID: the idempotency key, made once per press */
    long long rating; /* 1..4; anything else is sent as is and the broker says why not */
    enum state state;
    char error[256];
};

struct options {
    const char *endpoint, *server_key, *key, *source, *unit, *employee;
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A random (version 4) UUID in canonical form. */
static int make_uuid(char out[37])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, sizeof b, f) != sizeof b) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

/* A key file of `kinerja keygen`: 40 Z85 characters and a newline. */
static int read_key(const char *path, char out[41])
{
    char line[128];
    FILE *f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f)) {
        fprintf(stderr, "kiosk_client: %s: cannot read the key file\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (strlen(line) != 40) {
        fprintf(stderr, "kiosk_client: %s: not a Z85 key of 40 characters\n", path);
        return -1;
    }
    memcpy(out, line, 41);
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* The frame: the pending presses as an array of citizen_feedback maps. */
static size_t pack_frame(msgpack_sbuffer *sb, const struct options *o, const struct press *p, size_t n,
                         long long ts)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += p[i].state == PENDING;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, pending);
    for (size_t i = 0; i < n; i++) {
        if (p[i].state != PENDING)
            continue;
        msgpack_pack_map(&pk, o->employee ? 8 : 7);
        pack_str(&pk, "v"), msgpack_pack_int(&pk, 1);
        pack_str(&pk, "id"), pack_str(&pk, p[i].id);
        pack_str(&pk, "type"), pack_str(&pk, "citizen_feedback");
        pack_str(&pk, "source"), pack_str(&pk, o->source);
        pack_str(&pk, "ts"), msgpack_pack_long_long(&pk, ts); /* when pressed, in ms */
        pack_str(&pk, "unit"), pack_str(&pk, o->unit);
        pack_str(&pk, "rating"), msgpack_pack_long_long(&pk, p[i].rating);
        if (o->employee)
            pack_str(&pk, "employee"), pack_str(&pk, o->employee);
    }
    return pending;
}

/* The string value of key in an ack map, copied into out ("" when absent or nil). */
static void ack_field(const msgpack_object *ack, const char *key, char *out, size_t outlen)
{
    out[0] = '\0';
    if (ack->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < ack->via.map.size; i++) {
        const msgpack_object *k = &ack->via.map.ptr[i].key, *v = &ack->via.map.ptr[i].val;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0 && v->type == MSGPACK_OBJECT_STR) {
            snprintf(out, outlen, "%.*s", (int)v->via.str.size, v->via.str.ptr);
            return;
        }
    }
}

/* Applies one ack to a press: accepted, duplicate and rejected are final; retry stays pending. */
static void apply_ack(struct press *p, const msgpack_object *ack)
{
    char status[16];
    ack_field(ack, "status", status, sizeof status);
    ack_field(ack, "error", p->error, sizeof p->error);
    if (!strcmp(status, "accepted"))
        p->state = ACCEPTED;
    else if (!strcmp(status, "duplicate"))
        p->state = DUPLICATE;
    else if (!strcmp(status, "rejected"))
        p->state = REJECTED;
    else
        fprintf(stderr, "kiosk_client: %s: retry (%s)\n", p->id, p->error);
}

/* The reply: an array of acks, one per event sent, in the same order. A single map
 * instead means the broker refused the frame as a whole (too large, not msgpack, ...):
 * it applies to every event of the frame. */
static void read_reply(const char *data, size_t len, struct press *p, size_t n)
{
    msgpack_unpacked msg;
    msgpack_unpacked_init(&msg);
    if (msgpack_unpack_next(&msg, data, len, NULL) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "kiosk_client: the reply is not msgpack; sending again\n");
        msgpack_unpacked_destroy(&msg);
        return;
    }
    const msgpack_object *top = &msg.data;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].state != PENDING)
            continue;
        if (top->type == MSGPACK_OBJECT_MAP)
            apply_ack(&p[i], top);
        else if (top->type == MSGPACK_OBJECT_ARRAY && k < top->via.array.size)
            apply_ack(&p[i], &top->via.array.ptr[k++]);
    }
    msgpack_unpacked_destroy(&msg);
}

/* A DEALER socket, with CURVE when a server key was given. A new socket after a timeout
 * means a late reply to the old frame can never be taken for the reply to the new one. */
static void *open_socket(void *ctx, const struct options *o)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (o->server_key) {
        char server[41], pub[41], sec[41], path[1024];
        snprintf(path, sizeof path, "%s.key", o->key);
        if (read_key(o->server_key, server) || read_key(path, pub))
            exit(1);
        snprintf(path, sizeof path, "%s.key_secret", o->key);
        if (read_key(path, sec))
            exit(1);
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
    }
    if (zmq_connect(s, o->endpoint) != 0) {
        fprintf(stderr, "kiosk_client: connect %s: %s\n", o->endpoint, zmq_strerror(zmq_errno()));
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    struct options o = {"tcp://127.0.0.1:5570", NULL, NULL, NULL, NULL, NULL};
    static struct press p[MAX_PRESSES];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char **opt = !strcmp(argv[i], "--endpoint")     ? &o.endpoint
                           : !strcmp(argv[i], "--server-key") ? &o.server_key
                           : !strcmp(argv[i], "--key")        ? &o.key
                           : !strcmp(argv[i], "--source")     ? &o.source
                           : !strcmp(argv[i], "--unit")       ? &o.unit
                           : !strcmp(argv[i], "--employee")   ? &o.employee
                                                              : NULL;
        if (opt && i + 1 < argc) {
            *opt = argv[++i];
        } else if (!opt && n < MAX_PRESSES && argv[i][0] != '-') {
            char *at = strchr(argv[i], '@');
            p[n].rating = strtoll(argv[i], NULL, 10);
            if (at)
                snprintf(p[n].id, sizeof p[n].id, "%s", at + 1);
            else if (make_uuid(p[n].id) != 0)
                return 1;
            n++;
        } else {
            fprintf(stderr, "usage: kiosk_client [--endpoint E] [--server-key FILE --key PREFIX] --source S "
                            "--unit U [--employee NIP] RATING[@ID]...\n");
            return 2;
        }
    }
    if (!o.source || !o.unit || n == 0 || (o.server_key && !o.key)) {
        fprintf(stderr, "kiosk_client: --source, --unit and at least one RATING are required "
                        "(and --key with --server-key)\n");
        return 2;
    }

    long long ts = now_ms();
    void *ctx = zmq_ctx_new();
    void *sock = open_socket(ctx, &o);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int backoff = BACKOFF_MIN_MS;
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        msgpack_sbuffer_clear(&sb);
        if (pack_frame(&sb, &o, p, n, ts) == 0)
            break;
        zmq_send(sock, sb.data, sb.size, 0);
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, REPLY_TIMEOUT_MS) == 1) {
            zmq_msg_t reply;
            zmq_msg_init(&reply);
            if (zmq_msg_recv(&reply, sock, 0) >= 0)
                read_reply(zmq_msg_data(&reply), zmq_msg_size(&reply), p, n);
            zmq_msg_close(&reply);
        } else {
            /* no reply: nothing is known about these presses; send them again, same ids */
            fprintf(stderr, "kiosk_client: no reply within %d ms; sending again\n", REPLY_TIMEOUT_MS);
            zmq_close(sock);
            sock = open_socket(ctx, &o);
        }
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            left += p[i].state == PENDING;
        if (left == 0)
            break;
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }

    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        bool why = p[i].state == REJECTED || p[i].state == PENDING; /* retry: its last error */
        printf("%s %s%s%s\n", p[i].id, state_names[p[i].state], why ? " " : "", why ? p[i].error : "");
        rc |= p[i].state == PENDING; /* keep it and send it later with the same id */
    }
    msgpack_sbuffer_destroy(&sb);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}
