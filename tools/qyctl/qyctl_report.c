//  What operators read: violations, deliveries, dead letters and the
//  brand report. Every query is scoped to one brand.
#include "qyctl.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_query (const char *title, const char *sql, int n, const char *const *p, const char *format)
{
    PGresult *res = qyctl_exec (sql, n, p);
    if (strcmp (format, "table") == 0)
        printf ("\n== %s\n", title);
    qyctl_print (res, format);
    PQclear (res);
}

int qyctl_violations (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 0);
    if (!brand)
        qyctl_die ("usage: qyctl violations BRAND [--limit N] [--format table|csv|json]");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    const char *p [] = { bid, qyctl_opt (argc, argv, "--limit", "50") };
    PGresult *res = qyctl_exec (
        "SELECT v.id, v.created_at::timestamp(0) AS at, g.code AS grp, m.user_id AS member, v.category, v.action, "
        "       round (v.score::numeric, 2) AS score, v.strike, array_to_string (v.rules, ',') AS rules, v.status, "
        "       left (v.excerpt, 40) AS excerpt "
        "FROM violations v JOIN groups g ON g.id = v.group_id LEFT JOIN members m ON m.id = v.member_id "
        "WHERE v.brand_id = $1 ORDER BY v.id DESC LIMIT $2", 2, p);
    qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
    PQclear (res);
    return 0;
}

int qyctl_deliveries (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 0);
    if (!brand)
        qyctl_die ("usage: qyctl deliveries BRAND [--status S] [--limit N] [--format F]");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    const char *p [] = { bid, qyctl_opt (argc, argv, "--limit", "50"), qyctl_opt (argc, argv, "--status", NULL) };
    PGresult *res = qyctl_exec (
        "SELECT key, kind, coalesce (payload->>'action', '') AS action, status, attempts, coalesce (http_status, 0) AS http, "
        "       source, created_at::timestamp(0) AS at, left (coalesce (payload->>'text', ''), 40) AS text "
        "FROM deliveries WHERE brand_id = $1 AND ($3::text IS NULL OR status = $3) ORDER BY created_at DESC LIMIT $2", 3, p);
    qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
    PQclear (res);
    return 0;
}

int qyctl_deadletters (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 0);
    char bid [24] = "";
    if (brand)
        qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
    const char *p [] = { brand ? bid : NULL, qyctl_opt (argc, argv, "--limit", "50") };
    //  Without a brand: the platform operator's view, including unknown brands.
    PGresult *res = qyctl_exec (
        "SELECT id, created_at::timestamp(0) AS at, service, coalesce (brand_code, '') AS brand, coalesce (msg_id, '') AS msg_id, "
        "       reason, length (payload) AS bytes FROM dead_letters "
        "WHERE ($1::bigint IS NULL OR brand_id = $1) ORDER BY id DESC LIMIT $2", 2, p);
    qyctl_print (res, qyctl_opt (argc, argv, "--format", "table"));
    PQclear (res);
    return 0;
}

int qyctl_report (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 0);
    if (!brand)
        qyctl_die ("usage: qyctl report BRAND [--format table|csv|json]");
    const char *fmt = qyctl_opt (argc, argv, "--format", "table");
    char bid [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
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
    s_query ("violations by rule",
             "SELECT r AS rule, count (*) AS violations FROM violations v, unnest (v.rules) AS r "
             "WHERE v.brand_id = $1 GROUP BY r ORDER BY 2 DESC, 1", 1, p, fmt);
    s_query ("violations by action",
             "SELECT action, count (*) AS violations, count (DISTINCT member_id) AS members FROM violations "
             "WHERE brand_id = $1 GROUP BY action ORDER BY 2 DESC", 1, p, fmt);
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
    s_query ("dead letters",
             "SELECT service, reason, count (*) AS n FROM dead_letters WHERE brand_id = $1 GROUP BY 1, 2 ORDER BY 3 DESC", 1, p, fmt);
    return 0;
}
