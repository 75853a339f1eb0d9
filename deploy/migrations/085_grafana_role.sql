-- The read-only role the brand-health dashboards use (deploy/grafana,
-- docs/operations.md "Dashboards"). It can read the roll-ups and the
-- columns of the operational tables the dashboards count, never a member's
-- words (violations.excerpt, hits), a delivery's payload, a dead letter's
-- bytes or a brand's gateway token. Created without LOGIN: the compose
-- profile `monitoring` gives it a password from a secret when it starts
-- (grafana-role in docker-compose.yml). Roles belong to the cluster, so a
-- second database in it finds the role already made.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qy_grafana') THEN
        CREATE ROLE qy_grafana NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO qy_grafana;
GRANT SELECT ON daily_group_stats, group_health, group_states, hourly_group_stats TO qy_grafana;
GRANT SELECT (id, code, name, tz_offset_min) ON brands TO qy_grafana;
GRANT SELECT (id, brand_id, code, name) ON stores TO qy_grafana;
GRANT SELECT (id, brand_id, store_id, code, name, type, capacity) ON groups TO qy_grafana;
GRANT SELECT (id, brand_id, group_id, event_time, category, action, strike, status, created_at) ON violations TO qy_grafana;
GRANT SELECT (brand_id, group_id, kind, status, attempts, created_at, delivered_at, next_attempt_at) ON deliveries TO qy_grafana;
GRANT SELECT (id, brand_id, brand_code, service, created_at, state) ON dead_letters TO qy_grafana;
