-- qy:no-transaction
-- message_ids_event_time, a btree on event_time (087), took one entry per
-- event archived, and its one reader is retention's range DELETE in
-- qy_drop_partitions_before, which qyctl housekeep calls once a day, when a
-- day of the archive falls out (message_ids' other reads and writes go by
-- its primary key). Events arrive in about their time order, so a BRIN
-- index (a minimum and maximum per 128 pages, summarized when a range
-- fills: autosummarize) serves that DELETE with a bitmap scan of the old
-- ranges and costs an insert next to nothing. Once retention has freed
-- pages that newer ids refill, those ranges span old and new times and the
-- DELETE reads them too: at worst a read of the table once a day.
-- Built CONCURRENTLY before the btree goes, so the DELETE always has an
-- index and ingest's inserts never wait; the drops first make a run that
-- failed half-way run again whole.
DROP INDEX CONCURRENTLY IF EXISTS message_ids_event_brin;
CREATE INDEX CONCURRENTLY message_ids_event_brin ON message_ids USING brin (event_time) WITH (autosummarize = on);
DROP INDEX CONCURRENTLY IF EXISTS message_ids_event_time;
