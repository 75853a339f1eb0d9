//  The batch writer: one PostgreSQL transaction per batch of batches.
//  Ids of brands, groups, members and channels are cached in memory so a
//  steady stream costs one INSERT … SELECT FROM unnest(…) per batch.
#include "ingest.h"
#include "ingest_lookup.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

#define S_NEG_TTL_US (10 * 1000000LL)
#define S_DATA_ERROR -2             //  s_write: PostgreSQL refused what a statement of many events held

struct ingest_store_t {
    qy_pg_t  *pg;
    qy_map_t *brands;            //  code → id
    qy_map_t *brand_neg;         //  code → time until which it is known to be unknown
    qy_map_t *groups;            //  "bid|code" → id
    qy_map_t *group_store;       //  "gid" → store id
    qy_map_t *members;           //  "bid|user" → id
    qy_map_t *channels;          //  "bid|code" → id
    qy_map_t *days;              //  day number → partition exists
    qy_map_t *memberships;       //  "gid|mid" → known to exist
    size_t    cache_max;         //  entries per cache before it is dropped and refilled
    char      refused [8];       //  SQLSTATE of the last batch refused for its data
    const char *refused_step;    //  and the look-up refused ("group upsert" …), NULL for the writes
};

ingest_store_t *ingest_store_new (qy_pg_t *pg, size_t cache_max)
{
    ingest_store_t *self = qy_calloc (1, sizeof (*self));
    self->pg = pg;
    self->cache_max = cache_max ? cache_max : 1;
    self->brands = qy_map_new ();
    self->brand_neg = qy_map_new ();
    self->groups = qy_map_new ();
    self->group_store = qy_map_new ();
    self->members = qy_map_new ();
    self->channels = qy_map_new ();
    self->days = qy_map_new ();
    self->memberships = qy_map_new ();
    return self;
}

void ingest_store_destroy (ingest_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_store_t *self = *self_p;
    qy_map_destroy (&self->brands);
    qy_map_destroy (&self->brand_neg);
    qy_map_destroy (&self->groups);
    qy_map_destroy (&self->group_store);
    qy_map_destroy (&self->members);
    qy_map_destroy (&self->channels);
    qy_map_destroy (&self->days);
    qy_map_destroy (&self->memberships);
    free (self);
    *self_p = NULL;
}

//  "id|code", whole whatever its length: a key cut short would make long
//  codes that share a prefix collide. Caller frees it.
static char *s_key (int64_t id, const char *s)
{
    return qy_printf ("%lld|%s", (long long) id, s);
}

void ingest_store_forget_unknown (ingest_store_t *self)
{
    qy_map_clear (self->brand_neg);
}

//  Returns brand id, 0 when unknown, -1 when PostgreSQL is away.
static int64_t s_brand (ingest_store_t *self, const char *code, int64_t now_us)
{
    int64_t id;
    if (qy_map_get (self->brands, code, &id))
        return id;
    int64_t until;
    if (qy_map_get (self->brand_neg, code, &until) && until > now_us)
        return 0;
    PGresult *res;
    const char *p [] = { code };
    if (!qy_pg_run (self->pg, "brand lookup", "SELECT id FROM brands WHERE code = $1", 1, p, &res))
        return -1;
    id = PQntuples (res) ? qy_pg_int (res, 0, 0) : 0;
    PQclear (res);
    if (id)
        qy_map_put (self->brands, code, id);
    else {
        ingest_lookup_room (self->brand_neg, self->cache_max, 1);
        qy_map_put (self->brand_neg, code, now_us + S_NEG_TTL_US);
    }
    return id;
}

//  One kind of id ingest resolves for a batch (groups, channels): what
//  names it in an event, how one that is not cached is asked for, and what
//  the answer sets in the event. Rows of the statement: brand_id, code, id, …
typedef struct {
    const char *ctx, *sql;
    int         nparams;
    qy_map_t *(*cache) (ingest_store_t *self);
    const char *(*code) (const Qy__Event *ev);                         //  NULL: nothing to resolve
    void (*param) (qy_pg_cols_t *cols, const Qy__Event *ev);           //  one row of parameters
    void (*answer) (ingest_store_t *self, PGresult *res, int r, bool dropped);  //  each row; dropped: the cache was
    void (*apply) (ingest_store_t *self, Qy__Event *ev, int64_t id);
} s_lookup_t;

//  Resolve def's ids for the accepted events[], those not cached in ONE
//  statement whatever their number: with 100,000 groups nearly every batch
//  brings groups no batch brought before, and a round trip each made
//  ingest's cost grow with the number of groups. Returns 0 or -1.
static int s_resolve (ingest_store_t *self, const s_lookup_t *def, Qy__Event **events, size_t n,
                      const ingest_result_t *results)
{
    qy_map_t *cache = def->cache (self);
    char **keys = qy_calloc (n ? n : 1, sizeof (char *));
    size_t *first = qy_calloc (n ? n : 1, sizeof (size_t));
    for (size_t i = 0; i < n; i++) {
        const char *code = results [i].status == QY__ITEM_STATUS__ACCEPTED ? def->code (events [i]) : NULL;
        if (!code)
            continue;
        int64_t id;
        keys [i] = s_key (events [i]->brand_id, code);
        if (qy_map_get (cache, keys [i], &id)) {
            def->apply (self, events [i], id);
            free (keys [i]);
            keys [i] = NULL;
        }
    }
    size_t missing = ingest_lookup_missing (cache, (const char *const *) keys, n, first);
    int rc = 0;
    if (missing) {
        qy_pg_cols_t cols;
        qy_pg_cols_init (&cols, (size_t) def->nparams);
        for (size_t k = 0; k < missing; k++) {
            qy_pg_cols_row (&cols);
            def->param (&cols, events [first [k]]);
        }
        const char *p [8];
        qy_pg_cols_params (&cols, p);
        PGresult *res = NULL;
        rc = qy_pg_run (self->pg, def->ctx, def->sql, def->nparams, p, &res) ? 0 : -1;
        qy_map_t *got = qy_map_new ();
        bool dropped = rc == 0 && ingest_lookup_room (cache, self->cache_max, (size_t) PQntuples (res));
        for (int r = 0; rc == 0 && r < PQntuples (res); r++) {
            char *key = s_key (qy_pg_int (res, r, 0), PQgetvalue (res, r, 1));
            def->answer (self, res, r, dropped && r == 0);
            qy_map_put (cache, key, qy_pg_int (res, r, 2));
            qy_map_put (got, key, qy_pg_int (res, r, 2));
            free (key);
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            int64_t id;
            if (!keys [i])
                continue;
            if (!qy_map_get (got, keys [i], &id)) {
                qy_log_error ("msg_id=%s brand=%s %s answered no row for %s", events [i]->msg_id, events [i]->brand,
                              def->ctx, keys [i]);
                rc = -1;
                break;
            }
            def->apply (self, events [i], id);
        }
        if (res)
            PQclear (res);
        qy_map_destroy (&got);
        qy_pg_cols_free (&cols);
    }
    for (size_t i = 0; i < n; i++)
        free (keys [i]);
    free (keys);
    free (first);
    return rc;
}

static qy_map_t *s_groups_cache (ingest_store_t *self) { return self->groups; }
static const char *s_group_code (const Qy__Event *ev) { return ev->group; }

static void s_group_param (qy_pg_cols_t *cols, const Qy__Event *ev)
{
    qy_pg_cols_int (cols, 0, ev->brand_id);
    qy_pg_cols_text (cols, 1, ev->group);
    qy_pg_cols_text (cols, 2, ev->store ? ev->store : "");
}

static void s_group_answer (ingest_store_t *self, PGresult *res, int r, bool dropped)
{
    //  group_store is filled with groups and dropped with it: on its own
    //  it would grow by one entry per group ever seen.
    if (dropped)
        qy_map_clear (self->group_store);
    qy_map_put (self->group_store, PQgetvalue (res, r, 2), qy_pg_int (res, r, 3));
}

static void s_group_apply (ingest_store_t *self, Qy__Event *ev, int64_t id)
{
    char gk [24];
    qy_snprintf (gk, sizeof (gk), "%lld", (long long) id);
    int64_t store = 0;
    qy_map_get (self->group_store, gk, &store);
    ev->group_id = id;
    ev->store_id = store;
}

//  Groups that exist (and have their store, or the event names none) are
//  only read; the others are created, or given the store they lacked.
static const s_lookup_t s_groups = {
    "group upsert",
    "WITH v AS (SELECT b, c, s FROM unnest ($1::bigint[], $2::text[], $3::text[]) AS v (b, c, s)), "
    "known AS (SELECT g.brand_id, g.code, g.id, g.store_id FROM groups g JOIN v ON g.brand_id = v.b AND g.code = v.c "
    "          WHERE g.store_id IS NOT NULL OR v.s = ''), "
    "made AS (INSERT INTO groups (brand_id, code, name, store_id) "
    "         SELECT v.b, v.c, v.c, (SELECT id FROM stores WHERE brand_id = v.b AND code = v.s) FROM v "
    "         WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.brand_id = v.b AND known.code = v.c) "
    "         ON CONFLICT (brand_id, code) DO UPDATE SET store_id = COALESCE (groups.store_id, EXCLUDED.store_id) "
    "         RETURNING brand_id, code, id, store_id) "
    "SELECT brand_id, code, id, store_id FROM known UNION ALL SELECT brand_id, code, id, store_id FROM made",
    3, s_groups_cache, s_group_code, s_group_param, s_group_answer, s_group_apply
};

static qy_map_t *s_channels_cache (ingest_store_t *self) { return self->channels; }

static const char *s_channel_code (const Qy__Event *ev)
{
    return ev->channel && *ev->channel ? ev->channel : NULL;
}

static void s_channel_param (qy_pg_cols_t *cols, const Qy__Event *ev)
{
    qy_pg_cols_int (cols, 0, ev->brand_id);
    qy_pg_cols_text (cols, 1, ev->channel);
    qy_pg_cols_text (cols, 2, ingest_channel_kind (ev->join_scene));
    if (ev->store_id)
        qy_pg_cols_int (cols, 3, ev->store_id);
    else
        qy_pg_cols_null (cols, 3);
}

static void s_channel_answer (ingest_store_t *self, PGresult *res, int r, bool dropped)
{
    (void) self, (void) res, (void) r, (void) dropped;
}

static void s_channel_apply (ingest_store_t *self, Qy__Event *ev, int64_t id)
{
    (void) self;
    ev->channel_id = id;
}

//  A channel that exists is only read (its first kind and store stay).
static const s_lookup_t s_channels = {
    "channel upsert",
    "WITH v AS (SELECT b, c, k, s FROM unnest ($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS v (b, c, k, s)), "
    "known AS (SELECT ch.brand_id, ch.code, ch.id FROM channels ch JOIN v ON ch.brand_id = v.b AND ch.code = v.c), "
    "made AS (INSERT INTO channels (brand_id, code, kind, store_id) SELECT b, c, k, s FROM v "
    "         WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.brand_id = v.b AND known.code = v.c) "
    "         ON CONFLICT (brand_id, code) DO UPDATE SET code = EXCLUDED.code RETURNING brand_id, code, id) "
    "SELECT brand_id, code, id FROM known UNION ALL SELECT brand_id, code, id FROM made",
    4, s_channels_cache, s_channel_code, s_channel_param, s_channel_answer, s_channel_apply
};

//  Resolve member ids for events[] whose member is not cached, in one statement.
static int s_members (ingest_store_t *self, Qy__Event **events, size_t n, const ingest_result_t *results,
                      int64_t *member_ids)
{
    qy_pg_cols_t cols;
    qy_pg_cols_init (&cols, 4);
    qy_map_t *pending = qy_map_new ();
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
            continue;
        char *key = s_key (events [i]->brand_id, events [i]->member);
        bool known = qy_map_get (self->members, key, &member_ids [i]) || qy_map_get (pending, key, NULL);
        if (!known)
            qy_map_put (pending, key, 1);
        free (key);
        if (known)
            continue;
        qy_pg_cols_row (&cols);
        qy_pg_cols_int (&cols, 0, events [i]->brand_id);
        qy_pg_cols_text (&cols, 1, events [i]->member);
        qy_pg_cols_text (&cols, 2, events [i]->nickname && *events [i]->nickname ? events [i]->nickname : NULL);
        qy_pg_cols_int (&cols, 3, events [i]->event_time_us);
        missing++;
    }
    int rc = 0;
    if (missing) {
        const char *p [4];
        qy_pg_cols_params (&cols, p);
        PGresult *res;
        //  A member the cache forgot (100,000 groups hold 12 million) is
        //  only read, unless their nickname changed: ON CONFLICT DO UPDATE
        //  rewrote every such row (a new row version, WAL), 15 us of
        //  PostgreSQL per event at 100,000 groups.
        if (!qy_pg_run (self->pg, "member upsert",
                "WITH x AS (SELECT b, u, n, t FROM unnest ($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS x (b, u, n, t)), "
                "known AS (SELECT m.brand_id, m.user_id, m.id FROM members m JOIN x ON m.brand_id = x.b AND m.user_id = x.u "
                "          WHERE x.n IS NULL OR m.nickname IS NOT DISTINCT FROM x.n), "
                "made AS (INSERT INTO members (brand_id, user_id, nickname, first_seen_at) "
                "         SELECT b, u, n, 'epoch'::timestamptz + t * interval '1 microsecond' FROM x "
                "         WHERE NOT EXISTS (SELECT 1 FROM known WHERE known.brand_id = x.b AND known.user_id = x.u) "
                "         ON CONFLICT (brand_id, user_id) DO UPDATE SET nickname = COALESCE (EXCLUDED.nickname, members.nickname) "
                "         RETURNING brand_id, user_id, id) "
                "SELECT brand_id, user_id, id FROM known UNION ALL SELECT brand_id, user_id, id FROM made", 4, p, &res))
            rc = -1;
        else {
            ingest_lookup_room (self->members, self->cache_max, (size_t) PQntuples (res));
            for (int r = 0; r < PQntuples (res); r++) {
                char *key = s_key (qy_pg_int (res, r, 0), PQgetvalue (res, r, 1));
                qy_map_put (self->members, key, qy_pg_int (res, r, 2));
                free (key);
            }
            PQclear (res);
            for (size_t i = 0; i < n; i++) {
                if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
                    continue;
                char *key = s_key (events [i]->brand_id, events [i]->member);
                qy_map_get (self->members, key, &member_ids [i]);
                free (key);
            }
        }
    }
    qy_map_destroy (&pending);
    qy_pg_cols_free (&cols);
    return rc;
}

static int s_partition (ingest_store_t *self, int64_t t_us)
{
    int32_t day = qy_day_of (t_us, 0);
    char key [16], date [16];
    qy_snprintf (key, sizeof (key), "%d", day);
    if (qy_map_get (self->days, key, NULL))
        return 0;
    qy_day_format (day, date, sizeof (date), false);
    const char *p [] = { date };
    if (!qy_pg_run (self->pg, "partition", "SELECT qy_ensure_partition ($1::date)", 1, p, NULL))
        return -1;
    qy_map_put (self->days, key, 1);
    return 0;
}

//  Column c of cols gets ev's extra fields as a JSON object, or NULL when it has none.
static void s_extra (qy_pg_cols_t *cols, size_t c, const Qy__Event *ev)
{
    qy_buf_t j;
    qy_buf_init (&j);
    #define S_STR(name, val) if ((val) && *(val)) { qy_buf_puts (&j, j.len ? ",\"" name "\":" : "{\"" name "\":"); qy_buf_json_str (&j, val); }
    S_STR ("url", ev->url);
    S_STR ("ref_msg_id", ev->ref_msg_id);
    S_STR ("nickname", ev->nickname);
    S_STR ("channel", ev->channel);
    S_STR ("inviter", ev->inviter);
    S_STR ("product", ev->product);
    S_STR ("join_scene", ingest_scene_name (ev->join_scene));
    #undef S_STR
    if (ev->at_all)
        qy_buf_puts (&j, j.len ? ",\"at_all\":true" : "{\"at_all\":true");
    if (ev->amount_cents)
        qy_buf_printf (&j, "%s\"amount_cents\":%lld", j.len ? "," : "{", (long long) ev->amount_cents);
    if (ev->leave_reason)
        qy_buf_printf (&j, "%s\"leave_reason\":\"%s\"", j.len ? "," : "{",
                       ev->leave_reason == QY__LEAVE_REASON__REMOVED ? "removed" : "left");
    if (ev->n_mentions) {
        qy_buf_puts (&j, j.len ? ",\"mentions\":[" : "{\"mentions\":[");
        for (size_t k = 0; k < ev->n_mentions; k++) {
            if (k)
                qy_buf_puts (&j, ",");
            qy_buf_json_str (&j, ev->mentions [k]);
        }
        qy_buf_puts (&j, "]");
    }
    if (j.len)
        qy_buf_puts (&j, "}");
    qy_pg_cols_text (cols, c, j.len ? j.data : NULL);
    qy_buf_free (&j);
}

//  A round of membership changes (ingest_lookup_rounds): each (group,
//  member) at most once, so each kind is one multi-row statement.
typedef struct {
    qy_pg_cols_t join, leave, rename;
} s_changes_t;

enum { J_BRAND, J_GROUP, J_MEMBER, J_ROLE, J_NICK, J_AT, J_SCENE, J_CHANNEL, J_INVITER, J_NCOL };

static void s_change_row (s_changes_t *c, const Qy__Event *ev, int64_t member_id)
{
    const char *nick = ev->nickname && *ev->nickname ? ev->nickname : NULL;
    qy_pg_cols_t *cols = ev->kind == QY__KIND__JOIN ? &c->join : ev->kind == QY__KIND__LEAVE ? &c->leave : &c->rename;
    qy_pg_cols_row (cols);
    qy_pg_cols_int (cols, 0, ev->brand_id);
    qy_pg_cols_int (cols, 1, ev->group_id);
    qy_pg_cols_int (cols, 2, member_id);
    if (ev->kind == QY__KIND__RENAME)
        qy_pg_cols_text (cols, 3, nick);
    else
    if (ev->kind == QY__KIND__LEAVE) {
        qy_pg_cols_int (cols, 3, ev->event_time_us);
        qy_pg_cols_text (cols, 4, ev->leave_reason == QY__LEAVE_REASON__REMOVED ? "removed"
                                : ev->leave_reason == QY__LEAVE_REASON__LEFT ? "left" : "unknown");
    }
    else {
        qy_pg_cols_text (cols, J_ROLE, ingest_role_name (ev->role));
        qy_pg_cols_text (cols, J_NICK, nick);
        qy_pg_cols_int (cols, J_AT, ev->event_time_us);
        qy_pg_cols_text (cols, J_SCENE, ingest_scene_name (ev->join_scene));
        if (ev->channel_id)
            qy_pg_cols_int (cols, J_CHANNEL, ev->channel_id);
        else
            qy_pg_cols_null (cols, J_CHANNEL);
        qy_pg_cols_text (cols, J_INVITER, ev->inviter && *ev->inviter ? ev->inviter : NULL);
    }
}

//  One round's joins, leaves and renames of group nicknames, as steps of
//  the commit's pipeline. A join or leave older than what the row holds
//  changes nothing (a gateway may re-send or reorder them).
static void s_changes_steps (s_changes_t *c, qy_pg_steps_t *st)
{
    if (c->join.nrows)
        qy_pg_steps_add (st, "join",
            "INSERT INTO memberships (brand_id, group_id, member_id, role, nickname, joined_at, join_scene, channel_id, inviter) "
            "SELECT b, g, m, r, n, 'epoch'::timestamptz + t * interval '1 microsecond', s, c, i "
            "FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], "
            "             $8::bigint[], $9::text[]) AS x (b, g, m, r, n, t, s, c, i) "
            "ON CONFLICT (group_id, member_id) DO UPDATE SET "
            "  joined_at = EXCLUDED.joined_at, join_scene = EXCLUDED.join_scene, channel_id = EXCLUDED.channel_id, "
            "  inviter = EXCLUDED.inviter, nickname = COALESCE (EXCLUDED.nickname, memberships.nickname), "
            "  role = CASE WHEN EXCLUDED.role <> 'member' THEN EXCLUDED.role ELSE memberships.role END, "
            "  leave_reason = CASE WHEN memberships.left_at > EXCLUDED.joined_at THEN memberships.leave_reason END, "
            "  left_at = CASE WHEN memberships.left_at > EXCLUDED.joined_at THEN memberships.left_at END "
            "WHERE memberships.joined_at IS NULL OR memberships.joined_at < EXCLUDED.joined_at", &c->join, false);
    if (c->leave.nrows)
        qy_pg_steps_add (st, "leave",
            "INSERT INTO memberships (brand_id, group_id, member_id, left_at, leave_reason) "
            "SELECT b, g, m, 'epoch'::timestamptz + t * interval '1 microsecond', r "
            "FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[]) AS x (b, g, m, t, r) "
            "ON CONFLICT (group_id, member_id) DO UPDATE SET left_at = EXCLUDED.left_at, leave_reason = EXCLUDED.leave_reason "
            "WHERE memberships.joined_at IS NULL OR memberships.joined_at <= EXCLUDED.left_at", &c->leave, false);
    if (c->rename.nrows)
        qy_pg_steps_add (st, "rename membership",
            "INSERT INTO memberships (brand_id, group_id, member_id, nickname) "
            "SELECT b, g, m, n FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS x (b, g, m, n) "
            "ON CONFLICT (group_id, member_id) DO UPDATE SET nickname = EXCLUDED.nickname", &c->rename, false);
}

//  Renames change the member's own nickname too: the batch's last one for
//  each member, in one statement (a member renamed in two groups is one
//  row, which one UPDATE may change only once).
static void s_renames (Qy__Event **events, size_t n, const ingest_result_t *results, const int64_t *member_ids,
                       qy_pg_steps_t *st)
{
    qy_pg_cols_t r;
    qy_pg_cols_init (&r, 3);
    for (size_t i = 0; i < n; i++)
        if (results [i].status == QY__ITEM_STATUS__ACCEPTED && events [i]->kind == QY__KIND__RENAME) {
            qy_pg_cols_row (&r);
            qy_pg_cols_int (&r, 0, events [i]->brand_id);
            qy_pg_cols_int (&r, 1, member_ids [i]);
            qy_pg_cols_text (&r, 2, events [i]->nickname && *events [i]->nickname ? events [i]->nickname : NULL);
        }
    if (r.nrows)
        qy_pg_steps_add (st, "rename member",
            "UPDATE members SET nickname = x.n "
            "FROM (SELECT DISTINCT ON (b, m) b, m, n FROM unnest ($1::bigint[], $2::bigint[], $3::text[]) "
            "      WITH ORDINALITY AS u (b, m, n, o) ORDER BY b, m, o DESC) x "
            "WHERE members.brand_id = x.b AND members.id = x.m", &r, false);
    qy_pg_cols_free (&r);
}

//  The batch's joins, leaves and renames, in the order they came: a round
//  of statements per time a (group, member) recurs (nearly always one).
static void s_member_changes (Qy__Event **events, size_t n, const ingest_result_t *results, const int64_t *member_ids,
                              qy_pg_steps_t *st)
{
    char **keys = qy_calloc (n + 1, sizeof (char *));
    size_t *round = qy_calloc (n + 1, sizeof (size_t));
    for (size_t i = 0; i < n; i++) {
        Qy__Kind k = events [i]->kind;
        if (results [i].status == QY__ITEM_STATUS__ACCEPTED
            && (k == QY__KIND__JOIN || k == QY__KIND__LEAVE || k == QY__KIND__RENAME))
            keys [i] = qy_printf ("%lld|%lld", (long long) events [i]->group_id, (long long) member_ids [i]);
    }
    size_t rounds = ingest_lookup_rounds ((const char *const *) keys, n, round);
    for (size_t r = 0; r < rounds; r++) {
        s_changes_t c;
        qy_pg_cols_init (&c.join, J_NCOL);
        qy_pg_cols_init (&c.leave, 5);
        qy_pg_cols_init (&c.rename, 4);
        for (size_t i = 0; i < n; i++)
            if (keys [i] && round [i] == r)
                s_change_row (&c, events [i], member_ids [i]);
        s_changes_steps (&c, st);
        qy_pg_cols_free (&c.join);
        qy_pg_cols_free (&c.leave);
        qy_pg_cols_free (&c.rename);
    }
    for (size_t i = 0; i < n; i++)
        free (keys [i]);
    free (keys);
    free (round);
    s_renames (events, n, results, member_ids, st);
}

//  Did PostgreSQL refuse the last statement for what it held (data
//  exception, integrity constraint, program limit such as an index row too
//  large) rather than fail for the moment (connection, server)?
static bool s_data_error (ingest_store_t *self)
{
    return qy_pg_input_at_fault (qy_pg_last_sqlstate (self->pg));
}

//  What a failed statement of steps 2-4 means for the batch (before the
//  rollback, which clears the SQLSTATE).
static int s_batch_failed (ingest_store_t *self, const char *step)
{
    if (!s_data_error (self))
        return -1;
    qy_strlcpy (self->refused, qy_pg_last_sqlstate (self->pg), sizeof (self->refused));
    self->refused_step = step;
    return S_DATA_ERROR;
}

//  Reject one event with why and dead-letter it. Returns 0, or -1 when the
//  dead letter could not be written (PostgreSQL away).
static int s_reject (ingest_store_t *self, Qy__Event *ev, int64_t bid, ingest_result_t *result, const char *why)
{
    result->status = QY__ITEM_STATUS__REJECTED;
    qy_strlcpy (result->error, why, sizeof (result->error));
    return qy_deadletter_event (self->pg, ev, bid > 0 ? bid : 0, "ingest", result->error) ? -1 : 0;
}

//  The reason given for an event PostgreSQL refused.
static void s_refused (ingest_store_t *self, const char *step, char *why, size_t len)
{
    qy_snprintf (why, len, "refused by storage: %s failed (SQLSTATE %s)", step, qy_pg_last_sqlstate (self->pg));
}

//  1. Validates the events, resolves their brands and marks duplicates
//  inside the batch; a bad event is rejected and dead-lettered here.
//  Returns 0, or -1 when PostgreSQL is away.
static int s_validate (ingest_store_t *self, Qy__Event **events, size_t n, ingest_result_t *results, int64_t now_us)
{
    qy_map_t *seen = qy_map_new ();
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        Qy__Event *ev = events [i];
        results [i].status = QY__ITEM_STATUS__ACCEPTED;
        results [i].error [0] = 0;
        const char *why = ingest_validate (ev, now_us);
        int64_t bid = 0;
        if (!why) {
            bid = s_brand (self, ev->brand, now_us);
            if (bid < 0)
                goto done;
            if (bid == 0)
                why = "unknown brand";
        }
        if (why) {
            char unknown [160];
            if (strcmp (why, "unknown brand") == 0) {
                qy_snprintf (unknown, sizeof (unknown), "unknown brand: %s", ev->brand);
                why = unknown;
            }
            if (s_reject (self, ev, bid, &results [i], why))
                goto done;
            continue;
        }
        ev->brand_id = bid;
        ev->ingest_time_us = now_us;
        char *key = s_key (bid, ev->msg_id);
        bool dup = qy_map_get (seen, key, NULL);
        if (!dup)
            qy_map_put (seen, key, (int64_t) i);
        free (key);
        if (dup) {
            results [i].status = QY__ITEM_STATUS__DUPLICATE;
            continue;
        }
        if (s_partition (self, ev->event_time_us)) {
            if (!s_data_error (self))
                goto done;
            //  This event's own statement was refused: the event is at fault.
            char refused [160];
            s_refused (self, "partition", refused, sizeof (refused));
            if (s_reject (self, ev, bid, &results [i], refused))
                goto done;
        }
    }
    rc = 0;
done:
    qy_map_destroy (&seen);
    return rc;
}

//  3. The accepted events into the archive (inside the batch's
//  transaction). New is what message_ids did not hold: the same message id
//  re-sent with another event time is a duplicate too, and whatever the
//  archive already had is marked so. The new ones are owed to the chain
//  (one ingest_owed row per brand, its id in their results) until the bus
//  took them all (ingest_handon.c). Adds the statement to st and returns
//  its index, 0 when no event is to be archived; s_archive_fresh reads its
//  answer.
static size_t s_archive_step (Qy__Event **events, size_t n, const ingest_result_t *results, const int64_t *member_ids,
                              qy_pg_steps_t *st)
{
    qy_pg_cols_t a;
    qy_pg_cols_init (&a, 10);
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
            continue;
        Qy__Event *ev = events [i];
        ev->member_id = member_ids [i];
        qy_pg_cols_row (&a);
        qy_pg_cols_int (&a, 0, ev->brand_id);
        qy_pg_cols_int (&a, 1, ev->event_time_us);
        qy_pg_cols_text (&a, 2, ev->msg_id);
        qy_pg_cols_int (&a, 3, ev->group_id);
        if (ev->store_id)
            qy_pg_cols_int (&a, 4, ev->store_id);
        else
            qy_pg_cols_null (&a, 4);
        qy_pg_cols_int (&a, 5, member_ids [i]);
        qy_pg_cols_text (&a, 6, ingest_kind_name (ev->kind));
        qy_pg_cols_text (&a, 7, ingest_role_name (ev->role));
        qy_pg_cols_text (&a, 8, ev->text && *ev->text ? ev->text : NULL);
        s_extra (&a, 9, ev);
        rows++;
    }
    if (!rows) {
        qy_pg_cols_free (&a);
        return 0;
    }
    return qy_pg_steps_add (st, "archive",
            "WITH v AS (SELECT b, 'epoch'::timestamptz + t * interval '1 microsecond' AS t, m, g, s, u, k, r, x, e "
            "           FROM unnest ($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], "
            "                        $7::text[], $8::text[], $9::text[], $10::jsonb[]) AS v (b, t, m, g, s, u, k, r, x, e)), "
            "ids AS (INSERT INTO message_ids (brand_id, msg_id, event_time) SELECT b, m, t FROM v "
            "        ON CONFLICT DO NOTHING RETURNING brand_id, msg_id, event_time), "
            "owed AS (INSERT INTO ingest_owed (brand_id, msg_ids, event_times) "
            "         SELECT brand_id, array_agg (msg_id), array_agg (event_time) FROM ids GROUP BY brand_id "
            "         RETURNING id, brand_id) "
            "INSERT INTO messages (brand_id, event_time, msg_id, group_id, store_id, member_id, kind, role, text, extra) "
            "SELECT v.b, v.t, v.m, v.g, v.s, v.u, v.k, v.r, v.x, v.e FROM v "
            "JOIN ids ON ids.brand_id = v.b AND ids.msg_id = v.m AND ids.event_time = v.t "
            "ON CONFLICT DO NOTHING RETURNING brand_id, msg_id, (SELECT id FROM owed WHERE owed.brand_id = messages.brand_id)",
            &a, true);
}

//  The archive's answer: the events it returned are new, with the id of
//  the owed row that covers them; the others were duplicates.
static void s_archive_fresh (Qy__Event **events, size_t n, ingest_result_t *results, const PGresult *res)
{
    qy_map_t *fresh = qy_map_new ();
    for (int r = 0; r < PQntuples (res); r++) {
        char *key = s_key (qy_pg_int (res, r, 0), PQgetvalue (res, r, 1));
        qy_map_put (fresh, key, qy_pg_int (res, r, 2));
        free (key);
    }
    for (size_t i = 0; i < n; i++) {
        if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
            continue;
        char *key = s_key (events [i]->brand_id, events [i]->msg_id);
        if (!qy_map_get (fresh, key, &results [i].owed))
            results [i].status = QY__ITEM_STATUS__DUPLICATE;
        free (key);
    }
    qy_map_destroy (&fresh);
}

//  Whether an accepted event writes to memberships: a join, leave or
//  rename does; any other event when its member is not known to be in the
//  group (key: "gid|mid", filled here).
static bool s_membership_write (ingest_store_t *self, const Qy__Event *ev, int64_t member_id, char key [static 64])
{
    qy_snprintf (key, 64, "%lld|%lld", (long long) ev->group_id, (long long) member_id);
    return ev->kind == QY__KIND__JOIN || ev->kind == QY__KIND__LEAVE || ev->kind == QY__KIND__RENAME
        || !qy_map_get (self->memberships, key, NULL);
}

//  Whether any event of the batch may write to memberships (before the
//  archive says which are new: fewer may then, never more).
static bool s_memberships_due (ingest_store_t *self, Qy__Event **events, size_t n, const ingest_result_t *results,
                               const int64_t *member_ids)
{
    char key [64];
    for (size_t i = 0; i < n; i++)
        if (results [i].status == QY__ITEM_STATUS__ACCEPTED && s_membership_write (self, events [i], member_ids [i], key))
            return true;
    return false;
}

//  4. The membership changes of the new events: joins, leaves and renames
//  (s_member_changes), and members who talk without a reported join in one
//  statement, as steps of the commit's pipeline.
static void s_memberships (ingest_store_t *self, Qy__Event **events, size_t n, ingest_result_t *results,
                           const int64_t *member_ids, qy_pg_steps_t *st)
{
    qy_pg_cols_t m;
    qy_pg_cols_init (&m, 4);
    size_t implicit = 0;
    s_member_changes (events, n, results, member_ids, st);
    for (size_t i = 0; i < n; i++) {
        if (results [i].status != QY__ITEM_STATUS__ACCEPTED)
            continue;
        Qy__Event *ev = events [i];
        char key [64];
        if (!s_membership_write (self, ev, member_ids [i], key))
            continue;
        if (ev->kind == QY__KIND__JOIN || ev->kind == QY__KIND__LEAVE || ev->kind == QY__KIND__RENAME)
            qy_map_put (self->memberships, key, 1);
        else {
            //  Talking without a reported join: the member is in the group.
            qy_pg_cols_row (&m);
            qy_pg_cols_int (&m, 0, ev->brand_id);
            qy_pg_cols_int (&m, 1, ev->group_id);
            qy_pg_cols_int (&m, 2, member_ids [i]);
            qy_pg_cols_text (&m, 3, ingest_role_name (ev->role));
            ingest_lookup_room (self->memberships, self->cache_max, 1);
            qy_map_put (self->memberships, key, 1);
            implicit++;
        }
    }
    if (implicit) {
        //  Most of these members are in the group already (the cache only
        //  forgot them). ON CONFLICT DO UPDATE locks the row it meets even
        //  when its WHERE then changes nothing, and a lock is a write (WAL,
        //  a full page after each checkpoint): 3.7 MB of WAL for 500 such
        //  rows. So rows that would change nothing are left out first by a
        //  read; ON CONFLICT stays for a membership another batch adds
        //  meanwhile.
        qy_pg_steps_add (st, "implicit membership",
            "INSERT INTO memberships (brand_id, group_id, member_id, role) "
            "SELECT DISTINCT ON (g, m) b, g, m, r FROM unnest ($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS x (b, g, m, r) "
            "WHERE NOT EXISTS (SELECT 1 FROM memberships o WHERE o.group_id = x.g AND o.member_id = x.m "
            "                    AND (o.role <> 'member' OR x.r = 'member')) "
            "ON CONFLICT (group_id, member_id) DO UPDATE SET role = EXCLUDED.role "
            "WHERE memberships.role = 'member' AND EXCLUDED.role <> 'member'", &m, false);
    }
    qy_pg_cols_free (&m);
}

//  3. and 4. in one transaction: BEGIN and the archive, whose answer says
//  which events are new; then the new events' memberships and COMMIT. Each
//  statement was a round trip of its own, and every event of the batch
//  waited on them; now that is two, or one when no event can write to
//  memberships (a steady chat of members known to be in their groups).
//  false when a statement failed; *in_tx tells whether the transaction
//  is open.
static bool s_transaction (ingest_store_t *self, Qy__Event **events, size_t n, ingest_result_t *results,
                           const int64_t *member_ids, bool *in_tx)
{
    bool whole = !s_memberships_due (self, events, n, results, member_ids);
    qy_pg_steps_t st;
    qy_pg_steps_init (&st);
    qy_pg_steps_add (&st, "begin", "BEGIN", NULL, false);
    size_t archive = s_archive_step (events, n, results, member_ids, &st);
    if (whole)
        qy_pg_steps_add (&st, "commit", "COMMIT", NULL, false);
    bool ok = qy_pg_pipeline (self->pg, st.steps, st.n);
    *in_tx = st.steps [0].ok && !(whole && ok);
    if (ok && archive)
        s_archive_fresh (events, n, results, st.steps [archive].res);
    qy_pg_steps_free (&st);
    if (!ok || whole)
        return ok;
    qy_pg_steps_init (&st);
    s_memberships (self, events, n, results, member_ids, &st);
    qy_pg_steps_add (&st, "commit", "COMMIT", NULL, false);
    ok = qy_pg_pipeline (self->pg, st.steps, st.n);
    qy_pg_steps_free (&st);
    return ok;
}

//  One attempt at the batch. Returns 0 (committed), -1 (PostgreSQL away:
//  nothing stored) or S_DATA_ERROR (a statement covering many events was
//  refused for its data: nothing of steps 2-4 stored; the caller splits).
//  An event whose own statement is refused for its data is rejected here.
static int s_write (ingest_store_t *self, Qy__Event **events, size_t n, ingest_result_t *results, int64_t now_us)
{
    int64_t *member_ids = qy_calloc (n, sizeof (int64_t));
    int rc = -1;
    bool in_tx = false;
    if (s_validate (self, events, n, results, now_us))
        goto done;
    //  2. Groups, channels and members, one statement each for those not cached.
    const char *step = s_resolve (self, &s_groups, events, n, results) ? s_groups.ctx
                     : s_resolve (self, &s_channels, events, n, results) ? s_channels.ctx : NULL;
    if (step || s_members (self, events, n, results, member_ids)) {
        rc = s_batch_failed (self, step);
        goto done;
    }
    if (!s_transaction (self, events, n, results, member_ids, &in_tx)) {
        rc = s_batch_failed (self, NULL);
        goto done;
    }
    in_tx = false;
    rc = 0;
done:
    if (in_tx)
        qy_pg_run (self->pg, "rollback", "ROLLBACK", 0, NULL, NULL);
    if (rc) {
        //  Nothing is stored: forget memberships we may have cached in the
        //  failed transaction so the retry writes them again.
        qy_map_clear (self->memberships);
    }
    free (member_ids);
    return rc;
}

//  A statement covering events[0..n) was refused for what it held: find the
//  events at fault by halves, each half in a transaction of its own; an
//  event refused alone is rejected and dead-lettered, the others stored.
//  Returns 0, or -1 when PostgreSQL went away meanwhile (halves already
//  committed stay stored: their retry is answered duplicate).
static int s_split (ingest_store_t *self, Qy__Event **events, size_t n, ingest_result_t *results, int64_t now_us)
{
    //  Events already rejected were dead-lettered: leave them be.
    size_t *idx = qy_calloc (n ? n : 1, sizeof (size_t));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (results [i].status != QY__ITEM_STATUS__REJECTED)
            idx [m++] = i;
    int rc = 0;
    if (m == 1) {
        char refused [160];
        //  Which look-up refused it, as when each event had its own.
        if (self->refused_step)
            qy_snprintf (refused, sizeof (refused), "refused by storage: %s failed (SQLSTATE %s)", self->refused_step,
                         self->refused);
        else
            qy_snprintf (refused, sizeof (refused), "refused by storage (SQLSTATE %s)", self->refused);
        Qy__Event *ev = events [idx [0]];
        qy_log_warn ("msg_id=%s brand=%s refused by storage", qy_utf8_valid (ev->msg_id) ? ev->msg_id : "(not UTF-8)",
                     qy_utf8_valid (ev->brand) ? ev->brand : "(not UTF-8)");
        rc = s_reject (self, ev, ev->brand_id, &results [idx [0]], refused);
    }
    Qy__Event **sub = qy_calloc (m ? m : 1, sizeof (Qy__Event *));
    ingest_result_t *subres = qy_calloc (m ? m : 1, sizeof (ingest_result_t));
    for (size_t half = 0; m > 1 && half < 2 && rc == 0; half++) {
        size_t from = half ? m / 2 : 0, to = half ? m : m / 2;
        for (size_t k = from; k < to; k++)
            sub [k - from] = events [idx [k]];
        rc = s_write (self, sub, to - from, subres, now_us);
        if (rc == S_DATA_ERROR)
            rc = s_split (self, sub, to - from, subres, now_us);
        for (size_t k = from; rc == 0 && k < to; k++)
            results [idx [k]] = subres [k - from];
    }
    free (sub);
    free (subres);
    free (idx);
    return rc;
}

//  The door of both front doors: what a gateway sent in fields a stage of
//  Qunyun owns (a verdict, replay, a signal, resolved ids …) is dropped
//  before anything else looks at the event. Said at debug level only: a
//  gateway that always sends them must not flood the log.
static void s_clear_downstream (Qy__Event **events, size_t n)
{
    static qy_metric_t *m_cleared;
    if (!m_cleared)
        m_cleared = qy_counter ("qy_ingest_cleared_events_total",
                                "gateway events that carried fields owned downstream (cleared)");
    for (size_t i = 0; i < n; i++) {
        char cleared [160];
        if (!ingest_clear_downstream (events [i], cleared, sizeof (cleared)))
            continue;
        qy_metric_add (m_cleared, 1);
        qy_log_debug ("msg_id=%s brand=%s cleared fields owned downstream: %s",
                      qy_utf8_valid (events [i]->msg_id) ? events [i]->msg_id : "(not UTF-8)",
                      qy_utf8_valid (events [i]->brand) ? events [i]->brand : "(not UTF-8)", cleared);
    }
}

int ingest_store_write (ingest_store_t *self, Qy__Event **events, size_t n,
                        ingest_result_t *results, int64_t now_us)
{
    s_clear_downstream (events, n);
    int rc = s_write (self, events, n, results, now_us);
    if (rc == S_DATA_ERROR) {
        qy_log_warn ("storage refused a batch for its data, finding the events at fault sqlstate=%s events=%zu",
                     self->refused, n);
        rc = s_split (self, events, n, results, now_us);
    }
    return rc;
}
