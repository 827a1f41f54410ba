#!/usr/bin/env bash
# demo.sh: a simulated day against the running local stack (`make demo` runs
# `scripts/stack.sh up` first). It
#   1. imports a sample organisation (6 service units of 8 people, their kepala dinas and
#      Sekda: ~60 employees) with `kinerja org import`,
#   2. makes a day of traffic with scripts/gen_traffic.py: kiosk smiley presses, SKM
#      surveys, 360 evaluations, SKP work results, plus a few invalid events, events about
#      unknown employees and repeated ids, to show what happens to them,
#   3. sends it with `kinerja send`, waits until `kinerja status --json` shows it stored,
#   4. prints what reached PostgreSQL, then `kinerja status`.
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
"$PY" scripts/gen_traffic.py org --units 6 --per-unit 8 --seed "$SEED" >"$WORK/org.csv"
echo "$(($(wc -l <"$WORK/org.csv") - 1)) employees in $WORK/org.csv"
"$KINERJA" org import "$WORK/org.csv"

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
echo "Citizen feedback per unit (kiosk: four-button smiley 1..4; IKM from SKM per PermenPANRB 14/2017):"
# Preview in SQL until `kinerja report unit` (the scoring milestone) replaces it.
psql_q -v period="$PERIOD" <<'EOF'
WITH fb AS (
    SELECT unit, payload FROM event_log
    WHERE type = 'citizen_feedback' AND period = :'period'
), skm AS (
    SELECT unit, count(*) AS n,
           (avg((payload->'skm'->>'u1')::int) + avg((payload->'skm'->>'u2')::int) +
            avg((payload->'skm'->>'u3')::int) + avg((payload->'skm'->>'u4')::int) +
            avg((payload->'skm'->>'u5')::int) + avg((payload->'skm'->>'u6')::int) +
            avg((payload->'skm'->>'u7')::int) + avg((payload->'skm'->>'u8')::int) +
            avg((payload->'skm'->>'u9')::int)) / 9 * 25 AS ikm
    FROM fb WHERE payload ? 'skm' GROUP BY unit
), kiosk AS (
    SELECT unit, count(*) AS n, avg((payload->>'rating')::int) AS mean
    FROM fb WHERE payload ? 'rating' GROUP BY unit
)
SELECT u.code AS unit,
       coalesce(kiosk.n, 0) AS kiosk_presses,
       round(kiosk.mean, 2) AS mean_rating,
       coalesce(skm.n, 0) AS skm_responses,
       round(skm.ikm, 2) AS ikm,
       CASE WHEN skm.ikm >= 88.31 THEN 'A' WHEN skm.ikm >= 76.61 THEN 'B'
            WHEN skm.ikm >= 65.00 THEN 'C' WHEN skm.ikm IS NOT NULL THEN 'D' END AS mutu
FROM units u
LEFT JOIN kiosk ON kiosk.unit = u.code
LEFT JOIN skm ON skm.unit = u.code
WHERE kiosk.n IS NOT NULL OR skm.n IS NOT NULL
ORDER BY u.code;
EOF
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

section "5. Scores, predikat and the sign-off queue"
# The scoring and workflow milestones fill this in: `kinerja report unit --period P`,
# `kinerja score NIP --period P`, and the sign-off queue (`kinerja inbox` of a
# supervisor). Until those commands exist, say so rather than print something made up.
if "$KINERJA" --help 2>&1 | grep -q '^  report'; then
  "$KINERJA" report unit --period "$PERIOD" --format table || true
else
  echo "(not yet: scoring, predikat and sign-off arrive with the next milestones)"
fi

section "kinerja status"
"$KINERJA" status
