#include "event.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Values quoted in error texts are cut to this many characters (errors go to clients
 * and logs, so they stay short and printable). */
#define EVENT_SHOW_CHARS 40
#define EVENT_SHOW_BYTES 96
#define EVENT_KEY_SHOW_CHARS 32

#define EVENT_RATING_MIN 1
#define EVENT_RATING_MAX 4 /* smiley buttons and SKM answers */
#define EVENT_BEHAVIOUR_MIN 1
#define EVENT_BEHAVIOUR_MAX 5
#define EVENT_PERIOD_YEAR_MIN 2000
#define EVENT_PERIOD_YEAR_MAX 2100

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME 16777619u

const char *const event_behaviour_keys[EVENT_BEHAVIOUR_KEYS] = {
    "berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif", "kolaboratif",
};

const char *const event_predikat_codes[5] = {
    "sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang",
};

/* The profile sets (docs/PROTOCOL.md lists them; web/public.c's survey form offers them). */
static const char *const profile_gender_codes[] = {"m", "f"};
static const char *const profile_gender_labels[] = {"Laki-laki", "Perempuan"};
static const char *const profile_age_codes[] = {"lt20", "20_29", "30_39", "40_49", "50_59", "60plus"};
static const char *const profile_age_labels[] = {
    "Di bawah 20 tahun", "20 - 29 tahun", "30 - 39 tahun",
    "40 - 49 tahun",     "50 - 59 tahun", "60 tahun ke atas",
};
static const char *const profile_education_codes[] = {"sd", "smp", "sma", "diploma", "s1", "s2plus"};
static const char *const profile_education_labels[] = {
    "SD ke bawah", "SMP", "SMA/SMK", "D1 - D4", "S1", "S2 ke atas",
};
static const char *const profile_occupation_codes[] = {"pns",       "tni",     "polri",  "swasta",
                                                       "wirausaha", "pelajar", "lainnya"};
static const char *const profile_occupation_labels[] = {
    "PNS", "TNI", "POLRI", "Pegawai swasta", "Wirausaha", "Pelajar/mahasiswa", "Lainnya",
};

#define PROFILE_N(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(PROFILE_N(profile_gender_codes) == PROFILE_N(profile_gender_labels) &&
                   PROFILE_N(profile_age_codes) == PROFILE_N(profile_age_labels) &&
                   PROFILE_N(profile_education_codes) == PROFILE_N(profile_education_labels) &&
                   PROFILE_N(profile_occupation_codes) == PROFILE_N(profile_occupation_labels),
               "every profile code has its label");
_Static_assert(PROFILE_N(profile_gender_codes) <= EVENT_PROFILE_CHOICES_MAX &&
                   PROFILE_N(profile_age_codes) <= EVENT_PROFILE_CHOICES_MAX &&
                   PROFILE_N(profile_education_codes) <= EVENT_PROFILE_CHOICES_MAX &&
                   PROFILE_N(profile_occupation_codes) <= EVENT_PROFILE_CHOICES_MAX,
               "a profile set is larger than EVENT_PROFILE_CHOICES_MAX");

static const struct event_profile_set profile_sets[EVENT_PROFILE_FIELDS] = {
    [EVENT_PROFILE_GENDER] = {"gender", "Jenis kelamin", profile_gender_codes, profile_gender_labels,
                              PROFILE_N(profile_gender_codes)},
    [EVENT_PROFILE_AGE_BAND] = {"age_band", "Umur", profile_age_codes, profile_age_labels,
                                PROFILE_N(profile_age_codes)},
    [EVENT_PROFILE_EDUCATION] = {"education", "Pendidikan terakhir", profile_education_codes,
                                 profile_education_labels, PROFILE_N(profile_education_codes)},
    [EVENT_PROFILE_OCCUPATION] = {"occupation", "Pekerjaan utama", profile_occupation_codes,
                                  profile_occupation_labels, PROFILE_N(profile_occupation_codes)},
};

const struct event_profile_set *event_profile_set(enum event_profile_field f)
{
    return (unsigned)f < EVENT_PROFILE_FIELDS ? &profile_sets[f] : NULL;
}

static const char *const type_names[EVENT_TYPE_COUNT] = {
    "citizen_feedback", "evaluation",      "work_result", "signoff",
    "appeal",           "appeal_decision", "recalc",      "feedback",
};

const char *event_type_name(enum event_type t)
{
    return (unsigned)t < EVENT_TYPE_COUNT ? type_names[t] : NULL;
}

/* s[0..n) equals the NUL-terminated word w. */
static bool sv_eq(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && (n == 0 || memcmp(s, w, n) == 0);
}

int event_profile_code_index(enum event_profile_field f, const char *s, size_t n)
{
    const struct event_profile_set *ps = event_profile_set(f);
    for (size_t i = 0; ps && s && i < ps->n; i++)
        if (sv_eq(s, n, ps->codes[i]))
            return (int)i;
    return -1;
}

int event_type_parse(const char *s, size_t n, enum event_type *out)
{
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        if (sv_eq(s, n, type_names[t])) {
            *out = (enum event_type)t;
            return 0;
        }
    }
    return -1;
}

const char *event_relation_name(enum relation r)
{
    switch (r) {
    case RELATION_SUPERVISOR:
        return "supervisor";
    case RELATION_PEER:
        return "peer";
    case RELATION_SUBORDINATE:
        return "subordinate";
    case RELATION_SELF:
        return "self";
    case RELATION_NONE:
        break;
    }
    return NULL;
}

const char *event_respondent_name(enum respondent r)
{
    switch (r) {
    case RESPONDENT_CITIZEN:
        return "citizen";
    case RESPONDENT_STUDENT:
        return "student";
    case RESPONDENT_PARENT:
        return "parent";
    }
    return NULL;
}

const char *event_hasil_name(enum hasil_kerja h)
{
    switch (h) {
    case HASIL_ABOVE:
        return "above";
    case HASIL_MEETS:
        return "meets";
    case HASIL_BELOW:
        return "below";
    case HASIL_NONE:
        break;
    }
    return NULL;
}

const char *event_direction_name(enum direction d)
{
    switch (d) {
    case DIRECTION_HIGHER_BETTER:
        return "higher_better";
    case DIRECTION_LOWER_BETTER:
        return "lower_better";
    }
    return NULL;
}

const char *event_decision_name(enum decision d)
{
    switch (d) {
    case DECISION_APPROVE:
        return "approve";
    case DECISION_RETURN:
        return "return";
    case DECISION_OFFER:
        return "offer";
    case DECISION_UPHOLD:
        return "uphold";
    case DECISION_REVISE:
        return "revise";
    case DECISION_NONE:
        break;
    }
    return NULL;
}

/* ---- field checks -------------------------------------------------------------- */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 8-4-4-4-12 hex digits with hyphens; either case (clients differ). */
bool event_valid_uuid(const char *s, size_t n)
{
    if (!s || n != EVENT_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool hyphen = (i == 8 || i == 13 || i == 18 || i == 23);
        if (hyphen ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

bool event_valid_nip(const char *s, size_t n)
{
    if (!s || n != EVENT_NIP_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* "YYYY", "YYYY-MM" or "YYYY-Qn" (SPEC 3), year 2000..2100, month 01..12, quarter 1..4. */
bool event_valid_period(const char *s, size_t n)
{
    if (!s || (n != 4 && n != 7))
        return false;
    for (size_t i = 0; i < 4; i++)
        if (!is_digit(s[i]))
            return false;
    int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    if (year < EVENT_PERIOD_YEAR_MIN || year > EVENT_PERIOD_YEAR_MAX)
        return false;
    if (n == 4)
        return true;
    if (s[4] != '-')
        return false;
    if (s[5] == 'Q')
        return s[6] >= '1' && s[6] <= '0' + EVENT_PERIOD_QUARTERS;
    if (!is_digit(s[5]) || !is_digit(s[6]))
        return false;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    return month >= 1 && month <= 12;
}

/*
 * Length of the well-formed UTF-8 sequence at s[0..n), or 0 when it is not one:
 * overlong forms, UTF-16 surrogates (U+D800..DFFF), code points above U+10FFFF,
 * stray continuation bytes and cut-off sequences are all refused (RFC 3629, table 3-7
 * of the Unicode standard).
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

bool event_valid_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t l = utf8_seq_len(u + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

unsigned event_shard(const struct event *ev, unsigned nshards)
{
    if (nshards == 0)
        return 0;
    const struct strview *key = ev->employee.n ? &ev->employee : ev->unit.n ? &ev->unit : &ev->id;
    uint32_t h = FNV32_OFFSET;
    for (size_t i = 0; i < key->n; i++) {
        h ^= (unsigned char)key->p[i];
        h *= FNV32_PRIME;
    }
    return h % nshards;
}

/* ---- error texts ----------------------------------------------------------------- */

/*
 * Writes s[0..n) into out (NUL-terminated, at most outlen bytes) so that it is safe to
 * show a client: at most max_chars characters, well-formed UTF-8 kept, control
 * characters, quotes and backslashes escaped, invalid bytes as \xNN, "..." when cut.
 */
static void show_text(const char *s, size_t n, size_t max_chars, char *out, size_t outlen)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, chars = 0, i = 0;
    const size_t reserve = 4; /* "..." and the NUL */

    if (outlen < reserve + 1) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    while (i < n) {
        char tmp[8];
        size_t tlen;
        size_t l = utf8_seq_len(u + i, n - i);
        if (l == 1 && u[i] >= 0x20 && u[i] != 0x7f && u[i] != '"' && u[i] != '\\') {
            tmp[0] = (char)u[i];
            tlen = 1;
        } else if (l == 1 && (u[i] == '"' || u[i] == '\\')) {
            tmp[0] = '\\';
            tmp[1] = (char)u[i];
            tlen = 2;
        } else if (l == 1) {
            tlen = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", u[i]);
        } else if (l > 1) {
            memcpy(tmp, u + i, l);
            tlen = l;
        } else {
            l = 1;
            tlen = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", u[i]);
        }
        if (chars == max_chars || o + tlen + reserve > outlen) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, tmp, tlen);
        o += tlen;
        chars++;
        i += l;
    }
    out[o] = '\0';
}

/* A short description of a value for "got ..." in error texts. */
static void show_value(const msgpack_object *o, char *out, size_t outlen)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        snprintf(out, outlen, "nil");
        return;
    case MSGPACK_OBJECT_BOOLEAN:
        snprintf(out, outlen, "%s", o->via.boolean ? "true" : "false");
        return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(out, outlen, "%llu", (unsigned long long)o->via.u64);
        return;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(out, outlen, "%lld", (long long)o->via.i64);
        return;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        /* "4.0", not "4": the value was refused for being a float */
        snprintf(out, outlen, "%g%s", o->via.f64,
                 isfinite(o->via.f64) && o->via.f64 == floor(o->via.f64) && fabs(o->via.f64) < 1e6 ? ".0"
                                                                                                   : "");
        return;
    case MSGPACK_OBJECT_STR: {
        char text[EVENT_SHOW_BYTES];
        show_text(o->via.str.ptr, o->via.str.size, EVENT_SHOW_CHARS, text, sizeof text);
        snprintf(out, outlen, "\"%s\"", text);
        return;
    }
    case MSGPACK_OBJECT_ARRAY:
        snprintf(out, outlen, "an array");
        return;
    case MSGPACK_OBJECT_MAP:
        snprintf(out, outlen, "a map");
        return;
    case MSGPACK_OBJECT_BIN:
        snprintf(out, outlen, "binary data");
        return;
    case MSGPACK_OBJECT_EXT:
        snprintf(out, outlen, "an ext value");
        return;
    }
    snprintf(out, outlen, "a value of unknown type");
}

/* ---- the field table ------------------------------------------------------------- */

/* Every top-level field any event type may carry; bit i of a type's mask allows field i. */
enum field {
    F_V,
    F_ID,
    F_TYPE,
    F_SOURCE,
    F_TS,
    F_UNIT,
    F_EMPLOYEE,
    F_SERVICE,
    F_RESPONDENT,
    F_RATING,
    F_SKM,
    F_COMMENT,
    F_GENDER,
    F_AGE_BAND,
    F_EDUCATION,
    F_OCCUPATION,
    F_PERIOD,
    F_RATER,
    F_RELATION,
    F_BEHAVIOUR,
    F_HASIL_KERJA,
    F_INDICATOR,
    F_TARGET,
    F_REALIZATION,
    F_DIRECTION,
    F_WEIGHT,
    F_EVIDENCE,
    F_SUPERVISOR,
    F_DECISION,
    F_VERSION,
    F_NOTE,
    F_REASON,
    F_DECIDER,
    F_PREDIKAT,
    F_TEXT,
    F_VALUE,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "v",         "id",        "type",        "source",     "ts",       "unit",
    "employee",  "service",   "respondent",  "rating",     "skm",      "comment",
    "gender",    "age_band",  "education",   "occupation", "period",   "rater",
    "relation",  "behaviour", "hasil_kerja", "indicator",  "target",   "realization",
    "direction", "weight",    "evidence",    "supervisor", "decision", "version",
    "note",      "reason",    "decider",     "predikat",   "text",     "value",
};

#define BIT(f) (1ull << (f))
#define ENVELOPE (BIT(F_V) | BIT(F_ID) | BIT(F_TYPE) | BIT(F_SOURCE) | BIT(F_TS))

static const uint64_t type_fields[EVENT_TYPE_COUNT] = {
    [EVENT_CITIZEN_FEEDBACK] = ENVELOPE | BIT(F_UNIT) | BIT(F_EMPLOYEE) | BIT(F_SERVICE) | BIT(F_RESPONDENT) |
                               BIT(F_RATING) | BIT(F_SKM) | BIT(F_COMMENT) | BIT(F_GENDER) | BIT(F_AGE_BAND) |
                               BIT(F_EDUCATION) | BIT(F_OCCUPATION),
    [EVENT_EVALUATION] = ENVELOPE | BIT(F_EMPLOYEE) | BIT(F_PERIOD) | BIT(F_RATER) | BIT(F_RELATION) |
                         BIT(F_BEHAVIOUR) | BIT(F_HASIL_KERJA) | BIT(F_COMMENT),
    [EVENT_WORK_RESULT] = ENVELOPE | BIT(F_EMPLOYEE) | BIT(F_PERIOD) | BIT(F_INDICATOR) | BIT(F_TARGET) |
                          BIT(F_REALIZATION) | BIT(F_DIRECTION) | BIT(F_WEIGHT) | BIT(F_EVIDENCE),
    [EVENT_SIGNOFF] = ENVELOPE | BIT(F_EMPLOYEE) | BIT(F_PERIOD) | BIT(F_SUPERVISOR) | BIT(F_DECISION) |
                      BIT(F_VERSION) | BIT(F_NOTE),
    [EVENT_APPEAL] = ENVELOPE | BIT(F_EMPLOYEE) | BIT(F_PERIOD) | BIT(F_REASON),
    [EVENT_APPEAL_DECISION] = ENVELOPE | BIT(F_EMPLOYEE) | BIT(F_PERIOD) | BIT(F_DECIDER) | BIT(F_DECISION) |
                              BIT(F_PREDIKAT) | BIT(F_NOTE),
    [EVENT_RECALC] = ENVELOPE | BIT(F_PERIOD) | BIT(F_UNIT) | BIT(F_EMPLOYEE),
    [EVENT_FEEDBACK] =
        ENVELOPE | BIT(F_EMPLOYEE) | BIT(F_PERIOD) | BIT(F_SUPERVISOR) | BIT(F_TEXT) | BIT(F_VALUE),
};

/* One decode in progress: the value of each field found in the map (NULL: absent). */
struct decoder {
    const msgpack_object *val[F_COUNT];
    enum event_type type;
    char *err;
    size_t errlen;
};

static int fail(struct decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct decoder *d, const char *fmt, ...)
{
    if (d->err && d->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err, d->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int field_lookup(const char *s, size_t n)
{
    for (int f = 0; f < F_COUNT; f++)
        if (sv_eq(s, n, field_names[f]))
            return f;
    return -1;
}

/* A field is absent when the key is missing or its value is nil (JSON clients often
 * write null for "not given"); required fields treat both the same. */
static const msgpack_object *field_value(const struct decoder *d, enum field f)
{
    const msgpack_object *o = d->val[f];
    return (o && o->type != MSGPACK_OBJECT_NIL) ? o : NULL;
}

static int fail_required(struct decoder *d, enum field f)
{
    return fail(d, "%s: required for %s", field_names[f], type_names[d->type]);
}

/* String shape flags for get_str(). */
#define STR_REQUIRED 0x1 /* absent is an error */
#define STR_NONEMPTY 0x2 /* "" is an error */
#define STR_CODE 0x4     /* an identifier: no control characters */

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/*
 * Checks a string value named `name` (a field, or "skm.u3"-style path) and stores a
 * view of it. Strings must be msgpack str (not bin), valid UTF-8 without NUL (which
 * PostgreSQL text cannot hold), and at most max bytes.
 */
static int check_str(struct decoder *d, const char *name, const msgpack_object *o, size_t max, unsigned flags,
                     struct strview *out)
{
    char got[EVENT_SHOW_BYTES + 8];
    if (o->type != MSGPACK_OBJECT_STR) {
        show_value(o, got, sizeof got);
        return fail(d, "%s: must be a string, got %s", name, got);
    }
    const char *s = o->via.str.ptr;
    size_t n = o->via.str.size;
    if (!event_valid_utf8(s, n))
        return fail(d, "%s: must be valid UTF-8", name);
    if (n > 0 && memchr(s, '\0', n))
        return fail(d, "%s: must not contain NUL characters", name);
    if (n > max)
        return fail(d, "%s: must be at most %zu bytes, got %zu", name, max, n);
    if (n == 0 && (flags & STR_NONEMPTY))
        return fail(d, "%s: must not be empty", name);
    if ((flags & STR_CODE) && has_control(s, n))
        return fail(d, "%s: must not contain control characters", name);
    out->p = n ? s : "";
    out->n = n;
    return 0;
}

static int get_str(struct decoder *d, enum field f, size_t max, unsigned flags, struct strview *out)
{
    const msgpack_object *o = field_value(d, f);
    if (!o)
        return (flags & STR_REQUIRED) ? fail_required(d, f) : 0;
    return check_str(d, field_names[f], o, max, flags, out);
}

static int get_nip(struct decoder *d, enum field f, bool required, struct strview *out)
{
    const msgpack_object *o = field_value(d, f);
    char got[EVENT_SHOW_BYTES + 8];
    if (!o)
        return required ? fail_required(d, f) : 0;
    if (o->type != MSGPACK_OBJECT_STR || !event_valid_nip(o->via.str.ptr, o->via.str.size)) {
        show_value(o, got, sizeof got);
        return fail(d, "%s: must be an 18-digit NIP, got %s", field_names[f], got);
    }
    out->p = o->via.str.ptr;
    out->n = o->via.str.size;
    return 0;
}

static int get_period(struct decoder *d, bool required, struct strview *out)
{
    const msgpack_object *o = field_value(d, F_PERIOD);
    char got[EVENT_SHOW_BYTES + 8];
    if (!o)
        return required ? fail_required(d, F_PERIOD) : 0;
    if (o->type != MSGPACK_OBJECT_STR || !event_valid_period(o->via.str.ptr, o->via.str.size)) {
        show_value(o, got, sizeof got);
        return fail(d, "period: must be " EVENT_PERIOD_RULE ", got %s", got);
    }
    out->p = o->via.str.ptr;
    out->n = o->via.str.size;
    return 0;
}

/* An integer in lo..hi: msgpack integers only (a float, even 3.0, is refused). */
static int check_int(struct decoder *d, const char *name, const msgpack_object *o, int64_t lo, int64_t hi,
                     int64_t *out)
{
    char got[EVENT_SHOW_BYTES + 8];
    bool ok = false;
    int64_t v = 0;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX) {
        v = (int64_t)o->via.u64;
        ok = v >= lo && v <= hi;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
        ok = v >= lo && v <= hi;
    }
    if (!ok) {
        show_value(o, got, sizeof got);
        if (hi == INT64_MAX)
            return fail(d, "%s: must be an integer >= %lld, got %s", name, (long long)lo, got);
        return fail(d, "%s: must be an integer %lld..%lld, got %s", name, (long long)lo, (long long)hi, got);
    }
    *out = v;
    return 0;
}

/* A number: integer or float, finite, in (0, max] (`positive`) or [0, max]. With the
 * bounds of event.h no sum or product the score engine forms overflows. */
static int get_number(struct decoder *d, enum field f, bool required, bool positive, double max, double *out)
{
    const msgpack_object *o = field_value(d, f);
    char got[EVENT_SHOW_BYTES + 8];
    const char *open = positive ? "(0" : "[0";
    double v;
    if (!o)
        return required ? fail_required(d, f) : 0;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        v = (double)o->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v = (double)o->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        v = o->via.f64;
        break;
    default:
        show_value(o, got, sizeof got);
        return fail(d, "%s: must be a number in %s, %.10g], got %s", field_names[f], open, max, got);
    }
    if (!isfinite(v))
        return fail(d, "%s: must be a finite number in %s, %.10g]", field_names[f], open, max);
    if ((positive ? !(v > 0) : !(v >= 0)) || !(v <= max)) {
        show_value(o, got, sizeof got);
        return fail(d, "%s: must be a number in %s, %.10g], got %s", field_names[f], open, max, got);
    }
    *out = v;
    return 0;
}

/* One of `names` (n of them, "|"-joined in the error); *out = index. */
static int get_choice(struct decoder *d, enum field f, const char *const *names, int n, bool required,
                      int *out)
{
    const msgpack_object *o = field_value(d, f);
    char got[EVENT_SHOW_BYTES + 8];
    char list[160];
    if (!o)
        return required ? fail_required(d, f) : 1;
    if (o->type == MSGPACK_OBJECT_STR) {
        for (int i = 0; i < n; i++) {
            if (sv_eq(o->via.str.ptr, o->via.str.size, names[i])) {
                *out = i;
                return 0;
            }
        }
    }
    size_t len = 0;
    list[0] = '\0';
    for (int i = 0; i < n && len < sizeof list; i++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? "|" : "", names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    show_value(o, got, sizeof got);
    return fail(d, "%s: must be one of %s, got %s", field_names[f], list, got);
}

/* ---- map walking ----------------------------------------------------------------- */

/* Shows a map key for an error: the key text when it is a string, else "(key)". */
static void show_key(const msgpack_object *k, char *out, size_t outlen)
{
    if (k->type == MSGPACK_OBJECT_STR)
        show_text(k->via.str.ptr, k->via.str.size, EVENT_KEY_SHOW_CHARS, out, outlen);
    else
        snprintf(out, outlen, "(key)");
}

static const char *type_word(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "a float";
    case MSGPACK_OBJECT_STR:
        return "a string";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "a map";
    case MSGPACK_OBJECT_BIN:
        return "binary data";
    case MSGPACK_OBJECT_EXT:
        return "an ext value";
    }
    return "a value of unknown type";
}

/*
 * skm: a map of exactly u1..u9, each 1..4. Keys are looked up in the fixed item set
 * as they come, so a hostile map with many keys fails at the first unknown one.
 */
static int decode_skm(struct decoder *d, const msgpack_object *o, struct event *ev)
{
    char got[EVENT_SHOW_BYTES + 8];
    char key[EVENT_SHOW_BYTES];
    bool seen[EVENT_SKM_ITEMS] = {false};

    if (o->type != MSGPACK_OBJECT_MAP) {
        show_value(o, got, sizeof got);
        return fail(d, "skm: must be a map of u1..u9, got %s", got);
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return fail(d, "skm: keys must be strings, got %s", type_word(k));
        const char *s = k->via.str.ptr;
        size_t n = k->via.str.size;
        int item = -1;
        if (n == 2 && s[0] == 'u' && s[1] >= '1' && s[1] <= '9')
            item = s[1] - '1';
        if (item < 0) {
            show_key(k, key, sizeof key);
            return fail(d, "skm.%s: unknown item (expected u1..u9)", key);
        }
        if (seen[item])
            return fail(d, "skm.u%d: repeated key", item + 1);
        seen[item] = true;
        char name[16];
        snprintf(name, sizeof name, "skm.u%d", item + 1);
        int64_t val = 0;
        if (check_int(d, name, v, EVENT_RATING_MIN, EVENT_RATING_MAX, &val) < 0)
            return -1;
        ev->skm[item] = (int)val;
    }
    for (int i = 0; i < EVENT_SKM_ITEMS; i++)
        if (!seen[i])
            return fail(d, "skm.u%d: missing (all of u1..u9 are required)", i + 1);
    ev->has_skm = true;
    return 0;
}

/* behaviour: a non-empty map of BerAKHLAK values, each 1..5. */
static int decode_behaviour(struct decoder *d, const msgpack_object *o, struct event *ev)
{
    char got[EVENT_SHOW_BYTES + 8];
    char key[EVENT_SHOW_BYTES];
    bool seen[EVENT_BEHAVIOUR_KEYS] = {false};

    if (o->type != MSGPACK_OBJECT_MAP) {
        show_value(o, got, sizeof got);
        return fail(d, "behaviour: must be a map of BerAKHLAK values, got %s", got);
    }
    if (o->via.map.size == 0)
        return fail(d, "behaviour: must rate at least one BerAKHLAK value");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return fail(d, "behaviour: keys must be strings, got %s", type_word(k));
        int which = -1;
        for (int j = 0; j < EVENT_BEHAVIOUR_KEYS; j++)
            if (sv_eq(k->via.str.ptr, k->via.str.size, event_behaviour_keys[j]))
                which = j;
        if (which < 0) {
            show_key(k, key, sizeof key);
            return fail(d, "behaviour.%s: not a BerAKHLAK value", key);
        }
        if (seen[which])
            return fail(d, "behaviour.%s: repeated key", event_behaviour_keys[which]);
        seen[which] = true;
        char name[48];
        snprintf(name, sizeof name, "behaviour.%s", event_behaviour_keys[which]);
        int64_t val = 0;
        if (check_int(d, name, v, EVENT_BEHAVIOUR_MIN, EVENT_BEHAVIOUR_MAX, &val) < 0)
            return -1;
        ev->behaviour[which] = (int)val;
    }
    return 0;
}

/* ---- per-type rules ---------------------------------------------------------------- */

static const char *const respondent_words[] = {"citizen", "student", "parent"};
static const char *const relation_words[] = {"supervisor", "peer", "subordinate", "self"};
static const char *const hasil_words[] = {"above", "meets", "below"};
static const char *const direction_words[] = {"higher_better", "lower_better"};
/* offer (SPEC 6): the supervisor asks for a returned (collecting) result to be offered
 * for sign-off again (DECISION_OFFER). */
static const char *const signoff_words[] = {"approve", "return", "offer"};
static const char *const appeal_words[] = {"uphold", "revise"};

/* An optional respondent profile field: absent, or one code of its set (the error names
 * the allowed codes). The view points into the msgpack object, as every string does. */
static int get_profile(struct decoder *d, enum field f, enum event_profile_field pf, struct strview *out)
{
    const struct event_profile_set *ps = event_profile_set(pf);
    int choice;
    int rc = get_choice(d, f, ps->codes, (int)ps->n, false, &choice);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    const msgpack_object *o = field_value(d, f);
    out->p = o->via.str.ptr;
    out->n = o->via.str.size;
    return 0;
}

static int decode_citizen_feedback(struct decoder *d, struct event *ev)
{
    int choice;
    int rc;
    if (get_str(d, F_UNIT, EVENT_UNIT_MAX, STR_REQUIRED | STR_NONEMPTY | STR_CODE, &ev->unit) < 0 ||
        get_nip(d, F_EMPLOYEE, false, &ev->employee) < 0 ||
        get_str(d, F_SERVICE, EVENT_SERVICE_MAX, 0, &ev->service) < 0)
        return -1;
    if ((rc = get_choice(d, F_RESPONDENT, respondent_words, 3, false, &choice)) < 0)
        return -1;
    ev->respondent = rc == 0 ? (enum respondent)choice : RESPONDENT_CITIZEN;

    const msgpack_object *rating = field_value(d, F_RATING);
    const msgpack_object *skm = field_value(d, F_SKM);
    if (rating && skm)
        return fail(d, "rating: give either rating or skm, not both");
    if (!rating && !skm)
        return fail(d, "rating: required for citizen_feedback (or skm, the nine-question survey)");
    if (rating) {
        int64_t v = 0;
        if (check_int(d, "rating", rating, EVENT_RATING_MIN, EVENT_RATING_MAX, &v) < 0)
            return -1;
        ev->rating = (int)v;
    } else if (decode_skm(d, skm, ev) < 0) {
        return -1;
    }

    if (get_str(d, F_COMMENT, EVENT_COMMENT_MAX, 0, &ev->comment) < 0 ||
        get_profile(d, F_GENDER, EVENT_PROFILE_GENDER, &ev->gender) < 0 ||
        get_profile(d, F_AGE_BAND, EVENT_PROFILE_AGE_BAND, &ev->age_band) < 0 ||
        get_profile(d, F_EDUCATION, EVENT_PROFILE_EDUCATION, &ev->education) < 0 ||
        get_profile(d, F_OCCUPATION, EVENT_PROFILE_OCCUPATION, &ev->occupation) < 0)
        return -1;
    return 0;
}

static int decode_evaluation(struct decoder *d, struct event *ev)
{
    int choice;
    if (get_nip(d, F_EMPLOYEE, true, &ev->employee) < 0 || get_period(d, true, &ev->period) < 0 ||
        get_nip(d, F_RATER, true, &ev->rater) < 0)
        return -1;
    if (get_choice(d, F_RELATION, relation_words, 4, true, &choice) < 0)
        return -1;
    ev->relation = (enum relation)(RELATION_SUPERVISOR + choice);

    /* Who the rater is relative to the employee is the worker's check (it needs the
     * organisation), except the one fact the event itself shows: self is the employee. */
    bool same = ev->rater.n == ev->employee.n && memcmp(ev->rater.p, ev->employee.p, ev->rater.n) == 0;
    if (ev->relation == RELATION_SELF && !same)
        return fail(d, "rater: must be the employee when relation is self");
    if (ev->relation != RELATION_SELF && same)
        return fail(d, "rater: is the employee, so relation must be self, got %s",
                    event_relation_name(ev->relation));

    const msgpack_object *beh = field_value(d, F_BEHAVIOUR);
    if (!beh)
        return fail_required(d, F_BEHAVIOUR);
    if (decode_behaviour(d, beh, ev) < 0)
        return -1;

    int rc = get_choice(d, F_HASIL_KERJA, hasil_words, 3, false, &choice);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        if (ev->relation != RELATION_SUPERVISOR)
            return fail(d, "hasil_kerja: only the supervisor's evaluation may carry it (relation is %s)",
                        event_relation_name(ev->relation));
        ev->hasil_kerja = (enum hasil_kerja)(HASIL_ABOVE + choice);
    }
    return get_str(d, F_COMMENT, EVENT_COMMENT_MAX, 0, &ev->comment);
}

static int decode_work_result(struct decoder *d, struct event *ev)
{
    int choice, rc;
    if (get_nip(d, F_EMPLOYEE, true, &ev->employee) < 0 || get_period(d, true, &ev->period) < 0 ||
        get_str(d, F_INDICATOR, EVENT_INDICATOR_MAX, STR_REQUIRED | STR_NONEMPTY | STR_CODE, &ev->indicator) <
            0 ||
        get_number(d, F_TARGET, true, true, EVENT_TARGET_MAX, &ev->target) < 0 ||
        get_number(d, F_REALIZATION, true, false, EVENT_TARGET_MAX, &ev->realization) < 0)
        return -1;
    if ((rc = get_choice(d, F_DIRECTION, direction_words, 2, false, &choice)) < 0)
        return -1;
    ev->direction = rc == 0 ? (enum direction)choice : DIRECTION_HIGHER_BETTER;
    ev->weight = 1.0;
    if (get_number(d, F_WEIGHT, false, true, EVENT_WEIGHT_MAX, &ev->weight) < 0)
        return -1;
    return get_str(d, F_EVIDENCE, EVENT_COMMENT_MAX, 0, &ev->evidence);
}

/* An evaluator who is not ASN (SPEC 4: `evaluators.csv`, e.g. the regional head). */
bool event_valid_evaluator_id(const char *s, size_t n)
{
    if (!s || n < 1 || n > EVENT_EVALUATOR_ID_MAX)
        return false;
    bool non_digit = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '_' ||
                  c == ':' || c == '-';
        if (!ok)
            return false;
        non_digit |= !is_digit(c);
    }
    return non_digit;
}

/* Who signs: the employee's supervisor (a NIP) or an evaluator id. */
static int get_signer(struct decoder *d, enum field f, struct strview *out)
{
    const msgpack_object *o = field_value(d, f);
    char got[EVENT_SHOW_BYTES + 8];
    if (!o)
        return fail_required(d, f);
    if (o->type != MSGPACK_OBJECT_STR || (!event_valid_nip(o->via.str.ptr, o->via.str.size) &&
                                          !event_valid_evaluator_id(o->via.str.ptr, o->via.str.size))) {
        show_value(o, got, sizeof got);
        return fail(d,
                    "%s: must be an 18-digit NIP or an evaluator id (1..%d of A-Z a-z 0-9 . _ : -, "
                    "not all digits), got %s",
                    field_names[f], EVENT_EVALUATOR_ID_MAX, got);
    }
    out->p = o->via.str.ptr;
    out->n = o->via.str.size;
    return 0;
}

static int decode_signoff(struct decoder *d, struct event *ev)
{
    int choice;
    if (get_nip(d, F_EMPLOYEE, true, &ev->employee) < 0 || get_period(d, true, &ev->period) < 0 ||
        get_signer(d, F_SUPERVISOR, &ev->supervisor) < 0)
        return -1;
    if (get_choice(d, F_DECISION, signoff_words, 3, true, &choice) < 0)
        return -1;
    ev->decision = choice == 0 ? DECISION_APPROVE : choice == 1 ? DECISION_RETURN : DECISION_OFFER;
    const msgpack_object *ver = field_value(d, F_VERSION);
    if (!ver)
        return fail_required(d, F_VERSION);
    if (check_int(d, "version", ver, 1, EVENT_VERSION_MAX, &ev->version) < 0)
        return -1;
    return get_str(d, F_NOTE, EVENT_COMMENT_MAX, 0, &ev->note);
}

static int decode_appeal(struct decoder *d, struct event *ev)
{
    if (get_nip(d, F_EMPLOYEE, true, &ev->employee) < 0 || get_period(d, true, &ev->period) < 0)
        return -1;
    return get_str(d, F_REASON, EVENT_REASON_MAX, STR_REQUIRED | STR_NONEMPTY, &ev->reason);
}

static int decode_appeal_decision(struct decoder *d, struct event *ev)
{
    int choice;
    char got[EVENT_SHOW_BYTES + 8];
    if (get_nip(d, F_EMPLOYEE, true, &ev->employee) < 0 || get_period(d, true, &ev->period) < 0 ||
        get_nip(d, F_DECIDER, true, &ev->decider) < 0)
        return -1;
    if (get_choice(d, F_DECISION, appeal_words, 2, true, &choice) < 0)
        return -1;
    ev->decision = choice == 0 ? DECISION_UPHOLD : DECISION_REVISE;

    const msgpack_object *pred = field_value(d, F_PREDIKAT);
    if (ev->decision == DECISION_UPHOLD && pred)
        return fail(d, "predikat: not allowed when decision is uphold");
    if (ev->decision == DECISION_REVISE) {
        if (!pred)
            return fail(d, "predikat: required when decision is revise");
        bool known = false;
        if (pred->type == MSGPACK_OBJECT_STR)
            for (int i = 0; i < 5; i++)
                if (sv_eq(pred->via.str.ptr, pred->via.str.size, event_predikat_codes[i]))
                    known = true;
        if (!known) {
            show_value(pred, got, sizeof got);
            return fail(
                d, "predikat: must be one of sangat_baik|baik|butuh_perbaikan|kurang|sangat_kurang, got %s",
                got);
        }
        ev->predikat.p = pred->via.str.ptr;
        ev->predikat.n = pred->via.str.size;
    }
    return get_str(d, F_NOTE, EVENT_COMMENT_MAX, 0, &ev->note);
}

static int decode_recalc(struct decoder *d, struct event *ev)
{
    if (get_period(d, false, &ev->period) < 0 ||
        get_str(d, F_UNIT, EVENT_UNIT_MAX, STR_NONEMPTY | STR_CODE, &ev->unit) < 0 ||
        get_nip(d, F_EMPLOYEE, false, &ev->employee) < 0)
        return -1;
    return 0;
}

/* A feedback note (umpan balik, PermenPANRB 6/2022): who writes it is the worker's check
 * (the employee's supervisor); `value`, when given, names the aspect the note is about. */
static int decode_feedback(struct decoder *d, struct event *ev)
{
    char got[EVENT_SHOW_BYTES + 8];
    if (get_nip(d, F_EMPLOYEE, true, &ev->employee) < 0 || get_period(d, true, &ev->period) < 0 ||
        get_signer(d, F_SUPERVISOR, &ev->supervisor) < 0 ||
        get_str(d, F_TEXT, EVENT_COMMENT_MAX, STR_REQUIRED | STR_NONEMPTY, &ev->text) < 0)
        return -1;
    const msgpack_object *val = field_value(d, F_VALUE);
    if (!val)
        return 0;
    bool known = false;
    if (val->type == MSGPACK_OBJECT_STR) {
        known = sv_eq(val->via.str.ptr, val->via.str.size, "hasil_kerja");
        for (int i = 0; i < EVENT_BEHAVIOUR_KEYS && !known; i++)
            known = sv_eq(val->via.str.ptr, val->via.str.size, event_behaviour_keys[i]);
    }
    if (!known) {
        show_value(val, got, sizeof got);
        return fail(d,
                    "value: must be one of berorientasi_pelayanan|akuntabel|kompeten|harmonis|loyal|adaptif|"
                    "kolaboratif|hasil_kerja, got %s",
                    got);
    }
    ev->value.p = val->via.str.ptr;
    ev->value.n = val->via.str.size;
    return 0;
}

static int (*const type_decoders[EVENT_TYPE_COUNT])(struct decoder *, struct event *) = {
    [EVENT_CITIZEN_FEEDBACK] = decode_citizen_feedback,
    [EVENT_EVALUATION] = decode_evaluation,
    [EVENT_WORK_RESULT] = decode_work_result,
    [EVENT_SIGNOFF] = decode_signoff,
    [EVENT_APPEAL] = decode_appeal,
    [EVENT_APPEAL_DECISION] = decode_appeal_decision,
    [EVENT_RECALC] = decode_recalc,
    [EVENT_FEEDBACK] = decode_feedback,
};

/*
 * Order of checks, so a client sees the most useful error first: the object is a map;
 * v (a future schema version should say so, not "unknown field"); type (the field set
 * depends on it); every key (a string, a field of this type, not repeated); then the
 * envelope and the type's own fields in the order SPEC 3 lists them.
 *
 * The first pass looks only for "v", "id" and "type" (first occurrence), so ev->id is
 * known even when the event is rejected for something else. The second pass stops at
 * the first unknown key, so its cost is bounded by the field count, not the map size.
 */
int event_decode_at(const msgpack_object *obj, struct event *ev, const struct event_limits *lim, char *err,
                    size_t errlen)
{
    struct decoder d;
    char got[EVENT_SHOW_BYTES + 8];
    char key[EVENT_SHOW_BYTES];
    const msgpack_object *v = NULL, *id = NULL, *type = NULL;

    memset(ev, 0, sizeof *ev);
    memset(&d, 0, sizeof d);
    d.err = err;
    d.errlen = errlen;
    if (err && errlen)
        err[0] = '\0';

    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return fail(&d, "event: must be a map, got %s", obj ? type_word(obj) : "nothing");

    const msgpack_object_map *map = &obj->via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        const char *s = k->via.str.ptr;
        size_t n = k->via.str.size;
        if (!v && sv_eq(s, n, "v"))
            v = &map->ptr[i].val;
        else if (!id && sv_eq(s, n, "id"))
            id = &map->ptr[i].val;
        else if (!type && sv_eq(s, n, "type"))
            type = &map->ptr[i].val;
    }
    if (id && id->type == MSGPACK_OBJECT_STR && event_valid_uuid(id->via.str.ptr, id->via.str.size)) {
        ev->id.p = id->via.str.ptr;
        ev->id.n = id->via.str.size;
    }

    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return fail(&d, "v: required (schema version %d)", EVENT_SCHEMA_VERSION);
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != EVENT_SCHEMA_VERSION) {
        show_value(v, got, sizeof got);
        return fail(&d, "v: must be %d (the schema version), got %s", EVENT_SCHEMA_VERSION, got);
    }
    ev->v = EVENT_SCHEMA_VERSION;

    if (!type || type->type == MSGPACK_OBJECT_NIL)
        return fail(&d, "type: required");
    if (type->type != MSGPACK_OBJECT_STR) {
        show_value(type, got, sizeof got);
        return fail(&d, "type: must be a string, got %s", got);
    }
    if (event_type_parse(type->via.str.ptr, type->via.str.size, &d.type) < 0) {
        show_value(type, got, sizeof got);
        return fail(&d, "type: unknown event type %s", got);
    }
    ev->type = d.type;

    uint64_t allowed = type_fields[d.type];
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return fail(&d, "event: map keys must be strings, got %s", type_word(k));
        int f = field_lookup(k->via.str.ptr, k->via.str.size);
        if (f < 0 || !(allowed & BIT(f))) {
            show_key(k, key, sizeof key);
            return fail(&d, "%s: unknown field for %s", key, type_names[d.type]);
        }
        if (d.val[f])
            return fail(&d, "%s: repeated key", field_names[f]);
        d.val[f] = &map->ptr[i].val;
    }

    if (!ev->id.p) {
        if (!field_value(&d, F_ID))
            return fail(&d, "id: required");
        show_value(d.val[F_ID], got, sizeof got);
        return fail(&d, "id: must be a canonical UUID, got %s", got);
    }
    if (get_str(&d, F_SOURCE, EVENT_SOURCE_MAX, STR_REQUIRED | STR_NONEMPTY | STR_CODE, &ev->source) < 0)
        return -1;
    const msgpack_object *ts = field_value(&d, F_TS);
    if (!ts)
        return fail(&d, "ts: required (Unix epoch milliseconds)");
    if (ts->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ts->via.u64 < (uint64_t)EVENT_TS_MIN ||
        ts->via.u64 > (uint64_t)EVENT_TS_MAX) {
        show_value(ts, got, sizeof got);
        return fail(&d, "ts: must be an integer of Unix epoch milliseconds in 2000..2100, got %s", got);
    }
    ev->ts = (int64_t)ts->via.u64;
    if (event_check_ts(ev->ts, lim, err, errlen) < 0)
        return -1;

    return type_decoders[d.type](&d, ev);
}

int event_decode(const msgpack_object *obj, struct event *ev, char *err, size_t errlen)
{
    return event_decode_at(obj, ev, NULL, err, errlen);
}

int event_check_ts(int64_t ts, const struct event_limits *lim, char *err, size_t errlen)
{
    if (!lim || lim->now_ms <= 0)
        return 0;
    if (lim->max_future_s > 0 && ts > lim->now_ms && ts - lim->now_ms > lim->max_future_s * 1000) {
        if (err && errlen)
            snprintf(err, errlen,
                     "ts: %lld is %lld s after the time received, more than intake.max_future_s %lld",
                     (long long)ts, (long long)((ts - lim->now_ms) / 1000), (long long)lim->max_future_s);
        return -1;
    }
    if (lim->max_age_s > 0 && ts < lim->now_ms && lim->now_ms - ts > lim->max_age_s * 1000) {
        if (err && errlen)
            snprintf(err, errlen,
                     "ts: %lld is %lld s before the time received, more than intake.max_age_s %lld",
                     (long long)ts, (long long)((lim->now_ms - ts) / 1000), (long long)lim->max_age_s);
        return -1;
    }
    return 0;
}
