//  Member standing on scripted histories, answers worked out by hand.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "scoring.h"

#define DAY 86400LL
#define D0  20000           //  the first day of every history below

//  A member as the hash would hold it after a history.
static scoring_member_t s_member (void)
{
    scoring_member_t m;
    memset (&m, 0, sizeof (m));
    m.member_id = 1;
    m.first_day = D0;
    m.join_day = D0;
    m.join_t = D0 * DAY;
    m.joins = 1;
    m.in_group = true;
    m.last_day = -1;
    m.viol_day = -1;
    m.key_rank = -1;
    return m;
}

static void test_decay (void **state)
{
    (void) state;
    //  One half-life halves, two quarter; no time, no change; backwards, no change.
    assert_float_equal (scoring_decay (8, 0, 7 * DAY, 7 * DAY), 4, 1e-9);
    assert_float_equal (scoring_decay (8, 0, 14 * DAY, 7 * DAY), 2, 1e-9);
    assert_float_equal (scoring_decay (8, 100, 100, 7 * DAY), 8, 1e-9);
    assert_float_equal (scoring_decay (8, 100, 50, 7 * DAY), 8, 1e-9);
    //  10 a day for ever, once a day, with a 7-day half-life sums to
    //  10 / (1 − 2^(−1/7)) = 106.07; the rate reads it as 106.07 × ln 2 / 7
    //  = 10.503 a day (the continuous 10 h / ln 2 would read exactly 10).
    double h = 7 * DAY, act = 10.0 / (1.0 - exp2 (-1.0 / 7));
    assert_float_equal (act, 106.07, 0.01);
    assert_float_equal (scoring_rate (act, 0, 0, h), 10.503, 0.001);
}

static void test_trust (void **state)
{
    (void) state;
    scoring_settings_t s;
    scoring_settings_default (&s);
    scoring_member_t m = s_member ();
    //  Day 0, nothing said: TL0.
    assert_int_equal (scoring_trust_level (&s, &m, D0), 0);
    //  Next day, 3 messages on 1 day: TL1 (1 day joined, 1 day active, 3 messages).
    m.msgs = 3;
    m.days = 1;
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 1), 1);
    //  TL2 needs 7 days, 5 active days, 20 messages and a reply received.
    m.msgs = 20;
    m.days = 5;
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 7), 1);     //  no reply yet
    m.mentions = 1;
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 7), 2);
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 6), 1);     //  one day short
    //  TL3: 30 days, 15 active, 100 messages, 10 replies, clean 30 days.
    m.msgs = 100;
    m.days = 15;
    m.replies = 9;
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 30), 3);
    m.viol_day = D0 + 10;                                           //  20 days before day 30
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 30), 2);
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 40), 3);    //  30 clean days later
    //  Leaving and coming back keeps the first day for trust.
    m.join_day = D0 + 39;
    assert_int_equal (scoring_trust_level (&s, &m, D0 + 40), 3);
    //  A brand that lowers TL1 to "one message".
    char err [160];
    assert_int_equal (scoring_settings_parse (&s, "{\"trust\": {\"tl1\": {\"days_joined\": 0, \"messages\": 1}}}", err, sizeof (err)), 0);
    scoring_member_t n = s_member ();
    n.msgs = 1;
    n.days = 1;
    assert_int_equal (scoring_trust_level (&s, &n, D0), 1);
}

static void test_states (void **state)
{
    (void) state;
    scoring_settings_t s;
    scoring_settings_default (&s);      //  new 7 d, lurker 14 d, churn 0.3 × baseline ≥ 1/day, key top 3 with ≥ 5
    double hs = 7 * DAY, hl = 30 * DAY;
    scoring_standing_t st;
    scoring_member_t m = s_member ();
    //  Joined 3 days ago, silent: new.
    scoring_member_standing (&s, &m, (D0 + 3) * DAY, D0 + 3, hs, hl, &st);
    assert_string_equal (st.state, "new");
    //  Day 14 after joining, never spoke: lurker (14 days in, 14 silent).
    scoring_member_standing (&s, &m, (D0 + 14) * DAY, D0 + 14, hs, hl, &st);
    assert_string_equal (st.state, "lurker");
    scoring_member_standing (&s, &m, (D0 + 13) * DAY, D0 + 13, hs, hl, &st);
    assert_string_equal (st.state, "active");
    //  Spoke on day 10: silent only 4 days on day 14: active.
    m.last_day = D0 + 10;
    m.msgs = 1;
    m.act_s = m.act_l = 1;
    m.act_t = (D0 + 10) * DAY;
    scoring_member_standing (&s, &m, (D0 + 14) * DAY, D0 + 14, hs, hl, &st);
    assert_string_equal (st.state, "active");
    //  A regular: recent and baseline both at 20 a day as of day 40.
    //  act = rate × h / ln 2: 20 × 7 / ln 2 and 20 × 30 / ln 2.
    m.last_day = D0 + 40;
    m.act_t = (D0 + 40) * DAY;
    m.act_s = 20 * 7 / M_LN2;
    m.act_l = 20 * 30 / M_LN2;
    scoring_member_standing (&s, &m, (D0 + 40) * DAY, D0 + 40, hs, hl, &st);
    assert_string_equal (st.state, "active");
    assert_float_equal (st.rate_recent, 20, 1e-6);
    assert_float_equal (st.rate_baseline, 20, 1e-6);
    //  Silent since: the ratio is 2^(−t (1/7 − 1/30)), under 0.3 once t > 15.9 days.
    //  Day 55 (15 silent): ratio 0.32, not churn yet; 15 ≥ 14 silent days: lurker.
    scoring_member_standing (&s, &m, (D0 + 55) * DAY, D0 + 55, hs, hl, &st);
    assert_float_equal (st.rate_recent / st.rate_baseline, exp2 (-15 * (1.0 / 7 - 1.0 / 30)), 1e-9);
    assert_string_equal (st.state, "lurker");
    //  Day 57 (17 silent): ratio 0.28 < 0.3, baseline 13.5 ≥ 1: churn risk.
    scoring_member_standing (&s, &m, (D0 + 57) * DAY, D0 + 57, hs, hl, &st);
    assert_string_equal (st.state, "churn_risk");
    //  Day 160 (120 silent): baseline 20 × 2^(−4) = 1.25 ≥ 1 still churn; day 170: 0.99 < 1 → lurker.
    scoring_member_standing (&s, &m, (D0 + 160) * DAY, D0 + 160, hs, hl, &st);
    assert_string_equal (st.state, "churn_risk");
    scoring_member_standing (&s, &m, (D0 + 170) * DAY, D0 + 170, hs, hl, &st);
    assert_string_equal (st.state, "lurker");
    //  Top of the board with 5 replies + mentions, spoke today: key member.
    m.key_rank = 0;
    m.key_score = 5;
    scoring_member_standing (&s, &m, (D0 + 40) * DAY, D0 + 40, hs, hl, &st);
    assert_string_equal (st.state, "key");
    m.key_rank = 3;                     //  fourth: not in the top 3
    scoring_member_standing (&s, &m, (D0 + 40) * DAY, D0 + 40, hs, hl, &st);
    assert_string_equal (st.state, "active");
    m.in_group = false;
    scoring_member_standing (&s, &m, (D0 + 40) * DAY, D0 + 40, hs, hl, &st);
    assert_string_equal (st.state, "left");
}

//  Key members speak: a newcomer mentioned by five welcomes, who has not
//  said a word, is top of the board but new, not key.
static void test_key_spoke (void **state)
{
    (void) state;
    scoring_settings_t s;
    scoring_settings_default (&s);
    scoring_standing_t st;
    scoring_member_t m = s_member ();   //  joined on D0, never spoke
    m.key_rank = 0;
    m.key_score = 5;
    scoring_member_standing (&s, &m, (D0 + 3) * DAY, D0 + 3, 7 * DAY, 30 * DAY, &st);
    assert_string_equal (st.state, "new");
    m.last_day = D0 + 2;                //  spoke yesterday: now key
    m.msgs = 1;
    scoring_member_standing (&s, &m, (D0 + 3) * DAY, D0 + 3, 7 * DAY, 30 * DAY, &st);
    assert_string_equal (st.state, "key");
}

//  The board ranks only who can be key: replies to staff (bots, admins)
//  and to members who left take no place.
static void test_key_ranks (void **state)
{
    (void) state;
    scoring_member_t ms [5] = {
        { .member_id = 1, .in_group = true, .staff = true },     //  the bot everyone answers
        { .member_id = 2, .in_group = false },                   //  left
        { .member_id = 3, .in_group = true },
        { .member_id = 4, .in_group = true },
        { .member_id = 5, .in_group = true },                    //  not on the board
    };
    const int64_t board [] = { 1, 2, 4, 99, 3 };                 //  99: a member whose hash expired
    scoring_key_ranks (ms, 5, board, 5);
    assert_int_equal (ms [0].key_rank, -1);
    assert_int_equal (ms [1].key_rank, -1);
    assert_int_equal (ms [3].key_rank, 0);
    assert_int_equal (ms [2].key_rank, 1);
    assert_int_equal (ms [4].key_rank, -1);
}

static void test_contribution (void **state)
{
    (void) state;
    scoring_settings_t s;
    scoring_settings_default (&s);      //  1 per reply or mention, 2 per answer, 0.2 per substantial, −5 per violation
    scoring_member_t m = s_member ();
    m.replies = 4;
    m.mentions = 1;
    m.answered = 2;
    m.substantial = 10;
    m.violations = 1;
    assert_float_equal (scoring_contribution (&s, &m), 4 + 1 + 4 + 2 - 5, 1e-9);
}

static void test_parse (void **state)
{
    (void) state;
    const char *v [SCORING_F__COUNT] = { 0 };
    v [SCORING_F_first] = "20000";
    v [SCORING_F_msgs] = "12";
    v [SCORING_F_as] = "3.5";
    v [SCORING_F_in] = "0";
    v [SCORING_F_st] = "lurker";
    v [SCORING_F_staff] = "1";
    scoring_member_t m = { .member_id = 9, .replies = 4, .key_rank = 2 };
    scoring_member_parse (&m, v);
    assert_int_equal (m.member_id, 9);
    assert_int_equal (m.replies, 4);
    assert_int_equal (m.key_rank, 2);
    assert_int_equal (m.first_day, 20000);
    assert_int_equal (m.join_day, -1);
    assert_int_equal (m.last_day, -1);
    assert_int_equal (m.msgs, 12);
    assert_float_equal (m.act_s, 3.5, 1e-12);
    assert_false (m.in_group);
    assert_true (m.staff);
    assert_string_equal (m.state, "lurker");
    //  No "in" field: seen talking with no join reported, so in the group.
    v [SCORING_F_in] = NULL;
    scoring_member_parse (&m, v);
    assert_true (m.in_group);
}

static void test_settings (void **state)
{
    (void) state;
    scoring_settings_t s;
    char err [160];
    scoring_settings_default (&s);
    assert_int_equal (scoring_settings_parse (&s, NULL, err, sizeof (err)), 0);
    assert_int_equal (scoring_settings_parse (&s, "{\"lurker_days\": 30, \"churn_ratio\": 0.5}", err, sizeof (err)), 0);
    assert_int_equal (s.lurker_days, 30);
    assert_float_equal (s.churn_ratio, 0.5, 1e-12);
    assert_int_equal (scoring_settings_parse (&s, "{\"lurker_days\": \"x\"}", err, sizeof (err)), -1);
    assert_non_null (strstr (err, "lurker_days"));
    assert_int_equal (s.lurker_days, 30);           //  the bad value changed nothing
    assert_int_equal (scoring_settings_parse (&s, "{\"churn_ratio\": 2}", err, sizeof (err)), -1);
    assert_non_null (strstr (err, "out of range"));
    assert_int_equal (scoring_settings_parse (&s, "[1]", err, sizeof (err)), -1);
    assert_int_equal (scoring_settings_parse (&s, "{\"trust\": {\"tl3\": 5}}", err, sizeof (err)), -1);
    assert_int_equal (scoring_settings_parse (&s, "not json", err, sizeof (err)), -1);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_decay),
        cmocka_unit_test (test_trust),
        cmocka_unit_test (test_states),
        cmocka_unit_test (test_key_spoke),
        cmocka_unit_test (test_key_ranks),
        cmocka_unit_test (test_contribution),
        cmocka_unit_test (test_parse),
        cmocka_unit_test (test_settings),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
