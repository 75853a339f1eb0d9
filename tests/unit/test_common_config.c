//  qy_config: defaults, file, environment (shared and per service), bounds.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, NULL, err, sizeof (err)), -1);
    assert_non_null (strstr (err, "db.port"));
    assert_non_null (strstr (err, "out of range"));
    setenv ("QY_SVC_DB_PORT", "12x", 1);
    assert_int_equal (qy_config_load ("SVC", opts, N, &c, NULL, err, sizeof (err)), -1);
    assert_non_null (strstr (err, "bad value"));
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

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_defaults),
        cmocka_unit_test (test_file_then_env),
        cmocka_unit_test (test_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
