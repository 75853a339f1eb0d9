//  Rate limits as token buckets in Redis, so every notifier replica draws
//  from the same buckets. A job draws one token from each bucket it
//  belongs to (its destination, the API, the group, the member), all or
//  none; a destination that told us to slow down (HTTP 429, WeCom errcode
//  130101) is paused by a key with a TTL that every take honours. Here the
//  keys and the decision (pure); notifier_take.c reads and writes them in
//  one transaction per destination. Every key of one take carries its
//  destination's hash tag ({d:…}): a transaction's keys must share one
//  slot on a Redis Cluster, so the group and member buckets are kept per
//  destination (a group's posts all go to its brand's gateway, so that is
//  one bucket still).
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

//  A bucket's milli-tokens at now: refilled continuously since ts, up to
//  capacity. The arithmetic is notifier_take.lua's, which wrote the
//  buckets before, so a bucket means the same to either during a rolling
//  upgrade. Past a whole period the bucket is full (and the product below
//  cannot overflow however old ts is).
static int64_t s_level (const notifier_tokens_t *s, int64_t now)
{
    int64_t cap = (int64_t) s->rate.capacity * 1000, period = s->rate.period_ms;
    int64_t tokens = s->has_t ? s->t : cap;
    int64_t ts = s->has_ts ? s->ts : now;
    if (now > ts) {
        int64_t add = now - ts >= period ? cap : (now - ts) * cap / period;
        tokens = tokens + add < cap ? tokens + add : cap;
    }
    return tokens;
}

void notifier_limits_decide (notifier_tokens_t *st, notifier_take_t *takes, int n, int64_t now_ms, int64_t pause_ms)
{
    for (int j = 0; j < n; j++) {
        notifier_take_t *tk = &takes [j];
        tk->wait = pause_ms > 0 ? pause_ms : 0;
        tk->binding = 0;
        for (int i = 0; i < tk->n && pause_ms <= 0; i++) {
            const notifier_tokens_t *s = &st [tk->bucket [i]];
            int64_t level = s_level (s, now_ms), cap = (int64_t) s->rate.capacity * 1000;
            int64_t w = level < 1000 ? ((1000 - level) * s->rate.period_ms + cap - 1) / cap : 0;
            if (w > tk->wait) {
                tk->wait = w;
                tk->binding = i;
            }
        }
        if (tk->wait)
            continue;       //  nothing taken: the next job sees the buckets as they were
        for (int i = 0; i < tk->n; i++) {
            notifier_tokens_t *s = &st [tk->bucket [i]];
            s->t = s_level (s, now_ms) - 1000;
            s->ts = now_ms;
            s->has_t = s->has_ts = s->taken = true;
        }
    }
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
