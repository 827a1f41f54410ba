#!/usr/bin/python3
"""
The peer benchmark (issue 15, `make bench-peer`): Kinerja and a BullMQ + pg pipeline in
the same run, on the same redis-server and into the same PostgreSQL, with the same
event mix, printed side by side.

  1. A local stack (scripts/stack.sh) on its own ports and var dir (default ports
     6701..6705 under /tmp/kinerja-bench-peer; --use-running takes the stack the
     environment / config names instead and leaves it running). Durable as `make up`:
     PostgreSQL fsync on, Redis AOF everysec, its data emptied first (--reuse keeps
     it). Worker roles: ingest only (the score,
     notify and schedule roles are not on the measured path and would take CPU from
     whichever side runs while they work); --roles changes that.
  2. An organisation of 10 units x 8 people when none is imported (gen_traffic.py), so
     both sides address real units and employees.
  3. --repeats times (default 3), the order alternating so neither side always runs
     second: `kinerja bench --events N --json` (8 simulated kiosks, 100 events per frame,
     through kinerja-broker and the ingest worker into event_log; it also measures the
     raw XADD and COPY ceilings) and `node bench/peer/peer.js run --events N --json` (8
     kiosks, addBulk of 100, a BullMQ Worker of concurrency 50, INSERT per job into
     peer_events). The load average is taken beside every run.
  4. Medians of the repeats: intake acks/s, end to end stored/s, and ours / peer.

--batched also runs the peer's batched variant (multi-row INSERT per up to 500 parked
jobs), reported separately; the headline is the issue's (INSERT per job).

Usage: /usr/bin/python3 bench/peer_bench.py [--events N] [--repeats R] [--batched]
         [--use-running] [--keep] [--reuse] [--port-base P] [--var-dir DIR] [--roles ROLES]
         [--peer-workers P] [--bin DIR] [--json]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
PEER_DIR = os.path.join(HERE, "peer")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gen_traffic  # noqa: E402

NODE_MIN_MAJOR = 20
PEER_TIMEOUT_S = 3600  # the peer stores a few hundred events/s on a busy 2-core machine


class BenchError(Exception):
    pass


def log(msg):
    sys.stderr.write("peer_bench: %s\n" % msg)
    sys.stderr.flush()


def check_node():
    """node >= 20 and the peer's packages (npm ci from the lockfile) or a clear error."""
    node = shutil.which("node")
    if not node:
        raise BenchError("node not found: the peer runs on Node.js >= %d (scripts/install-deps.sh installs "
                         "Debian's nodejs when there is no node at all)" % NODE_MIN_MAJOR)
    ver = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        major = int(ver.lstrip("v").split(".")[0])
    except ValueError:
        raise BenchError("node --version said %r; cannot tell the version" % ver)
    if major < NODE_MIN_MAJOR:
        raise BenchError("node %s is too old: the peer needs Node.js >= %d" % (ver, NODE_MIN_MAJOR))
    if not os.path.isdir(os.path.join(PEER_DIR, "node_modules", "bullmq")) or \
            not os.path.isdir(os.path.join(PEER_DIR, "node_modules", "pg")):
        if not shutil.which("npm"):
            raise BenchError("bench/peer/node_modules is missing and npm is not installed: install npm, then "
                             "`cd bench/peer && npm ci` (make bench-peer does)")
        log("installing the peer's packages: npm ci in bench/peer (from package-lock.json)")
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER_DIR, capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError("npm ci in bench/peer failed (is the npm registry reachable?):\n%s" % r.stderr[-2000:])
    return node, ver


def stack_env(a):
    """The environment of every process of this benchmark: the caller's, plus (unless
    --use-running) this run's own ports, var dir and key files."""
    env = dict(os.environ)
    env["KINERJA_BIN_DIR"] = a.bin
    if a.use_running:
        return env
    p = a.port_base
    var = os.path.abspath(a.var_dir)
    env.update({
        "KINERJA_VAR_DIR": var,
        "KINERJA_REDIS_URL": "redis://127.0.0.1:%d/0" % (p + 1),
        "KINERJA_POSTGRES_DSN": "host=127.0.0.1 port=%d dbname=kinerja user=kinerja" % (p + 2),
        "KINERJA_INTAKE_ENDPOINT": "tcp://127.0.0.1:%d" % (p + 3),
        "KINERJA_NOTIFY_ENDPOINT": "tcp://127.0.0.1:%d" % (p + 4),
        "KINERJA_WEB_LISTEN": "127.0.0.1:%d" % (p + 5),
        "KINERJA_METRICS_LISTEN": "off",
        "KINERJA_STACK_WEB": "0",
        "KINERJA_STACK_ROLES": a.roles,
        "KINERJA_SECURITY_SERVER_SECRET_FILE": os.path.join(var, "curve", "server.key_secret"),
        "KINERJA_SECURITY_SERVER_PUBLIC_FILE": os.path.join(var, "curve", "server.key"),
        "KINERJA_SECURITY_CLIENTS_FILE": os.path.join(var, "curve", "clients"),
        "KINERJA_SECURITY_CLIENT_KEY_FILE": os.path.join(var, "curve", "cli"),
        "KINERJA_WEB_CLIENT_KEY_FILE": os.path.join(var, "curve", "web"),
        "KINERJA_WEB_SESSION_KEY_FILE": os.path.join(var, "web-session.key"),
    })
    return env


def kinerja(a, env, *args, timeout=120):
    return subprocess.run([os.path.join(a.bin, "kinerja")] + list(args), env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def config(a, env, key):
    r = kinerja(a, env, "config", key)
    if r.returncode != 0:
        raise BenchError("kinerja config %s failed: %s" % (key, r.stderr.strip()))
    return r.stdout.strip()


def stack(env, verb):
    r = subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), verb], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    if r.returncode != 0:
        raise BenchError("scripts/stack.sh %s failed:\n%s%s" % (verb, r.stdout[-2000:], r.stderr[-2000:]))
    return r.stdout


def fresh_data(a, env):
    """Empties the started stack's Redis and PostgreSQL data (stopping it first if an
    earlier --keep left it running), so every invocation starts from the same state: a
    Redis that reloads the dedupe keys of earlier runs takes longer to start than
    stack.sh waits on a busy machine, and a growing event_log makes our polling
    count(*) slower. The CURVE keys and the logs stay."""
    stack(env, "down")
    var = os.path.abspath(a.var_dir)
    for sub in ("redis", "pg"):
        path = os.path.join(var, sub)
        if os.path.islink(path):
            target = os.path.realpath(path)
            os.unlink(path)
            if target.startswith("/var/lib/kinerja/"):  # where stack.sh keeps a cluster postgres cannot reach
                shutil.rmtree(target, ignore_errors=True)
        elif os.path.isdir(path):
            shutil.rmtree(path)


def ensure_org(a, env):
    r = kinerja(a, env, "status", "--json", timeout=60)
    if r.returncode != 0:
        raise BenchError("kinerja status failed (is the stack up? --use-running takes the stack of the "
                         "environment / config/kinerja.conf): %s" % r.stderr.strip())
    try:
        employees = json.loads(r.stdout).get("employees", 0)
    except ValueError:
        employees = 0
    if employees:
        return employees
    path = os.path.join(os.path.abspath(a.var_dir if not a.use_running else "/tmp"), "bench-peer-org.csv")
    with open(path, "w") as f:
        f.write(gen_traffic.make_org(units=10, per_unit=8, seed=7))
    r = kinerja(a, env, "org", "import", path)
    if r.returncode != 0:
        raise BenchError("kinerja org import %s failed: %s" % (path, r.stderr.strip()))
    log("imported an organisation of 10 units x 8 people")
    return 80


def load():
    return round(os.getloadavg()[0], 2)


def run_ours(a, env):
    l0 = load()
    r = kinerja(a, env, "bench", "--events", str(a.events), "--json", timeout=1800)
    if r.returncode != 0:
        raise BenchError("kinerja bench failed (%d):\n%s" % (r.returncode, r.stderr[-2000:]))
    b = json.loads(r.stdout.strip().splitlines()[-1])
    b["load_before"], b["load_after"] = l0, load()
    return b


def run_peer(a, env, node, mode):
    redis_url = config(a, env, "redis.url")
    dsn = config(a, env, "postgres.dsn")
    args = [node, os.path.join(PEER_DIR, "peer.js"), "run", "--events", str(a.events), "--redis", redis_url, "--pg",
            dsn, "--mode", mode, "--workers", str(a.peer_workers), "--timeout-s", str(PEER_TIMEOUT_S), "--json"]
    l0 = load()
    r = subprocess.run(args, env=env, cwd=PEER_DIR, capture_output=True, text=True, timeout=PEER_TIMEOUT_S + 120)
    if r.returncode != 0:
        raise BenchError("peer (%s) failed (%d):\n%s%s" % (mode, r.returncode, r.stdout[-1000:], r.stderr[-2000:]))
    p = json.loads(r.stdout.strip().splitlines()[-1])
    p["load_before"], p["load_after"] = l0, load()
    return p


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def summarise(runs, ours, peers):
    """Medians of the figures, the ratios of those medians, and the median of the ratios
    measured within each run (the one to quote: both sides saw the same load)."""
    s = {
        "ours": {k: med(ours, k) for k in ("intake_per_s", "e2e_per_s", "ceiling_xadd_per_s", "ceiling_copy_per_s",
                                           "ack_p50_ms", "ack_p99_ms")},
    }
    for mode, peer_runs in peers.items():
        p = {k: med(peer_runs, k) for k in ("intake_per_s", "e2e_per_s")}
        s["peer_" + mode] = p
        s["ratio_" + mode] = {
            "intake": s["ours"]["intake_per_s"] / p["intake_per_s"] if p["intake_per_s"] else 0,
            "e2e": s["ours"]["e2e_per_s"] / p["e2e_per_s"] if p["e2e_per_s"] else 0,
        }
        per_run = [(r["ours"], r["peer_" + mode]) for r in runs]
        s["same_run_ratio_" + mode] = {
            "intake": statistics.median(o["intake_per_s"] / q["intake_per_s"] if q["intake_per_s"] else 0
                                        for o, q in per_run),
            "e2e": statistics.median(o["e2e_per_s"] / q["e2e_per_s"] if q["e2e_per_s"] else 0 for o, q in per_run),
        }
    return s


def print_table(a, doc):
    s = doc["median"]
    print("peer benchmark: %d citizen_feedback events per run, %d repeats (medians), node %s, BullMQ %s, pg %s" % (
        a.events, a.repeats, doc["node"], doc["bullmq"], doc["pg"]))
    print("%-34s %14s %16s" % ("", "intake acks/s", "end to end /s"))
    print("%-34s %14.0f %16.0f" % ("kinerja (broker + ingest worker)", s["ours"]["intake_per_s"],
                                   s["ours"]["e2e_per_s"]))
    for mode in doc["modes"]:
        label = "peer: BullMQ, INSERT per job" if mode == "insert" else "peer: BullMQ, batched INSERT"
        p, r = s["peer_" + mode], s["ratio_" + mode]
        print("%-34s %14.0f %16.0f" % (label, p["intake_per_s"], p["e2e_per_s"]))
        q = s["same_run_ratio_" + mode]
        print("%-34s %13.1fx %15.1fx" % ("  kinerja / peer, same-run median", q["intake"], q["e2e"]))
        print("%-34s %13.1fx %15.1fx" % ("  kinerja / peer, of the medians", r["intake"], r["e2e"]))
    print("ceilings (same run): pipelined XADD %.0f/s, COPY %.0f rows/s; kinerja ack p50 %.1f ms, p99 %.1f ms" % (
        s["ours"]["ceiling_xadd_per_s"], s["ours"]["ceiling_copy_per_s"], s["ours"]["ack_p50_ms"],
        s["ours"]["ack_p99_ms"]))
    print("per run (intake / end to end, 1-minute load average before it, %d cores):" % doc["nproc"])
    for i, run in enumerate(doc["runs"]):
        parts = ["kinerja %.0f / %.0f (load %.2f)" % (run["ours"]["intake_per_s"], run["ours"]["e2e_per_s"],
                                                      run["ours"]["load_before"])]
        for mode in doc["modes"]:
            p = run["peer_" + mode]
            parts.append("peer %s %.0f / %.0f (load %.2f)" % (mode, p["intake_per_s"], p["e2e_per_s"],
                                                              p["load_before"]))
        print("  run %d: %s" % (i + 1, "; ".join(parts)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batched", action="store_true", help="also the peer's batched-INSERT variant")
    ap.add_argument("--use-running", action="store_true",
                    help="the stack of the environment / config (left running); default: start one")
    ap.add_argument("--keep", action="store_true", help="leave the stack this run started running")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the started stack's earlier Redis and PostgreSQL data (default: start empty)")
    ap.add_argument("--port-base", type=int, default=6700, help="ports base+1..base+5 (default 6700)")
    ap.add_argument("--var-dir", default="/tmp/kinerja-bench-peer")
    ap.add_argument("--roles", default="ingest", help="worker roles of the started stack (default ingest)")
    ap.add_argument("--peer-workers", type=int, default=1, help="peer worker processes (default 1, as ours)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.events <= 0 or a.repeats <= 0 or a.peer_workers <= 0:
        ap.error("--events, --repeats and --peer-workers must be positive")
    a.bin = os.path.abspath(a.bin)
    started = False
    try:
        if not os.access(os.path.join(a.bin, "kinerja"), os.X_OK):
            raise BenchError("%s/kinerja not found: build first (make build) or give --bin" % a.bin)
        node, node_ver = check_node()
        env = stack_env(a)
        if not a.use_running:
            log("starting a stack under %s (redis :%d, postgres :%d, intake :%d)" % (
                a.var_dir, a.port_base + 1, a.port_base + 2, a.port_base + 3))
            started = True
            if not a.reuse:
                fresh_data(a, env)
            stack(env, "up")
        ensure_org(a, env)
        modes = ["insert"] + (["batched"] if a.batched else [])
        runs, ours, peers = [], [], {m: [] for m in modes}
        for i in range(a.repeats):
            run = {}
            order = ["ours"] + ["peer_" + m for m in modes]
            if i % 2:
                order.reverse()
            for what in order:
                log("run %d/%d: %s" % (i + 1, a.repeats, what))
                if what == "ours":
                    run[what] = run_ours(a, env)
                    ours.append(run[what])
                else:
                    mode = what[len("peer_"):]
                    run[what] = run_peer(a, env, node, mode)
                    peers[mode].append(run[what])
                log("  %s: intake %.0f acks/s, end to end %.0f/s (load %.2f -> %.2f)" % (
                    what, run[what]["intake_per_s"], run[what]["e2e_per_s"], run[what]["load_before"],
                    run[what]["load_after"]))
            runs.append(run)
        first_peer = peers["insert"][0]
        doc = {
            "events": a.events,
            "repeats": a.repeats,
            "modes": modes,
            "node": node_ver.lstrip("v"),
            "bullmq": first_peer["bullmq"],
            "pg": first_peer["pg"],
            "nproc": os.cpu_count(),
            "runs": runs,
            "median": summarise(runs, ours, peers),
        }
        if a.json:
            print(json.dumps(doc, indent=2))
        else:
            print_table(a, doc)
        return 0
    except BenchError as e:
        log("error: %s" % e)
        return 1
    finally:
        if started and not a.keep:
            try:
                stack(env, "down")
            except BenchError as e:
                log("warning: %s" % e)


if __name__ == "__main__":
    sys.exit(main())
