/*
 * kinerja signoff NIP --period P --supervisor NIP|EVALUATOR_ID --approve|--return|--offer
 * [--version V] [--note T]: the pejabat penilai's (direct supervisor's, or for the top of
 * the chain an evaluator's) decision on a result (SPEC 6, 9), sent as one `signoff` event
 * through the broker (tools/wfevent.h). Without --version it names the current version,
 * read from PostgreSQL. The decisions:
 *   --approve  a pending_signoff result: approved, the appeal window starts;
 *   --return   a pending_signoff result: back to collecting, where it waits; an approved
 *              one (before it is final): reopened, so the late inputs are taken in;
 *   --offer    a collecting result with a predikat (returned, or waiting for the period
 *              to close): offered for sign-off now, the same version.
 * The ingest worker refuses a sign-off by anyone but the employee's supervisor, of a
 * result whose state does not allow the decision, or of a version that is no longer
 * current; the command waits for that verdict and prints it.
 */
#include "cli.h"
#include "inboxstore.h"
#include "wfevent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNOFF_VERSION_MAX 1000000000L

static void signoff_usage(FILE *out)
{
    fprintf(out,
            "usage: kinerja signoff NIP --period P --supervisor NIP|EVALUATOR_ID --approve|--return|--offer\n"
            "                        [--version V] [--note T] [--timeout S] [--wait S | --no-wait]\n"
            "  The decision on the result of employee NIP for period P, as their supervisor\n"
            "  (pejabat penilai) or, at the top of the chain, the evaluator named for them.\n"
            "  --approve         sign a pending_signoff result; the appeal window starts\n"
            "  --return          send a pending_signoff result back to collecting (it waits for new\n"
            "                    input or --offer), or reopen an approved one to take late inputs in\n"
            "  --offer           offer a collecting result with a predikat for sign-off now\n"
            "  --period P        YYYY-MM, YYYY-Qn or YYYY (required)\n"
            "  --supervisor ID   who decides: the employee's supervisor (NIP) or evaluator id (required)\n"
            "  --version V       the score version decided on (default: the current one)\n"
            "  --note T          a note for the employee\n");
    wfevent_common_usage(out);
    fprintf(out, "Prints the ack (`<id> accepted`), then the result's state once the event is stored, or\n"
                 "the reason it was refused. Exit 0 when accepted and not refused, 1 otherwise, 2 usage.\n");
}

/* The current version of the result (and its state into state, statelen bytes), or 0
 * with a message on stderr. */
static int signoff_current_version(struct cli *cli, const char *nip, const char *period, char *state,
                                   size_t statelen)
{
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja signoff: out of memory\n");
        return 0;
    }
    int version = 0;
    struct inboxstore_result r;
    if (db->err || inboxstore_result(db, nip, period, &r) < 0)
        fprintf(stderr, "kinerja signoff: reading the current version (or give --version): %s\n", db->errstr);
    else if (!r.employee_known)
        fprintf(stderr, "kinerja signoff: %s: unknown NIP\n", nip);
    else if (!r.exists || r.version <= 0)
        fprintf(stderr, "kinerja signoff: %s has no scored result for %s yet: nothing to sign\n", nip,
                period);
    else
        version = r.version;
    if (version)
        snprintf(state, statelen, "%s", r.state);
    pgstore_destroy(&db);
    return version;
}

int cmd_signoff(struct cli *cli, int argc, char **argv)
{
    struct wfevent ev;
    wfevent_init(&ev, "signoff", "signoff");
    const char *nip = NULL, *supervisor = NULL, *decision = NULL, *note = NULL;
    long version = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int common = wfevent_common_option(&ev, argc, argv, &i);
        if (common < 0)
            return CLI_USAGE;
        if (common > 0)
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            signoff_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--period") && i + 1 < argc) {
            ev.period = argv[++i];
        } else if (!strcmp(a, "--supervisor") && i + 1 < argc) {
            supervisor = argv[++i];
        } else if (!strcmp(a, "--note") && i + 1 < argc) {
            note = argv[++i];
        } else if (!strcmp(a, "--version") && i + 1 < argc) {
            char *end;
            errno = 0;
            version = strtol(argv[++i], &end, 10);
            if (errno || end == argv[i] || *end || version < 1 || version > SIGNOFF_VERSION_MAX) {
                fprintf(stderr, "kinerja signoff: --version must be a whole number >= 1, got '%s'\n",
                        argv[i]);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--approve") || !strcmp(a, "--return") || !strcmp(a, "--offer")) {
            if (decision) {
                fprintf(stderr, "kinerja signoff: give one of --approve, --return and --offer\n");
                return CLI_USAGE;
            }
            decision = a + 2;
        } else if (a[0] != '-' && !nip) {
            nip = a;
        } else {
            fprintf(stderr, "kinerja signoff: unexpected argument or missing value '%s'\n", a);
            signoff_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!nip) {
        fprintf(stderr, "kinerja signoff: the employee's NIP is required\n");
        signoff_usage(stderr);
        return CLI_USAGE;
    }
    if (!supervisor) {
        fprintf(stderr, "kinerja signoff: --supervisor NIP (or evaluator id) is required\n");
        return CLI_USAGE;
    }
    if (!decision) {
        fprintf(stderr, "kinerja signoff: give --approve, --return or --offer\n");
        return CLI_USAGE;
    }
    if (wfevent_check_nip("signoff", "NIP", nip) < 0 || wfevent_check_period("signoff", ev.period) < 0 ||
        wfevent_check_signer("signoff", "--supervisor", supervisor) < 0)
        return CLI_USAGE;
    char state[INBOXSTORE_STATE_MAX] = "";
    if (version == 0 && (version = signoff_current_version(cli, nip, ev.period, state, sizeof state)) == 0)
        return CLI_FAIL;

    ev.employee = nip;
    wfevent_add_str(&ev, "supervisor", supervisor);
    wfevent_add_str(&ev, "decision", decision);
    wfevent_add_int(&ev, "version", version);
    if (note)
        wfevent_add_str(&ev, "note", note);
    if (!strcmp(decision, "return") && !strcmp(state, "approved"))
        ev.stored_note = "reopened: the late inputs are taken in; a new version is offered for sign-off, or "
                         "offer this one again with --offer";
    else if (!strcmp(decision, "return"))
        ev.stored_note =
            "returned: it waits for new input (a new version is offered by itself) or for --offer";
    printf("signing version %ld of %s for %s: %s\n", version, nip, ev.period, decision);
    return wfevent_send(cli, &ev);
}
