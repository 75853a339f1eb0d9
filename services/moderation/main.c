//  qy-moderation: pulls events from the bus, judges them, counts behaviour
//  in Redis (one pipelined script call per event), records violations,
//  sends actions to notifier and passes every event on to scoring.
#include "moderation.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/deadletter.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *zmq_in, *zmq_out, *zmq_actions;
    long  hwm, batch;
    char *model_dir;
    char *opencc;
} moderation_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (moderation_config_t),
    { "zmq.in",      QY_STR, offsetof (moderation_config_t, zmq_in),      "tcp://bus:5551", 0, 0, "bus back of the moderation hop" },
    { "zmq.out",     QY_STR, offsetof (moderation_config_t, zmq_out),     "tcp://bus:5552", 0, 0, "bus front of the scoring hop" },
    { "zmq.actions", QY_STR, offsetof (moderation_config_t, zmq_actions), "tcp://bus:5556", 0, 0, "bus front of the notifier hop" },
    { "zmq.hwm",     QY_INT, offsetof (moderation_config_t, hwm),         "20000", 100, 10000000, "high-water mark per socket" },
    { "batch.max",   QY_INT, offsetof (moderation_config_t, batch),       "256", 1, 10000, "events judged per Redis pipeline" },
    { "model.dir",   QY_STR, offsetof (moderation_config_t, model_dir),   "", 0, 0, "directory of ad.model and abuse.model (empty: built-in default)" },
    { "opencc.config", QY_STR, offsetof (moderation_config_t, opencc),    "/usr/share/opencc/t2s.json", 0, 0, "OpenCC traditional→simplified config" },
};

//  Redis, one call per event. KEYS: flood zset, mute key, block set (all
//  tagged by brand). ARGV: msg_id, event time ms, flood window ms (0: no
//  flood count), member id. Reply: {flood count, mute end (unix µs, 0 when
//  not muted), blocked}. The mute key holds its own end, so every replica
//  names the same mute the same way.
//  Flood counts are a sorted set of message ids, so a replayed message is
//  counted once.
static qy_script_t s_check = { .source =
    "local n = 0\n"
    "local w = tonumber(ARGV[3])\n"
    "if w > 0 then\n"
    "  local t = tonumber(ARGV[2])\n"
    "  redis.call('ZADD', KEYS[1], t, ARGV[1])\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - w * 4)\n"
    "  n = redis.call('ZCOUNT', KEYS[1], t - w + 1, t)\n"
    "  redis.call('PEXPIRE', KEYS[1], w * 4)\n"
    "end\n"
    "local mute_end = tonumber(redis.call('GET', KEYS[2]) or 0)\n"
    "local blocked = redis.call('SISMEMBER', KEYS[3], ARGV[4])\n"
    "return {n, mute_end, blocked}\n" };

static qy_metric_t *m_in, *m_viol, *m_actions, *m_latency, *m_bad, *m_muted, *m_blocked_join;

typedef struct {
    Qy__Event          *ev;
    moderation_brand_t *brand;
    judge_result_t      judged;
    bool                judged_ok;
    long                flood;
    int64_t             mute_until_us;   //  0: not muted
    bool                blocked;
    //  decided
    judge_action_t      level;
    double              total;
    bool                flood_hit;
    const char         *category;
    moderation_record_t rec;
    size_t              idx;          //  arrival order in the batch
    bool                superseded;   //  an earlier item of the batch already muted or blocked the member
} s_item_t;

static bool s_is_chat (Qy__Kind k)
{
    return k >= QY__KIND__TEXT && k <= QY__KIND__QRCODE && k != QY__KIND__REVOKE;
}

static const char *s_msgtype (Qy__Kind k)
{
    switch (k) {
        case QY__KIND__IMAGE: return "image";
        case QY__KIND__LINK: return "link";
        case QY__KIND__WEAPP: return "weapp";
        case QY__KIND__CARD: return "card";
        case QY__KIND__REDPACKET: return "redpacket";
        case QY__KIND__FILE: return "file";
        case QY__KIND__VOICE: return "voice";
        case QY__KIND__VIDEO: return "video";
        case QY__KIND__EMOTION: return "emotion";
        case QY__KIND__QRCODE: return "qrcode";
        default: return "text";
    }
}

static const char *s_role (Qy__Role r)
{
    switch (r) {
        case QY__ROLE__STAFF: return "staff";
        case QY__ROLE__ADMIN: return "admin";
        case QY__ROLE__OWNER: return "owner";
        default: return "member";
    }
}

static void s_action (void *out, const Qy__Event *ev, Qy__Action action, const char *suffix,
                      const char *text, int64_t until_us, const char *reason)
{
    Qy__Delivery d = QY__DELIVERY__INIT;
    char key [256];
    qy_snprintf (key, sizeof (key), "mod:%lld:%s:%s", (long long) ev->brand_id, ev->msg_id, suffix);
    d.key = key;
    d.brand = ev->brand;
    d.brand_id = ev->brand_id;
    d.group_id = ev->group_id;
    d.group = ev->group;
    d.priority = QY__PRIORITY__P_ACTION;
    d.kind = "action";
    d.action = action;
    d.member = ev->member;
    d.target_msg_id = action == QY__ACTION__RECALL ? ev->msg_id : "";
    d.until_us = until_us;
    d.text = (char *) (text ? text : "");
    d.reason = (char *) (reason ? reason : "");
    d.source = "moderation";
    d.event_id = ev->msg_id;
    d.created_us = qy_now_us ();
    if (qy_service_send (out, &d.base) == 0)
        qy_metric_add (m_actions, 1);
}

//  A muted member's message: recall it, and tell the member once per mute.
static void s_muted (void *actions, s_item_t *it, Qy__Verdict *v)
{
    Qy__Event *ev = it->ev;
    int64_t until = it->mute_until_us;
    v->action = QY__ACTION__RECALL;
    v->category = "mute";
    v->mute_until_us = until;
    s_action (actions, ev, QY__ACTION__RECALL, "recall", NULL, 0, "muted");
    //  One notice per mute: the key names the mute (member and its end, to the minute).
    Qy__Delivery d = QY__DELIVERY__INIT;
    char key [256];
    qy_snprintf (key, sizeof (key), "mute-notice:%lld:%lld:%lld", (long long) ev->brand_id,
                 (long long) ev->member_id, (long long) until);
    char *notice = moderation_mute_reminder (ev->nickname, until, it->brand->tz_offset_min);
    d.key = key; d.brand = ev->brand; d.brand_id = ev->brand_id; d.group_id = ev->group_id; d.group = ev->group;
    d.priority = QY__PRIORITY__P_ACTION; d.kind = "action"; d.action = QY__ACTION__WARN; d.member = ev->member;
    d.text = notice; d.reason = "muted"; d.source = "moderation"; d.event_id = ev->msg_id; d.created_us = qy_now_us ();
    d.until_us = until;
    qy_service_send (actions, &d.base);
    free (notice);
    qy_metric_add (m_muted, 1);
}

//  Level, total and category of an item that is neither muted nor blocked.
static void s_decide (s_item_t *it)
{
    moderation_policy_t *pol = &it->brand->policy;
    it->level = moderation_level (pol, it->judged_ok ? it->judged.total : 0, it->flood, &it->total);
    it->flood_hit = pol->flood_rule [0] && !pol->flood_dry_run && it->flood > pol->flood_max;
    //  The category is the judge's top one, unless flooding weighs more.
    bool judged = it->judged_ok && it->judged.top != QY_CAT__COUNT;
    it->category = judged ? judge_category_name (it->judged.top) : "flood";
    if (it->flood_hit && judged && pol->flood_weight > it->judged.score [it->judged.top])
        it->category = "flood";
}

static int s_cmp_member (const void *a, const void *b)
{
    const s_item_t *x = *(s_item_t *const *) a, *y = *(s_item_t *const *) b;
    if (x->ev->brand_id != y->ev->brand_id)
        return x->ev->brand_id < y->ev->brand_id ? -1 : 1;
    if (x->ev->member_id != y->ev->member_id)
        return x->ev->member_id < y->ev->member_id ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

//  Record the batch's violations in one transaction, in member order,
//  retrying while PostgreSQL is away: no event moves on before its verdict
//  is durable. Returns 0, or -1 when stopping.
static int s_record (moderation_store_t *store, qy_pg_t *pg, s_item_t **todo, size_t n)
{
    qsort (todo, n, sizeof (s_item_t *), s_cmp_member);
    while (true) {
        bool ok = moderation_store_begin (store) == 0;
        for (size_t i = 0; ok && i < n; i++) {
            s_item_t *it = todo [i];
            //  As if one at a time: once a member is muted or blocked, their
            //  later messages in this batch are recalled, not judged again.
            s_item_t *prev = i ? todo [i - 1] : NULL;
            it->superseded = prev && prev->ev->brand_id == it->ev->brand_id && prev->ev->member_id == it->ev->member_id
                          && (prev->superseded || prev->rec.penalty.action == QY__ACTION__MUTE
                              || prev->rec.penalty.action == QY__ACTION__BLOCK);
            if (it->superseded)
                continue;
            moderation_violation_t viol = { it->ev, it->judged_ok ? &it->judged : NULL, it->category, it->total,
                                            it->level, it->flood_hit, it->brand->policy.flood_rule,
                                            it->brand->policy.flood_weight };
            ok = moderation_store_record (store, it->brand, &viol, &it->rec) == 0;
        }
        if (ok && moderation_store_commit (store) == 0)
            return 0;
        moderation_store_rollback (store);
        qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
        qy_service_heartbeat ();
        if (!qy_service_running ())
            return -1;
        qy_sleep_ms (200);
    }
}

//  Apply a recorded violation: Redis state, actions to notifier, verdict.
static void s_apply (qy_redis_t *redis, void *actions, s_item_t *it, Qy__Verdict *v)
{
    Qy__Event *ev = it->ev;
    moderation_record_t *rec = &it->rec;
    qy_metric_add (m_viol, 1);
    v->category = (char *) it->category;
    v->violation_id = rec->violation_id;
    v->action = rec->penalty.action;
    v->mute_until_us = rec->mute_until_us;
    qy_log_info ("msg=%s brand=%s member=%s action=%s level=%s category=%s score=%.2f strike=%d violation=%lld%s",
                 ev->msg_id, ev->brand, ev->member, protobuf_c_enum_descriptor_get_value (&qy__action__descriptor, v->action)->name,
                 judge_action_name (it->level), it->category, it->total, rec->strike, (long long) rec->violation_id,
                 rec->existed ? " replay=1" : "");
    if (rec->penalty.action == QY__ACTION__REVIEW || rec->penalty.action == QY__ACTION__ALLOW)
        return;
    char bkey [64], mkey [64], mid [24];
    qy_snprintf (bkey, sizeof (bkey), "block:{b:%lld}", (long long) ev->brand_id);
    qy_snprintf (mkey, sizeof (mkey), "mute:{b:%lld}:%lld", (long long) ev->brand_id, (long long) ev->member_id);
    qy_snprintf (mid, sizeof (mid), "%lld", (long long) ev->member_id);
    if (rec->penalty.recall)
        s_action (actions, ev, QY__ACTION__RECALL, "recall", NULL, 0, it->category);
    char *notice = moderation_notice (&rec->penalty, ev->nickname, it->category, rec->strike, rec->mute_until_us,
                                      it->brand->tz_offset_min);
    if (rec->penalty.action == QY__ACTION__WARN)
        s_action (actions, ev, QY__ACTION__WARN, "warn", notice, 0, it->category);
    else
    if (rec->penalty.action == QY__ACTION__MUTE) {
        int64_t ms = (rec->mute_until_us - qy_now_us ()) / 1000;
        if (ms > 0) {
            redisReply *r = qy_redis_cmd (redis, "SET %s %lld PX %lld", mkey, (long long) rec->mute_until_us, (long long) ms);
            if (r)
                freeReplyObject (r);
        }
        s_action (actions, ev, QY__ACTION__MUTE, "mute", notice, rec->mute_until_us, it->category);
    }
    else
    if (rec->penalty.action == QY__ACTION__BLOCK) {
        redisReply *r = qy_redis_cmd (redis, "SADD %s %s", bkey, mid);
        if (r)
            freeReplyObject (r);
        s_action (actions, ev, QY__ACTION__REMOVE, "remove", notice, 0, it->category);
    }
    free (notice);
}

//  Put active mutes and blocks back into Redis (Redis may have restarted
//  empty: PostgreSQL is the record).
static void s_restore (qy_pg_t *pg, qy_redis_t *redis)
{
    PGresult *res;
    if (qy_pg_run (pg, "restore blocks", "SELECT brand_id, member_id FROM blocks WHERE lifted_at IS NULL", 0, NULL, &res)) {
        for (int r = 0; r < PQntuples (res); r++) {
            redisReply *rep = qy_redis_cmd (redis, "SADD block:{b:%s} %s", PQgetvalue (res, r, 0), PQgetvalue (res, r, 1));
            if (rep)
                freeReplyObject (rep);
        }
        PQclear (res);
    }
    if (qy_pg_run (pg, "restore mutes",
            "SELECT brand_id, member_id, (extract (epoch FROM max (mute_until) - now ()) * 1000)::bigint, "
            "       (extract (epoch FROM max (mute_until)) * 1000000)::bigint FROM violations "
            "WHERE mute_until > now () AND status <> 'overturned' GROUP BY brand_id, member_id", 0, NULL, &res)) {
        for (int r = 0; r < PQntuples (res); r++) {
            redisReply *rep = qy_redis_cmd (redis, "SET mute:{b:%s}:%s %s PX %s", PQgetvalue (res, r, 0),
                                            PQgetvalue (res, r, 1), PQgetvalue (res, r, 3), PQgetvalue (res, r, 2));
            if (rep)
                freeReplyObject (rep);
        }
        PQclear (res);
    }
}

static void s_listen (PGconn *conn, moderation_store_t *store)
{
    PQconsumeInput (conn);
    PGnotify *n;
    while ((n = PQnotifies (conn))) {
        const char *colon = strchr (n->extra, ':');
        int64_t brand = colon ? strtoll (colon + 1, NULL, 10) : 0;
        if (strncmp (n->extra, "rules:", 6) == 0 || strncmp (n->extra, "brands:", 7) == 0)
            moderation_store_invalidate (store, brand);
        PQfreemem (n);
    }
}

static void s_batch (moderation_config_t *cfg, moderation_store_t *store, qy_pg_t *pg, qy_redis_t *redis,
                     void *out, void *actions, s_item_t *items, size_t n)
{
    (void) cfg;
    //  Phase 1: brand rules (waiting for PostgreSQL if needed), judgement, Redis calls.
    int pipelined = 0;
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = &items [i];
        Qy__Event *ev = it->ev;
        while (!(it->brand = moderation_store_brand (store, ev->brand_id))) {
            qy_service_set_dep (QY_DEP_PG, qy_pg_ok (pg));
            qy_service_heartbeat ();
            if (!qy_service_running ())
                return;
            qy_sleep_ms (500);
        }
        moderation_policy_t *pol = &it->brand->policy;
        bool staff = ev->role == QY__ROLE__STAFF || ev->role == QY__ROLE__ADMIN || ev->role == QY__ROLE__OWNER
                  || ev->role == QY__ROLE__BOT;
        if (s_is_chat (ev->kind) && !(staff && pol->exempt_staff)) {
            judge_input_t in = { ev->text ? ev->text : "", (size_t) -1, s_msgtype (ev->kind), s_role (ev->role),
                                 pol->exempt_staff, ev->at_all };
            it->judged_ok = judge_eval (it->brand->judge, &in, &it->judged) == 0;
            //  The normalized text pointer is only valid until the next call.
            it->judged.normalized = NULL;
        }
        char fk [96], mk [64], bk [48], t [24], w [24], mid [24];
        qy_snprintf (fk, sizeof (fk), "fl:{b:%lld}:%lld:%lld", (long long) ev->brand_id, (long long) ev->group_id, (long long) ev->member_id);
        qy_snprintf (mk, sizeof (mk), "mute:{b:%lld}:%lld", (long long) ev->brand_id, (long long) ev->member_id);
        qy_snprintf (bk, sizeof (bk), "block:{b:%lld}", (long long) ev->brand_id);
        qy_snprintf (t, sizeof (t), "%lld", (long long) (ev->event_time_us / 1000));
        bool count = s_is_chat (ev->kind) && pol->flood_rule [0] && !(staff && pol->exempt_staff);
        qy_snprintf (w, sizeof (w), "%d", count ? pol->flood_window_s * 1000 : 0);
        qy_snprintf (mid, sizeof (mid), "%lld", (long long) ev->member_id);
        const char *args [] = { fk, mk, bk, ev->msg_id, t, w, mid };
        if (qy_redis_append_script (redis, &s_check, 3, 7, args, NULL) == 0)
            pipelined++;
        else
            break;
    }
    //  Phase 2: replies. If Redis is away we judge content alone (logged, and /health says so).
    bool redis_ok = pipelined == (int) n;
    for (int i = 0; i < pipelined; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r) {
            redis_ok = false;
            break;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
            items [i].flood = r->element [0]->integer;
            items [i].mute_until_us = r->element [1]->integer;
            items [i].blocked = r->element [2]->integer == 1;
        }
        else
        if (r->type == REDIS_REPLY_ERROR && strncmp (r->str, "NOSCRIPT", 8) == 0) {
            s_check.sha [0] = 0;       //  reload for the next batch; this one counts without Redis
            redis_ok = false;
        }
        freeReplyObject (r);
    }
    qy_service_set_dep (QY_DEP_REDIS, redis_ok && qy_redis_ok (redis));
    //  Phase 3: decide; record the batch's violations in one transaction.
    s_item_t **todo = qy_calloc (n, sizeof (s_item_t *));
    size_t ntodo = 0;
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = &items [i];
        it->idx = i;
        it->superseded = false;
        it->level = JUDGE_ALLOW;
        if (!it->blocked && !(s_is_chat (it->ev->kind) && it->mute_until_us > qy_now_us ())) {
            s_decide (it);
            if (it->level != JUDGE_ALLOW)
                todo [ntodo++] = it;
        }
    }
    int recorded = ntodo ? s_record (store, pg, todo, ntodo) : 0;
    free (todo);
    if (recorded)
        return;
    //  Phase 4: act and pass on, in arrival order.
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = &items [i];
        Qy__Event *ev = it->ev;
        Qy__Verdict v = QY__VERDICT__INIT;
        v.action = QY__ACTION__ALLOW;
        v.category = "";
        Qy__Hit hits [JUDGE_MAX_HITS], *hp [JUDGE_MAX_HITS];
        //  A penalty decided earlier in this batch applies to what follows.
        for (size_t j = 0; j < i; j++) {
            s_item_t *e = &items [j];
            if (e->ev->brand_id != ev->brand_id || e->ev->member_id != ev->member_id || e->superseded || e->level == JUDGE_ALLOW)
                continue;
            if (e->rec.penalty.action == QY__ACTION__BLOCK)
                it->blocked = true;
            else
            if (e->rec.penalty.action == QY__ACTION__MUTE && !it->blocked)
                it->mute_until_us = e->rec.mute_until_us;
        }
        if (ev->kind == QY__KIND__JOIN && it->blocked) {
            v.action = QY__ACTION__REMOVE;
            v.category = "blocked";
            s_action (actions, ev, QY__ACTION__REMOVE, "remove", "", 0, "blocked");
            qy_metric_add (m_blocked_join, 1);
            qy_log_info ("msg=%s brand=%s member=%s blocked member joined, removing", ev->msg_id, ev->brand, ev->member);
        }
        else
        if (s_is_chat (ev->kind) && it->blocked) {
            //  The gateway has not removed a blocked member yet: recall, and remove from this group once.
            v.action = QY__ACTION__REMOVE;
            v.category = "blocked";
            s_action (actions, ev, QY__ACTION__RECALL, "recall", NULL, 0, "blocked");
            char *saved = ev->msg_id;
            char once [160];
            qy_snprintf (once, sizeof (once), "blocked-%lld-%lld", (long long) ev->group_id, (long long) ev->member_id);
            ev->msg_id = once;
            s_action (actions, ev, QY__ACTION__REMOVE, "remove", "", 0, "blocked");
            ev->msg_id = saved;
        }
        else
        if (s_is_chat (ev->kind) && it->mute_until_us > qy_now_us ())
            s_muted (actions, it, &v);
        else {
            v.score = it->total;
            if (it->judged_ok)
                for (size_t h = 0; h < it->judged.nhits; h++) {
                    qy__hit__init (&hits [h]);
                    hits [h].rule = (char *) it->judged.hits [h].rule;
                    hits [h].category = (char *) judge_category_name (it->judged.hits [h].category);
                    hits [h].weight = it->judged.hits [h].weight;
                    hits [h].dry_run = it->judged.hits [h].dry_run;
                    hits [h].span_start = (uint32_t) it->judged.hits [h].start;
                    hits [h].span_end = (uint32_t) it->judged.hits [h].end;
                    hp [h] = &hits [h];
                    v.n_hits++;
                }
            v.hits = hp;
            if (it->level != JUDGE_ALLOW)
                s_apply (redis, actions, it, &v);
        }
        int64_t now = qy_now_us ();
        if (ev->ingest_time_us)
            qy_metric_observe (m_latency, now - ev->ingest_time_us);
        ev->verdict = &v;
        Qy__Stamp stamp = QY__STAMP__INIT, *sp = &stamp;
        stamp.stage = "moderation";
        stamp.at_us = now;
        Qy__Stamp **old = ev->trace;
        size_t nold = ev->n_trace;
        Qy__Stamp **tr = qy_calloc (nold + 1, sizeof (Qy__Stamp *));
        memcpy (tr, old, nold * sizeof (Qy__Stamp *));
        tr [nold] = sp;
        ev->trace = tr;
        ev->n_trace = nold + 1;
        qy_service_send (out, &ev->base);
        ev->trace = old;
        ev->n_trace = nold;
        ev->verdict = NULL;
        free (tr);
        qy_metric_add (m_in, 1);
    }
}

int main (int argc, char **argv)
{
    moderation_config_t cfg = { 0 };
    qy_service_start ("moderation", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    m_in = qy_counter ("qy_moderation_events_total", "events judged and passed on");
    m_viol = qy_counter ("qy_moderation_violations_total", "violations recorded (review or worse)");
    m_actions = qy_counter ("qy_moderation_actions_total", "actions sent to notifier");
    m_muted = qy_counter ("qy_moderation_muted_messages_total", "messages recalled because the sender is muted");
    m_blocked_join = qy_counter ("qy_moderation_blocked_joins_total", "blocked members removed on join");
    m_bad = qy_counter ("qy_moderation_malformed_total", "undecodable events set aside");
    m_latency = qy_summary ("qy_ingest_to_verdict_seconds", "from ingest acceptance to verdict");
    qy_service_needs (QY_DEP_PG);
    qy_service_needs (QY_DEP_REDIS);

    char ad_model [1024] = "", abuse_model [1024] = "";
    if (cfg.model_dir [0]) {
        qy_snprintf (ad_model, sizeof (ad_model), "%s/ad.model", cfg.model_dir);
        qy_snprintf (abuse_model, sizeof (abuse_model), "%s/abuse.model", cfg.model_dir);
    }
    else {
        judge_model_default_path ("ad", ad_model, sizeof (ad_model));
        judge_model_default_path ("abuse", abuse_model, sizeof (abuse_model));
    }
    //  A missing model is not fatal: the rules still run; the classifier
    //  rules of a brand then never hit, and /metrics says the model is absent.
    qy_metric_t *m_models = qy_gauge ("qy_moderation_models_loaded", "classifier models found at start-up (ad, abuse)");
    const char *ad_path = access (ad_model, R_OK) == 0 ? ad_model : NULL;
    const char *abuse_path = access (abuse_model, R_OK) == 0 ? abuse_model : NULL;
    if (!ad_path || !abuse_path)
        qy_log_error ("classifier model missing ad=%s abuse=%s: running without it", ad_path ? "ok" : ad_model,
                      abuse_path ? "ok" : abuse_model);
    qy_metric_set (m_models, (ad_path != NULL) + (abuse_path != NULL));
    judge_options_t jo = { cfg.opencc, ad_path, abuse_path };
    qy_log_info ("models ad=%s abuse=%s", ad_path ? ad_path : "none", abuse_path ? abuse_path : "none");

    qy_pg_t *pg = qy_pg_new (cfg.common.pg_dsn);
    qy_pg_t *listen = qy_pg_new (cfg.common.pg_dsn);
    qy_redis_t *redis = qy_redis_new (cfg.common.redis_host, (int) cfg.common.redis_port);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (pg));
    moderation_store_t *store = moderation_store_new (pg, &jo);
    s_restore (pg, redis);
    qy_service_set_dep (QY_DEP_REDIS, qy_redis_ok (redis));

    void *ctx = zmq_ctx_new ();
    void *in = qy_zmq_socket (ctx, ZMQ_PULL, (int) cfg.hwm, 0);
    void *out = qy_zmq_socket (ctx, ZMQ_PUSH, (int) cfg.hwm, 5000);
    void *actions = qy_zmq_socket (ctx, ZMQ_PUSH, (int) cfg.hwm, 5000);
    if (qy_zmq_connect (in, cfg.zmq_in) || qy_zmq_connect (out, cfg.zmq_out) || qy_zmq_connect (actions, cfg.zmq_actions))
        return 2;
    s_item_t *items = qy_calloc ((size_t) cfg.batch, sizeof (s_item_t));
    bool listening = false;
    while (qy_service_running ()) {
        qy_service_heartbeat ();
        qy_service_check_deps (pg, redis);
        if (!listening && qy_pg_connect (listen)) {
            PGresult *r = PQexec (qy_pg_conn (listen), "LISTEN qy_config");
            listening = PQresultStatus (r) == PGRES_COMMAND_OK;
            PQclear (r);
            moderation_store_invalidate (store, 0);   //  changes may have been missed while not listening
        }
        zmq_pollitem_t poll [2] = { { in, 0, ZMQ_POLLIN, 0 }, { NULL, listening ? PQsocket (qy_pg_conn (listen)) : -1, ZMQ_POLLIN, 0 } };
        int np = listening ? 2 : 1;
        if (zmq_poll (poll, np, 200) <= 0)
            continue;
        if (listening && (poll [1].revents & ZMQ_POLLIN)) {
            s_listen (qy_pg_conn (listen), store);
            if (PQstatus (qy_pg_conn (listen)) != CONNECTION_OK)
                listening = false;
        }
        size_t n = 0;
        while (n < (size_t) cfg.batch) {
            zmq_msg_t m;
            zmq_msg_init (&m);
            if (zmq_msg_recv (&m, in, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&m);
                break;
            }
            Qy__Event *ev = qy__event__unpack (NULL, zmq_msg_size (&m), zmq_msg_data (&m));
            if (!ev || !ev->brand_id || !ev->msg_id [0]) {
                qy_metric_add (m_bad, 1);
                qy_deadletter (pg, ev ? ev->brand_id : 0, ev ? ev->brand : NULL, "moderation", ev ? ev->msg_id : NULL,
                               ev ? "event without brand_id: not from ingest" : "malformed event: protobuf decode failed",
                               zmq_msg_data (&m), zmq_msg_size (&m));
                if (ev)
                    qy__event__free_unpacked (ev, NULL);
            }
            else {
                memset (&items [n], 0, sizeof (items [n]));
                items [n++].ev = ev;
            }
            zmq_msg_close (&m);
        }
        if (n)
            s_batch (&cfg, store, pg, redis, out, actions, items, n);
        for (size_t i = 0; i < n; i++)
            qy__event__free_unpacked (items [i].ev, NULL);
    }
    free (items);
    zmq_close (in);
    zmq_close (out);
    zmq_close (actions);
    zmq_ctx_term (ctx);
    moderation_store_destroy (&store);
    qy_redis_destroy (&redis);
    qy_pg_destroy (&listen);
    qy_pg_destroy (&pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
