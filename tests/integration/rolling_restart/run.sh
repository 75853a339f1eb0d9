#!/usr/bin/env bash
# A rolling restart under load loses nothing (qy/inlet.h, services/bus/main.c): while the load
# generator sends 16,000 events at 2,000 a second into two moderation and two scoring replicas,
# one replica of every stage is stopped (SIGTERM) and another started in its place — moderation,
# scoring, campaign, then notifier. A stopping replica says goodbye to the bus, takes in what the
# bus had already sent it, and finishes it; the bus gives the rest to the others. Then every event
# the archive holds was counted by scoring (the roll-ups' events), and every join campaign should
# welcome was welcomed at the gateway — with no replay. (Before the bus gave credit, the queues of
# a stopped replica were lost with it, and the counts fell short.) Last, the bus itself restarts
# while idle: the replicas say their credit again to the new one and work goes on.
source "$(dirname "$0")/../lib.sh"
it_demo_chain 2 2
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 60 \
    --messages 16000 --rate 2000 --seed 7 > "$QY_RUN/loadgen.out" 2>&1 &
loadgen=$!

# replace OLD NEW SERVICE: start NEW, then stop OLD (SIGTERM) and wait for it to exit.
replace () {
    QY_HTTP_PORT=$(qy_free_port) qy_start "$2" "$QY_BUILD/services/$3/qy-$3"
    eval "local pid=\$QY_PID_$1"
    kill -TERM "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    it_fail "$1 did not stop"
}
if [ "${ROLL:-1}" = 1 ]; then
    sleep 1.5; replace moderation1 moderation3 moderation
    sleep 1;   replace scoring1 scoring3 scoring
    sleep 1;   replace campaign campaign2 campaign
    sleep 1;   replace notifier notifier2 notifier
fi
wait "$loadgen"
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
archived=$(sql "SELECT count (*) FROM messages")
it_eq "the load reached the archive" "$([ "$archived" -ge 15000 ] && echo yes || echo "no: $archived")" yes
counted () { [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$archived" ]; }
it_wait "every archived event counted by scoring" counted
it_eq "events counted" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$archived"
# Joins of members, less those moderation removed (a blocked member): each gets one welcome.
it_welcomed_once
it_eq "nothing set aside" "$(sql "SELECT count (*) FROM dead_letters")" 0
it_eq "no duplicates at the gateway" "$(it_gateway_stat duplicates)" 0
# The bus forgets a replica that said goodbye (else its table of replicas would fill up with every
# restart): it knows the ones that run.
it_eq "replicas the bus knows (moderation scoring campaign notifier)" \
    "$(for h in moderation scoring campaign notifier; do qy_metric "$QY_HTTP_bus" "qy_bus_replicas{hop=\"$h\"}"; done | xargs)" "2 2 1 1"

# The bus itself restarts (its queues empty): every replica reconnects and, after a quiet second,
# says its credit again to the new bus, which knew nothing of it; what is sent afterwards goes all
# the way through.
kill -TERM "$QY_PID_bus"
for _ in $(seq 100); do kill -0 "$QY_PID_bus" 2>/dev/null || break; sleep 0.1; done
QY_HTTP_PORT=$QY_HTTP_bus qy_start bus2 "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus2 "$QY_HTTP_bus"
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 60 \
    --messages 500 --rate 500 --seed 8 --run after-bus > "$QY_RUN/loadgen2.out" 2>&1
archived=$(sql "SELECT count (*) FROM messages")
it_wait "events sent after the bus restarted counted by scoring" counted
it_eq "the new bus knows every replica" \
    "$(for h in moderation scoring campaign notifier; do qy_metric "$QY_HTTP_bus" "qy_bus_replicas{hop=\"$h\"}"; done | xargs)" "2 2 1 1"
it_done
