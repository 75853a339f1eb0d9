-- Dead letters keep a bounded prefix of what was set aside plus its size
-- and SHA-256 (common/src/qy_deadletter.c): three refused 1.5 MB requests
-- added 4.7 MB. An event always fits whole (ingest bounds its fields), so
-- events stay replayable; a refused request keeps 4 KiB for diagnosis and
-- is closed at once (the gateway was answered 400), so retention removes it.
ALTER TABLE dead_letters
    ADD COLUMN payload_bytes  bigint,      -- size of what was set aside (payload may hold a prefix)
    ADD COLUMN payload_sha256 bytea;       -- of all of it

UPDATE dead_letters SET payload_bytes = length (payload), payload_sha256 = sha256 (payload),
                        payload = substring (payload FROM 1 FOR 262144)
WHERE payload IS NOT NULL;
