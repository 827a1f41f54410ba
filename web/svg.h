/*
 * svg: the charts of the public site (web/public.c) as inline SVG built on the server,
 * so a page needs no script and no external library to show them. Every chart is
 * <svg class="chart" role="img"> with a <title> (read by screen readers) and a viewBox,
 * so it scales to the width of the screen (360 px phones included); the page shows the
 * same numbers in a table beside it. Labels and titles go through web_h.
 */
#ifndef KINERJA_SVG_H
#define KINERJA_SVG_H

#include "buf.h"

#include <stdbool.h>

#define SVG_LABEL_MAX 64 /* bytes of one label or value text */

/* One bar: its label, its value (>= 0) and the text shown after the bar. */
struct svg_bar {
    const char *label;
    double value;
    char text[SVG_LABEL_MAX];
};

/* A horizontal bar chart, one row per bar, bars scaled to max (the largest value when
 * max <= 0). Returns 0 or -1 when b is full. */
int svg_bar_chart(struct buf *b, const char *title, const struct svg_bar *bars, int n, double max);

/* One point of a line chart: its label on the x axis, and its value when has is true
 * (a period without data leaves a gap in the line). */
struct svg_point {
    const char *label;
    bool has;
    double value;
};

/* A line chart of the points over the y range lo..hi, with grid lines at the values of
 * marks (nmarks of them, e.g. the mutu band limits) labelled by their number; with no
 * point that has data, the axes and "Belum ada data". */
int svg_line_chart(struct buf *b, const char *title, const struct svg_point *pts, int n, double lo, double hi,
                   const double *marks, int nmarks);

#endif
