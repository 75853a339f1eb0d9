//  Moderation's state outside the batch: mutes and blocks in Redis made to
//  agree with PostgreSQL (at start, when Redis lost them, after operators'
//  changes heard through NOTIFY or missed while not listening), and the
//  removal of a blocked member from every group they are in.
#include "moderation.h"
#include "moderation_batch.h"
#include "moderation_behaviour.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <stdlib.h>
#include <string.h>

//  Set a member's mute end (µs) in Redis for px ms, unless a later end is
//  there already (another replica's longer mute stays).
//  The script: moderation_mute_lengthen.lua (embedded).
extern const char moderation_mute_lengthen_lua [];
redisReply *moderation_mute_lengthen (qy_redis_t *redis, const char *key, const char *until_us, const char *px)
{
    return qy_redis_cmd (redis, "EVAL %s 1 %s %s %s", moderation_mute_lengthen_lua, key, until_us, px);
}

//  Remove a blocked member from every group of the brand they are still
//  in (but except_group, already handled). The keys carry when the block
//  began: every replica that hears of the block sends the same deliveries
//  (notifier keeps one), and a member blocked again later is removed again.
bool moderation_remove_everywhere (qy_pg_t *pg, void *actions, int64_t brand, int64_t member, int64_t except_group)
{
    char bid [24], mid [24], gid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand);
    qy_snprintf (mid, sizeof (mid), "%lld", (long long) member);
    qy_snprintf (gid, sizeof (gid), "%lld", (long long) except_group);
    const char *p [] = { bid, mid, gid };
    PGresult *res;
    if (!qy_pg_run (pg, "blocked memberships",
            "SELECT g.id, g.code, m.user_id, br.code, (extract (epoch FROM b.created_at) * 1000000)::bigint "
            "FROM blocks b JOIN members m ON m.id = b.member_id AND m.brand_id = b.brand_id "
            "JOIN brands br ON br.id = b.brand_id "
            "JOIN memberships ms ON ms.brand_id = b.brand_id AND ms.member_id = b.member_id AND ms.left_at IS NULL "
            "JOIN groups g ON g.id = ms.group_id AND g.brand_id = b.brand_id "
            "WHERE b.brand_id = $1 AND b.member_id = $2 AND b.lifted_at IS NULL AND g.id <> $3 ORDER BY g.id", 3, p, &res))
        return false;
    for (int r = 0; r < PQntuples (res); r++) {
        char key [160];
        qy_snprintf (key, sizeof (key), "block:%s:%s:%s:%s", bid, mid, PQgetvalue (res, r, 4), PQgetvalue (res, r, 0));
        Qy__Delivery d = QY__DELIVERY__INIT;
        d.key = key;
        d.brand = PQgetvalue (res, r, 3);
        d.brand_id = brand;
        d.group_id = qy_pg_int (res, r, 0);
        d.group = PQgetvalue (res, r, 1);
        d.priority = QY__PRIORITY__P_ACTION;
        d.kind = "action";
        d.action = QY__ACTION__REMOVE;
        d.member = PQgetvalue (res, r, 2);
        d.reason = "blocked";
        d.source = "moderation";
        d.event_id = key;
        d.created_us = qy_now_us ();
        if (qy_service_send (actions, &d.base) == 0)
            qy_metric_add (qy_counter ("qy_moderation_actions_total", "actions sent to notifier"), 1);
    }
    if (PQntuples (res))
        qy_log_info ("brand=%s member=%s blocked: removal sent to %d other groups", bid, mid, PQntuples (res));
    PQclear (res);
    return true;
}

//  Read the replies of n pipelined commands, then beat the heart (a restore
//  of many rows must not look like a hang). False when Redis went away
//  (the connection is dropped, so no reply is left for the next command).
static bool s_drain (qy_redis_t *redis, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r) {
            qy_redis_disconnect (redis);
            return false;
        }
        freeReplyObject (r);
    }
    qy_service_heartbeat ();
    return true;
}

#define S_RESTORE_CHUNK 500

//  Append one command; read the replies every S_RESTORE_CHUNK commands.
static bool s_queue (qy_redis_t *redis, int argc, const char **argv, int *queued)
{
    if (qy_redis_append_argv (redis, argc, argv, NULL))
        return false;
    if (++*queued < S_RESTORE_CHUNK)
        return true;
    *queued = 0;
    return s_drain (redis, S_RESTORE_CHUNK);
}

//  The finished marks (md:ids) of the messages PostgreSQL says were judged
//  (a violation of any kind, enforcement included) within the marks'
//  lifetime, a thousand rows at a time by id: a redelivery of one repeats
//  what was recorded. Allowed messages leave no row: their marks cannot
//  come back (docs/operations.md says what follows).
static bool s_restore_finished (qy_pg_t *pg, qy_redis_t *redis, int *queued)
{
    char last [QY_PG_I64_LEN] = "0", ttl [16], days [16];
    qy_snprintf (ttl, sizeof (ttl), "%d", MODERATION_SEEN_TTL_S);
    qy_snprintf (days, sizeof (days), "%d", MODERATION_SEEN_TTL_S / 86400);
    long long restored = 0;
    for (;;) {
        const char *p [] = { last, days };
        PGresult *res;
        if (!qy_pg_run (pg, "restore finished",
                "SELECT id, brand_id, msg_id, (extract (epoch FROM event_time) * 1000000)::bigint FROM violations "
                "WHERE id > $1 AND event_time > now () - make_interval (days => $2::int) ORDER BY id LIMIT 1000",
                2, p, &res))
            return false;
        int n = PQntuples (res);
        bool ok = true;
        for (int r = 0; r < n && ok; r++) {
            char key [96];
            moderation_seen_key (key, sizeof (key), qy_pg_int (res, r, 1), qy_pg_int (res, r, 3));
            const char *sadd [] = { "SADD", key, PQgetvalue (res, r, 2) };
            const char *exp [] = { "EXPIRE", key, ttl };
            ok = s_queue (redis, 3, sadd, queued) && s_queue (redis, 3, exp, queued);
        }
        if (n)
            qy_strlcpy (last, PQgetvalue (res, n - 1, 0), sizeof (last));
        PQclear (res);
        restored += n;
        if (!ok)
            return false;
        if (n < 1000)
            break;
    }
    qy_log_info ("finished marks restored from violations messages=%lld", restored);
    return true;
}

//  The marker that says Redis holds moderation's restored state: 1 there,
//  0 gone (Redis lost it), -1 no answer.
static int s_marker (qy_redis_t *redis)
{
    redisReply *r = qy_redis_cmd (redis, "EXISTS %s", MODERATION_RESTORED_KEY);
    int there = r && r->type == REDIS_REPLY_INTEGER ? r->integer == 1 : -1;
    if (r)
        freeReplyObject (r);
    return there;
}

bool moderation_restore (qy_pg_t *pg, qy_redis_t *redis)
{
    PGresult *res;
    bool ok = true;
    int queued = 0;
    //  The finished marks only when Redis lost them: a restart with the
    //  marker there need not read eight days of violations again (no
    //  answer: read them; the restore then fails on its own and is retried).
    bool lost = s_marker (redis) != 1;
    if (qy_pg_run (pg, "restore blocks", "SELECT brand_id, member_id FROM blocks WHERE lifted_at IS NULL", 0, NULL, &res)) {
        for (int r = 0; r < PQntuples (res) && ok; r++) {
            char key [64];
            qy_snprintf (key, sizeof (key), "block:{b:%s}", PQgetvalue (res, r, 0));
            const char *argv [] = { "SADD", key, PQgetvalue (res, r, 1) };
            ok = s_queue (redis, 3, argv, &queued);
        }
        PQclear (res);
    }
    else
        ok = false;
    //  Only ever lengthen, as s_apply does: a replica may be muting meanwhile.
    if (ok && qy_pg_run (pg, "restore mutes",
            "SELECT brand_id, member_id, (extract (epoch FROM max (mute_until) - now ()) * 1000)::bigint, "
            "       (extract (epoch FROM max (mute_until)) * 1000000)::bigint FROM violations "
            "WHERE mute_until > now () AND status <> 'overturned' GROUP BY brand_id, member_id", 0, NULL, &res)) {
        for (int r = 0; r < PQntuples (res) && ok; r++) {
            char key [96];
            qy_snprintf (key, sizeof (key), "mute:{b:%s}:%s", PQgetvalue (res, r, 0), PQgetvalue (res, r, 1));
            const char *argv [] = { "EVAL", moderation_mute_lengthen_lua, "1", key, PQgetvalue (res, r, 3), PQgetvalue (res, r, 2) };
            ok = s_queue (redis, 6, argv, &queued);
        }
        PQclear (res);
    }
    else
        ok = false;
    ok = ok && (!lost || s_restore_finished (pg, redis, &queued));
    if (ok)
        ok = s_drain (redis, queued);
    else
    if (queued)
        qy_redis_disconnect (redis);
    if (ok) {
        redisReply *rep = qy_redis_cmd (redis, "SET %s 1", MODERATION_RESTORED_KEY);
        ok = rep != NULL;
        if (rep)
            freeReplyObject (rep);
    }
    return ok;
}

void moderation_restore_if_lost (qy_pg_t *pg, qy_redis_t *redis)
{
    if (s_marker (redis) != 0)
        return;                 //  there, or no answer to tell
    qy_log_warn ("redis has lost moderation state (no %s): restoring mutes, blocks and finished marks from postgres",
                 MODERATION_RESTORED_KEY);
    if (moderation_restore (pg, redis)) {
        //  An operator may have lifted one while the rows were read: say so again.
        moderation_resync_recent (pg, redis, NULL);
        qy_log_info ("mutes, blocks and finished marks restored into redis");
    }
}

//  Make Redis say what PostgreSQL says about one member's mute and block,
//  after an operator overturned a violation or changed the block list; a
//  member now blocked is removed from every group they are in (with actions).
//  Frees rep. False only when Redis was away (worth a retry); an error
//  answer (a key written by something else) is logged and not retried.
static bool s_reply_ok (redisReply *rep, const char *bid, const char *mid)
{
    if (!rep)
        return false;
    if (rep->type == REDIS_REPLY_ERROR)
        qy_log_error ("brand=%s member=%s redis refused the resync: %s", bid, mid, rep->str);
    freeReplyObject (rep);
    return true;
}

//  False when PostgreSQL or Redis was away: call again later.
static bool s_resync_member (qy_pg_t *pg, qy_redis_t *redis, void *actions, int64_t brand, int64_t member)
{
    char bid [24], mid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand);
    qy_snprintf (mid, sizeof (mid), "%lld", (long long) member);
    const char *p [] = { bid, mid };
    PGresult *res;
    bool ok = false;
    if (qy_pg_run (pg, "resync mute",
            "SELECT (extract (epoch FROM max (mute_until)) * 1000000)::bigint, "
            "       (extract (epoch FROM max (mute_until) - now ()) * 1000)::bigint FROM violations "
            "WHERE brand_id = $1 AND member_id = $2 AND mute_until > now () AND status <> 'overturned'", 2, p, &res)) {
        redisReply *rep = PQgetisnull (res, 0, 0)
            ? qy_redis_cmd (redis, "DEL mute:{b:%s}:%s", bid, mid)
            : qy_redis_cmd (redis, "SET mute:{b:%s}:%s %s PX %s", bid, mid, PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1));
        ok = s_reply_ok (rep, bid, mid);
        qy_log_info ("brand=%s member=%s mute resynced until_us=%s ok=%d", bid, mid,
                     PQgetisnull (res, 0, 0) ? "0" : PQgetvalue (res, 0, 0), ok);
        PQclear (res);
    }
    //  The block whatever became of the mute: a removal must not wait on Redis.
    if (qy_pg_run (pg, "resync block", "SELECT 1 FROM blocks WHERE brand_id = $1 AND member_id = $2 AND lifted_at IS NULL",
                   2, p, &res)) {
        bool blocked = PQntuples (res) > 0;
        redisReply *rep = qy_redis_cmd (redis, "%s block:{b:%s} %s", blocked ? "SADD" : "SREM", bid, mid);
        ok = s_reply_ok (rep, bid, mid) && ok;
        qy_log_info ("brand=%s member=%s block resynced blocked=%d ok=%d", bid, mid, blocked, ok);
        PQclear (res);
        if (blocked && actions)
            ok = moderation_remove_everywhere (pg, actions, brand, member, 0) && ok;
    }
    else
        ok = false;
    return ok;
}

bool moderation_resync_recent (qy_pg_t *pg, qy_redis_t *redis, void *actions)
{
    PGresult *res;
    if (!qy_pg_run (pg, "recent blocks",
            "SELECT brand_id, member_id FROM blocks WHERE created_at > now () - interval '1 day' "
            "   OR lifted_at > now () - interval '1 day' "
            "UNION SELECT brand_id, member_id FROM violations WHERE status = 'overturned' AND mute_until > now () "
            "   AND member_id IS NOT NULL", 0, NULL, &res))
        return false;
    //  One member that fails is logged, not retried here (this runs on the
    //  hot loop): the next re-LISTEN, restart or NOTIFY of it resyncs it.
    for (int r = 0; r < PQntuples (res); r++) {
        s_resync_member (pg, redis, actions, qy_pg_int (res, r, 0), qy_pg_int (res, r, 1));
        qy_service_heartbeat ();
    }
    PQclear (res);
    return true;
}

//  Drop from a brand's Redis block set the members among ids (a PostgreSQL
//  array) whose block was lifted (one row per member: lifted means none in
//  force), then put back any of them another replica blocked again
//  meanwhile. False when PostgreSQL or Redis failed.
static bool s_unblock_lifted (qy_pg_t *pg, qy_redis_t *redis, const char *bid, const char *ids)
{
    const char *p [] = { bid, ids };
    PGresult *res;
    if (!qy_pg_run (pg, "lifted blocks",
            "SELECT member_id FROM blocks WHERE brand_id = $1 AND member_id = ANY ($2::bigint[]) AND lifted_at IS NOT NULL",
            2, p, &res))
        return false;
    bool ok = true;
    qy_pg_cols_t dropped;
    qy_pg_cols_init (&dropped, 1);
    for (int r = 0; r < PQntuples (res) && ok; r++) {
        redisReply *rep = qy_redis_cmd (redis, "SREM block:{b:%s} %s", bid, PQgetvalue (res, r, 0));
        ok = rep && rep->type != REDIS_REPLY_ERROR;
        if (rep)
            freeReplyObject (rep);
        if (ok) {
            qy_pg_cols_row (&dropped);
            qy_pg_cols_int (&dropped, 0, qy_pg_int (res, r, 0));
            qy_log_info ("brand=%s member=%s block lifted while not listening: dropped from redis", bid, PQgetvalue (res, r, 0));
        }
    }
    PQclear (res);
    const char *q [] = { bid, qy_pg_cols_array (&dropped, 0) };
    if (dropped.nrows && qy_pg_run (pg, "blocked again",
            "SELECT member_id FROM blocks WHERE brand_id = $1 AND member_id = ANY ($2::bigint[]) AND lifted_at IS NULL",
            2, q, &res)) {
        for (int r = 0; r < PQntuples (res); r++) {
            redisReply *rep = qy_redis_cmd (redis, "SADD block:{b:%s} %s", bid, PQgetvalue (res, r, 0));
            ok = rep && rep->type != REDIS_REPLY_ERROR && ok;
            if (rep)
                freeReplyObject (rep);
        }
        PQclear (res);
    }
    else
    if (dropped.nrows)
        ok = false;
    qy_pg_cols_free (&dropped);
    return ok;
}

//  One brand's block set, a thousand members at a time.
static bool s_brand_lifted (qy_pg_t *pg, qy_redis_t *redis, const char *bid)
{
    char cursor [32] = "0";
    do {
        redisReply *rep = qy_redis_cmd (redis, "SSCAN block:{b:%s} %s COUNT 1000", bid, cursor);
        if (!rep)
            return false;       //  Redis away: the whole check again later
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            //  Not a set (a key written by something else): skip this
            //  brand, loudly, rather than retry for ever.
            qy_log_error ("brand=%s block set unreadable (%s): lifted blocks of this brand not checked", bid,
                          rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
            freeReplyObject (rep);
            return true;
        }
        qy_strlcpy (cursor, rep->element [0]->str ? rep->element [0]->str : "0", sizeof (cursor));
        const redisReply *ms = rep->element [1];
        bool ok = true;
        if (ms->elements) {
            qy_pg_cols_t ids;
            qy_pg_cols_init (&ids, 1);
            for (size_t i = 0; i < ms->elements; i++) {
                qy_pg_cols_row (&ids);
                qy_pg_cols_int (&ids, 0, strtoll (ms->element [i]->str, NULL, 10));
            }
            ok = s_unblock_lifted (pg, redis, bid, qy_pg_cols_array (&ids, 0));
            qy_pg_cols_free (&ids);
        }
        freeReplyObject (rep);
        qy_service_heartbeat ();
        if (!ok)
            return false;
    } while (strcmp (cursor, "0") != 0);
    return true;
}

//  Members whose mute or block an operator lifted while we were not
//  listening: make Redis agree (it may still hold the old state). Mutes:
//  the overturned ones still running (bounded by the longest mute).
//  Blocks: only the members each brand's Redis set still holds, checked
//  a thousand at a time, so the work follows the blocks in force, not
//  every block ever lifted.
bool moderation_restore_lifted (qy_pg_t *pg, qy_redis_t *redis)
{
    PGresult *res;
    if (!qy_pg_run (pg, "restore lifted mutes",
            "SELECT DISTINCT brand_id, member_id FROM violations "
            "WHERE status = 'overturned' AND mute_until > now () AND member_id IS NOT NULL", 0, NULL, &res)) {
        qy_log_warn ("lifted mutes and blocks not checked yet: postgres failed; retrying");
        return false;
    }
    bool mutes_ok = true;
    for (int r = 0; r < PQntuples (res); r++) {
        mutes_ok = s_resync_member (pg, redis, NULL, qy_pg_int (res, r, 0), qy_pg_int (res, r, 1)) && mutes_ok;
        qy_service_heartbeat ();
    }
    PQclear (res);
    if (!mutes_ok) {
        qy_log_warn ("lifted mutes not all checked: redis or postgres failed; retrying");
        return false;
    }
    if (!qy_pg_run (pg, "brands", "SELECT id FROM brands ORDER BY id", 0, NULL, &res)) {
        qy_log_warn ("lifted blocks not checked yet: postgres failed; retrying");
        return false;
    }
    bool ok = true;
    for (int r = 0; r < PQntuples (res) && ok; r++)
        ok = s_brand_lifted (pg, redis, PQgetvalue (res, r, 0));
    if (!ok)
        qy_log_warn ("lifted blocks not all checked: redis or postgres failed; retrying");
    PQclear (res);
    return ok;
}

//  qy_config notifications: "TABLE:BRAND" reloads the brand's rules and
//  policy; "moderation_member:BRAND:MEMBER" resyncs one member's state.
void moderation_listen (PGconn *conn, moderation_store_t *store, qy_pg_t *pg, qy_redis_t *redis, void *actions)
{
    static const char *reload [] = { "rules:", "brands:", "moderation_policies:", "moderation_lists:", "moderation_models:" };
    PQconsumeInput (conn);
    PGnotify *n;
    while ((n = PQnotifies (conn))) {
        const char *colon = strchr (n->extra, ':');
        int64_t brand = colon ? strtoll (colon + 1, NULL, 10) : 0;
        for (size_t i = 0; i < QY_ARRAY_LEN (reload); i++)
            if (strncmp (n->extra, reload [i], strlen (reload [i])) == 0) {
                moderation_store_invalidate (store, brand);
                break;
            }
        if (strncmp (n->extra, "moderation_member:", 18) == 0) {
            const char *second = colon ? strchr (colon + 1, ':') : NULL;
            if (brand && second)
                s_resync_member (pg, redis, actions, brand, strtoll (second + 1, NULL, 10));
        }
        PQfreemem (n);
    }
}
