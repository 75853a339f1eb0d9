#!/usr/bin/env bash
# qyctl housekeep (tools/qyctl/qyctl_housekeep.c): data retention on rows aged by hand.
#   1. --dry-run counts exactly what a run removes, and changes nothing;
#   2. a run drops the archive's day partitions past archive-days, empties the payload of
#      deliveries done past deliveries-days (12,000 of them: more than one batch) and deletes
#      those past archive-days, deletes closed dead letters, campaign jobs over (with their
#      contacts, but never a once-per-group job), old per-member statistics (a group's
#      hours, a view over its days since migration 132, are kept with the days),
#      old complaints and questions and staff tasks closed long ago (never an open one);
#      what is pending, open or recent stays; console login failures a day old go, unless
#      their key is still locked; the run is in the audit log;
#   3. a second run finds nothing; a housekeeper finding another at work does nothing;
#   4. --every runs until SIGTERM and then exits 0.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$Q" brand create acme Acme >/dev/null
"$Q" store create acme s1 "店" >/dev/null
"$Q" group create acme g1 "群1" --store s1 >/dev/null
B=$(sql "SELECT id FROM brands WHERE code = 'acme'"); G=$(sql "SELECT id FROM groups WHERE code = 'g1'")
M=$(sql "INSERT INTO members (brand_id, user_id) VALUES ($B, 'u1') RETURNING id" | head -1)
old_day=$(date -u -d '-400 days' +%F); new_day=$(date -u -d '-10 days' +%F)
sql "SELECT qy_ensure_partition ('$old_day'); SELECT qy_ensure_partition ('$new_day')" >/dev/null
sql "INSERT INTO messages (brand_id, event_time, msg_id, group_id, kind) VALUES
     ($B, '$old_day 12:00Z', 'm-old', $G, 'text'), ($B, '$new_day 12:00Z', 'm-new', $G, 'text')"
# deliveries: d-* one each; bulk-* 12,000 delivered 40 days ago
sql "INSERT INTO deliveries (key, brand_id, kind, priority, payload, status, created_at, last_error) VALUES
     ('d-done40', $B, 'post', 3, '{\"t\":1}', 'delivered', now () - interval '40 days', NULL),
     ('d-dead40', $B, 'post', 3, '{\"t\":2}', 'dead', now () - interval '40 days', 'http 500'),
     ('d-pend40', $B, 'post', 3, '{\"t\":3}', 'pending', now () - interval '40 days', NULL),
     ('d-done1', $B, 'post', 3, '{\"t\":4}', 'delivered', now () - interval '1 day', NULL),
     ('d-done400', $B, 'post', 3, '{}', 'delivered', now () - interval '400 days', NULL),
     ('d-pend400', $B, 'post', 3, '{\"t\":6}', 'pending', now () - interval '400 days', NULL)"
sql "INSERT INTO deliveries (key, brand_id, kind, priority, payload, status, created_at)
     SELECT 'bulk-' || i, $B, 'action', 1, '{\"a\":1}', 'delivered', now () - interval '40 days' FROM generate_series (1, 12000) i"
sql "INSERT INTO dead_letters (brand_id, service, msg_id, reason, created_at, resolved_at, replayed_at) VALUES
     ($B, 'ingest', 'dl-open', 'x', now () - interval '200 days', NULL, NULL),
     ($B, 'ingest', 'dl-resolved', 'x', now () - interval '200 days', now () - interval '100 days', NULL),
     ($B, 'ingest', 'dl-replayed', 'x', now () - interval '200 days', NULL, now () - interval '10 days')"
C=$(sql "INSERT INTO campaigns (brand_id, name, trigger, template) VALUES ($B, 'c', 'join', 'hi') RETURNING id" | head -1)
sql "INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, due_at, status, delivery_key) VALUES
     ($B, $C, 0, $G, 'day-old', now () - interval '100 days', 'sent', 'j-old'),
     ($B, $C, 0, $G, 'g', now () - interval '100 days', 'sent', 'j-once'),
     ($B, $C, 1, $G, 'day-pend', now () - interval '100 days', 'pending', 'j-pend'),
     ($B, $C, 1, $G, 'day-new', now () - interval '10 days', 'sent', 'j-new')"
sql "INSERT INTO campaign_contacts (brand_id, member_id, campaign_id, job_id, at)
     SELECT $B, $M, $C, id, due_at FROM campaign_jobs WHERE delivery_key IN ('j-old', 'j-new')"
sql "INSERT INTO daily_member_stats (brand_id, group_id, member_id, day, messages) VALUES
     ($B, $G, $M, current_date - 500, 1), ($B, $G, $M, current_date - 10, 2)"
hours () { printf "'{%s}'" "$(for h in $(seq 0 23); do [ "$h" = "$1" ] && echo "$2" || echo 0; done | paste -sd,)"; }
sql "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, hour_hist) VALUES
     ($B, $G, current_date - 500, 1, $(hours 9 1)), ($B, $G, current_date - 10, 2, $(hours 23 2))"
# customers' complaints and questions, staff tasks: old, recent, and old but still open
sql "INSERT INTO complaints (brand_id, msg_id, group_id, topic, excerpt, event_time) VALUES
     ($B, 'c-old', $G, '质量', 'x', now () - interval '500 days'), ($B, 'c-new', $G, '质量', 'y', now () - interval '10 days')"
sql "INSERT INTO moderation_questions (brand_id, group_id, member_id, msg_id, asked_at) VALUES
     ($B, $G, $M, 'q-old', now () - interval '500 days'), ($B, $G, $M, 'q-new', now () - interval '10 days')"
sql "INSERT INTO staff_tasks (brand_id, source_key, kind, group_id, state, created_at, closed_at) VALUES
     ($B, 't-old', 'answer', $G, 'done', now () - interval '500 days', now () - interval '500 days'),
     ($B, 't-new', 'answer', $G, 'done', now () - interval '10 days', now () - interval '10 days'),
     ($B, 't-open', 'answer', $G, 'escalated', now () - interval '500 days', NULL)"
sql "INSERT INTO console_login_failures (key, failures, locked_until, last_at) VALUES
     ('login:old', 3, NULL, now () - interval '2 days'), ('login:new', 3, NULL, now () - interval '1 hour'),
     ('login:locked', 9, now () + interval '3 days', now () - interval '2 days')"

state () {
    sql "SELECT (SELECT count (*) FROM messages) || ' ' ||
                (SELECT count (*) FROM deliveries WHERE payload <> '{}') || ' ' || (SELECT count (*) FROM deliveries) || ' ' ||
                (SELECT string_agg (msg_id, ',' ORDER BY msg_id) FROM dead_letters) || ' ' ||
                (SELECT string_agg (delivery_key, ',' ORDER BY delivery_key) FROM campaign_jobs) || ' ' ||
                (SELECT count (*) FROM campaign_contacts) || ' ' ||
                (SELECT count (*) FROM daily_member_stats) || ' ' || (SELECT count (*) FROM hourly_group_stats) || ' ' ||
                (SELECT string_agg (msg_id, ',' ORDER BY msg_id) FROM complaints) || ' ' ||
                (SELECT string_agg (msg_id, ',' ORDER BY msg_id) FROM moderation_questions) || ' ' ||
                (SELECT string_agg (source_key, ',' ORDER BY source_key) FROM staff_tasks) || ' ' ||
                (SELECT string_agg (key, ',' ORDER BY key) FROM console_login_failures)"
}
before=$(state)
it_eq "the rows made" "$before" "2 12005 12006 dl-open,dl-replayed,dl-resolved j-new,j-old,j-once,j-pend 2 2 2 c-new,c-old q-new,q-old t-new,t-old,t-open login:locked,login:new,login:old"
counts () { jq -c '[.archive_partitions, .delivery_payloads, .delivery_tombstones, .dead_letters, .campaign_jobs, .member_day_stats, .complaints, .questions, .staff_tasks, .login_failures]'; }

# 1. dry run
it_eq "dry run counts" "$("$Q" housekeep --dry-run | counts)" "[1,12002,1,1,1,1,1,1,1,1]"
it_eq "dry run changed nothing" "$(state)" "$before"

# 2. the run
it_eq "run counts" "$("$Q" housekeep --yes | counts)" "[1,12002,1,1,1,1,1,1,1,1]"
it_eq "after the run" "$(state)" "1 3 12005 dl-open,dl-replayed j-new,j-once,j-pend 1 1 2 c-new q-new t-new,t-open login:locked,login:new"
it_eq "what stays whole" "$(sql "SELECT string_agg (key || ':' || payload::text, ' ' ORDER BY key) FROM deliveries WHERE key LIKE 'd-%'")" \
    'd-dead40:{} d-done1:{"t": 4} d-done40:{} d-pend40:{"t": 3} d-pend400:{"t": 6}'
it_eq "errors emptied too" "$(sql "SELECT count (*) FROM deliveries WHERE last_error IS NOT NULL")" 0
it_eq "the archive keeps its recent days" "$(sql "SELECT msg_id FROM messages")" m-new
it_eq "audited" "$(sql "SELECT actor <> '' AND object_type = 'retention' AND (detail->>'delivery_payloads')::int = 12002 FROM audit_log WHERE action = 'housekeep'")" t

# 3. nothing left; another at work
it_eq "second run" "$("$Q" housekeep --yes | counts)" "[0,0,0,0,0,0,0,0,0,0]"
psql "$QY_PG_DSN" -qAtc "SELECT pg_advisory_lock (7340040); SELECT pg_sleep (4)" >/dev/null &
holder=$!
held () { [ "$(sql "SELECT count (*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7340040 AND granted")" = 1 ]; }
it_wait "the lock held by another" held
it_eq "another at work" "$("$Q" housekeep --yes)" "housekeep: another housekeeper is running; nothing done"
wait "$holder"

# 4. --every until SIGTERM
"$Q" housekeep --yes --every 3600 > "$QY_RUN/every.out" &
pid=$!
ran () { [ -s "$QY_RUN/every.out" ]; }
it_wait "--every ran once" ran
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
it_eq "--every stops on SIGTERM" "$rc" 0
rc=0; "$Q" housekeep --jobs-days -1 > "$QY_RUN/bad.out" 2>&1 || rc=$?
it_eq "bad days refused" "$(head -1 "$QY_RUN/bad.out") rc=$rc" \
    "qyctl: --jobs-days must be a whole number from 0 to 36500, not '-1' rc=2"
it_done
