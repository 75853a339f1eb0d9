#!/usr/bin/env bash
# move_slot.sh PORT TAG: move the slot of hash tag TAG from the master
# serving it to another master of the cluster PORT belongs to, keys and
# all, as redis-cli --cluster reshard does for one slot (IMPORTING,
# MIGRATING, MIGRATE in batches, SETSLOT NODE on both).
set -euo pipefail
port=$1 tag=$2
R () { redis-cli -p "$1" "${@:2}"; }
slot=$(R "$port" cluster keyslot "$tag")
nodes=$(R "$port" cluster nodes)
# The owner: a master whose slot ranges (fields 9…) hold slot.
read -r src_id src_addr < <(awk -v s="$slot" '$3 ~ /master/ {
    for (i = 9; i <= NF; i++) { n = split ($i, r, "-"); if ((n == 1 && r[1] == s) || (n == 2 && s >= r[1] && s <= r[2])) print $1, $2 } }' <<< "$nodes")
read -r dst_id dst_addr < <(awk -v id="$src_id" '$3 ~ /master/ && $1 != id { print $1, $2; exit }' <<< "$nodes")
src=${src_addr#*:}; src=${src%@*}; dst=${dst_addr#*:}; dst=${dst%@*}
R "$dst" cluster setslot "$slot" importing "$src_id" >/dev/null
R "$src" cluster setslot "$slot" migrating "$dst_id" >/dev/null
while true; do
    mapfile -t keys < <(R "$src" cluster getkeysinslot "$slot" 50)
    [ "${#keys[@]}" -gt 0 ] && [ -n "${keys[0]}" ] || break
    R "$src" migrate 127.0.0.1 "$dst" "" 0 5000 keys "${keys[@]}" >/dev/null
done
R "$dst" cluster setslot "$slot" node "$dst_id" >/dev/null
R "$src" cluster setslot "$slot" node "$dst_id" >/dev/null
echo "slot $slot of $tag moved from :$src to :$dst" >&2
