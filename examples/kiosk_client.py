#!/usr/bin/python3
"""
kiosk_client.py: the example kiosk client of kiosk_client.c in Python (docs/PROTOCOL.md),
with pyzmq and msgpack (Debian: python3-zmq python3-msgpack). Same options, same output.

A kiosk keeps the presses it collected and sends them as ONE frame (a msgpack array of
citizen_feedback events) to kinerja-broker over ZeroMQ with CURVE. The reply is one array
of acks in the order of the events. Presses answered `retry` (or all of them, when no
reply came in time) are sent again later WITH THE SAME id, so the broker can tell a resend
from a new press; the pause grows each time. Prints one line per press:
`<id> accepted`, `<id> duplicate` or `<id> rejected <why>`.

    kiosk_client.py --endpoint tcp://broker:5570 --server-key server.key --key kiosk-01 \\
        --source kiosk:dukcapil-kupang-01 --unit DUKCAPIL-KPG 4 3 4

server.key is the broker's public key, kiosk-01.key / kiosk-01.key_secret the kiosk's
pair (`kinerja keygen --out kiosk-01`); the operator admits kiosk-01.key in the broker's
clients file. A press is RATING or RATING@ID. Exit 0 when every press got a final ack.
"""

import argparse
import sys
import time
import uuid

import msgpack
import zmq

REPLY_TIMEOUT_MS = 5000
MAX_ATTEMPTS = 12          # then keep the presses on disk and try again later
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.2, 5.0
FINAL = ("accepted", "duplicate", "rejected")


def read_key(path):
    """A key file of `kinerja keygen`: 40 Z85 characters and a newline."""
    with open(path) as f:
        key = f.read().strip()
    if len(key) != 40:
        sys.exit("kiosk_client: %s: not a Z85 key of 40 characters" % path)
    return key.encode()


def open_socket(ctx, args):
    """A DEALER, with CURVE when a server key was given. A new socket after a timeout means
    a late reply to the old frame is never taken for the reply to the new one."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if args.server_key:
        sock.curve_serverkey = read_key(args.server_key)
        sock.curve_publickey = read_key(args.key + ".key")
        sock.curve_secretkey = read_key(args.key + ".key_secret")
    sock.connect(args.endpoint)
    return sock


def event(args, press, ts):
    ev = {"v": 1, "id": press["id"], "type": "citizen_feedback", "source": args.source,
          "ts": ts, "unit": args.unit, "rating": press["rating"]}
    if args.employee:
        ev["employee"] = args.employee
    return ev


def apply_reply(reply, pending):
    """An array: one ack per event sent, same order. A single map: the frame was refused
    as a whole (too large, not msgpack, ...), which applies to every event of it."""
    acks = reply if isinstance(reply, list) else [reply] * len(pending)
    for press, ack in zip(pending, acks):
        press["status"], press["error"] = ack.get("status"), ack.get("error") or ""
        if press["status"] not in FINAL:
            print("kiosk_client: %s: retry (%s)" % (press["id"], press["error"]), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description="send kiosk presses to kinerja-broker")
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:5570")
    ap.add_argument("--server-key", help="the broker's public key file")
    ap.add_argument("--key", help="PREFIX of this kiosk's PREFIX.key and PREFIX.key_secret")
    ap.add_argument("--source", required=True)
    ap.add_argument("--unit", required=True)
    ap.add_argument("--employee")
    ap.add_argument("presses", nargs="+", metavar="RATING[@ID]")
    args = ap.parse_args()
    if args.server_key and not args.key:
        ap.error("--key is required with --server-key")

    presses = []
    for p in args.presses:
        rating, _, given = p.partition("@")
        presses.append({"id": given or str(uuid.uuid4()), "rating": int(rating), "status": "retry",
                        "error": ""})
    ts = int(time.time() * 1000)   # when pressed, in ms
    ctx = zmq.Context()
    sock = open_socket(ctx, args)
    backoff = BACKOFF_MIN_S
    for _ in range(MAX_ATTEMPTS):
        pending = [p for p in presses if p["status"] not in FINAL]
        if not pending:
            break
        sock.send(msgpack.packb([event(args, p, ts) for p in pending]))
        if sock.poll(REPLY_TIMEOUT_MS, zmq.POLLIN):
            apply_reply(msgpack.unpackb(sock.recv(), raw=False), pending)
        else:
            # no reply: nothing is known about these presses; send them again, same ids
            print("kiosk_client: no reply within %d ms; sending again" % REPLY_TIMEOUT_MS, file=sys.stderr)
            sock.close(linger=0)
            sock = open_socket(ctx, args)
        if all(p["status"] in FINAL for p in presses):
            break
        time.sleep(backoff)
        backoff = min(backoff * 2, BACKOFF_MAX_S)
    sock.close(linger=0)
    ctx.term()

    for p in presses:
        why = " " + p["error"] if p["status"] not in ("accepted", "duplicate") else ""
        print("%s %s%s" % (p["id"], p["status"], why))
    return 0 if all(p["status"] in FINAL for p in presses) else 1


if __name__ == "__main__":
    sys.exit(main())
