-- The events counted into a group-day (the Redis hash's n), written with
-- the roll-up: a roll-up replaces a day's row only when it counted at least
-- as many events, so a stale roll-up (another replica's, read before
-- newer events) or one of counters restarted after they expired never
-- writes smaller numbers over the day. Rows from before this migration
-- have 0 and take the next roll-up.
ALTER TABLE daily_group_stats
    ADD COLUMN events bigint NOT NULL DEFAULT 0;
