/*
 * clients: the CURVE allow-list, security.clients_file (SPEC 8). One line per client:
 *
 *   <z85 public key> <name> <event types, comma-separated, or *>
 *
 * e.g. `rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 kiosk-dinsos-01 citizen_feedback`.
 * Blank lines and comment lines (first non-blank character '#') are skipped; since '#'
 * is also a Z85 character, a line whose first word is a 40-character Z85 key is read as
 * a client even when it starts with '#'. A name is 1..CLIENTS_NAME_MAX characters of
 * A-Z a-z 0-9 . _ -; it becomes the ZAP user id, so the broker knows per message who
 * sent it (allowed types, the rate limit). One name may hold several keys (a key being
 * rotated) when every line of it allows the same types. Any bad line makes the whole
 * file an error naming the line; the file is read at start and on SIGHUP.
 *
 * Loaded by the broker's setup and SIGHUP; read by zap (keys) and the main loop (names).
 */
#ifndef KINERJA_BROKER_CLIENTS_H
#define KINERJA_BROKER_CLIENTS_H

#include "curvekey.h"
#include "event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENTS_NAME_MAX 64
#define CLIENTS_LINE_MAX 1024
#define CLIENTS_MAX 100000

struct client {
    uint8_t key[CURVEKEY_BIN_LEN];
    char name[CLIENTS_NAME_MAX + 1];
    unsigned types; /* bit (1u << enum event_type) per allowed type */
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

#endif
