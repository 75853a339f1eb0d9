-- Row-level security (issue 17, section 3): PostgreSQL, not only the
-- console's C, keeps each user to their brand and their stores.
--
-- The console connects as qy_console, which is subject to the policies
-- below. Each request runs in one transaction that first sets its scope
-- with set_config (name, value, true), the parameterised SET LOCAL:
--   qy.admin      'on' for a platform admin (every brand)
--   qy.brand_id   the user's brand
--   qy.role       hq, region, store or reviewer
--   qy.region_id  the region of a region user (or reviewer)
--   qy.store_ids  comma-separated store ids of a store user (or reviewer)
-- With nothing set, every policy is false: no rows at all. The scope
-- functions are PARALLEL SAFE (settings reach parallel workers): otherwise
-- every statement under a policy would run without parallel workers.
--
-- The five pipeline services and qyctl connect as the tables' owner, which
-- policies do not bind (RLS is enabled, not forced): they work across
-- brands by design (one moderation replica judges every brand's messages,
-- scoring rolls up every brand, qyctl migrate and housekeep act on all),
-- each of their statements already filters on brand_id, and making them
-- set a scope per event would add a round trip to the hot path for no one
-- to protect against but themselves. Any other role gets the policies.
--
-- A table added later is covered with one call in its migration:
--     SELECT qy_rls_cover ('wecom_things');
-- which picks the narrowing from its columns (group_id, else store_id,
-- else member_id, else the brand alone), or explicitly:
--     SELECT qy_rls_apply ('wecom_things', 'group', 'group_id');

DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'qy_console') THEN
        CREATE ROLE qy_console NOLOGIN;   -- deployment: ALTER ROLE qy_console LOGIN PASSWORD '…'
    END IF;
END $$;

-- ------------------------------------------------------------ the scope

CREATE FUNCTION qy_scope_admin () RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce (current_setting ('qy.admin', true), '') = 'on'
$$;

CREATE FUNCTION qy_scope_brand () RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif (current_setting ('qy.brand_id', true), '')::bigint
$$;

-- hq sees its whole brand; so does a reviewer given neither region nor store.
CREATE FUNCTION qy_scope_whole_brand () RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT qy_scope_admin ()
        OR (qy_scope_brand () IS NOT NULL
            AND (current_setting ('qy.role', true) = 'hq'
                 OR (current_setting ('qy.role', true) = 'reviewer'
                     AND coalesce (current_setting ('qy.region_id', true), '') = ''
                     AND coalesce (current_setting ('qy.store_ids', true), '') = '')))
$$;

CREATE FUNCTION qy_scope_region () RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif (current_setting ('qy.region_id', true), '')::bigint
$$;

-- The stores of the scope: the listed ones, else the region's. SECURITY
-- DEFINER: it reads stores past their own policy (a policy on stores that
-- read stores would recurse); it only ever returns stores of the brand set.
CREATE FUNCTION qy_scope_store_ids () RETURNS bigint[] LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    listed text := coalesce (current_setting ('qy.store_ids', true), '');
BEGIN
    IF qy_scope_brand () IS NULL THEN
        RETURN '{}';
    END IF;
    IF listed <> '' THEN
        RETURN ARRAY (SELECT id FROM stores WHERE brand_id = qy_scope_brand ()
                      AND id = ANY (string_to_array (listed, ',')::bigint[]));
    END IF;
    IF qy_scope_region () IS NOT NULL THEN
        RETURN ARRAY (SELECT id FROM stores WHERE brand_id = qy_scope_brand () AND region_id = qy_scope_region ());
    END IF;
    RETURN '{}';
END $$;

-- The groups of those stores (same reason for SECURITY DEFINER).
CREATE FUNCTION qy_scope_group_ids () RETURNS bigint[] LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
    SELECT coalesce (array_agg (id), '{}') FROM groups
    WHERE brand_id = qy_scope_brand () AND store_id = ANY (qy_scope_store_ids ())
$$;

REVOKE ALL ON FUNCTION qy_scope_store_ids (), qy_scope_group_ids () FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qy_scope_store_ids (), qy_scope_group_ids () TO qy_console;
-- The archive search of 098 reads as the owner: the console's alone.
REVOKE ALL ON FUNCTION qy_archive_search (text, timestamptz, timestamptz, text, text, text, text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION qy_archive_search (text, timestamptz, timestamptz, text, text, text, text, integer, integer) TO qy_console;

-- ------------------------------------------------------------ the policies

-- The standard policy on one table. how: 'brand' (the brand alone: the
-- brand's configuration, visible to every role of the brand), 'store',
-- 'group', 'member' or 'region' (col holds that object's id; narrower roles
-- see a row only through it, a region also through its stores; a NULL there is seen by whole-brand roles
-- only). brand_col names the brand column (brands itself: id). The scope
-- functions are wrapped in (SELECT …) so each runs once per statement,
-- not once per row.
CREATE FUNCTION qy_rls_apply (tbl regclass, how text, col text DEFAULT NULL, brand_col text DEFAULT 'brand_id')
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    brand_ok text := format ('%I = (SELECT qy_scope_brand ())', brand_col);
    narrow text;
BEGIN
    narrow := CASE how
        WHEN 'brand'  THEN 'true'
        WHEN 'store'  THEN format ('%I = ANY ((SELECT qy_scope_store_ids ())::bigint[])', col)
        WHEN 'group'  THEN format ('%I = ANY ((SELECT qy_scope_group_ids ())::bigint[])', col)
        WHEN 'region' THEN format ('(%I = (SELECT qy_scope_region ()) OR %I IN (SELECT region_id FROM stores '
                                   'WHERE id = ANY ((SELECT qy_scope_store_ids ())::bigint[])))', col, col)
        WHEN 'member' THEN format ('EXISTS (SELECT 1 FROM memberships qy_m WHERE qy_m.brand_id = %s.%I '
                                   'AND qy_m.member_id = %s.%I AND qy_m.group_id = ANY ((SELECT qy_scope_group_ids ())::bigint[]))',
                                   tbl, brand_col, tbl, col)
    END;
    IF narrow IS NULL OR (how <> 'brand' AND col IS NULL) THEN
        RAISE EXCEPTION 'qy_rls_apply: unknown narrowing % (column %)', how, col;
    END IF;
    EXECUTE format ('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format ('DROP POLICY IF EXISTS qy_scope ON %s', tbl);
    EXECUTE format ('CREATE POLICY qy_scope ON %s USING (%s) WITH CHECK (%s)', tbl,
                    format ('(SELECT qy_scope_admin ()) OR (%s AND ((SELECT qy_scope_whole_brand ()) OR %s))', brand_ok, narrow),
                    format ('(SELECT qy_scope_admin ()) OR (%s AND ((SELECT qy_scope_whole_brand ()) OR %s))', brand_ok, narrow));
    EXECUTE format ('GRANT SELECT ON %s TO qy_console', tbl);
END $$;

-- The same, with the narrowing read off the table's columns.
CREATE FUNCTION qy_rls_cover (tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    has text[] := ARRAY (SELECT attname::text FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped);
BEGIN
    IF NOT 'brand_id' = ANY (has) THEN
        RAISE EXCEPTION 'qy_rls_cover: % has no brand_id', tbl;
    END IF;
    IF 'group_id' = ANY (has) THEN
        PERFORM qy_rls_apply (tbl, 'group', 'group_id');
    ELSIF 'store_id' = ANY (has) THEN
        PERFORM qy_rls_apply (tbl, 'store', 'store_id');
    ELSIF 'member_id' = ANY (has) THEN
        PERFORM qy_rls_apply (tbl, 'member', 'member_id');
    ELSE
        PERFORM qy_rls_apply (tbl, 'brand');
    END IF;
END $$;

-- Objects whose own id is the narrowing.
SELECT qy_rls_apply ('brands', 'brand', NULL, 'id');
SELECT qy_rls_apply ('regions', 'region', 'id');
SELECT qy_rls_apply ('stores', 'store', 'id');
SELECT qy_rls_apply ('members', 'member', 'id');
-- groups by store (qy_rls_cover would pick its store_id too; said here
-- because its rows are what every other policy narrows through).
SELECT qy_rls_apply ('groups', 'store', 'store_id');
-- messages by group, not by its store_id column: the group is what the
-- archive's index leads with, and a group moved to another store takes
-- its history with it.
SELECT qy_rls_apply ('messages', 'group', 'group_id');

-- Every other table with a brand_id, as it stands at this migration
-- (partitions of messages excluded: they are reached only through it).
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'brand_id' AND NOT a.attisdropped)
               AND c.relname NOT IN ('brands', 'regions', 'stores', 'members', 'groups', 'messages')
               AND c.relname NOT LIKE 'console\_%'
             ORDER BY c.relname LOOP
        PERFORM qy_rls_cover (t);
    END LOOP;
END $$;

-- Secrets the console has no business reading, policy or not.
REVOKE ALL ON gateway_credentials FROM qy_console;

-- The roll-up views read with the caller's rights (and so its policies),
-- not their owner's.
ALTER VIEW store_daily_stats SET (security_invoker = true);
ALTER VIEW region_daily_stats SET (security_invoker = true);
GRANT SELECT ON store_daily_stats, region_daily_stats TO qy_console;

-- What the console changes (each change also audited by it).
GRANT UPDATE (tags, positioning) ON groups TO qy_console;
GRANT UPDATE (status, decided_by, decided_at, decision_reason) ON violations TO qy_console;
GRANT UPDATE (lifted_at) ON blocks TO qy_console;
GRANT INSERT ON audit_log TO qy_console;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO qy_console;
GRANT INSERT, DELETE ON moderation_models TO qy_console;
GRANT USAGE ON SEQUENCE moderation_models_id_seq TO qy_console;
GRANT UPDATE (replays, replayed_at, resolved_at, replay_result) ON dead_letters TO qy_console;
-- Its own tables (no policy: see 090).
GRANT SELECT, INSERT, UPDATE, DELETE ON console_users, console_sessions, console_tokens, console_login_failures TO qy_console;
GRANT USAGE ON SEQUENCE console_users_id_seq, console_tokens_id_seq TO qy_console;
