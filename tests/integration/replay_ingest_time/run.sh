#!/usr/bin/env bash
# Manual recovery by the time of a crash (qyctl replay --ingested-since, issue 18): a gateway
# sends events of yesterday today. `--since <the crash's time>` compares with each event's own
# time and re-sends nothing (0 in 33 of 33 trials); --ingested-since selects by when ingest
# accepted them, and re-sends exactly what came in after that time; the chain's state does not
# change (every effect is idempotent by event id).
source "$(dirname "$0")/../lib.sh"
it_demo_chain 1 1
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
load () {
    "$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 40 \
        --dup-rate 0 --seed 9 --day-offset -1 --messages 400 "$@" > "$QY_RUN/$2.out"
}
load --run before
sleep 1.1
crash=$(sql "SELECT now ()")
load --run after
after=$(sql "SELECT count (*) FROM messages WHERE msg_id LIKE 'demo-after-%'")
counted () { [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$(sql "SELECT count (*) FROM messages")" ]; }
it_wait "both loads counted" counted
state () { sql "SELECT (SELECT coalesce (sum (events), 0) FROM daily_group_stats), (SELECT count (*) FROM violations),
                       (SELECT count (*) FROM deliveries)"; }
before_state=$(state)
it_eq "--since the crash (event time) selects nothing" \
    "$("$QYCTL" replay demo --yes --since "$crash" --endpoint "tcp://127.0.0.1:$QY_P_mf")" "replayed 0 events of demo into tcp://127.0.0.1:$QY_P_mf"
it_eq "--ingested-since the crash selects what came after it" \
    "$("$QYCTL" replay demo --yes --ingested-since "$crash" --endpoint "tcp://127.0.0.1:$QY_P_mf")" \
    "replayed $after events of demo into tcp://127.0.0.1:$QY_P_mf"
it_eq "--ingested-until the crash selects what came before it" \
    "$("$QYCTL" replay demo --yes --ingested-until "$crash" --endpoint "tcp://127.0.0.1:$QY_P_mf" | cut -d' ' -f2)" \
    "$(sql "SELECT count (*) FROM messages WHERE msg_id LIKE 'demo-before-%'")"
through () { [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$(( $(sql "SELECT count (*) FROM messages") * 2 ))" ]; }
it_wait "the replays through the chain" through
sleep 1
it_eq "the chain's state unchanged by the replays" "$(state)" "$before_state"
it_done
