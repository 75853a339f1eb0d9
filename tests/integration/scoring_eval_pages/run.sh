#!/usr/bin/env bash
# scoring's evaluation reads and writes a page of groups (up to 50) with a fixed number of
# statements, not a few per group (issue 19 target 4: with 100,000 groups a round cost about 14
# statements per group). 200 groups get events; every evaluation round is a sweep of all of them
# (eval.sweep_every 1); the statements of the health write and of the group rows are counted in
# pg_stat_statements over a few hundred evaluations: a handful per page. What the evaluation
# wrote is checked too: every group with events has its state and health, and its members' scores.
source "$(dirname "$0")/../lib.sh"
it_servers
it_pg_statements
it_gateway
"$QYCTL" demo load --brand ev --stores 50 --groups 4 --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
export QY_SCORING_ROLLUP_INTERVAL_MS=300 QY_SCORING_EVAL_INTERVAL_MS=300 QY_SCORING_EVAL_SWEEP_EVERY=1
qy_start_services "$QY_BUILD" 1 1
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QY_BUILD/tools/loadgen/qy-loadgen" --endpoint "$QY_INGEST_ENDPOINT" --brand ev --stores 50 --groups 4 --members 3 \
    --messages 1000 --batch 500 --window 1 --dup-rate 0 --seed 4 --run pages > "$QY_RUN/load.out"
evaluations () { qy_metric "$QY_HTTP_scoring1" qy_scoring_evaluations_total; }
all_states () { [ "$(sql "SELECT count (*) FROM group_states")" = 200 ]; }
it_wait "every group with events evaluated" all_states
calls () { sql "SELECT coalesce (sum (calls), 0) FROM pg_stat_statements WHERE query LIKE \$\$%$1%\$\$"; }
sql "SELECT pg_stat_statements_reset ()" >/dev/null
e0=$(evaluations)
more () { [ $(( $(evaluations) - e0 )) -ge 400 ]; }
it_wait "two more rounds of every group" more
evals=$(( $(evaluations) - e0 )) health=$(calls "INSERT INTO group_health") meta=$(calls "JOIN groups g ON g.id = x.g")
# Pages of up to 50: about evals / 50 each; a statement per group would make them evals.
[ "$health" -ge 1 ] && [ $(( health * 10 )) -le "$evals" ] && [ "$meta" -ge 1 ] && [ $(( meta * 10 )) -le "$evals" ] \
    && echo "ok   $evals evaluations: $health health writes, $meta group reads" \
    || it_fail "$evals evaluations cost $health health writes and $meta group reads (a page at a time: at most a tenth)"
it_eq "group health rows" "$(sql "SELECT count (*) FROM group_health")" 200
it_eq "groups with events and no state" "$(sql "SELECT count (DISTINCT m.group_id) FROM messages m
    WHERE NOT EXISTS (SELECT 1 FROM group_states s WHERE s.group_id = m.group_id)")" 0
it_eq "members who spoke and have no score" "$(sql "SELECT count (*) FROM (SELECT DISTINCT group_id, member_id FROM messages
    WHERE kind = 'text' AND role = 'member') m
    WHERE NOT EXISTS (SELECT 1 FROM member_scores s WHERE s.group_id = m.group_id AND s.member_id = m.member_id)")" 0
scored=$(sql "SELECT count (*) FROM member_scores")
[ "$scored" -ge 200 ] && echo "ok   member scores = $scored" || it_fail "only $scored member scores"
it_eq "scores in the right brand" "$(sql "SELECT count (*) FROM member_scores s JOIN groups g ON g.id = s.group_id
    WHERE g.brand_id <> s.brand_id")" 0
it_done
