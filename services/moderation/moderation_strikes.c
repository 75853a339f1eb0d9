//  moderation_strikes: a batch's violations decided as if they came one at
//  a time (pure): a replay repeats what was recorded, a copy in the batch
//  takes its first's outcome, a member muted or blocked meanwhile is not
//  charged again, and the rest climb the ladders with their history.
#include "moderation.h"
#include "qy/util.h"
#include <string.h>

const char *moderation_action_name (Qy__Action a)
{
    switch (a) {
        case QY__ACTION__REVIEW: return "review";
        case QY__ACTION__WARN:   return "warn";
        case QY__ACTION__RECALL: return "recall";
        case QY__ACTION__MUTE:   return "mute";
        case QY__ACTION__REMOVE: return "remove";
        case QY__ACTION__BLOCK:  return "block";
        default:                 return "allow";
    }
}

Qy__Action moderation_action_parse (const char *s)
{
    static const Qy__Action all [] = { QY__ACTION__REVIEW, QY__ACTION__WARN, QY__ACTION__RECALL,
                                       QY__ACTION__MUTE, QY__ACTION__REMOVE, QY__ACTION__BLOCK };
    for (size_t i = 0; i < QY_ARRAY_LEN (all); i++)
        if (strcmp (s, moderation_action_name (all [i])) == 0)
            return all [i];
    return QY__ACTION__ALLOW;
}

//  The penalty a recorded row stands for, to repeat it on a replay: a
//  strike was recalled; so was a behaviour slow-down (no strike).
moderation_penalty_t moderation_recorded_penalty (const char *action, int strike, const char *kind)
{
    moderation_penalty_t pen = { moderation_action_parse (action), strike > 0, strike > 0, 0, false, NULL };
    pen.behaviour = strcmp (kind, "behaviour") == 0 && strike == 0;
    pen.recall |= pen.behaviour && pen.action == QY__ACTION__MUTE;
    return pen;
}

//  Strikes this batch already gave to other accounts linked to row i's
//  sender (a key in common: the same unionid or phone).
static int s_linked_in_batch (const moderation_violation_t *v, const moderation_record_t *out, size_t i)
{
    char mine [96], theirs [96];
    moderation_link_keys (v [i].ev->unionid, v [i].ev->phone, mine, sizeof (mine));
    int linked = 0;
    for (size_t j = 0; *mine && j < i; j++) {
        if (out [j].existed || out [j].strike <= 0 || v [j].ev->member_id == v [i].ev->member_id
            || v [j].ev->brand_id != v [i].ev->brand_id)
            continue;
        moderation_link_keys (v [j].ev->unionid, v [j].ev->phone, theirs, sizeof (theirs));
        bool common = false;
        char *save = NULL;
        for (char *k = strtok_r (theirs, ",", &save); k && !common; k = strtok_r (NULL, ",", &save))
            common = strstr (mine, k) != NULL;
        linked += common;
    }
    return linked;
}

//  A member's history for the ladders: what PostgreSQL holds (known) and
//  this batch's earlier rows of the same member (an event with no member
//  is nobody's: its strikes never add up).
static void s_history (const moderation_violation_t *v, const moderation_known_t *known, const moderation_record_t *out,
                       size_t i, moderation_history_t *h)
{
    const Qy__Event *ev = v [i].ev;
    *h = known [i].history;
    h->linked_strikes += s_linked_in_batch (v, out, i);
    for (size_t j = i; ev->member_id && j-- > 0 && v [j].ev->brand_id == ev->brand_id
                       && v [j].ev->member_id == ev->member_id;) {
        if (out [j].existed || out [j].superseded)
            continue;
        h->prior_strikes += out [j].strike > 0;
        h->prior_behaviour += out [j].penalty.behaviour;
        h->content_recent |= out [j].strike > 0 && moderation_kind (v [j].category) == MODERATION_CONTENT;
    }
}

//  Row i already recorded (a replay): its outcome, repeated.
static void s_recorded (const moderation_known_t *k, moderation_record_t *o)
{
    o->existed = true;
    o->violation_id = k->id;
    o->strike = k->strike;
    o->penalty = moderation_recorded_penalty (k->action, k->strike, k->kind);
    o->mute_until_us = k->mute_until_us;
    o->would_action = moderation_action_parse (k->would);
    if (o->would_action == QY__ACTION__ALLOW)
        o->would_action = QY__ACTION__ACTION_NONE;
}

//  The same message earlier in the batch: row i is a replay of it.
static bool s_copy_in_batch (const moderation_violation_t *v, moderation_record_t *out, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!out [j].superseded && !out [j].held_blocked && !out [j].held_mute_until_us
            && v [j].ev->brand_id == v [i].ev->brand_id && strcmp (v [j].ev->msg_id, v [i].ev->msg_id) == 0) {
            out [i] = out [j];
            out [i].existed = true;
            out [i].superseded = false;
            return true;
        }
    return false;
}

void moderation_strikes_decide (const moderation_violation_t *v, const moderation_known_t *known, size_t n,
                                int64_t now_us, moderation_record_t *out)
{
    for (size_t i = 0; i < n; i++) {
        const Qy__Event *ev = v [i].ev;
        moderation_record_t *o = &out [i];
        memset (o, 0, sizeof (*o));
        const moderation_record_t *prev = i ? &out [i - 1] : NULL;
        bool same = prev && v [i - 1].ev->brand_id == ev->brand_id && v [i - 1].ev->member_id == ev->member_id;
        //  Once a member is muted or blocked, their later messages in this
        //  batch are recalled, not judged again.
        o->superseded = same && (prev->superseded || prev->penalty.action == QY__ACTION__MUTE
                                 || prev->penalty.action == QY__ACTION__BLOCK);
        if (o->superseded)
            continue;
        if (known [i].recorded) {
            s_recorded (&known [i], o);
            continue;
        }
        if (s_copy_in_batch (v, out, i))
            continue;
        //  One muted or blocked by another replica since this one checked
        //  Redis is not charged again (a nickname notice is no strike).
        if (!v [i].notice && (known [i].held_blocked || known [i].held_mute_until_us)) {
            o->held_mute_until_us = known [i].held_mute_until_us;
            o->held_blocked = known [i].held_blocked;
            continue;
        }
        moderation_history_t hist;
        s_history (v, known, out, i, &hist);
        const moderation_policy_t *pol = v [i].policy;
        moderation_kind_t kind = moderation_kind (v [i].category);
        o->penalty = moderation_ladder (pol, kind, v [i].level, &hist);
        o->penalty.rule = moderation_behaviour_rule (v [i].judged);
        if (v [i].notice)
            o->penalty = (moderation_penalty_t) { QY__ACTION__WARN, false, false, 0, false, NULL };
        //  What the dry-run rules would have done on top, if it is more.
        if (v [i].would_level > v [i].level)
            o->would_action = moderation_ladder (pol, kind, v [i].would_level, &hist).action;
        o->strike = o->penalty.strike ? hist.prior_strikes + 1 : 0;
        if (o->penalty.action == QY__ACTION__MUTE)
            o->mute_until_us = now_us + (int64_t) o->penalty.mute_minutes * 60 * 1000000;
    }
}
