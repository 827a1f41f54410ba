"""
/healthz follows the dependencies with no traffic at all (issue 16, SPEC 2): the broker
and every worker role ask Redis and PostgreSQL themselves every second
(common/healthprobe.c), so each turns 503 within 5 s of losing a dependency it uses and
200 within 5 s of its return, while nothing is sent. The body names the dependency.
Each role's own PostgreSQL session (common/pgsession) says the loss and the regain once
each, however many times it retried in between.
"""

import signal
import time
import unittest
import urllib.error
import urllib.request

from harness import StackTestCase, free_port

LIMIT_S = 5.0


def healthz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=3) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


class HealthzTest(StackTestCase):
    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        cls.ports = {}
        cls.procs = {}
        cls.ports["broker"] = free_port()
        stack.start_broker(env={"KINERJA_METRICS_LISTEN": "127.0.0.1:%d" % cls.ports["broker"],
                                "KINERJA_INTAKE_ENDPOINT": "tcp://127.0.0.1:%d" % free_port()})
        for role in ("ingest", "score", "notify", "schedule"):
            cls.ports[role] = free_port()
            cls.procs[role] = stack.start_worker(
                role, env={"KINERJA_METRICS_LISTEN": "127.0.0.1:%d" % cls.ports[role]})

    def wait_all(self, names, code, what):
        """Waits until every named daemon's /healthz answers code; returns the seconds it
        took for the last one and the bodies."""
        t0 = time.monotonic()
        bodies = {}
        pending = set(names)
        while pending and time.monotonic() - t0 < 30:
            for n in list(pending):
                c, body = healthz(self.ports[n])
                if c == code:
                    bodies[n] = body
                    pending.discard(n)
            time.sleep(0.1)
        took = time.monotonic() - t0
        self.assertFalse(pending, "%s: still not %d after %.1f s: %s" % (what, code, took, sorted(pending)))
        return took, bodies

    def test_1_redis_lost_and_back(self):
        users = ["broker", "ingest", "schedule"]
        self.wait_all(list(self.ports), 200, "at start")
        self.stack.stop_redis(sig=signal.SIGKILL)
        try:
            took, bodies = self.wait_all(users, 503, "redis down")
            print("\n    503 after losing Redis: %.2f s" % took)
            self.assertLess(took, LIMIT_S)
            for n in users:
                self.assertIn("redis", bodies[n].lower(), n)
            # the roles that do not use Redis stay healthy
            for n in ("score", "notify"):
                self.assertEqual(healthz(self.ports[n])[0], 200, n)
        finally:
            self.stack.start_redis()
        took, _ = self.wait_all(users, 200, "redis back")
        print("    200 after Redis returned: %.2f s" % took)
        self.assertLess(took, LIMIT_S)

    def test_2_postgres_lost_and_back(self):
        users = ["ingest", "score", "notify", "schedule"]
        self.wait_all(list(self.ports), 200, "at start")
        self.stack.stop_postgres(sig=signal.SIGINT)  # fast shutdown
        try:
            took, bodies = self.wait_all(users, 503, "postgres down")
            print("\n    503 after losing PostgreSQL: %.2f s" % took)
            self.assertLess(took, LIMIT_S)
            for n in users:
                self.assertIn("postgres", bodies[n].lower(), n)
            self.assertEqual(healthz(self.ports["broker"])[0], 200)  # the broker needs no PostgreSQL
        finally:
            self.stack.start_postgres()
        took, _ = self.wait_all(users, 200, "postgres back")
        print("    200 after PostgreSQL returned: %.2f s" % took)
        self.assertLess(took, LIMIT_S)
        # The roles that talk to PostgreSQL while idle (a NOTIFY wait, the scheduler's
        # tick) noticed, retried for seconds, and said each change once; the ingest
        # worker, blocked on Redis with nothing to store, may not have noticed at all.
        for role in ("score", "notify", "schedule"):
            self.stack.wait_for(lambda: "postgres regained" in self.stack.log_text(self.procs[role]),
                                timeout=15, what="%s: postgres regained" % role)
        for role in ("ingest", "score", "notify", "schedule"):
            log = self.stack.log_text(self.procs[role])
            lost = log.count("postgres lost")
            self.assertLessEqual(lost, 1, "%s said the loss %d times" % (role, lost))
            if role != "ingest":
                self.assertEqual(lost, 1, role)
            self.assertEqual(log.count("postgres regained"), lost, role)


if __name__ == "__main__":
    unittest.main()
