"""
`kinerja report skm --period P [--unit U]` (SPEC 5.6, PermenPANRB 14/2017's layout), on
citizen feedback sent through the real broker and stored by the ingest and score workers.

UNIT-A gets five SKM responses (u1..u9) and one smiley press with a comment:
    r1  4 4 3 4 3 4 4 3 4   f  30_39  s1      pns        comment: a hostile <script> text
    r2  3 4 2 3 3 4 3 3 4   m  20_29  sma     swasta     (about an employee: never shown)
    r3  4 3 2 4 4 3 4 2 3   f  60plus s2plus  wirausaha
    r4  3 3 1 4 3 3 4 3 3   f  -      -       -
    r5  4 4 4 4 4 4 4 4 4   -  -      -       -          comment: "Petugas ramah"
    press rating 2                                       comment: a spreadsheet formula
sums 18 18 12 19 17 18 19 15 18, total 154, n 5:
    NRR = S / 5         3.600 3.600 2.400 3.800 3.400 3.600 3.800 3.000 3.600
    NRR tertimbang /9   0.400 0.400 0.267 0.422 0.378 0.400 0.422 0.333 0.400
      (2.4 / 9 = 0.2666.., 3.8 / 9 = 0.4222.., 3.4 / 9 = 0.3777.., 3 / 9 = 0.3333..)
    value = NRR x 25    90.00 A, 60.00 D, 95.00 A, 85.00 B, 75.00 C
    sum of tertimbang   154 / 45 = 3.4222.. -> 3.422
    IKM = 25 x 154 / 45 = 85.555.. -> 85.56, mutu B (76.61..88.30), the unit report's figure
    weakest: u3 (sum 12)
UNIT-B has no responses: its row is there with n 0 and no IKM.
"""

import calendar
import csv
import io
import json
import unittest
import uuid

from harness import StackTestCase

PERIOD = "2026-11"
TS = calendar.timegm((2026, 11, 10, 3, 0, 0)) * 1000  # 10:00 in Asia/Jakarta, in November
HEAD, STAFF = "199003032015031001", "199003032015031002"
HOSTILE = '<script>alert("x")</script> & antre <b>lama</b>'
FORMULA = '=HYPERLINK("http://evil.example","klik")'
KIND_TEXT = "Petugas ramah"

RESPONSES = [
    ([4, 4, 3, 4, 3, 4, 4, 3, 4], {"gender": "f", "age_band": "30_39", "education": "s1", "occupation": "pns",
                                   "comment": HOSTILE}),
    ([3, 4, 2, 3, 3, 4, 3, 3, 4], {"gender": "m", "age_band": "20_29", "education": "sma",
                                   "occupation": "swasta", "employee": STAFF}),
    ([4, 3, 2, 4, 4, 3, 4, 2, 3], {"gender": "f", "age_band": "60plus", "education": "s2plus",
                                   "occupation": "wirausaha"}),
    ([3, 3, 1, 4, 3, 3, 4, 3, 3], {"gender": "f"}),
    ([4, 4, 4, 4, 4, 4, 4, 4, 4], {"comment": KIND_TEXT}),
]


def feedback(i, **fields):
    e = {"v": 1, "id": str(uuid.uuid4()), "type": "citizen_feedback", "source": "survey:tablet-skm-%d" % i,
         "ts": TS + i * 60000, "unit": "UNIT-A"}
    e.update(fields)
    return e


class SkmReportTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.start_worker(role="score")
        stack.org_import("nip,name,unit,position,supervisor_nip,job_family\n"
                         "%s,Kepala,UNIT-A,kepala,,admin\n"
                         "%s,Staf,UNIT-A,staf,%s,admin\n"
                         "199003032015031003,Kepala B,UNIT-B,kepala,,admin\n" % (HEAD, STAFF, HEAD))
        stack.sql("UPDATE units SET name = 'Dukcapil Kota' WHERE code = 'UNIT-A'")
        events = [feedback(i, skm={"u%d" % (k + 1): a for k, a in enumerate(answers)}, **extra)
                  for i, (answers, extra) in enumerate(RESPONSES)]
        events.append(feedback(9, rating=2, comment=FORMULA, source="kiosk:skm-01"))
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0 and "accepted=6" in r.stdout, r.stdout + r.stderr
        stack.wait_for(lambda: stack.sql_value("SELECT count(*) FROM feedback WHERE unit = 'UNIT-A'") == 6,
                       timeout=60, what="six feedback rows of UNIT-A")
        stack.wait_for(lambda: stack.sql_value("SELECT skm_n FROM unit_scores WHERE unit = 'UNIT-A' AND period = %s",
                                               (PERIOD,)) == 5, timeout=60, what="UNIT-A's IKM computed")

    def report(self, *args, want_rc=0):
        r = self.stack.kinerja("report", "skm", "--period", PERIOD, *args)
        self.assertEqual(r.returncode, want_rc, r.stdout + r.stderr)
        return r

    def test_json_of_one_unit_hand_computed(self):
        doc = json.loads(self.report("--unit", "UNIT-A", "--format", "json").stdout)
        self.assertEqual(len(doc), 1)
        u = doc[0]
        self.assertEqual((u["unit"], u["name"], u["respondents"]), ("UNIT-A", "Dukcapil Kota", 5))
        self.assertEqual(u["profile"]["gender"], {"m": 1, "f": 3, "other": 0, "none": 1})
        self.assertEqual(u["profile"]["age_band"], {"lt20": 0, "20_29": 1, "30_39": 1, "40_49": 0, "50_59": 0,
                                                    "60plus": 1, "other": 0, "none": 2})
        self.assertEqual(u["profile"]["education"]["s1"], 1)
        self.assertEqual(u["profile"]["education"]["none"], 2)
        self.assertEqual(u["profile"]["occupation"]["wirausaha"], 1)
        self.assertEqual(sum(u["profile"]["occupation"].values()), 5)
        el = u["elements"]
        self.assertEqual([e["element"] for e in el], ["u%d" % k for k in range(1, 10)])
        self.assertEqual([e["sum"] for e in el], [18, 18, 12, 19, 17, 18, 19, 15, 18])
        self.assertEqual([e["nrr"] for e in el], [3.6, 3.6, 2.4, 3.8, 3.4, 3.6, 3.8, 3.0, 3.6])
        self.assertEqual([e["nrr_weighted"] for e in el], [0.4, 0.4, 0.267, 0.422, 0.378, 0.4, 0.422, 0.333, 0.4])
        self.assertEqual([e["value"] for e in el], [90.0, 90.0, 60.0, 95.0, 85.0, 90.0, 95.0, 75.0, 90.0])
        self.assertEqual([e["mutu"] for e in el], ["A", "A", "D", "A", "B", "A", "A", "C", "A"])
        self.assertEqual(el[2]["name"], "Waktu penyelesaian")
        self.assertEqual(u["nrr_weighted_sum"], 3.422)
        self.assertEqual(u["ikm"], {"value": 85.56, "mutu": "B", "label": "Baik", "n": 5})
        self.assertEqual(u["weakest"], ["u3"])
        # comments: the text, its month and the kind of response, newest first; never who
        self.assertEqual(u["comments_total"], 3)
        self.assertEqual(u["comments"], [
            {"month": PERIOD, "kind": "rating", "text": FORMULA},
            {"month": PERIOD, "kind": "skm", "text": KIND_TEXT},
            {"month": PERIOD, "kind": "skm", "text": HOSTILE},
        ])
        raw = self.report("--unit", "UNIT-A", "--format", "json").stdout
        for who in (STAFF, "survey:tablet", "kiosk:skm"):
            self.assertNotIn(who, raw)

    def test_the_ikm_is_the_unit_reports_figure(self):
        unit = json.loads(self.stack.kinerja("report", "unit", "--period", PERIOD, "--format", "json").stdout)
        a = [u for u in unit if u["unit"] == "UNIT-A"][0]
        self.assertEqual(a["ikm"], {"value": 85.56, "mutu": "B", "n": 5})
        skm = json.loads(self.report("--format", "json").stdout)
        self.assertEqual([u["unit"] for u in skm], ["UNIT-A", "UNIT-B"])
        self.assertEqual(skm[0]["ikm"]["value"], a["ikm"]["value"])
        b = skm[1]
        self.assertEqual((b["respondents"], b["ikm"], b["profile"], b["weakest"], b["nrr_weighted_sum"]),
                         (0, None, None, [], None))
        self.assertEqual({e["nrr"] for e in b["elements"]}, {None})

    def test_html_escapes_a_hostile_comment(self):
        page = self.report("--unit", "UNIT-A", "--format", "html").stdout
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; antre &lt;b&gt;lama&lt;/b&gt;", page)
        self.assertNotIn("<script", page)
        self.assertNotIn("<b>lama", page)
        self.assertIn('<li>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; antre &lt;b&gt;lama&lt;/b&gt; '
                      '<small>(2026-11)</small></li>', page)
        # the regulation's order: respondents, profile, elements, IKM, weakest, comments
        marks = ['class="respondents">5<', '<table class="profile">', '<table class="elements">',
                 '<p class="ikm">IKM unit pelayanan: <strong>85.56</strong>, mutu <strong>B</strong> (Baik)</p>',
                 '<p class="weakest">Unsur dengan nilai terendah: Waktu penyelesaian (60.00)</p>',
                 '<ul class="comments">']
        at = [page.find(m) for m in marks]
        self.assertNotIn(-1, at, list(zip(marks, at)))
        self.assertEqual(at, sorted(at))
        self.assertIn('<tr><td>u3</td><td>Waktu penyelesaian</td><td class="n">2.400</td><td class="n">0.267</td>'
                      '<td class="n">60.00</td><td>D</td></tr>', page)
        # the whole organisation: UNIT-B without responses has no profile and no IKM line
        every = self.report("--format", "html").stdout
        b = every[every.index("<h2>UNIT-B"):]
        self.assertIn("Profil responden ditampilkan mulai 5 responden.", b)
        self.assertNotIn('class="ikm"', b)
        self.assertIn("Belum ada survei SKM pada periode ini.", b)

    def test_csv_and_table_rows_in_the_regulations_order(self):
        rows = list(csv.reader(io.StringIO(self.report("--unit", "UNIT-A", "--format", "csv").stdout)))
        self.assertEqual(rows[0], ["unit", "section", "item", "label", "n", "nrr", "nrr_weighted", "value", "mutu",
                                   "text"])
        sections = []
        for r in rows[1:]:
            if not sections or sections[-1] != r[1]:
                sections.append(r[1])
        self.assertEqual(sections, ["respondents", "profile", "element", "total", "ikm", "weakest", "comments",
                                    "comment"])
        by = {(r[1], r[2]): r for r in rows[1:] if r[1] != "comment"}
        self.assertEqual(by[("element", "u3")][4:9], ["5", "2.400", "0.267", "60.00", "D"])
        self.assertEqual(by[("ikm", "ikm")][7:10], ["85.56", "B", "Baik"])
        self.assertEqual(by[("profile", "gender.f")][4], "3")
        self.assertEqual(by[("weakest", "u3")][3], "Waktu penyelesaian")
        # a spreadsheet formula in a comment is neutralised (a leading quote)
        self.assertIn("'" + FORMULA, [r[9] for r in rows[1:] if r[1] == "comment"])
        table = self.report("--unit", "UNIT-A").stdout
        self.assertIn("Laporan Survei Kepuasan Masyarakat (PermenPANRB 14/2017), period %s" % PERIOD, table)
        ikm_line = [line for line in table.splitlines() if "IKM unit pelayanan" in line][0]
        self.assertIn("85.56", ikm_line)
        self.assertIn("Baik", ikm_line)

    def test_unknown_unit_and_usage(self):
        r = self.report("--unit", "UNIT-NOPE", want_rc=1)
        self.assertIn("unit: no unit 'UNIT-NOPE'", r.stderr)
        r = self.stack.kinerja("report", "skm")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--period missing", r.stderr)


if __name__ == "__main__":
    unittest.main()
