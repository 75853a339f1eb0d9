//  campaign: playbooks (SOPs) that HQ writes once and every matching group
//  runs. The foundation runs the welcome message on join.
#ifndef CAMPAIGN_H
#define CAMPAIGN_H
#include <stdbool.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"

//  Template variables. NULL values render as empty.
typedef struct {
    const char *nickname;
    const char *group;
    const char *store;
} campaign_vars_t;

//  Render {nickname}, {group} and {store}; "{{" and "}}" are literal braces;
//  an unknown {name} is an error. Returns the text (caller owns it), or
//  NULL with err filled.
char *campaign_render (const char *tmpl, const campaign_vars_t *vars, char *err, size_t errlen);

//  Should this event trigger the welcome? (a join that moderation did not
//  answer with removal; staff, admins, owners and bots are not welcomed)
bool campaign_wants_welcome (const Qy__Event *ev);

//  Brand welcome templates and group / store names from PostgreSQL, cached
//  until a NOTIFY says campaigns changed.
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
#endif
