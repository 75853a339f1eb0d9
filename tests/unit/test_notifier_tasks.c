//  The staff task loop's decisions: what an edge carries by capability,
//  the reminder and escalation ladder (defaults, per-brand settings, catch-up
//  after a pause), and what a notice says.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "notifier_tasks.h"

static Qy__Delivery s_delivery (const char *kind, Qy__Action action, const char *key)
{
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.kind = (char *) kind;
    d.action = action;
    d.key = (char *) key;
    return d;
}

static void test_route (void **state)
{
    (void) state;
    tasks_kind_t k;
    //  A gateway carries everything, as today.
    const char *kinds [] = { "post", "action", "alert" };
    for (size_t i = 0; i < 3; i++)
        for (int a = QY__ACTION__ACTION_NONE; a <= QY__ACTION__BLOCK; a++) {
            Qy__Delivery d = s_delivery (kinds [i], (Qy__Action) a, "k");
            assert_int_equal (notifier_tasks_route (TASKS_CAP_GATEWAY, &d, &k), TASKS_DELIVER);
            assert_int_equal (k, TASKS_K_NONE);
        }
    assert_int_equal (notifier_tasks_cap ("official"), TASKS_CAP_OFFICIAL);
    assert_int_equal (notifier_tasks_cap ("gateway"), TASKS_CAP_GATEWAY);
    assert_int_equal (notifier_tasks_cap (NULL), TASKS_CAP_GATEWAY);
    assert_int_equal (notifier_tasks_cap ("Official"), TASKS_CAP_GATEWAY);
    //  Official: what WeCom forbids is a person's work, never sent.
    struct { Qy__Action a; tasks_kind_t k; } act [] = {
        { QY__ACTION__RECALL, TASKS_K_RECALL_WARN }, { QY__ACTION__MUTE, TASKS_K_RECALL_WARN },
        { QY__ACTION__REMOVE, TASKS_K_REMOVE }, { QY__ACTION__BLOCK, TASKS_K_REMOVE },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (act); i++) {
        Qy__Delivery d = s_delivery ("action", act [i].a, "mod:1:m:x");
        assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &d, &k), TASKS_TASK);
        assert_int_equal (k, act [i].k);
    }
    //  A warning is a post WeCom can offer as a mass send, and part of the task.
    Qy__Delivery warn = s_delivery ("action", QY__ACTION__WARN, "mod:1:m:warn");
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &warn, &k), TASKS_BOTH);
    assert_int_equal (k, TASKS_K_RECALL_WARN);
    Qy__Delivery none = s_delivery ("action", QY__ACTION__ALLOW, "k");
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &none, &k), TASKS_DELIVER);
    //  Alerts go out (message/send); welcomes are WeCom's own template.
    Qy__Delivery alert = s_delivery ("alert", QY__ACTION__ACTION_NONE, "alert:1");
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &alert, &k), TASKS_DELIVER);
    //  ... but a customer's complaint or waiting question in a group is the
    //  owner's to answer: a task only (its notice is the hand-over); an
    //  escalation to HQ (no group) stays an alert, and so does any other reason.
    const char *answer [] = { "complaint", "unanswered" };
    for (size_t i = 0; i < 2; i++) {
        Qy__Delivery a = s_delivery ("alert", QY__ACTION__ACTION_NONE, "alert:complaint:1:m");
        a.reason = (char *) answer [i];
        a.group_id = 7;
        assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &a, &k), TASKS_TASK);
        assert_int_equal (k, TASKS_K_ANSWER);
        assert_int_equal (notifier_tasks_route (TASKS_CAP_GATEWAY, &a, &k), TASKS_DELIVER);
        a.group_id = 0;
        a.group = "";
        assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &a, &k), TASKS_DELIVER);
        a.group = "wrA";
        assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &a, &k), TASKS_TASK);
    }
    alert.reason = "complaint_surge";
    alert.group_id = 7;
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &alert, &k), TASKS_DELIVER);
    Qy__Delivery welcome = s_delivery ("post", QY__ACTION__ACTION_NONE, "welcome:3:m1");
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &welcome, &k), TASKS_DELIVER);
    //  A post goes out as add_msg_template and its owner must confirm it.
    Qy__Delivery post = s_delivery ("post", QY__ACTION__ACTION_NONE, "sop:1");
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &post, &k), TASKS_BOTH);
    assert_int_equal (k, TASKS_K_POST);
    char *one [] = { "wmA" }, *all [] = { "@all" };
    post.n_mentions = 1;
    post.mentions = one;
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &post, &k), TASKS_BOTH);
    assert_int_equal (k, TASKS_K_ANSWER);
    post.mentions = all;
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &post, &k), TASKS_BOTH);
    assert_int_equal (k, TASKS_K_POST);
    post.mentions = one;
    post.at_all = true;
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &post, &k), TASKS_BOTH);
    assert_int_equal (k, TASKS_K_POST);
    Qy__Delivery odd = s_delivery ("telegram", QY__ACTION__ACTION_NONE, "k");
    assert_int_equal (notifier_tasks_route (TASKS_CAP_OFFICIAL, &odd, &k), TASKS_DELIVER);
    for (int kind = TASKS_K_POST; kind <= TASKS_K_RECALL_WARN; kind++)
        assert_int_equal (notifier_tasks_kind_of (notifier_tasks_kind_name ((tasks_kind_t) kind)), kind);
    assert_int_equal (notifier_tasks_kind_of ("nope"), TASKS_K_NONE);
}

static void test_source_key (void **state)
{
    (void) state;
    //  The recall, warning and mute of one message in one group: one task.
    Qy__Delivery r = s_delivery ("action", QY__ACTION__RECALL, "mod:3:m9:recall");
    r.brand_id = 3;
    r.group_id = 12;
    r.event_id = "m9";
    Qy__Delivery w = r, mu = r;
    w.key = "mod:3:m9:warn";
    mu.key = "mute-notice:3:44:1795476600000000";
    char *a = notifier_tasks_source_key (&r, TASKS_K_RECALL_WARN), *b = notifier_tasks_source_key (&w, TASKS_K_RECALL_WARN),
         *c = notifier_tasks_source_key (&mu, TASKS_K_RECALL_WARN), *d = notifier_tasks_source_key (&r, TASKS_K_REMOVE);
    assert_string_equal (a, "mod:3:m9:12:recall_warn");
    assert_string_equal (b, a);
    assert_string_equal (c, a);
    assert_string_equal (d, "mod:3:m9:12:remove");
    //  A block's removal from another group is that group's task.
    Qy__Delivery other = s_delivery ("action", QY__ACTION__REMOVE, "block:3:44:1795:13");
    other.brand_id = 3;
    other.group_id = 13;
    other.event_id = "block:3:44:1795:13";
    char *e = notifier_tasks_source_key (&other, TASKS_K_REMOVE);
    assert_string_equal (e, "mod:3:block:3:44:1795:13:13:remove");
    //  No group id (a hand-pushed delivery): the group code; no event: the key.
    Qy__Delivery bare = s_delivery ("action", QY__ACTION__REMOVE, "k1");
    bare.brand_id = 3;
    bare.group = "wrX";
    bare.event_id = "";
    char *f = notifier_tasks_source_key (&bare, TASKS_K_REMOVE);
    assert_string_equal (f, "mod:3:k1:wrX:remove");
    //  A post is its own delivery.
    Qy__Delivery post = s_delivery ("post", QY__ACTION__ACTION_NONE, "camp:1:0:2:2025-11-20");
    char *g = notifier_tasks_source_key (&post, TASKS_K_POST);
    assert_string_equal (g, "camp:1:0:2:2025-11-20");
    free (a); free (b); free (c); free (d); free (e); free (f); free (g);
}

#define S 1000000LL

static void test_ladder (void **state)
{
    (void) state;
    tasks_ladder_t l = { 100, 0, 50, 200, 1000 };
    int64_t c = 1000 * S, next;
    //  Handed over first, whatever the time.
    assert_int_equal (notifier_tasks_next (&l, 0, c, c, &next), TASKS_STEP_NOTIFY);
    assert_true (next == c + 100 * S);
    assert_int_equal (notifier_tasks_next (&l, 0, c, c + 5000 * S, &next), TASKS_STEP_NOTIFY);
    //  Before the deadline nothing; at it the reminder.
    assert_int_equal (notifier_tasks_next (&l, 1, c, c + 99 * S, &next), TASKS_STEP_NONE);
    assert_true (next == c + 100 * S);
    assert_int_equal (notifier_tasks_next (&l, 1, c, c + 100 * S, &next), TASKS_STEP_REMIND);
    assert_true (next == c + 150 * S);
    assert_int_equal (notifier_tasks_next (&l, 2, c, c + 149 * S, &next), TASKS_STEP_NONE);
    assert_int_equal (notifier_tasks_next (&l, 2, c, c + 150 * S, &next), TASKS_STEP_MANAGER);
    assert_true (next == c + 300 * S);
    assert_int_equal (notifier_tasks_next (&l, 3, c, c + 300 * S, &next), TASKS_STEP_REGION);
    assert_true (next == c + 1100 * S);
    assert_int_equal (notifier_tasks_next (&l, 4, c, c + 1100 * S, &next), TASKS_STEP_EXPIRE);
    assert_true (next == INT64_MAX);
    //  A loop that was down takes the furthest step due, not every one missed.
    assert_int_equal (notifier_tasks_next (&l, 1, c, c + 400 * S, &next), TASKS_STEP_REGION);
    assert_true (next == c + 1100 * S);
    assert_int_equal (notifier_tasks_next (&l, 1, c, c + 5000 * S, &next), TASKS_STEP_EXPIRE);
    //  Steps at the same moment: the furthest.
    tasks_ladder_t flat = { 10, 0, 0, 0, 0 };
    assert_int_equal (notifier_tasks_next (&flat, 1, c, c + 10 * S, &next), TASKS_STEP_EXPIRE);
    assert_int_equal (notifier_tasks_next (&flat, 1, c, c + 9 * S, &next), TASKS_STEP_NONE);
    assert_true (next == c + 10 * S);
    //  Defaults: removal more urgent than a post, each in order.
    for (int k = TASKS_K_POST; k <= TASKS_K_RECALL_WARN; k++) {
        tasks_ladder_t d = notifier_tasks_ladder_default ((tasks_kind_t) k);
        assert_true (d.deadline_s > 0 && d.remind_s <= d.manager_s && d.manager_s <= d.region_s && d.region_s <= d.expire_s);
    }
    assert_true (notifier_tasks_ladder_default (TASKS_K_REMOVE).deadline_s < notifier_tasks_ladder_default (TASKS_K_POST).deadline_s);
}

static void test_ladder_settings (void **state)
{
    (void) state;
    char err [160];
    tasks_ladder_t l;
    json_t *s = json_loads ("{\"tasks\": {\"remove\": {\"deadline_s\": 5, \"manager_s\": 3, \"region_s\": 6, \"expire_s\": 9}}}", 0, NULL);
    assert_int_equal (notifier_tasks_ladder_parse (s, TASKS_K_REMOVE, &l, err, sizeof (err)), 0);
    assert_true (l.deadline_s == 5 && l.remind_s == 0 && l.manager_s == 3 && l.region_s == 6 && l.expire_s == 9);
    //  Another kind keeps its defaults.
    assert_int_equal (notifier_tasks_ladder_parse (s, TASKS_K_POST, &l, err, sizeof (err)), 0);
    assert_true (l.deadline_s == notifier_tasks_ladder_default (TASKS_K_POST).deadline_s);
    json_decref (s);
    assert_int_equal (notifier_tasks_ladder_parse (NULL, TASKS_K_POST, &l, err, sizeof (err)), 0);
    const char *bad [] = {
        "{\"tasks\": {\"post\": {\"deadline_s\": \"10\"}}}",
        "{\"tasks\": {\"post\": {\"deadline_s\": -1}}}",
        "{\"tasks\": {\"post\": {\"deadline_s\": 1.5}}}",
        "{\"tasks\": {\"post\": {\"deadline_s\": 99999999}}}",
        "{\"tasks\": {\"post\": {\"manager_s\": 10, \"region_s\": 5}}}",
        "{\"tasks\": {\"post\": {\"remind_s\": 90000}}}",
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (bad); i++) {
        s = json_loads (bad [i], 0, NULL);
        assert_non_null (s);
        err [0] = 0;
        assert_int_equal (notifier_tasks_ladder_parse (s, TASKS_K_POST, &l, err, sizeof (err)), -1);
        assert_non_null (strstr (err, "tasks.post"));
        json_decref (s);
    }
}

static void test_notice (void **state)
{
    (void) state;
    qy_buf_t title, text, url;
    qy_buf_init (&title);
    qy_buf_init (&text);
    qy_buf_init (&url);
    tasks_notice_t n = { .id = 42, .kind = TASKS_K_REMOVE, .step = TASKS_STEP_NOTIFY, .group_name = "一号店会员群",
                         .store_name = "一号店", .member_name = "小广", .owner_name = "王店员", .content = "",
                         .evidence = "加我微信 abc12345 有优惠", .reason = "ad", .base_url = "https://console.example/",
                         .due_us = 1763600400LL * S, .tz_offset_min = 480 };
    notifier_tasks_notice (&n, &title, &text, &url);
    assert_string_equal (title.data, "请将成员移出群聊");
    assert_non_null (strstr (text.data, "群：一号店会员群（一号店）"));
    assert_non_null (strstr (text.data, "成员：小广"));
    assert_non_null (strstr (text.data, "消息：加我微信 abc12345 有优惠"));
    assert_non_null (strstr (text.data, "截止：11-20 09:00"));
    assert_non_null (strstr (text.data, "任务 #42"));
    assert_null (strstr (text.data, "王店员"));         //  the owner is named only when escalated
    assert_string_equal (url.data, "https://console.example/tasks/42");
    qy_buf_reset (&title);
    qy_buf_reset (&text);
    qy_buf_reset (&url);
    n.step = TASKS_STEP_MANAGER;
    n.base_url = "";
    n.kind = TASKS_K_POST;
    n.content = "早上好！";
    n.member_name = "";
    notifier_tasks_notice (&n, &title, &text, &url);
    assert_string_equal (title.data, "【升级·店长】请确认群发");
    assert_non_null (strstr (text.data, "内容：早上好！"));
    assert_non_null (strstr (text.data, "群主 王店员 未在截止时间前完成"));
    assert_null (strstr (text.data, "成员："));
    assert_int_equal (url.len, 0);
    //  A customer to answer is not a mass send to confirm.
    const char *reasons [][2] = { { "complaint", "请回复并处理顾客投诉" }, { "unanswered", "请回复等待中的顾客" },
                                  { "", "请确认群发（回复客户）" } };
    for (size_t i = 0; i < QY_ARRAY_LEN (reasons); i++) {
        qy_buf_reset (&title);
        qy_buf_reset (&text);
        n.step = TASKS_STEP_NOTIFY;
        n.kind = TASKS_K_ANSWER;
        n.reason = reasons [i][0];
        notifier_tasks_notice (&n, &title, &text, &url);
        assert_string_equal (title.data, reasons [i][1]);
    }
    qy_buf_free (&title);
    qy_buf_free (&text);
    qy_buf_free (&url);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_route),
        cmocka_unit_test (test_source_key),
        cmocka_unit_test (test_ladder),
        cmocka_unit_test (test_ladder_settings),
        cmocka_unit_test (test_notice),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
