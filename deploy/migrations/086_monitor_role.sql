-- The role PostgreSQL's exporter (the compose profile `monitoring`,
-- docs/operations.md "Dashboards") reads the server's statistics as:
-- pg_monitor's views and functions, no table of ours. Made without LOGIN;
-- the grafana-role job gives it a password from the secret
-- pg_monitor_password. A second database in the cluster finds it made.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qy_monitor') THEN
        CREATE ROLE qy_monitor NOLOGIN;
    END IF;
END
$$;
GRANT pg_monitor TO qy_monitor;
