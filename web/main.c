/*
 * kinerja-web: the web pages and JSON API (SPEC 12), a front end like the CLI. This file
 * holds the command line, the settings, logging, signals, /metrics and a probing
 * /healthz (127.0.0.1:9575); the HTTP server is web/server.c, the routes web/api.c,
 * web/public.c and web/pages.c.
 *
 *   kinerja-web [-c FILE] [--log-json] [--help] [--version]
 *
 * Exit codes: 0 after SIGTERM/SIGINT (open requests finish first), 1 on a failure to
 * start, 2 on a usage error.
 */
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define EXIT_USAGE 2
#define WEB_COMPONENT "web"
#define WEB_METRICS_ADDR "127.0.0.1:9575"
#define PROBE_MS 2000 /* /healthz turns 503 within this of losing PostgreSQL */

static const char *const settings_used[] = {
    "web.listen",
    "web.public_url",
    "web.session_key_file",
    "web.session_ttl_s",
    "web.cookie_secure",
    "web.client_key_file",
    "web.source",
    "web.db_pool",
    "web.max_connections",
    "web.send_timeout_ms",
    "web.login_max",
    "web.respond_max",
    "postgres.dsn",
    "intake.endpoint",
    "intake.max_frame_bytes",
    "security.curve",
    "security.server_public_file",
    "time.zone",
    "log.level",
    "log.json",
    "metrics.listen",
};

static void usage(FILE *out)
{
    fprintf(out, "usage: kinerja-web [-c FILE] [--log-json] [--help] [--version]\n\n"
                 "Serves the pages for employees, supervisors and operators, the public transparency\n"
                 "site with the citizens' response form and the SKM survey (QR codes), and the JSON API\n"
                 "/api/v1 (docs/API.md). Reads PostgreSQL; every action is an event sent through the\n"
                 "broker. Accounts: kinerja user add.\n"
                 "\noptions:\n"
                 "  -c FILE      config file (default $KINERJA_CONFIG or config/kinerja.conf)\n"
                 "  --log-json   log JSON lines to stderr\n"
                 "  -h, --help   this help\n"
                 "  --version    the version\n"
                 "\nsettings used (section.key = default; environment KINERJA_SECTION_KEY overrides):\n");
    size_t count = 0;
    const struct setting_def *defs = config_settings(&count);
    for (size_t k = 0; k < sizeof settings_used / sizeof settings_used[0]; k++)
        for (size_t i = 0; i < count; i++)
            if (strcmp(defs[i].name, settings_used[k]) == 0)
                fprintf(out, "  %s = %s\n      %s\n", defs[i].name, defs[i].secret ? "(secret)" : defs[i].def,
                        defs[i].help);
    fprintf(out,
            "\nmetrics.listen = auto serves /metrics and /healthz on %s\n"
            "signals: SIGTERM/SIGINT stop accepting, let open requests finish and exit 0;\n"
            "SIGHUP reloads log.level\n"
            "exit codes: 0 ok, 1 failure, 2 usage\n",
            WEB_METRICS_ADDR);
}

static void reload_log_level(const char *config_file, bool log_json)
{
    struct config *cfg = config_new();
    char err[1024];
    if (!cfg || config_load(cfg, config_file, err, sizeof err) < 0) {
        log_warn("reload: %s; keeping the current settings", cfg ? err : "out of memory");
        config_destroy(&cfg);
        return;
    }
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(config_str(cfg, "log.level"), &level);
    log_init(WEB_COMPONENT, level, log_json || config_bool(cfg, "log.json"));
    log_info("reloaded: log.level %s", config_str(cfg, "log.level"));
    config_destroy(&cfg);
}

int main(int argc, char **argv)
{
    const char *config_file = NULL;
    bool log_json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("kinerja-web %s\n", KINERJA_VERSION);
            return 0;
        } else if (!strcmp(a, "-c") && i + 1 < argc) {
            config_file = argv[++i];
        } else if (!strcmp(a, "--log-json")) {
            log_json = true;
        } else {
            fprintf(stderr, "kinerja-web: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    struct config *cfg = config_new();
    if (!cfg) {
        fprintf(stderr, "kinerja-web: out of memory\n");
        return 1;
    }
    char err[1024];
    if (config_load(cfg, config_file, err, sizeof err) < 0) {
        fprintf(stderr, "kinerja-web: config: %s\n", err);
        config_destroy(&cfg);
        return 1;
    }
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(config_str(cfg, "log.level"), &level);
    log_init(WEB_COMPONENT, level, log_json || config_bool(cfg, "log.json"));
    daemon_install_signals();
    if (sodium_init() < 0) {
        log_error("libsodium failed to start");
        config_destroy(&cfg);
        return 1;
    }

    struct metrics *m = metrics_new();
    if (!m) {
        log_error("out of memory");
        config_destroy(&cfg);
        return 1;
    }
    struct web_metrics wm = {
        .requests = metrics_counter(m, "kinerja_web_requests_total", NULL, "HTTP requests answered"),
        .errors = metrics_counter(m, "kinerja_web_errors_total", NULL, "HTTP requests answered with 5xx"),
        .events_accepted = metrics_counter(m, "kinerja_web_events_total", "status=\"accepted\"",
                                           "events sent to the broker by ack status"),
        .events_refused = metrics_counter(m, "kinerja_web_events_total", "status=\"refused\"",
                                          "events sent to the broker by ack status"),
        .live_streams = metrics_gauge(m, "kinerja_web_live_streams", NULL, "open live-update streams"),
        .logins_failed = metrics_counter(m, "kinerja_web_logins_failed_total", NULL, "failed sign-ins"),
    };
    struct metric *db_up = metrics_gauge(m, "kinerja_web_postgres_up", NULL, "1 when PostgreSQL answers");

    int rc = 1;
    struct web *w = web_server_start(cfg, &wm, err, sizeof err);
    struct metrics_server *srv = NULL;
    if (!w) {
        log_error("%s; not starting", err);
        goto out;
    }
    if (metrics_server_start(m, config_str(cfg, "metrics.listen"), WEB_METRICS_ADDR, &srv, err, sizeof err) <
        0)
        log_error("metrics: %s; running without /metrics and /healthz", err);
    else if (srv)
        log_info("metrics and health on port %d", metrics_server_port(srv));
    log_info("serving on %s (port %d), public address %s, CURVE %s", config_str(cfg, "web.listen"),
             web_server_port(w), web_public_url(w), config_bool(cfg, "security.curve") ? "on" : "off");

    long long next_probe = 0;
    while (!daemon_stopping) {
        if (daemon_reload_requested) {
            daemon_reload_requested = 0;
            reload_log_level(config_file, log_json);
        }
        if (daemon_now_ms() >= next_probe) {
            char why[512];
            bool ok = web_db_probe(w, why, sizeof why);
            metric_set(db_up, ok);
            metrics_health_set(m, ok ? NULL : why);
            next_probe = daemon_now_ms() + PROBE_MS;
        }
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    log_info("stopping: no new connections; waiting for open requests");
    web_server_quiesce(w);
    rc = 0;
out:
    web_server_stop(&w);
    metrics_server_stop(&srv);
    metrics_destroy(&m);
    config_destroy(&cfg);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
