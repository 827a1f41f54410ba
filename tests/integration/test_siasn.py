"""
The org CSV's optional columns, angka kredit and the SIASN export (SPEC 4, 5.11, 9):

  - `kinerja org import` with only the six columns, then with `ak_coefficient` and
    `unit_name` (in that order, after the six), then without them again (the stored
    coefficients and names stay); bad coefficients and two names for one unit are
    refused naming the line and the field, and change nothing;
  - `kinerja report angka-kredit`: a month of Baik signed through the real pipeline
    (broker, ingest and score workers, `kinerja signoff`), a quarter of Baik and a year
    of Sangat Baik written by SQL as the workflow leaves a signed result (results with
    its approval audit row, score_versions); an unsigned result and an employee without a
    coefficient are absent;
  - `kinerja export siasn` (csv and json): each field of the signed records, the
    evaluator an ASN supervisor or an evaluator who is not ASN.
"""

import csv
import io
import json
import time
import uuid

from harness import StackTestCase

MONTH = "2026-04"
QUARTER = "2026-Q2"
YEAR = "2026"
TS = 1775606400000  # 2026-04-08T00:00:00Z: inside MONTH in Asia/Jakarta
KEYS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif"]
SETTLE_TIMEOUT = 60
EVALUATOR = "bupati:sumba-barat"
UNIT, UNIT_NAME = "DIKBUD", "Dinas Pendidikan dan Kebudayaan"


def nip(n):
    return "1988070720120710%02d" % n


TOP, MID = nip(1), nip(2)
E1, E2, E3, E4 = nip(11), nip(12), nip(13), nip(14)
BASIC = "nip,name,unit,position,supervisor_nip,job_family\n"
ROWS = [(TOP, "Kepala Dinas", "Kepala Dinas", EVALUATOR, "admin", "", UNIT_NAME),
        (MID, "Kepala Bidang", "Kepala Bidang Guru", TOP, "admin", "", ""),
        (E1, "Guru Satu", "Guru Ahli Pertama", MID, "teacher", "12.5", UNIT_NAME),
        (E2, "Guru Dua", "Guru Ahli Pertama", MID, "teacher", "12.5", ""),
        (E3, "Guru Tiga", "Guru Ahli Pertama", MID, "teacher", "12.5", ""),
        (E4, "Staf Empat", "Pengadministrasi", MID, "admin", "", "")]


def org_basic():
    return BASIC + "".join("%s,%s,%s,%s,%s,%s\n" % (n, name, UNIT, pos, sup, fam)
                           for n, name, pos, sup, fam, _, _ in ROWS)


def org_full():
    return ("nip,name,unit,position,supervisor_nip,job_family,ak_coefficient,unit_name\n" +
            "".join("%s,%s,%s,%s,%s,%s,%s,%s\n" % (n, name, UNIT, pos, sup, fam, ak, un)
                    for n, name, pos, sup, fam, ak, un in ROWS))


def evaluation(employee, rater, value, hasil):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "evaluation", "source": "app:360", "ts": TS,
            "employee": employee, "period": MONTH, "rater": rater, "relation": "supervisor",
            "behaviour": {k: value for k in KEYS}, "hasil_kerja": hasil}


def work_result(employee):
    return {"v": 1, "id": str(uuid.uuid4()), "type": "work_result", "source": "app:skp", "ts": TS,
            "employee": employee, "period": MONTH, "indicator": "SKP-1", "target": 10, "realization": 10}


class SiasnTest(StackTestCase):
    stack_options = {"shards": 2}

    @classmethod
    def setup_stack(cls, stack):
        stack.start_all(workers=1)
        stack.start_worker("score")
        ev = stack.write_file("evaluators.csv", "id,name,position\n%s,Bupati Sumba Barat,Bupati\n" % EVALUATOR)
        r = stack.kinerja("org", "import", "--evaluators", ev)
        assert r.returncode == 0, r.stderr
        stack.org_import(org_basic())
        cls.basic = {n: stack.sql("SELECT ak_coefficient FROM employees WHERE nip = %s", (n,))[0][0]
                     for n, *_ in ROWS}
        cls.basic_unit_name = stack.sql_value("SELECT name FROM units WHERE code = %s", (UNIT,))
        stack.org_import(org_full(), name="org_full.csv")
        # E2 and E3: supervisor evaluation (meets; 4 on every value: perilaku above) and a
        # work result at target: predikat Baik (hasil meets x perilaku above). E2 is signed,
        # E3 left pending. E4 (no coefficient): the same, signed.
        events = []
        for n in (E2, E3, E4):
            events += [evaluation(n, MID, 4, "meets"), work_result(n)]
        r = stack.kinerja("send", "-", input="".join(json.dumps(e) + "\n" for e in events))
        assert r.returncode == 0 and "accepted=%d" % len(events) in r.stdout, r.stdout + r.stderr
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'pending_signoff' AND employee = ANY(%s)",
            (MONTH, [E2, E3, E4])) == 3, timeout=SETTLE_TIMEOUT, what="three results pending_signoff")
        for n in (E2, E4):
            version = stack.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s", (n, MONTH))
            r = stack.kinerja("signoff", n, "--period", MONTH, "--supervisor", MID, "--approve",
                              "--version", version)
            assert r.returncode == 0, r.stdout + r.stderr
        stack.wait_for(lambda: stack.sql_value(
            "SELECT count(*) FROM results WHERE period = %s AND state = 'approved' AND employee = ANY(%s)",
            (MONTH, [E2, E4])) == 2, timeout=SETTLE_TIMEOUT, what="E2 and E4 approved")
        # Signed results as the workflow leaves them (no inputs in these periods, so the
        # score worker never touches them): the approval's actor in result_audit, the
        # version's ratings in score_versions.
        for emp, period, predikat, hasil, perilaku, signer in (
                (E1, QUARTER, "baik", "meets", "above", MID),
                (E1, YEAR, "sangat_baik", "above", "above", MID),
                (TOP, MONTH, "baik", "above", "meets", EVALUATOR)):
            stack.sql("INSERT INTO score_versions (employee, period, version, predikat, score, result)"
                      " VALUES (%s, %s, 1, %s, 80, %s)",
                      (emp, period, predikat, json.dumps({"predikat": predikat, "hasil_kerja": {"rating": hasil},
                                                          "perilaku": {"rating": perilaku}})))
            stack.sql("INSERT INTO results (employee, period, state, version, predikat, score, approved_at,"
                      " transition_actor) VALUES (%s, %s, 'approved', 1, %s, 80, now(), %s)",
                      (emp, period, predikat, signer))

    def cli(self, *args, expect=0):
        r = self.stack.kinerja(*args)
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)
        return r

    def ak(self, period):
        return json.loads(self.cli("report", "angka-kredit", "--period", period, "--format", "json").stdout)

    # ---- org import -------------------------------------------------------------------

    def test_org_import_without_and_with_the_optional_columns(self):
        # the six columns only: no coefficient, no unit name
        self.assertEqual(set(self.basic.values()), {None})
        self.assertIsNone(self.basic_unit_name)
        # with them (ak_coefficient before unit_name): E1..E3 have 12.5, the unit its name
        rows = dict(self.stack.sql("SELECT nip, ak_coefficient::text FROM employees"))
        self.assertEqual(rows[E1], "12.500")
        self.assertEqual(rows[E3], "12.500")
        self.assertIsNone(rows[E4])
        self.assertEqual(self.stack.sql_value("SELECT name FROM units WHERE code = %s", (UNIT,)), UNIT_NAME)
        # again without the columns: nothing changes (coefficients and name kept)
        r = self.stack.org_import(org_basic(), name="org_again.csv")
        self.assertIn("employees=0", r.stdout)
        self.assertEqual(self.stack.sql_value("SELECT ak_coefficient::text FROM employees WHERE nip = %s", (E1,)),
                         "12.500")
        self.assertEqual(self.stack.sql_value("SELECT name FROM units WHERE code = %s", (UNIT,)), UNIT_NAME)
        # the columns in the other order, a coefficient changed: that one row changes
        text = ("nip,name,unit,position,supervisor_nip,job_family,unit_name,ak_coefficient\n" +
                "".join("%s,%s,%s,%s,%s,%s,%s,%s\n" % (n, name, UNIT, pos, sup, fam, un, "12.5" if ak else "")
                        for n, name, pos, sup, fam, ak, un in ROWS))
        self.assertIn("employees=0", self.stack.org_import(text, name="org_reordered.csv").stdout)
        r = self.stack.org_import(text.replace("%s,12.5" % UNIT_NAME, "%s,25" % UNIT_NAME, 1), name="org_25.csv")
        self.assertIn("employees=1", r.stdout)
        self.assertEqual(self.stack.sql_value("SELECT ak_coefficient::text FROM employees WHERE nip = %s", (E1,)),
                         "25.000")
        self.stack.org_import(org_full(), name="org_back.csv")
        self.assertEqual(self.stack.sql_value("SELECT ak_coefficient::text FROM employees WHERE nip = %s", (E1,)),
                         "12.500")

    def test_org_import_refuses_bad_optional_values(self):
        head = "nip,name,unit,position,supervisor_nip,job_family,ak_coefficient,unit_name\n"
        line2 = "%s,Guru Satu,%s,Guru,%s,teacher,%%s,%s\n" % (E1, UNIT, MID, UNIT_NAME)
        for value, why in (("\"12,5\"", "ak_coefficient: must be a number >= 0 such as 12.5, got '12,5'"),
                           ("-1", "ak_coefficient: must be a number >= 0 such as 12.5, got '-1'"),
                           ("1.2345", "ak_coefficient: at most 3 decimals and 1000, got '1.2345'"),
                           ("abc", "ak_coefficient: must be a number >= 0 such as 12.5, got 'abc'")):
            path = self.stack.write_file("bad_ak.csv", head + line2 % value)
            r = self.cli("org", "import", path, expect=1)
            self.assertIn("line 2: " + why, r.stderr)
        # two names for one unit
        text = head + line2 % "12.5" + "%s,Guru Dua,%s,Guru,%s,teacher,12.5,Dinas Lain\n" % (E2, UNIT, MID)
        r = self.cli("org", "import", self.stack.write_file("bad_name.csv", text), expect=1)
        self.assertIn("line 3: unit_name: unit %s is named '%s' on line 2 and 'Dinas Lain' here" % (UNIT, UNIT_NAME),
                      r.stderr)
        # a row with fewer fields than the header
        r = self.cli("org", "import", self.stack.write_file("short.csv", head + "%s,Guru Satu,%s,Guru,%s,teacher\n"
                                                            % (E1, UNIT, MID)), expect=1)
        self.assertIn("line 2: expected 8 fields, got 6", r.stderr)
        self.assertEqual(self.stack.sql_value("SELECT ak_coefficient::text FROM employees WHERE nip = %s", (E1,)),
                         "12.500")
        self.assertEqual(self.stack.sql_value("SELECT name FROM units WHERE code = %s", (UNIT,)), UNIT_NAME)

    # ---- angka kredit -----------------------------------------------------------------

    def test_angka_kredit_of_a_quarter_a_year_and_a_month(self):
        # a quarter of Baik, coefficient 12.5: 12.5 x 100% x 3/12 = 3.125 -> 3.13 (half up)
        self.assertEqual(self.ak(QUARTER), [{
            "employee": E1, "name": "Guru Satu", "unit": UNIT, "position": "Guru Ahli Pertama",
            "period": QUARTER, "predikat": "baik", "coefficient": 12.5, "share_percent": 100, "months": 3,
            "angka_kredit": 3.13}])
        # a year of Sangat Baik: 12.5 x 150% x 12/12 = 18.75
        year = self.ak(YEAR)
        self.assertEqual([(r["employee"], r["predikat"], r["share_percent"], r["months"], r["angka_kredit"])
                          for r in year], [(E1, "sangat_baik", 150, 12, 18.75)])
        # the month: E2 signed Baik: 12.5 x 100% x 1/12 = 1.041666.. -> 1.04. E3 (pending,
        # unsigned) and E4 (signed, no coefficient) and TOP (no coefficient) are absent.
        month = self.ak(MONTH)
        self.assertEqual([(r["employee"], r["predikat"], r["months"], r["angka_kredit"]) for r in month],
                         [(E2, "baik", 1, 1.04)])
        self.assertEqual(self.stack.sql_value("SELECT state::text FROM results WHERE employee = %s AND period = %s",
                                              (E3, MONTH)), "pending_signoff")
        # the table and CSV show the same figure
        table = self.cli("report", "angka-kredit", "--period", QUARTER).stdout
        self.assertIn("3.13", table)
        self.assertIn("half up", table)
        rows = list(csv.DictReader(io.StringIO(
            self.cli("report", "angka-kredit", "--period", QUARTER, "--format", "csv").stdout)))
        self.assertEqual([(r["employee"], r["coefficient"], r["angka_kredit"]) for r in rows], [(E1, "12.5", "3.13")])

    def test_angka_kredit_follows_an_appeal_revision(self):
        # a revised predikat counts: the year revised to baik: 12.5 x 100% x 12/12 = 12.50
        self.stack.sql("UPDATE results SET revised_predikat = 'baik' WHERE employee = %s AND period = %s",
                       (E1, YEAR))
        try:
            self.assertEqual([(r["predikat"], r["angka_kredit"]) for r in self.ak(YEAR)], [("baik", 12.5)])
        finally:
            self.stack.sql("UPDATE results SET revised_predikat = NULL WHERE employee = %s AND period = %s",
                           (E1, YEAR))

    # ---- SIASN export -----------------------------------------------------------------

    def expected_month(self):
        e2 = {"pnsDinilaiNip": E2, "pnsDinilaiNama": "Guru Dua", "periode": MONTH, "tahun": 2026,
              "bulanMulaiPenilaian": 4, "tahunMulaiPenilaian": 2026, "bulanSelesaiPenilaian": 4,
              "tahunSelesaiPenilaian": 2026,
              "hasilKinerjaNilai": 2, "hasilKinerja": "Sesuai Ekspektasi",
              "perilakuKerjaNilai": 3, "perilakuKerja": "Di Atas Ekspektasi",
              "kuadranKinerjaNilai": 4, "kuadranKinerja": "Baik", "predikat": "baik",
              "penilaiNipNrp": MID, "penilaiNama": "Kepala Bidang", "penilaiJabatanNama": "Kepala Bidang Guru",
              "penilaiUnorNama": UNIT_NAME, "statusPenilai": "ASN",
              "versi": self.stack.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s",
                                            (E2, MONTH)),
              "status": "approved"}
        e4 = dict(e2, pnsDinilaiNip=E4, pnsDinilaiNama="Staf Empat",
                  versi=self.stack.sql_value("SELECT version FROM results WHERE employee = %s AND period = %s",
                                             (E4, MONTH)))
        # TOP: signed by the regional head, an evaluator who is not ASN (no unit)
        top = dict(e2, pnsDinilaiNip=TOP, pnsDinilaiNama="Kepala Dinas", hasilKinerjaNilai=3,
                   hasilKinerja="Di Atas Ekspektasi", perilakuKerjaNilai=2, perilakuKerja="Sesuai Ekspektasi",
                   penilaiNipNrp=EVALUATOR, penilaiNama="Bupati Sumba Barat", penilaiJabatanNama="Bupati",
                   penilaiUnorNama=None, statusPenilai="NON ASN", versi=1)
        # by unit (all DIKBUD), then NIP: TOP (..01) before E2 (..12) and E4 (..14)
        return [top, e2, e4]

    def test_export_siasn_json_field_by_field(self):
        got = json.loads(self.cli("export", "siasn", "--period", MONTH, "--format", "json").stdout)
        want = self.expected_month()
        self.assertEqual(got, want)
        self.assertEqual(list(got[0].keys()), list(want[0].keys()))  # the documented order
        self.assertNotIn(E3, [r["pnsDinilaiNip"] for r in got])      # unsigned: absent

    def test_export_siasn_csv_field_by_field(self):
        text = self.cli("export", "siasn", "--period", MONTH).stdout  # csv is the default
        self.assertTrue(text.startswith("pnsDinilaiNip,pnsDinilaiNama,periode,tahun,bulanMulaiPenilaian,"), text)
        rows = list(csv.DictReader(io.StringIO(text)))
        want = [{k: "" if v is None else str(v) for k, v in r.items()} for r in self.expected_month()]
        self.assertEqual(rows, want)

    def test_export_siasn_quarter_and_year(self):
        q = json.loads(self.cli("export", "siasn", "--period", QUARTER, "--format", "json").stdout)
        self.assertEqual([(r["pnsDinilaiNip"], r["tahun"], r["bulanMulaiPenilaian"], r["bulanSelesaiPenilaian"],
                           r["kuadranKinerjaNilai"]) for r in q], [(E1, 2026, 4, 6, 4)])
        y = json.loads(self.cli("export", "siasn", "--period", YEAR, "--format", "json").stdout)
        self.assertEqual([(r["bulanMulaiPenilaian"], r["bulanSelesaiPenilaian"], r["hasilKinerjaNilai"],
                           r["perilakuKerjaNilai"], r["kuadranKinerjaNilai"], r["kuadranKinerja"]) for r in y],
                         [(1, 12, 3, 3, 5, "Sangat Baik")])
        # a period with no signed result: an empty array / only the header; bad input: usage
        self.assertEqual(json.loads(self.cli("export", "siasn", "--period", "2025-01", "--format", "json").stdout),
                         [])
        self.assertEqual(len(self.cli("export", "siasn", "--period", "2025-01").stdout.splitlines()), 1)
        self.cli("export", "siasn", "--period", "2026-Q5", expect=2)
        self.cli("export", "siasn", "--period", MONTH, "--format", "xml", expect=2)
        self.cli("export", "nothing", "--period", MONTH, expect=2)
