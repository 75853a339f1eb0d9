//  Member standing: decayed activity, contribution, trust level and state.
//  Pure: everything comes from the member hash and the brand's settings,
//  so the same answer is given at event time and at evaluation time.
#include "scoring.h"
#include "qy/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t s_int (const char *v, int64_t def)
{
    return v && *v ? strtoll (v, NULL, 10) : def;
}

static double s_dbl (const char *v)
{
    return v && *v ? strtod (v, NULL) : 0.0;
}

void scoring_member_parse (scoring_member_t *m, const char *const *v)
{
    int64_t id = m->member_id, replies = m->replies, mentions = m->mentions, rank = m->key_rank;
    double score = m->key_score;
    memset (m, 0, sizeof (*m));
    m->member_id = id;
    m->replies = replies;
    m->mentions = mentions;
    m->key_rank = rank;
    m->key_score = score;
    m->first_day = (int32_t) s_int (v [SCORING_F_first], -1);
    m->join_day = (int32_t) s_int (v [SCORING_F_jd], -1);
    m->join_t = s_int (v [SCORING_F_jt], 0);
    m->joins = s_int (v [SCORING_F_jn], 0);
    //  Seen talking before any join was reported: in the group.
    m->in_group = s_int (v [SCORING_F_in], 1) == 1;
    m->channel_id = s_int (v [SCORING_F_ch], 0);
    m->first_channel = s_int (v [SCORING_F_mch], -1);
    m->last_day = (int32_t) s_int (v [SCORING_F_last], -1);
    m->last_t = s_int (v [SCORING_F_lt], 0);
    m->days = s_int (v [SCORING_F_days], 0);
    m->streak = s_int (v [SCORING_F_streak], 0);
    m->msgs = s_int (v [SCORING_F_msgs], 0);
    m->act_s = s_dbl (v [SCORING_F_as]);
    m->act_l = s_dbl (v [SCORING_F_al]);
    m->act_t = s_int (v [SCORING_F_at], 0);
    m->substantial = s_int (v [SCORING_F_subs], 0);
    m->answered = s_int (v [SCORING_F_ans], 0);
    m->viol_day = (int32_t) s_int (v [SCORING_F_vd], -1);
    m->violations = s_int (v [SCORING_F_viol], 0);
    m->staff = s_int (v [SCORING_F_staff], 0) == 1;
    qy_strlcpy (m->state, v [SCORING_F_st] ? v [SCORING_F_st] : "", sizeof (m->state));
    m->trust_level = (int) s_int (v [SCORING_F_tl], 0);
}

void scoring_key_ranks (scoring_member_t *ms, size_t n, const int64_t *board, size_t nb)
{
    qy_map_t *at = qy_map_new ();
    char key [24];
    for (size_t i = 0; i < n; i++) {
        ms [i].key_rank = -1;
        qy_snprintf (key, sizeof (key), "%lld", (long long) ms [i].member_id);
        qy_map_put (at, key, (int64_t) i);
    }
    //  Replies to staff, bots and members who left stay on the board (they
    //  may come back in), but take no place among those who can be key.
    int64_t rank = 0, i;
    for (size_t b = 0; b < nb; b++) {
        qy_snprintf (key, sizeof (key), "%lld", (long long) board [b]);
        if (qy_map_get (at, key, &i) && ms [i].in_group && !ms [i].staff && ms [i].key_rank < 0)
            ms [i].key_rank = rank++;
    }
    qy_map_destroy (&at);
}

double scoring_decay (double value, int64_t from_s, int64_t to_s, double half_life_s)
{
    if (to_s <= from_s || half_life_s <= 0)
        return value;
    return value * exp2 (-(double) (to_s - from_s) / half_life_s);
}

//  A steady r messages a day for long enough decays to r × h / ln 2
//  (h in days), so the count times ln 2 / h gives the rate back.
double scoring_rate (double act, int64_t act_t, int64_t now_s, double half_life_s)
{
    if (half_life_s <= 0)
        return 0;
    return scoring_decay (act, act_t, now_s, half_life_s) * M_LN2 / (half_life_s / 86400.0);
}

double scoring_contribution (const scoring_settings_t *s, const scoring_member_t *m)
{
    return s->w_reply * (double) (m->replies + m->mentions) + s->w_answer * (double) m->answered
         + s->w_substantial * (double) m->substantial - s->w_violation * (double) m->violations;
}

//  The day a member's current stay in the group counts from.
static int32_t s_since (const scoring_member_t *m)
{
    return m->join_day >= 0 ? m->join_day : m->first_day;
}

//  The day the member was first seen in the group: trust and "new" count
//  from it, so leaving and coming back does not make a regular new again.
static int32_t s_first (const scoring_member_t *m)
{
    if (m->first_day >= 0 && (m->join_day < 0 || m->first_day <= m->join_day))
        return m->first_day;
    return m->join_day;
}

int scoring_trust_level (const scoring_settings_t *s, const scoring_member_t *m, int32_t today)
{
    int32_t since = s_first (m);
    int64_t joined = since >= 0 ? today - since : 0;
    int level = 0;
    for (int tl = 1; tl <= 4; tl++) {
        const scoring_trust_bar_t *b = &s->trust [tl];
        bool clean = b->clean_days <= 0 || m->viol_day < 0 || today - m->viol_day >= b->clean_days;
        if (joined >= b->days_joined && m->days >= b->days_active && m->msgs >= b->messages
            && m->replies + m->mentions >= b->replies && clean)
            level = tl;
        else
            break;      //  levels are earned in order, as in Discourse
    }
    return level;
}

void scoring_member_standing (const scoring_settings_t *s, const scoring_member_t *m, int64_t now_s, int32_t today,
                              double half_short_s, double half_long_s, scoring_standing_t *out)
{
    memset (out, 0, sizeof (*out));
    out->trust_level = scoring_trust_level (s, m, today);
    out->contribution = scoring_contribution (s, m);
    out->activity = scoring_decay (m->act_s, m->act_t, now_s, half_short_s);
    out->baseline = scoring_decay (m->act_l, m->act_t, now_s, half_long_s);
    out->rate_recent = scoring_rate (m->act_s, m->act_t, now_s, half_short_s);
    out->rate_baseline = scoring_rate (m->act_l, m->act_t, now_s, half_long_s);
    const char *state;
    int32_t since = s_since (m);
    int64_t in_days = since >= 0 ? today - since : 0;
    //  Silent since the last message, or since joining if never spoke.
    int64_t silent = m->last_day >= 0 ? today - m->last_day : in_days;
    if (!m->in_group)
        state = "left";
    else
    //  A key member speaks: replies and mentions alone (a welcome @ to a
    //  newcomer who never said a word) do not make one.
    if (m->key_rank >= 0 && m->key_rank < s->key_top && m->key_score >= s->key_min && m->last_day >= 0
        && silent < s->lurker_days)
        state = "key";
    else
    if (out->rate_baseline >= s->churn_min_rate && out->rate_recent < s->churn_ratio * out->rate_baseline)
        state = "churn_risk";
    else
    if (in_days >= s->lurker_days && silent >= s->lurker_days)
        state = "lurker";
    else
    if (s_first (m) >= 0 && today - s_first (m) < s->new_days)
        state = "new";
    else
        state = "active";
    qy_strlcpy (out->state, state, sizeof (out->state));
}

void scoring_event_standing (const scoring_settings_t *s, const scoring_member_t *m, int64_t now_s, int32_t today,
                             double half_short_s, double half_long_s, scoring_standing_t *out)
{
    scoring_member_standing (s, m, now_s, today, half_short_s, half_long_s, out);
    if (m->trust_level > out->trust_level)
        out->trust_level = m->trust_level;
    if (strcmp (m->state, "key") == 0 && (strcmp (out->state, "active") == 0 || strcmp (out->state, "new") == 0))
        qy_strlcpy (out->state, "key", sizeof (out->state));
}
