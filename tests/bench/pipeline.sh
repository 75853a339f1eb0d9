#!/usr/bin/env bash
# The pipeline benchmark: the load generator drives a 20-store demo brand
# through all five services with real Redis and PostgreSQL, twice — flat
# out, and at a fixed rate — each on a fresh set of servers. It prints
# sustained events/s and the ingest→verdict latency (p50, p99) measured by
# moderation from the ingest timestamp each event carries, and what the
# stores cost per event (tests/bench/pipeline_costs.sh: Redis CPU and
# commands, script calls, PostgreSQL execution time and statements).
#   usage: tests/bench/pipeline.sh [BUILD_DIR]   (env: BENCH_MESSAGES, BENCH_RATE,
#          BENCH_MODERATION / BENCH_SCORING: replicas, BENCH_REDIS=split: moderation on a Redis of its own)
set -euo pipefail
BUILD=$(cd "${1:-$(dirname "$0")/../../build}" && pwd)
source "$(dirname "$0")/../../tools/lib/env.sh"
source "$(dirname "$0")/pipeline_costs.sh"
MESSAGES=${BENCH_MESSAGES:-200000}
RATE=${BENCH_RATE:-10000}

s_run () {   # s_run LABEL RATE MESSAGES
    local label=$1 rate=$2 msgs=$3
    export QY_RUN; QY_RUN=$(mktemp -d /tmp/qy-bench.XXXXXX); chmod 755 "$QY_RUN"
    trap 'qy_stop_all; rm -rf "$QY_RUN"; unset QY_MODERATION_REDIS_PORT' RETURN
    qy_start_pg "$QY_RUN"
    costs_enable
    local redis_ports=()
    if [ "${BENCH_REDIS:-}" = split ]; then
        #  Moderation's keys are its own (docs/operations.md, "One Redis per stage").
        qy_start_redis "$QY_RUN/moderation"; export QY_MODERATION_REDIS_PORT=$QY_REDIS_PORT; redis_ports+=("$QY_REDIS_PORT")
    fi
    qy_start_redis "$QY_RUN"; redis_ports+=("$QY_REDIS_PORT")
    "$BUILD/tools/qyctl/qyctl" migrate >/dev/null
    local gw; gw=$(qy_free_port)
    qy_start gatewaysim "$BUILD/tools/gatewaysim/qy-gatewaysim" --port "$gw"
    "$BUILD/tools/qyctl/qyctl" demo load --brand bench --stores 20 --groups 3 --gateway-url "http://127.0.0.1:$gw/v1/deliveries" >/dev/null
    qy_start_services "$BUILD" "${BENCH_MODERATION:-1}" "${BENCH_SCORING:-1}"
    local t0 t1 out accepted
    costs_start "${redis_ports[@]}"
    t0=$(date +%s.%N)
    out=$("$BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand bench --stores 20 --groups 3 \
          --members 120 --messages "$msgs" --rate "$rate" --batch 200 --window 8 --run "$label" | tail -1)
    accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
    for _ in $(seq 3000); do
        [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$accepted" ] && break; sleep 0.1
    done
    t1=$(date +%s.%N)
    local p50 p99    # from the histogram's buckets (interpolated, as histogram_quantile)
    p50=$(awk -v s="$(qy_metric_quantile "$QY_HTTP_moderation1" qy_ingest_to_verdict_seconds 0.5)" 'BEGIN {print s * 1000}')
    p99=$(awk -v s="$(qy_metric_quantile "$QY_HTTP_moderation1" qy_ingest_to_verdict_seconds 0.99)" 'BEGIN {print s * 1000}')
    local ingest_rate; ingest_rate=$(sed -E 's/.* = ([0-9]+) events\/s.*/\1/' <<<"$out")
    awk -v l="$label" -v a="$accepted" -v t="$(echo "$t1 - $t0" | bc -l)" -v i="$ingest_rate" -v p50="$p50" -v p99="$p99" -v r="$rate" \
        'BEGIN { printf "%-9s offered=%s ev/s  accepted=%d  ingest=%d ev/s  end-to-end sustained=%.0f ev/s  ingest→verdict p50=%.2f ms p99=%.2f ms\n", l, (r == 0 ? "max" : r), a, i, a / t, p50, p99 }'
    costs_print "$accepted" "${redis_ports[@]}"
}

echo "pipeline benchmark: $(nproc) cores, $MESSAGES chat messages per run (plus joins, floods, duplicates)"
s_run flat-out 0 "$MESSAGES"
s_run "rate-$RATE" "$RATE" "$((RATE * 10))"
