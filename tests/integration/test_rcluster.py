"""The Redis Cluster client (common/rcluster.c, issue 17) against a real cluster of
3 masters + 3 replicas (tests/integration/cluster.py; every node with a password, so
AUTH must reach each node the client connects to), driven through bench/cluster_bench:

  - 20 000 keys over 1024 slots written with the per-node pipe and read back, and
    found in the cluster by DBSIZE (each master) and by SCAN (this test's own client);
  - a slot left half moved: the keys already on the target are reached through ASK;
    the move finished: every key still reads back;
  - a slot moved between the SETs and the GETs of one run: its GETs meet MOVED with the
    old map; the client re-reads the map and every key reads back;
  - a standalone redis-server given as the cluster: refused, clearly; a cluster node
    that serves no slot: refused, and skipped for the next seed; a first seed that is
    down: the second is used; a wrong password: refused, never echoed;
  - pipelined XADDs over 16 stream shards: XLEN of each adds up to what was sent;
  - a master SIGKILLed during SET/GET rounds: the client waits out the failover, the
    commands that had no reply are retried, and every key written is readable at the
    end, on the promoted replica.

The tests run in order (the failover is last: it leaves the cluster with a master
fewer). redis-server and redis-cli must be installed: without them the tests fail.
"""
import json
import os
import subprocess
import time
import unittest

from cluster import Cluster
from harness import BIN_DIR, _test_failed, free_port

PASSWORD = "kinerja-cluster-pw"
CHECK_KEYS = 20000
TAGS = 1024             # bench/cluster_bench.c RCLUSTER_BENCH_TAGS: key i has the tag {i % 1024}
BENCH_TIMEOUT = 180.0
LOOP_SECONDS = 12
XADD_ENTRIES = 30000
KILL_AFTER = 3.0        # seconds into the loop
BENCH_ENV = dict(os.environ,
                 ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0",
                 UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def bench_path():
    path = os.path.join(BIN_DIR, "cluster_bench")
    if not os.path.exists(path):
        raise RuntimeError("%s not found (build first: make asan, or set KINERJA_BIN_DIR)" % path)
    return path


class ClusterClientTest(unittest.TestCase):
    cluster = None
    failed = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = Cluster(password=PASSWORD)

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.stop(failed=cls.failed)
        super().tearDownClass()

    def tearDown(self):
        if _test_failed(self):
            type(self).failed = True
            self.cluster.dump_logs()
        super().tearDown()

    # ---- helpers --------------------------------------------------------------------

    def argv(self, *args, url=None):
        return [bench_path(), "--url", url or self.cluster.seeds_url(), *[str(a) for a in args]]

    def bench(self, *args, url=None, expect_ok=True):
        r = subprocess.run(self.argv(*args, url=url), capture_output=True, text=True, timeout=BENCH_TIMEOUT,
                           env=BENCH_ENV)
        self.assertNotIn(PASSWORD, r.stdout + r.stderr)
        if expect_ok:
            self.assertEqual(r.returncode, 0, "cluster_bench %s failed:\n%s%s" % (args, r.stdout, r.stderr))
            return self.result(r.stdout, r.stderr)
        return r

    def result(self, stdout, stderr):
        lines = [l for l in stdout.splitlines() if l.startswith("{")]
        self.assertEqual(len(lines), 1, "one JSON line expected:\n%s%s" % (stdout, stderr))
        return json.loads(lines[0])

    def check_all_read(self, out):
        self.assertEqual(out["written"], CHECK_KEYS, out)
        self.assertEqual(out["read"], CHECK_KEYS, out)
        self.assertEqual(out["mismatched"], 0, out)
        self.assertEqual(out["failed"], 0, out)

    def tag_slot(self, tag):
        """The slot of the bench's keys with hash tag {tag}, and how many keys it holds."""
        slot = self.cluster.key_slot("{%d}" % tag)
        owner = self.cluster.owner_of(slot)
        return slot, owner, self.cluster.command(owner, "CLUSTER", "COUNTKEYSINSLOT", slot)

    def other_master(self, port):
        return next(m for m in self.cluster.masters() if m != port)

    # ---- tests ----------------------------------------------------------------------

    def test_1_check_every_key(self):
        out = self.bench("--check", CHECK_KEYS)
        self.check_all_read(out)
        self.assertEqual(out["redirects"], 0, out)  # the map read at connect was right
        # the keys are in the cluster, spread over every master
        self.assertEqual(out["keys_in_cluster"], CHECK_KEYS, out)  # DBSIZE through rcluster_each_master
        self.assertEqual(self.cluster.count_keys("kinerja:bench:check:*"), CHECK_KEYS)
        for m in self.cluster.masters():
            self.assertGreater(self.cluster.command(m, "DBSIZE"), CHECK_KEYS // 10, "master %d" % m)

    def test_2_half_moved_slot_answers_ask(self):
        self.bench("--check", CHECK_KEYS)  # the keys exist whatever ran before
        slot, source, before = self.tag_slot(0)
        self.assertGreaterEqual(before, CHECK_KEYS // TAGS)
        target = self.other_master(source)
        moved = self.cluster.migrate_slot(slot, target, keys=before // 2, finish=False)
        self.assertGreater(moved, 0)
        try:
            out = self.bench("--check", CHECK_KEYS)
            self.check_all_read(out)
            # the moved keys' SETs and GETs went to the target with ASKING
            self.assertGreaterEqual(out["ask"], 2 * moved, out)
            # ASK does not change the map
            self.assertEqual(out["moved"], 0, out)
        finally:
            self.cluster.finish_migration(slot)
        self.assertEqual(self.cluster.owner_of(slot), target)
        self.assertEqual(self.cluster.command(target, "CLUSTER", "COUNTKEYSINSLOT", slot), before)
        out = self.bench("--check", CHECK_KEYS)
        self.check_all_read(out)

    def test_3_slot_moved_under_a_stale_map_answers_moved(self):
        self.bench("--check", CHECK_KEYS)
        slot, source, keys = self.tag_slot(1)
        self.assertGreater(keys, 0)
        target = self.other_master(source)
        pause = os.path.join(self.cluster.tmp, "pause-%d" % time.monotonic_ns())
        proc = subprocess.Popen(self.argv("--check", CHECK_KEYS, "--pause-after-write", pause),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=BENCH_ENV)
        try:
            Cluster.wait_for(lambda: os.path.exists(pause) or proc.poll() is not None, BENCH_TIMEOUT,
                             "cluster_bench to finish its SETs")
            self.assertIsNone(proc.poll(), "cluster_bench ended before its GETs")
            # the bench's map still gives the slot to source
            self.assertEqual(self.cluster.migrate_slot(slot, target), keys)
            os.unlink(pause)
            stdout, stderr = proc.communicate(timeout=BENCH_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, stdout + stderr)
        out = self.result(stdout, stderr)
        self.check_all_read(out)
        self.assertGreaterEqual(out["moved"], 1, out)
        self.assertGreaterEqual(out["refreshes"], 1, out)
        self.assertNotIn(PASSWORD, stdout + stderr)

    def test_4a_standalone_server_is_refused(self):
        port = self.cluster.start_standalone()
        r = self.bench("--check", 10, url="redis://:%s@127.0.0.1:%d" % (PASSWORD, port), expect_ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("redis.cluster = true but 127.0.0.1:%d is not a cluster node" % port, r.stderr)
        self.assertEqual(self.cluster.command(port, "DBSIZE"), 0)  # nothing written there

    def test_4b_node_without_slots_is_refused(self):
        port = self.cluster.start_empty_node()
        r = self.bench("--check", 10, url="redis://:%s@127.0.0.1:%d" % (PASSWORD, port), expect_ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("127.0.0.1:%d: CLUSTER SLOTS covers 0 of 16384 slots" % port, r.stderr)
        # a seed list whose first seed has no map: the next seed's map is taken
        url = "redis://:%s@127.0.0.1:%d,127.0.0.1:%d" % (PASSWORD, port, self.cluster.masters()[0])
        self.check_all_read(self.bench("--check", CHECK_KEYS, url=url))

    def test_5_first_seed_down_second_used(self):
        down = free_port()
        url = "redis://:%s@127.0.0.1:%d,127.0.0.1:%d" % (PASSWORD, down, self.cluster.masters()[1])
        r = subprocess.run(self.argv("--check", CHECK_KEYS, url=url), capture_output=True, text=True,
                           timeout=BENCH_TIMEOUT, env=BENCH_ENV)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.check_all_read(self.result(r.stdout, r.stderr))

        # every seed down: refused, and the reason names each
        other = free_port()
        r = self.bench("--check", 10, url="redis://127.0.0.1:%d,127.0.0.1:%d" % (down, other), expect_ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("127.0.0.1:%d" % down, r.stderr)
        self.assertIn("127.0.0.1:%d" % other, r.stderr)

    def test_6_wrong_password_refused_never_echoed(self):
        url = "redis://:not-the-%s@127.0.0.1:%d" % ("password", self.cluster.masters()[0])
        r = self.bench("--check", 10, url=url, expect_ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AUTH", r.stderr)
        self.assertNotIn("not-the-password", r.stdout + r.stderr)

    def test_7_xadd_over_the_shards(self):
        out = self.bench("--xadd", XADD_ENTRIES, "--shards", 16)
        self.assertEqual(out["failed"], 0, out)
        # XLEN of every stream (one rcluster_command_argv each) adds up to what was sent
        self.assertEqual(out["in_streams"], XADD_ENTRIES, out)
        self.assertGreater(out["xadd_per_s"], 0, out)
        self.assertEqual(out["masters"], 3, out)
        # the bench deletes its streams afterwards
        self.assertEqual(self.cluster.count_keys("kinerja:bench:{*}"), 0)

    def test_9_failover_during_set_get_rounds(self):
        before = self.cluster.masters()
        proc = subprocess.Popen(self.argv("--loop", LOOP_SECONDS, "--batch", 50, "--retry-ms", 40000), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=BENCH_ENV)
        try:
            time.sleep(KILL_AFTER)
            self.assertIsNone(proc.poll(), "cluster_bench --loop ended early")
            killed = self.cluster.kill_master(0)
            after = self.cluster.wait_failover()
            stdout, stderr = proc.communicate(timeout=BENCH_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertNotIn(killed, after)
        self.assertEqual(len(after), len(before))
        self.assertEqual(proc.returncode, 0, stdout + stderr)
        out = self.result(stdout, stderr)
        self.assertGreater(out["keys"], 0, out)
        self.assertEqual(out["lost"], 0, out)
        self.assertEqual(out["unwritten"], 0, out)
        self.assertEqual(out["ok"] + out["recovered"], out["keys"], out)
        # the rounds in flight when the master died had no reply, and were retried
        self.assertGreater(out["recovered"], 0, out)
        self.assertGreaterEqual(out["lost_connections"], 1, out)
        self.assertGreater(out["refreshes"], 0, out)
        self.assertIn("connection to 127.0.0.1:%d lost" % killed, stderr)
        self.assertNotIn(PASSWORD, stdout + stderr)
        # every key the loop wrote is in the cluster after the failover (SCAN, not the bench)
        self.assertEqual(self.cluster.count_keys(out["prefix"] + "*"), out["keys"])


if __name__ == "__main__":
    unittest.main()
