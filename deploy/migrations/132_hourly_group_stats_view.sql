-- hourly_group_stats (020) held a row per group and active local hour, the
-- same counts as daily_group_stats.hour_hist (001: the day's 24 hours,
-- written by the same roll-up from the same Redis fields in the same
-- transaction). No service, dashboard, console page or qyctl command read
-- it; only retention deleted from it. Its cost was all on the write side:
-- a row, two index entries and WAL per group-hour at every roll-up. At
-- 100,000 groups, where a group-day carries about two events, that is a
-- row per event (docs/benchmarks.md, "60 groups against 100,000"), and at
-- a million groups with ten active hours a day, some four billion rows
-- over retention's 400 days (docs/scaling.md).
--
-- So the name becomes a view over hour_hist: readers of the old table get
-- the same columns (plus day, which the index on daily_group_stats can
-- use), for as long as the day rows are kept. A local hour is turned back
-- into an instant with the brand's zone rules (its IANA name) or its fixed
-- offset, as the roll-up counted it.
--
-- Upgrade: a scoring process older than this migration still inserts into
-- the table; against the view its roll-up transaction fails and is tried
-- again, so its days reach PostgreSQL when the new scoring runs (its
-- counts stay in Redis meanwhile; a roll-up writes absolute values).
DROP TABLE hourly_group_stats;

-- With the caller's rights (and so its row-level policies on
-- daily_group_stats and brands), not the owner's.
CREATE VIEW hourly_group_stats WITH (security_invoker = true) AS
SELECT d.brand_id, d.group_id,
       CASE WHEN b.tz_name IS NULL
            THEN (d.day + h * interval '1 hour') AT TIME ZONE 'UTC' - b.tz_offset_min * interval '1 minute'
            ELSE (d.day + h * interval '1 hour') AT TIME ZONE b.tz_name END AS hour,
       d.hour_hist [h + 1] AS messages, d.updated_at, d.day
  FROM daily_group_stats d
  JOIN brands b ON b.id = d.brand_id
 CROSS JOIN LATERAL generate_series (0, 23) AS h
 WHERE d.hour_hist [h + 1] > 0;
COMMENT ON VIEW hourly_group_stats IS
    'messages per group and local hour, from daily_group_stats.hour_hist (until migration 132 a table)';

-- Readers as before (qy_grafana may read brands.tz_name since 117).
GRANT SELECT ON hourly_group_stats TO qy_console, qy_grafana;
