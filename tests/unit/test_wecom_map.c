//  wecom_xml and wecom_map: callback XML → WeCom-named JSON → what
//  ingest's doors take, enriched from groupchat/get; archive messages.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "wecom.h"

static json_t *s_xml (const char *xml)
{
    char err [128];
    json_t *o = wecom_xml_event (xml, strlen (xml), err, sizeof (err));
    assert_non_null (o);
    return o;
}

static const char *s_str (json_t *o, const char *k)
{
    return json_string_value (json_object_get (o, k));
}

static void test_xml_add_member (void **state)
{
    (void) state;
    json_t *cb = s_xml ("<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        "<CreateTime>1795201300</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event>"
        "<ChatId><![CDATA[wrA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail>"
        "<JoinScene>3</JoinScene><QuitScene>0</QuitScene><MemChangeCnt>2</MemChangeCnt>"
        "<MemChangeList><Item><![CDATA[wmX]]></Item><Item><![CDATA[wmY]]></Item></MemChangeList>"
        "<LastMemVer><![CDATA[a]]></LastMemVer><CurMemVer><![CDATA[b]]></CurMemVer></xml>");
    assert_true (wecom_is_chat_event (cb));
    assert_int_equal (json_integer_value (json_object_get (cb, "CreateTime")), 1795201300);
    assert_int_equal (json_integer_value (json_object_get (cb, "JoinScene")), 3);
    assert_int_equal (json_integer_value (json_object_get (cb, "MemChangeCnt")), 2);
    json_t *list = json_object_get (cb, "MemChangeList");
    assert_int_equal (json_array_size (list), 2);
    assert_string_equal (json_string_value (json_array_get (list, 1)), "wmY");
    //  Without a snapshot: the callback as it came, envelope dropped.
    json_t *plain = wecom_map_callback (cb, NULL);
    assert_null (json_object_get (plain, "ToUserName"));
    assert_null (json_object_get (plain, "CurMemVer"));
    assert_string_equal (s_str (plain, "UpdateDetail"), "add_member");
    //  With groupchat/get: each joiner's channel, name, inviter and type.
    json_t *g = json_loads ("{\"errcode\":0,\"group_chat\":{\"chat_id\":\"wrA\",\"name\":\"一号店\",\"owner\":\"zhang\","
        "\"member_list\":[{\"userid\":\"wmX\",\"type\":2,\"join_scene\":3,\"state\":\"s1-qr\",\"group_nickname\":\"小王\","
        "\"invitor\":{\"userid\":\"zhang\"}},{\"userid\":\"wmY\",\"type\":2,\"name\":\"李\"},{\"userid\":\"zhang\",\"type\":1}]}}", 0, NULL);
    json_t *rich = wecom_map_callback (cb, g);
    json_t *x = json_array_get (json_object_get (rich, "MemChangeList"), 0), *y = json_array_get (json_object_get (rich, "MemChangeList"), 1);
    assert_string_equal (s_str (x, "userid"), "wmX");
    assert_string_equal (s_str (x, "state"), "s1-qr");
    assert_string_equal (s_str (x, "group_nickname"), "小王");
    assert_string_equal (s_str (x, "invitor"), "zhang");
    assert_string_equal (s_str (y, "group_nickname"), "李");
    assert_null (json_object_get (y, "state"));
    json_t *snap = wecom_map_snapshot (g, 1795201400);
    assert_int_equal (json_integer_value (json_object_get (snap, "fetched_at")), 1795201400);
    assert_string_equal (s_str (json_object_get (snap, "group_chat"), "owner"), "zhang");
    json_decref (snap); json_decref (rich); json_decref (plain); json_decref (g); json_decref (cb);
}

static void test_xml_del_owner_name (void **state)
{
    (void) state;
    json_t *cb = s_xml ("<xml><CreateTime>1795201300</CreateTime><Event><![CDATA[change_external_chat]]></Event>"
        "<ChatId><![CDATA[wrA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[del_member]]></UpdateDetail>"
        "<QuitScene>1</QuitScene><MemChangeCnt>1</MemChangeCnt><MemChangeList><Item><![CDATA[wmX]]></Item></MemChangeList></xml>");
    assert_int_equal (json_integer_value (json_object_get (cb, "QuitScene")), 1);
    json_t *g = json_loads ("{\"group_chat\":{\"chat_id\":\"wrA\",\"name\":\"新名\",\"owner\":\"li\",\"member_list\":[]}}", 0, NULL);
    json_t *m = wecom_map_callback (cb, g);
    //  A leave keeps the plain list: ingest maps QuitScene 1 to removed.
    assert_string_equal (json_string_value (json_array_get (json_object_get (m, "MemChangeList"), 0)), "wmX");
    json_decref (m);
    json_object_set_new (cb, "UpdateDetail", json_string ("change_owner"));
    m = wecom_map_callback (cb, g);
    assert_string_equal (s_str (m, "Owner"), "li");
    json_decref (m);
    json_object_set_new (cb, "UpdateDetail", json_string ("change_name"));
    m = wecom_map_callback (cb, g);
    assert_string_equal (s_str (m, "Name"), "新名");
    json_decref (m); json_decref (g); json_decref (cb);
}

static void test_xml_bad (void **state)
{
    (void) state;
    char err [128];
    assert_null (wecom_xml_event ("not xml", 7, err, sizeof (err)));
    assert_null (wecom_xml_event ("<a><b></a>", 10, err, sizeof (err)));
    assert_null (wecom_xml_event ("<html/>", 7, err, sizeof (err)));
    //  A document type is refused whole: no external entity (XXE), and no
    //  internal one that reading the text would expand (a 100 kB body that
    //  became 600 MB in the connector).
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><Event>&e;</Event></xml>";
    assert_null (wecom_xml_event (xxe, strlen (xxe), err, sizeof (err)));
    qy_buf_t bomb;
    qy_buf_init (&bomb);
    qy_buf_puts (&bomb, "<!DOCTYPE xml [<!ENTITY e \"");
    for (int i = 0; i < 10000; i++)
        qy_buf_puts (&bomb, "AAAAAAAAAA");
    qy_buf_puts (&bomb, "\">]><xml><Encrypt>");
    for (int i = 0; i < 3000; i++)
        qy_buf_puts (&bomb, "&e;");
    qy_buf_puts (&bomb, "</Encrypt><Event>&e;</Event></xml>");
    assert_null (wecom_xml_encrypt (bomb.data, bomb.len));
    assert_null (wecom_xml_event (bomb.data, bomb.len, err, sizeof (err)));
    qy_buf_free (&bomb);
    //  The same elements without a document type are read.
    const char *plain = "<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>";
    char *read = wecom_xml_encrypt (plain, strlen (plain));
    assert_string_equal (read, "abc");
    free (read);
    json_t *c = s_xml ("<xml><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType></xml>");
    assert_false (wecom_is_chat_event (c));
    assert_true (wecom_is_contact_event (c));
    json_decref (c);
    const char *outer = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><AgentID><![CDATA[1]]></AgentID><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>";
    char *enc = wecom_xml_encrypt (outer, strlen (outer));
    assert_string_equal (enc, "abc+/=");
    free (enc);
    assert_null (wecom_xml_encrypt ("<xml><ToUserName/></xml>", 24));
    assert_null (wecom_xml_encrypt ("{}", 2));
}

//  Every archive message type: passed on in the archive's own names
//  (ingest's /v1/messages reads them), mixed folded into text.
static void test_archive (void **state)
{
    (void) state;
    static const char *types [] = { "text", "image", "link", "weapp", "card", "revoke", "voice", "video", "file",
                                    "emotion", "redpacket" };
    for (size_t i = 0; i < QY_ARRAY_LEN (types); i++) {
        json_t *m = json_pack ("{s:s, s:s, s:s, s:s, s:I, s:s, s:{}}", "msgid", "m1", "action", "send", "from", "wmA",
                               "roomid", "wrA", "msgtime", (json_int_t) 1795201200000, "msgtype", types [i], types [i]);
        const char *why = NULL;
        json_t *o = wecom_map_archive (m, &why);
        assert_ptr_equal (o, m);               //  as it is: no copy
        assert_string_equal (s_str (o, "msgtype"), types [i]);
        assert_string_equal (s_str (o, "roomid"), "wrA");
        json_decref (o);
        json_decref (m);
    }
    json_t *mixed = json_loads ("{\"msgid\":\"m2\",\"from\":\"wmA\",\"roomid\":\"wrA\",\"msgtime\":1795201200000,\"msgtype\":\"mixed\","
        "\"mixed\":{\"item\":[{\"type\":\"text\",\"content\":\"{\\\"content\\\":\\\"加我\\\"}\"},"
        "{\"type\":\"image\",\"content\":\"{\\\"md5sum\\\":\\\"x\\\"}\"},{\"type\":\"text\",\"content\":\"{\\\"content\\\":\\\"vx123\\\"}\"}]}}", 0, NULL);
    const char *why = NULL;
    json_t *o = wecom_map_archive (mixed, &why);
    assert_string_equal (s_str (o, "msgtype"), "text");
    assert_string_equal (s_str (json_object_get (o, "text"), "content"), "加我\nvx123");
    assert_null (json_object_get (o, "mixed"));
    assert_non_null (json_object_get (mixed, "mixed"));     //  the message itself untouched
    json_decref (o);
    json_decref (mixed);
    json_t *one = json_loads ("{\"msgid\":\"m3\",\"from\":\"wmA\",\"tolist\":[\"zhang\"],\"msgtime\":1,\"msgtype\":\"text\"}", 0, NULL);
    assert_null (wecom_map_archive (one, &why));
    assert_string_equal (why, "not a group chat");
    json_decref (one);
    json_t *sw = json_loads ("{\"msgid\":\"m4\",\"action\":\"switch\",\"time\":1,\"user\":\"zhang\"}", 0, NULL);
    assert_null (wecom_map_archive (sw, &why));
    json_decref (sw);
}

static void test_errcodes (void **state)
{
    (void) state;
    assert_true (wecom_errcode_busy (45009));
    assert_true (wecom_errcode_busy (45033));
    assert_false (wecom_errcode_busy (0));
    assert_false (wecom_errcode_busy (40014));
    assert_true (wecom_errcode_token (40014));
    assert_true (wecom_errcode_token (42001));
    assert_false (wecom_errcode_token (45009));
}

static json_t *s_json (const char *text)
{
    json_t *o = json_loads (text, 0, NULL);
    assert_non_null (o);
    return o;
}

//  Welcomes and notices name members, never by id; a name holding the id cannot loop.
static void test_names (void **state)
{
    (void) state;
    json_t *g = s_json ("{\"group_chat\":{\"member_list\":[{\"userid\":\"wmX\",\"group_nickname\":\"小王\"},"
                        "{\"userid\":\"wmY\",\"name\":\"阿李\"},{\"userid\":\"wmZ\",\"group_nickname\":\"wmZ的号wmZ\"},{\"userid\":\"wmN\"}]}}");
    assert_string_equal (wecom_member_name (g, "wmX"), "小王");
    assert_string_equal (wecom_member_name (g, "wmY"), "阿李");
    assert_null (wecom_member_name (g, "wmN"));
    assert_null (wecom_member_name (g, "nobody"));
    json_t *d = s_json ("{\"mentions\":[\"wmX\",\"wmZ\",\"wmN\"],\"member\":\"wmY\"}");
    char *t = wecom_greet_names (g, d, "欢迎wmX和wmY加入, wmX!", NULL);
    assert_string_equal (t, "欢迎小王和阿李加入, 小王!");
    free (t);
    t = wecom_greet_names (g, d, "wmZ 你好 wmZ", NULL);
    assert_string_equal (t, "wmZ的号wmZ 你好 wmZ的号wmZ");
    free (t);
    t = wecom_greet_names (g, d, "hi wmN", NULL);          //  no name known: left as it is
    assert_string_equal (t, "hi wmN");
    free (t);
    t = wecom_greet_names (g, d, "欢迎wmX加入", "%NICKNAME%");
    assert_string_equal (t, "欢迎%NICKNAME%加入");
    free (t);
    t = wecom_greet_names (g, d, "欢迎小王加入", "%NICKNAME%");     //  as campaign renders {nickname}
    assert_string_equal (t, "欢迎%NICKNAME%加入");
    free (t);
    json_decref (d);
    json_decref (g);
}

static void test_deliver_way (void **state)
{
    (void) state;
    static const struct { const char *d; wecom_way_t way; } rows [] = {
        { "{\"kind\":\"post\",\"key\":\"camp:3:0:2026-12-06\",\"source\":\"campaign:sop:0\"}", WECOM_WAY_MASS_SEND },
        { "{\"kind\":\"post\",\"key\":\"camp:1:j:cb:wrA:add:wmX:1\"}", WECOM_WAY_WELCOME },
        { "{\"kind\":\"post\",\"key\":\"k\",\"source\":\"welcome\"}", WECOM_WAY_WELCOME },
        { "{\"kind\":\"post\",\"key\":\"welcome:7:cb:wrA:add:wmX:1\",\"source\":\"campaign:welcome\"}", WECOM_WAY_WELCOME },
        { "{\"kind\":\"action\",\"action\":\"warn\"}", WECOM_WAY_MASS_SEND },
        { "{\"kind\":\"action\",\"action\":\"recall\"}", WECOM_WAY_NOT_PERMITTED },
        { "{\"kind\":\"action\",\"action\":\"mute\"}", WECOM_WAY_NOT_PERMITTED },
        { "{\"kind\":\"action\",\"action\":\"remove\"}", WECOM_WAY_NOT_PERMITTED },
        { "{\"kind\":\"action\"}", WECOM_WAY_NOT_PERMITTED },
        { "{\"kind\":\"alert\"}", WECOM_WAY_APP_MESSAGE },
        { "{\"kind\":\"task\"}", WECOM_WAY_APP_MESSAGE },
        { "{\"kind\":\"bogus\"}", WECOM_WAY_BAD },
        { "{}", WECOM_WAY_BAD },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (rows); i++) {
        json_t *d = s_json (rows [i].d);
        assert_int_equal (wecom_deliver_way (d), rows [i].way);
        json_decref (d);
    }
    assert_false (wecom_task_sent (0));
    assert_true (wecom_task_sent (2));          //  WeCom's "sent" in get_groupmsg_task
    assert_false (wecom_task_sent (1));
    assert_null (wecom_send_status (0));
    assert_string_equal (wecom_send_status (1), "sent");
    assert_string_equal (wecom_send_status (2), "not_sent");
    assert_string_equal (wecom_send_status (3), "not_sent");
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_xml_add_member),
        cmocka_unit_test (test_xml_del_owner_name),
        cmocka_unit_test (test_xml_bad),
        cmocka_unit_test (test_archive),
        cmocka_unit_test (test_errcodes),
        cmocka_unit_test (test_names),
        cmocka_unit_test (test_deliver_way),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
