-- qy:no-transaction
-- Indexes for the statements every event or every poll runs, where the
-- older indexes made the work grow with history instead of with what is
-- asked (measured with pg_stat_statements in the pipeline benchmark).
-- Built CONCURRENTLY, outside a transaction: writes to violations and
-- deliveries go on while they build. Each build is preceded by a drop, so a
-- run that failed half-way (which leaves an invalid index) is run again whole.

-- Moderation decides each violation under the member's lock by asking how
-- many live strikes the member has and whether a mute of theirs is running.
-- With only violations_member (brand, member, created_at) both read every
-- violation the member ever had, reviews and recalled messages of a mute
-- included. These hold only strikes, and only mutes.
DROP INDEX CONCURRENTLY IF EXISTS violations_member_strikes;
CREATE INDEX CONCURRENTLY violations_member_strikes ON violations (brand_id, member_id, created_at) WHERE strike > 0;
DROP INDEX CONCURRENTLY IF EXISTS violations_member_mutes;
CREATE INDEX CONCURRENTLY violations_member_mutes ON violations (brand_id, member_id, mute_until) WHERE mute_until IS NOT NULL;

-- Notifier's claim takes, per brand, the first due pending deliveries in
-- their order, and the sending ones whose lease ran out. deliveries_due
-- (priority, next_attempt_at) holds both states and every brand, so every
-- claim read all of them, waiting ones (rate limits, quiet hours) and the
-- entries updates left behind included: 70 ms a claim with a backlog of
-- 5,000 in the pipeline benchmark, while the backlog grew.
DROP INDEX CONCURRENTLY IF EXISTS deliveries_pending;
CREATE INDEX CONCURRENTLY deliveries_pending ON deliveries (brand_id, priority, next_attempt_at, key) WHERE status = 'pending';
DROP INDEX CONCURRENTLY IF EXISTS deliveries_leased;
CREATE INDEX CONCURRENTLY deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
