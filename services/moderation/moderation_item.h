//  One event of a moderation batch as its phases see it
//  (moderation_batch.c: judging, the behaviour counts, acting and passing
//  on; moderation_record.c: deciding and recording). Internal to the
//  moderation service.
#ifndef MODERATION_ITEM_H
#define MODERATION_ITEM_H
#include "moderation.h"
#include "moderation_batch.h"

typedef struct {
    Qy__Event          *ev;
    moderation_brand_t *brand;
    const moderation_policy_t *pol;      //  the group's policy
    judge_result_t      judged;          //  content hits, then behaviour hits
    bool                judged_ok;
    bool                count;           //  the sender's behaviour is counted
    bool                has_content;     //  long enough to count repeats and waves
    bool                waiting;         //  only asks whether anyone is there: not counted as behaviour
    moderation_report_t report;          //  a member's report (举报)
    uint64_t            hash;            //  of the normalized content
    moderation_counts_t counts;
    int64_t             mute_until_us;   //  0: not muted
    bool                blocked;
    //  decided
    judge_action_t      level;
    judge_action_t      would;           //  with dry-run hits counted
    bool                notice;          //  nickname reminder only
    double              total;
    const char         *category;
    moderation_record_t rec;
    size_t              idx;          //  arrival order in the batch
    bool                superseded;   //  an earlier item of the batch already muted or blocked the member
    bool                held;         //  already muted or blocked when recorded (another replica): enforce, whenever the mute ends
    bool                seen;         //  moderation finished this message before (a redelivery)
    bool                sent;         //  passed on, with every action it made
    bool                prior;        //  decided before with a recorded outcome: repeat it
    char                prior_category [32];
    const char         *enforce;      //  "mute" or "blocked": recorded so a replay repeats it
} moderation_item_t;


//  Decide each item that is new, neither muted nor blocked; those with a
//  violation go to pending. Returns how many. Pure.
size_t moderation_record_pending (moderation_item_t *items, size_t n, moderation_item_t **pending);
//  Record the batch in one transaction of two round trips (its violations,
//  what is enforced under a mute or block, customers' questions), retried
//  while PostgreSQL is away. Returns 0, or -1 when stopping.
int moderation_record_store (moderation_store_t *store, qy_pg_t *pg, moderation_item_t *items, size_t n,
                             moderation_item_t **pending, size_t npending);
//  What the batch owes the people in it besides the questions recorded
//  with its violations: reports, impersonating nicknames. False when stopping.
bool moderation_record_people (const moderation_ctx_t *ctx, moderation_item_t *items, size_t n);
#endif
