-- What ingest archived and has not handed on, one row per archived batch
-- and brand instead of a flag on every message id (087's handed_on).
-- Marking each event handed on was an UPDATE of its message_ids row: a new
-- row version and an entry in each of its three indexes (the flag sat in
-- message_ids_owed's predicate, so it was never a HOT update), about 15 %
-- of PostgreSQL's time per event in the pipeline benchmark, plus the
-- partial index's entry at every insert (docs/benchmarks.md). Now the
-- archive's statement adds one row per batch and brand listing the
-- batch's new messages, and ingest deletes it once the bus acknowledged
-- every one of them (ingest_outbox.c); a row older than resend.grace_s is
-- re-sent whole, by any replica, as unmarked events were.
CREATE TABLE ingest_owed (
    id          bigserial PRIMARY KEY,
    brand_id    bigint NOT NULL,
    ingest_time timestamptz NOT NULL DEFAULT now(),
    msg_ids     text[] NOT NULL,
    event_times timestamptz[] NOT NULL          -- the archived copies' (messages' key), in msg_ids' order
);
CREATE INDEX ingest_owed_time ON ingest_owed (ingest_time);
SELECT qy_rls_cover ('ingest_owed');

-- What was owed under the flag stays owed: re-sent after the upgrade.
INSERT INTO ingest_owed (brand_id, ingest_time, msg_ids, event_times)
SELECT brand_id, min (ingest_time), array_agg (msg_id ORDER BY ingest_time), array_agg (event_time ORDER BY ingest_time)
FROM message_ids WHERE NOT handed_on
GROUP BY brand_id, date_trunc ('minute', ingest_time);
DROP INDEX message_ids_owed;
ALTER TABLE message_ids DROP COLUMN handed_on;
