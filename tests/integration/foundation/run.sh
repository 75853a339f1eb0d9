#!/usr/bin/env bash
# Foundation, end to end: real PostgreSQL, Redis, bus, the five services and
# the gateway simulator. A scripted set of events goes in; we check exactly
# what lands in PostgreSQL, in Redis and at the gateway.
source "$(dirname "$0")/../lib.sh"
it_servers
"$QY_BUILD/services/moderation/qy-moderation" --help | grep -q 'env QY_<KEY> / QY_MODERATION_<KEY>' \
    || it_fail "a service's --help names its environment variables as they are read (upper case)"
it_eq "migrate a second time" "$("$QYCTL" migrate | tail -1 | cut -d, -f1)" "migrations: 0 applied"
it_gateway --token gw-secret
source "$IT_CASE/setup.sh"
export QY_SCORING_ROLLUP_INTERVAL_MS=300
qy_start_services "$QY_BUILD"

# Send: the script in batches of 50 (with one early flush), a garbage frame and an event that is
# not UTF-8 (rejected and set aside; the ingest goes on), then a duplicate.
"$QYCTL" send "$IT_CASE/events.jsonl" --batch 50 > "$QY_RUN/acks.jsonl"
"$QYCTL" send --garbage > "$QY_RUN/garbage.jsonl"
"$QYCTL" send "$IT_CASE/duplicate.jsonl" > "$QY_RUN/dup.jsonl"
jq -r '.results[] | "\(.msg_id) \(.status) \(.error // "")"' "$QY_RUN/acks.jsonl" "$QY_RUN/dup.jsonl" > "$QY_RUN/actual/acks.txt"
it_expect acks
jq -r '"\(.ok) \(.error) \([.results[]? | "\(.status) \(.error // "")"] | join(", "))"' "$QY_RUN/garbage.jsonl" > "$QY_RUN/actual/garbage.txt"
it_expect garbage
# The same straight onto the bus hops of moderation, scoring and campaign (a
# misbehaving internal sender): each service dead-letters both frames and goes on.
for hop in "$QY_P_mf" "$QY_P_sf" "$QY_P_cf"; do
    "$QYCTL" send --garbage --push "tcp://127.0.0.1:$hop" > /dev/null
done

# Wait for the chain: 6 deliveries (the waiting customer u2, asking seven times whether anyone is there, is not punished) at the gateway, and scoring's roll-up of room1.
gw_done () { [ "$(it_gateway_stat unique)" -ge 6 ]; }
it_wait "6 deliveries at the gateway" gw_done
sleep 1    # anything beyond the expected would show up here
rolled () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT messages FROM daily_group_stats d JOIN groups g ON g.id = d.group_id WHERE g.code = 'room1' AND g.brand_id = (SELECT id FROM brands WHERE code = 'acme')")" = 13 ]; }
it_wait "roll-up of room1" rolled

it_sql archive "SELECT b.code, m.msg_id, m.kind, g.code AS grp, mb.user_id FROM messages m JOIN brands b ON b.id = m.brand_id
                JOIN groups g ON g.id = m.group_id LEFT JOIN members mb ON mb.id = m.member_id ORDER BY b.code, m.event_time, m.msg_id"
it_sql memberships "SELECT g.code, mb.user_id, ms.role, coalesce (ms.nickname, ''), coalesce (c.code, '-'), coalesce (c.kind, '-'),
                    coalesce (ms.join_scene, '-'), ms.joined_at IS NOT NULL AS joined, coalesce (ms.leave_reason, '-')
                    FROM memberships ms JOIN groups g ON g.id = ms.group_id JOIN members mb ON mb.id = ms.member_id
                    LEFT JOIN channels c ON c.id = ms.channel_id WHERE ms.brand_id = (SELECT id FROM brands WHERE code = 'acme')
                    ORDER BY g.code, mb.user_id"
it_sql members "SELECT b.code, m.user_id, m.nickname FROM members m JOIN brands b ON b.id = m.brand_id ORDER BY 1, 2"
it_sql violations "SELECT v.msg_id, mb.user_id, v.category, v.action, v.strike, v.mute_until IS NOT NULL AS muted,
                   'flood.member' = ANY (v.rules) AS flood, EXISTS (SELECT 1 FROM unnest (v.rules) r WHERE r LIKE 'ad.%') AS ad_rule
                   FROM violations v JOIN members mb ON mb.id = v.member_id ORDER BY v.event_time"
it_sql ad_evidence "SELECT h->>'text' FROM violations v, jsonb_array_elements (v.hits) h WHERE v.msg_id = 'ad1' AND h->>'text' LIKE '%wx88776655%' LIMIT 1"
it_sql deliveries "SELECT regexp_replace (key, '^(mute-notice:[0-9]+:[0-9]+):[0-9]+$', '\\1:<until>'), kind, coalesce (payload->>'action', '-'), status, attempts FROM deliveries ORDER BY key"
dead_done () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM dead_letters")" -ge 9 ]; }
it_wait "9 dead letters" dead_done
it_sql dead_letters "SELECT service, coalesce (brand_code, ''), coalesce (msg_id, ''), reason FROM dead_letters ORDER BY 1, 3, 2, 4"
it_sql rollup "SELECT g.code, d.messages, d.active_members, d.joins, d.leaves, d.violations, d.hour_hist[11] AS at_10h
               FROM daily_group_stats d JOIN groups g ON g.id = d.group_id ORDER BY g.brand_id, g.code"
it_sql audit "SELECT actor, action, object_type, detail->>'msg_id' AS msg, detail->>'strike' AS strike FROM audit_log WHERE actor = 'moderation' ORDER BY msg"

# Redis: the hot counters of room1 on 2025-11-20 (day 20412 at +08:00).
gid=$(psql "$QY_PG_DSN" -qAtc "SELECT g.id FROM groups g JOIN brands b ON b.id = g.brand_id WHERE b.code = 'acme' AND g.code = 'room1'")
r () { redis-cli -p "$QY_REDIS_PORT" "$@"; }
{
    echo "msgs=$(r HGET "sc:g:{g:$gid}:20412" msgs) joins=$(r HGET "sc:g:{g:$gid}:20412" joins) viol=$(r HGET "sc:g:{g:$gid}:20412" viol) h10=$(r HGET "sc:g:{g:$gid}:20412" h10)"
    echo "active=$(r HLEN "sc:m:{g:$gid}:20412") counted_ids=$(r SCARD "sc:ids:{g:$gid}:20412")"
    echo "u2_msgs=$(r HGET "sc:m:{g:$gid}:20412" "$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM members WHERE user_id = 'u2' AND brand_id = (SELECT id FROM brands WHERE code = 'acme')")")"
    echo "muted_ttl_positive=$([ "$(r PTTL "mute:{b:$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")}:$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM members WHERE user_id = 'u2' AND brand_id = (SELECT id FROM brands WHERE code = 'acme')")")" -gt 0 ] && echo yes || echo no)"
} > "$QY_RUN/actual/redis.txt"
it_expect redis

# The gateway: exactly these six, none twice, all with the right token; the welcome rendered.
it_eq "gateway duplicates" "$(it_gateway_stat duplicates)" 0
it_eq "gateway unauthorized" "$(it_gateway_stat unauthorized)" 0
# (mute ends depend on the wall clock: shown as <until>)
jq -r '"\(.key) \(.kind) \(.action // "-") \(.member // "-") \(.text // "")"' "$QY_RUN/gateway.jsonl" \
    | sed -E 's/[0-9]{2}月[0-9]{2}日 [0-9]{2}:[0-9]{2}/<until>/; s/^(mute-notice:[0-9]+:[0-9]+):[0-9]+/\1:<until>/' | sort > "$QY_RUN/actual/gateway.txt"
it_expect gateway

# Health and metrics of every service.
for s in bus ingest moderation1 scoring1 campaign notifier; do
    eval "port=\$QY_HTTP_$s"
    it_eq "$s health" "$(curl -fs "http://127.0.0.1:$port/health" | jq -r .status)" ok
done
# /livez (the loop turns) and /readyz (dependencies up) answer 200; /health
# is readyz with the build and uptime; every /metrics passes Prometheus's
# own linter (promtool check metrics) after this traffic.
for s in bus ingest moderation1 scoring1 campaign notifier; do
    eval "port=\$QY_HTTP_$s"
    it_eq "$s livez" "$(curl -fs "http://127.0.0.1:$port/livez" | jq -r .status)" ok
    it_eq "$s readyz" "$(curl -fs "http://127.0.0.1:$port/readyz" | jq -r .status)" ok
    it_eq "$s health names its version" "$(curl -fs "http://127.0.0.1:$port/health" | jq -r '.version != null and .commit != null and .uptime_s >= 0')" true
    lint=$(curl -fs "http://127.0.0.1:$port/metrics" | promtool check metrics 2>&1) && it_eq "$s metrics lint" ok ok || it_fail "$s /metrics: $lint"
done
it_eq "ingest accepted metric" "$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="accepted"}')" 21
it_eq "ingest duplicate metric" "$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="duplicate"}')" 2
it_eq "ingest rejected metric" "$(qy_metric "$QY_HTTP_ingest" 'qy_ingest_events_total{status="rejected"}')" 3

# send --strict: a refused event fails the command (exit 3); duplicates do not.
rc=0; "$QYCTL" send "$IT_CASE/duplicate.jsonl" --strict > /dev/null || rc=$?
it_eq "send --strict, duplicates only" "$rc" 0
rc=0; grep '"bad1"' "$IT_CASE/events.jsonl" | "$QYCTL" send - --strict > /dev/null || rc=$?
it_eq "send --strict, one refused" "$rc" 3
it_no_orphans
it_done
