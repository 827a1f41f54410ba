/*
 * qr: the QR code a service counter prints so citizens open the SKM survey on their
 * phone (SPEC 12, /qr/UNIT.png). The text is encoded with libqrencode (byte mode, error
 * correction level M: readable with up to ~15% of the code smudged or covered) and
 * drawn here, as PNG (web/png.c) or as SVG, with the quiet zone of four white modules
 * the standard asks for around it. Called by web/public.c.
 */
#ifndef KINERJA_QR_H
#define KINERJA_QR_H

#include "buf.h"

#include <stddef.h>

#define QR_QUIET_MODULES 4 /* white border, in modules (ISO/IEC 18004) */
#define QR_SCALE_PX 8      /* pixels per module in the PNG */
#define QR_TEXT_MAX 1024   /* longest text encoded (a survey URL is far shorter) */

/* Appends the PNG of text's QR code to out. Returns 0, or -1 with the reason in err. */
int qr_png(const char *text, struct buf *out, char *err, size_t errlen);
/* The same code as an SVG document (one path, viewBox in modules, quiet zone included). */
int qr_svg(const char *text, struct buf *out, char *err, size_t errlen);

#endif
