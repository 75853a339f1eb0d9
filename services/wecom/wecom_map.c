//  WeCom's shapes → ingest's HTTP doors (docs/gateway.md), pure. Ingest
//  already speaks WeCom's field names; what the connector adds is what a
//  callback lacks and groupchat/get knows: who a joining member is (name,
//  channel, inviter, staff or not), the new owner, the new name.
#include "wecom.h"
#include <string.h>

bool wecom_is_chat_event (json_t *cb)
{
    const char *ev = json_string_value (json_object_get (cb, "Event"));
    return ev && strcmp (ev, "change_external_chat") == 0;
}

bool wecom_is_contact_event (json_t *cb)
{
    const char *ev = json_string_value (json_object_get (cb, "Event"));
    return ev && strcmp (ev, "change_external_contact") == 0;
}

static json_t *s_member (json_t *groupchat, const char *userid)
{
    json_t *chat = json_object_get (groupchat, "group_chat");
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get (chat, "member_list"), i, m) {
        const char *u = json_string_value (json_object_get (m, "userid"));
        if (u && strcmp (u, userid) == 0)
            return m;
    }
    return NULL;
}

static void s_copy (json_t *to, const char *to_key, json_t *from, const char *key)
{
    json_t *v = json_object_get (from, key);
    if (json_is_string (v) && *json_string_value (v))
        json_object_set (to, to_key, v);
    else if (json_is_integer (v))
        json_object_set (to, to_key, v);
}

//  A joining member as ingest's richer MemChangeList item.
static json_t *s_join_item (json_t *groupchat, const char *userid)
{
    json_t *item = json_pack ("{s:s}", "userid", userid);
    json_t *m = s_member (groupchat, userid);
    if (!m)
        return item;
    s_copy (item, "state", m, "state");
    s_copy (item, "group_nickname", m, "group_nickname");
    if (!json_object_get (item, "group_nickname"))
        s_copy (item, "group_nickname", m, "name");
    s_copy (item, "type", m, "type");
    json_t *inv = json_object_get (m, "invitor");
    if (json_is_object (inv))
        s_copy (item, "invitor", inv, "userid");
    return item;
}

json_t *wecom_map_callback (json_t *cb, json_t *groupchat)
{
    json_t *out = json_deep_copy (cb);
    //  Envelope fields ingest does not read.
    json_object_del (out, "ToUserName");
    json_object_del (out, "FromUserName");
    json_object_del (out, "MsgType");
    json_object_del (out, "LastMemVer");
    json_object_del (out, "CurMemVer");
    if (!groupchat)
        return out;
    json_t *chat = json_object_get (groupchat, "group_chat");
    const char *change = json_string_value (json_object_get (cb, "ChangeType"));
    const char *detail = json_string_value (json_object_get (cb, "UpdateDetail"));
    if (detail && strcmp (detail, "add_member") == 0) {
        json_t *list = json_array (), *u;
        size_t i;
        json_array_foreach (json_object_get (cb, "MemChangeList"), i, u)
            if (json_is_string (u))
                json_array_append_new (list, s_join_item (groupchat, json_string_value (u)));
        json_object_set_new (out, "MemChangeList", list);
    }
    if (detail && strcmp (detail, "change_owner") == 0)
        s_copy (out, "Owner", chat, "owner");
    if ((detail && strcmp (detail, "change_name") == 0) || (change && strcmp (change, "create") == 0))
        s_copy (out, "Name", chat, "name");
    return out;
}

json_t *wecom_map_snapshot (json_t *groupchat, int64_t fetched_at_s)
{
    return json_pack ("{s:i, s:s, s:I, s:O}", "errcode", 0, "errmsg", "ok", "fetched_at", (json_int_t) fetched_at_s,
                      "group_chat", json_object_get (groupchat, "group_chat"));
}

//  The text of a mixed message: its text parts joined, each part's
//  content being a JSON string of its own ({"content": …}).
static json_t *s_mixed (json_t *msg)
{
    json_t *mixed = json_object_get (msg, "mixed");
    json_t *items = json_object_get (mixed, "item");
    qy_buf_t text;
    qy_buf_init (&text);
    size_t i;
    json_t *it;
    json_array_foreach (items, i, it) {
        const char *type = json_string_value (json_object_get (it, "type"));
        const char *content = json_string_value (json_object_get (it, "content"));
        if (!type || !content || strcmp (type, "text") != 0)
            continue;
        json_t *inner = json_loads (content, 0, NULL);
        const char *t = json_string_value (json_object_get (inner, "content"));
        if (t) {
            if (text.len)
                qy_buf_puts (&text, "\n");
            qy_buf_puts (&text, t);
        }
        json_decref (inner);
    }
    json_t *out = text.len ? json_pack ("{s:s, s:{s:s}}", "msgtype", "text", "text", "content", text.data)
                           : json_pack ("{s:s}", "msgtype", "image");
    qy_buf_free (&text);
    return out;
}

json_t *wecom_map_archive (json_t *msg, const char **why)
{
    const char *action = json_string_value (json_object_get (msg, "action"));
    const char *room = json_string_value (json_object_get (msg, "roomid"));
    const char *type = json_string_value (json_object_get (msg, "msgtype"));
    if (action && strcmp (action, "switch") == 0) {
        *why = "switch";               //  a device switch notice, no message
        return NULL;
    }
    if (!room || !*room) {
        *why = "not a group chat";     //  1:1 chats are not Qunyun's
        return NULL;
    }
    //  The archive's revoke is action "recall" with msgtype revoke: ingest
    //  takes both, and every other type as it is: msg itself (no copy).
    if (!type || strcmp (type, "mixed") != 0)
        return json_incref (msg);
    json_t *out = json_deep_copy (msg), *m = s_mixed (msg);
    json_object_update (out, m);
    json_object_del (out, "mixed");
    json_decref (m);
    return out;
}

const char *wecom_member_name (json_t *groupchat, const char *userid)
{
    json_t *m = userid ? s_member (groupchat, userid) : NULL;
    const char *n = json_string_value (json_object_get (m, "group_nickname"));
    if (!n || !*n)
        n = json_string_value (json_object_get (m, "name"));
    return n && *n ? n : NULL;
}

//  text with every occurrence of id replaced by name (scanning on past
//  each replacement, so a name holding the id cannot loop). Caller frees.
static char *s_replace (const char *text, const char *id, const char *name)
{
    qy_buf_t b;
    qy_buf_init (&b);
    size_t idlen = strlen (id);
    const char *at, *p = text;
    while ((at = strstr (p, id))) {
        qy_buf_append (&b, p, (size_t) (at - p));
        qy_buf_puts (&b, name);
        p = at + idlen;
    }
    qy_buf_puts (&b, p);
    return b.data;
}

char *wecom_greet_names (json_t *groupchat, json_t *delivery, const char *text, const char *placeholder)
{
    char *s = qy_strdup (text ? text : "");
    json_t *ids = json_array (), *u;
    json_array_extend (ids, json_object_get (delivery, "mentions"));
    if (json_is_string (json_object_get (delivery, "member")))
        json_array_append (ids, json_object_get (delivery, "member"));
    size_t i;
    json_array_foreach (ids, i, u) {
        const char *id = json_string_value (u);
        const char *known = id ? wecom_member_name (groupchat, id) : NULL;
        const char *name = placeholder ? placeholder : known;
        if (!id || !*id || !name)
            continue;
        char *n = s_replace (s, id, name);
        free (s);
        s = n;
        //  Campaign renders a welcome with the joiner's name (the snapshot's,
        //  as ingest stored it): a template WeCom sends to every later
        //  joiner must hold the placeholder instead.
        if (placeholder && known) {
            n = s_replace (s, known, placeholder);
            free (s);
            s = n;
        }
    }
    json_decref (ids);
    return s;
}

wecom_way_t wecom_deliver_way (json_t *d)
{
    const char *kind = json_string_value (json_object_get (d, "kind"));
    const char *action = json_string_value (json_object_get (d, "action"));
    const char *src = json_string_value (json_object_get (d, "source")), *key = json_string_value (json_object_get (d, "key"));
    if (!kind)
        return WECOM_WAY_BAD;
    if (strcmp (kind, "post") == 0)
        //  A welcome: campaign's welcome on join (key "welcome:<brand>:<join
        //  msg id>", services/campaign/main.c) or a join-triggered post
        //  (period "j:<join msg id>").
        return (src && strncmp (src, "welcome", 7) == 0) || (key && (strncmp (key, "welcome:", 8) == 0 || strstr (key, ":j:")))
               ? WECOM_WAY_WELCOME : WECOM_WAY_MASS_SEND;
    if (strcmp (kind, "action") == 0)
        return action && strcmp (action, "warn") == 0 ? WECOM_WAY_MASS_SEND : WECOM_WAY_NOT_PERMITTED;
    if (strcmp (kind, "alert") == 0 || strcmp (kind, "task") == 0 || strcmp (kind, "notice") == 0)
        return WECOM_WAY_APP_MESSAGE;
    return WECOM_WAY_BAD;
}

bool wecom_task_sent (long status)
{
    //  get_groupmsg_task: 0 the member has not sent it yet, 2 sent.
    return status == 2;
}

const char *wecom_send_status (long status)
{
    //  get_groupmsg_send_result: 0 not sent yet, 1 sent, 2 not a friend any more, 3 over the receive limit
    return status == 1 ? "sent" : status == 2 || status == 3 ? "not_sent" : NULL;
}
