"""
`kinerja event ID [--json]` (common/views.c view_event, the document kinerja-web shows
too): where one event ended. Events go in through the real broker and ingest worker:

  - a work result of a known employee           -> stored (event_log)
  - a work result of an employee not in the org -> rejected (rejected_events, reason)
  - a stored event whose result the score worker set aside (a score_quarantine row,
    written here by SQL as the score worker would)  -> quarantined, with the error
  - a dead letter (dead_letters row by SQL, as the ingest worker writes it after its
    deliveries ran out)                          -> quarantined, with the error
  - an id never sent                             -> unknown, exit 1, with the note

Times are in time.zone (the default Asia/Jakarta, UTC+7). The other --json documents
moved to common/views.c are checked byte for byte by the CLI's own tests
(test_cli_score, test_workflow, test_workflow_v2, test_versions).
"""

import json
import re
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-04"
TS = 1775606400000  # 2026-04-08T00:00:00Z
ISO_JAKARTA_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
EVENT_KEYS = {"id", "state", "where", "type", "source", "employee", "period", "at", "reason", "client", "note"}


def nip(n):
    return "1990030320150310%02d" % n


HEAD, STAFF = nip(1), nip(2)
STRANGER = nip(99)  # a valid NIP not in the organisation


def work_result(employee, realization=10):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
            "employee": employee, "period": PERIOD, "indicator": "SKP-1", "target": 10,
            "realization": realization}


class EventViewTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.org_import("nip,name,unit,position,supervisor_nip,job_family\n"
                         "%s,Kepala,UNIT-V,kepala,,admin\n%s,Staf,UNIT-V,staf,%s,admin\n" % (HEAD, STAFF, HEAD))
        cls.stored = work_result(STAFF)
        cls.quarantined = work_result(STAFF, 9)
        cls.rejected = work_result(STRANGER)
        events = [cls.stored, cls.quarantined, cls.rejected]
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0 and "accepted=3" in r.stdout, r.stdout + r.stderr
        ids = [e["id"] for e in events]
        stack.wait_for(lambda: stack.sql_value("SELECT count(*) FROM event_log WHERE id = ANY(%s::uuid[])", (ids,))
                       + stack.sql_value("SELECT count(*) FROM rejected_events WHERE event_id = ANY(%s::uuid[])",
                                         (ids,)) == 3, timeout=60, what="the three events stored or rejected")
        stack.sql("INSERT INTO score_quarantine (employee, period, error, event_ids) VALUES (%s, %s, %s, %s::uuid[])",
                  (STAFF, PERIOD, "score: hasil_kerja: weight sum is 0", [cls.quarantined["id"]]))
        cls.dead_id = str(uuid.uuid4())
        stack.sql("INSERT INTO dead_letters (stream_key, stream_id, event_id, raw, deliveries, error)"
                  " VALUES ('kinerja:ev:{0}', '1-0', %s, NULL, 5, 'PostgreSQL: connection lost')", (cls.dead_id,))

    def event(self, event_id, *extra):
        return self.stack.kinerja("event", event_id, *extra)

    def event_json(self, event_id, want_rc=0):
        r = self.event(event_id, "--json")
        self.assertEqual(r.returncode, want_rc, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("\n"), 1, "one document, one line")
        doc = json.loads(r.stdout)
        self.assertEqual(set(doc), EVENT_KEYS)
        self.assertEqual(doc["id"], event_id)
        return doc

    def test_stored(self):
        doc = self.event_json(self.stored["id"])
        self.assertEqual((doc["state"], doc["where"]), ("stored", "event_log"))
        self.assertEqual((doc["type"], doc["source"], doc["employee"], doc["period"]),
                         ("work_result", "app:skp", STAFF, PERIOD))
        self.assertRegex(doc["at"], ISO_JAKARTA_RE)
        self.assertIsNone(doc["reason"])
        self.assertIsNone(doc["note"])
        r = self.event(self.stored["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("State      stored (in event_log)\n", r.stdout)
        self.assertIn("Employee   %s\n" % STAFF, r.stdout)
        self.assertRegex(r.stdout, r"At         \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00 \(Asia/Jakarta\)\n")
        self.assertNotIn("Reason", r.stdout)

    def test_rejected_unknown_employee(self):
        doc = self.event_json(self.rejected["id"])
        self.assertEqual((doc["state"], doc["where"]), ("rejected", "rejected_events"))
        self.assertEqual((doc["type"], doc["employee"], doc["period"]), ("work_result", STRANGER, PERIOD))
        want = self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (self.rejected["id"],))
        self.assertIn("employee", want)
        self.assertEqual(doc["reason"], want)
        self.assertRegex(doc["at"], ISO_JAKARTA_RE)
        r = self.event(self.rejected["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("State      rejected (in rejected_events)\n", r.stdout)
        self.assertIn("Reason     %s\n" % want, r.stdout)

    def test_quarantined_result(self):
        # stored in event_log, but the quarantine row names it: quarantine wins
        doc = self.event_json(self.quarantined["id"])
        self.assertEqual((doc["state"], doc["where"]), ("quarantined", "score_quarantine"))
        self.assertEqual(doc["reason"], "score: hasil_kerja: weight sum is 0")
        self.assertEqual(doc["employee"], STAFF)

    def test_dead_letter(self):
        doc = self.event_json(self.dead_id)
        self.assertEqual((doc["state"], doc["where"]), ("quarantined", "dead_letters"))
        self.assertEqual(doc["reason"], "dead letter after 5 deliveries: PostgreSQL: connection lost")
        self.assertIsNone(doc["type"])

    def test_unknown(self):
        never = str(uuid.uuid4())
        doc = self.event_json(never, want_rc=1)
        self.assertEqual(doc["state"], "unknown")
        self.assertIsNone(doc["where"])
        self.assertIn("Redis", doc["note"])
        r = self.event(never)
        self.assertEqual(r.returncode, 1)
        self.assertIn("State      unknown\n", r.stdout)
        self.assertIn("Note       not in PostgreSQL", r.stdout)

    def test_usage(self):
        for argv in ([], ["not-a-uuid"], [str(uuid.uuid4()), str(uuid.uuid4())], ["--nosuch"]):
            with self.subTest(argv=argv):
                r = self.stack.kinerja("event", *argv)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertTrue(r.stderr.startswith("kinerja event: "), r.stderr)
        a, b = self.stack.kinerja("help", "event"), self.stack.kinerja("event", "--help")
        self.assertEqual((a.returncode, b.returncode), (0, 0))
        self.assertEqual(a.stdout, b.stdout)
        self.assertIn("usage: kinerja event ID", a.stdout)
        self.assertIn("  event ID [--json]", self.stack.kinerja("help").stdout)


if __name__ == "__main__":
    unittest.main()
