"""
Broker-level integration tests: a real redis-server and kinerja-broker on loopback
(no PostgreSQL, no workers). What a client sees (the acks) and what Redis then holds
(exactly the accepted events, once each) are asserted together.

Run: cd tests/integration && KINERJA_BIN_DIR=<build>/bin /usr/bin/python3 -m unittest -v test_broker
"""

import re
import signal
import time
import unittest
import urllib.error
import urllib.request
import uuid

import msgpack
import zmq

from harness import Stack, StackTestCase, free_port

MAX_FRAME = 1048576  # intake.max_frame_bytes default
MAX_BATCH = 1000     # intake.max_batch default


def event(**fields):
    """A valid citizen_feedback event (a four-button kiosk press)."""
    e = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "type": "citizen_feedback",
        "source": "kiosk:test-broker-01",
        "ts": int(time.time() * 1000),
        "unit": "DUKCAPIL-KPG",
        "rating": 3,
    }
    e.update(fields)
    return e


def stream_entries(stack):
    """{event id: [decoded ev map, ...]} over every shard's stream."""
    found = {}
    for shard in range(stack.shards):
        for _entry_id, fields in stack.redis_cmd("XRANGE", "kinerja:ev:{%d}" % shard, "-", "+") or []:
            f = dict(zip(fields[0::2], fields[1::2]))
            found.setdefault(f[b"id"].decode(), []).append(msgpack.unpackb(f[b"ev"], raw=False))
            assert int(f[b"rt"]) > 0
    return found


def fnv_shard(key, shards):
    """event_shard (common/event.c): FNV-1a 32 of the employee, else the unit, else the id."""
    h = 2166136261
    for b in key.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % shards


def unit_for_shard(shard, shards, avoid=None):
    """A unit name whose events go to the given shard."""
    for i in range(10000):
        u = "UNIT-%d" % i
        if fnv_shard(u, shards) == shard and u != avoid:
            return u
    raise AssertionError("no unit for shard %d" % shard)


def metrics_port(stack, log_name="broker"):
    m = re.search(r"metrics http://127\.0\.0\.1:(\d+)", stack.log_text(log_name))
    return int(m.group(1)) if m else None


def http_get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class BrokerTest(StackTestCase):
    stack_options = {"shards": 4}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        cls.broker = stack.start_broker(env={"KINERJA_METRICS_LISTEN": "127.0.0.1:0"})

    @classmethod
    def tearDownClass(cls):
        # SIGTERM must end it with 0 after all of the above (ASan/LSan make that fail on a
        # leak), and UBSan must not have complained.
        try:
            cls.stack.stop(cls.broker)
            log = cls.stack.log_text("broker")
            assert "runtime error" not in log and "AddressSanitizer" not in log, log[-4000:]
        except BaseException:
            cls._stack_failed = True
            cls.stack.dump_logs()
            raise
        finally:
            super().tearDownClass()

    def assert_stored_once(self, events):
        found = stream_entries(self.stack)
        for e in events:
            self.assertIn(e["id"], found, "accepted event %s is not in any stream" % e["id"])
            self.assertEqual(len(found[e["id"]]), 1, "event %s stored more than once" % e["id"])
            self.assertEqual(found[e["id"]][0], e, "stored event differs from the one sent")

    def assert_not_stored(self, ids):
        found = stream_entries(self.stack)
        for i in ids:
            self.assertNotIn(i, found, "event %s was not accepted but is in a stream" % i)

    def test_single_event_accepted_and_stored(self):
        e = event()
        self.assertEqual(self.stack.request(e), {"id": e["id"], "status": "accepted"})
        self.assert_stored_once([e])

    def test_batch_acks_in_order(self):
        good1, good2 = event(), event(rating=4)
        bad = event(rating=7)
        bad_nip = event(employee="123")
        reply = self.stack.request([good1, bad, 5, good2, bad_nip])
        self.assertEqual(reply, [
            {"id": good1["id"], "status": "accepted"},
            {"id": bad["id"], "status": "rejected", "error": "rating: must be an integer 1..4, got 7"},
            {"id": None, "status": "rejected", "error": "[2]: must be a map"},
            {"id": good2["id"], "status": "accepted"},
            {"id": bad_nip["id"], "status": "rejected", "error": reply[4]["error"]},
        ])
        self.assertTrue(reply[4]["error"].startswith("employee:"), reply[4]["error"])
        self.assert_stored_once([good1, good2])
        self.assert_not_stored([bad["id"], bad_nip["id"]])

    def test_respondent_profile_outside_its_set_is_rejected_naming_the_set(self):
        # SPEC 3: each profile field takes one code of its documented set (docs/PROTOCOL.md);
        # the old generator's "L" / "P" and a free-text occupation are refused, the ack
        # naming the allowed codes, and nothing reaches the stream.
        skm = {"u%d" % k: 3 for k in range(1, 10)}
        ok = event(rating=None, skm=skm, gender="f", age_band="60plus", education="diploma",
                   occupation="pelajar")
        del ok["rating"]
        bad_gender = event(gender="L")
        bad_age = event(age_band="26-35")
        bad_occupation = event(occupation="Petani")
        reply = self.stack.request([ok, bad_gender, bad_age, bad_occupation])
        self.assertEqual(reply, [
            {"id": ok["id"], "status": "accepted"},
            {"id": bad_gender["id"], "status": "rejected", "error": 'gender: must be one of m|f, got "L"'},
            {"id": bad_age["id"], "status": "rejected",
             "error": 'age_band: must be one of lt20|20_29|30_39|40_49|50_59|60plus, got "26-35"'},
            {"id": bad_occupation["id"], "status": "rejected",
             "error": 'occupation: must be one of pns|tni|polri|swasta|wirausaha|pelajar|lainnya, got "Petani"'},
        ])
        self.assert_stored_once([ok])
        self.assert_not_stored([bad_gender["id"], bad_age["id"], bad_occupation["id"]])

    def test_duplicates_within_a_batch_and_across_requests(self):
        e = event()
        reply = self.stack.request([e, dict(e), event()])
        self.assertEqual([a["status"] for a in reply], ["accepted", "duplicate", "accepted"])
        self.assertEqual(self.stack.request(e), {"id": e["id"], "status": "duplicate"})
        # the same UUID in upper case is the same event
        self.assertEqual(self.stack.request(dict(e, id=e["id"].upper()))["status"], "duplicate")
        self.assert_stored_once([e])

    def test_an_id_reused_about_another_subject_is_a_duplicate(self):
        # Found by make fuzz-pipeline: the dedupe key was per stream shard, and the shard
        # follows the employee (else the unit), so the same id about another unit landed
        # on another shard, was acked accepted a second time and its body stored nowhere.
        # With 4 shards, units U-0..U-9 spread over every shard.
        e = event(unit="U-0")
        self.assertEqual(self.stack.request(e)["status"], "accepted")
        for k in range(1, 10):
            with self.subTest(unit=k):
                self.assertEqual(self.stack.request(dict(e, unit="U-%d" % k)),
                                 {"id": e["id"], "status": "duplicate"})
        self.assert_stored_once([e])

    def test_req_and_dealer_envelopes(self):
        ctx = zmq.Context.instance()
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, 10000)
        req.connect(self.stack.intake_endpoint)
        try:
            e = event()
            req.send(msgpack.packb(e))
            self.assertEqual(msgpack.unpackb(req.recv(), raw=False), {"id": e["id"], "status": "accepted"})
        finally:
            req.close()
        d = self.stack.dealer()
        try:
            d.setsockopt(zmq.RCVTIMEO, 10000)
            e2 = event()
            d.send_multipart([b"", msgpack.packb(e2)])  # a DEALER that speaks REQ's envelope
            frames = d.recv_multipart()
            self.assertEqual(frames[0], b"")
            self.assertEqual(msgpack.unpackb(frames[1], raw=False), {"id": e2["id"], "status": "accepted"})
        finally:
            d.close()
        self.assert_stored_once([e, e2])

    def one_frame_rejection(self, sent):
        """The ack a request of `sent` frames must get: one map, id nil, the count named."""
        return {"id": None, "status": "rejected", "error": "request: one frame per request, got %d" % sent}

    def test_multi_frame_request_is_rejected_not_echoed(self):
        # SPEC 3: a request is one frame. Two frames from a DEALER are not "envelope plus
        # event": the reply is ONE frame (nothing of what was sent comes back), the ack
        # names the count, and neither event is stored.
        d = self.stack.dealer()
        try:
            d.setsockopt(zmq.RCVTIMEO, 10000)
            e1, e2 = event(), event(rating=4)
            d.send_multipart([msgpack.packb(e1), msgpack.packb(e2)])
            frames = d.recv_multipart()
            self.assertEqual(len(frames), 1, "the reply must be one frame, got %r" % frames)
            self.assertEqual(msgpack.unpackb(frames[0], raw=False), self.one_frame_rejection(2))
            # the same behind REQ's delimiter (a DEALER speaking REQ's envelope): the
            # delimiter comes back, then the one ack frame
            e3, e4 = event(), event()
            d.send_multipart([b"", msgpack.packb(e3), msgpack.packb(e4)])
            frames = d.recv_multipart()
            self.assertEqual(len(frames), 2, frames)
            self.assertEqual(frames[0], b"")
            self.assertEqual(msgpack.unpackb(frames[1], raw=False), self.one_frame_rejection(2))
            # five frames, four of them before the event (what an over-long envelope was
            # taken for): five frames sent, rejected the same way, nothing echoed
            e5 = event()
            d.send_multipart([b"a", b"b", b"c", b"d", msgpack.packb(e5)])
            frames = d.recv_multipart()
            self.assertEqual(len(frames), 1, frames)
            self.assertEqual(msgpack.unpackb(frames[0], raw=False), self.one_frame_rejection(5))
            # an empty second frame after the delimiter is a frame too
            e6 = event()
            d.send_multipart([b"", b"", msgpack.packb(e6)])
            frames = d.recv_multipart()
            self.assertEqual(frames[0], b"")
            self.assertEqual(msgpack.unpackb(frames[1], raw=False), self.one_frame_rejection(2))
            # the connection still works for a proper request after all that
            ok = event()
            d.send(msgpack.packb(ok))
            self.assertEqual(msgpack.unpackb(d.recv(), raw=False), {"id": ok["id"], "status": "accepted"})
        finally:
            d.close()
        self.assert_not_stored([x["id"] for x in (e1, e2, e3, e4, e5, e6)])
        self.assert_stored_once([ok])

    def test_multi_frame_request_from_req(self):
        # A REQ socket puts its empty delimiter in front by itself: one frame still works
        # (test_req_and_dealer_envelopes), two frames get the one rejected ack, and the
        # REQ socket can go on (it got exactly one reply).
        ctx = zmq.Context.instance()
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, 10000)
        req.connect(self.stack.intake_endpoint)
        try:
            e1, e2 = event(), event()
            req.send_multipart([msgpack.packb(e1), msgpack.packb(e2)])
            frames = req.recv_multipart()
            self.assertEqual(len(frames), 1, frames)
            self.assertEqual(msgpack.unpackb(frames[0], raw=False), self.one_frame_rejection(2))
            e3 = event()
            req.send(msgpack.packb(e3))
            self.assertEqual(msgpack.unpackb(req.recv(), raw=False), {"id": e3["id"], "status": "accepted"})
        finally:
            req.close()
        self.assert_not_stored([e1["id"], e2["id"]])
        self.assert_stored_once([e3])

    def test_garbage_frames_are_rejected_with_nil_id(self):
        deep = b"\x91" * 100 + b"\xc0"
        frames = {
            "not msgpack": b"\xc1garbage",
            "huge declared array": b"\xdd\xff\xff\xff\xff",
            "huge declared map": b"\xdf\xff\xff\xff\xff",
            "huge declared str": b"\xdb\xff\xff\xff\xff",
            "100-deep nesting": deep,
            "empty frame": b"",
            "trailing bytes": msgpack.packb(event()) + b"\x00",
            "a string": msgpack.packb("hello"),
            "empty batch": msgpack.packb([]),
            "batch too large": msgpack.packb([event() for _ in range(2000)]),
        }
        for what, frame in frames.items():
            with self.subTest(what):
                ack = self.stack.request(frame)
                self.assertIsInstance(ack, dict, what)
                self.assertIsNone(ack["id"], what)
                self.assertEqual(ack["status"], "rejected", what)
                self.assertTrue(ack["error"], what)
        self.assertIn("exceeds intake.max_batch", self.stack.request(frames["batch too large"])["error"])
        # the broker is still serving
        e = event()
        self.assertEqual(self.stack.request(e)["status"], "accepted")

    def test_oversize_frames(self):
        big = msgpack.packb({"pad": b"x" * (MAX_FRAME + 100)})
        ack = self.stack.request(big)
        self.assertEqual(ack["status"], "rejected")
        self.assertIn("exceeds intake.max_frame_bytes", ack["error"])
        # beyond twice the limit libzmq drops the connection: no reply, broker unharmed
        d = self.stack.dealer()
        try:
            d.send(b"\xc4" + b"x" * (2 * MAX_FRAME + 10))
            self.assertEqual(d.poll(1500, zmq.POLLIN), 0)
        finally:
            d.close()
        self.assertEqual(self.broker.poll(), None, "broker exited")
        self.assertEqual(self.stack.request(event())["status"], "accepted")

    def test_metrics_and_healthz(self):
        port = metrics_port(self.stack)
        self.assertIsNotNone(port, "broker did not log its metrics address")
        self.assertEqual(http_get(port, "/healthz"), (200, "ok\n"))
        before = self._metric(port, 'kinerja_broker_events_total{status="accepted"}')
        self.stack.request([event(), event(), event(rating=9)])
        after = self._metric(port, 'kinerja_broker_events_total{status="accepted"}')
        self.assertEqual(after - before, 2)
        self.assertEqual(self._metric(port, "kinerja_broker_redis_up"), 1)
        self.assertGreater(self._metric(port, "kinerja_broker_redis_roundtrips_total"), 0)
        # the ack latency histogram counts every answered frame; +Inf equals _count
        count = self._metric(port, "kinerja_broker_ack_seconds_count")
        self.assertGreaterEqual(count, 1)
        self.assertEqual(self._metric(port, 'kinerja_broker_ack_seconds_bucket{le="+Inf"}'), count)

    def _metric(self, port, name):
        status, body = http_get(port, "/metrics")
        self.assertEqual(status, 200)
        for line in body.splitlines():
            if line.startswith(name + " "):
                return int(line.split()[-1])
        self.fail("metric %s missing from:\n%s" % (name, body))

    def test_redis_down_then_back(self):
        port = metrics_port(self.stack)
        accepted_before = event()
        self.assertEqual(self.stack.request(accepted_before)["status"], "accepted")
        self.stack.stop_redis()
        try:
            retried = [event(), event()]
            reply = self.stack.request(retried)
            for ack in reply:
                self.assertEqual(ack["status"], "retry")
                self.assertTrue(ack["error"].startswith("storage unavailable: "), ack["error"])
            # while Redis is away the answer comes at once, not after a timeout
            t = time.monotonic()
            self.assertEqual(self.stack.request(event())["status"], "retry")
            self.assertLess(time.monotonic() - t, 1.5)
            status, body = self.stack.wait_for(
                lambda: (lambda r: r if r[0] == 503 else None)(http_get(port, "/healthz")), what="/healthz 503")
            self.assertIn("onnection refused", body)
        finally:
            self.stack.start_redis()
        # the broker reconnects (backoff at most 5 s) and stores again
        e = self.stack.wait_for(lambda: (lambda e: e if self.stack.request(e)["status"] == "accepted" else None)(
            event()), timeout=15, what="accepted after Redis restart")
        # and /healthz follows within the health probe's interval (common/healthprobe.c)
        self.stack.wait_for(lambda: http_get(port, "/healthz")[0] == 200, timeout=5, what="/healthz 200")
        # nothing was stored for the retry acks; the rest exactly once (AOF kept them)
        self.assert_not_stored([x["id"] for x in retried])
        self.assert_stored_once([accepted_before, e])
        # the same events sent again after the outage are accepted
        self.assertEqual([a["status"] for a in self.stack.request(retried)], ["accepted", "accepted"])

    def test_redis_hung_gives_retry_not_a_hang(self):
        self.stack.redis.send_signal(signal.SIGSTOP)
        try:
            t = time.monotonic()
            ack = self.stack.request(event(), timeout=15)
            self.assertEqual(ack["status"], "retry")
            self.assertLess(time.monotonic() - t, 6)  # redis.timeout_ms is 2000 in the harness
        finally:
            self.stack.redis.send_signal(signal.SIGCONT)
        self.stack.wait_for(lambda: self.stack.request(event())["status"] == "accepted", timeout=20,
                            what="accepted after Redis resumed")

    def test_vanished_client_does_not_block(self):
        # 50 requests from a client that disconnects before the replies
        d = self.stack.dealer()
        for _ in range(50):
            d.send(msgpack.packb(event()))
        d.close(linger=0)
        e = event()
        self.assertEqual(self.stack.request(e)["status"], "accepted")
        self.assertIsNone(self.broker.poll())

    def test_many_clients_with_batches_in_flight(self):
        ctx = zmq.Context.instance()
        socks = [self.stack.dealer() for _ in range(8)]
        sent = {}
        try:
            for i, s in enumerate(socks):
                for _ in range(3):
                    batch = [event() for _ in range(50)]
                    # every third batch repeats an id of its own: duplicate
                    batch.append(dict(batch[0]))
                    s.send(msgpack.packb(batch))
                    sent.setdefault(i, []).append(batch)
            statuses = []
            for i, s in enumerate(socks):
                for _ in range(3):
                    self.assertTrue(s.poll(20000, zmq.POLLIN), "no reply")
                    statuses += [a["status"] for a in msgpack.unpackb(s.recv(), raw=False)]
        finally:
            for s in socks:
                s.close(linger=0)
        self.assertEqual(statuses.count("accepted"), 8 * 3 * 50)
        self.assertEqual(statuses.count("duplicate"), 8 * 3)
        self.assert_stored_once([e for batches in sent.values() for b in batches for e in b[:-1]])
        del ctx


    # ---- the batched function (issue 15): many events per FCALL, rounds in flight ----

    def test_one_batch_over_several_calls_with_duplicates_and_a_bad_event(self):
        # 1000 events (intake.max_batch) are several FCALLs (ENQUEUE_CALL_EVENTS each) in one round
        events = [event(unit="UNIT-%d" % (i % 7)) for i in range(1000)]
        events[11] = dict(events[10])   # a duplicate inside the same call
        events[700] = dict(events[5])   # a duplicate of an event of an earlier call
        events[400] = event(rating=9)   # one bad event among good ones
        reply = self.stack.request(events, timeout=30)
        self.assertEqual(len(reply), 1000)
        for i, ack in enumerate(reply):
            self.assertEqual(ack["id"], events[i]["id"])
            want = {11: "duplicate", 700: "duplicate", 400: "rejected"}.get(i, "accepted")
            self.assertEqual(ack["status"], want, "event %d: %r" % (i, ack))
        self.assertIn("rating", reply[400]["error"])
        good = [e for i, e in enumerate(events) if i not in (11, 700, 400)]
        self.assert_stored_once(good)
        self.assert_not_stored([events[400]["id"]])
        # all of it again: duplicates (and the same rejection), nothing stored twice
        again = self.stack.request(events, timeout=30)
        self.assertEqual([a["status"] for i, a in enumerate(again) if i != 400], ["duplicate"] * 999)
        self.assertEqual(again[400]["status"], "rejected")
        self.assert_stored_once(good)

    def test_the_same_id_from_many_clients_at_once_is_accepted_once(self):
        socks = [self.stack.dealer() for _ in range(8)]
        same = event()
        try:
            uniques = []
            for s in socks:
                mine = [event() for _ in range(20)]
                uniques += mine
                s.send(msgpack.packb(mine + [same]))  # these land in one round or a few in flight
            statuses = []
            for s in socks:
                self.assertTrue(s.poll(20000, zmq.POLLIN), "no reply")
                reply = msgpack.unpackb(s.recv(), raw=False)
                self.assertEqual([a["status"] for a in reply[:20]], ["accepted"] * 20)
                statuses.append(reply[20]["status"])
        finally:
            for s in socks:
                s.close(linger=0)
        self.assertEqual(sorted(statuses), ["accepted"] + ["duplicate"] * 7)
        self.assert_stored_once(uniques + [same])

    def test_a_failing_xadd_mid_call_gives_retry_and_leaves_no_dedupe_mark(self):
        shards = self.stack.shards
        bad_shard = 1
        bad_unit = unit_for_shard(bad_shard, shards)
        good_unit = unit_for_shard((bad_shard + 1) % shards, shards)
        key = "kinerja:ev:{%d}" % bad_shard
        saved = key + ":saved-by-test"
        had = self.stack.redis_cmd("EXISTS", key) == 1
        if had:
            self.stack.redis_cmd("RENAME", key, saved)
        self.stack.redis_cmd("SET", key, "not a stream")  # XADD there fails: WRONGTYPE
        batch = [event(unit=good_unit) for _ in range(3)] + [event(unit=bad_unit)] + \
            [event(unit=good_unit) for _ in range(3)]
        try:
            reply = self.stack.request(batch)
        finally:
            self.stack.redis_cmd("DEL", key)
            if had:
                self.stack.redis_cmd("RENAME", saved, key)
        self.assertEqual([a["status"] for a in reply], ["accepted"] * 3 + ["retry"] * 4)
        self.assertIn("WRONGTYPE", reply[3]["error"])
        for a in reply[3:]:
            self.assertTrue(a["error"].startswith("storage unavailable: "), a["error"])
        # the failed event's dedupe mark was taken back; the ones after it were never made
        for e in batch[3:]:
            self.assertEqual(self.stack.redis_cmd("EXISTS", "kinerja:dd:" + e["id"]), 0)
        self.assert_stored_once(batch[:3])
        self.assert_not_stored([e["id"] for e in batch[3:]])
        # the broker reconnects; a resend stores the rest, the first three are duplicates
        self.stack.wait_for(lambda: self.stack.request(event())["status"] == "accepted", timeout=15,
                            what="accepted after the failed call")
        self.assertEqual([a["status"] for a in self.stack.request(batch)], ["duplicate"] * 3 + ["accepted"] * 4)
        self.assert_stored_once(batch)

    def test_redis_killed_mid_traffic_never_a_false_accepted(self):
        # appendfsync always: an accepted event is on disk before its ack, so after the
        # crash Redis must hold every event the broker called accepted
        self.stack.redis_cmd("CONFIG", "SET", "appendfsync", "always")
        socks = [self.stack.dealer() for _ in range(4)]
        sent, status = {}, {}
        try:
            for rnd in range(16):
                for s in socks:
                    batch = [event() for _ in range(200)]
                    sent.update((e["id"], e) for e in batch)
                    s.send(msgpack.packb(batch))
                if rnd == 8:
                    self.stack.stop_redis(signal.SIGKILL)  # rounds are in flight now
                for s in socks:
                    self.assertTrue(s.poll(20000, zmq.POLLIN), "no reply in round %d" % rnd)
                    for a in msgpack.unpackb(s.recv(), raw=False):
                        status[a["id"]] = a["status"]
        finally:
            for s in socks:
                s.close(linger=0)
            self.stack.start_redis()
        self.assertEqual(set(status), set(sent))
        values = set(status.values())
        self.assertIn("accepted", values)
        self.assertIn("retry", values)
        self.assertLessEqual(values, {"accepted", "retry"})
        self.stack.wait_for(lambda: self.stack.request(event())["status"] == "accepted", timeout=15,
                            what="accepted after the Redis restart")
        accepted = [sent[i] for i, st in status.items() if st == "accepted"]
        self.assert_stored_once(accepted)  # never a false accepted
        # every retry sent again ends stored once: accepted, or duplicate when Redis had
        # stored it before the connection broke
        retried = [sent[i] for i, st in status.items() if st == "retry"]
        for k in range(0, len(retried), 500):
            for a in self.stack.request(retried[k:k + 500], timeout=30):
                self.assertIn(a["status"], ("accepted", "duplicate"))
        self.assert_stored_once(list(sent.values()))


class BrokerSettingsTest(unittest.TestCase):
    """Brokers with non-default settings; each test starts its own on a fresh endpoint."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(shards=2)
        try:
            cls.stack.start_redis()
        except BaseException:
            cls.stack.close(failed=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def start(self, env):
        endpoint = "tcp://127.0.0.1:%d" % free_port()
        env = dict(env, KINERJA_INTAKE_ENDPOINT=endpoint)
        proc = self.stack.start_broker(env=env)
        return proc, endpoint

    def test_rate_limit_per_client(self):
        proc, endpoint = self.start({"KINERJA_INTAKE_RATE_PER_CLIENT": "5"})
        d = self.stack.dealer(endpoint)
        try:
            statuses = []
            for _ in range(20):
                d.send(msgpack.packb(event()))
                self.assertTrue(d.poll(10000, zmq.POLLIN))
                ack = msgpack.unpackb(d.recv(), raw=False)
                statuses.append(ack["status"])
                if ack["status"] == "retry":
                    self.assertEqual(ack["error"], "rate limited")
            self.assertGreaterEqual(statuses.count("accepted"), 5)
            self.assertLessEqual(statuses.count("accepted"), 8)  # 5 burst + refill during the loop
            self.assertGreaterEqual(statuses.count("retry"), 12)
            # another client has its own bucket
            other = self.stack.dealer(endpoint)
            try:
                other.send(msgpack.packb(event()))
                self.assertTrue(other.poll(10000, zmq.POLLIN))
                self.assertEqual(msgpack.unpackb(other.recv(), raw=False)["status"], "accepted")
            finally:
                other.close()
        finally:
            d.close()
        self.stack.stop(proc)

    def test_durability_always_sets_appendfsync(self):
        self.stack.redis_cmd("CONFIG", "SET", "appendfsync", "everysec")
        proc, endpoint = self.start({"KINERJA_INTAKE_DURABILITY": "always"})
        try:
            self.assertEqual(self.stack.redis_cmd("CONFIG", "GET", "appendfsync"), [b"appendfsync", b"always"])
            d = self.stack.dealer(endpoint)
            try:
                d.send(msgpack.packb(event()))
                self.assertTrue(d.poll(10000, zmq.POLLIN))
                self.assertEqual(msgpack.unpackb(d.recv(), raw=False)["status"], "accepted")
            finally:
                d.close()
        finally:
            self.stack.stop(proc)
            self.stack.redis_cmd("CONFIG", "SET", "appendfsync", "everysec")

    def test_sigterm_answers_requests_in_hand_and_exits_0(self):
        proc, endpoint = self.start({})
        d = self.stack.dealer(endpoint)
        sent = []
        try:
            for _ in range(40):
                b = [event() for _ in range(25)]
                sent.append(b)
                d.send(msgpack.packb(b))
            time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            acks = []
            while d.poll(3000, zmq.POLLIN):
                acks += msgpack.unpackb(d.recv(), raw=False)
        finally:
            d.close()
        self.stack.stop(proc)  # asserts exit status 0
        self.assertTrue(acks, "no reply at all before the broker stopped")
        found = stream_entries(self.stack)
        for a in acks:
            self.assertIn(a["status"], ("accepted", "retry"))
            if a["status"] == "accepted":
                self.assertEqual(len(found.get(a["id"], [])), 1, "accepted event not stored once")
        self.assertIn("stopped", self.stack.log_text(self.stack._names[proc]))

    def test_help_and_version(self):
        import subprocess
        out = subprocess.run([self.stack._bin("kinerja-broker"), "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        for name in ("intake.endpoint", "redis.url", "intake.max_frame_bytes", "metrics.listen"):
            self.assertIn(name, out.stdout)
        out = subprocess.run([self.stack._bin("kinerja-broker"), "--version"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertTrue(out.stdout.startswith("kinerja-broker "))
        out = subprocess.run([self.stack._bin("kinerja-broker"), "--bogus"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)

    def test_password_never_logged(self):
        # a wrong password: the broker starts, answers retry, and its log names no secret
        proc, endpoint = self.start({"KINERJA_REDIS_URL": "redis://:s3cr3t-pw@127.0.0.1:%d/0" % self.stack.redis_port})
        d = self.stack.dealer(endpoint)
        try:
            d.send(msgpack.packb(event()))
            self.assertTrue(d.poll(10000, zmq.POLLIN))
            ack = msgpack.unpackb(d.recv(), raw=False)
            self.assertEqual(ack["status"], "retry")
            self.assertNotIn("s3cr3t", ack["error"])
        finally:
            d.close()
        self.stack.stop(proc)
        for name in ("broker", "broker-2", "broker-3", "broker-4", "broker-5", "broker-6"):
            self.assertNotIn("s3cr3t", self.stack.log_text(name))


if __name__ == "__main__":
    unittest.main()
