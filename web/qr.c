#include "qr.h"

#include "png.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#define QR_AUTO_VERSION 0 /* the smallest version that holds the text */
#define QR_CASE_SENSITIVE 1

static QRcode *qr_encode(const char *text, char *err, size_t errlen)
{
    size_t n = strlen(text);
    if (n == 0 || n > QR_TEXT_MAX) {
        snprintf(err, errlen, "qr: text must be 1..%d bytes, got %zu", QR_TEXT_MAX, n);
        return NULL;
    }
    errno = 0;
    QRcode *q = QRcode_encodeString(text, QR_AUTO_VERSION, QR_ECLEVEL_M, QR_MODE_8, QR_CASE_SENSITIVE);
    if (!q)
        snprintf(err, errlen, "qr: encoding failed: %s", errno ? strerror(errno) : "unknown error");
    return q;
}

/* A module of q with the quiet zone around it: (mx, my) in 0..width+2*quiet. */
static int qr_dark(const QRcode *q, unsigned mx, unsigned my)
{
    unsigned w = (unsigned)q->width;
    if (mx < QR_QUIET_MODULES || my < QR_QUIET_MODULES)
        return 0;
    mx -= QR_QUIET_MODULES;
    my -= QR_QUIET_MODULES;
    if (mx >= w || my >= w)
        return 0;
    return q->data[(size_t)my * w + mx] & 1; /* bit 0: dark module */
}

static int qr_pixel(unsigned x, unsigned y, void *ctx)
{
    return qr_dark(ctx, x / QR_SCALE_PX, y / QR_SCALE_PX);
}

int qr_png(const char *text, struct buf *out, char *err, size_t errlen)
{
    QRcode *q = qr_encode(text, err, errlen);
    if (!q)
        return -1;
    unsigned side = ((unsigned)q->width + 2 * QR_QUIET_MODULES) * QR_SCALE_PX;
    int rc = png_encode_bw(out, side, side, qr_pixel, q);
    if (rc < 0)
        snprintf(err, errlen, "qr: PNG of %ux%u px does not fit", side, side);
    QRcode_free(q);
    return rc;
}

int qr_svg(const char *text, struct buf *out, char *err, size_t errlen)
{
    QRcode *q = qr_encode(text, err, errlen);
    if (!q)
        return -1;
    unsigned side = (unsigned)q->width + 2 * QR_QUIET_MODULES;
    int rc = buf_printf(out,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %u %u\" width=\"%u\" "
                        "height=\"%u\" shape-rendering=\"crispEdges\">"
                        "<rect width=\"%u\" height=\"%u\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                        side, side, side * QR_SCALE_PX, side * QR_SCALE_PX, side, side);
    for (unsigned y = 0; y < side && rc == 0; y++)
        for (unsigned x = 0; x < side && rc == 0; x++)
            if (qr_dark(q, x, y))
                rc = buf_printf(out, "M%u %uh1v1h-1z", x, y);
    if (rc == 0)
        rc = buf_puts(out, "\"/></svg>\n");
    if (rc < 0)
        snprintf(err, errlen, "qr: SVG does not fit the response");
    QRcode_free(q);
    return rc < 0 ? -1 : 0;
}
