#!/usr/bin/env bash
# Row-level security (deploy/migrations/099_console_rls.sql), through psql
# connected as the console's own role qy_console: with no scope set it sees
# no rows at all; with a store scope only that store's rows, even for a
# query with no WHERE clause; a region, hq and platform-admin scope see
# theirs, and so does the archive search function (098);
# theirs; writes outside the scope change nothing or are refused; the
# partitions and the gateway secrets are out of reach; the roll-up views
# obey the policies too. The owner (the pipeline services' role) sees all.
source "$(dirname "$0")/../lib.sh"
it_servers
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
# Two brands; acme has two regions, three stores, a group per store.
"$QYCTL" brand create acme "Acme" >/dev/null
"$QYCTL" brand create other "Other" >/dev/null
"$QYCTL" region create acme north "北区" >/dev/null
"$QYCTL" region create acme south "南区" >/dev/null
"$QYCTL" store create acme s1 "一号店" --region north >/dev/null
"$QYCTL" store create acme s2 "二号店" --region north >/dev/null
"$QYCTL" store create acme s3 "三号店" --region south >/dev/null
"$QYCTL" store create other o1 "别家店" >/dev/null
for g in 1 2 3; do "$QYCTL" group create acme room$g "群$g" --store s$g >/dev/null; done
"$QYCTL" group create other oroom "别家群" --store o1 >/dev/null
q "SELECT qy_ensure_partition (current_date)" >/dev/null
q "INSERT INTO members (brand_id, user_id) SELECT b.id, u FROM brands b, unnest (ARRAY['u1','u2','u3']) u WHERE b.code = 'acme';
   INSERT INTO members (brand_id, user_id) SELECT id, 'x1' FROM brands WHERE code = 'other';
   INSERT INTO memberships (brand_id, group_id, member_id)
     SELECT g.brand_id, g.id, m.id FROM groups g JOIN members m ON m.brand_id = g.brand_id
     AND substr (g.code, 5) = substr (m.user_id, 2) OR (g.code = 'oroom' AND m.user_id = 'x1');
   INSERT INTO messages (brand_id, event_time, msg_id, group_id, store_id, member_id, kind, text)
     SELECT ms.brand_id, now (), 'm-' || g.code, g.id, g.store_id, ms.member_id, 'text', '你好 ' || g.code
     FROM memberships ms JOIN groups g ON g.id = ms.group_id;
   INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits)
     SELECT brand_id, group_id, member_id, msg_id, event_time, 'ad', 1, 'review', '{}', '[]' FROM messages;
   INSERT INTO daily_group_stats (brand_id, group_id, day, messages, hour_hist)
     SELECT brand_id, id, current_date, 10, array_fill (0::bigint, ARRAY[9]) || 10::bigint || array_fill (0::bigint, ARRAY[14])
     FROM groups;" >/dev/null
ACME=$(q "SELECT id FROM brands WHERE code = 'acme'")
S1=$(q "SELECT id FROM stores WHERE code = 's1'")
S3=$(q "SELECT id FROM stores WHERE code = 's3'")
NORTH=$(q "SELECT id FROM regions WHERE code = 'north'")
# The deployment's step: qy_console may log in (trust auth in this cluster).
q "ALTER ROLE qy_console LOGIN" >/dev/null
CON="host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=qy_console"
it_eq "connected as" "$(psql "$CON" -qAtc "SELECT current_user")" qy_console
# as SCOPE SQL: run SQL as qy_console in one transaction after SCOPE (SET LOCALs).
as () { psql "$CON" -qAt -v ON_ERROR_STOP=1 -c "BEGIN; $1 $2 COMMIT;" 2>&1 | grep -v '^$' | tr '\n' ' ' | sed 's/ $//' || true; }
STORE="SET LOCAL qy.brand_id = '$ACME'; SET LOCAL qy.role = 'store'; SET LOCAL qy.store_ids = '$S1';"
REGION="SET LOCAL qy.brand_id = '$ACME'; SET LOCAL qy.role = 'region'; SET LOCAL qy.region_id = '$NORTH';"
HQ="SET LOCAL qy.brand_id = '$ACME'; SET LOCAL qy.role = 'hq';"
ADMIN="SET LOCAL qy.admin = 'on';"

# 1. No scope: no rows at all, in any table.
for t in brands regions stores groups members memberships messages violations daily_group_stats store_daily_stats \
         hourly_group_stats; do
    it_eq "no scope: $t" "$(as "" "SELECT count (*) FROM $t;")" 0
done
it_eq "owner sees every group" "$(q "SELECT count (*) FROM groups")" 4
# 2. A store scope: only that store's rows, with no WHERE clause.
it_eq "store: groups" "$(as "$STORE" "SELECT code FROM groups ORDER BY code;")" room1
it_eq "store: stores" "$(as "$STORE" "SELECT code FROM stores;")" s1
it_eq "store: messages" "$(as "$STORE" "SELECT msg_id FROM messages;")" m-room1
it_eq "store: members" "$(as "$STORE" "SELECT user_id FROM members;")" u1
it_eq "store: violations" "$(as "$STORE" "SELECT msg_id FROM violations;")" m-room1
it_eq "store: day stats view" "$(as "$STORE" "SELECT count (*) || ':' || sum (messages) FROM store_daily_stats;")" 1:10
it_eq "store: hours view" "$(as "$STORE" "SELECT count (*) || ':' || sum (messages) FROM hourly_group_stats;")" 1:10
it_eq "store: brand row" "$(as "$STORE" "SELECT code FROM brands;")" acme
it_eq "store: its store's region only" "$(as "$STORE" "SELECT code FROM regions;")" north
it_eq "store: a WHERE naming another store's group" "$(as "$STORE" "SELECT count (*) FROM groups WHERE code = 'room3';")" 0
# A store_ids setting naming another brand's store gives nothing of it.
O1=$(q "SELECT id FROM stores WHERE code = 'o1'")
it_eq "store ids of another brand" "$(as "SET LOCAL qy.brand_id = '$ACME'; SET LOCAL qy.role = 'store'; SET LOCAL qy.store_ids = '$O1';" "SELECT count (*) FROM groups;")" 0
# 3. Writes outside the scope: invisible rows are not updated; a row
# written into another brand is refused by the policy's check.
it_eq "store: update another store's group" "$(as "$STORE" "UPDATE groups SET tags = '{x}' WHERE code = 'room3' RETURNING code;")" ""
it_eq "store: update its own group" "$(as "$STORE" "UPDATE groups SET tags = '{x}' WHERE code = 'room1' RETURNING code;")" room1
it_eq "store: an audit row of its own brand" "$(as "$STORE" "INSERT INTO audit_log (brand_id, actor, action, object_type) SELECT id, 'eve', 'x', 'y' FROM brands RETURNING actor;")" eve
out=$(as "$STORE" "INSERT INTO audit_log (brand_id, actor, action, object_type) VALUES ((SELECT id FROM brands WHERE code = 'acme') + 1, 'eve', 'x', 'y');")
echo "$out" | grep -q "violates row-level security" && echo "ok   store: audit row for another brand refused" || it_fail "audit row for another brand: $out"
# 4. Region, hq, admin.
it_eq "region: groups" "$(as "$REGION" "SELECT string_agg (code, ',' ORDER BY code) FROM groups;")" room1,room2
it_eq "region: regions" "$(as "$REGION" "SELECT code FROM regions;")" north
it_eq "hq: groups" "$(as "$HQ" "SELECT string_agg (code, ',' ORDER BY code) FROM groups;")" room1,room2,room3
it_eq "hq: members" "$(as "$HQ" "SELECT count (*) FROM members;")" 3
it_eq "hq: another brand's messages" "$(as "$HQ" "SELECT count (*) FROM messages WHERE brand_id <> $ACME;")" 0
it_eq "admin: every brand's groups" "$(as "$ADMIN" "SELECT count (*) FROM groups;")" 4
# 5. Out of reach whatever the scope: a partition read directly, secrets.
out=$(as "$HQ" "SELECT count (*) FROM messages_$(date -u +%Y%m%d);")
echo "$out" | grep -q "permission denied" && echo "ok   partition read directly: denied" || it_fail "partition: $out"
out=$(as "$HQ" "SELECT count (*) FROM gateway_credentials;")
echo "$out" | grep -q "permission denied" && echo "ok   gateway secrets: denied" || it_fail "gateway_credentials: $out"
# The archive search function (098) applies the same scope itself.
SEARCH="SELECT string_agg (msg_id, ',' ORDER BY msg_id) FROM qy_archive_search (NULL, now () - interval '1 day', now () + interval '1 day', NULL, NULL, NULL, NULL, 100, 0);"
it_eq "search, no scope" "$(as "" "$SEARCH")" ""
it_eq "search, store scope" "$(as "$STORE" "$SEARCH")" m-room1
it_eq "search, region scope" "$(as "$REGION" "$SEARCH")" m-room1,m-room2
it_eq "search, hq" "$(as "$HQ" "$SEARCH")" m-room1,m-room2,m-room3
it_eq "search, store scope, another store's group named" "$(as "$STORE" "SELECT count (*) FROM qy_archive_search ('%你好%', now () - interval '1 day', now () + interval '1 day', NULL, 'room3', NULL, NULL, 100, 0);")" 0
q "CREATE ROLE someone_else LOGIN" >/dev/null
out=$(psql "host=127.0.0.1 port=$QY_PG_PORT dbname=qunyun user=someone_else" -qAt -c "SET qy.admin = 'on'" -c "$SEARCH" 2>&1 || true)
echo "$out" | grep -q "permission denied for function qy_archive_search" && echo "ok   search function: the console's alone" || it_fail "another role searched: $out"
# 6. Every brand-carrying table has the policy (a table a later migration
# adds without qy_rls_cover fails here).
it_eq "brand tables without a policy" "$(q "SELECT coalesce (string_agg (c.relname, ','), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname NOT LIKE 'console\_%'
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'brand_id')
      AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'qy_scope')")" ""
# ... and every view the console or Grafana may read runs with the reader's rights (and so its
# policies), not its owner's, which would see every brand.
it_eq "views read with their owner's rights" "$(q "SELECT coalesce (string_agg (c.relname, ',' ORDER BY c.relname), '')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'v'
      AND (has_table_privilege ('qy_console', c.oid, 'SELECT') OR has_table_privilege ('qy_grafana', c.oid, 'SELECT'))
      AND NOT EXISTS (SELECT 1 FROM pg_options_to_table (c.reloptions) o
                      WHERE o.option_name = 'security_invoker' AND o.option_value IN ('true', 'on', '1', 'yes'))")" ""
# The helper covers a new table in one call.
q "CREATE TABLE later_things (brand_id bigint, group_id bigint, note text);
   INSERT INTO later_things SELECT brand_id, id, code FROM groups; SELECT qy_rls_cover ('later_things');" >/dev/null
it_eq "qy_rls_cover on a new table" "$(as "$STORE" "SELECT note FROM later_things;")" room1
