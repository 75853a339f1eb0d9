//  What an event counts as, and where its counters live.
#include "scoring.h"
#include "qy/event.h"
#include "qy/util.h"
#include <string.h>

scoring_kind_t scoring_kind (const Qy__Event *ev)
{
    if (ev->kind == QY__KIND__JOIN)
        return SCORING_JOIN;
    if (ev->kind == QY__KIND__LEAVE)
        return SCORING_LEAVE;
    if (qy_event_is_chat (ev->kind))
        return SCORING_MSG;
    return SCORING_OTHER;
}

bool scoring_is_violation (const Qy__Event *ev)
{
    return ev->verdict && ev->verdict->violation_id > 0 && ev->verdict->action >= QY__ACTION__WARN;
}

bool scoring_is_staff (const Qy__Event *ev)
{
    return qy_role_is_brand (ev->role);
}

//  True when s[0..len) ends with suffix.
static bool s_ends (const char *s, size_t len, const char *suffix)
{
    size_t n = strlen (suffix);
    return len >= n && memcmp (s + len - n, suffix, n) == 0;
}

bool scoring_is_question (const char *text)
{
    if (!text)
        return false;
    size_t len = strlen (text);
    //  Trailing blanks and closing marks say nothing: "好用吗？ " "why? :)" is not handled, "吗~" is.
    static const char *const trail [] = { " ", "\t", "\n", "\r", "~", "～", "!", "！", "。", ".", "…" };
    bool trimmed = true;
    while (trimmed && len) {
        trimmed = false;
        for (size_t i = 0; i < QY_ARRAY_LEN (trail); i++)
            if (s_ends (text, len, trail [i])) {
                len -= strlen (trail [i]);
                trimmed = true;
                break;
            }
    }
    static const char *const marks [] = { "?", "？", "吗", "呢", "么", "嘛" };
    for (size_t i = 0; i < QY_ARRAY_LEN (marks); i++)
        if (s_ends (text, len, marks [i]))
            return true;
    return false;
}

bool scoring_is_substantial (const Qy__Event *ev, int min_chars)
{
    if (ev->kind == QY__KIND__LINK || ev->kind == QY__KIND__FILE || ev->kind == QY__KIND__WEAPP
        || ev->kind == QY__KIND__VIDEO)
        return true;
    if (ev->kind != QY__KIND__TEXT || !ev->text)
        return false;
    int chars = 0;
    for (const unsigned char *p = (const unsigned char *) ev->text; *p; p++)
        if ((*p & 0xC0) != 0x80 && *p > ' ')
            chars++;
    return chars >= min_chars;
}

void scoring_keys (scoring_keys_t *k, int64_t brand_id, int64_t group_id, int64_t member_id,
                   int64_t t_us, int tz_offset_min)
{
    k->day = qy_day_of (t_us, tz_offset_min);
    k->hour = qy_hour_of (t_us, tz_offset_min);
    long long g = (long long) group_id, m = (long long) member_id;
    qy_snprintf (k->ids, sizeof (k->ids), "sc:ids:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->group, sizeof (k->group), "sc:g:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->active, sizeof (k->active), "sc:a:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->members, sizeof (k->members), "sc:m:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->authors, sizeof (k->authors), "sc:w:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->authors_prev, sizeof (k->authors_prev), "sc:w:{g:%lld}:%d", g, k->day - 1);
    qy_snprintf (k->edges, sizeof (k->edges), "sc:e:{g:%lld}:%d", g, k->day);
    qy_snprintf (k->member, sizeof (k->member), "sc:u:{g:%lld}:%lld", g, m);
    qy_snprintf (k->roster, sizeof (k->roster), "sc:mem:{g:%lld}", g);
    qy_snprintf (k->uids, sizeof (k->uids), "sc:uid:{g:%lld}", g);
    qy_snprintf (k->state, sizeof (k->state), "sc:gs:{g:%lld}", g);
    qy_snprintf (k->board, sizeof (k->board), "sc:lb:{g:%lld}", g);
    qy_snprintf (k->channels, sizeof (k->channels), "sc:ch:{g:%lld}", g);
    qy_snprintf (k->replies, sizeof (k->replies), "sc:r:{g:%lld}", g);
    qy_snprintf (k->lock, sizeof (k->lock), "sc:lock:{g:%lld}", g);
    qy_snprintf (k->version, sizeof (k->version), "sc:v:{g:%lld}", g);
    qy_snprintf (k->dirty, sizeof (k->dirty), "%lld:%lld:%d", (long long) brand_id, g, k->day);
    qy_snprintf (k->seen, sizeof (k->seen), "%lld:%lld", (long long) brand_id, g);
}
