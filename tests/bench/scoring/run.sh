#!/usr/bin/env bash
# The scoring benchmark: a fresh Redis on a free port, then bench_scoring
# (see bench_scoring.c). Prints events/s and the Redis cost per message.
#   usage: tests/bench/scoring/run.sh [BUILD_DIR] [bench_scoring options…]
set -euo pipefail
source "$(dirname "$0")/../../../tools/lib/env.sh"
#  BUILD_DIR first: an option there is --help or a mistake (bench_scoring checks its own).
case ${1:-} in -?*) qy_script_args 0 "$1" ;; esac
BUILD=$(cd "${1:-$(dirname "$0")/../../../build}" && pwd); shift || true
"$BUILD/tests/bench/scoring/bench_scoring" --check "$@"     #  its options, before a Redis is started
export QY_RUN; QY_RUN=$(mktemp -d /tmp/qy-bench-scoring.XXXXXX)
trap 'qy_stop_all; rm -rf "$QY_RUN"' EXIT
qy_start_redis "$QY_RUN"
"$BUILD/tests/bench/scoring/bench_scoring" --port "$QY_REDIS_PORT" "$@"
