#!/usr/bin/env bash
# The WeCom connector's callbacks, end to end: qy-wecomsim stands in for
# WeCom's API, two qy-wecom replicas take callbacks made by openssl(1)
# alone (tests/lib/wecom_vector.sh, never the C code under test) and feed
# ingest. Checked: URL verification; a forged signature, a wrong receive id
# and an old timestamp refused (403), a malformed body 400 + dead letter;
# the same callback sent twice to each replica kept and handled once;
# joins reaching ingest with the channel and name from groupchat/get, a
# removal as "removed"; a token that expires mid-run refreshed once; then
# the outbound door (two replicas refreshing an expired token at once
# fetch one between them): a post as a mass send whose confirmation lands in
# wecom_sends, an alert as a text card naming the group, a welcome as a
# template with WeCom's nickname placeholder, a removal refused 422.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
V="$IT_CASE/../../lib/wecom_vector.sh"
"$Q" brand create acme "Acme" >/dev/null
"$Q" store create acme s1 "一号店" >/dev/null
"$Q" group create acme wrA "一号店会员群" --store s1 >/dev/null
"$Q" channel create acme s1-qr qr_poster --store s1 >/dev/null
"$Q" gateway set acme "http://unused" --token-file <(printf %s deliver-token-0123456789) >/dev/null

# Secrets in files, sealed with the master key.
KEY43=$("$V" key); CORP=wwSimCorp; TOKEN=cbToken123
openssl rand -hex 32 > "$QY_RUN/master.key"
printf '%s\n' "$TOKEN" > "$QY_RUN/token"; printf '%s\n' "$KEY43" > "$QY_RUN/aes"; printf 'app-secret\n' > "$QY_RUN/secret"
printf 'contact-secret\n' > "$QY_RUN/contact"
export QY_WECOM_MASTER_KEY_FILE=$QY_RUN/master.key
# The command line: --help before any connection; an unknown option or a stray argument exits 2.
rc () { "$@" >/dev/null 2>&1 && echo 0 || echo $?; }
it_eq "qyctl wecom set --help, exits" "$(rc "$Q" --dsn "host=/nonexistent" wecom set --help)" 0
it_eq "qyctl wecom set --bogus" "$(rc "$Q" wecom set acme --bogus x)" 2
it_eq "qyctl wecom set stray argument" "$(rc "$Q" wecom set acme extra --corp-id x)" 2
it_eq "qyctl wecom set --capability bad" "$(rc "$Q" wecom set acme --corp-id x --agent-id 1 --token-file a --aes-key-file b --secret-file c --capability maybe)" 2
"$Q" wecom set acme --corp-id $CORP --agent-id 1000002 --token-file "$QY_RUN/token" --aes-key-file "$QY_RUN/aes" \
    --secret-file "$QY_RUN/secret" --contact-secret-file "$QY_RUN/contact" --capability official >/dev/null
it_eq "no plain secret in wecom_brands" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_brands WHERE row_to_json(wecom_brands)::text ~ '(cbToken123|contact-secret|app-secret|$KEY43)'")" 0
it_eq "capability" "$(psql "$QY_PG_DSN" -qAt -c "SELECT capability FROM brand_edges")" official

# Bus and ingest (as in gateway_http), the simulator, two connector replicas.
it_ingest_http
SIM=$(qy_free_port)
qy_start wecomsim "$QY_BUILD/tools/wecomsim/qy-wecomsim" --port "$SIM" --corp $CORP
it_wait "wecom simulator" curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats"
export QY_WECOM_API_BASE="http://127.0.0.1:$SIM" QY_WECOM_INGEST_URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT"
export QY_WECOM_SENDS_EVERY_S=1 QY_WECOM_FORWARD_POLL_MS=50
W1=$(qy_free_port); W2=$(qy_free_port)
QY_HTTP_PORT=$W1 qy_start wecom1 "$QY_BUILD/services/wecom/qy-wecom"
QY_HTTP_PORT=$W2 qy_start wecom2 "$QY_BUILD/services/wecom/qy-wecom"
qy_wait_health wecom1 "$W1"; qy_wait_health wecom2 "$W2"
sim () { curl -fs -X POST "http://127.0.0.1:$SIM/sim/$1" --data-binary "$2"; }
sim group '{"chat_id":"wrA","name":"一号店会员群","owner":"zhang","admin_list":[],
  "member_list":[{"userid":"zhang","type":1,"join_time":1795140000,"join_scene":1},
                 {"userid":"wmX","type":2,"join_time":1795201300,"join_scene":3,"state":"s1-qr","group_nickname":"小王","invitor":{"userid":"zhang"}},
                 {"userid":"wmY","type":2,"join_time":1795201300,"join_scene":3,"state":"s1-qr","name":"阿李"}]}' >/dev/null

# mk XML [TIMESTAMP] [NONCE] [RECEIVE_ID] [TOKEN]: an openssl-made callback in cb.xml, its query in cb.query.
mk () {
    local xml=$1 ts=${2:-$(date +%s)} nonce=${3:-n$RANDOM$RANDOM} rid=${4:-$CORP} tok=${5:-$TOKEN}
    local enc sig
    enc=$(printf '%s' "$xml" | "$V" encrypt "$KEY43" "$rid")
    sig=$("$V" sign "$tok" "$ts" "$nonce" "$enc")
    printf '<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[]]></AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>' "$CORP" "$enc" > "$QY_RUN/cb.xml"
    echo "msg_signature=$sig&timestamp=$ts&nonce=$nonce" > "$QY_RUN/cb.query"
}
# resend PORT: POST cb.xml again (as WeCom retries: the same bytes); prints the status.
resend () {
    curl -s -o "$QY_RUN/cb.answer" -w '%{http_code}' -X POST --data-binary "@$QY_RUN/cb.xml" \
        "http://127.0.0.1:$1/wecom/acme/callback?$(cat "$QY_RUN/cb.query")"
}
# cb PORT XML [TIMESTAMP] [NONCE] [RECEIVE_ID] [TOKEN]: make one and POST it; prints the status.
cb () { local port=$1; shift; mk "$@"; resend "$port"; }
chat_xml () {   # DETAIL SCENE_FIELD SCENE USERS… : a change_external_chat update
    local detail=$1 field=$2 scene=$3; shift 3
    local items=""; for u in "$@"; do items="$items<Item><![CDATA[$u]]></Item>"; done
    printf '<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>%s</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrA]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[%s]]></UpdateDetail><%s>%s</%s><MemChangeCnt>%s</MemChangeCnt><MemChangeList>%s</MemChangeList></xml>' \
        "$CORP" "$(date +%s)" "$detail" "$field" "$scene" "$field" "$#" "$items"
}

# 1. URL verification: WeCom's GET, echostr encrypted and signed by openssl.
ts=$(date +%s); echo_enc=$(printf 'echo-4711' | "$V" encrypt "$KEY43" "$CORP"); sig=$("$V" sign "$TOKEN" "$ts" nv1 "$echo_enc")
it_eq "url verification" "$(curl -s -G "http://127.0.0.1:$W1/wecom/acme/callback" --data-urlencode "msg_signature=$sig" \
    --data-urlencode "timestamp=$ts" --data-urlencode "nonce=nv1" --data-urlencode "echostr=$echo_enc")" echo-4711
it_eq "url verification forged" "$(curl -s -o /dev/null -w '%{http_code}' -G "http://127.0.0.1:$W1/wecom/acme/callback" \
    --data-urlencode "msg_signature=0000$sig" --data-urlencode "timestamp=$ts" --data-urlencode "nonce=nv1" --data-urlencode "echostr=$echo_enc")" 403

# 2. Refused: forged signature (another token), wrong receive id, old timestamp; malformed → 400, and
# a dead letter once signed (a body without Encrypt carries nothing signed: anyone could send it).
JOIN=$(chat_xml add_member JoinScene 3 wmX wmY)
it_eq "forged signature" "$(cb "$W1" "$JOIN" "" "" "$CORP" wrongToken)" 403
it_eq "wrong receive id" "$(cb "$W1" "$JOIN" "" "" wwOtherCorp)" 403
it_eq "old timestamp" "$(cb "$W1" "$JOIN" $(( $(date +%s) - 3600 )))" 403
it_eq "nothing kept of them" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks")" 0
ts=$(date +%s); sig=$("$V" sign "$TOKEN" "$ts" nbad "AAAA")
it_eq "malformed body" "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary 'this is not xml' \
    "http://127.0.0.1:$W1/wecom/acme/callback?msg_signature=$sig&timestamp=$ts&nonce=nbad")" 400
for i in $(seq 1 30); do curl -s -o /dev/null -X POST --data-binary "not xml $i" "http://127.0.0.1:$W1/wecom/acme/callback?msg_signature=x&timestamp=1&nonce=n$i"; done
# A stranger's idle connections: at most 64 from one address are held (bodies are read whole), so
# a 65th is closed at once; once they are gone the address is served again.
fds=()
for i in $(seq 1 64); do exec {fd}<>"/dev/tcp/127.0.0.1/$W1"; fds+=("$fd"); done
sleep 0.3
it_eq "a 65th connection from the address" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$W1/wecom/acme/callback" || true)" 000
for fd in "${fds[@]}"; do exec {fd}>&-; done
sleep 0.3
it_eq "served again once they closed" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$W1/wecom/acme/callback")" 400
errors=$(grep -c "level=error" "$QY_RUN/logs/wecom1.log" || true)
it_eq "a brand code that is not UTF-8" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$W1/wecom/%FF/callback")" 404
it_eq "answered without an error line" "$(grep -c "level=error" "$QY_RUN/logs/wecom1.log" || true)" "$errors"
it_eq "nothing kept of 31 unsigned malformed bodies" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM dead_letters")" 0
it_eq "their log lines bounded" "$(grep -c 'malformed, not kept' "$QY_RUN/logs/wecom1.log" | awk '{print ($1 >= 1 && $1 <= 20)}')" 1
it_eq "signed, decrypts, not XML inside" "$(cb "$W1" "plain text, not xml")" 400
it_eq "signed, decrypts, XML without Event" "$(cb "$W1" "<xml><ChatId>wrA</ChatId></xml>")" 400
it_eq "their dead letters" "$(psql "$QY_PG_DSN" -qAt -c "SELECT reason FROM dead_letters WHERE service = 'wecom' ORDER BY id")" "decrypted body is not XML
decrypted XML has no Event"
it_eq "refusals counted" "$(qy_metric "$W1" 'qy_wecom_callbacks_total{status="forged"}')" 3

# 3. The same callback twice at each replica: answered success four times, kept once.
mk "$JOIN" "$(date +%s)" twice1
s1=$(resend "$W1"); s2=$(resend "$W1"); s3=$(resend "$W2"); s4=$(resend "$W2")
it_eq "same callback answers" "$s1 $s2 $s3 $s4 $(cat "$QY_RUN/cb.answer")" "200 200 200 200 success"
it_eq "kept once" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks WHERE nonce = 'twice1'")" 1
it_eq "three duplicates counted" "$(( $(qy_metric "$W1" 'qy_wecom_callbacks_total{status="duplicate"}') + $(qy_metric "$W2" 'qy_wecom_callbacks_total{status="duplicate"}') ))" 3
# Redis loses its nonce cache: the table's unique key still keeps it once.
redis-cli -p "$QY_REDIS_PORT" FLUSHALL >/dev/null
it_eq "again after Redis lost the cache" "$(resend "$W2")" 200
it_eq "still kept once" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks WHERE nonce = 'twice1'")" 1
it_wait "the join forwarded" sh -c "psql '$QY_PG_DSN' -qAt -c \"SELECT status FROM wecom_callbacks WHERE nonce = 'twice1'\" | grep -qx done"

# 4. A removal by an admin, and a leave.
it_eq "removal" "$(cb "$W2" "$(chat_xml del_member QuitScene 1 wmY)")" 200
it_wait "the removal forwarded" sh -c "psql '$QY_PG_DSN' -qAt -c \"SELECT count(*) FROM wecom_callbacks WHERE status = 'done'\" | grep -qx 2"
it_sql memberships "SELECT mb.user_id, ms.role, coalesce (ms.nickname, ''), coalesce (c.code, '-'), coalesce (ms.join_scene, '-'),
                    coalesce (ms.inviter, '-'), ms.left_at IS NOT NULL, coalesce (ms.leave_reason, '-')
                    FROM memberships ms JOIN members mb ON mb.id = ms.member_id LEFT JOIN channels c ON c.id = ms.channel_id
                    ORDER BY mb.user_id"

# 5. The token expires mid-run: refreshed once, the callback still forwarded.
before=$(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq '.gettoken_by_secret["contact-secret"]')
sim expire '{}' >/dev/null
it_eq "after expiry" "$(cb "$W1" "$(chat_xml add_member JoinScene 0 wmZ)")" 200
it_wait "forwarded after the expiry" sh -c "psql '$QY_PG_DSN' -qAt -c \"SELECT count(*) FROM wecom_callbacks WHERE status = 'done'\" | grep -qx 3"
after=$(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq '.gettoken_by_secret["contact-secret"]')
it_eq "one refresh for the expiry" "$((after - before))" 1
it_eq "refresh counted" "$(( $(qy_metric "$W1" qy_wecom_token_refreshes_total) + $(qy_metric "$W2" qy_wecom_token_refreshes_total) ))" 1

# 6. Many callbacks spread over both replicas, each sent to both: each kept and forwarded once.
for i in $(seq 20); do
    mk "$(chat_xml add_member JoinScene 3 "wmR$i")" "$(date +%s)" "rep$i"
    resend "$W1" >/dev/null; resend "$W2" >/dev/null
done
it_wait "all forwarded" sh -c "psql '$QY_PG_DSN' -qAt -c \"SELECT count(*) FROM wecom_callbacks WHERE status = 'done'\" | grep -qx 23"
it_eq "replicas: each kept once" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*), count(DISTINCT nonce) FROM wecom_callbacks WHERE nonce LIKE 'rep%'")" "20|20"
it_eq "replicas: each joined once" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM messages WHERE kind = 'join' AND msg_id LIKE 'cb:wrA:add:wmR%'")" 20

# 7. Outbound (the interface with the task loop).
D="http://127.0.0.1:$W1/wecom/acme/deliver"
dl () { curl -s -o "$QY_RUN/dl.answer" -w '%{http_code}' -X POST "$D" -H "Authorization: Bearer ${3:-deliver-token-0123456789}" \
        -H "Idempotency-Key: $1" --data-binary "$2"; }
sim staff '{"userid":"zhang","confirm_after_s":1}' >/dev/null
it_eq "post" "$(dl sop:1 '{"key":"sop:1","brand":"acme","group":"wrA","kind":"post","text":"本周新品","source":"campaign:sop:0"}')" 200
msgid=$(jq -r .msgid "$QY_RUN/dl.answer")
it_eq "post again: same msgid" "$(dl sop:1 '{"key":"sop:1","brand":"acme","group":"wrA","kind":"post","text":"本周新品"}')/$(jq -r .msgid "$QY_RUN/dl.answer")" "200/$msgid"
it_eq "one mass send" "$(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq -c '[.sends[] | {sender, chat_ids}]')" '[{"sender":"zhang","chat_ids":["wrA"]}]'
it_wait "the owner's confirmation read back" sh -c "psql '$QY_PG_DSN' -qAt -c \"SELECT status FROM wecom_sends\" | grep -qx sent"
it_eq "wecom_sends" "$(psql "$QY_PG_DSN" -qAt -c "SELECT delivery_key, chat_id, owner_userid, status, sent_at IS NOT NULL FROM wecom_sends")" "sop:1|wrA|zhang|sent|t"
# An owner who sends, to a group over WeCom's receive limit: their task says sent (2), the chat's result 3.
sim group '{"chat_id":"wrB","name":"二号群","owner":"li","admin_list":[],"member_list":[{"userid":"li","type":1,"join_time":1795140000,"join_scene":1}]}' >/dev/null
sim staff '{"userid":"li","confirm_after_s":0,"chat_status":3}' >/dev/null
it_eq "post to a group over its limit" "$(dl sop:4 '{"key":"sop:4","brand":"acme","group":"wrB","kind":"post","text":"超限"}')" 200
it_wait "its chat's result read back" sh -c "psql '$QY_PG_DSN' -qAt -c \"SELECT status FROM wecom_sends WHERE delivery_key = 'sop:4'\" | grep -qx not_sent"
it_eq "remove refused" "$(dl mod:1 '{"key":"mod:1","brand":"acme","group":"wrA","kind":"action","action":"remove","member":"wmX"}')/$(cat "$QY_RUN/dl.answer")" '422/{"error":"not_permitted"}'
it_eq "bad token" "$(dl x '{"key":"x","kind":"post"}' nope)" 401
it_eq "alert" "$(dl al:1 '{"key":"al:1","brand":"acme","group":"wrA","kind":"alert","member":"wmX","text":"wmX 发了广告","source":"moderation"}')" 200
it_eq "alert names the group and member" "$(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq -r '.messages[0] | "\(.touser) \(.msgtype) \(.textcard.description)"')" "zhang textcard 群: 一号店会员群
小王 发了广告"
it_eq "welcome" "$(dl wel:1 '{"key":"camp:1:j:cb:wrA:add:wmX:1","brand":"acme","group":"wrA","kind":"post","text":"欢迎wmX加入","mentions":["wmX"],"source":"campaign:welcome:0"}')" 200
it_eq "welcome template" "$(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq -r '.templates[0].text.content')" "欢迎%NICKNAME%加入"
# The same post at both replicas at once: one mass send (the other answers the same msgid, or 503 and notifier retries).
curls=()
for w in "$W1" "$W2"; do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$w/wecom/acme/deliver" -H "Authorization: Bearer deliver-token-0123456789" \
        -H "Idempotency-Key: sop:3" --data-binary '{"key":"sop:3","brand":"acme","group":"wrA","kind":"post","text":"同时"}' &
    curls+=($!)
done
wait "${curls[@]}"
it_eq "one mass send for one key at two replicas" "$(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq '[.sends[] | select (.text.content == "同时")] | length')" 1
# The token expires while both replicas call at once: one gettoken between them (single flight)
# for the application's secret (message/send); the send poller refreshes the contact secret's.
before=$(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq '.gettoken_by_secret["app-secret"]')
sim expire '{}' >/dev/null
curls=()
for w in "$W1" "$W2" "$W1" "$W2"; do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$w/wecom/acme/deliver" -H "Authorization: Bearer deliver-token-0123456789" \
        --data-binary '{"key":"al:c","brand":"acme","kind":"alert","touser":"zhang","text":"x"}' >> "$QY_RUN/concurrent" &
    curls+=($!)
done
wait "${curls[@]}"     # not a bare wait: the services are background jobs too
it_eq "concurrent calls after expiry" "$(sort "$QY_RUN/concurrent" | uniq -c | tr -s ' ')" " 4 200"
it_eq "one gettoken for both replicas" "$(( $(curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats" | jq '.gettoken_by_secret["app-secret"]') - before ))" 1
sim errcode '{"errcode":45009,"count":1}' >/dev/null
it_eq "busy passed on" "$(dl sop:2 '{"key":"sop:2","brand":"acme","group":"wrA","kind":"post","text":"x"}')/$(jq -c .errcode "$QY_RUN/dl.answer")" "200/45009"
it_done
