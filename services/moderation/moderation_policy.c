//  The pure half of moderation: policies, levels and penalties. No I/O.
#include "moderation.h"
#include "qy/util.h"
#include <jansson.h>
#include <math.h>
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
    p->repeat_max = 3;
    p->repeat_window_s = 600;
    p->repeat_weight = 1.0;
    p->min_chars = 6;
    p->wave_groups = 3;
    p->wave_members = 5;
    p->wave_window_s = 600;
    p->wave_weight = 1.0;
    p->wave_stores = 3;
    p->behaviour_reminders = 1;
    p->behaviour_slow_minutes = 10;
    p->behaviour_window_h = 24;
    p->behaviour_link_days = 7;
    p->answer_after_s = 600;
    p->answer_escalate_s = 1800;
    p->answer_from = 9 * 60;
    p->answer_to = 21 * 60;
    p->newcomer_hours = 24;
    p->newcomer_weight = 1.0;
    p->join_wave_joins = 30;
    p->join_wave_window_s = 600;
    p->join_wave_hold_s = 3600;
    p->join_wave_hours = 72;
    p->join_wave_weight = 2.0;
}

//  One numeric field of a settings object: absent keeps the value; present
//  must be a number within [lo, hi].
static int s_num (json_t *obj, const char *key, double lo, double hi, double *out,
                  const char *where, char *err, size_t errlen)
{
    json_t *v = obj ? json_object_get (obj, key) : NULL;
    if (!v)
        return 0;
    if (!json_is_number (v) || json_number_value (v) < lo || json_number_value (v) > hi) {
        qy_snprintf (err, errlen, "settings: %s%s%s must be a number in [%g, %g]", where, *where ? "." : "", key, lo, hi);
        return -1;
    }
    *out = json_number_value (v);
    return 0;
}

static int s_int (json_t *obj, const char *key, int lo, int hi, int *out, const char *where, char *err, size_t errlen)
{
    double d = *out;
    if (s_num (obj, key, lo, hi, &d, where, err, errlen))
        return -1;
    *out = (int) d;
    return 0;
}

//  A settings object (or a section of one) may hold only the keys listed
//  (NULL-terminated): a misspelt key is refused, not silently ignored.
static int s_keys (json_t *obj, const char *const *allowed, const char *where, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        size_t i = 0;
        while (allowed [i] && strcmp (allowed [i], key))
            i++;
        if (!allowed [i]) {
            qy_snprintf (err, errlen, "settings: unknown key %s%s%s", where, *where ? "." : "", key);
            return -1;
        }
    }
    return 0;
}

//  A section ("repeat": {...}): absent is fine, anything but an object (or
//  null where allowed) is refused, and so is a key it does not have.
static int s_section (json_t *m, const char *name, const char *const *allowed, json_t **out, char *err, size_t errlen)
{
    *out = json_object_get (m, name);
    if (!*out)
        return 0;
    if (!json_is_object (*out)) {
        qy_snprintf (err, errlen, "settings: %s must be an object", name);
        *out = NULL;
        return -1;
    }
    return s_keys (*out, allowed, name, err, errlen);
}

//  A boolean field: absent keeps the value, anything but true/false is refused.
static int s_bool (json_t *obj, const char *key, int *out, const char *where, char *err, size_t errlen)
{
    json_t *v = obj ? json_object_get (obj, key) : NULL;
    if (!v)
        return 0;
    if (!json_is_boolean (v)) {
        qy_snprintf (err, errlen, "settings: %s%s%s must be true or false", where, *where ? "." : "", key);
        return -1;
    }
    *out = json_is_true (v);
    return 0;
}

//  "HH:MM" → minutes of the day; -1 if malformed.
static int s_minutes (json_t *v)
{
    int h, m;
    char tail;
    if (!json_is_string (v) || sscanf (json_string_value (v), "%d:%d%c", &h, &m, &tail) != 2
        || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m))
        return -1;
    return h * 60 + m;
}

//  The behaviour ladder's section (reminders, then slow-downs) and the
//  unanswered customers' (how long, in which hours).
static int s_behaviour_ladder (moderation_policy_t *p, json_t *m, char *err, size_t errlen)
{
    static const char *const ladder [] = { "reminders", "slow_minutes", "window_h", "link_days", NULL };
    json_t *o;
    int rc = s_section (m, "behaviour", ladder, &o, err, errlen);
    rc |= s_int (o, "reminders", 0, 100, &p->behaviour_reminders, "behaviour", err, errlen);
    rc |= s_int (o, "slow_minutes", 0, 1440, &p->behaviour_slow_minutes, "behaviour", err, errlen);
    rc |= s_int (o, "window_h", 1, 24 * 90, &p->behaviour_window_h, "behaviour", err, errlen);
    rc |= s_int (o, "link_days", 0, 3650, &p->behaviour_link_days, "behaviour", err, errlen);
    static const char *const answer [] = { "after_s", "escalate_s", "from", "to", NULL };
    rc |= s_section (m, "answer", answer, &o, err, errlen);
    rc |= s_int (o, "after_s", 0, 86400, &p->answer_after_s, "answer", err, errlen);
    rc |= s_int (o, "escalate_s", 0, 86400, &p->answer_escalate_s, "answer", err, errlen);
    json_t *from = o ? json_object_get (o, "from") : NULL, *to = o ? json_object_get (o, "to") : NULL;
    if ((from && s_minutes (from) < 0) || (to && s_minutes (to) < 0)) {
        qy_snprintf (err, errlen, "settings: answer.from and answer.to must be \"HH:MM\"");
        rc = -1;
    }
    else {
        p->answer_from = from ? s_minutes (from) : p->answer_from;
        p->answer_to = to ? s_minutes (to) : p->answer_to;
    }
    return rc ? -1 : 0;
}

//  quiet: {"from", "to", "weight"} as local "HH:MM", or null for none.
static int s_quiet (moderation_policy_t *p, json_t *m, char *err, size_t errlen)
{
    int rc = 0;
    json_t *o = json_object_get (m, "quiet");
    if (o && json_is_null (o))
        p->quiet_from = p->quiet_to = 0;
    else
    if (o && !json_is_object (o)) {
        qy_snprintf (err, errlen, "settings: quiet must be {\"from\": \"HH:MM\", \"to\": \"HH:MM\"} or null");
        rc = -1;
    }
    else
    if (o) {
        static const char *const quiet [] = { "from", "to", "weight", NULL };
        rc |= s_keys (o, quiet, "quiet", err, errlen);
        int from = s_minutes (json_object_get (o, "from")), to = s_minutes (json_object_get (o, "to"));
        if (from < 0 || to < 0) {
            qy_snprintf (err, errlen, "settings: quiet needs \"from\" and \"to\" as \"HH:MM\"");
            rc = -1;
        }
        else {
            p->quiet_from = from;
            p->quiet_to = to;
        }
        rc |= s_num (o, "weight", -10, 10, &p->quiet_weight, "quiet", err, errlen);
        if (!json_object_get (o, "weight") && p->quiet_weight == 0)
            p->quiet_weight = 1.0;
    }
    return rc ? -1 : 0;
}

//  nickname: the group's nickname format, or null for none.
static int s_nickname (moderation_policy_t *p, json_t *m, char *err, size_t errlen)
{
    int rc = 0;
    json_t *nick = json_object_get (m, "nickname");
    if (nick && json_is_null (nick))
        p->nickname [0] = 0;
    else
    if (nick && (!json_is_string (nick) || judge_nickname_ok (json_string_value (nick), "") < 0
                 || strlen (json_string_value (nick)) >= sizeof (p->nickname))) {
        qy_snprintf (err, errlen, "settings: nickname must be a format such as \"昵称-城市\" or \"re:REGEX\"");
        rc = -1;
    }
    else
    if (nick)
        qy_strlcpy (p->nickname, json_string_value (nick), sizeof (p->nickname));
    return rc ? -1 : 0;
}

//  rules: per-rule overrides of weight, dry run and enabled, by rule name.
static int s_overrides (moderation_policy_t *p, json_t *m, char *err, size_t errlen)
{
    int rc = 0;
    json_t *rules = json_object_get (m, "rules");
    if (rules && !json_is_object (rules)) {
        qy_snprintf (err, errlen, "settings: rules must be an object of rule name → {weight, dry_run, enabled}");
        return -1;
    }
    const char *name;
    json_t *ov;
    json_object_foreach (rules, name, ov) {
        if (!json_is_object (ov) || strlen (name) >= sizeof (p->overrides [0].name)) {
            qy_snprintf (err, errlen, "settings: rules.%s must be an object", name);
            rc = -1;
            continue;
        }
        size_t i = 0;
        while (i < p->noverrides && strcmp (p->overrides [i].name, name))
            i++;
        if (i == p->noverrides) {
            if (p->noverrides == MODERATION_MAX_OVERRIDES) {
                qy_snprintf (err, errlen, "settings: more than %d rule overrides", MODERATION_MAX_OVERRIDES);
                rc = -1;
                continue;
            }
            moderation_override_t *o2 = &p->overrides [p->noverrides++];
            qy_strlcpy (o2->name, name, sizeof (o2->name));
            o2->weight = NAN;
            o2->dry_run = o2->enabled = -1;
        }
        moderation_override_t *o2 = &p->overrides [i];
        static const char *const fields [] = { "weight", "dry_run", "enabled", NULL };
        char where [64];
        qy_snprintf (where, sizeof (where), "rules.%s", name);
        rc |= s_keys (ov, fields, where, err, errlen);
        rc |= s_num (ov, "weight", -10, 10, &o2->weight, where, err, errlen);
        rc |= s_bool (ov, "dry_run", &o2->dry_run, where, err, errlen);
        rc |= s_bool (ov, "enabled", &o2->enabled, where, err, errlen);
    }
    return rc ? -1 : 0;
}

static int s_behaviour (moderation_policy_t *p, json_t *m, char *err, size_t errlen)
{
    int rc = 0;
    static const char *const repeat [] = { "max", "window_s", "weight", "min_chars", NULL };
    static const char *const wave [] = { "groups", "members", "window_s", "weight", "min_chars", "stores", NULL };
    static const char *const newcomer [] = { "hours", "weight", NULL };
    static const char *const join_wave [] = { "joins", "window_s", "hold_s", "hours", "weight", NULL };
    json_t *o;
    rc |= s_section (m, "repeat", repeat, &o, err, errlen);
    rc |= s_int (o, "max", 0, 1000, &p->repeat_max, "repeat", err, errlen);
    rc |= s_int (o, "window_s", 1, 86400, &p->repeat_window_s, "repeat", err, errlen);
    rc |= s_num (o, "weight", -10, 10, &p->repeat_weight, "repeat", err, errlen);
    rc |= s_int (o, "min_chars", 1, 1000, &p->min_chars, "repeat", err, errlen);
    rc |= s_section (m, "spam_wave", wave, &o, err, errlen);
    rc |= s_int (o, "groups", 0, 1000, &p->wave_groups, "spam_wave", err, errlen);
    rc |= s_int (o, "members", 0, 100000, &p->wave_members, "spam_wave", err, errlen);
    rc |= s_int (o, "window_s", 1, 86400, &p->wave_window_s, "spam_wave", err, errlen);
    rc |= s_num (o, "weight", -10, 10, &p->wave_weight, "spam_wave", err, errlen);
    rc |= s_int (o, "min_chars", 1, 1000, &p->min_chars, "spam_wave", err, errlen);
    rc |= s_int (o, "stores", 0, 1000, &p->wave_stores, "spam_wave", err, errlen);
    rc |= s_section (m, "newcomer", newcomer, &o, err, errlen);
    rc |= s_int (o, "hours", 0, 24 * 365, &p->newcomer_hours, "newcomer", err, errlen);
    rc |= s_num (o, "weight", -10, 10, &p->newcomer_weight, "newcomer", err, errlen);
    rc |= s_section (m, "join_wave", join_wave, &o, err, errlen);
    rc |= s_int (o, "joins", 0, 100000, &p->join_wave_joins, "join_wave", err, errlen);
    rc |= s_int (o, "window_s", 1, 86400, &p->join_wave_window_s, "join_wave", err, errlen);
    rc |= s_int (o, "hold_s", 1, 7 * 86400, &p->join_wave_hold_s, "join_wave", err, errlen);
    rc |= s_int (o, "hours", 0, 24 * 365, &p->join_wave_hours, "join_wave", err, errlen);
    rc |= s_num (o, "weight", -10, 10, &p->join_wave_weight, "join_wave", err, errlen);
    rc |= s_quiet (p, m, err, errlen);
    rc |= s_nickname (p, m, err, errlen);
    rc |= s_overrides (p, m, err, errlen);
    return rc ? -1 : 0;
}

static int s_apply_json (moderation_policy_t *p, const char *json, bool layer, bool order, char *err, size_t errlen);

//  All or nothing: a layer that is refused leaves the policy as it was.
int moderation_policy_apply_json (moderation_policy_t *p, const char *json, char *err, size_t errlen)
{
    moderation_policy_t q = *p;
    if (s_apply_json (&q, json, true, true, err, errlen))
        return -1;
    *p = q;
    return 0;
}

int moderation_policy_check_json (const char *json, char *err, size_t errlen)
{
    moderation_policy_t q;
    moderation_policy_default (&q);
    return s_apply_json (&q, json, true, false, err, errlen);
}

int moderation_policy_apply_settings (moderation_policy_t *p, const char *json, char *err, size_t errlen)
{
    moderation_policy_t q = *p;
    if (s_apply_json (&q, json, false, true, err, errlen))
        return -1;
    *p = q;
    return 0;
}

static int s_apply_json (moderation_policy_t *p, const char *json, bool layer, bool order, char *err, size_t errlen)
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
    bool own = m != NULL || layer;      //  an object of moderation's alone: every key must be known
    static const char *const wrapper [] = { "moderation", NULL };
    if (m && layer && s_keys (root, wrapper, "", err, errlen)) {
        json_decref (root);             //  a layer is moderation's: nothing beside its "moderation" object
        return -1;
    }
    if (!m)
        m = root;
    if (!json_is_object (m)) {
        qy_snprintf (err, errlen, "settings: moderation must be an object");
        json_decref (root);
        return -1;
    }
    static const char *const keys [] = { "review", "recall", "mute", "remove", "ladder", "exempt_staff", "strike_days",
                                         "repeat", "spam_wave", "newcomer", "join_wave", "quiet", "nickname", "rules",
                                         "behaviour", "answer", NULL };
    int rc = own ? s_keys (m, keys, "", err, errlen) : 0;
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
    if (order && !(p->thresholds.review <= p->thresholds.recall && p->thresholds.recall <= p->thresholds.mute
                   && p->thresholds.mute <= p->thresholds.remove) && rc == 0) {
        qy_snprintf (err, errlen, "settings: thresholds must rise review <= recall <= mute <= remove");
        rc = -1;
    }
    json_t *ladder = json_object_get (m, "ladder");
    if (ladder && (!json_is_string (ladder) || judge_ladder_parse (json_string_value (ladder), &p->ladder))) {
        qy_snprintf (err, errlen, "settings: bad ladder (expected \"warn,mute:1440,…,remove\")");
        rc = -1;
    }
    int exempt = p->exempt_staff;
    rc |= s_bool (m, "exempt_staff", &exempt, "", err, errlen);
    p->exempt_staff = exempt;
    json_t *sd = json_object_get (m, "strike_days");
    if (sd && (!json_is_integer (sd) || json_integer_value (sd) < 1 || json_integer_value (sd) > 3650)) {
        qy_snprintf (err, errlen, "settings: strike_days must be a whole number of days in [1, 3650]");
        rc = -1;
    }
    else
    if (sd)
        p->strike_days = (int) json_integer_value (sd);
    if (s_behaviour (p, m, err, errlen) || s_behaviour_ladder (p, m, err, errlen))
        rc = -1;
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

moderation_penalty_t moderation_penalty (const moderation_policy_t *p, judge_action_t level, int prior_strikes)
{
    moderation_penalty_t pen = { QY__ACTION__ALLOW, false, false, 0, false, NULL };
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
    if (pen->behaviour) {
        char when [32];
        s_when (until_us, tz_offset_min, when, sizeof (when));
        return moderation_behaviour_notice (pen, who, when);
    }
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
