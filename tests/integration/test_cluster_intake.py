"""Intake and ingest on a Redis Cluster (issue 17, redis.cluster = true): a real 3-master,
3-replica cluster on loopback (tests/integration/cluster.py: Debian's redis-server in
cluster mode, `redis-cli --cluster create`), the real broker and ingest worker, and
PostgreSQL. Every shard's stream lives on its slot's master; the broker reserves each id
in the id's own slot and stores the event with its shard's function call; the ingest
worker reads and acknowledges each shard on its master. Checked: every accepted event is
in PostgreSQL exactly once, resends and reused ids are duplicates, `kinerja status`
sums the shards over the masters, and with intake.durability = replicated a master
SIGKILLed during a send loses nothing once its replica took over."""
import os
import threading
import time
import uuid

import msgpack
import zmq

from cluster import Cluster
from harness import StackTestCase, free_port
from test_broker import event

SHARDS = 8


def stored_ids(stack, ids):
    """{id: times it is in event_log or rejected_events} for the given ids."""
    rows = stack.sql(
        "SELECT id::text, count(*) FROM (SELECT id FROM event_log WHERE id = ANY(%s::uuid[]) "
        "UNION ALL SELECT event_id FROM rejected_events WHERE event_id = ANY(%s::uuid[])) x GROUP BY 1",
        (list(ids), list(ids)))
    return {r[0]: r[1] for r in rows}


class ClusterIntakeTest(StackTestCase):
    stack_options = {"shards": SHARDS}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_postgres()
        stack.migrate()
        cls.cluster = Cluster(tmp=os.path.join(stack.tmp, "cluster"))
        stack.write_config(extra={"redis.url": cls.cluster.seeds_url(), "redis.cluster": True})
        cls.worker = stack.start_worker(role="ingest")

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.cluster.stop()

    def broker(self, **env):
        e = {"KINERJA_INTAKE_ENDPOINT": "tcp://127.0.0.1:%d" % free_port(), "KINERJA_METRICS_LISTEN": "off"}
        e.update(env)
        proc = self.stack.start_broker(env=e)
        return proc, e["KINERJA_INTAKE_ENDPOINT"]

    def send(self, endpoint, frames):
        return self.stack.send_frames(endpoint, frames)

    def send_during(self, endpoint, prefix, per_frame, pause, action):
        """Sends frames of per_frame events (units prefix<n>) from a thread while
        action() runs; returns ({id: event} sent, {ids answered accepted}). Every frame
        must get its reply."""
        sent, accepted, errors = {}, set(), []
        stop = threading.Event()

        def sender():
            d = self.stack.dealer(endpoint)
            try:
                while not stop.is_set():
                    frame = [event(unit="%s%d" % (prefix, len(sent) + j)) for j in range(per_frame)]
                    for e in frame:
                        sent[e["id"]] = e
                    d.send(msgpack.packb(frame))
                    if not d.poll(20000, zmq.POLLIN):
                        errors.append("no reply")
                        return
                    accepted.update(a["id"] for a in msgpack.unpackb(d.recv(), raw=False)
                                    if a["status"] == "accepted")
                    time.sleep(pause)
            finally:
                d.close()

        t = threading.Thread(target=sender)
        t.start()
        try:
            action(accepted)
        finally:
            stop.set()
            t.join(timeout=60)
        self.assertEqual(errors, [])
        return sent, accepted

    def resend_until_settled_then_stored_once(self, endpoint, sent, accepted, tries):
        """Resends what was not answered accepted until each is accepted or duplicate;
        then every sent event is in PostgreSQL exactly once, the accepted among them."""
        rest = [sent[i] for i in sent if i not in accepted]
        for _ in range(tries):
            if not rest:
                break
            acks = self.send(endpoint, [rest[k:k + 100] for k in range(0, len(rest), 100)])
            rest = [sent[a["id"]] for a in acks if a["status"] not in ("accepted", "duplicate")]
            if rest:
                time.sleep(0.5)
        self.assertEqual(rest, [])
        ids = list(sent)
        self.stack.wait_for(lambda: len(stored_ids(self.stack, ids)) == len(ids), timeout=90,
                            what="every sent event in PostgreSQL")
        counts = stored_ids(self.stack, ids)
        self.assertEqual(set(counts.values()), {1}, [i for i, c in counts.items() if c != 1][:5])
        self.assertTrue(accepted <= set(counts))

    def stream_counts(self):
        """{shard: entries} over the cluster, each shard asked on its slot's master."""
        counts = {}
        for shard in range(SHARDS):
            key = "kinerja:ev:{%d}" % shard
            port = self.cluster.owner_of(self.cluster.key_slot(key))
            counts[shard] = self.cluster.command(port, "XLEN", key)
        return counts

    def test_1_every_accepted_event_is_stored_once(self):
        proc, endpoint = self.broker()
        try:
            log = self.stack.log_text(self.stack._names[proc])
            self.assertIn("redis cluster of seeds 127.0.0.1:", log)
            self.stack.wait_for(lambda: "Redis Cluster connected: 3 masters" in
                                self.stack.log_text(self.stack._names[proc]), what="the broker on the cluster")
            frames = [[event(unit="UNIT-%d" % (i * 50 + j)) for j in range(50)] for i in range(20)]
            acks = self.send(endpoint, frames)
            self.assertEqual({a["status"] for a in acks}, {"accepted"}, [a for a in acks if a["status"] != "accepted"][:3])
            ids = [e["id"] for f in frames for e in f]
            # the shards are spread over the masters, each stream on its slot's master
            counts = self.stream_counts()
            self.assertEqual(sum(counts.values()), len(ids))
            owners = {self.cluster.owner_of(self.cluster.key_slot("kinerja:ev:{%d}" % s)) for s in range(SHARDS)
                      if counts[s]}
            self.assertGreaterEqual(len(owners), 2, counts)
            self.stack.wait_for(lambda: len(stored_ids(self.stack, ids)) == len(ids), timeout=60,
                                what="every accepted event in PostgreSQL")
            self.assertEqual(set(stored_ids(self.stack, ids).values()), {1})
            # resent: duplicates, nothing stored twice
            acks = self.send(endpoint, frames[:3])
            self.assertEqual({a["status"] for a in acks}, {"duplicate"}, acks[:3])
            # an id reused about another unit (another shard): a duplicate, as on one server
            first = frames[0][0]
            other = dict(first, unit="UNIT-ELSEWHERE-%s" % uuid.uuid4().hex[:6])
            for unit in ("A", "B", "C", "D", "E", "F", "G", "H"):
                other["unit"] = "UNIT-" + unit
                acks = self.send(endpoint, [[other]])
                self.assertEqual(acks[0]["status"], "duplicate", (unit, acks))
            time.sleep(1.0)
            self.assertEqual(stored_ids(self.stack, [first["id"]]), {first["id"]: 1})
            # every shard's entries acknowledged on its own master
            self.stack.wait_for(lambda: self.stack.status()["pending"] == 0, timeout=30,
                                what="nothing pending")
            status = self.stack.status()
            self.assertEqual(status["stream_length"], sum(self.stream_counts().values()))
        finally:
            self.stack.stop(proc)

    def test_2_replicated_failover_loses_nothing(self):
        proc, endpoint = self.broker(KINERJA_INTAKE_DURABILITY="replicated",
                                     KINERJA_INTAKE_REPLICA_TIMEOUT_MS="1500")
        try:
            self.stack.wait_for(lambda: "Redis Cluster connected" in self.stack.log_text(self.stack._names[proc]),
                                what="the broker on the cluster")
            killed = []

            def kill_and_fail_over(accepted):
                self.stack.wait_for(lambda: len(accepted) >= 200, timeout=30, what="acks before the kill")
                killed.append(self.cluster.kill_master(0))
                time.sleep(0.5)
                self.cluster.wait_failover()
                n = len(accepted)
                self.stack.wait_for(lambda: len(accepted) >= n + 200, timeout=60, what="acks after the failover")

            sent, accepted = self.send_during(endpoint, "UNIT-F", 20, 0.01, kill_and_fail_over)
            self.assertNotIn(killed[0], self.cluster.masters())
            # the promoted master has no replica, so nothing written to it can be
            # confirmed (its events are answered retry) until the old master is back as
            # its replica
            self.cluster.restart(killed[0])
            self.cluster.wait_settled()
            self.resend_until_settled_then_stored_once(endpoint, sent, accepted, tries=20)
        finally:
            self.stack.stop(proc)

    def test_3_a_shard_resharded_during_a_send_loses_nothing(self):
        """The slot of a shard's stream moves to another master while events flow
        (SETSLOT MIGRATING / IMPORTING, MIGRATE, SETSLOT NODE: what redis-cli --cluster
        reshard does): the broker and the ingest worker follow ASK and MOVED, and every
        event ends accepted or duplicate after resends, stored once."""
        proc, endpoint = self.broker()
        try:
            self.stack.wait_for(lambda: "Redis Cluster connected" in self.stack.log_text(self.stack._names[proc]),
                                what="the broker on the cluster")

            def reshard(accepted):
                self.stack.wait_for(lambda: len(accepted) >= 500, timeout=30, what="acks before the move")
                slot = self.cluster.key_slot("kinerja:ev:{0}")
                source = self.cluster.owner_of(slot)
                target = [m for m in self.cluster.masters() if m != source][0]
                self.cluster.migrate_slot(slot, target)
                self.assertEqual(self.cluster.owner_of(slot), target)
                n = len(accepted)
                self.stack.wait_for(lambda: len(accepted) >= n + 500, timeout=60, what="acks after the move")

            sent, accepted = self.send_during(endpoint, "UNIT-R", 40, 0, reshard)
            self.resend_until_settled_then_stored_once(endpoint, sent, accepted, tries=10)
        finally:
            self.stack.stop(proc)

    def test_4_durability_always_sets_every_master(self):
        proc, endpoint = self.broker(KINERJA_INTAKE_DURABILITY="always")
        try:
            self.stack.wait_for(lambda: "Redis Cluster connected" in self.stack.log_text(self.stack._names[proc]),
                                what="the broker on the cluster")
            for port in self.cluster.masters():
                self.assertEqual(self.cluster.command(port, "CONFIG", "GET", "appendfsync"),
                                 [b"appendfsync", b"always"], port)
            acks = self.send(endpoint, [[event(unit="UNIT-A%d" % i) for i in range(50)]])
            self.assertEqual({a["status"] for a in acks}, {"accepted"}, acks[:3])
        finally:
            self.stack.stop(proc)
            for port in self.cluster.masters():
                self.cluster.command(port, "CONFIG", "SET", "appendfsync", "everysec")


if __name__ == "__main__":
    import unittest
    unittest.main()
