//  Campaign definitions: one JSON object per campaign (docs/campaign.md),
//  checked strictly when applied, so a typo in a key or a template is an
//  error at HQ's desk and never a silent no-op in ten thousand groups.
#include "campaign_def.h"
#include "qy/util.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char  *err;
    size_t errlen;
    const char *campaign;
    bool   failed;
} s_ctx_t;

static void s_fail (s_ctx_t *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void s_fail (s_ctx_t *c, const char *fmt, ...)
{
    if (c->failed)
        return;      //  keep the first error: it is the one to fix
    c->failed = true;
    char msg [256];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof (msg), fmt, ap);
    va_end (ap);
    qy_snprintf (c->err, c->errlen, "campaign \"%s\": %s", c->campaign ? c->campaign : "?", msg);
}

//  Every key of obj must be one of the allowed (NULL-terminated) names.
static void s_keys (s_ctx_t *c, json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed [i]; i++)
            if (strcmp (key, allowed [i]) == 0)
                ok = true;
        if (!ok)
            s_fail (c, "%s: unknown key \"%s\"", where, key);
    }
}

static void s_strv (s_ctx_t *c, json_t *obj, const char *key, const char *where, campaign_strv_t *out)
{
    json_t *a = json_object_get (obj, key);
    if (!a)
        return;
    if (!json_is_array (a)) {
        s_fail (c, "%s.%s: must be a list of strings", where, key);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v) {
        if (!json_is_string (v) || !*json_string_value (v)) {
            s_fail (c, "%s.%s[%zu]: must be a non-empty string", where, key, i);
            return;
        }
        out->v = qy_realloc (out->v, sizeof (char *) * (out->n + 1));
        out->v [out->n++] = qy_strdup (json_string_value (v));
    }
}

static void s_strv_free (campaign_strv_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free (s->v [i]);
    free (s->v);
    s->v = NULL;
    s->n = 0;
}

static int s_int (s_ctx_t *c, json_t *obj, const char *key, const char *where, int def, int min, int max)
{
    json_t *v = json_object_get (obj, key);
    if (!v)
        return def;
    if (!json_is_integer (v) || json_integer_value (v) < min || json_integer_value (v) > max) {
        s_fail (c, "%s.%s: must be a whole number from %d to %d", where, key, min, max);
        return def;
    }
    return (int) json_integer_value (v);
}

static bool s_bool (s_ctx_t *c, json_t *obj, const char *key, const char *where, bool def)
{
    json_t *v = json_object_get (obj, key);
    if (!v)
        return def;
    if (!json_is_boolean (v)) {
        s_fail (c, "%s.%s: must be true or false", where, key);
        return def;
    }
    return json_is_true (v);
}

static const char *s_str (s_ctx_t *c, json_t *obj, const char *key, const char *where)
{
    json_t *v = json_object_get (obj, key);
    if (!v)
        return NULL;
    if (!json_is_string (v) || !*json_string_value (v)) {
        s_fail (c, "%s.%s: must be a non-empty string", where, key);
        return NULL;
    }
    return json_string_value (v);
}

static int32_t s_date (s_ctx_t *c, json_t *obj, const char *key, const char *where)
{
    const char *s = s_str (c, obj, key, where);
    int32_t day = CAMPAIGN_NO_DAY;
    if (s && campaign_parse_date (s, &day) < 0)
        s_fail (c, "%s.%s: \"%s\" is not a date (YYYY-MM-DD)", where, key, s);
    return day;
}

static const char *s_member_states [] = { "new", "active", "lurker", "churn_risk", "key", NULL };
static const char *s_group_states [] = { "growing", "healthy", "declining", "zombie", NULL };

static void s_check_states (s_ctx_t *c, const campaign_strv_t *v, const char *const *known, const char *where)
{
    for (size_t i = 0; i < v->n; i++) {
        bool ok = false;
        for (size_t k = 0; known [k]; k++)
            ok = ok || strcmp (v->v [i], known [k]) == 0;
        if (!ok)
            s_fail (c, "%s: unknown state \"%s\"", where, v->v [i]);
    }
}

static void s_segment (s_ctx_t *c, json_t *obj, const char *where, campaign_segment_t *s)
{
    s->trust_min = s->trust_max = -1;
    if (!obj)
        return;
    if (!json_is_object (obj)) {
        s_fail (c, "%s: must be an object", where);
        return;
    }
    static const char *keys [] = { "trust_min", "trust_max", "states", "tags", NULL };
    s_keys (c, obj, where, keys);
    s->set = true;
    s->trust_min = s_int (c, obj, "trust_min", where, -1, 0, 4);
    s->trust_max = s_int (c, obj, "trust_max", where, -1, 0, 4);
    s_strv (c, obj, "states", where, &s->states);
    s_strv (c, obj, "tags", where, &s->tags);
    s_check_states (c, &s->states, s_member_states, where);
}

static void s_segment_free (campaign_segment_t *s)
{
    s_strv_free (&s->states);
    s_strv_free (&s->tags);
}

static const struct { const char *name; campaign_trigger_kind_t kind; } s_triggers [] = {
    { "schedule", CAMPAIGN_T_SCHEDULE }, { "group_age", CAMPAIGN_T_GROUP_AGE }, { "join", CAMPAIGN_T_JOIN },
    { "silence", CAMPAIGN_T_SILENCE }, { "signal", CAMPAIGN_T_SIGNAL }, { "keyword", CAMPAIGN_T_KEYWORD },
    { "purchase", CAMPAIGN_T_PURCHASE }, { "checkin", CAMPAIGN_T_CHECKIN }, { "contest", CAMPAIGN_T_CONTEST },
};

const char *campaign_trigger_name (campaign_trigger_kind_t k)
{
    for (size_t i = 0; i < QY_ARRAY_LEN (s_triggers); i++)
        if (s_triggers [i].kind == k)
            return s_triggers [i].name;
    return "?";
}

bool campaign_trigger_listens (const campaign_def_t *def)
{
    return def->trigger.kind == CAMPAIGN_T_KEYWORD || def->trigger.kind == CAMPAIGN_T_CHECKIN
        || def->trigger.kind == CAMPAIGN_T_CONTEST;
}

//  A schedule trigger: daily, on weekdays, on dates or every N days from
//  a first day, within from … until.
static void s_schedule (s_ctx_t *c, json_t *obj, campaign_trigger_t *t)
{
    if (s_bool (c, obj, "daily", "trigger", false))
        t->weekdays = 0xFE;
    json_t *w = json_object_get (obj, "weekdays");
    size_t k;
    json_t *v;
    if (w && !json_is_array (w))
        s_fail (c, "trigger.weekdays: must be a list of 1 (Monday) … 7 (Sunday)");
    json_array_foreach (w, k, v) {
        if (!json_is_integer (v) || json_integer_value (v) < 1 || json_integer_value (v) > 7)
            s_fail (c, "trigger.weekdays[%zu]: must be 1 (Monday) … 7 (Sunday)", k);
        else
            t->weekdays |= 1 << json_integer_value (v);
    }
    json_t *d = json_object_get (obj, "dates");
    if (d && !json_is_array (d))
        s_fail (c, "trigger.dates: must be a list of YYYY-MM-DD");
    json_array_foreach (d, k, v) {
        int32_t day;
        if (!json_is_string (v) || campaign_parse_date (json_string_value (v), &day) < 0) {
            s_fail (c, "trigger.dates[%zu]: must be a date YYYY-MM-DD", k);
            continue;
        }
        t->dates = qy_realloc (t->dates, sizeof (int32_t) * (t->ndates + 1));
        t->dates [t->ndates++] = day;
    }
    t->every_days = s_int (c, obj, "every_days", "trigger", 0, 1, 366);
    t->from_day = s_date (c, obj, "from", "trigger");
    t->until_day = s_date (c, obj, "until", "trigger");
    if (t->every_days && t->from_day == CAMPAIGN_NO_DAY)
        s_fail (c, "trigger.every_days: needs \"from\" (the first day)");
    if (!t->weekdays && !t->ndates && !t->every_days)
        s_fail (c, "trigger: a schedule needs \"daily\", \"weekdays\", \"dates\" or \"every_days\"");
}

//  A purchase trigger: product codes (or "*") to their usage cycles, and
//  how long before a cycle ends the member is reminded.
static void s_purchase (s_ctx_t *c, json_t *obj, campaign_trigger_t *t)
{
    json_t *p = json_object_get (obj, "products");
    if (!json_is_object (p) || !json_object_size (p)) {
        s_fail (c, "trigger.products: must map product codes (or \"*\") to usage cycles in days");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach (p, key, v) {
        if (!json_is_integer (v) || json_integer_value (v) < 1 || json_integer_value (v) > 3650) {
            s_fail (c, "trigger.products.%s: must be a usage cycle in days (1 … 3650)", key);
            continue;
        }
        t->products.v = qy_realloc (t->products.v, sizeof (char *) * (t->products.n + 1));
        t->cycles = qy_realloc (t->cycles, sizeof (int) * (t->products.n + 1));
        t->cycles [t->products.n] = (int) json_integer_value (v);
        t->products.v [t->products.n++] = qy_strdup (key);
    }
    t->remind_before = s_int (c, obj, "remind_before_days", "trigger", 3, 0, 365);
    for (size_t k = 0; k < t->products.n; k++)
        if (t->cycles [k] <= t->remind_before)
            s_fail (c, "trigger.products.%s: the cycle must be longer than remind_before_days", t->products.v [k]);
}

static void s_trigger (s_ctx_t *c, json_t *obj, campaign_trigger_t *t)
{
    t->from_day = t->until_day = CAMPAIGN_NO_DAY;
    if (!json_is_object (obj)) {
        s_fail (c, "trigger: must be an object with a \"type\"");
        return;
    }
    const char *type = s_str (c, obj, "type", "trigger");
    size_t i = 0;
    while (type && i < QY_ARRAY_LEN (s_triggers) && strcmp (type, s_triggers [i].name) != 0)
        i++;
    if (!type || i == QY_ARRAY_LEN (s_triggers)) {
        s_fail (c, "trigger.type: must be one of schedule, group_age, join, silence, signal, keyword, purchase, checkin, contest");
        return;
    }
    t->kind = s_triggers [i].kind;
    static const char *k_schedule [] = { "type", "daily", "weekdays", "dates", "every_days", "from", "until", NULL };
    static const char *k_plain [] = { "type", NULL };
    static const char *k_silence [] = { "type", "days", NULL };
    static const char *k_signal [] = { "type", "name", NULL };
    static const char *k_keyword [] = { "type", "keywords", "fold_s", NULL };
    static const char *k_purchase [] = { "type", "products", "remind_before_days", NULL };
    static const char *k_checkin [] = { "type", "keywords", "fold_s", "points", "streak_bonus", "max_bonus", NULL };
    static const char *k_contest [] = { "type", "keywords", "fold_s", "from", "until", "max_entries", NULL };
    switch (t->kind) {
        case CAMPAIGN_T_SCHEDULE:
            s_keys (c, obj, "trigger", k_schedule);
            s_schedule (c, obj, t);
            break;
        case CAMPAIGN_T_GROUP_AGE:
        case CAMPAIGN_T_JOIN:
            s_keys (c, obj, "trigger", k_plain);
            break;
        case CAMPAIGN_T_SILENCE:
            s_keys (c, obj, "trigger", k_silence);
            t->silence_days = s_int (c, obj, "days", "trigger", 0, 1, 365);
            if (!t->silence_days)
                s_fail (c, "trigger.days: a silence trigger needs the number of silent days");
            break;
        case CAMPAIGN_T_SIGNAL: {
            s_keys (c, obj, "trigger", k_signal);
            const char *name = s_str (c, obj, "name", "trigger");
            if (!name)
                s_fail (c, "trigger.name: a signal trigger needs the signal name (e.g. member.lurker)");
            t->signal = qy_strdup (name ? name : "");
            break;
        }
        case CAMPAIGN_T_KEYWORD:
        case CAMPAIGN_T_CHECKIN:
        case CAMPAIGN_T_CONTEST:
            s_keys (c, obj, "trigger", t->kind == CAMPAIGN_T_KEYWORD ? k_keyword
                                      : t->kind == CAMPAIGN_T_CHECKIN ? k_checkin : k_contest);
            s_strv (c, obj, "keywords", "trigger", &t->keywords);
            if (!t->keywords.n)
                s_fail (c, "trigger.keywords: needs at least one keyword");
            t->fold_s = s_int (c, obj, "fold_s", "trigger", 60, 1, 3600);
            t->points = s_int (c, obj, "points", "trigger", 10, 0, 100000);
            t->streak_bonus = s_int (c, obj, "streak_bonus", "trigger", 5, 0, 100000);
            t->max_bonus = s_int (c, obj, "max_bonus", "trigger", 30, 0, 1000000);
            t->max_entries = s_int (c, obj, "max_entries", "trigger", 1, 1, 100);
            if (t->kind == CAMPAIGN_T_CONTEST) {
                t->from_day = s_date (c, obj, "from", "trigger");
                t->until_day = s_date (c, obj, "until", "trigger");
            }
            break;
        case CAMPAIGN_T_PURCHASE:
            s_keys (c, obj, "trigger", k_purchase);
            s_purchase (c, obj, t);
            break;
    }
}

static const struct { const char *name; campaign_step_kind_t kind; } s_step_kinds [] = {
    { "post", CAMPAIGN_S_POST }, { "ack", CAMPAIGN_S_ACK }, { "leaderboard", CAMPAIGN_S_LEADERBOARD },
    { "draw", CAMPAIGN_S_DRAW },
};

//  Render with sample values to catch unknown variables now.
static void s_check_template (s_ctx_t *c, const char *tmpl, const char *where, bool gathers)
{
    campaign_vars_t v = { "n", "g", "s", "p", "c", gathers ? "l" : NULL, gathers ? "1" : NULL };
    char err [160];
    char *text = campaign_render (tmpl, &v, err, sizeof (err));
    if (!text) {
        s_fail (c, "%s: %s", where, err);
        return;
    }
    free (text);
    if (!gathers && (strstr (tmpl, "{list}") || strstr (tmpl, "{count}")))
        s_fail (c, "%s: {list} and {count} are only for ack, leaderboard and draw steps", where);
}

//  A step's text: one template, or 2 to 8 weighted variants.
static void s_step_texts (s_ctx_t *c, json_t *obj, const char *where, campaign_step_t *s)
{
    bool gathers = s->kind != CAMPAIGN_S_POST;
    const char *tmpl = s_str (c, obj, "template", where);
    json_t *variants = json_object_get (obj, "variants");
    if ((tmpl != NULL) == (variants != NULL))
        s_fail (c, "%s: needs either \"template\" or \"variants\"", where);
    if (tmpl) {
        s->variants = qy_calloc (1, sizeof (campaign_variant_t));
        s->variants [0].name = qy_strdup ("");
        s->variants [0].tmpl = qy_strdup (tmpl);
        s->variants [0].weight = 1;
        s->nvariants = 1;
        s_check_template (c, tmpl, where, gathers);
    }
    if (variants && (!json_is_array (variants) || json_array_size (variants) < 2 || json_array_size (variants) > 8))
        s_fail (c, "%s.variants: must list 2 to 8 variants", where);
    else if (variants) {
        s->variants = qy_calloc (json_array_size (variants), sizeof (campaign_variant_t));
        size_t i;
        json_t *v;
        json_array_foreach (variants, i, v) {
            char vw [48];
            qy_snprintf (vw, sizeof (vw), "%s.variants[%zu]", where, i);
            static const char *vkeys [] = { "name", "template", "weight", NULL };
            if (!json_is_object (v)) {
                s_fail (c, "%s: must be an object with name and template", vw);
                break;
            }
            s_keys (c, v, vw, vkeys);
            const char *name = s_str (c, v, "name", vw), *vt = s_str (c, v, "template", vw);
            if (!name || !vt)
                s_fail (c, "%s: needs a name and a template", vw);
            for (size_t j = 0; name && j < s->nvariants; j++)
                if (strcmp (s->variants [j].name, name) == 0)
                    s_fail (c, "%s: variant name \"%s\" is used twice", vw, name);
            campaign_variant_t *var = &s->variants [s->nvariants++];
            var->name = qy_strdup (name ? name : "");
            var->tmpl = qy_strdup (vt ? vt : "");
            var->weight = s_int (c, v, "weight", vw, 1, 1, 1000);
            if (vt)
                s_check_template (c, vt, vw, gathers);
        }
    }
}

//  Whom a step names: by default the member it is about where it gathers
//  or answers one; "subject", "all", "none" or a segment when said.
static void s_step_mention (s_ctx_t *c, json_t *obj, const char *where, const campaign_trigger_t *t,
                            campaign_step_t *s)
{
    json_t *m = json_object_get (obj, "mention");
    bool has_subject = t->kind != CAMPAIGN_T_SCHEDULE && t->kind != CAMPAIGN_T_GROUP_AGE
                    && !(t->kind == CAMPAIGN_T_SIGNAL && strncmp (t->signal ? t->signal : "", "group.", 6) == 0);
    s->mention = t->kind == CAMPAIGN_T_KEYWORD || s->kind == CAMPAIGN_S_ACK || s->kind == CAMPAIGN_S_DRAW
               ? CAMPAIGN_M_SUBJECT : CAMPAIGN_M_NONE;
    if (json_is_string (m) && strcmp (json_string_value (m), "subject") == 0) {
        if (!has_subject)
            s_fail (c, "%s.mention: \"subject\" needs a trigger about a member", where);
        s->mention = CAMPAIGN_M_SUBJECT;
    }
    else if (json_is_string (m) && strcmp (json_string_value (m), "all") == 0)
        s->mention = CAMPAIGN_M_ALL;
    else if (json_is_string (m) && strcmp (json_string_value (m), "none") == 0)
        s->mention = CAMPAIGN_M_NONE;
    else if (json_is_object (m)) {
        static const char *mkeys [] = { "segment", "limit", NULL };
        char mw [48];
        qy_snprintf (mw, sizeof (mw), "%s.mention", where);
        s_keys (c, m, mw, mkeys);
        qy_snprintf (mw, sizeof (mw), "%s.mention.segment", where);
        if (!json_object_get (m, "segment"))
            s_fail (c, "%s: needs a segment", mw);
        s_segment (c, json_object_get (m, "segment"), mw, &s->mention_segment);
        s->mention_limit = s_int (c, m, "limit", where, 20, 1, 100);
        s->mention = CAMPAIGN_M_SEGMENT;
    }
    else if (m)
        s_fail (c, "%s.mention: must be \"subject\", \"all\", \"none\" or {\"segment\": …, \"limit\": N}", where);
}

//  Which step kinds and timings each trigger can run.
static void s_step_fits (s_ctx_t *c, const char *where, const campaign_trigger_t *t, const campaign_step_t *s)
{
    bool timed = s->at_min >= 0 || s->best_time;
    bool scheduled = t->kind == CAMPAIGN_T_SCHEDULE || t->kind == CAMPAIGN_T_GROUP_AGE;
    bool folded = t->kind == CAMPAIGN_T_KEYWORD || s->kind == CAMPAIGN_S_ACK;
    if (s->at_min >= 0 && s->best_time)
        s_fail (c, "%s: \"at\" and \"best_time\" exclude each other", where);
    if (scheduled && !timed)
        s_fail (c, "%s: a %s step needs \"at\" or \"best_time\"", where, campaign_trigger_name (t->kind));
    if (folded && (timed || s->day))
        s_fail (c, "%s: folded replies go out when their window closes; no day, at or best_time", where);
    if (s->kind == CAMPAIGN_S_ACK && t->kind != CAMPAIGN_T_CHECKIN && t->kind != CAMPAIGN_T_CONTEST)
        s_fail (c, "%s: ack steps belong to checkin and contest triggers", where);
    if (s->kind == CAMPAIGN_S_LEADERBOARD && (t->kind != CAMPAIGN_T_CHECKIN || !timed))
        s_fail (c, "%s: a leaderboard belongs to a checkin trigger and needs \"at\" or \"best_time\"", where);
    if (s->kind == CAMPAIGN_S_DRAW && !scheduled)
        s_fail (c, "%s: a draw runs on a schedule or group_age trigger", where);
    if ((t->kind == CAMPAIGN_T_CHECKIN || t->kind == CAMPAIGN_T_CONTEST) && s->kind == CAMPAIGN_S_POST)
        s_fail (c, "%s: %s triggers run ack and leaderboard steps", where, campaign_trigger_name (t->kind));
}

static void s_step (s_ctx_t *c, json_t *obj, size_t idx, const campaign_trigger_t *t, campaign_step_t *s)
{
    char where [32];
    qy_snprintf (where, sizeof (where), "steps[%zu]", idx);
    s->at_min = -1;
    s->mention_segment.trust_min = s->mention_segment.trust_max = -1;
    if (!json_is_object (obj)) {
        s_fail (c, "%s: must be an object", where);
        return;
    }
    static const char *keys [] = { "kind", "day", "at", "best_time", "promotional", "coupon", "template", "variants",
                                   "mention", "top", "winners", "active_days", NULL };
    s_keys (c, obj, where, keys);
    const char *kind = s_str (c, obj, "kind", where);
    size_t k = 0;
    while (kind && k < QY_ARRAY_LEN (s_step_kinds) && strcmp (kind, s_step_kinds [k].name) != 0)
        k++;
    if (kind && k == QY_ARRAY_LEN (s_step_kinds))
        s_fail (c, "%s.kind: must be post, ack, leaderboard or draw", where);
    s->kind = kind && k < QY_ARRAY_LEN (s_step_kinds) ? s_step_kinds [k].kind : CAMPAIGN_S_POST;
    s->day = s_int (c, obj, "day", where, 0, 0, 3650);
    const char *at = s_str (c, obj, "at", where);
    if (at && (s->at_min = campaign_parse_hhmm (at)) < 0)
        s_fail (c, "%s.at: \"%s\" is not a time of day (HH:MM)", where, at);
    s->best_time = s_bool (c, obj, "best_time", where, false);
    s->promotional = s_bool (c, obj, "promotional", where, false);
    const char *coupon = s_str (c, obj, "coupon", where);
    s->coupon = coupon ? qy_strdup (coupon) : NULL;
    s->top = s_int (c, obj, "top", where, 10, 1, 100);
    s->winners = s_int (c, obj, "winners", where, 1, 1, 500);
    s->active_days = s_int (c, obj, "active_days", where, 7, 1, 90);
    s_step_texts (c, obj, where, s);
    s_step_mention (c, obj, where, t, s);
    if (s->kind != CAMPAIGN_S_POST && s->mention != CAMPAIGN_M_SUBJECT && s->kind != CAMPAIGN_S_LEADERBOARD)
        s_fail (c, "%s.mention: %s steps mention the members they gather", where, kind);
    s_step_fits (c, where, t, s);
}

campaign_def_t *campaign_def_parse (json_t *obj, char *err, size_t errlen)
{
    s_ctx_t c = { err, errlen, NULL, false };
    if (!json_is_object (obj)) {
        s_fail (&c, "a campaign must be a JSON object");
        return NULL;
    }
    campaign_def_t *def = qy_calloc (1, sizeof (*def));
    const char *name = s_str (&c, obj, "name", "campaign");
    c.campaign = name;
    def->name = qy_strdup (name ? name : "");
    if (!name)
        s_fail (&c, "needs a name");
    else if (strlen (name) > 64 || strchr (name, ':') || strchr (name, ' '))
        s_fail (&c, "name: at most 64 bytes, without spaces or ':'");
    else if (strcmp (name, "welcome") == 0)
        s_fail (&c, "name: \"welcome\" is the welcome template's (qyctl campaign welcome)");
    static const char *keys [] = { "name", "enabled", "target", "trigger", "steps", "description", NULL };
    s_keys (&c, obj, "campaign", keys);
    def->enabled = s_bool (&c, obj, "enabled", "campaign", true);
    json_t *target = json_object_get (obj, "target");
    def->target.members.trust_min = def->target.members.trust_max = -1;
    if (target && !json_is_object (target))
        s_fail (&c, "target: must be an object");
    else if (target) {
        static const char *tkeys [] = { "regions", "stores", "group_types", "group_tags", "group_states", "members", NULL };
        s_keys (&c, target, "target", tkeys);
        s_strv (&c, target, "regions", "target", &def->target.regions);
        s_strv (&c, target, "stores", "target", &def->target.stores);
        s_strv (&c, target, "group_types", "target", &def->target.group_types);
        s_strv (&c, target, "group_tags", "target", &def->target.group_tags);
        s_strv (&c, target, "group_states", "target", &def->target.group_states);
        s_check_states (&c, &def->target.group_states, s_group_states, "target.group_states");
        s_segment (&c, json_object_get (target, "members"), "target.members", &def->target.members);
    }
    s_trigger (&c, json_object_get (obj, "trigger"), &def->trigger);
    json_t *steps = json_object_get (obj, "steps");
    if (!json_is_array (steps) || json_array_size (steps) < 1 || json_array_size (steps) > 32)
        s_fail (&c, "steps: must list 1 to 32 steps");
    else if (!c.failed) {
        def->steps = qy_calloc (json_array_size (steps), sizeof (campaign_step_t));
        size_t i;
        json_t *v;
        json_array_foreach (steps, i, v)
            s_step (&c, v, i, &def->trigger, &def->steps [def->nsteps++]);
    }
    if (c.failed) {
        campaign_def_destroy (&def);
        return NULL;
    }
    return def;
}

void campaign_def_destroy (campaign_def_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    campaign_def_t *self = *self_p;
    free (self->name);
    s_strv_free (&self->target.regions);
    s_strv_free (&self->target.stores);
    s_strv_free (&self->target.group_types);
    s_strv_free (&self->target.group_tags);
    s_strv_free (&self->target.group_states);
    s_segment_free (&self->target.members);
    free (self->trigger.dates);
    free (self->trigger.signal);
    s_strv_free (&self->trigger.keywords);
    s_strv_free (&self->trigger.products);
    free (self->trigger.cycles);
    for (size_t i = 0; i < self->nsteps; i++) {
        campaign_step_t *s = &self->steps [i];
        free (s->coupon);
        for (size_t k = 0; k < s->nvariants; k++) {
            free (s->variants [k].name);
            free (s->variants [k].tmpl);
        }
        free (s->variants);
        s_segment_free (&s->mention_segment);
    }
    free (self->steps);
    free (self);
    *self_p = NULL;
}
