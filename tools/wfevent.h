/*
 * wfevent: one workflow event from the CLI (`kinerja signoff`, `appeal`, `decide`):
 * built as msgpack, sent through the broker like any client's (tools/sender.h), the
 * broker's ack printed, and then, unless told not to, a short wait for the ingest
 * worker's verdict read from PostgreSQL (common/inboxstore.h): the result's state after
 * the event was applied, or the reason it was refused into rejected_events. A refusal
 * by the worker is how a stale version, a closed appeal window or the wrong signer
 * shows up, so it is printed and fails the command.
 *
 * Called by tools/cmd_signoff.c, tools/cmd_appeal.c and tools/cmd_decide.c.
 */
#ifndef KINERJA_WFEVENT_H
#define KINERJA_WFEVENT_H

#include "cli.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define WFEVENT_DEFAULT_TIMEOUT_S 30 /* for the broker's ack */
#define WFEVENT_DEFAULT_WAIT_S 10    /* for the ingest worker's verdict */
#define WFEVENT_MAX_S 3600
#define WFEVENT_MAX_FIELDS 8

/* One field of the event beyond the envelope, employee and period: a string, or an
 * integer when str is NULL. */
struct wfevent_field {
    const char *key;
    const char *str;
    long long num;
};

struct wfevent {
    const char *cmd;  /* "signoff": names the command in messages ("kinerja signoff: ...") */
    const char *type; /* the event type */
    const char *employee, *period;
    struct wfevent_field fields[WFEVENT_MAX_FIELDS];
    size_t n_fields;
    long timeout_s;          /* the broker's ack */
    long wait_s;             /* the worker's verdict; 0 = do not wait */
    const char *stored_note; /* printed after the state once stored, or NULL */
};

/* Sets the defaults (timeouts) and names: call first. */
void wfevent_init(struct wfevent *ev, const char *cmd, const char *type);

/* Adds a field; at most WFEVENT_MAX_FIELDS. */
void wfevent_add_str(struct wfevent *ev, const char *key, const char *value);
void wfevent_add_int(struct wfevent *ev, const char *key, long long value);

/*
 * The options every workflow command takes: --timeout S (ack), --wait S (verdict),
 * --no-wait. Looks at argv[*i]; when it is one of them, consumes it (and its value)
 * and returns 1; returns 0 when it is not; -1 on a bad value (message printed).
 */
int wfevent_common_option(struct wfevent *ev, int argc, char **argv, int *i);

/* The usage lines of those options. */
void wfevent_common_usage(FILE *out);

/* Checks that the NIP and period look right; prints the problem and returns -1. */
int wfevent_check_nip(const char *cmd, const char *what, const char *nip);

/* An evaluator who is not ASN (SPEC 4, `kinerja org import --evaluators`): 1..64
 * characters of [A-Za-z0-9._:-], at least one not a digit (never a NIP). The same rule
 * as schemas/0006_workflow_v2.sql and common/event.c. */

/* Who signs: a NIP or an evaluator id; prints the problem and returns -1. */
int wfevent_check_signer(const char *cmd, const char *what, const char *id);
int wfevent_check_period(const char *cmd, const char *period);

/* Sends the event and reports as described on top. Returns the exit code: CLI_OK when
 * accepted (and, when waiting, not refused by the worker), CLI_FAIL otherwise. */
int wfevent_send(struct cli *cli, const struct wfevent *ev);

#endif
