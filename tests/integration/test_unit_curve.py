"""
The organisation predikat and the distribution curve end to end (SPEC 5.10, 9): events go
in through the real broker, the ingest worker stores them, the score worker scores the
period and queues the sign-off requests; `kinerja unit-predikat` sets each unit's
predikat, and the `curve` warning, `kinerja queue`, `kinerja report curve` and
`kinerja status` are checked against hand counts.

Organisation: unit UNIT-C, head HEADC supervising staff C1..C10; unit UNIT-D, head HEADD
supervising D1..D3. The supervisor's own hasil kerja judgement with every BerAKHLAK
value 4 gives the predikat (SPEC 5.4): meets x (meets or above) = Baik, below x (meets
or above) = Butuh Perbaikan, whatever the joint estimate does to the value 4.
  UNIT-C: C1..C8 Baik, C9..C10 Butuh Perbaikan. Set to `baik`: 8 of 10 Baik = 80% > 70%
          breaks baik.max_baik; 2 Butuh Perbaikan >= 1 keeps
          baik.some_butuh_perbaikan_or_kurang.
  UNIT-D: D1..D2 Baik, D3 Butuh Perbaikan. Set to `baik`: 2 of 3 = 67% <= 70% and one
          Butuh Perbaikan: follows its pattern, no warning.
The score worker starts only after every event is stored, so it scores the whole period
at once and every request is queued with the unit's whole distribution in place.
"""

import json
import time
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-04"
TS = 1775606400000  # 2026-04-08T00:00:00Z: inside PERIOD in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 90


def nip(n):
    return "1985020220100230%02d" % n


HEADC, HEADD = nip(1), nip(2)
C = [nip(10 + i) for i in range(1, 11)]
D = [nip(30 + i) for i in range(1, 4)]
HASIL = dict([(n, "meets") for n in C[:8]] + [(n, "below") for n in C[8:]]
             + [(D[0], "meets"), (D[1], "meets"), (D[2], "below")])


def org_csv():
    rows = ["nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala C,UNIT-C,kepala,,admin" % HEADC,
            "%s,Kepala D,UNIT-D,kepala,,admin" % HEADD]
    rows += ["%s,Staf C%d,UNIT-C,staf,%s,admin" % (n, i + 1, HEADC) for i, n in enumerate(C)]
    rows += ["%s,Staf D%d,UNIT-D,staf,%s,admin" % (n, i + 1, HEADD) for i, n in enumerate(D)]
    return "\n".join(rows) + "\n"


def events():
    out = []
    for n, hasil in HASIL.items():
        head = HEADC if n in C else HEADD
        out.append({"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
                    "employee": n, "period": PERIOD, "rater": head, "relation": "supervisor",
                    "behaviour": {k: 4 for k in KEYS}, "hasil_kerja": hasil})
        out.append({"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
                    "employee": n, "period": PERIOD, "indicator": "SKP-1", "target": 10, "realization": 10})
    return out


class UnitCurveTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        stack.start_worker(role="ingest")
        stack.org_import(org_csv())
        for unit in ("UNIT-C", "UNIT-D"):
            r = stack.kinerja("unit-predikat", unit, "--period", PERIOD, "--predikat", "baik")
            assert r.returncode == 0 and "(set)" in r.stdout, r.stdout + r.stderr
        evs = events()
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in evs))
        assert r.returncode == 0 and "accepted=%d" % len(evs) in r.stdout, r.stdout + r.stderr
        time.sleep(0.3)
        stack.wait_for(lambda: stack.status()["pending"] == 0 and stack.sql_value(
            "SELECT count(*) FROM event_log WHERE period = %s", (PERIOD,)) == len(evs),
            timeout=SETTLE_TIMEOUT, what="every event stored")
        stack.start_worker(role="score")
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'",
            (PERIOD,)) == len(HASIL), timeout=SETTLE_TIMEOUT, what="all 13 results pending_signoff")

    def cli(self, *args, expect=0):
        r = self.stack.kinerja(*args)
        self.assertEqual(r.returncode, expect, "kinerja %s -> %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def requests(self, employee):
        rows = self.stack.sql("SELECT payload FROM notifications WHERE kind = 'signoff_requested'"
                              " AND employee = %s AND period = %s ORDER BY created_at", (employee, PERIOD))
        self.assertTrue(rows, "no signoff_requested for %s" % employee)
        return [r[0] for r in rows]

    def results(self):
        return self.stack.sql("SELECT employee, version, predikat, score, digest FROM results"
                              " WHERE period = %s ORDER BY employee", (PERIOD,))

    def curve(self):
        return {u["unit"]: u for u in json.loads(self.cli("report", "curve", "--period", PERIOD,
                                                          "--format", "json").stdout)}

    def test_1_predikat_as_computed(self):
        got = dict(self.stack.sql("SELECT employee, predikat FROM results WHERE period = %s", (PERIOD,)))
        want = {n: "baik" if h == "meets" else "butuh_perbaikan" for n, h in HASIL.items()}
        self.assertEqual(got, want)

    def test_2_warning_on_signoff_requests(self):
        # UNIT-C: 8 of 10 Baik; share (8 x 200 + 10) / 20 = 80 (half up)
        want = "unit UNIT-C (baik) breaks baik.max_baik (at most 70% Baik): 8 of 10 = 80%"
        for n in C:
            p = self.requests(n)[-1]
            self.assertEqual(p["highlights"].get("curve"), want, p)
            # the curve informs: the request carries the computed predikat
            self.assertEqual(p["predikat"], "baik" if HASIL[n] == "meets" else "butuh_perbaikan")
        for n in D:  # 2 of 3 Baik = 67% <= 70%, one Butuh Perbaikan: no warning
            p = self.requests(n)[-1]
            self.assertNotIn("curve", p["highlights"], p)
        # the inbox shows the same payload
        items = json.loads(self.cli("inbox", HEADC, "--json", "--limit", "0").stdout)
        self.assertTrue(any(it["kind"] == "signoff_requested" and it["payload"]["highlights"].get("curve") == want
                            for it in items), items)

    def test_3_queue_names_the_rule(self):
        q = json.loads(self.cli("queue", "--supervisor", HEADC, "--json").stdout)
        self.assertEqual(len(q), 10)
        for e in q:
            self.assertIn("curve: unit UNIT-C (baik) breaks baik.max_baik (at most 70% Baik): 8 of 10 = 80%",
                          e["warnings"], e)
        q = json.loads(self.cli("queue", "--supervisor", HEADD, "--json").stdout)
        self.assertEqual(len(q), 3)
        for e in q:
            self.assertFalse(any(w.startswith("curve") for w in e["warnings"]), e)
        self.assertIn("baik.max_baik", self.cli("queue", "--supervisor", HEADC).stdout)

    def test_4_report_curve(self):
        units = self.curve()
        c = units["UNIT-C"]
        self.assertEqual((c["predikat"], c["results"], c["follows"], c["broken"]),
                         ("baik", 10, False, ["baik.max_baik"]))
        self.assertEqual(c["distribution"], {"sangat_baik": 0, "baik": 8, "butuh_perbaikan": 2, "kurang": 0,
                                             "sangat_kurang": 0})
        rules = {r["rule"]: r for r in c["rules"]}
        self.assertEqual(set(rules), {"baik.max_baik", "baik.some_butuh_perbaikan_or_kurang"})
        self.assertEqual((rules["baik.max_baik"]["count"], rules["baik.max_baik"]["share_pct"],
                          rules["baik.max_baik"]["pass"]), (8, 80, False))
        # 2 Butuh Perbaikan + 0 Kurang = 2 >= 1; share (2 x 200 + 10) / 20 = 20
        r2 = rules["baik.some_butuh_perbaikan_or_kurang"]
        self.assertEqual((r2["count"], r2["share_pct"], r2["pass"]), (2, 20, True))
        d = units["UNIT-D"]
        # 2 of 3 Baik: (2 x 200 + 3) / 6 = 67
        self.assertEqual((d["results"], d["follows"], d["broken"]), (3, True, []))
        self.assertEqual({r["rule"]: r["share_pct"] for r in d["rules"]},
                         {"baik.max_baik": 67, "baik.some_butuh_perbaikan_or_kurang": 33})
        # the other formats name the rules too
        table = self.cli("report", "curve", "--period", PERIOD).stdout
        self.assertIn("baik.max_baik", table)
        self.assertIn("at most 70% Baik", table)
        csv = self.cli("report", "curve", "--period", PERIOD, "--format", "csv").stdout.splitlines()
        self.assertEqual(csv[0], "unit,name,unit_predikat,results,sangat_baik,baik,butuh_perbaikan,kurang,"
                                 "sangat_kurang,rule,requirement,count,share_pct,pass")
        self.assertIn("UNIT-C,,baik,10,0,8,2,0,0,baik.max_baik,at most 70% Baik,8,80,false", csv)
        html = self.cli("report", "curve", "--period", PERIOD, "--format", "html").stdout
        self.assertIn("<td>baik.max_baik</td>", html)
        self.assertEqual(self.stack.status()["curve_units"], 1)
        self.assertRegex(self.cli("status").stdout, r"(?m)^  curve_units +1$")

    def test_5_replace_keeps_history_and_never_changes_a_result(self):
        before = self.results()
        versions = self.stack.sql_value("SELECT count(*) FROM score_versions WHERE period = %s", (PERIOD,))
        # the same predikat again: nothing changes
        r = self.cli("unit-predikat", "UNIT-C", "--period", PERIOD, "--predikat", "baik")
        self.assertIn("UNIT-C %s baik (unchanged)" % PERIOD, r.stdout)
        self.assertIn("baik.max_baik", r.stdout)
        # replaced by istimewa: 0 of 10 Sangat Baik <= 70%: follows
        r = self.cli("unit-predikat", "UNIT-C", "--period", PERIOD, "--predikat", "istimewa", "--note", "LKj 2026")
        self.assertIn("(replaced)", r.stdout)
        self.assertIn("follows", r.stdout)
        hist = self.stack.sql("SELECT predikat, previous, actor, note FROM unit_predikat_history"
                              " WHERE unit = 'UNIT-C' AND period = %s ORDER BY id", (PERIOD,))
        self.assertEqual([(h[0], h[1], h[3]) for h in hist], [("baik", None, None), ("istimewa", "baik", "LKj 2026")])
        self.assertTrue(all(h[2].startswith("cli:") for h in hist), hist)
        c = self.curve()["UNIT-C"]
        self.assertEqual((c["predikat"], c["follows"], [(r["rule"], r["count"]) for r in c["rules"]]),
                         ("istimewa", True, [("istimewa.max_sangat_baik", 0)]))
        self.assertEqual(self.stack.status()["curve_units"], 0)
        # a full recalculation with the curve in place changes no result either
        self.cli("recalc", "--period", PERIOD)
        time.sleep(1.0)
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT count(*) FROM score_periods WHERE generation > computed_generation") == 0,
            timeout=SETTLE_TIMEOUT, what="recalc done")
        self.assertEqual(self.results(), before)
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM score_versions WHERE period = %s", (PERIOD,)),
                         versions)
        # back to baik for the other tests' sake (the order is fixed by the names)
        self.cli("unit-predikat", "UNIT-C", "--period", PERIOD, "--predikat", "baik")

    def test_6_refusals(self):
        r = self.cli("unit-predikat", "UNIT-X", "--period", PERIOD, "--predikat", "baik", expect=1)
        self.assertIn("unit: unknown unit UNIT-X", r.stderr)
        r = self.cli("unit-predikat", "UNIT-C", "--period", PERIOD, "--predikat", "sangat_baik", expect=2)
        self.assertIn("--predikat: must be istimewa", r.stderr)
        r = self.cli("unit-predikat", "UNIT-C", "--period", "2026-13", "--predikat", "baik", expect=2)
        self.assertIn("--period", r.stderr)
        self.cli("unit-predikat", "UNIT-C", "--predikat", "baik", expect=2)
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM unit_predikat WHERE unit = 'UNIT-X'"), 0)


if __name__ == "__main__":
    unittest.main()
