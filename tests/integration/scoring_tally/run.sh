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
# once.
source "$(dirname "$0")/../lib.sh"
qy_start_redis "$QY_RUN"
if "$QY_BUILD/tests/integration/qy_test_scoring_tally" "$QY_REDIS_PORT" "$IT_CASE/scoring_count.lua" 400 \
        > "$QY_RUN/scoring_tally.out" 2>&1; then
    grep '^ok' "$QY_RUN/scoring_tally.out"
else
    grep -E '^(ok|FAIL)' "$QY_RUN/scoring_tally.out"
    grep -v 'level=' "$QY_RUN/scoring_tally.out" | head -150
    it_fail "scoring_tally"
fi
it_done
