#!/usr/bin/env bash
# The HTTP front door of ingest, end to end against real PostgreSQL: WeCom
# chat-archive messages, change_external_chat callbacks and groupchat/get
# snapshots go in; we check the answers item by item, the archive, the
# memberships, the dead letters, authentication (bearer, HMAC, replay
# window, revoked, another brand), 400 / 413, and 429 under backpressure.
# Only the bus and ingest run: nothing drains the moderation hop, which is
# how the last part fills the queue until ingest pushes back.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
"$Q" brand create acme "Acme" >/dev/null
"$Q" brand create other "Other" >/dev/null
"$Q" store create acme s1 "一号店" >/dev/null
"$Q" group create acme room1 "一号店会员群" --store s1 >/dev/null
"$Q" channel create acme s1-qr qr_poster --store s1 >/dev/null
"$Q" gateway credential add acme acme-gw --token-file <(printf %s acme-token-0123456789) >/dev/null
"$Q" gateway credential add acme acme-signer --hmac-file <(printf %s acme-secret-0123456789) >/dev/null
"$Q" gateway credential add acme acme-old --token-file <(printf %s old-token-0123456789abc) >/dev/null
"$Q" gateway credential revoke acme acme-old >/dev/null
"$Q" gateway credential add other other-gw --token-file <(printf %s other-token-0123456789) >/dev/null

# Bus (the moderation hop only, nobody pulling) and ingest with small queues.
P_mf=$(qy_free_port); P_mb=$(qy_free_port)
export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$P_mf>tcp://127.0.0.1:$P_mb" QY_BUS_ZMQ_HWM=100 QY_HTTP_BIND=127.0.0.1
export QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_mf" QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$(qy_free_port)" QY_INGEST_ZMQ_HWM=100
export QY_INGEST_GATEWAY_HTTP_PORT=$(qy_free_port) QY_INGEST_GATEWAY_HTTP_BIND=127.0.0.1 QY_INGEST_GATEWAY_MAX_BODY=2097152
H_bus=$(qy_free_port); H_ingest=$(qy_free_port)
# The bus listens first: ingest takes nothing until it is linked to it.
QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$H_bus"
QY_HTTP_PORT=$H_ingest qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest "$H_ingest"
URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT"
A=(-H "Authorization: Bearer acme-token-0123456789")

# post NAME PATH FILE [curl args…]: the answer's body in actual/NAME.json, status on stdout.
post () {
    local name=$1 path=$2 file=$3; shift 3
    curl -s -o "$QY_RUN/actual/$name.json" -w '%{http_code}' -X POST "$URL$path" --data-binary "@$file" "$@"
}
items () { jq -r '.results[] | "\(.id) \(.status) \(.events) \(.field // "-") \(.error // "")"' "$QY_RUN/actual/$1.json"; }

# 1. Messages: every type, and the bad ones named by field; then the same again.
it_eq "messages status" "$(post messages /v1/messages "$IT_CASE/messages.json" "${A[@]}")" 200
it_eq "messages again status" "$(post messages_again /v1/messages "$IT_CASE/messages.json" "${A[@]}")" 200
{ items messages; echo "--- again"; items messages_again; } > "$QY_RUN/actual/messages.txt"
it_expect messages

# 2. Callbacks (joins with channel and scene, a removal, a rename, a new group), then again.
it_eq "callbacks status" "$(post callbacks /v1/events "$IT_CASE/callbacks.json" "${A[@]}")" 200
it_eq "callbacks again status" "$(post callbacks_again /v1/events "$IT_CASE/callbacks.json" "${A[@]}")" 200
{ items callbacks; echo "--- again"; items callbacks_again; } > "$QY_RUN/actual/callbacks.txt"
it_expect callbacks

# 3. A snapshot, signed (HMAC): the missed joins and leaves once; the same snapshot again adds nothing.
sign () { local ts=$1 file=$2 secret=${3:-acme-secret-0123456789}
    { printf '%s.' "$ts"; cat "$file"; } | openssl dgst -sha256 -hmac "$secret" | awk '{print $NF}'; }
ts=$(date +%s); sig=$(sign "$ts" "$IT_CASE/snapshot.json")
S=(-H "X-Qy-Gateway: acme-signer" -H "X-Qy-Timestamp: $ts" -H "X-Qy-Signature: sha256=$sig")
it_eq "snapshot status" "$(post snapshot /v1/groups/snapshot "$IT_CASE/snapshot.json" "${S[@]}")" 200
it_eq "snapshot again status" "$(post snapshot_again /v1/groups/snapshot "$IT_CASE/snapshot.json" "${S[@]}")" 200
jq -c '{joins, leaves, accepted, results: [.results[] | {status, events}]}' "$QY_RUN/actual/snapshot.json" "$QY_RUN/actual/snapshot_again.json" \
    > "$QY_RUN/actual/snapshot.txt"
it_expect snapshot

# 4. A dismissed group: everyone in it leaves, once.
printf '{"messages":[{"msgid":"r2a","from":"u1","roomid":"room2","msgtime":1795201600000,"msgtype":"text","text":{"content":"hi"}},{"msgid":"r2b","from":"u2","roomid":"room2","msgtime":1795201601000,"msgtype":"text","text":{"content":"yo"}}]}' > "$QY_RUN/room2.json"
post room2 /v1/messages "$QY_RUN/room2.json" "${A[@]}" >/dev/null
post dismiss /v1/events "$IT_CASE/dismiss.json" "${A[@]}" >/dev/null
post dismiss_again /v1/events "$IT_CASE/dismiss.json" "${A[@]}" >/dev/null
jq -c '{joins, leaves}' "$QY_RUN/actual/dismiss.json" "$QY_RUN/actual/dismiss_again.json" > "$QY_RUN/actual/dismiss.txt"
it_expect dismiss

# 5. Who may call.
echo '{"messages":[{"msgid":"z1","from":"u1","roomid":"room1","msgtime":1795201900000,"msgtype":"text","text":{"content":"z"}}]}' > "$QY_RUN/one.json"
ts=$(date +%s)
{
    echo "none $(post auth /v1/messages "$QY_RUN/one.json")"
    echo "wrong-token $(post auth /v1/messages "$QY_RUN/one.json" -H 'Authorization: Bearer nope-nope-nope-nope')"
    echo "revoked $(post auth /v1/messages "$QY_RUN/one.json" -H 'Authorization: Bearer old-token-0123456789abc')"
    echo "other-brand-in-body $(post auth /v1/messages <(jq -c '. + {brand: "acme"}' "$QY_RUN/one.json") -H 'Authorization: Bearer other-token-0123456789')"
    echo "bad-signature $(post auth /v1/messages "$QY_RUN/one.json" -H 'X-Qy-Gateway: acme-signer' -H "X-Qy-Timestamp: $ts" -H "X-Qy-Signature: sha256=$(sign "$ts" "$QY_RUN/one.json" wrong-secret-0123456789)")"
    old=$((ts - 3600))
    echo "stale $(post auth /v1/messages "$QY_RUN/one.json" -H 'X-Qy-Gateway: acme-signer' -H "X-Qy-Timestamp: $old" -H "X-Qy-Signature: sha256=$(sign "$old" "$QY_RUN/one.json")")"
    echo "signed $(post auth /v1/messages "$QY_RUN/one.json" -H 'X-Qy-Gateway: acme-signer' -H "X-Qy-Timestamp: $ts" -H "X-Qy-Signature: sha256=$(sign "$ts" "$QY_RUN/one.json")")"
    echo "other-brand-own-token $(post auth /v1/messages "$QY_RUN/one.json" -H 'Authorization: Bearer other-token-0123456789')"
} > "$QY_RUN/actual/auth.txt"
it_expect auth

# 6. Bad envelopes (400, dead-lettered), oversize (413), wrong route and method.
echo '{"messages": [' > "$QY_RUN/broken.json"
echo '{"msgs": []}' > "$QY_RUN/noarray.json"
head -c 2200000 /dev/zero | tr '\0' 'a' > "$QY_RUN/huge.json"
{
    echo "broken $(post bad1 /v1/messages "$QY_RUN/broken.json" "${A[@]}") $(jq -r .field "$QY_RUN/actual/bad1.json")"
    echo "noarray $(post bad2 /v1/messages "$QY_RUN/noarray.json" "${A[@]}") $(jq -r .field "$QY_RUN/actual/bad2.json")"
    echo "snapshot-without-members $(post bad3 /v1/groups/snapshot <(echo '{"group_chat":{"chat_id":"room1"}}') "${A[@]}") $(jq -r .field "$QY_RUN/actual/bad3.json")"
    echo "huge $(post bad4 /v1/messages "$QY_RUN/huge.json" "${A[@]}")"
    echo "route $(post bad5 /v1/nothing "$QY_RUN/one.json" "${A[@]}")"
    echo "method $(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/messages")"
} > "$QY_RUN/actual/bad.txt"
it_expect bad

# What PostgreSQL holds now.
it_sql archive "SELECT m.msg_id, m.kind, coalesce (m.text, ''), coalesce (m.extra::text, '') FROM messages m
                WHERE m.brand_id = (SELECT id FROM brands WHERE code = 'acme') ORDER BY m.event_time, m.msg_id"
it_sql memberships "SELECT g.code, mb.user_id, ms.role, coalesce (ms.nickname, ''), coalesce (c.code, '-'), coalesce (ms.join_scene, '-'),
                    coalesce (ms.inviter, '-'), ms.joined_at IS NOT NULL AS joined, ms.left_at IS NOT NULL AS left, coalesce (ms.leave_reason, '-')
                    FROM memberships ms JOIN groups g ON g.id = ms.group_id JOIN members mb ON mb.id = ms.member_id
                    LEFT JOIN channels c ON c.id = ms.channel_id WHERE ms.brand_id = (SELECT id FROM brands WHERE code = 'acme')
                    ORDER BY g.code, mb.user_id"
it_sql groups "SELECT code, name FROM groups WHERE brand_id = (SELECT id FROM brands WHERE code = 'acme') ORDER BY code"
it_sql dead_letters "SELECT coalesce (brand_code, ''), coalesce (msg_id, ''), reason FROM dead_letters ORDER BY msg_id, reason"

# 7. Backpressure: nobody drains the moderation hop, so once its queues are
# full ingest answers 429 with Retry-After instead of storing more.
big=$(head -c 30000 /dev/zero | tr '\0' 'x')
got429=""
for i in $(seq 1 100); do
    jq -nc --arg t "$big" --argjson i "$i" '{messages: [range(0; 20) as $k | {msgid: "bp\($i)-\($k)", from: "u1", roomid: "room3",
        msgtime: (1795202000000 + $i * 100 + $k), msgtype: "text", text: {content: $t}}]}' > "$QY_RUN/bp.json"
    code=$(curl -s -D "$QY_RUN/bp.headers" -o "$QY_RUN/bp.out" -w '%{http_code}' -X POST "$URL/v1/messages" --data-binary @"$QY_RUN/bp.json" "${A[@]}")
    if [ "$code" = 429 ]; then got429=$i; break; fi
    [ "$code" = 200 ] || { it_fail "backpressure batch $i answered $code"; break; }
done
if [ -n "$got429" ]; then
    echo "ok   429 after $got429 batches"
    it_eq "Retry-After header" "$(tr -d '\r' < "$QY_RUN/bp.headers" | awk -F': ' 'tolower($1) == "retry-after" {print $2}')" 1
    stored=$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE msg_id LIKE 'bp$got429-%'")
    it_eq "nothing of the refused batch stored" "$stored" 0
else
    it_fail "no 429 after 100 batches"
fi
it_eq "ingest health" "$(curl -fs "http://127.0.0.1:$H_ingest/health" | jq -r .status)" ok
it_eq "http 401 metric" "$(qy_metric "$H_ingest" 'qy_ingest_http_requests_total{code="401"}')" 4

# 8. A scanner without credentials: every refusal answered and counted, the log bounded
# (qy_log_limited: at most 10 lines a call site per 10 s, each saying how many it left out).
for i in $(seq 1 60); do curl -s -o /dev/null -X POST "$URL/v1/messages" --data-binary '{}'; done
it_eq "http 401 metric after the scanner" "$(qy_metric "$H_ingest" 'qy_ingest_http_requests_total{code="401"}')" 64
lines=$(grep -c 'msg="http refused" status=401' "$QY_RUN/logs/ingest.log" || true)
it_eq "401 lines at most two bursts ($lines for 64)" "$(( lines >= 1 && lines <= 2 * 10 ))" 1
it_done
