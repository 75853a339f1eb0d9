#!/usr/bin/env bash
# Migrations 075-078 over violations written before them: flood and format
# strikes, and spam waves charged with nothing but behaviour rules, become
# behaviour with strike 0 (the old number in the audit log); a wave with a
# content rule stays content; a muted member's recalled message becomes an
# enforcement record, no longer open; the open content decisions a person
# should look at get their place in the queue, ordered by risk.
source "$(dirname "$0")/../lib.sh"
qy_start_pg "$QY_RUN"
mkdir -p "$QY_RUN/old"
for f in "$IT_CASE"/../../../deploy/migrations/0[0-6]*.sql; do cp "$f" "$QY_RUN/old/"; done
"$QYCTL" migrate --dir "$QY_RUN/old" > /dev/null
q () { psql "$QY_PG_DSN" -qAtc "$1"; }
q "INSERT INTO brands (code, name) VALUES ('acme', 'Acme')" > /dev/null
BID=$(q "SELECT id FROM brands WHERE code = 'acme'")
q "INSERT INTO members (brand_id, user_id) VALUES ($BID, 'u1'), ($BID, 'u2'), ($BID, 'u3')" > /dev/null
m () { q "SELECT id FROM members WHERE brand_id = $BID AND user_id = '$1'"; }
U1=$(m u1); U2=$(m u2); U3=$(m u3)
q "INSERT INTO violations (brand_id, group_id, member_id, msg_id, event_time, category, score, action, rules, hits, strike, mute_until, status) VALUES
   ($BID, 1, $U1, 'f6', now (), 'flood',     1.0, 'warn',   '{flood.member}',              '[]', 1, NULL, 'open'),
   ($BID, 1, $U1, 'f7', now (), 'flood',     1.0, 'mute',   '{flood.member}',              '[]', 2, now () + interval '1 day', 'open'),
   ($BID, 1, $U1, 'c4', now (), 'mute',      0,   'recall', '{}',                          '[]', 0, NULL, 'open'),
   ($BID, 1, $U2, 'q1', now (), 'format',    1.0, 'warn',   '{behaviour.quiet_hours}',     '[]', 1, NULL, 'open'),
   ($BID, 1, $U2, 'y3', now (), 'spam_wave', 1.0, 'warn',   '{behaviour.spam_wave}',       '[]', 2, NULL, 'open'),
   ($BID, 1, $U3, 'w5', now (), 'spam_wave', 1.3, 'warn',   '{ad.contact_weak,behaviour.spam_wave}', '[]', 1, NULL, 'open'),
   ($BID, 1, $U3, 'r1', now (), 'ad',        0.7, 'review', '{ad.classifier}',             '[]', 0, NULL, 'open'),
   ($BID, 1, $U3, 'ad', now (), 'ad',        2.4, 'mute',   '{ad.wechat_id}',              '[]', 2, now () + interval '1 day', 'open'),
   ($BID, 1, $U3, 'ok', now (), 'ad',        2.4, 'mute',   '{ad.wechat_id}',              '[]', 0, NULL, 'overturned'),
   ($BID, 1, $U3, 'b1', now (), 'blocked',   0,   'remove', '{}',                          '[]', 0, NULL, 'open')" > /dev/null
"$QYCTL" migrate > /dev/null
it_sql violations "SELECT msg_id, category, kind, action, strike, status, round (review_priority::numeric, 2) AS priority
                   FROM violations ORDER BY msg_id"
it_sql audit "SELECT object_type, action, detail->>'kind', detail->>'strike', detail->>'category'
              FROM audit_log WHERE actor = 'migration 075' ORDER BY detail->>'category', (detail->>'strike')::int"
it_eq "migrate a second time" "$("$QYCTL" migrate | tail -1 | cut -d, -f1)" "migrations: 0 applied"
it_done
