#!/usr/bin/env bash
# Campaigns end to end: one SOP written at HQ runs across several stores'
# groups on a sped-up campaign clock (20 campaign minutes per second) over
# 2025-11-20, with guards, a best hour, a group override, a keyword
# auto-reply, a check-in, a lottery, conversions and a restart of campaign
# in the middle. The gateway simulator must receive exactly the expected
# posts, each at its expected time, and nothing twice.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway
Q () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QYCTL" brand create acme "Acme 美妆" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" >/dev/null
"$QYCTL" region create acme east "华东" >/dev/null
"$QYCTL" region create acme north "华北" >/dev/null
"$QYCTL" region create acme west "西南" >/dev/null
"$QYCTL" store create acme s1 "一号店" --region east >/dev/null
"$QYCTL" store create acme s2 "二号店" --region east >/dev/null
"$QYCTL" store create acme s3 "三号店" --region north >/dev/null
"$QYCTL" store create acme s4 "四号店" --region west >/dev/null
"$QYCTL" group create acme g1 "一号店会员群" --store s1 >/dev/null
"$QYCTL" group create acme g2 "二号店会员群" --store s2 >/dev/null
"$QYCTL" group create acme g3 "三号店新群" --store s3 >/dev/null
"$QYCTL" group create acme g4 "四号店会员群" --store s4 >/dev/null
"$QYCTL" rules load acme >/dev/null
# g1, g2, g4 are old; g3 was created the day before (a new group: no promotions yet).
Q "UPDATE groups SET created_at = '2025-11-01 10:00+08' WHERE code IN ('g1', 'g2', 'g4');
   UPDATE groups SET created_at = '2025-11-19 12:00+08' WHERE code = 'g3'" >/dev/null
# Activity history (scoring's roll-up): g1 is busiest at 15:00, g2 at 12:00 (its
# own quiet hours: not allowed) and then 11:00, g3 has none (default hour 10:00).
Q "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, hour_hist)
   SELECT g.brand_id, g.id, d::date, 100, array (SELECT CASE WHEN g.code = 'g1' AND h = 15 THEN 40
                                                           WHEN g.code = 'g2' AND h = 11 THEN 30
                                                           WHEN g.code = 'g2' AND h = 12 THEN 90 ELSE 1 END
                                                  FROM generate_series (0, 23) h)
   FROM groups g, generate_series ('2025-10-25'::date, '2025-11-19'::date, '1 day') d WHERE g.code IN ('g1', 'g2')" >/dev/null

# A definition with an error is refused as a whole, naming what is wrong.
sed 's/"best_time": true, "promotional"/"best_time": true, "at": "09:00", "promotional"/' "$IT_CASE/sop.json" > "$QY_RUN/bad.json"
it_eq "bad definition refused" "$("$QYCTL" campaign apply "$QY_RUN/bad.json" 2>&1)" \
    'qyctl: '"$QY_RUN"'/bad.json: campaigns[0]: campaign "daily-sop": steps[1]: "at" and "best_time" exclude each other'
it_eq "nothing written" "$(Q "SELECT count (*) FROM campaigns")" 0
"$QYCTL" campaign apply "$IT_CASE/sop.json" --yes > "$QY_RUN/actual/apply.txt"
it_expect apply

# The campaign clock: 07:50 local at ANCHOR (six seconds from now), 1200× the wall.
L0=1763568000                          # 2025-11-20 00:00 +08:00
SPEED=1200
ANCHOR=$(( $(date +%s) + 6 ))
export QY_CAMPAIGN_CLOCK_SPEED=$SPEED QY_CAMPAIGN_CLOCK_ANCHOR_S=$ANCHOR
export QY_CAMPAIGN_CLOCK_OFFSET_S=$(( L0 + 7 * 3600 + 50 * 60 - ANCHOR ))
export QY_CAMPAIGN_RUN_INTERVAL_MS=100 QY_CAMPAIGN_PLAN_INTERVAL_MS=300 QY_CAMPAIGN_PLAN_HORIZON_S=43200
export QY_SCORING_ROLLUP_INTERVAL_MS=300
vnow () { echo $(( L0 + 7 * 3600 + 50 * 60 + ($(date +%s%N) / 1000000 - ANCHOR * 1000) * SPEED / 1000 )); }
past () { [ "$(vnow)" -ge $(( L0 + $1 * 3600 + $2 * 60 )) ]; }
qy_start_services "$QY_BUILD"

"$QYCTL" send "$IT_CASE/prev.jsonl" >/dev/null
it_wait "yesterday's check-in" bash -c "[ \"\$(psql '$QY_PG_DSN' -qAtc 'SELECT count (*) FROM campaign_checkins')\" = 1 ]"
"$QYCTL" send "$IT_CASE/events.jsonl" > "$QY_RUN/acks.jsonl"
it_eq "events accepted" "$(jq -r '.results[].status' "$QY_RUN/acks.jsonl" | sort | uniq -c | tr -s ' ')" " 12 accepted"

# Restart campaign mid-run: once the 08:00 posts are out, before anything else is due.
three () { [ "$(Q "SELECT count (*) FROM campaign_jobs WHERE step = 0 AND status = 'sent' AND period = '2025-11-20' AND campaign_id = 1")" = 3 ]; }
it_wait "the 08:00 posts" three
kill -TERM "$QY_PID_campaign"
for _ in $(seq 100); do kill -0 "$QY_PID_campaign" 2>/dev/null || break; sleep 0.1; done
kill -0 "$QY_PID_campaign" 2>/dev/null && it_fail "campaign did not stop on SIGTERM"
echo "ok   campaign stopped at $(date -u -d @$(( $(vnow) + 8 * 3600 )) +%H:%M) campaign time; starting it again"
QY_HTTP_campaign=$(qy_free_port)
QY_HTTP_PORT=$QY_HTTP_campaign qy_start campaign "$QY_BUILD/services/campaign/qy-campaign"
qy_wait_health campaign "$QY_HTTP_campaign"
it_eq "campaign health after the restart" "$(curl -fs "http://127.0.0.1:$QY_HTTP_campaign/health" | jq -r .status)" ok

it_wait "15:40 campaign time" past 15 40
settled () { [ "$(Q "SELECT count (*) FROM campaign_jobs WHERE status = 'pending' AND due_at <= '2025-11-20 15:30+08'")" = 0 ] &&
             [ "$(Q "SELECT count (*) FROM deliveries WHERE status <> 'delivered'")" = 0 ]; }
it_wait "every due job settled and delivered" settled
"$QYCTL" send "$IT_CASE/late.jsonl" >/dev/null
converted () { [ "$(Q "SELECT count (*) FROM campaign_conversions")" = 2 ]; }
it_wait "two conversions" converted
# Freeze the campaign clock's effects before looking (it runs on 20 minutes a second).
kill -TERM "$QY_PID_campaign"
for _ in $(seq 100); do kill -0 "$QY_PID_campaign" 2>/dev/null || break; sleep 0.1; done

# The jobs: what went out, what a guard blocked (and which), when each was due.
it_sql jobs "SELECT c.name, j.step, j.variant, g.code, regexp_replace (j.period, '^w[0-9]+$', 'w<opened>'), j.status,
             coalesce (j.guard, '-'),
             CASE WHEN j.period ~ '^w' THEN '<window>' ELSE to_char (j.due_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') END AS due,
             cardinality (j.sent_mentions) AS mentions
             FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id JOIN groups g ON g.id = j.group_id
             WHERE j.due_at < '2025-11-20 16:00+08' ORDER BY c.id, j.step, g.code, j.period"
# The gateway: exactly these posts (the lottery's winners are drawn at random: checked below).
it_eq "gateway duplicates" "$(it_gateway_stat duplicates)" 0
jq -c 'select(.source // "" | startswith("campaign:"))' "$QY_RUN/gateway.jsonl" > "$QY_RUN/posts.jsonl"
jq -r '"\(.key) \(.source) \(.mentions // [] | join(",")) \(.text | gsub("\n"; "|"))"' "$QY_RUN/posts.jsonl" \
    | sed -E 's/:w[0-9]+ /:w<opened> /; s/^(camp:4:0:[^ ]+ [^ ]+) [^ ]+ .*/\1 <winners> <winners>/' | sort > "$QY_RUN/actual/gateway.txt"
it_expect gateway
# Each post reached the gateway at its time: sent no earlier than due, and
# within 20 campaign minutes after (one wall second).
jq -r '"\(.key) \(.created_us)"' "$QY_RUN/posts.jsonl" | sort > "$QY_RUN/sent.txt"
Q "SELECT delivery_key, (extract (epoch FROM due_at) * 1000000)::bigint FROM campaign_jobs WHERE status = 'sent' ORDER BY 1" \
    | tr '|' ' ' > "$QY_RUN/due.txt"
late=$(join "$QY_RUN/sent.txt" "$QY_RUN/due.txt" | awk '{ d = ($2 - $3) / 1e6; if (d < 0 || d > 1200) print $1, d }')
it_eq "posts at their times" "${late:-all on time}" "all on time"
it_eq "posts joined to jobs" "$(join "$QY_RUN/sent.txt" "$QY_RUN/due.txt" | wc -l)" "$(wc -l < "$QY_RUN/sent.txt")"
# Nothing sent twice across the restart: one "job sent" line per key in both runs' log.
it_eq "sends per key across the restart" "$( grep 'msg="job sent"' "$QY_RUN/logs/campaign.log" | grep -o ' key=camp:[^ ]*' | sort | uniq -c | awk '$1 != 1' | wc -l)" 0
it_eq "sends in all" "$(grep -c 'msg="job sent"' "$QY_RUN/logs/campaign.log")" "$(wc -l < "$QY_RUN/posts.jsonl")"

# The lottery: two winners among the active, unpenalized members of g1
# (u4 posted an ad and has a violation; the bot is not a member), and the
# recorded seed reproduces them.
it_sql draw_eligible "SELECT m.user_id FROM campaign_draws d JOIN members m ON m.id = ANY (d.eligible) ORDER BY 1"
winners=$(jq -r 'select(.key | startswith("camp:4:0:")) | .mentions | sort | join(",")' "$QY_RUN/posts.jsonl")
recorded=$(Q "SELECT string_agg (m.user_id, ',' ORDER BY m.user_id) FROM campaign_draws d JOIN members m ON m.id = ANY (d.winners)")
it_eq "winners posted = winners recorded" "$winners" "$recorded"
it_eq "two winners" "$(echo "$recorded" | tr ',' '\n' | grep -c '^u[123]$')" 2
"$QYCTL" campaign draws acme --verify | sed -E 's/job [0-9]+/job <id>/; s/seed [0-9]+/seed <seed>/' > "$QY_RUN/actual/verify.txt"
it_expect verify

# Opt-out by keyword, check-ins, conversions and the report.
it_sql optouts "SELECT m.user_id, o.source FROM campaign_optouts o JOIN members m ON m.id = o.member_id ORDER BY 1"
"$QYCTL" campaign checkins acme checkin --format csv > "$QY_RUN/actual/checkins.txt"
it_expect checkins
# (folded replies go out when their window closes, which depends on when the
# services came up: their replies within the hour are not compared)
"$QYCTL" campaign report acme --until '2025-11-20 16:00+08' --format csv \
    | sed -E 's/^(ask-coupon,0|checkin,0),([^,]*),([^,]*),([^,]*),([^,]*),[0-9]+,/\1,\2,\3,\4,\5,<r>,/' > "$QY_RUN/actual/report.txt"
it_expect report
it_eq "dead letters" "$(Q "SELECT count (*) FROM dead_letters WHERE service = 'campaign'")" 0
it_done
