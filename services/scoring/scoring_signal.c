//  Which state changes become signals, and their idempotent ids.
#include "scoring.h"
#include "qy/util.h"
#include <string.h>

void scoring_signal_id (char *buf, size_t len, const char *name, int64_t group_id, int64_t member_id, int32_t day)
{
    char d [16];
    qy_day_format (day, d, sizeof (d), true);
    qy_snprintf (buf, len, "sig:%s:%lld:%lld:%s", name, (long long) group_id, (long long) member_id, d);
}

const char *scoring_member_signal (const char *from, const char *to)
{
    if (!to || strcmp (from ? from : "", to) == 0)
        return NULL;
    if (strcmp (to, "lurker") == 0)
        return "member.lurker";
    if (strcmp (to, "key") == 0)
        return "member.key";
    if (strcmp (to, "churn_risk") == 0)
        return "member.churn_risk";
    //  Back from the edge: campaign may stop a win-back sequence.
    if (strcmp (to, "active") == 0 && from && (strcmp (from, "lurker") == 0 || strcmp (from, "churn_risk") == 0))
        return "member.active";
    return NULL;
}

const char *scoring_group_signal (const char *from, const char *to)
{
    if (!to || strcmp (from ? from : "", to) == 0)
        return NULL;
    if (strcmp (to, "declining") == 0)
        return "group.declining";
    if (strcmp (to, "zombie") == 0)
        return "group.zombie";
    if ((strcmp (to, "healthy") == 0 || strcmp (to, "growing") == 0) && from
        && (strcmp (from, "declining") == 0 || strcmp (from, "zombie") == 0))
        return "group.recovered";
    return NULL;
}
