/*
 * kinerja unit-predikat UNIT --period P --predikat istimewa|baik|butuh_perbaikan|kurang|
 * sangat_kurang [--note T] (SPEC 5.10, 9): sets the organisation predikat of a unit for a
 * period. An operator's act written directly to PostgreSQL, like `org import` (not an
 * event through the broker: see docs/DOMAIN.md "Organisation predikat and the curve"),
 * in one transaction through kinerja_set_unit_predikat (schemas/0013): idempotent (the
 * same predikat again changes nothing and says "unchanged"), a different one replaces
 * it and the history keeps both, with who (cli:<login>) and when. The same transaction
 * copies the pattern table of common/curve.c into curve_rules, where the sign-off
 * warning reads it. Afterwards it prints the unit's curve now: the broken rules, or
 * that it follows its pattern. The curve never changes a result.
 */
#include "cli.h"
#include "curve.h"
#include "event.h"
#include "pgstore.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UP_UNIT_MAX 64   /* characters of a unit code (schemas/0001 units.code) */
#define UP_NOTE_MAX 2000 /* bytes of a note (schemas/0013 unit_predikat.note) */
#define UP_ACTOR_MAX 96

static void up_usage(FILE *out)
{
    fprintf(out, "usage: kinerja unit-predikat UNIT --period P --predikat X [--note T]\n"
                 "  Sets the organisation predikat of UNIT for period P (SPEC 5.10, SE MenPANRB 3/2023);\n"
                 "  X is istimewa, baik, butuh_perbaikan, kurang or sangat_kurang. Idempotent; a later\n"
                 "  call with another predikat replaces it, the history keeps every change with who and\n"
                 "  when. The unit's staff predikat should then follow the pattern of X:\n");
    size_t n;
    const struct curve_rule *r = curve_rules(&n);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "    %-16s %s\n",
                i == 0 || r[i - 1].pattern != r[i].pattern ? curve_pattern_codes[r[i].pattern] : "",
                r[i].text);
    fprintf(out, "  A unit that breaks its pattern gets a `curve` warning on its sign-off requests;\n"
                 "  `kinerja report curve --period P` shows every unit. The curve never changes a result.\n"
                 "  Prints \"unit-predikat: UNIT P X (set|replaced|unchanged)\" and the curve now.\n"
                 "  Exit 0 ok, 1 failure (unknown unit, database), 2 usage.\n");
}

static void up_actor(char *out, size_t n)
{
    const struct passwd *pw = getpwuid(getuid());
    const char *who = pw && pw->pw_name ? pw->pw_name : getenv("USER");
    snprintf(out, n, "cli:%.80s", who && *who ? who : "unknown");
}

static int up_exec(struct pgstore *db, const char *what, const char *sql, int n, const char *const *params,
                   PGresult **keep)
{
    PGresult *res = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pgstore_fail(db, res, what);
        PQclear(res);
        return -1;
    }
    if (keep)
        *keep = res;
    else
        PQclear(res);
    return 0;
}

/* Copies curve_rules[] (common/curve.c) into the table the sign-off warning reads. */
static int up_copy_rules(struct pgstore *db)
{
    if (up_exec(db, "curve_rules", "DELETE FROM curve_rules", 0, NULL, NULL) < 0)
        return -1;
    size_t n;
    const struct curve_rule *r = curve_rules(&n);
    for (size_t i = 0; i < n; i++) {
        char ord[24], value[24], set[128] = "{";
        snprintf(ord, sizeof ord, "%zu", i);
        snprintf(value, sizeof value, "%d", r[i].value);
        for (int k = 0; k < CURVE_PREDIKATS; k++) {
            if (!(r[i].set & (1u << k)))
                continue;
            size_t len = strlen(set);
            snprintf(set + len, sizeof set - len, "%s%s", len > 1 ? "," : "", event_predikat_codes[k]);
        }
        size_t len = strlen(set);
        snprintf(set + len, sizeof set - len, "}");
        const char *p[7] = {
            r[i].id, ord, curve_pattern_codes[r[i].pattern], set, curve_op_codes[r[i].op], value, r[i].text};
        if (up_exec(db, "curve_rules",
                    "INSERT INTO curve_rules (id, ord, pattern, predikat, op, value, text)"
                    " VALUES ($1, $2::int, $3, $4::text[], $5, $6::int, $7)",
                    7, p, NULL) < 0)
            return -1;
    }
    return 0;
}

static int up_run(struct pgstore *db, const char *unit, const char *period, const char *predikat,
                  const char *note)
{
    char actor[UP_ACTOR_MAX];
    up_actor(actor, sizeof actor);
    const char *pa[1] = {actor};
    const char *ps[4] = {unit, period, predikat, note};
    const char *pw[2] = {unit, period};
    PGresult *set = NULL, *warn = NULL;
    if (up_exec(db, "begin", "BEGIN", 0, NULL, NULL) < 0)
        return -1;
    if (up_exec(db, "actor", "SELECT set_config('kinerja.actor', $1, true)", 1, pa, NULL) < 0 ||
        up_copy_rules(db) < 0 ||
        up_exec(db, "unit-predikat", "SELECT kinerja_set_unit_predikat($1, $2, $3, $4)", 4, ps, &set) < 0 ||
        up_exec(db, "curve", "SELECT kinerja_curve_warning($1, $2)", 2, pw, &warn) < 0 ||
        up_exec(db, "commit", "COMMIT", 0, NULL, NULL) < 0) {
        PQclear(set);
        PQclear(warn);
        PGresult *rb = PQexec(db->conn, "ROLLBACK");
        PQclear(rb);
        return -1;
    }
    printf("unit-predikat: %s %s %s (%s)\n", unit, period, predikat, PQgetvalue(set, 0, 0));
    if (PQgetisnull(warn, 0, 0))
        printf("curve: follows the %s pattern (or no results yet)\n", predikat);
    else
        printf("curve: %s\n", PQgetvalue(warn, 0, 0));
    PQclear(set);
    PQclear(warn);
    return 0;
}

int cmd_unit_predikat(struct cli *cli, int argc, char **argv)
{
    const char *unit = NULL, *period = NULL, *predikat = NULL, *note = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            up_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            period = argv[++i];
        } else if (!strcmp(a, "--predikat") && i + 1 < argc) {
            predikat = argv[++i];
        } else if (!strcmp(a, "--note") && i + 1 < argc) {
            note = argv[++i];
        } else if (a[0] != '-' && !unit) {
            unit = a;
        } else {
            fprintf(stderr, "kinerja unit-predikat: unexpected argument or missing value '%s'\n", a);
            up_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!unit || !period || !predikat) {
        fprintf(stderr, "kinerja unit-predikat: %s missing\n",
                !unit     ? "UNIT"
                : !period ? "--period"
                          : "--predikat");
        up_usage(stderr);
        return CLI_USAGE;
    }
    if (!*unit || strlen(unit) > UP_UNIT_MAX) {
        fprintf(stderr, "kinerja unit-predikat: UNIT: must be 1..%d characters\n", UP_UNIT_MAX);
        return CLI_USAGE;
    }
    if (!event_valid_period(period, strlen(period))) {
        fprintf(stderr, "kinerja unit-predikat: --period: not a valid period, got '%.64s'\n", period);
        return CLI_USAGE;
    }
    enum curve_pattern p;
    if (!curve_pattern_parse(predikat, &p)) {
        fprintf(stderr,
                "kinerja unit-predikat: --predikat: must be istimewa, baik, butuh_perbaikan, kurang or "
                "sangat_kurang, got '%.64s'\n",
                predikat);
        return CLI_USAGE;
    }
    if (note && strlen(note) > UP_NOTE_MAX) {
        fprintf(stderr, "kinerja unit-predikat: --note: at most %d bytes\n", UP_NOTE_MAX);
        return CLI_USAGE;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja unit-predikat: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja unit-predikat: PostgreSQL unreachable: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    int rc = up_run(db, unit, period, curve_pattern_codes[p], note) < 0 ? CLI_FAIL : CLI_OK;
    if (rc != CLI_OK)
        fprintf(stderr, "kinerja unit-predikat: %s\n", db->errstr);
    pgstore_destroy(&db);
    return rc;
}
