"""
cluster: a real Redis Cluster on loopback for integration tests (issue 17): masters and
replicas of Debian's redis-server (cluster mode, AOF on, no RDB) in a temporary
directory, made one cluster by `redis-cli --cluster create`, with the operations a test
of a cluster client needs: kill a master and wait for its replica to take over, move a
slot (all at once, or leave it half moved so ASK is answered).

    from cluster import Cluster
    c = Cluster()                        # 3 masters + 3 replicas, started, linked, state ok
    c.seeds_url()                        # redis://127.0.0.1:p1,127.0.0.1:p2,...
    c.command(c.masters()[0], "SET", "k", "v")
    c.migrate_slot(slot, c.masters()[1])
    port = c.kill_master(0); c.wait_failover()
    c.stop()

Rules it keeps, as harness.py does: every wait has a timeout; the servers die with the
test process (PR_SET_PDEATHSIG), and stop() / atexit kill whatever is left; each node
logs to <tmp>/logs/node-<port>.log (dump_logs() prints their tails); KEEP_TMP=1 keeps
the directory of a cluster stopped with failed=True. A machine without redis-server
raises (a test that cannot run fails; it is never skipped).

Ports: node ports are picked in 20000..29999, where the cluster bus port (port + 10000)
stays below the ephemeral range; both must be free.
"""

import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import RESERVED_PORTS, RedisError, Stack, _die_with_parent, _Resp, _tail

NODE_TIMEOUT_MS = 2000    # cluster-node-timeout: a dead master is failed over within seconds
START_TIMEOUT = 30.0      # a node answering PING
CREATE_TIMEOUT = 90.0     # redis-cli --cluster create
SETTLE_TIMEOUT = 60.0     # every node agreeing and ok
FAILOVER_TIMEOUT = 60.0
COMMAND_TIMEOUT = 10.0
BUS_PORT_OFFSET = 10000
PORT_LOW, PORT_HIGH = 20000, 29999
MIGRATE_BATCH = 100       # keys per MIGRATE
MIGRATE_TIMEOUT_MS = 10000
SLOTS = 16384

_live = set()


@atexit.register
def _stop_live():
    for c in list(_live):
        try:
            c.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Cluster:
    """See the module comment. masters (at least 3), replicas (per master), password (requirepass and
    masterauth of every node; the URL and command() use it), node_timeout_ms. tmp: a
    directory to work in (made and removed here when None). start=False: call start()."""

    def __init__(self, tmp=None, masters=3, replicas=1, password=None, node_timeout_ms=NODE_TIMEOUT_MS,
                 start=True):
        if masters < 3:
            raise ValueError("redis-cli --cluster create needs at least 3 masters, got %d" % masters)
        for prog in ("redis-server", "redis-cli"):
            if shutil.which(prog) is None:
                raise RuntimeError("%s not found (apt-get install redis-server): the cluster tests need it" % prog)
        self.own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="kinerja-cluster-")
        self.log_dir = os.path.join(self.tmp, "logs")
        os.makedirs(self.log_dir, exist_ok=True)
        self.n_masters = masters
        self.n_replicas = replicas
        self.password = password
        self.node_timeout_ms = node_timeout_ms
        self.used_ports = set()
        self.ports = [self.free_port() for _ in range(masters * (1 + replicas))]
        self.procs = {}          # port -> Popen of a node (and of standalone servers)
        self._logs = []
        self.killed = []         # ports SIGKILLed by kill_master / kill
        self._migrating = {}     # slot -> (source port, target port) of an unfinished move
        self.failed = False
        self.stopped = False
        _live.add(self)
        if start:
            try:
                self.start()
            except BaseException:
                self.dump_logs()
                self.stop(failed=True)
                raise

    # ---- ports and processes --------------------------------------------------------

    def free_port(self):
        """A port p in PORT_LOW..PORT_HIGH with p and p + 10000 free, not yet handed out."""
        for _ in range(1000):
            p = random.randint(PORT_LOW, PORT_HIGH)
            if p in self.used_ports or p in RESERVED_PORTS or p + BUS_PORT_OFFSET in RESERVED_PORTS:
                continue
            if _bindable(p) and _bindable(p + BUS_PORT_OFFSET):
                self.used_ports.add(p)
                return p
        raise RuntimeError("no free port pair in %d..%d" % (PORT_LOW, PORT_HIGH))

    def _log_path(self, port):
        return os.path.join(self.log_dir, "node-%d.log" % port)

    def _spawn(self, port, cluster=True):
        d = os.path.join(self.tmp, "node-%d" % port)
        os.makedirs(d, exist_ok=True)
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                "--daemonize", "no", "--logfile", "", "--protected-mode", "yes"]
        if cluster:
            argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", str(self.node_timeout_ms)]
        if self.password:
            argv += ["--requirepass", self.password, "--masterauth", self.password]
        log = open(self._log_path(port), "ab")
        self._logs.append(log)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=d,
                                preexec_fn=_die_with_parent)
        self.procs[port] = proc
        return proc

    def _wait_ping(self, port, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            proc = self.procs[port]
            if proc.poll() is not None:
                raise RuntimeError("redis-server on %d exited with %s while starting:\n%s" % (
                    port, proc.returncode, _tail(self._log_path(port))))
            try:
                if self.command(port, "PING") == "PONG":
                    return
            except (OSError, ConnectionError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server on %d did not answer PING within %ss" % (port, timeout))
            time.sleep(0.05)

    def start(self):
        """Starts every node, creates the cluster and waits until it is settled."""
        for p in self.ports:
            self._spawn(p)
        for p in self.ports:
            self._wait_ping(p)
        argv = ["redis-cli", "--cluster", "create"] + ["127.0.0.1:%d" % p for p in self.ports] + [
            "--cluster-replicas", str(self.n_replicas), "--cluster-yes"]
        env = dict(os.environ)
        if self.password:
            env["REDISCLI_AUTH"] = self.password  # not on the command line
        r = subprocess.run(argv, capture_output=True, text=True, timeout=CREATE_TIMEOUT, env=env)
        with open(os.path.join(self.log_dir, "create.log"), "w") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0 or "[OK] All 16384 slots covered" not in r.stdout:
            raise RuntimeError("redis-cli --cluster create failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
        self.wait_settled(expect_nodes=len(self.ports))

    def live_ports(self):
        return [p for p in self.ports if p in self.procs and self.procs[p].poll() is None]

    def kill(self, port, sig=signal.SIGKILL):
        proc = self.procs.get(port)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if sig == signal.SIGKILL and port not in self.killed:
            self.killed.append(port)

    def restart(self, port):
        """Starts a killed node again on its port and data (it rejoins; a master failed
        over comes back as a replica of its successor)."""
        self._spawn(port)
        self._wait_ping(port)
        if port in self.killed:
            self.killed.remove(port)

    def start_standalone(self):
        """A plain redis-server (no cluster mode) on a port of its own, stopped with the
        cluster; returns its port."""
        port = self.free_port()
        self._spawn(port, cluster=False)
        self._wait_ping(port)
        return port

    def start_empty_node(self):
        """A node in cluster mode that belongs to no cluster (it serves no slot), stopped
        with the cluster; returns its port."""
        port = self.free_port()
        self._spawn(port, cluster=True)
        self._wait_ping(port)
        return port

    def stop(self, failed=None):
        """Kills every server; removes the directory (kept when failed and KEEP_TMP=1)."""
        if self.stopped:
            return
        self.stopped = True
        _live.discard(self)
        if failed:
            self.failed = True
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for f in self._logs:
            f.close()
        if self.failed and os.environ.get("KEEP_TMP") == "1":
            sys.stderr.write("cluster: kept %s\n" % self.tmp)
        elif self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def dump_logs(self, out=None, lines=30):
        out = out or sys.stderr
        for name in sorted(os.listdir(self.log_dir)):
            path = os.path.join(self.log_dir, name)
            out.write("\n----- %s (last %d lines) -----\n%s\n" % (name, lines, _tail(path, lines)))
        out.flush()

    # ---- talking to nodes -----------------------------------------------------------

    def seeds_url(self, ports=None):
        """redis://[:password@]127.0.0.1:p1,127.0.0.1:p2,... (every node by default)."""
        auth = ":%s@" % self.password if self.password else ""
        return "redis://%s%s" % (auth, ",".join("127.0.0.1:%d" % p for p in (ports or self.ports)))

    def command(self, port, *args, timeout=COMMAND_TIMEOUT):
        """One command on the node at port (AUTH first when the cluster has a password).
        Bulk strings come back as bytes, status replies as str; an error reply raises
        RedisError (MOVED too: this client follows nothing)."""
        conn = _Resp(port, timeout=timeout)
        try:
            if self.password:
                conn.command("AUTH", self.password)
            return conn.command(*args)
        finally:
            conn.close()

    def info(self, port, section):
        text = self.command(port, "INFO", section)
        text = text.decode() if isinstance(text, bytes) else text
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))

    def cluster_info(self, port):
        text = self.command(port, "CLUSTER", "INFO")
        text = text.decode() if isinstance(text, bytes) else text
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def nodes(self, port=None):
        """CLUSTER NODES as seen by port (default: the first live node): a list of
        {"id", "port", "flags" (a set), "master_id" (None for a master), "slots"
        (a list of (start, end))}."""
        port = port or self.live_ports()[0]
        text = self.command(port, "CLUSTER", "NODES").decode()
        out = []
        for line in text.splitlines():
            f = line.split()
            if len(f) < 8:
                continue
            slots = []
            for s in f[8:]:
                if s.startswith("["):  # a slot being moved: [slot->-id] / [slot-<-id]
                    continue
                a, _, b = s.partition("-")
                slots.append((int(a), int(b or a)))
            out.append({"id": f[0], "port": int(f[1].split("@")[0].rsplit(":", 1)[1]),
                        "flags": set(f[2].split(",")), "master_id": None if f[3] == "-" else f[3],
                        "slots": slots})
        return out

    def node_id(self, port):
        return self.command(port, "CLUSTER", "MYID").decode()

    def slot_map(self, port):
        """CLUSTER SLOTS of port as sorted [(start, end, master port), ...]."""
        return sorted((e[0], e[1], e[2][1]) for e in self.command(port, "CLUSTER", "SLOTS"))

    def owner_of(self, slot, port=None):
        for start, end, master in self.slot_map(port or self.live_ports()[0]):
            if start <= slot <= end:
                return master
        raise AssertionError("slot %d has no master" % slot)

    def key_slot(self, key):
        return self.command(self.live_ports()[0], "CLUSTER", "KEYSLOT", key)

    def masters(self):
        """Ports of the masters that serve slots and are not failed, by their first slot
        (so masters()[0] serves slot 0, whoever that is after a failover)."""
        ms = [n for n in self.nodes() if "master" in n["flags"] and n["slots"] and
              not ({"fail", "fail?"} & n["flags"])]
        return [n["port"] for n in sorted(ms, key=lambda n: min(s[0] for s in n["slots"]))]

    def replicas_of(self, master_port):
        nodes = self.nodes()
        mid = next(n["id"] for n in nodes if n["port"] == master_port)
        return [n["port"] for n in nodes if n["master_id"] == mid and "slave" in n["flags"] and
                not ({"fail", "fail?"} & n["flags"])]

    def replica_of(self, master_port):
        rs = self.replicas_of(master_port)
        if not rs:
            raise AssertionError("master %d has no replica" % master_port)
        return rs[0]

    # ---- waiting --------------------------------------------------------------------

    # harness's: polls until truthy, exceptions count as "not yet", AssertionError on timeout
    wait_for = staticmethod(Stack.wait_for)

    def _settled(self, expect_nodes=None):
        """Why the cluster is not settled yet, or "" when it is: every live node says
        cluster_state:ok, all slots ok, the same slot map served only by live nodes,
        every live replica linked to its master."""
        live = self.live_ports()
        maps = {}
        for p in live:
            ci = self.cluster_info(p)
            if ci.get("cluster_state") != "ok" or ci.get("cluster_slots_ok") != str(SLOTS):
                return "%d: cluster_state %s, slots ok %s" % (p, ci.get("cluster_state"), ci.get("cluster_slots_ok"))
            if expect_nodes is not None and ci.get("cluster_known_nodes") != str(expect_nodes):
                return "%d knows %s nodes" % (p, ci.get("cluster_known_nodes"))
            if ci.get("cluster_slots_pfail") != "0" or ci.get("cluster_slots_fail") != "0":
                return "%d: slots in pfail/fail" % p
            maps[p] = self.slot_map(p)
            repl = self.info(p, "replication")
            if repl.get("role") == "slave" and repl.get("master_link_status") != "up":
                return "%d: replica link %s" % (p, repl.get("master_link_status"))
        first = maps[live[0]]
        for p, m in maps.items():
            if m != first:
                return "%d's slot map differs from %d's" % (p, live[0])
        dead = {e[2] for e in first} - set(live)
        if dead:
            return "slots still served by dead node(s) %s" % sorted(dead)
        if len({e[2] for e in first}) != self.n_masters:
            return "%d masters serve slots, expected %d" % (len({e[2] for e in first}), self.n_masters)
        return ""

    def wait_settled(self, expect_nodes=None, timeout=SETTLE_TIMEOUT):
        self.wait_for(lambda: self._settled(expect_nodes) == "", timeout,
                      "a settled cluster (%s)" % "every node ok, one slot map, replicas linked",
                      interval=0.1)

    def kill_master(self, i):
        """SIGKILLs masters()[i]; returns its port."""
        port = self.masters()[i]
        self.kill(port, signal.SIGKILL)
        return port

    def wait_failover(self, timeout=FAILOVER_TIMEOUT):
        """Waits until a replica serves the slots of every killed master and every live
        node is ok with one slot map; returns the masters' ports."""
        self.wait_for(lambda: self._settled() == "", timeout, "the failover (every slot served by a live master)")
        return self.masters()

    # ---- moving a slot --------------------------------------------------------------

    def migrate_slot(self, slot, to_master, keys=None, finish=True):
        """Moves slot to the master at port to_master as redis-cli --cluster reshard does:
        SETSLOT IMPORTING on the target, MIGRATING on the source, MIGRATE of its keys,
        then (finish) SETSLOT NODE on every master. keys: move at most that many keys
        and, with finish=False, leave the slot half moved (the source answers ASK for
        the keys it no longer has; finish_migration() completes it). Returns the number
        of keys moved."""
        source = self.owner_of(slot)
        if source == to_master:
            raise ValueError("slot %d is already on %d" % (slot, to_master))
        if slot not in self._migrating:
            self.command(to_master, "CLUSTER", "SETSLOT", slot, "IMPORTING", self.node_id(source))
            self.command(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", self.node_id(to_master))
            self._migrating[slot] = (source, to_master)
        moved = self._move_keys(slot, keys)
        if finish:
            moved += self.finish_migration(slot)
        return moved

    def _move_keys(self, slot, limit=None):
        source, target = self._migrating[slot]
        moved = 0
        while limit is None or moved < limit:
            n = MIGRATE_BATCH if limit is None else min(MIGRATE_BATCH, limit - moved)
            keys = self.command(source, "CLUSTER", "GETKEYSINSLOT", slot, n)
            if not keys:
                break
            auth = ["AUTH", self.password] if self.password else []
            self.command(source, "MIGRATE", "127.0.0.1", target, "", 0, MIGRATE_TIMEOUT_MS, *auth, "KEYS", *keys)
            moved += len(keys)
        return moved

    def finish_migration(self, slot):
        """Moves the keys left and gives the slot to the target on every master (target
        first, then source, as the cluster spec says); waits until every node agrees."""
        source, target = self._migrating[slot]
        moved = self._move_keys(slot)
        target_id = self.node_id(target)
        for port in [target, source] + [m for m in self.masters() if m not in (target, source)]:
            self.command(port, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
        del self._migrating[slot]
        self.wait_for(lambda: all(self.owner_of(slot, p) == target for p in self.live_ports()),
                      SETTLE_TIMEOUT, "every node to give slot %d to %d" % (slot, target))
        return moved

    def count_keys(self, pattern):
        """Keys matching pattern over every live master (SCAN)."""
        total = 0
        for port in self.masters():
            cursor = b"0"
            while True:
                cursor, keys = self.command(port, "SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
                total += len(keys)
                if cursor == b"0":
                    break
        return total
