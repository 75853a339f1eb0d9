# The foundation's brands, store, groups, channels, rules and welcome, with
# the gateway simulator already started ($GW_PORT): what events.jsonl is
# written for. Sourced by foundation/run.sh and dashboards/run.sh.
"$QYCTL" brand create acme "Acme 美妆" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw-secret) >/dev/null
"$QYCTL" brand create other "Other" --gateway-url "http://127.0.0.1:$GW_PORT/v1/deliveries" --token-file <(printf %s gw-secret) >/dev/null
"$QYCTL" store create acme s1 "一号店" >/dev/null
"$QYCTL" group create acme room1 "一号店会员群" --store s1 >/dev/null
"$QYCTL" group create acme room2 "一号店福利群" --store s1 >/dev/null
"$QYCTL" channel create acme s1-staff staff_invite --store s1 >/dev/null
"$QYCTL" channel create acme s1-qr qr_poster --store s1 >/dev/null
"$QYCTL" rules load acme >/dev/null
"$QYCTL" rules set acme flood.member flood flood 1.0 5/60 >/dev/null
"$QYCTL" campaign welcome acme "欢迎{nickname}加入{group}（{store}）" >/dev/null
