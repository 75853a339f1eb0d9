//  The campaign clock and the brand's calendar. Everything that decides
//  *when* (schedules, due times, quiet hours, "today" for the guards) reads
//  time through here, so tests can move it: a fixed offset, or a clock that
//  runs faster than the wall (an SOP day in a few seconds).
#include "campaign_def.h"
#include "qy/util.h"
#include <stdio.h>
#include <string.h>

int64_t campaign_clock_of (const campaign_clock_t *c, int64_t wall_us)
{
    int64_t t = wall_us + c->offset_us;
    if (c->speed > 1.0 && c->anchor_us)
        t += (int64_t) ((double) (wall_us - c->anchor_us) * (c->speed - 1.0));
    return t;
}

int64_t campaign_clock_now (const campaign_clock_t *c)
{
    return campaign_clock_of (c, qy_now_us ());
}

//  Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int32_t campaign_days_from_civil (int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned) (y - era * 400);
    unsigned doy = (unsigned) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t) (era * 146097 + (int) doe - 719468);
}

void campaign_civil_from_days (int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned) (z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int) yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

int campaign_weekday (int32_t day)
{
    //  1970-01-01 was a Thursday (4).
    int w = (int) ((day % 7 + 7) % 7);
    return (w + 3) % 7 + 1;
}

int campaign_parse_hhmm (const char *s)
{
    int h, m;
    char tail;
    if (!s || strlen (s) != 5 || sscanf (s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    return h * 60 + m;
}

int campaign_parse_date (const char *s, int32_t *day)
{
    int y, m, d;
    char tail;
    if (!s || strlen (s) != 10 || sscanf (s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3
        || y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int32_t z = campaign_days_from_civil (y, m, d);
    int yy, mm, dd;
    campaign_civil_from_days (z, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d)
        return -1;      //  2026-02-30
    *day = z;
    return 0;
}

int64_t campaign_local_us (int32_t day, int minute, int tz_offset_min)
{
    return ((int64_t) day * 1440 + minute - tz_offset_min) * 60 * 1000000;
}

int campaign_minute_of (int64_t t_us, int tz_offset_min)
{
    int64_t m = t_us / 60000000 - (t_us % 60000000 < 0) + tz_offset_min;
    return (int) (((m % 1440) + 1440) % 1440);
}

bool campaign_schedule_on (const campaign_trigger_t *t, int32_t day)
{
    if (t->from_day != CAMPAIGN_NO_DAY && day < t->from_day)
        return false;
    if (t->until_day != CAMPAIGN_NO_DAY && day > t->until_day)
        return false;
    if (t->weekdays & (1 << campaign_weekday (day)))
        return true;
    for (size_t i = 0; i < t->ndates; i++)
        if (t->dates [i] == day)
            return true;
    return t->every_days && (day - t->from_day) % t->every_days == 0;
}
