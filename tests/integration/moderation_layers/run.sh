#!/usr/bin/env bash
# Moderation policy layers and the operators' end of the ladder, through the
# running services:
#   1. exempt_staff: false in a store layer (and in another brand's brand
#      layer): a staff member's ad is judged and recalled; under the default
#      (true) the same ad from staff is untouched.
#   2. thresholds and ladders per group type and per region: a group_type vip
#      layer with a lower recall threshold recalls what an ordinary group only
#      sends to review; a region layer's ladder ("warn,remove") blocks on the
#      second offence in that region's groups only, while a group of another
#      region mutes on it (the default ladder).
#   3. the nickname format on RENAME: a bad new nickname gets the reminder
#      (warn, no strike, category format), a good one does not.
#   4. a muted member writing in a second group of the brand: recalled there
#      too (a mute is brand-wide), told once, no new strike.
#   5. overturning the violation that blocked a member lifts the block
#      (Redis, blocks.lifted_at), the member joins again without removal, and
#      the strike count steps back: the next offence is strike 2 again, not 3.
#   6. qyctl moderation violations with --status, --member and --limit.
# Events are sent one step at a time and each step waits until moderation
# has judged it, so violation ids and strike numbers are deterministic.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway --token gw
GW_URL="http://127.0.0.1:$GW_PORT/v1/deliveries"
"$QYCTL" brand create acme "Acme" --gateway-url "$GW_URL" --token-file <(printf %s gw) >/dev/null
"$QYCTL" region create acme north "北区" >/dev/null
"$QYCTL" region create acme south "南区" >/dev/null
"$QYCTL" store create acme s1 "一号店" --region south >/dev/null
"$QYCTL" store create acme n1 "北一店" --region north >/dev/null
"$QYCTL" store create acme x1 "严管店" --region south >/dev/null
for g in room1 room2 room3; do "$QYCTL" group create acme $g "群 $g" --store s1 >/dev/null; done
"$QYCTL" group create acme vip1 "VIP 群" --store s1 --type vip >/dev/null
"$QYCTL" group create acme club1 "会员俱乐部" --store s1 >/dev/null
"$QYCTL" group create acme north1 "北区一群" --store n1 >/dev/null
"$QYCTL" group create acme north2 "北区二群" --store n1 >/dev/null
"$QYCTL" group create acme strict1 "严管群" --store x1 >/dev/null
"$QYCTL" rules load acme >/dev/null
# The layers: staff judged in store x1; a lower recall threshold for vip groups; a short ladder
# in region north; a nickname format in club1.
# A string where a boolean belongs, or a misspelt key, is refused, not silently ignored.
"$QYCTL" moderation policy acme set store x1 '{"exempt_staff":"false"}' 2>/dev/null && it_fail "exempt_staff \"false\" accepted"
"$QYCTL" moderation policy acme set store x1 '{"exempt_staf":false}' 2>/dev/null && it_fail "misspelt exempt_staf accepted"
"$QYCTL" moderation policy acme set store x1 '{"exempt_staff":false}' >/dev/null
"$QYCTL" moderation policy acme set group_type vip '{"recall":0.5}' >/dev/null
"$QYCTL" moderation policy acme set region north '{"ladder":"warn,remove"}' >/dev/null
"$QYCTL" moderation policy acme set group club1 '{"nickname":"昵称-城市"}' >/dev/null
# A second brand whose brand layer judges staff everywhere.
"$QYCTL" brand create beta "Beta" --gateway-url "$GW_URL" --token-file <(printf %s gw) >/dev/null
"$QYCTL" store create beta b1 "一号店" >/dev/null
"$QYCTL" group create beta bg1 "群 bg1" --store b1 >/dev/null
"$QYCTL" rules load beta >/dev/null
"$QYCTL" moderation policy beta set brand - '{"exempt_staff":false}' >/dev/null
# A third brand whose store layer only applies on top of its region's: recall 4.0 is above the
# brand's mute (2.0) but below the region's (5.0). qyctl checks it where it applies and takes it;
# the service must too (an ad there is only sent to review).
"$QYCTL" brand create gamma "Gamma" --gateway-url "$GW_URL" --token-file <(printf %s gw) >/dev/null
"$QYCTL" region create gamma gn "北区" >/dev/null
"$QYCTL" store create gamma gs "北店" --region gn >/dev/null
"$QYCTL" group create gamma gg1 "群 gg1" --store gs >/dev/null
"$QYCTL" rules load gamma >/dev/null
"$QYCTL" moderation policy gamma set region gn '{"mute":5.0,"remove":6.0}' >/dev/null
"$QYCTL" moderation policy gamma set store gs '{"recall":4.0}' >/dev/null || it_fail "a store layer valid on its region's refused"
# ... and the region layer it stands on can then be neither replaced by one without the raised
# mute nor removed: either would silently switch the store's layer off.
"$QYCTL" moderation policy gamma set region gn '{"remove":6.0}' 2>/dev/null && it_fail "a region layer breaking gs's accepted"
"$QYCTL" moderation policy gamma unset region gn 2>/dev/null && it_fail "unsetting the region layer gs stands on accepted"
"$QYCTL" moderation policy acme list --format csv | sed 's/,[^,]*$//' > "$QY_RUN/actual/policies.txt"
it_expect policies
qy_start_services "$QY_BUILD"
export QY_OPERATOR=bob

BID=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
now_us () { echo $(( $(date +%s%N) / 1000 )); }
NSENT=0
send () {   # send MSG GROUP MEMBER KIND TEXT [ROLE] [NICKNAME] [BRAND]   (AT_ALL=true send … for @all)
    NSENT=$((NSENT + 1))
    printf '{"brand":"%s","msg_id":"%s","group":"%s","member":"%s","nickname":"%s","kind":"%s","text":"%s","role":"%s","at_all":%s,"join_scene":"qr_scan","event_time_us":%d}\n' \
        "${8:-acme}" "$1" "$2" "$3" "${7:-$3}" "$4" "$5" "${6:-member}" "${AT_ALL:-false}" "$(now_us)" | "$QYCTL" send - > /dev/null
}
judged () { [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge "$NSENT" ]; }
settle () { it_wait "$NSENT events judged" judged; }
gw_has () { jq -r .key "$QY_RUN/gateway.jsonl" 2>/dev/null | grep -qx "$1"; }
member_id () { q "SELECT id FROM members WHERE brand_id = $BID AND user_id = '$1'"; }
AD="加我微信 abc12345 有优惠"          # recall level (1.0 ≤ score < 2.0): the ladder decides
AD2="找我拿货 微信号 hjk77777"
LINK="官网 www.acne-spam.com 看看"      # review level by default (0.5 ≤ score < 1.0)

# 1. Staff posting an ad: untouched under the default (room1), judged and recalled where a
#    layer says exempt_staff false (store x1's strict1; brand beta's brand layer).
send st1 room1 staff1 text "$AD" staff; settle
send st2 strict1 staff2 text "$AD" staff; settle
send st3 bg1 staff3 text "$AD" staff "" beta; settle
# Judged staff still never hit at_all (moderation-judge.md): staff2's @all is untouched where
# a member's @all goes to review.
AT_ALL=true send at1 strict1 staff2 text "今晚八点直播大家记得来看" staff; settle
AT_ALL=true send at2 strict1 member5 text "今晚八点直播大家记得来看"; settle
it_eq "staff1 (exempt by default) untouched" "$(q "SELECT count (*) FROM violations WHERE brand_id = $BID AND msg_id = 'st1'")" 0

# 2a. The same link: review in an ordinary group, recall (a strike, a warning) in a vip group.
send l1 room1 linker1 text "$LINK"; settle
send l2 vip1 linker2 text "$LINK"; settle

# 3. Nickname format of club1 on rename: good → bad is reminded, bad → good is not, good → good
#    is not; a bad nickname in a group without the format (room1) is nothing.
send k1 club1 nick1 join "" member "小王-北京"; settle
send k2 club1 nick1 rename "" member "小王"; settle
send k3 club1 nick2 join "" member "阿强"; settle
send k4 club1 nick2 rename "" member "阿强-广州"; settle
send k5 club1 nick3 join "" member "小李-上海"; settle
send k6 club1 nick3 rename "" member "小李-杭州"; settle
send k7 room1 nick4 rename "" member "随便"; settle

# 2b. Region north's ladder (warn,remove) against the default (warn, mute 1 day …): two ads
#     from a member in north1 block them; two ads from a member in room1 (region south) mute.
#     blk1 is in north2 too: the block removes them from there at once.
send nj1 north2 blk1 join ""; settle
send na1 north1 blk1 text "$AD"; settle
send na2 north1 blk1 text "$AD2"; settle
send sa1 room1 mut1 text "$AD"; settle
send sa2 room1 mut1 text "$AD2"; settle
blocked () { [ "$(redis-cli -p "$QY_REDIS_PORT" SISMEMBER "block:{b:$BID}" "$(member_id blk1)")" = "$1" ]; }
it_wait "blk1 blocked in Redis" blocked 1
it_wait "blk1 removed from north2" gw_has "block:$BID:$(member_id blk1):$(q "SELECT (extract (epoch FROM created_at) * 1000000)::bigint FROM blocks WHERE brand_id = $BID")":"$(q "SELECT id FROM groups WHERE brand_id = $BID AND code = 'north2'")"

# 4. mut1, muted in room1, writes twice in room2 and once in room3: every message is recalled
#    (the mute is brand-wide), the member is told once (one mute-notice, whatever the group),
#    and no new strike is charged.
send m1 room2 mut1 text "我为什么不能说话了"; settle
send m2 room2 mut1 text "大家好"; settle
send m3 room3 mut1 text "有人吗"; settle
it_eq "strikes of mut1" "$(q "SELECT count (*) FILTER (WHERE strike > 0) || ' ' || max (strike) FROM violations WHERE member_id = $(member_id mut1)")" "2 2"
it_eq "messages recalled because muted (metric)" "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_muted_messages_total)" 3

# 5. Overturn blk1's blocking violation: the block is lifted (blocks.lifted_at, Redis), the
#    member joins again without being removed, and the strike count steps back.
V_BLOCK=$(q "SELECT id FROM violations WHERE brand_id = $BID AND msg_id = 'na2'")
"$QYCTL" moderation overturn acme "$V_BLOCK" --reason "误判：是在转述别人" --learn no > "$QY_RUN/actual/overturn.txt"
it_expect overturn
it_wait "blk1 unblocked in Redis" blocked 0
it_sql blocks_lifted "SELECT m.user_id, b.reason, b.lifted_at IS NOT NULL AS lifted, v.msg_id, v.status
                      FROM blocks b JOIN members m ON m.id = b.member_id JOIN violations v ON v.id = b.violation_id
                      WHERE b.brand_id = $BID"
send nj2 north1 blk1 join ""; settle
sleep 0.5
gw_has "mod:$BID:nj2:remove" && it_fail "blk1 removed on joining after the overturn"
it_eq "blocked joins (metric)" "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_blocked_joins_total)" 0
it_eq "strikes of blk1 that count" "$(q "SELECT count (*) FROM violations WHERE member_id = $(member_id blk1) AND strike > 0 AND status <> 'overturned'")" 1
# The next offence is strike 2 again (not 3): at the end of north's ladder, a block again.
send na3 north1 blk1 text "$AD"; settle
it_wait "blk1 blocked again in Redis" blocked 1
it_sql blocks_again "SELECT m.user_id, b.reason, b.lifted_at IS NOT NULL AS lifted, v.msg_id, v.strike
                     FROM blocks b JOIN members m ON m.id = b.member_id JOIN violations v ON v.id = b.violation_id
                     WHERE b.brand_id = $BID"

# 6. The operators' list: a confirmed one, then every filter.
"$QYCTL" moderation confirm acme "$(q "SELECT id FROM violations WHERE brand_id = $BID AND msg_id = 'sa2'")" --reason "广告" --learn no > /dev/null
vlist () {   # vlist NAME ARGS…: the list as CSV, the event time masked
    local name=$1; shift
    "$QYCTL" moderation violations acme "$@" --format csv | sed -E 's/^([0-9]+),[0-9]{2}-[0-9]{2} [0-9:]{8} [+-][0-9:]{5},/\1,<at>,/' > "$QY_RUN/actual/$name.txt"
    it_expect "$name"
}
vlist list_all
vlist list_overturned --status overturned
vlist list_confirmed --status confirmed
vlist list_open --status open
vlist list_member --member mut1
vlist list_member_open --member blk1 --status open
vlist list_limit --limit 3
ids () { "$QYCTL" moderation violations acme "$@" --format csv | tail -n +2 | cut -d, -f1 | paste -sd' '; }
it_eq "--limit 3: the three newest" "$(ids --limit 3)" "$(q "SELECT string_agg (id::text, ' ' ORDER BY id DESC) FROM (SELECT id FROM violations WHERE brand_id = $BID ORDER BY id DESC LIMIT 3) x")"
it_eq "--status open: every open one" "$(ids --status open --limit 1000)" "$(q "SELECT string_agg (id::text, ' ' ORDER BY id DESC) FROM violations WHERE brand_id = $BID AND status = 'open'")"
it_eq "--member mut1: all of mut1's" "$(ids --member mut1)" "$(q "SELECT string_agg (id::text, ' ' ORDER BY id DESC) FROM violations WHERE member_id = $(member_id mut1)")"

# Gamma: the ad in the store whose layer stands on its region's is only sent to review.
send ga1 gg1 gm1 text "$AD" member gm1 gamma; settle
it_eq "gamma's store layer applied on its region's" "$(q "SELECT action FROM violations WHERE msg_id = 'ga1'")" review

# The operators' decisions in the audit log: the overturn says it lifted the block.
it_sql audit "SELECT action, object_id::bigint = $V_BLOCK AS the_block, detail->>'previous' AS previous, detail->>'strike' AS strike,
              detail->>'lifted_block' AS lifted_block, detail->>'lifted_mute' AS lifted_mute FROM audit_log WHERE brand_id = $BID AND actor = 'bob' ORDER BY id"
# Everything recorded, and everything the gateway received.
it_sql violations "SELECT b.code, v.msg_id, g.code, m.user_id, v.category, v.action, v.strike, v.status,
                   array_to_string (v.rules, ',')
                   FROM violations v JOIN brands b ON b.id = v.brand_id JOIN groups g ON g.id = v.group_id
                   JOIN members m ON m.id = v.member_id ORDER BY b.code, v.id"
gw_count () { [ "$(it_gateway_stat unique)" -ge "$1" ]; }
GW_WANT=1; [ -f "$IT_CASE/expected/gateway.txt" ] && GW_WANT=$(wc -l < "$IT_CASE/expected/gateway.txt")
it_wait "$GW_WANT deliveries at the gateway" gw_count "$GW_WANT"
sleep 1
jq -r '"\(.key) \(.action // "-") \(.member // "-") \(.group // "-") \(.text // "")"' "$QY_RUN/gateway.jsonl" \
    | sed -E 's/[0-9]{2}月[0-9]{2}日 [0-9]{2}:[0-9]{2}/<until>/g; s/^(mute-notice:[0-9]+:[0-9]+):[0-9]+/\1:<until>/; s/^(block:[0-9]+:[0-9]+):[0-9]+:/\1:<since>:/' \
    | sort > "$QY_RUN/actual/gateway.txt"
it_expect gateway
it_eq "mute notices to mut1" "$(jq -r .key "$QY_RUN/gateway.jsonl" | grep -c "^mute-notice:$BID:$(member_id mut1):")" 1
it_eq "gateway duplicates" "$(it_gateway_stat duplicates)" 0
it_done
