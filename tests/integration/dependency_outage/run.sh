#!/usr/bin/env bash
# Redis and PostgreSQL taken away under load (issue 18): while the load generator sends 12,000
# events at 2,000 a second into two moderation and two scoring replicas, Redis is shut down and
# started again empty, then PostgreSQL is stopped with -m immediate (a crash: no checkpoint, open
# transactions lost) and started again. No service may crash or report a sanitizer error (run
# it on the ASan + UBSan build too): before the fix both moderation replicas read a null policy
# when a Redis append failed part way through a batch. Every stage holds its batch while
# PostgreSQL is away and goes on when it is back: every event ingest acknowledged is archived
# once and passes every stage to campaign, and nothing is set aside.
source "$(dirname "$0")/../lib.sh"
it_demo_chain 2 2
services="bus ingest notifier campaign scoring1 scoring2 moderation1 moderation2"
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 60 \
    --messages 12000 --rate 2000 --seed 11 --dup-rate 0 --ids "$QY_RUN/sent.ids" > "$QY_RUN/loadgen.out" 2>&1 &
loadgen=$!

redis_restart () {
    redis-cli -p "$QY_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    sleep 1
    redis-server --port "$QY_REDIS_PORT" --bind 127.0.0.1 --dir "$QY_RUN/redis" --save "" --appendonly no \
        --daemonize yes --pidfile "$QY_RUN/redis/redis.pid" --logfile "$QY_RUN/redis/redis.log" >/dev/null
    it_wait "Redis back" redis-cli -p "$QY_REDIS_PORT" ping
}
pg_crash () {
    local bin; bin=$(qy_pg_bin)
    qy_as_pg "$bin/pg_ctl" -D "$QY_RUN/pg" -m immediate -w stop >/dev/null
    sleep 3
    qy_as_pg "$bin/pg_ctl" -D "$QY_RUN/pg" -l "$QY_RUN/pg/server.log" -w -t 60 start \
        -o "-p $QY_PG_PORT -k $QY_RUN/sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" >/dev/null
}
sleep 1.5; redis_restart; echo "ok   Redis restarted under load"
sleep 1.5; pg_crash; echo "ok   PostgreSQL stopped (immediate) and started under load"
wait "$loadgen" || it_fail "the load generator failed: $(tail -2 "$QY_RUN/loadgen.out")"
cat "$QY_RUN/loadgen.out"
for s in $services; do
    eval "pid=\$QY_PID_$s"
    kill -0 "$pid" 2>/dev/null || it_fail "$s died (see its log)"
done
[ "$IT_FAILED" = 0 ] && echo "ok   no service crashed"
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
# Every id was acknowledged (the load generator finished). A commit cut by the immediate stop
# may have gone through although ingest saw it fail: its retry is answered duplicate, so the
# archive is compared with the ids sent, not with the count answered accepted.
sort -u "$QY_RUN/sent.ids" > "$QY_RUN/sent.sorted"
sql "SELECT msg_id FROM messages" | sort > "$QY_RUN/archived"
it_eq "every id sent archived, once" "$(comm -3 "$QY_RUN/sent.sorted" "$QY_RUN/archived" | wc -l) $(uniq -d "$QY_RUN/archived" | wc -l)" "0 0"
accepted=$(wc -l < "$QY_RUN/sent.sorted")
through () { [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$accepted" ]; }
it_wait "every event through to campaign" through
judged=$(( $(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total) + $(qy_metric "$QY_HTTP_moderation2" qy_moderation_events_total) ))
it_eq "every event judged" "$([ "$judged" -ge "$accepted" ] && echo yes || echo "no: $judged of $accepted")" yes
it_eq "violations unique per message" "$(sql "SELECT count (*) - count (DISTINCT (brand_id, msg_id)) FROM violations")" 0
it_eq "nothing set aside" "$(sql "SELECT count (*) FROM dead_letters")" 0
it_eq "no duplicates at the gateway" "$(it_gateway_stat duplicates)" 0
it_done
