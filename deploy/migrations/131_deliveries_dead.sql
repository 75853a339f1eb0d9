-- qy:no-transaction
-- qyctl status counts the deliveries that went dead in the last day
-- (status = 'dead' AND created_at > now () - 1 day, for one brand or
-- all). No index matched it without the brand: PostgreSQL read the whole
-- table, every delivery of the retention's 30 days (tens of millions of
-- rows at scale) for a handful of dead ones; with the brand it walked the
-- brand's day in deliveries_brand. A partial index of the dead rows alone
-- answers both: a row enters it once, when it dies (a rare update; no
-- cost on the hot path, where rows are pending, sending or delivered).
-- Built CONCURRENTLY: the notifier goes on meanwhile.
DROP INDEX CONCURRENTLY IF EXISTS deliveries_dead;
CREATE INDEX CONCURRENTLY deliveries_dead ON deliveries (created_at) WHERE status = 'dead';
