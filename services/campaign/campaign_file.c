//  A playbook document checked whole (campaign_file.h).
#include "campaign_file.h"
#include "qy/pg.h"
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

//  The document's campaign names as a PostgreSQL array.
static const char *s_names (const campaign_file_t *f, qy_pg_cols_t *names)
{
    qy_pg_cols_init (names, 1);
    for (size_t i = 0; i < f->n; i++) {
        qy_pg_cols_row (names);
        qy_pg_cols_text (names, 0, f->defs [i]->name);
    }
    return qy_pg_cols_array (names, 0);
}

long campaign_file_pending (PGconn *conn, const char *bid, const campaign_file_t *f, char *err, size_t errlen)
{
    qy_pg_cols_t names;
    const char *p [] = { bid, s_names (f, &names) };
    PGresult *res = qy_pg_conn_exec (conn, "SELECT count (*) FROM campaign_jobs j JOIN campaigns c ON c.id = j.campaign_id "
                                  "WHERE j.brand_id = $1::bigint AND c.name = ANY ($2::text[]) AND j.status = 'pending'", 2, p, err, errlen);
    qy_pg_cols_free (&names);
    long pending = res ? atol (PQgetvalue (res, 0, 0)) : -1;
    PQclear (res);
    return pending;
}

static int s_guard_row (PGconn *conn, const char *bid, const char *code, json_t *settings, const campaign_apply_cb_t *cb,
                        char *err, size_t errlen)
{
    char *text = json_dumps (settings, JSON_COMPACT | JSON_SORT_KEYS);
    const char *p [] = { bid, code, text };
    PGresult *res = qy_pg_conn_exec (conn,
        "INSERT INTO campaign_guards (brand_id, group_id, settings) "
        "SELECT $1::bigint, coalesce ((SELECT id FROM groups WHERE brand_id = $1::bigint AND code = $2), CASE WHEN $2 IS NULL THEN 0 END), "
        "  $3::jsonb "
        "ON CONFLICT (brand_id, group_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now ()", 3, p, err, errlen);
    if (res && cb && cb->guards)
        cb->guards (cb->ctx, code ? code : "brand", text);
    PQclear (res);
    free (text);
    return res ? 0 : -1;
}

//  One campaign: upserted, then its planned steps not yet sent dropped so
//  the planner makes them again from the new definition (sent ones stay
//  sent). Kept, because the planner would not make them again: steps quiet
//  hours deferred (their planned time may be out of its window), steps of
//  a silence spell (found on its day only) and draws already drawn (the
//  post must name the recorded winners). Their text follows the new
//  definition when they run.
static int s_campaign (PGconn *conn, const char *bid, const campaign_def_t *def, json_t *obj, const campaign_apply_cb_t *cb,
                       char *err, size_t errlen)
{
    char *text = json_dumps (obj, JSON_COMPACT | JSON_SORT_KEYS);
    //  The first template, for `campaign list`.
    const char *tmpl = def->nsteps && def->steps [0].nvariants ? def->steps [0].variants [0].tmpl : "";
    const char *p [] = { bid, def->name, campaign_trigger_name (def->trigger.kind), tmpl, text, def->enabled ? "t" : "f" };
    PGresult *res = qy_pg_conn_exec (conn,
        "INSERT INTO campaigns (brand_id, name, trigger, template, definition, enabled) VALUES ($1, $2, $3, $4, $5::jsonb, $6) "
        "ON CONFLICT (brand_id, name) DO UPDATE SET trigger = EXCLUDED.trigger, template = EXCLUDED.template, "
        "  definition = EXCLUDED.definition, enabled = EXCLUDED.enabled, updated_at = now (), "
        "  version = campaigns.version + (campaigns.definition IS DISTINCT FROM EXCLUDED.definition)::int "
        "RETURNING id, version, (xmax = 0)", 6, p, err, errlen);
    free (text);
    if (!res)
        return -1;
    const char *q [] = { bid, PQgetvalue (res, 0, 0) };
    PGresult *del = qy_pg_conn_exec (conn, "DELETE FROM campaign_jobs j WHERE j.brand_id = $1 AND j.campaign_id = $2 AND j.status = 'pending' "
                                  "AND j.trigger_msg IS NULL AND j.deferrals = 0 AND j.period NOT LIKE 's:%' "
                                  "AND NOT EXISTS (SELECT 1 FROM campaign_draws d WHERE d.job_id = j.id)", 2, q, err, errlen);
    if (del && cb && cb->campaign)
        cb->campaign (cb->ctx, def, PQgetvalue (res, 0, 2) [0] == 't', PQgetvalue (res, 0, 1), atoi (PQcmdTuples (del)) > 0);
    PQclear (del);
    PQclear (res);
    return del ? 0 : -1;
}

int campaign_file_apply (PGconn *conn, const char *bid, const campaign_file_t *f, const campaign_apply_cb_t *cb,
                         char *err, size_t errlen)
{
    if (f->guards && s_guard_row (conn, bid, NULL, f->guards, cb, err, errlen))
        return -1;
    const char *key;
    json_t *v;
    json_object_foreach (f->group_guards, key, v)
        if (s_guard_row (conn, bid, key, v, cb, err, errlen))
            return -1;
    for (size_t i = 0; i < f->n; i++)
        if (s_campaign (conn, bid, f->defs [i], json_array_get (f->campaigns, i), cb, err, errlen))
            return -1;
    return 0;
}
