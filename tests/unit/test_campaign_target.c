//  campaign_target: which groups and members a campaign reaches, A/B
//  variants, due times, schedules, and the activities' arithmetic.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "campaign.h"

static char *s_one [] = { "east" };
static char *s_vip [] = { "vip", "新品" };
static char *s_lurker [] = { "lurker" };

static void test_groups (void **state)
{
    (void) state;
    const char *tags [] = { "新品" };
    campaign_group_t g = { .id = 7, .code = "g7", .type = "long_term", .store_code = "s1", .region_code = "east",
                           .state = "healthy", .tags = tags, .ntags = 1 };
    campaign_target_t t = { 0 };
    assert_true (campaign_target_group (&t, &g));                   //  no filter: every group
    t.regions = (campaign_strv_t) { s_one, 1 };
    assert_true (campaign_target_group (&t, &g));
    g.region_code = "north";
    assert_false (campaign_target_group (&t, &g));
    g.region_code = "east";
    t.group_tags = (campaign_strv_t) { s_vip, 2 };                  //  any listed tag
    assert_true (campaign_target_group (&t, &g));
    g.ntags = 0;
    assert_false (campaign_target_group (&t, &g));
    t.group_tags.n = 0;
    char *declining [] = { "declining" };
    t.group_states = (campaign_strv_t) { declining, 1 };
    assert_false (campaign_target_group (&t, &g));
    g.state = NULL;                                                  //  unknown state never matches a filter
    assert_false (campaign_target_group (&t, &g));
    g.state = "declining";
    assert_true (campaign_target_group (&t, &g));
}

static void test_segments (void **state)
{
    (void) state;
    campaign_segment_t s = { .set = true, .trust_min = 1, .trust_max = 3, .states = { s_lurker, 1 } };
    campaign_member_t m = { .trust = 2, .state = "lurker" };
    assert_true (campaign_segment_match (&s, &m));
    m.trust = 4;
    assert_false (campaign_segment_match (&s, &m));
    m.trust = -1;                                                    //  unknown (no member_states row)
    assert_false (campaign_segment_match (&s, &m));
    m.trust = 1;
    m.state = "active";
    assert_false (campaign_segment_match (&s, &m));
    m.state = "lurker";
    const char *tags [] = { "vip" };
    s.tags = (campaign_strv_t) { s_vip, 2 };
    assert_false (campaign_segment_match (&s, &m));
    m.tags = tags;
    m.ntags = 1;
    assert_true (campaign_segment_match (&s, &m));
    campaign_segment_t none = { .set = false, .trust_min = -1, .trust_max = -1 };
    campaign_member_t unknown = { .trust = -1 };
    assert_true (campaign_segment_match (&none, &unknown));
}

static void test_keywords (void **state)
{
    (void) state;
    char *kw [] = { "签到", "打卡" };
    campaign_strv_t k = { kw, 2 };
    assert_true (campaign_keyword_match (&k, "今天签到啦"));
    assert_true (campaign_keyword_match (&k, "打卡"));
    assert_false (campaign_keyword_match (&k, "你好"));
    assert_false (campaign_keyword_match (&k, NULL));
}

static void test_variants (void **state)
{
    (void) state;
    campaign_variant_t v [] = { { "A", "a", 3 }, { "B", "b", 1 } };
    campaign_step_t s = { .variants = v, .nvariants = 2 };
    int count [2] = { 0 };
    for (int64_t g = 1; g <= 4000; g++) {
        size_t k = campaign_variant_pick (&s, 9, 1, g);
        assert_true (k < 2);
        assert_int_equal (k, campaign_variant_pick (&s, 9, 1, g));      //  stable per group
        count [k]++;
    }
    //  3:1 by weight, give or take.
    assert_true (count [0] > 2700 && count [0] < 3300);
    campaign_step_t one = { .variants = v, .nvariants = 1 };
    assert_int_equal (campaign_variant_pick (&one, 9, 1, 5), 0);
}

static void test_due (void **state)
{
    (void) state;
    int32_t day = 20412;                                              //  2025-11-20
    campaign_step_t at = { .day = 2, .at_min = 9 * 60 };
    assert_int_equal (campaign_step_due (&at, day, 0, 480, 0), campaign_local_us (day + 2, 540, 480));
    campaign_step_t best = { .day = 0, .at_min = -1, .best_time = true };
    assert_int_equal (campaign_step_due (&best, day, 0, 480, 15), campaign_local_us (day, 900, 480));
    campaign_step_t now = { .day = 1, .at_min = -1 };
    assert_int_equal (campaign_step_due (&now, day, 5000000, 480, 0), 5000000 + 86400LL * 1000000);
}

static void test_schedule (void **state)
{
    (void) state;
    campaign_trigger_t t = { .kind = CAMPAIGN_T_SCHEDULE, .from_day = CAMPAIGN_NO_DAY, .until_day = CAMPAIGN_NO_DAY };
    t.weekdays = 1 << 1;                                              //  Mondays
    assert_true (campaign_schedule_on (&t, campaign_days_from_civil (2025, 11, 17)));
    assert_false (campaign_schedule_on (&t, campaign_days_from_civil (2025, 11, 18)));
    int32_t dates [] = { campaign_days_from_civil (2025, 11, 20) };
    t.dates = dates;
    t.ndates = 1;
    assert_true (campaign_schedule_on (&t, dates [0]));
    t.until_day = campaign_days_from_civil (2025, 11, 19);
    assert_false (campaign_schedule_on (&t, dates [0]));
    campaign_trigger_t every = { .kind = CAMPAIGN_T_SCHEDULE, .every_days = 3,
                                 .from_day = campaign_days_from_civil (2025, 11, 1), .until_day = CAMPAIGN_NO_DAY };
    assert_true (campaign_schedule_on (&every, every.from_day));
    assert_false (campaign_schedule_on (&every, every.from_day + 1));
    assert_true (campaign_schedule_on (&every, every.from_day + 6));
    assert_false (campaign_schedule_on (&every, every.from_day - 3));
}

static void test_checkin (void **state)
{
    (void) state;
    assert_int_equal (campaign_checkin_streak (CAMPAIGN_NO_DAY, 0, 100), 1);
    assert_int_equal (campaign_checkin_streak (99, 4, 100), 5);
    assert_int_equal (campaign_checkin_streak (98, 4, 100), 1);       //  a missed day restarts the streak
    assert_int_equal (campaign_checkin_streak (100, 4, 100), 4);
    campaign_trigger_t t = { .points = 10, .streak_bonus = 5, .max_bonus = 12 };
    assert_int_equal (campaign_checkin_points (&t, 1), 10);
    assert_int_equal (campaign_checkin_points (&t, 2), 15);
    assert_int_equal (campaign_checkin_points (&t, 30), 22);          //  bonus capped
}

static void test_draw (void **state)
{
    (void) state;
    int64_t ids [] = { 40, 10, 30, 20, 50 }, shuffled [] = { 50, 40, 30, 20, 10 };
    int64_t w1 [5], w2 [5];
    assert_int_equal (campaign_draw (ids, 5, 42, 3, w1), 3);
    //  Same seed and same eligible set, in any order: same winners.
    assert_int_equal (campaign_draw (shuffled, 5, 42, 3, w2), 3);
    assert_memory_equal (w1, w2, sizeof (int64_t) * 3);
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            assert_true (w1 [i] != w1 [j]);
    //  More winners than eligible: everyone wins once.
    assert_int_equal (campaign_draw (ids, 5, 7, 9, w2), 5);
    assert_int_equal (campaign_draw (ids, 0, 7, 2, w2), 0);
    //  Every member can win: over many seeds each id is drawn first about equally.
    int first [6] = { 0 };
    for (uint64_t seed = 1; seed <= 5000; seed++) {
        campaign_draw (ids, 5, seed, 1, w2);
        first [w2 [0] / 10]++;
    }
    for (int i = 1; i <= 5; i++)
        assert_true (first [i] > 850 && first [i] < 1150);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_groups),
        cmocka_unit_test (test_segments),
        cmocka_unit_test (test_keywords),
        cmocka_unit_test (test_variants),
        cmocka_unit_test (test_due),
        cmocka_unit_test (test_schedule),
        cmocka_unit_test (test_checkin),
        cmocka_unit_test (test_draw),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
