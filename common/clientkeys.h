/*
 * clientkeys: the CLI's CURVE keys (SPEC 8) for every command that sends through the
 * broker (send, recalc, signoff, appeal, decide, bench). With security.curve = true it
 * reads the broker's public key (security.server_public_file) and this client's key pair
 * (security.client_key_file PREFIX: PREFIX.key and PREFIX.key_secret, as `kinerja keygen
 * --out PREFIX` writes them) and sets them on struct sender_opts; with curve off it
 * leaves the options plain.
 *
 * Called by tools/cmd_send.c, cmd_recalc.c, cmd_bench.c and wfevent.c.
 */
#ifndef KINERJA_CLIENTKEYS_H
#define KINERJA_CLIENTKEYS_H

#include "config.h"
#include "curvekey.h"
#include "sender.h"

#include <stdbool.h>
#include <stddef.h>

struct clientkeys {
    bool on; /* security.curve */
    char server_public[CURVEKEY_Z85_LEN + 1];
    char public_key[CURVEKEY_Z85_LEN + 1];
    char secret_key[CURVEKEY_Z85_LEN + 1];
};

/* Loads the keys when security.curve is true. Returns 0 (keys->on false with curve
 * off), or -1 with the reason in err (names the file, never shows a key). */
int clientkeys_load(const struct config *cfg, struct clientkeys *keys, char *err, size_t errlen);
/* The same with the key pair's PREFIX read from another setting (kinerja-web:
 * web.client_key_file). */
int clientkeys_load_setting(const struct config *cfg, const char *setting, struct clientkeys *keys, char *err,
                            size_t errlen);

/* Points opts' curve fields at keys (which must outlive the sender run); nothing with
 * curve off. */
void clientkeys_apply(const struct clientkeys *keys, struct sender_opts *opts);

/* Wipes the secret key. */
void clientkeys_clear(struct clientkeys *keys);

#endif
