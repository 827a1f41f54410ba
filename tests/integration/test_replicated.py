"""intake.durability = replicated (issue 17): the broker ends every round with WAIT and
acks accepted or duplicate only once intake.replicas replicas hold the round; events a
replica did not confirm within intake.replica_timeout_ms are answered retry, and their
resend is answered duplicate once a replica holds them. A real master and replica
(Debian's redis-server, --replicaof), the real broker and ingest worker: the master is
SIGKILLed right after its acks, the replica is promoted, and every accepted event is in
the replica and then stored in PostgreSQL exactly once."""
import os
import signal
import time
import unittest


from harness import StackTestCase, _Resp, free_port
from test_broker import event

SHARDS = 4


def resp(port, *args):
    c = _Resp(port, timeout=10)
    try:
        return c.command(*args)
    finally:
        c.close()


def entries(port):
    """{event id: count} over every shard's stream on the Redis at port."""
    found = {}
    for shard in range(SHARDS):
        for _entry_id, fields in resp(port, "XRANGE", "kinerja:ev:{%d}" % shard, "-", "+") or []:
            f = dict(zip(fields[0::2], fields[1::2]))
            i = f[b"id"].decode()
            found[i] = found.get(i, 0) + 1
    return found


class ReplicatedTest(StackTestCase):
    stack_options = {"shards": SHARDS}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_postgres()
        stack.migrate()

    def setUp(self):
        self.replica_port = free_port()
        d = os.path.join(self.stack.tmp, "replica-%d" % self.replica_port)
        os.makedirs(d)
        self.replica = self.stack._spawn("replica-%d" % self.replica_port, [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self.replica_port), "--dir", d,
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
            "--replicaof", "127.0.0.1", str(self.stack.redis_port), "--logfile", ""])
        self.stack.wait_for(lambda: self.linked(), timeout=20, what="the replica's link to the master")

    def tearDown(self):
        if self.replica.poll() is None:
            self.replica.send_signal(signal.SIGCONT)
            self.replica.kill()
        self.replica.wait(timeout=10)

    def linked(self):
        try:
            info = resp(self.replica_port, "INFO", "replication").decode()
            master = resp(self.stack.redis_port, "INFO", "replication").decode()
        except OSError:
            return False
        return "master_link_status:up" in info and "connected_slaves:1" in master

    def broker(self, **env):
        e = {"KINERJA_INTAKE_DURABILITY": "replicated", "KINERJA_INTAKE_REPLICA_TIMEOUT_MS": "1500",
             "KINERJA_INTAKE_ENDPOINT": "tcp://127.0.0.1:%d" % free_port(), "KINERJA_METRICS_LISTEN": "off"}
        e.update(env)
        proc = self.stack.start_broker(env=e)
        return proc, e["KINERJA_INTAKE_ENDPOINT"]

    def send(self, endpoint, frames):
        return self.stack.send_frames(endpoint, frames)

    def test_1_acks_wait_for_the_replica(self):
        proc, endpoint = self.broker()
        try:
            frame = [event() for _ in range(30)]
            acks = self.send(endpoint, [frame])
            self.assertEqual([a["status"] for a in acks], ["accepted"] * 30, acks[:3])
            self.assertIn("the master has 1 replicas connected", self.stack.log_text(self.stack._names[proc]))
            # the round's own write before its WAIT (what makes WAIT cover a round of
            # duplicates whatever the function wrote)
            self.assertEqual(resp(self.stack.redis_port, "GET", "kinerja:wait"), b"1")
            self.assertGreater(resp(self.stack.redis_port, "TTL", "kinerja:wait"), 0)
            # the replica stopped: nothing is confirmed, so nothing is accepted
            self.replica.send_signal(signal.SIGSTOP)
            held = [event() for _ in range(20)]
            t = time.monotonic()
            acks = self.send(endpoint, [held])
            self.assertEqual({a["status"] for a in acks}, {"retry"}, acks[:3])
            self.assertIn("not confirmed by a replica: 0 of 1 replicas within intake.replica_timeout_ms (1500 ms)",
                          acks[0]["error"])
            self.assertLess(time.monotonic() - t, 10)
            # the master holds them: once the replica is back, the resend is a duplicate,
            # and that answer waited for the replica too
            self.replica.send_signal(signal.SIGCONT)
            self.stack.wait_for(self.linked, timeout=20, what="the replica back")
            acks = self.send(endpoint, [held])
            self.assertEqual([a["status"] for a in acks], ["duplicate"] * 20, acks[:3])
            on_replica = entries(self.replica_port)
            for e in frame + held:
                self.assertEqual(on_replica.get(e["id"]), 1, e["id"])
            # a round of duplicates alone still waits for a replica: with the replica
            # stopped, retry (a duplicate is a final answer, as final as accepted)
            self.replica.send_signal(signal.SIGSTOP)
            acks = self.send(endpoint, [frame[:5]])
            self.assertEqual({a["status"] for a in acks}, {"retry"}, acks)
        finally:
            self.replica.send_signal(signal.SIGCONT)
            self.stack.stop(proc)

    def test_2_without_enough_replicas_everything_is_retry(self):
        proc, endpoint = self.broker(KINERJA_INTAKE_REPLICAS="2")
        try:
            acks = self.send(endpoint, [[event() for _ in range(5)]])
            self.assertEqual({a["status"] for a in acks}, {"retry"})
            self.assertIn("1 of 2 replicas", acks[0]["error"])
            log = self.stack.log_text(self.stack._names[proc])
            self.assertIn("the master has 1 replicas connected, 2 wanted", log)
        finally:
            self.stack.stop(proc)

    def test_3_master_killed_after_its_acks_loses_nothing(self):
        proc, endpoint = self.broker()
        accepted = []
        try:
            frames = [[event(unit="UNIT-%d" % (i % 7)) for _ in range(50)] for i in range(20)]
            for a in self.send(endpoint, frames):
                self.assertIn(a["status"], ("accepted", "retry"))
                if a["status"] == "accepted":
                    accepted.append(a["id"])
        finally:
            self.stack.stop_redis(signal.SIGKILL)  # right after the last ack
            self.stack.kill(proc)
        self.assertGreater(len(accepted), 900)
        # the replica takes over
        self.assertEqual(resp(self.replica_port, "REPLICAOF", "NO", "ONE"), "OK")
        on_replica = entries(self.replica_port)
        missing = [i for i in accepted if on_replica.get(i) != 1]
        self.assertEqual(missing, [], "accepted events the replica does not hold once")
        # and an ingest worker on the promoted replica stores each exactly once
        ingest = self.stack.start_worker(role="ingest", env={
            "KINERJA_REDIS_URL": "redis://127.0.0.1:%d/0" % self.replica_port})
        try:
            # stored, or rejected with its reason (no organisation is imported here)
            ended = ("SELECT count(*) FROM (SELECT id FROM event_log UNION ALL"
                     " SELECT event_id FROM rejected_events) x WHERE id = ANY(%s::uuid[])")
            self.stack.wait_for(lambda: self.stack.sql_value(ended, (accepted,)) == len(accepted),
                                timeout=60, what="every accepted event in PostgreSQL")
            self.assertEqual(self.stack.sql_value(ended, (accepted,)), len(accepted))
        finally:
            self.stack.stop(ingest)


if __name__ == "__main__":
    unittest.main()
