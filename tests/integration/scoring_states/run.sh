#!/usr/bin/env bash
# Scoring on a scripted history (events.jsonl, worked out by hand in
# docs/scoring.md's terms): reply edges in Redis, member standing and
# states, group health, channel retention, capacity and clean-out lists,
# signals to campaign and a zombie alert that reaches notifier, the roll-ups
# (daily, hourly, stores, regions) and the reports. Judged as of the last
# event (eval.event_clock), with key_min 2 and a 14-day clean-out.
source "$(dirname "$0")/../lib.sh"
it_servers
"$QYCTL" brand create sc "Scoring" >/dev/null
"$QYCTL" region create sc east "华东" >/dev/null
"$QYCTL" store create sc s1 "一号店" --region east >/dev/null
"$QYCTL" group create sc room1 "会员群" --store s1 --capacity 4 >/dev/null
"$QYCTL" group create sc dead "福利群" --store s1 >/dev/null
"$QYCTL" channel create sc qr1 qr_poster --store s1 >/dev/null
"$QYCTL" channel create sc st1 staff_invite --store s1 >/dev/null
psql "$QY_PG_DSN" -qc "UPDATE brands SET settings = settings || '{\"scoring\": {\"key_min\": 2, \"cleanout_silent_days\": 14}}' WHERE code = 'sc'"
export QY_SCORING_ROLLUP_INTERVAL_MS=300 QY_SCORING_EVAL_INTERVAL_MS=500 QY_SCORING_EVAL_EVENT_CLOCK=true
qy_start_services "$QY_BUILD"
"$QYCTL" send "$IT_CASE/events.jsonl" --batch 5 > "$QY_RUN/acks.jsonl"
it_eq "accepted" "$(jq -r '.results[].status' "$QY_RUN/acks.jsonl" | grep -c accepted)" 17

q () { psql "$QY_PG_DSN" -qAtc "$1"; }
BID=$(q "SELECT id FROM brands WHERE code = 'sc'")
G1=$(q "SELECT id FROM groups WHERE brand_id = $BID AND code = 'room1'")
G2=$(q "SELECT id FROM groups WHERE brand_id = $BID AND code = 'dead'")
mid () { q "SELECT id FROM members WHERE brand_id = $BID AND user_id = '$1'"; }
U1=$(mid u1); U2=$(mid u2); U3=$(mid u3)
evaluated () { [ "$(q "SELECT count (*) FROM group_states WHERE brand_id = $BID")" = 2 ] &&
               [ "$(q "SELECT count (*) FROM member_scores WHERE brand_id = $BID")" = 8 ] &&
               [ "$(q "SELECT coalesce (sum (messages), 0) FROM member_scores WHERE brand_id = $BID")" = 12 ]; }
it_wait "an evaluation of both groups" evaluated
sleep 2     # a few more rounds: states must not change and no signal may repeat

# Redis: u2 answered u1's question within the window (a reply received by u1),
# u3 quoted u2 and u1 mentioned u2; u2 wrote one substantial message.
r () { redis-cli -p "$QY_REDIS_PORT" "$@"; }
D20=20707   # 2026-09-11 at +08:00
{
    echo "u1 replies=$(r HGET "sc:r:{g:$G1}" "r:$U1") u2 replies=$(r HGET "sc:r:{g:$G1}" "r:$U2") mentions=$(r HGET "sc:r:{g:$G1}" "n:$U2")"
    echo "u2 $(r HMGET "sc:u:{g:$G1}:$U2" msgs days ans subs streak st tl | paste -sd' ')"
    echo "u4 in=$(r HGET "sc:u:{g:$G1}:$(mid u4)" in)"
    echo "day $D20 $(r HMGET "sc:g:{g:$G1}:$D20" msgs joins q ans replies staff h10 h11 | paste -sd' ')"
    echo "qr1 $(r HMGET "sc:ch:{g:$G1}" "$(q "SELECT id FROM channels WHERE code = 'qr1'"):joins" "$(q "SELECT id FROM channels WHERE code = 'qr1'"):act" | paste -sd' ')"
} > "$QY_RUN/actual/redis.txt"
it_expect redis

it_sql member_states "SELECT g.code, m.user_id, s.trust_level, s.state FROM member_states s JOIN groups g ON g.id = s.group_id
                      JOIN members m ON m.id = s.member_id WHERE s.brand_id = $BID ORDER BY 1, 2"
it_sql member_scores "SELECT g.code, m.user_id, s.in_group, s.state, s.messages, s.active_days, s.replies_received, s.mentions,
                      s.answered, round (s.contribution::numeric, 1), s.last_active FROM member_scores s JOIN groups g ON g.id = s.group_id
                      JOIN members m ON m.id = s.member_id WHERE s.brand_id = $BID ORDER BY 1, 2"
it_sql group_health "SELECT g.code, h.members, h.dau, h.wau, h.mau, round (h.active_ratio::numeric, 3), round (h.msgs_per_day::numeric, 3),
                     round (h.top3_share::numeric, 3), round (h.self_activation::numeric, 3), h.health, h.state, h.lifecycle
                     FROM group_health h JOIN groups g ON g.id = h.group_id WHERE h.brand_id = $BID ORDER BY 1"
it_sql group_states "SELECT g.code, s.state, s.health, s.lifecycle FROM group_states s JOIN groups g ON g.id = s.group_id WHERE s.brand_id = $BID ORDER BY 1"
it_sql suggestions "SELECT g.code, s.kind, s.rank, m.user_id, s.needed, s.reason FROM member_suggestions s JOIN groups g ON g.id = s.group_id
                    JOIN members m ON m.id = s.member_id WHERE s.brand_id = $BID ORDER BY 1, 2, 3"
it_sql hourly "SELECT g.code, to_char (h.hour AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24'), h.messages FROM hourly_group_stats h
               JOIN groups g ON g.id = h.group_id WHERE h.brand_id = $BID ORDER BY 1, 2"
"$QYCTL" report channels sc --format csv > "$QY_RUN/actual/channels.txt"; it_expect channels
"$QYCTL" report channels sc --by kind --format csv > "$QY_RUN/actual/channel_kinds.txt"; it_expect channel_kinds
W=(--since 2026-09-01 --until 2026-10-31 --format csv)
"$QYCTL" report stores sc "${W[@]}" > "$QY_RUN/actual/stores.txt"; it_expect stores
"$QYCTL" report regions sc "${W[@]}" > "$QY_RUN/actual/regions.txt"; it_expect regions
"$QYCTL" report groups sc --group room1 --view speech "${W[@]}" > "$QY_RUN/actual/speech.txt"; it_expect speech
"$QYCTL" report members sc --group room1 --state lurker --format json | jq -r '.[].member' > "$QY_RUN/actual/lurkers.txt"; it_expect lurkers
"$QYCTL" report suggestions sc --kind capacity --format csv | cut -d, -f1-4,7 > "$QY_RUN/actual/capacity.txt"; it_expect capacity

# The brand report of the foundation still answers, with the scoring sections beside it.
"$QYCTL" report sc | grep -q "most active groups" && echo "ok   report BRAND" || it_fail "report BRAND broke"

# Signals: each state change once, however many rounds ran; the zombie alert reached notifier.
# (ids shown as codes: sig:NAME:GROUP:MEMBER:DAY)
q "SELECT 'g ' || id || ' ' || code FROM groups WHERE brand_id = $BID UNION ALL
   SELECT 'm ' || id || ' ' || user_id FROM members WHERE brand_id = $BID" > "$QY_RUN/names.txt"
grep -o 'msg_id=sig:[^ ]*' "$QY_RUN/logs/scoring1.log" | cut -d= -f2 | awk -F: -v OFS=: '
    NR == FNR { n[$0 ~ /^g/ ? "g" : "m", substr ($0, 3, index (substr ($0, 3), " ") - 1)] = substr ($0, index (substr ($0, 3), " ") + 3); next }
    { $3 = n["g", $3]; if ($4 != 0) $4 = n["m", $4]; print }' "$QY_RUN/names.txt" - | sort > "$QY_RUN/actual/signals.txt"
it_expect signals
it_eq "signals metric" "$(qy_metric "$QY_HTTP_scoring1" qy_scoring_signals_sent_total)" 5
# A member's signal carries the member's user id (read a page of groups at a time).
it_eq "member signals' users" "$(grep 'signal changed' "$QY_RUN/logs/scoring1.log" | grep -o 'signal=member[^ ]* .* user=[^ ]*' \
    | sed -E 's/signal=([^ ]*) .* user=/\1 /' | sort | tr '\n' ',')" "member.key u2,member.lurker u3,member.lurker v1,member.lurker v2,"
alerted () { [ "$(q "SELECT count (*) FROM deliveries WHERE brand_id = $BID AND kind = 'alert' AND key = 'alert:group.zombie:$G2:0:20261001'")" = 1 ]; }
it_wait "the zombie alert at notifier" alerted
it_done
