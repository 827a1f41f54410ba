"""
Umpan balik (issue 14, PermenPANRB 6/2022 Pasal 5): the comments that evaluations and
citizen feedback carry, in `kinerja score --json` ("comments", built by common/views.c
for the CLI and kinerja-web alike) and in the table's "Umpan balik" section, under the
anonymity rule (SPEC 5.3, fairness.anonymity_min = 3): a hidden group's comments are never
shown, the pooled "others" group's neither; each comment carries its group only, never its
rater, ordered by group (supervisor, peer, subordinate, citizen, self) and then by the MD5
of its text, so the order points at no one; "at" only for the supervisor and self.

Organisation (unit UNIT-F): SUP heads it and is the pejabat penilai of E1 and E2; P1..P3
are SUP's other staff; S reports to E2.
- E1: the supervisor, three peers (3 >= 3: shown), self and three citizens (3 >= 3: shown)
  each leave a comment.
- E2: the supervisor comments; two peers (2 < 3: hidden), one subordinate (1 < 3: hidden)
  and one citizen (1 < 3: hidden) comment too. The peers and the subordinate pool into
  "others" (2 + 1 = 3 raters: shown), whose comments must not be shown either.
"""

import hashlib
import json
import re
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-04"
TS = 1775606400000  # 2026-04-08T00:00:00Z = 2026-04-08T07:00:00+07:00 in Asia/Jakarta
AT = "2026-04-08T07:00:00+07:00"
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 90
GROUP_ORDER = ["supervisor", "peer", "subordinate", "citizen", "self"]


def nip(n):
    return "1991040420160410%02d" % n


SUP, E1, E2 = nip(1), nip(11), nip(12)
P = [nip(21), nip(22), nip(23)]
S = nip(31)  # E2's subordinate

E1_SUP = "Atasan: laporan selalu tepat waktu"
E1_PEERS = ["Rekan: sigap membantu", "Rekan: rapi mendokumentasikan", "Rekan: <b>komunikatif</b>"]
E1_SELF = "Diri: perlu belajar SQL"
E1_CITIZENS = ["Warga: ramah", "Warga: cepat dilayani", "Warga: antrean tertib"]
E2_SUP = "Atasan: target tercapai"
E2_HIDDEN = ["Rekan-E2-rahasia-1", "Rekan-E2-rahasia-2", "Warga-E2-rahasia", "Bawahan-E2-rahasia"]


def org_csv():
    rows = ["nip,name,unit,position,supervisor_nip,job_family",
            "%s,Kepala Seksi,UNIT-F,kasi,,admin" % SUP,
            "%s,Staf Satu,UNIT-F,staf,%s,admin" % (E1, SUP),
            "%s,Staf Dua,UNIT-F,staf,%s,admin" % (E2, SUP)]
    for k, n in enumerate(P):
        rows.append("%s,Rekan %d,UNIT-F,staf,%s,admin" % (n, k + 1, SUP))
    rows.append("%s,Bawahan Dua,UNIT-F,staf,%s,admin" % (S, E2))
    return "\n".join(rows) + "\n"


def evaluation(employee, rater, relation, comment, hasil=None):
    ev = {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
          "employee": employee, "period": PERIOD, "rater": rater, "relation": relation,
          "behaviour": {k: 4 for k in KEYS}, "comment": comment}
    if hasil:
        ev["hasil_kerja"] = hasil
    return ev


def citizen(employee, k, comment):
    # one kiosk each, an hour apart: distinct respondents, no kiosk repeat
    return {"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback", "source": "kiosk:unit-f-%02d" % k,
            "ts": TS + (k + 1) * 3600 * 1000, "unit": "UNIT-F", "employee": employee, "rating": 4,
            "comment": comment}


def work_result(employee):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
            "employee": employee, "period": PERIOD, "indicator": "SKP-1", "target": 10, "realization": 10}


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def expected(groups):
    """[(group, text)] in the view's order: by group, then by md5(text)."""
    return sorted(groups, key=lambda gt: (GROUP_ORDER.index(gt[0]), md5(gt[1]), gt[1]))


class FeedbackCommentsTest(StackTestCase):
    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=0)
        stack.start_worker(role="ingest")
        stack.start_worker(role="score")
        stack.org_import(org_csv())
        events = [evaluation(E1, SUP, "supervisor", E1_SUP, hasil="meets"), work_result(E1),
                  evaluation(E1, E1, "self", E1_SELF)]
        events += [evaluation(E1, p, "peer", E1_PEERS[k]) for k, p in enumerate(P)]
        events += [citizen(E1, k, c) for k, c in enumerate(E1_CITIZENS)]
        events += [evaluation(E2, SUP, "supervisor", E2_SUP, hasil="meets"), work_result(E2),
                   evaluation(E2, P[0], "peer", E2_HIDDEN[0]), evaluation(E2, P[1], "peer", E2_HIDDEN[1]),
                   citizen(E2, 7, E2_HIDDEN[2]), evaluation(E2, S, "subordinate", E2_HIDDEN[3])]
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, r.stdout + r.stderr
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff'"
            " AND employee = ANY(%s)", (PERIOD, [E1, E2])) == 2,
            timeout=SETTLE_TIMEOUT, what="two results pending_signoff")
        # the citizen comments are in, before the views are read
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM feedback WHERE employee = ANY(%s)", ([E1, E2],)) == 4,
            timeout=SETTLE_TIMEOUT, what="four citizen responses stored")

    def doc(self, who):
        r = self.stack.kinerja("score", who, "--period", PERIOD, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("AddressSanitizer", r.stderr)
        return json.loads(r.stdout)

    def table_section(self, who):
        r = self.stack.kinerja("score", who, "--period", PERIOD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("AddressSanitizer", r.stderr)
        m = re.search(r"\nUmpan balik[^\n]*\n(.*?)(?:\n\n|\Z)", r.stdout, re.S)
        self.assertIsNotNone(m, r.stdout)
        return r.stdout, m.group(1)

    def test_shown_groups_comments_in_json_in_group_then_hash_order(self):
        doc = self.doc(E1)
        groups = doc["perilaku"]["groups"]
        for g in ("supervisor", "peer", "citizen", "self"):  # the precondition: all four shown
            self.assertIs(groups[g]["shown"], True, g)
        self.assertEqual(list(doc)[-3:], ["history", "comments", "time_zone"])
        self.assertEqual(doc["time_zone"], "Asia/Jakarta")
        want = expected([("supervisor", E1_SUP), ("self", E1_SELF)] + [("peer", c) for c in E1_PEERS] +
                        [("citizen", c) for c in E1_CITIZENS])
        self.assertEqual([(c["group"], c["text"]) for c in doc["comments"]], want)
        # supervisor and self carry the time (TS in Asia/Jakarta); the crowd groups do not
        for c in doc["comments"]:
            self.assertEqual(set(c), {"group", "text", "at"} if c["group"] in ("supervisor", "self")
                             else {"group", "text"}, c)
            if "at" in c:
                self.assertEqual(c["at"], AT)
        # never the rater
        text = json.dumps(doc["comments"])
        for rater in [SUP, E1] + P:
            self.assertNotIn(rater, text)

    def test_hidden_groups_and_the_pool_show_no_comment(self):
        doc = self.doc(E2)
        groups = doc["perilaku"]["groups"]
        self.assertIs(groups["peer"]["shown"], False)     # 2 peers < 3
        self.assertIs(groups["citizen"]["shown"], False)  # 1 citizen < 3
        # the pool of the two: 2 + 1 = 3 raters >= 3, shown with its figures, but its
        # comments would point at its few raters: never shown
        self.assertIs(groups["subordinate"]["shown"], False)  # 1 subordinate < 3
        # the pool of the crowd groups (2 peers + 1 subordinate = 3 raters >= 3) is shown
        # with its figures, but its comments would point at its few raters: never shown
        self.assertIs(groups["others"]["shown"], True)
        self.assertEqual(doc["comments"], [{"group": "supervisor", "text": E2_SUP, "at": AT}])
        whole = json.dumps(doc)
        for c in E2_HIDDEN:
            self.assertNotIn(c, whole)

    def test_a_quarter_carries_its_months_comments(self):
        # under workflow.cadence = quarterly (what the schedule role publishes) the month's
        # inputs make 2026-Q2 computed from its months (schemas/0014): the month is marked
        # changed again, as a new input would. The quarter's groups are the month's
        # raters, so the same groups are shown and hidden, and its comments are the
        # month's (kinerja_period_parts('2026-Q2') holds 2026-04).
        quarter = "2026-Q2"
        self.stack.sql("SELECT kinerja_publish_setting('workflow.cadence', 'quarterly')")
        self.addCleanup(self.stack.sql, "SELECT kinerja_publish_setting('workflow.cadence', 'monthly')")
        self.stack.sql("UPDATE score_periods SET generation = generation + 1 WHERE period = %s", (PERIOD,))
        self.stack.wait_for(lambda: self.stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND version >= 1 AND employee = ANY(%s)",
            (quarter, [E1, E2])) == 2, timeout=SETTLE_TIMEOUT, what="the quarter's results")
        docs = {}
        for who in (E1, E2):
            r = self.stack.kinerja("score", who, "--period", quarter, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            docs[who] = json.loads(r.stdout)
        self.assertEqual(docs[E1]["comments"], self.doc(E1)["comments"])
        self.assertEqual(len(docs[E1]["comments"]), 1 + 3 + 3 + 1)
        self.assertEqual(docs[E2]["comments"], [{"group": "supervisor", "text": E2_SUP, "at": AT}])

    def test_table_section(self):
        out, section = self.table_section(E1)
        lines = section.splitlines()
        want = expected([("supervisor", E1_SUP), ("self", E1_SELF)] + [("peer", c) for c in E1_PEERS] +
                        [("citizen", c) for c in E1_CITIZENS])
        self.assertEqual(len(lines), len(want), section)
        for line, (g, t) in zip(lines, want):
            self.assertTrue(line.strip().startswith(g), line)
            self.assertTrue(line.endswith(t), line)
            if g in ("supervisor", "self"):
                self.assertIn("2026-04-08 07:00", line)
        for rater in [SUP, E1] + P:
            self.assertNotIn(rater, section)
        out2, section2 = self.table_section(E2)
        self.assertEqual(len(section2.splitlines()), 1, section2)
        self.assertIn(E2_SUP, section2)
        for c in E2_HIDDEN:
            self.assertNotIn(c, out2)


if __name__ == "__main__":
    unittest.main()
