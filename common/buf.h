/*
 * buf: a growable byte buffer with a hard upper bound, for building COPY data, JSON,
 * msgpack frames and log lines. Every append checks the bound; a buffer that would
 * grow past `max` fails (returns -1) and stays as it was, so no caller can be made to
 * allocate without limit by its input.
 */
#ifndef KINERJA_BUF_H
#define KINERJA_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* always NUL-terminated when len > 0 or after buf_init */
    size_t len;
    size_t cap;
    size_t max; /* hard bound on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, memory kept */
/* Back to len (<= b->len: a mark taken before appends), NUL kept after it; memory kept. */
void buf_truncate(struct buf *b, size_t len);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends s[0..n) as the inside of a JSON string (quotes not included). */
int buf_json_escape(struct buf *b, const char *s, size_t n);
/* Appends s[0..n) as one field of PostgreSQL's COPY text format: backslash, tab,
 * newline and carriage return escaped (NULL is the caller's \N). */
int buf_copy_escape(struct buf *b, const char *s, size_t n);

#endif
