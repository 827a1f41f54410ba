/*
 * csvread: a pure RFC 4180 reader over a FILE (no I/O besides reading it, no
 * allocation): fields separated by commas, optionally double-quoted ("" for a quote;
 * commas and line breaks inside quotes), CRLF or LF line ends, a leading UTF-8 BOM
 * skipped, blank lines skipped; bounded records with errors that name the line. Used by
 * the organisation import (common/pgstore_org.c) for the org and evaluators files.
 */
#ifndef KINERJA_CSVREAD_H
#define KINERJA_CSVREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CSV_RECORD_MAX 4096 /* bytes in one CSV record */
#define CSV_FIELDS_MAX 16   /* fields in one record before we give up on it */

struct csv_reader {
    FILE *f;
    long line;     /* current physical line, 1-based */
    bool at_start; /* nothing read yet (a UTF-8 BOM may follow) */
};

struct csv_record {
    long line; /* physical line where the record starts */
    char data[CSV_RECORD_MAX + CSV_FIELDS_MAX];
    size_t len;
    const char *field[CSV_FIELDS_MAX];
    size_t nfields;
};

/* Reads one record: 1 with it in rec (fields NUL-terminated in rec->data), 0 at the end
 * of the file, -1 with the reason in err ("line N: ..."). Start r as
 * {.f = f, .line = 1, .at_start = true}. */
int csv_read_record(struct csv_reader *r, struct csv_record *rec, char *err, size_t errlen);

/* Strips ASCII spaces and tabs around a field, in place; returns its new start. */
const char *csv_trim(const char *s);

#endif
