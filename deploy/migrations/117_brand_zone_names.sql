-- A brand's time zone by its IANA name (Asia/Shanghai, America/New_York),
-- not only by an offset: a brand's days, hours and quiet times follow
-- summer time where its zone has one. tz_name NULL keeps a fixed offset,
-- tz_offset_min (a brand created with minutes, and every brand before
-- this migration: 480, China's, which has no summer time).
ALTER TABLE brands ADD COLUMN tz_name text;
COMMENT ON COLUMN brands.tz_name IS 'IANA zone name; NULL: the fixed offset tz_offset_min';

-- Minutes east of UTC of a brand's zone at an instant: what every reader
-- takes instead of tz_offset_min alone, so the offset is computed from the
-- zone's rules (PostgreSQL's tz database) when it is read, not frozen
-- when the brand was written.
CREATE FUNCTION qy_tz_offset_min (tz_name text, fixed_min integer, at timestamptz DEFAULT now ())
RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN tz_name IS NULL THEN fixed_min
                ELSE (extract (epoch FROM (at AT TIME ZONE tz_name) - (at AT TIME ZONE 'UTC')) / 60)::integer END
$$;

-- Only real zone names: AT TIME ZONE would also take an abbreviation or a
-- POSIX string ('UTC+8' is eight hours WEST of UTC), which is not a zone.
-- For a named zone tz_offset_min is kept at its offset now, for readers
-- that still take the column as it is (Grafana's brand board).
CREATE FUNCTION qy_brands_tz () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tz_name IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = NEW.tz_name) THEN
            RAISE EXCEPTION 'time zone "%" is not a zone name (e.g. Asia/Shanghai)', NEW.tz_name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        NEW.tz_offset_min := qy_tz_offset_min (NEW.tz_name, NEW.tz_offset_min);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER brands_tz BEFORE INSERT OR UPDATE OF tz_name, tz_offset_min ON brands
    FOR EACH ROW EXECUTE FUNCTION qy_brands_tz ();

GRANT SELECT (tz_name) ON brands TO qy_grafana;
