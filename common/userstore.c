/*
 * userstore: web accounts and the access relation (see userstore.h). Fixed SQL text with
 * parameters only; the epoch rule lives in the web_users trigger (schemas/0010), not
 * here.
 */
#include "userstore.h"

#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_DUMMY_HASH_BYTES 32 /* what crypto_pwhash_str derives (STR_HASHBYTES in libsodium) */

static const char *const role_names[] = {
    [USER_EMPLOYEE] = "employee", [USER_SUPERVISOR] = "supervisor", [USER_OPERATOR] = "operator"};
#define USER_ROLES (sizeof role_names / sizeof role_names[0])

static const char *const relation_names[] = {[USER_REL_NONE] = "none",
                                             [USER_REL_SELF] = "self",
                                             [USER_REL_SUPERVISOR] = "supervisor",
                                             [USER_REL_SECOND_LINE] = "second_line"};

const char *user_role_name(enum user_role r)
{
    return (unsigned)r < USER_ROLES ? role_names[r] : "?";
}

int user_role_parse(const char *s, enum user_role *out)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < USER_ROLES; i++)
        if (!strcmp(s, role_names[i])) {
            *out = (enum user_role)i;
            return 0;
        }
    return -1;
}

const char *user_relation_name(enum user_relation r)
{
    return (unsigned)r < sizeof relation_names / sizeof relation_names[0] ? relation_names[r] : "?";
}

bool user_id_valid(const char *id)
{
    if (!id)
        return false;
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-' || c == ':'; /* ':' as in evaluator ids (bupati:kupang) */
        if (!ok || n >= USER_ID_MAX)
            return false;
    }
    return n > 0;
}

static bool user_nip_like(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++)
        if (id[n] < '0' || id[n] > '9')
            return false;
    return n == EVENT_NIP_LEN;
}

static void user_err(char *err, size_t errlen, const char *msg)
{
    if (errlen)
        snprintf(err, errlen, "%s", msg);
}

static bool user_sodium_ready(void)
{
    return sodium_init() >= 0; /* 0 the first time, 1 after: both fine */
}

/* ---------------------------------------------------------------- passwords */

/* 0 when password has an acceptable length, else -1 with the reason in err. */
static int user_check_password(const char *password, char *err, size_t errlen)
{
    size_t len = password ? strnlen(password, USER_PASSWORD_MAX + 1) : 0;
    if (len < USER_PASSWORD_MIN || len > USER_PASSWORD_MAX) {
        if (errlen) {
            if (len > USER_PASSWORD_MAX)
                snprintf(err, errlen, "password: must be %d..%d bytes, got more than %d", USER_PASSWORD_MIN,
                         USER_PASSWORD_MAX, USER_PASSWORD_MAX);
            else
                snprintf(err, errlen, "password: must be %d..%d bytes, got %zu", USER_PASSWORD_MIN,
                         USER_PASSWORD_MAX, len);
        }
        return -1;
    }
    return 0;
}

int userstore_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
    if (user_check_password(password, NULL, 0) < 0 || !user_sodium_ready())
        return -1;
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0
               ? 0
               : -1;
}

void userstore_verify_dummy(const char *password)
{
    /* The same derivation crypto_pwhash_str_verify runs for a hash made by
     * userstore_hash: argon2id, the INTERACTIVE limits, a 32-byte result. The salt is
     * fixed: nothing is stored or compared. */
    static const unsigned char salt[crypto_pwhash_SALTBYTES] = "kinerja-dummy-s";
    unsigned char out[USER_DUMMY_HASH_BYTES];
    size_t len = password ? strnlen(password, USER_PASSWORD_MAX) : 0;
    if (!user_sodium_ready())
        return;
    if (crypto_pwhash(out, sizeof out, password ? password : "", len, salt,
                      crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                      crypto_pwhash_ALG_DEFAULT) != 0)
        return; /* out of memory: nothing to hide then, the real verify fails the same way */
    sodium_memzero(out, sizeof out);
}

bool userstore_verify(const struct user_account *u, const char *password)
{
    size_t len = password ? strnlen(password, USER_PASSWORD_MAX + 1) : 0;
    if (!u || !password || len > USER_PASSWORD_MAX || !memchr(u->pwhash, '\0', sizeof u->pwhash) ||
        !user_sodium_ready()) {
        userstore_verify_dummy(password);
        return false;
    }
    bool match = crypto_pwhash_str_verify(u->pwhash, password, len) == 0;
    return match && !u->disabled; /* disabled checked after the work: same time as a mismatch */
}

/* ---------------------------------------------------------------- accounts */

static int user_db_fail(struct pgstore *db, char *err, size_t errlen)
{
    user_err(err, errlen, db->errstr);
    return -1;
}

static int user_check_id(const char *id, char *err, size_t errlen)
{
    if (user_id_valid(id))
        return 0;
    if (errlen)
        snprintf(err, errlen, "id: must be 1..%d of A-Z a-z 0-9 . _ : -, got '%.*s%s'", USER_ID_MAX,
                 USER_ID_MAX, id ? id : "", id && strlen(id) > USER_ID_MAX ? "..." : "");
    return -1;
}

void userstore_unknown_person(const char *id, char *err, size_t errlen)
{
    if (!errlen)
        return;
    if (user_nip_like(id))
        snprintf(err, errlen, "unknown employee %s: import it with kinerja org import first", id);
    else
        snprintf(
            err, errlen,
            "unknown employee or evaluator %s: an employee or supervisor account is an employee's NIP or "
            "an evaluator's id; import it with kinerja org import (--evaluators for an evaluator) first",
            id);
}

static const char SQL_GET[] = "SELECT id, role, disabled, epoch, pwhash FROM web_users WHERE id = $1";

int userstore_get(struct pgstore *db, const char *id, struct user_account *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!user_id_valid(id))
        return 1;
    const char *params[1] = {id};
    PGresult *res = pgstore_query(db, "web user", SQL_GET, 1, params);
    if (!res)
        return user_db_fail(db, err, errlen);
    int rc = 1;
    if (PQntuples(res) > 0) {
        const char *hash = PQgetvalue(res, 0, 4);
        if (user_role_parse(PQgetvalue(res, 0, 1), &out->role) < 0) {
            if (errlen)
                snprintf(err, errlen, "web user %s: role: unknown role '%.32s'", id, PQgetvalue(res, 0, 1));
            rc = -1;
        } else if (strlen(hash) >= sizeof out->pwhash) {
            if (errlen)
                snprintf(err, errlen, "web user %s: pwhash: longer than %zu bytes", id,
                         sizeof out->pwhash - 1);
            rc = -1;
        } else {
            snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
            out->disabled = PQgetvalue(res, 0, 2)[0] == 't';
            out->epoch = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
            memcpy(out->pwhash, hash, strlen(hash) + 1);
            rc = 0;
        }
    }
    PQclear(res);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* $1 id, $2 role: whether such an account may exist (an operator is anyone). */
#define SQL_KNOWN_PERSON                                                                                     \
    "($2 = 'operator' OR EXISTS (SELECT 1 FROM employees WHERE nip = $1)"                                    \
    " OR EXISTS (SELECT 1 FROM evaluators WHERE id = $1))"

/* One statement: atomic against a concurrent add of the same id (ON CONFLICT). Returns
 * (already there, known person, inserted). */
static const char SQL_ADD[] = "WITH k AS (SELECT " SQL_KNOWN_PERSON " AS ok),"
                              " ins AS (INSERT INTO web_users (id, role, pwhash)"
                              "         SELECT $1, $2, $3 FROM k WHERE k.ok"
                              "         ON CONFLICT (id) DO NOTHING RETURNING 1)"
                              " SELECT EXISTS (SELECT 1 FROM web_users WHERE id = $1), (SELECT ok FROM k),"
                              "        (SELECT count(*) FROM ins)";

int userstore_add(struct pgstore *db, const char *id, enum user_role role, const char *password, char *err,
                  size_t errlen)
{
    if (user_check_id(id, err, errlen) < 0 || user_check_password(password, err, errlen) < 0)
        return -1;
    if ((unsigned)role >= USER_ROLES) {
        user_err(err, errlen, "role: must be employee, supervisor or operator");
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (userstore_hash(password, hash) < 0) {
        user_err(err, errlen, "password: hashing failed (out of memory?)");
        return -1;
    }
    const char *params[3] = {id, role_names[role], hash};
    PGresult *res = pgstore_query(db, "web user", SQL_ADD, 3, params);
    sodium_memzero(hash, sizeof hash);
    if (!res)
        return user_db_fail(db, err, errlen);
    bool existed = PQgetvalue(res, 0, 0)[0] == 't', known = PQgetvalue(res, 0, 1)[0] == 't';
    long long inserted = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    if (inserted == 1)
        return 0;
    if (existed || known) { /* known but not inserted: a concurrent add won the race */
        if (errlen)
            snprintf(err, errlen, "user %s exists", id);
    } else {
        userstore_unknown_person(id, err, errlen);
    }
    return -1;
}

static const char SQL_SET_PASSWORD[] = "UPDATE web_users SET pwhash = $2 WHERE id = $1 RETURNING epoch";

int userstore_set_password(struct pgstore *db, const char *id, const char *password, char *err, size_t errlen)
{
    if (user_check_password(password, err, errlen) < 0)
        return -1;
    if (!user_id_valid(id))
        return 1;
    char hash[crypto_pwhash_STRBYTES];
    if (userstore_hash(password, hash) < 0) {
        user_err(err, errlen, "password: hashing failed (out of memory?)");
        return -1;
    }
    const char *params[2] = {id, hash};
    PGresult *res = pgstore_query(db, "web user password", SQL_SET_PASSWORD, 2, params);
    sodium_memzero(hash, sizeof hash);
    if (!res)
        return user_db_fail(db, err, errlen);
    int rc = PQntuples(res) == 1 ? 0 : 1;
    PQclear(res);
    return rc;
}

static const char SQL_SET_DISABLED[] =
    "UPDATE web_users SET disabled = $2::boolean WHERE id = $1 RETURNING epoch";

int userstore_set_disabled(struct pgstore *db, const char *id, bool disabled, char *err, size_t errlen)
{
    if (!user_id_valid(id))
        return 1;
    const char *params[2] = {id, disabled ? "true" : "false"};
    PGresult *res = pgstore_query(db, "web user disabled", SQL_SET_DISABLED, 2, params);
    if (!res)
        return user_db_fail(db, err, errlen);
    int rc = PQntuples(res) == 1 ? 0 : 1;
    PQclear(res);
    return rc;
}

/* Returns (account there, known person, updated). */
static const char SQL_SET_ROLE[] =
    "WITH k AS (SELECT " SQL_KNOWN_PERSON " AS ok),"
    " up AS (UPDATE web_users w SET role = $2 FROM k"
    "        WHERE w.id = $1 AND k.ok RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM web_users WHERE id = $1), (SELECT ok FROM k),"
    "        (SELECT count(*) FROM up)";

int userstore_set_role(struct pgstore *db, const char *id, enum user_role role, char *err, size_t errlen)
{
    if ((unsigned)role >= USER_ROLES) {
        user_err(err, errlen, "role: must be employee, supervisor or operator");
        return -1;
    }
    if (!user_id_valid(id))
        return 1;
    const char *params[2] = {id, role_names[role]};
    PGresult *res = pgstore_query(db, "web user role", SQL_SET_ROLE, 2, params);
    if (!res)
        return user_db_fail(db, err, errlen);
    bool there = PQgetvalue(res, 0, 0)[0] == 't', known = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    if (!there)
        return 1;
    if (!known) {
        userstore_unknown_person(id, err, errlen);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- listing */

static const char SQL_LIST[] =
    "SELECT id, role, disabled, epoch, to_char(created_at, 'YYYY-MM-DD HH24:MI'),"
    "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM web_users ORDER BY id";

struct user_list_ctx {
    userstore_list_fn fn;
    void *ctx;
};

static int user_list_row(const PGresult *res, void *arg)
{
    struct user_list_ctx *c = arg;
    struct user_listing u;
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "%s", PQgetvalue(res, 0, 0));
    if (user_role_parse(PQgetvalue(res, 0, 1), &u.role) < 0)
        u.role = USER_EMPLOYEE; /* the CHECK of web_users allows only the three */
    u.disabled = PQgetvalue(res, 0, 2)[0] == 't';
    u.epoch = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    snprintf(u.created, sizeof u.created, "%s", PQgetvalue(res, 0, 4));
    snprintf(u.created_iso, sizeof u.created_iso, "%s", PQgetvalue(res, 0, 5));
    return c->fn(&u, c->ctx);
}

int userstore_list(struct pgstore *db, userstore_list_fn fn, void *ctx, char *err, size_t errlen)
{
    struct user_list_ctx c = {fn, ctx};
    int rc = pgstore_each_row(db, "web users", SQL_LIST, 0, NULL, user_list_row, &c);
    if (rc < 0 && db->err)
        return user_db_fail(db, err, errlen);
    return rc;
}

/* ---------------------------------------------------------------- access */

/* $1 viewer, $2 nip; no row: nip is not an employee. */
static const char SQL_RELATION[] = "SELECT CASE WHEN e.nip = $1 THEN 1"
                                   "            WHEN e.supervisor_nip = $1 THEN 2"
                                   "            WHEN s.supervisor_nip = $1 THEN 3"
                                   "            ELSE 0 END"
                                   " FROM employees e LEFT JOIN employees s ON s.nip = e.supervisor_nip"
                                   " WHERE e.nip = $2";

int userstore_relation(struct pgstore *db, const char *viewer, const char *nip, enum user_relation *out,
                       char *err, size_t errlen)
{
    *out = USER_REL_NONE;
    if (!viewer || !nip || !viewer[0] || !nip[0])
        return 0;
    const char *params[2] = {viewer, nip};
    PGresult *res = pgstore_query(db, "relation", SQL_RELATION, 2, params);
    if (!res)
        return user_db_fail(db, err, errlen);
    if (PQntuples(res) > 0) {
        switch (PQgetvalue(res, 0, 0)[0]) {
        case '1':
            *out = USER_REL_SELF;
            break;
        case '2':
            *out = USER_REL_SUPERVISOR;
            break;
        case '3':
            *out = USER_REL_SECOND_LINE;
            break;
        default:
            *out = USER_REL_NONE;
        }
    }
    PQclear(res);
    return 0;
}
