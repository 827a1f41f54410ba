/* Placeholder until the migrate command lands. */
#include "cli.h"

#include <stdio.h>

int cmd_migrate(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "kinerja migrate: not implemented yet\n");
    return CLI_FAIL;
}
