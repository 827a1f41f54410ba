/*
 * embedded: files compiled into the binaries by cmake/embed.cmake, so an installed
 * binary needs nothing from the source tree. Used by pgstore (migrations) and the
 * broker (Redis function library).
 */
#ifndef KINERJA_EMBEDDED_H
#define KINERJA_EMBEDDED_H

struct embedded_file {
    const char *name; /* file name, e.g. "0001_intake.sql"; sorted by name */
    const char *text; /* NUL-terminated contents */
};

extern const struct embedded_file embedded_migrations[]; /* ends with {NULL, NULL} */
extern const int embedded_migration_count;
/* schemas/functions/NAME.sql: one current definition per function, applied after the
 * migrations by every migrate (schemas/functions/README.md); ends with {NULL, NULL}. */
extern const struct embedded_file embedded_functions[];
extern const char *const embedded_redis_library; /* schemas/redis/kinerja.lua */

#endif
