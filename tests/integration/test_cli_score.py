"""
The read side of scoring in the CLI (SPEC 9, SPEC 5): `kinerja score`, `kinerja report
unit|awards|training|public` and `kinerja recalc`, against a real PostgreSQL (and, for
recalc, the real broker and ingest worker).

The score worker is not started: these tests check only what the CLI reads and how it
prints it, so they write `results`, `score_versions` and `unit_scores` rows directly,
with result documents in the shape common/score.c's score_result_json_fields() writes.
"""

import calendar
import csv
import io
import json
import re
import subprocess
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-10"
PERIOD2 = "2026-06"  # awards, public and queue: signed and unsigned results side by side
VALUES = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
RESULT_KEYS = ["predikat", "score", "hasil_kerja", "perilaku", "ikm", "satisfaction", "training", "breakdown"]
PREDIKATS = ["sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang"]
# pending_since (UTC) of the results waiting for sign-off: Asia/Jakarta is UTC+7,
# Asia/Makassar UTC+8.
QUEUE_SINCE = {"d": "2026-07-02 01:30:00+00",   # Jakarta 2026-07-02 08:30, Makassar 09:30
               "g": "2026-11-03 23:30:00+00",   # Jakarta 2026-11-04 06:30, Makassar 07:30
               "b1": "2026-07-01 00:00:00+00"}  # Jakarta 2026-07-01 07:00
ISO_JAKARTA_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def nip(n):
    return "1980010120050110%02d" % n


# Organisation: UNIT-A (head + seven staff), UNIT-B (head + one), UNIT-C (one, no data).
HEAD_A, HEAD_B = nip(1), nip(2)
A = {k: nip(10 + i) for i, k in enumerate("abcdefg")}
B1 = nip(30)
C1 = nip(40)
NAMES = {
    HEAD_A: "Kepala Dinas A", HEAD_B: "Kepala Dinas B", B1: "Budi Bintoro", C1: "Citra Candra",
    A["a"]: "Ani <Anggraini>", A["b"]: "Bayu Wibowo", A["c"]: "Cahya Lestari", A["d"]: "Dewi Sartika",
    A["e"]: "Eko Prasetyo", A["f"]: "Fajar Nugroho", A["g"]: "Gita Permata",
}
UNIT_OF = {HEAD_A: "UNIT-A", HEAD_B: "UNIT-B", B1: "UNIT-B", C1: "UNIT-C"}
UNIT_OF.update({v: "UNIT-A" for v in A.values()})
UNIT_A_NAME = 'Dinas <Kependudukan> & "Capil"'


SEKDA = nip(3)  # in the end-to-end organisation: HEAD_A's supervisor, who decides appeals


def org_csv(with_sekda=False):
    rows = ["nip,name,unit,position,supervisor_nip,job_family"]
    if with_sekda:
        rows.append("%s,Sekretaris Daerah,UNIT-A,sekda,,admin" % SEKDA)
    for n, name in NAMES.items():
        sup = "" if n in (HEAD_A, HEAD_B, C1) else (HEAD_A if UNIT_OF[n] == "UNIT-A" else HEAD_B)
        if n == HEAD_A and with_sekda:
            sup = SEKDA
        rows.append("%s,%s,%s,staff,%s,admin" % (n, name, UNIT_OF[n], sup))
    return "\n".join(rows) + "\n"


def group(n, mean, ci=None, shown=True):
    """A rater group as perilaku.groups shows it (hidden: only "shown": false)."""
    if not shown:
        return {"shown": False}
    return {"shown": True, "n": n, "mean": mean, "ci95": ci}


def result_doc(predikat, score, groups=None, training=(), calibration=False, ikm=None, sat=None,
               achievement=1.05, hasil="meets", from_supervisor=False, perilaku=3.9, perilaku_rating="above",
               self_gap=None, indicators=None):
    """A stored result in the shape of score_result_json_fields() (common/score.c)."""
    groups = groups if groups is not None else {
        "supervisor": group(1, 4.0), "peer": group(3, 3.8, [3.2, 4.4]), "subordinate": None,
        "citizen": None, "self": None}
    values = {k: 3.9 for k in VALUES}
    flagged = {"akuntabel"} if calibration else set()
    detail = {k: {"value": values[k], "before_calibration": values[k], "supervisor_weight": 0.4,
                  "consensus": None, "consensus_n": 0, "calibration": k in flagged,
                  "self_gap": (self_gap or {}).get(k)} for k in VALUES}
    hasil_kerja = {"achievement": achievement, "rating": hasil, "from_supervisor": from_supervisor,
                   "indicators": 3}
    if indicators is not None:  # per-indicator SKP detail (versions written before it have none)
        hasil_kerja["detail"] = [{"indicator": i, "target": t, "realization": r, "direction": d, "weight": w,
                                  "achievement": a} for i, t, r, d, w, a in indicators]
    return {
        "predikat": predikat,
        "score": score,
        "hasil_kerja": hasil_kerja,
        "perilaku": {"value": perilaku, "rating": perilaku_rating, "values": values, "groups": groups},
        "ikm": ikm,
        "satisfaction": sat or {"mean": None, "n": 0, "presses": 0, "repeats": 0},
        "training": [{"value": v, "mean": m, "course": c} for v, m, c in training],
        "breakdown": {
            "format": 1,
            "steps": {"kiosk_misuse": True, "rater_effects": True, "robust_location": True, "credibility": True,
                      "calibration": True, "anonymity": True},
            "params": {"anonymity_min": 3, "training_threshold": 3.0},
            "hasil_kerja": hasil_kerja,
            "groups": groups,
            "values": detail,
            "calibration": calibration,
            "perilaku": {"value": perilaku, "rating": perilaku_rating},
            "score": None if score is None else {"hasil_scaled": 87.5, "perilaku_scaled": 72.5, "value": score},
            "predikat": predikat,
        },
    }


class CliScoreTest(StackTestCase):
    """Redis, PostgreSQL, broker and one ingest worker (for recalc); results written by
    SQL for period PERIOD."""

    stack_options = {"shards": 2}

    @classmethod
    def put_result(cls, stack, employee, doc, version=1, state="pending_signoff", calibration=None,
                   late_events=0, period=PERIOD, revised=None, pending_since=None):
        """A score version and the result row. revised: the predikat an appeal decision
        revised to (results.predikat and revised_predikat, as schemas/0003 leaves them);
        pending_since: a timestamptz text."""
        stack.sql("INSERT INTO score_versions (employee, period, version, predikat, score, result)"
                  " VALUES (%s, %s, %s, %s, %s, %s::jsonb)",
                  (employee, period, version, doc["predikat"], doc["score"], json.dumps(doc)))
        stack.sql("INSERT INTO results (employee, period, state, version, predikat, score, calibration, late_events,"
                  "                     revised_predikat, pending_since)"
                  " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::timestamptz)"
                  " ON CONFLICT (employee, period) DO UPDATE SET state = excluded.state,"
                  "  version = excluded.version, predikat = excluded.predikat, score = excluded.score,"
                  "  calibration = excluded.calibration, late_events = excluded.late_events,"
                  "  revised_predikat = excluded.revised_predikat, pending_since = excluded.pending_since",
                  (employee, period, state, version, revised or doc["predikat"], doc["score"],
                   doc["breakdown"]["calibration"] if calibration is None else calibration, late_events,
                   revised, pending_since))

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.org_import(org_csv())
        stack.sql("UPDATE units SET name = %s WHERE code = 'UNIT-A'", (UNIT_A_NAME,))
        few = {"supervisor": group(1, 4.0), "peer": group(None, None, shown=False), "subordinate": None,
               "citizen": group(40, 3.9, [3.6, 4.2]), "self": group(1, 4.5)}
        cls.docs = {
            # a: two versions; the current (2) has a hidden subordinate group, IKM,
            # satisfaction and a training recommendation with a course.
            "a1": result_doc("butuh_perbaikan", 55.0, hasil="below"),
            "a": result_doc("baik", 90.0,
                            groups={"supervisor": group(1, 4.0), "peer": group(3, 3.8, [3.2, 4.4]),
                                    "subordinate": group(None, None, shown=False), "citizen": None,
                                    "self": group(1, 4.5)},
                            training=[("kompeten", 2.5, "Pelatihan Teknis <Dasar>")],
                            ikm={"value": 87.5, "mutu": "B", "n": 12},
                            sat={"mean": 3.25, "n": 40, "presses": 45, "repeats": 5},
                            self_gap={"kompeten": 0.75}),
            "b": result_doc("baik", 85.0, calibration=True),          # flagged: no award
            "c": result_doc("sangat_baik", 95.0, groups=few),          # 2 raters: no award
            "d": result_doc("baik", 75.0, training=[("harmonis", 2.9, None)]),
            # e: three SKP indicators: K1 110/100 = 1.1 (weight 2), K2 lower is better
            # 20/25 = 0.8, K3 12/12 = 1.0; weighted mean (2 x 1.1 + 0.8 + 1.0) / 4 = 1.0
            "e": result_doc("baik", 70.0, hasil="above", from_supervisor=True, achievement=1.0,
                            indicators=[("K1", 100, 110, "higher_better", 2, 1.1), ("K2", 20, 25, "lower_better", 1, 0.8),
                                    ("K3-PELAYANAN-PUBLIK", 12, 12, "higher_better", 1, 1.0)]),
            "f": result_doc("kurang", 65.0, perilaku_rating="below"),
            "g": result_doc(None, None, perilaku=None, perilaku_rating="none"),  # no score
            "b1": result_doc("sangat_baik", 60.0),
        }
        cls.put_result(stack, A["a"], cls.docs["a1"], version=1)
        cls.put_result(stack, A["a"], cls.docs["a"], version=2, state="approved", late_events=2)
        # signed: a, b, c (approved), d, f (final), e (appealed); not signed: g, B1
        states = {"b": "approved", "c": "approved", "d": "final", "e": "appealed", "f": "final",
                  "g": "pending_signoff"}
        for k in "bcdefg":
            cls.put_result(stack, A[k], cls.docs[k], state=states[k],
                           pending_since=QUEUE_SINCE["g"] if k == "g" else None)
        cls.put_result(stack, B1, cls.docs["b1"], state="collecting")
        # d's sign-off, appeal and decision at fixed times, as schemas/0003 records them
        for frm, to, actor, note, at in (
                ("pending_signoff", "approved", HEAD_A, "sesuai", "2026-11-05 01:30:00+00"),
                ("approved", "appealed", A["d"], "nilai harmonis keliru", "2026-11-06 02:00:00+00"),
                ("appealed", "final", SEKDA, "uphold: sesuai aturan", "2026-11-07 16:59:00+00")):
            stack.sql("INSERT INTO result_audit (employee, period, from_state, to_state, version, actor, note,"
                      "                          event_id, at)"
                      " VALUES (%s, %s, %s, %s, 1, %s, %s, gen_random_uuid(), %s::timestamptz)",
                      (A["d"], PERIOD, frm, to, actor, note, at))

        # PERIOD2, UNIT-A, every result with 4 non-self raters (supervisor 1 + peer 3), no
        # calibration flag. Signed: a (butuh_perbaikan, 95: achievement 1.2, hasil below),
        # b (baik 70, final), e (kurang 85 revised on appeal to baik, final), g (sangat_baik
        # 40, appealed), HEAD_A (baik 65, final). Not signed: c (sangat_baik 60,
        # collecting), d (baik 80, pending_signoff), f (sangat_kurang 50, returned).
        p2 = {
            "a": (result_doc("butuh_perbaikan", 95.0, achievement=1.2, hasil="below"), "approved", None),
            "b": (result_doc("baik", 70.0), "final", None),
            "e": (result_doc("kurang", 85.0, perilaku_rating="below"), "final", "baik"),
            "g": (result_doc("sangat_baik", 40.0), "appealed", None),
            "c": (result_doc("sangat_baik", 60.0), "collecting", None),
            "d": (result_doc("baik", 80.0), "pending_signoff", None),
            "f": (result_doc("sangat_kurang", 50.0, hasil="below", perilaku_rating="below"), "returned", None),
        }
        cls.docs2 = {k: v[0] for k, v in p2.items()}
        for k, (doc, state, revised) in p2.items():
            cls.put_result(stack, A[k], doc, state=state, revised=revised, period=PERIOD2,
                           pending_since=QUEUE_SINCE["d"] if k == "d" else None)
        cls.put_result(stack, HEAD_A, result_doc("baik", 65.0), state="final", period=PERIOD2)
        # B1 (supervisor HEAD_B) waits in PERIOD2 with every warning: calibration flagged on
        # akuntabel, peer and subordinate groups hidden, two late events.
        hidden = {"supervisor": group(1, 4.0), "peer": group(None, None, shown=False),
                  "subordinate": group(None, None, shown=False), "citizen": None, "self": None}
        cls.put_result(stack, B1, result_doc("baik", 72.5, groups=hidden, calibration=True), late_events=2,
                       period=PERIOD2, pending_since=QUEUE_SINCE["b1"])
        stack.sql("INSERT INTO unit_scores (period, unit, ikm, mutu, skm_n, satisfaction, presses, repeats, counted)"
                  " VALUES (%s, 'UNIT-A', 87.5, 'B', 12, 3.25, 45, 5, 40),"
                  "        (%s, 'UNIT-B', NULL, NULL, 0, 2.5, 4, 0, 4)", (PERIOD, PERIOD))

    def run_ok(self, *args, **kw):
        r = self.stack.kinerja(*args, **kw)
        self.assertEqual(r.returncode, 0, "kinerja %s: %s" % (" ".join(args), r.stderr))
        self.assertNotIn("ERROR: AddressSanitizer", r.stderr)
        return r

    # ---- kinerja score ---------------------------------------------------------------

    def test_score_json_is_spec_shape_with_stored_members(self):
        r = self.run_ok("score", A["a"], "--period", PERIOD, "--json")
        out = json.loads(r.stdout)
        self.assertEqual(list(out)[:4], ["employee", "period", "version", "state"])
        self.assertEqual(sorted(list(out)[4:-3]), sorted(RESULT_KEYS))  # the stored members, spliced
        self.assertEqual(list(out)[-3:], ["history", "comments", "time_zone"])
        self.assertEqual(out["time_zone"], "Asia/Jakarta")
        self.assertEqual((out["employee"], out["period"], out["version"], out["state"]),
                         (A["a"], PERIOD, 2, "approved"))
        self.assertEqual({k: out[k] for k in RESULT_KEYS}, self.docs["a"])
        for key in ("achievement", "rating"):
            self.assertIn(key, out["hasil_kerja"])
        for key in ("value", "rating", "values", "groups"):
            self.assertIn(key, out["perilaku"])

    def test_score_older_version(self):
        r = self.run_ok("score", A["a"], "--period", PERIOD, "--json", "--version", "1")
        out = json.loads(r.stdout)
        self.assertEqual((out["version"], out["state"], out["predikat"], out["score"]),
                         (1, "approved", "butuh_perbaikan", 55.0))
        r = self.run_ok("score", A["a"], "--period", PERIOD, "--version", "1")
        self.assertRegex(r.stdout, r"Version\s+1 \(the current one is 2\)")
        self.assertIn("Butuh Perbaikan", r.stdout)

    def test_score_table_shows_every_part(self):
        r = self.run_ok("score", A["a"], "--period", PERIOD)
        t = r.stdout
        for part in (NAMES[A["a"]], A["a"], "UNIT-A", PERIOD, "approved", "2 (current)"):
            self.assertIn(part, t)
        self.assertRegex(t, r"Predikat\s+Baik\n")
        self.assertRegex(t, r"Score\s+90\.00 of 100")
        # hasil kerja: achievement 1.05 = 105%, rating computed
        self.assertRegex(t, r"achievement\s+105\.00% over 3 indicators")
        self.assertRegex(t, r"rating\s+meets \(computed from the achievement\)")
        # perilaku: value, rating, every BerAKHLAK value, the self gap of kompeten
        self.assertRegex(t, r"value\s+3\.90\n\s+rating\s+above")
        for v in VALUES:
            self.assertRegex(t, r"\n\s+%s\s+3\.90" % v)
        self.assertRegex(t, r"kompeten\s+3\.90\s+\+0\.75")
        # groups with n / mean / interval; the hidden one says so; absent ones too
        self.assertRegex(t, r"supervisor\s+n 1\s+mean 4\.00")
        self.assertRegex(t, r"peer\s+n 3\s+mean 3\.80\s+95% interval 3\.20 \.\. 4\.40")
        self.assertRegex(t, r"subordinate\s+hidden \(fewer than 3 ratings\)")
        self.assertRegex(t, r"citizen\s+no ratings")
        self.assertRegex(t, r"Calibration\s+not flagged")
        self.assertRegex(t, r"IKM\s+87\.50 \(mutu B Baik, 12 SKM responses\)")
        self.assertRegex(t, r"Satisfaction\s+3\.25 of 4 \(40 counted; 45 presses, 5 repeats\)")
        self.assertIn("kompeten (mean 2.50): Pelatihan Teknis <Dasar>", t)
        self.assertRegex(t, r"Late events\s+2 ")

    def test_score_history_json_and_table(self):
        # d (PERIOD) has its version 1 and creation (now) and the sign-off, appeal and
        # decision rows written in setup at fixed times (UTC): approved 2026-11-05 01:30,
        # appealed 2026-11-06 02:00, decided 2026-11-07 16:59 (Jakarta +7: 23:59).
        out = json.loads(self.run_ok("score", A["d"], "--period", PERIOD, "--json").stdout)
        h = out["history"]
        self.assertEqual([e["what"] for e in h], ["approved", "appealed", "decided", "version", "created"])
        ap, appeal, dec, ver, created = h
        self.assertEqual((ap["from"], ap["to"], ap["version"], ap["actor"], ap["note"], ap["at"]),
                         ("pending_signoff", "approved", 1, HEAD_A, "sesuai", "2026-11-05T08:30:00+07:00"))
        self.assertEqual((appeal["actor"], appeal["reason"], appeal["at"]),
                         (A["d"], "nilai harmonis keliru", "2026-11-06T09:00:00+07:00"))
        self.assertEqual((dec["decider"], dec["decision"], dec["decision_note"], dec["at"]),
                         (SEKDA, "uphold", "sesuai aturan", "2026-11-07T23:59:00+07:00"))
        self.assertNotIn("predikat", dec)  # upheld: no revised predikat
        self.assertEqual((ver["version"], ver["predikat"], ver["score"]), (1, "baik", 75.0))
        self.assertRegex(ver["at"], ISO_JAKARTA_RE)
        self.assertEqual((created["from"], created["to"]), (None, "final"))
        t = self.run_ok("score", A["d"], "--period", PERIOD).stdout
        self.assertIn("\nHistory (times in Asia/Jakarta)\n", t)
        self.assertIn("  2026-11-05 08:30  version 1 approved (signed) by %s: sesuai\n" % HEAD_A, t)
        self.assertIn("  2026-11-06 09:00  appeal (keberatan) filed against version 1 by %s, reason: "
                      "nilai harmonis keliru\n" % A["d"], t)
        self.assertIn("  2026-11-07 23:59  appeal decided by %s: uphold: sesuai aturan\n" % SEKDA, t)
        self.assertRegex(t, r"  \d{4}-\d\d-\d\d \d\d:\d\d  version 1 computed: Baik, score 75\.00\n")
        self.assertRegex(t, r"Version\s+1 \(current\), computed \d{4}-\d\d-\d\d \d\d:\d\d \(Asia/Jakarta\)")

    def test_times_in_time_zone(self):
        # Asia/Makassar is UTC+8: the decision of 2026-11-07 16:59 UTC falls on the 8th
        # there, 00:59; d's queue entry (2026-07-02 01:30 UTC) shows 09:30.
        mks = {"KINERJA_TIME_ZONE": "Asia/Makassar"}
        out = json.loads(self.run_ok("score", A["d"], "--period", PERIOD, "--json", env=mks).stdout)
        self.assertEqual(out["time_zone"], "Asia/Makassar")
        dec = [e for e in out["history"] if e["what"] == "decided"][0]
        self.assertEqual(dec["at"], "2026-11-08T00:59:00+08:00")
        t = self.run_ok("score", A["d"], "--period", PERIOD, env=mks).stdout
        self.assertIn("History (times in Asia/Makassar)", t)
        self.assertIn("  2026-11-08 00:59  appeal decided by %s" % SEKDA, t)
        q = json.loads(self.run_ok("queue", "--supervisor", HEAD_A, "--json", env=mks).stdout)
        self.assertEqual(q[0]["pending_since"], "2026-07-02T09:30:00+08:00")
        t = self.run_ok("queue", "--supervisor", HEAD_A, env=mks).stdout
        self.assertIn("(times in Asia/Makassar)", t)
        self.assertIn("waiting since 2026-07-02 09:30", t)
        # a zone PostgreSQL does not know: exit 1, naming the setting
        for args in (("score", A["d"], "--period", PERIOD), ("queue", "--supervisor", HEAD_A)):
            r = self.stack.kinerja(*args, env={"KINERJA_TIME_ZONE": "Mars/Olympus"})
            self.assertEqual(r.returncode, 1, args)
            self.assertIn("time.zone: PostgreSQL does not know 'Mars/Olympus'", r.stderr)

    def test_score_table_calibration_and_supervisor_judgement(self):
        t = self.run_ok("score", A["b"], "--period", PERIOD).stdout
        self.assertRegex(t, r"Calibration\s+flagged")
        self.assertRegex(t, r"akuntabel\s+3\.90\s+-\s+flagged")
        t = self.run_ok("score", A["e"], "--period", PERIOD).stdout
        self.assertRegex(t, r"rating\s+above \(the supervisor's judgement\)")
        # the per-indicator SKP detail, under the rating
        self.assertRegex(t, r"indicator\s+target\s+realization\s+direction\s+weight\s+achievement\n"
                            r"\s+K1\s+100\.00\s+110\.00\s+higher_better\s+2\.00\s+110\.00%\n"
                            r"\s+K2\s+20\.00\s+25\.00\s+lower_better\s+1\.00\s+80\.00%\n"
                            r"\s+K3-PELAYANAN-PUBLIK\s+12\.00\s+12\.00\s+higher_better\s+1\.00\s+100\.00%\n")
        self.assertRegex(t, r"achievement\s+100\.00% over 3 indicators")
        out = json.loads(self.run_ok("score", A["e"], "--period", PERIOD, "--json").stdout)
        self.assertEqual(out["hasil_kerja"]["detail"][1], {"indicator": "K2", "target": 20, "realization": 25,
                                                           "direction": "lower_better", "weight": 1,
                                                           "achievement": 0.8})
        # a version without the detail (written before it existed) prints no indicator table
        t = self.run_ok("score", A["a"], "--period", PERIOD, "--version", "1").stdout
        self.assertNotIn("realization", t)
        t = self.run_ok("score", A["g"], "--period", PERIOD).stdout
        self.assertRegex(t, r"Predikat\s+not decided yet")
        self.assertRegex(t, r"Score\s+- ")

    def test_score_unknown_nip_or_no_result_is_exit_1(self):
        s = self.stack
        r = s.kinerja("score", nip(99), "--period", PERIOD, "--json")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("unknown NIP %s" % nip(99), r.stderr)
        r = s.kinerja("score", C1, "--period", PERIOD)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no result for period %s" % PERIOD, r.stderr)
        r = s.kinerja("score", A["a"], "--period", "2026-09", "--json")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no result", r.stderr)
        r = s.kinerja("score", A["a"], "--period", PERIOD, "--version", "7")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no version 7", r.stderr)

    def test_bad_usage_is_exit_2(self):
        s = self.stack
        for args in (("score", A["a"]),                              # no --period
                     ("score", "--period", PERIOD),                   # no NIP
                     ("score", "12345", "--period", PERIOD),          # not a NIP
                     ("score", A["a"], "--period", "2026-13"),        # not a period
                     ("score", A["a"], "--period", PERIOD, "--version", "0"),
                     ("score", A["a"], "--period", PERIOD, "--bogus"),
                     ("report", "--period", PERIOD),                  # which report?
                     ("report", "people", "--period", PERIOD),
                     ("report", "unit"),
                     ("report", "unit", "--period", PERIOD, "--format", "xml"),
                     ("report", "unit", "--period", PERIOD, "--top", "2"),
                     ("report", "awards", "--period", PERIOD, "--top", "0"),
                     ("recalc", "--period", "26-11"),
                     ("recalc", "--employee", "42"),
                     ("recalc", "extra")):
            r = s.kinerja(*args)
            self.assertEqual(r.returncode, 2, "kinerja %s -> %d: %s" % (" ".join(args), r.returncode, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
        for cmd in ("score", "report", "recalc"):
            r = self.run_ok(cmd, "--help")
            self.assertIn("usage: kinerja " + cmd, r.stdout)
        self.assertIn("Trustworthy", self.run_ok("report", "--help").stdout)

    # ---- kinerja report unit ---------------------------------------------------------

    def test_report_unit_json(self):
        r = self.run_ok("report", "unit", "--period", PERIOD, "--format", "json")
        self.assertIn('"value":87.50', r.stdout.replace(" ", ""))
        rows = json.loads(r.stdout)
        self.assertEqual([u["unit"] for u in rows], ["UNIT-A", "UNIT-B", "UNIT-C"])
        a, b, c = rows
        self.assertEqual(a["ikm"], {"value": 87.5, "mutu": "B", "n": 12})
        self.assertEqual(a["satisfaction"], {"mean": 3.25, "n": 40})
        # UNIT-A: a baik, b baik, c sangat_baik, d baik, e baik, f kurang, g none
        self.assertEqual(a["predikat"], {"sangat_baik": 1, "baik": 4, "butuh_perbaikan": 0, "kurang": 1,
                                         "sangat_kurang": 0})
        self.assertIsNone(b["ikm"])
        self.assertEqual(b["satisfaction"], {"mean": 2.5, "n": 4})
        self.assertEqual(b["predikat"]["sangat_baik"], 1)
        self.assertIsNone(c["ikm"])
        self.assertEqual(c["satisfaction"], {"mean": None, "n": 0})
        self.assertEqual(c["predikat"], {k: 0 for k in PREDIKATS})
        # other periods: every unit, nothing in them
        rows = json.loads(self.run_ok("report", "unit", "--period", "2025", "--format", "json").stdout)
        self.assertEqual(len(rows), 3)
        self.assertTrue(all(u["ikm"] is None and u["predikat"] == {k: 0 for k in PREDIKATS} for u in rows))

    def test_report_unit_csv_table_html(self):
        r = self.run_ok("report", "unit", "--period", PERIOD, "--format", "csv")
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        self.assertEqual([row["unit"] for row in rows], ["UNIT-A", "UNIT-B", "UNIT-C"])
        self.assertEqual(rows[0]["name"], UNIT_A_NAME)  # quotes and commas survive CSV quoting
        self.assertEqual((rows[0]["ikm"], rows[0]["mutu"], rows[0]["ikm_n"]), ("87.50", "B", "12"))
        self.assertEqual((rows[0]["baik"], rows[0]["kurang"]), ("4", "1"))
        self.assertEqual(rows[2]["ikm"], "")

        t = self.run_ok("report", "unit", "--period", PERIOD).stdout
        self.assertRegex(t, r"UNIT-A\s+Dinas <Kependudukan> & \"Capil\"\s+87\.50\s+B\s+12\s+3\.25\s+40\s+7\s+1\s+4\s+0\s+1\s+0")
        self.assertRegex(t, r"UNIT-C\s+-\s+-\s+-\s+0\s+-\s+0\s+0")

        h = self.run_ok("report", "unit", "--period", PERIOD, "--format", "html").stdout
        self.assertTrue(h.startswith("<!DOCTYPE html>"))
        self.assertIn("</html>", h)
        self.assertIn("Dinas &lt;Kependudukan&gt; &amp; &quot;Capil&quot;", h)
        self.assertNotIn("<Kependudukan>", h)
        self.assertIn("87.50", h)

    # ---- kinerja report awards / training / public -----------------------------------

    def test_report_awards_takes_only_trustworthy_results(self):
        rows = json.loads(self.run_ok("report", "awards", "--period", PERIOD, "--format", "json").stdout)
        got = [(row["unit"], row["rank"], row["employee"], row["score"]) for row in rows]
        # c (95, only 2 raters) and b (85, calibration) are passed over; g has no score
        # (and is not signed); B1 (collecting) is not signed: UNIT-B has no award.
        self.assertEqual(got, [("UNIT-A", 1, A["a"], 90.0), ("UNIT-A", 2, A["d"], 75.0),
                               ("UNIT-A", 3, A["e"], 70.0)])
        self.assertEqual(rows[0]["name"], NAMES[A["a"]])
        self.assertEqual(rows[0]["raters"], 5)  # supervisor 1 + peer 3 + hidden subordinate >= 1
        self.assertTrue(all(row["signed"] is True for row in rows))
        rows = json.loads(self.run_ok("report", "awards", "--period", PERIOD, "--top", "1",
                                      "--format", "json").stdout)
        self.assertEqual([row["employee"] for row in rows], [A["a"]])
        h = self.run_ok("report", "awards", "--period", PERIOD, "--format", "html").stdout
        self.assertIn("Ani &lt;Anggraini&gt;", h)
        self.assertNotIn("<Anggraini>", h)
        t = self.run_ok("report", "awards", "--period", PERIOD).stdout
        self.assertNotIn(A["f"], t)  # kurang 65: fourth trustworthy signed result in UNIT-A, beyond the top 3
        self.assertNotIn(A["c"], t)
        self.assertNotIn(B1, t)

    def test_report_awards_rank_predikat_first_among_signed(self):
        # SPEC 5.5: predikat first, then score, signed results only. PERIOD2 UNIT-A signed:
        # g sangat_baik 40; baik: e 85 (revised from kurang), b 70, HEAD_A 65; a
        # butuh_perbaikan 95. By score alone a (95, achievement 1.2) would lead and the
        # unsigned d (80) and c (60) would be among them.
        rows = json.loads(self.run_ok("report", "awards", "--period", PERIOD2, "--top", "10",
                                      "--format", "json").stdout)
        got = [(row["rank"], row["employee"], row["predikat"], row["score"], row["state"], row["signed"])
               for row in rows]
        self.assertEqual(got, [(1, A["g"], "sangat_baik", 40.0, "appealed", True),
                               (2, A["e"], "baik", 85.0, "final", True),
                               (3, A["b"], "baik", 70.0, "final", True),
                               (4, HEAD_A, "baik", 65.0, "final", True),
                               (5, A["a"], "butuh_perbaikan", 95.0, "approved", True)])
        t = self.run_ok("report", "awards", "--period", PERIOD2).stdout
        self.assertIn("among signed results", t)
        for k in "cdf":
            self.assertNotIn(A[k], t)

    def test_report_awards_provisional_lists_unsigned_apart(self):
        # Not signed in PERIOD2: c sangat_baik 60 (collecting), d baik 80 (pending_signoff),
        # f sangat_kurang 50 (returned): predikat order c, d, f.
        rows = json.loads(self.run_ok("report", "awards", "--period", PERIOD2, "--provisional", "--top", "10",
                                      "--format", "json").stdout)
        got = [(row["rank"], row["employee"], row["state"], row["signed"]) for row in rows]
        self.assertEqual(got, [(1, A["c"], "collecting", False), (2, A["d"], "pending_signoff", False),
                               (3, A["f"], "returned", False)])
        t = self.run_ok("report", "awards", "--period", PERIOD2, "--provisional").stdout
        self.assertIn("PROVISIONAL", t)
        self.assertIn("NOT SIGNED", t)
        self.assertRegex(t, r"%s\s+.*\s+no\n" % A["c"])
        for k in ("a", "b", "e", "g"):
            self.assertNotIn(A[k], t)
        r = self.stack.kinerja("report", "unit", "--period", PERIOD2, "--provisional")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--provisional applies to the awards report only", r.stderr)

    def test_report_public_counts_signed_results_only(self):
        # PERIOD2 UNIT-A signed: a butuh_perbaikan, b baik, e baik (revised from kurang), g
        # sangat_baik, HEAD_A baik = 5 signed (the minimum to show), so sangat_baik 1,
        # baik 3, butuh_perbaikan 1, kurang 0 (e was revised), sangat_kurang 0 (f returned).
        # Counting every current result would give sangat_baik 2 (c), baik 4 (d),
        # sangat_kurang 1 (f).
        rows = json.loads(self.run_ok("report", "public", "--period", PERIOD2, "--format", "json").stdout)
        a = rows[0]
        self.assertEqual(a["unit"], "UNIT-A")
        self.assertEqual(a["predikat_basis"], "signed")
        self.assertEqual(a["signed_results"], 5)
        self.assertEqual(a["predikat"], {"sangat_baik": 1, "baik": 3, "butuh_perbaikan": 1, "kurang": 0,
                                         "sangat_kurang": 0})
        t = self.run_ok("report", "public", "--period", PERIOD2).stdout
        self.assertIn("signed results only", t.splitlines()[0])
        self.assertRegex(t, r"UNIT-A\s.*\s5\s+1\s+3\s+1\s+0\s+0\n")
        # the internal unit report still counts every current result (8 with a version)
        u = json.loads(self.run_ok("report", "unit", "--period", PERIOD2, "--format", "json").stdout)[0]
        self.assertEqual((u["results"], u["signed_results"]), (8, 5))
        self.assertEqual(u["predikat"], {"sangat_baik": 2, "baik": 4, "butuh_perbaikan": 1, "kurang": 0,
                                         "sangat_kurang": 1})

    def test_report_training(self):
        rows = json.loads(self.run_ok("report", "training", "--period", PERIOD, "--format", "json").stdout)
        self.assertEqual(rows, [
            {"employee": A["a"], "name": NAMES[A["a"]], "unit": "UNIT-A", "value": "kompeten", "mean": 2.5,
             "course": "Pelatihan Teknis <Dasar>"},
            {"employee": A["d"], "name": NAMES[A["d"]], "unit": "UNIT-A", "value": "harmonis", "mean": 2.9,
             "course": None},
        ])
        rows = list(csv.DictReader(io.StringIO(self.run_ok("report", "training", "--period", PERIOD,
                                                            "--format", "csv").stdout)))
        self.assertEqual([(r["employee"], r["value"], r["mean"], r["course"]) for r in rows],
                         [(A["a"], "kompeten", "2.50", "Pelatihan Teknis <Dasar>"), (A["d"], "harmonis", "2.90", "")])

    def test_report_public_has_no_personal_data_and_suppresses_small_units(self):
        rows = json.loads(self.run_ok("report", "public", "--period", PERIOD, "--format", "json").stdout)
        self.assertEqual([u["unit"] for u in rows], ["UNIT-A", "UNIT-B", "UNIT-C"])
        a, b, c = rows
        self.assertEqual(a["ikm"], {"value": 87.5, "mutu": "B", "n": 12})
        self.assertEqual(a["predikat"]["baik"], 4)   # six signed results: shown
        self.assertIsNone(b["predikat"])             # one result: suppressed
        self.assertIsNone(c["predikat"])
        for fmt in ("json", "csv", "table", "html"):
            out = self.run_ok("report", "public", "--period", PERIOD, "--format", fmt).stdout
            for n, name in NAMES.items():
                self.assertNotIn(n, out, fmt)
                self.assertNotIn(name.split()[0].strip("<>"), out, fmt)
            self.assertNotIn("Pelatihan", out, fmt)
        t = self.run_ok("report", "public", "--period", PERIOD).stdout
        # UNIT-B: B1 is collecting, so no signed result (0) and no distribution
        self.assertRegex(t, r"UNIT-B\s+-\s+-\s+-\s+0\s+2\.50\s+4\s+0\s+-\s+-\s+-\s+-\s+-")
        self.assertIn("suppressed", t)

    # ---- kinerja queue -----------------------------------------------------------------

    def test_queue_oldest_first_with_warnings(self):
        # HEAD_A's queue: d of PERIOD2 (waiting since 2026-07-02 01:30 UTC) before g of
        # PERIOD (2026-11-03 23:30 UTC); results of HEAD_A's staff that are signed,
        # collecting or returned are not in it.
        rows = json.loads(self.run_ok("queue", "--supervisor", HEAD_A, "--json").stdout)
        self.assertEqual([(q["employee"], q["period"], q["version"]) for q in rows],
                         [(A["d"], PERIOD2, 1), (A["g"], PERIOD, 1)])
        d, g = rows
        self.assertEqual((d["name"], d["unit"], d["predikat"], d["score"]), (NAMES[A["d"]], "UNIT-A", "baik", 80.0))
        self.assertEqual(d["pending_since"], "2026-07-02T08:30:00+07:00")
        self.assertEqual((d["calibration"], d["warnings"]), (False, []))
        self.assertEqual(d["highlights"]["groups_hidden"], [])
        self.assertEqual((g["predikat"], g["score"], g["pending_since"]), (None, None, "2026-11-04T06:30:00+07:00"))
        # HEAD_B's queue: B1 with every warning, from kinerja_signoff_highlights
        rows = json.loads(self.run_ok("queue", "--supervisor", HEAD_B, "--json").stdout)
        self.assertEqual(len(rows), 1)
        b = rows[0]
        self.assertEqual((b["employee"], b["period"], b["predikat"], b["score"], b["calibration"]),
                         (B1, PERIOD2, "baik", 72.5, True))
        self.assertEqual(b["highlights"]["calibration_values"], ["akuntabel"])
        self.assertEqual(b["highlights"]["groups_hidden"], ["peer", "subordinate"])
        self.assertEqual(b["highlights"]["late_events"], 2)
        self.assertEqual(b["warnings"], ["calibration flagged on akuntabel", "hidden rater groups: peer, subordinate",
                                         "2 late events"])
        t = self.run_ok("queue", "--supervisor", HEAD_A).stdout
        self.assertIn("Sign-off queue of %s, oldest first (times in Asia/Jakarta)" % HEAD_A, t)
        self.assertLess(t.index(A["d"]), t.index(A["g"]))
        self.assertRegex(t, r"1\. waiting since 2026-07-02 08:30  Dewi Sartika \(%s\), UNIT-A\n"
                            r"\s+period %s, version 1, predikat Baik, score 80\.00\n\s+warnings: none" % (A["d"], PERIOD2))
        self.assertRegex(t, r"2\. waiting since 2026-11-04 06:30 .*\n\s+period %s, version 1, predikat not decided,"
                            r" score -" % PERIOD)
        self.assertIn("2 results waiting.", t)
        t = self.run_ok("queue", "--supervisor", HEAD_B).stdout
        self.assertIn("warnings: calibration flagged on akuntabel; hidden rater groups: peer, subordinate; "
                      "2 late events", t)

    def test_queue_empty_and_evaluator_ids(self):
        # nobody reports to A["a"]; an evaluator who is not ASN has an id of any form
        for who in (A["a"], "bupati-kupang", "x" * 64):
            t = self.run_ok("queue", "--supervisor", who).stdout
            self.assertIn("No results are waiting for the sign-off of %s." % who, t)
            self.assertEqual(json.loads(self.run_ok("queue", "--supervisor", who, "--json").stdout), [])

    def test_queue_usage_is_exit_2(self):
        for args in (("queue",), ("queue", "--supervisor"), ("queue", "--supervisor", ""),
                     ("queue", "--supervisor", "x" * 65), ("queue", "--supervisor", "a\tb"),
                     ("queue", "--supervisor", HEAD_A, "--bogus"), ("queue", HEAD_A)):
            r = self.stack.kinerja(*args)
            self.assertEqual(r.returncode, 2, "kinerja %s -> %d: %s" % (" ".join(args), r.returncode, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
        self.assertIn("usage: kinerja queue --supervisor ID", self.run_ok("queue", "--help").stdout)

    # ---- kinerja recalc ----------------------------------------------------------------

    def test_recalc_is_accepted_and_requested(self):
        s = self.stack
        r = self.run_ok("recalc", "--period", "2026-11")
        line = r.stdout.strip()
        self.assertTrue(line.endswith(" accepted"), line)
        event_id = line.split()[0]
        self.assertRegex(event_id, UUID_RE)
        row = s.wait_for(lambda: s.sql("SELECT period, unit, employee FROM recalc_requests WHERE event_id = %s",
                                       (event_id,)), what="the recalc request in recalc_requests")
        self.assertEqual(row, [("2026-11", None, None)])
        self.assertEqual(s.sql("SELECT type, source FROM event_log WHERE id = %s", (event_id,)),
                         [("recalc", "cli:recalc")])

        r = self.run_ok("recalc", "--period", PERIOD, "--unit", "UNIT-B", "--employee", B1)
        event_id = r.stdout.split()[0]
        row = s.wait_for(lambda: s.sql("SELECT period, unit, employee FROM recalc_requests WHERE event_id = %s",
                                       (event_id,)), what="the scoped recalc request")
        self.assertEqual(row, [(PERIOD, "UNIT-B", B1)])

    def test_recalc_without_broker_is_exit_1(self):
        from harness import free_port
        r = self.stack.kinerja("recalc", "--timeout", "2",
                               env={"KINERJA_INTAKE_ENDPOINT": "tcp://127.0.0.1:%d" % free_port()})
        self.assertEqual(r.returncode, 1)
        self.assertIn("no ack", r.stderr)
        self.assertNotIn("accepted", r.stdout)


# Cells a spreadsheet would run as a formula (OWASP "CSV injection"): names that begin
# with = + - @, a tab or a carriage return. The tab and CR ones are set by SQL, since
# `kinerja org import` trims blanks around a field.
FORMULA_NAMES = {
    nip(50): '=HYPERLINK("http://x","y")',
    nip(51): "+1+1",
    nip(52): "-2+3",
    nip(53): "@SUM(A1:A9)",
    nip(54): "-0.5",  # text that looks like a number is still text (the name of a person)
    nip(55): "\t=1+1",
    nip(56): "\r=1+1",
}
FORMULA_LEADS = "=+-@\t\r"
FORMULA_UNIT_NAME = "=cmd|' /C calc'!A0"
PLAIN_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


class ReportCsvInjectionTest(StackTestCase):
    """`kinerja report ... --format csv` (every CSV the CLI writes) neutralises text
    cells that begin with = + - @, tab or CR: a single quote in front, the cell quoted
    (OWASP). Number cells, which the report formats itself, stay numbers, negative
    ones included. PostgreSQL only: the organisation through `kinerja org import`, the
    results written by SQL as in CliScoreTest."""

    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_postgres()
        stack.migrate()
        head = nip(49)
        rows = ["nip,name,unit,position,supervisor_nip,job_family", "%s,Kepala Unit,UNIT-X,head,,admin" % head]
        for n, name in FORMULA_NAMES.items():
            if name[0] in "\t\r":
                name = "placeholder"
            rows.append('%s,"%s",UNIT-X,staff,%s,admin' % (n, name.replace('"', '""'), head))
        stack.org_import("\n".join(rows) + "\n")
        for n, name in FORMULA_NAMES.items():
            if name[0] in "\t\r":
                stack.sql("UPDATE employees SET name = %s WHERE nip = %s", (name, n))
        stack.sql("UPDATE units SET name = %s WHERE code = 'UNIT-X'", (FORMULA_UNIT_NAME,))
        # every one signed and trustworthy (supervisor 1 + peer 3), so the awards list them
        # all; nip(52) has a training recommendation whose mean is negative: a number cell
        for i, n in enumerate(FORMULA_NAMES):
            training = [("kompeten", -0.5, "=HYPERLINK(\"http://x\",\"kursus\")")] if n == nip(52) else ()
            CliScoreTest.put_result(stack, n, result_doc("baik", 80.0 - i, training=training), state="approved")

    def csv_of(self, *args):
        """The raw CSV text (bytes decoded as they are: a text-mode pipe would turn the
        CR of a cell and the CRLF of RFC 4180 into LF) and its rows."""
        r = subprocess.run([self.stack._bin("kinerja"), "report", *args, "--period", PERIOD, "--format", "csv"],
                           capture_output=True, env=self.stack.env, cwd=self.stack.tmp, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        raw = r.stdout.decode()
        self.assertTrue(raw.endswith("\r\n"), raw[-40:])
        return raw, list(csv.reader(io.StringIO(raw, newline="")))

    def assert_no_formula_cell(self, rows, number_cols):
        header = rows[0]
        for row in rows[1:]:
            for name, cell in zip(header, row):
                if name in number_cols and PLAIN_NUMBER_RE.match(cell):
                    continue
                self.assertFalse(cell and cell[0] in FORMULA_LEADS, "%s cell %r would run as a formula" % (name, cell))

    def test_awards_csv_neutralises_formula_names(self):
        raw, rows = self.csv_of("awards", "--top", "10")
        header = rows[0]
        got = {r[header.index("employee")]: r[header.index("name")] for r in rows[1:]}
        self.assertEqual(got, {n: "'" + name for n, name in FORMULA_NAMES.items()})
        # on the wire: quote added in front and the cell quoted, its quotes doubled
        self.assertIn(',"\'=HYPERLINK(""http://x"",""y"")",', raw)
        self.assertIn(',"\'+1+1",', raw)
        self.assertIn(',"\'-0.5",', raw)
        self.assertIn(',"\'\r=1+1",', raw)
        self.assertNotIn(",=HYPERLINK", raw)
        # numbers stay numbers: score 80.00 .. 74.00, rank 1..7, raters 4
        self.assertEqual([r[header.index("score")] for r in rows[1:]], ["%.2f" % (80 - i) for i in range(7)])
        self.assertEqual([r[header.index("rank")] for r in rows[1:]], [str(i) for i in range(1, 8)])
        self.assert_no_formula_cell(rows, {"rank", "score", "raters"})

    def test_training_csv_keeps_a_negative_mean_a_number(self):
        raw, rows = self.csv_of("training")
        header = rows[0]
        self.assertEqual(len(rows), 2, rows)
        row = dict(zip(header, rows[1]))
        self.assertEqual(row["name"], "'-2+3")
        self.assertEqual(row["course"], "'=HYPERLINK(\"http://x\",\"kursus\")")
        # the mean -0.5 is formatted by the report ("%.2f"): a number cell, left as it is,
        # so a spreadsheet reads it as the number -0.5, not as text and not as a formula
        self.assertEqual(row["mean"], "-0.50")
        self.assertIn(",kompeten,-0.50,", raw)
        self.assert_no_formula_cell(rows, {"mean"})

    def test_unit_csv_neutralises_the_unit_name(self):
        raw, rows = self.csv_of("unit")
        header = rows[0]
        row = dict(zip(header, rows[1]))
        self.assertEqual((row["unit"], row["name"]), ("UNIT-X", "'" + FORMULA_UNIT_NAME))
        self.assertEqual((row["results"], row["baik"]), ("7", "7"))
        self.assert_no_formula_cell(rows, {h for h in header if h not in ("unit", "name", "mutu")})
        # the table and JSON formats show the name as it is: only CSV is read by spreadsheets
        out = self.stack.kinerja("report", "unit", "--period", PERIOD, "--format", "json").stdout
        self.assertEqual(json.loads(out)[0]["name"], FORMULA_UNIT_NAME)


class CliScoreEndToEndTest(StackTestCase):
    """The same commands over what the real score worker wrote: events in through the
    broker, the ingest and score roles, then `kinerja score`, `report` and `recalc`."""

    stack_options = {"shards": 2}
    E2E_PERIOD = "2026-08"
    TS = calendar.timegm((2026, 8, 15, 3, 0, 0)) * 1000

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.start_worker("score")
        stack.org_import(org_csv(with_sekda=True))

    def event(self, type_, **fields):
        ev = {"v": 1, "id": str(uuid.uuid4()), "type": type_, "source": "test:e2e", "ts": self.TS}
        ev.update(fields)
        return ev

    def test_score_and_reports_over_the_score_workers_rows(self):
        s = self.stack
        who = A["a"]
        four = {k: 4 for k in VALUES}
        evs = [self.event("evaluation", employee=who, period=self.E2E_PERIOD, rater=HEAD_A, relation="supervisor",
                          behaviour=four, hasil_kerja="meets")]
        evs += [self.event("evaluation", employee=who, period=self.E2E_PERIOD, rater=A[k], relation="peer",
                           behaviour=four) for k in "bcd"]
        evs.append(self.event("work_result", employee=who, period=self.E2E_PERIOD, indicator="K1", target=100,
                              realization=100))
        r = s.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in evs))
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5 accepted=5 duplicate=0 rejected=0", r.stderr)
        # Stored, then the period computed up to its latest generation (the events may
        # arrive in several ingest batches, each a new generation and maybe a version).
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM event_log WHERE period = %s", (self.E2E_PERIOD,)) == 5,
                   timeout=60, what="the five events stored")
        s.wait_for(lambda: s.sql_value("SELECT computed_generation >= generation FROM score_periods WHERE period = %s",
                                       (self.E2E_PERIOD,)), timeout=60, what="the period computed")
        version = s.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s",
                              (who, self.E2E_PERIOD))
        self.assertGreaterEqual(version, 1)

        out = json.loads(self.stack.kinerja("score", who, "--period", self.E2E_PERIOD, "--json").stdout)
        self.assertEqual(list(out)[:4], ["employee", "period", "version", "state"])
        self.assertEqual(sorted(list(out)[4:-3]), sorted(RESULT_KEYS))
        self.assertEqual(list(out)[-3:], ["history", "comments", "time_zone"])
        # hasil kerja: the supervisor says meets; perilaku: every rating 4 -> 4.0 >= 3.75
        # above; predikat (meets, above) = Baik. Score: 0.6 x (1.0 / 1.2 x 100) + 0.4 x
        # (4 - 1) / 4 x 100 = 50 + 30 = 80.
        self.assertEqual((out["employee"], out["period"], out["version"]), (who, self.E2E_PERIOD, version))
        self.assertEqual(out["predikat"], "baik")
        self.assertAlmostEqual(out["score"], 80.0, places=2)
        self.assertEqual(out["hasil_kerja"]["rating"], "meets")
        self.assertAlmostEqual(out["perilaku"]["value"], 4.0, places=2)
        self.assertEqual(out["perilaku"]["groups"]["peer"]["n"], 3)

        t = s.kinerja("score", who, "--period", self.E2E_PERIOD)
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertRegex(t.stdout, r"Predikat\s+Baik\n")
        self.assertRegex(t.stdout, r"Score\s+80\.00 of 100")
        self.assertRegex(t.stdout, r"rating\s+meets \(the supervisor's judgement\)")
        self.assertRegex(t.stdout, r"peer\s+n 3\s+mean 4\.00")

        units = json.loads(s.kinerja("report", "unit", "--period", self.E2E_PERIOD, "--format", "json").stdout)
        self.assertEqual(next(u for u in units if u["unit"] == "UNIT-A")["predikat"]["baik"], 1)
        # not signed yet: no award, listed under --provisional
        awards = json.loads(s.kinerja("report", "awards", "--period", self.E2E_PERIOD, "--format", "json").stdout)
        self.assertEqual(awards, [])
        awards = json.loads(s.kinerja("report", "awards", "--period", self.E2E_PERIOD, "--provisional",
                                      "--format", "json").stdout)
        self.assertEqual([(a["employee"], a["rank"], a["raters"], a["signed"]) for a in awards],
                         [(who, 1, 4, False)])

        # recalc of the period: requested, carried out by the score worker, and the
        # result (same inputs) keeps its version.
        r = s.kinerja("recalc", "--period", self.E2E_PERIOD)
        self.assertEqual(r.returncode, 0, r.stderr)
        event_id = r.stdout.split()[0]
        s.wait_for(lambda: s.sql_value("SELECT done_at IS NOT NULL FROM recalc_requests WHERE event_id = %s",
                                       (event_id,)), timeout=60, what="the recalc request carried out")
        out = json.loads(s.kinerja("score", who, "--period", self.E2E_PERIOD, "--json").stdout)
        self.assertEqual((out["version"], out["predikat"]), (version, "baik"))

    def test_ikm_rounded_once_through_the_worker(self):
        # SPEC 5.6: eight SKM responses about UNIT-C in 2026-05 whose element sums are
        # u1..u9 = 19, 22, 27, 25, 23, 16, 23, 18, 16 (S = 189; element j: the first
        # sum mod 8 responses answer sum // 8 + 1, the others sum // 8).
        # IKM = 25 x 189 / (9 x 8) = 65.625 exactly, rounded half up 65.63, mutu C.
        # Summing the nine element means in floating point gave 65.62499.., stored and
        # printed as 65.62.
        s, period = self.stack, "2026-05"
        sums = [19, 22, 27, 25, 23, 16, 23, 18, 16]
        ts = calendar.timegm((2026, 5, 15, 3, 0, 0)) * 1000
        evs = []
        for i in range(8):
            skm = {"u%d" % (j + 1): t // 8 + (1 if i < t % 8 else 0) for j, t in enumerate(sums)}
            evs.append({"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback", "source": "survey:web",
                        "ts": ts + i * 60000, "unit": "UNIT-C", "skm": skm})
        self.assertEqual(sum(sum(e["skm"].values()) for e in evs), 189)
        r = s.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in evs))
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=8 accepted=8 duplicate=0 rejected=0", r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT skm_n FROM unit_scores WHERE period = %s AND unit = 'UNIT-C'",
                                       (period,)) == 8, timeout=60, what="UNIT-C's IKM of eight responses")
        self.assertEqual(str(s.sql_value("SELECT ikm FROM unit_scores WHERE period = %s AND unit = 'UNIT-C'",
                                         (period,))), "65.63")
        r = s.kinerja("report", "unit", "--period", period, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"ikm":{"value":65.63,"mutu":"C","n":8}', r.stdout.replace(" ", ""))
        t = s.kinerja("report", "unit", "--period", period).stdout
        self.assertRegex(t, r"UNIT-C\s+-\s+65\.63\s+C\s+8\s")

    def cli(self, *args):
        r = self.stack.kinerja(*args)
        self.assertEqual(r.returncode, 0, "kinerja %s -> %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def test_history_after_approve_appeal_decide(self):
        # SPEC 6: the result shows its whole history. B's result for HISTORY_PERIOD is
        # scored by the real worker, signed by HEAD_A, appealed by B, and the appeal
        # decided (revised to sangat_baik) by SEKDA, HEAD_A's supervisor; then `kinerja
        # score` shows every step with who and when.
        s, who, period = self.stack, A["b"], "2026-07"
        four = {k: 4 for k in VALUES}
        evs = [self.event("evaluation", employee=who, period=period, rater=HEAD_A, relation="supervisor",
                          behaviour=four, hasil_kerja="meets")]
        evs += [self.event("evaluation", employee=who, period=period, rater=A[k], relation="peer",
                           behaviour=four) for k in "cde"]
        evs.append(self.event("work_result", employee=who, period=period, indicator="K1", target=10,
                              realization=10))
        r = s.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in evs))
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5 accepted=5 duplicate=0 rejected=0", r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT state::text FROM results WHERE employee = %s AND period = %s",
                                       (who, period)) == "pending_signoff"
                   and s.sql_value("SELECT computed_generation >= generation FROM score_periods WHERE period = %s",
                                   (period,)),
                   timeout=60, what="the result pending_signoff, the period computed")
        version = s.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s", (who, period))
        self.cli("signoff", who, "--period", period, "--supervisor", HEAD_A, "--approve", "--note", "bagus")
        self.cli("appeal", who, "--period", period, "--reason", "nilai kolaborasi keliru")
        self.cli("decide", who, "--period", period, "--decider", SEKDA, "--revise", "sangat_baik",
                 "--note", "dikoreksi")
        out = json.loads(self.cli("score", who, "--period", period, "--json").stdout)
        self.assertEqual((out["state"], out["predikat"], out["version"]), ("final", "sangat_baik", version))
        h = out["history"]
        for e in h:
            self.assertRegex(e["at"], ISO_JAKARTA_RE)
        # one "version" entry per score version, in order
        self.assertEqual([e["version"] for e in h if e["what"] == "version"], list(range(1, version + 1)))
        steps = [e for e in h if e["what"] != "version"]
        self.assertEqual([e["what"] for e in steps],
                         ["created", "signoff_requested", "approved", "appealed", "decided"])
        created, requested, approved, appealed, decided = steps
        self.assertEqual((created["to"], requested["actor"]), ("collecting", "score-worker"))
        self.assertEqual((approved["version"], approved["actor"], approved["note"]), (version, HEAD_A, "bagus"))
        self.assertEqual((appealed["actor"], appealed["reason"]), (who, "nilai kolaborasi keliru"))
        self.assertEqual((decided["decider"], decided["decision"], decided["decision_note"], decided["predikat"]),
                         (SEKDA, "revise", "dikoreksi", "sangat_baik"))
        for e in (approved, appealed, decided):
            self.assertRegex(e["event_id"], UUID_RE)
        # oldest first: the history's times never go back
        self.assertEqual([e["at"] for e in h], sorted(e["at"] for e in h))
        t = self.cli("score", who, "--period", period).stdout
        hist = t[t.index("History (times in Asia/Jakarta)"):]
        self.assertRegex(hist, r"version %d approved \(signed\) by %s: bagus\n" % (version, HEAD_A))
        self.assertRegex(hist, r"appeal \(keberatan\) filed against version %d by %s, reason: "
                               r"nilai kolaborasi keliru\n" % (version, who))
        self.assertRegex(hist, r"appeal decided by %s: revise to Sangat Baik: dikoreksi\n" % SEKDA)
        self.assertLess(hist.index("approved (signed)"), hist.index("appeal (keberatan)"))
        self.assertLess(hist.index("appeal (keberatan)"), hist.index("appeal decided"))


if __name__ == "__main__":
    unittest.main()
