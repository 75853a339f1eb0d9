# Helpers for integration tests. Source it from a case's run.sh with the
# build folder as $1. It makes a temporary folder for the case's servers and
# output, and on exit stops everything and removes it (kept when
# QY_KEEP=1). Compare outputs with it_expect NAME (expected/NAME.txt);
# QY_UPDATE_EXPECTED=1 rewrites the expected files instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lib/env.sh"
qy_script_args 1 "$@"       #  --help: what the case checks (its run.sh's opening comment)
IT_CASE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
IT_NAME=$(basename "$IT_CASE")
QY_BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
export QY_RUN
QY_RUN=$(mktemp -d "/tmp/qy-it-$IT_NAME.XXXXXX")
chmod 755 "$QY_RUN"
mkdir -p "$QY_RUN/actual"
IT_FAILED=0
QYCTL=$QY_BUILD/tools/qyctl/qyctl
it_cleanup () {
    local rc=$?
    qy_stop_all
    #  A sanitizer report in any service's log fails the case (not a Go
    #  panic of buildah, which runs the image case's services and can crash
    #  on its way out after they stopped: QY_SANITIZER_REPORT, env.sh).
    if grep -lE "$QY_SANITIZER_REPORT" "$QY_RUN"/logs/*.log 2>/dev/null; then
        echo "FAIL: sanitizer report in the logs above"; IT_FAILED=1
        grep -hA30 -E "$QY_SANITIZER_REPORT" "$QY_RUN"/logs/*.log | head -80
    fi
    if [ "$rc" != 0 ] || [ "$IT_FAILED" != 0 ]; then
        echo "---- logs of failed case $IT_NAME ($QY_RUN/logs)"
        for f in "$QY_RUN"/logs/*.log; do [ -f "$f" ] && { echo "== $f"; grep -v 'level=info' "$f" | tail -15; }; done
    fi
    [ "${QY_KEEP:-0}" = 1 ] || rm -rf "$QY_RUN"
    [ "$IT_FAILED" = 0 ] || exit 1
}
trap it_cleanup EXIT

it_fail () { echo "FAIL: $*"; IT_FAILED=1; }

# it_sql NAME SQL: write the query's output (psql, unaligned) to actual/NAME.txt and compare.
it_sql () {
    local name=$1 sql=$2
    psql "$QY_PG_DSN" -qAF ' | ' -c "$sql" > "$QY_RUN/actual/$name.txt"
    it_expect "$name"
}

# it_expect NAME: compare actual/NAME.txt with the case's expected/NAME.txt.
it_expect () {
    local name=$1
    if [ "${QY_UPDATE_EXPECTED:-0}" = 1 ]; then
        mkdir -p "$IT_CASE/expected"; cp "$QY_RUN/actual/$name.txt" "$IT_CASE/expected/$name.txt"; return 0
    fi
    if diff -u "$IT_CASE/expected/$name.txt" "$QY_RUN/actual/$name.txt"; then
        echo "ok   $name"
    else
        it_fail "$name differs from expected"
    fi
}

# it_eq WHAT ACTUAL EXPECTED
it_eq () {
    if [ "$2" = "$3" ]; then echo "ok   $1 = $3"; else it_fail "$1: got '$2', expected '$3'"; fi
}

# it_wait DESCRIPTION COMMAND… : retry COMMAND until it succeeds (60 s).
it_wait () {
    local what=$1; shift
    for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    it_fail "timed out waiting for $what"; return 1
}

# Start PostgreSQL, Redis and migrate.
it_servers () {
    qy_start_pg "$QY_RUN"
    qy_start_redis "$QY_RUN"
    "$QYCTL" migrate >/dev/null
}

# it_pg_statements: pg_stat_statements loaded (PostgreSQL restarted once), planning tracked, so a
# case can count the statements a feature runs and how often PostgreSQL planned them; call it
# after it_servers, before the services start.
it_pg_statements () {
    psql "$QY_PG_DSN" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    qy_as_pg "$(qy_pg_bin)/pg_ctl" -D "$QY_RUN/pg" -w restart >/dev/null
    psql "$QY_PG_DSN" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
        -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf ()" >/dev/null
}

# it_pg_buffers PATTERN: "ROWS BLOCKS" of the statements whose text is LIKE PATTERN since the last
# pg_stat_statements_reset (it_pg_statements): the rows they returned and the buffers they touched.
it_pg_buffers () {
    psql "$QY_PG_DSN" -qAtc "SELECT coalesce (sum (rows), 0), coalesce (sum (shared_blks_hit + shared_blks_read), 0)
        FROM pg_stat_statements WHERE query LIKE '$1'" | tr '|' ' '
}

# it_gateway [ARGS…]: a gateway simulator logging to $QY_RUN/gateway.jsonl; sets GW_PORT.
it_gateway () {
    GW_PORT=$(qy_free_port)
    qy_start gatewaysim "$QY_BUILD/tools/gatewaysim/qy-gatewaysim" --port "$GW_PORT" --log "$QY_RUN/gateway.jsonl" "$@"
    it_wait "gateway simulator" curl -fs "http://127.0.0.1:$GW_PORT/stats"
}

# it_sim NAME [ARGS…]: one of several gateway simulators, logging to $QY_RUN/NAME.jsonl (first-seen
# bodies) and NAME.order (arrival order); sets P_NAME to its port.
it_sim () {
    local name=$1; shift
    local port; port=$(qy_free_port)
    qy_start "$name" "$QY_BUILD/tools/gatewaysim/qy-gatewaysim" --port "$port" --log "$QY_RUN/$name.jsonl" --order "$QY_RUN/$name.order" "$@"
    eval "P_$name=$port"
    it_wait "$name" curl -fs "http://127.0.0.1:$port/stats"
}

# it_notifier_bus: the bus with one hop, into the notifier (QY_BUS_HOPS, and the notifier's
# QY_NOTIFIER_ZMQ_IN and QY_NOTIFIER_ENDPOINT exported for it), started; H_bus its HTTP port.
it_notifier_bus () {
    local front back
    front=$(qy_free_port); back=$(qy_free_port)
    export QY_BUS_HOPS="notifier=tcp://127.0.0.1:$front>tcp://127.0.0.1:$back" QY_HTTP_BIND=127.0.0.1
    export QY_NOTIFIER_ZMQ_IN="tcp://127.0.0.1:$back" QY_NOTIFIER_ENDPOINT="tcp://127.0.0.1:$front"
    H_bus=$(qy_free_port)
    QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
    qy_wait_health bus "$H_bus"
}

# it_ingest_http: the bus (one moderation hop, nobody behind it) and ingest
# with its HTTP door on QY_INGEST_GATEWAY_HTTP_PORT, as the edges that post
# to it need; sets H_bus and H_ingest. High-water marks: QY_BUS_ZMQ_HWM and
# QY_INGEST_ZMQ_HWM when the caller exports them.
it_ingest_http () {
    local mf mb; mf=$(qy_free_port); mb=$(qy_free_port)
    export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$mf>tcp://127.0.0.1:$mb" QY_HTTP_BIND=127.0.0.1
    export QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$mf" QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$(qy_free_port)"
    export QY_INGEST_GATEWAY_HTTP_PORT; QY_INGEST_GATEWAY_HTTP_PORT=$(qy_free_port)
    export QY_INGEST_GATEWAY_HTTP_BIND=127.0.0.1
    H_bus=$(qy_free_port); H_ingest=$(qy_free_port)
    QY_HTTP_PORT=$H_bus qy_start bus "$QY_BUILD/services/bus/qy-bus"
    qy_wait_health bus "$H_bus"
    QY_HTTP_PORT=$H_ingest qy_start ingest "$QY_BUILD/services/ingest/qy-ingest"
    qy_wait_health ingest "$H_ingest"
}

# it_sim_stat PORT KEY: a count from that simulator's /stats.
it_sim_stat () {
    curl -fs "http://127.0.0.1:$1/stats" | jq -r ".$2 // 0"
}

# it_gateway_stat KEY: a count from the simulator's /stats ("unique", "duplicates", "by.post" …).
it_gateway_stat () {
    curl -fs "http://127.0.0.1:$GW_PORT/stats" | jq -r ".$1 // 0"
}

# it_no_orphans: no row of the tables migration 126 took the foreign keys from names a brand,
# group, member or channel that does not exist, or a group of another brand (the writers keep
# what the keys kept).
it_no_orphans () {
    local t c p n
    for t in memberships:group_id:groups memberships:member_id:members memberships:channel_id:channels \
             daily_group_stats:group_id:groups daily_member_stats:group_id:groups \
             daily_member_stats:member_id:members; do
        IFS=: read -r t c p <<< "$t"
        n=$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM $t x WHERE x.$c IS NOT NULL AND NOT EXISTS
              (SELECT 1 FROM $p y WHERE y.id = x.$c AND y.brand_id = x.brand_id)")
        it_eq "rows of $t whose $c is not a $p of their brand" "$n" 0
    done
    for t in memberships members daily_group_stats daily_member_stats; do
        n=$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM $t x WHERE NOT EXISTS (SELECT 1 FROM brands b WHERE b.id = x.brand_id)")
        it_eq "rows of $t of no brand" "$n" 0
    done
}

it_done () {
    if [ "$IT_FAILED" != 0 ]; then echo "integration case $IT_NAME: FAILED"; exit 1; fi
    echo "integration case $IT_NAME: passed"
}

# it_demo_chain MODS SCORINGS: PostgreSQL, Redis, a gateway simulator, the demo brand and every
# service (MODS moderation and SCORINGS scoring replicas), with the gateway's limits high enough
# for 2,000 events a second.
it_demo_chain () {
    it_servers
    it_demo_services "$@"
}

# it_demo_services MODS SCORINGS: it_demo_chain with PostgreSQL and Redis already up.
it_demo_services () {
    it_gateway
    "$QYCTL" demo load --brand demo --stores 4 --groups 2 --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
    export QY_SCORING_ROLLUP_INTERVAL_MS=300
    export QY_NOTIFIER_LIMIT_GATEWAY=600000/60 QY_NOTIFIER_LIMIT_API_POST=600000/60 QY_NOTIFIER_LIMIT_API_ALERT=6000/60 \
           QY_NOTIFIER_LIMIT_GROUP=30000/60 QY_NOTIFIER_LIMIT_MEMBER=3000/60
    qy_start_services "$QY_BUILD" "$1" "$2"
}

# it_replay_chain "QYCTL ARGS"…: the set-up of the dead-letter replay cases: brands acme (its
# gateway failing twice, then taking token "tok") and other, then each qyctl command given (acme's
# stores and groups: "group create acme room1 一号群"; words split on blanks),
# notifier retrying twice quickly, every service started; R (redis-cli), sql and dl (a column of
# a dead letter: dl COLUMN SERVICE MSG_ID) defined; acme's room1 authors of today corrupted in
# Redis (a string where a hash belongs, which a message quoting nothing writes and does not read),
# so scoring's count fails on it in its EXEC.
it_replay_chain () {
    it_servers
    it_gateway --token tok --fail-first 2
    "$QYCTL" brand create acme Acme --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s tok) >/dev/null
    "$QYCTL" brand create other Other >/dev/null
    local c; for c in "$@"; do
        # shellcheck disable=SC2086  # a command's words, split on purpose
        "$QYCTL" $c >/dev/null
    done
    export QY_NOTIFIER_RETRY_ATTEMPTS=2 QY_NOTIFIER_RETRY_BASE_MS=100 QY_NOTIFIER_RETRY_CAP_MS=200 QY_NOTIFIER_BREAKER_FAILURES=100
    export QY_NOTIFIER_POLL_MS=50
    qy_start_services "$QY_BUILD"
    R () { redis-cli -p "$QY_REDIS_PORT" "$@"; }
    sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
    dl () { sql "SELECT $1 FROM dead_letters WHERE service = '$2' AND msg_id = '$3'"; }
    room1=$(sql "SELECT id FROM groups WHERE code = 'room1'")
    now=$(date +%s)
    day=$(( (now + 480 * 60) / 86400 ))
    R SET "sc:w:{g:$room1}:$day" corrupted >/dev/null
}

# it_welcomed_once: wait until every member's join (less those moderation removed: a blocked
# member) got its welcome delivered, and check it: one each.
it_welcomed_once () {
    local want
    want=$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages m WHERE m.kind = 'join' AND coalesce (m.role, 'member') = 'member'
        AND NOT EXISTS (SELECT 1 FROM violations v WHERE v.brand_id = m.brand_id AND v.msg_id = m.msg_id AND v.action = 'remove')")
    it_welcomes () { psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE key LIKE 'welcome:%' AND status = 'delivered'"; }
    it_welcomes_are () { [ "$(it_welcomes)" = "$1" ]; }
    it_wait "every join welcomed at the gateway" it_welcomes_are "$want"
    it_eq "welcomes delivered" "$(it_welcomes)" "$want"
}
