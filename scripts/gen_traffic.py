#!/usr/bin/env python3
"""
gen_traffic: a simulated organisation and a simulated day of traffic for Kinerja, for the
demo, the integration tests and benchmarks. Deterministic by seed; Python standard
library only (it runs under whatever python3 is first on PATH).

Organisation (SPEC 4 CSV: nip,name,unit,position,supervisor_nip,job_family):
  per city a Sekretaris Daerah (unit SETDA-<city>, top of the chain); per agency and city
  a kepala dinas (unit e.g. DINKES-KPG) reporting to the Sekda; per service unit (e.g.
  DUKCAPIL-KPG, PUSKESMAS-MTR) a head reporting to the agency's kepala dinas, one
  mid-level supervisor (Kepala Seksi, Wakil Kepala Sekolah...) reporting to the head
  when the unit has 5 or more people, and staff reporting to the head or to the
  mid-level supervisor. Job families teacher / health / admin. NIPs look real: birth
  date yyyymmdd + appointment yyyymm + gender digit (1 male, 2 female) + 3-digit serial.

Events (SPEC 3 JSON, one per line), for one day 08:00-16:00 WITA: kiosk smiley presses
(citizen_feedback with rating), SKM surveys (skm u1..u9), 360 evaluations (supervisor,
peer, subordinate and self, each with the relation the organisation allows), SKP
work_result events; on request also the workflow types (signoff, appeal,
appeal_decision, recalc) from the right people. Optionally: invalid events (each with the field its error must
name), events about an employee the organisation does not have, repeated ids.

    gen_traffic.py org --units 10 > org.csv
    gen_traffic.py org --units 10 --evaluators evaluators.csv > org.csv   (Sekda signed by the
        regional head, an evaluator who is not ASN: import evaluators.csv first)
    gen_traffic.py events --org org.csv --count 5000 --invalid 30 --unknown 10 --repeat 20 > events.jsonl

As a module: make_org(), build_org(), Org.from_csv(), make_events() -> Traffic
(events and, per event, the outcome a correct Kinerja gives it), to_jsonl().
"""

import argparse
import copy
import csv
import datetime as dt
import io
import json
import random
import sys
import uuid

# --- the organisation ----------------------------------------------------------------

CITIES = [("KPG", "kupang"), ("MTR", "mataram"), ("ATB", "atambua"), ("BIM", "bima"),
          ("END", "ende"), ("SBW", "sumbawa")]

AGENCIES = {
    "DISDUKCAPIL": "Kepala Dinas Kependudukan dan Pencatatan Sipil",
    "DINKES": "Kepala Dinas Kesehatan",
    "DISDIK": "Kepala Dinas Pendidikan dan Kebudayaan",
    "BAPENDA": "Kepala Badan Pendapatan Daerah",
    "DPMPTSP": "Kepala Dinas Penanaman Modal dan PTSP",
    "DISNAKER": "Kepala Dinas Tenaga Kerja",
}

# Service units: prefix, job family, agency, head, mid-level supervisor, staff positions,
# services (kiosk / survey "service" field), respondents of citizen feedback.
SERVICE_UNITS = [
    ("DUKCAPIL", "admin", "DISDUKCAPIL", "Kepala Bidang Pelayanan Pendaftaran Penduduk",
     "Kepala Seksi Identitas Penduduk",
     ["Pengadministrasi Kependudukan", "Operator Layanan Operasional", "Verifikator Data Kependudukan"],
     ["ktp-el", "kartu-keluarga", "akta-kelahiran", "kia"], ["citizen"]),
    ("PUSKESMAS", "health", "DINKES", "Kepala Puskesmas", "Koordinator Pelayanan",
     ["Perawat Ahli Pertama", "Bidan Terampil", "Dokter Ahli Pertama", "Apoteker Ahli Pertama"],
     ["poli-umum", "imunisasi", "kia", "farmasi"], ["citizen"]),
    ("SMPN1", "teacher", "DISDIK", "Kepala Sekolah", "Wakil Kepala Sekolah Bidang Kurikulum",
     ["Guru Ahli Pertama", "Guru Ahli Muda", "Guru Ahli Madya"],
     ["pembelajaran", "bimbingan-konseling"], ["student", "parent"]),
    ("SAMSAT", "admin", "BAPENDA", "Kepala UPT Samsat", "Kepala Seksi Penetapan",
     ["Pengelola Pajak Daerah", "Kasir", "Pranata Komputer Terampil"],
     ["pajak-kendaraan", "balik-nama", "mutasi-kendaraan"], ["citizen"]),
    ("RSUD", "health", "DINKES", "Kepala Instalasi Rawat Jalan", "Kepala Ruangan",
     ["Perawat Ahli Muda", "Dokter Ahli Muda", "Radiografer Terampil", "Pranata Laboratorium Kesehatan"],
     ["rawat-jalan", "igd", "laboratorium", "radiologi"], ["citizen"]),
    ("SDN3", "teacher", "DISDIK", "Kepala Sekolah", "Guru Koordinator Kelas",
     ["Guru Ahli Pertama", "Guru Ahli Muda", "Guru Kelas"],
     ["pembelajaran"], ["parent"]),
    ("MPP", "admin", "DPMPTSP", "Kepala Bidang Pelayanan Perizinan", "Kepala Seksi Perizinan Usaha",
     ["Analis Perizinan", "Pengadministrasi Umum", "Petugas Front Office"],
     ["izin-usaha", "pbg", "izin-praktik"], ["citizen"]),
    ("UPTNAKER", "admin", "DISNAKER", "Kepala UPT Pelayanan Tenaga Kerja", "Kepala Seksi Penempatan",
     ["Pengantar Kerja Ahli Pertama", "Pengadministrasi Umum", "Instruktur Terampil"],
     ["kartu-kuning", "pelatihan-kerja"], ["citizen"]),
]
SERVICE_BY_PREFIX = {t[0]: t for t in SERVICE_UNITS}

MALE_NAMES = ["Agus", "Budi", "Yohanes", "Fransiskus", "Made", "Ketut", "Ahmad", "Yosef", "Lalu",
              "Hendrik", "Stefanus", "Kornelis", "Rahmat", "Wayan", "Putu", "Markus", "Daniel",
              "Arif", "Yusuf", "Petrus", "Dominikus", "Gede", "Andreas", "Ferdinand"]
FEMALE_NAMES = ["Dewi", "Siti", "Maria", "Theresia", "Ni Luh", "Nur", "Rina", "Sri", "Agustina",
                "Fransiska", "Baiq", "Imelda", "Yuliana", "Fitri", "Kristina", "Magdalena",
                "Yasinta", "Ratna", "Wulan", "Anastasia", "Sofia", "Elisabeth", "Novita", "Herlina"]
FAMILY_NAMES = ["Ndun", "Tefa", "Bessie", "Lay", "Riwu", "Kana", "Nalle", "Manafe", "Saputra",
                "Wijaya", "Hidayat", "Lestari", "Pratama", "Suryani", "Santoso", "Halim", "Amaral",
                "Seran", "Bria", "Fanggidae", "Messakh", "Pandie", "Tanesib", "Lake", "Mbura",
                "Sabon", "Kolo", "Rihi", "Ully", "Zainuddin", "Hamzah", "Wahyuni"]

CSV_COLUMNS = ["nip", "name", "unit", "position", "supervisor_nip", "job_family"]


class Employee:
    __slots__ = ("nip", "name", "unit", "position", "supervisor_nip", "job_family")

    def __init__(self, nip, name, unit, position, supervisor_nip, job_family):
        self.nip, self.name, self.unit = nip, name, unit
        self.position, self.supervisor_nip, self.job_family = position, supervisor_nip, job_family

    def row(self):
        return [self.nip, self.name, self.unit, self.position, self.supervisor_nip or "", self.job_family]


class Org:
    """Employees with the supervisor chain, and the relations SPEC 4 allows."""

    def __init__(self, employees):
        self.employees = list(employees)
        self.by_nip = {e.nip: e for e in self.employees}
        self.units = []
        self.members = {}
        self.reports = {e.nip: [] for e in self.employees}
        for e in self.employees:
            if e.unit not in self.members:
                self.units.append(e.unit)
                self.members[e.unit] = []
            self.members[e.unit].append(e.nip)
            if e.supervisor_nip and e.supervisor_nip in self.reports:
                self.reports[e.supervisor_nip].append(e.nip)
        known = [u for u in self.units if unit_prefix(u) in SERVICE_BY_PREFIX]
        # Units that serve the public (kiosks, SKM); every unit when the CSV is foreign.
        self.service_units = known or list(self.units)

    @classmethod
    def from_csv(cls, text):
        rows = csv.DictReader(io.StringIO(text))
        missing = [c for c in CSV_COLUMNS if c not in (rows.fieldnames or [])]
        if missing:
            raise ValueError("organisation CSV lacks column(s) %s" % ", ".join(missing))
        return cls(Employee(r["nip"], r["name"], r["unit"], r["position"], r["supervisor_nip"] or None,
                            r["job_family"]) for r in rows)

    def to_csv(self):
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for e in self.employees:
            w.writerow(e.row())
        return out.getvalue()

    def supervisor(self, nip):
        return self.by_nip[nip].supervisor_nip

    def subordinates(self, nip):
        return list(self.reports.get(nip, []))

    def peers(self, nip):
        """Others in the same unit who are neither the employee's supervisor nor a
        direct report (a plain peer under every reading of SPEC 4)."""
        e = self.by_nip[nip]
        excluded = {nip, e.supervisor_nip} | set(self.reports.get(nip, []))
        return [p for p in self.members[e.unit] if p not in excluded]

    def raters(self, nip):
        """{relation: [rater NIPs]} for the relations this employee can be rated in."""
        out = {"self": [nip]}
        if self.supervisor(nip) and self.supervisor(nip) in self.by_nip:
            out["supervisor"] = [self.supervisor(nip)]
        if self.peers(nip):
            out["peer"] = self.peers(nip)
        if self.subordinates(nip):
            out["subordinate"] = self.subordinates(nip)
        return out


def unit_prefix(code):
    return code.rsplit("-", 1)[0]


def unit_city(code):
    city = code.rsplit("-", 1)[-1].rstrip("0123456789")
    for c, name in CITIES:
        if c == city:
            return name
    return city.lower()


def _nip(rng, used, gender=None, senior=False):
    while True:
        year = rng.randint(1964, 1975) if senior else rng.randint(1968, 2000)
        birth = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
        appointed = min(year + rng.randint(20, 30), 2023)
        g = gender or rng.choice("12")
        nip = "%s%04d%02d%s%03d" % (birth.strftime("%Y%m%d"), appointed, rng.randint(1, 12), g,
                                    rng.randint(1, 999))
        if nip not in used:
            used.add(nip)
            return nip


def _person(rng, used, senior=False):
    gender = rng.choice("12")
    first = rng.choice(MALE_NAMES if gender == "1" else FEMALE_NAMES)
    return _nip(rng, used, gender, senior), "%s %s" % (first, rng.choice(FAMILY_NAMES))


EVALUATOR_CSV_COLUMNS = ["id", "name", "position"]


def evaluator_id(city_name):
    """The id of a city's regional head, an evaluator who is not ASN (SPEC 4: never an
    18-digit NIP): `kepala-daerah:kupang`."""
    return "kepala-daerah:%s" % city_name


def build_org(units=10, per_unit=6, seed=1, evaluators=False):
    """The simulated organisation (see the module comment): `units` service units of
    `per_unit` people each, plus the kepala dinas and Sekda above them. With evaluators,
    each Sekda's supervisor_nip names the city's regional head (evaluator_id), who is
    not ASN and signs the Sekda's results (SPEC 4, 6); org.evaluators lists them."""
    if units < 1 or per_unit < 1:
        raise ValueError("units and per_unit must be >= 1")
    rng = random.Random("org:%d" % seed)
    used = set()
    employees = []
    sekda = {}
    kadis = {}
    regional_heads = []
    for i in range(units):
        tmpl = SERVICE_UNITS[i % len(SERVICE_UNITS)]
        city_index = (i // len(SERVICE_UNITS)) % len(CITIES)
        repeat = i // (len(SERVICE_UNITS) * len(CITIES))
        city = CITIES[city_index][0]
        suffix = city + (str(repeat + 1) if repeat else "")
        prefix, family, agency, head_pos, mid_pos, staff_pos = tmpl[:6]
        if city not in sekda:
            nip, name = _person(rng, used, senior=True)
            sekda[city] = nip
            head_of_region = None
            if evaluators:
                head_of_region = evaluator_id(CITIES[city_index][1])
                regional_heads.append((head_of_region, "Kepala Daerah %s" % CITIES[city_index][1].title(),
                                       "Kepala Daerah"))
            employees.append(Employee(nip, name, "SETDA-" + city, "Sekretaris Daerah", head_of_region, "admin"))
        if (agency, city) not in kadis:
            nip, name = _person(rng, used, senior=True)
            kadis[(agency, city)] = nip
            employees.append(Employee(nip, name, "%s-%s" % (agency, city), AGENCIES[agency], sekda[city], "admin"))
        unit = "%s-%s" % (prefix, suffix)
        head, name = _person(rng, used, senior=True)
        employees.append(Employee(head, name, unit, head_pos, kadis[(agency, city)], family))
        staff_n = per_unit - 1
        mid = None
        if staff_n >= 4:
            mid, name = _person(rng, used)
            employees.append(Employee(mid, name, unit, mid_pos, head, family))
            staff_n -= 1
        for k in range(staff_n):
            nip, name = _person(rng, used)
            sup = mid if (mid and k < staff_n // 2) else head
            employees.append(Employee(nip, name, unit, rng.choice(staff_pos), sup, family))
    org = Org(employees)
    org.evaluators = regional_heads
    return org


def evaluators_csv(org):
    """The evaluators CSV (header id,name,position) for `kinerja org import --evaluators`."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(EVALUATOR_CSV_COLUMNS)
    for row in getattr(org, "evaluators", []):
        w.writerow(row)
    return out.getvalue()


def make_org(units=10, per_unit=6, seed=1):
    """The organisation CSV text (header nip,name,unit,position,supervisor_nip,job_family)."""
    return build_org(units, per_unit, seed).to_csv()


# --- the events ----------------------------------------------------------------------

BERAKHLAK = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
             "kolaboratif"]
WITA = dt.timezone(dt.timedelta(hours=8))  # Asia/Makassar: Kupang, Mataram

# job family -> indicators: (code, target, direction, integer?)
INDICATORS = {
    "admin": [("dokumen_terbit", 400, "higher_better", True),
              ("waktu_layanan_menit", 30, "lower_better", True),
              ("akurasi_data_pct", 98, "higher_better", False),
              ("laporan_tepat_waktu", 12, "higher_better", True)],
    "health": [("kunjungan_pasien", 600, "higher_better", True),
               ("cakupan_imunisasi_pct", 95, "higher_better", False),
               ("waktu_tunggu_menit", 45, "lower_better", True),
               ("rekam_medis_lengkap_pct", 100, "higher_better", False)],
    "teacher": [("jam_mengajar", 96, "higher_better", True),
                ("rpp_disusun", 24, "higher_better", True),
                ("nilai_rata_siswa", 75, "higher_better", False),
                ("kehadiran_siswa_pct", 95, "higher_better", False)],
}
# The respondent profile sets the broker accepts (common/event.c, docs/PROTOCOL.md).
GENDERS = ["m", "f"]
AGE_BANDS = ["lt20", "20_29", "30_39", "40_49", "50_59", "60plus"]
EDUCATION = ["sd", "smp", "sma", "diploma", "s1", "s2plus"]
OCCUPATION = ["pns", "tni", "polri", "swasta", "wirausaha", "pelajar", "lainnya"]
COMMENTS = ["Pelayanan cepat, terima kasih.", "Antrian terlalu lama.", "Petugas ramah dan membantu.",
            "Ruang tunggu panas, mohon AC diperbaiki.", "Informasi persyaratan kurang jelas.",
            "Sangat puas dengan pelayanan hari ini.", "Sistem sering offline."]
EVAL_COMMENTS = ["Selalu siap membantu rekan.", "Perlu meningkatkan ketepatan waktu.",
                 "Inisiatif baik dalam digitalisasi layanan.", "Komunikasi dengan tim sangat baik."]

DEFAULT_MIX = {"kiosk": 55, "skm": 15, "evaluation": 18, "work_result": 12}
# The workflow types (SPEC 3) are off by default: a simulated day is what the kiosks,
# surveys, 360 and SKP apps push. Tests that want every type pass them in mix.
ALL_TYPES_MIX = dict(DEFAULT_MIX, signoff=2, appeal=1, appeal_decision=1, recalc=1)


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


class Traffic:
    """Events in send order and, per event, what a correct Kinerja does with it:
    ("accepted", None), ("duplicate", original_index), ("rejected", field the error
    names), ("unknown", "employee": accepted by the broker, rejected by the worker)."""

    def __init__(self, events, expect):
        self.events = events
        self.expect = expect

    def counts(self):
        """{"sent", "accepted", "duplicate", "rejected", "stored", "worker_rejected"} as
        `kinerja send` and `kinerja status` should report them."""
        c = {"accepted": 0, "duplicate": 0, "rejected": 0, "unknown": 0}
        for status, _ in self.expect:
            c[status] += 1
        return {"sent": len(self.events), "accepted": c["accepted"] + c["unknown"],
                "duplicate": c["duplicate"], "rejected": c["rejected"], "stored": c["accepted"],
                "worker_rejected": c["unknown"]}

    def jsonl(self):
        return to_jsonl(self.events)

    def of_status(self, status):
        return [ev for ev, (s, _) in zip(self.events, self.expect) if s == status]


def to_jsonl(events):
    return "".join(json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n" for ev in events)


class _Gen:
    def __init__(self, org, day, seed):
        self.org = org
        self.rng = random.Random("events:%d" % seed)
        d = dt.date.fromisoformat(day)
        self.day_start_ms = int(dt.datetime(d.year, d.month, d.day, 8, 0, tzinfo=WITA).timestamp() * 1000)
        self.period = d.strftime("%Y-%m")
        # Hidden qualities make the demo's numbers differ between units and people.
        qrng = random.Random("quality:%d" % seed)
        self.unit_q = {u: qrng.uniform(-0.7, 0.6) for u in org.units}
        self.level = {e.nip: _clamp(qrng.gauss(3.7, 0.45), 1.5, 5.0) for e in org.employees}
        self.leniency = {e.nip: qrng.gauss(0.0, 0.3) for e in org.employees}
        self.kiosks = {u: ["kiosk:%s-%s-%02d" % (unit_prefix(u).lower(), unit_city(u), k + 1)
                           for k in range(qrng.randint(1, 3))] for u in org.service_units}

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ts(self):
        return self.day_start_ms + self.rng.randrange(8 * 3600 * 1000)

    def envelope(self, type_, source):
        return {"v": 1, "id": self.uuid(), "type": type_, "source": source, "ts": self.ts()}

    def kiosk(self):
        rng = self.rng
        unit = rng.choice(self.org.service_units)
        ev = self.envelope("citizen_feedback", rng.choice(self.kiosks[unit]))
        ev["unit"] = unit
        staff = self.org.members[unit]
        bias = self.unit_q[unit]
        if rng.random() < 0.7 and staff:
            nip = rng.choice(staff)
            ev["employee"] = nip
            bias += (self.level[nip] - 3.7) * 0.5
        tmpl = SERVICE_BY_PREFIX.get(unit_prefix(unit))
        if tmpl:
            ev["service"] = rng.choice(tmpl[6])
            respondent = rng.choice(tmpl[7])
            if respondent != "citizen":
                ev["respondent"] = respondent
        ev["rating"] = int(_clamp(round(rng.gauss(3.1 + bias, 0.8)), 1, 4))
        return ev

    def skm(self):
        rng = self.rng
        unit = rng.choice(self.org.service_units)
        ev = self.envelope("citizen_feedback", "skm:%s-%s-tablet" % (unit_prefix(unit).lower(), unit_city(unit)))
        ev["unit"] = unit
        if rng.random() < 0.3 and self.org.members[unit]:
            ev["employee"] = rng.choice(self.org.members[unit])
        tmpl = SERVICE_BY_PREFIX.get(unit_prefix(unit))
        if tmpl:
            ev["service"] = rng.choice(tmpl[6])
            respondent = rng.choice(tmpl[7])
            if respondent != "citizen":
                ev["respondent"] = respondent
        mean = 3.1 + self.unit_q[unit]
        ev["skm"] = {"u%d" % k: int(_clamp(round(rng.gauss(mean, 0.6)), 1, 4)) for k in range(1, 10)}
        if rng.random() < 0.8:
            ev["gender"] = rng.choice(GENDERS)
            ev["age_band"] = rng.choice(AGE_BANDS)
            ev["education"] = rng.choice(EDUCATION)
            ev["occupation"] = rng.choice(OCCUPATION)
        if rng.random() < 0.2:
            ev["comment"] = rng.choice(COMMENTS)
        return ev

    def evaluation(self, employee=None):
        rng = self.rng
        nip = employee or rng.choice(self.org.employees).nip
        raters = self.org.raters(nip)
        weights = {"supervisor": 3, "peer": 4, "subordinate": 2, "self": 1}
        relations = sorted(raters)
        relation = rng.choices(relations, [weights[r] for r in relations])[0]
        rater = rng.choice(raters[relation])
        ev = self.envelope("evaluation", "app:e-kinerja-360")
        ev.update({"employee": nip, "period": self.period, "rater": rater, "relation": relation})
        offset = self.leniency[rater] + (0.4 if relation == "self" else 0.0)
        keys = BERAKHLAK if rng.random() < 0.8 else rng.sample(BERAKHLAK, rng.randint(1, 6))
        ev["behaviour"] = {k: int(_clamp(round(rng.gauss(self.level[nip] + offset, 0.5)), 1, 5)) for k in keys}
        if relation == "supervisor" and rng.random() < 0.3:
            lvl = self.level[nip]
            ev["hasil_kerja"] = "above" if lvl > 4.2 else ("meets" if lvl > 3.0 else "below")
        if rng.random() < 0.15:
            ev["comment"] = rng.choice(EVAL_COMMENTS)
        return ev

    def work_result(self, employee=None):
        rng = self.rng
        e = self.org.by_nip[employee] if employee else rng.choice(self.org.employees)
        code, target, direction, integer = rng.choice(INDICATORS.get(e.job_family, INDICATORS["admin"]))
        factor = _clamp(rng.gauss(0.95 + (self.level[e.nip] - 3.7) * 0.15, 0.15), 0.3, 1.5)
        realization = target * (factor if direction == "higher_better" else 1.0 / factor)
        realization = int(round(realization)) if integer else round(realization, 1)
        ev = self.envelope("work_result", "app:e-skp")
        ev.update({"employee": e.nip, "period": self.period, "indicator": code, "target": target,
                   "realization": realization})
        if direction != "higher_better":
            ev["direction"] = direction
        if rng.random() < 0.5:
            ev["weight"] = rng.choice([1, 1, 2, 0.5])
        if rng.random() < 0.3:
            ev["evidence"] = "https://e-skp.example.go.id/bukti/%s/%s" % (e.nip, code)
        return ev

    def _with_chain(self, depth):
        """An employee with `depth` supervisors above them (1: a supervisor; 2: also the
        supervisor's supervisor)."""
        candidates = []
        for e in self.org.employees:
            nip, ok = e.nip, True
            for _ in range(depth):
                nip = self.org.by_nip[nip].supervisor_nip if nip in self.org.by_nip else None
                if not nip or nip not in self.org.by_nip:
                    ok = False
                    break
            if ok:
                candidates.append(e.nip)
        return self.rng.choice(candidates)

    def signoff(self):
        nip = self._with_chain(1)
        ev = self.envelope("signoff", "app:e-kinerja-atasan")
        ev.update({"employee": nip, "period": self.period, "supervisor": self.org.supervisor(nip),
                   "decision": self.rng.choice(["approve", "approve", "return"]), "version": 1})
        if self.rng.random() < 0.3:
            ev["note"] = "Sesuai capaian SKP."
        return ev

    def appeal(self):
        nip = self._with_chain(2)
        ev = self.envelope("appeal", "app:e-kinerja-pegawai")
        ev.update({"employee": nip, "period": self.period,
                   "reason": "Penilaian perilaku tidak mempertimbangkan tugas tambahan."})
        return ev

    def appeal_decision(self):
        nip = self._with_chain(2)
        ev = self.envelope("appeal_decision", "app:e-kinerja-atasan")
        ev.update({"employee": nip, "period": self.period,
                   "decider": self.org.supervisor(self.org.supervisor(nip))})
        if self.rng.random() < 0.5:
            ev["decision"] = "uphold"
        else:
            ev.update({"decision": "revise", "predikat": self.rng.choice(["baik", "sangat_baik"])})
        if self.rng.random() < 0.5:
            ev["note"] = "Sudah diperiksa bersama pejabat penilai."
        return ev

    def recalc(self):
        ev = self.envelope("recalc", "operator:kinerja-cli")
        ev["period"] = self.period
        if self.rng.random() < 0.5:
            ev["unit"] = self.rng.choice(self.org.service_units)
        return ev

    # Invalid events: (base kind, mutation, field the error must name).
    def invalid(self, k):
        rng = self.rng

        def drop(key):
            return lambda ev: ev.pop(key, None)

        def put(key, value):
            return lambda ev: ev.__setitem__(key, value)

        def put_in(outer, key, value):
            return lambda ev: ev[outer].__setitem__(key, value)

        mutations = [
            ("skm", put_in("skm", "u3", 7), "skm.u3"),
            ("kiosk", put("rating", 5), "rating"),
            ("kiosk", put("rating", 3.0), "rating"),
            ("kiosk", drop("unit"), "unit"),
            ("kiosk", put("ratting", 4), "ratting"),
            ("kiosk", put("ts", "2025-03-12T09:00:00+08:00"), "ts"),
            ("kiosk", put("id", "not-a-uuid"), "id"),
            ("work_result", put("employee", "19800101"), "employee"),
            ("evaluation", put("relation", "boss"), "relation"),
            ("evaluation", lambda ev: ev["behaviour"].__setitem__("akuntabel", 6), "behaviour.akuntabel"),
            ("peer_eval", put("hasil_kerja", "above"), "hasil_kerja"),
            ("work_result", put("target", 0), "target"),
            ("work_result", put("period", "2025-13"), "period"),
            ("kiosk", put("source", ""), "source"),
            ("kiosk", put("v", 2), "v"),
            ("kiosk", put("type", "feedbak"), "type"),
            ("skm", lambda ev: ev["skm"].pop("u9"), "skm"),
            ("kiosk", put("comment", "x" * 2001), "comment"),
            ("evaluation", put("behaviour", {}), "behaviour"),
            ("work_result", put("realization", -1), "realization"),
            ("work_result", put("direction", "up"), "direction"),
            ("kiosk", put("respondent", "tourist"), "respondent"),
            ("evaluation", drop("rater"), "rater"),
            ("work_result", put("weight", "1"), "weight"),
        ]
        kind, mutate, field = mutations[k % len(mutations)]
        if kind == "peer_eval":
            candidates = [e.nip for e in self.org.employees if self.org.peers(e.nip)]
            if not candidates:
                return self.invalid(k + 1)
            nip = rng.choice(candidates)
            ev = self.envelope("evaluation", "app:e-kinerja-360")
            ev.update({"employee": nip, "period": self.period, "rater": rng.choice(self.org.peers(nip)),
                       "relation": "peer", "behaviour": {"akuntabel": 4}})
        else:
            ev = {"kiosk": self.kiosk, "skm": self.skm, "evaluation": self.evaluation,
                  "work_result": self.work_result}[kind]()
        mutate(ev)
        return ev, field

    def unknown(self, k):
        """An event valid on the wire about an employee the organisation lacks."""
        used = set(self.org.by_nip)
        nip = _nip(self.rng, used)
        kind = k % 3
        if kind == 0:
            ev = self.work_result()
            ev["employee"] = nip
        elif kind == 1:
            ev = self.envelope("evaluation", "app:e-kinerja-360")
            ev.update({"employee": nip, "period": self.period, "rater": nip, "relation": "self",
                       "behaviour": {b: 4 for b in BERAKHLAK}})
        else:
            ev = self.kiosk()
            ev["employee"] = nip
        return ev


def make_events(org, count=1000, invalid=0, unknown=0, repeat=0, seed=1, day="2025-03-12", mix=None):
    """A simulated day: `count` valid events (kiosk presses, SKM, 360 evaluations, SKP
    results in the proportions of mix) in time order, with `invalid` invalid events,
    `unknown` events about unknown employees and `repeat` copies of earlier valid events
    (same id) placed at random later positions. org: an Org or organisation CSV text."""
    if isinstance(org, str):
        org = Org.from_csv(org)
    if repeat > count:
        raise ValueError("cannot repeat more events than there are valid ones")
    g = _Gen(org, day, seed)
    mix = mix or DEFAULT_MIX
    kinds = sorted(k for k in mix if mix[k] > 0)
    makers = {"kiosk": g.kiosk, "skm": g.skm, "evaluation": g.evaluation, "work_result": g.work_result,
              "signoff": g.signoff, "appeal": g.appeal, "appeal_decision": g.appeal_decision,
              "recalc": g.recalc}
    picks = g.rng.choices(kinds, [mix[k] for k in kinds], k=count) if count else []
    valid = [makers[k]() for k in picks]
    valid.sort(key=lambda ev: ev["ts"])
    items = [(ev, ("accepted", None)) for ev in valid]

    for k in range(invalid):
        ev, field = g.invalid(k)
        items.insert(g.rng.randint(0, len(items)), (ev, ("rejected", field)))
    for k in range(unknown):
        items.insert(g.rng.randint(0, len(items)), (g.unknown(k), ("unknown", "employee")))
    originals = g.rng.sample(range(len(valid)), repeat)
    for i in originals:
        ev = valid[i]
        pos = next(n for n, (e, _) in enumerate(items) if e is ev)
        items.insert(g.rng.randint(pos + 1, len(items)), (copy.deepcopy(ev), ("duplicate", ev["id"])))
    return Traffic([ev for ev, _ in items], [x for _, x in items])


# --- command line --------------------------------------------------------------------

def _parse_mix(text):
    mix = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key not in ALL_TYPES_MIX or not value.isdigit():
            raise argparse.ArgumentTypeError("mix: expected e.g. kiosk=55,skm=15,evaluation=18,work_result=12 "
                                             "(also signoff, appeal, appeal_decision, recalc)")
        mix[key] = int(value)
    return mix


def main(argv=None):
    p = argparse.ArgumentParser(description="Simulated organisation and traffic for Kinerja.")
    sub = p.add_subparsers(dest="cmd", required=True)
    po = sub.add_parser("org", help="organisation CSV on stdout")
    po.add_argument("--units", type=int, default=10)
    po.add_argument("--per-unit", type=int, default=6)
    po.add_argument("--seed", type=int, default=1)
    po.add_argument("--evaluators", metavar="FILE",
                    help="also write the regional heads (evaluators who are not ASN, id,name,position) to FILE "
                         "and name them as the Sekda's supervisor_nip; import FILE with "
                         "`kinerja org import --evaluators FILE` before the organisation")
    pe = sub.add_parser("events", help="a simulated day of events, JSON Lines on stdout")
    pe.add_argument("--org", required=True, help="organisation CSV (from `org`)")
    pe.add_argument("--count", type=int, default=1000, help="valid events")
    pe.add_argument("--invalid", type=int, default=0, help="events the broker must reject")
    pe.add_argument("--unknown", type=int, default=0, help="events about unknown employees")
    pe.add_argument("--repeat", type=int, default=0, help="copies of earlier events (same id)")
    pe.add_argument("--seed", type=int, default=1)
    pe.add_argument("--day", default="2025-03-12", help="YYYY-MM-DD (times 08:00-16:00 WITA)")
    pe.add_argument("--mix", type=_parse_mix, default=None,
                    help="kiosk=55,skm=15,evaluation=18,work_result=12 (also signoff, appeal, appeal_decision, recalc)")
    pe.add_argument("--all-types", action="store_true", help="also the workflow types, a few percent each")
    pe.add_argument("--expect", help="also write the expected outcome per event (JSON Lines) here")
    a = p.parse_args(argv)
    if a.cmd == "org":
        org = build_org(a.units, a.per_unit, a.seed, evaluators=bool(a.evaluators))
        if a.evaluators:
            with open(a.evaluators, "w", encoding="utf-8") as f:
                f.write(evaluators_csv(org))
        sys.stdout.write(org.to_csv())
        return 0
    with open(a.org, encoding="utf-8") as f:
        org = Org.from_csv(f.read())
    mix = a.mix or (ALL_TYPES_MIX if a.all_types else None)
    t = make_events(org, a.count, a.invalid, a.unknown, a.repeat, a.seed, a.day, mix)
    sys.stdout.write(t.jsonl())
    if a.expect:
        with open(a.expect, "w", encoding="utf-8") as f:
            for ev, (status, detail) in zip(t.events, t.expect):
                f.write(json.dumps({"id": ev.get("id"), "status": status, "detail": detail}) + "\n")
    c = t.counts()
    sys.stderr.write("gen_traffic: %d events (accepted %d, duplicate %d, rejected %d; of the accepted, "
                     "%d about unknown employees)\n" % (c["sent"], c["accepted"], c["duplicate"],
                                                        c["rejected"], c["worker_rejected"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
