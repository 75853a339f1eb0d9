#!/usr/bin/env bash
# Members' reports (举报) through the running services: a reply saying 举报,
# a gateway event of kind report, an @ of the brand's account with 举报. Each
# puts the reported message in the review queue weighted by the reporter's
# trust; a report against staff and one from a reporter whose earlier
# report was found false weigh less, and the reporters are never punished.
# "举报" naming nothing, or an @ of another member alone, is no report.
# A confirmed report of private poaching (私加) is a strike on the reported
# member's content ladder: their next ad is their second strike (a mute).
# Impersonation: members joining or renaming to a nickname that claims a
# staff title, the brand or a staff member's name (spaced, full-width,
# traditional) are flagged for review and the group's owner alerted; an
# ordinary nickname and a staff member's own title are not. The brand's and
# its staff's names are read once and kept (identity.names_ttl_s): later
# joins read none, and a new staff member who speaks is known at once.
source "$(dirname "$0")/../lib.sh"
it_servers
it_pg_statements
it_gateway --token gw
"$QYCTL" brand create acme "Acme" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw) >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" group create acme room1 "一号群" --store s1 >/dev/null
"$QYCTL" group create acme room2 "二号群" --store s1 >/dev/null
"$QYCTL" rules load acme >/dev/null
export QY_SCORING_EVAL_INTERVAL_MS=86400000     # trust levels are set below, as scoring would
qy_start_services "$QY_BUILD"
export QY_OPERATOR=alice
BID=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
n=0
t0=$(( $(date +%s%N) / 1000 ))
ev () {   # ev MSG GROUP MEMBER KIND TEXT [ROLE] [REF] [MENTIONS-JSON] [NICKNAME]
    n=$((n + 1))
    printf '{"brand":"acme","msg_id":"%s","group":"%s","member":"%s","nickname":"%s","kind":"%s","text":"%s","role":"%s","ref_msg_id":"%s","mentions":%s,"event_time_us":%d}\n' \
        "$1" "$2" "$3" "${9:-$3}" "$4" "$5" "${6:-member}" "${7:-}" "${8:-[]}" $((t0 + n * 1000))
}
judged () { [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge "$1" ]; }
send () { "$QYCTL" send "$1" > /dev/null; }

# The members talk first (so they are known), then the reporters' trust is set.
{
    ev s1 room1 staff1 text "欢迎大家，有问题随时问我" staff
    ev m1 room1 u1 text "有需要的姐妹可以找我哦"
    ev m2 room2 u2 text "今天天气不错"
    ev m3 room1 u3 text "我觉得这家的面霜一般般"
    ev m4 room1 u4 text "周末有活动吗"
    for r in r1 r2 r3 r4 r5 r6 r7; do ev "hi-$r" room1 $r text "大家好呀我是$r"; done
} > "$QY_RUN/chat.jsonl"
send "$QY_RUN/chat.jsonl"
it_wait "chat judged" judged 12
q "INSERT INTO member_states (brand_id, group_id, member_id, trust_level, state, activity, contribution)
   SELECT $BID, g.id, m.id, CASE m.user_id WHEN 'r1' THEN 3 WHEN 'r4' THEN 2 ELSE 0 END, 'active', 1, 0
   FROM members m, groups g WHERE m.brand_id = $BID AND g.brand_id = $BID AND g.code = 'room1' AND m.user_id LIKE 'r%'" >/dev/null
{
    # replies saying 举报: the trusted r1 and the new r2 report u1's private poaching
    ev rep1 room1 r1 text "举报，她在群里私加群友" member m1
    ev rep2 room1 r2 text "举报" member m1
    # r3 reports the staff member: weighs a fifth
    ev rep3 room1 r3 text "举报 店员态度差" member s1
    # the gateway's own report event (r4 from the group menu)
    ev rep4 room2 r4 report "发广告" member m2
    # r5 @-s the brand's account (staff1) to report u3: the queue row is the report's own
    ev rep5 room1 r5 text "@staff1 举报 @u3 骂人" member "" '["staff1","u3"]'
    # no report: 举报 naming nothing, an @ of a member alone, a reply without 举报
    ev no1 room1 r6 text "举报"
    ev no2 room1 r6 text "@u4 举报" member "" '["u4"]'
    ev no3 room1 r6 text "说得对" member m4
    # r7 reports u4's harmless question (found false below)
    ev rep7 room1 r7 text "举报 广告" member m4
} > "$QY_RUN/reports.jsonl"
send "$QY_RUN/reports.jsonl"
it_wait "reports judged" judged 21
reported () { [ "$(q "SELECT count (*) FROM moderation_reports WHERE brand_id = $BID")" -ge 6 ]; }
it_wait "six reports recorded" reported
sleep 1
it_sql reports "SELECT r.msg_id, rp.user_id AS reporter, coalesce (r.reported_msg_id, '-'), coalesce (t.user_id, '-') AS reported,
                       r.reason, r.trust_level, r.against_staff, round (r.weight::numeric, 2), r.status
                FROM moderation_reports r LEFT JOIN members rp ON rp.id = r.reporter_id LEFT JOIN members t ON t.id = r.reported_id
                WHERE r.brand_id = $BID ORDER BY r.msg_id"
"$QYCTL" moderation list acme --format csv | cut -d, -f2-6,8- > "$QY_RUN/actual/queue.txt"
it_expect queue
# Nobody is punished for reporting: no violation of a reporter, nothing at the gateway for them.
it_eq "reporters punished" "$(q "SELECT count (*) FROM violations v JOIN members m ON m.id = v.member_id
                                 WHERE v.brand_id = $BID AND m.user_id LIKE 'r%' AND v.kind <> 'flag'")" 0

# r7's report is found false; r7's next report weighs half.
V4=$(q "SELECT id FROM violations WHERE brand_id = $BID AND msg_id = 'm4'")
"$QYCTL" moderation overturn acme "$V4" --reason "正常提问" > /dev/null
# u1's private poaching confirmed: a strike on u1's content ladder.
V1=$(q "SELECT id FROM violations WHERE brand_id = $BID AND msg_id = 'm1'")
"$QYCTL" moderation confirm acme "$V1" --reason "核实私加" --learn no | sed "s/violation $V1/violation V1/" > "$QY_RUN/actual/confirm.txt"
it_expect confirm
{
    ev rep8 room1 r7 text "举报 他私聊我" member m3
    # u1 again, a newcomer-free ad: the second strike of the ladder (a mute), not a first warning
    ev ad2 room1 u1 text "兼职刷单日结，加V：wx88776655 私聊"
} > "$QY_RUN/later.jsonl"
send "$QY_RUN/later.jsonl"
it_wait "later events judged" judged 23
sleep 1
{
    ev i1 room1 x1 join "" member "" '[]' "ＡＣＭＥ 客 服"
    ev i2 room1 x2 join "" member "" '[]' "花花"
    ev i3 room1 x2 rename "" member "" '[]' "店長"
    ev i4 room2 x3 join "" member "" '[]' "staff1"
    ev i5 room2 x4 join "" member "" '[]' "小红-上海"
} > "$QY_RUN/names.jsonl"
send "$QY_RUN/names.jsonl"
it_wait "nicknames judged" judged 28
# staff renaming to a title is no impersonation (sent alone: the staff name above stays as it was)
ev i6 room1 staff1 rename "" staff "" '[]' "店长小李" > "$QY_RUN/staff.jsonl"
send "$QY_RUN/staff.jsonl"
it_wait "staff rename judged" judged 29
flagged () { [ "$(q "SELECT count (*) FROM violations WHERE brand_id = $BID AND category = 'impersonation'")" -ge 3 ]; }
it_wait "three impersonators flagged" flagged
sleep 1
it_sql impersonation "SELECT v.msg_id, m.user_id, v.kind, v.action, v.strike, v.hits->0->>'claims' AS claims, v.excerpt
                      FROM violations v JOIN members m ON m.id = v.member_id
                      WHERE v.brand_id = $BID AND v.category = 'impersonation' ORDER BY v.msg_id"
jq -r 'select(.kind == "alert") | "\(.key) \(.text)"' "$QY_RUN/gateway.jsonl" | sort > "$QY_RUN/actual/alerts.txt"
it_expect alerts
it_sql later "SELECT r.msg_id, round (r.weight::numeric, 2), r.status FROM moderation_reports r
              WHERE r.brand_id = $BID AND r.msg_id IN ('rep7', 'rep8') ORDER BY r.msg_id"
it_sql ladder "SELECT v.msg_id, v.kind, v.category, v.action, v.strike, v.status FROM violations v JOIN members m ON m.id = v.member_id
               WHERE v.brand_id = $BID AND m.user_id = 'u1' ORDER BY v.event_time"

# The names kept: a new staff member speaks, then members join, one under the staff member's name.
brand_reads () { q "SELECT coalesce (sum (calls), 0) FROM pg_stat_statements WHERE query LIKE '%FROM brands b WHERE b.id = ANY%'"; }
reads0=$(brand_reads)
{
    ev s2 room2 staff2 text "我是新来的店员，有事找我" staff "" '[]' "周小周"
    ev i7 room2 x7 join "" member "" '[]' "周小周"
    ev i8 room2 x8 join "" member "" '[]' "阿杰"
} > "$QY_RUN/newstaff.jsonl"
send "$QY_RUN/newstaff.jsonl"
it_wait "new staff judged" judged 32
reads1=$(brand_reads)
ev i9 room1 x9 join "" member "" '[]' "小美" > "$QY_RUN/more.jsonl"
ev i10 room1 x10 join "" member "" '[]' "周小周" >> "$QY_RUN/more.jsonl"
send "$QY_RUN/more.jsonl"
it_wait "later joins judged" judged 34
sleep 1
it_eq "names read again for a staff member not kept" "$((reads1 - reads0))" 1
it_eq "names not read again within their ttl" "$(( $(brand_reads) - reads1 ))" 0
it_eq "the new staff member's name claimed" "$(q "SELECT string_agg (msg_id || ':' || (hits->0->>'claims'), ',' ORDER BY msg_id)
    FROM violations WHERE brand_id = $BID AND category = 'impersonation' AND msg_id IN ('i7#impersonation', 'i8#impersonation',
    'i9#impersonation', 'i10#impersonation')")" "i10#impersonation:周小周,i7#impersonation:周小周"
it_done
