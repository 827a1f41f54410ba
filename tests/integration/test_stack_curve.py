"""
`make up` (scripts/stack.sh up) with security.curve = true (issue 12, item 3): on first
start it makes the broker's key pair, the CLI's key pair and a clients file admitting the
CLI's key, its readiness probe talks CURVE (a plain probe gets no answer from a CURVE
broker, so before this `up` could not start one), the CLI sends with its key, a plain
client gets nothing, a second `up` keeps the keys, and `make demo` gives the figures it
gives without CURVE. A temporary var directory and free ports, as in test_stack.
"""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import unittest

import msgpack
import psycopg2
import zmq

import harness
from harness import free_port

sys.path.insert(0, harness.SCRIPTS_DIR)
import gen_traffic  # noqa: E402

STACK_SH = os.path.join(harness.SOURCE_DIR, "scripts", "stack.sh")
PIDFILES = ["redis", "postgres", "kinerja-broker", "kinerja-worker-ingest", "kinerja-web"]


class StackCurveTest(unittest.TestCase):

    def setUp(self):
        self.var = tempfile.mkdtemp(prefix="kinerja-stack-curve-")
        os.chmod(self.var, 0o755)  # PostgreSQL runs as user postgres inside it
        ports = set()
        while len(ports) < 3:
            ports.add(free_port())
        redis_port, self.pg_port, intake_port = sorted(ports)
        self.endpoint = "tcp://127.0.0.1:%d" % intake_port
        self.keys = os.path.join(self.var, "curve")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KINERJA_")}
        self.env.update({
            "KINERJA_VAR_DIR": self.var,
            "KINERJA_BIN_DIR": harness.BIN_DIR,
            "KINERJA_CONFIG": os.path.join(harness.SOURCE_DIR, "config", "kinerja.conf"),
            "KINERJA_REDIS_URL": "redis://127.0.0.1:%d/0" % redis_port,
            "KINERJA_POSTGRES_DSN": "host=127.0.0.1 port=%d dbname=kinerja user=kinerja" % self.pg_port,
            "KINERJA_INTAKE_ENDPOINT": self.endpoint,
            "KINERJA_NOTIFY_ENDPOINT": "tcp://127.0.0.1:%d" % free_port(),
            "KINERJA_METRICS_LISTEN": "off",
            "KINERJA_REDIS_SHARDS": "2",
            "KINERJA_STACK_ROLES": "ingest",
            "KINERJA_SECURITY_CURVE": "true",
            "KINERJA_SECURITY_SERVER_SECRET_FILE": os.path.join(self.keys, "server.key_secret"),
            "KINERJA_SECURITY_SERVER_PUBLIC_FILE": os.path.join(self.keys, "server.key"),
            "KINERJA_SECURITY_CLIENT_KEY_FILE": os.path.join(self.keys, "cli"),
            "KINERJA_SECURITY_CLIENTS_FILE": os.path.join(self.keys, "clients"),
            "KINERJA_WEB_CLIENT_KEY_FILE": os.path.join(self.keys, "web"),
            "KINERJA_WEB_SESSION_KEY_FILE": os.path.join(self.var, "web", "session.key"),
        })
        self.web_port = free_port()
        self.env["KINERJA_WEB_LISTEN"] = "127.0.0.1:%d" % self.web_port
        self.env["KINERJA_WEB_PUBLIC_URL"] = "http://127.0.0.1:%d" % self.web_port
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        if harness._test_failed(self):
            logs = os.path.join(self.var, "log")
            for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
                sys.stderr.write("\n----- %s -----\n%s\n" % (name, harness._tail(os.path.join(logs, name))))
        try:
            self.stack("down", check=False)
        except Exception:  # noqa: BLE001 - the kill below is the fallback
            pass
        for pid in self.pids().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.var, ignore_errors=True)

    def stack(self, command, check=True, timeout=240):
        r = subprocess.run(["bash", STACK_SH, command], capture_output=True, text=True, env=self.env,
                           timeout=timeout, cwd=harness.SOURCE_DIR)
        if check and r.returncode != 0:
            raise AssertionError("stack.sh %s failed (%d):\n%s\n%s" % (command, r.returncode, r.stdout, r.stderr))
        return r

    def kinerja(self, *args, input=None):
        return subprocess.run([os.path.join(harness.BIN_DIR, "kinerja")] + list(args), capture_output=True,
                              text=True, env=self.env, input=input, timeout=120, cwd=harness.SOURCE_DIR)

    def pids(self):
        out = {}
        for name in PIDFILES:
            try:
                with open(os.path.join(self.var, "run", name + ".pid")) as f:
                    out[name] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return out

    def read(self, name):
        with open(os.path.join(self.keys, name)) as f:
            return f.read()

    def test_up_makes_the_keys_runs_curve_and_the_cli_uses_its_key(self):
        r = self.stack("up")
        self.assertEqual(sorted(self.pids()), sorted(PIDFILES), r.stdout)
        self.assertIn("made the broker's CURVE key pair", r.stdout)
        self.assertIn("made the CLI's CURVE key pair", r.stdout)
        self.assertIn("CURVE: clients in %s" % os.path.join(self.keys, "clients"), r.stdout)
        self.assertNotIn("warning: security.curve = false", r.stdout)
        for secret in ("server.key_secret", "cli.key_secret"):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.keys, secret)).st_mode), 0o600, secret)
        cli_public = self.read("cli.key").strip()
        server_public = self.read("server.key").strip()
        # the pairs are real: each public key derives from its secret
        self.assertEqual(zmq.curve_public(self.read("cli.key_secret").strip().encode()).decode(), cli_public)
        self.assertEqual(zmq.curve_public(self.read("server.key_secret").strip().encode()).decode(), server_public)
        self.assertIn("\n%s cli *\n" % cli_public, self.read("clients"))
        # kinerja-web has its own key, admitted for its own events and sources only
        self.assertIn("made kinerja-web's CURVE key pair", r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.keys, "web.key_secret")).st_mode), 0o600)
        web_public = self.read("web.key").strip()
        self.assertIn("\n%s web signoff,appeal,appeal_decision,citizen_feedback,feedback source=web:\n" % web_public,
                      self.read("clients"))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.var, "web", "session.key")).st_mode), 0o600)

        # a plain client gets nothing from it
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(self.endpoint)
            sock.send(msgpack.packb({"v": 1}))
            self.assertFalse(sock.poll(3000, zmq.POLLIN), "a plain client got a reply from the CURVE broker")
        finally:
            sock.close(linger=0)

        # the CLI, with the same settings, sends with its key; the log names the client
        org = gen_traffic.build_org(units=1, per_unit=4, seed=5)
        org_path = os.path.join(self.var, "org.csv")
        with open(org_path, "w") as f:
            f.write(org.to_csv())
        self.assertEqual(self.kinerja("org", "import", org_path).returncode, 0)
        t = gen_traffic.make_events(org, count=5, seed=5)
        r = self.kinerja("send", "-", input=t.jsonl())
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5 accepted=5 duplicate=0 rejected=0", r.stderr)

        def stored():
            s = self.kinerja("status", "--json")
            return json.loads(s.stdout)["stored"] if s.returncode == 0 else None
        harness.Stack.wait_for(lambda: stored() == 5, timeout=30, what="5 events stored")
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, dbname="kinerja", user="kinerja")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT DISTINCT client FROM event_log")
                self.assertEqual(cur.fetchall(), [("cli",)])
        finally:
            conn.close()

        # again: nothing restarted, nothing remade
        keys_before = {n: self.read(n) for n in ("server.key", "server.key_secret", "cli.key", "clients",
                                                 "web.key", "web.key_secret")}
        pids = self.pids()
        r = self.stack("up")
        self.assertEqual(self.pids(), pids)
        self.assertNotIn("made the", r.stdout)
        self.stack("down")
        r = self.stack("up")  # a restart with the keys it made
        self.assertNotIn("made the", r.stdout)
        self.assertEqual({n: self.read(n) for n in keys_before}, keys_before)
        r = self.kinerja("send", "-", input=t.jsonl())
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5 accepted=0 duplicate=5 rejected=0", r.stderr)

    def test_demo_runs_against_a_curve_stack_as_before(self):
        """`make demo` after a CURVE `make up`: the same figures as without CURVE
        (test_stack), every event sent with the CLI's key."""
        self.env["KINERJA_STACK_ROLES"] = "ingest score notify schedule"
        self.stack("up")
        r = subprocess.run(["bash", os.path.join(harness.SOURCE_DIR, "scripts", "demo.sh")], capture_output=True,
                           text=True, env=self.env, timeout=300, cwd=harness.SOURCE_DIR)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("sent=3020 accepted=3004 duplicate=10 rejected=6", r.stdout)
        self.assertIn("done: 3000 new events stored, 4 new refused by the worker", r.stdout)
        self.assertIn("(53 rows)", r.stdout)
        # section 6: the feedback note, and last year's twelve months ending in the annual proposal
        self.assertIn("the note is in the result's history", r.stdout)
        self.assertIn("sent=24 accepted=24 duplicate=0 rejected=0", r.stdout)
        self.assertIn("Periodic results of the year", r.stdout)
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, dbname="kinerja", user="kinerja")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT client, count(*) FROM event_log GROUP BY 1")
                self.assertEqual(cur.fetchall(), [("cli", 3000 + 24 + 1)])  # the day, last year, the note
        finally:
            conn.close()
        # the demo's supervisor login works, and a sign-off through the web goes to the
        # broker over CURVE with the web's key
        m = re.search(r"Supervisor login: +(\S+)/login +NIP (\d+) +password (\S+)", r.stdout)
        self.assertIsNotNone(m, r.stdout[-1500:])
        self.assertEqual(m.group(1), "http://127.0.0.1:%d" % self.web_port)
        web = harness.WebClient(m.group(1))
        self.assertEqual(web.login(m.group(2), m.group(3)).status, 200)
        queue = web.get("/api/v1/queue").json()
        self.assertTrue(queue, "the demo supervisor's queue is empty")
        item = queue[0]
        a = web.post_json("/api/v1/signoff", {"employee": item["employee"], "period": item["period"],
                                               "decision": "approve", "version": item["version"]})
        self.assertEqual(a.status, 202, a.text)
        self.assertEqual(a.json()["outcome"], "stored")
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, dbname="kinerja", user="kinerja")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT client, source FROM event_log WHERE id = %s", (a.json()["id"],))
                self.assertEqual(cur.fetchall(), [("web", "web:kinerja")])
        finally:
            conn.close()

    def test_half_a_key_pair_stops_up_with_the_reason(self):
        os.makedirs(self.keys)
        with open(os.path.join(self.keys, "server.key"), "w") as f:
            f.write("x\n")
        r = self.stack("up", check=False)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("only one of the pair exists", r.stderr)
        self.assertNotIn("kinerja-broker", self.pids())


if __name__ == "__main__":
    unittest.main()
