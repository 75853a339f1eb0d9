#!/usr/bin/env bash
# Moderation's linked-accounts count (issue 20 §7) reads the few rows that share a sender's keys,
# not every strike of the brand (issue 19 target 4: at 100,000 groups that read was 23 ms a
# batch). The table is left unanalysed, as it is in a fresh installation's first minutes, with
# 20,000 strikes of other members behind it; the keys' GIN index without its pending list
# (migration 125) and a statement the planner cannot pair with the brand's index keep the
# read before each batch's record to a few pages a violation. Measured from pg_stat_statements:
# buffers the "violation existing" statement touches per violation it reads. Before, about
# 600 (measured: 588); after, about 15; the bound is 100. The linked accounts' strikes still count: la2's first strike is the
# ladder's second step (a mute, where la1's was a warning). And the read is planned once, not
# at every batch.
source "$(dirname "$0")/../lib.sh"
it_servers
it_pg_statements
it_gateway --token gw
"$QYCTL" brand create acme "Acme" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw) >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" group create acme room1 "群 room1" --store s1 >/dev/null
"$QYCTL" rules load acme >/dev/null
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
BID=$(sql "SELECT id FROM brands WHERE code = 'acme'")
GID=$(sql "SELECT id FROM groups WHERE brand_id = $BID")
# 20,000 strikes of other members, half with keys of their own; never analysed.
sql "ALTER TABLE violations SET (autovacuum_enabled = off)"
sql "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits,
                             strike, status, link_keys)
     SELECT $BID, $GID, 1000000 + g, 'old' || g, now () - interval '1 hour', 'ad', 0.9, 'recall', '{}', '[]',
            1, 'enforced', CASE WHEN g % 2 = 0 THEN ARRAY['u:old' || g] END
     FROM generate_series (1, 20000) g"
it_eq "violations never analysed" "$(sql "SELECT coalesce (last_analyze, last_autoanalyze)::text IS NULL
    FROM pg_stat_user_tables WHERE relname = 'violations'")" t
qy_start_services "$QY_BUILD"
sql "SELECT pg_stat_statements_reset ()" >/dev/null

t0=$(( $(date +%s%N) / 1000 )) n=0
ev () {   # ev MSG MEMBER KIND TEXT UNIONID
    n=$((n + 1))
    printf '{"brand":"acme","msg_id":"%s","group":"room1","member":"%s","kind":"%s","text":"%s","unionid":"%s","join_scene":"qr_scan","event_time_us":%d}\n' \
        "$1" "$2" "$3" "$4" "$5" $((t0 + n * 1000))
}
{
    # two accounts of one WeChat user, each posting a phone number: la2's first strike is the
    # ladder's second step; then 30 newcomers each posting one, every one with keys to look up
    ev j1 la1 join "" ""
    ev la1 la1 text "我的电话 13512345678" oU-same-person
    ev j2 la2 join "" ""
    ev la2 la2 text "我的电话 13512345679" oU-same-person
    for k in $(seq 30); do
        ev "jn$k" "nb$k" join "" ""
        ev "nb$k" "nb$k" text "加我电话 1351234$(printf %04d "$k")" "oU-nb$k"
    done
} > "$QY_RUN/events.jsonl"
"$QYCTL" send "$QY_RUN/events.jsonl" --batch 8 > /dev/null
judged () { [ "$(sql "SELECT count (*) FROM violations WHERE brand_id = $BID AND msg_id NOT LIKE 'old%'")" -ge 32 ]; }
it_wait "32 phone numbers judged" judged
sleep 1
it_eq "first account's action" "$(sql "SELECT action FROM violations WHERE brand_id = $BID AND msg_id = 'la1'")" warn
it_eq "linked account's first strike, the second step" "$(sql "SELECT action FROM violations WHERE brand_id = $BID AND msg_id = 'la2'")" mute
it_eq "violations still not analysed" "$(sql "SELECT coalesce (last_analyze, last_autoanalyze)::text IS NULL
    FROM pg_stat_user_tables WHERE relname = 'violations'")" t
# Buffers per violation read: the statement's rows are one per violation it was asked about.
read -r rows blocks <<< "$(it_pg_buffers '%link_keys && string_to_array%')"
[ "${rows:-0}" -ge 32 ] || it_fail "the statement read ${rows:-0} violations, expected at least 32"
per=$(( blocks / rows ))
[ "$per" -le 100 ] && echo "ok   linked-accounts read: $per buffers per violation ($blocks for $rows)" \
    || it_fail "linked-accounts read: $per buffers per violation ($blocks for $rows), bound 100"
# The read runs its generic plan (QY_PG_GENERIC_PLANS, moderation_store.c): planned once for its
# unnamed first run and once when prepared, not at every batch as PostgreSQL's default would
# (0.5–1 ms a batch), and still within the bound above on the unanalysed table. Four more
# batches, a newcomer's phone number each.
for k in 1 2 3 4; do
    { ev "jl$k" "lt$k" join "" ""; ev "late$k" "lt$k" text "加我电话 1361234000$k" "oU-lt$k"; } | "$QYCTL" send - > /dev/null
    late () { [ "$(sql "SELECT count (*) FROM violations WHERE brand_id = $BID AND msg_id LIKE 'late%'")" -ge "$k" ]; }
    it_wait "late violation $k judged" late
done
read -r calls plans <<< "$(sql "SELECT sum (calls), sum (plans) FROM pg_stat_statements
    WHERE query LIKE '%link_keys && string_to_array%'" | tr '|' ' ')"
[ "${calls:-0}" -ge 5 ] && [ "${plans:-99}" -le 2 ] && echo "ok   the read planned $plans times for $calls batches" \
    || it_fail "the read planned ${plans:-?} times for ${calls:-?} batches, expected at most 2 for at least 5"
it_done
