//  qy_log: one record is one line, whatever the values hold.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
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
    static char text [4096];
    ssize_t n = pread (fd, text, sizeof (text) - 1, 0);
    text [n > 0 ? n : 0] = 0;
    close (fd);
    unlink (path);
    return text;
}

static void s_log_forgery (void)
{
    qy_log_init ("test", "info");
    qy_log_warn ("msg=m1 brand=acme error=\"%s\"", "bad\nts=2026 level=error svc=forged\ttab\x01");
}

static void test_controls_escaped (void **state)
{
    (void) state;
    char *out = s_capture (s_log_forgery);
    //  One line, ending the record; the break and the controls escaped.
    assert_non_null (strchr (out, '\n'));
    assert_string_equal (strchr (out, '\n') + 1, "");
    assert_non_null (strstr (out, " level=warn svc=test msg=m1 brand=acme error=\"bad\\nts=2026 level=error svc=forged\\ttab\\x01\"\n"));
}

static void s_log_long (void)
{
    char big [3000];
    memset (big, '\n', sizeof (big) - 1);
    big [sizeof (big) - 1] = 0;
    qy_log_info ("msg=m2 text=%s", big);
}

static void test_long_line_cut_whole (void **state)
{
    (void) state;
    char *out = s_capture (s_log_long);
    size_t len = strlen (out);
    assert_true (len > 1000 && len < 2048);
    assert_int_equal (out [len - 1], '\n');
    assert_null (memchr (out, '\n', len - 1));
    assert_int_equal (out [len - 2], 'n');         //  the last escape is whole: \n, not a lone backslash
    assert_int_equal (out [len - 3], '\\');
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_controls_escaped),
        cmocka_unit_test (test_long_line_cut_whole),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
