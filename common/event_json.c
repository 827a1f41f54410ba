#include "event_json.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than any event (the frame scan allows at most 32); guards the recursion. */
#define EVENT_JSON_MAX_DEPTH 64
#define EVENT_JSON_NUM_MAX 40

/* UTF-8 of U+FFFD, written in place of bytes that are not UTF-8 (and of NUL, which
 * jsonb cannot hold), so the output is always valid JSON that PostgreSQL accepts. */
static const char replacement_char[] = "\xef\xbf\xbd";

/* Length of the well-formed UTF-8 sequence at s[0..n), 0 when it is not one (overlong,
 * surrogate, above U+10FFFF, cut short). Same rules as event_valid_utf8. */
static size_t json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* A JSON string literal (RFC 8259 section 7), quotes included. */
static int json_put_string(struct buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0, i = 0;
    if (buf_putc(out, '"') < 0)
        return -1;
    while (i < n) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t l = json_utf8_len(u + i, n - i);
        if (l > 1) {
            i += l;
            continue;
        }
        if (l == 0 || c == 0) {
            esc = replacement_char;
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        }
        if (esc) {
            if (buf_append(out, s + start, i - start) < 0 || buf_puts(out, esc) < 0)
                return -1;
            start = i + 1;
        }
        i++;
    }
    if (buf_append(out, s + start, n - start) < 0)
        return -1;
    return buf_putc(out, '"');
}

/*
 * A float as a JSON number that reads back as the same double: the shortest of %.15g,
 * %.16g, %.17g that round-trips, with ".0" added when it would look like an integer,
 * so converting back gives a float again. Not finite: null (JSON has no NaN).
 */
static int json_put_double(struct buf *out, double v)
{
    char num[EVENT_JSON_NUM_MAX];
    if (!isfinite(v))
        return buf_puts(out, "null");
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(num, sizeof num, "%.*g", prec, v);
        if (strtod(num, NULL) == v)
            break;
    }
    if (!strpbrk(num, ".eE"))
        return buf_printf(out, "%s.0", num);
    return buf_puts(out, num);
}

static int json_put(const msgpack_object *o, struct buf *out, int depth)
{
    if (depth > EVENT_JSON_MAX_DEPTH)
        return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return buf_puts(out, "null");
    case MSGPACK_OBJECT_BOOLEAN:
        return buf_puts(out, o->via.boolean ? "true" : "false");
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return buf_printf(out, "%llu", (unsigned long long)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return buf_printf(out, "%lld", (long long)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_put_double(out, o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_put_string(out, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY:
        if (buf_putc(out, '[') < 0)
            return -1;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if ((i && buf_putc(out, ',') < 0) || json_put(&o->via.array.ptr[i], out, depth + 1) < 0)
                return -1;
        }
        return buf_putc(out, ']');
    case MSGPACK_OBJECT_MAP:
        if (buf_putc(out, '{') < 0)
            return -1;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return -1; /* JSON object keys are strings; events never have others */
            if ((i && buf_putc(out, ',') < 0) ||
                json_put_string(out, kv->key.via.str.ptr, kv->key.via.str.size) < 0 ||
                buf_putc(out, ':') < 0 || json_put(&kv->val, out, depth + 1) < 0)
                return -1;
        }
        return buf_putc(out, '}');
    case MSGPACK_OBJECT_BIN:
    case MSGPACK_OBJECT_EXT:
        return buf_puts(out, "null");
    }
    return -1;
}

/* Appends o as JSON. Besides a full buffer, -1 also means a map with a non-string key
 * or nesting deeper than EVENT_JSON_MAX_DEPTH; out may then hold a partial text. */
int event_json_from_msgpack(const msgpack_object *o, struct buf *out)
{
    return json_put(o, out, 0);
}

static int pack_json(const json_t *j, msgpack_packer *pk)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        if (msgpack_pack_map(pk, json_object_size(j)) < 0)
            return -1;
        json_object_foreach((json_t *)j, key, val)
        {
            size_t klen = strlen(key);
            if (msgpack_pack_str(pk, klen) < 0 || msgpack_pack_str_body(pk, key, klen) < 0 ||
                pack_json(val, pk) < 0)
                return -1;
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        if (msgpack_pack_array(pk, n) < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (pack_json(json_array_get(j, i), pk) < 0)
                return -1;
        return 0;
    }
    case JSON_STRING: {
        size_t n = json_string_length(j);
        if (msgpack_pack_str(pk, n) < 0 || msgpack_pack_str_body(pk, json_string_value(j), n) < 0)
            return -1;
        return 0;
    }
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, (int64_t)json_integer_value(j));
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(j));
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    case JSON_NULL:
        return msgpack_pack_nil(pk);
    }
    return -1;
}

/*
 * jansson keeps integers and reals apart (JSON_DECODE_INT_AS_REAL is not set), so "3"
 * packs as an integer and "3.0" as a float64, as the client wrote them. Duplicate keys
 * are refused here (JSON_REJECT_DUPLICATES) since msgpack would carry both and the
 * broker would reject the event anyway, with a less helpful message. Any JSON value is
 * accepted at the top (JSON_DECODE_ANY): what an event must look like is the broker's
 * rule, not the converter's. NUL inside strings ("\u0000") is refused by jansson.
 */
int event_json_to_msgpack(const char *json, size_t len, msgpack_packer *pk, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        if (err && errlen)
            snprintf(err, errlen, "line is not valid JSON: %s at column %d", jerr.text, jerr.column);
        return -1;
    }
    int rc = pack_json(root, pk);
    json_decref(root);
    if (rc < 0 && err && errlen)
        snprintf(err, errlen, "cannot pack the event as msgpack");
    return rc < 0 ? -1 : 0;
}
