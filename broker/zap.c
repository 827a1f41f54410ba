/*
 * zap: the ZAP handler; see zap.h.
 */
#include "zap.h"

#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define ZAP_FRAMES_MAX 8 /* version, request id, domain, address, identity, mechanism, credentials */
#define ZAP_FRAME_TEXT_MAX 256

enum zap_frame {
    ZAP_VERSION,
    ZAP_REQUEST_ID,
    ZAP_DOMAIN_F,
    ZAP_ADDRESS,
    ZAP_IDENTITY,
    ZAP_MECHANISM,
    ZAP_CREDENTIALS
};

static bool frame_is(zmq_msg_t *m, const char *text)
{
    size_t n = strlen(text);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), text, n) == 0;
}

static void frame_text(zmq_msg_t *m, char *out, size_t outlen)
{
    size_t n = zmq_msg_size(m);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, zmq_msg_data(m), n);
    out[n] = '\0';
}

static void send_reply(void *sock, zmq_msg_t *request_id, const char *code, const char *text,
                       const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_msg_send(request_id, sock, ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0); /* metadata: none */
}

static void log_refusal(struct zap_state *st, const uint8_t *key, const char *address, const char *why,
                        long long now_ms)
{
    st->refused++;
    bool same = key && memcmp(key, st->last_key, CURVEKEY_BIN_LEN) == 0;
    if (same && now_ms - st->last_log_ms < ZAP_LOG_INTERVAL_MS) {
        st->suppressed++;
        return;
    }
    char z85[CURVEKEY_Z85_LEN + 1] = "(none)";
    if (key) {
        zmq_z85_encode(z85, key, CURVEKEY_BIN_LEN);
        memcpy(st->last_key, key, CURVEKEY_BIN_LEN);
    }
    if (same && st->suppressed)
        log_warn("zap: refused client key %s from %s: %s (%lld more refusals of it in the last %ds)", z85,
                 address, why, st->suppressed, ZAP_LOG_INTERVAL_MS / 1000);
    else
        log_warn("zap: refused client key %s from %s: %s", z85, address, why);
    st->suppressed = 0;
    st->last_log_ms = now_ms;
}

/* One request: 1 refused, 0 accepted (or not answerable), -1 nothing waiting. */
static int serve_one(void *sock, const struct clients *c, struct zap_state *st, long long now_ms)
{
    zmq_msg_t f[ZAP_FRAMES_MAX];
    size_t n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&part);
            if (n == 0)
                return -1;
            break; /* a request cut short: cannot happen on inproc */
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_FRAMES_MAX) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &part);
        }
        zmq_msg_close(&part);
    }
    int refused = 0;
    if (n < ZAP_CREDENTIALS) {
        /* libzmq never sends this; a REP socket must still answer to go on. */
        log_error("zap: malformed request of %zu frames refused", n);
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        send_reply(sock, n > ZAP_REQUEST_ID ? &f[ZAP_REQUEST_ID] : &empty, "500", "malformed request", "");
        zmq_msg_close(&empty);
        refused = 1;
    } else {
        char address[ZAP_FRAME_TEXT_MAX];
        frame_text(&f[ZAP_ADDRESS], address, sizeof address);
        const struct client *cl = NULL;
        const uint8_t *key = NULL;
        if (!frame_is(&f[ZAP_VERSION], "1.0")) {
            send_reply(sock, &f[ZAP_REQUEST_ID], "500", "version 1.0 only", "");
            refused = 1;
        } else if (n != ZAP_CREDENTIALS + 1 || !frame_is(&f[ZAP_MECHANISM], "CURVE") ||
                   zmq_msg_size(&f[ZAP_CREDENTIALS]) != CURVEKEY_BIN_LEN) {
            send_reply(sock, &f[ZAP_REQUEST_ID], "400", "CURVE only", "");
            log_refusal(st, NULL, address, "not a CURVE handshake", now_ms);
            refused = 1;
        } else {
            key = zmq_msg_data(&f[ZAP_CREDENTIALS]);
            cl = clients_find_key(c, key);
            if (cl) {
                send_reply(sock, &f[ZAP_REQUEST_ID], "200", "OK", cl->name);
                log_debug("zap: client %s connected from %s", cl->name, address);
            } else {
                send_reply(sock, &f[ZAP_REQUEST_ID], "400", "public key not allowed", "");
                log_refusal(st, key, address, "public key not in security.clients_file", now_ms);
                refused = 1;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return refused;
}

int zap_serve(void *sock, const struct clients *c, struct zap_state *st, long long now_ms)
{
    int refused = 0, rc;
    while ((rc = serve_one(sock, c, st, now_ms)) >= 0)
        refused += rc;
    return refused;
}
