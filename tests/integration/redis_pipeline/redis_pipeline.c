//  redis_pipeline's C half: qy_redis against a real Redis that restarts
//  (run.sh passes the command that restarts it). A pipeline's replies are
//  read in order, a script lost by the restart is loaded again before its
//  EVALSHA, and a command sent while replies are unread drops the pipeline
//  instead of taking one of its replies.
#include "qy/redis.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_failed;

static void s_check (bool ok, const char *what)
{
    printf ("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

static bool s_is (redisReply *r, const char *str)
{
    bool ok = r && r->type == REDIS_REPLY_STRING && strcmp (r->str, str) == 0;
    if (!ok)
        fprintf (stderr, "reply: %s\n", !r ? "none" : r->type == REDIS_REPLY_ERROR ? r->str : r->type == REDIS_REPLY_STRING ? r->str : "other");
    if (r)
        freeReplyObject (r);
    return ok;
}

static void s_echo (qy_redis_t *redis, const char *what)
{
    const char *argv [] = { "ECHO", what };
    if (qy_redis_append_argv (redis, 2, argv, NULL))
        s_check (false, "append ECHO");
}

static void s_eval (qy_redis_t *redis, qy_script_t *script, const char *what)
{
    const char *args [] = { what };
    if (qy_redis_append_script (redis, script, 0, 1, args, NULL))
        s_check (false, "append EVALSHA");
}

//  Wait until Redis answers again (qy_redis backs off after a failure).
static void s_reachable (qy_redis_t *redis)
{
    for (int i = 0; i < 100; i++) {
        redisReply *r = qy_redis_cmd (redis, "PING");
        if (r) {
            freeReplyObject (r);
            return;
        }
        qy_sleep_ms (100);
    }
    s_check (false, "Redis back after the restart");
}

int main (void)
{
    const char *port = getenv ("QY_REDIS_PORT"), *restart = getenv ("RESTART_REDIS");
    if (!port || !restart) {
        fprintf (stderr, "QY_REDIS_PORT and RESTART_REDIS must be set\n");
        return 2;
    }
    qy_redis_t *redis = qy_redis_new ("127.0.0.1", atoi (port));
    qy_script_t echo = { .source = "return 'script:' .. ARGV[1]" };

    s_echo (redis, "a"); s_eval (redis, &echo, "x"); s_echo (redis, "b");
    bool ok = s_is (qy_redis_get_reply (redis), "a") & s_is (qy_redis_get_reply (redis), "script:x")
            & s_is (qy_redis_get_reply (redis), "b");
    s_check (ok, "a pipeline's replies come in order");
    int64_t t = qy_mono_us ();
    s_check (qy_redis_get_reply (redis) == NULL && qy_mono_us () - t < 100000,
             "nothing owed: no reply waited for");

    //  Redis restarts and forgets the script; after the reconnection, its
    //  EVALSHA goes in the middle of a pipeline (replies already owed).
    if (system (restart) != 0)
        s_check (false, "restart Redis");
    s_reachable (redis);
    s_echo (redis, "c"); s_eval (redis, &echo, "y"); s_echo (redis, "d"); s_eval (redis, &echo, "z");
    ok = s_is (qy_redis_get_reply (redis), "c") & s_is (qy_redis_get_reply (redis), "script:y")
       & s_is (qy_redis_get_reply (redis), "d") & s_is (qy_redis_get_reply (redis), "script:z");
    s_check (ok, "after a restart: the script is loaded again before its EVALSHA, replies in order");
    s_check (qy_redis_unread (redis) == 0, "every reply read");

    //  A command while a reply is unread: it gets its own answer, and the
    //  pipeline's unread reply is gone with the connection.
    s_echo (redis, "e"); s_echo (redis, "f");
    ok = s_is (qy_redis_get_reply (redis), "e");
    ok &= s_is (qy_redis_cmd (redis, "ECHO %s", "g"), "g");
    s_check (ok, "a command among unread replies gets its own reply");
    s_check (qy_redis_unread (redis) == 0 && qy_redis_get_reply (redis) == NULL,
             "the pipeline's unread reply was dropped, not handed out later");

    //  The first use of a script while replies are owed and its SHA is not
    //  known yet: sent with its source, replies still in order.
    qy_script_t fresh = { .source = "return 'fresh:' .. ARGV[1]" };
    s_echo (redis, "h"); s_eval (redis, &fresh, "w");
    ok = s_is (qy_redis_get_reply (redis), "h") & s_is (qy_redis_get_reply (redis), "fresh:w");
    s_check (ok, "a script never loaded, behind owed replies: EVAL, in order");

    //  The scripts flushed on a live connection: qy_redis_script loads again.
    redisReply *r = qy_redis_cmd (redis, "SCRIPT FLUSH");
    if (r)
        freeReplyObject (r);
    const char *args [] = { "v" };
    s_check (s_is (qy_redis_script (redis, &echo, 0, 1, args, NULL), "script:v"), "NOSCRIPT: loaded and run again");
    qy_redis_destroy (&redis);
    return s_failed;
}
