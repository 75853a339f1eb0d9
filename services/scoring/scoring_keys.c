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

size_t scoring_fmt_i64 (char *buf, int64_t v)
{
    char tmp [24];
    size_t n = 0;
    //  Through the unsigned value, so INT64_MIN has its digits too.
    uint64_t u = v < 0 ? 0 - (uint64_t) v : (uint64_t) v;
    do
        tmp [n++] = (char) ('0' + u % 10);
    while ((u /= 10));
    size_t len = 0;
    if (v < 0)
        buf [len++] = '-';
    while (n)
        buf [len++] = tmp [--n];
    buf [len] = '\0';
    return len;
}

size_t scoring_fmt_num (char *buf, double v)
{
    //  Below 1e14 a whole number has at most 14 digits, which "%.14g"
    //  writes as they are; -0 and anything else go through printf.
    if (fabs (v) < 1e14) {
        int64_t i = (int64_t) v;
        if ((double) i == v && !(i == 0 && signbit (v)))
            return scoring_fmt_i64 (buf, i);
    }
    qy_snprintf (buf, 32, "%.14g", v);
    return strlen (buf);
}

void scoring_cat (char *dst, size_t size, const char *a, const char *b, const char *c)
{
    size_t n = 0;
    for (const char *part [] = { a, b, c }, **p = part; p < part + 3; p++)
        for (const char *s = *p; *s && n + 1 < size; s++)
            dst [n++] = *s;
    dst [n] = '\0';
}

void scoring_keys (scoring_keys_t *k, int64_t brand_id, int64_t group_id, int64_t member_id,
                   int64_t t_us, int tz_offset_min)
{
    k->day = qy_day_of (t_us, tz_offset_min);
    k->hour = qy_hour_of (t_us, tz_offset_min);
    //  The group's hash tag and the day formatted once: an event's
    //  eighteen keys are built from them without printf.
    char g [24], m [24], b [24], tag [32], day [24], prev [24], gday [48], tail [64];
    scoring_fmt_i64 (g, group_id);
    scoring_fmt_i64 (m, member_id);
    scoring_fmt_i64 (b, brand_id);
    scoring_cat (tag, sizeof (tag), "{g:", g, "}:");
    day [0] = prev [0] = ':';
    scoring_fmt_i64 (day + 1, k->day);
    scoring_fmt_i64 (prev + 1, (int64_t) k->day - 1);
    scoring_cat (gday, sizeof (gday), tag, day + 1, "");
    scoring_cat (k->ids, sizeof (k->ids), "sc:ids:", gday, "");
    scoring_cat (k->group, sizeof (k->group), "sc:g:", gday, "");
    scoring_cat (k->active, sizeof (k->active), "sc:a:", gday, "");
    scoring_cat (k->members, sizeof (k->members), "sc:m:", gday, "");
    scoring_cat (k->authors, sizeof (k->authors), "sc:w:", gday, "");
    scoring_cat (k->authors_prev, sizeof (k->authors_prev), "sc:w:", tag, prev + 1);
    scoring_cat (k->edges, sizeof (k->edges), "sc:e:", gday, "");
    scoring_cat (k->member, sizeof (k->member), "sc:u:", tag, m);
    tag [strlen (tag) - 1] = '\0';      //  "{g:N}" alone
    scoring_cat (k->roster, sizeof (k->roster), "sc:mem:", tag, "");
    scoring_cat (k->uids, sizeof (k->uids), "sc:uid:", tag, "");
    scoring_cat (k->state, sizeof (k->state), "sc:gs:", tag, "");
    scoring_cat (k->board, sizeof (k->board), "sc:lb:", tag, "");
    scoring_cat (k->channels, sizeof (k->channels), "sc:ch:", tag, "");
    scoring_cat (k->replies, sizeof (k->replies), "sc:r:", tag, "");
    scoring_cat (k->lock, sizeof (k->lock), "sc:lock:", tag, "");
    scoring_cat (k->version, sizeof (k->version), "sc:v:", tag, "");
    scoring_cat (tail, sizeof (tail), ":", g, day);
    scoring_cat (k->dirty, sizeof (k->dirty), b, tail, "");
    scoring_cat (k->seen, sizeof (k->seen), b, ":", g);
}
