#!/usr/bin/env bash
# ingest's ZeroMQ door with CURVE (docs/gateway.md): ingest runs with its
# own secret key; gateways get key pairs from `qyctl gatekey create`, each
# bound to a brand. A known key is admitted and its brand's events are
# stored; an unknown key never completes the handshake and is counted
# (metric and a log line without secrets); acme's key cannot inject for
# other (the batch is refused whole, dead-lettered, nothing stored); a
# plain (non-CURVE) client gets nothing in; a key revoked while its
# connection stays open is refused from the next reload on.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
"$Q" brand create acme "Acme" >/dev/null
"$Q" brand create other "Other" >/dev/null
for b in acme other; do
    "$Q" store create $b s1 "一号店" >/dev/null
    "$Q" group create $b room1 "会员群" --store s1 >/dev/null
done
K=$QY_RUN/keys; mkdir -p "$K"
# ingest's own pair (nothing stored) and one pair per gateway (public key stored).
INGEST_PUBLIC=$("$Q" gatekey keypair --secret-file "$K/ingest.key" | awk '{print $NF}')
"$Q" gatekey create acme acme-gw --secret-file "$K/acme.key" >/dev/null
"$Q" gatekey create other other-gw --secret-file "$K/other.key" >/dev/null
"$Q" gatekey keypair --secret-file "$K/stranger.key" >/dev/null
it_eq "secret file mode" "$(stat -c %a "$K/acme.key")" 600
it_eq "secret not stored" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM gateway_keys WHERE public_key = '$(head -1 "$K/acme.key")'")" 0
it_eq "create refuses an existing file" "$("$Q" gatekey create acme acme-gw2 --secret-file "$K/acme.key" >/dev/null 2>&1; echo $?)" 1
it_eq "create refuses --secret-file with --stdout" "$("$Q" gatekey create acme x --stdout --secret-file "$K/x.key" >/dev/null 2>&1; echo $?)" 2
# The key deploy/make-secrets.sh makes for compose is one ingest can use.
sh "$IT_CASE/../../../deploy/make-secrets.sh" "$QY_RUN/secrets" >/dev/null
it_eq "make-secrets' CURVE key" "$("$Q" gatekey public --secret-file "$QY_RUN/secrets/ingest_curve.key" | wc -c)" 41
"$Q" gatekey list acme --format csv | cut -d, -f1,3 > "$QY_RUN/actual/list.txt"
it_expect list

P_mf=$(qy_free_port); P_mb=$(qy_free_port)
export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$P_mf>tcp://127.0.0.1:$P_mb" QY_HTTP_BIND=127.0.0.1
export QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_mf" QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$(qy_free_port)"
export QY_INGEST_GATEWAY_HTTP=false QY_INGEST_GATEWAY_CREDS_REFRESH_MS=300
export QY_INGEST_GATEWAY_CURVE_SECRET_KEY_FILE=$K/ingest.key
export QY_INGEST_ENDPOINT=$QY_INGEST_ZMQ_GATEWAY QY_INGEST_PUBLIC_KEY=$INGEST_PUBLIC
H_bus=$(qy_free_port); H_ingest=$(qy_free_port)
QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$H_bus"
QY_HTTP_PORT=$H_ingest qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest "$H_ingest"
it_eq "ingest's secret key is not logged" "$(grep -cF -e "$(head -1 "$K/ingest.key")" "$QY_RUN/logs/ingest.log" || true)" 0

ev () { printf '{"brand":"%s","msg_id":"%s","group":"room1","member":"u1","kind":"text","text":"hi","t":0}\n' "$1" "$2"; }
# send NAME KEYFILE [more qyctl args]: the Acks in actual/NAME.jsonl, qyctl's status on stdout.
send () { local name=$1 key=$2; shift 2
    "$Q" send --strict --curve-secret-file "$key" --timeout-ms 3000 "$@" > "$QY_RUN/actual/$name.jsonl" 2>/dev/null; echo $?; }
stored () { psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE msg_id = '$1'"; }
refused () { qy_metric "$H_ingest" "qy_ingest_gateway_refused_total{reason=\"$1\"}"; }

# 1. A known key, its own brand: admitted and stored.
{ ev acme a1; ev acme a2; } > "$QY_RUN/acme.jsonl"
it_eq "known key status" "$(send known "$K/acme.key" "$QY_RUN/acme.jsonl")" 0
it_eq "known key ack" "$(jq -r '[.ok, (.results[] | .status)] | join(" ")' "$QY_RUN/actual/known.jsonl")" "true accepted accepted"
it_eq "known key stored" "$(stored a1)$(stored a2)" 11
ev other o1 > "$QY_RUN/other.jsonl"
it_eq "other's own key stored" "$(send other_own "$K/other.key" "$QY_RUN/other.jsonl")$(stored o1)" "01"

# 2. An unknown key: no handshake, no Ack, nothing stored; counted and logged without secrets.
ev acme s1 > "$QY_RUN/stranger.jsonl"
it_eq "unknown key gets no answer" "$(send stranger "$K/stranger.key" "$QY_RUN/stranger.jsonl")" 1
it_eq "unknown key stored" "$(stored s1)" 0
unknown_counted () { [ "$(refused unknown_key)" -ge 1 ]; }
it_wait "unknown key counted" unknown_counted
it_eq "unknown key logged" "$(grep -c "gateway connection refused: unknown CURVE key.*public_key=" "$QY_RUN/logs/ingest.log" | awk '{print ($1 >= 1)}')" 1
it_eq "no secret key in the log" "$(grep -cF -e "$(head -1 "$K/stranger.key")" -e "$(head -1 "$K/acme.key")" "$QY_RUN/logs/ingest.log" || true)" 0

# 3. A plain client (no CURVE) on a CURVE door: nothing gets in.
it_eq "plain client gets no answer" "$("$Q" send --timeout-ms 2000 "$QY_RUN/stranger.jsonl" >/dev/null 2>&1; echo $?)" 1

# 4. acme's key cannot inject for other: the batch is refused whole and dead-lettered.
{ ev acme a3; ev other x1; } > "$QY_RUN/cross.jsonl"
it_eq "cross-brand status" "$(send cross "$K/acme.key" "$QY_RUN/cross.jsonl")" 3
jq -r '"\(.ok) \(.error)"' "$QY_RUN/actual/cross.jsonl" > "$QY_RUN/actual/cross.txt"
it_expect cross
it_eq "cross-brand stored" "$(stored a3)$(stored x1)" 00
it_eq "cross-brand counted" "$(refused other_brand)" 1
it_eq "cross-brand dead letter" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM dead_letters d JOIN brands b ON b.id = d.brand_id
                                   WHERE d.service = 'ingest' AND b.code = 'acme' AND d.reason LIKE 'gateway key acme-gw is brand acme''s%'")" 1

# 5. Revoked: a new connection is refused at the handshake, within one reload.
"$Q" gatekey revoke acme acme-gw >/dev/null
it_eq "revoke another brand's key" "$("$Q" gatekey revoke acme other-gw >/dev/null 2>&1; echo $?)" 1
sleep 1
ev acme a4 > "$QY_RUN/revoked.jsonl"
it_eq "revoked key gets no answer" "$(send revoked "$K/acme.key" "$QY_RUN/revoked.jsonl")" 1
it_eq "revoked key stored" "$(stored a4)" 0
revoked_counted () { [ "$(refused revoked_key)" -ge 1 ]; }
it_wait "revoked key counted" revoked_counted
ev other o2 > "$QY_RUN/o2.jsonl"
it_eq "other's key still admitted" "$(send o2 "$K/other.key" "$QY_RUN/o2.jsonl")$(stored o2)" "01"
curl -fs "http://127.0.0.1:$H_ingest/metrics" > "$QY_RUN/metrics.txt"
if command -v promtool >/dev/null; then
    it_eq "promtool check metrics" "$(promtool check metrics < "$QY_RUN/metrics.txt" >/dev/null 2>&1; echo $?)" 0
fi
it_done
