//  The evaluation's PostgreSQL side: what it reads of a group, and the
//  one transaction that writes a group's states, health, channels and
//  suggestions. Every statement is scoped to the group's brand.
#ifndef SCORING_EVAL_STORE_H
#define SCORING_EVAL_STORE_H
#include "scoring.h"

typedef struct {
    int64_t brand_id, group_id, store_id, capacity;
    char    code [136], name [256], type [32], brand_code [64];
} scoring_group_row_t;

//  Returns 1 and fills g, 0 when the group is not the brand's, -1 on failure.
int scoring_store_group (qy_pg_t *pg, int64_t brand_id, int64_t group_id, const scoring_brand_t *brand,
                         scoring_group_row_t *g);
//  Gather the roll-ups of the 56 days up to today and compute the health.
int scoring_store_health (qy_pg_t *pg, const scoring_group_row_t *g, int32_t today, int64_t members,
                          scoring_health_t *h);
//  What one evaluation of a group writes, in one transaction: its
//  members' states, its health, its channels and its suggestions.
typedef struct {
    const scoring_group_row_t  *group;
    int32_t                     today;
    const scoring_member_t     *members;
    const scoring_standing_t   *standings;      //  one per member
    size_t                      nmembers;
    const scoring_health_t     *health;
    const scoring_channel_t    *channels;
    size_t                      nchannels;
    const scoring_suggestion_t *capacity;       //  to let go at capacity (scoring_capacity_list)
    size_t                      ncapacity;
    int                         needed;         //  how many must go for one more to join
    const scoring_suggestion_t *cleanout;       //  silent members (scoring_cleanout_list)
    size_t                      ncleanout;
} scoring_evaluation_t;
//  Write an evaluation. Returns 0, or -1 (rolled back, logged) when
//  PostgreSQL failed: the next round writes it again.
int scoring_store_write (qy_pg_t *pg, const scoring_evaluation_t *e);
//  The gateway's user id of a member ("" when unknown).
void scoring_store_user (qy_pg_t *pg, int64_t brand_id, int64_t member_id, char *buf, size_t len);
#endif
