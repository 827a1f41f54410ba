/*
 * kinerja appeal NIP --period P --reason T: the employee's keberatan (appeal) against
 * an approved result (SPEC 6, 9), sent as one `appeal` event through the broker
 * (tools/wfevent.h). The ingest worker refuses it unless the result is approved and
 * the appeal window (workflow.appeal_days after approval) is still open; the command
 * waits for that verdict and prints it. The supervisor's own supervisor is told.
 */
#include "cli.h"
#include "wfevent.h"

#include <stdio.h>
#include <string.h>

static void appeal_usage(FILE *out)
{
    fprintf(out, "usage: kinerja appeal NIP --period P --reason T [--timeout S] [--wait S | --no-wait]\n"
                 "  Files a keberatan (appeal) of employee NIP against their approved result for period P;\n"
                 "  the supervisor's supervisor decides it (`kinerja decide`).\n"
                 "  --period P   YYYY-MM, YYYY-Qn or YYYY (required)\n"
                 "  --reason T   why (required, not empty)\n");
    wfevent_common_usage(out);
    fprintf(out, "Prints the ack (`<id> accepted`), then the result's state once the event is stored, or\n"
                 "the reason it was refused. Exit 0 when accepted and not refused, 1 otherwise, 2 usage.\n");
}

int cmd_appeal(struct cli *cli, int argc, char **argv)
{
    struct wfevent ev;
    wfevent_init(&ev, "appeal", "appeal");
    const char *nip = NULL, *reason = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int common = wfevent_common_option(&ev, argc, argv, &i);
        if (common < 0)
            return CLI_USAGE;
        if (common > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            appeal_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            ev.period = argv[++i];
        } else if (!strcmp(a, "--reason") && i + 1 < argc) {
            reason = argv[++i];
        } else if (a[0] != '-' && !nip) {
            nip = a;
        } else {
            fprintf(stderr, "kinerja appeal: unexpected argument or missing value '%s'\n", a);
            appeal_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!nip) {
        fprintf(stderr, "kinerja appeal: the employee's NIP is required\n");
        appeal_usage(stderr);
        return CLI_USAGE;
    }
    if (!reason || !*reason) {
        fprintf(stderr, "kinerja appeal: --reason T is required (say why)\n");
        return CLI_USAGE;
    }
    if (wfevent_check_nip("appeal", "NIP", nip) < 0 || wfevent_check_period("appeal", ev.period) < 0)
        return CLI_USAGE;
    ev.employee = nip;
    wfevent_add_str(&ev, "reason", reason);
    return wfevent_send(cli, &ev);
}
