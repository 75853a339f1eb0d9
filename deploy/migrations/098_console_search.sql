-- Archive search for the console, through pg_trgm's index under the row
-- level scope (099). A policy's rows come first: PostgreSQL uses a query's
-- own condition as an index condition on a table with row-level security
-- only when its operator is leakproof, and LIKE is not, so the console's
-- LIKE '%…%' read every message of the time range (a sequential scan per
-- day) instead of the trigram index. This function runs as the owner (no
-- policy in the way, so the index serves the pattern) and applies the very
-- condition of the policy on messages itself, from the same qy.* settings:
-- it returns no row the caller's scope would not show.
-- plpgsql, so that the qy_scope_* functions of 099 are looked up when it
-- runs; EXECUTE plans each search with its pattern (a generic plan cannot
-- know that the pattern is selective).
CREATE FUNCTION qy_archive_search (pattern text, t_from timestamptz, t_to timestamptz, member_user text,
                                   group_code text, store_code text, msg_kind text, lim integer, off integer)
RETURNS SETOF messages LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT m.* FROM messages m
         WHERE m.event_time >= $2 AND m.event_time < $3
           AND ((SELECT qy_scope_admin ()) OR (m.brand_id = (SELECT qy_scope_brand ())
                AND ((SELECT qy_scope_whole_brand ()) OR m.group_id = ANY ((SELECT qy_scope_group_ids ())::bigint[]))))'
        || CASE WHEN pattern IS NULL THEN '' ELSE format (' AND m.text LIKE %L', pattern) END
        || CASE WHEN member_user IS NULL THEN '' ELSE ' AND m.member_id IN (SELECT id FROM members WHERE user_id = $4)' END
        || CASE WHEN group_code IS NULL THEN '' ELSE ' AND m.group_id IN (SELECT id FROM groups WHERE code = $5)' END
        || CASE WHEN store_code IS NULL THEN '' ELSE
               ' AND m.group_id IN (SELECT g.id FROM groups g JOIN stores s ON s.id = g.store_id WHERE s.code = $6)' END
        || CASE WHEN msg_kind IS NULL THEN '' ELSE ' AND m.kind = $7' END
        || ' ORDER BY m.event_time DESC, m.msg_id LIMIT $8 OFFSET $9'
        USING pattern, t_from, t_to, member_user, group_code, store_code, msg_kind, lim, off;
END $$;
