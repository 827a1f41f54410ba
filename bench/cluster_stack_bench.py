#!/usr/bin/python3
"""Intake on a Redis Cluster beside one Redis server, same machine, same run (issue 17):
`kinerja bench` against a stack whose Redis is a real 3-master, 3-replica cluster on
loopback (tests/integration/cluster.py) and against the same stack on one redis-server,
each with its own ceilings (pipelined XADD over the same streams, COPY), so the two
rows compare as ratios. Every process shares this machine's cores: the cluster's six
servers and the single server are not given more hardware, so this measures what the
cluster path costs, not what more machines would give.

    bench/cluster_stack_bench.py [--events 50000] [--clients 8] [--runs 1] [--bin build/bin]
        [--durability everysec|replicated] [--no-e2e] [--mode both|single|cluster]
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))

SHARDS = 16


def run_bench(stack, args, label):
    cmd = ["bench", "--events", str(args.events), "--clients", str(args.clients), "--runs", str(args.runs)]
    if args.no_e2e:
        cmd.append("--no-e2e")
    r = stack.kinerja(*cmd, timeout=1800)
    if r.returncode != 0:
        print("%s: kinerja bench failed (%d):\n%s%s" % (label, r.returncode, r.stdout, r.stderr))
        return False
    print("== %s" % label)
    print(r.stdout.rstrip())
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--events", type=int, default=50000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin"))
    ap.add_argument("--durability", default="everysec", choices=("everysec", "replicated"))
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--mode", default="both", choices=("both", "single", "cluster"))
    args = ap.parse_args()
    os.environ["KINERJA_BIN_DIR"] = os.path.abspath(args.bin)
    os.environ.setdefault("KINERJA_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..")))
    import harness
    from cluster import Cluster

    ok = True
    for mode in ("single", "cluster") if args.mode == "both" else (args.mode,):
        stack = harness.Stack(shards=SHARDS, bin_dir=os.path.abspath(args.bin))
        cluster = None
        try:
            stack.start_postgres()
            stack.migrate()
            import gen_traffic
            r = stack.org_import(gen_traffic.make_org(units=50, per_unit=20, seed=7))
            if r.returncode != 0:
                raise RuntimeError("kinerja org import: %s" % r.stderr)
            if mode == "cluster":
                cluster = Cluster(tmp=os.path.join(stack.tmp, "cluster"))
                stack.write_config(extra={"redis.url": cluster.seeds_url(), "redis.cluster": True,
                                          "intake.durability": args.durability})
            else:
                stack.start_redis()
                stack.write_config(extra={"intake.durability": args.durability})
            stack.start_broker()
            stack.start_worker(role="ingest")
            label = "%s (%s, %d shards, durability %s)" % (
                "Redis Cluster, 3 masters + 3 replicas" if cluster else "one redis-server", mode, SHARDS,
                args.durability)
            if args.durability == "replicated" and not cluster:
                print("== %s: skipped (one server has no replica here)" % label)
                continue
            ok = run_bench(stack, args, label) and ok
        finally:
            stack.close(failed=not ok)
            if cluster:
                cluster.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
