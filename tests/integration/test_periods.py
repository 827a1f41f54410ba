"""
Periods (SPEC 3, 5.9): YYYY-Qn beside YYYY-MM and YYYY, workflow.cadence, and the annual
result built from the year's inputs with its periodic results beside it.

One organisation under workflow.cadence = quarterly (published by the real schedule
role). Employee E (UNIT-A) is rated by the supervisor S and three peers; 2025's inputs:
  Q1 as three months of inputs (2025-01..03), Q2..Q4 as quarter inputs (2025-Qn).
The quarter and the year are computed by the real score worker; the period close of the
real scheduler closes quarters and the year, not months. Expected values by hand below.
"""

import calendar
import json
import time
import unittest
import uuid

from harness import StackTestCase

KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
TZ = "Asia/Jakarta"
SCORE_TIMEOUT = 90
NOW_MS = int(time.time() * 1000)


def nip(n):
    return "1980010120050110%02d" % n


E, S, PEERS = nip(10), nip(1), [nip(20), nip(21), nip(22)]


def ev(kind, **fields):
    e = {"v": 1, "id": str(uuid.uuid4()), "type": kind, "source": "app:periods", "ts": NOW_MS}
    e.update(fields)
    return e


def ratings(period, value, hasil=None):
    """The supervisor and the three peers each give `value` to every BerAKHLAK key."""
    out = []
    for rater, rel in [(S, "supervisor")] + [(p, "peer") for p in PEERS]:
        e = ev("evaluation", employee=E, period=period, rater=rater, relation=rel,
               behaviour={k: value for k in KEYS})
        if hasil and rel == "supervisor":
            e["hasil_kerja"] = hasil
        out.append(e)
    return out


def work(period, target, realization):
    return ev("work_result", employee=E, period=period, indicator="IKU-1", target=target,
              realization=realization)


def jakarta_ms(year, month, day):
    # midnight UTC is 07:00 in Asia/Jakarta: the same day there
    return calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)) * 1000


class PeriodsTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.start_worker(role="score")
        rows = ["nip,name,unit,position,supervisor_nip,job_family",
                "%s,Kepala A,UNIT-A,kepala,,admin" % S,
                "%s,Staf E,UNIT-A,staf,%s,admin" % (E, S)]
        for p in PEERS:
            rows.append("%s,Rekan,UNIT-A,staf,%s,admin" % (p, S))
        rows.append("%s,Petugas C,UNIT-C,staf,%s,admin" % (nip(40), S))
        r = stack.org_import("\n".join(rows) + "\n")
        assert r.returncode == 0, r.stderr
        # The cadence reaches the SQL side through the schedule role; a long grace keeps
        # the year (and Q4) away from period close until test_4 restarts it with grace 0.
        cls.sched = cls.start_schedule(stack, grace=365)
        stack.wait_for(lambda: stack.sql_value("SELECT kinerja_setting('workflow.cadence', 'x')") == "quarterly",
                       what="workflow.cadence published")

        events = []
        # Q1 from three months. Perilaku: each rater 4, 4, 5 -> one rating per rater whose
        # value is the mean rounded half up: (4 + 4 + 5) / 3 = 4.33 -> 4.
        # Hasil: IKU-1 each month one item: 12/10 = 1.2, 9/10 = 0.9, 10/10 = 1.0;
        # achievement (1.2 + 0.9 + 1.0) / 3 = 1.0333.
        for month, v, real in (("2025-01", 4, 12), ("2025-02", 4, 9), ("2025-03", 5, 10)):
            events += ratings(month, v)
            events.append(work(month, 10, real))
        # Q2: 5 with the supervisor's judgement above, 12/10 -> 1.2
        events += ratings("2025-Q2", 5, hasil="above")
        events.append(work("2025-Q2", 10, 12))
        # Q3: 3, 10/10 -> 1.0;  Q4: 2, 5/10 -> 0.5
        events += ratings("2025-Q3", 3)
        events.append(work("2025-Q3", 10, 10))
        events += ratings("2025-Q4", 2)
        events.append(work("2025-Q4", 10, 5))
        # Citizen SKM at a counter of UNIT-C, one response a month of Q1: all nine elements
        # 4 in January, 3 in February, 2 in March.
        for month, a in ((1, 4), (2, 3), (3, 2)):
            events.append(ev("citizen_feedback", ts=jakarta_ms(2025, month, 5), unit="UNIT-C",
                             skm={"u%d" % k: a for k in range(1, 10)}))
        cls.n_events = len(events)
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, (r.stdout, r.stderr)

    @classmethod
    def start_schedule(cls, stack, grace):
        return stack.start_worker(role="schedule", env={
            "KINERJA_WORKFLOW_CADENCE": "quarterly", "KINERJA_SCHEDULE_PERIOD_CLOSE_GRACE_DAYS": str(grace),
            "KINERJA_SCHEDULE_TICK_MS": "200", "KINERJA_TIME_ZONE": TZ})

    def settle(self):
        s = self.stack

        def done():
            behind = s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            return s.status()["pending"] == 0 and behind == 0 and \
                s.sql_value("SELECT count(*) FROM event_log") >= self.n_events
        time.sleep(0.3)
        s.wait_for(done, timeout=SCORE_TIMEOUT, what="events stored and periods scored")

    def score(self, period):
        r = self.stack.kinerja("score", E, "--period", period, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_1_broker_refuses_a_fifth_quarter_and_a_thirteenth_month_naming_the_field(self):
        for bad in ("2026-Q5", "2026-13", "2026-Q0"):
            e = ev("evaluation", employee=E, period=bad, rater=S, relation="supervisor",
                   behaviour={k: 3 for k in KEYS})
            ack = self.stack.request(e)
            with self.subTest(period=bad):
                self.assertEqual(ack["status"], "rejected")
                self.assertEqual(ack["error"], 'period: must be YYYY-MM, YYYY-Qn (n 1..4) or YYYY '
                                               '(year 2000..2100), got "%s"' % bad)
        ok = self.stack.request(ev("recalc", period="2026-Q4"))
        self.assertEqual(ok["status"], "accepted", ok)
        # the CLI refuses it as a usage error before sending
        r = self.stack.kinerja("score", E, "--period", "2026-Q5")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--period must be YYYY-MM, YYYY-Qn (n 1..4) or YYYY", r.stderr)
        r = self.stack.kinerja("appeal", E, "--period", "2026-Q5", "--reason", "x")
        self.assertEqual(r.returncode, 2)

    def test_2_a_quarter_built_from_three_months_of_inputs(self):
        self.settle()
        out = self.score("2025-Q1")
        # achievement 1.0333: meets (0.85 <= 1.0333 < 1.10); perilaku 4.0: above (>= 3.75)
        # -> predikat Baik. Score: hasil part 1.0333 / 1.2 x 100 = 86.111, perilaku part
        # (4 - 1) / 4 x 100 = 75; 0.6 x 86.111 + 0.4 x 75 = 51.667 + 30 = 81.667.
        self.assertAlmostEqual(out["hasil_kerja"]["achievement"], 3.1 / 3, places=4)
        self.assertEqual(out["hasil_kerja"]["rating"], "meets")
        self.assertAlmostEqual(out["perilaku"]["value"], 4.0, places=3)
        self.assertEqual(out["perilaku"]["rating"], "above")
        self.assertEqual(out["predikat"], "baik")
        self.assertAlmostEqual(out["score"], 0.6 * (3.1 / 3) / 1.2 * 100 + 0.4 * 75, places=2)
        # the three peers are three raters, not nine ratings
        peers = out["perilaku"]["groups"].get("peer")
        self.assertIsNotNone(peers, out["perilaku"]["groups"])
        self.assertEqual(peers["n"], 3)
        # quarterly cadence: the quarter is offered for sign-off (by the period close, which
        # the scheduler runs every tick and may not have reached yet), its months are not
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT state::text FROM results WHERE employee = %s AND period = '2025-Q1'", (E,)) == "pending_signoff",
            timeout=30, what="2025-Q1 offered for sign-off")
        self.assertEqual(self.stack.sql("SELECT DISTINCT state::text FROM results WHERE period IN "
                                        "('2025-01', '2025-02', '2025-03')"), [("collecting",)])

    def test_3_quarter_feedback_is_that_of_its_three_months(self):
        self.settle()
        # element means over the quarter: (4 + 3 + 2) / 3 = 3 each; IKM = 9 x 3 / 9 x 25 = 75.00;
        # 65.00 <= 75.00 <= 76.60 -> mutu C. Each month alone has one response.
        r = self.stack.kinerja("report", "unit", "--period", "2025-Q1", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        units = {u["unit"]: u for u in json.loads(r.stdout)}
        self.assertEqual(units["UNIT-C"]["ikm"]["n"], 3)
        self.assertAlmostEqual(units["UNIT-C"]["ikm"]["value"], 75.0, places=2)
        self.assertEqual(units["UNIT-C"]["ikm"]["mutu"], "C")

    def test_4_period_close_closes_quarters_and_the_year_and_proposes_the_annual_result(self):
        s = self.stack
        self.settle()
        s.stop(self.sched)
        type(self).sched = self.start_schedule(s, grace=0)
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM closed_periods WHERE period = '2025'") == 1,
                   timeout=SCORE_TIMEOUT, what="the year 2025 closed")
        closed = {p for (p,) in s.sql("SELECT period FROM closed_periods")}
        self.assertTrue({"2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2025"} <= closed, closed)
        self.assertFalse(closed & {"2025-01", "2025-02", "2025-03"}, closed)  # months are inputs only
        self.settle()
        s.wait_for(lambda: s.sql_value("SELECT state::text FROM results WHERE employee = %s AND period = '2025'",
                                       (E,)) == "pending_signoff", timeout=SCORE_TIMEOUT,
                   what="the annual result offered for sign-off")
        out = self.score("2025")
        # The year's inputs, each part weighted by its months (month 1, quarter 3):
        #   hasil: (1.2 + 0.9 + 1.0 + 3 x 1.2 + 3 x 1.0 + 3 x 0.5) / 12 = 11.2 / 12 = 0.9333 -> meets
        #   perilaku per rater: (4 + 4 + 5 + 3 x 5 + 3 x 3 + 3 x 2) / 12 = 43 / 12 = 3.58 -> 4 -> above
        #   predikat Baik; score 0.6 x 0.9333 / 1.2 x 100 + 0.4 x 75 = 46.667 + 30 = 76.667.
        self.assertAlmostEqual(out["hasil_kerja"]["achievement"], 11.2 / 12, places=4)
        self.assertEqual(out["hasil_kerja"]["rating"], "meets")
        self.assertAlmostEqual(out["perilaku"]["value"], 4.0, places=3)
        self.assertEqual(out["predikat"], "baik")
        self.assertAlmostEqual(out["score"], 0.6 * (11.2 / 12) / 1.2 * 100 + 30, places=2)
        self.assertEqual(out["state"], "pending_signoff")
        # the four quarterly predikat beside it:
        #   Q1 Baik (meets, above);  Q2 judgement above, perilaku 5 above -> Sangat Baik;
        #   Q3 1.0 meets, 3 meets -> Baik;  Q4 0.5 below, 2 below -> Sangat Kurang.
        periodic = out["periodic"]
        self.assertEqual([p["period"] for p in periodic], ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"])
        self.assertEqual([p["predikat"] for p in periodic], ["baik", "sangat_baik", "baik", "sangat_kurang"])
        for p in periodic:
            self.assertEqual(p["state"], "pending_signoff", p)
            self.assertGreaterEqual(p["version"], 1)
        # `kinerja score` prints them
        r = s.kinerja("score", E, "--period", "2025")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Periodic results of the year", r.stdout)
        self.assertRegex(r.stdout, r"2025-Q4\s+Sangat Kurang")
        # and the annual result is signed like any other
        v = out["version"]
        r = s.kinerja("signoff", E, "--period", "2025", "--supervisor", S, "--approve", "--version", str(v))
        self.assertEqual(r.returncode, 0, r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT state::text FROM results WHERE employee = %s AND period = '2025'",
                                       (E,)) == "approved", timeout=SCORE_TIMEOUT, what="annual result approved")

    def test_5_under_monthly_cadence_the_year_shows_its_twelve_months(self):
        s = self.stack
        self.settle()
        # the schedule role (grace 0 since test_4) would close 2025's months the moment they
        # count as appraised: stopped while the view is read under monthly cadence
        s.stop(self.sched)
        # what the schedule role publishes for workflow.cadence = monthly (restored after)
        s.sql("SELECT kinerja_publish_setting('workflow.cadence', 'monthly')")
        try:
            periodic = self.score("2025")["periodic"]
        finally:
            s.sql("SELECT kinerja_publish_setting('workflow.cadence', 'quarterly')")
            type(self).sched = self.start_schedule(s, grace=0)
        self.assertEqual([p["period"] for p in periodic], ["2025-%02d" % m for m in range(1, 13)])
        # the month results, by hand: January 12/10 = 1.2 above (>= 1.10), perilaku 4 above
        # -> Sangat Baik; February 0.9 meets, 4 above -> Baik; March 1.0 meets, 5 above ->
        # Baik; April..December had no inputs of their own: no result.
        self.assertEqual([p["predikat"] for p in periodic[:3]], ["sangat_baik", "baik", "baik"])
        self.assertEqual({p["state"] for p in periodic[:3]}, {"collecting"})
        self.assertEqual([p["state"] for p in periodic[3:]], [None] * 9)

    def test_6_recalc_of_a_quarter_rebuilds_its_months(self):
        s = self.stack
        self.settle()
        # a derived table lost its January rows (the event log keeps the events)
        s.sql("DELETE FROM ratings WHERE period = '2025-01'")
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings WHERE period = '2025-01'"), 0)
        r = s.kinerja("recalc", "--period", "2025-Q1")
        self.assertEqual(r.returncode, 0, r.stderr)
        # the supervisor and the three peers rated January: 4 rows rebuilt from event_log
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM ratings WHERE period = '2025-01'") == 4,
                   timeout=SCORE_TIMEOUT, what="January's ratings rebuilt by the quarter's recalc")
        self.settle()
        self.assertEqual(self.score("2025-Q1")["predikat"], "baik")

    def test_7_a_month_input_after_the_year_is_approved_is_late_for_the_year(self):
        s = self.stack
        self.settle()
        q = "SELECT %s FROM results WHERE employee = %%s AND period = '2025'"
        if s.sql_value(q % "state::text", (E,)) != "approved":  # test_4 signs it
            v = self.score("2025")["version"]
            r = s.kinerja("signoff", E, "--period", "2025", "--supervisor", S, "--approve", "--version", str(v))
            self.assertEqual(r.returncode, 0, r.stderr)
            s.wait_for(lambda: s.sql_value(q % "state::text", (E,)) == "approved", timeout=SCORE_TIMEOUT,
                       what="annual result approved")
        before = s.sql_value(q % "late_events", (E,))
        version = s.sql_value(q % "version", (E,))
        r = s.kinerja("send", "-", input=json.dumps(work("2025-02", 10, 1)) + "\n")
        self.assertIn("accepted=1", r.stdout, r.stderr)
        s.wait_for(lambda: s.sql_value(q % "late_events", (E,)) == before + 1, timeout=SCORE_TIMEOUT,
                   what="the February input counted late on the approved year")
        self.settle()
        # frozen: the approved annual result is not recomputed into a new version
        self.assertEqual(s.sql_value(q % "version", (E,)), version)
        self.assertEqual(s.sql_value(q % "state::text", (E,)), "approved")


if __name__ == "__main__":
    unittest.main()
