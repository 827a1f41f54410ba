/*
 * event_json: conversion between JSON and msgpack for events.
 *  - msgpack -> JSON: the ingest worker stores each event's payload as jsonb.
 *  - JSON -> msgpack: `kinerja send` reads JSON Lines and sends msgpack.
 * JSON integers become msgpack integers, JSON reals become float64, so the broker's
 * "integers are integers" rule sees what the client wrote.
 */
#ifndef KINERJA_EVENT_JSON_H
#define KINERJA_EVENT_JSON_H

#include "buf.h"

#include <msgpack.h>
#include <stddef.h>

/* Appends o as JSON text to out. Map keys must be strings; bin and ext objects are
 * written as null... (events never carry them: the decoder rejects them). Floats that
 * are not finite are written as null. Returns 0, or -1 when out's bound is reached. */
int event_json_from_msgpack(const msgpack_object *o, struct buf *out);

/* Parses one JSON text (one line of JSON Lines) and packs it into pk. Returns 0, or
 * -1 with "line is not valid JSON: <jansson's reason> at column N" in err. */
int event_json_to_msgpack(const char *json, size_t len, msgpack_packer *pk, char *err, size_t errlen);

#endif
