//  qyctl moderation list: the review queue (docs/moderation.md, "The review
//  queue"): open decisions a person should look at, highest risk first.
//    moderation list BRAND [--limit N] [--format table|csv|json]
//  (options parsed from qyctl_moderation_commands before it runs)
//  Enforcement records (a muted member's recalled messages), behaviour
//  reminders and slow-downs, dry-run rows and confident recalls are not
//  in it; reviews, mutes, blocks, members' reports and impersonation flags are.
#include "qyctl.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qyctl_moderation_list (void)
{
    const char *limit = qyctl_opt ("limit", "50"), *format = qyctl_opt ("format", "table");
    const char *brand = qyctl_arg (1);
    char lim [24], bid [24];
    qy_snprintf (lim, sizeof (lim), "%ld", qyctl_long ("--limit", limit, 1, 100000));
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) qyctl_brand_id (brand));
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
