#!/usr/bin/env bash
# Scoring's counting in C (scoring_count_tally, between WATCH/reads and
# MULTI/EXEC) against the Lua script it replaced (scoring_count.lua, kept
# only here): the same random batches (messages, joins and leaves out of
# order, quotes, mentions, questions, bot posts, staff, violations,
# redeliveries, events older than the counter window, across day
# boundaries) counted in two groups, one each way; every outcome,
# standing and key must come out the same. Then two processes (two
# replicas) count the same batches at once in a third group: WATCH makes
# the losers of each race count again, and the group ends as if counted
# once. All of it on a single Redis, then on a Redis Cluster.
source "$(dirname "$0")/../lib.sh"
# tally NAME ROUNDS: the comparison against the Redis at $QY_REDIS_PORT.
tally () {
    if "$QY_BUILD/tests/integration/qy_test_scoring_tally" "$QY_REDIS_PORT" "$IT_CASE/scoring_count.lua" "$2" \
            > "$QY_RUN/$1.out" 2>&1; then
        grep -E '^(ok|race)' "$QY_RUN/$1.out" | sed "s/^\(ok\|race\):/\1: $1:/"
    else
        grep -E '^(ok|FAIL)' "$QY_RUN/$1.out"
        grep -v 'level=' "$QY_RUN/$1.out" | head -150
        it_fail "scoring_tally on $1"
    fi
}
qy_start_redis "$QY_RUN"
tally redis 400
# On a Redis Cluster: one transaction per group, WATCH, MULTI and EXEC
# sent to the node serving the group's slot (qy_redis_append_keyed).
qy_start_redis_cluster "$QY_RUN/c" || { it_fail "cluster create"; cat "$QY_RUN/c/rc/create.log"; exit 1; }
tally cluster 150
# And while the racing processes count, group C's slot moves to another
# master: transactions meet ASK, TRYAGAIN and MOVED, run again, and the
# group still ends as if counted once.
for p in $QY_REDIS_CLUSTER_PORTS; do redis-cli -p "$p" flushall >/dev/null 2>&1 || true; done
SCORING_TALLY_DURING_RACE="$IT_CASE/move_slot.sh $QY_REDIS_PORT {g:73} 2>>$QY_RUN/move_slot.log" tally resharded 150
grep -q 'moved from' "$QY_RUN/move_slot.log" && echo "ok: resharded: $(cat "$QY_RUN/move_slot.log")" \
    || it_fail "the slot was not moved: $(cat "$QY_RUN/move_slot.log")"
it_done
