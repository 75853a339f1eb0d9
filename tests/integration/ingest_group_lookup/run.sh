#!/usr/bin/env bash
# ingest resolves the groups (and channels) of a batch that it has not cached in one statement,
# not one per group (issue 19 target 4: with 100,000 groups nearly every batch brings groups no
# batch brought before, and a round trip each made ingest's cost grow with the number of groups):
#   1. 200 groups that exist (qyctl demo load), each first seen in the same few batches: the
#      statements that resolve groups are counted in pg_stat_statements, at most one per batch;
#      every archived event carries its group's id and store;
#   2. a brand with no groups yet: ingest creates them, as many as the events name, again in
#      at most one statement per batch, each created once (a replay of the same day adds none);
#   3. members ingest has forgotten (restarted) talking again: their member rows and their
#      memberships are neither written nor locked (a lock is a write: WAL, a full page after a
#      checkpoint); a member first seen talking as staff is still made staff, and a new
#      nickname is still taken;
#   4. joins, leaves and renames: one statement per kind for a batch, not one per event, and
#      the same member's changes within a batch applied in the order they came (join, leave,
#      join again; renamed in two groups: the member keeps the last nickname).
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

# 3. memberships ingest forgot: restarted, the same members talk again (another run's messages)
kill "$QY_PID_ingest"; wait "$QY_PID_ingest" 2>/dev/null
QY_HTTP_PORT=$QY_HTTP_ingest qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest "$QY_HTTP_ingest"
members_before=$(sql "SELECT count (*) FROM memberships")
# 50 memberships of lk no statement has locked, then one member of fresh who is a member so far
sql "SELECT g.code, m.user_id FROM memberships ms JOIN groups g ON g.id = ms.group_id JOIN members m ON m.id = ms.member_id
     JOIN brands b ON b.id = ms.brand_id WHERE b.code = 'lk' AND ms.role = 'member' AND ms.xmax = 0
     ORDER BY ms.group_id, ms.member_id LIMIT 50" | tr '|' ' ' > "$QY_RUN/talkers.txt"
read -r sgroup suser <<< "$(sql "SELECT g.code, m.user_id FROM memberships ms JOIN groups g ON g.id = ms.group_id
    JOIN members m ON m.id = ms.member_id JOIN brands b ON b.id = ms.brand_id
    WHERE b.code = 'fresh' AND ms.role = 'member' ORDER BY ms.group_id, ms.member_id LIMIT 1" | tr '|' ' ')"
# the talkers' member rows as they are (a row written anew gets another xmin)
talker_rows () { sql "SELECT string_agg (m.id || ':' || m.xmin, ',' ORDER BY m.id) FROM members m JOIN brands b ON b.id = m.brand_id
    WHERE b.code = 'lk' AND m.user_id IN (SELECT split_part (t, ' ', 2) FROM unnest (string_to_array ('$(paste -sd, "$QY_RUN/talkers.txt")', ',')) t)"; }
rows_before=$(talker_rows)
now=$(( $(date +%s) * 1000000 )) k=0
while read -r g u; do
    k=$((k + 1))
    printf '{"brand":"lk","msg_id":"again-%d","group":"%s","member":"%s","kind":"text","text":"又来了","role":"member","event_time_us":%d}\n' \
        "$k" "$g" "$u" $((now + k))
done < "$QY_RUN/talkers.txt" > "$QY_RUN/again.jsonl"
# ... and that member now talks as staff, under a new nickname
printf '{"brand":"fresh","msg_id":"staff-1","group":"%s","member":"%s","nickname":"店长小王","kind":"text","text":"大家好","role":"staff","event_time_us":%d}\n' \
    "$sgroup" "$suser" "$now" >> "$QY_RUN/again.jsonl"
"$QYCTL" send "$QY_RUN/again.jsonl" --batch 17 > /dev/null
archived () { [ "$(sql "SELECT count (*) FROM messages WHERE msg_id LIKE 'again-%' OR msg_id = 'staff-1'")" = 51 ]; }
it_wait "51 messages archived" archived
it_eq "memberships locked by members talking again" "$(sql "SELECT count (*) FROM memberships ms JOIN groups g ON g.id = ms.group_id
    JOIN members m ON m.id = ms.member_id JOIN brands b ON b.id = ms.brand_id
    WHERE b.code = 'lk' AND ms.xmax <> 0 AND (g.code, m.user_id) IN (SELECT split_part (t, ' ', 1), split_part (t, ' ', 2)
          FROM unnest (string_to_array ('$(paste -sd, "$QY_RUN/talkers.txt")', ',')) t)")" 0
it_eq "talkers" "$(wc -l < "$QY_RUN/talkers.txt")" 50
[ "$(talker_rows)" = "$rows_before" ] && [ -n "$rows_before" ] && echo "ok   members talking again: rows not written" \
    || it_fail "members talking again: their rows were written ($rows_before -> $(talker_rows))"
it_eq "a new nickname" "$(sql "SELECT m.nickname FROM members m JOIN brands b ON b.id = m.brand_id WHERE b.code = 'fresh'
    AND m.user_id = '$suser'")" "店长小王"
it_eq "memberships after talking again" "$(sql "SELECT count (*) FROM memberships")" "$members_before"
it_eq "a member first seen talking as staff" "$(sql "SELECT ms.role FROM memberships ms JOIN groups g ON g.id = ms.group_id
    JOIN members m ON m.id = ms.member_id WHERE g.code = '$sgroup' AND m.user_id = '$suser' AND g.brand_id = ms.brand_id
    AND m.brand_id = ms.brand_id")" staff

# 4. membership changes in one batch: 40 members join room c1 (first half also room c2), the
# first 10 leave and join c1 again, members 1-5 are renamed in c1, then c2, then c1 again.
calls () { sql "SELECT coalesce (sum (calls), 0) FROM pg_stat_statements WHERE query LIKE '%$1%'"; }
ev () { printf '{"brand":"fresh","msg_id":"%s","group":"%s","member":"%s","kind":"%s","event_time_us":%d%s}\n' "$@"; }
t=$(( now + 1000 ))
{ for i in $(seq 40); do ev "j-$i" c1 "mc$i" join $((t + i)) ',"nickname":"新人","join_scene":"qr_scan"'; done
  for i in $(seq 20); do ev "j2-$i" c2 "mc$i" join $((t + 100 + i)) ''; done
  for i in $(seq 10); do ev "l-$i" c1 "mc$i" leave $((t + 200 + i)) ',"leave_reason":"left"'; done
  for i in $(seq 10); do ev "jj-$i" c1 "mc$i" join $((t + 300 + i)) ',"join_scene":"member_invite"'; done
  for i in $(seq 5); do ev "r1-$i" c1 "mc$i" rename $((t + 400 + i)) ',"nickname":"甲"'; done
  for i in $(seq 5); do ev "r2-$i" c2 "mc$i" rename $((t + 500 + i)) ',"nickname":"乙"'; done
  for i in $(seq 5); do ev "r3-$i" c1 "mc$i" rename $((t + 600 + i)) ',"nickname":"丙"'; done
} > "$QY_RUN/changes.jsonl"
sql "SELECT pg_stat_statements_reset ()" >/dev/null
"$QYCTL" send "$QY_RUN/changes.jsonl" --batch 500 > /dev/null
changed () { [ "$(sql "SELECT count (*) FROM messages WHERE msg_id ~ '^(j|j2|l|jj|r1|r2|r3)-'")" = 95 ]; }
it_wait "95 membership changes archived" changed
# rounds: c1's members 1-10 change 3 times (join, leave, join), 1-5 then renamed twice more
joins=$(calls "INSERT INTO memberships (brand_id, group_id, member_id, role, nickname, joined_at")
[ "$joins" -ge 1 ] && [ "$joins" -le 3 ] && echo "ok   95 changes: $joins join statements" \
    || it_fail "95 changes: $joins join statements (one per round, at most 3)"
ms () { sql "SELECT string_agg (x, ' ' ORDER BY x) FROM (SELECT g.code || ':' || m.user_id || ':' || (ms.left_at IS NULL)::text
    || ':' || coalesce (ms.join_scene, '-') || ':' || coalesce (ms.nickname, '-') AS x
    FROM memberships ms JOIN groups g ON g.id = ms.group_id JOIN members m ON m.id = ms.member_id
    WHERE g.brand_id = ms.brand_id AND m.user_id IN ($1)) y"; }
it_eq "joined, left, joined again" "$(ms "'mc7'")" "c1:mc7:true:member_invite:新人 c2:mc7:true:-:-"
it_eq "left for good" "$(sql "SELECT count (*) FROM memberships ms JOIN members m ON m.id = ms.member_id
    WHERE m.user_id ~ '^mc' AND ms.left_at IS NOT NULL")" 0
it_eq "renamed in two groups" "$(ms "'mc3'")" "c1:mc3:true:member_invite:丙 c2:mc3:true:-:乙"
it_eq "the member's last nickname" "$(sql "SELECT string_agg (DISTINCT m.nickname, ',') FROM members m JOIN brands b ON b.id = m.brand_id
    WHERE b.code = 'fresh' AND m.user_id IN ('mc1', 'mc2', 'mc3', 'mc4', 'mc5')")" "丙"
it_eq "members in c1" "$(sql "SELECT count (*) FROM memberships ms JOIN groups g ON g.id = ms.group_id
    WHERE g.code = 'c1' AND g.brand_id = ms.brand_id AND ms.left_at IS NULL")" 40
it_done
