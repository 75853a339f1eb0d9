//  The staff tasks' completion report (docs/tasks.md), per store and kind
//  and per staff member (the group's owner, who was asked first), as SQL
//  shared by `qyctl tasks report` and the console's GET /api/v1/tasks/report,
//  so both print the same figures. Parameters: $1 the brand id, $2 the
//  first day and $3 the last day included (NULL: the last 30 days).
#ifndef QY_TASKS_REPORT_H
#define QY_TASKS_REPORT_H

#define QY_TASKS_OPEN_STATES "('open', 'reminded', 'escalated')"

//  How many, done on evidence or by note, still open, expired, cancelled,
//  escalated, the completion rate and the time to complete (median, p90).
#define QY_TASKS_STATS \
    "count (*) AS tasks, count (*) FILTER (WHERE t.state = 'done') AS done, " \
    "count (*) FILTER (WHERE t.state = 'done_by_note') AS by_note, " \
    "count (*) FILTER (WHERE t.state IN " QY_TASKS_OPEN_STATES ") AS open, " \
    "count (*) FILTER (WHERE t.state = 'expired') AS expired, count (*) FILTER (WHERE t.state = 'cancelled') AS cancelled, " \
    "count (*) FILTER (WHERE t.escalated_at IS NOT NULL) AS escalated, " \
    "coalesce (round (100.0 * count (*) FILTER (WHERE t.state IN ('done', 'done_by_note')) " \
    "  / nullif (count (*) FILTER (WHERE t.state <> 'cancelled'), 0), 1), 100) AS completion_pct, " \
    "coalesce (round ((percentile_cont (0.5) WITHIN GROUP (ORDER BY extract (epoch FROM t.closed_at - t.created_at)) " \
    "  FILTER (WHERE t.state IN ('done', 'done_by_note')))::numeric / 60, 1)::text, '') AS median_min, " \
    "coalesce (round ((percentile_cont (0.9) WITHIN GROUP (ORDER BY extract (epoch FROM t.closed_at - t.created_at)) " \
    "  FILTER (WHERE t.state IN ('done', 'done_by_note')))::numeric / 60, 1)::text, '') AS p90_min "
#define QY_TASKS_WINDOW \
    "t.brand_id = $1 AND t.created_at >= coalesce ($2::date, current_date - 29) " \
    "AND t.created_at < coalesce ($3::date, current_date) + 1"

#define QY_TASKS_PER_STORE_SQL \
    "SELECT coalesce (s.code, '-') AS store, coalesce (s.name, '') AS name, t.kind, " QY_TASKS_STATS \
    "FROM staff_tasks t LEFT JOIN stores s ON s.id = t.store_id WHERE " QY_TASKS_WINDOW " " \
    "GROUP BY s.code, s.name, t.kind ORDER BY 1, 3"
#define QY_TASKS_PER_STAFF_SQL \
    "SELECT coalesce (t.owner_userid, '-') AS staff, " \
    "  coalesce ((SELECT coalesce (o.nickname, m.nickname) FROM members m " \
    "             LEFT JOIN memberships o ON o.member_id = m.id AND o.role = 'owner' " \
    "             WHERE m.brand_id = t.brand_id AND m.user_id = t.owner_userid " \
    "             ORDER BY o.nickname IS NULL LIMIT 1), '') AS name, " QY_TASKS_STATS \
    "FROM staff_tasks t WHERE " QY_TASKS_WINDOW " GROUP BY t.brand_id, t.owner_userid ORDER BY 1"
#endif
