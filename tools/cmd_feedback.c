/*
 * kinerja feedback NIP --period P --supervisor NIP|EVALUATOR_ID --text T [--value KEY]:
 * the pejabat penilai's feedback note to the employee (umpan balik berkelanjutan,
 * PermenPANRB 6/2022; issue 14), sent as one `feedback` event through the broker
 * (tools/wfevent.h). A note changes no score and makes no version: it is kept in the
 * result's history (`kinerja score`) and the employee is told (a `feedback_note`
 * notification). The ingest worker refuses a note by anyone but the employee's
 * supervisor; the command waits for that verdict and prints it.
 */
#include "cli.h"
#include "event.h"
#include "wfevent.h"

#include <stdio.h>
#include <string.h>

static void feedback_usage(FILE *out)
{
    fprintf(out,
            "usage: kinerja feedback NIP --period P --supervisor NIP|EVALUATOR_ID --text T [--value KEY]\n"
            "                         [--timeout S] [--wait S | --no-wait]\n"
            "  A feedback note (umpan balik) from the supervisor (pejabat penilai) to employee NIP\n"
            "  during period P. It changes no score; it is kept in the result's history and sent to\n"
            "  the employee.\n"
            "  --period P        YYYY-MM, YYYY-Qn or YYYY (required)\n"
            "  --supervisor ID   the employee's supervisor (NIP) or evaluator id (required)\n"
            "  --text T          the note, 1..%d bytes (required)\n"
            "  --value KEY       what the note is about: one of the seven BerAKHLAK values\n"
            "                    (berorientasi_pelayanan, akuntabel, kompeten, harmonis, loyal,\n"
            "                    adaptif, kolaboratif) or hasil_kerja\n",
            EVENT_COMMENT_MAX);
    wfevent_common_usage(out);
    fprintf(out, "Prints the ack (`<id> accepted`), then `stored` once the worker took it, or the reason\n"
                 "it was refused. Exit 0 when accepted and not refused, 1 otherwise, 2 usage.\n");
}

static bool feedback_value_known(const char *v)
{
    if (!strcmp(v, "hasil_kerja"))
        return true;
    for (int i = 0; i < EVENT_BEHAVIOUR_KEYS; i++)
        if (!strcmp(v, event_behaviour_keys[i]))
            return true;
    return false;
}

int cmd_feedback(struct cli *cli, int argc, char **argv)
{
    struct wfevent ev;
    wfevent_init(&ev, "feedback", "feedback");
    const char *nip = NULL, *supervisor = NULL, *text = NULL, *value = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int common = wfevent_common_option(&ev, argc, argv, &i);
        if (common < 0)
            return CLI_USAGE;
        if (common > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            feedback_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            ev.period = argv[++i];
        } else if (!strcmp(a, "--supervisor") && i + 1 < argc) {
            supervisor = argv[++i];
        } else if (!strcmp(a, "--text") && i + 1 < argc) {
            text = argv[++i];
        } else if (!strcmp(a, "--value") && i + 1 < argc) {
            value = argv[++i];
        } else if (a[0] != '-' && !nip) {
            nip = a;
        } else {
            fprintf(stderr, "kinerja feedback: unexpected argument or missing value '%s'\n", a);
            feedback_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!nip) {
        fprintf(stderr, "kinerja feedback: the employee's NIP is required\n");
        feedback_usage(stderr);
        return CLI_USAGE;
    }
    if (!supervisor) {
        fprintf(stderr, "kinerja feedback: --supervisor NIP (or evaluator id) is required\n");
        return CLI_USAGE;
    }
    if (!text || !*text || strlen(text) > EVENT_COMMENT_MAX) {
        fprintf(stderr, "kinerja feedback: --text is required, 1..%d bytes\n", EVENT_COMMENT_MAX);
        return CLI_USAGE;
    }
    if (value && !feedback_value_known(value)) {
        fprintf(stderr,
                "kinerja feedback: --value must be one of berorientasi_pelayanan, akuntabel, kompeten, "
                "harmonis, loyal, adaptif, kolaboratif, hasil_kerja; got '%s'\n",
                value);
        return CLI_USAGE;
    }
    if (wfevent_check_nip("feedback", "NIP", nip) < 0 || wfevent_check_period("feedback", ev.period) < 0 ||
        wfevent_check_signer("feedback", "--supervisor", supervisor) < 0)
        return CLI_USAGE;

    ev.employee = nip;
    wfevent_add_str(&ev, "supervisor", supervisor);
    wfevent_add_str(&ev, "text", text);
    if (value)
        wfevent_add_str(&ev, "value", value);
    ev.stored_note = "the note is in the result's history (kinerja score) and was sent to the employee";
    printf("feedback note from %s to %s for %s\n", supervisor, nip, ev.period);
    return wfevent_send(cli, &ev);
}
