/*
 * metrics: a small registry of named counters, gauges and histograms, and the HTTP endpoint every
 * daemon serves on `metrics.listen` (SPEC 2): GET /metrics (Prometheus text format
 * 0.0.4) and GET /healthz (200 "ok", or 503 with the reason the daemon last set).
 * Used by kinerja-broker and kinerja-worker.
 *
 * Threads: the HTTP server (libmicrohttpd) answers in its own thread, so metric values
 * are atomics (metric_add / metric_set are safe from any thread, lock-free) and the
 * health reason is kept under a mutex. The daemon's loop never waits for a scrape.
 *
 * Usage:
 *     struct metrics *m = metrics_new();
 *     struct metric *req = metrics_counter(m, "kinerja_broker_requests_total", NULL,
 *                                          "requests received");
 *     struct metric *acc = metrics_counter(m, "kinerja_broker_events_total",
 *                                          "status=\"accepted\"", "events by ack status");
 *     struct metric *up = metrics_gauge(m, "kinerja_broker_redis_up", NULL, "1 when connected");
 *     struct metrics_server *srv;
 *     metrics_server_start(m, config_str(cfg, "metrics.listen"), "127.0.0.1:9570", &srv, err, sizeof err);
 *     metric_inc(req); metric_set(up, 1);
 *     metrics_health_set(m, "redis: connection refused");   // 503 until set to NULL
 *     ...
 *     metrics_server_stop(&srv); metrics_destroy(&m);
 *
 * Register every metric before metrics_server_start (registration is not thread-safe;
 * updates are). Series of one family (same name, different labels) share the HELP and
 * TYPE lines; register them with the same help text.
 */
#ifndef KINERJA_METRICS_H
#define KINERJA_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#define METRICS_MAX 128 /* series per registry */
#define METRICS_NAME_MAX 96
#define METRICS_LABELS_MAX 128
#define METRICS_HELP_MAX 160
#define METRICS_REASON_MAX 256 /* /healthz reason text */

struct metrics;
struct metric;
struct metrics_server;

struct metrics *metrics_new(void);
void metrics_destroy(struct metrics **m);

/*
 * Registers one series and returns its handle (owned by the registry, valid until
 * metrics_destroy). name: [a-zA-Z_:][a-zA-Z0-9_:]*; labels: NULL or the inside of the
 * braces, already escaped (`status="accepted"`); help: one line. Never returns NULL:
 * when the registry is full or the name is invalid the handle is a sink that is never
 * exported (a warning is logged).
 */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *labels, const char *help);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *labels, const char *help);

/*
 * A histogram (Prometheus type histogram, in seconds): bounds are the buckets' upper
 * limits in increasing order (at most METRICS_BUCKETS_MAX; +Inf is implied), or NULL for
 * METRICS_LATENCY_BUCKETS (0.5 ms .. 60 s). Exported as name_bucket{le=...}, name_sum and
 * name_count. Like metrics_counter, never NULL (a sink when full or invalid).
 */
#define METRICS_HISTOGRAMS_MAX 16
#define METRICS_BUCKETS_MAX 20
struct metric_histogram;
struct metric_histogram *metrics_histogram(struct metrics *m, const char *name, const char *labels,
                                           const char *help, const double *bounds, size_t nbounds);
/* Records one observation of seconds (negative counts as 0); safe from any thread; h NULL: nothing. */
void metric_observe(struct metric_histogram *h, double seconds);
/* The observations so far and their sum (for tests and logs). */
unsigned long long metric_histogram_count(const struct metric_histogram *h);
double metric_histogram_sum(const struct metric_histogram *h);

/* Updates; safe from any thread. Counters only go up (metric_add with n >= 0). */
void metric_add(struct metric *x, long long n);
void metric_inc(struct metric *x);
void metric_set(struct metric *x, long long v);
long long metric_get(const struct metric *x);

/* Health for /healthz: reason NULL means healthy (200 "ok"); otherwise 503 with the
 * reason as the body (truncated to METRICS_REASON_MAX - 1 bytes). Never put secrets
 * in it. Starts healthy. Safe from any thread. */
void metrics_health_set(struct metrics *m, const char *reason);

/*
 * A dependency's health as a probe measured it (common/healthprobe.h): dep is "redis"
 * or "postgres" (at most METRICS_DEPS_MAX names), reason NULL when it answered. Once a
 * dependency is probed, the probe's word on it is the one /healthz goes by: a reason
 * the daemon set that names it ("postgres: ...") is not shown while the probe says it
 * answers, so /healthz turns 200 when the dependency is back, not when traffic next
 * makes the daemon reconnect. Reasons naming nothing probed are kept as they are.
 */
#define METRICS_DEPS_MAX 4
void metrics_health_dep(struct metrics *m, const char *dep, const char *reason);

/* 200 "ok" (returns true) or the reasons of 503, "; "-joined, into reason. */
bool metrics_health_get(struct metrics *m, char *reason, size_t reasonlen);

/* Writes the Prometheus text exposition into out (at most outlen bytes, NUL-terminated).
 * Returns the length it needed (like snprintf); for tests and the HTTP handler. */
size_t metrics_render(struct metrics *m, char *out, size_t outlen);

/* The series every daemon's /metrics adds to its own: kinerja_build_info{version} 1 and
 * the process's (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds, process_open_fds,
 * process_max_fds), read from /proc/self at the time of the scrape. Same contract as
 * metrics_render. */
size_t metrics_render_process(char *out, size_t outlen);

/*
 * Starts the HTTP server. listen: "off" (no server: returns 0 with *out = NULL),
 * "auto" (listen on auto_addr, the daemon's default, e.g. "127.0.0.1:9570"), or
 * "host:port" / "[v6addr]:port"; port 0 picks a free port (see metrics_server_port;
 * the caller logs it). Returns 0, or -1 with the reason in err.
 */
int metrics_server_start(struct metrics *m, const char *listen, const char *auto_addr,
                         struct metrics_server **out, char *err, size_t errlen);
/* The port actually bound (useful after port 0); 0 when s is NULL. */
int metrics_server_port(const struct metrics_server *s);
void metrics_server_stop(struct metrics_server **s);

#endif
