"""The tables that grow with every period, partitioned by period (schemas/0027, 0028 and
0029, issue 17): event_log, rejected_events, feedback, ratings, work_results,
score_versions, notifications and result_audit are LIST-partitioned on period with a
DEFAULT partition; a query that names its period reads one partition (EXPLAIN shows it,
also for the score worker's load, whose period is a setting); rows that come before their
partition wait in DEFAULT and are moved when it is made (the log's without being derived
again); the scheduler makes the months, quarters and years ahead; a past period's
partitions can be detached for archive. An event id is stored or rejected once across
every partition (the event_ids registry): EventsTest sends through the real broker and
ingest worker. Real PostgreSQL and Redis, the real schedule role."""
import datetime
import json
import unittest
import uuid

import psycopg2

from harness import StackTestCase

TABLES = ("event_log", "feedback", "notifications", "ratings", "rejected_events", "result_audit", "score_versions",
          "work_results")
# the tables whose every row has an employee: their keys lead with it (the Citus
# distribution key); the event tables' rows may have none (a unit's citizen feedback, a
# recalc), so their keys are (period, event_id) and event_log's uniqueness is event_ids'
BY_EMPLOYEE = ("notifications", "ratings", "result_audit", "score_versions", "work_results")


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
            if t == "event_log":
                self.assertIsNone(key)
            elif t in BY_EMPLOYEE:
                self.assertIn("employee", key)
                self.assertIn("period", key)
            else:
                self.assertEqual(key, "PRIMARY KEY (period, event_id)", t)
        # the registry of filed ids: hashed by id into 16 parts, keyed by the id
        self.assertEqual(self.stack.sql_value(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'event_ids'::regclass"), 16)
        self.assertEqual(self.stack.sql_value(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'event_ids'::regclass "
            "AND contype = 'p'"), "PRIMARY KEY (id)")

    def test_2_a_query_naming_its_period_reads_one_partition(self):
        period = month_plus(datetime.date.today(), 1)
        suffix = period.replace("-", "_")
        for t, q in (("ratings", "SELECT * FROM ratings WHERE period = %s AND employee = 'x'"),
                     # an employee's events of a period (the history, the rebuild of one)
                     ("event_log", "SELECT * FROM event_log WHERE employee = 'x' AND period = %s"),
                     ("rejected_events", "SELECT * FROM rejected_events WHERE period = %s"),
                     ("feedback", "SELECT * FROM feedback WHERE period = %s AND unit = 'U'"),
                     # the score worker's kiosk flags, by the months of its period
                     ("feedback", "UPDATE feedback SET repeat = NOT repeat WHERE period = ANY "
                                  "(kinerja_period_months(%s)) AND event_id = ANY(ARRAY[gen_random_uuid()])"),
                     ("work_results", "SELECT * FROM work_results WHERE period = %s"),
                     ("score_versions", "SELECT * FROM score_versions WHERE employee = 'x' AND period = %s"),
                     # a result's requests and audit trail, as the workflow and the pages read them
                     ("notifications", "SELECT * FROM notifications WHERE employee = 'x' AND period = %s "
                                       "AND kind = 'signoff_requested' AND superseded_at IS NULL"),
                     ("result_audit", "SELECT * FROM result_audit WHERE employee = 'x' AND period = %s ORDER BY id")):
            rels, _ = self.scanned(self.plan(q % ("'%s'" % period)))
            rels = [r for r in rels if r != t]  # an UPDATE's own node names the parent
            self.assertEqual(rels, ["%s_p_%s" % (t, suffix)], (t, rels))
        # an id in the registry: one of its 16 parts
        rels, _ = self.scanned(self.plan("SELECT * FROM event_ids WHERE id = '%s'" % uuid.uuid4()))
        self.assertEqual(len(rels), 1, rels)
        self.assertRegex(rels[0], r"^event_ids_h\d\d$")
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
        # 2031-05 for each of the eight tables, and 2032, the other period DEFAULT held
        self.assertEqual(made, len(TABLES) + 1)
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
        self.assertEqual(len(tables), len(TABLES), tables)
        for name in tables:
            self.assertRegex(name, r"^(%s)_p_2019_03_detached_\d{14}$" % "|".join(TABLES))
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
        self.assertIn("partitions ensure: %d made for 2018-Q2" % len(TABLES), r.stdout)
        r = s.kinerja("partitions", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout)
        self.assertIn({"table": "work_results", "period": "2018-Q2", "partition": "work_results_p_2018_q2",
                       "bytes": rows[[x["partition"] for x in rows].index("work_results_p_2018_q2")]["bytes"]}, rows)
        self.assertEqual(sorted(x["table"] for x in rows if x["period"] == ""), sorted(TABLES))
        r = s.kinerja("partitions", "detach", "--period", "2018-Q2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.split()), len(TABLES), r.stdout)
        self.assertNotIn("2018-Q2", [x["period"] for x in json.loads(s.kinerja("partitions", "--json").stdout)])
        r = s.kinerja("partitions", "detach", "--period", datetime.date.today().strftime("%Y-%m"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("is the current one", r.stderr)
        r = s.kinerja("partitions", "detach")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--period P is required", r.stderr)


TS = 1772668800000  # 2026-03-05T00:00:00Z
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]


def nip(n):
    return "1980010120050130%02d" % n


def evaluation(employee, period, rater, relation="peer", event_id=None, value=4):
    return {"v": 1, "id": event_id or str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
            "employee": employee, "period": period, "rater": rater, "relation": relation,
            "behaviour": {k: value for k in KEYS}}


class EventsTest(StackTestCase):
    """The event tables through the real broker and ingest worker: each event in its
    period's partition (a rejected one too, filed under its period), the registry holding
    every id once, a resend of a stored id with another period stored nowhere again (also
    after its partition was detached), and a period's log moved out of DEFAULT without
    being derived again."""

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all()
        rows = ["nip,name,unit,position,supervisor_nip,job_family", "%s,Kepala,UNIT-E,kepala,,admin" % nip(1)]
        for n in (10, 11, 12):
            rows.append("%s,Staf %d,UNIT-E,staf,%s,admin" % (nip(n), n, nip(1)))
        stack.org_import("\n".join(rows) + "\n")

    def send(self, events, accepted=None):
        r = self.stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("accepted=%d" % (len(events) if accepted is None else accepted), r.stdout, r.stderr)

    def filed(self, ids):
        self.stack.wait_for(
            lambda: self.stack.sql_value("SELECT count(*) FROM event_ids WHERE id = ANY(%s::uuid[])",
                                         (list(ids),)) == len(ids),
            timeout=60, what="events filed")

    def where(self, event_id):
        """(table partition, period) of every row of the id in the log and the rejected."""
        return sorted(self.stack.sql(
            "SELECT tableoid::regclass::text, period FROM event_log WHERE id = %s"
            " UNION ALL SELECT tableoid::regclass::text, period FROM rejected_events WHERE event_id = %s",
            (event_id, event_id)))

    def resend_after_dedupe_ttl(self, event):
        """The broker's dedupe key gone (as after intake.dedupe_ttl_s), the event sent again:
        accepted by the broker, so only PostgreSQL can tell it was stored before. A new
        event of the same employee (same shard, so after it) shows the ingest got past it."""
        self.stack.redis_cmd("DEL", "kinerja:dd:" + event["id"])
        after = evaluation(event["employee"], event["period"], nip(12))
        self.send([event, after])
        self.filed([after["id"]])

    def test_events_in_their_partitions_once(self):
        s = self.stack
        now = datetime.date.today().strftime("%Y-%m")
        good = evaluation(nip(10), now, nip(11))
        unknown = evaluation("199912312020121099", now, nip(11))
        later = evaluation(nip(10), "2031-07", nip(11))
        self.send([good, unknown, later])
        self.filed([good["id"], unknown["id"], later["id"]])
        suffix = now.replace("-", "_")
        self.assertEqual(self.where(good["id"]), [("event_log_p_" + suffix, now)])
        self.assertEqual(self.where(unknown["id"]), [("rejected_events_p_" + suffix, now)])
        self.assertEqual(self.where(later["id"]), [("event_log_p_default", "2031-07")])
        self.assertEqual(s.sql_value("SELECT period FROM event_ids WHERE id = %s", (unknown["id"],)), now)

        # the same id again with another period and rater: filed already, stored nowhere new
        again = dict(good, period="2031-08", rater=nip(12))
        self.resend_after_dedupe_ttl(again)
        self.assertEqual(self.where(good["id"]), [("event_log_p_" + suffix, now)])
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log WHERE period = '2031-08' AND id = %s",
                                     (good["id"],)), 0)

        # 2031-07's partitions made: the waiting event moves, derived once (no second
        # generation of the period, one rating)
        generation = s.sql_value("SELECT generation FROM score_periods WHERE period = '2031-07'")
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings WHERE period = '2031-07'"), 1)
        s.sql("SELECT kinerja_partitions_ensure('2031-07')")
        self.assertEqual(self.where(later["id"]), [("event_log_p_2031_07", "2031-07")])
        self.assertEqual(s.sql_value("SELECT generation FROM score_periods WHERE period = '2031-07'"), generation)
        self.assertEqual(s.sql_value("SELECT count(*) FROM ratings WHERE period = '2031-07'"), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM late_events"), 0)

        # detached for archive: the log's partition leaves, the registry keeps the id, so a
        # resend is still not stored again (not in DEFAULT, not anywhere)
        archived = [r[0] for r in s.sql("SELECT * FROM kinerja_partition_detach('2031-07')")]
        self.assertIn("event_log", " ".join(archived))
        self.assertEqual(self.where(later["id"]), [])
        self.resend_after_dedupe_ttl(later)
        self.assertEqual(self.where(later["id"]), [])
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_ids WHERE id = %s", (later["id"],)), 1)


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
            # the event tables (0029): a stored event, a refused one with its period, and a
            # citizen's feedback of the period, written as the ingest had them (no triggers)
            s.sql("SET session_replication_role = replica;"
                  " INSERT INTO event_log (id, type, source, ts, employee, unit, period, payload) VALUES"
                  " (gen_random_uuid(), 'work_result', 'test', now(), '199001012020011000', 'U1', %s, '{}')",
                  (period,))
            s.sql("INSERT INTO rejected_events (event_id, type, source, employee, payload, reason) VALUES"
                  " (gen_random_uuid(), 'evaluation', 'test', '199001012020011000', %s, 'rater: unknown NIP')",
                  (json.dumps({"period": period}),))
            s.sql("INSERT INTO feedback (event_id, period, unit, source, ts_ms, respondent, rating) VALUES"
                  " (gen_random_uuid(), %s, 'U1', 'kiosk', 0, 'r', 3)", (period,))
        # a recall without a period (the log's DEFAULT), a refusal without one (filed under
        # the month it was refused in), an event waiting in the derive queue (0019)
        s.sql("SET session_replication_role = replica;"
              " INSERT INTO event_log (id, type, source, ts, unit, payload) VALUES"
              " (gen_random_uuid(), 'recalc', 'test', now(), 'U1', '{}')")
        s.sql("INSERT INTO rejected_events (event_id, type, source, reason, rejected_at) VALUES"
              " (gen_random_uuid(), 'evaluation', 'test', 'period: missing', '2026-01-15 12:00+00')")
        s.sql("INSERT INTO derive_queue SELECT e FROM event_log e WHERE period = '2025-11'")
        generations = s.sql("SELECT period, generation FROM score_periods ORDER BY 1")
        before = {t: s.sql("SELECT * FROM %s ORDER BY 1, 2, 3" % t) for t in TABLES}
        grants = {t: s.sql("SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                           " WHERE table_name = %s AND grantee = 'kinerja_app' ORDER BY 2", (t,)) for t in TABLES}
        r = s.kinerja("migrate")
        self.assertEqual(r.returncode, 0, r.stderr)
        for t in TABLES:
            self.assertEqual(s.sql_value("SELECT relkind FROM pg_class WHERE relname = %s", (t,)), "p", t)
            if t == "rejected_events":  # with its new column, period, last
                after = [r[:-1] for r in s.sql("SELECT * FROM %s ORDER BY 1, 2, 3" % t)]
            else:
                after = s.sql("SELECT * FROM %s ORDER BY 1, 2, 3" % t)
            if t == "score_versions":  # result json before 0030, text (the same bytes) after
                self.assertEqual([r[5] for r in after], ['{"v": 1}'] * 2)
                after = [r[:5] + (json.loads(r[5]),) + r[6:] for r in after]
            self.assertEqual(after, before[t], t)
            self.assertEqual(s.sql("SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                                   " WHERE table_name = %s AND grantee = 'kinerja_app' ORDER BY 2", (t,)),
                             grants[t], t)
            self.assertTrue(grants[t], t)
            self.assertEqual(s.sql_value("SELECT count(*) FROM %s_p_default" % t), 1 if t == "event_log" else 0, t)
            self.assertEqual(s.sql_value("SELECT count(*) FROM %s_p_2025_11" % t), 3 if t == "ratings" else 1)
            self.assertEqual(s.sql_value("SELECT count(*) FROM %s_p_2026_q1" % t), 3 if t == "ratings" else 1)
            self.assertIsNone(s.sql_value("SELECT to_regclass(%s)", (t + "_unpartitioned",)))
        # the refusal without a period, under its month; every id in the registry once
        self.assertEqual(s.sql_value("SELECT count(*) FROM rejected_events_p_2026_01"), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_ids"), 3 + 3)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_ids i JOIN event_log e ON e.id = i.id"
                                     " WHERE i.period IS NOT DISTINCT FROM e.period"), 3)
        # nothing derived again (no period's generation moved), the views and the queued
        # row on the new table's row type, and the function that takes one
        self.assertEqual(s.sql("SELECT period, generation FROM score_periods ORDER BY 1"), generations)
        self.assertEqual(s.sql_value("SELECT format_type(atttypid, NULL) FROM pg_attribute"
                                     " WHERE attrelid = 'derive_queue'::regclass AND attname = 'ev'"), "event_log")
        self.assertEqual(s.sql_value("SELECT (ev).period FROM derive_queue"), "2025-11")
        self.assertEqual(s.sql_value("SELECT kinerja_derive_queued(10, true)"), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_work_results"), 2)
        self.assertIsNotNone(s.sql_value("SELECT to_regprocedure('kinerja_workflow_apply(event_log)')"))
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
        # the storage of the versions' JSON too (0021: lz4, MAIN; 0030: text), on the moved
        # partitions and on one made after the migrations
        s.sql("SELECT kinerja_partitions_ensure('2031-07')")
        for part in ("score_versions_p_2025_11", "score_versions_p_2031_07"):
            self.assertEqual(s.sql("SELECT attcompression::text, attstorage::text, atttypid::regtype::text"
                                   " FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'result'",
                                   (part,)), [("l", "m", "text")], part)


if __name__ == "__main__":
    unittest.main()
