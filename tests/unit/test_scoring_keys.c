//  scoring_keys: what an event counts as, and the day and hour it lands in.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scoring.h"

static void test_kinds (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.kind = QY__KIND__TEXT;
    assert_int_equal (scoring_kind (&ev), SCORING_MSG);
    ev.kind = QY__KIND__WEAPP;
    assert_int_equal (scoring_kind (&ev), SCORING_MSG);
    ev.kind = QY__KIND__REVOKE;
    assert_int_equal (scoring_kind (&ev), SCORING_OTHER);
    ev.kind = QY__KIND__JOIN;
    assert_int_equal (scoring_kind (&ev), SCORING_JOIN);
    ev.kind = QY__KIND__LEAVE;
    assert_int_equal (scoring_kind (&ev), SCORING_LEAVE);
    ev.kind = QY__KIND__PURCHASE;
    assert_int_equal (scoring_kind (&ev), SCORING_OTHER);
}

static void test_violation (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    assert_false (scoring_is_violation (&ev));
    Qy__Verdict v = QY__VERDICT__INIT;
    ev.verdict = &v;
    v.action = QY__ACTION__REVIEW;
    v.violation_id = 7;
    assert_false (scoring_is_violation (&ev));     //  flagged for review is not a violation yet
    v.action = QY__ACTION__WARN;
    assert_true (scoring_is_violation (&ev));
    v.violation_id = 0;
    v.action = QY__ACTION__RECALL;                 //  a muted member's recall records no violation
    assert_false (scoring_is_violation (&ev));
}

static void test_keys (void **state)
{
    (void) state;
    scoring_keys_t k;
    //  2026-11-23 23:30 UTC = 2026-11-24 07:30 at +08:00: day 20781, hour 7.
    scoring_keys (&k, 3, 42, 7, 1795476600LL * 1000000, 480);
    assert_int_equal (k.day, 20781);
    assert_int_equal (k.hour, 7);
    assert_string_equal (k.ids, "sc:ids:{g:42}:20781");
    assert_string_equal (k.group, "sc:g:{g:42}:20781");
    assert_string_equal (k.members, "sc:m:{g:42}:20781");
    assert_string_equal (k.dirty, "3:42:20781");
    assert_string_equal (k.seen, "3:42");
    assert_string_equal (k.member, "sc:u:{g:42}:7");
    assert_string_equal (k.authors, "sc:w:{g:42}:20781");
    assert_string_equal (k.authors_prev, "sc:w:{g:42}:20780");
    assert_string_equal (k.channels, "sc:ch:{g:42}");
    assert_string_equal (k.roster, "sc:mem:{g:42}");
    assert_string_equal (k.uids, "sc:uid:{g:42}");
    assert_string_equal (k.state, "sc:gs:{g:42}");
    assert_string_equal (k.board, "sc:lb:{g:42}");
    assert_string_equal (k.replies, "sc:r:{g:42}");
    assert_string_equal (k.lock, "sc:lock:{g:42}");
    assert_string_equal (k.version, "sc:v:{g:42}");
    scoring_keys (&k, 3, 42, 7, 1795476600LL * 1000000, 0);
    assert_int_equal (k.day, 20780);
    assert_int_equal (k.hour, 23);
    //  Large and negative ids, a day before 1970: as printf wrote them.
    scoring_keys (&k, 9007199254740993LL, -5, 123456789012LL, -86400LL * 1000000 - 1, 0);
    assert_string_equal (k.authors_prev, "sc:w:{g:-5}:-3");
    assert_string_equal (k.member, "sc:u:{g:-5}:123456789012");
    assert_string_equal (k.dirty, "9007199254740993:-5:-2");
    assert_string_equal (k.seen, "9007199254740993:-5");
    //  The hour's field in the group-day hash, what "h%d" wrote.
    for (int hr = 0; hr < 24; hr++) {
        char want [8];
        snprintf (want, sizeof (want), "h%d", hr);
        assert_string_equal (scoring_hour_field (hr), want);
    }
    assert_null (scoring_hour_field (-1));
    assert_null (scoring_hour_field (24));
}

//  The numbers counting writes: what Lua's tostring ("%.14g") writes,
//  whole numbers without printf (qy_fmt_i64: test_common_util).
static void test_numbers (void **state)
{
    (void) state;
    const double nums [] = { 0, -0.0, 1, -1, 0.5, 1.0 / 3, 2.0 / 3 * 1e-7, 19675, 1700000000, 99999999999999.0,
                             1e14, 123456789012345.0, -1e15, 1.5e300, 3.999999999999999, 0.1 + 0.2 };
    for (size_t i = 0; i < sizeof (nums) / sizeof (nums [0]); i++) {
        char want [32], got [32];
        snprintf (want, sizeof (want), "%.14g", nums [i]);
        assert_int_equal (scoring_fmt_num (got, nums [i]), strlen (want));
        assert_string_equal (got, want);
    }
    //  And the decayed activity values counting makes, at random.
    srand (11);
    for (int i = 0; i < 10000; i++) {
        double v = (double) rand () / RAND_MAX * pow (10, rand () % 18 - 4);
        if (i % 2)
            v = floor (v);
        char want [32], got [32];
        snprintf (want, sizeof (want), "%.14g", v);
        scoring_fmt_num (got, v);
        assert_string_equal (got, want);
    }
}

static void test_question (void **state)
{
    (void) state;
    assert_true (scoring_is_question ("这个好用吗"));
    assert_true (scoring_is_question ("这个好用吗？"));
    assert_true (scoring_is_question ("what time? "));
    assert_true (scoring_is_question ("还有货呢~"));
    assert_true (scoring_is_question ("几点开始?!"));
    assert_false (scoring_is_question ("好的。"));
    assert_false (scoring_is_question (""));
    assert_false (scoring_is_question (NULL));
}

static void test_substantial (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.kind = QY__KIND__TEXT;
    ev.text = "好的";
    assert_false (scoring_is_substantial (&ev, 20));
    ev.text = "这款面霜我用了两个星期，保湿效果很好，不油腻，推荐给干皮的姐妹";
    assert_true (scoring_is_substantial (&ev, 20));
    ev.text = "a b c d e";               //  blanks are not characters
    assert_false (scoring_is_substantial (&ev, 6));
    ev.kind = QY__KIND__LINK;
    ev.text = "";
    assert_true (scoring_is_substantial (&ev, 20));
    ev.kind = QY__KIND__EMOTION;
    assert_false (scoring_is_substantial (&ev, 20));
}

static void test_staff (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.role = QY__ROLE__MEMBER;
    assert_false (scoring_is_staff (&ev));
    ev.role = QY__ROLE__BOT;
    assert_true (scoring_is_staff (&ev));
    ev.role = QY__ROLE__STAFF;
    assert_true (scoring_is_staff (&ev));
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_kinds),
        cmocka_unit_test (test_violation),
        cmocka_unit_test (test_keys),
        cmocka_unit_test (test_numbers),
        cmocka_unit_test (test_question),
        cmocka_unit_test (test_substantial),
        cmocka_unit_test (test_staff),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
