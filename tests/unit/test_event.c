/*
 * event_decode: every rule of SPEC 3 / event.h, one test each, asserting the ack a
 * client would see (accepted, or rejected with exactly this error text). Events are
 * packed with msgpack_packer as a client would send them.
 */
#include "event.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#define UUID "123e4567-e89b-12d3-a456-426614174000"
#define NIP1 "199001012020011001"
#define NIP2 "198502022010012002"
#define NIP3 "197003031995031003"
#define TS 1700000000000LL

/* ---- a tiny event builder -------------------------------------------------------- */

enum vk {
    VK_STR,
    VK_BYTES,
    VK_INT,
    VK_UINT,
    VK_FLOAT,
    VK_FLOAT32,
    VK_NIL,
    VK_BOOL,
    VK_BIN,
    VK_MAP,
    VK_ARRAY
};

struct fv {
    const char *key;
    int int_key; /* pack the key as this integer instead of a string */
    enum vk kind;
    const char *s; /* VK_STR (NUL-terminated), VK_BYTES / VK_BIN (n bytes) */
    size_t n;
    int64_t i;
    uint64_t u;
    double d;
    const struct fv *sub; /* VK_MAP entries */
    size_t nsub;
};

#define FI(k, v)                                                                                             \
    {                                                                                                        \
        .key = (k), .kind = VK_INT, .i = (v)                                                                 \
    }
#define FD(k, v)                                                                                             \
    {                                                                                                        \
        .key = (k), .kind = VK_FLOAT, .d = (v)                                                               \
    }
#define FS(k, v)                                                                                             \
    {                                                                                                        \
        .key = (k), .kind = VK_STR, .s = (v)                                                                 \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_FIELDS 64

struct evb {
    struct fv f[MAX_FIELDS];
    size_t n;
};

static void add(struct evb *b, struct fv v)
{
    assert_true(b->n < MAX_FIELDS);
    b->f[b->n++] = v;
}

/* Replaces the first field with this key, or appends. */
static void set(struct evb *b, struct fv v)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!b->f[i].int_key && v.key && b->f[i].key && strcmp(b->f[i].key, v.key) == 0) {
            b->f[i] = v;
            return;
        }
    }
    add(b, v);
}

static void del(struct evb *b, const char *key)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->f[i].key && strcmp(b->f[i].key, key) == 0) {
            memmove(&b->f[i], &b->f[i + 1], (b->n - i - 1) * sizeof b->f[0]);
            b->n--;
            return;
        }
    }
}

static void set_str(struct evb *b, const char *k, const char *v)
{
    set(b, (struct fv){.key = k, .kind = VK_STR, .s = v});
}
static void set_bytes(struct evb *b, const char *k, const char *p, size_t n)
{
    set(b, (struct fv){.key = k, .kind = VK_BYTES, .s = p, .n = n});
}
static void set_int(struct evb *b, const char *k, int64_t v)
{
    set(b, (struct fv){.key = k, .kind = VK_INT, .i = v});
}
static void set_uint(struct evb *b, const char *k, uint64_t v)
{
    set(b, (struct fv){.key = k, .kind = VK_UINT, .u = v});
}
static void set_float(struct evb *b, const char *k, double v)
{
    set(b, (struct fv){.key = k, .kind = VK_FLOAT, .d = v});
}
static void set_nil(struct evb *b, const char *k)
{
    set(b, (struct fv){.key = k, .kind = VK_NIL});
}
static void set_map(struct evb *b, const char *k, const struct fv *sub, size_t n)
{
    set(b, (struct fv){.key = k, .kind = VK_MAP, .sub = sub, .nsub = n});
}

static void pack_fv(msgpack_packer *pk, const struct fv *f)
{
    switch (f->kind) {
    case VK_STR:
        msgpack_pack_str_with_body(pk, f->s, strlen(f->s));
        break;
    case VK_BYTES:
        msgpack_pack_str_with_body(pk, f->s, f->n);
        break;
    case VK_INT:
        msgpack_pack_int64(pk, f->i);
        break;
    case VK_UINT:
        msgpack_pack_uint64(pk, f->u);
        break;
    case VK_FLOAT:
        msgpack_pack_double(pk, f->d);
        break;
    case VK_FLOAT32:
        msgpack_pack_float(pk, (float)f->d);
        break;
    case VK_NIL:
        msgpack_pack_nil(pk);
        break;
    case VK_BOOL:
        msgpack_pack_true(pk);
        break;
    case VK_BIN:
        msgpack_pack_bin_with_body(pk, f->s, f->n);
        break;
    case VK_ARRAY:
        msgpack_pack_array(pk, 0);
        break;
    case VK_MAP:
        msgpack_pack_map(pk, f->nsub);
        for (size_t i = 0; i < f->nsub; i++) {
            const struct fv *e = &f->sub[i];
            if (e->key)
                msgpack_pack_str_with_body(pk, e->key, strlen(e->key));
            else
                msgpack_pack_int(pk, e->int_key);
            pack_fv(pk, e);
        }
        break;
    }
}

static const struct fv behaviour_base[] = {FI("akuntabel", 4), FI("loyal", 5)};

/* A valid event of each type, the starting point every test changes one thing in. */
static struct evb base(enum event_type t)
{
    struct evb b = {.n = 0};
    set_int(&b, "v", 1);
    set_str(&b, "id", UUID);
    set_str(&b, "type", event_type_name(t));
    set_str(&b, "source", "kiosk:dukcapil-kupang-01");
    set_int(&b, "ts", TS);
    switch (t) {
    case EVENT_CITIZEN_FEEDBACK:
        set_str(&b, "unit", "DUKCAPIL-KPG");
        set_int(&b, "rating", 4);
        break;
    case EVENT_EVALUATION:
        set_str(&b, "employee", NIP1);
        set_str(&b, "period", "2024-05");
        set_str(&b, "rater", NIP2);
        set_str(&b, "relation", "supervisor");
        set_map(&b, "behaviour", behaviour_base, COUNT(behaviour_base));
        break;
    case EVENT_WORK_RESULT:
        set_str(&b, "employee", NIP1);
        set_str(&b, "period", "2024-05");
        set_str(&b, "indicator", "IKU-1");
        set_int(&b, "target", 100);
        set_float(&b, "realization", 90.5);
        break;
    case EVENT_SIGNOFF:
        set_str(&b, "employee", NIP1);
        set_str(&b, "period", "2024");
        set_str(&b, "supervisor", NIP2);
        set_str(&b, "decision", "approve");
        set_int(&b, "version", 3);
        break;
    case EVENT_APPEAL:
        set_str(&b, "employee", NIP1);
        set_str(&b, "period", "2024");
        set_str(&b, "reason", "nilai perilaku tidak sesuai bukti");
        break;
    case EVENT_APPEAL_DECISION:
        set_str(&b, "employee", NIP1);
        set_str(&b, "period", "2024");
        set_str(&b, "decider", NIP3);
        set_str(&b, "decision", "uphold");
        break;
    case EVENT_FEEDBACK:
        set_str(&b, "employee", NIP1);
        set_str(&b, "period", "2024-Q2");
        set_str(&b, "supervisor", NIP2);
        set_str(&b, "text", "Laporan bulanan tepat waktu; perlu lebih rinci.");
        break;
    case EVENT_RECALC:
    case EVENT_TYPE_COUNT:
        break;
    }
    return b;
}

/* ---- decoding and checking -------------------------------------------------------- */

static msgpack_sbuffer sbuf;
static msgpack_unpacked unpacked;
static struct event ev;
static char err[EVENT_ERR_MAX];

static int group_setup(void **state)
{
    (void)state;
    msgpack_sbuffer_init(&sbuf);
    msgpack_unpacked_init(&unpacked);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    return 0;
}

static int decode(const struct evb *b)
{
    msgpack_packer pk;
    struct fv top = {.kind = VK_MAP, .sub = b->f, .nsub = b->n};
    msgpack_sbuffer_clear(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    pack_fv(&pk, &top);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_unpacked_init(&unpacked);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, sbuf.data, sbuf.size, &off), MSGPACK_UNPACK_SUCCESS);
    memset(err, 'Z', sizeof err);
    return event_decode(&unpacked.data, &ev, err, sizeof err);
}

/* Errors go to clients: bounded, valid UTF-8, no control characters. */
static void assert_safe_text(const char *s)
{
    size_t n = strnlen(s, EVENT_ERR_MAX);
    assert_true(n < EVENT_ERR_MAX);
    assert_true(event_valid_utf8(s, n));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            fail_msg("control byte 0x%02x in error \"%s\"", c, s);
    }
}

#define expect_ok(b)                                                                                         \
    do {                                                                                                     \
        if (decode(b) != 0)                                                                                  \
            fail_msg("expected the event to be accepted, got \"%s\"", err);                                  \
    } while (0)

#define expect_err(b, text)                                                                                  \
    do {                                                                                                     \
        assert_int_equal(decode(b), -1);                                                                     \
        assert_safe_text(err);                                                                               \
        assert_string_equal(err, text);                                                                      \
    } while (0)

#define expect_err_prefix(b, prefix)                                                                         \
    do {                                                                                                     \
        assert_int_equal(decode(b), -1);                                                                     \
        assert_safe_text(err);                                                                               \
        if (strncmp(err, prefix, strlen(prefix)) != 0)                                                       \
            fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);                                \
    } while (0)

static bool sv_is(struct strview v, const char *s)
{
    return v.p && v.n == strlen(s) && memcmp(v.p, s, v.n) == 0;
}

/* ---- valid events ------------------------------------------------------------------ */

static void test_valid_rating_feedback(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    expect_ok(&b);
    assert_int_equal(ev.v, 1);
    assert_true(sv_is(ev.id, UUID));
    assert_int_equal(ev.type, EVENT_CITIZEN_FEEDBACK);
    assert_true(sv_is(ev.source, "kiosk:dukcapil-kupang-01"));
    assert_int_equal(ev.ts, TS);
    assert_true(sv_is(ev.unit, "DUKCAPIL-KPG"));
    assert_int_equal(ev.rating, 4);
    assert_false(ev.has_skm);
    assert_int_equal(ev.respondent, RESPONDENT_CITIZEN); /* the default */
    assert_null(ev.employee.p);
    assert_null(ev.comment.p);
}

static void test_valid_skm_feedback_with_profile(void **state)
{
    (void)state;
    static const struct fv skm[] = {FI("u9", 1), FI("u1", 4), FI("u2", 3), FI("u3", 2), FI("u4", 1),
                                    FI("u5", 4), FI("u6", 3), FI("u7", 2), FI("u8", 4)};
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "rating");
    set_map(&b, "skm", skm, COUNT(skm));
    set_str(&b, "employee", NIP1);
    set_str(&b, "service", "KTP-el");
    set_str(&b, "respondent", "parent");
    set_str(&b, "comment", "Pelayanan cepat, petugas ramah \xf0\x9f\x98\x8a");
    set_str(&b, "gender", "f");
    set_str(&b, "age_band", "30_39");
    set_str(&b, "education", "s1");
    set_str(&b, "occupation", "wirausaha");
    expect_ok(&b);
    assert_true(ev.has_skm);
    assert_int_equal(ev.rating, 0);
    const int want[EVENT_SKM_ITEMS] = {4, 3, 2, 1, 4, 3, 2, 4, 1};
    for (int i = 0; i < EVENT_SKM_ITEMS; i++)
        assert_int_equal(ev.skm[i], want[i]);
    assert_true(sv_is(ev.employee, NIP1));
    assert_true(sv_is(ev.service, "KTP-el"));
    assert_int_equal(ev.respondent, RESPONDENT_PARENT);
    assert_true(sv_is(ev.gender, "f"));
    assert_true(sv_is(ev.age_band, "30_39"));
    assert_true(sv_is(ev.education, "s1"));
    assert_true(sv_is(ev.occupation, "wirausaha"));
}

static void test_valid_evaluation(void **state)
{
    (void)state;
    struct evb b = base(EVENT_EVALUATION);
    set_str(&b, "hasil_kerja", "above");
    set_str(&b, "comment", "");
    expect_ok(&b);
    assert_true(sv_is(ev.employee, NIP1));
    assert_true(sv_is(ev.period, "2024-05"));
    assert_true(sv_is(ev.rater, NIP2));
    assert_int_equal(ev.relation, RELATION_SUPERVISOR);
    assert_int_equal(ev.hasil_kerja, HASIL_ABOVE);
    /* order of event_behaviour_keys; 0 = not rated */
    const int want[EVENT_BEHAVIOUR_KEYS] = {0, 4, 0, 0, 5, 0, 0};
    for (int i = 0; i < EVENT_BEHAVIOUR_KEYS; i++)
        assert_int_equal(ev.behaviour[i], want[i]);
    assert_non_null(ev.comment.p);
    assert_int_equal(ev.comment.n, 0);
}

static void test_valid_self_evaluation(void **state)
{
    (void)state;
    struct evb b = base(EVENT_EVALUATION);
    set_str(&b, "relation", "self");
    set_str(&b, "rater", NIP1);
    expect_ok(&b);
    assert_int_equal(ev.relation, RELATION_SELF);
    assert_int_equal(ev.hasil_kerja, HASIL_NONE);
}

static void test_valid_work_result_defaults(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    expect_ok(&b);
    assert_true(sv_is(ev.indicator, "IKU-1"));
    assert_true(ev.target == 100.0);
    assert_true(ev.realization == 90.5);
    assert_int_equal(ev.direction, DIRECTION_HIGHER_BETTER);
    assert_true(ev.weight == 1.0);
    assert_null(ev.evidence.p);
}

static void test_valid_work_result_all_fields(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    set(&b, (struct fv){.key = "target", .kind = VK_FLOAT32, .d = 1.5});
    set_int(&b, "realization", 0);
    set_str(&b, "direction", "lower_better");
    set_float(&b, "weight", 0.25);
    set_str(&b, "evidence", "https://skp.example.go.id/bukti/1");
    expect_ok(&b);
    assert_true(ev.target == 1.5);
    assert_true(ev.realization == 0.0);
    assert_int_equal(ev.direction, DIRECTION_LOWER_BETTER);
    assert_true(ev.weight == 0.25);
    assert_true(sv_is(ev.evidence, "https://skp.example.go.id/bukti/1"));
}

static void test_valid_signoff(void **state)
{
    (void)state;
    struct evb b = base(EVENT_SIGNOFF);
    set_str(&b, "decision", "return");
    set_str(&b, "note", "lengkapi bukti IKU-2");
    expect_ok(&b);
    assert_true(sv_is(ev.supervisor, NIP2));
    assert_int_equal(ev.decision, DECISION_RETURN);
    assert_int_equal(ev.version, 3);
    assert_true(sv_is(ev.note, "lengkapi bukti IKU-2"));
}

static void test_valid_appeal(void **state)
{
    (void)state;
    struct evb b = base(EVENT_APPEAL);
    expect_ok(&b);
    assert_true(sv_is(ev.reason, "nilai perilaku tidak sesuai bukti"));
    assert_true(sv_is(ev.period, "2024"));
}

static void test_valid_appeal_decisions(void **state)
{
    (void)state;
    struct evb b = base(EVENT_APPEAL_DECISION);
    expect_ok(&b);
    assert_int_equal(ev.decision, DECISION_UPHOLD);
    assert_null(ev.predikat.p);
    set_str(&b, "decision", "revise");
    set_str(&b, "predikat", "sangat_baik");
    set_str(&b, "note", "bukti baru diterima");
    expect_ok(&b);
    assert_int_equal(ev.decision, DECISION_REVISE);
    assert_true(sv_is(ev.predikat, "sangat_baik"));
    assert_true(sv_is(ev.decider, NIP3));
}

static void test_valid_recalc(void **state)
{
    (void)state;
    struct evb b = base(EVENT_RECALC);
    expect_ok(&b);
    assert_null(ev.period.p);
    set_str(&b, "period", "2024-12");
    set_str(&b, "unit", "DUKCAPIL-KPG");
    set_str(&b, "employee", NIP1);
    expect_ok(&b);
    assert_true(sv_is(ev.period, "2024-12"));
    assert_true(sv_is(ev.unit, "DUKCAPIL-KPG"));
}

/* nil for an optional field is "not given" (JSON clients write null). */
static void test_nil_optional_is_absent(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_nil(&b, "employee");
    set_nil(&b, "skm");
    set_nil(&b, "comment");
    expect_ok(&b);
    assert_null(ev.employee.p);
    assert_false(ev.has_skm);
}

/* ---- the envelope ------------------------------------------------------------------- */

static void test_not_a_map(void **state)
{
    (void)state;
    msgpack_object o = {.type = MSGPACK_OBJECT_ARRAY};
    assert_int_equal(event_decode(&o, &ev, err, sizeof err), -1);
    assert_string_equal(err, "event: must be a map, got an array");
    assert_null(ev.id.p);
}

static void test_v_required_and_1(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "v");
    expect_err(&b, "v: required (schema version 1)");
    set_int(&b, "v", 2);
    expect_err(&b, "v: must be 1 (the schema version), got 2");
    set_float(&b, "v", 1.0);
    expect_err(&b, "v: must be 1 (the schema version), got 1.0");
    set_str(&b, "v", "1");
    expect_err(&b, "v: must be 1 (the schema version), got \"1\"");
}

static void test_id_required(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "id");
    expect_err(&b, "id: required");
    assert_null(ev.id.p);
}

static void test_id_must_be_canonical_uuid(void **state)
{
    (void)state;
    const char *bad[] = {
        "123e4567e89b12d3a456426614174000",       /* no hyphens */
        "{123e4567-e89b-12d3-a456-426614174000}", /* braces */
        "123e4567-e89b-12d3-a456-42661417400",    /* 35 chars */
        "123e4567-e89b-12d3-a456-4266141740000",  /* 37 chars */
        "123e4567-e89b-12d3-a456_426614174000",   /* wrong separator */
        "123g4567-e89b-12d3-a456-426614174000",   /* not hex */
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        struct evb b = base(EVENT_CITIZEN_FEEDBACK);
        set_str(&b, "id", bad[i]);
        expect_err_prefix(&b, "id: must be a canonical UUID");
        assert_null(ev.id.p);
        assert_false(event_valid_uuid(bad[i], strlen(bad[i])));
    }
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, "id", 5);
    expect_err(&b, "id: must be a canonical UUID, got 5");
    set_str(&b, "id", "123E4567-E89B-12D3-A456-426614174000");
    expect_ok(&b);
    assert_true(sv_is(ev.id, "123E4567-E89B-12D3-A456-426614174000"));
}

/* A rejected event's ack still carries its id, whatever else is wrong. */
static void test_id_kept_when_rejected(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, "rating", 7);
    expect_err(&b, "rating: must be an integer 1..4, got 7");
    assert_true(sv_is(ev.id, UUID));
    b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "type", "bogus");
    expect_err(&b, "type: unknown event type \"bogus\"");
    assert_true(sv_is(ev.id, UUID));
    b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, "v", 9);
    assert_int_equal(decode(&b), -1);
    assert_true(sv_is(ev.id, UUID));
}

static void test_type_rules(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "type", "bogus");
    expect_err(&b, "type: unknown event type \"bogus\"");
    set_str(&b, "type", "Citizen_Feedback");
    expect_err(&b, "type: unknown event type \"Citizen_Feedback\"");
    set_int(&b, "type", 1);
    expect_err(&b, "type: must be a string, got 1");
    del(&b, "type");
    expect_err(&b, "type: required");
}

static void test_source_rules(void **state)
{
    (void)state;
    char s65[66];
    memset(s65, 's', 65);
    s65[65] = '\0';
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "source");
    expect_err(&b, "source: required for citizen_feedback");
    set_str(&b, "source", "");
    expect_err(&b, "source: must not be empty");
    set_str(&b, "source", s65);
    expect_err(&b, "source: must be at most 64 bytes, got 65");
    set_str(&b, "source", s65 + 1); /* 64 */
    expect_ok(&b);
    set_str(&b, "source", "kiosk\n01");
    expect_err(&b, "source: must not contain control characters");
    set_int(&b, "source", 3);
    expect_err(&b, "source: must be a string, got 3");
}

static void test_ts_rules(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "ts");
    expect_err(&b, "ts: required (Unix epoch milliseconds)");
    set_float(&b, "ts", 1700000000000.0);
    expect_err_prefix(&b, "ts: must be an integer of Unix epoch milliseconds in 2000..2100, got 1.7e+12");
    set_str(&b, "ts", "1700000000000");
    expect_err_prefix(&b, "ts: must be an integer");
    set_int(&b, "ts", 1700000000); /* seconds, not ms */
    expect_err(&b, "ts: must be an integer of Unix epoch milliseconds in 2000..2100, got 1700000000");
    set_int(&b, "ts", -5);
    expect_err_prefix(&b, "ts: must be an integer");
    set_int(&b, "ts", EVENT_TS_MAX + 1);
    expect_err_prefix(&b, "ts: must be an integer");
    set_int(&b, "ts", EVENT_TS_MIN);
    expect_ok(&b);
    set_int(&b, "ts", EVENT_TS_MAX);
    expect_ok(&b);
}

/* ---- the map's keys ----------------------------------------------------------------- */

static void test_unknown_field(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, "foo", 1);
    expect_err(&b, "foo: unknown field for citizen_feedback");
    b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "Rating", "4"); /* a typo must not pass silently */
    expect_err(&b, "Rating: unknown field for citizen_feedback");
}

/* Each type takes only its own fields: another type's field is unknown. */
static void test_fields_of_other_types_rejected(void **state)
{
    (void)state;
    static const struct {
        enum event_type type;
        const char *field;
    } cases[] = {
        {EVENT_CITIZEN_FEEDBACK, "period"}, {EVENT_CITIZEN_FEEDBACK, "rater"},
        {EVENT_EVALUATION, "unit"},         {EVENT_EVALUATION, "rating"},
        {EVENT_EVALUATION, "note"},         {EVENT_WORK_RESULT, "comment"},
        {EVENT_WORK_RESULT, "hasil_kerja"}, {EVENT_SIGNOFF, "predikat"},
        {EVENT_SIGNOFF, "comment"},         {EVENT_APPEAL, "note"},
        {EVENT_APPEAL, "decision"},         {EVENT_APPEAL_DECISION, "version"},
        {EVENT_APPEAL_DECISION, "reason"},  {EVENT_RECALC, "rating"},
        {EVENT_RECALC, "source_system"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct evb b = base(cases[i].type);
        set_str(&b, cases[i].field, "x");
        char want[128];
        snprintf(want, sizeof want, "%s: unknown field for %s", cases[i].field,
                 event_type_name(cases[i].type));
        expect_err(&b, want);
    }
}

static void test_repeated_key(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    add(&b, (struct fv){.key = "rating", .kind = VK_INT, .i = 1});
    expect_err(&b, "rating: repeated key");
    b = base(EVENT_CITIZEN_FEEDBACK);
    add(&b, (struct fv){.key = "id", .kind = VK_STR, .s = "223e4567-e89b-12d3-a456-426614174000"});
    expect_err(&b, "id: repeated key");
}

static void test_non_string_key(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    add(&b, (struct fv){.key = NULL, .int_key = 7, .kind = VK_INT, .i = 1});
    expect_err(&b, "event: map keys must be strings, got an integer");
}

/* A hostile key is shown cut short and escaped, never raw. */
static void test_unknown_key_shown_safely(void **state)
{
    (void)state;
    char key[200];
    memset(key, 'k', sizeof key);
    memcpy(key, "\x01\xff\"\xed\xa0\x80", 6);
    key[sizeof key - 1] = '\0';
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, key, 1);
    expect_err_prefix(&b, "\\u0001\\xff\\\"\\xed\\xa0\\x80kkkk");
    assert_non_null(strstr(err, "...: unknown field for citizen_feedback"));
    assert_true(strlen(err) < 120);
}

/* ---- strings ----------------------------------------------------------------------- */

static void test_invalid_utf8_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
    } bad[] = {
        {"\xff", 1},             /* never valid */
        {"ok \x80", 4},          /* stray continuation */
        {"\xc0\xaf", 2},         /* overlong '/' */
        {"\xe0\x80\xaf", 3},     /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", 4}, /* overlong, 4 bytes */
        {"\xed\xa0\x80", 3},     /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3},     /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4}, /* U+110000 */
        {"\xf5\x80\x80\x80", 4}, /* lead byte past U+10FFFF */
        {"caf\xc3", 4},          /* cut-off sequence */
        {"\xe2\x82", 2},         /* cut-off sequence */
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        struct evb b = base(EVENT_CITIZEN_FEEDBACK);
        set_bytes(&b, "comment", bad[i].bytes, bad[i].n);
        expect_err(&b, "comment: must be valid UTF-8");
        assert_false(event_valid_utf8(bad[i].bytes, bad[i].n));
    }
}

static void test_valid_utf8_accepted(void **state)
{
    (void)state;
    const char *good =
        "a\xc2\xa9\xe2\x82\xac\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd\xf0\x9f\x98\x8a\xf4\x8f\xbf\xbf";
    assert_true(event_valid_utf8(good, strlen(good)));
    assert_true(event_valid_utf8("", 0));
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "comment", good);
    expect_ok(&b);
    assert_true(sv_is(ev.comment, good));
}

/* PostgreSQL text cannot hold NUL, so an accepted event must not carry one. */
static void test_nul_in_string_rejected(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_bytes(&b, "comment", "bagus\0sekali", 12);
    expect_err(&b, "comment: must not contain NUL characters");
}

static void test_bin_is_not_a_string(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set(&b, (struct fv){.key = "unit", .kind = VK_BIN, .s = "DUK", .n = 3});
    expect_err(&b, "unit: must be a string, got binary data");
}

/* Every length limit of event.h, at the limit and one past it. */
static void test_string_limits(void **state)
{
    (void)state;
    static char text[EVENT_REASON_MAX + 2];
    static const struct {
        enum event_type type;
        const char *field;
        size_t max;
    } cases[] = {
        {EVENT_CITIZEN_FEEDBACK, "unit", EVENT_UNIT_MAX},
        {EVENT_CITIZEN_FEEDBACK, "service", EVENT_SERVICE_MAX},
        {EVENT_CITIZEN_FEEDBACK, "comment", EVENT_COMMENT_MAX},
        {EVENT_EVALUATION, "comment", EVENT_COMMENT_MAX},
        {EVENT_WORK_RESULT, "indicator", EVENT_INDICATOR_MAX},
        {EVENT_WORK_RESULT, "evidence", EVENT_COMMENT_MAX},
        {EVENT_SIGNOFF, "note", EVENT_COMMENT_MAX},
        {EVENT_APPEAL, "reason", EVENT_REASON_MAX},
        {EVENT_APPEAL_DECISION, "note", EVENT_COMMENT_MAX},
        {EVENT_RECALC, "unit", EVENT_UNIT_MAX},
    };
    memset(text, 'a', sizeof text);
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct evb b = base(cases[i].type);
        set_bytes(&b, cases[i].field, text, cases[i].max);
        expect_ok(&b);
        set_bytes(&b, cases[i].field, text, cases[i].max + 1);
        char want[128];
        snprintf(want, sizeof want, "%s: must be at most %zu bytes, got %zu", cases[i].field, cases[i].max,
                 cases[i].max + 1);
        expect_err(&b, want);
    }
}

/* A bad value is quoted cut to ~40 characters, control characters escaped. */
static void test_bad_value_shown_bounded_and_escaped(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof big);
    memcpy(big, "\x1b[31m\"", 6);
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_bytes(&b, "employee", big, sizeof big);
    expect_err_prefix(&b, "employee: must be an 18-digit NIP, got \"\\u001b[31m\\\"xxx");
    assert_non_null(strstr(err, "...\""));
    assert_true(strlen(err) < 120);
    /* invalid bytes in the value are escaped, not copied */
    set_bytes(&b, "employee", "\xff\xfe", 2);
    expect_err(&b, "employee: must be an 18-digit NIP, got \"\\xff\\xfe\"");
}

static void test_err_buffer_bounds(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, "rating", 7);
    msgpack_packer pk;
    struct fv top = {.kind = VK_MAP, .sub = b.f, .nsub = b.n};
    msgpack_sbuffer_clear(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    pack_fv(&pk, &top);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_unpacked_init(&unpacked);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, sbuf.data, sbuf.size, &off), MSGPACK_UNPACK_SUCCESS);
    char small[10];
    memset(small, 'Z', sizeof small);
    assert_int_equal(event_decode(&unpacked.data, &ev, small, sizeof small), -1);
    assert_string_equal(small, "rating: m");
    assert_int_equal(event_decode(&unpacked.data, &ev, NULL, 0), -1);
}

/* ---- citizen_feedback ----------------------------------------------------------------- */

static void test_unit_required(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "unit");
    expect_err(&b, "unit: required for citizen_feedback");
    set_str(&b, "unit", "");
    expect_err(&b, "unit: must not be empty");
    set_nil(&b, "unit");
    expect_err(&b, "unit: required for citizen_feedback");
}

static void test_rating_range(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, "rating", 0);
    expect_err(&b, "rating: must be an integer 1..4, got 0");
    set_int(&b, "rating", 5);
    expect_err(&b, "rating: must be an integer 1..4, got 5");
    set_int(&b, "rating", -1);
    expect_err(&b, "rating: must be an integer 1..4, got -1");
    set_uint(&b, "rating", UINT64_MAX);
    expect_err(&b, "rating: must be an integer 1..4, got 18446744073709551615");
    for (int r = 1; r <= 4; r++) {
        set_int(&b, "rating", r);
        expect_ok(&b);
        assert_int_equal(ev.rating, r);
    }
}

static void test_float_where_int_expected(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_float(&b, "rating", 3.0);
    expect_err(&b, "rating: must be an integer 1..4, got 3.0");
    set_float(&b, "rating", 2.5);
    expect_err(&b, "rating: must be an integer 1..4, got 2.5");
}

static void test_string_where_int_expected(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "rating", "3");
    expect_err(&b, "rating: must be an integer 1..4, got \"3\"");
    set(&b, (struct fv){.key = "rating", .kind = VK_BOOL});
    expect_err(&b, "rating: must be an integer 1..4, got true");
}

static void test_rating_and_skm_both(void **state)
{
    (void)state;
    static const struct fv skm[] = {FI("u1", 4), FI("u2", 3), FI("u3", 2), FI("u4", 1), FI("u5", 4),
                                    FI("u6", 3), FI("u7", 2), FI("u8", 4), FI("u9", 1)};
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_map(&b, "skm", skm, COUNT(skm));
    expect_err(&b, "rating: give either rating or skm, not both");
}

static void test_rating_and_skm_neither(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "rating");
    expect_err(&b, "rating: required for citizen_feedback (or skm, the nine-question survey)");
}

static void test_skm_missing_u9(void **state)
{
    (void)state;
    static const struct fv skm[] = {FI("u1", 4), FI("u2", 3), FI("u3", 2), FI("u4", 1),
                                    FI("u5", 4), FI("u6", 3), FI("u7", 2), FI("u8", 4)};
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "rating");
    set_map(&b, "skm", skm, COUNT(skm));
    expect_err(&b, "skm.u9: missing (all of u1..u9 are required)");
}

static void test_skm_extra_u10(void **state)
{
    (void)state;
    static const struct fv skm[] = {FI("u1", 4), FI("u2", 3), FI("u3", 2), FI("u4", 1), FI("u5", 4),
                                    FI("u6", 3), FI("u7", 2), FI("u8", 4), FI("u9", 1), FI("u10", 1)};
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "rating");
    set_map(&b, "skm", skm, COUNT(skm));
    expect_err(&b, "skm.u10: unknown item (expected u1..u9)");
}

static void test_skm_item_range(void **state)
{
    (void)state;
    static const struct fv skm7[] = {FI("u1", 4), FI("u2", 3), FI("u3", 7), FI("u4", 1), FI("u5", 4),
                                     FI("u6", 3), FI("u7", 2), FI("u8", 4), FI("u9", 1)};
    static const struct fv skm0[] = {FI("u1", 0)};
    static const struct fv skmf[] = {FI("u1", 1), FD("u2", 2.0)};
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "rating");
    set_map(&b, "skm", skm7, COUNT(skm7));
    expect_err(&b, "skm.u3: must be an integer 1..4, got 7");
    set_map(&b, "skm", skm0, COUNT(skm0));
    expect_err(&b, "skm.u1: must be an integer 1..4, got 0");
    set_map(&b, "skm", skmf, COUNT(skmf));
    expect_err(&b, "skm.u2: must be an integer 1..4, got 2.0");
}

static void test_skm_shape(void **state)
{
    (void)state;
    static const struct fv dup[] = {FI("u1", 4), FI("u1", 3)};
    static const struct fv intkey[] = {{.key = NULL, .int_key = 1, .kind = VK_INT, .i = 4}};
    static const struct fv upper[] = {FI("U1", 4)};
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    del(&b, "rating");
    set_map(&b, "skm", dup, COUNT(dup));
    expect_err(&b, "skm.u1: repeated key");
    set_map(&b, "skm", intkey, COUNT(intkey));
    expect_err(&b, "skm: keys must be strings, got an integer");
    set_map(&b, "skm", upper, COUNT(upper));
    expect_err(&b, "skm.U1: unknown item (expected u1..u9)");
    set(&b, (struct fv){.key = "skm", .kind = VK_ARRAY});
    expect_err(&b, "skm: must be a map of u1..u9, got an array");
}

static void test_respondent_enum(void **state)
{
    (void)state;
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "respondent", "student");
    expect_ok(&b);
    assert_int_equal(ev.respondent, RESPONDENT_STUDENT);
    set_str(&b, "respondent", "teacher");
    expect_err(&b, "respondent: must be one of citizen|student|parent, got \"teacher\"");
}

static void test_feedback_employee_must_be_nip(void **state)
{
    (void)state;
    const char *bad[] = {"123",
                         "19900101202001100",
                         "1990010120200110011",
                         "19900101202001100a",
                         "19900101 202001100",
                         "\xd9\xa1\xd9\xa2"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        struct evb b = base(EVENT_CITIZEN_FEEDBACK);
        set_str(&b, "employee", bad[i]);
        expect_err_prefix(&b, "employee: must be an 18-digit NIP, got ");
        assert_false(event_valid_nip(bad[i], strlen(bad[i])));
    }
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "employee", "123");
    expect_err(&b, "employee: must be an 18-digit NIP, got \"123\"");
    set_int(&b, "employee", 199001012020011001LL);
    expect_err(&b, "employee: must be an 18-digit NIP, got 199001012020011001");
}

/* SPEC 3: a profile value outside its documented set is rejected, naming the allowed
 * ones; the kiosk codes of older generators ("L", "P", "S1", "26-35") are such values. */
static void test_profile_unknown_value_names_the_set(void **state)
{
    (void)state;
    static const struct {
        const char *field, *value, *want;
    } cases[] = {
        {"gender", "L", "gender: must be one of m|f, got \"L\""},
        {"gender", "L\t", "gender: must be one of m|f, got \"L\\u0009\""},
        {"age_band", "26-35", "age_band: must be one of lt20|20_29|30_39|40_49|50_59|60plus, got \"26-35\""},
        {"education", "S1", "education: must be one of sd|smp|sma|diploma|s1|s2plus, got \"S1\""},
        {"occupation", "Petani",
         "occupation: must be one of pns|tni|polri|swasta|wirausaha|pelajar|lainnya, got \"Petani\""},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct evb b = base(EVENT_CITIZEN_FEEDBACK);
        set_str(&b, cases[i].field, cases[i].value);
        expect_err(&b, cases[i].want);
    }
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    set_int(&b, "gender", 1);
    expect_err(&b, "gender: must be one of m|f, got 1");
}

/* Every code of every set is accepted, and the getter's sets are the documented ones. */
static void test_profile_sets(void **state)
{
    (void)state;
    static const char *const fields[EVENT_PROFILE_FIELDS] = {"gender", "age_band", "education", "occupation"};
    static const size_t sizes[EVENT_PROFILE_FIELDS] = {2, 6, 6, 7};
    for (int f = 0; f < EVENT_PROFILE_FIELDS; f++) {
        const struct event_profile_set *ps = event_profile_set((enum event_profile_field)f);
        assert_non_null(ps);
        assert_string_equal(ps->field, fields[f]);
        assert_int_equal(ps->n, sizes[f]);
        for (size_t c = 0; c < ps->n; c++) {
            assert_non_null(ps->choice_labels[c]);
            assert_int_equal(
                event_profile_code_index((enum event_profile_field)f, ps->codes[c], strlen(ps->codes[c])),
                (int)c);
            struct evb b = base(EVENT_CITIZEN_FEEDBACK);
            set_str(&b, ps->field, ps->codes[c]);
            expect_ok(&b);
        }
    }
    assert_null(event_profile_set(EVENT_PROFILE_FIELDS));
    assert_int_equal(event_profile_code_index(EVENT_PROFILE_GENDER, "M", 1), -1); /* codes are lower case */
    assert_string_equal(event_profile_set(EVENT_PROFILE_GENDER)->codes[1], "f");
    assert_string_equal(event_profile_set(EVENT_PROFILE_GENDER)->choice_labels[1], "Perempuan");
}

/* ---- evaluation ------------------------------------------------------------------------ */

static void test_evaluation_required_fields(void **state)
{
    (void)state;
    const char *fields[] = {"employee", "period", "rater", "relation", "behaviour"};
    for (size_t i = 0; i < COUNT(fields); i++) {
        struct evb b = base(EVENT_EVALUATION);
        del(&b, fields[i]);
        char want[96];
        snprintf(want, sizeof want, "%s: required for evaluation", fields[i]);
        expect_err(&b, want);
    }
}

static void test_period_format(void **state)
{
    (void)state;
    const char *bad[] = {"2024-13", "2024-00",    "1999",   "2101",     "2024-1",  "24",
                         "2024/05", "2024-05-01", "",       "２０２４", "2024-Q0", "2024-Q5",
                         "2024-q1", "2024Q1",     "2024-Q", "2024-Q12", "1999-Q1", "2101-Q4"};
    const char *good[] = {"2000", "2100", "2024-01", "2024-12", "2100-12", "2024-Q1", "2024-Q4", "2100-Q2"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        struct evb b = base(EVENT_EVALUATION);
        set_str(&b, "period", bad[i]);
        char want[128];
        snprintf(want, sizeof want,
                 "period: must be YYYY-MM, YYYY-Qn (n 1..4) or YYYY (year 2000..2100), got \"%s\"", bad[i]);
        expect_err(&b, want);
        assert_false(event_valid_period(bad[i], strlen(bad[i])));
    }
    for (size_t i = 0; i < COUNT(good); i++) {
        struct evb b = base(EVENT_EVALUATION);
        set_str(&b, "period", good[i]);
        expect_ok(&b);
        assert_true(sv_is(ev.period, good[i]));
    }
}

/* SPEC 3: every event type that carries a period takes a quarter, and refuses a fifth
 * one naming the field. */
static void test_period_quarter_every_type(void **state)
{
    (void)state;
    const enum event_type types[] = {EVENT_EVALUATION,      EVENT_WORK_RESULT, EVENT_SIGNOFF, EVENT_APPEAL,
                                     EVENT_APPEAL_DECISION, EVENT_RECALC,      EVENT_FEEDBACK};
    for (size_t i = 0; i < COUNT(types); i++) {
        struct evb b = base(types[i]);
        set_str(&b, "period", "2026-Q3");
        expect_ok(&b);
        assert_true(sv_is(ev.period, "2026-Q3"));
        b = base(types[i]);
        set_str(&b, "period", "2026-Q5");
        expect_err(&b,
                   "period: must be YYYY-MM, YYYY-Qn (n 1..4) or YYYY (year 2000..2100), got \"2026-Q5\"");
    }
}

static void test_relation_enum(void **state)
{
    (void)state;
    struct evb b = base(EVENT_EVALUATION);
    set_str(&b, "relation", "boss");
    expect_err(&b, "relation: must be one of supervisor|peer|subordinate|self, got \"boss\"");
    set_str(&b, "relation", "peer");
    expect_ok(&b);
    assert_int_equal(ev.relation, RELATION_PEER);
    set_str(&b, "relation", "subordinate");
    expect_ok(&b);
    assert_int_equal(ev.relation, RELATION_SUBORDINATE);
}

static void test_rater_rules(void **state)
{
    (void)state;
    struct evb b = base(EVENT_EVALUATION);
    set_str(&b, "rater", "12345");
    expect_err(&b, "rater: must be an 18-digit NIP, got \"12345\"");
    set_str(&b, "relation", "self"); /* self, but the rater is someone else */
    set_str(&b, "rater", NIP2);
    expect_err(&b, "rater: must be the employee when relation is self");
    set_str(&b, "relation", "peer"); /* rating oneself as a peer */
    set_str(&b, "rater", NIP1);
    expect_err(&b, "rater: is the employee, so relation must be self, got peer");
}

static void test_behaviour_rules(void **state)
{
    (void)state;
    static const struct fv unknown[] = {FI("akuntabel", 4), FI("jujur", 5)};
    static const struct fv six[] = {FI("kompeten", 6)};
    static const struct fv zero[] = {FI("adaptif", 0)};
    static const struct fv flt[] = {FD("harmonis", 4.5)};
    static const struct fv dup[] = {FI("loyal", 4), FI("loyal", 5)};
    static const struct fv intkey[] = {{.key = NULL, .int_key = 1, .kind = VK_INT, .i = 4}};
    static const struct fv all[] = {FI("berorientasi_pelayanan", 1),
                                    FI("akuntabel", 2),
                                    FI("kompeten", 3),
                                    FI("harmonis", 4),
                                    FI("loyal", 5),
                                    FI("adaptif", 1),
                                    FI("kolaboratif", 2)};
    struct evb b = base(EVENT_EVALUATION);
    set_map(&b, "behaviour", unknown, COUNT(unknown));
    expect_err(&b, "behaviour.jujur: not a BerAKHLAK value");
    set_map(&b, "behaviour", six, COUNT(six));
    expect_err(&b, "behaviour.kompeten: must be an integer 1..5, got 6");
    set_map(&b, "behaviour", zero, COUNT(zero));
    expect_err(&b, "behaviour.adaptif: must be an integer 1..5, got 0");
    set_map(&b, "behaviour", flt, COUNT(flt));
    expect_err(&b, "behaviour.harmonis: must be an integer 1..5, got 4.5");
    set_map(&b, "behaviour", dup, COUNT(dup));
    expect_err(&b, "behaviour.loyal: repeated key");
    set_map(&b, "behaviour", intkey, COUNT(intkey));
    expect_err(&b, "behaviour: keys must be strings, got an integer");
    set_map(&b, "behaviour", NULL, 0);
    expect_err(&b, "behaviour: must rate at least one BerAKHLAK value");
    set_str(&b, "behaviour", "baik");
    expect_err(&b, "behaviour: must be a map of BerAKHLAK values, got \"baik\"");
    set_map(&b, "behaviour", all, COUNT(all));
    expect_ok(&b);
    for (int i = 0; i < EVENT_BEHAVIOUR_KEYS; i++)
        assert_int_equal(ev.behaviour[i], (int)all[i].i);
}

static void test_hasil_kerja_supervisor_only(void **state)
{
    (void)state;
    struct evb b = base(EVENT_EVALUATION);
    set_str(&b, "relation", "peer");
    set_str(&b, "hasil_kerja", "above");
    expect_err(&b, "hasil_kerja: only the supervisor's evaluation may carry it (relation is peer)");
    set_str(&b, "relation", "supervisor");
    set_str(&b, "hasil_kerja", "excellent");
    expect_err(&b, "hasil_kerja: must be one of above|meets|below, got \"excellent\"");
    set_str(&b, "hasil_kerja", "below");
    expect_ok(&b);
    assert_int_equal(ev.hasil_kerja, HASIL_BELOW);
}

/* ---- work_result ------------------------------------------------------------------------ */

static void test_work_result_required_fields(void **state)
{
    (void)state;
    const char *fields[] = {"employee", "period", "indicator", "target", "realization"};
    for (size_t i = 0; i < COUNT(fields); i++) {
        struct evb b = base(EVENT_WORK_RESULT);
        del(&b, fields[i]);
        char want[96];
        snprintf(want, sizeof want, "%s: required for work_result", fields[i]);
        expect_err(&b, want);
    }
    struct evb b = base(EVENT_WORK_RESULT);
    set_str(&b, "indicator", "");
    expect_err(&b, "indicator: must not be empty");
}

static void test_target_positive(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    set_int(&b, "target", 0);
    expect_err(&b, "target: must be a number in (0, 1000000000], got 0");
    set_float(&b, "target", -2.5);
    expect_err(&b, "target: must be a number in (0, 1000000000], got -2.5");
    set_str(&b, "target", "100");
    expect_err(&b, "target: must be a number in (0, 1000000000], got \"100\"");
    set_float(&b, "target", 0.001);
    expect_ok(&b);
}

static void test_numbers_must_be_finite(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    set_float(&b, "target", NAN);
    expect_err(&b, "target: must be a finite number in (0, 1000000000]");
    set_float(&b, "target", INFINITY);
    expect_err(&b, "target: must be a finite number in (0, 1000000000]");
    b = base(EVENT_WORK_RESULT);
    set_float(&b, "realization", -INFINITY);
    expect_err(&b, "realization: must be a finite number in [0, 1000000000]");
    b = base(EVENT_WORK_RESULT);
    set_float(&b, "weight", NAN);
    expect_err(&b, "weight: must be a finite number in (0, 1000]");
}

static void test_realization_non_negative(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    set_float(&b, "realization", -0.5);
    expect_err(&b, "realization: must be a number in [0, 1000000000], got -0.5");
    set_int(&b, "realization", -1);
    expect_err(&b, "realization: must be a number in [0, 1000000000], got -1");
    set_int(&b, "realization", 0);
    expect_ok(&b);
}

static void test_weight_positive(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    set_int(&b, "weight", 0);
    expect_err(&b, "weight: must be a number in (0, 1000], got 0");
    set_int(&b, "weight", 3);
    expect_ok(&b);
    assert_true(ev.weight == 3.0);
}

static void test_direction_enum(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    set_str(&b, "direction", "lower");
    expect_err(&b, "direction: must be one of higher_better|lower_better, got \"lower\"");
}

/* ---- signoff, appeal, appeal_decision, recalc ------------------------------------------- */

static void test_signoff_version(void **state)
{
    (void)state;
    struct evb b = base(EVENT_SIGNOFF);
    del(&b, "version");
    expect_err(&b, "version: required for signoff");
    set_int(&b, "version", 0);
    expect_err(&b, "version: must be an integer 1..2147483647, got 0");
    set_float(&b, "version", 2.0);
    expect_err(&b, "version: must be an integer 1..2147483647, got 2.0");
    set_uint(&b, "version", (uint64_t)INT64_MAX + 1);
    expect_err(&b, "version: must be an integer 1..2147483647, got 9223372036854775808");
    /* one past the int column results.version: 2^31 = 2147483648 */
    set_uint(&b, "version", 2147483648u);
    expect_err(&b, "version: must be an integer 1..2147483647, got 2147483648");
    set_uint(&b, "version", 2147483647u);
    expect_ok(&b);
    assert_true(ev.version == 2147483647);
}

/* ---- number bounds and the ts window (issue 12) -------------------------------------- */

/* The reproduction: weight 1e308 twice overflowed the weighted sum to inf (and NaN);
 * now the broker refuses it, naming the field and the range. */
static void test_number_upper_bounds(void **state)
{
    (void)state;
    struct evb b = base(EVENT_WORK_RESULT);
    set_float(&b, "weight", 1e308);
    expect_err(&b, "weight: must be a number in (0, 1000], got 1e+308");
    set_float(&b, "weight", 1000.0000001);
    expect_err(&b, "weight: must be a number in (0, 1000], got 1000");
    set_int(&b, "weight", 1001);
    expect_err(&b, "weight: must be a number in (0, 1000], got 1001");
    set_int(&b, "weight", 1000); /* the bound itself is in */
    expect_ok(&b);
    assert_true(ev.weight == 1000.0);
    b = base(EVENT_WORK_RESULT);
    set_float(&b, "target", 1e9 * (1 + 1e-15)); /* the next doubles above 1e9 */
    expect_err_prefix(&b, "target: must be a number in (0, 1000000000], got 1");
    set_uint(&b, "target", UINT64_MAX);
    expect_err(&b, "target: must be a number in (0, 1000000000], got 18446744073709551615");
    set_int(&b, "target", 1000000000);
    expect_ok(&b);
    b = base(EVENT_WORK_RESULT);
    set_float(&b, "realization", 1e300);
    expect_err(&b, "realization: must be a number in [0, 1000000000], got 1e+300");
    set_int(&b, "realization", 1000000001);
    expect_err(&b, "realization: must be a number in [0, 1000000000], got 1000000001");
    set_float(&b, "realization", 1e9);
    expect_ok(&b);
    /* headroom: even 1e6 results at the bounds sum to 1e6 * 1000 * 1e9 = 1e18, finite */
    assert_true(isfinite(1e6 * EVENT_WEIGHT_MAX * EVENT_TARGET_MAX));
}

static int decode_at(const struct evb *b, const struct event_limits *lim)
{
    (void)decode(b); /* packs and unpacks b into `unpacked` */
    memset(err, 'Z', sizeof err);
    return event_decode_at(&unpacked.data, &ev, lim, err, sizeof err);
}

static void test_ts_window(void **state)
{
    (void)state;
    const int64_t now = 1764559800000LL; /* 2025-12-01T03:30:00Z */
    struct event_limits lim = {.now_ms = now, .max_future_s = 86400, .max_age_s = 400LL * 86400};
    struct evb b = base(EVENT_CITIZEN_FEEDBACK);
    /* exactly one day ahead: in; one ms more: out */
    set_int(&b, "ts", now + 86400000LL);
    assert_int_equal(decode_at(&b, &lim), 0);
    set_int(&b, "ts", now + 86400000LL + 1000);
    assert_int_equal(decode_at(&b, &lim), -1);
    assert_safe_text(err);
    assert_string_equal(err, "ts: 1764646201000 is 86401 s after the time received, more than "
                             "intake.max_future_s 86400");
    /* the ts in 2099 (4070908800000 = 2099-01-01T00:00:00Z): refused */
    set_int(&b, "ts", 4070908800000LL);
    assert_int_equal(decode_at(&b, &lim), -1);
    assert_true(strncmp(err, "ts: 4070908800000 is ", 21) == 0);
    /* 400 days back is in, 400 days and a second is out: 400 * 86400 = 34560000 s */
    set_int(&b, "ts", now - 34560000000LL);
    assert_int_equal(decode_at(&b, &lim), 0);
    set_int(&b, "ts", now - 34560001000LL);
    assert_int_equal(decode_at(&b, &lim), -1);
    assert_string_equal(err, "ts: 1729999799000 is 34560001 s before the time received, more than "
                             "intake.max_age_s 34560000");
    /* 0 = no limit on that side; no limits (NULL, plain event_decode): only 2000..2100 */
    lim.max_age_s = 0;
    assert_int_equal(decode_at(&b, &lim), 0);
    lim.max_future_s = 0;
    set_int(&b, "ts", 4070908800000LL);
    assert_int_equal(decode_at(&b, &lim), 0);
    assert_int_equal(decode_at(&b, NULL), 0);
    /* the window applies after the envelope: a wrong type still says so first */
    lim.max_future_s = 86400;
    set_str(&b, "ts", "soon");
    assert_int_equal(decode_at(&b, &lim), -1);
    assert_true(strncmp(err, "ts: must be an integer", 22) == 0);
    /* event_check_ts alone, as the ingest worker uses it */
    assert_int_equal(event_check_ts(now, &lim, err, sizeof err), 0);
    assert_int_equal(event_check_ts(now + 86401000LL, &lim, err, sizeof err), -1);
}

static void test_signoff_decision(void **state)
{
    (void)state;
    struct evb b = base(EVENT_SIGNOFF);
    set_str(&b, "decision", "uphold");
    expect_err(&b, "decision: must be one of approve|return|offer, got \"uphold\"");
    del(&b, "decision");
    expect_err(&b, "decision: required for signoff");
    /* offer: the supervisor asks for a returned result to be offered again (SPEC 6) */
    set_str(&b, "decision", "offer");
    expect_ok(&b);
    b = base(EVENT_SIGNOFF);
    del(&b, "supervisor");
    expect_err(&b, "supervisor: required for signoff");
}

/* SPEC 4, 6: an evaluator who is not ASN signs with their id; anything that is neither
 * a NIP nor such an id is refused, naming the field. */
static void test_signoff_evaluator(void **state)
{
    (void)state;
    struct evb b = base(EVENT_SIGNOFF);
    set_str(&b, "supervisor", "bupati:kupang");
    expect_ok(&b);
    assert_true(sv_is(ev.supervisor, "bupati:kupang"));
    set_str(&b, "supervisor", "gubernur.ntt-2026_a");
    expect_ok(&b);
    const char *msg = "supervisor: must be an 18-digit NIP or an evaluator id (1..64 of A-Z a-z 0-9 . _ : -, "
                      "not all digits), got ";
    char want[256];
    set_str(&b, "supervisor", "12345"); /* all digits but not 18: a mistyped NIP, not an id */
    snprintf(want, sizeof want, "%s\"12345\"", msg);
    expect_err(&b, want);
    set_str(&b, "supervisor", "bupati kupang");
    snprintf(want, sizeof want, "%s\"bupati kupang\"", msg);
    expect_err(&b, want);
    set_str(&b, "supervisor", "");
    snprintf(want, sizeof want, "%s\"\"", msg);
    expect_err(&b, want);
    char longid[66];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    set_str(&b, "supervisor", longid);
    assert_int_equal(decode(&b), -1);
    longid[64] = '\0';
    set_str(&b, "supervisor", longid);
    expect_ok(&b);
    /* a rater stays a NIP */
    b = base(EVENT_EVALUATION);
    set_str(&b, "rater", "bupati:kupang");
    expect_err(&b, "rater: must be an 18-digit NIP, got \"bupati:kupang\"");
}

static void test_appeal_reason(void **state)
{
    (void)state;
    struct evb b = base(EVENT_APPEAL);
    del(&b, "reason");
    expect_err(&b, "reason: required for appeal");
    set_str(&b, "reason", "");
    expect_err(&b, "reason: must not be empty");
    b = base(EVENT_APPEAL);
    del(&b, "employee");
    expect_err(&b, "employee: required for appeal");
}

/* The supervisor's feedback note (issue 14): text required, value from the set. */
static void test_feedback_note(void **state)
{
    (void)state;
    struct evb b = base(EVENT_FEEDBACK);
    expect_ok(&b);
    assert_int_equal(ev.type, EVENT_FEEDBACK);
    assert_true(sv_is(ev.supervisor, NIP2));
    assert_true(sv_is(ev.text, "Laporan bulanan tepat waktu; perlu lebih rinci."));
    assert_null(ev.value.p);
    set_str(&b, "value", "kolaboratif");
    expect_ok(&b);
    assert_true(sv_is(ev.value, "kolaboratif"));
    set_str(&b, "value", "hasil_kerja");
    expect_ok(&b);
    set_str(&b, "value", "jujur");
    expect_err(&b, "value: must be one of berorientasi_pelayanan|akuntabel|kompeten|harmonis|loyal|adaptif|"
                   "kolaboratif|hasil_kerja, got \"jujur\"");
    set_int(&b, "value", 4);
    expect_err(&b, "value: must be one of berorientasi_pelayanan|akuntabel|kompeten|harmonis|loyal|adaptif|"
                   "kolaboratif|hasil_kerja, got 4");
    b = base(EVENT_FEEDBACK);
    del(&b, "text");
    expect_err(&b, "text: required for feedback");
    set_str(&b, "text", "");
    expect_err(&b, "text: must not be empty");
    b = base(EVENT_FEEDBACK);
    del(&b, "supervisor");
    expect_err(&b, "supervisor: required for feedback");
    b = base(EVENT_FEEDBACK);
    set_str(&b, "supervisor", "bupati:kupang");
    expect_ok(&b);
    b = base(EVENT_FEEDBACK);
    set_str(&b, "comment", "x");
    expect_err(&b, "comment: unknown field for feedback");
}

static void test_appeal_decision_predikat(void **state)
{
    (void)state;
    struct evb b = base(EVENT_APPEAL_DECISION);
    set_str(&b, "predikat", "baik");
    expect_err(&b, "predikat: not allowed when decision is uphold");
    set_str(&b, "decision", "revise");
    del(&b, "predikat");
    expect_err(&b, "predikat: required when decision is revise");
    set_str(&b, "predikat", "istimewa");
    expect_err(
        &b,
        "predikat: must be one of sangat_baik|baik|butuh_perbaikan|kurang|sangat_kurang, got \"istimewa\"");
    for (int i = 0; i < 5; i++) {
        set_str(&b, "predikat", event_predikat_codes[i]);
        expect_ok(&b);
        assert_true(sv_is(ev.predikat, event_predikat_codes[i]));
    }
    set_str(&b, "decision", "approve");
    expect_err(&b, "decision: must be one of uphold|revise, got \"approve\"");
    b = base(EVENT_APPEAL_DECISION);
    del(&b, "decider");
    expect_err(&b, "decider: required for appeal_decision");
}

static void test_recalc_checks_what_it_has(void **state)
{
    (void)state;
    struct evb b = base(EVENT_RECALC);
    set_str(&b, "period", "2024-13");
    expect_err_prefix(&b, "period: must be YYYY-MM, YYYY-Qn (n 1..4) or YYYY");
    b = base(EVENT_RECALC);
    set_str(&b, "employee", "1");
    expect_err(&b, "employee: must be an 18-digit NIP, got \"1\"");
    b = base(EVENT_RECALC);
    set_str(&b, "unit", "");
    expect_err(&b, "unit: must not be empty");
}

/* ---- names and shards --------------------------------------------------------------------- */

static void test_type_names_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"citizen_feedback", "evaluation",      "work_result", "signoff",
                           "appeal",           "appeal_decision", "recalc",      "feedback"};
    for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
        enum event_type got;
        assert_string_equal(event_type_name((enum event_type)t), names[t]);
        assert_int_equal(event_type_parse(names[t], strlen(names[t]), &got), 0);
        assert_int_equal(got, t);
    }
    enum event_type got;
    assert_int_equal(event_type_parse("recal", 5, &got), -1);
    assert_int_equal(event_type_parse("recalc", 5, &got), -1);
    assert_null(event_type_name(EVENT_TYPE_COUNT));
}

static void test_enum_names(void **state)
{
    (void)state;
    assert_null(event_relation_name(RELATION_NONE));
    assert_string_equal(event_relation_name(RELATION_SUBORDINATE), "subordinate");
    assert_string_equal(event_respondent_name(RESPONDENT_STUDENT), "student");
    assert_null(event_hasil_name(HASIL_NONE));
    assert_string_equal(event_hasil_name(HASIL_MEETS), "meets");
    assert_string_equal(event_direction_name(DIRECTION_LOWER_BETTER), "lower_better");
    assert_null(event_decision_name(DECISION_NONE));
    assert_string_equal(event_decision_name(DECISION_REVISE), "revise");
    assert_string_equal(event_behaviour_keys[0], "berorientasi_pelayanan");
    assert_string_equal(event_predikat_codes[2], "butuh_perbaikan");
}

/* FNV-1a 32-bit: offset 2166136261 (0x811c9dc5), prime 16777619; "a" hashes to
 * 0xe40c292c (the published test vector). */
static void test_shard_fnv1a(void **state)
{
    (void)state;
    struct event e;
    memset(&e, 0, sizeof e);
    e.id.p = "a";
    e.id.n = 1;
    assert_int_equal(event_shard(&e, 1000), 0xe40c292cu % 1000);
    e.unit.p = "DUK";
    e.unit.n = 3;
    unsigned by_unit = event_shard(&e, 4096);
    e.id.p = "b";
    assert_int_equal(event_shard(&e, 4096), by_unit); /* unit wins over id */
    e.employee.p = "a";
    e.employee.n = 1;
    assert_int_equal(event_shard(&e, 1000), 0xe40c292cu % 1000); /* employee wins */
    assert_int_equal(event_shard(&e, 0), 0);
    assert_int_equal(event_shard(&e, 1), 0);
    memset(&e, 0, sizeof e);
    assert_int_equal(event_shard(&e, 16), 0x811c9dc5u % 16);
}

/* Every event about one employee lands on one shard, whatever its type. */
static void test_shard_follows_employee(void **state)
{
    (void)state;
    struct evb b = base(EVENT_EVALUATION);
    expect_ok(&b);
    unsigned s1 = event_shard(&ev, 16);
    b = base(EVENT_CITIZEN_FEEDBACK);
    set_str(&b, "employee", NIP1);
    set_str(&b, "id", "00000000-0000-0000-0000-000000000001");
    expect_ok(&b);
    assert_int_equal(event_shard(&ev, 16), s1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_rating_feedback),
        cmocka_unit_test(test_valid_skm_feedback_with_profile),
        cmocka_unit_test(test_valid_evaluation),
        cmocka_unit_test(test_valid_self_evaluation),
        cmocka_unit_test(test_valid_work_result_defaults),
        cmocka_unit_test(test_valid_work_result_all_fields),
        cmocka_unit_test(test_valid_signoff),
        cmocka_unit_test(test_valid_appeal),
        cmocka_unit_test(test_valid_appeal_decisions),
        cmocka_unit_test(test_valid_recalc),
        cmocka_unit_test(test_nil_optional_is_absent),
        cmocka_unit_test(test_not_a_map),
        cmocka_unit_test(test_v_required_and_1),
        cmocka_unit_test(test_id_required),
        cmocka_unit_test(test_id_must_be_canonical_uuid),
        cmocka_unit_test(test_id_kept_when_rejected),
        cmocka_unit_test(test_type_rules),
        cmocka_unit_test(test_source_rules),
        cmocka_unit_test(test_ts_rules),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_fields_of_other_types_rejected),
        cmocka_unit_test(test_repeated_key),
        cmocka_unit_test(test_non_string_key),
        cmocka_unit_test(test_unknown_key_shown_safely),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_valid_utf8_accepted),
        cmocka_unit_test(test_nul_in_string_rejected),
        cmocka_unit_test(test_bin_is_not_a_string),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_bad_value_shown_bounded_and_escaped),
        cmocka_unit_test(test_err_buffer_bounds),
        cmocka_unit_test(test_unit_required),
        cmocka_unit_test(test_rating_range),
        cmocka_unit_test(test_float_where_int_expected),
        cmocka_unit_test(test_string_where_int_expected),
        cmocka_unit_test(test_rating_and_skm_both),
        cmocka_unit_test(test_rating_and_skm_neither),
        cmocka_unit_test(test_skm_missing_u9),
        cmocka_unit_test(test_skm_extra_u10),
        cmocka_unit_test(test_skm_item_range),
        cmocka_unit_test(test_skm_shape),
        cmocka_unit_test(test_respondent_enum),
        cmocka_unit_test(test_feedback_employee_must_be_nip),
        cmocka_unit_test(test_profile_unknown_value_names_the_set),
        cmocka_unit_test(test_profile_sets),
        cmocka_unit_test(test_evaluation_required_fields),
        cmocka_unit_test(test_period_format),
        cmocka_unit_test(test_period_quarter_every_type),
        cmocka_unit_test(test_relation_enum),
        cmocka_unit_test(test_rater_rules),
        cmocka_unit_test(test_behaviour_rules),
        cmocka_unit_test(test_hasil_kerja_supervisor_only),
        cmocka_unit_test(test_signoff_evaluator),
        cmocka_unit_test(test_work_result_required_fields),
        cmocka_unit_test(test_target_positive),
        cmocka_unit_test(test_numbers_must_be_finite),
        cmocka_unit_test(test_realization_non_negative),
        cmocka_unit_test(test_weight_positive),
        cmocka_unit_test(test_direction_enum),
        cmocka_unit_test(test_signoff_version),
        cmocka_unit_test(test_number_upper_bounds),
        cmocka_unit_test(test_ts_window),
        cmocka_unit_test(test_signoff_decision),
        cmocka_unit_test(test_appeal_reason),
        cmocka_unit_test(test_appeal_decision_predikat),
        cmocka_unit_test(test_recalc_checks_what_it_has),
        cmocka_unit_test(test_type_names_round_trip),
        cmocka_unit_test(test_feedback_note),
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_shard_fnv1a),
        cmocka_unit_test(test_shard_follows_employee),
    };
    return cmocka_run_group_tests_name("event", tests, group_setup, group_teardown);
}
