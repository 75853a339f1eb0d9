#!/usr/bin/env bash
# Redis pipelines across a Redis restart (qy/redis.h): the C half pipelines plain commands and
# scripts, Redis restarts underneath it (losing its scripts), and every reply must still be the
# reply of its own command, in order; a command sent while replies are unread drops the pipeline
# with its connection instead of reading one of its replies. (Notifier, on NOSCRIPT, used to send
# a command with earlier pipelined replies unread, and a rate limit's wait landed on the wrong
# delivery.)
source "$(dirname "$0")/../lib.sh"
qy_start_redis "$QY_RUN"
export RESTART_REDIS="redis-cli -p $QY_REDIS_PORT shutdown nosave >/dev/null 2>&1; sleep 0.3;
  redis-server --port $QY_REDIS_PORT --bind 127.0.0.1 --dir $QY_RUN/redis --save '' --appendonly no --daemonize yes \
  --pidfile $QY_RUN/redis/redis.pid --logfile $QY_RUN/redis/redis.log >/dev/null;
  for i in \$(seq 50); do redis-cli -p $QY_REDIS_PORT ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done"
mkdir -p "$QY_RUN/logs"
if "$QY_BUILD/tests/integration/qy_test_redis_pipeline" 2> "$QY_RUN/logs/redis_pipeline.log"; then
    echo "ok   qy_redis pipelines across a restart"
else
    it_fail "qy_redis pipelines (see above)"; cat "$QY_RUN/logs/redis_pipeline.log"
fi
it_done
