"""
Identity on the wire (issue 12, items 2 and 3; SPEC 8): with CURVE the broker records
which client sent each event (event_log.client, the name of the key's line in
security.clients_file; NULL from a broker without CURVE), the kiosk-misuse step keys
the device on that client, and a key may be bound to a `source` prefix and to the NIPs
it may act for.

One stack: Redis, PostgreSQL, an organisation, one ingest and one score worker, a CURVE
broker on the stack's endpoint and a plain broker on a second endpoint (the control: what
happens without CURVE). Keys are made with `kinerja keygen --out`.

Run: cd tests/integration && KINERJA_BIN_DIR=<build>/bin /usr/bin/python3 -m unittest -v test_identity
"""

import os
import signal
import time
import unittest
import uuid

import msgpack
import zmq

import harness
from harness import StackTestCase, free_port

PERIOD = "2026-03"
TS = 1772668800000  # 2026-03-05T00:00:00Z: inside PERIOD in Asia/Jakarta
REPLY_MS = 15000
SCORE_TIMEOUT = 60


def nip(n):
    return "1980010120050110%02d" % n


def keygen(stack, name):
    """`kinerja keygen --out <tmp>/keys/NAME`: (public, secret, prefix)."""
    os.makedirs(os.path.join(stack.tmp, "keys"), exist_ok=True)
    prefix = os.path.join(stack.tmp, "keys", name)
    r = stack.kinerja("keygen", "--out", prefix)
    if r.returncode != 0:
        raise RuntimeError("kinerja keygen --out failed (%d): %s" % (r.returncode, r.stderr))
    with open(prefix + ".key") as f:
        public = f.read().strip()
    with open(prefix + ".key_secret") as f:
        secret = f.read().strip()
    return public, secret, prefix


def press(employee, source, ts, rating=4, unit="UNIT-B"):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback", "source": source, "ts": ts,
            "unit": unit, "employee": employee, "rating": rating}


class IdentityTest(StackTestCase):
    """Unit A: head 01, staff 10..13. Unit B: head 02, staff 30..35 (the kiosk's
    employees). Clients: kiosk-a (citizen_feedback), ops (every type)."""

    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()
        stack.migrate()
        rows = ["nip,name,unit,position,supervisor_nip,job_family",
                "%s,Kepala A,UNIT-A,kepala,,admin" % nip(1),
                "%s,Kepala B,UNIT-B,kepala,,admin" % nip(2)]
        for n in range(10, 14):
            rows.append("%s,Staf %d,UNIT-A,staf,%s,admin" % (nip(n), n, nip(1)))
        for n in range(30, 36):
            rows.append("%s,Staf %d,UNIT-B,staf,%s,admin" % (nip(n), n, nip(2)))
        r = stack.org_import("\n".join(rows) + "\n")
        assert r.returncode == 0, r.stderr
        cls.server = keygen(stack, "server")
        cls.kiosk = keygen(stack, "kiosk")
        cls.ops = keygen(stack, "ops")
        cls.clients_path = stack.write_file("clients", cls.clients_text())
        cls.broker_env = {
            "KINERJA_SECURITY_CURVE": "true",
            "KINERJA_SECURITY_SERVER_SECRET_FILE": cls.server[2] + ".key_secret",
            "KINERJA_SECURITY_CLIENTS_FILE": cls.clients_path,
        }
        cls.broker = stack.start_broker(env=cls.broker_env, wait=False)
        cls.wait_curve_broker(stack, cls.broker, stack.intake_endpoint)
        cls.plain_endpoint = "tcp://127.0.0.1:%d" % free_port()
        cls.plain = stack.start_broker(env={"KINERJA_INTAKE_ENDPOINT": cls.plain_endpoint})
        stack.start_worker("ingest")
        stack.start_worker("score")

    @classmethod
    def clients_text(cls, extra=""):
        return ("# allow-list for test_identity\n"
                "%s kiosk-a citizen_feedback\n"
                "%s ops *\n%s" % (cls.kiosk[0], cls.ops[0], extra))

    @classmethod
    def curve_dealer(cls, stack, keys, endpoint=None):
        sock = stack._zctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_serverkey = cls.server[0].encode()
        sock.curve_publickey = keys[0].encode()
        sock.curve_secretkey = keys[1].encode()
        sock.connect(endpoint or stack.intake_endpoint)
        return sock

    @classmethod
    def wait_curve_broker(cls, stack, proc, endpoint, timeout=harness.START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            stack._check_alive(proc, "kinerja-broker")
            sock = cls.curve_dealer(stack, cls.ops, endpoint)
            try:
                sock.send(b"\xc1")  # never valid msgpack: any reply proves it serves
                if sock.poll(300, zmq.POLLIN):
                    sock.recv()
                    return
            finally:
                sock.close(linger=0)
            if time.monotonic() > deadline:
                raise RuntimeError("CURVE broker did not answer on %s within %ss" % (endpoint, timeout))

    # ---- helpers --------------------------------------------------------------------

    def ask(self, sock, obj, timeout_ms=REPLY_MS):
        sock.send(msgpack.packb(obj, use_bin_type=True))
        self.assertTrue(sock.poll(timeout_ms, zmq.POLLIN), "no reply from the broker")
        return msgpack.unpackb(sock.recv(), raw=False)

    def send_as(self, keys, events):
        """Sends events as one batch with keys (None: to the plain broker); returns the acks."""
        if keys is None:
            sock = self.stack._zctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.plain_endpoint)
        else:
            sock = self.curve_dealer(self.stack, keys)
        try:
            return self.ask(sock, events)
        finally:
            sock.close()

    def settle(self):
        """Waits until every accepted event is stored and every period computed."""
        s = self.stack

        def done():
            behind = s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            st = s.status()
            return st["pending"] == 0 and behind == 0
        time.sleep(0.3)
        s.wait_for(done, timeout=SCORE_TIMEOUT, what="events stored and periods scored")

    def clients_of(self, ids):
        rows = self.stack.sql("SELECT id::text, client FROM event_log WHERE id = ANY(%s::uuid[])", (list(ids),))
        return {i: c for i, c in rows}

    def repeats(self, employee):
        return self.stack.sql_value("SELECT count(*) FILTER (WHERE repeat) FROM feedback WHERE employee = %s",
                                    (employee,))

    # ---- slice 1: the client is recorded, the kiosk step keys on it -------------------

    def test_event_log_records_the_curve_client_and_null_without_curve(self):
        a = press(nip(30), "kiosk:dukcapil-01", TS)
        b = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
             "employee": nip(10), "period": PERIOD, "rater": nip(1), "relation": "supervisor",
             "behaviour": {"akuntabel": 4}}
        c = press(nip(30), "kiosk:dukcapil-01", TS + 3600000)
        self.assertEqual([x["status"] for x in self.send_as(self.kiosk, [a])], ["accepted"])
        self.assertEqual([x["status"] for x in self.send_as(self.ops, [b])], ["accepted"])
        self.assertEqual([x["status"] for x in self.send_as(None, [c])], ["accepted"])
        ids = [a["id"], b["id"], c["id"]]
        self.stack.wait_for(lambda: len(self.clients_of(ids)) == 3, what="the three events in event_log")
        self.assertEqual(self.clients_of(ids), {a["id"]: "kiosk-a", b["id"]: "ops", c["id"]: None})

    def test_one_kiosk_key_rotating_sources_is_one_device(self):
        # 20 presses "very satisfied" about one employee, 1 s apart, each with its own
        # source kiosk:k-00 .. kiosk:k-19, all from the kiosk-a key. kiosk_repeat_s = 10:
        # press i follows press i-1 by 1 s <= 10 s, so one burst: the first press counts
        # and presses 2..20 are repeats: 20 - 1 = 19.
        mashed = [press(nip(31), "kiosk:k-%02d" % i, TS + 7200000 + i * 1000) for i in range(20)]
        acks = self.send_as(self.kiosk, mashed)
        self.assertEqual([x["status"] for x in acks], ["accepted"] * 20)
        # control, without CURVE: the same 20 presses about another employee through the
        # plain broker are 20 devices (source is all there is), so 0 repeats; that is the
        # hole a kiosk key closes
        control = [press(nip(32), "kiosk:k-%02d" % i, TS + 7200000 + i * 1000) for i in range(20)]
        self.assertEqual([x["status"] for x in self.send_as(None, control)], ["accepted"] * 20)
        self.settle()
        self.assertEqual(self.repeats(nip(31)), 19)
        self.assertEqual(self.repeats(nip(32)), 0)
        flags = self.stack.sql("SELECT repeat FROM feedback WHERE employee = %s ORDER BY ts_ms", (nip(31),))
        self.assertEqual([f[0] for f in flags], [False] + [True] * 19)
        # the log keeps every press with the source it was sent with
        sources = self.stack.sql("SELECT DISTINCT source FROM event_log WHERE employee = %s", (nip(31),))
        self.assertEqual(len(sources), 20)


if __name__ == "__main__":
    unittest.main()
