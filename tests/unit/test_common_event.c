//  qy_event: kinds, roles, the trace stamp and a Delivery from an event.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "qy/event.h"

static void test_kinds (void **state)
{
    (void) state;
    assert_true (qy_event_is_message (QY__KIND__TEXT));
    assert_true (qy_event_is_message (QY__KIND__QRCODE));
    assert_true (qy_event_is_message (QY__KIND__REVOKE));
    assert_false (qy_event_is_message (QY__KIND__JOIN));
    assert_true (qy_event_is_chat (QY__KIND__TEXT));
    assert_true (qy_event_is_chat (QY__KIND__QRCODE));
    //  A recall is a message but is neither judged nor counted.
    assert_false (qy_event_is_chat (QY__KIND__REVOKE));
    assert_false (qy_event_is_chat (QY__KIND__JOIN));
    assert_false (qy_event_is_chat (QY__KIND__LEAVE));
    assert_false (qy_event_is_chat (QY__KIND__KIND_UNSPECIFIED));
}

static void test_roles (void **state)
{
    (void) state;
    static const struct { Qy__Role role; bool member, staff, brand; const char *name; } want [] = {
        { QY__ROLE__ROLE_UNSPECIFIED, true,  false, false, "member" },
        { QY__ROLE__MEMBER,           true,  false, false, "member" },
        { QY__ROLE__STAFF,            false, true,  true,  "staff" },
        { QY__ROLE__ADMIN,            false, true,  true,  "admin" },
        { QY__ROLE__OWNER,            false, true,  true,  "owner" },
        { QY__ROLE__BOT,              false, false, true,  "bot" },
    };
    for (size_t i = 0; i < sizeof (want) / sizeof (want [0]); i++) {
        assert_int_equal (qy_role_is_member (want [i].role), want [i].member);
        assert_int_equal (qy_role_is_staff (want [i].role), want [i].staff);
        assert_int_equal (qy_role_is_brand (want [i].role), want [i].brand);
        assert_string_equal (qy_role_name (want [i].role), want [i].name);
    }
}

static void test_stamp (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    Qy__Stamp first = QY__STAMP__INIT, *own [] = { &first };
    first.stage = "ingest";
    ev.trace = own;
    ev.n_trace = 1;
    qy_event_stamp_t s;
    qy_event_stamp (&ev, &s, "moderation", 42);
    assert_int_equal (ev.n_trace, 2);
    assert_string_equal (ev.trace [0]->stage, "ingest");
    assert_string_equal (ev.trace [1]->stage, "moderation");
    assert_int_equal (ev.trace [1]->at_us, 42);
    //  What is sent carries both stamps.
    size_t len = qy__event__get_packed_size (&ev);
    uint8_t buf [256];
    assert_true (len < sizeof (buf));
    qy__event__pack (&ev, buf);
    Qy__Event *back = qy__event__unpack (NULL, len, buf);
    assert_non_null (back);
    assert_int_equal (back->n_trace, 2);
    qy__event__free_unpacked (back, NULL);
    qy_event_unstamp (&ev, &s);
    assert_ptr_equal (ev.trace, own);
    assert_int_equal (ev.n_trace, 1);
    //  An event with no trace gets one stamp, and none back.
    Qy__Event bare = QY__EVENT__INIT;
    qy_event_stamp (&bare, &s, "scoring", 7);
    assert_int_equal (bare.n_trace, 1);
    qy_event_unstamp (&bare, &s);
    assert_null (bare.trace);
    assert_int_equal (bare.n_trace, 0);
}

static void test_delivery (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "acme";
    ev.brand_id = 3;
    ev.group = "g1";
    ev.group_id = 11;
    ev.msg_id = "m-1";
    Qy__Delivery d;
    qy_event_delivery (&d, &ev, "mod:3:m-1:recall", "action", QY__PRIORITY__P_ACTION, "moderation");
    assert_string_equal (d.key, "mod:3:m-1:recall");
    assert_string_equal (d.brand, "acme");
    assert_int_equal (d.brand_id, 3);
    assert_string_equal (d.group, "g1");
    assert_int_equal (d.group_id, 11);
    assert_string_equal (d.kind, "action");
    assert_int_equal (d.priority, QY__PRIORITY__P_ACTION);
    assert_string_equal (d.source, "moderation");
    assert_string_equal (d.event_id, "m-1");
    assert_true (d.created_us > 0);
    //  Everything else is the protobuf default.
    assert_string_equal (d.text, "");
    assert_int_equal (d.action, 0);
    assert_int_equal (d.n_mentions, 0);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_kinds),
        cmocka_unit_test (test_roles),
        cmocka_unit_test (test_stamp),
        cmocka_unit_test (test_delivery),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
