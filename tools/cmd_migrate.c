/* kinerja migrate: applies the schema migrations compiled into the binary
 * (schemas/NNNN_*.sql) that the database does not have yet. Safe to run twice and to
 * run concurrently (pgstore_migrate takes an advisory lock). */
#include "cli.h"
#include "embedded.h"
#include "pgstore.h"

#include <stdio.h>
#include <string.h>

int cmd_migrate(struct cli *cli, int argc, char **argv)
{
    const char *upto = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--to") && i + 1 < argc) {
            upto = argv[++i];
            if (strlen(upto) != 4 || strspn(upto, "0123456789") != 4) {
                fprintf(stderr,
                        "kinerja migrate: --to wants a migration number of 4 digits (0026), got '%s'\n",
                        upto);
                return CLI_USAGE;
            }
            continue;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: kinerja migrate [--to NNNN]\n"
                   "  applies the embedded schema migrations not yet applied to postgres.dsn,\n"
                   "  each in its own transaction; prints \"migrate: applied N, M total\".\n"
                   "  --to NNNN  only up to migration NNNN (a staged upgrade), the functions left\n"
                   "             as those migrations made them; a later run applies the rest\n"
                   "  Migrations in this binary:\n");
            for (int k = 0; embedded_migrations[k].name; k++)
                printf("    %s\n", embedded_migrations[k].name);
            return CLI_OK;
        }
        fprintf(stderr, "kinerja migrate: unexpected argument '%s'\n", argv[i]);
        return CLI_USAGE;
    }
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja migrate: out of memory\n");
        return CLI_FAIL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja migrate: PostgreSQL: %s\n", db->errstr);
        pgstore_destroy(&db);
        return CLI_FAIL;
    }
    int applied = 0;
    int rc = pgstore_migrate_to(db, upto, &applied);
    if (rc < 0)
        fprintf(stderr, "kinerja migrate: %s (applied %d before the failure)\n", db->errstr, applied);
    else
        printf("migrate: applied %d, %d total\n", applied, embedded_migration_count);
    pgstore_destroy(&db);
    return rc < 0 ? CLI_FAIL : CLI_OK;
}
