/*
 * kinerja decide NIP --period P --decider NIP --uphold|--revise PREDIKAT [--note T]:
 * the decision on an appeal by the supervisor's own supervisor (SPEC 6, 9), sent as one
 * `appeal_decision` event through the broker (tools/wfevent.h). Either way the result
 * becomes final; --revise replaces its predikat. The ingest worker refuses a decision
 * by anyone else or on a result that is not appealed; the command waits for that
 * verdict and prints it. The employee and the supervisor are told.
 */
#include "cli.h"
#include "event.h"
#include "wfevent.h"

#include <stdio.h>
#include <string.h>

#define DECIDE_PREDIKATS 5 /* event_predikat_codes */

static void decide_usage(FILE *out)
{
    fprintf(out, "usage: kinerja decide NIP --period P --decider NIP --uphold|--revise PREDIKAT [--note T]\n"
                 "                       [--timeout S] [--wait S | --no-wait]\n"
                 "  Decides the appeal of employee NIP for period P, as the supervisor's supervisor.\n"
                 "  --period P          YYYY-MM, YYYY-Qn or YYYY (required)\n"
                 "  --decider NIP       who decides (required)\n"
                 "  --uphold            the result stands\n"
                 "  --revise PREDIKAT   the predikat becomes one of sangat_baik, baik, butuh_perbaikan,\n"
                 "                      kurang, sangat_kurang\n"
                 "  --note T            the reasoning, for the employee and the supervisor\n");
    wfevent_common_usage(out);
    fprintf(out, "Prints the ack (`<id> accepted`), then the result's state once the event is stored, or\n"
                 "the reason it was refused. Exit 0 when accepted and not refused, 1 otherwise, 2 usage.\n");
}

static bool decide_known_predikat(const char *p)
{
    for (int i = 0; i < DECIDE_PREDIKATS; i++)
        if (!strcmp(p, event_predikat_codes[i]))
            return true;
    return false;
}

int cmd_decide(struct cli *cli, int argc, char **argv)
{
    struct wfevent ev;
    wfevent_init(&ev, "decide", "appeal_decision");
    const char *nip = NULL, *decider = NULL, *decision = NULL, *predikat = NULL, *note = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int common = wfevent_common_option(&ev, argc, argv, &i);
        if (common < 0)
            return CLI_USAGE;
        if (common > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            decide_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            ev.period = argv[++i];
        } else if (!strcmp(a, "--decider") && i + 1 < argc) {
            decider = argv[++i];
        } else if (!strcmp(a, "--note") && i + 1 < argc) {
            note = argv[++i];
        } else if ((!strcmp(a, "--uphold")) || (!strcmp(a, "--revise") && i + 1 < argc)) {
            if (decision) {
                fprintf(stderr, "kinerja decide: give one of --uphold and --revise\n");
                return CLI_USAGE;
            }
            decision = a + 2;
            if (!strcmp(a, "--revise"))
                predikat = argv[++i];
        } else if (a[0] != '-' && !nip) {
            nip = a;
        } else {
            fprintf(stderr, "kinerja decide: unexpected argument or missing value '%s'\n", a);
            decide_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!nip) {
        fprintf(stderr, "kinerja decide: the employee's NIP is required\n");
        decide_usage(stderr);
        return CLI_USAGE;
    }
    if (!decider) {
        fprintf(stderr, "kinerja decide: --decider NIP is required\n");
        return CLI_USAGE;
    }
    if (!decision) {
        fprintf(stderr, "kinerja decide: give --uphold or --revise PREDIKAT\n");
        return CLI_USAGE;
    }
    if (predikat && !decide_known_predikat(predikat)) {
        fprintf(stderr,
                "kinerja decide: --revise takes one of sangat_baik, baik, butuh_perbaikan, kurang, "
                "sangat_kurang; got '%s'\n",
                predikat);
        return CLI_USAGE;
    }
    if (wfevent_check_nip("decide", "NIP", nip) < 0 || wfevent_check_period("decide", ev.period) < 0 ||
        wfevent_check_nip("decide", "--decider", decider) < 0)
        return CLI_USAGE;
    ev.employee = nip;
    wfevent_add_str(&ev, "decider", decider);
    wfevent_add_str(&ev, "decision", decision);
    if (predikat)
        wfevent_add_str(&ev, "predikat", predikat);
    if (note)
        wfevent_add_str(&ev, "note", note);
    return wfevent_send(cli, &ev);
}
