//  Brands' time zones and scoring settings, cached. Each brand is its own
//  allocation, so a pointer handed out stays valid while the cache grows:
//  a batch keeps one per event while later events bring in new brands.
#include "scoring.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    scoring_brand_t brand;
    bool            fresh;      //  loaded since the last scoring_brands_forget
    int64_t         clock_s;    //  latest event time seen
} s_entry_t;

struct scoring_brands_t {
    qy_pg_t    *pg;
    s_entry_t **all;
    size_t      n, cap;
};

scoring_brands_t *scoring_brands_new (qy_pg_t *pg)
{
    scoring_brands_t *self = qy_calloc (1, sizeof (*self));
    self->pg = pg;
    return self;
}

void scoring_brands_destroy (scoring_brands_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (size_t i = 0; i < (*self_p)->n; i++)
        free ((*self_p)->all [i]);
    free ((*self_p)->all);
    free (*self_p);
    *self_p = NULL;
}

void scoring_brands_forget (scoring_brands_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        self->all [i]->fresh = false;
}

static bool s_load (scoring_brands_t *self, scoring_brand_t *b)
{
    char id [24];
    qy_snprintf (id, sizeof (id), "%lld", (long long) b->id);
    const char *p [] = { id };
    PGresult *res;
    if (!qy_pg_run (self->pg, "brand settings",
                    "SELECT qy_tz_offset_min (tz_name, tz_offset_min), code, settings->'scoring' FROM brands WHERE id = $1", 1, p, &res))
        return false;
    scoring_settings_default (&b->settings);
    b->tz_offset_min = 480;
    b->code [0] = 0;
    if (PQntuples (res)) {
        b->tz_offset_min = (int) qy_pg_int (res, 0, 0);
        qy_strlcpy (b->code, PQgetvalue (res, 0, 1), sizeof (b->code));
        char err [160];
        if (!PQgetisnull (res, 0, 2) && scoring_settings_parse (&b->settings, PQgetvalue (res, 0, 2), err, sizeof (err)))
            qy_log_warn ("brand=%s brand_id=%lld bad scoring settings, defaults kept where wrong: %s",
                         b->code, (long long) b->id, err);
    }
    PQclear (res);
    return true;
}

static s_entry_t *s_slot (scoring_brands_t *self, int64_t brand_id)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->all [i]->brand.id == brand_id)
            return self->all [i];
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->all = qy_realloc (self->all, self->cap * sizeof (*self->all));
    }
    s_entry_t *e = qy_calloc (1, sizeof (*e));
    e->brand.id = brand_id;
    self->all [self->n++] = e;
    return e;
}

void scoring_brands_put (scoring_brands_t *self, const scoring_brand_t *brand)
{
    s_entry_t *e = s_slot (self, brand->id);
    e->brand = *brand;
    e->fresh = true;
}

const scoring_brand_t *scoring_brands_get (scoring_brands_t *self, int64_t brand_id)
{
    s_entry_t *e = s_slot (self, brand_id);
    if (!e->fresh) {
        if (!self->pg)
            return NULL;
        if (!s_load (self, &e->brand))
            return NULL;
        e->fresh = true;
    }
    return &e->brand;
}

int64_t scoring_brands_clock (scoring_brands_t *self, int64_t brand_id, int64_t t_s)
{
    s_entry_t *e = s_slot (self, brand_id);
    if (t_s > e->clock_s)
        e->clock_s = t_s;
    return e->clock_s;
}

const char *scoring_state_name (const char *s)
{
    static const char *const names [] = { "new", "active", "lurker", "churn_risk", "key", "left",
                                          "growing", "healthy", "declining", "zombie" };
    for (size_t i = 0; s && i < QY_ARRAY_LEN (names); i++)
        if (strcmp (s, names [i]) == 0)
            return names [i];
    return "";
}
