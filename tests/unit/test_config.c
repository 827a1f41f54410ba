/*
 * config: the settings table. Defaults, the INI file, KINERJA_SECTION_KEY overrides
 * (default < file < environment), bad values refused with the setting's name, unknown
 * settings refused (a typo must not pass silently), and the open [training] section.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char tmpdir[] = "/tmp/kinerja-test-config-XXXXXX";
static char oldcwd[4096];
static char err[1024];
static struct config *cfg;

/* No KINERJA_* variable from the caller's environment may leak into a test. */
static void clear_env(void)
{
    size_t n;
    const struct setting_def *defs = config_settings(&n);
    for (size_t i = 0; i < n; i++) {
        char env[256];
        config_env_name(defs[i].name, env, sizeof env);
        unsetenv(env);
    }
    unsetenv("KINERJA_CONFIG");
}

static int group_setup(void **state)
{
    (void)state;
    if (!getcwd(oldcwd, sizeof oldcwd) || !mkdtemp(tmpdir) || chdir(tmpdir) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink("test.conf");
    unlink("other.conf");
    unlink("ref.conf");
    if (chdir(oldcwd) != 0)
        return -1;
    rmdir(tmpdir);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    cfg = config_new();
    memset(err, 0, sizeof err);
    return cfg ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    config_destroy(&cfg);
    clear_env();
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* Loads `text` as the config file; returns config_load's result. */
static int load_text(const char *text)
{
    write_file("test.conf", text);
    return config_load(cfg, "test.conf", err, sizeof err);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_string_equal(config_str(cfg, "redis.url"), "redis://127.0.0.1:6390/0");
    assert_int_equal(config_int(cfg, "intake.max_batch"), 1000);
    assert_int_equal(config_int(cfg, "intake.max_depth"), 6);
    assert_true(config_double(cfg, "score.hk_above") == 1.10);
    assert_true(config_double(cfg, "weight.citizen") == 0.25);
    assert_true(config_bool(cfg, "fairness.kiosk_misuse"));
    assert_true(config_bool(cfg, "security.curve")); /* safe by default (SPEC 8, issue 12) */
    assert_string_equal(config_str(cfg, "time.zone"), "Asia/Jakarta");
    assert_string_equal(config_str(cfg, "intake.durability"), "everysec");
    assert_string_equal(config_str(cfg, "workflow.cadence"), "monthly"); /* SPEC 3 */
}

/* Every default in the table passes the table's own validation. */
static void test_every_default_is_valid(void **state)
{
    (void)state;
    size_t n;
    const struct setting_def *defs = config_settings(&n);
    assert_true(n > 40);
    for (size_t i = 0; i < n; i++) {
        if (config_set(cfg, defs[i].name, defs[i].def, err, sizeof err) != 0)
            fail_msg("default of %s is invalid: %s", defs[i].name, err);
        assert_non_null(defs[i].help);
    }
}

/* No -c, no $KINERJA_CONFIG and no config/kinerja.conf: defaults, no error. */
static void test_missing_default_file_is_fine(void **state)
{
    (void)state;
    assert_int_equal(access("config/kinerja.conf", F_OK), -1);
    assert_int_equal(config_load(cfg, NULL, err, sizeof err), 0);
    assert_string_equal(config_path(cfg), "config/kinerja.conf");
    assert_int_equal(config_int(cfg, "intake.max_batch"), 1000);
    /* `kinerja config` says that no file was read, and how to name one */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print(f, cfg, false);
    fclose(f);
    assert_contains(text,
                    "# config/kinerja.conf does not exist: built-in defaults (name a file with -c FILE");
    free(text);
    /* a file that was read: no such line */
    assert_int_equal(load_text("[intake]\nmax_batch = 5\n"), 0);
    f = open_memstream(&text, &len);
    config_print(f, cfg, false);
    fclose(f);
    assert_null(strstr(text, "does not exist"));
    free(text);
}

static void test_missing_named_file_is_an_error(void **state)
{
    (void)state;
    assert_int_equal(config_load(cfg, "nope.conf", err, sizeof err), -1);
    assert_contains(err, "nope.conf: cannot open");
}

static void test_file_values(void **state)
{
    (void)state;
    assert_int_equal(load_text("; comment\n"
                               "[intake]\nmax_batch = 50\ndurability = always\n"
                               "[log]\njson = yes\n"
                               "[score]\nhk_above = 1.2\n"
                               "[time]\nzone = Asia/Makassar\n"),
                     0);
    assert_int_equal(config_int(cfg, "intake.max_batch"), 50);
    assert_string_equal(config_str(cfg, "intake.durability"), "always");
    assert_true(config_bool(cfg, "log.json"));
    assert_true(config_double(cfg, "score.hk_above") == 1.2);
    assert_string_equal(config_str(cfg, "time.zone"), "Asia/Makassar");
    assert_int_equal(config_int(cfg, "intake.max_depth"), 6); /* untouched: default */
    assert_string_equal(config_path(cfg), "test.conf");
}

/* default < file < environment */
static void test_env_overrides_file(void **state)
{
    (void)state;
    setenv("KINERJA_INTAKE_MAX_BATCH", "70", 1);
    setenv("KINERJA_NOTIFY_WEBHOOK_URL", "http://127.0.0.1:1/hook", 1);
    assert_int_equal(load_text("[intake]\nmax_batch = 50\nmax_depth = 8\n"), 0);
    assert_int_equal(config_int(cfg, "intake.max_batch"), 70);
    assert_int_equal(config_int(cfg, "intake.max_depth"), 8);
    assert_string_equal(config_str(cfg, "notify.webhook_url"), "http://127.0.0.1:1/hook");
}

static void test_kinerja_config_variable(void **state)
{
    (void)state;
    write_file("other.conf", "[intake]\nmax_batch = 33\n");
    write_file("test.conf", "[intake]\nmax_batch = 44\n");
    setenv("KINERJA_CONFIG", "other.conf", 1);
    assert_int_equal(config_load(cfg, NULL, err, sizeof err), 0);
    assert_int_equal(config_int(cfg, "intake.max_batch"), 33);
    assert_string_equal(config_path(cfg), "other.conf");
    /* -c wins over $KINERJA_CONFIG */
    assert_int_equal(config_load(cfg, "test.conf", err, sizeof err), 0);
    assert_int_equal(config_int(cfg, "intake.max_batch"), 44);
    /* a named $KINERJA_CONFIG that does not exist is an error */
    setenv("KINERJA_CONFIG", "missing.conf", 1);
    assert_int_equal(config_load(cfg, NULL, err, sizeof err), -1);
    assert_contains(err, "missing.conf");
}

static void test_bad_int_named(void **state)
{
    (void)state;
    assert_int_equal(load_text("[intake]\nmax_batch = abc\n"), -1);
    assert_contains(err, "test.conf");
    assert_contains(err, "intake.max_batch: must be an integer, got 'abc'");
}

static void test_int_bounds(void **state)
{
    (void)state;
    assert_int_equal(load_text("[intake]\nmax_batch = 0\n"), -1);
    assert_contains(err, "intake.max_batch: must be 1..100000, got 0");
    config_destroy(&cfg);
    cfg = config_new();
    assert_int_equal(load_text("[intake]\nmax_depth = 33\n"), -1);
    assert_contains(err, "intake.max_depth");
}

static void test_bad_double_bool_enum(void **state)
{
    (void)state;
    assert_int_equal(config_set(cfg, "score.hk_meets", "0.8x", err, sizeof err), -1);
    assert_contains(err, "score.hk_meets: must be a number, got '0.8x'");
    assert_int_equal(config_set(cfg, "score.hk_meets", "nan", err, sizeof err), -1);
    assert_int_equal(config_set(cfg, "weight.peer", "1.5", err, sizeof err), -1);
    assert_contains(err, "weight.peer: must be 0..1, got 1.5");
    assert_int_equal(config_set(cfg, "security.curve", "maybe", err, sizeof err), -1);
    assert_contains(err, "security.curve: must be true or false, got 'maybe'");
    assert_int_equal(config_set(cfg, "log.level", "verbose", err, sizeof err), -1);
    assert_contains(err, "log.level: must be one of debug|info|warn|error, got 'verbose'");
    assert_int_equal(config_set(cfg, "log.level", "", err, sizeof err), -1);
    assert_int_equal(config_set(cfg, "workflow.cadence", "weekly", err, sizeof err), -1);
    assert_contains(err, "workflow.cadence: must be one of monthly|quarterly, got 'weekly'");
    assert_int_equal(config_set(cfg, "workflow.cadence", "quarterly", err, sizeof err), 0);
    assert_string_equal(config_str(cfg, "workflow.cadence"), "quarterly");
    /* a refused value leaves the old one */
    assert_string_equal(config_str(cfg, "log.level"), "info");
    assert_true(config_double(cfg, "weight.peer") == 0.2);
}

static void test_bad_env_value_named(void **state)
{
    (void)state;
    setenv("KINERJA_REDIS_SHARDS", "lots", 1);
    assert_int_equal(config_load(cfg, NULL, err, sizeof err), -1);
    assert_contains(err, "redis.shards: must be an integer, got 'lots'");
    assert_contains(err, "KINERJA_REDIS_SHARDS");
}

static void test_unknown_settings_rejected(void **state)
{
    (void)state;
    assert_int_equal(load_text("[intake]\nmax_bacth = 5\n"), -1);
    assert_contains(err, "unknown setting 'intake.max_bacth'");
    config_destroy(&cfg);
    cfg = config_new();
    assert_int_equal(load_text("[nonsense]\nkey = 1\n"), -1);
    assert_contains(err, "unknown setting 'nonsense.key'");
    assert_int_equal(config_set(cfg, "intake.nope", "1", err, sizeof err), -1);
    assert_contains(err, "unknown setting 'intake.nope'");
}

static void test_unparseable_line(void **state)
{
    (void)state;
    assert_int_equal(load_text("[intake]\nthis line has no equals sign\n"), -1);
    assert_contains(err, "test.conf:2: cannot parse this line: expected `[section]`, `key = value`");
    config_destroy(&cfg);
    cfg = config_new();
    assert_int_equal(load_text("[intake\nmax_batch = 5\n"), -1);
    assert_contains(err, "test.conf:1: cannot parse this line");
}

/* A value's error names the file and its line, also after comments, blank lines and
 * sections; of two errors the first line is named. */
static void test_error_names_file_and_line(void **state)
{
    (void)state;
    assert_int_equal(load_text("; Kinerja\n\n[redis]\nshards = 4\n# a comment\n[intake]\n"
                               "max_batch = 50\nmax_depth = 99\n"),
                     -1);
    assert_string_equal(err, "test.conf:8: intake.max_depth: must be 2..32, got 99");
    config_destroy(&cfg);
    cfg = config_new();
    assert_int_equal(load_text("[intake]\nmax_batch = x\nno equals here\n"), -1);
    assert_string_equal(err, "test.conf:2: intake.max_batch: must be an integer, got 'x'");
    config_destroy(&cfg);
    cfg = config_new();
    assert_int_equal(load_text("[intake]\nno equals here\nmax_batch = x\n"), -1);
    assert_contains(err, "test.conf:2: cannot parse this line");
    config_destroy(&cfg);
    cfg = config_new();
    assert_int_equal(load_text("[log]\nlevel = info\n[intake]\nmax_bacth = 5\n"), -1);
    assert_string_equal(err, "test.conf:4: unknown setting 'intake.max_bacth'");
    /* a line longer than the parser's buffer is named as such, with its line */
    char text[2048];
    char value[1200];
    memset(value, 'a', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    snprintf(text, sizeof text, "[web]\npublic_url = http://%s\n[intake]\nmax_batch = 0\n", value);
    config_destroy(&cfg);
    cfg = config_new();
    assert_int_equal(load_text(text), -1);
    assert_contains(err, "test.conf:2: line longer than");
}

static void test_training_open_section(void **state)
{
    (void)state;
    assert_int_equal(load_text("[training]\nthreshold = 2.5\n"
                               "kompeten = Pelatihan Teknis Jabatan\n"
                               "harmonis = Pelatihan Komunikasi Efektif\n"),
                     0);
    assert_true(config_double(cfg, "training.threshold") == 2.5);
    size_t it = 0;
    const char *k, *v;
    assert_int_equal(config_section_next(cfg, "training", &it, &k, &v), 0);
    assert_string_equal(k, "kompeten");
    assert_string_equal(v, "Pelatihan Teknis Jabatan");
    assert_int_equal(config_section_next(cfg, "training", &it, &k, &v), 0);
    assert_string_equal(k, "harmonis");
    assert_string_equal(v, "Pelatihan Komunikasi Efektif");
    assert_int_equal(config_section_next(cfg, "training", &it, &k, &v), -1);
    it = 0;
    assert_int_equal(config_section_next(cfg, "other", &it, &k, &v), -1);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(config_print_one(f, cfg, "training.kompeten"), 0);
    assert_int_equal(config_print_one(f, cfg, "training.loyal"), -1);
    fclose(f);
    assert_string_equal(text, "Pelatihan Teknis Jabatan\n");
    free(text);
}

static void test_env_name(void **state)
{
    (void)state;
    char env[64];
    config_env_name("notify.webhook_url", env, sizeof env);
    assert_string_equal(env, "KINERJA_NOTIFY_WEBHOOK_URL");
    config_env_name("schedule.period_close_grace_days", env, sizeof env);
    assert_string_equal(env, "KINERJA_SCHEDULE_PERIOD_CLOSE_GRACE_DAYS");
    char small[12];
    config_env_name("notify.webhook_url", small, sizeof small);
    assert_string_equal(small, "KINERJA_NOT");
}

/* Secrets never appear in `kinerja config` output unless asked for. */
static void test_print_masks_secrets(void **state)
{
    (void)state;
    assert_int_equal(config_set(cfg, "redis.url", "redis://:hunter2@10.0.0.5:6379/0", err, sizeof err), 0);
    assert_int_equal(
        config_set(cfg, "postgres.dsn", "host=db password=hunter2 dbname=kinerja", err, sizeof err), 0);
    assert_int_equal(config_set(cfg, "notify.webhook_secret", "hunter2", err, sizeof err), 0);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print(f, cfg, false);
    fclose(f);
    assert_null(strstr(text, "hunter2"));
    assert_contains(text, "redis.url = redis://***@10.0.0.5:6379/0\n");
    assert_contains(text, "postgres.dsn = host=db password=*** dbname=kinerja\n");
    assert_contains(text, "notify.webhook_secret = ***\n");
    assert_contains(text, "intake.max_batch = 1000\n");
    free(text);

    f = open_memstream(&text, &len);
    config_print(f, cfg, true);
    fclose(f);
    assert_contains(text, "notify.webhook_secret = hunter2\n");
    free(text);
}

/* The reference config names every setting and its variable, and loads cleanly. */
static void test_reference_config(void **state)
{
    (void)state;
    FILE *f = fopen("ref.conf", "w");
    assert_non_null(f);
    config_print_reference(f);
    fclose(f);
    char text[65536];
    f = fopen("ref.conf", "r");
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    size_t count;
    const struct setting_def *defs = config_settings(&count);
    for (size_t i = 0; i < count; i++) {
        char env[256];
        config_env_name(defs[i].name, env, sizeof env);
        assert_contains(text, env);
    }
    assert_contains(text, "[intake]\n");
    assert_contains(text, "max_batch = 1000\n");
    assert_int_equal(config_load(cfg, "ref.conf", err, sizeof err), 0);
    assert_int_equal(config_int(cfg, "intake.max_batch"), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_default_is_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_default_file_is_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_named_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kinerja_config_variable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_int_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_double_bool_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_env_value_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_settings_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unparseable_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_names_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_training_open_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_masks_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_config, setup, teardown),
    };
    return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
