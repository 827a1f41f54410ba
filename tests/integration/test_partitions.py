"""The tables that grow with every period, partitioned by period (schemas/0027 and 0028,
issue 17): ratings, work_results, score_versions, notifications and result_audit are
LIST-partitioned on period with a DEFAULT partition; a query that names its period reads one partition (EXPLAIN shows it, also
for the score worker's load, whose period is a setting); rows that come before their
partition wait in DEFAULT and are moved when it is made; the scheduler makes the months,
quarters and years ahead; a past period's partitions can be detached for archive. Real
PostgreSQL and Redis, the real schedule role."""
import datetime
import json
import unittest
import uuid

import psycopg2

from harness import StackTestCase

TABLES = ("notifications", "ratings", "result_audit", "score_versions", "work_results")


def month_plus(d, k):
    m = d.month - 1 + k
    return "%04d-%02d" % (d.year + m // 12, m % 12 + 1)


class PartitionTest(StackTestCase):
    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()
        stack.migrate()

    def partitions(self, table):
        return dict(self.stack.sql("SELECT partition, period FROM kinerja_partitions WHERE parent = %s", (table,)))

    def plan(self, query, params=None, analyze=False):
        conn = psycopg2.connect(self.stack.pg_dsn)
        try:
            with conn, conn.cursor() as cur:
                if params:
                    for k, v in params.items():
                        cur.execute("SELECT set_config(%s, %s, true)", (k, v))
                cur.execute("EXPLAIN (FORMAT JSON%s) %s" % (", ANALYZE" if analyze else "", query))
                return cur.fetchone()[0][0]["Plan"]
        finally:
            conn.close()

    @staticmethod
    def scanned(plan):
        """The relations a plan reads, and the partitions pruned at executor start."""
        rels, removed = [], 0

        def walk(n):
            nonlocal removed
            if "Relation Name" in n and n.get("Actual Loops", 1) != 0:
                rels.append(n["Relation Name"])
            removed += n.get("Subplans Removed", 0)
            for c in n.get("Plans", []):
                walk(c)
        walk(plan)
        return rels, removed

    def add_rating(self, period, employee="199001012020011001"):
        self.stack.sql("INSERT INTO ratings (period, employee, rater, relation, vals, ts, event_id) "
                       "VALUES (%s, %s, 'R1', 'peer', '{3,3,3,3,3,3,3}', now(), %s)",
                       (period, employee, str(uuid.uuid4())))

    def test_1_the_tables_are_partitioned_with_the_months_ahead(self):
        for t in TABLES:
            self.assertEqual(self.stack.sql_value("SELECT relkind FROM pg_class WHERE relname = %s", (t,)), "p", t)
            parts = self.partitions(t)
            self.assertIn(t + "_p_default", parts)
            self.assertEqual(parts[t + "_p_default"], "")
            # the migration made this month and three ahead, with their quarters and years
            today = datetime.date.today()
            for k in range(4):
                p = month_plus(today, k)
                self.assertEqual(parts.get("%s_p_%s" % (t, p.replace("-", "_"))), p, (t, p, parts))
            q = "%d-Q%d" % (today.year, (today.month - 1) // 3 + 1)
            self.assertEqual(parts.get("%s_p_%s" % (t, q.replace("-", "_").lower())), q)
            self.assertEqual(parts.get("%s_p_%d" % (t, today.year)), str(today.year))
            # the primary keys still lead with what Citus would distribute by
            key = self.stack.sql_value(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                (t,))
            self.assertIn("employee", key)
            self.assertIn("period", key)

    def test_2_a_query_naming_its_period_reads_one_partition(self):
        period = month_plus(datetime.date.today(), 1)
        suffix = period.replace("-", "_")
        for t, q in (("ratings", "SELECT * FROM ratings WHERE period = %s AND employee = 'x'"),
                     ("work_results", "SELECT * FROM work_results WHERE period = %s"),
                     ("score_versions", "SELECT * FROM score_versions WHERE employee = 'x' AND period = %s"),
                     # a result's requests and audit trail, as the workflow and the pages read them
                     ("notifications", "SELECT * FROM notifications WHERE employee = 'x' AND period = %s "
                                       "AND kind = 'signoff_requested' AND superseded_at IS NULL"),
                     ("result_audit", "SELECT * FROM result_audit WHERE employee = 'x' AND period = %s ORDER BY id")):
            rels, _ = self.scanned(self.plan(q % ("'%s'" % period)))
            self.assertEqual(rels, ["%s_p_%s" % (t, suffix)], (t, rels))
        # the score worker's load names its period through a setting: pruned when the
        # executor starts, every other partition removed
        plan = self.plan("SELECT employee, rater, relation, vals FROM ratings "
                         "WHERE period = current_setting('kinerja.test_period')",
                         params={"kinerja.test_period": period}, analyze=True)
        rels, removed = self.scanned(plan)
        self.assertEqual(rels, ["ratings_p_" + suffix], plan)
        self.assertEqual(removed, len(self.partitions("ratings")) - 1, plan)

    def test_2b_the_whole_period_check_puts_the_planner_back(self):
        """kinerja_rebuild_check plans a whole period's ratings with nested loops and merge
        joins off (its own statement), and puts both settings back for what follows."""
        conn = psycopg2.connect(self.stack.pg_dsn)
        try:
            with conn, conn.cursor() as cur:
                period = month_plus(datetime.date.today(), 2)
                self.add_rating(period)
                cur.execute("SELECT * FROM kinerja_rebuild_check('ratings', %s, NULL, NULL)", (period,))
                whole = cur.fetchone()
                cur.execute("SELECT current_setting('enable_nestloop'), current_setting('enable_mergejoin')")
                self.assertEqual(cur.fetchone(), ("on", "on"))
                cur.execute("SELECT * FROM kinerja_rebuild_check('ratings', %s, NULL, '199001012020011001')",
                            (period,))
                one = cur.fetchone()
                # the rating has no event behind it: counted as a row, met by no event
                self.assertEqual(whole, (0, 0, 0, 1))
                self.assertEqual(one, (0, 0, 0, 1))
        finally:
            conn.close()
            self.stack.sql("DELETE FROM ratings WHERE period = %s", (month_plus(datetime.date.today(), 2),))

    def test_3_rows_before_their_partition_wait_in_default_and_move(self):
        s = self.stack
        self.add_rating("2031-05")
        self.add_rating("2031-05", employee="199001012020011002")
        self.add_rating("2032")
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings_p_default"), 3)
        made = s.sql_value("SELECT kinerja_partitions_ensure('2031-05')")
        # 2031-05 for each of the five tables, and 2032, the other period DEFAULT held
        self.assertEqual(made, 6)
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings_p_default"), 0)
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings_p_2031_05"), 2)
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings_p_2032"), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings WHERE period IN ('2031-05', '2032')"), 3)
        self.assertEqual(s.sql_value("SELECT kinerja_partitions_ensure('2031-05')"), 0)
        # the partition's copy of the row trigger still refuses an edit in place
        with self.assertRaises(psycopg2.Error) as e:
            s.sql("UPDATE ratings SET comment = 'x' WHERE period = '2031-05'")
        self.assertIn("a derived row changes only with its event", str(e.exception))
        with self.assertRaises(psycopg2.Error) as e:
            s.sql("SELECT kinerja_partitions_ensure('2031-13')")
        self.assertIn("is not a period", str(e.exception))

    def test_4_the_scheduler_makes_the_partitions_ahead(self):
        s = self.stack
        ahead = 14
        far = month_plus(datetime.date.today(), ahead)
        name = "ratings_p_" + far.replace("-", "_")
        self.assertNotIn(name, self.partitions("ratings"))
        self.add_rating("2033-07")  # waiting in DEFAULT: the scheduler's pass moves it too
        proc = s.start_worker(role="schedule", env={
            "KINERJA_SCHEDULE_PARTITIONS_AHEAD": str(ahead), "KINERJA_SCHEDULE_TICK_MS": "200"})
        try:
            s.wait_for(lambda: name in self.partitions("ratings"), timeout=30, what="the partition %s" % far)
            s.wait_for(lambda: "partitions: made" in s.log_text(s.log_name(proc)), timeout=10,
                       what="the scheduler's log line")
            for t in TABLES:
                self.assertIn("%s_p_%s" % (t, far.replace("-", "_")), self.partitions(t))
            self.assertEqual(s.sql_value("SELECT count(*) FROM ratings_p_2033_07"), 1)
            self.assertEqual(s.sql_value("SELECT count(*) FROM ratings_p_default"), 0)
        finally:
            s.stop(proc)

    def test_5_a_past_period_is_detached_for_archive(self):
        s = self.stack
        s.sql("SELECT kinerja_partitions_ensure('2019-03')")
        self.add_rating("2019-03")
        # a result of the period still open: its inputs are still read
        s.sql("INSERT INTO results (employee, period) VALUES ('199001012020011001', '2019-03')")
        with self.assertRaises(psycopg2.Error) as e:
            s.sql("SELECT * FROM kinerja_partition_detach('2019-03')")
        self.assertIn("1 results that are not final", str(e.exception))
        s.sql("DELETE FROM results WHERE period = '2019-03'")
        tables = [r[0] for r in s.sql("SELECT * FROM kinerja_partition_detach('2019-03')")]
        self.assertEqual(len(tables), 5, tables)
        for name in tables:
            self.assertRegex(name, r"^(notifications|ratings|result_audit|score_versions|work_results)"
                                   r"_p_2019_03_detached_\d{14}$")
            self.assertEqual(s.sql_value("SELECT relispartition FROM pg_class WHERE relname = %s", (name,)), False)
        archived = [n for n in tables if n.startswith("ratings_")][0]
        self.assertEqual(s.sql_value("SELECT count(*) FROM %s" % archived), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings WHERE period = '2019-03'"), 0)
        self.assertNotIn("ratings_p_2019_03", self.partitions("ratings"))
        # the current period is refused, and so is what is no period
        current = datetime.date.today().strftime("%Y-%m")
        with self.assertRaises(psycopg2.Error) as e:
            s.sql("SELECT * FROM kinerja_partition_detach(%s)", (current,))
        self.assertIn("is the current one", str(e.exception))
        with self.assertRaises(psycopg2.Error) as e:
            s.sql("SELECT * FROM kinerja_partition_detach('March')")
        self.assertIn("is not a period", str(e.exception))

    def test_6_the_cli_lists_ensures_and_detaches(self):
        s = self.stack
        r = s.kinerja("partitions", "ensure", "--period", "2018-Q2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("partitions ensure: 5 made for 2018-Q2", r.stdout)
        r = s.kinerja("partitions", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout)
        self.assertIn({"table": "work_results", "period": "2018-Q2", "partition": "work_results_p_2018_q2",
                       "bytes": rows[[x["partition"] for x in rows].index("work_results_p_2018_q2")]["bytes"]}, rows)
        self.assertEqual(sorted(x["table"] for x in rows if x["period"] == ""), sorted(TABLES))
        r = s.kinerja("partitions", "detach", "--period", "2018-Q2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.split()), 5, r.stdout)
        self.assertNotIn("2018-Q2", [x["period"] for x in json.loads(s.kinerja("partitions", "--json").stdout)])
        r = s.kinerja("partitions", "detach", "--period", datetime.date.today().strftime("%Y-%m"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("is the current one", r.stderr)
        r = s.kinerja("partitions", "detach")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--period P is required", r.stderr)


class UpgradeTest(StackTestCase):
    """0027 on a database that has rows: a database migrated to 0026 (`kinerja migrate
    --to 0026`) with ratings, work results and versions of two periods, then migrated to
    the newest: every row kept, in its period's partition, with the keys, indexes,
    triggers and grants the tables had."""

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()

    def test_the_rows_move_into_their_partitions(self):
        s = self.stack
        r = s.kinerja("migrate", "--to", "0026")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("migrate: applied 26,", r.stdout)
        self.assertEqual(s.sql_value("SELECT relkind FROM pg_class WHERE relname = 'ratings'"), "r")
        for period in ("2025-11", "2026-Q1"):
            for k in range(3):
                s.sql("INSERT INTO ratings (period, employee, rater, relation, vals, ts, event_id) "
                      "VALUES (%s, %s, 'R1', 'peer', '{3,3,3,3,3,3,3}', now(), %s)",
                      (period, "1990010120200110%02d" % k, str(uuid.uuid4())))
            s.sql("INSERT INTO work_results (period, employee, indicator, target, realization, weight, direction,"
                  " ts, event_id) VALUES (%s, '199001012020011000', 'I1', 10, 8, 1, 'higher_better', now(), %s)",
                  (period, str(uuid.uuid4())))
            s.sql("INSERT INTO score_versions (employee, period, version, result) VALUES"
                  " ('199001012020011000', %s, 1, '{\"v\": 1}')", (period,))
            s.sql("INSERT INTO notifications (id, kind, recipient, employee, period, version, payload) VALUES"
                  " (gen_random_uuid(), 'signoff_requested', 'S1', '199001012020011000', %s, 1, '{}')", (period,))
            s.sql("INSERT INTO result_audit (employee, period, from_state, to_state, version, actor) VALUES"
                  " ('199001012020011000', %s, 'collecting', 'pending_signoff', 1, 'test')", (period,))
        before = {t: s.sql("SELECT * FROM %s ORDER BY 1, 2, 3" % t) for t in TABLES}
        grants = {t: s.sql("SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                           " WHERE table_name = %s AND grantee = 'kinerja_app' ORDER BY 2", (t,)) for t in TABLES}
        r = s.kinerja("migrate")
        self.assertEqual(r.returncode, 0, r.stderr)
        for t in TABLES:
            self.assertEqual(s.sql_value("SELECT relkind FROM pg_class WHERE relname = %s", (t,)), "p", t)
            self.assertEqual(s.sql("SELECT * FROM %s ORDER BY 1, 2, 3" % t), before[t], t)
            self.assertEqual(s.sql("SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                                   " WHERE table_name = %s AND grantee = 'kinerja_app' ORDER BY 2", (t,)),
                             grants[t], t)
            self.assertTrue(grants[t], t)
            self.assertEqual(s.sql_value("SELECT count(*) FROM %s_p_default" % t), 0, t)
            self.assertEqual(s.sql_value("SELECT count(*) FROM %s_p_2025_11" % t), 3 if t == "ratings" else 1)
            self.assertEqual(s.sql_value("SELECT count(*) FROM %s_p_2026_q1" % t), 3 if t == "ratings" else 1)
            self.assertIsNone(s.sql_value("SELECT to_regclass(%s)", (t + "_unpartitioned",)))
        self.assertEqual(s.sql_value("SELECT indexdef FROM pg_indexes WHERE indexname = 'ratings_event_idx'"),
                         "CREATE INDEX ratings_event_idx ON ONLY public.ratings USING btree (event_id)")
        self.assertIn("PRIMARY KEY (employee, period, version)", s.sql_value(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'score_versions_pkey'"))
        # the triggers came along: versions stay append-only, derived rows whole
        with self.assertRaises(psycopg2.Error) as e:
            s.sql("UPDATE score_versions SET reason = 'x'")
        self.assertIn("append-only", str(e.exception))
        with self.assertRaises(psycopg2.Error) as e:
            s.sql("UPDATE work_results SET target = 11")
        self.assertIn("a derived row changes only with its event", str(e.exception))
        # the storage of the versions' JSON too (0021: lz4, MAIN)
        self.assertEqual(s.sql_value("SELECT attcompression FROM pg_attribute WHERE attrelid = "
                                     "'score_versions_p_2025_11'::regclass AND attname = 'result'"), "l")


if __name__ == "__main__":
    unittest.main()
