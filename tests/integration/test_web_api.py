"""
kinerja-web's JSON API (SPEC 12, docs/API.md) against the real stack: broker, ingest
and score workers, PostgreSQL, and kinerja-web itself. Every route's shape and access:

  - sign-in: wrong password 401 (logged without the password), the (login_max + 1)th
    attempt from one address 429, a disabled account cannot use its old cookie;
  - an employee reads their own result (the document kinerja score --json prints) and
    not a colleague's (403), an unknown employee is 404; the supervisor reads their
    reports' results and their queue; the supervisor's supervisor reads too (appeals);
  - actions need the CSRF token (403 without; nothing reaches the broker);
  - a sign-off through the API lands in result_audit as the supervisor; a stale version
    comes back 409 with the worker's reason;
  - event status by id for operators; rejections; the public report without a session.

Organisation (unit UNIT-W): HEAD -> SUP -> A1, A2, A3 and the peers P1..P3.
"""

import json
import time
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-05"
TS = 1778284800000  # 2026-05-09T00:00:00Z
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
PASSWORD = "rahasia-uji-123"


def nip(n):
    return "1991040420160410%02d" % n


HEAD, SUP = nip(1), nip(2)
A = [nip(11), nip(12), nip(13)]
P = [nip(21), nip(22), nip(23)]
OPERATOR = "operator.bkd"


def org_csv():
    rows = ["nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala Dinas W,UNIT-W,kepala,,admin" % HEAD,
            "%s,Kepala Bidang W,UNIT-W,kabid,%s,admin" % (SUP, HEAD)]
    for k, n in enumerate(A):
        rows.append("%s,Staf A%d,UNIT-W,staf,%s,admin" % (n, k + 1, SUP))
    for k, n in enumerate(P):
        rows.append("%s,Rekan P%d,UNIT-W,staf,%s,admin" % (n, k + 1, SUP))
    return "\n".join(rows) + "\n"


def evaluation(employee, rater, relation, value, hasil=None):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
          "employee": employee, "period": PERIOD, "rater": rater, "relation": relation,
          "behaviour": {k: value for k in KEYS}}
    if hasil:
        ev["hasil_kerja"] = hasil
    return ev


def work_result(employee, realization):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
            "employee": employee, "period": PERIOD, "indicator": "SKP-1", "target": 10,
            "realization": realization}


class WebApiTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.write_config({"web.login_max": 6, "metrics.listen": "127.0.0.1:0"})
        stack.start_all(workers=1)
        stack.start_worker("score")
        stack.org_import(org_csv())
        events = []
        for n in A:
            events.append(evaluation(n, SUP, "supervisor", 4, hasil="meets"))
            for p in P:
                events.append(evaluation(n, p, "peer", 4))
            events.append(work_result(n, 10))
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0, r.stdout + r.stderr
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'", (PERIOD,)) == len(A),
            timeout=60, what="A1..A3 pending_signoff")
        for uid, role in [(A[0], "employee"), (A[1], "employee"), (A[2], "employee"), (SUP, "supervisor"),
                          (HEAD, "supervisor"),
                          (OPERATOR, "operator")]:
            stack.add_user(uid, role, PASSWORD)
        cls.web_proc = stack.start_web()

    def client(self, uid=None):
        c = self.stack.web()
        if uid:
            r = c.login(uid, PASSWORD)
            self.assertEqual(r.status, 200, r.text)
        return c

    # ---- sign-in ------------------------------------------------------------------

    def test_login_and_me(self):
        c = self.client(A[0])
        me = c.get("/api/v1/me")
        self.assertEqual(me.status, 200)
        doc = me.json()
        self.assertEqual(doc["id"], A[0])
        self.assertEqual(doc["role"], "employee")
        self.assertEqual(len(doc["csrf"]), 48)
        cookie = me.headers.get("Set-Cookie") or ""
        self.assertEqual(cookie, "")  # the session cookie is set once, at sign-in
        # the cookie is HttpOnly and SameSite=Strict
        login = self.stack.web().post_json("/api/v1/login", {"id": A[0], "password": PASSWORD}, csrf=False)
        sc = login.headers.get("Set-Cookie")
        self.assertIn("HttpOnly", sc)
        self.assertIn("SameSite=Strict", sc)
        self.assertIn("kinerja_session=", sc)
        # a cross-site form can post text/plain, never JSON: login takes JSON only
        plain = self.stack.web().request("POST", "/api/v1/login",
                                         body=json.dumps({"id": A[0], "password": PASSWORD}).encode(),
                                         headers={"Content-Type": "text/plain"})
        self.assertEqual(plain.status, 415)
        self.assertNotIn("kinerja_session=", plain.headers.get("Set-Cookie") or "")
        # security headers on every response
        self.assertIn("frame-ancestors 'none'", me.headers.get("Content-Security-Policy"))
        self.assertEqual(me.headers.get("X-Frame-Options"), "DENY")
        self.assertEqual(me.headers.get("X-Content-Type-Options"), "nosniff")

    def test_not_signed_in_is_401(self):
        c = self.stack.web()
        for path in ["/api/v1/me", "/api/v1/queue", "/api/v1/inbox", "/api/v1/results/%s" % A[0],
                     "/api/v1/results/%s/%s" % (A[0], PERIOD), "/api/v1/events/%s" % uuid.uuid4(),
                     "/api/v1/rejections", "/api/v1/status"]:
            r = c.get(path)
            self.assertEqual(r.status, 401, path)
            self.assertIn("error", r.json())
        self.assertEqual(c.get("/api/v1/nothing").status, 404)
        self.assertEqual(c.get("/api/v2/results").status, 404)

    def test_wrong_password_then_rate_limit(self):
        c = self.stack.web()
        secret = "salah-sekali-%d" % time.time_ns()
        r = c.login(P[0], secret)  # P1 has no account: the same answer as a wrong password
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"], "wrong id or password")
        r = c.login(A[1], secret)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"], "wrong id or password")
        self.stack.wait_for(lambda: "sign-in failed for %s" % A[1] in self.stack.log_text(
            self.stack.log_name(self.web_proc)), what="the failed sign-in logged")
        self.assertNotIn(secret, self.stack.log_text(self.stack.log_name(self.web_proc)))
        # web.login_max = 6 per address per 15 minutes (this test class shares the address:
        # count until refused, at most 6 more)
        statuses = [c.login(A[1], secret).status for _ in range(7)]
        self.assertIn(429, statuses)
        self.assertEqual(statuses[-1], 429)
        self.assertNotIn(200, statuses)

    # ---- reads ----------------------------------------------------------------------

    def test_employee_reads_own_result_not_a_colleagues(self):
        c = self.client(A[1])
        r = c.get("/api/v1/results/%s/%s" % (A[1], PERIOD))
        self.assertEqual(r.status, 200, r.text)
        doc = r.json()
        cli = json.loads(self.stack.kinerja("score", A[1], "--period", PERIOD, "--json").stdout)
        self.assertEqual(doc["employee"], A[1])
        self.assertEqual(doc["period"], PERIOD)
        self.assertEqual(sorted(doc.keys()), sorted(cli.keys()))  # the CLI's document
        self.assertEqual(doc["version"], cli["version"])
        self.assertEqual(doc["predikat"], cli["predikat"])
        listing = c.get("/api/v1/results/%s" % A[1])
        self.assertEqual(listing.status, 200)
        self.assertEqual([x["period"] for x in listing.json()["results"]], [PERIOD])
        # a colleague's result: 403; an unknown employee: 404
        self.assertEqual(c.get("/api/v1/results/%s/%s" % (A[2], PERIOD)).status, 403)
        self.assertEqual(c.get("/api/v1/results/%s" % A[2]).status, 403)
        self.assertEqual(c.get("/api/v1/results/%s/%s" % (nip(99), PERIOD)).status, 404)
        # the queue is for supervisors
        self.assertEqual(c.get("/api/v1/queue").status, 403)
        self.assertEqual(c.get("/api/v1/rejections").status, 403)

    def test_supervisor_and_second_line_read_reports(self):
        sup = self.client(SUP)
        for n in A:
            self.assertEqual(sup.get("/api/v1/results/%s/%s" % (n, PERIOD)).status, 200)
        q = sup.get("/api/v1/queue")
        self.assertEqual(q.status, 200)
        cli = json.loads(self.stack.kinerja("queue", "--supervisor", SUP, "--json").stdout)
        self.assertEqual(q.json(), cli)
        pending = self.stack.sql_value("SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'",
                                       (PERIOD,))
        self.assertEqual(len(cli), pending)
        self.assertGreaterEqual(pending, 2)
        head = self.client(HEAD)
        self.assertEqual(head.get("/api/v1/results/%s/%s" % (A[0], PERIOD)).status, 200)
        # the peers are no one's reports but SUP's: HEAD sees them, A1 does not
        self.assertEqual(self.client(A[0]).get("/api/v1/results/%s/%s" % (P[0], PERIOD)).status, 403)

    def test_inbox(self):
        sup = self.client(SUP)
        r = sup.get("/api/v1/inbox")
        self.assertEqual(r.status, 200)
        cli = json.loads(self.stack.kinerja("inbox", SUP, "--json").stdout)
        self.assertEqual(r.json(), cli)
        self.assertEqual(sup.get("/api/v1/inbox?limit=abc").status, 400)

    def test_operator_event_status_and_rejections(self):
        op = self.client(OPERATOR)
        bad = evaluation(nip(98), SUP, "supervisor", 4)  # unknown employee: refused by the worker
        r = self.stack.kinerja("send", "-", input=json.dumps(bad) + "\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.stack.wait_for(lambda: op.get("/api/v1/events/%s" % bad["id"]).json().get("state") == "rejected",
                            what="the event rejected by the worker")
        doc = op.get("/api/v1/events/%s" % bad["id"]).json()
        self.assertIn(nip(98), doc["reason"])
        rej = op.get("/api/v1/rejections?limit=10")
        self.assertEqual(rej.status, 200)
        self.assertIn(bad["id"], [x["event_id"] for x in rej.json()["rejections"]])
        unknown = op.get("/api/v1/events/%s" % uuid.uuid4()).json()
        self.assertEqual(unknown["state"], "unknown")
        st = op.get("/api/v1/status")
        self.assertEqual(st.status, 200, st.text)
        # the operator reads no person's result
        self.assertEqual(op.get("/api/v1/results/%s/%s" % (A[0], PERIOD)).status, 403)

    def test_public_report_without_session(self):
        c = self.stack.web()
        r = c.get("/api/v1/reports/public?period=%s" % PERIOD)
        self.assertEqual(r.status, 200, r.text)
        cli = json.loads(self.stack.kinerja("report", "public", "--period", PERIOD, "--format", "json").stdout)
        self.assertEqual(r.json(), cli)
        self.assertEqual(c.get("/api/v1/reports/awards?period=%s" % PERIOD).status, 401)
        self.assertEqual(c.get("/api/v1/reports/public").status, 400)
        self.assertEqual(c.get("/api/v1/periods").status, 200)

    # ---- actions --------------------------------------------------------------------

    def open_stream(self, client):
        """The live stream (SSE) of a signed-in client: a socket reading events."""
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.web_port, timeout=20)
        cookie = "; ".join("%s=%s" % (c.name, c.value) for c in client.jar)
        conn.request("GET", "/api/v1/stream", headers={"Cookie": cookie, "Accept": "text/event-stream"})
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/event-stream"))
        return conn, resp

    def read_event(self, resp, want_type, timeout=20):
        """Reads SSE lines until an event whose data has type want_type."""
        deadline = time.monotonic() + timeout
        data = None
        while time.monotonic() < deadline:
            line = resp.fp.readline().decode()
            if line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "\n" and data is not None:
                if data.get("type") == want_type:
                    return data
                data = None
        self.fail("no %s event on the live stream within %ss" % (want_type, timeout))

    def test_signoff_needs_csrf_then_lands_in_audit(self):
        sup = self.client(SUP)
        target = A[2]
        # the employee watches their live stream while the supervisor signs
        emp_conn, emp_stream = self.open_stream(self.client(target))
        self.assertEqual(self.stack.web().get("/api/v1/stream").status, 401)
        version = sup.get("/api/v1/results/%s/%s" % (target, PERIOD)).json()["version"]
        before = self.stack.sql_value("SELECT count(*) FROM event_log WHERE type = 'signoff'")
        body = {"employee": target, "period": PERIOD, "decision": "approve", "version": version,
                "note": "baik, lanjutkan"}
        r = sup.post_json("/api/v1/signoff", body, csrf=False)
        self.assertEqual(r.status, 403)
        wrong = sup.request("POST", "/api/v1/signoff", body=json.dumps(body).encode(),
                            headers={"Content-Type": "application/json", "X-CSRF-Token": "0" * 48})
        self.assertEqual(wrong.status, 403)
        # an employee may not sign
        emp = self.client(A[0])
        self.assertEqual(emp.post_json("/api/v1/signoff", body).status, 403)
        time.sleep(0.5)
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM event_log WHERE type = 'signoff'"), before)
        r = sup.post_json("/api/v1/signoff", body)
        self.assertEqual(r.status, 202, r.text)
        doc = r.json()
        self.assertEqual(doc["status"], "accepted")
        self.assertEqual(doc["outcome"], "stored")
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT state FROM results WHERE employee = %s AND period = %s", (target, PERIOD)) == "approved",
            what="approved")
        actor = self.stack.sql_value(
            "SELECT actor FROM result_audit WHERE employee = %s AND period = %s AND to_state = 'approved'",
            (target, PERIOD))
        self.assertEqual(actor, SUP)
        src = self.stack.sql_value("SELECT source FROM event_log WHERE id = %s", (doc["id"],))
        self.assertEqual(src, "web:kinerja")
        live = self.read_event(emp_stream, "result_approved")
        self.assertEqual(live["employee"], target)
        self.assertEqual(live["period"], PERIOD)
        emp_conn.close()
        # the same version again: refused by the worker, 409 with its reason
        again = sup.post_json("/api/v1/signoff", body)
        self.assertEqual(again.status, 409, again.text)
        self.assertTrue(again.json()["reason"])

    def test_feedback_note_from_the_supervisor_only(self):
        target = A[0]
        emp_conn, emp_stream = self.open_stream(self.client(target))
        body = {"employee": target, "period": PERIOD, "text": "Pertahankan ketepatan waktu",
                "value": "akuntabel"}
        self.assertEqual(self.client(A[1]).post_json("/api/v1/feedback", body).status, 403)
        r = self.client(SUP).post_json("/api/v1/feedback", body)
        self.assertEqual(r.status, 202, r.text)
        self.assertEqual(r.json()["outcome"], "stored")
        live = self.read_event(emp_stream, "feedback_note")
        self.assertEqual(live["employee"], target)
        emp_conn.close()
        doc = self.client(target).get("/api/v1/results/%s/%s" % (target, PERIOD)).json()
        notes = [h for h in doc["history"] if h["what"] == "feedback"]
        self.assertEqual([(n["actor"], n["note"], n["value"]) for n in notes],
                         [(SUP, "Pertahankan ketepatan waktu", "akuntabel")])
        # the second line is not the pejabat penilai: the worker refuses it
        r = self.client(HEAD).post_json("/api/v1/feedback", body)
        self.assertEqual(r.status, 409, r.text)
        self.assertIn("is not the supervisor of", r.json()["reason"])
        self.assertEqual(self.client(SUP).post_json("/api/v1/feedback", {"employee": target,
                                                                         "period": PERIOD}).status, 400)

    def test_appeal_is_for_oneself(self):
        emp = self.client(A[1])
        r = emp.post_json("/api/v1/appeal", {"period": PERIOD, "reason": "nilai perilaku kurang tepat",
                                             "employee": A[0]})
        # the employee field is the signed-in person's, whatever the body says
        self.assertIn(r.status, (202, 409), r.text)
        doc = r.json()
        emp_of_event = self.stack.sql_value("SELECT employee FROM event_log WHERE id = %s", (doc["id"],))
        if emp_of_event is None:
            emp_of_event = self.stack.sql_value("SELECT employee FROM rejected_events WHERE event_id = %s",
                                                (doc["id"],))
        self.assertEqual(emp_of_event, A[1])
        self.assertEqual(emp.post_json("/api/v1/appeal", {"period": PERIOD}).status, 400)


class WebLifecycleTest(StackTestCase):
    """/healthz probes PostgreSQL; SIGTERM lets an open request finish and exits 0."""

    @classmethod
    def setup_stack(cls, stack):
        cls.metrics_port = __import__("harness").free_port()
        stack.start_all(workers=0)
        cls.web_proc = stack.start_web(env={"KINERJA_METRICS_LISTEN": "127.0.0.1:%d" % cls.metrics_port})

    def healthz(self):
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.metrics_port, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_1_healthz_follows_postgres(self):
        self.stack.wait_for(lambda: self.healthz()[0] == 200, what="healthz 200")
        self.stack.stop_postgres()
        try:
            self.stack.wait_for(lambda: self.healthz()[0] == 503, timeout=15, what="healthz 503 without PostgreSQL")
            self.assertIn("postgres", self.healthz()[1])
            # pages that need the database say so, the process stays up
            r = self.stack.web().get("/api/v1/periods")
            self.assertEqual(r.status, 503)
        finally:
            self.stack.start_postgres()
        self.stack.wait_for(lambda: self.healthz()[0] == 200, timeout=20, what="healthz 200 again")
        self.assertIsNone(self.web_proc.poll())

    def test_2_sigterm_drains_and_exits_0(self):
        import threading
        c = self.stack.add_user("operator.x", "operator", PASSWORD) and self.stack.web()
        self.assertEqual(c.login("operator.x", PASSWORD).status, 200)
        conn, resp = WebApiTest.open_stream(self, c)
        self.stack.stop(self.web_proc)  # expects exit code 0 within the stop timeout
        conn.close()


if __name__ == "__main__":
    unittest.main()
