#!/usr/bin/env bash
# Redis lost entirely under load (issue 18): a demo-like day flows, and mid-run Redis is replaced
# by a new, empty instance on the same port while events keep coming. The hot state must come
# back from PostgreSQL by itself: scoring counts the current days again from ingest's archive
# through its live counting script (so each dedupe mark comes back with the counters it guards,
# and an event counted live meanwhile is not counted twice); moderation puts back mutes, blocks
# and the finished marks of what it judged. Strikes are read from PostgreSQL (violations), so a
# member warned before the loss climbs to the next step of the ladder after it.
source "$(dirname "$0")/../lib.sh"
it_servers
it_demo_services 2 2
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
BID=$(sql "SELECT id FROM brands WHERE code = 'demo'")
GROUP=$(sql "SELECT code FROM groups WHERE brand_id = $BID ORDER BY id LIMIT 1")
now_us () { echo $(( $(date +%s%N) / 1000 )); }
ad () {     # ad MSG_ID MEMBER TEXT: an advert from a member of the first group, now
    echo "{\"brand\":\"demo\",\"msg_id\":\"$1\",\"group\":\"$GROUP\",\"member\":\"$2\",\"nickname\":\"$2\",\"kind\":\"text\",\"text\":\"$3\",\"event_time_us\":$(now_us)}" \
        | "$QYCTL" send - >/dev/null
}
viol () { sql "SELECT $1 FROM violations WHERE brand_id = $BID AND msg_id = '$2'"; }
has_viol () { [ -n "$(viol id "$1")" ]; }
# Before the loss: rl_a warned once (one strike), rl_b advertising twice (muted by the ladder).
ad rl_a0 rl_a "加我微信 abc12345 有优惠"; it_wait "rl_a's first strike" has_viol rl_a0
ad rl_b0 rl_b "代购正品包包，有意者私聊"; it_wait "rl_b's first strike" has_viol rl_b0
ad rl_b1 rl_b "加我vx领取优惠券 13912345678"; it_wait "rl_b's second strike" has_viol rl_b1
it_eq "rl_a's strike before the loss" "$(viol strike rl_a0)" 1
it_eq "rl_b muted before the loss" "$(viol "mute_until > now ()" rl_b1)" t
B_ID=$(sql "SELECT id FROM members WHERE brand_id = $BID AND user_id = 'rl_b'")

"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand demo --stores 4 --groups 2 --members 60 \
    --messages 16000 --rate 2000 --seed 23 > "$QY_RUN/loadgen.out" 2>&1 &
loadgen=$!
sleep 3
# A new, empty Redis on the same port: the old one goes without saving, nothing is kept on disk.
run_id () { redis-cli -p "$QY_REDIS_PORT" info server | tr -d '\r' | sed -n 's/^run_id://p'; }
old_run=$(run_id)
redis-cli -p "$QY_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
for _ in $(seq 50); do redis-cli -p "$QY_REDIS_PORT" ping >/dev/null 2>&1 || break; sleep 0.1; done
rm -f "$QY_RUN"/redis/*.rdb "$QY_RUN"/redis/*.aof
redis-server --port "$QY_REDIS_PORT" --bind 127.0.0.1 --dir "$QY_RUN/redis" --save "" --appendonly no \
    --daemonize yes --pidfile "$QY_RUN/redis/redis.pid" --logfile "$QY_RUN/redis/redis.log" >/dev/null
it_wait "the new Redis up" redis-cli -p "$QY_REDIS_PORT" ping
[ "$(run_id)" != "$old_run" ] || it_fail "Redis was not replaced"
it_eq "keys the new Redis loaded at start" \
    "$(redis-cli -p "$QY_REDIS_PORT" info persistence | tr -d '\r' | sed -n 's/^rdb_last_load_keys_loaded://p')" 0
echo "ok   Redis replaced by an empty instance while the load runs"
wait "$loadgen" || it_fail "the load generator failed: $(tail -2 "$QY_RUN/loadgen.out")"

# Mutes and finished marks came back from PostgreSQL.
restored () { [ "$(redis-cli -p "$QY_REDIS_PORT" exists qy:moderation:restored)" = 1 ]; }
it_wait "moderation restored" restored
it_eq "rl_b's mute back in Redis" "$(redis-cli -p "$QY_REDIS_PORT" exists "mute:{b:$BID}:$B_ID")" 1
day_utc=$(( $(viol "(extract (epoch FROM event_time))::bigint" rl_a0) / 86400 ))
it_eq "rl_a0's finished mark back" "$(redis-cli -p "$QY_REDIS_PORT" sismember "md:ids:{b:$BID}:$day_utc" rl_a0)" 1
# After the loss: rl_a's next advert is their second strike; rl_b, still muted, is only recalled.
ad rl_a1 rl_a "找我拿货 微信号 hjk77777"; it_wait "rl_a's advert after the loss" has_viol rl_a1
it_eq "rl_a climbs from where they were" "$(viol strike rl_a1)" 2
ad rl_b2 rl_b "加我微信 mno24680 有货"; it_wait "rl_b's advert after the loss" has_viol rl_b2
it_eq "rl_b still muted: recalled, no strike" "$(viol "category || ':' || strike" rl_b2)" mute:0

# Every archived event counted exactly once: the roll-ups equal the archive per group and day,
# and scoring's dedupe marks hold every archived message of the group-day, no more.
archived=$(sql "SELECT count (*) FROM messages")
counted () { [ "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" = "$archived" ]; }
it_wait "every archived event counted" counted || true
it_eq "events counted once" "$(sql "SELECT coalesce (sum (events), 0) FROM daily_group_stats")" "$archived"
sql "SELECT d.group_id, d.day, d.events, (SELECT count (*) FROM messages m WHERE m.group_id = d.group_id
     AND (m.event_time AT TIME ZONE 'Asia/Shanghai')::date = d.day) FROM daily_group_stats d ORDER BY 1, 2" > "$QY_RUN/per_group.txt"
awk -F'|' '$3 != $4 { bad = 1; print "mismatch: " $0 } END { exit bad }' "$QY_RUN/per_group.txt" \
    && echo "ok   every group-day: counted = archived" || it_fail "scoring counts differ from the archive"
marks_ok=1
while IFS='|' read -r gid day n; do
    got=$(redis-cli -p "$QY_REDIS_PORT" scard "sc:ids:{g:$gid}:$day")
    [ "$got" = "$n" ] || { marks_ok=0; echo "group $gid day $day: $got marks, $n archived"; }
done < <(sql "SELECT group_id, (extract (epoch FROM (event_time AT TIME ZONE 'Asia/Shanghai')::date) / 86400)::int, count (*)
              FROM messages GROUP BY 1, 2")
[ "$marks_ok" = 1 ] && echo "ok   dedupe marks = archived messages, per group-day" || it_fail "scoring's dedupe marks differ from the archive"
# Two rebuilds: at start (no marker yet) and after the loss, each by one replica.
rebuilt=$(( $(qy_metric "$QY_HTTP_scoring1" qy_scoring_rebuilds_total || echo 0) + $(qy_metric "$QY_HTTP_scoring2" qy_scoring_rebuilds_total || echo 0) ))
[ "$rebuilt" -ge 2 ] && echo "ok   scoring's rebuilds: $rebuilt" || it_fail "scoring's rebuilds: $rebuilt, expected at start and after the loss"
it_eq "scoring's marker back" "$(redis-cli -p "$QY_REDIS_PORT" exists qy:scoring:restored)" 1
# Nothing judged twice, nothing sent twice.
it_eq "violations unique per message" "$(sql "SELECT count (*) - count (DISTINCT (brand_id, msg_id)) FROM violations")" 0
it_welcomed_once
it_eq "no duplicates at the gateway" "$(it_gateway_stat duplicates)" 0
it_done
