/*
 * pgcopy: rows in PostgreSQL's binary COPY format, appended to a struct buf.
 *
 * The text format costs the server a scan of every byte for delimiters and escapes
 * (and the writer an escape pass); in the binary format each field is its length and
 * its bytes. For the score versions (~6 kB of JSON each) the server's COPY took 4.3 s
 * in binary against 5.9 s as text for the same 100 000 rows (docs/PERFORMANCE.md).
 *
 * A stream is pgcopy_header, then for each row pgcopy_row(nfields) and exactly nfields
 * fields, then pgcopy_trailer. Every function returns 0, or -1 when the buffer's bound
 * would be passed (the buffer is then as it was before that field) or, for
 * pgcopy_numeric, when the text is not a plain decimal.
 */
#ifndef KINERJA_PGCOPY_H
#define KINERJA_PGCOPY_H

#include <stddef.h>

#include "buf.h"

int pgcopy_header(struct buf *b);
int pgcopy_trailer(struct buf *b);
int pgcopy_row(struct buf *b, int nfields);
int pgcopy_null(struct buf *b);
/* text, varchar, json: the bytes as they are (valid UTF-8 without NUL, which the
 * server checks) */
int pgcopy_text(struct buf *b, const char *s, size_t n);
/* jsonb: its format version (1), then the JSON text */
int pgcopy_jsonb(struct buf *b, const char *s, size_t n);
int pgcopy_int4(struct buf *b, int v);
/* numeric from its decimal text: an optional '-', digits, optionally '.' and digits
 * ("69.93", "-0.50", "100"). The column's typmod rounds or refuses it as the text
 * format would. */
int pgcopy_numeric(struct buf *b, const char *text);

#endif
