"""
kinerja-web in a real browser (issue 13): Debian's headless Chromium driven by
playwright-core under `node --test` (tests/browser/*.test.mjs), against the real stack:
redis, PostgreSQL, the broker (CURVE off), the ingest, score, notify and schedule workers
and kinerja-web, all started by the harness.

The fixture, set up here through the real paths (org import, `kinerja user add`, events
through the broker, `kinerja signoff`):

  unit UNIT-A "Dinas Kependudukan dan Pencatatan Sipil":
      TOP  Kepala Dinas (no supervisor)            account: supervisor (decides appeals)
      MID  Kepala Bidang, reports to TOP           account: supervisor (signs E1..E3)
      E1   Staf Satu, reports to MID: meets x 4 -> baik, pending_signoff (test 2 approves it)
      E2   a hostile name, reports to MID: meets x 4 -> baik, pending_signoff (test 3)
      E3   Staf Tiga, reports to MID: above x 5 -> sangat_baik, approved here (test 4 appeals,
           test 8: TOP revises it to baik)
      E4..E7 (SIGNED) reports to MID: meets x 4 -> baik, approved here, so that with E3 the
           unit has the five signed results the predikat distribution chart needs
  unit UNIT-X, whose name holds <script>: X1 reports to TOP, no result.
  operator account OPS.

  SKM responses this month: UNIT-A 2 x (all nine 4) + 2 x (all nine 3): every element
  mean (2*4 + 2*3)/4 = 3.5, IKM = 3.5 * 25 = 87.50 -> mutu B (76.61..88.30);
  UNIT-X 3 x (all nine 4): IKM 4 * 25 = 100.00 -> A. Last month UNIT-A 3 x (all nine 3):
  IKM 75.00 -> C, so the IKM trend has two periods.

Then `node --test` runs the browser tests with the base URL, the logins and the expected
figures in KINERJA_* environment variables (tests/browser/README.md lists them), and this
test fails with node's output when node fails. Afterwards the database must show what the
clicks did: E1 and E2 approved by MID with the notes typed, E3 appealed with the reason
typed and then revised to baik by TOP, the survey and the hostile public comment in
feedback (source web:UNIT-A). Test 7 (operator) finds an event the worker refused.

Screenshots of every step: KINERJA_ARTIFACTS, <build dir>/artifacts/browser by default
(KINERJA_BIN_DIR/../artifacts/browser).

Needs: node >= 20 and npm, /usr/bin/chromium (Debian package chromium; CI installs it in
scripts/install-deps.sh). tests/browser/node_modules is installed with `npm ci` when
missing.
"""

import calendar
import datetime
import json
import os
import re
import shutil
import subprocess
import time
import uuid
import zoneinfo

from harness import BIN_DIR, SOURCE_DIR, StackTestCase

BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
CHROMIUM = os.environ.get("KINERJA_CHROMIUM", "/usr/bin/chromium")
NODE_TIMEOUT = 240     # seconds for the whole browser suite
NPM_TIMEOUT = 300      # seconds for npm ci
SETTLE_TIMEOUT = 90
ORDER = ["access.test.mjs", "appeal.test.mjs", "operator.test.mjs", "public.test.mjs", "signoff.test.mjs",
         "survey.test.mjs"]
PASSWORD = {"MID": "atasan-rahasia-1", "TOP": "kadis-rahasia-2", "E1": "pegawai-satu-3",
            "E2": "pegawai-dua-4", "E3": "pegawai-tiga-5", "OPS": "operator-rahasia-6"}
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]

HOSTILE_UNIT_NAME = "<script>alert(1)</script> Kecamatan Uji"
HOSTILE_PERSON_NAME = '"><img src=x onerror=alert(2)> Staf Dua'
UNIT_A_NAME = "Dinas Kependudukan dan Pencatatan Sipil"


def nip(n):
    return "1990030320150310%02d" % n


TOP, MID, E1, E2, E3, X1 = nip(1), nip(2), nip(11), nip(12), nip(13), nip(21)
# four more of MID's staff, approved in the setup: with E3 five signed results in UNIT-A,
# the least the public page needs to show a unit's predikat distribution (no one's
# predikat can be told from it)
SIGNED = [nip(14), nip(15), nip(16), nip(17)]
OPS = "operator1"

# Now, in the time zone that places feedback in its month (time.zone, Asia/Jakarta): the
# period of this run is the current month, so no scheduled period close touches it.
_NOW = datetime.datetime.now(zoneinfo.ZoneInfo("Asia/Jakarta"))
PERIOD = "%04d-%02d" % (_NOW.year, _NOW.month)
TS = int(time.time() * 1000) - 60000
_prev = _NOW.replace(day=1) - datetime.timedelta(days=1)
PREV_TS = calendar.timegm((_prev.year, _prev.month, 15, 3, 0, 0)) * 1000  # the 15th, 10:00 WIB


def csv_field(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s


def org_csv():
    rows = [("nip", "name", "unit", "position", "supervisor_nip", "job_family"),
            (TOP, "Kepala Dinas", "UNIT-A", "kepala", "", "admin"),
            (MID, "Kepala Bidang", "UNIT-A", "kabid", TOP, "admin"),
            (E1, "Staf Satu", "UNIT-A", "staf", MID, "admin"),
            (E2, HOSTILE_PERSON_NAME, "UNIT-A", "staf", MID, "admin"),
            (E3, "Staf Tiga", "UNIT-A", "staf", MID, "admin"),
            (X1, "Camat Uji", "UNIT-X", "camat", TOP, "admin")]
    rows += [(n, "Staf %d" % (k + 4), "UNIT-A", "staf", MID, "admin") for k, n in enumerate(SIGNED)]
    return "".join(",".join(csv_field(f) for f in r) + "\n" for r in rows)


def event(type_, ts=TS, source="test:browser", **fields):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": type_, "source": source, "ts": ts}
    ev.update(fields)
    return ev


def fixture_events():
    evs = []
    for emp, hasil, value in [(E1, "meets", 4), (E2, "meets", 4), (E3, "above", 5)] + [(n, "meets", 4) for n in SIGNED]:
        evs.append(event("evaluation", source="app:360", employee=emp, period=PERIOD, rater=MID,
                         relation="supervisor", behaviour={k: value for k in KEYS}, hasil_kerja=hasil))
        evs.append(event("work_result", source="app:skp", employee=emp, period=PERIOD, indicator="SKP-1",
                         target=10, realization=10))
    skm = lambda a: {"u%d" % k: a for k in range(1, 10)}  # noqa: E731
    for i, a in enumerate((4, 4, 3, 3)):
        evs.append(event("citizen_feedback", ts=TS - i * 1000, source="survey:web", unit="UNIT-A", skm=skm(a)))
    for i in range(3):
        evs.append(event("citizen_feedback", ts=TS - i * 1000, source="survey:web", unit="UNIT-X", skm=skm(4)))
        evs.append(event("citizen_feedback", ts=PREV_TS + i * 1000, source="survey:web", unit="UNIT-A",
                         skm=skm(3)))
    return evs


def _preflight():
    """Clear failures for what the browser tests need but the machine lacks."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError("%s not found: the browser tests need Debian's chromium "
                           "(apt-get install chromium; scripts/install-deps.sh installs it in CI)" % CHROMIUM)
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError("%s not found: the browser tests need Node.js >= 20 and npm "
                               "(apt-get install nodejs npm)" % tool)
    r = subprocess.run(["node", "-e", "process.exit(+process.versions.node.split('.')[0] >= 20 ? 0 : 1)"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("node >= 20 is needed for `node --test` (found %s)" %
                           subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip())
    if not os.path.exists(os.path.join(BROWSER_DIR, "node_modules", "playwright-core", "package.json")):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, capture_output=True,
                           text=True, timeout=NPM_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("`npm ci` in %s failed (%d): playwright-core could not be installed from the "
                               "npm registry:\n%s%s" % (BROWSER_DIR, r.returncode, r.stdout[-3000:], r.stderr[-3000:]))


def artifacts_dir():
    d = os.environ.get("KINERJA_ARTIFACTS") or os.path.join(os.path.dirname(BIN_DIR), "artifacts", "browser")
    d = os.path.abspath(d)
    os.makedirs(d, exist_ok=True)
    return d


class BrowserTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        _preflight()
        # schedule.recalc once a year (1 January 01:00): a full recalculation in the
        # middle of the run must not offer a new version of a result on screen
        # and every sign-in of the suite (six) well inside the login limit
        stack.write_config({"schedule.recalc": "0 1 1 1 *", "web.login_max": 50})
        stack.start_all(workers=1)
        for role in ("score", "notify", "schedule"):
            stack.start_worker(role)
        stack.org_import(org_csv())
        # the import takes no unit_name column yet (SPEC 4 names it): the names as the
        # other tests set them
        for code, name in (("UNIT-A", UNIT_A_NAME), ("UNIT-X", HOSTILE_UNIT_NAME)):
            stack.sql("UPDATE units SET name = %s WHERE code = %s", (name, code))
        for uid, key, role in ((MID, "MID", "supervisor"), (TOP, "TOP", "supervisor"), (E1, "E1", "employee"),
                               (E2, "E2", "employee"), (E3, "E3", "employee"), (OPS, "OPS", "operator")):
            stack.add_user(uid, role, PASSWORD[key])
        evs = fixture_events()
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in evs))
        if r.returncode != 0 or "accepted=%d" % len(evs) not in r.stdout:
            raise RuntimeError("kinerja send: %s%s" % (r.stdout, r.stderr))
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff' AND employee = ANY(%s)",
            (PERIOD, [E1, E2, E3] + SIGNED)) == 3 + len(SIGNED), timeout=SETTLE_TIMEOUT,
            what="E1..E3 and the other four pending_signoff")
        for emp in [E3] + SIGNED:
            r = stack.kinerja("signoff", emp, "--period", PERIOD, "--supervisor", MID, "--approve",
                              "--note", "disetujui")
            if r.returncode != 0:
                raise RuntimeError("kinerja signoff %s failed (%d):\n%s%s" % (emp, r.returncode, r.stdout, r.stderr))
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'approved' AND employee = ANY(%s)",
            (PERIOD, [E3] + SIGNED)) == 1 + len(SIGNED), timeout=SETTLE_TIMEOUT, what="E3 and the four approved")
        # the unit figures of both months are computed
        stack.wait_for(lambda: stack.sql_value("SELECT count(*) FROM score_periods"
                                               " WHERE generation > computed_generation") == 0
                       and stack.status()["pending"] == 0, timeout=SETTLE_TIMEOUT, what="periods scored")
        stack.start_web()
        cls.web_url = stack.web_url
        # one event the ingest worker refuses (an employee nobody imported), for the
        # operator's rejections table and event lookup
        cls.rejected = event("work_result", source="kiosk:vendor-1", employee=nip(99), period=PERIOD,
                             indicator="SKP-1", target=10, realization=5)
        r = stack.kinerja("send", "-", input=json.dumps(cls.rejected) + "\n")
        if r.returncode != 0:
            raise RuntimeError("kinerja send: %s%s" % (r.stdout, r.stderr))
        cls.rejected_reason = stack.wait_for(lambda: stack.sql_value(
            "SELECT reason FROM rejected_events WHERE event_id = %s", (cls.rejected["id"],)),
            timeout=SETTLE_TIMEOUT, what="the refused event in rejected_events")

    # ---- helpers ------------------------------------------------------------------

    def result(self, employee):
        rows = self.stack.sql("SELECT state::text, version, predikat FROM results WHERE employee = %s AND period = %s",
                              (employee, PERIOD))
        self.assertEqual(len(rows), 1, "no result for %s" % employee)
        return dict(zip(("state", "version", "predikat"), rows[0]))

    def node_env(self):
        env = dict(os.environ)
        env.update({
            "KINERJA_WEB_URL": self.web_url,
            "KINERJA_ARTIFACTS": artifacts_dir(),
            "KINERJA_CHROMIUM": CHROMIUM,
            "KINERJA_PERIOD": PERIOD,
            "KINERJA_SUPERVISOR": MID, "KINERJA_SUPERVISOR_PASSWORD": PASSWORD["MID"],
            "KINERJA_DECIDER": TOP, "KINERJA_DECIDER_PASSWORD": PASSWORD["TOP"],
            "KINERJA_OPERATOR": OPS, "KINERJA_OPERATOR_PASSWORD": PASSWORD["OPS"],
            # E1: signed off in test 2; E2: watches /saya while signed off (test 3);
            # E3: approved in the setup, appeals (test 4)
            "KINERJA_EMP_SIGN": E1, "KINERJA_EMP_SIGN_PASSWORD": PASSWORD["E1"],
            "KINERJA_EMP_SIGN_VERSION": str(self.result(E1)["version"]),
            "KINERJA_EMP_LIVE": E2, "KINERJA_EMP_LIVE_PASSWORD": PASSWORD["E2"],
            "KINERJA_EMP_LIVE_VERSION": str(self.result(E2)["version"]),
            "KINERJA_EMP_APPEAL": E3, "KINERJA_EMP_APPEAL_PASSWORD": PASSWORD["E3"],
            "KINERJA_EMP_APPEAL_PREDIKAT": "Sangat Baik",
            "KINERJA_UNIT": "UNIT-A", "KINERJA_UNIT_NAME": UNIT_A_NAME, "KINERJA_UNIT_IKM": "87.50",
            "KINERJA_HOSTILE_UNIT": "UNIT-X", "KINERJA_HOSTILE_UNIT_NAME": HOSTILE_UNIT_NAME,
            "KINERJA_HOSTILE_PERSON_NAME": HOSTILE_PERSON_NAME,
            "KINERJA_REJECTED_EVENT": self.rejected["id"], "KINERJA_REJECTED_REASON": self.rejected_reason,
        })
        return env

    # ---- the test -----------------------------------------------------------------

    def test_browser_suite(self):
        s = self.stack
        # the fixture is what the browser tests expect (hand-computed in the module comment)
        self.assertEqual(self.result(E1)["predikat"], "baik")
        self.assertEqual(self.result(E2)["predikat"], "baik")
        self.assertEqual(self.result(E3)["predikat"], "sangat_baik")
        self.assertEqual(self.result(E3)["state"], "approved")

        # this run's screenshots only
        for f in os.listdir(artifacts_dir()):
            if f.endswith(".png"):
                os.unlink(os.path.join(artifacts_dir(), f))
        # One file after the other, in this order: public (IKM 87.50 of UNIT-A's four
        # responses) before survey (which adds a fifth); appeal (test 4) before its
        # decision (test 8, same file). Files not listed run after, in name order.
        found = sorted(f for f in os.listdir(BROWSER_DIR) if f.endswith(".test.mjs"))
        order = [f for f in ORDER if f in found] + [f for f in found if f not in ORDER]
        self.assertEqual([f for f in ORDER if f not in found], [], "tests/browser lacks files")
        tests = [os.path.join(BROWSER_DIR, f) for f in order]
        t0 = time.monotonic()
        try:
            r = subprocess.run(["node", "--test", "--test-concurrency=1", "--test-reporter=spec"] + tests,
                               cwd=BROWSER_DIR, env=self.node_env(), capture_output=True, text=True,
                               timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            self.fail("node --test did not finish within %ss:\n%s" % (NODE_TIMEOUT, out[-20000:]))
        took = time.monotonic() - t0
        print("\nnode --test (%.1f s), screenshots in %s:\n%s%s" % (took, artifacts_dir(), r.stdout[-20000:],
                                                                    r.stderr[-5000:]))
        self.assertEqual(r.returncode, 0, "browser tests failed:\n%s\n%s" % (r.stdout[-20000:], r.stderr[-5000:]))

        # What the clicks did, as the database shows it.
        def audit(emp):
            return s.sql("SELECT to_state::text, actor, note FROM result_audit WHERE employee = %s AND period = %s"
                         " AND from_state IS NOT NULL ORDER BY id", (emp, PERIOD))
        s.wait_for(lambda: self.result(E1)["state"] == "approved", timeout=20, what="E1 approved")
        self.assertIn(("approved", MID, "Kinerja baik, terus pertahankan <img src=x onerror=alert(5)>"), audit(E1))
        s.wait_for(lambda: self.result(E2)["state"] == "approved", timeout=20, what="E2 approved")
        self.assertIn(("approved", MID, "Disetujui lewat peramban"), audit(E2))
        # E3: appealed in test 4, then revised to baik by TOP in test 8
        s.wait_for(lambda: s.sql("SELECT state::text, revised_predikat FROM results WHERE employee = %s"
                                 " AND period = %s", (E3, PERIOD)) == [("final", "baik")], timeout=20,
                   what="E3 final, revised to baik")
        self.assertEqual([t for t, _, _ in audit(E3)][-3:], ["approved", "appealed", "final"])
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log WHERE type = 'appeal_decision' AND employee = %s"
                                     " AND payload->>'decider' = %s AND payload->>'decision' = 'revise'", (E3, TOP)), 1)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log WHERE type = 'appeal' AND employee = %s", (E3,)),
                         1)
        self.assertEqual(s.sql_value("SELECT payload->>'reason' FROM event_log WHERE type = 'appeal'"
                                     " AND employee = %s", (E3,)),
                         "Capaian SKP-1 bulan ini belum dihitung penuh <script>alert(4)</script>")
        # the survey: the event id the page showed is stored with the nine answers typed
        # (4, 3, 4, 4, 3, 4, 4, 2, 3 in survey.test.mjs), for UNIT-A
        m = re.search(r"survey event ([0-9a-f-]{36})", r.stdout)
        self.assertIsNotNone(m, "the survey test printed no event id")
        s.wait_for(lambda: s.sql("SELECT unit, skm, comment FROM feedback WHERE event_id = %s", (m.group(1),)),
                   timeout=20, what="the survey's event in feedback")
        self.assertEqual(s.sql("SELECT unit, skm, comment FROM feedback WHERE event_id = %s", (m.group(1),))[0],
                         ("UNIT-A", [4, 3, 4, 4, 3, 4, 4, 2, 3], "Survei dari ponsel 360 px: petugas ramah"))
        # the public response: rating 3 with the hostile comment, source web:UNIT-A (SPEC 12)
        # (feedback.source is the device of the kiosk-misuse step: each web response its own)
        rows = s.wait_for(lambda: s.sql("SELECT f.unit, f.rating, e.source, f.source = 'web:' || e.id::text "
                                        "FROM feedback f JOIN event_log e ON e.id = f.event_id "
                                        "WHERE f.comment LIKE %s", ("%<img src=x onerror=alert(1)>%",)),
                          timeout=20, what="the public response in feedback")
        self.assertEqual(rows, [("UNIT-A", 3, "web:UNIT-A", True)])
