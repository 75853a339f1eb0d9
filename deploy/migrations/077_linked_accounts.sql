-- Issue 20 §7: a member's accounts linked by the same WeChat unionid or
-- phone (where the gateway supplies them) share their strikes on the
-- content ladder. Each violation keeps the keys of its sender's identity,
-- hashed ("u:HASH", "p:HASH"; moderation_link_keys), never the values.
ALTER TABLE violations ADD COLUMN link_keys text[];
CREATE INDEX violations_link_keys ON violations USING gin (link_keys) WHERE strike > 0;
