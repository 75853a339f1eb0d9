//  The steps of a campaign: what a due job's post says and whom it names
//  (the members a segment picks, check-ins, a leaderboard, contest entries,
//  a draw), read from PostgreSQL. Internal to the campaign library: the
//  runner (campaign_run.c) claims jobs, checks guards and sends the post.
#ifndef CAMPAIGN_STEP_H
#define CAMPAIGN_STEP_H
#include "campaign_int.h"

//  A claimed job.
typedef struct {
    int64_t id, brand_id, campaign_id, group_id, member_id, due;
    size_t  step;
    const char *period, *variant, *product, *key, *trigger_msg, *coupon;
    int64_t *mentions;
    size_t  nmentions;
    bool    promotional, at_all;
    bool    handed;          //  the post went to notifier: whatever fails next, it is out
} campaign_job_t;

//  What the post will say and whom it names.
typedef struct {
    int64_t *ids;            //  members named (mentions), in order
    size_t   nids;
    qy_buf_t list;
    char     count [24];
    char    *nickname;
    bool     empty;          //  nothing to post (no check-ins, nobody eligible)
    uint64_t seed;           //  draws
    bool     drawn;          //  the draw was recorded in an earlier pass
    int64_t *eligible;
    size_t   neligible;
} campaign_content_t;

//  Add id to the set ids[0..n) unless it is there.
void campaign_ids_add (int64_t **ids, size_t *n, int64_t id);
//  Add every integer written in text ("{1,2,3}") to the set.
void campaign_ids_parse (const char *text, int64_t **ids, size_t *n);
//  Members' gateway ids and display names, in the order given (id,
//  user_id, name per row). Caller PQclear()s; NULL when PostgreSQL failed.
PGresult *campaign_step_names (campaign_ctx_t *ctx, const campaign_job_t *job, const int64_t *ids, size_t n);
//  Members of the job's group matching the step's mention segment, not
//  opted out and contacted by fewer than cap campaigns this week, into
//  c->ids. 0, or -1 when PostgreSQL failed.
int campaign_step_segment (campaign_ctx_t *ctx, const campaign_step_t *s, const campaign_job_t *job, int64_t now, int cap,
                           campaign_content_t *c);
//  What an activity step lists (check-ins, the leaderboard, entries, a
//  draw) into c. 0, or -1 when PostgreSQL failed.
int campaign_step_activity (campaign_ctx_t *ctx, const campaign_brand_t *b, const campaign_def_t *def,
                            const campaign_step_t *s, const campaign_job_t *job, int64_t now, campaign_content_t *c);
void campaign_content_free (campaign_content_t *c);
#endif
