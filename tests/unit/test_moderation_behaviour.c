//  moderation_behaviour / moderation_rules / layered policies: behaviour
//  hits from Redis counts, rule overrides and dry-run, list merging. Pure.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "moderation.h"
#include "moderation_behaviour.h"
#include "qy/util.h"

static const judge_hit_t *s_find (const judge_result_t *r, const char *rule)
{
    for (size_t i = 0; i < r->nhits; i++)
        if (strcmp (r->hits [i].rule, rule) == 0)
            return &r->hits [i];
    return NULL;
}

static judge_result_t s_empty (void)
{
    judge_result_t r;
    memset (&r, 0, sizeof (r));
    r.top = QY_CAT__COUNT;
    return r;
}

static void s_add (judge_result_t *r, const char *rule, qy_category_t cat, double w, int dry, int contact)
{
    judge_hit_t *h = &r->hits [r->nhits++];
    memset (h, 0, sizeof (*h));
    h->rule = rule;
    h->category = cat;
    h->weight = w;
    h->dry_run = dry;
    h->contact = contact;
    if (!dry) {
        r->score [cat] += w;
        r->total += w;
    }
}

static void test_repeat_and_wave (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    moderation_counts_t c = { 0 };
    judge_result_t r = s_empty ();
    //  Three copies are allowed, the fourth is a repeat (recall).
    c.repeat = 3;
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_null (s_find (&r, "behaviour.repeat"));
    c.repeat = 4;
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_non_null (s_find (&r, "behaviour.repeat"));
    moderation_score (&p, &r);
    assert_int_equal (judge_decide (&p.thresholds, r.total), JUDGE_RECALL);
    //  One member's remark in the 3 groups of their store is a customer
    //  repeating themselves, not a wave.
    r = s_empty ();
    c = (moderation_counts_t) { .wave_groups = 2, .wave_members = 4, .wave_stores = 1 };
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_int_equal (r.nhits, 0);
    c.wave_groups = 3;
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_null (s_find (&r, "behaviour.spam_wave"));
    //  A wave with evidence of promotion: groups of 3 stores within minutes,
    c.wave_stores = 3;
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_non_null (s_find (&r, "behaviour.spam_wave"));
    moderation_score (&p, &r);
    assert_int_equal (r.top, QY_CAT_SPAM_WAVE);
    //  a contact detail (however weak),
    r = s_empty ();
    c.wave_stores = 1;
    s_add (&r, "ad.wechat_id", QY_CAT_AD, 0.3, 0, 1);
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_non_null (s_find (&r, "behaviour.spam_wave"));
    //  an ad-like score worth a review (no contact),
    r = s_empty ();
    s_add (&r, "ad.classifier", QY_CAT_AD, 0.6, 0, 0);
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_non_null (s_find (&r, "behaviour.spam_wave"));
    r = s_empty ();
    s_add (&r, "ad.classifier", QY_CAT_AD, 0.3, 0, 0);
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_null (s_find (&r, "behaviour.spam_wave"));
    //  or a member new to the group (joined an hour ago).
    r = s_empty ();
    c.joined_ms = 1;
    moderation_behaviour_hits (&p, &c, 3600LL * 1000000, 480, &r);
    assert_non_null (s_find (&r, "behaviour.spam_wave"));
    c.joined_ms = 0;
    //  Five accounts new to the groups with the same weak cue: a wave, and
    //  one sender's several accounts (heavier); five old accounts: a wave only.
    r = s_empty ();
    c = (moderation_counts_t) { .wave_groups = 1, .wave_members = 5, .joined_ms = 1 };
    s_add (&r, "ad.contact_weak", QY_CAT_AD, 0.1, 0, 1);
    moderation_behaviour_hits (&p, &c, 3600LL * 1000000, 480, &r);
    assert_non_null (s_find (&r, "behaviour.spam_wave"));
    assert_non_null (s_find (&r, "behaviour.multi_account"));
    r = s_empty ();
    c.joined_ms = 0;
    s_add (&r, "ad.contact_weak", QY_CAT_AD, 0.1, 0, 1);
    moderation_behaviour_hits (&p, &c, 3600LL * 1000000, 480, &r);
    assert_non_null (s_find (&r, "behaviour.spam_wave"));
    assert_null (s_find (&r, "behaviour.multi_account"));
    c = (moderation_counts_t) { .wave_groups = 3, .wave_members = 4, .wave_stores = 1 };
    //  The stores' evidence can be switched off.
    moderation_policy_t p2 = p;
    p2.wave_stores = 0;
    r = s_empty ();
    c.wave_stores = 9;
    moderation_behaviour_hits (&p2, &c, 0, 480, &r);
    assert_null (s_find (&r, "behaviour.spam_wave"));
    //  Five members with the same ordinary line: not a wave; with a weak
    //  contact phrase (review needs two of them): a wave.
    r = s_empty ();
    c = (moderation_counts_t) { .wave_groups = 1, .wave_members = 5 };
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_null (s_find (&r, "behaviour.spam_wave"));
    s_add (&r, "ad.contact_weak", QY_CAT_AD, 0.25, 0, 1);
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_non_null (s_find (&r, "behaviour.spam_wave"));
    moderation_score (&p, &r);
    assert_int_equal (judge_decide (&p.thresholds, r.total), JUDGE_RECALL);
    //  A dry-run hit is no signal.
    r = s_empty ();
    s_add (&r, "ad.contact_weak", QY_CAT_AD, 0.25, 1, 1);
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_null (s_find (&r, "behaviour.spam_wave"));
    //  Off when set to 0.
    char err [256];
    assert_int_equal (moderation_policy_apply_json (&p, "{\"spam_wave\":{\"groups\":0,\"members\":0},\"repeat\":{\"max\":0}}",
                                                    err, sizeof (err)), 0);
    r = s_empty ();
    c = (moderation_counts_t) { .repeat = 50, .wave_groups = 50, .wave_members = 50 };
    moderation_behaviour_hits (&p, &c, 0, 480, &r);
    assert_int_equal (r.nhits, 0);
}

static void test_newcomer_and_join_wave (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    int64_t joined = 1763604000000LL, t = (joined + 3600 * 1000) * 1000;     //  one hour after joining
    moderation_counts_t c = { .joined_ms = joined };
    //  No contact detail: nothing.
    judge_result_t r = s_empty ();
    s_add (&r, "abuse.keyword", QY_CAT_ABUSE, 0.6, 0, 0);
    moderation_behaviour_hits (&p, &c, t, 480, &r);
    assert_null (s_find (&r, "behaviour.newcomer"));
    //  A phone number (0.6, review alone) from a newcomer is recalled.
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    moderation_behaviour_hits (&p, &c, t, 480, &r);
    assert_non_null (s_find (&r, "behaviour.newcomer"));
    moderation_score (&p, &r);
    assert_int_equal (judge_decide (&p.thresholds, r.total), JUDGE_RECALL);
    //  The same a day and a half later: only review.
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    moderation_behaviour_hits (&p, &c, (joined + 36 * 3600 * 1000LL) * 1000, 480, &r);
    assert_null (s_find (&r, "behaviour.newcomer"));
    //  During a join wave: stricter (mute at once), and for longer (72 h).
    c.join_wave = true;
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    moderation_behaviour_hits (&p, &c, (joined + 36 * 3600 * 1000LL) * 1000, 480, &r);
    assert_non_null (s_find (&r, "behaviour.newcomer_wave"));
    moderation_score (&p, &r);
    assert_int_equal (judge_decide (&p.thresholds, r.total), JUDGE_MUTE);
    //  A dry-run contact hit does not make a newcomer hit.
    c.join_wave = false;
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 1, 1);
    moderation_behaviour_hits (&p, &c, t, 480, &r);
    assert_null (s_find (&r, "behaviour.newcomer"));
    //  The group's overrides come first: a group that turned the phone rule
    //  off, or made it dry-run, gives a newcomer's number no newcomer hit;
    //  one that made it heavier (1.2) needs no top-up to reach recall.
    char err [256];
    moderation_policy_t g = p;
    assert_int_equal (moderation_policy_apply_json (&g, "{\"rules\":{\"ad.phone\":{\"enabled\":false}}}", err, sizeof (err)), 0);
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    moderation_group_score (&g, &c, t, 480, &r);
    assert_int_equal (r.nhits, 0);
    assert_int_equal (judge_decide (&g.thresholds, r.total), JUDGE_ALLOW);
    g = p;
    assert_int_equal (moderation_policy_apply_json (&g, "{\"rules\":{\"ad.phone\":{\"dry_run\":true}}}", err, sizeof (err)), 0);
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    moderation_group_score (&g, &c, t, 480, &r);
    assert_null (s_find (&r, "behaviour.newcomer"));
    assert_int_equal (judge_decide (&g.thresholds, r.total), JUDGE_ALLOW);
    g = p;
    assert_int_equal (moderation_policy_apply_json (&g, "{\"rules\":{\"ad.phone\":{\"weight\":1.2}}}", err, sizeof (err)), 0);
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    moderation_group_score (&g, &c, t, 480, &r);
    assert_null (s_find (&r, "behaviour.newcomer"));
    assert_true (fabs (r.total - 1.2) < 1e-9);
}

static void test_quiet_hours_and_nickname (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    char err [256];
    assert_int_equal (moderation_policy_apply_json (&p, "{\"quiet\":{\"from\":\"23:00\",\"to\":\"07:00\"}}", err, sizeof (err)), 0);
    moderation_counts_t c = { 0 };
    //  2025-11-20 00:30 at +08:00 is 16:30 UTC the day before.
    int64_t t_night = (int64_t) 1763569800 * 1000000, t_day = t_night + (int64_t) 10 * 3600 * 1000000;
    judge_result_t r = s_empty ();
    moderation_behaviour_hits (&p, &c, t_night, 480, &r);
    assert_non_null (s_find (&r, "behaviour.quiet_hours"));
    moderation_score (&p, &r);
    assert_int_equal (r.top, QY_CAT_FORMAT);
    r = s_empty ();
    moderation_behaviour_hits (&p, &c, t_day, 480, &r);
    assert_null (s_find (&r, "behaviour.quiet_hours"));
    assert_int_equal (moderation_policy_apply_json (&p, "{\"quiet\":{\"from\":\"25:00\",\"to\":\"07:00\"}}", err, sizeof (err)), -1);
    //  Nickname format
    assert_false (moderation_nickname_bad (&p, "随便"));
    assert_int_equal (moderation_policy_apply_json (&p, "{\"nickname\":\"昵称-城市-肤质\"}", err, sizeof (err)), 0);
    assert_true (moderation_nickname_bad (&p, "小美"));
    assert_false (moderation_nickname_bad (&p, "小美-上海-油皮"));
    assert_int_equal (moderation_policy_apply_json (&p, "{\"nickname\":\"re:[\"}", err, sizeof (err)), -1);
}

static void test_layers_and_overrides (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    char err [256];
    //  Brand: phone is dry-run; a store layer then restores it and makes it heavier.
    assert_int_equal (moderation_policy_apply_json (&p, "{\"rules\":{\"ad.phone\":{\"dry_run\":true}}}", err, sizeof (err)), 0);
    judge_result_t r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    s_add (&r, "ad.contact_weak", QY_CAT_AD, 0.25, 0, 1);
    double would = moderation_score (&p, &r);
    assert_true (fabs (r.total - 0.25) < 1e-9);
    assert_true (fabs (would - 0.85) < 1e-9);
    assert_int_equal (judge_decide (&p.thresholds, r.total), JUDGE_ALLOW);
    assert_int_equal (judge_decide (&p.thresholds, would), JUDGE_REVIEW);   //  "would have" flagged it
    assert_true (s_find (&r, "ad.phone")->dry_run);
    //  What a dry-run rule "would" do is settled as a live one: a classifier
    //  sure the message is no ad cancels the dry-run phone number too.
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    r.hits [0].cancelable = 1;
    s_add (&r, "ad.classifier_clear", QY_CAT_AD, -1.0, 0, 0);
    s_add (&r, "fraud.keyword", QY_CAT_FRAUD, 1.0, 0, 0);
    would = moderation_score (&p, &r);
    assert_true (fabs (r.total - 1.0) < 1e-9);
    assert_true (fabs (would - 1.0) < 1e-9);
    moderation_policy_t store = p;
    assert_int_equal (moderation_policy_apply_json (&store, "{\"rules\":{\"ad.phone\":{\"dry_run\":false,\"weight\":1.0}},"
                                                    "\"recall\":0.9}", err, sizeof (err)), 0);
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    would = moderation_score (&store, &r);
    assert_true (fabs (r.total - 1.0) < 1e-9 && fabs (would - 1.0) < 1e-9);
    assert_int_equal (judge_decide (&store.thresholds, r.total), JUDGE_RECALL);
    //  The brand layer is unchanged by the store's.
    assert_int_equal (p.noverrides, 1);
    assert_true (isnan (p.overrides [0].weight));
    //  A disabled rule's hit disappears.
    assert_int_equal (moderation_policy_apply_json (&store, "{\"rules\":{\"ad.phone\":{\"enabled\":false}}}", err, sizeof (err)), 0);
    r = s_empty ();
    s_add (&r, "ad.phone", QY_CAT_AD, 0.6, 0, 1);
    moderation_score (&store, &r);
    assert_int_equal (r.nhits, 0);
    assert_int_equal (r.top, QY_CAT__COUNT);
    //  Bad layers are refused with a reason.
    assert_int_equal (moderation_policy_apply_json (&p, "{\"rules\":[]}", err, sizeof (err)), -1);
    assert_int_equal (moderation_policy_apply_json (&p, "{\"repeat\":{\"max\":\"x\"}}", err, sizeof (err)), -1);
    assert_non_null (strstr (err, "repeat.max"));
    //  Every key and type is checked: a typo, a string for a boolean, a bad
    //  strike_days, a section that is not an object are refused, not ignored.
    static const char *const refused [] = {
        "{\"exempt_staff\":\"false\"}", "{\"exempt_staf\":false}", "{\"strike_days\":0}",
        "{\"strike_days\":\"30\"}", "{\"strike_days\":1.5}", "{\"repeat\":5}", "{\"spam_wave\":{\"group\":3}}",
        "{\"rules\":{\"ad.phone\":{\"dry_run\":\"yes\"}}}", "{\"rules\":{\"ad.phone\":{\"weigth\":1}}}",
        "{\"quiet\":\"23:00-07:00\"}", "{\"moderation\":{\"recal\":1}}",
        "{\"moderation\":{\"recall\":1},\"reveiw\":0.3}",
    };
    for (size_t i = 0; i < sizeof (refused) / sizeof (refused [0]); i++)
        assert_int_equal (moderation_policy_apply_json (&p, refused [i], err, sizeof (err)), -1);
    //  brands.settings is shared with other services: without a "moderation"
    //  object, what is not moderation's is left to them; its own keys are checked.
    moderation_policy_t shared = p;
    assert_int_equal (moderation_policy_apply_settings (&shared, "{\"scoring\":{\"x\":1},\"strike_days\":30}", err, sizeof (err)), 0);
    assert_int_equal (shared.strike_days, 30);
    assert_int_equal (moderation_policy_apply_settings (&shared, "{\"scoring\":{},\"exempt_staff\":1}", err, sizeof (err)), -1);
    assert_int_equal (moderation_policy_apply_settings (&shared, "{\"moderation\":{\"scoring\":{}}}", err, sizeof (err)), -1);
    //  All or nothing: a refused layer changes nothing, not even its valid keys.
    moderation_policy_t before = p;
    assert_int_equal (moderation_policy_apply_json (&p, "{\"review\":0.1,\"repeat\":{\"max\":\"x\"}}", err, sizeof (err)), -1);
    assert_memory_equal (&p, &before, sizeof (p));
}

static void test_rows_merge (void **state)
{
    (void) state;
    judge_rule_row_t rows [] = {
        { "ad.url", "url", "ad", "weixin.qq.com", 0.6, 0 },
        { "ad.phone", "phone", "ad", "", 0.6, 0 },
        { "ad.contact_strong", "contact_phrase", "ad", "扣扣号\n加v", 0.5, 0 },
        { "fraud.keyword", "keyword", "fraud", "刷单", 0.8, 0 },
    };
    moderation_list_row_t lists [] = {
        { "keyword", "fraud", "薅羊毛群" }, { "keyword", "porn", "福利姬" }, { "exempt", "", "加v会员" },
        { "allow_domain", "", "acme.com" }, { "allow_phone", "", "021-12345678" }, { "keyword", "nonsense", "x" },
    };
    size_t n;
    judge_rule_row_t *m = moderation_rows_merge (rows, 4, lists, 6, &n);
    assert_int_equal (n, 6);
    assert_string_equal (m [0].pattern, "weixin.qq.com\nacme.com");
    assert_string_equal (m [1].pattern, "021-12345678");
    assert_string_equal (m [2].pattern, "扣扣号\n加v\n!加v会员");
    assert_string_equal (m [4].name, "brand.fraud.dict");
    assert_true (m [4].weight == 0.8);
    assert_string_equal (m [4].pattern, "薅羊毛群\n!加v会员");     //  exemptions reach the brand's dictionaries too
    assert_string_equal (m [5].name, "brand.porn.dict");
    assert_true (m [5].weight == 1.0);
    //  The merged rows compile and behave: the brand's word hits, its exemption holds,
    //  its domain and its number are allowed.
    char err [256];
    judge_t *j = judge_new (m, n, NULL, err, sizeof (err));
    assert_non_null (j);
    judge_result_t r;
    judge_input_t in = { "来薅羊毛群", (size_t) -1, "text", "member", 1, 0 };
    judge_eval (j, &in, &r);
    assert_int_equal (r.nhits, 1);
    assert_string_equal (r.hits [0].rule, "brand.fraud.dict");
    judge_input_t in2 = { "加V会员享95折，官网 www.acme.com 或致电 021-12345678", (size_t) -1, "text", "member", 1, 0 };
    judge_eval (j, &in2, &r);
    assert_int_equal (r.nhits, 0);
    judge_input_t in3 = { "加v聊 www.spam.cn 13812345678", (size_t) -1, "text", "member", 1, 0 };
    judge_eval (j, &in3, &r);
    assert_int_equal (r.nhits, 3);
    judge_destroy (&j);
    moderation_rows_free (&m, n);
    assert_null (m);
}

static void test_script_args (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    moderation_check_args_t a;
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand_id = 7;
    ev.group_id = 12;
    ev.store_id = 3;
    ev.member_id = 99;
    ev.msg_id = "m1";
    ev.event_time_us = 1763604000123456LL;
    ev.kind = QY__KIND__TEXT;
    moderation_check_in_t in = { &ev, true, true, 0xabcULL };
    moderation_check_args (&a, &p, &in);
    assert_string_equal (a.args [0], "fl:{b:7}:12:99");
    assert_string_equal (a.args [1], "mute:{b:7}:99");
    assert_string_equal (a.args [2], "block:{b:7}");
    assert_string_equal (a.args [5], "jn:{b:7}:12:99");
    assert_string_equal (a.args [3], "rp:{b:7}:12:99:0000000000000abc");
    assert_string_equal (a.args [4], "sw:{b:7}:0000000000000abc");
    assert_string_equal (a.args [6], "jw:{b:7}:3");
    assert_string_equal (a.args [7], "jwf:{b:7}:3");
    assert_string_equal (a.args [8], "md:ids:{b:7}:20412");   //  finished messages of the UTC day (2025-11-20)
    assert_string_equal (a.args [9], "m1");
    assert_string_equal (a.args [10], "1763604000123");
    assert_string_equal (a.args [11], "chat");
    assert_string_equal (a.args [12], "99");
    assert_string_equal (a.args [14], "0");           //  no flood rule: not counted
    assert_string_equal (a.args [15], "600000");      //  repeat window
    assert_string_equal (a.args [16], "600000");      //  wave window
    assert_string_equal (a.args [17], "259200000");   //  joined key lives 72 h (the join-wave window)
    assert_string_equal (a.args [21], "3");           //  the group's store, for the wave's stores
    assert_string_equal (a.wave_me, "12:99:3");       //  the wave set's entry
    assert_true (a.chat && !a.join);
    assert_true (a.t_ms == 1763604000123LL && a.flood_ms == 0 && a.repeat_ms == 600000 && a.wave_ms == 600000);
    assert_true (a.life_ms == 259200000LL && a.jw_ms == 600000 && a.joins == 30 && a.hold_ms == 3600000);
    //  Without content (too short), neither repeats nor waves are counted.
    ev.store_id = 0;
    ev.msg_id = "m2";
    ev.event_time_us = 0;
    in = (moderation_check_in_t) { &ev, true, false, 0 };
    moderation_check_args (&a, &p, &in);
    assert_string_equal (a.args [15], "0");
    assert_string_equal (a.args [16], "0");
    assert_string_equal (a.args [6], "jw:{b:7}:g12");
    assert_string_equal (a.args [21], "g12");         //  no store: the group is its own
    assert_string_equal (a.args [7], "jwf:{b:7}:g12");
    assert_string_equal (a.wave_me, "12:99:g12");
    assert_string_equal (a.args [8], "md:ids:{b:7}:0");
    //  The keys are what printf wrote: large ids, a hash with its top bits.
    ev.brand_id = INT64_MAX;
    ev.group_id = 4000000000LL;
    in = (moderation_check_in_t) { &ev, true, true, 0xfedcba9876543210ULL };
    moderation_check_args (&a, &p, &in);
    char want [96];
    snprintf (want, sizeof (want), "rp:{b:%lld}:%lld:%lld:%016llx", (long long) INT64_MAX, 4000000000LL, 99LL,
              0xfedcba9876543210ULL);
    assert_string_equal (a.args [3], want);
    snprintf (want, sizeof (want), "sw:{b:%lld}:%016llx", (long long) INT64_MAX, 0xfedcba9876543210ULL);
    assert_string_equal (a.args [4], want);
    //  The script's kinds: a recall is no chat; a join is a join.
    assert_string_equal (moderation_check_kind (QY__KIND__IMAGE), "chat");
    assert_string_equal (moderation_check_kind (QY__KIND__REVOKE), "other");
    assert_string_equal (moderation_check_kind (QY__KIND__JOIN), "join");
    assert_string_equal (moderation_check_kind (QY__KIND__LEAVE), "other");
    uint64_t h;
    assert_false (moderation_content_hash ("你好", strlen ("你好"), 6, &h));
    assert_true (moderation_content_hash ("加我领取优惠券", strlen ("加我领取优惠券"), 6, &h));
}

//  Three events of two brands in one call (a single Redis): one MGET of
//  the mute keys, one SMISMEMBER per brand's block set and one per day's
//  finished ids; each event's answers found at its place.
static void test_reads (void **state)
{
    (void) state;
    moderation_policy_t p;
    moderation_policy_default (&p);
    Qy__Event ev [3];
    const int64_t brand [3] = { 7, 8, 7 }, member [3] = { 99, 5, 98 };
    moderation_check_args_t a [3];
    const moderation_check_args_t *call [3];
    char ids [3][8];
    for (int i = 0; i < 3; i++) {
        qy__event__init (&ev [i]);
        snprintf (ids [i], sizeof (ids [i]), "m%d", i);
        ev [i].msg_id = ids [i];
        ev [i].brand_id = brand [i];
        ev [i].group_id = 12;
        ev [i].member_id = member [i];
        ev [i].kind = QY__KIND__TEXT;
        ev [i].event_time_us = 1763604000123456LL + i * 86400000000LL;     //  each a day later
        moderation_check_in_t in = { &ev [i], true, false, 0 };
        moderation_check_args (&a [i], &p, &in);
        call [i] = &a [i];
    }
    moderation_reads_t rd;
    moderation_reads_plan (&rd, call, 3);
    assert_int_equal (rd.ncmds, 1 + 2 + 3);
    assert_int_equal (rd.argc [0], 4);
    assert_string_equal (rd.argv [0][0], "MGET");
    assert_string_equal (rd.argv [0][3], "mute:{b:7}:98");
    //  Brand 7's block set asks for both its members, in order.
    assert_int_equal (rd.block_cmd [0], rd.block_cmd [2]);
    const char *const *b7 = rd.argv [rd.block_cmd [0]];
    assert_string_equal (b7 [0], "SMISMEMBER");
    assert_string_equal (b7 [1], "block:{b:7}");
    assert_string_equal (b7 [2], "99");
    assert_string_equal (b7 [3], "98");
    assert_int_equal (rd.block_at [2], 1);
    assert_string_equal (rd.argv [rd.seen_cmd [1]][1], "md:ids:{b:8}:20413");
    assert_string_equal (rd.argv [rd.seen_cmd [1]][2], "m1");
    //  The replies: event 2 muted and blocked, event 1 finished before.
    redisReply mute [3] = { { .type = REDIS_REPLY_NIL }, { .type = REDIS_REPLY_NIL },
                            { .type = REDIS_REPLY_STRING, .str = "1763605000000000" } };
    redisReply *mutes [3] = { &mute [0], &mute [1], &mute [2] };
    redisReply zero = { .type = REDIS_REPLY_INTEGER, .integer = 0 }, yes = { .type = REDIS_REPLY_INTEGER, .integer = 1 };
    redisReply *b7v [2] = { &zero, &yes }, *b8v [1] = { &zero }, *s1 [1] = { &zero }, *s2 [1] = { &yes };
    redisReply arrays [6] = { { .type = REDIS_REPLY_ARRAY, .elements = 3, .element = mutes } };
    arrays [rd.block_cmd [0]] = (redisReply) { .type = REDIS_REPLY_ARRAY, .elements = 2, .element = b7v };
    arrays [rd.block_cmd [1]] = (redisReply) { .type = REDIS_REPLY_ARRAY, .elements = 1, .element = b8v };
    arrays [rd.seen_cmd [0]] = (redisReply) { .type = REDIS_REPLY_ARRAY, .elements = 1, .element = s1 };
    arrays [rd.seen_cmd [1]] = (redisReply) { .type = REDIS_REPLY_ARRAY, .elements = 1, .element = s2 };
    arrays [rd.seen_cmd [2]] = (redisReply) { .type = REDIS_REPLY_ARRAY, .elements = 1, .element = s1 };
    for (size_t c = 0; c < rd.ncmds; c++)
        rd.replies [c] = &arrays [c];
    int64_t until = -1;
    bool blocked = true, seen = true;
    assert_int_equal (moderation_reads_take (&rd, 0, &until, &blocked, &seen), 0);
    assert_true (until == 0 && !blocked && !seen);
    assert_int_equal (moderation_reads_take (&rd, 1, &until, &blocked, &seen), 0);
    assert_true (until == 0 && !blocked && seen);
    assert_int_equal (moderation_reads_take (&rd, 2, &until, &blocked, &seen), 0);
    assert_true (until == 1763605000000000LL && blocked && !seen);
    assert_null (moderation_reads_error (&rd));
    //  A reply missing or an error (a key of the wrong type): that event has no reads.
    redisReply err = { .type = REDIS_REPLY_ERROR, .str = "WRONGTYPE Operation against a key" };
    rd.replies [rd.block_cmd [1]] = &err;
    assert_int_equal (moderation_reads_take (&rd, 1, &until, &blocked, &seen), -1);
    assert_string_equal (moderation_reads_error (&rd), err.str);
    assert_int_equal (moderation_reads_take (&rd, 0, &until, &blocked, &seen), 0);
    rd.replies [0] = NULL;
    assert_int_equal (moderation_reads_take (&rd, 0, &until, &blocked, &seen), -1);
    assert_int_equal (moderation_reads_take (&rd, 3, &until, &blocked, &seen), -1);
    for (size_t c = 0; c < rd.ncmds; c++)
        rd.replies [c] = NULL;      //  not the plan's to free here
    moderation_reads_free (&rd);
}

//  The scripts are embedded from their .lua files at build time: the code
//  byte for byte, without the lines that are only a "--" comment (so a
//  comment edit never changes a script's SHA1).
static void s_embedded (const char *file, const char *embedded)
{
    char path [512];
    snprintf (path, sizeof (path), "%s/services/moderation/%s", QY_SOURCE_DIR, file);
    FILE *f = fopen (path, "rb");
    assert_non_null (f);
    qy_buf_t b;
    qy_buf_init (&b);
    assert_true (qy_buf_read_stream (&b, f));
    fclose (f);
    assert_true (strncmp (b.data, "--", 2) == 0);      //  each file has a header
    qy_buf_t code;
    qy_buf_init (&code);
    for (const char *line = b.data; *line; ) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) + 1 : strlen (line);
        if (strncmp (line + strspn (line, " \t"), "--", 2) != 0)
            qy_buf_append (&code, line, len);
        line += len;
    }
    assert_true (code.len > 0);
    assert_string_equal (embedded, code.data);
    qy_buf_free (&code);
    qy_buf_free (&b);
}

static void test_scripts_embedded (void **state)
{
    (void) state;
    extern const char moderation_mute_lengthen_lua [];
    s_embedded ("moderation_mute_lengthen.lua", moderation_mute_lengthen_lua);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_repeat_and_wave),
        cmocka_unit_test (test_newcomer_and_join_wave),
        cmocka_unit_test (test_quiet_hours_and_nickname),
        cmocka_unit_test (test_layers_and_overrides),
        cmocka_unit_test (test_rows_merge),
        cmocka_unit_test (test_script_args),
        cmocka_unit_test (test_reads),
        cmocka_unit_test (test_scripts_embedded),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
