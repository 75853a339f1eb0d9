//  campaign: playbooks (SOPs) that HQ writes once and every matching group
//  runs. A definition (target, trigger, steps) is applied from a JSON file
//  with qyctl; the service turns triggers into jobs in PostgreSQL
//  (campaign_jobs, one per campaign, step, group and period), checks the
//  guards when a job falls due and sends it to notifier as a Delivery whose
//  key is the job's, so a redelivered event or a restart sends nothing twice.
//
//  One room each: definitions and their pure rules (campaign_def.h, no
//  I/O, unit-tested: templates, the clock and calendar, guards, targeting,
//  activities), storage (campaign_store.h), the steps (campaign_step.h:
//  what a due job posts), and here the service's work: the welcome, the
//  planner, the runner and event handling.
#ifndef CAMPAIGN_H
#define CAMPAIGN_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "campaign_def.h"            //  definitions and their pure rules
#include "campaign_store.h"          //  where they are kept

// ---------------------------------------------------------------- welcome

//  Should this event trigger the welcome? (a join that moderation did not
//  answer with removal; staff, admins, owners and bots are not welcomed)
bool campaign_wants_welcome (const Qy__Event *ev);

// ------------------------------------------------ planner, runner, events

//  Sends one Delivery to notifier. Returns 0, or -1 (not sent).
typedef int (campaign_send_fn) (void *arg, const Qy__Delivery *d);

typedef struct {
    qy_pg_t          *pg;
    campaign_store_t *store;
    campaign_clock_t  clock;
    campaign_send_fn *send;
    void             *send_arg;
    long   horizon_s;                //  plan jobs due this far ahead
    long   max_late_s;               //  a job later than this expires instead of going out
    long   batch;                    //  jobs claimed per transaction
    long   attribution_days;         //  conversions count this long after a post
    long   best_hour_default;        //  best-time steps of groups without history
} campaign_ctx_t;

//  Plan every brand's schedule, group-age and silence jobs (and check-in
//  leaderboards) due up to now + horizon; a silence spell gets all its
//  steps when it is found. Returns jobs created, -1 on PostgreSQL failure.
int campaign_plan (campaign_ctx_t *ctx);
//  Claim the due jobs (FOR UPDATE SKIP LOCKED), check guards, send or
//  record the block, each job under its own savepoint (a failing job is
//  retried later, the rest of the batch commits). Returns jobs claimed, -1
//  when the batch could not be committed.
int campaign_run (campaign_ctx_t *ctx);
//  React to one event from scoring: joins, keywords, check-ins, contest
//  entries, signals, purchases (reminders and conversions), opt-outs.
//  Returns 0, or -1 on PostgreSQL failure (the caller retries).
int campaign_on_event (campaign_ctx_t *ctx, const Qy__Event *ev);

//  Keys and periods, so tests and tools agree with the service.
void campaign_job_key (char *buf, size_t len, int64_t campaign_id, size_t step, int64_t group_id, const char *period);
#endif
