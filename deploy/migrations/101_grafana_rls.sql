-- Grafana's read-only role (085) across row-level security (099).
-- qy_grafana is the platform's own monitoring: its brand-health board
-- picks a brand with a variable, so it reads every brand's roll-ups, and
-- 085's grants already limit it to counted columns (no message text,
-- payloads or tokens). 099's policies, written for the console's scoped
-- sessions, would show it nothing; a SELECT-only policy for this role on
-- each table it may read keeps every other role's scope as it was.
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relispartition
               AND has_any_column_privilege ('qy_grafana', c.oid, 'SELECT')
             ORDER BY c.relname LOOP
        EXECUTE format ('DROP POLICY IF EXISTS qy_grafana_read ON %s', t);
        EXECUTE format ('CREATE POLICY qy_grafana_read ON %s FOR SELECT TO qy_grafana USING (true)', t);
    END LOOP;
END $$;
