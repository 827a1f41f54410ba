"""
`kinerja user` (SPEC 9, 12): the web accounts in web_users (schemas/0010_web_users.sql),
against a real PostgreSQL. What is checked:

- add / list / passwd / disable / enable / role round trip, with the epoch (the session
  generation) going up on every change of password, role or disabled, and only then;
- the stored hash is libsodium's argon2id string and verifies the password (checked with
  libsodium itself through ctypes, not with our code) and no other;
- a duplicate add is refused and changes nothing; an employee or supervisor account
  must be an employee's NIP or an evaluator's id; an operator may be any valid id;
- the password never appears in argv, `user list` (--json or not), stdout or stderr;
  without --password-stdin it is asked twice on the terminal with echo off (a pty), and
  without a terminal the command refuses;
- userstore_relation (via `kinerja user relation VIEWER NIP`) on a 3-level organisation
  with an evaluator on top: self, supervisor, second_line, none.
"""

import ctypes
import ctypes.util
import json
import os
import pty
import select
import subprocess
import time
import unittest

from harness import StackTestCase

TOP = "196501011990031001"   # Kepala Dinas, supervised by the evaluator bupati:v
MID = "197002021995032002"   # Kepala Bidang, supervised by TOP
A = "198503032010011003"     # staff under MID
B = "198804042012012004"     # staff under MID
OTHER = "199005052015031005"  # another unit's head, no relation to the chain above
UNKNOWN = "199912312020121999"  # never imported
EVALUATOR = "bupati:v"  # evaluator ids may hold a colon

_sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
_sodium.crypto_pwhash_str_verify.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong]
assert _sodium.sodium_init() >= 0


def sodium_verifies(pwhash, password):
    pw = password.encode()
    return _sodium.crypto_pwhash_str_verify(pwhash.encode(), pw, len(pw)) == 0


class CliUserTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_postgres()
        stack.migrate()
        ev = stack.write_file("evaluators.csv", "id,name,position\n%s,Bupati V,Bupati\n" % EVALUATOR)
        r = stack.kinerja("org", "import", "--evaluators", ev)
        assert r.returncode == 0, r.stderr
        stack.org_import("\n".join([
            "nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala Dinas,UNIT-U,kepala,%s,admin" % (TOP, EVALUATOR),
            "%s,Kepala Bidang,UNIT-U,kabid,%s,admin" % (MID, TOP),
            "%s,Staf A,UNIT-U,staf,%s,admin" % (A, MID),
            "%s,Staf B,UNIT-U,staf,%s,admin" % (B, MID),
            "%s,Kepala Lain,UNIT-W,kepala,,admin" % OTHER]) + "\n")

    # ---- helpers --------------------------------------------------------------------

    def user(self, *args, password=None, expect=0):
        """`kinerja user ARGS` in a session of its own (no controlling terminal, so a
        missing --password-stdin can never block on /dev/tty); password, when given, is
        the stdin. Asserts the exit code and that no password given in this test class
        ever shows on stdout or stderr."""
        env = dict(self.stack.env)
        r = subprocess.run([self.stack._bin("kinerja"), "user"] + [str(a) for a in args],
                           input=(password if password is not None else ""), capture_output=True, text=True,
                           timeout=60, env=env, cwd=self.stack.tmp, start_new_session=True)
        self.assertEqual(r.returncode, expect, "kinerja user %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        for pw in self.passwords:
            self.assertNotIn(pw, r.stdout)
            self.assertNotIn(pw, r.stderr)
        return r

    passwords = ["s3cret-Pass-one", "second-Pass-two", "op-Pass-three!", "pty-Pass-four", "crlf-Pass-five"]

    def row(self, uid):
        rows = self.stack.sql("SELECT role, pwhash, disabled, epoch FROM web_users WHERE id = %s", (uid,))
        return rows[0] if rows else None

    def listed(self):
        r = self.user("list", "--json")
        return r, {u["id"]: u for u in json.loads(r.stdout)}

    # ---- the round trip -------------------------------------------------------------

    def test_round_trip_with_epoch(self):
        pw1, pw2 = self.passwords[0], self.passwords[1]
        r = self.user("add", A, "--role", "employee", "--password-stdin", password=pw1 + "\n")
        self.assertIn("user %s added (role employee)" % A, r.stdout)
        role, h1, disabled, epoch = self.row(A)
        self.assertEqual((role, disabled, epoch), ("employee", False, 1))
        self.assertTrue(h1.startswith("$argon2id$"), h1)
        self.assertTrue(sodium_verifies(h1, pw1))
        self.assertFalse(sodium_verifies(h1, pw2))
        self.assertFalse(sodium_verifies(h1, pw1 + "\n"))  # the newline was stripped

        r, users = self.listed()
        self.assertEqual(users[A]["role"], "employee")
        self.assertIs(users[A]["disabled"], False)
        self.assertEqual(users[A]["epoch"], 1)
        self.assertRegex(users[A]["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(sorted(users[A]), ["created_at", "disabled", "epoch", "id", "role"])
        self.assertNotIn("$argon2", r.stdout)

        # a new password: the epoch goes 1 -> 2, the old password stops verifying
        self.user("passwd", A, "--password-stdin", password=pw2 + "\n")
        role, h2, disabled, epoch = self.row(A)
        self.assertEqual(epoch, 2)
        self.assertTrue(sodium_verifies(h2, pw2))
        self.assertFalse(sodium_verifies(h2, pw1))

        # disable: 2 -> 3; disabling again changes nothing, so no bump (still 3)
        r = self.user("disable", A)
        self.assertIn("disabled", r.stdout)
        self.assertEqual(self.row(A)[2:], (True, 3))
        self.user("disable", A)
        self.assertEqual(self.row(A)[2:], (True, 3))
        r, users = self.listed()
        self.assertIs(users[A]["disabled"], True)
        table = self.user("list").stdout
        self.assertRegex(table, r"(?m)^%s\s+employee\s+disabled\s+\d{4}-\d\d-\d\d \d\d:\d\d$" % A)

        # enable: 3 -> 4, the password is the one it had
        self.user("enable", A)
        role, h4, disabled, epoch = self.row(A)
        self.assertEqual((disabled, epoch, h4), (False, 4, h2))

        # role change: 4 -> 5; the same role again: no change, still 5
        self.user("role", A, "--role", "supervisor")
        self.assertEqual((self.row(A)[0], self.row(A)[3]), ("supervisor", 5))
        self.user("role", A, "--role", "supervisor")
        self.assertEqual(self.row(A)[3], 5)

    def test_epoch_never_goes_back(self):
        self.user("add", "ops.epoch", "--role", "operator", "--password-stdin", password=self.passwords[2])
        self.user("disable", "ops.epoch")  # epoch 2
        with self.assertRaises(Exception) as cm:
            self.stack.sql("UPDATE web_users SET epoch = 1 WHERE id = 'ops.epoch'")
        self.assertIn("epoch: may not go back", str(cm.exception))
        self.assertEqual(self.row("ops.epoch")[3], 2)

    def test_duplicate_add_refused(self):
        self.user("add", B, "--role", "employee", "--password-stdin", password=self.passwords[0])
        before = self.row(B)
        r = self.user("add", B, "--role", "supervisor", "--password-stdin", password=self.passwords[1], expect=1)
        self.assertIn("user %s exists" % B, r.stderr)
        self.assertEqual(self.row(B), before)  # neither role nor hash nor epoch changed

    def test_unknown_nip_refused_for_employee_and_supervisor(self):
        for role in ("employee", "supervisor"):
            with self.subTest(role=role):
                r = self.user("add", UNKNOWN, "--role", role, "--password-stdin", password=self.passwords[0],
                              expect=1)
                self.assertIn("kinerja user add: unknown employee %s: import it with kinerja org import first"
                              % UNKNOWN, r.stderr)
                self.assertIsNone(self.row(UNKNOWN))
        r = self.user("add", "not.a.person", "--role", "employee", "--password-stdin", password=self.passwords[0],
                      expect=1)
        self.assertIn("unknown employee or evaluator not.a.person", r.stderr)
        self.assertIsNone(self.row("not.a.person"))
        # an existing account cannot become an employee account of nobody either
        self.user("add", "ops.role", "--role", "operator", "--password-stdin", password=self.passwords[2])
        r = self.user("role", "ops.role", "--role", "employee", expect=1)
        self.assertIn("unknown employee or evaluator ops.role", r.stderr)
        self.assertEqual((self.row("ops.role")[0], self.row("ops.role")[3]), ("operator", 1))

    def test_evaluator_may_be_supervisor(self):
        self.user("add", EVALUATOR, "--role", "supervisor", "--password-stdin", password=self.passwords[0])
        self.assertEqual(self.row(EVALUATOR)[0], "supervisor")

    def test_operator_any_valid_id(self):
        self.user("add", "ops_admin-1", "--role", "operator", "--password-stdin", password=self.passwords[2])
        self.assertEqual(self.row("ops_admin-1")[0], "operator")
        # an id outside [A-Za-z0-9._:-]{1,64} is a usage error, before any password is read
        for bad in ("a|b", "a b", "x" * 65, "'; DROP TABLE web_users; --"):
            with self.subTest(id=bad):
                r = self.user("add", bad, "--role", "operator", "--password-stdin", password=self.passwords[2],
                              expect=2)
                self.assertIn("ID: must be 1..64", r.stderr)
        self.assertEqual(self.stack.sql_value("SELECT count(*) FROM web_users WHERE id LIKE '%|%' OR id LIKE '% %'"),
                         0)

    def test_password_rules(self):
        r = self.user("add", "ops.short", "--role", "operator", "--password-stdin", password="short\n", expect=1)
        self.assertIn("password: must be 8..256 bytes, got 5", r.stderr)
        r = self.user("add", "ops.long", "--role", "operator", "--password-stdin", password="x" * 257 + "\n",
                      expect=1)
        self.assertIn("got more than 256", r.stderr)
        r = self.user("add", "ops.empty", "--role", "operator", "--password-stdin", password="", expect=1)
        self.assertIn("nothing on stdin", r.stderr)
        self.assertEqual(self.stack.sql_value(
            "SELECT count(*) FROM web_users WHERE id IN ('ops.short', 'ops.long', 'ops.empty')"), 0)
        # 256 bytes is the limit and is accepted; a CRLF line end is stripped like LF
        self.user("add", "ops.max", "--role", "operator", "--password-stdin", password="y" * 256 + "\n")
        self.assertTrue(sodium_verifies(self.row("ops.max")[1], "y" * 256))
        crlf = self.passwords[4]
        self.user("add", "ops.crlf", "--role", "operator", "--password-stdin", password=crlf + "\r\nsecond line\n")
        self.assertTrue(sodium_verifies(self.row("ops.crlf")[1], crlf))
        # never from argv
        r = self.user("add", "ops.argv", "--role", "operator", "--password", "hunter2hunter2", expect=2)
        self.assertIn("never taken from the command line", r.stderr)
        self.assertIsNone(self.row("ops.argv"))

    def test_unknown_account(self):
        for verb in ("passwd", "disable", "enable"):
            with self.subTest(verb=verb):
                extra = ("--password-stdin",) if verb == "passwd" else ()
                r = self.user(verb, "nobody.here", *extra, password=self.passwords[0], expect=1)
                self.assertIn("unknown user nobody.here", r.stderr)

    def test_no_terminal_no_password_stdin_refused(self):
        # start_new_session: no controlling terminal, so /dev/tty cannot be opened
        r = self.user("add", "ops.notty", "--role", "operator", password=self.passwords[2] + "\n", expect=2)
        self.assertIn("no terminal to ask for the password", r.stderr)
        self.assertIn("--password-stdin", r.stderr)
        self.assertIsNone(self.row("ops.notty"))

    # ---- the terminal ---------------------------------------------------------------

    def run_on_pty(self, args, answers, argv=None):
        """Runs `kinerja user ARGS` (or argv) with a pty as its controlling terminal,
        sending each answer once its prompt ("New password for ", then "Again: ") is
        shown; an answer may be b"\\x03" (the terminal's interrupt). Returns (exit code,
        everything the terminal showed)."""
        argv = argv or [self.stack._bin("kinerja"), "user"] + list(args)
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(self.stack.tmp)
                os.execve(argv[0], argv, dict(self.stack.env))
            finally:
                os._exit(127)
        shown = b""
        pending = list(answers)
        deadline = time.monotonic() + 60
        answered = 0
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            asked = shown.count(b"New password for ") + shown.count(b"Again: ")
            while pending and asked > answered:  # answer a prompt only once it is shown
                answered += 1
                answer = pending.pop(0)
                os.write(fd, answer if isinstance(answer, bytes) else answer.encode() + b"\n")
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")

    def test_terminal_prompts_twice_with_echo_off(self):
        pw = self.passwords[3]
        code, shown = self.run_on_pty(["add", "ops.tty", "--role", "operator"], [pw, pw])
        self.assertEqual(code, 0, shown)
        self.assertIn("New password for ops.tty: ", shown)
        self.assertIn("Again: ", shown)
        self.assertNotIn(pw, shown)  # echo was off: the terminal never showed it
        self.assertTrue(sodium_verifies(self.row("ops.tty")[1], pw))

        # two different entries: refused, nothing changed
        before = self.row("ops.tty")
        code, shown = self.run_on_pty(["passwd", "ops.tty"], [pw + "x", pw + "y"])
        self.assertEqual(code, 1, shown)
        self.assertIn("the two entries differ", shown)
        self.assertEqual(self.row("ops.tty"), before)

    def test_interrupt_puts_echo_back(self):
        # ^C at the prompt: kinerja dies of SIGINT, the shell (which traps it) goes on
        # and shows the terminal's modes: echo must be on again, and no account made.
        script = 'trap "echo after-interrupt" INT; "$0" user add ops.sigint --role operator; stty -a'
        code, shown = self.run_on_pty([], [b"\x03"], argv=["/bin/sh", "-c", script, self.stack._bin("kinerja")])
        self.assertIn("New password for ops.sigint", shown)
        self.assertIn("after-interrupt", shown)
        modes = shown.split("after-interrupt", 1)[1]
        self.assertRegex(modes, r"(^|\s)echo(\s|$)", shown)
        self.assertNotRegex(modes, r"(^|\s)-echo(\s|$)", shown)
        self.assertIsNone(self.row("ops.sigint"))

    # ---- the access relation --------------------------------------------------------

    def test_relation_on_three_levels(self):
        cases = [
            (A, A, "self"),
            (MID, A, "supervisor"),      # MID signs A's results
            (TOP, A, "second_line"),     # TOP decides A's appeals
            (TOP, MID, "supervisor"),
            (EVALUATOR, TOP, "supervisor"),
            (EVALUATOR, MID, "second_line"),
            (EVALUATOR, A, "none"),      # three levels up is no relation
            (A, MID, "none"),            # a report does not see the supervisor's result
            (B, A, "none"),              # a colleague
            (OTHER, A, "none"),
            (A, UNKNOWN, "none"),        # an unknown employee
            (UNKNOWN, UNKNOWN, "none"),  # not an employee: not even self
        ]
        for viewer, nip, want in cases:
            with self.subTest(viewer=viewer, nip=nip):
                r = self.user("relation", viewer, nip)
                self.assertEqual(r.stdout.strip(), want)


if __name__ == "__main__":
    unittest.main()
