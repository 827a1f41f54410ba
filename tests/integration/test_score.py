"""
Scoring end to end (issue: scoring engine). Events go in through the real broker, the
ingest worker derives ratings / work results / feedback in its transaction, the score
worker recomputes the period; results are read back with `kinerja score --json` and
`kinerja report unit`, and checked against values computed by hand here.
"""

import json
import re
import time
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-03"
TS = 1772668800000  # 2026-03-05T00:00:00Z: inside PERIOD in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SCORE_TIMEOUT = 60


def nip(n):
    return "1980010120050110%02d" % n


def evaluation(employee, rater, relation, value, hasil=None, ts=TS, values=None):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": ts,
          "employee": employee, "period": PERIOD, "rater": rater, "relation": relation,
          "behaviour": values or {k: value for k in KEYS}}
    if hasil:
        ev["hasil_kerja"] = hasil
    return ev


def jsonl(events):
    return "".join(json.dumps(e) + "\n" for e in events)


class ScoreTest(StackTestCase):
    stack_options = {"shards": 4}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        cls.scorer = stack.start_worker(role="score")
        # Unit A: supervisor 01, six staff 10..15 rated in the test, three peers 20..22.
        # Unit B: supervisor 02, staff 30..33 (replacement, late event, kiosk).
        # Unit C: no people, a counter only (SKM / IKM).
        rows = ["nip,name,unit,position,supervisor_nip,job_family",
                "%s,Kepala A,UNIT-A,kepala,,admin" % nip(1),
                "%s,Kepala B,UNIT-B,kepala,,admin" % nip(2)]
        for n in list(range(10, 16)) + [20, 21, 22]:
            rows.append("%s,Staf %d,UNIT-A,staf,%s,admin" % (nip(n), n, nip(1)))
        for n in range(30, 34):
            rows.append("%s,Staf %d,UNIT-B,staf,%s,admin" % (nip(n), n, nip(2)))
        rows.append("%s,Petugas C,UNIT-C,staf,%s,admin" % (nip(40), nip(2)))
        r = stack.org_import("\n".join(rows) + "\n")
        assert r.returncode == 0, r.stderr

    def send(self, events):
        r = self.stack.kinerja("send", "-", input=jsonl(events))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("accepted=%d" % len(events), r.stdout, r.stderr)

    def recalc(self, *scope):
        """`kinerja recalc SCOPE...`, then waits until the score worker carried it out and
        every period is computed."""
        s = self.stack
        done = s.sql_value("SELECT count(*) FROM recalc_requests WHERE done_at IS NOT NULL")
        r = s.kinerja("recalc", *scope)
        self.assertEqual(r.returncode, 0, r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM recalc_requests WHERE done_at IS NOT NULL") > done,
                   timeout=SCORE_TIMEOUT, what="recalc carried out")
        self.settle()

    def settle(self):
        """Waits until every accepted event is stored and every period computed."""
        s = self.stack

        def done():
            behind = s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            open_recalcs = s.sql_value("SELECT count(*) FROM recalc_requests WHERE done_at IS NULL")
            st = s.status()
            return st["pending"] == 0 and st["stream_length"] >= 0 and behind == 0 and open_recalcs == 0
        time.sleep(0.3)
        s.wait_for(done, timeout=SCORE_TIMEOUT, what="events stored and periods scored")

    def score(self, employee):
        r = self.stack.kinerja("score", employee, "--period", PERIOD, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_1_six_employees_get_the_predikat_of_the_matrix(self):
        # Each of the six is rated by the supervisor (with hasil_kerja) and three peers,
        # all giving the same value v to every BerAKHLAK key. Nobody rates unevenly, so
        # every rater offset is 0 and every robust weight 1. Perilaku, by hand (scoring v2,
        # default weights: supervisor 0.02, peer 0.2):
        #   supervisor group: v (weight 0.02); peer group: 3 ratings of v (weight 0.2 x
        #   Z = 3/(3+3) = 0.1), the weight the peers give up (0.1) goes to the ratee's own
        #   joint level, which is the mean of every non-self rating about them = v; so
        #   every value is (0.02 v + 0.1 v + 0.1 v) / 0.22 = v:
        #   v=5: 5.0 -> above (>= 3.75); v=3: 3.0 -> meets (>= 2.75); v=1: 1.0 -> below
        # Hasil kerja comes from the supervisor's judgement; predikat from the matrix.
        cases = [  # (employee, hasil, v, perilaku, predikat)
            (10, "above", 5, 5.0, "sangat_baik"),
            (11, "above", 3, 3.0, "baik"),
            (12, "above", 1, 1.0, "kurang"),
            (13, "meets", 5, 5.0, "baik"),
            (14, "below", 3, 3.0, "butuh_perbaikan"),
            (15, "below", 1, 1.0, "sangat_kurang"),
        ]
        events = []
        for e, hasil, v, _, _ in cases:
            events.append(evaluation(nip(e), nip(1), "supervisor", v, hasil=hasil))
            for p in (20, 21, 22):
                events.append(evaluation(nip(e), nip(p), "peer", v))
        self.send(events)
        self.settle()
        for e, hasil, v, perilaku, predikat in cases:
            out = self.score(nip(e))
            with self.subTest(employee=e):
                self.assertEqual(out["employee"], nip(e))
                self.assertEqual(out["period"], PERIOD)
                self.assertEqual(out["state"], "collecting")
                self.assertGreaterEqual(out["version"], 1)
                self.assertEqual(out["hasil_kerja"]["rating"], hasil)
                self.assertAlmostEqual(out["perilaku"]["value"], perilaku, places=3)
                self.assertEqual(out["predikat"], predikat)
                for k in KEYS:
                    self.assertIn(k, out["perilaku"]["values"])

    def test_2_ikm_of_ten_skm_responses_is_87_5_mutu_b(self):
        # Five responses answering 4 to all nine elements and five answering 3:
        # every element mean = (5*4 + 5*3)/10 = 3.5; IKM = (9 * 3.5 / 9) * 25 = 87.5;
        # 76.61 <= 87.50 <= 88.30 -> mutu B.
        events = []
        for i in range(10):
            a = 4 if i < 5 else 3
            events.append({"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback",
                           "source": "survey:web", "ts": TS + i * 60000, "unit": "UNIT-C",
                           "skm": {"u%d" % k: a for k in range(1, 10)}})
        self.send(events)
        self.settle()
        r = self.stack.kinerja("report", "unit", "--period", PERIOD, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        units = {u["unit"]: u for u in json.loads(r.stdout)}
        self.assertEqual(units["UNIT-C"]["ikm"]["n"], 10)
        self.assertAlmostEqual(units["UNIT-C"]["ikm"]["value"], 87.5, places=2)
        self.assertEqual(units["UNIT-C"]["ikm"]["mutu"], "B")

    def test_3_later_evaluation_replaces_the_earlier_whatever_the_arrival_order(self):
        s = self.stack
        first = evaluation(nip(30), nip(2), "supervisor", 2, ts=TS)
        correction = evaluation(nip(30), nip(2), "supervisor", 4, ts=TS + 3600000)
        stale = evaluation(nip(30), nip(2), "supervisor", 1, ts=TS - 3600000)  # older, arrives last
        self.send([first])
        self.settle()
        self.assertAlmostEqual(self.score(nip(30))["perilaku"]["value"], 2.0, places=3)
        self.send([correction])
        self.settle()
        self.assertAlmostEqual(self.score(nip(30))["perilaku"]["value"], 4.0, places=3)
        self.send([stale])
        self.settle()
        self.assertAlmostEqual(self.score(nip(30))["perilaku"]["value"], 4.0, places=3)
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings WHERE employee = %s AND period = %s",
                                     (nip(30), PERIOD)), 1)
        # all three stay in the immutable log
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log WHERE employee = %s AND type = 'evaluation'",
                                     (nip(30),)), 3)

    def test_4_kiosk_repeats_are_flagged_and_counted_once(self):
        s = self.stack
        # one device, one employee: presses at 0 s, 4 s, 8 s (a burst: counts once as
        # the first press, 4), 60 s and 120 s (count: 1 and 1) -> satisfaction over 3
        # presses (3 = fairness.anonymity_min: with fewer the citizen group, and with it
        # their satisfaction mean, is not shown)
        events = []
        for i, (dt, rating) in enumerate([(0, 4), (4, 4), (8, 4), (60, 1), (120, 1)]):
            events.append({"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback",
                           "source": "kiosk:unit-b-01", "ts": TS + 7200000 + dt * 1000, "unit": "UNIT-B",
                           "employee": nip(31), "rating": rating})
        self.send(events)
        self.settle()
        flags = s.sql("SELECT repeat FROM feedback WHERE employee = %s ORDER BY ts_ms", (nip(31),))
        self.assertEqual([f[0] for f in flags], [False, True, True, False, False])
        sat = self.score(nip(31))["satisfaction"]
        self.assertEqual(sat["presses"], 5)
        self.assertEqual(sat["n"], 3)
        self.assertAlmostEqual(sat["mean"], 2.0, places=3)  # (4 + 1 + 1) / 3

    def test_5_late_event_after_approval_does_not_change_the_signed_version(self):
        s = self.stack
        self.send([evaluation(nip(32), nip(2), "supervisor", 4, hasil="meets")])
        self.settle()
        before = self.score(nip(32))
        # sign it off (the workflow milestone does this through `kinerja signoff`)
        # (two steps: the workflow's trigger allows only collecting -> pending_signoff -> approved)
        for state in ("pending_signoff", "approved"):
            s.sql("UPDATE results SET state = %s WHERE employee = %s AND period = %s", (state, nip(32), PERIOD))
        late = evaluation(nip(32), nip(2), "supervisor", 1, hasil="below", ts=TS + 86400000)
        self.send([late])
        self.settle()
        after = self.score(nip(32))
        self.assertEqual(after["version"], before["version"])
        self.assertEqual(after["predikat"], before["predikat"])
        self.assertEqual(s.sql_value("SELECT count(*) FROM late_events WHERE event_id = %s", (late["id"],)), 1)
        self.assertEqual(s.sql_value("SELECT late_events FROM results WHERE employee = %s AND period = %s",
                                     (nip(32), PERIOD)), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM score_versions WHERE employee = %s", (nip(32),)),
                         before["version"])

    def test_6_recalculation_is_byte_identical_to_the_incremental_path(self):
        s = self.stack
        # more traffic for unit B, so the period has something for every step
        events = []
        for i, e in enumerate((30, 31, 33)):
            events.append(evaluation(nip(e), nip(2), "supervisor", 3 + (i % 2), hasil="meets"))
            for p in (30, 31, 32, 33):
                if p != e:
                    events.append(evaluation(nip(e), nip(p), "peer", 2 + (p + i) % 4))
            events.append({"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp",
                           "ts": TS, "employee": nip(e), "period": PERIOD, "indicator": "K-%d" % i,
                           "target": 10, "realization": 8 + i})
        self.send(events)
        self.settle()
        before = dict((r[0], (r[1], r[2])) for r in s.sql(
            "SELECT r.employee, r.version, v.result::text FROM results r JOIN score_versions v "
            "USING (employee, period, version) WHERE r.period = %s", (PERIOD,)))
        self.assertGreaterEqual(len(before), 9)
        r = s.kinerja("recalc", "--period", PERIOD)
        self.assertEqual(r.returncode, 0, r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM recalc_requests WHERE done_at IS NOT NULL") >= 1,
                   timeout=SCORE_TIMEOUT, what="recalc carried out")
        self.settle()
        after = dict((r[0], (r[1], r[2])) for r in s.sql(
            "SELECT r.employee, r.version, v.result::text FROM results r JOIN score_versions v "
            "USING (employee, period, version) WHERE r.period = %s", (PERIOD,)))
        self.assertEqual(after, before)  # no new version, byte-identical result JSON
        self.assertIn("derived tables rebuilt", s.log_text(s.log_name(self.scorer)))


    def test_7_recalculation_restores_derived_rows_from_the_log(self):
        s = self.stack
        snapshot = "SELECT employee, rater, relation, vals::text, event_id::text FROM ratings WHERE period = %s ORDER BY 1, 2, 3"
        before = s.sql(snapshot, (PERIOD,))
        versions = s.sql_value("SELECT count(*) FROM score_versions")
        # lose some derived rows (as a restore from an old backup would): the log still has them
        s.sql("DELETE FROM ratings WHERE period = %s AND employee = %s", (PERIOD, nip(30)))
        s.sql("DELETE FROM feedback WHERE period = %s AND employee = %s", (PERIOD, nip(31)))
        # and derived rows cannot be edited in place (a rebuild by event ids relies on it)
        with self.assertRaisesRegex(Exception, "a derived row changes only with its event"):
            s.sql("UPDATE ratings SET vals = '{1,1,1,1,1,1,1}' WHERE period = %s", (PERIOD,))
        self.recalc("--period", PERIOD)
        self.assertEqual(s.sql(snapshot, (PERIOD,)), before)
        self.assertEqual([f[0] for f in s.sql("SELECT repeat FROM feedback WHERE employee = %s ORDER BY ts_ms",
                                              (nip(31),))], [False, True, True, False, False])
        self.assertEqual(s.sql_value("SELECT count(*) FROM score_versions"), versions)

    def test_8_signoff_facts_stored_with_each_version_are_those_of_its_result(self):
        s = self.stack
        # employee 20 (so far only a rater): the supervisor's 5s against two peers' 1s (the
        # peer group stays below anonymity_min: hidden, and so is the pool of hidden crowd
        # groups, "others", still below it too); test 1's 1s gave training
        events = [evaluation(nip(20), nip(1), "supervisor", 5, hasil="meets"),
                  evaluation(nip(20), nip(21), "peer", 1), evaluation(nip(20), nip(22), "peer", 1)]
        self.send(events)
        self.settle()
        # every version the score worker wrote carries the facts, exactly those the SQL
        # derives from the version's whole result (what sign-off requests read otherwise)
        rows = s.sql("SELECT employee, version, signoff IS NULL, signoff = kinerja_signoff_facts(result), "
                     "signoff::text, kinerja_signoff_facts(result)::text FROM score_versions ORDER BY 1, 2")
        self.assertGreaterEqual(len(rows), 10)
        for employee, version, missing, equal, stored, derived in rows:
            with self.subTest(employee=employee, version=version):
                self.assertFalse(missing)
                self.assertTrue(equal, "stored %s, derived %s" % (stored, derived))
        facts = s.sql_value("SELECT signoff FROM score_versions WHERE employee = %s ORDER BY version DESC LIMIT 1",
                            (nip(20),))
        self.assertEqual(facts["groups_hidden"], ["others", "peer"])
        self.assertEqual(facts["hasil_kerja"], "meets")
        self.assertTrue(any('"training": [{' in r[4] for r in rows), "no version with training")
        # a version written without them (by hand, or before 0020) is read from its result
        s.sql("INSERT INTO score_versions (employee, period, version, predikat, score, result) "
              "SELECT employee, '2026-01', version, predikat, score, result FROM score_versions "
              "WHERE employee = %s ORDER BY version DESC LIMIT 1", (nip(20),))
        self.assertEqual(
            s.sql_value("SELECT kinerja_signoff_highlights(result, false, 0, NULL) = "
                        "kinerja_signoff_from_facts(%s::jsonb, false, 0, NULL) FROM score_versions "
                        "WHERE employee = %s AND period = '2026-01'", (json.dumps(facts), nip(20))), True)

    def test_9_recalculation_finds_rows_that_are_not_the_latest_or_not_from_the_log(self):
        # kinerja_rebuild leaves a scope's rows alone when they already are the log's
        # (schemas/functions/kinerja_rebuild.sql): a row of an older event of its key, or
        # one whose event is not in the log, must still be found and replaced
        s = self.stack
        snapshot = ("SELECT employee, rater, relation, vals::text, event_id::text FROM ratings "
                    "WHERE period = %s ORDER BY 1, 2, 3")
        before = s.sql(snapshot, (PERIOD,))
        # employee 30's supervisor rating: three events (test 3), the row is the latest's
        older = s.sql_value("SELECT id::text FROM event_log WHERE type = 'evaluation' AND employee = %s "
                            "AND rater = %s ORDER BY ts LIMIT 1", (nip(30), nip(2)))
        s.sql("DELETE FROM ratings WHERE period = %s AND employee = %s AND rater = %s", (PERIOD, nip(30), nip(2)))
        s.sql("INSERT INTO ratings (period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id) "
              "SELECT period, employee, rater, relation, vals, hasil_kerja, comment, unit, ts, event_id "
              "FROM event_ratings WHERE event_id = %s", (older,))
        # a row no event of the log made
        s.sql("INSERT INTO ratings (period, employee, rater, relation, vals, unit, ts, event_id) "
              "VALUES (%s, %s, %s, 'subordinate', '{1,1,1,1,1,1,1}', 'UNIT-B', now(), gen_random_uuid())",
              (PERIOD, nip(33), nip(30)))
        self.assertNotEqual(s.sql(snapshot, (PERIOD,)), before)
        for scope in (["--period", PERIOD], ["--period", PERIOD, "--unit", "UNIT-B", "--employee", nip(33)]):
            self.recalc(*scope)
            self.assertEqual(s.sql(snapshot, (PERIOD,)), before, scope)
            # and the same once more for the second scope: only employee 33's row
            s.sql("INSERT INTO ratings (period, employee, rater, relation, vals, unit, ts, event_id) "
                  "VALUES (%s, %s, %s, 'subordinate', '{1,1,1,1,1,1,1}', 'UNIT-B', now(), gen_random_uuid())",
                  (PERIOD, nip(33), nip(30)))
        s.sql("DELETE FROM ratings WHERE period = %s AND employee = %s AND event_id::text NOT IN "
              "(SELECT id::text FROM event_log)", (PERIOD, nip(33)))
        self.assertEqual(s.sql(snapshot, (PERIOD,)), before)
        # the same for work results (kinerja_rebuild_check's second table): a row no event made
        works = "SELECT employee, indicator, realization, event_id::text FROM work_results WHERE period = %s ORDER BY 1, 2"
        works_before = s.sql(works, (PERIOD,))
        s.sql("INSERT INTO work_results (period, employee, indicator, target, realization, direction, weight, unit,"
              " ts, event_id) VALUES (%s, %s, 'SKP-TANPA-EVENT', 10, 10, 'higher_better', 1, 'UNIT-B', now(),"
              " gen_random_uuid())", (PERIOD, nip(33)))
        self.assertNotEqual(s.sql(works, (PERIOD,)), works_before)
        self.recalc("--period", PERIOD)
        self.assertEqual(s.sql(works, (PERIOD,)), works_before)

    def test_9b_any_number_of_threads_stores_the_same_bytes(self):
        # score.threads splits a period's employees over threads (common/score_period.c);
        # a recomputation on 1 and on 3 threads of what the default computed finds every
        # result the very same: no new version, the stored JSON unchanged
        s = self.stack
        snapshot = ("SELECT r.employee, r.version, v.result::text FROM results r JOIN score_versions v "
                    "USING (employee, period, version) WHERE r.period = %s ORDER BY 1")

        def recompute():
            s.sql("UPDATE score_periods SET generation = generation + 1 WHERE period = %s", (PERIOD,))
            self.settle()

        recompute()
        before = s.sql(snapshot, (PERIOD,))
        self.assertGreaterEqual(len(before), 9)
        s.stop(self.scorer)
        try:
            for threads in ("1", "3"):
                scorer = s.start_worker(role="score", env={"KINERJA_SCORE_THREADS": threads})
                try:
                    s.wait_for(lambda: "score role started (%s threads" % threads in s.log_text(scorer),
                               timeout=SCORE_TIMEOUT, what="the score worker with %s threads" % threads)
                    recompute()
                    s.wait_for(lambda: "period %s (generation" % PERIOD in s.log_text(scorer),
                               timeout=SCORE_TIMEOUT, what="the period computed on %s threads" % threads)
                    line = [l for l in s.log_text(scorer).splitlines() if "period %s (generation" % PERIOD in l][-1]
                    self.assertIn(" 0 new versions", line, threads)
                    self.assertEqual(s.sql(snapshot, (PERIOD,)), before, threads)
                finally:
                    s.stop(scorer)
        finally:
            type(self).scorer = s.start_worker(role="score")

    def test_9c_ratings_read_in_two_halves_store_the_same_bytes(self):
        # a month of score.signoff_split_min people or more has its ratings read in two
        # halves at once, the second on another connection in the same snapshot
        # (workers/score_store.c): every rating is read once, so a recomputation finds
        # every result the very same
        s = self.stack
        snapshot = ("SELECT r.employee, r.version, v.result::text FROM results r JOIN score_versions v "
                    "USING (employee, period, version) WHERE r.period = %s ORDER BY 1")
        ratings = s.sql_value("SELECT count(*) FROM ratings WHERE period = %s", (PERIOD,))
        self.assertGreater(ratings, 9)
        s.sql("UPDATE score_periods SET generation = generation + 1 WHERE period = %s", (PERIOD,))
        self.settle()
        before = s.sql(snapshot, (PERIOD,))
        s.stop(self.scorer)
        try:
            scorer = s.start_worker(role="score", env={"KINERJA_SCORE_THREADS": "2",
                                                       "KINERJA_SCORE_SIGNOFF_SPLIT_MIN": "1"})
            try:
                s.sql("UPDATE score_periods SET generation = generation + 1 WHERE period = %s", (PERIOD,))
                s.wait_for(lambda: "period %s (generation" % PERIOD in s.log_text(scorer),
                           timeout=SCORE_TIMEOUT, what="the period computed with the ratings in halves")
                log = s.log_text(scorer)
                halves = re.search(r"period %s: ratings read in two halves at once: (\d+) and (\d+)" % PERIOD, log)
                self.assertIsNotNone(halves, log)
                first, second = int(halves.group(1)), int(halves.group(2))
                self.assertEqual(first + second, ratings)
                self.assertGreater(first, 0)
                self.assertGreater(second, 0)
                line = [l for l in log.splitlines() if "period %s (generation" % PERIOD in l][-1]
                self.assertIn(" 0 new versions", line)
                self.assertIn(" %d evaluations" % ratings, line)
                self.assertEqual(s.sql(snapshot, (PERIOD,)), before)
                # the second connection's session gone: its half is read on the first,
                # the period computed all the same
                killed = s.sql_value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                     " WHERE application_name = 'kinerja_score_signoff'")
                self.assertGreaterEqual(killed, 1)
                computed = log.count("period %s (generation" % PERIOD)
                s.sql("UPDATE score_periods SET generation = generation + 1 WHERE period = %s", (PERIOD,))
                s.wait_for(lambda: s.log_text(scorer).count("period %s (generation" % PERIOD) > computed,
                           timeout=SCORE_TIMEOUT, what="the period computed without the second connection")
                log = s.log_text(scorer)
                self.assertIn("period %s: ratings, second half read on the first connection" % PERIOD, log)
                line = [l for l in log.splitlines() if "period %s (generation" % PERIOD in l][-1]
                self.assertIn(" 0 new versions", line)
                self.assertIn(" %d evaluations" % ratings, line)
                self.assertEqual(s.sql(snapshot, (PERIOD,)), before)
            finally:
                s.stop(scorer)
        finally:
            type(self).scorer = s.start_worker(role="score")


if __name__ == "__main__":
    unittest.main()
