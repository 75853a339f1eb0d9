//  Taking tokens without a script. Per destination one transaction: a
//  round trip reads (WATCH of its keys, TIME, PTTL of its pause, HMGET of
//  each bucket), the takes are decided in C (notifier_limits_decide, as
//  if one job at a time), and a second writes the buckets a token was
//  taken from in MULTI … EXEC. EXEC answers nil when another replica
//  wrote one of them in between: that destination's part runs again, so
//  replicas share the buckets all or none as the script's atomicity did.
//  Redis's clock (TIME) is now, so replicas with skewed clocks agree;
//  every key carries the destination's hash tag, so on a Redis Cluster
//  the transaction stays on one node (qy_redis_append_keyed routes it).
#include "notifier_edge.h"
#include "qy/log.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_TRIES   8         //  transactions per destination before giving up for this claim
#define S_DONE    0
#define S_AWAY    -1
#define S_AGAIN   -2        //  a slot moved (MOVED, ASK, CLUSTERDOWN) or an answer made no sense
#define S_RACED   -3        //  EXEC answered nil: another replica wrote a bucket in between
#define S_BUSY_MS 100       //  how long jobs wait when every try lost its race

//  One destination's takes: its buckets once each (keys point into the
//  jobs' own), and each job's take of them.
typedef struct {
    char               pause [64];
    notifier_admit_t **jobs;
    int                n;
    const char       **keys;
    notifier_tokens_t *st;
    int                ns;
    notifier_take_t   *takes;
    char               unwatch [64];    //  an UNWATCH owed on this route ("": none): a take wrote nothing
} s_dest_t;

static void s_plan (s_dest_t *d, const char *url, notifier_admit_t **jobs, int n)
{
    notifier_pause_key (url, d->pause, sizeof (d->pause));
    d->jobs = jobs;
    d->n = n;
    d->ns = 0;
    d->keys = qy_calloc ((size_t) n * 4 + 1, sizeof (char *));
    d->st = qy_calloc ((size_t) n * 4 + 1, sizeof (notifier_tokens_t));
    d->takes = qy_calloc ((size_t) n, sizeof (notifier_take_t));
    qy_map_t *index = qy_map_new ();
    for (int j = 0; j < n; j++) {
        d->takes [j].n = jobs [j]->n;
        for (int i = 0; i < jobs [j]->n; i++) {
            const notifier_bucket_t *b = &jobs [j]->b [i];
            int64_t k;
            if (!qy_map_get (index, b->key, &k)) {
                k = d->ns++;
                qy_map_put (index, b->key, k);
                d->keys [k] = b->key;
                d->st [k].rate = b->rate;
            }
            d->takes [j].bucket [i] = (int) k;
        }
    }
    qy_map_destroy (&index);
}

static void s_plan_free (s_dest_t *d)
{
    free (d->keys);
    free (d->st);
    free (d->takes);
}

//  A bucket's field as the script's tonumber read it: false when absent.
static bool s_number (const redisReply *r, int64_t *v)
{
    if (!r || r->type != REDIS_REPLY_STRING)
        return false;
    char *end;
    double x = strtod (r->str, &end);
    if (end == r->str || *end || !isfinite (x))
        return false;
    *v = (int64_t) x;
    return true;
}

//  Reply i of the read (with buckets: WATCH, TIME, PTTL, then one HMGET
//  each; without: PTTL alone) into d, *now and *pause. False when it is
//  not what that command answers.
static bool s_parse (s_dest_t *d, int i, const redisReply *r, int64_t *now, int64_t *pause)
{
    if (d->ns && i == 0)
        return r->type == REDIS_REPLY_STATUS;
    if (d->ns && i == 1) {
        int64_t s, us;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !s_number (r->element [0], &s)
            || !s_number (r->element [1], &us))
            return false;
        *now = s * 1000 + us / 1000;
        return true;
    }
    if (i == (d->ns ? 2 : 0)) {
        if (r->type != REDIS_REPLY_INTEGER)
            return false;
        *pause = r->integer;
        return true;
    }
    notifier_tokens_t *s = &d->st [i - 3];
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return false;
    s->has_t = s_number (r->element [0], &s->t);
    s->has_ts = s_number (r->element [1], &s->ts);
    s->taken = false;
    return true;
}

//  Read what the takes need, in one round trip (behind the UNWATCH a take
//  before may owe). Watches only when there are buckets to write.
static int s_read (qy_redis_t *redis, s_dest_t *d, int64_t *now, int64_t *pause)
{
    const char **argv = qy_calloc ((size_t) d->ns + 2, sizeof (char *));
    const char *unwatch [] = { "UNWATCH" }, *time [] = { "TIME" }, *pttl [] = { "PTTL", d->pause };
    int rc = 0, owed = *d->unwatch != 0, nr = d->ns ? 3 + d->ns : 1;
    if (owed)
        rc = qy_redis_append_keyed (redis, d->unwatch, 1, unwatch, NULL);
    if (d->ns && rc == 0) {
        argv [0] = "WATCH";
        argv [1] = d->pause;
        memcpy (argv + 2, d->keys, (size_t) d->ns * sizeof (char *));
        rc = qy_redis_append_keyed (redis, d->pause, d->ns + 2, argv, NULL);
        rc = rc ? rc : qy_redis_append_keyed (redis, d->pause, 1, time, NULL);
    }
    rc = rc ? rc : qy_redis_append_keyed (redis, d->pause, 2, pttl, NULL);
    for (int k = 0; k < d->ns && rc == 0; k++) {
        const char *hmget [] = { "HMGET", d->keys [k], "t", "ts" };
        rc = qy_redis_append_keyed (redis, d->pause, 4, hmget, NULL);
    }
    free (argv);
    *d->unwatch = 0;
    if (rc)
        return S_AWAY;
    int result = S_DONE;
    for (int i = -owed; i < nr; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r)
            return S_AWAY;
        if (i >= 0 && result == S_DONE && !s_parse (d, i, r, now, pause)) {
            qy_log_warn ("rate limit read failed key=%s error=%s", d->pause,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            result = S_AGAIN;
        }
        freeReplyObject (r);
    }
    if (result != S_DONE && d->ns)
        qy_strlcpy (d->unwatch, d->pause, sizeof (d->unwatch));
    return result;
}

//  Write the buckets a token was taken from, in MULTI … EXEC. Nothing
//  taken: nothing to write, and the watch is left for the next read to
//  drop (one round trip less).
static int s_write (qy_redis_t *redis, s_dest_t *d)
{
    const char *multi [] = { "MULTI" }, *exec [] = { "EXEC" };
    int rc = 0, queued = 0;
    for (int k = 0; k < d->ns && rc == 0; k++) {
        const notifier_tokens_t *s = &d->st [k];
        if (!s->taken)
            continue;
        char t [24], ts [24], px [24];
        qy_fmt_i64 (t, s->t);
        qy_fmt_i64 (ts, s->ts);
        qy_fmt_i64 (px, s->rate.period_ms * 2);
        const char *hset [] = { "HSET", d->keys [k], "t", t, "ts", ts }, *pexpire [] = { "PEXPIRE", d->keys [k], px };
        if (!queued++)
            rc = qy_redis_append_keyed (redis, d->pause, 1, multi, NULL);
        rc = rc ? rc : qy_redis_append_keyed (redis, d->pause, 6, hset, NULL);
        rc = rc ? rc : qy_redis_append_keyed (redis, d->pause, 3, pexpire, NULL);
    }
    if (!queued) {
        if (d->ns)
            qy_strlcpy (d->unwatch, d->pause, sizeof (d->unwatch));
        return S_DONE;
    }
    rc = rc ? rc : qy_redis_append_keyed (redis, d->pause, 1, exec, NULL);
    if (rc)
        return S_AWAY;
    //  MULTI and the queued commands answer OK / QUEUED, or an error
    //  that makes EXEC answer EXECABORT; EXEC's own answer tells.
    for (int i = 0; i < 1 + 2 * queued; i++) {
        redisReply *r = qy_redis_get_reply (redis);
        if (!r)
            return S_AWAY;
        freeReplyObject (r);
    }
    redisReply *r = qy_redis_get_reply (redis);
    if (!r)
        return S_AWAY;
    if (r->type == REDIS_REPLY_ARRAY)
        rc = S_DONE;
    else if (r->type == REDIS_REPLY_NIL)
        rc = S_RACED;
    else {
        rc = S_AGAIN;       //  MOVED, ASK, CLUSTERDOWN, EXECABORT
        qy_log_warn ("rate limit write failed key=%s error=%s", d->pause,
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject (r);
    return rc;
}

//  One destination's takes: read, decide, write; again while another
//  replica came first or a slot moved, S_TRIES times in all. Then a slot
//  still moving counts as Redis away; races lost every time (replicas
//  drawing from the same buckets in step) are no fault of Redis's: the
//  jobs wait a moment as if rate limited, and Redis stays healthy.
static int s_take (qy_redis_t *redis, s_dest_t *d)
{
    int rc = S_AGAIN;
    for (int attempt = 0; attempt < S_TRIES && (rc == S_AGAIN || rc == S_RACED); attempt++) {
        int64_t now = 0, pause = 0;
        rc = s_read (redis, d, &now, &pause);
        if (rc != S_DONE)
            continue;
        notifier_limits_decide (d->st, d->takes, d->n, now, pause);
        rc = s_write (redis, d);
    }
    for (int j = 0; j < d->n; j++) {
        d->jobs [j]->wait = rc == S_DONE ? d->takes [j].wait : rc == S_RACED ? S_BUSY_MS : -1;
        d->jobs [j]->binding = rc == S_DONE ? d->takes [j].binding : 0;
    }
    return rc;
}

void notifier_limits_take_all (qy_redis_t *redis, const notifier_job_t *jobs, notifier_admit_t *adm, int n)
{
    const char **urls = qy_calloc ((size_t) n + 1, sizeof (char *));
    size_t *order = qy_calloc ((size_t) n + 1, sizeof (size_t)), *start = qy_calloc ((size_t) n + 2, sizeof (size_t));
    for (int i = 0; i < n; i++)
        urls [i] = jobs [i].url && !adm [i].circuit && adm [i].wait == -1 ? jobs [i].url : NULL;
    size_t ngroups = qy_group_by_key (urls, (size_t) n, order, start);
    notifier_admit_t **mine = qy_calloc ((size_t) n + 1, sizeof (notifier_admit_t *));
    s_dest_t d = { .unwatch = "" };
    bool away = false;
    for (size_t g = 0; g < ngroups && !away; g++) {
        int m = 0;
        for (size_t k = start [g]; k < start [g + 1]; k++)
            mine [m++] = &adm [order [k]];
        s_plan (&d, urls [order [start [g]]], mine, m);
        away = s_take (redis, &d) == S_AWAY;
        s_plan_free (&d);
    }
    //  A watch the last take left: dropped now (the connection serves
    //  the next claim, and the pauses, in between).
    const char *unwatch [] = { "UNWATCH" };
    if (*d.unwatch && !away && qy_redis_append_keyed (redis, d.unwatch, 1, unwatch, NULL) == 0) {
        redisReply *r = qy_redis_get_reply (redis);
        if (r)
            freeReplyObject (r);
    }
    free (mine);
    free (urls);
    free (order);
    free (start);
}
