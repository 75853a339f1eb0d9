#!/usr/bin/env bash
# cluster_ctl.sh SLOT move|ask|stable|kill: act on the master that serves SLOT in
# the cluster of QY_REDIS_CLUSTER_PORTS (qy_start_redis_cluster). move: hand the (empty) slot to another master (clients then
# meet MOVED); ask: mark it migrating to another master (ASK); kill: kill -9
# the master and wait until its replica serves the slot; stable: end a
# migration.
set -euo pipefail
slot=$1 what=$2
alive () { for p in $QY_REDIS_CLUSTER_PORTS; do redis-cli -p "$p" ping >/dev/null 2>&1 && { echo "$p"; return; }; done; }
# "id port" of masters not failed: the one serving the slot, or the first other.
masters () { redis-cli -p "$(alive)" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ { split($2, a, "[:@]"); print $1, a[2], $0 }'; }
owner () { masters | awk -v s="$slot" '{ for (i = 11; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1]; if (r[1] ~ /^[0-9]+$/ && s >= r[1] && s <= r[2]) { print $1, $2; exit } } }'; }
read -r src_id src_port < <(owner)
read -r dst_id dst_port < <(masters | awk -v o="$src_id" '$1 != o { print $1, $2; exit }')
case $what in
    # The documented resharding steps, with no key to migrate: the target
    # bumps its epoch when it takes the slot, so gossip never hands it back.
    move) redis-cli -p "$dst_port" cluster setslot "$slot" importing "$src_id" >/dev/null
          redis-cli -p "$src_port" cluster setslot "$slot" migrating "$dst_id" >/dev/null
          for p in $dst_port $src_port $(masters | awk '{ print $2 }'); do
              redis-cli -p "$p" cluster setslot "$slot" node "$dst_id" >/dev/null
          done ;;
    ask)  redis-cli -p "$dst_port" cluster setslot "$slot" importing "$src_id" >/dev/null
          redis-cli -p "$src_port" cluster setslot "$slot" migrating "$dst_id" >/dev/null ;;
    # Back to no migration (a slot importing on a node is one that node
    # never hands to a replica that took over).
    stable) for p in $(masters | awk '{ print $2 }'); do redis-cli -p "$p" cluster setslot "$slot" stable >/dev/null; done ;;
    kill) kill -9 "$(redis-cli -p "$src_port" info server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')"
          for _ in $(seq 150); do
              read -r now _ < <(owner || true) || true
              [ -n "${now:-}" ] && [ "$now" != "$src_id" ] && exit 0
              sleep 0.1
          done
          echo "no replica took over slot $slot" >&2; exit 1 ;;
esac
