//  moderation_ladder: the content and behaviour ladders, the review queue's
//  priority, the waiting customer's ping. Pure.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "moderation.h"

static void test_kind (void **state)
{
    (void) state;
    const char *content [] = { "ad", "fraud", "gambling", "porn", "abuse", "spam_wave" };
    for (size_t i = 0; i < sizeof (content) / sizeof (content [0]); i++)
        assert_int_equal (moderation_kind (content [i]), MODERATION_CONTENT);
    assert_int_equal (moderation_kind ("flood"), MODERATION_BEHAVIOUR);
    assert_int_equal (moderation_kind ("format"), MODERATION_BEHAVIOUR);
    assert_int_equal (moderation_kind ("complaint"), MODERATION_BEHAVIOUR);
    assert_int_equal (moderation_kind (NULL), MODERATION_BEHAVIOUR);
    assert_string_equal (moderation_kind_name (MODERATION_CONTENT), "content");
    assert_string_equal (moderation_kind_name (MODERATION_BEHAVIOUR), "behaviour");
}

//  A customer flooding: a reminder, then slow-downs, however often and
//  however high the total; never a strike, a removal or a block.
static void test_behaviour_never_removes (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    moderation_history_t h = { .prior_strikes = 0, .prior_behaviour = 0, .content_recent = false };
    moderation_penalty_t pen = moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h);
    assert_int_equal (pen.action, QY__ACTION__WARN);
    assert_false (pen.recall);
    assert_false (pen.strike);
    assert_true (pen.behaviour);
    for (int k = 1; k < 50; k++) {
        h.prior_behaviour = k;
        for (judge_action_t level = JUDGE_RECALL; level <= JUDGE_REMOVE; level++) {
            pen = moderation_ladder (&p, MODERATION_BEHAVIOUR, level, &h);
            assert_int_equal (pen.action, QY__ACTION__MUTE);
            assert_int_equal (pen.mute_minutes, 10);
            assert_true (pen.recall);
            assert_false (pen.strike);
        }
    }
    //  Below recall it is what the total says (a review, or nothing).
    assert_int_equal (moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_REVIEW, &h).action, QY__ACTION__REVIEW);
    assert_int_equal (moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_ALLOW, &h).action, QY__ACTION__ALLOW);
    //  Per group type: two reminders, a 30-minute slow-down; 0 minutes: only the message recalled.
    char err [256];
    assert_int_equal (moderation_policy_apply_json (&p, "{\"behaviour\":{\"reminders\":2,\"slow_minutes\":30}}", err,
                                                    sizeof (err)), 0);
    h.prior_behaviour = 1;
    assert_int_equal (moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h).action, QY__ACTION__WARN);
    h.prior_behaviour = 2;
    pen = moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h);
    assert_int_equal (pen.mute_minutes, 30);
    assert_int_equal (moderation_policy_apply_json (&p, "{\"behaviour\":{\"slow_minutes\":0}}", err, sizeof (err)), 0);
    pen = moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h);
    assert_int_equal (pen.action, QY__ACTION__WARN);
    assert_true (pen.recall);
    assert_false (pen.strike);
    //  A misspelt key or a wrong type is refused.
    assert_int_equal (moderation_policy_apply_json (&p, "{\"behaviour\":{\"reminder\":2}}", err, sizeof (err)), -1);
    assert_int_equal (moderation_policy_apply_json (&p, "{\"behaviour\":{\"window_h\":0}}", err, sizeof (err)), -1);
    assert_int_equal (moderation_policy_apply_json (&p, "{\"behaviour\":3}", err, sizeof (err)), -1);
}

//  Content climbs the ladder as before; behaviour joins it only for a
//  member with a recent content strike.
static void test_content_ladder (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    moderation_history_t h = { 0 };
    const Qy__Action steps [] = { QY__ACTION__WARN, QY__ACTION__MUTE, QY__ACTION__MUTE, QY__ACTION__MUTE,
                                  QY__ACTION__BLOCK, QY__ACTION__BLOCK };
    for (int k = 0; k < 6; k++) {
        h.prior_strikes = k;
        moderation_penalty_t pen = moderation_ladder (&p, MODERATION_CONTENT, JUDGE_RECALL, &h);
        assert_int_equal (pen.action, steps [k]);
        assert_true (pen.strike);
        assert_false (pen.behaviour);
    }
    //  A spammer (a content strike this week) who floods climbs on.
    h = (moderation_history_t) { .prior_strikes = 1, .prior_behaviour = 0, .content_recent = true };
    moderation_penalty_t pen = moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h);
    assert_int_equal (pen.action, QY__ACTION__MUTE);
    assert_int_equal (pen.mute_minutes, 1440);
    assert_true (pen.strike);
    assert_false (pen.behaviour);
    h.prior_strikes = 4;
    assert_int_equal (moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h).action, QY__ACTION__BLOCK);
    //  link_days 0: behaviour never joins the content ladder.
    p.behaviour_link_days = 0;
    pen = moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h);
    assert_true (pen.behaviour);
    assert_false (pen.strike);
}

//  Abuse through several accounts: the strikes of the member's linked
//  accounts (same unionid or phone) count as theirs.
static void test_linked_accounts (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    moderation_history_t h = { .prior_strikes = 0, .linked_strikes = 1 };
    moderation_penalty_t pen = moderation_ladder (&p, MODERATION_CONTENT, JUDGE_RECALL, &h);
    assert_int_equal (pen.action, QY__ACTION__MUTE);
    assert_int_equal (pen.mute_minutes, 1440);
    h.linked_strikes = 0;
    assert_int_equal (moderation_ladder (&p, MODERATION_CONTENT, JUDGE_RECALL, &h).action, QY__ACTION__WARN);
    h.linked_strikes = 4;
    assert_int_equal (moderation_ladder (&p, MODERATION_CONTENT, JUDGE_RECALL, &h).action, QY__ACTION__BLOCK);
    //  A customer's behaviour is not made heavier by another account's strikes.
    h = (moderation_history_t) { .linked_strikes = 4 };
    assert_int_equal (moderation_ladder (&p, MODERATION_BEHAVIOUR, JUDGE_RECALL, &h).action, QY__ACTION__WARN);
    //  The keys: hashed, the phone by its last 11 digits, "" for neither.
    char a [96], b [96];
    moderation_link_keys ("oU-1", "+86 138-0013-8000", a, sizeof (a));
    moderation_link_keys (NULL, "13800138000", b, sizeof (b));
    assert_non_null (strstr (a, "u:"));
    assert_non_null (strstr (a, b));           //  the same phone, however written
    assert_null (strstr (a, "13800138000"));   //  never the number itself
    moderation_link_keys ("", "123", b, sizeof (b));
    assert_string_equal (b, "");
    moderation_link_keys ("oU-1", NULL, b, sizeof (b));
    assert_int_equal (strncmp (a, b, strlen (b)), 0);
}

static void test_review_priority (void **state)
{
    (void) state;
    //  Enforcement, behaviour, dry-run rows and confident recalls need no person.
    assert_true (isnan (moderation_review_priority (MODERATION_BEHAVIOUR, QY__ACTION__MUTE, 2.0, false)));
    assert_true (isnan (moderation_review_priority (MODERATION_CONTENT, QY__ACTION__REVIEW, 0.7, true)));
    assert_true (isnan (moderation_review_priority (MODERATION_CONTENT, QY__ACTION__WARN, 1.2, false)));
    assert_true (isnan (moderation_review_priority (MODERATION_CONTENT, QY__ACTION__RECALL, 1.2, false)));
    //  A review (left in the group) before a block before a mute, at one score; higher scores first.
    double review = moderation_review_priority (MODERATION_CONTENT, QY__ACTION__REVIEW, 0.8, false);
    double block = moderation_review_priority (MODERATION_CONTENT, QY__ACTION__BLOCK, 0.8, false);
    double mute = moderation_review_priority (MODERATION_CONTENT, QY__ACTION__MUTE, 0.8, false);
    assert_true (review > block && block > mute);
    assert_true (moderation_review_priority (MODERATION_CONTENT, QY__ACTION__REVIEW, 0.9, false) > review);
}

static bool s_ping (const char *s)
{
    return moderation_waiting_ping (s, strlen (s));
}

static void test_waiting_ping (void **state)
{
    (void) state;
    assert_true (s_ping ("有人吗"));
    assert_true (s_ping ("在吗"));
    assert_true (s_ping ("在吗在吗在吗"));
    assert_true (s_ping ("你好请问有人在吗"));
    assert_true (s_ping ("客服在不在"));
    assert_true (s_ping ("hello有人吗"));
    assert_false (s_ping (""));
    assert_false (s_ping ("你好"));                 //  a greeting, no question whether anyone is there
    assert_false (s_ping ("在吗加我微信"));
    assert_false (s_ping ("有人吗要便宜货的私聊"));
    assert_false (s_ping ("哈哈哈哈哈哈"));
    assert_false (moderation_waiting_ping (NULL, 0));
}

static void test_behaviour_notice (void **state)
{
    (void) state;
    moderation_penalty_t pen = { QY__ACTION__WARN, false, false, 0, true, "behaviour.repeat" };
    char *t = moderation_notice (&pen, "小明", "flood", 0, 0, 480);
    assert_non_null (strstr (t, "@小明 温馨提示"));
    assert_non_null (strstr (t, "重复"));
    assert_null (strstr (t, "禁言"));
    free (t);
    pen = (moderation_penalty_t) { QY__ACTION__MUTE, true, false, 10, true, "flood.member" };
    //  Until 2026-11-24 07:30 China time.
    t = moderation_notice (&pen, "小明", "flood", 0, 1795476600LL * 1000000, 480);
    assert_non_null (strstr (t, "慢速"));
    assert_non_null (strstr (t, "11月24日 07:30"));
    assert_non_null (strstr (t, "发言有点快"));
    assert_non_null (strstr (t, "不计入违规"));
    free (t);
    pen.rule = "behaviour.quiet_hours";
    pen.action = QY__ACTION__WARN;
    pen.recall = false;
    t = moderation_notice (&pen, "", "format", 0, 0, 480);
    assert_non_null (strstr (t, "@群成员"));
    assert_non_null (strstr (t, "休息时间"));
    free (t);
}

static void test_behaviour_rule (void **state)
{
    (void) state;
    judge_result_t r;
    memset (&r, 0, sizeof (r));
    assert_null (moderation_behaviour_rule (&r));
    r.hits [0] = (judge_hit_t) { .rule = "ad.phone", .category = QY_CAT_AD, .weight = 0.3 };
    r.hits [1] = (judge_hit_t) { .rule = "behaviour.quiet_hours", .category = QY_CAT_FORMAT, .weight = 1.0 };
    r.hits [2] = (judge_hit_t) { .rule = "flood.member", .category = QY_CAT_FLOOD, .weight = 1.5 };
    r.hits [3] = (judge_hit_t) { .rule = "behaviour.repeat", .category = QY_CAT_FLOOD, .weight = 3.0, .dry_run = 1 };
    r.nhits = 4;
    assert_string_equal (moderation_behaviour_rule (&r), "flood.member");
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_kind),
        cmocka_unit_test (test_behaviour_never_removes),
        cmocka_unit_test (test_content_ladder),
        cmocka_unit_test (test_linked_accounts),
        cmocka_unit_test (test_review_priority),
        cmocka_unit_test (test_waiting_ping),
        cmocka_unit_test (test_behaviour_notice),
        cmocka_unit_test (test_behaviour_rule),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
