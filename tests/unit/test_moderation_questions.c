//  moderation_questions: what a customer's question is, business hours,
//  and when a waiting question alerts the store and then HQ. Pure.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "moderation.h"

static void test_question (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.kind = QY__KIND__TEXT;
    ev.member_id = 7;
    ev.text = "请问这款还有货吗？";
    assert_true (moderation_question (&ev, false));
    ev.text = "今天天气真好";
    assert_false (moderation_question (&ev, false));
    assert_true (moderation_question (&ev, true));        //  a waiting ping is a question
    ev.text = "有货吗";
    ev.role = QY__ROLE__STAFF;
    assert_false (moderation_question (&ev, false));      //  staff ask nobody
    ev.role = QY__ROLE__MEMBER;
    ev.kind = QY__KIND__IMAGE;
    assert_false (moderation_question (&ev, false));
    ev.kind = QY__KIND__TEXT;
    ev.member_id = 0;
    assert_false (moderation_question (&ev, false));
}

//  2026-01-01 00:00 UTC = 08:00 in China (+480).
#define S_DAY0 1767225600LL
static int64_t s_at (int hour, int minute)
{
    return (S_DAY0 + (int64_t) (hour - 8) * 3600 + minute * 60) * 1000000;
}

static void test_hours_and_due (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);            //  10 min, 30 min, 09:00–21:00
    assert_false (moderation_open_hours (&p, s_at (8, 59), 480));
    assert_true (moderation_open_hours (&p, s_at (9, 0), 480));
    assert_false (moderation_open_hours (&p, s_at (21, 0), 480));
    int64_t asked = s_at (10, 0);
    assert_int_equal (moderation_question_due (&p, asked, false, s_at (10, 9), 480), MODERATION_DUE_NONE);
    assert_int_equal (moderation_question_due (&p, asked, false, s_at (10, 10), 480), MODERATION_DUE_ALERT);
    assert_int_equal (moderation_question_due (&p, asked, true, s_at (10, 20), 480), MODERATION_DUE_NONE);
    assert_int_equal (moderation_question_due (&p, asked, true, s_at (10, 30), 480), MODERATION_DUE_ESCALATE);
    //  Asked at night: nothing until the store opens, then the alert.
    asked = s_at (22, 30);
    assert_int_equal (moderation_question_due (&p, asked, false, s_at (23, 30), 480), MODERATION_DUE_NONE);
    assert_int_equal (moderation_question_due (&p, asked, false, asked + 11 * 3600LL * 1000000, 480),
                      MODERATION_DUE_ALERT);      //  09:30 the next morning
    //  Hours over midnight, all day, and off.
    char err [256];
    assert_int_equal (moderation_policy_apply_json (&p, "{\"answer\":{\"from\":\"20:00\",\"to\":\"02:00\"}}", err,
                                                    sizeof (err)), 0);
    assert_true (moderation_open_hours (&p, s_at (23, 0), 480));
    assert_false (moderation_open_hours (&p, s_at (12, 0), 480));
    assert_int_equal (moderation_policy_apply_json (&p, "{\"answer\":{\"from\":\"00:00\",\"to\":\"24:00\"}}", err,
                                                    sizeof (err)), 0);
    assert_true (moderation_open_hours (&p, s_at (3, 0), 480));
    assert_int_equal (moderation_policy_apply_json (&p, "{\"answer\":{\"after_s\":0}}", err, sizeof (err)), 0);
    assert_int_equal (moderation_question_due (&p, asked, false, asked + 86400LL * 1000000, 480), MODERATION_DUE_NONE);
    assert_int_equal (moderation_policy_apply_json (&p, "{\"answer\":{\"from\":\"9\"}}", err, sizeof (err)), -1);
    assert_int_equal (moderation_policy_apply_json (&p, "{\"answer\":{\"after\":5}}", err, sizeof (err)), -1);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_question),
        cmocka_unit_test (test_hours_and_due),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
