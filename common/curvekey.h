/*
 * curvekey: CURVE key files (SPEC 8). A key file holds one key in Z85 text (40
 * characters), optionally followed by a newline; `kinerja keygen --out PREFIX` writes
 * PREFIX.key (public) and PREFIX.key_secret (secret, mode 0600) in this form.
 *
 * Used by the broker (security.server_secret_file) and by the CLI
 * (security.server_public_file, security.client_key_file). Error texts name the file
 * and the setting, never the key or the file's content.
 */
#ifndef KINERJA_CURVEKEY_H
#define KINERJA_CURVEKEY_H

#include <stdbool.h>
#include <stddef.h>

#define CURVEKEY_Z85_LEN 40 /* a 32-byte key in Z85 */
#define CURVEKEY_BIN_LEN 32
#define CURVEKEY_FILE_MAX 256 /* longer files are not key files */

/* True when s[0..n) is exactly one Z85-encoded 32-byte key. */
bool curvekey_is_z85(const char *s, size_t n);

/* Reads the key file at path into out (NUL-terminated). setting names where the path
 * came from ("security.server_secret_file") for the error text. Returns 0, or -1 with
 * the reason in err ("security.server_secret_file /x/server.key_secret: cannot read:
 * No such file or directory", "...: must hold one Z85 key of 40 characters"). */
int curvekey_read(const char *path, const char *setting, char out[CURVEKEY_Z85_LEN + 1], char *err,
                  size_t errlen);

#endif
