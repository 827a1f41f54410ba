"""
Notifications end to end (SPEC 6): `kinerja-worker --role notify` delivering rows of the
transactional outbox (table notifications, schemas/0003_workflow.sql) on a real ZeroMQ
PUB socket and to a real HTTP webhook receiver (Python http.server on a free loopback
port), against a real PostgreSQL. Rows are inserted with SQL, so these tests do not
depend on the workflow path that normally writes them.

What a user relies on: a SUB socket subscribed to a NIP gets that NIP's notifications
with the documented msgpack fields; the webhook gets the JSON with a signature the
receiver can verify and X-Kinerja-Id; a receiver that is down gets the notification once
it is back, after retries with growing pauses; one that always fails ends in status
'dead' (shown by `kinerja status --json`); a worker killed mid-delivery loses nothing;
two workers never deliver the same notification twice; /healthz says 503 while
PostgreSQL is down; the secret and the URL's credentials never reach the log.
"""

import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid

import msgpack
import zmq

from harness import StackTestCase, free_port

SECRET = "webhook-s3cret-Q9x"
URL_PASSWORD = "urlpa55word"
URL_TOKEN = "tok3n-in-query"
NIP_SUPERVISOR = "198001012005011001"
NIP_EMPLOYEE = "199002022015022002"
NIP_OTHER = "197503032000031003"
PERIOD = "2026-03"
DELIVERY_TIMEOUT = 30
FIELDS = {"id", "kind", "recipient", "employee", "period", "version", "created_at", "payload"}


class Receiver:
    """A webhook receiver on 127.0.0.1:port. behaviour(n, total) -> (status, delay_s), n
    being how many requests this id had before (0 for the first), total how many requests
    came before at all. Records every request:
    {"t", "id", "signature", "content_type", "body", "status"}."""

    def __init__(self, behaviour=None, port=None):
        self.port = port or free_port()
        self.behaviour = behaviour or (lambda n, total: (200, 0))
        self.lock = threading.Lock()
        self.receipts = []
        self.arrived = threading.Event()
        self.server = None
        self.thread = None

    @property
    def url(self):
        # userinfo and a query that must never be logged
        return "http://kinerja:%s@127.0.0.1:%d/hooks/kinerja?token=%s" % (URL_PASSWORD, self.port, URL_TOKEN)

    def start(self):
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                nid = self.headers.get("X-Kinerja-Id")
                with rx.lock:
                    n = sum(1 for r in rx.receipts if r["id"] == nid)
                    status, delay = rx.behaviour(n, len(rx.receipts))
                    rx.receipts.append({"t": time.monotonic(), "id": nid, "body": body, "status": status,
                                        "signature": self.headers.get("X-Kinerja-Signature"),
                                        "content_type": self.headers.get("Content-Type"),
                                        "path": self.path})
                rx.arrived.set()
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok" if status < 300 else b"no")
                except OSError:
                    pass  # the worker went away (killed) while we slept

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def for_id(self, nid):
        with self.lock:
            return [r for r in self.receipts if r["id"] == nid]

    def count(self):
        with self.lock:
            return len(self.receipts)


def app_login(stack):
    """A login role with only kinerja_app's rights (SPEC 8), as the daemons run: a GRANT
    missing for anything the notify worker does fails these tests. Returns its DSN."""
    stack.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kinerja_notify_app')"
              " THEN CREATE ROLE kinerja_notify_app LOGIN IN ROLE kinerja_app; END IF; END $$")
    return stack.pg_dsn.replace("user=kinerja", "user=kinerja_notify_app")


def verify(receipt):
    sig = receipt["signature"] or ""
    want = "sha256=" + hmac.new(SECRET.encode(), receipt["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, want)


class NotifyTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()
        stack.migrate()
        has_table = stack.sql_value("SELECT to_regclass('notifications') IS NOT NULL")
        assert has_table, "the migrations did not create the notifications table (schemas/0003_workflow.sql)"
        cls.app_dsn = app_login(stack)
        cls.zctx = zmq.Context.instance()

    def setUp(self):
        self.stack.sql("DELETE FROM notifications")
        self.workers = []
        self.receivers = []
        self.socks = []

    def tearDown(self):
        super().tearDown()
        for w in self.workers:
            if w.poll() is None:
                self.stack.stop(w)  # SIGTERM: exit 0 (and, under ASan, no leak)
        for r in self.receivers:
            r.stop()
        for s in self.socks:
            s.close(linger=0)

    # ---- helpers ---------------------------------------------------------------------

    def receiver(self, behaviour=None, port=None, start=True):
        rx = Receiver(behaviour, port)
        self.receivers.append(rx)
        return rx.start() if start else rx

    def worker(self, rx=None, endpoint=None, metrics_port=None, **settings):
        """Starts a notify worker (webhook to rx when given, notify.KEY=VALUE settings)
        and waits until it runs."""
        env = {"KINERJA_NOTIFY_ENDPOINT": endpoint or "tcp://127.0.0.1:%d" % free_port(),
               "KINERJA_NOTIFY_RETRY_BASE_MS": "200", "KINERJA_POSTGRES_DSN": self.app_dsn}
        if metrics_port:
            env["KINERJA_METRICS_LISTEN"] = "127.0.0.1:%d" % metrics_port
        if rx is not None:
            env["KINERJA_NOTIFY_WEBHOOK_URL"] = rx.url
            env["KINERJA_NOTIFY_WEBHOOK_SECRET"] = SECRET
        for k, v in settings.items():
            env["KINERJA_NOTIFY_" + k.upper()] = str(v)
        proc = self.stack.start_worker("notify", env=env)
        self.workers.append(proc)
        proc.endpoint = env["KINERJA_NOTIFY_ENDPOINT"]
        self.stack.wait_for(lambda: "postgres connected" in self.stack.log_text(proc), timeout=20,
                            what="the notify worker to connect")
        return proc

    def insert(self, recipient=NIP_SUPERVISOR, kind="signoff_requested", version=2, payload=None, wake=False):
        payload = payload if payload is not None else {"employee": NIP_EMPLOYEE, "period": PERIOD,
                                                       "version": version, "predikat": "Baik", "score": 87.5}
        nid = str(uuid.uuid4())
        self.stack.sql("INSERT INTO notifications (id, kind, recipient, employee, period, version, payload) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                       (nid, kind, recipient, NIP_EMPLOYEE, PERIOD, version, json.dumps(payload)))
        if wake:
            self.stack.sql("SELECT pg_notify('kinerja_notify', '')")
        return nid

    def row(self, nid):
        rows = self.stack.sql("SELECT status, attempts, published_at IS NOT NULL, delivered_at IS NOT NULL, "
                              "last_error FROM notifications WHERE id = %s", (nid,))
        return dict(zip(("status", "attempts", "published", "delivered", "last_error"), rows[0]))

    def wait_status(self, nid, status, timeout=DELIVERY_TIMEOUT):
        return self.stack.wait_for(lambda: self.row(nid)["status"] == status and self.row(nid), timeout=timeout,
                                   what="notification %s %s (now %r)" % (nid, status, self.row(nid)))

    def sub(self, endpoint, topic):
        s = self.zctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt_string(zmq.SUBSCRIBE, topic)
        s.connect(endpoint)
        self.socks.append(s)
        return s

    def sub_ready(self, sock, topic):
        """PUB drops what is sent before a subscription reaches it: send probes for topic
        until one arrives. Returns the probes' ids."""
        probes = set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probes.add(self.insert(recipient=topic, kind="signoff_reminder", wake=True))
            if sock.poll(1500, zmq.POLLIN):
                while sock.poll(300, zmq.POLLIN):
                    sock.recv_multipart()
                return probes
        self.fail("the SUB socket never received a probe")

    def recv(self, sock, timeout=DELIVERY_TIMEOUT):
        self.assertTrue(sock.poll(int(timeout * 1000), zmq.POLLIN), "no PUB message within %ss" % timeout)
        topic, body = sock.recv_multipart()
        return topic.decode(), msgpack.unpackb(body, raw=False)

    def metrics(self, port, path="/metrics"):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    # ---- tests -----------------------------------------------------------------------

    def test_1_pub_and_signed_webhook(self):
        s = self.stack
        rx = self.receiver()
        w = self.worker(rx)
        sub = self.sub(w.endpoint, NIP_SUPERVISOR)
        probes = self.sub_ready(sub, NIP_SUPERVISOR)

        payload = {"employee": NIP_EMPLOYEE, "period": PERIOD, "version": 3, "predikat": "Sangat Baik",
                   "score": 91.25, "highlights": ["hasil kerja di atas ekspektasi", "IKM 87.5 (B)"],
                   "training": [{"code": "PK-01", "name": "Pelayanan Prima"}], "note": None}
        nid = self.insert(recipient=NIP_SUPERVISOR, version=3, payload=payload, wake=True)
        other = self.insert(recipient=NIP_OTHER, kind="result_approved", version=None,
                            payload={"employee": NIP_OTHER, "period": PERIOD})

        # ZeroMQ: the subscriber of NIP_SUPERVISOR gets its notification, not NIP_OTHER's
        topic, msg = self.recv(sub)
        while msg["id"] in probes:
            topic, msg = self.recv(sub)
        self.assertEqual(topic, NIP_SUPERVISOR)
        self.assertEqual(set(msg), FIELDS)
        self.assertEqual(msg["id"], nid)
        self.assertEqual(msg["kind"], "signoff_requested")
        self.assertEqual(msg["recipient"], NIP_SUPERVISOR)
        self.assertEqual(msg["employee"], NIP_EMPLOYEE)
        self.assertEqual(msg["period"], PERIOD)
        self.assertEqual(msg["version"], 3)
        self.assertIsInstance(msg["version"], int)
        self.assertEqual(msg["payload"], payload)
        self.assertIsInstance(msg["payload"]["score"], float)
        self.assertRegex(msg["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        db_created = s.sql_value("SELECT to_char(created_at AT TIME ZONE 'UTC', "
                                 "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM notifications WHERE id = %s", (nid,))
        self.assertEqual(msg["created_at"], db_created)
        self.assertFalse(sub.poll(1000, zmq.POLLIN), "the NIP_SUPERVISOR subscriber got another NIP's message")

        # webhook: both, signed, with X-Kinerja-Id, exactly once
        for i in (nid, other):
            self.wait_status(i, "sent")
            got = rx.for_id(i)
            self.assertEqual(len(got), 1, "receipts of %s" % i)
            r = got[0]
            self.assertTrue(verify(r), "bad signature %r" % r["signature"])
            self.assertEqual(r["content_type"], "application/json")
            self.assertEqual(r["path"], "/hooks/kinerja?token=" + URL_TOKEN)
        body = json.loads(rx.for_id(nid)[0]["body"])
        self.assertEqual(set(body), FIELDS)
        self.assertEqual({k: v for k, v in body.items() if k != "payload"},
                         {k: v for k, v in msg.items() if k != "payload"})
        self.assertEqual(body["payload"], payload)
        self.assertIsNone(json.loads(rx.for_id(other)[0]["body"])["version"])
        # a tampered body does not verify (the check above can fail)
        forged = dict(rx.for_id(nid)[0], body=rx.for_id(nid)[0]["body"].replace(b"Sangat Baik", b"Baik"))
        self.assertFalse(verify(forged))

        st = self.row(nid)
        self.assertEqual((st["status"], st["attempts"], st["published"], st["delivered"], st["last_error"]),
                         ("sent", 1, True, True, None))

        # the log names the webhook's origin only: no secret, password or query token
        log = s.log_text(w)
        self.assertIn("webhook http://127.0.0.1:%d" % rx.port, log)
        for secret in (SECRET, URL_PASSWORD, URL_TOKEN):
            self.assertNotIn(secret, log)

    def test_2_without_webhook_sent_after_publish(self):
        w = self.worker()
        sub = self.sub(w.endpoint, NIP_EMPLOYEE)
        probes = self.sub_ready(sub, NIP_EMPLOYEE)
        nid = self.insert(recipient=NIP_EMPLOYEE, kind="result_returned", wake=True)
        topic, msg = self.recv(sub)
        while msg["id"] in probes:
            topic, msg = self.recv(sub)
        self.assertEqual((topic, msg["id"], msg["kind"]), (NIP_EMPLOYEE, nid, "result_returned"))
        st = self.wait_status(nid, "sent")
        self.assertEqual((st["attempts"], st["published"], st["delivered"]), (0, True, True))
        self.assertIn("webhook none", self.stack.log_text(w))

    def test_3_http_500_retried_with_growing_pauses_then_delivered(self):
        base_ms = 300
        rx = self.receiver(lambda n, total: (500, 0) if n < 3 else (200, 0))
        self.worker(rx, retry_base_ms=base_ms)
        nid = self.insert(wake=True)
        st = self.wait_status(nid, "sent")
        got = rx.for_id(nid)
        self.assertEqual([r["status"] for r in got], [500, 500, 500, 200])
        self.assertEqual((st["attempts"], st["last_error"]), (4, None))
        self.assertTrue(all(verify(r) for r in got))
        # pause k (after k failures) is base * 2^(k-1) * [0.5, 1.5): 150..450, 300..900,
        # 600..1800 ms, plus up to one poll. The third is always longer than the first.
        t = [r["t"] for r in got]
        gaps = [b - a for a, b in zip(t, t[1:])]
        for k, g in enumerate(gaps, start=1):
            self.assertGreaterEqual(g, 0.5 * base_ms * 2 ** (k - 1) / 1000 * 0.9, "pauses %r" % gaps)
        self.assertGreater(gaps[2], gaps[0], "pauses %r" % gaps)

    def test_4_receiver_not_listening_then_back(self):
        rx = self.receiver(start=False)
        self.worker(rx, retry_base_ms=200)
        nid = self.insert(wake=True)
        st = self.stack.wait_for(lambda: self.row(nid)["attempts"] >= 3 and self.row(nid), timeout=DELIVERY_TIMEOUT,
                                 what="three refused attempts")
        self.assertEqual(st["status"], "queued")
        self.assertTrue(st["published"])
        self.assertIn("127.0.0.1", st["last_error"])
        rx.start()
        st = self.wait_status(nid, "sent")
        self.assertEqual(len(rx.for_id(nid)), 1)
        self.assertIsNone(st["last_error"])
        self.assertGreaterEqual(st["attempts"], 4)

    def test_5_always_failing_ends_dead_and_status_shows_it(self):
        port = free_port()
        rx = self.receiver(lambda n, total: (500, 0))
        w = self.worker(rx, max_attempts=3, retry_base_ms=100, metrics_port=port)
        ids = [self.insert(wake=True) for _ in range(2)]
        for nid in ids:
            st = self.wait_status(nid, "dead")
            self.assertEqual(st["attempts"], 3)
            self.assertTrue(st["last_error"].startswith("HTTP 500"), st["last_error"])
            self.assertEqual(len(rx.for_id(nid)), 3)
        time.sleep(1.0)  # a dead notification is never tried again
        for nid in ids:
            self.assertEqual(len(rx.for_id(nid)), 3)
        status = self.stack.status()
        self.assertEqual(status["notifications"], {"queued": 0, "sent": 0, "dead": 2})
        log = self.stack.log_text(w)
        self.assertEqual(len(re.findall(r"WARN.*dead after 3 webhook attempts", log, re.I)), 2, log)
        code, text = self.metrics(port)
        self.assertEqual(code, 200)
        self.assertIn("kinerja_notify_dead_total 2\n", text)
        self.assertIn("kinerja_notify_failed_attempts_total 6\n", text)
        self.assertIn("kinerja_notify_sent_total 0\n", text)
        # six failed attempts in the histogram, none delivered; the process series beside
        self.assertIn('kinerja_notify_webhook_seconds_count{outcome="failed"} 6\n', text)
        self.assertIn('kinerja_notify_webhook_seconds_bucket{outcome="failed",le="+Inf"} 6\n', text)
        self.assertIn('kinerja_notify_webhook_seconds_count{outcome="delivered"} 0\n', text)
        self.assertIn("# TYPE kinerja_notify_webhook_seconds histogram\n", text)
        self.assertRegex(text, r'\nkinerja_build_info\{version="[0-9.]+"\} 1\n')
        self.assertRegex(text, r"\nprocess_resident_memory_bytes [1-9][0-9]*\n")

    def test_6_worker_killed_mid_delivery_loses_nothing(self):
        lease_s = 3
        # the very first request hangs (the worker is killed meanwhile)
        rx = self.receiver(lambda n, total: (200, 8) if total == 0 else (200, 0))
        ids = [self.insert() for _ in range(4)]
        a = self.worker(rx, lease_s=lease_s)
        self.assertTrue(rx.arrived.wait(DELIVERY_TIMEOUT), "worker A never posted")
        self.stack.kill(a)  # SIGKILL while its post is in flight
        killed_at = time.monotonic()
        first = rx.receipts[0]["id"]
        b = self.worker(rx, lease_s=lease_s)
        for nid in ids:
            st = self.wait_status(nid, "sent")
            self.assertTrue(st["published"] and st["delivered"])
        # the one in flight was delivered again by B (at least once); each other one once
        self.assertEqual(len(rx.for_id(first)), 2)
        for nid in ids:
            if nid != first:
                self.assertEqual(len(rx.for_id(nid)), 1, "receipts of %s" % nid)
        # B waited for A's lease instead of sending what A held at the same time
        second = rx.for_id(first)[1]
        self.assertGreater(second["t"] - rx.for_id(first)[0]["t"], lease_s - 0.5)
        self.assertGreater(second["t"], killed_at)
        self.assertIn("postgres connected", self.stack.log_text(b))

    def test_7_two_workers_never_deliver_one_twice(self):
        total = 300
        rx = self.receiver(lambda n, total: (200, 0.01))
        w1, w2 = self.worker(rx), self.worker(rx)
        subs = [self.sub(w.endpoint, "") for w in (w1, w2)]
        time.sleep(1.0)  # the SUBs connect (probes would be counted below)
        self.stack.sql("INSERT INTO notifications (id, kind, recipient, employee, period, version, payload) "
                       "SELECT gen_random_uuid(), 'signoff_requested', lpad(g::text, 18, '1'), %s, %s, 1, "
                       "jsonb_build_object('n', g) FROM generate_series(1, %s) g",
                       (NIP_EMPLOYEE, PERIOD, total))
        self.stack.sql("SELECT pg_notify('kinerja_notify', '')")
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT count(*) FROM notifications WHERE status = 'sent'") == total, timeout=60,
            what="all %d sent" % total)
        ids = [r["id"] for r in rx.receipts]
        self.assertEqual(len(ids), total)
        self.assertEqual(len(set(ids)), total, "a notification was posted twice")
        published = [[], []]
        for k, sock in enumerate(subs):
            while sock.poll(500, zmq.POLLIN):
                published[k].append(msgpack.unpackb(sock.recv_multipart()[1], raw=False)["id"])
        both = published[0] + published[1]
        self.assertEqual(len(both), total)
        self.assertEqual(len(set(both)), total, "a notification was published twice")
        self.assertTrue(published[0] and published[1], "one worker did all the work: %d / %d" % (
            len(published[0]), len(published[1])))

    def test_7b_lease_renewed_while_a_slow_batch_outlives_it(self):
        # 16 posts of 0.25 s: one batch takes ~4 s, twice the 2 s lease. The worker
        # holding it renews the lease before each post, so the other never sends one of
        # them again (without renewal it would, from the third second on).
        rx = self.receiver(lambda n, total: (200, 0.25))
        ids = [self.insert() for _ in range(16)]
        self.worker(rx, lease_s=2)
        self.worker(rx, lease_s=2)
        for nid in ids:
            self.wait_status(nid, "sent")
        counts = {nid: len(rx.for_id(nid)) for nid in ids}
        self.assertEqual(set(counts.values()), {1}, counts)

    def test_8_sigterm_mid_post_exits_and_gives_the_notification_back(self):
        rx = self.receiver(lambda n, total: (200, 8) if total == 0 else (200, 0))
        a = self.worker(rx)  # lease 30 s
        nid = self.insert(wake=True)
        self.assertTrue(rx.arrived.wait(DELIVERY_TIMEOUT), "worker A never posted")
        t0 = time.monotonic()
        self.stack.stop(a, timeout=5)  # exit 0, without waiting for the post
        self.assertLess(time.monotonic() - t0, 3.0)
        st = self.row(nid)
        self.assertEqual((st["status"], st["attempts"]), ("queued", 0))  # a cancelled post is no attempt
        self.assertTrue(self.stack.sql_value("SELECT next_attempt_at <= now() FROM notifications WHERE id = %s",
                                             (nid,)), "the lease was not given back")
        self.worker(rx)
        t1 = time.monotonic()
        self.wait_status(nid, "sent")
        self.assertLess(time.monotonic() - t1, 10, "B waited for a lease A had given back")
        self.assertEqual(len(rx.for_id(nid)), 2)
        self.assertIn("notify role stopped", self.stack.log_text(a))

    def test_9_healthz_503_while_postgres_is_down(self):
        s = self.stack
        port = free_port()
        rx = self.receiver()
        w = self.worker(rx, metrics_port=port)
        s.wait_for(lambda: self.metrics(port, "/healthz")[0] == 200, what="healthz 200")
        s.stop_postgres(sig=2)  # SIGINT: fast shutdown
        try:
            code, reason = s.wait_for(lambda: self.metrics(port, "/healthz")[0] == 503 and
                                      self.metrics(port, "/healthz"), timeout=20, what="healthz 503")
            self.assertIn("postgres", reason)
        finally:
            s.start_postgres()
        s.wait_for(lambda: self.metrics(port, "/healthz")[0] == 200, timeout=30, what="healthz 200 again")
        nid = self.insert(wake=True)
        self.wait_status(nid, "sent")
        self.assertEqual(len(rx.for_id(nid)), 1)
        self.assertEqual(w.poll(), None)


# ---- the whole path: events -> score -> sign-off request -> supervisor's SUB and webhook ----

E2E_PERIOD = "2026-05"
E2E_TS = 1778371200000  # 2026-05-10T00:00:00Z: inside E2E_PERIOD in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]


def e2e_nip(n):
    return "1986030320110310%02d" % n


HEAD, SUPERVISOR, STAFF = e2e_nip(1), e2e_nip(2), e2e_nip(10)
PEERS = [e2e_nip(21), e2e_nip(22), e2e_nip(23)]


class NotifyEndToEndTest(StackTestCase):
    """The notification a supervisor receives when a result needs the sign-off, and the
    one the employee receives once it is approved, through every real process: broker,
    ingest, score, notify, with the CLI's `kinerja signoff`."""

    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.start_worker(role="score")
        rows = ["nip,name,unit,position,supervisor_nip,job_family",
                "%s,Kepala Dinas,UNIT-N,kepala,,admin" % HEAD,
                "%s,Kepala Bidang,UNIT-N,kabid,%s,admin" % (SUPERVISOR, HEAD),
                "%s,Staf Satu,UNIT-N,staf,%s,admin" % (STAFF, SUPERVISOR)]
        rows += ["%s,Rekan %d,UNIT-N,staf,%s,admin" % (n, k, SUPERVISOR) for k, n in enumerate(PEERS)]
        stack.org_import("\n".join(rows) + "\n")

    def test_signoff_request_reaches_the_supervisor_and_approval_the_employee(self):
        s = self.stack
        rx = Receiver().start()
        self.addCleanup(rx.stop)
        endpoint = "tcp://127.0.0.1:%d" % free_port()
        w = s.start_worker("notify", env={"KINERJA_NOTIFY_ENDPOINT": endpoint, "KINERJA_POSTGRES_DSN": app_login(s),
                                          "KINERJA_NOTIFY_WEBHOOK_URL": rx.url,
                                          "KINERJA_NOTIFY_WEBHOOK_SECRET": SECRET})
        s.wait_for(lambda: "postgres connected" in s.log_text(w), what="the notify worker")
        ctx = zmq.Context.instance()
        subs = {}
        for who in (SUPERVISOR, STAFF):
            sock = ctx.socket(zmq.SUB)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt_string(zmq.SUBSCRIBE, who)
            sock.connect(endpoint)
            self.addCleanup(sock.close, 0)
            subs[who] = sock
        time.sleep(1.0)  # subscriptions reach the PUB before anything is published

        def ev(rater, relation, **extra):
            e = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": E2E_TS,
                 "employee": STAFF, "period": E2E_PERIOD, "rater": rater, "relation": relation,
                 "behaviour": {k: 4 for k in KEYS}}
            e.update(extra)
            return e
        events = [ev(SUPERVISOR, "supervisor", hasil_kerja="meets")] + [ev(p, "peer") for p in PEERS]
        events.append({"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": E2E_TS,
                       "employee": STAFF, "period": E2E_PERIOD, "indicator": "SKP-1", "target": 10,
                       "realization": 10})
        r = s.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        self.assertEqual(r.returncode, 0, r.stderr)

        def next_of(sock, kind, timeout=60):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if sock.poll(500, zmq.POLLIN):
                    topic, body = sock.recv_multipart()
                    msg = msgpack.unpackb(body, raw=False)
                    if msg["kind"] == kind:
                        return topic.decode(), msg
            self.fail("no %s within %ss" % (kind, timeout))

        topic, req = next_of(subs[SUPERVISOR], "signoff_requested")
        self.assertEqual(topic, SUPERVISOR)
        self.assertEqual((req["recipient"], req["employee"], req["period"]), (SUPERVISOR, STAFF, E2E_PERIOD))
        version = s.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s",
                              (STAFF, E2E_PERIOD))
        self.assertEqual(req["version"], version)
        self.assertEqual((req["payload"]["employee"], req["payload"]["name"]), (STAFF, "Staf Satu"))
        self.assertIn("predikat", req["payload"])
        s.wait_for(lambda: rx.for_id(req["id"]), timeout=30, what="the webhook copy of the sign-off request")
        hook = rx.for_id(req["id"])[0]
        self.assertTrue(verify(hook))
        self.assertEqual(json.loads(hook["body"])["payload"], req["payload"])

        r = s.kinerja("signoff", STAFF, "--period", E2E_PERIOD, "--supervisor", SUPERVISOR, "--approve")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        topic, ok = next_of(subs[STAFF], "result_approved")
        self.assertEqual((topic, ok["employee"], ok["version"]), (STAFF, STAFF, version))
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM notifications WHERE status <> 'sent'") == 0,
                   timeout=30, what="every notification sent")
        s.stop(w)


if __name__ == "__main__":
    import unittest
    unittest.main()
