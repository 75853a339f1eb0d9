#!/usr/bin/env bash
# Redis Cluster (issue 19): every service against 3 masters with a replica each, found from one
# node. First the C half checks qy_redis itself: routing, pipelines split per node, scripts per
# node, MOVED, ASK and a master killed in the middle of a pipeline. Then, on a fresh cluster, the
# whole chain takes a simulated day of a brand (counts exact, deliveries once), a replay of it
# (nothing changes), and a second day during which the master holding the brand's moderation
# keys is killed with kill -9: its replica takes over, and every event sent is still archived,
# judged and counted once, and every delivery made once.
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
it_done
