//  The staff task loop (docs/tasks.md). On WeCom's official API no program
//  may recall a customer's message, mute or remove a customer, and a mass
//  post goes out only when the owning staff member confirms it. For a brand
//  whose edge is 'official', notifier turns such deliveries into tasks for a
//  person at intake (every effect passes there, from every producer), hands
//  them over as application messages, reminds, escalates, and closes them on
//  evidence. The decisions are pure functions (notifier_tasks_rules.c); the
//  storage and the loop are in notifier_tasks.c.
#ifndef NOTIFIER_TASKS_H
#define NOTIFIER_TASKS_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/util.h"
#include "qy/metrics.h"

//  ------------------------------------------------------------ decisions

typedef enum { TASKS_CAP_GATEWAY, TASKS_CAP_OFFICIAL } tasks_cap_t;
//  What becomes of a delivery: sent to the edge, a task for a person
//  instead, or both (sent, and a person must confirm it).
typedef enum { TASKS_DELIVER, TASKS_TASK, TASKS_BOTH } tasks_route_t;
typedef enum { TASKS_K_NONE, TASKS_K_POST, TASKS_K_ANSWER, TASKS_K_REMOVE, TASKS_K_RECALL_WARN } tasks_kind_t;

//  "gateway" or "official" (anything else: gateway, as with no row).
tasks_cap_t notifier_tasks_cap (const char *capability);
//  Which deliveries an edge can carry. A gateway carries everything. The
//  official API carries alerts (message/send) and welcomes (the group welcome
//  template, sent by WeCom itself); a post goes out as add_msg_template AND
//  needs its owner's confirmation (both), and so does a warning (its text
//  offered as a mass send, and part of the recall_warn task); recall, mute
//  and remove are a person's work only (task). *kind says which task.
tasks_route_t notifier_tasks_route (tasks_cap_t cap, const Qy__Delivery *d, tasks_kind_t *kind);
const char *notifier_tasks_kind_name (tasks_kind_t kind);
//  What makes a task once only (staff_tasks.source_key): a post's delivery
//  key; for moderation "mod:<brand>:<message>:<group>:<kind>", so the recall,
//  warning and mute of one message in one group are one task, and a block's
//  removals from several groups one each. Caller frees.
char *notifier_tasks_source_key (const Qy__Delivery *d, tasks_kind_t kind);
tasks_kind_t notifier_tasks_kind_of (const char *name);

//  The reminder and escalation ladder of one task kind, in seconds: the
//  deadline counted from the task's creation, then the reminder, the
//  escalation to the store manager, to the region, and expiry, each counted
//  from the deadline (so remind_s 0 = reminded the moment it is overdue).
typedef struct {
    int64_t deadline_s, remind_s, manager_s, region_s, expire_s;
} tasks_ladder_t;
//  The built-in ladder of a kind.
tasks_ladder_t notifier_tasks_ladder_default (tasks_kind_t kind);
//  The ladder of kind from a brand's settings ("tasks": {"remove":
//  {"deadline_s": 600, …}, …}; missing keys keep the defaults). Returns 0,
//  or -1 with err filled when a value is not a whole number in range or the
//  steps are out of order (remind ≤ manager ≤ region ≤ expire).
int notifier_tasks_ladder_parse (json_t *settings, tasks_kind_t kind, tasks_ladder_t *out, char *err, size_t errlen);

//  The ladder's stages (staff_tasks.stage) and the steps that reach them.
typedef enum {
    TASKS_STEP_NONE = 0, TASKS_STEP_NOTIFY = 1, TASKS_STEP_REMIND = 2,
    TASKS_STEP_MANAGER = 3, TASKS_STEP_REGION = 4, TASKS_STEP_EXPIRE = 5
} tasks_step_t;
//  What to do now for an open task at stage (0..4) created at created_us:
//  first always the hand-over; then the furthest step whose time has come
//  (a loop that was down does not send every missed reminder). *next_us gets
//  when to look again (the step after the one returned, or after stage).
tasks_step_t notifier_tasks_next (const tasks_ladder_t *l, int stage, int64_t created_us, int64_t now_us, int64_t *next_us);
const char *notifier_tasks_step_name (tasks_step_t step);

//  What a notice says about a task (names, never ids alone).
typedef struct {
    int64_t     id;
    tasks_kind_t kind;
    tasks_step_t step;
    const char *group_name, *store_name;
    const char *member_name;         //  "" if the task concerns no member
    const char *owner_name;          //  who should have done it (escalations)
    const char *content, *evidence, *reason;
    const char *base_url;            //  the console ("" when none is deployed)
    int64_t     due_us;
    int         tz_offset_min;
} tasks_notice_t;
//  The title and text of the application message (text card) for n;
//  *url gets the task's page in the console ("" without base_url).
void notifier_tasks_notice (const tasks_notice_t *n, qy_buf_t *title, qy_buf_t *text, qy_buf_t *url);

//  ------------------------------------------------------------ storage

//  Turn the deliveries of official brands that the edge cannot carry into
//  tasks (one statement; idempotent by brand and source key). keep[i] is set
//  false for those that must not be sent at all. Returns the number of tasks
//  new or merged, or -1 if PostgreSQL failed (nothing recorded: retry).
int notifier_tasks_intake (qy_pg_t *pg, Qy__Delivery **ds, size_t n, bool *keep);

//  One pass of the loop: close open tasks on evidence (wecom_sends, the
//  archive), then move the due ones along their ladder, queueing each notice
//  as a delivery to the brand's edge. Safe with several replicas (FOR UPDATE
//  SKIP LOCKED). Returns the number of tasks changed, or -1.
typedef struct {
    int64_t closed, steps, expired;
} tasks_pass_t;
//  evidence: look for evidence in this pass (it costs more than the ladder).
int notifier_tasks_pass (qy_pg_t *pg, const char *base_url, int max, bool evidence, tasks_pass_t *out);

//  The loop runs in a thread of its own on its own PostgreSQL connection,
//  so intake and deliveries never wait on it: the ladder every poll_ms, the
//  evidence every evidence_ms.
typedef struct {
    qy_metric_t *closed, *steps, *expired, *pass;
} tasks_metrics_t;
typedef struct notifier_tasks_loop_t notifier_tasks_loop_t;
//  Start it (base_url is copied). Never NULL.
notifier_tasks_loop_t *notifier_tasks_start (const char *dsn, const char *base_url, int max, int poll_ms, int evidence_ms,
                                             tasks_metrics_t metrics);
//  Stop it (the pass under way finishes), join it and set *self_p to NULL.
void notifier_tasks_stop (notifier_tasks_loop_t **self_p);
#endif
