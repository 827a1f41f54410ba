/*
 * event: the event contract of SPEC 3: decoding a msgpack map into a struct event and
 * validating every field, with errors that name the field and say why
 * ("skm.u3: must be an integer 1..4, got 7"). Pure: no I/O, no allocation (string
 * fields are views into the msgpack object, which must outlive the struct).
 *
 * Called by the broker (validate before enqueue), the ingest worker (decode what it
 * reads from the stream) and the CLI. Organisation checks (unknown NIP, relation
 * against the supervisor chain) are not here: they need PostgreSQL (pgstore).
 *
 * Glossary: NIP = the 18-digit civil-servant id; SKM = the nine-question citizen
 * satisfaction survey (u1..u9, each 1..4); BerAKHLAK = the seven core values rated
 * 1..5 in an evaluation; SKP = the work plan whose indicators work_result reports.
 */
#ifndef KINERJA_EVENT_H
#define KINERJA_EVENT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_SCHEMA_VERSION 1
#define EVENT_ID_LEN 36 /* canonical UUID */
#define EVENT_NIP_LEN 18
#define EVENT_SOURCE_MAX 64
#define EVENT_UNIT_MAX 64
#define EVENT_SERVICE_MAX 128
#define EVENT_COMMENT_MAX 2000 /* bytes: comment, note, evidence */
#define EVENT_REASON_MAX 4000
#define EVENT_INDICATOR_MAX 64
#define EVENT_EVALUATOR_ID_MAX 64 /* an evaluator who is not ASN (SPEC 4), e.g. "bupati:kupang" */
#define EVENT_PROFILE_MAX 64      /* gender, age_band, education, occupation */
#define EVENT_SKM_ITEMS 9
#define EVENT_BEHAVIOUR_KEYS 7
#define EVENT_ERR_MAX 256 /* room for any error text event_decode writes */
/* ts bounds: 2000-01-01 .. 2100-01-01 UTC in ms */
#define EVENT_TS_MIN 946684800000LL
#define EVENT_TS_MAX 4102444800000LL
/* Number bounds (docs/PROTOCOL.md), chosen so nothing the score engine forms from them
 * overflows: target and realization in (0, 1e9] / [0, 1e9], weight in (0, 1000], a
 * sign-off's version 1..2^31-1 (the int column of results.version). */
#define EVENT_TARGET_MAX 1e9
#define EVENT_WEIGHT_MAX 1000.0
#define EVENT_VERSION_MAX 2147483647LL
/* intake.max_future_s and intake.max_age_s defaults (common/config.c) */
#define EVENT_MAX_FUTURE_S 86400LL
#define EVENT_MAX_AGE_S (400LL * 86400)

enum event_type {
    EVENT_CITIZEN_FEEDBACK,
    EVENT_EVALUATION,
    EVENT_WORK_RESULT,
    EVENT_SIGNOFF,
    EVENT_APPEAL,
    EVENT_APPEAL_DECISION,
    EVENT_RECALC,
    EVENT_FEEDBACK, /* umpan balik: the supervisor's note to the employee (issue 14) */
    EVENT_TYPE_COUNT
};

enum respondent { RESPONDENT_CITIZEN, RESPONDENT_STUDENT, RESPONDENT_PARENT };
enum relation { RELATION_NONE, RELATION_SUPERVISOR, RELATION_PEER, RELATION_SUBORDINATE, RELATION_SELF };
enum hasil_kerja { HASIL_NONE, HASIL_ABOVE, HASIL_MEETS, HASIL_BELOW };
enum direction { DIRECTION_HIGHER_BETTER, DIRECTION_LOWER_BETTER };
enum decision {
    DECISION_NONE,
    DECISION_APPROVE, /* signoff */
    DECISION_RETURN,  /* signoff */
    DECISION_OFFER,   /* signoff: offer a returned (collecting) result again (SPEC 6) */
    DECISION_UPHOLD,  /* appeal_decision */
    DECISION_REVISE   /* appeal_decision */
};

/* A view into the msgpack buffer: not NUL-terminated. n == 0 and p == NULL: absent. */
struct strview {
    const char *p;
    size_t n;
};

struct event {
    /* envelope */
    int v;
    struct strview id; /* 36-char canonical UUID */
    enum event_type type;
    struct strview source; /* 1..64 */
    int64_t ts;            /* Unix ms */

    /* common */
    struct strview employee; /* NIP; absent allowed only in citizen_feedback and recalc */
    struct strview period;   /* "YYYY-MM" or "YYYY"; absent in citizen_feedback, optional in recalc */
    struct strview unit;     /* citizen_feedback (required), recalc (optional) */
    struct strview comment;  /* citizen_feedback, evaluation */
    struct strview note;     /* signoff, appeal_decision */

    /* citizen_feedback */
    struct strview service;
    enum respondent respondent;
    int rating; /* 1..4, 0 when the event carries skm instead */
    bool has_skm;
    int skm[EVENT_SKM_ITEMS]; /* u1..u9 */
    struct strview gender, age_band, education, occupation;

    /* evaluation */
    struct strview rater;
    enum relation relation;
    int behaviour[EVENT_BEHAVIOUR_KEYS]; /* 1..5, 0 = not rated; order of event_behaviour_keys */
    enum hasil_kerja hasil_kerja;

    /* work_result */
    struct strview indicator;
    double target, realization, weight;
    enum direction direction;
    struct strview evidence;

    /* signoff / appeal / appeal_decision */
    struct strview supervisor;
    struct strview decider;
    enum decision decision;
    int64_t version;         /* signoff: the score version being signed (>= 1) */
    struct strview reason;   /* appeal */
    struct strview predikat; /* appeal_decision with revise: one of the predikat codes */

    /* feedback (supervisor in `supervisor`) */
    struct strview text;  /* required, 1..EVENT_COMMENT_MAX bytes */
    struct strview value; /* optional: a BerAKHLAK key or "hasil_kerja", the aspect the note is about */
};

/* "berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
 * "kolaboratif" */
extern const char *const event_behaviour_keys[EVENT_BEHAVIOUR_KEYS];
/* "sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang" */
extern const char *const event_predikat_codes[5];

/*
 * The respondent profile of a citizen_feedback (SPEC 3; the SKM report of PermenPANRB
 * 14/2017 breaks its respondents down by jenis kelamin, umur, pendidikan and pekerjaan):
 * each field takes one code of a documented set (docs/PROTOCOL.md), and event_decode
 * rejects any other value naming the allowed ones ("gender: must be one of m|f, got
 * \"L\""). The labels are the Indonesian words the survey form and the SKM report show.
 */
enum event_profile_field {
    EVENT_PROFILE_GENDER,
    EVENT_PROFILE_AGE_BAND,
    EVENT_PROFILE_EDUCATION,
    EVENT_PROFILE_OCCUPATION,
    EVENT_PROFILE_FIELDS
};
#define EVENT_PROFILE_CHOICES_MAX 8 /* codes in the largest set */

struct event_profile_set {
    const char *field;                /* "gender", "age_band", "education", "occupation" */
    const char *label;                /* "Jenis kelamin", ... */
    const char *const *codes;         /* "m", "f", ... */
    const char *const *choice_labels; /* "Laki-laki", "Perempuan", ...: codes[i]'s label */
    size_t n;                         /* codes, 1..EVENT_PROFILE_CHOICES_MAX */
};

/* The set of field f (NULL when f is out of range). */
const struct event_profile_set *event_profile_set(enum event_profile_field f);
/* The index of code s[0..n) in the set of field f, or -1 when it is not one of them. */
int event_profile_code_index(enum event_profile_field f, const char *s, size_t n);

const char *event_type_name(enum event_type t); /* "citizen_feedback", ... */
int event_type_parse(const char *s, size_t n, enum event_type *out);
const char *event_relation_name(enum relation r); /* "supervisor", ...; NULL for NONE */
const char *event_respondent_name(enum respondent r);
const char *event_hasil_name(enum hasil_kerja h); /* "above", ...; NULL for NONE */
const char *event_direction_name(enum direction d);
const char *event_decision_name(enum decision d);

/*
 * Decodes and validates one event from a msgpack map. Returns 0 when the event is
 * valid. Otherwise returns -1 and writes one error to err ("field: why", at most
 * EVENT_ERR_MAX bytes, NUL-terminated); ev->id is still set when the map had a valid
 * "id" string, so the rejected ack can carry it (ev->id.p == NULL otherwise).
 *
 * Rules (SPEC 3): v == 1; id a canonical lower- or upper-case UUID; type known; source
 * 1..64 bytes; ts an integer within EVENT_TS_MIN..EVENT_TS_MAX; every string valid
 * UTF-8 within its limit; integers must be integers (not floats, not strings); numbers
 * (target, realization, weight) may be integer or float, finite and within their bounds
 * (EVENT_TARGET_MAX, EVENT_WEIGHT_MAX); version 1..EVENT_VERSION_MAX; unknown fields are rejected
 * ("foo: unknown field for citizen_feedback"); required fields present; exactly one of
 * rating / skm; skm has all of u1..u9 and nothing else; the respondent profile fields
 * each one code of their set (event_profile_set); behaviour keys known and
 * non-empty; hasil_kerja only with relation supervisor; predikat required with
 * revise and forbidden with uphold. Map keys must be strings; a repeated key is
 * rejected.
 */
int event_decode(const msgpack_object *obj, struct event *ev, char *err, size_t errlen);

/*
 * The ts window: ts no more than max_future_s after now_ms and no more than max_age_s
 * before it (0 = no limit on that side). event_decode is pure, so "now" comes in: the
 * broker passes the time it received the frame, the ingest worker the event's received
 * time (the rt field), so a worker replaying an old stream entry judges it as the
 * broker did. now_ms <= 0 (or lim NULL): no window, only EVENT_TS_MIN..EVENT_TS_MAX.
 */
struct event_limits {
    int64_t now_ms;
    int64_t max_future_s; /* intake.max_future_s */
    int64_t max_age_s;    /* intake.max_age_s */
};
/* event_decode, then the ts window of lim ("ts: ... more than intake.max_future_s 86400"). */
int event_decode_at(const msgpack_object *obj, struct event *ev, const struct event_limits *lim, char *err,
                    size_t errlen);
/* The ts window alone. Returns 0, or -1 with the reason in err. */
int event_check_ts(int64_t ts, const struct event_limits *lim, char *err, size_t errlen);

/* Field checks, exposed for the CLI and tests. */
bool event_valid_uuid(const char *s, size_t n);
bool event_valid_nip(const char *s, size_t n);
/* An evaluator id (SPEC 4, evaluators.csv): 1..EVENT_EVALUATOR_ID_MAX characters of
 * [A-Za-z0-9._:-], at least one not a digit, so it is never mistaken for a NIP
 * (schemas/0006_workflow_v2.sql checks the same in the table). */
bool event_valid_evaluator_id(const char *s, size_t n);
/* A period of SPEC 3: "YYYY-MM" (monthly), "YYYY-Qn" (quarterly, triwulan I..IV) or
 * "YYYY" (annual), year 2000..2100. EVENT_PERIOD_RULE is that rule as error text. */
#define EVENT_PERIOD_QUARTERS 4
#define EVENT_PERIOD_RULE "YYYY-MM, YYYY-Qn (n 1..4) or YYYY (year 2000..2100)"
bool event_valid_period(const char *s, size_t n);
bool event_valid_utf8(const char *s, size_t n);

/* Stream shard of an event: by employee, else unit, else id (FNV-1a mod nshards). */
unsigned event_shard(const struct event *ev, unsigned nshards);

#endif
