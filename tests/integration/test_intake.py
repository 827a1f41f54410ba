"""
Intake end to end (SPEC 3, 7): events through the real broker, Redis, the ingest worker
and PostgreSQL, checked where a user would look: the acks a client gets and the rows in
event_log / rejected_events.
"""

import re
import signal
import sys
import time
import unittest

import harness
from harness import Stack, StackTestCase

sys.path.insert(0, harness.SCRIPTS_DIR)
import gen_traffic  # noqa: E402

SUMMARY_RE = re.compile(r"^sent=(\d+) accepted=(\d+) duplicate=(\d+) rejected=(\d+)$")
STORE_TIMEOUT = 120  # seconds for 10 000 events to reach PostgreSQL (ASan build, 2 cores)


def summary(completed):
    """The counts of `kinerja send`'s last stdout line."""
    lines = completed.stdout.strip().splitlines()
    if not lines:
        raise AssertionError("kinerja send printed nothing; stderr:\n%s" % completed.stderr[-3000:])
    m = SUMMARY_RE.match(lines[-1])
    if not m:
        raise AssertionError("unexpected last line %r; stderr:\n%s" % (lines[-1], completed.stderr[-3000:]))
    return dict(zip(("sent", "accepted", "duplicate", "rejected"), map(int, m.groups())))


def count_ids(stack, table, column, ids):
    return stack.sql_value("SELECT count(*) FROM %s WHERE %s = ANY(%%s::uuid[])" % (table, column), (list(ids),))


class IntakeTest(StackTestCase):
    """One stack for the class: Redis, PostgreSQL, broker, one ingest worker, and a
    10-unit organisation."""

    stack_options = {"shards": 4}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        cls.org = gen_traffic.build_org(units=10, per_unit=6, seed=7)
        stack.org_import(cls.org.to_csv())

    def send_file(self, name, text, *extra):
        path = self.stack.write_file(name, text)
        return self.stack.kinerja("send", path, *extra)

    def test_10000_events_of_all_types_are_stored_exactly_once(self):
        s = self.stack
        t = gen_traffic.make_events(self.org, count=10000, seed=101, mix=gen_traffic.ALL_TYPES_MIX)
        ids = [ev["id"] for ev in t.events]
        self.assertEqual(len(set(ids)), 10000)
        expected = {}
        for ev in t.events:
            expected[ev["type"]] = expected.get(ev["type"], 0) + 1
        self.assertEqual(set(expected), {"citizen_feedback", "evaluation", "work_result", "signoff", "appeal",
                                         "appeal_decision", "recalc"})

        r = self.send_file("ten-thousand.jsonl", t.jsonl())
        self.assertEqual(summary(r), {"sent": 10000, "accepted": 10000, "duplicate": 0, "rejected": 0},
                         r.stderr[-3000:])
        self.assertEqual(r.returncode, 0)

        # Every accepted event lands exactly once: in event_log, or (a workflow event the
        # organisation or the workflow refuses) in rejected_events with its reason.
        def landed():
            return (count_ids(s, "event_log", "id", ids) + count_ids(s, "rejected_events", "event_id", ids)) == 10000
        s.wait_for(landed, timeout=STORE_TIMEOUT, what="10 000 events in event_log + rejected_events")
        both = s.sql_value("SELECT count(*) FROM event_log l JOIN rejected_events r ON r.event_id = l.id "
                           "WHERE l.id = ANY(%s::uuid[])", (ids,))
        self.assertEqual(both, 0, "an event is both stored and rejected")

        # What the kiosks, surveys, 360 and SKP apps sent is all stored, as sent.
        per_type = dict(s.sql("SELECT type, count(*) FROM event_log WHERE id = ANY(%s::uuid[]) GROUP BY type",
                              (ids,)))
        for type_ in ("citizen_feedback", "evaluation", "work_result"):
            self.assertEqual(per_type.get(type_), expected[type_], type_)
        rating_sum = s.sql_value("SELECT sum((payload->>'rating')::int) FROM event_log WHERE id = ANY(%s::uuid[])",
                                 (ids,))
        self.assertEqual(rating_sum, sum(ev.get("rating", 0) for ev in t.events))
        skm_u5 = s.sql_value("SELECT sum((payload->'skm'->>'u5')::int) FROM event_log WHERE id = ANY(%s::uuid[])",
                             (ids,))
        self.assertEqual(skm_u5, sum(ev["skm"]["u5"] for ev in t.events if "skm" in ev))

        # The same file again: every event a duplicate, nothing new stored.
        before = s.sql_value("SELECT count(*) FROM event_log")
        r = self.send_file("ten-thousand.jsonl", t.jsonl())
        self.assertEqual(summary(r), {"sent": 10000, "accepted": 0, "duplicate": 10000, "rejected": 0})
        time.sleep(2)  # anything wrongly enqueued would be stored by now
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log"), before)
        self.assertEqual(count_ids(s, "event_log", "id", ids) + count_ids(s, "rejected_events", "event_id", ids),
                         10000)

    def test_duplicates_inside_one_batch(self):
        s = self.stack
        t = gen_traffic.make_events(self.org, count=3, seed=202)
        a, b, c = t.events
        batch = [a, dict(a), b, dict(a), c, dict(c)]
        acks = s.request(batch)
        self.assertEqual([ack["status"] for ack in acks],
                         ["accepted", "duplicate", "accepted", "duplicate", "accepted", "duplicate"])
        self.assertEqual([ack["id"] for ack in acks], [ev["id"] for ev in batch])
        ids = [a["id"], b["id"], c["id"]]
        s.wait_for(lambda: count_ids(s, "event_log", "id", ids) == 3, what="the three events stored")
        self.assertEqual(s.sql("SELECT id::text FROM event_log WHERE id = ANY(%s::uuid[]) ORDER BY id", (ids,)),
                         [(i,) for i in sorted(ids)])

        # The same event in two frames sent back to back: one accepted, one duplicate.
        d = gen_traffic.make_events(self.org, count=1, seed=203).events[0]
        self.assertEqual(s.request(d)["status"], "accepted")
        self.assertEqual(s.request(d)["status"], "duplicate")

    def test_invalid_events_are_rejected_naming_the_field(self):
        s = self.stack
        t = gen_traffic.make_events(self.org, count=0, invalid=24, seed=303)
        acks = s.request(t.events)
        self.assertEqual(len(acks), len(t.events))
        for ev, ack, (status, field) in zip(t.events, acks, t.expect):
            self.assertEqual(status, "rejected")
            self.assertEqual(ack["status"], "rejected", "event %r got %r" % (ev, ack))
            self.assertIn(field, ack.get("error") or "", "error should name %s: %r" % (field, ack))
            if field != "id":
                self.assertEqual(ack["id"], ev["id"])
        # The SPEC's own example.
        ev = gen_traffic.make_events(self.org, count=1, seed=304, mix={"skm": 1}).events[0]
        ev["skm"]["u3"] = 7
        ack = s.request(ev)
        self.assertEqual((ack["status"], ack["id"]), ("rejected", ev["id"]))
        self.assertIn("skm.u3", ack["error"])
        self.assertIn("7", ack["error"])
        # A frame that is not msgpack: one rejected ack with id nil; the broker lives on.
        ack = s.request(b"\xc1\x00garbage")
        self.assertEqual((ack["status"], ack["id"]), ("rejected", None))
        self.assertTrue(ack.get("error"))

        # Nothing of it reaches PostgreSQL.
        ids = [ev["id"] for ev in t.events if re.match(r"^[0-9a-f-]{36}$", str(ev.get("id")))] + [ev["id"]]
        time.sleep(1)
        self.assertEqual(count_ids(s, "event_log", "id", ids), 0)
        self.assertEqual(count_ids(s, "rejected_events", "event_id", ids), 0)

        # `kinerja send` reports them on stderr with the line and the field.
        r = self.send_file("invalid.jsonl", t.jsonl())
        self.assertEqual(summary(r), {"sent": 24, "accepted": 0, "duplicate": 0, "rejected": 24})
        self.assertIn("skm.u3", r.stderr)
        self.assertIn("behaviour.akuntabel", r.stderr)

    def test_unknown_employee_is_accepted_then_rejected_by_the_worker(self):
        s = self.stack
        t = gen_traffic.make_events(self.org, count=0, unknown=6, seed=404)
        acks = s.request(t.events)
        self.assertEqual([a["status"] for a in acks], ["accepted"] * 6, acks)
        ids = [ev["id"] for ev in t.events]
        s.wait_for(lambda: count_ids(s, "rejected_events", "event_id", ids) == 6, timeout=30,
                   what="six rows in rejected_events")
        for ev in t.events:
            employee, reason = s.sql("SELECT employee, reason FROM rejected_events WHERE event_id = %s",
                                     (ev["id"],))[0]
            self.assertEqual(employee, ev["employee"])
            self.assertIn("employee", reason)
            self.assertIn(ev["employee"], reason)
        self.assertEqual(count_ids(s, "event_log", "id", ids), 0)
        # Sent again: duplicates (the broker remembers the id), no second row anywhere.
        self.assertEqual([a["status"] for a in s.request(t.events)], ["duplicate"] * 6)
        time.sleep(1)
        self.assertEqual(count_ids(s, "rejected_events", "event_id", ids), 6)


class RedisOutageTest(unittest.TestCase):
    """Redis stopped: the broker answers `retry` and stores nothing; restarted: the same
    events are accepted (or duplicate, when an earlier try had reached Redis) and stored
    exactly once. A stack of its own, since it stops Redis."""

    def setUp(self):
        self.stack = Stack(shards=4)
        self.addCleanup(self._close)
        self.stack.start_all(workers=1)
        self.org = gen_traffic.build_org(units=3, per_unit=6, seed=9)
        self.stack.org_import(self.org.to_csv())

    def _close(self):
        failed = harness._test_failed(self)
        if failed:
            self.stack.dump_logs()
        self.stack.close(failed=failed)

    def test_retry_while_redis_is_down_then_stored_once(self):
        s = self.stack
        t = gen_traffic.make_events(self.org, count=20, seed=505)
        ids = [ev["id"] for ev in t.events]
        s.stop_redis(signal.SIGKILL)

        acks = s.request(t.events, timeout=30)
        self.assertEqual({a["status"] for a in acks}, {"retry"}, acks)
        self.assertTrue(all(a.get("error") for a in acks))
        self.assertEqual([a["id"] for a in acks], ids)

        s.start_redis()

        def resend():
            acks = s.request(t.events, timeout=30)
            statuses = {a["status"] for a in acks}
            return statuses <= {"accepted", "duplicate"} and acks

        acks = s.wait_for(resend, timeout=60, interval=1, what="the broker to accept after Redis came back")
        self.assertEqual([a["id"] for a in acks], ids)
        s.wait_for(lambda: count_ids(s, "event_log", "id", ids) == 20, timeout=60,
                   what="the 20 events stored after the outage")
        time.sleep(1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log WHERE id = ANY(%s::uuid[])", (ids,)), 20)
        self.assertEqual(s.request(t.events[0])["status"], "duplicate")

    def test_send_survives_a_redis_restart_in_flight(self):
        """`kinerja send` keeps resending `retry` acks: every event ends accepted or
        duplicate, and each is stored exactly once."""
        s = self.stack
        t = gen_traffic.make_events(self.org, count=3000, seed=606)
        ids = [ev["id"] for ev in t.events]
        path = s.write_file("outage.jsonl", t.jsonl())
        proc = s.kinerja_start("send", path, "--timeout", "120")
        time.sleep(0.3)
        s.stop_redis(signal.SIGTERM)
        time.sleep(2)
        s.start_redis()
        out, err = proc.communicate(timeout=150)
        r = type("R", (), {"stdout": out, "stderr": err})
        c = summary(r)
        self.assertEqual(proc.returncode, 0, err[-3000:])
        self.assertEqual(c["sent"], 3000)
        self.assertEqual(c["rejected"], 0)
        self.assertEqual(c["accepted"] + c["duplicate"], 3000, c)
        s.wait_for(lambda: count_ids(s, "event_log", "id", ids) == 3000, timeout=STORE_TIMEOUT,
                   what="all 3000 events stored after the Redis restart")
        self.assertEqual(count_ids(s, "rejected_events", "event_id", ids), 0)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log"), 3000)


if __name__ == "__main__":
    unittest.main()
