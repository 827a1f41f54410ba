/*
 * clientkeys: loading a client's CURVE keys (the CLI's, kinerja-web's); see clientkeys.h.
 */
#include "clientkeys.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define CLIENTKEYS_PUBLIC_SUFFIX ".key"
#define CLIENTKEYS_SECRET_SUFFIX ".key_secret"

int clientkeys_load(const struct config *cfg, struct clientkeys *keys, char *err, size_t errlen)
{
    return clientkeys_load_setting(cfg, "security.client_key_file", keys, err, errlen);
}

int clientkeys_load_setting(const struct config *cfg, const char *setting, struct clientkeys *keys, char *err,
                            size_t errlen)
{
    memset(keys, 0, sizeof *keys);
    if (!config_bool(cfg, "security.curve"))
        return 0;
    const char *prefix = config_str(cfg, setting);
    if (!*prefix) {
        snprintf(err, errlen,
                 "%s is empty: with security.curve = true it must name this "
                 "client's key pair (PREFIX of kinerja keygen --out PREFIX)",
                 setting);
        return -1;
    }
    char pub_path[PATH_MAX], sec_path[PATH_MAX];
    if ((size_t)snprintf(pub_path, sizeof pub_path, "%s%s", prefix, CLIENTKEYS_PUBLIC_SUFFIX) >=
            sizeof pub_path ||
        (size_t)snprintf(sec_path, sizeof sec_path, "%s%s", prefix, CLIENTKEYS_SECRET_SUFFIX) >=
            sizeof sec_path) {
        snprintf(err, errlen, "%s: path too long", setting);
        return -1;
    }
    if (curvekey_read(config_str(cfg, "security.server_public_file"), "security.server_public_file",
                      keys->server_public, err, errlen) != 0 ||
        curvekey_read(pub_path, setting, keys->public_key, err, errlen) != 0 ||
        curvekey_read(sec_path, setting, keys->secret_key, err, errlen) != 0) {
        clientkeys_clear(keys);
        return -1;
    }
    keys->on = true;
    return 0;
}

void clientkeys_apply(const struct clientkeys *keys, struct sender_opts *opts)
{
    if (!keys->on)
        return;
    opts->curve_server_key = keys->server_public;
    opts->curve_public_key = keys->public_key;
    opts->curve_secret_key = keys->secret_key;
}

void clientkeys_clear(struct clientkeys *keys)
{
    explicit_bzero(keys, sizeof *keys);
}
