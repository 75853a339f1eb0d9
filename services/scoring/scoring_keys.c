//  What an event counts as, and where its counters live.
#include "scoring.h"
#include "qy/event.h"
#include "qy/util.h"
#include <math.h>
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

size_t scoring_fmt_num (char *buf, double v)
{
    //  Below 1e14 a whole number has at most 14 digits, which "%.14g"
    //  writes as they are; -0 and anything else go through printf.
    if (fabs (v) < 1e14) {
        int64_t i = (int64_t) v;
        if ((double) i == v && !(i == 0 && signbit (v)))
            return qy_fmt_i64 (buf, i);
    }
    qy_snprintf (buf, 32, "%.14g", v);
    return strlen (buf);
}

const char *scoring_hour_field (int hour)
{
    static const char *hours [24] = { "h0",  "h1",  "h2",  "h3",  "h4",  "h5",  "h6",  "h7",
                                      "h8",  "h9",  "h10", "h11", "h12", "h13", "h14", "h15",
                                      "h16", "h17", "h18", "h19", "h20", "h21", "h22", "h23" };
    return hour >= 0 && hour < 24 ? hours [hour] : NULL;
}

void scoring_keys (scoring_keys_t *k, int64_t brand_id, int64_t group_id, int64_t member_id,
                   int64_t t_us, int tz_offset_min)
{
    k->day = qy_day_of (t_us, tz_offset_min);
    k->hour = qy_hour_of (t_us, tz_offset_min);
    //  The group's hash tag and the day formatted once: an event's
    //  eighteen keys are built from them without printf.
    char g [24], m [24], b [24], tag [32], day [24], prev [24], gday [48], tail [64];
    qy_fmt_i64 (g, group_id);
    qy_fmt_i64 (m, member_id);
    qy_fmt_i64 (b, brand_id);
    qy_cat (tag, sizeof (tag), "{g:", g, "}:");
    day [0] = prev [0] = ':';
    qy_fmt_i64 (day + 1, k->day);
    qy_fmt_i64 (prev + 1, (int64_t) k->day - 1);
    qy_cat (gday, sizeof (gday), tag, day + 1, "");
    qy_cat (k->ids, sizeof (k->ids), "sc:ids:", gday, "");
    qy_cat (k->group, sizeof (k->group), "sc:g:", gday, "");
    qy_cat (k->members, sizeof (k->members), "sc:m:", gday, "");
    qy_cat (k->authors, sizeof (k->authors), "sc:w:", gday, "");
    qy_cat (k->authors_prev, sizeof (k->authors_prev), "sc:w:", tag, prev + 1);
    qy_cat (k->member, sizeof (k->member), "sc:u:", tag, m);
    tag [strlen (tag) - 1] = '\0';      //  "{g:N}" alone
    qy_cat (k->roster, sizeof (k->roster), "sc:mem:", tag, "");
    qy_cat (k->uids, sizeof (k->uids), "sc:uid:", tag, "");
    qy_cat (k->state, sizeof (k->state), "sc:gs:", tag, "");
    qy_cat (k->board, sizeof (k->board), "sc:lb:", tag, "");
    qy_cat (k->channels, sizeof (k->channels), "sc:ch:", tag, "");
    qy_cat (k->replies, sizeof (k->replies), "sc:r:", tag, "");
    qy_cat (k->lock, sizeof (k->lock), "sc:lock:", tag, "");
    qy_cat (k->version, sizeof (k->version), "sc:v:", tag, "");
    qy_cat (tail, sizeof (tail), ":", g, day);
    qy_cat (k->dirty, sizeof (k->dirty), b, tail, "");
    qy_cat (k->seen, sizeof (k->seen), b, ":", g);
}
