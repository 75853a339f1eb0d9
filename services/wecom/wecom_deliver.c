//  /wecom/<brand>/deliver: notifier's delivery contract (docs/gateway.md,
//  "Out: the brand's gateway") carried out with what WeCom's API allows:
//  a post becomes a group mass send (add_msg_template, chat_type group,
//  the group's owner as sender) that the owner confirms in their client;
//  its outcome is read back into wecom_sends by wecom_poll_sends. An alert
//  becomes an application message (message/send, textcard) to the group's
//  owner naming the group. What WeCom forbids (recall, mute, remove) is
//  answered 422 not_permitted: never reported done.
#include "wecom.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static unsigned s_json (qy_buf_t *out, unsigned status, const char *key, const char *value)
{
    qy_buf_reset (out);
    qy_buf_printf (out, "{\"%s\":", key);
    qy_buf_json_str (out, value);
    qy_buf_puts (out, "}\n");
    return status;
}

//  An API outcome other than OK as notifier's contract has it: busy →
//  WeCom's own errcode (notifier pauses), down → 503 (retried), a final
//  errcode → 422 with it (dead letter).
static unsigned s_api_fail (qy_buf_t *out, wecom_api_rc_t rc, json_t *answer)
{
    qy_buf_reset (out);
    long code = (long) json_integer_value (json_object_get (answer, "errcode"));
    if (rc == WECOM_API_BUSY) {
        qy_buf_printf (out, "{\"errcode\":%ld,\"errmsg\":\"wecom busy\"}\n", code ? code : 45009L);
        return 200;
    }
    if (rc == WECOM_API_DOWN)
        return s_json (out, 503, "error", "wecom unreachable");
    qy_buf_printf (out, "{\"error\":\"wecom_errcode\",\"errcode\":%ld}\n", code);
    return 422;
}

//  The group as groupchat/get has it (owner, name), or NULL with *rc set.
static json_t *s_group (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *chat, wecom_api_rc_t *rc)
{
    json_t *q = json_pack ("{s:s, s:i}", "chat_id", chat, "need_name", 1), *a = NULL;
    *rc = wecom_api_call (ctx->api, b->corp_id, wecom_brand_contact_secret (b), "/cgi-bin/externalcontact/groupchat/get", q, &a);
    json_decref (q);
    return a;
}

static unsigned s_post_locked (wecom_ctx_t *ctx, const wecom_brand_t *b, json_t *d, const char *key, qy_buf_t *out)
{
    const char *chat = json_string_value (json_object_get (d, "group")), *text = json_string_value (json_object_get (d, "text"));
    if (!chat || !*chat || !text || !*text)
        return s_json (out, 400, "error", "a post needs group and text");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) b->brand_id);
    const char *p [] = { bid, key };
    PGresult *res = NULL;
    if (!qy_pg_run (ctx->pg, "wecom send lookup", "SELECT msgid FROM wecom_sends WHERE brand_id = $1 AND delivery_key = $2",
                    2, p, &res))
        return s_json (out, 503, "error", "storage unavailable");
    if (PQntuples (res)) {              //  done for this key already: the same answer
        unsigned st = s_json (out, 200, "msgid", PQgetvalue (res, 0, 0));
        PQclear (res);
        return st;
    }
    PQclear (res);
    wecom_api_rc_t rc;
    json_t *group = s_group (ctx, b, chat, &rc);
    const char *owner = json_string_value (json_object_get (json_object_get (group, "group_chat"), "owner"));
    if (rc != WECOM_API_OK || !owner) {
        unsigned st = s_api_fail (out, rc == WECOM_API_OK ? WECOM_API_ERRCODE : rc, group);
        json_decref (group);
        return st;
    }
    bool welcome = wecom_deliver_way (d) == WECOM_WAY_WELCOME;
    char *named = wecom_greet_names (group, d, text, welcome ? "%NICKNAME%" : NULL);
    json_t *a = NULL;
    if (welcome) {
        //  WeCom sends the group welcome itself, naming the member.
        json_t *q = json_pack ("{s:{s:s}, s:i, s:i}", "text", "content", named, "agentid", (int) b->agent_id, "notify", 1);
        rc = wecom_api_call (ctx->api, b->corp_id, wecom_brand_contact_secret (b), "/cgi-bin/externalcontact/group_welcome_template/add", q, &a);
        json_decref (q);
        unsigned st = rc == WECOM_API_OK ? s_json (out, 200, "template_id", json_string_value (json_object_get (a, "template_id")) ?: "")
                                         : s_api_fail (out, rc, a);
        json_decref (a);
        json_decref (group);
        free (named);
        return st;
    }
    json_t *q = json_pack ("{s:s, s:s, s:[s], s:{s:s}}", "chat_type", "group", "sender", owner, "chat_id_list", chat,
                           "text", "content", named);
    rc = wecom_api_call (ctx->api, b->corp_id, wecom_brand_contact_secret (b), "/cgi-bin/externalcontact/add_msg_template", q, &a);
    json_decref (q);
    free (named);
    const char *msgid = json_string_value (json_object_get (a, "msgid"));
    unsigned st;
    if (rc == WECOM_API_OK && msgid) {
        const char *r [] = { bid, key, msgid, chat, owner };
        if (qy_pg_run (ctx->pg, "wecom send record",
                       "INSERT INTO wecom_sends (brand_id, delivery_key, msgid, chat_id, owner_userid) VALUES ($1, $2, $3, $4, $5) "
                       "ON CONFLICT DO NOTHING", 5, r, NULL))
            st = s_json (out, 200, "msgid", msgid);
        else
            st = s_json (out, 503, "error", "storage unavailable");
        qy_log_info ("msg_id=%s brand=%s mass send created msgid=%s chat=%s sender=%s", key, b->code, msgid, chat, owner);
    }
    else
        st = s_api_fail (out, rc == WECOM_API_OK ? WECOM_API_ERRCODE : rc, a);
    json_decref (a);
    json_decref (group);
    return st;
}

//  One replica at a time per delivery key (a session advisory lock): two
//  at once would each create a mass send for the owner to confirm.
static unsigned s_post (wecom_ctx_t *ctx, const wecom_brand_t *b, json_t *d, const char *key, qy_buf_t *out)
{
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) b->brand_id);
    const char *p [] = { bid, key };
    PGresult *res = NULL;
    if (!qy_pg_run (ctx->pg, "wecom send lock", "SELECT pg_try_advisory_lock (hashtextextended ($1 || ':' || $2, 0))",
                    2, p, &res))
        return s_json (out, 503, "error", "storage unavailable");
    bool mine = strcmp (PQgetvalue (res, 0, 0), "t") == 0;
    PQclear (res);
    if (!mine)
        return s_json (out, 503, "error", "being delivered by another replica");
    unsigned st = s_post_locked (ctx, b, d, key, out);
    qy_pg_run (ctx->pg, "wecom send unlock", "SELECT pg_advisory_unlock (hashtextextended ($1 || ':' || $2, 0))", 2, p, NULL);
    return st;
}

//  An alert or a notice to staff: a text card to the group's owner naming the group.
static unsigned s_alert (wecom_ctx_t *ctx, const wecom_brand_t *b, json_t *d, const char *key, qy_buf_t *out)
{
    const char *chat = json_string_value (json_object_get (d, "group")), *text = json_string_value (json_object_get (d, "text"));
    const char *touser = json_string_value (json_object_get (d, "touser"));
    wecom_api_rc_t rc = WECOM_API_OK;
    json_t *group = chat && *chat ? s_group (ctx, b, chat, &rc) : NULL;
    json_t *gc = json_object_get (group, "group_chat");
    if (!touser)
        touser = json_string_value (json_object_get (gc, "owner"));
    char *named = wecom_greet_names (group, d, text ? text : "", NULL);
    const char *gname = json_string_value (json_object_get (gc, "name"));
    //  A staff-task notice brings its own title, and its text names the
    //  group and store already: no second group line.
    const char *title = json_string_value (json_object_get (d, "title"));
    bool titled = title && *title;
    char *desc = gname && !titled ? qy_printf ("群: %s\n%s", gname, named) : qy_strdup (named);
    const char *url = json_string_value (json_object_get (d, "url"));
    json_t *q = json_pack ("{s:s, s:s, s:i, s:{s:s, s:s, s:s, s:s}}", "touser", touser ? touser : "@all", "msgtype", "textcard",
                           "agentid", (int) b->agent_id, "textcard", "title", titled ? title : "[群运] 请处理",
                           "description", desc, "url", url ? url : "https://work.weixin.qq.com", "btntxt", "详情");
    json_t *a = NULL;
    rc = wecom_api_call (ctx->api, b->corp_id, b->secret, "/cgi-bin/message/send", q, &a);
    json_decref (q);
    unsigned st = rc == WECOM_API_OK ? s_json (out, 200, "msgid", json_string_value (json_object_get (a, "msgid")) ?: key)
                                     : s_api_fail (out, rc, a);
    json_decref (a);
    json_decref (group);
    free (named);
    free (desc);
    return st;
}

unsigned wecom_deliver (wecom_ctx_t *ctx, const char *code, const char *auth, const char *idem,
                        const char *body, size_t len, qy_buf_t *out)
{
    wecom_brand_t *b = wecom_brand_load (ctx->pg, ctx->env->master, code, 0);
    if (!b)
        return s_json (out, qy_pg_ok (ctx->pg) ? 404 : 503, "error", qy_pg_ok (ctx->pg) ? "unknown brand" : "storage unavailable");
    unsigned st;
    json_t *d = json_loadb (body, len, 0, NULL);
    const char *kind = json_string_value (json_object_get (d, "kind"));
    const char *action = json_string_value (json_object_get (d, "action"));
    const char *key = idem && *idem ? idem : json_string_value (json_object_get (d, "key"));
    //  Lengths first: CRYPTO_memcmp reads both for the token's length.
    bool authed = auth && strncmp (auth, "Bearer ", 7) == 0 && *b->gateway_token
               && strlen (auth + 7) == strlen (b->gateway_token)
               && CRYPTO_memcmp (auth + 7, b->gateway_token, strlen (b->gateway_token)) == 0;
    if (!authed)
        st = s_json (out, 401, "error", "bad bearer token");
    else if (!json_is_object (d) || !kind || !key)
        st = s_json (out, 400, "error", "body must be a delivery with kind and key");
    else switch (wecom_deliver_way (d)) {
        case WECOM_WAY_MASS_SEND:
        case WECOM_WAY_WELCOME:
            st = s_post (ctx, b, d, key, out);
            break;
        case WECOM_WAY_APP_MESSAGE:
            st = s_alert (ctx, b, d, key, out);
            break;
        case WECOM_WAY_NOT_PERMITTED:
            //  recall, mute, remove: no WeCom API does these to a customer group.
            qy_log_info ("msg_id=%s brand=%s action=%s not permitted by WeCom", key, b->code, action ? action : "");
            st = s_json (out, 422, "error", "not_permitted");
            break;
        default:
            st = s_json (out, 400, "error", "unknown kind");
    }
    json_decref (d);
    wecom_brand_destroy (&b);
    return st;
}

//  The owner's per-chat result of a mass send they sent
//  (get_groupmsg_send_result): "sent", "not_sent", "failed" or NULL.
static const char *s_chat_result (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *msgid, const char *owner,
                                  const char *chat, int64_t *sent_at)
{
    json_t *q = json_pack ("{s:s, s:s, s:i}", "msgid", msgid, "userid", owner, "limit", 1000), *a = NULL;
    wecom_api_rc_t rc = wecom_api_call (ctx->api, b->corp_id, wecom_brand_contact_secret (b),
                                        "/cgi-bin/externalcontact/get_groupmsg_send_result", q, &a);
    json_decref (q);
    const char *status = rc == WECOM_API_ERRCODE ? "failed" : NULL;
    size_t i;
    json_t *t;
    if (rc == WECOM_API_OK)
        json_array_foreach (json_object_get (a, "send_list"), i, t) {
            const char *c = json_string_value (json_object_get (t, "chat_id"));
            if (!c || strcmp (c, chat) != 0)
                continue;
            status = wecom_send_status ((long) json_integer_value (json_object_get (t, "status")));
            *sent_at = (int64_t) json_integer_value (json_object_get (t, "send_time"));
        }
    json_decref (a);
    return status;
}

//  One pending send: the owner's task (get_groupmsg_task) says whether they
//  sent it; once they did, the chat's own result says whether it arrived
//  (WeCom refuses a group over its receive limit).
static const char *s_outcome (wecom_ctx_t *ctx, const wecom_brand_t *b, const char *msgid, const char *owner,
                              const char *chat, int64_t *sent_at)
{
    json_t *q = json_pack ("{s:s, s:i}", "msgid", msgid, "limit", 1000), *a = NULL;
    wecom_api_rc_t rc = wecom_api_call (ctx->api, b->corp_id, wecom_brand_contact_secret (b),
                                        "/cgi-bin/externalcontact/get_groupmsg_task", q, &a);
    json_decref (q);
    bool sent = false;
    size_t i;
    json_t *t;
    if (rc == WECOM_API_OK)
        json_array_foreach (json_object_get (a, "task_list"), i, t) {
            const char *u = json_string_value (json_object_get (t, "userid"));
            if (u && strcmp (u, owner) == 0)
                sent = wecom_task_sent ((long) json_integer_value (json_object_get (t, "status")));
        }
    json_decref (a);
    if (rc == WECOM_API_ERRCODE)
        return "failed";
    return sent ? s_chat_result (ctx, b, msgid, owner, chat, sent_at) : NULL;
}

int wecom_poll_sends (wecom_ctx_t *ctx, int max, long every_s)
{
    char lim [16], ev [16];
    qy_snprintf (lim, sizeof (lim), "%d", max);
    qy_snprintf (ev, sizeof (ev), "%ld", every_s);
    const char *p [] = { lim, ev };
    PGresult *res = NULL;
    //  Claimed by stamping checked_at, so replicas do not poll one send at once.
    if (!qy_pg_run (ctx->pg, "wecom sends due",
                    "UPDATE wecom_sends s SET checked_at = now () FROM (SELECT brand_id, delivery_key FROM wecom_sends "
                    "  WHERE status = 'pending' AND (checked_at IS NULL OR checked_at < now () - make_interval (secs => $2::int)) "
                    "  ORDER BY checked_at NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED) d "
                    "WHERE s.brand_id = d.brand_id AND s.delivery_key = d.delivery_key "
                    "RETURNING s.brand_id, s.delivery_key, s.msgid, s.owner_userid, s.chat_id", 2, p, &res))
        return -1;
    int n = PQntuples (res);
    for (int i = 0; i < n; i++) {
        wecom_brand_t *b = wecom_brand_load (ctx->pg, ctx->env->master, NULL, qy_pg_int (res, i, 0));
        if (!b)
            continue;
        int64_t sent_at = 0;
        const char *status = s_outcome (ctx, b, PQgetvalue (res, i, 2), PQgetvalue (res, i, 3), PQgetvalue (res, i, 4), &sent_at);
        if (status) {
            char at [24];
            qy_snprintf (at, sizeof (at), "%lld", (long long) sent_at);
            const char *q [] = { PQgetvalue (res, i, 0), PQgetvalue (res, i, 1), status, at };
            qy_pg_run (ctx->pg, "wecom send outcome",
                       "UPDATE wecom_sends SET status = $3, sent_at = CASE WHEN $4::bigint > 0 THEN to_timestamp ($4::bigint) END "
                       "WHERE brand_id = $1 AND delivery_key = $2", 4, q, NULL);
            qy_log_info ("msg_id=%s brand=%s mass send %s msgid=%s", PQgetvalue (res, i, 1), b->code, status, PQgetvalue (res, i, 2));
        }
        wecom_brand_destroy (&b);
    }
    PQclear (res);
    return n;
}
