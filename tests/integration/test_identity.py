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
    employees). Clients: kiosk-a (citizen_feedback, unbound: a line as before bindings),
    ops (every type), kiosk-d (bound to source kiosk:dukcapil-), sup-app (the supervisor
    app of head 01: acts only as nip 01) and emp-app (acts only for employee 10)."""

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
        cls.kiosk_d = keygen(stack, "kiosk-d")
        cls.sup = keygen(stack, "sup-app")
        cls.emp = keygen(stack, "emp-app")
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
    def tearDownClass(cls):
        try:
            if cls.stack is not None and not cls.stack.closed:
                for proc in (cls.broker, cls.plain):
                    cls.stack.stop(proc)  # exit code 0, else it raises
                    log = cls.stack.log_text(proc)
                    assert "runtime error" not in log and "AddressSanitizer" not in log, log[-4000:]
        except BaseException:
            cls._stack_failed = True
            raise
        finally:
            super().tearDownClass()

    @classmethod
    def clients_text(cls, extra=""):
        return ("# allow-list for test_identity\n"
                "%s kiosk-a citizen_feedback\n"
                "%s ops *\n"
                "%s kiosk-d citizen_feedback source=kiosk:dukcapil-\n"
                "%s sup-app signoff,appeal_decision,evaluation as=%s\n"
                "%s emp-app appeal as=%s\n%s"
                % (cls.kiosk[0], cls.ops[0], cls.kiosk_d[0], cls.sup[0], nip(1), cls.emp[0], nip(10), extra))

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


    # ---- slice 2: a key bound to a source prefix and to the people it acts for --------

    def in_redis(self, event_id):
        for shard in range(self.stack.shards):
            for _id, fields in self.stack.redis_cmd("XRANGE", "kinerja:ev:{%d}" % shard, "-", "+") or []:
                if event_id.encode() in fields:
                    return True
        return False

    def test_source_binding_refuses_other_sources_with_the_reason(self):
        good = press(nip(33), "kiosk:dukcapil-kupang-01", TS + 9000000)
        bad = press(nip(33), "kiosk:k-07", TS + 9001000)
        acks = self.send_as(self.kiosk_d, [good, bad])
        self.assertEqual(acks[0], {"id": good["id"], "status": "accepted"})
        self.assertEqual(acks[1], {"id": bad["id"], "status": "rejected",
                                   "error": "source: kiosk-d may send only kiosk:dukcapil-*"})
        self.assertFalse(self.in_redis(bad["id"]), "an event outside the binding reached the stream")
        # an unbound line (kiosk-a) still sends any source, as before bindings existed
        other = press(nip(33), "kiosk:k-07", TS + 9002000)
        self.assertEqual(self.send_as(self.kiosk, [other])[0]["status"], "accepted")

    def test_supervisor_app_signs_only_as_its_supervisor(self):
        def signoff(employee, supervisor):
            return {"v": 1, "id": str(uuid.uuid4()), "type": "signoff", "source": "app:sup", "ts": TS,
                    "employee": employee, "period": PERIOD, "supervisor": supervisor, "decision": "approve",
                    "version": 1}
        mine = signoff(nip(10), nip(1))       # head 01 signs for their own staff
        forged = signoff(nip(30), nip(2))     # the same app signing as head 02
        decision = {"v": 1, "id": str(uuid.uuid4()), "type": "appeal_decision", "source": "app:sup", "ts": TS,
                    "employee": nip(30), "period": PERIOD, "decider": nip(2), "decision": "uphold"}
        rating = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:sup", "ts": TS,
                  "employee": nip(30), "period": PERIOD, "rater": nip(2), "relation": "supervisor",
                  "behaviour": {"akuntabel": 5}}
        acks = self.send_as(self.sup, [mine, forged, decision, rating])
        self.assertEqual(acks[0]["status"], "accepted", acks[0])
        self.assertEqual(acks[1], {"id": forged["id"], "status": "rejected", "error":
                                   "supervisor: %s is not among those client sup-app may act for "
                                   "(as= in security.clients_file)" % nip(2)})
        self.assertEqual(acks[2]["error"], "decider: %s is not among those client sup-app may act for "
                                           "(as= in security.clients_file)" % nip(2))
        self.assertEqual(acks[3]["error"], "rater: %s is not among those client sup-app may act for "
                                           "(as= in security.clients_file)" % nip(2))
        for ev in (forged, decision, rating):
            self.assertFalse(self.in_redis(ev["id"]), "a forged %s reached the stream" % ev["type"])

    def test_employee_app_appeals_only_for_its_employee(self):
        def appeal(employee):
            return {"v": 1, "id": str(uuid.uuid4()), "type": "appeal", "source": "app:pegawai", "ts": TS,
                    "employee": employee, "period": PERIOD, "reason": "nilai tidak sesuai"}
        own, other = appeal(nip(10)), appeal(nip(11))
        acks = self.send_as(self.emp, [own, other])
        self.assertEqual(acks[0]["status"], "accepted", acks[0])
        self.assertEqual(acks[1]["error"], "employee: %s is not among those client emp-app may act for "
                                           "(as= in security.clients_file)" % nip(11))

    def test_sighup_applies_a_changed_binding_to_a_live_connection(self):
        sock = self.curve_dealer(self.stack, self.kiosk_d)
        try:
            ev = press(nip(34), "kiosk:dukcapil-01", TS + 9100000)
            self.assertEqual(self.ask(sock, ev)["status"], "accepted")
            with open(self.clients_path, "w") as f:
                f.write(self.clients_text().replace("source=kiosk:dukcapil-", "source=kiosk:capil-,kiosk:dinsos-"))
            try:
                self.broker.send_signal(signal.SIGHUP)
                self.stack.wait_for(lambda: self.stack.log_text(self.broker).count(
                    "reloaded security.clients_file %s: 5 clients" % self.clients_path) >= 1,
                    what="the reload's log line")
                # the same connection, after the reload: the new prefixes are in force
                ev = press(nip(34), "kiosk:dukcapil-01", TS + 9101000)
                self.assertEqual(self.ask(sock, ev), {
                    "id": ev["id"], "status": "rejected",
                    "error": "source: kiosk-d may send only kiosk:capil-* or kiosk:dinsos-*"})
                ev = press(nip(34), "kiosk:dinsos-01", TS + 9102000)
                self.assertEqual(self.ask(sock, ev)["status"], "accepted")
            finally:
                with open(self.clients_path, "w") as f:
                    f.write(self.clients_text())
                self.broker.send_signal(signal.SIGHUP)
                self.stack.wait_for(lambda: self.stack.log_text(self.broker).count(
                    "reloaded security.clients_file %s: 5 clients" % self.clients_path) >= 2,
                    what="the reload back")
            ev = press(nip(34), "kiosk:dukcapil-01", TS + 9103000)
            self.assertEqual(self.ask(sock, ev)["status"], "accepted")

            # a reload that fails (a bad line) keeps the list in force, bindings included
            with open(self.clients_path, "w") as f:
                f.write(self.clients_text("%s broken * as=123\n" % self.kiosk[0]))
            try:
                self.broker.send_signal(signal.SIGHUP)
                self.stack.wait_for(lambda: "the previous allow-list stays in force"
                                    in self.stack.log_text(self.broker), what="the failed reload's log line")
                self.assertIn(":7: as=: \"123\" is not an 18-digit NIP or an evaluator id",
                              self.stack.log_text(self.broker))
                ev = press(nip(34), "kiosk:k-01", TS + 9104000)
                self.assertEqual(self.ask(sock, ev)["error"], "source: kiosk-d may send only kiosk:dukcapil-*")
                ev = press(nip(34), "kiosk:dukcapil-02", TS + 9105000)
                self.assertEqual(self.ask(sock, ev)["status"], "accepted")
            finally:
                with open(self.clients_path, "w") as f:
                    f.write(self.clients_text())
        finally:
            sock.close()

    def test_bad_binding_lines_exit_1_naming_line_and_reason(self):
        k, o = self.kiosk[0], self.ops[0]
        cases = [
            ("%s kiosk-a citizen_feedback sorce=kiosk:\n" % k,
             ":1: unknown word \"sorce=kiosk:\" after the event types"),
            ("%s ops * as=12345\n" % o, ":1: as=: \"12345\" is not an 18-digit NIP or an evaluator id"),
            ("%s ops * as=%s, source=x\n" % (o, nip(1)), ":1: as=: empty item"),
            ("%s ops * source=a source=b\n" % o, ":1: source=: given twice"),
            ("# rotation\n%s ops * as=%s\n%s ops * as=%s\n" % (k, nip(1), o, nip(2)),
             ":3: name ops: listed on line 2 with other bindings"),
        ]
        for i, (text, want) in enumerate(cases):
            path = self.stack.write_file("clients-bad-%d" % i, text)
            env = dict(self.broker_env, KINERJA_SECURITY_CLIENTS_FILE=path,
                       KINERJA_INTAKE_ENDPOINT="tcp://127.0.0.1:%d" % free_port())
            proc = self.stack.start_broker(env=env, wait=False)
            self.assertEqual(proc.wait(timeout=30), 1, text)
            self.assertIn("security.clients_file %s%s" % (path, want), self.stack.log_text(proc))

    def test_an_as_list_of_800_nips_fits_on_one_line(self):
        # 800 NIPs of 18 digits with commas: 800 x 19 - 1 = 15199 characters after "as=",
        # within CLIENTS_LINE_MAX (16384); the last one acts, one not listed does not
        many = ["1999%014d" % i for i in range(799)] + [nip(1)]
        path = self.stack.write_file("clients-many", "%s ops * as=%s\n" % (self.ops[0], ",".join(many)))
        endpoint = "tcp://127.0.0.1:%d" % free_port()
        env = dict(self.broker_env, KINERJA_SECURITY_CLIENTS_FILE=path, KINERJA_INTAKE_ENDPOINT=endpoint)
        proc = self.stack.start_broker(env=env, wait=False)
        try:
            self.wait_curve_broker(self.stack, proc, endpoint)
            sock = self.curve_dealer(self.stack, self.ops, endpoint)
            try:
                def signoff(supervisor):
                    return {"v": 1, "id": str(uuid.uuid4()), "type": "signoff", "source": "app:sup", "ts": TS,
                            "employee": nip(10), "period": PERIOD, "supervisor": supervisor,
                            "decision": "approve", "version": 1}
                acks = self.ask(sock, [signoff(nip(1)), signoff(nip(2))])
            finally:
                sock.close()
            self.assertEqual(acks[0]["status"], "accepted", acks[0])
            self.assertEqual(acks[1]["status"], "rejected", acks[1])
        finally:
            self.stack.stop(proc)

    def test_worker_refuses_an_entry_whose_client_is_not_a_name(self):
        # only the broker writes the cl field; an entry someone else wrote with a bad
        # one is refused with the reason, not stored under a made-up identity
        ev = press(nip(35), "kiosk:x", TS + 9200000)
        self.stack.redis_cmd("XADD", "kinerja:ev:{0}", "*", "id", ev["id"],
                             "ev", msgpack.packb(ev, use_bin_type=True), "rt", str(int(time.time() * 1000)),
                             "cl", "bad name!")
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT count(*) FROM rejected_events WHERE event_id = %s", (ev["id"],)) == 1,
            what="the entry in rejected_events")
        self.assertEqual(self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s",
                                              (ev["id"],)),
                         "entry: cl: not a client name (1..64 characters of A-Z a-z 0-9 . _ -)")


if __name__ == "__main__":
    unittest.main()
