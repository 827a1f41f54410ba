/*
 * intake: the broker's ZeroMQ ROUTER socket (SPEC 3). Receives requests from REQ
 * clients (routing id, empty delimiter, payload) and DEALER clients (routing id,
 * payload, with or without an empty delimiter) and sends each reply with the same
 * envelope frames in front, so both kinds get their answer.
 *
 * Limits and what happens at them:
 *  - one frame per request (SPEC 3): the envelope is the routing id and, when the
 *    client's first frame is empty and more follow, that empty delimiter; every other
 *    frame is the client's. A message with two or more of them (a DEALER's
 *    send_multipart, a REQ's multi-part send) is rejected whole with one ack, id nil
 *    ("request: one frame per request, got N"), behind the same envelope; none of
 *    its frames is decoded or echoed. (A proxy hop's routing id in front is therefore
 *    a frame too: clients connect to the broker itself, SPEC 3 and 11.)
 *  - ZMQ_MAXMSGSIZE = 2 x intake.max_frame_bytes: a frame between the two limits gets
 *    a rejected ack, a frame beyond twice the limit makes libzmq drop the connection
 *    before the broker sees it (the client sees no reply and reconnects);
 *  - ZMQ_RCVHWM is small (INTAKE_RCVHWM requests per client): a client that sends
 *    faster than the broker answers is slowed by TCP backpressure, not dropped;
 *  - sends never block (ZMQ_DONTWAIT with ZMQ_ROUTER_MANDATORY): a reply to a client
 *    that vanished or stopped reading is dropped and counted, the loop moves on.
 * Called by the broker's main loop only.
 */
#ifndef KINERJA_BROKER_INTAKE_H
#define KINERJA_BROKER_INTAKE_H

#include "request.h"

#include <stddef.h>

#define INTAKE_RCVHWM 100
#define INTAKE_SNDHWM 1000
#define INTAKE_LINGER_MS 2000

struct intake;

/* Creates the ZMQ context and binds the ROUTER to endpoint. With curve_secret_key (Z85,
 * security.curve) the ROUTER is a CURVE server and a ZAP REP socket is bound on
 * ZAP_ENDPOINT first (zap.h; the caller serves it from intake_zap_socket); NULL: plain
 * TCP. NULL with the reason in err. */
struct intake *intake_new(const char *endpoint, size_t max_frame_bytes, const char *curve_secret_key,
                          char *err, size_t errlen);
/* Closes the socket (lingering up to INTAKE_LINGER_MS for replies still queued). */
void intake_destroy(struct intake **in);

/* The socket, for zmq_poll. */
void *intake_socket(struct intake *in);
/* The ZAP handler's socket, for zmq_poll; NULL without CURVE. */
void *intake_zap_socket(struct intake *in);

/* Receives one request without waiting. Returns 1 with r filled (frames only; see
 * request_decode), 0 when nothing is waiting, -1 on a socket error (errno set; EINTR
 * when a signal arrived). */
int intake_recv(struct intake *in, struct request *r, long long wall_ms);

/* Sends reply[0..len) to the client of r with r's envelope in front (the envelope
 * frames are consumed). Returns 0, or -1 when the reply was dropped (client gone or not
 * reading). */
int intake_send(struct intake *in, struct request *r, const void *reply, size_t len);

#endif
