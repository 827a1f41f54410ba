"""
Backup and restore as docs/OPERATIONS.md "Backup and restore" says, against real
redis-server and PostgreSQL (issue 16): events are sent, Redis is backed up FIRST (an
RDB snapshot with BGSAVE, or a copy of the AOF directory), PostgreSQL second
(pg_dump -Fc); both stores are wiped; both are restored; the broker and an ingest
worker start again; every event that was accepted before the Redis backup is in
PostgreSQL exactly once (event_log or rejected_events), and the broker still knows the
accepted ids (a resend is a duplicate).

What makes it a test of the backup and not of PostgreSQL alone: part of the events were
accepted while the ingest worker was stopped, so at backup time they are only in Redis
(some never delivered, some delivered to a consumer that died: pending); they can only
come back through the restored Redis stream and consumer group. The AOF test also lets
those events reach PostgreSQL between the two backups, so they are in both: the restore
must store them once.
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from harness import SCRIPTS_DIR, Stack, _pg_bin_dir, _test_failed

sys.path.insert(0, SCRIPTS_DIR)
import gen_traffic  # noqa: E402

GROUP = "kinerja-ingest"
SHARDS = 4


def redis_info(s, section):
    text = s.redis_cmd("INFO", section)
    text = text.decode() if isinstance(text, bytes) else text
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def pending_total(s):
    return sum(s.redis_cmd("XPENDING", "kinerja:ev:{%d}" % n, GROUP)[0] for n in range(SHARDS))


def stored_ids(s):
    """Every event id in event_log and rejected_events, with repeats."""
    return ([str(r[0]) for r in s.sql("SELECT id FROM event_log")]
            + [str(r[0]) for r in s.sql("SELECT event_id FROM rejected_events")])


class BackupRestoreTest(unittest.TestCase):
    def setUp(self):
        self.s = Stack(shards=SHARDS)
        self.backup = os.path.join(self.s.tmp, "backup")
        os.makedirs(self.backup)
        os.chmod(self.backup, 0o755)
        try:
            self.s.start_redis()
            self.s.start_postgres()
            self.s.migrate()
            self.s.start_broker()
        except BaseException:
            self.s.dump_logs()
            self.s.close(failed=True)
            raise
        self.org = gen_traffic.make_org(units=4, seed=11)
        self.s.org_import(self.org)
        events = gen_traffic.make_events(self.org, count=900, unknown=6, seed=11)
        self.first = gen_traffic.Traffic(events.events[:500], events.expect[:500])
        self.second = gen_traffic.Traffic(events.events[500:], events.expect[500:])

    def tearDown(self):
        failed = _test_failed(self)
        if failed:
            self.s.dump_logs()
        self.s.close(failed=failed)

    # ---- steps -------------------------------------------------------------------------

    def send(self, traffic):
        r = self.s.kinerja("send", "-", input=traffic.jsonl())
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn("accepted=%d" % traffic.counts()["accepted"], r.stdout)

    def wait_stored(self, n):
        self.s.wait_for(lambda: len(stored_ids(self.s)) >= n, timeout=120, interval=0.25,
                        what="%d events in event_log + rejected_events" % n)

    def fill(self):
        """The first events stored; the second accepted with the ingest worker stopped,
        80 of them delivered to a consumer that then dies (pending entries)."""
        worker = self.s.start_worker("ingest")
        self.send(self.first)
        self.wait_stored(len(self.first.events))
        self.s.stop(worker)
        self.send(self.second)
        for n in range(SHARDS):
            self.s.redis_cmd("XREADGROUP", "GROUP", GROUP, "died-mid-batch", "COUNT", 20, "STREAMS",
                             "kinerja:ev:{%d}" % n, ">")
        self.assertEqual(pending_total(self.s), 80)
        self.assertEqual(len(stored_ids(self.s)), len(self.first.events))

    def backup_postgres(self):
        """The roles (cluster-wide, not in pg_dump: kinerja_app and the login roles
        granted it) with pg_dumpall --roles-only, then the database with pg_dump -Fc (a
        consistent snapshot while it runs). Returns the two files and what the restore
        must give back: the roles, the database's privileges, kinerja_app's grants."""
        pg = _pg_bin_dir()
        roles = os.path.join(self.backup, "roles.sql")
        dump = os.path.join(self.backup, "kinerja.dump")
        dsn_postgres = self.s.pg_dsn.replace("dbname=kinerja", "dbname=postgres")
        for argv in ([os.path.join(pg, "pg_dumpall"), "--roles-only", "-d", dsn_postgres, "-f", roles],
                     [os.path.join(pg, "pg_dump"), "-Fc", "-f", dump, self.s.pg_dsn]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, "%s: %s" % (argv[0], r.stderr))
        return roles, dump, self.privileges()

    def privileges(self):
        return (self.s.sql("SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname !~ '^pg_' "
                           "ORDER BY 1"),
                self.s.sql("SELECT datacl::text FROM pg_database WHERE datname = 'kinerja'"),
                self.s.sql("SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                           "WHERE grantee = 'kinerja_app' ORDER BY 1, 2"),
                self.s.sql("SELECT routine_name FROM information_schema.role_routine_grants "
                           "WHERE grantee = 'kinerja_app' ORDER BY 1"))

    def backup_redis_rdb(self):
        """BGSAVE, wait for it, copy dump.rdb."""
        before = self.s.redis_cmd("LASTSAVE")
        self.s.redis_cmd("BGSAVE")
        self.s.wait_for(lambda: self.s.redis_cmd("LASTSAVE") != before
                        and redis_info(self.s, "persistence")["rdb_bgsave_in_progress"] == "0",
                        timeout=60, what="BGSAVE to finish")
        self.assertEqual(redis_info(self.s, "persistence")["rdb_last_bgsave_status"], "ok")
        path = os.path.join(self.backup, "dump.rdb")
        shutil.copy2(os.path.join(self.s.redis_dir, "dump.rdb"), path)
        return path

    def backup_redis_aof(self):
        """Copy the AOF directory with rewrites held off (no rewrite in progress, none
        started during the copy), then allow them again."""
        old = self.s.redis_cmd("CONFIG", "GET", "auto-aof-rewrite-percentage")[1]
        self.s.redis_cmd("CONFIG", "SET", "auto-aof-rewrite-percentage", "0")
        try:
            self.s.wait_for(lambda: redis_info(self.s, "persistence")["aof_rewrite_in_progress"] == "0",
                            timeout=60, what="no AOF rewrite in progress")
            path = os.path.join(self.backup, "appendonlydir")
            shutil.copytree(os.path.join(self.s.redis_dir, "appendonlydir"), path)
        finally:
            self.s.redis_cmd("CONFIG", "SET", "auto-aof-rewrite-percentage", old)
        return path

    def wipe(self):
        """Every process stopped, both data directories gone; fresh empty servers."""
        for proc in list(self.s.procs):
            self.s.kill(proc, signal.SIGTERM)
        self.s.stop_redis(signal.SIGKILL)
        self.s.stop_postgres()
        shutil.rmtree(self.s.redis_dir)
        os.makedirs(self.s.redis_dir)
        shutil.rmtree(self.s.pg_dir)

    def restore_postgres(self, backup):
        """A new cluster: the roles (psql; the role the cluster was made with exists
        already, that one error is expected), then pg_restore --create from database
        postgres, which makes database kinerja with its own privileges (GRANT TEMPORARY
        to kinerja_app: restored into an existing database they would be lost)."""
        roles, dump, privileges = backup
        pg = _pg_bin_dir()
        self.s.start_postgres()
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0)
        self.s.sql("DROP DATABASE kinerja", dbname="postgres")  # the harness made an empty one
        dsn_postgres = self.s.pg_dsn.replace("dbname=kinerja", "dbname=postgres")
        r = subprocess.run([os.path.join(pg, "psql"), "-X", "-q", "-d", dsn_postgres, "-f", roles],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        errors = [line for line in r.stderr.splitlines() if "ERROR" in line]
        self.assertEqual([e.split(": ", 1)[1] for e in errors], ['ERROR:  role "kinerja" already exists'],
                         r.stderr)
        r = subprocess.run([os.path.join(pg, "pg_restore"), "--exit-on-error", "--create", "-d", dsn_postgres,
                            dump], capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.privileges(), privileges)
        # the schema is the one of the binaries: nothing to migrate
        self.assertIn("migrate: applied 0,", self.s.migrate().stdout)

    def restore_redis_rdb(self, rdb):
        """Redis ignores dump.rdb when it starts with appendonly yes (it makes a new empty
        AOF), so: start without AOF on the snapshot, turn AOF on (Redis rewrites it from
        memory), wait, then restart as usual with AOF."""
        shutil.copy2(rdb, os.path.join(self.s.redis_dir, "dump.rdb"))
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.s.redis_port),
                "--dir", self.s.redis_dir, "--appendonly", "no", "--save", "", "--daemonize", "no",
                "--logfile", ""]
        loader = self.s._spawn(self.s._unique_name("redis-restore"), argv)
        self.s.wait_for(lambda: self.s.redis_cmd("PING") == "PONG", timeout=30, what="redis on the snapshot")
        self.assertGreater(self.s.redis_cmd("DBSIZE"), 0)
        self.s.redis_cmd("CONFIG", "SET", "appendonly", "yes")
        self.s.wait_for(lambda: redis_info(self.s, "persistence")["aof_rewrite_in_progress"] == "0"
                        and redis_info(self.s, "persistence")["aof_rewrite_scheduled"] == "0"
                        and redis_info(self.s, "persistence")["aof_enabled"] == "1",
                        timeout=60, what="the AOF rewritten from the snapshot")
        self.assertEqual(redis_info(self.s, "persistence")["aof_last_bgrewrite_status"], "ok")
        keys = self.s.redis_cmd("DBSIZE")
        self.s.kill(loader, signal.SIGTERM)
        self.s.start_redis()
        self.assertEqual(self.s.redis_cmd("DBSIZE"), keys)

    def restore_redis_aof(self, aof_dir):
        shutil.copytree(aof_dir, os.path.join(self.s.redis_dir, "appendonlydir"))
        self.s.start_redis()

    def check_everything_is_back(self):
        """Broker and ingest worker on the restored stores: every accepted event stored
        exactly once, nothing left pending, the dedupe keys restored."""
        self.s.start_broker()
        self.s.start_worker("ingest")
        want = {ev["id"] for t in (self.first, self.second)
                for ev in t.of_status("accepted") + t.of_status("unknown")}
        self.wait_stored(len(want))
        # a little longer: a duplicate would show up now
        self.s.wait_for(lambda: pending_total(self.s) == 0, timeout=60, what="no pending entries")
        ids = stored_ids(self.s)
        self.assertEqual(len(ids), len(set(ids)), "an event stored twice")
        self.assertEqual(set(ids), want)
        self.assertEqual(self.s.sql_value("SELECT count(*) FROM dead_letters"), 0)
        self.assertEqual({str(r[0]) for r in self.s.sql("SELECT event_id FROM rejected_events")},
                         {ev["id"] for t in (self.first, self.second) for ev in t.of_status("unknown")})
        again = gen_traffic.Traffic(self.second.events[:5], [("duplicate", None)] * 5)
        r = self.s.kinerja("send", "-", input=again.jsonl())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("duplicate=5", r.stdout)

    # ---- the tests ---------------------------------------------------------------------

    def test_rdb_snapshot_and_pg_dump(self):
        """Redis BGSAVE first, then pg_dump; the second events come back from Redis only."""
        self.fill()
        rdb = self.backup_redis_rdb()
        pg_backup = self.backup_postgres()
        self.wipe()
        self.s.start_redis()
        self.assertEqual(self.s.redis_cmd("DBSIZE"), 0)
        self.s.stop_redis()
        shutil.rmtree(self.s.redis_dir)
        os.makedirs(self.s.redis_dir)
        self.restore_redis_rdb(rdb)
        self.restore_postgres(pg_backup)
        self.assertEqual(len(stored_ids(self.s)), len(self.first.events))
        self.check_everything_is_back()

    def test_aof_copy_and_pg_dump_with_events_stored_in_between(self):
        """Copy of the AOF directory first; the ingest worker then stores the second
        events before pg_dump, so they are in both backups and must be stored once."""
        self.fill()
        aof = self.backup_redis_aof()
        self.assertTrue(glob.glob(os.path.join(aof, "*.manifest")), os.listdir(aof))
        worker = self.s.start_worker("ingest")
        self.wait_stored(len(self.first.events) + len(self.second.events))
        self.s.stop(worker)
        pg_backup = self.backup_postgres()
        self.wipe()
        self.restore_redis_aof(aof)
        self.restore_postgres(pg_backup)
        self.assertEqual(len(stored_ids(self.s)), len(self.first.events) + len(self.second.events))
        # the stream state is the one of the Redis backup: the second events not yet acked
        self.assertEqual(pending_total(self.s), 80)
        self.check_everything_is_back()
        self.assertGreater(self.s.sql_value("SELECT count(*) FROM event_log"), 0)


if __name__ == "__main__":
    unittest.main()
