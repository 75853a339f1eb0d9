//  notifier's edges: rate specs and buckets, the circuit breaker, WeCom
//  answers, alert routing scope, robot payloads and digests.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "notifier_edge.h"
#include "qy/redis_slot.h"

static void test_rates (void **state)
{
    (void) state;
    notifier_rate_t r;
    assert_int_equal (notifier_rate_parse ("20/60", &r), 0);
    assert_int_equal (r.capacity, 20);
    assert_true (r.period_ms == 60000);
    assert_int_equal (notifier_rate_parse ("5/1m", &r), 0);
    assert_true (r.period_ms == 60000);
    assert_int_equal (notifier_rate_parse ("100/1h", &r), 0);
    assert_true (r.period_ms == 3600000);
    assert_int_equal (notifier_rate_parse ("off", &r), 0);
    assert_int_equal (r.capacity, 0);
    assert_int_equal (notifier_rate_parse ("20", &r), -1);
    assert_int_equal (notifier_rate_parse ("20/x", &r), -1);
    assert_int_equal (notifier_rate_parse ("-1/60", &r), -1);
    //  The config rows' check agrees with the parser and says what fits.
    char why [128] = "";
    assert_int_equal (notifier_rate_check ("5/1m", why, sizeof (why)), 0);
    assert_string_equal (why, "");
    assert_int_equal (notifier_rate_check ("20/x", why, sizeof (why)), -1);
    assert_non_null (strstr (why, "N/S"));
}

static void test_buckets (void **state)
{
    (void) state;
    notifier_limits_t l = { 0 };
    notifier_rate_parse ("1200/60", &l.gateway);
    notifier_rate_parse ("600/60", &l.api [0]);
    notifier_rate_parse ("off", &l.api [1]);
    notifier_rate_parse ("20/60", &l.webhook);
    notifier_rate_parse ("20/60", &l.group);
    notifier_rate_parse ("5/60", &l.member);
    notifier_job_t post = { .url = "http://gw/x", .kind = "post", .group_id = 42, .member = "u1", .brand_id = 3 };
    notifier_bucket_t b [4];
    int n = notifier_buckets (&l, &post, b);
    assert_int_equal (n, 4);
    //  One take's keys share its destination's hash tag: one slot on a Redis Cluster.
    const char *tag = strstr (b [0].key, "{d:");
    assert_non_null (tag);
    for (int i = 0; i < n; i++)
        assert_int_equal (qy_redis_keyslot (b [i].key, strlen (b [i].key)), qy_redis_keyslot (tag, 20));
    assert_non_null (strstr (b [2].key, "nt:rl:group:"));
    assert_non_null (strstr (b [2].key, ":42"));
    assert_non_null (strstr (b [3].key, "nt:rl:member:"));
    assert_string_not_equal (b [2].key, b [3].key);
    //  Actions never wait on group or member courtesy limits; api.action is off here.
    notifier_job_t action = { .url = "http://gw/x", .kind = "action", .group_id = 42, .member = "u1" };
    assert_int_equal (notifier_buckets (&l, &action, b), 1);
    //  A post to everyone (@all) concerns no one member: no shared "@all" bucket.
    notifier_job_t all = { .url = "http://gw/x", .kind = "post", .group_id = 42, .member = "@all", .brand_id = 3 };
    assert_int_equal (notifier_buckets (&l, &all, b), 3);
    assert_null (strstr (b [2].key, "member"));
    notifier_job_t robot = { .url = "http://wecom/send?key=a", .kind = "alert", .webhook = true };
    assert_int_equal (notifier_buckets (&l, &robot, b), 1);
    assert_int_equal (b [0].rate.capacity, 20);
    assert_non_null (strstr (b [0].key, "robot"));
    char k1 [64], k2 [64];
    notifier_pause_key ("http://a", k1, sizeof (k1));
    notifier_pause_key ("http://b", k2, sizeof (k2));
    assert_string_not_equal (k1, k2);
}

static void test_breaker (void **state)
{
    (void) state;
    notifier_breaker_t *b = notifier_breaker_new (3, 1000);
    const char *u = "http://gw";
    assert_true (notifier_breaker_allow (b, u, 0) == 0);
    notifier_breaker_report (b, u, false, 0);
    notifier_breaker_report (b, u, false, 0);
    assert_true (notifier_breaker_allow (b, u, 0) == 0);      //  two failures: still closed
    notifier_breaker_report (b, u, false, 10);
    assert_true (notifier_breaker_allow (b, u, 20) == 990);   //  open
    assert_int_equal (notifier_breaker_open_count (b, 20), 1);
    assert_true (notifier_breaker_allow (b, "http://other", 20) == 0);
    assert_true (notifier_breaker_allow (b, u, 1010) == 0);   //  half-open: one probe
    assert_true (notifier_breaker_allow (b, u, 1011) > 0);    //  not a second
    notifier_breaker_report (b, u, false, 1020);              //  probe failed: open again
    assert_true (notifier_breaker_allow (b, u, 1030) > 0);
    assert_true (notifier_breaker_allow (b, u, 2030) == 0);
    notifier_breaker_report (b, u, true, 2040);               //  probe worked: closed
    assert_true (notifier_breaker_allow (b, u, 2050) == 0);
    assert_int_equal (notifier_breaker_open_count (b, 2050), 0);
    //  A request held back by a rate limit says nothing of the endpoint:
    //  the failures in a row still add up to open the circuit ...
    notifier_breaker_report (b, u, false, 3000);
    notifier_breaker_report (b, u, false, 3000);
    notifier_breaker_release (b, u);
    notifier_breaker_report (b, u, false, 3010);
    assert_true (notifier_breaker_allow (b, u, 3020) == 990);
    //  ... and a probe held back neither closes it nor keeps its slot.
    assert_true (notifier_breaker_allow (b, u, 4010) == 0);
    notifier_breaker_release (b, u);
    assert_int_equal (notifier_breaker_open_count (b, 4011), 0);
    assert_true (notifier_breaker_allow (b, u, 4011) == 0);   //  the next one probes
    assert_true (notifier_breaker_allow (b, u, 4012) > 0);
    notifier_breaker_report (b, u, false, 4020);              //  and its failure opens it again
    assert_true (notifier_breaker_allow (b, u, 4030) > 0);
    notifier_breaker_destroy (&b);
    assert_null (b);
}

static void test_answers (void **state)
{
    (void) state;
    long code;
    int64_t pause;
    assert_int_equal (notifier_classify_response (200, "{\"ok\":true}", 0, 600000, &code, &pause), NOTIFIER_DONE);
    assert_int_equal (notifier_classify_response (200, "{\"errcode\":0,\"errmsg\":\"ok\"}", 0, 600000, &code, &pause), NOTIFIER_DONE);
    assert_int_equal (notifier_classify_response (200, "{\"errcode\":130101,\"errmsg\":\"x\"}", 0, 600000, &code, &pause), NOTIFIER_PAUSE);
    assert_int_equal (code, 130101);
    assert_true (pause == 600000);
    assert_int_equal (notifier_classify_response (200, "{\"errcode\": 45009}", 0, 5000, &code, &pause), NOTIFIER_PAUSE);
    assert_int_equal (notifier_classify_response (200, "{\"errcode\":-1}", 0, 5000, &code, &pause), NOTIFIER_RETRY);
    //  "errcode" as a value or nested, or in a body that is not JSON, is
    //  no WeCom error: the gateway took it.
    const char *fine [] = { "{\"ok\":true,\"field\":\"errcode\",\"id\":5}", "{\"data\":{\"errcode\":40001}}",
                            "accepted; \"errcode\": 93000", "[{\"errcode\":1}]" };
    for (size_t i = 0; i < sizeof (fine) / sizeof (fine [0]); i++) {
        assert_int_equal (notifier_classify_response (200, fine [i], 0, 5000, &code, &pause), NOTIFIER_DONE);
        assert_int_equal (code, 0);
    }
    assert_int_equal (notifier_classify_response (200, "{\"errcode\":93000}", 0, 5000, &code, &pause), NOTIFIER_FAIL);
    assert_int_equal (notifier_classify_response (429, "", 7, 5000, &code, &pause), NOTIFIER_PAUSE);
    assert_true (pause == 7000);
    //  A Retry-After of a year is cut to an hour (or a longer wecom_pause_ms), without overflow.
    assert_int_equal (notifier_classify_response (429, "", 31536000, 600000, &code, &pause), NOTIFIER_PAUSE);
    assert_true (pause == 3600000);
    assert_int_equal (notifier_classify_response (429, "", 9223372036854775807L, 7200000, &code, &pause), NOTIFIER_PAUSE);
    assert_true (pause == 7200000);
    assert_int_equal (notifier_classify_response (503, "", 0, 5000, &code, &pause), NOTIFIER_RETRY);
    assert_int_equal (notifier_classify_response (0, NULL, 0, 5000, &code, &pause), NOTIFIER_RETRY);
    assert_int_equal (notifier_classify_response (400, "{}", 0, 5000, &code, &pause), NOTIFIER_FAIL);
}

static void test_alerts (void **state)
{
    (void) state;
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.kind = "alert"; d.group_id = 5; d.group = "g5"; d.reason = "group.zombie"; d.text = "静默14天";
    assert_false (notifier_alert_brand_wide (&d));
    d.reason = "spam_wave";
    assert_true (notifier_alert_brand_wide (&d));
    d.reason = "group.zombie"; d.group_id = 0; d.group = "";
    assert_true (notifier_alert_brand_wide (&d));
    d.group_id = 5; d.group = "g5";

    char *mentioned [] = { "staff1" }, *mobiles [] = { "13800000000" };
    notifier_route_t text = { .markdown = false, .mentioned = mentioned, .n_mentioned = 1, .mobiles = mobiles, .n_mobiles = 1 };
    qy_buf_t t, b;
    qy_buf_init (&t); qy_buf_init (&b);
    notifier_alert_text (&d, false, &t);
    notifier_robot_payload (&text, t.data, &b);
    json_t *o = json_loads (b.data, 0, NULL);
    assert_non_null (o);
    assert_string_equal (json_string_value (json_object_get (o, "msgtype")), "text");
    json_t *body = json_object_get (o, "text");
    assert_non_null (strstr (json_string_value (json_object_get (body, "content")), "静默14天"));
    assert_string_equal (json_string_value (json_array_get (json_object_get (body, "mentioned_list"), 0)), "staff1");
    assert_string_equal (json_string_value (json_array_get (json_object_get (body, "mentioned_mobile_list"), 0)), "13800000000");
    json_decref (o);

    //  Markdown: mentions go into the content; the content is cut on a character boundary.
    notifier_route_t md = { .markdown = true, .mentioned = mentioned, .n_mentioned = 1 };
    qy_buf_t big;
    qy_buf_init (&big);
    for (int i = 0; i < 3000; i++)
        qy_buf_puts (&big, "群");
    qy_buf_reset (&b);
    notifier_robot_payload (&md, big.data, &b);
    o = json_loads (b.data, 0, NULL);
    assert_non_null (o);                      //  still valid UTF-8 JSON
    const char *content = json_string_value (json_object_get (json_object_get (o, "markdown"), "content"));
    assert_true (strlen (content) <= 4096);
    assert_non_null (strstr (content, "<@staff1>"));
    json_decref (o);

    //  A digest: a count, one line per alert, as many as fit.
    const char *texts [] = { "[群运告警] a\n群: g1\none", "[群运告警] b\n群: g2\ntwo", "[群运告警] c\n群: g3\nthree" };
    qy_buf_reset (&b);
    notifier_digest_payload (&text, texts, 3, &b);
    o = json_loads (b.data, 0, NULL);
    content = json_string_value (json_object_get (json_object_get (o, "text"), "content"));
    assert_non_null (strstr (content, "3 条告警"));
    assert_non_null (strstr (content, "- [群运告警] b · 群: g2 · two"));
    json_decref (o);
    const char *many [200];
    for (int i = 0; i < 200; i++)
        many [i] = "[群运告警] 一条很长的告警，用来把摘要撑满，看看会不会截断";
    qy_buf_reset (&b);
    notifier_digest_payload (&text, many, 200, &b);
    o = json_loads (b.data, 0, NULL);
    content = json_string_value (json_object_get (json_object_get (o, "text"), "content"));
    assert_true (strlen (content) <= 2048);
    assert_non_null (strstr (content, "另有"));
    json_decref (o);
    qy_buf_free (&t); qy_buf_free (&b); qy_buf_free (&big);
}

static void test_admit (void **state)
{
    (void) state;
    qy_map_t *promised = qy_map_new ();
    notifier_hold_t why;
    int64_t now = 1000000;
    //  An open circuit holds the job for as long as it stays open.
    notifier_admit_t a = { .circuit = true, .wait = 700 };
    assert_int_equal (notifier_admit (&a, promised, now, &why), 700);
    assert_int_equal (why, NOTIFIER_HELD_CIRCUIT);
    assert_string_equal (notifier_hold_text (why), "circuit open");
    //  Tokens taken: go.
    a = (notifier_admit_t) { .n = 1, .wait = 0 };
    assert_int_equal (notifier_admit (&a, promised, now, &why), 0);
    assert_int_equal (why, NOTIFIER_GO);
    //  Redis away: with limits to keep, wait a second; without, go.
    a = (notifier_admit_t) { .n = 1, .wait = -1 };
    assert_int_equal (notifier_admit (&a, promised, now, &why), 1000);
    assert_int_equal (why, NOTIFIER_HELD_NO_REDIS);
    a = (notifier_admit_t) { .n = 0, .wait = -1 };
    assert_int_equal (notifier_admit (&a, promised, now, &why), 0);
    assert_int_equal (why, NOTIFIER_GO);
    //  A paused destination: everything waits for the pause's end.
    a = (notifier_admit_t) { .n = 0, .wait = 5000 };
    assert_int_equal (notifier_admit (&a, promised, now, &why), 5000);
    assert_int_equal (why, NOTIFIER_HELD_PAUSE);
    assert_int_equal (notifier_admit (&a, promised, now, &why), 5000);
    assert_int_equal (qy_map_size (promised), 0);
    //  Rate limited: each job held on the same bucket waits one refill step
    //  (its binding bucket's period / capacity) longer than the one before.
    a = (notifier_admit_t) { .n = 2, .wait = 100, .binding = 0 };
    qy_strlcpy (a.b [0].key, "nt:rl:gw", sizeof (a.b [0].key));
    a.b [0].rate = (notifier_rate_t) { .capacity = 20, .period_ms = 60000 };
    a.b [1].rate = (notifier_rate_t) { .capacity = 10, .period_ms = 1000 };
    assert_int_equal (notifier_admit (&a, promised, now, &why), 100);
    assert_int_equal (why, NOTIFIER_HELD_RATE);
    assert_string_equal (notifier_hold_text (why), "rate limited");
    assert_int_equal (notifier_admit (&a, promised, now, &why), 100 + 3000);
    assert_int_equal (notifier_admit (&a, promised, now, &why), 100 + 6000);
    //  Held by its other bucket (a member's, say), a job follows that
    //  bucket's schedule and step, and leaves the first bucket's alone.
    notifier_admit_t m = a;
    m.binding = 1;
    qy_strlcpy (m.b [1].key, "nt:rl:member:1", sizeof (m.b [1].key));
    assert_int_equal (notifier_admit (&m, promised, now, &why), 100);
    assert_int_equal (notifier_admit (&m, promised, now, &why), 100 + 100);
    //  A later claim goes on from the last slot promised, not from its own
    //  wait: 200 ms on, the next held job comes 3,000 ms after the third.
    now += 200;
    assert_int_equal (notifier_admit (&a, promised, now, &why), 100 + 9000 - 200);
    //  Another bucket has its own schedule.
    notifier_admit_t g = a;
    qy_strlcpy (g.b [0].key, "nt:rl:g:7", sizeof (g.b [0].key));
    assert_int_equal (notifier_admit (&g, promised, now, &why), 100);
    //  Once the schedule has passed (the backlog gone), a held job waits
    //  only what its bucket says.
    now += 60000;
    assert_int_equal (notifier_admit (&a, promised, now, &why), 100);
    assert_int_equal (notifier_admit (&a, promised, now, &why), 100 + 3000);
    qy_map_destroy (&promised);
}

//  The takes of one destination, decided as notifier_take.lua did them
//  one at a time: all or none, in the claim's order, the pause first, the
//  script's refill arithmetic (milli-tokens, floored refill, ceiled wait).
static void test_take_decide (void **state)
{
    (void) state;
    const notifier_rate_t two = { .capacity = 2, .period_ms = 1000 }, slow = { .capacity = 3, .period_ms = 7000 };
    //  A new bucket is full: two go, the third waits half a second.
    notifier_tokens_t st [3] = { { .rate = two } };
    notifier_take_t tk [3] = { { .n = 1 }, { .n = 1 }, { .n = 1 } };
    notifier_limits_decide (st, tk, 3, 10000, -2);
    assert_true (tk [0].wait == 0 && tk [1].wait == 0);
    assert_true (tk [2].wait == 500);
    assert_true (st [0].taken && st [0].has_t && st [0].has_ts);
    assert_true (st [0].t == 0 && st [0].ts == 10000);
    //  All or none: a job whose second bucket is empty takes from neither,
    //  and the next job still finds the first as it was.
    st [0] = (notifier_tokens_t) { .rate = two };
    st [1] = (notifier_tokens_t) { .rate = two, .has_t = true, .t = 0, .has_ts = true, .ts = 10000 };
    tk [0] = (notifier_take_t) { .n = 2, .bucket = { 0, 1 } };
    tk [1] = (notifier_take_t) { .n = 1, .bucket = { 0 } };
    notifier_limits_decide (st, tk, 2, 10000, -2);
    assert_true (tk [0].wait == 500 && tk [1].wait == 0);
    assert_int_equal (tk [0].binding, 1);      //  held by its second bucket
    assert_false (st [1].taken);
    assert_true (st [0].taken && st [0].t == 1000);
    //  In order: the first job to ask gets the last token, whichever it is.
    for (int first = 0; first < 2; first++) {
        st [0] = (notifier_tokens_t) { .rate = two };
        st [1] = (notifier_tokens_t) { .rate = two, .has_t = true, .t = 1000, .has_ts = true, .ts = 10000 };
        notifier_take_t both = { .n = 2, .bucket = { 0, 1 } }, one = { .n = 1, .bucket = { 1 } };
        tk [0] = first ? one : both;
        tk [1] = first ? both : one;
        notifier_limits_decide (st, tk, 2, 10000, -2);
        assert_true (tk [0].wait == 0 && tk [1].wait == 500);
        assert_true (st [0].taken == !first);
        assert_true (st [1].t == 0);
    }
    //  Paused (PTTL > 0): every job waits the pause and nothing is taken;
    //  a pause key without a TTL (-1) or none (-2) holds nothing.
    st [0] = (notifier_tokens_t) { .rate = two };
    tk [0] = (notifier_take_t) { .n = 1 };
    tk [1] = (notifier_take_t) { .n = 0 };
    notifier_limits_decide (st, tk, 2, 10000, 700);
    assert_true (tk [0].wait == 700 && tk [1].wait == 700);
    assert_false (st [0].taken);
    notifier_limits_decide (st, tk, 2, 10000, -1);
    assert_true (tk [0].wait == 0 && tk [1].wait == 0);
    //  Refill: continuous since ts, floored to a milli-token, capped at
    //  capacity; none from a ts ahead of now; the wait rounded up.
    st [0] = (notifier_tokens_t) { .rate = two, .has_t = true, .t = 0, .has_ts = true, .ts = 9750 };
    notifier_limits_decide (st, tk, 1, 10000, -2);
    assert_true (tk [0].wait == 250);
    st [0].ts = 9500;
    notifier_limits_decide (st, tk, 1, 10000, -2);
    assert_true (tk [0].wait == 0 && st [0].t == 0 && st [0].ts == 10000);
    st [0] = (notifier_tokens_t) { .rate = two, .has_t = true, .t = 1500, .has_ts = true, .ts = 1 };
    notifier_limits_decide (st, tk, 1, 10000, -2);
    assert_true (st [0].t == 1000);
    st [0] = (notifier_tokens_t) { .rate = two, .has_t = true, .t = 500, .has_ts = true, .ts = 20000 };
    notifier_limits_decide (st, tk, 1, 10000, -2);
    assert_true (tk [0].wait == 250 && !st [0].taken);
    st [0] = (notifier_tokens_t) { .rate = slow, .has_t = true, .t = 996, .has_ts = true, .ts = 9991 };
    notifier_limits_decide (st, tk, 1, 10000, -2);
    assert_true (tk [0].wait == 3);         //  9 ms refill 3.86 → 3: 999, 1 more takes 2.33 → 3 ms
    st [0].ts = 9990;
    notifier_limits_decide (st, tk, 1, 10000, -2);
    assert_true (tk [0].wait == 0 && st [0].t == 0);
    //  A job waits for its slowest bucket.
    st [0] = (notifier_tokens_t) { .rate = two, .has_t = true, .t = 0, .has_ts = true, .ts = 10000 };
    st [1] = (notifier_tokens_t) { .rate = slow, .has_t = true, .t = 0, .has_ts = true, .ts = 10000 };
    tk [0] = (notifier_take_t) { .n = 2, .bucket = { 0, 1 } };
    notifier_limits_decide (st, tk, 1, 10000, -2);
    assert_true (tk [0].wait == 2334);
}

//  Taking at the insert: only a notifier not behind takes, up to its free
//  slots; a full claim or rows an insert left pending make it behind (held
//  rows are not due: they set the next claim's time instead).
static void test_insert_claims (void **state)
{
    (void) state;
    assert_int_equal (notifier_insert_claims (false, 7), 7);
    assert_int_equal (notifier_insert_claims (false, 0), 0);
    assert_int_equal (notifier_insert_claims (true, 7), 0);
    assert_false (notifier_behind (3, 8));             //  fewer due than free slots: nothing waits
    assert_true (notifier_behind (8, 8));              //  every slot filled: more may be due
    assert_false (notifier_behind_inserted (false, 0)); //  the insert took every new row
    assert_true (notifier_behind_inserted (false, 2));  //  it left rows pending
    assert_true (notifier_behind_inserted (true, 0));   //  behind stays behind until a claim says otherwise
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_rates),
        cmocka_unit_test (test_buckets),
        cmocka_unit_test (test_breaker),
        cmocka_unit_test (test_answers),
        cmocka_unit_test (test_alerts),
        cmocka_unit_test (test_admit),
        cmocka_unit_test (test_take_decide),
        cmocka_unit_test (test_insert_claims),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
