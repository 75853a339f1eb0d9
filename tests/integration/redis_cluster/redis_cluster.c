//  redis_cluster's C half: qy_redis against a real Redis Cluster of three
//  masters with a replica each (run.sh passes the seed port and a command
//  that moves, migrates or kills the master of a slot). A pipeline spread
//  over every master comes back in the caller's order, scripts are loaded
//  on the node that runs them, MOVED and ASK are followed, a master killed
//  in the middle of a pipeline drops the whole pipeline, and commands are
//  served again once its replica has taken over.
#include "qy/redis.h"
#include "qy/redis_slot.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_failed;
static const char *s_ctl;
static qy_redis_t *s_redis;         //  for its errstr in a failure's detail

static void s_check (bool ok, const char *what)
{
    printf ("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

static bool s_is (redisReply *r, const char *str)
{
    bool ok = r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && strcmp (r->str, str) == 0;
    if (!ok)
        fprintf (stderr, "reply: %s (wanted %s)\n", !r ? qy_redis_errstr (s_redis) : r->str ? r->str : "other", str);
    if (r)
        freeReplyObject (r);
    return ok;
}

static void s_do (const char *key, const char *what)
{
    char cmd [512];
    qy_snprintf (cmd, sizeof (cmd), "%s %d %s", s_ctl, qy_redis_keyslot (key, strlen (key)), what);
    if (system (cmd) != 0)
        s_check (false, cmd);
}

//  n SETs then n GETs of keys k{i}, in one pipeline over every master.
static bool s_spread (qy_redis_t *redis, int n, const char *tag)
{
    char key [64], val [64];
    for (int i = 0; i < n; i++) {
        qy_snprintf (key, sizeof (key), "k{%s%d}", tag, i);
        qy_snprintf (val, sizeof (val), "v%d", i);
        const char *argv [] = { "SET", key, val };
        if (qy_redis_append_argv (redis, 3, argv, NULL))
            return false;
    }
    for (int i = 0; i < n; i++) {
        qy_snprintf (key, sizeof (key), "k{%s%d}", tag, i);
        const char *argv [] = { "GET", key };
        if (qy_redis_append_argv (redis, 2, argv, NULL))
            return false;
    }
    bool ok = true;
    for (int i = 0; i < n; i++)
        ok &= s_is (qy_redis_get_reply (redis), "OK");
    for (int i = 0; i < n; i++) {
        qy_snprintf (val, sizeof (val), "v%d", i);
        ok &= s_is (qy_redis_get_reply (redis), val);
    }
    return ok && qy_redis_unread (redis) == 0;
}

static void s_scripts (qy_redis_t *redis)
{
    qy_script_t echo = { .source = "redis.call('SET', KEYS[1], ARGV[1]) return 'script:' .. ARGV[1]" };
    char key [32], want [32];
    for (int i = 0; i < 30; i++) {
        qy_snprintf (key, sizeof (key), "s{%d}", i);
        const char *args [] = { key, key };
        if (qy_redis_append_script (redis, &echo, 1, 2, args, NULL))
            s_check (false, "append EVALSHA");
    }
    bool ok = true;
    for (int i = 0; i < 30; i++) {
        qy_snprintf (want, sizeof (want), "script:s{%d}", i);
        ok &= s_is (qy_redis_get_reply (redis), want);
    }
    s_check (ok, "scripts in a pipeline over every master: loaded where they run, replies in order");
    const char *args [] = { "s{x}", "sync" };
    s_check (s_is (qy_redis_script (redis, &echo, 1, 2, args, NULL), "script:sync"), "a script run alone");
    s_check (qy_redis_load_script (redis, &echo) == 0, "a script loaded on every master");
}

static void s_redirects (qy_redis_t *redis)
{
    //  The slot of {moved} changes hands: qy_redis still has the old map.
    s_do ("{moved}", "move");
    const char *a [] = { "SET", "a{1}", "1" }, *m [] = { "SET", "{moved}:1", "m" }, *g [] = { "GET", "{moved}:1" };
    qy_redis_append_argv (redis, 3, a, NULL);
    qy_redis_append_argv (redis, 3, m, NULL);
    qy_redis_append_argv (redis, 3, a, NULL);
    qy_redis_append_argv (redis, 2, g, NULL);
    bool ok = s_is (qy_redis_get_reply (redis), "OK") & s_is (qy_redis_get_reply (redis), "OK")
            & s_is (qy_redis_get_reply (redis), "OK") & s_is (qy_redis_get_reply (redis), "m");
    s_check (ok, "MOVED in a pipeline: followed, replies in order");
    s_check (s_is (qy_redis_cmd (redis, "GET %s", "{moved}:1"), "m"), "MOVED: the map learnt the new owner");
    //  The slot of {ask} is migrating: a key not on the source is asked for at the target.
    s_do ("{ask}", "ask");
    s_check (s_is (qy_redis_cmd (redis, "SET %s %s", "{ask}:1", "x"), "OK"), "ASK: ASKING and the command at the target");
    qy_redis_append_argv (redis, 3, a, NULL);
    const char *ag [] = { "GET", "{ask}:1" };
    qy_redis_append_argv (redis, 2, ag, NULL);
    qy_redis_append_argv (redis, 3, a, NULL);
    ok = s_is (qy_redis_get_reply (redis), "OK") & s_is (qy_redis_get_reply (redis), "x")
       & s_is (qy_redis_get_reply (redis), "OK");
    s_check (ok, "ASK in a pipeline: followed, replies in order");
    s_do ("{ask}", "stable");
}

static void s_failover (qy_redis_t *redis)
{
    //  The master of {fo} dies with replies owed: the pipeline goes whole.
    s_check (s_is (qy_redis_cmd (redis, "SET %s %s", "{fo}:0", "before"), "OK"), "a key on the master to kill");
    s_do ("{fo}", "kill");
    const char *a [] = { "SET", "a{1}", "1" }, *f [] = { "SET", "{fo}:1", "x" };
    qy_redis_append_argv (redis, 3, a, NULL);
    qy_redis_append_argv (redis, 3, f, NULL);
    qy_redis_append_argv (redis, 3, a, NULL);
    int got = 0;
    redisReply *r;
    while ((r = qy_redis_get_reply (redis))) {
        freeReplyObject (r);
        got++;
    }
    s_check (got < 3 && qy_redis_unread (redis) == 0, "a master dead in a pipeline: the rest of it dropped");
    int64_t t0 = qy_mono_us ();
    bool back = false;
    //  Until every node has seen the replica take over, some answer
    //  CLUSTERDOWN: qy_redis says "away" (NULL) and callers try again.
    while (!back && qy_mono_us () - t0 < 20000000) {
        r = qy_redis_cmd (redis, "SET %s %s", "{fo}:2", "after");
        back = r && r->type == REDIS_REPLY_STATUS && s_spread (redis, 200, "after");
        if (r)
            freeReplyObject (r);
        if (!back)
            qy_sleep_ms (100);
    }
    printf ("failover: the whole keyspace served again %.1f s after the replica took over\n",
            (double) (qy_mono_us () - t0) / 1e6);
    s_check (back, "after the failover: the replica serves the slot, a pipeline over every master");
    s_check (s_is (qy_redis_cmd (redis, "GET %s", "{fo}:0"), "before"), "after the failover: what was written before is there");
}

int main (void)
{
    const char *port = getenv ("QY_REDIS_PORT");
    s_ctl = getenv ("CLUSTER_CTL");
    if (!port || !s_ctl) {
        fprintf (stderr, "QY_REDIS_PORT and CLUSTER_CTL must be set\n");
        return 2;
    }
    qy_redis_t *redis = s_redis = qy_redis_new ("127.0.0.1", atoi (port));
    s_check (s_spread (redis, 500, "a"), "a pipeline over every master: replies in the caller's order");
    s_check (s_is (qy_redis_cmd (redis, "PING"), "PONG"), "a command without a key");
    s_scripts (redis);
    s_redirects (redis);
    s_failover (redis);
    qy_redis_destroy (&redis);
    return s_failed;
}
