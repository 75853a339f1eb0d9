//  The console's read side over the brand's groups, stores, members and
//  roll-ups. Every statement runs inside the request's scoped transaction:
//  row-level security decides which rows exist, so a group of another
//  store is simply not found (404). The JSON is built by PostgreSQL.
#include "console_int.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

//  The brand's "today" (its time zone), for the scope's brand (+08:00 when
//  an admin looks across brands).
#define TODAY "(now () + make_interval (mins => coalesce ((SELECT qy_tz_offset_min (tz_name, tz_offset_min) FROM brands WHERE id = qy_scope_brand ()), 480)))::date"

//  ------------------------------------------------------------ groups

typedef struct {
    const char *p [16];
    int         n;
    qy_buf_t    sql;
} s_query_t;

static const char *s_get (void *arg, const char *name)
{
    return console_arg (arg, name);
}

//  Add a parameter and return its $ number.
static int s_param (s_query_t *q, const char *v)
{
    q->p [q->n++] = v;
    return q->n;
}

//  The groups list's FROM and WHERE for a parsed query.
static void s_groups_from (s_query_t *q, const console_groups_query_t *g, char *like)
{
    qy_buf_puts (&q->sql,
        " FROM groups g LEFT JOIN stores s ON s.id = g.store_id LEFT JOIN regions rg ON rg.id = s.region_id"
        " LEFT JOIN group_states gs ON gs.group_id = g.id LEFT JOIN group_health gh ON gh.group_id = g.id WHERE true");
    if (g->store)
        qy_buf_printf (&q->sql, " AND s.code = $%d", s_param (q, g->store));
    if (g->region)
        qy_buf_printf (&q->sql, " AND rg.code = $%d", s_param (q, g->region));
    if (g->state)
        qy_buf_printf (&q->sql, " AND gs.state = $%d", s_param (q, g->state));
    if (g->tag)
        qy_buf_printf (&q->sql, " AND g.tags @> ARRAY[$%d::text]", s_param (q, g->tag));
    if (g->type)
        qy_buf_printf (&q->sql, " AND g.type = $%d", s_param (q, g->type));
    if (like)
        qy_buf_printf (&q->sql, " AND (g.name LIKE $%d OR g.code LIKE $%d)", s_param (q, like), q->n);
    if (g->min_size >= 0)
        qy_buf_printf (&q->sql, " AND coalesce (gh.members, 0) >= %ld", g->min_size);
    if (g->max_size >= 0)
        qy_buf_printf (&q->sql, " AND coalesce (gh.members, 0) <= %ld", g->max_size);
    if (g->min_health >= 0)
        qy_buf_printf (&q->sql, " AND gs.health >= %ld", g->min_health);
    if (g->max_health >= 0)
        qy_buf_printf (&q->sql, " AND gs.health <= %ld", g->max_health);
}

#define GROUP_COLUMNS \
    "g.code, g.name, s.code AS store, s.name AS store_name, rg.code AS region, g.type, g.positioning, g.tags, " \
    "g.capacity, coalesce (gh.members, 0) AS members, gs.state, gs.health, round (coalesce (gh.msgs_per_day, 0)::numeric, 1) AS msgs_per_day"

//  Parse the query; false (replied 400) on a bad parameter. *like is
//  the name/code pattern (caller frees) when q= was given.
static bool s_groups_parse (console_req_t *r, console_groups_query_t *g, char **like)
{
    char err [256];
    if (console_groups_query_parse (s_get, r, g, err, sizeof (err))) {
        console_error (r, 400, "%s", err);
        return false;
    }
    if (g->q) {
        char *esc = console_like_escape (g->q);
        *like = qy_printf ("%%%s%%", esc);
        free (esc);
    }
    return true;
}

void console_api_groups (console_req_t *r)
{
    s_query_t q = { .n = 0 };
    console_groups_query_t g;
    char *like = NULL;
    if (!s_groups_parse (r, &g, &like))
        return;
    qy_buf_init (&q.sql);
    qy_buf_puts (&q.sql, "WITH page AS (SELECT " GROUP_COLUMNS ", count (*) OVER () AS total");
    s_groups_from (&q, &g, like);
    qy_buf_printf (&q.sql, " ORDER BY %s %s NULLS LAST, g.id LIMIT %ld OFFSET %ld) "
                   "SELECT json_build_object ('items', coalesce (json_agg (to_jsonb (page) - 'total'), '[]'), "
                   "'total', coalesce (max (total), 0), "
                   "'next', CASE WHEN max (total) > %ld THEN (%ld)::text END) FROM page",
                   g.sort, g.desc ? "DESC" : "ASC", g.limit, g.offset, g.offset + g.limit, g.offset + g.limit);
    console_sql_json (r, "groups", q.sql.data, q.n, q.p);
    qy_buf_free (&q.sql);
    free (like);
}

void console_api_groups_csv (console_req_t *r)
{
    s_query_t q = { .n = 0 };
    console_groups_query_t g;
    char *like = NULL;
    if (!s_groups_parse (r, &g, &like))
        return;
    qy_buf_init (&q.sql);
    qy_buf_puts (&q.sql, "SELECT " GROUP_COLUMNS);
    s_groups_from (&q, &g, like);
    qy_buf_printf (&q.sql, " ORDER BY %s %s NULLS LAST, g.id LIMIT %ld", g.sort, g.desc ? "DESC" : "ASC", r->cfg->export_max);
    PGresult *res = console_sql (r, q.sql.data, q.n, q.p);
    qy_buf_free (&q.sql);
    free (like);
    if (!res)
        return;
    bool en = console_arg (r, "lang") && strcmp (console_arg (r, "lang"), "en") == 0;
    static const char *zh [] = { "群编号", "群名称", "门店", "门店名称", "区域", "类型", "定位", "标签", "容量", "成员数", "状态", "健康分", "日均消息" };
    qy_buf_reset (&r->out);
    qy_buf_puts (&r->out, "\xEF\xBB\xBF");       //  BOM: Excel on Chinese Windows then reads UTF-8
    int cols = PQnfields (res);
    for (int c = 0; c < cols; c++) {
        qy_buf_puts (&r->out, c ? "," : "");
        console_csv_field (&r->out, en || c >= (int) QY_ARRAY_LEN (zh) ? PQfname (res, c) : zh [c]);
    }
    qy_buf_puts (&r->out, "\r\n");
    for (int i = 0; i < PQntuples (res); i++) {
        for (int c = 0; c < cols; c++) {
            qy_buf_puts (&r->out, c ? "," : "");
            console_csv_field (&r->out, PQgetvalue (res, i, c));
        }
        qy_buf_puts (&r->out, "\r\n");
    }
    char detail [64];
    qy_snprintf (detail, sizeof (detail), "{\"rows\":%d}", PQntuples (res));
    PQclear (res);
    r->status = 200;
    r->type = "text/csv; charset=utf-8";
    r->disposition = qy_strdup ("attachment; filename=\"groups.csv\"");
    console_audit (r, console_brand_of (r, NULL), "groups.export", "groups", NULL, detail);
}

void console_api_group (console_req_t *r)
{
    console_sql_json (r, "group",
        "SELECT json_build_object ('code', g.code, 'name', g.name, 'store', s.code, 'store_name', s.name, 'region', rg.code, "
        "  'type', g.type, 'positioning', g.positioning, 'tags', g.tags, 'capacity', g.capacity, 'created_at', g.created_at, "
        "  'state', gs.state, 'health', gs.health, 'lifecycle', gs.lifecycle, "
        "  'measures', to_jsonb (gh) - 'brand_id' - 'group_id' - 'state' - 'health' - 'lifecycle') "
        "FROM groups g LEFT JOIN stores s ON s.id = g.store_id LEFT JOIN regions rg ON rg.id = s.region_id "
        "LEFT JOIN group_states gs ON gs.group_id = g.id LEFT JOIN group_health gh ON gh.group_id = g.id "
        "WHERE g.code = $1 ORDER BY g.brand_id LIMIT 1", 1, (const char *[]) { r->seg [1] });
}

void console_api_group_profile (console_req_t *r)
{
    char d [24];
    if (!console_days_arg (r, 30, 400, d))
        return;
    const char *p [] = { r->seg [1], d };
    console_sql_json (r, "group",
        "WITH g AS (SELECT id, brand_id FROM groups WHERE code = $1 ORDER BY brand_id LIMIT 1) "
        "SELECT json_build_object ("
        " 'days', (SELECT coalesce (json_agg (json_build_object ('day', x.day, 'messages', x.messages, 'active', x.active_members, "
        "     'joins', x.joins, 'leaves', x.leaves, 'violations', x.violations, 'staff', x.staff_messages, 'replies', x.replies, "
        "     'answered', x.answered, 'questions', x.questions) ORDER BY x.day), '[]') "
        "   FROM daily_group_stats x WHERE x.group_id = g.id AND x.day > " TODAY " - $2::int), "
        //  The health score and its parts as of each day's last evaluation
        //  (group_health_days, kept by migration 115's trigger).
        " 'health', (SELECT coalesce (json_agg (json_build_object ('day', x.day, 'health', x.health, 'state', x.state, "
        "     'members', x.members, 'dau', x.dau, 'wau', x.wau, 'mau', x.mau, 'active_ratio', round (x.active_ratio::numeric, 4), "
        "     'msgs_per_day', round (x.msgs_per_day::numeric, 2), 'top3_share', round (x.top3_share::numeric, 4), "
        "     'gini', round (x.gini::numeric, 4), 'self_activation', round (x.self_activation::numeric, 4), "
        "     'growth_rate', round (x.growth_rate::numeric, 4), 'leave_rate', round (x.leave_rate::numeric, 4), "
        "     'violation_rate', round (x.violation_rate::numeric, 4), 'post_response', round (x.post_response::numeric, 3)) "
        "     ORDER BY x.day), '[]') FROM group_health_days x WHERE x.group_id = g.id AND x.day > " TODAY " - $2::int), "
        " 'standing', (SELECT coalesce (json_object_agg (state, n), '{}') FROM (SELECT state, count (*) AS n FROM member_states "
        "   WHERE group_id = g.id GROUP BY state) s), "
        " 'members', (SELECT coalesce (json_agg (m), '[]') FROM (SELECT mb.user_id, coalesce (ms.nickname, mb.nickname) AS nickname, "
        "     ms.role, ms.joined_at, st.trust_level, st.state, round (st.activity::numeric, 2) AS activity, "
        "     round (st.contribution::numeric, 2) AS contribution, c.code AS channel "
        "   FROM memberships ms JOIN members mb ON mb.id = ms.member_id "
        "   LEFT JOIN member_states st ON st.group_id = ms.group_id AND st.member_id = ms.member_id "
        "   LEFT JOIN channels c ON c.id = ms.channel_id WHERE ms.group_id = g.id AND ms.left_at IS NULL "
        "   ORDER BY st.contribution DESC NULLS LAST, mb.user_id LIMIT 200) m), "
        " 'suggestions', (SELECT coalesce (json_agg (json_build_object ('kind', su.kind, 'rank', su.rank, 'user_id', mb.user_id, "
        "     'nickname', mb.nickname, 'score', round (su.score::numeric, 3), 'reason', su.reason, 'needed', su.needed) "
        "     ORDER BY su.kind, su.rank), '[]') FROM member_suggestions su JOIN members mb ON mb.id = su.member_id WHERE su.group_id = g.id), "
        " 'channels', (SELECT coalesce (json_agg (json_build_object ('channel', coalesce (c.code, '-'), 'kind', coalesce (c.kind, 'unknown'), "
        "     'joins', cs.joins, 'members', cs.members, 'spoke', cs.spoke, 'violators', cs.violators, "
        "     'retained7', cs.retained7, 'matured7', cs.matured7) ORDER BY cs.joins DESC), '[]') "
        "   FROM channel_group_stats cs LEFT JOIN channels c ON c.id = cs.channel_id WHERE cs.group_id = g.id), "
        " 'messages', (SELECT coalesce (json_agg (m ORDER BY m.event_time DESC), '[]') FROM (SELECT ms.event_time, ms.msg_id, "
        "     ms.kind, ms.role, mb.user_id, mb.nickname, ms.text FROM messages ms LEFT JOIN members mb ON mb.id = ms.member_id "
        "   WHERE ms.brand_id = g.brand_id AND ms.group_id = g.id AND ms.event_time > now () - interval '30 days' "
        "   ORDER BY ms.event_time DESC LIMIT 30) m), "
        " 'violations', (SELECT coalesce (json_agg (v ORDER BY v.id DESC), '[]') FROM (SELECT v.id, v.msg_id, v.category, v.action, "
        "     v.status, v.strike, v.excerpt, v.created_at, mb.user_id FROM violations v LEFT JOIN members mb ON mb.id = v.member_id "
        "   WHERE v.brand_id = g.brand_id AND v.group_id = g.id ORDER BY v.id DESC LIMIT 30) v), "
        " 'posts', (SELECT coalesce (json_agg (j ORDER BY j.sent_at DESC), '[]') FROM (SELECT c.name AS campaign, j.step, j.variant, "
        "     j.text, j.sent_at FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id "
        "   WHERE j.brand_id = g.brand_id AND j.group_id = g.id AND j.status = 'sent' ORDER BY j.sent_at DESC LIMIT 20) j)"
        ") FROM g", 2, p);
}

//  Tags: at most 20, each 1–32 characters; positioning at most 64 or null.
static bool s_tags (console_req_t *r, json_t *tags, qy_buf_t *arr)
{
    if (!json_is_array (tags) || json_array_size (tags) > 20) {
        console_error (r, 400, "tags: want an array of at most 20 strings");
        return false;
    }
    qy_buf_puts (arr, "{");
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        const char *s = json_string_value (t);
        if (!s || !*s || strlen (s) > 96) {
            console_error (r, 400, "tags: each a non-empty string of at most 32 characters");
            return false;
        }
        if (i)
            qy_buf_puts (arr, ",");
        qy_buf_pg_array_elem (arr, s);
    }
    qy_buf_puts (arr, "}");
    return true;
}

void console_api_group_update (console_req_t *r)
{
    json_t *tags = json_object_get (r->json, "tags"), *pos = json_object_get (r->json, "positioning");
    if (!r->json || (!tags && !pos) || (pos && !json_is_string (pos) && !json_is_null (pos))
        || (json_is_string (pos) && strlen (json_string_value (pos)) > 192)) {
        console_error (r, 400, "send {\"tags\": [...], \"positioning\": \"…\" or null}");
        return;
    }
    qy_buf_t arr;
    qy_buf_init (&arr);
    if (tags && !s_tags (r, tags, &arr)) {
        qy_buf_free (&arr);
        return;
    }
    const char *p [] = { r->seg [1], tags ? arr.data : NULL, pos ? "t" : "f", json_string_value (pos) };
    PGresult *res = console_sql (r,
        "UPDATE groups SET tags = coalesce ($2::text[], tags), positioning = CASE WHEN $3::boolean THEN $4 ELSE positioning END "
        "WHERE id = (SELECT id FROM groups WHERE code = $1 ORDER BY brand_id LIMIT 1) "
        "RETURNING brand_id, json_build_object ('code', code, 'tags', tags, 'positioning', positioning)", 4, p);
    qy_buf_free (&arr);
    if (!res)
        return;
    if (PQntuples (res) == 0)
        console_error (r, 404, "no such group");
    else
        console_audited_reply (r, PQgetvalue (res, 0, 0), "group.update", "group", r->seg [1], PQgetvalue (res, 0, 1));
    PQclear (res);
}

//  ------------------------------------------------------------ stores, members

void console_api_stores (console_req_t *r)
{
    console_sql_json (r, "stores",
        "SELECT json_build_object ('items', coalesce (json_agg (x ORDER BY x.code), '[]')) FROM ("
        " SELECT s.code, s.name, rg.code AS region, rg.name AS region_name, count (g.id) AS groups, "
        "   round (avg (gs.health), 1) AS health FROM stores s LEFT JOIN regions rg ON rg.id = s.region_id "
        " LEFT JOIN groups g ON g.store_id = s.id LEFT JOIN group_states gs ON gs.group_id = g.id GROUP BY s.id, rg.id) x", 0, NULL);
}

void console_api_member (console_req_t *r)
{
    console_sql_json (r, "member",
        "WITH m AS (SELECT id, brand_id, user_id, nickname, first_seen_at FROM members WHERE user_id = $1 ORDER BY brand_id LIMIT 1), "
        "gs AS (SELECT ms.group_id FROM memberships ms, m WHERE ms.brand_id = m.brand_id AND ms.member_id = m.id) "
        "SELECT json_build_object ('user_id', m.user_id, 'nickname', m.nickname, 'first_seen_at', m.first_seen_at, "
        " 'groups', (SELECT coalesce (json_agg (json_build_object ('code', g.code, 'name', g.name, 'role', ms.role, "
        "     'joined_at', ms.joined_at, 'left_at', ms.left_at, 'leave_reason', ms.leave_reason, 'join_scene', ms.join_scene, "
        "     'channel', c.code, 'channel_kind', c.kind, 'inviter', ms.inviter, 'state', st.state, 'trust_level', st.trust_level) "
        "     ORDER BY ms.joined_at), '[]') FROM memberships ms JOIN groups g ON g.id = ms.group_id "
        "   LEFT JOIN channels c ON c.id = ms.channel_id "
        "   LEFT JOIN member_states st ON st.group_id = ms.group_id AND st.member_id = ms.member_id "
        "   WHERE ms.brand_id = m.brand_id AND ms.member_id = m.id), "
        " 'activity', (SELECT coalesce (json_agg (json_build_object ('day', day, 'messages', n) ORDER BY day), '[]') FROM "
        "   (SELECT day, sum (messages) AS n FROM daily_member_stats WHERE group_id IN (SELECT group_id FROM gs) "
        "    AND member_id = m.id AND day > " TODAY " - 90 GROUP BY day) a), "
        " 'violations', (SELECT coalesce (json_agg (v ORDER BY v.id DESC), '[]') FROM (SELECT v.id, v.msg_id, g.code AS \"group\", "
        "     v.category, v.action, v.strike, v.status, v.mute_until, v.excerpt, v.created_at FROM violations v "
        "   JOIN groups g ON g.id = v.group_id WHERE v.brand_id = m.brand_id AND v.member_id = m.id ORDER BY v.id DESC LIMIT 50) v), "
        " 'strikes', (SELECT count (*) FROM violations WHERE brand_id = m.brand_id AND member_id = m.id AND strike > 0 "
        "   AND status <> 'overturned'), "
        " 'muted_until', (SELECT max (mute_until) FROM violations WHERE brand_id = m.brand_id AND member_id = m.id "
        "   AND mute_until > now () AND status <> 'overturned'), "
        " 'block', (SELECT json_build_object ('reason', reason, 'created_at', created_at, 'lifted_at', lifted_at) FROM blocks "
        "   WHERE brand_id = m.brand_id AND member_id = m.id), "
        " 'campaigns', json_build_object ("
        "   'contacts', (SELECT count (*) FROM campaign_contacts WHERE brand_id = m.brand_id AND member_id = m.id), "
        "   'entries', (SELECT count (*) FROM campaign_entries WHERE brand_id = m.brand_id AND member_id = m.id), "
        "   'checkins', (SELECT count (*) FROM campaign_checkins WHERE brand_id = m.brand_id AND member_id = m.id), "
        "   'conversions', (SELECT count (*) FROM campaign_conversions WHERE brand_id = m.brand_id AND member_id = m.id), "
        "   'opted_out', (SELECT json_build_object ('source', source, 'at', created_at) FROM campaign_optouts "
        "     WHERE brand_id = m.brand_id AND member_id = m.id)), "
        " 'tags', (SELECT coalesce (json_agg (tag ORDER BY tag), '[]') FROM member_tags WHERE brand_id = m.brand_id AND member_id = m.id), "
        " 'contacts', (SELECT coalesce (json_agg (json_build_object ('staff', staff, 'added_at', added_at, 'deleted_at', deleted_at, "
        "   'deleted_by', deleted_by) ORDER BY staff), '[]') FROM contacts WHERE brand_id = m.brand_id AND member_id = m.id)"
        ") FROM m", 1, (const char *[]) { r->seg [1] });
}

//  ------------------------------------------------------------ overview

//  The overview's statement. The trend sums store_day_totals (the day
//  roll-ups summed per store and day by migration 115's triggers): 100
//  stores × 90 days instead of 3,000 groups × 90 days. %s is a
//  restatement of the scope for the planner (the policies decide the rows
//  either way): a narrow scope's stores lead into the (store_id, day)
//  index, a brand into (brand_id, …); behind the policies' OR it would
//  read the whole brand's days.
static const char *s_overview_sql =
    "WITH t AS (SELECT " TODAY " AS today), "
    "d AS (SELECT day, sum (messages) AS messages, sum (active_members) AS active, sum (joins) AS joins, "
    "  sum (leaves) AS leaves, sum (violations) AS violations FROM store_day_totals "
    "  WHERE day > (SELECT today FROM t) - $1::int %s GROUP BY day), "
    //  SOP compliance as `qyctl campaign report` counts it: planned steps
    //  (not weekly folds) due in the last 30 days that went out, against
    //  those that should have (a step a guard blocked, or one with nothing
    //  to post, was rightly not sent).
    "sop AS (SELECT g.store_id, count (*) FILTER (WHERE j.status = 'sent') AS sent, "
    "  count (*) FILTER (WHERE j.status <> 'blocked' AND coalesce (j.guard, '') NOT IN ('nothing_to_post', 'not_silent')) AS due "
    "  FROM campaign_jobs j JOIN groups g ON g.id = j.group_id WHERE j.period !~ '^w[0-9]+$' "
    "  AND j.due_at > now () - interval '30 days' AND j.due_at <= now () GROUP BY g.store_id) "
    "SELECT json_build_object ("
    " 'today', (SELECT today FROM t), 'days', $1::int, "
    " 'cards', json_build_object ('today', (SELECT to_json (d) FROM d, t WHERE d.day = t.today), "
    "   'yesterday', (SELECT to_json (d) FROM d, t WHERE d.day = t.today - 1), "
    "   'open_reviews', (SELECT count (*) FROM violations WHERE status = 'open'), "
    "   'new_reviews_today', (SELECT count (*) FROM violations WHERE status = 'open' AND created_at >= (SELECT today FROM t)), "
    "   'pending_jobs', (SELECT count (*) FROM campaign_jobs WHERE status = 'pending' AND due_at < now ())), "
    " 'trend', (SELECT coalesce (json_agg (d ORDER BY day), '[]') FROM d), "
    " 'states', (SELECT coalesce (json_object_agg (state, n), '{}') FROM (SELECT state, count (*) AS n FROM group_states GROUP BY state) s), "
    " 'stores', (SELECT coalesce (json_agg (x ORDER BY x.health DESC NULLS LAST, x.code), '[]') FROM ("
    "   SELECT s.code, s.name, count (g.id) AS groups, round (avg (gs.health), 1) AS health, "
    "     round (100.0 * max (sop.sent) / nullif (max (sop.due), 0), 1) AS sop_compliance "
    "   FROM stores s LEFT JOIN groups g ON g.store_id = s.id LEFT JOIN group_states gs ON gs.group_id = g.id "
    "   LEFT JOIN sop ON sop.store_id = s.id GROUP BY s.id) x), "
    " 'alerts', (SELECT coalesce (json_agg (a ORDER BY a.created_at DESC), '[]') FROM (SELECT created_at, status, source, "
    "   coalesce (payload #>> '{markdown,content}', payload #>> '{text,content}', payload ->> 'text', '') AS text "
    "   FROM deliveries WHERE kind = 'alert' AND created_at > now () - interval '7 days' ORDER BY created_at DESC LIMIT 20) a)"
    ")";

//  An overview reads every store-day and every group of its scope: each
//  replica keeps an answer for overview.cache_s per scope and range, as
//  many users of one scope open the same dashboard and the roll-ups change
//  only on scoring's interval.
typedef struct {
    char    key [96];
    int64_t until;
    char   *json;
} s_cached_t;
static s_cached_t s_cache [64];
static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool s_cache_get (const char *key, console_req_t *r)
{
    bool hit = false;
    pthread_mutex_lock (&s_cache_lock);
    for (size_t i = 0; i < QY_ARRAY_LEN (s_cache) && !hit; i++)
        if (s_cache [i].json && strcmp (s_cache [i].key, key) == 0 && s_cache [i].until > qy_mono_us ()) {
            console_reply (r, 200, s_cache [i].json);
            hit = true;
        }
    pthread_mutex_unlock (&s_cache_lock);
    return hit;
}

//  Keep json under key in the entry that expires first.
static void s_cache_put (const char *key, const char *json, long ttl_s)
{
    pthread_mutex_lock (&s_cache_lock);
    size_t victim = 0;
    for (size_t i = 0; i < QY_ARRAY_LEN (s_cache); i++)
        if (strcmp (s_cache [i].key, key) == 0 || s_cache [i].until < s_cache [victim].until) {
            victim = i;
            if (strcmp (s_cache [i].key, key) == 0)
                break;
        }
    free (s_cache [victim].json);
    qy_strlcpy (s_cache [victim].key, key, sizeof (s_cache [victim].key));
    s_cache [victim].json = qy_strdup (json);
    s_cache [victim].until = qy_mono_us () + ttl_s * 1000000;
    pthread_mutex_unlock (&s_cache_lock);
}

void console_api_overview (console_req_t *r)
{
    char d [24], key [96];
    if (!console_days_arg (r, 30, 90, d))
        return;
    const console_principal_t *w = &r->who;
    qy_snprintf (key, sizeof (key), "%d:%lld:%lld:%lld:%s", (int) w->role, (long long) w->brand_id,
                 (long long) w->region_id, (long long) w->store_id, d);
    if (r->cfg->overview_cache_s && s_cache_get (key, r))
        return;
    const char *hint = w->region_id || w->store_id ? "AND store_id = ANY (qy_scope_store_ids ())"
                     : w->brand_id ? "AND brand_id = qy_scope_brand ()" : "";
    char *sql = qy_printf (s_overview_sql, hint);
    console_sql_json (r, "overview", sql, 1, (const char *[]) { d });
    free (sql);
    if (r->cfg->overview_cache_s && r->status == 200) {
        char *json = qy_strndup (r->out.data, r->out.len - 1);      //  without the newline console_reply adds
        s_cache_put (key, json, r->cfg->overview_cache_s);
        free (json);
    }
}

//  ------------------------------------------------------------ campaigns, channels

void console_api_campaigns (console_req_t *r)
{
    console_sql_json (r, "campaigns",
        "SELECT json_build_object ('items', coalesce (json_agg (x ORDER BY x.name), '[]')) FROM ("
        " SELECT c.name, c.trigger, c.enabled, c.version, c.updated_at, c.definition, "
        "  (SELECT json_object_agg (status, n) FROM (SELECT status, count (*) AS n FROM campaign_jobs j "
        "    WHERE j.brand_id = c.brand_id AND j.campaign_id = c.id GROUP BY status) s) AS jobs, "
        "  (SELECT count (*) FROM campaign_conversions v WHERE v.brand_id = c.brand_id AND v.campaign_id = c.id) AS conversions "
        " FROM campaigns c) x", 0, NULL);
}

void console_api_channels (console_req_t *r)
{
    console_sql_json (r, "channels",
        "SELECT json_build_object ('items', coalesce (json_agg (x ORDER BY x.joins DESC), '[]')) FROM ("
        " SELECT coalesce (c.code, '-') AS channel, coalesce (c.kind, 'unknown') AS kind, sum (cs.joins) AS joins, "
        "  sum (cs.members) AS members, sum (cs.spoke) AS spoke, sum (cs.violators) AS violators, "
        "  round (sum (cs.retained7)::numeric / nullif (sum (cs.matured7), 0), 3) AS retention7, "
        "  round (sum (cs.retained30)::numeric / nullif (sum (cs.matured30), 0), 3) AS retention30 "
        " FROM channel_group_stats cs LEFT JOIN channels c ON c.id = cs.channel_id GROUP BY c.code, c.kind) x", 0, NULL);
}
