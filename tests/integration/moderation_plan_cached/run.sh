#!/usr/bin/env bash
# Moderation's read before it records (the member's strikes, behaviour and content counts) keeps
# to the member's rows under a plan made when the violations table was nearly empty, as in a fresh
# installation: the read runs its generic plan (QY_PG_GENERIC_PLANS), made once, at the first
# batch with a violation, and kept until the table is analysed. On a table that small PostgreSQL
# costs every index led by brand_id alike; it took (brand_id, msg_id) for the member's counts, and
# once the table had grown (here 20,000 strikes of other members, never analysed) each count read
# every violation of the brand (measured here: 8,552 buffers per violation read; in the flat-out
# pipeline benchmark, a fresh database's first seconds, 8-22 ms a batch). The counts ask for
# the member's index's order, which keeps them to a few buffers whatever the statistics say:
# about 90 per violation, nearly all the batch's one pass over the table for its own messages'
# earlier violations (a hash join under the same plan; an index look-up once the table is
# analysed). Measured from pg_stat_statements: buffers per violation read; the bound is 400.
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
sql "ALTER TABLE violations SET (autovacuum_enabled = off)"
qy_start_services "$QY_BUILD"
t0=$(( $(date +%s%N) / 1000 )) n=0
ev () {   # ev MSG MEMBER KIND TEXT
    n=$((n + 1))
    printf '{"brand":"acme","msg_id":"%s","group":"room1","member":"%s","kind":"%s","text":"%s","join_scene":"qr_scan","event_time_us":%d}\n' \
        "$1" "$2" "$3" "$4" $((t0 + n * 1000))
}
judged () { [ "$(sql "SELECT count (*) FROM violations WHERE brand_id = $BID AND msg_id NOT LIKE 'old%'")" -ge "$1" ]; }

# 1. The plan is made on an almost empty table: the read's first run (unnamed) and its second
#    (prepared, which makes the generic plan), a batch with a violation each.
for k in 1 2; do
    { ev "j0$k" "first$k" join ""; ev "first$k" "first$k" text "加我电话 1351234000$k"; } | "$QYCTL" send - > /dev/null
    it_wait "violation $k judged" judged "$k"
done
# 2. The table grows behind the plan: 20,000 strikes of other members, never analysed.
sql "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits,
                             strike, status)
     SELECT $BID, $GID, 1000000 + g, 'old' || g, now () - interval '1 hour', 'ad', 0.9, 'recall', '{}', '[]', 1, 'enforced'
     FROM generate_series (1, 20000) g"
it_eq "violations never analysed" "$(sql "SELECT coalesce (last_analyze, last_autoanalyze)::text IS NULL
    FROM pg_stat_user_tables WHERE relname = 'violations'")" t
sql "SELECT pg_stat_statements_reset ()" >/dev/null
# 3. Thirty newcomers each post a phone number, in batches of eight; one of them twice (a strike
#    counted from the first, so the second climbs the ladder).
{
    for k in $(seq 30); do
        ev "jn$k" "nb$k" join ""
        ev "nb$k" "nb$k" text "加我电话 1351234$(printf %04d "$k")"
    done
    ev "nb1-again" nb1 text "加我电话 13512349999"
} > "$QY_RUN/events.jsonl"
"$QYCTL" send "$QY_RUN/events.jsonl" --batch 8 > /dev/null
it_wait "33 violations judged" judged 33
it_eq "a second strike climbs the ladder" "$(sql "SELECT string_agg (action, ' ' ORDER BY msg_id) FROM violations
    WHERE brand_id = $BID AND msg_id IN ('nb1', 'nb1-again')")" "warn mute"
it_eq "violations still not analysed" "$(sql "SELECT coalesce (last_analyze, last_autoanalyze)::text IS NULL
    FROM pg_stat_user_tables WHERE relname = 'violations'")" t
read -r rows blocks <<< "$(it_pg_buffers '%link_keys && string_to_array%')"
[ "${rows:-0}" -ge 31 ] || it_fail "the statement read ${rows:-0} violations, expected at least 31"
per=$(( blocks / rows ))
[ "$per" -le 400 ] && echo "ok   the member's counts: $per buffers per violation ($blocks for $rows)" \
    || it_fail "the member's counts: $per buffers per violation ($blocks for $rows), bound 400"
it_done
