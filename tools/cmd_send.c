/* Placeholder until the send command lands. */
#include "cli.h"

#include <stdio.h>

int cmd_send(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    fprintf(stderr, "kinerja send: not implemented yet\n");
    return CLI_FAIL;
}
