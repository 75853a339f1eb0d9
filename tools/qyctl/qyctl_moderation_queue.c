//  (Options parsed from qyctl_moderation_commands before these run.)
//  qyctl moderation list and replies: what needs a person (docs/moderation.md,
//  "The review queue" and "Unanswered customers").
//    moderation list BRAND [--limit N] [--format table|csv|json]
//      open decisions a person should look at, highest risk first:
//      reviews, mutes, blocks, members' reports and impersonation flags;
//      not enforcement records (a muted member's recalled messages),
//      behaviour reminders and slow-downs, dry-run rows or confident recalls.
//    moderation replies BRAND [--days N] [--format table|csv|json]
//      how fast staff answer customers' questions: per store, then per
//      staff member of the store: questions, answered, median and p90
//      reply time in seconds, and (per store) the share left unanswered.
#include "qyctl.h"
#include "qy/pg.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qyctl_moderation_list (void)
{
    const char *limit = qyctl_opt ("limit", "50"), *format = qyctl_opt ("format", "table"), *brand = qyctl_arg (1);
    char lim [24], bid [24];
    qy_snprintf (lim, sizeof (lim), "%ld", qyctl_long ("--limit", limit, 1, 100000));
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *p [] = { bid, lim };
    PGresult *res = qyctl_exec (
        "SELECT q.id, round (q.priority::numeric, 2) AS priority, q.kind, q.category, q.action, q.reports, "
        "       to_char (q.event_time, 'MM-DD HH24:MI:SS') AS at, g.code AS grp, m.user_id AS member, "
        "       left (coalesce (q.excerpt, ''), 40) AS excerpt "
        "FROM moderation_queue q LEFT JOIN groups g ON g.id = q.group_id AND g.brand_id = q.brand_id "
        "LEFT JOIN members m ON m.id = q.member_id AND m.brand_id = q.brand_id "
        "WHERE q.brand_id = $1 ORDER BY q.priority DESC, q.id LIMIT $2::int", 2, p);
    qyctl_print (res, format);
    PQclear (res);
    return 0;
}

int qyctl_moderation_replies (void)
{
    const char *days = qyctl_opt ("days", "7"), *format = qyctl_opt ("format", "table"), *brand = qyctl_arg (1);
    char d [24], bid [24];
    qy_snprintf (d, sizeof (d), "%ld", qyctl_long ("--days", days, 1, 3650));
    qy_pg_i64 (bid, qyctl_brand_id (brand));
    const char *p [] = { bid, d };
    PGresult *res = qyctl_exec (
        "SELECT coalesce (s.code, '-') AS store, "
        "       CASE WHEN grouping (st.user_id) = 1 THEN '*' ELSE coalesce (st.user_id, '(unanswered)') END AS staff, "
        "       count (*) AS questions, count (q.answered_at) AS answered, "
        "       round (percentile_cont (0.5) WITHIN GROUP (ORDER BY extract (epoch FROM q.answered_at - q.asked_at))::numeric, 1) "
        "         AS median_s, "
        "       round (percentile_cont (0.9) WITHIN GROUP (ORDER BY extract (epoch FROM q.answered_at - q.asked_at))::numeric, 1) "
        "         AS p90_s, "
        "       CASE WHEN grouping (st.user_id) = 1 "
        "            THEN round (100.0 * count (*) FILTER (WHERE q.answered_at IS NULL) / count (*), 1)::text ELSE '' END "
        "         AS unanswered_pct "
        "FROM moderation_questions q LEFT JOIN stores s ON s.id = q.store_id AND s.brand_id = q.brand_id "
        "LEFT JOIN members st ON st.id = q.answered_by AND st.brand_id = q.brand_id "
        "WHERE q.brand_id = $1 AND q.asked_at > now () - $2::int * interval '1 day' "
        "GROUP BY GROUPING SETS ((s.code), (s.code, st.user_id)) "
        "ORDER BY 1, grouping (st.user_id) DESC, 2", 2, p);
    qyctl_print (res, format);
    PQclear (res);
    return 0;
}
