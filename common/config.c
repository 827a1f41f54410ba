#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_DEFAULT_PATH "config/kinerja.conf" /* a checkout: make up, make demo */
/* An installed system (cmake --install; docs/OPERATIONS.md): looked for when the
 * checkout's file is not there. CMake passes the configured prefix's; /etc is tried too. */
#ifndef KINERJA_SYSCONF_CONFIG
#define KINERJA_SYSCONF_CONFIG "/etc/kinerja/kinerja.conf"
#endif
#define CONFIG_ETC_PATH "/etc/kinerja/kinerja.conf"
#define CONFIG_VALUE_MAX 4096
#define CONFIG_EXTRA_MAX 256

/* The table. Keep it sorted by section; config/kinerja.conf is generated from it
 * (`kinerja config --reference`). */
static const struct setting_def settings[] = {
    {"redis.url", SETTING_STRING, "redis://127.0.0.1:6390/0", 0, 0, NULL, true,
     "Redis URL: redis://[:password@]host:port/db; with redis.cluster, seeds host:port,host:port,..."},
    {"redis.cluster", SETTING_BOOL, "false", 0, 0, NULL, false,
     "Redis Cluster: route each shard to its slot's master (seed nodes in redis.url, db 0)"},
    {"redis.shards", SETTING_INT, "16", 1, 1024, NULL, false,
     "number of event stream shards kinerja:ev:{N}; every process must agree"},
    {"redis.timeout_ms", SETTING_INT, "2000", 50, 60000, NULL, false,
     "connect and command timeout for Redis"},

    {"postgres.dsn", SETTING_STRING, "host=127.0.0.1 port=5490 dbname=kinerja user=kinerja", 0, 0, NULL, true,
     "libpq connection string"},

    {"intake.endpoint", SETTING_STRING, "tcp://127.0.0.1:5570", 0, 0, NULL, false,
     "ZeroMQ ROUTER endpoint the broker binds"},
    {"intake.max_batch", SETTING_INT, "1000", 1, 100000, NULL, false, "most events in one request frame"},
    {"intake.max_frame_bytes", SETTING_INT, "1048576", 1024, 67108864, NULL, false,
     "largest request frame answered; larger frames are rejected (twice this disconnects)"},
    {"intake.max_depth", SETTING_INT, "6", 2, 32, NULL, false, "deepest msgpack nesting accepted in a frame"},
    {"intake.dedupe_ttl_s", SETTING_INT, "2592000", 60, 315360000, NULL, false,
     "how long an accepted event id is remembered for duplicate acks"},
    {"intake.durability", SETTING_ENUM, "everysec", 0, 0, "everysec|always|replicated", false,
     "everysec: ack once Redis holds it (AOF fsync each second); always: fsync first; replicated: a replica "
     "too"},
    {"intake.replicas", SETTING_INT, "1", 1, 16, NULL, false,
     "with intake.durability = replicated: replicas that must hold a round's events (WAIT) before its acks"},
    {"intake.replica_timeout_ms", SETTING_INT, "1000", 1, 60000, NULL, false,
     "with intake.durability = replicated: how long WAIT waits; events not confirmed by then get retry"},
    {"intake.rate_per_client", SETTING_INT, "0", 0, 10000000, NULL, false,
     "events per second per client (0 = unlimited)"},
    {"intake.max_future_s", SETTING_INT, "86400", 0, 315360000, NULL, false,
     "an event's ts may be at most this far after the time it is received (0 = no limit)"},
    {"intake.max_age_s", SETTING_INT, "0", 0, 3153600000, NULL, false,
     "an event's ts may be at most this far before the time it is received (0 = no limit: backfills of "
     "past periods are legitimate; e.g. 34560000 = 400 days)"},
    {"intake.read_batch", SETTING_INT, "256", 1, 10000, NULL, false,
     "most client requests the broker gathers into one Redis round trip"},

    {"worker.batch", SETTING_INT, "500", 1, 10000, NULL, false,
     "stream entries read per XREADGROUP and stored per transaction"},
    {"worker.block_ms", SETTING_INT, "1000", 1, 60000, NULL, false,
     "how long XREADGROUP blocks waiting for entries"},
    {"worker.max_deliveries", SETTING_INT, "5", 1, 1000, NULL, false,
     "deliveries after which an entry goes to the dead-letter table"},
    {"worker.claim_idle_ms", SETTING_INT, "30000", 100, 86400000, NULL, false,
     "pending entries idle this long are reclaimed from a dead consumer"},
    {"worker.consumer", SETTING_STRING, "", 0, 0, NULL, false,
     "consumer name in the group (default: host-role-pid)"},

    {"time.zone", SETTING_STRING, "Asia/Jakarta", 0, 0, NULL, false,
     "time zone that places citizen feedback in its month (Asia/Makassar for Kupang, Mataram)"},

    {"log.level", SETTING_ENUM, "info", 0, 0, "debug|info|warn|error", false, "least level logged"},
    {"log.json", SETTING_BOOL, "false", 0, 0, NULL, false, "log JSON lines (same as --log-json)"},

    {"metrics.listen", SETTING_STRING, "auto", 0, 0, NULL, false,
     "host:port for /metrics and /healthz; auto = 127.0.0.1:9570 (broker), 9571..9574 (worker roles); off = "
     "none"},

    {"notify.endpoint", SETTING_STRING, "tcp://127.0.0.1:5571", 0, 0, NULL, false,
     "ZeroMQ PUB endpoint for notifications (topic = recipient NIP)"},
    {"notify.webhook_url", SETTING_STRING, "", 0, 0, NULL, false,
     "HTTP webhook for notifications (empty = none)"},
    {"notify.webhook_secret", SETTING_STRING, "", 0, 0, NULL, true,
     "HMAC-SHA256 key for X-Kinerja-Signature"},
    {"notify.max_attempts", SETTING_INT, "8", 1, 100, NULL, false,
     "webhook attempts before a notification is dead"},
    {"notify.retry_base_ms", SETTING_INT, "1000", 1, 3600000, NULL, false,
     "pause after the first failed webhook attempt; doubles with each attempt (+-50% jitter)"},
    {"notify.retry_max_s", SETTING_INT, "600", 1, 86400, NULL, false,
     "longest pause between webhook attempts"},
    {"notify.lease_s", SETTING_INT, "30", 2, 3600, NULL, false,
     "notifications a worker is delivering are held this long; those of a killed worker are retried after "
     "it"},

    {"security.curve", SETTING_BOOL, "true", 0, 0, NULL, false,
     "CURVE encryption and client allow-list on intake (on by default: `make up` makes the keys; turning it "
     "off lets anyone who can reach intake.endpoint send any event)"},
    {"security.server_secret_file", SETTING_STRING, "var/curve/server.key_secret", 0, 0, NULL, false,
     "file holding the broker's CURVE secret key (z85)"},
    {"security.clients_file", SETTING_STRING, "var/curve/clients", 0, 0, NULL, false,
     "allow-list: one line per client: public key, name, allowed event types"},
    {"security.server_public_file", SETTING_STRING, "var/curve/server.key", 0, 0, NULL, false,
     "file holding the broker's CURVE public key (z85), read by the CLI"},
    {"security.client_key_file", SETTING_STRING, "var/curve/cli", 0, 0, NULL, false,
     "the CLI's own CURVE key pair: PREFIX.key and PREFIX.key_secret (kinerja keygen --out PREFIX)"},

    {"web.listen", SETTING_STRING, "127.0.0.1:8080", 0, 0, NULL, false,
     "host:port kinerja-web serves its pages and /api/v1 on"},
    {"web.public_url", SETTING_STRING, "http://127.0.0.1:8080", 0, 0, NULL, false,
     "the address citizens reach the web on; the base of the survey QR codes"},
    {"web.session_key_file", SETTING_STRING, "var/web/session.key", 0, 0, NULL, false,
     "file holding the key that signs session cookies and CSRF tokens (32+ random bytes; made by make up; "
     "every kinerja-web of one site must share it)"},
    {"web.session_ttl_s", SETTING_INT, "28800", 60, 2592000, NULL, false, "how long a sign-in lasts"},
    {"web.cookie_secure", SETTING_BOOL, "false", 0, 0, NULL, false,
     "mark cookies Secure (set true behind HTTPS)"},
    {"web.client_key_file", SETTING_STRING, "var/curve/web", 0, 0, NULL, false,
     "kinerja-web's own CURVE key pair for the broker: PREFIX.key and PREFIX.key_secret"},
    {"web.source", SETTING_STRING, "web:kinerja", 0, 0, NULL, false,
     "the source of the workflow events kinerja-web sends (citizen responses use web:<unit>)"},
    {"web.db_pool", SETTING_INT, "8", 1, 256, NULL, false, "PostgreSQL connections kinerja-web keeps"},
    {"web.max_connections", SETTING_INT, "256", 4, 65536, NULL, false,
     "HTTP connections served at once (one thread each; live streams hold one)"},
    {"web.send_timeout_ms", SETTING_INT, "10000", 100, 600000, NULL, false,
     "how long an action waits for the broker's ack"},
    {"web.login_max", SETTING_INT, "10", 1, 100000, NULL, false,
     "failed sign-ins allowed per address per 15 minutes (and half of it per account)"},
    {"web.respond_max", SETTING_INT, "5", 1, 100000, NULL, false,
     "citizen responses and surveys allowed per address per hour"},

    {"score.achievement_cap", SETTING_DOUBLE, "1.2", 1, 10, NULL, false,
     "cap on one indicator's achievement"},
    {"score.hk_above", SETTING_DOUBLE, "1.10", 0, 10, NULL, false, "achievement for hasil kerja above"},
    {"score.hk_meets", SETTING_DOUBLE, "0.85", 0, 10, NULL, false, "achievement for hasil kerja meets"},
    {"score.pk_above", SETTING_DOUBLE, "3.75", 1, 5, NULL, false, "perilaku for above"},
    {"score.pk_meets", SETTING_DOUBLE, "2.75", 1, 5, NULL, false, "perilaku for meets"},
    {"score.w_hasil", SETTING_DOUBLE, "0.6", 0, 1, NULL, false, "numeric score weight of hasil kerja"},
    {"score.w_perilaku", SETTING_DOUBLE, "0.4", 0, 1, NULL, false, "numeric score weight of perilaku"},
    {"score.ikm_min_responses", SETTING_INT, "10", 1, 100000, NULL, false,
     "SKM responses needed for an employee's own IKM"},
    {"score.version_min_delta", SETTING_DOUBLE, "0.5", 0, 100, NULL, false,
     "numeric score move that alone makes a new score version (SPEC 5.7)"},
    {"score.threads", SETTING_INT, "0", 0, 16, NULL, false,
     "threads that compute a period's results (0 = one per CPU; the results are the same bytes for any)"},
    {"score.work_mem_mb", SETTING_INT, "0", 0, 65536, NULL, false,
     "work_mem of the score worker's PostgreSQL sessions, MB (a whole period's rebuild check, sorts and "
     "sign-off requests); 0: the server's own"},
    {"score.signoff_split_min", SETTING_INT, "20000", 0, 100000000, NULL, false,
     "results from which a period's sign-off requests are made in score.threads parts after its commit, "
     "and a month's ratings are read in two halves at once (0 = never)"},
    {"score.settle_ms", SETTING_INT, "300", 0, 60000, NULL, false,
     "a period is computed once its inputs have been quiet this long (a burst is scored once; 0 = at once)"},
    {"score.settle_max_ms", SETTING_INT, "5000", 0, 600000, NULL, false,
     "... but at the latest this long after it changed, however busy"},

    {"weight.supervisor", SETTING_DOUBLE, "0.02", 0, 1, NULL, false,
     "perilaku weight of the supervisor group, beside its share of the joint level (docs/SCORING.md 10)"},
    {"weight.peer", SETTING_DOUBLE, "0.2", 0, 1, NULL, false, "perilaku weight of peers"},
    {"weight.subordinate", SETTING_DOUBLE, "0.15", 0, 1, NULL, false, "perilaku weight of subordinates"},
    {"weight.citizen", SETTING_DOUBLE, "0.25", 0, 1, NULL, false, "perilaku weight of citizens"},
    {"weight.self", SETTING_DOUBLE, "0", 0, 1, NULL, false, "perilaku weight of the self-assessment"},

    {"fairness.kiosk_misuse", SETTING_BOOL, "true", 0, 0, NULL, false, "count repeated kiosk presses once"},
    {"fairness.kiosk_repeat_s", SETTING_INT, "10", 0, 86400, NULL, false, "window for repeated presses"},
    {"fairness.rater_effects", SETTING_BOOL, "true", 0, 0, NULL, false, "joint robust ratee/rater estimate"},
    {"fairness.leniency_min", SETTING_DOUBLE, "3", 0, 1000, NULL, false,
     "ratings at which half a rater offset applies"},
    {"fairness.robust_location", SETTING_BOOL, "true", 0, 0, NULL, false,
     "drop highest and lowest in groups of 5+"},
    {"fairness.citizen_offset", SETTING_BOOL, "true", 0, 0, NULL, false,
     "remove the citizens' group generosity (their mean departure from the joint levels)"},
    {"fairness.credibility", SETTING_BOOL, "true", 0, 0, NULL, false,
     "a crowd group of n brings n/(n+k) of its weight, the rest goes to the ratee's joint level"},
    {"fairness.credibility_k", SETTING_DOUBLE, "3", 0, 1000, NULL, false,
     "credibility constant k in Z = n/(n+k)"},
    {"fairness.calibration", SETTING_BOOL, "true", 0, 0, NULL, false,
     "test the supervisor's rating against the level the other raters imply"},
    {"fairness.calibration_z", SETTING_DOUBLE, "3.0", 0.5, 10, NULL, false,
     "|z| of the supervisor's residual above which the result is flagged"},
    {"fairness.calibration_delta", SETTING_DOUBLE, "1.0", 0, 4, NULL, false,
     "no effect since breakdown format 2 (kept so old configuration files still load)"},
    {"fairness.calibration_factor", SETTING_DOUBLE, "1", 0, 1, NULL, false,
     "supervisor weight factor when flagged (1: the robust weight alone)"},
    {"fairness.anonymity_min", SETTING_INT, "3", 1, 1000, NULL, false,
     "smallest crowd group shown on its own"},

    {"training.threshold", SETTING_DOUBLE, "3.0", 1, 5, NULL, false, "values below this get a course"},

    {"workflow.appeal_days", SETTING_INT, "14", 0, 365, NULL, false, "appeal window after approval"},
    {"workflow.reminder_days", SETTING_INT, "3", 0, 365, NULL, false,
     "pending sign-off age that sends a reminder"},
    {"workflow.cadence", SETTING_ENUM, "monthly", 0, 0, "monthly|quarterly", false,
     "the periodic period appraised, signed and closed (quarterly: months are inputs of their quarter)"},

    {"schedule.recalc", SETTING_STRING, "0 1 * * *", 0, 0, NULL, false,
     "cron expression of the full recalculation"},
    {"schedule.period_close_grace_days", SETTING_INT, "5", 0, 365, NULL, false,
     "days after a period ends before it closes"},
    {"schedule.tick_ms", SETTING_INT, "1000", 50, 60000, NULL, false,
     "how often the scheduler checks its leadership and its due jobs (lower only for tests)"},
    {"schedule.housekeeping_s", SETTING_INT, "300", 1, 86400, NULL, false,
     "seconds between housekeeping runs (stream trimming below the oldest pending entry)"},
    {"schedule.partitions_ahead", SETTING_INT, "3", 0, 60, NULL, false,
     "months ahead whose period partitions the scheduler makes (with their quarters, years)"},
};

#define SETTINGS_COUNT (sizeof settings / sizeof settings[0])

/* Sections whose keys are free (catalogs). */
static const char *const open_sections[] = {"training"};

struct extra_pair {
    char *section, *key, *value;
};

struct config {
    char *values[SETTINGS_COUNT];
    struct extra_pair extra[CONFIG_EXTRA_MAX];
    size_t nextra;
    char path[1024];
    char err[512];       /* first error while parsing the file */
    int err_line;        /* its line */
    int line;            /* the line being parsed (counted by read_line) */
    bool default_absent; /* no file was named and the default path does not exist */
};

const struct setting_def *config_settings(size_t *count)
{
    *count = SETTINGS_COUNT;
    return settings;
}

static int setting_index(const char *name)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        if (strcmp(settings[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int setting_index_or_die(const char *name)
{
    int i = setting_index(name);
    if (i < 0) {
        fprintf(stderr, "config: internal error: unknown setting '%s'\n", name);
        abort();
    }
    return i;
}

static int validate_value(const struct setting_def *d, const char *value, char *err, size_t errlen)
{
    char *end;
    if (strlen(value) > CONFIG_VALUE_MAX) {
        snprintf(err, errlen, "%s: value longer than %d bytes", d->name, CONFIG_VALUE_MAX);
        return -1;
    }
    switch (d->type) {
    case SETTING_STRING:
        return 0;
    case SETTING_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) {
            snprintf(err, errlen, "%s: must be an integer, got '%s'", d->name, value);
            return -1;
        }
        if ((double)v < d->min || (double)v > d->max) {
            snprintf(err, errlen, "%s: must be %.0f..%.0f, got %lld", d->name, d->min, d->max, v);
            return -1;
        }
        return 0;
    }
    case SETTING_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v)) {
            snprintf(err, errlen, "%s: must be a number, got '%s'", d->name, value);
            return -1;
        }
        if (v < d->min || v > d->max) {
            snprintf(err, errlen, "%s: must be %g..%g, got %g", d->name, d->min, d->max, v);
            return -1;
        }
        return 0;
    }
    case SETTING_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "false") || !strcmp(value, "yes") ||
            !strcmp(value, "no") || !strcmp(value, "on") || !strcmp(value, "off") || !strcmp(value, "1") ||
            !strcmp(value, "0"))
            return 0;
        snprintf(err, errlen, "%s: must be true or false, got '%s'", d->name, value);
        return -1;
    case SETTING_ENUM: {
        size_t n = strlen(value);
        const char *p = d->choices;
        while (p && *p) {
            const char *bar = strchr(p, '|');
            size_t len = bar ? (size_t)(bar - p) : strlen(p);
            if (len == n && n > 0 && strncmp(p, value, n) == 0)
                return 0;
            p = bar ? bar + 1 : NULL;
        }
        snprintf(err, errlen, "%s: must be one of %s, got '%s'", d->name, d->choices, value);
        return -1;
    }
    }
    return -1;
}

struct config *config_new(void)
{
    struct config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        c->values[i] = strdup(settings[i].def);
        if (!c->values[i]) {
            config_destroy(&c);
            return NULL;
        }
    }
    snprintf(c->path, sizeof c->path, "%s", CONFIG_DEFAULT_PATH);
    return c;
}

void config_destroy(struct config **pc)
{
    struct config *c = *pc;
    if (!c)
        return;
    for (size_t i = 0; i < SETTINGS_COUNT; i++)
        free(c->values[i]);
    for (size_t i = 0; i < c->nextra; i++) {
        free(c->extra[i].section);
        free(c->extra[i].key);
        free(c->extra[i].value);
    }
    free(c);
    *pc = NULL;
}

int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
    int i = setting_index(name);
    if (i < 0) {
        snprintf(err, errlen, "unknown setting '%s'", name);
        return -1;
    }
    if (validate_value(&settings[i], value, err, errlen) < 0)
        return -1;
    char *v = strdup(value);
    if (!v) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    free(c->values[i]);
    c->values[i] = v;
    return 0;
}

static bool is_open_section(const char *section)
{
    for (size_t i = 0; i < sizeof open_sections / sizeof open_sections[0]; i++)
        if (strcmp(open_sections[i], section) == 0)
            return true;
    return false;
}

static int config_add_extra(struct config *c, const char *section, const char *key, const char *value)
{
    for (size_t i = 0; i < c->nextra; i++) {
        if (!strcmp(c->extra[i].section, section) && !strcmp(c->extra[i].key, key)) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(c->extra[i].value);
            c->extra[i].value = v;
            return 0;
        }
    }
    if (c->nextra >= CONFIG_EXTRA_MAX)
        return -1;
    struct extra_pair *p = &c->extra[c->nextra];
    p->section = strdup(section);
    p->key = strdup(key);
    p->value = strdup(value);
    if (!p->section || !p->key || !p->value) {
        free(p->section);
        free(p->key);
        free(p->value);
        return -1;
    }
    c->nextra++;
    return 0;
}

/* Keeps the first error of the file with the line it is on. */
static void set_error(struct config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct config *c, const char *fmt, ...)
{
    if (c->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->err_line = c->line;
}

/* The stream libinih reads: the file, counting lines so that an error names its line.
 * libinih would cut a line longer than its buffer into pieces and count each as a line,
 * so such a line is an error here, and the parse stops at it. */
struct line_reader {
    FILE *f;
    struct config *c;
};

static char *read_line(char *str, int num, void *stream)
{
    struct line_reader *r = stream;
    char *s = fgets(str, num, r->f);
    if (!s)
        return NULL;
    r->c->line++;
    size_t n = strlen(s);
    if (n + 1 == (size_t)num && s[n - 1] != '\n') {
        int ch = fgetc(r->f);
        if (ch != EOF) {
            set_error(r->c, "line longer than %d bytes", num - 2);
            return NULL;
        }
    }
    return s;
}

static int config_ini_entry(void *user, const char *section, const char *key, const char *value);

/* Parses the file at path into c; 0, or -1 with "path:LINE: why" (or why it cannot be
 * read) in err. */
static int parse_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s (-c FILE or KINERJA_CONFIG names the config file)", path,
                 strerror(errno));
        return -1;
    }
    struct line_reader r = {f, c};
    c->err[0] = '\0';
    c->err_line = c->line = 0;
    int rc = ini_parse_stream(read_line, &r, config_ini_entry, c);
    bool read_failed = ferror(f);
    fclose(f);
    if (read_failed || rc < 0) {
        snprintf(err, errlen, "%s: cannot read%s", path, rc == -2 ? ": out of memory" : "");
        return -1;
    }
    /* rc: the first line with any error (lines are counted alike, since a long line stops
     * the parse); c->err: the first a setting or the reader found */
    if (c->err[0] && (rc == 0 || c->err_line <= rc)) {
        snprintf(err, errlen, "%s:%d: %s", path, c->err_line, c->err);
        return -1;
    }
    if (rc > 0) {
        snprintf(err, errlen,
                 "%s:%d: cannot parse this line: expected `[section]`, `key = value` or a comment "
                 "starting with ; or #",
                 path, rc);
        return -1;
    }
    return 0;
}

/* Said once per process: which file was looked for, and how to name one. */
static void note_default_absent(const char *path)
{
    static bool said;
    if (said)
        return;
    said = true;
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, "%s", "the current directory");
    fprintf(stderr,
            "config: no config file: %s (the default, looked for in %s) does not exist, nor does %s, so "
            "the built-in defaults and KINERJA_* variables apply; name a file with -c FILE or "
            "KINERJA_CONFIG=FILE (`kinerja config --reference > FILE` writes one)\n",
            path, cwd, KINERJA_SYSCONF_CONFIG);
}

static int config_ini_entry(void *user, const char *section, const char *key, const char *value)
{
    struct config *c = user;
    char name[256];
    char err[512];
    snprintf(name, sizeof name, "%s.%s", section, key);
    if (setting_index(name) >= 0) {
        if (config_set(c, name, value, err, sizeof err) < 0) {
            set_error(c, "%s", err);
            return 0;
        }
        return 1;
    }
    if (is_open_section(section)) {
        if (config_add_extra(c, section, key, value) < 0)
            set_error(c, "%s: too many entries", name);
        return 1;
    }
    set_error(c, "unknown setting '%s'", name);
    return 0;
}

void config_env_name(const char *name, char *out, size_t outlen)
{
    size_t j = 0;
    const char *prefix = "KINERJA_";
    for (const char *p = prefix; *p && j + 1 < outlen; p++)
        out[j++] = *p;
    for (const char *p = name; *p && j + 1 < outlen; p++)
        out[j++] = (*p == '.') ? '_' : (char)toupper((unsigned char)*p);
    out[j] = '\0';
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    bool named = true;
    if (!path || !*path)
        path = getenv("KINERJA_CONFIG");
    if (!path || !*path) {
        /* the checkout's file, else the installed system's */
        path = CONFIG_DEFAULT_PATH;
        if (access(path, F_OK) != 0 && access(KINERJA_SYSCONF_CONFIG, F_OK) == 0)
            path = KINERJA_SYSCONF_CONFIG;
        else if (access(path, F_OK) != 0 && access(CONFIG_ETC_PATH, F_OK) == 0)
            path = CONFIG_ETC_PATH;
        named = false;
    }
    snprintf(c->path, sizeof c->path, "%s", path);

    c->default_absent = !named && access(path, F_OK) != 0;
    if (c->default_absent)
        note_default_absent(path);
    else if (parse_file(c, path, err, errlen) != 0)
        return -1;

    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        char env[256];
        config_env_name(settings[i].name, env, sizeof env);
        const char *v = getenv(env);
        if (v) {
            char e[512];
            if (config_set(c, settings[i].name, v, e, sizeof e) < 0) {
                snprintf(err, errlen, "%s (from environment %s)", e, env);
                return -1;
            }
        }
    }
    return 0;
}

const char *config_path(const struct config *c)
{
    return c->path;
}

const char *config_str(const struct config *c, const char *name)
{
    return c->values[setting_index_or_die(name)];
}

long long config_int(const struct config *c, const char *name)
{
    return strtoll(c->values[setting_index_or_die(name)], NULL, 10);
}

double config_double(const struct config *c, const char *name)
{
    return strtod(c->values[setting_index_or_die(name)], NULL);
}

bool config_bool(const struct config *c, const char *name)
{
    const char *v = c->values[setting_index_or_die(name)];
    return !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1");
}

int config_section_next(const struct config *c, const char *section, size_t *iter, const char **key,
                        const char **value)
{
    while (*iter < c->nextra) {
        const struct extra_pair *p = &c->extra[(*iter)++];
        if (strcmp(p->section, section) == 0) {
            *key = p->key;
            *value = p->value;
            return 0;
        }
    }
    return -1;
}

/* Masks secrets: a URL's password, a DSN's password=..., or the whole value. */
static void mask_secret(const char *name, const char *v, char *out, size_t outlen)
{
    if (!*v) {
        snprintf(out, outlen, "%s", "");
        return;
    }
    if (strstr(name, "url")) {
        const char *at = strchr(v, '@');
        const char *scheme = strstr(v, "://");
        if (at && scheme && scheme < at)
            snprintf(out, outlen, "%.*s***%s", (int)(scheme + 3 - v), v, at);
        else
            snprintf(out, outlen, "%s", v);
        return;
    }
    if (strstr(name, "dsn")) {
        const char *pw = strstr(v, "password=");
        if (!pw) {
            snprintf(out, outlen, "%s", v);
            return;
        }
        const char *end = strchr(pw, ' ');
        snprintf(out, outlen, "%.*spassword=***%s", (int)(pw - v), v, end ? end : "");
        return;
    }
    snprintf(out, outlen, "***");
}

void config_print(FILE *out, const struct config *c, bool reveal_secrets)
{
    if (c->default_absent)
        fprintf(out, "# %s does not exist: built-in defaults (name a file with -c FILE or KINERJA_CONFIG)\n",
                c->path);
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        char masked[CONFIG_VALUE_MAX + 64];
        const char *v = c->values[i];
        if (settings[i].secret && !reveal_secrets) {
            mask_secret(settings[i].name, v, masked, sizeof masked);
            v = masked;
        }
        fprintf(out, "%s = %s\n", settings[i].name, v);
    }
    for (size_t i = 0; i < c->nextra; i++)
        fprintf(out, "%s.%s = %s\n", c->extra[i].section, c->extra[i].key, c->extra[i].value);
}

int config_print_one(FILE *out, const struct config *c, const char *name)
{
    int i = setting_index(name);
    if (i >= 0) {
        fprintf(out, "%s\n", c->values[i]);
        return 0;
    }
    const char *dot = strchr(name, '.');
    for (size_t k = 0; dot && k < c->nextra; k++) {
        if (strlen(c->extra[k].section) == (size_t)(dot - name) &&
            !strncmp(c->extra[k].section, name, (size_t)(dot - name)) && !strcmp(c->extra[k].key, dot + 1)) {
            fprintf(out, "%s\n", c->extra[k].value);
            return 0;
        }
    }
    return -1;
}

void config_print_reference(FILE *out)
{
    const char *section = "";
    fprintf(out,
            "# Kinerja reference configuration (generated by `kinerja config --reference`).\n"
            "# Every setting may be overridden by the environment: section.key -> KINERJA_SECTION_KEY.\n");
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const char *dot = strchr(settings[i].name, '.');
        size_t slen = (size_t)(dot - settings[i].name);
        if (strlen(section) != slen || strncmp(section, settings[i].name, slen) != 0) {
            section = settings[i].name;
            fprintf(out, "\n[%.*s]\n", (int)slen, settings[i].name);
            section = settings[i].name; /* compare by prefix below */
            static char cur[64];
            snprintf(cur, sizeof cur, "%.*s", (int)slen, settings[i].name);
            section = cur;
        }
        char env[256];
        config_env_name(settings[i].name, env, sizeof env);
        fprintf(out, "# %s (%s)\n", settings[i].help, env);
        fprintf(out, "%s = %s\n", dot + 1, settings[i].def);
    }
}
