# Shared shell helpers for the demo, the tests and the benchmarks: install
# what is missing, build, start Redis, PostgreSQL and the services on free
# loopback ports under one folder, and stop them all. Source it; do not run it.
# Everything started is recorded in $QY_RUN/pids and stopped by qy_stop_all.

QY_ROOT=${QY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
QY_PACKAGES="build-essential cmake pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libhiredis-dev
 libpq-dev libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libutf8proc-dev libopencc-dev opencc
 libvectorscan-dev libcmocka-dev libjemalloc-dev redis-server redis-tools postgresql postgresql-client curl jq bc docker-compose
 libssl-dev openssl clang libclang-rt-14-dev libxml2-dev xxd
 libsodium-dev libjs-chart.js chromium fonts-wqy-microhei nodejs prometheus haproxy
 prometheus-redis-exporter prometheus-postgres-exporter
 python3-sklearn"
# Only for the image test (tests/image/run.sh): a container build with no daemon.
QY_IMAGE_PACKAGES="buildah podman debootstrap"

qy_log () { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# qy_script_usage FILE: a script's usage, i.e. its opening comment (after the #! line), unmarked.
qy_script_usage () { awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"; }

# qy_script_args MAX "$@": the command line of a script that takes up to MAX arguments and no
# options, checked before it does anything. --help or -h prints its usage (the script's opening
# comment) and exits 0; any other option, or more than MAX arguments, exits 2 saying so. The
# demo wipes its database and the tests start servers: neither may run on a mistyped flag.
qy_script_args () {
    local max=$1 me a; shift
    me=$(basename "$0")
    for a in "$@"; do
        case $a in
            -h|--help) qy_script_usage "$0"; exit 0 ;;
            -?*) printf '%s: unknown option %s (try --help)\n' "$me" "$a" >&2; exit 2 ;;
        esac
    done
    if [ $# -gt "$max" ]; then
        printf '%s: at most %d arguments, got %d (try --help)\n' "$me" "$max" $# >&2; exit 2
    fi
}

# A sanitizer's report in a log (grep -E): ASan's or LSan's headline, or UBSan's
# "FILE:LINE:COLUMN: runtime error:" (a Go program's "panic: runtime error:" is none).
QY_SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|[^ :]+:[0-9]+:[0-9]+: runtime error:'

# Install the Debian packages that are missing (needs root on a fresh machine):
# QY_PACKAGES, or the list given.
qy_install_deps () {
    local missing=""
    for p in ${1:-$QY_PACKAGES}; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        qy_log "missing packages:$missing (run as root, or install them)"; return 1
    fi
    qy_log "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Configure and build into $1 (default build/); extra cmake args follow.
# QY_BUILD_PROGRESS, when set, names a function handed each line of the
# build's output as it comes (the demo's progress line on a terminal),
# then an empty line before the build's errors and warnings are shown.
qy_build () {
    local dir=${1:-$QY_ROOT/build} rc=0; shift || true
    cmake -S "$QY_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null || return 1
    #  cmake's own status decides, not a binary being there: after a failed
    #  build the last good one's programs are still there, and tests or the
    #  demo would run them as if they were this tree's.
    if [ -n "${QY_BUILD_PROGRESS:-}" ]; then
        cmake --build "$dir" -j"$(nproc)" 2>&1 | tee "$dir/build.log" | while IFS= read -r line; do
            "$QY_BUILD_PROGRESS" "$line"
        done
        rc=${PIPESTATUS[0]}
        "$QY_BUILD_PROGRESS" ""
    else
        cmake --build "$dir" -j"$(nproc)" > "$dir/build.log" 2>&1 || rc=$?
    fi
    grep -E 'error|warning|Error' "$dir/build.log" || true
    [ "$rc" = 0 ] || { qy_log "the build failed (exit $rc): $dir/build.log"; return 1; }
}

# A free TCP port on 127.0.0.1: nothing answers on it, and no other run of
# these scripts on this machine has been handed it in the last hour (a
# claim is an atomic mkdir under /tmp/qy-ports), so parallel test runs
# never race for the same port between choosing it and binding it.
qy_free_port () {
    local port dir=/tmp/qy-ports
    mkdir -p "$dir" 2>/dev/null; chmod 1777 "$dir" 2>/dev/null || true
    find "$dir" -mindepth 1 -maxdepth 1 -mmin +60 -exec rmdir {} + 2>/dev/null || true
    while :; do
        port=$(( 10000 + RANDOM % 22000 ))   # below the ephemeral range (32768+), where outgoing connections take ports
        (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && continue
        mkdir "$dir/$port" 2>/dev/null || continue
        echo $port; return
    done
}

qy_pg_bin () { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

# Run a command as the postgres user when we are root (initdb refuses root).
qy_as_pg () {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# qy_start_pg DIR: a PostgreSQL cluster in DIR/pg on a free port; sets QY_PG_PORT and QY_PG_DSN.
qy_start_pg () {
    local dir=$1 bin; bin=$(qy_pg_bin)
    mkdir -p "$dir/pg" "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir/pg" "$dir/sock"
    if [ ! -f "$dir/pg/PG_VERSION" ]; then
        qy_as_pg "$bin/initdb" -D "$dir/pg" -U qunyun --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    QY_PG_PORT=$(qy_free_port)
    qy_as_pg "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w -t 60 start \
        -o "-p $QY_PG_PORT -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on" >/dev/null
    echo "pg $dir/pg" >> "$QY_RUN/pids"
    export QY_PG_DSN="host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qunyun"
    psql "host=127.0.0.1 port=$QY_PG_PORT dbname=postgres user=qunyun" -qAtc \
        "SELECT 1 FROM pg_database WHERE datname = 'qunyun'" | grep -q 1 ||
        psql "host=127.0.0.1 port=$QY_PG_PORT dbname=postgres user=qunyun" -qc "CREATE DATABASE qunyun" >/dev/null
}

# qy_start_redis DIR: Redis in DIR/redis on a free port; sets QY_REDIS_PORT.
qy_start_redis () {
    local dir=$1
    mkdir -p "$dir/redis"
    QY_REDIS_PORT=$(qy_free_port)
    redis-server --port "$QY_REDIS_PORT" --bind 127.0.0.1 --dir "$dir/redis" --save "" --appendonly no \
        --daemonize yes --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$QY_REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    echo "pidfile $dir/redis/redis.pid" >> "$QY_RUN/pids"
    export QY_REDIS_HOST=127.0.0.1 QY_REDIS_PORT
}

# qy_start_redis_cluster DIR: a Redis Cluster of 3 masters, each with one
# replica, in DIR/rc/PORT on free ports (node timeout 1 s, so a failover
# takes a few seconds). Sets QY_REDIS_CLUSTER_PORTS (the six ports, masters
# first) and points QY_REDIS_HOST/QY_REDIS_PORT at the first master.
qy_start_redis_cluster () {
    local dir=$1 port ports=() addrs=()
    for _ in 1 2 3 4 5 6; do
        port=$(qy_free_port); ports+=("$port"); addrs+=("127.0.0.1:$port")
        mkdir -p "$dir/rc/$port"
        # The cluster bus on a free port of its own (by default port + 10000,
        # which may be taken).
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/rc/$port" --save "" --appendonly no \
            --cluster-enabled yes --cluster-port "$(qy_free_port)" --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
            --daemonize yes --pidfile "$dir/rc/$port/redis.pid" --logfile "$dir/rc/$port/redis.log" >/dev/null
        echo "pidfile $dir/rc/$port/redis.pid" >> "$QY_RUN/pids"
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 50); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$dir/rc/create.log" 2>&1 || return 1
    # Ready when every node sees the cluster whole and every replica has its
    # master's data (a replica that never synced cannot take over).
    local up
    for _ in $(seq 200); do
        up=0
        for port in "${ports[@]}"; do
            redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' || continue
            redis-cli -p "$port" info replication | grep -qE 'role:master|master_link_status:up' && up=$((up + 1))
        done
        [ "$(for port in "${ports[@]}"; do redis-cli -p "$port" info replication; done | grep -c 'master_link_status:up')" = 3 ] \
            && [ "$up" = 6 ] && break
        sleep 0.1
    done
    export QY_REDIS_CLUSTER_PORTS="${ports[*]}" QY_REDIS_HOST=127.0.0.1 QY_REDIS_PORT=${ports[0]}
}

# qy_start NAME CMD…: start a process in the background with its log in $QY_RUN/logs/NAME.log
qy_start () {
    local name=$1; shift
    mkdir -p "$QY_RUN/logs"
    "$@" >>"$QY_RUN/logs/$name.log" 2>&1 &
    echo "pid $! $name" >> "$QY_RUN/pids"
    eval "QY_PID_${name//-/_}=$!"
}

# Wait until a service answers 200 on /health (port in $2).
qy_wait_health () {
    local name=$1 port=$2
    #  Up to 30 s: a service under ASan on a loaded 2-core CI machine may
    #  take over 10 s to connect to PostgreSQL and link to the bus.
    for _ in $(seq 300); do
        curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    qy_log "$name is not healthy:"; tail -5 "$QY_RUN/logs/$name.log" >&2; return 1
}

# qy_start_services BUILD [REPLICAS_MOD REPLICAS_SCORING]: the bus and the five services.
# Sets QY_INGEST_ENDPOINT and QY_HTTP_<NAME> (health/metrics port of each).
qy_start_services () {
    local build=$1 mods=${2:-1} scs=${3:-1}
    local p; for h in mf mb sf sb cf cb nf nb gw; do p=$(qy_free_port); eval "QY_P_$h=$p"; done
    export QY_BUS_HOPS="moderation=tcp://127.0.0.1:$QY_P_mf>tcp://127.0.0.1:$QY_P_mb;scoring=tcp://127.0.0.1:$QY_P_sf>tcp://127.0.0.1:$QY_P_sb;campaign=tcp://127.0.0.1:$QY_P_cf>tcp://127.0.0.1:$QY_P_cb;notifier=tcp://127.0.0.1:$QY_P_nf>tcp://127.0.0.1:$QY_P_nb"
    export QY_INGEST_ZMQ_GATEWAY="tcp://127.0.0.1:$QY_P_gw" QY_INGEST_ZMQ_OUT="tcp://127.0.0.1:$QY_P_mf"
    export QY_MODERATION_ZMQ_IN="tcp://127.0.0.1:$QY_P_mb" QY_MODERATION_ZMQ_OUT="tcp://127.0.0.1:$QY_P_sf" QY_MODERATION_ZMQ_ACTIONS="tcp://127.0.0.1:$QY_P_nf"
    export QY_SCORING_ZMQ_IN="tcp://127.0.0.1:$QY_P_sb" QY_SCORING_ZMQ_OUT="tcp://127.0.0.1:$QY_P_cf"
    export QY_SCORING_ZMQ_ALERTS="tcp://127.0.0.1:$QY_P_nf"
    export QY_CAMPAIGN_ZMQ_IN="tcp://127.0.0.1:$QY_P_cb" QY_CAMPAIGN_ZMQ_OUT="tcp://127.0.0.1:$QY_P_nf"
    export QY_NOTIFIER_ZMQ_IN="tcp://127.0.0.1:$QY_P_nb"
    export QY_INGEST_ENDPOINT="tcp://127.0.0.1:$QY_P_gw" QY_HTTP_BIND=127.0.0.1
    QY_P_gh=$(qy_free_port); export QY_INGEST_GATEWAY_HTTP_PORT=$QY_P_gh QY_INGEST_GATEWAY_HTTP_BIND=127.0.0.1 QY_INGEST_HTTP="http://127.0.0.1:$QY_P_gh"
    local entries="bus:bus ingest:ingest notifier:notifier campaign:campaign"
    for i in $(seq "$scs"); do entries="$entries scoring$i:scoring"; done
    for i in $(seq "$mods"); do entries="$entries moderation$i:moderation"; done
    for e in $entries; do
        local name=${e%%:*} svc=${e##*:} port; port=$(qy_free_port)
        QY_HTTP_PORT=$port qy_start "$name" ${QY_SERVICE_EXEC:-} "$build/services/$svc/qy-$svc"   # QY_SERVICE_EXEC: e.g. run it from the image
        eval "QY_HTTP_$name=$port"
        # The bus listens before the others connect: ingest takes nothing
        # until it is linked (a first connect refused waits for ZeroMQ's retry).
        [ "$name" != bus ] || qy_wait_health bus "$port" || return 1
    done
    for e in $entries; do
        local name=${e%%:*}; eval "qy_wait_health $name \$QY_HTTP_$name" || return 1
    done
}

# Read one metric (sum over label sets matching the filter) from a service.
qy_metric () {
    local port=$1 name=$2
    curl -fs "http://127.0.0.1:$port/metrics" | awk -v n="$name" '$1 == n || index($1, n"{") == 1 { s += $2 } END { printf "%.0f\n", s }'
}

# qy_metric_quantile PORT NAME Q: quantile Q (0..1) of histogram NAME in seconds,
# summed over its label sets and interpolated within a bucket as Prometheus's
# histogram_quantile does (so no finer than the buckets, QY_METRIC_BUCKETS_S).
qy_metric_quantile () {
    curl -fs "http://127.0.0.1:$1/metrics" | awk -v n="$2_bucket{" -v q="$3" '
        index($1, n) == 1 && match($1, /le="[^"]+"/) {
            le = substr($1, RSTART + 4, RLENGTH - 5)
            if (!(le in c)) les[++k] = le
            c[le] += $2
        }
        END {
            total = c["+Inf"]; if (!total) { print 0; exit }
            rank = q * total; lo = 0; below = 0
            for (i = 1; i <= k; i++) {
                if (c[les[i]] >= rank) {
                    if (les[i] == "+Inf") { print lo; exit }
                    printf "%.6f\n", lo + (les[i] - lo) * (rank - below) / (c[les[i]] - below); exit
                }
                lo = les[i]; below = c[les[i]]
            }
        }'
}

# Stop everything recorded in $QY_RUN/pids, newest first: services with
# SIGTERM (they drain and exit), then Redis and PostgreSQL.
qy_stop_all () {
    [ -f "$QY_RUN/pids" ] || return 0
    set +e    # a process that already exited is not an error here
    tac "$QY_RUN/pids" | while read -r kind a b; do
        case $kind in
            pid) kill -TERM "$a" 2>/dev/null || continue
                 for _ in $(seq 100); do kill -0 "$a" 2>/dev/null || break; sleep 0.1; done
                 kill -KILL "$a" 2>/dev/null || true ;;
            pidfile) [ -f "$a" ] && kill -TERM "$(cat "$a")" 2>/dev/null || true ;;
            pg) qy_as_pg "$(qy_pg_bin)/pg_ctl" -D "$a" -m fast -w stop >/dev/null 2>&1 || true ;;
        esac
    done
    rm -f "$QY_RUN/pids"
}
