#!/usr/bin/env bash
# A brand's zone by name (migration 117, qyctl brand create --tz): a name is stored and its
# offset follows summer time (qy_tz_offset_min, which every service reads instead of the
# frozen column); minutes are a fixed offset; a name that is not a zone is refused, by qyctl
# and by the table (a POSIX string such as UTC+8, eight hours WEST, is no zone); qyctl prints
# a named brand's times at the offset they had then. Only PostgreSQL: no services.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
sql () { psql "$QY_PG_DSN" -qAtc "$1"; }
rc_err () { local rc=0; "$@" > /dev/null 2> "$QY_RUN/err" || rc=$?; echo "$rc $(head -1 "$QY_RUN/err")"; }

"$Q" brand create ny "New York" --tz America/New_York >/dev/null
"$Q" brand create sh Shanghai --tz Asia/Shanghai >/dev/null
"$Q" brand create in India --tz 330 >/dev/null
it_eq "names stored, minutes fixed" "$(sql "SELECT string_agg (code || ' ' || coalesce (tz_name, '-') || ' ' || tz_offset_min, ',' ORDER BY id)
                                             FROM brands WHERE code IN ('ny', 'sh', 'in')")" \
    "ny America/New_York $(sql "SELECT qy_tz_offset_min ('America/New_York', 0)"),sh Asia/Shanghai 480,in - 330"
offset () { sql "SELECT qy_tz_offset_min (tz_name, tz_offset_min, '$2') FROM brands WHERE code = '$1'"; }
it_eq "New York in winter and in summer" "$(offset ny 2026-01-15T12:00Z) $(offset ny 2026-07-15T12:00Z)" "-300 -240"
it_eq "the DST switch, an hour apart" "$(offset ny 2026-03-08T06:59Z) $(offset ny 2026-03-08T07:00Z)" "-300 -240"
it_eq "Shanghai all year" "$(offset sh 2026-01-15T12:00Z) $(offset sh 2026-07-15T12:00Z)" "480 480"
it_eq "a fixed offset all year" "$(offset in 2026-01-15T12:00Z) $(offset in 2026-07-15T12:00Z)" "330 330"

# --tz again replaces name with minutes and back; without --tz the zone stays.
"$Q" brand create ny "New York" --tz -300 --update >/dev/null
it_eq "minutes replace the name" "$(sql "SELECT coalesce (tz_name, '-') || ' ' || tz_offset_min FROM brands WHERE code = 'ny'")" "- -300"
"$Q" brand create ny "New York" --tz America/New_York --update >/dev/null
"$Q" brand create ny "New York City" --update >/dev/null
it_eq "the name kept without --tz" "$(sql "SELECT tz_name FROM brands WHERE code = 'ny'")" America/New_York
it_eq "brand list shows the name" "$("$Q" brand list --format json | jq -r '.[] | select(.code == "ny") | "\(.tz_name) \(.tz_offset_min | type)"')" \
    "America/New_York number"

it_eq "--tz Mars/Olympus" "$(rc_err "$Q" brand create mars Mars --tz Mars/Olympus)" \
    "2 qyctl: --tz: 'Mars/Olympus' is neither minutes from UTC (-720 to 840) nor a zone name PostgreSQL knows"
it_eq "no brand made" "$(sql "SELECT count (*) FROM brands WHERE code = 'mars'")" 0
refused () { psql "$QY_PG_DSN" -qAtc "$1" 2>&1 | grep -c 'is not a zone name'; }
it_eq "UTC+8 refused by the table" "$(refused "UPDATE brands SET tz_name = 'UTC+8' WHERE code = 'sh'")" 1
it_eq "CST refused (China's to people, US Central to PostgreSQL)" "$(refused "INSERT INTO brands (code, name, tz_name) VALUES ('x', 'X', 'CST')")" 1

# qyctl prints a named brand's times at the offset of their day.
ny=$(sql "SELECT id FROM brands WHERE code = 'ny'")
for t in 2026-01-15T12:00Z 2026-07-15T12:00Z; do
    sql "INSERT INTO violations (brand_id, group_id, msg_id, event_time, category, score, action, rules, hits, created_at)
         VALUES ($ny, 1, 'v-$t', '$t', 'ad', 1, 'warn', '{ad.url}', '[]', '$t')" >/dev/null
done
it_eq "violation times in New York's offsets" "$("$Q" violations ny --format csv | cut -d, -f2 | grep -v '^at$' | sort | tr '\n' ' ')" \
    "2026-01-15 07:00:00-05 2026-07-15 08:00:00-04 "
# A group's hours (hourly_group_stats, a view over the days' hour_hist since migration 132) are
# the local clock hours of the brand's zone: around New York's switch to summer time, 01:00 is
# still -05 and 03:00 already -04; a fixed offset of +05:30 puts local midnight at 18:30 UTC.
hours () { printf "'{%s}'" "$(for h in $(seq 0 23); do case " $1 " in *" $h "*) echo 1 ;; *) echo 0 ;; esac; done | paste -sd,)"; }
for b in ny in; do
    "$Q" store create "$b" "s-$b" "店" >/dev/null
    "$Q" group create "$b" "g-$b" "群" --store "s-$b" >/dev/null
done
sql "INSERT INTO daily_group_stats (brand_id, group_id, day, messages, hour_hist)
     SELECT g.brand_id, g.id, d::date, 2, h::bigint[] FROM groups g
       JOIN (VALUES ('g-ny', '2026-03-08', $(hours '1 3')), ('g-in', '2026-01-15', $(hours '0 23'))) AS x (code, d, h)
         ON x.code = g.code" >/dev/null
it_eq "hours in the brands' zones" "$(sql "SELECT string_agg (b.code || ' ' || to_char (h.hour AT TIME ZONE 'UTC', 'MM-DD HH24:MI') || ' ' || h.messages,
                                                  ', ' ORDER BY b.code, h.hour)
                                        FROM hourly_group_stats h JOIN brands b ON b.id = h.brand_id")" \
    "in 01-14 18:30 1, in 01-15 17:30 1, ny 03-08 06:00 1, ny 03-08 07:00 1"
it_done
