#!/usr/bin/env bash
# The notifier's rate limits by plain commands (notifier_take.c: WATCH and
# reads, the decision in C, MULTI/EXEC) against the Lua script they
# replaced (notifier_take.lua, kept here only for this comparison): random
# buckets, pauses and jobs decided both ways must wait and write the same;
# live takes in C and by the script share the buckets (a rolling upgrade);
# two processes (two replicas) racing for one bucket take exactly its
# tokens, the loser of each race running its transaction again. On a
# single Redis, then on a Redis Cluster.
source "$(dirname "$0")/../lib.sh"
# limits NAME ROUNDS: the C half against the Redis at $QY_REDIS_PORT.
limits () {
    local out=$QY_RUN/$1.out
    "$QY_BUILD/tests/integration/qy_test_notifier_limits" "$QY_REDIS_PORT" "$IT_CASE/notifier_take.lua" "$2" \
        > "$out" 2>&1 || { grep -v 'level=' "$out" | head -80; it_fail "notifier_limits on $1"; }
    grep -E '^(ok|race)' "$out" | sed "s/^/$1: /"
}
qy_start_redis "$QY_RUN"
limits redis 400
qy_start_redis_cluster "$QY_RUN/c" || { it_fail "cluster create"; cat "$QY_RUN/c/rc/create.log"; exit 1; }
limits cluster 150
it_done
