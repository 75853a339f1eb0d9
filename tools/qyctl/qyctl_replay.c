//  qyctl replay: re-sends archived events into the chain (the bus front of
//  the moderation hop), for recovery after a stage lost events in flight.
//  Every effect downstream is idempotent by event id, so replaying what was
//  already processed changes nothing; the events carry replay = true.
#include "qyctl.h"
#include "qunyun.pb-c.h"
#include "qy/kind.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static Qy__Role s_role (const char *name)
{
    if (!strcmp (name, "staff")) return QY__ROLE__STAFF;
    if (!strcmp (name, "admin")) return QY__ROLE__ADMIN;
    if (!strcmp (name, "owner")) return QY__ROLE__OWNER;
    if (!strcmp (name, "bot"))   return QY__ROLE__BOT;
    return QY__ROLE__MEMBER;
}

static Qy__JoinScene s_scene (const char *name)
{
    if (!strcmp (name, "staff_invite"))  return QY__JOIN_SCENE__STAFF_INVITE;
    if (!strcmp (name, "qr_scan"))       return QY__JOIN_SCENE__QR_SCAN;
    if (!strcmp (name, "member_invite")) return QY__JOIN_SCENE__MEMBER_INVITE;
    if (!strcmp (name, "oa_menu"))       return QY__JOIN_SCENE__OA_MENU;
    return QY__JOIN_SCENE__JOIN_SCENE_UNSPECIFIED;
}

static const char *s_get (json_t *extra, const char *key)
{
    json_t *v = extra ? json_object_get (extra, key) : NULL;
    return v && json_is_string (v) ? json_string_value (v) : "";
}

int qyctl_replay (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *brand = qyctl_arg (0);
    if (!brand)
        qyctl_usage_error ("replay needs a BRAND");
    const char *endpoint = qyctl_opt ("endpoint", getenv ("QY_REPLAY_ENDPOINT"));
    if (!endpoint)
        endpoint = "tcp://127.0.0.1:5550";
    char *what = qy_printf ("replay re-sends %s's archived events from %s to %s into %s", brand,
                            qyctl_opt ("since", "the start"), qyctl_opt ("until", "the end"), endpoint);
    qyctl_confirm (what);
    free (what);
    char bid [24];
    int64_t brand_id = qyctl_brand_id (brand);
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    const char *p [] = { bid, qyctl_opt ("since", "-infinity"), qyctl_opt ("until", "infinity") };
    PGresult *res = qyctl_exec (
        "SELECT m.msg_id, (extract (epoch FROM m.event_time) * 1000000)::bigint, (extract (epoch FROM m.ingest_time) * 1000000)::bigint, "
        "       g.code, coalesce (s.code, ''), coalesce (mb.user_id, ''), coalesce (mb.nickname, ''), m.kind, coalesce (m.role, 'member'), "
        "       coalesce (m.text, ''), coalesce (m.extra::text, ''), m.group_id, coalesce (m.store_id, 0), coalesce (m.member_id, 0), "
        "       coalesce (c.id, 0) "
        "FROM messages m JOIN groups g ON g.id = m.group_id LEFT JOIN stores s ON s.id = m.store_id "
        "LEFT JOIN members mb ON mb.id = m.member_id "
        "LEFT JOIN channels c ON c.brand_id = m.brand_id AND c.code = m.extra->>'channel' "
        "WHERE m.brand_id = $1 AND m.event_time >= $2::timestamptz AND m.event_time < $3::timestamptz "
        "ORDER BY m.event_time, m.msg_id", 3, p);
    void *ctx = zmq_ctx_new ();
    void *push = qy_zmq_socket (ctx, ZMQ_PUSH, 20000, 30000);
    if (qy_zmq_connect (push, endpoint))
        qyctl_die ("cannot connect to %s", endpoint);
    int n = PQntuples (res);
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, "replay", n);
    for (int r = 0; r < n; r++) {
        qyctl_progress (&progress, r);
        Qy__Event ev = QY__EVENT__INIT;
        ev.brand = (char *) brand;
        ev.brand_id = brand_id;
        ev.msg_id = PQgetvalue (res, r, 0);
        ev.event_time_us = strtoll (PQgetvalue (res, r, 1), NULL, 10);
        ev.ingest_time_us = strtoll (PQgetvalue (res, r, 2), NULL, 10);
        ev.group = PQgetvalue (res, r, 3);
        ev.store = PQgetvalue (res, r, 4);
        ev.member = PQgetvalue (res, r, 5);
        ev.nickname = PQgetvalue (res, r, 6);
        ev.kind = qy_kind_parse (PQgetvalue (res, r, 7));
        ev.role = s_role (PQgetvalue (res, r, 8));
        ev.text = PQgetvalue (res, r, 9);
        ev.group_id = strtoll (PQgetvalue (res, r, 11), NULL, 10);
        ev.store_id = strtoll (PQgetvalue (res, r, 12), NULL, 10);
        ev.member_id = strtoll (PQgetvalue (res, r, 13), NULL, 10);
        ev.channel_id = strtoll (PQgetvalue (res, r, 14), NULL, 10);
        ev.replay = true;
        json_t *extra = *PQgetvalue (res, r, 10) ? json_loads (PQgetvalue (res, r, 10), 0, NULL) : NULL;
        ev.url = (char *) s_get (extra, "url");
        ev.ref_msg_id = (char *) s_get (extra, "ref_msg_id");
        ev.channel = (char *) s_get (extra, "channel");
        ev.inviter = (char *) s_get (extra, "inviter");
        ev.product = (char *) s_get (extra, "product");
        if (*s_get (extra, "nickname"))
            ev.nickname = (char *) s_get (extra, "nickname");
        ev.join_scene = s_scene (s_get (extra, "join_scene"));
        const char *reason = s_get (extra, "leave_reason");
        ev.leave_reason = !strcmp (reason, "removed") ? QY__LEAVE_REASON__REMOVED : !strcmp (reason, "left") ? QY__LEAVE_REASON__LEFT : 0;
        ev.at_all = extra && json_is_true (json_object_get (extra, "at_all"));
        json_t *amount = extra ? json_object_get (extra, "amount_cents") : NULL;
        ev.amount_cents = amount && json_is_integer (amount) ? json_integer_value (amount) : 0;
        json_t *mentions = extra ? json_object_get (extra, "mentions") : NULL;
        char **ms = NULL;
        if (mentions && json_is_array (mentions)) {
            ev.n_mentions = json_array_size (mentions);
            ms = qy_calloc (ev.n_mentions + 1, sizeof (char *));
            for (size_t i = 0; i < ev.n_mentions; i++)
                ms [i] = (char *) (json_string_value (json_array_get (mentions, i)) ? json_string_value (json_array_get (mentions, i)) : "");
            ev.mentions = ms;
        }
        //  Blocking send: a full hop makes replay wait, never drop.
        if (qy_zmq_send_pb (push, &ev.base, 0))
            qyctl_die ("send to %s failed at %s", endpoint, ev.msg_id);
        free (ms);
        json_decref (extra);
    }
    qyctl_progress_end (&progress);
    PQclear (res);
    zmq_close (push);          //  linger flushes what is queued
    zmq_ctx_term (ctx);
    printf ("replayed %d events of %s into %s\n", n, brand, endpoint);
    return 0;
}

static const qyctl_option_t s_replay_opts [] = {
    { "since",    QYCTL_VALUE, "TIME", "from this time (default: the archive's start)" },
    { "until",    QYCTL_VALUE, "TIME", "to this time, not included (default: the end)" },
    { "endpoint", QYCTL_VALUE, "E",    "the bus's moderation front (default $QY_REPLAY_ENDPOINT, tcp://127.0.0.1:5550)" },
    { NULL }
};
const qyctl_command_t qyctl_replay_commands [] = {
    { "replay", "BRAND", 1, 1, s_replay_opts, "re-send the brand's archived events into the chain", QYCTL_CONFIRM },
    { NULL }
};
