/*
 * cli: what every `kinerja` subcommand gets: the loaded config and the global flags.
 * Each subcommand lives in its own tools/cmd_<name>.c and returns an exit code:
 * 0 ok, 1 failure, 2 usage (SPEC 9).
 */
#ifndef KINERJA_CLI_H
#define KINERJA_CLI_H

#include "config.h"

#include <stdbool.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

struct cli {
    struct config *cfg;
    bool log_json;
};

/* argv[0] is the subcommand name ("send"); the rest are its arguments. */
int cmd_send(struct cli *cli, int argc, char **argv);
int cmd_org(struct cli *cli, int argc, char **argv);
int cmd_migrate(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_bench(struct cli *cli, int argc, char **argv);
int cmd_score(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_recalc(struct cli *cli, int argc, char **argv);
int cmd_signoff(struct cli *cli, int argc, char **argv);
int cmd_appeal(struct cli *cli, int argc, char **argv);
int cmd_feedback(struct cli *cli, int argc, char **argv);
int cmd_decide(struct cli *cli, int argc, char **argv);
int cmd_inbox(struct cli *cli, int argc, char **argv);
int cmd_queue(struct cli *cli, int argc, char **argv);
int cmd_keygen(struct cli *cli, int argc, char **argv);
int cmd_event(struct cli *cli, int argc, char **argv);
int cmd_rejected(struct cli *cli, int argc, char **argv);
int cmd_user(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_unit_predikat(struct cli *cli, int argc, char **argv);
int cmd_partitions(struct cli *cli, int argc, char **argv);

#endif
