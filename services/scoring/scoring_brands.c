//  Brands' time zones and scoring settings, cached.
#include "scoring.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>

struct scoring_brands_t {
    qy_pg_t         *pg;
    scoring_brand_t *all;
    bool            *fresh;
    size_t           n, cap;
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
    free ((*self_p)->all);
    free ((*self_p)->fresh);
    free (*self_p);
    *self_p = NULL;
}

void scoring_brands_forget (scoring_brands_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        self->fresh [i] = false;
}

static bool s_load (scoring_brands_t *self, scoring_brand_t *b)
{
    char id [24];
    qy_snprintf (id, sizeof (id), "%lld", (long long) b->id);
    const char *p [] = { id };
    PGresult *res;
    if (!qy_pg_run (self->pg, "brand settings",
                    "SELECT tz_offset_min, code, settings->'scoring' FROM brands WHERE id = $1", 1, p, &res))
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

static size_t s_slot (scoring_brands_t *self, int64_t brand_id)
{
    size_t i = 0;
    while (i < self->n && self->all [i].id != brand_id)
        i++;
    if (i == self->n) {
        if (self->n == self->cap) {
            self->cap = self->cap ? self->cap * 2 : 8;
            self->all = qy_realloc (self->all, self->cap * sizeof (*self->all));
            self->fresh = qy_realloc (self->fresh, self->cap * sizeof (*self->fresh));
        }
        memset (&self->all [i], 0, sizeof (self->all [i]));
        self->all [i].id = brand_id;
        self->fresh [i] = false;
        self->n++;
    }
    return i;
}

void scoring_brands_put (scoring_brands_t *self, const scoring_brand_t *brand)
{
    size_t i = s_slot (self, brand->id);
    self->all [i] = *brand;
    self->fresh [i] = true;
}

const scoring_brand_t *scoring_brands_get (scoring_brands_t *self, int64_t brand_id)
{
    size_t i = s_slot (self, brand_id);
    if (!self->fresh [i]) {
        if (!self->pg)
            return NULL;
        if (!s_load (self, &self->all [i]))
            return NULL;
        self->fresh [i] = true;
    }
    return &self->all [i];
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
