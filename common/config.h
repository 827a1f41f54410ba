/*
 * config: the one declarative table of settings (config.c `settings[]`): name, type,
 * default, bounds, help. The same table parses the INI file (libinih), applies the
 * KINERJA_SECTION_KEY environment overrides, validates, and prints the effective
 * settings and the reference config. No setting is read from anywhere else.
 *
 * Precedence: default < file < environment. The file is `-c FILE`, else
 * $KINERJA_CONFIG, else config/kinerja.conf; a missing default file is not an error
 * (defaults apply; one line on stderr says which path was looked for and how to name a
 * file, and config_print says so too), a missing file that was named is. A file's error
 * names the file and the line ("kinerja.conf:12: intake.max_batch: must be an integer").
 *
 * Open sections (e.g. [training], the course catalog) take any key; their pairs are
 * read with config_section_next().
 */
#ifndef KINERJA_CONFIG_H
#define KINERJA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum setting_type { SETTING_STRING, SETTING_INT, SETTING_DOUBLE, SETTING_BOOL, SETTING_ENUM };

struct setting_def {
    const char *name; /* "section.key" */
    enum setting_type type;
    const char *def;     /* default, as text */
    double min, max;     /* bounds for INT and DOUBLE */
    const char *choices; /* ENUM: "a|b|c" */
    bool secret;         /* masked when listed */
    const char *help;    /* one line */
};

struct config;

struct config *config_new(void);
void config_destroy(struct config **c);

/* Resolves the path (see above), loads it and the environment, validates.
 * path may be NULL. Returns 0, or -1 with the reason in err. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
/* The path config_load used (or would use). */
const char *config_path(const struct config *c);

/* Sets one value by name, validating it. Returns 0 or -1 with the reason. */
int config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen);

/* Accessors. Names must be in the table; an unknown name is a programming error and
 * aborts with a message (it cannot be caused by input). */
const char *config_str(const struct config *c, const char *name);
long long config_int(const struct config *c, const char *name);
double config_double(const struct config *c, const char *name);
bool config_bool(const struct config *c, const char *name);

/* Open sections: iterate pairs of `section`; *iter starts at 0. Returns 0 and sets
 * key/value, or -1 at the end. */
int config_section_next(const struct config *c, const char *section, size_t *iter, const char **key,
                        const char **value);

/* Prints every effective setting as `name = value` (secrets masked unless reveal),
 * or, with reference, the commented reference config file. */
void config_print(FILE *out, const struct config *c, bool reveal_secrets);
void config_print_reference(FILE *out);
/* Prints one setting's value; -1 if the name is unknown. */
int config_print_one(FILE *out, const struct config *c, const char *name);

/* The environment variable name for a setting: "notify.webhook_url" ->
 * "KINERJA_NOTIFY_WEBHOOK_URL". */
void config_env_name(const char *name, char *out, size_t outlen);

const struct setting_def *config_settings(size_t *count);

#endif
