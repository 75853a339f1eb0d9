#include "campaign_store.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t brand_id;
    bool    found;
    char   *tmpl;
    char   *name;
} s_welcome_t;

typedef struct {
    int64_t group_id;
    char   *group;
    char   *store;
} s_names_t;

struct campaign_store_t {
    qy_pg_t     *pg;
    campaign_brand_t **brands;   //  loaded on first use, dropped on invalidate
    size_t       nbrands;
    int64_t     *ids;            //  brands with definition-file campaigns
    size_t       nids;
    bool         ids_loaded;
    int          has_states;     //  -1 not checked yet
    s_welcome_t *welcomes;
    size_t       nwelcomes;
    s_names_t   *names;          //  small open-addressed cache by group id
    size_t       names_cap;
    size_t       nnames;
};

campaign_store_t *campaign_store_new (qy_pg_t *pg)
{
    campaign_store_t *self = qy_calloc (1, sizeof (*self));
    self->pg = pg;
    self->names_cap = 1024;
    self->names = qy_calloc (self->names_cap, sizeof (s_names_t));
    self->has_states = -1;
    return self;
}

static void s_brand_destroy (campaign_brand_t **self_p);

void campaign_store_invalidate (campaign_store_t *self)
{
    for (size_t i = 0; i < self->nbrands; i++)
        s_brand_destroy (&self->brands [i]);
    free (self->brands);
    self->brands = NULL;
    self->nbrands = 0;
    free (self->ids);
    self->ids = NULL;
    self->nids = 0;
    self->ids_loaded = false;
    self->has_states = -1;
    for (size_t i = 0; i < self->nwelcomes; i++) {
        free (self->welcomes [i].tmpl);
        free (self->welcomes [i].name);
    }
    free (self->welcomes);
    self->welcomes = NULL;
    self->nwelcomes = 0;
    for (size_t i = 0; i < self->names_cap; i++) {
        free (self->names [i].group);
        free (self->names [i].store);
        memset (&self->names [i], 0, sizeof (s_names_t));
    }
    self->nnames = 0;
}

void campaign_store_destroy (campaign_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    campaign_store_invalidate (*self_p);
    free ((*self_p)->names);
    free (*self_p);
    *self_p = NULL;
}

int campaign_store_welcome (campaign_store_t *self, int64_t brand_id, const char **tmpl, const char **name)
{
    for (size_t i = 0; i < self->nwelcomes; i++)
        if (self->welcomes [i].brand_id == brand_id) {
            *tmpl = self->welcomes [i].tmpl;
            *name = self->welcomes [i].name;
            return self->welcomes [i].found ? 1 : 0;
        }
    char bid [24];
    qy_pg_i64 (bid, brand_id);
    const char *p [] = { bid };
    PGresult *res;
    if (!qy_pg_run (self->pg, "welcome template",
            "SELECT template, name FROM campaigns WHERE brand_id = $1 AND trigger = 'join' AND enabled "
            "AND definition = '{}'::jsonb "
            "ORDER BY id LIMIT 1", 1, p, &res))
        return -1;
    self->welcomes = qy_realloc (self->welcomes, sizeof (s_welcome_t) * (self->nwelcomes + 1));
    s_welcome_t *w = &self->welcomes [self->nwelcomes++];
    w->brand_id = brand_id;
    w->found = PQntuples (res) > 0;
    w->tmpl = qy_strdup (w->found ? PQgetvalue (res, 0, 0) : "");
    w->name = qy_strdup (w->found ? PQgetvalue (res, 0, 1) : "");
    PQclear (res);
    *tmpl = w->tmpl;
    *name = w->name;
    return w->found ? 1 : 0;
}

int campaign_store_names (campaign_store_t *self, int64_t brand_id, int64_t group_id,
                          const char **group, const char **store)
{
    size_t i = (size_t) group_id & (self->names_cap - 1);
    if (self->names [i].group_id == group_id && self->names [i].group) {
        *group = self->names [i].group;
        *store = self->names [i].store;
        return 0;
    }
    char bid [24], gid [24];
    qy_pg_i64 (bid, brand_id);
    qy_pg_i64 (gid, group_id);
    const char *p [] = { bid, gid };
    PGresult *res;
    if (!qy_pg_run (self->pg, "group names",
            "SELECT g.name, coalesce (s.name, '') FROM groups g LEFT JOIN stores s ON s.id = g.store_id "
            "WHERE g.brand_id = $1 AND g.id = $2", 2, p, &res))
        return -1;
    //  A direct-mapped cache: a collision simply replaces the older entry.
    free (self->names [i].group);
    free (self->names [i].store);
    self->names [i].group_id = group_id;
    self->names [i].group = qy_strdup (PQntuples (res) ? PQgetvalue (res, 0, 0) : "");
    self->names [i].store = qy_strdup (PQntuples (res) ? PQgetvalue (res, 0, 1) : "");
    PQclear (res);
    *group = self->names [i].group;
    *store = self->names [i].store;
    return 0;
}

static void s_brand_destroy (campaign_brand_t **self_p)
{
    if (!*self_p)
        return;
    campaign_brand_t *b = *self_p;
    for (size_t i = 0; i < b->ndefs; i++)
        campaign_def_destroy (&b->defs [i]);
    free (b->defs);
    for (size_t i = 0; i < b->optout_keywords.n; i++)
        free (b->optout_keywords.v [i]);
    free (b->optout_keywords.v);
    free (b->overrides);
    free (b->code);
    free (b);
    *self_p = NULL;
}

const campaign_guards_t *campaign_brand_guards (const campaign_brand_t *b, int64_t group_id)
{
    for (size_t i = 0; i < b->noverrides; i++)
        if (b->overrides [i].group_id == group_id)
            return &b->overrides [i].guards;
    return &b->guards;
}

//  Guards are stored as the keys that differ; a group override applies on
//  top of the brand's settings, which apply on top of the defaults.
static void s_load_guards (campaign_brand_t *b, PGresult *res)
{
    campaign_guards_default (&b->guards);
    json_t *brand_settings = NULL;
    for (int r = 0; r < PQntuples (res); r++)
        if (qy_pg_int (res, r, 0) == 0)
            brand_settings = json_loads (PQgetvalue (res, r, 1), 0, NULL);
    char err [160];
    if (brand_settings && campaign_guards_apply (&b->guards, brand_settings, err, sizeof (err)) < 0)
        qy_log_error ("brand=%s campaign guards ignored error=%s", b->code, err);
    json_t *kw = json_object_get (brand_settings, "optout_keywords");
    if (json_is_array (kw)) {
        size_t i;
        json_t *v;
        json_array_foreach (kw, i, v)
            if (json_is_string (v) && *json_string_value (v)) {
                b->optout_keywords.v = qy_realloc (b->optout_keywords.v, sizeof (char *) * (b->optout_keywords.n + 1));
                b->optout_keywords.v [b->optout_keywords.n++] = qy_strdup (json_string_value (v));
            }
    }
    else {
        b->optout_keywords.v = qy_malloc (sizeof (char *));
        b->optout_keywords.v [0] = qy_strdup ("退订");
        b->optout_keywords.n = 1;
    }
    json_decref (brand_settings);
    for (int r = 0; r < PQntuples (res); r++) {
        if (qy_pg_int (res, r, 0) == 0)
            continue;
        json_t *o = json_loads (PQgetvalue (res, r, 1), 0, NULL);
        b->overrides = qy_realloc (b->overrides, sizeof (campaign_override_t) * (b->noverrides + 1));
        campaign_override_t *ov = &b->overrides [b->noverrides++];
        ov->group_id = qy_pg_int (res, r, 0);
        ov->guards = b->guards;
        if (!o || campaign_guards_apply (&ov->guards, o, err, sizeof (err)) < 0)
            qy_log_error ("brand=%s group_id=%lld campaign guard override ignored error=%s", b->code,
                          (long long) ov->group_id, o ? err : "not JSON");
        json_decref (o);
    }
}

int campaign_store_brand (campaign_store_t *self, int64_t brand_id, const campaign_brand_t **brand)
{
    for (size_t i = 0; i < self->nbrands; i++)
        if (self->brands [i]->brand_id == brand_id) {
            *brand = self->brands [i];
            return 0;
        }
    char bid [24];
    qy_pg_i64 (bid, brand_id);
    const char *p [] = { bid };
    PGresult *rb, *rg, *rc;
    if (!qy_pg_run (self->pg, "campaign brand", "SELECT code, qy_tz_offset_min (tz_name, tz_offset_min) FROM brands WHERE id = $1", 1, p, &rb))
        return -1;
    if (!qy_pg_run (self->pg, "campaign guards",
            "SELECT group_id, settings::text FROM campaign_guards WHERE brand_id = $1 ORDER BY group_id", 1, p, &rg)) {
        PQclear (rb);
        return -1;
    }
    if (!qy_pg_run (self->pg, "campaign definitions",
            "SELECT id, name, definition::text FROM campaigns WHERE brand_id = $1 AND enabled "
            "AND definition <> '{}'::jsonb ORDER BY id", 1, p, &rc)) {
        PQclear (rb);
        PQclear (rg);
        return -1;
    }
    campaign_brand_t *b = qy_calloc (1, sizeof (*b));
    b->brand_id = brand_id;
    b->code = qy_strdup (PQntuples (rb) ? PQgetvalue (rb, 0, 0) : "");
    b->tz = PQntuples (rb) ? (int) qy_pg_int (rb, 0, 1) : 480;
    s_load_guards (b, rg);
    for (int r = 0; r < PQntuples (rc); r++) {
        char err [256];
        json_t *o = json_loads (PQgetvalue (rc, r, 2), 0, NULL);
        campaign_def_t *def = o ? campaign_def_parse (o, err, sizeof (err)) : NULL;
        json_decref (o);
        if (!def) {
            qy_log_error ("brand=%s campaign=%s definition skipped error=%s", b->code,
                          PQgetvalue (rc, r, 1), o ? err : "not JSON");
            continue;
        }
        def->id = qy_pg_int (rc, r, 0);
        b->defs = qy_realloc (b->defs, sizeof (campaign_def_t *) * (b->ndefs + 1));
        b->defs [b->ndefs++] = def;
    }
    PQclear (rb);
    PQclear (rg);
    PQclear (rc);
    self->brands = qy_realloc (self->brands, sizeof (campaign_brand_t *) * (self->nbrands + 1));
    self->brands [self->nbrands++] = b;
    qy_log_info ("brand=%s campaigns loaded=%zu guard_overrides=%zu", b->code, b->ndefs, b->noverrides);
    *brand = b;
    return 0;
}

int campaign_store_brands (campaign_store_t *self, int64_t **ids, size_t *n)
{
    if (!self->ids_loaded) {
        PGresult *res;
        if (!qy_pg_run (self->pg, "campaign brands",
                "SELECT DISTINCT brand_id FROM campaigns WHERE enabled AND definition <> '{}'::jsonb ORDER BY 1", 0, NULL, &res))
            return -1;
        self->nids = (size_t) PQntuples (res);
        self->ids = qy_calloc (self->nids + 1, sizeof (int64_t));
        for (size_t i = 0; i < self->nids; i++)
            self->ids [i] = qy_pg_int (res, (int) i, 0);
        PQclear (res);
        self->ids_loaded = true;
    }
    *ids = self->ids;
    *n = self->nids;
    return 0;
}

bool campaign_store_has_states (campaign_store_t *self)
{
    if (self->has_states < 0) {
        PGresult *res;
        if (!qy_pg_run (self->pg, "scoring states",
                "SELECT to_regclass ('member_states') IS NOT NULL AND to_regclass ('group_states') IS NOT NULL",
                0, NULL, &res))
            return false;
        self->has_states = PQgetvalue (res, 0, 0) [0] == 't';
        PQclear (res);
    }
    return self->has_states == 1;
}
