#!/usr/bin/env bash
# qyctl migrate (tools/qyctl/qyctl_migrate.c): every migration applied once and recorded; runs started
# at once on a fresh database serialise and both succeed (052 builds its indexes CONCURRENTLY, which
# waits for other sessions' snapshots: the waiting run must not hold one); a "-- qy:no-transaction"
# migration runs statement by statement outside a transaction, is recorded only when all went
# through, and is run again whole after a failure (its DROP … IF EXISTS clears the invalid index a
# failed build leaves); a statement without its ';' at a line's end is refused.
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
it_done
