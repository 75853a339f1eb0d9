#!/usr/bin/env bash
# qyctl's command line (tools/qyctl/qyctl_args.c), against a migrated database holding data
# (services not needed). Every command and subcommand qyctl lists itself (`qyctl help --commands`,
# so a command added later is covered) is run
#   1. with --help: exit 0 and its usage on stdout;
#   2. with a bogus option: exit 2, a one-line message naming the option, the usage on stderr;
#   3. the safety defects of issue 21: `housekeep --help`, `housekeep --dryrun`,
#      `replay BRAND --help`, `deadletters replay BRAND --open --help` act on nothing;
#   4. usage errors: --format xml, --status bogus, a stray argument, a missing value: exit 2;
#   5. destructive commands in a script (stdin not a terminal) without --yes: exit 2, saying so;
#      on a terminal they ask, and "n" does nothing; progress lines on a terminal only;
# and the row count and content of every table (pg_class) are the same after all of it.
#   6. brand create of an existing code is refused (exit 1) without --update;
#   7. what is not an error: --dsn after the command is used, `help COMMAND`, `--version`,
#      `migrate status`; JSON numbers are numbers, a report is one object of named sections;
#      --excel starts CSV with a BOM;
#   8. times print in the brand's zone with the offset (UTC without a brand);
#   9. member show / group show: a profile with a sparkline of activity (JSON: numbers);
#  10. bash completion (built from the same tables) completes commands, options and values;
#  11. status: a service's replicas through /health and /metrics (the bus, started alone), one
#      that does not answer (exit 1), work waiting from PostgreSQL;
#  12. a secret given on the command line (--token, --hmac) is refused, pointing at --token-file;
#      one from --token-file FILE, --token-file - or $QY_GATEWAY_TOKEN is taken.
# QY_QYCTL=PATH runs the cases against another qyctl (an older build); the list of commands
# still comes from this build's.
source "$(dirname "$0")/../lib.sh"
qy_start_pg "$QY_RUN"
"$QYCTL" migrate >/dev/null
QUT=${QY_QYCTL:-$QYCTL}
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }

# Data, some of it old enough for retention to remove.
"$QYCTL" demo load --brand demo --stores 2 --groups 2 >/dev/null
B=$(sql "SELECT id FROM brands WHERE code = 'demo'"); G=$(sql "SELECT min (id) FROM groups WHERE brand_id = $B")
old_day=$(date -u -d '-400 days' +%F)
sql "SELECT qy_ensure_partition ('$old_day'); SELECT qy_ensure_partition (current_date)" >/dev/null
M=$(sql "INSERT INTO members (brand_id, user_id, nickname) VALUES ($B, 'u1', '小王') RETURNING id" | head -1)
sql "INSERT INTO messages (brand_id, event_time, msg_id, group_id, member_id, kind, text) VALUES
     ($B, '$old_day 12:00Z', 'm-old', $G, $M, 'text', '旧消息'), ($B, now (), 'm-new', $G, $M, 'text', '加微信 abc123')"
sql "INSERT INTO deliveries (key, brand_id, kind, priority, payload, status, created_at) VALUES
     ('d-old', $B, 'post', 3, '{\"t\":1}', 'delivered', now () - interval '400 days'),
     ('d-dead', $B, 'post', 3, '{\"t\":2}', 'dead', now () - interval '1 day')"
sql "INSERT INTO dead_letters (brand_id, brand_code, service, msg_id, reason, payload, created_at, resolved_at) VALUES
     ($B, 'demo', 'ingest', 'dl-open', 'x', '\\x0a', now (), NULL),
     ($B, 'demo', 'ingest', 'dl-closed', 'x', '\\x0a', now () - interval '200 days', now () - interval '100 days')"
D=$(sql "SELECT id FROM dead_letters WHERE msg_id = 'dl-open'")
sql "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, strike, hits) VALUES
     ($B, $G, $M, 'v1', now (), 'ad', 1, 'recall', '{ad.wechat_id,ad.link}', 1, '[]'),
     ($B, $G, $M, 'v2', now (), 'ad', 1, 'warn', '{ad.link}', 1, '[]'),
     ($B, $G, $M, 'v3', now (), 'mute', 0, 'recall', '{}', 0, '[]')" >/dev/null
sql "INSERT INTO memberships (brand_id, group_id, member_id, joined_at) VALUES ($B, $G, $M, now () - interval '5 days');
     INSERT INTO daily_member_stats (brand_id, group_id, member_id, day, messages)
         SELECT $B, $G, $M, (now () AT TIME ZONE 'UTC' + interval '8 hours')::date - i, i FROM generate_series (0, 9) i" >/dev/null

# Every table's row count and content.
state () {
    sql "SELECT c.relname || ' ' || (xpath ('/row/n/text()', query_to_xml (format (
             'SELECT count (*) || '' '' || md5 (coalesce (string_agg (x::text, '','' ORDER BY x::text), '''')) AS n FROM %I.%I x',
             n.nspname, c.relname), false, true, '')))[1]::text
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
}
state > "$QY_RUN/before.txt"
it_eq "tables counted" "$(($(wc -l < "$QY_RUN/before.txt") > 30))" 1

# run NAME ARGS…: rc, stdout and stderr of one qyctl run (stdin not a terminal), bounded in time.
run () {
    local name=$1; shift
    local rc=0
    timeout 30 "$QUT" "$@" < /dev/null > "$QY_RUN/$name.out" 2> "$QY_RUN/$name.err" || rc=$?
    echo "$rc"
}

mapfile -t commands < <("$QYCTL" help --commands)
it_eq "commands listed" "$((${#commands[@]} > 40))" 1
bad_help=(); bad_bogus=()
for c in "${commands[@]}"; do
    read -ra words <<< "$c"
    rc=$(run help "${words[@]}" --help)
    [ "$rc" = 0 ] && grep -q "usage: qyctl $c" "$QY_RUN/help.out" || bad_help+=("$c:$rc")
    rc=$(run bogus "${words[@]}" --no-such-option)
    [ "$rc" = 2 ] && [ "$(grep -c 'no-such-option' "$QY_RUN/bogus.err")" = 1 ] && grep -q '^usage: ' "$QY_RUN/bogus.err" \
        || bad_bogus+=("$c:$rc")
done
it_eq "every command with --help: exit 0, usage on stdout" "${bad_help[*]:-}" ""
it_eq "every command with a bogus option: exit 2, named, usage on stderr" "${bad_bogus[*]:-}" ""

it_eq "housekeep --help" "$(run x housekeep --help)" 0
it_eq "housekeep --dryrun" "$(run x housekeep --dryrun)" 2
it_eq "replay BRAND --help" "$(run x replay demo --help --endpoint tcp://127.0.0.1:9)" 0
it_eq "deadletters replay BRAND --open --help" "$(run x deadletters replay demo --open --help)" 0
it_eq "brand create CODE NAME --help" "$(run x brand create demo renamed --help)" 0

it_eq "--format xml" "$(run x report demo --format xml)" 2
it_eq "--format xml names the value" "$(grep -c "'xml'" "$QY_RUN/x.err")" 1
it_eq "--status bogus" "$(run x deliveries demo --status bogus)" 2
it_eq "a stray argument" "$(run x brand list extra)" 2
it_eq "a missing value" "$(run x violations demo --limit)" 2
it_eq "an unknown subcommand" "$(run x deadletters frobnicate demo x)" 2
it_eq "an unknown command" "$(run x frobnicate)" 2
it_eq "no command" "$(run x)" 2

it_eq "housekeep in a script without --yes" "$(run x housekeep)" 2
it_eq "… says --yes" "$(grep -c -- '--yes' "$QY_RUN/x.err")" 1
it_eq "replay without --yes" "$(run x replay demo --endpoint tcp://127.0.0.1:9)" 2
it_eq "deadletters replay without --yes" "$(run x deadletters replay demo "$D")" 2
it_eq "deadletters resolve without --yes" "$(run x deadletters resolve demo "$D" --reason fixed)" 2

# On a terminal (script(1) gives one) they ask; "n" does nothing, exit 1.
rc=0; printf 'n\n' | script -qec "$QUT housekeep" /dev/null > "$QY_RUN/tty.out" || rc=$?
it_eq "housekeep on a terminal, answered n" "$rc" 1
it_eq "… asked" "$(grep -c 'Go ahead? \[y/N\]' "$QY_RUN/tty.out")" 1
# Progress: a line on a terminal, nothing in a script.
script -qec "$QUT deadletters replay demo --open --dry-run" /dev/null > "$QY_RUN/tty.out"
it_eq "progress on a terminal" "$(grep -c 'deadletters replay: 0/1 (0%)' "$QY_RUN/tty.out")" 1
it_eq "no progress in a script" "$(run x deadletters replay demo --open --dry-run; cat "$QY_RUN/x.err")" 0

# --format on what is not a query: a replay's report, a retention pass.
it_eq "deadletters replay --dry-run --format json" \
    "$("$QUT" deadletters replay demo --open --dry-run --format json | jq -c '[(.rows | length), .rows[0].id, .summary.dry_run, .summary.not_replayable]')" \
    "[1,$D,true,1]"
it_eq "housekeep --dry-run --format csv" "$("$QUT" housekeep --dry-run --format csv | head -1 | cut -d, -f1-3)" "dry_run,archive_partitions,archive_rows"
it_eq "… counts the old partition" "$("$QUT" housekeep --dry-run --format json | jq '.archive_partitions')" 1

it_eq "brand create of an existing code" "$(run x brand create demo dup)" 1
it_eq "… says --update" "$(grep -c -- '--update' "$QY_RUN/x.err")" 1

it_eq "a secret on the command line" "$(run x gateway set demo http://gw.example/v1 --token s3cret-token)" 2
it_eq "… points at --token-file" "$(grep -c -- 'use --token-file' "$QY_RUN/x.err")" 1
it_eq "… the same for credentials" "$(run x gateway credential add demo gw1 --hmac s3cret-0123456789abcdef)" 2

state > "$QY_RUN/after.txt"
if diff -u "$QY_RUN/before.txt" "$QY_RUN/after.txt"; then echo "ok   every table as it was"
else it_fail "a table changed"; fi

# What is not an error.
it_eq "migrate, nothing to apply, in JSON" "$("$QUT" migrate --format json | jq -c '[(.applied | length), (.total > 10)]')" "[0,true]"
it_eq "migrate status" "$(run x migrate status)" 0
it_eq "… nothing pending" "$(tail -1 "$QY_RUN/x.out" | grep -c ', 0 pending$')" 1
it_eq "JSON numbers are numbers" "$("$QUT" brand list --format json | jq -r '.[0] | [(.id | type), (.tz_offset_min | type), (.code | type)] | join(",")')" \
    "number,number,string"
it_eq "a report in JSON is one object of named sections" \
    "$("$QUT" report demo --format json | jq -r '[type, (.deliveries | type), (."dead letters"[0].n | type)] | join(",")')" "object,array,number"
it_eq "the report's violations by rule and by action add up to the same" \
    "$("$QUT" report demo --format json | jq -c '[to_entries[] | select (.key | test ("^violations by")) | .value[] | select (.rule == "total" or .action == "total") | .violations]')" \
    "[3,3]"
it_eq "--excel: CSV starts with a UTF-8 BOM" "$("$QUT" brand list --format csv --excel | head -c 3 | od -An -tx1 | tr -d ' ')" efbbbf
it_eq "no BOM without it" "$("$QUT" brand list --format csv | head -c 2)" id
it_eq "--dsn after the command is used" "$(QY_PG_DSN=host=/nonexistent "$QUT" brand list --format csv --dsn "$QY_PG_DSN" | tail -n +2 | cut -d, -f2)" demo
it_eq "--dsn before the command is used" "$(QY_PG_DSN=host=/nonexistent "$QUT" --dsn "$QY_PG_DSN" brand list --format csv | tail -n +2 | cut -d, -f2)" demo
it_eq "help COMMAND" "$(run x help deadletters replay)" 0
it_eq "… prints its usage" "$(grep -c '^usage: qyctl deadletters replay' "$QY_RUN/x.out")" 1
it_eq "help" "$(run x help)" 0
it_eq "--help" "$(run x --help)" 0
it_eq "--version" "$(run x --version)" 0
it_eq "… says qyctl" "$(grep -c '^qyctl [0-9]' "$QY_RUN/x.out")" 1
# Times in the brand's zone, marked (demo: UTC+8); the platform view (no brand) in UTC, marked.
it_eq "deliveries at, in the brand's zone" "$("$QUT" deliveries demo --format json | jq -r '.[0].at' | grep -cE '^[0-9-]{10} [0-9:]{8}\+08$')" 1
it_eq "the same instant as stored" "$("$QUT" deliveries demo --format json | jq -r '.[] | select (.key == "d-dead") | .at' | xargs -I{} psql "$QY_PG_DSN" -qAtc "SELECT '{}'::timestamptz = date_trunc ('second', created_at) FROM deliveries WHERE key = 'd-dead'")" t
it_eq "deadletters of no brand, in UTC" "$("$QUT" deadletters --format json | jq -r '.[0].at' | grep -cE '\+00$')" 1

# Bash completion, written by the build from the same tables.
COMPLETION=$QY_BUILD/tools/qyctl/qyctl.bash-completion
it_eq "the build's completion is current" "$("$QYCTL" help --completion | cmp - "$COMPLETION" && echo same)" same
complete_line () {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _qyctl; echo "${COMPREPLY[*]}"' _ "$COMPLETION" "$@"
}
it_eq "completes a command" "$(complete_line qyctl deadl)" deadletters
it_eq "completes a subcommand" "$(complete_line qyctl deadletters re)" "replay resolve"
it_eq "completes an option" "$(complete_line qyctl deadletters replay demo --dr)" --dry-run
it_eq "completes a value of a known set" "$(complete_line qyctl deliveries demo --limit 5 --status d)" "delivered dead digested"
it_eq "completes a global option's value" "$(complete_line qyctl --format j)" json

# Profiles with a sparkline of activity.
it_eq "member show" "$(run x member show demo u1 --days 14)" 0
it_eq "… its sparkline, oldest first (the brand's days)" "$(grep -c '▁▁▁▁█▇▆▆▅▄▄▃▂▁  total 45, most 9 on' "$QY_RUN/x.out")" 1
it_eq "member show in JSON" "$("$QUT" member show demo u1 --format json | jq -c '[.member[0].member, .member[0].violations, (.activity | length), .activity[-2].messages, .groups[0].role]')" \
    '["u1",3,30,1,"member"]'
it_eq "group show" "$(run x group show demo "$(sql "SELECT code FROM groups WHERE id = $G")")" 0
it_eq "… its top speaker" "$(grep -cE '^u1 +小王 +45$' "$QY_RUN/x.out")" 1
it_eq "an unknown member" "$(run x member show demo nobody)" 1

# status: the bus (started alone) answers, a closed port does not; work waiting from PostgreSQL.
hop () { echo "tcp://127.0.0.1:$(qy_free_port)>tcp://127.0.0.1:$(qy_free_port)"; }
BUS_HTTP=$(qy_free_port); CLOSED=$(qy_free_port)
QY_BUS_HOPS="moderation=$(hop);scoring=$(hop);campaign=$(hop);notifier=$(hop)" QY_HTTP_BIND=127.0.0.1 QY_HTTP_PORT=$BUS_HTTP \
    qy_start bus "$QY_BUILD/services/bus/qy-bus"
qy_wait_health bus "$BUS_HTTP"
it_eq "status, one service down" "$(run x status --services "bus=http://127.0.0.1:$BUS_HTTP,gone=http://127.0.0.1:$CLOSED")" 1
it_eq "… says how many are healthy" "$(cat "$QY_RUN/x.err")" "qyctl: 1 of 2 replicas healthy"
it_eq "status of the bus alone, JSON" "$("$QUT" status --services "bus=http://127.0.0.1:$BUS_HTTP" --format json \
    | jq -c '[.services[0].health, (.services[0].gauges | test("qy_bus_replicas")), ."work waiting"[0].dead_letters_open, ."work waiting"[0].deliveries_pending]')" \
    '["ok",true,1,0]'

# What a change did, as JSON.
it_eq "brand create --format json" "$("$QUT" brand create newb "New 新" --format json | jq -c '[.brand, (.id | type)]')" '["newb","number"]'
it_eq "campaign optout --format json" "$("$QUT" campaign optout demo u1 --format json | jq -c .)" '{"member":"u1","opted_out":true}'

# Secrets from a file, standard input or the environment.
token () { sql "SELECT gateway_token FROM brands WHERE code = 'demo'"; }
"$QUT" gateway set demo http://gw.example/v1 --token-file <(printf 'tok-file\n') >/dev/null
it_eq "--token-file FILE" "$(token)" tok-file
printf 'tok-stdin\n' | "$QUT" gateway set demo http://gw.example/v1 --token-file - >/dev/null
it_eq "--token-file -" "$(token)" tok-stdin
QY_GATEWAY_TOKEN=tok-env "$QUT" gateway set demo http://gw.example/v1 >/dev/null
it_eq "\$QY_GATEWAY_TOKEN" "$(token)" tok-env
it_done
