//  A playbook document checked whole (campaign_file.h).
#include "campaign_file.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

static int s_keys (json_t *root, char *err, size_t errlen)
{
    static const char *keys [] = { "brand", "guards", "group_guards", "campaigns", NULL };
    const char *key;
    json_t *v;
    json_object_foreach (root, key, v) {
        bool ok = false;
        for (size_t i = 0; keys [i]; i++)
            ok = ok || strcmp (keys [i], key) == 0;
        if (!ok) {
            qy_snprintf (err, errlen, "unknown key \"%s\" (brand, guards, group_guards, campaigns)", key);
            return -1;
        }
    }
    return 0;
}

//  The brand's guards, then each group's on top of them.
static int s_guards (campaign_file_t *f, char *err, size_t errlen)
{
    char why [320];
    campaign_guards_t g;
    campaign_guards_default (&g);
    if (f->guards && campaign_guards_apply (&g, f->guards, err, errlen) < 0)
        return -1;
    json_t *kw = json_object_get (f->guards, "optout_keywords");
    if (kw && !json_is_array (kw)) {
        qy_snprintf (err, errlen, "guards.optout_keywords: must be a list of strings");
        return -1;
    }
    if (f->group_guards && !json_is_object (f->group_guards)) {
        qy_snprintf (err, errlen, "group_guards: must map group codes to guard settings");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach (f->group_guards, key, v) {
        campaign_guards_t o = g;
        if (campaign_guards_apply (&o, v, why, sizeof (why)) < 0) {
            qy_snprintf (err, errlen, "group_guards.%s: %s", key, why);
            return -1;
        }
        if (json_object_get (v, "optout_keywords")) {
            qy_snprintf (err, errlen, "group_guards.%s: optout_keywords are brand-wide", key);
            return -1;
        }
    }
    return 0;
}

int campaign_file_check (json_t *root, campaign_file_t *out, char *err, size_t errlen)
{
    memset (out, 0, sizeof (*out));
    char why [320];
    if (!json_is_object (root)) {
        qy_snprintf (err, errlen, "the definition must be a JSON object");
        return -1;
    }
    if (s_keys (root, err, errlen))
        return -1;
    out->brand = json_string_value (json_object_get (root, "brand"));
    if (!out->brand) {
        qy_snprintf (err, errlen, "\"brand\" (the brand code) is required");
        return -1;
    }
    out->guards = json_object_get (root, "guards");
    out->group_guards = json_object_get (root, "group_guards");
    if (s_guards (out, err, errlen))
        return -1;
    out->campaigns = json_object_get (root, "campaigns");
    if (out->campaigns && !json_is_array (out->campaigns)) {
        qy_snprintf (err, errlen, "campaigns: must be a list");
        return -1;
    }
    size_t n = json_array_size (out->campaigns);
    out->defs = qy_calloc (n + 1, sizeof (campaign_def_t *));
    for (; out->n < n; out->n++) {
        size_t i = out->n;
        if (!(out->defs [i] = campaign_def_parse (json_array_get (out->campaigns, i), why, sizeof (why)))) {
            qy_snprintf (err, errlen, "campaigns[%zu]: %s", i, why);
            campaign_file_free (out);
            return -1;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp (out->defs [k]->name, out->defs [i]->name) == 0) {
                qy_snprintf (err, errlen, "campaign \"%s\" is defined twice", out->defs [i]->name);
                out->n++;
                campaign_file_free (out);
                return -1;
            }
    }
    return 0;
}

void campaign_file_free (campaign_file_t *f)
{
    for (size_t i = 0; f->defs && i < f->n; i++)
        campaign_def_destroy (&f->defs [i]);
    free (f->defs);
    f->defs = NULL;
    f->n = 0;
}
