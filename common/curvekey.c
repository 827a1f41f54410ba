/*
 * curvekey: reading CURVE key files; see curvekey.h.
 */
#include "curvekey.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

bool curvekey_is_z85(const char *s, size_t n)
{
    if (n != CURVEKEY_Z85_LEN)
        return false;
    char text[CURVEKEY_Z85_LEN + 1];
    memcpy(text, s, n);
    text[n] = '\0';
    uint8_t bin[CURVEKEY_BIN_LEN];
    return zmq_z85_decode(bin, text) != NULL; /* NULL: a character outside Z85 */
}

int curvekey_read(const char *path, const char *setting, char out[CURVEKEY_Z85_LEN + 1], char *err,
                  size_t errlen)
{
    out[0] = '\0';
    if (!path || !*path) {
        snprintf(err, errlen, "%s is empty: it must name a key file", setting);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s %s: cannot read: %s", setting, path, strerror(errno));
        return -1;
    }
    char buf[CURVEKEY_FILE_MAX + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s %s: cannot read", setting, path);
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    if (!curvekey_is_z85(buf, n)) {
        snprintf(err, errlen, "%s %s: must hold one Z85 key of %d characters (as kinerja keygen writes)",
                 setting, path, CURVEKEY_Z85_LEN);
        return -1;
    }
    memcpy(out, buf, CURVEKEY_Z85_LEN);
    out[CURVEKEY_Z85_LEN] = '\0';
    return 0;
}
