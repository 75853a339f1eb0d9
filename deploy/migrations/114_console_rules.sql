-- A rule set saved from the console (POST /api/v1/rules) as `qyctl rules
-- load --file` stores it: each rule upserted by name and enabled. rules is
-- under its brand policy (099), so an HQ user writes only its brand's.
GRANT INSERT, UPDATE (kind, category, pattern, weight, dry_run, enabled, updated_at) ON rules TO qy_console;
GRANT USAGE ON SEQUENCE rules_id_seq TO qy_console;
