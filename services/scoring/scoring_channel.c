//  Channel quality from a group's sc:ch hash: joins, the members a channel
//  brought, how many ever spoke or broke a rule, and retention of the
//  joins old enough to be judged (7 and 30 days). Pure.
#include "scoring.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static scoring_channel_t *s_find (scoring_channel_t **all, size_t *n, size_t *cap, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*all) [i].channel_id == id)
            return &(*all) [i];
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *all = qy_realloc (*all, *cap * sizeof (**all));
    }
    scoring_channel_t *c = &(*all) [(*n)++];
    memset (c, 0, sizeof (*c));
    c->channel_id = id;
    return c;
}

size_t scoring_channels_fold (const char *const *names, const char *const *values, size_t n, int32_t today,
                              scoring_channel_t **out)
{
    scoring_channel_t *all = NULL;
    size_t count = 0, cap = 0;
    //  Cohorts: joins and early leaves per join day, matched after the loop.
    typedef struct { int64_t ch; int32_t day; int64_t joins, left7, left30; } cohort_t;
    cohort_t *co = NULL;
    size_t nco = 0, capco = 0;
    for (size_t i = 0; i < n; i++) {
        char *end;
        int64_t ch = strtoll (names [i], &end, 10);
        if (end == names [i] || *end != ':')
            continue;
        const char *what = end + 1;
        int64_t v = strtoll (values [i], NULL, 10);
        scoring_channel_t *c = s_find (&all, &count, &cap, ch);
        if (strcmp (what, "joins") == 0) c->joins = v;
        else if (strcmp (what, "mem") == 0) c->members = v;
        else if (strcmp (what, "act") == 0) c->spoke = v;
        else if (strcmp (what, "vm") == 0) c->violators = v;
        else if (strcmp (what, "viol") == 0) c->violations = v;
        else {
            int kind = strncmp (what, "j:", 2) == 0 ? 0 : strncmp (what, "l7:", 3) == 0 ? 7
                     : strncmp (what, "l30:", 4) == 0 ? 30 : -1;
            if (kind < 0)
                continue;
            int32_t day = (int32_t) strtol (strchr (what, ':') + 1, NULL, 10);
            cohort_t *x = NULL;
            for (size_t k = 0; k < nco && !x; k++)
                if (co [k].ch == ch && co [k].day == day)
                    x = &co [k];
            if (!x) {
                if (nco == capco) {
                    capco = capco ? capco * 2 : 16;
                    co = qy_realloc (co, capco * sizeof (*co));
                }
                x = &co [nco++];
                memset (x, 0, sizeof (*x));
                x->ch = ch;
                x->day = day;
            }
            if (kind == 0) x->joins = v;
            else if (kind == 7) x->left7 = v;
            else x->left30 = v;
        }
    }
    for (size_t k = 0; k < nco; k++) {
        scoring_channel_t *c = s_find (&all, &count, &cap, co [k].ch);
        int32_t age = today - co [k].day;
        if (age >= 7) {
            c->matured7 += co [k].joins;
            c->retained7 += co [k].joins - co [k].left7;
        }
        if (age >= 30) {
            c->matured30 += co [k].joins;
            c->retained30 += co [k].joins - co [k].left30;
        }
    }
    free (co);
    *out = all;
    return count;
}
