/*  The whole default judge (rules AND the shipped classifier models) on
    ordinary customer chat of a brand's group: none of it may reach review.
    A review-level false positive is not free: each one writes a violation
    row and lands in an operator's queue. Lines marked "demo" were flagged
    in the demo workload before the fix.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "judge.h"

static judge_t *s_judge;

static int
s_setup (void **state)
{
    (void) state;
    size_t n;
    const judge_rule_row_t *rows = judge_default_rules (&n);
    char ad [1024], abuse [1024], err [256];
    judge_model_default_path ("ad", ad, sizeof (ad));
    judge_model_default_path ("abuse", abuse, sizeof (abuse));
    judge_options_t o = { NULL, ad, abuse };
    s_judge = judge_new (rows, n, &o, err, sizeof (err));
    if (!s_judge)
        fprintf (stderr, "judge_new: %s\n", err);
    return s_judge ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    judge_destroy (&s_judge);
    return 0;
}

static const char *s_ordinary [] = {
    "上次的优惠券过期了怎么办",                 //  demo: abuse classifier 0.53
    "请问2件8折和会员折扣能叠加吗",             //  demo: 扣扣 → 扣 in 折扣
    "优惠券可以叠加使用吗",
    "会员积分怎么兑换",
    "这个面霜敏感肌能用吗",
    "今天门店几点关门",
    "快递到哪了，三天了还没收到",
    "退货要怎么操作",
    "我买的精华液漏了，能换吗",
    "折扣力度好大，已下单",
    "新品什么时候到货",
    "请问有小样送吗",
    "赠品怎么领取",
    "口红色号推荐一下",
    "有没有适合油皮的水乳",
    "昨天买的和今天价格不一样，能补差价吗",
    "这个套装多少钱",
    "订单号是多少在哪里看",
    "直播几点开始",
    "抽奖结果什么时候公布",
    "谢谢小姐姐",
    "客服电话打不通",
    "我加了店长微信了",
    "优惠券领了但是用不了",
    "这个价格太贵了吧",
    "能不能便宜点",
    "积分快过期了怎么办",
    "包邮吗",
    "发货了吗",
    "群主在吗",
    "哈哈哈哈太好笑了",
    "请问会员日是哪天",
    "能开发票吗",
    "第二件半价吗",
    "今天的秒杀抢不到啊",
    "售后太慢了，差评",
    "给我妈买的，她很喜欢",
    "明天下雨还去店里吗",
    "活动规则看不懂",
    "签到领积分在哪",
};

static void
test_ordinary_chat_below_review (void **state)
{
    (void) state;
    judge_thresholds_t t = judge_thresholds_default ();
    int bad = 0;
    for (size_t i = 0; i < sizeof (s_ordinary) / sizeof (s_ordinary [0]); i++) {
        judge_input_t in = { s_ordinary [i], (size_t) -1, "text", "member", 1, 0 };
        judge_result_t r;
        assert_int_equal (judge_eval (s_judge, &in, &r), 0);
        if (judge_decide (&t, r.total) != JUDGE_ALLOW) {
            fprintf (stderr, "flagged ordinary chat (total %.2f, p_ad %.3f, p_abuse %.3f, rule %s): %s\n",
                     r.total, r.p_ad, r.p_abuse, r.nhits ? r.hits [0].rule : "-", s_ordinary [i]);
            bad++;
        }
    }
    assert_int_equal (bad, 0);
}

static void
test_abuse_still_caught (void **state)
{
    (void) state;
    //  The fix must not blind the judge: real abuse still reaches review.
    const char *abusive [] = { "湖南人都是骗子", "滚，黑鬼", "你他妈的傻逼吧" };
    judge_thresholds_t t = judge_thresholds_default ();
    for (size_t i = 0; i < 3; i++) {
        judge_input_t in = { abusive [i], (size_t) -1, "text", "member", 1, 0 };
        judge_result_t r;
        assert_int_equal (judge_eval (s_judge, &in, &r), 0);
        assert_true (judge_decide (&t, r.total) >= JUDGE_REVIEW);
        assert_int_equal (r.top, QY_CAT_ABUSE);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_ordinary_chat_below_review),
        cmocka_unit_test (test_abuse_still_caught),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
