//  Channel quality from a group's sc:ch hash: joins, the members a channel
//  brought, how many ever spoke or broke a rule, and retention of the
//  joins old enough to be judged (7 and 30 days). Pure. Cohorts older than
//  30 days are folded into running totals in Redis by the evaluation
//  (scoring_fold_lua), so the hash stays about a month of cohorts long.
#include "scoring.h"
#include "qy/util.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    scoring_channel_t *all;
    size_t n, cap;
    qy_map_t *index;        //  channel id → place in all
} s_channels_t;

static scoring_channel_t *s_find (s_channels_t *chs, int64_t id)
{
    char key [24];
    qy_snprintf (key, sizeof (key), "%lld", (long long) id);
    int64_t at;
    if (qy_map_get (chs->index, key, &at))
        return &chs->all [at];
    if (chs->n == chs->cap) {
        chs->cap = chs->cap ? chs->cap * 2 : 8;
        chs->all = qy_realloc (chs->all, chs->cap * sizeof (*chs->all));
    }
    qy_map_put (chs->index, key, (int64_t) chs->n);
    scoring_channel_t *c = &chs->all [chs->n++];
    memset (c, 0, sizeof (*c));
    c->channel_id = id;
    return c;
}

//  A join cohort: joins of one channel on one day, and of those the ones
//  who left within 7 and 30 days.
typedef struct { int64_t ch; int32_t day; int64_t joins, left7, left30; } s_cohort_t;

typedef struct {
    s_cohort_t *all;
    size_t n, cap;
    qy_map_t *index;        //  "channel:day" → place in all
} s_cohorts_t;

static s_cohort_t *s_cohort (s_cohorts_t *co, int64_t ch, int32_t day)
{
    char key [40];
    qy_snprintf (key, sizeof (key), "%lld:%d", (long long) ch, (int) day);
    int64_t at;
    if (qy_map_get (co->index, key, &at))
        return &co->all [at];
    if (co->n == co->cap) {
        co->cap = co->cap ? co->cap * 2 : 16;
        co->all = qy_realloc (co->all, co->cap * sizeof (*co->all));
    }
    qy_map_put (co->index, key, (int64_t) co->n);
    s_cohort_t *x = &co->all [co->n++];
    memset (x, 0, sizeof (*x));
    x->ch = ch;
    x->day = day;
    return x;
}

//  One channel counter or running total; false when what is not one.
static bool s_counter (scoring_channel_t *c, const char *what, int64_t v)
{
    static const struct { const char *name; size_t off; } fields [] = {
        { "joins", offsetof (scoring_channel_t, joins) },     { "mem", offsetof (scoring_channel_t, members) },
        { "act", offsetof (scoring_channel_t, spoke) },       { "vm", offsetof (scoring_channel_t, violators) },
        { "viol", offsetof (scoring_channel_t, violations) }, { "m7", offsetof (scoring_channel_t, matured7) },
        { "r7", offsetof (scoring_channel_t, retained7) },    { "m30", offsetof (scoring_channel_t, matured30) },
        { "r30", offsetof (scoring_channel_t, retained30) },
    };
    for (size_t f = 0; f < QY_ARRAY_LEN (fields); f++)
        if (strcmp (what, fields [f].name) == 0) {
            //  Folded totals add to what the cohorts still in the hash give.
            *(int64_t *) ((char *) c + fields [f].off) += v;
            return true;
        }
    return false;
}

size_t scoring_channels_fold (const char *const *names, const char *const *values, size_t n, int32_t today,
                              scoring_channel_t **out)
{
    s_channels_t chs = { .index = qy_map_new () };
    s_cohorts_t co = { .index = qy_map_new () };
    for (size_t i = 0; i < n; i++) {
        char *end;
        int64_t ch = strtoll (names [i], &end, 10);
        if (end == names [i] || *end != ':')
            continue;
        const char *what = end + 1;
        int64_t v = strtoll (values [i], NULL, 10);
        scoring_channel_t *c = s_find (&chs, ch);
        if (s_counter (c, what, v))
            continue;
        int kind = strncmp (what, "j:", 2) == 0 ? 0 : strncmp (what, "l7:", 3) == 0 ? 7
                 : strncmp (what, "l30:", 4) == 0 ? 30 : -1;
        if (kind < 0)
            continue;
        s_cohort_t *x = s_cohort (&co, ch, (int32_t) strtol (strchr (what, ':') + 1, NULL, 10));
        if (kind == 0) x->joins = v;
        else if (kind == 7) x->left7 = v;
        else x->left30 = v;
    }
    for (size_t k = 0; k < co.n; k++) {
        scoring_channel_t *c = s_find (&chs, co.all [k].ch);
        int32_t age = today - co.all [k].day;
        if (age >= 7) {
            c->matured7 += co.all [k].joins;
            c->retained7 += co.all [k].joins - co.all [k].left7;
        }
        if (age >= 30) {
            c->matured30 += co.all [k].joins;
            c->retained30 += co.all [k].joins - co.all [k].left30;
        }
    }
    free (co.all);
    qy_map_destroy (&co.index);
    qy_map_destroy (&chs.index);
    *out = chs.all;
    return chs.n;
}
