//  qyctl_text: display widths, sparklines, progress lines.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "qyctl_text.h"

static void test_width (void **state)
{
    (void) state;
    assert_int_equal (qyctl_width ("acme"), 4);
    assert_int_equal (qyctl_width ("上海1号店"), 9);          //  CJK two cells, digits one
    assert_int_equal (qyctl_width ("…"), 1);                  //  three bytes, one cell
    assert_int_equal (qyctl_width ("é"), 1);                 //  e and a combining accent
    assert_int_equal (qyctl_width ("a\xff" "b"), 3);          //  not UTF-8: a cell a byte
    assert_int_equal (qyctl_width (""), 0);
}

static void test_sparkline (void **state)
{
    (void) state;
    char buf [64];
    const int64_t v [] = { 0, 1, 50, 100 };
    assert_string_equal (qyctl_sparkline (v, 4, buf, sizeof (buf)), "▁▂▅█");
    const int64_t zero [] = { 0, 0, 0 };
    assert_string_equal (qyctl_sparkline (zero, 3, buf, sizeof (buf)), "▁▁▁");
    //  Cut to what fits (3 bytes a value and the NUL).
    assert_string_equal (qyctl_sparkline (v, 4, buf, 8), "▁▂");
    assert_string_equal (qyctl_sparkline (v, 0, buf, sizeof (buf)), "");
}

static void test_progress (void **state)
{
    (void) state;
    char buf [128];
    assert_string_equal (qyctl_progress_line (buf, sizeof (buf), "replay", 250, 1000, 2.5),
                         "replay: 250/1000 (25%)  100/s  8 s left");
    assert_string_equal (qyctl_progress_line (buf, sizeof (buf), "replay", 1000, 1000, 10),
                         "replay: 1000/1000 (100%)  100/s");
    assert_string_equal (qyctl_progress_line (buf, sizeof (buf), "housekeep", 30, 0, 3), "housekeep: 30  10/s");
    assert_string_equal (qyctl_progress_line (buf, sizeof (buf), "x", 0, 10, 0), "x: 0/10 (0%)  0/s");
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_width),
        cmocka_unit_test (test_sparkline),
        cmocka_unit_test (test_progress),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
