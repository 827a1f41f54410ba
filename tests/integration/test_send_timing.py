"""
`kinerja send` fed by a real pipe that pauses (SPEC 9): the time its input takes is not
the broker's. A frame is timed from when it goes out, so a writer that stops for longer
than the reply timeout (5 s) must not make send resend what the broker already
accepted, and a pause longer than --timeout must not make it give up on events it has
not even read yet. A real redis-server and kinerja-broker on loopback; the test process
is the writer at the other end of the pipe.

Run: cd tests/integration && KINERJA_BIN_DIR=<build>/bin /usr/bin/python3 -m unittest -v test_send_timing
"""

import json
import re
import subprocess
import tempfile
import time
import unittest
import uuid

import msgpack

from harness import StackTestCase

SUMMARY_RE = re.compile(r"^sent=(\d+) accepted=(\d+) duplicate=(\d+) rejected=(\d+)$")
REPLY_TIMEOUT_S = 5  # SEND_REPLY_TIMEOUT_MS in tools/cmd_send.c


def event():
    """A fresh, valid kiosk press (a new id every time)."""
    return {
        "v": 1,
        "id": str(uuid.uuid4()),
        "type": "citizen_feedback",
        "source": "kiosk:test-send-timing",
        "ts": int(time.time() * 1000),
        "unit": "DUKCAPIL-KPG",
        "rating": 3,
    }


class SendTimingTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_redis()
        stack.start_broker()

    def stored_ids(self):
        ids = []
        for shard in range(self.stack.shards):
            for _entry, fields in self.stack.redis_cmd("XRANGE", "kinerja:ev:{%d}" % shard, "-", "+") or []:
                f = dict(zip(fields[0::2], fields[1::2]))
                ids.append(f[b"id"].decode())
                assert msgpack.unpackb(f[b"ev"], raw=False)["source"] == "kiosk:test-send-timing"
        return ids

    def send_through_pipe(self, halves, pause_s, *args, during_pause=None):
        """Runs `kinerja send -` reading a pipe; writes halves[0], flushes, sleeps
        pause_s (or calls during_pause() instead), writes halves[1], closes. Returns
        (counts, stderr, returncode, seconds)."""
        # stdout and stderr to files, so the writer side is the only pipe in play
        with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
            proc = subprocess.Popen([self.stack._bin("kinerja"), "send", "-"] + list(args), stdin=subprocess.PIPE,
                                    stdout=fout, stderr=ferr, text=True, env=self.stack.env, cwd=self.stack.tmp)
            self.stack.procs.append(proc)
            start = time.monotonic()
            try:
                proc.stdin.write("".join(json.dumps(e) + "\n" for e in halves[0]))
                proc.stdin.flush()
                if during_pause:
                    during_pause()
                else:
                    time.sleep(pause_s)
                proc.stdin.write("".join(json.dumps(e) + "\n" for e in halves[1]))
                proc.stdin.close()
                proc.wait(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            fout.seek(0)
            ferr.seek(0)
            out, err = fout.read(), ferr.read()
        lines = out.strip().splitlines()
        m = SUMMARY_RE.match(lines[-1]) if lines else None
        self.assertTrue(m, "unexpected output %r; stderr:\n%s" % (out, err[-3000:]))
        counts = dict(zip(("sent", "accepted", "duplicate", "rejected"), map(int, m.groups())))
        return counts, err, proc.returncode, time.monotonic() - start

    def test_pause_longer_than_the_reply_timeout_is_not_a_timeout(self):
        # 1000 fresh ids, 500 + 500 with a 6 s pause (> the 5 s reply timeout) between:
        # before the fix the second frame was stamped before the read blocked, timed
        # out at once and was resent: accepted=500 duplicate=500.
        events = [event() for _ in range(1000)]
        counts, err, rc, _ = self.send_through_pipe((events[:500], events[500:]), REPLY_TIMEOUT_S + 1)
        self.assertEqual(counts, {"sent": 1000, "accepted": 1000, "duplicate": 0, "rejected": 0}, err[-3000:])
        self.assertEqual(rc, 0, err[-3000:])
        self.assertNotIn("resending", err)
        self.assertEqual(sorted(self.stored_ids_of(events)), sorted(e["id"] for e in events))  # each once

    def test_pause_longer_than_timeout_does_not_give_up_unread_events(self):
        # --timeout 2 bounds the wait for a final ack, counted from an event's sending:
        # a 3 s pause of the writer is no broker delay. Before the fix the deadline ran
        # from the start, and the events written after the pause were "not sent before
        # the timeout" (exit 1). One event a frame, one frame in flight, so the sender
        # passes its deadline check between every two events after the pause.
        events = [event() for _ in range(200)]
        counts, err, rc, _ = self.send_through_pipe((events[:100], events[100:]), 3, "--timeout", "2",
                                                    "--batch", "1", "--window", "1")
        self.assertEqual(counts, {"sent": 200, "accepted": 200, "duplicate": 0, "rejected": 0}, err[-3000:])
        self.assertEqual(rc, 0, err[-3000:])
        self.assertEqual(sorted(self.stored_ids_of(events)), sorted(e["id"] for e in events))

    def stored_ids_of(self, events):
        want = {e["id"] for e in events}
        return [i for i in self.stored_ids() if i in want]

    def test_what_was_read_goes_out_while_the_pipe_pauses(self):
        # A pipe that writes 3 events and then stays open with nothing more (a live feed
        # between two presses): the 3 are sent at once, in a frame of 3, not held until a
        # batch of 500 fills or the input ends. Before, they reached the broker only when
        # the writer went on.
        events = [event() for _ in range(5)]
        seen = {}

        def wait_stored():
            start = time.monotonic()
            while time.monotonic() - start < 8:
                if len(self.stored_ids_of(events[:3])) == 3:
                    seen["after_s"] = time.monotonic() - start
                    return
                time.sleep(0.1)

        counts, err, rc, _ = self.send_through_pipe((events[:3], events[3:]), 0, during_pause=wait_stored)
        self.assertIn("after_s", seen, "the 3 events read before the pause were not in Redis within 8 s")
        self.assertLess(seen["after_s"], 3)
        self.assertEqual(counts, {"sent": 5, "accepted": 5, "duplicate": 0, "rejected": 0}, err[-3000:])
        self.assertEqual(rc, 0, err[-3000:])
        self.assertEqual(sorted(self.stored_ids_of(events)), sorted(e["id"] for e in events))

    def test_lines_split_across_writes_and_odd_lines(self):
        # The input reader (read(2), not stdio): a line cut in two by the writer's pause
        # is one line, blank lines are skipped, CRLF is taken, the last line may lack its
        # newline, and lines longer than intake.max_frame_bytes (2048 here, for the CLI
        # only) are rejected naming their line, whether a little longer (3000 bytes)
        # or far longer (100 000 bytes, dropped as it arrives). Through a file and
        # through a pipe written in 700-byte pieces with pauses between.
        def text(evs):
            return ("%s\n\n%s\r\n   \nnot json\n%s\n%s\n%s" % (
                json.dumps(evs[0]), json.dumps(evs[1]), "x" * 3000, "y" * 100000, json.dumps(evs[2])))
        # lines: 1 event, 2 blank, 3 event (CRLF), 4 blank, 5 not JSON, 6 3000 bytes,
        # 7 100 000 bytes, 8 event without a newline: sent 6, accepted 3, rejected 3
        env = dict(self.stack.env, KINERJA_INTAKE_MAX_FRAME_BYTES="2048")
        expect = {"sent": 6, "accepted": 3, "duplicate": 0, "rejected": 3}

        def check(r_out, r_err, rc, evs, name):
            lines = r_out.strip().splitlines()
            m = SUMMARY_RE.match(lines[-1]) if lines else None
            self.assertTrue(m, (r_out, r_err[-2000:]))
            self.assertEqual(dict(zip(("sent", "accepted", "duplicate", "rejected"), map(int, m.groups()))),
                             expect, r_err[-2000:])
            self.assertEqual(rc, 0, r_err[-2000:])
            self.assertIn("%s:5: rejected" % name, r_err)
            self.assertIn("%s:6: rejected: line longer than intake.max_frame_bytes" % name, r_err)
            self.assertIn("%s:7: rejected: line longer than intake.max_frame_bytes" % name, r_err)
            self.assertEqual(r_err.count("rejected"), 3, r_err[-2000:])
            self.assertEqual(sorted(self.stored_ids_of(evs)), sorted(e["id"] for e in evs))

        evs = [event() for _ in range(3)]
        path = self.stack.write_file("odd.jsonl", text(evs))
        r = subprocess.run([self.stack._bin("kinerja"), "send", path], capture_output=True, text=True, env=env,
                           cwd=self.stack.tmp, timeout=60)
        check(r.stdout, r.stderr, r.returncode, evs, path)

        evs = [event() for _ in range(3)]
        data = text(evs).encode()
        with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
            proc = subprocess.Popen([self.stack._bin("kinerja"), "send", "-"], stdin=subprocess.PIPE, stdout=fout,
                                    stderr=ferr, env=env, cwd=self.stack.tmp)
            self.stack.procs.append(proc)
            for i in range(0, len(data), 700):
                proc.stdin.write(data[i:i + 700])
                proc.stdin.flush()
                if i < 3000:
                    time.sleep(0.2)  # the first lines arrive cut in pieces, with pauses
            proc.stdin.close()
            proc.wait(timeout=60)
            fout.seek(0)
            ferr.seek(0)
            check(fout.read(), ferr.read(), proc.returncode, evs, "stdin")

    def test_a_broker_that_does_not_answer_still_times_out(self):
        # The other side of the rule, so the fix cannot be "never time out": nothing
        # listens at the endpoint, --timeout 2: every event ends unacked, exit 1, within
        # a few seconds of the input's end.
        events = [event() for _ in range(10)]
        counts, err, rc, took = self.send_through_pipe(
            (events[:5], events[5:]), 0.5, "--timeout", "2", "--endpoint", "tcp://127.0.0.1:1")
        self.assertEqual(counts, {"sent": 10, "accepted": 0, "duplicate": 0, "rejected": 0}, err[-3000:])
        self.assertEqual(rc, 1)
        self.assertIn("10 events got no final ack", err)
        self.assertLess(took, 15)


if __name__ == "__main__":
    unittest.main()
