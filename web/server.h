/*
 * server: starting and stopping kinerja-web's HTTP server (web/server.c); what the
 * handlers use is in web.h.
 */
#ifndef KINERJA_WEB_SERVER_H
#define KINERJA_WEB_SERVER_H

#include "metrics.h"
#include "web.h"

struct web_metrics {
    struct metric *requests, *errors, *events_accepted, *events_refused, *live_streams, *logins_failed;
};

/* Reads the session key and the CURVE keys, opens the listening socket (web.listen) and
 * starts serving. NULL with the reason in err. cfg and m must outlive the server. */
struct web *web_server_start(const struct config *cfg, struct web_metrics *m, char *err, size_t errlen);
/* The port bound (web.listen may say port 0). */
int web_server_port(const struct web *w);
/* Stops accepting connections; open ones finish (SIGTERM drain). */
void web_server_quiesce(struct web *w);
/* Waits for every open connection and frees everything. */
void web_server_stop(struct web **w);
/* /healthz: PostgreSQL answers through the pool. */
bool web_db_probe(struct web *w, char *why, size_t whylen);
/* The web role of a userstore role (enum user_role). */
enum web_role web_role_of_user(int user_role);
/* One failed sign-in: logged (the id and the address, never the password) and counted. */
void web_login_failed(struct web_req *rq, const char *id);

#endif
