//  campaign storage: a brand's campaigns, guards and welcome template, and
//  group and store names, read from PostgreSQL and cached until a NOTIFY
//  says campaigns changed.
#ifndef CAMPAIGN_STORE_H
#define CAMPAIGN_STORE_H
#include "campaign_def.h"
#include "qy/pg.h"

// -------------------------------------------------------------- the store

typedef struct {
    int64_t  group_id;
    campaign_guards_t guards;
} campaign_override_t;

//  A brand's campaigns and guards, loaded from PostgreSQL.
typedef struct {
    int64_t  brand_id;
    char    *code;
    int      tz;
    campaign_guards_t guards;
    campaign_override_t *overrides;
    size_t   noverrides;
    campaign_strv_t optout_keywords;
    campaign_def_t **defs;
    size_t   ndefs;
} campaign_brand_t;

//  The guards that apply to a group (its override, else the brand's).
const campaign_guards_t *campaign_brand_guards (const campaign_brand_t *b, int64_t group_id);

//  Brand welcome templates, campaign definitions and group / store names
//  from PostgreSQL, cached until a NOTIFY says campaigns changed.
typedef struct campaign_store_t campaign_store_t;
campaign_store_t *campaign_store_new (qy_pg_t *pg);
void campaign_store_destroy (campaign_store_t **self_p);
void campaign_store_invalidate (campaign_store_t *self);
//  The brand's enabled join template: 1 found (*tmpl borrowed until the
//  next call), 0 none, -1 PostgreSQL failed. *name gets the campaign name.
int campaign_store_welcome (campaign_store_t *self, int64_t brand_id, const char **tmpl, const char **name);
//  Group and store display names: 0, or -1 when PostgreSQL failed.
int campaign_store_names (campaign_store_t *self, int64_t brand_id, int64_t group_id,
                          const char **group, const char **store);
//  A brand's campaigns (borrowed until the next invalidate): 0, or -1 when
//  PostgreSQL failed. A definition that no longer parses is logged and
//  skipped (qyctl checks it before it is stored).
int campaign_store_brand (campaign_store_t *self, int64_t brand_id, const campaign_brand_t **brand);
//  Every brand that has at least one definition-file campaign.
int campaign_store_brands (campaign_store_t *self, int64_t **ids, size_t *n);
//  True when scoring's member_states / group_states tables exist.
bool campaign_store_has_states (campaign_store_t *self);
#endif
