#include "log.h"

#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define LOG_LINE_MAX 8192

static const char *log_component = "kinerja";
static enum log_level log_min = LOG_LEVEL_INFO;
static bool log_json;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *component, enum log_level min_level, bool json)
{
    log_component = component;
    log_min = min_level;
    log_json = json;
}

void log_set_component(const char *component)
{
    log_component = component;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

    struct buf line;
    buf_init(&line, 2 * LOG_LINE_MAX);
    if (log_json) {
        buf_printf(&line, "{\"level\":\"%s\",\"time\":\"%s\",\"component\":\"", level_names[level], when);
        buf_json_escape(&line, log_component, strlen(log_component));
        buf_puts(&line, "\",\"msg\":\"");
        buf_json_escape(&line, msg, strlen(msg));
        buf_puts(&line, "\"}\n");
    } else {
        buf_printf(&line, "%-5s %s %s: %s\n", level_names[level], when, log_component, msg);
    }
    if (line.data)
        fputs(line.data, stderr);
    buf_free(&line);
}
