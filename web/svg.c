#include "svg.h"

#include "web.h"

#include <stdio.h>

/* Geometry in viewBox units; the chart is drawn 320 wide and scaled by CSS. */
#define SVG_WIDTH 320
#define SVG_BAR_ROW 36    /* height of one bar row: its label, then the bar */
#define SVG_BAR_HEIGHT 14 /* the bar itself */
#define SVG_BAR_TEXT_W 56 /* room for the value right of the bar */
#define SVG_PAD 8
#define SVG_LINE_HEIGHT 180
#define SVG_LINE_LEFT 36   /* room for the y labels */
#define SVG_LINE_BOTTOM 34 /* room for the x labels */
#define SVG_LINE_TOP 10
#define SVG_LINE_RIGHT 22 /* room for half the last x label */
#define SVG_FONT 11
#define SVG_BAR_FILL "#2a6f97"
#define SVG_LINE_STROKE "#2a6f97"
#define SVG_GRID_STROKE "#c8c8c8"
#define SVG_TEXT_FILL "#222"
#define SVG_NO_DATA "Belum ada data"

static int svg_open(struct buf *b, const char *title, int height)
{
    int rc = buf_printf(b,
                        "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" "
                        "viewBox=\"0 0 %d %d\" font-size=\"%d\" font-family=\"sans-serif\"><title>",
                        SVG_WIDTH, height, SVG_FONT);
    rc |= web_h(b, title);
    rc |= buf_puts(b, "</title>");
    return rc < 0 ? -1 : 0;
}

int svg_bar_chart(struct buf *b, const char *title, const struct svg_bar *bars, int n, double max)
{
    if (max <= 0)
        for (int i = 0; i < n; i++)
            if (bars[i].value > max)
                max = bars[i].value;
    int height = 2 * SVG_PAD + (n > 0 ? n : 1) * SVG_BAR_ROW;
    int rc = svg_open(b, title, height);
    double room = SVG_WIDTH - SVG_BAR_TEXT_W - 2 * SVG_PAD;
    /* each row: the label on its own line (long element names fit a phone), the bar
     * under it, the value right of the bar */
    for (int i = 0; i < n && rc == 0; i++) {
        double v = bars[i].value > 0 ? bars[i].value : 0;
        double w = max > 0 ? room * (v > max ? 1.0 : v / max) : 0;
        int y = SVG_PAD + i * SVG_BAR_ROW;
        int bar_y = y + SVG_FONT + 4;
        rc |= buf_printf(b, "<text x=\"%d\" y=\"%d\" fill=\"%s\">", SVG_PAD, y + SVG_FONT, SVG_TEXT_FILL);
        rc |= web_h(b, bars[i].label);
        rc |= buf_printf(b,
                         "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                         "<text x=\"%.1f\" y=\"%d\" fill=\"%s\">",
                         SVG_PAD, bar_y, w, SVG_BAR_HEIGHT, SVG_BAR_FILL, SVG_PAD + w + 4,
                         bar_y + SVG_BAR_HEIGHT - 3, SVG_TEXT_FILL);
        rc |= web_h(b, bars[i].text);
        rc |= buf_puts(b, "</text>");
    }
    rc |= buf_puts(b, "</svg>");
    return rc < 0 ? -1 : 0;
}

int svg_line_chart(struct buf *b, const char *title, const struct svg_point *pts, int n, double lo, double hi,
                   const double *marks, int nmarks)
{
    int rc = svg_open(b, title, SVG_LINE_HEIGHT);
    double x0 = SVG_LINE_LEFT, x1 = SVG_WIDTH - SVG_LINE_RIGHT;
    double y0 = SVG_LINE_HEIGHT - SVG_LINE_BOTTOM, y1 = SVG_LINE_TOP;
    double span = hi > lo ? hi - lo : 1;
#define SVG_Y(v) (y0 - ((v) < lo ? 0 : (v) > hi ? span : (v)-lo) / span * (y0 - y1))
#define SVG_X(i) (n > 1 ? x0 + (x1 - x0) * (i) / (n - 1) : (x0 + x1) / 2)
    rc |= buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", x0, y0, x1,
                     y0, SVG_GRID_STROKE);
    for (int k = 0; k < nmarks && rc == 0; k++) {
        double y = SVG_Y(marks[k]);
        rc |= buf_printf(b,
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                         "stroke-dasharray=\"3 3\"/><text x=\"2\" y=\"%.1f\" fill=\"%s\">%.2f</text>",
                         x0, y, x1, y, SVG_GRID_STROKE, y + SVG_FONT / 3.0, SVG_TEXT_FILL, marks[k]);
    }
    bool any = false;
    for (int i = 0; i < n; i++)
        any |= pts[i].has;
    if (!any)
        rc |= buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"middle\">%s</text>",
                         (x0 + x1) / 2, (y0 + y1) / 2, SVG_TEXT_FILL, SVG_NO_DATA);
    /* the line, broken where a period has no data */
    bool open = false;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!pts[i].has) {
            if (open)
                rc |= buf_puts(b, "\" fill=\"none\" stroke=\"" SVG_LINE_STROKE "\" stroke-width=\"2\"/>");
            open = false;
            continue;
        }
        rc |= buf_printf(b, "%s%.1f %.1f", open ? " L" : "<path d=\"M", SVG_X(i), SVG_Y(pts[i].value));
        open = true;
    }
    if (open)
        rc |= buf_puts(b, "\" fill=\"none\" stroke=\"" SVG_LINE_STROKE "\" stroke-width=\"2\"/>");
    /* points with their values, and the x labels (every one when few, else every other) */
    int step = n > 6 ? 2 : 1;
    for (int i = 0; i < n && rc == 0; i++) {
        if (pts[i].has)
            rc |= buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", SVG_X(i),
                             SVG_Y(pts[i].value), SVG_LINE_STROKE);
        if (pts[i].has) {
            rc |= web_h(b, pts[i].label);
            rc |= buf_printf(b, ": %.2f</title></circle>", pts[i].value);
        }
        if ((n - 1 - i) % step == 0) {
            rc |= buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"middle\">", SVG_X(i),
                             y0 + SVG_FONT + 6, SVG_TEXT_FILL);
            rc |= web_h(b, pts[i].label);
            rc |= buf_puts(b, "</text>");
        }
    }
#undef SVG_X
#undef SVG_Y
    rc |= buf_puts(b, "</svg>");
    return rc < 0 ? -1 : 0;
}
