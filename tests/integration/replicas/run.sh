#!/usr/bin/env bash
# Scaling out: two replicas each of moderation and scoring, as plain
# processes with identical configuration, behind the bus. A simulated day
# of a small brand goes through; the work must spread over both replicas of
# each stage, with nothing lost and nothing counted twice.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway
"$QYCTL" demo load --brand rep --stores 4 --groups 2 --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
export QY_SCORING_ROLLUP_INTERVAL_MS=300
qy_start_services "$QY_BUILD" 2 2

"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand rep --stores 4 --groups 2 --members 40 \
    --messages 6000 --batch 50 --window 4 --seed 7 --run it > "$QY_RUN/loadgen.out"
cat "$QY_RUN/loadgen.out"
accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
archived=$(psql "$QY_PG_DSN" -qAtc "SELECT count(*) FROM messages")
it_eq "archived = accepted" "$archived" "$accepted"

sum2 () { echo $(( $(qy_metric "$1" "$3") + $(qy_metric "$2" "$3") )); }
drained () { [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$accepted" ]; }
it_wait "the chain to drain" drained
sleep 1
m1=$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total); m2=$(qy_metric "$QY_HTTP_moderation2" qy_moderation_events_total)
s1=$(qy_metric "$QY_HTTP_scoring1" qy_scoring_events_total); s2=$(qy_metric "$QY_HTTP_scoring2" qy_scoring_events_total)
echo "moderation replicas judged $m1 + $m2; scoring replicas counted $s1 + $s2"
it_eq "moderation: judged once in all" "$((m1 + m2))" "$accepted"
it_eq "scoring: counted once in all" "$((s1 + s2))" "$accepted"
it_eq "campaign saw each once" "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" "$accepted"
# Spread: each replica took a real share (ZeroMQ round-robins per message).
for v in m1 m2 s1 s2; do
    share=$(( ${!v} * 100 / accepted ))
    if [ "$share" -lt 20 ]; then it_fail "replica $v took only $share % of the work"; else echo "ok   replica $v took $share %"; fi
done
# Nothing counted twice: Redis per-group message counts equal the archive's.
rolled () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT coalesce(sum(messages),0) FROM daily_group_stats")" = \
              "$(psql "$QY_PG_DSN" -qAtc "SELECT count(*) FROM messages WHERE kind NOT IN ('join','leave','rename')")" ]; }
it_wait "roll-ups equal to the archive" rolled && echo "ok   roll-ups: messages per group-day sum to the archive's"
psql "$QY_PG_DSN" -qAtc "SELECT g.code, d.day, d.messages, (SELECT count(*) FROM messages m WHERE m.group_id = d.group_id
                          AND m.kind NOT IN ('join','leave','rename')
                          AND (m.event_time AT TIME ZONE 'Asia/Shanghai')::date = d.day) FROM daily_group_stats d
                          JOIN groups g ON g.id = d.group_id ORDER BY 1, 2" > "$QY_RUN/per_group.txt"
awk -F'|' '$3 != $4 { bad = 1; print "mismatch: " $0 } END { exit bad }' "$QY_RUN/per_group.txt" \
    && echo "ok   every group-day: scoring count = archive count" || it_fail "scoring counts differ from the archive"
# Violations: one per message at most, strikes numbered without gaps per member.
it_eq "violations unique per message" "$(psql "$QY_PG_DSN" -qAtc "SELECT count(*) - count(DISTINCT msg_id) FROM violations")" 0
gaps=$(psql "$QY_PG_DSN" -qAtc "SELECT count(*) FROM (SELECT member_id, array_agg(strike ORDER BY strike) s FROM violations
        WHERE strike > 0 GROUP BY member_id) x WHERE s <> (SELECT array_agg(i) FROM generate_series(1, array_length(s, 1)) i)")
it_eq "strike numbers without gaps or repeats" "$gaps" 0
# Deliveries: every delivery reached the gateway exactly once.
delivered () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count(*) FROM deliveries WHERE status <> 'delivered'")" = 0 ]; }
it_wait "all deliveries delivered" delivered
it_eq "gateway received each delivery once" "$(it_gateway_stat unique)" "$(psql "$QY_PG_DSN" -qAtc "SELECT count(*) FROM deliveries")"
it_eq "gateway duplicates" "$(it_gateway_stat duplicates)" 0

# Recovery by replay: the whole archive goes through the chain a second
# time (spread over the replicas again); nothing may change anywhere.
snapshot () {
    psql "$QY_PG_DSN" -qAtc "SELECT (SELECT count(*) FROM violations), (SELECT coalesce(sum(strike),0) FROM violations),
        (SELECT count(*) FROM deliveries), (SELECT coalesce(sum(messages),0) || '/' || coalesce(sum(joins),0) FROM daily_group_stats),
        (SELECT count(*) FROM blocks), (SELECT count(*) FROM messages)"
    echo "gateway unique=$(it_gateway_stat unique) duplicates=$(it_gateway_stat duplicates)"
}
before=$(snapshot)
psql "$QY_PG_DSN" -qAtc "SELECT key FROM deliveries ORDER BY 1" > "$QY_RUN/keys_before"
"$QYCTL" replay rep --yes --endpoint "tcp://127.0.0.1:$QY_P_mf"
replayed () { [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge $((2 * accepted)) ]; }
it_wait "the replay to pass through" replayed
sleep 2
psql "$QY_PG_DSN" -qAtc "SELECT key FROM deliveries ORDER BY 1" > "$QY_RUN/keys_after"
diff "$QY_RUN/keys_before" "$QY_RUN/keys_after" | head -20 || true
it_eq "state after replaying the archive" "$(snapshot)" "$before"
it_done
