/*
 * kinerja: the command-line tool for integrators and operators (SPEC 9). This file
 * only parses the global options and dispatches to tools/cmd_<name>.c.
 */
#include "cli.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv);
    const char *usage;
};

static const struct command commands[] = {
    {"send", cmd_send, "send [FILE|-] [--timeout S]     send JSON Lines events to the broker"},
    {"org", cmd_org, "org import FILE.csv             load units and employees"},
    {"migrate", cmd_migrate, "migrate                         apply schema migrations"},
    {"status", cmd_status, "status [--json]                 the pipeline at a glance"},
    {"bench", cmd_bench,
     "bench [--events N] [--clients C] [--batch B] [--rate R] [--runs K] [--json]  measure the running "
     "stack"},
    {"config", cmd_config, "config [KEY] [--reference]      effective settings, or one"},
    {"score", cmd_score, "score NIP --period P [--json]   the current result with its breakdown"},
    {"report", cmd_report, "report unit|awards|training|public|angka-kredit|curve --period P [--format ...]"},
    {"recalc", cmd_recalc, "recalc [--period P] [--unit U] [--employee NIP]  recompute now"},
    {"signoff", cmd_signoff,
     "signoff NIP --period P --supervisor NIP --approve|--return [--version V] [--note T]"},
    {"feedback", cmd_feedback,
     "feedback NIP --period P --supervisor NIP --text T [--value KEY]  umpan balik"},
    {"appeal", cmd_appeal, "appeal NIP --period P --reason T  file a keberatan"},
    {"decide", cmd_decide, "decide NIP --period P --decider NIP --uphold|--revise PREDIKAT [--note T]"},
    {"inbox", cmd_inbox, "inbox NIP [--json]              notifications for one person"},
    {"queue", cmd_queue, "queue --supervisor ID [--json]  the sign-off queue of one pejabat penilai"},
    {"event", cmd_event,
     "event ID [--json]               where one event ended: stored, rejected, quarantined"},
    {"events", cmd_event, "events ID... [--json]           where each of several events ended"},
    {"rejected", cmd_rejected,
     "rejected [--source S] [--since T] [--json]  what the workers refused and why"},
    {"keygen", cmd_keygen, "keygen [--out PREFIX] [--force]  a CURVE key pair"},
    {"user", cmd_user, "user add|passwd|disable|enable|role|list ID  web accounts (SPEC 12)"},
    {"export", cmd_export, "export siasn --period P [--format csv|json]  signed results for SIASN"},
    {"unit-predikat", cmd_unit_predikat,
     "unit-predikat UNIT --period P --predikat X [--note T]  a unit's organisation predikat"},
    {"partitions", cmd_partitions, "partitions [ensure|detach --period P] [--json]  the period partitions"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: kinerja [-c FILE] [--log-json] COMMAND [ARGS]\n"
                 "       kinerja help COMMAND | --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out,
            "\noptions:\n"
            "  -c FILE      config file (default $KINERJA_CONFIG, else config/kinerja.conf in the\n"
            "               current directory; without one the built-in defaults apply, which\n"
            "               `kinerja config` lists and `kinerja config --reference` writes as a file)\n"
            "  --log-json   log JSON lines to stderr\n"
            "  -h, --help   this help; `kinerja help COMMAND` or `kinerja COMMAND --help` for a command's\n"
            "  --version    the version\n"
            "Integrators: the wire protocol is docs/PROTOCOL.md, example clients are in examples/.\n"
            "exit codes: 0 ok, 1 failure, 2 usage\n");
}

int main(int argc, char **argv)
{
    const char *config_file = NULL;
    struct cli cli = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            config_file = argv[++i];
        } else if (!strcmp(argv[i], "--log-json")) {
            cli.log_json = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--version")) {
            printf("kinerja %s\n", KINERJA_VERSION);
            return CLI_OK;
        } else {
            fprintf(stderr, "kinerja: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    /* `kinerja help CMD` is `kinerja CMD --help` (SPEC 9); `kinerja help` the overview */
    char *help_argv[] = {NULL, "--help", NULL};
    if (!strcmp(argv[i], "help")) {
        if (i + 1 >= argc) {
            usage(stdout);
            return CLI_OK;
        }
        help_argv[0] = argv[i + 1];
        argv = help_argv;
        argc = 2;
        i = 0;
    }
    const struct command *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(commands[k].name, argv[i]))
            cmd = &commands[k];
    if (!cmd) {
        fprintf(stderr, "kinerja: unknown command '%s'\n", argv[i]);
        usage(stderr);
        return CLI_USAGE;
    }

    cli.cfg = config_new();
    if (!cli.cfg) {
        fprintf(stderr, "kinerja: out of memory\n");
        return CLI_FAIL;
    }
    char err[1024];
    if (config_load(cli.cfg, config_file, err, sizeof err) < 0) {
        fprintf(stderr, "kinerja: config: %s\n", err);
        config_destroy(&cli.cfg);
        return CLI_FAIL;
    }
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(config_str(cli.cfg, "log.level"), &level);
    log_init("kinerja", level, cli.log_json || config_bool(cli.cfg, "log.json"));

    int rc = cmd->run(&cli, argc - i, argv + i);
    config_destroy(&cli.cfg);
    return rc;
}
