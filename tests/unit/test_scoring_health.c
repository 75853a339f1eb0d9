//  Group health on scripted weeks, answers worked out by hand.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "scoring.h"

static void test_gini_top (void **state)
{
    (void) state;
    //  Sorted ascending 10 10 10 10 20 40, n 6, total 100:
    //  Σ (2i − 7) x = −50 −30 −10 +10 +60 +200 = 180; G = 180 / 600 = 0.3.
    int64_t v [] = { 40, 10, 20, 10, 10, 10 };
    assert_float_equal (scoring_gini (v, 6), 0.3, 1e-12);
    assert_float_equal (scoring_top_share (v, 6, 3), 0.7, 1e-12);
    assert_float_equal (scoring_top_share (v, 6, 1), 0.4, 1e-12);
    int64_t equal [] = { 5, 5, 5, 5 };
    assert_float_equal (scoring_gini (equal, 4), 0, 1e-12);
    //  One speaker of four has all: G = (n − 1) / n = 0.75.
    int64_t one [] = { 0, 0, 0, 12 };
    assert_float_equal (scoring_gini (one, 4), 0.75, 1e-12);
    assert_float_equal (scoring_gini (one, 1), 0, 1e-12);
    assert_float_equal (scoring_top_share (one, 0, 3), 0, 1e-12);
}

static int64_t s_speakers [] = { 40, 10, 20, 10, 10, 10 };

//  100 members; 30 messages a day (3 from staff) for 14 days; 30 speakers
//  this week, 28 the week before, 40 in the month; 5 joins, 2 leaves and 2
//  violations this week; 60 days old.
static void s_week (scoring_group_input_t *in)
{
    memset (in, 0, sizeof (*in));
    for (int d = 0; d < 14; d++) {
        in->day [d].msgs = 30;
        in->day [d].staff = 3;
        in->day [d].active = 12;
    }
    in->day [0].joins = 3;
    in->day [2].joins = 2;
    in->day [1].leaves = 2;
    in->day [3].viol = 2;
    in->members = 100;
    in->wau = 30;
    in->wau_prev = 28;
    in->mau = 40;
    in->speaker_msgs = s_speakers;
    in->n_speakers = 6;
    in->type = "long_term";
    in->age_days = 60;
    in->silent_days = 0;
    in->span_days = 60;
}

static void test_healthy (void **state)
{
    (void) state;
    scoring_group_input_t in;
    s_week (&in);
    scoring_health_t h;
    scoring_group_health (&in, &h);
    assert_int_equal (h.dau, 12);
    assert_float_equal (h.active_ratio, 0.3, 1e-12);
    assert_float_equal (h.msgs_per_day, 30, 1e-12);
    assert_float_equal (h.top3_share, 0.7, 1e-12);
    assert_float_equal (h.gini, 0.3, 1e-12);
    assert_float_equal (h.self_activation, 0.9, 1e-12);
    assert_float_equal (h.growth_rate, 0.05, 1e-12);
    assert_float_equal (h.leave_rate, 0.02, 1e-12);
    assert_float_equal (h.violation_rate, 2.0 / 210, 1e-12);
    //  30 × 1 (activity 0.3 / 0.3) + 20 × 1 (30 a day ≥ max (5, 10)) + 15 × 0.6 (1 − 0.7 over 0.5)
    //  + 15 × 0.9 + 10 × 0.65 (0.5 + 5 × 3 / 100) + 10 × (1 − 10 × 2 / 210) = 88.05 → 88.
    assert_int_equal (h.health, 88);
    assert_string_equal (h.state, "healthy");
    assert_string_equal (h.lifecycle, "long_term");
}

static void test_declining_growing (void **state)
{
    (void) state;
    scoring_group_input_t in;
    scoring_health_t h;
    //  The week before had 60 a day: 210 < 0.6 × 420.
    s_week (&in);
    for (int d = 7; d < 14; d++)
        in.day [d].msgs = 60;
    scoring_group_health (&in, &h);
    assert_string_equal (h.state, "declining");
    //  Speakers fell from 50 to 30 (< 0.7 × 50): declining too.
    s_week (&in);
    in.wau_prev = 50;
    scoring_group_health (&in, &h);
    assert_string_equal (h.state, "declining");
    //  12 joins and 2 leaves: net 10 ≥ max (3, 5 % of 100): growing;
    //  growth part 0.5 + 5 × 0.1 = 1: 30 + 20 + 9 + 13.5 + 10 + 9.05 = 91.55 → 92.
    s_week (&in);
    in.day [4].joins = 7;
    scoring_group_health (&in, &h);
    assert_string_equal (h.state, "growing");
    assert_int_equal (h.health, 92);
    //  Speakers up from 20 to 30 (≥ 1.2 × 20 and ≥ 20 + 2): growing.
    s_week (&in);
    in.wau_prev = 20;
    scoring_group_health (&in, &h);
    assert_string_equal (h.state, "growing");
}

static void test_zombie (void **state)
{
    (void) state;
    scoring_group_input_t in;
    scoring_health_t h;
    //  Only staff spoke this week (3 a day): zombie, whatever came before.
    s_week (&in);
    for (int d = 0; d < 7; d++) {
        in.day [d].msgs = 3;
        in.day [d].active = 1;
    }
    in.wau = 1;
    scoring_group_health (&in, &h);
    assert_string_equal (h.state, "zombie");
    assert_float_equal (h.self_activation, 0, 1e-12);
    //  A silent group in its first week is not judged: healthy, or growing with joins.
    memset (&in, 0, sizeof (in));
    in.members = 10;
    in.age_days = 3;
    in.type = "long_term";
    scoring_group_health (&in, &h);
    assert_string_equal (h.state, "healthy");
    //  Nothing at all: 10 × 0.5 (growth part, no net change) = 5.
    assert_int_equal (h.health, 5);
    in.day [0].joins = 4;
    scoring_group_health (&in, &h);
    assert_string_equal (h.state, "growing");
}

static void test_lifecycle (void **state)
{
    (void) state;
    scoring_group_input_t in;
    scoring_health_t h;
    s_week (&in);
    in.type = "event";
    scoring_group_health (&in, &h);
    assert_string_equal (h.lifecycle, "temporary");
    //  Default type, lived 6 days then silent 12 of its 20: an event group.
    in.type = "long_term";
    in.age_days = 20;
    in.span_days = 6;
    in.silent_days = 12;
    scoring_group_health (&in, &h);
    assert_string_equal (h.lifecycle, "temporary");
    in.span_days = 11;                  //  lived longer than about a week
    scoring_group_health (&in, &h);
    assert_string_equal (h.lifecycle, "long_term");
    in.span_days = 6;
    in.type = "vip";                    //  a type that says long-term
    scoring_group_health (&in, &h);
    assert_string_equal (h.lifecycle, "long_term");
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_gini_top),
        cmocka_unit_test (test_healthy),
        cmocka_unit_test (test_declining_growing),
        cmocka_unit_test (test_zombie),
        cmocka_unit_test (test_lifecycle),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
