"""
The supervisor's feedback note (umpan balik, issue 14; PermenPANRB 6/2022): a `feedback`
event (employee, period, supervisor, text, optional value) from the pejabat penilai to the
employee, sent through the real broker and ingest worker.

- `kinerja feedback` by the supervisor is stored; the result's history (`kinerja score
  --json` and the table) carries it as {"what": "feedback", "actor", "note", "value",
  "period", "event_id", "at"}; it makes no version and changes no score.
- A quarter's history carries the notes of its months (kinerja_period_parts).
- The employee gets a `feedback_note` notification (`kinerja inbox`).
- A note from anyone but the supervisor is refused by the worker with its reason; a
  bad `value` and a missing `text` are refused by the broker naming the field.
"""

import json
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-04"
QUARTER = "2026-Q2"
TS = 1775606400000  # 2026-04-08T00:00:00Z
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 90


def nip(n):
    return "1992050520170510%02d" % n


SUP, E1, PEER = nip(1), nip(11), nip(12)
NOTE = "Laporan <b>tepat waktu</b>; dokumentasi perlu lebih rinci"


def org_csv():
    return ("nip,name,unit,position,supervisor_nip,job_family\n"
            "%s,Kepala Seksi,UNIT-N,kasi,,admin\n"
            "%s,Staf Satu,UNIT-N,staf,%s,admin\n"
            "%s,Staf Dua,UNIT-N,staf,%s,admin\n" % (SUP, E1, SUP, PEER, SUP))


def inputs():
    return [
        {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
         "employee": E1, "period": PERIOD, "rater": SUP, "relation": "supervisor",
         "behaviour": {k: 4 for k in KEYS}, "hasil_kerja": "meets"},
        {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
         "employee": E1, "period": PERIOD, "indicator": "SKP-1", "target": 10, "realization": 10},
    ]


class FeedbackNoteTest(StackTestCase):
    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        stack.start_worker(role="ingest")
        stack.start_worker(role="score")
        stack.org_import(org_csv())
        events = inputs()
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, r.stdout + r.stderr
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE employee = %s AND period = %s AND version >= 1",
            (E1, PERIOD)) == 1, timeout=SETTLE_TIMEOUT, what="E1's result scored")

    def score_doc(self, period):
        r = self.stack.kinerja("score", E1, "--period", period, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def notes(self, doc):
        return [h for h in doc["history"] if h["what"] == "feedback"]

    def test_1_supervisor_note_in_history_no_version(self):
        before = self.score_doc(PERIOD)
        r = self.stack.kinerja("feedback", E1, "--period", PERIOD, "--supervisor", SUP, "--text", NOTE,
                               "--value", "kolaboratif")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("accepted", r.stdout)
        self.assertIn("stored", r.stdout)
        after = self.score_doc(PERIOD)
        notes = self.notes(after)
        self.assertEqual(len(notes), 1, after["history"])
        n = notes[0]
        self.assertEqual(n["actor"], SUP)
        self.assertEqual(n["note"], NOTE)
        self.assertEqual(n["value"], "kolaboratif")
        self.assertEqual(n["period"], PERIOD)
        self.assertTrue(n["at"].endswith("+07:00"), n)
        stored = self.stack.sql_value("SELECT id::text FROM event_log WHERE type = 'feedback' AND employee = %s",
                                      (E1,))
        self.assertEqual(n["event_id"], stored)
        # a note is not an input: same version, same score, no new version row
        self.assertEqual(after["version"], before["version"])
        self.assertEqual(after["score"], before["score"])
        self.assertEqual(self.stack.sql_value(
            "SELECT count(*) FROM score_versions WHERE employee = %s AND period = %s", (E1, PERIOD)),
            before["version"])
        # the table shows it too
        t = self.stack.kinerja("score", E1, "--period", PERIOD)
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn("feedback note (umpan balik) on kolaboratif by %s" % SUP, t.stdout)
        self.assertIn(NOTE, t.stdout)

    def test_2_employee_told(self):
        self.stack.kinerja("feedback", E1, "--period", PERIOD, "--supervisor", SUP, "--text", "Catatan kedua")
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT count(*) FROM notifications WHERE kind = 'feedback_note' AND recipient = %s"
            " AND payload ->> 'text' = 'Catatan kedua'", (E1,)) == 1, what="feedback_note notification")
        r = self.stack.kinerja("inbox", E1, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("feedback_note", r.stdout)
        self.assertIn("Catatan kedua", r.stdout)

    def test_3_quarter_carries_month_notes(self):
        self.stack.kinerja("feedback", E1, "--period", PERIOD, "--supervisor", SUP, "--text", "Catatan April")
        self.stack.kinerja("feedback", E1, "--period", "2026-07", "--supervisor", SUP, "--text", "Catatan Juli")
        # under monthly cadence a quarter is computed once an input names it
        q = {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
             "employee": E1, "period": QUARTER, "indicator": "SKP-Q", "target": 10, "realization": 9}
        r = self.stack.kinerja("send", "-", input=json.dumps(q) + "\n")
        self.assertIn("accepted=1", r.stdout, r.stdout + r.stderr)
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT count(*) FROM results WHERE employee = %s AND period = %s", (E1, QUARTER)) == 1,
            timeout=SETTLE_TIMEOUT, what="E1's quarter result")
        notes = self.notes(self.score_doc(QUARTER))
        texts = [n["note"] for n in notes]
        self.assertIn("Catatan April", texts)
        self.assertNotIn("Catatan Juli", texts)  # another quarter's month
        self.assertTrue(all(n["period"] == PERIOD for n in notes), notes)

    def test_4_not_the_supervisor_refused(self):
        r = self.stack.kinerja("feedback", E1, "--period", PERIOD, "--supervisor", PEER, "--text", "Dari rekan")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("supervisor: %s is not the supervisor of %s" % (PEER, E1), r.stdout + r.stderr)
        self.assertEqual(self.stack.sql_value(
            "SELECT count(*) FROM rejected_events WHERE type = 'feedback' AND reason LIKE %s",
            ("supervisor: %s is not the supervisor%%" % PEER,)), 1)

    def test_5_broker_checks_fields(self):
        base = {"v": 1, "type": "feedback", "source": "app:skp", "ts": TS, "employee": E1,
                "period": PERIOD, "supervisor": SUP, "text": "x"}
        bad_value = dict(base, id=str(uuid.uuid4()), value="jujur")
        no_text = dict(base, id=str(uuid.uuid4()))
        del no_text["text"]
        r = self.stack.kinerja("send", "-", input=json.dumps(bad_value) + "\n" + json.dumps(no_text) + "\n")
        out = r.stdout + r.stderr
        self.assertIn("value: must be one of", out)
        self.assertIn("text: required for feedback", out)
        self.assertIn("rejected=2", out)
        # the CLI refuses them before sending
        r = self.stack.kinerja("feedback", E1, "--period", PERIOD, "--supervisor", SUP, "--text", "x",
                               "--value", "jujur")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--value must be one of", r.stderr)


if __name__ == "__main__":
    unittest.main()
