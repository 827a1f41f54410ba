#!/usr/bin/env bash
# demo.sh: a simulated day against the running local stack (`make demo` runs
# `scripts/stack.sh up` first). It
#   1. imports a sample organisation (6 service units of 8 people, their kepala dinas and
#      Sekda: ~60 employees) with `kinerja org import`,
#   2. makes a day of traffic with scripts/gen_traffic.py: kiosk smiley presses, SKM
#      surveys, 360 evaluations, SKP work results, plus a few invalid events, events about
#      unknown employees and repeated ids, to show what happens to them,
#   3. sends it with `kinerja send`, waits until `kinerja status --json` shows it stored,
#   4. prints what reached PostgreSQL,
#   5. waits for the score worker, prints unit IKM, every result's predikat and score,
#      one result's breakdown, the awards and the sign-off queue,
#   6. sends a supervisor's feedback note, and last year's twelve months of inputs for one
#      employee, and prints the annual proposal with the monthly results beside it, then
#      `kinerja status`.
# Deterministic: running it again sends the same events and they come back `duplicate`
# (DEMO_SEED=n for another day's traffic, DEMO_DAY=YYYY-MM-DD for another date).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${KINERJA_BIN_DIR:-$ROOT/build/bin}"
VAR="${KINERJA_VAR_DIR:-$ROOT/var}"
WORK="$VAR/demo"
SEED="${DEMO_SEED:-1}"
DAY="${DEMO_DAY:-$(TZ=Asia/Makassar date +%F)}"
PERIOD="${DAY:0:7}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
KINERJA="$BIN/kinerja"

section() { printf '\n== %s ==\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

[ -x "$KINERJA" ] || die "$KINERJA not found: run \`make\` (or \`make demo\`) first"
"$KINERJA" status >/dev/null 2>&1 || die "the local stack is not answering: run \`make up\` first (kinerja status says: $("$KINERJA" status 2>&1 | tail -n1))"

DSN="$("$KINERJA" config postgres.dsn)"
psql_q() { psql "$DSN" -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"; }
status_field() { "$KINERJA" status --json 2>/dev/null | "$PY" -c "import json,sys; print(json.load(sys.stdin).get('$1') or 0)"; }

mkdir -p "$WORK"

section "1. Organisation"
"$PY" scripts/gen_traffic.py org --units 6 --per-unit 8 --seed "$SEED" --evaluators "$WORK/evaluators.csv" \
  >"$WORK/org.csv"
echo "$(($(wc -l <"$WORK/org.csv") - 1)) employees in $WORK/org.csv, and the regional head, who is not ASN, as the"
echo "Sekda's evaluator ($WORK/evaluators.csv):"
"$KINERJA" org import --evaluators "$WORK/evaluators.csv"
"$KINERJA" org import "$WORK/org.csv"
echo "The organisation predikat of each unit for $PERIOD (SE MenPANRB 3/2023; kinerja unit-predikat):"
i=0
for u in $(psql_q -At -c "SELECT code FROM units ORDER BY code"); do
  case $((i % 3)) in 0) p=istimewa ;; 1) p=baik ;; *) p=butuh_perbaikan ;; esac
  "$KINERJA" unit-predikat "$u" --period "$PERIOD" --predikat "$p" | sed 's/^/  /'
  i=$((i + 1))
done

section "2. A simulated day ($DAY, 08:00-16:00 WITA)"
"$PY" scripts/gen_traffic.py events --org "$WORK/org.csv" --count 3000 --invalid 6 --unknown 4 --repeat 10 \
  --seed "$SEED" --day "$DAY" >"$WORK/events.jsonl" 2>/dev/null
"$PY" - "$WORK/events.jsonl" <<'EOF'
import collections, json, sys
kinds = collections.Counter()
for line in open(sys.argv[1]):
    ev = json.loads(line)
    kind = ev.get("type")
    if kind == "citizen_feedback":
        kind = "kiosk press (rating)" if "rating" in ev else "SKM survey (u1..u9)" if "skm" in ev else kind
    elif kind == "evaluation":
        kind = "360 evaluation (%s)" % ev.get("relation")
    elif kind == "work_result":
        kind = "SKP work result"
    kinds[kind] += 1
for kind, n in sorted(kinds.items()):
    print("  %-34s %5d" % (kind, n))
EOF

section "3. kinerja send"
before="$(status_field stored)"
before_rej="$(status_field rejected)"
set +e
"$KINERJA" send "$WORK/events.jsonl" 2>"$WORK/send.err" | tee "$WORK/send.out"
send_rc=${PIPESTATUS[0]}
set -e
echo "(the broker's rejections, with the field at fault, are in $WORK/send.err; the first three:)"
head -n 3 "$WORK/send.err" | sed 's/^/  /'
[ "$send_rc" -eq 0 ] || die "kinerja send exited with $send_rc"
accepted="$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' "$WORK/send.out" | tail -n1)"

printf 'waiting for the ingest worker '
deadline=$((SECONDS + 120))
while :; do
  now=$(($(status_field stored) + $(status_field rejected)))
  pending="$(status_field pending)"
  if [ "$now" -ge $((before + before_rej + ${accepted:-0})) ] && [ "$pending" -eq 0 ]; then break; fi
  [ "$SECONDS" -lt "$deadline" ] || die "events not stored after 120 s; see var/log/kinerja-worker-ingest.log"
  printf '.'
  sleep 0.5
done
printf ' done: %d new events stored, %d new refused by the worker\n' \
  $(($(status_field stored) - before)) $(($(status_field rejected) - before_rej))

section "4. What reached PostgreSQL (period $PERIOD)"
echo "Events by type:"
psql_q -c "SELECT type, count(*) AS events FROM event_log GROUP BY type ORDER BY type"
echo "360 evaluations and SKP results per unit:"
psql_q -v period="$PERIOD" <<'EOF'
SELECT unit,
       count(*) FILTER (WHERE type = 'evaluation') AS evaluations,
       count(DISTINCT employee) FILTER (WHERE type = 'evaluation') AS employees_rated,
       round(avg((SELECT avg(value::int) FROM jsonb_each_text(payload->'behaviour')))
             FILTER (WHERE type = 'evaluation' AND relation <> 'self'), 2) AS mean_berakhlak,
       count(*) FILTER (WHERE type = 'work_result') AS skp_results
FROM event_log WHERE type IN ('evaluation', 'work_result') AND period = :'period'
GROUP BY unit ORDER BY unit;
EOF
echo "Refused by the worker (organisation checks):"
psql_q -c "SELECT left(regexp_replace(reason, '[0-9]{18}', '<NIP>', 'g'), 70) AS reason, count(*) FROM rejected_events GROUP BY 1 ORDER BY 2 DESC LIMIT 5"

section "5. Scores, predikat and the sign-off queue (period $PERIOD)"
printf 'waiting for the score worker '
deadline=$((SECONDS + 120))
until [ "$(psql_q -At -c "SELECT count(*) FROM score_periods WHERE generation > computed_generation")" = 0 ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "scores not computed after 120 s; see var/log/kinerja-worker-score.log"
  printf '.'
  sleep 0.5
done
echo " done"
echo "Unit IKM (SKM, PermenPANRB 14/2017), kiosk satisfaction and the predikat of each unit's staff:"
"$KINERJA" report unit --period "$PERIOD" --format table
echo
echo "The distribution curve: each unit's predikat distribution against its organisation predikat's pattern"
echo "(kinerja report curve; it informs the pejabat penilai, it never changes a result):"
"$KINERJA" report curve --period "$PERIOD" --format table
echo
skm_unit="$(psql_q -At -v period="$PERIOD" <<<"SELECT unit FROM feedback WHERE period = :'period' AND skm IS NOT NULL GROUP BY unit ORDER BY count(*) DESC, unit LIMIT 1")"
if [ -n "$skm_unit" ]; then
  echo "SKM report of $skm_unit in PermenPANRB 14/2017's layout (kinerja report skm --period $PERIOD --unit $skm_unit):"
  "$KINERJA" report skm --period "$PERIOD" --unit "$skm_unit" --format table
  echo
fi
echo "Results (predikat from hasil kerja x perilaku kerja, PermenPANRB 6/2022):"
psql_q -v period="$PERIOD" <<'EOF2'
SELECT r.employee AS nip, left(e.name, 24) AS name, e.unit, r.state, r.version,
       coalesce(r.predikat, '(collecting)') AS predikat, r.score,
       CASE WHEN r.calibration THEN 'flagged' ELSE '' END AS calibration
FROM results r JOIN employees e ON e.nip = r.employee
WHERE r.period = :'period'
ORDER BY e.unit, r.score DESC NULLS LAST, r.employee;
EOF2
top="$(psql_q -At -v period="$PERIOD" <<<"SELECT employee FROM results WHERE period = :'period' AND score IS NOT NULL ORDER BY score DESC, employee LIMIT 1")"
if [ -n "$top" ]; then
  echo "One result in full, with its breakdown (kinerja score $top --period $PERIOD):"
  "$KINERJA" score "$top" --period "$PERIOD" | sed 's/^/  /'
fi
echo
echo "Awards rank signed results only; nothing is signed yet on this simulated day, so the provisional"
echo "ranking of unsigned results (kinerja report awards --provisional):"
"$KINERJA" report awards --period "$PERIOD" --provisional --format table || true
echo
echo "Sign-off queue (results waiting for their pejabat penilai, oldest first):"
psql_q -v period="$PERIOD" <<'EOF2'
SELECT e.supervisor_nip AS supervisor, left(s.name, 22) AS supervisor_name, r.employee, left(e.name, 22) AS name,
       r.version, r.predikat, r.score, to_char(r.pending_since, 'HH24:MI:SS') AS since
FROM results r JOIN employees e ON e.nip = r.employee LEFT JOIN employees s ON s.nip = e.supervisor_nip
WHERE r.period = :'period' AND r.state = 'pending_signoff'
ORDER BY r.pending_since, e.supervisor_nip, r.employee
LIMIT 12;
SELECT count(*) AS waiting_for_signoff, count(DISTINCT e.supervisor_nip) AS supervisors
FROM results r JOIN employees e ON e.nip = r.employee
WHERE r.period = :'period' AND r.state = 'pending_signoff';
EOF2
sup="$(psql_q -At -v period="$PERIOD" <<<"SELECT e.supervisor_nip FROM results r JOIN employees e ON e.nip = r.employee WHERE r.period = :'period' AND r.state = 'pending_signoff' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")"
if [ -n "$sup" ]; then
  echo
  echo "The sign-off queue of supervisor $sup (kinerja queue --supervisor $sup):"
  "$KINERJA" queue --supervisor "$sup" | sed 's/^/  /'
  echo
  echo "The inbox of supervisor $sup (kinerja inbox $sup):"
  "$KINERJA" inbox "$sup" --limit 10 | sed 's/^/  /'
fi
echo
echo "Sign-off requests sent (a new score version only on a material change, SPEC 5.7):"
psql_q -v period="$PERIOD" <<'EOF2'
SELECT count(*) AS signoff_requests, count(DISTINCT employee) AS results_asked,
       count(*) - count(DISTINCT employee) AS extra_requests
FROM notifications WHERE kind = 'signoff_requested' AND period = :'period';
EOF2

section "6. Umpan balik and the annual result"
# A feedback note from the pejabat penilai (event `feedback`; it changes no score).
if [ -n "$top" ]; then
  top_sup="$(psql_q -At -v nip="$top" <<<"SELECT supervisor_nip FROM employees WHERE nip = :'nip'")"
  note="Koordinasi lintas seksi bulan ini sangat membantu; pertahankan."
  noted="$(psql_q -At -v nip="$top" -v period="$PERIOD" -v note="$note" <<<"SELECT count(*) FROM event_log WHERE type = 'feedback' AND employee = :'nip' AND period = :'period' AND payload ->> 'text' = :'note'")"
  if [ -n "$top_sup" ] && [ "$noted" = 0 ]; then
    echo "A feedback note from $top_sup to $top (kinerja feedback; kept in the result's history):"
    "$KINERJA" feedback "$top" --period "$PERIOD" --supervisor "$top_sup" --value kolaboratif \
      --text "$note" | sed 's/^/  /' || true
  elif [ -n "$top_sup" ]; then
    echo "The feedback note from $top_sup to $top is already in the result's history (kinerja score $top --period $PERIOD)."
  fi
fi
# The annual result (SPEC 5.9) of last year for one employee: twelve months of inputs (the
# supervisor's evaluation and an SKP work result each month, sent now for last year's
# periods), so the months are computed and closed, and the period close opens the year,
# whose proposed predikat is offered for sign-off with the twelve monthly ones beside it.
YEAR=$((10#${DAY:0:4} - 1))
annual="$(psql_q -At <<<"SELECT e.nip FROM employees e JOIN employees s ON s.nip = e.supervisor_nip ORDER BY e.unit, e.nip LIMIT 1")"
if [ -n "$annual" ]; then
  annual_sup="$(psql_q -At -v nip="$annual" <<<"SELECT supervisor_nip FROM employees WHERE nip = :'nip'")"
  "$PY" - "$annual" "$annual_sup" "$YEAR" "$SEED" >"$WORK/annual.jsonl" <<'EOF2'
import json, sys, time, uuid
nip, sup, year, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
keys = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
ns = uuid.UUID("6f1d2a4e-5b7c-4d1e-9a3f-2c8b7e6d5f40")
ts = int(time.time() * 1000)
for m in range(1, 13):
    period = "%d-%02d" % (year, m)
    ident = lambda kind: str(uuid.uuid5(ns, "demo-annual-%s-%s-%s-%s" % (seed, nip, period, kind)))
    value = 5 if m % 4 == 0 else 4
    print(json.dumps({"v": 1, "id": ident("evaluation"), "type": "evaluation", "source": "app:e-kinerja",
                      "ts": ts, "employee": nip, "period": period, "rater": sup, "relation": "supervisor",
                      "behaviour": {k: value for k in keys}, "hasil_kerja": "above" if m % 4 == 0 else "meets"}))
    print(json.dumps({"v": 1, "id": ident("work_result"), "type": "work_result", "source": "app:e-kinerja",
                      "ts": ts, "employee": nip, "period": period, "indicator": "SKP-LAYANAN",
                      "target": 100, "realization": 92 + (m * 7) % 17}))
EOF2
  echo
  echo "Last year's inputs of $annual, month by month ($(wc -l <"$WORK/annual.jsonl") events):"
  "$KINERJA" send "$WORK/annual.jsonl" 2>/dev/null | tail -n1 | sed 's/^/  /'
  printf 'waiting for the months and the year %s to be computed and closed ' "$YEAR"
  deadline=$((SECONDS + 90))
  until [ "$(psql_q -At -v nip="$annual" -v y="$YEAR" <<<"SELECT count(*) FROM results WHERE employee = :'nip' AND period = :'y' AND state <> 'collecting'")" = 1 ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      printf ' not yet (the year closes %s days after 31 December; see var/log/kinerja-worker-schedule.log)\n' \
        "$("$KINERJA" config schedule.period_close_grace_days)"
      break
    fi
    printf '.'
    sleep 1
  done
  if [ "$SECONDS" -lt "$deadline" ]; then
    echo " done"
    echo
    echo "The annual proposal for $YEAR (kinerja score $annual --period $YEAR):"
    "$KINERJA" score "$annual" --period "$YEAR" | sed 's/^/  /'
  fi
fi

section "kinerja status"
"$KINERJA" status

section "Web (kinerja-web, SPEC 12)"
# Demo accounts: the busiest supervisor, one of their staff and an operator, each with a
# fresh random password (an existing account gets a new one: kinerja user passwd).
demo_account() { # id role password
  printf '%s\n' "$3" | "$KINERJA" user add "$1" --role "$2" --password-stdin >/dev/null 2>&1 ||
    printf '%s\n' "$3" | "$KINERJA" user passwd "$1" --password-stdin >/dev/null
}
demo_password() { head -c 12 /dev/urandom | base64 | tr -d '/+=' | cut -c1-12; }
WEB="$("$KINERJA" config web.public_url)"
WEB="${WEB%/}"
emp=""
if [ -n "$sup" ]; then
  emp="$(psql_q -At -v period="$PERIOD" -v sup="$sup" <<<"SELECT r.employee FROM results r JOIN employees e ON e.nip = r.employee WHERE r.period = :'period' AND e.supervisor_nip = :'sup' ORDER BY r.employee LIMIT 1")"
fi
unit="$(psql_q -At <<<"SELECT code FROM units ORDER BY code LIMIT 1")"
echo "Public site (no login):      $WEB/"
[ -n "$unit" ] && echo "SKM survey of unit $unit:  $WEB/survey/$unit   (QR code for the counter: $WEB/qr/$unit.png)"
echo "JSON API:                    $WEB/api/v1/   (docs/API.md)"
if [ -n "$sup" ]; then
  pw="$(demo_password)"
  demo_account "$sup" supervisor "$pw" && echo "Supervisor login:            $WEB/login   NIP $sup   password $pw"
fi
if [ -n "$emp" ]; then
  pw="$(demo_password)"
  demo_account "$emp" employee "$pw" && echo "Employee login:              $WEB/login   NIP $emp   password $pw"
fi
pw="$(demo_password)"
demo_account operator operator "$pw" && echo "Operator login:              $WEB/login   id operator   password $pw"
echo "(demo passwords are new on every run; change one with: build/bin/kinerja user passwd ID)"
