/* Placeholder until the status command lands. */
#include "cli.h"

#include <stdio.h>

int cmd_status(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "kinerja status: not implemented yet\n");
    return CLI_FAIL;
}
