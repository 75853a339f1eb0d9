//  console_lib: roles, login backoff, the groups query, highlighting of
//  search hits and evidence spans, CSV fields, static paths, passwords.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "console.h"

static void test_roles (void **state)
{
    (void) state;
    assert_int_equal (console_role_parse ("store"), CONSOLE_STORE);
    assert_int_equal (console_role_parse ("root"), 0);
    assert_int_equal (console_role_parse (NULL), 0);
    assert_string_equal (console_role_name (CONSOLE_REVIEWER), "reviewer");
    assert_true (console_token_role_ok (CONSOLE_HQ, CONSOLE_HQ));
    assert_true (console_token_role_ok (CONSOLE_STORE, CONSOLE_REVIEWER));
    assert_false (console_token_role_ok (CONSOLE_STORE, CONSOLE_HQ));
    assert_false (console_token_role_ok (CONSOLE_REVIEWER, CONSOLE_ADMIN));
    assert_false (console_token_role_ok (CONSOLE_HQ, 0));
}

static void test_lockout (void **state)
{
    (void) state;
    assert_int_equal (console_lockout_s (4, 5, 30, 900), 0);
    assert_int_equal (console_lockout_s (5, 5, 30, 900), 30);
    assert_int_equal (console_lockout_s (6, 5, 30, 900), 60);
    assert_int_equal (console_lockout_s (9, 5, 30, 900), 480);
    assert_int_equal (console_lockout_s (10, 5, 30, 900), 900);
    assert_int_equal (console_lockout_s (1000000, 5, 30, 900), 900);
}

static const char *s_args [][2] = { { NULL, NULL } };
static const char *(*s_table) [2] = s_args;
static const char *s_get (void *arg, const char *name)
{
    (void) arg;
    for (int i = 0; s_table [i][0]; i++)
        if (strcmp (s_table [i][0], name) == 0)
            return s_table [i][1];
    return NULL;
}

static void test_groups_query (void **state)
{
    (void) state;
    console_groups_query_t q;
    char err [256];
    const char *ok [][2] = { { "store", "s1" }, { "sort", "-health" }, { "limit", "20" }, { "after", "40" }, { "min_size", "10" }, { NULL, NULL } };
    s_table = ok;
    assert_int_equal (console_groups_query_parse (s_get, NULL, &q, err, sizeof (err)), 0);
    assert_string_equal (q.store, "s1");
    assert_string_equal (q.sort, "coalesce (gs.health, -1)");
    assert_true (q.desc);
    assert_int_equal (q.limit, 20);
    assert_int_equal (q.offset, 40);
    assert_int_equal (q.min_size, 10);
    assert_int_equal (q.max_size, -1);
    const char *bad_sort [][2] = { { "sort", "g.id; DROP TABLE groups" }, { NULL, NULL } };
    s_table = bad_sort;
    assert_int_equal (console_groups_query_parse (s_get, NULL, &q, err, sizeof (err)), -1);
    assert_non_null (strstr (err, "sort"));
    const char *bad_state [][2] = { { "state", "dead" }, { NULL, NULL } };
    s_table = bad_state;
    assert_int_equal (console_groups_query_parse (s_get, NULL, &q, err, sizeof (err)), -1);
    const char *bad_limit [][2] = { { "limit", "5000" }, { NULL, NULL } };
    s_table = bad_limit;
    assert_int_equal (console_groups_query_parse (s_get, NULL, &q, err, sizeof (err)), -1);
    const char *bad_health [][2] = { { "min_health", "12x" }, { NULL, NULL } };
    s_table = bad_health;
    assert_int_equal (console_groups_query_parse (s_get, NULL, &q, err, sizeof (err)), -1);
}

static void test_highlight (void **state)
{
    (void) state;
    qy_buf_t b;
    qy_buf_init (&b);
    console_highlight (&b, "今天领优惠券了吗？优惠券", "优惠券");
    assert_string_equal (b.data, "[{\"t\":\"今天领\",\"hit\":false},{\"t\":\"优惠券\",\"hit\":true},"
                                 "{\"t\":\"了吗？\",\"hit\":false},{\"t\":\"优惠券\",\"hit\":true}]");
    qy_buf_reset (&b);
    console_highlight (&b, "没有", NULL);
    assert_string_equal (b.data, "[{\"t\":\"没有\",\"hit\":false}]");
    qy_buf_reset (&b);
    console_highlight (&b, "", "x");
    assert_string_equal (b.data, "[]");
    qy_buf_free (&b);
}

static void test_spans (void **state)
{
    (void) state;
    qy_buf_t b;
    qy_buf_init (&b);
    //  "加我微信 wx88776655 领优惠券": the id is bytes 13..23.
    long s1 [] = { 13, 23 };
    console_spans (&b, "加我微信 wx88776655 领优惠券", s1, 1);
    assert_string_equal (b.data, "[{\"t\":\"加我微信 \",\"hit\":false},{\"t\":\"wx88776655\",\"hit\":true},"
                                 "{\"t\":\" 领优惠券\",\"hit\":false}]");
    //  Overlapping and unsorted spans merge; a span inside a character widens to it.
    qy_buf_reset (&b);
    long s2 [] = { 7, 9, 1, 4 };
    console_spans (&b, "加我微信", s2, 2);
    assert_string_equal (b.data, "[{\"t\":\"加我\",\"hit\":true},{\"t\":\"微\",\"hit\":true},{\"t\":\"信\",\"hit\":false}]");
    qy_buf_reset (&b);
    long s3 [] = { 2, 100 };
    console_spans (&b, "abc", s3, 1);
    assert_string_equal (b.data, "[{\"t\":\"ab\",\"hit\":false},{\"t\":\"c\",\"hit\":true}]");
    qy_buf_free (&b);
}

static void test_strings (void **state)
{
    (void) state;
    char *e = console_like_escape ("50%_off\\");
    assert_string_equal (e, "50\\%\\_off\\\\");
    free (e);
    qy_buf_t b;
    qy_buf_init (&b);
    console_csv_field (&b, "a,b");
    qy_buf_puts (&b, "|");
    console_csv_field (&b, "=HYPERLINK(\"x\")");
    qy_buf_puts (&b, "|");
    console_csv_field (&b, "群1");
    assert_string_equal (b.data, "\"a,b\"|\"'=HYPERLINK(\"\"x\"\")\"|群1");
    qy_buf_free (&b);
    assert_true (console_static_path_ok ("/static/app.js"));
    assert_false (console_static_path_ok ("/static/../../etc/passwd"));
    assert_false (console_static_path_ok ("/static/a b.js"));
    assert_false (console_static_path_ok ("static/app.js"));
    assert_string_equal (console_content_type ("/x/app.js"), "text/javascript; charset=utf-8");
    assert_string_equal (console_content_type ("/x/noext"), "application/octet-stream");
    long v;
    assert_int_equal (console_long_arg (NULL, 7, 1, 9, &v), 0);
    assert_int_equal (v, 7);
    assert_int_equal (console_long_arg ("10", 7, 1, 9, &v), -1);
    assert_int_equal (console_long_arg ("-", 7, 1, 9, &v), -1);
}

static void test_password (void **state)
{
    (void) state;
    char h [128];
    assert_int_equal (console_password_hash ("correct-horse-1", h), 0);
    assert_int_equal (strncmp (h, "$argon2id$", 10), 0);
    assert_int_equal (crypto_pwhash_str_verify (h, "correct-horse-1", 15), 0);
    assert_int_not_equal (crypto_pwhash_str_verify (h, "correct-horse-2", 15), 0);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_roles),
        cmocka_unit_test (test_lockout),
        cmocka_unit_test (test_groups_query),
        cmocka_unit_test (test_highlight),
        cmocka_unit_test (test_spans),
        cmocka_unit_test (test_strings),
        cmocka_unit_test (test_password),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
