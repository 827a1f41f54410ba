#!/usr/bin/python3
"""
Chaos run (`make chaos`): SPEC 7's promise under fire. "Killing any process (broker, any
worker, Redis, PostgreSQL) at any moment and starting it again loses no accepted event
and double-counts none."

A durable stack in a temporary directory (PostgreSQL with fsync on; Redis AOF with
intake.durability = always, so an acked event survives a Redis crash), an organisation,
and a client that sends events of every type in batches, resending on `retry` and on
timeouts (fresh socket, same ids), recording every final ack per event id. Meanwhile a
chaos thread kills (SIGKILL; PostgreSQL SIGQUIT, its crash stop) a random one of the
broker, the two ingest workers, the score worker, Redis and PostgreSQL at random
moments, and starts it again after a random pause.

Afterwards, with everything running, it waits until the streams are drained and checks:
  - every event acked `accepted` (or `duplicate`) is in event_log or rejected_events;
  - no event id is in both tables (exactly once across them; each table's primary key
    forbids twice within it);
  - no stream entry went to dead_letters;
  - the score worker caught up (every period computed).
Exit 0 when all hold; 1 with the first violations listed.

Usage: /usr/bin/python3 tests/chaos/chaos.py [--seconds 60] [--events 30000] [--seed 1] [--bin DIR]
"""

import argparse
import os
import random
import signal
import sys
import threading
import time

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="how long the chaos lasts")
    ap.add_argument("--events", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default=None, help="binaries (default build/bin)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    bin_dir = os.path.abspath(a.bin or os.path.join(HERE, "..", "..", "build", "bin"))
    s = harness.Stack(shards=4, bin_dir=bin_dir, durable=True,
                      env={"KINERJA_INTAKE_DURABILITY": "always", "KINERJA_WORKER_CLAIM_IDLE_MS": "2000"})
    failures = []
    try:
        s.start_all(workers=0, broker=False)
        procs = {"broker": s.start_broker(), "ingest-1": s.start_worker("ingest"),
                 "ingest-2": s.start_worker("ingest"), "score": s.start_worker("score")}
        org = gen_traffic.build_org(units=6, per_unit=8, seed=a.seed)
        r = s.org_import(gen_traffic.make_org(units=6, per_unit=8, seed=a.seed))
        assert r.returncode == 0, r.stderr
        events = gen_traffic.make_events(org, count=a.events, seed=a.seed).events
        client = Client(s.intake_endpoint, events)

        kills = []

        def restart(name):
            if name == "broker":
                procs[name] = s.start_broker()
            elif name == "redis":
                s.start_redis()
            elif name == "postgres":
                s.start_postgres()
            else:
                procs[name] = s.start_worker("score" if name == "score" else "ingest")

        # The client runs in a thread and the chaos in this one: processes (re)started
        # from a thread would die with it (the harness sets PR_SET_PDEATHSIG, which Linux
        # ties to the creating thread). The client spreads its events over the run.
        result = {}
        start = time.monotonic()
        client.pace_until = start + a.seconds * 0.8
        sender = threading.Thread(target=lambda: result.update(done=client.run(start + a.seconds + 600)),
                                  daemon=True)
        sender.start()
        victims = ["broker", "ingest-1", "ingest-2", "score", "redis", "postgres"]
        while time.monotonic() < start + a.seconds and not failures:
            time.sleep(rng.uniform(1.0, 4.0))
            name = rng.choice(victims)
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
                    restart(name)
                    break
                except Exception as e:  # a crashed server may need a moment before it starts
                    print("chaos: restarting %s failed (%s); again" % (name, str(e).splitlines()[0]))
                    time.sleep(1.0)
            else:
                failures.append("%s could not be restarted" % name)
            kills.append((name, time.monotonic() - t))
        sender.join(timeout=900)
        done = result.get("done", False)
        if not done:
            failures.append("the client could not get a final ack for every event")
        print("chaos: %d kills in %.0f s (%s); %d events sent, %d resends" % (
            len(kills), time.monotonic() - start,
            ", ".join("%s %d" % (n, sum(1 for k, _ in kills if k == n))
                      for n in sorted(set(k for k, _ in kills))), len(events), client.resends))

        def drained():
            st = s.status()
            behind = s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
            return st.get("pending") == 0 and behind == 0
        s.wait_for(drained, timeout=300, what="streams drained and periods computed")
        stored = {r[0] for r in s.sql("SELECT id::text FROM event_log")}
        rejected = {r[0] for r in s.sql("SELECT event_id::text FROM rejected_events")}
        acked = {i for i, st in client.status.items() if st in ("accepted", "duplicate")}
        lost = acked - stored - rejected
        both = stored & rejected
        dead = s.sql_value("SELECT count(*) FROM dead_letters")
        print("accepted by the broker: %d; in event_log: %d; in rejected_events: %d; dead letters: %d" % (
            len(acked), len(stored), len(rejected), dead))
        if lost:
            failures.append("%d accepted events are not in PostgreSQL, e.g. %s" % (len(lost), sorted(lost)[:3]))
        if both:
            failures.append("%d events are in both event_log and rejected_events" % len(both))
        if dead:
            failures.append("%d stream entries went to dead_letters" % dead)
    except BaseException:
        s.dump_logs()
        raise
    finally:
        s.close()
    if failures:
        print("chaos: FAILED\n  " + "\n  ".join(failures))
        return 1
    print("chaos: passed: every accepted event is in PostgreSQL exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
