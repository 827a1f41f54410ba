"""
The example clients of examples/ (kiosk_client in C, kiosk_client.py), run as a vendor
would run them against a real stack: Redis, PostgreSQL, one ingest worker and a broker
with CURVE on, whose clients file admits the kiosk's key for citizen_feedback from
sources `kiosk:test-` only. Every key is made with `kinerja keygen --out`.

Asserted where a vendor and an operator look: the lines the client prints, its exit code,
the rows in event_log and rejected_events, `kinerja event ID`.

Run: cd tests/integration && KINERJA_BIN_DIR=<build>/bin /usr/bin/python3 -m unittest -v test_examples
"""

import json
import os
import subprocess
import sys
import time
import unittest
import uuid

import harness
from harness import StackTestCase

sys.path.insert(0, harness.SCRIPTS_DIR)
import gen_traffic  # noqa: E402
import msgpack  # noqa: E402
import zmq  # noqa: E402

CLIENT_TIMEOUT = 120
RATING_7 = "rating: must be an integer 1..4, got 7"


def keygen(stack, name):
    prefix = os.path.join(stack.tmp, "keys", name)
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    r = stack.kinerja("keygen", "--out", prefix)
    if r.returncode != 0:
        raise RuntimeError("kinerja keygen --out %s failed (%d): %s" % (prefix, r.returncode, r.stderr))
    with open(prefix + ".key") as f:
        return f.read().strip(), prefix


class ExamplesTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()
        stack.migrate()
        cls.org = gen_traffic.build_org(units=2, per_unit=4, seed=16)
        stack.org_import(cls.org.to_csv())
        cls.unit = cls.org.service_units[0]
        cls.employee = cls.org.members[cls.unit][-1]
        _, cls.server = keygen(stack, "server")
        kiosk_public, cls.kiosk = keygen(stack, "kiosk-01")
        clients = stack.write_file("clients", "# test_examples\n%s kiosk-01 citizen_feedback source=kiosk:test-\n"
                                   % kiosk_public)
        broker = stack.start_broker(env={"KINERJA_SECURITY_CURVE": "true",
                                         "KINERJA_SECURITY_SERVER_SECRET_FILE": cls.server + ".key_secret",
                                         "KINERJA_SECURITY_CLIENTS_FILE": clients}, wait=False)
        cls.wait_curve_broker(stack, broker)
        stack.start_worker("ingest")
        cls.clients = {
            "c": [os.path.join(stack.bin_dir, "kiosk_client")],
            "python": ["/usr/bin/python3", os.path.join(stack.source_dir, "examples", "kiosk_client.py")],
        }

    @classmethod
    def wait_curve_broker(cls, stack, proc):
        """Until the broker answers the kiosk's key (the harness's plain probe cannot)."""
        keys = {}
        for name, suffix in (("server", ".key"), ("public", ".key"), ("secret", ".key_secret")):
            with open((cls.server if name == "server" else cls.kiosk) + suffix) as f:
                keys[name] = f.read().strip().encode()
        deadline = time.monotonic() + harness.START_TIMEOUT
        while True:
            stack._check_alive(proc, "kinerja-broker")
            sock = stack._zctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.curve_serverkey, sock.curve_publickey, sock.curve_secretkey = (
                keys["server"], keys["public"], keys["secret"])
            sock.connect(stack.intake_endpoint)
            try:
                sock.send(b"\xc1")  # never valid msgpack: any reply proves it serves
                if sock.poll(300, zmq.POLLIN):
                    msgpack.unpackb(sock.recv(), raw=False)
                    return
            finally:
                sock.close(linger=0)
            if time.monotonic() > deadline:
                raise RuntimeError("CURVE broker did not answer within %ss" % harness.START_TIMEOUT)

    # ---- helpers --------------------------------------------------------------------

    def argv(self, lang, *presses, source="kiosk:test-01", employee=None):
        argv = self.clients[lang] + ["--endpoint", self.stack.intake_endpoint, "--server-key",
                                     self.server + ".key", "--key", self.kiosk, "--source", source,
                                     "--unit", self.unit]
        if employee:
            argv += ["--employee", employee]
        return argv + list(presses)

    def run_client(self, lang, *presses, **kw):
        r = subprocess.run(self.argv(lang, *presses, **kw), capture_output=True, text=True,
                           timeout=CLIENT_TIMEOUT, env=self.stack.env)
        return r, self.outcomes(r.stdout)

    @staticmethod
    def outcomes(stdout):
        """{id: (status, error)} from the client's lines `<id> <status>[ <error>]`."""
        out = {}
        for line in stdout.splitlines():
            parts = line.split(" ", 2)
            out[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
        return out

    def stored(self, ids):
        return self.stack.sql_value("SELECT count(*) FROM event_log WHERE id = ANY(%s::uuid[])", (list(ids),))

    def wait_stored(self, ids):
        self.stack.wait_for(lambda: self.stored(ids) == len(ids), timeout=30,
                            what="the client's %d events in event_log" % len(ids))

    # ---- tests ----------------------------------------------------------------------

    def check_client(self, lang):
        again = str(uuid.uuid4())
        r, out = self.run_client(lang, "4", "3", "2@" + again, "7")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(out), 4, r.stdout)
        accepted = [i for i, (s, _) in out.items() if s == "accepted"]
        self.assertEqual(len(accepted), 3, r.stdout)
        self.assertIn(again, accepted)
        (bad,) = [i for i, (s, _) in out.items() if s == "rejected"]
        self.assertEqual(out[bad], ("rejected", RATING_7))
        self.wait_stored(accepted)
        rows = self.stack.sql("SELECT type, source, unit, payload->>'rating' FROM event_log WHERE id = %s",
                              (again,))
        self.assertEqual(rows, [("citizen_feedback", "kiosk:test-01", self.unit, "2")])
        self.assertEqual(self.stored([bad]), 0, "a rejected press reached event_log")

        # the same press sent again (a kiosk that lost the ack): duplicate, stored once
        r, out = self.run_client(lang, "2@" + again, "1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(out[again], ("duplicate", ""))
        self.assertEqual([s for i, (s, _) in out.items() if i != again], ["accepted"])
        self.wait_stored([i for i in out])
        self.assertEqual(self.stored([again]), 1)

        # a source outside the key's source= prefix: rejected by the broker, naming why
        r, out = self.run_client(lang, "4", source="kiosk:other-01")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (status, error), = out.values()
        self.assertEqual(status, "rejected")
        self.assertEqual(error, "source: kiosk-01 may send only kiosk:test-*")

    def test_c_client(self):
        self.check_client("c")

    def test_python_client(self):
        self.check_client("python")

    def test_worker_side_rejection_is_found_with_kinerja_event(self):
        """An unknown NIP passes the broker (accepted) and is refused by the ingest
        worker: `kinerja event ID` says so, with the reason."""
        for lang in ("c", "python"):
            with self.subTest(client=lang):
                r, out = self.run_client(lang, "3", employee="199901012020011999")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                (eid, (status, _)), = out.items()
                self.assertEqual(status, "accepted")
                self.stack.wait_for(
                    lambda: self.stack.sql_value("SELECT count(*) FROM rejected_events WHERE event_id = %s",
                                                 (eid,)) == 1, timeout=30, what="the event in rejected_events")
                ev = self.stack.kinerja("event", eid, "--json")
                self.assertEqual(ev.returncode, 0, ev.stderr)
                doc = json.loads(ev.stdout)
                self.assertEqual(doc["state"], "rejected")
                self.assertIn("employee: unknown NIP 199901012020011999", doc["reason"])

    def test_retry_while_redis_is_down_then_accepted(self):
        """Redis stopped: the broker answers retry, the client sends the same ids again
        with backoff, and once Redis is back they are accepted and stored once."""
        for lang in ("c", "python"):
            with self.subTest(client=lang):
                self.stack.stop_redis()
                proc = subprocess.Popen(self.argv(lang, "4", "1"), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=self.stack.env)
                try:
                    time.sleep(1.5)   # a few retries (backoff 0.2, 0.4, 0.8 s)
                    self.assertIsNone(proc.poll(), "the client gave up while Redis was down")
                    self.stack.start_redis()
                    stdout, stderr = proc.communicate(timeout=CLIENT_TIMEOUT)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.communicate()
                self.assertEqual(proc.returncode, 0, stdout + stderr)
                self.assertIn("retry (storage unavailable", stderr)
                out = self.outcomes(stdout)
                self.assertEqual(sorted(s for s, _ in out.values()), ["accepted", "accepted"], stdout)
                self.wait_stored(list(out))


if __name__ == "__main__":
    unittest.main()
