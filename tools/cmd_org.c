/* Placeholder until the org command lands. */
#include "cli.h"

#include <stdio.h>

int cmd_org(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "kinerja org: not implemented yet\n");
    return CLI_FAIL;
}
