"""
Workflow integrity (SPEC 4, 6; issue 11) end to end: events through the real broker,
the ingest and score workers (as a role with kinerja_app's rights only), the CLI, and
the scheduler's SQL steps. Each test is a hole issue 11 found, and fails on the code
before schemas/0006_workflow_v2.sql:

  - a result without a predikat is never offered; at period close it stays collecting
    and its supervisor and employee get ONE inputs_missing naming what is missing, not
    one per scheduler tick;
  - the top of the chain (no supervisor) is not left pending where nobody can sign: it
    waits, is told "no pejabat penilai", and an evaluator who is not ASN
    (`kinerja org import --evaluators`) gets the request, signs it and reads the inbox;
  - a newer sign-off request supersedes the older ones in the inbox, and reminders name
    the current request only;
  - one rater holds one relation to a ratee in a period (stored, and within a batch);
    the supervisor is never a peer;
  - a returned result waits for new input (then the new version is offered by itself);
  - approved -> returned (reopen) takes the late inputs in.

Organisation (unit UNIT-V): HEAD has no supervisor (the top); SUP reports to HEAD and
supervises A1..A5, B, X and the peers Q1..Q3; S1..S3 report to X. B has only peer
ratings (no work result, no supervisor evaluation): no predikat.
"""

import json
import time
import unittest
import uuid

import psycopg2

from harness import StackTestCase

PERIOD = "2026-05"
TS = 1778284800000  # 2026-05-09T00:00:00Z: inside PERIOD in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 60
EVALUATOR = "bupati:v"


def nip(n):
    return "1990030320150310%02d" % n


HEAD, SUP = nip(1), nip(2)
A = {i: nip(10 + i) for i in range(1, 6)}
B, X = nip(20), nip(21)
S1, S2, S3 = nip(22), nip(23), nip(24)
Q = [nip(31), nip(32), nip(33)]


def org_csv(head_supervisor="", a5_supervisor=None, a1_supervisor=None):
    rows = ["nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala Dinas V,UNIT-V,kepala,%s,admin" % (HEAD, head_supervisor),
            "%s,Kepala Bidang V,UNIT-V,kabid,%s,admin" % (SUP, HEAD)]
    for i, n in A.items():
        sup = {5: a5_supervisor, 1: a1_supervisor}.get(i)
        rows.append("%s,Staf A%d,UNIT-V,staf,%s,admin" % (n, i, SUP if sup is None else sup))
    rows.append("%s,Staf B,UNIT-V,staf,%s,admin" % (B, SUP))
    rows.append("%s,Kasubbag X,UNIT-V,kasubbag,%s,admin" % (X, SUP))
    rows.append("%s,Staf S1,UNIT-V,staf,%s,admin" % (S1, X))
    rows.append("%s,Staf S2,UNIT-V,staf,%s,admin" % (S2, X))
    rows.append("%s,Staf S3,UNIT-V,staf,%s,admin" % (S3, X))
    for k, n in enumerate(Q):
        rows.append("%s,Rekan Q%d,UNIT-V,staf,%s,admin" % (n, k + 1, SUP))
    return "\n".join(rows) + "\n"


def evaluation(employee, rater, relation, value, hasil=None, ts=TS):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": ts,
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


class WorkflowV2Test(StackTestCase):
    stack_options = {"shards": 2}
    score_env = {}  # the score worker's settings (the split sign-off's class sets them)
    before_workers_sql = ()  # run once the role exists, before the workers start

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        stack.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kinerja_wf2_app')"
                  " THEN CREATE ROLE kinerja_wf2_app LOGIN IN ROLE kinerja_app; END IF; END $$")
        cls.app_dsn = stack.pg_dsn.replace("user=kinerja", "user=kinerja_wf2_app")
        app = {"KINERJA_POSTGRES_DSN": cls.app_dsn}
        for q in cls.before_workers_sql:
            stack.sql(q)
        stack.start_worker(role="ingest", env=app)
        cls.scorer = stack.start_worker(role="score", env=dict(app, **cls.score_env))
        cls.org_result = stack.org_import(org_csv())
        events = []
        for n in A.values():
            events.append(evaluation(n, SUP, "supervisor", 4, hasil="meets"))
            for p in Q:
                events.append(evaluation(n, p, "peer", 4))
            events.append(work_result(n, "SKP-1", 10))
        for p in Q:
            events.append(evaluation(B, p, "peer", 3))       # B: no work result, no supervisor
            events.append(evaluation(HEAD, p, "peer", 4))    # HEAD: a predikat, nobody to sign
        events.append(work_result(HEAD, "SKP-1", 10))
        r = stack.kinerja("send", "-", input=jsonl(events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, r.stdout + r.stderr
        cls.settle(stack)
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'"
            " AND employee = ANY(%s)", (PERIOD, list(A.values()))) == len(A),
            timeout=SETTLE_TIMEOUT, what="A1..A5 pending_signoff")

    @staticmethod
    def settle(s):
        def done():
            behind = s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            return s.status()["pending"] == 0 and behind == 0
        time.sleep(0.3)
        s.wait_for(done, timeout=SETTLE_TIMEOUT, what="events stored and periods scored")

    # ---- helpers ------------------------------------------------------------------

    def result(self, employee):
        rows = self.stack.sql("SELECT state::text, version, predikat, late_events FROM results"
                              " WHERE employee = %s AND period = %s", (employee, PERIOD))
        self.assertEqual(len(rows), 1, "no result for %s" % employee)
        return dict(zip(["state", "version", "predikat", "late_events"], rows[0]))

    def inbox(self, who):
        r = self.stack.kinerja("inbox", who, "--json", "--limit", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        items = json.loads(r.stdout)
        for it in items:
            self.assertTrue({"id", "kind", "recipient", "employee", "period", "version", "created_at", "payload",
                             "superseded"} <= set(it), it)
        return items

    def notes(self, who, kind, employee):
        return [n for n in self.inbox(who) if n["kind"] == kind and n["employee"] == employee]

    def cli(self, *args, expect=0):
        r = self.stack.kinerja(*args)
        self.assertEqual(r.returncode, expect, "kinerja %s -> %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def signoff(self, employee, decision, supervisor=SUP, expect=0, *extra):
        return self.cli("signoff", employee, "--period", PERIOD, "--supervisor", supervisor,
                        "--" + decision, *extra, expect=expect)

    def rejected_reason(self, r):
        ids = [w for line in r.stdout.splitlines() for w in line.split() if len(w) == 36 and w.count("-") == 4]
        self.assertEqual(len(ids), 1, r.stdout)
        return self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (ids[0],))

    def app_sql(self, query, params=None):
        conn = psycopg2.connect(self.app_dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description is not None else []
        finally:
            conn.close()

    def scheduler_tick(self):
        """One period-close tick as the schedule role runs it (lock, fence, job)."""
        conn = psycopg2.connect(self.app_dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(kinerja_schedule_lock_key())")
                self.assertTrue(cur.fetchone()[0])
                cur.execute("SELECT period, newly_closed, moved, requests FROM"
                            " kinerja_schedule_close_periods('Asia/Jakarta', 0, 'test', pg_backend_pid())")
                return cur.fetchall()
        finally:
            conn.close()

    def send(self, events):
        r = self.stack.kinerja("send", "-", input=jsonl(events))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def outcome(self, event_id):
        """('stored', None) or ('rejected', reason), once the ingest worker decided."""
        def look():
            if self.stack.sql_value("SELECT count(*) FROM event_log WHERE id = %s", (event_id,)):
                return ("stored", None)
            why = self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (event_id,))
            return ("rejected", why) if why else None
        return self.stack.wait_for(look, timeout=SETTLE_TIMEOUT, what="event %s stored or rejected" % event_id)

    def ingest_batch(self, events):
        """Stores events as ONE ingest batch, the way the ingest worker does (a temporary
        ingest_staging, then kinerja_ingest_staged): returns ((stored, rejected, already),
        {event id: rejection reason or None})."""
        conn = psycopg2.connect(self.app_dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute("CREATE TEMP TABLE ingest_staging (seq int, id uuid, type text, source text,"
                            " ts_ms bigint, employee text, unit text, period text, rater text, relation text,"
                            " supervisor text, decider text, payload jsonb, stream_key text, stream_id text,"
                            " received_ms bigint, reject_reason text) ON COMMIT DROP")
                for seq, ev in enumerate(events):
                    cur.execute("INSERT INTO ingest_staging VALUES (%s, %s, %s, %s, %s, %s, NULL, %s, %s, %s,"
                                " NULL, NULL, %s, NULL, NULL, %s, NULL)",
                                (seq, ev["id"], ev["type"], ev["source"], ev["ts"], ev["employee"], ev["period"],
                                 ev["rater"], ev["relation"], json.dumps(ev), ev["ts"]))
                cur.execute("SELECT stored, rejected, already FROM kinerja_ingest_staged('Asia/Jakarta')")
                counts = cur.fetchone()
        finally:
            conn.close()
        why = {ev["id"]: self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (ev["id"],))
               for ev in events}
        return counts, why

    def transitions(self, employee):
        return [tuple(r) for r in self.stack.sql(
            "SELECT from_state::text, to_state::text FROM result_audit WHERE employee = %s AND period = %s"
            " AND from_state IS NOT NULL ORDER BY id", (employee, PERIOD))]

    # ---- 1. predikat required, inputs_missing once ------------------------------------

    def test_1_no_predikat_is_never_offered(self):
        res = self.result(B)
        self.assertEqual((res["state"], res["predikat"]), ("collecting", None))
        self.assertGreaterEqual(res["version"], 1)
        # period close (2026-05 ended months ago): B stays collecting; HEAD too (nobody signs)
        self.app_sql("SELECT kinerja_close_period(%s)", (PERIOD,))
        self.assertEqual(self.result(B)["state"], "collecting")
        self.assertEqual(self.result(HEAD)["state"], "collecting")
        self.assertEqual(self.notes(SUP, "signoff_requested", B), [])
        # one inputs_missing each to B and SUP, naming what is missing
        for who in (SUP, B):
            with self.subTest(who=who):
                notes = self.notes(who, "inputs_missing", B)
                self.assertEqual(len(notes), 1, notes)
                p = notes[0]["payload"]
                self.assertEqual(p["missing"], ["supervisor_evaluation", "work_results"])
                self.assertIn("the supervisor evaluation", p["note"])
                self.assertIn("work results", p["note"])
                self.assertIsNone(p["predikat"])
        # HEAD is told nobody can sign; there is no supervisor to tell
        notes = self.notes(HEAD, "inputs_missing", HEAD)
        self.assertEqual(len(notes), 1, notes)
        self.assertEqual(notes[0]["payload"]["missing"], ["pejabat_penilai"])
        self.assertEqual(self.stack.sql_value(
            "SELECT count(*) FROM notifications WHERE employee = %s AND recipient <> %s", (HEAD, HEAD)), 0)
        # the scheduler's ticks do not repeat it
        self.scheduler_tick()
        self.scheduler_tick()
        self.assertEqual(self.app_sql("SELECT kinerja_close_period(%s)", (PERIOD,)), [(0,)])
        self.assertEqual(self.stack.sql_value(
            "SELECT count(*) FROM notifications WHERE kind = 'inputs_missing' AND employee = ANY(%s)",
            ([B, HEAD],)), 3)
        self.assertEqual(self.result(B)["state"], "collecting")
        # and the supervisor cannot offer it either
        r = self.signoff(B, "offer", SUP, 1)
        self.assertEqual(self.rejected_reason(r),
                         "signoff: result of %s for %s has no predikat yet: nothing to offer (a supervisor "
                         "evaluation and work results are needed)" % (B, PERIOD))
        # the table shows it
        self.assertIn("not offered for sign-off", self.cli("inbox", SUP).stdout)

    # ---- 2. evaluators who are not ASN -------------------------------------------------

    def test_2_evaluator_signs_the_top_of_the_chain(self):
        # the import named HEAD as without a pejabat penilai
        self.assertIn("%s (Kepala Dinas V) has no pejabat penilai" % HEAD, self.org_result.stderr)
        bad = self.stack.write_file("bad_evaluators.csv", "id,name,position\nbupati:v,Bupati V,Bupati\n"
                                                          "198001012000011001,Orang,ASN\n")
        r = self.cli("org", "import", "--evaluators", bad, expect=1)
        self.assertIn("line 3: id: must be 1..64 of A-Z a-z 0-9 . _ : - and not all digits", r.stderr)
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM evaluators"), 0)  # nothing half-done
        good = self.stack.write_file("evaluators.csv", "id,name,position\n%s,\"Bupati V, S.H.\",Bupati\n" % EVALUATOR)
        self.assertIn("evaluators=1 unchanged=0", self.cli("org", "import", "--evaluators", good).stdout)
        self.assertIn("evaluators=0 unchanged=1", self.cli("org", "import", "--evaluators", good).stdout)
        self.assertEqual(self.stack.sql("SELECT id, name, position FROM evaluators"),
                         [(EVALUATOR, "Bupati V, S.H.", "Bupati")])
        # supervisor_nip holds the id (an unknown one is refused, naming the employee)
        with self.assertRaises(psycopg2.Error) as cm:
            self.stack.sql("UPDATE employees SET supervisor_nip = 'walikota:x' WHERE nip = %s", (HEAD,))
        self.assertIn("employee %s: supervisor_nip: walikota:x is neither a known NIP nor an evaluator id" % HEAD,
                      str(cm.exception))
        # ... and so is one in the employees CSV, naming the line; the known id imports
        bad_org = self.stack.write_file("org_bad_evaluator.csv", org_csv(head_supervisor="walikota:x"))
        r = self.cli("org", "import", bad_org, expect=1)
        self.assertIn("supervisor_nip: unknown NIP or evaluator id walikota:x", r.stderr)
        self.assertIsNone(self.stack.sql_value("SELECT supervisor_nip FROM employees WHERE nip = %s", (HEAD,)))
        r = self.stack.org_import(org_csv(head_supervisor=EVALUATOR), name="org_evaluator.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.stack.sql_value("SELECT supervisor_nip FROM employees WHERE nip = %s", (HEAD,)),
                         EVALUATOR)

        # the next period-close tick offers HEAD's result to the evaluator
        self.scheduler_tick()
        res = self.result(HEAD)
        self.assertEqual(res["state"], "pending_signoff")
        reqs = self.notes(EVALUATOR, "signoff_requested", HEAD)
        self.assertEqual([(n["version"], n["recipient"]) for n in reqs], [(res["version"], EVALUATOR)])
        # nobody else may sign, an unknown evaluator neither
        r = self.signoff(HEAD, "approve", SUP, 1)
        self.assertEqual(self.rejected_reason(r), "supervisor: %s is not the supervisor of %s" % (SUP, HEAD))
        r = self.signoff(HEAD, "approve", "walikota:x", 1)
        self.assertEqual(self.rejected_reason(r), "supervisor: unknown evaluator id walikota:x")
        self.assertEqual(self.cli("signoff", HEAD, "--period", PERIOD, "--supervisor", "12345", "--approve",
                                  expect=2).returncode, 2)
        # reminded like any supervisor
        self.stack.sql("UPDATE results SET pending_since = now() - interval '5 days' WHERE employee = %s"
                       " AND period = %s", (HEAD, PERIOD))
        self.app_sql("SELECT kinerja_queue_reminders(3)")
        rem = self.notes(EVALUATOR, "signoff_reminder", HEAD)
        self.assertEqual([(n["version"], n["payload"]["request"]) for n in rem], [(res["version"], reqs[0]["id"])])
        # an evaluator who signs for someone cannot be removed from under them
        with self.assertRaises(psycopg2.Error) as cm:
            self.stack.sql("DELETE FROM evaluators WHERE id = %s", (EVALUATOR,))
        self.assertIn("evaluators: %s is the supervisor of %s" % (EVALUATOR, HEAD), str(cm.exception))
        # the evaluator signs
        r = self.signoff(HEAD, "approve", EVALUATOR, 0, "--note", "disetujui")
        self.assertIn("is now approved", r.stdout)
        approved = self.notes(HEAD, "result_approved", HEAD)
        self.assertEqual([(n["payload"]["supervisor"], n["payload"]["note"]) for n in approved],
                         [(EVALUATOR, "disetujui")])
        self.assertIn("signoff_requested", self.cli("inbox", EVALUATOR).stdout)
        self.assertEqual(self.cli("inbox", "walikota:x", expect=1).returncode, 1)

    # ---- 3. superseded requests, reminders for the current one --------------------------

    def test_3_newer_request_supersedes(self):
        a1 = A[1]
        v1 = self.result(a1)["version"]
        self.send([work_result(a1, "SKP-2", 6, ts=TS + 1000)])  # a real change: achievement 1.0 -> 0.8
        self.stack.wait_for(lambda: self.result(a1)["version"] > v1, timeout=SETTLE_TIMEOUT, what="new version")
        v2 = self.result(a1)["version"]
        self.stack.wait_for(lambda: [n for n in self.notes(SUP, "signoff_requested", a1) if n["version"] == v2],
                            timeout=10, what="the request for the new version")
        reqs = self.notes(SUP, "signoff_requested", a1)
        self.assertGreaterEqual(len(reqs), 2)
        self.assertEqual((reqs[0]["version"], reqs[0]["superseded"], reqs[0]["superseded_by_version"]),
                         (v2, False, None))
        for old in reqs[1:]:
            self.assertIs(old["superseded"], True, old)
            self.assertEqual(old["superseded_by_version"], v2)
        self.assertIn("superseded by version %d" % v2, self.cli("inbox", SUP, "--limit", "0").stdout)

        # pending 5 days, reminders after 3: one, naming the current request only
        self.stack.sql("UPDATE results SET pending_since = now() - interval '5 days' WHERE employee = %s"
                       " AND period = %s", (a1, PERIOD))
        self.assertGreaterEqual(self.app_sql("SELECT kinerja_queue_reminders(3)")[0][0], 1)
        rem = self.notes(SUP, "signoff_reminder", a1)
        self.assertEqual(len(rem), 1)
        self.assertEqual((rem[0]["version"], rem[0]["payload"]["request"], rem[0]["superseded"]),
                         (v2, reqs[0]["id"], False))
        # a newer version supersedes the reminder too
        self.send([work_result(a1, "SKP-3", 2, ts=TS + 2000)])
        self.stack.wait_for(lambda: self.result(a1)["version"] > v2, timeout=SETTLE_TIMEOUT, what="version 3")
        self.stack.wait_for(lambda: self.notes(SUP, "signoff_reminder", a1)[0]["superseded"],
                            timeout=10, what="the reminder superseded")
        current = [n for n in self.inbox(SUP) if n["employee"] == a1 and not n["superseded"]]
        self.assertEqual([(n["kind"], n["version"]) for n in current], [("signoff_requested", self.result(a1)["version"])])

    # ---- 4. one relation per rater and ratee ------------------------------------------

    def test_4_one_relation_per_rater(self):
        # S1 reports to X and sits in X's unit, so it could pass as both peer and subordinate
        first = evaluation(X, S1, "peer", 4, ts=TS + 10)
        self.send([first])
        self.assertEqual(self.outcome(first["id"]), ("stored", None))
        second = evaluation(X, S1, "subordinate", 5, ts=TS + 20)
        self.send([second])
        self.assertEqual(self.outcome(second["id"]),
                         ("rejected", "relation: %s already rates %s as peer in %s; one rater holds one relation"
                          % (S1, X, PERIOD)))
        # correcting oneself in the same relation still replaces the earlier evaluation
        fix = evaluation(X, S1, "peer", 2, ts=TS + 30)
        self.send([fix])
        self.assertEqual(self.outcome(fix["id"]), ("stored", None))
        self.assertEqual(self.stack.sql("SELECT relation, event_id::text FROM ratings WHERE period = %s"
                                        " AND employee = %s AND rater = %s", (PERIOD, X, S1)), [("peer", fix["id"])])
        # through the broker the two may reach the ingest step in one batch or in two:
        # either way the first relation holds and the second is refused
        sub, peer = evaluation(X, S2, "subordinate", 4, ts=TS + 40), evaluation(X, S2, "peer", 4, ts=TS + 41)
        self.send([sub, peer])
        self.assertEqual(self.outcome(sub["id"]), ("stored", None))
        state, why = self.outcome(peer["id"])
        self.assertEqual(state, "rejected")
        self.assertRegex(why, r"^relation: %s already rates %s as subordinate in %s( \(earlier in this batch\))?;"
                         r" one rater holds one relation$" % (S2, X, PERIOD))
        # one batch for certain: the ingest step itself, fed as the ingest worker feeds it
        # (common/pgstore.c: COPY into ingest_staging, then kinerja_ingest_staged)
        sub, peer = evaluation(X, S3, "subordinate", 4, ts=TS + 60), evaluation(X, S3, "peer", 4, ts=TS + 61)
        counts, why = self.ingest_batch([peer, sub])  # seq order: peer first
        self.assertEqual(counts, (1, 1, 0))
        self.assertEqual((why[peer["id"]], why[sub["id"]]),
                         (None, "relation: %s already rates %s as peer in %s (earlier in this batch);"
                                " one rater holds one relation" % (S3, X, PERIOD)))
        # a row refused for another reason holds nothing: Q3 does not report to X
        bad, ok = evaluation(X, Q[2], "subordinate", 4, ts=TS + 70), evaluation(X, Q[2], "peer", 4, ts=TS + 71)
        counts, why = self.ingest_batch([bad, ok])
        self.assertEqual(counts, (1, 1, 0))
        self.assertEqual((why[bad["id"]], why[ok["id"]]), ("rater: %s does not report to %s" % (Q[2], X), None))
        # the supervisor is never a peer (SPEC 4), even as the first rating
        boss = evaluation(B, SUP, "peer", 5, ts=TS + 50)
        self.send([boss])
        self.assertEqual(self.outcome(boss["id"]),
                         ("rejected", "relation: %s is the supervisor of %s, so rates as supervisor, not as peer;"
                          " one rater holds one relation" % (SUP, B)))
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM ratings WHERE period = %s AND employee = %s"
                                              " AND rater = %s", (PERIOD, B, SUP)), 0)

    # ---- 5. a returned result waits for new input ---------------------------------------

    def test_5_return_then_new_input_offers(self):
        a2 = A[2]
        v = self.result(a2)["version"]
        self.signoff(a2, "return", SUP, 0, "--note", "SKP-2 belum masuk")
        self.assertEqual((self.result(a2)["state"], self.result(a2)["version"]), ("collecting", v))
        self.send([work_result(a2, "SKP-2", 12, ts=TS + 3000)])
        self.stack.wait_for(lambda: self.result(a2)["version"] > v and self.result(a2)["state"] == "pending_signoff",
                            timeout=SETTLE_TIMEOUT, what="the new version offered by itself")
        reqs = self.notes(SUP, "signoff_requested", a2)
        self.assertEqual((reqs[0]["version"], reqs[0]["superseded"]), (self.result(a2)["version"], False))
        self.assertEqual(self.transitions(a2)[-3:], [("pending_signoff", "returned"), ("returned", "collecting"),
                                                    ("collecting", "pending_signoff")])

    # ---- 6. reopen an approved result --------------------------------------------------

    def test_6_reopen_takes_late_inputs(self):
        a3 = A[3]
        v = self.result(a3)["version"]
        self.signoff(a3, "approve")
        late = work_result(a3, "SKP-2", 5, ts=TS + 4000)  # achievement (1.0 + 0.5) / 2 = 0.75: below
        self.send([late])
        self.assertEqual(self.outcome(late["id"]), ("stored", None))
        self.stack.wait_for(lambda: self.result(a3)["late_events"] == 1, timeout=10, what="counted late")
        self.settle(self.stack)
        self.assertEqual((self.result(a3)["state"], self.result(a3)["version"]), ("approved", v))

        r = self.signoff(a3, "return", SUP, 0, "--note", "SKP-2 terlambat masuk")
        self.assertIn("reopened", r.stdout)
        ret = self.notes(a3, "result_returned", a3)
        self.assertEqual(len(ret), 1)
        self.assertEqual((ret[0]["payload"]["reopened"], ret[0]["payload"]["late_events"], ret[0]["version"]),
                         (True, 1, v))
        self.assertEqual(self.result(a3)["late_events"], 0)  # taken in now; the late_events table keeps it
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM late_events WHERE event_id = %s",
                                              (late["id"],)), 1)
        # the score worker takes the late work result in: a new version, offered
        self.stack.wait_for(lambda: self.result(a3)["version"] > v and self.result(a3)["state"] == "pending_signoff",
                            timeout=SETTLE_TIMEOUT, what="a new version with the late input, offered")
        nv = self.result(a3)["version"]
        self.assertEqual(self.stack.sql_value(
            "SELECT (result::json #>> '{hasil_kerja,indicators}')::int FROM score_versions WHERE employee = %s"
            " AND period = %s AND version = %s", (a3, PERIOD, nv)), 2)
        self.assertEqual(self.notes(SUP, "signoff_requested", a3)[0]["version"], nv)
        self.assertEqual(self.transitions(a3)[-4:], [("pending_signoff", "approved"), ("approved", "returned"),
                                                    ("returned", "collecting"), ("collecting", "pending_signoff")])
        who = self.stack.sql("SELECT actor, note, event_id IS NOT NULL FROM result_audit WHERE employee = %s"
                             " AND period = %s AND from_state = 'approved' AND to_state = 'returned'", (a3, PERIOD))
        self.assertEqual(who, [(SUP, "SKP-2 terlambat masuk", True)])

        # a final result cannot be reopened
        a4 = A[4]
        self.signoff(a4, "approve")
        self.stack.sql("UPDATE results SET appeal_deadline = now() - interval '1 day' WHERE employee = %s"
                       " AND period = %s", (a4, PERIOD))
        self.app_sql("SELECT kinerja_finalize_due()")
        r = self.signoff(a4, "return", SUP, 1)
        self.assertEqual(self.rejected_reason(r),
                         "signoff: result of %s for %s is final: only a pending_signoff result can be returned, "
                         "or an approved one reopened" % (a4, PERIOD))

    def test_6b_no_predikat_cannot_be_approved(self):
        # a pending result whose current version has no predikat (its supervisor withdrew
        # the judgement the hasil kerja rested on; made here by hand) is never approved
        a2 = A[2]
        self.assertEqual(self.result(a2)["state"], "pending_signoff")
        self.stack.sql("UPDATE results SET predikat = NULL WHERE employee = %s AND period = %s", (a2, PERIOD))
        r = self.signoff(a2, "approve", SUP, 1)
        self.assertEqual(self.rejected_reason(r), "signoff: result of %s for %s has no predikat: it cannot be "
                                                  "approved, only returned" % (a2, PERIOD))
        self.signoff(a2, "return")
        self.assertEqual(self.result(a2)["state"], "collecting")

    # ---- 7. a new supervisor gets the pending requests (SPEC 4) ---------------------------

    def test_7_new_supervisor_gets_pending_requests(self):
        a5 = A[5]
        res = self.result(a5)
        self.assertEqual(res["state"], "pending_signoff")
        # (HEAD's row goes back to no supervisor here; HEAD is approved by now)
        r = self.stack.org_import(org_csv(a5_supervisor=X), name="org2.csv")
        self.assertIn("employees=2 ", r.stdout)  # A5 and HEAD changed
        reqs = self.notes(X, "signoff_requested", a5)
        self.assertEqual([(n["version"], n["superseded"]) for n in reqs], [(res["version"], False)])
        self.assertTrue(all(n["superseded"] for n in self.notes(SUP, "signoff_requested", a5)))
        r = self.signoff(a5, "approve", SUP, 1)
        self.assertEqual(self.rejected_reason(r), "supervisor: %s is not the supervisor of %s" % (SUP, a5))
        self.signoff(a5, "approve", X)
        self.assertEqual(self.result(a5)["state"], "approved")

        # no supervisor at all any more: a pending result goes back to collecting, its
        # requests superseded; the next period-close tick tells the employee; naming a
        # supervisor again offers it again
        a1 = A[1]
        self.assertEqual(self.result(a1)["state"], "pending_signoff")
        r = self.stack.org_import(org_csv(a5_supervisor=X, a1_supervisor=""), name="org3.csv")
        self.assertIn("%s (Staf A1) has no pejabat penilai" % a1, r.stderr)
        self.assertEqual(self.result(a1)["state"], "collecting")
        self.assertEqual(self.transitions(a1)[-2:], [("pending_signoff", "returned"), ("returned", "collecting")])
        self.assertTrue(all(n["superseded"] for n in self.inbox(SUP) if n["employee"] == a1
                            and n["kind"] in ("signoff_requested", "signoff_reminder")))
        self.scheduler_tick()
        told = self.notes(a1, "inputs_missing", a1)
        self.assertEqual([n["payload"]["missing"] for n in told], [["pejabat_penilai"]])
        self.assertEqual(self.result(a1)["state"], "collecting")
        self.stack.org_import(org_csv(a5_supervisor=X), name="org4.csv")
        self.scheduler_tick()
        self.assertEqual(self.result(a1)["state"], "pending_signoff")
        self.assertEqual(self.notes(SUP, "signoff_requested", a1)[0]["superseded"], False)

    # ---- the sign-off requests' audit, once per statement (0024) --------------------------

    def test_8_signoff_request_audit_is_one_row_per_move(self):
        """kinerja_request_signoff writes the audit of the results it moves itself, from
        its UPDATE's RETURNING; the row trigger skips exactly that move. One row per moved
        result (the trigger as well would make two), with the actor and note as before;
        the skip ends with the function, and never covers another transition."""
        pending = [e for e in A.values() if self.result(e)["state"] == "pending_signoff"]
        self.assertTrue(pending, "no pending result to take back")
        a = pending[0]
        conn = psycopg2.connect(self.app_dsn)
        try:
            with conn.cursor() as cur:
                def audit_rows():
                    cur.execute("SELECT from_state::text, to_state::text, version, actor, note FROM result_audit"
                                " WHERE employee = %s AND period = %s ORDER BY id", (a, PERIOD))
                    return cur.fetchall()

                before = audit_rows()
                version = self.result(a)["version"]
                # take it back (each move through the row trigger), then offer it again
                cur.execute("UPDATE results SET state = 'returned', returned_version = NULL WHERE employee = %s"
                            " AND period = %s", (a, PERIOD))
                cur.execute("UPDATE results SET state = 'collecting' WHERE employee = %s AND period = %s",
                            (a, PERIOD))
                cur.execute("SELECT kinerja_request_signoff(%s, true, 'penguji-8', 'ditawarkan lagi', %s)",
                            (PERIOD, a))
                self.assertEqual(cur.fetchone()[0], 1)
                self.assertEqual(audit_rows()[len(before):],
                                 [("pending_signoff", "returned", version, "kinerja_wf2_app", None),
                                  ("returned", "collecting", version, "kinerja_wf2_app", None),
                                  ("collecting", "pending_signoff", version, "penguji-8", "ditawarkan lagi")])
                # no actor or note given: the session's, as results_transition took them
                cur.execute("UPDATE results SET state = 'returned' WHERE employee = %s AND period = %s", (a, PERIOD))
                cur.execute("UPDATE results SET state = 'collecting' WHERE employee = %s AND period = %s",
                            (a, PERIOD))
                cur.execute("SET LOCAL kinerja.note = 'dari sesi'")
                cur.execute("SELECT kinerja_request_signoff(%s, true, NULL, NULL, %s)", (PERIOD, a))
                self.assertEqual(audit_rows()[-1], ("collecting", "pending_signoff", version, "kinerja_wf2_app",
                                                    "dari sesi"))
                cur.execute("SELECT coalesce(current_setting('kinerja.transition_audit', true), '')")
                self.assertEqual(cur.fetchone()[0], "")
                # the setting on in a session skips no check and no other move's audit
                cur.execute("SET LOCAL kinerja.transition_audit = 'statement'")
                cur.execute("UPDATE results SET state = 'returned' WHERE employee = %s AND period = %s", (a, PERIOD))
                self.assertEqual(audit_rows()[-1][:2], ("pending_signoff", "returned"))
                cur.execute("SAVEPOINT s")
                with self.assertRaises(psycopg2.errors.CheckViolation):
                    cur.execute("UPDATE results SET state = 'approved' WHERE employee = %s AND period = %s",
                                (a, PERIOD))
                cur.execute("ROLLBACK TO SAVEPOINT s")
        finally:
            conn.rollback()
            conn.close()
        self.assertEqual(self.result(a)["state"], "pending_signoff")

    # ---- the audit trail, over everything ------------------------------------------------

    def test_99_every_transition_is_audited(self):
        self.settle(self.stack)
        for employee, state in self.stack.sql("SELECT employee, state::text FROM results WHERE period = %s",
                                              (PERIOD,)):
            with self.subTest(employee=employee):
                trail = self.stack.sql("SELECT from_state::text, to_state::text FROM result_audit"
                                       " WHERE employee = %s AND period = %s ORDER BY id", (employee, PERIOD))
                self.assertIsNone(trail[0][0])
                for prev, row in zip(trail, trail[1:]):
                    self.assertEqual(row[0], prev[1], trail)
                self.assertEqual(trail[-1][1], state, trail)


class WorkflowV2SplitSignoffTest(WorkflowV2Test):
    """Every test above again, with every period's sign-off requests made in two parts
    at once after the results are committed (score.signoff_split_min = 1; at its default
    only periods of 20 000 results or more are split; schemas/0025_signoff_parts.sql)."""
    score_env = {"KINERJA_SCORE_SIGNOFF_SPLIT_MIN": "1", "KINERJA_SCORE_THREADS": "2",
                 "KINERJA_SCORE_WORK_MEM_MB": "77"}
    # the workers' statements in the server's log: the score worker's sessions are seen set up
    before_workers_sql = ("ALTER ROLE kinerja_wf2_app SET log_statement = 'all'",)

    def test_0_requests_were_made_in_parts(self):
        self.assertIn("sign-off requests made in 2 parts after the results were committed",
                      self.stack.log_text(self.scorer))

    def test_0b_the_score_sessions_run_with_score_work_mem(self):
        """score.work_mem_mb: the worker's own session and the second part's connection
        each SET work_mem (a whole period's statements spill under the server's 4 MB)."""
        log = self.stack.log_text("postgres")
        self.assertGreaterEqual(log.count("statement: SET work_mem = '77MB'"), 2, log[-3000:])

    def test_85_a_failed_part_leaves_the_period_behind_until_its_requests_are_made(self):
        """The results are committed before the parts run: a part that fails leaves the
        new version stored without its request and the period behind, so the next
        computation (same versions) makes the request; nothing waits for a person."""
        s = self.stack
        pending = [e for e in (A[2], A[3], A[4]) if self.result(e)["state"] == "pending_signoff"]
        self.assertTrue(pending, "no pending result of SUP's")
        a = pending[0]
        v = self.result(a)["version"]

        def current_requests():
            return [n["version"] for n in self.notes(SUP, "signoff_requested", a) if not n["superseded"]]

        self.assertEqual(current_requests(), [v])
        s.sql("REVOKE EXECUTE ON FUNCTION kinerja_after_score(text, int, int) FROM PUBLIC, kinerja_app")
        try:
            self.send([work_result(a, "SKP-9", 5)])
            s.wait_for(lambda: self.result(a)["version"] > v, timeout=SETTLE_TIMEOUT, what="the new version stored")
            s.wait_for(lambda: "permission denied for function kinerja_after_score" in s.log_text(self.scorer),
                       timeout=SETTLE_TIMEOUT, what="the part's failure logged")
            self.assertTrue(s.sql_value("SELECT generation > computed_generation FROM score_periods"
                                        " WHERE period = %s", (PERIOD,)))
            self.assertEqual(current_requests(), [v])
        finally:
            s.sql("GRANT EXECUTE ON FUNCTION kinerja_after_score(text, int, int) TO PUBLIC, kinerja_app")
        self.settle(s)
        nv = self.result(a)["version"]
        self.assertGreater(nv, v)
        self.assertEqual(current_requests(), [nv])
        self.assertEqual(self.result(a)["state"], "pending_signoff")


if __name__ == "__main__":
    unittest.main()
