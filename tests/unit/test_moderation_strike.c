//  moderation_strikes_decide: a batch's violations decided as if one at a
//  time, from what PostgreSQL holds (moderation_known_t). Pure.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "moderation.h"
#include "qy/util.h"

#define S_NOW 1700000000000000LL

static moderation_policy_t s_pol;

static int s_setup (void **state)
{
    (void) state;
    char err [256];
    moderation_policy_default (&s_pol);
    //  First strike a warning, the second an hour's mute, the third a block.
    return moderation_policy_apply_json (&s_pol, "{\"ladder\":\"warn,mute:60,remove\"}", err, sizeof (err));
}

//  A batch of n violations of one brand: member [i]'s message "m<i>",
//  category and level alike; nothing known in PostgreSQL.
typedef struct {
    Qy__Event              ev [4];
    char                   msg [4][24];
    moderation_violation_t v [4];
    moderation_known_t     known [4];
    moderation_record_t    out [4];
} s_case_t;

static void s_case (s_case_t *c, const int64_t *member, size_t n, const char *category, judge_action_t level)
{
    memset (c, 0, sizeof (*c));
    for (size_t i = 0; i < n; i++) {
        qy__event__init (&c->ev [i]);
        c->ev [i].brand_id = 1;
        c->ev [i].member_id = member [i];
        qy_snprintf (c->msg [i], sizeof (c->msg [i]), "m%zu", i);
        c->ev [i].msg_id = c->msg [i];
        c->ev [i].event_time_us = S_NOW;
        c->v [i] = (moderation_violation_t) { &c->ev [i], NULL, category, 1.0, level, level, false, &s_pol };
    }
}

//  One member's three ads in one batch climb the ladder as three messages
//  would: a warning (strike 1), a mute (strike 2); the third is recalled
//  under that mute, not charged.
static void test_ladder_within_batch (void **state)
{
    (void) state;
    s_case_t c;
    s_case (&c, (int64_t []) { 7, 7, 7 }, 3, "ad", JUDGE_RECALL);
    moderation_record_t *out = c.out;
    moderation_strikes_decide (c.v, c.known, 3, S_NOW, out);
    assert_int_equal (out [0].penalty.action, QY__ACTION__WARN);
    assert_int_equal (out [0].strike, 1);
    assert_true (out [0].penalty.recall);
    assert_int_equal (out [1].penalty.action, QY__ACTION__MUTE);
    assert_int_equal (out [1].strike, 2);
    assert_true (out [1].mute_until_us == S_NOW + 60LL * 60 * 1000000);
    assert_true (out [2].superseded);
    assert_int_equal (out [2].strike, 0);
}

//  Strikes PostgreSQL holds count: a member with two goes straight to the block.
static void test_history_from_store (void **state)
{
    (void) state;
    s_case_t c;
    s_case (&c, (int64_t []) { 7 }, 1, "ad", JUDGE_RECALL);
    c.known [0].history.prior_strikes = 2;
    moderation_record_t *out = c.out;
    moderation_strikes_decide (c.v, c.known, 1, S_NOW, out);
    assert_int_equal (out [0].penalty.action, QY__ACTION__BLOCK);
    assert_int_equal (out [0].strike, 3);
}

//  Members apart are charged apart; events with no member are nobody's,
//  their strikes never add up.
static void test_members_apart (void **state)
{
    (void) state;
    s_case_t c;
    s_case (&c, (int64_t []) { 0, 0, 7, 8 }, 4, "ad", JUDGE_RECALL);
    moderation_record_t *out = c.out;
    moderation_strikes_decide (c.v, c.known, 4, S_NOW, out);
    for (int i = 0; i < 4; i++) {
        assert_int_equal (out [i].strike, 1);
        assert_int_equal (out [i].penalty.action, QY__ACTION__WARN);
        assert_false (out [i].superseded);
    }
}

//  A message recorded before repeats its row; the same message twice in
//  the batch is a replay of the first.
static void test_recorded_repeats (void **state)
{
    (void) state;
    s_case_t c;
    s_case (&c, (int64_t []) { 7, 8, 8 }, 3, "ad", JUDGE_RECALL);
    c.ev [2].msg_id = c.msg [1];
    c.known [0] = (moderation_known_t) { .recorded = true, .id = 42, .strike = 2, .action = "mute", .would = "",
                                         .kind = "content", .mute_until_us = S_NOW - 5 };
    moderation_record_t *out = c.out;
    moderation_strikes_decide (c.v, c.known, 3, S_NOW, out);
    assert_true (out [0].existed);
    assert_int_equal (out [0].violation_id, 42);
    assert_int_equal (out [0].strike, 2);
    assert_int_equal (out [0].penalty.action, QY__ACTION__MUTE);
    assert_true (out [0].penalty.recall);
    assert_true (out [0].mute_until_us == S_NOW - 5);
    assert_int_equal (out [0].would_action, QY__ACTION__ACTION_NONE);
    assert_false (out [1].existed);
    assert_int_equal (out [1].strike, 1);
    assert_true (out [2].existed);
    assert_int_equal (out [2].strike, 1);
    assert_int_equal (out [2].penalty.action, out [1].penalty.action);
}

//  Muted or blocked by another replica since Redis was read: held, no new
//  strike; a nickname notice is no strike and is given all the same.
static void test_held_not_charged (void **state)
{
    (void) state;
    s_case_t c;
    s_case (&c, (int64_t []) { 7, 8 }, 2, "ad", JUDGE_RECALL);
    c.v [1].category = "format";
    c.v [1].level = c.v [1].would_level = JUDGE_REVIEW;
    c.v [1].notice = true;
    c.known [0].held_blocked = true;
    c.known [1].held_mute_until_us = S_NOW + 1000;
    moderation_record_t *out = c.out;
    moderation_strikes_decide (c.v, c.known, 2, S_NOW, out);
    assert_true (out [0].held_blocked);
    assert_int_equal (out [0].strike, 0);
    assert_int_equal (out [0].penalty.action, QY__ACTION__ACTION_NONE);
    assert_false (out [1].held_mute_until_us);
    assert_int_equal (out [1].penalty.action, QY__ACTION__WARN);
    assert_int_equal (out [1].strike, 0);
}

//  A strike given earlier in the batch to an account linked by unionid
//  counts for the other account; the dry-run level is decided on the same
//  history.
static void test_linked_and_would (void **state)
{
    (void) state;
    s_case_t c;
    s_case (&c, (int64_t []) { 7, 8 }, 2, "ad", JUDGE_RECALL);
    c.ev [0].unionid = "union-1";
    c.ev [1].unionid = "union-1";
    moderation_record_t *out = c.out;
    moderation_strikes_decide (c.v, c.known, 2, S_NOW, out);
    assert_int_equal (out [0].penalty.action, QY__ACTION__WARN);
    assert_int_equal (out [1].penalty.action, QY__ACTION__MUTE);
    assert_int_equal (out [1].strike, 1);       //  its own first strike, punished as the second
    c.ev [1].unionid = "union-2";
    c.v [1].level = JUDGE_REVIEW;
    c.v [1].would_level = JUDGE_RECALL;
    moderation_strikes_decide (c.v, c.known, 2, S_NOW, out);
    assert_int_equal (out [1].penalty.action, QY__ACTION__REVIEW);
    assert_int_equal (out [1].strike, 0);
    assert_int_equal (out [1].would_action, QY__ACTION__WARN);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup (test_ladder_within_batch, s_setup),
        cmocka_unit_test_setup (test_history_from_store, s_setup),
        cmocka_unit_test_setup (test_members_apart, s_setup),
        cmocka_unit_test_setup (test_recorded_repeats, s_setup),
        cmocka_unit_test_setup (test_held_not_charged, s_setup),
        cmocka_unit_test_setup (test_linked_and_would, s_setup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
