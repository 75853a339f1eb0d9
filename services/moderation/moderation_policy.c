//  The pure half of moderation: policies, levels and penalties. No I/O.
#include "moderation.h"
#include "qy/util.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void moderation_policy_default (moderation_policy_t *p)
{
    memset (p, 0, sizeof (*p));
    p->thresholds = judge_thresholds_default ();
    p->ladder = judge_ladder_default ();
    p->exempt_staff = true;
    p->strike_days = 90;
}

int moderation_policy_apply_json (moderation_policy_t *p, const char *json, char *err, size_t errlen)
{
    if (!json || !*json)
        return 0;
    json_error_t jerr;
    json_t *root = json_loads (json, 0, &jerr);
    if (!root || !json_is_object (root)) {
        qy_snprintf (err, errlen, "settings: not a JSON object (%s)", root ? "wrong type" : jerr.text);
        json_decref (root);
        return -1;
    }
    json_t *m = json_object_get (root, "moderation");
    if (!m)
        m = root;
    int rc = 0;
    struct { const char *key; double *field; } nums [] = {
        { "review", &p->thresholds.review }, { "recall", &p->thresholds.recall },
        { "mute", &p->thresholds.mute },     { "remove", &p->thresholds.remove },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (nums); i++) {
        json_t *v = json_object_get (m, nums [i].key);
        if (v && json_is_number (v))
            *nums [i].field = json_number_value (v);
        else
        if (v) {
            qy_snprintf (err, errlen, "settings: %s must be a number", nums [i].key);
            rc = -1;
        }
    }
    if (!(p->thresholds.review <= p->thresholds.recall && p->thresholds.recall <= p->thresholds.mute
          && p->thresholds.mute <= p->thresholds.remove) && rc == 0) {
        qy_snprintf (err, errlen, "settings: thresholds must rise review <= recall <= mute <= remove");
        rc = -1;
    }
    json_t *ladder = json_object_get (m, "ladder");
    if (ladder && (!json_is_string (ladder) || judge_ladder_parse (json_string_value (ladder), &p->ladder))) {
        qy_snprintf (err, errlen, "settings: bad ladder (expected \"warn,mute:1440,…,remove\")");
        rc = -1;
    }
    json_t *ex = json_object_get (m, "exempt_staff");
    if (ex && json_is_boolean (ex))
        p->exempt_staff = json_is_true (ex);
    json_t *sd = json_object_get (m, "strike_days");
    if (sd && json_is_integer (sd) && json_integer_value (sd) > 0)
        p->strike_days = (int) json_integer_value (sd);
    json_decref (root);
    return rc;
}

int moderation_policy_flood_rule (moderation_policy_t *p, const judge_rule_row_t *row, char *err, size_t errlen)
{
    int max = 0, window = 0;
    char tail;
    if (sscanf (row->pattern, "%d/%d%c", &max, &window, &tail) != 2 || max < 1 || window < 1 || window > 86400) {
        qy_snprintf (err, errlen, "rule %s: flood pattern must be MAX/SECONDS, got '%s'", row->name, row->pattern);
        return -1;
    }
    qy_strlcpy (p->flood_rule, row->name, sizeof (p->flood_rule));
    p->flood_max = max;
    p->flood_window_s = window;
    p->flood_weight = row->weight;
    p->flood_dry_run = row->dry_run;
    return 0;
}

judge_action_t moderation_level (const moderation_policy_t *p, double judge_total,
                                 long flood_count, double *total_out)
{
    double total = judge_total;
    if (p->flood_rule [0] && !p->flood_dry_run && flood_count > p->flood_max)
        total += p->flood_weight;
    if (total_out)
        *total_out = total;
    return judge_decide (&p->thresholds, total);
}

moderation_penalty_t moderation_penalty (const moderation_policy_t *p, judge_action_t level, int prior_strikes)
{
    moderation_penalty_t pen = { QY__ACTION__ALLOW, false, false, 0 };
    if (level == JUDGE_ALLOW)
        return pen;
    if (level == JUDGE_REVIEW) {
        pen.action = QY__ACTION__REVIEW;
        return pen;
    }
    pen.recall = true;
    pen.strike = true;
    judge_ladder_step_t step = judge_ladder_step (&p->ladder, prior_strikes);
    if (level == JUDGE_REMOVE)
        step.kind = JUDGE_STEP_REMOVE_BLOCK;
    else
    if (level == JUDGE_MUTE && step.kind == JUDGE_STEP_WARN) {
        //  Serious enough to mute at once: the ladder's first mute.
        step.kind = JUDGE_STEP_MUTE;
        step.minutes = 1440;
        for (size_t i = 0; i < p->ladder.nsteps; i++)
            if (p->ladder.steps [i].kind == JUDGE_STEP_MUTE) {
                step.minutes = p->ladder.steps [i].minutes;
                break;
            }
    }
    switch (step.kind) {
        case JUDGE_STEP_WARN:
            pen.action = QY__ACTION__WARN;
            break;
        case JUDGE_STEP_MUTE:
            pen.action = QY__ACTION__MUTE;
            pen.mute_minutes = step.minutes;
            break;
        case JUDGE_STEP_REMOVE_BLOCK:
            pen.action = QY__ACTION__BLOCK;
            break;
    }
    return pen;
}

//  What the member did, as a verb phrase for the notices.
static const char *s_deed (const char *category)
{
    static const struct { const char *en, *cn; } names [] = {
        { "ad", "发布广告" }, { "fraud", "发布诈骗信息" }, { "gambling", "发布赌博信息" }, { "porn", "发布色情内容" },
        { "abuse", "发表辱骂或歧视言论" }, { "flood", "刷屏" }, { "spam_wave", "群发垃圾信息" }, { "format", "违反群规" },
    };
    for (size_t i = 0; category && i < QY_ARRAY_LEN (names); i++)
        if (strcmp (names [i].en, category) == 0)
            return names [i].cn;
    return "违反群规";
}

static void s_when (int64_t until_us, int tz_offset_min, char *buf, size_t len)
{
    time_t t = (time_t) (until_us / 1000000 + (int64_t) tz_offset_min * 60);
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (buf, len, "%m月%d日 %H:%M", &tm);
}

char *moderation_notice (const moderation_penalty_t *pen, const char *nickname,
                         const char *category, int strike, int64_t until_us, int tz_offset_min)
{
    const char *who = nickname && *nickname ? nickname : "群成员";
    const char *deed = s_deed (category);
    if (pen->action == QY__ACTION__WARN)
        return qy_printf ("@%s 本群禁止%s，消息已撤回。这是第%d次提醒，再犯将被禁言。", who, deed, strike);
    if (pen->action == QY__ACTION__MUTE) {
        char when [32];
        s_when (until_us, tz_offset_min, when, sizeof (when));
        return qy_printf ("@%s 因%s（第%d次违规），禁言至%s，期间发言将被自动撤回。", who, deed, strike, when);
    }
    if (pen->action == QY__ACTION__BLOCK)
        return qy_printf ("%s 因多次%s，已被移出本群，并禁止加入本品牌的所有群。", who, deed);
    return qy_strdup ("");
}

char *moderation_mute_reminder (const char *nickname, int64_t until_us, int tz_offset_min)
{
    char when [32];
    s_when (until_us, tz_offset_min, when, sizeof (when));
    return qy_printf ("@%s 您正在禁言中（至%s），期间发言会被自动撤回。", nickname && *nickname ? nickname : "群成员", when);
}
