-- qy:no-transaction
-- Moderation's read before it records a batch (moderation_store.c,
-- s_read_existing) counts, per violation whose sender has a unionid or
-- phone, the strikes of other accounts with the same keys (issue 20 §7).
-- Two things made that lookup read every strike of the brand instead of
-- the few rows sharing a key, 23 ms a batch at 100,000 groups (issue 19
-- target 4, docs/benchmarks.md):
-- * violations_link_keys (077) kept GIN's pending list (fastupdate): every
--   lookup scans the whole list of entries inserted since the last vacuum,
--   and violations is the table moderation inserts into all day. Without
--   it each insert goes straight into the tree and a lookup reads a few
--   pages.
-- * it indexed the rows without keys too (most of them). This one holds
--   only rows that have keys; the statement's && proves the predicate.
-- The statement no longer lets the planner pair the brand's index with it
-- (brand_id + 0 there, see the comment in moderation_store.c).
-- Built CONCURRENTLY, outside a transaction (as 052 and 124), before the
-- old one is dropped, so the lookup always has an index; dropped first so
-- a failed run is run again whole.
DROP INDEX CONCURRENTLY IF EXISTS violations_strike_links;
CREATE INDEX CONCURRENTLY violations_strike_links ON violations USING gin (link_keys) WITH (fastupdate = off)
    WHERE strike > 0 AND link_keys IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS violations_link_keys;
