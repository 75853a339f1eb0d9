-- qy:no-transaction
-- Each planning round (every campaign, every 30 s) reads the jobs a
-- campaign already has from a day before its window on, and its once-per-
-- group jobs whenever they were due. As one statement with an OR, no index
-- served it: PostgreSQL read the campaign's whole job history (a review
-- measured 131 ms for 728,000 jobs: 2,000 groups × 4 steps × 91 days), and
-- more each day it is kept (retention's 90 days, or for ever with
-- --jobs-days 0). campaign_plan.c now asks in two parts, each served by
-- an index of its own: jobs by campaign and due time, and the few
-- once-per-group jobs by campaign. Built CONCURRENTLY: campaign goes on
-- meanwhile.
DROP INDEX CONCURRENTLY IF EXISTS campaign_jobs_planned;
CREATE INDEX CONCURRENTLY campaign_jobs_planned ON campaign_jobs (campaign_id, due_at);
DROP INDEX CONCURRENTLY IF EXISTS campaign_jobs_once;
CREATE INDEX CONCURRENTLY campaign_jobs_once ON campaign_jobs (campaign_id) WHERE period = 'g';
