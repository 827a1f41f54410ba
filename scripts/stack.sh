#!/usr/bin/env bash
# stack.sh up|down|status: the local Kinerja stack of SPEC 10, under ./var on loopback.
#
#   up      start whatever is not running (idempotent): redis-server (AOF everysec), a
#           PostgreSQL cluster (initdb on first start; run as user postgres when started
#           by root), the role and database, `kinerja migrate`, kinerja-broker and one
#           kinerja-worker per role (default: ingest, score, notify, schedule) and kinerja-web
#           (web.listen, default 127.0.0.1:8080); wait until each answers
#   down    stop in reverse order: SIGTERM, wait, SIGKILL after a timeout
#   status  what runs, with pids and addresses
#
# Layout: var/redis (AOF), var/pg (data), var/run/<name>.pid (redis.pid, postgres.pid,
# kinerja-broker.pid, kinerja-worker-<role>.pid), var/log/<name>.log.
# CURVE (SPEC 8): with security.curve = true, `up` makes what is missing on first start:
# the broker's key pair (security.server_secret_file and security.server_public_file,
# PREFIX.key_secret and PREFIX.key of one prefix), the CLI's key pair
# (security.client_key_file) and security.clients_file admitting the CLI's key as
# client `cli` for every type; existing keys and an existing clients file are kept.
# The readiness probe then talks CURVE with the CLI's key. kinerja-web gets its own key
# pair (web.client_key_file) and a line `web` in the clients file allowing only the
# events it sends (signoff, appeal, appeal_decision, citizen_feedback, feedback) with sources
# web:*; its session key (web.session_key_file, 32 random bytes) is made on first start. With security.curve = false
# `up` warns that anyone who can reach the intake endpoint can send any event.
# Ports and addresses come from the effective config (`kinerja config KEY`: the file,
# then KINERJA_* environment overrides), so the same script runs a second stack with
#   KINERJA_VAR_DIR=/tmp/x KINERJA_REDIS_URL=... KINERJA_POSTGRES_DSN=... \
#   KINERJA_INTAKE_ENDPOINT=... KINERJA_METRICS_LISTEN=off scripts/stack.sh up
# Other knobs: KINERJA_BIN_DIR (default build/bin), KINERJA_STACK_ROLES (worker roles,
# default "ingest score notify schedule"), KINERJA_STACK_INGEST (how many ingest workers,
# default 1: kinerja-worker-ingest, then kinerja-worker-ingest-2 ...; they share the
# consumer group), KINERJA_STACK_BROKERS (how many brokers, default 1: kinerja-broker on
# intake.endpoint, then kinerja-broker-2 ... on the next ports, metrics off; they share
# Redis, so a client may use any of them), KINERJA_STACK_WEB (0: no kinerja-web),
# KINERJA_STOP_TIMEOUT (seconds, default 20).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"   # the default config file is config/kinerja.conf, relative to the root

VAR="${KINERJA_VAR_DIR:-$ROOT/var}"
mkdir -p "$VAR"
VAR="$(cd "$VAR" && pwd)"
BIN="${KINERJA_BIN_DIR:-$ROOT/build/bin}"
ROLES="${KINERJA_STACK_ROLES:-ingest score notify schedule}"
STOP_TIMEOUT="${KINERJA_STOP_TIMEOUT:-20}"
INGEST_WORKERS="${KINERJA_STACK_INGEST:-1}"
BROKERS="${KINERJA_STACK_BROKERS:-1}"
[[ "$BROKERS" =~ ^[1-9][0-9]*$ ]] || { printf 'stack: error: KINERJA_STACK_BROKERS: want a count >= 1\n' >&2; exit 1; }
START_TIMEOUT=30
RUN="$VAR/run"
LOG="$VAR/log"

PGBIN=""
for d in /usr/lib/postgresql/*/bin; do
  if [ -x "$d/postgres" ]; then PGBIN="$d"; fi
done

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

need_bin() {
  [ -x "$BIN/$1" ] || die "$BIN/$1 not found; build first (make build), or set KINERJA_BIN_DIR"
}

# ---- effective settings --------------------------------------------------------------

cfg() { "$BIN/kinerja" config "$1"; }

load_settings() {
  need_bin kinerja
  local url dsn endpoint
  url="$(cfg redis.url)"
  dsn="$(cfg postgres.dsn)"
  endpoint="$(cfg intake.endpoint)"
  METRICS="$(cfg metrics.listen)"

  # redis://[[user]:password@]host[:port][/db]
  local rest="${url#redis://}"
  REDIS_PASSWORD=""
  if [[ "$rest" == *@* ]]; then
    local cred="${rest%%@*}"
    rest="${rest#*@}"
    REDIS_PASSWORD="${cred#*:}"
  fi
  local hostport="${rest%%/*}"
  REDIS_HOST="${hostport%%:*}"
  REDIS_PORT=6379
  if [[ "$hostport" == *:* ]]; then REDIS_PORT="${hostport##*:}"; fi

  # libpq key=value connection string
  PG_HOST=127.0.0.1 PG_PORT=5432 PG_DB=kinerja PG_USER=kinerja
  local kv
  for kv in $dsn; do
    case "$kv" in
      host=*) PG_HOST="${kv#host=}" ;;
      hostaddr=*) PG_HOST="${kv#hostaddr=}" ;;
      port=*) PG_PORT="${kv#port=}" ;;
      dbname=*) PG_DB="${kv#dbname=}" ;;
      user=*) PG_USER="${kv#user=}" ;;
    esac
  done

  # tcp://host:port
  INTAKE_HOST="${endpoint#tcp://}"
  INTAKE_HOST="${INTAKE_HOST%:*}"
  INTAKE_PORT="${endpoint##*:}"
  INTAKE_ENDPOINT="$endpoint"

  CURVE="$(cfg security.curve)"
  SERVER_SECRET="$(cfg security.server_secret_file)"
  SERVER_PUBLIC="$(cfg security.server_public_file)"
  CLIENT_KEY="$(cfg security.client_key_file)"
  CLIENTS_FILE="$(cfg security.clients_file)"
  WEB_LISTEN="$(cfg web.listen)"
  WEB_CLIENT_KEY="$(cfg web.client_key_file)"
  WEB_SESSION_KEY="$(cfg web.session_key_file)"

  [[ "$REDIS_PORT" =~ ^[0-9]+$ ]] || die "redis.url: cannot read a port from it"
  [[ "$PG_PORT" =~ ^[0-9]+$ ]] || die "postgres.dsn: cannot read a port from it"
  [[ "$PG_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "postgres.dsn: dbname must be a plain identifier"
  [[ "$PG_USER" =~ ^[a-z_][a-z0-9_]*$ ]] || die "postgres.dsn: user must be a plain identifier"
}

# ---- process helpers -----------------------------------------------------------------

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

proc_state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

pid_of() { # name -> pid from var/run/<name>.pid, if that process is alive
  local f="$RUN/$1.pid" pid
  [ -s "$f" ] || return 1
  pid="$(head -n1 "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # An exited process its parent has not reaped yet is not running.
  [ "$(proc_state "$pid")" != Z ] || return 1
  # A recycled pid belongs to something else: check the command line.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
  echo "$pid"
}

running() { # name pattern [host port]
  local pid
  pid="$(pid_of "$1" "$2")" || return 1
  if [ $# -ge 4 ]; then port_open "$3" "$4" || return 1; fi
  echo "$pid"
}

wait_until() { # seconds what command...
  local secs="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

port_free_or_die() { # host port what
  if port_open "$1" "$2"; then
    die "$3: $1:$2 is in use by a process this script did not start (not in $RUN); stop it or change the port"
  fi
}

tail_log() { [ -f "$LOG/$1.log" ] && tail -n 20 "$LOG/$1.log" >&2 || true; }

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---- Redis ---------------------------------------------------------------------------

redis_ping() {
  local args=(-h "$REDIS_HOST" -p "$REDIS_PORT")
  if [ -n "$REDIS_PASSWORD" ]; then args+=(--no-auth-warning -a "$REDIS_PASSWORD"); fi
  [ "$(redis-cli "${args[@]}" ping 2>/dev/null)" = "PONG" ]
}

redis_up() {
  if pid="$(running redis redis-server "$REDIS_HOST" "$REDIS_PORT")"; then
    say "redis already running (pid $pid)"
    return
  fi
  rm -f "$RUN/redis.pid"
  port_free_or_die "$REDIS_HOST" "$REDIS_PORT" redis
  mkdir -p "$VAR/redis"
  # The password (if any) goes in a private file, not on the command line.
  local conf="$VAR/redis/redis.conf"
  (
    umask 077
    cat >"$conf" <<EOF
# written by scripts/stack.sh on every start
bind $REDIS_HOST
port $REDIS_PORT
dir $VAR/redis
appendonly yes
appendfsync everysec
save ""
daemonize yes
pidfile $RUN/redis.pid
logfile $LOG/redis.log
EOF
    if [ -n "$REDIS_PASSWORD" ]; then printf 'requirepass "%s"\n' "$REDIS_PASSWORD" >>"$conf"; fi
  )
  redis-server "$conf"
  wait_until "$START_TIMEOUT" redis redis_ping || { tail_log redis; die "redis did not answer PING"; }
  say "redis started (pid $(cat "$RUN/redis.pid"), $REDIS_HOST:$REDIS_PORT, AOF in $VAR/redis)"
}

# ---- PostgreSQL ----------------------------------------------------------------------

pg_data_dir() {
  # PostgreSQL runs as user postgres when we are root, so it must reach var/pg. A
  # checkout under /root (mode 700) cannot give it that: the cluster then lives in
  # /var/lib/kinerja/<hash> and var/pg is a symlink to it.
  local pgdir="$VAR/pg"
  if [ "$(id -u)" -eq 0 ] && [ ! -L "$pgdir" ]; then
    mkdir -p "$pgdir"
    chown postgres:postgres "$pgdir"
    chmod 700 "$pgdir"
    if ! runuser -u postgres -- test -w "$pgdir"; then
      local alt
      alt="/var/lib/kinerja/pg-$(printf '%s' "$VAR" | cksum | cut -d' ' -f1)"
      say "user postgres cannot reach $pgdir; keeping the cluster in $alt (var/pg links to it)" >&2
      rmdir "$pgdir"
      mkdir -p "$alt"
      chown postgres:postgres "$alt"
      chmod 700 "$alt"
      ln -s "$alt" "$pgdir"
    fi
  fi
  mkdir -p "$pgdir"
  readlink -f "$pgdir"
}

pg_ready() { "$PGBIN/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -d postgres; }

psql_admin() { # SQL as the cluster's bootstrap superuser
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tA "$@"
}

postgres_up() {
  [ -n "$PGBIN" ] || die "PostgreSQL server binaries not found (scripts/install-deps.sh)"
  if pid="$(running postgres postgres "$PG_HOST" "$PG_PORT")"; then
    say "postgres already running (pid $pid)"
  else
    rm -f "$RUN/postgres.pid"
    port_free_or_die "$PG_HOST" "$PG_PORT" postgres
    local data
    data="$(pg_data_dir)"
    if [ ! -s "$data/PG_VERSION" ]; then
      say "initdb $data"
      as_postgres "$PGBIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >>"$LOG/postgres-initdb.log" 2>&1 || { tail -n 20 "$LOG/postgres-initdb.log" >&2; die "initdb failed"; }
    fi
    # A server killed hard leaves postmaster.pid behind; postgres itself checks whether
    # that pid still runs, so starting is safe. Sockets go in the data directory.
    # stderr goes to a file opened here, so user postgres need not write var/log.
    local launcher=(env)
    if [ "$(id -u)" -eq 0 ]; then launcher=(runuser -u postgres --); fi
    (cd / && exec nohup "${launcher[@]}" "$PGBIN/postgres" -D "$data" -p "$PG_PORT" -k "$data" \
      -c "listen_addresses=$PG_HOST") >>"$LOG/postgres.log" 2>&1 </dev/null &
    if ! wait_until "$START_TIMEOUT" postgres pg_ready; then
      tail_log postgres
      die "postgres did not accept connections on $PG_HOST:$PG_PORT"
    fi
    # The postmaster's own pid (the launcher may be runuser, which stays as its parent).
    head -n1 "$data/postmaster.pid" >"$RUN/postgres.pid"
    say "postgres started (pid $(cat "$RUN/postgres.pid"), $PG_HOST:$PG_PORT, data in $VAR/pg)"
  fi
  # The role and the database, once.
  if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != 1 ]; then
    psql_admin -c "CREATE ROLE $PG_USER LOGIN CREATEROLE"
    say "created role $PG_USER"
  fi
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
    say "created database $PG_DB"
  fi
}

# ---- Kinerja daemons -----------------------------------------------------------------

# With CURVE: the keys and the allow-list the broker and the CLI need, made once.
# `kinerja keygen --out PREFIX`, its "wrote ..." line kept back (the caller says what it
# made in one line); on failure its message is the error.
keygen_quiet() {
  local out
  out="$("$BIN/kinerja" keygen --out "$1" 2>&1 >/dev/null)" || die "kinerja keygen --out $1 failed: $out"
}

curve_keys() {
  [ "$CURVE" = true ] || return 0
  local server_prefix="${SERVER_SECRET%.key_secret}"
  if [ ! -e "$SERVER_SECRET" ] || [ ! -e "$SERVER_PUBLIC" ]; then
    if [ "$server_prefix" = "$SERVER_SECRET" ] || [ "$SERVER_PUBLIC" != "$server_prefix.key" ]; then
      die "security.server_secret_file $SERVER_SECRET / security.server_public_file $SERVER_PUBLIC: to make the broker's key pair they must be PREFIX.key_secret and PREFIX.key (or create both with kinerja keygen --out PREFIX)"
    fi
    if [ -e "$SERVER_SECRET" ] || [ -e "$SERVER_PUBLIC" ]; then
      die "security.server_secret_file $SERVER_SECRET / security.server_public_file $SERVER_PUBLIC: only one of the pair exists; restore the other or remove both"
    fi
    mkdir -p "$(dirname "$server_prefix")"
    keygen_quiet "$server_prefix"
    say "made the broker's CURVE key pair $server_prefix.key and .key_secret"
  fi
  if [ ! -e "$CLIENT_KEY.key" ] || [ ! -e "$CLIENT_KEY.key_secret" ]; then
    if [ -e "$CLIENT_KEY.key" ] || [ -e "$CLIENT_KEY.key_secret" ]; then
      die "security.client_key_file $CLIENT_KEY: only one of $CLIENT_KEY.key and $CLIENT_KEY.key_secret exists; restore the other or remove both"
    fi
    mkdir -p "$(dirname "$CLIENT_KEY")"
    keygen_quiet "$CLIENT_KEY"
    say "made the CLI's CURVE key pair $CLIENT_KEY.key and .key_secret"
  fi
  if [ ! -e "$CLIENTS_FILE" ]; then
    mkdir -p "$(dirname "$CLIENTS_FILE")"
    (
      umask 077
      printf '# security.clients_file, written by scripts/stack.sh on first start:\n# <z85 public key> <name> <event types or *> [source=<prefixes>] [as=<ids>]\n%s cli *\n' \
        "$(head -n1 "$CLIENT_KEY.key")" >"$CLIENTS_FILE"
    )
    say "wrote $CLIENTS_FILE admitting the CLI's key as client cli"
  fi
}

# kinerja-web's CURVE key and its line in the clients file (the broker re-reads the file
# on SIGHUP), and its session key.
web_keys() {
  if [ -n "$WEB_SESSION_KEY" ] && [ ! -e "$WEB_SESSION_KEY" ]; then
    mkdir -p "$(dirname "$WEB_SESSION_KEY")"
    (umask 077 && head -c 32 /dev/urandom >"$WEB_SESSION_KEY")
    say "made kinerja-web's session key $WEB_SESSION_KEY"
  fi
  [ "$CURVE" = true ] || return 0
  if [ ! -e "$WEB_CLIENT_KEY.key" ] || [ ! -e "$WEB_CLIENT_KEY.key_secret" ]; then
    if [ -e "$WEB_CLIENT_KEY.key" ] || [ -e "$WEB_CLIENT_KEY.key_secret" ]; then
      die "web.client_key_file $WEB_CLIENT_KEY: only one of $WEB_CLIENT_KEY.key and $WEB_CLIENT_KEY.key_secret exists; restore the other or remove both"
    fi
    mkdir -p "$(dirname "$WEB_CLIENT_KEY")"
    keygen_quiet "$WEB_CLIENT_KEY"
    say "made kinerja-web's CURVE key pair $WEB_CLIENT_KEY.key and .key_secret"
  fi
  local pub
  pub="$(head -n1 "$WEB_CLIENT_KEY.key")"
  # a clients file from before the feedback note: the web's line gains the type
  if [ -e "$CLIENTS_FILE" ] && grep -qF -- "$pub web signoff,appeal,appeal_decision,citizen_feedback source=web:" "$CLIENTS_FILE"; then
    sed -i "s|^$pub web signoff,appeal,appeal_decision,citizen_feedback source=web:\$|$pub web signoff,appeal,appeal_decision,citizen_feedback,feedback source=web:|" "$CLIENTS_FILE"
    say "kinerja-web's line in $CLIENTS_FILE now allows feedback notes"
    hup_brokers
  fi
  if [ -e "$CLIENTS_FILE" ] && ! grep -qF -- "$pub" "$CLIENTS_FILE"; then
    printf '%s web signoff,appeal,appeal_decision,citizen_feedback,feedback source=web:\n' "$pub" >>"$CLIENTS_FILE"
    say "admitted kinerja-web's key in $CLIENTS_FILE as client web (its events only, sources web:*)"
    hup_brokers && sleep 0.5
  fi
}

# Every broker this stack runs re-reads the clients file. True when one was signalled.
hup_brokers() {
  local f pid any=1
  for f in "$RUN"/kinerja-broker.pid "$RUN"/kinerja-broker-*.pid; do
    [ -e "$f" ] || continue
    if pid="$(pid_of "$(basename "$f" .pid)" kinerja-broker)"; then
      kill -HUP "$pid" 2>/dev/null || true
      any=0
    fi
  done
  return $any
}

broker_answers() { # [endpoint, default intake.endpoint]
  local INTAKE_ENDPOINT="${1:-$INTAKE_ENDPOINT}"
  # Any reply to a frame that is not msgpack proves the broker serves requests.
  if [ "$CURVE" = true ]; then
    # a CURVE broker answers only a listed key: the CLI's
    /usr/bin/python3 - "$INTAKE_ENDPOINT" "$SERVER_PUBLIC" "$CLIENT_KEY" <<'EOF'
import sys, zmq
def key(path):
    with open(path) as f:
        return f.readline().strip().encode()
s = zmq.Context.instance().socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.curve_serverkey = key(sys.argv[2])
s.curve_publickey = key(sys.argv[3] + ".key")
s.curve_secretkey = key(sys.argv[3] + ".key_secret")
s.connect(sys.argv[1])
s.send(b"\xc1")
sys.exit(0 if s.poll(1000, zmq.POLLIN) else 1)
EOF
  elif /usr/bin/python3 -c 'import zmq' 2>/dev/null; then
    /usr/bin/python3 - "$INTAKE_ENDPOINT" <<'EOF'
import sys, zmq
s = zmq.Context.instance().socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
s.send(b"\xc1")
sys.exit(0 if s.poll(1000, zmq.POLLIN) else 1)
EOF
  else
    port_open "$INTAKE_HOST" "${INTAKE_ENDPOINT##*:}"
  fi
}

healthz_ok() { # host:port -> HTTP 200 on /healthz
  (
    host="${1%:*}" port="${1##*:}" line=""
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'GET /healthz HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
    read -r -t 2 line <&3 || true
    [[ "$line" == HTTP/1.?" 200"* ]]
  )
}

metrics_addr() { # component default-port -> host:port, or "" when off
  case "$METRICS" in
    off | "") echo "" ;;
    auto) echo "127.0.0.1:$2" ;;
    *) echo "$METRICS" ;;
  esac
}

wait_daemon() { # name pattern check...: until check succeeds; fails fast if the process exits
  # (pattern: the command line pid_of matches once the daemon runs; not needed here)
  local name="$1"
  shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  # The pid daemon_start wrote is our own child: alive is enough (its command line is
  # still the forking shell's until nohup has exec'd the daemon, which takes a while on a
  # loaded machine, so pid_of's command-line check would call a starting daemon gone).
  local pid
  pid="$(head -n1 "$RUN/$name.pid" 2>/dev/null)"
  until "$@" >/dev/null 2>&1; do
    if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! alive "$pid"; then
      tail_log "$name"
      rm -f "$RUN/$name.pid"
      die "$name exited at start (log: $LOG/$name.log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail_log "$name"
      die "$name did not answer within ${START_TIMEOUT}s (log: $LOG/$name.log)"
    fi
    sleep 0.2
  done
}

daemon_start() { # name argv...
  local name="$1"
  shift
  nohup "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

broker_up() {
  need_bin kinerja-broker
  if pid="$(running kinerja-broker kinerja-broker)"; then
    say "kinerja-broker already running (pid $pid)"
    return
  fi
  rm -f "$RUN/kinerja-broker.pid"
  port_free_or_die "$INTAKE_HOST" "$INTAKE_PORT" kinerja-broker
  curve_keys
  daemon_start kinerja-broker "$BIN/kinerja-broker"
  wait_daemon kinerja-broker kinerja-broker broker_answers
  if [ "$CURVE" = true ]; then
    say "kinerja-broker started (pid $(cat "$RUN/kinerja-broker.pid"), $INTAKE_ENDPOINT, CURVE: clients in $CLIENTS_FILE)"
  else
    say "kinerja-broker started (pid $(cat "$RUN/kinerja-broker.pid"), $INTAKE_ENDPOINT)"
    say "warning: security.curve = false: anyone who can reach $INTAKE_ENDPOINT can send any event (set security.curve = true; up then makes the keys)"
  fi
}

# The endpoint of broker i (1 = intake.endpoint, then the next ports).
broker_endpoint() { echo "tcp://$INTAKE_HOST:$((INTAKE_PORT + $1 - 1))"; }

extra_broker_up() { # instance 2, 3 ...: on the next port, metrics off
  local i="$1" name="kinerja-broker-$1" endpoint
  endpoint="$(broker_endpoint "$i")"
  if pid="$(running "$name" kinerja-broker)"; then
    say "$name already running (pid $pid)"
    return
  fi
  rm -f "$RUN/$name.pid"
  port_free_or_die "$INTAKE_HOST" "$((INTAKE_PORT + i - 1))" "$name"
  daemon_start "$name" env KINERJA_INTAKE_ENDPOINT="$endpoint" KINERJA_METRICS_LISTEN=off "$BIN/kinerja-broker"
  wait_daemon "$name" kinerja-broker broker_answers "$endpoint"
  say "$name started (pid $(cat "$RUN/$name.pid"), $endpoint)"
}

worker_alive() { pid_of "kinerja-worker-$1" kinerja-worker; }

worker_up() { # role [instance: 2, 3 ... for more workers of the role]
  local role="$1" name="kinerja-worker-$1${2:+-$2}" port
  need_bin kinerja-worker
  if pid="$(running "$name" kinerja-worker)"; then
    say "$name already running (pid $pid)"
    return
  fi
  rm -f "$RUN/$name.pid"
  local addr=""
  if [ -n "${2:-}" ]; then
    # a further worker of the role: the role's metrics port is the first one's
    daemon_start "$name" env KINERJA_METRICS_LISTEN=off "$BIN/kinerja-worker" --role "$role"
  else
    daemon_start "$name" "$BIN/kinerja-worker" --role "$role"
    case "$role" in ingest) port=9571 ;; score) port=9572 ;; notify) port=9573 ;; schedule) port=9574 ;; *) port=9571 ;; esac
    addr="$(metrics_addr worker "$port")"
  fi
  # A worker has no request port; alive for a moment, then /healthz when metrics are on.
  sleep 0.5
  wait_daemon "$name" kinerja-worker true
  if [ -n "$addr" ] && ! wait_until 15 healthz healthz_ok "$addr"; then
    wait_daemon "$name" kinerja-worker true
    say "warning: $name runs, but http://$addr/healthz has not said 200 (see $LOG/$name.log)"
  fi
  say "$name started (pid $(cat "$RUN/$name.pid"))"
}

web_answers() { # the page / answers (a redirect or a page: any HTTP status line)
  (
    host="${WEB_LISTEN%:*}" port="${WEB_LISTEN##*:}" line=""
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'GET /healthz-probe HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
    read -r -t 2 line <&3 || true
    [[ "$line" == HTTP/1.?" "* ]]
  )
}

web_up() {
  [ "${KINERJA_STACK_WEB:-1}" != 0 ] || return 0
  need_bin kinerja-web
  if pid="$(running kinerja-web kinerja-web)"; then
    say "kinerja-web already running (pid $pid)"
    return
  fi
  rm -f "$RUN/kinerja-web.pid"
  port_free_or_die "${WEB_LISTEN%:*}" "${WEB_LISTEN##*:}" kinerja-web
  web_keys
  daemon_start kinerja-web "$BIN/kinerja-web"
  wait_daemon kinerja-web kinerja-web web_answers
  say "kinerja-web started (pid $(cat "$RUN/kinerja-web.pid"), http://$WEB_LISTEN)"
}

# ---- commands --------------------------------------------------------------------------

cmd_up() {
  mkdir -p "$RUN" "$LOG"
  load_settings
  redis_up
  postgres_up
  "$BIN/kinerja" migrate >>"$LOG/migrate.log" 2>&1 || { tail -n 20 "$LOG/migrate.log" >&2; die "kinerja migrate failed"; }
  say "migrations applied"
  broker_up
  local role
  local i
  for ((i = 2; i <= BROKERS; i++)); do extra_broker_up "$i"; done
  for role in $ROLES; do
    worker_up "$role"
    if [ "$role" = ingest ]; then
      for ((i = 2; i <= INGEST_WORKERS; i++)); do worker_up ingest "$i"; done
    fi
  done
  web_up
  cmd_status
}

alive() { kill -0 "$1" 2>/dev/null && [ "$(proc_state "$1")" != Z ]; }

stop_one() { # name pattern signal
  local name="$1" pid
  if ! pid="$(pid_of "$name" "$2")"; then
    rm -f "$RUN/$name.pid"
    return
  fi
  kill "-$3" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if alive "$pid"; then
    say "$name (pid $pid) still runs after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$RUN/$name.pid"
  say "stopped $name (pid $pid)"
}

cmd_down() {
  mkdir -p "$RUN"
  local f name
  # The web, workers of every role that has a pidfile, then the broker, PostgreSQL, Redis.
  stop_one kinerja-web kinerja-web TERM
  for f in "$RUN"/kinerja-worker-*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    stop_one "$name" kinerja-worker TERM
  done
  for f in "$RUN"/kinerja-broker-*.pid; do
    [ -e "$f" ] || continue
    stop_one "$(basename "$f" .pid)" kinerja-broker TERM
  done
  stop_one kinerja-broker kinerja-broker TERM
  stop_one postgres postgres INT   # fast shutdown: roll back clients, checkpoint, exit
  stop_one redis redis-server TERM
}

cmd_status() {
  local f name pid
  printf '%-24s %-8s %s\n' PROCESS PID STATE
  for name in redis postgres kinerja-broker kinerja-web; do
    local pattern="$name"
    if [ "$name" = redis ]; then pattern=redis-server; fi
    if pid="$(pid_of "$name" "$pattern")"; then
      printf '%-24s %-8s running\n' "$name" "$pid"
    else
      printf '%-24s %-8s stopped\n' "$name" -
    fi
  done
  for f in "$RUN"/kinerja-broker-*.pid "$RUN"/kinerja-worker-*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    local pattern=kinerja-worker
    if [[ "$name" == kinerja-broker-* ]]; then pattern=kinerja-broker; fi
    if pid="$(pid_of "$name" "$pattern")"; then
      printf '%-24s %-8s running\n' "$name" "$pid"
    else
      printf '%-24s %-8s stopped\n' "$name" -
    fi
  done
  if [ -n "${REDIS_PORT:-}" ]; then
    printf 'redis %s:%s  postgres %s:%s/%s  intake %s  web http://%s  logs %s\n' \
      "$REDIS_HOST" "$REDIS_PORT" "$PG_HOST" "$PG_PORT" "$PG_DB" "$INTAKE_ENDPOINT" "$WEB_LISTEN" "$LOG"
  fi
  return 0
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status)
    if [ -x "$BIN/kinerja" ]; then load_settings; fi
    cmd_status
    ;;
  keys)
    # only the CURVE keys and the clients file `up` would make (e.g. for docker-compose.yml)
    load_settings
    [ "$CURVE" = true ] || die "security.curve is false: no keys to make"
    curve_keys
    web_keys
    ;;
  *)
    echo "usage: scripts/stack.sh up|down|status|keys" >&2
    exit 2
    ;;
esac
