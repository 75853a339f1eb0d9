//  qy_config: defaults, file, environment (shared and per service), bounds.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include "qy/config.h"

typedef struct {
    char  *host;
    long   port;
    double ratio;
    bool   on;
} cfg_t;

static const qy_option_t opts [] = {
    { "db.host",  QY_STR,  offsetof (cfg_t, host),  "localhost", 0, 0, NULL },
    { "db.port",  QY_INT,  offsetof (cfg_t, port),  "5432", 1, 65535, NULL },
    { "ratio",    QY_DBL,  offsetof (cfg_t, ratio), "0.5", 0, 1, NULL },
    { "feature",  QY_BOOL, offsetof (cfg_t, on),    "false", 0, 0, NULL },
};
#define N (sizeof (opts) / sizeof (opts [0]))

static void s_clear_env (void)
{
    unsetenv ("QY_DB_HOST"); unsetenv ("QY_SVC_DB_HOST"); unsetenv ("QY_SVC_DB_PORT"); unsetenv ("QY_RATIO");
    unsetenv ("QY_DB_HOST_FILE"); unsetenv ("QY_SVC_DB_HOST_FILE"); unsetenv ("QY_SVC_DB_PORT_FILE");
}

//  The configuration is refused with a message holding both strings.
static void s_refused (cfg_t *c, const char *a, const char *b)
{
    char err [256];
    assert_int_equal (qy_config_load ("SVC", opts, N, c, NULL, err, sizeof (err)), -1);
    assert_non_null (strstr (err, a));
    assert_non_null (strstr (err, b));
}

//  Replace the file's contents.
static void s_write (const char *path, const char *contents, size_t len)
{
    int fd = open (path, O_WRONLY | O_TRUNC);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, contents, len), (ssize_t) len);
    close (fd);
}

static void test_defaults (void **state)
{
    (void) state;
    s_clear_env ();
    cfg_t c = { 0 };
    char err [256];
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, NULL, err, sizeof (err)), 0);
    assert_string_equal (c.host, "localhost");
    assert_int_equal (c.port, 5432);
    assert_true (c.ratio == 0.5);
    assert_false (c.on);
    qy_config_free (opts, N, &c);
    assert_null (c.host);
}

static void test_file_then_env (void **state)
{
    (void) state;
    s_clear_env ();
    char path [] = "/tmp/qy_config_testXXXXXX";
    int fd = mkstemp (path);
    FILE *f = fdopen (fd, "w");
    fprintf (f, "# comment\n  db.host = filehost \nfeature = yes\ndb.port=6000\n");
    fclose (f);
    setenv ("QY_DB_HOST", "sharedhost", 1);
    setenv ("QY_SVC_DB_PORT", "7000", 1);
    cfg_t c = { 0 };
    char err [256];
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, path, err, sizeof (err)), 0);
    assert_string_equal (c.host, "sharedhost");     //  environment beats the file
    assert_int_equal (c.port, 7000);                 //  per-service beats everything
    assert_true (c.on);
    qy_config_free (opts, N, &c);
    setenv ("QY_SVC_DB_HOST", "svchost", 1);
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, path, err, sizeof (err)), 0);
    assert_string_equal (c.host, "svchost");
    qy_config_free (opts, N, &c);
    unlink (path);
    s_clear_env ();
}

static void test_errors (void **state)
{
    (void) state;
    s_clear_env ();
    cfg_t c = { 0 };
    char err [256];
    setenv ("QY_SVC_DB_PORT", "70000", 1);
    s_refused (&c, "db.port", "out of range");
    setenv ("QY_SVC_DB_PORT", "12x", 1);
    s_refused (&c, "QY_SVC_DB_PORT", "bad value");
    unsetenv ("QY_SVC_DB_PORT");
    setenv ("QY_RATIO", "1.5", 1);
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, NULL, err, sizeof (err)), -1);
    unsetenv ("QY_RATIO");
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, "/nonexistent/file", err, sizeof (err)), -1);
    assert_non_null (strstr (err, "/nonexistent/file"));
    char path [] = "/tmp/qy_config_testXXXXXX";
    int fd = mkstemp (path);
    FILE *f = fdopen (fd, "w");
    fprintf (f, "unknown.option = 1\n");
    fclose (f);
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, path, err, sizeof (err)), -1);
    assert_non_null (strstr (err, "unknown option"));
    unlink (path);
    qy_config_free (opts, N, &c);
}

//  QY_..._FILE: the value read from a file (a compose secret), less its
//  line end; the per-service twin still wins; both a variable and its
//  _FILE twin, a missing file or one too long are errors naming the file.
static void test_file_variables (void **state)
{
    (void) state;
    s_clear_env ();
    char shared [] = "/tmp/qy_config_secretXXXXXX", scoped [] = "/tmp/qy_config_secretXXXXXX";
    close (mkstemp (shared));
    close (mkstemp (scoped));
    s_write (shared, "host=db password=s3cret\n", 24);
    s_write (scoped, "6543", 4);
    setenv ("QY_DB_HOST_FILE", shared, 1);
    setenv ("QY_SVC_DB_PORT_FILE", scoped, 1);
    cfg_t c = { 0 };
    char err [256];
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, NULL, err, sizeof (err)), 0);
    assert_string_equal (c.host, "host=db password=s3cret");
    assert_int_equal (c.port, 6543);
    setenv ("QY_SVC_DB_HOST", "svchost", 1);
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, NULL, err, sizeof (err)), 0);
    assert_string_equal (c.host, "svchost");
    setenv ("QY_SVC_DB_HOST_FILE", shared, 1);
    s_refused (&c, "QY_SVC_DB_HOST_FILE", "both");
    unsetenv ("QY_SVC_DB_HOST"); unsetenv ("QY_SVC_DB_HOST_FILE");
    s_write (scoped, "12x\n", 4);
    setenv ("QY_SVC_DB_PORT_FILE", scoped, 1);
    s_refused (&c, "QY_SVC_DB_PORT_FILE", "bad value");
    setenv ("QY_SVC_DB_PORT_FILE", "/nonexistent/secret", 1);
    s_refused (&c, "QY_SVC_DB_PORT_FILE", "/nonexistent/secret");
    unsetenv ("QY_SVC_DB_PORT_FILE");
    char *big = malloc (QY_CONFIG_FILE_MAX + 10);
    memset (big, 'x', QY_CONFIG_FILE_MAX + 10);
    s_write (scoped, big, QY_CONFIG_FILE_MAX + 10);
    free (big);
    setenv ("QY_DB_HOST_FILE", scoped, 1);
    s_refused (&c, "QY_DB_HOST_FILE", "longer than");
    const char *v;
    unsetenv ("QY_DB_HOST_FILE");
    assert_int_equal (qy_config_env ("QY_DB_HOST", err, sizeof (err), &v, err, sizeof (err)), 0);
    assert_null (v);
    qy_config_free (opts, N, &c);
    unlink (shared);
    unlink (scoped);
    s_clear_env ();
}

//  Rows that declare their allowed values or carry a check.
typedef struct {
    char *level;
    char *rate;
} enum_cfg_t;

static int s_even_length (const char *value, char *why, size_t whylen)
{
    if (strlen (value) % 2 == 0)
        return 0;
    snprintf (why, whylen, "an even number of characters");
    return -1;
}

static const qy_option_t enum_opts [] = {
    { "log.level", QY_STR, offsetof (enum_cfg_t, level), "info", 0, 0, NULL, .choices = "debug|info|warn|error" },
    { "rate",      QY_STR, offsetof (enum_cfg_t, rate),  "ab",   0, 0, NULL, .check = s_even_length },
};

static int s_enum_load (enum_cfg_t *c, char *err, size_t errlen)
{
    return qy_config_load ("SVC", enum_opts, 2, c, NULL, err, errlen);
}

static void test_choices_and_checks (void **state)
{
    (void) state;
    enum_cfg_t c = { 0 };
    char err [256];
    unsetenv ("QY_LOG_LEVEL"); unsetenv ("QY_RATE");
    assert_int_equal (s_enum_load (&c, err, sizeof (err)), 0);
    assert_string_equal (c.level, "info");
    setenv ("QY_SVC_LOG_LEVEL", "warn", 1);
    setenv ("QY_RATE", "abcd", 1);
    assert_int_equal (s_enum_load (&c, err, sizeof (err)), 0);
    assert_string_equal (c.level, "warn");
    assert_string_equal (c.rate, "abcd");
    //  A near miss (a prefix, another case) is refused, with one line
    //  naming the key, the value, where it came from and what is allowed.
    const char *bad [] = { "verbose", "war", "WARN", "" };
    for (size_t i = 0; i < 4; i++) {
        setenv ("QY_SVC_LOG_LEVEL", bad [i], 1);
        assert_int_equal (s_enum_load (&c, err, sizeof (err)), -1);
        char want [128];
        snprintf (want, sizeof (want), "config log.level: bad value '%s' (from QY_SVC_LOG_LEVEL): expected one of debug|info|warn|error", bad [i]);
        assert_string_equal (err, want);
        assert_null (strchr (err, '\n'));
    }
    unsetenv ("QY_SVC_LOG_LEVEL");
    setenv ("QY_RATE", "abc", 1);
    assert_int_equal (s_enum_load (&c, err, sizeof (err)), -1);
    assert_string_equal (err, "config rate: bad value 'abc' (from QY_RATE): expected an even number of characters");
    unsetenv ("QY_RATE");
    qy_config_free (enum_opts, 2, &c);
    assert_true (qy_config_choice_ok ("a|bc|d", "bc"));
    assert_true (qy_config_choice_ok ("a|bc|d", "d"));
    assert_false (qy_config_choice_ok ("a|bc|d", "b"));
    assert_false (qy_config_choice_ok ("a|bc|d", "a|bc"));
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_defaults),
        cmocka_unit_test (test_file_then_env),
        cmocka_unit_test (test_errors),
        cmocka_unit_test (test_file_variables),
        cmocka_unit_test (test_choices_and_checks),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
