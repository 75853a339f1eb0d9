//  qy_log: one record is one line, whatever the values hold; the words
//  are the one msg, each key=value a field escaped on its own; logfmt and
//  JSON carry the same keys.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "qy/log.h"

//  Log through fn with stderr sent to a file; returns what was written.
static char *s_capture (void (*fn) (void))
{
    char path [] = "/tmp/qy_log_testXXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    fflush (stderr);
    int saved = dup (2);
    dup2 (fd, 2);
    fn ();
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    static char text [8192];
    ssize_t n = pread (fd, text, sizeof (text) - 1, 0);
    text [n > 0 ? n : 0] = 0;
    close (fd);
    unlink (path);
    return text;
}

//  Cut the record at line off at its line end; returns the next record.
static char *s_next (char *line)
{
    char *nl = strchr (line, '\n');
    assert_non_null (nl);
    *nl = 0;
    return nl + 1;
}

//  The record after its timestamp (which changes from run to run).
static const char *s_after_ts (const char *line)
{
    const char *p = strstr (line, " level=");
    assert_non_null (p);
    return p + 1;
}

static void test_value_escaping (void **state)
{
    (void) state;
    struct { const char *in, *out; } cases [] = {
        { "acme",               "acme" },
        { "小王",               "小王" },              //  UTF-8 text needs no quotes
        { "",                   "\"\"" },
        { "two words",          "\"two words\"" },
        { "a=b",                "\"a=b\"" },
        { "say \"hi\"",         "\"say \\\"hi\\\"\"" },
        { "C:\\dir",            "\"C:\\\\dir\"" },
        { "l1\nl2\r\t",         "\"l1\\nl2\\r\\t\"" },
        { "bell\x07\x7f",       "\"bell\\x07\\x7f\"" },
    };
    char out [64];
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        size_t n = qy_log_value (out, sizeof (out), cases [i].in);
        assert_string_equal (out, cases [i].out);
        assert_int_equal (n, strlen (cases [i].out));
    }
    //  Cut at a whole escape, the quote still closed.
    qy_log_value (out, 8, "ab\ncd");
    assert_string_equal (out, "\"ab\\nc\"");
    qy_log_value (out, 7, "ab\ncd");
    assert_string_equal (out, "\"ab\\n\"");
    qy_log_value (out, 6, "ab\ncd");
    assert_string_equal (out, "\"ab\"");
    //  JSON: the same text as a JSON string; a byte that is not UTF-8 is U+FFFD.
    qy_log_json_string (out, sizeof (out), "a\"b\\c\n\x01小\xff");
    assert_string_equal (out, "\"a\\\"b\\\\c\\n\\u0001小\\ufffd\"");
}

static void s_log_fields (void)
{
    qy_log_init ("test", "info");
    qy_log_set_format ("logfmt");
    qy_log_info ("member muted msg_id=%s brand=%s minutes=%d for %s", "m1", "acme", 1440, "ads");
    qy_log_warn ("sent msg_id=m2 error=\"%s\" n=%zu mode=%s", "gateway said \"no\"", (size_t) 3, "");
    qy_log_debug ("not shown %s", "x");
    qy_log_info ("ladder level=%s msg=%s", "manager", "hi");
}

static void test_words_and_fields (void **state)
{
    (void) state;
    char *out = s_capture (s_log_fields);
    char *second = s_next (out), *third = s_next (second);
    assert_string_equal (s_next (third), "");
    assert_string_equal (s_after_ts (out),
        "level=info svc=test msg=\"member muted for ads\" msg_id=m1 brand=acme minutes=1440");
    assert_string_equal (s_after_ts (second),
        "level=warn svc=test msg=sent msg_id=m2 error=\"gateway said \\\"no\\\"\" n=3 mode=\"\"");
    //  A field named like the record's own keys cannot make a second one.
    assert_string_equal (s_after_ts (third), "level=info svc=test msg=ladder level_=manager msg_=hi");
    assert_int_equal (strncmp (out, "ts=20", 5), 0);
}

static void s_log_forgery (void)
{
    qy_log_init ("test", "info");
    qy_log_set_format ("logfmt");
    qy_log_warn ("gateway refused msg_id=m1 brand=acme error=%s", "bad\nts=2026 level=error svc=forged\ttab\x01");
    qy_log_warn ("%s=%s", "Bad Key", "v");
}

static void test_controls_escaped (void **state)
{
    (void) state;
    char *out = s_capture (s_log_forgery);
    //  Two records, two lines; the break and the controls escaped.
    char *nl = strchr (out, '\n');
    assert_non_null (nl);
    assert_non_null (strchr (nl + 1, '\n'));
    assert_string_equal (strchr (nl + 1, '\n') + 1, "");
    assert_non_null (strstr (out, " level=warn svc=test msg=\"gateway refused\" msg_id=m1 brand=acme "
                                  "error=\"bad\\nts=2026 level=error svc=forged\\ttab\\x01\"\n"));
    //  A key formatted from a value is kept a key.
    assert_non_null (strstr (out, "msg=\"\" bad_key=v\n"));
}

static void s_log_long (void)
{
    char big [3000];
    memset (big, '\n', sizeof (big) - 1);
    big [sizeof (big) - 1] = 0;
    qy_log_set_format ("logfmt");
    qy_log_info ("long msg_id=m2 text=%s after=%d", big, 7);
}

static void test_long_line_cut_whole (void **state)
{
    (void) state;
    char *out = s_capture (s_log_long);
    size_t len = strlen (out);
    assert_true (len > 1000 && len <= QY_LOG_LINE_MAX);
    assert_int_equal (out [len - 1], '\n');
    assert_null (memchr (out, '\n', len - 1));
    assert_int_equal (out [len - 2], '"');         //  the value's quote closed
    assert_int_equal (out [len - 3], 'n');         //  after a whole escape: \n, not a lone backslash
    assert_int_equal (out [len - 4], '\\');
}

static void s_log_json (void)
{
    qy_log_init ("test", "info");
    qy_log_set_format ("json");
    qy_log_info ("member muted msg_id=%s brand=%s minutes=%d ratio=%.2f code=%s id=%lld note=\"%s\"",
                 "1001", "acme", 1440, 0.5, "007", 42LL, "say \"hi\"\n");
    qy_log_error ("long text=%s", "ab\xff");
    qy_log_set_format ("logfmt");
}

static void test_json (void **state)
{
    (void) state;
    char *out = s_capture (s_log_json);
    char *second = s_next (out);
    json_error_t e;
    json_t *o = json_loads (out, 0, &e);
    assert_non_null (o);
    assert_string_equal (json_string_value (json_object_get (o, "level")), "info");
    assert_string_equal (json_string_value (json_object_get (o, "svc")), "test");
    assert_string_equal (json_string_value (json_object_get (o, "msg")), "member muted");
    //  A number formatted as a number is a JSON number; text stays text,
    //  even when it reads as a number.
    assert_string_equal (json_string_value (json_object_get (o, "msg_id")), "1001");
    assert_int_equal (json_integer_value (json_object_get (o, "minutes")), 1440);
    assert_true (json_real_value (json_object_get (o, "ratio")) == 0.5);
    assert_int_equal (json_integer_value (json_object_get (o, "id")), 42);
    assert_string_equal (json_string_value (json_object_get (o, "code")), "007");
    assert_string_equal (json_string_value (json_object_get (o, "note")), "say \"hi\"\n");
    assert_non_null (json_object_get (o, "ts"));
    assert_int_equal (json_object_size (o), 11);
    //  The keys in the order written: ts level svc msg, then the fields.
    assert_int_equal (strncmp (out, "{\"ts\":\"20", 9), 0);
    assert_non_null (strstr (out, "Z\",\"level\":\"info\",\"svc\":\"test\",\"msg\":\"member muted\",\"msg_id\":\"1001\","));
    json_decref (o);
    o = json_loads (second, 0, &e);
    assert_non_null (o);
    assert_string_equal (json_string_value (json_object_get (o, "text")), "ab\xef\xbf\xbd");
    json_decref (o);
}

//  The limit's decision: burst lines per window, then none until the next
//  window, whose first line says how many were left out; a quiet site
//  says 0; a clock that goes back starts a window.
static void test_limit_decide (void **state)
{
    (void) state;
    qy_log_limit_t l = { 0 };
    unsigned unlogged = 99;
    for (int i = 0; i < 3; i++) {
        assert_true (qy_log_limit_decide (&l, 1000 + i, 3, 10000, &unlogged));
        assert_int_equal (unlogged, 0);
    }
    for (int i = 0; i < 5; i++)
        assert_false (qy_log_limit_decide (&l, 2000 + i, 3, 10000, &unlogged));
    assert_false (qy_log_limit_decide (&l, 10999, 3, 10000, &unlogged));      //  still the first window
    assert_true (qy_log_limit_decide (&l, 11000, 3, 10000, &unlogged));
    assert_int_equal (unlogged, 6);
    assert_true (qy_log_limit_decide (&l, 11001, 3, 10000, &unlogged));
    assert_int_equal (unlogged, 0);
    assert_true (qy_log_limit_decide (&l, 11002, 3, 10000, &unlogged));
    assert_false (qy_log_limit_decide (&l, 11003, 3, 10000, &unlogged));
    assert_true (qy_log_limit_decide (&l, 500, 3, 10000, &unlogged));         //  the clock went back
    assert_int_equal (unlogged, 1);
}

static void s_log_flood (void)
{
    qy_log_init ("test", "info");
    qy_log_set_format ("logfmt");
    for (int i = 0; i < 1000; i++)
        qy_log_limited (QY_LOG_WARN, "refused peer=%d", i);
    //  Below the level shown: neither written nor counted.
    for (int i = 0; i < 5; i++)
        qy_log_limited (QY_LOG_DEBUG, "detail peer=%d", i);
}

//  A call site flooded with a thousand lines writes its burst, each line
//  saying what it left out (none yet); another site is limited apart.
static void test_limited_site (void **state)
{
    (void) state;
    char *out = s_capture (s_log_flood), *line = out;
    int n = 0;
    while (*line) {
        char *next = s_next (line);
        char want [96];
        snprintf (want, sizeof (want), "level=warn svc=test msg=refused peer=%d unlogged_before=0", n);
        assert_string_equal (s_after_ts (line), want);
        n++;
        line = next;
    }
    assert_int_equal (n, QY_LOG_LIMIT_BURST);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_value_escaping),
        cmocka_unit_test (test_words_and_fields),
        cmocka_unit_test (test_controls_escaped),
        cmocka_unit_test (test_long_line_cut_whole),
        cmocka_unit_test (test_json),
        cmocka_unit_test (test_limit_decide),
        cmocka_unit_test (test_limited_site),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
