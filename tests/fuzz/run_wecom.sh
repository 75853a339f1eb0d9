#!/usr/bin/env bash
# Build fuzz_wecom_callback with clang (ASan + UBSan) and fuzz qy-wecom's
# pure input handling (callback XML, decryption, mapping, archive messages)
# for a bounded time, seeded from corpus/wecom_callback. A crash fails the
# run and keeps its input. Usage: run_wecom.sh BUILD_DIR [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/tools/lib/env.sh"
qy_script_args 2 "$@"
build=$(cd "${1:?usage: run_wecom.sh BUILD_DIR [SECONDS]}" && pwd)
seconds=${2:-30}
command -v clang >/dev/null || { echo "clang is not installed (QY_PACKAGES in tools/lib/env.sh)"; exit 1; }
work=$(mktemp -d /tmp/qy-fuzz-wecom.XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=${QY_FUZZ_ARTIFACTS:-$work/artifacts}
mkdir -p "$work/corpus" "$artifacts"
[ -f "$build/proto/qunyun.pb-c.c" ] || cmake --build "$build" --target qy_proto >/dev/null
w=$root/services/wecom
clang -g -O1 -std=gnu17 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$w" -I"$root/common/include" -I"$build/proto" \
    "$here/fuzz_wecom_callback.c" "$w/wecom_crypto.c" "$w/wecom_xml.c" "$w/wecom_map.c" "$root/common/src/qy_seal.c" "$root/common/src/qy_util.c" "$root/common/src/qy_log.c" \
    $(pkg-config --cflags --libs jansson libxml-2.0 libcrypto libpq hiredis libprotobuf-c libutf8proc) -lm -o "$work/fuzz_wecom_callback"
"$work/fuzz_wecom_callback" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$work/corpus" "$here/corpus/wecom_callback" 2>&1 | tail -25
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
    cp -r "$artifacts" "/tmp/qy-fuzz-artifacts.$$" 2>/dev/null || true
    echo "FAIL: the fuzzer found a crash; inputs kept in /tmp/qy-fuzz-artifacts.$$"
    exit 1
fi
echo "fuzz_wecom_callback: no crash in ${seconds}s"
