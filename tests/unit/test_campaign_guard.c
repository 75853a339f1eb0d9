//  campaign_guard and campaign_clock: the guards in their order, quiet
//  hours across midnight, the best hour, the injectable clock and the
//  brand's calendar.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "campaign.h"

static campaign_guard_in_t s_in (void)
{
    campaign_guard_in_t in = { 0 };
    in.group_age_days = 30;
    in.minute_of_day = 10 * 60;
    return in;
}

static void test_guards (void **state)
{
    (void) state;
    campaign_guards_t g;
    campaign_guards_default (&g);
    const char *guard;
    int defer;
    campaign_guard_in_t in = s_in ();
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_PASS);
    assert_null (guard);
    //  No promotion in a group's first N days (3 by default), then fine.
    in.promotional = true;
    in.group_age_days = 2;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_BLOCK);
    assert_string_equal (guard, "new_group");
    in.group_age_days = 3;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_PASS);
    //  K promotional posts per group per day; a non-promotional post still passes.
    in.promos_today = 2;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_BLOCK);
    assert_string_equal (guard, "promo_per_day");
    in.promotional = false;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_PASS);
    //  One @all a day.
    in.at_all = true;
    in.at_all_today = 1;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_BLOCK);
    assert_string_equal (guard, "at_all_per_day");
    in = s_in ();
    //  A member contacted by J campaigns this week; opt-out comes first.
    in.has_subject = true;
    in.subject_week = 2;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_BLOCK);
    assert_string_equal (guard, "member_per_week");
    in.opted_out = true;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_BLOCK);
    assert_string_equal (guard, "opt_out");
    //  A reply the member asked for is not capped, but opt-out still holds.
    in.reply = true;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_BLOCK);
    in.opted_out = false;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_PASS);
}

static void test_quiet_hours (void **state)
{
    (void) state;
    campaign_guards_t g;
    campaign_guards_default (&g);
    assert_true (campaign_quiet (&g, 22 * 60));
    assert_true (campaign_quiet (&g, 23 * 60 + 59));
    assert_true (campaign_quiet (&g, 0));
    assert_true (campaign_quiet (&g, 7 * 60 + 59));
    assert_false (campaign_quiet (&g, 8 * 60));
    assert_false (campaign_quiet (&g, 21 * 60 + 59));
    const char *guard;
    int defer;
    campaign_guard_in_t in = s_in ();
    in.minute_of_day = 23 * 60 + 30;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_DEFER);
    assert_string_equal (guard, "quiet_hours");
    assert_int_equal (defer, 8 * 60 + 30);          //  until 08:00
    in.minute_of_day = 7 * 60;
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_DEFER);
    assert_int_equal (defer, 60);
    in.reply = true;                                 //  answers are not held back
    assert_int_equal (campaign_guard_check (&g, &in, &guard, &defer), CAMPAIGN_PASS);
    //  A group override: quiet at lunch instead, within one day.
    char err [160];
    json_t *o = json_loads ("{\"quiet_start\":\"12:00\",\"quiet_end\":\"13:30\",\"promo_per_day\":0}", 0, NULL);
    assert_int_equal (campaign_guards_apply (&g, o, err, sizeof (err)), 0);
    json_decref (o);
    assert_true (campaign_quiet (&g, 12 * 60 + 10));
    assert_false (campaign_quiet (&g, 23 * 60));
    assert_int_equal (g.promo_per_day, 0);
    assert_int_equal (g.member_per_week, 2);        //  untouched keys keep their value
    o = json_loads ("{\"promo_per_dya\":1}", 0, NULL);
    assert_int_equal (campaign_guards_apply (&g, o, err, sizeof (err)), -1);
    assert_non_null (strstr (err, "promo_per_dya"));
    json_decref (o);
    o = json_loads ("{\"quiet_end\":\"8am\"}", 0, NULL);
    assert_int_equal (campaign_guards_apply (&g, o, err, sizeof (err)), -1);
    json_decref (o);
    //  Equal start and end: no quiet hours at all.
    g.quiet_start = g.quiet_end = 0;
    assert_false (campaign_quiet (&g, 3 * 60));
}

static void test_best_hour (void **state)
{
    (void) state;
    campaign_guards_t g;
    campaign_guards_default (&g);
    int64_t hist [24] = { 0 };
    assert_int_equal (campaign_best_hour (hist, &g, 10), 10);     //  no history
    assert_int_equal (campaign_best_hour (NULL, &g, 9), 9);
    hist [15] = 40;
    hist [11] = 30;
    assert_int_equal (campaign_best_hour (hist, &g, 10), 15);
    hist [23] = 90;                                                 //  busiest, but quiet
    hist [2] = 80;
    assert_int_equal (campaign_best_hour (hist, &g, 10), 15);
    hist [11] = 40;                                                 //  a tie goes to the earlier hour
    assert_int_equal (campaign_best_hour (hist, &g, 10), 11);
    g.quiet_start = 11 * 60;                                        //  11:00-08:00 quiet: only 8, 9, 10 allowed
    hist [9] = 1;
    assert_int_equal (campaign_best_hour (hist, &g, 10), 9);
}

static void test_clock (void **state)
{
    (void) state;
    campaign_clock_t c = { 3600LL * 1000000, 0, 1 };
    assert_int_equal (campaign_clock_of (&c, 1000000), 3601LL * 1000000);
    //  Sped up 1200× around an anchor: continuous, so a restart resumes it.
    campaign_clock_t f = { 500LL * 1000000, 100LL * 1000000, 1200 };
    assert_int_equal (campaign_clock_of (&f, 100LL * 1000000), 600LL * 1000000);
    assert_int_equal (campaign_clock_of (&f, 101LL * 1000000), 1800LL * 1000000);
    assert_true (campaign_clock_now (&c) > 1700000000LL * 1000000);
}

static void test_calendar (void **state)
{
    (void) state;
    int32_t d;
    assert_int_equal (campaign_parse_date ("2025-11-20", &d), 0);
    assert_int_equal (d, 20412);
    int y, m, dd;
    campaign_civil_from_days (d, &y, &m, &dd);
    assert_int_equal (y * 10000 + m * 100 + dd, 20251120);
    assert_int_equal (campaign_weekday (d), 4);                     //  a Thursday
    assert_int_equal (campaign_weekday (campaign_days_from_civil (2024, 2, 29)), 4);
    assert_int_equal (campaign_weekday (0), 4);                     //  1970-01-01
    assert_int_equal (campaign_parse_date ("2025-02-29", &d), -1);
    assert_int_equal (campaign_parse_date ("2024-02-29", &d), 0);
    assert_int_equal (campaign_parse_date ("2025-1-20", &d), -1);
    assert_int_equal (campaign_parse_hhmm ("08:05"), 485);
    assert_int_equal (campaign_parse_hhmm ("24:00"), -1);
    assert_int_equal (campaign_parse_hhmm ("8:05"), -1);
    //  10:00 at +08:00 on 2025-11-20 is 02:00 UTC.
    int64_t t = campaign_local_us (20412, 600, 480);
    assert_int_equal (t, 1763604000LL * 1000000);
    assert_int_equal (campaign_minute_of (t, 480), 600);
    assert_int_equal (campaign_minute_of (t, 0), 120);
    assert_int_equal (campaign_minute_of (-60000000, 0), 1439);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_guards),
        cmocka_unit_test (test_quiet_hours),
        cmocka_unit_test (test_best_hour),
        cmocka_unit_test (test_clock),
        cmocka_unit_test (test_calendar),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
