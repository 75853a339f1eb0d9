#!/usr/bin/env bash
# Issue 16 §8, an official brand end to end: the five services, the bus,
# the WeCom connector (qy-wecom) and qy-wecomsim standing in for WeCom,
# which also encrypts and sends the callbacks. The brand is set up with
# `qyctl wecom set … --capability official`, its gateway URL pointing at
# the connector's /wecom/offi/deliver.
#   1. join callbacks → groupchat/get → the welcome as the group welcome
#      template, greeting by %NICKNAME%, never by member id;
#   2. an SOP post → add_msg_template → g1's owner confirms in the
#      simulator → the connector's poller marks wecom_sends sent → the
#      post task closes → compliance counts it as sent by staff;
#   3. g2's owner never confirms → reminder → the store manager → the
#      region → compliance shows the miss (seconds-long ladder settings);
#   4. a customer's ad → a remove task to the owner with the evidence, as
#      message/send → del_member (QuitScene 1) from the simulator → the
#      task closes → the strike and the brand-wide block stand;
#   5. the tokens expire mid-run: one refresh.
source "$(dirname "$0")/../lib.sh"
it_servers
Q () { psql "$QY_PG_DSN" -qAtc "$1"; }
V="$IT_CASE/../../lib/wecom_vector.sh"
W=$(qy_free_port); SIM=$(qy_free_port)
DTOK=deliver-token-0123456789
"$QYCTL" brand create offi "Offi 官方" --gateway-url "http://127.0.0.1:$W/wecom/offi/deliver" --token-file <(printf %s $DTOK) >/dev/null
"$QYCTL" region create offi east "华东" >/dev/null
"$QYCTL" store create offi s1 "一号店" --region east >/dev/null
"$QYCTL" store create offi s2 "二号店" --region east >/dev/null
"$QYCTL" group create offi g1 "一号店会员群" --store s1 >/dev/null
"$QYCTL" group create offi g2 "二号店会员群" --store s2 >/dev/null
"$QYCTL" rules load offi >/dev/null
"$QYCTL" tasks managers offi --store s2 --userid mgr2 --name 赵店长 >/dev/null
"$QYCTL" tasks managers offi --region east --userid boss-east --name 钱区域 >/dev/null
Q "UPDATE brands SET settings = '{\"moderation\": {\"ladder\": \"remove\"},
     \"tasks\": {\"post\": {\"deadline_s\": 4, \"remind_s\": 0, \"manager_s\": 2, \"region_s\": 4, \"expire_s\": 8}}}'" >/dev/null
"$QYCTL" campaign apply "$IT_CASE/sop.json" >/dev/null
"$QYCTL" campaign welcome offi "欢迎{nickname}加入{group}" >/dev/null

# WeCom's side: secrets in files, sealed with the master key; the official capability.
KEY43=$("$V" key); CORP=wwSimCorp; CBTOKEN=cbToken123
openssl rand -hex 32 > "$QY_RUN/master.key"
printf '%s\n' "$CBTOKEN" > "$QY_RUN/token"; printf '%s\n' "$KEY43" > "$QY_RUN/aes"
printf 'app-secret\n' > "$QY_RUN/secret"; printf 'contact-secret\n' > "$QY_RUN/contact"
export QY_WECOM_MASTER_KEY_FILE=$QY_RUN/master.key
"$QYCTL" wecom set offi --corp-id $CORP --agent-id 1000002 --token-file "$QY_RUN/token" --aes-key-file "$QY_RUN/aes" \
    --secret-file "$QY_RUN/secret" --contact-secret-file "$QY_RUN/contact" --capability official >/dev/null
it_eq "capability" "$(Q "SELECT capability FROM brand_edges")" official

# The campaign clock reads 2025-11-20 10:29:40 (+08:00) as the services start: the SOP step is due 20 s later.
L0=1763568000
export QY_CAMPAIGN_CLOCK_OFFSET_S=$(( L0 + 10 * 3600 + 29 * 60 + 40 - $(date +%s) ))
export QY_CAMPAIGN_RUN_INTERVAL_MS=100 QY_CAMPAIGN_PLAN_INTERVAL_MS=300 QY_CAMPAIGN_PLAN_HORIZON_S=43200
export QY_NOTIFIER_TASKS_POLL_MS=200 QY_NOTIFIER_TASKS_EVIDENCE_MS=200 QY_NOTIFIER_POLL_MS=50 QY_NOTIFIER_CONSOLE_BASE_URL=http://console.test/
qy_start_services "$QY_BUILD"
qy_start wecomsim "$QY_BUILD/tools/wecomsim/qy-wecomsim" --port "$SIM" --corp $CORP \
    --callback-url "http://127.0.0.1:$W/wecom/offi/callback" --cb-token $CBTOKEN --cb-aes-key "$KEY43"
it_wait "wecom simulator" curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats"
export QY_WECOM_API_BASE="http://127.0.0.1:$SIM" QY_WECOM_INGEST_URL="$QY_INGEST_HTTP"
export QY_WECOM_SENDS_EVERY_S=1 QY_WECOM_FORWARD_POLL_MS=50
QY_HTTP_PORT=$W qy_start wecom "$QY_BUILD/services/wecom/qy-wecom"
qy_wait_health wecom "$W"
sim () { curl -fs -X POST "http://127.0.0.1:$SIM/sim/$1" --data-binary "$2"; }
stats () { curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq -r "$1"; }
now=$(date +%s)
sim group "{\"chat_id\":\"g1\",\"name\":\"一号店会员群\",\"owner\":\"boss1\",\"admin_list\":[],
  \"member_list\":[{\"userid\":\"boss1\",\"type\":1,\"join_time\":$((now - 86400)),\"join_scene\":1,\"group_nickname\":\"王店员\"},
                   {\"userid\":\"spam9\",\"type\":2,\"join_time\":$((now - 3600)),\"join_scene\":3,\"group_nickname\":\"小广\"},
                   {\"userid\":\"wmX\",\"type\":2,\"join_time\":$now,\"join_scene\":3,\"group_nickname\":\"小王\",\"invitor\":{\"userid\":\"boss1\"}}]}" >/dev/null
sim group "{\"chat_id\":\"g2\",\"name\":\"二号店会员群\",\"owner\":\"boss2\",\"admin_list\":[],
  \"member_list\":[{\"userid\":\"boss2\",\"type\":1,\"join_time\":$((now - 86400)),\"join_scene\":1,\"group_nickname\":\"李店员\"},
                   {\"userid\":\"spam9\",\"type\":2,\"join_time\":$((now - 3600)),\"join_scene\":3,\"group_nickname\":\"小广广\"},
                   {\"userid\":\"wmY\",\"type\":2,\"join_time\":$now,\"join_scene\":3,\"name\":\"阿李\"}]}" >/dev/null
sim staff '{"userid":"boss1","confirm_after_s":1}' >/dev/null     # boss2 never confirms
chat_xml () {   # CHAT DETAIL SCENE_FIELD SCENE USERS… : a change_external_chat update
    local chat=$1 detail=$2 field=$3 scene=$4; shift 4
    local items=""; for u in "$@"; do items="$items<Item><![CDATA[$u]]></Item>"; done
    printf '<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>%s</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[%s]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[%s]]></UpdateDetail><%s>%s</%s><MemChangeCnt>%s</MemChangeCnt><MemChangeList>%s</MemChangeList></xml>' \
        "$CORP" "$(date +%s)" "$chat" "$detail" "$field" "$scene" "$field" "$#" "$items"
}
callback () { jq -nc --arg x "$1" '{xml: $x}' | curl -fs -X POST "http://127.0.0.1:$SIM/sim/callback" --data-binary @-; }

# ---- 1. joins → groupchat/get → the welcome template
callback "$(chat_xml g1 add_member JoinScene 3 wmX)" > "$QY_RUN/cb1.json"
callback "$(chat_xml g2 add_member JoinScene 3 wmY)" > "$QY_RUN/cb2.json"
joined () { [ "$(Q "SELECT count (*) FROM memberships WHERE left_at IS NULL")" = 6 ]; }
it_wait "the snapshots' members in ingest" joined
it_eq "owners from groupchat/get" "$(Q "SELECT g.code || ' ' || mb.user_id FROM memberships ms JOIN groups g ON g.id = ms.group_id
    JOIN members mb ON mb.id = ms.member_id WHERE ms.role = 'owner' ORDER BY g.code")" "g1 boss1
g2 boss2"
# Four joins: wmX's and wmY's callbacks, and spam9 first seen in each snapshot.
templates () { [ "$(stats '.templates | length')" = 4 ]; }
it_wait "four welcome templates" templates
stats '.templates[].text.content' | sort > "$QY_RUN/actual/welcome.txt"
it_expect welcome
it_eq "welcomes delivered, none as a mass send" "$(Q "SELECT count (*) FROM deliveries WHERE key LIKE 'welcome:%' AND status = 'delivered'")/$(stats '[.sends[] | select (.text.content | test ("欢迎"))] | length')" 4/0
it_eq "no task for a welcome" "$(Q "SELECT count (*) FROM staff_tasks")" 0

# ---- 2/3. the SOP post: two mass sends, g1's owner confirms, g2's never does
sends () { [ "$(Q "SELECT count (*) FROM wecom_sends")" = 2 ]; }
it_wait "two mass sends recorded" sends
it_eq "mass sends by the owners" "$(stats '[.sends[] | "\(.sender) \(.chat_ids | join (","))"] | sort | join (";")')" "boss1 g1;boss2 g2"
K1=$(Q "SELECT j.delivery_key FROM campaign_jobs j JOIN groups g ON g.id = j.group_id WHERE g.code = 'g1'")
K2=$(Q "SELECT j.delivery_key FROM campaign_jobs j JOIN groups g ON g.id = j.group_id WHERE g.code = 'g2'")
closed () { [ "$(Q "SELECT state FROM staff_tasks WHERE source_key = '$1'")" = "$2" ]; }
it_wait "g1's post task closed by the confirmed send" closed "$K1" done
it_eq "g1 closed by" "$(Q "SELECT closed_by || ' ' || regexp_replace (close_evidence, 'msgid=.*', 'msgid=<m>') FROM staff_tasks WHERE source_key = '$K1'")" \
    "wecom wecom_sends sent msgid=<m>"
it_eq "g1's send row" "$(Q "SELECT chat_id, owner_userid, status, sent_at IS NOT NULL FROM wecom_sends WHERE delivery_key = '$K1'")" "g1|boss1|sent|t"
T2=$(Q "SELECT id FROM staff_tasks WHERE source_key = '$K2'")

# ---- 4. a customer's ad in g1 (while g2's task climbs its ladder)
echo "{\"brand\":\"offi\",\"msg_id\":\"ad1\",\"group\":\"g1\",\"member\":\"spam9\",\"nickname\":\"小广\",\"kind\":\"text\",\"text\":\"加我微信 abc12345 有优惠\",\"event_time_us\":$(( $(date +%s%N) / 1000 ))}" \
    | "$QYCTL" send - >/dev/null
TR=
remove_task () { TR=$(Q "SELECT t.id FROM staff_tasks t JOIN groups g ON g.id = t.group_id WHERE t.kind = 'remove' AND g.code = 'g1' AND t.notified_at IS NOT NULL"); [ -n "$TR" ]; }
it_wait "the remove task handed over" remove_task
card () { [ "$(stats "[.messages[] | select (.touser == \"boss1\" and (.textcard.description | test (\"移出\")))] | length")" -ge 1 ]; }
it_wait "the remove task at the owner as message/send" card
stats '[.messages[] | select (.touser == "boss1" and (.textcard.description | test ("移出")))][0]
       | "\(.msgtype) \(.touser)\n\(.textcard.title)\n\(.textcard.description)\n\(.textcard.url)"' \
    | sed -E "s#/tasks/$TR\$#/tasks/<id>#; s/#$TR\$/#<id>/; s/截止：[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}/截止：<due>/" > "$QY_RUN/actual/remove_card.txt"
it_expect remove_card
it_eq "no removal sent to the connector" "$(Q "SELECT count (*) FROM deliveries WHERE kind = 'action'")" 0

# ---- 5. the tokens expire mid-run; the owner removes the member: WeCom's del_member, QuitScene 1
before=$(stats '.gettoken_by_secret["contact-secret"]')
sim expire '{}' >/dev/null
callback "$(chat_xml g1 del_member QuitScene 1 spam9)" >/dev/null
it_wait "the remove task closed by the removal" closed "mod:$(Q "SELECT id FROM brands WHERE code = 'offi'"):ad1:$(Q "SELECT id FROM groups WHERE code = 'g1'"):remove" done
it_eq "remove closed by" "$(Q "SELECT closed_by || ' ' || regexp_replace (close_evidence, ':[0-9]+ ', ':<t> ') FROM staff_tasks WHERE id = $TR")" \
    "archive leave cb:g1:del:spam9:<t> removed by admin"
it_eq "one refresh for the expiry" "$(( $(stats '.gettoken_by_secret["contact-secret"]') - before ))" 1
it_sql strike "SELECT v.msg_id, v.action, v.strike, m.user_id, b.reason, b.lifted_at IS NULL AS blocked
               FROM violations v JOIN members m ON m.id = v.member_id
               JOIN blocks b ON b.member_id = m.id AND b.violation_id = v.id"

# ---- 3 (cont.). g2's post: reminded, escalated to the store manager and the region, expired.
it_wait "g2's post task expired" closed "$K2" expired
stats '.messages[] | select ((.textcard.title | test ("群发")) and (.textcard.description | test ("二号店"))) | "\(.touser) \(.textcard.title)"' > "$QY_RUN/actual/ladder.txt"
it_expect ladder
it_eq "g2's send never confirmed" "$(Q "SELECT status FROM wecom_sends WHERE delivery_key = '$K2'")" pending
"$QYCTL" campaign report offi --format csv | sed -n '/^SOP compliance per store: posts staff sent/,$p' > "$QY_RUN/actual/compliance.txt"
it_expect compliance
it_done
