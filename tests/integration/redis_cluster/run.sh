#!/usr/bin/env bash
# Redis Cluster (issue 19): qy_redis against 3 masters with a replica each. The C half checks
# routing, pipelines split per node, scripts per node, MOVED, ASK and a master killed in the
# middle of a pipeline.
source "$(dirname "$0")/../lib.sh"
qy_start_redis_cluster "$QY_RUN" || { it_fail "cluster create"; cat "$QY_RUN/rc/create.log"; exit 1; }
export CLUSTER_CTL=$IT_CASE/cluster_ctl.sh
mkdir -p "$QY_RUN/logs"
if "$QY_BUILD/tests/integration/qy_test_redis_cluster" 2> "$QY_RUN/logs/redis_cluster.log"; then
    echo "ok   qy_redis against a Redis Cluster"
else
    it_fail "qy_redis against a Redis Cluster (see above)"; cat "$QY_RUN/logs/redis_cluster.log"
fi
it_done
