//  notifier_payload: the gateway JSON, retry classification and backoff.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "notifier.h"

static void test_action_payload (void **state)
{
    (void) state;
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.key = "mod:1:m9:mute";
    d.brand = "acme";
    d.group = "room\"1";
    d.kind = "action";
    d.action = QY__ACTION__MUTE;
    d.member = "u3";
    d.until_us = 1795476600LL * 1000000;
    d.text = "禁言至11月24日";
    d.reason = "ad";
    d.source = "moderation";
    qy_buf_t b;
    qy_buf_init (&b);
    notifier_payload (&d, &b);
    json_error_t err;
    json_t *o = json_loads (b.data, 0, &err);
    assert_non_null (o);
    assert_string_equal (json_string_value (json_object_get (o, "key")), "mod:1:m9:mute");
    assert_string_equal (json_string_value (json_object_get (o, "group")), "room\"1");
    assert_string_equal (json_string_value (json_object_get (o, "action")), "mute");
    assert_string_equal (json_string_value (json_object_get (o, "member")), "u3");
    assert_int_equal (json_integer_value (json_object_get (o, "until")), 1795476600);
    assert_string_equal (json_string_value (json_object_get (o, "text")), "禁言至11月24日");
    assert_null (json_object_get (o, "target_msg_id"));
    json_decref (o);
    //  BLOCK reaches the gateway as a removal.
    d.action = QY__ACTION__BLOCK;
    qy_buf_reset (&b);
    notifier_payload (&d, &b);
    assert_non_null (strstr (b.data, "\"action\":\"remove\""));
    qy_buf_free (&b);
}

static void test_post_payload (void **state)
{
    (void) state;
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.key = "welcome:1:j1";
    d.brand = "acme";
    d.group = "room1";
    d.kind = "post";
    d.text = "欢迎";
    char *mentions [] = { "u1", "u2" };
    d.mentions = mentions;
    d.n_mentions = 2;
    qy_buf_t b;
    qy_buf_init (&b);
    notifier_payload (&d, &b);
    json_t *o = json_loads (b.data, 0, NULL);
    assert_non_null (o);
    assert_null (json_object_get (o, "action"));
    assert_int_equal (json_array_size (json_object_get (o, "mentions")), 2);
    json_decref (o);
    qy_buf_free (&b);
}

static void test_classify_and_backoff (void **state)
{
    (void) state;
    assert_int_equal (notifier_classify (200), NOTIFIER_DONE);
    assert_int_equal (notifier_classify (204), NOTIFIER_DONE);
    assert_int_equal (notifier_classify (0), NOTIFIER_RETRY);
    assert_int_equal (notifier_classify (429), NOTIFIER_RETRY);
    assert_int_equal (notifier_classify (503), NOTIFIER_RETRY);
    assert_int_equal (notifier_classify (400), NOTIFIER_FAIL);
    assert_int_equal (notifier_classify (401), NOTIFIER_FAIL);
    assert_int_equal (notifier_backoff_ms (1, 500, 300000, 0.5), 500);
    assert_int_equal (notifier_backoff_ms (3, 500, 300000, 0.5), 2000);
    assert_int_equal (notifier_backoff_ms (30, 500, 300000, 0.5), 300000);
    //  ±20 % jitter.
    assert_int_equal (notifier_backoff_ms (1, 1000, 300000, 0.0), 800);
    assert_int_equal (notifier_backoff_ms (1, 1000, 300000, 1.0), 1200);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_action_payload),
        cmocka_unit_test (test_post_payload),
        cmocka_unit_test (test_classify_and_backoff),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
