/*
 * png: a minimal PNG encoder for black-and-white images (the QR codes of web/qr.c), so
 * kinerja-web needs no libpng. The image is 1-bit grayscale (colour type 0, bit depth 1,
 * 0 = black, 1 = white), every row with filter type 0, the zlib stream made of stored
 * (uncompressed) deflate blocks with its Adler-32, every chunk with its CRC-32
 * (ISO 3309, as PNG specifies). A QR code of version 10 at 8 px a module is about
 * 60 KB, so compression would buy little.
 */
#ifndef KINERJA_PNG_H
#define KINERJA_PNG_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define PNG_MAX_SIDE 4096 /* largest width or height encoded */

/* Whether pixel (x, y) is black; ctx is the caller's. */
typedef int (*png_pixel_fn)(unsigned x, unsigned y, void *ctx);

/* Appends a complete PNG of width x height pixels to out, asking black() for each
 * pixel. Returns 0, or -1 when a side is 0 or above PNG_MAX_SIDE, or out is full. */
int png_encode_bw(struct buf *out, unsigned width, unsigned height, png_pixel_fn black, void *ctx);

/* CRC-32 (the PNG/zlib polynomial 0xEDB88320) of p[0..n), continuing crc (start with 0). */
uint32_t png_crc32(uint32_t crc, const void *p, size_t n);
/* Adler-32 of p[0..n), continuing adler (start with 1). */
uint32_t png_adler32(uint32_t adler, const void *p, size_t n);

#endif
