-- Rows for console_api's later checks and the browser test (after the
-- matrix: the seed's counts stay as they are):
--   campaign measurement: a member's reply 20 minutes after the post of
--   cj-1 and a purchase credited to it;
--   room1's health over its last three days (the day's last evaluation,
--   as migration 115's trigger keeps it from group_health).
INSERT INTO messages (brand_id, event_time, msg_id, group_id, store_id, member_id, kind, text)
    SELECT j.brand_id, j.sent_at + interval '20 minutes', 'reply-cj1', j.group_id, g.store_id, ms.member_id, 'text', '收到早安'
    FROM campaign_jobs j JOIN groups g ON g.id = j.group_id JOIN memberships ms ON ms.group_id = g.id WHERE j.delivery_key = 'cj-1';
INSERT INTO campaign_conversions (brand_id, msg_id, kind, amount_cents, group_id, job_id, campaign_id, step, variant, at)
    SELECT brand_id, 'buy-1', 'purchase', 1990, group_id, id, campaign_id, step, variant, sent_at + interval '30 minutes'
    FROM campaign_jobs WHERE delivery_key = 'cj-1';
INSERT INTO group_health_days (brand_id, group_id, day, health, state, members, dau, wau, mau, active_ratio, msgs_per_day,
                               top3_share, gini, self_activation, growth_rate, leave_rate, violation_rate, post_response)
    SELECT g.brand_id, g.id, (now () + interval '8 hours')::date - k, 60 + 5 * (2 - k), 'healthy', 3, 2, 3, 3, 0.5 + 0.1 * (2 - k),
           5, 0.9, 0.3, 0.8, 0.1, 0.0, 0.01, 1.0
    FROM groups g, generate_series (0, 2) k WHERE g.code = 'room1';
