/*
 * static: the two files every page of kinerja-web loads, kept in the binary as C string
 * constants so an installed kinerja-web needs nothing from the source tree:
 *
 *   /static/app.css  the style sheet (mobile first, readable at 360 px, no external fonts)
 *   /static/app.js   the live part of a signed-in page: Server-Sent Events from
 *                    /api/v1/stream appended to #live, and on /atasan the queue refreshed
 *
 * The CSP (default-src 'self') blocks inline <style>, <script> and style="" attributes, so
 * every look a page needs is a class here. Called by pages_dispatch (web/pages.c).
 */
#ifndef KINERJA_WEB_STATIC_H
#define KINERJA_WEB_STATIC_H

#include "web.h"

#include <stdbool.h>

/*
 * Serves the static file name (the path after "/static/", e.g. "app.css") into rq: its
 * body, content type and rq->cacheable. false when there is no such file (nothing set;
 * the caller answers 404).
 */
bool static_serve(struct web_req *rq, const char *name);

#endif
