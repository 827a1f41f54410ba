/* kinerja keygen [--out PREFIX] [--force]: a CURVE key pair (SPEC 8), Z85 text.
 *
 * Without --out both keys go to stdout, one per line, `public <key>` and `secret <key>`
 * (awk '$1 == "public" {print $2}' picks one). With --out PREFIX they go to PREFIX.key
 * (public, mode 0644) and PREFIX.key_secret (secret, mode 0600), each the bare key and
 * a newline, which is what security.server_secret_file, security.server_public_file
 * and security.client_key_file read; stdout then shows only `public <key>`, to paste
 * into security.clients_file. Existing files are not overwritten without --force. */
#include "cli.h"
#include "curvekey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEYGEN_PUBLIC_SUFFIX ".key"
#define KEYGEN_SECRET_SUFFIX ".key_secret"
#define KEYGEN_PUBLIC_MODE 0644
#define KEYGEN_SECRET_MODE 0600

/* Writes key and a newline to path with mode (also when the file existed, with force). */
static int write_key_file(const char *path, const char *key, mode_t mode, bool force)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), mode);
    if (fd < 0) {
        fprintf(stderr, "kinerja keygen: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (--force overwrites)" : "");
        return -1;
    }
    char line[CURVEKEY_Z85_LEN + 2];
    int n = snprintf(line, sizeof line, "%s\n", key);
    bool ok = fchmod(fd, mode) == 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    explicit_bzero(line, sizeof line);
    if (!ok) {
        fprintf(stderr, "kinerja keygen: %s: cannot write: %s\n", path, strerror(e));
        unlink(path);
        return -1;
    }
    return 0;
}

static int write_pair(const char *prefix, const char *pub, const char *sec, bool force)
{
    char pub_path[PATH_MAX], sec_path[PATH_MAX];
    if ((size_t)snprintf(pub_path, sizeof pub_path, "%s%s", prefix, KEYGEN_PUBLIC_SUFFIX) >=
            sizeof pub_path ||
        (size_t)snprintf(sec_path, sizeof sec_path, "%s%s", prefix, KEYGEN_SECRET_SUFFIX) >=
            sizeof sec_path) {
        fprintf(stderr, "kinerja keygen: --out %s: path too long\n", prefix);
        return CLI_USAGE;
    }
    if (write_key_file(sec_path, sec, KEYGEN_SECRET_MODE, force) != 0)
        return CLI_FAIL;
    if (write_key_file(pub_path, pub, KEYGEN_PUBLIC_MODE, force) != 0) {
        unlink(sec_path); /* never leave half a pair */
        return CLI_FAIL;
    }
    printf("public %s\n", pub);
    fprintf(stderr, "kinerja keygen: wrote %s (public) and %s (secret, mode 0600)\n", pub_path, sec_path);
    return CLI_OK;
}

int cmd_keygen(struct cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *prefix = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf(
                "usage: kinerja keygen [--out PREFIX] [--force]\n"
                "  a CURVE key pair in Z85 (40 characters each)\n"
                "  without --out: prints `public <key>` and `secret <key>`\n"
                "  --out PREFIX   writes PREFIX.key (public) and PREFIX.key_secret (secret, mode 0600)\n"
                "                 and prints `public <key>` (a line of security.clients_file starts with "
                "it)\n"
                "  --force        overwrite existing files\n"
                "broker: security.server_secret_file = PREFIX.key_secret; clients:\n"
                "security.server_public_file = the broker's PREFIX.key, security.client_key_file = PREFIX\n");
            return CLI_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc && argv[i + 1][0]) {
            prefix = argv[++i];
        } else if (!strcmp(argv[i], "--force")) {
            force = true;
        } else {
            fprintf(stderr, "kinerja keygen: unexpected argument '%s' (see --help)\n", argv[i]);
            return CLI_USAGE;
        }
    }
    char pub[CURVEKEY_Z85_LEN + 1], sec[CURVEKEY_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "kinerja keygen: zmq_curve_keypair: %s\n", zmq_strerror(errno));
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (prefix) {
        rc = write_pair(prefix, pub, sec, force);
    } else {
        printf("public %s\nsecret %s\n", pub, sec);
    }
    explicit_bzero(sec, sizeof sec);
    return rc;
}
