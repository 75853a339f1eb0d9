//  The evaluation's PostgreSQL side: what it reads of a page of groups, and
//  the one transaction that writes the page's states, health, channels and
//  suggestions. Every statement is scoped to each group's brand.
#ifndef SCORING_EVAL_STORE_H
#define SCORING_EVAL_STORE_H
#include "scoring.h"

typedef struct {
    int64_t brand_id, group_id, store_id, capacity;
    char    code [136], name [256], type [32], brand_code [64];
} scoring_group_row_t;

//  The evaluation works a page of groups at a time (up to 50) and reads and
//  writes each page with a fixed number of statements, whatever its size:
//  a statement per group made the evaluation's cost grow with the number of
//  groups (issue 19 target 4).
//
//  Read the rows of groups (brand_ids[i], group_ids[i]) in one statement:
//  rows[i] filled and found[i] set when group i is its brand's (brand_code
//  left to the caller). Returns 0, or -1 when PostgreSQL failed.
int scoring_store_groups (qy_pg_t *pg, const int64_t *brand_ids, const int64_t *group_ids, size_t n,
                          scoring_group_row_t *rows, bool *found);
//  Gather each group's roll-ups of the SCORING_DAYS days up to today[i] into
//  in[i] (its members and type are the caller's), in four statements for the
//  page. in[i].speaker_msgs is allocated: scoring_store_inputs_free. Returns
//  0, or -1 when PostgreSQL failed (nothing allocated).
int scoring_store_inputs (qy_pg_t *pg, const scoring_group_row_t *const *g, const int32_t *today, size_t n,
                          scoring_group_input_t *in);
void scoring_store_inputs_free (scoring_group_input_t *in, size_t n);
//  What one evaluation of a group writes: its members' states, its
//  health, its channels and its suggestions.
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
//  Write n evaluations (of different groups) in one transaction, one
//  statement per table. Returns 0, or -1 (rolled back, logged) when
//  PostgreSQL failed: the caller writes them one at a time, so one group
//  refused for its data holds up no other; the next round writes it again.
int scoring_store_write (qy_pg_t *pg, const scoring_evaluation_t *e, size_t n);
//  The gateway's user ids of members (brand_ids[i], member_ids[i]) in one
//  statement: rows (brand_id, id, user_id). NULL when PostgreSQL failed;
//  caller PQclears.
PGresult *scoring_store_users (qy_pg_t *pg, const int64_t *brand_ids, const int64_t *member_ids, size_t n);
#endif
