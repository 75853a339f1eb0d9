#include "campaign.h"
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
    return self;
}

void campaign_store_invalidate (campaign_store_t *self)
{
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
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    const char *p [] = { bid };
    PGresult *res;
    if (!qy_pg_run (self->pg, "welcome template",
            "SELECT template, name FROM campaigns WHERE brand_id = $1 AND trigger = 'join' AND enabled "
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
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    qy_snprintf (gid, sizeof (gid), "%lld", (long long) group_id);
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
