//  WeCom-shaped JSON → Events, with no I/O, so that it can be unit tested
//  and fuzzed (tests/fuzz). Field names are WeCom's: the chat archive's
//  (会话内容存档) for messages, the change_external_chat callback's for
//  member events, groupchat/get's for snapshots. docs/gateway.md is the
//  contract; errors name the field as the gateway spelled it.
#include "ingest_wecom.h"
#include "qy/util.h"
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_MEMBERS 5000      //  WeCom caps customer groups at 500 (2000 for some); far above

// ------------------------------------------------------------ helpers

//  Whether a string is longer than max bytes (NULL is not).
static bool s_long (const char *s, size_t max)
{
    return s && strnlen (s, max + 1) > max;
}

//  A non-empty string member, or NULL.
static const char *s_str (json_t *o, const char *key)
{
    json_t *v = json_object_get (o, key);
    const char *s = json_is_string (v) ? json_string_value (v) : NULL;
    return s && *s ? s : NULL;
}

//  An integer member (a JSON integer or a string of digits). false if absent or bad.
static bool s_int (json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get (o, key);
    if (json_is_integer (v)) {
        *out = (int64_t) json_integer_value (v);
        return true;
    }
    if (json_is_string (v)) {
        const char *s = json_string_value (v);
        char *end;
        long long x = strtoll (s, &end, 10);
        if (*s && !*end) {
            *out = (int64_t) x;
            return true;
        }
    }
    return false;
}

#define S_MS 1000LL              //  µs per millisecond (msgtime)
#define S_SECONDS 1000000LL      //  µs per second (CreateTime, fetched_at, join_time)

//  A time member in units of unit µs (S_MS, S_SECONDS) as unix µs; false
//  when absent, not an integer, or 0 (unset). A value whose µs would not
//  fit in 64 bits is clamped, so ingest_time_problem still names it (the
//  arithmetic downstream never sees it).
static bool s_time (json_t *o, const char *key, int64_t unit, int64_t *us)
{
    int64_t v;
    if (!s_int (o, key, &v) || v == 0)
        return false;
    *us = v > INT64_MAX / unit ? INT64_MAX : v < INT64_MIN / unit ? INT64_MIN : v * unit;
    return true;
}

//  "bad field: KEY (why)" when t_us is not a time ingest takes, else NULL.
//  Caller frees it.
static char *s_bad_time (const char *key, int64_t t_us, int64_t now_us)
{
    const char *why = ingest_time_problem (t_us, now_us);
    return why ? qy_printf ("bad field: %s (%s)", key, why) : NULL;
}

static void s_set (char **field, const char *value)
{
    if (!value)
        return;
    if (*field && *field != protobuf_c_empty_string)
        free (*field);
    *field = qy_strdup (value);
}

static void s_item_error (ingest_item_t *it, const char *error, const char *field)
{
    if (it->error)
        return;
    it->error = qy_strdup (error);
    it->field = qy_strdup (field);
}

static size_t s_new_item (ingest_req_t *req, json_t *raw)
{
    ingest_item_t *it = &req->items [req->n_items];
    memset (it, 0, sizeof (*it));
    it->raw = json_dumps (raw, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!it->raw)
        it->raw = qy_strdup ("");
    return req->n_items++;
}

static void s_envelope (char *err, size_t errlen, char *field, size_t fieldlen, const char *e, const char *f)
{
    qy_strlcpy (err, e, errlen);
    qy_strlcpy (field, f, fieldlen);
}

static Qy__Role s_role_name (const char *s)
{
    if (!s)                         return QY__ROLE__MEMBER;
    if (strcmp (s, "staff") == 0)   return QY__ROLE__STAFF;
    if (strcmp (s, "admin") == 0)   return QY__ROLE__ADMIN;
    if (strcmp (s, "owner") == 0)   return QY__ROLE__OWNER;
    if (strcmp (s, "bot") == 0)     return QY__ROLE__BOT;
    return QY__ROLE__MEMBER;
}

Qy__JoinScene ingest_wecom_callback_scene (int scene)
{
    //  0: invited directly by a member, 1: through an invitation link, 3: QR code.
    if (scene == 3)
        return QY__JOIN_SCENE__QR_SCAN;
    if (scene == 0 || scene == 1)
        return QY__JOIN_SCENE__MEMBER_INVITE;
    return QY__JOIN_SCENE__JOIN_SCENE_UNSPECIFIED;
}

Qy__JoinScene ingest_wecom_snapshot_scene (int scene, bool invited_by_staff)
{
    //  groupchat/get counts from 1: 1 invited directly, 2 invitation link, 3 QR code.
    if (scene == 3)
        return QY__JOIN_SCENE__QR_SCAN;
    if (scene == 1 || scene == 2)
        return invited_by_staff ? QY__JOIN_SCENE__STAFF_INVITE : QY__JOIN_SCENE__MEMBER_INVITE;
    return QY__JOIN_SCENE__JOIN_SCENE_UNSPECIFIED;
}

const char *ingest_wecom_field (ingest_ep_t ep, const char *reason)
{
    static const struct { const char *ours, *messages, *events; } map [] = {
        { "msg_id",        "msgid",             "ChatId" },
        { "group",         "roomid",            "ChatId" },
        { "member",        "from",              "MemChangeList" },
        { "event_time_us", "msgtime",           "CreateTime" },
        { "text",          "text.content",      "text" },
        { "nickname",      "nickname",          "group_nickname" },
        { "ref_msg_id",    "revoke.pre_msgid",  "ref_msg_id" },
        { "product",       "purchase.product",  "product" },
        { "kind",          "msgtype",           "UpdateDetail" },
        { "brand",         "brand",             "brand" },
        { "store",         "store",             "store" },
        { "channel",       "state",             "State" },
        { "inviter",       "invitor",           "Invitor" },
        { "url",           "url",               "url" },
        { "mentions",      "mentions",          "mentions" },
    };
    const char *colon = strchr (reason, ':');
    if (!colon)
        return "";
    const char *name = colon + 1;
    while (*name == ' ')
        name++;
    size_t len = strcspn (name, " (");
    for (size_t i = 0; i < QY_ARRAY_LEN (map); i++)
        if (strlen (map [i].ours) == len && strncmp (name, map [i].ours, len) == 0)
            return ep == INGEST_EP_MESSAGES ? map [i].messages : map [i].events;
    return "";
}

// ----------------------------------------------------------- messages

//  Optional fields gateways add beyond the archive's: sender nickname and
//  role, store, mentions, @all.
static void s_message_extras (json_t *m, Qy__Event *ev)
{
    s_set (&ev->nickname, s_str (m, "nickname"));
    s_set (&ev->store, s_str (m, "store"));
    s_set (&ev->unionid, s_str (m, "unionid"));     //  linked accounts (moderation)
    s_set (&ev->phone, s_str (m, "phone"));
    ev->role = s_role_name (s_str (m, "role"));
    json_t *mentions = json_object_get (m, "mentions");
    if (json_is_array (mentions) && json_array_size (mentions)) {
        size_t n = json_array_size (mentions);
        ev->mentions = qy_calloc (n, sizeof (char *));
        for (size_t i = 0; i < n; i++) {
            const char *s = json_string_value (json_array_get (mentions, i));
            if (s && *s)
                ev->mentions [ev->n_mentions++] = qy_strdup (s);
        }
        if (!ev->n_mentions) {
            free (ev->mentions);
            ev->mentions = NULL;
        }
    }
    ev->at_all = json_is_true (json_object_get (m, "at_all"));
}

//  A msgtype's reader: what else ev takes from the type's object (body NULL
//  when absent or not an object), once its required member and the members
//  copied as they are (the table below) are set. Returns NULL, or the error
//  with *field set.
typedef const char *(s_body_fn) (json_t *body, Qy__Event *ev, const char **field);

//  "a (b)" (paren) or "a b" as ev's text, or whichever of the two is there.
static void s_set_both (Qy__Event *ev, const char *a, const char *b, bool paren)
{
    if (a && b) {
        char *t = qy_printf (paren ? "%s (%s)" : "%s %s", a, b);
        s_set (&ev->text, t);
        free (t);
    }
    else
        s_set (&ev->text, a ? a : b);
}

static const char *s_weapp (json_t *body, Qy__Event *ev, const char **field)
{
    (void) field;
    if (body)
        s_set_both (ev, s_str (body, "title"), s_str (body, "displayname"), true);
    return NULL;
}

static const char *s_card (json_t *body, Qy__Event *ev, const char **field)
{
    (void) field;
    if (body)
        s_set_both (ev, s_str (body, "corpname"), s_str (body, "userid"), false);
    return NULL;
}

static const char *s_redpacket (json_t *body, Qy__Event *ev, const char **field)
{
    (void) field;
    int64_t cents;
    if (body && s_int (body, "totalamount", &cents) && cents > 0)
        ev->amount_cents = cents;              //  WeCom counts 分 (cents)
    return NULL;
}

//  Not WeCom's: a brand's order system reporting a purchase (its product
//  required).
static const char *s_purchase (json_t *body, Qy__Event *ev, const char **field)
{
    int64_t cents;
    if (s_int (body, "amount_cents", &cents)) {
        if (cents < 0) {
            *field = "purchase.amount_cents";
            return "bad field: purchase.amount_cents (negative)";
        }
        ev->amount_cents = cents;
    }
    return NULL;
}

//  A member of the type's object the event cannot do without: its key, its
//  name in errors, and the event's string it fills.
#define S_NEEDS(type, key, member) key, type "." key, "missing field: " type "." key, offsetof (Qy__Event, member)
#define S_NEEDS_NOTHING NULL, NULL, NULL, 0
//  A member copied, when there, into one of the event's strings.
#define S_COPY(key, member) { key, offsetof (Qy__Event, member) }

//  Each msgtype: its kind, its required member, the members copied as
//  they are, and its reader of the rest (none: nothing more read). Not
//  WeCom's: report, a member's report (举报) from the gateway's own menu,
//  the member reported in mentions (moderation.md, "Members' reports");
//  qrcode, an image the gateway recognised as a QR code; purchase.
static const struct {
    const char *type;
    Qy__Kind    kind;
    const char *need, *need_field, *need_error;
    size_t      need_at;
    struct { const char *key; size_t at; } copy [2];
    s_body_fn  *read;
} s_bodies [] = {
    { "text", QY__KIND__TEXT, S_NEEDS ("text", "content", text), { { NULL, 0 } }, NULL },
    { "markdown", QY__KIND__TEXT, S_NEEDS ("markdown", "content", text), { { NULL, 0 } }, NULL },
    { "image", QY__KIND__IMAGE, S_NEEDS_NOTHING, { { NULL, 0 } }, NULL },
    { "voice", QY__KIND__VOICE, S_NEEDS_NOTHING, { { NULL, 0 } }, NULL },
    { "video", QY__KIND__VIDEO, S_NEEDS_NOTHING, { { NULL, 0 } }, NULL },
    { "emotion", QY__KIND__EMOTION, S_NEEDS_NOTHING, { { NULL, 0 } }, NULL },
    { "file", QY__KIND__FILE, S_NEEDS_NOTHING, { S_COPY ("filename", text) }, NULL },
    { "link", QY__KIND__LINK, S_NEEDS_NOTHING, { S_COPY ("title", text), S_COPY ("link_url", url) }, NULL },
    { "weapp", QY__KIND__WEAPP, S_NEEDS_NOTHING, { S_COPY ("username", url) }, s_weapp },
    { "card", QY__KIND__CARD, S_NEEDS_NOTHING, { { NULL, 0 } }, s_card },
    { "redpacket", QY__KIND__REDPACKET, S_NEEDS_NOTHING, { S_COPY ("wish", text) }, s_redpacket },
    { "external_redpacket", QY__KIND__REDPACKET, S_NEEDS_NOTHING, { S_COPY ("wish", text) }, s_redpacket },
    { "revoke", QY__KIND__REVOKE, S_NEEDS ("revoke", "pre_msgid", ref_msg_id), { { NULL, 0 } }, NULL },
    { "qrcode", QY__KIND__QRCODE, S_NEEDS_NOTHING, { S_COPY ("content", url) }, NULL },
    { "purchase", QY__KIND__PURCHASE, S_NEEDS ("purchase", "product", product), { { NULL, 0 } }, s_purchase },
    { "coupon_redeemed", QY__KIND__COUPON_REDEEMED, S_NEEDS ("coupon_redeemed", "code", product), { { NULL, 0 } },
      NULL },
    { "report", QY__KIND__REPORT, S_NEEDS_NOTHING, { S_COPY ("msgid", ref_msg_id), S_COPY ("reason", text) }, NULL },
};

#undef S_NEEDS
#undef S_NEEDS_NOTHING
#undef S_COPY

//  The event's string at byte offset at (a table's offsetof).
static char **s_string_at (Qy__Event *ev, size_t at)
{
    return (char **) ((char *) ev + at);
}

//  Fill kind and body of ev from the msgtype's object. Returns NULL, or the
//  error with *field set.
static const char *s_message_body (json_t *m, const char *type, Qy__Event *ev, const char **field)
{
    json_t *body = json_object_get (m, type);
    if (!json_is_object (body))
        body = NULL;
    for (size_t i = 0; i < QY_ARRAY_LEN (s_bodies); i++) {
        if (strcmp (type, s_bodies [i].type) != 0)
            continue;
        ev->kind = s_bodies [i].kind;
        if (s_bodies [i].need) {
            const char *v = body ? s_str (body, s_bodies [i].need) : NULL;
            if (!v) {
                *field = s_bodies [i].need_field;
                return s_bodies [i].need_error;
            }
            s_set (s_string_at (ev, s_bodies [i].need_at), v);
        }
        for (size_t c = 0; body && c < QY_ARRAY_LEN (s_bodies [i].copy) && s_bodies [i].copy [c].key; c++)
            s_set (s_string_at (ev, s_bodies [i].copy [c].at), s_str (body, s_bodies [i].copy [c].key));
        return s_bodies [i].read ? s_bodies [i].read (body, ev, field) : NULL;
    }
    *field = "msgtype";
    return "unsupported msgtype";
}

static void s_message (ingest_req_t *req, json_t *m)
{
    size_t idx = s_new_item (req, m);
    ingest_item_t *it = &req->items [idx];
    if (!json_is_object (m)) {
        it->id = qy_strdup ("");
        s_item_error (it, "bad item: not an object", "messages[]");
        return;
    }
    const char *msgid = s_str (m, "msgid");
    it->id = qy_strdup (msgid ? msgid : "");
    if (!msgid) {
        s_item_error (it, "missing field: msgid", "msgid");
        return;
    }
    const char *action = s_str (m, "action");
    bool recall = action && strcmp (action, "recall") == 0;
    if (action && !recall && strcmp (action, "send") != 0) {
        s_item_error (it, "unsupported action (only send and recall are group messages)", "action");
        return;
    }
    const char *room = s_str (m, "roomid"), *from = s_str (m, "from"), *type = s_str (m, "msgtype");
    int64_t at_us;
    if (!room) { s_item_error (it, "missing field: roomid (only group messages are taken)", "roomid"); return; }
    if (!from) { s_item_error (it, "missing field: from", "from"); return; }
    //  Its range is the event's: ingest_validate refuses it as event_time_us.
    if (!s_time (m, "msgtime", S_MS, &at_us)) {
        s_item_error (it, "missing field: msgtime (unix milliseconds)", "msgtime");
        return;
    }
    if (recall && !type)
        type = "revoke";
    if (!type) { s_item_error (it, "missing field: msgtype", "msgtype"); return; }
    Qy__Event *ev = ingest_event_new (req->brand);
    s_set (&ev->msg_id, msgid);
    s_set (&ev->group, room);
    s_set (&ev->member, from);
    ev->event_time_us = at_us;
    s_message_extras (m, ev);
    const char *field = NULL;
    const char *why = s_message_body (m, type, ev, &field);
    if (why) {
        s_item_error (it, why, field);
        qy__event__free_unpacked (ev, NULL);
        return;
    }
    ingest_req_add_event (req, idx, ev);
}

// ------------------------------------------------------------ callbacks

static void s_gop (ingest_req_t *req, size_t item, ingest_gop_kind_t kind, const char *group, const char *value, int64_t at_us)
{
    req->gops = qy_realloc (req->gops, (req->n_gops + 1) * sizeof (ingest_gop_t));
    ingest_gop_t *g = &req->gops [req->n_gops++];
    g->kind = kind;
    g->group = qy_strdup (group);
    g->value = value ? qy_strdup (value) : NULL;
    g->at_us = at_us;
    g->item = item;
}

//  One MemChangeList entry: "userid", {"Item": "userid"} or {"userid": …, "state": …}.
static void s_member_change (ingest_req_t *req, size_t idx, json_t *cb, json_t *entry, const char *chat,
                             bool add, int64_t at_us, int64_t t_s)
{
    ingest_item_t *it = &req->items [idx];
    const char *user = json_is_string (entry) ? json_string_value (entry) : NULL;
    if (json_is_object (entry)) {
        user = s_str (entry, "userid");
        if (!user)
            user = s_str (entry, "Item");
    }
    if (!user || !*user) {
        s_item_error (it, "missing field: MemChangeList[].userid", "MemChangeList");
        return;
    }
    //  Checked before anything is copied: each entry becomes an event of its own.
    const char *state = json_is_object (entry) ? s_str (entry, "state") : NULL;
    const char *inv = json_is_object (entry) ? s_str (entry, "invitor") : NULL;
    const char *nick = json_is_object (entry) ? s_str (entry, "group_nickname") : NULL;
    if (json_is_object (entry) && !nick)
        nick = s_str (entry, "name");
    if (s_long (user, INGEST_MAX_CODE)) {
        s_item_error (it, "field too long: MemChangeList[].userid (max 128 bytes)", "MemChangeList");
        return;
    }
    if (s_long (state, INGEST_MAX_CODE) || s_long (inv, INGEST_MAX_CODE) || s_long (nick, INGEST_MAX_NAME)) {
        s_item_error (it, s_long (state, INGEST_MAX_CODE) ? "field too long: MemChangeList[].state (max 128 bytes)"
                        : s_long (inv, INGEST_MAX_CODE) ? "field too long: MemChangeList[].invitor (max 128 bytes)"
                        : "field too long: MemChangeList[].group_nickname (max 256 bytes)", "MemChangeList");
        return;
    }
    Qy__Event *ev = ingest_event_new (req->brand);
    char *id = ingest_derived_id ("cb:%s:%s:%s:%lld", chat, add ? "add" : "del", user, (long long) t_s);
    s_set (&ev->msg_id, id);
    free (id);
    s_set (&ev->group, chat);
    s_set (&ev->member, user);
    ev->event_time_us = at_us;
    if (add) {
        int64_t scene = -1;
        ev->kind = QY__KIND__JOIN;
        s_int (cb, "JoinScene", &scene);
        ev->join_scene = ingest_wecom_callback_scene ((int) scene);
        s_set (&ev->channel, state ? state : s_str (cb, "State"));
        s_set (&ev->inviter, inv ? inv : s_str (cb, "Invitor"));
        if (json_is_object (entry)) {
            s_set (&ev->nickname, nick);
            int64_t type;
            if (s_int (entry, "type", &type) && type == 1)
                ev->role = QY__ROLE__STAFF;
        }
    }
    else {
        int64_t scene = -1;
        ev->kind = QY__KIND__LEAVE;
        s_int (cb, "QuitScene", &scene);
        ev->leave_reason = scene == 1 ? QY__LEAVE_REASON__REMOVED
                         : scene == 0 ? QY__LEAVE_REASON__LEFT : QY__LEAVE_REASON__LEAVE_REASON_UNSPECIFIED;
    }
    ingest_req_add_event (req, idx, ev);
}

//  ChangeType update: members added or removed (MemChangeList, one or a
//  list), the name or the owner changed; a notice is accepted with no
//  effect.
static void s_update (ingest_req_t *req, size_t idx, json_t *cb, const char *chat, const char *detail, int64_t at_us,
                      int64_t t_s)
{
    ingest_item_t *it = &req->items [idx];
    if (!detail) {
        s_item_error (it, "missing field: UpdateDetail", "UpdateDetail");
        return;
    }
    bool add = strcmp (detail, "add_member") == 0, del = strcmp (detail, "del_member") == 0;
    if (strcmp (detail, "change_name") == 0)
        s_gop (req, idx, INGEST_GOP_RENAME, chat, s_str (cb, "Name"), at_us);
    else if (strcmp (detail, "change_owner") == 0)
        s_gop (req, idx, INGEST_GOP_OWNER, chat, s_str (cb, "Owner"), at_us);
    else if (!add && !del && strcmp (detail, "change_notice") != 0)
        s_item_error (it, "unsupported UpdateDetail", "UpdateDetail");
    if (!add && !del)
        return;
    json_t *list = json_object_get (cb, "MemChangeList");
    if (json_is_object (list))       //  XML converted naively: {"Item": [ … ]} or {"Item": "u"}
        list = json_object_get (list, "Item");
    if (json_is_string (list) || json_is_object (list)) {
        s_member_change (req, idx, cb, list, chat, add, at_us, t_s);
        return;
    }
    if (!json_is_array (list) || !json_array_size (list)) {
        s_item_error (it, "missing field: MemChangeList", "MemChangeList");
        return;
    }
    if (json_array_size (list) > INGEST_MAX_ITEMS) {
        s_item_error (it, "field too long: MemChangeList", "MemChangeList");
        return;
    }
    if (req->n_events + json_array_size (list) > INGEST_MAX_EVENTS) {
        req->too_many = true;         //  the whole request is refused (413)
        return;
    }
    size_t i;
    json_t *entry;
    json_array_foreach (list, i, entry)
        s_member_change (req, idx, cb, entry, chat, add, at_us, t_s);
}

static void s_callback (ingest_req_t *req, json_t *cb)
{
    size_t idx = s_new_item (req, cb);
    ingest_item_t *it = &req->items [idx];
    if (!json_is_object (cb)) {
        it->id = qy_strdup ("");
        s_item_error (it, "bad item: not an object", "events[]");
        return;
    }
    const char *chat = s_str (cb, "ChatId"), *change = s_str (cb, "ChangeType"), *detail = s_str (cb, "UpdateDetail");
    const char *event = s_str (cb, "Event");
    if (event && strcmp (event, "change_external_contact") == 0) {
        ingest_wecom_contact (req, idx, cb);
        return;
    }
    int64_t t_s = 0, at_us = 0;
    if (s_time (cb, "CreateTime", S_SECONDS, &at_us))
        t_s = at_us / S_SECONDS;
    it->id = qy_printf ("cb:%s:%s%s%s:%lld", chat ? chat : "", change ? change : "", detail ? "/" : "",
                        detail ? detail : "", (long long) t_s);
    if (event && strcmp (event, "change_external_chat") != 0) {
        s_item_error (it, "unsupported Event (change_external_chat or change_external_contact)", "Event");
        return;
    }
    if (!chat)     { s_item_error (it, "missing field: ChatId", "ChatId"); return; }
    //  Copied into every event the callback becomes: checked once, up front.
    static const struct { const char *key; size_t max; const char *error; } s_limits [] = {
        { "ChatId",  INGEST_MAX_CODE, "field too long: ChatId (max 128 bytes)" },
        { "State",   INGEST_MAX_CODE, "field too long: State (max 128 bytes)" },
        { "Invitor", INGEST_MAX_CODE, "field too long: Invitor (max 128 bytes)" },
        { "Owner",   INGEST_MAX_CODE, "field too long: Owner (max 128 bytes)" },
        { "Name",    INGEST_MAX_NAME, "field too long: Name (max 256 bytes)" },
    };
    for (size_t k = 0; k < QY_ARRAY_LEN (s_limits); k++)
        if (s_long (s_str (cb, s_limits [k].key), s_limits [k].max)) {
            s_item_error (it, s_limits [k].error, s_limits [k].key);
            return;
        }
    if (!at_us)    { s_item_error (it, "missing field: CreateTime (unix seconds)", "CreateTime"); return; }
    //  Checked here, not only in the events: group changes have none.
    char *bad = s_bad_time ("CreateTime", at_us, req->now_us);
    if (bad) {
        s_item_error (it, bad, "CreateTime");
        free (bad);
        return;
    }
    if (!change)   { s_item_error (it, "missing field: ChangeType", "ChangeType"); return; }
    if (strcmp (change, "create") == 0)
        s_gop (req, idx, INGEST_GOP_CREATE, chat, s_str (cb, "Name"), at_us);
    else
    if (strcmp (change, "dismiss") == 0)
        s_gop (req, idx, INGEST_GOP_DISMISS, chat, NULL, at_us);
    else
    if (strcmp (change, "update") == 0)
        s_update (req, idx, cb, chat, detail, at_us, t_s);
    else
        s_item_error (it, "unsupported ChangeType (create, update or dismiss)", "ChangeType");
}

// ------------------------------------------------------------ snapshots

static const char *s_userid (json_t *v)
{
    if (json_is_string (v))
        return json_string_value (v);
    return json_is_object (v) ? s_str (v, "userid") : NULL;
}

//  One entry of member_list into sm (not yet counted in the snapshot):
//  its role from the owner and the admin list. Returns 0, or -1 with the
//  envelope's error.
static int s_snap_member (ingest_snap_member_t *sm, json_t *m, const char *user, const char *owner, json_t *admins,
                          int64_t now_us, char *err, size_t errlen, char *field, size_t fieldlen)
{
    sm->userid = qy_strdup (user);
    int64_t v;
    sm->type = s_int (m, "type", &v) ? (int) v : 2;
    char *bad;
    if (!s_time (m, "join_time", S_SECONDS, &sm->join_time_us))
        sm->join_time_us = 0;
    else
    if ((bad = s_bad_time ("group_chat.member_list[].join_time", sm->join_time_us, now_us))) {
        s_envelope (err, errlen, field, fieldlen, bad, "group_chat.member_list[].join_time");
        free (bad);
        return -1;
    }
    sm->join_scene = s_int (m, "join_scene", &v) ? (int) v : 0;
    const char *inv = s_userid (json_object_get (m, "invitor"));
    sm->invitor = inv && *inv ? qy_strdup (inv) : NULL;
    const char *nick = s_str (m, "group_nickname");
    if (!nick)
        nick = s_str (m, "name");
    sm->nickname = nick ? qy_strdup (nick) : NULL;
    const char *state = s_str (m, "state");
    sm->state = state ? qy_strdup (state) : NULL;
    sm->role = sm->type == 1 ? QY__ROLE__STAFF : QY__ROLE__MEMBER;
    if (owner && strcmp (owner, user) == 0)
        sm->role = QY__ROLE__OWNER;
    else {
        size_t a;
        json_t *adm;
        json_array_foreach (admins, a, adm) {
            const char *au = s_userid (adm);
            if (au && strcmp (au, user) == 0)
                sm->role = QY__ROLE__ADMIN;
        }
    }
    return 0;
}

//  The snapshot's members, each listed once. Returns 0, or -1 with the
//  envelope's error.
static int s_snap_members (ingest_snapshot_t *snap, json_t *chat, json_t *list, int64_t now_us, char *err,
                           size_t errlen, char *field, size_t fieldlen)
{
    snap->members = qy_calloc (json_array_size (list) + 1, sizeof (ingest_snap_member_t));
    json_t *admins = json_object_get (chat, "admin_list");
    size_t i;
    json_t *m;
    json_array_foreach (list, i, m) {
        const char *user = json_is_object (m) ? s_str (m, "userid") : NULL;
        if (!user || strlen (user) > 128) {
            s_envelope (err, errlen, field, fieldlen, user ? "field too long: group_chat.member_list[].userid"
                        : "missing field: group_chat.member_list[].userid", "group_chat.member_list[].userid");
            return -1;
        }
        bool dup = false;
        for (size_t k = 0; k < snap->n_members && !dup; k++)
            dup = strcmp (snap->members [k].userid, user) == 0;
        if (dup)
            continue;            //  listed twice: once is enough
        //  Counted before it is filled, so that a failure frees it too.
        ingest_snap_member_t *sm = &snap->members [snap->n_members++];
        if (s_snap_member (sm, m, user, snap->owner, admins, now_us, err, errlen, field, fieldlen))
            return -1;
    }
    return 0;
}

static ingest_snapshot_t *s_snapshot (json_t *root, int64_t now_us, char *err, size_t errlen,
                                      char *field, size_t fieldlen)
{
    int64_t code;
    if (s_int (root, "errcode", &code) && code != 0) {
        s_envelope (err, errlen, field, fieldlen, "snapshot carries a WeCom error (errcode is not 0)", "errcode");
        return NULL;
    }
    json_t *chat = json_object_get (root, "group_chat");
    if (!json_is_object (chat))
        chat = root;                 //  the group_chat object itself
    const char *id = s_str (chat, "chat_id");
    json_t *list = json_object_get (chat, "member_list");
    if (!id) {
        s_envelope (err, errlen, field, fieldlen, "missing field: group_chat.chat_id", "group_chat.chat_id");
        return NULL;
    }
    if (strlen (id) > 128) {
        s_envelope (err, errlen, field, fieldlen, "field too long: group_chat.chat_id (max 128 bytes)", "group_chat.chat_id");
        return NULL;
    }
    if (!json_is_array (list)) {
        s_envelope (err, errlen, field, fieldlen, "missing field: group_chat.member_list", "group_chat.member_list");
        return NULL;
    }
    if (json_array_size (list) > S_MAX_MEMBERS) {
        s_envelope (err, errlen, field, fieldlen, "field too long: group_chat.member_list", "group_chat.member_list");
        return NULL;
    }
    //  Each member is looked for among the admins: an unbounded list would
    //  cost members × admins (5,000 × 1.3 million: half a minute of a core).
    json_t *admins = json_object_get (chat, "admin_list");
    if (json_array_size (admins) > S_MAX_MEMBERS) {
        s_envelope (err, errlen, field, fieldlen, "field too long: group_chat.admin_list", "group_chat.admin_list");
        return NULL;
    }
    ingest_snapshot_t *snap = qy_calloc (1, sizeof (*snap));
    snap->group = qy_strdup (id);
    const char *name = s_str (chat, "name"), *owner = s_str (chat, "owner");
    snap->name = name ? qy_strdup (name) : NULL;
    snap->owner = owner ? qy_strdup (owner) : NULL;
    if (!s_time (root, "fetched_at", S_SECONDS, &snap->fetched_us))
        snap->fetched_us = now_us;
    char *bad = s_bad_time ("fetched_at", snap->fetched_us, now_us);
    if (bad) {
        s_envelope (err, errlen, field, fieldlen, bad, "fetched_at");
        free (bad);
        ingest_snapshot_destroy (&snap);
        return NULL;
    }
    if (s_snap_members (snap, chat, list, now_us, err, errlen, field, fieldlen))
        ingest_snapshot_destroy (&snap);
    return snap;
}

// ------------------------------------------------------------ envelope

ingest_req_t *ingest_wecom_parse (ingest_ep_t ep, const char *brand, const char *body, size_t len,
                                  int64_t now_us, char *err, size_t errlen, char *field, size_t fieldlen)
{
    json_error_t jerr;
    //  Strings holding NUL are refused (the default): PostgreSQL text cannot hold them.
    json_t *root = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char *e = qy_printf ("body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        s_envelope (err, errlen, field, fieldlen, e, "");
        free (e);
        return NULL;
    }
    ingest_req_t *req = NULL;
    if (!json_is_object (root)) {
        s_envelope (err, errlen, field, fieldlen, "body must be a JSON object", "");
        goto done;
    }
    const char *said = s_str (root, "brand");
    if (said && brand && strcmp (said, brand) != 0) {
        //  ingest_http maps this one to 403: the credential belongs to another brand.
        s_envelope (err, errlen, field, fieldlen, "brand does not match the credential", "brand");
        goto done;
    }
    const char *key = ep == INGEST_EP_MESSAGES ? "messages" : ep == INGEST_EP_EVENTS ? "events" : NULL;
    json_t *list = key ? json_object_get (root, key) : NULL;
    if (key && !json_is_array (list)) {
        s_envelope (err, errlen, field, fieldlen, ep == INGEST_EP_MESSAGES ? "missing field: messages (an array)"
                    : "missing field: events (an array)", key);
        goto done;
    }
    if (key && json_array_size (list) > INGEST_MAX_ITEMS) {
        s_envelope (err, errlen, field, fieldlen, "too many items in one request (max 5000)", key);
        goto done;
    }
    if (key && json_array_size (list) == 0) {
        s_envelope (err, errlen, field, fieldlen, "empty request: no items", key);
        goto done;
    }
    ingest_snapshot_t *snap = NULL;
    if (ep == INGEST_EP_SNAPSHOT && !(snap = s_snapshot (root, now_us, err, errlen, field, fieldlen)))
        goto done;
    req = qy_calloc (1, sizeof (*req));
    req->ep = ep;
    req->now_us = now_us;
    req->brand = qy_strdup (brand ? brand : "");
    req->items = qy_calloc (key ? json_array_size (list) : 1, sizeof (ingest_item_t));
    if (ep == INGEST_EP_SNAPSHOT) {
        req->snap = snap;
        size_t idx = s_new_item (req, json_null ());
        free (req->items [idx].raw);
        req->items [idx].raw = qy_strndup (body, len);
        req->items [idx].id = qy_printf ("snap:%s:%lld", snap->group, (long long) (snap->fetched_us / 1000000));
    }
    else {
        size_t i;
        json_t *item;
        json_array_foreach (list, i, item) {
            if (ep == INGEST_EP_MESSAGES)
                s_message (req, item);
            else
                s_callback (req, item);
            if (req->too_many) {
                s_envelope (err, errlen, field, fieldlen, "too many events in one request (max 5000)", key);
                ingest_req_destroy (&req);
                break;
            }
        }
    }
done:
    json_decref (root);
    return req;
}
