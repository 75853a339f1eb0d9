#!/usr/bin/env bash
# ingest's limits and how it tells bad items from a bad moment: with the bus
# away nothing is answered 200 (429 instead: events would wait in a pipe and
# be lost at shutdown); codes too long for an index (a WeCom State of 3,000
# bytes) are refused item by item, not 503 for the whole turn; an item
# PostgreSQL itself refuses for its data (here a CHECK the test adds, on a
# statement of its own and inside the batch's transaction) is rejected and
# dead-lettered while the rest is stored; a request that would become more
# than 5,000 events is refused 413.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
"$Q" brand create acme "Acme" >/dev/null
"$Q" gateway credential add acme acme-gw --token acme-token-0123456789 >/dev/null

P_mf=$(qy_free_port); P_mb=$(qy_free_port)
export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$P_mf>tcp://127.0.0.1:$P_mb" QY_HTTP_BIND=127.0.0.1
export QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_mf" QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$(qy_free_port)"
export QY_INGEST_GATEWAY_HTTP_PORT=$(qy_free_port) QY_INGEST_GATEWAY_HTTP_BIND=127.0.0.1
H_bus=$(qy_free_port); H_ingest=$(qy_free_port)
QY_HTTP_PORT=$H_ingest qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest "$H_ingest" || true
URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT"
A=(-H "Authorization: Bearer acme-token-0123456789")
it_wait "ingest http" curl -s -o /dev/null "$URL/v1/messages"

post () {
    local name=$1 path=$2 file=$3; shift 3
    curl -s -o "$QY_RUN/actual/$name.json" -w '%{http_code}' -X POST "$URL$path" --data-binary "@$file" "$@"
}
items () { jq -r '.results[] | "\(.id) \(.status) \(.events) \(.field // "-") \(.error // "")"' "$QY_RUN/actual/$1.json"; }

# 1. The bus is not there yet: nothing may be answered 200 and left in a pipe.
echo '{"messages":[{"msgid":"a1","from":"u1","roomid":"room1","msgtime":1795201900000,"msgtype":"text","text":{"content":"hi"}}]}' > "$QY_RUN/one.json"
it_eq "bus away status" "$(post away /v1/messages "$QY_RUN/one.json" "${A[@]}")" 429
it_eq "bus away stored" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE msg_id = 'a1'")" 0
QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$H_bus"
bus_up () { [ "$(post up /v1/messages "$QY_RUN/one.json" "${A[@]}")" = 200 ]; }
it_wait "ingest to accept once the bus is up" bus_up

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
it_eq "ingest health" "$(curl -fs "http://127.0.0.1:$H_ingest/health" | jq -r .status)" ok
it_done
