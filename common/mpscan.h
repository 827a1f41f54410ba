/*
 * mpscan: checks a msgpack frame before msgpack-c allocates anything for it.
 *
 * msgpack-c's unpacker allocates from a container's declared element count (a 5-byte
 * `dd ff ff ff ff` asks for ~96 GB of msgpack_object) and its nesting limit is fixed,
 * so untrusted frames are walked here first, reading headers only: every declared
 * count must fit in the bytes left (each element needs at least one byte), the nesting
 * must stay within max_depth, every str/bin/ext length must fit, and the frame must be
 * exactly one object with nothing after it. A frame that passes can be unpacked with
 * memory bounded by a small multiple of its size.
 *
 * Called by the broker on every request frame and by the worker on stream entries.
 */
#ifndef KINERJA_MPSCAN_H
#define KINERJA_MPSCAN_H

#include <stddef.h>

struct mpscan_info {
    int top_is_array; /* 1: top level is an array (a batch), 0: anything else */
    size_t top_count; /* elements of a top-level array or map */
    size_t objects;   /* objects in the frame, containers included */
};

/* Returns 0 when buf[0..len) is one well-formed msgpack object within the limits,
 * filling info (may be NULL). Otherwise -1 and a reason in err, e.g.
 * "frame: array declares 4294967295 elements but 3 bytes remain",
 * "frame: nested deeper than 6", "frame: truncated", "frame: 2 bytes after the object",
 * "frame: reserved byte 0xc1". */
int mpscan_check(const void *buf, size_t len, size_t max_depth, struct mpscan_info *info, char *err,
                 size_t errlen);

#endif
