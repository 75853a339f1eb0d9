-- Moderation looks for overturned violations whose mute would still run
-- (at start and after every re-LISTEN) to lift them in Redis: without this
-- index that is a scan of every violation ever recorded.
CREATE INDEX violations_overturned_mutes ON violations (mute_until) WHERE status = 'overturned';
