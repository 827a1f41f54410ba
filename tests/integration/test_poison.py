"""
Issue 12, item 1: no input can stop the pipeline. The worst any event can do is be
rejected.

- The reproduction: two work_result events with weight 1e308 for one employee used to
  overflow the weighted achievement to NaN, and the score worker's COPY failed
  (`invalid input syntax for type numeric: "-nan"`) every 2 s, for the whole period,
  for good. The broker now rejects them naming the field.
- The worker side (rows already in the tables, as an old row would be, written here
  with SQL past the broker): the rest of the period still scores, the bad result is
  quarantined on its own (employee, period, the error, the event ids of its inputs),
  listed by `kinerja status` and counted by kinerja_score_quarantined on /metrics; a
  corrected input releases it.
- The temp-table bug: the first write transaction of a score worker fails (a fault
  injected with a trigger); the temp tables died with it while the worker believed
  they existed, and every later period failed with `relation "_score_new" does not
  exist`. Now the next computation succeeds. Meanwhile /healthz is 503 naming the
  period (it failed on its last tries) and 200 again once it computes.
"""

import json
import msgpack
import time
import unittest
import urllib.error
import urllib.request
import uuid

from harness import StackTestCase, free_port

TS = 1772668800000  # 2026-03-05T00:00:00Z
TIMEOUT = 60


def nip(n):
    return "1980010120050120%02d" % n


def work_result(employee, period, indicator, target, realization, weight=1):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
            "employee": employee, "period": period, "indicator": indicator, "target": target,
            "realization": realization, "weight": weight}


KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]


def evaluation(employee, period, rater, value=4):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
            "employee": employee, "period": period, "rater": rater, "relation": "supervisor",
            "behaviour": {k: value for k in KEYS}, "hasil_kerja": "meets"}


def http_get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def gauge(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class PoisonTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        # the default ts window (the harness turns the age limit off for the other tests)
        stack.write_config({"score.settle_ms": 50, "score.settle_max_ms": 200, "intake.max_age_s": 34560000})
        stack.start_all(workers=1)
        rows = ["nip,name,unit,position,supervisor_nip,job_family",
                "%s,Kepala,UNIT-P,kepala,,admin" % nip(1)]
        for n in (10, 11, 12):
            rows.append("%s,Staf %d,UNIT-P,staf,%s,admin" % (nip(n), n, nip(1)))
        r = stack.org_import("\n".join(rows) + "\n")
        assert r.returncode == 0, r.stderr

    def send(self, events):
        r = self.stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("accepted=%d" % len(events), r.stdout, r.stderr)

    def stored(self, ids):
        self.stack.wait_for(
            lambda: self.stack.sql_value("SELECT count(*) FROM event_log WHERE id = ANY(%s::uuid[])",
                                         (list(ids),)) == len(ids),
            timeout=TIMEOUT, what="events stored")

    def computed(self, period):
        return self.stack.sql_value(
            "SELECT generation <= computed_generation FROM score_periods WHERE period = %s", (period,))

    def score_worker(self):
        port = free_port()
        proc = self.stack.start_worker("score", env={"KINERJA_METRICS_LISTEN": "127.0.0.1:%d" % port})
        self.stack.wait_for(lambda: http_get(port, "/healthz")[0] in (200, 503), timeout=TIMEOUT,
                            what="the score worker's /healthz")
        return proc, port

    def test_broker_rejects_weight_1e308(self):
        """The issue's two events: rejected at the broker, naming the field and range."""
        a = work_result(nip(10), "2026-02", "k1", 100, 100, weight=1e308)
        b = work_result(nip(10), "2026-02", "k2", 100, 100, weight=1e308)
        acks = self.stack.request([a, b])
        self.assertEqual([x["status"] for x in acks], ["rejected", "rejected"], acks)
        for x in acks:
            self.assertEqual(x["error"], "weight: must be a number in (0, 1000], got 1e+308")
        # and the other numbers past their bounds, at the broker too
        for field, value, want in (("target", 1e10, "target: must be a number in (0, 1000000000], got 1e+10"),
                                   ("realization", 2e9,
                                    "realization: must be a number in [0, 1000000000], got 2e+09")):
            ev = work_result(nip(10), "2026-02", "k3", 100, 100)
            ev[field] = value
            ack = self.stack.request(ev)
            self.assertEqual((ack["status"], ack["error"]), ("rejected", want))
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM event_log WHERE id = ANY(%s::uuid[])",
                                              ([a["id"], b["id"]],)), 0)

    def test_broker_and_worker_keep_the_ts_window(self):
        """ts in 2099 (issue 12, item 7) or two days ahead: rejected at the broker naming the
        window; a day back is fine. The ingest worker applies the same window by the
        broker's receive time (an entry written straight into the stream, as an older
        broker would have, lands in rejected_events with the reason)."""
        now = int(time.time() * 1000)
        for ts, want in ((4070908800000, "more than intake.max_future_s 86400"),
                         (now + 2 * 86400 * 1000, "more than intake.max_future_s 86400"),
                         (now - 401 * 86400 * 1000, "more than intake.max_age_s 34560000")):
            ev = work_result(nip(10), "2026-02", "k9", 100, 100)
            ev["ts"] = ts
            ack = self.stack.request(ev)
            self.assertEqual(ack["status"], "rejected", ack)
            self.assertIn("ts: %d is " % ts, ack["error"])
            self.assertIn(want, ack["error"])
        ok = work_result(nip(10), "2026-02", "k8", 100, 100)
        ok["ts"] = now - 86400 * 1000
        self.assertEqual(self.stack.request(ok)["status"], "accepted")
        # past the broker: the worker judges the entry by its receive time (rt)
        ev = work_result(nip(10), "2026-02", "k7", 100, 100)
        ev["ts"] = 4070908800000
        self.stack.redis_cmd("XADD", "kinerja:ev:{0}", "*", "id", ev["id"], "ev", msgpack.packb(ev),
                             "rt", str(now))
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT reason FROM rejected_events WHERE event_id = %s", (ev["id"],)) is not None,
            timeout=30, what="the worker's verdict")
        self.assertIn("more than intake.max_future_s 86400",
                      self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (ev["id"],)))

    def test_poison_rows_are_quarantined_alone(self):
        s = self.stack
        period = "2026-03"
        good = [work_result(nip(11), period, "k1", 100, 80),   # achievement 80/100 = 0.8
                work_result(nip(10), period, "k0", 100, 100),  # the bad employee's one good input
                # evaluations, so both results have a numeric score (the NaN score)
                evaluation(nip(11), period, nip(1)), evaluation(nip(10), period, nip(1))]
        self.send(good)
        self.stored([e["id"] for e in good])
        # Two rows past the broker (as rows stored before the bounds were): weight
        # 1e308 twice sums to inf, and inf / inf is NaN.
        bad_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
        for i, eid in enumerate(bad_ids):
            s.sql("INSERT INTO work_results (period, employee, indicator, target, realization, direction, weight,"
                  " unit, ts, event_id) VALUES (%s, %s, %s, 100, 100, 'higher_better', 1e308, 'UNIT-P',"
                  " to_timestamp(%s / 1000.0) - interval '1 day', %s)",
                  (period, nip(10), "k%d" % (i + 1), TS, eid))
        s.sql("INSERT INTO score_periods AS p (period) VALUES (%s) ON CONFLICT (period) DO UPDATE"
              " SET generation = p.generation + 1, changed_at = now()", (period,))
        proc, port = self.score_worker()
        try:
            s.wait_for(lambda: self.computed(period), timeout=TIMEOUT, what="period %s computed" % period)
            # the rest of the period is stored: employee 11, achievement 80 / 100 = 0.8
            r = s.kinerja("score", nip(11), "--period", period, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertAlmostEqual(json.loads(r.stdout)["hasil_kerja"]["achievement"], 0.8, places=4)
            # the bad result is set aside, with the reason and every input event id
            rows = s.sql("SELECT employee, error, event_ids::text[] FROM score_quarantine WHERE period = %s",
                         (period,))
            self.assertEqual(len(rows), 1, rows)
            self.assertEqual(rows[0][0], nip(10))
            self.assertEqual(rows[0][1], "work_result k1: weight must be a number in (0, 1000], got 1e+308")
            self.assertEqual(sorted(rows[0][2]), sorted(bad_ids + [good[1]["id"], good[3]["id"]]))
            self.assertIsNone(s.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s",
                                          (nip(10), period)))
            st = s.status()
            self.assertEqual([(q["employee"], q["period"], q["error"], sorted(q["event_ids"]))
                              for q in st["quarantined"]],
                             [(nip(10), period, rows[0][1], sorted(bad_ids + [good[1]["id"], good[3]["id"]]))])
            table = s.kinerja("status")
            self.assertIn("%s %s" % (nip(10), period), table.stdout)
            self.assertIn(bad_ids[0], table.stdout)
            code, metrics = http_get(port, "/metrics")
            self.assertEqual(gauge(metrics, "kinerja_score_quarantined"), 1.0, metrics)
            # a quarantined result is not a failing period: healthy
            self.assertEqual(http_get(port, "/healthz"), (200, "ok\n"))
            self.assertNotIn("-nan", s.log_text(proc))

            # A corrected input (the same indicators, weight 1) releases it:
            # achievement (1 + 1 + 1) / 3 = 1.0 (each 100 / 100, equal weights).
            fix = [work_result(nip(10), period, "k1", 100, 100), work_result(nip(10), period, "k2", 100, 100)]
            self.send(fix)
            self.stored([e["id"] for e in fix])
            s.wait_for(lambda: s.sql_value("SELECT count(*) FROM score_quarantine") == 0, timeout=TIMEOUT,
                       what="the quarantined result released")
            s.wait_for(lambda: self.computed(period), timeout=TIMEOUT, what="period recomputed")
            r = s.kinerja("score", nip(10), "--period", period, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertAlmostEqual(json.loads(r.stdout)["hasil_kerja"]["achievement"], 1.0, places=4)
            self.assertEqual(s.status()["quarantined"], [])
            s.wait_for(lambda: gauge(http_get(port, "/metrics")[1], "kinerja_score_quarantined") == 0.0,
                       timeout=TIMEOUT, what="kinerja_score_quarantined 0")
        finally:
            s.stop(proc)

    def test_rows_out_of_range_evaluation_and_feedback(self):
        """An evaluation value of 9 and an SKM answer of 9 stored past the broker used to
        fail the whole period (the rater model and the IKM refuse them) on every try.
        Now they set their own result aside and the period is stored."""
        s = self.stack
        period = "2026-08"  # feedback of 2026-08-05 (Asia/Jakarta) belongs to it
        good = [work_result(nip(11), period, "k1", 100, 90)]  # 90 / 100 = 0.9
        self.send(good)
        self.stored([e["id"] for e in good])
        ev_id, fb_id = str(uuid.uuid4()), str(uuid.uuid4())
        s.sql("INSERT INTO ratings (period, employee, rater, relation, vals, unit, ts, event_id)"
              " VALUES (%s, %s, %s, 'supervisor', '{9,4,4,4,4,4,4}', 'UNIT-P', now(), %s)",
              (period, nip(12), nip(1), ev_id))
        s.sql("INSERT INTO feedback (event_id, period, unit, source, ts_ms, respondent, skm)"
              " VALUES (%s, %s, 'UNIT-P', 'survey:t1', 1785888000000, 'citizen', '{9,4,4,4,4,4,4,4,4}')",
              (fb_id, period))
        s.sql("INSERT INTO score_periods AS p (period) VALUES (%s) ON CONFLICT (period) DO UPDATE"
              " SET generation = p.generation + 1, changed_at = now()", (period,))
        proc, port = self.score_worker()
        try:
            s.wait_for(lambda: self.computed(period), timeout=TIMEOUT, what="period %s computed" % period)
            r = s.kinerja("score", nip(11), "--period", period, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertAlmostEqual(json.loads(r.stdout)["hasil_kerja"]["achievement"], 0.9, places=4)
            rows = s.sql("SELECT employee, error, event_ids::text[] FROM score_quarantine WHERE period = %s"
                         " ORDER BY employee", (period,))
            self.assertEqual(rows, [
                (nip(12), "evaluation: behaviour.berorientasi_pelayanan must be an integer 1..5, got 9", [ev_id]),
                ("unit:UNIT-P", "feedback %s: skm.u1 must be an integer 1..4, got 9" % fb_id, []),
            ])
            self.assertEqual(http_get(port, "/healthz"), (200, "ok\n"))
            self.assertEqual(gauge(http_get(port, "/metrics")[1], "kinerja_score_quarantined"), 2.0)
        finally:
            s.stop(proc)
            s.sql("DELETE FROM ratings WHERE event_id = %s", (ev_id,))
            s.sql("DELETE FROM feedback WHERE event_id = %s", (fb_id,))
            s.sql("DELETE FROM score_quarantine WHERE period = %s", (period,))

    def test_failed_transaction_leaves_no_stale_temp_tables(self):
        """The first write transaction of a fresh score worker fails (injected); the next
        computation must succeed. Before the fix: `relation "_score_new" does not exist`
        on every later try, for every period."""
        s = self.stack
        period, other = "2026-05", "2026-06"
        s.sql("CREATE TABLE IF NOT EXISTS test_inject_fail (period text PRIMARY KEY)")
        s.sql("CREATE OR REPLACE FUNCTION test_inject_fail() RETURNS trigger LANGUAGE plpgsql AS $$"
              " BEGIN IF NEW.computed_generation IS DISTINCT FROM OLD.computed_generation"
              " AND EXISTS (SELECT 1 FROM test_inject_fail f WHERE f.period = NEW.period) THEN"
              " RAISE EXCEPTION 'injected failure for period %', NEW.period; END IF; RETURN NEW; END $$")
        s.sql("DROP TRIGGER IF EXISTS test_inject_fail ON score_periods")
        s.sql("CREATE TRIGGER test_inject_fail BEFORE UPDATE ON score_periods FOR EACH ROW"
              " EXECUTE FUNCTION test_inject_fail()")
        s.sql("INSERT INTO test_inject_fail VALUES (%s)", (period,))
        try:
            evs = [work_result(nip(12), period, "k1", 50, 40)]  # 40 / 50 = 0.8
            self.send(evs)
            self.stored([e["id"] for e in evs])
            proc, port = self.score_worker()
            try:
                # it keeps failing: after 3 tries in a row /healthz says 503 and why
                code, body = s.wait_for(
                    lambda: (lambda r: r if r[0] == 503 else None)(http_get(port, "/healthz")),
                    timeout=TIMEOUT, what="/healthz 503")
                self.assertIn("score: period %s failed" % period, body)
                self.assertIn("injected failure for period %s" % period, s.log_text(proc))
                self.assertEqual(gauge(http_get(port, "/metrics")[1], "kinerja_score_failing_periods"), 1.0)
                self.assertFalse(self.computed(period))
                # the fault goes away: the next try computes (the temp tables are made anew)
                s.sql("DELETE FROM test_inject_fail")
                s.wait_for(lambda: self.computed(period), timeout=TIMEOUT, what="period %s computed" % period)
                r = s.kinerja("score", nip(12), "--period", period, "--json")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertAlmostEqual(json.loads(r.stdout)["hasil_kerja"]["achievement"], 0.8, places=4)
                s.wait_for(lambda: http_get(port, "/healthz") == (200, "ok\n"), timeout=TIMEOUT,
                           what="/healthz 200 again")
                # and any other period computes on the same connection
                evs2 = [work_result(nip(12), other, "k1", 10, 10)]
                self.send(evs2)
                self.stored([e["id"] for e in evs2])
                s.wait_for(lambda: self.computed(other), timeout=TIMEOUT, what="period %s computed" % other)
                self.assertNotIn('relation "_score_new" does not exist', s.log_text(proc))

                # A period failing here that is then computed elsewhere (another score
                # worker; here: marked computed in one transaction past the trigger) is
                # not failing any more: /healthz 200 without this worker computing it.
                third = "2026-07"
                s.sql("INSERT INTO test_inject_fail VALUES (%s)", (third,))
                evs3 = [work_result(nip(12), third, "k1", 10, 10)]
                self.send(evs3)
                self.stored([e["id"] for e in evs3])
                code, body = s.wait_for(
                    lambda: (lambda r: r if r[0] == 503 else None)(http_get(port, "/healthz")),
                    timeout=TIMEOUT, what="/healthz 503 for %s" % third)
                self.assertIn("score: period %s failed" % third, body)
                s.sql("DO $$ BEGIN ALTER TABLE score_periods DISABLE TRIGGER test_inject_fail;"
                      " UPDATE score_periods SET computed_generation = generation WHERE period = '%s';"
                      " ALTER TABLE score_periods ENABLE TRIGGER test_inject_fail; END $$" % third)
                s.wait_for(lambda: http_get(port, "/healthz") == (200, "ok\n"), timeout=TIMEOUT,
                           what="/healthz 200 once the period is computed elsewhere")
                self.assertIsNone(s.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s",
                                              (nip(12), third)))
            finally:
                s.stop(proc)
        finally:
            s.sql("DROP TRIGGER IF EXISTS test_inject_fail ON score_periods")


if __name__ == "__main__":
    unittest.main()
