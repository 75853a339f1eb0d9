-- The console benchmark's brand (:b) and archive (:n messages): 10 regions,
-- 100 stores, 3,000 groups, 90 days of roll-ups, states and health of every
-- group, 30,000 members, and messages of 3-6 words from a vocabulary over the
-- last 30 days ('限量礼盒' in one message of 2,000). The trigram index is
-- dropped for the load and built after it (faster than keeping it), as an
-- operator would for a bulk import.
\set ON_ERROR_STOP 1
INSERT INTO regions (brand_id, code, name) SELECT :b, 'r' || i, '区域' || i FROM generate_series (1, 10) i;
INSERT INTO stores (brand_id, region_id, code, name)
    SELECT :b, (SELECT id FROM regions WHERE brand_id = :b AND code = 'r' || (1 + (i - 1) % 10)), 's' || lpad (i::text, 3, '0'), '门店' || i
    FROM generate_series (1, 100) i;
INSERT INTO groups (brand_id, store_id, code, name, type, tags, capacity)
    SELECT :b, s.id, 'g' || lpad (i::text, 5, '0'), '社群' || i, CASE WHEN i % 7 = 0 THEN 'temporary' ELSE 'long_term' END,
           CASE WHEN i % 5 = 0 THEN '{vip}'::text[] ELSE '{}' END, 500
    FROM generate_series (1, 3000) i JOIN stores s ON s.brand_id = :b AND s.code = 's' || lpad ((1 + (i - 1) % 100)::text, 3, '0');
INSERT INTO group_states (brand_id, group_id, state, health, lifecycle)
    SELECT :b, id, (ARRAY['growing', 'healthy', 'declining', 'zombie'])[1 + id % 4], (id * 37) % 101, 'long_term' FROM groups WHERE brand_id = :b;
INSERT INTO group_health (brand_id, group_id, day, members, dau, wau, mau, active_ratio, msgs_per_day, top3_share, gini,
                          self_activation, growth_rate, leave_rate, violation_rate, post_response, health, state, lifecycle)
    SELECT :b, id, current_date, 50 + id % 400, 5, 20, 40, 0.3, (id % 90)::float, 0.4, 0.5, 0.8, 0.02, 0.01, 0.001, 1.5,
           (id * 37) % 101, (ARRAY['growing', 'healthy', 'declining', 'zombie'])[1 + id % 4], 'long_term' FROM groups WHERE brand_id = :b;
INSERT INTO daily_group_stats (brand_id, group_id, day, messages, active_members, joins, leaves, violations)
    SELECT :b, g.id, (now () + interval '8 hours')::date - d, (g.id + d) % 200, (g.id + d) % 30, d % 3, d % 2, d % 5
    FROM groups g, generate_series (0, 89) d WHERE g.brand_id = :b;
INSERT INTO members (brand_id, user_id, nickname) SELECT :b, 'u' || i, '会员' || i FROM generate_series (1, 30000) i;
INSERT INTO memberships (brand_id, group_id, member_id, joined_at)
    SELECT :b, (SELECT array_agg (id ORDER BY id) FROM groups WHERE brand_id = :b)[1 + m.id % 3000], m.id, now () - interval '60 days'
    FROM members m WHERE m.brand_id = :b;
SELECT qy_ensure_partition ((current_date - d)::date) FROM generate_series (0, 31) d \g /dev/null
DROP INDEX messages_text_trgm;
INSERT INTO messages (brand_id, event_time, msg_id, group_id, member_id, kind, text)
    SELECT :b, now () - ((i::bigint * 2592000) / :n) * interval '1 second' - (i % 997) * interval '1 ms', 'm' || i, ms.group_id, ms.member_id, 'text',
           w[1 + (i * 7) % 50] || w[1 + (i * 13) % 50] || w[1 + (i * 31) % 50]
           || CASE WHEN i % 3 = 0 THEN w[1 + (i * 17) % 50] ELSE '' END
           || CASE WHEN i % 2000 = 0 THEN '限量礼盒' ELSE '' END
    FROM generate_series (1, :n) i
    JOIN memberships ms ON ms.brand_id = :b AND ms.member_id = (SELECT min (id) FROM members WHERE brand_id = :b) + i % 30000,
    (SELECT ARRAY['今天', '优惠', '活动', '新品', '到货', '请问', '什么时候', '发货', '谢谢', '大家好', '会员', '积分', '兑换',
                  '门店', '地址', '营业', '时间', '口红', '面霜', '精华', '试用', '装', '好用', '推荐', '价格', '多少', '便宜',
                  '包邮', '链接', '下单', '退货', '换货', '客服', '在吗', '早上好', '晚安', '周末', '打折', '满减', '券',
                  '领取', '群主', '红包', '签到', '打卡', '抽奖', '中奖', '礼品', '包装', '颜色'] AS w) words;
\timing on
CREATE INDEX messages_text_trgm ON messages USING gin (text gin_trgm_ops);
\timing off
VACUUM ANALYZE;   -- what autovacuum would have done by then (visibility map, statistics)
