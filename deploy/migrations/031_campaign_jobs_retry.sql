-- qy:no-transaction
-- Campaign jobs: retries, and indexes for the lookups every event ran.
-- Built CONCURRENTLY, outside a transaction (like 052): the runner and the
-- event handler go on writing campaign_jobs while they build. Each build is
-- preceded by a drop, so a run that failed half-way is run again whole.

-- A job that fails with PostgreSQL up is rolled back alone (a savepoint)
-- and tried again at retry_at; after 3 attempts it is cancelled (guard
-- 'error'). Adding a column with a constant default rewrites nothing.
ALTER TABLE campaign_jobs ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE campaign_jobs ADD COLUMN IF NOT EXISTS retry_at timestamptz;

-- "Was this message already folded into a reply?" asks, per message of a
-- keyword, check-in or contest campaign, whether any job of the campaign
-- holds its id in fold_msgs: with only campaign_jobs_campaign that read
-- every job the campaign ever had. Only folded replies hold ids.
DROP INDEX CONCURRENTLY IF EXISTS campaign_jobs_fold_msgs;
CREATE INDEX CONCURRENTLY campaign_jobs_fold_msgs ON campaign_jobs USING gin (fold_msgs) WHERE cardinality (fold_msgs) > 0;

-- The open fold window of a campaign, step and group: the pending jobs of
-- that group only, newest first.
DROP INDEX CONCURRENTLY IF EXISTS campaign_jobs_open_fold;
CREATE INDEX CONCURRENTLY campaign_jobs_open_fold ON campaign_jobs (campaign_id, group_id, step, due_at) WHERE status = 'pending';
