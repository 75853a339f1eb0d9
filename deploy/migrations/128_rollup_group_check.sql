-- Scoring's roll-up takes its group ids from Redis, not from PostgreSQL.
-- Until migration 126 the foreign keys of daily_group_stats refused a day
-- of a group PostgreSQL does not have (or of another brand's group), and
-- the roll-up dropped that one day and went on (scoring_rollup.c). The
-- statement now checks the group itself, a read where the key's check
-- locked the group's row, and raises the same error through this function
-- for a group that is not there.
CREATE FUNCTION qy_no_group (brand bigint, grp bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'group % is not a group of brand %', grp, brand USING ERRCODE = 'foreign_key_violation';
END $$;
