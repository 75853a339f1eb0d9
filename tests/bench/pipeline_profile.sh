#!/usr/bin/env bash
# Where the pipeline's time goes: one flat-out run of the pipeline benchmark's
# workload on fresh servers, printing
#   - each stage's events counter once a second (the stage that lags sets the pace),
#   - moderation's time per batch phase (qy_moderation_batch_seconds_total),
#   - Redis CPU per command and script (INFO commandstats),
#   - PostgreSQL time per statement (pg_stat_statements, loaded for this run only),
#   - what the stores cost per event (pipeline_costs.sh).
#   usage: tests/bench/pipeline_profile.sh [BUILD_DIR] [MESSAGES]   (default 100000)
#          env BENCH_REDIS=split: moderation on a Redis of its own (its commands listed apart);
#          BENCH_STORES / BENCH_GROUPS / BENCH_MEMBERS / BENCH_DAY_GROUPS: the layout, as pipeline.sh
#          (100,000 groups: BENCH_STORES=10000 BENCH_GROUPS=10 BENCH_DAY_GROUPS=60)
set -euo pipefail
source "$(dirname "$0")/../../tools/lib/env.sh"
qy_script_args 2 "$@"
BUILD=$(cd "${1:-$(dirname "$0")/../../build}" && pwd)
MESSAGES=${2:-100000}
N_STORES=${BENCH_STORES:-20} N_GROUPS=${BENCH_GROUPS:-3} N_MEMBERS=${BENCH_MEMBERS:-120}
source "$(dirname "$0")/../../tools/lib/env.sh"
source "$(dirname "$0")/pipeline_costs.sh"
export QY_RUN; QY_RUN=$(mktemp -d /tmp/qy-profile.XXXXXX); chmod 755 "$QY_RUN"
trap 'qy_stop_all; rm -rf "$QY_RUN"' EXIT
qy_start_pg "$QY_RUN"
redis_ports=()
if [ "${BENCH_REDIS:-}" = split ]; then
    qy_start_redis "$QY_RUN/moderation"; export QY_MODERATION_REDIS_PORT=$QY_REDIS_PORT; redis_ports+=("$QY_REDIS_PORT")
fi
qy_start_redis "$QY_RUN"; redis_ports+=("$QY_REDIS_PORT")
costs_enable
"$BUILD/tools/qyctl/qyctl" migrate >/dev/null
gw=$(qy_free_port)
qy_start gatewaysim "$BUILD/tools/gatewaysim/qy-gatewaysim" --port "$gw"
"$BUILD/tools/qyctl/qyctl" demo load --brand bench --stores "$N_STORES" --groups "$N_GROUPS" --gateway-url "http://127.0.0.1:$gw/v1/deliveries" >/dev/null
qy_start_services "$BUILD" 1 1
costs_start "${redis_ports[@]}"

counters () {
    printf 't=%6.1fs ingest=%s moderation=%s scoring=%s campaign=%s due_deliveries=%s\n' "$(echo "$(date +%s.%N) - $t0" | bc -l)" \
        "$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')" \
        "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" "$(qy_metric "$QY_HTTP_scoring1" qy_scoring_events_total)" \
        "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" \
        "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= now ()")"
}
t0=$(date +%s.%N)
( while sleep 1; do counters; done ) & sampler=$!
"$BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand bench --stores "$N_STORES" --groups "$N_GROUPS" \
    --members "$N_MEMBERS" ${BENCH_DAY_GROUPS:+--day-groups "$BENCH_DAY_GROUPS"} --messages "$MESSAGES" --rate 0 --batch 200 --window 8 --run profile | tail -1
accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
for _ in $(seq 3000); do
    [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$accepted" ] && break; sleep 0.1
done
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
printf '\n%d events end to end in %.1f s\n' "$accepted" "$(echo "$(date +%s.%N) - $t0" | bc -l)"
echo "store cost per event:"
costs_print "$accepted" "${redis_ports[@]}"

echo; echo "moderation, time per batch phase (s):"
curl -fs "http://127.0.0.1:$QY_HTTP_moderation1/metrics" \
    | awk -F'[{}" ]+' '/^qy_moderation_batch_seconds_total/ { printf "  %-8s %6.2f\n", $3, $4 }'
for p in "${redis_ports[@]}"; do
echo; echo "Redis :$p$([ "$p" = "${QY_MODERATION_REDIS_PORT:-}" ] && echo " (moderation's)"), CPU per command (top 12):"
redis-cli -p "$p" INFO commandstats | tr -d '\r' | awk -F'[:,=]' '/^cmdstat_/ {
    printf "  %-24s calls=%-9d total=%8.2f s  per_call=%6.2f us\n", substr($1, 9), $3, $5 / 1e6, $7 }' \
    | sort -t= -k3 -g -r | head -12
done
echo; echo "PostgreSQL, time per statement (top 12):"
psql "$QY_PG_DSN" -qAtF $'\t' -c "SELECT calls, round (total_exec_time::numeric / 1000, 2), round ((total_exec_time / calls)::numeric, 3),
                                          left (regexp_replace (query, '\s+', ' ', 'g'), 80)
                                   FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" \
    | awk -F'\t' '{ printf "  calls=%-7s total=%7s s  mean=%8s ms  %s\n", $1, $2, $3, $4 }'
