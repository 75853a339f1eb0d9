//  Fixed-size groups and clean-outs: whom to let go, in order. Pure.
//  Staff and key members are never suggested.
#include "scoring.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static int64_t s_silent (const scoring_member_t *m, int32_t today)
{
    int32_t since = m->join_day >= 0 ? m->join_day : m->first_day;
    if (m->last_day >= 0)
        return today - m->last_day;
    return since >= 0 ? today - since : 0;
}

static bool s_candidate (const scoring_member_t *m, const scoring_standing_t *st)
{
    return m->in_group && !m->staff && strcmp (st->state, "key") != 0;
}

typedef struct {
    scoring_suggestion_t s;
    int64_t silent;
} s_item_t;

static int s_cmp (const void *a, const void *b)
{
    const s_item_t *x = a, *y = b;
    if (x->s.score != y->s.score)
        return x->s.score < y->s.score ? -1 : 1;
    if (x->silent != y->silent)
        return x->silent > y->silent ? -1 : 1;
    return x->s.member_id < y->s.member_id ? -1 : x->s.member_id > y->s.member_id;
}

static size_t s_emit (s_item_t *items, size_t k, scoring_suggestion_t *out, size_t max)
{
    qsort (items, k, sizeof (*items), s_cmp);
    size_t n = k < max ? k : max;
    for (size_t i = 0; i < n; i++)
        out [i] = items [i].s;
    free (items);
    return n;
}

size_t scoring_capacity_list (const scoring_settings_t *s, const scoring_member_t *ms, const scoring_standing_t *st,
                              size_t n, int64_t capacity, int32_t today, scoring_suggestion_t *out, size_t max,
                              int *needed)
{
    int64_t in = 0;
    for (size_t i = 0; i < n; i++)
        in += ms [i].in_group;
    *needed = 0;
    if (capacity <= 0 || in < capacity - s->capacity_headroom)
        return 0;
    //  Room for one more to join.
    *needed = in + 1 > capacity ? (int) (in + 1 - capacity) : 0;
    s_item_t *items = qy_calloc (n ? n : 1, sizeof (*items));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s_candidate (&ms [i], &st [i]))
            continue;
        s_item_t *it = &items [k++];
        it->silent = s_silent (&ms [i], today);
        //  Keep-score: trust earned, what others got from them, recent
        //  activity; a week of silence costs one point.
        it->s.member_id = ms [i].member_id;
        it->s.score = 10.0 * st [i].trust_level + st [i].contribution + 3.0 * st [i].activity - (double) it->silent / 7.0;
        qy_snprintf (it->s.reason, sizeof (it->s.reason), "silent %lld d, trust %d, contribution %.1f, activity %.2f",
                     (long long) it->silent, st [i].trust_level, st [i].contribution, st [i].activity);
    }
    return s_emit (items, k, out, max);
}

size_t scoring_cleanout_list (const scoring_settings_t *s, const scoring_member_t *ms, const scoring_standing_t *st,
                              size_t n, double msgs_per_day, int32_t today, scoring_suggestion_t *out, size_t max)
{
    if (msgs_per_day >= s->cleanout_floor)
        return 0;
    s_item_t *items = qy_calloc (n ? n : 1, sizeof (*items));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t silent = s_silent (&ms [i], today);
        if (!s_candidate (&ms [i], &st [i]) || silent < s->cleanout_silent_days)
            continue;
        s_item_t *it = &items [k++];
        it->silent = silent;
        it->s.member_id = ms [i].member_id;
        it->s.score = -(double) silent;
        qy_snprintf (it->s.reason, sizeof (it->s.reason), "silent %lld d%s, %lld messages in all",
                     (long long) silent, ms [i].last_day < 0 ? " (never spoke)" : "", (long long) ms [i].msgs);
    }
    return s_emit (items, k, out, max);
}
