#!/usr/bin/env bash
# Console benchmark (a benchmark, not a test: it prints numbers and fails
# only if something does not answer). A brand of 3,000 groups in 100 stores
# and 10 regions, 90 days of group roll-ups (270,000 rows), 30,000 members
# and an archive of QY_BENCH_MESSAGES (default 1,000,000) Chinese messages
# over 30 days; the console as qy_console; p50/p95 of
#   GET /api/v1/overview (30 and 90 days), GET /api/v1/groups (default and
#   filtered + sorted), archive search for phrases of 3+ and 2 characters,
#   as HQ (the whole brand) and as a store user,
# over QY_BENCH_REQUESTS (default 200) requests each on one keep-alive
# connection after a warm-up. It shows the plan of a search (pg_trgm's GIN
# index on messages.text, migration 090) and that the index finds the same
# Chinese substrings as a sequential scan.
#   usage: tests/bench/console/run.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/../../integration/lib.sh"
N=${QY_BENCH_MESSAGES:-1000000}
R=${QY_BENCH_REQUESTS:-200}
it_servers
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QYCTL" brand create bench "压测品牌" >/dev/null
B=$(q "SELECT id FROM brands WHERE code = 'bench'")
t0=$(date +%s)
psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 -v b="$B" -v n="$N" -f "$(dirname "$0")/data.sql"
qy_log "generated $(q "SELECT count (*) FROM groups") groups, $(q "SELECT count (*) FROM daily_group_stats") roll-ups, $(q "SELECT count (*) FROM messages") messages in $(( $(date +%s) - t0 )) s"
qy_log "trigram index: $(q "SELECT pg_size_pretty (sum (pg_relation_size (indexrelid))) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'messages_%text%'") over $(q "SELECT pg_size_pretty (sum (pg_relation_size (inhrelid))) FROM pg_inherits WHERE inhparent = 'messages'::regclass") of messages"

PW=bench-password-1
echo "$PW" | "$QYCTL" user create bench bench-hq --role hq >/dev/null
echo "$PW" | "$QYCTL" user create bench bench-store --role store --store s001 >/dev/null
HQ=$("$QYCTL" user token bench-hq --name bench | awk '{print $2}')
ST=$("$QYCTL" user token bench-store --name bench | awk '{print $2}')
q "ALTER ROLE qy_console LOGIN" >/dev/null
PORT=$(qy_free_port)
# Every figure is taken without the overview cache (overview.cache_s = 0),
# but the two marked cached, from a second console with the default.
QY_CONSOLE_PG_DSN="host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_console" QY_CONSOLE_CONSOLE_PORT=$PORT \
    QY_CONSOLE_CONSOLE_BIND=127.0.0.1 QY_HTTP_PORT=0 QY_CONSOLE_OVERVIEW_CACHE_S=0 qy_start console "$QY_BUILD/services/console/qy-console"
qy_wait_health console "$PORT"
PORT2=$(qy_free_port)
QY_CONSOLE_PG_DSN="host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_console" QY_CONSOLE_CONSOLE_PORT=$PORT2 \
    QY_CONSOLE_CONSOLE_BIND=127.0.0.1 QY_HTTP_PORT=0 qy_start cached "$QY_BUILD/services/console/qy-console"
qy_wait_health cached "$PORT2"
U="http://127.0.0.1:$PORT/api/v1"

# bench NAME TOKEN PATH…: R requests cycling over the paths, one connection.
bench () {
    local name=$1 token=$2; shift 2
    local cfg=$QY_RUN/curl.cfg; : > "$cfg"
    for i in $(seq $((R + 20))); do
        local p=${*:$(( (i - 1) % $# + 1 )):1}
        printf 'url = "%s%s"\noutput = "/dev/null"\n' "$U" "$p" >> "$cfg"
    done
    curl -s -H "Authorization: Bearer $token" -K "$cfg" -w '%{http_code} %{time_total}\n' > "$QY_RUN/times"
    grep -qv '^200 ' "$QY_RUN/times" && { echo "FAIL: $name: $(grep -v '^200 ' "$QY_RUN/times" | head -1)"; exit 1; }
    tail -n +21 "$QY_RUN/times" | awk '{print $2 * 1000}' | sort -n | awk -v n="$name" '{ v[NR] = $1 } END {
        p50 = v[int(NR * 0.50 + 0.5)]; p95 = v[int(NR * 0.95 + 0.5)]
        printf "  %-44s p50 %7.1f ms   p95 %7.1f ms   (%d requests)\n", n, p50, p95, NR }'
}
echo "console benchmark: 3,000 groups, 90 days of roll-ups, $N archived messages over 30 days"
bench "overview, 30 days (hq)" "$HQ" "/overview?days=30"
bench "overview, 90 days (hq)" "$HQ" "/overview?days=90"
bench "overview, 30 days (store)" "$ST" "/overview?days=30"
U="http://127.0.0.1:$PORT2/api/v1"
bench "overview, 30 and 90 days (hq, cached)" "$HQ" "/overview?days=30" "/overview?days=90"
U="http://127.0.0.1:$PORT/api/v1"
bench "groups list, first page (hq)" "$HQ" "/groups"
bench "groups list, filtered, by health (hq)" "$HQ" "/groups?state=healthy&sort=-health&limit=50" "/groups?region=r3&sort=size" "/groups?tag=vip&min_health=50&sort=-activity"
bench "groups list, page 40 (hq)" "$HQ" "/groups?after=2000"
bench "search 3+ characters, 30 days (hq)" "$HQ" "/search?q=%E9%99%90%E9%87%8F%E7%A4%BC%E7%9B%92" "/search?q=%E4%BB%80%E4%B9%88%E6%97%B6%E5%80%99%E5%8F%91%E8%B4%A7" "/search?q=%E7%A7%AF%E5%88%86%E5%85%91%E6%8D%A2"
bench "search 3+ characters (store)" "$ST" "/search?q=%E9%99%90%E9%87%8F%E7%A4%BC%E7%9B%92" "/search?q=%E7%A7%AF%E5%88%86%E5%85%91%E6%8D%A2"
bench "search 2 characters, 30 days (hq)" "$HQ" "/search?q=%E5%8C%85%E9%82%AE"
bench "search by member (hq)" "$HQ" "/search?member=u123" "/search?member=u4567"
echo "plan of the statement qy_archive_search (098) runs for a 3-character search as HQ:"
psql "$QY_PG_DSN" -qAt -c "BEGIN" -c "SELECT set_config ('qy.brand_id', '$B', true), set_config ('qy.role', 'hq', true)" \
    -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT m.* FROM messages m WHERE m.event_time >= now () - interval '30 days'
        AND m.event_time < now () + interval '1 day' AND m.brand_id = $B AND m.text LIKE '%限量礼盒%'
        ORDER BY m.event_time DESC, m.msg_id LIMIT 51" -c "COMMIT" \
    | grep -E 'Bitmap Index Scan|Seq Scan on messages|Execution' | sed -E 's/messages_[0-9]{8}/messages_DAY/g; s/ m_[0-9]+ / /; s/rows=[0-9]+/rows=N/; s/[0-9.]+ ms/… ms/' \
    | sort | uniq -c | sed 's/^ */  /; s/  *-> */ × /'
idx=$(q "SELECT count (*) FROM messages WHERE text LIKE '%限量礼盒%'")
seq=$(psql "$QY_PG_DSN" -qAt -c "SET enable_bitmapscan = off" -c "SET enable_indexscan = off" -c "SELECT count (*) FROM messages WHERE text LIKE '%限量礼盒%'")
echo "  '限量礼盒' found by the index: $idx, by a sequential scan: $seq"
[ "$idx" = "$seq" ] && [ "$idx" -gt 0 ] || { echo "FAIL: the trigram index and the scan disagree"; exit 1; }
