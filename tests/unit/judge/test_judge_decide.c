/*  =========================================================================
    test_judge_decide.c - thresholds, penalty ladder, nickname format.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "judge.h"

static void
test_thresholds (void **state)
{
    (void) state;
    judge_thresholds_t t = judge_thresholds_default ();
    assert_int_equal (judge_decide (&t, 0), JUDGE_ALLOW);
    assert_int_equal (judge_decide (&t, 0.49), JUDGE_ALLOW);
    assert_int_equal (judge_decide (&t, 0.5), JUDGE_REVIEW);
    assert_int_equal (judge_decide (&t, 1.0), JUDGE_RECALL);
    assert_int_equal (judge_decide (&t, 1.99), JUDGE_RECALL);
    assert_int_equal (judge_decide (&t, 2.0), JUDGE_MUTE);
    assert_int_equal (judge_decide (&t, 3.0), JUDGE_REMOVE);
    assert_int_equal (judge_decide (&t, 100), JUDGE_REMOVE);
    //  A stricter brand
    judge_thresholds_t strict = { 0.2, 0.4, 0.8, 1.2 };
    assert_int_equal (judge_decide (&strict, 0.5), JUDGE_RECALL);
    assert_string_equal (judge_action_name (JUDGE_MUTE), "mute");
    assert_string_equal (judge_action_name (JUDGE_ALLOW), "allow");
}

static judge_hit_t
s_hit (const char *rule, qy_category_t cat, double weight, int cancelable)
{
    judge_hit_t h;
    memset (&h, 0, sizeof (h));
    h.rule = rule;
    h.category = cat;
    h.weight = weight;
    h.cancelable = cancelable;
    h.contact = cancelable;
    return h;
}

//  A confident classifier's negative weight cancels its category's contact
//  details, never a dictionary word, another category, or below zero.
static void
test_settle (void **state)
{
    (void) state;
    judge_result_t r;
    memset (&r, 0, sizeof (r));
    r.hits [r.nhits++] = s_hit ("ad.wechat_id", QY_CAT_AD, 0.5, 1);
    r.hits [r.nhits++] = s_hit ("ad.contact_strong", QY_CAT_AD, 0.25, 1);
    r.hits [r.nhits++] = s_hit ("ad.classifier_clear", QY_CAT_AD, -1.0, 0);
    r.hits [r.nhits++] = s_hit ("abuse.keyword", QY_CAT_ABUSE, 0.6, 0);
    judge_result_settle (&r);
    assert_true (r.score [QY_CAT_AD] == 0);
    assert_true (r.score [QY_CAT_ABUSE] > 0.59 && r.score [QY_CAT_ABUSE] < 0.61);
    assert_true (r.total > 0.59 && r.total < 0.61);
    assert_int_equal (r.top, QY_CAT_ABUSE);

    //  A brand's own word stands
    r.hits [r.nhits++] = s_hit ("ad.secret", QY_CAT_AD, 1.0, 0);
    judge_result_settle (&r);
    assert_true (r.score [QY_CAT_AD] > 0.99 && r.score [QY_CAT_AD] < 1.01);
    assert_int_equal (r.top, QY_CAT_AD);

    //  More contact evidence than the negative weight: the rest counts
    r.nhits = 0;
    r.hits [r.nhits++] = s_hit ("ad.wechat_id", QY_CAT_AD, 1.0, 1);
    r.hits [r.nhits++] = s_hit ("ad.qq", QY_CAT_AD, 0.8, 1);
    r.hits [r.nhits++] = s_hit ("ad.classifier_clear", QY_CAT_AD, -1.0, 0);
    judge_result_settle (&r);
    assert_true (r.score [QY_CAT_AD] > 0.79 && r.score [QY_CAT_AD] < 0.81);

    //  Dry-run hits never count
    r.hits [0].dry_run = 1;
    judge_result_settle (&r);
    assert_true (r.score [QY_CAT_AD] == 0);
    assert_true (r.total == 0);
    assert_int_equal (r.top, QY_CAT__COUNT);
}

static void
test_ladder_default (void **state)
{
    (void) state;
    judge_ladder_t l = judge_ladder_default ();
    judge_ladder_step_t s = judge_ladder_step (&l, 0);
    assert_int_equal (s.kind, JUDGE_STEP_WARN);
    s = judge_ladder_step (&l, 1);
    assert_int_equal (s.kind, JUDGE_STEP_MUTE);
    assert_int_equal (s.minutes, 1440);
    s = judge_ladder_step (&l, 2);
    assert_int_equal (s.minutes, 7 * 1440);
    s = judge_ladder_step (&l, 3);
    assert_int_equal (s.minutes, 15 * 1440);
    s = judge_ladder_step (&l, 4);
    assert_int_equal (s.kind, JUDGE_STEP_REMOVE_BLOCK);
    s = judge_ladder_step (&l, 40);
    assert_int_equal (s.kind, JUDGE_STEP_REMOVE_BLOCK);
    s = judge_ladder_step (&l, -3);
    assert_int_equal (s.kind, JUDGE_STEP_WARN);
    assert_string_equal (judge_step_name (JUDGE_STEP_REMOVE_BLOCK), "remove");
}

static void
test_ladder_parse (void **state)
{
    (void) state;
    judge_ladder_t l;
    assert_int_equal (judge_ladder_parse ("warn, mute:60 ,mute:1440,remove", &l), 0);
    assert_int_equal (l.nsteps, 4);
    assert_int_equal (judge_ladder_step (&l, 1).minutes, 60);
    assert_int_equal (judge_ladder_step (&l, 9).kind, JUDGE_STEP_REMOVE_BLOCK);
    assert_int_equal (judge_ladder_parse ("mute:0", &l), -1);
    assert_int_equal (judge_ladder_parse ("ban", &l), -1);
    assert_int_equal (judge_ladder_parse ("", &l), -1);
    assert_int_equal (judge_ladder_parse ("warn mute:5", &l), -1);
}

static void
test_nickname (void **state)
{
    (void) state;
    const char *p = "昵称-城市-肤质";
    assert_int_equal (judge_nickname_ok (p, "小美-上海-干皮"), 1);
    assert_int_equal (judge_nickname_ok (p, "小美－上海－混油"), 1);     //  full-width dash
    assert_int_equal (judge_nickname_ok (p, "小美-上海"), 0);
    assert_int_equal (judge_nickname_ok (p, "小美--干皮"), 0);
    assert_int_equal (judge_nickname_ok (p, "小美- -干皮"), 0);
    assert_int_equal (judge_nickname_ok (p, "小美-上海-干皮-多余"), 0);
    assert_int_equal (judge_nickname_ok (p, ""), 0);
    assert_int_equal (judge_nickname_ok (p, NULL), 0);
    assert_int_equal (judge_nickname_ok ("昵称", "随便"), 1);
    assert_int_equal (judge_nickname_ok ("re:[^-]+-[0-9]{4}", "小美-1234"), 1);
    assert_int_equal (judge_nickname_ok ("re:[^-]+-[0-9]{4}", "小美-12345"), 0);
    assert_int_equal (judge_nickname_ok ("re:([a-z", "x"), -1);
    assert_int_equal (judge_nickname_ok (NULL, "x"), -1);
}

static void
test_categories (void **state)
{
    (void) state;
    for (int c = 0; c < QY_CAT__COUNT; c++)
        assert_int_equal (judge_category_parse (judge_category_name ((qy_category_t) c)), c);
    assert_int_equal (judge_category_parse ("spam"), QY_CAT__COUNT);
    assert_string_equal (judge_category_name (QY_CAT_SPAM_WAVE), "spam_wave");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_thresholds),
        cmocka_unit_test (test_settle),
        cmocka_unit_test (test_ladder_default),
        cmocka_unit_test (test_ladder_parse),
        cmocka_unit_test (test_nickname),
        cmocka_unit_test (test_categories),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
