/*
 * daemon: what both daemons share around their main loop: the command line (-c FILE,
 * --log-json, --help), loading the config and the logger, and the signals: SIGTERM and
 * SIGINT set daemon_stopping (drain and exit 0), SIGHUP sets daemon_reload_requested.
 */
#ifndef KINERJA_DAEMON_H
#define KINERJA_DAEMON_H

#include "config.h"

#include <signal.h>
#include <stdbool.h>

extern volatile sig_atomic_t daemon_stopping;
extern volatile sig_atomic_t daemon_reload_requested;

/* Installs the handlers (no SA_RESTART, so blocking calls return EINTR). */
void daemon_install_signals(void);

/* Monotonic milliseconds. */
long long daemon_now_ms(void);
/* Wall-clock Unix milliseconds. */
long long daemon_wall_ms(void);

/* Sleeps ms milliseconds, or less when daemon_stopping is set (a signal cuts the sleep
 * short and the rest is slept only while not stopping). */
void daemon_sleep_ms(long long ms);

#endif
