/* kinerja config [KEY] [--reference] [--reveal]: the effective settings after file and
 * environment, or one of them. Secrets are masked in the listing unless --reveal. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_config(struct cli *cli, int argc, char **argv)
{
    const char *key = NULL;
    bool reveal = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: kinerja config [KEY] [--reveal] [--reference]\n"
                   "  KEY          print one setting's effective value (e.g. postgres.dsn)\n"
                   "  --reveal     show secrets in the listing\n"
                   "  --reference  print the commented reference config\n");
            return CLI_OK;
        } else if (!strcmp(argv[i], "--reference")) {
            config_print_reference(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--reveal")) {
            reveal = true;
        } else if (argv[i][0] == '-' || key) {
            fprintf(stderr, "kinerja config: unexpected argument '%s'\n", argv[i]);
            return CLI_USAGE;
        } else {
            key = argv[i];
        }
    }
    if (key) {
        if (config_print_one(stdout, cli->cfg, key) < 0) {
            fprintf(stderr, "kinerja config: unknown setting '%s'\n", key);
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    printf("# from %s and the environment\n", config_path(cli->cfg));
    config_print(stdout, cli->cfg, reveal);
    return CLI_OK;
}
