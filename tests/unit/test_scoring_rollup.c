//  scoring_rollup_plan: which group-days one roll-up writes from the dirty
//  marks it took, and in which order.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "scoring.h"

//  Every well-formed mark is written once, in (group, day) order.
static void test_order (void **state)
{
    (void) state;
    const char *marks [] = { "1:30:20400", "1:7:20401", "2:7:20400", "1:30:20399" };
    scoring_rollup_key_t keys [4];
    assert_int_equal (scoring_rollup_plan (marks, 4, keys), 4);
    const int64_t groups [] = { 7, 7, 30, 30 };
    const int32_t days [] = { 20400, 20401, 20399, 20400 };
    for (int i = 0; i < 4; i++) {
        assert_int_equal (keys [i].group_id, groups [i]);
        assert_int_equal (keys [i].day, days [i]);
    }
    //  The brand and the mark to put back travel with the key.
    assert_int_equal (keys [0].brand_id, 2);
    assert_string_equal (keys [0].mark, "2:7:20400");
    assert_int_equal (keys [1].brand_id, 1);
    assert_string_equal (keys [1].mark, "1:7:20401");
}

//  A statement may update a row once: the same group-day twice (a mark
//  written two ways) becomes one key.
static void test_once (void **state)
{
    (void) state;
    const char *marks [] = { "1:5:20400", "01:5:20400", "1:05:20400", "1:5:20401" };
    scoring_rollup_key_t keys [4];
    assert_int_equal (scoring_rollup_plan (marks, 4, keys), 2);
    assert_int_equal (keys [0].group_id, 5);
    assert_int_equal (keys [0].day, 20400);
    assert_int_equal (keys [1].day, 20401);
}

//  Marks that are not ours are dropped, the others kept.
static void test_malformed (void **state)
{
    (void) state;
    const char *marks [] = { "", "1:2", "1:2:3x", "a:2:3", "0:2:3", "1:-2:3", NULL, "9:8:7" };
    scoring_rollup_key_t keys [8];
    assert_int_equal (scoring_rollup_plan (marks, 8, keys), 1);
    assert_int_equal (keys [0].brand_id, 9);
    assert_int_equal (keys [0].group_id, 8);
    assert_int_equal (keys [0].day, 7);
    assert_int_equal (scoring_rollup_plan (marks, 0, keys), 0);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_order),
        cmocka_unit_test (test_once),
        cmocka_unit_test (test_malformed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
