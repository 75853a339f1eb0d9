//  scoring_eval_sweep_due: which evaluation rounds walk every group, not
//  only the groups whose counts changed.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "scoring.h"

static void test_sweep (void **state)
{
    (void) state;
    //  The first round after a start always sweeps: nothing is known of
    //  what changed while the service was away.
    assert_true (scoring_eval_sweep_due (0, 10));
    for (int64_t r = 1; r < 10; r++)
        assert_false (scoring_eval_sweep_due (r, 10));
    assert_true (scoring_eval_sweep_due (10, 10));
    assert_true (scoring_eval_sweep_due (20, 10));
    assert_false (scoring_eval_sweep_due (21, 10));
    //  0 or 1: every round is a sweep (the behaviour before changed-only rounds).
    for (int64_t r = 0; r < 5; r++) {
        assert_true (scoring_eval_sweep_due (r, 1));
        assert_true (scoring_eval_sweep_due (r, 0));
    }
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_sweep),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
