/*  =========================================================================
    test_judge_detect.c - every detector of the default rule set with real
    messages from the labelled data (quoted), evasion variants, and false
    positives from ordinary chat in a brand's group.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge.h"

static judge_t *s_judge;           //  default rules, no classifier models
static judge_result_t s_result;

static int
s_setup (void **state)
{
    (void) state;
    size_t n;
    const judge_rule_row_t *rows = judge_default_rules (&n);
    char err [256] = "";
    s_judge = judge_new (rows, n, NULL, err, sizeof (err));
    if (!s_judge)
        fprintf (stderr, "judge_new: %s\n", err);
    return s_judge ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    judge_destroy (&s_judge);
    assert_null (s_judge);
    return 0;
}

static judge_result_t *
s_eval_as (judge_t *judge, const char *text, const char *msgtype, const char *role,
           int exempt_staff)
{
    judge_input_t in = { text, (size_t) -1, msgtype, role, exempt_staff, 0 };
    assert_int_equal (judge_eval (judge, &in, &s_result), 0);
    return &s_result;
}

static judge_result_t *
s_eval (const char *text)
{
    return s_eval_as (s_judge, text, "text", "member", 1);
}

static const judge_hit_t *
s_hit (const judge_result_t *r, const char *rule)
{
    for (size_t i = 0; i < r->nhits; i++)
        if (strcmp (r->hits [i].rule, rule) == 0)
            return r->hits + i;
    return NULL;
}

//  Assert that rule hit text and that its span covers exactly evidence.
static void
s_assert_hit (const char *text, const char *rule, const char *evidence)
{
    judge_result_t *r = s_eval (text);
    const judge_hit_t *hit = s_hit (r, rule);
    if (!hit) {
        fprintf (stderr, "expected %s on: %s (normalized: %s)\n", rule, text, r->normalized);
        fail ();
    }
    if (evidence) {
        size_t len = hit->end - hit->start;
        if (len != strlen (evidence) || memcmp (text + hit->start, evidence, len) != 0) {
            fprintf (stderr, "%s span '%.*s', expected '%s'\n", rule, (int) len,
                     text + hit->start, evidence);
            fail ();
        }
    }
}

static void
s_assert_no_hit (const char *text, const char *rule)
{
    judge_result_t *r = s_eval (text);
    const judge_hit_t *hit = s_hit (r, rule);
    if (hit) {
        fprintf (stderr, "unexpected %s on: %s span '%.*s'\n", rule, text,
                 (int) (hit->end - hit->start), text + hit->start);
        fail ();
    }
}

static void
s_assert_clean (const char *text)
{
    judge_result_t *r = s_eval (text);
    //  A complaint's topic (an order "还没到") is no violation: it never
    //  adds to the total
    for (size_t h = 0; h < r->nhits; h++)
        if (r->hits [h].category != QY_CAT_COMPLAINT) {
            fprintf (stderr, "unexpected hit %s on ordinary chat: %s\n", r->hits [h].rule, text);
            fail ();
        }
    assert_true (r->total == 0);
    assert_int_equal (r->top, QY_CAT__COUNT);
}

static void
test_phone (void **state)
{
    (void) state;
    //  game_chat_ads.dev.tsv
    s_assert_hit ("换区不玩了微信出售700w游x币要的加我微信只需要15元红包要的加我微信13802826507",
                  "ad.phone", "13802826507");
    s_assert_hit ("61红发哈雷h追杀夫妻肺片2一百元一次我微信15932113904", "ad.phone", "15932113904");
    //  Evasion: separators, full-width, circled, spelled out
    s_assert_hit ("电话 138-1234-5678 随时", "ad.phone", "138-1234-5678");
    s_assert_hit ("打 １３８ １２３４ ５６７８", "ad.phone", "１３８ １２３４ ５６７８");
    s_assert_hit ("找我①③⑧①②③④⑤⑥⑦⑧", "ad.phone", "①③⑧①②③④⑤⑥⑦⑧");
    s_assert_hit ("一三八一二三四五六七八", "ad.phone", "一三八一二三四五六七八");
    s_assert_hit ("+86 139 0000 1111", "ad.phone", "86 139 0000 1111");
    //  Landlines and service numbers
    s_assert_hit ("订购热线021-64381234", "ad.phone", "021-64381234");
    s_assert_hit ("拨打0755 8888 1234", "ad.phone", "0755 8888 1234");
    s_assert_hit ("400-820-8820", "ad.phone", "400-820-8820");
}

static void
test_phone_staff_exempt (void **state)
{
    (void) state;
    const char *text = "门店电话 021-64381234 欢迎来电预约";
    //  The same text from a member hits, from staff it does not, even
    //  when staff are not exempt from the other rules
    judge_result_t *r = s_eval_as (s_judge, text, "text", "member", 0);
    assert_non_null (s_hit (r, "ad.phone"));
    r = s_eval_as (s_judge, text, "text", "staff", 0);
    assert_null (s_hit (r, "ad.phone"));
    r = s_eval_as (s_judge, text, "text", "admin", 0);
    assert_null (s_hit (r, "ad.phone"));
    //  exempt_staff = 1: staff are exempt from everything
    r = s_eval_as (s_judge, "加微信abc12345 百家乐", "text", "owner", 1);
    assert_int_equal (r->nhits, 0);
    r = s_eval_as (s_judge, "加微信abc12345 百家乐", "text", "owner", 0);
    assert_non_null (s_hit (r, "ad.wechat_id"));
}

static void
test_phone_allow_list (void **state)
{
    (void) state;
    judge_rule_row_t row = { "ad.phone", "phone", "ad", "021-6438 1234\n400-820-8820", 0.6, 0 };
    char err [256];
    judge_t *judge = judge_new (&row, 1, NULL, err, sizeof (err));
    assert_non_null (judge);
    judge_result_t *r = s_eval_as (judge, "官方电话021-64381234", "text", "member", 1);
    assert_int_equal (r->nhits, 0);
    r = s_eval_as (judge, "加我13812345678", "text", "member", 1);
    assert_int_equal (r->nhits, 1);
    judge_destroy (&judge);
}

static void
test_qq (void **state)
{
    (void) state;
    //  qq_group_ads.dev.tsv
    s_assert_hit ("购买加q3286571368", "ad.qq", "q3286571368");
    s_assert_hit ("外部群1157665339", "ad.qq", "群1157665339");
    s_assert_hit ("外部二群:279314535RelaxedBox", "ad.qq", "群:279314535");
    s_assert_hit ("可商裙596370929", "ad.qq", "裙596370929");     //  裙 for 群
    //  game_chat_ads.dev.tsv
    s_assert_hit ("dyc额p给s加y1元八万元宝送蓝水晶紫水晶ss级同伴十扣:204744234",
                  "ad.qq", "扣:204744234");
    s_assert_hit ("200元=30000钻石要的加q937502171先货", "ad.qq", "q937502171");
    s_assert_hit ("15300收书卖的mmmmm天火装备-搬钻-讨论qun571162763", "ad.qq", "qun571162763");
    //  Evasion
    s_assert_hit ("加 Ｑ Ｑ：②⑧⑤⑧⑧①⑨⑥④②", "ad.qq", "Ｑ Ｑ：②⑧⑤⑧⑧①⑨⑥④②");
    s_assert_hit ("企鹅号 一二三四五六七八", "ad.qq", "鹅号 一二三四五六七八");
    s_assert_hit ("扣扣 3 2 8 6 5 7 1 3 6 8", "ad.qq", "扣扣 3 2 8 6 5 7 1 3 6 8");
}

static void
test_wechat_id (void **state)
{
    (void) state;
    //  game_chat_ads.dev.tsv
    s_assert_hit ("一比五五长期稳定出货先货后钱加微wxxk6688", "ad.wechat_id", "微wxxk6688");
    s_assert_hit ("卖元宝亲需要购买加微信号x6768m", "ad.wechat_id", "微信号x6768m");
    s_assert_hit ("200元=50000元宝加3紫将,质量保证,可先货,加威信xxddd7绝对安全",
                  "ad.wechat_id", "威信xxddd7");
    s_assert_hit ("117112.海豚YB阁,海豚小班助你战力狂飙,求微37458383016131",
                  "ad.wechat_id", "微37458383016131");
    s_assert_hit ("恋需要系怨气嘛排凌派源宝加v15712311961收汽油号", "ad.wechat_id", "v15712311961");
    //  Evasion
    s_assert_hit ("薇 信：ａｂｃ_１２３４５", "ad.wechat_id", "薇 信：ａｂｃ_１２３４５");
    s_assert_hit ("𝐯𝐱 𝟏𝟐𝟑𝟒𝟓𝟔", "ad.wechat_id", "𝐯𝐱 𝟏𝟐𝟑𝟒𝟓𝟔");
    s_assert_hit ("徽信 abc123456", "ad.wechat_id", "徽信 abc123456");
}

static void
test_contact_phrase (void **state)
{
    (void) state;
    s_assert_hit ("出一张改名卡或者喇叭，需要改名卡和喇叭的滴滴我", "ad.contact_strong", "滴滴我");
    s_assert_hit ("想要的加V了解", "ad.contact_strong", "加V");
    s_assert_hit ("详情看我头像", "ad.contact_strong", "看我头像");
    s_assert_hit ("有事找我 薇 信 聊", "ad.contact_strong", "薇 信");
    s_assert_hit ("加 Ｖ 私聊", "ad.contact_strong", "加 Ｖ");
    s_assert_hit ("价格私聊", "ad.contact_weak", "私聊");
    //  sms_spam.dev.tsv: every digit masked as x, so the phrase must carry it
    judge_result_t *r = s_eval ("x-xx万只需身份证即可申请银行免押贷款 x天到帐，详询xxxxxxxxxxx"
                                "厦门刘经理手机号也是微信号感谢保存添加【中国平安】");
    assert_non_null (s_hit (r, "ad.contact_strong"));
    assert_non_null (s_hit (r, "ad.contact_weak"));
    assert_true (r->score [QY_CAT_AD] > 0);
}

static void
test_url (void **state)
{
    (void) state;
    //  qq_group_ads.dev.tsv
    s_assert_hit ("各种东西应都在wqkj777. top", "ad.url", "wqkj777. top");
    s_assert_hit ("外挂卡网大降价销量搞起来https://wfjn0oa.nb2022.cn/ds/", "ad.url",
                  "https://wfjn0oa.nb2022.cn");
    s_assert_hit ("Cookie绑定配置教程：docs.qq.com/doc/DUWNVQVFTU3liTVlO获取cookie后", "ad.url",
                  "docs.qq.com");
    //  game_chat_ads.dev.tsv
    s_assert_hit ("佰度査xy789.top得砖", "ad.url", "xy789.top");
    //  Obfuscations
    s_assert_hit ("上www点abc点com看看", "ad.url", "www点abc点com");
    s_assert_hit ("打开 abc . com", "ad.url", "abc . com");
    s_assert_hit ("打开abc。com", "ad.url", "abc。com");
    s_assert_hit ("a b c.com 全是好货", "ad.url", "a b c.com");
    s_assert_hit ("ａｂｃ．ｃｏｍ", "ad.url", "ａｂｃ．ｃｏｍ");
    s_assert_hit ("地址 www.abcdefg", "ad.url", "www.abcdefg");
}

static void
test_url_allow_list (void **state)
{
    (void) state;
    judge_rule_row_t row = { "ad.url", "url", "ad", "brand.com\nqq.com", 0.6, 0 };
    char err [256];
    judge_t *judge = judge_new (&row, 1, NULL, err, sizeof (err));
    assert_non_null (judge);
    judge_result_t *r = s_eval_as (judge, "官网 www.brand.com 和 shop.brand.com", "text", "member", 1);
    assert_int_equal (r->nhits, 0);
    r = s_eval_as (judge, "docs.qq.com/doc/x", "text", "member", 1);
    assert_int_equal (r->nhits, 0);
    r = s_eval_as (judge, "去 notbrand.com 买", "text", "member", 1);
    assert_int_equal (r->nhits, 1);
    r = s_eval_as (judge, "https://evil.cn/x", "text", "member", 1);
    assert_int_equal (r->nhits, 1);
    judge_destroy (&judge);
}

static void
test_keywords (void **state)
{
    (void) state;
    s_assert_hit ("最新菠菜平台，首存送彩金", "gambling.keyword", NULL);
    s_assert_hit ("百家樂真人視訊", "gambling.keyword", "百家樂");
    s_assert_hit ("菠 😀 菜", "gambling.keyword", "菠 😀 菜");
    s_assert_hit ("宝妈兼职日结，手机就能做", "ad.keyword", NULL);
    s_assert_hit ("刷單返利 一單一結", "fraud.keyword", "刷單");
    s_assert_hit ("约炮吗", "porn.keyword", "约炮");
    s_assert_hit ("你个傻逼", "abuse.keyword", "傻逼");
    s_assert_hit ("你个傻\xe2\x80\x8b逼", "abuse.keyword", "傻\xe2\x80\x8b逼");
    //  qq_group_ads.dev.tsv
    s_assert_hit ("外挂卡网大降价销量搞起来", "ad.trade", "外挂");
    judge_result_t *r = s_eval ("最新菠菜平台");
    assert_int_equal (r->top, QY_CAT_GAMBLING);
    assert_true (r->score [QY_CAT_GAMBLING] >= 1.0);
}

static void
test_keyword_exemption (void **state)
{
    (void) state;
    judge_rule_row_t row = { "ad.custom", "keyword", "ad", "代购\n!代购物车", 0.5, 0 };
    char err [256];
    judge_t *judge = judge_new (&row, 1, NULL, err, sizeof (err));
    assert_non_null (judge);
    judge_result_t *r = s_eval_as (judge, "帮我清一下代购物车", "text", "member", 1);
    assert_int_equal (r->nhits, 0);
    r = s_eval_as (judge, "专业代购", "text", "member", 1);
    assert_int_equal (r->nhits, 1);
    judge_destroy (&judge);
}

static void
test_regex_and_dry_run (void **state)
{
    (void) state;
    judge_rule_row_t rows [] = {
        { "ad.regex", "regex", "ad", "[0-9]{2,3}元包邮", 0.7, 0 },
        { "ad.dry", "keyword", "ad", "包邮", 5.0, 1 },
    };
    char err [256];
    judge_t *judge = judge_new (rows, 2, NULL, err, sizeof (err));
    assert_non_null (judge);
    const char *text = "今天 99 元 包邮";
    judge_result_t *r = s_eval_as (judge, text, "text", "member", 1);
    const judge_hit_t *hit = s_hit (r, "ad.regex");
    assert_non_null (hit);
    assert_int_equal (hit->end - hit->start, strlen ("99 元 包邮"));
    assert_memory_equal (text + hit->start, "99 元 包邮", hit->end - hit->start);
    //  The dry-run rule is reported but does not count
    hit = s_hit (r, "ad.dry");
    assert_non_null (hit);
    assert_true (hit->dry_run);
    assert_true (r->total > 0.69 && r->total < 0.71);
    judge_destroy (&judge);
}

static void
test_msgtype_and_at_all (void **state)
{
    (void) state;
    judge_result_t *r = s_eval_as (s_judge, "", "weapp", "member", 1);
    assert_non_null (s_hit (r, "ad.msgtype"));
    r = s_eval_as (s_judge, "名片", "card", "member", 1);
    assert_non_null (s_hit (r, "ad.msgtype"));
    r = s_eval_as (s_judge, "", "qrcode", "staff", 0);
    assert_null (s_hit (r, "ad.msgtype"));
    r = s_eval_as (s_judge, "", "image", "member", 1);
    assert_int_equal (r->nhits, 0);
    s_assert_hit ("@所有人 今晚八点开团", "format.at_all", "@所有人");
    s_assert_hit ("@All 看这里", "format.at_all", "@All");
    r = s_eval_as (s_judge, "@所有人 今晚八点开团", "text", "staff", 0);
    assert_null (s_hit (r, "format.at_all"));
    //  Reported by the gateway rather than written in the text
    judge_input_t in = { "今晚开团", (size_t) -1, "text", "member", 1, 1 };
    assert_int_equal (judge_eval (s_judge, &in, &s_result), 0);
    assert_non_null (s_hit (&s_result, "format.at_all"));
}

static void
test_ordinary_chat_is_clean (void **state)
{
    (void) state;
    //  Prices and promotions
    s_assert_clean ("这款精华¥199，2件8折，满300减50");
    s_assert_clean ("会员价 1299 元，原价 1599 元，今天下单送小样");
    s_assert_clean ("买二送一，第二件半价");
    //  Product names and model numbers
    s_assert_clean ("iPhone 15 Pro Max 256G 到货了吗");
    s_assert_clean ("SK-II 神仙水 230ml 和 Model 3 都想要");
    s_assert_clean ("请问有 37 码的吗，型号 AB-12345");
    //  Dates, times, order and tracking numbers
    s_assert_clean ("5月12日 13:30 到店，2024-05-12 14:00:00 前取货");
    s_assert_clean ("我的订单 123456789 还没到");
    s_assert_clean ("快递单号 SF1234567890123 查不到");
    s_assert_clean ("订单号 20240512123456789 什么时候发货");
    //  Chinese numerals in ordinary speech
    s_assert_clean ("我们一起去吧，三个人一下就好");
    s_assert_clean ("一二三四，再来一次");
    //  Everyday words that generic lists would block
    s_assert_clean ("客服在吗？我想问一下代理的事情，网络不好");
    s_assert_clean ("哈哈哈哈哈哈，太好看了吧");
    s_assert_clean ("群里有人用过这个面霜吗");
    s_assert_clean ("hello. coming soon");
    s_assert_clean ("版本 v1.0.cn 更新了");
    //  Seen in the demo workload: 折扣 held 扣, which 扣扣 (QQ) collapsed to
    s_assert_clean ("请问2件8折和会员折扣能叠加吗");
    s_assert_clean ("优惠券可以叠加使用吗，折扣怎么算");
    s_assert_clean ("扣款成功了但是订单没显示");
    s_assert_clean ("上次的优惠券过期了怎么办");
    s_assert_clean ("满199减30是所有商品都参加吗");
    s_assert_clean ("积分快过期了怎么办，加购物车了还没付款");
    s_assert_clean ("能开发票吗，我在二号店买的可以去一号店退吗");
    s_assert_no_hit ("今天下午3点半直播，记得来", "ad.phone");
    s_assert_no_hit ("这个群有500000人", "ad.qq");
    s_assert_no_hit ("vape100r", "ad.wechat_id");
}

static void
test_collapsed_words (void **state)
{
    (void) state;
    //  扣扣 collapses to 扣 and is not matched alone; its longer forms are.
    judge_result_t *r = s_eval ("有需要的加我扣扣号");
    assert_non_null (s_hit (r, "ad.contact_strong"));
    r = s_eval ("扣扣扣扣群来");
    assert_non_null (s_hit (r, "ad.contact_strong"));
    //  A word written as one character is kept (an exemption-free single Han word).
    judge_rule_row_t one = { "abuse.one", "keyword", "abuse", "蛆\n扣扣", 1, 0 };
    char err [256];
    judge_t *j = judge_new (&one, 1, NULL, err, sizeof (err));
    assert_non_null (j);
    judge_input_t in = { "一群蛆", (size_t) -1, "text", "member", 1, 0 };
    judge_result_t res;
    assert_int_equal (judge_eval (j, &in, &res), 0);
    assert_int_equal (res.nhits, 1);
    judge_input_t in2 = { "会员折扣", (size_t) -1, "text", "member", 1, 0 };
    assert_int_equal (judge_eval (j, &in2, &res), 0);
    assert_int_equal (res.nhits, 0);
    judge_destroy (&j);
}

static void
test_invalid_rules (void **state)
{
    (void) state;
    char err [256];
    judge_rule_row_t bad_kind = { "x", "nope", "ad", "", 1, 0 };
    assert_null (judge_new (&bad_kind, 1, NULL, err, sizeof (err)));
    assert_non_null (strstr (err, "unknown kind"));
    judge_rule_row_t bad_cat = { "x", "keyword", "spam", "a", 1, 0 };
    assert_null (judge_new (&bad_cat, 1, NULL, err, sizeof (err)));
    assert_non_null (strstr (err, "unknown category"));
    judge_rule_row_t bad_regex = { "x.re", "regex", "ad", "([a-z", 1, 0 };
    assert_null (judge_new (&bad_regex, 1, NULL, err, sizeof (err)));
    assert_non_null (strstr (err, "x.re"));
    judge_rule_row_t dup [] = { { "x", "keyword", "ad", "a", 1, 0 },
                                { "x", "keyword", "ad", "b", 1, 0 } };
    assert_null (judge_new (dup, 2, NULL, err, sizeof (err)));
    assert_non_null (strstr (err, "duplicate"));
    judge_rule_row_t bad_clf = { "c", "classifier", "ad", "ad:2", 1, 0 };
    assert_null (judge_new (&bad_clf, 1, NULL, err, sizeof (err)));
    judge_rule_row_t bad_model = { "c", "classifier", "ad", "spam:0.5", 1, 0 };
    assert_null (judge_new (&bad_model, 1, NULL, err, sizeof (err)));
    judge_options_t opts = { NULL, "/nonexistent/ad.model", NULL };
    assert_null (judge_new (NULL, 0, &opts, err, sizeof (err)));
    assert_non_null (strstr (err, "/nonexistent/ad.model"));
    //  An empty rule set judges everything clean
    judge_t *empty = judge_new (NULL, 0, NULL, err, sizeof (err));
    assert_non_null (empty);
    judge_input_t in = { "加微信abc12345", (size_t) -1, NULL, NULL, 1, 0 };
    assert_int_equal (judge_eval (empty, &in, &s_result), 0);
    assert_int_equal (s_result.nhits, 0);
    judge_input_t bad = { NULL, 5, NULL, NULL, 1, 0 };
    assert_int_equal (judge_eval (empty, &bad, &s_result), -1);
    judge_destroy (&empty);
}

static void
test_rules_tsv (void **state)
{
    (void) state;
    const char *tsv = "# comment\nname\tkind\tcategory\tweight\tpattern\n"
                      "a.kw\tkeyword\tad\t0.5\t加v\\n薇信\n"
                      "a.re\tregex\tad\t1\t\\d{5}\n"
                      "a.dry\tkeyword\tporn\t1\t约炮\t1\n";
    size_t n = 0;
    char err [256];
    judge_rule_row_t *rows = judge_rules_parse_tsv (tsv, strlen (tsv), &n, err, sizeof (err));
    assert_non_null (rows);
    assert_int_equal (n, 3);
    assert_string_equal (rows [0].pattern, "加v\n薇信");
    assert_string_equal (rows [1].pattern, "\\d{5}");
    assert_int_equal (rows [2].dry_run, 1);
    judge_rules_free (&rows, n);
    assert_null (rows);
    const char *bad = "a\tkeyword\tad\tx\tword\n";
    assert_null (judge_rules_parse_tsv (bad, strlen (bad), &n, err, sizeof (err)));
    //  The default set covers every detector kind
    const judge_rule_row_t *defaults = judge_default_rules (&n);
    const char *kinds [] = { "url", "phone", "qq", "wechat_id", "contact_phrase", "keyword",
                             "msgtype", "at_all", "classifier" };
    for (size_t k = 0; k < sizeof (kinds) / sizeof (*kinds); k++) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strcmp (defaults [i].kind, kinds [k]) == 0;
        assert_true (found);
    }
}

static void
test_hits_capacity (void **state)
{
    (void) state;
    //  More matching rules than JUDGE_MAX_HITS: all count, 32 are listed
    enum { N = JUDGE_MAX_HITS + 8 };
    judge_rule_row_t rows [N];
    char names [N][16];
    for (int i = 0; i < N; i++) {
        snprintf (names [i], sizeof (names [i]), "r%d", i);
        rows [i] = (judge_rule_row_t) { names [i], "keyword", "ad", "广告", 0.1, 0 };
    }
    char err [256];
    judge_t *judge = judge_new (rows, N, NULL, err, sizeof (err));
    assert_non_null (judge);
    judge_result_t *r = s_eval_as (judge, "广告", "text", "member", 1);
    assert_int_equal (r->nhits, JUDGE_MAX_HITS);
    assert_int_equal (r->hits_dropped, 8);
    assert_true (r->total > N * 0.1 - 1e-6);
    judge_destroy (&judge);
}

//  Issue 20 §8: a contact detail in disguise is recalled with any strong
//  contact cue, whatever the disguise; the same detail in plain writing
//  (a customer giving a number) is not a disguise.
static void
s_assert_disguised (const char *text, int recall)
{
    judge_result_t *r = s_eval (text);
    if (!s_hit (r, "ad.contact_disguised")) {
        fprintf (stderr, "expected ad.contact_disguised on: %s (normalized: %s)\n", text,
                 r->normalized);
        fail ();
    }
    judge_thresholds_t t = judge_thresholds_default ();
    if (recall && judge_decide (&t, r->total) < JUDGE_RECALL) {
        fprintf (stderr, "expected a recall, scored %.2f: %s\n", r->total, text);
        fail ();
    }
}

static void
test_disguised_phone_family (void **state)
{
    (void) state;
    assert_int_equal (judge_decide (&(judge_thresholds_t) { 0.5, 1.0, 2.0, 3.0 },
                                    s_eval ("滴滴我 V❤ 同号：一三八零零一三八零零零")->total),
                      JUDGE_RECALL);
    const char *numbers [] = {
        "一三八零零一三八零零零", "壹叁捌零零壹叁捌零零零", "幺三八 零零幺三 八零零零",
        "一五九〇一二三四五六七", "一 八 六 一 二 三 四 五 六 七 八", "１３８００１３８０００",
        "①③⑧⓪⓪①③⑧⓪⓪⓪", "❶❸❽⓿⓿❶❸❽⓿⓿⓿", "138一二三四五六七八", "一三八-零零一三-八零零零"
    };
    const char *cues [] = { "滴滴我 ", "加v ", "加微 ", "看我头像 ", "滴滴我 V❤ 同号：" };
    char text [256];
    for (size_t c = 0; c < sizeof (cues) / sizeof (cues [0]); c++)
        for (size_t n = 0; n < sizeof (numbers) / sizeof (numbers [0]); n++) {
            snprintf (text, sizeof (text), "%s%s", cues [c], numbers [n]);
            s_assert_disguised (text, 1);
        }
    //  Plain digits are no disguise; numerals in speech are no number
    s_assert_no_hit ("我电话 13800138000", "ad.contact_disguised");
    s_assert_no_hit ("我的手机号 138-0013-8000 麻烦发货前联系", "ad.contact_disguised");
    s_assert_no_hit ("买二送一，一起来三个人", "ad.contact_disguised");
    s_assert_no_hit ("二〇二四年三月一日到货", "ad.contact_disguised");
    //  A QQ number's cue (群号, 扣) is no disguise, nor one numeral the
    //  numeral rule took into a plain number (12345678 一起 → 123456781)
    s_assert_no_hit ("群号 87654321 进群", "ad.contact_disguised");
    s_assert_no_hit ("扣 12345678 一起玩", "ad.contact_disguised");
    s_assert_disguised ("加v 138❤0013❤8000", 1);
    s_assert_disguised ("扣扣：一二三四五六七八九", 0);
}

//  A complaint model is loaded by category, and only a model of that category
static void
test_load_model (void **state)
{
    (void) state;
    char path [1024], err [256] = "";
    assert_int_equal (judge_model_default_path ("ad", path, sizeof (path)), 0);
    assert_int_equal (judge_load_model (s_judge, "complaint", path, err, sizeof (err)), -1);
    assert_non_null (strstr (err, "not complaint"));
    assert_int_equal (judge_load_model (s_judge, "nonsense", path, err, sizeof (err)), -1);
    assert_int_equal (judge_load_model (s_judge, "complaint", "/nonexistent.model", err, sizeof (err)), -1);
    //  Still judging with the rules alone
    assert_true (s_eval ("快递太慢了，无语")->p_complaint < 0);
}

static void
test_disguised_wechat_family (void **state)
{
    (void) state;
    judge_thresholds_t t = judge_thresholds_default ();
    assert_true (judge_decide (&t, s_eval ("薇：ｌｉｎｇｌｉｎｇ５２０，厂家直销")->total)
                 >= JUDGE_RECALL);
    const char *cues [] = { "薇", "威", "徽", "溦", "維", "薇信", "威信", "徽信", "维信", "卫信",
                            "V信", "ｖ信", "薇❤", "威 ", "薇信号", "薇号是" };
    const char *ids [] = { "lingling520", "ｌｉｎｇｌｉｎｇ５２０", "abc12345", "ＡＢＣ１２３４５",
                           "𝐥𝐢𝐧𝐠𝐥𝐢𝐧𝐠520", "wxid8899" };
    const char *seps [] = { "：", ":", " ", "", "：  " };
    char text [256];
    for (size_t c = 0; c < sizeof (cues) / sizeof (cues [0]); c++)
        for (size_t i = 0; i < sizeof (ids) / sizeof (ids [0]); i++) {
            snprintf (text, sizeof (text), "%s%s%s", cues [c], seps [(c + i) % 5], ids [i]);
            if (strcmp (cues [c], "維") == 0)
                continue;       //  维 alone is no cue (维修); 維 is its traditional form
            s_assert_disguised (text, 1);
        }
    //  vx / wx glued to an ID are variants of 微信 too
    s_assert_disguised ("vx12345678", 1);
    s_assert_disguised ("ｖｘ：ａｂｃ１２３４５", 1);
    s_assert_disguised ("wx: abc12345 私聊", 1);
    //  The plain word with a plain ID: a customer's own WeChat, no disguise
    s_assert_hit ("我微信 lingling520", "ad.wechat_id", NULL);
    s_assert_no_hit ("我微信 lingling520", "ad.contact_disguised");
    s_assert_no_hit ("微信号：abc12345", "ad.contact_disguised");
    s_assert_no_hit ("weixin12345678", "ad.contact_disguised");
}

//  Issue 20 §4: a complaint is scored in its own category and never adds
//  to the total, so it can never punish; its topics name what it is about
static void
test_complaint_never_punishes (void **state)
{
    (void) state;
    const char *complaints [] = {
        "刚买的裤子洗一次就掉色，质量太差了，我要投诉", "快递太慢了，等了五天还没到，太失望了",
        "申请退款三天了没人处理", "刚买就降价了，说好的保价呢，太坑人了", "店员态度很差，再也不来了",
    };
    const char *topics [] = { "complaint.quality", "complaint.delivery", "complaint.refund",
                              "complaint.price", "complaint.service" };
    for (size_t i = 0; i < sizeof (complaints) / sizeof (complaints [0]); i++) {
        judge_result_t *r = s_eval (complaints [i]);
        if (r->score [QY_CAT_COMPLAINT] < 0.5 || !s_hit (r, topics [i])) {
            fprintf (stderr, "expected a complaint (%s): %s\n", topics [i], complaints [i]);
            fail ();
        }
        assert_true (r->total == 0);
        assert_int_equal (r->top, QY_CAT__COUNT);
    }
    assert_true (s_eval ("这款洗发水有货吗？谢谢")->score [QY_CAT_COMPLAINT] < 0.5);
    assert_string_equal (judge_category_name (QY_CAT_COMPLAINT), "complaint");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_phone),
        cmocka_unit_test (test_phone_staff_exempt),
        cmocka_unit_test (test_phone_allow_list),
        cmocka_unit_test (test_qq),
        cmocka_unit_test (test_wechat_id),
        cmocka_unit_test (test_contact_phrase),
        cmocka_unit_test (test_url),
        cmocka_unit_test (test_url_allow_list),
        cmocka_unit_test (test_keywords),
        cmocka_unit_test (test_keyword_exemption),
        cmocka_unit_test (test_regex_and_dry_run),
        cmocka_unit_test (test_msgtype_and_at_all),
        cmocka_unit_test (test_ordinary_chat_is_clean),
        cmocka_unit_test (test_collapsed_words),
        cmocka_unit_test (test_invalid_rules),
        cmocka_unit_test (test_rules_tsv),
        cmocka_unit_test (test_hits_capacity),
        cmocka_unit_test (test_disguised_phone_family),
        cmocka_unit_test (test_complaint_never_punishes),
        cmocka_unit_test (test_load_model),
        cmocka_unit_test (test_disguised_wechat_family),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
