"""
The signed-in pages of kinerja-web (SPEC 12; web/pages.c) against the real stack: the
broker, the ingest and score workers, PostgreSQL, Redis and kinerja-web itself, driven
with urllib and a cookie jar (the browser tests are in test_web_browser).

Organisation (unit UNIT-P): TOP heads it; MID reports to TOP
and is the pejabat penilai of E1..E4; P1..P3 are MID's other staff and rate E1..E4 as
peers, so the peer group is shown (3 raters = fairness.anonymity_min). E4 is rated by two
peers only: its peer group is hidden by the anonymity rule. E2's name holds a <script>.
TOP decides the appeals of MID's staff (the second line). OP is an operator.

Each client connects from its own loopback address (127.0.0.N; Linux routes all of
127/8 to lo), so the per-address sign-in limit one test exhausts does not lock the
others out.

Checked: the sign-in (generic error, a log line without the password, 429 after ten
attempts per address and five per account, the redirect by role and to a local ?next=
only), access (an employee reads only their own result; /atasan and a colleague's result
are 403; an unknown period 404), CSRF (a POST without the token is 403 and sends nothing),
the sign-off through the form landing in result_audit as the supervisor, a stale version
refused with the worker's reason, an appeal filed and decided through the forms, the
operator's pipeline and rejections, escaping of hostile names, notes and reasons on every
page, the anonymity rule (a hidden group shows no figure), and the static files.
"""

import functools
import html.parser
import http.client
import http.cookiejar
import json
import re
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

from harness import StackTestCase

PERIOD = "2026-04"
TS = 1775606400000  # 2026-04-08T00:00:00Z: inside PERIOD in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 90
PASSWORD = "rahasia-yang-panjang-1"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def nip(n):
    return "1990030320150310%02d" % n


TOP, MID = nip(1), nip(2)
E1, E2, E3, E4 = nip(11), nip(12), nip(13), nip(14)
E5 = nip(15)  # peers only (no supervisor, no work result): no predikat, inputs_missing at close
P = [nip(21), nip(22), nip(23)]
OP = "operator.satu"
OUTSIDER = nip(31)  # a supervisor elsewhere: not in E1's chain
BUPATI = "bupati:uji"  # an evaluator who is not ASN: TOP's pejabat penilai


def org_csv():
    rows = ["nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala Dinas,UNIT-P,kepala,%s,admin" % (TOP, BUPATI),
            "%s,Kepala Bidang,UNIT-P,kabid,%s,admin" % (MID, TOP),
            "%s,Staf Satu,UNIT-P,staf,%s,admin" % (E1, MID),
            "%s,Staf %s,UNIT-P,staf,%s,admin" % (E2, SCRIPT, MID),
            "%s,Staf Tiga,UNIT-P,staf,%s,admin" % (E3, MID),
            "%s,Staf Empat,UNIT-P,staf,%s,admin" % (E4, MID),
            "%s,Staf Lima,UNIT-P,staf,%s,admin" % (E5, MID),
            "%s,Kepala Lain,UNIT-P,kabid,%s,admin" % (OUTSIDER, TOP)]
    for k, n in enumerate(P):
        rows.append("%s,Rekan %d,UNIT-P,staf,%s,admin" % (n, k + 1, MID))
    return "\n".join(rows) + "\n"


def evaluation(employee, rater, relation, value, hasil=None, comment=None):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
          "employee": employee, "period": PERIOD, "rater": rater, "relation": relation,
          "behaviour": {k: value for k in KEYS}}
    if hasil:
        ev["hasil_kerja"] = hasil
    if comment:
        ev["comment"] = comment
    return ev


def citizen(employee, rating, comment):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback", "source": "kiosk:unit-p-01",
            "ts": TS + 3600 * 1000, "unit": "UNIT-P", "employee": employee, "rating": rating, "comment": comment}


# Comments: E1's three peers and its supervisor comment (shown groups: shown); one citizen
# comments on E1 (a group of one: hidden); E4's two peers comment (hidden).
SUP_COMMENT = "Atasan: teliti dan tepat waktu"
PEER_COMMENTS = ["Rekan: suka membantu", "Rekan: " + IMG, "Rekan: komunikatif"]
HIDDEN_CITIZEN = "Warga-E1-tidak-boleh-tampil"
HIDDEN_PEERS = ["Rekan-E4-rahasia-1", "Rekan-E4-rahasia-2"]


def work_result(employee, indicator, realization, ts=TS):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": ts,
            "employee": employee, "period": PERIOD, "indicator": indicator, "target": 10,
            "realization": realization}


def jsonl(events):
    return "".join(json.dumps(e) + "\n" for e in events)


# ---- an HTTP client with cookies, no redirects followed, its own source address ----------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class _SourceHandler(urllib.request.HTTPHandler):
    def __init__(self, source):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.source, 0)), req)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def location(self):
        return self.headers.get("Location", "")


_next_source = [10]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Structure(html.parser.HTMLParser):
    """Checks what the pages promise: every element closed in order, ids unique, no
    inline style or script (the CSP blocks them), one doctype."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open, self.ids, self.errors, self.doctype = [], set(), [], False

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def _start(self, tag, attrs, push):
        a = dict(attrs)
        if a.get("id") is not None:
            if a["id"] in self.ids:
                self.errors.append("duplicate id %r" % a["id"])
            self.ids.add(a["id"])
        if "style" in a or tag == "style":
            self.errors.append("inline style on <%s>" % tag)
        if tag == "script" and not a.get("src"):
            self.errors.append("inline script")
        if any(k.startswith("on") for k in a):
            self.errors.append("event handler attribute on <%s>" % tag)
        if push and tag not in VOID:
            self.open.append(tag)

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, True)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, False)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.open[-1] if self.open else "nothing"))
        else:
            self.open.pop()


def structure_errors(page):
    p = _Structure()
    p.feed(page)
    p.close()
    errors = list(p.errors)
    if not p.doctype:
        errors.append("no <!doctype html>")
    if p.open:
        errors.append("left open: %s" % p.open)
    return errors


class Client:
    """One browser: a cookie jar and a loopback source address of its own."""

    def __init__(self, base):
        self.base = base
        _next_source[0] += 1
        self.source = "127.0.0.%d" % _next_source[0]
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(_SourceHandler(self.source),
                                                  urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, method, path, fields=None):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(req, timeout=30) as r:
                resp = Response(r.status, r.headers, r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            resp = Response(e.code, e.headers, e.read().decode("utf-8", "replace"))
        if resp.headers.get("Content-Type", "").startswith("text/html") and resp.body:
            errors = structure_errors(resp.body)  # every HTML page any test reads
            assert not errors, "%s %s: %s\n%s" % (method, path, errors, resp.body[:3000])
        return resp

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, fields)

    def follow(self, r):
        """The page a 303 leads to."""
        assert r.status in (302, 303), (r.status, r.body[:2000])
        loc = r.location
        if loc.startswith(self.base):
            loc = loc[len(self.base):]
        return self.get(loc)

    @staticmethod
    def csrf(html):
        m = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(r'value="([^"]+)" name="csrf"', html)
        assert m, "no csrf field in the page:\n" + html[:3000]
        return m.group(1)

    def login(self, who, password=PASSWORD, next_path=None):
        page = self.get("/login" + ("?next=" + urllib.parse.quote(next_path, safe="") if next_path else ""))
        assert page.status == 200, (page.status, page.body[:1000])
        fields = {"csrf": self.csrf(page.body), "nip": who, "password": password}
        if next_path:
            fields["next"] = next_path
        return self.post("/login", fields)


def text_of(html, element_id):
    """The text inside the element with that id (tags stripped)."""
    m = re.search(r'<(\w+)[^>]*\bid="%s"[^>]*>(.*?)</\1>' % re.escape(element_id), html, re.S)
    return re.sub(r"<[^>]+>", "", m.group(2)).strip() if m else None


class WebPagesTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        stack.start_worker(role="ingest")
        stack.start_worker(role="score")
        ev = stack.write_file("evaluators.csv", "id,name,position\n%s,Bupati Uji,Bupati\n" % BUPATI)
        r = stack.kinerja("org", "import", "--evaluators", ev)
        assert r.returncode == 0, r.stdout + r.stderr
        stack.org_import(org_csv())
        for who, role in [(BUPATI, "supervisor"), (TOP, "supervisor"), (MID, "supervisor"), (E1, "employee"), (E2, "employee"),
                          (E3, "employee"), (E4, "employee"), (OUTSIDER, "supervisor"), (OP, "operator"),
                          (P[0], "employee"), (P[1], "employee")]:
            r = stack.kinerja("user", "add", who, "--role", role, "--password-stdin", input=PASSWORD + "\n")
            assert r.returncode == 0, r.stdout + r.stderr
        events = []
        for e in (E1, E2, E3):
            events.append(evaluation(e, MID, "supervisor", 4, hasil="meets",
                                     comment=SUP_COMMENT if e == E1 else None))
            for k, p in enumerate(P):
                events.append(evaluation(e, p, "peer", 4, comment=PEER_COMMENTS[k] if e == E1 else None))
            events.append(work_result(e, "SKP-1", 10))
        events.append(citizen(E1, 4, HIDDEN_CITIZEN))
        events.append(evaluation(E4, MID, "supervisor", 4, hasil="meets"))
        for k, p in enumerate(P[:2]):
            events.append(evaluation(E4, p, "peer", 2, comment=HIDDEN_PEERS[k]))
        events.append(work_result(E4, "SKP-1", 10))
        for p in P:
            events.append(evaluation(E5, p, "peer", 4))  # and no work result: no predikat
        r = stack.kinerja("send", "-", input=jsonl(events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, r.stdout + r.stderr
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'"
            " AND employee = ANY(%s)", (PERIOD, [E1, E2, E3, E4])) == 4,
            timeout=SETTLE_TIMEOUT, what="four results pending_signoff")
        cls.web = stack.start_web()
        cls.base = stack.web_url

    # ---- helpers ------------------------------------------------------------------

    _signed_in = {}

    def client(self, who=None):
        """A new anonymous browser, or the (one, kept) signed-in browser of who: every
        sign-in counts toward the per-account limit (five per 15 minutes)."""
        if who in self._signed_in:
            return self._signed_in[who]
        c = Client(self.base)
        if who:
            r = c.login(who)
            self.assertEqual(r.status, 303, r.body[:2000])
            self._signed_in[who] = c
        return c

    def result(self, employee):
        rows = self.stack.sql("SELECT state::text, version, predikat, revised_predikat FROM results"
                              " WHERE employee = %s AND period = %s", (employee, PERIOD))
        self.assertEqual(len(rows), 1)
        return dict(zip(["state", "version", "predikat", "revised_predikat"], rows[0]))

    def web_log(self):
        return self.stack.log_text(self.web)

    def assert_escaped(self, html):
        self.assertNotIn(SCRIPT, html)
        self.assertNotIn("<img src=x", html)
        self.assertNotRegex(html, r"<script(?![^>]*\bsrc=\"/static/app\.js\")")

    def events_about(self, employee, type_):
        return self.stack.sql_value("SELECT count(*) FROM event_log WHERE employee = %s AND type = %s",
                                    (employee, type_))

    # ---- sign-in ------------------------------------------------------------------

    def test_login_wrong_password_is_generic_and_logged_without_it(self):
        c = self.client()
        secret = "salah-sekali-%s" % uuid.uuid4().hex[:8]
        r = c.login(E1, password=secret)
        self.assertEqual(r.status, 401)
        self.assertIn('<p class="error"', r.body)
        self.assertIn("NIP atau kata sandi salah", r.body)
        self.assertNotIn(secret, r.body)
        # an unknown id gets exactly the same answer
        r2 = c.login(nip(99), password=secret)
        self.assertEqual(r2.status, 401)
        self.assertIn("NIP atau kata sandi salah", r2.body)
        self.stack.wait_for(lambda: "login failed for %s from %s" % (E1, c.source) in self.web_log(),
                            timeout=5, what="the failed sign-in in the log")
        self.assertIn("login failed for %s from %s" % (nip(99), c.source), self.web_log())
        self.assertNotIn(secret, self.web_log())
        # and the right password works from the same browser, to the role's home
        r3 = c.login(E1)
        self.assertEqual(r3.status, 303)
        self.assertTrue(r3.location.endswith("/saya"), r3.location)

    def test_login_rate_limit_per_address(self):
        c = self.client()
        # ten attempts from one address within 15 minutes (different ids: the per-account
        # limit of five does not come first), the eleventh is refused
        for i in range(10):
            r = c.login("tidak.ada.%d" % i, password="salah-salah")
            self.assertEqual(r.status, 401, "attempt %d: %s" % (i + 1, r.body[:500]))
        r = c.login("tidak.ada.10", password="salah-salah")
        self.assertEqual(r.status, 429)
        self.assertIn("Terlalu banyak percobaan", r.body)
        # even the right password: the limit is checked before the password
        r = c.login(E3)
        self.assertEqual(r.status, 429)
        # another address is not affected
        r = self.client().login(E3)
        self.assertEqual(r.status, 303)

    def test_login_rate_limit_per_account(self):
        target = P[0]  # an account no other test signs in with
        for i in range(5):
            r = self.client().login(target, password="salah-salah")  # a new address each time
            self.assertEqual(r.status, 401, "attempt %d" % (i + 1))
        r = self.client().login(target)
        self.assertEqual(r.status, 429)

    def test_login_redirects_to_local_next_only(self):
        r = Client(self.base).login(MID, next_path="/atasan/banding")
        self.assertEqual(r.status, 303)
        self.assertTrue(r.location.endswith("/atasan/banding"), r.location)
        for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            r = Client(self.base).login(OUTSIDER, next_path=evil)
            self.assertEqual(r.status, 303)
            self.assertTrue(r.location.endswith("/atasan"), (evil, r.location))
        # the operator goes to /operator
        r = self.client().login(OP)
        self.assertEqual(r.status, 303)
        self.assertTrue(r.location.endswith("/operator"), r.location)

    def test_logout(self):
        c = Client(self.base)
        self.assertEqual(c.login(P[1]).status, 303)  # an account of its own: the session ends here
        page = c.get("/saya")
        self.assertEqual(page.status, 200)
        self.assertEqual(c.post("/logout", {}).status, 403)  # no token
        r = c.post("/logout", {"csrf": c.csrf(page.body)})
        self.assertEqual(r.status, 303)
        self.assertTrue(r.location.endswith("/login"), r.location)
        r = c.get("/saya")
        self.assertIn(r.status, (302, 303))
        self.assertIn("/login", r.location)

    # ---- access -------------------------------------------------------------------

    def test_employee_sees_only_their_own(self):
        c = self.client(E1)
        r = c.get("/saya")
        self.assertEqual(r.status, 200)
        links = re.findall(r'<a class="result-link" href="([^"]+)"', r.body)
        self.assertEqual(links, ["/saya/" + PERIOD])
        page = c.get("/saya/" + PERIOD)
        self.assertEqual(page.status, 200)
        for marker in ('id="predikat"', 'id="score"', '<table id="perilaku"', '<section id="history"',
                       '<section id="feedback"', '<section id="training"'):
            self.assertIn(marker, page.body)
        res = self.result(E1)
        self.assertEqual(text_of(page.body, "predikat"), "Baik")  # hasil meets x perilaku above (4 >= pk_above 3.75)
        self.assertEqual(res["predikat"], "baik")
        doc = json.loads(self.stack.kinerja("score", E1, "--period", PERIOD, "--json").stdout)
        self.assertEqual(text_of(page.body, "score"), "%.2f" % doc["score"])
        # the chart: one bar per BerAKHLAK value, as wide as its value in the table (4.00 of 5)
        chart = re.search(r'<svg class="chart"[^>]*>(.*?)</svg>', page.body, re.S).group(1)
        bars = re.findall(r'<rect x="150" y="\d+" width="([\d.]+)"', chart)
        self.assertEqual(len(bars), 7)
        for v, w in zip(KEYS, bars):
            self.assertAlmostEqual(float(w), doc["perilaku"]["values"][v] / 5 * 150, delta=0.06)
        # the history says why the version was written, in Indonesian
        self.assertIn("Versi 1 dihitung", page.body)
        self.assertIn("(versi pertama)", page.body)
        # the appeal form only once approved (another test approves E1)
        self.assertEqual('<form id="appeal"' in page.body, res["state"] == "approved")
        # an unknown period, a malformed one
        self.assertEqual(c.get("/saya/2026-01").status, 404)
        self.assertEqual(c.get("/saya/banana").status, 404)
        # the supervisor's pages, a colleague's result
        self.assertEqual(c.get("/atasan").status, 403)
        self.assertEqual(c.get("/atasan/%s/%s" % (E2, PERIOD)).status, 403)
        self.assertEqual(c.get("/operator").status, 403)
        # a supervisor outside the chain cannot read E1's result either
        o = self.client(OUTSIDER)
        self.assertEqual(o.get("/atasan/%s/%s" % (E1, PERIOD)).status, 403)
        self.assertEqual(o.get("/atasan/%s/%s" % (nip(98), PERIOD)).status, 404)
        # not signed in: to the sign-in, with the way back
        r = Client(self.base).get("/saya/" + PERIOD)
        self.assertIn(r.status, (302, 303))
        self.assertIn("/login?next=", r.location)

    def test_anonymity_hidden_group_shows_no_figure(self):
        # E4 has two peer ratings (< anonymity_min 3): the JSON says shown:false
        doc = json.loads(self.stack.kinerja("score", E4, "--period", PERIOD, "--json").stdout)
        self.assertIs(doc["perilaku"]["groups"]["peer"]["shown"], False)
        page = self.client(E4).get("/saya/" + PERIOD)
        self.assertEqual(page.status, 200)
        row = re.search(r'<tr data-group="peer">(.*?)</tr>', page.body, re.S).group(1)
        self.assertIn("disembunyikan (kurang dari 3 penilai)", row)
        self.assertNotRegex(re.sub(r"kurang dari 3 penilai", "", re.sub(r"<[^>]+>", "", row)), r"\d")

    def test_evaluator_without_results_of_their_own(self):
        b = self.client(BUPATI)
        page = b.get("/saya")
        self.assertEqual(page.status, 200)
        self.assertIn("tidak terhubung dengan data pegawai", page.body)
        self.assertNotIn('class="result-link"', page.body)
        queue = b.get("/atasan")
        self.assertEqual(queue.status, 200)
        self.assertIn('<table id="queue"', queue.body)

    def test_feedback_comments_under_anonymity(self):
        page = self.client(E1).get("/saya/" + PERIOD)
        section = re.search(r'<section id="feedback">(.*?)</section>', page.body, re.S).group(1)
        self.assertIn(SUP_COMMENT, section)
        self.assertIn("Rekan: suka membantu", section)
        self.assertIn("Rekan: komunikatif", section)
        self.assertIn("Rekan: &quot;&gt;&lt;img src=x onerror=alert(1)&gt;", section)
        self.assert_escaped(page.body)
        # the citizen group of E1 has one response (< 3): shown false, its comment not shown
        doc = json.loads(self.stack.kinerja("score", E1, "--period", PERIOD, "--json").stdout)
        self.assertIs(doc["perilaku"]["groups"]["citizen"]["shown"], False)
        self.assertNotIn(HIDDEN_CITIZEN, page.body)
        # comments are labelled with the group, never the rater
        for p in P:
            self.assertNotIn(p, section)
        # E4's peers are two: neither their figures nor their comments are shown, to E4 nor to MID
        for who, path in ((E4, "/saya/" + PERIOD), (MID, "/atasan/%s/%s" % (E4, PERIOD))):
            body = self.client(who).get(path).body
            for c in HIDDEN_PEERS:
                self.assertNotIn(c, body)
            self.assertIn("Belum ada komentar yang dapat ditampilkan", body)

    def test_static_files(self):
        c = Client(self.base)
        css = c.get("/static/app.css")
        self.assertEqual(css.status, 200)
        self.assertTrue(css.headers.get("Content-Type", "").startswith("text/css"))
        for cls in (".notice", ".error", ".warning", ".chart", ".card", ".grid", ".muted", ".big-choice"):
            self.assertIn(cls, css.body)
        js = c.get("/static/app.js")
        self.assertEqual(js.status, 200)
        self.assertIn("javascript", js.headers.get("Content-Type", ""))
        self.assertIn("new EventSource('/api/v1/stream')", js.body)
        self.assertIn("live-item", js.body)
        self.assertIn("textContent", js.body)
        self.assertNotIn("innerHTML", js.body)
        self.assertEqual(c.get("/static/nope.js").status, 404)

    # ---- CSRF ---------------------------------------------------------------------

    def test_post_without_csrf_is_refused_and_sends_nothing(self):
        before = (self.stack.sql_value("SELECT count(*) FROM event_log"),
                  self.stack.sql_value("SELECT count(*) FROM rejected_events"))
        m = self.client(MID)
        page = m.get("/atasan/%s/%s" % (E3, PERIOD))
        self.assertEqual(page.status, 200)
        version = text_of(page.body, "version")
        r = m.post("/atasan/%s/%s/signoff" % (E3, PERIOD), {"decision": "approve", "version": version})
        self.assertEqual(r.status, 403)
        r = m.post("/atasan/%s/%s/signoff" % (E3, PERIOD),
                   {"decision": "approve", "version": version, "csrf": "x" * 40})
        self.assertEqual(r.status, 403)
        e = self.client(E3)
        r = e.post("/saya/%s/banding" % PERIOD, {"reason": "tanpa token"})
        self.assertEqual(r.status, 403)
        time.sleep(1.0)  # anything sent would be stored (or refused) well within this
        after = (self.stack.sql_value("SELECT count(*) FROM event_log"),
                 self.stack.sql_value("SELECT count(*) FROM rejected_events"))
        self.assertEqual(before, after)
        self.assertEqual(self.result(E3)["state"], "pending_signoff")

    # ---- the supervisor -----------------------------------------------------------

    def test_supervisor_approves_through_the_form(self):
        m = self.client(MID)
        queue = m.get("/atasan")
        self.assertEqual(queue.status, 200)
        self.assertIn('<table id="queue"', queue.body)
        row = re.search(r'<tr class="queue-row" data-employee="%s" data-period="%s">(.*?)</tr>' % (E1, PERIOD),
                        queue.body, re.S)
        self.assertIsNotNone(row, queue.body[:4000])
        self.assertIn('class="review-link" href="/atasan/%s/%s"' % (E1, PERIOD), row.group(1))
        page = m.get("/atasan/%s/%s" % (E1, PERIOD))
        self.assertEqual(page.status, 200)
        res = self.result(E1)
        self.assertEqual(text_of(page.body, "version"), str(res["version"]))
        self.assertIn('<input type="hidden" name="version" value="%d">' % res["version"], page.body)
        for marker in ('<textarea id="note"', '<button id="approve"', '<button id="return"'):
            self.assertIn(marker, page.body)
        r = m.post("/atasan/%s/%s/signoff" % (E1, PERIOD),
                   {"csrf": m.csrf(page.body), "decision": "approve", "version": str(res["version"]),
                    "note": "kerja bagus"})
        self.assertEqual(r.status, 303, r.body[:2000])
        self.assertIn("/atasan/%s/%s?event=" % (E1, PERIOD), r.location)
        done = m.follow(r)
        self.assertIn('<p class="notice"', done.body)
        # PostgreSQL: approved, by MID, this version, with the note
        self.assertEqual(self.result(E1)["state"], "approved")
        audit = self.stack.sql("SELECT actor, version, note FROM result_audit WHERE employee = %s AND period = %s"
                               " AND to_state = 'approved'", (E1, PERIOD))
        self.assertEqual(audit, [(MID, res["version"], "kerja bagus")])
        # the queue no longer lists it; the review page offers to reopen it instead of signing
        self.assertNotIn('data-employee="%s"' % E1, m.get("/atasan").body)
        again = m.get("/atasan/%s/%s" % (E1, PERIOD))
        self.assertNotIn('<form id="signoff"', again.body)
        self.assertIn('<form id="reopen"', again.body)
        # the employee's page shows the approval and the appeal form
        mine = self.client(E1).get("/saya/" + PERIOD)
        self.assertIn("disetujui", mine.body)
        self.assertIn('<form id="appeal"', mine.body)
        # and MID reopens it through the form (SPEC 6: approved -> returned, by MID)
        r = m.post("/atasan/%s/%s/signoff" % (E1, PERIOD),
                   {"csrf": m.csrf(again.body), "decision": "return", "version": str(res["version"]),
                    "note": "ada realisasi terlambat"})
        self.assertEqual(r.status, 303, r.body[:2000])
        self.assertIn('<p class="notice"', m.follow(r).body)
        reopened = self.stack.sql("SELECT actor, note FROM result_audit WHERE employee = %s AND period = %s"
                                  " AND from_state = 'approved' AND to_state = 'returned'", (E1, PERIOD))
        self.assertEqual(reopened, [(MID, "ada realisasi terlambat")])
        self.assertNotEqual(self.result(E1)["state"], "approved")

    def test_supervisor_returns_with_a_note(self):
        m = self.client(MID)
        page = m.get("/atasan/%s/%s" % (E4, PERIOD))
        self.assertEqual(page.status, 200)
        version = text_of(page.body, "version")
        sent = self.stack.sql_value("SELECT count(*) FROM event_log WHERE type = 'signoff'")
        # a note longer than the event allows (2000 bytes) is refused on the page, nothing sent
        r = m.post("/atasan/%s/%s/signoff" % (E4, PERIOD),
                   {"csrf": m.csrf(page.body), "decision": "return", "version": version, "note": "x" * 2001})
        self.assertEqual(r.status, 400)
        self.assertIn("Catatan terlalu panjang", r.body)
        r = m.post("/atasan/%s/%s/signoff" % (E4, PERIOD),
                   {"csrf": m.csrf(page.body), "decision": "menolak", "version": version})
        self.assertEqual(r.status, 400)
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM event_log WHERE type = 'signoff'"), sent)
        r = m.post("/atasan/%s/%s/signoff" % (E4, PERIOD),
                   {"csrf": m.csrf(page.body), "decision": "return", "version": version,
                    "note": "lengkapi realisasi SKP"})
        self.assertEqual(r.status, 303, r.body[:2000])
        self.assertIn('<p class="notice"', m.follow(r).body)
        audit = self.stack.sql("SELECT actor, version, note FROM result_audit WHERE employee = %s AND period = %s"
                               " AND to_state = 'returned'", (E4, PERIOD))
        self.assertEqual(audit, [(MID, int(version), "lengkapi realisasi SKP")])
        self.assertNotEqual(self.result(E4)["state"], "pending_signoff")
        # the employee sees the return and its note in the history
        mine = self.client(E4).get("/saya/" + PERIOD)
        self.assertIn("dikembalikan", mine.body)
        self.assertIn("lengkapi realisasi SKP", mine.body)

    def test_supervisor_feedback_note(self):
        """Umpan balik (event `feedback`) from the review page: stored, shown to the employee
        in the history (escaped), no score change; not offered to and refused from anyone
        but the direct supervisor; an empty or unknown-aspect note sends nothing."""
        m = self.client(MID)
        page = m.get("/atasan/%s/%s" % (E2, PERIOD))
        self.assertEqual(page.status, 200)
        self.assertIn('<form id="feedback-note"', page.body)
        before = self.result(E2)
        sent = self.events_about(E2, "feedback")
        for bad in ({"text": "   "}, {"text": "x", "value": "jujur"}, {"text": "x" * 2001}):
            r = m.post("/atasan/%s/%s/feedback" % (E2, PERIOD), dict(bad, csrf=m.csrf(page.body)))
            self.assertEqual(r.status, 400, bad)
        self.assertEqual(self.events_about(E2, "feedback"), sent)
        note = "Perlu lebih teliti " + SCRIPT
        r = m.post("/atasan/%s/%s/feedback" % (E2, PERIOD),
                   {"csrf": m.csrf(page.body), "text": note, "value": "akuntabel"})
        self.assertEqual(r.status, 303, r.body[:2000])
        self.assertIn("Umpan balik Anda tercatat", m.follow(r).body)
        self.assertEqual(self.events_about(E2, "feedback"), sent + 1)
        self.assertEqual(self.result(E2), before)  # a note changes nothing of the result
        mine = self.client(E2).get("/saya/" + PERIOD)
        self.assertIn("Umpan balik dari atasan tentang Akuntabel", mine.body)
        self.assertIn("Perlu lebih teliti &lt;script&gt;", mine.body)
        self.assert_escaped(mine.body)
        self.assertEqual(structure_errors(mine.body), [])
        # TOP (second line) sees no form and cannot post one
        top = self.client(TOP)
        other = top.get("/atasan/%s/%s" % (E2, PERIOD))
        self.assertNotIn('<form id="feedback-note"', other.body)
        r = top.post("/atasan/%s/%s/feedback" % (E2, PERIOD), {"csrf": top.csrf(other.body), "text": "x"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.events_about(E2, "feedback"), sent + 1)

    def test_stale_version_is_refused_with_the_reason(self):
        m = self.client(MID)
        page = m.get("/atasan/%s/%s" % (E3, PERIOD))
        self.assertEqual(page.status, 200)
        old = int(text_of(page.body, "version"))
        token = m.csrf(page.body)
        # a material change: a second SKP indicator of E3 (its own work results changed), a new version
        r = self.stack.kinerja("send", "-", input=jsonl([work_result(E3, "SKP-2", 6, ts=TS + 1000)]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.stack.wait_for(lambda: self.result(E3)["version"] > old, timeout=SETTLE_TIMEOUT,
                            what="a new version of E3")
        r = m.post("/atasan/%s/%s/signoff" % (E3, PERIOD),
                   {"csrf": token, "decision": "approve", "version": str(old)})
        self.assertEqual(r.status, 303, r.body[:2000])
        shown = m.follow(r)
        err = re.search(r'<p class="error"[^>]*>(.*?)</p>', shown.body, re.S)
        self.assertIsNotNone(err, shown.body[:3000])
        self.assertIn("stale", err.group(1))
        # the refusal is the worker's: the same text as rejected_events holds
        ev = urllib.parse.parse_qs(urllib.parse.urlparse(r.location).query)["event"][0]
        reason = self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (ev,))
        self.assertIn("stale", reason)
        self.assertNotEqual(self.result(E3)["state"], "approved")
        # the page now shows the new version to sign, and why it was written
        self.assertEqual(text_of(shown.body, "version"), str(self.result(E3)["version"]))
        self.assertIn("(masukan pegawai berubah)", shown.body)

    # ---- appeal, escaping ---------------------------------------------------------

    def test_appeal_filed_and_decided_through_the_forms_escaped_everywhere(self):
        m = self.client(MID)
        # the hostile name is escaped in the queue and on the review page
        queue = m.get("/atasan")
        self.assertIn("Staf &lt;script&gt;alert(1)&lt;/script&gt;", queue.body)
        self.assert_escaped(queue.body)
        page = m.get("/atasan/%s/%s" % (E2, PERIOD))
        self.assert_escaped(page.body)
        version = text_of(page.body, "version")
        r = m.post("/atasan/%s/%s/signoff" % (E2, PERIOD),
                   {"csrf": m.csrf(page.body), "decision": "approve", "version": version, "note": SCRIPT})
        self.assertEqual(r.status, 303, r.body[:2000])
        self.stack.wait_for(lambda: self.result(E2)["state"] == "approved", timeout=10, what="E2 approved")

        e = self.client(E2)
        mine = e.get("/saya/" + PERIOD)
        self.assertEqual(mine.status, 200)
        self.assert_escaped(mine.body)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", mine.body)  # the note, in the history
        self.assertIn('<textarea id="appeal-reason"', mine.body)
        r = e.post("/saya/%s/banding" % PERIOD, {"csrf": e.csrf(mine.body), "reason": IMG})
        self.assertEqual(r.status, 303, r.body[:2000])
        after = e.follow(r)
        self.assertIn('<p class="notice"', after.body)
        self.assert_escaped(after.body)
        self.assertIn("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;", after.body)
        self.assertEqual(self.result(E2)["state"], "appealed")
        self.assertEqual(self.events_about(E2, "appeal"), 1)
        listing = e.get("/saya")
        self.assert_escaped(listing.body)

        # MID is not the second line: no appeal of E2 to decide, and a decision is refused
        mb = m.get("/atasan/banding")
        self.assertNotIn('data-employee="%s"' % E2, mb.body)
        r = m.post("/atasan/banding", {"csrf": m.csrf(mb.body), "employee": E2, "period": PERIOD,
                                       "decision": "uphold"})
        self.assertEqual(r.status, 403)

        t = self.client(TOP)
        tb = t.get("/atasan/banding")
        self.assertEqual(tb.status, 200)
        self.assert_escaped(tb.body)
        card = re.search(r'<article class="card appeal" data-employee="%s" data-period="%s">(.*?)</article>'
                         % (E2, PERIOD), tb.body, re.S)
        self.assertIsNotNone(card, tb.body[:4000])
        self.assertIn('<form class="decide"', card.group(1))
        self.assertIn('class="uphold"', card.group(1))
        self.assertIn('class="revise"', card.group(1))
        self.assertIn('<select id="decide-predikat-1" name="predikat">', card.group(1))
        self.assertIn("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;", card.group(1))
        # revise without a predikat: refused on the page, nothing sent
        r = t.post("/atasan/banding", {"csrf": t.csrf(tb.body), "employee": E2, "period": PERIOD,
                                       "decision": "revise", "predikat": ""})
        self.assertEqual(r.status, 400)
        self.assertIn('<p class="error"', r.body)
        self.assertEqual(self.events_about(E2, "appeal_decision"), 0)
        r = t.post("/atasan/banding", {"csrf": t.csrf(tb.body), "employee": E2, "period": PERIOD,
                                       "decision": "revise", "predikat": "sangat_baik", "note": SCRIPT})
        self.assertEqual(r.status, 303, r.body[:2000])
        decided = t.follow(r)
        self.assertIn('<p class="notice"', decided.body, decided.body[:3000])
        self.assert_escaped(decided.body)
        res = self.result(E2)
        self.assertEqual(res["revised_predikat"], "sangat_baik")
        self.assertNotEqual(res["state"], "appealed")
        self.assertNotIn('data-employee="%s"' % E2, decided.body)
        # the decision is in the history the employee sees, escaped
        final = e.get("/saya/" + PERIOD)
        self.assert_escaped(final.body)
        self.assertIn("direvisi menjadi", final.body)
        # TOP may read E2's result (second line) but not sign it
        review = t.get("/atasan/%s/%s" % (E2, PERIOD))
        self.assertEqual(review.status, 200)
        self.assertNotIn('<form id="signoff"', review.body)
        self.assert_escaped(review.body)

    def test_appeal_refused_by_the_worker_shows_its_reason(self):
        # E4's result is still pending sign-off: the ingest worker refuses an appeal
        e = self.client(E4)
        page = e.get("/saya/" + PERIOD)
        self.assertNotIn('id="appeal"', page.body)
        r = e.post("/saya/%s/banding" % PERIOD, {"csrf": e.csrf(page.body), "reason": "tidak setuju"})
        self.assertEqual(r.status, 303, r.body[:2000])
        shown = e.follow(r)
        err = re.search(r'<p class="error"[^>]*>(.*?)</p>', shown.body, re.S)
        self.assertIsNotNone(err, shown.body[:3000])
        ev = urllib.parse.parse_qs(urllib.parse.urlparse(r.location).query)["event"][0]
        reason = self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (ev,))
        self.assertTrue(reason)
        self.assertIn(reason.split(":")[0], err.group(1))
        # someone else's event id on one's own page says nothing
        other = self.client(E1).get("/saya/%s?event=%s" % (PERIOD, ev))
        self.assertNotIn('<p class="error"', other.body)

    # ---- the operator -------------------------------------------------------------

    def test_operator_pipeline_rejections_and_event_lookup(self):
        bad = evaluation(nip(97), MID, "peer", 3)  # unknown employee: refused by the worker
        bad["comment"] = SCRIPT
        r = self.stack.kinerja("send", "-", input=jsonl([bad]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.stack.wait_for(lambda: self.stack.sql_value("SELECT count(*) FROM rejected_events WHERE event_id = %s",
                                                         (bad["id"],)), timeout=20, what="the rejection")
        o = self.client(OP)
        page = o.get("/operator")
        self.assertEqual(page.status, 200)
        self.assertIn('<section id="pipeline"', page.body)
        self.assertIn('<table id="rejections"', page.body)
        self.assertIn('<form id="event-lookup"', page.body)
        self.assertIn('<input id="event-id"', page.body)
        self.assertIn(bad["id"], page.body)
        self.assert_escaped(page.body)
        look = o.get("/operator/event?id=" + bad["id"])
        self.assertEqual(look.status, 200)
        self.assertIn('data-state="rejected"', look.body)
        reason = self.stack.sql_value("SELECT reason FROM rejected_events WHERE event_id = %s", (bad["id"],))
        self.assertIn(reason.split(":")[0], look.body)
        self.assertEqual(o.get("/operator/event?id=bukan-uuid").status, 400)
        self.assertEqual(self.client(MID).get("/operator").status, 403)

    # ---- near the end (it closes the period): missing inputs on the queue ------------

    def test_zx_period_close_shows_missing_inputs_on_the_queue(self):
        self.stack.wait_for(lambda: (self.result(E5)["version"] or 0) >= 1, timeout=SETTLE_TIMEOUT,
                            what="E5 scored")
        self.assertEqual(self.result(E5)["state"], "collecting")
        before = self.client(MID).get("/atasan").body
        self.assertNotIn('<section id="missing"', before)
        self.stack.sql("SELECT kinerja_close_period(%s)", (PERIOD,))  # what the scheduler does at close
        page = self.client(MID).get("/atasan")
        section = re.search(r'<section id="missing">(.*?)</section>', page.body, re.S)
        self.assertIsNotNone(section, page.body[:4000])
        self.assertIn("Staf Lima", section.group(1))
        self.assertIn('<span class="warning">penilaian perilaku oleh atasan belum ada</span>', section.group(1))
        self.assertIn('<span class="warning">realisasi SKP (hasil kerja) belum ada</span>', section.group(1))
        self.assertNotIn('data-employee="%s"' % E5, page.body)  # never offered for sign-off

    # ---- last: the server stops cleanly, no sanitizer report -------------------------

    def test_zz_web_exits_cleanly_without_sanitizer_reports(self):
        self.stack.stop(self.web)  # SIGTERM drains and exits 0 (an ASan build reports leaks here)
        log = self.web_log()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            self.assertNotIn(bad, log)


if __name__ == "__main__":
    unittest.main()
