"""
Sign-off, appeal and notifications end to end (SPEC 6, 9): events go in through the
real broker, the ingest worker stores them, the score worker scores the period and moves
results to pending_signoff, and everything after that is driven with the CLI (`kinerja
signoff`, `appeal`, `decide`, `inbox`). Checked: the state of each result, the
notification each person finds in their inbox, the reasons refused events carry in
rejected_events (and that the CLI shows them), the transition trigger, the audit trail.

Organisation (unit UNIT-W): TOP heads it (no supervisor); MID reports to TOP and
supervises staff E1..E7 and the peers P1..P3 (E7 has no supervisor evaluation, for the
scheduler's steps). The ingest and score workers connect as a role with only
kinerja_app's rights. An appeal of a staff member goes to TOP.
Each test works on its own staff member, so the tests do not depend on each other's
order; the setup scores all six once and waits until every one is pending_signoff.
"""

import json
import time
import unittest
import uuid

import psycopg2

from harness import StackTestCase

PERIOD = "2026-04"
TS = 1775606400000  # 2026-04-08T00:00:00Z: inside PERIOD in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 60
INBOX_KEYS = {"id", "kind", "recipient", "employee", "period", "version", "created_at", "payload"}
SIGNOFF_PAYLOAD_KEYS = {"employee", "name", "unit", "period", "version", "predikat", "score", "highlights",
                        "training", "calibration"}


def nip(n):
    return "1985020220100210%02d" % n


TOP, MID = nip(1), nip(2)
E = {i: nip(10 + i) for i in range(1, 7)}
E7 = nip(17)
PEERS = [nip(21), nip(22), nip(23)]
# (hasil kerja by the supervisor, the value every rater gives): E1 sangat_baik (above x
# above), so revising it to baik is a real change; the others baik or thereabouts.
PROFILE = {1: ("above", 5), 2: ("meets", 4), 3: ("meets", 4), 4: ("meets", 4), 5: ("above", 4), 6: ("meets", 4)}


def org_csv():
    rows = ["nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala Dinas,UNIT-W,kepala,,admin" % TOP,
            "%s,Kepala Bidang,UNIT-W,kabid,%s,admin" % (MID, TOP)]
    for i, n in list(E.items()) + [(7, E7)]:
        rows.append("%s,Staf %d,UNIT-W,staf,%s,admin" % (n, i, MID))
    for k, n in enumerate(PEERS):
        rows.append("%s,Rekan %d,UNIT-W,staf,%s,admin" % (n, k + 1, MID))
    return "\n".join(rows) + "\n"


def evaluation(employee, rater, relation, value, hasil=None):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
          "employee": employee, "period": PERIOD, "rater": rater, "relation": relation,
          "behaviour": {k: value for k in KEYS}}
    if hasil:
        ev["hasil_kerja"] = hasil
    return ev


def work_result(employee, indicator, realization, ts=TS):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": ts,
            "employee": employee, "period": PERIOD, "indicator": indicator, "target": 10,
            "realization": realization}


def jsonl(events):
    return "".join(json.dumps(e) + "\n" for e in events)


class WorkflowTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        # The daemons connect as a login role with only kinerja_app's rights (SPEC 8), so
        # a missing GRANT for anything the workflow's triggers touch fails these tests.
        stack.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kinerja_wf_app')"
                  " THEN CREATE ROLE kinerja_wf_app LOGIN IN ROLE kinerja_app; END IF; END $$")
        cls.app_dsn = stack.pg_dsn.replace("user=kinerja", "user=kinerja_wf_app")
        app = {"KINERJA_POSTGRES_DSN": cls.app_dsn}
        stack.start_worker(role="ingest", env=app)
        stack.start_worker(role="score", env=app)
        stack.org_import(org_csv())
        events = []
        for i, n in E.items():
            hasil, v = PROFILE[i]
            events.append(evaluation(n, MID, "supervisor", v, hasil=hasil))
            for p in PEERS:
                events.append(evaluation(n, p, "peer", v))
            events.append(work_result(n, "SKP-1", 10))
        # E7: peers and a work result, no supervisor evaluation: stays collecting
        for p in PEERS:
            events.append(evaluation(E7, p, "peer", 3))
        events.append(work_result(E7, "SKP-1", 9))
        r = stack.kinerja("send", "-", input=jsonl(events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, r.stdout + r.stderr
        cls.settle(stack)
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'"
            " AND employee = ANY(%s)", (PERIOD, list(E.values()))) == len(E),
            timeout=SETTLE_TIMEOUT, what="all six results pending_signoff")

    @staticmethod
    def settle(s):
        """Waits until every accepted event is stored and every period computed."""
        def done():
            behind = s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            return s.status()["pending"] == 0 and behind == 0
        time.sleep(0.3)
        s.wait_for(done, timeout=SETTLE_TIMEOUT, what="events stored and periods scored")

    # ---- helpers ------------------------------------------------------------------

    def result(self, employee):
        rows = self.stack.sql(
            "SELECT state::text, version, predikat, revised_predikat, approved_at, appeal_deadline, digest"
            " FROM results WHERE employee = %s AND period = %s", (employee, PERIOD))
        self.assertEqual(len(rows), 1, "no result for %s" % employee)
        keys = ["state", "version", "predikat", "revised_predikat", "approved_at", "appeal_deadline", "digest"]
        return dict(zip(keys, rows[0]))

    def inbox(self, who):
        r = self.stack.kinerja("inbox", who, "--json", "--limit", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        items = json.loads(r.stdout)
        for it in items:
            self.assertTrue(INBOX_KEYS <= set(it), it)
            self.assertEqual(it["recipient"], who)
        return items

    def notes(self, who, kind, employee):
        return [n for n in self.inbox(who) if n["kind"] == kind and n["employee"] == employee]

    def cli(self, *args, expect=0):
        r = self.stack.kinerja(*args)
        self.assertEqual(r.returncode, expect, "kinerja %s -> %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def signoff(self, employee, decision, supervisor=MID, expect=0, *extra):
        return self.cli("signoff", employee, "--period", PERIOD, "--supervisor", supervisor,
                        "--" + decision, *extra, expect=expect)

    def rejected_reason(self, r):
        """The reason rejected_events holds for the event whose ack the CLI printed."""
        ids = [w for line in r.stdout.splitlines() for w in line.split() if len(w) == 36 and w.count("-") == 4]
        self.assertEqual(len(ids), 1, r.stdout)
        return self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (ids[0],))

    def audit(self, employee):
        return self.stack.sql(
            "SELECT from_state::text, to_state::text, version, actor, note, event_id::text"
            " FROM result_audit WHERE employee = %s AND period = %s ORDER BY id", (employee, PERIOD))

    def transitions(self, employee):
        return [(a[0], a[1]) for a in self.audit(employee) if a[0] is not None]

    # ---- the whole path -------------------------------------------------------------

    def test_1_signoff_appeal_revise(self):
        e1 = E[1]
        res = self.result(e1)
        self.assertEqual(res["state"], "pending_signoff")
        self.assertEqual(res["predikat"], "sangat_baik")
        version = res["version"]

        # The supervisor has a sign-off request naming the current version.
        reqs = [n for n in self.notes(MID, "signoff_requested", e1) if n["version"] == version]
        self.assertEqual(len(reqs), 1, self.inbox(MID))
        p = reqs[0]["payload"]
        self.assertTrue(SIGNOFF_PAYLOAD_KEYS <= set(p), p)
        self.assertEqual((p["employee"], p["name"], p["unit"], p["period"], p["version"], p["predikat"]),
                         (e1, "Staf 1", "UNIT-W", PERIOD, version, "sangat_baik"))
        self.assertIsInstance(p["score"], (int, float))
        self.assertIs(p["calibration"], False)
        self.assertEqual(p["highlights"]["groups_hidden"], [])
        self.assertIsInstance(p["training"], list)
        self.assertEqual(reqs[0]["period"], PERIOD)
        # the table form shows it too
        r = self.cli("inbox", MID)
        self.assertIn("signoff_requested", r.stdout)
        self.assertIn("Staf 1", r.stdout)

        # Approve.
        r = self.signoff(e1, "approve", MID, 0, "--note", "bagus")
        self.assertIn("accepted", r.stdout)
        self.assertIn("is now approved", r.stdout)
        res = self.result(e1)
        self.assertEqual(res["state"], "approved")
        self.assertEqual(res["version"], version)
        self.assertAlmostEqual((res["appeal_deadline"] - res["approved_at"]).total_seconds(), 14 * 86400, delta=1)
        approved = self.notes(e1, "result_approved", e1)
        self.assertEqual(len(approved), 1)
        self.assertEqual(approved[0]["version"], version)
        self.assertEqual(approved[0]["payload"]["supervisor"], MID)
        self.assertEqual(approved[0]["payload"]["note"], "bagus")
        self.assertEqual(approved[0]["payload"]["predikat"], "sangat_baik")

        # Appeal.
        r = self.cli("appeal", e1, "--period", PERIOD, "--reason", "nilai kolaborasi keliru")
        self.assertIn("is now appealed", r.stdout)
        self.assertEqual(self.result(e1)["state"], "appealed")
        filed = self.notes(TOP, "appeal_filed", e1)
        self.assertEqual(len(filed), 1, self.inbox(TOP))
        self.assertEqual(filed[0]["payload"]["reason"], "nilai kolaborasi keliru")
        self.assertIs(filed[0]["payload"]["calibration"], False)
        self.assertEqual(filed[0]["payload"]["supervisor"], MID)
        self.assertEqual(self.notes(MID, "appeal_filed", e1), [])  # the supervisor's supervisor decides

        # Decide: revise to baik.
        r = self.cli("decide", e1, "--period", PERIOD, "--decider", TOP, "--revise", "baik", "--note", "dikoreksi")
        self.assertIn("is now final", r.stdout)
        res = self.result(e1)
        self.assertEqual((res["state"], res["predikat"], res["revised_predikat"], res["version"]),
                         ("final", "baik", "baik", version))
        for who in (e1, MID):
            decided = self.notes(who, "appeal_decided", e1)
            self.assertEqual(len(decided), 1, who)
            self.assertEqual((decided[0]["payload"]["decision"], decided[0]["payload"]["predikat"],
                              decided[0]["payload"]["original_predikat"], decided[0]["payload"]["decider"]),
                             ("revise", "baik", "sangat_baik", TOP))
        # kinerja score shows the revision, the version's own document is untouched
        shown = json.loads(self.cli("score", e1, "--period", PERIOD, "--json").stdout)
        self.assertEqual((shown["state"], shown["predikat"], shown["computed_predikat"], shown["version"]),
                         ("final", "baik", "sangat_baik", version))
        self.assertEqual(self.stack.sql_value(
            "SELECT predikat FROM score_versions WHERE employee = %s AND period = %s AND version = %s",
            (e1, PERIOD, version)), "sangat_baik")

        # The audit trail: every transition, who made it, with the event that did.
        trail = self.audit(e1)
        moves = [(a[0], a[1]) for a in trail if a[0] is not None]
        self.assertEqual(moves[-4:], [("collecting", "pending_signoff"), ("pending_signoff", "approved"),
                                      ("approved", "appealed"), ("appealed", "final")])
        by_move = {(a[0], a[1]): a for a in trail}
        self.assertEqual(by_move[("collecting", "pending_signoff")][3], "score-worker")
        self.assertEqual(by_move[("pending_signoff", "approved")][3:5], (MID, "bagus"))
        self.assertEqual(by_move[("approved", "appealed")][3:5], (e1, "nilai kolaborasi keliru"))
        self.assertEqual(by_move[("appealed", "final")][3], TOP)
        for move in moves[-3:]:
            self.assertIsNotNone(by_move[move][5], move)  # the event id
            self.assertEqual(by_move[move][2], version)

        # Nothing more for a final result: a second appeal is refused.
        r = self.cli("appeal", e1, "--period", PERIOD, "--reason", "lagi", expect=1)
        self.assertIn("appeal: result of %s for %s is final, not approved" % (e1, PERIOD), r.stdout + r.stderr)

    # ---- refusals -------------------------------------------------------------------

    def test_2_peer_cannot_sign(self):
        e2 = E[2]
        r = self.signoff(e2, "approve", PEERS[0], 1)
        reason = "supervisor: %s is not the supervisor of %s" % (PEERS[0], e2)
        self.assertIn(reason, r.stderr)
        self.assertEqual(self.rejected_reason(r), reason)
        self.assertEqual(self.result(e2)["state"], "pending_signoff")
        self.assertEqual(self.notes(e2, "result_approved", e2), [])
        # nor may anyone appeal a result that is not approved, or decide what was not appealed
        r = self.cli("appeal", e2, "--period", PERIOD, "--reason", "terlalu cepat", expect=1)
        self.assertEqual(self.rejected_reason(r),
                         "appeal: result of %s for %s is pending_signoff, not approved" % (e2, PERIOD))
        r = self.cli("decide", e2, "--period", PERIOD, "--decider", TOP, "--uphold", expect=1)
        self.assertEqual(self.rejected_reason(r),
                         "appeal_decision: result of %s for %s is pending_signoff, not appealed" % (e2, PERIOD))
        self.assertEqual(self.result(e2)["state"], "pending_signoff")

    def test_3_stale_version_refused(self):
        e3 = E[3]
        old = self.result(e3)["version"]
        # A new work result: a new version while pending; a new request names it.
        r = self.stack.kinerja("send", "-", input=jsonl([work_result(e3, "SKP-2", 7, ts=TS + 1000)]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.stack.wait_for(lambda: self.result(e3)["version"] > old, timeout=SETTLE_TIMEOUT, what="new version")
        new = self.result(e3)["version"]
        self.assertEqual(self.result(e3)["state"], "pending_signoff")
        self.stack.wait_for(lambda: [n for n in self.notes(MID, "signoff_requested", e3) if n["version"] == new],
                            timeout=10, what="a signoff_requested for the new version")
        renewed = [n for n in self.notes(MID, "signoff_requested", e3) if n["version"] == new][0]
        self.assertEqual(renewed["payload"]["highlights"]["replaces_version"], old)

        r = self.signoff(e3, "approve", MID, 1, "--version", str(old))
        reason = "version: stale version %d, current is %d" % (old, new)
        self.assertIn(reason, r.stderr)
        self.assertEqual(self.rejected_reason(r), reason)
        self.assertEqual(self.result(e3)["state"], "pending_signoff")
        # the current one (the default) goes through
        r = self.signoff(e3, "approve")
        self.assertIn("signing version %d" % new, r.stdout)
        self.assertEqual(self.result(e3)["state"], "approved")

    def test_4_appeal_after_the_window(self):
        e4 = E[4]
        self.signoff(e4, "approve")
        self.stack.sql("UPDATE results SET appeal_deadline = now() - interval '1 day'"
                       " WHERE employee = %s AND period = %s", (e4, PERIOD))
        closed = self.stack.sql_value(
            "SELECT to_char(appeal_deadline AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM-DD') FROM results"
            " WHERE employee = %s AND period = %s", (e4, PERIOD))
        r = self.cli("appeal", e4, "--period", PERIOD, "--reason", "terlambat", expect=1)
        reason = "appeal: the appeal window closed on %s" % closed
        self.assertIn(reason, r.stderr)
        self.assertEqual(self.rejected_reason(r), reason)
        self.assertEqual(self.result(e4)["state"], "approved")
        self.assertEqual(self.notes(TOP, "appeal_filed", e4), [])
        # the scheduler's step then closes it
        self.assertGreaterEqual(self.stack.sql_value("SELECT kinerja_finalize_due()"), 1)
        self.assertEqual(self.result(e4)["state"], "final")
        last = self.audit(e4)[-1]
        self.assertEqual((last[0], last[1], last[3]), ("approved", "final", "scheduler"))

    def test_5_decision_by_the_wrong_person(self):
        e5 = E[5]
        self.signoff(e5, "approve")
        self.cli("appeal", e5, "--period", PERIOD, "--reason", "keberatan")
        r = self.cli("decide", e5, "--period", PERIOD, "--decider", MID, "--uphold", expect=1)
        reason = "decider: %s is not the supervisor of %s, the supervisor of %s" % (MID, MID, e5)
        self.assertIn(reason, r.stderr)
        self.assertEqual(self.rejected_reason(r), reason)
        self.assertEqual(self.result(e5)["state"], "appealed")
        self.assertEqual(self.notes(e5, "appeal_decided", e5), [])
        # the right person upholds: final, predikat unchanged, both told
        before = self.result(e5)["predikat"]
        r = self.cli("decide", e5, "--period", PERIOD, "--decider", TOP, "--uphold")
        res = self.result(e5)
        self.assertEqual((res["state"], res["predikat"], res["revised_predikat"]), ("final", before, None))
        for who in (e5, MID):
            decided = self.notes(who, "appeal_decided", e5)
            self.assertEqual([d["payload"]["decision"] for d in decided], ["uphold"], who)

    def test_6_return_waits_then_offer(self):
        # SPEC 6: a returned result goes back to collecting and is offered again when a
        # new input arrives or the supervisor asks, never as an identical version at once
        # (before issue 11 it bounced straight back as a new identical version).
        e6 = E[6]
        old = self.result(e6)["version"]
        requests_before = len(self.notes(MID, "signoff_requested", e6))
        r = self.signoff(e6, "return", MID, 0, "--note", "lengkapi SKP")
        self.assertIn("it waits for new input", r.stdout)
        returned = self.notes(e6, "result_returned", e6)
        self.assertEqual(len(returned), 1)
        self.assertEqual((returned[0]["version"], returned[0]["payload"]["note"]), (old, "lengkapi SKP"))
        self.assertIs(returned[0]["payload"]["reopened"], False)
        # the period is scored again (another employee's new work result): E6 waits
        r = self.stack.kinerja("send", "-", input=jsonl([work_result(E7, "SKP-9", 8, ts=TS + 5000)]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.settle(self.stack)
        res = self.result(e6)
        self.assertEqual((res["state"], res["version"]), ("collecting", old))
        self.assertEqual(len(self.notes(MID, "signoff_requested", e6)), requests_before)
        self.assertEqual(self.transitions(e6)[-2:], [("pending_signoff", "returned"), ("returned", "collecting")])

        # the supervisor offers it again: the same version, one new request, the older superseded
        r = self.signoff(e6, "offer")
        self.assertIn("signing version %d" % old, r.stdout)
        res = self.result(e6)
        self.assertEqual((res["state"], res["version"]), ("pending_signoff", old))
        reqs = self.notes(MID, "signoff_requested", e6)
        self.assertEqual(len(reqs), requests_before + 1)
        self.assertEqual((reqs[0]["version"], reqs[0]["superseded"]), (old, False))  # newest first
        self.assertTrue(all(n["superseded"] for n in reqs[1:]), reqs)
        last = self.audit(e6)[-1]
        self.assertEqual((last[0], last[1], last[2], last[3]), ("collecting", "pending_signoff", old, MID))
        # a second offer is refused: it is no longer collecting
        r = self.signoff(e6, "offer", MID, 1)
        self.assertEqual(self.rejected_reason(r),
                         "signoff: result of %s for %s is pending_signoff: only a collecting (returned) result "
                         "can be offered" % (e6, PERIOD))
        # and the offered version is the one to sign
        self.signoff(e6, "approve")
        self.assertEqual(self.result(e6)["state"], "approved")

    def test_7_sql_cannot_skip_a_step(self):
        e2 = E[2]
        for target in ("final", "appealed", "collecting"):
            with self.subTest(to=target):
                with self.assertRaises(psycopg2.Error) as cm:
                    self.stack.sql("UPDATE results SET state = %s WHERE employee = %s AND period = %s",
                                   (target, e2, PERIOD))
                self.assertIn("pending_signoff -> %s is not an allowed transition" % target, str(cm.exception))
        self.assertEqual(self.result(e2)["state"], "pending_signoff")
        # an allowed one by SQL is audited with the transaction's actor
        self.stack.sql("SELECT set_config('kinerja.actor', 'operator:test', false);"
                       " UPDATE results SET state = 'approved' WHERE employee = %s AND period = %s", (e2, PERIOD))
        last = self.audit(e2)[-1]
        self.assertEqual((last[0], last[1], last[3]), ("pending_signoff", "approved", "operator:test"))

    # ---- the CLI's edges ------------------------------------------------------------

    def test_8_cli_usage_and_unknowns(self):
        s = self.stack
        self.assertEqual(s.kinerja("signoff", E[1], "--period", PERIOD, "--supervisor", MID).returncode, 2)
        self.assertEqual(s.kinerja("signoff", E[1], "--period", PERIOD, "--approve").returncode, 2)
        self.assertEqual(s.kinerja("signoff", "123", "--period", PERIOD, "--supervisor", MID,
                                   "--approve").returncode, 2)
        self.assertEqual(s.kinerja("signoff", E[1], "--period", "2026-13", "--supervisor", MID,
                                   "--approve").returncode, 2)
        self.assertEqual(s.kinerja("appeal", E[1], "--period", PERIOD).returncode, 2)
        self.assertEqual(s.kinerja("decide", E[1], "--period", PERIOD, "--decider", TOP,
                                   "--revise", "hebat").returncode, 2)
        self.assertEqual(s.kinerja("inbox").returncode, 2)
        # no result to sign for someone without one
        r = s.kinerja("signoff", TOP, "--period", PERIOD, "--supervisor", MID, "--approve")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothing to sign", r.stderr)
        r = s.kinerja("inbox", "199999999999999999")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown NIP", r.stderr)
        # someone with nothing: an empty array
        r = s.kinerja("inbox", PEERS[2], "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, []))
        # --no-wait: just the ack
        r = s.kinerja("appeal", E[2], "--period", PERIOD, "--reason", "x", "--no-wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^[0-9a-f-]{36} accepted\n$")

    # ---- the scheduler's steps (SQL functions the schedule role calls) ----------------

    def app_sql(self, query, params=None):
        """One statement as the daemons' role (kinerja_app's rights only)."""
        conn = psycopg2.connect(self.app_dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description is not None else []
        finally:
            conn.close()

    def test_10_period_close_and_reminders(self):
        self.app_sql("SELECT kinerja_publish_setting('workflow.reminder_days', '3')")
        self.assertEqual(self.app_sql("SELECT kinerja_setting_days('workflow.reminder_days', 9)"), [(3,)])
        self.app_sql("SELECT kinerja_publish_setting('workflow.reminder_days', 'soon')")
        self.assertEqual(self.app_sql("SELECT kinerja_setting_days('workflow.reminder_days', 9)"), [(9,)])

        # E7 has a version but no supervisor evaluation: collecting until the period closes
        self.stack.wait_for(lambda: self.result(E7)["version"] >= 1, timeout=SETTLE_TIMEOUT, what="E7 scored")
        self.assertEqual(self.result(E7)["state"], "collecting")
        self.assertEqual(self.notes(MID, "signoff_requested", E7), [])
        self.assertEqual(self.app_sql("SELECT kinerja_close_period(%s)", (PERIOD,)), [(1,)])
        self.assertEqual(self.result(E7)["state"], "pending_signoff")
        req = self.notes(MID, "signoff_requested", E7)
        self.assertEqual([n["version"] for n in req], [self.result(E7)["version"]])
        last = self.audit(E7)[-1]
        self.assertEqual((last[0], last[1], last[3], last[4]),
                         ("collecting", "pending_signoff", "scheduler", "the period closed"))
        self.assertEqual(self.app_sql("SELECT kinerja_close_period(%s)", (PERIOD,)), [(0,)])  # nothing left

        # pending for 5 days: one reminder with 3 days, none again until 3 more days pass
        self.stack.sql("UPDATE results SET pending_since = now() - interval '5 days'"
                       " WHERE employee = %s AND period = %s", (E7, PERIOD))
        self.assertGreaterEqual(self.app_sql("SELECT kinerja_queue_reminders(3)")[0][0], 1)
        self.assertEqual(self.app_sql("SELECT kinerja_queue_reminders(3)"), [(0,)])
        reminders = self.notes(MID, "signoff_reminder", E7)
        self.assertEqual(len(reminders), 1)
        self.assertEqual(reminders[0]["payload"]["employee"], E7)
        # the notify worker's writes
        self.app_sql("UPDATE notifications SET status = 'sent', published_at = now() WHERE id = %s",
                     (reminders[0]["id"],))

    # ---- the audit trail, over everything the tests did ------------------------------

    def test_99_every_transition_is_audited(self):
        self.settle(self.stack)
        rows = self.stack.sql("SELECT employee, state::text FROM results WHERE period = %s", (PERIOD,))
        self.assertGreaterEqual(len(rows), len(E))
        for employee, state in rows:
            with self.subTest(employee=employee):
                trail = self.audit(employee)
                self.assertGreaterEqual(len(trail), 1)
                self.assertIsNone(trail[0][0], "the first row records the creation")
                for prev, row in zip(trail, trail[1:]):
                    self.assertEqual(row[0], prev[1], trail)  # each starts where the last ended
                self.assertEqual(trail[-1][1], state, trail)
        allowed = set(self.stack.sql("SELECT from_state::text, to_state::text FROM result_transitions"))
        moves = set(self.stack.sql("SELECT DISTINCT from_state::text, to_state::text FROM result_audit"
                                   " WHERE from_state IS NOT NULL"))
        self.assertTrue(moves <= allowed, moves - allowed)


if __name__ == "__main__":
    unittest.main()
