#!/usr/bin/env bash
# What migration 115's triggers cost scoring's roll-up writes (a benchmark,
# not a test). 300 groups in 10 stores; N (default 3,000) roll-up upserts
# of one group-day each, in scoring's shape (BEGIN, the upsert of
# daily_group_stats, COMMIT), and N health evaluations (the upsert of
# group_health), each set timed with the triggers enabled and disabled,
# alternately, three times.
#   usage: tests/bench/console/triggers.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/../../integration/lib.sh"
N=${QY_BENCH_ROLLUPS:-3000}
it_servers
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QYCTL" brand create bench "压测品牌" >/dev/null
q "INSERT INTO stores (brand_id, code, name) SELECT b.id, 's' || k, '店' || k FROM brands b, generate_series (1, 10) k" >/dev/null
q "INSERT INTO groups (brand_id, code, name, store_id) SELECT s.brand_id, s.code || '-g' || k, '群' || k, s.id
   FROM stores s, generate_series (1, 30) k" >/dev/null
gen () {   # gen ROLLUP|HEALTH ROUND: N statements of one kind
    q "SELECT id, brand_id FROM groups" > "$QY_RUN/groups"
    awk -v n="$N" -v kind="$1" -v r="$2" 'BEGIN { srand (r) } { g [NR] = $0 } END {
        for (i = 0; i < n; i++) { split (g [i % NR + 1], x, "|"); d = int (i / NR)
          if (kind == "rollup")
            printf "BEGIN; INSERT INTO daily_group_stats (brand_id, group_id, day, messages, active_members, joins, leaves, violations, events) VALUES (%s, %s, current_date - %d, %d, 3, 1, 0, 0, %d) ON CONFLICT (group_id, day) DO UPDATE SET messages = EXCLUDED.messages, events = EXCLUDED.events, updated_at = now () WHERE daily_group_stats.events <= EXCLUDED.events; COMMIT;\n", x[2], x[1], d % 30, r * 1000 + i, r * 1000 + i
          else
            printf "INSERT INTO group_health (brand_id, group_id, day, members, dau, wau, mau, active_ratio, msgs_per_day, top3_share, gini, self_activation, growth_rate, leave_rate, violation_rate, post_response, health, state, lifecycle) VALUES (%s, %s, current_date, 50, 5, 20, 40, 0.4, 12, 0.3, 0.5, 0.8, 0.02, 0.01, 0.001, 1.5, %d, %s, %s) ON CONFLICT (group_id) DO UPDATE SET health = EXCLUDED.health, updated_at = now ();\n", x[2], x[1], i % 100, "'\''healthy'\''", "'\''long_term'\''" } }' \
        "$QY_RUN/groups" > "$QY_RUN/$1.sql"
}
run () {   # run KIND on|off ROUND → seconds
    gen "$1" "$3"
    local t=daily_group_stats; [ "$1" = health ] && t=group_health
    q "ALTER TABLE $t $([ "$2" = on ] && echo ENABLE || echo DISABLE) TRIGGER USER" >/dev/null
    local t0; t0=$(date +%s.%N)
    psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$QY_RUN/$1.sql" >/dev/null
    echo "$(date +%s.%N) - $t0" | bc
    q "ALTER TABLE $t ENABLE TRIGGER USER" >/dev/null
    # what the run without triggers wrote, summed again (the totals stay true for the check below)
    [ "$2" = on ] || q "TRUNCATE store_day_totals; SELECT qy_store_day_add (array_agg (r.brand_id), array_agg (g.store_id), array_agg (r.day),
        array_agg (r.messages), array_agg (r.active_members), array_agg (r.joins), array_agg (r.leaves), array_agg (r.violations))
        FROM daily_group_stats r JOIN groups g ON g.id = r.group_id" >/dev/null
}
echo "migration 115's triggers: $N single statements each, one psql session, load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in rollup health; do
    for round in 1 2 3; do
        off=$(run "$kind" off "$round"); on=$(run "$kind" on "$((round + 10))")
        printf '  %-7s round %d: triggers off %6.2f s (%5.2f ms each)   on %6.2f s (%5.2f ms each)\n' "$kind" "$round" \
            "$off" "$(echo "$off * 1000 / $N" | bc -l)" "$on" "$(echo "$on * 1000 / $N" | bc -l)"
    done
done
it_eq "totals still equal the roll-ups" "$(q "SELECT sum (messages) FROM store_day_totals")" "$(q "SELECT sum (messages) FROM daily_group_stats")"
