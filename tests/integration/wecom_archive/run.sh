#!/usr/bin/env bash
# The chat archive through the Finance SDK: qy-wecom loads the stand-in
# library (tests/wecom_sdk, dlopen as the vendor's would be) serving 50,000
# RSA-keyed messages of every type; the connector is killed with SIGKILL
# mid-way and started again. Every message must be in ingest's archive
# exactly once: no gap, no duplicate. The delay metric is read out.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
COUNT=${QY_WECOM_ARCHIVE_COUNT:-50000}
"$Q" brand create acme "Acme" >/dev/null
"$Q" store create acme s1 "一号店" >/dev/null
"$Q" group create acme wrA "一号店会员群" --store s1 >/dev/null
openssl genrsa -out "$QY_RUN/archive.pem" 2048 2>/dev/null
openssl rsa -in "$QY_RUN/archive.pem" -pubout -out "$QY_RUN/archive.pub" 2>/dev/null
openssl rand -hex 32 > "$QY_RUN/master.key"
"$IT_CASE/../../lib/wecom_vector.sh" key > "$QY_RUN/aes"
echo tok > "$QY_RUN/token"; echo app-secret > "$QY_RUN/secret"; echo archive-secret > "$QY_RUN/asecret"
export QY_WECOM_MASTER_KEY_FILE=$QY_RUN/master.key
"$Q" wecom set acme --corp-id wwSimCorp --agent-id 1 --token-file "$QY_RUN/token" --aes-key-file "$QY_RUN/aes" \
    --secret-file "$QY_RUN/secret" --archive-key-file "$QY_RUN/archive.pem" --archive-secret-file "$QY_RUN/asecret" >/dev/null

export QY_BUS_ZMQ_HWM=200000 QY_INGEST_ZMQ_HWM=200000
it_ingest_http

export QY_WECOM_INGEST_URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT" QY_WECOM_API_BASE="http://127.0.0.1:1"
export QY_WECOM_ARCHIVE_SDK_PATH="$QY_BUILD/tests/wecom_sdk/libWeWorkFinanceSdk_C.so" QY_WECOM_ARCHIVE_POLL_MS=100
export QY_FAKESDK_PUBKEY=$QY_RUN/archive.pub QY_FAKESDK_COUNT=$COUNT QY_FAKESDK_ROOM=wrA QY_FAKESDK_T0_MS=$(( ($(date +%s) - 3600) * 1000 ))
cursor () { psql "$QY_PG_DSN" -qAt -c "SELECT coalesce (max (seq), 0) FROM wecom_archive_cursor"; }
W=$(qy_free_port)
t0=$(date +%s.%N)
QY_HTTP_PORT=$W qy_start wecom "$QY_BUILD/services/wecom/qy-wecom"
qy_wait_health wecom "$W"

# Half-way, kill -9: whatever batch was in flight is pulled again.
half=$((COUNT * 2 / 5))
it_wait "the cursor past $half" sh -c "[ \$(psql '$QY_PG_DSN' -qAt -c 'SELECT coalesce (max (seq), 0) FROM wecom_archive_cursor') -ge $half ]"
kill -KILL "$QY_PID_wecom"
echo "killed at cursor $(cursor)"
QY_HTTP_PORT=$W qy_start wecom_again "$QY_BUILD/services/wecom/qy-wecom"
qy_wait_health wecom_again "$W"
for _ in $(seq 600); do [ "$(cursor)" -ge "$COUNT" ] && break; sleep 0.2; done
t1=$(date +%s.%N)
it_eq "cursor at the end" "$(cursor)" "$COUNT"
# revoke messages refer back; every seq is one archived event (mixed folded into text).
it_eq "no gap, no duplicate" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count (*), count (DISTINCT msg_id),
    count (*) FILTER (WHERE substr (msg_id, 6)::int NOT BETWEEN 1 AND $COUNT) FROM messages WHERE msg_id LIKE 'fake-%'")" "$COUNT|$COUNT|0"
it_sql kinds "SELECT kind, count (*) > 0 FROM messages WHERE msg_id LIKE 'fake-%' GROUP BY kind ORDER BY kind"
it_eq "skipped or undecryptable" "$(qy_metric "$W" qy_wecom_archive_undecryptable_total)" 0
echo "archive: $COUNT messages in $(echo "$t1 - $t0" | bc) s (including the restart); mean delay $(curl -fs "http://127.0.0.1:$W/metrics" |
    awk '$1 == "qy_wecom_archive_delay_seconds_sum" { s = $2 } $1 == "qy_wecom_archive_delay_seconds_count" { c = $2 }
         END { printf "%.0f", c ? s / c : 0 }') s (the fake archive's messages start an hour back)"
it_done
