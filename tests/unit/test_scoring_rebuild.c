//  scoring_rebuild: which days are counted again after Redis lost the
//  counters, and what an archived event's recorded violation counts as.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "scoring.h"
#include "qy/util.h"

//  2025-11-20 01:30 UTC is 09:30 in Shanghai (+08:00), the same local day;
//  2025-11-20 17:30 UTC is already 2025-11-21 there.
#define S_NOV20_0130_UTC_US (1763602200LL * 1000000)
#define S_NOV20_1730_UTC_US (1763659800LL * 1000000)

static void test_window (void **state)
{
    (void) state;
    //  Today and yesterday in Shanghai: from 2025-11-19 00:00 +08:00 = 2025-11-18 16:00 UTC.
    assert_int_equal (scoring_rebuild_from_s (S_NOV20_0130_UTC_US, 480, 2), 1763481600LL);
    //  Past midnight in Shanghai, the window moves on a day while UTC has not.
    assert_int_equal (scoring_rebuild_from_s (S_NOV20_1730_UTC_US, 480, 2), 1763481600LL + 86400);
    //  UTC brand, today only (and never less than today).
    assert_int_equal (scoring_rebuild_from_s (S_NOV20_0130_UTC_US, 0, 1), 1763596800LL);
    assert_int_equal (scoring_rebuild_from_s (S_NOV20_0130_UTC_US, 0, 0), 1763596800LL);
    //  The window's first second is the local midnight of its first day.
    int64_t from = scoring_rebuild_from_s (S_NOV20_0130_UTC_US, 480, 3);
    assert_int_equal (qy_day_of (from * 1000000, 480), qy_day_of (S_NOV20_0130_UTC_US, 480) - 2);
    assert_int_equal (qy_day_of ((from - 1) * 1000000, 480), qy_day_of (S_NOV20_0130_UTC_US, 480) - 3);
}

//  The live verdict counts as a violation exactly when the recorded one does.
static void test_verdict (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    Qy__Verdict v;
    ev.verdict = &v;
    scoring_rebuild_verdict (&v, 42, "WARN");
    assert_int_equal (v.action, QY__ACTION__WARN);
    assert_int_equal (v.violation_id, 42);
    assert_true (scoring_is_violation (&ev));
    scoring_rebuild_verdict (&v, 43, "MUTE");
    assert_true (scoring_is_violation (&ev));
    scoring_rebuild_verdict (&v, 44, "REVIEW");          //  flagged for review only
    assert_false (scoring_is_violation (&ev));
    scoring_rebuild_verdict (&v, 45, "ALLOW");           //  a dry-run row
    assert_false (scoring_is_violation (&ev));
    scoring_rebuild_verdict (&v, 46, "SOMETHING");       //  not an action: no violation
    assert_int_equal (v.action, QY__ACTION__ALLOW);
    assert_false (scoring_is_violation (&ev));
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_window),
        cmocka_unit_test (test_verdict),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
