"""
The command line as SPEC 9 and SPEC 2 fix it, without a stack: every binary answers
--version, `kinerja help CMD` equals `kinerja CMD --help` for every command, usage
errors exit 2, a config file's error names the file and the line in every binary, and a
missing default config file is said (which path, and how to name one).
"""

import os
import re
import subprocess
import tempfile
import unittest

from harness import BIN_DIR

COMMANDS = ["send", "org", "migrate", "status", "bench", "config", "score", "report", "recalc", "signoff",
            "feedback", "appeal", "decide", "inbox", "queue", "keygen", "event", "events", "rejected", "user", "export",
            "unit-predikat", "partitions"]


BINARIES = ("kinerja", "kinerja-broker", "kinerja-worker", "kinerja-web")


def run(*argv, files=None):
    # no config file in an empty directory: the defaults, so nothing here needs a stack;
    # files: {name: text} written there first
    with tempfile.TemporaryDirectory() as d:
        for name, text in (files or {}).items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("KINERJA_") and k != "KINERJA_BIN_DIR":
                del env[k]
        return subprocess.run([os.path.join(BIN_DIR, argv[0])] + list(argv[1:]), cwd=d, env=env,
                              capture_output=True, text=True, timeout=60)


class CliTest(unittest.TestCase):
    def test_every_binary_answers_version(self):
        for b in BINARIES:
            with self.subTest(binary=b):
                r = run(b, "--version")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout.strip(), r"^%s \d+\.\d+\.\d+$" % re.escape(b))

    def test_help_cmd_is_cmd_help(self):
        for c in COMMANDS:
            with self.subTest(command=c):
                a, b = run("kinerja", "help", c), run("kinerja", c, "--help")
                self.assertEqual(a.returncode, 0, a.stderr)
                self.assertEqual(b.returncode, 0, b.stderr)
                self.assertEqual(a.stdout, b.stdout)
                self.assertIn("usage: kinerja %s" % c, a.stdout)

    def test_overview_lists_every_command(self):
        r = run("kinerja", "help")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = re.findall(r"^  ([a-z][a-z-]*) ", r.stdout, re.M)
        self.assertEqual(sorted(listed), sorted(COMMANDS))

    def test_usage_errors_exit_2(self):
        for argv in (["kinerja"], ["kinerja", "nosuch"], ["kinerja", "help", "nosuch"], ["kinerja", "--nosuch"],
                     ["kinerja-worker"], ["kinerja-worker", "--role", "nosuch"]):
            with self.subTest(argv=argv):
                r = run(*argv)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertTrue(r.stderr.strip(), "a usage error says what is wrong")

    def test_config_error_names_file_and_line(self):
        bad = {"bad.conf": "; a comment\n\n[intake]\nmax_batch = lots\n"}
        syntax = {"bad.conf": "[intake]\nmax_batch = 10\n[log\n"}
        for b in BINARIES:
            argv = [b, "-c", "bad.conf"] + (["--role", "ingest"] if b == "kinerja-worker" else []) + \
                (["config"] if b == "kinerja" else [])
            with self.subTest(binary=b):
                r = run(*argv, files=bad)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("bad.conf:4: intake.max_batch: must be an integer, got 'lots'", r.stderr)
                r = run(*argv, files=syntax)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("bad.conf:3: cannot parse this line", r.stderr)
        # a named file that is missing says so
        r = run("kinerja", "-c", "nope.conf", "config")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope.conf: cannot open: No such file or directory", r.stderr)

    def test_missing_default_config_is_said(self):
        r = run("kinerja", "config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("config/kinerja.conf", r.stderr)
        self.assertIn("does not exist", r.stderr)
        self.assertIn("-c FILE or KINERJA_CONFIG=FILE", r.stderr)
        self.assertIn("# config/kinerja.conf does not exist: built-in defaults", r.stdout)
        self.assertIn("intake.max_batch = 1000\n", r.stdout)
        # a file that was read: nothing said
        r = run("kinerja", "-c", "kinerja.conf", "config", files={"kinerja.conf": "[intake]\nmax_batch = 7\n"})
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertNotIn("does not exist", r.stdout)
        self.assertIn("intake.max_batch = 7\n", r.stdout)


if __name__ == "__main__":
    unittest.main()
