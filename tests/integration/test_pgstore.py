"""
PostgreSQL side of the intake milestone, against a real PostgreSQL started by the
harness: `kinerja migrate` (idempotent, safe concurrently), `kinerja org import` (good
file, re-import, every kind of bad file leaving the database untouched), the rules of
kinerja_ingest_staged() called directly the way pgstore_ingest_batch calls it (every
rejection reason, citizen-feedback period by time zone, idempotency across event_log
and rejected_events), the append-only event log, and one small ingest through the real
pipeline (broker, Redis, ingest worker) checked with `kinerja status --json`.
"""

import csv
import io
import json
import os
import subprocess
import sys
import unittest
import uuid

import psycopg2

from harness import SCRIPTS_DIR, Stack, StackTestCase

sys.path.insert(0, SCRIPTS_DIR)
import gen_traffic  # noqa: E402

HEADER = "nip,name,unit,position,supervisor_nip,job_family\n"

# A small organisation: TOP heads unit U1; MID reports to TOP; A and B report to MID;
# OTHER heads unit U2 alone.
TOP, MID, A, B, OTHER = ("199001012020011001", "199001012020011002", "199001012020011003",
                         "199001012020011004", "199001012020011005")
SMALL_ORG = HEADER + "\n".join([
    TOP + ',"Kepala, Dinas",U1,Kepala,,admin',
    MID + ",Budi Santoso,U1,Kabid," + TOP + ",admin",
    A + ',"Siti ""Ani"" Rahma",U1,Staf,' + MID + ",admin",
    B + ",Andi,U1,Staf," + MID + ",admin",
    OTHER + ",Guru,U2,Kepala Sekolah,,teacher",
]) + "\n"

STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS ingest_staging ("
    " seq int, id uuid, type text, source text, ts_ms bigint, employee text, unit text,"
    " period text, rater text, relation text, supervisor text, decider text, payload jsonb,"
    " stream_key text, stream_id text, received_ms bigint, reject_reason text"
    ") ON COMMIT DELETE ROWS")

# 2024-01-31 16:30 UTC: still January in Asia/Jakarta (23:30), February in Asia/Makassar.
TS_MONTH_EDGE = 1706718600000


def new_id():
    return str(uuid.uuid4())


class PgTestCase(StackTestCase):
    """Redis and PostgreSQL only, migrated, with SMALL_ORG imported."""

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()
        stack.migrate()
        stack.org_import(SMALL_ORG, name="small.csv")

    def org_snapshot(self):
        return self.stack.sql("SELECT nip, name, unit, position, supervisor_nip, job_family, updated_at"
                              " FROM employees ORDER BY nip")

    def ingest(self, rows, tz="Asia/Jakarta"):
        """Stages rows (dicts of staging columns) and calls kinerja_ingest_staged in one
        transaction, as pgstore_ingest_batch does. Returns (stored, rejected, already)."""
        conn = psycopg2.connect(self.stack.pg_dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(STAGING_DDL)
                for seq, r in enumerate(rows):
                    r = dict({"ts_ms": TS_MONTH_EDGE, "source": "test", "payload": "{}"}, **r)
                    r.setdefault("seq", seq)
                    cols = sorted(r)
                    cur.execute("INSERT INTO ingest_staging (%s) VALUES (%s)" % (
                        ", ".join(cols), ", ".join(["%s"] * len(cols))), [r[c] for c in cols])
                cur.execute("SELECT stored, rejected, already FROM kinerja_ingest_staged(%s)", (tz,))
                return cur.fetchone()
        finally:
            conn.close()

    def reason(self, event_id):
        return self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (event_id,))

    def stored_row(self, event_id):
        rows = self.stack.sql("SELECT type, unit, period, employee FROM event_log WHERE id = %s", (event_id,))
        return rows[0] if rows else None


class TestMigrate(PgTestCase):
    def test_second_run_applies_nothing(self):
        r = self.stack.kinerja("migrate")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^migrate: applied 0, \d+ total$")
        versions = [v for (v,) in self.stack.sql("SELECT version FROM schema_migrations ORDER BY 1")]
        self.assertIn("0001_intake", versions)
        self.assertEqual(len(versions), len(set(versions)))

    def test_functions_are_their_files_after_every_migrate(self):
        """schemas/functions/: each file's body is the function's, whatever the migrations
        left; a body changed behind migrate's back is put back by the next migrate."""
        fdir = os.path.join(os.path.dirname(__file__), "..", "..", "schemas", "functions")
        names = sorted(f[:-4] for f in os.listdir(fdir) if f.endswith(".sql"))
        self.assertIn("kinerja_ingest_staged", names)
        for name in names:
            body = self.stack.sql_value("SELECT prosrc FROM pg_proc WHERE proname = %s", (name,))
            with open(os.path.join(fdir, name + ".sql")) as f:
                text = f.read()
            self.assertIn(body.strip()[:200], text, name)
        # the feedback rule (0015) lives only in the file and is in force
        self.assertIn("IN ('signoff', 'feedback')", self.stack.sql_value(
            "SELECT prosrc FROM pg_proc WHERE proname = 'kinerja_ingest_staged'"))
        self.stack.sql("CREATE OR REPLACE FUNCTION event_log_late_longer() RETURNS trigger "
                       "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
        r = self.stack.kinerja("migrate")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("BEGIN RETURN NULL; END", self.stack.sql_value(
            "SELECT prosrc FROM pg_proc WHERE proname = 'event_log_late_longer'"))

    def test_pure_sql_functions_are_parallel_safe(self):
        """An IMMUTABLE SQL function left PARALLEL UNSAFE (the default) keeps every query
        that calls it off parallel workers (schemas/0026_parallel_safe.sql): the rebuild's
        check of the work results ran on one core for it."""
        unsafe = self.stack.sql(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')"
            " AND p.provolatile = 'i' AND p.proparallel <> 's' ORDER BY 1")
        self.assertEqual(unsafe, [])
        self.assertEqual(self.stack.sql_value("SELECT proparallel FROM pg_proc WHERE proname = 'kinerja_jsonb_num'"),
                         "s")

    def test_per_row_sql_functions_are_inlined(self):
        """The SQL functions the sign-off requests call per row are inlined into the
        statement, not run as a function call each (an IMMUTABLE function whose body calls
        a STABLE one, jsonb_build_object, is not inlined: kinerja_signoff_from_facts was
        ~1.4 s of a 100 000-result period's sign-off part)."""
        self.stack.sql("CREATE TABLE inline_probe (f jsonb, c boolean, l int, r int, s result_state, p text, "
                       "sup text, nip text)")
        try:
            plan = "\n".join(row[0] for row in self.stack.sql(
                "EXPLAIN (VERBOSE, COSTS OFF) SELECT kinerja_signoff_from_facts(f, c, l, r), "
                "kinerja_offerable(s, l, p, r, sup), kinerja_part_of(nip, 2) FROM inline_probe"))
        finally:
            self.stack.sql("DROP TABLE inline_probe")
        for name in ("kinerja_signoff_from_facts", "kinerja_offerable", "kinerja_part_of"):
            self.assertNotIn(name, plan)
        self.assertIn("jsonb_build_object('calibration', c", plan)

    def test_concurrent_runs_on_fresh_database(self):
        self.stack.sql("DROP DATABASE IF EXISTS kinerja_fresh", dbname="postgres")
        self.stack.sql("CREATE DATABASE kinerja_fresh", dbname="postgres")
        dsn = self.stack.pg_dsn.replace("dbname=kinerja", "dbname=kinerja_fresh")
        env = dict(self.stack.env, KINERJA_POSTGRES_DSN=dsn)
        procs = [subprocess.Popen([os.path.join(self.stack.bin_dir, "kinerja"), "migrate"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, err)
        applied = sorted(int(out.split("applied ")[1].split(",")[0]) for out, _ in outs)
        total = int(outs[0][0].split(", ")[1].split()[0])
        # Each migration is applied under the lock in its own transaction, so concurrent
        # runs may share the work; together they apply every one exactly once.
        self.assertEqual(sum(applied), total, outs)
        self.assertEqual(self.stack.sql("SELECT count(*) FROM schema_migrations", dbname="kinerja_fresh")[0][0],
                         total)

    def test_usage_and_unreachable(self):
        self.assertEqual(self.stack.kinerja("migrate", "extra").returncode, 2)
        r = self.stack.kinerja("migrate", env={"KINERJA_POSTGRES_DSN": "host=127.0.0.1 port=1 dbname=x"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("PostgreSQL", r.stderr)


class TestOrgImport(PgTestCase):
    def test_reimport_is_unchanged(self):
        before = self.org_snapshot()
        r = self.stack.kinerja("org", "import", self.stack.write_file("again.csv", SMALL_ORG))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "org import: units=0 employees=0 unchanged=5")
        self.assertEqual(self.org_snapshot(), before)

    def test_quoting_and_stdin(self):
        names = dict(self.stack.sql("SELECT nip, name FROM employees"))
        self.assertEqual(names[TOP], "Kepala, Dinas")
        self.assertEqual(names[A], 'Siti "Ani" Rahma')
        r = self.stack.kinerja("org", "import", "-", input=SMALL_ORG.replace("\n", "\r\n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("unchanged=5", r.stdout)

    def test_generated_org_then_one_change(self):
        csv_text = gen_traffic.make_org(units=4, per_unit=6, seed=7)
        rows = list(csv.reader(io.StringIO(csv_text)))[1:]
        units = {row[2] for row in rows}
        r = self.stack.kinerja("org", "import", self.stack.write_file("gen.csv", csv_text))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "org import: units=%d employees=%d unchanged=0" % (len(units), len(rows)))
        # Moving one person to another position changes exactly that row.
        rows[0][3] = "Jabatan Baru"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([HEADER.strip().split(",")] + rows)
        r = self.stack.kinerja("org", "import", self.stack.write_file("gen2.csv", out.getvalue()))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "org import: units=0 employees=1 unchanged=%d" % (len(rows) - 1))
        self.assertEqual(self.stack.sql_value("SELECT position FROM employees WHERE nip = %s", (rows[0][0],)),
                         "Jabatan Baru")

    def assert_refused(self, text, *expect):
        before = self.org_snapshot()
        units_before = self.stack.sql("SELECT code FROM units ORDER BY 1")
        r = self.stack.kinerja("org", "import", self.stack.write_file("bad.csv", text))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for e in expect:
            self.assertIn(e, r.stderr)
        self.assertEqual(self.org_snapshot(), before, "a refused file must change nothing")
        self.assertEqual(self.stack.sql("SELECT code FROM units ORDER BY 1"), units_before)

    def test_bad_nip(self):
        self.assert_refused(HEADER + "199001012020011099,X,NEWUNIT,,,\n12345,Y,U1,,,\n",
                            "line 3: nip: must be 18 digits, got '12345'")

    def test_unknown_supervisor(self):
        self.assert_refused(HEADER + "199001012020011099,X,NEWUNIT,,%s,\n199001012020011098,Y,U1,,188888888888888888,\n"
                            % TOP, "line 3: supervisor_nip: unknown NIP or evaluator id 188888888888888888")

    def test_cycle_through_stored_rows(self):
        # TOP would report to A, who reports (via MID) to TOP.
        self.assert_refused(HEADER + TOP + ",Kepala,U1,Kepala," + A + ",admin\n",
                            "line 2: supervisor_nip: cycle", TOP + " -> " + A)

    def test_cycle_inside_file(self):
        self.assert_refused(HEADER + "199001012020011090,X,U1,,199001012020011091,\n"
                            "199001012020011091,Y,U1,,199001012020011090,\n", "supervisor_nip: cycle")

    def test_self_supervision(self):
        self.assert_refused(HEADER + A + ",X,U1,," + A + ",\n", "line 2: supervisor_nip")

    def test_missing_column(self):
        self.assert_refused("nip,name,unit,position,supervisor_nip\n" + A + ",X,U1,,\n",
                            "header: missing column job_family")

    def test_wrong_field_count_and_quotes(self):
        self.assert_refused(HEADER + A + ",X,U1,,,,\n", "line 2: expected 6 fields, got 7")
        self.assert_refused(HEADER + A + ',"X,U1,,,\n', "line 2: quoted field not closed")
        self.assert_refused(HEADER + A + ',X"Y,U1,,,\n', "line 2: field 2: quote inside an unquoted field")

    def test_repeated_nip_and_empty_file(self):
        self.assert_refused(HEADER + A + ",X,U1,,,\n" + A + ",Y,U1,,,\n", "line 3: nip:", "first on line 2")
        self.assert_refused("", "header: missing")

    def test_usage(self):
        self.assertEqual(self.stack.kinerja("org").returncode, 2)
        self.assertEqual(self.stack.kinerja("org", "import").returncode, 2)
        self.assertEqual(self.stack.kinerja("org", "import", "/nonexistent.csv").returncode, 1)


class TestIngestRules(PgTestCase):
    """kinerja_ingest_staged(): one rule a row, with the reason the rejected-events
    table must carry."""

    def check(self, row, reason=None):
        row = dict(row, id=row.get("id") or new_id())
        stored, rejected, already = self.ingest([row])
        if reason is None:
            self.assertEqual((stored, rejected, already), (1, 0, 0), self.reason(row["id"]))
            self.assertIsNotNone(self.stored_row(row["id"]))
        else:
            self.assertEqual((stored, rejected, already), (0, 1, 0))
            self.assertEqual(self.reason(row["id"]), reason)
            self.assertIsNone(self.stored_row(row["id"]))
        return row["id"]

    def ev(self, rater, relation, employee=A):
        return {"type": "evaluation", "employee": employee, "period": "2024-01", "rater": rater,
                "relation": relation}

    def test_unknown_employee_unit_rater(self):
        nobody = "199999999999999999"
        self.check({"type": "work_result", "employee": nobody, "period": "2024-01"},
                   "employee: unknown NIP " + nobody)
        self.check({"type": "citizen_feedback", "unit": "NOPE"}, "unit: unknown unit NOPE")
        self.check({"type": "citizen_feedback", "unit": "U1", "employee": nobody}, "employee: unknown NIP " + nobody)
        self.check(self.ev(nobody, "peer"), "rater: unknown NIP " + nobody)
        self.check({"type": "signoff", "employee": A, "period": "2024-01", "supervisor": nobody},
                   "supervisor: unknown NIP " + nobody)
        self.check({"type": "appeal_decision", "employee": A, "period": "2024-01", "decider": nobody},
                   "decider: unknown NIP " + nobody)

    def test_relations(self):
        self.check(self.ev(MID, "supervisor"))
        self.check(self.ev(TOP, "supervisor"), "rater: %s is not the supervisor of %s" % (TOP, A))
        self.check(self.ev(A, "subordinate", employee=MID))
        self.check(self.ev(B, "subordinate"), "rater: %s does not report to %s" % (B, A))
        self.check(self.ev(A, "self"))
        self.check(self.ev(B, "self"), "rater: %s is not %s (a self evaluation comes from the employee)" % (B, A))
        self.check(self.ev(B, "peer"))
        self.check(self.ev(OTHER, "peer"), "rater: %s is not a peer of %s (peers are others in unit U1)" % (OTHER, A))
        self.check(self.ev(A, "peer"), "rater: %s is not a peer of %s (peers are others in unit U1)" % (A, A))

    def test_signoff_and_appeal_decision_chain(self):
        # The workflow (0003) also wants a result in the right state: pending_signoff for a
        # sign-off of its current version, appealed for a decision. These events carry no
        # decision, so storing them changes nothing.
        self.stack.sql("INSERT INTO results (employee, period, state, version) VALUES (%s, '2024-01', 'collecting', 1)"
                       " ON CONFLICT DO NOTHING", (A,))
        self.stack.sql("UPDATE results SET state = 'pending_signoff' WHERE employee = %s AND period = '2024-01'", (A,))
        self.check({"type": "signoff", "employee": A, "period": "2024-01", "supervisor": MID,
                    "payload": '{"version": 1}'})
        self.check({"type": "signoff", "employee": A, "period": "2024-01", "supervisor": TOP},
                   "supervisor: %s is not the supervisor of %s" % (TOP, A))
        for state in ("approved", "appealed"):
            self.stack.sql("UPDATE results SET state = %s WHERE employee = %s AND period = '2024-01'", (state, A))
        self.check({"type": "appeal_decision", "employee": A, "period": "2024-01", "decider": TOP})
        self.check({"type": "appeal_decision", "employee": A, "period": "2024-01", "decider": MID},
                   "decider: %s is not the supervisor of %s, the supervisor of %s" % (MID, MID, A))
        self.check({"type": "appeal_decision", "employee": MID, "period": "2024-01", "decider": TOP},
                   "decider: %s, the supervisor of %s, has no supervisor to decide appeals" % (TOP, MID))

    def test_recalc(self):
        self.check({"type": "recalc", "period": "2024-01"})
        self.check({"type": "recalc", "unit": "U1", "employee": A})
        self.check({"type": "recalc", "unit": "U9"}, "unit: unknown unit U9")

    def test_preset_reason_wins(self):
        self.check({"type": "evaluation", "employee": A, "rater": MID, "relation": "supervisor",
                    "reject_reason": "behaviour.loyal: must be an integer 1..5, got 9"},
                   "behaviour.loyal: must be an integer 1..5, got 9")

    def test_citizen_feedback_period_and_unit(self):
        jkt = self.check({"type": "citizen_feedback", "unit": "U1"})
        self.assertEqual(self.stored_row(jkt), ("citizen_feedback", "U1", "2024-01", None))
        i = new_id()
        self.assertEqual(self.ingest([{"id": i, "type": "citizen_feedback", "unit": "U2"}], tz="Asia/Makassar"),
                         (1, 0, 0))
        self.assertEqual(self.stored_row(i)[2], "2024-02")
        # Other types carry the employee's unit, for per-unit reports.
        w = self.check({"type": "work_result", "employee": OTHER, "period": "2024-03"})
        self.assertEqual(self.stored_row(w), ("work_result", "U2", "2024-03", OTHER))

    def test_exactly_once_across_tables_and_batches(self):
        good, bad, twice = new_id(), new_id(), new_id()
        rows = [
            {"id": good, "type": "citizen_feedback", "unit": "U1", "payload": '{"n": 1}'},
            {"id": bad, "type": "citizen_feedback", "unit": "NOPE"},
            {"id": twice, "type": "citizen_feedback", "unit": "U1", "payload": '{"n": 1}'},
            {"id": twice, "type": "citizen_feedback", "unit": "U1", "payload": '{"n": 2}'},
        ]
        self.assertEqual(self.ingest(rows), (2, 1, 1))
        # The first of two copies in a batch wins.
        self.assertEqual(self.stack.sql_value("SELECT payload->>'n' FROM event_log WHERE id = %s", (twice,)), "1")
        # Redelivery of the same batch changes nothing.
        self.assertEqual(self.ingest(rows), (0, 0, 4))
        # A stored id arriving with a rejection, and a rejected id arriving valid: neither moves.
        self.assertEqual(self.ingest([{"id": good, "type": "citizen_feedback", "reject_reason": "x"},
                                      {"id": bad, "type": "citizen_feedback", "unit": "U1"}]), (0, 0, 2))
        self.assertIsNotNone(self.stored_row(good))
        self.assertIsNone(self.reason(good))
        self.assertIsNone(self.stored_row(bad))
        self.assertEqual(self.reason(bad), "unit: unknown unit NOPE")

    def test_unknown_time_zone_refuses_batch(self):
        i = new_id()
        with self.assertRaises(psycopg2.Error):
            self.ingest([{"id": i, "type": "citizen_feedback", "unit": "U1"}], tz="Mars/Olympus")
        self.assertIsNone(self.stored_row(i))

    def test_event_log_is_append_only(self):
        i = self.check({"type": "citizen_feedback", "unit": "U1"})
        for stmt in ("UPDATE event_log SET source = 'x' WHERE id = %s", "DELETE FROM event_log WHERE id = %s"):
            with self.assertRaises(psycopg2.Error) as cm:
                self.stack.sql(stmt, (i,))
            self.assertIn("append-only", str(cm.exception))
        self.assertIsNotNone(self.stored_row(i))

    def test_app_role_has_only_dml_it_needs(self):
        self.stack.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kinerja_test_app')"
                       " THEN CREATE ROLE kinerja_test_app LOGIN IN ROLE kinerja_app; END IF; END $$")
        dsn = self.stack.pg_dsn.replace("user=kinerja", "user=kinerja_test_app")
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(STAGING_DDL)
                cur.execute("SELECT count(*) FROM employees")
                for stmt in ("DELETE FROM rejected_events", "UPDATE employees SET name = 'x'",
                             "INSERT INTO units (code) VALUES ('HACK')", "DROP TABLE event_log"):
                    with self.assertRaises(psycopg2.Error, msg=stmt):
                        cur.execute(stmt)
        finally:
            conn.close()
        # The same role can run a whole ingest batch.
        i = new_id()
        conn = psycopg2.connect(dsn)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(STAGING_DDL)
                cur.execute("INSERT INTO ingest_staging (seq, id, type, source, ts_ms, unit, payload)"
                            " VALUES (0, %s, 'citizen_feedback', 'k', %s, 'U1', '{}')", (i, TS_MONTH_EDGE))
                cur.execute("SELECT stored, rejected, already FROM kinerja_ingest_staged('Asia/Jakarta')")
                self.assertEqual(cur.fetchone(), (1, 0, 0))
        finally:
            conn.close()


class TestDeferredDerivation(PgTestCase):
    """0019: a batch of at least kinerja.derive_defer_min events (256) queues its
    derivable events in derive_queue instead of deriving them; kinerja_derive_queued()
    derives them exactly once, in the transaction that takes them from the queue; a
    small batch derives the queue with its own events."""

    def feedback_rows(self, n, rating=3):
        return [{"id": new_id(), "type": "citizen_feedback", "unit": "U2",
                 "payload": json.dumps({"rating": rating})} for _ in range(n)]

    def count_in(self, table, col, ids):
        return self.stack.sql_value("SELECT count(*) FROM %s WHERE %s = ANY (%%s::uuid[])" % (table, col), (ids,))

    def queued(self, ids):
        return self.stack.sql_value("SELECT count(*) FROM derive_queue WHERE (ev).id = ANY (%s::uuid[])", (ids,))

    def test_large_batch_is_queued_then_derived_once(self):
        rows = self.feedback_rows(300)
        ids = [r["id"] for r in rows]
        self.assertEqual(self.ingest(rows), (300, 0, 0))
        self.assertEqual(self.count_in("event_log", "id", ids), 300)
        self.assertEqual(self.queued(ids), 300)
        self.assertEqual(self.count_in("feedback", "event_id", ids), 0)
        gen = self.stack.sql_value("SELECT generation FROM score_periods WHERE period = '2024-01'") or 0

        # taken and rolled back (a deriver that crashed): nothing derived, still queued
        conn = psycopg2.connect(self.stack.pg_dsn)
        try:
            cur = conn.cursor()
            cur.execute("SELECT kinerja_derive_queued(100000, true)")
            self.assertGreaterEqual(cur.fetchone()[0], 300)
            conn.rollback()
        finally:
            conn.close()
        self.assertEqual(self.queued(ids), 300)
        self.assertEqual(self.count_in("feedback", "event_id", ids), 0)

        # in chunks, each its own transaction, until the queue is empty
        taken = []
        while True:
            n = self.stack.sql_value("SELECT kinerja_derive_queued(120, true)")
            taken.append(n)
            if n == 0:
                break
        self.assertGreaterEqual(sum(taken), 300)
        self.assertEqual(self.queued(ids), 0)
        cols = "event_id, period, unit, employee, source, ts_ms, respondent, rating, skm, comment"
        got = self.stack.sql("SELECT %s FROM feedback WHERE event_id = ANY (%%s::uuid[]) ORDER BY event_id" % cols,
                             (ids,))
        want = self.stack.sql("SELECT %s FROM event_feedback WHERE event_id = ANY (%%s::uuid[]) ORDER BY event_id"
                              % cols, (ids,))
        self.assertEqual(len(got), 300)
        self.assertEqual(got, want)
        self.assertGreater(self.stack.sql_value("SELECT generation FROM score_periods WHERE period = '2024-01'"), gen)
        # nothing twice
        self.assertEqual(self.stack.sql_value("SELECT kinerja_derive_queued(1000, false)"), 0)
        self.assertEqual(self.count_in("feedback", "event_id", ids), 300)

    def test_small_batch_derives_what_large_ones_queued(self):
        big = self.feedback_rows(260, rating=4)
        small = self.feedback_rows(2, rating=1)
        ids = [r["id"] for r in big + small]
        self.assertEqual(self.ingest(big), (260, 0, 0))
        self.assertEqual(self.queued(ids), 260)
        self.assertEqual(self.ingest(small), (2, 0, 0))
        self.assertEqual(self.queued(ids), 0)
        self.assertEqual(self.count_in("feedback", "event_id", ids), 262)
        # a redelivery of the large batch stores and queues nothing again
        self.assertEqual(self.ingest(big), (0, 0, 260))
        self.assertEqual(self.queued(ids), 0)

    def test_a_workflow_batch_first_derives_the_queue(self):
        rows = self.feedback_rows(300, rating=2)
        ids = [r["id"] for r in rows]
        self.assertEqual(self.ingest(rows), (300, 0, 0))
        self.assertEqual(self.queued(ids), 300)
        # a sign-off (refused or not by the workflow) is judged with every queued event derived
        stored, rejected, already = self.ingest(
            [{"type": "signoff", "employee": B, "period": "2024-01", "supervisor": MID,
              "payload": '{"version": 1}'}] + self.feedback_rows(299, rating=1))
        self.assertEqual(stored + rejected + already, 300)
        self.assertGreaterEqual(stored, 299)
        self.assertEqual(self.queued(ids), 0)
        self.assertEqual(self.count_in("feedback", "event_id", ids), 300)

    def test_below_the_threshold_nothing_is_queued(self):
        rows = self.feedback_rows(255)
        ids = [r["id"] for r in rows]
        self.assertEqual(self.ingest(rows), (255, 0, 0))
        self.assertEqual(self.queued(ids), 0)
        self.assertEqual(self.count_in("feedback", "event_id", ids), 255)


class TestStatus(PgTestCase):
    def test_json_shape_without_results_tables(self):
        s = self.stack.status()
        for key in ("stream_length", "pending", "stored", "rejected", "dead"):
            self.assertIsInstance(s[key], int, key)
        self.assertEqual(s["results"], {"collecting": 0, "pending_signoff": 0, "approved": 0, "returned": 0,
                                        "appealed": 0, "final": 0})
        self.assertEqual(s["notifications"], {"queued": 0, "sent": 0, "dead": 0})
        self.assertEqual(s["stored"], self.stack.sql_value("SELECT count(*) FROM event_log"))
        self.assertEqual(s["rejected"], self.stack.sql_value("SELECT count(*) FROM rejected_events"))

    def test_unreachable_redis_says_so(self):
        r = self.stack.kinerja("status", "--json", env={"KINERJA_REDIS_URL": "redis://127.0.0.1:1/0"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("Redis", r.stderr)
        s = json.loads(r.stdout)
        self.assertIsNone(s["stream_length"])
        self.assertIsInstance(s["stored"], int)

    def test_table_form_and_usage(self):
        r = self.stack.kinerja("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"stored\s+\d+")
        self.assertEqual(self.stack.kinerja("status", "--bogus").returncode, 2)


class TestPipelineIngest(StackTestCase):
    """A small day of traffic through broker, Redis and one ingest worker: every
    accepted event ends up stored or rejected with its reason, exactly once."""

    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)

    def test_events_reach_postgres_exactly_once(self):
        s = self.stack
        org = gen_traffic.make_org(units=3, per_unit=6, seed=3)
        if not isinstance(org, str):
            org = org.to_csv()
        s.org_import(org)
        traffic = gen_traffic.make_events(org, count=150, invalid=5, unknown=6, repeat=5, seed=3)
        want = traffic.counts()
        r = s.kinerja("send", "-", input=traffic.jsonl())
        self.assertEqual(r.returncode, 0, r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM event_log") + s.sql_value(
            "SELECT count(*) FROM rejected_events") >= want["accepted"], timeout=60, what="events in PostgreSQL")
        status = s.wait_for(lambda: (lambda st: st if st["pending"] == 0 else None)(s.status()), timeout=30,
                            what="nothing pending")
        self.assertEqual(status["stored"], want["stored"])
        self.assertEqual(status["rejected"], want["worker_rejected"])
        self.assertEqual(status["dead"], 0)
        reasons = [r for (r,) in s.sql("SELECT reason FROM rejected_events")]
        self.assertTrue(all(r.startswith("employee: unknown NIP ") for r in reasons), reasons)
        # Citizen feedback got its month; every stored event kept its stream entry.
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log WHERE type = 'citizen_feedback'"
                                     " AND period IS NULL"), 0)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log WHERE stream_id IS NULL"), 0)


if __name__ == "__main__":
    unittest.main()
