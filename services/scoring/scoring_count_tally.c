//  scoring_count_tally: a batch of one group's events counted, one after
//  another in the order given, each exactly as it would be alone (this was
//  scoring_count.lua's per-event logic; docs/scoring.md has the rules).
//  Pure: it reads what the batch's reads loaded into the scoring_kv_t and
//  leaves its writes there (scoring_count_io.c sends them in one MULTI).
//  Counting is idempotent by message id: the id set of the group-day
//  answers "seen" and nothing else moves.
//
//  Expiry is set when a key is created, not on every event: day keys by
//  their first counter reaching 1; the group's long-lived keys (roster,
//  uids, state, board, channels, replies received) get their expiry moved
//  on by the day's first event, and EXPIRE NX whenever a write may have
//  made them (one made after the day's first event would otherwise never
//  expire).
//
//  Numbers are written as Lua's tostring wrote them ("%.14g"), so hashes
//  the script wrote read back the same.
#include "scoring.h"
#include "qy/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_S 86400

//  One event being counted: its keys, its member's hash as it stands, and
//  the group's long-lived keys a write may have made.
typedef struct {
    scoring_kv_t *kv;
    const scoring_count_config_t *cfg;
    const scoring_tally_event_t *ev;
    const scoring_keys_t *k;
    size_t fields;          //  the member hash's SCORING_FIELDS (scoring_kv_fields)
    bool touched;           //  the member hash's expiry moves on
    bool fresh [6];         //  roster uids state board channels replies: EXPIRE NX
} s_ctx_t;

enum { S_ROSTER, S_UIDS, S_STATE, S_BOARD, S_CHANNELS, S_REPLIES };

static const char *s_group_key (const scoring_keys_t *k, int i)
{
    const char *keys [] = { k->roster, k->uids, k->state, k->board, k->channels, k->replies };
    return keys [i];
}

static double s_num (const char *v)
{
    return v ? strtod (v, NULL) : 0;
}

//  A member hash field (SCORING_F_*) as it stands.
static const char *s_cur (s_ctx_t *c, int f)
{
    return scoring_kv_get_at (c->kv, scoring_kv_field (c->kv, c->fields, (size_t) f));
}

//  Set a member field to a number, as Lua's tostring writes it.
static void s_put (s_ctx_t *c, int f, double v)
{
    char s [32];
    scoring_fmt_num (s, v);
    scoring_kv_hset_at (c->kv, scoring_kv_field (c->kv, c->fields, (size_t) f), s);
}

static void s_put_str (s_ctx_t *c, int f, const char *v)
{
    scoring_kv_hset_at (c->kv, scoring_kv_field (c->kv, c->fields, (size_t) f), v);
}

static bool s_is (const char *v, const char *want)
{
    return v && strcmp (v, want) == 0;
}

//  Add one to a field of a group's long-lived hash (a write that may make it).
static void s_group_incr (s_ctx_t *c, int key, const char *field)
{
    scoring_kv_hincr (c->kv, s_group_key (c->k, key), field, 1);
    c->fresh [key] = true;
}

static void s_channel_incr (s_ctx_t *c, const char *channel, const char *what, int32_t day)
{
    char f [96], d [24] = "";
    if (day >= 0) {
        d [0] = ':';
        qy_fmt_i64 (d + 1, day);
    }
    qy_cat (f, sizeof (f), channel, ":", what);
    size_t n = strlen (f);
    qy_cat (f + n, sizeof (f) - n, d, "", "");
    s_group_incr (c, S_CHANNELS, f);
}

//  Early leaves of a join cohort (channel ch, join day jd), by how long the member stayed.
static void s_cohort (s_ctx_t *c, const char *ch, int32_t jd, double stayed)
{
    if (stayed < 7 * S_DAY_S)
        s_channel_incr (c, ch, "l7", jd);
    if (stayed < 30 * S_DAY_S)
        s_channel_incr (c, ch, "l30", jd);
}

//  First seen (or seen on an earlier day than known): the roster and the
//  user id → member map.
static void s_first (s_ctx_t *c)
{
    const char *first = s_cur (c, SCORING_F_first);
    if (first && s_num (first) <= c->ev->day)
        return;
    if (!first)
        c->touched = true;
    s_put (c, SCORING_F_first, c->ev->day);
    scoring_kv_sadd (c->kv, c->k->roster, c->ev->member);
    c->fresh [S_ROSTER] = true;
    if (*c->ev->user) {
        scoring_kv_hset (c->kv, c->k->uids, c->ev->user, c->ev->member);
        c->fresh [S_UIDS] = true;
    }
}

//  Joins and leaves of a member may arrive out of order (replicas, retries):
//  only the latest join sets jd/jt/ch, a join puts the member in only when
//  later than the last leave (lv), and a leave takes them out only when
//  at or after the latest join. A leave no join was known for (lu = 1)
//  is matched to the join that arrives late, for the cohort's retention.
static void s_join (s_ctx_t *c)
{
    const scoring_tally_event_t *ev = c->ev;
    const char *ch = ev->channel;
    c->touched = true;
    scoring_kv_hincr (c->kv, c->k->group, "joins", 1);
    s_put (c, SCORING_F_jn, s_num (s_cur (c, SCORING_F_jn)) + 1);
    s_channel_incr (c, ch, "joins", -1);
    s_channel_incr (c, ch, "j", ev->day);
    const char *jt = s_cur (c, SCORING_F_jt);
    if (!jt || ev->t >= s_num (jt)) {
        s_put (c, SCORING_F_jd, ev->day);
        s_put (c, SCORING_F_jt, (double) ev->t);
        s_put_str (c, SCORING_F_ch, ch);
        const char *lv = s_cur (c, SCORING_F_lv);
        if (!lv || ev->t > s_num (lv)) {
            s_put (c, SCORING_F_in, 1);
            if (s_is (s_cur (c, SCORING_F_lu), "1"))
                s_put (c, SCORING_F_lu, 0);
        } else if (s_is (s_cur (c, SCORING_F_lu), "1")) {
            s_cohort (c, ch, ev->day, s_num (lv) - (double) ev->t);
            s_put (c, SCORING_F_lu, 0);
        }
    }
    if (!s_cur (c, SCORING_F_mch)) {
        s_put_str (c, SCORING_F_mch, ch);
        s_channel_incr (c, ch, "mem", -1);
        if (s_num (s_cur (c, SCORING_F_msgs)) > 0)
            s_channel_incr (c, ch, "act", -1);
        if (s_num (s_cur (c, SCORING_F_viol)) > 0)
            s_channel_incr (c, ch, "vm", -1);
    }
}

static void s_leave (s_ctx_t *c)
{
    double t = (double) c->ev->t;
    c->touched = true;
    scoring_kv_hincr (c->kv, c->k->group, "leaves", 1);
    const char *lv = s_cur (c, SCORING_F_lv), *jt = s_cur (c, SCORING_F_jt);
    if (!lv || t > s_num (lv))
        s_put (c, SCORING_F_lv, t);
    if (jt && t < s_num (jt))
        return;
    const char *in = s_cur (c, SCORING_F_in), *ch = s_cur (c, SCORING_F_ch);
    if (s_is (in, "1") && jt && ch) {
        char chan [32];
        qy_strlcpy (chan, ch, sizeof (chan));
        s_cohort (c, chan, (int32_t) s_num (s_cur (c, SCORING_F_jd)), t - s_num (jt));
    } else if (!s_is (in, "0") || !jt)
        s_put (c, SCORING_F_lu, 1);
    s_put (c, SCORING_F_in, 0);
}

//  The member's own message counters: days, streak, last, decay.
static void s_member_msg (s_ctx_t *c, int64_t mm)
{
    const scoring_tally_event_t *ev = c->ev;
    const char *lastv = s_cur (c, SCORING_F_last);
    double last = lastv ? s_num (lastv) : -1, t = (double) ev->t;
    if (mm == 1) {
        c->touched = true;
        s_put (c, SCORING_F_days, s_num (s_cur (c, SCORING_F_days)) + 1);
        if (ev->day > last)
            s_put (c, SCORING_F_streak, last == ev->day - 1 ? s_num (s_cur (c, SCORING_F_streak)) + 1 : 1);
    }
    if (ev->day > last)
        s_put (c, SCORING_F_last, ev->day);
    if (t > s_num (s_cur (c, SCORING_F_lt)))
        s_put (c, SCORING_F_lt, t);
    double msgs = s_num (s_cur (c, SCORING_F_msgs)) + 1;
    s_put (c, SCORING_F_msgs, msgs);
    const char *mch = s_cur (c, SCORING_F_mch);
    if (msgs == 1 && mch) {
        char chan [32];
        qy_strlcpy (chan, mch, sizeof (chan));
        s_channel_incr (c, chan, "act", -1);
    }
    //  Decay: a count halves every half-life; an event older than the
    //  last adds its own decayed weight, so the order of arrival does not matter.
    const char *atv = s_cur (c, SCORING_F_at);
    double at = atv ? s_num (atv) : t, as = s_num (s_cur (c, SCORING_F_as)), al = s_num (s_cur (c, SCORING_F_al));
    //  The half-lives in whole seconds, as the script took them.
    double hs = nearbyint (c->cfg->half_short_s), hl = nearbyint (c->cfg->half_long_s);
    if (t >= at) {
        as = as * pow (2, -(t - at) / hs) + 1;
        al = al * pow (2, -(t - at) / hl) + 1;
        at = t;
    } else {
        as = as + pow (2, -(at - t) / hs);
        al = al + pow (2, -(at - t) / hl);
    }
    s_put (c, SCORING_F_as, as);
    s_put (c, SCORING_F_al, al);
    s_put (c, SCORING_F_at, at);
    if (ev->substantial)
        s_put (c, SCORING_F_subs, s_num (s_cur (c, SCORING_F_subs)) + 1);
}

//  A reply edge from the event's member to member a.
static void s_edge (s_ctx_t *c, const char *a, const char *field)
{
    char f [96];
    scoring_kv_hincr (c->kv, c->k->group, "replies", 1);
    qy_cat (f, sizeof (f), field, a, "");
    s_group_incr (c, S_REPLIES, f);
    scoring_kv_zincr (c->kv, c->k->board, a, 1);
    c->fresh [S_BOARD] = true;
}

//  Reply edges: a quote, a mention, or else an answer to the previous
//  speaker (lm, lt) within the window.
static void s_replies (s_ctx_t *c, const char *lm, double lt)
{
    const scoring_tally_event_t *ev = c->ev;
    bool replied = false;
    char a [32];
    if (*ev->ref) {
        const char *who = scoring_kv_get (c->kv, c->k->authors, ev->ref);
        if (!who)
            who = scoring_kv_get (c->kv, c->k->authors_prev, ev->ref);
        if (who && strcmp (who, ev->member) != 0) {
            qy_strlcpy (a, who, sizeof (a));
            s_edge (c, a, "r:");
            replied = true;
        }
    }
    for (size_t i = 0; i < ev->nmentions; i++) {
        const char *who = scoring_kv_get (c->kv, c->k->uids, ev->mentions [i]);
        if (who && strcmp (who, ev->member) != 0) {
            qy_strlcpy (a, who, sizeof (a));
            s_edge (c, a, "n:");
            replied = true;
        }
    }
    double t = (double) ev->t;
    if (!replied && lm && strcmp (lm, ev->member) != 0 && t >= lt && t - lt <= c->cfg->reply_window_s)
        s_edge (c, lm, "r:");
}

//  The group's state hash: bot posts and responses, answers to the open
//  question, the last speaker and question.
static void s_group_msg (s_ctx_t *c)
{
    const scoring_tally_event_t *ev = c->ev;
    scoring_kv_t *kv = c->kv;
    const char *st = c->k->state;
    char lm [32] = "", qm [32] = "", tstr [24];
    const char *v = scoring_kv_get (kv, st, "lm"), *pt = scoring_kv_get (kv, st, "pt");
    if (v)
        qy_strlcpy (lm, v, sizeof (lm));
    double t = (double) ev->t, lt = s_num (scoring_kv_get (kv, st, "lt"));
    qy_fmt_i64 (tstr, ev->t);
    if (ev->bot) {
        scoring_kv_hincr (kv, c->k->group, "posts", 1);
        scoring_kv_hset (kv, st, "pt", tstr);
    } else if (!ev->staff && pt && t >= s_num (pt) && t - s_num (pt) <= c->cfg->post_window_s)
        scoring_kv_hincr (kv, c->k->group, "resp", 1);
    s_replies (c, *lm ? lm : NULL, lt);
    if ((v = scoring_kv_get (kv, st, "qm")))
        qy_strlcpy (qm, v, sizeof (qm));
    double qt = s_num (scoring_kv_get (kv, st, "qt"));
    if (*qm && strcmp (qm, ev->member) != 0 && t >= qt && t - qt <= c->cfg->reply_window_s) {
        s_put (c, SCORING_F_ans, s_num (s_cur (c, SCORING_F_ans)) + 1);
        scoring_kv_hincr (kv, c->k->group, "ans", 1);
        scoring_kv_hset (kv, st, "qm", NULL);
    }
    if (ev->question) {
        scoring_kv_hincr (kv, c->k->group, "q", 1);
        scoring_kv_hset (kv, st, "qm", ev->member);
        scoring_kv_hset (kv, st, "qt", tstr);
    }
    if (t >= lt) {
        scoring_kv_hset (kv, st, "lm", ev->member);
        scoring_kv_hset (kv, st, "lt", tstr);
    }
    //  No last speaker: the state hash is new (or the evaluation's, which has its expiry).
    if (!*lm)
        c->fresh [S_STATE] = true;
}

static void s_msg (s_ctx_t *c)
{
    const scoring_tally_event_t *ev = c->ev;
    const scoring_keys_t *k = c->k;
    if (!s_cur (c, SCORING_F_in))
        s_put (c, SCORING_F_in, 1);
    int64_t mm = scoring_kv_hincr (c->kv, k->members, ev->member, 1);
    int64_t gm = scoring_kv_hincr (c->kv, k->group, "msgs", 1);
    if (scoring_hour_field (ev->hour))
        scoring_kv_hincr (c->kv, k->group, scoring_hour_field (ev->hour), 1);
    scoring_kv_hset (c->kv, k->authors, ev->msg_id, ev->member);
    if (gm == 1) {
        scoring_kv_expire (c->kv, k->members, c->cfg->ttl_s, false);
        scoring_kv_expire (c->kv, k->authors, 3 * S_DAY_S, false);
    }
    s_member_msg (c, mm);
    if (ev->staff)
        scoring_kv_hincr (c->kv, k->group, "staff", 1);
    s_group_msg (c);
}

static void s_violation (s_ctx_t *c)
{
    scoring_kv_hincr (c->kv, c->k->group, "viol", 1);
    double v = s_num (s_cur (c, SCORING_F_viol)) + 1;
    s_put (c, SCORING_F_viol, v);
    //  A violation that arrives late does not move the last one back.
    const char *vd = s_cur (c, SCORING_F_vd);
    if (!vd || c->ev->day > s_num (vd))
        s_put (c, SCORING_F_vd, c->ev->day);
    const char *mch = s_cur (c, SCORING_F_mch);
    if (mch) {
        char chan [32];
        qy_strlcpy (chan, mch, sizeof (chan));
        s_channel_incr (c, chan, "viol", -1);
        if (v == 1)
            s_channel_incr (c, chan, "vm", -1);
    }
}

//  Count one new event (its id just marked).
static void s_count (s_ctx_t *c)
{
    const scoring_tally_event_t *ev = c->ev;
    const scoring_keys_t *k = c->k;
    long ttl = c->cfg->ttl_s, mttl = c->cfg->member_ttl_s;
    bool first_of_day = scoring_kv_hincr (c->kv, k->group, "n", 1) == 1;
    c->touched = first_of_day;
    s_first (c);
    if (ev->staff && !s_is (s_cur (c, SCORING_F_staff), "1"))
        s_put (c, SCORING_F_staff, 1);
    if (ev->kind == SCORING_JOIN)
        s_join (c);
    else if (ev->kind == SCORING_LEAVE)
        s_leave (c);
    else if (ev->kind == SCORING_MSG)
        s_msg (c);
    if (ev->violation)
        s_violation (c);
    //  What lives while the member or group is active (members.ttl_days) has
    //  its expiry moved on at most every renew_days, to members.ttl_days +
    //  renew_days, so it lives at least members.ttl_days after the last
    //  event: at 100,000 groups, where a group-day carries about two events,
    //  moving it every day cost 3.6 EXPIREs per event (docs/benchmarks.md).
    //  Renewed daily (renew_days 0 or 1: scoring_renew_due clamps it), a key
    //  needs no days beyond members.ttl_days.
    int every = c->cfg->renew_days;
    long lasting = mttl + (long) (every > 1 ? every : 0) * S_DAY_S;
    //  A member's hash lives on while they are active: its expiry moves on
    //  with their first message of a day, a join or a leave (its xd: the
    //  day it last moved; a new hash has none, so gets its expiry).
    if (c->touched && scoring_renew_due (s_cur (c, SCORING_F_xd), ev->day, every)) {
        s_put (c, SCORING_F_xd, ev->day);
        scoring_kv_expire (c->kv, k->member, lasting, false);
    }
    if (first_of_day) {
        scoring_kv_expire (c->kv, k->ids, ttl, false);
        scoring_kv_expire (c->kv, k->group, ttl, false);
    }
    //  Keys of the group as a whole live while the group has events: their
    //  expiry moves on with the first event of a day (the state hash's xd).
    //  A key a write may have made meanwhile gets members.ttl_days (EXPIRE NX).
    bool renew = first_of_day && scoring_renew_due (scoring_kv_get (c->kv, k->state, "xd"), ev->day, every);
    if (renew) {
        char day [24];
        qy_fmt_i64 (day, ev->day);
        scoring_kv_hset (c->kv, k->state, "xd", day);
    }
    for (int i = 0; i < 6; i++)
        if (renew)
            scoring_kv_expire (c->kv, s_group_key (k, i), lasting, false);
        else if (c->fresh [i])
            scoring_kv_expire (c->kv, s_group_key (k, i), mttl, true);
}

bool scoring_renew_due (const char *xd, int32_t day, int every)
{
    char *end;
    long long last = xd ? strtoll (xd, &end, 10) : 0;
    if (!xd || end == xd || *end)
        return true;
    return day - last >= (every > 1 ? every : 1);
}

//  The event's standing as the script answered it: the member's fields,
//  the member's and group's messages today, the day's active members, the
//  group state.
static void s_answer (s_ctx_t *c, scoring_tally_answer_t *a)
{
    const scoring_keys_t *k = c->k;
    a->member_msgs = (int64_t) s_num (scoring_kv_get (c->kv, k->members, c->ev->member));
    a->group_msgs = (int64_t) s_num (scoring_kv_get (c->kv, k->group, "msgs"));
    a->active = scoring_kv_len (c->kv, k->members);
    //  The values live as long as kv, whatever later events write.
    const char *gst = scoring_kv_get (c->kv, k->state, "state");
    a->group_state = gst ? gst : "";
    for (int f = 0; f < SCORING_F__COUNT; f++)
        a->values [f] = s_cur (c, f);
}

//  Whether a key the event reads answered its read with an error (a key
//  of the wrong type): the event is set aside.
static bool s_broken (scoring_kv_t *kv, const scoring_keys_t *k)
{
    if (!scoring_kv_any_broken (kv))
        return false;
    const char *keys [] = { k->ids, k->group, k->members, k->authors, k->authors_prev, k->member, k->uids, k->state };
    for (size_t i = 0; i < QY_ARRAY_LEN (keys); i++)
        if (scoring_kv_broken (kv, keys [i]))
            return true;
    return false;
}

void scoring_count_tally (const scoring_count_config_t *cfg, scoring_kv_t *kv, const scoring_tally_event_t *evs,
                          size_t n, scoring_tally_answer_t *answers)
{
    for (size_t i = 0; i < n; i++) {
        s_ctx_t c = { .kv = kv, .cfg = cfg, .ev = &evs [i], .k = evs [i].keys };
        c.fields = scoring_kv_fields (kv, c.k->member, scoring_field_names, SCORING_F__COUNT);
        scoring_tally_answer_t *a = &answers [i];
        memset (a, 0, sizeof (*a));
        scoring_kv_event (kv, i);
        if (s_broken (kv, c.k))
            a->outcome = SCORING_REJECTED;
        else if (evs [i].old)
            a->outcome = SCORING_TOO_OLD;
        else if (!scoring_kv_sadd (kv, c.k->ids, evs [i].msg_id))
            a->outcome = SCORING_SEEN;
        else {
            a->outcome = SCORING_COUNTED;
            s_count (&c);
        }
        if (a->outcome != SCORING_REJECTED)
            s_answer (&c, a);
    }
}
