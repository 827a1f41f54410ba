"""
harness: starts a real Kinerja stack for integration tests, on loopback, in a temporary
directory: redis-server (AOF on), a throwaway PostgreSQL 15 cluster, kinerja-broker and
any number of kinerja-worker processes, all sharing one generated config file
(KINERJA_CONFIG). Used by every tests/integration/test_*.py.

    from harness import Stack, StackTestCase, free_port
    s = Stack(shards=4)
    s.start_all(workers=1)            # redis, postgres, migrate, broker, one ingest worker
    s.kinerja("send", "-", input=jsonl)
    s.wait_for(lambda: s.sql("SELECT count(*) FROM event_log")[0][0] == 10, what="rows")
    s.close()

Rules it keeps:
  - every wait has a timeout; no call can hang forever;
  - children die with the test process (PR_SET_PDEATHSIG), and close() / atexit kill
    whatever is left;
  - each process's stderr goes to <tmp>/logs/<name>.log; dump_logs() prints their tails
    (StackTestCase and `with Stack() as s:` do it when a test fails);
  - PostgreSQL refuses to run as root, so when the tests run as root every PostgreSQL
    program runs as the `postgres` user and its directories belong to it.

Environment: KINERJA_BIN_DIR (the binaries; default <source>/build-asan/bin, else
<source>/build/bin), KINERJA_SOURCE_DIR (default: two levels above this file),
KEEP_TMP=1 keeps the temporary directory of a failed stack. KINERJA_TEST_REDIS=cluster
runs a stack's Redis as a real 3-master, 3-replica Redis Cluster (cluster.py) with
redis.cluster = true: start_redis / stop_redis start and stop every node, redis_cmd
sends each command to its key's master (CTest runs the intake, ingest and scheduler suites so
too, as integration/<name>_cluster). Python: Debian's
/usr/bin/python3 (zmq, msgpack, psycopg2).
"""

import atexit
import ctypes
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import msgpack
import psycopg2
import zmq

SOURCE_DIR = os.path.abspath(
    os.environ.get("KINERJA_SOURCE_DIR")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCRIPTS_DIR = os.path.join(SOURCE_DIR, "scripts")

# Ports of the developer's local stack (SPEC 10): tests never take them.
RESERVED_PORTS = {6390, 5490, 5570, 5571, 9570, 9571, 9572, 9573, 9574}

START_TIMEOUT = 30.0   # seconds for a server to answer after start
STOP_TIMEOUT = 20.0    # seconds for a process to exit after SIGTERM
CLI_TIMEOUT = 180.0    # seconds for one `kinerja` command
LOG_TAIL_LINES = 40
SQL_TIMEOUT_MS = 120000  # longest statement Stack.sql() lets run
REDIS_MODE = os.environ.get("KINERJA_TEST_REDIS", "single")
if REDIS_MODE not in ("single", "cluster"):
    raise RuntimeError("KINERJA_TEST_REDIS=%s: want single or cluster" % REDIS_MODE)
# the key of a command, by its name: the argument index (commands without one go to
# every master: CONFIG, FLUSHALL, ...)
_KEY_ARG = {"XINFO": 2, "XGROUP": 2, "OBJECT": 2, "MEMORY": 2}
_NO_KEY = {"CONFIG", "FLUSHALL", "FLUSHDB", "PING", "INFO", "DBSIZE", "FUNCTION", "SCRIPT"}


def _default_bin_dir():
    env = os.environ.get("KINERJA_BIN_DIR")
    if env:
        return os.path.abspath(env)
    for sub in ("build-asan", "build"):
        d = os.path.join(SOURCE_DIR, sub, "bin")
        if os.path.exists(os.path.join(d, "kinerja")):
            return d
    return os.path.join(SOURCE_DIR, "build-asan", "bin")


BIN_DIR = _default_bin_dir()


def _pg_bin_dir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "postgres")):
            return d
    path = shutil.which("pg_config")
    if path:
        return subprocess.run([path, "--bindir"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql-15)")


IS_ROOT = os.geteuid() == 0

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Runs in the child after the uid change (which would clear it): the child gets
    # SIGKILL when the test process dies, even by SIGKILL from a ctest timeout.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (bind port 0, read it,
    close). Never one of the local stack's ports."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def port_open(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class RedisError(Exception):
    """An error reply from Redis (-ERR ...)."""


class _Resp:
    """A tiny RESP2 client: enough for tests (no python3-redis on the machine)."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.rfile = self.sock.makefile("rb")

    def close(self):
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass

    @staticmethod
    def _encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, (int, float)):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _read(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("redis: connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("redis: connection closed")
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise ConnectionError("redis: unexpected reply %r" % line[:80])

    def command(self, *args):
        self.sock.sendall(self._encode(args))
        reply = self._read()
        if isinstance(reply, RedisError):
            raise reply
        return reply


def _tail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode(errors="replace")
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(data.splitlines()[-lines:])


_live_stacks = set()


@atexit.register
def _close_live_stacks():
    for s in list(_live_stacks):
        try:
            s.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class WebResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class WebClient:
    """A browser-less client of kinerja-web: a cookie jar, no redirects followed (the
    tests look at them), JSON and form helpers."""

    def __init__(self, base):
        import http.cookiejar
        import urllib.request
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.csrf = None

    def request(self, method, path, body=None, headers=None, timeout=30):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return WebResponse(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return WebResponse(e.code, e.headers, e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post_json(self, path, obj, csrf=True, **kw):
        headers = {"Content-Type": "application/json"}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.request("POST", path, body=json.dumps(obj).encode(), headers=headers, **kw)

    def post_form(self, path, fields, **kw):
        import urllib.parse
        return self.request("POST", path, body=urllib.parse.urlencode(fields).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}, **kw)

    def login(self, uid, password):
        """Signs in through the API; keeps the CSRF token. Returns the response."""
        r = self.post_json("/api/v1/login", {"id": uid, "password": password}, csrf=False)
        if r.status == 200:
            self.csrf = r.json()["csrf"]
        return r


class Stack:
    """A Kinerja stack in a temporary directory. See the module comment.

    shards: redis.shards for every process. env: extra environment for every process
    this stack starts (e.g. {"KINERJA_WORKER_BATCH": "50"}); per-process env given to
    start_broker/start_worker/kinerja is applied on top.
    """

    def __init__(self, shards=4, env=None, bin_dir=None, durable=False, redis_cluster=None):
        self.bin_dir = bin_dir or BIN_DIR
        self.redis_cluster = REDIS_MODE == "cluster" if redis_cluster is None else redis_cluster
        self.cluster = None  # cluster.Cluster once start_redis made it
        self.durable = durable  # PostgreSQL with fsync on, as in production (benchmarks)
        self.source_dir = SOURCE_DIR
        self.shards = shards
        self.tmp = tempfile.mkdtemp(prefix="kinerja-test-")
        # PostgreSQL (user postgres) must be able to reach its directories inside.
        os.chmod(self.tmp, 0o755)
        self.log_dir = os.path.join(self.tmp, "logs")
        os.makedirs(self.log_dir)
        self.redis_dir = os.path.join(self.tmp, "redis")
        os.makedirs(self.redis_dir)
        self.pg_dir = os.path.join(self.tmp, "pg")
        self.pg_sock_dir = os.path.join(self.tmp, "pgsock")

        used = set()

        def port():
            while True:
                p = free_port()
                if p not in used:
                    used.add(p)
                    return p

        self.redis_port = port()
        self.pg_port = port()
        self.intake_port = port()
        self.notify_port = port()
        self.web_port = port()
        self.web_url = "http://127.0.0.1:%d" % self.web_port
        self.redis_url = "redis://127.0.0.1:%d/0" % self.redis_port
        self.pg_dsn = "host=127.0.0.1 port=%d dbname=kinerja user=kinerja" % self.pg_port
        self.intake_endpoint = "tcp://127.0.0.1:%d" % self.intake_port
        self.notify_endpoint = "tcp://127.0.0.1:%d" % self.notify_port

        self.config_path = os.path.join(self.tmp, "kinerja.conf")
        self.write_config()

        self.env = dict(os.environ)
        # A developer's shell may carry KINERJA_* overrides for the local stack.
        for k in list(self.env):
            if k.startswith("KINERJA_") and k not in ("KINERJA_BIN_DIR", "KINERJA_SOURCE_DIR"):
                del self.env[k]
        self.env["KINERJA_CONFIG"] = self.config_path
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.env.update(env or {})

        self.redis = None
        self.postgres = None
        self.procs = []          # every daemon Popen this stack started, in order
        self._names = {}         # Popen -> log name
        self._log_files = []
        self._zctx = zmq.Context.instance()
        self._dealer = None
        self.failed = False
        self.closed = False
        _live_stacks.add(self)

    # ---- config and processes -------------------------------------------------------

    def write_config(self, extra=None):
        """(Re)writes the config file. extra: {"section.key": value} added or replaced."""
        settings = {
            "redis.url": self.redis_url,
            "redis.shards": self.shards,
            "redis.timeout_ms": 2000,
            "postgres.dsn": self.pg_dsn,
            "intake.endpoint": self.intake_endpoint,
            "notify.endpoint": self.notify_endpoint,
            "metrics.listen": "off",
            "worker.claim_idle_ms": 2000,
            "worker.block_ms": 200,
            "log.level": "info",
            # plain sockets, explicitly (whatever the shipped default): a test that wants
            # CURVE turns it on for its processes (KINERJA_SECURITY_CURVE=true)
            "security.curve": False,
            "web.listen": "127.0.0.1:%d" % self.web_port,
            "web.public_url": self.web_url,
            "web.session_key_file": os.path.join(self.tmp, "web-session.key"),
        }
        settings.update(getattr(self, "_extra_config", {}))
        if extra:
            self._extra_config = dict(getattr(self, "_extra_config", {}), **extra)
            settings.update(extra)
        sections = {}
        for name, value in settings.items():
            section, key = name.split(".", 1)
            sections.setdefault(section, []).append((key, value))
        with open(self.config_path, "w") as f:
            f.write("# written by tests/integration/harness.py\n")
            for section, pairs in sections.items():
                f.write("\n[%s]\n" % section)
                for key, value in pairs:
                    if isinstance(value, bool):
                        value = "true" if value else "false"
                    f.write("%s = %s\n" % (key, value))

    def _log_path(self, name):
        return os.path.join(self.log_dir, name + ".log")

    def _unique_name(self, base):
        name, n = base, 1
        while os.path.exists(self._log_path(name)):
            n += 1
            name = "%s-%d" % (base, n)
        return name

    def _spawn(self, name, argv, env=None, as_postgres=False, cwd=None):
        """Starts a child with stderr (and stdout) appended to logs/<name>.log."""
        log = open(self._log_path(name), "ab")
        self._log_files.append(log)
        full_env = dict(self.env)
        full_env.update(env or {})
        kwargs = {}
        if as_postgres and IS_ROOT:
            kwargs.update(user="postgres", group="postgres", extra_groups=[])
            full_env["HOME"] = pwd.getpwnam("postgres").pw_dir
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=full_env, cwd=cwd or self.tmp,
                                preexec_fn=_die_with_parent, **kwargs)
        self._names[proc] = name
        return proc

    def _bin(self, name):
        path = os.path.join(self.bin_dir, name)
        if not os.path.exists(path):
            raise RuntimeError("%s not found (build first: make asan, or set KINERJA_BIN_DIR)" % path)
        return path

    def _check_alive(self, proc, what):
        if proc.poll() is not None:
            name = self._names.get(proc, what)
            raise RuntimeError("%s exited with status %s while starting; %s.log:\n%s" % (
                what, proc.returncode, name, _tail(self._log_path(name))))

    def _wait_proc(self, proc, timeout):
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self, proc, sig=signal.SIGKILL, timeout=STOP_TIMEOUT):
        """Sends sig and waits for the process to exit (SIGKILL after timeout)."""
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
            if self._wait_proc(proc, timeout) is None:
                proc.kill()
                proc.wait(timeout=10)
        return proc.returncode

    def stop(self, proc, timeout=STOP_TIMEOUT, expect_code=0):
        """SIGTERM, wait; asserts the process exited with expect_code (SPEC 2: SIGTERM
        drains and exits 0). A process that does not exit in time is killed and the
        assertion fails."""
        name = self._names.get(proc, "process")
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            if self._wait_proc(proc, timeout) is None:
                proc.kill()
                proc.wait(timeout=10)
                raise AssertionError("%s did not exit within %ss of SIGTERM; log:\n%s" % (
                    name, timeout, _tail(self._log_path(name))))
        if expect_code is not None and proc.returncode != expect_code:
            raise AssertionError("%s exited with %s after SIGTERM, expected %s; log:\n%s" % (
                name, proc.returncode, expect_code, _tail(self._log_path(name))))
        return proc.returncode

    # ---- Redis ----------------------------------------------------------------------

    def start_redis(self):
        """Starts redis-server on the stack's port and data dir (AOF everysec, no RDB),
        so stop_redis() + start_redis() keeps the data. Waits for PING. A cluster stack:
        makes the cluster the first time (and points the config at it), later starts
        every stopped node again and waits until the cluster is settled."""
        if self.redis_cluster:
            return self._start_cluster()
        if self.redis is not None and self.redis.poll() is None:
            return self.redis
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
                "--dir", self.redis_dir, "--appendonly", "yes", "--appendfsync", "everysec",
                "--save", "", "--daemonize", "no", "--protected-mode", "yes",
                "--logfile", ""]
        self.redis = self._spawn("redis", argv)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive(self.redis, "redis-server")
            try:
                if self.redis_cmd("PING") == "PONG":
                    return self.redis
            except (OSError, ConnectionError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer PING within %ss" % START_TIMEOUT)
            time.sleep(0.05)

    def stop_redis(self, sig=signal.SIGTERM):
        """Stops Redis (SIGTERM: clean, AOF flushed; SIGKILL: a crash); a cluster: every
        node."""
        if self.cluster is not None:
            for port in self.cluster.live_ports():
                self.cluster.kill(port, sig)
            self._cluster_down = True
            return
        if self.redis is not None:
            self.kill(self.redis, sig)

    def _start_cluster(self):
        from cluster import Cluster
        if self.cluster is None:
            self.cluster = Cluster(tmp=os.path.join(self.tmp, "cluster"))
            self.redis_url = self.cluster.seeds_url()
            self.write_config(extra={"redis.url": self.redis_url, "redis.cluster": True})
        elif getattr(self, "_cluster_down", False):
            for port in self.cluster.ports:
                if port not in self.cluster.live_ports():
                    self.cluster.restart(port)
            self.cluster.wait_settled()
        self._cluster_down = False
        return None

    def _cluster_cmd(self, args, timeout):
        if not self.cluster.live_ports():
            raise ConnectionRefusedError("redis cluster: every node is stopped")
        name = str(args[0]).upper()
        if name in _NO_KEY:
            replies = [self.cluster.command(p, *args, timeout=timeout) for p in self.cluster.masters()]
            return replies[0]
        if name in ("XREAD", "XREADGROUP"):
            words = [a.upper() if isinstance(a, str) else a for a in args]
            key = args[words.index("STREAMS") + 1]  # every stream of one command shares a slot
        else:
            key = args[_KEY_ARG.get(name, 1)]
        if isinstance(key, bytes):
            key = key.decode()
        port = self.cluster.owner_of(self.cluster.key_slot(key))
        return self.cluster.command(port, *args, timeout=timeout)

    def redis_cmd(self, *args, timeout=10.0):
        """One Redis command; returns the reply (bulk strings as bytes, status replies
        as str, integers as int, arrays as lists, nil as None); raises RedisError on an
        error reply, OSError when Redis is down. A cluster: sent to the master of the
        command's key (commands without a key: to every master, the first reply)."""
        if self.cluster is not None:
            return self._cluster_cmd(args, timeout)
        conn = _Resp(self.redis_port, timeout=timeout)
        try:
            return conn.command(*args)
        finally:
            conn.close()

    # ---- PostgreSQL -----------------------------------------------------------------

    def _pg_run(self, argv, timeout=120):
        kwargs = {}
        if IS_ROOT:
            kwargs.update(user="postgres", group="postgres", extra_groups=[])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.tmp,
                           env=dict(self.env, LC_ALL="C.UTF-8"), **kwargs)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s" % (argv[0], r.returncode, r.stdout, r.stderr))
        return r

    def _pg_connect(self, dbname="kinerja", timeout=5):
        # No statement of a test may wait forever (on a lock a killed worker left...).
        return psycopg2.connect(host="127.0.0.1", port=self.pg_port, dbname=dbname,
                                user="kinerja", connect_timeout=timeout,
                                options="-c statement_timeout=%d" % SQL_TIMEOUT_MS)

    def start_postgres(self):
        """initdb on first start (trust auth, superuser kinerja), then starts the server
        on the stack's port (fsync off: tests only) and creates database kinerja."""
        if self.postgres is not None and self.postgres.poll() is None:
            return self.postgres
        pg_bin = _pg_bin_dir()
        if not os.path.exists(os.path.join(self.pg_dir, "PG_VERSION")):
            for d in (self.pg_dir, self.pg_sock_dir):
                os.makedirs(d, exist_ok=True)
                os.chmod(d, 0o700)
                if IS_ROOT:
                    pw = pwd.getpwnam("postgres")
                    os.chown(d, pw.pw_uid, pw.pw_gid)
            self._pg_run([os.path.join(pg_bin, "initdb"), "-D", self.pg_dir, "-A", "trust",
                          "-U", "kinerja", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        argv = [os.path.join(pg_bin, "postgres"), "-D", self.pg_dir, "-p", str(self.pg_port),
                "-k", self.pg_sock_dir, "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=60"]
        if not self.durable:
            argv += ["-c", "fsync=off", "-c", "full_page_writes=off"]
        self.postgres = self._spawn("postgres", argv, as_postgres=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive(self.postgres, "postgres")
            try:
                conn = self._pg_connect("postgres", timeout=2)
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError("postgres did not accept connections within %ss:\n%s" % (
                        START_TIMEOUT, _tail(self._log_path(self._names[self.postgres]))))
                time.sleep(0.1)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = 'kinerja'")
                if cur.fetchone() is None:
                    cur.execute("CREATE DATABASE kinerja")
        finally:
            conn.close()
        return self.postgres

    def stop_postgres(self, sig=signal.SIGTERM):
        """SIGTERM: smart shutdown; SIGINT: fast; SIGQUIT: immediate; SIGKILL: a crash
        (the server's backends then exit on their own)."""
        if self.postgres is not None:
            self.kill(self.postgres, sig, timeout=30)

    def sql(self, query, params=None, dbname="kinerja"):
        """Runs one statement in its own autocommitted connection; returns the rows
        (list of tuples; [] for statements without a result)."""
        conn = self._pg_connect(dbname)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description is not None else []
        finally:
            conn.close()

    def sql_value(self, query, params=None):
        """The first column of the first row, or None."""
        rows = self.sql(query, params)
        return rows[0][0] if rows else None

    def migrate(self):
        r = self.kinerja("migrate")
        if r.returncode != 0:
            raise RuntimeError("kinerja migrate failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
        return r

    # ---- Kinerja processes ----------------------------------------------------------

    def start_broker(self, env=None, wait=True):
        """Starts kinerja-broker; waits until its endpoint answers a request (a malformed
        frame, which must get a rejected ack). env may set KINERJA_INTAKE_ENDPOINT to run
        a second broker."""
        env = dict(env or {})
        endpoint = env.get("KINERJA_INTAKE_ENDPOINT", self.intake_endpoint)
        proc = self._spawn(self._unique_name("broker"), [self._bin("kinerja-broker")], env=env)
        self.procs.append(proc)
        if wait:
            self.wait_broker(proc, endpoint)
        return proc

    def wait_broker(self, proc=None, endpoint=None, timeout=START_TIMEOUT):
        endpoint = endpoint or self.intake_endpoint
        deadline = time.monotonic() + timeout
        while True:
            if proc is not None:
                self._check_alive(proc, "kinerja-broker")
            sock = self._zctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            try:
                sock.connect(endpoint)
                sock.send(b"\xc1")  # never valid msgpack: any reply proves it serves
                if sock.poll(300, zmq.POLLIN):
                    sock.recv()
                    return
            finally:
                sock.close(linger=0)
            if time.monotonic() > deadline:
                raise RuntimeError("kinerja-broker did not answer on %s within %ss" % (endpoint, timeout))

    def start_worker(self, role="ingest", env=None, args=()):
        """Starts `kinerja-worker --role ROLE`; several may run at once."""
        proc = self._spawn(self._unique_name("worker-" + role),
                           [self._bin("kinerja-worker"), "--role", role] + list(args), env=env)
        self.procs.append(proc)
        time.sleep(0.05)
        self._check_alive(proc, "kinerja-worker --role " + role)
        return proc

    def start_web(self, env=None, wait=True):
        """Starts kinerja-web on self.web_url (a session key is made the first time);
        waits until it answers HTTP."""
        key = os.path.join(self.tmp, "web-session.key")
        if not os.path.exists(key):
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            os.chmod(key, 0o600)
        proc = self._spawn(self._unique_name("web"), [self._bin("kinerja-web")], env=env)
        self.procs.append(proc)
        if wait:
            deadline = time.monotonic() + START_TIMEOUT
            while not port_open(self.web_port):
                self._check_alive(proc, "kinerja-web")
                if time.monotonic() > deadline:
                    raise RuntimeError("kinerja-web did not listen on %s within %ss" % (self.web_url, START_TIMEOUT))
                time.sleep(0.05)
        return proc

    def add_user(self, uid, role, password):
        """`kinerja user add UID --role ROLE --password-stdin`."""
        r = self.kinerja("user", "add", uid, "--role", role, "--password-stdin", input=password + "\n")
        if r.returncode != 0:
            raise RuntimeError("kinerja user add %s: %s" % (uid, r.stderr))
        return r

    def web(self, cookies=None):
        """An HTTP client for kinerja-web with its own cookie jar (see WebClient)."""
        return WebClient(self.web_url)

    def start_all(self, workers=1, broker=True):
        """Redis, PostgreSQL, migrations, the broker and `workers` ingest workers."""
        self.start_redis()
        self.start_postgres()
        self.migrate()
        if broker:
            self.start_broker()
        for _ in range(workers):
            self.start_worker("ingest")
        return self

    def kinerja(self, *args, input=None, timeout=CLI_TIMEOUT, env=None):
        """Runs the `kinerja` CLI with the stack's config; returns CompletedProcess
        (text stdout/stderr, returncode). Never raises on a non-zero exit."""
        full_env = dict(self.env)
        full_env.update(env or {})
        try:
            return subprocess.run([self._bin("kinerja")] + [str(a) for a in args], input=input,
                                  capture_output=True, text=True, timeout=timeout, env=full_env,
                                  cwd=self.tmp)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("kinerja %s did not finish within %ss; stderr:\n%s" % (
                " ".join(map(str, args)), timeout,
                (e.stderr or b"")[-4000:].decode(errors="replace") if isinstance(e.stderr, bytes)
                else (e.stderr or "")[-4000:]))

    def kinerja_start(self, *args, env=None):
        """Starts the `kinerja` CLI in the background (stdout and stderr piped, text);
        finish it with proc.communicate(timeout=...). Killed by close() if still running."""
        full_env = dict(self.env)
        full_env.update(env or {})
        proc = subprocess.Popen([self._bin("kinerja")] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
                                cwd=self.tmp, preexec_fn=_die_with_parent)
        self.procs.append(proc)
        return proc

    def write_file(self, name, text):
        """Writes text to <tmp>/name and returns the path (for `kinerja send FILE`)."""
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def org_import(self, csv_text, name="org.csv"):
        path = self.write_file(name, csv_text)
        r = self.kinerja("org", "import", path)
        if r.returncode != 0:
            raise RuntimeError("kinerja org import failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
        return r

    def status(self):
        """`kinerja status --json` parsed."""
        import json
        r = self.kinerja("status", "--json", timeout=30)
        if r.returncode != 0:
            raise RuntimeError("kinerja status --json failed (%d): %s" % (r.returncode, r.stderr))
        return json.loads(r.stdout)

    # ---- ZeroMQ ---------------------------------------------------------------------

    def dealer(self, endpoint=None):
        """A zmq DEALER connected to the broker (linger 0). The caller closes it."""
        sock = self._zctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint or self.intake_endpoint)
        return sock

    def send_frames(self, endpoint, frames, timeout=15.0):
        """Sends every frame (a list of events) on a new DEALER to endpoint, then reads
        their replies; returns all acks in order. AssertionError when a reply does not
        come within timeout seconds."""
        d = self.dealer(endpoint)
        acks = []
        try:
            for f in frames:
                d.send(msgpack.packb(f))
            for _ in frames:
                if not d.poll(int(timeout * 1000), zmq.POLLIN):
                    raise AssertionError("no reply from %s within %ss" % (endpoint, timeout))
                acks += msgpack.unpackb(d.recv(), raw=False)
        finally:
            d.close()
        return acks

    def request(self, obj, timeout=10.0):
        """Sends one frame (an event map, a list of them, or raw bytes) on the stack's
        DEALER and returns the decoded reply. Raises TimeoutError when no reply comes
        (the DEALER is then replaced so a late reply cannot be mistaken for the next)."""
        if self._dealer is None:
            self._dealer = self.dealer()
        frame = obj if isinstance(obj, (bytes, bytearray)) else msgpack.packb(obj, use_bin_type=True)
        self._dealer.send(frame)
        if not self._dealer.poll(int(timeout * 1000), zmq.POLLIN):
            self._dealer.close(linger=0)
            self._dealer = None
            raise TimeoutError("no reply from the broker within %ss" % timeout)
        return msgpack.unpackb(self._dealer.recv(), raw=False)

    # ---- waiting, logs, teardown ----------------------------------------------------

    @staticmethod
    def wait_for(fn, timeout=20.0, what="condition", interval=0.1):
        """Polls fn() until it returns something truthy and returns that. Exceptions in
        fn count as "not yet". Raises AssertionError naming `what` (and the last value
        or exception) on timeout."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = fn()
                if value:
                    return value
                last = value
            except Exception as e:  # noqa: BLE001 - reported on timeout
                last = e
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))
            time.sleep(interval)

    def log_name(self, proc):
        """The log name of a process this stack started ("broker", "worker-ingest-2")."""
        return self._names.get(proc)

    def log_text(self, name):
        """The whole log of one process: its name as in logs/ ("broker", "worker-ingest")
        or its Popen."""
        if not isinstance(name, str):
            name = self._names.get(name, "")
        try:
            with open(self._log_path(name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def dump_logs(self, out=None, lines=LOG_TAIL_LINES):
        out = out or sys.stderr
        for path in sorted(glob.glob(os.path.join(self.log_dir, "*.log"))):
            out.write("\n----- %s (last %d lines) -----\n%s\n" % (os.path.basename(path), lines, _tail(path, lines)))
        out.flush()

    def close(self, failed=None):
        """Kills every process and removes the temporary directory (kept when the stack
        failed and KEEP_TMP=1)."""
        if self.closed:
            return
        self.closed = True
        _live_stacks.discard(self)
        if failed:
            self.failed = True
        if self._dealer is not None:
            self._dealer.close(linger=0)
            self._dealer = None
        for proc in reversed(self.procs):
            self.kill(proc, signal.SIGKILL, timeout=10)
        if self.redis is not None:
            self.kill(self.redis, signal.SIGKILL, timeout=10)
        if self.cluster is not None:
            self.cluster.stop(failed=self.failed)
        if self.postgres is not None:
            self.kill(self.postgres, signal.SIGQUIT, timeout=15)
        for f in self._log_files:
            f.close()
        if self.failed and os.environ.get("KEEP_TMP") == "1":
            sys.stderr.write("harness: kept %s\n" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.close(failed=exc_type is not None)
        return False


def _test_failed(test):
    """True when the running test of `test` has failed or errored so far; usable in
    tearDown and in cleanups (the result records a failure as soon as it happens)."""
    outcome = getattr(test, "_outcome", None)
    result = getattr(outcome, "result", None)
    if result is None:
        return False
    failed = list(getattr(result, "failures", [])) + list(getattr(result, "errors", []))
    if any(t is test for t, _ in failed):
        return True
    errors = getattr(outcome, "errors", [])  # Python <= 3.10 collects them here first
    return any(exc is not None for _, exc in errors)


class StackTestCase(unittest.TestCase):
    """A TestCase whose tests share one Stack started in setUpClass.

    Override `setup_stack(stack)` (default: start_all(workers=1)) and `stack_options`
    (keyword arguments for Stack). A failing test prints the tail of every log; the
    stack is closed after the class (KEEP_TMP=1 keeps its directory on failure).
    """

    stack_options = {}
    stack = None

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._stack_failed = False
        cls.stack = Stack(**cls.stack_options)
        try:
            cls.setup_stack(cls.stack)
        except BaseException:
            cls.stack.dump_logs()
            cls.stack.close(failed=True)
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.stack is not None:
            cls.stack.close(failed=cls._stack_failed)
        super().tearDownClass()

    def tearDown(self):
        if _test_failed(self):
            type(self)._stack_failed = True
            sys.stderr.write("\n===== logs after the failure of %s =====\n" % self.id())
            self.stack.dump_logs()
        super().tearDown()
