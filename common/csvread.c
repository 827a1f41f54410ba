/*
 * csvread: see csvread.h.
 */
#include "csvread.h"

#include <string.h>

/*
 * Reads one RFC 4180 record: fields separated by commas, optionally double-quoted
 * (a quote inside written as ""; commas and line breaks allowed inside quotes), CRLF
 * or LF line ends. Blank lines are skipped. Returns 1 with a record, 0 at the end of
 * the file, -1 with the reason in err ("line N: ...").
 */
int csv_read_record(struct csv_reader *r, struct csv_record *rec, char *err, size_t errlen)
{
    int c;
    for (;;) {
        c = getc(r->f);
        if (r->at_start) {
            r->at_start = false;
            if (c == 0xEF) { /* UTF-8 byte order mark */
                if (getc(r->f) != 0xBB || getc(r->f) != 0xBF) {
                    snprintf(err, errlen, "line 1: not valid UTF-8 at the start of the file");
                    return -1;
                }
                c = getc(r->f);
            }
        }
        if (c == EOF)
            return 0;
        if (c == '\n') {
            r->line++;
            continue;
        }
        if (c == '\r') {
            int d = getc(r->f);
            if (d == '\n') {
                r->line++;
                continue;
            }
            if (d != EOF)
                ungetc(d, r->f);
            snprintf(err, errlen, "line %ld: carriage return outside a quoted field", r->line);
            return -1;
        }
        break;
    }

    rec->line = r->line;
    rec->len = 0;
    rec->nfields = 0;
    size_t field_start = 0;
    bool in_quotes = false, quoted = false, closed = false;
    for (;; c = getc(r->f)) {
        if (in_quotes) {
            if (c == EOF) {
                snprintf(err, errlen, "line %ld: quoted field not closed before the end of the file",
                         rec->line);
                return -1;
            }
            if (c == '"') {
                int d = getc(r->f);
                if (d != '"') {
                    if (d != EOF)
                        ungetc(d, r->f);
                    in_quotes = false;
                    closed = true;
                    continue;
                }
            } else if (c == '\n') {
                r->line++;
            }
        } else if (c == ',' || c == '\n' || c == EOF || c == '\r') {
            if (c == '\r') {
                int d = getc(r->f);
                if (d != '\n' && d != EOF) {
                    snprintf(err, errlen, "line %ld: carriage return outside a quoted field", r->line);
                    return -1;
                }
                c = '\n';
            }
            if (rec->nfields == CSV_FIELDS_MAX) {
                snprintf(err, errlen, "line %ld: more than %d fields", rec->line, CSV_FIELDS_MAX);
                return -1;
            }
            rec->data[rec->len++] = '\0'; /* room reserved: one NUL per field */
            rec->field[rec->nfields++] = rec->data + field_start;
            field_start = rec->len;
            quoted = closed = false;
            if (c == ',')
                continue;
            if (c == '\n')
                r->line++;
            return 1;
        } else if (c == '"') {
            if (quoted || rec->len != field_start) {
                snprintf(err, errlen, "line %ld: field %zu: quote inside an unquoted field", r->line,
                         rec->nfields + 1);
                return -1;
            }
            in_quotes = quoted = true;
            continue;
        } else if (closed) {
            snprintf(err, errlen, "line %ld: field %zu: text after the closing quote", r->line,
                     rec->nfields + 1);
            return -1;
        }
        if (rec->len >= CSV_RECORD_MAX) {
            snprintf(err, errlen, "line %ld: record longer than %d bytes", rec->line, CSV_RECORD_MAX);
            return -1;
        }
        rec->data[rec->len++] = (char)c;
    }
}

/* Strips ASCII spaces and tabs around a field, in place. */
const char *csv_trim(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = (char *)s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}
