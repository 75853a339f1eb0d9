-- Two tables the console reads, kept by PostgreSQL itself from what
-- scoring writes, so scoring's code does not change and every writer
-- (scoring's replicas, qyctl, a test's seed) keeps them true.
--
-- 1. group_health_days: a group's health score and its parts, one row per
--    group and brand day. group_health holds only the last evaluation;
--    each evaluation also lands here (the day's last one wins), so the
--    group profile can chart the score over time.
-- 2. store_day_totals: the day roll-ups (daily_group_stats) summed per
--    store and day. The overview of a brand of 3,000 groups over 90 days
--    summed 270,000 group-days per request; it now sums 100 stores × 90
--    days. Each statement on daily_group_stats adds its difference (new −
--    old) per store-day, so concurrent roll-ups of different groups of one
--    store add up instead of overwriting each other; a group moved to
--    another store takes its days with it (as the archive's policy does).
--    Groups without a store count under store_id NULL.

CREATE TABLE group_health_days (
    brand_id         bigint NOT NULL REFERENCES brands (id),
    group_id         bigint NOT NULL REFERENCES groups (id),
    day              date NOT NULL,                  -- the brand's day the figures are for
    health           int NOT NULL,
    state            text NOT NULL,
    members          bigint NOT NULL,
    dau              bigint NOT NULL,
    wau              bigint NOT NULL,
    mau              bigint NOT NULL,
    active_ratio     double precision NOT NULL,
    msgs_per_day     double precision NOT NULL,
    top3_share       double precision NOT NULL,
    gini             double precision NOT NULL,
    self_activation  double precision NOT NULL,
    growth_rate      double precision NOT NULL,
    leave_rate       double precision NOT NULL,
    violation_rate   double precision NOT NULL,
    post_response    double precision NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (group_id, day)
);
CREATE INDEX group_health_days_brand ON group_health_days (brand_id, day);

CREATE FUNCTION qy_group_health_day () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO group_health_days (brand_id, group_id, day, health, state, members, dau, wau, mau, active_ratio,
                                   msgs_per_day, top3_share, gini, self_activation, growth_rate, leave_rate,
                                   violation_rate, post_response)
    VALUES (NEW.brand_id, NEW.group_id, NEW.day, NEW.health, NEW.state, NEW.members, NEW.dau, NEW.wau, NEW.mau,
            NEW.active_ratio, NEW.msgs_per_day, NEW.top3_share, NEW.gini, NEW.self_activation, NEW.growth_rate,
            NEW.leave_rate, NEW.violation_rate, NEW.post_response)
    ON CONFLICT (group_id, day) DO UPDATE SET health = EXCLUDED.health, state = EXCLUDED.state,
        members = EXCLUDED.members, dau = EXCLUDED.dau, wau = EXCLUDED.wau, mau = EXCLUDED.mau,
        active_ratio = EXCLUDED.active_ratio, msgs_per_day = EXCLUDED.msgs_per_day, top3_share = EXCLUDED.top3_share,
        gini = EXCLUDED.gini, self_activation = EXCLUDED.self_activation, growth_rate = EXCLUDED.growth_rate,
        leave_rate = EXCLUDED.leave_rate, violation_rate = EXCLUDED.violation_rate,
        post_response = EXCLUDED.post_response, updated_at = now ();
    RETURN NULL;
END $$;

INSERT INTO group_health_days (brand_id, group_id, day, health, state, members, dau, wau, mau, active_ratio,
                               msgs_per_day, top3_share, gini, self_activation, growth_rate, leave_rate,
                               violation_rate, post_response)
    SELECT brand_id, group_id, day, health, state, members, dau, wau, mau, active_ratio, msgs_per_day, top3_share,
           gini, self_activation, growth_rate, leave_rate, violation_rate, post_response FROM group_health;
CREATE TRIGGER group_health_day AFTER INSERT OR UPDATE ON group_health
    FOR EACH ROW EXECUTE FUNCTION qy_group_health_day ();

CREATE TABLE store_day_totals (
    brand_id        bigint NOT NULL REFERENCES brands (id),
    store_id        bigint REFERENCES stores (id),
    day             date NOT NULL,
    messages        bigint NOT NULL DEFAULT 0,
    active_members  bigint NOT NULL DEFAULT 0,      -- summed over the groups, as the overview always counted
    joins           bigint NOT NULL DEFAULT 0,
    leaves          bigint NOT NULL DEFAULT 0,
    violations      bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX store_day_totals_key ON store_day_totals (brand_id, (coalesce (store_id, 0)), day);
CREATE INDEX store_day_totals_store ON store_day_totals (store_id, day);

-- Add rows (brand, store, day and the five sums, signed; as arrays, one
-- element a row) to the totals: one upsert per store-day, in key order
-- (two writers lock the rows they share in the same order: no deadlock).
-- PL/pgSQL with static statements, so their plans are kept per session:
-- a roll-up pays one planned upsert, not a planning.
CREATE FUNCTION qy_store_day_add (b bigint[], s bigint[], d date[], m bigint[], a bigint[], j bigint[], l bigint[],
                                  v bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO store_day_totals AS t (brand_id, store_id, day, messages, active_members, joins, leaves, violations)
    SELECT x.b, x.s, x.d, sum (x.m), sum (x.a), sum (x.j), sum (x.l), sum (x.v)
    FROM unnest (b, s, d, m, a, j, l, v) AS x (b, s, d, m, a, j, l, v)
    GROUP BY x.b, x.s, x.d ORDER BY x.b, coalesce (x.s, 0), x.d
    ON CONFLICT (brand_id, (coalesce (store_id, 0)), day) DO UPDATE SET
        messages = t.messages + EXCLUDED.messages, active_members = t.active_members + EXCLUDED.active_members,
        joins = t.joins + EXCLUDED.joins, leaves = t.leaves + EXCLUDED.leaves, violations = t.violations + EXCLUDED.violations;
END $$;

-- Statement triggers with transition tables: a bulk write (a backfill,
-- housekeep's retention) costs one upsert per store-day, not one per row.
-- Each branch reads only the transition tables its event has.
CREATE FUNCTION qy_store_day_totals () RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b bigint[]; s bigint[]; d date[]; m bigint[]; a bigint[]; j bigint[]; l bigint[]; v bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg (r.brand_id), array_agg (g.store_id), array_agg (r.day), array_agg (r.messages),
               array_agg (r.active_members), array_agg (r.joins), array_agg (r.leaves), array_agg (r.violations)
        INTO b, s, d, m, a, j, l, v FROM qy_new r JOIN groups g ON g.id = r.group_id;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg (r.brand_id), array_agg (g.store_id), array_agg (r.day), array_agg (r.messages),
               array_agg (r.active_members), array_agg (r.joins), array_agg (r.leaves), array_agg (r.violations)
        INTO b, s, d, m, a, j, l, v FROM (
            SELECT brand_id, group_id, day, messages, active_members, joins, leaves, violations FROM qy_new
            UNION ALL
            SELECT brand_id, group_id, day, -messages, -active_members, -joins, -leaves, -violations FROM qy_old) r
        JOIN groups g ON g.id = r.group_id;
    ELSE
        SELECT array_agg (r.brand_id), array_agg (g.store_id), array_agg (r.day), array_agg (-r.messages),
               array_agg (-r.active_members), array_agg (-r.joins), array_agg (-r.leaves), array_agg (-r.violations)
        INTO b, s, d, m, a, j, l, v FROM qy_old r JOIN groups g ON g.id = r.group_id;
    END IF;
    IF b IS NOT NULL THEN
        PERFORM qy_store_day_add (b, s, d, m, a, j, l, v);
    END IF;
    RETURN NULL;
END $$;

SELECT qy_store_day_add (array_agg (r.brand_id), array_agg (g.store_id), array_agg (r.day), array_agg (r.messages),
                         array_agg (r.active_members), array_agg (r.joins), array_agg (r.leaves), array_agg (r.violations))
FROM daily_group_stats r JOIN groups g ON g.id = r.group_id;
CREATE TRIGGER store_day_totals_insert AFTER INSERT ON daily_group_stats
    REFERENCING NEW TABLE AS qy_new FOR EACH STATEMENT EXECUTE FUNCTION qy_store_day_totals ();
CREATE TRIGGER store_day_totals_update AFTER UPDATE ON daily_group_stats
    REFERENCING OLD TABLE AS qy_old NEW TABLE AS qy_new FOR EACH STATEMENT EXECUTE FUNCTION qy_store_day_totals ();
CREATE TRIGGER store_day_totals_delete AFTER DELETE ON daily_group_stats
    REFERENCING OLD TABLE AS qy_old FOR EACH STATEMENT EXECUTE FUNCTION qy_store_day_totals ();

-- A group moved to another store: its days move with it (taken from the
-- old store, added to the new one).
CREATE FUNCTION qy_store_day_move () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM qy_store_day_add (array_agg (r.brand_id), array_agg (r.store_id), array_agg (r.day), array_agg (r.messages),
                              array_agg (r.active_members), array_agg (r.joins), array_agg (r.leaves), array_agg (r.violations))
    FROM (SELECT brand_id, OLD.store_id AS store_id, day, -messages AS messages, -active_members AS active_members,
                 -joins AS joins, -leaves AS leaves, -violations AS violations FROM daily_group_stats WHERE group_id = NEW.id
          UNION ALL
          SELECT brand_id, NEW.store_id, day, messages, active_members, joins, leaves, violations
          FROM daily_group_stats WHERE group_id = NEW.id) r;
    RETURN NULL;
END $$;
CREATE TRIGGER store_day_move AFTER UPDATE OF store_id ON groups
    FOR EACH ROW WHEN (OLD.store_id IS DISTINCT FROM NEW.store_id) EXECUTE FUNCTION qy_store_day_move ();

SELECT qy_rls_cover ('group_health_days');
SELECT qy_rls_cover ('store_day_totals');
