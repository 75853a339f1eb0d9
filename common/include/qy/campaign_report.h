//  The campaign report (docs/campaign.md) as SQL shared by `qyctl campaign
//  report` and the console's GET /api/v1/campaigns/report, so both print
//  the same figures. Parameters: $1 the brand id, $2 and $3 the jobs due
//  in [$2, $3) (timestamptz text).
#ifndef QY_CAMPAIGN_REPORT_H
#define QY_CAMPAIGN_REPORT_H

//  Per campaign, step and variant: posts sent and delivered, steps blocked,
//  members' replies within an hour of each post (the group's customers,
//  not staff, not join/leave/system events), conversions and revenue.
#define QY_CAMPAIGN_STEPS_SQL \
    "SELECT c.name AS campaign, j.step, j.variant, " \
    "  count (*) FILTER (WHERE j.status = 'sent') AS sent, " \
    "  count (*) FILTER (WHERE d.status = 'delivered') AS delivered, " \
    "  count (*) FILTER (WHERE j.status = 'blocked') AS blocked, " \
    "  coalesce (sum (r.n), 0) AS replies_1h, " \
    "  (SELECT count (*) FROM campaign_conversions v WHERE v.brand_id = $1 AND v.campaign_id = c.id " \
    "     AND v.step = j.step AND v.variant = j.variant) AS conversions, " \
    "  (SELECT coalesce (sum (amount_cents), 0) FROM campaign_conversions v WHERE v.brand_id = $1 AND v.campaign_id = c.id " \
    "     AND v.step = j.step AND v.variant = j.variant) AS revenue_cents " \
    "FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id AND c.brand_id = j.brand_id " \
    "LEFT JOIN deliveries d ON d.key = j.delivery_key AND d.brand_id = j.brand_id " \
    "LEFT JOIN LATERAL (SELECT count (*) AS n FROM messages m WHERE m.brand_id = j.brand_id AND m.group_id = j.group_id " \
    "    AND m.event_time > j.sent_at AND m.event_time <= j.sent_at + interval '1 hour' " \
    "    AND coalesce (m.role, 'member') = 'member' " \
    "    AND m.kind NOT IN ('join', 'leave', 'rename', 'purchase', 'coupon_redeemed', 'signal')) r ON j.status = 'sent' " \
    "WHERE j.brand_id = $1 AND j.due_at >= $2::timestamptz AND j.due_at < $3::timestamptz " \
    "GROUP BY c.id, c.name, j.step, j.variant ORDER BY c.name, j.step, j.variant"

#define QY_CAMPAIGN_BLOCKED_SQL \
    "SELECT c.name AS campaign, j.guard, count (*) AS jobs FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id " \
    "WHERE j.brand_id = $1 AND j.status = 'blocked' AND j.due_at >= $2::timestamptz " \
    "AND j.due_at < $3::timestamptz GROUP BY 1, 2 ORDER BY 1, 2"

//  SOP compliance: planned steps (not folded replies) whose time has
//  come, against those that went out. A step a guard blocked, one with
//  nothing to post (a leaderboard without check-ins), or a silence step
//  for a member who spoke again, was rightly not sent, so it is left out
//  of "should".
#define QY_CAMPAIGN_SOP_SQL \
    "SELECT coalesce (s.code, '-') AS store, coalesce (s.name, '') AS name, " \
    "  count (*) AS due, count (*) FILTER (WHERE j.status = 'sent') AS done, " \
    "  count (*) FILTER (WHERE j.status = 'blocked' OR j.guard IN ('nothing_to_post', 'not_silent')) AS excused, " \
    "  count (*) FILTER (WHERE j.status IN ('pending', 'expired', 'cancelled') " \
    "                    AND coalesce (j.guard, '') NOT IN ('nothing_to_post', 'not_silent')) AS missed, " \
    "  coalesce (round (100.0 * count (*) FILTER (WHERE j.status = 'sent') " \
    "    / nullif (count (*) FILTER (WHERE j.status <> 'blocked' " \
    "                                AND coalesce (j.guard, '') NOT IN ('nothing_to_post', 'not_silent')), 0), 1), " \
    "    100) AS compliance_pct " \
    "FROM campaign_jobs j JOIN groups g ON g.id = j.group_id AND g.brand_id = j.brand_id " \
    "LEFT JOIN stores s ON s.id = g.store_id AND s.brand_id = j.brand_id " \
    "WHERE j.brand_id = $1 AND j.period !~ '^w[0-9]+$' AND j.due_at >= $2::timestamptz " \
    "  AND j.due_at < least ($3::timestamptz, now ()) " \
    "GROUP BY s.code, s.name ORDER BY 1"
#endif
