#!/usr/bin/env bash
# Campaign triggers and guards beyond the calendar, with two campaign
# replicas claiming jobs from the same table: a member joining (now and
# later that day), a group's third day, a purchase and its usage cycle (a
# repurchase cancels the earlier reminder), a member segment by tag,
# members silent for three days, an opt-out and the weekly contact cap.
# Then campaign_jobs.c drives the library itself against its own database
# (see there), and a definition applied again keeps what cannot be re-planned.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway
Q () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QYCTL" brand create acme "Acme" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" group create acme g1 "一号店VIP群" --store s1 >/dev/null
"$QYCTL" group create acme g2 "一号店新群" --store s1 >/dev/null
Q "UPDATE groups SET created_at = '2025-11-01 10:00+08', tags = '{vip}' WHERE code = 'g1';
   UPDATE groups SET created_at = '2025-11-17 18:00+08' WHERE code = 'g2'" >/dev/null
# Members of g1 who joined on 11-10 and last spoke on 11-17: silent for three days on 11-20.
Q "INSERT INTO members (brand_id, user_id, nickname) SELECT b.id, u, n FROM brands b,
     (VALUES ('u5', '阿May'), ('u6', '老王'), ('u8', '小李'), ('u9', '小周')) v (u, n) WHERE b.code = 'acme';
   INSERT INTO memberships (brand_id, group_id, member_id, joined_at)
     SELECT m.brand_id, g.id, m.id, '2025-11-10 12:00+08' FROM members m, groups g WHERE g.code = 'g1' AND m.user_id IN ('u5', 'u6', 'u8', 'u9');
   INSERT INTO daily_member_stats (brand_id, group_id, member_id, day, messages)
     SELECT m.brand_id, g.id, m.id, CASE WHEN m.user_id = 'u9' THEN '2025-11-18'::date ELSE '2025-11-17'::date END, 3
     FROM members m, groups g WHERE g.code = 'g1' AND m.user_id IN ('u5', 'u6', 'u8', 'u9')" >/dev/null
"$QYCTL" campaign tag acme u5 vip >/dev/null
"$QYCTL" campaign tag acme u6 vip >/dev/null
"$QYCTL" campaign optout acme u6 >/dev/null
(cd "$IT_CASE" && "$QYCTL" campaign apply triggers.json --dry-run) > "$QY_RUN/actual/apply.txt"
"$QYCTL" campaign apply "$IT_CASE/triggers.json" --yes >> "$QY_RUN/actual/apply.txt"
it_expect apply

# The campaign clock: 09:00 local four seconds from now, 600× the wall.
L0=1763568000
SPEED=600
ANCHOR=$(( $(date +%s) + 4 ))
export QY_CAMPAIGN_CLOCK_SPEED=$SPEED QY_CAMPAIGN_CLOCK_ANCHOR_S=$ANCHOR QY_CAMPAIGN_CLOCK_OFFSET_S=$(( L0 + 9 * 3600 - ANCHOR ))
export QY_CAMPAIGN_RUN_INTERVAL_MS=100 QY_CAMPAIGN_PLAN_INTERVAL_MS=300 QY_CAMPAIGN_PLAN_HORIZON_S=7200
vnow () { echo $(( L0 + 9 * 3600 + ($(date +%s%N) / 1000000 - ANCHOR * 1000) * SPEED / 1000 )); }
past () { [ "$(vnow)" -ge $(( L0 + $1 * 3600 + $2 * 60 )) ]; }
qy_start_services "$QY_BUILD"
# A second replica of campaign, configured the same: jobs are claimed by one or the other.
QY_HTTP_campaign2=$(qy_free_port)
QY_HTTP_PORT=$QY_HTTP_campaign2 qy_start campaign2 "$QY_BUILD/services/campaign/qy-campaign"
qy_wait_health campaign2 "$QY_HTTP_campaign2"
"$QYCTL" send "$IT_CASE/events.jsonl" > "$QY_RUN/acks.jsonl"
it_eq "events accepted" "$(jq -r '.results[].status' "$QY_RUN/acks.jsonl" | sort | uniq -c | tr -s ' ')" " 5 accepted"

it_wait "10:40 campaign time" past 10 40
settled () { [ "$(Q "SELECT count (*) FROM campaign_jobs WHERE status = 'pending' AND due_at <= '2025-11-20 10:30+08'")" = 0 ] &&
             [ "$(Q "SELECT count (*) FROM deliveries WHERE status <> 'delivered'")" = 0 ]; }
it_wait "every due job settled and delivered" settled
kill -TERM "$QY_PID_campaign" "$QY_PID_campaign2"
for _ in $(seq 100); do kill -0 "$QY_PID_campaign" 2>/dev/null || kill -0 "$QY_PID_campaign2" 2>/dev/null || break; sleep 0.1; done

it_sql jobs "SELECT c.name, j.step, g.code, regexp_replace (j.period, '[0-9]{5,}', '<day>', 'g') AS period, coalesce (m.user_id, '-') AS member,
             coalesce (j.product, '-') AS product, j.status, coalesce (j.guard, '-') AS guard,
             to_char (j.due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') AS due, coalesce (array_to_string (j.sent_mentions, ','), '') AS mentions
             FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id JOIN groups g ON g.id = j.group_id
             LEFT JOIN members m ON m.id = j.member_id WHERE j.due_at < '2025-11-28' ORDER BY c.id, j.step, g.code, member, j.period"
jq -c 'select(.source // "" | startswith("campaign:"))' "$QY_RUN/gateway.jsonl" > "$QY_RUN/posts.jsonl"
jq -r '"\(.key | gsub("[0-9]{5,}"; "<day>")) \(.mentions // [] | join(",")) \(.text)"' "$QY_RUN/posts.jsonl" | sort > "$QY_RUN/actual/gateway.txt"
it_expect gateway
it_eq "gateway duplicates" "$(it_gateway_stat duplicates)" 0
# Two replicas: every send in exactly one of the two logs.
it_eq "sends per key over both replicas" "$(cat "$QY_RUN"/logs/campaign.log "$QY_RUN"/logs/campaign2.log | grep 'msg="job sent"' | grep -o ' key=camp:[^ ]*' | sort | uniq -c | awk '$1 != 1' | wc -l)" 0
it_eq "sends in all" "$(cat "$QY_RUN"/logs/campaign.log "$QY_RUN"/logs/campaign2.log | grep -c 'msg="job sent"')" "$(wc -l < "$QY_RUN/posts.jsonl")"
it_sql contacts "SELECT m.user_id, c.name FROM campaign_contacts x JOIN members m ON m.id = x.member_id JOIN campaigns c ON c.id = x.campaign_id ORDER BY 1, 2"
it_eq "dead letters" "$(Q "SELECT count (*) FROM dead_letters WHERE service = 'campaign'")" 0

# The C half (campaign_jobs.c): the library against a database of its own,
# on a clock it sets: silence spells, a late leaderboard, the weekly cap,
# failing jobs, an opt-out in a recalled message, a contest race.
Q "CREATE DATABASE campaign_jobs" >/dev/null
DB="host=127.0.0.1 port=$QY_PG_PORT dbname=campaign_jobs user=qunyun"
QY_PG_DSN=$DB "$QYCTL" migrate >/dev/null
if "$QY_BUILD/tests/integration/qy_test_campaign_jobs" "$DB" > "$QY_RUN/campaign_jobs.out" 2> "$QY_RUN/logs/campaign_jobs.log"; then
    it_eq "campaign library against PostgreSQL ($(grep -c '^ok' "$QY_RUN/campaign_jobs.out") checks)" ok ok
else
    cat "$QY_RUN/campaign_jobs.out"; tail -20 "$QY_RUN/logs/campaign_jobs.log"
    it_fail "campaign library against PostgreSQL (campaign_jobs)"
fi

# Applying a definition again re-plans pending planned steps, except those the
# planner would not make again: a step quiet hours deferred, a step of a
# silence spell, a draw already drawn (its post must name the recorded winners).
QD () { psql "$DB" -qAtc "$1"; }
QY_PG_DSN=$DB "$QYCTL" campaign apply "$IT_CASE/replan.json" --yes >/dev/null
QD "INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, member_id, due_at, deferrals, guard, delivery_key)
    SELECT c.brand_id, c.id, x.step, g.id, x.period, 0, x.due::timestamptz, x.deferrals, x.guard, 'replan:' || x.period || ':' || x.step
    FROM campaigns c, groups g, (VALUES ('replan', 0, '2025-12-20', '2025-12-20 20:00+08', 0, NULL),
                                        ('replan', 1, '2025-12-20', '2025-12-20 21:00+08', 0, NULL),
                                        ('replan', 1, '2025-12-19', '2025-12-20 08:00+08', 1, 'quiet_hours'),
                                        ('replan-silent', 0, 's:1:20430', '2025-12-25 10:00+08', 0, NULL))
      x (name, step, period, due, deferrals, guard)
    WHERE c.name = x.name AND g.code = 'o1';
    INSERT INTO campaign_draws (brand_id, job_id, campaign_id, group_id, seed, eligible, winners, drawn_at)
    SELECT brand_id, id, campaign_id, group_id, 42, '{1}', '{1}', now () FROM campaign_jobs WHERE delivery_key = 'replan:2025-12-20:0'" >/dev/null
QY_PG_DSN=$DB "$QYCTL" campaign apply "$IT_CASE/replan.json" --yes > "$QY_RUN/actual/replan.txt"
QD "SELECT c.name, j.step, j.period, coalesce (j.guard, '-'), (SELECT count (*) FROM campaign_draws d WHERE d.job_id = j.id)
    FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id WHERE c.name LIKE 'replan%' ORDER BY 1, 2, 3" >> "$QY_RUN/actual/replan.txt"
it_expect replan
it_done
