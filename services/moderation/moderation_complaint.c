//  Complaints go to a person: an alert to the store for each, and a surge
//  alert per store and per brand from a windowed count in Redis. Nothing
//  here punishes: the judge keeps a complaint's score out of the total.
#include "moderation_complaint.h"
#include "qy/log.h"
#include "qy/util.h"
#include <string.h>

typedef struct {
    const char *rule;
    const char *topic;
} s_topic_t;

static const s_topic_t s_topics [] = {
    { "complaint.quality",  "质量" },
    { "complaint.delivery", "物流与破损" },
    { "complaint.refund",   "退换货" },
    { "complaint.price",    "价格保护" },
    { "complaint.service",  "服务态度" },
};

const char *moderation_complaint_topic (const judge_result_t *r, const judge_thresholds_t *t)
{
    if (r->score [QY_CAT_COMPLAINT] < t->review - 1e-9)
        return NULL;
    for (size_t h = 0; h < r->nhits; h++)
        for (size_t k = 0; k < QY_ARRAY_LEN (s_topics); k++)
            if (!r->hits [h].dry_run && strcmp (r->hits [h].rule, s_topics [k].rule) == 0)
                return s_topics [k].topic;
    return "其他";
}

//  Everyday products customers name; longer words first where one
//  contains another (洗发水 before 发水).
static const char *s_products [] = {
    "洗发水", "护发素", "沐浴露", "洗面奶", "面霜", "面膜", "精华", "口红", "粉底", "防晒", "香水",
    "羽绒服", "外套", "衬衫", "裤子", "裙子", "鞋子", "袜子", "内衣", "包包",
    "手机", "平板", "电脑", "耳机", "充电宝", "充电器", "手表", "热水器", "电饭煲", "吹风机", "冰箱",
    "空调", "洗衣机", "牛奶", "酸奶", "奶粉", "咖啡", "蛋糕", "面包", "零食", "水果", "苹果", "橙子",
    "草莓", "外卖", "米饭", "床单", "保温杯", "玩具", "纸尿裤",
};

void moderation_complaint_products (const char *text, char *buf, size_t size)
{
    size_t at = 0, n = 0;
    buf [at++] = '{';
    for (size_t k = 0; k < QY_ARRAY_LEN (s_products) && n < 8 && text; k++) {
        size_t len = strlen (s_products [k]);
        if (!strstr (text, s_products [k]) || at + len + 3 >= size)
            continue;
        if (n++)
            buf [at++] = ',';
        memcpy (buf + at, s_products [k], len);
        at += len;
    }
    buf [at++] = '}';
    buf [at] = 0;
}

void moderation_complaint_counter (char *buf, size_t size, int64_t brand_id, bool store,
                                   int64_t store_id, int64_t group_id, int64_t event_time_us)
{
    long long hour = (long long) (event_time_us / 3600000000LL);
    if (!store)
        qy_snprintf (buf, size, "cmp:{b:%lld}:%lld", (long long) brand_id, hour);
    else
    if (store_id)
        qy_snprintf (buf, size, "cmp:{b:%lld}:s%lld:%lld", (long long) brand_id, (long long) store_id, hour);
    else
        qy_snprintf (buf, size, "cmp:{b:%lld}:g%lld:%lld", (long long) brand_id, (long long) group_id, hour);
}

long long moderation_window_incr (qy_redis_t *redis, const char *key, int ttl_s)
{
    redisReply *r = qy_redis_cmd (redis, "INCR %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r)
        freeReplyObject (r);
    r = qy_redis_cmd (redis, "EXPIRE %s %d", key, ttl_s);
    if (r)
        freeReplyObject (r);
    return n;
}

//  The complaint's row for the summary and its tracking; a failure is
//  logged (the alert is out already, and the message itself is archived
//  with the others). A staff message already in the archive after it (in
//  its own batch, or one moderation has not reached) has answered it.
static void s_record (qy_pg_t *pg, const Qy__Event *ev, const char *topic, const char *excerpt)
{
    char brand [24], store [24], group [24], member [24], at [24], products [512];
    qy_snprintf (brand, sizeof (brand), "%lld", (long long) ev->brand_id);
    qy_snprintf (store, sizeof (store), "%lld", (long long) ev->store_id);
    qy_snprintf (group, sizeof (group), "%lld", (long long) ev->group_id);
    qy_snprintf (member, sizeof (member), "%lld", (long long) ev->member_id);
    qy_snprintf (at, sizeof (at), "%lld", (long long) ev->event_time_us);
    moderation_complaint_products (ev->text, products, sizeof (products));
    const char *p [] = { brand, ev->msg_id, ev->store_id ? store : NULL, ev->group_id ? group : NULL,
                         ev->member_id ? member : NULL, topic, products, excerpt, at };
    if (!qy_pg_run (pg, "complaint",
            "INSERT INTO complaints (brand_id, msg_id, store_id, group_id, member_id, topic, products, excerpt, event_time, "
            "                        answered_at, answered_by, resolved_at, resolution) "
            "SELECT $1, $2, $3, $4, $5, $6, $7::text[], $8, e.t, a.event_time, a.member_id, a.event_time, "
            "       CASE WHEN a.event_time IS NOT NULL THEN 'staff_reply' END "
            "FROM (SELECT 'epoch'::timestamptz + $9::bigint * interval '1 microsecond' AS t) e "
            "LEFT JOIN LATERAL (SELECT m.event_time, m.member_id FROM messages m WHERE m.brand_id = $1 AND m.group_id = $4 "
            "    AND m.event_time >= e.t AND m.event_time < e.t + interval '1 day' AND m.role IN ('staff', 'admin', 'owner') "
            "    AND m.kind NOT IN ('join', 'leave', 'rename', 'revoke', 'purchase', 'coupon_redeemed') "
            "    ORDER BY m.event_time LIMIT 1) a ON true "
            "ON CONFLICT DO NOTHING", 9, p, NULL))
        qy_log_warn ("msg_id=%s brand=%s complaint not recorded for the summary", ev->msg_id, ev->brand);
}

void moderation_complaint_escalate (qy_pg_t *pg, qy_redis_t *redis, void *actions, const Qy__Event *ev,
                                    const char *topic, long per_store, long per_brand)
{
    char key [200], counter [128];
    char *excerpt = qy_utf8_prefix (ev->text ? ev->text : "", 200);
    s_record (pg, ev, topic, excerpt);
    const char *who = ev->nickname && *ev->nickname ? ev->nickname : ev->member;
    char *text = qy_printf ("顾客投诉（%s）：群 %s，成员 %s（%s）：%s 请店长跟进回复，不要处罚顾客。",
                            topic, ev->group, who, ev->member, excerpt);
    qy_snprintf (key, sizeof (key), "alert:complaint:%lld:%s", (long long) ev->brand_id, ev->msg_id);
    //  It names the member: on the official edge it becomes the owner's
    //  task to answer them (notifier_tasks_route).
    moderation_alert_t a = { key, ev->brand, ev->brand_id, ev->group, ev->group_id, text, "complaint", ev->msg_id,
                             ev->member };
    moderation_alert (actions, &a);
    free (text);
    free (excerpt);
    long long hour = (long long) (ev->event_time_us / 3600000000LL);
    moderation_complaint_counter (counter, sizeof (counter), ev->brand_id, true, ev->store_id, ev->group_id,
                                  ev->event_time_us);
    long long n = moderation_window_incr (redis, counter, 7200);
    if (per_store > 0 && n == per_store) {
        //  The alert names the group: it is routed to the robot of the group's store
        text = qy_printf ("群 %s 所在门店一小时内收到 %lld 条顾客投诉（最新：%s），请店长关注。", ev->group, n, topic);
        qy_snprintf (key, sizeof (key), "alert:complaint_surge:%lld:%s%lld:%lld", (long long) ev->brand_id,
                     ev->store_id ? "s" : "g", (long long) (ev->store_id ? ev->store_id : ev->group_id), hour);
        moderation_alert_event (actions, ev, key, false, text, "complaint_surge");
        free (text);
    }
    moderation_complaint_counter (counter, sizeof (counter), ev->brand_id, false, 0, 0, ev->event_time_us);
    n = moderation_window_incr (redis, counter, 7200);
    if (per_brand > 0 && n == per_brand) {
        text = qy_printf ("品牌一小时内收到 %lld 条顾客投诉（最新：%s，群 %s），请总部关注。", n, topic, ev->group);
        qy_snprintf (key, sizeof (key), "alert:complaint_surge:%lld:brand:%lld", (long long) ev->brand_id, hour);
        moderation_alert_event (actions, ev, key, true, text, "complaint_surge");
        free (text);
    }
}

//  Escalate one complaint to HQ (once, whichever replica gets there first).
static void s_escalate (qy_pg_t *pg, void *actions, PGresult *res, int r)
{
    const char *p [] = { PQgetvalue (res, r, 0), PQgetvalue (res, r, 1) };
    PGresult *mark;
    if (!qy_pg_run (pg, "complaint escalate", "UPDATE complaints SET escalated_at = now () WHERE brand_id = $1 "
                    "AND msg_id = $2 AND escalated_at IS NULL RETURNING 1", 2, p, &mark))
        return;
    bool mine = PQntuples (mark) > 0;
    PQclear (mark);
    if (!mine)
        return;
    const char *msg = PQgetvalue (res, r, 1), *group = PQgetvalue (res, r, 5), *member = PQgetvalue (res, r, 6);
    long long waited = (qy_now_us () - qy_pg_int (res, r, 3)) / 60000000;
    char key [200];
    qy_snprintf (key, sizeof (key), "alert:complaint:%s:%s:hq", PQgetvalue (res, r, 0), msg);
    char *text = qy_printf ("升级提醒：群 %s 的顾客 %s 的投诉（%s）已 %lld 分钟无人回复处理（门店已提醒）：%s", group, member,
                            PQgetvalue (res, r, 7), waited, PQgetvalue (res, r, 8));
    moderation_alert_t a = { key, PQgetvalue (res, r, 4), qy_pg_int (res, r, 0), "", 0, text, "complaint", msg, member };
    if (moderation_alert (actions, &a) == 0)
        qy_log_info ("msg_id=%s brand=%s member=%s complaint unresolved after %lld min: escalated", msg, a.brand, member, waited);
    free (text);
}

void moderation_complaints_sweep (moderation_store_t *store, qy_pg_t *pg, void *actions)
{
    PGresult *res;
    //  Complaints of the last day still open and not yet escalated, that
    //  arrived fresh (a backfill or a replay is history), oldest first.
    if (!qy_pg_run (pg, "complaints due",
            "SELECT c.brand_id, c.msg_id, c.group_id, (extract (epoch FROM c.event_time) * 1000000)::bigint, b.code, "
            "       coalesce (g.code, ''), coalesce (m.user_id, ''), c.topic, c.excerpt "
            "FROM complaints c JOIN brands b ON b.id = c.brand_id LEFT JOIN groups g ON g.id = c.group_id "
            "LEFT JOIN members m ON m.id = c.member_id "
            "WHERE c.resolved_at IS NULL AND c.escalated_at IS NULL AND c.event_time > now () - interval '1 day' "
            "  AND c.arrived_at < c.event_time + interval '5 minutes' "
            "ORDER BY c.event_time LIMIT 500", 0, NULL, &res))
        return;
    int64_t now = qy_now_us ();
    for (int r = 0; r < PQntuples (res); r++) {
        moderation_brand_t *brand = moderation_store_brand (store, qy_pg_int (res, r, 0));
        const moderation_policy_t *pol = brand ? moderation_store_policy (store, brand, qy_pg_int (res, r, 2)) : NULL;
        //  The store was told at once: as for a waiting question, still
        //  open answer.escalate_s later (in business hours) HQ is told.
        if (pol && moderation_question_due (pol, qy_pg_int (res, r, 3), true, now, brand->tz_offset_min)
                   == MODERATION_DUE_ESCALATE)
            s_escalate (pg, actions, res, r);
    }
    PQclear (res);
}
