/*
 * clients: parsing and looking up the CURVE allow-list; see clients.h.
 */
#include "clients.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define CLIENTS_ALL_TYPES ((1u << EVENT_TYPE_COUNT) - 1)

struct clients {
    struct client *by_key;   /* sorted by key */
    struct client **by_name; /* the same entries, sorted by name */
    size_t n, cap;
};

/* The list clients_load returned last (see clients_current). */
static const struct clients *current;

#define CLIENTS_WORDS_MAX 5 /* key, name, types, source=, as= */

static int fail_line(char *err, size_t errlen, const char *path, long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_line(char *err, size_t errlen, const char *path, long line, const char *fmt, ...)
{
    char why[CLIENTS_WHY_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "security.clients_file %s:%ld: %s", path, line, why);
    return -1;
}

static bool name_valid(const char *s, size_t n)
{
    if (n == 0 || n > CLIENTS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
            return false;
    }
    return true;
}

/* "citizen_feedback,signoff" or "*" into a bit set. */
static int parse_types(const char *s, unsigned *out, char *why, size_t whylen)
{
    if (strcmp(s, "*") == 0) {
        *out = CLIENTS_ALL_TYPES;
        return 0;
    }
    unsigned types = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        enum event_type t;
        if (n == 0) {
            snprintf(why, whylen, "event types: empty name in \"%s\"", s);
            return -1;
        }
        if (event_type_parse(p, n, &t) != 0) {
            snprintf(why, whylen,
                     "event types: unknown type \"%.*s\" (known: citizen_feedback, evaluation, "
                     "work_result, signoff, appeal, appeal_decision, recalc, feedback, or *)",
                     (int)n, p);
            return -1;
        }
        types |= 1u << t;
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = types;
    return 0;
}

/* Splits s at blanks into at most max words (NUL-terminating them in place); returns
 * how many there were (max + 1 when there were more). */
static size_t split_words(char *s, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(s, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == max)
            return max + 1;
        words[n++] = w;
    }
    return n;
}

/* A comma-separated list of 1..itemmax-byte items that each pass ok (NULL: any
 * non-blank text); why names the option. */
static int check_list(const char *opt, const char *list, size_t itemmax, bool (*ok)(const char *, size_t),
                      const char *what, char *why, size_t whylen)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0) {
            snprintf(why, whylen, "%s: empty item in \"%s\"", opt, list);
            return -1;
        }
        if (n > itemmax || (ok && !ok(p, n))) {
            snprintf(why, whylen, "%s: \"%.*s\" is not %s", opt, (int)(n < 80 ? n : 80), p, what);
            return -1;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static bool source_prefix_ok(const char *s, size_t n)
{
    return event_valid_utf8(s, n) && memchr(s, '\0', n) == NULL;
}

static bool actor_ok(const char *s, size_t n)
{
    return event_valid_nip(s, n) || event_valid_evaluator_id(s, n);
}

/* The words after the types: source=... and as=..., each at most once. */
static int parse_bindings(struct client *cl, char **words, size_t n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        char **slot;
        const char *opt, *value;
        if (strncmp(w, "source=", 7) == 0) {
            slot = &cl->sources;
            opt = "source=";
            value = w + 7;
            if (check_list(opt, value, EVENT_SOURCE_MAX, source_prefix_ok,
                           "a source prefix (valid UTF-8, at most 64 bytes)", why, whylen) != 0)
                return -1;
        } else if (strncmp(w, "as=", 3) == 0) {
            slot = &cl->as;
            opt = "as=";
            value = w + 3;
            if (check_list(opt, value, EVENT_EVALUATOR_ID_MAX, actor_ok, "an 18-digit NIP or an evaluator id",
                           why, whylen) != 0)
                return -1;
        } else {
            snprintf(why, whylen,
                     "unknown word \"%.*s\" after the event types (known: source=<prefixes>, as=<NIPs or "
                     "evaluator ids>, comma-separated)",
                     (int)(strlen(w) < 80 ? strlen(w) : 80), w);
            return -1;
        }
        if (*slot) {
            snprintf(why, whylen, "%s: given twice", opt);
            return -1;
        }
        *slot = strdup(value);
        if (!*slot) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void client_free(struct client *cl)
{
    free(cl->sources);
    free(cl->as);
    cl->sources = cl->as = NULL;
}

static int add_client(struct clients *c, const struct client *cl)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct client *p = realloc(c->by_key, cap * sizeof *p);
        if (!p)
            return -1;
        c->by_key = p;
        c->cap = cap;
    }
    c->by_key[c->n++] = *cl;
    return 0;
}

/* One line of the file; 0 (also for blank and comment lines) or -1 with err. */
static int parse_line(struct clients *c, char *text, const char *path, long line, char *err, size_t errlen)
{
    char *words[CLIENTS_WORDS_MAX];
    size_t n = split_words(text, words, CLIENTS_WORDS_MAX);
    if (n == 0)
        return 0;
    bool is_key = curvekey_is_z85(words[0], strlen(words[0]));
    if (words[0][0] == '#' && !is_key)
        return 0;
    if (n < 3 || n > CLIENTS_WORDS_MAX)
        return fail_line(err, errlen, path, line,
                         "expected `<z85 public key> <name> <event types, comma-separated, or *> "
                         "[source=<prefixes>] [as=<ids>]`, got %zu%s words",
                         n > CLIENTS_WORDS_MAX ? (size_t)CLIENTS_WORDS_MAX : n,
                         n > CLIENTS_WORDS_MAX ? " or more" : "");
    if (!is_key)
        return fail_line(err, errlen, path, line,
                         "public key: must be %d Z85 characters (as kinerja keygen prints)",
                         CURVEKEY_Z85_LEN);
    if (!name_valid(words[1], strlen(words[1])))
        return fail_line(err, errlen, path, line, "name: must be 1..%d characters of A-Z a-z 0-9 . _ -",
                         CLIENTS_NAME_MAX);
    struct client cl;
    memset(&cl, 0, sizeof cl);
    char why[CLIENTS_WHY_MAX];
    if (parse_types(words[2], &cl.types, why, sizeof why) != 0)
        return fail_line(err, errlen, path, line, "%s", why);
    if (parse_bindings(&cl, words + 3, n - 3, why, sizeof why) != 0) {
        client_free(&cl);
        return fail_line(err, errlen, path, line, "%s", why);
    }
    zmq_z85_decode(cl.key, words[0]); /* checked by curvekey_is_z85 */
    snprintf(cl.name, sizeof cl.name, "%s", words[1]);
    cl.line = line;
    if (c->n >= CLIENTS_MAX) {
        client_free(&cl);
        return fail_line(err, errlen, path, line, "more than %d clients", CLIENTS_MAX);
    }
    if (add_client(c, &cl) != 0) {
        client_free(&cl);
        return fail_line(err, errlen, path, line, "out of memory");
    }
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(((const struct client *)a)->key, ((const struct client *)b)->key, CURVEKEY_BIN_LEN);
}

static int cmp_name(const void *a, const void *b)
{
    const struct client *x = *(const struct client *const *)a, *y = *(const struct client *const *)b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->line > y->line) - (x->line < y->line);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Sorts both indexes; a key listed twice, or a name with different types on two lines,
 * is an error naming the later line. */
static int build_index(struct clients *c, const char *path, char *err, size_t errlen)
{
    if (c->n == 0)
        return 0;
    qsort(c->by_key, c->n, sizeof *c->by_key, cmp_key);
    for (size_t i = 1; i < c->n; i++) {
        if (cmp_key(&c->by_key[i - 1], &c->by_key[i]) == 0) {
            const struct client *a = &c->by_key[i - 1], *b = &c->by_key[i];
            return fail_line(err, errlen, path, a->line > b->line ? a->line : b->line,
                             "public key: listed before on line %ld", a->line < b->line ? a->line : b->line);
        }
    }
    c->by_name = calloc(c->n, sizeof *c->by_name);
    if (!c->by_name) {
        snprintf(err, errlen, "security.clients_file %s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < c->n; i++)
        c->by_name[i] = &c->by_key[i];
    qsort(c->by_name, c->n, sizeof *c->by_name, cmp_name);
    for (size_t i = 1; i < c->n; i++) {
        const struct client *a = c->by_name[i - 1], *b = c->by_name[i];
        if (strcmp(a->name, b->name) == 0 && a->types != b->types)
            return fail_line(
                err, errlen, path, b->line,
                "name %s: listed on line %ld with other event types (one name, one set of types)", b->name,
                a->line);
        if (strcmp(a->name, b->name) == 0 && (!same_text(a->sources, b->sources) || !same_text(a->as, b->as)))
            return fail_line(
                err, errlen, path, b->line,
                "name %s: listed on line %ld with other bindings (one name, one source= and as=)", b->name,
                a->line);
    }
    return 0;
}

struct clients *clients_load(const char *path, char *err, size_t errlen)
{
    struct clients *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "security.clients_file: out of memory");
        return NULL;
    }
    if (!path || !*path) {
        snprintf(err, errlen,
                 "security.clients_file is empty: with security.curve = true it must name the "
                 "allow-list of client keys");
        free(c);
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "security.clients_file %s: cannot read: %s", path, strerror(errno));
        free(c);
        return NULL;
    }
    char text[CLIENTS_LINE_MAX + 2];
    long line = 0;
    int rc = 0;
    while (rc == 0 && fgets(text, sizeof text, f)) {
        line++;
        size_t len = strlen(text);
        if (len == sizeof text - 1 && text[len - 1] != '\n') { /* no newline in the buffer: too long */
            rc = fail_line(err, errlen, path, line, "longer than %d characters", CLIENTS_LINE_MAX);
            break;
        }
        rc = parse_line(c, text, path, line, err, errlen);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "security.clients_file %s: read error", path);
        rc = -1;
    }
    fclose(f);
    if (rc == 0)
        rc = build_index(c, path, err, errlen);
    if (rc != 0) {
        clients_destroy(&c);
        return NULL;
    }
    current = c;
    return c;
}

void clients_destroy(struct clients **pc)
{
    if (!pc || !*pc)
        return;
    if (current == *pc)
        current = NULL;
    for (size_t i = 0; i < (*pc)->n; i++)
        client_free(&(*pc)->by_key[i]);
    free((*pc)->by_key);
    free((*pc)->by_name);
    free(*pc);
    *pc = NULL;
}

size_t clients_count(const struct clients *c)
{
    return c->n;
}

const struct client *clients_find_key(const struct clients *c, const uint8_t key[CURVEKEY_BIN_LEN])
{
    if (c->n == 0)
        return NULL;
    struct client probe;
    memcpy(probe.key, key, CURVEKEY_BIN_LEN);
    return bsearch(&probe, c->by_key, c->n, sizeof *c->by_key, cmp_key);
}

static int cmp_name_probe(const void *key, const void *elem)
{
    return strcmp((const char *)key, (*(const struct client *const *)elem)->name);
}

const struct client *clients_find_name(const struct clients *c, const char *name)
{
    if (c->n == 0)
        return NULL;
    struct client *const *p = bsearch(name, c->by_name, c->n, sizeof *c->by_name, cmp_name_probe);
    return p ? *p : NULL;
}

bool client_allows(const struct client *cl, enum event_type type)
{
    return (unsigned)type < EVENT_TYPE_COUNT && (cl->types & (1u << type)) != 0;
}

const struct clients *clients_current(void)
{
    return current;
}

/* The string value of key in the event map obj, or a NULL view. */
static struct strview map_str(const msgpack_object *obj, const char *key)
{
    struct strview v = {NULL, 0};
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return v;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0) {
            if (kv->val.type == MSGPACK_OBJECT_STR) {
                v.p = kv->val.via.str.ptr;
                v.n = kv->val.via.str.size;
            }
            return v;
        }
    }
    return v;
}

/* Whether v begins with one of the comma-separated prefixes (match = 1) or equals one
 * of the comma-separated items (match = 0). */
static bool in_list(const char *list, struct strview v, bool prefix)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (prefix ? (v.n >= n && memcmp(v.p, p, n) == 0) : (v.n == n && memcmp(v.p, p, n) == 0))
            return true;
        if (!comma)
            return false;
        p = comma + 1;
    }
}

/* "kiosk:a-*" or "kiosk:a-* or kiosk:b-*" from the prefixes list. */
static void prefixes_text(const char *list, char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int w = snprintf(out + len, outlen - len, "%s%.*s*", len ? " or " : "", (int)n, p);
        if (w < 0 || (size_t)w >= outlen - len)
            return; /* truncated: enough to say why */
        len += (size_t)w;
        if (!comma)
            return;
        p = comma + 1;
    }
}

int client_check_event(const struct client *cl, enum event_type type, const msgpack_object *obj, char *why,
                       size_t whylen)
{
    if (cl->sources) {
        struct strview src = map_str(obj, "source");
        if (!src.p || !in_list(cl->sources, src, true)) {
            char allowed[CLIENTS_WHY_MAX / 2];
            prefixes_text(cl->sources, allowed, sizeof allowed);
            snprintf(why, whylen, "source: %s may send only %s", cl->name, allowed);
            return -1;
        }
    }
    if (cl->as) {
        const char *field = type == EVENT_SIGNOFF || type == EVENT_FEEDBACK ? "supervisor"
                            : type == EVENT_APPEAL_DECISION                 ? "decider"
                            : type == EVENT_EVALUATION                      ? "rater"
                            : type == EVENT_APPEAL                          ? "employee"
                                                                            : NULL;
        if (field) {
            struct strview who = map_str(obj, field);
            if (!who.p || !in_list(cl->as, who, false)) {
                snprintf(why, whylen,
                         "%s: %.*s is not among those client %s may act for (as= in security.clients_file)",
                         field, who.p ? (int)(who.n < 64 ? who.n : 64) : 6, who.p ? who.p : "(none)",
                         cl->name);
                return -1;
            }
        }
    }
    return 0;
}
