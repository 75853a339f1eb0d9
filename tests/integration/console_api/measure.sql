-- Campaign measurement for console_api and the browser test: a member's
-- reply 20 minutes after the post of cj-1 and a purchase credited to it.
INSERT INTO messages (brand_id, event_time, msg_id, group_id, store_id, member_id, kind, text)
    SELECT j.brand_id, j.sent_at + interval '20 minutes', 'reply-cj1', j.group_id, g.store_id, ms.member_id, 'text', '收到早安'
    FROM campaign_jobs j JOIN groups g ON g.id = j.group_id JOIN memberships ms ON ms.group_id = g.id WHERE j.delivery_key = 'cj-1';
INSERT INTO campaign_conversions (brand_id, msg_id, kind, amount_cents, group_id, job_id, campaign_id, step, variant, at)
    SELECT brand_id, 'buy-1', 'purchase', 1990, group_id, id, campaign_id, step, variant, sent_at + interval '30 minutes'
    FROM campaign_jobs WHERE delivery_key = 'cj-1';
