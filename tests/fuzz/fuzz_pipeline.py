#!/usr/bin/python3
"""
Pipeline fuzzer (`make fuzz-pipeline`), issue 12: "the worst any event can do is be
rejected", tested through the real stack.

A stack in a temporary directory (harness.Stack: redis-server, PostgreSQL, the broker, an
ingest worker and a score worker; loopback, CURVE off), an organisation, and for the set
time random events of every type (citizen_feedback with rating and with skm, evaluation,
work_result, signoff, appeal, appeal_decision, recalc) in a valid envelope, whose fields
are drawn at, inside and just past every bound of docs/PROTOCOL.md (0, 1e-9, 1e9, 1e9+1,
1000, 1e308, -0.0, NaN, inf, huge integers, ts now +- the window, strings at and past
their limits, unicode and NUL, unknown and malformed NIPs next to valid ones), sent
through the broker in batches, resending `retry` and timeouts with the same ids.

After the sending stops it fails when
  - the streams do not drain, or any period is still behind (generation >
    computed_generation) PERIOD_GRACE seconds after they drained;
  - the score worker's /healthz is not 200 at the end;
  - an event acked accepted/duplicate is in neither event_log nor rejected_events, or in
    both; or a row of either table has an id the broker never accepted;
  - an id already accepted is acked `accepted` again (not `duplicate`) for another body;
  - any stream entry is in dead_letters;
  - any process exited during the run, or did not exit 0 on SIGTERM at the end, or a log
    shows an AddressSanitizer, LeakSanitizer or UBSan report.
It prints a summary: events sent by type, acks at the broker, rejected by the worker,
quarantined results, periods computed. Exit 0 when all hold, 1 otherwise.

Usage: /usr/bin/python3 tests/fuzz/fuzz_pipeline.py [--seconds 600] [--rate 100] [--seed 1] [--bin DIR]
"""

import argparse
import collections
import datetime as dt
import os
import random
import sys
import time
import urllib.error
import urllib.request
import uuid

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import harness  # noqa: E402
import gen_traffic  # noqa: E402

REPLY_TIMEOUT_MS = 5000
DRAIN_TIMEOUT = 300.0   # s for the streams to drain after the sending stops
PERIOD_GRACE = 10.0     # s after draining within which every period must be computed
FINAL = ("accepted", "duplicate", "rejected")
DAY_MS = 86400 * 1000
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")

BEHAVIOUR = gen_traffic.BERAKHLAK
# SPEC type weights: every type, the workflow ones rarer, recalc rarest (a rebuild).
MIX = [("rating", 20), ("skm", 14), ("evaluation", 20), ("work_result", 22), ("signoff", 9),
       ("appeal", 6), ("appeal_decision", 6), ("recalc", 1)]


def http_get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


class Gen:
    """Random events: a valid base of each type, then fields replaced by values at,
    inside and just past their bounds."""

    def __init__(self, org, rng):
        self.org, self.rng = org, rng
        self.nips = [e.nip for e in org.employees]
        self.units = list(org.units)
        self.used_ids = []
        self.wild = True

    # ---- value pools ----------------------------------------------------------------

    def pick(self, *choices):
        return self.rng.choice(choices)

    def s(self, n, ch=None):
        """A string of n characters (unicode or ASCII)."""
        ch = ch or self.pick("a", "é", "🙂", "字")
        return ch * n

    def text(self, limit):
        """A string at, inside or past a byte limit (inside only when not wild)."""
        r = self.rng
        if not self.wild:
            return r.choice(["", "ok", "Ñuñez – ç’est «bien» 🙂👍🏽", "a\x00b", "=HYPERLINK(\"http://x\")",
                             "'; DROP TABLE event_log; --", self.s(limit, "a"), self.s(limit // 4, "🙂"),
                             self.s(limit // 2, "é"), "\u202e\u200b\ufeff", "\U0010ffff" * 3])
        return r.choice([
            "", "ok", "Pelayanan cepat, terima kasih.", "Ñuñez – ç’est «bien» 🙂👍🏽", "a\x00b", "\x00",
            "=HYPERLINK(\"http://x\")", "line\r\nbreak\ttab", "'; DROP TABLE event_log; --", "\\x00 %s %n",
            self.s(limit, "a"), self.s(limit + 1, "a"), self.s(limit // 4, "🙂"), self.s(limit // 4 + 1, "🙂"),
            self.s(limit // 2, "é"), self.s(limit // 2 + 1, "é"), self.s(r.randint(1, 3 * limit)),
            "\u202e\u200b\ufeff", "\U0010ffff" * 3,
        ])

    # values inside each range, at its edges and where arithmetic on them overflows
    INSIDE = {"target": (5e-324, 1e-300, 1e-9, 1e-9, 1, 1000, 999999999.999, 1e9, 1000000000),
              "realization": (0, 0.0, -0.0, 1e-9, 1, 1e9, 1000000000, 999999999.999),
              "weight": (5e-324, 1e-9, 0.001, 1, 1000, 1000.0, 999.999999)}

    def number(self, field):
        if not self.wild:
            return self.rng.choice(self.INSIDE[field])
        return self.pick(0, 0.0, -0.0, 1e-9, 1e-300, 5e-324, 0.5, 1, 1.0, 2, 100, 999.999999, 1000, 1000.0,
                         1000.0000001, 1001, 1e6, 999999999.999, 1e9, 1000000000, 1e9 + 1, 1000000001, 1e10,
                         1e308, -1e308, float("inf"), float("-inf"), float("nan"), -1, -1e-9,
                         2 ** 31 - 1, 2 ** 31, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 64 - 1, -2 ** 63)

    def enum(self, valid, bad):
        """One of the valid codes, or (wild) now and then one that is not."""
        if self.wild and self.rng.random() < 0.15:
            return self.rng.choice(bad)
        return self.rng.choice(valid)

    def small_int(self, lo, hi):
        """An integer answer in lo..hi: mostly valid, else at and past the bounds."""
        if not self.wild or self.rng.random() < 0.8:
            return self.rng.randint(lo, hi)
        return self.pick(lo - 1, hi + 1, 0, -1, float(lo), hi + 0.5, 2 ** 31, 2 ** 64 - 1, -2 ** 63,
                         True, None, str(hi), float("nan"))

    def nip(self, valid=None):
        if not self.wild or (self.rng.random() < 0.85 if valid is None else valid):
            return self.rng.choice(self.nips)
        return self.pick("199001012015011999", "000000000000000000", "999999999999999999",
                         "19900101201501199", "1990010120150119999", "19900101201501199x", "",
                         "bupati:kupang", "١٩٩٠٠١٠١٢٠١٥٠١١٠٠١", self.s(70, "1"))

    def period(self):
        now = dt.datetime.now(dt.timezone.utc)
        cur = now.strftime("%Y-%m")
        prev = (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
        if not self.wild or self.rng.random() < 0.8:
            return self.pick(cur, cur, prev, now.strftime("%Y"), "2000-01", "2099-12")
        return self.pick("2026-13", "2026-00", "2026-1", "1999-12", "2000-01", "2099-12", "2100-01",
                         "0000-01", "9999", "", "abcd-ef", "2026-03-01", self.s(200, "2"), 202603)

    def ts(self, now):
        if self.rng.random() < 0.75:
            return now - self.rng.randint(0, 3600 * 1000)
        if not self.wild:
            return self.pick(now, now + DAY_MS - 5000, now - 400 * DAY_MS, 946684800000)
        return self.pick(now, now + DAY_MS - 2000, now + DAY_MS + 2000, now + 2 * DAY_MS, now - 400 * DAY_MS,
                         946684800000, 946684799999, 4102444799999, 4102444800000, 4070908800000, 0, -1,
                         2 ** 63 - 1, 2 ** 64 - 1, -2 ** 63, float(now), now // 1000)

    # ---- events ---------------------------------------------------------------------

    def envelope(self, etype, now, source):
        eid = str(uuid.uuid4())
        if self.used_ids and self.rng.random() < 0.01:
            eid = self.rng.choice(self.used_ids)  # a repeated id: duplicate (or rejected again)
        self.used_ids.append(eid)
        if len(self.used_ids) > 5000:
            del self.used_ids[:1000]
        if self.wild and self.rng.random() < 0.05:
            source = self.pick("k", self.s(64, "s"), self.s(65, "s"), self.s(16, "🙂"), self.s(17, "🙂"))
        return {"v": 1, "id": eid, "type": etype, "source": source, "ts": self.ts(now)}

    def supervisor_of(self, nip):
        return self.org.supervisor(nip) if nip in self.org.by_nip else None

    def event(self, kind, now):
        r = self.rng
        self.wild = r.random() < 0.5  # half the events stay inside every bound (at the edges)
        emp = self.nip()
        if kind in ("rating", "skm"):
            ev = self.envelope("citizen_feedback", now, "kiosk:fuzz-%02d" % r.randint(0, 9))
            ev["unit"] = r.choice(self.units) if not self.wild or r.random() < 0.85 else self.pick(
                "NO-SUCH-UNIT", "", self.s(64, "U"), self.s(65, "U"), "UNIT\x00X")
            if r.random() < 0.6:
                ev["employee"] = emp
            if kind == "rating":
                ev["rating"] = self.small_int(1, 4)
            else:
                skm = {"u%d" % i: self.small_int(1, 4) for i in range(1, 10)}
                if self.wild and r.random() < 0.05:
                    skm.pop("u%d" % r.randint(1, 9))
                if self.wild and r.random() < 0.03:
                    skm["u10"] = 4
                ev["skm"] = skm
            if r.random() < 0.3:
                ev["respondent"] = self.enum(["citizen", "student", "parent"], ["alien", ""])
            if r.random() < 0.3:
                ev["comment"] = self.text(2000)
            if r.random() < 0.2:
                ev["service"] = self.text(128)
            for k in ("gender", "age_band", "education", "occupation"):
                if r.random() < 0.15:
                    ev[k] = self.pick("f", "m", "18-25", "S1", "PNS", "", self.text(64))
            if self.wild and r.random() < 0.04:
                ev["rating"], ev["skm"] = 4, {"u%d" % i: 4 for i in range(1, 10)}  # both: refused
        elif kind == "evaluation":
            ev = self.envelope("evaluation", now, "app:360")
            ev["employee"], ev["period"] = emp, self.period()
            raters = self.org.raters(emp) if emp in self.org.by_nip else {}
            if raters and r.random() < 0.8:
                rel = r.choice(sorted(raters))
                ev["relation"], ev["rater"] = rel, r.choice(raters[rel])
            else:
                ev["relation"] = self.enum(["supervisor", "peer", "subordinate", "self"], ["boss", ""])
                ev["rater"] = self.nip()
            keys = BEHAVIOUR if r.random() < 0.7 else r.sample(BEHAVIOUR, r.randint(0, len(BEHAVIOUR)))
            ev["behaviour"] = {k: self.small_int(1, 5) for k in keys}
            if self.wild and r.random() < 0.03:
                ev["behaviour"]["integritas"] = 3
            if r.random() < 0.4 and (self.wild or ev["relation"] == "supervisor"):  # supervisor only
                ev["hasil_kerja"] = self.enum(["above", "meets", "below"], ["great", ""])
            if r.random() < 0.2:
                ev["comment"] = self.text(2000)
        elif kind == "work_result":
            ev = self.envelope("work_result", now, "app:skp")
            ev["employee"], ev["period"] = emp, self.period()
            ev["indicator"] = "k%d" % r.randint(0, 5) if r.random() < 0.9 else self.text(64)
            ev["target"] = r.uniform(1, 500) if r.random() < 0.4 else self.number("target")
            ev["realization"] = r.uniform(0, 600) if r.random() < 0.4 else self.number("realization")
            if r.random() < 0.7:
                ev["weight"] = r.uniform(0.1, 10) if r.random() < 0.4 else self.number("weight")
            if r.random() < 0.4:
                ev["direction"] = self.enum(["higher_better", "lower_better"], ["sideways", ""])
            if r.random() < 0.2:
                ev["evidence"] = self.text(2000)
        elif kind == "signoff":
            ev = self.envelope("signoff", now, "app:atasan")
            ev["employee"], ev["period"] = emp, self.period()
            sup = self.supervisor_of(emp)
            ev["supervisor"] = sup if sup and r.random() < 0.8 else self.nip()
            ev["decision"] = self.enum(["approve", "approve", "return", "offer"], ["reject", ""])
            ev["version"] = self.enum([1, 1, 2, 3, 2147483647], [0, -1, 2147483648, 2 ** 64 - 1, 1.0, 1.5])
            if r.random() < 0.3:
                ev["note"] = self.text(2000)
        elif kind == "appeal":
            ev = self.envelope("appeal", now, "app:pegawai")
            ev["employee"], ev["period"] = emp, self.period()
            ev["reason"] = self.text(4000) if r.random() < 0.6 else "Nilai tidak sesuai bukti kerja."
        elif kind == "appeal_decision":
            ev = self.envelope("appeal_decision", now, "app:atasan")
            ev["employee"], ev["period"] = emp, self.period()
            sup = self.supervisor_of(emp)
            sup2 = self.supervisor_of(sup) if sup else None
            ev["decider"] = sup2 if sup2 and r.random() < 0.8 else self.nip()
            ev["decision"] = self.enum(["uphold", "revise", "revise"], ["overturn", ""])
            if ev["decision"] == "revise" or r.random() < 0.2:
                ev["predikat"] = self.enum(["sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang"],
                                          ["luar_biasa", ""])
            if r.random() < 0.3:
                ev["note"] = self.text(2000)
        else:  # recalc: scoped mostly (an unscoped one rebuilds everything)
            ev = self.envelope("recalc", now, "cli:operator")
            if r.random() < 0.9:
                ev["period"] = self.period()
            if r.random() < 0.3:
                ev["unit"] = r.choice(self.units) if r.random() < 0.8 else self.text(64)
            if r.random() < 0.4:
                ev["employee"] = emp
        if self.wild and r.random() < 0.04:
            ev[self.pick("extra", "Employee", "typo_field")] = 1  # unknown field: refused
        return ev


class Sender:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.ctx = zmq.Context.instance()
        self.sock = None
        self.status = {}                                  # id -> last final status
        self.acks = collections.Counter()                 # final acks by status
        self.broker_errors = collections.Counter()        # rejection reasons (field prefix)
        self.timeouts = self.retries = self.frames_refused = 0
        self.reaccepted = []                              # ids acked accepted a second time
        self._socket()

    def _socket(self):
        if self.sock is not None:
            self.sock.close(0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)

    def send(self, batch, as_map=False):
        """Sends until every event has a final ack (retry: same ids again)."""
        todo = list(batch)
        for _ in range(200):
            if not todo:
                return
            frame = msgpack.packb(todo[0] if as_map and len(todo) == 1 else todo, use_bin_type=True)
            self.sock.send(frame)
            if not self.sock.poll(REPLY_TIMEOUT_MS):
                self.timeouts += 1
                self._socket()
                continue
            reply = msgpack.unpackb(self.sock.recv(), raw=False)
            acks = [reply] if isinstance(reply, dict) else reply
            if not isinstance(acks, list) or len(acks) != len(todo):
                # the whole frame refused (say, over max_frame_bytes): send one by one
                self.frames_refused += 1
                if len(todo) == 1:
                    self._final(todo[0], reply if isinstance(reply, dict) else {"status": "rejected"})
                    return
                for ev in todo:
                    self.send([ev], as_map=True)
                return
            again = []
            for ev, ack in zip(todo, acks):
                if ack.get("status") in FINAL:
                    self._final(ev, ack)
                else:
                    again.append(ev)
            if again:
                self.retries += 1
                time.sleep(0.05)
            todo = again
        raise RuntimeError("no final ack after 200 tries for %d events" % len(todo))

    def _final(self, ev, ack):
        st = ack.get("status", "rejected")
        self.acks[st] += 1
        prev = self.status.get(ev["id"])
        if st == "accepted" and prev in ("accepted", "duplicate"):
            self.reaccepted.append((ev["id"], ev["type"]))  # must have been `duplicate`
        if prev not in ("accepted", "duplicate"):
            self.status[ev["id"]] = st
        if st == "rejected":
            err = str(ack.get("error") or "")
            self.broker_errors[err.split(":", 1)[0][:40]] += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600, help="how long events are sent")
    ap.add_argument("--rate", type=float, default=100, help="events per second (paced)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--bin", default=None, help="binaries (default build-asan/bin, else build/bin)")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    rng = random.Random(seed)
    bin_dir = os.path.abspath(a.bin) if a.bin else harness.BIN_DIR
    print("fuzz-pipeline: seed %d, %.0f s at %.0f events/s, binaries %s" % (seed, a.seconds, a.rate, bin_dir),
          flush=True)
    s = harness.Stack(shards=2, bin_dir=bin_dir)
    failures = []
    try:
        s.write_config({"score.settle_ms": 200, "score.settle_max_ms": 1000})
        s.start_all(workers=1)
        score_port = harness.free_port()
        procs = list(s.procs)
        procs.append(s.start_worker("score", env={"KINERJA_METRICS_LISTEN": "127.0.0.1:%d" % score_port}))
        org = gen_traffic.build_org(units=4, per_unit=6, seed=seed % 1000)
        s.org_import(org.to_csv())
        gen = Gen(org, rng)
        sender = Sender(s.intake_endpoint)
        sent = collections.Counter()
        max_behind_s = 0.0
        start = time.monotonic()
        next_probe = start + 10
        n = 0
        while time.monotonic() < start + a.seconds:
            size = rng.choice([1, 1, 5, 20, 50])
            now = int(time.time() * 1000)
            batch = []
            for _ in range(size):
                kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
                batch.append(gen.event(kind, now))
                sent[kind] += 1
            sender.send(batch, as_map=(size == 1 and rng.random() < 0.5))
            n += size
            for p in procs:
                if p.poll() is not None:
                    failures.append("%s exited with %s during the run" % (s.log_name(p), p.returncode))
            if failures:
                break
            if time.monotonic() > next_probe:
                next_probe += 10
                lag = s.sql_value("SELECT coalesce(extract(epoch FROM now() - min(changed_at)), 0) FROM"
                                  " score_periods WHERE generation > computed_generation")
                max_behind_s = max(max_behind_s, float(lag or 0))
                print("fuzz-pipeline: %4.0f s, %d events sent, acks %s, oldest period behind %.1f s" % (
                    time.monotonic() - start, n, dict(sender.acks), float(lag or 0)), flush=True)
            due = start + n / a.rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
        send_secs = time.monotonic() - start
        stop_t = time.monotonic()

        def drained():
            return s.status().get("pending") == 0
        try:
            s.wait_for(drained, timeout=DRAIN_TIMEOUT, what="streams drained", interval=0.5)
        except AssertionError as e:
            failures.append(str(e))
        drain_secs = time.monotonic() - stop_t

        def behind():
            return s.sql("SELECT period, generation, computed_generation FROM score_periods"
                         " WHERE generation > computed_generation ORDER BY period")
        t_drained = time.monotonic()
        while behind() and time.monotonic() < t_drained + PERIOD_GRACE:
            time.sleep(0.2)
        caught_up_secs = time.monotonic() - t_drained
        late = behind()
        if late:
            failures.append("periods still behind %.0f s after the streams drained: %s" % (PERIOD_GRACE, late))
        code, body = http_get(score_port, "/healthz")
        if code != 200:
            failures.append("score worker /healthz: %s %s" % (code, body.strip()[:300]))

        stored = {r[0] for r in s.sql("SELECT id::text FROM event_log")}
        rejected = {r[0] for r in s.sql("SELECT event_id::text FROM rejected_events")}
        accepted = {i for i, st in sender.status.items() if st in ("accepted", "duplicate")}
        lost = accepted - stored - rejected
        both = stored & rejected
        foreign = (stored | rejected) - accepted
        if lost:
            failures.append("%d accepted events are in neither event_log nor rejected_events, e.g. %s" % (
                len(lost), sorted(lost)[:3]))
        if both:
            failures.append("%d events are in both event_log and rejected_events, e.g. %s" % (
                len(both), sorted(both)[:3]))
        if foreign:
            failures.append("%d stored ids the broker never accepted, e.g. %s" % (len(foreign), sorted(foreign)[:3]))
        if sender.reaccepted:
            failures.append("%d events acked `accepted` whose id the broker had accepted before (PROTOCOL:"
                            " `duplicate`, nothing new stored; one row per id is kept, so the second body is"
                            " lost though acked), e.g. %s" % (len(sender.reaccepted), sender.reaccepted[:3]))
        dead = s.sql_value("SELECT count(*) FROM dead_letters")
        if dead:
            failures.append("%d stream entries in dead_letters: %s" % (dead, s.sql(
                "SELECT * FROM dead_letters LIMIT 3")))
        for p in procs:
            if p.poll() is not None:
                failures.append("%s exited with %s" % (s.log_name(p), p.returncode))
        # SIGTERM (drain, exit 0): LeakSanitizer reports only at a clean exit
        for p in reversed(procs):
            try:
                s.stop(p)
            except AssertionError as e:
                failures.append(str(e)[:2000])
        for name in sorted(os.listdir(s.log_dir)):
            text = s.log_text(name[:-4])
            for mark in SANITIZER_MARKS:
                if mark in text:
                    i = text.index(mark)
                    failures.append("%s: %s" % (name, text[max(0, i - 200):i + 600]))
                    break

        worker_reasons = s.sql("SELECT left(split_part(reason, ':', 1), 40), count(*) FROM rejected_events"
                               " GROUP BY 1 ORDER BY 2 DESC LIMIT 12")
        quarantined = s.sql("SELECT employee, period, error FROM score_quarantine ORDER BY period, employee")
        periods = s.sql("SELECT count(*), count(*) FILTER (WHERE computed_generation >= generation)"
                        " FROM score_periods")[0]
        results = s.sql_value("SELECT count(*) FROM results")
        print("\nfuzz-pipeline summary (seed %d)" % seed)
        print("  sent for %.0f s: %d events (%.1f/s): %s" % (send_secs, n, n / max(send_secs, 1e-9), ", ".join(
            "%s %d" % (k, sent[k]) for k, _ in MIX)))
        print("  broker acks: %s; %d ids accepted; %d timeouts, %d retry rounds, %d frames refused whole" % (
            ", ".join("%s %d" % kv for kv in sorted(sender.acks.items())), len(accepted), sender.timeouts,
            sender.retries, sender.frames_refused))
        print("  broker rejections by field: %s" % ", ".join(
            "%s %d" % kv for kv in sender.broker_errors.most_common(14)))
        print("  event_log %d, rejected by the worker %d (%s)" % (
            len(stored), len(rejected), ", ".join("%s %d" % tuple(r) for r in worker_reasons)))
        print("  quarantined results: %d%s" % (len(quarantined), "".join(
            "\n    %s %s: %s" % q for q in quarantined[:10])))
        print("  periods: %d, computed %d; results %d; dead letters %d; max period lag during the run %.1f s" % (
            periods[0], periods[1], results, dead, max_behind_s))
        print("  drained %.1f s after the sending stopped; every period computed %.1f s after that;"
              " /healthz %s" % (drain_secs, caught_up_secs, code))
    except BaseException:
        s.dump_logs()
        raise
    finally:
        if failures:
            s.dump_logs()
        s.close(failed=bool(failures))
    if failures:
        print("fuzz-pipeline: FAILED\n  " + "\n  ".join(failures))
        return 1
    print("fuzz-pipeline: passed: every event accepted or rejected, exactly once; no period stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
