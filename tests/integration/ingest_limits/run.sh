#!/usr/bin/env bash
# ingest's limits and how it tells bad items from a bad moment: with the bus
# away nothing is answered 200 (429 instead: events would wait in a pipe and
# be lost at shutdown) and /health says so (503, "bus":"down"), until the
# link is up again; codes too long for an index (a WeCom State of 3,000
# bytes) are refused item by item, not 503 for the whole turn; an item
# PostgreSQL itself refuses for its data (here a CHECK the test adds, on a
# statement of its own and inside the batch's transaction) is rejected and
# dead-lettered while the rest is stored; a request that would become more
# than 5,000 events is refused 413. On the ZeroMQ door (gateway_frames.c):
# a frame over zmq.max_msg_bytes is dropped with its connection, unread,
# and ingest goes on; what a gateway sends in fields owned downstream
# (replay, a verdict, a signal, resolved ids, a trace, unknown fields 50-79)
# never reaches the bus nor memberships; absurd event times are refused
# and dead-lettered, the edges taken. On the HTTP door: one address cannot
# hold more than gateway.max_conns_per_ip connections (others still get
# in), and an idle one is closed after gateway.conn_timeout_s. A batch
# answered busy (the bus away) is sent again by qyctl send until taken.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
"$Q" brand create acme "Acme" >/dev/null
"$Q" gateway credential add acme acme-gw --token-file <(printf %s acme-token-0123456789) >/dev/null

P_mf=$(qy_free_port); P_mb=$(qy_free_port)
export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$P_mf>tcp://127.0.0.1:$P_mb" QY_HTTP_BIND=127.0.0.1
export QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_mf" QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$(qy_free_port)"
export QY_INGEST_GATEWAY_HTTP_PORT=$(qy_free_port) QY_INGEST_GATEWAY_HTTP_BIND=127.0.0.1
export QY_INGEST_GATEWAY_MAX_CONNS_PER_IP=4 QY_INGEST_GATEWAY_CONN_TIMEOUT_S=2
H_bus=$(qy_free_port); H_ingest=$(qy_free_port)
QY_HTTP_PORT=$H_ingest qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT"
A=(-H "Authorization: Bearer acme-token-0123456789")
it_wait "ingest http" curl -s -o /dev/null "$URL/v1/messages"
F=$QY_BUILD/tests/integration/qy_test_gateway_frames
GW=$QY_INGEST_ZMQ_GATEWAY
# health: "CODE BUS STATUS" of ingest's /health
health () { curl -s -o "$QY_RUN/health.json" -w '%{http_code}' "http://127.0.0.1:$H_ingest/health"
            jq -r '" \(.bus) \(.status)"' "$QY_RUN/health.json"; }
health_is () { [ "$(health)" = "$1" ]; }

post () {
    local name=$1 path=$2 file=$3; shift 3
    curl -s -o "$QY_RUN/actual/$name.json" -w '%{http_code}' -X POST "$URL$path" --data-binary "@$file" "$@"
}
items () { jq -r '.results[] | "\(.id) \(.status) \(.events) \(.field // "-") \(.error // "")"' "$QY_RUN/actual/$1.json"; }

# 1. The bus is not there yet: nothing may be answered 200 and left in a
# pipe, and /health says ingest is not ready, naming the bus.
echo '{"messages":[{"msgid":"a1","from":"u1","roomid":"room1","msgtime":1795201900000,"msgtype":"text","text":{"content":"hi"}}]}' > "$QY_RUN/one.json"
it_eq "bus away status" "$(post away /v1/messages "$QY_RUN/one.json" "${A[@]}")" 429
it_eq "bus away stored" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE msg_id = 'a1'")" 0
it_eq "health with the bus away" "$(health)" "503 down unhealthy"
QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$H_bus"
bus_up () { [ "$(post up /v1/messages "$QY_RUN/one.json" "${A[@]}")" = 200 ]; }
it_wait "ingest to accept once the bus is up" bus_up
it_wait "ingest healthy once linked" health_is "200 up ok"

# 2. A State far too long for the channels index (54000 in PostgreSQL), next to a good callback.
long=$(head -c 3000 /dev/urandom | base64 -w0 | head -c 3000)   # incompressible: too large for the index
jq -nc --arg s "$long" '{events: [
    {ChatId: "room1", CreateTime: 1795201300, ChangeType: "update", UpdateDetail: "add_member", JoinScene: 3, State: $s, MemChangeList: ["u2"]},
    {ChatId: "room1", CreateTime: 1795201301, ChangeType: "update", UpdateDetail: "add_member", JoinScene: 3, State: "qr-ok", MemChangeList: ["u3"]}]}' \
    > "$QY_RUN/long.json"
it_eq "long State status" "$(post long /v1/events "$QY_RUN/long.json" "${A[@]}")" 200
it_eq "long State items" "$(items long)" "cb:room1:update/add_member:1795201300 rejected 0 State field too long: State (max 128 bytes)
cb:room1:update/add_member:1795201301 accepted 1 - "

# 3. PostgreSQL refuses an item for its data: on its own statement (the
# channel upsert) and inside the batch's transaction (the join).
psql "$QY_PG_DSN" -qc "ALTER TABLE channels ADD CONSTRAINT it_poison CHECK (code <> 'poison');
                       ALTER TABLE memberships ADD CONSTRAINT it_poison CHECK (inviter IS DISTINCT FROM 'poison')"
jq -nc '{events: [
    {ChatId: "room1", CreateTime: 1795201400, ChangeType: "update", UpdateDetail: "add_member", JoinScene: 3, State: "poison", MemChangeList: ["u4"]},
    {ChatId: "room1", CreateTime: 1795201401, ChangeType: "update", UpdateDetail: "add_member", JoinScene: 0, Invitor: "poison", MemChangeList: ["u5"]},
    {ChatId: "room1", CreateTime: 1795201402, ChangeType: "update", UpdateDetail: "add_member", JoinScene: 3, State: "qr-ok", MemChangeList: ["u6", "u7"]}]}' \
    > "$QY_RUN/poison.json"
it_eq "refused by storage status" "$(post poison /v1/events "$QY_RUN/poison.json" "${A[@]}")" 200
it_eq "refused by storage items" "$(items poison)" "cb:room1:update/add_member:1795201400 rejected 1 State refused by storage: channel upsert failed (SQLSTATE 23514)
cb:room1:update/add_member:1795201401 rejected 1  refused by storage (SQLSTATE 23514)
cb:room1:update/add_member:1795201402 accepted 2 - "
it_eq "stored members" "$(psql "$QY_PG_DSN" -qAtc "SELECT string_agg (mb.user_id, ',' ORDER BY mb.user_id) FROM memberships ms
                                                   JOIN members mb ON mb.id = ms.member_id WHERE ms.joined_at IS NOT NULL")" "u3,u6,u7"
it_eq "dead letters" "$(psql "$QY_PG_DSN" -qAtc "SELECT string_agg (left (reason, 60), ' / ' ORDER BY reason) FROM dead_letters")" \
    "field too long: State (max 128 bytes) (field State) / refused by storage (SQLSTATE 23514) / refused by storage: channel upsert failed (SQLSTATE 23514)"

# 4. More than 5,000 events in one request: 413, nothing stored.
jq -nc '{events: [range(0; 2) as $c | {ChatId: "room9", CreateTime: (1795201500 + $c), ChangeType: "update",
    UpdateDetail: "add_member", MemChangeList: [range(0; 2600) as $i | "m\($i)"]}]}' > "$QY_RUN/many.json"
it_eq "too many events status" "$(post many /v1/events "$QY_RUN/many.json" "${A[@]}")" 413
it_eq "too many events error" "$(jq -r '"\(.error) \(.field)"' "$QY_RUN/actual/many.json")" "too many events in one request (max 5000) events"

# 5. ZeroMQ door: a frame of exactly zmq.max_msg_bytes (4 MiB) is read (and,
# being garbage, answered and dead-lettered); one byte more and ZeroMQ drops
# the connection while reading it, before allocating it. Ingest goes on.
it_eq "frame at the limit" "$("$F" frame "$GW" 4194304 10000)" "answered: malformed batch: protobuf decode failed"
it_eq "frame over the limit" "$("$F" frame "$GW" 4194305 10000)" "disconnected"
# The refused frame is kept as a 4 KiB prefix with its size and SHA-256, closed at once (the
# gateway was answered): three refused 1.5 MB requests used to add 4.7 MB for ever.
it_eq "refused frame: prefix, size, hash, closed" "$(psql "$QY_PG_DSN" -qAtc "SELECT length (payload) || ' ' || payload_bytes
    || ' ' || length (payload_sha256) || ' ' || state FROM dead_letters WHERE reason LIKE 'malformed batch%'")" "4096 4194304 32 resolved"

# 6. Fields owned downstream, sent by a gateway: the events are taken, and
# what is handed on carries none of it; a channel named by id only is not
# recorded on the membership. A second ingest, its zmq.out connected to a
# reader in place of the bus, shows what the next hop reads. It re-sends
# nothing from the archive (a day's grace): on a slow machine the events of
# the sections above, which no moderation acknowledged, were older than the
# grace by now, and its re-sends, queued until the reader's hello came back,
# had the forged batch answered busy.
P_tap=$(qy_free_port); H_ingest2=$(qy_free_port); GW2="tcp://127.0.0.1:$(qy_free_port)"
"$F" pull "tcp://127.0.0.1:$P_tap" 30000 forged-text forged-join > "$QY_RUN/actual/tap.txt" &
tap=$!
QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_tap" QY_INGEST_ZMQ_GATEWAY=$GW2 QY_INGEST_GATEWAY_HTTP=false QY_INGEST_LOG_LEVEL=debug \
    QY_INGEST_RESEND_GRACE_S=86400 \
    QY_HTTP_PORT=$H_ingest2 qy_start ingest2 "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest2 "$H_ingest2"
CH=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM channels WHERE code = 'qr-ok'")
# Healthy once is not linked for good: the outlet may still find the reader's hello missing
# and answer busy (nothing stored), and a gateway sends a busy batch again.
forged () { "$F" forged "$GW2" acme room1 "$CH" > "$QY_RUN/actual/forged.txt" && ! grep -q 'busy' "$QY_RUN/actual/forged.txt"; }
it_wait "the forged batch taken" forged
it_eq "forged batch" "$(cat "$QY_RUN/actual/forged.txt")" "forged-text accepted
forged-join accepted"
wait $tap || true
ids () { psql "$QY_PG_DSN" -qAtc "SELECT b.id || '/' || g.id || '/' || coalesce (g.store_id, 0) || '/0/' || m.id
                                 FROM brands b JOIN groups g ON g.brand_id = b.id AND g.code = 'room1'
                                 JOIN members m ON m.brand_id = b.id AND m.user_id = '$1' WHERE b.code = 'acme'"; }
it_eq "what the next hop reads" "$(cat "$QY_RUN/actual/tap.txt")" \
"forged-text replay=0 verdict=0 standing=0 signal=0 trace=ingest ingest_time=now ids=$(ids u1) unknown=85
forged-join replay=0 verdict=0 standing=0 signal=0 trace=ingest ingest_time=now ids=$(ids u9) unknown="
it_eq "forged join's channel" "$(psql "$QY_PG_DSN" -qAtc "SELECT coalesce (ms.channel_id::text, 'none') FROM memberships ms
                                                          JOIN members m ON m.id = ms.member_id WHERE m.user_id = 'u9'")" none
it_eq "said at debug level" "$(grep 'msg_id=forged-text' "$QY_RUN/logs/ingest2.log" | grep -o 'level=[a-z]* .*cleared fields.*')" \
    "level=debug svc=ingest msg=\"cleared fields owned downstream: ingest_time_us,brand_id,group_id,store_id,channel_id,member_id,verdict,standing,signal,trace,replay,field 55,field 65,field 75\" msg_id=forged-text brand=acme"
it_eq "cleared events metric" "$(qy_metric "$H_ingest2" qy_ingest_cleared_events_total)" 2
kill -TERM "$QY_PID_ingest2"

# 7. Event times, on the door that dropped the oversized frame (it goes on
# serving): absurd ones refused and dead-lettered with the reason; the edges
# (2000-01-01, a gateway's clock a little under a day ahead) taken.
"$F" times "$GW" acme room1 > "$QY_RUN/actual/times.txt"
it_eq "absurd times" "$(cat "$QY_RUN/actual/times.txt")" "t-min rejected bad field: event_time_us (before 2000)
t-negative rejected bad field: event_time_us (before 2000)
t-1999 rejected bad field: event_time_us (before 2000)
t-2000 accepted
t-ahead accepted
t-tomorrow rejected bad field: event_time_us (more than a day in the future)
t-9999 rejected bad field: event_time_us (more than a day in the future)
t-max rejected bad field: event_time_us (more than a day in the future)"
it_eq "absurd times set aside" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM dead_letters WHERE msg_id LIKE 't-%'
                                                          AND reason LIKE 'bad field: event_time_us (%'")" 6
it_eq "edges archived" "$(psql "$QY_PG_DSN" -qAtc "SELECT string_agg (msg_id, ',' ORDER BY msg_id) FROM messages WHERE msg_id LIKE 't-%'")" \
    "t-2000,t-ahead"
jq -nc '{messages: [
    {msgid: "h-neg", from: "u1", roomid: "room1", msgtime: -5, msgtype: "text", text: {content: "x"}},
    {msgid: "h-9999", from: "u1", roomid: "room1", msgtime: 253402300799000, msgtype: "text", text: {content: "x"}}]}' > "$QY_RUN/times.json"
it_eq "absurd msgtime status" "$(post times /v1/messages "$QY_RUN/times.json" "${A[@]}")" 400
it_eq "absurd msgtime items" "$(items times)" "h-neg rejected 1 msgtime bad field: event_time_us (before 2000)
h-9999 rejected 1 msgtime bad field: event_time_us (more than a day in the future)"
jq -nc '{events: [{ChatId: "room7", CreateTime: 253402300799, ChangeType: "create", Name: "n"}]}' > "$QY_RUN/create.json"
it_eq "absurd CreateTime status" "$(post create /v1/events "$QY_RUN/create.json" "${A[@]}")" 400
it_eq "absurd CreateTime items" "$(items create)" "cb:room7:create:253402300799 rejected 0 CreateTime bad field: CreateTime (more than a day in the future)"
it_eq "no group made" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM groups WHERE code = 'room7'")" 0

# 8. HTTP door: an address holding gateway.max_conns_per_ip (4) idle
# connections gets no fifth, while another address is served; each idle
# one is closed after gateway.conn_timeout_s (2 s), and the address is
# served again.
P=$QY_INGEST_GATEWAY_HTTP_PORT
exec 3<>"/dev/tcp/127.0.0.1/$P" 4<>"/dev/tcp/127.0.0.1/$P" 5<>"/dev/tcp/127.0.0.1/$P" 6<>"/dev/tcp/127.0.0.1/$P"
it_eq "a fifth connection from one address" "$(post fifth /v1/messages "$QY_RUN/one.json" "${A[@]}" || true)" 000
it_eq "another address meanwhile" "$(post other /v1/messages "$QY_RUN/one.json" "${A[@]}" --interface 127.0.0.2)" 200
closed_by_server () { local rc=0; read -r -t 10 -u "$1" _ || rc=$?; [ "$rc" = 1 ]; }   # 1: EOF; >128: timed out
for fd in 3 4 5 6; do
    if closed_by_server $fd; then echo "ok   idle connection $fd closed"; else it_fail "idle connection $fd still open after 10 s"; fi
done
exec 3<&- 4<&- 5<&- 6<&-
served () { [ "$(post again /v1/messages "$QY_RUN/one.json" "${A[@]}")" = 200 ]; }
it_wait "the address served again" served

# 9. The bus goes away and comes back: /health follows the link. A batch qyctl sends meanwhile
# on the ZeroMQ door is answered busy, and qyctl sends it again until it is taken.
kill -TERM "$QY_PID_bus"
it_wait "ingest unhealthy without the bus" health_is "503 down unhealthy"
it_eq "refused meanwhile" "$(post gone /v1/messages "$QY_RUN/one.json" "${A[@]}")" 429
printf '{"brand":"acme","msg_id":"while-away","group":"room1","member":"u1","kind":"text","text":"hi","event_time_us":%d}\n' \
    $(( $(date +%s) * 1000000 )) > "$QY_RUN/away.jsonl"
busy_before=$(qy_metric "$H_ingest" qy_ingest_busy_total)
"$Q" send "$QY_RUN/away.jsonl" --endpoint "$GW" --timeout-ms 60000 > "$QY_RUN/actual/away.out" & send_pid=$!
answered_busy () { [ "$(qy_metric "$H_ingest" qy_ingest_busy_total)" -gt "$busy_before" ]; }
it_wait "qyctl send answered busy" answered_busy
QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
it_wait "ingest healthy with the bus back" health_is "200 up ok"
rc=0; wait "$send_pid" || rc=$?
it_eq "qyctl send with the bus back: exit" "$rc" 0
it_eq "qyctl send with the bus back: answer" "$(jq -c '[.ok, .results[].status]' "$QY_RUN/actual/away.out")" '[true,"accepted"]'
it_eq "qyctl send with the bus back: stored" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE msg_id = 'while-away'")" 1
it_eq "link logged" "$(grep -oE 'level=[a-z]+ svc=ingest msg="link to the bus (up|down)' "$QY_RUN/logs/ingest.log" | awk '{printf "%s %s, ", $1, $NF}')" \
    "level=info up, level=warn down, level=info up, "
it_eq "ingest health" "$(curl -fs "http://127.0.0.1:$H_ingest/health" | jq -r .status)" ok
it_done
