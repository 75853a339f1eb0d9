-- The tables the chain writes a row into per new member, membership and
-- group-day lose their foreign keys (issue 19 target 4, docs/benchmarks.md):
-- memberships, members, daily_group_stats, daily_member_stats and
-- hourly_group_stats.
-- A foreign key's check on insert reads the parent row and locks it FOR
-- KEY SHARE, and a lock is a write: the parent's page is dirtied and
-- WAL-logged, and with several writers (ingest, scoring, their replicas)
-- on one parent (the brand's single row, above all) the lockers become a
-- MultiXact. Inserting 10,000 memberships took 205-223 ms with the four
-- keys, 61 ms without; at 100,000 groups nearly every event of a day
-- brings a member, a membership and a group-day that are new, and these
-- inserts were a third of PostgreSQL's time per event.
-- What the keys guarded still holds: the ids come from the parent rows in
-- the same database (ingest resolves them before writing; scoring's
-- roll-ups from ingest's events), and nothing deletes a brand, group,
-- member or channel. integration_foundation checks that no row of these
-- tables names a parent that does not exist.
ALTER TABLE memberships DROP CONSTRAINT IF EXISTS memberships_brand_id_fkey,
                        DROP CONSTRAINT IF EXISTS memberships_group_id_fkey,
                        DROP CONSTRAINT IF EXISTS memberships_member_id_fkey,
                        DROP CONSTRAINT IF EXISTS memberships_channel_id_fkey;
ALTER TABLE members DROP CONSTRAINT IF EXISTS members_brand_id_fkey;
ALTER TABLE daily_group_stats DROP CONSTRAINT IF EXISTS daily_group_stats_brand_id_fkey,
                              DROP CONSTRAINT IF EXISTS daily_group_stats_group_id_fkey;
ALTER TABLE daily_member_stats DROP CONSTRAINT IF EXISTS daily_member_stats_brand_id_fkey,
                               DROP CONSTRAINT IF EXISTS daily_member_stats_group_id_fkey,
                               DROP CONSTRAINT IF EXISTS daily_member_stats_member_id_fkey;
ALTER TABLE hourly_group_stats DROP CONSTRAINT IF EXISTS hourly_group_stats_brand_id_fkey,
                               DROP CONSTRAINT IF EXISTS hourly_group_stats_group_id_fkey;
