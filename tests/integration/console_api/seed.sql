-- Two brands: acme (regions north: s1, s2; south: s3; a group per store)
-- and other (o1, oroom). Members u1..u3 talk in room1..room3; x1 in oroom.
-- The archive, violations (flood: decided without learning; one ad with a
-- mute and evidence spans), roll-ups, states, an alert and a dead letter.
SELECT qy_ensure_partition (current_date);
SELECT qy_ensure_partition (current_date - 1);
INSERT INTO members (brand_id, user_id, nickname)
    SELECT b.id, u, '会员' || u FROM brands b, unnest (ARRAY['u1', 'u2', 'u3']) u WHERE b.code = 'acme'
    UNION ALL SELECT id, 'x1', '别人' FROM brands WHERE code = 'other';
INSERT INTO memberships (brand_id, group_id, member_id, joined_at)
    SELECT g.brand_id, g.id, m.id, now () - interval '10 days' FROM groups g JOIN members m ON m.brand_id = g.brand_id
    AND (substr (g.code, 5) = substr (m.user_id, 2) OR (g.code = 'oroom' AND m.user_id = 'x1'));
INSERT INTO messages (brand_id, event_time, msg_id, group_id, store_id, member_id, kind, text)
    SELECT ms.brand_id, now () - (k || ' minutes')::interval, g.code || '-m' || k, g.id, g.store_id, ms.member_id, 'text',
           CASE WHEN k = 1 THEN g.name || '今天领优惠券了吗' ELSE g.name || '的第' || k || '条消息' END
    FROM memberships ms JOIN groups g ON g.id = ms.group_id, generate_series (1, 5) k;
INSERT INTO messages (brand_id, event_time, msg_id, group_id, store_id, member_id, kind, text)
    SELECT ms.brand_id, date_trunc ('minute', now ()) - interval '1 hour', 'ad1', g.id, g.store_id, ms.member_id, 'text',
           '加我微信 wx88776655 领优惠券'
    FROM memberships ms JOIN groups g ON g.id = ms.group_id WHERE g.code = 'room1';
INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits, excerpt, strike, mute_until)
    SELECT brand_id, group_id, member_id, msg_id, event_time, 'ad', 1.2, 'mute', '{ad.wechat_id}',
           '[{"rule":"ad.wechat_id","category":"ad","weight":1.2,"dry_run":false,"start":13,"end":23,"text":"wx88776655"}]',
           text, 1, now () + interval '1 day'
    FROM messages WHERE msg_id = 'ad1';
INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits, excerpt)
    SELECT brand_id, group_id, member_id, msg_id, event_time, 'flood', 1, 'review', '{flood.burst}', '[]', text
    FROM messages WHERE msg_id LIKE '%-m%';
INSERT INTO daily_group_stats (brand_id, group_id, day, messages, active_members, joins, leaves, violations)
    SELECT g.brand_id, g.id, (now () + interval '8 hours')::date - d, 10 + d, 3, 1, 0, d % 2
    FROM groups g, generate_series (0, 89) d;
INSERT INTO group_states (brand_id, group_id, state, health, lifecycle)
    SELECT brand_id, id, CASE WHEN code = 'room3' THEN 'zombie' ELSE 'healthy' END, 60 + id::int % 30, 'long_term' FROM groups;
INSERT INTO member_states (brand_id, group_id, member_id, trust_level, state, activity, contribution)
    SELECT brand_id, group_id, member_id, 2, 'key', 1.5, 3.0 FROM memberships;
INSERT INTO deliveries (key, brand_id, group_id, kind, priority, payload)
    SELECT 'alert-1', id, NULL, 'alert', 2, '{"text":{"content":"刷屏预警"}}' FROM brands WHERE code = 'acme';
INSERT INTO dead_letters (brand_id, brand_code, service, msg_id, reason, payload)
    SELECT id, code, 'ingest', 'bad-1', 'unpack failed', '\x00' FROM brands WHERE code = 'acme';
-- A campaign's steps in room1 (store s1) over the last days: two sent, one
-- blocked by a guard (excused), one expired (missed): SOP 2 / 3.
INSERT INTO campaigns (brand_id, name, trigger, template) SELECT id, 'daily', 'schedule', '早安' FROM brands WHERE code = 'acme';
INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, due_at, status, guard, delivery_key, text, sent_at)
    SELECT c.brand_id, c.id, 1, g.id, 'd' || k, now () - k * interval '1 day',
           (ARRAY['sent', 'sent', 'blocked', 'expired'])[k], CASE WHEN k = 3 THEN 'quiet_hours' END,
           'cj-' || k, '早安', CASE WHEN k <= 2 THEN now () - k * interval '1 day' END
    FROM campaigns c JOIN groups g ON g.brand_id = c.brand_id AND g.code = 'room1', generate_series (1, 4) k WHERE c.name = 'daily';
-- Staff tasks (docs/tasks.md): 101 the ad's recall in room1, overdue;
-- 102 a post in room1 done on evidence 10 minutes after; 103 a removal in
-- room3 (store s3, region south), not yet due.
INSERT INTO staff_tasks (id, brand_id, source_key, kind, group_id, store_id, member_id, violation_id, evidence_msg_id,
                         evidence_text, evidence_at, reason, owner_userid, assignee, due_at, created_at)
    SELECT 101, v.brand_id, 'mod:ad1', 'recall_warn', v.group_id, g.store_id, v.member_id, v.id, v.msg_id, v.excerpt,
           v.event_time, 'ad', 'boss1', 'boss1', now () - interval '1 hour', now () - interval '2 hours'
    FROM violations v JOIN groups g ON g.id = v.group_id WHERE v.msg_id = 'ad1';
INSERT INTO staff_tasks (id, brand_id, source_key, kind, group_id, store_id, campaign_job_id, delivery_key, content,
                         owner_userid, assignee, state, created_at, closed_at, closed_by, close_evidence)
    SELECT 102, j.brand_id, j.delivery_key, 'post', j.group_id, g.store_id, j.id, j.delivery_key, j.text, 'boss1', 'boss1',
           'done', now () - interval '1 hour', now () - interval '50 minutes', 'wecom', 'wecom_sends sent msgid=m1'
    FROM campaign_jobs j JOIN groups g ON g.id = j.group_id WHERE j.delivery_key = 'cj-1';
INSERT INTO staff_tasks (id, brand_id, source_key, kind, group_id, store_id, member_id, member_user, owner_userid,
                         assignee, due_at)
    SELECT 103, g.brand_id, 'mod:room3-m2', 'remove', g.id, g.store_id, m.id, m.user_id, 'boss3', 'boss3', now () + interval '1 hour'
    FROM groups g JOIN members m ON m.brand_id = g.brand_id AND m.user_id = 'u3' WHERE g.code = 'room3';
SELECT setval ('staff_tasks_id_seq', 1000);
