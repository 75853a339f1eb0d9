#!/usr/bin/env bash
# The compose file must be valid and define every service with a health check.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v docker-compose >/dev/null || { echo "docker-compose is not installed"; exit 1; }
out=$(cd "$root" && docker-compose -f docker-compose.yml config)
for svc in redis postgres migrate bus ingest moderation scoring campaign notifier housekeeper; do
    grep -qE "^  $svc:" <<<"$out" || { echo "service $svc missing from docker-compose.yml"; exit 1; }
done
for svc in bus ingest moderation scoring campaign notifier; do
    awk -v s="  $svc:" '$0 == s {on=1; next} /^  [a-z]/ {on=0} on && /healthcheck:/ {found=1} END {exit !found}' <<<"$out" \
        || { echo "service $svc has no healthcheck"; exit 1; }
done
echo "docker-compose.yml: valid, 10 services, health checks present"
