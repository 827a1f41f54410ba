/*
 * notify: the notify role of kinerja-worker (SPEC 6). Delivers the transactional outbox,
 * the `notifications` table that the workflow SQL (schemas/0003_workflow.sql) fills in
 * the same transaction as the state change it reports, on two channels:
 *
 *   - a ZeroMQ PUB socket bound on notify.endpoint: two frames, [recipient NIP (the
 *     topic)] [msgpack map: id, kind, recipient, employee, period, version, created_at,
 *     payload]; done once per notification (published_at);
 *   - an HTTP webhook (notify.webhook_url, optional): the same fields as a JSON object,
 *     signed (common/webhook.h), retried with exponential backoff and jitter
 *     (notify.retry_base_ms doubling up to notify.retry_max_s) until a 2xx
 *     (delivered_at) or notify.max_attempts failures (status 'dead').
 * A notification is 'sent' once both channels are done (the PUB alone without a webhook).
 *
 * At least once, never twice at the same time: due rows are claimed in batches with
 * FOR UPDATE SKIP LOCKED and leased (next_attempt_at moved notify.lease_s ahead) in one
 * short statement, so no row lock is held during HTTP calls. The lease time the claim
 * wrote is the batch's token: every later write is conditional on it, the lease is
 * renewed before a post could outlive it, and a worker that finds its token replaced
 * leaves the row alone. A worker killed mid-delivery loses nothing: its lease expires
 * and any notify worker delivers. Each notify worker binds its own PUB endpoint
 * (subscribers connect to every one of them).
 *
 * Woken by NOTIFY kinerja_notify, and polls every NOTIFY_POLL_MS and when the earliest
 * retry falls due. Called by workers/main.c.
 */
#ifndef KINERJA_WORKER_NOTIFY_H
#define KINERJA_WORKER_NOTIFY_H

#include "metrics.h"

#define NOTIFY_POLL_MS 1000
#define NOTIFY_BATCH 100
#define NOTIFY_SUMMARY_MS 10000
#define NOTIFY_CHANNEL "kinerja_notify"

struct notifier_config {
    const char *postgres_dsn;
    const char *endpoint;       /* notify.endpoint: ZeroMQ PUB bind */
    const char *webhook_url;    /* notify.webhook_url; NULL or "": no webhook */
    const char *webhook_secret; /* notify.webhook_secret; never logged */
    int max_attempts;           /* notify.max_attempts */
    long long retry_base_ms;    /* notify.retry_base_ms */
    long long retry_max_ms;     /* notify.retry_max_s * 1000 */
    long long lease_ms;         /* notify.lease_s * 1000 */
    void (*reload)(void *arg);  /* SIGHUP */
    void *reload_arg;
};

struct notifier;

/* Binds the PUB socket and prepares the webhook; NULL (logged) when either fails. */
struct notifier *notifier_new(const struct notifier_config *cfg, struct metrics *m);
/* Runs until SIGTERM (daemon_stopping); returns the exit code (0). */
int notifier_run(struct notifier *n);
void notifier_destroy(struct notifier **n);

#endif
