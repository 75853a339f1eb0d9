#!/usr/bin/env bash
# WeCom's 1:1 contacts (change_external_contact), end to end: qy-wecomsim
# encrypts and signs each of the six callbacks (add, edit, half add, staff
# deletes, customer deletes, transfer failure) and POSTs it to the
# connector, which keeps it and forwards it to ingest, which stores it in
# contact_events and contacts. Checked: every change lands with its staff,
# customer, channel (State) and time; who deleted whom; a callback WeCom
# retries (same nonce) kept once, the same event sent again (new nonce)
# forwarded but stored and counted once; events out of order; the churn
# metric (promtool-clean); the member's profile in qyctl; the tables under
# the console's row-level policy; the connector's /readyz and /livez.
source "$(dirname "$0")/../lib.sh"
it_servers
Q=$QYCTL
V="$IT_CASE/../../lib/wecom_vector.sh"
"$Q" brand create acme "Acme" >/dev/null     # no group: 1:1 contacts concern none
"$Q" gateway set acme "http://unused" --token-file <(printf %s deliver-token-0123456789) >/dev/null
KEY43=$("$V" key); CORP=wwSimCorp; TOKEN=cbToken123
openssl rand -hex 32 > "$QY_RUN/master.key"
printf '%s\n' "$TOKEN" > "$QY_RUN/token"; printf '%s\n' "$KEY43" > "$QY_RUN/aes"; printf 'app-secret\n' > "$QY_RUN/secret"
export QY_WECOM_MASTER_KEY_FILE=$QY_RUN/master.key
"$Q" wecom set acme --corp-id $CORP --agent-id 1000002 --token-file "$QY_RUN/token" --aes-key-file "$QY_RUN/aes" \
    --secret-file "$QY_RUN/secret" --capability official >/dev/null

it_ingest_http
W=$(qy_free_port); SIM=$(qy_free_port)
qy_start wecomsim "$QY_BUILD/tools/wecomsim/qy-wecomsim" --port "$SIM" --corp $CORP \
    --callback-url "http://127.0.0.1:$W/wecom/acme/callback" --cb-token "$TOKEN" --cb-aes-key "$KEY43"
it_wait "wecom simulator" curl -fs -X POST "http://127.0.0.1:$SIM/sim/stats"
export QY_WECOM_API_BASE="http://127.0.0.1:$SIM" QY_WECOM_INGEST_URL="http://127.0.0.1:$QY_INGEST_GATEWAY_HTTP_PORT"
export QY_WECOM_FORWARD_POLL_MS=50
QY_HTTP_PORT=$W qy_start wecom "$QY_BUILD/services/wecom/qy-wecom"
qy_wait_health wecom "$W"
# the probes compose's health check uses, behind the connector's router (they were its 404s)
for probe in readyz livez; do
    it_eq "wecom /$probe" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$W/$probe")" 200
done

T0=$(( $(date +%s) - 600 ))
# contact CHANGE USERID EXTERNAL SECONDS_AFTER_T0 [EXTRA_XML]: a change_external_contact callback.
contact () {
    printf '<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>%s</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[%s]]></ChangeType><UserID><![CDATA[%s]]></UserID><ExternalUserID><![CDATA[%s]]></ExternalUserID>%s</xml>' \
        "$CORP" "$((T0 + $4))" "$1" "$2" "$3" "${5:-}"
}
# send XML [NONCE] [REPEAT]: the simulator encrypts, signs and POSTs it; prints the connector's statuses.
send () {
    jq -nc --arg xml "$1" --arg nonce "${2:-}" --argjson repeat "${3:-1}" '{xml: $xml, nonce: $nonce, repeat: $repeat}' \
        | curl -fs -X POST "http://127.0.0.1:$SIM/sim/callback" --data-binary @- | jq -c .statuses
}
done_count () { psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks WHERE status = 'done'"; }

# 1. Each change once. zhang adds wmX by the QR code of channel s1-qr (WeCom retries it: kept once).
ADD=$(contact add_external_contact zhang wmX 0 '<State><![CDATA[s1-qr]]></State><WelcomeCode><![CDATA[WELCOME1]]></WelcomeCode>')
it_eq "add, retried by WeCom" "$(send "$ADD" add1 3)" "[200,200,200]"
it_eq "edit" "$(send "$(contact edit_external_contact zhang wmX 10)")" "[200]"
it_eq "half add" "$(send "$(contact add_half_external_contact li wmY 20 '<State><![CDATA[s1-desk]]></State>')")" "[200]"
it_eq "add wmZ" "$(send "$(contact add_external_contact wang wmZ 30)")" "[200]"
it_eq "staff deletes" "$(send "$(contact del_external_contact wang wmZ 40 '<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>')")" "[200]"
it_eq "customer deletes" "$(send "$(contact del_follow_user zhang wmX 50)")" "[200]"
it_eq "transfer fails" "$(send "$(contact transfer_fail li wmY 60 '<FailReason><![CDATA[customer_refused]]></FailReason>')")" "[200]"
it_eq "kept once each" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks WHERE event = 'change_external_contact'")" 7
it_wait "all forwarded" sh -c "[ \"\$(psql '$QY_PG_DSN' -qAt -c \"SELECT count(*) FROM wecom_callbacks WHERE status = 'done'\")\" = 7 ]"
it_eq "none put aside" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM wecom_callbacks WHERE status <> 'done'")/$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM dead_letters")" "0/0"

it_eq "contact_events" "$(psql "$QY_PG_DSN" -qAt -c "
    SELECT e.change, e.staff, m.user_id, coalesce (c.code, '-'), coalesce (e.detail, '-'), extract (epoch FROM e.at)::bigint - $T0
    FROM contact_events e JOIN members m ON m.id = e.member_id LEFT JOIN channels c ON c.id = e.channel_id ORDER BY e.at")" \
"added|zhang|wmX|s1-qr|-|0
edited|zhang|wmX|-|-|10
half_added|li|wmY|s1-desk|-|20
added|wang|wmZ|-|-|30
deleted_by_staff|wang|wmZ|-|DELETE_BY_TRANSFER|40
deleted_by_customer|zhang|wmX|-|-|50
transfer_failed|li|wmY|-|customer_refused|60"
# What they add up to: wmX deleted zhang (churn), li has wmY half added, wang deleted wmZ.
CONTACTS="SELECT c.staff, m.user_id, coalesce (ch.code, '-'), coalesce ((extract (epoch FROM c.added_at)::bigint - $T0)::text, '-'),
          c.half, coalesce ((extract (epoch FROM c.deleted_at)::bigint - $T0)::text, '-'), coalesce (c.deleted_by, '-'), coalesce (c.detail, '-')
          FROM contacts c JOIN members m ON m.id = c.member_id LEFT JOIN channels ch ON ch.id = c.channel_id ORDER BY c.staff"
it_eq "contacts" "$(psql "$QY_PG_DSN" -qAt -c "$CONTACTS")" \
"li|wmY|s1-desk|20|t|-|-|-
wang|wmZ|-|30|f|40|staff|DELETE_BY_TRANSFER
zhang|wmX|s1-qr|0|f|50|customer|-"
it_eq "churn counted" "$(qy_metric "$H_ingest" 'qy_ingest_contacts_total{change="deleted_by_customer"}')" 1
it_eq "all changes counted" "$(qy_metric "$H_ingest" qy_ingest_contacts_total)" 7
for port in "$H_ingest" "$W"; do      # the new families pass Prometheus's own linter
    lint=$(curl -fs "http://127.0.0.1:$port/metrics" | promtool check metrics 2>&1) && it_eq "metrics lint $port" ok ok || it_fail "/metrics at $port: $lint"
done

# 2. The same event again under a new nonce (a second delivery, not a retry): kept, forwarded, stored once.
it_eq "the add again" "$(send "$ADD" add2)" "[200]"
it_wait "forwarded again" sh -c "[ \"\$(psql '$QY_PG_DSN' -qAt -c \"SELECT count(*) FROM wecom_callbacks WHERE status = 'done'\")\" = 8 ]"
it_eq "stored once" "$(psql "$QY_PG_DSN" -qAt -c "SELECT count(*) FROM contact_events WHERE change = 'added' AND staff = 'zhang'")" 1
it_eq "contacts unchanged" "$(psql "$QY_PG_DSN" -qAt -c "$CONTACTS" | sed -n 3p)" "zhang|wmX|s1-qr|0|f|50|customer|-"
it_eq "not counted again" "$(qy_metric "$H_ingest" qy_ingest_contacts_total)" 7

# 3. Out of order: wmZ added again by wang after the deletion begins the contact again; an
#    older deletion arriving late does not end it.
it_eq "re-add" "$(send "$(contact add_external_contact wang wmZ 70 '<State><![CDATA[s1-qr]]></State>')")" "[200]"
it_eq "late old deletion" "$(send "$(contact del_follow_user wang wmZ 35)")" "[200]"
it_wait "forwarded" sh -c "[ \"\$(psql '$QY_PG_DSN' -qAt -c \"SELECT count(*) FROM wecom_callbacks WHERE status = 'done'\")\" = 10 ]"
it_eq "wang and wmZ contacts again" "$(psql "$QY_PG_DSN" -qAt -c "$CONTACTS" | sed -n 2p)" "wang|wmZ|s1-qr|70|f|-|-|-"

# 4. The member's profile: whom they have, whom they deleted (the day in the brand's time, as
# qyctl prints it: from 16:00 UTC it is already tomorrow at +08:00).
TZ_MIN=$(psql "$QY_PG_DSN" -qAtc "SELECT tz_offset_min FROM brands WHERE code = 'acme'")
it_eq "member show" "$("$Q" member show acme wmX --format json | jq -c '.member[0] | {contact_of, deleted_staff}')" \
    "{\"contact_of\":\"\",\"deleted_staff\":\"zhang $(date -u -d @$((T0 + 50 + TZ_MIN * 60)) +%F)\"}"
it_eq "member show, a contact" "$("$Q" member show acme wmY --format json | jq -r '.member[0].contact_of')" li

# 5. The console's row-level policy covers both tables (qy_rls_cover), readable by qy_console.
it_eq "rls" "$(psql "$QY_PG_DSN" -qAt -c "SELECT string_agg (relname || ':' || relrowsecurity, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('contacts', 'contact_events')")" \
    "contact_events:true,contacts:true"
it_eq "console may read" "$(psql "$QY_PG_DSN" -qAt -c "SELECT has_table_privilege ('qy_console', 'contacts', 'SELECT') AND has_table_privilege ('qy_console', 'contact_events', 'SELECT')")" t
it_eq "console without a scope sees none" "$(psql "$QY_PG_DSN" -qAt -c "SET ROLE qy_console; SELECT count(*) FROM contacts")" 0
it_done
