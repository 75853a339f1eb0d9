//  What operators read: violations, deliveries, the brand report (dead
//  letters are in qyctl_deadletter.c), and scoring's reports on groups,
//  members, channels, stores and regions. Every query is scoped to one brand.
#include "qyctl.h"
#include "qy/pg.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_query (const char *title, const char *sql, int n, const char *const *p, const char *format)
{
    PGresult *res = qyctl_exec (sql, n, p);
    qyctl_section (title, res, format);
    PQclear (res);
}

//  ------------------------------------------------------------ scoring

//  The options every scoring report shares: the brand, an optional group,
//  and the window of days [since, until] (default: the last 30 days).
typedef struct {
    char bid [24];
    const char *group, *since, *until, *format, *limit;
} s_scope_t;

static void s_scope (s_scope_t *sc, const char *usage)
{
    const char *brand = qyctl_arg (1);
    if (!brand)
        qyctl_usage_error ("%s: a BRAND is needed", usage);
    qy_pg_i64 (sc->bid, qyctl_brand_id (brand));
    sc->group = qyctl_opt ("group", NULL);
    sc->since = qyctl_opt ("since", NULL);
    sc->until = qyctl_opt ("until", NULL);
    sc->format = qyctl_opt ("format", "table");
    sc->limit = qyctl_opt ("limit", "1000000");
    if (strcmp (sc->format, "table") && strcmp (sc->format, "csv") && strcmp (sc->format, "json"))
        qyctl_die ("--format must be table, csv or json");
    if (sc->group) {
        const char *p [] = { sc->bid, sc->group };
        PGresult *res = qyctl_exec ("SELECT 1 FROM groups WHERE brand_id = $1 AND code = $2", 2, p);
        if (PQntuples (res) == 0)
            qyctl_die ("unknown group '%s'", sc->group);
        PQclear (res);
    }
}

//  Parameters $1 brand, $2 group code or NULL, $3 since, $4 until, $5 limit.
//  Days are the brand's (its zone, qy_tz_offset_min), not the session's: by default
//  the 30 days up to the brand's today.
#define S_TODAY "(SELECT (now () AT TIME ZONE 'UTC' + make_interval (mins => qy_tz_offset_min (tz_name, tz_offset_min)))::date FROM brands WHERE id = $1)"
#define S_WINDOW "coalesce ($3::date, " S_TODAY " - 29) AND coalesce ($4::date, " S_TODAY ")"

static void s_run (const s_scope_t *sc, const char *title, const char *sql)
{
    const char *p [] = { sc->bid, sc->group, sc->since, sc->until, sc->limit };
    PGresult *res = qyctl_exec (sql, 5, p);
    if (strcmp (sc->format, "table") == 0)
        printf ("\n== %s\n", title);
    qyctl_print (res, sc->format);
    PQclear (res);
}

static void s_groups (void)
{
    s_scope_t sc;
    s_scope (&sc, "report groups");
    const char *view = qyctl_opt ("view", "health");
    if (strcmp (view, "health") && strcmp (view, "daily") && strcmp (view, "speech"))
        qyctl_die ("--view must be health, daily or speech");
    if (strcmp (view, "daily") == 0) {
        s_run (&sc, "group days",
            "SELECT g.code AS grp, d.day, d.messages, d.active_members, d.joins, d.leaves, d.violations, "
            "       d.staff_messages, d.posts, d.post_replies, d.replies, d.questions, d.answered "
            "FROM daily_group_stats d JOIN groups g ON g.id = d.group_id AND g.brand_id = $1 "
            "WHERE d.brand_id = $1 AND ($2::text IS NULL OR g.code = $2) AND d.day BETWEEN " S_WINDOW " "
            "ORDER BY g.code, d.day LIMIT $5");
        return;
    }
    if (strcmp (view, "speech") == 0) {
        //  Who talks: speakers over the window, members never heard from,
        //  and the share of the top 10 % (rounded up) of speakers.
        s_run (&sc, "speech",
            "WITH g AS (SELECT id, code FROM groups WHERE brand_id = $1 AND ($2::text IS NULL OR code = $2)), "
            "s AS (SELECT d.group_id, d.member_id, sum (d.messages) AS n FROM daily_member_stats d JOIN g ON g.id = d.group_id "
            "      WHERE d.brand_id = $1 AND d.day BETWEEN " S_WINDOW " GROUP BY 1, 2 HAVING sum (d.messages) > 0), "
            "r AS (SELECT group_id, n, row_number () OVER (PARTITION BY group_id ORDER BY n DESC) AS k, "
            "             count (*) OVER (PARTITION BY group_id) AS c FROM s), "
            "m AS (SELECT ms.group_id, count (*) AS members, "
            "             count (*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.group_id = ms.group_id AND s.member_id = ms.member_id)) AS silent "
            "      FROM member_scores ms JOIN g ON g.id = ms.group_id WHERE ms.brand_id = $1 GROUP BY 1) "
            "SELECT g.code AS grp, coalesce (m.members, 0) AS members, "
            "       (SELECT count (*) FROM s WHERE s.group_id = g.id) AS speakers, coalesce (m.silent, 0) AS never_spoke, "
            "       (SELECT coalesce (sum (n), 0) FROM s WHERE s.group_id = g.id) AS messages, "
            "       (SELECT coalesce (sum (n) FILTER (WHERE k <= ceil (c / 10.0)), 0) FROM r WHERE r.group_id = g.id) AS top10_messages, "
            "       (SELECT round (coalesce (sum (n) FILTER (WHERE k <= ceil (c / 10.0)), 0)::numeric / nullif (sum (n), 0), 4) "
            "        FROM r WHERE r.group_id = g.id) AS top10_share "
            "FROM g LEFT JOIN m ON m.group_id = g.id ORDER BY g.code LIMIT $5");
        return;
    }
    s_run (&sc, "group health (latest evaluation) and activity in the window",
        "SELECT g.code AS grp, g.name, coalesce (s.code, '') AS store, g.type, coalesce (h.state, 'unknown') AS state, "
        "       coalesce (h.health, 0) AS health, coalesce (h.lifecycle, '') AS lifecycle, coalesce (h.members, 0) AS members, "
        "       coalesce (h.dau, 0) AS dau, coalesce (h.wau, 0) AS wau, coalesce (h.mau, 0) AS mau, "
        "       round (coalesce (h.active_ratio, 0)::numeric, 3) AS active_ratio, round (coalesce (h.msgs_per_day, 0)::numeric, 1) AS msgs_day, "
        "       round (coalesce (h.top3_share, 0)::numeric, 3) AS top3_share, round (coalesce (h.gini, 0)::numeric, 3) AS gini, "
        "       round (coalesce (h.self_activation, 0)::numeric, 3) AS self_activation, round (coalesce (h.growth_rate, 0)::numeric, 3) AS growth, "
        "       round (coalesce (h.leave_rate, 0)::numeric, 3) AS leave_rate, round (coalesce (h.violation_rate, 0)::numeric, 4) AS viol_rate, "
        "       round (coalesce (h.post_response, 0)::numeric, 2) AS post_response, "
        "       coalesce (w.messages, 0) AS messages, coalesce (w.joins, 0) AS joins, coalesce (w.leaves, 0) AS leaves "
        "FROM groups g LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = $1 "
        "LEFT JOIN group_health h ON h.group_id = g.id AND h.brand_id = $1 "
        "LEFT JOIN (SELECT group_id, sum (messages) AS messages, sum (joins) AS joins, sum (leaves) AS leaves "
        "           FROM daily_group_stats WHERE brand_id = $1 AND day BETWEEN " S_WINDOW " GROUP BY 1) w ON w.group_id = g.id "
        "WHERE g.brand_id = $1 AND ($2::text IS NULL OR g.code = $2) ORDER BY health DESC, g.code LIMIT $5");
}

static void s_members (void)
{
    s_scope_t sc;
    s_scope (&sc, "report members");
    const char *state = qyctl_opt ("state", NULL);
    const char *p [] = { sc.bid, sc.group, sc.since, sc.until, sc.limit, state };
    PGresult *res = qyctl_exec (
        "SELECT g.code AS grp, m.user_id AS member, coalesce (m.nickname, '') AS nickname, ms.in_group, ms.staff, ms.state, "
        "       ms.trust_level AS tl, coalesce (w.messages, 0) AS messages, ms.messages AS messages_all, ms.active_days, ms.streak, "
        "       coalesce (ms.joined::text, '') AS joined, coalesce (ms.last_active::text, '') AS last_active, "
        "       ms.replies_received AS replies, ms.mentions, ms.answered, ms.violations, "
        "       round (ms.contribution::numeric, 1) AS contribution, round (ms.activity::numeric, 2) AS activity "
        "FROM member_scores ms JOIN groups g ON g.id = ms.group_id AND g.brand_id = $1 "
        "JOIN members m ON m.id = ms.member_id AND m.brand_id = $1 "
        "LEFT JOIN (SELECT group_id, member_id, sum (messages) AS messages FROM daily_member_stats "
        "           WHERE brand_id = $1 AND day BETWEEN " S_WINDOW " GROUP BY 1, 2) w "
        "       ON w.group_id = ms.group_id AND w.member_id = ms.member_id "
        "WHERE ms.brand_id = $1 AND ($2::text IS NULL OR g.code = $2) AND ($6::text IS NULL OR ms.state = $6) "
        "ORDER BY messages DESC, ms.contribution DESC, m.user_id LIMIT $5", 6, p);
    if (strcmp (sc.format, "table") == 0)
        printf ("\n== members\n");
    qyctl_print (res, sc.format);
    PQclear (res);
}

static void s_channels (void)
{
    s_scope_t sc;
    s_scope (&sc, "report channels");
    const char *by = qyctl_opt ("by", "channel");
    if (strcmp (by, "channel") && strcmp (by, "kind"))
        qyctl_die ("--by must be channel or kind");
    bool kind = strcmp (by, "kind") == 0;
    char *sql = qy_printf (
        "SELECT %s, sum (x.joins) AS joins, sum (x.members) AS members, sum (x.spoke) AS spoke, "
        "       round (sum (x.spoke)::numeric / nullif (sum (x.members), 0), 3) AS spoke_share, "
        "       sum (x.violators) AS violators, round (sum (x.violators)::numeric / nullif (sum (x.members), 0), 3) AS violator_share, "
        "       sum (x.violations) AS violations, sum (x.matured7) AS joins_7d_old, "
        "       round (sum (x.retained7)::numeric / nullif (sum (x.matured7), 0), 3) AS retention_7d, "
        "       sum (x.matured30) AS joins_30d_old, round (sum (x.retained30)::numeric / nullif (sum (x.matured30), 0), 3) AS retention_30d "
        "FROM channel_group_stats x JOIN groups g ON g.id = x.group_id AND g.brand_id = $1 "
        "LEFT JOIN channels c ON c.id = x.channel_id AND c.brand_id = $1 "
        "WHERE x.brand_id = $1 AND ($2::text IS NULL OR g.code = $2) "
        "GROUP BY 1%s ORDER BY spoke_share DESC NULLS LAST, joins DESC LIMIT $3",
        kind ? "coalesce (c.kind, 'none') AS channel_kind" : "coalesce (c.code, 'none') AS channel, coalesce (c.kind, 'none') AS kind",
        kind ? "" : ", 2");
    //  Channel figures are cumulative (retention needs whole cohorts): no window.
    const char *p [] = { sc.bid, sc.group, sc.limit };
    PGresult *res = qyctl_exec (sql, 3, p);
    if (strcmp (sc.format, "table") == 0)
        printf ("\n== %s\n", kind ? "channel quality by kind" : "channel quality");
    qyctl_print (res, sc.format);
    PQclear (res);
    free (sql);
}

static void s_places (bool region)
{
    s_scope_t sc;
    s_scope (&sc, region ? "report regions" : "report stores");
    char *sql = qy_printf (
        "SELECT coalesce (p.code, 'none') AS %s, coalesce (p.name, '') AS name, count (DISTINCT g.id) AS groups, "
        "       coalesce (sum (w.messages), 0) AS messages, coalesce (sum (w.active), 0) AS active_member_days, "
        "       coalesce (sum (w.joins), 0) AS joins, coalesce (sum (w.leaves), 0) AS leaves, coalesce (sum (w.viol), 0) AS violations, "
        "       round (avg (h.health)) AS avg_health, count (*) FILTER (WHERE h.state = 'zombie') AS zombie_groups, "
        "       count (*) FILTER (WHERE h.state = 'declining') AS declining_groups "
        "FROM groups g %s "
        "LEFT JOIN group_health h ON h.group_id = g.id AND h.brand_id = $1 "
        "LEFT JOIN (SELECT group_id, sum (messages) AS messages, sum (active_members) AS active, sum (joins) AS joins, "
        "                  sum (leaves) AS leaves, sum (violations) AS viol FROM daily_group_stats "
        "           WHERE brand_id = $1 AND day BETWEEN " S_WINDOW " GROUP BY 1) w ON w.group_id = g.id "
        "WHERE g.brand_id = $1 AND ($2::text IS NULL OR g.code = $2) GROUP BY 1, 2 ORDER BY 4 DESC, 1 LIMIT $5",
        region ? "region" : "store",
        region ? "LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = $1 LEFT JOIN regions p ON p.id = s.region_id AND p.brand_id = $1"
               : "LEFT JOIN stores p ON p.id = g.store_id AND p.brand_id = $1");
    s_run (&sc, region ? "regions" : "stores", sql);
    free (sql);
}

static void s_suggestions (void)
{
    s_scope_t sc;
    s_scope (&sc, "report suggestions");
    const char *kind = qyctl_opt ("kind", NULL);
    const char *p [] = { sc.bid, sc.group, kind, sc.limit };
    PGresult *res = qyctl_exec (
        "SELECT g.code AS grp, s.kind, s.rank, m.user_id AS member, coalesce (m.nickname, '') AS nickname, "
        "       round (s.score::numeric, 2) AS score, s.needed, s.reason "
        "FROM member_suggestions s JOIN groups g ON g.id = s.group_id AND g.brand_id = $1 "
        "JOIN members m ON m.id = s.member_id AND m.brand_id = $1 "
        "WHERE s.brand_id = $1 AND ($2::text IS NULL OR g.code = $2) AND ($3::text IS NULL OR s.kind = $3) "
        "ORDER BY g.code, s.kind, s.rank LIMIT $4", 4, p);
    if (strcmp (sc.format, "table") == 0)
        printf ("\n== members to let go\n");
    qyctl_print (res, sc.format);
    PQclear (res);
}

static bool s_report_scoring (void)
{
    const char *sub = qyctl_arg (0);
    static const char *const subs [] = { "groups", "members", "channels", "stores", "regions", "suggestions" };
    size_t i = 0;
    while (i < QY_ARRAY_LEN (subs) && strcmp (sub, subs [i]) != 0)
        i++;
    //  "report groups" with no brand after it: "groups" is the brand.
    if (i == QY_ARRAY_LEN (subs) || !qyctl_arg (1))
        return false;
    switch (i) {
        case 0: s_groups (); break;
        case 1: s_members (); break;
        case 2: s_channels (); break;
        case 3: s_places (false); break;
        case 4: s_places (true); break;
        default: s_suggestions (); break;
    }
    return true;
}

int qyctl_violations (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *brand = qyctl_arg (0);
    if (!brand)
        qyctl_usage_error ("violations needs a BRAND");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *p [] = { bid, qyctl_opt ("limit", "50") };
    PGresult *res = qyctl_exec (
        //  Every violation of the brand, even one whose group is gone; never
        //  another brand's group or member (ids are only unique per table).
        "SELECT v.id, date_trunc ('second', v.created_at) AS at, coalesce (g.code, '') AS grp, m.user_id AS member, v.category, v.action, "
        "       round (v.score::numeric, 2) AS score, v.strike, array_to_string (v.rules, ',') AS rules, v.status, "
        "       left (v.excerpt, 40) AS excerpt "
        "FROM violations v LEFT JOIN groups g ON g.id = v.group_id AND g.brand_id = v.brand_id "
        "LEFT JOIN members m ON m.id = v.member_id AND m.brand_id = v.brand_id "
        "WHERE v.brand_id = $1 ORDER BY v.id DESC LIMIT $2", 2, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
    return 0;
}

int qyctl_deliveries (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *brand = qyctl_arg (0);
    if (!brand)
        qyctl_usage_error ("deliveries needs a BRAND");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *p [] = { bid, qyctl_opt ("limit", "50"), qyctl_opt ("status", NULL) };
    PGresult *res = qyctl_exec (
        "SELECT key, kind, coalesce (payload->>'action', '') AS action, status, attempts, coalesce (http_status, 0) AS http, "
        "       source, date_trunc ('second', created_at) AS at, left (coalesce (payload->>'text', ''), 40) AS text "
        "FROM deliveries WHERE brand_id = $1 AND ($3::text IS NULL OR status = $3) ORDER BY created_at DESC LIMIT $2", 3, p);
    qyctl_print (res, qyctl_opt ("format", "table"));
    PQclear (res);
    return 0;
}

int qyctl_report (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *brand = qyctl_arg (0);
    if (!brand)
        qyctl_usage_error ("report needs a BRAND");
    if (s_report_scoring ())
        return 0;
    const char *fmt = qyctl_opt ("format", "table");
    char bid [24];
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *p [] = { bid };
    s_query ("events archived, by kind",
             "SELECT kind, count (*) AS events FROM messages WHERE brand_id = $1 GROUP BY kind ORDER BY 2 DESC", 1, p, fmt);
    s_query ("members and memberships",
             "SELECT (SELECT count (*) FROM members WHERE brand_id = $1) AS members, "
             "       count (*) FILTER (WHERE left_at IS NULL) AS in_groups, count (*) FILTER (WHERE left_at IS NOT NULL) AS left_groups "
             "FROM memberships WHERE brand_id = $1", 1, p, fmt);
    s_query ("joins by channel kind",
             "SELECT coalesce (c.kind, 'none') AS channel_kind, count (*) AS joins FROM memberships m "
             "LEFT JOIN channels c ON c.id = m.channel_id WHERE m.brand_id = $1 AND m.joined_at IS NOT NULL GROUP BY 1 ORDER BY 2 DESC", 1, p, fmt);
    //  The two violation tables add up to the same total: each violation
    //  once, under its first rule, or (no rule) as what was enforced on a
    //  member already muted or blocked (their messages are recalled
    //  without a rule). Every rule a violation hit is in "rule hits".
    s_query ("violations by rule (each once, under its first rule; \"enforced\": messages of members muted or blocked)",
             "SELECT * FROM (SELECT coalesce (v.rules [1], 'enforced: ' || v.category) AS rule, count (*) AS violations "
             "  FROM violations v WHERE v.brand_id = $1 GROUP BY 1 "
             "  UNION ALL SELECT 'total', count (*) FROM violations WHERE brand_id = $1) x "
             "ORDER BY rule = 'total', violations DESC, rule", 1, p, fmt);
    s_query ("violations by action (the same total)",
             "SELECT * FROM (SELECT action, count (*) AS violations, count (DISTINCT member_id) AS members FROM violations "
             "  WHERE brand_id = $1 GROUP BY action "
             "  UNION ALL SELECT 'total', count (*), count (DISTINCT member_id) FROM violations WHERE brand_id = $1) x "
             "ORDER BY action = 'total', violations DESC, action", 1, p, fmt);
    s_query ("rule hits (a violation may hit several rules)",
             "SELECT r AS rule, count (*) AS hits FROM violations v, unnest (v.rules) AS r "
             "WHERE v.brand_id = $1 GROUP BY r ORDER BY 2 DESC, 1", 1, p, fmt);
    s_query ("most active groups (messages counted by scoring)",
             "SELECT g.code AS grp, g.name, coalesce (sum (d.messages), 0) AS messages, coalesce (max (d.active_members), 0) AS peak_active "
             "FROM groups g LEFT JOIN daily_group_stats d ON d.group_id = g.id AND d.brand_id = $1 "
             "WHERE g.brand_id = $1 GROUP BY g.id ORDER BY 3 DESC, 1 LIMIT 5", 1, p, fmt);
    s_query ("least active groups",
             "SELECT g.code AS grp, g.name, coalesce (sum (d.messages), 0) AS messages, coalesce (max (d.active_members), 0) AS peak_active "
             "FROM groups g LEFT JOIN daily_group_stats d ON d.group_id = g.id AND d.brand_id = $1 "
             "WHERE g.brand_id = $1 GROUP BY g.id ORDER BY 3 ASC, 1 LIMIT 5", 1, p, fmt);
    s_query ("deliveries",
             "SELECT kind, coalesce (payload->>'action', split_part (source, ':', 2)) AS what, status, count (*) AS n, "
             "       round (avg (extract (epoch FROM delivered_at - created_at)) * 1000) AS avg_ms "
             "FROM deliveries WHERE brand_id = $1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", 1, p, fmt);
    qyctl_tasks_report (bid, NULL, NULL, fmt, false);
    s_query ("dead letters",
             "SELECT service, reason, state, count (*) AS n FROM dead_letters WHERE brand_id = $1 GROUP BY 1, 2, 3 ORDER BY 4 DESC",
             1, p, fmt);
    qyctl_sections_end (fmt);
    return 0;
}

static const qyctl_option_t s_limit_opts [] = {
    { "limit", QYCTL_VALUE, "N", "rows to show (default 50)" },
    { NULL }
};
static const char *const s_delivery_states [] = { "pending", "sending", "delivered", "dead", "digested", NULL };
static const qyctl_option_t s_deliveries_opts [] = {
    { "status", QYCTL_VALUE, "S", "only deliveries in that state", s_delivery_states },
    { "limit",  QYCTL_VALUE, "N", "rows to show (default 50)" },
    { NULL }
};
#define S_WINDOW_OPTS \
    { "group", QYCTL_VALUE, "CODE", "only that group" }, \
    { "since", QYCTL_VALUE, "D", "from day D (default: 29 days before the brand's today)" }, \
    { "until", QYCTL_VALUE, "D", "to day D (default: the brand's today)" }, \
    { "limit", QYCTL_VALUE, "N", "at most N rows" }
static const char *const s_views [] = { "health", "daily", "speech", NULL };
static const qyctl_option_t s_groups_opts [] = {
    S_WINDOW_OPTS, { "view", QYCTL_VALUE, "V", "what to show (default health)", s_views }, { NULL }
};
static const qyctl_option_t s_members_opts [] = {
    S_WINDOW_OPTS, { "state", QYCTL_VALUE, "S", "only members in that state (lurker, core …)" }, { NULL }
};
static const char *const s_bys [] = { "channel", "kind", NULL };
static const qyctl_option_t s_channels_opts [] = {
    { "group", QYCTL_VALUE, "CODE", "only that group" },
    { "limit", QYCTL_VALUE, "N", "at most N rows" },
    { "by", QYCTL_VALUE, "B", "per channel or per kind of channel (default channel)", s_bys },
    { NULL }
};
static const qyctl_option_t s_places_opts [] = { S_WINDOW_OPTS, { NULL } };
static const char *const s_suggestion_kinds [] = { "capacity", "cleanout", NULL };
static const qyctl_option_t s_suggestions_opts [] = {
    { "group", QYCTL_VALUE, "CODE", "only that group" },
    { "limit", QYCTL_VALUE, "N", "at most N rows" },
    { "kind", QYCTL_VALUE, "K", "only that kind", s_suggestion_kinds },
    { NULL }
};
const qyctl_command_t qyctl_report_commands [] = {
    { "report", "BRAND", 1, 1, NULL, "activity, moderation and delivery summary" },
    { "report groups", "BRAND", 1, 1, s_groups_opts, "group health and activity" },
    { "report members", "BRAND", 1, 1, s_members_opts, "members' scores and activity" },
    { "report channels", "BRAND", 1, 1, s_channels_opts, "join channels' quality" },
    { "report stores", "BRAND", 1, 1, s_places_opts, "activity per store" },
    { "report regions", "BRAND", 1, 1, s_places_opts, "activity per region" },
    { "report suggestions", "BRAND", 1, 1, s_suggestions_opts, "members to let go (full groups, clean-outs)" },
    { NULL }
};
const qyctl_command_t qyctl_violations_commands [] = {
    { "violations", "BRAND", 1, 1, s_limit_opts, "the brand's newest violations" },
    { NULL }
};
const qyctl_command_t qyctl_deliveries_commands [] = {
    { "deliveries", "BRAND", 1, 1, s_deliveries_opts, "the brand's newest deliveries" },
    { NULL }
};
