# What the service benchmarks share (sourced): fresh PostgreSQL and Redis
# in a temporary folder (removed at exit), the gateway simulator, and a
# brand "bench" with one store and GROUPS groups g1…gN thirty days old.
#   bench_setup NAME BUILD_DIR GROUPS   sets QY_RUN, QYCTL, GW_PORT
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lib/env.sh"
bench_setup () {
    local name=$1 build=$2 groups=$3
    export QY_RUN; QY_RUN=$(mktemp -d "/tmp/qy-bench-$name.XXXXXX"); chmod 755 "$QY_RUN"
    trap 'qy_stop_all; rm -rf "$QY_RUN"' EXIT
    QYCTL=$build/tools/qyctl/qyctl
    qy_start_pg "$QY_RUN"; qy_start_redis "$QY_RUN"; "$QYCTL" migrate >/dev/null
    GW_PORT=$(qy_free_port)
    qy_start gatewaysim "$build/tools/gatewaysim/qy-gatewaysim" --port "$GW_PORT"
    "$QYCTL" brand create bench "Bench" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
    "$QYCTL" store create bench s1 "店" >/dev/null
    psql "$QY_PG_DSN" -qc "INSERT INTO groups (brand_id, store_id, code, name, created_at)
      SELECT b.id, s.id, 'g' || i, '群' || i, now () - interval '30 days' FROM brands b, stores s, generate_series (1, $groups) i
      WHERE b.code = 'bench' AND s.brand_id = b.id" >/dev/null
}
