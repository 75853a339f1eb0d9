//  ingest_wecom: WeCom JSON → events, errors naming WeCom's fields.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "ingest_wecom.h"
#include "qy/util.h"

#define NOW (1795201800LL * 1000000)

static ingest_req_t *s_parse (ingest_ep_t ep, const char *body, char *err, char *field)
{
    return ingest_wecom_parse (ep, "acme", body, strlen (body), NOW, err, 200, field, 64);
}

static void test_messages (void **state)
{
    (void) state;
    char err [200], field [64];
    ingest_req_t *req = s_parse (INGEST_EP_MESSAGES,
        "{\"messages\":["
        "{\"msgid\":\"m1\",\"action\":\"send\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":1795201200000,\"msgtype\":\"text\",\"text\":{\"content\":\"hi\"},\"mentions\":[\"u2\"],\"at_all\":true,\"role\":\"staff\"},"
        "{\"msgid\":\"m2\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":\"1795201201000\",\"msgtype\":\"link\",\"link\":{\"title\":\"t\",\"link_url\":\"https://x\"}},"
        "{\"msgid\":\"m3\",\"action\":\"recall\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":1795201202000,\"revoke\":{\"pre_msgid\":\"m1\"}},"
        "{\"msgid\":\"m4\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":1795201203000,\"msgtype\":\"redpacket\",\"redpacket\":{\"wish\":\"w\",\"totalamount\":500}},"
        "{\"msgid\":\"m5\",\"from\":\"u1\",\"msgtime\":1795201203000,\"msgtype\":\"text\",\"text\":{\"content\":\"x\"}},"
        "{\"msgid\":\"m6\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":1795201203000,\"msgtype\":\"text\",\"text\":{}},"
        "{\"msgid\":\"m7\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":1795201203000,\"msgtype\":\"vote\"},"
        "{\"from\":\"u1\"},"
        "{\"msgid\":\"m9\",\"action\":\"switch\"}"
        "]}", err, field);
    assert_non_null (req);
    assert_int_equal (req->n_items, 9);
    assert_int_equal (req->n_events, 4);
    Qy__Event *e = req->events [0];
    assert_string_equal (e->msg_id, "m1");
    assert_string_equal (e->brand, "acme");
    assert_string_equal (e->group, "r1");
    assert_string_equal (e->member, "u1");
    assert_int_equal (e->kind, QY__KIND__TEXT);
    assert_int_equal (e->role, QY__ROLE__STAFF);
    assert_true (e->event_time_us == 1795201200000000LL);
    assert_int_equal (e->n_mentions, 1);
    assert_true (e->at_all);
    assert_int_equal (req->events [1]->kind, QY__KIND__LINK);
    assert_string_equal (req->events [1]->url, "https://x");
    assert_int_equal (req->events [2]->kind, QY__KIND__REVOKE);
    assert_string_equal (req->events [2]->ref_msg_id, "m1");
    assert_int_equal (req->events [3]->amount_cents, 500);
    assert_int_equal (req->event_item [3], 3);
    assert_string_equal (req->items [4].field, "roomid");
    assert_string_equal (req->items [5].field, "text.content");
    assert_string_equal (req->items [6].field, "msgtype");
    assert_string_equal (req->items [7].field, "msgid");
    assert_string_equal (req->items [8].field, "action");
    assert_non_null (strstr (req->items [4].raw, "m5"));
    ingest_req_destroy (&req);
    assert_null (req);
}

//  Every msgtype: its kind and what its body gives the event, or the error
//  naming WeCom's field when a member it needs is missing or bad.
static void test_every_msgtype (void **state)
{
    (void) state;
    static const struct {
        const char *type, *body;             //  body: the type's object, NULL for none
        Qy__Kind    kind;
        const char *text, *url, *product, *ref, *field;
        int64_t     cents;
    } cases [] = {
        { "text", "{\"content\":\"hi\"}", QY__KIND__TEXT, "hi", NULL, NULL, NULL, NULL, 0 },
        { "text", NULL, 0, NULL, NULL, NULL, NULL, "text.content", 0 },
        { "markdown", "{\"content\":\"**m**\"}", QY__KIND__TEXT, "**m**", NULL, NULL, NULL, NULL, 0 },
        { "markdown", "{}", 0, NULL, NULL, NULL, NULL, "markdown.content", 0 },
        { "image", NULL, QY__KIND__IMAGE, NULL, NULL, NULL, NULL, NULL, 0 },
        { "voice", "{\"play_length\":3}", QY__KIND__VOICE, NULL, NULL, NULL, NULL, NULL, 0 },
        { "video", NULL, QY__KIND__VIDEO, NULL, NULL, NULL, NULL, NULL, 0 },
        { "emotion", NULL, QY__KIND__EMOTION, NULL, NULL, NULL, NULL, NULL, 0 },
        { "file", "{\"filename\":\"a.pdf\"}", QY__KIND__FILE, "a.pdf", NULL, NULL, NULL, NULL, 0 },
        { "link", "{\"title\":\"t\",\"link_url\":\"https://x\"}", QY__KIND__LINK, "t", "https://x", NULL, NULL, NULL, 0 },
        { "weapp", "{\"title\":\"t\",\"displayname\":\"app\",\"username\":\"gh_1\"}", QY__KIND__WEAPP, "t (app)", "gh_1",
          NULL, NULL, NULL, 0 },
        { "weapp", "{\"displayname\":\"app\"}", QY__KIND__WEAPP, "app", NULL, NULL, NULL, NULL, 0 },
        { "card", "{\"corpname\":\"c\",\"userid\":\"u\"}", QY__KIND__CARD, "c u", NULL, NULL, NULL, NULL, 0 },
        { "card", "{\"userid\":\"u\"}", QY__KIND__CARD, "u", NULL, NULL, NULL, NULL, 0 },
        { "redpacket", "{\"wish\":\"w\",\"totalamount\":500}", QY__KIND__REDPACKET, "w", NULL, NULL, NULL, NULL, 500 },
        { "external_redpacket", "{\"totalamount\":\"-5\"}", QY__KIND__REDPACKET, NULL, NULL, NULL, NULL, NULL, 0 },
        { "revoke", "{\"pre_msgid\":\"m0\"}", QY__KIND__REVOKE, NULL, NULL, NULL, "m0", NULL, 0 },
        { "revoke", NULL, 0, NULL, NULL, NULL, NULL, "revoke.pre_msgid", 0 },
        { "qrcode", "{\"content\":\"https://q\"}", QY__KIND__QRCODE, NULL, "https://q", NULL, NULL, NULL, 0 },
        { "purchase", "{\"product\":\"p\",\"amount_cents\":1999}", QY__KIND__PURCHASE, NULL, NULL, "p", NULL, NULL,
          1999 },
        { "purchase", "{\"product\":\"p\",\"amount_cents\":-1}", 0, NULL, NULL, NULL, NULL, "purchase.amount_cents", 0 },
        { "purchase", "{}", 0, NULL, NULL, NULL, NULL, "purchase.product", 0 },
        { "coupon_redeemed", "{\"code\":\"c9\"}", QY__KIND__COUPON_REDEEMED, NULL, NULL, "c9", NULL, NULL, 0 },
        { "coupon_redeemed", "[]", 0, NULL, NULL, NULL, NULL, "coupon_redeemed.code", 0 },
        { "report", "{\"msgid\":\"m0\",\"reason\":\"ad\"}", QY__KIND__REPORT, "ad", NULL, NULL, "m0", NULL, 0 },
        { "report", NULL, QY__KIND__REPORT, NULL, NULL, NULL, NULL, NULL, 0 },
        { "vote", "{}", 0, NULL, NULL, NULL, NULL, "msgtype", 0 },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (cases); i++) {
        char body [512], err [200], field [64];
        if (cases [i].body)
            qy_snprintf (body, sizeof (body), ",\"%s\":%s", cases [i].type, cases [i].body);
        else
            body [0] = 0;
        char *json = qy_printf ("{\"messages\":[{\"msgid\":\"m1\",\"from\":\"u1\",\"roomid\":\"r1\","
                                "\"msgtime\":1795201200000,\"msgtype\":\"%s\"%s}]}", cases [i].type, body);
        ingest_req_t *req = s_parse (INGEST_EP_MESSAGES, json, err, field);
        free (json);
        assert_non_null (req);
        if (cases [i].field) {
            assert_int_equal (req->n_events, 0);
            assert_string_equal (req->items [0].field, cases [i].field);
            char want [96];
            if (strcmp (cases [i].field, "msgtype") == 0)
                qy_snprintf (want, sizeof (want), "unsupported msgtype");
            else if (strcmp (cases [i].field, "purchase.amount_cents") == 0)
                qy_snprintf (want, sizeof (want), "bad field: %s (negative)", cases [i].field);
            else
                qy_snprintf (want, sizeof (want), "missing field: %s", cases [i].field);
            assert_string_equal (req->items [0].error, want);
            ingest_req_destroy (&req);
            continue;
        }
        assert_int_equal (req->n_events, 1);
        const Qy__Event *e = req->events [0];
        assert_int_equal (e->kind, cases [i].kind);
        assert_string_equal (e->text ? e->text : "", cases [i].text ? cases [i].text : "");
        assert_string_equal (e->url ? e->url : "", cases [i].url ? cases [i].url : "");
        assert_string_equal (e->product ? e->product : "", cases [i].product ? cases [i].product : "");
        assert_string_equal (e->ref_msg_id ? e->ref_msg_id : "", cases [i].ref ? cases [i].ref : "");
        assert_true (e->amount_cents == cases [i].cents);
        ingest_req_destroy (&req);
    }
}

static void test_callbacks (void **state)
{
    (void) state;
    char err [200], field [64];
    ingest_req_t *req = s_parse (INGEST_EP_EVENTS,
        "{\"events\":["
        "{\"Event\":\"change_external_chat\",\"ChatId\":\"r1\",\"CreateTime\":1795201300,\"ChangeType\":\"update\",\"UpdateDetail\":\"add_member\",\"JoinScene\":3,\"State\":\"qr1\",\"MemChangeList\":[\"u4\",{\"Item\":\"u5\"}]},"
        "{\"ChatId\":\"r1\",\"CreateTime\":1795201310,\"ChangeType\":\"update\",\"UpdateDetail\":\"del_member\",\"QuitScene\":1,\"MemChangeList\":[\"u3\"]},"
        "{\"ChatId\":\"r1\",\"CreateTime\":1795201320,\"ChangeType\":\"update\",\"UpdateDetail\":\"change_owner\",\"Owner\":\"s1\"},"
        "{\"ChatId\":\"r1\",\"CreateTime\":1795201330,\"ChangeType\":\"dismiss\"},"
        "{\"ChatId\":\"r1\",\"ChangeType\":\"dismiss\"},"
        "{\"Event\":\"add_external_contact\",\"ChatId\":\"r1\",\"CreateTime\":1}"
        "]}", err, field);
    assert_non_null (req);
    assert_int_equal (req->n_events, 3);
    Qy__Event *j = req->events [0];
    assert_int_equal (j->kind, QY__KIND__JOIN);
    assert_int_equal (j->join_scene, QY__JOIN_SCENE__QR_SCAN);
    assert_string_equal (j->channel, "qr1");
    assert_string_equal (j->msg_id, "cb:r1:add:u4:1795201300");
    assert_string_equal (req->events [1]->member, "u5");
    assert_int_equal (req->events [2]->kind, QY__KIND__LEAVE);
    assert_int_equal (req->events [2]->leave_reason, QY__LEAVE_REASON__REMOVED);
    assert_int_equal (req->n_gops, 2);
    assert_int_equal (req->gops [0].kind, INGEST_GOP_OWNER);
    assert_string_equal (req->gops [0].value, "s1");
    assert_int_equal (req->gops [1].kind, INGEST_GOP_DISMISS);
    assert_string_equal (req->items [4].field, "CreateTime");
    assert_string_equal (req->items [5].field, "Event");
    ingest_req_destroy (&req);
}

static void test_snapshot (void **state)
{
    (void) state;
    char err [200], field [64];
    ingest_req_t *req = s_parse (INGEST_EP_SNAPSHOT,
        "{\"errcode\":0,\"fetched_at\":1795201800,\"group_chat\":{\"chat_id\":\"r1\",\"name\":\"N\",\"owner\":\"boss\","
        "\"member_list\":[{\"userid\":\"boss\",\"type\":1},{\"userid\":\"st\",\"type\":1,\"join_time\":1795140000},"
        "{\"userid\":\"c1\",\"type\":2,\"join_time\":1795140001,\"join_scene\":1,\"invitor\":{\"userid\":\"st\"},\"group_nickname\":\"小C\"},"
        "{\"userid\":\"c1\"}],\"admin_list\":[{\"userid\":\"st\"}]}}", err, field);
    assert_non_null (req);
    ingest_snapshot_t *s = req->snap;
    assert_string_equal (s->group, "r1");
    assert_int_equal (s->n_members, 3);           //  the repeated c1 counts once
    assert_int_equal (s->members [0].role, QY__ROLE__OWNER);
    assert_int_equal (s->members [1].role, QY__ROLE__ADMIN);
    assert_int_equal (s->members [2].role, QY__ROLE__MEMBER);
    assert_string_equal (s->members [2].invitor, "st");
    assert_string_equal (s->members [2].nickname, "小C");
    assert_true (s->fetched_us == 1795201800LL * 1000000);
    ingest_req_destroy (&req);
}

static void test_envelopes (void **state)
{
    (void) state;
    char err [200], field [64];
    assert_null (s_parse (INGEST_EP_MESSAGES, "{\"messages\": [", err, field));
    assert_non_null (strstr (err, "not JSON"));
    assert_null (s_parse (INGEST_EP_MESSAGES, "{\"msgs\": []}", err, field));
    assert_string_equal (field, "messages");
    assert_null (s_parse (INGEST_EP_MESSAGES, "{\"brand\":\"other\",\"messages\":[{}]}", err, field));
    assert_string_equal (field, "brand");
    assert_null (s_parse (INGEST_EP_SNAPSHOT, "{\"errcode\":40001}", err, field));
    assert_string_equal (field, "errcode");
    assert_null (s_parse (INGEST_EP_SNAPSHOT, "{\"group_chat\":{\"chat_id\":\"r\",\"member_list\":[{\"type\":1}]}}", err, field));
    assert_string_equal (field, "group_chat.member_list[].userid");
    //  An admin list longer than a member list may be (each member is
    //  looked for in it) is refused whole.
    qy_buf_t big;
    qy_buf_init (&big);
    qy_buf_puts (&big, "{\"group_chat\":{\"chat_id\":\"r\",\"member_list\":[{\"userid\":\"u\"}],\"admin_list\":[0");
    for (int i = 0; i < 5000; i++)
        qy_buf_puts (&big, ",0");
    qy_buf_puts (&big, "]}}");
    assert_null (s_parse (INGEST_EP_SNAPSHOT, big.data, err, field));
    assert_string_equal (field, "group_chat.admin_list");
    qy_buf_free (&big);
    //  NUL inside a string is refused (PostgreSQL text cannot hold it).
    const char nul [] = "{\"messages\":[{\"msgid\":\"a\\u0000b\"}]}";
    assert_null (ingest_wecom_parse (INGEST_EP_MESSAGES, "acme", nul, sizeof (nul) - 1, NOW, err, 200, field, 64));
}

//  Absurd times: a message's becomes its event's and is refused there with
//  the rest of the event's checks (even past what 64-bit µs can hold); a
//  callback's is refused on the item (its group changes carry no event);
//  a snapshot's refuses the snapshot.
static void test_times (void **state)
{
    (void) state;
    char err [200], field [64];
    const char *ahead = "bad field: event_time_us (more than a day in the future)";
    const struct { const char *msgtime, *want; } msgs [] = {
        { "-5", "bad field: event_time_us (before 2000)" }, { "253402300799000", ahead },
        { "\"99999999999999999999\"", ahead }, { "9223372036854775807", ahead }, { "1795201200000", NULL },
    };
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_puts (&b, "{\"messages\":[{\"msgid\":\"zero\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":0,\"msgtype\":\"image\"}");
    for (size_t i = 0; i < sizeof (msgs) / sizeof (msgs [0]); i++)
        qy_buf_printf (&b, ",{\"msgid\":\"m%zu\",\"from\":\"u1\",\"roomid\":\"r1\",\"msgtime\":%s,\"msgtype\":\"image\"}", i,
                       msgs [i].msgtime);
    qy_buf_puts (&b, "]}");
    ingest_req_t *req = s_parse (INGEST_EP_MESSAGES, b.data, err, field);
    qy_buf_free (&b);
    assert_non_null (req);
    assert_string_equal (req->items [0].error, "missing field: msgtime (unix milliseconds)");
    assert_int_equal (req->n_events, 5);
    for (size_t i = 0; i < 5; i++) {
        const char *why = ingest_validate (req->events [i], NOW);
        if (msgs [i].want) {
            assert_string_equal (why, msgs [i].want);
            assert_string_equal (ingest_wecom_field (INGEST_EP_MESSAGES, why), "msgtime");
        }
        else
            assert_null (why);
    }
    ingest_req_destroy (&req);

    req = s_parse (INGEST_EP_EVENTS,
        "{\"events\":["
        "{\"ChatId\":\"r1\",\"CreateTime\":-1,\"ChangeType\":\"create\",\"Name\":\"n\"},"
        "{\"ChatId\":\"r1\",\"CreateTime\":253402300799,\"ChangeType\":\"update\",\"UpdateDetail\":\"add_member\",\"MemChangeList\":[\"u1\"]},"
        "{\"ChatId\":\"r1\",\"CreateTime\":9223372036854775807,\"ChangeType\":\"dismiss\"},"
        "{\"ChatId\":\"r1\",\"CreateTime\":1795201300,\"ChangeType\":\"update\",\"UpdateDetail\":\"add_member\",\"MemChangeList\":[\"u2\"]}"
        "]}", err, field);
    assert_non_null (req);
    assert_string_equal (req->items [0].error, "bad field: CreateTime (before 2000)");
    assert_string_equal (req->items [0].field, "CreateTime");
    assert_string_equal (req->items [1].error, "bad field: CreateTime (more than a day in the future)");
    assert_string_equal (req->items [2].error, "bad field: CreateTime (more than a day in the future)");
    assert_null (req->items [3].error);
    assert_int_equal (req->n_gops, 0);
    assert_int_equal (req->n_events, 1);
    assert_string_equal (req->events [0]->member, "u2");
    ingest_req_destroy (&req);

    assert_null (s_parse (INGEST_EP_SNAPSHOT, "{\"fetched_at\":253402300799,\"group_chat\":{\"chat_id\":\"r\","
                                              "\"member_list\":[{\"userid\":\"u1\"}]}}", err, field));
    assert_string_equal (err, "bad field: fetched_at (more than a day in the future)");
    assert_string_equal (field, "fetched_at");
    assert_null (s_parse (INGEST_EP_SNAPSHOT, "{\"fetched_at\":1795201800,\"group_chat\":{\"chat_id\":\"r\","
                                              "\"member_list\":[{\"userid\":\"u1\",\"join_time\":-1}]}}", err, field));
    assert_string_equal (err, "bad field: group_chat.member_list[].join_time (before 2000)");
    assert_string_equal (field, "group_chat.member_list[].join_time");
    //  No fetched_at: the time it arrived; no join_time: none.
    req = s_parse (INGEST_EP_SNAPSHOT, "{\"group_chat\":{\"chat_id\":\"r\",\"member_list\":[{\"userid\":\"u1\",\"join_time\":0}]}}",
                   err, field);
    assert_non_null (req);
    assert_true (req->snap->fetched_us == NOW);
    assert_true (req->snap->members [0].join_time_us == 0);
    ingest_req_destroy (&req);
}

static void test_fields_and_ids (void **state)
{
    (void) state;
    assert_string_equal (ingest_wecom_field (INGEST_EP_MESSAGES, "missing field: group"), "roomid");
    assert_string_equal (ingest_wecom_field (INGEST_EP_MESSAGES, "bad field: event_time_us (before 2000)"), "msgtime");
    assert_string_equal (ingest_wecom_field (INGEST_EP_EVENTS, "missing field: member"), "MemChangeList");
    assert_int_equal (ingest_wecom_callback_scene (0), QY__JOIN_SCENE__MEMBER_INVITE);
    assert_int_equal (ingest_wecom_callback_scene (3), QY__JOIN_SCENE__QR_SCAN);
    assert_int_equal (ingest_wecom_snapshot_scene (1, true), QY__JOIN_SCENE__STAFF_INVITE);
    assert_int_equal (ingest_wecom_snapshot_scene (2, false), QY__JOIN_SCENE__MEMBER_INVITE);
    char longer [300];
    memset (longer, 'x', sizeof (longer) - 1);
    longer [sizeof (longer) - 1] = 0;
    char *a = ingest_derived_id ("snap:join:%s:%s", longer, "u1");
    char *b = ingest_derived_id ("snap:join:%s:%s", longer, "u1");
    char *c = ingest_derived_id ("snap:join:%s:%s", longer, "u2");
    assert_true (strlen (a) <= 128);
    assert_string_equal (a, b);
    assert_string_not_equal (a, c);
    assert_int_equal (strncmp (a, "snap:h", 6), 0);
    free (a); free (b); free (c);
}

//  A callback's fields are copied into each event it becomes: a long State
//  or Invitor is refused before any copy, and a request cannot become more
//  than INGEST_MAX_EVENTS events (a small body once became 25 million).
static void test_limits (void **state)
{
    (void) state;
    char err [200], field [64];
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_puts (&b, "{\"events\":[{\"ChatId\":\"r1\",\"CreateTime\":1795201300,\"ChangeType\":\"update\","
                     "\"UpdateDetail\":\"add_member\",\"State\":\"");
    for (int i = 0; i < 3000; i++)
        qy_buf_puts (&b, "s");
    qy_buf_puts (&b, "\",\"MemChangeList\":[\"u1\",\"u2\"]},"
                     "{\"ChatId\":\"r1\",\"CreateTime\":1795201301,\"ChangeType\":\"update\","
                     "\"UpdateDetail\":\"add_member\",\"MemChangeList\":[{\"userid\":\"u3\",\"state\":\"");
    for (int i = 0; i < 129; i++)
        qy_buf_puts (&b, "s");
    qy_buf_puts (&b, "\"}]},"
                     "{\"ChatId\":\"r1\",\"CreateTime\":1795201302,\"ChangeType\":\"update\","
                     "\"UpdateDetail\":\"add_member\",\"State\":\"qr1\",\"MemChangeList\":[\"u4\"]}]}");
    ingest_req_t *req = s_parse (INGEST_EP_EVENTS, b.data, err, field);
    assert_non_null (req);
    assert_int_equal (req->n_items, 3);
    assert_string_equal (req->items [0].error, "field too long: State (max 128 bytes)");
    assert_string_equal (req->items [0].field, "State");
    assert_string_equal (req->items [1].error, "field too long: MemChangeList[].state (max 128 bytes)");
    assert_null (req->items [2].error);
    assert_int_equal (req->n_events, 1);
    assert_string_equal (req->events [0]->channel, "qr1");
    ingest_req_destroy (&req);

    //  Two callbacks of 2,600 entries each: 5,200 events, over the cap.
    qy_buf_reset (&b);
    qy_buf_puts (&b, "{\"events\":[");
    for (int c = 0; c < 2; c++) {
        qy_buf_printf (&b, "%s{\"ChatId\":\"r1\",\"CreateTime\":%d,\"ChangeType\":\"update\","
                           "\"UpdateDetail\":\"add_member\",\"MemChangeList\":[", c ? "," : "", 1795201300 + c);
        for (int i = 0; i < 2600; i++)
            qy_buf_printf (&b, "%s\"u%d\"", i ? "," : "", i);
        qy_buf_puts (&b, "]}");
    }
    qy_buf_puts (&b, "]}");
    req = s_parse (INGEST_EP_EVENTS, b.data, err, field);
    assert_null (req);
    assert_string_equal (err, "too many events in one request (max 5000)");
    assert_string_equal (field, "events");
    //  One of them alone is fine.
    qy_buf_reset (&b);
    qy_buf_puts (&b, "{\"events\":[{\"ChatId\":\"r1\",\"CreateTime\":1795201300,\"ChangeType\":\"update\","
                     "\"UpdateDetail\":\"add_member\",\"MemChangeList\":[");
    for (int i = 0; i < 2600; i++)
        qy_buf_printf (&b, "%s\"u%d\"", i ? "," : "", i);
    qy_buf_puts (&b, "]}]}");
    req = s_parse (INGEST_EP_EVENTS, b.data, err, field);
    assert_non_null (req);
    assert_int_equal (req->n_events, 2600);
    ingest_req_destroy (&req);
    qy_buf_free (&b);
}

//  change_external_contact: each ChangeType becomes a CONTACT event (not a
//  chat event: ingest stores it and sends nothing on), or a named error.
static void test_contacts (void **state)
{
    (void) state;
    assert_int_equal (ingest_contact_change ("del_follow_user"), QY__CONTACT_CHANGE__CONTACT_DELETED_BY_CUSTOMER);
    assert_int_equal (ingest_contact_change ("del_external_contact"), QY__CONTACT_CHANGE__CONTACT_DELETED_BY_STAFF);
    assert_int_equal (ingest_contact_change ("add_half_external_contact"), QY__CONTACT_CHANGE__CONTACT_HALF_ADDED);
    assert_int_equal (ingest_contact_change ("change_external_chat"), QY__CONTACT_CHANGE__CONTACT_CHANGE_UNSPECIFIED);
    assert_int_equal (ingest_contact_change (NULL), QY__CONTACT_CHANGE__CONTACT_CHANGE_UNSPECIFIED);
    assert_string_equal (ingest_contact_change_name (QY__CONTACT_CHANGE__CONTACT_DELETED_BY_CUSTOMER), "deleted_by_customer");
    assert_string_equal (ingest_contact_change_name (QY__CONTACT_CHANGE__CONTACT_TRANSFER_FAILED), "transfer_failed");
    assert_null (ingest_contact_change_name (QY__CONTACT_CHANGE__CONTACT_CHANGE_UNSPECIFIED));
    char err [200], field [64];
    ingest_req_t *req = s_parse (INGEST_EP_EVENTS,
        "{\"events\":["
        "{\"Event\":\"change_external_contact\",\"ChangeType\":\"add_external_contact\",\"UserID\":\"zhang\",\"ExternalUserID\":\"wmX\",\"State\":\"qr1\",\"CreateTime\":1795201300},"
        "{\"Event\":\"change_external_contact\",\"ChangeType\":\"del_external_contact\",\"UserID\":\"zhang\",\"ExternalUserID\":\"wmX\",\"Source\":\"DELETE_BY_TRANSFER\",\"CreateTime\":\"1795201310\"},"
        "{\"Event\":\"change_external_contact\",\"ChangeType\":\"transfer_fail\",\"UserID\":\"li\",\"ExternalUserID\":\"wmY\",\"FailReason\":\"customer_refused\",\"CreateTime\":1795201320},"
        "{\"Event\":\"change_external_contact\",\"ChangeType\":\"add_external_contact\",\"ExternalUserID\":\"wmX\",\"CreateTime\":1795201300},"
        "{\"Event\":\"change_external_contact\",\"ChangeType\":\"tag_changed\",\"UserID\":\"z\",\"ExternalUserID\":\"wmX\",\"CreateTime\":1795201300},"
        "{\"Event\":\"change_external_contact\",\"ChangeType\":\"del_follow_user\",\"UserID\":\"z\",\"ExternalUserID\":\"wmX\"},"
        "{\"Event\":\"change_external_contact\",\"ChangeType\":\"del_follow_user\",\"UserID\":\"z\",\"ExternalUserID\":\"wmX\",\"CreateTime\":1795401300}"
        "]}", err, field);
    assert_non_null (req);
    assert_int_equal (req->n_events, 0);
    assert_int_equal (req->n_contacts, 3);
    Qy__Event *a = req->contacts [0];
    assert_int_equal (a->kind, QY__KIND__CONTACT);
    assert_int_equal (a->contact_change, QY__CONTACT_CHANGE__CONTACT_ADDED);
    assert_string_equal (a->msg_id, "ct:add_external_contact:zhang:wmX:1795201300");
    assert_string_equal (req->items [0].id, a->msg_id);
    assert_string_equal (a->staff, "zhang");
    assert_string_equal (a->member, "wmX");
    assert_string_equal (a->channel, "qr1");
    assert_int_equal (a->event_time_us, 1795201300LL * 1000000);
    assert_string_equal (req->contacts [1]->text, "DELETE_BY_TRANSFER");
    assert_int_equal (req->contacts [1]->event_time_us, 1795201310LL * 1000000);
    assert_string_equal (req->contacts [2]->text, "customer_refused");
    assert_int_equal (req->contact_item [2], 2);
    assert_string_equal (req->items [3].error, "missing field: UserID");
    assert_string_equal (req->items [4].field, "ChangeType");
    assert_string_equal (req->items [5].field, "CreateTime");
    assert_string_equal (req->items [6].error, "bad field: CreateTime");      //  two days ahead
    ingest_req_destroy (&req);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_messages),
        cmocka_unit_test (test_every_msgtype),
        cmocka_unit_test (test_callbacks),
        cmocka_unit_test (test_contacts),
        cmocka_unit_test (test_snapshot),
        cmocka_unit_test (test_envelopes),
        cmocka_unit_test (test_times),
        cmocka_unit_test (test_fields_and_ids),
        cmocka_unit_test (test_limits),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
