#!/usr/bin/env bash
# How fast notifier delivers a backlog on its own: N deliveries (default
# 20000; four in five moderation actions about 2,000 members, one in five
# posts into 200 groups) pushed onto its hop while it runs, delivered to the
# gateway simulator. Limits are scaled up as in the demo, so that what is
# measured is notifier's own work (claim, rate-limit scripts, HTTP, record),
# not WeCom's quotas. Prints the time to record them all, the time until the
# last was delivered, and deliveries/s; how often the limits held a delivery
# back, and what PostgreSQL (the notifier's connections) and Redis spent per
# delivery. Not a test: it prints numbers.
#   bash tests/bench/notifier/bench_notifier.sh BUILD_DIR [N]
#   BENCH_GATEWAY_LIMIT=6000/60 (limit.gateway's default: 100 a second after a
#   burst of 6,000): a backlog behind the brand's gateway limit instead
set -euo pipefail
source "$(dirname "$0")/../../../tools/lib/env.sh"
qy_script_args 2 "$@"
BUILD=$(cd "${1:?usage: bench_notifier.sh BUILD_DIR [N]}" && pwd)
N=${2:-20000}
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline_costs.sh"
bench_setup notifier "$BUILD" 200
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
    if (i % 5)
        printf "{\"key\":\"a%d\",\"brand\":\"bench\",\"kind\":\"action\",\"group\":\"g%d\",\"action\":\"recall\",\"member\":\"u%d\",\"reason\":\"ad\",\"source\":\"moderation\"}\n", i, i % 200 + 1, i % 2000
    else
        printf "{\"key\":\"p%d\",\"brand\":\"bench\",\"kind\":\"post\",\"group\":\"g%d\",\"text\":\"早上好\",\"mentions\":[\"u%d\"],\"source\":\"campaign:bench\"}\n", i, i % 200 + 1, i % 2000 }' \
    > "$QY_RUN/deliveries.jsonl"
P_nf=$(qy_free_port); P_nb=$(qy_free_port)
export QY_BUS_HOPS="notifier=tcp://127.0.0.1:$P_nf>tcp://127.0.0.1:$P_nb" QY_HTTP_BIND=127.0.0.1
export QY_NOTIFIER_ZMQ_IN="tcp://127.0.0.1:$P_nb" QY_NOTIFIER_ENDPOINT="tcp://127.0.0.1:$P_nf"
export QY_NOTIFIER_LIMIT_GATEWAY=${BENCH_GATEWAY_LIMIT:-600000/60} QY_NOTIFIER_LIMIT_API_POST=600000/60 QY_NOTIFIER_LIMIT_GROUP=30000/60 \
       QY_NOTIFIER_LIMIT_MEMBER=3000/60
H_bus=$(qy_free_port); QY_HTTP_PORT=$H_bus qy_start bus "$BUILD/services/bus/qy-bus"; qy_wait_health bus "$H_bus"
H_n=$(qy_free_port); QY_HTTP_PORT=$H_n qy_start notifier "$BUILD/services/notifier/qy-notifier"; qy_wait_health notifier "$H_n"
count () { psql "$QY_PG_DSN" -qAtc "$1"; }
T0=$(date +%s%N)
"$QYCTL" gateway push "$QY_RUN/deliveries.jsonl" >/dev/null
while [ "$(count "SELECT count (*) FROM deliveries")" -lt "$N" ]; do sleep 0.05; done
T1=$(date +%s%N)
while [ "$(curl -fs "http://127.0.0.1:$GW_PORT/stats" | jq -r .unique)" -lt "$N" ]; do sleep 0.05; done
T2=$(date +%s%N)
ms () { echo $(( ($1 - T0) / 1000000 )); }
echo "recorded $N deliveries $(ms "$T1") ms after the first push; all delivered after $(ms "$T2") ms: $(( N * 1000 / ($(ms "$T2") > 0 ? $(ms "$T2") : 1) )) deliveries/s"
held=$(qy_metric "$H_n" qy_notifier_held_total)
# CPU seconds of the notifier's PostgreSQL connections and of Redis (pipeline_costs.sh).
pg_cpu=$(costs_pg_cpu | awk '$1 == "qy-notifier" { s += $2 } END { printf "%.3f", s }')
redis_cpu=$(s_costs_redis_cpu "$QY_REDIS_PORT")
echo "held by limits: $held ($(awk -v h="$held" -v n="$N" 'BEGIN { printf "%.2f", h / n }') per delivery), duplicates at the gateway: $(curl -fs "http://127.0.0.1:$GW_PORT/stats" | jq -r .duplicates)"
echo "CPU per delivery: PostgreSQL (notifier's connections) $(awk -v c="$pg_cpu" -v n="$N" 'BEGIN { printf "%.0f", c * 1e6 / n }') µs, Redis $(awk -v c="$redis_cpu" -v n="$N" 'BEGIN { printf "%.0f", c * 1e6 / n }') µs"
