#!/usr/bin/python3
"""Redis CPU per event of the broker's enqueue call and of the ingest worker's reads,
for the shipped function and two dedupe designs that were measured against it (issue 15).

Starts its own redis-server (a free port, a temporary directory, no persistence), loads
schemas/redis/kinerja.lua and a bench-only library of the variants, and sends --events
events in calls of --call events (the broker's ENQUEUE_CALL_EVENTS) over --shards
streams, --depth calls in flight. Redis CPU comes from INFO cpu (user + sys) before and
after, so only the server's own work is counted. Each variant runs --runs times on an
emptied server; the medians are printed (--json: one object).

  shipped   kinerja_enqueue_many: SET kinerja:dd:<id> 1 NX EX ttl + XADD per event
  buckets   the ids in time-bucket sets (SMISMEMBER on the 5 live sets and one SADD
            per call), still one XADD per event: the entry format unchanged
  grouped   the same sets, and ONE entry per stream and call holding its events
            (fields id ev rt repeated): needs an ingest worker that reads many events
            from one entry (not built)
  xadd      pipelined XADD per event, the fields of the broker's entries (the ceiling)

The read side: XREADGROUP COUNT 512 and XACK of what it read, per shard, until empty,
divided by the events read (grouped: several per entry).

  bench/redis_dedupe_bench.py [--events 192000] [--runs 3] [--json]
"""
import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY = os.path.join(HERE, "..", "schemas", "redis", "kinerja.lua")

VARIANTS_LUA = r"""#!lua name=kinerja_dedupe_bench
local LIVE = 5
local function seen_of(base, bucket, ids, n)
  local seen = {}
  for k = 0, LIVE - 1 do
    local r = redis.call('SMISMEMBER', base .. (bucket - k), unpack(ids))
    for i = 1, n do if r[i] == 1 then seen[i] = true end end
  end
  return seen
end
local function setup(keys, args)
  local n = #keys - 1
  local width = math.ceil(tonumber(args[1]) / 4)
  local bucket = math.floor(tonumber(redis.call('TIME')[1]) / width)
  local ids = {}
  for i = 1, n do ids[i] = args[4 * i - 2] end
  return n, width, bucket, keys[1] .. ':' .. width .. ':', ids
end
local function mark(base, bucket, width, marked)
  if #marked > 0 then
    redis.call('SADD', base .. bucket, unpack(marked))
    redis.call('EXPIREAT', base .. bucket, (bucket + LIVE) * width + 60, 'NX')
  end
end
local function buckets(keys, args)
  local n, width, bucket, base, ids = setup(keys, args)
  local seen = seen_of(base, bucket, ids, n)
  local st, first, marked = {}, {}, {}
  for i = 1, n do
    if seen[i] or first[ids[i]] then st[i] = 'd' else
      local a = 4 * i - 2
      redis.call('XADD', keys[1 + i], '*', 'id', ids[i], 'ev', args[a + 1], 'rt', args[a + 2])
      first[ids[i]] = true; marked[#marked + 1] = ids[i]; st[i] = 'a'
    end
  end
  mark(base, bucket, width, marked)
  return {table.concat(st), ''}
end
local function grouped(keys, args)
  local n, width, bucket, base, ids = setup(keys, args)
  local seen = seen_of(base, bucket, ids, n)
  local st, first, marked, groups, order = {}, {}, {}, {}, {}
  for i = 1, n do
    if seen[i] or first[ids[i]] then st[i] = 'd' else
      local a = 4 * i - 2
      local g = groups[keys[1 + i]]
      if not g then g = {keys[1 + i], '*'}; groups[keys[1 + i]] = g; order[#order + 1] = g end
      local m = #g
      g[m + 1] = 'id'; g[m + 2] = ids[i]; g[m + 3] = 'ev'; g[m + 4] = args[a + 1]
      g[m + 5] = 'rt'; g[m + 6] = args[a + 2]
      first[ids[i]] = true; marked[#marked + 1] = ids[i]; st[i] = 'a'
    end
  end
  for _, g in ipairs(order) do redis.call('XADD', unpack(g)) end
  mark(base, bucket, width, marked)
  return {table.concat(st), ''}
end
redis.register_function('bench_buckets', buckets)
redis.register_function('bench_grouped', grouped)
"""


def enc(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t in (b"+", b":"):
            return rest
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def cmd(self, *args):
        self.s.sendall(enc(args))
        return self.read()

    def pipeline(self, groups, depth):
        """groups: lists of commands sent together; at most depth groups unanswered."""
        pending = []
        for g in groups:
            self.s.sendall(b"".join(enc(c) for c in g))
            pending.append(len(g))
            while len(pending) > depth:
                for _ in range(pending.pop(0)):
                    self.read()
        for n in pending:
            for _ in range(n):
                self.read()

    def cpu(self):
        info = dict(l.split(":", 1) for l in self.cmd("INFO", "cpu").decode().split("\r\n") if ":" in l)
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def calls(variant, events, call, shards, body):
    out = []
    for _ in range(events // call):
        ids = [str(uuid.uuid4()) for _ in range(call)]
        rt = str(int(time.time() * 1000))
        streams = ["kinerja:ev:{%d}" % random.randrange(shards) for _ in ids]
        if variant == "xadd":
            out.append([["XADD", k, "*", "id", i, "ev", body, "rt", rt] for k, i in zip(streams, ids)])
            continue
        args = ["2592000"]
        for i in ids:
            args += [i, body, rt, ""]
        if variant == "shipped":
            keys = []
            for k, i in zip(streams, ids):
                keys += ["kinerja:dd:" + i, k]
            fn = "kinerja_enqueue_many"
        else:
            keys = ["kinerja:dd:b"] + streams
            fn = "bench_" + variant
        out.append([["FCALL", fn, str(len(keys))] + keys + args])
    return out


def read_side(c, shards):
    events = 0
    t0 = c.cpu()
    for s in range(shards):
        key = "kinerja:ev:{%d}" % s
        try:
            c.cmd("XGROUP", "CREATE", key, "g", "0")
        except RuntimeError:
            pass
        while True:
            res = c.cmd("XREADGROUP", "GROUP", "g", "c", "COUNT", "512", "STREAMS", key, ">")
            if not res or not res[0][1]:
                break
            entries = res[0][1]
            events += sum(e[1].count(b"ev") for e in entries)
            c.cmd("XACK", key, "g", *[e[0] for e in entries])
    return (c.cpu() - t0) / max(events, 1) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=192000)
    ap.add_argument("--call", type=int, default=64)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--body", type=int, default=220, help="bytes of each event's ev field")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    o = ap.parse_args()
    server = shutil.which("redis-server")
    if not server:
        sys.exit("redis_dedupe_bench: redis-server not found")
    tmp = tempfile.mkdtemp(prefix="kinerja-dedupe-bench-")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = Conn(port)
                c.cmd("PING")
                break
            except (OSError, RuntimeError):
                time.sleep(0.05)
        else:
            sys.exit("redis_dedupe_bench: redis-server did not start")
        c.cmd("FUNCTION", "LOAD", "REPLACE", open(LIBRARY).read())
        c.cmd("FUNCTION", "LOAD", "REPLACE", VARIANTS_LUA)
        body = os.urandom(o.body)
        res = {v: {"write_us": [], "read_us": [], "bytes_per_id": []} for v in ("xadd", "shipped", "buckets", "grouped")}
        for _ in range(o.runs):
            for v in res:
                c.cmd("FLUSHALL")
                work = calls(v, o.events, o.call, o.shards, body)
                t0 = c.cpu()
                c.pipeline(work, o.depth)
                res[v]["write_us"].append((c.cpu() - t0) / o.events * 1e6)
                dd = sum(int(c.cmd("MEMORY", "USAGE", k) or 0) for k in c.cmd("KEYS", "kinerja:dd:b*")) \
                    if v in ("buckets", "grouped") else None
                if dd is not None:
                    res[v]["bytes_per_id"].append(dd / o.events)
                res[v]["read_us"].append(read_side(c, o.shards))
        out = {"events": o.events, "call": o.call, "shards": o.shards, "runs": o.runs}
        for v, r in res.items():
            out[v] = {k: round(statistics.median(x), 2) for k, x in r.items() if x}
            out[v]["runs_write_us"] = [round(x, 2) for x in r["write_us"]]
        if o.json:
            print(json.dumps(out))
        else:
            print("Redis CPU per event (us), medians of %d runs, %d events, %d per call, %d streams" %
                  (o.runs, o.events, o.call, o.shards))
            for v in res:
                r = out[v]
                print("  %-8s write %5.2f (runs %s)  read+ack %5.2f  total %5.2f%s" % (
                    v, r["write_us"], ", ".join("%.2f" % x for x in r["runs_write_us"]), r["read_us"],
                    r["write_us"] + r["read_us"],
                    "  dedupe set %.0f B/id" % r["bytes_per_id"] if "bytes_per_id" in r else ""))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
