//  ingest_validate: every rule an event must meet before it is archived.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "ingest.h"

static const int64_t NOW = 1795400000LL * 1000000;

static Qy__Event s_ok (void)
{
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "acme";
    ev.msg_id = "m1";
    ev.group = "room1";
    ev.member = "u1";
    ev.kind = QY__KIND__TEXT;
    ev.text = "你好";
    ev.event_time_us = NOW - 1000000;
    return ev;
}

static void test_valid (void **state)
{
    (void) state;
    Qy__Event ev = s_ok ();
    assert_null (ingest_validate (&ev, NOW));
    ev.kind = QY__KIND__JOIN;
    ev.text = "";
    assert_null (ingest_validate (&ev, NOW));
    ev.kind = QY__KIND__IMAGE;
    assert_null (ingest_validate (&ev, NOW));
}

static void test_missing_fields (void **state)
{
    (void) state;
    struct { const char *field; const char *want; } cases [] = {
        { "brand", "missing field: brand" }, { "msg_id", "missing field: msg_id" },
        { "group", "missing field: group" }, { "member", "missing field: member" },
        { "text", "missing field: text" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        Qy__Event ev = s_ok ();
        if (!strcmp (cases [i].field, "brand")) ev.brand = "";
        if (!strcmp (cases [i].field, "msg_id")) ev.msg_id = "";
        if (!strcmp (cases [i].field, "group")) ev.group = "";
        if (!strcmp (cases [i].field, "member")) ev.member = "";
        if (!strcmp (cases [i].field, "text")) ev.text = "";
        assert_string_equal (ingest_validate (&ev, NOW), cases [i].want);
    }
    Qy__Event ev = s_ok ();
    ev.kind = QY__KIND__RENAME;
    assert_string_equal (ingest_validate (&ev, NOW), "missing field: nickname");
    ev = s_ok ();
    ev.kind = QY__KIND__REVOKE;
    assert_string_equal (ingest_validate (&ev, NOW), "missing field: ref_msg_id");
    ev = s_ok ();
    ev.kind = QY__KIND__PURCHASE;
    assert_string_equal (ingest_validate (&ev, NOW), "missing field: product");
}

static void test_bad_values (void **state)
{
    (void) state;
    Qy__Event ev = s_ok ();
    ev.kind = (Qy__Kind) 99;
    assert_string_equal (ingest_validate (&ev, NOW), "bad field: kind (unknown kind)");
    ev = s_ok ();
    ev.event_time_us = 0;
    assert_string_equal (ingest_validate (&ev, NOW), "missing field: event_time_us");
    ev.event_time_us = NOW + 2 * 86400LL * 1000000;
    assert_non_null (strstr (ingest_validate (&ev, NOW), "future"));
    ev.event_time_us = 100;
    assert_non_null (strstr (ingest_validate (&ev, NOW), "before 2000"));
    ev = s_ok ();
    char *big = malloc (INGEST_MAX_TEXT + 2);
    memset (big, 'a', INGEST_MAX_TEXT + 1);
    big [INGEST_MAX_TEXT + 1] = 0;
    ev.text = big;
    assert_string_equal (ingest_validate (&ev, NOW), "field too long: text (max 65536 bytes)");
    free (big);
    ev = s_ok ();
    char id [200];
    memset (id, 'x', sizeof (id) - 1);
    id [sizeof (id) - 1] = 0;
    ev.msg_id = id;
    assert_non_null (strstr (ingest_validate (&ev, NOW), "msg_id"));
    ev = s_ok ();
    ev.brand = id;
    assert_string_equal (ingest_validate (&ev, NOW), "field too long: brand (max 64 bytes)");
    //  Bytes that are not UTF-8 (a cut character, a lone continuation byte)
    //  would fail the archive's insert: they are refused with the field named.
    ev = s_ok ();
    ev.text = "你\xe5\xa5";
    assert_string_equal (ingest_validate (&ev, NOW), "bad field: text (not valid UTF-8)");
    ev = s_ok ();
    ev.kind = QY__KIND__RENAME;
    ev.nickname = "a\x80" "b";
    assert_string_equal (ingest_validate (&ev, NOW), "bad field: nickname (not valid UTF-8)");
}

//  Codes go into unique indexes (channels, stores): one too long for the
//  index must be refused here, item by item, not fail the transaction.
static void test_long_codes (void **state)
{
    (void) state;
    char *big = malloc (3001);
    memset (big, 'c', 3000);
    big [3000] = 0;
    char edge [INGEST_MAX_CODE + 1];
    memset (edge, 'e', INGEST_MAX_CODE);
    edge [INGEST_MAX_CODE] = 0;
    struct { const char *field; const char *want; } cases [] = {
        { "channel", "field too long: channel (max 128 bytes)" },
        { "store", "field too long: store (max 128 bytes)" },
        { "inviter", "field too long: inviter (max 128 bytes)" },
        { "product", "field too long: product (max 128 bytes)" },
        { "ref_msg_id", "field too long: ref_msg_id (max 128 bytes)" },
        { "nickname", "field too long: nickname (max 256 bytes)" },
        { "mention", "field too long: mentions (max 128 bytes each)" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        for (int round = 0; round < 2; round++) {
            char *value = round ? big : edge;
            Qy__Event ev = s_ok ();
            ev.kind = QY__KIND__JOIN;
            char *mention [1] = { value };
            if (!strcmp (cases [i].field, "channel")) ev.channel = value;
            if (!strcmp (cases [i].field, "store")) ev.store = value;
            if (!strcmp (cases [i].field, "inviter")) ev.inviter = value;
            if (!strcmp (cases [i].field, "product")) ev.product = value;
            if (!strcmp (cases [i].field, "ref_msg_id")) ev.ref_msg_id = value;
            if (!strcmp (cases [i].field, "nickname")) ev.nickname = value;
            if (!strcmp (cases [i].field, "mention")) { ev.n_mentions = 1; ev.mentions = mention; }
            if (round)
                assert_string_equal (ingest_validate (&ev, NOW), cases [i].want);
            else
                assert_null (ingest_validate (&ev, NOW));        //  exactly the limit is fine
        }
    }
    Qy__Event ev = s_ok ();
    char *url = malloc (INGEST_MAX_URL + 2);
    memset (url, 'u', INGEST_MAX_URL + 1);
    url [INGEST_MAX_URL + 1] = 0;
    ev.url = url;
    assert_string_equal (ingest_validate (&ev, NOW), "field too long: url (max 2048 bytes)");
    url [INGEST_MAX_URL] = 0;
    assert_null (ingest_validate (&ev, NOW));
    free (url);
    ev = s_ok ();
    char **many = calloc (INGEST_MAX_MENTIONS + 1, sizeof (char *));
    for (size_t i = 0; i <= INGEST_MAX_MENTIONS; i++)
        many [i] = "u2";
    ev.mentions = many;
    ev.n_mentions = INGEST_MAX_MENTIONS + 1;
    assert_string_equal (ingest_validate (&ev, NOW), "field too long: mentions (max 500 entries)");
    ev.n_mentions = INGEST_MAX_MENTIONS;
    assert_null (ingest_validate (&ev, NOW));
    free (many);
    free (big);
}

static void test_names (void **state)
{
    (void) state;
    assert_string_equal (ingest_kind_name (QY__KIND__WEAPP), "weapp");
    assert_string_equal (ingest_kind_name (QY__KIND__JOIN), "join");
    assert_string_equal (ingest_role_name (QY__ROLE__STAFF), "staff");
    assert_string_equal (ingest_role_name (QY__ROLE__ROLE_UNSPECIFIED), "member");
    assert_string_equal (ingest_channel_kind (QY__JOIN_SCENE__QR_SCAN), "qr_poster");
    assert_string_equal (ingest_channel_kind (QY__JOIN_SCENE__JOIN_SCENE_UNSPECIFIED), "unknown");
    assert_null (ingest_scene_name (QY__JOIN_SCENE__JOIN_SCENE_UNSPECIFIED));
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_valid),
        cmocka_unit_test (test_missing_fields),
        cmocka_unit_test (test_bad_values),
        cmocka_unit_test (test_long_codes),
        cmocka_unit_test (test_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
