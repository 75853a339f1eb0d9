#!/usr/bin/env bash
# The tables migration 115 keeps for the console from what scoring writes:
#   1. store_day_totals equals daily_group_stats summed per store and day
#      after inserts, roll-ups replacing a day, deletes (retention), a
#      group moved to another store, and two writers rolling up groups of
#      one store at the same time;
#   2. group_health_days keeps each day's last evaluation of a group;
#   3. both are under row-level security: a store user sees its store's.
source "$(dirname "$0")/../lib.sh"
it_servers
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
Q=$QYCTL
"$Q" brand create acme Acme >/dev/null
for s in s1 s2; do "$Q" store create acme $s "店$s" >/dev/null; done
"$Q" group create acme g1 "群1" --store s1 >/dev/null
"$Q" group create acme g2 "群2" --store s1 >/dev/null
"$Q" group create acme g3 "群3" --store s2 >/dev/null
"$Q" group create acme g4 "群4" >/dev/null
# what the totals must be: the roll-ups summed now
expect () { q "SELECT coalesce (string_agg (format ('%s %s %s %s %s %s %s', coalesce (s.code, '-'), x.day, x.m, x.a, x.j, x.l, x.v), '|' ORDER BY s.code, x.day), '')
               FROM (SELECT g.store_id, d.day, sum (d.messages) m, sum (d.active_members) a, sum (d.joins) j, sum (d.leaves) l, sum (d.violations) v
                     FROM daily_group_stats d JOIN groups g ON g.id = d.group_id GROUP BY 1, 2) x LEFT JOIN stores s ON s.id = x.store_id"; }
totals () { q "SELECT coalesce (string_agg (format ('%s %s %s %s %s %s %s', coalesce (s.code, '-'), t.day, t.messages, t.active_members, t.joins, t.leaves, t.violations), '|' ORDER BY s.code, t.day), '')
               FROM store_day_totals t LEFT JOIN stores s ON s.id = t.store_id
               WHERE (t.messages, t.active_members, t.joins, t.leaves, t.violations) <> (0, 0, 0, 0, 0)"; }
check () { it_eq "$1" "$(totals)" "$(expect)"; }

q "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, active_members, joins, leaves, violations)
   SELECT g.brand_id, g.id, current_date - k, 10 * k + g.id, k, 1, 0, k % 2 FROM groups g, generate_series (0, 4) k" >/dev/null
check "after a bulk insert"
it_eq "s1 today: g1 + g2" "$(q "SELECT messages FROM store_day_totals t JOIN stores s ON s.id = t.store_id WHERE s.code = 's1' AND day = current_date")" \
    "$(q "SELECT sum (messages) FROM daily_group_stats d JOIN groups g ON g.id = d.group_id WHERE g.code IN ('g1', 'g2') AND day = current_date")"
# a roll-up replaces a day, as scoring's upsert does
q "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, active_members, joins, leaves, violations)
   SELECT brand_id, id, current_date, 500, 7, 2, 1, 3 FROM groups WHERE code = 'g1'
   ON CONFLICT (group_id, day) DO UPDATE SET messages = EXCLUDED.messages, active_members = EXCLUDED.active_members,
   joins = EXCLUDED.joins, leaves = EXCLUDED.leaves, violations = EXCLUDED.violations" >/dev/null
check "after a roll-up replaced a day"
q "DELETE FROM daily_group_stats WHERE day < current_date - 3" >/dev/null
check "after retention deleted old days"
q "UPDATE groups SET store_id = (SELECT id FROM stores WHERE code = 's2') WHERE code = 'g2'" >/dev/null
check "after g2 moved to s2"
q "UPDATE groups SET store_id = NULL WHERE code = 'g3'" >/dev/null
check "after g3 lost its store"
# two writers at once, each replacing its group's days 200 times
writer () { for i in $(seq 200); do
    echo "UPDATE daily_group_stats SET messages = $i * group_id, violations = $i % 5 WHERE group_id = (SELECT id FROM groups WHERE code = '$1');"
done | psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 >/dev/null; }
q "UPDATE groups SET store_id = (SELECT id FROM stores WHERE code = 's1') WHERE code IN ('g2', 'g3')" >/dev/null
writer g1 & w1=$!; writer g2 & w2=$!; writer g3 & w3=$!
wait $w1 $w2 $w3
check "after three concurrent writers on one store"

# ---- 2. health history: the day's last evaluation wins
g1=$(q "SELECT id FROM groups WHERE code = 'g1'")
health () { q "INSERT INTO group_health (brand_id, group_id, day, members, dau, wau, mau, active_ratio, msgs_per_day, top3_share, gini,
               self_activation, growth_rate, leave_rate, violation_rate, post_response, health, state, lifecycle)
               SELECT brand_id, id, current_date - $1, 50, 5, 20, 40, 0.4, 12, 0.3, 0.5, 0.8, 0.02, 0.01, 0.001, 1.5, $2, '$3', 'long_term'
               FROM groups WHERE code = 'g1'
               ON CONFLICT (group_id) DO UPDATE SET day = EXCLUDED.day, health = EXCLUDED.health, state = EXCLUDED.state" >/dev/null; }
health 2 61 healthy; health 1 55 declining; health 0 40 declining; health 0 72 growing
it_eq "health history" "$(q "SELECT string_agg ((current_date - day) || ':' || health || ':' || state, ',' ORDER BY day) FROM group_health_days WHERE group_id = $g1")" \
    "2:61:healthy,1:55:declining,0:72:growing"

# ---- 3. row-level security
q "ALTER ROLE qy_console LOGIN" >/dev/null
s1=$(q "SELECT id FROM stores WHERE code = 's1'")
b=$(q "SELECT id FROM brands WHERE code = 'acme'")
as_store () { psql "host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_console" -qAt -c "BEGIN" \
    -c "SELECT set_config ('qy.brand_id', '$b', true), set_config ('qy.role', 'store', true), set_config ('qy.store_ids', '$s1', true)" \
    -c "$1" -c "COMMIT" | sed -n 2p; }
it_eq "a store user's totals: its store only" "$(as_store "SELECT string_agg (DISTINCT store_id::text, ',') FROM store_day_totals")" "$s1"
it_eq "no scope: nothing" "$(psql "host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_console" -qAtc "SELECT count (*) FROM store_day_totals")" 0
it_eq "a store user's health history: its groups" "$(as_store "SELECT count (*) FROM group_health_days")" 3
it_done
