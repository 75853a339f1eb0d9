#!/usr/bin/env bash
# Redis Cluster (issue 19): every service against 3 masters with a replica each, found from one
# node. First the C half checks qy_redis itself: routing, pipelines split per node, scripts per
# node, MOVED, ASK and a master killed in the middle of a pipeline. Then, on a fresh cluster, the
# whole chain takes a simulated day of a brand (counts exact, deliveries once), a replay of it
# (nothing changes), and a second day during which the master holding the brand's moderation
# keys is killed with kill -9: its replica takes over, and every event sent is still archived,
# judged and counted once, and every delivery made once.
# Last, a write its replica never had: the replica of the master serving one group's counters
# is stopped (SIGSTOP, its link cut), messages of that group are sent, and the master is
# killed while scoring holds them back until a replica has their counts (redis.wait_ms); the
# replica is let go and takes over. Scoring never passed that batch on, so it counts it on the
# new master: counted once. (Without the wait the batch is passed on at once, and its counts
# are lost with the master.)
source "$(dirname "$0")/../lib.sh"
export CLUSTER_CTL=$IT_CASE/cluster_ctl.sh
mkdir -p "$QY_RUN/logs" "$QY_RUN/c1"
qy_start_redis_cluster "$QY_RUN/c1" || { it_fail "cluster create"; cat "$QY_RUN/c1/rc/create.log"; exit 1; }
if "$QY_BUILD/tests/integration/qy_test_redis_cluster" 2> "$QY_RUN/logs/redis_cluster.log"; then
    echo "ok   qy_redis against a Redis Cluster"
else
    it_fail "qy_redis against a Redis Cluster (see above)"; cat "$QY_RUN/logs/redis_cluster.log"
fi
for p in $QY_REDIS_CLUSTER_PORTS; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done

# The chain on a fresh cluster, pointed at one of its masters.
qy_start_pg "$QY_RUN"
qy_start_redis_cluster "$QY_RUN" || { it_fail "cluster create"; cat "$QY_RUN/rc/create.log"; exit 1; }
"$QYCTL" migrate >/dev/null
it_demo_services 2 2
grep -q 'redis cluster mode' "$QY_RUN/logs/moderation1.log" && echo "ok   moderation found the cluster from one node" \
    || it_fail "moderation did not switch to cluster mode"
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
# Deliveries are done once the outbox has nothing pending and the gateway saw each once.
delivered () { [ "$(sql "SELECT count (*) FROM deliveries WHERE status <> 'delivered'")" = 0 ]; }
# Everything sent so far through the chain: archived = accepted, counted and rolled up.
settled () {
    local accepted; accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
    [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$1" ] &&
    [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$(sql "SELECT count (*) FROM messages")" ] &&
    [ "$accepted" = "$(sql "SELECT count (*) FROM messages")" ]
}
# What settled looks at, for a failure's detail.
progress () {
    echo "     accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}') archived=$(sql "SELECT count (*) FROM messages")" \
         "counted=$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats") campaign=$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)"
}
check () {
    local accepted; accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
    it_eq "$1: archived = accepted" "$(sql "SELECT count (*) FROM messages")" "$accepted"
    it_eq "$1: judged once" "$(( $(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total) + $(qy_metric "$QY_HTTP_moderation2" qy_moderation_events_total) ))" "$2"
    it_eq "$1: counted once" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$accepted"
    it_eq "$1: violations unique per message" "$(sql "SELECT count (*) - count (DISTINCT (brand_id, msg_id)) FROM violations")" 0
    it_wait "$1: all deliveries delivered" delivered
    it_eq "$1: each delivery at the gateway once" "$(it_gateway_stat unique)" "$(sql "SELECT count (*) FROM deliveries")"
    it_eq "$1: gateway duplicates" "$(it_gateway_stat duplicates)" 0
}

t0=$(date +%s.%N)
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 40 \
    --messages 6000 --batch 50 --window 4 --seed 7 --run day1 > "$QY_RUN/loadgen1.out"
sent1=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
it_wait "day 1 through the chain" settled "$sent1" || progress
echo "     day 1: $sent1 events through the chain in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
check "day 1" "$sent1"
it_welcomed_once

# A replay of the day changes nothing.
snapshot () {
    sql "SELECT (SELECT count (*) FROM violations), (SELECT coalesce (sum (strike), 0) FROM violations),
        (SELECT count (*) FROM deliveries), (SELECT coalesce (sum (messages), 0) || '/' || coalesce (sum (joins), 0) FROM daily_group_stats),
        (SELECT count (*) FROM blocks), (SELECT count (*) FROM messages)"
    echo "gateway unique=$(it_gateway_stat unique) duplicates=$(it_gateway_stat duplicates)"
}
before=$(snapshot)
"$QYCTL" replay demo --yes --endpoint "tcp://127.0.0.1:$QY_P_mf" >/dev/null
replayed () { [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge $((2 * sent1)) ]; }
it_wait "the replay to pass through" replayed
sleep 2
it_eq "state after replaying day 1 on the cluster" "$(snapshot)" "$before"

# Day 2, and the master serving the brand's moderation keys killed under load.
brand=$(sql "SELECT id FROM brands WHERE code = 'demo'")
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 40 \
    --messages 6000 --rate 1500 --batch 50 --window 4 --seed 8 --run day2 --resend-ms 3000 > "$QY_RUN/loadgen2.out" 2>&1 &
loadgen=$!
sleep 1
slot=$(redis-cli -p "$QY_REDIS_PORT" cluster keyslot "block:{b:$brand}")
victim=$(redis-cli -p "$QY_REDIS_PORT" --json cluster slots | jq -r --argjson s "$slot" '.[] | select (.[0] <= $s and .[1] >= $s) | .[2][1]')
t_kill=$(date +%s.%N)
"$CLUSTER_CTL" "$slot" kill && echo "ok   the master of slot $slot killed; its replica took over in $(echo "$(date +%s.%N) - $t_kill" | bc | cut -c1-4) s"
wait "$loadgen" || it_fail "the load generator failed: $(tail -2 "$QY_RUN/loadgen2.out")"
cat "$QY_RUN/loadgen2.out"
# The services met the failover under load (not after it).
it_eq "moderation lost the killed master under load" \
    "$(cat "$QY_RUN"/logs/moderation*.log | grep 'msg="redis unavailable"' | grep -q "host=127.0.0.1 port=$victim " && echo yes || echo no)" yes
accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
it_eq "day 2: ingest's count = what the load generator was told" "$((accepted - sent1))" \
    "$(grep -o 'accepted=[0-9]*' "$QY_RUN/loadgen2.out" | cut -d= -f2)"
# (Under ASan on a loaded machine the backlog behind the failover takes a while.)
for _ in $(seq 600); do settled "$((accepted + sent1))" && break; sleep 0.2; done
it_wait "day 2 through the chain" settled "$((accepted + sent1))" || progress
check "after the failover" "$((accepted + sent1))"

# A write its replica never had.
live () { for p in $QY_REDIS_CLUSTER_PORTS; do redis-cli -p "$p" ping >/dev/null 2>&1 && { echo "$p"; return; }; done; }
nodes () { redis-cli -p "$(live)" cluster nodes; }
# "master-id master-port replica-port" serving the slot of group id $1, when the master has a live replica
pair () {
    local slot; slot=$(redis-cli -p "$(live)" cluster keyslot "g:$1")
    nodes | awk -v s="$slot" '$3 ~ /master/ && $3 !~ /fail/ { for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1];
                                  if (s >= r[1] && s <= r[2]) { split($2, a, "[:@]"); print $1, a[2] } } }' | while read -r id port; do
        nodes | awk -v m="$id" -v p="$port" '$4 == m && $3 ~ /slave/ && $3 !~ /fail/ { split($2, a, "[:@]"); print m, p, a[2]; exit }'
    done
}
gid= ; for g in $(sql "SELECT g.id FROM groups g JOIN brands b ON b.id = g.brand_id WHERE b.code = 'demo' ORDER BY g.id"); do
    read -r mid mport rport <<< "$(pair "$g")"; [ -n "${rport:-}" ] && { gid=$g; break; }
done
[ -n "$gid" ] || it_fail "no group whose master has a replica"
gcode=$(sql "SELECT code FROM groups WHERE id = $gid")
pid_of () { redis-cli -p "$1" info server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }'; }
rpid=$(pid_of "$rport") mpid=$(pid_of "$mport")
judged () { echo $(( $(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total) + $(qy_metric "$QY_HTTP_moderation2" qy_moderation_events_total) )); }
before=$(judged) now=$(( $(date +%s) * 1000000 ))
for i in $(seq 30); do
    printf '{"brand":"demo","msg_id":"lost-%d","group":"%s","member":"wm%d","kind":"text","text":"今天到货了吗","role":"member","event_time_us":%d}\n' \
        "$i" "$gcode" "$i" $((now + i))
done > "$QY_RUN/lost.jsonl"
# Stopped, the replica's kernel would still take what the master streams to it (and hand it
# over when let go): its link is cut too, and it cannot come back while stopped.
# The replica is stopped for a second or two: not long enough for the cluster to flag it as
# failed (a flagged replica is not waited for, and one flagged has no claim to take over).
for p in $QY_REDIS_CLUSTER_PORTS; do redis-cli -p "$p" config set cluster-node-timeout 5000 >/dev/null 2>&1 || true; done
kill -STOP "$rpid"
redis-cli -p "$mport" client kill type replica >/dev/null
"$QYCTL" send "$QY_RUN/lost.jsonl" > /dev/null
judged30 () { [ "$(judged)" -ge $((before + 30)) ]; }
it_wait "30 messages of group $gid judged, its replica stopped" judged30
sleep 0.5   #  scoring has them: counted on the master, waiting for the replica (redis.wait_ms)
kill -9 "$mpid"; kill -CONT "$rpid"
promoted () { nodes | awk -v p="$rport" '{ split($2, a, "[:@]") } a[2] == p && $3 ~ /master/ { f = 1 } END { exit !f }'; }
it_wait "the stopped replica took over" promoted
# One more message of the group, so that its day is rolled up again from what Redis holds now.
printf '{"brand":"demo","msg_id":"lost-after","group":"%s","member":"wm1","kind":"text","text":"好的","role":"member","event_time_us":%d}\n' \
    "$gcode" $((now + 100)) > "$QY_RUN/after.jsonl"
"$QYCTL" send "$QY_RUN/after.jsonl" > /dev/null
accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
for _ in $(seq 600); do settled "$accepted" && break; sleep 0.2; done
it_wait "the group's messages through the chain" settled "$accepted" || progress
check "a write its replica never had" "$((accepted + sent1))"
it_done
