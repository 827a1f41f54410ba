#!/usr/bin/python3
"""
Recalculation benchmark (issue: scoring engine): an organisation of N employees (default
100 000, in units of 100: a head and 99 staff) with R ratings each (default 30: the
supervisor, R-2 peers, the employee's own) and 2 SKP indicators each, written to the event
log of a real PostgreSQL (fsync on), then timed:

  1. first computation: the score worker computes the period and writes N new versions;
  2. full recalculation: a `recalc` event through the real broker and ingest worker; the
     score worker rebuilds the derived tables of the period from the event log (set-based
     SQL) and recomputes every result (nothing changed, so no new version is written).

Prints each phase's wall time, the worker's own load / score+store split and the score
worker's peak resident memory (VmHWM). --explain logs every PostgreSQL statement (nested
ones too) slower than 300 ms with its EXPLAIN ANALYZE (auto_explain) and prints where the
score worker's connection spent its time.
Usage: /usr/bin/python3 bench/recalc_bench.py [--employees N] [--ratings R] [--bin DIR] [--explain]
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

PERIOD = "2026-06"

# Setup statements may take minutes on a busy machine (the harness's Stack.sql() stops
# a statement after 120 s).
SETUP_SQL = """
SET statement_timeout = 0;
INSERT INTO units (code) SELECT 'U' || lpad(u::text, 5, '0') FROM generate_series(0, %(units)s - 1) u;
INSERT INTO employees (nip, name, unit, position, supervisor_nip, job_family)
SELECT '19800101' || lpad(i::text, 10, '0'), 'Pegawai ' || i, 'U' || lpad((i / 100)::text, 5, '0'),
       CASE WHEN i %% 100 = 0 THEN 'kepala' ELSE 'staf' END,
       CASE WHEN i %% 100 = 0 THEN NULL ELSE '19800101' || lpad((i / 100 * 100)::text, 10, '0') END, 'admin'
FROM generate_series(0, %(n)s - 1) i;
"""

# Ratings of staff member i (not heads): the head, peers i+1..i+(R-2) within the unit's
# staff (wrapping), and the employee's own; values drawn around a per-person level.
EVENTS_SQL = """
SET statement_timeout = 0;
INSERT INTO event_log (id, type, source, ts, employee, unit, period, rater, relation, payload)
SELECT gen_random_uuid(), 'evaluation', 'bench', timestamptz '2026-06-15 10:00+00',
       '19800101' || lpad(e::text, 10, '0'), 'U' || lpad((e / 100)::text, 5, '0'), '%(period)s',
       '19800101' || lpad(r::text, 10, '0'), rel,
       jsonb_build_object('behaviour', jsonb_build_object(
           'berorientasi_pelayanan', 1 + (e * 7 + r) %% 5, 'akuntabel', 1 + (e * 3 + r * 2) %% 5,
           'kompeten', 1 + (e + r * 3) %% 5, 'harmonis', 1 + (e * 5 + r) %% 5, 'loyal', 1 + (e + r) %% 5,
           'adaptif', 1 + (e * 2 + r * 5) %% 5, 'kolaboratif', 1 + (e * 11 + r) %% 5))
FROM (
    SELECT e, e / 100 * 100 AS r, 'supervisor' AS rel FROM generate_series(%(lo)s, %(hi)s - 1) e WHERE e %% 100 <> 0
    UNION ALL
    SELECT e, e AS r, 'self' FROM generate_series(%(lo)s, %(hi)s - 1) e WHERE e %% 100 <> 0
    UNION ALL
    SELECT e, e / 100 * 100 + 1 + ((e %% 100 - 1 + k) %% 99), 'peer'
    FROM generate_series(%(lo)s, %(hi)s - 1) e, generate_series(1, %(peers)s) k WHERE e %% 100 <> 0
) x;
INSERT INTO event_log (id, type, source, ts, employee, unit, period, payload)
SELECT gen_random_uuid(), 'work_result', 'bench', timestamptz '2026-06-15 10:00+00',
       '19800101' || lpad(e::text, 10, '0'), 'U' || lpad((e / 100)::text, 5, '0'), '%(period)s',
       jsonb_build_object('indicator', 'K' || k, 'target', 100, 'realization', 70 + (e * k) %% 50)
FROM generate_series(%(lo)s, %(hi)s - 1) e, generate_series(1, 2) k;
"""


# The bulk load (the default): the event log written with its triggers off and without its
# secondary indexes (and those of the derived tables), the indexes built once afterwards,
# then the derived rows made by kinerja_rebuild(), the recalculation's own set-based
# derivation from the log, which the recalculation tests hold equal to the ingest path's
# trigger (event_log_derive). The bench's events touch no other trigger's work (no
# sign-off, appeal, feedback note; no frozen result exists yet). --trigger-setup loads
# through the triggers, as ingest does, and --check-setup compares both on one database.
BULK_TABLES = ("event_log", "ratings", "work_results")
SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY (%s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""


def long_sql(s, *statements):
    """Runs statements one by one in one autocommitted session without a statement
    timeout (VACUUM cannot run in the implicit transaction of a multi-statement string)."""
    conn = psycopg2.connect(host="127.0.0.1", port=s.pg_port, dbname="kinerja", user="kinerja")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = 0")
            for st in statements:
                cur.execute(st)
    finally:
        conn.close()


def load_events(s, n, ratings, bulk=True):
    """Writes the events of n employees with `ratings` ratings each into event_log, in
    chunks of 10 000 employees; bulk: as described above BULK_TABLES."""
    step = 10000
    prefix = "SET session_replication_role = replica;\n" if bulk else ""
    indexes = s.sql(SECONDARY_INDEXES, (list(BULK_TABLES),)) if bulk else []
    for name, _ in indexes:
        s.sql("DROP INDEX %s" % name)
    t = time.monotonic()
    for lo in range(0, n, step):
        s.sql(prefix + EVENTS_SQL % {"lo": lo, "hi": min(n, lo + step), "peers": ratings - 2, "period": PERIOD})
    if not bulk:
        return
    print("  setup: events written in %.1f s" % (time.monotonic() - t), flush=True)
    t = time.monotonic()
    # a partitioned table's index prints as "ON ONLY parent": made so, it would be the
    # parent's alone, invalid and never built on the partitions
    long_sql(s, "SET maintenance_work_mem = '1GB'",
             *[definition.replace(" ON ONLY ", " ON ", 1) for _, definition in indexes])
    print("  setup: %d indexes built in %.1f s" % (len(indexes), time.monotonic() - t), flush=True)
    t = time.monotonic()
    long_sql(s, "SELECT count(*) FROM kinerja_rebuild('%s', NULL, NULL)" % PERIOD)
    print("  setup: derived by kinerja_rebuild in %.1f s" % (time.monotonic() - t), flush=True)
    t = time.monotonic()
    long_sql(s, "VACUUM (ANALYZE) event_log, ratings, work_results")
    print("  setup: vacuumed in %.1f s" % (time.monotonic() - t), flush=True)


DERIVED_DIGEST = """
SELECT (SELECT md5(string_agg(r::text, ',' ORDER BY period, employee, rater, relation)) FROM ratings r),
       (SELECT md5(string_agg(w::text, ',' ORDER BY period, employee, indicator)) FROM work_results w),
       (SELECT count(*) FROM feedback), (SELECT count(*) FROM late_events),
       (SELECT string_agg(period, ',' ORDER BY period) FROM score_periods)
"""


def check_setup(s, n, ratings):
    """Loads through the triggers (as ingest), digests the derived tables, empties them and
    derives them again the bulk way from the same log: both digests must be equal."""
    load_events(s, n, ratings, bulk=False)
    through_triggers = s.sql(DERIVED_DIGEST)[0]
    s.sql("TRUNCATE ratings, work_results")
    s.sql("SET statement_timeout = 0; SELECT count(*) FROM kinerja_rebuild(%s, NULL, NULL)", (PERIOD,))
    rebuilt = s.sql(DERIVED_DIGEST)[0]
    print("derived through the triggers: %s" % (through_triggers,))
    print("derived by kinerja_rebuild:   %s" % (rebuilt,))
    return through_triggers == rebuilt


def period_lines(s, proc):
    """The score worker's lines about PERIOD's computations, so far."""
    return [l for l in s.log_text(s.log_name(proc)).splitlines() if "period %s (generation" % PERIOD in l]


def worker_lines(s, proc, at_least=1):
    """The score worker's lines about PERIOD; waits for at_least of them (the worker logs
    a computation just after committing it, so the line may trail the table by a moment)."""
    def lines():
        return period_lines(s, proc)
    s.wait_for(lambda: len(lines()) >= at_least, timeout=60, what="the score worker's log line")
    return lines()


def split_line(s, proc):
    """The worker's last line on where a long computation's time went, or ""."""
    lines = [l for l in s.log_text(s.log_name(proc)).splitlines() if "period %s: score+store" % PERIOD in l]
    return "  split: " + lines[-1].split(": score+store ", 1)[1] if lines else ""


def peak_rss(proc):
    """The process's peak resident set (VmHWM, /proc/PID/status) in MiB, or None."""
    try:
        with open("/proc/%d/status" % proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def slow_statements(s, since):
    """The auto_explain entries of the PostgreSQL log written after offset since: (ms,
    first line of the statement), slowest first."""
    path = s._log_path("postgres")
    with open(path, errors="replace") as f:
        f.seek(since)
        text = f.read()
    out = []
    for m in re.finditer(r"duration: ([0-9.]+) ms\s+plan:\s*\n\s*Query Text: (.*)", text):
        out.append((float(m.group(1)), m.group(2).strip()[:150]))
    return sorted(out, reverse=True)


def start_scorer(s, env, bin_dir):
    """A score worker from the stack's binaries, or from bin_dir's (--ab)."""
    if not bin_dir:
        return s.start_worker(role="score", env=env)
    saved = s.bin_dir
    s.bin_dir = bin_dir
    try:
        return s.start_worker(role="score", env=env)
    finally:
        s.bin_dir = saved


def perf_start(path):
    """A whole-machine CPU profile (perf record -a, no call graphs) until perf_stop."""
    if not path:
        return None
    return subprocess.Popen(["perf", "record", "-a", "-F", "499", "-o", path, "--", "sleep", "3600"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_stop(proc, path, what):
    """Stops the profile and prints where the machine's CPU went: by process name and
    object, then the top symbols."""
    if not proc:
        return
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    for sort, lines in (("comm,dso", 12), ("comm,dso,sym", 25)):
        r = subprocess.run(["perf", "report", "-i", path, "--stdio", "--sort", sort],
                           capture_output=True, text=True)
        rows = [x for x in r.stdout.splitlines() if x.strip() and not x.startswith("#")]
        print("  profile of %s (perf, --sort %s):" % (what, sort))
        for x in rows[:lines]:
            print("    " + x.strip())


def reset_first_computation(s):
    """Back to before the first computation: no results, versions, sign-off requests or
    audit; the period dirty again (the derived inputs stay)."""
    s.sql("SET statement_timeout = 0; TRUNCATE results, score_versions, notifications, result_audit, "
          "score_quarantine, unit_scores; "
          "UPDATE score_periods SET computed_generation = 0")
    s.sql("VACUUM ANALYZE results, score_versions, notifications, result_audit")


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--employees", type=int, default=100000)
    ap.add_argument("--ratings", type=int, default=30)
    ap.add_argument("--bin", default=None, help="binaries (default build/bin)")
    ap.add_argument("--explain", action="store_true",
                    help="auto_explain statements over 300 ms (adds overhead; for profiling)")
    ap.add_argument("--keep", action="store_true", help="leave the stack running (Enter stops it)")
    ap.add_argument("--ab-env", action="append", default=[], metavar="NAME=VALUE",
                    help="with --rounds or --recalc-rounds: the B rounds run the same binaries with this "
                         "setting (KINERJA_...=...; repeatable): an A/B of a setting on the same data")
    ap.add_argument("--recalc-rounds", type=int, default=1,
                    help="full recalculations, one after the other (A and B alternating with --ab or --ab-env)")
    ap.add_argument("--pg-log", default=None, help="copy PostgreSQL's log (with the plans) to this file at the end")
    ap.add_argument("--trigger-setup", action="store_true",
                    help="load the events through event_log's triggers, as ingest does (slow at 1M)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="compute the period's first results this many times (each after a reset of the "
                         "results, versions, notifications and audit), then recalculate once; prints each "
                         "round and the median")
    ap.add_argument("--ab", default=None, metavar="DIR",
                    help="with --rounds: alternate the score worker between --bin and this directory's "
                         "binaries, round by round, on the same data (an A/B of two builds)")
    ap.add_argument("--perf", default=None, metavar="FILE",
                    help="profile the whole machine (perf record -a) during the last round of the first "
                         "computation into FILE and print where the CPU went")
    ap.add_argument("--check-setup", action="store_true",
                    help="only check that the bulk load derives what the triggers derive, then stop")
    a = ap.parse_args()
    ab_env = dict(x.split("=", 1) for x in a.ab_env)

    def variant(round_no):
        """(bin dir or None, env, tag) of a round: the even ones are B under --ab / --ab-env."""
        if (a.ab or ab_env) and round_no % 2 == 0:
            return (os.path.abspath(a.ab) if a.ab else None), dict(env or {}, **ab_env), "B"
        return None, env, "A"
    n = a.employees - a.employees % 100
    bin_dir = a.bin or os.path.join(HERE, "..", "build", "bin")
    s = harness.Stack(shards=4, bin_dir=os.path.abspath(bin_dir), durable=True)
    try:
        s.start_all(workers=1)
        t = time.monotonic()
        if a.check_setup:
            s.sql(SETUP_SQL % {"units": n // 100, "n": n})
            ok = check_setup(s, n, a.ratings)
            print("setup check: %s" % ("equal" if ok else "DIFFERENT"))
            sys.exit(0 if ok else 1)
        s.sql(SETUP_SQL % {"units": n // 100, "n": n})
        # the period's partitions first, as the scheduler makes them ahead (a past period
        # loaded afresh: `kinerja partitions ensure`, what an operator does for a backfill)
        r = s.kinerja("partitions", "ensure", "--period", PERIOD)
        assert r.returncode == 0, r.stderr
        load_events(s, n, a.ratings, bulk=not a.trigger_setup)
        ratings = s.sql_value("SELECT count(*) FROM ratings WHERE period = %s", (PERIOD,))
        print("setup: %d employees, %d ratings, %d work results in the log (%.1f s, not timed)" % (
            n, ratings, s.sql_value("SELECT count(*) FROM work_results"), time.monotonic() - t))

        logpos = os.path.getsize(s._log_path("postgres"))

        t = time.monotonic()
        # the score worker's own session loads auto_explain (libpq's PGOPTIONS)
        env = {"PGOPTIONS": "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=300 "
                            "-c auto_explain.log_analyze=on -c auto_explain.log_nested_statements=on"} \
            if a.explain else None
        perf = perf_start(a.perf) if a.rounds == 1 else None
        scorer = start_scorer(s, env, None)
        s.wait_for(lambda: s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
                   == 0, timeout=1800, interval=0.2, what="first computation")
        first = time.monotonic() - t
        perf_stop(perf, a.perf, "the first computation")
        rounds = [("A", first)]
        versions = s.sql_value("SELECT count(*) FROM score_versions")
        print("first computation: %.1f s for %d results (%d versions written)" % (first, n, versions))
        print("  worker: " + worker_lines(s, scorer)[-1].split(": ", 1)[1])
        print(split_line(s, scorer))
        print("  score worker peak RSS (VmHWM): %.0f MiB" % (peak_rss(scorer) or -1))
        if a.explain:
            for ms, q in slow_statements(s, logpos)[:12]:
                print("    %8.0f ms  %s" % (ms, q))
            logpos = os.path.getsize(s._log_path("postgres"))

        for round_no in range(2, a.rounds + 1):
            s.stop(scorer)
            reset_first_computation(s)
            which, round_env, tag = variant(round_no)
            perf = perf_start(a.perf) if round_no == a.rounds else None
            t = time.monotonic()
            scorer = start_scorer(s, round_env, which)
            s.wait_for(lambda: s.sql_value("SELECT count(*) FROM score_periods WHERE generation > "
                                           "computed_generation") == 0,
                       timeout=1800, interval=0.2, what="first computation, round %d" % round_no)
            took = time.monotonic() - t
            perf_stop(perf, a.perf, "round %d" % round_no)
            rounds.append((tag, took))
            print("first computation, round %d%s: %.1f s" % (
                round_no, " (B: %s)" % (a.ab or " ".join(a.ab_env)) if tag == "B" else "", took))
            print("  worker: " + worker_lines(s, scorer)[-1].split(": ", 1)[1])
            print(split_line(s, scorer))
        if a.rounds > 1:
            for tag in sorted(set(w for w, _ in rounds)):
                times = sorted(x for w, x in rounds if w == tag)
                print("first computation, median of %d%s: %.1f s" % (
                    len(times), "" if tag == "A" else " (B)", times[len(times) // 2]))

        versions = s.sql_value("SELECT count(*) FROM score_versions")
        current = "A" if a.rounds % 2 or not (a.ab or ab_env) else "B"
        for k in range(1, a.recalc_rounds + 1):
            which, round_env, tag = variant(k)
            if tag != current:
                s.stop(scorer)
                scorer = start_scorer(s, round_env, which)
                current = tag
            computations = len(period_lines(s, scorer))
            t = time.monotonic()
            r = s.kinerja("recalc", "--period", PERIOD)
            assert r.returncode == 0, r.stderr
            s.wait_for(lambda: s.sql_value("SELECT count(*) FROM recalc_requests WHERE done_at IS NULL") == 0 and
                       s.sql_value("SELECT count(*) FROM recalc_requests") == k and
                       s.sql_value("SELECT count(*) FROM score_periods WHERE generation > computed_generation")
                       == 0 and len(period_lines(s, scorer)) > computations,
                       timeout=1800, interval=0.2, what="recalculation")
            recalc = time.monotonic() - t
            log = s.log_text(s.log_name(scorer))
            rebuild = re.findall(r"derived tables rebuilt for \d+ periods in (\d+) ms", log)
            print("full recalculation%s: %.1f s (rebuild from the event log %s ms, then the period recomputed; "
                  "%d new versions)" % ("" if a.recalc_rounds == 1 else " %d (%s)" % (k, tag), recalc,
                                        rebuild[-1] if rebuild else "?",
                                        s.sql_value("SELECT count(*) FROM score_versions") - versions))
            print("  worker: " + worker_lines(s, scorer, computations + 1)[-1].split(": ", 1)[1])
            print(split_line(s, scorer))
            print("  score worker peak RSS (VmHWM): %.0f MiB" % (peak_rss(scorer) or -1))
        if a.explain:
            for ms, q in slow_statements(s, logpos)[:12]:
                print("    %8.0f ms  %s" % (ms, q))
        if a.keep:
            print("stack in %s, postgres port %s; Enter stops it" % (s.tmp, s.pg_port))
            sys.stdin.readline()
    finally:
        if a.pg_log:
            shutil.copyfile(s._log_path("postgres"), a.pg_log)
        s.close()


if __name__ == "__main__":
    main()
