#!/usr/bin/env bash
# ingest resolves the groups (and channels) of a batch that it has not cached in one statement,
# not one per group (issue 19 target 4: with 100,000 groups nearly every batch brings groups no
# batch brought before, and a round trip each made ingest's cost grow with the number of groups):
#   1. 200 groups that exist (qyctl demo load), each first seen in the same few batches: the
#      statements that resolve groups are counted in pg_stat_statements, at most one per batch;
#      every archived event carries its group's id and store;
#   2. a brand with no groups yet: ingest creates them, as many as the events name, again in
#      at most one statement per batch, each created once (a replay of the same day adds none).
source "$(dirname "$0")/../lib.sh"
it_servers
it_pg_statements
it_gateway
"$QYCTL" demo load --brand lk --stores 50 --groups 4 --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
"$QYCTL" brand create fresh Fresh --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
qy_start_services "$QY_BUILD" 1 1
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
# Calls of the statements that resolve a group (ingest's only statements writing to groups).
lookups () { sql "SELECT coalesce (sum (calls), 0) FROM pg_stat_statements WHERE query LIKE '%INSERT INTO groups%'"; }
# Calls of the archive's statement: one per batch ingest writes.
batches () { sql "SELECT coalesce (sum (calls), 0) FROM pg_stat_statements WHERE query LIKE '%INSERT INTO message_ids%'"; }
load () {   # load BRAND RUN: 1,000 messages in batches of 500 over 200 groups
    "$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand "$1" --stores 50 --groups 4 --members 3 \
        --messages 1000 --batch 500 --window 1 --dup-rate 0 --seed 3 --run "$2" > "$QY_RUN/$2.out"
}

# load_counted BRAND RUN WHAT: load, then check that the groups were resolved in at most one
# statement per batch written.
load_counted () {
    sql "SELECT pg_stat_statements_reset ()" >/dev/null
    load "$1" "$2"
    local calls commits
    calls=$(lookups) commits=$(batches)
    [ "$calls" -ge 1 ] && [ "$calls" -le "$commits" ] \
        && echo "ok   $3: $calls look-up statements for $commits batches written" \
        || it_fail "$3: $calls look-up statements for $commits batches written (one per batch at most)"
}
brand_groups () { sql "SELECT count (*) FROM groups g JOIN brands b ON b.id = g.brand_id WHERE b.code = '$1'"; }

# 1. groups that exist
load_counted lk one "existing groups"
it_eq "groups with events" "$(sql "SELECT count (DISTINCT group_id) FROM messages m JOIN brands b ON b.id = m.brand_id WHERE b.code = 'lk'")" 200
it_eq "events with another group's store" "$(sql "SELECT count (*) FROM messages m JOIN groups g ON g.id = m.group_id
    WHERE m.store_id IS DISTINCT FROM g.store_id OR g.brand_id <> m.brand_id")" 0
it_eq "events with no store" "$(sql "SELECT count (*) FROM messages WHERE store_id IS NULL")" 0
it_eq "groups of brand lk" "$(brand_groups lk)" 200

# 2. groups ingest creates
load_counted fresh two "new groups"
it_eq "groups created" "$(brand_groups fresh)" 200
it_eq "events of fresh in groups of fresh" "$(sql "SELECT count (*) FROM messages m JOIN groups g ON g.id = m.group_id
    JOIN brands b ON b.id = m.brand_id WHERE b.code = 'fresh' AND g.brand_id = m.brand_id")" \
    "$(sql "SELECT count (*) FROM messages m JOIN brands b ON b.id = m.brand_id WHERE b.code = 'fresh'")"
load fresh two
it_eq "replayed: duplicates only" "$(sed -n 's/.*\(accepted=[0-9]*\).*/\1/p' "$QY_RUN/two.out")" "accepted=0"
it_eq "replayed: no group created" "$(brand_groups fresh)" 200
it_done
