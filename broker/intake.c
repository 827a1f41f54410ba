/*
 * intake: the ROUTER socket; see intake.h.
 */
#include "intake.h"

#include "zap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTAKE_TCP_KEEPALIVE_IDLE_S 60

struct intake {
    void *ctx;
    void *sock;
    void *zap; /* REP on ZAP_ENDPOINT, with CURVE only */
};

static int set_int(void *sock, int option, int value, const char *name, char *err, size_t errlen)
{
    if (zmq_setsockopt(sock, option, &value, sizeof value) != 0) {
        snprintf(err, errlen, "intake: %s: %s", name, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* The ZAP handler must be bound before the ROUTER accepts anyone: libzmq lets a CURVE
 * client in unchecked when no handler is bound. */
static int setup_curve(struct intake *in, const char *secret_key, char *err, size_t errlen)
{
    in->zap = zmq_socket(in->ctx, ZMQ_REP);
    if (!in->zap) {
        snprintf(err, errlen, "intake: ZAP socket: %s", zmq_strerror(errno));
        return -1;
    }
    int linger = 0;
    zmq_setsockopt(in->zap, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(in->zap, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "intake: ZAP handler %s: cannot bind: %s", ZAP_ENDPOINT, zmq_strerror(errno));
        return -1;
    }
    int on = 1;
    if (zmq_setsockopt(in->sock, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
        zmq_setsockopt(in->sock, ZMQ_CURVE_SECRETKEY, secret_key, strlen(secret_key)) != 0 ||
        zmq_setsockopt(in->sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0) {
        /* the key text is never echoed */
        snprintf(err, errlen, "intake: CURVE server setup: %s", zmq_strerror(errno));
        return -1;
    }
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
    zmq_setsockopt(in->sock, ZMQ_ZAP_ENFORCE_DOMAIN, &on, sizeof on); /* draft API; set when there */
#endif
    return 0;
}

struct intake *intake_new(const char *endpoint, size_t max_frame_bytes, const char *curve_secret_key,
                          char *err, size_t errlen)
{
    struct intake *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "intake: out of memory");
        return NULL;
    }
    in->ctx = zmq_ctx_new();
    if (!in->ctx) {
        snprintf(err, errlen, "intake: zmq_ctx_new: %s", zmq_strerror(errno));
        free(in);
        return NULL;
    }
    in->sock = zmq_socket(in->ctx, ZMQ_ROUTER);
    if (!in->sock) {
        snprintf(err, errlen, "intake: zmq_socket: %s", zmq_strerror(errno));
        zmq_ctx_term(in->ctx);
        free(in);
        return NULL;
    }
    int64_t maxmsg = (int64_t)max_frame_bytes * 2;
    if (zmq_setsockopt(in->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        snprintf(err, errlen, "intake: ZMQ_MAXMSGSIZE: %s", zmq_strerror(errno));
        goto fail;
    }
    if (set_int(in->sock, ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY", err, errlen) != 0 ||
        set_int(in->sock, ZMQ_RCVHWM, INTAKE_RCVHWM, "ZMQ_RCVHWM", err, errlen) != 0 ||
        set_int(in->sock, ZMQ_SNDHWM, INTAKE_SNDHWM, "ZMQ_SNDHWM", err, errlen) != 0 ||
        set_int(in->sock, ZMQ_LINGER, INTAKE_LINGER_MS, "ZMQ_LINGER", err, errlen) != 0 ||
        set_int(in->sock, ZMQ_TCP_KEEPALIVE, 1, "ZMQ_TCP_KEEPALIVE", err, errlen) != 0 ||
        set_int(in->sock, ZMQ_TCP_KEEPALIVE_IDLE, INTAKE_TCP_KEEPALIVE_IDLE_S, "ZMQ_TCP_KEEPALIVE_IDLE", err,
                errlen) != 0)
        goto fail;
    if (curve_secret_key && setup_curve(in, curve_secret_key, err, errlen) != 0)
        goto fail;
    if (zmq_bind(in->sock, endpoint) != 0) {
        snprintf(err, errlen, "intake.endpoint %s: cannot bind: %s", endpoint, zmq_strerror(errno));
        goto fail;
    }
    return in;
fail:
    if (in->zap)
        zmq_close(in->zap);
    zmq_close(in->sock);
    zmq_ctx_term(in->ctx);
    free(in);
    return NULL;
}

void intake_destroy(struct intake **pin)
{
    if (!pin || !*pin)
        return;
    struct intake *in = *pin;
    zmq_close(in->sock); /* ZMQ_LINGER bounds how long queued replies may still go out */
    if (in->zap)
        zmq_close(in->zap);
    zmq_ctx_term(in->ctx);
    free(in);
    *pin = NULL;
}

void *intake_socket(struct intake *in)
{
    return in->sock;
}

void *intake_zap_socket(struct intake *in)
{
    return in->zap;
}

int intake_recv(struct intake *in, struct request *r, long long wall_ms)
{
    zmq_msg_t part;
    for (size_t index = 0;; index++) {
        zmq_msg_init(&part);
        /* The parts of one message arrive together, so only the first can be missing. */
        if (zmq_msg_recv(&part, in->sock, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            if (index == 0 && e == EAGAIN)
                return 0;
            errno = e; /* a message cut short (should not happen): the caller releases r */
            return -1;
        }
        bool more = zmq_msg_more(&part);
        bool routing_id = index == 0 && more;
        /* the delimiter: empty, right after the routing id, before any frame of the
         * client's (an empty last frame is a payload, and not msgpack) */
        bool delimiter = index == 1 && more && r->nframes == 0 && zmq_msg_size(&part) == 0;
        if (routing_id || delimiter) {
            zmq_msg_init(&r->envelope[r->nenvelope]);
            zmq_msg_move(&r->envelope[r->nenvelope++], &part);
        } else if (r->nframes++ == 0) {
            zmq_msg_init(&r->payload);
            zmq_msg_move(&r->payload, &part);
            r->has_payload = true;
        }
        zmq_msg_close(&part); /* the further frames of a multi-frame request are dropped here */
        if (!more)
            break;
    }
    r->recv_wall_ms = wall_ms;
    if (r->nframes != 1)
        request_reject_frame(r, "request: one frame per request, got %zu", r->nframes);
    return 1;
}

int intake_send(struct intake *in, struct request *r, const void *reply, size_t len)
{
    size_t i = 0;
    for (; i < r->nenvelope; i++) {
        if (zmq_msg_send(&r->envelope[i], in->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            break;
        /* a sent zmq_msg_t is empty again; closing it later is harmless */
    }
    if (i < r->nenvelope) {
        /* Only the routing id can fail (EHOSTUNREACH: gone; EAGAIN: not reading);
         * once it went out the rest of the message follows. */
        return -1;
    }
    if (zmq_send(in->sock, reply, len, ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}
