#include "ingest.h"
#include "qy/event.h"
#include "qy/kind.h"
#include "qy/util.h"
#include "qy/pb.h"
#include <stdlib.h>
#include <string.h>

static bool s_empty (const char *s)
{
    return !s || !*s;
}

static bool s_is_member_event (Qy__Kind k)
{
    return k == QY__KIND__JOIN || k == QY__KIND__LEAVE || k == QY__KIND__RENAME;
}

const char *ingest_time_problem (int64_t t_us, int64_t now_us)
{
    if (t_us < INGEST_MIN_TIME_US)
        return "before 2000";
    //  The distance ahead in unsigned arithmetic: exact for any two int64
    //  (t_us - now_us could overflow, now_us + a day too).
    if (t_us > now_us && (uint64_t) t_us - (uint64_t) now_us > (uint64_t) INGEST_MAX_AHEAD_US)
        return "more than a day in the future";
    return NULL;
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
    if (!qy_event_is_message (ev->kind) && !s_is_member_event (ev->kind) && ev->kind != QY__KIND__PURCHASE
        && ev->kind != QY__KIND__COUPON_REDEEMED && ev->kind != QY__KIND__REPORT)
        return "bad field: kind (unknown kind)";
    if (s_empty (ev->member))
        return "missing field: member";
    if (strlen (ev->member) > 128)
        return "field too long: member (max 128 bytes)";
    if (ev->event_time_us == 0)
        return "missing field: event_time_us";
    const char *when = ingest_time_problem (ev->event_time_us, now_us);
    if (when) {
        static _Thread_local char why [96];
        qy_snprintf (why, sizeof (why), "bad field: event_time_us (%s)", when);
        return why;
    }
    if (ev->text && strlen (ev->text) > INGEST_MAX_TEXT)
        return "field too long: text (max 65536 bytes)";
    //  Codes become keys of unique indexes (channels, stores): a value too
    //  long for the index would fail the whole transaction, not one item.
    static const struct { const char *name; size_t max; } s_fields [] = {
        { "store", INGEST_MAX_CODE }, { "channel", INGEST_MAX_CODE }, { "inviter", INGEST_MAX_CODE },
        { "product", INGEST_MAX_CODE }, { "ref_msg_id", INGEST_MAX_CODE }, { "nickname", INGEST_MAX_NAME },
        { "url", INGEST_MAX_URL }, { "unionid", INGEST_MAX_CODE }, { "phone", INGEST_MAX_CODE },
    };
    const char *values [] = { ev->store, ev->channel, ev->inviter, ev->product, ev->ref_msg_id, ev->nickname,
                              ev->url, ev->unionid, ev->phone };
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
    if (ev->kind == QY__KIND__REPORT && s_empty (ev->ref_msg_id) && ev->n_mentions == 0)
        return "missing field: ref_msg_id (a report names a message, or a member in mentions)";
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

//  Append name to the comma-separated list in out (cut short if it does
//  not fit) and count it.
static void s_cleared (char *out, size_t len, size_t *n, const char *name)
{
    size_t used = strlen (out);
    if (used < len)
        qy_snprintf (out + used, len - used, "%s%s", *n ? "," : "", name);
    (*n)++;
}

//  Field numbers a gateway never owns: 30-34 resolved by ingest, 40-44
//  added along the way, 50-79 moderation, scoring and campaign (and the
//  numbers between them, kept for the same owners).
static bool s_downstream_number (uint32_t id)
{
    return id >= 30 && id <= 79;
}

size_t ingest_clear_downstream (Qy__Event *ev, char *cleared, size_t len)
{
    size_t n = 0;
    if (len)
        cleared [0] = 0;
    struct { const char *name; int64_t *value; } ints [] = {
        { "ingest_time_us", &ev->ingest_time_us }, { "brand_id", &ev->brand_id }, { "group_id", &ev->group_id },
        { "store_id", &ev->store_id }, { "channel_id", &ev->channel_id }, { "member_id", &ev->member_id },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (ints); i++)
        if (*ints [i].value) {
            *ints [i].value = 0;
            s_cleared (cleared, len, &n, ints [i].name);
        }
    ProtobufCMessage **subs [] = { (ProtobufCMessage **) &ev->verdict, (ProtobufCMessage **) &ev->standing,
                                   (ProtobufCMessage **) &ev->signal };
    static const char *sub_names [] = { "verdict", "standing", "signal" };
    for (size_t i = 0; i < QY_ARRAY_LEN (subs); i++)
        if (*subs [i]) {
            protobuf_c_message_free_unpacked (*subs [i], NULL);
            *subs [i] = NULL;
            s_cleared (cleared, len, &n, sub_names [i]);
        }
    if (ev->n_trace || ev->trace) {
        for (size_t i = 0; i < ev->n_trace; i++)
            qy__stamp__free_unpacked (ev->trace [i], NULL);
        free (ev->trace);
        ev->trace = NULL;
        ev->n_trace = 0;
        s_cleared (cleared, len, &n, "trace");
    }
    if (ev->replay) {
        ev->replay = false;
        s_cleared (cleared, len, &n, "replay");
    }
    //  Fields this build does not know would be packed on as they came.
    //  Field number 0 is none: protobuf-c reads it as an unknown field,
    //  but the next hop's decoder refuses the whole event (found by
    //  tests/fuzz/fuzz_ingest_batch.c), so it is dropped like the others.
    size_t keep = 0;
    for (size_t i = 0; i < ev->base.n_unknown_fields; i++) {
        ProtobufCMessageUnknownField *f = &ev->base.unknown_fields [i];
        if (f->tag != 0 && !s_downstream_number (f->tag)) {
            ev->base.unknown_fields [keep++] = *f;
            continue;
        }
        char name [24];
        qy_snprintf (name, sizeof (name), "field %u", (unsigned) f->tag);
        s_cleared (cleared, len, &n, name);
        free (f->data);
    }
    ev->base.n_unknown_fields = keep;
    return n;
}

const char *ingest_kind_name (Qy__Kind kind)
{
    return qy_kind_name (kind);
}

const char *ingest_role_name (Qy__Role role)
{
    return qy_role_name (role);
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
