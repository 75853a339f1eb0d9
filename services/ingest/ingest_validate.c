#include "ingest.h"
#include "qy/kind.h"
#include "qy/util.h"
#include "qy/pb.h"
#include <string.h>

static bool s_empty (const char *s)
{
    return !s || !*s;
}

static bool s_is_message (Qy__Kind k)
{
    return (k >= QY__KIND__TEXT && k <= QY__KIND__QRCODE);
}

static bool s_is_member_event (Qy__Kind k)
{
    return k == QY__KIND__JOIN || k == QY__KIND__LEAVE || k == QY__KIND__RENAME;
}

const char *ingest_validate (const Qy__Event *ev, int64_t now_us)
{
    if (s_empty (ev->brand))
        return "missing field: brand";
    if (strlen (ev->brand) > 64)
        return "field too long: brand (max 64 bytes)";
    if (s_empty (ev->msg_id))
        return "missing field: msg_id";
    if (strlen (ev->msg_id) > 128)
        return "field too long: msg_id (max 128 bytes)";
    if (s_empty (ev->group))
        return "missing field: group";
    if (strlen (ev->group) > 128)
        return "field too long: group (max 128 bytes)";
    if (!s_is_message (ev->kind) && !s_is_member_event (ev->kind) && ev->kind != QY__KIND__PURCHASE
        && ev->kind != QY__KIND__COUPON_REDEEMED)
        return "bad field: kind (unknown kind)";
    if (s_empty (ev->member))
        return "missing field: member";
    if (strlen (ev->member) > 128)
        return "field too long: member (max 128 bytes)";
    if (ev->event_time_us <= 0)
        return "missing field: event_time_us";
    if (ev->event_time_us > now_us + 86400LL * 1000000)
        return "bad field: event_time_us (more than a day in the future)";
    if (ev->event_time_us < 946684800LL * 1000000)
        return "bad field: event_time_us (before 2000)";
    if (ev->text && strlen (ev->text) > INGEST_MAX_TEXT)
        return "field too long: text (max 65536 bytes)";
    //  Codes become keys of unique indexes (channels, stores): a value too
    //  long for the index would fail the whole transaction, not one item.
    static const struct { const char *name; size_t max; } s_fields [] = {
        { "store", INGEST_MAX_CODE }, { "channel", INGEST_MAX_CODE }, { "inviter", INGEST_MAX_CODE },
        { "product", INGEST_MAX_CODE }, { "ref_msg_id", INGEST_MAX_CODE }, { "nickname", INGEST_MAX_NAME },
        { "url", INGEST_MAX_URL },
    };
    const char *values [] = { ev->store, ev->channel, ev->inviter, ev->product, ev->ref_msg_id, ev->nickname,
                              ev->url };
    for (size_t i = 0; i < QY_ARRAY_LEN (s_fields); i++)
        if (values [i] && strlen (values [i]) > s_fields [i].max) {
            static _Thread_local char why [96];
            qy_snprintf (why, sizeof (why), "field too long: %s (max %zu bytes)", s_fields [i].name, s_fields [i].max);
            return why;
        }
    if (ev->n_mentions > INGEST_MAX_MENTIONS)
        return "field too long: mentions (max 500 entries)";
    for (size_t i = 0; i < ev->n_mentions; i++)
        if (ev->mentions [i] && strlen (ev->mentions [i]) > INGEST_MAX_CODE)
            return "field too long: mentions (max 128 bytes each)";
    if (ev->kind == QY__KIND__TEXT && s_empty (ev->text))
        return "missing field: text";
    if (ev->kind == QY__KIND__RENAME && s_empty (ev->nickname))
        return "missing field: nickname";
    if (ev->kind == QY__KIND__REVOKE && s_empty (ev->ref_msg_id))
        return "missing field: ref_msg_id";
    if (ev->kind == QY__KIND__PURCHASE && s_empty (ev->product))
        return "missing field: product";
    const char *bad = qy_pb_bad_utf8 (&ev->base);
    if (bad) {
        static _Thread_local char why [96];
        qy_snprintf (why, sizeof (why), "bad field: %s (not valid UTF-8)", bad);
        return why;
    }
    return NULL;
}

const char *ingest_kind_name (Qy__Kind kind)
{
    return qy_kind_name (kind);
}

const char *ingest_role_name (Qy__Role role)
{
    switch (role) {
        case QY__ROLE__STAFF: return "staff";
        case QY__ROLE__ADMIN: return "admin";
        case QY__ROLE__OWNER: return "owner";
        case QY__ROLE__BOT:   return "bot";
        default:              return "member";
    }
}

const char *ingest_scene_name (Qy__JoinScene scene)
{
    switch (scene) {
        case QY__JOIN_SCENE__STAFF_INVITE:  return "staff_invite";
        case QY__JOIN_SCENE__QR_SCAN:       return "qr_scan";
        case QY__JOIN_SCENE__MEMBER_INVITE: return "member_invite";
        case QY__JOIN_SCENE__OA_MENU:       return "oa_menu";
        default:                            return NULL;
    }
}

const char *ingest_channel_kind (Qy__JoinScene scene)
{
    switch (scene) {
        case QY__JOIN_SCENE__STAFF_INVITE:  return "staff_invite";
        case QY__JOIN_SCENE__QR_SCAN:       return "qr_poster";
        case QY__JOIN_SCENE__MEMBER_INVITE: return "member_invite";
        case QY__JOIN_SCENE__OA_MENU:       return "oa_menu";
        default:                            return "unknown";
    }
}
