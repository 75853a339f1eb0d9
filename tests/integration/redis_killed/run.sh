#!/usr/bin/env bash
# Redis killed with kill -9 under load and restarted with its persistence (issue 18): an
# append-only file with appendfsync always. Scoring's dedupe mark of a message (SADD) and the
# counters it guards are written by one script, which the append-only file keeps whole, and with
# `always` Redis answers a write only once it is on disk: so the marks and the counters come back
# together, and what scoring had no answer for is counted on its retry. Every archived event is
# counted exactly once (the roll-ups equal the archive per group and day), every join welcomed
# once, and moderation's violations stay unique per message. (With appendfsync everysec the last
# second before the kill can be lost, marks and counts together: those events stay uncounted,
# since scoring had already passed them on. docs/operations.md says which to run.)
source "$(dirname "$0")/../lib.sh"
it_servers
redis_up () {
    redis-server --port "$QY_REDIS_PORT" --bind 127.0.0.1 --dir "$QY_RUN/redis" --save "" --appendonly yes \
        --appendfsync always --daemonize yes --pidfile "$QY_RUN/redis/redis.pid" --logfile "$QY_RUN/redis/redis.log" >/dev/null
    it_wait "Redis up" redis-cli -p "$QY_REDIS_PORT" ping
}
redis-cli -p "$QY_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
sleep 0.5
redis_up
it_demo_services 2 2
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 60 \
    --messages 10000 --rate 2000 --seed 17 > "$QY_RUN/loadgen.out" 2>&1 &
loadgen=$!
sleep 2
kill -KILL "$(cat "$QY_RUN/redis/redis.pid")"; echo "ok   Redis killed (kill -9)"
sleep 2
redis_up; echo "ok   Redis restarted from its append-only file"
wait "$loadgen" || it_fail "the load generator failed: $(tail -2 "$QY_RUN/loadgen.out")"
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
archived=$(sql "SELECT count (*) FROM messages")
counted () { [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$archived" ]; }
it_wait "every archived event counted" counted
it_eq "events counted once" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$archived"
psql "$QY_PG_DSN" -qAtc "SELECT d.group_id, d.day, d.events, (SELECT count (*) FROM messages m WHERE m.group_id = d.group_id
                          AND (m.event_time AT TIME ZONE 'Asia/Shanghai')::date = d.day) FROM daily_group_stats d ORDER BY 1, 2" \
    > "$QY_RUN/per_group.txt"
awk -F'|' '$3 != $4 { bad = 1; print "mismatch: " $0 } END { exit bad }' "$QY_RUN/per_group.txt" \
    && echo "ok   every group-day: counted = archived" || it_fail "scoring counts differ from the archive"
it_welcomed_once
it_eq "no duplicates at the gateway" "$(it_gateway_stat duplicates)" 0
it_eq "violations unique per message" "$(sql "SELECT count (*) - count (DISTINCT (brand_id, msg_id)) FROM violations")" 0
it_done
