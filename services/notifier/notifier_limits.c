//  Rate limits as token buckets in Redis, so every notifier replica draws
//  from the same buckets. A job draws one token from each bucket it
//  belongs to (its destination, the API, the group, the member), all or
//  none in one Lua script; a destination that told us to slow down (HTTP
//  429, WeCom errcode 130101) is paused by a key with a TTL that the same
//  script honours. Every key of one take carries its destination's hash
//  tag ({d:…}): the script's keys must share one slot on a Redis Cluster,
//  so the group and member buckets are kept per destination (a group's
//  posts all go to its brand's gateway, so that is one bucket still).
#include "notifier_edge.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

int notifier_rate_parse (const char *spec, notifier_rate_t *rate)
{
    rate->capacity = 0;
    rate->period_ms = 1000;
    if (!spec || strcmp (spec, "off") == 0 || strcmp (spec, "0") == 0)
        return 0;
    char *end;
    long n = strtol (spec, &end, 10);
    if (end == spec || *end != '/' || n < 0)
        return -1;
    const char *p = end + 1;
    double period = strtod (p, &end);
    if (end == p || period <= 0)
        return -1;
    double unit = 1000;
    if (*end == 's')      { unit = 1000; end++; }
    else if (*end == 'm') { unit = 60000; end++; }
    else if (*end == 'h') { unit = 3600000; end++; }
    if (*end)
        return -1;
    rate->capacity = n;
    rate->period_ms = (int64_t) (period * unit);
    return rate->period_ms > 0 ? 0 : -1;
}

int notifier_rate_check (const char *spec, char *why, size_t whylen)
{
    notifier_rate_t rate;
    if (notifier_rate_parse (spec, &rate) == 0)
        return 0;
    qy_snprintf (why, whylen, "N/S (N per S seconds; S may end in m or h, e.g. 20/60, 5/1m) or off");
    return -1;
}

void notifier_pause_key (const char *url, char *buf, size_t len)
{
    qy_snprintf (buf, len, "nt:pause:{d:%016llx}", (unsigned long long) qy_hash64 (url, strlen (url)));
}

static int s_add (notifier_bucket_t *out, int n, notifier_rate_t rate, const char *fmt, const char *what,
                  uint64_t id)
{
    if (!rate.capacity)
        return n;
    qy_snprintf (out [n].key, sizeof (out [n].key), fmt, what, (unsigned long long) id);
    out [n].rate = rate;
    return n + 1;
}

int notifier_buckets (const notifier_limits_t *limits, const notifier_job_t *job, notifier_bucket_t *out)
{
    uint64_t dest = qy_hash64 (job->url, strlen (job->url));
    int n = 0;
    const char *kind = job->kind ? job->kind : "post";
    if (job->webhook)
        return s_add (out, n, limits->webhook, "nt:rl:%s:{d:%016llx}", "robot", dest);
    n = s_add (out, n, limits->gateway, "nt:rl:%s:{d:%016llx}", "gw", dest);
    int api = strcmp (kind, "action") == 0 ? 1 : strcmp (kind, "alert") == 0 ? 2 : 0;
    static const char *const apis [] = { "api.post", "api.action", "api.alert" };
    n = s_add (out, n, limits->api [api], "nt:rl:%s:{d:%016llx}", apis [api], dest);
    //  Per group and per member only for posts: a moderation action on a
    //  flooding spammer must never wait behind a courtesy limit.
    if (api == 0 && job->group_id && limits->group.capacity) {
        qy_snprintf (out [n].key, sizeof (out [n].key), "nt:rl:group:{d:%016llx}:%lld", (unsigned long long) dest,
                     (long long) job->group_id);
        out [n++].rate = limits->group;
    }
    if (api == 0 && job->member && *job->member && strcmp (job->member, "@all") != 0 && limits->member.capacity) {
        char who [300];
        qy_snprintf (who, sizeof (who), "%lld|%s", (long long) job->brand_id, job->member);
        qy_snprintf (out [n].key, sizeof (out [n].key), "nt:rl:member:{d:%016llx}:%016llx", (unsigned long long) dest,
                     (unsigned long long) qy_hash64 (who, strlen (who)));
        out [n++].rate = limits->member;
    }
    return n;
}

//  Take a token from every bucket of a send, or say how long to wait:
//  notifier_take.lua (embedded) has its KEYS, ARGV and reply.
extern const char notifier_take_lua [];
static qy_script_t s_take = { .source = notifier_take_lua };

//  KEYS and ARGV of one take; returns their count.
static int s_args (const char *url, const notifier_bucket_t *b, int n, char pause [64], char nums [8][24],
                   const char **args, size_t *lens)
{
    notifier_pause_key (url, pause, 64);
    int k = 0;
    args [k++] = pause;
    for (int i = 0; i < n && i < 4; i++)
        args [k++] = b [i].key;
    for (int i = 0; i < n && i < 4; i++) {
        qy_snprintf (nums [2 * i], sizeof (nums [0]), "%ld", b [i].rate.capacity);
        qy_snprintf (nums [2 * i + 1], sizeof (nums [0]), "%lld", (long long) b [i].rate.period_ms);
        args [k++] = nums [2 * i];
        args [k++] = nums [2 * i + 1];
    }
    for (int i = 0; i < k; i++)
        lens [i] = strlen (args [i]);
    return k;
}

int notifier_limits_append (qy_redis_t *redis, const char *url, const notifier_bucket_t *b, int n)
{
    const char *args [1 + 4 + 8];
    size_t lens [1 + 4 + 8];
    char pause [64], nums [8][24];
    int k = s_args (url, b, n, pause, nums, args, lens);
    return qy_redis_append_script (redis, &s_take, 1 + (n < 4 ? n : 4), k, args, lens);
}

//  A take's answer (the reply freed).
static int64_t s_wait (redisReply *r)
{
    if (!r)
        return -1;
    int64_t wait = -1;
    if (r->type == REDIS_REPLY_INTEGER)
        wait = r->integer;
    else
    if (r->type == REDIS_REPLY_ERROR && strncmp (r->str, "NOSCRIPT", 8) == 0)
        wait = -2;                  //  Redis restarted: notifier_limits_take loads it again
    else
        qy_log_warn ("rate limit script failed error=%s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject (r);
    return wait;
}

int64_t notifier_limits_reply (qy_redis_t *redis)
{
    return s_wait (qy_redis_get_reply (redis));
}

int64_t notifier_limits_take (qy_redis_t *redis, const char *url, const notifier_bucket_t *b, int n)
{
    const char *args [1 + 4 + 8];
    size_t lens [1 + 4 + 8];
    char pause [64], nums [8][24];
    int k = s_args (url, b, n, pause, nums, args, lens);
    return s_wait (qy_redis_script (redis, &s_take, 1 + (n < 4 ? n : 4), k, args, lens));
}

int notifier_limits_pause (qy_redis_t *redis, const char *url, int64_t ms)
{
    char key [64], px [24];
    notifier_pause_key (url, key, sizeof (key));
    qy_snprintf (px, sizeof (px), "%lld", (long long) (ms > 0 ? ms : 1));
    redisReply *r = qy_redis_cmd (redis, "SET %s 1 PX %s", key, px);
    if (!r)
        return -1;
    freeReplyObject (r);
    return 0;
}
