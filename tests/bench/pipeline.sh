#!/usr/bin/env bash
# The pipeline benchmark: the load generator drives a 20-store demo brand
# through all five services with real Redis and PostgreSQL, twice — flat
# out, and at a fixed rate — each on a fresh set of servers. It prints
# sustained events/s and the ingest→verdict latency (p50, p99) measured by
# moderation from the ingest timestamp each event carries, and what the
# stores cost per event (tests/bench/pipeline_costs.sh: Redis CPU and
# commands, script calls, PostgreSQL execution time and statements).
#   usage: tests/bench/pipeline.sh [BUILD_DIR]   (env: BENCH_MESSAGES, BENCH_RATE,
#          BENCH_MODERATION / BENCH_SCORING: replicas, BENCH_REDIS=split: moderation on a Redis of its own,
#          BENCH_REDIS=cluster: a Redis Cluster of 3 masters with a replica each,
#          BENCH_STORES / BENCH_GROUPS (per store) / BENCH_MEMBERS (per group): the brand's layout, default 20 × 3 × 120,
#          BENCH_DAY_GROUPS=R: joins, staff posts and floods as R groups make them (qy-loadgen --day-groups),
#          BENCH_STATEMENTS=N: PostgreSQL's N costliest statements per event listed, default 8,
#          BENCH_INDEXES=1: the indexes the run wrote and never read,
#          BENCH_COMMANDS=1: each Redis command's calls and µs per event,
#          BENCH_WARM=1: each run measured on a warm store: the same layout's day two days earlier is
#          sent flat out and drained first (its members, memberships, channels and the state of the
#          days before in PostgreSQL and Redis), then the services are restarted and the measured
#          day sent, so the figures are one day's, as after weeks of running rather than a first day)
# After each run it prints every service's resident memory, Redis's and PostgreSQL's.
set -euo pipefail
source "$(dirname "$0")/../../tools/lib/env.sh"
qy_script_args 1 "$@"
BUILD=$(cd "${1:-$(dirname "$0")/../../build}" && pwd)
source "$(dirname "$0")/pipeline_costs.sh"
MESSAGES=${BENCH_MESSAGES:-200000}
RATE=${BENCH_RATE:-10000}
N_STORES=${BENCH_STORES:-20} N_GROUPS=${BENCH_GROUPS:-3} N_MEMBERS=${BENCH_MEMBERS:-120}   # groups per store, members per group

# CPU per event of each stage (process_cpu_seconds_total), of Redis (INFO cpu, every node) and of
# PostgreSQL (its live processes), for the capacity model (docs/scaling.md).
s_cpu () {
    local events=$1 line="" name port cpu redis=0 pg
    for name in bus ingest moderation1 scoring1 campaign notifier; do
        eval "port=\${QY_HTTP_$name:-}"; [ -n "$port" ] || continue
        cpu=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '$1 == "process_cpu_seconds_total" { print $2 }')
        line="$line ${name%1}=$(awk -v c="$cpu" -v n="$events" 'BEGIN { printf "%.0f", c * 1e6 / n }')"
    done
    for port in ${QY_REDIS_CLUSTER_PORTS:-$QY_REDIS_PORT}; do
        cpu=$(s_costs_redis_cpu "$port")
        redis=$(awk -v a="$redis" -v b="$cpu" -v z="${COSTS_CPU0[$port]:-0}" 'BEGIN { print a + b - z }')   # since costs_start
    done
    pg=$(costs_pg_cpu | awk '{ s += $2 } END { print s + 0 }')
    echo "          CPU µs per event:$line redis=$(awk -v c="$redis" -v n="$events" 'BEGIN { printf "%.0f", c * 1e6 / n }') postgres=$(awk -v c="$pg" -v n="$events" 'BEGIN { printf "%.0f", c * 1e6 / n }') (live processes)"
    echo "          PostgreSQL CPU µs per event by connection:$(costs_pg_cpu | awk -v n="$events" '
        { c [$1] += $2 } END { for (k in c) printf " %s=%.1f", k, c [k] * 1e6 / n }' | tr ' ' '\n' | sort | tr '\n' ' ')"
}

# Memory at the end of a run, for docs/scaling.md: each service's resident set
# (process_resident_memory_bytes from its /metrics) and its peak (VmHWM), Redis's
# used_memory (every Redis given: split and cluster included), PostgreSQL's shared_buffers
# and its processes' private memory (RssAnon summed: shared pages would be counted once per process).
s_memory () {   # s_memory REDIS_PORT…
    local line="" name port pid rss peak redis=0 pg_anon
    for name in bus ingest $(compgen -v QY_HTTP_moderation) $(compgen -v QY_HTTP_scoring) campaign notifier; do
        name=${name#QY_HTTP_}; eval "port=\${QY_HTTP_$name:-} pid=\${QY_PID_$name:-}"; [ -n "$port" ] || continue
        rss=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '$1 == "process_resident_memory_bytes" { printf "%.1f", $2 / 1048576 }')
        peak=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || true)
        line="$line $name=${rss:-?}(peak ${peak:-?})"
    done
    for port in "$@"; do
        redis=$(( redis + $(redis-cli -p "$port" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }') ))
    done
    # (a backend may end between pgrep and the read: not an error)
    pg_anon=$(for pid in $(pgrep -f "postgres.*$QY_RUN/pg") $(pgrep -P "$(head -1 "$QY_RUN/pg/postmaster.pid")"); do
                  awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true; done | sort -u | awk '{ s += $1 } END { printf "%.1f", s / 1024 }')
    echo "          resident MB (peak):$line  load average $(cut -d" " -f1-3 /proc/loadavg)"
    echo "          redis used_memory=$(awk -v b="$redis" 'BEGIN { printf "%.1f", b / 1048576 }') MB  postgres shared_buffers=$(psql "$QY_PG_DSN" -qAtc 'SHOW shared_buffers') private=$pg_anon MB"
}

# Moderation's batches (docs/benchmarks.md, "Where the time goes"): events per batch, each
# phase's milliseconds and PostgreSQL round trips per batch, the share of the run its phases took,
# and ingest acceptance → the start of the judging batch (ingest's commit, the bus hop, the wait
# behind the batch before) beside ingest's commit alone and its round trips.
s_batches () {   # s_batches SECONDS
    local port=$QY_HTTP_moderation1 a50 a99 c50 c99
    a50=$(qy_metric_quantile "$port" qy_moderation_arrival_seconds 0.5)
    a99=$(qy_metric_quantile "$port" qy_moderation_arrival_seconds 0.99)
    c50=$(qy_metric_quantile "$QY_HTTP_ingest" qy_ingest_commit_seconds 0.5)
    c99=$(qy_metric_quantile "$QY_HTTP_ingest" qy_ingest_commit_seconds 0.99)
    local commits itrips
    commits=$(qy_metric "$QY_HTTP_ingest" qy_ingest_commit_seconds_count)
    itrips=$(qy_metric "$QY_HTTP_ingest" qy_ingest_pg_round_trips_total)
    curl -fs "http://127.0.0.1:$port/metrics" | awk -v a50="$a50" -v a99="$a99" -v c50="$c50" -v c99="$c99" -v t="$1" \
        -v commits="$commits" -v itrips="$itrips" '
        $1 == "qy_moderation_batches_total" { b = $2 }
        $1 == "qy_moderation_events_total" { e = $2 }
        $1 == "qy_moderation_pg_round_trips_total" { rt = $2 }
        $1 == "qy_moderation_chores_seconds_total" { ch = $2 }
        index($1, "qy_moderation_batch_seconds_total{") == 1 { split($1, f, "\""); ph[++k] = f[2]; s[f[2]] = $2; busy += $2 }
        END { if (!b) exit
              line = sprintf("          moderation: %d batches, %.1f events per batch, %.2f PostgreSQL round trips per batch; ms per batch:", b, e / b, rt / b)
              for (i = 1; i <= k; i++) line = line sprintf(" %s=%.2f", ph[i], s[ph[i]] * 1000 / b)
              printf "%s (phases busy %.0f %% of the run; chores every 2 s: %.2f ms each)\n", line, busy * 100 / t, ch * 1000 / (t / 2)
              printf "          ingest acceptance → batch start p50=%.2f ms p99=%.2f ms; ingest commit p50=%.2f ms p99=%.2f ms, %.2f PostgreSQL round trips per commit\n", a50 * 1000, a99 * 1000, c50 * 1000, c99 * 1000, commits ? itrips / commits : 0 }'
    # The notifier's deliveries by how they were taken to send (docs/gateway.md, "Claimed by its
    # insert"), and how often a limit held one back.
    curl -fs "http://127.0.0.1:$QY_HTTP_notifier/metrics" | awk '
        index($1, "qy_notifier_taken_total{") == 1 { split($1, f, "\""); by[f[2]] = $2 }
        index($1, "qy_notifier_held_total{") == 1 { held += $2 }
        END { printf "          notifier: deliveries taken by their insert=%d by a claim=%d; held back %d times\n", by["insert"], by["claim"], held }'
}

# BENCH_WARM: the layout's day two days before the measured one (its members the same), sent flat out
# and drained; then the services stopped (SIGTERM: they drain) and started again, so that their
# counters, histograms and caches hold the measured day alone while the stores stay warm.
s_warm () {   # s_warm MESSAGES
    "$BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand bench --stores "$N_STORES" --groups "$N_GROUPS" \
        --members "$N_MEMBERS" ${BENCH_DAY_GROUPS:+--day-groups "$BENCH_DAY_GROUPS"} --messages "$1" --rate 0 --batch 200 --window 8 \
        --day-offset -2 --run warm >/dev/null
    local accepted name pid; accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
    for _ in $(seq 6000); do
        [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$accepted" ] && break; sleep 0.1
    done
    for name in notifier campaign $(compgen -v QY_PID_scoring) $(compgen -v QY_PID_moderation) ingest bus; do
        name=${name#QY_PID_}; eval "pid=\${QY_PID_$name:-}"; [ -n "$pid" ] || continue
        kill -TERM "$pid"
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    qy_start_services "$BUILD" "${BENCH_MODERATION:-1}" "${BENCH_SCORING:-1}"
    echo "          warm: $accepted events of the day before sent and drained first (services restarted)"
}

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
    if [ "${BENCH_REDIS:-}" = cluster ]; then
        qy_start_redis_cluster "$QY_RUN"    #  3 masters + 3 replicas, services pointed at one (docs/scaling.md)
        read -r -a redis_ports <<< "$QY_REDIS_CLUSTER_PORTS"
    else
        qy_start_redis "$QY_RUN"; redis_ports+=("$QY_REDIS_PORT")
    fi
    "$BUILD/tools/qyctl/qyctl" migrate >/dev/null
    local gw; gw=$(qy_free_port)
    qy_start gatewaysim "$BUILD/tools/gatewaysim/qy-gatewaysim" --port "$gw"
    "$BUILD/tools/qyctl/qyctl" demo load --brand bench --stores "$N_STORES" --groups "$N_GROUPS" --gateway-url "http://127.0.0.1:$gw/v1/deliveries" >/dev/null
    qy_start_services "$BUILD" "${BENCH_MODERATION:-1}" "${BENCH_SCORING:-1}"
    [ -z "${BENCH_WARM:-}" ] || s_warm "$msgs"
    local t0 t1 out accepted
    costs_start "${redis_ports[@]}"
    t0=$(date +%s.%N)
    out=$("$BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand bench --stores "$N_STORES" --groups "$N_GROUPS" \
          --members "$N_MEMBERS" ${BENCH_DAY_GROUPS:+--day-groups "$BENCH_DAY_GROUPS"} --messages "$msgs" --rate "$rate" --batch 200 --window 8 --run "$label" | tail -1)
    accepted=$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')
    for _ in $(seq 3000); do
        [ "$(qy_metric "$QY_HTTP_campaign" qy_campaign_events_total)" -ge "$accepted" ] && break; sleep 0.1
    done
    t1=$(date +%s.%N)
    s_cpu "$accepted"
    local p50 p99    # from the histogram's buckets (interpolated, as histogram_quantile)
    p50=$(awk -v s="$(qy_metric_quantile "$QY_HTTP_moderation1" qy_ingest_to_verdict_seconds 0.5)" 'BEGIN {print s * 1000}')
    p99=$(awk -v s="$(qy_metric_quantile "$QY_HTTP_moderation1" qy_ingest_to_verdict_seconds 0.99)" 'BEGIN {print s * 1000}')
    local ingest_rate; ingest_rate=$(sed -E 's/.* = ([0-9]+) events\/s.*/\1/' <<<"$out")
    awk -v l="$label" -v a="$accepted" -v t="$(echo "$t1 - $t0" | bc -l)" -v i="$ingest_rate" -v p50="$p50" -v p99="$p99" -v r="$rate" \
        'BEGIN { printf "%-9s offered=%s ev/s  accepted=%d  ingest=%d ev/s  end-to-end sustained=%.0f ev/s  ingest→verdict p50=%.2f ms p99=%.2f ms\n", l, (r == 0 ? "max" : r), a, i, a / t, p50, p99 }'
    s_batches "$(echo "$t1 - $t0" | bc -l)"
    costs_print "$accepted" "${redis_ports[@]}"
    [ -z "${BENCH_COMMANDS:-}" ] || costs_commands "$accepted" "${redis_ports[@]}"
    costs_statements "$accepted" "${BENCH_STATEMENTS:-8}"
    [ -z "${BENCH_INDEXES:-}" ] || costs_indexes "$accepted"
    s_memory "${redis_ports[@]}"
}

echo "pipeline benchmark: $(nproc) cores, $MESSAGES chat messages per run (plus joins, floods, duplicates)"
echo "layout: $N_STORES stores × $N_GROUPS groups × $N_MEMBERS members${BENCH_DAY_GROUPS:+, the day of $BENCH_DAY_GROUPS groups}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
s_run flat-out 0 "$MESSAGES"
s_run "rate-$RATE" "$RATE" "$((RATE * 10))"
