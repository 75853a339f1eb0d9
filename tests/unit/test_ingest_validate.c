//  ingest_validate: every rule an event must meet before it is archived.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "ingest.h"
#include "qy/util.h"

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

//  Event times: refused outside [2000-01-01, a day ahead of our clock] with
//  the field named, whatever the int64 (no overflow on the way); what is
//  taken stays within what the day and partition arithmetic can handle.
static void test_event_time_bounds (void **state)
{
    (void) state;
    const int64_t day = 86400LL * 1000000;
    const char *before = "bad field: event_time_us (before 2000)";
    const char *ahead = "bad field: event_time_us (more than a day in the future)";
    struct { int64_t t; const char *want; } cases [] = {
        { INT64_MIN, before }, { -1, before }, { 0, "missing field: event_time_us" }, { 1, before },
        { INGEST_MIN_TIME_US - 1, before }, { INGEST_MIN_TIME_US, NULL },
        { 1262304000LL * 1000000, NULL },           //  2010: an old chat log backfilled
        { NOW, NULL }, { NOW + day, NULL },          //  a gateway's clock up to a day ahead
        { NOW + day + 1, ahead },
        { 253402300799LL * 1000000, ahead },         //  9999-12-31 23:59:59
        { INT64_MAX, ahead },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        Qy__Event ev = s_ok ();
        ev.event_time_us = cases [i].t;
        const char *why = ingest_validate (&ev, NOW);
        if (cases [i].want)
            assert_string_equal (why, cases [i].want);
        else
            assert_null (why);
    }
    //  Whatever our own clock says, the comparison cannot overflow.
    Qy__Event ev = s_ok ();
    ev.event_time_us = INT64_MAX;
    assert_null (ingest_validate (&ev, INT64_MAX));
    assert_string_equal (ingest_time_problem (INT64_MAX, INT64_MIN + 1), "more than a day in the future");
    assert_string_equal (ingest_time_problem (INGEST_MIN_TIME_US, INT64_MIN), "more than a day in the future");
    assert_null (ingest_time_problem (INGEST_MIN_TIME_US, INT64_MAX));
    //  The extremes taken make sane days (partitions) in any zone a brand may have.
    char date [16];
    qy_day_format (qy_day_of (INGEST_MIN_TIME_US, 0), date, sizeof (date), false);
    assert_string_equal (date, "2000-01-01");
    qy_day_format (qy_day_of (INGEST_MIN_TIME_US, -12 * 60), date, sizeof (date), false);
    assert_string_equal (date, "1999-12-31");
    qy_day_format (qy_day_of (NOW + day, 14 * 60), date, sizeof (date), false);
    assert_string_equal (date, "2026-11-24");
}

//  An event as a gateway could send it over ZeroMQ with every field a
//  stage of Qunyun owns already filled in, unpacked as ingest unpacks it.
static Qy__Event *s_forged (void)
{
    Qy__Event ev = s_ok ();
    ev.ingest_time_us = NOW;
    ev.brand_id = 7; ev.group_id = 8; ev.store_id = 9; ev.channel_id = 10; ev.member_id = 11;
    Qy__Verdict verdict = QY__VERDICT__INIT;
    verdict.action = QY__ACTION__BLOCK;
    verdict.category = "ad";
    ev.verdict = &verdict;
    Qy__Standing standing = QY__STANDING__INIT;
    standing.trust_level = 4;
    ev.standing = &standing;
    Qy__Stamp stamp = QY__STAMP__INIT, *stamps [2] = { &stamp, &stamp };
    stamp.stage = "moderation";
    stamp.at_us = NOW;
    ev.trace = stamps;
    ev.n_trace = 2;
    ev.replay = true;
    Qy__Signal signal = QY__SIGNAL__INIT;
    signal.name = "member.key";
    ev.signal = &signal;
    //  Fields this build does not know: moderation's 50, scoring's 65,
    //  campaign's 79 (cleared), a gateway's 85 (kept).
    uint8_t one = 1;
    ProtobufCMessageUnknownField unknown [4];
    const uint32_t tags [4] = { 50, 65, 79, 85 };
    for (int i = 0; i < 4; i++)
        unknown [i] = (ProtobufCMessageUnknownField) { tags [i], PROTOBUF_C_WIRE_TYPE_VARINT, 1, &one };
    ev.base.n_unknown_fields = 4;
    ev.base.unknown_fields = unknown;
    size_t len = qy__event__get_packed_size (&ev);
    uint8_t *buf = malloc (len);
    qy__event__pack (&ev, buf);
    Qy__Event *out = qy__event__unpack (NULL, len, buf);
    free (buf);
    assert_non_null (out);
    return out;
}

//  A field numbered 0 (what protobuf-c takes as unknown from an overlong
//  key, 80 00) must not be packed on: the next hop could not
//  decode the event. Found by tests/fuzz/fuzz_ingest_batch.c.
static void test_clear_field_zero (void **state)
{
    (void) state;
    static const uint8_t wire [] = { 0x0a, 0x04, 'a', 'c', 'm', 'e', 0x12, 0x02, 'm', '1', 0x80, 0x00, 0x01 };
    Qy__Event *ev = qy__event__unpack (NULL, sizeof (wire), wire);
    assert_non_null (ev);
    assert_int_equal (ev->base.n_unknown_fields, 1);
    assert_int_equal (ev->base.unknown_fields [0].tag, 0);
    char cleared [200];
    assert_int_equal (ingest_clear_downstream (ev, cleared, sizeof (cleared)), 1);
    assert_string_equal (cleared, "field 0");
    size_t len = qy__event__get_packed_size (ev);
    uint8_t *buf = malloc (len);
    qy__event__pack (ev, buf);
    Qy__Event *again = qy__event__unpack (NULL, len, buf);
    free (buf);
    assert_non_null (again);
    assert_string_equal (again->msg_id, "m1");
    qy__event__free_unpacked (again, NULL);
    qy__event__free_unpacked (ev, NULL);
}

static void test_clear_downstream (void **state)
{
    (void) state;
    Qy__Event *ev = s_forged ();
    assert_int_equal (ev->base.n_unknown_fields, 4);
    char cleared [200];
    assert_int_equal (ingest_clear_downstream (ev, cleared, sizeof (cleared)), 14);
    assert_string_equal (cleared, "ingest_time_us,brand_id,group_id,store_id,channel_id,member_id,verdict,standing,"
                                  "signal,trace,replay,field 50,field 65,field 79");
    assert_int_equal (ev->ingest_time_us, 0);
    assert_int_equal (ev->brand_id + ev->group_id + ev->store_id + ev->channel_id + ev->member_id, 0);
    assert_null (ev->verdict);
    assert_null (ev->standing);
    assert_null (ev->signal);
    assert_null (ev->trace);
    assert_int_equal (ev->n_trace, 0);
    assert_false (ev->replay);
    assert_int_equal (ev->base.n_unknown_fields, 1);
    assert_int_equal (ev->base.unknown_fields [0].tag, 85);
    //  What the gateway owns is untouched and still valid.
    assert_string_equal (ev->msg_id, "m1");
    assert_string_equal (ev->text, "你好");
    assert_null (ingest_validate (ev, NOW));
    //  Packed on, it carries nothing of the above.
    size_t len = qy__event__get_packed_size (ev);
    uint8_t *buf = malloc (len);
    qy__event__pack (ev, buf);
    Qy__Event *again = qy__event__unpack (NULL, len, buf);
    free (buf);
    assert_int_equal (ingest_clear_downstream (again, cleared, sizeof (cleared)), 0);
    assert_string_equal (cleared, "");
    qy__event__free_unpacked (again, NULL);
    //  A second pass finds nothing; a short buffer is cut, never overrun.
    assert_int_equal (ingest_clear_downstream (ev, cleared, sizeof (cleared)), 0);
    qy__event__free_unpacked (ev, NULL);
    ev = s_forged ();
    char shortbuf [12];
    assert_int_equal (ingest_clear_downstream (ev, shortbuf, sizeof (shortbuf)), 14);
    assert_string_equal (shortbuf, "ingest_time");
    qy__event__free_unpacked (ev, NULL);
}

//  Every field of Event numbered 30-79 (or ingest_time_us) is one that
//  ingest_clear_downstream clears: a field added there to the proto fails
//  this test until the door clears it too.
static void test_clear_covers_proto (void **state)
{
    (void) state;
    static const char *cleared [] = { "ingest_time_us", "brand_id", "group_id", "store_id", "channel_id",
                                      "member_id", "verdict", "standing", "trace", "replay", "signal" };
    const ProtobufCMessageDescriptor *d = &qy__event__descriptor;
    size_t owned = 0;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields [f];
        if (fd->id != 4 && (fd->id < 30 || fd->id > 79))
            continue;
        bool known = false;
        for (size_t k = 0; k < sizeof (cleared) / sizeof (cleared [0]); k++)
            known |= strcmp (cleared [k], fd->name) == 0;
        if (!known)
            fail_msg ("Event field %s (%u) is owned downstream but not cleared at the door", fd->name, fd->id);
        owned++;
    }
    assert_int_equal (owned, sizeof (cleared) / sizeof (cleared [0]));
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
        cmocka_unit_test (test_event_time_bounds),
        cmocka_unit_test (test_clear_downstream),
        cmocka_unit_test (test_clear_field_zero),
        cmocka_unit_test (test_clear_covers_proto),
        cmocka_unit_test (test_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
