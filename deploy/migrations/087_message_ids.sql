-- One row per (brand, gateway message id), whatever event time it came
-- with: the archive's key includes the event time (its partitions are by
-- day), so a message re-sent with another msgtime was stored twice. ingest
-- inserts here first and archives only what was new here.
--
-- handed_on: ingest has passed the event on to the chain. An event
-- archived but not handed on (ingest killed between its commit and its
-- send) is re-sent from the archive by ingest itself, without an operator
-- (docs/architecture.md, "Reliability").
CREATE TABLE message_ids (
    brand_id     bigint NOT NULL,
    msg_id       text NOT NULL,
    event_time   timestamptz NOT NULL,               -- the archived copy's (messages' key)
    ingest_time  timestamptz NOT NULL DEFAULT now(),
    handed_on    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (brand_id, msg_id)
);
CREATE INDEX message_ids_owed ON message_ids (ingest_time) WHERE NOT handed_on;
CREATE INDEX message_ids_event_time ON message_ids (event_time);

-- What the archive holds already was handed on (or is an operator's to replay).
INSERT INTO message_ids (brand_id, msg_id, event_time, ingest_time, handed_on)
SELECT DISTINCT ON (brand_id, msg_id) brand_id, msg_id, event_time, ingest_time, true
FROM messages ORDER BY brand_id, msg_id, event_time
ON CONFLICT DO NOTHING;

-- Retention drops the ids with the partitions that held their messages:
-- qy_drop_partitions_before (what housekeep calls) now does both.
ALTER FUNCTION qy_drop_partitions_before (date) RENAME TO qy_drop_message_partitions_before;
CREATE FUNCTION qy_drop_partitions_before (day date) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM message_ids WHERE event_time < day::timestamp AT TIME ZONE 'UTC';
    RETURN qy_drop_message_partitions_before (day);
END $$;
