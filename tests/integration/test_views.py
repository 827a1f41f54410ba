"""
`kinerja event ID [--json]` (common/views.c view_event, the document kinerja-web shows
too): where one event ended. Events go in through the real broker and ingest worker:

  - a work result of a known employee           -> stored (event_log)
  - a work result of an employee not in the org -> rejected (rejected_events, reason)
  - a stored event whose result the score worker set aside (a score_quarantine row,
    written here by SQL as the score worker would)  -> quarantined, with the error
  - a dead letter (dead_letters row by SQL, as the ingest worker writes it after its
    deliveries ran out)                          -> quarantined, with the error
  - an id never sent                             -> unknown, exit 1, with the note

Times are in time.zone (the default Asia/Jakarta, UTC+7). The other --json documents
moved to common/views.c are checked byte for byte by the CLI's own tests
(test_cli_score, test_workflow, test_workflow_v2, test_versions).

The views only kinerja-web shows (view_results, view_periods, view_rejections) and
view_status are driven by a small C program built here against the build's
libkinerja_common.a (ViewsDriverTest), on rows written by SQL.
"""

import json
import os
import re
import subprocess
import unittest
import uuid

import harness
from harness import StackTestCase

PERIOD = "2026-04"
TS = 1775606400000  # 2026-04-08T00:00:00Z
ISO_JAKARTA_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
EVENT_KEYS = {"id", "state", "where", "type", "source", "employee", "period", "at", "reason", "client", "note"}


def nip(n):
    return "1990030320150310%02d" % n


HEAD, STAFF = nip(1), nip(2)
STRANGER = nip(99)  # a valid NIP not in the organisation


def work_result(employee, realization=10):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
            "employee": employee, "period": PERIOD, "indicator": "SKP-1", "target": 10,
            "realization": realization}


class EventViewTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.org_import("nip,name,unit,position,supervisor_nip,job_family\n"
                         "%s,Kepala,UNIT-V,kepala,,admin\n%s,Staf,UNIT-V,staf,%s,admin\n" % (HEAD, STAFF, HEAD))
        cls.stored = work_result(STAFF)
        cls.quarantined = work_result(STAFF, 9)
        cls.rejected = work_result(STRANGER)
        events = [cls.stored, cls.quarantined, cls.rejected]
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0 and "accepted=3" in r.stdout, r.stdout + r.stderr
        ids = [e["id"] for e in events]
        stack.wait_for(lambda: stack.sql_value("SELECT count(*) FROM event_log WHERE id = ANY(%s::uuid[])", (ids,))
                       + stack.sql_value("SELECT count(*) FROM rejected_events WHERE event_id = ANY(%s::uuid[])",
                                         (ids,)) == 3, timeout=60, what="the three events stored or rejected")
        stack.sql("INSERT INTO score_quarantine (employee, period, error, event_ids) VALUES (%s, %s, %s, %s::uuid[])",
                  (STAFF, PERIOD, "score: hasil_kerja: weight sum is 0", [cls.quarantined["id"]]))
        cls.dead_id = str(uuid.uuid4())
        stack.sql("INSERT INTO dead_letters (stream_key, stream_id, event_id, raw, deliveries, error)"
                  " VALUES ('kinerja:ev:{0}', '1-0', %s, NULL, 5, 'PostgreSQL: connection lost')", (cls.dead_id,))

    def event(self, event_id, *extra):
        return self.stack.kinerja("event", event_id, *extra)

    def event_json(self, event_id, want_rc=0):
        r = self.event(event_id, "--json")
        self.assertEqual(r.returncode, want_rc, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("\n"), 1, "one document, one line")
        doc = json.loads(r.stdout)
        self.assertEqual(set(doc), EVENT_KEYS)
        self.assertEqual(doc["id"], event_id)
        return doc

    def test_stored(self):
        doc = self.event_json(self.stored["id"])
        self.assertEqual((doc["state"], doc["where"]), ("stored", "event_log"))
        self.assertEqual((doc["type"], doc["source"], doc["employee"], doc["period"]),
                         ("work_result", "app:skp", STAFF, PERIOD))
        self.assertRegex(doc["at"], ISO_JAKARTA_RE)
        self.assertIsNone(doc["reason"])
        self.assertIsNone(doc["note"])
        r = self.event(self.stored["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("State      stored (in event_log)\n", r.stdout)
        self.assertIn("Employee   %s\n" % STAFF, r.stdout)
        self.assertRegex(r.stdout, r"At         \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00 \(Asia/Jakarta\)\n")
        self.assertNotIn("Reason", r.stdout)

    def test_rejected_unknown_employee(self):
        doc = self.event_json(self.rejected["id"])
        self.assertEqual((doc["state"], doc["where"]), ("rejected", "rejected_events"))
        self.assertEqual((doc["type"], doc["employee"], doc["period"]), ("work_result", STRANGER, PERIOD))
        want = self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (self.rejected["id"],))
        self.assertIn("employee", want)
        self.assertEqual(doc["reason"], want)
        self.assertRegex(doc["at"], ISO_JAKARTA_RE)
        r = self.event(self.rejected["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("State      rejected (in rejected_events)\n", r.stdout)
        self.assertIn("Reason     %s\n" % want, r.stdout)

    def test_quarantined_result(self):
        # stored in event_log, but the quarantine row names it: quarantine wins
        doc = self.event_json(self.quarantined["id"])
        self.assertEqual((doc["state"], doc["where"]), ("quarantined", "score_quarantine"))
        self.assertEqual(doc["reason"], "score: hasil_kerja: weight sum is 0")
        self.assertEqual(doc["employee"], STAFF)

    def test_dead_letter(self):
        doc = self.event_json(self.dead_id)
        self.assertEqual((doc["state"], doc["where"]), ("quarantined", "dead_letters"))
        self.assertEqual(doc["reason"], "dead letter after 5 deliveries: PostgreSQL: connection lost")
        self.assertIsNone(doc["type"])

    def test_unknown(self):
        never = str(uuid.uuid4())
        doc = self.event_json(never, want_rc=1)
        self.assertEqual(doc["state"], "unknown")
        self.assertIsNone(doc["where"])
        self.assertIn("Redis", doc["note"])
        r = self.event(never)
        self.assertEqual(r.returncode, 1)
        self.assertIn("State      unknown\n", r.stdout)
        self.assertIn("Note       not in PostgreSQL", r.stdout)

    def test_events_several_ids(self):
        """kinerja events ID... (SPEC 9): an array of the documents; exit 1 when any is unknown."""
        never = str(uuid.uuid4())
        r = self.stack.kinerja("events", self.stored["id"], self.rejected["id"], "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = json.loads(r.stdout)
        self.assertEqual([(d["id"], d["state"]) for d in docs],
                         [(self.stored["id"], "stored"), (self.rejected["id"], "rejected")])
        r = self.stack.kinerja("events", self.stored["id"], never)
        self.assertEqual(r.returncode, 1)
        self.assertIn("State      stored (in event_log)\n", r.stdout)
        self.assertIn("State      unknown\n", r.stdout)
        self.assertEqual(self.stack.kinerja("event", self.stored["id"], never).returncode, 2)
        self.assertEqual(self.stack.kinerja("events", "not-a-uuid").returncode, 2)

    def test_rejected_with_filters(self):
        """kinerja rejected [--source S] [--since T] (SPEC 9)."""
        r = self.stack.kinerja("rejected", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout)["rejections"]
        self.assertIn(self.rejected["id"], [x["event_id"] for x in rows])
        # the work result came from app:skp; no kiosk was refused
        by_source = json.loads(self.stack.kinerja("rejected", "--source", "app:sk", "--json").stdout)["rejections"]
        self.assertEqual([x["event_id"] for x in by_source], [self.rejected["id"]])
        self.assertEqual(json.loads(self.stack.kinerja("rejected", "--source", "kiosk:", "--json").stdout),
                         {"rejections": []})
        # since: in the future nothing, long ago everything
        self.assertEqual(json.loads(self.stack.kinerja("rejected", "--since", "2999-01-01", "--json").stdout),
                         {"rejections": []})
        old = json.loads(self.stack.kinerja("rejected", "--since", "2000-01-01", "--json").stdout)["rejections"]
        self.assertEqual(len(old), len(rows))
        table = self.stack.kinerja("rejected")
        self.assertEqual(table.returncode, 0)
        self.assertIn(self.rejected["id"], table.stdout)
        self.assertIn("%d rejected" % len(rows), table.stdout)
        bad = self.stack.kinerja("rejected", "--since", "garbage")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("garbage", bad.stderr)
        self.assertEqual(self.stack.kinerja("rejected", "--limit", "0").returncode, 2)

    def test_usage(self):
        for argv in ([], ["not-a-uuid"], [str(uuid.uuid4()), str(uuid.uuid4())], ["--nosuch"]):
            with self.subTest(argv=argv):
                r = self.stack.kinerja("event", *argv)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertTrue(r.stderr.startswith("kinerja event: "), r.stderr)
        a, b = self.stack.kinerja("help", "event"), self.stack.kinerja("event", "--help")
        self.assertEqual((a.returncode, b.returncode), (0, 0))
        self.assertEqual(a.stdout, b.stdout)
        self.assertIn("usage: kinerja event ID", a.stdout)
        self.assertIn("  event ID [--json]", self.stack.kinerja("help").stdout)


DRIVER_C = r"""
#include "config.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* views_driver CONFIG status|periods|results NIP|rejections LIMIT|report KIND PERIOD [UNIT]:
 * prints the document;
 * exit 0 VIEW_OK, 1 VIEW_NOT_FOUND, 2 VIEW_ERROR, 3 setup */
int main(int argc, char **argv)
{
    char err[1024] = "";
    struct config *cfg = config_new();
    if (argc < 3 || !cfg || config_load(cfg, argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "setup: %s\n", err);
        return 3;
    }
    const char *tz = config_str(cfg, "time.zone");
    struct buf out;
    buf_init(&out, 1 << 24);
    int rc = VIEW_ERROR;
    if (!strcmp(argv[2], "status")) {
        rc = view_status(cfg, &out, err, sizeof err);
    } else {
        struct pgstore *db = pgstore_connect(config_str(cfg, "postgres.dsn"));
        if (!strcmp(argv[2], "periods"))
            rc = view_periods(db, &out, err, sizeof err);
        else if (!strcmp(argv[2], "results") && argc > 3)
            rc = view_results(db, argv[3], tz, &out, err, sizeof err);
        else if (!strcmp(argv[2], "rejections") && argc > 3)
            rc = view_rejections(db, atol(argv[3]), tz, &out, err, sizeof err);
        else if (!strcmp(argv[2], "report") && argc > 4) {
            struct view_report_opts o = {.unit = argc > 5 ? argv[5] : NULL};
            rc = view_report(db, argv[3], argv[4], &o, tz, &out, err, sizeof err);
        }
        pgstore_destroy(&db);
    }
    if (out.len) {
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
    }
    if (err[0])
        fprintf(stderr, "%s\n", err);
    buf_free(&out);
    config_destroy(&cfg);
    return rc == VIEW_OK ? 0 : rc == VIEW_NOT_FOUND ? 1 : 2;
}
"""
PKG = ["libzmq", "hiredis", "msgpack", "libpq", "inih", "jansson", "libcurl", "libmicrohttpd", "libsodium"]


def build_driver(out_dir):
    """Compiles DRIVER_C against the libkinerja_common.a beside BIN_DIR, with the
    sanitizers when that build has them."""
    build_dir = os.path.dirname(os.path.abspath(harness.BIN_DIR))
    lib = os.path.join(build_dir, "libkinerja_common.a")
    with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
        sanitize = "KINERJA_SANITIZE:BOOL=ON" in f.read()
    src, exe = os.path.join(out_dir, "views_driver.c"), os.path.join(out_dir, "views_driver")
    with open(src, "w") as f:
        f.write(DRIVER_C)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs"] + PKG, capture_output=True, text=True,
                           check=True).stdout.split()
    san = ["-fsanitize=address,undefined"] if sanitize else []
    r = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-I", os.path.join(harness.SOURCE_DIR, "common")] + san
                       + [src, lib] + flags + ["-lm", "-o", exe], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("cannot build the views driver:\n" + r.stderr[-3000:])
    return exe


class ViewsDriverTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        cls.driver = build_driver(stack.tmp)
        stack.org_import("nip,name,unit,position,supervisor_nip,job_family\n"
                         "%s,Kepala,UNIT-V,kepala,,admin\n%s,\"Staf \"\"Satu\"\"\",UNIT-V,staf,%s,admin\n"
                         "%s,Baru,UNIT-V,staf,%s,admin\n%s,Lain,UNIT-W,kepala,,admin\n" % (HEAD, STAFF, HEAD, nip(3), HEAD, nip(4)))
        doc = json.dumps({"predikat": "baik", "score": 87.5})
        # 2026-04: version 1, pending; 2026-05: version 2 approved, its predikat revised on
        # appeal (revised_predikat wins); computed_at 17:30 UTC = 00:30 the next day in
        # Jakarta (UTC+7)
        for period, version, state, pred, revised, at in (
                ("2026-04", 1, "pending_signoff", "baik", None, "2026-04-30 03:00:00+00"),
                ("2026-05", 2, "approved", "baik", "sangat_baik", "2026-05-31 17:30:00+00")):
            for v in range(1, version + 1):
                stack.sql("INSERT INTO score_versions (employee, period, version, predikat, score, result, computed_at)"
                          " VALUES (%s, %s, %s, %s, 87.50, %s::jsonb, %s::timestamptz)",
                          (STAFF, period, v, pred, doc, at))
            # a revised result holds the revised predikat in predikat too, as schemas/0003 leaves it
            stack.sql("INSERT INTO results (employee, period, state, version, predikat, score, revised_predikat)"
                      " VALUES (%s, %s, %s, %s, %s, 87.50, %s)", (STAFF, period, state, version, revised or pred,
                                                                  revised))
        # a result with no score version yet
        stack.sql("INSERT INTO results (employee, period) VALUES (%s, '2026-03')", (STAFF,))
        # citizen feedback alone makes a period too
        stack.sql("INSERT INTO feedback (event_id, period, unit, source, ts_ms, respondent, rating)"
                  " VALUES (%s, '2026-07', 'UNIT-V', 'kiosk:1', 0, 'r1', 4)", (str(uuid.uuid4()),))
        cls.rejections = [str(uuid.uuid4()) for _ in range(3)]
        for k, rid in enumerate(cls.rejections):
            stack.sql("INSERT INTO rejected_events (event_id, type, source, employee, reason, client, rejected_at)"
                      " VALUES (%s, 'evaluation', 'app:360', %s, %s, %s, %s::timestamptz)",
                      (rid, STRANGER, "employee %s: unknown" % STRANGER, "kiosk-%d" % k if k else None,
                       "2026-06-0%d 10:00:00+00" % (k + 1)))

    def drive(self, *args, want_rc=0):
        r = subprocess.run([self.driver, self.stack.config_path] + list(args), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, want_rc, r.stdout + r.stderr)
        return r

    def test_results_newest_first(self):
        doc = json.loads(self.drive("results", STAFF).stdout)
        self.assertEqual({k: doc[k] for k in ("employee", "name", "unit", "supervisor")},
                         {"employee": STAFF, "name": 'Staf "Satu"', "unit": "UNIT-V", "supervisor": HEAD})
        self.assertEqual([r["period"] for r in doc["results"]], ["2026-05", "2026-04", "2026-03"])
        may, apr, mar = doc["results"]
        self.assertEqual(may, {"period": "2026-05", "version": 2, "state": "approved", "predikat": "sangat_baik",
                               "score": 87.5, "computed_at": "2026-06-01T00:30:00+07:00"})
        # 03:00 UTC + 7 h = 10:00 Jakarta
        self.assertEqual(apr["computed_at"], "2026-04-30T10:00:00+07:00")
        self.assertEqual(apr["predikat"], "baik")
        self.assertEqual(mar, {"period": "2026-03", "version": 0, "state": "collecting", "predikat": None,
                               "score": None, "computed_at": None})

    def test_results_of_someone_without_results_and_unknown(self):
        doc = json.loads(self.drive("results", nip(3)).stdout)
        self.assertEqual(doc["results"], [])
        r = self.drive("results", STRANGER, want_rc=1)
        self.assertEqual(r.stdout, "", "NOT_FOUND leaves out empty")
        self.assertIn("unknown NIP %s" % STRANGER, r.stderr)
        r = self.drive("results", "123", want_rc=1)
        self.assertIn("nip: must be 18 digits", r.stderr)

    def test_periods(self):
        # results 2026-03..05 and feedback 2026-07, newest first
        self.assertEqual(json.loads(self.drive("periods").stdout), {"periods": ["2026-07", "2026-05", "2026-04",
                                                                                "2026-03"]})

    def test_rejections(self):
        doc = json.loads(self.drive("rejections", "2").stdout)
        # rejected_at June 3rd, 2nd, 1st: the newest two
        self.assertEqual([r["event_id"] for r in doc["rejections"]], self.rejections[::-1][:2])
        first = doc["rejections"][0]
        self.assertEqual(set(first), {"event_id", "type", "source", "client", "reason", "at"})
        self.assertEqual((first["type"], first["source"], first["client"]), ("evaluation", "app:360", "kiosk-2"))
        self.assertEqual(first["reason"], "employee %s: unknown" % STRANGER)
        self.assertEqual(first["at"], "2026-06-03T17:00:00+07:00")  # 10:00 UTC + 7 h
        every = json.loads(self.drive("rejections", "0").stdout)["rejections"]
        self.assertEqual(len(every), 3)
        self.assertIsNone(every[2]["client"])

    def test_report_unit_filter(self):
        full = self.drive("report", "unit", "2026-05").stdout
        cli = self.stack.kinerja("report", "unit", "--period", "2026-05", "--format", "json")
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(full, cli.stdout)  # the CLI's document, byte for byte
        rows = json.loads(full)
        self.assertEqual([u["unit"] for u in rows], ["UNIT-V", "UNIT-W"])
        # UNIT-V: STAFF's one result in 2026-05, revised to sangat_baik
        self.assertEqual((rows[0]["results"], rows[0]["predikat"]["sangat_baik"]), (1, 1))
        only_w = json.loads(self.drive("report", "unit", "2026-05", "UNIT-W").stdout)
        self.assertEqual(only_w, [rows[1]])
        self.assertEqual(json.loads(self.drive("report", "unit", "2026-05", "UNIT-X").stdout), [])
        r = self.drive("report", "salary", "2026-05", want_rc=1)
        self.assertIn("kind: unknown report 'salary'", r.stderr)

    def test_status_is_the_cli_document(self):
        a = self.drive("status").stdout
        b = self.stack.kinerja("status", "--json")
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(a, b.stdout)
        doc = json.loads(a)
        self.assertEqual((doc["redis_ok"], doc["postgres_ok"], doc["rejected"], doc["employees"]), (True, True, 3, 4))
        # Redis gone (the last test of the class, by name): VIEW_ERROR with the reason,
        # and still the document with what PostgreSQL holds
        self.stack.stop_redis()
        r = self.drive("status", want_rc=2)
        self.assertIn("Redis unreachable", r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["redis_ok"], doc["stream_length"], doc["postgres_ok"], doc["rejected"]),
                         (False, None, True, 3))
        self.assertEqual(r.stdout, self.stack.kinerja("status", "--json").stdout)


if __name__ == "__main__":
    unittest.main()
