#!/usr/bin/env bash
# Build the libFuzzer target with clang (ASan + UBSan) and fuzz the HTTP
# front door's JSON parsing for a bounded time, seeded from the corpus kept
# in the repository. New inputs go to a temporary folder; a crash fails the
# run and leaves its input in $QY_FUZZ_ARTIFACTS (default: the temp folder,
# printed). Usage: run.sh BUILD_DIR [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS]}" && pwd)
seconds=${2:-30}
command -v clang >/dev/null || { echo "clang is not installed (QY_PACKAGES in tools/lib/env.sh)"; exit 1; }
work=$(mktemp -d /tmp/qy-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=${QY_FUZZ_ARTIFACTS:-$work/artifacts}
mkdir -p "$work/corpus" "$artifacts"
# Generated protobuf code comes from the build; make sure it exists.
[ -f "$build/proto/qunyun.pb-c.c" ] || cmake --build "$build" --target qy_proto >/dev/null
clang -g -O1 -std=gnu17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/services/ingest" -I"$root/common/include" -I"$build/proto" \
    "$here/fuzz_ingest_wecom.c" "$root/services/ingest/ingest_wecom.c" "$root/services/ingest/ingest_req.c" "$root/services/ingest/ingest_reconcile.c" \
    "$root/services/ingest/ingest_validate.c" "$root/common/src/qy_kind.c" "$root/common/src/qy_util.c" "$root/common/src/qy_pb.c" "$build/proto/qunyun.pb-c.c" \
    $(pkg-config --cflags --libs jansson libprotobuf-c libpq libutf8proc) -lm -o "$work/fuzz_ingest_wecom"
"$work/fuzz_ingest_wecom" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$work/corpus" "$here/corpus/wecom" 2>&1 | tail -25
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
    cp -r "$artifacts" "/tmp/qy-fuzz-artifacts.$$" 2>/dev/null || true
    echo "FAIL: the fuzzer found a crash; inputs kept in /tmp/qy-fuzz-artifacts.$$"
    exit 1
fi
echo "fuzz_ingest_wecom: no crash in ${seconds}s"
