"""
The command line as SPEC 9 and SPEC 2 fix it, without a stack: every binary answers
--version, `kinerja help CMD` equals `kinerja CMD --help` for every command, and usage
errors exit 2.
"""

import os
import re
import subprocess
import tempfile
import unittest

from harness import BIN_DIR

COMMANDS = ["send", "org", "migrate", "status", "bench", "config", "score", "report", "recalc", "signoff",
            "feedback", "appeal", "decide", "inbox", "queue", "keygen", "event", "events", "rejected", "user", "export",
            "unit-predikat"]


def run(*argv):
    # no config file in an empty directory: the defaults, so nothing here needs a stack
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ)
        env.pop("KINERJA_CONFIG", None)
        return subprocess.run([os.path.join(BIN_DIR, argv[0])] + list(argv[1:]), cwd=d, env=env,
                              capture_output=True, text=True, timeout=60)


class CliTest(unittest.TestCase):
    def test_every_binary_answers_version(self):
        for b in ("kinerja", "kinerja-broker", "kinerja-worker"):
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


if __name__ == "__main__":
    unittest.main()
