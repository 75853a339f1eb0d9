//  A brand's scoring settings: defaults, overlaid by the JSON object in
//  brands.settings->'scoring'. Example (every key optional):
//    {"trust": {"tl2": {"days_joined": 3, "messages": 10}},
//     "lurker_days": 14, "churn_ratio": 0.3, "key_top": 5}
#include "scoring.h"
#include "qy/util.h"
#include <jansson.h>
#include <string.h>

void scoring_settings_default (scoring_settings_t *s)
{
    memset (s, 0, sizeof (*s));
    //  Discourse's ladder, read for chat: visit → days active, read → messages,
    //  likes received → replies received, and a clean record for the top two.
    s->trust [1] = (scoring_trust_bar_t) { .days_joined = 1,  .days_active = 1,  .messages = 3 };
    s->trust [2] = (scoring_trust_bar_t) { .days_joined = 7,  .days_active = 5,  .messages = 20,  .replies = 1 };
    s->trust [3] = (scoring_trust_bar_t) { .days_joined = 30, .days_active = 15, .messages = 100, .replies = 10, .clean_days = 30 };
    s->trust [4] = (scoring_trust_bar_t) { .days_joined = 90, .days_active = 45, .messages = 300, .replies = 50, .clean_days = 90 };
    s->new_days = 7;
    s->lurker_days = 14;
    s->churn_ratio = 0.3;
    s->churn_min_rate = 1.0;
    s->key_top = 3;
    s->key_min = 5;
    s->capacity_headroom = 0;
    s->cleanout_floor = 5.0;
    s->cleanout_silent_days = 30;
    s->suggest_max = 50;
    s->w_reply = 1.0;
    s->w_answer = 2.0;
    s->w_substantial = 0.2;
    s->w_violation = 5.0;
}

typedef struct {
    const char *name;
    bool        is_int;
    size_t      offset;
    double      min, max;
} s_field_t;

#define S_I(n, f, lo, hi) { n, true, offsetof (scoring_settings_t, f), lo, hi }
#define S_D(n, f, lo, hi) { n, false, offsetof (scoring_settings_t, f), lo, hi }
static const s_field_t s_fields [] = {
    S_I ("new_days", new_days, 0, 365),
    S_I ("lurker_days", lurker_days, 1, 365),
    S_D ("churn_ratio", churn_ratio, 0, 1),
    S_D ("churn_min_rate", churn_min_rate, 0, 10000),
    S_I ("key_top", key_top, 0, 500),
    S_D ("key_min", key_min, 0, 1e9),
    S_I ("capacity_headroom", capacity_headroom, 0, 500),
    S_D ("cleanout_floor", cleanout_floor, 0, 1e6),
    S_I ("cleanout_silent_days", cleanout_silent_days, 1, 3650),
    S_I ("suggest_max", suggest_max, 1, 500),
    S_D ("w_reply", w_reply, -1e3, 1e3),
    S_D ("w_answer", w_answer, -1e3, 1e3),
    S_D ("w_substantial", w_substantial, -1e3, 1e3),
    S_D ("w_violation", w_violation, -1e3, 1e3),
};
static const char *const s_bar_names [] = { "days_joined", "days_active", "messages", "replies", "clean_days" };

//  Set one number; fills err and returns -1 when it has the wrong type or range.
static int s_number (json_t *v, const char *name, bool is_int, double min, double max, void *dst,
                     char *err, size_t errlen)
{
    if (!json_is_number (v) || (is_int && !json_is_integer (v))) {
        qy_snprintf (err, errlen, "scoring setting %s: expected %s", name, is_int ? "an integer" : "a number");
        return -1;
    }
    double x = json_number_value (v);
    if (x < min || x > max) {
        qy_snprintf (err, errlen, "scoring setting %s: %g is out of range [%g, %g]", name, x, min, max);
        return -1;
    }
    if (is_int)
        *(int *) dst = (int) x;
    else
        *(double *) dst = x;
    return 0;
}

int scoring_settings_parse (scoring_settings_t *s, const char *json, char *err, size_t errlen)
{
    if (err && errlen)
        err [0] = 0;
    if (!json || !*json)
        return 0;
    json_error_t jerr;
    json_t *root = json_loads (json, JSON_DECODE_ANY, &jerr);
    if (!root) {
        qy_snprintf (err, errlen, "scoring settings: not JSON: %s", jerr.text);
        return -1;
    }
    int rc = 0;
    if (json_is_null (root))
        goto done;
    if (!json_is_object (root)) {
        qy_snprintf (err, errlen, "scoring settings: expected an object");
        rc = -1;
        goto done;
    }
    for (size_t i = 0; i < QY_ARRAY_LEN (s_fields); i++) {
        json_t *v = json_object_get (root, s_fields [i].name);
        if (v && s_number (v, s_fields [i].name, s_fields [i].is_int, s_fields [i].min, s_fields [i].max,
                           (char *) s + s_fields [i].offset, err, errlen))
            rc = -1;
    }
    json_t *trust = json_object_get (root, "trust");
    if (trust && !json_is_object (trust)) {
        qy_snprintf (err, errlen, "scoring setting trust: expected an object of tl1..tl4");
        rc = -1;
    }
    for (int tl = 1; tl <= 4 && trust && json_is_object (trust); tl++) {
        char key [8];
        qy_snprintf (key, sizeof (key), "tl%d", tl);
        json_t *bar = json_object_get (trust, key);
        if (!bar)
            continue;
        if (!json_is_object (bar)) {
            qy_snprintf (err, errlen, "scoring setting trust.%s: expected an object", key);
            rc = -1;
            continue;
        }
        int *dst [] = { &s->trust [tl].days_joined, &s->trust [tl].days_active, &s->trust [tl].messages,
                        &s->trust [tl].replies, &s->trust [tl].clean_days };
        for (size_t f = 0; f < QY_ARRAY_LEN (s_bar_names); f++) {
            json_t *v = json_object_get (bar, s_bar_names [f]);
            char name [48];
            qy_snprintf (name, sizeof (name), "trust.%s.%s", key, s_bar_names [f]);
            if (v && s_number (v, name, true, 0, 100000, dst [f], err, errlen))
                rc = -1;
        }
    }
done:
    json_decref (root);
    return rc;
}
