/*
 * kinerja-worker: the worker daemon (SPEC 2). This file holds the command line, the
 * settings, logging, signals, the metrics endpoint and the dispatch to a role; each
 * role lives in its own files (ingest.c, scorer.c, notify.c, schedule.c); role all runs
 * every role in one process, one thread each.
 *
 *   kinerja-worker --role ingest|score|notify|schedule|all [-c FILE] [--log-json] [--help]
 *
 * Exit codes: 0 after SIGTERM/SIGINT, 1 on a failure to start, 2 on a usage error.
 */
#include "config.h"
#include "daemon.h"
#include "healthprobe.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "pgstore.h"
#include "notify.h"
#include "schedule.h"
#include "scorer.h"

#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

struct reload_ctx;

enum role_parts { ROLE_INGEST = 1, ROLE_SCORE = 2, ROLE_NOTIFY = 4, ROLE_SCHEDULE = 8 };

struct role {
    const char *name;
    int parts;                /* what runs; 0: not available yet */
    const char *metrics_addr; /* metrics.listen = auto */
    const char *what;
};

static const struct role roles[] = {
    {"ingest", ROLE_INGEST, "127.0.0.1:9571", "stream entries -> PostgreSQL event log (exactly once)"},
    {"score", ROLE_SCORE, "127.0.0.1:9572", "recompute scores, predikat, IKM and score versions"},
    {"notify", ROLE_NOTIFY, "127.0.0.1:9573", "deliver notifications: ZeroMQ PUB and the signed webhook"},
    {"schedule", ROLE_SCHEDULE, "127.0.0.1:9574",
     "scheduled jobs, one active of any number: recalc, period close, reminders, housekeeping"},
    {"all", ROLE_INGEST | ROLE_SCORE | ROLE_NOTIFY | ROLE_SCHEDULE, "127.0.0.1:9571",
     "every role in one process, one thread each (small installations)"},
};
#define ROLE_COUNT (sizeof roles / sizeof roles[0])

/* The settings the worker reads, listed by --help. */
static const char *const settings_used[] = {
    "redis.url",
    "redis.cluster",
    "redis.shards",
    "redis.timeout_ms",
    "postgres.dsn",
    "worker.batch",
    "worker.block_ms",
    "worker.max_deliveries",
    "worker.claim_idle_ms",
    "worker.consumer",
    "time.zone",
    "intake.max_depth",
    "intake.max_future_s",
    "intake.max_age_s",
    "log.level",
    "log.json",
    "metrics.listen",
    /* role notify */
    "notify.endpoint",
    "notify.webhook_url",
    "notify.webhook_secret",
    "notify.max_attempts",
    "notify.retry_base_ms",
    "notify.retry_max_s",
    "notify.lease_s",
    /* role schedule */
    "schedule.recalc",
    "schedule.period_close_grace_days",
    "schedule.tick_ms",
    "schedule.housekeeping_s",
    "schedule.partitions_ahead",
    "workflow.reminder_days",
    "workflow.appeal_days",
    "workflow.cadence",
    "intake.dedupe_ttl_s",
};
/* ... and for the score role every score.*, weight.*, fairness.* and training.* setting
 * (score_params_from_config) plus the [training] catalog. */

static void usage(FILE *out)
{
    fprintf(out, "usage: kinerja-worker --role ROLE [-c FILE] [--log-json] [--help] [--version]\n\nroles:\n");
    for (size_t i = 0; i < ROLE_COUNT; i++)
        fprintf(out, "  %-9s %s\n", roles[i].name, roles[i].what);
    fprintf(out, "\noptions:\n"
                 "  --role ROLE  the role to run (required)\n"
                 "  -c FILE      config file (default $KINERJA_CONFIG or config/kinerja.conf)\n"
                 "  --log-json   log JSON lines to stderr\n"
                 "  -h, --help   this help\n"
                 "\nsettings used (section.key = default; environment KINERJA_SECTION_KEY overrides):\n");
    size_t count = 0;
    const struct setting_def *defs = config_settings(&count);
    for (size_t k = 0; k < sizeof settings_used / sizeof settings_used[0]; k++) {
        for (size_t i = 0; i < count; i++) {
            if (strcmp(defs[i].name, settings_used[k]) != 0)
                continue;
            fprintf(out, "  %s = %s\n      %s\n", defs[i].name, defs[i].secret ? "(secret)" : defs[i].def,
                    defs[i].help);
        }
    }
    fprintf(out, "  score.*, weight.*, fairness.*, training.* and the [training] catalog (role score;\n"
                 "      see `kinerja config` and docs/SCORING.md)\n");
    fprintf(out, "\nsignals: SIGTERM/SIGINT finish the batch in hand and exit 0; SIGHUP reloads log.level\n"
                 "exit codes: 0 ok, 1 failure, 2 usage\n");
}

static const struct role *role_find(const char *name)
{
    for (size_t i = 0; i < ROLE_COUNT; i++)
        if (strcmp(roles[i].name, name) == 0)
            return &roles[i];
    return NULL;
}

/* What SIGHUP re-reads: the config file and the environment, for log.level. */
struct reload_ctx {
    const char *config_file; /* as given with -c, or NULL */
    const char *component;
    bool log_json;
};

static void reload_settings(void *arg)
{
    const struct reload_ctx *r = arg;
    struct config *cfg = config_new();
    char err[1024];
    if (!cfg) {
        log_warn("reload: out of memory");
        return;
    }
    if (config_load(cfg, r->config_file, err, sizeof err) < 0) {
        log_warn("reload: %s; keeping the current settings", err);
        config_destroy(&cfg);
        return;
    }
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(config_str(cfg, "log.level"), &level);
    log_init(r->component, level, r->log_json);
    log_info("reloaded: log.level %s", config_str(cfg, "log.level"));
    config_destroy(&cfg);
}

/* An unknown time.zone would make PostgreSQL refuse every batch, and every event would
 * end in dead_letters: refuse to start instead. When PostgreSQL cannot be reached now the
 * check is skipped (the ingest loop waits for it anyway). */
static int check_time_zone(struct config *cfg)
{
    struct pgstore *db = pgstore_connect(config_str(cfg, "postgres.dsn"));
    int rc = 0;
    if (db && !db->err && pgstore_check_time_zone(db, config_str(cfg, "time.zone")) < 0 && !db->transient) {
        log_error("time.zone '%s' is refused by PostgreSQL (%s); not starting", config_str(cfg, "time.zone"),
                  db->errstr);
        rc = -1;
    }
    pgstore_destroy(&db);
    return rc;
}

static struct ingest *make_ingest(struct config *cfg, struct metrics *m, struct reload_ctx *reload)
{
    if (check_time_zone(cfg) < 0)
        return NULL;
    struct ingest_config ic = {
        .redis_url = config_str(cfg, "redis.url"),
        .redis_cluster = config_bool(cfg, "redis.cluster"),
        .redis_timeout_ms = (int)config_int(cfg, "redis.timeout_ms"),
        .shards = (unsigned)config_int(cfg, "redis.shards"),
        .postgres_dsn = config_str(cfg, "postgres.dsn"),
        .batch = (long)config_int(cfg, "worker.batch"),
        .block_ms = (long)config_int(cfg, "worker.block_ms"),
        .max_deliveries = (int)config_int(cfg, "worker.max_deliveries"),
        .claim_idle_ms = config_int(cfg, "worker.claim_idle_ms"),
        .consumer = config_str(cfg, "worker.consumer"),
        .time_zone = config_str(cfg, "time.zone"),
        .max_depth = (size_t)config_int(cfg, "intake.max_depth"),
        .max_future_s = config_int(cfg, "intake.max_future_s"),
        .max_age_s = config_int(cfg, "intake.max_age_s"),
        .reload = reload_settings,
        .reload_arg = reload,
    };
    return ingest_new(&ic, m);
}

/* score.threads, 0 resolved to the online CPUs (at most SCORE_PARALLEL_THREADS_MAX, which
 * is also the setting's bound in common/config.c). */
_Static_assert(SCORE_PARALLEL_THREADS_MAX == 16, "score.threads is bounded by 16 in common/config.c");
static int score_threads(int configured)
{
    if (configured > 0)
        return configured;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > SCORE_PARALLEL_THREADS_MAX ? SCORE_PARALLEL_THREADS_MAX : (int)n;
}

static struct scorer *make_scorer(struct config *cfg, struct metrics *m, struct reload_ctx *reload)
{
    struct scorer_config sc = {
        .postgres_dsn = config_str(cfg, "postgres.dsn"),
        .settle_ms = (int)config_int(cfg, "score.settle_ms"),
        .settle_max_ms = (int)config_int(cfg, "score.settle_max_ms"),
        .threads = score_threads((int)config_int(cfg, "score.threads")),
        .signoff_split_min = (int)config_int(cfg, "score.signoff_split_min"),
        .work_mem_mb = (int)config_int(cfg, "score.work_mem_mb"),
        .reload = reload_settings,
        .reload_arg = reload,
    };
    char err[512];
    if (score_params_from_config(cfg, &sc.params, err, sizeof err) < 0) {
        log_error("config: %s", err);
        return NULL;
    }
    return scorer_new(&sc, m);
}

static struct notifier *make_notifier(struct config *cfg, struct metrics *m, struct reload_ctx *reload)
{
    struct notifier_config nc = {
        .postgres_dsn = config_str(cfg, "postgres.dsn"),
        .endpoint = config_str(cfg, "notify.endpoint"),
        .webhook_url = config_str(cfg, "notify.webhook_url"),
        .webhook_secret = config_str(cfg, "notify.webhook_secret"),
        .max_attempts = (int)config_int(cfg, "notify.max_attempts"),
        .retry_base_ms = config_int(cfg, "notify.retry_base_ms"),
        .retry_max_ms = config_int(cfg, "notify.retry_max_s") * 1000,
        .lease_ms = config_int(cfg, "notify.lease_s") * 1000,
        .reload = reload_settings,
        .reload_arg = reload,
    };
    return notifier_new(&nc, m);
}

static struct scheduler *make_scheduler(struct config *cfg, struct metrics *m, struct reload_ctx *reload)
{
    struct scheduler_config sc = {
        .postgres_dsn = config_str(cfg, "postgres.dsn"),
        .redis_url = config_str(cfg, "redis.url"),
        .redis_cluster = config_bool(cfg, "redis.cluster"),
        .redis_timeout_ms = (int)config_int(cfg, "redis.timeout_ms"),
        .shards = (unsigned)config_int(cfg, "redis.shards"),
        .time_zone = config_str(cfg, "time.zone"),
        .recalc = config_str(cfg, "schedule.recalc"),
        .period_close_grace_days = (int)config_int(cfg, "schedule.period_close_grace_days"),
        .reminder_days = (int)config_int(cfg, "workflow.reminder_days"),
        .cadence = config_str(cfg, "workflow.cadence"),
        .appeal_days = (int)config_int(cfg, "workflow.appeal_days"),
        .dedupe_ttl_s = config_int(cfg, "intake.dedupe_ttl_s"),
        .tick_ms = (long)config_int(cfg, "schedule.tick_ms"),
        .housekeeping_s = (long)config_int(cfg, "schedule.housekeeping_s"),
        .partitions_ahead = (int)config_int(cfg, "schedule.partitions_ahead"),
        .identity = config_str(cfg, "worker.consumer"),
        .reload = reload_settings,
        .reload_arg = reload,
    };
    return scheduler_new(&sc, m);
}

/*
 * Builds the role's parts (registering their metrics), starts /metrics and /healthz,
 * runs them (role all: the score loop in a second thread) until SIGTERM.
 */
/* One running part of a role: its loop and its object. */
struct part {
    const char *name;
    int (*run)(void *obj);
    void *obj;
    int rc;
    pthread_t thread;
    bool threaded;
};

static int run_ingest_part(void *o)
{
    return ingest_run(o);
}
static int run_score_part(void *o)
{
    return scorer_run(o);
}
static int run_notify_part(void *o)
{
    return notifier_run(o);
}
static int run_schedule_part(void *o)
{
    return scheduler_run(o);
}

static void *part_thread(void *arg)
{
    struct part *p = arg;
    p->rc = p->run(p->obj);
    daemon_stopping = 1; /* one part ended: the process stops as a whole */
    return NULL;
}

/*
 * Builds the role's parts (registering their metrics), starts /metrics and /healthz,
 * and runs them until SIGTERM: the first in this thread, any others (role all) each in
 * a thread of its own, with its own connections. Returns the first non-zero exit code.
 */
static int run_role(struct config *cfg, const struct role *role, struct reload_ctx *reload)
{
    struct metrics *m = metrics_new();
    if (!m) {
        log_error("out of memory");
        return 1;
    }
    struct ingest *ing = NULL;
    struct scorer *sc = NULL;
    struct notifier *nt = NULL;
    struct scheduler *sch = NULL;
    struct part parts[4];
    size_t n = 0;
    int rc = 1;
    if (role->parts & ROLE_INGEST) {
        if (!(ing = make_ingest(cfg, m, reload)))
            goto out;
        parts[n++] = (struct part){"ingest", run_ingest_part, ing, 0, 0, false};
    }
    if (role->parts & ROLE_SCORE) {
        if (!(sc = make_scorer(cfg, m, reload)))
            goto out;
        parts[n++] = (struct part){"score", run_score_part, sc, 0, 0, false};
    }
    if (role->parts & ROLE_NOTIFY) {
        if (!(nt = make_notifier(cfg, m, reload)))
            goto out;
        parts[n++] = (struct part){"notify", run_notify_part, nt, 0, 0, false};
    }
    if (role->parts & ROLE_SCHEDULE) {
        if (!(sch = make_scheduler(cfg, m, reload)))
            goto out;
        parts[n++] = (struct part){"schedule", run_schedule_part, sch, 0, 0, false};
    }

    /* Several workers may share a host: one that cannot bind keeps working without
     * /metrics rather than not at all. */
    struct metrics_server *srv = NULL;
    char err[512];
    if (metrics_server_start(m, config_str(cfg, "metrics.listen"), role->metrics_addr, &srv, err,
                             sizeof err) < 0)
        log_error("metrics: %s; running without /metrics and /healthz", err);
    else if (srv)
        log_info("metrics and health on port %d", metrics_server_port(srv));
    /* /healthz follows the dependencies the role uses, traffic or not */
    struct healthprobe *probe = NULL;
    if (srv)
        healthprobe_start(m,
                          &(struct healthprobe_opts){.redis_url = role->parts & (ROLE_INGEST | ROLE_SCHEDULE)
                                                                      ? config_str(cfg, "redis.url")
                                                                      : NULL,
                                                     .redis_cluster = config_bool(cfg, "redis.cluster"),
                                                     .pg_dsn = config_str(cfg, "postgres.dsn"),
                                                     .timeout_ms = (int)config_int(cfg, "redis.timeout_ms")},
                          &probe);

    for (size_t i = 1; i < n; i++) {
        if (pthread_create(&parts[i].thread, NULL, part_thread, &parts[i]) != 0) {
            log_error("cannot start the %s thread", parts[i].name);
            daemon_stopping = 1;
            parts[i].rc = 1;
        } else {
            parts[i].threaded = true;
        }
    }
    rc = n ? parts[0].run(parts[0].obj) : 1;
    daemon_stopping = 1; /* the first part ended: stop the others too */
    for (size_t i = 1; i < n; i++) {
        if (parts[i].threaded)
            pthread_join(parts[i].thread, NULL);
        if (!rc)
            rc = parts[i].rc;
    }
    healthprobe_stop(&probe);
    metrics_server_stop(&srv);
out:
    ingest_destroy(&ing);
    scorer_destroy(&sc);
    notifier_destroy(&nt);
    scheduler_destroy(&sch);
    metrics_destroy(&m);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config_file = NULL, *role_name = NULL;
    bool log_json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("kinerja-worker %s\n", KINERJA_VERSION);
            return 0;
        } else if (!strcmp(a, "-c") && i + 1 < argc) {
            config_file = argv[++i];
        } else if (!strcmp(a, "--role") && i + 1 < argc) {
            role_name = argv[++i];
        } else if (!strncmp(a, "--role=", 7)) {
            role_name = a + 7;
        } else if (!strcmp(a, "--log-json")) {
            log_json = true;
        } else {
            fprintf(stderr, "kinerja-worker: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!role_name) {
        fprintf(stderr, "kinerja-worker: --role is required\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct role *role = role_find(role_name);
    if (!role) {
        fprintf(stderr, "kinerja-worker: unknown role '%s' (ingest, score, notify, schedule or all)\n",
                role_name);
        return EXIT_USAGE;
    }
    if (!role->parts) {
        fprintf(stderr, "kinerja-worker: role %s is not available yet\n", role->name);
        return EXIT_USAGE;
    }

    struct config *cfg = config_new();
    if (!cfg) {
        fprintf(stderr, "kinerja-worker: out of memory\n");
        return 1;
    }
    char err[1024];
    if (config_load(cfg, config_file, err, sizeof err) < 0) {
        fprintf(stderr, "kinerja-worker: config: %s\n", err);
        config_destroy(&cfg);
        return 1;
    }
    static char component[32];
    snprintf(component, sizeof component, "worker.%s", role->name);
    struct reload_ctx reload = {config_file, component, log_json || config_bool(cfg, "log.json")};
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(config_str(cfg, "log.level"), &level);
    log_init(reload.component, level, reload.log_json);
    daemon_install_signals();

    if (!strcmp(role->name, "all"))
        log_info("role all: ingest, score, notify and schedule, one thread each");
    int rc = run_role(cfg, role, &reload);
    config_destroy(&cfg);
    return rc;
}
