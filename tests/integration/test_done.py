"""
The intake milestone's "Done means", as an operator would check it by hand:

  kinerja org import org.csv            (a 10-unit organisation)
  kinerja send events.jsonl             (5 000 valid + 20 repeated ids + 30 invalid +
                                         10 about unknown employees)
    -> last line exactly `sent=5060 accepted=5010 duplicate=20 rejected=30`
  kinerja status --json                 -> stored 5000, rejected 10 within seconds
  kinerja send events.jsonl             (again) -> nothing new stored

The files are made by the same CLI the README shows (scripts/gen_traffic.py), run with
the Debian python3.
"""

import json
import os
import subprocess
import time
import unittest

import harness
from harness import StackTestCase

GEN = os.path.join(harness.SCRIPTS_DIR, "gen_traffic.py")
STATUS_TIMEOUT = 60  # "within seconds"; generous for the ASan build on 2 cores


def gen(*args):
    r = subprocess.run(["/usr/bin/python3", GEN] + list(args), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("gen_traffic.py %s failed: %s" % (" ".join(args), r.stderr))
    return r.stdout


class DoneTest(StackTestCase):
    # The product's default shard count, so this runs as a default install would.
    stack_options = {"shards": 16}

    def status(self):
        return self.stack.status()

    def test_done_means(self):
        s = self.stack
        org_csv = s.write_file("org.csv", gen("org", "--units", "10", "--seed", "3"))
        events = s.write_file("events.jsonl", gen("events", "--org", org_csv, "--count", "5000", "--invalid", "30",
                                                  "--unknown", "10", "--repeat", "20", "--seed", "3"))
        with open(events) as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual(len(lines), 5060)
        with open(org_csv) as f:
            org_rows = f.read().splitlines()[1:]

        r = s.kinerja("org", "import", org_csv)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.sql_value("SELECT count(*) FROM employees"), len(org_rows))
        self.assertGreaterEqual(s.sql_value("SELECT count(*) FROM units"), 10)

        start = time.monotonic()
        r = s.kinerja("send", events)
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5060 accepted=5010 duplicate=20 rejected=30",
                         r.stderr[-3000:])
        self.assertEqual(r.returncode, 0)
        # The 30 rejections are on stderr with their reasons.
        self.assertEqual(sum(1 for line in r.stderr.splitlines() if ": rejected" in line), 30, r.stderr[-3000:])

        st = s.wait_for(lambda: (lambda st: st["stored"] == 5000 and st["rejected"] == 10 and st)(self.status()),
                        timeout=STATUS_TIMEOUT, what="kinerja status --json: stored 5000, rejected 10")
        elapsed = time.monotonic() - start
        self.assertEqual(st["dead"], 0)
        # Stream entries are acknowledged right after the commit that stored them.
        st = s.wait_for(lambda: (lambda st: st["pending"] == 0 and st)(self.status()), timeout=10,
                        what="no pending stream entries")
        for key in ("stream_length", "pending", "stored", "rejected", "dead", "results", "notifications"):
            self.assertIn(key, st)
        print("\ndone: 5060 events sent and stored in %.1fs" % elapsed)

        # The ten refused by the worker are the ten about unknown employees, with reasons.
        known = {line.split(",")[0] for line in org_rows}
        rejected = s.sql("SELECT employee, reason FROM rejected_events")
        self.assertEqual(len(rejected), 10)
        for employee, reason in rejected:
            self.assertNotIn(employee, known)
            self.assertIn("employee", reason)

        # Again: the broker remembers every accepted id; nothing new is stored.
        length_before = st["stream_length"]
        r = s.kinerja("send", events)
        self.assertEqual(r.stdout.strip().splitlines()[-1], "sent=5060 accepted=0 duplicate=5030 rejected=30")
        time.sleep(2)
        st = self.status()
        self.assertEqual((st["stored"], st["rejected"], st["dead"]), (5000, 10, 0))
        self.assertEqual(st["stream_length"], length_before)
        self.assertEqual(s.sql_value("SELECT count(*) FROM event_log"), 5000)


if __name__ == "__main__":
    unittest.main()
