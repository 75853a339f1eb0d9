//  Guards: what keeps an SOP from killing the groups it runs in. They are
//  checked when a job falls due, in a fixed order, and the first that
//  objects is recorded on the job, so an operator can see why a step did
//  not go out ("new_group", "promo_per_day" …).
#include "campaign_def.h"
#include "qy/util.h"
#include <string.h>

void campaign_guards_default (campaign_guards_t *g)
{
    g->promo_quiet_days = 3;
    g->promo_per_day = 2;
    g->quiet_start = 22 * 60;
    g->quiet_end = 8 * 60;
    g->at_all_per_day = 1;
    g->member_per_week = 2;
}

int campaign_guards_apply (campaign_guards_t *g, json_t *obj, char *err, size_t errlen)
{
    if (!json_is_object (obj)) {
        qy_snprintf (err, errlen, "guards: must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        int *field = NULL, max = 1000;
        if (strcmp (key, "promo_quiet_days") == 0)
            field = &g->promo_quiet_days, max = 365;
        else if (strcmp (key, "promo_per_day") == 0)
            field = &g->promo_per_day;
        else if (strcmp (key, "at_all_per_day") == 0)
            field = &g->at_all_per_day;
        else if (strcmp (key, "member_per_week") == 0)
            field = &g->member_per_week;
        else if (strcmp (key, "quiet_start") == 0 || strcmp (key, "quiet_end") == 0) {
            int m = json_is_string (v) ? campaign_parse_hhmm (json_string_value (v)) : -1;
            if (m < 0) {
                qy_snprintf (err, errlen, "guards.%s: must be a time of day (HH:MM)", key);
                return -1;
            }
            *(key [6] == 's' ? &g->quiet_start : &g->quiet_end) = m;
            continue;
        }
        else if (strcmp (key, "optout_keywords") == 0)
            continue;       //  brand-wide, read by the store
        else {
            qy_snprintf (err, errlen, "guards: unknown key \"%s\"", key);
            return -1;
        }
        if (!json_is_integer (v) || json_integer_value (v) < 0 || json_integer_value (v) > max) {
            qy_snprintf (err, errlen, "guards.%s: must be a whole number from 0 to %d", key, max);
            return -1;
        }
        *field = (int) json_integer_value (v);
    }
    return 0;
}

bool campaign_quiet (const campaign_guards_t *g, int minute)
{
    if (g->quiet_start == g->quiet_end)
        return false;       //  no quiet hours
    if (g->quiet_start < g->quiet_end)
        return minute >= g->quiet_start && minute < g->quiet_end;
    return minute >= g->quiet_start || minute < g->quiet_end;      //  across midnight
}

campaign_verdict_t campaign_guard_check (const campaign_guards_t *g, const campaign_guard_in_t *in,
                                         const char **guard, int *defer_min)
{
    *guard = NULL;
    *defer_min = 0;
    if (in->has_subject && in->opted_out) {
        *guard = "opt_out";
        return CAMPAIGN_BLOCK;
    }
    if (in->has_subject && !in->reply && in->subject_week >= g->member_per_week) {
        *guard = "member_per_week";
        return CAMPAIGN_BLOCK;
    }
    if (in->promotional && in->group_age_days < g->promo_quiet_days) {
        *guard = "new_group";
        return CAMPAIGN_BLOCK;
    }
    if (in->promotional && in->promos_today >= g->promo_per_day) {
        *guard = "promo_per_day";
        return CAMPAIGN_BLOCK;
    }
    if (in->at_all && in->at_all_today >= g->at_all_per_day) {
        *guard = "at_all_per_day";
        return CAMPAIGN_BLOCK;
    }
    //  Answers to members who just wrote are not proactive: quiet hours
    //  hold back only what the brand starts itself.
    if (!in->reply && campaign_quiet (g, in->minute_of_day)) {
        *guard = "quiet_hours";
        *defer_min = (g->quiet_end - in->minute_of_day + 1440) % 1440;
        return CAMPAIGN_DEFER;
    }
    return CAMPAIGN_PASS;
}

int campaign_best_hour (const int64_t hist [24], const campaign_guards_t *g, int fallback_hour)
{
    int best = -1;
    int64_t most = 0;
    for (int h = 0; hist && h < 24; h++) {
        //  An hour is allowed when it starts outside the quiet hours.
        if (campaign_quiet (g, h * 60))
            continue;
        if (hist [h] > most) {
            most = hist [h];
            best = h;
        }
    }
    return best >= 0 ? best : fallback_hour;
}
