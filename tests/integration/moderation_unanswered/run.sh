#!/usr/bin/env bash
# Unanswered customers through the running services: a customer's question
# that a staff message answers is timed; one asking "在吗" again and again is
# one waiting customer, not flooding: left unanswered past answer.after_s it
# alerts the group's store, past answer.escalate_s HQ, once each; one that
# arrived long after it was asked alerts nobody. The reply
# times per store and staff member (median, p90) and the share unanswered.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway --token gw
"$QYCTL" brand create acme "Acme" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw) >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" group create acme room1 "一号群" --store s1 >/dev/null
"$QYCTL" group create acme room2 "二号群" --store s1 >/dev/null
"$QYCTL" group create acme room3 "三号群" --store s1 >/dev/null
"$QYCTL" rules load acme >/dev/null
"$QYCTL" rules set acme flood.member flood flood 1.0 5/60 >/dev/null
# business hours all day, so that the case runs at any hour; short waits
"$QYCTL" moderation policy acme set brand - '{"answer":{"after_s":2,"escalate_s":4,"from":"00:00","to":"24:00"}}' >/dev/null
"$QYCTL" moderation policy acme set brand - '{"answer":{"after":2}}' 2>/dev/null && it_fail "a misspelt answer key was accepted"
qy_start_services "$QY_BUILD"
BID=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
now=$(( $(date +%s%N) / 1000 ))
ev () {   # ev MSG GROUP MEMBER TEXT SECONDS-AGO [ROLE]
    printf '{"brand":"acme","msg_id":"%s","group":"%s","member":"%s","nickname":"%s","kind":"text","text":"%s","role":"%s","event_time_us":%d}\n' \
        "$1" "$2" "$3" "$3" "$4" "${6:-member}" $((now - $5 * 1000000))
}
{
    # a question asked twenty minutes before it reached us (a backfill): history, never alerted
    ev old1 room3 u9 "这个怎么用呢" 1200
    ev q1 room1 u1 "请问这款面霜还有货吗？" 120
    ev n1 room1 u3 "今天天气真好" 115
    ev a1 room1 staff1 "有的亲，下单就发" 90 staff
    ev q4 room2 u4 "会员价什么时候恢复呢" 100
    ev a2 room2 staff2 "明天就恢复啦" 40 staff
    # u2 waits: seven times in twelve seconds, after the last staff message
    for k in 1 2 3 4 5 6 7; do ev "w$k" room2 u2 "$( [ $((k % 2)) = 1 ] && echo 有人吗 || echo 在吗 )" $((30 - k * 2)); done
} > "$QY_RUN/events.jsonl"
"$QYCTL" send "$QY_RUN/events.jsonl" > /dev/null
escalated () { [ "$(q "SELECT count (*) FROM moderation_questions WHERE brand_id = $BID AND escalated_at IS NOT NULL")" -ge 1 ]; }
it_wait "u2's question escalated" escalated
sleep 3     # a later sweep alerts nothing again
it_sql questions "SELECT q.msg_id, m.user_id, coalesce (s.user_id, '-') AS answered_by,
                         extract (epoch FROM q.answered_at - q.asked_at)::int AS reply_s,
                         q.alerted_at IS NOT NULL AS alerted, q.escalated_at IS NOT NULL AS escalated
                  FROM moderation_questions q JOIN members m ON m.id = q.member_id LEFT JOIN members s ON s.id = q.answered_by
                  WHERE q.brand_id = $BID ORDER BY q.asked_at"
jq -r 'select(.kind == "alert") | "\(.key) group=\(.group // "") \(.text)"' "$QY_RUN/gateway.jsonl" \
    | sed -E 's/等待 [0-9]+ 分钟/等待 <n> 分钟/' | sort > "$QY_RUN/actual/alerts.txt"
it_expect alerts
# The waiting customer is not punished.
it_eq "u2's violations" "$(q "SELECT count (*) FROM violations v JOIN members m ON m.id = v.member_id
                              WHERE v.brand_id = $BID AND m.user_id = 'u2'")" 0
"$QYCTL" moderation replies acme --format csv > "$QY_RUN/actual/replies.txt"
it_expect replies
it_done
