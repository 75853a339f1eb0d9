//  campaign_template: rendering and the welcome trigger.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "campaign.h"

static void test_render (void **state)
{
    (void) state;
    campaign_vars_t v = { .nickname = "小红", .group = "上海1号店会员1群", .store = "上海1号店" };
    char err [160];
    char *t = campaign_render ("欢迎 {nickname} 加入{group}！这里是{store}。", &v, err, sizeof (err));
    assert_string_equal (t, "欢迎 小红 加入上海1号店会员1群！这里是上海1号店。");
    free (t);
    t = campaign_render ("{{literal}} {nickname}{nickname}", &v, err, sizeof (err));
    assert_string_equal (t, "{literal} 小红小红");
    free (t);
    campaign_vars_t empty = { 0 };
    t = campaign_render ("hi {nickname}!", &empty, err, sizeof (err));
    assert_string_equal (t, "hi !");
    free (t);
}

static void test_errors (void **state)
{
    (void) state;
    campaign_vars_t v = { .nickname = "a", .group = "b", .store = "c" };
    char err [160];
    assert_null (campaign_render ("hi {bogus}", &v, err, sizeof (err)));
    assert_non_null (strstr (err, "{bogus}"));
    assert_null (campaign_render ("hi {nickname", &v, err, sizeof (err)));
    assert_non_null (strstr (err, "unclosed"));
}

static void test_wants_welcome (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.kind = QY__KIND__JOIN;
    assert_true (campaign_wants_welcome (&ev));
    Qy__Verdict v = QY__VERDICT__INIT;
    v.action = QY__ACTION__REMOVE;      //  a blocked member being removed is not welcomed
    ev.verdict = &v;
    assert_false (campaign_wants_welcome (&ev));
    v.action = QY__ACTION__ALLOW;
    assert_true (campaign_wants_welcome (&ev));
    ev.role = QY__ROLE__BOT;
    assert_false (campaign_wants_welcome (&ev));
    ev.role = QY__ROLE__STAFF;
    assert_false (campaign_wants_welcome (&ev));
    ev.role = QY__ROLE__MEMBER;
    ev.kind = QY__KIND__TEXT;
    assert_false (campaign_wants_welcome (&ev));
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_render),
        cmocka_unit_test (test_errors),
        cmocka_unit_test (test_wants_welcome),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
