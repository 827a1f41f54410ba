/*
 * zap: the broker's ZAP handler (ZeroMQ RFC 27) for CURVE (SPEC 8). libzmq asks it, on
 * inproc://zeromq.zap.01, whether a client that completed the CURVE handshake may
 * connect: yes (200) when its public key is in the allow-list (clients.h), with the
 * client's name as the user id, which libzmq then attaches to every message of that
 * connection ("User-Id" of zmq_msg_gets); no (400) otherwise, and the connection is
 * closed before any request is read. Refusals are logged with the client's public key
 * and address (a public key is not a secret), at most once per ZAP_LOG_INTERVAL_MS for
 * the same key, since a refused client keeps reconnecting.
 *
 * The REP socket is created and bound by intake (before the ROUTER binds, so there is
 * never a moment without a handler); the broker's loop polls it and calls zap_serve.
 */
#ifndef KINERJA_BROKER_ZAP_H
#define KINERJA_BROKER_ZAP_H

#include "clients.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "kinerja"
#define ZAP_LOG_INTERVAL_MS 10000

struct zap_state {
    uint8_t last_key[CURVEKEY_BIN_LEN]; /* the last refusal logged */
    long long last_log_ms;
    long long suppressed;
    long long refused; /* total */
};

/* Answers every ZAP request waiting on sock (without blocking) from the allow-list c.
 * Returns the number of requests refused. */
int zap_serve(void *sock, const struct clients *c, struct zap_state *st, long long now_ms);

#endif
