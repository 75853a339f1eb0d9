#!/usr/bin/env bash
# qyctl keeps each brand's objects to that brand, and refuses bad numbers
# before they size anything (only PostgreSQL and Redis: no services):
#   1. a credential name another brand holds is refused, not moved over;
#   2. a credential is revoked by its brand only;
#   3. a violation is confirmed or overturned by its brand only;
#   4. send --batch / --timeout-ms take a number in range;
#   5. brand create of an existing code is refused without --update, which keeps the brand's zone;
#      --tz takes minutes or a zone name, and is checked;
#   6. deadletters replay of another brand's id exits 1;
#   7. gateway pause takes a sane number of seconds; --verify takes no value;
#   8. report windows and campaign report's dates are the brand's days;
#   9. violations lists the brand's own (another brand's group is not named), CSV
#      quotes a carriage return; changes are audited; demo load leaves real brands alone.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
# rc_err CMD…: "EXIT-STATUS first-line-of-stderr" (stdout dropped)
rc_err () { local rc=0; "$@" >/dev/null 2>"$QY_RUN/err.txt" || rc=$?; echo "$rc $(head -1 "$QY_RUN/err.txt")"; }
"$Q" brand create acme Acme >/dev/null
"$Q" brand create other Other >/dev/null

# ---- 1. credential add: the name is acme's; other cannot take it over
"$Q" gateway credential add acme acme-gw --token-file <(printf %s acme-token-0123456789) >/dev/null
before=$(sql "SELECT brand_id || ' ' || token_sha256 FROM gateway_credentials WHERE name = 'acme-gw'")
it_eq "other adds acme's credential name" "$(rc_err "$Q" gateway credential add other acme-gw --token-file <(printf %s other-token-0123456789))" \
    "1 qyctl: credential name acme-gw taken by another brand"
it_eq "acme-gw still acme's, same token" "$(sql "SELECT brand_id || ' ' || token_sha256 FROM gateway_credentials WHERE name = 'acme-gw'")" "$before"
it_eq "acme replaces its own token" "$(rc_err "$Q" gateway credential add acme acme-gw --hmac-file <(printf %s acme-secret-0123456789))" "0 "
it_eq "acme-gw now signs" "$(sql "SELECT kind || ' ' || enabled FROM gateway_credentials WHERE name = 'acme-gw'")" "hmac true"

# ---- 2. credential revoke BRAND NAME
it_eq "revoke without a brand" "$(rc_err "$Q" gateway credential revoke acme-gw | cut -c1-19)" "2 qyctl: 'gateway c"
it_eq "other revokes acme's credential" "$(rc_err "$Q" gateway credential revoke other acme-gw)" \
    "1 qyctl: no credential named acme-gw in brand other"
it_eq "acme-gw still enabled" "$(sql "SELECT enabled FROM gateway_credentials WHERE name = 'acme-gw'")" t
it_eq "acme revokes it" "$(rc_err "$Q" gateway credential revoke acme acme-gw)" "0 "
it_eq "acme-gw revoked, audited" "$(sql "SELECT c.enabled || ' ' || count (a.*) FROM gateway_credentials c
    LEFT JOIN audit_log a ON a.action = 'gateway.credential.revoke' AND a.object_id = c.name AND a.brand_id = c.brand_id
    WHERE c.name = 'acme-gw' GROUP BY c.enabled")" "false 1"

# ---- 3. confirm / overturn BRAND ID
acme_id=$(sql "SELECT id FROM brands WHERE code = 'acme'")
V=$(sql "INSERT INTO violations (brand_id, group_id, msg_id, event_time, category, score, action, rules, hits)
         VALUES ($acme_id, 1, 'v1', now (), 'ad', 0.9, 'review', '{ad.test}', '[]') RETURNING id" | head -1)
it_eq "overturn without a brand" "$(rc_err "$Q" moderation overturn "$V" --reason x --learn no)" \
    "2 qyctl: moderation overturn needs a BRAND, an ID and --reason TEXT"
it_eq "other overturns acme's violation" "$(rc_err "$Q" moderation overturn other "$V" --reason x --learn no)" \
    "1 qyctl: no violation $V in brand other"
it_eq "other confirms it (--brand)" "$(rc_err "$Q" moderation confirm "$V" --brand other --reason x --learn no)" \
    "1 qyctl: no violation $V in brand other"
it_eq "still open" "$(sql "SELECT status FROM violations WHERE id = $V")" open
it_eq "acme confirms it" "$("$Q" moderation confirm acme "$V" --reason "广告" --learn no)" "violation $V confirmed"
it_eq "acme overturns it (--brand)" "$("$Q" moderation overturn "$V" --brand acme --reason "误判" --learn no)" "violation $V overturned"

# ---- 4. send: --batch and --timeout-ms
echo '{"brand":"acme","msg_id":"s1","group":"room1","member":"u1","kind":"text","text":"hi"}' > "$QY_RUN/one.jsonl"
dead="tcp://127.0.0.1:$(qy_free_port)"
for b in 0 abc -3 100000; do
    it_eq "send --batch $b" "$(rc_err "$Q" send "$QY_RUN/one.jsonl" --endpoint "$dead" --batch "$b" --timeout-ms 200)" \
        "2 qyctl: --batch must be a whole number from 1 to 10000, not '$b'"
done
it_eq "send --timeout-ms abc" "$(rc_err "$Q" send "$QY_RUN/one.jsonl" --endpoint "$dead" --timeout-ms abc)" \
    "2 qyctl: --timeout-ms must be a whole number from 1 to 3600000, not 'abc'"

# ---- 5. brand create keeps the zone it has
"$Q" brand create east East --tz 540 >/dev/null
it_eq "brand create of an existing code" "$(rc_err "$Q" brand create east "East Co")" \
    '1 qyctl: brand east exists (named "East"); --update to change it'
"$Q" brand create east "East Co" --update >/dev/null
"$Q" brand create zoned Zoned --tz Asia/Kathmandu >/dev/null
"$Q" brand create west West --tz -300 >/dev/null
it_eq "zones" "$(sql "SELECT string_agg (code || ' ' || name || ' ' || tz_offset_min, ',' ORDER BY id) FROM brands")" \
    "acme Acme 480,other Other 480,east East Co 540,zoned Zoned 345,west West -300"
it_eq "brand create --tz 900" "$(rc_err "$Q" brand create east East --tz 900 --update)" \
    "2 qyctl: --tz must be a whole number from -720 to 840, not '900'"
it_eq "brand create --tz 8h" "$(rc_err "$Q" brand create east East --tz 8h --update)" \
    "2 qyctl: --tz: '8h' is neither minutes from UTC (-720 to 840) nor a zone name PostgreSQL knows"
it_eq "east's zone unchanged" "$(sql "SELECT tz_offset_min FROM brands WHERE code = 'east'")" 540

# ---- 6. deadletters replay: another brand's id is an error
D=$(sql "INSERT INTO dead_letters (brand_id, brand_code, service, msg_id, reason)
         VALUES ($acme_id, 'acme', 'scoring', 'd1', 'test') RETURNING id" | head -1)
it_eq "other replays acme's row" "$(rc_err "$Q" deadletters replay other "$D" --yes)" \
    "1 qyctl: 1 of the 1 ids are not dead letters of other"
it_eq "acme's row untouched" "$(sql "SELECT replays || ' ' || state FROM dead_letters WHERE id = $D")" "0 open"

# ---- 7. gateway pause; a bare --verify
it_eq "pause for 10^17 s" "$(rc_err "$Q" gateway pause http://gw.example/v1 100000000000000000)" \
    "2 qyctl: SECONDS must be a whole number from 1 to 2592000, not '100000000000000000'"
it_eq "pause for 5 s" "$("$Q" gateway pause http://gw.example/v1 5 2>/dev/null)" "deliveries to http://gw.example/v1 held for 5 s"
it_eq "one pause key, held 5 s" "$(redis-cli -p "$QY_REDIS_PORT" --scan --pattern 'nt:pause:*' | while read -r k; do
    redis-cli -p "$QY_REDIS_PORT" PTTL "$k"; done | awk '{ n++; ok += ($1 > 0 && $1 <= 5000) } END { print n, ok }')" "1 1"
it_eq "campaign draws --verify BRAND" "$(rc_err "$Q" campaign draws --verify acme)" "0 "

# ---- 8. the brand's days: UTC+14 and UTC-12 brands (whatever the hour, one of their
#      todays is not PostgreSQL's current_date); a row on the first and the last day of
#      the default 30-day window is shown.
"$Q" brand create plus14 "UTC+14" --tz 840 >/dev/null
"$Q" brand create minus12 "UTC-12" --tz -720 >/dev/null
for b in plus14 minus12; do
    "$Q" group create "$b" r1 R1 >/dev/null
    sql "INSERT INTO daily_group_stats (brand_id, group_id, day, messages)
         SELECT b.id, g.id, (now () AT TIME ZONE 'UTC' + make_interval (mins => b.tz_offset_min))::date - d, 10 + d
         FROM brands b JOIN groups g ON g.brand_id = b.id, (VALUES (0), (29), (30)) AS x (d) WHERE b.code = '$b'"
    it_eq "$b: the brand's 30 days" "$("$Q" report groups "$b" --view daily --format csv | tail -n +2 | cut -d, -f1,3 | sort | tr '\n' ' ')" \
        "r1,10 r1,39 "
done
# campaign report --since/--until: a bare date is the brand's midnight (plus14's 1 January
# starts at 10:00 UTC on 31 December).
P14=$(sql "SELECT id FROM brands WHERE code = 'plus14'")
sql "INSERT INTO campaigns (brand_id, name, trigger, template) VALUES ($P14, 'c1', 'schedule', 'x');
     INSERT INTO campaign_jobs (brand_id, campaign_id, step, group_id, period, due_at, status, guard, delivery_key)
     SELECT $P14, c.id, 1, g.id, p, t::timestamptz, 'blocked', p, 'k-' || p
     FROM campaigns c, groups g, (VALUES ('in', '2025-12-31 10:30Z'), ('before', '2025-12-31 09:30Z'),
                                         ('after', '2026-01-01 10:30Z')) AS x (p, t)
     WHERE c.brand_id = $P14 AND g.brand_id = $P14" >/dev/null
it_eq "campaign report of plus14's 1 January" \
    "$("$Q" campaign report plus14 --since 2026-01-01 --until 2026-01-02 --format csv | grep -E '^c1,(in|before|after),' | tr '\n' ' ')" "c1,in,1 "

# ---- 9. violations and CSV; audit; demo load
"$Q" group create other oroom "别家的群" >/dev/null
V2=$(sql "INSERT INTO violations (brand_id, group_id, msg_id, event_time, category, score, action, rules, hits, excerpt)
          SELECT $acme_id, id, 'v2', now (), 'ad', 0.9, 'review', '{ad.test}', '[]', E'a\\rb' FROM groups WHERE code = 'oroom'
          RETURNING id" | head -1)
it_eq "acme's violation in a group not acme's" "$("$Q" violations acme --format csv | grep "^$V2," | cut -d, -f1,3,11 | tr '\r' '^')" \
    "$V2,,\"a^b\""
"$Q" region create acme east "华东" >/dev/null
"$Q" store create acme s01 "一号店" --region east >/dev/null
"$Q" group create acme room1 "一号群" --store s01 >/dev/null
"$Q" channel create acme s01-qr qr_poster --store s01 >/dev/null
sql "INSERT INTO members (brand_id, user_id) VALUES ($acme_id, 'u1')" >/dev/null
"$Q" campaign tag acme u1 vip >/dev/null
"$Q" campaign untag acme u1 vip >/dev/null
echo '{"brand": "acme", "guards": {"promo_per_day": 2}, "group_guards": {"room1": {"promo_per_day": 1}}, "campaigns": []}' > "$QY_RUN/sop.json"
"$Q" campaign apply "$QY_RUN/sop.json" --yes >/dev/null
it_sql audit "SELECT action, object_type, object_id, detail FROM audit_log
              WHERE brand_id = $acme_id AND action !~ '^(brand|gateway|violation|deadletter)\.' ORDER BY id"
it_eq "demo load --brand acme" "$(rc_err "$Q" demo load --brand acme --stores 2 --groups 1)" \
    "1 qyctl: brand acme exists: demo load would add its demo stores and groups to it (--force to do so)"
it_eq "acme has no demo store" "$(sql "SELECT count (*) FROM stores s JOIN brands b ON b.id = s.brand_id WHERE b.code = 'acme'")" 1
it_eq "demo load --brand acme --force" "$(rc_err "$Q" demo load --brand acme --force --stores 2 --groups 1)" "0 "
it_eq "demo load of a new brand" "$(rc_err "$Q" demo load --brand demo2 --stores 1 --groups 1)" "0 "
it_done
