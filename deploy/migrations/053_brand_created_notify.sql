-- A brand's creation is announced on qy_config too ('brands:ID'), not only
-- its changes: ingest remembers unknown brand codes for a few seconds and
-- forgets them when a brand is created, so events (or dead letters
-- replayed) for a brand created a moment ago are not refused.
DROP TRIGGER brands_notify ON brands;
CREATE TRIGGER brands_notify AFTER INSERT OR UPDATE ON brands
    FOR EACH ROW EXECUTE FUNCTION qy_notify_brand ();
