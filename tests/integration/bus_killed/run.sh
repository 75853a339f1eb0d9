#!/usr/bin/env bash
# The bus killed with kill -9 under load loses nothing, with no replay (issue 18 §1, "The bus";
# docs/architecture.md, "Acknowledged sends"). 30,000 events go in as fast as the chain takes them
# (two replicas each of moderation and scoring, every window and hop queue full); the bus is
# killed twice and started again a second later. What its queues and owed lists held is sent
# again by the outlets that sent it (ingest, moderation, scoring, campaign), which kept it until
# acknowledged, once they see the bus's new epoch. Checked from the archive, Redis's own sets and
# the gateway simulator: every archived event judged (moderation's finished marks, scoring's
# counted ids or a violation) and counted once, every join welcomed once, no delivery doubled,
# every event marked handed on, and the outlets say what they sent again. (Before, a killed bus
# lost its queues: 11,320 events unjudged and 31,184 uncounted in the issue's run.)
source "$(dirname "$0")/../lib.sh"
it_demo_chain 2 2
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 60 \
    --messages 30000 --seed 17 --resend-ms 5000 > "$QY_RUN/loadgen.out" 2>&1 &
loadgen=$!
bus_restart () {
    sleep 1.5
    kill -KILL "$QY_PID_bus"; echo "ok   bus killed"
    sleep 1
    QY_HTTP_PORT=$QY_HTTP_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
    qy_wait_health bus "$QY_HTTP_bus"
}
held () { [ "$(qy_metric "$QY_HTTP_ingest" qy_outlet_unacked)" -gt 100 ]; }
it_wait "the chain loaded (ingest's outlet holding unacknowledged events)" held
bus_restart
it_wait "the chain loaded again" held
bus_restart
wait "$loadgen" || it_fail "the load generator failed: $(tail -2 "$QY_RUN/loadgen.out")"
cat "$QY_RUN/loadgen.out"

archived=$(sql "SELECT count (*) FROM messages")
counted () { [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$archived" ]; }
it_wait "every archived event counted" counted
it_eq "events counted once" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$archived"
{
    for k in $(redis-cli -p "$QY_REDIS_PORT" --scan --pattern 'md:ids:*') $(redis-cli -p "$QY_REDIS_PORT" --scan --pattern 'sc:ids:*'); do
        redis-cli -p "$QY_REDIS_PORT" smembers "$k"
    done
    sql "SELECT msg_id FROM violations"
} | sort -u > "$QY_RUN/judged"
sql "SELECT msg_id FROM messages" | sort -u > "$QY_RUN/archived"
it_eq "every archived event judged" "$(comm -23 "$QY_RUN/archived" "$QY_RUN/judged" | wc -l)" 0
it_eq "violations unique per message" "$(sql "SELECT count (*) - count (DISTINCT (brand_id, msg_id)) FROM violations")" 0
it_welcomed_once
it_eq "no duplicates at the gateway" "$(it_gateway_stat duplicates)" 0
owed_none () { [ "$(sql "SELECT count (*) FROM ingest_owed")" = 0 ]; }
it_wait "every event marked handed on (acknowledged)" owed_none
resent=0
for s in ingest moderation1 moderation2 scoring1 scoring2 campaign; do
    eval "port=\$QY_HTTP_$s"
    resent=$(( resent + $(qy_metric "$port" qy_outlet_resent_total) ))
    it_eq "$s: no bus restart missed" "$([ "$(qy_metric "$port" qy_outlet_bus_restarts_total)" -ge 2 ] && echo yes || echo no)" yes
    acked () { [ "$(qy_metric "$1" qy_outlet_unacked)" = 0 ]; }
    it_wait "$s: nothing unacknowledged" acked "$port"
done
it_eq "the outlets sent again what the killed bus held" "$([ "$resent" -gt 0 ] && echo yes || echo "no: $resent")" yes
echo "     resent=$resent"
it_eq "nothing unfinished" "$(grep -c 'level=error.*unfinished' "$QY_RUN"/logs/*.log | awk -F: '{ s += $2 } END { print s + 0 }')" 0
it_eq "roll-ups written" "$([ "$(sql "SELECT count (*) FROM daily_member_stats")" -gt 0 ] && echo yes || echo no)" yes
it_no_orphans
it_done
