//  moderation_policy: settings, flood rule, levels, the penalty ladder and notices.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "moderation.h"

static void test_defaults_and_settings (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    assert_true (p.exempt_staff);
    assert_int_equal (p.strike_days, 90);
    char err [256];
    assert_int_equal (moderation_policy_apply_json (&p,
        "{\"moderation\": {\"review\": 0.4, \"recall\": 0.8, \"mute\": 1.5, \"remove\": 2.5, "
        "\"ladder\": \"warn,mute:60,remove\", \"exempt_staff\": false, \"strike_days\": 30}}", err, sizeof (err)), 0);
    assert_true (p.thresholds.review == 0.4 && p.thresholds.remove == 2.5);
    assert_int_equal (p.ladder.nsteps, 3);
    assert_false (p.exempt_staff);
    assert_int_equal (p.strike_days, 30);
    //  Thresholds must rise; a bad ladder is refused.
    assert_int_equal (moderation_policy_apply_json (&p, "{\"recall\": 5}", err, sizeof (err)), -1);
    assert_non_null (strstr (err, "rise"));
    moderation_policy_default (&p);
    assert_int_equal (moderation_policy_apply_json (&p, "{\"ladder\": \"warn,explode\"}", err, sizeof (err)), -1);
    assert_int_equal (moderation_policy_apply_json (&p, "not json", err, sizeof (err)), -1);
    assert_int_equal (moderation_policy_apply_json (&p, "{}", err, sizeof (err)), 0);
}

static void test_flood (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    char err [256];
    judge_rule_row_t bad = { "flood.x", "flood", "flood", "ten per minute", 1.0, 0 };
    assert_int_equal (moderation_policy_flood_rule (&p, &bad, err, sizeof (err)), -1);
    judge_rule_row_t row = { "flood.member", "flood", "flood", "5/60", 1.0, 0 };
    assert_int_equal (moderation_policy_flood_rule (&p, &row, err, sizeof (err)), 0);
    assert_string_equal (p.flood_rule, "flood.member");
    assert_int_equal (p.flood_max, 5);
    assert_int_equal (p.flood_window_s, 60);
    assert_true (p.flood_weight == 1.0);
    assert_false (p.flood_dry_run);
    //  A window longer than a day is refused.
    judge_rule_row_t day = { "flood.x", "flood", "flood", "5/86401", 1.0, 0 };
    assert_int_equal (moderation_policy_flood_rule (&p, &day, err, sizeof (err)), -1);
    row.dry_run = 1;
    assert_int_equal (moderation_policy_flood_rule (&p, &row, err, sizeof (err)), 0);
    assert_true (p.flood_dry_run);
}

static void test_ladder (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    moderation_penalty_t pen = moderation_penalty (&p, JUDGE_ALLOW, 0);
    assert_int_equal (pen.action, QY__ACTION__ALLOW);
    pen = moderation_penalty (&p, JUDGE_REVIEW, 3);
    assert_int_equal (pen.action, QY__ACTION__REVIEW);
    assert_false (pen.strike);
    assert_false (pen.recall);
    //  warn → mute 1 day → 7 days → 15 days → remove and block, then block again.
    static const struct { int prior; Qy__Action action; int minutes; } want [] = {
        { 0, QY__ACTION__WARN, 0 }, { 1, QY__ACTION__MUTE, 1440 }, { 2, QY__ACTION__MUTE, 10080 },
        { 3, QY__ACTION__MUTE, 21600 }, { 4, QY__ACTION__BLOCK, 0 }, { 9, QY__ACTION__BLOCK, 0 },
    };
    for (size_t i = 0; i < sizeof (want) / sizeof (want [0]); i++) {
        pen = moderation_penalty (&p, JUDGE_RECALL, want [i].prior);
        assert_int_equal (pen.action, want [i].action);
        assert_int_equal (pen.mute_minutes, want [i].minutes);
        assert_true (pen.strike && pen.recall);
    }
    //  A mute-level score skips the warning; a remove-level score blocks at once.
    pen = moderation_penalty (&p, JUDGE_MUTE, 0);
    assert_int_equal (pen.action, QY__ACTION__MUTE);
    assert_int_equal (pen.mute_minutes, 1440);
    pen = moderation_penalty (&p, JUDGE_REMOVE, 0);
    assert_int_equal (pen.action, QY__ACTION__BLOCK);
}

static void test_notice (void **state)
{
    (void) state;
    moderation_penalty_t warn = { QY__ACTION__WARN, true, true, 0, false, NULL };
    char *t = moderation_notice (&warn, "小红", "ad", 1, 0, 480);
    assert_non_null (strstr (t, "@小红"));
    assert_non_null (strstr (t, "广告"));
    assert_non_null (strstr (t, "第1次"));
    free (t);
    moderation_penalty_t mute = { QY__ACTION__MUTE, true, true, 1440, false, NULL };
    //  Until 2026-11-24 07:30 China time.
    t = moderation_notice (&mute, "", "flood", 2, 1795476600LL * 1000000, 480);
    assert_non_null (strstr (t, "@群成员"));
    assert_non_null (strstr (t, "因刷屏"));
    assert_non_null (strstr (t, "11月24日 07:30"));
    free (t);
    t = moderation_mute_reminder ("小明", 1795476600LL * 1000000, 480);
    assert_string_equal (t, "@小明 您正在禁言中（至11月24日 07:30），期间发言会被自动撤回。");
    free (t);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_defaults_and_settings),
        cmocka_unit_test (test_flood),
        cmocka_unit_test (test_ladder),
        cmocka_unit_test (test_notice),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
