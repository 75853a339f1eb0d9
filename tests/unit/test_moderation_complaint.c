//  Complaints go to a person: the topic named in the alert, and the Redis
//  counters behind complaint_surge (per store, per brand, per hour).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "moderation_complaint.h"

static judge_result_t s_result;
static judge_t *s_judge_rules;

static int s_setup (void **state)
{
    (void) state;
    size_t n;
    const judge_rule_row_t *rows = judge_default_rules (&n);
    s_judge_rules = judge_new (rows, n, NULL, NULL, 0);
    return s_judge_rules ? 0 : -1;
}

static int s_teardown (void **state)
{
    (void) state;
    judge_destroy (&s_judge_rules);
    return 0;
}

static const judge_result_t *s_judge (const char *text)
{
    judge_input_t in = { text, (size_t) -1, "text", "member", 1, 0 };
    assert_int_equal (judge_eval (s_judge_rules, &in, &s_result), 0);
    return &s_result;
}

static void test_topics (void **state)
{
    (void) state;
    judge_thresholds_t t = judge_thresholds_default ();
    assert_string_equal (moderation_complaint_topic (s_judge ("这件衣服洗一次就掉色，太失望了"), &t), "质量");
    assert_string_equal (moderation_complaint_topic (s_judge ("快递太慢了，等了五天还没到，无语"), &t), "物流与破损");
    assert_string_equal (moderation_complaint_topic (s_judge ("申请退款三天了没人处理"), &t), "退换货");
    assert_string_equal (moderation_complaint_topic (s_judge ("刚买就降价了，太坑人了"), &t), "价格保护");
    assert_string_equal (moderation_complaint_topic (s_judge ("店员态度很差，再也不来了"), &t), "服务态度");
    assert_string_equal (moderation_complaint_topic (s_judge ("我要投诉你们"), &t), "其他");
    //  Ordinary talk is no complaint, and a complaint never adds to the total
    assert_null (moderation_complaint_topic (s_judge ("这款洗发水有货吗？谢谢"), &t));
    assert_null (moderation_complaint_topic (s_judge ("我的订单还没到"), &t));
    s_judge ("快递太慢了，等了五天还没到，无语");
    assert_true (s_result.total == 0);
    assert_int_equal (judge_decide (&t, s_result.total), JUDGE_ALLOW);
    //  A brand that raises its review threshold asks for more evidence
    judge_thresholds_t strict = t;
    strict.review = 1.0;
    assert_null (moderation_complaint_topic (s_judge ("快递太慢了，无语"), &strict));
}

static void test_counters (void **state)
{
    (void) state;
    char a [128], b [128];
    int64_t t0 = 1764979200LL * 1000000;        //  on an hour boundary
    moderation_complaint_counter (a, sizeof (a), 7, true, 12, 99, t0);
    assert_string_equal (a, "cmp:{b:7}:s12:490272");
    //  Same store and hour, another group: the same counter
    moderation_complaint_counter (b, sizeof (b), 7, true, 12, 98, t0 + 3599LL * 1000000);
    assert_string_equal (a, b);
    //  The next hour: a new window
    moderation_complaint_counter (b, sizeof (b), 7, true, 12, 99, t0 + 3600LL * 1000000);
    assert_string_not_equal (a, b);
    //  Unknown store: per group; the brand's counter has neither
    moderation_complaint_counter (b, sizeof (b), 7, true, 0, 99, t0);
    assert_string_equal (b, "cmp:{b:7}:g99:490272");
    moderation_complaint_counter (b, sizeof (b), 7, false, 12, 99, t0);
    assert_string_equal (b, "cmp:{b:7}:490272");
}

static void test_products (void **state)
{
    (void) state;
    char buf [256];
    moderation_complaint_products ("这款洗发水和护发素都是假货", buf, sizeof (buf));
    assert_string_equal (buf, "{洗发水,护发素}");
    moderation_complaint_products ("快递太慢了", buf, sizeof (buf));
    assert_string_equal (buf, "{}");
    moderation_complaint_products (NULL, buf, sizeof (buf));
    assert_string_equal (buf, "{}");
    //  A buffer too small for the next product stops before it, well formed
    moderation_complaint_products ("手机和耳机都坏了", buf, 12);
    assert_string_equal (buf, "{手机}");
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_topics),
        cmocka_unit_test (test_counters),
        cmocka_unit_test (test_products),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
