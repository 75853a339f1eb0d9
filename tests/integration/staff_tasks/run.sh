#!/usr/bin/env bash
# The staff task loop (docs/tasks.md) for a brand on WeCom's official API,
# without the connector: a gateway simulator stands in for its /deliver
# endpoint, the test writes the wecom_sends rows the connector would, and
# sends the callbacks' leave events through ingest's WeCom path itself.
#   1. SOP posts: sent to the edge AND a "confirm the mass send" task each;
#      g1's owner confirms (wecom_sends turns 'sent'): closed on evidence;
#      g2's never does: handed over, reminded, escalated to the store
#      manager, then the region, then expired; compliance counts the one
#      staff sent and shows the miss.
#   2. A customer's ad: the ladder removes and blocks; on the official edge
#      the recall and removals become tasks (never sent, never reported
#      done), a remove task to the owner naming the group and member, with
#      the evidence; a del_member callback (QuitScene 1) closes it, a revoke
#      closes the recall; the strike and the brand-wide block stand. The
#      block's removal from the member's other group: reassigned, then
#      marked done with a note.
#   3. A gateway brand: the same ad is recalled and removed by its gateway,
#      no task (as before).
# Two notifier replicas run the loop side by side: every notice once.
# Time is driven by short per-brand deadlines (settings.tasks), not sleeps.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway --token gw
Q () { psql "$QY_PG_DSN" -qAtc "$1"; }
"$QYCTL" brand create offi "Offi 官方" --gateway-url "http://127.0.0.1:$GW_PORT/wecom/offi/deliver" --token-file <(printf %s gw) >/dev/null
"$QYCTL" brand create gate "Gate" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw) >/dev/null
"$QYCTL" region create offi east "华东" >/dev/null
"$QYCTL" store create offi s1 "一号店" --region east >/dev/null
"$QYCTL" store create offi s2 "二号店" --region east >/dev/null
"$QYCTL" group create offi g1 "一号店会员群" --store s1 >/dev/null
"$QYCTL" group create offi g2 "二号店会员群" --store s2 >/dev/null
"$QYCTL" store create offi s3 "三号店" >/dev/null
"$QYCTL" group create offi g3 "三号店新群" --store s3 >/dev/null
"$QYCTL" group create gate h1 "Gate 群" >/dev/null
"$QYCTL" rules load offi >/dev/null
"$QYCTL" rules load gate >/dev/null
"$QYCTL" tasks managers offi --store s2 --userid mgr2 --name 赵店长 >/dev/null
"$QYCTL" tasks managers offi --region east --userid boss-east --name 钱区域 >/dev/null
it_eq "managers: unknown store refused" "$("$QYCTL" tasks managers offi --store nope --userid x 2>&1; echo "rc=$?")" \
    "qyctl: unknown store 'nope'
rc=1"
# offi is on the official API (what `qyctl wecom set … --capability official` writes).
Q "INSERT INTO brand_edges (brand_id, capability) SELECT id, 'official' FROM brands WHERE code = 'offi'" >/dev/null
# Both brands: the ladder removes and blocks at the first ad; post tasks (offi's) run their ladder in seconds.
Q "UPDATE brands SET settings = '{\"moderation\": {\"ladder\": \"remove\"},
     \"tasks\": {\"post\": {\"deadline_s\": 3, \"remind_s\": 0, \"manager_s\": 2, \"region_s\": 4, \"expire_s\": 8}}}'" >/dev/null
"$QYCTL" campaign apply "$IT_CASE/sop.json" >/dev/null
"$QYCTL" gateway credential add offi offi-gw --token-file <(printf %s tok-offi-0123456789abcdef) >/dev/null

# The campaign clock reads 2025-11-20 10:29:48 (+08:00) as the services start: the step is due 12 s later.
L0=1763568000
export QY_CAMPAIGN_CLOCK_OFFSET_S=$(( L0 + 10 * 3600 + 29 * 60 + 48 - $(date +%s) ))
export QY_CAMPAIGN_RUN_INTERVAL_MS=100 QY_CAMPAIGN_PLAN_INTERVAL_MS=300 QY_CAMPAIGN_PLAN_HORIZON_S=43200
export QY_NOTIFIER_TASKS_POLL_MS=200 QY_NOTIFIER_TASKS_EVIDENCE_MS=200 QY_NOTIFIER_POLL_MS=50 QY_NOTIFIER_CONSOLE_BASE_URL=http://console.test/
qy_start_services "$QY_BUILD"
# A second notifier replica: the loop must step and close each task once, whichever replica does it.
QY_HTTP_notifier2=$(qy_free_port)
QY_HTTP_PORT=$QY_HTTP_notifier2 qy_start notifier2 "$QY_BUILD/services/notifier/qy-notifier"
qy_wait_health notifier2 "$QY_HTTP_notifier2"

post () { curl -fsS -H "Authorization: Bearer tok-offi-0123456789abcdef" -H 'Content-Type: application/json' --data-binary "$2" "$QY_INGEST_HTTP$1" >/dev/null; }
now=$(date +%s)
# The groups as groupchat/get shows them: owners and members by name.
post /v1/groups/snapshot "{\"fetched_at\": $now, \"group_chat\": {\"chat_id\": \"g1\", \"name\": \"一号店会员群\", \"owner\": \"boss1\",
  \"member_list\": [{\"userid\": \"boss1\", \"type\": 1, \"join_time\": $((now - 86400)), \"group_nickname\": \"王店员\"},
                    {\"userid\": \"spam9\", \"type\": 2, \"join_time\": $((now - 3600)), \"join_scene\": 3, \"group_nickname\": \"小广\"}]}}"
post /v1/groups/snapshot "{\"fetched_at\": $now, \"group_chat\": {\"chat_id\": \"g2\", \"name\": \"二号店会员群\", \"owner\": \"boss2\",
  \"member_list\": [{\"userid\": \"boss2\", \"type\": 1, \"join_time\": $((now - 86400)), \"group_nickname\": \"李店员\"},
                    {\"userid\": \"spam9\", \"type\": 2, \"join_time\": $((now - 3600)), \"join_scene\": 3, \"group_nickname\": \"小广广\"}]}}"
members () { [ "$(Q "SELECT count (*) FROM memberships WHERE left_at IS NULL")" = 4 ]; }
it_wait "the snapshots' members" members

# ---- 1. SOP posts
posts_out () { [ "$(jq -r 'select(.kind == "post") | .key' "$QY_RUN/gateway.jsonl" 2>/dev/null | wc -l)" = 2 ]; }
it_wait "two SOP posts at the edge" posts_out
post_tasks () { [ "$(Q "SELECT count (*) FROM staff_tasks WHERE kind = 'post'")" = 2 ]; }
it_wait "two post tasks" post_tasks
K1=$(Q "SELECT j.delivery_key FROM campaign_jobs j JOIN groups g ON g.id = j.group_id WHERE g.code = 'g1'")
K2=$(Q "SELECT j.delivery_key FROM campaign_jobs j JOIN groups g ON g.id = j.group_id WHERE g.code = 'g2'")
# The connector created the mass sends, then read g1's result: sent. g2's owner never confirms.
Q "INSERT INTO wecom_sends (brand_id, delivery_key, msgid, chat_id, owner_userid)
   SELECT id, '$K1', 'msgGROUPSEND1', 'g1', 'boss1' FROM brands WHERE code = 'offi' UNION ALL
   SELECT id, '$K2', 'msgGROUPSEND2', 'g2', 'boss2' FROM brands WHERE code = 'offi'" >/dev/null
Q "UPDATE wecom_sends SET status = 'sent', sent_at = now (), checked_at = now () WHERE delivery_key = '$K1'" >/dev/null
closed () { [ "$(Q "SELECT state FROM staff_tasks WHERE source_key = '$1'")" = "$2" ]; }
it_wait "g1's post task closed by the send result" closed "$K1" done
it_eq "g1 closed by" "$(Q "SELECT closed_by || ' ' || close_evidence FROM staff_tasks WHERE source_key = '$K1'")" \
    "wecom wecom_sends sent msgid=msgGROUPSEND1"
T2=$(Q "SELECT id FROM staff_tasks WHERE source_key = '$K2'")

# ---- 2. a customer's ad in g1 (while g2's task climbs its ladder)
ad () { echo "{\"brand\":\"$1\",\"msg_id\":\"$2\",\"group\":\"$3\",\"member\":\"spam9\",\"nickname\":\"小广\",\"kind\":\"text\",\"text\":\"加我微信 abc12345 有优惠\",\"event_time_us\":$(( $(date +%s%N) / 1000 ))}" | "$QYCTL" send - >/dev/null; }
ad offi ad1 g1
mod_tasks () { [ "$(Q "SELECT count (*) FROM staff_tasks WHERE kind IN ('remove', 'recall_warn') AND notified_at IS NOT NULL")" = 3 ]; }
it_wait "the ad's tasks handed over" mod_tasks
TR=$(Q "SELECT t.id FROM staff_tasks t JOIN groups g ON g.id = t.group_id WHERE t.kind = 'remove' AND g.code = 'g1'")
TB=$(Q "SELECT t.id FROM staff_tasks t JOIN groups g ON g.id = t.group_id WHERE t.kind = 'remove' AND g.code = 'g2'")
it_sql mod_tasks "SELECT t.kind, g.code AS grp, s.code AS store, t.member_user, t.assignee, t.assignee_name, t.level, t.state,
                         coalesce (t.target_msg_id, '-') AS target, t.evidence_msg_id, t.evidence_text, v.action, t.reason
                  FROM staff_tasks t JOIN groups g ON g.id = t.group_id JOIN stores s ON s.id = t.store_id
                  JOIN violations v ON v.id = t.violation_id WHERE t.kind <> 'post' ORDER BY g.code, t.kind"
# Never sent to the official edge, never recorded as a delivery that could be reported done.
it_eq "moderation actions recorded as deliveries for offi" \
    "$(Q "SELECT count (*) FROM deliveries d JOIN brands b ON b.id = d.brand_id WHERE b.code = 'offi' AND d.kind = 'action'")" 0
notice () { jq -c "select(.key == \"task:$1:$2:$3\")" "$QY_RUN/gateway.jsonl" 2>/dev/null | grep -q .; }
it_wait "the remove notice at the edge" notice "$TR" 0 notify
jq -r "select(.key == \"task:$TR:0:notify\") | [.kind, .touser, .title, .text, .url] | join(\"\n\")" "$QY_RUN/gateway.jsonl" \
    | sed -E "s/#$TR\$/#<id>/; s#/tasks/$TR\$#/tasks/<id>#; s/截止：[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}/截止：<due>/" > "$QY_RUN/actual/remove_notice.txt"
it_expect remove_notice

# The owner removes the member: WeCom's del_member callback with QuitScene 1, through ingest's WeCom path.
post /v1/events "{\"events\": [{\"Event\": \"change_external_chat\", \"ChatId\": \"g1\", \"CreateTime\": $(date +%s),
  \"ChangeType\": \"update\", \"UpdateDetail\": \"del_member\", \"QuitScene\": 1, \"MemChangeCnt\": 1, \"MemChangeList\": [\"spam9\"]}]}"
it_wait "the remove task closed by the leave" closed "mod:$(Q "SELECT id FROM brands WHERE code = 'offi'"):ad1:$(Q "SELECT id FROM groups WHERE code = 'g1'"):remove" done
it_eq "remove closed by" "$(Q "SELECT closed_by || ' ' || regexp_replace (close_evidence, ':[0-9]+ ', ':<t> ') FROM staff_tasks WHERE id = $TR")" \
    "archive leave cb:g1:del:spam9:<t> removed by admin"
# ... and recalls the ad: the archive's revoke closes the recall task.
echo "{\"brand\":\"offi\",\"msg_id\":\"rv1\",\"group\":\"g1\",\"member\":\"boss1\",\"role\":\"owner\",\"kind\":\"revoke\",\"ref_msg_id\":\"ad1\",\"event_time_us\":$(( $(date +%s%N) / 1000 ))}" \
    | "$QYCTL" send - >/dev/null
recalled () { [ "$(Q "SELECT state || ' ' || close_evidence FROM staff_tasks WHERE kind = 'recall_warn'")" = "done revoke rv1 of ad1" ]; }
it_wait "the recall task closed by the revoke" recalled
# The strike and the brand-wide block stand.
it_sql strike "SELECT v.msg_id, v.action, v.strike, m.user_id, b.reason, b.lifted_at IS NULL AS blocked
               FROM violations v JOIN members m ON m.id = v.member_id
               JOIN blocks b ON b.member_id = m.id AND b.violation_id = v.id WHERE v.brand_id = (SELECT id FROM brands WHERE code = 'offi')"
# The removal from g2 (the block's): reassigned to another staff member, who gets it at once; then done with a note.
# It is made ten hours old first (its next step still hours away): past its deadline and two
# escalations by its creation. A reassign starts the ladder again, so the new person keeps it
# with a new deadline, half an hour (before, the loop's next pass escalated it to the region's
# manager).
Q "UPDATE staff_tasks SET created_at = created_at - interval '10 hours' WHERE id = $TB"
"$QYCTL" tasks reassign offi "$TB" --to staff7 --name 孙店员 >/dev/null
it_wait "the reassigned task's notice" notice "$TB" 1 notify
it_eq "reassigned notice to" "$(jq -r "select(.key == \"task:$TB:1:notify\") | .touser" "$QY_RUN/gateway.jsonl")" staff7
sleep 3
it_eq "still the new person's, due in half an hour" \
    "$(Q "SELECT assignee || ' ' || level || ' ' || stage || ' ' || (due_at - now () BETWEEN interval '29 minutes' AND interval '30 minutes') FROM staff_tasks WHERE id = $TB")" \
    "staff7 owner 1 true"
"$QYCTL" tasks done offi "$TB" --note "已在手机上移出" --by staff7 >/dev/null
it_eq "done twice refused" "$("$QYCTL" tasks done offi "$TB" --note again 2>&1 >/dev/null; echo "rc=$?")" \
    "qyctl: task $TB is not open in brand offi (qyctl tasks show offi $TB)
rc=1"
it_eq "show names the evidence" "$("$QYCTL" tasks show offi "$TR" | grep -E '^(state|close_evidence) ' | sed -E 's/ +/ /; s/:[0-9]+ removed/:<t> removed/')" \
    "state done
close_evidence leave cb:g1:del:spam9:<t> removed by admin"
it_eq "by note" "$(Q "SELECT state || ' ' || closed_by || ' ' || note FROM staff_tasks WHERE id = $TB")" "done_by_note staff7 已在手机上移出"

# A group nobody is known to own, in a store with no manager and no region: the task goes to HQ
# as an ordinary alert (the brand's alert route, here its edge), never nowhere.
echo "{\"brand\":\"offi\",\"msg_id\":\"ad3\",\"group\":\"g3\",\"member\":\"spam8\",\"nickname\":\"小八\",\"kind\":\"text\",\"text\":\"加我微信 xyz98765 有优惠\",\"event_time_us\":$(( $(date +%s%N) / 1000 ))}" \
    | "$QYCTL" send - >/dev/null
T3=
hq_task () { T3=$(Q "SELECT t.id FROM staff_tasks t JOIN groups g ON g.id = t.group_id WHERE g.code = 'g3' AND t.kind = 'remove' AND t.level = 'hq'"); [ -n "$T3" ]; }
it_wait "the unowned group's task at HQ" hq_task
it_wait "its notice at the edge" notice "$T3" 0 notify
it_eq "HQ notice" "$(jq -r "select(.key == \"task:$T3:0:notify\") | [.kind, .touser // \"-\", (.text | split(\"\n\") | .[0:3] | join(\"|\"))] | join(\" \")" "$QY_RUN/gateway.jsonl")" \
    "alert - 请将成员移出群聊|群：三号店新群（三号店）|成员：小八"

# ---- 1 (cont.). g2's post: handed over, reminded, escalated to the store manager, the region, expired.
it_wait "g2's post task expired" closed "$K2" expired
for step in notify remind manager region; do
    jq -r "select(.key == \"task:$T2:0:$step\") | \"\(.step) \(.touser) \(.title)\"" "$QY_RUN/gateway.jsonl"
done > "$QY_RUN/actual/ladder.txt"
it_expect ladder
it_eq "g2's notices, once each" "$(Q "SELECT count (*) FROM deliveries WHERE key LIKE 'task:$T2:%'")/$(jq -r "select(.key | startswith(\"task:$T2:\")) | .key" "$QY_RUN/gateway.jsonl" | wc -l)" 4/4
it_eq "escalation names the owner" "$(jq -r "select(.key == \"task:$T2:0:manager\") | .text" "$QY_RUN/gateway.jsonl" | grep -c '群主 李店员 未在截止时间前完成')" 1
"$QYCTL" campaign report offi --format csv | sed -n '/^SOP compliance per store/,$p' > "$QY_RUN/actual/compliance.txt"
it_expect compliance
"$QYCTL" tasks report offi --format json | jq -c '.[][] | {store, staff, name, kind, tasks, done, by_note, open, expired, escalated, completion_pct}
    | with_entries(select(.value != null))' > "$QY_RUN/actual/tasks_report.txt"
it_expect tasks_report
"$QYCTL" tasks list offi --state all --format csv | cut -d, -f2-8 | { read -r h; echo "$h"; LC_ALL=C sort; } > "$QY_RUN/actual/list.txt"
it_expect list
"$QYCTL" report offi | grep -c '== staff tasks per st' | awk '{print ($1 == 2) ? "report has the task sections" : "missing"}' > "$QY_RUN/actual/report.txt"
it_expect report

# ---- 3. a gateway brand: unchanged, its gateway recalls and removes, no task.
ad gate gad1 h1
gate_actions () { [ "$(jq -r 'select(.brand == "gate" and .kind == "action") | .action' "$QY_RUN/gateway.jsonl" | sort | tr '\n' ' ')" = "recall remove " ]; }
it_wait "the gateway brand's recall and removal" gate_actions
sleep 1
it_eq "gateway brand tasks" "$(Q "SELECT count (*) FROM staff_tasks t JOIN brands b ON b.id = t.brand_id WHERE b.code = 'gate'")" 0
it_eq "gateway brand's report without task sections" "$("$QYCTL" report gate | grep -c 'staff tasks' || true)" 0
it_eq "official brand actions at the edge" "$(jq -r 'select(.brand == "offi" and .kind == "action") | .key' "$QY_RUN/gateway.jsonl" | wc -l)" 0
it_eq "gateway duplicates" "$(it_gateway_stat duplicates)" 0
it_done
