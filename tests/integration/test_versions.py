"""
Material versions end to end (SPEC 5.7): a recomputation writes a new score version only
when the result changed materially (predikat, a rating, the employee's own inputs, or
the numeric score by score.version_min_delta). Drift from other people's ratings -- the
joint rater-effects estimate moves every result a little -- neither makes a pending
sign-off stale nor fills the supervisor's inbox.

Organisation (unit UNIT-V): TOP heads it; MID reports to TOP and supervises A, B and the
peers P1..P4. The events go in through the real broker; the ingest and score workers
are the real binaries; sign-offs are sent with `kinerja signoff`.
"""

import json
import re
import time
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-05"
YEAR = "2026"
TS = 1778371200000  # 2026-05-10T00:00:00Z: inside PERIOD in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 60


def nip(n):
    return "1986030320110310%02d" % n


TOP, MID, A, B = nip(1), nip(2), nip(10), nip(11)
PEERS = [nip(21), nip(22), nip(23), nip(24)]


def org_csv():
    rows = ["nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala Dinas,UNIT-V,kepala,,admin" % TOP,
            "%s,Kepala Bidang,UNIT-V,kabid,%s,admin" % (MID, TOP),
            "%s,Staf A,UNIT-V,staf,%s,admin" % (A, MID),
            "%s,Staf B,UNIT-V,staf,%s,admin" % (B, MID)]
    for k, n in enumerate(PEERS):
        rows.append("%s,Rekan %d,UNIT-V,staf,%s,admin" % (n, k + 1, MID))
    return "\n".join(rows) + "\n"


def evaluation(employee, rater, relation, values, hasil=None, period=PERIOD):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
          "employee": employee, "period": period, "rater": rater, "relation": relation,
          "behaviour": dict(zip(KEYS, values))}
    if hasil:
        ev["hasil_kerja"] = hasil
    return ev


def work_result(employee, indicator, realization, period=PERIOD, ts=TS):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": ts,
            "employee": employee, "period": period, "indicator": indicator, "target": 10,
            "realization": realization}


def press(employee, rating, ts):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback", "source": "kiosk:v-01", "ts": ts,
            "unit": "UNIT-V", "employee": employee, "rating": rating}


def jsonl(events):
    return "".join(json.dumps(e) + "\n" for e in events)


class VersionsTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        cls.scorer = stack.start_worker(role="score")
        r = stack.org_import(org_csv())
        assert r.returncode == 0, r.stderr
        # Uneven raters, so that the joint estimate has offsets to move: P1 lenient,
        # P3 severe. Every one of A's and B's inputs is in: both go to pending_signoff.
        events = [
            evaluation(A, MID, "supervisor", [4, 4, 4, 4, 4, 4, 4], hasil="meets"),
            evaluation(B, MID, "supervisor", [4, 3, 4, 4, 3, 4, 4], hasil="meets"),
            work_result(A, "SKP-1", 10),
            work_result(B, "SKP-1", 9),
        ]
        for ratee in (A, B):
            events.append(evaluation(ratee, PEERS[0], "peer", [5, 5, 4, 5, 5, 4, 5]))
            events.append(evaluation(ratee, PEERS[1], "peer", [4, 4, 4, 3, 4, 4, 4]))
            events.append(evaluation(ratee, PEERS[2], "peer", [3, 3, 2, 3, 3, 3, 3]))
        cls.send_events(stack, events)
        cls.settle(stack)
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'", (PERIOD,)) == 2,
            timeout=SETTLE_TIMEOUT, what="A and B pending_signoff")

    @staticmethod
    def send_events(stack, events):
        r = stack.kinerja("send", "-", input=jsonl(events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, r.stdout + r.stderr

    @staticmethod
    def settle(stack):
        def done():
            behind = stack.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            return stack.status()["pending"] == 0 and behind == 0
        time.sleep(0.3)
        stack.wait_for(done, timeout=SETTLE_TIMEOUT, what="events stored and periods scored")

    def version(self, employee, period=PERIOD):
        return self.stack.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s",
                                    (employee, period))

    def requests(self, employee):
        return self.stack.sql_value(
            "SELECT count(*) FROM notifications WHERE kind = 'signoff_requested' AND employee = %s"
            " AND period = %s", (employee, PERIOD))

    def drift_logged(self):
        """Results the score worker computed as moved but not materially, summed over
        its log lines."""
        text = self.stack.log_text(self.stack.log_name(self.scorer))
        return sum(int(n) for n in re.findall(r"(\d+) moved below the material threshold", text))

    def test_1_a_colleagues_rating_leaves_a_pending_signoff_valid(self):
        s = self.stack
        v0 = self.version(A)  # 1, or 2 when the worker saw the first batch in two parts
        b0 = self.version(B)
        self.assertGreaterEqual(v0, 1)
        self.assertEqual(self.requests(A), 1)
        drift_before = self.drift_logged()
        score_before = s.sql_value("SELECT score FROM results WHERE employee = %s AND period = %s", (A, PERIOD))
        # P4 rates B, a colleague of A: B's level moves, so do the peers' offsets and
        # through them A's corrected ratings -- a little (perilaku 3.8494 -> 3.8527 by
        # the same arithmetic through score_period in C: 0.03 score points, below
        # score.version_min_delta; a rating far from B's level would move A by more).
        self.send_events(s, [evaluation(B, PEERS[3], "peer", [3, 3, 3, 4, 3, 3, 4])])
        self.settle(s)
        self.assertGreater(self.drift_logged(), drift_before,
                           "the joint estimate should have moved A's result (else this test proves nothing)")
        # B's own inputs changed: a new version and a new request for it
        self.assertEqual(self.version(B), b0 + 1)
        reason = s.sql_value("SELECT reason FROM score_versions WHERE employee = %s AND period = %s"
                             " AND version = %s", (B, PERIOD, b0 + 1))
        self.assertRegex(reason, r"^(inputs changed|predikat|hasil kerja|perilaku)")
        # A: the same version, the same single request, the same score
        self.assertEqual(self.version(A), v0)
        self.assertEqual(self.requests(A), 1)
        self.assertEqual(s.sql_value("SELECT score FROM results WHERE employee = %s AND period = %s",
                                     (A, PERIOD)), score_before)
        # and the supervisor's approval of the version they were asked to sign is accepted
        r = s.kinerja("signoff", A, "--period", PERIOD, "--supervisor", MID, "--approve", "--version", str(v0))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("accepted", r.stdout)
        self.assertIn("now approved (version %d" % v0, r.stdout)
        # the appeal deadline is shown in time.zone (Asia/Jakarta by default), not UTC
        deadline = s.sql_value("SELECT to_char(appeal_deadline AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD HH24:MI')"
                               " FROM results WHERE employee = %s AND period = %s", (A, PERIOD))
        self.assertIn("appeals until %s Asia/Jakarta)" % deadline, r.stdout)
        s.wait_for(lambda: s.sql_value("SELECT state FROM results WHERE employee = %s AND period = %s",
                                       (A, PERIOD)) == "approved", timeout=SETTLE_TIMEOUT, what="A approved")
        self.assertEqual(s.sql_value("SELECT count(*) FROM rejected_events WHERE employee = %s", (A,)), 0)

    def test_2_an_own_work_result_is_a_version(self):
        s = self.stack
        before = self.version(B)
        self.send_events(s, [work_result(B, "SKP-2", 4, ts=TS + 1000)])
        self.settle(s)
        self.assertEqual(self.version(B), before + 1)
        # a new indicator is an own input; its effect on the ratings may be named first
        reason = s.sql_value("SELECT reason FROM score_versions WHERE employee = %s AND period = %s"
                             " AND version = %s", (B, PERIOD, before + 1))
        self.assertIn(reason.split(" ")[0], ("inputs", "predikat", "hasil", "perilaku"))
        # and the result's history says why each version was written
        out = json.loads(s.kinerja("score", B, "--period", PERIOD, "--json").stdout)
        versions = [h for h in out["history"] if h["what"] == "version"]
        self.assertEqual(versions[0]["reason"], "first version")
        self.assertEqual(versions[-1]["reason"], reason)
        self.assertIn("version %d computed (%s)" % (before + 1, reason),
                      s.kinerja("score", B, "--period", PERIOD).stdout)
        rows = s.sql("SELECT hasil_rating, perilaku_rating, inputs_digest IS NOT NULL FROM results"
                     " WHERE employee = %s AND period = %s", (B, PERIOD))
        self.assertEqual(rows[0][2], True)
        self.assertIn(rows[0][0], ("above", "meets", "below"))

    def test_3_a_recalculation_writes_no_version(self):
        s = self.stack
        before = s.sql_value("SELECT count(*) FROM score_versions WHERE period = %s", (PERIOD,))
        r = s.kinerja("recalc", "--period", PERIOD)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM recalc_requests WHERE done_at IS NULL") == 0,
                   timeout=SETTLE_TIMEOUT, what="recalc done")
        self.settle(s)
        self.assertEqual(s.sql_value("SELECT count(*) FROM score_versions WHERE period = %s", (PERIOD,)), before)

    def test_4_the_annual_period_reads_the_years_citizen_feedback(self):
        s = self.stack
        # Smiley presses about B in two months of the year (May and October, 2026), then
        # B's annual evaluation and work result: the annual result counts the presses of
        # both months. (Presses alone after it would move it by less than a version.)
        self.send_events(s, [press(B, 4, TS + 60000), press(B, 3, TS + 120000),
                             press(B, 4, 1791590400000)])  # 2026-10-10T00:00:00Z
        self.settle(s)
        self.send_events(s, [evaluation(B, MID, "supervisor", [4] * 7, hasil="meets", period=YEAR),
                             work_result(B, "SKP-Y", 10, period=YEAR)])
        self.settle(s)

        def citizens():
            r = s.kinerja("score", B, "--period", YEAR, "--json")
            if r.returncode != 0:
                return None
            g = json.loads(r.stdout)["breakdown"]["groups"]["citizen"]
            return g and g.get("n")
        # the three presses reach the annual result
        s.wait_for(lambda: citizens() == 3, timeout=SETTLE_TIMEOUT, what="three citizen presses in the year")
        self.assertEqual(s.sql_value("SELECT counted FROM unit_scores WHERE period = %s AND unit = 'UNIT-V'",
                                     (YEAR,)), 3)
        # and a month's feedback makes its year dirty: one more press reaches the year's
        # unit score (recomputed) though it is no new version of B's result
        gen = s.sql_value("SELECT computed_generation FROM score_periods WHERE period = %s", (YEAR,))
        self.send_events(s, [press(B, 2, 1791590460000)])
        self.settle(s)
        self.assertGreater(s.sql_value("SELECT computed_generation FROM score_periods WHERE period = %s",
                                       (YEAR,)), gen)
        self.assertEqual(s.sql_value("SELECT counted FROM unit_scores WHERE period = %s AND unit = 'UNIT-V'",
                                     (YEAR,)), 4)

    def test_5_the_inbox_shows_times_in_the_time_zone(self):
        s = self.stack
        for zone in ("Asia/Jakarta", "Asia/Makassar"):
            with self.subTest(zone=zone):
                r = s.kinerja("inbox", MID, env={"KINERJA_TIME_ZONE": zone})
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("(times in %s)" % zone, r.stdout)
                newest = s.sql_value("SELECT to_char(created_at AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')"
                                     " FROM notifications WHERE recipient = %s ORDER BY created_at DESC, id DESC"
                                     " LIMIT 1", (zone, MID))
                self.assertEqual(r.stdout.splitlines()[2][:16], newest)
        r = s.kinerja("inbox", MID, env={"KINERJA_TIME_ZONE": "Mars/Olympus"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("time.zone: PostgreSQL does not know 'Mars/Olympus'", r.stderr)

    def test_6_score_shows_the_calibration_evidence(self):
        # A is rated by the supervisor and three peers: the calibration test has three
        # other raters, and the table shows its residual and z beside the verdict
        s = self.stack
        out = json.loads(s.kinerja("score", A, "--period", PERIOD, "--json").stdout)
        test = out["breakdown"]["calibration_test"]
        self.assertEqual((test["tested"], test["n"]), (True, 3))
        t = s.kinerja("score", A, "--period", PERIOD).stdout
        self.assertRegex(t, r"Calibration\s+(not )?flagged: the supervisor's rating is [+-]\d+\.\d\d from what 3 "
                            r"other raters imply, z = [+-]\d+\.\d\d")

    def test_7_a_result_signed_while_the_worker_stores_keeps_its_version(self):
        # The score worker COPYs new versions into score_versions before it upserts
        # results; a result frozen in between keeps its version, and the version written
        # for it is taken back in the same transaction (no one ever sees it). The test
        # holds B's results row locked, lets the worker compute B (new own input) and
        # P1 (a first result), waits until its upsert waits on that lock, then signs B.
        s = self.stack
        self.assertEqual(s.sql_value("SELECT state FROM results WHERE employee = %s AND period = %s",
                                     (B, PERIOD)), "pending_signoff")
        b0 = self.version(B)
        holder = s._pg_connect()
        try:
            cur = holder.cursor()
            cur.execute("SELECT 1 FROM results WHERE employee = %s AND period = %s FOR UPDATE", (B, PERIOD))
            self.send_events(s, [work_result(B, "SKP-3", 7, ts=TS + 2000),
                                 work_result(PEERS[0], "SKP-1", 8, ts=TS + 2000)])
            s.wait_for(lambda: s.sql_value(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE %s", ("%INSERT INTO results%",)) == 1,
                timeout=SETTLE_TIMEOUT, what="the score worker's upsert waiting on B's row")
            # the version for B is in score_versions, unseen by anyone else
            self.assertEqual(s.sql_value("SELECT count(*) FROM score_versions WHERE employee = %s"
                                         " AND period = %s AND version = %s", (B, PERIOD, b0 + 1)), 0)
            cur.execute("UPDATE results SET state = 'approved', approved_at = now(), signoff_version = version"
                        " WHERE employee = %s AND period = %s", (B, PERIOD))
            holder.commit()
        finally:
            holder.close()
        self.settle(s)
        s.wait_for(lambda: re.search(r"1 results were frozen \(signed\) meanwhile",
                                     s.log_text(s.log_name(self.scorer))) is not None,
                   timeout=SETTLE_TIMEOUT, what="the worker's log of the frozen result")
        self.assertEqual(self.version(B), b0)
        self.assertEqual(s.sql_value("SELECT max(version) FROM score_versions WHERE employee = %s AND period = %s",
                                     (B, PERIOD)), b0, "the version written for B should have been taken back")
        # P1's first result of the same computation is stored, its version with it
        self.assertEqual(self.version(PEERS[0]), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM score_versions WHERE employee = %s AND period = %s",
                                     (PEERS[0], PERIOD)), 1)
        # and score_versions is still append-only for everything committed
        with self.assertRaisesRegex(Exception, "append-only"):
            s.sql("DELETE FROM score_versions WHERE employee = %s AND period = %s", (B, PERIOD))


if __name__ == "__main__":
    unittest.main()
