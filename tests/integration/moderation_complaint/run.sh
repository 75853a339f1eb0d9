#!/usr/bin/env bash
# Complaints go to a person, never to a penalty (issue 20 §4): customers
# complaining about quality, delivery, refunds, prices and service in the
# groups of two stores get no violation, strike or action; each complaint
# alerts its store once, and complaint_surge fires when
# a store's complaints in an hour reach alert.complaints_per_hour_store (3)
# and the brand's reach alert.complaints_per_hour_brand (4 here). Ordinary
# chat raises nothing, a staff member's words are no complaint, and an
# insult in a complaint is still judged. Each complaint is kept for the
# weekly voice-of-customer summary (qyctl voc), where club1's complaint shows
# resolved: staff1's message after it in club1 answered it.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway --token gw
"$QYCTL" brand create acme "Acme" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw) >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" store create acme s2 "二号店" >/dev/null
for g in room1 room2 room3; do "$QYCTL" group create acme $g "群 $g" --store s1 >/dev/null; done
"$QYCTL" group create acme club1 "会员群" --store s2 >/dev/null
"$QYCTL" rules load acme >/dev/null
# Migrations 080 and 082 give a brand that loaded the default rules before them the new rules (and
# leaves a brand's own alone): brand "old" is made to look like such a brand, and migrated again.
"$QYCTL" brand create old "Old" >/dev/null
"$QYCTL" rules load old >/dev/null
OLD=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'old'")
psql "$QY_PG_DSN" -qc "DELETE FROM rules WHERE brand_id = $OLD AND (name LIKE 'complaint.%' OR name IN ('ad.contact_disguised', 'abuse.complaint_guard'));
                       UPDATE rules SET weight = -1.0 WHERE brand_id = $OLD AND name = 'ad.classifier_clear';
                       INSERT INTO rules (brand_id, name, kind, category, weight, pattern) VALUES ($OLD, 'complaint.price', 'keyword', 'complaint', 0.1, '贵')"
psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$IT_CASE/../../../deploy/migrations/080_complaint_rules.sql"
psql "$QY_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$IT_CASE/../../../deploy/migrations/082_complaint_context.sql"
it_sql migrated "SELECT name, kind, weight, length (pattern) > 0 AS words FROM rules WHERE brand_id = $OLD
                 AND (name LIKE 'complaint.%' OR name IN ('ad.contact_disguised', 'abuse.complaint_guard', 'ad.classifier_clear'))
                 ORDER BY name"
# ... with the very words of the default rule set (default_rules.tsv, loaded into acme)
ACME=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")
it_eq "migrated rules as in default_rules.tsv" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM rules a JOIN rules o USING (name)
    WHERE a.brand_id = $ACME AND o.brand_id = $OLD AND o.name <> 'complaint.price'
    AND (a.pattern, a.weight, a.kind, a.category) IS DISTINCT FROM (o.pattern, o.weight, o.kind, o.category)")" 0
export QY_MODERATION_ALERT_COMPLAINTS_PER_HOUR_BRAND=4
# A complaint model of our own (qyctl moderation train --category complaint) in the model directory,
# beside the shipped ones: it decides complaints, and finds one no dictionary word names (c7).
mkdir -p "$QY_RUN/models"
cp "$IT_CASE/../../../services/moderation/judge/models/"{ad,abuse}.model "$QY_RUN/models/"
"$QYCTL" moderation train --category complaint --model "$QY_RUN/models/complaint.model" \
    "$IT_CASE/../../data/customer_chat.tsv" >/dev/null
export QY_MODERATION_MODEL_DIR=$QY_RUN/models
qy_start_services "$QY_BUILD"

t0=$(( $(date +%s%N) / 1000 ))
n=0
ev () {   # ev MSG GROUP MEMBER TEXT [ROLE]
    n=$((n + 1))
    printf '{"brand":"acme","msg_id":"%s","group":"%s","member":"%s","nickname":"%s","kind":"text","text":"%s","role":"%s","event_time_us":%d}\n' \
        "$1" "$2" "$3" "$3" "$4" "${5:-member}" $((t0 + n * 1000))
}
{
    ev o1 room1 d1 "这款洗发水有货吗？谢谢"
    ev o2 room2 d2 "昨天买的面霜很好用，已经回购了"
    ev c1 room1 u1 "刚买的裤子洗一次就掉色，质量太差了，太失望了"
    ev c2 room2 u2 "快递太慢了，等了五天还没到，无语"
    ev c3 room3 u3 "垃圾，申请退款三天了没人处理！"
    ev c4 club1 u4 "店员态度很差，再也不来了"
    ev c5 club1 staff1 "快递太慢了，等了五天还没到，无语" staff
    ev c6 room1 u5 "刚买就降价了，太坑人了，傻逼商家"
    ev c7 room2 u6 "买的耳机左边没声音，找谁处理"
} > "$QY_RUN/events.jsonl"
"$QYCTL" send "$QY_RUN/events.jsonl" --batch 3 > /dev/null
BID=$(psql "$QY_PG_DSN" -qAtc "SELECT id FROM brands WHERE code = 'acme'")
done_all () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM messages WHERE brand_id = $BID")" = 9 ] \
              && [ "$(qy_metric "$QY_HTTP_moderation1" qy_moderation_events_total)" -ge 9 ]; }
it_wait "9 events judged" done_all
sleep 1
# Only the insult is a violation (category abuse, from the dictionary); no complaint is one
it_sql violations "SELECT v.msg_id, v.category, v.action, v.strike FROM violations v WHERE v.brand_id = $BID ORDER BY v.msg_id"
jq -r '"\(.key) \(.action // "-") \(.text // "")"' "$QY_RUN/gateway.jsonl" \
    | sed -E 's/:[0-9]{6,} /:<hour> /; s/:s[0-9]+:/:s<store>:/' | sort > "$QY_RUN/actual/gateway.txt"
it_expect gateway
grep -q "models complaint=$QY_RUN/models/complaint.model" "$QY_RUN/logs/moderation1.log" \
    && echo "ok   complaint model loaded" || it_fail "the complaint model was not loaded"
# The weekly voice-of-customer summary: the brand, then each store; topics and products named
"$QYCTL" voc acme --format csv > "$QY_RUN/actual/voc.txt"
"$QYCTL" voc acme --store s2 --days 1 --top 1 --format csv >> "$QY_RUN/actual/voc.txt"
it_expect voc
"$QYCTL" voc acme --bogus 2>/dev/null && it_fail "voc accepted an unknown option"
"$QYCTL" voc acme --store nosuch >/dev/null 2>&1 && it_fail "voc accepted an unknown store"
it_eq "voc --help exits 0" "$("$QYCTL" voc --help >/dev/null; echo $?)" 0
it_done
