#!/usr/bin/env bash
# qy-wecom's two speeds (numbers, not assertions; docs/benchmarks.md):
#  1. callbacks answered: qy-wecomsim --load sends CALLBACKS encrypted
#     add_member callbacks at RATE a second to one connector and prints the
#     answer latencies (p50, p99: target ≤ 100 ms p99 at 500/s), then how
#     long the forwarding to ingest took to catch up;
#  2. the chat archive into ingest: the stand-in Finance SDK serves ARCHIVE
#     messages; messages a second from start to the cursor at the end
#     (target ≥ 5,000/s), and the CPU seconds qy-wecom and ingest spent per
#     1,000 messages (utime + stime from /proc/PID/stat: what a loaded
#     machine does not distort, unlike the rate), and PostgreSQL's;
#  3. the archive's delay: the stand-in's archive grows at LIVE_RATE a
#     second for LIVE_S seconds; qy_wecom_archive_delay_seconds (msgtime to
#     hand-over) with archive.poll_ms at its default (1 s).
#   usage: tests/bench/wecom/bench_wecom.sh [BUILD_DIR] [CALLBACKS] [RATE] [ARCHIVE]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
source "$root/tools/lib/env.sh"
qy_script_args 4 "$@"
build=$(cd "${1:-$root/build}" && pwd); CALLBACKS=${2:-5000}; RATE=${3:-500}; ARCHIVE=${4:-50000}
source "$root/tests/bench/lib.sh"
bench_setup wecom "$build" 1
V=$root/tests/lib/wecom_vector.sh
KEY43=$("$V" key)
openssl rand -hex 32 > "$QY_RUN/master.key"; export QY_WECOM_MASTER_KEY_FILE=$QY_RUN/master.key
openssl genrsa -out "$QY_RUN/archive.pem" 2048 2>/dev/null; openssl rsa -in "$QY_RUN/archive.pem" -pubout -out "$QY_RUN/archive.pub" 2>/dev/null
echo "$KEY43" > "$QY_RUN/aes"; echo benchtoken > "$QY_RUN/token"; echo s > "$QY_RUN/secret"; echo a > "$QY_RUN/asecret"
"$QYCTL" wecom set bench --corp-id wwBench --agent-id 1 --token-file "$QY_RUN/token" --aes-key-file "$QY_RUN/aes" \
    --secret-file "$QY_RUN/secret" --archive-key-file "$QY_RUN/archive.pem" --archive-secret-file "$QY_RUN/asecret" >/dev/null

P_mf=$(qy_free_port); P_mb=$(qy_free_port)
export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$P_mf>tcp://127.0.0.1:$P_mb" QY_HTTP_BIND=127.0.0.1 QY_BUS_ZMQ_HWM=500000
export QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$P_mf" QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$(qy_free_port)" QY_INGEST_ZMQ_HWM=500000
export QY_INGEST_GATEWAY_HTTP_PORT=$(qy_free_port) QY_INGEST_GATEWAY_HTTP_BIND=127.0.0.1
H=$(qy_free_port); QY_HTTP_PORT=$H qy_start bus "$build/services/bus/qy-bus"; qy_wait_health bus "$H"
H=$(qy_free_port); QY_HTTP_PORT=$H qy_start ingest "$build/services/ingest/qy-ingest"; qy_wait_health ingest "$H"
SIM=$(qy_free_port)
qy_start wecomsim "$build/tools/wecomsim/qy-wecomsim" --port "$SIM" --corp wwBench
for _ in $(seq 50); do curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" >/dev/null && break; sleep 0.1; done
curl -fs -X POST "http://127.0.0.1:$SIM/sim/group" --data-binary '{"chat_id":"g1","name":"群1","owner":"zhang","member_list":[{"userid":"zhang","type":1}]}' >/dev/null
export QY_WECOM_API_BASE="http://127.0.0.1:$SIM" QY_WECOM_INGEST_URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT" QY_WECOM_LOG_LEVEL=warn
W=$(qy_free_port)
QY_HTTP_PORT=$W qy_start wecom "$build/services/wecom/qy-wecom"; qy_wait_health wecom "$W"

echo "== callbacks: $CALLBACKS at $RATE/s"
"$build/tools/wecomsim/qy-wecomsim" --load "$CALLBACKS" --rate "$RATE" --chat g1 --corp wwBench \
    --callback-url "http://127.0.0.1:$W/wecom/bench/callback" --cb-token benchtoken --cb-aes-key "$KEY43" || true
t0=$(date +%s.%N)
while [ "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks WHERE status = 'pending'")" != 0 ]; do sleep 0.2; done
echo "forwarded to ingest: all $(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks WHERE status = 'done'") done $(echo "$(date +%s.%N) - $t0" | bc) s after the last answer"
echo "server-side answer time: p99 $(qy_metric_quantile "$W" qy_wecom_callback_seconds 0.99) s (from the histogram's buckets)"
kill -TERM "$QY_PID_wecom"; while kill -0 "$QY_PID_wecom" 2>/dev/null; do sleep 0.1; done

echo "== archive: $ARCHIVE messages"
export QY_WECOM_ARCHIVE_SDK_PATH="$build/tests/wecom_sdk/libWeWorkFinanceSdk_C.so" QY_FAKESDK_PUBKEY=$QY_RUN/archive.pub
export QY_FAKESDK_COUNT=$ARCHIVE QY_FAKESDK_ROOM=g1 QY_FAKESDK_T0_MS=$(( ($(date +%s) - 600) * 1000 ))
# cpu PID: CPU seconds the process has used (utime + stime, fields 14 and 15; its name has no spaces).
cpu () { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
# pg_cpu: PostgreSQL's, the postmaster with the children it reaped (16, 17) and those alive.
pg_cpu () {
    local pm; pm=$(head -1 "$QY_RUN/pg/postmaster.pid")
    { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
      for c in $(cat "/proc/$pm/task/$pm/children"); do awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || true; done
    } | awk -v hz="$(getconf CLK_TCK)" '{ s += $1 } END { printf "%.2f\n", s / hz }'
}
ingest_cpu0=$(cpu "$QY_PID_ingest"); pg_cpu0=$(pg_cpu)
t0=$(date +%s.%N)
QY_HTTP_PORT=$W qy_start wecom_archive "$build/services/wecom/qy-wecom"
until [ "$(psql "$QY_PG_DSN" -qAt -c "SELECT coalesce (max (seq), 0) FROM wecom_archive_cursor")" -ge "$ARCHIVE" ]; do sleep 0.1; done
secs=$(echo "$(date +%s.%N) - $t0" | bc)
# ingest hands the last batch to the bus after its answer: wait until its messages are all archived.
until [ "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM messages WHERE msg_id LIKE 'fake-%'")" -ge "$ARCHIVE" ]; do sleep 0.1; done
wecom_cpu=$(cpu "$QY_PID_wecom_archive"); ingest_cpu=$(echo "$(cpu "$QY_PID_ingest") - $ingest_cpu0" | bc)
pg_cpu1=$(echo "$(pg_cpu) - $pg_cpu0" | bc)
echo "archive: $ARCHIVE messages into ingest in $secs s = $(echo "$ARCHIVE / $secs" | bc) messages/s (RSA keys: one per 100 messages, as the stand-in serves them)"
echo "archive CPU per 1,000 messages: qy-wecom $(echo "scale=3; $wecom_cpu * 1000 / $ARCHIVE" | bc) s, ingest $(echo "scale=3; $ingest_cpu * 1000 / $ARCHIVE" | bc) s (qy-wecom ${wecom_cpu} s with its start-up, ingest ${ingest_cpu} s); PostgreSQL $(echo "scale=3; $pg_cpu1 * 1000 / $ARCHIVE" | bc) s (with the polling psql's)"
kill -TERM "$QY_PID_wecom_archive"; while kill -0 "$QY_PID_wecom_archive" 2>/dev/null; do sleep 0.1; done

LIVE_RATE=${LIVE_RATE:-200}; LIVE_S=${LIVE_S:-20}
echo "== archive delay: $LIVE_RATE messages/s for $LIVE_S s, archive.poll_ms 1000"
psql "$QY_PG_DSN" -qc "UPDATE wecom_archive_cursor SET seq = 0" >/dev/null
export QY_FAKESDK_RATE=$LIVE_RATE QY_FAKESDK_COUNT=$((LIVE_RATE * LIVE_S)) QY_FAKESDK_ROOM=g1 QY_FAKESDK_T0_MS=$(( $(date +%s%3N) + 2000 ))
unset QY_WECOM_ARCHIVE_POLL_MS
QY_HTTP_PORT=$W qy_start wecom_live "$build/services/wecom/qy-wecom"
until [ "$(psql "$QY_PG_DSN" -qAt -c "SELECT coalesce (max (seq), 0) FROM wecom_archive_cursor")" -ge $((LIVE_RATE * LIVE_S)) ]; do sleep 0.2; done
echo "delay msgtime → ingest: p50 $(qy_metric_quantile "$W" qy_wecom_archive_delay_seconds 0.5) s, p99 $(qy_metric_quantile "$W" qy_wecom_archive_delay_seconds 0.99) s"
