#!/usr/bin/env bash
# The image, built and run for real (issue 18 §3). With no docker engine,
# buildah builds deploy/Dockerfile (--isolation chroot) from a Debian 12
# base made with debootstrap and imported with podman, tagged as the
# Dockerfile's base (debian:12-slim). Then, from the image: every program
# links; `qyctl migrate` migrates the test's PostgreSQL; the bus and the
# five services run against the test's PostgreSQL and Redis on loopback;
# events sent through them are judged, counted and delivered; SIGTERM
# stops each one cleanly.
#   QY_TEST_IMAGE=0        skip (exit 77, reported by ctest as skipped)
#   QY_IMAGE_CACHE=DIR     the container storage kept between runs
#                          (default /var/tmp/qy-image): the base and the
#                          package layers, so a second run only compiles
#   QY_IMAGE_REFRESH=1     make the base again from nothing
#   QY_DEBIAN_MIRROR=URL   where debootstrap fetches (deb.debian.org)
source "$(dirname "$0")/../../tools/lib/env.sh"
qy_script_args 1 "$@"           #  before the skip: --help answers even with QY_TEST_IMAGE=0
if [ "${QY_TEST_IMAGE:-1}" = 0 ]; then echo "image test skipped (QY_TEST_IMAGE=0)"; exit 77; fi
source "$(dirname "$0")/../integration/lib.sh"
t0=$SECONDS
qy_install_deps "$QY_IMAGE_PACKAGES"
cache=${QY_IMAGE_CACHE:-/var/tmp/qy-image}
mkdir -p "$cache"
# The cache is shared by the runs on this machine: building and pruning
# hold its lock (not the run in between, whose servers would inherit it).
locked () { ( flock -w 1800 9 || { echo "another image test holds $cache/lock"; exit 1; }; "$@" ) 9>"$cache/lock"; }
export QYI_BUILDAH="buildah --root $cache/storage --runroot $cache/run --storage-driver overlay"
base=docker.io/library/debian:12-slim
image=localhost/qunyun:image-test-$$
commit=$(git -C "$QY_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
lap () { qy_log "image: $1 ($((SECONDS - t0)) s so far)"; }

# The base: Debian 12 minbase from the mirror, with bookworm's updates and
# security suites as the official image has them.
make_base () {
    if [ "${QY_IMAGE_REFRESH:-0}" = 1 ] || ! $QYI_BUILDAH inspect --type image "$base" >/dev/null 2>&1; then
        mirror=${QY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
        debootstrap --variant=minbase bookworm "$QY_RUN/rootfs" "$mirror" > "$QY_RUN/debootstrap.log" 2>&1 \
            || { tail -20 "$QY_RUN/debootstrap.log"; echo "debootstrap failed"; return 1; }
        rm -f "$QY_RUN/rootfs/etc/apt/sources.list"
        cat > "$QY_RUN/rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
        rm -rf "$QY_RUN"/rootfs/var/cache/apt/archives/*.deb "$QY_RUN"/rootfs/var/lib/apt/lists/*
        tar -C "$QY_RUN/rootfs" -c . | podman --root "$cache/storage" --runroot "$cache/run" --storage-driver overlay \
            import --change 'CMD ["bash"]' - "$base" > "$QY_RUN/import.log" 2>&1 \
            || { tail -20 "$QY_RUN/import.log"; echo "the base's import (tar of the root, podman import) failed"; return 1; }
        rm -rf "$QY_RUN/rootfs"
        lap "base $base made with debootstrap"
    fi
}

# The image. The package stages are tagged so that the pruning below keeps
# their layers for the next run.
build () {
    local c
    #  What a killed run left: build containers (a build runs only under
    #  the lock) and test containers whose run is gone.
    for c in $($QYI_BUILDAH containers --format '{{.ContainerName}}'); do
        case $c in
            *-working-container) $QYI_BUILDAH rm "$c" ;;
            qy-image-test-*) kill -0 "${c#qy-image-test-}" 2>/dev/null || $QYI_BUILDAH rm "$c" ;;
        esac
    done
    make_base || return 1
    bud --target build-deps -t localhost/qunyun-build-deps:cache &&
    bud --target runtime-deps -t localhost/qunyun-runtime-deps:cache &&
    bud -t "$image" --build-arg QY_COMMIT="$commit" &&
    bud --target build -t "$image-build" --build-arg QY_COMMIT="$commit"   # from the cache: the sources as sent
}
bud () { $QYI_BUILDAH bud --isolation chroot --layers --pull=never -f "$QY_ROOT/deploy/Dockerfile" "$@" "$QY_ROOT"; }
# Stop the programs run from the image newest first, as qy_stop_all would,
# by their own pids (in_image.sh writes PROGRAM.PID.pid, PID being the one
# qy_start recorded).
image_stop () {
    local kind bpid name f pid
    [ -f "$QY_RUN/pids" ] || return 0
    while read -r kind bpid name; do
        [ "$kind" = pid ] || continue
        for f in "$QY_RUN"/inner/*."$bpid".pid; do
            [ -f "$f" ] && pid=$(cat "$f") && kill -TERM "$pid" 2>/dev/null || continue
            for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then it_fail "$name did not stop on SIGTERM"; kill -KILL "$pid"; fi
            rm -f "$f"
        done
    done < <(tac "$QY_RUN/pids")
}
unbuild () {
    $QYI_BUILDAH rm "$QYI_CTR" || true
    $QYI_BUILDAH rmi "$image" "$image-build" || true
    $QYI_BUILDAH rmi --prune || true    # what a changed Dockerfile or source left behind
}
image_cleanup () {
    set +e
    image_stop
    locked unbuild >/dev/null 2>&1
}
trap 'rc=$?; image_cleanup; (exit $rc); it_cleanup' EXIT
in_image () { "$(dirname "$0")/in_image.sh" "$@"; }
locked build > "$QY_RUN/bud.log" 2>&1 || { tail -40 "$QY_RUN/bud.log"; it_fail "the image does not build"; exit 1; }
lap "image built"
export QYI_CTR
QYI_CTR=$($QYI_BUILDAH from --pull=never --name "qy-image-test-$$" "$image")

# .dockerignore keeps build output, the demo's data and .git out of the
# context (this checkout has build/ at least: the test runs from it).
ctx=$($QYI_BUILDAH from --pull=never "$image-build")
$QYI_BUILDAH run --isolation chroot "$ctx" -- sh -c 'cd /src && ls -d build* .qydata .git secrets 2>/dev/null; true' > "$QY_RUN/context.txt"
$QYI_BUILDAH rm "$ctx" >/dev/null
it_eq "build output, .qydata, .git or secrets in the context" "$(tr '\n' ' ' < "$QY_RUN/context.txt")" ""

# Every program links: no library missing from the runtime stage.
in_image sh -c 'for b in /usr/local/bin/*; do echo "== $b"; ldd "$b"; done' > "$QY_RUN/ldd.txt"
it_eq "programs in the image" "$(grep -c '^== ' "$QY_RUN/ldd.txt")" 9
it_eq "libraries not found" "$(grep -c 'not found' "$QY_RUN/ldd.txt")" 0
grep 'not found' "$QY_RUN/ldd.txt" || true
it_eq "runs as" "$(in_image id -u)" 10001

# PostgreSQL and Redis on loopback; the image's qyctl migrates with the
# image's migrations, then sets up a brand.
qy_start_pg "$QY_RUN"
qy_start_redis "$QY_RUN"
it_eq "migrate from the image" "$(in_image qyctl migrate | tail -1)" \
    "migrations: $(ls "$QY_ROOT"/deploy/migrations/*.sql | wc -l) applied, $(ls "$QY_ROOT"/deploy/migrations/*.sql | wc -l) total"
it_gateway --token gw-secret
# The gateway's token from the environment (in_image passes QY_* on), never argv.
export QY_GATEWAY_TOKEN=gw-secret
in_image qyctl brand create acme "Acme 美妆" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
in_image qyctl brand create other "Other" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
unset QY_GATEWAY_TOKEN
in_image qyctl store create acme s1 "一号店" >/dev/null
in_image qyctl group create acme room1 "一号店会员群" --store s1 >/dev/null
in_image qyctl group create acme room2 "一号店福利群" --store s1 >/dev/null
in_image qyctl channel create acme s1-staff staff_invite --store s1 >/dev/null
in_image qyctl channel create acme s1-qr qr_poster --store s1 >/dev/null
in_image qyctl rules load acme >/dev/null
in_image qyctl rules set acme flood.member flood flood 1.0 5/60 >/dev/null
in_image qyctl campaign welcome acme "欢迎{nickname}加入{group}（{store}）" >/dev/null

# The bus and the five services, each from the image.
export QY_SCORING_ROLLUP_INTERVAL_MS=300
QY_SERVICE_EXEC="$(dirname "$0")/in_image.sh" qy_start_services "$QY_BUILD"
lap "services up from the image"

# The foundation case's events (tests/integration/foundation) through the
# image's ingest: archived, judged, counted, delivered.
events=$QY_ROOT/tests/integration/foundation/events.jsonl
"$QYCTL" send "$events" --batch 50 > "$QY_RUN/acks.jsonl"
it_eq "accepted by ingest" "$(jq -s '[.[].results[] | select(.status == "accepted")] | length' "$QY_RUN/acks.jsonl")" 21
# foundation's deliveries: the ad's mute and recall and four welcomes (the
# waiting customer is not punished); alerts go to the gateway here too.
gw_done () { [ "$(it_gateway_stat unique)" -ge 6 ]; }
it_wait "6 deliveries at the gateway" gw_done
rolled () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT messages FROM daily_group_stats d JOIN groups g ON g.id = d.group_id WHERE g.code = 'room1' AND g.brand_id = (SELECT id FROM brands WHERE code = 'acme')")" = 13 ]; }
it_wait "scoring's roll-up of room1" rolled
it_eq "archived" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages")" 21
it_eq "judged: the ad muted" "$(psql "$QY_PG_DSN" -qAtc "SELECT action FROM violations WHERE msg_id = 'ad1'")" mute
it_eq "counted: room1 messages" "$(psql "$QY_PG_DSN" -qAtc "SELECT messages FROM daily_group_stats d JOIN groups g ON g.id = d.group_id WHERE g.code = 'room1' AND g.brand_id = (SELECT id FROM brands WHERE code = 'acme')")" 13
sleep 1    # anything still on its way
it_eq "delivered: the ad's mute and recall, four welcomes" \
    "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE key ~ '^(mod:[0-9]+:ad1:(mute|recall)|welcome:)' AND status = 'delivered'")" 6
it_eq "delivered twice" "$(it_gateway_stat duplicates)" 0
it_eq "every delivery the gateway got is marked delivered" \
    "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM deliveries WHERE status = 'delivered'")" "$(it_gateway_stat unique)"
# Each program's probes and metrics, as compose and Prometheus see them:
# ready, the commit built in, /metrics accepted by promtool.
for s in bus ingest moderation1 scoring1 campaign notifier; do
    eval "port=\$QY_HTTP_$s"
    it_eq "$s readyz" "$(curl -fs "http://127.0.0.1:$port/readyz" | jq -r .status)" ok
    it_eq "$s commit" "$(curl -fs "http://127.0.0.1:$port/health" | jq -r .commit)" "$commit"
    lint=$(curl -fs "http://127.0.0.1:$port/metrics" | promtool check metrics 2>&1) && it_eq "$s metrics lint" ok ok || it_fail "$s /metrics: $lint"
done

# SIGTERM reaches each program in the image and it stops within 15 s.
image_stop
lap "done"
it_done
