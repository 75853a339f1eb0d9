#!/usr/bin/env bash
# Moderation's behaviour counts (flood, repeat, spam wave, joined, join wave) as plain
# pipelined commands with the counting in C, against the Lua script they replaced
# (moderation_check_ref.lua, unchanged from 3f4f0fa) on random batches in a real Redis:
# every event's counts agree, and a redelivered batch counts as its first delivery did
# (moderation_counts.c).
source "$(dirname "$0")/../lib.sh"
it_servers
if "$QY_BUILD/tests/integration/qy_test_moderation_counts" "$QY_REDIS_PORT" "$(dirname "$0")/moderation_check_ref.lua" \
        > "$QY_RUN/moderation_counts.out" 2>&1; then
    tail -1 "$QY_RUN/moderation_counts.out"
else
    grep -v 'level=info' "$QY_RUN/moderation_counts.out" | head -40
    it_fail "moderation_counts"
fi
it_done
