-- qy:no-transaction
-- Moderation's identity check asks, once per batch, which senders are staff
-- anywhere in the brand and what the brand's staff are called
-- (moderation_identity.c, S_NAMES). With only memberships_brand_member
-- (brand, member) and memberships_channel (brand, channel) the staff list
-- reads every membership of the brand, staff or not: 43,000 rows a batch in
-- the 100,000-group benchmark (57 ms of a 60 ms statement), growing with
-- the groups and their members, not with the staff (issue 19 target 4,
-- docs/benchmarks.md). This holds only the staff rows the statement asks
-- for (its role list, verbatim, so the planner can prove it applies).
-- Built CONCURRENTLY, outside a transaction (as 052): ingest's writes to
-- memberships go on while it builds; dropped first so a failed run is run
-- again whole.
DROP INDEX CONCURRENTLY IF EXISTS memberships_brand_staff;
CREATE INDEX CONCURRENTLY memberships_brand_staff ON memberships (brand_id, member_id)
    WHERE role IN ('owner', 'admin', 'staff', 'bot');
