-- Archive search for the console, through pg_trgm's index under the row
-- level scope (099). A policy's rows come first: PostgreSQL uses a query's
-- own condition as an index condition on a table with row-level security
-- only when its operator is leakproof, and LIKE is not, so the console's
-- LIKE '%…%' read every message of the time range (a sequential scan per
-- day) instead of the trigram index. This function runs as the owner (no
-- policy in the way) and applies the condition of the policy on messages
-- itself, from the same qy.* settings: it returns no row the caller's scope
-- would not show. The scope, the member and the groups are written into
-- the statement as constants, so each search is planned with them: the
-- brand and the scope's groups lead into the archive's (brand_id,
-- group_id, event_time) and (brand_id, member_id, event_time) indexes, the
-- pattern into the trigram index.
-- plpgsql, so that the qy_scope_* functions of 099 are looked up when it
-- runs.
CREATE FUNCTION qy_archive_search (pattern text, t_from timestamptz, t_to timestamptz, member_user text,
                                   group_code text, store_code text, msg_kind text, lim integer, off integer)
RETURNS SETOF messages LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    brand bigint := qy_scope_brand ();
    scope text;
BEGIN
    IF qy_scope_admin () THEN
        scope := 'true';
    ELSIF brand IS NULL THEN
        RETURN;                                     -- no scope, no rows
    ELSIF qy_scope_whole_brand () THEN
        scope := format ('m.brand_id = %s', brand);
    ELSE
        scope := format ('m.brand_id = %s AND m.group_id = ANY (%L::bigint[])', brand, qy_scope_group_ids ());
    END IF;
    RETURN QUERY EXECUTE
        'SELECT m.* FROM messages m WHERE m.event_time >= $1 AND m.event_time < $2 AND ' || scope
        || CASE WHEN pattern IS NULL THEN '' ELSE format (' AND m.text LIKE %L', pattern) END
        || CASE WHEN member_user IS NULL THEN '' ELSE format (' AND m.member_id = ANY (%L::bigint[])',
               ARRAY (SELECT id FROM members WHERE user_id = member_user)) END
        || CASE WHEN group_code IS NULL THEN '' ELSE format (' AND m.group_id = ANY (%L::bigint[])',
               ARRAY (SELECT id FROM groups WHERE code = group_code)) END
        || CASE WHEN store_code IS NULL THEN '' ELSE format (' AND m.group_id = ANY (%L::bigint[])',
               ARRAY (SELECT g.id FROM groups g JOIN stores s ON s.id = g.store_id WHERE s.code = store_code)) END
        || CASE WHEN msg_kind IS NULL THEN '' ELSE ' AND m.kind = $3' END
        || ' ORDER BY m.event_time DESC, m.msg_id LIMIT $4 OFFSET $5'
        USING t_from, t_to, msg_kind, lim, off;
END $$;
