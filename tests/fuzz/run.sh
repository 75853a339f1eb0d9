#!/usr/bin/env bash
# Build a libFuzzer target of ingest's doors with clang (ASan + UBSan) and
# fuzz it for a bounded time, seeded from the corpus kept in the
# repository: ingest_wecom (the HTTP front door's JSON parsing, corpus/wecom)
# or ingest_batch (the ZeroMQ door's protobuf Batch, corpus/batch). New
# inputs go to a temporary folder; a crash fails the run and leaves its
# input in $QY_FUZZ_ARTIFACTS (default: the temp folder, printed).
# Usage: run.sh BUILD_DIR [SECONDS] [ingest_wecom|ingest_batch]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/tools/lib/env.sh"
qy_script_args 3 "$@"
build=$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS] [TARGET]}" && pwd)
seconds=${2:-30}
target=${3:-ingest_wecom}
i=$root/services/ingest; c=$root/common/src
case $target in
    ingest_wecom) corpus=wecom; sources=("$i/ingest_wecom.c" "$i/ingest_wecom_contact.c" "$i/ingest_req.c" "$i/ingest_reconcile.c" "$i/ingest_validate.c" "$c/qy_log.c")
                  libs="jansson libprotobuf-c libpq libutf8proc" ;;
    ingest_batch) corpus=batch; sources=("$i/ingest_keys.c" "$i/ingest_validate.c" "$c/qy_pg.c" "$c/qy_log.c"
                                          "$c/qy_zmq_curve.c" "$c/qy_metrics.c")
                  libs="libzmq libprotobuf-c libpq libutf8proc" ;;
    *) echo "usage: run.sh BUILD_DIR [SECONDS] [ingest_wecom|ingest_batch]"; exit 2 ;;
esac
command -v clang >/dev/null || { echo "clang is not installed (QY_PACKAGES in tools/lib/env.sh)"; exit 1; }
work=$(mktemp -d /tmp/qy-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=${QY_FUZZ_ARTIFACTS:-$work/artifacts}
mkdir -p "$work/corpus" "$artifacts"
# Generated protobuf code comes from the build; make sure it exists.
[ -f "$build/proto/qunyun.pb-c.c" ] || cmake --build "$build" --target qy_proto >/dev/null
clang -g -O1 -std=gnu17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/services/ingest" -I"$root/common/include" -I"$build/proto" \
    "$here/fuzz_$target.c" "${sources[@]}" "$c/qy_kind.c" "$c/qy_event.c" "$c/qy_util.c" "$c/qy_pb.c" "$build/proto/qunyun.pb-c.c" \
    $(pkg-config --cflags --libs $libs) -lm -o "$work/fuzz_$target"
"$work/fuzz_$target" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$work/corpus" "$here/corpus/$corpus" 2>&1 | tail -25
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
    cp -r "$artifacts" "/tmp/qy-fuzz-artifacts.$$" 2>/dev/null || true
    echo "FAIL: the fuzzer found a crash; inputs kept in /tmp/qy-fuzz-artifacts.$$"
    exit 1
fi
echo "fuzz_$target: no crash in ${seconds}s"
