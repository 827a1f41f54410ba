/*
 * clients: the CURVE allow-list, security.clients_file (SPEC 8). One line per client:
 *
 *   <z85 public key> <name> <event types, comma-separated, or *> [source=<prefixes>] [as=<ids>]
 *
 * e.g. `rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 kiosk-dinsos-01 citizen_feedback`.
 * Blank lines and comment lines (first non-blank character '#') are skipped; since '#'
 * is also a Z85 character, a line whose first word is a 40-character Z85 key is read as
 * a client even when it starts with '#'. A name is 1..CLIENTS_NAME_MAX characters of
 * A-Z a-z 0-9 . _ -; it becomes the ZAP user id, so the broker knows per message who
 * sent it (allowed types, the rate limit, the bindings below, event_log.client).
 *
 * Bindings (optional words after the types, each at most once, in any order):
 *   source=kiosk:dukcapil-          every event's `source` must begin with this prefix
 *                                   (several: source=kiosk:a-,kiosk:b-; one must match)
 *   as=198001012005011001,...       the people the key may act for (NIPs or evaluator
 *                                   ids): a signoff only with `supervisor`, an
 *                                   appeal_decision only with `decider`, an evaluation
 *                                   only with `rater`, and an appeal only for `employee`
 *                                   in the list. Types without an acting person
 *                                   (citizen_feedback, work_result, recalc) are governed
 *                                   by the type list alone.
 * A line without bindings is unbound, as before. Events outside a binding are rejected
 * with the reason (`source: kiosk-a may send only kiosk:dukcapil-*`).
 *
 * One name may hold several keys (a key being rotated) when every line of it allows
 * the same types with the same bindings. Any bad line makes the whole file an error
 * naming the line; the file is read at start and on SIGHUP.
 *
 * Loaded by the broker's setup and SIGHUP; read by zap (keys), the main loop (names,
 * types) and enqueue (bindings, through clients_current).
 */
#ifndef KINERJA_BROKER_CLIENTS_H
#define KINERJA_BROKER_CLIENTS_H

#include "curvekey.h"
#include "event.h"

#include <msgpack.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENTS_NAME_MAX 64
#define CLIENTS_LINE_MAX 16384 /* room for an as= list of some 800 NIPs */
#define CLIENTS_MAX 100000
#define CLIENTS_WHY_MAX 512 /* longest refusal text of client_check_event */

struct client {
    uint8_t key[CURVEKEY_BIN_LEN];
    char name[CLIENTS_NAME_MAX + 1];
    unsigned types; /* bit (1u << enum event_type) per allowed type */
    char *sources;  /* source=: comma-separated prefixes (owned); NULL: any source */
    char *as;       /* as=: comma-separated ids (owned); NULL: anyone */
    long line;
};

struct clients;

/* Reads the allow-list at path. NULL with the reason in err ("security.clients_file
 * /etc/kinerja/clients:7: event types: unknown type \"feedback\""). */
struct clients *clients_load(const char *path, char *err, size_t errlen);
void clients_destroy(struct clients **c);

/* Number of keys listed. */
size_t clients_count(const struct clients *c);

/* The client holding this public key (32 bytes), or NULL. */
const struct client *clients_find_key(const struct clients *c, const uint8_t key[CURVEKEY_BIN_LEN]);
/* A client of this name (all of a name allow the same types), or NULL. */
const struct client *clients_find_name(const struct clients *c, const char *name);

bool client_allows(const struct client *cl, enum event_type type);

/* The bindings of cl (source=, as=) against one event of type type, its map obj (as
 * event_decode accepted it). 0 when within them; -1 with the reason in why, naming the
 * field ("supervisor: 198001012005011099 is not among those client sup-app may act for
 * (as= in security.clients_file)"). */
int client_check_event(const struct client *cl, enum event_type type, const msgpack_object *obj, char *why,
                       size_t whylen);

/* The allow-list loaded last and not destroyed since (the broker holds one at a time:
 * it loads the new list on SIGHUP before destroying the old one, and keeps the old one
 * when the new cannot be read), or NULL. For enqueue, which checks the bindings of
 * every event against the list in force. */
const struct clients *clients_current(void);

#endif
