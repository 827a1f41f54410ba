/*
 * log: one line per notable event on stderr: level, time, component, message; or one
 * JSON object per line with --log-json. Used by every binary. Never pass secrets
 * (passwords, webhook secrets, CURVE secret keys) to it.
 */
#ifndef KINERJA_LOG_H
#define KINERJA_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* component: "broker", "worker.ingest", "kinerja"...; the string must outlive logging. */
void log_init(const char *component, enum log_level min_level, bool json);
/* Parses "debug", "info", "warn", "error"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_component(const char *component);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
