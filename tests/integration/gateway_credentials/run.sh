#!/usr/bin/env bash
# Gateways' HTTP credentials at rest and their rotation (docs/gateway.md,
# "Rotation"): an HMAC secret is never left in a plain row — qyctl seals it
# under the master key, and one added without the key (development) is
# sealed in place by ingest at its next reload; signatures still verify.
# Rotating a bearer token or a signing secret keeps the previous one valid
# until its not_after, then it is refused; the new one works throughout.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
MK=$QY_RUN/master.key
openssl rand -hex 32 > "$MK"
"$Q" brand create acme "Acme" >/dev/null
"$Q" store create acme s1 "一号店" >/dev/null
"$Q" group create acme room1 "会员群" --store s1 >/dev/null
# Without the master key (development): kept plain for now.
"$Q" gateway credential add acme plain-signer --hmac-file <(printf %s plain-secret-0123456789) >/dev/null
# With it: sealed at once.
QY_INGEST_GATEWAY_MASTER_KEY_FILE=$MK "$Q" gateway credential add acme signer --hmac-file <(printf %s old-secret-0123456789) >/dev/null
"$Q" gateway credential add acme gw --token-file <(printf %s old-token-0123456789) >/dev/null
row () { psql "$QY_PG_DSN" -qAtc "SELECT (secret IS NOT NULL) || ' ' || (secret_sealed IS NOT NULL) FROM gateway_credentials WHERE name = '$1'"; }
it_eq "added without the master key: plain" "$(row plain-signer)" "true false"
it_eq "added with the master key: sealed" "$(row signer)" "false true"

P_mf=$(qy_free_port); P_mb=$(qy_free_port)
export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$P_mf>tcp://127.0.0.1:$P_mb" QY_HTTP_BIND=127.0.0.1
export QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_mf" QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$(qy_free_port)"
export QY_INGEST_GATEWAY_HTTP_PORT=$(qy_free_port) QY_INGEST_GATEWAY_HTTP_BIND=127.0.0.1
export QY_INGEST_GATEWAY_CREDS_REFRESH_MS=300 QY_INGEST_GATEWAY_MASTER_KEY_FILE=$MK
H_bus=$(qy_free_port); H_ingest=$(qy_free_port)
QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$H_bus"
QY_HTTP_PORT=$H_ingest qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
qy_wait_health ingest "$H_ingest"
URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT/v1/messages"

n=0
body () { n=$((n + 1)); printf '{"messages":[{"msgid":"m%d","from":"u1","roomid":"room1","msgtime":%d000,"msgtype":"text","text":{"content":"hi"}}]}' "$n" "$(date +%s)" > "$QY_RUN/body.json"; }
bearer () { body; curl -s -o /dev/null -w '%{http_code}' -X POST "$URL" --data-binary "@$QY_RUN/body.json" -H "Authorization: Bearer $1"; }
signed () { body; local ts; ts=$(date +%s)
    local sig; sig=$({ printf '%s.' "$ts"; cat "$QY_RUN/body.json"; } | openssl dgst -sha256 -hmac "$2" | awk '{print $NF}')
    curl -s -o /dev/null -w '%{http_code}' -X POST "$URL" --data-binary "@$QY_RUN/body.json" \
        -H "X-Qy-Gateway: $1" -H "X-Qy-Timestamp: $ts" -H "X-Qy-Signature: sha256=$sig"; }

# 1. ingest seals the plain row in place; it still verifies.
sealed () { [ "$(row plain-signer)" = "false true" ]; }
it_wait "plain secret sealed by ingest" sealed
it_eq "sealed in place, signature" "$(signed plain-signer plain-secret-0123456789)" 200
it_eq "sealed with the master key, signature" "$(signed signer old-secret-0123456789)" 200
it_eq "no secret readable in PostgreSQL" "$(psql "$QY_PG_DSN" -qAtc "SELECT row_to_json (c) FROM gateway_credentials c" \
                                            | grep -c -e plain-secret -e old-secret -e old-token || true)" 0

# 2. Rotation: the previous token and secret work in the overlap, the new ones too.
"$Q" gateway credential rotate acme gw --token-file <(printf %s new-token-0123456789) --overlap-hours 1 >/dev/null
QY_INGEST_GATEWAY_MASTER_KEY_FILE=$MK "$Q" gateway credential rotate acme signer --hmac-file <(printf %s new-secret-0123456789) >/dev/null
it_eq "rotating a signer without the master key" "$(env -u QY_INGEST_GATEWAY_MASTER_KEY_FILE "$Q" gateway credential rotate acme signer --hmac-file <(printf %s another-secret-012345) >/dev/null 2>&1; echo $?)" 1
it_eq "rotating with the wrong kind" "$("$Q" gateway credential rotate acme gw --hmac-file <(printf %s another-secret-012345) >/dev/null 2>&1; echo $?)" 1
new_token_ok () { [ "$(bearer new-token-0123456789)" = 200 ]; }
it_wait "new token taken" new_token_ok
it_eq "old token in the overlap" "$(bearer old-token-0123456789)" 200
it_eq "new secret" "$(signed signer new-secret-0123456789)" 200
it_eq "old secret in the overlap" "$(signed signer old-secret-0123456789)" 200
it_eq "taken on a previous credential, counted" "$(qy_metric "$H_ingest" qy_ingest_http_auth_previous_total)" 2
it_eq "rotation audited" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM audit_log WHERE action = 'gateway.credential.rotate'")" 2
it_eq "still nothing readable" "$(psql "$QY_PG_DSN" -qAtc "SELECT row_to_json (c) FROM gateway_credentials c" \
                                   | grep -c -e new-secret -e old-secret -e new-token || true)" 0

# 3. Past not_after (moved to now: an hour is long for a test) the previous ones are refused.
psql "$QY_PG_DSN" -qc "UPDATE gateway_credentials SET prev_not_after = now () WHERE prev_not_after IS NOT NULL"
old_refused () { [ "$(bearer old-token-0123456789)" = 401 ]; }
it_wait "old token refused after not_after" old_refused
it_eq "old secret refused after not_after" "$(signed signer old-secret-0123456789)" 401
it_eq "new token after not_after" "$(bearer new-token-0123456789)" 200
it_eq "new secret after not_after" "$(signed signer new-secret-0123456789)" 200
it_eq "refusal says why" "$(grep -c 'credential rotated: the previous token or secret expired' "$QY_RUN/logs/ingest.log" | awk '{print ($1 >= 2)}')" 1
"$Q" gateway credential list acme --format csv | cut -d, -f1,2,3,7 > "$QY_RUN/actual/list.txt"
it_expect list
it_done
