#!/usr/bin/env bash
# A complaint goes to a person and is tracked to its resolution (issue 20 §4):
#   1. gateway brand: a complaint a staff member answers in the same batch (found in the archive
#      when it is recorded), one answered in a later batch, and one nobody answers, which goes to HQ
#      once answer.escalate_s later; the weekly summary (qyctl voc) shows resolved, open, escalated;
#   2. official brand: a complaint becomes the group owner's "answer" task (never a bare alert);
#      a staff reply closes it on evidence; another closed by hand with a note resolves its
#      complaint as such;
#   3. a brand trains its own complaint model (qyctl moderation train --category complaint --brand),
#      stored in PostgreSQL and loaded by moderation in place of the deployment's.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway --token gw
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QYCTL" brand create acme "Acme" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw) >/dev/null
"$QYCTL" brand create offi "Offi" --gateway-url "http://127.0.0.1:$GW_PORT/wecom/offi/deliver" --token-file <(printf %s gw) >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" store create offi o1 "官方店" >/dev/null
for g in room1 room2 room3; do "$QYCTL" group create acme $g "群 $g" --store s1 >/dev/null; done
for g in og1 og2; do "$QYCTL" group create offi $g "官方群 $g" --store o1 >/dev/null; done
"$QYCTL" rules load acme >/dev/null
"$QYCTL" rules load offi >/dev/null
q "INSERT INTO brand_edges (brand_id, capability) SELECT id, 'official' FROM brands WHERE code = 'offi'" >/dev/null
# business hours all day, so that the case runs at any hour; HQ hears of an open complaint after 8 s
for b in acme offi; do
    "$QYCTL" moderation policy $b set brand - '{"answer":{"after_s":600,"escalate_s":8,"from":"00:00","to":"24:00"}}' >/dev/null
done
export QY_NOTIFIER_TASKS_POLL_MS=200 QY_NOTIFIER_TASKS_EVIDENCE_MS=200
qy_start_services "$QY_BUILD"
ACME=$(q "SELECT id FROM brands WHERE code = 'acme'"); OFFI=$(q "SELECT id FROM brands WHERE code = 'offi'")
now=$(( $(date +%s%N) / 1000 ))
ev () {   # ev BRAND MSG GROUP MEMBER TEXT SECONDS-AGO [ROLE]
    printf '{"brand":"%s","msg_id":"%s","group":"%s","member":"%s","nickname":"%s","kind":"text","text":"%s","role":"%s","event_time_us":%d}\n' \
        "$1" "$2" "$3" "$4" "$4" "$5" "${7:-member}" $((now - $6 * 1000000))
}
recorded () { [ "$(q "SELECT count (*) FROM complaints WHERE msg_id IN ($1)")" = "$2" ]; }

# 1. the gateway brand
{
    ev acme c1 room1 u1 "刚买的裤子洗一次就掉色，质量太差了，太失望了" 7
    ev acme a1 room1 staff1 "抱歉亲，给您换一条新的" 6 staff
    ev acme c3 room3 u3 "快递太慢了，等了五天还没到，无语" 7
    ev acme x2 room2 staff2 "大家好，新品到店啦" 5 staff          # before c2: answers nothing
    ev acme c2 room2 u2 "申请退款三天了没人处理，太失望了" 0
} > "$QY_RUN/a.jsonl"
"$QYCTL" send "$QY_RUN/a.jsonl" --batch 5 >/dev/null
it_wait "three complaints recorded" recorded "'c1', 'c2', 'c3'" 3
now=$(( $(date +%s%N) / 1000 ))
ev acme a2 room2 staff2 "抱歉，马上给您处理退款" 0 staff > "$QY_RUN/b.jsonl"
"$QYCTL" send "$QY_RUN/b.jsonl" >/dev/null
escalated () { [ -n "$(q "SELECT 1 FROM complaints WHERE msg_id = 'c3' AND escalated_at IS NOT NULL")" ]; }
it_wait "c3 escalated to HQ" escalated
sleep 3     # later sweeps escalate nothing again
it_sql acme "SELECT c.msg_id, coalesce (s.user_id, '-') AS answered_by, coalesce (c.resolution, '-') AS resolution,
                    c.escalated_at IS NOT NULL AS escalated
             FROM complaints c LEFT JOIN members s ON s.id = c.answered_by WHERE c.brand_id = $ACME ORDER BY c.msg_id"
jq -r 'select(.key | startswith("alert:complaint:")) | "\(.key) group=\(.group // "") \(.text)"' "$QY_RUN/gateway.jsonl" \
    | sed -E 's/:[0-9]+:/:<brand>:/; s/已 [0-9]+ 分钟/已 <n> 分钟/' | sort > "$QY_RUN/actual/alerts.txt"
it_expect alerts
it_eq "voc: resolved, open, escalated" \
    "$("$QYCTL" voc acme --format json | jq -c '[.[] | [.scope, .complaints, .resolved, .open, .escalated]]')" \
    '[["(brand)",3,2,1,1],["s1",3,2,1,1]]'
it_eq "voc: median minutes to the first reply" "$("$QYCTL" voc acme --format json | jq '.[0].reply_p50_min < 1')" true

# 2. the official brand: the owner's task to answer, closed by evidence or by a note
now=$(( $(date +%s%N) / 1000 ))
{
    ev offi c4 og1 v1 "店员态度很差，问了三遍都不理人" 0
    ev offi c5 og2 v2 "买的耳机左边没声音，质量太差了" 0
} > "$QY_RUN/c.jsonl"
"$QYCTL" send "$QY_RUN/c.jsonl" >/dev/null
tasks () { [ "$(q "SELECT count (*) FROM staff_tasks WHERE brand_id = $OFFI AND kind = 'answer' AND reason = 'complaint'")" = 2 ]; }
it_wait "two answer tasks" tasks
it_sql tasks_open "SELECT t.source_key, t.kind, t.reason, t.member_user, t.evidence_msg_id, g.code AS grp, t.content LIKE '顾客投诉%' AS says
                   FROM staff_tasks t JOIN groups g ON g.id = t.group_id WHERE t.brand_id = $OFFI ORDER BY t.source_key"
it_eq "no bare complaint alert for the official brand" \
    "$(jq -r "select(.key | startswith(\"alert:complaint:$OFFI:\")) | .key" "$QY_RUN/gateway.jsonl" | wc -l)" 0
now=$(( $(date +%s%N) / 1000 ))
ev offi r4 og1 staff9 "您好，非常抱歉，我们店长马上联系您" 0 staff > "$QY_RUN/d.jsonl"
"$QYCTL" send "$QY_RUN/d.jsonl" >/dev/null
closed () { [ "$(q "SELECT state FROM staff_tasks WHERE brand_id = $OFFI AND evidence_msg_id = 'c4'")" = done ]; }
it_wait "c4's task closed by the staff reply" closed
T5=$(q "SELECT id FROM staff_tasks WHERE brand_id = $OFFI AND evidence_msg_id = 'c5'")
"$QYCTL" tasks done offi "$T5" --note "电话联系顾客，已安排换货" --by staff7 >/dev/null
it_sql offi "SELECT c.msg_id, coalesce (c.resolution, '-') AS resolution, t.state, t.closed_by,
                    t.close_evidence = 'answered by staff member staff9' AS by_reply
             FROM complaints c JOIN staff_tasks t ON t.brand_id = c.brand_id AND t.evidence_msg_id = c.msg_id
             WHERE c.brand_id = $OFFI ORDER BY c.msg_id"

# 3. the brand's own complaint model
rc=0; "$QYCTL" moderation train --category complaint --brand acme --model /tmp/x.model "$IT_CASE/../../data/customer_chat.tsv" \
    >/dev/null 2>&1 || rc=$?
it_eq "--brand with --model refused" "$rc" 2
rc=0; "$QYCTL" moderation eval --category complaint --brand acme "$IT_CASE/../../data/customer_chat.tsv" >/dev/null 2>&1 || rc=$?
it_eq "eval --brand refused" "$rc" 2
mkdir -p "$QY_RUN/tmp"
rc=0; TMPDIR=$QY_RUN/tmp "$QYCTL" moderation train --category complaint --brand nosuch "$IT_CASE/../../data/customer_chat.tsv" \
    >/dev/null 2>&1 || rc=$?
it_eq "train --brand of an unknown brand fails, leaving no temporary file" "$rc $(ls "$QY_RUN/tmp" | wc -l)" "1 0"
it_eq "train --brand" "$("$QYCTL" moderation train --category complaint --brand acme "$IT_CASE/../../data/customer_chat.tsv" | tail -1)" \
    "model complaint version $(q "SELECT last_value FROM moderation_models_id_seq") stored for brand acme"
it_eq "stored as acme's" "$(q "SELECT category || ' ' || reason FROM moderation_models WHERE brand_id = $ACME")" \
    "complaint trained from $IT_CASE/../../data/customer_chat.tsv"
now=$(( $(date +%s%N) / 1000 ))
ev acme m1 room1 u5 "今天有什么活动吗" 0 > "$QY_RUN/e.jsonl"
loaded () { grep "complaint model: the brand's own" "$QY_RUN/logs/moderation1.log" | grep -q "brand=$ACME\b"; }
"$QYCTL" send "$QY_RUN/e.jsonl" >/dev/null
it_wait "moderation loaded acme's own complaint model" loaded
it_done
