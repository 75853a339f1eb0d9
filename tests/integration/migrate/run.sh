#!/usr/bin/env bash
# qyctl migrate (tools/qyctl/qyctl_migrate.c): every migration applied once and recorded; runs started
# at once on a fresh database serialise and both succeed (052 builds its indexes CONCURRENTLY, which
# waits for other sessions' snapshots: the waiting run must not hold one); a "-- qy:no-transaction"
# migration runs statement by statement outside a transaction, is recorded only when all went
# through, and is run again whole after a failure (its DROP … IF EXISTS clears the invalid index a
# failed build leaves); a statement without its ';' at a line's end is refused.
# 129–131 and 134 on a database at 128 with rows, and the plans of the readers of what they changed.
source "$(dirname "$0")/../lib.sh"
it_servers
MIG=$(cd "$(dirname "$0")/../../../deploy/migrations" && pwd)
total=$(ls "$MIG"/[0-9]*.sql | wc -l)
hot_valid () {
    psql "$1" -qAtc "SELECT count (*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                     WHERE c.relname IN ('violations_member_strikes', 'violations_member_mutes', 'deliveries_pending', 'deliveries_leased')
                       AND i.indisvalid"
}
it_eq "every migration recorded" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM schema_migrations")" "$total"
it_eq "052's indexes built and valid" "$(hot_valid "$QY_PG_DSN")" 4

# Two runs at once on a fresh database.
psql "$QY_PG_DSN" -qc "CREATE DATABASE qy_fresh" >/dev/null
FRESH="host=127.0.0.1 port=$QY_PG_PORT dbname=qy_fresh user=qunyun"
QY_PG_DSN=$FRESH timeout 120 "$QYCTL" migrate > "$QY_RUN/m1.out" 2>&1 & m1=$!
QY_PG_DSN=$FRESH timeout 120 "$QYCTL" migrate > "$QY_RUN/m2.out" 2>&1 & m2=$!
r1=0; wait $m1 || r1=$?
r2=0; wait $m2 || r2=$?
[ "$r1$r2" = 00 ] || cat "$QY_RUN/m1.out" "$QY_RUN/m2.out"
it_eq "two runs at once both succeed" "$r1 $r2" "0 0"
it_eq "each migration applied by one of them" "$(cat "$QY_RUN/m1.out" "$QY_RUN/m2.out" | grep -c '^applied ')" "$total"
it_eq "052 applied outside a transaction" "$(cat "$QY_RUN/m1.out" "$QY_RUN/m2.out" | grep -c '^applied 052_hot_lookups.sql (no transaction)$')" 1
it_eq "recorded once each" "$(psql "$FRESH" -qAtc "SELECT count (*) FROM schema_migrations")" "$total"
it_eq "the fresh database's indexes valid" "$(hot_valid "$FRESH")" 4

# A no-transaction migration that fails half-way, then is fixed.
DIR=$QY_RUN/migrations
cp -r "$MIG" "$DIR"
cat > "$DIR/900_test.sql" <<'SQL'
-- qy:no-transaction
-- a comment that ends with a semicolon;
DROP INDEX CONCURRENTLY IF EXISTS qy_test_idx;
CREATE INDEX CONCURRENTLY qy_test_idx ON qy_test ((n / 0));
SQL
psql "$QY_PG_DSN" -qc "CREATE TABLE qy_test (n int); INSERT INTO qy_test VALUES (1)" >/dev/null
rc=0; out=$("$QYCTL" migrate --dir "$DIR" 2>&1) || rc=$?
it_eq "a failing statement fails the run" "$rc $(echo "$out" | grep -c 'migration 900_test.sql failed: .*division by zero')" "1 1"
it_eq "not recorded" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM schema_migrations WHERE version = 900")" 0
it_eq "the failed build left an invalid index" "$(psql "$QY_PG_DSN" -qAtc "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'qy_test_idx'")" f
sed -i 's/ \/ 0))/ + 1))/' "$DIR/900_test.sql"
rc=0; out=$("$QYCTL" migrate --dir "$DIR" 2>&1) || rc=$?
it_eq "run again whole once fixed" "$rc $(echo "$out" | grep -c '^applied 900_test.sql (no transaction)$')" "0 1"
it_eq "recorded" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM schema_migrations WHERE version = 900")" 1
it_eq "the index rebuilt valid" "$(psql "$QY_PG_DSN" -qAtc "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'qy_test_idx'")" t

# A statement whose ';' is not at a line's end.
printf -- '-- qy:no-transaction\nSELECT 1; SELECT 2\n' > "$DIR/901_bad.sql"
rc=0; out=$("$QYCTL" migrate --dir "$DIR" 2>&1) || rc=$?
it_eq "an unterminated statement refused" "$rc $(echo "$out" | grep -c "901_bad.sql: a statement does not end with ';'")" "1 1"
it_eq "and not recorded" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM schema_migrations WHERE version = 901")" 0
# 129 and 130 on a database at 128 that holds rows: deliveries_due dropped, message_ids' event_time
# index a BRIN; the open deliveries' count (qyctl status, the queues dashboard) still read through
# the two partial indexes and retention's DELETE through the BRIN, not by reading the tables.
psql "$QY_PG_DSN" -qc "CREATE DATABASE qy_at128" >/dev/null
AT128="host=127.0.0.1 port=$QY_PG_PORT dbname=qy_at128 user=qunyun"
mkdir "$QY_RUN/at128"
for f in "$MIG"/[0-9]*.sql; do [ "$(basename "$f" | cut -c1-3)" -le 128 ] && cp "$f" "$QY_RUN/at128/"; done
QY_PG_DSN=$AT128 "$QYCTL" migrate --dir "$QY_RUN/at128" >/dev/null
psql "$AT128" -q <<'SQL'
INSERT INTO brands (code, name) SELECT 'b' || i, 'B' || i FROM generate_series (1, 20) i;
INSERT INTO deliveries (key, brand_id, kind, priority, payload, status, attempts, created_at)
SELECT 'k' || i, 1 + i % 20, 'action', 1 + i % 3, '{}', 'delivered', 1, now () - i * interval '1 second' FROM generate_series (1, 100000) i;
INSERT INTO deliveries (key, brand_id, kind, priority, payload, status, next_attempt_at)
SELECT 'p' || i, 1 + i % 20, 'action', 1 + i % 3, '{}', 'pending', now () + (i % 60 - 30) * interval '1 second' FROM generate_series (1, 500) i;
INSERT INTO deliveries (key, brand_id, kind, priority, payload, status, attempts, lease_until)
SELECT 's' || i, 1 + i % 20, 'action', 1, '{}', 'sending', 1, now () + interval '1 minute' FROM generate_series (1, 50) i;
INSERT INTO deliveries (key, brand_id, kind, priority, payload, status, attempts, created_at)
SELECT 'x' || i, 1 + i % 20, 'action', 1, '{}', 'dead', 8, now () - i * interval '1 hour' FROM generate_series (1, 48) i;
INSERT INTO message_ids (brand_id, msg_id, event_time)
SELECT 1 + i % 20, 'm' || i, now () - interval '10 days' + i * interval '4 seconds' FROM generate_series (1, 200000) i;
INSERT INTO groups (brand_id, code, name) SELECT 1, 'g' || i, 'G' || i FROM generate_series (1, 500) i;
INSERT INTO campaigns (brand_id, name, trigger, template) VALUES (1, 'sop', 'schedule', 'hi'), (1, 'other', 'join', 'hi');
-- 90 days of a daily SOP in 500 groups, two steps, and one once-per-group step.
INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, due_at, status, delivery_key)
SELECT 1, 1, s, g.id, 'd' || d, now () - d * interval '1 day', 'sent', 'j' || g.id || ':' || s || ':' || d
FROM groups g, generate_series (0, 1) s, generate_series (0, 89) d;
INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, due_at, status, delivery_key)
SELECT 1, 1, 2, id, 'g', now () - interval '80 days', 'sent', 'once' || id FROM groups;
SQL
it_eq "at 128: deliveries_due and the btree there" "$(psql "$AT128" -qAtc "SELECT string_agg (indexname, ' ' ORDER BY indexname) FROM pg_indexes
    WHERE indexname IN ('deliveries_due', 'message_ids_event_time', 'message_ids_event_brin')")" "deliveries_due message_ids_event_time"
out=$(QY_PG_DSN=$AT128 "$QYCTL" migrate 2>&1)
it_eq "129 and 130 applied outside a transaction" "$(echo "$out" | grep -cE '^applied 1(29|30)_.* \(no transaction\)$')" 2
it_eq "deliveries_due gone, message_ids' event_time index a valid BRIN" "$(psql "$AT128" -qAtc "
    SELECT string_agg (c.relname || ' ' || a.amname || ' ' || i.indisvalid, ', ' ORDER BY c.relname)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
    WHERE c.relname IN ('deliveries_due', 'message_ids_event_time', 'message_ids_event_brin')")" "message_ids_event_brin brin true"
psql "$AT128" -qc "ANALYZE deliveries; ANALYZE message_ids; ANALYZE campaign_jobs" >/dev/null
plan () { psql "$AT128" -qAtc "EXPLAIN (COSTS OFF) $1" | tr '\n' ' '; }
for b in NULL 3; do
    p=$(plan "SELECT count (*), min (created_at) FROM deliveries WHERE (status = 'pending' OR status = 'sending') AND ($b::bigint IS NULL OR brand_id = $b::bigint)")
    it_eq "open deliveries (brand $b) read through both partial indexes" \
        "$(echo "$p" | grep -o 'Seq Scan\|Index Scan on deliveries_[a-z]*' | tr '\n' ' ')" "Index Scan on deliveries_pending Index Scan on deliveries_leased "
done
for b in NULL 3; do
    p=$(plan "SELECT count (*) FROM deliveries WHERE status = 'dead' AND created_at > now () - interval '1 day' AND ($b::bigint IS NULL OR brand_id = $b::bigint)")
    it_eq "the last day's dead deliveries (brand $b) read through deliveries_dead (131)" \
        "$(echo "$p" | grep -o 'Seq Scan\|deliveries_[a-z]*' | tr '\n' ' ')" "deliveries_dead "
done
# qyctl status's own statement: both partial indexes read, the table not read for the open count
# (the index counters: the table is read for its other counts' rows). The dead of the last day:
# 23 of the 48 (an hour apart, the newest an hour old).
psql "$AT128" -qAtc "SELECT pg_stat_reset ()" >/dev/null
QY_PG_DSN=$AT128 "$QYCTL" status --services "none=http://127.0.0.1:1" > "$QY_RUN/status.out" 2>&1 || true
it_eq "qyctl status counts the open deliveries" "$(awk '/^dead_letters_open/ { getline; getline; print $2 }' "$QY_RUN/status.out")" 550
it_eq "and the last day's dead" "$(awk '/^dead_letters_open/ { getline; getline; print $4 }' "$QY_RUN/status.out")" 23
scanned () { [ "$(psql "$AT128" -qAtc "SELECT count (*) FROM pg_stat_user_indexes
                  WHERE indexrelname IN ('deliveries_pending', 'deliveries_leased') AND idx_scan > 0")" = 2 ]; }
it_wait "qyctl status to read deliveries_pending and deliveries_leased" scanned && echo "ok   qyctl status read both partial indexes"
p=$(plan "SELECT status, kind, count(*) AS deliveries FROM deliveries WHERE status = 'pending' OR status = 'sending' GROUP BY status, kind ORDER BY status, kind")
it_eq "the queues dashboard's backlog likewise" "$(echo "$p" | grep -o 'Seq Scan\|Index Scan on deliveries_[a-z]*' | tr '\n' ' ')" \
    "Index Scan on deliveries_pending Index Scan on deliveries_leased "
p=$(plan "DELETE FROM message_ids WHERE event_time < (now () - interval '8 days')::date::timestamp AT TIME ZONE 'UTC'")
it_eq "retention's DELETE reads message_ids through the BRIN" "$(echo "$p" | grep -o 'Seq Scan\|Index Scan on [a-z_]*' | tr '\n' ' ')" "Index Scan on message_ids_event_brin "
ids=$(psql "$AT128" -qAtc "SELECT count (*) FROM message_ids WHERE event_time < (now () - interval '8 days')::date::timestamp AT TIME ZONE 'UTC'")
psql "$AT128" -qAtc "SELECT qy_drop_partitions_before ((now () - interval '8 days')::date)" >/dev/null
it_eq "and deletes what is older" "$(psql "$AT128" -qAtc "SELECT $ids > 0, count (*) = 200000 - $ids, min (event_time) >= (now () - interval '8 days')::date::timestamp AT TIME ZONE 'UTC' FROM message_ids")" "t|t|t"
# 134: a campaign's planning round reads its jobs of the window and its once-per-group jobs
# through an index each (campaign_plan.c's statement), not its 90 days of history.
p=$(plan "SELECT step || ':' || group_id || ':' || period FROM campaign_jobs WHERE brand_id = 1 AND campaign_id = 1
          AND due_at >= now () - interval '2 days' UNION ALL
          SELECT step || ':' || group_id || ':' || period FROM campaign_jobs WHERE brand_id = 1 AND campaign_id = 1
          AND period = 'g' AND due_at < now () - interval '2 days'")
it_eq "the planner's read of a campaign's jobs (134)" "$(echo "$p" | grep -o 'Seq Scan\|campaign_jobs_planned\|campaign_jobs_once' | sort -u | tr '\n' ' ')" \
    "campaign_jobs_once campaign_jobs_planned "
it_done
