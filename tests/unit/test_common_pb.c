//  qy_pb_to_json: what `qyctl deadletters show` prints of a set-aside
//  event or delivery, and which `qyctl send` reads back.
#include "qy/pb.h"
#include "qunyun.pb-c.h"
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static char *s_json (const ProtobufCMessage *m)
{
    qy_buf_t b;
    qy_buf_init (&b);
    qy_pb_to_json (m, &b);
    return b.data;
}

static void test_event (void **state)
{
    (void) state;
    char *mentions [] = { "u1", "店长\"小王\"" };
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "acme";
    ev.msg_id = "m-1";
    ev.event_time_us = 1763604000000000LL;
    ev.group = "room1";
    ev.member = "u9";
    ev.kind = QY__KIND__TEXT;
    ev.role = QY__ROLE__STAFF;
    ev.text = "加微信 abc\n\"引号\"";
    ev.n_mentions = 2;
    ev.mentions = mentions;
    ev.at_all = true;
    ev.brand_id = 42;
    char *s = s_json (&ev.base);
    //  Valid JSON, defaults left out, enums by lower-case name.
    json_error_t err;
    json_t *o = json_loads (s, 0, &err);
    assert_non_null (o);
    assert_string_equal (json_string_value (json_object_get (o, "brand")), "acme");
    assert_string_equal (json_string_value (json_object_get (o, "kind")), "text");
    assert_string_equal (json_string_value (json_object_get (o, "role")), "staff");
    assert_string_equal (json_string_value (json_object_get (o, "text")), "加微信 abc\n\"引号\"");
    assert_int_equal (json_integer_value (json_object_get (o, "event_time_us")), 1763604000000000LL);
    assert_int_equal (json_integer_value (json_object_get (o, "brand_id")), 42);
    assert_true (json_is_true (json_object_get (o, "at_all")));
    assert_int_equal (json_array_size (json_object_get (o, "mentions")), 2);
    assert_string_equal (json_string_value (json_array_get (json_object_get (o, "mentions"), 1)), "店长\"小王\"");
    assert_null (json_object_get (o, "store"));         //  empty string: left out
    assert_null (json_object_get (o, "group_id"));      //  0: left out
    assert_null (json_object_get (o, "replay"));        //  false: left out
    json_decref (o);
    free (s);
}

static void test_not_utf8 (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "acme";
    ev.text = "ok\xff";
    char *s = s_json (&ev.base);
    assert_string_equal (s, "{\"brand\":\"acme\",\"text_hex\":\"6f6bff\"}");
    free (s);
}

//  A packed Delivery decoded again prints what was sent; an unknown enum
//  value (a newer sender) prints as its number.
static void test_delivery_roundtrip (void **state)
{
    (void) state;
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.key = "mod:1:m1:recall";
    d.brand_id = 7;
    d.priority = QY__PRIORITY__P_ACTION;
    d.kind = "action";
    d.action = (Qy__Action) 99;
    size_t len = qy__delivery__get_packed_size (&d);
    uint8_t *buf = malloc (len);
    qy__delivery__pack (&d, buf);
    Qy__Delivery *back = qy__delivery__unpack (NULL, len, buf);
    assert_non_null (back);
    char *s = s_json (&back->base);
    assert_string_equal (s, "{\"key\":\"mod:1:m1:recall\",\"brand_id\":7,\"priority\":\"p_action\",\"kind\":\"action\",\"action\":99}");
    free (s);
    qy__delivery__free_unpacked (back, NULL);
    free (buf);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_event),
        cmocka_unit_test (test_not_utf8),
        cmocka_unit_test (test_delivery_roundtrip),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
