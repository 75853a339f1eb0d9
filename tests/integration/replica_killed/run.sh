#!/usr/bin/env bash
# Owed work (docs/architecture.md, "Owed work"): a replica killed with kill -9 under load loses
# nothing. The load generator sends 40,000 events as fast as the chain takes them into two
# replicas each of moderation and scoring, so every window is full; one moderation replica and
# then one scoring replica are killed (no goodbye) and not replaced. The bus finds each gone and
# hands what it owed to the other replica: every archived event is still counted once, every join
# welcomed once, no delivery doubled, and the bus says how much it handed out again. (Before, a
# killed replica lost its whole window: 3,902 events unjudged and uncounted in the issue's run.)
source "$(dirname "$0")/../lib.sh"
it_demo_chain 2 2
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 60 \
    --messages 40000 --seed 13 > "$QY_RUN/loadgen.out" 2>&1 &
loadgen=$!
sleep 1.5
kill -KILL "$QY_PID_moderation1"; echo "ok   moderation1 killed"
sleep 1.5
kill -KILL "$QY_PID_scoring1"; echo "ok   scoring1 killed"
wait "$loadgen" || it_fail "the load generator failed: $(tail -2 "$QY_RUN/loadgen.out")"
cat "$QY_RUN/loadgen.out"
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
archived=$(sql "SELECT count (*) FROM messages")
counted () { [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$archived" ]; }
it_wait "every archived event counted" counted
it_eq "events counted once" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$archived"
it_welcomed_once
it_eq "no duplicates at the gateway" "$(it_gateway_stat duplicates)" 0
it_eq "violations unique per message" "$(sql "SELECT count (*) - count (DISTINCT (brand_id, msg_id)) FROM violations")" 0
again=$(( $(qy_metric "$QY_HTTP_bus" 'qy_bus_redelivered_total{hop="moderation"}') + $(qy_metric "$QY_HTTP_bus" 'qy_bus_redelivered_total{hop="scoring"}') ))
it_eq "the bus handed out again what the killed replicas owed" "$([ "$again" -gt 0 ] && echo yes || echo "no: $again")" yes
echo "     redelivered=$again"
# A replica says done once what it passed on is acknowledged downstream: just after counting.
owed_none () { [ "$(qy_metric "$QY_HTTP_bus" qy_bus_owed)" = 0 ]; }
it_wait "nothing owed at the end" owed_none
# A dead replica is found by the next probe (each second), or when ZeroMQ's heartbeats cut its link.
known () { for h in moderation scoring; do qy_metric "$QY_HTTP_bus" "qy_bus_replicas{hop=\"$h\"}"; done | xargs; }
only_live () { [ "$(known)" = "1 1" ]; }
it_wait "the bus to forget the killed replicas" only_live
it_eq "the bus knows the replicas that run (moderation scoring)" "$(known)" "1 1"
it_done
