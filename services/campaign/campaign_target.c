//  Which groups and members a campaign reaches, which variant a group
//  gets, when a step falls due, and the arithmetic of the activities
//  (streaks, points, draws). Pure functions.
#include "campaign_def.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static bool s_has (const campaign_strv_t *v, const char *s)
{
    for (size_t i = 0; s && i < v->n; i++)
        if (strcmp (v->v [i], s) == 0)
            return true;
    return false;
}

//  An empty filter lets everything through; otherwise one listed value must match.
static bool s_any (const campaign_strv_t *want, const char *const *have, size_t n)
{
    if (!want->n)
        return true;
    for (size_t i = 0; i < n; i++)
        if (s_has (want, have [i]))
            return true;
    return false;
}

bool campaign_target_group (const campaign_target_t *t, const campaign_group_t *g)
{
    if (t->regions.n && !s_has (&t->regions, g->region_code))
        return false;
    if (t->stores.n && !s_has (&t->stores, g->store_code))
        return false;
    if (t->group_types.n && !s_has (&t->group_types, g->type))
        return false;
    if (t->group_states.n && !s_has (&t->group_states, g->state))
        return false;
    return s_any (&t->group_tags, g->tags, g->ntags);
}

bool campaign_segment_match (const campaign_segment_t *s, const campaign_member_t *m)
{
    if (!s->set)
        return true;
    if ((s->trust_min >= 0 || s->trust_max >= 0) && m->trust < 0)
        return false;
    if (s->trust_min >= 0 && m->trust < s->trust_min)
        return false;
    if (s->trust_max >= 0 && m->trust > s->trust_max)
        return false;
    if (s->states.n && !s_has (&s->states, m->state))
        return false;
    return s_any (&s->tags, m->tags, m->ntags);
}

bool campaign_keyword_match (const campaign_strv_t *keywords, const char *text)
{
    for (size_t i = 0; text && i < keywords->n; i++)
        if (strstr (text, keywords->v [i]))
            return true;
    return false;
}

size_t campaign_variant_pick (const campaign_step_t *s, int64_t campaign_id, size_t step, int64_t group_id)
{
    if (s->nvariants < 2)
        return 0;
    char key [96];
    size_t n = qy_snprintf (key, sizeof (key), "%lld:%zu:%lld", (long long) campaign_id, step, (long long) group_id);
    uint64_t total = 0;
    for (size_t i = 0; i < s->nvariants; i++)
        total += (uint64_t) s->variants [i].weight;
    uint64_t x = qy_hash64 (key, n) % total;
    for (size_t i = 0; i < s->nvariants; i++) {
        if (x < (uint64_t) s->variants [i].weight)
            return i;
        x -= (uint64_t) s->variants [i].weight;
    }
    return s->nvariants - 1;
}

int64_t campaign_step_due (const campaign_step_t *s, int32_t anchor_day, int64_t trigger_us,
                           int tz_offset_min, int best_hour)
{
    if (s->best_time)
        return campaign_local_us (anchor_day + s->day, best_hour * 60, tz_offset_min);
    if (s->at_min >= 0)
        return campaign_local_us (anchor_day + s->day, s->at_min, tz_offset_min);
    return trigger_us + (int64_t) s->day * 86400 * 1000000;
}

int campaign_product_cycle (const campaign_trigger_t *t, const char *product)
{
    int any = -1;
    for (size_t i = 0; product && i < t->products.n; i++) {
        if (strcmp (t->products.v [i], product) == 0)
            return t->cycles [i];
        if (strcmp (t->products.v [i], "*") == 0)
            any = t->cycles [i];
    }
    return any;
}

int campaign_checkin_streak (int32_t last_day, int last_streak, int32_t today)
{
    if (last_day == CAMPAIGN_NO_DAY || today - last_day > 1)
        return 1;
    if (today == last_day)
        return last_streak;
    return last_streak + 1;
}

int campaign_checkin_points (const campaign_trigger_t *t, int streak)
{
    int64_t bonus = (int64_t) t->streak_bonus * (streak - 1);
    if (bonus > t->max_bonus)
        bonus = t->max_bonus;
    return t->points + (int) bonus;
}

static uint64_t s_splitmix (uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int s_cmp_id (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

size_t campaign_draw (const int64_t *eligible, size_t n, uint64_t seed, size_t k, int64_t *winners)
{
    if (!n || !k)
        return 0;
    int64_t *ids = qy_malloc (sizeof (int64_t) * n);
    memcpy (ids, eligible, sizeof (int64_t) * n);
    qsort (ids, n, sizeof (int64_t), s_cmp_id);
    if (k > n)
        k = n;
    uint64_t state = seed;
    for (size_t i = 0; i < k; i++) {
        //  Rejection sampling keeps the pick unbiased.
        uint64_t range = n - i, limit = UINT64_MAX - UINT64_MAX % range, r;
        do
            r = s_splitmix (&state);
        while (r >= limit);
        size_t j = i + (size_t) (r % range);
        int64_t t = ids [i];
        ids [i] = ids [j];
        ids [j] = t;
        winners [i] = ids [i];
    }
    free (ids);
    return k;
}
