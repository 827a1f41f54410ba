/*
 * metrics: see metrics.h. Values are C11 atomics so the libmicrohttpd thread can read
 * them while the daemon's loop updates them; the registry itself is fixed once the
 * server starts. The health reason is the only shared text, kept under a mutex.
 */
#include "metrics.h"

#include "log.h"

#include <dirent.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define METRICS_BODY_MAX (256 * 1024) /* the exposition of METRICS_MAX series fits easily */
#define METRICS_CONNECTION_LIMIT 16
#define METRICS_CONNECTION_TIMEOUT_S 5
#define METRICS_HOST_MAX 256

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE };

struct metric {
    char name[METRICS_NAME_MAX];
    char labels[METRICS_LABELS_MAX];
    char help[METRICS_HELP_MAX];
    enum metric_kind kind;
    atomic_llong value;
};

/* Buckets are kept per bucket (not cumulative) and summed at render; the sum is kept
 * in nanoseconds so it stays an integer atomic. */
struct metric_histogram {
    char name[METRICS_NAME_MAX];
    char labels[METRICS_LABELS_MAX];
    char help[METRICS_HELP_MAX];
    double bounds[METRICS_BUCKETS_MAX];
    size_t nbounds;
    atomic_ullong buckets[METRICS_BUCKETS_MAX + 1]; /* the last one: above every bound */
    atomic_ullong count;
    atomic_llong sum_ns;
};

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,   0.5,   1,      2.5,   5,    10,    30,   60};

struct metrics {
    struct metric series[METRICS_MAX];
    size_t count;
    struct metric_histogram hist[METRICS_HISTOGRAMS_MAX];
    size_t nhist;
    struct metric_histogram hist_sink;
    struct metric sink; /* handed out when full or invalid; never exported */
    bool warned_full;
    pthread_mutex_t health_lock;
    char health_reason[METRICS_REASON_MAX]; /* "" = healthy */
    struct {
        char name[16];
        char reason[METRICS_REASON_MAX]; /* "" = answered the last probe */
    } deps[METRICS_DEPS_MAX];
    size_t ndeps;
};

struct metrics_server {
    struct MHD_Daemon *daemon;
    struct metrics *m;
    int port;
};

struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->health_lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    for (size_t i = 0; i < METRICS_MAX; i++)
        atomic_init(&m->series[i].value, 0);
    atomic_init(&m->sink.value, 0);
    return m; /* calloc zeroes the histograms' atomics, a valid initial state on Linux/C11 */
}

void metrics_destroy(struct metrics **pm)
{
    if (!pm || !*pm)
        return;
    pthread_mutex_destroy(&(*pm)->health_lock);
    free(*pm);
    *pm = NULL;
}

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static struct metric *register_series(struct metrics *m, const char *name, const char *labels,
                                      const char *help, enum metric_kind kind)
{
    if (!valid_name(name) || strlen(name) >= METRICS_NAME_MAX ||
        (labels && strlen(labels) >= METRICS_LABELS_MAX)) {
        log_warn("metrics: invalid series %s{%s}: not exported", name ? name : "(null)",
                 labels ? labels : "");
        return &m->sink;
    }
    if (m->count == METRICS_MAX) {
        if (!m->warned_full)
            log_warn("metrics: more than %d series; %s not exported", METRICS_MAX, name);
        m->warned_full = true;
        return &m->sink;
    }
    struct metric *x = &m->series[m->count++];
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->labels, sizeof x->labels, "%s", labels ? labels : "");
    snprintf(x->help, sizeof x->help, "%s", help ? help : "");
    x->kind = kind;
    atomic_store(&x->value, 0);
    return x;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *labels, const char *help)
{
    return register_series(m, name, labels, help, METRIC_COUNTER);
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *labels, const char *help)
{
    return register_series(m, name, labels, help, METRIC_GAUGE);
}

struct metric_histogram *metrics_histogram(struct metrics *m, const char *name, const char *labels,
                                           const char *help, const double *bounds, size_t nbounds)
{
    if (!bounds) {
        bounds = latency_buckets;
        nbounds = sizeof latency_buckets / sizeof latency_buckets[0];
    }
    bool ordered = nbounds >= 1 && nbounds <= METRICS_BUCKETS_MAX;
    for (size_t i = 1; ordered && i < nbounds; i++)
        ordered = bounds[i] > bounds[i - 1];
    if (!valid_name(name) || strlen(name) + sizeof "_bucket" > METRICS_NAME_MAX ||
        (labels && strlen(labels) >= METRICS_LABELS_MAX) || !ordered) {
        log_warn("metrics: invalid histogram %s{%s}: not exported", name ? name : "(null)",
                 labels ? labels : "");
        return &m->hist_sink;
    }
    if (m->nhist == METRICS_HISTOGRAMS_MAX) {
        log_warn("metrics: more than %d histograms; %s not exported", METRICS_HISTOGRAMS_MAX, name);
        return &m->hist_sink;
    }
    struct metric_histogram *h = &m->hist[m->nhist++];
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->labels, sizeof h->labels, "%s", labels ? labels : "");
    snprintf(h->help, sizeof h->help, "%s", help ? help : "");
    memcpy(h->bounds, bounds, nbounds * sizeof *bounds);
    h->nbounds = nbounds;
    return h;
}

void metric_observe(struct metric_histogram *h, double seconds)
{
    if (!h)
        return;
    if (!(seconds > 0)) /* negative or NaN */
        seconds = 0;
    size_t b = 0;
    while (b < h->nbounds && seconds > h->bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    double ns = seconds * 1e9;
    atomic_fetch_add_explicit(&h->sum_ns, ns < 9e15 ? (long long)(ns + 0.5) : 9000000000000000LL,
                              memory_order_relaxed);
}

unsigned long long metric_histogram_count(const struct metric_histogram *h)
{
    return atomic_load_explicit(&((struct metric_histogram *)h)->count, memory_order_relaxed);
}

double metric_histogram_sum(const struct metric_histogram *h)
{
    return (double)atomic_load_explicit(&((struct metric_histogram *)h)->sum_ns, memory_order_relaxed) / 1e9;
}

void metric_add(struct metric *x, long long n)
{
    atomic_fetch_add_explicit(&x->value, n, memory_order_relaxed);
}

void metric_inc(struct metric *x)
{
    metric_add(x, 1);
}

void metric_set(struct metric *x, long long v)
{
    atomic_store_explicit(&x->value, v, memory_order_relaxed);
}

long long metric_get(const struct metric *x)
{
    return atomic_load_explicit(&((struct metric *)x)->value, memory_order_relaxed);
}

/* Appends like snprintf at out+*used, keeping *used the length needed. */
static void render_append(char *out, size_t outlen, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void metrics_health_set(struct metrics *m, const char *reason)
{
    pthread_mutex_lock(&m->health_lock);
    snprintf(m->health_reason, sizeof m->health_reason, "%s", reason ? reason : "");
    pthread_mutex_unlock(&m->health_lock);
}

void metrics_health_dep(struct metrics *m, const char *dep, const char *reason)
{
    pthread_mutex_lock(&m->health_lock);
    size_t i = 0;
    while (i < m->ndeps && strcmp(m->deps[i].name, dep) != 0)
        i++;
    if (i == m->ndeps && m->ndeps < METRICS_DEPS_MAX && strlen(dep) < sizeof m->deps[0].name)
        snprintf(m->deps[m->ndeps++].name, sizeof m->deps[0].name, "%s", dep);
    if (i < m->ndeps)
        snprintf(m->deps[i].reason, sizeof m->deps[i].reason, "%s", reason ? reason : "");
    pthread_mutex_unlock(&m->health_lock);
}

bool metrics_health_get(struct metrics *m, char *reason, size_t reasonlen)
{
    size_t used = 0;
    if (reasonlen)
        reason[0] = '\0';
    pthread_mutex_lock(&m->health_lock);
    for (size_t i = 0; i < m->ndeps; i++)
        if (m->deps[i].reason[0])
            render_append(reason, reasonlen, &used, "%s%s", used ? "; " : "", m->deps[i].reason);
    bool probed_dep = false; /* the daemon's reason names a probed dependency */
    for (size_t i = 0; i < m->ndeps && !probed_dep; i++)
        probed_dep = strncasecmp(m->health_reason, m->deps[i].name, strlen(m->deps[i].name)) == 0;
    if (m->health_reason[0] && !probed_dep)
        render_append(reason, reasonlen, &used, "%s%s", used ? "; " : "", m->health_reason);
    pthread_mutex_unlock(&m->health_lock);
    if (reasonlen && used >= reasonlen)
        reason[reasonlen - 1] = '\0';
    return used == 0;
}

static void render_append(char *out, size_t outlen, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = *used < outlen ? outlen - *used : 0;
    int n = vsnprintf(room ? out + *used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

size_t metrics_render(struct metrics *m, char *out, size_t outlen)
{
    size_t used = 0;
    if (outlen)
        out[0] = '\0';
    /* Families in order of first registration; each family's series together. */
    for (size_t i = 0; i < m->count; i++) {
        const struct metric *first = &m->series[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->series[j].name, first->name) == 0;
        if (seen)
            continue;
        render_append(out, outlen, &used, "# HELP %s %s\n# TYPE %s %s\n", first->name, first->help,
                      first->name, first->kind == METRIC_COUNTER ? "counter" : "gauge");
        for (size_t j = i; j < m->count; j++) {
            const struct metric *x = &m->series[j];
            if (strcmp(x->name, first->name) != 0)
                continue;
            if (x->labels[0])
                render_append(out, outlen, &used, "%s{%s} %lld\n", x->name, x->labels, metric_get(x));
            else
                render_append(out, outlen, &used, "%s %lld\n", x->name, metric_get(x));
        }
    }
    for (size_t i = 0; i < m->nhist; i++) {
        const struct metric_histogram *first = &m->hist[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(m->hist[j].name, first->name) == 0;
        if (seen)
            continue;
        render_append(out, outlen, &used, "# HELP %s %s\n# TYPE %s histogram\n", first->name, first->help,
                      first->name);
        for (size_t j = i; j < m->nhist; j++) {
            struct metric_histogram *h = &m->hist[j];
            if (strcmp(h->name, first->name) != 0)
                continue;
            const char *sep = h->labels[0] ? "," : "";
            unsigned long long cum = 0;
            for (size_t b = 0; b <= h->nbounds; b++) {
                cum += atomic_load_explicit(&h->buckets[b], memory_order_relaxed);
                if (b < h->nbounds)
                    render_append(out, outlen, &used, "%s_bucket{%s%sle=\"%g\"} %llu\n", h->name, h->labels,
                                  sep, h->bounds[b], cum);
                else
                    render_append(out, outlen, &used, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", h->name, h->labels,
                                  sep, cum);
            }
            /* count from the buckets read, so _count equals the +Inf bucket in one scrape */
            const char *lo = h->labels[0] ? "{" : "", *lc = h->labels[0] ? "}" : "";
            render_append(out, outlen, &used, "%s_sum%s%s%s %.9g\n%s_count%s%s%s %llu\n", h->name, lo,
                          h->labels, lc, metric_histogram_sum(h), h->name, lo, h->labels, lc, cum);
        }
    }
    if (outlen && used >= outlen)
        out[outlen - 1] = '\0';
    return used;
}

/* utime, stime, starttime (clock ticks), vsize (bytes) and rss (pages) from
 * /proc/self/stat; -1 when it cannot be read. */
static int proc_stat_fields(unsigned long long *utime, unsigned long long *stime, unsigned long long *start,
                            unsigned long long *vsize, long long *rss_pages)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
    if (!p)
        return -1;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) cutime cstime priority nice threads itrealvalue starttime(22)
     * vsize(23) rss(24) */
    int got = sscanf(
        p + 2, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s %*s %*s %*s %llu %llu %lld",
        utime, stime, start, vsize, rss_pages);
    return got == 5 ? 0 : -1;
}

size_t metrics_render_process(char *out, size_t outlen)
{
    size_t used = 0;
    if (outlen)
        out[0] = '\0';
    render_append(
        out, outlen, &used,
        "# HELP kinerja_build_info the Kinerja version of this binary\n# TYPE kinerja_build_info gauge\n"
        "kinerja_build_info{version=\"%s\"} 1\n",
        KINERJA_VERSION);
    unsigned long long ut, st, start, vsize;
    long long rss;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (proc_stat_fields(&ut, &st, &start, &vsize, &rss) == 0 && tck > 0 && page > 0) {
        double boot = 0;
        FILE *f = fopen("/proc/stat", "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "btime %lf", &boot) == 1)
                break;
        if (f)
            fclose(f);
        render_append(out, outlen, &used,
                      "# HELP process_cpu_seconds_total user and system CPU time spent\n"
                      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
                      "# HELP process_resident_memory_bytes resident memory size\n"
                      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lld\n"
                      "# HELP process_virtual_memory_bytes virtual memory size\n"
                      "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n",
                      (double)(ut + st) / (double)tck, rss * page, vsize);
        if (boot > 0)
            render_append(out, outlen, &used,
                          "# HELP process_start_time_seconds start time of the process since the epoch\n"
                          "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
                          boot + (double)start / (double)tck);
    }
    long fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        fds += e->d_name[0] != '.';
    if (d) {
        closedir(d);
        render_append(out, outlen, &used,
                      "# HELP process_open_fds open file descriptors\n# TYPE process_open_fds gauge\n"
                      "process_open_fds %ld\n",
                      fds - 1); /* less the one opendir holds */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        render_append(
            out, outlen, &used,
            "# HELP process_max_fds the limit of open file descriptors\n# TYPE process_max_fds gauge\n"
            "process_max_fds %llu\n",
            (unsigned long long)rl.rlim_cur);
    if (outlen && used >= outlen)
        out[outlen - 1] = '\0';
    return used;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *content_type,
                                 const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", content_type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result answer_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls)
{
    struct metrics *m = cls;
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "method not allowed\n";
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", msg, sizeof msg - 1);
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") == 0) {
        char *body = malloc(METRICS_BODY_MAX);
        if (!body)
            return MHD_NO;
        size_t need = metrics_render(m, body, METRICS_BODY_MAX);
        size_t len = need < METRICS_BODY_MAX ? need : METRICS_BODY_MAX - 1;
        need = metrics_render_process(body + len, METRICS_BODY_MAX - len);
        len += need < METRICS_BODY_MAX - len ? need : METRICS_BODY_MAX - len - 1;
        enum MHD_Result rc = send_text(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", body, len);
        free(body);
        return rc;
    }
    if (strcmp(url, "/healthz") == 0) {
        char reason[METRICS_REASON_MAX + 1];
        if (metrics_health_get(m, reason, METRICS_REASON_MAX))
            return send_text(conn, MHD_HTTP_OK, "text/plain", "ok\n", 3);
        size_t n = strlen(reason);
        reason[n++] = '\n';
        return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", reason, n);
    }
    static const char msg[] = "not found: try /metrics or /healthz\n";
    return send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", msg, sizeof msg - 1);
}

/* Splits "host:port" or "[v6]:port" into host and port text. */
static int split_listen(const char *addr, char *host, size_t hostlen, const char **port)
{
    const char *h = addr, *hend;
    if (*addr == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = addr + 1;
        hend = rb;
        *port = rb + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        hend = colon;
        *port = colon + 1;
    }
    size_t n = (size_t)(hend - h);
    if (n == 0 || n >= hostlen || **port == '\0')
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    for (const char *p = *port; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    return atoi(*port) <= 65535 ? 0 : -1;
}

int metrics_server_start(struct metrics *m, const char *listen, const char *auto_addr,
                         struct metrics_server **out, char *err, size_t errlen)
{
    *out = NULL;
    if (strcmp(listen, "off") == 0)
        return 0;
    const char *addr = strcmp(listen, "auto") == 0 ? auto_addr : listen;
    char host[METRICS_HOST_MAX];
    const char *port;
    if (split_listen(addr, host, sizeof host, &port) != 0) {
        snprintf(err, errlen, "metrics.listen: expected off, auto or host:port, got \"%.64s\"", addr);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, errlen, "metrics.listen %s: %s", addr, gai_strerror(gai));
        return -1;
    }
    struct metrics_server *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "metrics: out of memory");
        return -1;
    }
    s->m = m;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, answer_request, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        snprintf(err, errlen, "metrics.listen %s: cannot listen (address in use or not local?)", addr);
        free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : atoi(port);
    *out = s;
    return 0;
}

int metrics_server_port(const struct metrics_server *s)
{
    return s ? s->port : 0;
}

void metrics_server_stop(struct metrics_server **ps)
{
    if (!ps || !*ps)
        return;
    MHD_stop_daemon((*ps)->daemon);
    free(*ps);
    *ps = NULL;
}
