/*
 * userstore: the accounts of the web front end (SPEC 12; table web_users, schemas/
 * 0010_web_users.sql) and who may see whose results. Called by `kinerja user`
 * (tools/cmd_user.c), which creates and changes accounts, and by kinerja-web, which
 * signs people in (userstore_get + userstore_verify, or userstore_verify_dummy for an
 * unknown id) and checks every page against userstore_relation.
 *
 * Passwords are hashed with libsodium's crypto_pwhash_str (argon2id, the INTERACTIVE
 * limits) and only the hash is stored. An account's epoch is its session generation:
 * PostgreSQL bumps it whenever the password, the role or disabled changes, and a session
 * made under an older epoch is void.
 *
 * Functions that talk to PostgreSQL return 0 / -1 (or 1 for "no such account") and
 * write the reason, naming the field, into err (errlen bytes, always terminated).
 */
#ifndef KINERJA_USERSTORE_H
#define KINERJA_USERSTORE_H

#include "pgstore.h"

#include <sodium.h>
#include <stdbool.h>

#define USER_ID_MAX 64        /* an NIP (18 digits), an evaluator id, or an operator name */
#define USER_PASSWORD_MIN 8   /* bytes */
#define USER_PASSWORD_MAX 256 /* bytes */
#define USER_ROLE_NAME_MAX 16 /* bytes of the longest role name, with the NUL */
#define USER_TIME_MAX 32      /* bytes of a time as shown ("2026-12-01 23:40") */

enum user_role { USER_EMPLOYEE, USER_SUPERVISOR, USER_OPERATOR };

/* "employee", "supervisor", "operator" ("?" for anything else). */
const char *user_role_name(enum user_role r);
/* The role named s (exactly, lower case): 0, or -1 when s names none. */
int user_role_parse(const char *s, enum user_role *out);
/* 1..USER_ID_MAX characters of [A-Za-z0-9._:-] (':' as in evaluator ids); false for NULL. */
bool user_id_valid(const char *id);

struct user_account {
    char id[USER_ID_MAX + 1];
    enum user_role role;
    bool disabled;
    long long
        epoch; /* bumped by passwd/disable/enable/role change: sessions carrying an older epoch are void */
    char pwhash[crypto_pwhash_STRBYTES];
};

/* The account id: 0 found (*out filled), 1 not found (also for an id user_id_valid
 * refuses: no such account can exist), -1 error (err). */
int userstore_get(struct pgstore *db, const char *id, struct user_account *out, char *err, size_t errlen);

/* Hashes password with crypto_pwhash_str (OPSLIMIT_INTERACTIVE, MEMLIMIT_INTERACTIVE):
 * 0, or -1 when the password is not USER_PASSWORD_MIN..USER_PASSWORD_MAX bytes or out
 * of memory. */
int userstore_hash(const char *password, char out[crypto_pwhash_STRBYTES]);

/* Whether password matches u->pwhash (libsodium's verify, constant time). False for a
 * disabled account too, after the same work, so the time taken does not tell a disabled
 * account from a wrong password. A password longer than USER_PASSWORD_MAX is false. */
bool userstore_verify(const struct user_account *u, const char *password);

/* Work of the same cost as userstore_verify, for an unknown id, so the time a failed
 * sign-in takes does not tell which ids exist. */
void userstore_verify_dummy(const char *password);

/* Creates the account id with role and password. -1 with err when: id is not valid
 * ("id: ..."), the password is not USER_PASSWORD_MIN..USER_PASSWORD_MAX bytes
 * ("password: ..."), the account exists ("user X exists"), an employee or supervisor
 * id is neither an employee's NIP nor an evaluator's id ("unknown employee X: import it
 * with kinerja org import first"), or on a database error. Any valid id may be an
 * operator. */
int userstore_add(struct pgstore *db, const char *id, enum user_role role, const char *password, char *err,
                  size_t errlen);

/* The reason userstore_add gives when an employee or supervisor id is neither a known
 * NIP nor an evaluator id (for a caller that checks before asking for the password). */
void userstore_unknown_person(const char *id, char *err, size_t errlen);

/* Sets a new password (the epoch goes up: every session ends). 0, 1 when the account is
 * unknown, -1 with err (password length, database). */
int userstore_set_password(struct pgstore *db, const char *id, const char *password, char *err,
                           size_t errlen);

/* Disables or enables the account (the epoch goes up when this changes it). 0, 1 when
 * the account is unknown, -1 with err. */
int userstore_set_disabled(struct pgstore *db, const char *id, bool disabled, char *err, size_t errlen);

/* Changes the account's role (the epoch goes up when this changes it); an employee or
 * supervisor must be a known NIP or evaluator id, as for userstore_add. 0, 1 when the
 * account is unknown, -1 with err. */
int userstore_set_role(struct pgstore *db, const char *id, enum user_role role, char *err, size_t errlen);

/* One account as `kinerja user list` shows it: never the hash. */
struct user_listing {
    char id[USER_ID_MAX + 1];
    enum user_role role;
    bool disabled;
    long long epoch;
    char created[USER_TIME_MAX];     /* "YYYY-MM-DD HH:MM" in the session's time zone */
    char created_iso[USER_TIME_MAX]; /* "YYYY-MM-DDTHH:MM:SSZ" (UTC) */
};
/* Calls fn for every account, by id; fn returns 0 to go on, non-zero to stop (that value
 * is returned). -1 with err on a database error. */
typedef int (*userstore_list_fn)(const struct user_listing *u, void *ctx);
int userstore_list(struct pgstore *db, userstore_list_fn fn, void *ctx, char *err, size_t errlen);

/* How viewer stands to employee nip, from employees' supervisor chain (supervisor_nip
 * holds a NIP or an evaluator id, schemas/0006):
 *   SELF         viewer is nip (a known employee)
 *   SUPERVISOR   viewer is nip's supervisor (pejabat penilai: signs nip's results)
 *   SECOND_LINE  viewer is the supervisor of nip's supervisor (decides nip's appeals)
 *   NONE         anything else, also an unknown nip. */
enum user_relation {
    USER_REL_NONE,
    USER_REL_SELF,
    USER_REL_SUPERVISOR /* viewer is nip's supervisor */,
    USER_REL_SECOND_LINE /* viewer is the supervisor of nip's supervisor (decides appeals) */
};
/* "none", "self", "supervisor", "second_line". */
const char *user_relation_name(enum user_relation r);
/* 0 with *out set, -1 with err. */
int userstore_relation(struct pgstore *db, const char *viewer, const char *nip, enum user_relation *out,
                       char *err, size_t errlen);

#endif
