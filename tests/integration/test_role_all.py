"""
kinerja-worker --role all: every role in one process (one thread each), as a small
installation runs it. Events in through the broker come out stored, scored, moved to
pending_signoff, and the supervisor's signoff_requested is published on the PUB socket;
one leader among schedulers; SIGTERM stops every thread and exits 0.
"""

import json
import signal
import time
import unittest
import uuid

import msgpack
import zmq

import harness
from harness import StackTestCase

PERIOD = "2026-02"
TS = 1770000000000  # 2026-02-02
BOSS, STAFF, PEER1, PEER2 = ("197001012000011001", "198001012005011002", "198001012005011003",
                             "198001012005011004")
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]


class RoleAllTest(StackTestCase):
    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        r = stack.org_import("nip,name,unit,position,supervisor_nip,job_family\n"
                             "%s,Kepala,UNIT-X,kepala,,admin\n%s,Staf,UNIT-X,staf,%s,admin\n"
                             "%s,Rekan 1,UNIT-X,staf,%s,admin\n%s,Rekan 2,UNIT-X,staf,%s,admin\n"
                             % (BOSS, STAFF, BOSS, PEER1, BOSS, PEER2, BOSS))
        assert r.returncode == 0, r.stderr
        cls.notify_endpoint = "tcp://127.0.0.1:%d" % harness.free_port()
        cls.worker = stack.start_worker(role="all", env={"KINERJA_NOTIFY_ENDPOINT": cls.notify_endpoint})

    def test_all_roles_in_one_process(self):
        s = self.stack
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, BOSS.encode())
        sub.setsockopt(zmq.RCVTIMEO, 30000)
        sub.connect(self.notify_endpoint)
        time.sleep(0.5)  # let the subscription reach the PUB socket

        def ev(kind, **fields):
            e = {"v": 1, "id": str(uuid.uuid4()), "type": kind, "source": "app:test", "ts": TS,
                 "employee": STAFF, "period": PERIOD}
            e.update(fields)
            return e
        events = [ev("evaluation", rater=BOSS, relation="supervisor", behaviour={k: 4 for k in KEYS},
                     hasil_kerja="meets"),
                  ev("evaluation", rater=PEER1, relation="peer", behaviour={k: 4 for k in KEYS}),
                  ev("evaluation", rater=PEER2, relation="peer", behaviour={k: 3 for k in KEYS}),
                  ev("work_result", indicator="K1", target=10, realization=10)]
        r = s.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        self.assertEqual(r.returncode, 0, r.stderr)
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM results WHERE employee = %s AND state = "
                                       "'pending_signoff'", (STAFF,)) == 1, timeout=60, what="pending_signoff")
        topic, body = sub.recv_multipart()
        self.assertEqual(topic, BOSS.encode())
        note = msgpack.unpackb(body, raw=False)
        self.assertEqual((note["kind"], note["employee"], note["period"]), ("signoff_requested", STAFF, PERIOD))
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM notifications WHERE status = 'sent'") >= 1,
                   timeout=30, what="notification sent")
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM schedule_leader") >= 1, timeout=30,
                   what="a schedule leader")
        sub.close(0)
        self.worker.send_signal(signal.SIGTERM)
        self.assertEqual(self.worker.wait(timeout=20), 0)
        log = s.log_text(s.log_name(self.worker))
        for word in ("role all", "score role started", "leader"):
            self.assertIn(word, log)


if __name__ == "__main__":
    unittest.main()
