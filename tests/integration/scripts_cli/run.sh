#!/usr/bin/env bash
# The project's scripts never act on --help or on an option they do not know: the demo wipes its
# database and installs packages, the tests and benchmarks start servers. For the README's two
# commands (tools/qy-demo, tools/qy-test), .ci/run, tools/gen-config-doc, every benchmark, the
# fuzz, chaos, browser and image scripts and an integration case (this one):
#   1. --help and -h: exit 0 at once, the script's opening comment on stdout;
#   2. an option it does not know: exit 2 at once, naming it on stderr;
#   3. more arguments than it takes (the demo and the tests take none): exit 2;
# and nothing was done meanwhile: no server folder appeared in /tmp (qy-it-*, qy-bench-*,
# qy-chaos.*, qy-demo*), docs/configuration.md (which gen-config-doc rewrites) is unchanged.
# bench_scoring, the one benchmark program taking options, refuses one it does not know too.
# Then qy_build, what the demo and the tests (so .ci/run) build with, fails when the build fails,
# even where an earlier build's programs are still there (it once judged by qy-ingest existing,
# so the tests and the demo went on with the last good build's programs).
source "$(dirname "$0")/../lib.sh"
cd "$QY_ROOT"
scripts=(tools/qy-demo tools/qy-test .ci/run tools/gen-config-doc tests/chaos/run.sh tests/fuzz/run.sh
         tests/fuzz/run_wecom.sh tests/browser/run.sh tests/image/run.sh tests/integration/scripts_cli/run.sh)
# every benchmark script but the two that are sourced
while read -r f; do scripts+=("$f"); done < <(find tests/bench -name '*.sh' ! -name lib.sh ! -name pipeline_costs.sh | sort)
servers () { find /tmp -maxdepth 1 \( -name 'qy-it-*' -o -name 'qy-bench-*' -o -name 'qy-chaos.*' -o -name 'qy-demo*' \) \
             ! -path "$QY_RUN" 2>/dev/null | sort; }
before=$(servers) doc=$(sha256sum docs/configuration.md)
# run NAME ARGS…: the exit code of `bash SCRIPT ARGS…` (124: still running after 20 s), its
# output in $QY_RUN/out and $QY_RUN/err; called by a relative path from another folder (a script
# that changes folder before reading its own text would not find it) and with the image test's
# documented skip set (its answer to --help comes first)
export QY_TEST_IMAGE=0
run () { local f=$1; shift; (cd tools && timeout 20 bash "../$f" "$@") > "$QY_RUN/out" 2> "$QY_RUN/err"; }
for f in "${scripts[@]}"; do
    first=$(qy_script_usage "$f" | head -1)
    for h in --help -h; do
        rc=0; run "$f" "$h" || rc=$?
        [ "$rc" = 0 ] && [ -n "$first" ] && grep -qF -- "$first" "$QY_RUN/out" \
            && echo "ok   $f $h: its usage" || it_fail "$f $h: exit $rc, stdout $(head -c 200 "$QY_RUN/out")"
    done
    rc=0; run "$f" --no-such-option || rc=$?
    [ "$rc" = 2 ] && grep -q -- '--no-such-option' "$QY_RUN/err" \
        && echo "ok   $f --no-such-option: refused" || it_fail "$f --no-such-option: exit $rc, stderr $(head -c 200 "$QY_RUN/err")"
done
for f in tools/qy-demo tools/qy-test .ci/run; do
    rc=0; run "$f" now || rc=$?
    it_eq "$f with an argument: exit" "$rc" 2
done
rc=0; run tests/bench/scoring/run.sh "$QY_BUILD" --no-such-option || rc=$?
it_eq "bench_scoring --no-such-option: exit" "$rc" 2
proj=$QY_RUN/proj
mkdir -p "$proj"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(p C)\nadd_executable(qy-ingest ok.c)\nset_target_properties(qy-ingest PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/services/ingest)\n' \
    > "$proj/CMakeLists.txt"
echo 'int main (void) { return 0; }' > "$proj/ok.c"
rc=0; (QY_ROOT=$proj; qy_build "$proj/b") > /dev/null 2>&1 || rc=$?
it_eq "qy_build of a tree that builds: exit" "$rc" 0
echo 'int main (void) { return x; }' > "$proj/ok.c"
rc=0; (QY_ROOT=$proj; qy_build "$proj/b") > /dev/null 2>&1 || rc=$?
it_eq "qy_build of a tree that does not, the last build's program still there: exit" \
    "$rc/$([ -x "$proj/b/services/ingest/qy-ingest" ] && echo kept)" 1/kept
# The same with a progress function (the demo's on a terminal): it sees the lines, and the
# build's status still decides.
seen () { echo "$1" >> "$proj/seen"; }
rc=0; (QY_ROOT=$proj QY_BUILD_PROGRESS=seen; qy_build "$proj/b") > /dev/null 2>&1 || rc=$?
it_eq "qy_build with progress of a tree that does not: exit, lines seen, log kept" \
    "$rc/$(grep -c "ok.c" "$proj/seen" | awk '{print ($1 > 0)}')/$(grep -c "ok.c" "$proj/b/build.log" | awk '{print ($1 > 0)}')" 1/1/1
echo 'int main (void) { return 0; }' > "$proj/ok.c"
rc=0; (QY_ROOT=$proj QY_BUILD_PROGRESS=seen; qy_build "$proj/b") > /dev/null 2>&1 || rc=$?
it_eq "qy_build with progress of a tree that builds: exit" "$rc" 0
it_eq "server folders made meanwhile" "$(comm -13 <(echo "$before") <(servers) | wc -l)" 0
it_eq "docs/configuration.md" "$(sha256sum docs/configuration.md)" "$doc"
it_done
