#!/usr/bin/env bash
# The chain with CURVE on every hop (docs/operations.md, "CURVE on the
# hops"): the bus's hop sockets are CURVE servers with its key pair and
# admit only the services' public keys (zmq.curve_clients); each service
# knows the bus's public key and has its own pair. The foundation's events
# go through it and come out as they do on plain hops (its violations and
# deliveries, compared with foundation/expected). A plain client pushing
# onto a hop gets nothing in, qyctl with its listed key does; a moderation replica whose key the bus does
# not list is refused and counted, and never takes work.
source "$(dirname "$0")/../lib.sh"
it_servers
it_gateway --token gw-secret
source "$IT_CASE/../foundation/setup.sh"
K=$QY_RUN/keys; mkdir -p "$K"
pair () { "$QYCTL" gatekey keypair --secret-file "$K/$1.key" | awk '{print $NF}'; }
BUS_PUBLIC=$(pair bus)
clients=""
for s in ingest moderation scoring campaign notifier qyctl; do clients="$clients${clients:+,}$(pair "$s")"; done
pair stranger >/dev/null
export QY_ZMQ_CURVE_SERVER_KEY=$BUS_PUBLIC QY_BUS_ZMQ_CURVE_CLIENTS=$clients QY_BUS_ZMQ_CURVE_SECRET_KEY_FILE=$K/bus.key
for s in ingest moderation scoring campaign notifier; do
    export "QY_${s^^}_ZMQ_CURVE_SECRET_KEY_FILE=$K/$s.key"
done
qy_start_services "$QY_BUILD"
it_eq "no secret key in any log" "$(cat "$QY_RUN"/logs/*.log | grep -cF -e "$(head -1 "$K/bus.key")" -e "$(head -1 "$K/moderation.key")" || true)" 0

# A moderation replica with a key the bus does not list: refused, counted, no work.
H_stranger=$(qy_free_port)
QY_HTTP_PORT=$H_stranger QY_MODERATION_ZMQ_CURVE_SECRET_KEY_FILE=$K/stranger.key \
    qy_start moderation_stranger "$QY_BUILD/services/moderation/qy-moderation"
refused () { [ "$(qy_metric "$QY_HTTP_bus" qy_zmq_curve_refused_total)" -ge 1 ]; }
it_wait "the stranger's key refused by the bus" refused
grep -q "hop connection refused: CURVE key not in zmq.curve_clients" "$QY_RUN/logs/bus.log" \
    && echo "ok   refusal logged" || it_fail "refusal not logged"

"$QYCTL" send "$IT_CASE/../foundation/events.jsonl" --batch 50 > "$QY_RUN/acks.jsonl"
"$QYCTL" send "$IT_CASE/../foundation/duplicate.jsonl" > /dev/null
# A plain client pushing onto the moderation hop: the handshake fails, nothing arrives.
env -u QY_ZMQ_CURVE_SERVER_KEY "$QYCTL" send --garbage --push "tcp://127.0.0.1:$QY_P_mf" > /dev/null
gw_done () { [ "$(it_gateway_stat unique)" -ge 6 ]; }
it_wait "6 deliveries at the gateway" gw_done
sleep 1
it_eq "deliveries at the gateway" "$(it_gateway_stat unique)" 6
F=$IT_CASE/../foundation/expected
psql "$QY_PG_DSN" -qAF ' | ' -c "SELECT v.msg_id, mb.user_id, v.category, v.action, v.strike, v.mute_until IS NOT NULL AS muted,
                   'flood.member' = ANY (v.rules) AS flood, EXISTS (SELECT 1 FROM unnest (v.rules) r WHERE r LIKE 'ad.%') AS ad_rule
                   FROM violations v JOIN members mb ON mb.id = v.member_id ORDER BY v.event_time" > "$QY_RUN/actual/violations.txt"
diff -u "$F/violations.txt" "$QY_RUN/actual/violations.txt" && echo "ok   violations as on plain hops" || it_fail "violations differ from foundation's"
psql "$QY_PG_DSN" -qAF ' | ' -c "SELECT regexp_replace (key, '^(mute-notice:[0-9]+:[0-9]+):[0-9]+\$', '\\1:<until>'), kind, coalesce (payload->>'action', '-'), status, attempts FROM deliveries ORDER BY key" > "$QY_RUN/actual/deliveries.txt"
diff -u "$F/deliveries.txt" "$QY_RUN/actual/deliveries.txt" && echo "ok   deliveries as on plain hops" || it_fail "deliveries differ from foundation's"
it_eq "the plain push got nothing in" "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM dead_letters WHERE msg_id = 'no-brand-id'")" 0
# qyctl with its own listed key pushes onto a hop (replay, deadletters replay, send --push).
it_eq "qyctl without its key on CURVE hops" "$("$QYCTL" send --garbage --push "tcp://127.0.0.1:$QY_P_mf" >/dev/null 2>&1; echo $?)" 1
QY_ZMQ_CURVE_SECRET_KEY_FILE=$K/qyctl.key "$QYCTL" send --garbage --push "tcp://127.0.0.1:$QY_P_mf" > /dev/null
keyed_push () { [ "$(psql "$QY_PG_DSN" -qAtc "SELECT count (*) FROM dead_letters WHERE msg_id = 'no-brand-id'")" -ge 1 ]; }
it_wait "qyctl's keyed push to arrive" keyed_push
it_eq "the stranger took no work" "$(qy_metric "$H_stranger" qy_moderation_events_total)" 0
it_done
