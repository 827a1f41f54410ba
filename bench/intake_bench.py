#!/usr/bin/python3
"""
Intake benchmark (issue: intake pipeline): a durable local stack (PostgreSQL with fsync on,
Redis AOF everysec) started in a temporary directory, an organisation of 10 units, then

  1. `kinerja send` of N events (default 100 000, every type, made by
     scripts/gen_traffic.py): intake acks/s (wall time of the send, which ends when the
     last final ack arrives) and end-to-end events/s (from the start of the send until
     PostgreSQL holds every accepted event, in event_log or rejected_events);
  2. `kinerja bench --events N --json`: simulated kiosks, with this machine's raw
     ceilings (pipelined XADD, COPY) measured in the same run.

Usage: /usr/bin/python3 bench/intake_bench.py [--events N] [--workers W] [--bin DIR]
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import harness  # noqa: E402
import gen_traffic  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--workers", type=int, default=1, help="ingest workers")
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--bin", default=None, help="binaries (default build/bin)")
    a = ap.parse_args()
    bin_dir = os.path.abspath(a.bin or os.path.join(HERE, "..", "build", "bin"))
    s = harness.Stack(shards=a.shards, bin_dir=bin_dir, durable=True)
    try:
        s.start_all(workers=a.workers)
        org = gen_traffic.build_org(units=10, per_unit=8, seed=7)
        r = s.org_import(gen_traffic.make_org(units=10, per_unit=8, seed=7))
        assert r.returncode == 0, r.stderr
        traffic = gen_traffic.make_events(org, count=a.events, seed=7)
        path = s.write_file("events.jsonl", gen_traffic.to_jsonl(traffic.events))

        def stored():
            return s.sql_value("SELECT (SELECT count(*) FROM event_log) + (SELECT count(*) FROM rejected_events)")

        t0 = time.monotonic()
        r = s.kinerja("send", path, "--timeout", "600")
        t_ack = time.monotonic() - t0
        assert r.returncode == 0, r.stderr[-2000:]
        summary = r.stdout.strip().splitlines()[-1]
        accepted = int(summary.split("accepted=")[1].split()[0])
        s.wait_for(lambda: stored() >= accepted, timeout=900, interval=0.05, what="all stored")
        t_e2e = time.monotonic() - t0
        print("kinerja send of %d events (%s), %d ingest worker(s), %d shards:" % (
            a.events, summary, a.workers, a.shards))
        print("  intake: %.2f s -> %.0f acks/s" % (t_ack, a.events / t_ack))
        print("  end to end (until PostgreSQL holds all %d accepted): %.2f s -> %.0f events/s" % (
            accepted, t_e2e, accepted / t_e2e))

        r = s.kinerja("bench", "--events", str(a.events), "--json", timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        b = json.loads(r.stdout)
        print("kinerja bench --events %d (8 simulated kiosks, 100 events per frame):" % a.events)
        print("  intake %.0f acks/s (%.0f%% of pipelined XADD %.0f/s), end to end %.0f events/s "
              "(%.0f%% of COPY %.0f rows/s), ack latency per event p50 %.1f ms p95 %.1f ms p99 %.1f ms" % (
                  b["intake_per_s"], 100 * b["intake_ratio"], b["ceiling_xadd_per_s"], b["e2e_per_s"],
                  100 * b["e2e_ratio"], b["ceiling_copy_per_s"], b["ack_p50_ms"], b["ack_p95_ms"], b["ack_p99_ms"]))
    finally:
        s.close()


if __name__ == "__main__":
    main()
