//  Admission: whether a claimed delivery may go now, from its endpoint's
//  circuit and its token buckets (see notifier_edge.h).
#include "notifier_edge.h"
#include "qy/util.h"

const char *notifier_hold_text (notifier_hold_t why)
{
    switch (why) {
        case NOTIFIER_HELD_CIRCUIT:  return "circuit open";
        case NOTIFIER_HELD_NO_REDIS: return "rate limiter unavailable (redis)";
        case NOTIFIER_HELD_RATE:     return "rate limited";
        case NOTIFIER_HELD_PAUSE:    return "destination paused";
        default:                     return "";
    }
}

int64_t notifier_admit (const notifier_admit_t *a, qy_map_t *promised, int64_t now_ms, notifier_hold_t *why)
{
    int64_t wait = a->wait;
    int n = a->n;
    *why = NOTIFIER_GO;
    if (a->circuit) {
        *why = NOTIFIER_HELD_CIRCUIT;
        return wait;
    }
    if (wait < 0) {
        if (!n)
            return 0;       //  no limit to keep; a pause we cannot see
        *why = NOTIFIER_HELD_NO_REDIS;
        return 1000;
    }
    if (wait == 0)
        return 0;
    *why = n ? NOTIFIER_HELD_RATE : NOTIFIER_HELD_PAUSE;
    if (!n)
        return wait;        //  a pause: everything held waits for its end
    const notifier_bucket_t *b = &a->b [a->binding >= 0 && a->binding < n ? a->binding : 0];
    int64_t step = b->rate.period_ms / (b->rate.capacity ? b->rate.capacity : 1), last = 0;
    int64_t slot = now_ms + wait;
    if (qy_map_get (promised, b->key, &last) && last + step > slot)
        slot = last + step;
    qy_map_put (promised, b->key, slot);
    return slot - now_ms;
}

void notifier_admit_all (const notifier_limits_t *limits, notifier_breaker_t *breaker, qy_redis_t *redis,
                         notifier_job_t *jobs, int n, notifier_admit_t *adm)
{
    int64_t now_ms = qy_mono_us () / 1000;
    for (int i = 0; i < n; i++) {
        adm [i].n = 0;
        adm [i].wait = jobs [i].url ? notifier_breaker_allow (breaker, jobs [i].url, now_ms) : 0;
        adm [i].circuit = adm [i].wait > 0;
        if (!jobs [i].url || adm [i].circuit)
            continue;
        adm [i].n = notifier_buckets (limits, &jobs [i], adm [i].b);
        adm [i].wait = -1;
    }
    notifier_limits_take_all (redis, jobs, adm, n);
}

int notifier_insert_claims (bool behind, int free_slots)
{
    return behind || free_slots < 0 ? 0 : free_slots;
}

bool notifier_behind (int claimed, int asked)
{
    return claimed >= asked;
}

bool notifier_behind_inserted (bool behind, int left)
{
    return behind || left > 0;
}
