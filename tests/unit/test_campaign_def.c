//  campaign_def: definition files are checked strictly; every trigger and
//  step kind parses into what the planner and runner read.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "campaign.h"

static campaign_def_t *s_parse (const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_loads (text, 0, &jerr);
    assert_non_null (o);
    campaign_def_t *def = campaign_def_parse (o, err, errlen);
    json_decref (o);
    return def;
}

//  The definition must be refused with an error containing `want`.
static void s_refused (const char *text, const char *want)
{
    char err [320] = "";
    campaign_def_t *def = s_parse (text, err, sizeof (err));
    if (def || !strstr (err, want))
        fail_msg ("expected an error with '%s', got '%s' for %s", want, def ? "(accepted)" : err, text);
}

static void test_schedule_sop (void **state)
{
    (void) state;
    char err [320];
    campaign_def_t *def = s_parse (
        "{\"name\":\"sop\",\"target\":{\"regions\":[\"east\"],\"group_tags\":[\"vip\"],\"group_states\":[\"healthy\"],"
        " \"members\":{\"trust_min\":1,\"states\":[\"lurker\"],\"tags\":[\"new\"]}},"
        " \"trigger\":{\"type\":\"schedule\",\"weekdays\":[1,3],\"dates\":[\"2025-11-20\"],\"from\":\"2025-11-01\"},"
        " \"steps\":[{\"at\":\"08:30\",\"template\":\"早 {group}\"},"
        "  {\"day\":1,\"best_time\":true,\"promotional\":true,\"coupon\":\"C9\",\"mention\":\"all\",\"template\":\"{coupon}\"},"
        "  {\"at\":\"20:00\",\"mention\":{\"segment\":{\"states\":[\"key\"]},\"limit\":5},"
        "   \"variants\":[{\"name\":\"A\",\"template\":\"a\",\"weight\":3},{\"name\":\"B\",\"template\":\"b\"}]}]}",
        err, sizeof (err));
    assert_non_null (def);
    assert_string_equal (def->name, "sop");
    assert_true (def->enabled);
    assert_int_equal (def->trigger.kind, CAMPAIGN_T_SCHEDULE);
    assert_int_equal (def->trigger.weekdays, (1 << 1) | (1 << 3));
    assert_int_equal (def->trigger.ndates, 1);
    assert_int_equal (def->trigger.dates [0], campaign_days_from_civil (2025, 11, 20));
    assert_int_equal (def->trigger.from_day, campaign_days_from_civil (2025, 11, 1));
    assert_int_equal (def->trigger.until_day, CAMPAIGN_NO_DAY);
    assert_int_equal (def->target.regions.n, 1);
    assert_true (def->target.members.set);
    assert_int_equal (def->target.members.trust_min, 1);
    assert_int_equal (def->target.members.trust_max, -1);
    assert_int_equal (def->nsteps, 3);
    assert_int_equal (def->steps [0].at_min, 8 * 60 + 30);
    assert_false (def->steps [0].promotional);
    assert_int_equal (def->steps [0].mention, CAMPAIGN_M_NONE);
    assert_int_equal (def->steps [1].day, 1);
    assert_true (def->steps [1].best_time);
    assert_int_equal (def->steps [1].at_min, -1);
    assert_string_equal (def->steps [1].coupon, "C9");
    assert_int_equal (def->steps [1].mention, CAMPAIGN_M_ALL);
    assert_int_equal (def->steps [2].nvariants, 2);
    assert_int_equal (def->steps [2].variants [0].weight, 3);
    assert_int_equal (def->steps [2].mention, CAMPAIGN_M_SEGMENT);
    assert_int_equal (def->steps [2].mention_limit, 5);
    campaign_def_destroy (&def);
    assert_null (def);
}

static void test_event_triggers (void **state)
{
    (void) state;
    char err [320];
    campaign_def_t *def = s_parse ("{\"name\":\"rebuy\",\"trigger\":{\"type\":\"purchase\",\"products\":{\"SKU1\":30,\"*\":60},"
                                   "\"remind_before_days\":5},\"steps\":[{\"at\":\"10:00\",\"mention\":\"subject\","
                                   "\"template\":\"{nickname} 的 {product} 快用完啦\"}]}", err, sizeof (err));
    assert_non_null (def);
    assert_int_equal (campaign_product_cycle (&def->trigger, "SKU1"), 30);
    assert_int_equal (campaign_product_cycle (&def->trigger, "other"), 60);
    assert_int_equal (def->trigger.remind_before, 5);
    campaign_def_destroy (&def);

    def = s_parse ("{\"name\":\"ci\",\"trigger\":{\"type\":\"checkin\",\"keywords\":[\"签到\",\"打卡\"],\"fold_s\":30},"
                   "\"steps\":[{\"kind\":\"ack\",\"template\":\"{list}\"},{\"kind\":\"leaderboard\",\"at\":\"21:00\",\"top\":3,"
                   "\"template\":\"{list}\"}]}", err, sizeof (err));
    assert_non_null (def);
    assert_true (campaign_trigger_listens (def));
    assert_int_equal (def->trigger.fold_s, 30);
    assert_int_equal (def->trigger.points, 10);
    assert_int_equal (def->steps [0].kind, CAMPAIGN_S_ACK);
    assert_int_equal (def->steps [0].mention, CAMPAIGN_M_SUBJECT);
    assert_int_equal (def->steps [1].kind, CAMPAIGN_S_LEADERBOARD);
    assert_int_equal (def->steps [1].top, 3);
    campaign_def_destroy (&def);

    def = s_parse ("{\"name\":\"lurkers\",\"enabled\":false,\"trigger\":{\"type\":\"signal\",\"name\":\"member.lurker\"},"
                   "\"steps\":[{\"mention\":\"subject\",\"template\":\"{nickname} 好久不见\"}]}", err, sizeof (err));
    assert_non_null (def);
    assert_false (def->enabled);
    assert_string_equal (def->trigger.signal, "member.lurker");
    campaign_def_destroy (&def);
}

static void test_refused (void **state)
{
    (void) state;
    s_refused ("[]", "JSON object");
    s_refused ("{\"trigger\":{\"type\":\"join\"},\"steps\":[{\"template\":\"x\"}]}", "needs a name");
    s_refused ("{\"name\":\"a b\",\"trigger\":{\"type\":\"join\"},\"steps\":[{\"template\":\"x\"}]}", "without spaces");
    s_refused ("{\"name\":\"welcome\",\"trigger\":{\"type\":\"join\"},\"steps\":[{\"template\":\"x\"}]}", "welcome");
    s_refused ("{\"name\":\"x\",\"tigger\":{},\"steps\":[]}", "unknown key \"tigger\"");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"cron\"},\"steps\":[{\"template\":\"x\"}]}", "trigger.type");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"schedule\"},\"steps\":[{\"at\":\"08:00\",\"template\":\"x\"}]}",
               "a schedule needs");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"schedule\",\"dates\":[\"2026-02-30\"]},\"steps\":[{\"at\":\"08:00\",\"template\":\"x\"}]}",
               "dates[0]");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"schedule\",\"daily\":true},\"steps\":[{\"template\":\"x\"}]}",
               "needs \"at\" or \"best_time\"");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"schedule\",\"daily\":true},\"steps\":[{\"at\":\"25:00\",\"template\":\"x\"}]}",
               "not a time of day");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"join\"},\"steps\":[{\"template\":\"hi {nick}\"}]}", "{nick}");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"join\"},\"steps\":[{\"template\":\"{list}\"}]}", "only for ack");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"join\"},\"steps\":[{}]}", "either \"template\" or \"variants\"");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"join\"},\"steps\":[{\"variants\":[{\"name\":\"A\",\"template\":\"a\"}]}]}",
               "2 to 8 variants");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"join\"},\"steps\":[{\"variants\":[{\"name\":\"A\",\"template\":\"a\"},"
               "{\"name\":\"A\",\"template\":\"b\"}]}]}", "used twice");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"schedule\",\"daily\":true},\"steps\":[{\"at\":\"08:00\",\"mention\":\"subject\","
               "\"template\":\"x\"}]}", "trigger about a member");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"keyword\",\"keywords\":[\"券\"]},\"steps\":[{\"at\":\"08:00\",\"template\":\"x\"}]}",
               "folded replies");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"keyword\",\"keywords\":[]},\"steps\":[{\"template\":\"x\"}]}", "at least one keyword");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"join\"},\"steps\":[{\"kind\":\"draw\",\"template\":\"{list}\"}]}", "a draw runs");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"purchase\",\"products\":{\"A\":3},\"remind_before_days\":5},"
               "\"steps\":[{\"template\":\"x\"}]}", "longer than remind_before_days");
    s_refused ("{\"name\":\"x\",\"target\":{\"group_states\":[\"dead\"]},\"trigger\":{\"type\":\"join\"},\"steps\":[{\"template\":\"x\"}]}",
               "unknown state \"dead\"");
    s_refused ("{\"name\":\"x\",\"target\":{\"members\":{\"trust_min\":9}},\"trigger\":{\"type\":\"join\"},\"steps\":[{\"template\":\"x\"}]}",
               "trust_min");
    s_refused ("{\"name\":\"x\",\"trigger\":{\"type\":\"silence\"},\"steps\":[{\"template\":\"x\"}]}", "number of silent days");
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_schedule_sop),
        cmocka_unit_test (test_event_triggers),
        cmocka_unit_test (test_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
