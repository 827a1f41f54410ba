/* kinerja org import FILE.csv: loads units and employees (SPEC 4) through
 * pgstore_org_import: the whole file is checked first, then upserted in one
 * transaction; a bad file changes nothing. */
#include "cli.h"
#include "pgstore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void org_usage(FILE *out)
{
    fprintf(out, "usage: kinerja org import FILE.csv   (FILE may be - for stdin)\n"
                 "  CSV with the header nip,name,unit,position,supervisor_nip,job_family\n"
                 "  (any column order; RFC 4180 quoting; empty supervisor_nip = none).\n"
                 "  Upserts by NIP in one transaction; every row is checked first (18-digit NIP,\n"
                 "  unit present, supervisor in the file or already stored, no cycle), and a bad\n"
                 "  file changes nothing. Prints \"org import: units=U employees=E unchanged=X\":\n"
                 "  new units, employees inserted or changed, rows identical to what was stored.\n");
}

int cmd_org(struct cli *cli, int argc, char **argv)
{
    const char *file = NULL;
    bool import = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            org_usage(stdout);
            return CLI_OK;
        } else if (!import && !strcmp(argv[i], "import")) {
            import = true;
        } else if (import && !file && (strcmp(argv[i], "-") == 0 || argv[i][0] != '-')) {
            file = argv[i];
        } else {
            fprintf(stderr, "kinerja org: unexpected argument '%s'\n", argv[i]);
            org_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!import || !file) {
        fprintf(stderr, "kinerja org: %s\n", import ? "import needs FILE.csv" : "expected 'import FILE.csv'");
        org_usage(stderr);
        return CLI_USAGE;
    }

    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "kinerja org import: %s: %s\n", file, strerror(errno));
        return CLI_FAIL;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    int rc = CLI_FAIL;
    if (!db) {
        fprintf(stderr, "kinerja org import: out of memory\n");
    } else if (db->err) {
        fprintf(stderr, "kinerja org import: PostgreSQL: %s\n", db->errstr);
    } else {
        struct org_import_counts c;
        if (pgstore_org_import(db, f, file, &c) < 0) {
            fprintf(stderr, "kinerja org import: %s: %s\n", file, db->errstr);
        } else {
            printf("org import: units=%zu employees=%zu unchanged=%zu\n", c.units, c.employees, c.unchanged);
            rc = CLI_OK;
        }
    }
    pgstore_destroy(&db);
    if (f != stdin)
        fclose(f);
    return rc;
}
