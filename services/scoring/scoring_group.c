//  Group health: the measures of docs/scoring.md, the score 0–100 and the
//  state. Pure: the evaluation gathers the days from PostgreSQL's roll-ups.
#include "scoring.h"
#include "qy/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int s_cmp_desc (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int64_t *s_sorted_desc (const int64_t *v, size_t n)
{
    int64_t *c = qy_malloc ((n ? n : 1) * sizeof (int64_t));
    if (n)
        memcpy (c, v, n * sizeof (int64_t));
    qsort (c, n, sizeof (int64_t), s_cmp_desc);
    return c;
}

//  G = Σ_i (2i − n − 1) x_i / (n Σ x), with x sorted ascending and i from 1.
double scoring_gini (const int64_t *v, size_t n)
{
    if (n < 2)
        return 0;
    int64_t *c = s_sorted_desc (v, n);
    double num = 0, total = 0;
    for (size_t k = 0; k < n; k++) {
        //  Descending position k is ascending position i = n − k.
        double i = (double) (n - k);
        num += (2 * i - (double) n - 1) * (double) c [k];
        total += (double) c [k];
    }
    free (c);
    return total > 0 ? num / ((double) n * total) : 0;
}

double scoring_top_share (const int64_t *v, size_t n, size_t k)
{
    int64_t *c = s_sorted_desc (v, n);
    double top = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (i < k)
            top += (double) c [i];
        total += (double) c [i];
    }
    free (c);
    return total > 0 ? top / total : 0;
}

static double s_clamp (double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static bool s_temporary_type (const char *type)
{
    return type && (strcmp (type, "temporary") == 0 || strcmp (type, "event") == 0);
}

void scoring_group_health (const scoring_group_input_t *in, scoring_health_t *out)
{
    memset (out, 0, sizeof (*out));
    int64_t msgs7 = 0, msgs_prev = 0, staff7 = 0, joins7 = 0, leaves7 = 0, viol7 = 0, posts28 = 0, resp28 = 0;
    for (int d = 0; d < 28; d++) {
        const scoring_day_t *x = &in->day [d];
        if (d < 7) {
            msgs7 += x->msgs;
            staff7 += x->staff;
            joins7 += x->joins;
            leaves7 += x->leaves;
            viol7 += x->viol;
        }
        else
        if (d < 14)
            msgs_prev += x->msgs;
        posts28 += x->posts;
        resp28 += x->resp;
    }
    int64_t members = in->members;
    double per_member = members > 0 ? 1.0 / (double) members : 0;
    out->members = members;
    out->dau = in->day [0].active;
    out->wau = in->wau;
    out->mau = in->mau;
    out->active_ratio = (double) in->wau * per_member;
    out->msgs_per_day = (double) msgs7 / 7.0;
    out->top3_share = scoring_top_share (in->speaker_msgs, in->n_speakers, 3);
    out->gini = scoring_gini (in->speaker_msgs, in->n_speakers);
    out->self_activation = msgs7 ? 1.0 - (double) staff7 / (double) msgs7 : 0;
    out->growth_rate = (double) joins7 * per_member;
    out->leave_rate = (double) leaves7 * per_member;
    out->violation_rate = msgs7 ? (double) viol7 / (double) msgs7 : 0;
    out->post_response = posts28 ? (double) resp28 / (double) posts28 : 0;

    //  Lifecycle: the group type says so, or a default-typed group that
    //  lived about a week and then fell silent was an event group.
    bool temporary = s_temporary_type (in->type);
    if (!temporary && (!in->type || !*in->type || strcmp (in->type, "long_term") == 0))
        temporary = in->age_days >= 7 && in->span_days <= 10 && in->silent_days >= 7;
    qy_strlcpy (out->lifecycle, temporary ? "temporary" : "long_term", sizeof (out->lifecycle));

    //  The score: six parts, each 0..1, weighted to 100.
    double activity = s_clamp (out->active_ratio / 0.3, 0, 1);
    double volume_bar = members * 0.1 > 5 ? (double) members * 0.1 : 5;
    double volume = s_clamp (out->msgs_per_day / volume_bar, 0, 1);
    double breadth = in->n_speakers ? s_clamp ((1.0 - out->top3_share) / 0.5, 0, 1) : 0;
    double net = members > 0 ? (double) (joins7 - leaves7) / (double) members : 0;
    double growth = s_clamp (0.5 + 5 * net, 0, 1);
    double clean = msgs7 ? 1.0 - s_clamp (10 * out->violation_rate, 0, 1) : 0;
    double score = 30 * activity + 20 * volume + 15 * breadth + 15 * out->self_activation + 10 * growth + 10 * clean;
    out->health = (int) s_clamp (floor (score + 0.5), 0, 100);

    int64_t member_msgs7 = msgs7 - staff7;
    int64_t net_joins = joins7 - leaves7;
    double grow_bar = members * 0.05 > 3 ? (double) members * 0.05 : 3;
    const char *state;
    //  A group in its first week is still gathering people: not judged yet.
    if (in->age_days < 7)
        state = net_joins > 0 ? "growing" : "healthy";
    else
    if (member_msgs7 == 0 || out->health < 10)
        state = "zombie";
    else
    if ((msgs_prev >= 14 && (double) msgs7 < 0.6 * (double) msgs_prev)
        || (in->wau_prev >= 3 && (double) in->wau < 0.7 * (double) in->wau_prev) || out->health < 35)
        state = "declining";
    else
    if ((double) net_joins >= grow_bar
        || (in->wau_prev >= 3 && (double) in->wau >= 1.2 * (double) in->wau_prev && in->wau >= in->wau_prev + 2))
        state = "growing";
    else
        state = "healthy";
    qy_strlcpy (out->state, state, sizeof (out->state));
}
