/*
 * static: /static/app.css and /static/app.js (see static.h).
 *
 * The style sheet is mobile first: one column, 16 px text, touch targets of at least
 * 44 px; from 720 px up the grid gets columns. Colours pass WCAG AA contrast on white.
 * The script uses textContent only (never innerHTML), so a notification cannot inject
 * markup; it does nothing on a page without body[data-live="1"] (web_page_begin sets it
 * for signed-in people).
 */
#include "static.h"

#include <string.h>

static const char static_css[] =
    "/* kinerja-web: one style sheet for every page (web/static.c) */\n"
    ":root{--fg:#1b1f24;--muted:#57606a;--bg:#ffffff;--soft:#f4f6f8;--line:#d0d7de;"
    "--accent:#0b5cad;--accent-fg:#ffffff;--ok:#1a7f37;--ok-bg:#dafbe1;--err:#b3261e;"
    "--err-bg:#ffebe9;--warn:#7a4d00;--warn-bg:#fff4d6}\n"
    "*,*::before,*::after{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
    "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',"
    "'Liberation Sans',Arial,sans-serif;font-size:16px;line-height:1.5;color:var(--fg);"
    "background:var(--bg)}\n"
    "main{max-width:64rem;margin:0 auto;padding:1rem}\n"
    "h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}\n"
    "h2{font-size:1.2rem;margin:1.5rem 0 .5rem}\n"
    "h3{font-size:1.05rem;margin:1rem 0 .5rem}\n"
    "a{color:var(--accent)}\n"
    "a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,"
    "textarea:focus-visible{outline:3px solid #f0b429;outline-offset:2px}\n"
    "p,ul,ol,dl{margin:.5rem 0 1rem}\n"
    /* navigation */
    "header,nav{background:var(--soft);border-bottom:1px solid var(--line)}\n"
    "nav{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem .75rem;padding:.5rem 1rem}\n"
    "nav a{display:inline-block;padding:.5rem .25rem;text-decoration:none;font-weight:600}\n"
    "nav a:hover{text-decoration:underline}\n"
    "nav form{display:inline;margin:0 0 0 auto}\n"
    "nav button,#nav-logout{min-height:2.5rem}\n"
    "nav .brand{font-size:1.1rem;color:var(--fg)}\n"
    "nav .who{margin-left:auto;color:var(--muted);font-size:.875rem;font-family:ui-monospace,SFMono-Regular,"
    "Menlo,Consolas,monospace}\n"
    "nav .who+form{margin-left:.5rem}\n"
    ".subnav{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin:0 0 1rem;padding:0;list-style:none}\n"
    /* live notifications */
    "#live{margin:0 auto;max-width:64rem;padding:0 1rem}\n"
    "#live ul,ul#live{list-style:none;margin:.5rem 0;padding:0}\n"
    ".live-item{display:inline-block;margin:.25rem .5rem 0 0;padding:.25rem .75rem;border-radius:1rem;"
    "background:#ddf4ff;color:#0a3069;font-size:.875rem}\n"
    /* messages */
    ".notice,.error{padding:.75rem 1rem;border-radius:.375rem;border-left:.375rem solid}\n"
    ".notice{background:var(--ok-bg);border-color:var(--ok);color:#0f4d22}\n"
    ".error{background:var(--err-bg);border-color:var(--err);color:#82071e}\n"
    ".warning{display:inline-block;margin:.125rem .25rem .125rem 0;padding:.125rem .5rem;"
    "border-radius:.25rem;background:var(--warn-bg);color:var(--warn);font-size:.875rem}\n"
    ".muted{color:var(--muted)}\n"
    ".small{font-size:.875rem}\n"
    ".mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}\n"
    /* tables: scroll sideways inside their wrapper on a narrow phone */
    ".table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:0 0 1rem}\n"
    "table{border-collapse:collapse;width:100%;font-size:.95rem}\n"
    "caption{text-align:left;font-weight:600;padding:.25rem 0}\n"
    "th,td{padding:.5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}\n"
    "th{background:var(--soft);font-weight:600}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tbody tr:hover{background:#f8fafc}\n"
    /* table.stack: below 720 px each row is a card, each cell a labelled line (data-label) */
    "@media (max-width:719px){table.stack thead{position:absolute;left:-9999px}"
    "table.stack tr{display:block;border:1px solid var(--line);border-radius:.5rem;margin:0 0 .75rem;"
    "padding:.25rem .75rem}"
    "table.stack td{display:block;position:relative;border:0;padding:.3rem 0 .3rem 7.5rem;text-align:left;"
    "min-height:2rem}"
    "table.stack td::before{content:attr(data-label);position:absolute;left:0;top:.3rem;width:7rem;"
    "font-size:.875rem;font-weight:600;color:var(--muted)}"
    "table.stack td[colspan]{padding-left:0}table.stack td[colspan]::before{content:none}}\n"
    /* summary figures */
    "dl.facts{display:grid;grid-template-columns:fit-content(45%) minmax(0,1fr);gap:.25rem 1rem}\n"
    "dl.facts dt{font-weight:600;color:var(--muted)}\n"
    "dl.facts dd{margin:0}\n"
    ".big{font-size:1.75rem;font-weight:700;line-height:1.2}\n"
    ".pred-sangat_baik{color:#116329}.pred-baik{color:#0b5cad}.pred-butuh_perbaikan{color:#7a4d00}"
    ".pred-kurang,.pred-sangat_kurang{color:#b3261e}\n"
    /* cards and grid (also for the public site) */
    ".card{border:1px solid var(--line);border-radius:.5rem;padding:1rem;margin:0 0 "
    "1rem;background:var(--bg)}\n"
    ".grid{display:grid;grid-template-columns:1fr;gap:1rem}\n"
    "@media (min-width:720px){.grid{grid-template-columns:repeat(2,1fr)}"
    ".grid.three{grid-template-columns:repeat(3,1fr)}main{padding:1.5rem}}\n"
    /* forms */
    "form{margin:0 0 1rem}\n"
    "label{display:block;font-weight:600;margin:.75rem 0 .25rem}\n"
    "input[type=text],input[type=password],input[type=search],input:not([type]),select,textarea{"
    "display:block;width:100%;max-width:32rem;min-height:2.75rem;padding:.5rem .75rem;font:inherit;"
    "color:inherit;background:#fff;border:1px solid #8c959f;border-radius:.375rem}\n"
    "textarea{min-height:6rem;resize:vertical}\n"
    "button,.button{display:inline-block;min-height:2.75rem;padding:.5rem 1.25rem;margin:.5rem .5rem 0 0;"
    "font:inherit;font-weight:600;color:var(--accent-fg);background:var(--accent);border:1px solid "
    "var(--accent);border-radius:.375rem;cursor:pointer;text-decoration:none}\n"
    "button:hover,.button:hover{filter:brightness(1.1)}\n"
    "button.secondary,#return,button.uphold{color:var(--accent);background:#fff}\n"
    "button.danger{background:var(--err);border-color:var(--err)}\n"
    "fieldset{border:1px solid var(--line);border-radius:.5rem;margin:0 0 1rem;padding:.5rem 1rem 1rem}\n"
    "legend{font-weight:600;padding:0 .25rem}\n"
    "form.inline{display:inline}\n"
    "form.decide{border-top:1px solid var(--line);padding-top:.5rem}\n"
    /* survey answers: big touch targets in one row of four on a 360 px phone */
    ".big-choice{display:flex;flex-wrap:wrap;gap:.5rem;margin:.25rem 0 .75rem}\n"
    ".big-choice label{flex:1 1 4.5rem;display:flex;flex-direction:column;align-items:center;"
    "justify-content:center;min-height:3.5rem;margin:0;padding:.5rem .25rem;border:2px solid var(--line);"
    "border-radius:.5rem;font-weight:600;text-align:center;cursor:pointer}\n"
    ".big-choice input{width:1.25rem;height:1.25rem;margin:0 0 .25rem}\n"
    ".big-choice label:has(input:checked){border-color:var(--accent);background:#ddf4ff}\n"
    /* charts: inline SVG scales with its box */
    ".chart{display:block;width:100%;max-width:40rem;height:auto;margin:.5rem 0 1rem}\n"
    ".chart text{font-family:inherit;font-size:12px}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;font-size:.875rem}\n"
    /* history */
    "ol.history{padding-left:1.25rem}\n"
    "ol.history li{margin:0 0 .5rem}\n"
    "ol.history time{color:var(--muted);font-variant-numeric:tabular-nums;margin-right:.5rem}\n"
    "footer{max-width:64rem;margin:2rem auto 0;padding:1rem;color:var(--muted);font-size:.875rem;"
    "border-top:1px solid var(--line)}\n"
    "@media print{nav,#live,form{display:none}}\n";

/*
 * On a signed-in page (body[data-live="1"]): one EventSource on /api/v1/stream; each
 * `notification` event (data: one inbox notification as JSON, with "type" or "kind")
 * appends li.live-item with that type to the list in #live (#live itself when it is a
 * ul or ol, else a ul created inside it). On /atasan the queue table (table#queue) is
 * then fetched again from the same URL and replaced, at most once per second.
 */
static const char static_js[] =
    "/* kinerja-web: live notifications (web/static.c) */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var refreshing = false, again = false;\n"
    "  function liveList() {\n"
    "    var live = document.getElementById('live');\n"
    "    if (!live) return null;\n"
    "    if (live.tagName === 'UL' || live.tagName === 'OL') return live;\n"
    "    var list = live.querySelector('ul');\n"
    "    if (!list) { list = document.createElement('ul'); live.appendChild(list); }\n"
    "    return list;\n"
    "  }\n"
    "  function typeOf(data) {\n"
    "    try {\n"
    "      var n = JSON.parse(data);\n"
    "      if (n && typeof n.type === 'string') return n.type;\n"
    "      if (n && typeof n.kind === 'string') return n.kind;\n"
    "    } catch (e) { /* not JSON: shown as a plain notification */ }\n"
    "    return 'notification';\n"
    "  }\n"
    "  function refreshQueue() {\n"
    "    if (!document.getElementById('queue') || !window.fetch || !window.DOMParser) return;\n"
    "    if (refreshing) { again = true; return; }\n"
    "    refreshing = true;\n"
    "    fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })\n"
    "      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })\n"
    "      .then(function (text) {\n"
    "        var doc = new DOMParser().parseFromString(text, 'text/html');\n"
    "        var fresh = doc.getElementById('queue'), old = document.getElementById('queue');\n"
    "        if (fresh && old) old.parentNode.replaceChild(document.importNode(fresh, true), old);\n"
    "      })\n"
    "      .catch(function () { /* the next notification tries again */ })\n"
    "      .then(function () {\n"
    "        setTimeout(function () {\n"
    "          refreshing = false;\n"
    "          if (again) { again = false; refreshQueue(); }\n"
    "        }, 1000);\n"
    "      });\n"
    "  }\n"
    "  function onNotification(ev) {\n"
    "    var list = liveList();\n"
    "    if (list) {\n"
    "      var li = document.createElement('li');\n"
    "      li.className = 'live-item';\n"
    "      li.textContent = typeOf(ev.data);\n"
    "      list.appendChild(li);\n"
    "    }\n"
    "    if (window.location.pathname === '/atasan') refreshQueue();\n"
    "  }\n"
    "  function start() {\n"
    "    var body = document.body;\n"
    "    if (!body || body.getAttribute('data-live') !== '1' || !window.EventSource) return;\n"
    "    var es = new EventSource('/api/v1/stream');\n"
    "    es.addEventListener('notification', onNotification);\n"
    "  }\n"
    "  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);\n"
    "  else start();\n"
    "})();\n";

struct static_file {
    const char *name;
    const char *ctype;
    const char *body;
    size_t len;
};

static const struct static_file static_files[] = {
    {"app.css", "text/css; charset=utf-8", static_css, sizeof static_css - 1},
    {"app.js", "text/javascript; charset=utf-8", static_js, sizeof static_js - 1},
};

bool static_serve(struct web_req *rq, const char *name)
{
    for (size_t i = 0; i < sizeof static_files / sizeof static_files[0]; i++) {
        const struct static_file *f = &static_files[i];
        if (strcmp(name, f->name) != 0)
            continue;
        buf_reset(&rq->out);
        if (buf_append(&rq->out, f->body, f->len) < 0) {
            web_error(rq, 500, "berkas statis terlalu besar");
            return true;
        }
        rq->status = 200;
        rq->ctype = f->ctype;
        rq->cacheable = true;
        return true;
    }
    return false;
}
