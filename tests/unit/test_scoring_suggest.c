//  Capacity and clean-out lists, channel quality and signals, on scripted
//  groups whose answers were worked out by hand.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "scoring.h"
#include "qy/util.h"

#define TODAY 20100

//  Six members: A staff, B key, C silent 30 days, D a regular, E joined 10
//  days ago and never spoke, F left.
static void s_group (scoring_member_t *ms, scoring_standing_t *st)
{
    memset (ms, 0, 6 * sizeof (*ms));
    memset (st, 0, 6 * sizeof (*st));
    for (int i = 0; i < 6; i++) {
        ms [i].member_id = 100 + i;
        ms [i].in_group = true;
        ms [i].first_day = ms [i].join_day = TODAY - 60;
        ms [i].last_day = TODAY - 1;
        ms [i].viol_day = -1;
        strcpy (st [i].state, "active");
    }
    ms [0].staff = true;
    strcpy (st [1].state, "key");
    ms [2].last_day = TODAY - 30;
    ms [3].last_day = TODAY - 2;
    st [3].trust_level = 1;
    st [3].contribution = 2;
    st [3].activity = 1;
    ms [4].first_day = ms [4].join_day = TODAY - 10;
    ms [4].last_day = -1;
    ms [5].in_group = false;
    strcpy (st [5].state, "left");
}

static void test_capacity (void **state)
{
    (void) state;
    scoring_settings_t s;
    scoring_settings_default (&s);
    scoring_member_t ms [6];
    scoring_standing_t st [6];
    s_group (ms, st);
    scoring_suggestion_t out [10];
    int needed;
    //  Five in a group of five: one must go for the next to join. Keep-scores:
    //  C 0 − 30/7 = −4.29, E 0 − 10/7 = −1.43, D 10 + 2 + 3 − 2/7 = 14.71;
    //  A (staff), B (key) and F (left) are never listed.
    size_t n = scoring_capacity_list (&s, ms, st, 6, 5, TODAY, out, 10, &needed);
    assert_int_equal (needed, 1);
    assert_int_equal (n, 3);
    assert_int_equal (out [0].member_id, 102);
    assert_float_equal (out [0].score, -30.0 / 7, 1e-9);
    assert_int_equal (out [1].member_id, 104);
    assert_int_equal (out [2].member_id, 103);
    assert_float_equal (out [2].score, 15 - 2.0 / 7, 1e-9);
    assert_non_null (strstr (out [0].reason, "silent 30 d"));
    //  A 69-member rule with 4 over: 5 to go (room for one more).
    n = scoring_capacity_list (&s, ms, st, 6, 1, TODAY, out, 2, &needed);
    assert_int_equal (needed, 5);
    assert_int_equal (n, 2);                        //  capped at max
    //  Room left: nothing, unless within the headroom.
    n = scoring_capacity_list (&s, ms, st, 6, 10, TODAY, out, 10, &needed);
    assert_int_equal (n, 0);
    assert_int_equal (needed, 0);
    s.capacity_headroom = 5;
    n = scoring_capacity_list (&s, ms, st, 6, 10, TODAY, out, 10, &needed);
    assert_int_equal (n, 3);
    assert_int_equal (needed, 0);
}

static void test_cleanout (void **state)
{
    (void) state;
    scoring_settings_t s;
    scoring_settings_default (&s);              //  floor 5 a day, 30 silent days
    scoring_member_t ms [6];
    scoring_standing_t st [6];
    s_group (ms, st);
    scoring_suggestion_t out [10];
    //  3 a day is under the floor: C (30 silent days) only; E is silent 10.
    size_t n = scoring_cleanout_list (&s, ms, st, 6, 3.0, TODAY, out, 10);
    assert_int_equal (n, 1);
    assert_int_equal (out [0].member_id, 102);
    //  Make E silent 40 days (joined 40 ago, never spoke): longest silence first.
    ms [4].first_day = ms [4].join_day = TODAY - 40;
    n = scoring_cleanout_list (&s, ms, st, 6, 3.0, TODAY, out, 10);
    assert_int_equal (n, 2);
    assert_int_equal (out [0].member_id, 104);
    assert_non_null (strstr (out [0].reason, "never spoke"));
    assert_int_equal (out [1].member_id, 102);
    //  Above the floor: no clean-out.
    assert_int_equal (scoring_cleanout_list (&s, ms, st, 6, 6.0, TODAY, out, 10), 0);
}

static void test_channels (void **state)
{
    (void) state;
    //  Channel 5: joins on day 100 (2, one left within 7 days, the same
    //  one within 30) and day 120 (1). Today 130: the day-100 cohort is
    //  30 days old, the day-120 one 10: 7-day: 3 judged, 2 stayed;
    //  30-day: 2 judged, 1 stayed. Channel 0's only join is 5 days old.
    const char *names [] = { "5:joins", "5:mem", "5:act", "5:vm", "5:viol", "5:j:100", "5:l7:100", "5:l30:100",
                             "5:j:120", "0:joins", "0:j:125", "bogus" };
    const char *values [] = { "3", "2", "1", "1", "2", "2", "1", "1", "1", "1", "1", "9" };
    scoring_channel_t *c;
    size_t n = scoring_channels_fold (names, values, 12, 130, &c);
    assert_int_equal (n, 2);
    scoring_channel_t *five = c [0].channel_id == 5 ? &c [0] : &c [1], *zero = c [0].channel_id == 0 ? &c [0] : &c [1];
    assert_int_equal (five->joins, 3);
    assert_int_equal (five->members, 2);
    assert_int_equal (five->spoke, 1);
    assert_int_equal (five->violators, 1);
    assert_int_equal (five->violations, 2);
    assert_int_equal (five->matured7, 3);
    assert_int_equal (five->retained7, 2);
    assert_int_equal (five->matured30, 2);
    assert_int_equal (five->retained30, 1);
    assert_int_equal (zero->joins, 1);
    assert_int_equal (zero->matured7, 0);
    free (c);
}

//  Cohorts older than 30 days are folded into running totals in Redis
//  (C:m7 C:r7 C:m30 C:r30): the same figures come out as before folding.
static void test_channels_folded (void **state)
{
    (void) state;
    //  test_channels' channel 5 with its day-100 cohort folded: 2 joins
    //  matured, 1 retained, for 7 and 30 days alike.
    const char *names [] = { "5:joins", "5:m7", "5:r7", "5:m30", "5:r30", "5:j:120" };
    const char *values [] = { "3", "2", "1", "2", "1", "1" };
    scoring_channel_t *c;
    assert_int_equal (scoring_channels_fold (names, values, 6, 130, &c), 1);
    assert_int_equal (c [0].joins, 3);
    assert_int_equal (c [0].matured7, 3);
    assert_int_equal (c [0].retained7, 2);
    assert_int_equal (c [0].matured30, 2);
    assert_int_equal (c [0].retained30, 1);
    free (c);
}

//  A big hash (600 channels × a year of cohorts, 657,000 fields) folds in
//  linear time: looking cohorts and channels up by scanning took minutes.
static void test_channels_many (void **state)
{
    (void) state;
    enum { CH = 600, DAYS = 365, N = CH * DAYS * 3 };
    char **names = calloc (N, sizeof (char *));
    const char **values = calloc (N, sizeof (char *));
    size_t n = 0;
    for (int ch = 0; ch < CH; ch++)
        for (int d = 0; d < DAYS; d++) {
            static const char *const kinds [] = { "j", "l7", "l30" };
            static const char *const v [] = { "4", "1", "2" };
            for (int k = 0; k < 3; k++) {
                names [n] = qy_printf ("%d:%s:%d", ch, kinds [k], 1000 + d);
                values [n++] = v [k];
            }
        }
    int64_t t0 = qy_mono_us ();
    scoring_channel_t *c;
    assert_int_equal (scoring_channels_fold ((const char *const *) names, values, n, 1000 + DAYS, &c), CH);
    assert_true (qy_mono_us () - t0 < 10 * 1000000LL);
    assert_int_equal (c [7].matured7, 4 * (DAYS - 6));      //  ages 1 … 365: 359 of at least 7 days
    assert_int_equal (c [7].retained7, 3 * (DAYS - 6));
    assert_int_equal (c [7].matured30, 4 * (DAYS - 29));
    assert_int_equal (c [7].retained30, 2 * (DAYS - 29));
    free (c);
    for (size_t i = 0; i < n; i++)
        free (names [i]);
    free (names);
    free (values);
}

static void test_signals (void **state)
{
    (void) state;
    assert_string_equal (scoring_member_signal ("", "lurker"), "member.lurker");
    assert_string_equal (scoring_member_signal ("active", "key"), "member.key");
    assert_string_equal (scoring_member_signal ("active", "churn_risk"), "member.churn_risk");
    assert_string_equal (scoring_member_signal ("lurker", "active"), "member.active");
    assert_null (scoring_member_signal ("new", "active"));
    assert_null (scoring_member_signal ("lurker", "lurker"));
    assert_null (scoring_member_signal ("active", "left"));
    assert_string_equal (scoring_group_signal ("healthy", "zombie"), "group.zombie");
    assert_string_equal (scoring_group_signal ("", "declining"), "group.declining");
    assert_string_equal (scoring_group_signal ("zombie", "healthy"), "group.recovered");
    assert_string_equal (scoring_group_signal ("declining", "growing"), "group.recovered");
    assert_null (scoring_group_signal ("", "healthy"));
    assert_null (scoring_group_signal ("growing", "healthy"));
    char id [96];
    scoring_signal_id (id, sizeof (id), "member.lurker", 42, 7, 20781);
    assert_string_equal (id, "sig:member.lurker:42:7:20261124");
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_capacity),
        cmocka_unit_test (test_cleanout),
        cmocka_unit_test (test_channels),
        cmocka_unit_test (test_channels_folded),
        cmocka_unit_test (test_channels_many),
        cmocka_unit_test (test_signals),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
