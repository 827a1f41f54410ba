#!/usr/bin/python3
"""
Chaos run (`make chaos`): SPEC 7's promise under fire, for every role. "Killing any
process (broker, any worker, Redis, PostgreSQL) at any moment and starting it again loses
no accepted event and double-counts none."

A durable stack in a temporary directory (PostgreSQL with fsync on; Redis AOF with
intake.durability = always or everysec, --durability), an organisation, a webhook
receiver and a ZeroMQ SUB socket on loopback, and a client that sends events in batches,
resending on `retry` and on timeouts (fresh socket, same ids), recording every final ack
per event id. The events are a simulated day (gen_traffic) plus, mixed in at random:
  - events the workers refuse (valid on the wire): an unknown NIP, a wrong relation (a
    `supervisor` evaluation from someone who is not the supervisor), a sign-off of a
    version that does not exist;
  - events at the numeric bounds of docs/PROTOCOL.md, which must be stored: target and
    realization 1e9, weight 1000, ts a day ahead (less a margin);
  - events the broker rejects: weight 1e308, weight 1000.5, ts in 2099, target 0.
The workers: two ingest, one score, one notify (webhook + PUB), two schedule (one leader,
one standby; the full recalculation's cron every minute). There is no web front end yet.
Meanwhile this thread kills (SIGKILL; PostgreSQL SIGQUIT, its crash stop) the broker,
the workers, Redis and PostgreSQL at random moments (each once, in a random order, then
again), and starts each again after a random pause.

Afterwards, with everything running, it waits until the streams are drained, the periods
computed and the outbox empty, and checks:
  - every event acked `accepted` (or `duplicate`) is in event_log or rejected_events, and
    none in both (exactly once across them; each table's primary key forbids twice within);
  - the refused kinds are in rejected_events, the bound events in event_log, the
    broker-rejected ones were acked `rejected` and are in neither table;
  - no stream entry went to dead_letters; no result quarantined;
  - no notification lost: every row ends `sent`, none `dead`, each one reached the
    webhook (its X-Kinerja-Id) at least once;
  - no scheduled job run twice: no recalc due minute requested twice (the schedulers'
    logs), the scheduler's recalc requests equal schedule_runs' count and are no more
    than the cron minutes the run spanned;
  - every result equals a full recalculation's: a `recalc` event for everything, once it
    is carried out, leaves every result's version, predikat, score and digest as they were
    and adds no score version.
Exit 0 when all hold; 1 with the violations listed. Bounded: the chaos lasts --seconds,
every wait has a timeout; loopback only.

Usage: /usr/bin/python3 tests/chaos/chaos.py [--seconds 60] [--events 30000] [--seed 1]
       [--durability always|everysec] [--bin DIR]
"""

import argparse
import copy
import http.server
import os
import random
import re
import signal
import sys
import threading
import time
import uuid

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import harness  # noqa: E402
import gen_traffic  # noqa: E402

BATCH = 200
REPLY_TIMEOUT_MS = 3000
FINAL = ("accepted", "duplicate", "rejected")
WEBHOOK_SECRET = "chaos-webhook-secret"
TS_MARGIN_MS = 10 * 60 * 1000  # a day ahead less this: still inside max_future_s at receipt


class Client:
    """Sends every event until it has a final ack; remembers the acks."""

    def __init__(self, endpoint, events):
        self.endpoint = endpoint
        self.events = events
        self.status = {}  # id -> final status
        self.resends = 0
        self.ctx = zmq.Context.instance()
        self.sock = None
        self.pace_until = None  # spread the first sending of the events until then

    def _socket(self):
        if self.sock is not None:
            self.sock.close(0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)

    def run(self, deadline):
        self._socket()
        todo = list(self.events)
        t0, total = time.monotonic(), len(self.events)
        while todo and time.monotonic() < deadline:
            if self.pace_until:
                due = t0 + (self.pace_until - t0) * (total - len(todo)) / total
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
            batch, todo = todo[:BATCH], todo[BATCH:]
            self.sock.send(msgpack.packb(batch, use_bin_type=True))
            if not self.sock.poll(REPLY_TIMEOUT_MS):
                self._socket()  # a late reply to the old socket can never be misread
                self.resends += 1
                todo = batch + todo
                continue
            acks = msgpack.unpackb(self.sock.recv(), raw=False)
            if not isinstance(acks, list):
                raise SystemExit("frame refused: %r" % (acks,))
            again = []
            for ev, ack in zip(batch, acks):
                if ack["status"] in FINAL:
                    self.status[ev["id"]] = ack["status"]
                else:
                    again.append(ev)
            if again:
                self.resends += 1
                time.sleep(0.05)
                todo = again + todo
        self.sock.close(0)
        return not todo


class Webhook:
    """A webhook receiver on a free loopback port: answers 200, counts deliveries per
    X-Kinerja-Id."""

    def __init__(self):
        self.port = harness.free_port()
        self.lock = threading.Lock()
        self.seen = {}  # notification id -> deliveries
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                nid = self.headers.get("X-Kinerja-Id")
                with rx.lock:
                    rx.seen[nid] = rx.seen.get(nid, 0) + 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hooks/kinerja" % self.port

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Subscriber:
    """A SUB socket on the notify PUB endpoint, subscribed to everything: counts the
    notification ids it got. ZeroMQ PUB drops what no one is connected for (a restart),
    so this is a figure, not a check."""

    def __init__(self, endpoint):
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect(endpoint)
        self.ids = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            if not self.sock.poll(200):
                continue
            parts = self.sock.recv_multipart()
            try:
                msg = msgpack.unpackb(parts[-1], raw=False)
                if isinstance(msg, dict) and "id" in msg:
                    self.ids.add(str(msg["id"]))
            except Exception:  # noqa: BLE001 - a figure only
                pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close(0)


class WebActor:
    """A person using kinerja-web through the whole run (its JSON API): files appeals
    about their own result again and again (most are refused by the worker: no approved
    result; that is fine, refused is an outcome). Every event id the web answered
    `accepted` for must end in event_log or rejected_events, whatever was killed; a
    request cut off by a kill is simply tried again, as a person would."""

    def __init__(self, url, uid, password, period):
        self.client = harness.WebClient(url)
        self.uid, self.password, self.period = uid, password, period
        self.accepted = set()
        self.errors = 0
        self.stop = False

    def run(self, deadline):
        n = 0
        while not self.stop and time.monotonic() < deadline:
            try:
                if not self.client.csrf:
                    r = self.client.login(self.uid, self.password)
                    if r.status != 200:
                        time.sleep(0.5)
                        continue
                n += 1
                r = self.client.post_json("/api/v1/appeal", {"period": self.period, "reason": "chaos %d" % n},
                                          timeout=15)
                if r.status in (401, 403):
                    self.client.csrf = None
                    continue
                doc = r.json() if r.body else {}
                if doc.get("status") == "accepted":
                    self.accepted.add(doc["id"])
            except (OSError, ValueError):  # the web was killed mid-request, or not up yet
                self.errors += 1
                time.sleep(0.3)
            time.sleep(0.2)


def extra_events(org, base, rng, count):
    """The mixed-in events, by kind: refused by the workers, at the bounds, rejected by
    the broker. base: a list of valid events to copy envelopes and fields from."""
    nips = [e.nip for e in org.employees]
    now_ms = int(time.time() * 1000)
    out = {"refused": [], "bound": [], "broker_rejected": []}
    wr = [ev for ev in base if ev["type"] == "work_result"]
    ev_ = [ev for ev in base if ev["type"] == "evaluation"]
    with_sup = [e.nip for e in org.employees if org.supervisor(e.nip)]
    used = set(org.by_nip)

    def fresh(ev):
        ev = copy.deepcopy(ev)
        ev["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return ev

    for k in range(count):
        # refused by the workers (valid on the wire)
        kind = k % 3
        if kind == 0:
            ev = fresh(rng.choice(wr))
            while True:
                nip = "19%02d%02d%02d20%02d%02d1%03d" % (rng.randint(60, 99), rng.randint(1, 12), rng.randint(1, 28),
                                                       rng.randint(0, 20), rng.randint(1, 12), rng.randint(1, 999))
                if nip not in used:
                    break
            ev["employee"] = nip
        elif kind == 1:
            ev = fresh(rng.choice(ev_))
            ev["relation"] = "supervisor"  # from someone who is not the supervisor
            ev["rater"] = rng.choice([n for n in nips if n != ev["employee"]
                                      and n != org.supervisor(ev["employee"])])
            ev.pop("hasil_kerja", None)
        else:
            nip = rng.choice(with_sup)
            ev = fresh(rng.choice(wr))
            for key in ("indicator", "target", "realization", "direction", "weight", "evidence"):
                ev.pop(key, None)
            ev.update({"type": "signoff", "source": "app:e-kinerja-atasan", "employee": nip,
                       "supervisor": org.supervisor(nip), "decision": "approve", "version": 999999})
        out["refused"].append(ev)
        # at the bounds: stored
        ev = fresh(rng.choice(wr))
        b = k % 4
        if b == 0:
            ev["target"], ev["realization"] = 1e9, 1e9
        elif b == 1:
            ev["weight"] = 1000
        elif b == 2:
            ev["realization"] = 0
        else:
            ev["ts"] = now_ms + 86400 * 1000 - TS_MARGIN_MS
            ev["period"] = time.strftime("%Y-%m", time.gmtime((now_ms + 86400 * 1000) / 1000))
        out["bound"].append(ev)
        # rejected by the broker
        ev = fresh(rng.choice(wr))
        r = k % 4
        if r == 0:
            ev["weight"] = 1e308
        elif r == 1:
            ev["weight"] = 1000.5
        elif r == 2:
            ev["ts"] = 4070908800000  # 2099-01-01
        else:
            ev["target"] = 0
        out["broker_rejected"].append(ev)
    return out


def run(a):
    rng = random.Random(a.seed)
    bin_dir = os.path.abspath(a.bin or os.path.join(HERE, "..", "..", "build", "bin"))
    s = harness.Stack(shards=4, bin_dir=bin_dir, durable=True,
                      env={"KINERJA_INTAKE_DURABILITY": a.durability, "KINERJA_WORKER_CLAIM_IDLE_MS": "2000"})
    failures = []
    figures = {}
    hook = Webhook()
    sub = None
    try:
        s.start_all(workers=0, broker=False)
        notify_env = {"KINERJA_NOTIFY_WEBHOOK_URL": hook.url, "KINERJA_NOTIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
                      "KINERJA_NOTIFY_RETRY_BASE_MS": "200", "KINERJA_NOTIFY_RETRY_MAX_S": "2"}

        def sched_env(n):
            return {"KINERJA_WORKER_CONSUMER": "chaos-schedule-%d" % n, "KINERJA_SCHEDULE_RECALC": "* * * * *",
                    "KINERJA_SCHEDULE_TICK_MS": "500", "KINERJA_SCHEDULE_HOUSEKEEPING_S": "3600"}

        starters = {
            "broker": lambda: s.start_broker(),
            "ingest-1": lambda: s.start_worker("ingest"),
            "ingest-2": lambda: s.start_worker("ingest"),
            "score": lambda: s.start_worker("score"),
            "notify": lambda: s.start_worker("notify", env=notify_env),
            "schedule-1": lambda: s.start_worker("schedule", env=sched_env(1)),
            "schedule-2": lambda: s.start_worker("schedule", env=sched_env(2)),
            "web": lambda: s.start_web(),
        }
        procs = {name: start() for name, start in starters.items()}
        first_schedule = time.time()
        sub = Subscriber(s.notify_endpoint)
        org = gen_traffic.build_org(units=6, per_unit=8, seed=a.seed)
        s.org_import(gen_traffic.make_org(units=6, per_unit=8, seed=a.seed))
        mix = dict(gen_traffic.DEFAULT_MIX, signoff=2, appeal=1, appeal_decision=1)
        base = gen_traffic.make_events(org, count=a.events, seed=a.seed, mix=mix).events
        extra = extra_events(org, base, rng, max(1, a.events // 100))
        events = list(base)
        for kind in ("refused", "bound", "broker_rejected"):
            for ev in extra[kind]:
                events.insert(rng.randint(0, len(events)), ev)
        client = Client(s.intake_endpoint, events)
        actor_nip = org.employees[-1].nip
        s.add_user(actor_nip, "employee", "chaos-password-1")
        period = next((ev["period"] for ev in base if "period" in ev), "2026-05")
        actor = WebActor(s.web_url, actor_nip, "chaos-password-1", period)

        kills = []
        # The client runs in a thread and the chaos in this one: processes (re)started
        # from a thread would die with it (the harness sets PR_SET_PDEATHSIG, which Linux
        # ties to the creating thread). The client spreads its events over the run.
        result = {}
        start = time.monotonic()
        client.pace_until = start + a.seconds * 0.8
        sender = threading.Thread(target=lambda: result.update(done=client.run(start + a.seconds + 600)),
                                  daemon=True)
        sender.start()
        acting = threading.Thread(target=lambda: actor.run(start + a.seconds), daemon=True)
        acting.start()
        victims = list(starters) + ["redis", "postgres"]
        order = []
        while time.monotonic() < start + a.seconds and not failures:
            time.sleep(rng.uniform(1.0, 4.0))
            if not order:  # every victim once in a random order, then again: each role is hit
                order = list(victims)
                rng.shuffle(order)
            name = order.pop()
            t = time.monotonic()
            if name == "redis":
                s.stop_redis(signal.SIGKILL)
            elif name == "postgres":
                s.stop_postgres(signal.SIGQUIT)
            else:
                s.kill(procs[name], signal.SIGKILL)
            time.sleep(rng.uniform(0.2, 2.0))
            for attempt in range(10):
                try:
                    if name == "redis":
                        s.start_redis()
                    elif name == "postgres":
                        s.start_postgres()
                    else:
                        procs[name] = starters[name]()
                    break
                except Exception as e:  # a crashed server may need a moment before it starts
                    print("chaos: restarting %s failed (%s); again" % (name, str(e).splitlines()[0]))
                    time.sleep(1.0)
            else:
                failures.append("%s could not be restarted" % name)
            kills.append((name, time.monotonic() - t))
        actor.stop = True
        acting.join(timeout=60)
        sender.join(timeout=900)
        if not result.get("done", False):
            failures.append("the client could not get a final ack for every event")
        per = {n: sum(1 for k, _ in kills if k == n) for n in victims}
        figures["kills"] = per
        figures["resends"] = client.resends
        figures["events"] = len(events)
        print("chaos[%s]: %d kills in %.0f s (%s); %d events sent (%d refused by the workers, %d at the bounds, "
              "%d rejected by the broker), %d resends" % (
                  a.durability, len(kills), time.monotonic() - start,
                  ", ".join("%s %d" % (n, per[n]) for n in victims), len(events), len(extra["refused"]),
                  len(extra["bound"]), len(extra["broker_rejected"]), client.resends))

        def drained():
            st = s.status()
            behind = s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            queued = s.sql_value("SELECT count(*) FROM notifications WHERE status = 'queued'")
            return st.get("pending") == 0 and behind == 0 and queued == 0
        s.wait_for(drained, timeout=300, what="streams drained, periods computed, outbox delivered", interval=1.0)

        # --- every accepted event exactly once across event_log and rejected_events
        stored = {r[0] for r in s.sql("SELECT id::text FROM event_log")}
        rejected = {r[0] for r in s.sql("SELECT event_id::text FROM rejected_events")}
        acked = {i for i, st in client.status.items() if st in ("accepted", "duplicate")}
        lost = acked - stored - rejected
        web_lost = actor.accepted - stored - rejected
        figures.update(web_accepted=len(actor.accepted), web_errors=actor.errors)
        print("kinerja-web: %d actions accepted through it, %d requests cut off by the chaos; lost: %d" % (
            len(actor.accepted), actor.errors, len(web_lost)))
        if web_lost:
            failures.append("%d events the web reported accepted are not in PostgreSQL, e.g. %s" % (
                len(web_lost), sorted(web_lost)[:3]))
        if not actor.accepted:
            failures.append("no action went through kinerja-web: the web was never tested")
        both = stored & rejected
        dead = s.sql_value("SELECT count(*) FROM dead_letters")
        quarantined = s.sql_value("SELECT count(*) FROM score_quarantine")
        print("accepted by the broker: %d; in event_log: %d; in rejected_events: %d; dead letters: %d; "
              "quarantined results: %d" % (len(acked), len(stored), len(rejected), dead, quarantined))
        figures.update(acked=len(acked), event_log=len(stored), rejected_events=len(rejected))
        if lost:
            failures.append("%d accepted events are not in PostgreSQL, e.g. %s" % (len(lost), sorted(lost)[:3]))
        if both:
            failures.append("%d events are in both event_log and rejected_events" % len(both))
        if dead:
            failures.append("%d stream entries went to dead_letters" % dead)
        if quarantined:
            failures.append("%d results quarantined: %s" % (quarantined, s.sql(
                "SELECT employee, period, error FROM score_quarantine LIMIT 3")))

        # --- the mixed-in kinds went where they must
        def ids(kind):
            return {ev["id"] for ev in extra[kind]}
        kinds = {ev["id"]: ev["type"] for kind in extra.values() for ev in kind}
        wrong = [i for i in ids("refused") if i not in rejected]
        if wrong:
            failures.append("%d events the workers must refuse are not in rejected_events, e.g. %s" % (
                len(wrong), [(i, kinds[i], client.status.get(i), i in stored) for i in wrong[:3]]))
        wrong = [i for i in ids("bound") if i not in stored]
        if wrong:
            failures.append("%d events at the numeric bounds are not in event_log (acks %s), e.g. %s" % (
                len(wrong), sorted({client.status.get(i) for i in wrong}, key=str), wrong[:3]))
        wrong = [i for i in ids("broker_rejected") if client.status.get(i) != "rejected" or i in stored
                 or i in rejected]
        if wrong:
            failures.append("%d events past the bounds were not rejected by the broker, e.g. %s" % (
                len(wrong), wrong[:3]))

        # --- no notification lost
        nrows = s.sql("SELECT id::text, status FROM notifications")
        by_status = {}
        for _, st in nrows:
            by_status[st] = by_status.get(st, 0) + 1
        with hook.lock:
            seen = dict(hook.seen)
        unseen = [i for i, st in nrows if i not in seen]
        redelivered = sum(1 for i, _ in nrows if seen.get(i, 0) > 1)
        figures.update(notifications=len(nrows), notif_status=by_status, webhook_redelivered=redelivered,
                       pub_received=len(sub.ids & {i for i, _ in nrows}))
        print("notifications: %d (%s); webhook got %d of them (%d more than once); PUB delivered %d" % (
            len(nrows), ", ".join("%s %d" % kv for kv in sorted(by_status.items())),
            len(nrows) - len(unseen), redelivered, figures["pub_received"]))
        if by_status.get("dead") or by_status.get("queued"):
            failures.append("notifications not sent: %s" % by_status)
        if unseen:
            failures.append("%d notifications never reached the webhook, e.g. %s" % (len(unseen), unseen[:3]))
        if not nrows:
            failures.append("no notification was made: the notify worker was never tested")
        dup = s.sql_value("SELECT count(*) FROM (SELECT 1 FROM notifications WHERE superseded_at IS NULL "
                          "GROUP BY kind, recipient, employee, period, version HAVING count(*) > 1 "
                          "AND kind <> 'signoff_reminder') d")
        if dup:
            failures.append("%d notifications made twice for one result version" % dup)

        # --- no scheduled job run twice
        dues = []
        for name in sorted(os.listdir(s.log_dir)):
            if name.startswith("worker-schedule"):
                dues += re.findall(r"full recalculation requested for the run due (\S+ \S+)",
                                   s.log_text(name[:-4]))
        twice = sorted({d for d in dues if dues.count(d) > 1})
        sched_reqs = s.sql_value("SELECT count(*) FROM recalc_requests r WHERE r.period IS NULL AND r.unit IS NULL "
                                 "AND r.employee IS NULL AND NOT EXISTS (SELECT 1 FROM event_log e "
                                 "WHERE e.id = r.event_id)")
        runs = s.sql_value("SELECT runs FROM schedule_runs WHERE job = 'recalc'") or 0
        minutes = int((time.time() - first_schedule) // 60) + 2  # cron minutes the run touched
        closes = s.sql_value("SELECT count(*) FROM closed_periods")
        figures.update(sched_recalcs=sched_reqs, minutes=minutes, closed=closes)
        print("scheduler: %d full recalculations requested in %d cron minutes (schedule_runs: %d); "
              "%d periods closed" % (sched_reqs, minutes, runs, closes))
        if twice:
            failures.append("recalc requested twice for the run due %s" % twice)
        if sched_reqs != runs:
            failures.append("scheduler recalc requests %d but schedule_runs counts %d" % (sched_reqs, runs))
        if sched_reqs > minutes:
            failures.append("%d scheduled recalcs in %d cron minutes" % (sched_reqs, minutes))
        if sched_reqs == 0:
            failures.append("the scheduler never requested the recalculation: not tested")

        # --- every result equal to a full recalculation's
        q = ("SELECT employee, period, version, predikat, score::text, digest FROM results "
             "ORDER BY employee, period")
        before = s.sql(q)
        versions = s.sql_value("SELECT count(*) FROM score_versions")
        rid = str(uuid.uuid4())
        rc = {"v": 1, "id": rid, "type": "recalc", "source": "operator:chaos", "ts": int(time.time() * 1000)}
        ack, until = None, time.monotonic() + 60
        while time.monotonic() < until:  # `retry` (a broker whose Redis link broke) is sent again
            try:
                ack = s.request(rc, timeout=5.0)
            except TimeoutError:
                ack = None
            if isinstance(ack, dict) and ack.get("status") in FINAL:
                break
            time.sleep(0.5)
        if not isinstance(ack, dict) or ack.get("status") != "accepted":
            failures.append("the recalc event was not accepted: %r" % (ack,))
        else:
            s.wait_for(lambda: s.sql_value("SELECT done_at IS NOT NULL FROM recalc_requests WHERE event_id = %s",
                                           (rid,)), timeout=300, what="the full recalculation", interval=0.5)
            s.wait_for(lambda: s.sql_value("SELECT count(*) FROM score_periods "
                                           "WHERE generation > computed_generation") == 0,
                       timeout=300, what="periods computed after the recalc", interval=0.5)
            after = s.sql(q)
            versions_after = s.sql_value("SELECT count(*) FROM score_versions")
            changed = [(b, c) for b, c in zip(before, after) if b != c]
            figures.update(results=len(before), versions=versions)
            print("recalculation: %d results, %d score versions before, %d after; %d results differ" % (
                len(before), versions, versions_after, len(changed) + abs(len(before) - len(after))))
            if len(before) != len(after) or changed:
                failures.append("a full recalculation changed %d results, e.g. %s" % (
                    len(changed) + abs(len(before) - len(after)), changed[:2]))
            if versions_after != versions:
                failures.append("a full recalculation made %d new score versions" % (versions_after - versions))
            if not before:
                failures.append("no result was computed: scoring was never tested")
    except BaseException:
        s.dump_logs()
        raise
    finally:
        if sub is not None:
            sub.close()
        hook.close()
        if failures:
            s.dump_logs()
        s.close()
    if failures:
        print("chaos[%s]: FAILED\n  %s" % (a.durability, "\n  ".join(failures)))
        return 1
    print("chaos[%s]: passed: every accepted event in PostgreSQL exactly once, no notification lost, "
          "no job run twice, every result a full recalculation's" % a.durability)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="how long the chaos lasts")
    ap.add_argument("--events", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--durability", choices=("always", "everysec"), default="always",
                    help="intake.durability of the run")
    ap.add_argument("--bin", default=None, help="binaries (default build/bin)")
    return run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
