//  Internal to the campaign library: PostgreSQL helpers the planner, the
//  runner and the event handler share.
#ifndef CAMPAIGN_INT_H
#define CAMPAIGN_INT_H
#include "campaign.h"
#include "qy/util.h"

//  Groups of a brand with what targeting needs, owning their strings.
typedef struct {
    campaign_group_t *v;
    size_t  n;
    json_t *tags;            //  the parsed tag arrays, kept alive for g.tags
    char  **strings;
    size_t  nstrings;
} campaign_groups_t;

//  Load one group (group_id > 0) or all of a brand's groups. NULL when
//  PostgreSQL failed.
campaign_groups_t *campaign_groups_load (campaign_ctx_t *ctx, int64_t brand_id, int64_t group_id);
void campaign_groups_destroy (campaign_groups_t **self_p);

//  Insert the job for (campaign, step, group, period) unless it exists.
//  fold_member > 0 adds that member to the job's mentions while it is
//  pending (folded replies). Returns 1 created, 2 member added to a
//  pending job, 0 nothing done (it existed; or, folding, it was no longer
//  pending), -1 failed.
typedef struct {
    const campaign_brand_t *brand;
    const campaign_def_t   *def;
    size_t      step;
    const campaign_group_t *group;
    const char *period;
    int64_t     member_id;
    int64_t     due_us;
    const char *product;
    const char *trigger_msg;
    int64_t     fold_member;
    int64_t     trigger_us;         //  when the triggering event happened (0: planned)
} campaign_job_spec_t;
int campaign_job_insert (campaign_ctx_t *ctx, const campaign_job_spec_t *spec);

//  The member's standing for segments: 0, or -1 when PostgreSQL failed.
//  Strings in *m live until campaign_member_free.
int campaign_member_load (campaign_ctx_t *ctx, int64_t brand_id, int64_t group_id, int64_t member_id,
                          campaign_member_t *m);
void campaign_member_free (campaign_member_t *m);

//  Counts a metric with a label value.
void campaign_count (const char *name, const char *label, const char *value, int64_t by);
#endif
