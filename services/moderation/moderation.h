//  moderation: judges every message against its brand's rules, counts
//  behaviour in Redis, decides an action on the brand's escalation ladder,
//  records violations and sends actions straight to notifier.
#ifndef MODERATION_H
#define MODERATION_H
#include <stdbool.h>
#include <stdint.h>
#include "judge.h"
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/redis.h"

//  A brand's moderation policy: thresholds, ladder, behaviour limits.
typedef struct {
    judge_thresholds_t thresholds;
    judge_ladder_t     ladder;
    bool               exempt_staff;     //  staff, admins and owners are not judged
    int                strike_days;      //  strikes older than this no longer count
    //  flooding: more than flood_max messages within flood_window_s seconds
    char               flood_rule [64];  //  empty: no flood rule
    int                flood_max;
    int                flood_window_s;
    double             flood_weight;
    bool               flood_dry_run;
} moderation_policy_t;

//  Defaults for a brand with no settings.
void moderation_policy_default (moderation_policy_t *p);
//  Apply settings JSON ({"review":…, "recall":…, "mute":…, "remove":…,
//  "ladder":"warn,mute:1440,…", "exempt_staff":true, "strike_days":90}).
//  Returns 0 or -1 with err filled.
int moderation_policy_apply_json (moderation_policy_t *p, const char *json, char *err, size_t errlen);
//  Take a rule row of kind "flood" (pattern "MAX/SECONDS"). Returns 0 or -1.
int moderation_policy_flood_rule (moderation_policy_t *p, const judge_rule_row_t *row, char *err, size_t errlen);

//  What happens to a member and a message.
typedef struct {
    Qy__Action action;       //  ALLOW, REVIEW, WARN, MUTE, BLOCK
    bool       recall;       //  recall the message
    bool       strike;       //  counts as a strike on the ladder
    int        mute_minutes;
} moderation_penalty_t;

//  Map the decided level and the member's prior strikes to a penalty. Pure.
moderation_penalty_t moderation_penalty (const moderation_policy_t *p, judge_action_t level, int prior_strikes);
//  Level for a total score, counting the flood hit when count exceeds the limit.
judge_action_t moderation_level (const moderation_policy_t *p, double judge_total,
                                 long flood_count, double *total_out);
//  The text sent to a group when a member is warned, muted or removed.
//  Caller owns the result.
char *moderation_notice (const moderation_penalty_t *pen, const char *nickname,
                         const char *category, int strike, int64_t until_us, int tz_offset_min);
//  The one reminder a muted member gets when they speak. Caller owns it.
char *moderation_mute_reminder (const char *nickname, int64_t until_us, int tz_offset_min);

//  ---------------------------------------------------------------- store
//  Per-brand rule sets and policies loaded from PostgreSQL, kept until a
//  NOTIFY on channel qy_config says they changed.
typedef struct moderation_brand_t {
    int64_t              id;
    char                 code [64];
    int                  tz_offset_min;
    judge_t             *judge;
    moderation_policy_t  policy;
    bool                 degraded;       //  runs a fallback rule set (see the log)
} moderation_brand_t;

typedef struct moderation_store_t moderation_store_t;

moderation_store_t *moderation_store_new (qy_pg_t *pg, const judge_options_t *judge_opts);
void moderation_store_destroy (moderation_store_t **self_p);
//  The brand's rules and policy, loading them on first use. NULL when
//  PostgreSQL is away or the brand's rules do not compile (logged).
moderation_brand_t *moderation_store_brand (moderation_store_t *self, int64_t brand_id);
//  Forget a brand (or all, brand_id 0) so the next event reloads it.
void moderation_store_invalidate (moderation_store_t *self, int64_t brand_id);

//  A decided violation to record.
typedef struct {
    const Qy__Event     *ev;
    const judge_result_t *judged;          //  may be NULL (flood-only or mute)
    const char          *category;
    double               score;
    judge_action_t       level;
    bool                 flood_hit;
    const char          *flood_rule;
    double               flood_weight;
} moderation_violation_t;

//  Outcome of recording: the violation row and the penalty applied.
typedef struct {
    int64_t              violation_id;
    int                  strike;          //  this violation's strike number, 0 = none
    moderation_penalty_t penalty;
    int64_t              mute_until_us;
    bool                 existed;         //  already recorded (a replay): nothing new applied
} moderation_record_t;

//  Record a violation inside the caller's transaction (begin … commit),
//  serialised per member with an advisory lock so strike numbers are exact
//  across replicas, and idempotent by (brand, msg_id). Record a batch in
//  (brand, member) order so that two replicas never wait on each other in a
//  cycle. Returns 0 or -1 (PostgreSQL failed: roll back and retry the batch).
int moderation_store_record (moderation_store_t *self, const moderation_brand_t *brand,
                             const moderation_violation_t *v, moderation_record_t *out);
int moderation_store_begin (moderation_store_t *self);
int moderation_store_commit (moderation_store_t *self);
void moderation_store_rollback (moderation_store_t *self);
#endif
