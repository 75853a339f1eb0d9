//  notifier_limits' C half: the notifier's token buckets taken by plain
//  commands (notifier_limits_take_all: WATCH and reads, the decision in C,
//  MULTI/EXEC) against the Lua script they replaced (notifier_take.lua,
//  kept here only for this comparison), on a real Redis.
//    1. The same random buckets, pauses and jobs decided by the script
//       (its clock fixed by the caller) and by notifier_limits_decide:
//       every wait and every bucket written must be the same.
//    2. Live, on Redis's clock: takes in C and by the script draw from the
//       same buckets (a rolling upgrade), a pause holds every job.
//    3. Two processes (two replicas) take from one bucket at once: WATCH
//       makes the loser of each race take again (a nil EXEC, counted from
//       Redis's commandstats), and exactly the bucket's tokens are taken.
//  usage: notifier_limits REDIS_PORT SCRIPT_PATH [ROUNDS] [SEED]
#include "notifier_edge.h"
#include "qy/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static qy_redis_t *s_redis;
static int s_port, s_failed;
static qy_script_t s_script_live, s_fixed;     //  the script; the same on a clock given as its last ARGV

static void s_check (bool ok, const char *what)
{
    printf ("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        s_failed = 1;
}

static redisReply *s_cmd (const char *route, int argc, const char **argv)
{
    if (qy_redis_append_keyed (s_redis, route, argc, argv, NULL))
        return NULL;
    return qy_redis_get_reply (s_redis);
}

static void s_do (const char *route, int argc, const char **argv)
{
    redisReply *r = s_cmd (route, argc, argv);
    if (!r || r->type == REDIS_REPLY_ERROR)
        fprintf (stderr, "%s %s: %s\n", argv [0], route, r ? r->str : "no reply");
    if (r)
        freeReplyObject (r);
}

static int64_t s_int (const char *route, int argc, const char **argv)
{
    redisReply *r = s_cmd (route, argc, argv);
    int64_t v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : INT64_MIN;
    if (r)
        freeReplyObject (r);
    return v;
}

//  One take by the script (now < 0: on Redis's clock): its reply.
static int64_t s_script (qy_script_t *script, const char *url, const notifier_bucket_t *b, int n, int64_t now)
{
    const char *args [1 + 4 + 8 + 1];
    char pause [64], nums [9][24];
    notifier_pause_key (url, pause, sizeof (pause));
    int k = 0;
    args [k++] = pause;
    for (int i = 0; i < n; i++)
        args [k++] = b [i].key;
    for (int i = 0; i < n; i++) {
        qy_snprintf (nums [2 * i], sizeof (nums [0]), "%ld", b [i].rate.capacity);
        qy_snprintf (nums [2 * i + 1], sizeof (nums [0]), "%lld", (long long) b [i].rate.period_ms);
        args [k++] = nums [2 * i];
        args [k++] = nums [2 * i + 1];
    }
    if (now >= 0) {
        qy_snprintf (nums [8], sizeof (nums [8]), "%lld", (long long) now);
        args [k++] = nums [8];
    }
    redisReply *r = qy_redis_script (s_redis, script, 1 + n, k, args, NULL);
    int64_t wait = r && r->type == REDIS_REPLY_INTEGER ? r->integer : INT64_MIN;
    if (wait == INT64_MIN)
        fprintf (stderr, "script: %s\n", r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
    if (r)
        freeReplyObject (r);
    return wait;
}

//  The script with Redis's clock replaced by its last ARGV (ms).
static char *s_fixed_clock (const char *src)
{
    const char *line = "local t = redis.call ('TIME')";
    const char *fixed = "local t = { math.floor (tonumber (ARGV[#ARGV]) / 1000), tonumber (ARGV[#ARGV]) % 1000 * 1000 }";
    const char *at = strstr (src, line);
    if (!at)
        return NULL;
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_append (&b, src, (size_t) (at - src));
    qy_buf_append (&b, fixed, strlen (fixed));
    qy_buf_append (&b, at + strlen (line), strlen (at + strlen (line)));
    return b.data;
}

// ---------------------------------------------------------- 1. compare

static notifier_rate_t s_rate (void)
{
    static const int64_t periods [] = { 1000, 7000, 60000 };
    long cap = rand () % 5;         //  0: that limit off
    return (notifier_rate_t) { .capacity = cap, .period_ms = periods [rand () % 3] };
}

//  A random job for url, with its buckets.
static int s_job (const notifier_limits_t *l, const char *url, int kind, int group, int member, notifier_bucket_t *b)
{
    static const char *kinds [] = { "post", "action", "alert" }, *members [] = { "", "u1", "u2" };
    notifier_job_t job = { .url = (char *) url, .kind = (char *) kinds [kind], .group_id = group,
                           .member = (char *) members [member], .brand_id = 7 };
    return notifier_buckets (l, &job, b);
}

//  A bucket's state written to key (fields absent when not has_*), or the key deleted.
static void s_put (const char *key, const notifier_tokens_t *s)
{
    const char *del [] = { "DEL", key };
    s_do (key, 2, del);
    char t [24], ts [24];
    qy_snprintf (t, sizeof (t), "%lld", (long long) s->t);
    qy_snprintf (ts, sizeof (ts), "%lld", (long long) s->ts);
    const char *both [] = { "HSET", key, "t", t, "ts", ts }, *only_t [] = { "HSET", key, "t", t },
               *only_ts [] = { "HSET", key, "ts", ts };
    if (s->has_t && s->has_ts)
        s_do (key, 6, both);
    else if (s->has_t)
        s_do (key, 4, only_t);
    else if (s->has_ts)
        s_do (key, 4, only_ts);
}

//  Whether key holds what the decision says (t and ts as s, expiring).
static bool s_same (const char *key, const notifier_tokens_t *s)
{
    const char *hmget [] = { "HMGET", key, "t", "ts" }, *pttl [] = { "PTTL", key };
    redisReply *r = s_cmd (key, 4, hmget);
    char t [24] = "", ts [24] = "";
    if (s->has_t)
        qy_snprintf (t, sizeof (t), "%lld", (long long) s->t);
    if (s->has_ts)
        qy_snprintf (ts, sizeof (ts), "%lld", (long long) s->ts);
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
              && strcmp (r->element [0]->str ? r->element [0]->str : "", t) == 0
              && strcmp (r->element [1]->str ? r->element [1]->str : "", ts) == 0;
    if (!ok)
        fprintf (stderr, "%s: script t=%s ts=%s, C t=%s ts=%s\n", key, r && r->elements == 2 && r->element [0]->str
                 ? r->element [0]->str : "-", r && r->elements == 2 && r->element [1]->str ? r->element [1]->str : "-",
                 t, ts);
    if (r)
        freeReplyObject (r);
    int64_t ttl = s_int (key, 2, pttl);
    return ok && (!s->taken || (ttl > 0 && ttl <= s->rate.period_ms * 2));
}

//  A random state for a bucket of rate at now.
static notifier_tokens_t s_state (notifier_rate_t rate, int64_t now)
{
    notifier_tokens_t s = { .rate = rate, .has_t = rand () % 4 != 0, .has_ts = rand () % 4 != 0 };
    s.t = rand () % (rate.capacity * 1000 + 1500);
    s.ts = now - rand () % (rate.period_ms * 2 + 1) + (rand () % 5 == 0 ? 50 : 0);
    return s;
}

//  One round: up to 8 jobs on fresh buckets, by the script (world L) and
//  in C (world C). Returns false on a difference.
static bool s_round (int64_t now)
{
    notifier_limits_t l = { .gateway = s_rate (), .api = { s_rate (), s_rate (), s_rate () }, .group = s_rate (),
                            .member = s_rate () };
    const char *url_l = "http://cmp-lua/", *url_c = "http://cmp-c/";
    notifier_tokens_t st [32];
    char keys [32][96];
    notifier_take_t tk [8];
    int64_t lua [8];
    int n = 1 + rand () % 8, ns = 0;
    notifier_bucket_t bl [8][4];
    for (int j = 0; j < n; j++) {
        int kind = rand () % 3, group = 1 + rand () % 2, member = rand () % 3;
        notifier_bucket_t bc [4];
        tk [j].n = s_job (&l, url_c, kind, group, member, bc);
        s_job (&l, url_l, kind, group, member, bl [j]);
        for (int i = 0; i < tk [j].n; i++) {
            int k = 0;
            while (k < ns && strcmp (keys [k], bc [i].key) != 0)
                k++;
            if (k == ns) {
                qy_strlcpy (keys [ns], bc [i].key, sizeof (keys [0]));
                st [ns] = s_state (bc [i].rate, now);
                s_put (bl [j][i].key, &st [ns++]);
            }
            tk [j].bucket [i] = k;
        }
    }
    char pause [64];
    notifier_pause_key (url_l, pause, sizeof (pause));
    bool paused = rand () % 5 == 0;
    const char *set [] = { "SET", pause, "1", "PX", "60000" }, *del [] = { "DEL", pause }, *pttl [] = { "PTTL", pause };
    s_do (pause, paused ? 5 : 2, paused ? set : del);
    for (int j = 0; j < n; j++)
        lua [j] = s_script (&s_fixed, url_l, bl [j], tk [j].n, now);
    notifier_limits_decide (st, tk, n, now, s_int (pause, 2, pttl));
    bool ok = true;
    for (int j = 0; j < n; j++) {
        bool same = paused ? lua [j] > 59000 && tk [j].wait > 59000 && llabs (lua [j] - tk [j].wait) < 1000
                           : lua [j] == tk [j].wait;
        if (!same)
            fprintf (stderr, "job %d: script %lld, C %lld\n", j, (long long) lua [j], (long long) tk [j].wait);
        ok &= same;
    }
    //  Keys of world L in the order of world C's buckets: the same jobs' same buckets.
    for (int j = 0; j < n; j++)
        for (int i = 0; i < tk [j].n; i++)
            ok &= s_same (bl [j][i].key, &st [tk [j].bucket [i]]);
    return ok;
}

// ------------------------------------------------------------- 2. live

//  n jobs of url under l, through notifier_limits_take_all: their waits.
static void s_take (qy_redis_t *redis, const notifier_limits_t *l, const char *url, int n, int64_t *wait)
{
    notifier_job_t jobs [8] = { { 0 } };
    notifier_admit_t adm [8] = { { .n = 0 } };
    for (int j = 0; j < n; j++) {
        jobs [j] = (notifier_job_t) { .url = (char *) url, .kind = "post", .group_id = 1, .member = "" };
        adm [j].n = notifier_buckets (l, &jobs [j], adm [j].b);
        adm [j].wait = -1;
    }
    notifier_limits_take_all (redis, jobs, adm, n);
    for (int j = 0; j < n; j++)
        wait [j] = adm [j].wait;
}

static void s_live (void)
{
    const char *url = "http://live/";
    notifier_limits_t l = { .gateway = { 5, 3600000 } }, off = { .gateway = { 0, 1000 } };
    notifier_bucket_t b [4];
    notifier_job_t job = { .url = (char *) url, .kind = "post" };
    int nb = notifier_buckets (&l, &job, b);
    int64_t w [8];
    s_take (s_redis, &l, url, 3, w);
    s_check (w [0] == 0 && w [1] == 0 && w [2] == 0, "live: three of five tokens taken in C");
    int64_t a = s_script (&s_script_live, url, b, nb, -1), c = s_script (&s_script_live, url, b, nb, -1);
    int64_t d = s_script (&s_script_live, url, b, nb, -1);
    s_check (a == 0 && c == 0 && d > 700000 && d <= 720000, "live: the script takes the last two, then waits");
    s_take (s_redis, &l, url, 2, w);
    s_check (w [0] > 700000 && w [0] <= 720000 && w [1] == w [0], "live: then C waits as long");
    const char *pttl [] = { "PTTL", b [0].key };
    int64_t ttl = s_int (b [0].key, 2, pttl);
    s_check (ttl > 7000000 && ttl <= 7200000, "live: the bucket expires two periods after its last take");
    char pause [64];
    notifier_pause_key (url, pause, sizeof (pause));
    const char *set [] = { "SET", pause, "1", "PX", "5000" }, *del [] = { "DEL", pause };
    s_do (pause, 5, set);
    s_take (s_redis, &off, url, 2, w);
    s_check (w [0] > 4000 && w [0] <= 5000 && w [1] > 4000, "live: a pause holds jobs without buckets");
    s_take (s_redis, &l, url, 1, w);
    s_check (w [0] > 4000 && w [0] <= 5000, "live: the pause answers before the buckets");
    s_do (pause, 2, del);
    s_take (s_redis, &off, url, 2, w);
    s_check (w [0] == 0 && w [1] == 0, "live: the pause gone, jobs without buckets go");
}

// ------------------------------------------------------------- 3. race

//  calls= of one command in INFO commandstats of key's node.
static long s_calls (const char *key, const char *cmd)
{
    const char *info [] = { "INFO", "commandstats" };
    redisReply *r = s_cmd (key, 2, info);
    char want [64];
    qy_snprintf (want, sizeof (want), "cmdstat_%s:calls=", cmd);
    const char *at = r && r->type == REDIS_REPLY_STRING ? strstr (r->str, want) : NULL;
    long calls = at ? atol (at + strlen (want)) : 0;
    if (r)
        freeReplyObject (r);
    return calls;
}

//  A replica: takes three at a time until the bucket is empty; adds what it
//  took to race:took (with the bucket's tag). Returns 1 if Redis was ever
//  away (a lost race must never count as that).
static int s_replica (const notifier_limits_t *l, const char *url, const char *took)
{
    qy_redis_t *redis = qy_redis_new ("127.0.0.1", s_port);
    long n = 0, away = 0, lost = 0;
    for (;;) {
        int64_t w [3];
        s_take (redis, l, url, 3, w);
        int go = (w [0] == 0) + (w [1] == 0) + (w [2] == 0);
        n += go;
        away += w [0] > 0 && w [0] <= 100;      //  every race lost (a token takes 1.2e6 ms here)
        lost += w [0] < 0;
        if (!go && w [0] > 100)
            break;
    }
    char num [24];
    qy_snprintf (num, sizeof (num), "%ld", n);
    const char *incr [] = { "INCRBY", took, num };
    qy_redis_append_keyed (redis, took, 3, incr, NULL);
    redisReply *r = qy_redis_get_reply (redis);
    if (r)
        freeReplyObject (r);
    printf ("race: a replica took %ld (%ld takes lost every race and waited; %ld found Redis away)\n", n, away, lost);
    fflush (stdout);
    qy_redis_destroy (&redis);
    return lost > 0;
}

static void s_race (void)
{
    const char *url = "http://race/";
    notifier_limits_t l = { .gateway = { 3000, 3600000000LL } };
    notifier_bucket_t b [4];
    notifier_job_t job = { .url = (char *) url, .kind = "post" };
    notifier_buckets (&l, &job, b);
    char took [96];
    qy_snprintf (took, sizeof (took), "race:took:%s", strchr (b [0].key, '{'));
    const char *del [] = { "DEL", b [0].key, took }, *reset [] = { "CONFIG", "RESETSTAT" };
    s_do (b [0].key, 3, del);
    s_do (b [0].key, 2, reset);
    fflush (stdout);
    pid_t kids [2];
    for (int k = 0; k < 2; k++)
        if ((kids [k] = fork ()) == 0)
            _exit (s_replica (&l, url, took));
    int status, away = 0;
    for (int k = 0; k < 2; k++)
        if (waitpid (kids [k], &status, 0) != kids [k] || !WIFEXITED (status) || WEXITSTATUS (status))
            away++;
    const char *get [] = { "GET", took };
    redisReply *r = s_cmd (took, 2, get);
    long n = r && r->type == REDIS_REPLY_STRING ? atol (r->str) : -1;
    if (r)
        freeReplyObject (r);
    long execs = s_calls (b [0].key, "exec"), hsets = s_calls (b [0].key, "hset");
    printf ("race: %ld EXEC, %ld of them wrote (the rest found a bucket taken from meanwhile)\n", execs, hsets);
    s_check (n == 3000, "race: two replicas took exactly the bucket's 3000 tokens");
    s_check (execs > hsets, "race: EXEC answered nil at least once, and the take ran again");
    s_check (!away, "race: no take found Redis away");
}

int main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: notifier_limits REDIS_PORT SCRIPT_PATH [ROUNDS] [SEED]\n");
        return 2;
    }
    s_port = atoi (argv [1]);
    int rounds = argc > 3 ? atoi (argv [3]) : 300;
    srand (argc > 4 ? (unsigned) atoi (argv [4]) : 19);
    qy_buf_t src;
    qy_buf_init (&src);
    if (!qy_buf_read_file (&src, argv [2]) || !(s_fixed.source = s_fixed_clock (src.data))) {
        fprintf (stderr, "cannot read the script (or its TIME line) at %s\n", argv [2]);
        return 2;
    }
    s_script_live.source = src.data;
    s_redis = qy_redis_new ("127.0.0.1", s_port);
    int same = 0;
    for (int i = 0; i < rounds; i++)
        same += s_round (1765000000000LL + i * 10007LL);
    printf ("%s %d of %d random rounds decided as the script did\n", same == rounds ? "ok  " : "FAIL", same, rounds);
    s_failed |= same != rounds;
    s_live ();
    s_race ();
    qy_redis_destroy (&s_redis);
    free ((char *) s_fixed.source);
    qy_buf_free (&src);
    return s_failed;
}
