//  Counting a batch: one script call (per group on a Redis Cluster; its
//  events in batch order) and a handful of set updates, all in one pipeline (one round
//  trip for the batch), then the standing of each event's member worked
//  out from the script's reply.
//  What is sent (scoring_count_plan) and what a reply means
//  (scoring_count_reply) are worked out without Redis.
#include "scoring.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static qy_script_t s_count = { .source = NULL };

//  Parse the script's reply into the event's Standing.
static void s_standing (const scoring_settings_t *set, const scoring_count_config_t *cfg, const Qy__Event *ev,
                        int32_t today, const redisReply *r, Qy__Standing *st)
{
    qy__standing__init (st);
    st->member_msgs_today = r->element [1]->integer;
    st->group_msgs_today = r->element [2]->integer;
    st->group_active_today = r->element [3]->integer;
    st->group_state = (char *) scoring_state_name (r->element [4]->type == REDIS_REPLY_STRING ? r->element [4]->str : "");
    const char *values [SCORING_F__COUNT];
    for (size_t f = 0; f < SCORING_F__COUNT; f++) {
        redisReply *e = r->element [SCORING_REPLY_HEAD + f];
        values [f] = e->type == REDIS_REPLY_STRING ? e->str : NULL;
    }
    scoring_member_t m = { 0 };
    m.member_id = ev->member_id;
    m.key_rank = -1;
    scoring_member_parse (&m, values);
    scoring_standing_t s;
    scoring_event_standing (set, &m, ev->event_time_us / 1000000, today, cfg->half_short_s, cfg->half_long_s, &s);
    st->trust_level = s.trust_level;
    st->member_state = (char *) scoring_state_name (s.state);
}

//  Errors that say something about Redis, not about the event: the batch
//  is retried, nothing is set aside (a failover, a full memory, a load; a
//  call's keys in several slots, which only a cluster met before its mode
//  was known could answer).
static bool s_redis_state_error (const char *e)
{
    static const char *prefixes [] = { "NOSCRIPT", "LOADING", "BUSY", "OOM", "READONLY", "MISCONF", "NOREPLICAS",
                                       "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "CROSSSLOT" };
    for (size_t i = 0; i < QY_ARRAY_LEN (prefixes); i++)
        if (strncmp (e, prefixes [i], strlen (prefixes [i])) == 0)
            return true;
    return false;
}

scoring_outcome_t scoring_count_reply (const scoring_settings_t *set, const scoring_count_config_t *cfg,
                                       const Qy__Event *ev, int32_t today, const redisReply *r, Qy__Standing *st)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == SCORING_REPLY_HEAD + SCORING_F__COUNT) {
        long long answer = r->element [0]->integer;
        s_standing (set, cfg, ev, today, r, st);
        return answer == 1 ? SCORING_COUNTED : answer == 2 ? SCORING_TOO_OLD : SCORING_SEEN;
    }
    if (r->type == REDIS_REPLY_ERROR && !s_redis_state_error (r->str)) {
        //  This event itself is the trouble: set it aside, not the batch.
        qy_log_warn ("msg_id=%s brand=%s count script failed: %s", ev->msg_id, ev->brand, r->str);
        qy__standing__init (st);
        return SCORING_REJECTED;
    }
    return SCORING_PENDING;
}

//  The arguments every event of a batch shares, as strings.
typedef struct {
    char ttl [24], hs [32], hl [32], win [16], pwin [16], mttl [24];
} s_shared_t;

//  One event's own arguments, as strings its call points into.
typedef struct {
    char n [8], mid [24], hour [8], t [24], day [16], ch [24];
} s_own_t;

static void s_shared (const scoring_count_config_t *cfg, s_shared_t *sh)
{
    qy_snprintf (sh->ttl, sizeof (sh->ttl), "%ld", cfg->ttl_s);
    qy_snprintf (sh->hs, sizeof (sh->hs), "%.0f", cfg->half_short_s);
    qy_snprintf (sh->hl, sizeof (sh->hl), "%.0f", cfg->half_long_s);
    qy_snprintf (sh->win, sizeof (sh->win), "%d", cfg->reply_window_s);
    qy_snprintf (sh->pwin, sizeof (sh->pwin), "%d", cfg->post_window_s);
    qy_snprintf (sh->mttl, sizeof (sh->mttl), "%ld", cfg->member_ttl_s);
}

//  The mentions an event credits: a mass mention credits no one more
//  than fifty times.
static size_t s_mentions (const Qy__Event *ev)
{
    if (scoring_kind (ev) != SCORING_MSG)
        return 0;
    return ev->n_mentions > 50 ? 50 : ev->n_mentions;
}

//  Write one event's arguments to a: how many follow, SCORING_ARGV_*, then
//  its mentions. Returns how many were written.
static size_t s_event_args (const scoring_count_config_t *cfg, const s_shared_t *sh, const Qy__Event *ev,
                            const scoring_keys_t *k, bool old, s_own_t *o, const char **a)
{
    static const char *kinds [] = { "msg", "join", "leave", "other" };
    qy_snprintf (o->mid, sizeof (o->mid), "%lld", (long long) ev->member_id);
    qy_snprintf (o->hour, sizeof (o->hour), "%d", k->hour);
    qy_snprintf (o->t, sizeof (o->t), "%lld", (long long) (ev->event_time_us / 1000000));
    qy_snprintf (o->day, sizeof (o->day), "%d", k->day);
    qy_snprintf (o->ch, sizeof (o->ch), "%lld", (long long) ev->channel_id);
    scoring_kind_t kind = scoring_kind (ev);
    bool msg = kind == SCORING_MSG;
    size_t nm = s_mentions (ev);
    qy_snprintf (o->n, sizeof (o->n), "%zu", SCORING_ARGV__COUNT + nm);
    a [0] = o->n;
    const char **v = a + 1;
    v [SCORING_ARGV_MSG_ID] = ev->msg_id;
    v [SCORING_ARGV_KIND] = kinds [kind];
    v [SCORING_ARGV_MEMBER] = o->mid;
    v [SCORING_ARGV_HOUR] = o->hour;
    v [SCORING_ARGV_VIOLATION] = scoring_is_violation (ev) ? "1" : "0";
    v [SCORING_ARGV_TTL] = sh->ttl;
    v [SCORING_ARGV_TIME] = o->t;
    v [SCORING_ARGV_DAY] = o->day;
    v [SCORING_ARGV_USER] = ev->member ? ev->member : "";
    v [SCORING_ARGV_REF] = msg && ev->ref_msg_id ? ev->ref_msg_id : "";
    v [SCORING_ARGV_STAFF] = scoring_is_staff (ev) ? "1" : "0";
    v [SCORING_ARGV_BOT] = ev->role == QY__ROLE__BOT ? "1" : "0";
    v [SCORING_ARGV_CHANNEL] = o->ch;
    v [SCORING_ARGV_HALF_SHORT] = sh->hs;
    v [SCORING_ARGV_HALF_LONG] = sh->hl;
    v [SCORING_ARGV_WINDOW] = sh->win;
    v [SCORING_ARGV_POST_WINDOW] = sh->pwin;
    v [SCORING_ARGV_QUESTION] = msg && scoring_is_question (ev->text) ? "1" : "0";
    v [SCORING_ARGV_SUBSTANTIAL] = msg && scoring_is_substantial (ev, cfg->substantial_chars) ? "1" : "0";
    v [SCORING_ARGV_MEMBER_TTL] = sh->mttl;
    v [SCORING_ARGV_OLD] = old ? "1" : "0";
    for (size_t i = 0; i < nm; i++)
        v [SCORING_ARGV__COUNT + i] = ev->mentions [i] ? ev->mentions [i] : "";
    return 1 + SCORING_ARGV__COUNT + nm;
}

//  The keys each event's part of a call takes (scoring_count.lua reads them
//  in this order, S_NKEYS at a time).
#define S_NKEYS 14

//  Append call c of the plan: its events' keys, then their arguments.
//  Returns -1 when Redis is away.
static int s_append_call (const scoring_count_config_t *cfg, const s_shared_t *sh, qy_redis_t *redis,
                          Qy__Event **evs, const scoring_plan_t *p, size_t c)
{
    size_t first = p->call_start [c], ne = p->call_start [c + 1] - first, total = S_NKEYS * ne;
    for (size_t j = 0; j < ne; j++)
        total += 1 + SCORING_ARGV__COUNT + s_mentions (evs [p->order [first + j]]);
    const char **argv = qy_calloc (total, sizeof (char *));
    s_own_t *own = qy_calloc (ne, sizeof (s_own_t));
    size_t a = S_NKEYS * ne;
    for (size_t j = 0; j < ne; j++) {
        size_t i = p->order [first + j];
        const scoring_keys_t *k = &p->keys [i];
        const char *keys [S_NKEYS] = { k->ids, k->group, k->active, k->members, k->authors, k->authors_prev, k->edges,
                                  k->member, k->roster, k->uids, k->state, k->board, k->channels, k->replies };
        memcpy (argv + S_NKEYS * j, keys, sizeof (keys));
        a += s_event_args (cfg, sh, evs [i], k, p->old [i], &own [j], argv + a);
    }
    int rc = qy_redis_append_script (redis, &s_count, (int) (S_NKEYS * ne), (int) total, argv, NULL);
    free (own);
    free (argv);
    return rc;
}

//  The brands' clocks (latest event time): on first sight of a brand, what
//  Redis remembers (sc:clock: other replicas, earlier runs), then this
//  batch's events. An event time more than a day ahead of the wall clock
//  (a gateway's clock gone wrong) does not move it. Returns -1 when Redis
//  is away.
static int s_clocks (qy_redis_t *redis, scoring_brands_t *brands, Qy__Event **evs, size_t n)
{
    const char **argv = qy_calloc (n + 2, sizeof (char *));
    char (*ids) [24] = qy_calloc (n, sizeof (*ids));
    int argc = 0;
    argv [argc++] = "ZMSCORE";
    argv [argc++] = "sc:clock";
    for (size_t i = 0; i < n; i++) {
        if (scoring_brands_clock (brands, evs [i]->brand_id, 0) != 0)
            continue;
        qy_snprintf (ids [i], sizeof (ids [i]), "%lld", (long long) evs [i]->brand_id);
        bool again = false;
        for (int a = 2; a < argc && !again; a++)
            again = strcmp (argv [a], ids [i]) == 0;
        if (!again)
            argv [argc++] = ids [i];
    }
    int rc = 0;
    if (argc > 2) {
        redisReply *r = qy_redis_argv (redis, argc, argv, NULL);
        if (!r || r->type != REDIS_REPLY_ARRAY)
            rc = -1;
        for (size_t a = 0; rc == 0 && a < r->elements; a++)
            if (r->element [a]->type == REDIS_REPLY_STRING)
                scoring_brands_clock (brands, strtoll (argv [2 + a], NULL, 10), strtoll (r->element [a]->str, NULL, 10));
        if (r)
            freeReplyObject (r);
    }
    int64_t ahead = qy_now_us () / 1000000 + 86400;
    for (size_t i = 0; i < n; i++) {
        int64_t t = evs [i]->event_time_us / 1000000;
        scoring_brands_clock (brands, evs [i]->brand_id, t < ahead ? t : ahead);
    }
    free (ids);
    free (argv);
    return rc;
}

//  Whether an event's day is out of the counter window, counters.ttl_days
//  behind the brand's latest event: its counters may have expired already,
//  and counting it would start them again from one.
static bool s_too_old (const scoring_count_config_t *cfg, scoring_brands_t *brands, const Qy__Event *ev,
                       const scoring_brand_t *b, int32_t day)
{
    int64_t now_us = scoring_brands_clock (brands, ev->brand_id, 0) * 1000000;
    int32_t today = qy_day_of (now_us, b->tz_offset_min);
    int32_t window = cfg->ttl_s / 86400 > 1 ? (int32_t) (cfg->ttl_s / 86400) : 1;
    return day <= today - window;
}

//  Note a brand's event time in the plan's clocks (the latest kept).
static void s_plan_clock (scoring_plan_t *p, int64_t brand_id, int64_t t)
{
    for (size_t c = 0; c < p->nclocks; c++)
        if (p->clock_brand [c] == brand_id) {
            if (t > p->clock_s [c])
                p->clock_s [c] = t;
            return;
        }
    p->clock_brand [p->nclocks] = brand_id;
    p->clock_s [p->nclocks++] = t;
}

//  On a Redis Cluster one call per group (its keys' hash tag, so its
//  slot), its events in batch order, the groups in the order they first
//  appear; on a single Redis one call for the batch.
static void s_plan_calls (scoring_plan_t *p, bool cluster)
{
    const char **tags = qy_calloc (p->n + 1, sizeof (*tags));
    for (size_t i = 0; i < p->n; i++)
        tags [i] = !p->send [i] ? NULL : cluster ? p->keys [i].roster : "";
    p->order = qy_calloc (p->n + 1, sizeof (*p->order));
    p->call_start = qy_calloc (p->n + 2, sizeof (*p->call_start));
    p->ncalls = qy_group_by_key (tags, p->n, p->order, p->call_start);
    free (tags);
}

int scoring_count_plan (const scoring_count_config_t *cfg, scoring_brands_t *brands, Qy__Event **evs,
                        const scoring_outcome_t *out, size_t n, bool cluster, scoring_plan_t *p)
{
    memset (p, 0, sizeof (*p));
    p->n = n;
    p->brand = qy_calloc (n + 1, sizeof (*p->brand));
    p->keys = qy_calloc (n + 1, sizeof (*p->keys));
    p->send = qy_calloc (n + 1, sizeof (*p->send));
    p->old = qy_calloc (n + 1, sizeof (*p->old));
    p->dirty = qy_calloc (n + 1, sizeof (*p->dirty));
    p->seen = qy_calloc (n + 1, sizeof (*p->seen));
    p->clock_brand = qy_calloc (n + 1, sizeof (*p->clock_brand));
    p->clock_s = qy_calloc (n + 1, sizeof (*p->clock_s));
    qy_map_t *marks = qy_map_new ();
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (out [i] != SCORING_PENDING)
            continue;       //  answered by an earlier call
        const Qy__Event *ev = evs [i];
        if (!(p->brand [i] = scoring_brands_get (brands, ev->brand_id))) {
            rc = -1;
            break;
        }
        scoring_keys_t *k = &p->keys [i];
        scoring_keys (k, ev->brand_id, ev->group_id, ev->member_id, ev->event_time_us, p->brand [i]->tz_offset_min);
        p->old [i] = s_too_old (cfg, brands, ev, p->brand [i], k->day);
        p->send [i] = true;
        p->nsend++;
        s_plan_clock (p, ev->brand_id, ev->event_time_us / 1000000);
        if (p->old [i])
            continue;       //  changes no day and revives no group
        //  The sets each get one member per group-day or group, not per event.
        if (!qy_map_get (marks, k->dirty, NULL)) {
            qy_map_put (marks, k->dirty, 1);
            p->dirty [p->ndirty++] = k->dirty;
        }
        if (!qy_map_get (marks, k->seen, NULL)) {
            qy_map_put (marks, k->seen, 1);
            p->seen [p->nseen++] = k->seen;
        }
    }
    qy_map_destroy (&marks);
    if (rc)
        scoring_count_plan_free (p);
    else
        s_plan_calls (p, cluster);
    return rc;
}

void scoring_count_plan_free (scoring_plan_t *p)
{
    free (p->brand);
    free (p->keys);
    free (p->send);
    free (p->old);
    free (p->dirty);
    free (p->seen);
    free (p->clock_brand);
    free (p->clock_s);
    free (p->order);
    free (p->call_start);
    memset (p, 0, sizeof (*p));
}

//  Append a plan's commands: the script per group, one SADD per set and
//  one ZADD GT per brand. Returns how many commands besides the scripts,
//  or -1 when Redis is away.
static int s_append_plan (const scoring_count_config_t *cfg, qy_redis_t *redis, Qy__Event **evs,
                          const scoring_plan_t *p)
{
    s_shared_t sh;
    s_shared (cfg, &sh);
    for (size_t c = 0; c < p->ncalls; c++)
        if (s_append_call (cfg, &sh, redis, evs, p, c))
            return -1;
    int extra = 0;
    const char **argv = qy_calloc (p->n + 3, sizeof (char *));
    const char *const *sets [2] = { p->dirty, p->seen };
    size_t counts [2] = { p->ndirty, p->nseen };
    const char *names [2] = { "sc:dirty", "sc:groups" };
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++) {
        if (!counts [s])
            continue;
        argv [0] = "SADD";
        argv [1] = names [s];
        memcpy (argv + 2, sets [s], counts [s] * sizeof (char *));
        rc = qy_redis_append_argv (redis, (int) (2 + counts [s]), argv, NULL);
        extra++;
    }
    free (argv);
    for (size_t c = 0; c < p->nclocks && rc == 0; c++) {
        char t [24], bid [24];
        qy_snprintf (t, sizeof (t), "%lld", (long long) p->clock_s [c]);
        qy_snprintf (bid, sizeof (bid), "%lld", (long long) p->clock_brand [c]);
        const char *zadd [] = { "ZADD", "sc:clock", "GT", t, bid };
        rc = qy_redis_append_argv (redis, 5, zadd, NULL);
        extra++;
    }
    return rc ? -1 : extra;
}

size_t scoring_count_call_reply (const scoring_count_config_t *cfg, const scoring_plan_t *p, size_t c,
                                 Qy__Event **evs, const redisReply *r, Qy__Standing *st, scoring_outcome_t *out)
{
    size_t first = p->call_start [c], ne = p->call_start [c + 1] - first, pending = 0;
    //  One reply per event, or one error for the whole call; an array of
    //  another length is not our script's: all retried.
    bool each = r->type == REDIS_REPLY_ARRAY && r->elements == ne;
    for (size_t j = 0; j < ne; j++) {
        size_t i = p->order [first + j];
        if (each || r->type == REDIS_REPLY_ERROR)
            out [i] = scoring_count_reply (&p->brand [i]->settings, cfg, evs [i], p->keys [i].day,
                                           each ? r->element [j] : r, &st [i]);
        else
            out [i] = SCORING_PENDING;
        if (out [i] == SCORING_PENDING)
            pending++;
    }
    return pending;
}

//  Whether a call's reply (or one of its events') says the script is not
//  loaded on its node.
static bool s_noscript (const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR)
        return strncmp (r->str, "NOSCRIPT", 8) == 0;
    for (size_t j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements; j++)
        if (r->element [j]->type == REDIS_REPLY_ERROR && strncmp (r->element [j]->str, "NOSCRIPT", 8) == 0)
            return true;
    return false;
}

//  Read the calls' replies in order: each event answered, or the batch
//  to retry (Redis the trouble, or the connection broken: *lost).
static int s_read_replies (const scoring_count_config_t *cfg, qy_redis_t *redis, Qy__Event **evs,
                           const scoring_plan_t *p, Qy__Standing *st, scoring_outcome_t *out, bool *lost)
{
    int rc = 0;
    for (size_t c = 0; c < p->ncalls; c++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r) {
            *lost = true;
            return -1;
        }
        if (scoring_count_call_reply (cfg, p, c, evs, r, st, out)) {
            if (s_noscript (r))
                s_count.sha [0] = 0;
            rc = -1;
        }
        freeReplyObject (r);
    }
    //  One line per batch: a replay of old events would otherwise log each.
    size_t old = 0, first_old = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->send [i] && out [i] == SCORING_TOO_OLD && old++ == 0)
            first_old = i;
    if (old)
        qy_log_warn ("msg_id=%s brand=%s day=%d not counted: older than the counter window (%zu in the batch)",
                     evs [first_old]->msg_id, evs [first_old]->brand, (int) p->keys [first_old].day, old);
    return rc;
}

int scoring_count_batch (const scoring_count_config_t *cfg, qy_redis_t *redis, scoring_brands_t *brands,
                         Qy__Event **evs, Qy__Standing *st, scoring_outcome_t *out, size_t n)
{
    s_count.source = scoring_count_lua;
    if (!n)
        return 0;
    //  The brands' clocks first, so the whole batch is judged against its latest event.
    scoring_plan_t plan;
    if (s_clocks (redis, brands, evs, n)
        || scoring_count_plan (cfg, brands, evs, out, n, qy_redis_is_cluster (redis), &plan))
        return -1;
    //  Read every reply that was appended, even after a failure, so none
    //  is left to be taken for the next command's. An event answered stays
    //  answered: a retry sends only those left pending.
    int extra = s_append_plan (cfg, redis, evs, &plan);
    int rc = extra < 0 ? -1 : 0;        //  nothing was flushed: all stay pending
    bool flushed = rc == 0 && plan.nsend;
    bool lost = false;                  //  the connection broke: the replies left are gone
    if (flushed && s_read_replies (cfg, redis, evs, &plan, st, out, &lost))
        rc = -1;
    for (int i = 0; flushed && !lost && i < extra; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r) {
            rc = -1;
            break;
        }
        freeReplyObject (r);
    }
    scoring_count_plan_free (&plan);
    return rc;
}
