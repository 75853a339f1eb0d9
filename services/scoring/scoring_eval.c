//  The evaluation: every interval, for each group seen, work out each
//  member's standing and the group's health from Redis and the roll-ups,
//  write them to PostgreSQL (absolute values), and send state changes on
//  as signals (campaign hop) and zombie alerts (notifier hop). Groups are
//  taken a page at a time (s_page): Redis per group, PostgreSQL per page.
//
//  Replicas share the work through a lease per group in Redis; a signal
//  sent twice carries the same id (sig:name:group:member:day), so a
//  replica that dies between sending and recording costs nothing.
#include "scoring.h"
#include "scoring_eval_store.h"
#include "qy/event.h"
#include "qy/log.h"
#include "qy/service.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scoring_eval_t {
    scoring_eval_config_t cfg;
    qy_redis_t       *redis;
    qy_pg_t          *pg;
    scoring_brands_t *brands;
    int64_t           signals, alerts;
    char              owner [64];
    char              cursor [32];    //  SSCAN position in sc:groups ("0" = start of a round)
    int64_t           rounds;         //  rounds finished (a sweep every sweep_every)
    bool              sweeping;       //  the round under way walks every group
};

bool scoring_eval_sweep_due (int64_t rounds, int sweep_every)
{
    return sweep_every <= 1 || rounds % sweep_every == 0;
}

scoring_eval_t *scoring_eval_new (const scoring_eval_config_t *cfg, qy_redis_t *redis, qy_pg_t *pg,
                                  scoring_brands_t *brands)
{
    scoring_eval_t *self = qy_calloc (1, sizeof (*self));
    self->cfg = *cfg;
    self->redis = redis;
    self->pg = pg;
    self->brands = brands;
    qy_process_owner (self->owner, sizeof (self->owner));
    qy_strlcpy (self->cursor, "0", sizeof (self->cursor));
    return self;
}

void scoring_eval_destroy (scoring_eval_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

int64_t scoring_eval_signals (scoring_eval_t *self)
{
    return self->signals;
}

int64_t scoring_eval_alerts (scoring_eval_t *self)
{
    return self->alerts;
}

static const char *s_str (redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

//  Load every member of the group from Redis. Returns the count, or -1.
static int s_members (scoring_eval_t *self, const scoring_keys_t *k, int64_t gid, scoring_member_t **out)
{
    *out = NULL;
    redisReply *roster = qy_redis_cmd (self->redis, "SMEMBERS %s", k->roster);
    redisReply *rr = qy_redis_cmd (self->redis, "HGETALL %s", k->replies);
    redisReply *board = qy_redis_cmd (self->redis, "ZREVRANGE %s 0 -1 WITHSCORES", k->board);
    int rc = -1;
    if (!roster || !rr || !board || roster->type != REDIS_REPLY_ARRAY || rr->type != REDIS_REPLY_ARRAY
        || board->type != REDIS_REPLY_ARRAY)
        goto done;
    qy_map_t *counts = qy_map_new ();
    for (size_t i = 0; i + 1 < rr->elements; i += 2)
        qy_map_put (counts, rr->element [i]->str, strtoll (rr->element [i + 1]->str, NULL, 10));
    size_t n = roster->elements;
    scoring_member_t *ms = qy_calloc (n ? n : 1, sizeof (*ms));
    //  One pipeline for all the member hashes.
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char key [96];
        qy_snprintf (key, sizeof (key), "sc:u:{g:%lld}:%s", (long long) gid, roster->element [i]->str);
        const char *argv [2 + SCORING_F__COUNT] = { "HMGET", key };
        for (size_t f = 0; f < SCORING_F__COUNT; f++)
            argv [2 + f] = scoring_field_names [f];
        ok = qy_redis_append_argv (self->redis, 2 + SCORING_F__COUNT, argv, NULL) == 0;
    }
    size_t got = 0;
    for (size_t i = 0; i < n && ok; i++) {
        redisReply *h = qy_redis_get_reply (self->redis);
        if (!h || h->type != REDIS_REPLY_ARRAY || h->elements != SCORING_F__COUNT) {
            if (h)
                freeReplyObject (h);
            qy_redis_disconnect (self->redis);
            ok = false;
            break;
        }
        const char *mid = roster->element [i]->str;
        scoring_member_t *m = &ms [got];
        memset (m, 0, sizeof (*m));
        m->member_id = strtoll (mid, NULL, 10);
        char f [40];
        int64_t v = 0;
        qy_snprintf (f, sizeof (f), "r:%s", mid);
        m->replies = qy_map_get (counts, f, &v) ? v : 0;
        qy_snprintf (f, sizeof (f), "n:%s", mid);
        m->mentions = qy_map_get (counts, f, &v) ? v : 0;
        m->key_score = (double) (m->replies + m->mentions);
        const char *values [SCORING_F__COUNT];
        for (size_t x = 0; x < SCORING_F__COUNT; x++)
            values [x] = s_str (h->element [x]);
        //  A member whose hash expired is gone from the group's memory.
        if (values [SCORING_F_first]) {
            scoring_member_parse (m, values);
            got++;
        }
        freeReplyObject (h);
    }
    qy_map_destroy (&counts);
    if (ok) {
        size_t nb = board->elements / 2;
        int64_t *ids = qy_calloc (nb + 1, sizeof (*ids));
        for (size_t i = 0; i < nb; i++)
            ids [i] = strtoll (board->element [2 * i]->str, NULL, 10);
        scoring_key_ranks (ms, got, ids, nb);
        free (ids);
        *out = ms;
        rc = (int) got;
    }
    else
        free (ms);
done:
    if (roster) freeReplyObject (roster);
    if (rr) freeReplyObject (rr);
    if (board) freeReplyObject (board);
    return rc;
}

//  A signal: a member's or the group's state moved.
typedef struct {
    const char *name;           //  "member.lurker", "group.declining", …
    const char *subject;        //  "member" or "group"
    int64_t     member_id;      //  0 for the group
    const char *user;           //  the member's user id (NULL for the group)
    const char *from, *to;      //  the states
    double      value;
} s_signal_t;

//  Send a signal on the campaign hop. Returns 0 when sent.
static int s_signal (scoring_eval_t *self, const scoring_group_row_t *g, const s_signal_t *sg, int64_t now_s,
                     int32_t today)
{
    const char *name = sg->name, *user = sg->user, *from = sg->from, *to = sg->to;
    int64_t member_id = sg->member_id;
    double value = sg->value;
    char id [160];
    scoring_signal_id (id, sizeof (id), name, g->group_id, member_id, today);
    Qy__Signal sig = QY__SIGNAL__INIT;
    sig.name = (char *) name;
    sig.subject = (char *) sg->subject;
    sig.member_id = member_id;
    sig.group_id = g->group_id;
    sig.from_state = (char *) (from ? from : "");
    sig.to_state = (char *) to;
    sig.value = value;
    sig.at_us = now_s * 1000000;
    Qy__Event ev = QY__EVENT__INIT;
    qy_event_stamp_t stamp;
    qy_event_stamp (&ev, &stamp, "scoring", qy_now_us ());
    ev.brand = (char *) g->brand_code;
    ev.msg_id = id;
    ev.event_time_us = now_s * 1000000;
    ev.ingest_time_us = stamp.stamp.at_us;
    ev.group = (char *) g->code;
    ev.member = (char *) (user ? user : "");
    ev.kind = QY__KIND__SIGNAL;
    ev.brand_id = g->brand_id;
    ev.group_id = g->group_id;
    ev.store_id = g->store_id;
    ev.member_id = member_id;
    ev.signal = &sig;
    bool sent = self->cfg.signals && qy_service_send (self->cfg.signals, &ev.base) == 0;
    qy_event_unstamp (&ev, &stamp);
    if (!sent) {
        qy_log_warn ("msg_id=%s brand=%s group=%s signal=%s not sent: tried again next round", id, g->brand_code, g->code,
                     name);
        return -1;
    }
    self->signals++;
    qy_log_info ("signal changed msg_id=%s brand=%s group=%s signal=%s from=%s to=%s value=%.2f user=%s", id, g->brand_code,
                 g->code, name, from && *from ? from : "-", to, value, user && *user ? user : "-");
    return 0;
}

//  A long-term group became a zombie: tell the operators. Returns 0 when sent.
static int s_alert (scoring_eval_t *self, const scoring_group_row_t *g, const scoring_health_t *h, int32_t today)
{
    char key [160], sig [160];
    scoring_signal_id (sig, sizeof (sig), "group.zombie", g->group_id, 0, today);
    qy_snprintf (key, sizeof (key), "alert:%s", sig + 4);
    char *text = qy_printf ("群「%s」(%s) 已沉寂：近 7 天没有成员发言，健康分 %d，群内 %lld 人。建议激活或清理。",
                            g->name, g->code, h->health, (long long) h->members);
    Qy__Delivery d = QY__DELIVERY__INIT;
    d.key = key;
    d.brand = (char *) g->brand_code;
    d.brand_id = g->brand_id;
    d.group_id = g->group_id;
    d.group = (char *) g->code;
    d.priority = QY__PRIORITY__P_ALERT;
    d.kind = "alert";
    d.text = text;
    d.reason = "group.zombie";
    d.source = "scoring";
    d.event_id = sig;
    d.created_us = qy_now_us ();
    int rc = self->cfg.alerts && qy_service_send (self->cfg.alerts, &d.base) == 0 ? 0 : -1;
    if (rc == 0) {
        self->alerts++;
        qy_log_info ("alert raised msg_id=%s brand=%s group=%s alert=group.zombie health=%d", key, g->brand_code, g->code, h->health);
    }
    else
        qy_log_warn ("msg_id=%s brand=%s group=%s alert=group.zombie not sent: tried again next round", key,
                     g->brand_code, g->code);
    free (text);
    return rc;
}

//  HSET argv on key, and an expiry if the key has none (the HSET may have
//  made it: a key without one would outlive the group). Returns 0 or -1.
static int s_hset (scoring_eval_t *self, const char *key, int argc, const char **argv)
{
    char ttl [24];
    qy_snprintf (ttl, sizeof (ttl), "%ld", self->cfg.member_ttl_s);
    const char *hset [8] = { "HSET", key };
    for (int i = 0; i < argc && i < 6; i++)
        hset [2 + i] = argv [i];
    const char *exp [] = { "EXPIRE", key, ttl, "NX" };
    if (qy_redis_append_argv (self->redis, 2 + argc, hset, NULL) || qy_redis_append_argv (self->redis, 4, exp, NULL))
        return -1;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        redisReply *r = qy_redis_get_reply (self->redis);
        if (!r || r->type == REDIS_REPLY_ERROR)
            rc = -1;
        if (!r) {
            qy_redis_disconnect (self->redis);
            break;
        }
        freeReplyObject (r);
    }
    return rc;
}

//  Renew the expiry of the hashes of the members in the group, once a day:
//  a member who stays silent is still in the group (a lurker), and must not
//  vanish when their own last activity is members.ttl_days old. While the
//  group itself lives (its roster is renewed by its events), so do they.
static int s_renew (scoring_eval_t *self, int64_t gid, const scoring_member_t *ms, int n)
{
    char ttl [24];
    qy_snprintf (ttl, sizeof (ttl), "%ld", self->cfg.member_ttl_s);
    int queued = 0, rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!ms [i].in_group)
            continue;
        char key [96];
        qy_snprintf (key, sizeof (key), "sc:u:{g:%lld}:%lld", (long long) gid, (long long) ms [i].member_id);
        const char *exp [] = { "EXPIRE", key, ttl };
        if (qy_redis_append_argv (self->redis, 3, exp, NULL))
            rc = -1;
        else
            queued++;
    }
    for (int i = 0; i < queued; i++) {
        redisReply *r = qy_redis_get_reply (self->redis);
        if (!r) {
            qy_redis_disconnect (self->redis);
            return -1;
        }
        freeReplyObject (r);
    }
    return rc;
}

//  The group's channel hash, its cohorts older than 30 days folded first.
static redisReply *s_channels (scoring_eval_t *self, const scoring_keys_t *k, int32_t today)
{
    static qy_script_t fold = { .source = NULL };
    fold.source = scoring_fold_lua;
    char cut [16];
    qy_snprintf (cut, sizeof (cut), "%d", (int) (today - 30));
    const char *args [] = { k->channels, cut };
    redisReply *r = qy_redis_script (self->redis, &fold, 1, 2, args, NULL);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp (r->str, "NOSCRIPT", 8) == 0)
        fold.sha [0] = 0;
    return r;
}

//  One group of a page under evaluation, through the phases of s_page.
typedef struct {
    int64_t                bid, gid, now_s;
    int32_t                today;
    const scoring_brand_t *brand;
    scoring_keys_t         k;
    int                    rc;          //  1 still to evaluate, 0 skipped, -1 failed (tried again)
    scoring_group_row_t    g;
    scoring_member_t      *ms;
    scoring_standing_t    *st;
    int                    n;
    int64_t                in_group;
    scoring_health_t       h;
    char                   prev_state [16];
    scoring_channel_t     *chs;
    size_t                 nch;
    scoring_suggestion_t  *cap, *clean;
    size_t                 ncap, nclean;
    int                    needed;
} s_item_t;

//  Phase 1 (Redis): the brand, this replica's lease on the group, the
//  clock, and whether the group still has anything to judge.
static void s_claim (scoring_eval_t *self, s_item_t *it)
{
    it->brand = scoring_brands_get (self->brands, it->bid);
    it->rc = -1;
    if (!it->brand)
        return;
    scoring_keys (&it->k, it->bid, it->gid, 0, 0, 0);
    char lease [16];
    qy_snprintf (lease, sizeof (lease), "%d", self->cfg.lease_ms);
    redisReply *lock = qy_redis_cmd (self->redis, "SET %s %s NX PX %s", it->k.lock, self->owner, lease);
    if (!lock)
        return;
    bool mine = lock->type == REDIS_REPLY_STATUS;
    freeReplyObject (lock);
    it->rc = 0;
    if (!mine)
        return;             //  another replica has it this round
    it->now_s = qy_now_us () / 1000000;
    if (self->cfg.event_clock) {
        redisReply *c = qy_redis_cmd (self->redis, "ZSCORE sc:clock %lld", (long long) it->bid);
        if (!c) {
            it->rc = -1;
            return;
        }
        if (s_str (c))
            it->now_s = strtoll (c->str, NULL, 10);
        freeReplyObject (c);
    }
    it->today = qy_day_of (it->now_s * 1000000, it->brand->tz_offset_min);
    //  The roster lives while the group has events (members.ttl_days): once
    //  it has expired the group has nothing left to judge. An event of the
    //  group counted meanwhile puts it back in sc:groups with its batch.
    redisReply *alive = qy_redis_cmd (self->redis, "EXISTS %s", it->k.roster);
    if (!alive) {
        it->rc = -1;
        return;
    }
    bool gone = alive->type == REDIS_REPLY_INTEGER && alive->integer == 0;
    freeReplyObject (alive);
    if (!gone) {
        it->rc = 1;
        return;
    }
    redisReply *r = qy_redis_cmd (self->redis, "SREM sc:groups %s", it->k.seen);
    if (!r) {
        it->rc = -1;
        return;
    }
    freeReplyObject (r);
    qy_log_info ("brand=%s group_id=%lld no longer in Redis: no longer evaluated", it->brand->code, (long long) it->gid);
}

//  Phase 2 (PostgreSQL, the page at once): the groups' rows; a group that
//  is not its brand's has nothing to judge.
static void s_rows (scoring_eval_t *self, s_item_t *items, size_t n)
{
    int64_t *bids = qy_calloc (n + 1, sizeof (int64_t)), *gids = qy_calloc (n + 1, sizeof (int64_t));
    scoring_group_row_t *rows = qy_calloc (n + 1, sizeof (*rows));
    bool *found = qy_calloc (n + 1, sizeof (bool));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items [i].rc == 1) {
            bids [m] = items [i].bid;
            gids [m++] = items [i].gid;
        }
    int rc = m ? scoring_store_groups (self->pg, bids, gids, m, rows, found) : 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (items [i].rc != 1)
            continue;
        if (rc)
            items [i].rc = -1;
        else if (!found [j])
            items [i].rc = 0;
        else {
            items [i].g = rows [j];
            qy_strlcpy (items [i].g.brand_code, items [i].brand->code, sizeof (items [i].g.brand_code));
        }
        j++;
    }
    free (bids);
    free (gids);
    free (rows);
    free (found);
}

//  Phase 3 (Redis): the members and their standing.
static void s_standing (scoring_eval_t *self, s_item_t *it)
{
    it->n = s_members (self, &it->k, it->gid, &it->ms);
    if (it->n < 0) {
        it->rc = -1;
        it->n = 0;
        return;
    }
    const scoring_settings_t *set = &it->brand->settings;
    it->st = qy_calloc ((size_t) it->n + 1, sizeof (*it->st));
    for (int i = 0; i < it->n; i++) {
        scoring_member_standing (set, &it->ms [i], it->now_s, it->today, self->cfg.half_short_s, self->cfg.half_long_s,
                                 &it->st [i]);
        it->in_group += it->ms [i].in_group;
    }
}

//  Phase 4 (PostgreSQL, the page at once): each group's health from its roll-ups.
static void s_health (scoring_eval_t *self, s_item_t *items, size_t n)
{
    const scoring_group_row_t **g = qy_calloc (n + 1, sizeof (*g));
    int32_t *today = qy_calloc (n + 1, sizeof (int32_t));
    scoring_group_input_t *in = qy_calloc (n + 1, sizeof (*in));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items [i].rc == 1) {
            g [m] = &items [i].g;
            today [m++] = items [i].today;
        }
    int rc = m ? scoring_store_inputs (self->pg, g, today, m, in) : 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (items [i].rc != 1)
            continue;
        if (rc)
            items [i].rc = -1;      //  without the health there is no floor to judge by
        else {
            in [j].members = items [i].in_group;
            in [j].type = items [i].g.type;
            scoring_group_health (&in [j], &items [i].h);
        }
        j++;
    }
    if (rc == 0)
        scoring_store_inputs_free (in, m);
    free (in);
    free (today);
    free (g);
}

//  Phase 5 (Redis): the state last signalled, the daily renewal of the
//  members' keys, the channels (cohorts folded) and the suggestions.
static void s_prepare (scoring_eval_t *self, s_item_t *it)
{
    redisReply *prev = qy_redis_cmd (self->redis, "HMGET %s state rd", it->k.state);
    bool renew = false;
    if (prev && prev->type == REDIS_REPLY_ARRAY && prev->elements == 2) {
        if (s_str (prev->element [0]))
            qy_strlcpy (it->prev_state, prev->element [0]->str, sizeof (it->prev_state));
        renew = !s_str (prev->element [1]) || strtol (prev->element [1]->str, NULL, 10) != it->today;
    }
    else
        it->rc = -1;
    if (prev)
        freeReplyObject (prev);
    if (it->rc == 1 && renew && s_renew (self, it->gid, it->ms, it->n) == 0) {
        char day [16];
        qy_snprintf (day, sizeof (day), "%d", (int) it->today);
        s_hset (self, it->k.state, 2, (const char *[]) { "rd", day });
    }
    redisReply *ch = it->rc == 1 ? s_channels (self, &it->k, it->today) : NULL;
    if (ch && ch->type == REDIS_REPLY_ARRAY) {
        size_t np = ch->elements / 2;
        const char **names = qy_calloc (np + 1, sizeof (char *)), **values = qy_calloc (np + 1, sizeof (char *));
        for (size_t i = 0; i < np; i++) {
            names [i] = ch->element [2 * i]->str;
            values [i] = ch->element [2 * i + 1]->str;
        }
        it->nch = scoring_channels_fold (names, values, np, it->today, &it->chs);
        free (names);
        free (values);
    }
    else
        it->rc = -1;
    if (ch)
        freeReplyObject (ch);
    if (it->rc != 1)
        return;
    const scoring_settings_t *set = &it->brand->settings;
    size_t max = (size_t) set->suggest_max;
    it->cap = qy_calloc (max + 1, sizeof (*it->cap));
    it->clean = qy_calloc (max + 1, sizeof (*it->clean));
    it->ncap = scoring_capacity_list (set, it->ms, it->st, (size_t) it->n, it->g.capacity, it->today, it->cap, max,
                                      &it->needed);
    it->nclean = scoring_cleanout_list (set, it->ms, it->st, (size_t) it->n, it->h.msgs_per_day, it->today, it->clean, max);
}

static scoring_evaluation_t s_evaluation (const s_item_t *it)
{
    return (scoring_evaluation_t) { &it->g, it->today, it->ms, it->st, (size_t) it->n, &it->h, it->chs, it->nch,
                                    it->cap, it->ncap, it->needed, it->clean, it->nclean };
}

//  Phase 6 (PostgreSQL): the page's evaluations in one transaction; if it
//  fails, each alone, so that a group refused for its data holds up no other.
static void s_write (scoring_eval_t *self, s_item_t *items, size_t n)
{
    scoring_evaluation_t *e = qy_calloc (n + 1, sizeof (*e));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items [i].rc == 1)
            e [m++] = s_evaluation (&items [i]);
    if (m > 0 && scoring_store_write (self->pg, e, m) != 0)
        for (size_t i = 0; i < n; i++)
            if (items [i].rc == 1) {
                scoring_evaluation_t one = s_evaluation (&items [i]);
                if (m == 1 || scoring_store_write (self->pg, &one, 1) != 0)
                    items [i].rc = -1;
            }
    free (e);
}

//  The signal a member's change calls for, or NULL (no change, no signal,
//  or staff: they are not the audience of campaign's member playbooks).
static const char *s_member_change (const scoring_member_t *m, const scoring_standing_t *st, bool *changed)
{
    *changed = strcmp (m->state, st->state) != 0 || m->trust_level != st->trust_level;
    return *changed && !m->staff ? scoring_member_signal (m->state, st->state) : NULL;
}

//  The gateway's user ids of the members the page signals, in one
//  statement (a member's signal carries it): "member id" → row of res.
typedef struct {
    qy_map_t *row;
    PGresult *res;
} s_users_t;

static void s_users (scoring_eval_t *self, const s_item_t *items, size_t n, s_users_t *u)
{
    u->row = qy_map_new ();
    u->res = NULL;
    size_t m = 0, cap = 0;
    int64_t *bids = NULL, *mids = NULL;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; items [i].rc == 1 && k < items [i].n; k++) {
            bool changed;
            if (!s_member_change (&items [i].ms [k], &items [i].st [k], &changed))
                continue;
            if (m == cap) {
                cap = cap ? 2 * cap : 64;
                bids = qy_realloc (bids, cap * sizeof (int64_t));
                mids = qy_realloc (mids, cap * sizeof (int64_t));
            }
            bids [m] = items [i].bid;
            mids [m++] = items [i].ms [k].member_id;
        }
    //  Without them (PostgreSQL failed) the signals go out with no user id, as before.
    u->res = m ? scoring_store_users (self->pg, bids, mids, m) : NULL;
    for (int r = 0; u->res && r < PQntuples (u->res); r++)
        qy_map_put (u->row, PQgetvalue (u->res, r, 1), r);
    free (bids);
    free (mids);
}

static const char *s_user (const s_users_t *u, int64_t member_id)
{
    char key [24];
    int64_t r;
    qy_snprintf (key, sizeof (key), "%lld", (long long) member_id);
    return u->res && qy_map_get (u->row, key, &r) ? PQgetvalue (u->res, (int) r, 2) : "";
}

//  Phase 7, once the states are durable: signals, and the states
//  remembered as signalled only when their signal went out, so one that
//  could not be sent is found again next round (and carries the same id).
static void s_announce (scoring_eval_t *self, s_item_t *it, const s_users_t *users)
{
    const scoring_group_row_t *g = &it->g;
    const char *gsig = scoring_group_signal (it->prev_state, it->h.state);
    int sent = 0;
    if (gsig)
        sent = s_signal (self, g, &(s_signal_t) { gsig, "group", 0, NULL, it->prev_state, it->h.state, it->h.health },
                         it->now_s, it->today);
    if (gsig && sent == 0 && strcmp (it->h.state, "zombie") == 0 && strcmp (it->h.lifecycle, "long_term") == 0)
        sent = s_alert (self, g, &it->h, it->today);
    char health [16];
    qy_snprintf (health, sizeof (health), "%d", it->h.health);
    if (sent == 0)
        s_hset (self, it->k.state, 4, (const char *[]) { "state", it->h.state, "health", health });
    //  Member changes: signal, then remember the new state in the hash.
    for (int i = 0; i < it->n; i++) {
        const scoring_member_t *m = &it->ms [i];
        const scoring_standing_t *st = &it->st [i];
        bool changed;
        const char *msig = s_member_change (m, st, &changed);
        if (!changed)
            continue;
        if (msig) {
            double value = st->rate_baseline > 0 ? st->rate_recent / st->rate_baseline : 0;
            s_signal_t sg = { msig, "member", m->member_id, s_user (users, m->member_id), m->state, st->state, value };
            if (s_signal (self, g, &sg, it->now_s, it->today) != 0)
                continue;
        }
        char key [96], tl [8];
        qy_snprintf (key, sizeof (key), "sc:u:{g:%lld}:%lld", (long long) it->gid, (long long) m->member_id);
        qy_snprintf (tl, sizeof (tl), "%d", st->trust_level);
        s_hset (self, key, 4, (const char *[]) { "st", st->state, "tl", tl });
    }
}

//  Evaluate the groups of a page of marks "B:G" (a mark not well formed is
//  skipped): Redis per group, PostgreSQL per page (the reads, one
//  transaction, the signalled members' user ids, whatever the page's size). failed[i] is set for a group
//  to be tried again. Returns groups evaluated.
static int s_page (scoring_eval_t *self, const char *const *marks, size_t n, bool *failed)
{
    s_item_t *items = qy_calloc (n + 1, sizeof (*items));
    for (size_t i = 0; i < n; i++) {
        long long bid, gid;
        failed [i] = false;
        if (sscanf (marks [i], "%lld:%lld", &bid, &gid) != 2)
            continue;
        items [i].bid = bid;
        items [i].gid = gid;
        s_claim (self, &items [i]);
        qy_service_heartbeat ();
    }
    s_rows (self, items, n);
    for (size_t i = 0; i < n; i++)
        if (items [i].rc == 1)
            s_standing (self, &items [i]);
    s_health (self, items, n);
    for (size_t i = 0; i < n; i++)
        if (items [i].rc == 1)
            s_prepare (self, &items [i]);
    s_write (self, items, n);
    s_users_t users;
    s_users (self, items, n, &users);
    int done = 0;
    for (size_t i = 0; i < n; i++) {
        s_item_t *it = &items [i];
        if (it->rc == 1) {
            s_announce (self, it, &users);
            done++;
        }
        failed [i] = it->rc < 0;
        free (it->ms);
        free (it->st);
        free (it->chs);
        free (it->cap);
        free (it->clean);
    }
    if (users.res)
        PQclear (users.res);
    qy_map_destroy (&users.row);
    free (items);
    return done;
}

//  The groups whose counters changed since they were last evaluated: the
//  roll-up marks each group it wrote in sc:evq, taken here 50 at a time
//  until none is left (true) or the time is up (false). Returns groups
//  evaluated, or -1 (the marks not evaluated are put back).
static int s_changed (scoring_eval_t *self, int64_t deadline, bool *drained)
{
    int done = 0;
    *drained = false;
    do {
        redisReply *r = qy_redis_cmd (self->redis, "SPOP %s 50", SCORING_EVAL_QUEUE_KEY);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject (r);
            return -1;
        }
        size_t n = r->elements, back = 0;
        const char **marks = qy_calloc (n + 1, sizeof (*marks));
        bool *failed = qy_calloc (n + 1, sizeof (bool));
        for (size_t i = 0; i < n; i++)
            marks [i] = r->element [i]->str;
        done += s_page (self, marks, n, failed);
        //  The marks of groups that failed go back for the next call.
        const char **argv = qy_calloc (n + 3, sizeof (*argv));
        argv [0] = "SADD";
        argv [1] = SCORING_EVAL_QUEUE_KEY;
        for (size_t i = 0; i < n; i++)
            if (failed [i])
                argv [2 + back++] = marks [i];
        if (back) {
            redisReply *again = qy_redis_argv (self->redis, (int) back + 2, argv, NULL);
            if (again)
                freeReplyObject (again);
        }
        free (argv);
        free (failed);
        free (marks);
        freeReplyObject (r);
        if (back)
            return -1;
        if (n == 0) {
            *drained = true;
            return done;
        }
    } while (qy_mono_us () < deadline && qy_service_running ());
    return done;
}

//  A full sweep: every group counted within members.ttl_days, for what
//  depends on time passing and not on new events (a group going quiet or
//  zombie, members turning lurker or churn risk, cohorts maturing, the
//  daily renewal of silent members' keys). Walks sc:groups with SSCAN and
//  stops when its time is up; the next call continues where it stopped.
static int s_sweep (scoring_eval_t *self, int64_t deadline, bool *finished)
{
    int done = 0;
    *finished = false;
    do {
        redisReply *r = qy_redis_cmd (self->redis, "SSCAN sc:groups %s COUNT 50", self->cursor);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject (r);
            return -1;
        }
        redisReply *list = r->element [1];
        size_t n = list->elements;
        const char **marks = qy_calloc (n + 1, sizeof (*marks));
        bool *failed = qy_calloc (n + 1, sizeof (bool)), any = false;
        for (size_t i = 0; i < n; i++)
            marks [i] = list->element [i]->str;
        done += s_page (self, marks, n, failed);
        for (size_t i = 0; i < n; i++)
            any |= failed [i];
        if (!any)
            qy_strlcpy (self->cursor, r->element [0]->str, sizeof (self->cursor));
        free (failed);
        free (marks);
        freeReplyObject (r);
        if (any)
            return -1;          //  this page is evaluated again next time
    } while (strcmp (self->cursor, "0") != 0 && qy_mono_us () < deadline && qy_service_running ());
    *finished = strcmp (self->cursor, "0") == 0;
    return done;
}

int scoring_eval_run (scoring_eval_t *self, int budget_ms, bool *more)
{
    //  A round evaluates the groups that changed since they were last
    //  evaluated, and every sweep_every rounds all of them; it stops when
    //  its time is up, so counting never waits long behind the evaluation
    //  of many groups, and the next call continues where this one stopped.
    *more = false;
    int64_t deadline = qy_mono_us () + (int64_t) budget_ms * 1000;
    if (!self->sweeping && strcmp (self->cursor, "0") == 0) {
        scoring_brands_forget (self->brands);
        self->sweeping = scoring_eval_sweep_due (self->rounds, self->cfg.sweep_every);
        if (self->sweeping) {
            //  The sweep evaluates every group after the changes marked so far.
            redisReply *r = qy_redis_cmd (self->redis, "DEL %s", SCORING_EVAL_QUEUE_KEY);
            if (!r)
                return -1;
            freeReplyObject (r);
        }
    }
    bool finished = false;
    int done = self->sweeping ? s_sweep (self, deadline, &finished) : s_changed (self, deadline, &finished);
    if (done < 0)
        return -1;
    if (finished) {
        self->rounds++;
        self->sweeping = false;
    }
    *more = !finished;
    return done;
}
