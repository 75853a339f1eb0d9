//  qy_util: buffers with escaping, the string map, day and hour arithmetic.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qy/util.h"

static void test_buf_escapes (void **state)
{
    (void) state;
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_json_str (&b, "a\"b\\c\n\x01中");
    assert_string_equal (b.data, "\"a\\\"b\\\\c\\n\\u0001中\"");
    qy_buf_reset (&b);
    qy_buf_pg_array_elem (&b, "say \"hi\" \\o/");
    assert_string_equal (b.data, "\"say \\\"hi\\\" \\\\o/\"");
    qy_buf_reset (&b);
    for (int i = 0; i < 1000; i++)
        qy_buf_printf (&b, "%d,", i);
    assert_int_equal (strlen (b.data), b.len);
    assert_memory_equal (b.data + b.len - 4, "999,", 4);
    qy_buf_free (&b);
}

static void test_map (void **state)
{
    (void) state;
    qy_map_t *m = qy_map_new ();
    char key [32];
    for (int i = 0; i < 10000; i++) {
        qy_snprintf (key, sizeof (key), "k%d", i);
        qy_map_put (m, key, i * 3);
    }
    assert_int_equal (qy_map_size (m), 10000);
    int64_t v;
    assert_true (qy_map_get (m, "k4242", &v));
    assert_int_equal (v, 4242 * 3);
    assert_false (qy_map_get (m, "nope", &v));
    qy_map_put (m, "k1", 99);
    assert_true (qy_map_get (m, "k1", &v));
    assert_int_equal (v, 99);
    assert_int_equal (qy_map_size (m), 10000);
    qy_map_clear (m);
    assert_false (qy_map_get (m, "k1", NULL));
    qy_map_destroy (&m);
    assert_null (m);
}

static void test_days (void **state)
{
    (void) state;
    //  2026-11-23 23:30 UTC is 2026-11-24 07:30 in China (+8).
    int64_t t = 1795476600LL * 1000000;
    char buf [16];
    qy_day_format (qy_day_of (t, 0), buf, sizeof (buf), false);
    assert_string_equal (buf, "2026-11-23");
    qy_day_format (qy_day_of (t, 480), buf, sizeof (buf), false);
    assert_string_equal (buf, "2026-11-24");
    assert_int_equal (qy_hour_of (t, 0), 23);
    assert_int_equal (qy_hour_of (t, 480), 7);
    qy_day_format (qy_day_of (t, 480), buf, sizeof (buf), true);
    assert_string_equal (buf, "20261124");
    //  Before 1970 the day still floors.
    assert_int_equal (qy_day_of (-1, 0), -1);
    assert_int_equal (qy_hour_of (-1, 0), 23);
}

static void test_strings (void **state)
{
    (void) state;
    char small [5];
    assert_int_equal (qy_strlcpy (small, "abcdefgh", sizeof (small)), 8);
    assert_string_equal (small, "abcd");
    assert_int_equal (qy_snprintf (small, sizeof (small), "%s", "xyz12345"), 4);
    assert_string_equal (small, "xyz1");
    char *p = qy_printf ("%s-%d", "a", 7);
    assert_string_equal (p, "a-7");
    free (p);
}

//  UTF-8: what is well formed, and cutting text without splitting a character.
//  Items grouped by key in order of first appearance, each group's in
//  their own order; an item without a key is left out.
static void test_group_by_key (void **state)
{
    (void) state;
    const char *keys [6] = { "{g:1}", "{g:2}", NULL, "{g:1}", "{g:3}", "{g:2}" };
    size_t order [6], start [7];
    assert_int_equal (qy_group_by_key (keys, 6, order, start), 3);
    size_t want_start [4] = { 0, 2, 4, 5 }, want_order [5] = { 0, 3, 1, 5, 4 };
    for (int g = 0; g < 4; g++)
        assert_int_equal (start [g], want_start [g]);
    for (int i = 0; i < 5; i++)
        assert_int_equal (order [i], want_order [i]);
    assert_int_equal (qy_group_by_key (keys + 2, 1, order, start), 0);
    assert_int_equal (start [0], 0);
}

static void test_utf8 (void **state)
{
    (void) state;
    assert_true (qy_utf8_valid (""));
    assert_true (qy_utf8_valid ("abc 加微信 😀"));
    assert_false (qy_utf8_valid ("\xe5\xa5"));             //  cut 3-byte character
    assert_false (qy_utf8_valid ("a\x80"));                 //  lone continuation
    assert_false (qy_utf8_valid ("\xc0\xaf"));             //  overlong '/'
    assert_false (qy_utf8_valid ("\xed\xa0\x80"));         //  surrogate
    char *p = qy_utf8_prefix ("加微信", 4);                 //  4 bytes: one character and a third
    assert_string_equal (p, "加");
    free (p);
    p = qy_utf8_prefix ("加微信", 6);
    assert_string_equal (p, "加微");
    free (p);
    p = qy_utf8_prefix ("ab", 10);
    assert_string_equal (p, "ab");
    free (p);
    p = qy_utf8_prefix ("加微信", 9);
    assert_string_equal (p, "加微信");
    free (p);
}

//  A whole file read by path; a missing one is an error, not an empty read.
static void test_buf_read_file (void **state)
{
    (void) state;
    char path [] = "/tmp/qy-test-read-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, "abc\0def", 7), 7);
    close (fd);
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_puts (&b, ">");
    assert_true (qy_buf_read_file (&b, path));
    assert_int_equal (b.len, 8);
    assert_memory_equal (b.data, ">abc\0def", 8);
    unlink (path);
    assert_false (qy_buf_read_file (&b, path));
    assert_int_equal (b.len, 8);
    qy_buf_free (&b);
}

//  Numbers and keys without printf: what "%lld" writes; parts joined,
//  cut to fit.
static void test_fmt (void **state)
{
    (void) state;
    const int64_t ints [] = { 0, 1, -1, 9, 10, 19675, -86401, 1700000000, INT64_MAX, INT64_MIN };
    for (size_t i = 0; i < sizeof (ints) / sizeof (ints [0]); i++) {
        char want [32], got [32];
        snprintf (want, sizeof (want), "%lld", (long long) ints [i]);
        assert_int_equal (qy_fmt_i64 (got, ints [i]), strlen (want));
        assert_string_equal (got, want);
    }
    char f [8];
    qy_cat (f, sizeof (f), "12", ":", "j:19675");
    assert_string_equal (f, "12:j:19");
    qy_cat (f, sizeof (f), "", "7>", "");
    assert_string_equal (f, "7>");
}

//  A chore waits for an idle moment, but never longer than its grace.
static void test_chore_due (void **state)
{
    (void) state;
    assert_false (qy_chore_due (999, 1000, true, 500));       //  not yet due
    assert_true (qy_chore_due (1000, 1000, true, 500));       //  due and idle
    assert_false (qy_chore_due (1000, 1000, false, 500));     //  due, work waiting
    assert_false (qy_chore_due (1499, 1000, false, 500));
    assert_true (qy_chore_due (1500, 1000, false, 500));      //  overdue: done anyway
    assert_true (qy_chore_due (1000, 1000, false, 0));        //  no grace: as a plain timer
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_buf_escapes),
        cmocka_unit_test (test_buf_read_file),
        cmocka_unit_test (test_map),
        cmocka_unit_test (test_days),
        cmocka_unit_test (test_strings),
        cmocka_unit_test (test_utf8),
        cmocka_unit_test (test_group_by_key),
        cmocka_unit_test (test_chore_due),
        cmocka_unit_test (test_fmt),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
