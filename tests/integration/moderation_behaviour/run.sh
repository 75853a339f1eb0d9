#!/usr/bin/env bash
# Moderation behaviour through the running services (Redis counts: plain
# pipelined commands per batch, counted in C): a spam wave from coordinated accounts across
# groups, one member's content in the groups of three stores, a newcomer's
# phone number, a join wave making newcomers' rules stricter in one store (a
# store-level policy layer), quiet hours on a group type, the nickname format
# of one group on join; a group type configuring its own behaviour ladder
# (no reminder, a five-minute slow-down). Customers are not punished: a remark in the three
# groups of their store is no wave, a customer asking "有人在吗" again and
# again is waiting, and a repeated question gets a friendly reminder, then a
# short slow-down, never a strike. A spammer (a newcomer's phone number)
# who then repeats themselves climbs the content ladder. Staff announcements
# across groups and ordinary chat stay untouched.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway --token gw
"$QYCTL" brand create acme "Acme" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw) >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" store create acme s2 "二号店" >/dev/null
"$QYCTL" store create acme s3 "三号店" >/dev/null
for g in room1 room2 room3 room4; do "$QYCTL" group create acme $g "群 $g" --store s1 >/dev/null; done
"$QYCTL" group create acme far1 "三号店群" --store s3 >/dev/null
"$QYCTL" group create acme night1 "夜猫群" --store s2 --type night >/dev/null
"$QYCTL" group create acme club1 "会员俱乐部" --store s2 >/dev/null
"$QYCTL" rules load acme >/dev/null
"$QYCTL" moderation policy acme set store s1 - '{"join_wave":{"joins":3,"window_s":600}}' 2>/dev/null && it_fail "a store layer needs a key"
"$QYCTL" moderation policy acme set store s1 '{"join_wave":{"joins":3,"window_s":600}}' >/dev/null
# quiet hours all day in night groups, whose type also skips the reminder: a five-minute slow-down at once
"$QYCTL" moderation policy acme set group_type night '{"quiet":{"from":"00:00","to":"24:00"},"behaviour":{"reminders":0,"slow_minutes":5}}' >/dev/null
"$QYCTL" moderation policy acme set group club1 '{"nickname":"昵称-城市"}' >/dev/null
"$QYCTL" moderation policy acme set group club1 '{"nickname":"re:["}' 2>/dev/null && it_fail "a bad nickname format was accepted"
# abuse words for the negative-surge alert (five in a group within an hour alert its store)
"$QYCTL" rules set acme abuse.test keyword abuse 1.0 "滚出去" >/dev/null
# Layers are checked where they apply (brand beta: store b1 above the defaults, group bg1 above it):
# a group layer that fits the defaults but not its store's layer, and a store layer that would
# break the group layer above it, are refused, naming the group.
"$QYCTL" brand create beta "Beta" >/dev/null
"$QYCTL" store create beta b1 "一号店" >/dev/null
"$QYCTL" group create beta bg1 "群" --store b1 >/dev/null
"$QYCTL" moderation policy beta set store b1 '{"mute":3.0,"remove":4.0}' >/dev/null
"$QYCTL" moderation policy beta set group bg1 '{"remove":2.5}' 2> "$QY_RUN/refused1.txt" >/dev/null && it_fail "remove below the store's mute accepted"
"$QYCTL" moderation policy beta set group bg1 '{"remove":3.5}' >/dev/null
"$QYCTL" moderation policy beta set store b1 '{"mute":3.8,"remove":4.0}' 2> "$QY_RUN/refused2.txt" >/dev/null && it_fail "a store layer breaking bg1's accepted"
cat "$QY_RUN/refused1.txt" "$QY_RUN/refused2.txt" > "$QY_RUN/actual/refused.txt"
it_expect refused
# A bad layer written behind qyctl's back is ignored by the service, loudly; the brand keeps its
# rules (abuse.test above) and every other layer.
BID0=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")
psql "$QY_PG_DSN" -qc "INSERT INTO moderation_policies (brand_id, scope, scope_key, settings) VALUES ($BID0, 'brand', '', '{\"ladder\": 5}')"
qy_start_services "$QY_BUILD"

t0=$(( $(date +%s%N) / 1000 ))
n=0
ev () {   # ev MSG GROUP MEMBER KIND TEXT [ROLE] [NICK] [UNIONID]
    n=$((n + 1))
    printf '{"brand":"acme","msg_id":"%s","group":"%s","member":"%s","nickname":"%s","kind":"%s","text":"%s","role":"%s","unionid":"%s","join_scene":"qr_scan","event_time_us":%d}\n' \
        "$1" "$2" "$3" "${7:-$3}" "$4" "$5" "${6:-member}" "${8:-}" $((t0 + n * 1000))
}
{
    # ordinary chat: the same line from five members is no wave
    ev o2 room1 d1 text "上次的优惠券过期了怎么办"
    ev o3 room2 d2 text "上次的优惠券过期了怎么办"
    ev o4 room3 d3 text "上次的优惠券过期了怎么办？"
    ev o5 room4 d4 text "上次的 优惠券过期了怎么办"
    ev o6 room1 d5 text "上次的优惠券过期了怎么办"
    # coordinated accounts: the same content (a weak cue alone) from five members across the groups
    ev w1 room1 c1 text "这家店的活动大家快去看看吧，有意者私聊"
    ev w2 room2 c2 text "这家店的活动，大家快去看看吧！有意者私聊"
    ev w3 room3 c3 text "这家店的活动大家快去看看吧有意者私聊"
    ev w4 room4 c4 text "这家 店的活动 大家快去看看吧 有意者 私聊"
    ev w5 room1 c5 text "這家店的活動大家快去看看吧，有意者私聊"
    # one member, the same content in three groups of one store: no evidence of promotion, no wave
    ev x1 room1 m1 text "新品到了快来抢购呀朋友们"
    ev x2 room2 m1 text "新品到了快来抢购呀朋友们"
    ev x3 room3 m1 text "新品到了快来抢购呀朋友们"
    # another member, the same content in the groups of three stores within minutes: a wave
    ev z1 room1 m6 text "新品到了快来抢购呀朋友们"
    ev z2 club1 m6 text "新品到了快来抢购呀朋友们"
    ev z3 far1 m6 text "新品到了快来抢购呀朋友们"
    # a customer's remark in the three groups they belong to: not a wave, nothing done
    ev y1 room1 m4 text "昨天买的那款面霜用了3天了，感觉还挺保湿的，就是味道有点重，不知道大家用着怎么样，有没有什么使用心得分享一下"
    ev y2 room2 m4 text "昨天买的那款面霜用了3天了，感觉还挺保湿的，就是味道有点重，不知道大家用着怎么样，有没有什么使用心得分享一下"
    ev y3 room3 m4 text "昨天买的那款面霜用了3天了，感觉还挺保湿的，就是味道有点重，不知道大家用着怎么样，有没有什么使用心得分享一下"
    # staff announcing in four groups: never a wave
    ev s1 room1 staff1 text "今晚八点直播大家记得来看" staff
    ev s2 room2 staff1 text "今晚八点直播大家记得来看" staff
    ev s3 room3 staff1 text "今晚八点直播大家记得来看" staff
    ev s4 room4 staff1 text "今晚八点直播大家记得来看" staff
    # a customer asking whether anyone is there, a fourth time: waiting for an answer, not flooding
    ev r1 room4 m2 text "有人在吗有人在吗在吗"
    ev r2 room4 m2 text "有人在吗有人在吗在吗"
    ev r3 room4 m2 text "有人在吗有人在吗在吗"
    ev r4 room4 m2 text "有人在吗有人在吗在吗"
    # a member talking long before: a phone number alone is allowed (the ad model is sure it is
    # no ad and cancels the contact detail); a newcomer's is recalled all the same
    ev o1 room1 old1 text "我的电话 13912345678"
    ev j1 room1 new1 join ""
    ev p1 room1 new1 text "我的电话 13812345678"
    # a join wave in store s1 (three joins in ten minutes): a newcomer's number now mutes
    ev j2 room2 new2 join ""
    ev j3 room3 new3 join ""
    ev p3 room3 new3 text "我的电话 13712345678"
    # new3 muted: a message of theirs is recalled as an enforcement record, not a new open violation
    ev p4 room1 new3 text "为什么撤回我的消息"
    # quiet hours all day in groups of type night
    ev q1 night1 m3 text "大家晚上好呀"
    # nickname format of club1, on join
    ev k1 club1 nick1 join "" member "小王"
    ev k2 club1 nick2 join "" member "小李-上海"
    # ordinary chat
    ev ok1 club1 nick2 text "请问2件8折和会员折扣能叠加吗"
    # the same question a fourth time: a reminder (nothing recalled, no strike); a fifth: a
    # ten-minute slow-down (recalled, with why and until when), still no strike
    ev t1 room4 m5 text "这款面霜敏感肌能用吗大家"
    ev t2 room4 m5 text "这款面霜敏感肌能用吗大家"
    ev t3 room4 m5 text "这款面霜敏感肌能用吗大家"
    ev t4 room4 m5 text "这款面霜敏感肌能用吗大家"
    ev t5 room4 m5 text "这款面霜敏感肌能用吗大家"
    # a spammer: a newcomer's phone number (content strike 1), then the same line four times:
    # with a content strike this week, the repeat climbs the content ladder (strike 2, a mute)
    ev j9 far1 sp1 join ""
    ev sp1 far1 sp1 text "我的电话 13612345678"
    ev sp2 far1 sp1 text "今天的活动大家都参加了吗"
    ev sp3 far1 sp1 text "今天的活动大家都参加了吗"
    ev sp4 far1 sp1 text "今天的活动大家都参加了吗"
    ev sp5 far1 sp1 text "今天的活动大家都参加了吗"
    # linked accounts: la1 (a newcomer's phone number, strike 1: a warning), then la2, another
    # account of the same WeChat user (same unionid): its first strike is the ladder's second step
    ev j10 far1 la1 join ""
    ev la1 far1 la1 text "我的电话 13512345678" member "" oU-same-person
    ev j11 far1 la2 join ""
    ev la2 far1 la2 text "我的电话 13512345679" member "" oU-same-person
    # five accounts new to the groups post the same weak cue within minutes: the fifth completes a
    # coordinated wave of new accounts, punished more heavily (a mute) than c5's (a warning)
    for k in 1 2 3 4 5; do
        ev "jn$k" "$( [ $((k % 2)) = 1 ] && echo club1 || echo far1 )" "na$k" join "" member "新人-上海"
        ev "nw$k" "$( [ $((k % 2)) = 1 ] && echo club1 || echo far1 )" "na$k" text "这家店福利超多大家快来，有意者私聊" member "新人-上海"
    done
    # a surge of abuse in room4: five members, five different lines; the fifth alerts the store once
    ev a1 room4 an1 text "你滚出去"
    ev a2 room4 an2 text "滚出去吧你"
    ev a3 room4 an3 text "都给我滚出去"
    ev a4 room4 an4 text "赶紧滚出去"
    ev a5 room4 an5 text "滚出去行不行"
} > "$QY_RUN/events.jsonl"
"$QYCTL" send "$QY_RUN/events.jsonl" --batch 7 > /dev/null
BID=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")
done_all () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE brand_id = $BID")" = 68 ] \
              && [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge 68 ]; }
it_wait "68 events judged" done_all
sleep 1
it_sql violations "SELECT v.msg_id, m.user_id, v.category, v.kind, v.action, v.strike, v.status,
                   (SELECT string_agg (r, ',' ORDER BY r) FROM unnest (v.rules) r WHERE r LIKE 'behaviour.%' OR r LIKE 'format.%' OR r = 'ad.phone') AS rules
                   FROM violations v JOIN members m ON m.id = v.member_id WHERE v.brand_id = $BID ORDER BY v.msg_id"
# The review queue: only what a person should look at, highest risk first (no enforcement record,
# no behaviour reminder or slow-down, no confident warning).
"$QYCTL" moderation list acme --format csv | cut -d, -f2-6,8- > "$QY_RUN/actual/queue.txt"
it_expect queue
jq -r '"\(.key) \(.action // "-") \(.member // "-") \(.text // "")"' "$QY_RUN/gateway.jsonl" \
    | sed -E 's/[0-9]{2}月[0-9]{2}日 [0-9]{2}:[0-9]{2}/<until>/; s/^(alert:[a-z]+:[0-9]+:[0-9a-f]+):[0-9]+/\1:<window>/;
             s/^(mute-notice:[0-9]+:[0-9]+):[0-9]+/\1:<until>/' \
    | sort > "$QY_RUN/actual/gateway.txt"
it_expect gateway
grep 'msg="policy ignored"' "$QY_RUN/logs/moderation1.log" | grep -q ' scope=brand ' && echo "ok   bad brand layer ignored, loudly" \
    || it_fail "no log line for the bad brand layer"
it_eq "behaviour hits metric" "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_behaviour_hits_total)" 18
# Redis keys are tagged by brand and expire.
ttl=$(redis-cli -p "$QY_REDIS_PORT" --scan --pattern "sw:{b:$BID}:*" | head -1 | xargs -r redis-cli -p "$QY_REDIS_PORT" PTTL)
[ "${ttl:-0}" -gt 0 ] && echo "ok   wave keys expire" || it_fail "wave key without expiry ($ttl)"
# A read that fails (the brand's block set made a string behind moderation's back) costs its
# batch the mute, block and finished-id reads, loudly; the message is still judged.
redis-cli -p "$QY_REDIS_PORT" SET "block:{b:$BID}" broken >/dev/null
ev rb1 room1 rb1 text "你好" > "$QY_RUN/late.jsonl"
"$QYCTL" send "$QY_RUN/late.jsonl" > /dev/null
late_judged () { [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge 69 ]; }
it_wait "the event after the broken block set judged" late_judged
grep 'behaviour reads failed' "$QY_RUN/logs/moderation1.log" | grep -q 'msg_id=rb1 .*WRONGTYPE' \
    && echo "ok   a failed read logged with the message and the error" || it_fail "no log line for the failed read"
it_done
