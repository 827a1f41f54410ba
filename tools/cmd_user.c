/*
 * kinerja user add|passwd|disable|enable|role|list|relation: the accounts of the web
 * front end (SPEC 9, 12), through common/userstore.h.
 *
 * A password is never taken from argv (other users see it in ps), never logged and
 * never printed: with --password-stdin it is the first line of stdin (the newline, and
 * a CR before it, stripped); otherwise it is asked twice on the terminal (/dev/tty) with
 * echo off, and the command refuses when there is no terminal. The buffers holding it
 * are wiped before the command returns.
 *
 * Changing the password, disabling, enabling or changing the role bumps the account's
 * epoch (schemas/0010_web_users.sql): every session signed in before ends.
 */
#include "cli.h"
#include "inboxstore.h"
#include "userstore.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define USER_PW_BUF (USER_PASSWORD_MAX + 2) /* the longest password, one byte to see it is longer, NUL */
#define USER_ERR_MAX 512

/* ---------------------------------------------------------------- usage */

static const char USAGE_ADD[] =
    "usage: kinerja user add ID --role employee|supervisor|operator [--password-stdin]\n"
    "  Creates the web account ID. An employee or supervisor account is an employee's NIP\n"
    "  (or, for a pejabat penilai who is not ASN, an evaluator's id), imported first with\n"
    "  kinerja org import; an operator account may be any name. ID: 1..64 of A-Z a-z 0-9 . _ -\n";
static const char USAGE_PASSWD[] = "usage: kinerja user passwd ID [--password-stdin]\n"
                                   "  Sets a new password; every open session of ID ends.\n";
static const char USAGE_DISABLE[] = "usage: kinerja user disable ID\n"
                                    "  ID can no longer sign in; every open session of ID ends.\n";
static const char USAGE_ENABLE[] = "usage: kinerja user enable ID\n"
                                   "  ID can sign in again (with the password it had).\n";
static const char USAGE_ROLE[] = "usage: kinerja user role ID --role employee|supervisor|operator\n"
                                 "  Changes the role of ID; every open session of ID ends.\n";
static const char USAGE_LIST[] =
    "usage: kinerja user list [--json]\n"
    "  Every account: id, role, enabled or disabled, created (in time.zone).\n"
    "  --json  an array of {\"id\",\"role\",\"disabled\",\"epoch\",\"created_at\"}\n"
    "          (created_at in UTC, ISO 8601). Never a password or its hash.\n";
static const char USAGE_RELATION[] =
    "usage: kinerja user relation VIEWER NIP\n"
    "  How VIEWER stands to employee NIP for the web's access checks: self, supervisor\n"
    "  (VIEWER signs NIP's results), second_line (VIEWER decides NIP's appeals) or none.\n";
static const char USAGE_PASSWORD[] =
    "  --password-stdin  read the password from the first line of stdin (newline stripped);\n"
    "                    without it the password is asked twice on the terminal, echo off.\n"
    "  A password is 8..256 bytes; it is never taken from the command line.\n";

struct user_verb {
    const char *name;
    const char *usage;
    bool password; /* takes --password-stdin */
};

static const struct user_verb verbs[] = {
    {"add", USAGE_ADD, true},
    {"passwd", USAGE_PASSWD, true},
    {"disable", USAGE_DISABLE, false},
    {"enable", USAGE_ENABLE, false},
    {"role", USAGE_ROLE, false},
    {"list", USAGE_LIST, false},
    {"relation", USAGE_RELATION, false},
};
#define USER_VERBS (sizeof verbs / sizeof verbs[0])

static void user_verb_usage(FILE *out, const struct user_verb *v)
{
    fputs(v->usage, out);
    if (v->password)
        fputs(USAGE_PASSWORD, out);
}

static void user_usage(FILE *out)
{
    fputs("usage: kinerja user add|passwd|disable|enable|role|list|relation ...  web accounts (SPEC 12)\n",
          out);
    for (size_t i = 0; i < USER_VERBS; i++)
        fputs(verbs[i].usage, out);
    fputs(USAGE_PASSWORD, out);
    fputs("Exit 0 ok, 1 refused (unknown or existing account, unknown employee, database), 2 usage.\n", out);
}

/* ---------------------------------------------------------------- the password */

/* Reads the first line of stdin into pw (USER_PW_BUF bytes). 0, or -1 with a message. */
static int user_password_stdin(const char *verb, char *pw)
{
    size_t len = 0;
    int c;
    bool any = false;
    setvbuf(stdin, NULL, _IONBF, 0); /* no copy of the password left in stdio's buffer */
    while ((c = getchar()) != EOF && c != '\n') {
        any = true;
        if (c == '\0') {
            fprintf(stderr, "kinerja user %s: password: holds a NUL byte\n", verb);
            return -1;
        }
        if (len + 1 >= USER_PW_BUF) {
            fprintf(stderr, "kinerja user %s: password: must be %d..%d bytes, got more than %d\n", verb,
                    USER_PASSWORD_MIN, USER_PASSWORD_MAX, USER_PASSWORD_MAX);
            return -1;
        }
        pw[len++] = (char)c;
    }
    if (!any && c == EOF) {
        fprintf(stderr, "kinerja user %s: --password-stdin: nothing on stdin\n", verb);
        return -1;
    }
    if (len && pw[len - 1] == '\r')
        len--;
    pw[len] = '\0';
    return 0;
}

/* The terminal while echo is off, for the signal handler to put back. */
static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved;

static void user_tty_restore_on_signal(int sig)
{
    if (tty_fd >= 0) {
        tcsetattr(tty_fd, TCSANOW, &tty_saved);
        (void)!write(tty_fd, "\n", 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line from the terminal fd into buf (USER_PW_BUF bytes). 0, 1 too long or
 * holding a NUL byte (it would cut the password short), -1 end of input or error. The
 * rest of a refused line is read and dropped. */
static int user_tty_line(int fd, char *buf)
{
    size_t len = 0;
    bool overlong = false;
    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        if (c == '\n')
            break;
        if (len + 1 >= USER_PW_BUF || c == '\0')
            overlong = true;
        else
            buf[len++] = c;
    }
    if (len && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    return overlong ? 1 : 0;
}

/* Asks for the password of id twice on /dev/tty with echo off, into pw (USER_PW_BUF
 * bytes). 0, or -1 with a message (CLI_USAGE in *rc when there is no terminal). */
static int user_password_tty(const char *verb, const char *id, char *pw, int *rc)
{
    *rc = CLI_FAIL;
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr,
                "kinerja user %s: no terminal to ask for the password on (%s): give it on the first line of "
                "stdin with --password-stdin\n",
                verb, strerror(errno));
        *rc = CLI_USAGE;
        return -1;
    }
    struct termios quiet;
    if (tcgetattr(fd, &tty_saved) < 0) {
        fprintf(stderr, "kinerja user %s: /dev/tty: %s: give the password with --password-stdin\n", verb,
                strerror(errno));
        close(fd);
        *rc = CLI_USAGE;
        return -1;
    }
    quiet = tty_saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ICANON | ECHONL;
    /* A signal while echo is off puts the terminal back before it ends the command
     * (a signal the caller ignores stays ignored). */
    static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define USER_STOP_SIGNALS (sizeof stop_signals / sizeof stop_signals[0])
    struct sigaction sa = {0}, old[USER_STOP_SIGNALS];
    sa.sa_handler = user_tty_restore_on_signal;
    sigemptyset(&sa.sa_mask);
    tty_fd = fd;
    for (size_t i = 0; i < USER_STOP_SIGNALS; i++) {
        sigaction(stop_signals[i], NULL, &old[i]);
        if (old[i].sa_handler != SIG_IGN)
            sigaction(stop_signals[i], &sa, NULL);
    }

    char again[USER_PW_BUF];
    int result = -1;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
        fprintf(stderr, "kinerja user %s: /dev/tty: cannot turn echo off: %s\n", verb, strerror(errno));
        goto out;
    }
    dprintf(fd, "New password for %s: ", id);
    int r1 = user_tty_line(fd, pw);
    int r2 = -1;
    if (r1 == 0) {
        dprintf(fd, "Again: ");
        r2 = user_tty_line(fd, again);
    }
    if (r1 < 0 || (r1 == 0 && r2 < 0))
        fprintf(stderr, "kinerja user %s: password: no answer on the terminal\n", verb);
    else if (r1 > 0 || r2 > 0)
        fprintf(stderr, "kinerja user %s: password: must be %d..%d bytes without a NUL byte, got more\n",
                verb, USER_PASSWORD_MIN, USER_PASSWORD_MAX);
    else if (strcmp(pw, again) != 0)
        fprintf(stderr, "kinerja user %s: password: the two entries differ; nothing changed\n", verb);
    else
        result = 0;
out:
    tcsetattr(fd, TCSAFLUSH, &tty_saved);
    tty_fd = -1;
    for (size_t i = 0; i < USER_STOP_SIGNALS; i++)
        sigaction(stop_signals[i], &old[i], NULL);
    close(fd);
    sodium_memzero(again, sizeof again);
    return result;
}

/* ---------------------------------------------------------------- the verbs */

struct user_args {
    const struct user_verb *verb;
    const char *id;   /* ID, or VIEWER for relation */
    const char *nip;  /* relation only */
    const char *role; /* --role */
    bool password_stdin, json;
};

static struct pgstore *user_connect(struct cli *cli, const char *verb)
{
    struct pgstore *db = pgstore_connect(config_str(cli->cfg, "postgres.dsn"));
    if (!db) {
        fprintf(stderr, "kinerja user %s: out of memory\n", verb);
        return NULL;
    }
    if (db->err) {
        fprintf(stderr, "kinerja user %s: PostgreSQL unreachable: %s\n", verb, db->errstr);
        pgstore_destroy(&db);
    }
    return db;
}

/* A database error's hint when the table is missing. */
static const char *user_hint(const char *err)
{
    return strstr(err, "web_users") && strstr(err, "does not exist") ? " (run `kinerja migrate`?)" : "";
}

static int user_unknown(const char *verb, const char *id)
{
    fprintf(stderr, "kinerja user %s: unknown user %s (kinerja user list shows the accounts)\n", verb, id);
    return CLI_FAIL;
}

/* add and passwd: checks what can be checked before asking for the password (so nobody
 * types it twice for nothing), then reads it and stores the hash. */
static int user_set_password_verb(struct pgstore *db, const struct user_args *a, enum user_role role)
{
    const char *verb = a->verb->name;
    bool add = !strcmp(verb, "add");
    char err[USER_ERR_MAX] = "";
    struct user_account u;
    int got = userstore_get(db, a->id, &u, err, sizeof err);
    sodium_memzero(u.pwhash, sizeof u.pwhash);
    if (got < 0) {
        fprintf(stderr, "kinerja user %s: %s%s\n", verb, err, user_hint(err));
        return CLI_FAIL;
    }
    if (add && got == 0) {
        fprintf(stderr, "kinerja user add: user %s exists (change its password with kinerja user passwd)\n",
                a->id);
        return CLI_FAIL;
    }
    if (!add && got == 1)
        return user_unknown(verb, a->id);
    if (add && role != USER_OPERATOR) {
        bool known = false;
        if (inboxstore_known(db, a->id, &known) < 0) {
            fprintf(stderr, "kinerja user add: %s\n", db->errstr);
            return CLI_FAIL;
        }
        if (!known) { /* userstore_add checks again, atomically, after the password */
            userstore_unknown_person(a->id, err, sizeof err);
            fprintf(stderr, "kinerja user add: %s\n", err);
            return CLI_FAIL;
        }
    }

    char pw[USER_PW_BUF];
    int rc = CLI_FAIL;
    if (a->password_stdin ? user_password_stdin(verb, pw) : user_password_tty(verb, a->id, pw, &rc)) {
        sodium_memzero(pw, sizeof pw);
        return rc;
    }
    int r = add ? userstore_add(db, a->id, role, pw, err, sizeof err)
                : userstore_set_password(db, a->id, pw, err, sizeof err);
    sodium_memzero(pw, sizeof pw);
    if (r < 0) {
        fprintf(stderr, "kinerja user %s: %s%s\n", verb, err, user_hint(err));
        return CLI_FAIL;
    }
    if (r > 0)
        return user_unknown(verb, a->id);
    if (add)
        printf("user %s added (role %s)\n", a->id, user_role_name(role));
    else
        printf("user %s: password changed; every open session of %s has ended\n", a->id, a->id);
    return CLI_OK;
}

static int user_disable_verb(struct pgstore *db, const struct user_args *a, bool disabled)
{
    char err[USER_ERR_MAX] = "";
    int r = userstore_set_disabled(db, a->id, disabled, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "kinerja user %s: %s%s\n", a->verb->name, err, user_hint(err));
        return CLI_FAIL;
    }
    if (r > 0)
        return user_unknown(a->verb->name, a->id);
    if (disabled)
        printf("user %s disabled; every open session of %s has ended\n", a->id, a->id);
    else
        printf("user %s enabled\n", a->id);
    return CLI_OK;
}

static int user_role_verb(struct pgstore *db, const struct user_args *a, enum user_role role)
{
    char err[USER_ERR_MAX] = "";
    int r = userstore_set_role(db, a->id, role, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "kinerja user role: %s%s\n", err, user_hint(err));
        return CLI_FAIL;
    }
    if (r > 0)
        return user_unknown("role", a->id);
    printf("user %s: role %s\n", a->id, user_role_name(role));
    return CLI_OK;
}

struct user_list_out {
    json_t *arr; /* --json */
    size_t n;
};

static int user_list_row(const struct user_listing *u, void *ctx)
{
    struct user_list_out *o = ctx;
    o->n++;
    if (!o->arr) {
        if (o->n == 1)
            printf("%-24s %-10s %-8s %s\n", "ID", "ROLE", "STATE", "CREATED");
        printf("%-24s %-10s %-8s %s\n", u->id, user_role_name(u->role), u->disabled ? "disabled" : "enabled",
               u->created);
        return 0;
    }
    json_t *row = json_pack("{s:s,s:s,s:b,s:I,s:s}", "id", u->id, "role", user_role_name(u->role), "disabled",
                            u->disabled, "epoch", (json_int_t)u->epoch, "created_at", u->created_iso);
    return row && json_array_append_new(o->arr, row) == 0 ? 0 : 1;
}

static int user_list_verb(struct cli *cli, struct pgstore *db, const struct user_args *a)
{
    const char *tz = config_str(cli->cfg, "time.zone");
    if (pgstore_use_time_zone(db, tz) < 0) {
        fprintf(stderr, "kinerja user list: %s\n", db->errstr);
        return CLI_FAIL;
    }
    struct user_list_out o = {0};
    if (a->json && !(o.arr = json_array())) {
        fprintf(stderr, "kinerja user list: out of memory\n");
        return CLI_FAIL;
    }
    char err[USER_ERR_MAX] = "";
    int r = userstore_list(db, user_list_row, &o, err, sizeof err);
    int rc = CLI_OK;
    if (r < 0) {
        fprintf(stderr, "kinerja user list: %s%s\n", err, user_hint(err));
        rc = CLI_FAIL;
    } else if (r > 0) {
        fprintf(stderr, "kinerja user list: out of memory\n");
        rc = CLI_FAIL;
    } else if (a->json) {
        if (json_dumpf(o.arr, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0) {
            fprintf(stderr, "kinerja user list: writing stdout failed\n");
            rc = CLI_FAIL;
        } else {
            putchar('\n');
        }
    } else if (o.n == 0) {
        printf("No web accounts yet (kinerja user add ID --role R creates one).\n");
    }
    json_decref(o.arr);
    return rc;
}

static int user_relation_verb(struct pgstore *db, const struct user_args *a)
{
    char err[USER_ERR_MAX] = "";
    enum user_relation rel;
    if (userstore_relation(db, a->id, a->nip, &rel, err, sizeof err) < 0) {
        fprintf(stderr, "kinerja user relation: %s\n", err);
        return CLI_FAIL;
    }
    printf("%s\n", user_relation_name(rel));
    return CLI_OK;
}

/* ---------------------------------------------------------------- parsing */

/* Parses argv (argv[1] is the verb) into a. CLI_OK (with *help when the help was
 * printed: nothing more to do), or CLI_USAGE with the reason on stderr. */
static int user_parse(int argc, char **argv, struct user_args *a, bool *help)
{
    *help = false;
    if (argc < 2) {
        fprintf(stderr, "kinerja user: expected add, passwd, disable, enable, role, list or relation\n");
        user_usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        user_usage(stdout);
        *help = true;
        return CLI_OK;
    }
    for (size_t i = 0; i < USER_VERBS; i++)
        if (!strcmp(argv[1], verbs[i].name))
            a->verb = &verbs[i];
    if (!a->verb) {
        fprintf(stderr, "kinerja user: unknown verb '%s'\n", argv[1]);
        user_usage(stderr);
        return CLI_USAGE;
    }
    const struct user_verb *v = a->verb;
    bool takes_role = !strcmp(v->name, "add") || !strcmp(v->name, "role");
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            user_verb_usage(stdout, v);
            *help = true;
            return CLI_OK;
        } else if (takes_role && !strcmp(s, "--role") && i + 1 < argc) {
            a->role = argv[++i];
        } else if (v->password && !strcmp(s, "--password-stdin")) {
            a->password_stdin = true;
        } else if (!strcmp(v->name, "list") && !strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--password") || !strncmp(s, "--password=", 11)) {
            fprintf(stderr,
                    "kinerja user %s: a password is never taken from the command line: use "
                    "--password-stdin, or give none to be asked on the terminal\n",
                    v->name);
            return CLI_USAGE;
        } else if (s[0] != '-' && !a->id && strcmp(v->name, "list")) {
            a->id = s;
        } else if (s[0] != '-' && !a->nip && !strcmp(v->name, "relation")) {
            a->nip = s;
        } else {
            fprintf(stderr, "kinerja user %s: unexpected argument or missing value '%s'\n", v->name, s);
            user_verb_usage(stderr, v);
            return CLI_USAGE;
        }
    }
    if (strcmp(v->name, "list") && !a->id) {
        fprintf(stderr, "kinerja user %s: the account's ID is required\n", v->name);
        user_verb_usage(stderr, v);
        return CLI_USAGE;
    }
    if (!strcmp(v->name, "relation") && !a->nip) {
        fprintf(stderr, "kinerja user relation: VIEWER and NIP are required\n");
        user_verb_usage(stderr, v);
        return CLI_USAGE;
    }
    if (takes_role && !a->role) {
        fprintf(stderr, "kinerja user %s: --role employee|supervisor|operator is required\n", v->name);
        return CLI_USAGE;
    }
    if (a->id && strcmp(v->name, "relation") && !user_id_valid(a->id)) {
        fprintf(stderr, "kinerja user %s: ID: must be 1..%d of A-Z a-z 0-9 . _ -, got '%.*s'\n", v->name,
                USER_ID_MAX, USER_ID_MAX, a->id);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cmd_user(struct cli *cli, int argc, char **argv)
{
    struct user_args a = {0};
    bool help;
    int rc = user_parse(argc, argv, &a, &help);
    if (rc != CLI_OK || help)
        return rc;
    enum user_role role = USER_EMPLOYEE;
    if (a.role && user_role_parse(a.role, &role) < 0) {
        fprintf(stderr, "kinerja user %s: --role: must be employee, supervisor or operator, got '%.32s'\n",
                a.verb->name, a.role);
        return CLI_USAGE;
    }
    if (a.password_stdin && isatty(STDIN_FILENO))
        fprintf(stderr, "kinerja user %s: reading the password from stdin (it echoes)\n", a.verb->name);

    struct pgstore *db = user_connect(cli, a.verb->name);
    if (!db)
        return CLI_FAIL;
    const char *v = a.verb->name;
    if (!strcmp(v, "add") || !strcmp(v, "passwd"))
        rc = user_set_password_verb(db, &a, role);
    else if (!strcmp(v, "disable") || !strcmp(v, "enable"))
        rc = user_disable_verb(db, &a, !strcmp(v, "disable"));
    else if (!strcmp(v, "role"))
        rc = user_role_verb(db, &a, role);
    else if (!strcmp(v, "list"))
        rc = user_list_verb(cli, db, &a);
    else
        rc = user_relation_verb(db, &a);
    pgstore_destroy(&db);
    return rc;
}
