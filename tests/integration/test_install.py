"""
`cmake --install` as a new operator runs it (issue 16): into a temporary prefix, the tree
is complete; the installed binaries run; the installed `kinerja` finds the installed
config; the systemd units pass `systemd-analyze verify` and its offline security check;
the sysusers.d and tmpfiles.d files make the user and the directories; the logrotate
file rotates a log a daemon is still appending to; the man pages render without
warnings and list every setting and command; a reinstall keeps an edited config; and
the installed binaries with the installed config and keys made as docs/OPERATIONS.md
says take an event through CURVE into PostgreSQL.

The build installed is the one whose binaries the integration tests run
(KINERJA_BIN_DIR/..). Tools this needs (systemd-analyze, logrotate, groff, man) are
installed by scripts/install-deps.sh; a test that lacks one is skipped, saying which.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BIN_DIR, IS_ROOT, SCRIPTS_DIR, SOURCE_DIR, Stack, _test_failed

sys.path.insert(0, SCRIPTS_DIR)
import gen_traffic  # noqa: E402

BUILD_DIR = os.path.dirname(BIN_DIR)
BINARIES = ["kinerja", "kinerja-broker", "kinerja-worker", "kinerja-web"]
ROLES = ["ingest", "score", "notify", "schedule"]
UNITS = (["kinerja-broker.service", "kinerja-web.service", "kinerja-migrate.service", "kinerja.target"]
         + ["kinerja-worker-%s.service" % r for r in ROLES])
MAN_PAGES = ["man1/kinerja.1", "man5/kinerja.conf.5", "man8/kinerja-broker.8", "man8/kinerja-worker.8",
             "man8/kinerja-web.8"]
# The settings whose reference value is a path under var/: the install makes them absolute.
KEY_PATH_SETTINGS = {
    "security.server_secret_file": "curve/server.key_secret",
    "security.clients_file": "curve/clients",
    "security.server_public_file": "curve/server.key",
    "security.client_key_file": "curve/cli",
    "web.session_key_file": "web/session.key",
    "web.client_key_file": "curve/web",
}


def clean_env(**extra):
    """The environment without any KINERJA_* a developer's shell may carry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINERJA_")}
    env.update(extra)
    return env


def run(argv, timeout=300, **kw):
    kw.setdefault("env", clean_env())
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def cmake_install(prefix, destdir=None):
    env = clean_env()
    if destdir:
        env["DESTDIR"] = destdir
    r = run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], env=env)
    if r.returncode != 0:
        raise AssertionError("cmake --install failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
    return r


def project_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
        return re.search(r"project\(kinerja VERSION ([0-9.]+)", f.read()).group(1)


def settings_of(text):
    """{section.key: value} of `kinerja config` output."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or " = " not in line:
            continue
        name, _, value = line.partition(" = ")
        out[name.strip()] = value
    return out


def unit_values(path):
    """{key: [values]} of a unit file (comments dropped)."""
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";", "[")) or "=" not in line:
                continue
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


class TestInstall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD_DIR, "cmake_install.cmake")):
            raise unittest.SkipTest("%s is not a CMake build directory (KINERJA_BIN_DIR=%s)" % (BUILD_DIR, BIN_DIR))
        cls.tmp = tempfile.mkdtemp(prefix="kinerja-install-")
        os.chmod(cls.tmp, 0o755)
        cls.prefix = os.path.join(cls.tmp, "prefix")
        cls.install_out = cmake_install(cls.prefix).stdout
        with open(os.path.join(BUILD_DIR, "install_manifest.txt")) as f:
            cls.manifest = f.read().split()
        cls.etc = os.path.join(cls.prefix, "etc", "kinerja")
        cls.conf = os.path.join(cls.etc, "kinerja.conf")
        cls.unitdir = os.path.join(cls.prefix, "lib", "systemd", "system")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def need(self, tool):
        path = shutil.which(tool) or (os.path.exists("/usr/sbin/" + tool) and "/usr/sbin/" + tool)
        if not path:
            self.skipTest("%s is not installed (scripts/install-deps.sh installs it)" % tool)
        return path

    # ---- the tree ----------------------------------------------------------------------

    def test_tree_is_complete(self):
        want = (["bin/" + b for b in BINARIES]
                + ["etc/kinerja/kinerja.conf", "etc/logrotate.d/kinerja", "etc/profile.d/kinerja.sh",
                   "lib/sysusers.d/kinerja.conf", "lib/tmpfiles.d/kinerja.conf",
                   "share/doc/kinerja/OPERATIONS.md", "share/doc/kinerja/kinerja.conf.reference",
                   "share/kinerja/grafana/kinerja.json"]
                + ["lib/systemd/system/" + u for u in UNITS]
                + ["share/man/" + m for m in MAN_PAGES])
        missing = [p for p in want if not os.path.isfile(os.path.join(self.prefix, p))]
        self.assertEqual(missing, [], "not installed")
        for d in ("curve", "web"):
            self.assertTrue(os.path.isdir(os.path.join(self.etc, d)), "etc/kinerja/%s" % d)
        for b in BINARIES:
            self.assertTrue(os.access(os.path.join(self.prefix, "bin", b), os.X_OK), b)
        # the config holds secrets: not world-readable
        self.assertEqual(os.stat(self.conf).st_mode & 0o007, 0)
        # nothing outside the prefix
        self.assertEqual([p for p in self.manifest if not p.startswith(self.prefix + "/")], [])
        self.assertEqual(sorted(os.path.relpath(p, self.prefix) for p in self.manifest), sorted(want))
        # the migrations are in the binary, not files to install
        r = run([os.path.join(self.prefix, "bin", "kinerja"), "migrate", "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for sql in glob.glob(os.path.join(SOURCE_DIR, "schemas", "[0-9]*.sql")):
            self.assertIn(os.path.basename(sql), r.stdout)

    def test_dashboard_and_guide_use_metrics_the_binaries_export(self):
        """Every kinerja_* series named by the Grafana dashboard and by the alerts of
        docs/OPERATIONS.md is one the C sources register (metrics_counter/gauge/histogram)."""
        exported = set()
        for path in glob.glob(os.path.join(SOURCE_DIR, "*", "*.c")):
            with open(path, errors="replace") as f:
                exported |= set(re.findall(r'metrics_(?:counter|gauge|histogram)\(\s*[\w>.-]+,\s*"(kinerja_\w+)"', f.read()))
        self.assertGreater(len(exported), 30)
        with open(os.path.join(self.prefix, "share/kinerja/grafana/kinerja.json")) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        self.assertGreater(len(exprs), 20)
        used = set(re.findall(r"\b(kinerja_[a-z_]+)", " ".join(exprs)))
        with open(os.path.join(SOURCE_DIR, "docs", "OPERATIONS.md")) as f:
            guide = f.read()
        alerts = re.findall(r"```promql\n(.*?)```", guide, re.S)
        in_guide = set(re.findall(r"\b(kinerja_[a-z_]+)", " ".join(alerts)))
        self.assertGreater(len(in_guide), 12)
        # a histogram is used by its series: NAME_bucket, NAME_sum, NAME_count
        def base(n):
            m = re.match(r"(kinerja_\w+)_(?:bucket|sum|count)$", n)
            return m.group(1) if m and m.group(1) in exported else n
        self.assertEqual({base(n) for n in used | in_guide} - exported, set())
        # and the guide says what every exported series means
        self.assertEqual(exported - set(re.findall(r"`(kinerja_\w+)", guide)), set())

    def test_binaries_run(self):
        version = project_version()
        for b in BINARIES:
            r = run([os.path.join(self.prefix, "bin", b), "--version"], cwd="/")
            self.assertEqual(r.returncode, 0, "%s --version: %s" % (b, r.stderr))
            self.assertEqual(r.stdout.strip(), "%s %s" % (b, version))

    def test_installed_kinerja_finds_the_installed_config(self):
        """Through profile.d (login shells) and through the units' Environment=, from a
        directory without config/kinerja.conf; the installed config is the reference
        with only the key paths made absolute under etc/kinerja."""
        kinerja = os.path.join(self.prefix, "bin", "kinerja")
        cwd = tempfile.mkdtemp(dir=self.tmp)
        profile = os.path.join(self.prefix, "etc", "profile.d", "kinerja.sh")
        r = run(["/bin/sh", "-c", '. "$1" && exec "$2" config', "sh", profile, kinerja], cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0], "# from %s and the environment" % self.conf)
        installed = settings_of(r.stdout)
        # a KINERJA_CONFIG already set wins over profile.d
        r = run(["/bin/sh", "-c", '. "$1" && echo "$KINERJA_CONFIG"', "sh", profile],
                env=clean_env(KINERJA_CONFIG="/elsewhere.conf"))
        self.assertEqual(r.stdout.strip(), "/elsewhere.conf")

        ref = run([kinerja, "-c", os.path.join(SOURCE_DIR, "config", "kinerja.conf"), "config"], cwd=cwd)
        self.assertEqual(ref.returncode, 0, ref.stderr)
        reference = settings_of(ref.stdout)
        self.assertEqual(set(installed), set(reference))
        for name, value in reference.items():
            if name in KEY_PATH_SETTINGS:
                self.assertEqual(installed[name], os.path.join(self.etc, KEY_PATH_SETTINGS[name]), name)
            else:
                self.assertEqual(installed[name], value, name)
        self.assertEqual(set(KEY_PATH_SETTINGS), {n for n, v in reference.items() if v.startswith("var/")})

        for unit in UNITS:
            if not unit.endswith(".service"):
                continue
            env = unit_values(os.path.join(self.unitdir, unit))["Environment"]
            self.assertIn("KINERJA_CONFIG=" + self.conf, env, unit)

    # ---- systemd -----------------------------------------------------------------------

    def test_units_verify(self):
        tool = self.need("systemd-analyze")
        units = [os.path.join(self.unitdir, u) for u in UNITS]
        # man: links are checked against the installed man pages
        env = clean_env(MANPATH=os.path.join(self.prefix, "share", "man"))
        r = run([tool, "verify"] + units, env=env)
        self.assertEqual((r.returncode, r.stderr.strip()), (0, ""), r.stdout + r.stderr)
        for unit in UNITS:
            if not unit.endswith(".service"):
                continue
            path = os.path.join(self.unitdir, unit)
            r = run([tool, "security", "--offline=yes", "--threshold=20", path], env=env)
            self.assertEqual(r.returncode, 0, "%s: exposure above 2.0:\n%s" % (unit, r.stdout[-3000:]))

    def test_units_are_sandboxed_and_restart(self):
        for unit in UNITS:
            if not unit.endswith(".service"):
                continue
            v = unit_values(os.path.join(self.unitdir, unit))
            for key, want in (("User", "kinerja"), ("Restart", "on-failure"), ("ProtectSystem", "strict"),
                              ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"), ("ProtectHome", "yes"),
                              ("WantedBy", "kinerja.target"), ("PartOf", "kinerja.target")):
                self.assertEqual(v.get(key), [want], "%s %s" % (unit, key))
            self.assertIn("ReadWritePaths", v, unit)
            argv = v["ExecStart"][0].split()
            self.assertTrue(os.access(argv[0], os.X_OK), "%s: %s" % (unit, argv[0]))
            self.assertTrue(argv[0].startswith(os.path.join(self.prefix, "bin") + "/"), unit)
            if "kinerja-worker-" in unit:
                self.assertEqual(argv[1:], ["--role", unit[len("kinerja-worker-"):-len(".service")]])
        target = unit_values(os.path.join(self.unitdir, "kinerja.target"))
        enabled = " ".join(target["Also"]).split()
        self.assertEqual(sorted(enabled), sorted(u for u in UNITS if u.endswith(".service")))

    def test_sysusers_and_tmpfiles_make_the_user_and_directories(self):
        sysusers = self.need("systemd-sysusers")
        tmpfiles = self.need("systemd-tmpfiles")
        if not IS_ROOT:
            self.skipTest("systemd-tmpfiles --root chowns: needs root")
        root = tempfile.mkdtemp(dir=self.tmp)
        os.makedirs(os.path.join(root, "etc"))
        r = run([sysusers, "--root=" + root, os.path.join(self.prefix, "lib/sysusers.d/kinerja.conf")])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(root, "etc", "passwd")) as f:
            entry = [line.split(":") for line in f if line.startswith("kinerja:")]
        self.assertEqual(len(entry), 1)
        uid, gid, home, shell = int(entry[0][2]), int(entry[0][3]), entry[0][5], entry[0][6].strip()
        self.assertEqual(home, "/var/lib/kinerja")
        self.assertIn("nologin", shell)
        r = run([tmpfiles, "--create", "--root=" + root, os.path.join(self.prefix, "lib/tmpfiles.d/kinerja.conf")])
        self.assertEqual(r.returncode, 0, r.stderr)
        for path, mode, owner in ((self.etc, 0o750, (0, gid)), (os.path.join(self.etc, "curve"), 0o750, (0, gid)),
                                  (os.path.join(self.etc, "web"), 0o750, (0, gid)),
                                  ("/var/lib/kinerja", 0o750, (uid, gid))):
            st = os.stat(root + path)
            self.assertEqual((st.st_mode & 0o7777, (st.st_uid, st.st_gid)), (mode, owner), path)

    # ---- logrotate ---------------------------------------------------------------------

    def test_logrotate_copytruncate_keeps_a_live_writer(self):
        """A daemon's stderr appended to a file (O_APPEND, as `2>>` does): after the
        rotation the old lines are in the rotated file and the writer carries on at the
        start of the emptied one."""
        logrotate = self.need("logrotate")
        with open(os.path.join(self.prefix, "etc", "logrotate.d", "kinerja")) as f:
            conf = f.read()
        log_dir = os.path.join(self.prefix, "var", "log", "kinerja")
        self.assertIn(log_dir + "/*.log {", conf)
        self.assertIn("copytruncate", conf)
        self.assertIn("su kinerja kinerja", conf)
        # the user kinerja need not exist on this machine: rotate as whoever runs the test
        import grp
        import pwd
        me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        conf = conf.replace("su kinerja kinerja", "su %s %s" % (me, group))
        work = tempfile.mkdtemp(dir=self.tmp)
        conf_path = os.path.join(work, "kinerja")
        with open(conf_path, "w") as f:
            f.write(conf)
        os.makedirs(log_dir, exist_ok=True)
        os.chmod(log_dir, 0o750)
        log = os.path.join(log_dir, "broker.log")
        with open(log, "ab") as out:
            writer = subprocess.Popen(["/bin/sh", "-c", 'i=0; while [ $i -lt 400 ]; do echo "line $i" >&2; '
                                       'i=$((i+1)); sleep 0.01; done'], stderr=out, stdout=subprocess.DEVNULL)
        try:
            Stack.wait_for(lambda: os.path.getsize(log) > 200, timeout=20, what="the writer's first lines")
            r = run([logrotate, "-f", "-s", os.path.join(work, "state"), conf_path])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(writer.wait(timeout=60), 0)
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        rotated = [p for p in glob.glob(log + "-*") if not p.endswith(".gz")]
        self.assertEqual(len(rotated), 1, os.listdir(log_dir))
        with open(rotated[0]) as f:
            old = f.read().splitlines()
        with open(log, "rb") as f:
            new = f.read()
        self.assertNotIn(b"\0", new, "the writer kept its old offset (no O_APPEND): a sparse file")
        new = new.decode().splitlines()
        self.assertEqual(old[0], "line 0")
        self.assertEqual(new[-1], "line 399")
        before = [int(x.split()[1]) for x in old]
        after = [int(x.split()[1]) for x in new]
        # each file holds one unbroken run: the rotated one from the first line, the live
        # one to the last; copytruncate may lose the lines written between its copy and
        # its truncation (how many depends on the machine's load), never reorder or
        # duplicate one
        self.assertEqual(before, list(range(0, len(before))))
        self.assertEqual(after, list(range(400 - len(after), 400)))
        self.assertGreater(after[0], before[-1])

    # ---- man pages ---------------------------------------------------------------------

    def test_man_pages_render_and_are_complete(self):
        man = self.need("man")
        groff = shutil.which("groff")
        for page in MAN_PAGES:
            path = os.path.join(self.prefix, "share", "man", page)
            r = run([man, "-l", path], env=clean_env(MANPAGER="cat", PAGER="cat", MANWIDTH="80"))
            self.assertEqual(r.returncode, 0, "%s: %s" % (page, r.stderr))
            self.assertGreater(len(r.stdout), 1000, page)
            if groff:
                r = run([groff, "-man", "-Tutf8", "-ww", "-z", path])
                self.assertEqual((r.returncode, r.stderr), (0, ""), page)
        kinerja = os.path.join(self.prefix, "bin", "kinerja")
        rendered = {}
        for page in ("man5/kinerja.conf.5", "man1/kinerja.1"):
            r = run([man, "-l", os.path.join(self.prefix, "share", "man", page)],
                    env=clean_env(MANPAGER="cat", PAGER="cat", MANWIDTH="200"))
            rendered[page] = re.sub(r".\x08", "", r.stdout)
        ref = run([kinerja, "config", "--reference"])
        section = None
        for line in ref.stdout.splitlines():
            m = re.match(r"^\[(\w+)\]$", line)
            if m:
                section = m.group(1)
                self.assertIn("[%s]" % section, rendered["man5/kinerja.conf.5"])
            m = re.match(r"^(\w+) =", line)
            if m and section:
                env_name = "KINERJA_%s_%s" % (section.upper(), m.group(1).upper())
                self.assertIn(env_name, rendered["man5/kinerja.conf.5"], "%s.%s" % (section, m.group(1)))
        r = run([kinerja, "--help"])
        commands = [line.split()[0] for line in r.stdout.split("commands:")[1].split("options:")[0].splitlines()
                    if line.strip()]
        self.assertGreater(len(commands), 15)
        for cmd in commands:
            self.assertRegex(rendered["man1/kinerja.1"], r"(?m)^ {7}%s\b" % re.escape(cmd), cmd)

    # ---- reinstall, DESTDIR ------------------------------------------------------------

    def test_reinstall_keeps_an_edited_config_and_destdir(self):
        prefix = os.path.join(self.tmp, "again")
        cmake_install(prefix)
        conf = os.path.join(prefix, "etc", "kinerja", "kinerja.conf")
        with open(conf, "a") as f:
            f.write("\n[log]\nlevel = debug\n")
        with open(conf) as f:
            edited = f.read()
        out = cmake_install(prefix).stdout
        self.assertIn("Kept %s" % conf, out)
        with open(conf) as f:
            self.assertEqual(f.read(), edited)
        self.assertTrue(os.path.exists(conf + ".new"))
        # an unchanged config is left alone without a .new
        os.remove(conf)
        os.remove(conf + ".new")
        cmake_install(prefix)
        cmake_install(prefix)
        self.assertFalse(os.path.exists(conf + ".new"))

        # a package build: prefix /usr under DESTDIR -> /etc/kinerja, /usr/bin in the units
        dest = os.path.join(self.tmp, "destdir")
        cmake_install("/usr", destdir=dest)
        unit = unit_values(os.path.join(dest, "usr/lib/systemd/system/kinerja-broker.service"))
        self.assertEqual(unit["ExecStart"], ["/usr/bin/kinerja-broker"])
        self.assertIn("KINERJA_CONFIG=/etc/kinerja/kinerja.conf", unit["Environment"])
        self.assertTrue(os.path.isfile(os.path.join(dest, "etc/kinerja/kinerja.conf")))
        self.assertTrue(os.path.isfile(os.path.join(dest, "etc/logrotate.d/kinerja")))
        with open(os.path.join(dest, "etc/kinerja/kinerja.conf")) as f:
            self.assertIn("server_secret_file = /etc/kinerja/curve/server.key_secret", f.read())
        with open(os.path.join(dest, "etc/logrotate.d/kinerja")) as f:
            self.assertIn("/var/log/kinerja/*.log {", f.read())

    # ---- docker-compose.yml -------------------------------------------------------------

    def test_compose_publishes_metrics_and_checks_health(self):
        """Without docker here: the file parses, every Kinerja service (built from the
        Dockerfile) but the one-shot migrate publishes its metrics port on loopback and
        has a health check on it, and the key mounts are where the installed config
        looks for the keys."""
        try:
            import yaml
        except ImportError:
            self.skipTest("python3-yaml is not installed (scripts/install-deps.sh installs it)")
        if shutil.which("docker-compose"):
            r = run(["docker-compose", "-f", os.path.join(SOURCE_DIR, "docker-compose.yml"), "config", "-q"])
            self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(SOURCE_DIR, "docker-compose.yml")) as f:
            compose = yaml.safe_load(f)
        with open(self.conf) as f:
            conf = f.read()
        ours = {name: svc for name, svc in compose["services"].items() if svc.get("build")}
        self.assertEqual(len(ours), 7)
        ports = set()
        for name, svc in ours.items():
            if name == "migrate":
                self.assertEqual(svc["command"], ["kinerja", "migrate"])
                continue
            listen = svc["environment"]["KINERJA_METRICS_LISTEN"]
            port = int(listen.rsplit(":", 1)[1])
            ports.add(port)
            self.assertIn("127.0.0.1:%d:%d" % (port, port), svc.get("ports", []), name)
            test = " ".join(svc["healthcheck"]["test"])
            self.assertIn("http://127.0.0.1:%d/healthz" % port, test, name)
            for volume in svc.get("volumes", []):
                target = volume.split(":")[1]
                self.assertTrue(target.startswith("/etc/kinerja/"), volume)
                self.assertIn("= %s/" % target, conf.replace(self.etc, "/etc/kinerja"), volume)
            for dep, cond in svc.get("depends_on", {}).items():
                if dep in ours and dep != "migrate":
                    self.assertEqual(cond["condition"], "service_healthy", "%s -> %s" % (name, dep))
        self.assertEqual(ports, set(range(9570, 9576)))

    # ---- first start ---------------------------------------------------------------------

    def test_first_start_with_the_installed_files(self):
        """docs/OPERATIONS.md "First start" with the installed binaries, config and key
        directories (CURVE on, as installed): keys, clients file, migrate, broker and
        ingest worker, one event sent with the installed CLI and stored."""
        bindir = os.path.join(self.prefix, "bin")
        s = Stack(bin_dir=bindir)
        failed = True
        try:
            s.start_redis()
            s.start_postgres()
            # the site's addresses, as an operator writes them into kinerja.env
            env = {"KINERJA_CONFIG": self.conf, "KINERJA_REDIS_URL": s.redis_url,
                   "KINERJA_POSTGRES_DSN": s.pg_dsn, "KINERJA_INTAKE_ENDPOINT": s.intake_endpoint,
                   "KINERJA_NOTIFY_ENDPOINT": s.notify_endpoint, "KINERJA_METRICS_LISTEN": "off"}
            s.env = {k: v for k, v in s.env.items() if not k.startswith("KINERJA_")}
            s.env.update(env)
            curve = os.path.join(self.etc, "curve")
            for prefix in ("server", "cli"):
                r = s.kinerja("keygen", "--out", os.path.join(curve, prefix))
                self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(curve, "cli.key")) as f:
                cli_pub = f.readline().strip()
            with open(os.path.join(curve, "clients"), "w") as f:
                f.write("%s cli *\n" % cli_pub)
            r = s.kinerja("config", "security.curve")
            self.assertEqual(r.stdout.strip(), "true")
            s.migrate()
            broker = s.start_broker(wait=False)
            s.wait_for(lambda: "started" in s.log_text(broker) or broker.poll() is not None, timeout=30,
                       what="the broker's start")
            self.assertIsNone(broker.poll(), s.log_text(broker))
            self.assertIn("curve on (1 clients in security.clients_file)", s.log_text(broker))
            s.start_worker("ingest")
            org = gen_traffic.make_org(units=2, seed=5)
            traffic = gen_traffic.make_events(org, count=20, seed=5)
            s.org_import(org)
            r = s.kinerja("send", "-", input=traffic.jsonl(), timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("accepted=20", r.stdout)
            s.wait_for(lambda: s.sql_value("SELECT count(*) FROM event_log WHERE client = 'cli'") == 20,
                       timeout=60, what="20 events in event_log, sent by client cli")
            failed = False
        finally:
            if failed or _test_failed(self):
                s.dump_logs()
            s.close(failed=failed)


if __name__ == "__main__":
    unittest.main()
