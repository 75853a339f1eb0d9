/*  =========================================================================
    judge_decide.c - pure decisions: a total score to an action through a
    brand's thresholds, and a member's strike count to a penalty-ladder
    step. Counting strikes (Redis / PostgreSQL) is the service's job.
    =========================================================================
*/
#include <ctype.h>

#include "judge.h"
#include "judge_util.h"

judge_thresholds_t
judge_thresholds_default (void)
{
    //  One strong signal (a WeChat ID, a confident classifier) reaches
    //  recall on its own; review needs half of that, so a lone weak cue
    //  (a contact phrase) only ever goes to a person. Muting and removal
    //  need several independent signals.
    judge_thresholds_t t = { 0.5, 1.0, 2.0, 3.0 };
    return t;
}

judge_action_t
judge_decide (const judge_thresholds_t *t, double total)
{
    if (total >= t->remove)
        return JUDGE_REMOVE;
    if (total >= t->mute)
        return JUDGE_MUTE;
    if (total >= t->recall)
        return JUDGE_RECALL;
    if (total >= t->review)
        return JUDGE_REVIEW;
    return JUDGE_ALLOW;
}

const char *
judge_action_name (judge_action_t action)
{
    switch (action) {
        case JUDGE_ALLOW:  return "allow";
        case JUDGE_REVIEW: return "review";
        case JUDGE_RECALL: return "recall";
        case JUDGE_MUTE:   return "mute";
        case JUDGE_REMOVE: return "remove";
    }
    return "unknown";
}

judge_ladder_t
judge_ladder_default (void)
{
    //  The platform convention: warn, then mute 1, 7, 15 days, then remove
    //  and block in all the brand's groups.
    judge_ladder_t l;
    memset (&l, 0, sizeof (l));
    l.steps [0] = (judge_ladder_step_t) { JUDGE_STEP_WARN, 0 };
    l.steps [1] = (judge_ladder_step_t) { JUDGE_STEP_MUTE, 1 * 24 * 60 };
    l.steps [2] = (judge_ladder_step_t) { JUDGE_STEP_MUTE, 7 * 24 * 60 };
    l.steps [3] = (judge_ladder_step_t) { JUDGE_STEP_MUTE, 15 * 24 * 60 };
    l.steps [4] = (judge_ladder_step_t) { JUDGE_STEP_REMOVE_BLOCK, 0 };
    l.nsteps = 5;
    return l;
}

judge_ladder_step_t
judge_ladder_step (const judge_ladder_t *ladder, int prior_strikes)
{
    if (!ladder || ladder->nsteps == 0) {
        judge_ladder_step_t warn = { JUDGE_STEP_WARN, 0 };
        return warn;
    }
    if (prior_strikes < 0)
        prior_strikes = 0;
    size_t at = (size_t) prior_strikes;
    if (at >= ladder->nsteps)
        at = ladder->nsteps - 1;
    return ladder->steps [at];
}

const char *
judge_step_name (judge_step_kind_t kind)
{
    switch (kind) {
        case JUDGE_STEP_WARN:         return "warn";
        case JUDGE_STEP_MUTE:         return "mute";
        case JUDGE_STEP_REMOVE_BLOCK: return "remove";
    }
    return "unknown";
}

int
judge_ladder_parse (const char *text, judge_ladder_t *out)
{
    judge_ladder_t l;
    memset (&l, 0, sizeof (l));
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (l.nsteps == JUDGE_LADDER_MAX)
            return -1;
        judge_ladder_step_t *step = l.steps + l.nsteps;
        if (strncmp (p, "warn", 4) == 0) {
            step->kind = JUDGE_STEP_WARN;
            p += 4;
        }
        else
        if (strncmp (p, "remove", 6) == 0) {
            step->kind = JUDGE_STEP_REMOVE_BLOCK;
            p += 6;
        }
        else
        if (strncmp (p, "mute:", 5) == 0) {
            char *end;
            long minutes = strtol (p + 5, &end, 10);
            if (end == p + 5 || minutes <= 0 || minutes > 366L * 24 * 60)
                return -1;
            step->kind = JUDGE_STEP_MUTE;
            step->minutes = (int) minutes;
            p = end;
        }
        else
            return -1;
        while (*p == ' ')
            p++;
        if (*p && *p != ',')
            return -1;
        l.nsteps++;
    }
    if (l.nsteps == 0)
        return -1;
    *out = l;
    return 0;
}
