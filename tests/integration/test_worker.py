"""
The ingest worker (kinerja-worker --role ingest) against real Redis, PostgreSQL and the
broker started by the harness. What a user relies on (SPEC 7): every accepted event
reaches PostgreSQL exactly once or lands in rejected_events with its reason; a stream
entry is acked only after the transaction that stored it committed; a dead worker's
pending entries are reclaimed; an entry that cannot be stored ends in dead_letters
after worker.max_deliveries without blocking the others.

Each test runs its own stack: they kill workers and stop PostgreSQL.
"""

import json
import os
import re
import signal
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid

import msgpack
import psycopg2

from harness import SCRIPTS_DIR, Stack, _test_failed, free_port

sys.path.insert(0, SCRIPTS_DIR)
import gen_traffic  # noqa: E402

GROUP = "kinerja-ingest"
SHARDS = 4


def stream_key(shard):
    return "kinerja:ev:{%d}" % shard


def parse_id(entry_id):
    ms, _, seq = (entry_id.decode() if isinstance(entry_id, bytes) else entry_id).partition("-")
    return int(ms), int(seq)


def pending_total(s):
    """Entries delivered to the ingest group and not acked, over every shard."""
    total = 0
    for shard in range(s.shards):
        summary = s.redis_cmd("XPENDING", stream_key(shard), GROUP)
        total += summary[0]
    return total


def pending_by_consumer(s):
    out = {}
    for shard in range(s.shards):
        summary = s.redis_cmd("XPENDING", stream_key(shard), GROUP)
        for consumer, count in summary[3] or []:
            out[consumer.decode()] = out.get(consumer.decode(), 0) + int(count)
    return out


def acked_entries(s):
    """(key, id) of every stream entry the ingest group has acknowledged: delivered
    (id <= the group's last-delivered-id) and no longer pending."""
    acked = set()
    for shard in range(s.shards):
        key = stream_key(shard)
        last = None
        for group in s.redis_cmd("XINFO", "GROUPS", key):
            info = dict(zip(group[0::2], group[1::2]))
            if info[b"name"] == GROUP.encode():
                last = parse_id(info[b"last-delivered-id"])
        pending = {parse_id(p[0]) for p in s.redis_cmd("XPENDING", key, GROUP, "-", "+", 1000000)}
        for entry_id, _fields in s.redis_cmd("XRANGE", key, "-", "+") or []:
            i = parse_id(entry_id)
            if last is not None and i <= last and i not in pending:
                acked.add((key, entry_id.decode()))
    return acked


def stored_count(s):
    return s.sql_value("SELECT (SELECT count(*) FROM event_log) + (SELECT count(*) FROM rejected_events)")


def make_traffic(count, seed=1, unknown=0, units=6):
    org = gen_traffic.make_org(units=units, seed=seed)
    return org, gen_traffic.make_events(org, count=count, unknown=unknown, seed=seed)


class WorkerTestCase(unittest.TestCase):
    """A fresh stack per test (Redis, PostgreSQL, migrations, broker, an organisation);
    workers are started by each test."""

    stack_env = {}

    def setUp(self):
        self.s = Stack(shards=SHARDS, env=self.stack_env)
        try:
            self.s.start_redis()
            self.s.start_postgres()
            self.s.migrate()
            self.s.start_broker()
        except BaseException:
            self.s.dump_logs()
            self.s.close(failed=True)
            raise

    def tearDown(self):
        failed = _test_failed(self)
        if failed:
            self.s.dump_logs()
        self.s.close(failed=failed)

    def send_all(self, traffic):
        """Sends through the broker; returns the accepted count (asserted as expected)."""
        r = self.s.kinerja("send", "-", input=traffic.jsonl())
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        want = traffic.counts()
        self.assertIn("accepted=%d" % want["accepted"], r.stdout)
        return want["accepted"]

    def assert_exactly_once(self, traffic):
        """event_log holds exactly the accepted valid events, rejected_events exactly
        the unknown-employee ones, each once; nothing is left pending."""
        want_log = {ev["id"] for ev in traffic.of_status("accepted")}
        want_rej = {ev["id"] for ev in traffic.of_status("unknown")}
        log_ids = [str(r[0]) for r in self.s.sql("SELECT id FROM event_log")]
        rej_ids = [str(r[0]) for r in self.s.sql("SELECT event_id FROM rejected_events")]
        self.assertEqual(len(log_ids), len(set(log_ids)))
        self.assertEqual(set(log_ids), want_log)
        self.assertEqual(set(rej_ids), want_rej)
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM dead_letters"), 0)
        self.s.wait_for(lambda: pending_total(self.s) == 0, timeout=20, what="no pending entries")

    def wait_stored(self, n, timeout=120):
        self.s.wait_for(lambda: stored_count(self.s) >= n, timeout=timeout,
                        what="%d events in event_log + rejected_events" % n, interval=0.25)


class TestIngest(WorkerTestCase):
    # every column of the derived tables, in key order (a rebuild must reproduce them)
    DERIVED = {
        "ratings": "SELECT period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id"
                   " FROM ratings ORDER BY 1, 2, 3, 4",
        "work_results": "SELECT period, employee, indicator, target, realization, direction, weight, evidence,"
                        " unit, ts, event_id FROM work_results ORDER BY 1, 2, 3",
        "feedback": "SELECT event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment"
                    " FROM feedback ORDER BY 1",
    }

    def assert_derived_is_the_rebuild(self, names):
        """The named derived tables (each non-empty) are row for row what kinerja_rebuild
        makes of the event log (run in a transaction that is rolled back)."""
        conn = psycopg2.connect(self.s.pg_dsn)
        try:
            cur = conn.cursor()
            before = {}
            for name in names:
                cur.execute(self.DERIVED[name])
                before[name] = cur.fetchall()
                self.assertGreater(len(before[name]), 0, name)
            cur.execute("SELECT count(*) FROM kinerja_rebuild(NULL, NULL, NULL)")
            for name in names:
                cur.execute(self.DERIVED[name])
                self.assertEqual(cur.fetchall(), before[name], name)
            conn.rollback()
        finally:
            conn.close()

    def test_events_reach_event_log_exactly(self):
        """(1) Events through broker -> Redis -> worker: exactly those rows, with the
        payload as sent and the stream entry they came from."""
        org, traffic = make_traffic(1500, unknown=7)
        self.s.org_import(org)
        worker = self.s.start_worker("ingest")
        accepted = self.send_all(traffic)
        self.wait_stored(accepted)
        self.assert_exactly_once(traffic)

        ev = traffic.of_status("accepted")[0]
        payload, key, entry = self.s.sql("SELECT payload, stream_key, stream_id FROM event_log WHERE id = %s",
                                         (ev["id"],))[0]
        self.assertEqual(payload, ev)
        fields = self.s.redis_cmd("XRANGE", key, entry, entry)[0][1]
        self.assertEqual(dict(zip(fields[0::2], fields[1::2]))[b"id"], ev["id"].encode())
        reason = self.s.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s",
                                  (traffic.of_status("unknown")[0]["id"],))
        self.assertRegex(reason, r"unknown NIP")
        self.s.stop(worker)
        log = self.s.log_text("worker-ingest")
        self.assertIn("role ingest", log)
        self.assertNotIn(self.s.pg_dsn, log)

    def test_roles_of_later_milestones_and_usage(self):
        bin_path = os.path.join(self.s.bin_dir, "kinerja-worker")
        import subprocess
        # every role is available now (notify: test_notify.py, schedule: test_schedule.py)
        r = subprocess.run([bin_path, "--role", "nosuch"], capture_output=True, text=True, env=self.s.env,
                           timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("unknown role 'nosuch'", r.stderr)
        r = subprocess.run([bin_path], capture_output=True, text=True, env=self.s.env, timeout=30)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([bin_path, "--help"], capture_output=True, text=True, env=self.s.env, timeout=30)
        self.assertEqual(r.returncode, 0)
        for word in ("ingest", "schedule", "worker.max_deliveries", "worker.claim_idle_ms", "redis.url"):
            self.assertIn(word, r.stdout)

    def test_unknown_time_zone_refused_at_start(self):
        """An unknown time.zone would make every batch fail and every event a dead letter:
        the ingest worker refuses to start instead, naming the setting."""
        import subprocess
        bin_path = os.path.join(self.s.bin_dir, "kinerja-worker")
        env = dict(self.s.env, KINERJA_TIME_ZONE="Mars/Olympus_Mons")
        r = subprocess.run([bin_path, "--role", "ingest"], capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("time.zone 'Mars/Olympus_Mons' is refused by PostgreSQL", r.stderr)

    def test_sigkill_mid_batch_then_restart_stores_each_once(self):
        """(2) SIGKILL while the stream is being consumed; after a restart under the same
        consumer name every accepted event is stored exactly once."""
        org, traffic = make_traffic(20000, seed=2, unknown=20)
        self.s.org_import(org)
        env = {"KINERJA_WORKER_CONSUMER": "ingest-a", "KINERJA_WORKER_BATCH": "200"}
        path = self.s.write_file("events.jsonl", traffic.jsonl())
        worker = self.s.start_worker("ingest", env=env)
        sender = self.s.kinerja_start("send", path)
        self.s.wait_for(lambda: stored_count(self.s) >= 2000, timeout=120, what="consumption under way",
                        interval=0.05)
        self.s.kill(worker, signal.SIGKILL)
        killed_at = stored_count(self.s)
        pending_at_kill = pending_by_consumer(self.s).get("ingest-a", 0)
        out, err = sender.communicate(timeout=300)
        self.assertEqual(sender.returncode, 0, err[-2000:])
        accepted = traffic.counts()["accepted"]
        self.assertIn("accepted=%d" % accepted, out)
        self.assertLess(killed_at, accepted, "the worker was not killed mid-stream")

        self.s.start_worker("ingest", env=env)
        self.wait_stored(accepted, timeout=300)
        time.sleep(1.0)  # anything stored twice would show up now
        self.assert_exactly_once(traffic)
        if pending_at_kill:
            self.assertIn("had left pending", self.s.log_text("worker-ingest-2"))

    def test_second_worker_reclaims_dead_workers_entries(self):
        """(3) Worker A holds pending entries (its INSERT waits on a lock) and is killed;
        worker B, another consumer, reclaims and stores them."""
        org, traffic = make_traffic(300, seed=3)
        self.s.org_import(org)
        env = {"KINERJA_WORKER_CLAIM_IDLE_MS": "1000"}
        accepted = self.send_all(traffic)  # all in Redis first: A takes them in one read
        blocker = psycopg2.connect(self.s.pg_dsn)
        try:
            cur = blocker.cursor()
            cur.execute("LOCK TABLE event_log IN SHARE MODE")  # holds every INSERT back
            a = self.s.start_worker("ingest", env=dict(env, KINERJA_WORKER_CONSUMER="worker-a"))
            self.s.wait_for(lambda: pending_by_consumer(self.s).get("worker-a", 0) == accepted, timeout=30,
                            what="worker A holding every entry pending")
            self.s.kill(a, signal.SIGKILL)
        finally:
            blocker.rollback()
            blocker.close()
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM event_log"), 0)

        self.s.start_worker("ingest", env=dict(env, KINERJA_WORKER_CONSUMER="worker-b"))
        self.wait_stored(accepted, timeout=60)
        self.assert_exactly_once(traffic)
        self.assertNotIn("worker-a", pending_by_consumer(self.s))
        self.assertRegex(self.s.log_text("worker-ingest-2"), r"reclaimed \d+ entries of kinerja:ev:\{\d\} from consumer worker-a")

    def test_several_workers_one_killed_store_each_once(self):
        """Three ingest workers share the group (issue 15); one is killed while the
        stream is consumed: the others reclaim its entries and every accepted event is
        stored exactly once, its derived rows too."""
        org, traffic = make_traffic(12000, seed=9, unknown=15)
        self.s.org_import(org)
        env = {"KINERJA_WORKER_CLAIM_IDLE_MS": "1000", "KINERJA_WORKER_BATCH": "100"}
        path = self.s.write_file("events.jsonl", traffic.jsonl())
        workers = [self.s.start_worker("ingest", env=dict(env, KINERJA_WORKER_CONSUMER="w%d" % i))
                   for i in range(3)]
        sender = self.s.kinerja_start("send", path)
        self.s.wait_for(lambda: stored_count(self.s) >= 1500, timeout=120, what="consumption under way",
                        interval=0.05)
        self.s.kill(workers[0], signal.SIGKILL)
        killed_at = stored_count(self.s)
        out, err = sender.communicate(timeout=300)
        self.assertEqual(sender.returncode, 0, err[-2000:])
        accepted = traffic.counts()["accepted"]
        self.assertIn("accepted=%d" % accepted, out)
        self.assertLess(killed_at, accepted, "the worker was not killed mid-stream")
        self.wait_stored(accepted, timeout=300)
        time.sleep(1.0)  # anything stored twice would show up now
        self.assert_exactly_once(traffic)
        self.assertNotIn("w0", pending_by_consumer(self.s))
        # every stored event was stored by one of the workers, none twice
        kiosk = sum(1 for ev in traffic.of_status("accepted") if ev["type"] == "citizen_feedback")
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM feedback"), kiosk)
        for w in workers[1:]:
            self.s.stop(w)

    def test_incremental_derivation_is_the_rebuild(self):
        """The ingest trigger derives each batch from its own new rows (0016) through the
        views' text: what it derived, over batches of two workers in any order, is what a
        rebuild from the whole log derives (kinerja_rebuild changes nothing)."""
        org, traffic = make_traffic(6000, seed=10)
        self.s.org_import(org)
        env = {"KINERJA_WORKER_BATCH": "50"}
        workers = [self.s.start_worker("ingest", env=env) for _ in range(2)]
        accepted = self.send_all(traffic)
        self.wait_stored(accepted)
        # batches of a busy stream left their work results and feedback in derive_queue
        # (0019): the workers derive it once their reads come back empty
        self.s.wait_for(lambda: self.s.sql_value("SELECT count(*) FROM derive_queue") == 0, timeout=60,
                        what="derive_queue derived by the idle workers", interval=0.25)
        for view in ("event_ratings", "event_work_results", "event_feedback"):
            self.assertIsNotNone(self.s.sql_value("SELECT kinerja_view_over_new(%s)", (view,)),
                                 "%s is no longer read over new_events: derivation fell back to lookups" % view)
        self.assert_derived_is_the_rebuild(["ratings", "work_results", "feedback"])
        for w in workers:
            self.s.stop(w)

    def test_derivation_falls_back_to_lookups_for_another_view_text(self):
        """A derivation view whose text does not read `event_log e` once (here the same
        view with another alias) is not rewritten: each new event is looked up in the
        view by id, and the derived rows are still the view's."""
        org, traffic = make_traffic(800, seed=11)
        self.s.org_import(org)
        view = self.s.sql_value("SELECT pg_get_viewdef('event_feedback'::regclass)")
        other = re.sub(r"\be\.", "ev.", view).replace("event_log e\n", "event_log ev\n").replace(
            "event_log e ", "event_log ev ")
        self.assertNotEqual(other, view)
        self.s.sql("CREATE OR REPLACE VIEW event_feedback AS " + other)
        self.assertIsNone(self.s.sql_value("SELECT kinerja_view_over_new('event_feedback')"))
        worker = self.s.start_worker("ingest")
        accepted = self.send_all(traffic)
        self.wait_stored(accepted)
        self.assert_exactly_once(traffic)
        cols = "event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment"
        got = self.s.sql("SELECT %s FROM feedback ORDER BY event_id" % cols)
        want = self.s.sql("SELECT %s FROM event_feedback ORDER BY event_id" % cols)
        self.assertGreater(len(got), 0)
        self.assertEqual(got, want)
        self.s.stop(worker)

    def test_deferred_derivation_is_done_before_a_score(self):
        """Batches stored with their derivation deferred (0019; here every batch, by
        kinerja.derive_defer_min = 1) leave feedback and work_results empty and those
        events in derive_queue (evaluations are derived at once: the next batch's relation
        check reads ratings); the score worker derives them all before it computes, so
        the scores it writes count every stored event, and what it derived is what a
        rebuild from the log derives."""
        org, traffic = make_traffic(3000, seed=12)
        self.s.org_import(org)
        self.s.sql("ALTER DATABASE kinerja SET kinerja.derive_defer_min = 1")
        ingest = self.s.start_worker("ingest")
        accepted = self.send_all(traffic)
        self.wait_stored(accepted)
        derivable = self.s.sql_value(
            "SELECT count(*) FROM event_log"
            " WHERE type IN ('work_result', 'citizen_feedback')")
        self.assertGreater(derivable, 500)
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM derive_queue"), derivable)
        for table in ("work_results", "feedback"):
            self.assertEqual(self.s.sql_value("SELECT count(*) FROM " + table), 0, table)
        self.assertGreater(self.s.sql_value("SELECT count(*) FROM ratings"), 0)

        score = self.s.start_worker("score", env={"KINERJA_SCORE_SETTLE_MS": "100"})
        self.s.wait_for(lambda: self.s.sql_value(
            "SELECT count(*) FILTER (WHERE generation > computed_generation) = 0 AND count(*) > 0"
            " FROM score_periods"), timeout=120, what="every period scored", interval=0.25)
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM derive_queue"), 0)
        # every citizen_feedback event the view derives is in feedback, and the unit
        # scores count every press of it
        cols = "event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment"
        want = self.s.sql("SELECT %s FROM event_feedback WHERE period IS NOT NULL AND unit IS NOT NULL"
                          " ORDER BY event_id" % cols)
        self.assertGreater(len(want), 100)
        self.assertEqual(self.s.sql("SELECT %s FROM feedback ORDER BY event_id" % cols), want)
        presses = self.s.sql("SELECT period, unit, count(*)::int FROM feedback WHERE rating IS NOT NULL"
                             " GROUP BY 1, 2 ORDER BY 1, 2")
        self.assertGreater(len(presses), 0)
        self.assertEqual(self.s.sql("SELECT period, unit, presses FROM unit_scores WHERE presses > 0"
                                    " AND period IN (SELECT period FROM feedback) ORDER BY 1, 2"), presses)
        # ratings and work results: the incremental (deferred) path is the rebuild
        self.assert_derived_is_the_rebuild(["ratings", "work_results"])
        self.s.stop(score)
        self.s.stop(ingest)

    def test_postgres_stopped_while_events_flow(self):
        """(4) PostgreSQL dies while events flow: nothing is acked in Redis that was not
        committed before it died, /healthz says why, and after its restart every event is
        stored once."""
        org, traffic = make_traffic(6000, seed=4)
        self.s.org_import(org)
        port = free_port()
        worker = self.s.start_worker("ingest", env={"KINERJA_METRICS_LISTEN": "127.0.0.1:%d" % port,
                                                    "KINERJA_WORKER_BATCH": "100"})
        path = self.s.write_file("events.jsonl", traffic.jsonl())
        sender = self.s.kinerja_start("send", path)
        self.s.wait_for(lambda: stored_count(self.s) >= 500, timeout=120, what="events flowing", interval=0.05)
        self.s.stop_postgres(signal.SIGQUIT)  # immediate: like a crash
        down_since = time.time()

        def health():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        status, body = self.s.wait_for(lambda: (lambda h: h if h[0] == 503 else None)(health()), timeout=30,
                                       what="/healthz 503 while PostgreSQL is down")
        self.assertTrue(body.startswith("postgres:"), body)
        out, err = sender.communicate(timeout=300)  # the broker keeps accepting into Redis
        self.assertEqual(sender.returncode, 0, err[-2000:])
        time.sleep(1.5)
        acked_while_down = acked_entries(self.s)
        self.assertIsNone(worker.poll(), "the worker exited while PostgreSQL was down")

        restarted = time.time()
        self.s.start_postgres()
        self.wait_stored(traffic.counts()["accepted"], timeout=180)
        self.assert_exactly_once(traffic)
        # Every entry acked while PostgreSQL was down had been committed before that.
        rows = self.s.sql("SELECT stream_key, stream_id, extract(epoch FROM stored_at) FROM event_log")
        stored_at = {(k, i): t for k, i, t in rows}
        late = [e for e in acked_while_down if e not in stored_at or float(stored_at[e]) >= restarted]
        self.assertEqual(late, [], "acked in Redis but not committed before PostgreSQL died")
        self.assertGreater(len(acked_while_down), 0)
        self.assertLess(down_since, restarted)
        self.s.wait_for(lambda: health()[0] == 200, timeout=30, what="/healthz 200 again")
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            metrics = r.read().decode()
        # A batch whose COMMIT reached PostgreSQL just before it died, but whose answer did
        # not, is redelivered and counted `already` (it is in event_log once, as
        # assert_exactly_once showed): stored + already covers every event, and what the
        # worker counts stored never exceeds them.
        counted = {k: int(v) for k, v in re.findall(r'kinerja_ingest_events_total\{result="(\w+)"\} (\d+)', metrics)}
        total = traffic.counts()["stored"]
        self.assertEqual(counted.get("stored", 0) + counted.get("already", 0), total, metrics)
        self.assertGreater(counted.get("stored", 0), total // 2, metrics)
        # every committed batch is in the commit-time histogram
        commits = int(re.search(r"^kinerja_ingest_batch_commit_seconds_count (\d+)$", metrics, re.M).group(1))
        batches = int(re.search(r"^kinerja_ingest_batches_total (\d+)$", metrics, re.M).group(1))
        self.assertGreaterEqual(commits, 1)
        self.assertLessEqual(commits, batches)
        log = self.s.log_text("worker-ingest")
        self.assertIn("postgres lost", log)
        self.assertIn("postgres regained", log)
        self.s.stop(worker)

    def test_sigterm_while_postgres_down_exits_without_acking(self):
        """SIGTERM while the batch in hand cannot be committed: exit 0 promptly, the
        entries stay pending, and a later worker stores them."""
        org, traffic = make_traffic(400, seed=7)
        self.s.org_import(org)
        accepted = self.send_all(traffic)
        blocker = psycopg2.connect(self.s.pg_dsn)
        try:
            blocker.cursor().execute("LOCK TABLE event_log IN SHARE MODE")  # the batch cannot commit
            worker = self.s.start_worker("ingest")
            self.s.wait_for(lambda: pending_total(self.s) > 0, timeout=30, what="a batch in hand")
            self.s.stop_postgres(signal.SIGQUIT)
        finally:
            blocker.close()
        held = pending_total(self.s)
        started = time.monotonic()
        self.s.stop(worker, timeout=10)  # asserts exit 0
        self.assertLess(time.monotonic() - started, 8)
        self.assertEqual(pending_total(self.s), held, "entries were acked without a commit")

        self.s.start_postgres()
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM event_log"), 0)
        self.s.start_worker("ingest", env={"KINERJA_WORKER_CLAIM_IDLE_MS": "500"})
        self.wait_stored(accepted)
        self.assert_exactly_once(traffic)

    def test_redis_restarted_while_events_flow(self):
        """Redis goes away and comes back (same data, AOF) while events flow: the worker
        reconnects, and every accepted event is stored exactly once."""
        org, traffic = make_traffic(6000, seed=8)
        self.s.org_import(org)
        worker = self.s.start_worker("ingest", env={"KINERJA_WORKER_BATCH": "100"})
        path = self.s.write_file("events.jsonl", traffic.jsonl())
        sender = self.s.kinerja_start("send", path)
        self.s.wait_for(lambda: stored_count(self.s) >= 500, timeout=120, what="events flowing", interval=0.05)
        self.s.stop_redis(signal.SIGTERM)
        self.s.wait_for(lambda: "redis lost" in self.s.log_text("worker-ingest"), timeout=30,
                        what="the worker noticing")
        time.sleep(1.0)
        self.s.start_redis()
        out, err = sender.communicate(timeout=300)
        self.assertEqual(sender.returncode, 0, err[-2000:])
        # an event whose ack was lost with the connection is sent again: "duplicate"
        got = dict(kv.split("=") for kv in out.split())
        self.assertEqual(int(got["accepted"]) + int(got["duplicate"]), traffic.counts()["accepted"], out)
        self.wait_stored(traffic.counts()["accepted"], timeout=180)
        self.assert_exactly_once(traffic)
        self.assertIn("redis regained", self.s.log_text("worker-ingest"))
        self.s.stop(worker)


class TestPoison(WorkerTestCase):
    stack_env = {"KINERJA_WORKER_MAX_DELIVERIES": "3", "KINERJA_WORKER_CLAIM_IDLE_MS": "500"}

    def test_unreadable_entry_goes_to_dead_letters(self):
        """(5a) A stream entry written by hand with garbage in ev and a valid-looking id:
        dead_letters with its raw bytes; the events around it are stored."""
        org, traffic = make_traffic(200, seed=5)
        self.s.org_import(org)
        worker = self.s.start_worker("ingest")
        bad_id = str(uuid.uuid4())
        garbage = b"\xc1\xff not msgpack"
        entry = self.s.redis_cmd("XADD", stream_key(1), "*", "id", bad_id, "ev", garbage,
                                 "rt", str(int(time.time() * 1000))).decode()
        accepted = self.send_all(traffic)
        self.wait_stored(accepted)
        row = self.s.wait_for(lambda: self.s.sql("SELECT event_id, raw, deliveries, error FROM dead_letters"
                                                 " WHERE stream_key = %s AND stream_id = %s",
                                                 (stream_key(1), entry)), timeout=30, what="the dead letter")[0]
        self.assertEqual(str(row[0]), bad_id)
        self.assertEqual(bytes(row[1]), garbage)
        self.assertRegex(row[3], r"^ev: ")
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM event_log WHERE id = %s", (bad_id,)), 0)
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM rejected_events WHERE event_id = %s", (bad_id,)), 0)
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM event_log"), traffic.counts()["stored"])
        self.s.wait_for(lambda: pending_total(self.s) == 0, timeout=20, what="nothing pending")
        self.assertRegex(self.s.log_text("worker-ingest"), r"warn .*dead letter: stream entry kinerja:ev:\{1\}")
        self.s.stop(worker)

    def test_entry_postgres_refuses_is_dead_after_max_deliveries(self):
        """(5b) An event PostgreSQL refuses every time (a trigger raises for it) does not
        block the batch it came in; after worker.max_deliveries it is a dead letter with
        the refusal as its error."""
        org, traffic = make_traffic(400, seed=6)
        self.s.org_import(org)
        self.s.sql("CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$"
                   " BEGIN IF NEW.source = 'kiosk:poison' THEN RAISE EXCEPTION 'poison row refused'; END IF;"
                   " RETURN NEW; END $$")
        self.s.sql("CREATE TRIGGER refuse_poison BEFORE INSERT ON event_log FOR EACH ROW"
                   " EXECUTE FUNCTION refuse_poison()")
        events = traffic.of_status("accepted")
        poison = dict(events[len(events) // 2])
        poison["id"] = str(uuid.uuid4())
        poison["source"] = "kiosk:poison"
        # One request: the poison travels in the same read as its neighbours.
        reply = self.s.request(events[:50] + [poison] + events[50:100])
        self.assertTrue(all(a["status"] == "accepted" for a in reply), reply)
        worker = self.s.start_worker("ingest")
        self.wait_stored(100, timeout=60)
        rest = gen_traffic.Traffic(events[100:], [("accepted", None)] * len(events[100:]))
        self.send_all(rest)
        row = self.s.wait_for(lambda: self.s.sql("SELECT event_id, deliveries, error, raw FROM dead_letters"),
                              timeout=60, what="the poison event in dead_letters")[0]
        self.assertEqual(str(row[0]), poison["id"])
        self.assertGreaterEqual(row[1], 3)
        self.assertIn("poison row refused", row[2])
        self.assertEqual(msgpack.unpackb(bytes(row[3]), raw=False), poison)
        self.assertEqual({str(r[0]) for r in self.s.sql("SELECT id FROM event_log")}, {e["id"] for e in events})
        self.s.wait_for(lambda: pending_total(self.s) == 0, timeout=20, what="nothing pending")
        log = self.s.log_text("worker-ingest")
        self.assertIn("stays pending (delivery 1 of 3)", log)
        self.s.stop(worker)


if __name__ == "__main__":
    unittest.main()
