/*
 * kinerja export siasn --period P [--format csv|json] (SPEC 9): the signed results of a
 * period in the fields of SIASN's periodic-kinerja record, one record per result, read
 * through common/siasn.c. Field by field (meaning, source, SIASN's name): docs/SIASN.md.
 * The field names are SIASN's (camelCase) where SIASN has the field; Kinerja's own
 * fields (periode, predikat, versi, status) follow them. CSV is RFC 4180 with a header
 * line; a text cell a spreadsheet would run as a formula gets a leading single quote.
 * JSON is an array of objects, one a line, numbers as numbers and null for none.
 */
#include "angkakredit.h"
#include "cli.h"
#include "siasn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_CSV_FORMULA_LEADS "=+-@\t\r" /* first characters a spreadsheet takes as a formula */
#define EXPORT_NUM_MAX 24                   /* bytes of a formatted integer */

enum export_format { EXPORT_CSV, EXPORT_JSON };
enum export_kind { EXPORT_INT, EXPORT_TEXT };

/* The fields in output order (docs/SIASN.md documents each). */
enum export_field {
    F_NIP,
    F_NAME,
    F_PERIODE,
    F_TAHUN,
    F_BULAN_MULAI,
    F_TAHUN_MULAI,
    F_BULAN_SELESAI,
    F_TAHUN_SELESAI,
    F_HASIL_NILAI,
    F_HASIL,
    F_PERILAKU_NILAI,
    F_PERILAKU,
    F_KUADRAN_NILAI,
    F_KUADRAN,
    F_PREDIKAT,
    F_PENILAI_NIP,
    F_PENILAI_NAMA,
    F_PENILAI_JABATAN,
    F_PENILAI_UNOR,
    F_STATUS_PENILAI,
    F_VERSI,
    F_STATUS,
    F_COUNT
};

static const struct {
    const char *name;
    enum export_kind kind;
} export_fields[F_COUNT] = {
    [F_NIP] = {"pnsDinilaiNip", EXPORT_TEXT},
    [F_NAME] = {"pnsDinilaiNama", EXPORT_TEXT},
    [F_PERIODE] = {"periode", EXPORT_TEXT},
    [F_TAHUN] = {"tahun", EXPORT_INT},
    [F_BULAN_MULAI] = {"bulanMulaiPenilaian", EXPORT_INT},
    [F_TAHUN_MULAI] = {"tahunMulaiPenilaian", EXPORT_INT},
    [F_BULAN_SELESAI] = {"bulanSelesaiPenilaian", EXPORT_INT},
    [F_TAHUN_SELESAI] = {"tahunSelesaiPenilaian", EXPORT_INT},
    [F_HASIL_NILAI] = {"hasilKinerjaNilai", EXPORT_INT},
    [F_HASIL] = {"hasilKinerja", EXPORT_TEXT},
    [F_PERILAKU_NILAI] = {"perilakuKerjaNilai", EXPORT_INT},
    [F_PERILAKU] = {"perilakuKerja", EXPORT_TEXT},
    [F_KUADRAN_NILAI] = {"kuadranKinerjaNilai", EXPORT_INT},
    [F_KUADRAN] = {"kuadranKinerja", EXPORT_TEXT},
    [F_PREDIKAT] = {"predikat", EXPORT_TEXT},
    [F_PENILAI_NIP] = {"penilaiNipNrp", EXPORT_TEXT},
    [F_PENILAI_NAMA] = {"penilaiNama", EXPORT_TEXT},
    [F_PENILAI_JABATAN] = {"penilaiJabatanNama", EXPORT_TEXT},
    [F_PENILAI_UNOR] = {"penilaiUnorNama", EXPORT_TEXT},
    [F_STATUS_PENILAI] = {"statusPenilai", EXPORT_TEXT},
    [F_VERSI] = {"versi", EXPORT_INT},
    [F_STATUS] = {"status", EXPORT_TEXT},
};

static void export_usage(FILE *out)
{
    fputs("usage: kinerja export siasn --period P [--format csv|json]\n"
          "  The SIGNED results of period P (approved, appealed, final) in the fields of SIASN's\n"
          "  periodic-kinerja record, one record per result: the employee's NIP and name, the\n"
          "  year and the months appraised (bulan mulai / selesai), the hasil kerja and perilaku\n"
          "  kerja ratings (1 below, 2 meets, 3 above expectations), the predikat (kuadran), the\n"
          "  evaluator's NIP, name, position and unit, and whether the evaluator is ASN. Each field\n"
          "  is documented in docs/SIASN.md.\n"
          "  --period P   YYYY-MM, YYYY-Qn or YYYY (required)\n"
          "  --format F   csv (default: RFC 4180, a header line) or json (an array of objects)\n"
          "Exit 0 ok (also with no signed result), 1 database or output error, 2 usage.\n",
          out);
}

/* The record's cells as text; NULL = none. num holds the formatted integers. */
static void export_cells(const struct siasn_record *r, const char *cells[F_COUNT],
                         char num[F_COUNT][EXPORT_NUM_MAX])
{
    int ints[F_COUNT] = {0};
    ints[F_TAHUN] = r->year;
    ints[F_BULAN_MULAI] = r->first_month;
    ints[F_TAHUN_MULAI] = r->year;
    ints[F_BULAN_SELESAI] = r->last_month;
    ints[F_TAHUN_SELESAI] = r->year;
    ints[F_HASIL_NILAI] = siasn_rating_value(r->hasil_rating);
    ints[F_PERILAKU_NILAI] = siasn_rating_value(r->perilaku_rating);
    ints[F_KUADRAN_NILAI] = siasn_kuadran_value(r->predikat);
    ints[F_VERSI] = r->version;
    for (int f = 0; f < F_COUNT; f++) {
        cells[f] = NULL;
        if (export_fields[f].kind == EXPORT_INT && ints[f] > 0) {
            snprintf(num[f], EXPORT_NUM_MAX, "%d", ints[f]);
            cells[f] = num[f];
        }
    }
    cells[F_NIP] = r->nip;
    cells[F_NAME] = r->name;
    cells[F_PERIODE] = r->period;
    cells[F_HASIL] = siasn_rating_label(r->hasil_rating);
    cells[F_PERILAKU] = siasn_rating_label(r->perilaku_rating);
    cells[F_KUADRAN] = siasn_kuadran_label(r->predikat);
    cells[F_PREDIKAT] = r->predikat;
    cells[F_PENILAI_NIP] = r->evaluator_id;
    cells[F_PENILAI_NAMA] = r->evaluator_name;
    cells[F_PENILAI_JABATAN] = r->evaluator_position;
    cells[F_PENILAI_UNOR] = r->evaluator_unit;
    cells[F_STATUS_PENILAI] = r->evaluator_known ? (r->evaluator_asn ? "ASN" : "NON ASN") : NULL;
    cells[F_STATUS] = r->state;
}

/* One RFC 4180 field; see the top for the formula rule (integers never start with one). */
static void export_csv_field(FILE *out, const char *s)
{
    if (!s)
        return;
    bool formula = *s && strchr(EXPORT_CSV_FORMULA_LEADS, *s);
    if (!formula && !strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

struct export_run {
    enum export_format fmt;
    long n;
    bool failed;
};

static int export_record(const struct siasn_record *r, void *ctx)
{
    struct export_run *x = ctx;
    const char *cells[F_COUNT];
    char num[F_COUNT][EXPORT_NUM_MAX];
    export_cells(r, cells, num);
    if (x->fmt == EXPORT_CSV) {
        for (int f = 0; f < F_COUNT; f++) {
            if (f)
                fputc(',', stdout);
            export_csv_field(stdout, cells[f]);
        }
        fputs("\r\n", stdout);
    } else {
        json_t *o = json_object();
        for (int f = 0; o && f < F_COUNT; f++) {
            json_t *v = !cells[f]                             ? json_null()
                        : export_fields[f].kind == EXPORT_INT ? json_integer(strtol(cells[f], NULL, 10))
                                                              : json_string(cells[f]);
            if (!v || json_object_set_new(o, export_fields[f].name, v) < 0) {
                json_decref(o);
                o = NULL;
            }
        }
        char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        json_decref(o);
        if (!text) {
            x->failed = true;
            return 1;
        }
        fputs(x->n ? ",\n" : "\n", stdout);
        fputs(text, stdout);
        free(text);
    }
    x->n++;
    return ferror(stdout) ? 1 : 0;
}

static int export_siasn(struct cli *cli, const char *period, enum export_format fmt)
{
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja export: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja export: PostgreSQL unreachable: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    struct export_run x = {.fmt = fmt};
    if (fmt == EXPORT_CSV) {
        for (int f = 0; f < F_COUNT; f++)
            printf("%s%s", f ? "," : "", export_fields[f].name);
        fputs("\r\n", stdout);
    } else {
        fputc('[', stdout);
    }
    int q = siasn_each_record(db, period, export_record, &x);
    int rc = CLI_OK;
    if (q < 0) {
        fprintf(stderr, "kinerja export: %s\n", db->errstr);
        rc = CLI_FAIL;
    } else if (q > 0 || x.failed) {
        fprintf(stderr, "kinerja export: out of memory or output error\n");
        rc = CLI_FAIL;
    }
    if (fmt == EXPORT_JSON)
        fputs(x.n ? "\n]\n" : "]\n", stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "kinerja export: output error\n");
        rc = CLI_FAIL;
    }
    pgstore_destroy(&db);
    return rc;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
    const char *what = NULL, *period = NULL;
    enum export_format fmt = EXPORT_CSV;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            export_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            period = argv[++i];
        } else if (!strcmp(a, "--format") && i + 1 < argc) {
            const char *f = argv[++i];
            if (!strcmp(f, "csv")) {
                fmt = EXPORT_CSV;
            } else if (!strcmp(f, "json")) {
                fmt = EXPORT_JSON;
            } else {
                fprintf(stderr, "kinerja export: --format must be csv or json, got '%s'\n", f);
                return CLI_USAGE;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "kinerja export: unknown option or missing value '%s'\n", a);
            export_usage(stderr);
            return CLI_USAGE;
        } else if (!what) {
            what = a;
        } else {
            fprintf(stderr, "kinerja export: one export at a time, got '%s' too\n", a);
            return CLI_USAGE;
        }
    }
    if (!what || strcmp(what, "siasn") != 0) {
        fprintf(stderr,
                what ? "kinerja export: unknown export '%s' (siasn)\n"
                     : "kinerja export: which export? (siasn)\n",
                what);
        export_usage(stderr);
        return CLI_USAGE;
    }
    if (!period) {
        fprintf(stderr, "kinerja export: --period missing\n");
        export_usage(stderr);
        return CLI_USAGE;
    }
    if (ak_period_months(period, NULL, NULL, NULL) < 0) {
        fprintf(stderr, "kinerja export: --period must be YYYY-MM, YYYY-Qn or YYYY, got '%s'\n", period);
        return CLI_USAGE;
    }
    return export_siasn(cli, period, fmt);
}
