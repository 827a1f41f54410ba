#include "png.h"

#include <stdlib.h>
#include <string.h>

#define PNG_STORED_MAX 65535u /* bytes in one stored deflate block */
#define PNG_ADLER_MOD 65521u
#define PNG_ADLER_NMAX 5552u /* bytes that can be summed before the 32-bit sums must be reduced */
#define PNG_ZLIB_CMF 0x78    /* deflate, 32 KB window */
#define PNG_ZLIB_FLG 0x01    /* no dictionary, fastest; (CMF*256 + FLG) % 31 == 0 */
#define PNG_BIT_DEPTH 1
#define PNG_COLOUR_GRAY 0

static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* CRC-32 four bits at a time: the table of the reflected polynomial for 0..15. */
static const uint32_t png_crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t png_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= s[i];
        crc = png_crc_nibble[crc & 0xf] ^ (crc >> 4);
        crc = png_crc_nibble[crc & 0xf] ^ (crc >> 4);
    }
    return ~crc;
}

uint32_t png_adler32(uint32_t adler, const void *p, size_t n)
{
    const unsigned char *s = p;
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (n > 0) {
        size_t k = n < PNG_ADLER_NMAX ? n : PNG_ADLER_NMAX;
        n -= k;
        while (k--) {
            a += *s++;
            b += a;
        }
        a %= PNG_ADLER_MOD;
        b %= PNG_ADLER_MOD;
    }
    return (b << 16) | a;
}

static void png_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* One chunk: length, type, data, CRC over type and data. */
static int png_chunk(struct buf *out, const char type[4], const unsigned char *data, size_t n)
{
    unsigned char head[8], tail[4];
    png_be32(head, (uint32_t)n);
    memcpy(head + 4, type, 4);
    uint32_t crc = png_crc32(0, type, 4);
    crc = png_crc32(crc, data, n);
    png_be32(tail, crc);
    if (buf_append(out, head, sizeof head) < 0 || buf_append(out, data, n) < 0 ||
        buf_append(out, tail, sizeof tail) < 0)
        return -1;
    return 0;
}

int png_encode_bw(struct buf *out, unsigned width, unsigned height, png_pixel_fn black, void *ctx)
{
    if (width == 0 || height == 0 || width > PNG_MAX_SIDE || height > PNG_MAX_SIDE)
        return -1;
    size_t stride = 1 + (width + 7) / 8; /* filter byte, then the packed pixels */
    size_t raw_len = stride * height;
    size_t blocks = (raw_len + PNG_STORED_MAX - 1) / PNG_STORED_MAX;
    size_t z_len = 2 + blocks * 5 + raw_len + 4;
    unsigned char *raw = malloc(raw_len);
    unsigned char *z = malloc(z_len);
    int rc = -1;
    if (!raw || !z)
        goto out;

    memset(raw, 0, raw_len);
    for (unsigned y = 0; y < height; y++) {
        unsigned char *row = raw + (size_t)y * stride + 1;
        for (unsigned x = 0; x < width; x++)
            if (!black(x, y, ctx))
                row[x / 8] |= (unsigned char)(0x80u >> (x % 8));
    }

    /* zlib: header, stored blocks (BFINAL on the last; LEN and ~LEN little-endian), Adler-32 */
    size_t o = 0;
    z[o++] = PNG_ZLIB_CMF;
    z[o++] = PNG_ZLIB_FLG;
    for (size_t done = 0; done < raw_len;) {
        size_t k = raw_len - done < PNG_STORED_MAX ? raw_len - done : PNG_STORED_MAX;
        z[o++] = done + k == raw_len ? 1 : 0;
        z[o++] = (unsigned char)(k & 0xff);
        z[o++] = (unsigned char)(k >> 8);
        z[o++] = (unsigned char)(~k & 0xff);
        z[o++] = (unsigned char)((~k >> 8) & 0xff);
        memcpy(z + o, raw + done, k);
        o += k;
        done += k;
    }
    png_be32(z + o, png_adler32(1, raw, raw_len));
    o += 4;

    unsigned char ihdr[13];
    png_be32(ihdr, width);
    png_be32(ihdr + 4, height);
    ihdr[8] = PNG_BIT_DEPTH;
    ihdr[9] = PNG_COLOUR_GRAY;
    ihdr[10] = 0; /* compression: deflate */
    ihdr[11] = 0; /* filter method 0 */
    ihdr[12] = 0; /* no interlace */
    if (buf_append(out, png_signature, sizeof png_signature) < 0 ||
        png_chunk(out, "IHDR", ihdr, sizeof ihdr) < 0 || png_chunk(out, "IDAT", z, o) < 0 ||
        png_chunk(out, "IEND", NULL, 0) < 0)
        goto out;
    rc = 0;
out:
    free(raw);
    free(z);
    return rc;
}
