"""
The local stack of SPEC 10 (`make up` / `make down` = scripts/stack.sh up|down): run with
a temporary var directory (KINERJA_VAR_DIR) and free ports (the KINERJA_* settings
overrides), it must start every process with its pidfile, serve events end to end, be
idempotent (a second `up` starts only what is not running), stop everything on `down`,
and keep the data across down/up.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import msgpack
import zmq

import harness
from harness import free_port

sys.path.insert(0, harness.SCRIPTS_DIR)
import gen_traffic  # noqa: E402

STACK_SH = os.path.join(harness.SOURCE_DIR, "scripts", "stack.sh")
PIDFILES = ["redis", "postgres", "kinerja-broker", "kinerja-worker-ingest", "kinerja-web"]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class StackScriptTest(unittest.TestCase):

    def setUp(self):
        self.var = tempfile.mkdtemp(prefix="kinerja-stack-test-")
        os.chmod(self.var, 0o755)  # PostgreSQL runs as user postgres inside it
        ports = set()
        while len(ports) < 3:
            ports.add(free_port())
        redis_port, pg_port, intake_port = sorted(ports)
        self.endpoint = "tcp://127.0.0.1:%d" % intake_port
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KINERJA_")}
        self.env.update({
            "KINERJA_VAR_DIR": self.var,
            "KINERJA_BIN_DIR": harness.BIN_DIR,
            "KINERJA_CONFIG": os.path.join(harness.SOURCE_DIR, "config", "kinerja.conf"),
            "KINERJA_REDIS_URL": "redis://127.0.0.1:%d/0" % redis_port,
            "KINERJA_POSTGRES_DSN": "host=127.0.0.1 port=%d dbname=kinerja user=kinerja" % pg_port,
            "KINERJA_INTAKE_ENDPOINT": self.endpoint,
            "KINERJA_NOTIFY_ENDPOINT": "tcp://127.0.0.1:%d" % free_port(),
            "KINERJA_METRICS_LISTEN": "off",
            "KINERJA_REDIS_SHARDS": "4",
            # a plain stack (test_stack_curve runs the CURVE one, with keys in its own directory)
            "KINERJA_SECURITY_CURVE": "false",
            "KINERJA_WEB_LISTEN": "127.0.0.1:%d" % free_port(),
            "KINERJA_WEB_SESSION_KEY_FILE": os.path.join(self.var, "web", "session.key"),
        })
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        if harness._test_failed(self):
            for name in sorted(os.listdir(os.path.join(self.var, "log"))) if os.path.isdir(
                    os.path.join(self.var, "log")) else []:
                sys.stderr.write("\n----- %s -----\n%s\n" % (name, harness._tail(os.path.join(self.var, "log", name))))
        try:
            self.stack("down", check=False)
        except Exception:  # noqa: BLE001 - the kill below is the fallback
            pass
        for pid in self.pids().values():  # whatever `down` left behind
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
        run = os.path.join(self.var, "run")
        for name in PIDFILES:
            try:
                with open(os.path.join(run, name + ".pid")) as f:
                    out[name] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return out

    def broker_ack(self):
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(self.endpoint)
            sock.send(b"\xc1")
            self.assertTrue(sock.poll(10000, zmq.POLLIN), "the broker did not answer")
            return msgpack.unpackb(sock.recv(), raw=False)
        finally:
            sock.close(linger=0)

    def stored(self):
        r = self.kinerja("status", "--json")
        import json
        return json.loads(r.stdout)["stored"] if r.returncode == 0 else None

    def test_up_is_idempotent_and_down_stops_everything(self):
        t0 = time.monotonic()
        r = self.stack("up")
        pids = self.pids()
        self.assertEqual(sorted(pids), sorted(PIDFILES), r.stdout)
        for name, pid in pids.items():
            self.assertTrue(alive(pid), "%s (pid %d) is not running" % (name, pid))
        self.assertTrue(os.path.isdir(os.path.join(self.var, "redis")))
        self.assertTrue(os.path.exists(os.path.join(self.var, "pg", "PG_VERSION")))
        self.assertEqual(self.broker_ack()["status"], "rejected")
        sys.stderr.write("\nstack.sh up (first start, initdb included): %.1fs\n" % (time.monotonic() - t0))

        # Events through the stack it started.
        org = gen_traffic.build_org(units=1, per_unit=4, seed=5)
        org_path = os.path.join(self.var, "org.csv")
        with open(org_path, "w") as f:
            f.write(org.to_csv())
        self.assertEqual(self.kinerja("org", "import", org_path).returncode, 0)
        t = gen_traffic.make_events(org, count=5, seed=5)
        r = self.kinerja("send", "-", input=t.jsonl())
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5 accepted=5 duplicate=0 rejected=0", r.stderr)
        harness.Stack.wait_for(lambda: self.stored() == 5, timeout=30, what="5 events stored")

        # Again: nothing restarted.
        r = self.stack("up")
        self.assertEqual(self.pids(), pids)
        self.assertIn("already running", r.stdout)

        # One process gone: `up` starts that one only.
        os.kill(pids["kinerja-worker-ingest"], signal.SIGKILL)
        harness.Stack.wait_for(lambda: not alive(pids["kinerja-worker-ingest"]), timeout=10, what="worker gone")
        self.stack("up")
        after = self.pids()
        self.assertNotEqual(after["kinerja-worker-ingest"], pids["kinerja-worker-ingest"])
        self.assertTrue(alive(after["kinerja-worker-ingest"]))
        for name in ("redis", "postgres", "kinerja-broker"):
            self.assertEqual(after[name], pids[name], name)

        r = self.stack("status")
        for name in PIDFILES:
            self.assertRegex(r.stdout, r"(?m)^%s\s+%d\s+running" % (name, after[name]))

        # Down: everything stops, pidfiles go.
        self.stack("down")
        for name, pid in after.items():
            self.assertFalse(alive(pid), "%s (pid %d) still runs after down" % (name, pid))
        self.assertEqual(self.pids(), {})
        self.assertEqual(self.stack("down").returncode, 0)  # idempotent too
        self.assertNotRegex(self.stack("status").stdout, r"running")

        # Up again: the data is still there (PostgreSQL and the broker's dedupe keys).
        self.stack("up")
        self.assertEqual(self.stored(), 5)
        r = self.kinerja("send", "-", input=t.jsonl())
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5 accepted=0 duplicate=5 rejected=0", r.stderr)
        self.stack("down")
        self.assertEqual(self.pids(), {})

    def test_demo_runs_against_the_stack(self):
        """What `make demo` runs after `make up`: a simulated day sent and shown."""
        self.stack("up")
        r = subprocess.run(["bash", os.path.join(harness.SOURCE_DIR, "scripts", "demo.sh")], capture_output=True,
                           text=True, env=self.env, timeout=300, cwd=harness.SOURCE_DIR)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("sent=3020 accepted=3004 duplicate=10 rejected=6", r.stdout)
        self.assertIn("done: 3000 new events stored, 4 new refused by the worker", r.stdout)
        for heading in ("Events by type", "evaluations", "Unit report", "Results (predikat", "One result in full",
                        "Awards", "Sign-off queue", "kinerja status"):
            self.assertIn(heading, r.stdout)
        # the SKM report of the unit with the most survey responses, in the regulation's layout
        self.assertIn("Laporan Survei Kepuasan Masyarakat (PermenPANRB 14/2017)", r.stdout)
        self.assertRegex(r.stdout, r"\n\S+ +ikm +ikm +IKM unit pelayanan \(jumlah NRR tertimbang x 25\) +\d+ .* "
                                   r"\d+\.\d\d  [ABCD] ")
        # the score worker that `make up` starts scored every employee with data
        self.assertIn("(53 rows)", r.stdout)
        self.assertRegex(r.stdout, r"Predikat +(Sangat Baik|Baik|Butuh Perbaikan|Kurang|Sangat Kurang)")
        # the workflow: results with the supervisor's evaluation and a work result wait for
        # sign-off, and the busiest supervisor's inbox holds the requests
        self.assertRegex(r.stdout, r"waiting_for_signoff \| supervisors *\n-+\+-+\n +[1-9]\d* \|")
        self.assertIn("signoff_requested", r.stdout.split("The inbox of supervisor", 1)[1])
        self.assertEqual(self.stored(), 3000 + 24 + 1)  # the day, last year's months, the feedback note
        # Again: the same day, every event already there.
        r = subprocess.run(["bash", os.path.join(harness.SOURCE_DIR, "scripts", "demo.sh")], capture_output=True,
                           text=True, env=self.env, timeout=300, cwd=harness.SOURCE_DIR)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn("sent=3020 accepted=0 duplicate=3014 rejected=6", r.stdout)
        self.assertIn("sent=24 accepted=0 duplicate=24 rejected=0", r.stdout)
        self.assertIn("is already in the result's history", r.stdout)
        self.assertEqual(self.stored(), 3000 + 24 + 1)

    def test_up_refuses_a_port_taken_by_a_stranger(self):
        import socket
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            port = free_port()
            s.bind(("127.0.0.1", port))
            s.listen()
            self.env["KINERJA_REDIS_URL"] = "redis://127.0.0.1:%d/0" % port
            r = self.stack("up", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("in use", r.stderr)
        self.assertEqual(self.pids(), {})

    def test_two_brokers_two_ingest_workers_and_the_bench_across_them(self):
        """KINERJA_STACK_BROKERS / KINERJA_STACK_INGEST (issue 15's scaling figures): the
        second broker on the next port, a second ingest worker in the group, `kinerja
        bench --endpoint A,B` through both until PostgreSQL holds every event, and `down`
        stopping all of them."""
        import json
        import socket
        # an intake port whose successor is free too
        while True:
            port = free_port()
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            break
        first, second = "tcp://127.0.0.1:%d" % port, "tcp://127.0.0.1:%d" % (port + 1)
        self.endpoint = first
        self.env.update({"KINERJA_INTAKE_ENDPOINT": first, "KINERJA_STACK_BROKERS": "2",
                         "KINERJA_STACK_INGEST": "2", "KINERJA_STACK_ROLES": "ingest", "KINERJA_STACK_WEB": "0"})
        r = self.stack("up")
        self.assertIn("kinerja-broker-2 started", r.stdout)
        self.assertIn(second, r.stdout)
        run = os.path.join(self.var, "run")
        names = ["kinerja-broker", "kinerja-broker-2", "kinerja-worker-ingest", "kinerja-worker-ingest-2"]
        pids = {}
        for name in names:
            with open(os.path.join(run, name + ".pid")) as f:
                pids[name] = int(f.read().split()[0])
            self.assertTrue(alive(pids[name]), name)
        org = os.path.join(self.var, "org.csv")
        with open(org, "w") as f:
            f.write(gen_traffic.make_org(units=2, per_unit=4, seed=3))
        r = self.kinerja("org", "import", org)
        self.assertEqual(r.returncode, 0, r.stderr)

        r = self.kinerja("bench", "--events", "3000", "--clients", "4", "--endpoint", first + "," + second,
                         "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        b = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual((b["endpoints"], b["accepted"], b["unacked"]), (2, 3000, 0), b)
        self.assertGreater(b["e2e_per_s"], 0, b)  # measured only once PostgreSQL held all of them
        self.assertEqual(self.stored(), 3000)
        # the second broker on its own (repeated --endpoint is the same as a list)
        r = self.kinerja("bench", "--events", "200", "--clients", "2", "--endpoint", second, "--no-e2e", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        b = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual((b["endpoints"], b["accepted"], b["unacked"]), (1, 200, 0), b)
        # an empty list is an error, not a silent fall back to intake.endpoint
        r = self.kinerja("bench", "--events", "10", "--endpoint", ",")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--endpoint: no endpoint", r.stderr)

        self.stack("down")
        for name, pid in pids.items():
            self.assertFalse(alive(pid), "%s (pid %d) still runs after down" % (name, pid))
            self.assertFalse(os.path.exists(os.path.join(run, name + ".pid")), name)


if __name__ == "__main__":
    unittest.main()
