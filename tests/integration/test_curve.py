"""
CURVE on the intake (SPEC 8): the broker as a CURVE server whose ZAP handler admits only
the public keys of security.clients_file, each with the event types it may send; the
`kinerja` CLI sending with its own key pair; `kinerja keygen`. Asserted where a user
would look: the acks a kiosk gets (or that it gets none), the rows in PostgreSQL, the
broker's log and exit code, the key files.

Every key is made with `kinerja keygen --out` in the stack's temporary directory, and
the security.* settings go to each process through KINERJA_SECURITY_* (the stack's
config file keeps CURVE off).

Run: cd tests/integration && KINERJA_BIN_DIR=<build>/bin /usr/bin/python3 -m unittest -v test_curve
"""

import os
import re
import signal
import stat
import sys
import time
import unittest

import msgpack
import zmq

import harness
from harness import StackTestCase, free_port

sys.path.insert(0, harness.SCRIPTS_DIR)
import gen_traffic  # noqa: E402

Z85 = r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}"
NO_REPLY_MS = 3000   # a refused or plain client waits this long and gets nothing
REPLY_MS = 15000
SUMMARY_RE = re.compile(r"^sent=(\d+) accepted=(\d+) duplicate=(\d+) rejected=(\d+)$", re.M)


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


class CurveTest(StackTestCase):
    """Redis, PostgreSQL, one ingest worker, an organisation, and a broker with CURVE on:
    clients `kiosk-01` (citizen_feedback only) and `ops` (every type); `stranger` has a
    key pair but is not listed."""

    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()
        stack.migrate()
        cls.org = gen_traffic.build_org(units=3, per_unit=5, seed=11)
        stack.org_import(cls.org.to_csv())
        cls.server = keygen(stack, "server")
        cls.kiosk = keygen(stack, "kiosk")
        cls.ops = keygen(stack, "ops")
        cls.stranger = keygen(stack, "stranger")
        cls.clients_path = stack.write_file("clients", cls.clients_text())
        cls.broker_env = {
            "KINERJA_SECURITY_CURVE": "true",
            "KINERJA_SECURITY_SERVER_SECRET_FILE": cls.server[2] + ".key_secret",
            "KINERJA_SECURITY_CLIENTS_FILE": cls.clients_path,
        }
        cls.broker = stack.start_broker(env=cls.broker_env, wait=False)
        cls.wait_curve_broker(stack, cls.broker, stack.intake_endpoint)
        stack.start_worker("ingest")
        cls.seed = 100

    @classmethod
    def clients_text(cls, extra=""):
        return ("# CURVE allow-list for test_curve\n"
                "\n"
                "%s kiosk-01 citizen_feedback\n"
                "   # an indented comment\n"
                "%s ops *\n%s" % (cls.kiosk[0], cls.ops[0], extra))

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

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.stack is not None and not cls.stack.closed:
                cls.stack.stop(cls.broker)
                log = cls.stack.log_text(cls.broker)
                # the broker's secret key never reaches its log
                assert cls.server[1] not in log, "the server's secret key is in the broker log"
                assert "runtime error" not in log and "AddressSanitizer" not in log, log[-4000:]
        except BaseException:
            cls._stack_failed = True
            raise
        finally:
            super().tearDownClass()

    # ---- helpers --------------------------------------------------------------------

    @staticmethod
    def curve_dealer(stack, keys, endpoint=None):
        sock = stack._zctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_serverkey = CurveTest.server[0].encode()
        sock.curve_publickey = keys[0].encode()
        sock.curve_secretkey = keys[1].encode()
        sock.connect(endpoint or stack.intake_endpoint)
        return sock

    def events(self, kind, n=1):
        type(self).seed += 1
        return gen_traffic.make_events(self.org, count=n, seed=self.seed, mix={kind: 1}).events

    def ask(self, sock, obj, timeout_ms=REPLY_MS):
        sock.send(msgpack.packb(obj, use_bin_type=True))
        if not sock.poll(timeout_ms, zmq.POLLIN):
            return None
        return msgpack.unpackb(sock.recv(), raw=False)

    def stored(self, ids):
        return self.stack.sql_value("SELECT count(*) FROM event_log WHERE id = ANY(%s::uuid[])", (list(ids),))

    def in_redis(self, event_id):
        for shard in range(self.stack.shards):
            for _id, fields in self.stack.redis_cmd("XRANGE", "kinerja:ev:{%d}" % shard, "-", "+") or []:
                if event_id.encode() in fields:
                    return True
        return False

    def cli_env(self, keys):
        return {
            "KINERJA_SECURITY_CURVE": "true",
            "KINERJA_SECURITY_SERVER_PUBLIC_FILE": self.server[2] + ".key",
            "KINERJA_SECURITY_CLIENT_KEY_FILE": keys[2],
        }

    # ---- the broker ------------------------------------------------------------------

    def test_listed_kiosk_key_sends_citizen_feedback_and_it_is_stored(self):
        ev = self.events("kiosk")[0]
        d = self.curve_dealer(self.stack, self.kiosk)
        try:
            ack = self.ask(d, ev)
        finally:
            d.close()
        self.assertEqual(ack, {"id": ev["id"], "status": "accepted"})
        self.stack.wait_for(lambda: self.stored([ev["id"]]) == 1, what="the kiosk's event in event_log")

    def test_kiosk_key_gets_rejected_for_an_evaluation(self):
        ev = self.events("evaluation")[0]
        feedback = self.events("kiosk")[0]
        d = self.curve_dealer(self.stack, self.kiosk)
        try:
            ack = self.ask(d, ev)
            batch = self.ask(d, [feedback, ev])
        finally:
            d.close()
        self.assertEqual(ack, {"id": ev["id"], "status": "rejected",
                               "error": "type: evaluation is not allowed for client kiosk-01"})
        self.assertEqual([a["status"] for a in batch], ["accepted", "rejected"])
        self.assertEqual(batch[1]["error"], "type: evaluation is not allowed for client kiosk-01")
        self.assertFalse(self.in_redis(ev["id"]), "a refused evaluation reached the stream")
        # the ops key may send every type
        d = self.curve_dealer(self.stack, self.ops)
        try:
            self.assertEqual(self.ask(d, ev)["status"], "accepted")
        finally:
            d.close()

    def test_unlisted_key_cannot_connect(self):
        ev = self.events("kiosk")[0]
        d = self.curve_dealer(self.stack, self.stranger)
        try:
            self.assertIsNone(self.ask(d, ev, NO_REPLY_MS), "an unlisted key got a reply")
        finally:
            d.close()
        self.assertFalse(self.in_redis(ev["id"]))
        self.stack.wait_for(
            lambda: "zap: refused client key %s" % self.stranger[0] in self.stack.log_text(self.broker),
            what="the broker's log of the refusal")

    def test_client_without_curve_gets_nothing(self):
        ev = self.events("kiosk")[0]
        d = self.stack.dealer()
        try:
            self.assertIsNone(self.ask(d, ev, NO_REPLY_MS), "a plain client got a reply")
        finally:
            d.close()
        self.assertFalse(self.in_redis(ev["id"]))

    def test_wrong_server_key_gets_nothing(self):
        d = self.stack._zctx.socket(zmq.DEALER)
        d.setsockopt(zmq.LINGER, 0)
        d.curve_serverkey = self.ops[0].encode()  # not the broker's
        d.curve_publickey = self.kiosk[0].encode()
        d.curve_secretkey = self.kiosk[1].encode()
        d.connect(self.stack.intake_endpoint)
        try:
            self.assertIsNone(self.ask(d, self.events("kiosk")[0], NO_REPLY_MS))
        finally:
            d.close()

    # ---- the CLI ---------------------------------------------------------------------

    def test_kinerja_send_with_the_right_keys_end_to_end(self):
        evs = self.events("kiosk", 3) + self.events("evaluation", 2)
        path = self.stack.write_file("send-ops.jsonl", gen_traffic.to_jsonl(evs))
        r = self.stack.kinerja("send", path, "--timeout", "30", env=self.cli_env(self.ops))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(SUMMARY_RE.search(r.stdout).groups(), ("5", "5", "0", "0"))
        ids = [e["id"] for e in evs]
        self.stack.wait_for(lambda: self.stored(ids) == 5, what="the 5 events in event_log")

        # the kiosk's key through the CLI: its evaluation is rejected with the reason
        evs = self.events("kiosk", 1) + self.events("evaluation", 1)
        path = self.stack.write_file("send-kiosk.jsonl", gen_traffic.to_jsonl(evs))
        r = self.stack.kinerja("send", path, "--timeout", "30", env=self.cli_env(self.kiosk))
        self.assertEqual(SUMMARY_RE.search(r.stdout).groups(), ("2", "1", "0", "1"), r.stderr)
        self.assertIn("type: evaluation is not allowed for client kiosk-01", r.stderr)

    def test_kinerja_send_with_an_unlisted_key_gets_no_ack(self):
        evs = self.events("kiosk", 1)
        path = self.stack.write_file("send-stranger.jsonl", gen_traffic.to_jsonl(evs))
        r = self.stack.kinerja("send", path, "--timeout", "3", env=self.cli_env(self.stranger))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(SUMMARY_RE.search(r.stdout).groups(), ("1", "0", "0", "0"), r.stderr)
        self.assertFalse(self.in_redis(evs[0]["id"]))

    def test_kinerja_send_names_a_missing_key_file(self):
        env = self.cli_env(self.ops)
        env["KINERJA_SECURITY_CLIENT_KEY_FILE"] = os.path.join(self.stack.tmp, "keys", "nobody")
        path = self.stack.write_file("send-nokey.jsonl", gen_traffic.to_jsonl(self.events("kiosk", 1)))
        r = self.stack.kinerja("send", path, "--timeout", "3", env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("security.client_key_file %s.key: cannot read" % env["KINERJA_SECURITY_CLIENT_KEY_FILE"],
                      r.stderr)

    def test_recalc_sends_with_curve(self):
        r = self.stack.kinerja("recalc", "--period", "2025-03", "--timeout", "30", env=self.cli_env(self.ops))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"accepted")
        # the kiosk may not send recalc
        r = self.stack.kinerja("recalc", "--period", "2025-03", "--timeout", "30", env=self.cli_env(self.kiosk))
        self.assertEqual(r.returncode, 1)
        self.assertIn("type: recalc is not allowed for client kiosk-01", r.stdout + r.stderr)

    # ---- reload, rate limit, bad settings ---------------------------------------------

    def test_sighup_reloads_the_clients_file(self):
        newcomer = keygen(self.stack, "newcomer")
        ev = self.events("kiosk")[0]
        d = self.curve_dealer(self.stack, newcomer)
        try:
            self.assertIsNone(self.ask(d, ev, NO_REPLY_MS))
        finally:
            d.close()
        with open(self.clients_path, "w") as f:
            f.write(self.clients_text("%s newcomer citizen_feedback,signoff\n" % newcomer[0]))
        try:
            self.broker.send_signal(signal.SIGHUP)
            self.stack.wait_for(lambda: "security.clients_file %s: 3 clients" % self.clients_path
                                in self.stack.log_text(self.broker), what="the reload's log line")
            d = self.curve_dealer(self.stack, newcomer)
            try:
                self.assertEqual(self.ask(d, ev), {"id": ev["id"], "status": "accepted"})
            finally:
                d.close()
        finally:
            with open(self.clients_path, "w") as f:
                f.write(self.clients_text())
            self.broker.send_signal(signal.SIGHUP)
            self.stack.wait_for(lambda: "security.clients_file %s: 2 clients" % self.clients_path
                                in self.stack.log_text(self.broker), what="the reload back")

    def start_second_broker(self, env):
        endpoint = "tcp://127.0.0.1:%d" % free_port()
        full = dict(self.broker_env, KINERJA_INTAKE_ENDPOINT=endpoint, **env)
        proc = self.stack.start_broker(env=full, wait=False)
        return proc, endpoint

    def test_rate_limit_counts_per_client_name_not_per_connection(self):
        proc, endpoint = self.start_second_broker({"KINERJA_INTAKE_RATE_PER_CLIENT": "5"})
        self.wait_curve_broker(self.stack, proc, endpoint)
        a = self.curve_dealer(self.stack, self.kiosk, endpoint)
        b = self.curve_dealer(self.stack, self.kiosk, endpoint)
        try:
            first = self.ask(a, self.events("kiosk", 5))
            self.assertEqual([x["status"] for x in first], ["accepted"] * 5)
            # a second connection with the same key shares kiosk-01's bucket
            second = self.ask(b, self.events("kiosk", 5))
            self.assertEqual([x["status"] for x in second], ["retry"] * 5)
            self.assertEqual(second[0]["error"], "rate limited")
        finally:
            a.close()
            b.close()
        self.stack.stop(proc)

    def test_malformed_clients_file_exits_1_naming_the_line(self):
        bad = self.stack.write_file("clients-bad", "# ok so far\n%s kiosk-01 citizen_feedback\n%s ops feedbak\n"
                                    % (self.kiosk[0], self.ops[0]))
        proc, _ = self.start_second_broker({"KINERJA_SECURITY_CLIENTS_FILE": bad})
        self.assertEqual(proc.wait(timeout=30), 1)
        log = self.stack.log_text(proc)
        self.assertIn("security.clients_file %s:3: event types: unknown type \"feedbak\"" % bad, log)

        bad = self.stack.write_file("clients-bad2", "%s\n" % self.kiosk[0])
        proc, _ = self.start_second_broker({"KINERJA_SECURITY_CLIENTS_FILE": bad})
        self.assertEqual(proc.wait(timeout=30), 1)
        self.assertIn("security.clients_file %s:1: expected" % bad, self.stack.log_text(proc))

        bad = self.stack.write_file("clients-bad3", "%s a x\nnot-a-key kiosk-02 citizen_feedback\n" % self.kiosk[0])
        proc, _ = self.start_second_broker({"KINERJA_SECURITY_CLIENTS_FILE": bad})
        self.assertEqual(proc.wait(timeout=30), 1)
        self.assertRegex(self.stack.log_text(proc), r"security\.clients_file .*clients-bad3:1: event types")

    def test_missing_or_malformed_server_secret_file_exits_1_naming_the_file(self):
        missing = os.path.join(self.stack.tmp, "keys", "absent.key_secret")
        proc, _ = self.start_second_broker({"KINERJA_SECURITY_SERVER_SECRET_FILE": missing})
        self.assertEqual(proc.wait(timeout=30), 1)
        self.assertIn("security.server_secret_file %s: cannot read: No such file or directory" % missing,
                      self.stack.log_text(proc))

        short = self.stack.write_file("short.key_secret", self.server[1][:30] + "\n")
        proc, _ = self.start_second_broker({"KINERJA_SECURITY_SERVER_SECRET_FILE": short})
        self.assertEqual(proc.wait(timeout=30), 1)
        log = self.stack.log_text(proc)
        self.assertIn("security.server_secret_file %s: must hold one Z85 key of 40 characters" % short, log)
        self.assertNotIn(self.server[1][:30], log)

    # ---- keygen ------------------------------------------------------------------------

    def test_keygen_output_shapes(self):
        r = self.stack.kinerja("keygen")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        m1 = re.fullmatch(r"public (%s)" % Z85, lines[0])
        m2 = re.fullmatch(r"secret (%s)" % Z85, lines[1])
        self.assertTrue(m1 and m2, r.stdout)
        # a real pair: the public key derives from the secret one
        self.assertEqual(zmq.curve_public(m2.group(1).encode()).decode(), m1.group(1))
        self.assertNotEqual(self.stack.kinerja("keygen").stdout, r.stdout)

        prefix = os.path.join(self.stack.tmp, "keys", "shape")
        r = self.stack.kinerja("keygen", "--out", prefix)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(prefix + ".key") as f:
            public = f.read()
        with open(prefix + ".key_secret") as f:
            secret = f.read()
        self.assertRegex(public, r"^%s\n\Z" % Z85)
        self.assertRegex(secret, r"^%s\n\Z" % Z85)
        self.assertEqual(r.stdout, "public %s" % public)  # the secret is not printed
        self.assertEqual(zmq.curve_public(secret.strip().encode()).decode(), public.strip())
        self.assertEqual(stat.S_IMODE(os.stat(prefix + ".key_secret").st_mode), 0o600)

        r = self.stack.kinerja("keygen", "--out", prefix)
        self.assertEqual(r.returncode, 1)
        self.assertIn("File exists", r.stderr)
        with open(prefix + ".key_secret") as f:
            self.assertEqual(f.read(), secret, "an existing secret key was overwritten")
        r = self.stack.kinerja("keygen", "--out", prefix, "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(prefix + ".key_secret") as f:
            self.assertNotEqual(f.read(), secret)
        self.assertEqual(self.stack.kinerja("keygen", "--bogus").returncode, 2)


if __name__ == "__main__":
    unittest.main()
