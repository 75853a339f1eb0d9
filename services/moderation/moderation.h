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
#include "qy/service.h"

//  A per-rule override from a policy layer ("rules": {"ad.phone": {...}}).
//  Unset fields: weight NAN, dry_run and enabled -1.
typedef struct {
    char   name [48];
    double weight;
    int    dry_run;
    int    enabled;
} moderation_override_t;
#define MODERATION_MAX_OVERRIDES 32

//  A moderation policy: thresholds, ladder, behaviour limits. One per brand,
//  and one per group whose region, store, type or own settings override it
//  (moderation_policies; see docs/moderation.md for the resolution order).
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
    //  the same normalized message more than repeat_max times in a group
    //  within repeat_window_s (0: off); texts shorter than min_chars code
    //  points are counted neither as repeats nor as waves
    int                repeat_max;
    int                repeat_window_s;
    double             repeat_weight;
    int                min_chars;
    //  spam wave: the same normalized content from one member in at least
    //  wave_groups groups, or from at least wave_members members across the
    //  brand's groups when the content has a hit of its own (however weak),
    //  within wave_window_s (0: that test is off)
    int                wave_groups;
    int                wave_members;
    int                wave_window_s;
    double             wave_weight;
    //  one member's copies in wave_groups groups are a wave only with
    //  evidence of promotion: a contact detail or an ad-like score at least
    //  the review threshold, a member new to the group, or groups of at
    //  least wave_stores stores within the window (0: that evidence is off)
    int                wave_stores;
    //  newcomers: a link or contact detail in the first newcomer_hours after
    //  joining the group raises the total to at least newcomer_weight
    //  (0 hours: off)
    int                newcomer_hours;
    double             newcomer_weight;
    //  join wave: join_wave_joins joins into one store's groups within
    //  join_wave_window_s make the newcomer rule stricter for join_wave_hold_s
    //  (join_wave_hours and join_wave_weight instead); 0 joins: off
    int                join_wave_joins;
    int                join_wave_window_s;
    int                join_wave_hold_s;
    int                join_wave_hours;
    double             join_wave_weight;
    //  quiet hours (brand-local minutes of the day): members' messages in
    //  [quiet_from, quiet_to) add quiet_weight; from == to: none
    int                quiet_from;
    int                quiet_to;
    double             quiet_weight;
    //  the behaviour ladder (flood, repeats, quiet hours, @all): the first
    //  behaviour_reminders violations within behaviour_window_h hours are
    //  friendly reminders, later ones a slow-down of behaviour_slow_minutes
    //  (the member's messages recalled meanwhile; 0: only the excess message
    //  recalled). Never a removal or block. Charged to the content ladder
    //  instead only while the member has a content strike within
    //  behaviour_link_days days (0: never).
    int                behaviour_reminders;
    int                behaviour_slow_minutes;
    int                behaviour_window_h;
    int                behaviour_link_days;
    //  unanswered customers: a customer's question with no staff message
    //  in the group answer_after_s seconds later, while the brand-local time
    //  is within [answer_from, answer_to) (minutes of the day), alerts the
    //  group's store; answer_escalate_s after it was asked, HQ (0: off)
    int                answer_after_s;
    int                answer_escalate_s;
    int                answer_from;
    int                answer_to;
    //  nickname format of the group, checked on join and rename ("" = none)
    char               nickname [128];
    moderation_override_t overrides [MODERATION_MAX_OVERRIDES];
    size_t             noverrides;
} moderation_policy_t;

//  Defaults for a brand with no settings.
void moderation_policy_default (moderation_policy_t *p);
//  Apply settings JSON on top of p ({"review":…, "recall":…, "mute":…,
//  "remove":…, "ladder":"warn,mute:1440,…", "exempt_staff":true,
//  "strike_days":90, "repeat":{…}, "spam_wave":{…}, "newcomer":{…},
//  "join_wave":{…}, "quiet":{"from":"23:00","to":"07:00","weight":1},
//  "nickname":"昵称-城市-肤质", "rules":{"NAME":{"weight":…,"dry_run":…,
//  "enabled":…}}}; keys absent keep their value, so layers stack).
//  Every key and type is checked: an unknown key (a typo) or a value of the
//  wrong type is refused, never ignored. Returns 0, or -1 with err filled
//  and p unchanged (all or nothing). This is for policy layers.
int moderation_policy_apply_json (moderation_policy_t *p, const char *json, char *err, size_t errlen);
//  The same for brands.settings, which other services share: its
//  "moderation" object is checked as a layer is; without one, the keys of
//  the whole object that moderation knows are applied and the others left
//  to their services.
int moderation_policy_apply_settings (moderation_policy_t *p, const char *json, char *err, size_t errlen);
//  The layer's keys and types alone, whatever lies beneath it (whether its
//  thresholds rise depends on the layers under it). Returns 0 or -1.
int moderation_policy_check_json (const char *json, char *err, size_t errlen);
//  Take a rule row of kind "flood" (pattern "MAX/SECONDS"). Returns 0 or -1.
int moderation_policy_flood_rule (moderation_policy_t *p, const judge_rule_row_t *row, char *err, size_t errlen);

//  What Redis counted for one event (moderation_behaviour.c).
typedef struct {
    long    flood;           //  messages of the member in the group within the flood window
    long    repeat;          //  copies of this content by the member in the group
    long    wave_groups;     //  groups where the member posted this content
    long    wave_members;    //  members who posted this content across the brand
    long    wave_stores;     //  stores whose groups the member posted this content in
    int64_t joined_ms;       //  when the member joined the group (0: unknown or long ago)
    bool    join_wave;       //  a join wave is on in the group's store
} moderation_counts_t;

//  Append the behaviour hits (flood, repeat, spam wave, newcomer contact,
//  quiet hours) that counts and time call for to r. Pure.
void moderation_behaviour_hits (const moderation_policy_t *p, const moderation_counts_t *c,
                                int64_t event_time_us, int tz_offset_min, judge_result_t *r);
//  Is this content a spam wave? Coordinated accounts (wave_members with a
//  hit of the content's own), or one member in wave_groups groups with
//  evidence of promotion: contact (a live contact detail), an ad-like score
//  at least the review threshold, newcomer (new to the group), or groups
//  of wave_stores stores. Pure.
bool moderation_wave (const moderation_policy_t *p, const moderation_counts_t *c, const judge_result_t *r,
                      bool contact, bool newcomer);
//  Apply the policy's rule overrides to r's hits (drop disabled, reweigh,
//  dry-run) and recompute score, total and top. Returns the total with the
//  dry-run rules counted as live ones (what the rules would have done).
double moderation_score (const moderation_policy_t *p, judge_result_t *r);
//  A chat message's content hits in a group, then its behaviour: the
//  group's overrides apply first (a rule the group turned off, reweighed or
//  made dry-run does not feed the behaviour rules that look at the content:
//  the newcomer's contact detail, the wave's signal, the top-up to a
//  total), then the behaviour hits are added and everything is scored
//  again. Returns what moderation_score returns. Pure.
double moderation_group_score (const moderation_policy_t *p, const moderation_counts_t *c,
                               int64_t event_time_us, int tz_offset_min, judge_result_t *r);
//  Is the nickname against the policy's format? Pure.
bool moderation_nickname_bad (const moderation_policy_t *p, const char *nickname);
//  Hash of normalized content for repeats and waves; false when the text
//  is shorter than min_chars code points (not counted).
bool moderation_content_hash (const char *norm, size_t len, int min_chars, uint64_t *hash);

//  Merge a brand's lists (moderation_lists rows: list, category, value)
//  into its rule rows: keywords become a rule "brand.<category>.dict",
//  exemptions are added as "!word" to every keyword / contact_phrase rule,
//  allowed domains to every url rule, allowed numbers to every phone rule.
//  Returns new rows (caller frees with moderation_rows_free).
typedef struct { const char *list, *category, *value; } moderation_list_row_t;
judge_rule_row_t *moderation_rows_merge (const judge_rule_row_t *rows, size_t n,
                                         const moderation_list_row_t *lists, size_t nlists, size_t *n_out);
void moderation_rows_free (judge_rule_row_t **rows_p, size_t n);

//  What happens to a member and a message.
typedef struct {
    Qy__Action action;       //  ALLOW, REVIEW, WARN, MUTE, BLOCK
    bool       recall;       //  recall the message
    bool       strike;       //  counts as a strike on the ladder
    int        mute_minutes;
    bool       behaviour;    //  a step of the behaviour ladder: a reminder or a slow-down, no strike
    const char *rule;        //  the behaviour rule it answers (for the notice); may be NULL
} moderation_penalty_t;

//  Map the decided level and the member's prior strikes to a penalty. Pure.
moderation_penalty_t moderation_penalty (const moderation_policy_t *p, judge_action_t level, int prior_strikes);
//  The text sent to a group when a member is warned, muted or removed.
//  Caller owns the result.
char *moderation_notice (const moderation_penalty_t *pen, const char *nickname,
                         const char *category, int strike, int64_t until_us, int tz_offset_min);
//  ------------------------------------------------------- the two ladders
//  (moderation_ladder.c, pure). Content violations climb the penalty
//  ladder; behaviour gets reminders, then slow-downs, never removal.
typedef enum { MODERATION_CONTENT, MODERATION_BEHAVIOUR } moderation_kind_t;
//  The kind of a violation's category: content for ad, fraud, gambling,
//  porn, abuse and spam_wave; behaviour for anything else (flood, format).
moderation_kind_t moderation_kind (const char *category);
const char *moderation_kind_name (moderation_kind_t kind);
//  The behaviour rule that weighs most among r's live hits (flood or
//  format category), for the notice; NULL if none.
const char *moderation_behaviour_rule (const judge_result_t *r);
//  A member's history as the ladders need it, read under their lock.
typedef struct {
    int  prior_strikes;      //  live content strikes within strike_days
    int  prior_behaviour;    //  behaviour reminders and slow-downs within behaviour_window_h
    bool content_recent;     //  a live content strike within behaviour_link_days
    int  linked_strikes;     //  live content strikes of the member's linked accounts (same unionid or phone)
} moderation_history_t;
//  The keys that link a member's accounts: "u:HASH" of the unionid and
//  "p:HASH" of the phone (its last 11 digits, at least 7), comma-separated;
//  "" when the event carries neither. Pure.
void moderation_link_keys (const char *unionid, const char *phone, char *buf, size_t len);
//  The penalty for a violation of kind at level: content (or behaviour of
//  a member with recent content strikes) through moderation_penalty;
//  behaviour through reminders, then slow-downs. Pure.
moderation_penalty_t moderation_ladder (const moderation_policy_t *p, moderation_kind_t kind, judge_action_t level,
                                        const moderation_history_t *h);
//  Where a new violation stands in the review queue (higher first), or NAN
//  when no person needs to look at it. Pure.
double moderation_review_priority (moderation_kind_t kind, Qy__Action action, double score, bool dry_run_only);
//  The notice of a behaviour step (pen->behaviour): why, and until when
//  (when: local time text) for a slow-down. Caller owns it.
char *moderation_behaviour_notice (const moderation_penalty_t *pen, const char *who, const char *when);
//  Is this strict normalized text only a customer asking whether anyone is
//  there ("有人吗", "在吗在吗", "你好请问有人在吗")? Such a customer is
//  waiting for an answer, not flooding: never counted as behaviour. Pure.
bool moderation_waiting_ping (const char *norm, size_t len);

//  ------------------------------------------------- members' reports (举报)
//  (moderation_report.c). A report: a gateway event of kind report, a reply
//  to a message whose strict text says 举报, or an @ of the brand's account
//  (a staff or bot member of the group) with 举报.
typedef struct {
    bool        is_report;
    bool        from_event;       //  kind report: a report whatever it names
    const char *reported_msg;     //  ref_msg_id (borrowed from the event), NULL: none named
    const char *reason;           //  poaching, fraud, gambling, porn, abuse, ad, other (static)
} moderation_report_t;
//  Is the event a report candidate? norm is its strict text. Pure.
bool moderation_report_detect (const Qy__Event *ev, const char *norm, size_t len, moderation_report_t *out);
//  Keep only the hits of a report's own text that are real identifiers (a
//  phone number, a WeChat or QQ id, a link), and settle r again. Pure.
void moderation_report_strip (judge_result_t *r, const char *text);
//  The reason a report's strict text gives (private poaching 私加 first). Pure.
const char *moderation_report_reason (const char *norm, size_t len);
//  What a report adds to the reported message's place in the queue. Pure.
double moderation_report_weight (int trust_level, bool against_staff, int false_reports);
//  Record a report and weigh the reported message in the review queue (a
//  flag row when it has none). Idempotent by the report's message id.
//  Returns 0, or -1 when PostgreSQL failed (retry).
int moderation_report_record (qy_pg_t *pg, const Qy__Event *ev, const moderation_report_t *rep);

//  ------------------------------------------------------- impersonation
//  (moderation_identity.c). A name a nickname may claim: kind "brand",
//  "store" or "staff"; name as written, norm its strict form.
typedef struct {
    const char *kind;
    const char *name;
    const char *norm;
    size_t      len;
} moderation_name_t;
//  Does the strict-normalized nickname claim a staff title (店长, 客服, 官方,
//  管理员 …, or their pinyin), the brand's or the store's name (contained),
//  or a staff member's name (equal, or contained when 3+ characters)?
//  Returns what it claims (static or names[i].name), or NULL. Pure.
const char *moderation_impersonation (const char *nick, size_t len, const moderation_name_t *names, size_t n);
//  A join's or rename's nickname to check, and what it claims.
typedef struct {
    const Qy__Event *ev;
    judge_t         *judge;         //  its brand's
    char             claim [128];   //  set when found
    bool             found;
} moderation_claim_t;
//  The names of each brand (its own and its staff's) nicknames are checked
//  against, read once per ttl_s (0: every batch) and kept: staff are
//  100,000 memberships of a brand at 100,000 groups.
typedef struct moderation_names_t moderation_names_t;
moderation_names_t *moderation_names_new (long ttl_s);
void moderation_names_destroy (moderation_names_t **self_p);
//  Is a copy read at read_at_us (0: none, -1: being read) still good at
//  now_us? Pure.
bool moderation_names_fresh (int64_t read_at_us, int64_t ttl_us, int64_t now_us);
//  A staff member of brand spoke under nickname: a copy that lacks it is
//  read again at the next check (a new staff member counts at once).
void moderation_names_seen (moderation_names_t *self, int64_t brand, const char *nickname);
//  Check a batch's joins' and renames' nicknames (of members who are staff
//  nowhere in their brand) against their brand, their group's store and
//  their brand's staff (names, refreshed as said), all in the judge's
//  strict normalization, in one round trip (two when a brand's names are
//  read): sets each found and claim. Returns 0, or -1 when PostgreSQL
//  failed (retry).
int moderation_impersonation_check (qy_pg_t *pg, moderation_names_t *names, moderation_claim_t *claims, size_t n);
//  Flag a found claim's member for review once per event (a 'flag' row,
//  category impersonation). Returns 0, or -1 when PostgreSQL failed.
int moderation_impersonation_flag (qy_pg_t *pg, const moderation_claim_t *claim);

//  The one reminder a muted member gets when they speak. Caller owns it.
char *moderation_mute_reminder (const char *nickname, int64_t until_us, int tz_offset_min);

//  ---------------------------------------------------------------- store
//  Per-brand rule sets and policies loaded from PostgreSQL, kept until a
//  NOTIFY on channel qy_config says they changed.
typedef struct moderation_layer_t moderation_layer_t;
typedef struct moderation_brand_t {
    int64_t              id;
    char                 code [64];
    int                  tz_offset_min;
    judge_t             *judge;
    moderation_policy_t  policy;         //  brand level (defaults, brands.settings, scope brand)
    bool                 degraded;       //  runs a fallback rule set (see the log)
    //  policy layers below the brand and the groups resolved so far
    moderation_layer_t  *layers;
    size_t               nlayers;
    void                *groups;         //  group id → resolved policy (moderation_store.c)
    int64_t              model_version [2];  //  moderation_models id of ad, abuse (0: shipped file)
} moderation_brand_t;

typedef struct moderation_store_t moderation_store_t;

moderation_store_t *moderation_store_new (qy_pg_t *pg, const judge_options_t *judge_opts);
//  The complaint model every brand's judge loads (NULL or "": none).
void moderation_store_complaint_model (moderation_store_t *self, const char *path);
//  The policy for a group of the brand, resolved through its region, store,
//  type and own layers (the brand's policy when none applies). NULL only
//  when PostgreSQL is away. Valid until the brand is invalidated.
const moderation_policy_t *moderation_store_policy (moderation_store_t *self, moderation_brand_t *brand,
                                                    int64_t group_id);
void moderation_store_destroy (moderation_store_t **self_p);
//  The brand's rules and policy, loading them on first use. NULL when
//  PostgreSQL is away or the brand's rules do not compile (logged).
moderation_brand_t *moderation_store_brand (moderation_store_t *self, int64_t brand_id);
//  Forget a brand (or all, brand_id 0) so the next event reloads it.
void moderation_store_invalidate (moderation_store_t *self, int64_t brand_id);

//  A decided violation to record.
typedef struct {
    const Qy__Event     *ev;
    const judge_result_t *judged;          //  hits, behaviour ones included; may be NULL
    const char          *category;
    double               score;
    judge_action_t       level;            //  ALLOW: a dry-run-only row
    judge_action_t       would_level;      //  with the dry-run hits counted
    bool                 notice;           //  a reminder only (nickname format): warn, no strike
    const moderation_policy_t *policy;     //  the group's policy (ladder, strike days)
} moderation_violation_t;

//  Outcome of recording: the violation row and the penalty applied.
typedef struct {
    int64_t              violation_id;
    int                  strike;          //  this violation's strike number, 0 = none
    moderation_penalty_t penalty;
    int64_t              mute_until_us;
    bool                 existed;         //  already recorded (a replay): nothing new applied
    Qy__Action           would_action;    //  what dry-run rules would have done more (ACTION_NONE: nothing)
    //  Nothing recorded: the member was already muted (until) or blocked —
    //  decided by another replica since this one looked — so the message
    //  is to be enforced under that penalty, not charged with a new strike.
    int64_t              held_mute_until_us;
    bool                 held_blocked;
    //  Not recorded: an earlier violation of the batch muted or blocked the
    //  member, so this message is enforced under that penalty.
    bool                 superseded;
} moderation_record_t;

//  What PostgreSQL holds about a violation's message and member, read
//  under the member's lock by moderation_store_read.
typedef struct {
    bool        recorded;            //  the message has a violation row already; then its:
    int64_t     id;
    int         strike;
    const char *action, *would, *kind;
    int64_t     mute_until_us;
    //  The member's mute (its end, 0: none) and block at the moment that
    //  counts: now for a live message, its time for a replayed one.
    int64_t     held_mute_until_us;
    bool        held_blocked;
    moderation_history_t history;    //  PostgreSQL's alone (not the batch's earlier rows)
} moderation_known_t;

//  An action's name in violations.action ("allow" for none), and back
//  (an unknown name is QY__ACTION__ALLOW).
const char *moderation_action_name (Qy__Action a);
Qy__Action moderation_action_parse (const char *s);
//  The penalty a recorded row (its action, strike and kind) stands for, to
//  repeat it on a replay.
moderation_penalty_t moderation_recorded_penalty (const char *action, int strike, const char *kind);

//  Decide a batch's violations as if they came one at a time: v in
//  (brand, member) order, known [i] what PostgreSQL holds for v [i]. A
//  member muted or blocked earlier in the batch supersedes their later
//  rows; a message already recorded, or twice in the batch, repeats its
//  outcome (existed); a member muted or blocked by another replica is held,
//  not charged; else the ladder with PostgreSQL's history plus the batch's
//  earlier rows of the member and of their linked accounts. A new mute
//  ends mute_minutes after now_us. Fills out [0..n). Pure.
void moderation_strikes_decide (const moderation_violation_t *v, const moderation_known_t *known, size_t n,
                                int64_t now_us, moderation_record_t *out);

//  Record a batch's violations as if one at a time, in two round trips with
//  the decision between them. moderation_store_read opens the transaction,
//  locks the members (advisory locks, so strike numbers are exact across
//  replicas) and reads their state, in one pipeline, and decides (pure:
//  moderation_strikes_decide) into out. v is in (brand, member) order — so
//  two replicas never wait on each other in a cycle — and every v->policy
//  is set. Returns 0 or -1 (PostgreSQL failed: roll back and retry the
//  batch). Then moderation_store_insert_plan adds the new rows' statement
//  to st (true when there is a new row; it is then st's last step), which
//  goes with the batch's other writes and COMMIT in one pipeline
//  (qy_pg_steps_t), and moderation_store_insert_take gives each its id.
//  Idempotent by (brand, msg_id).
int moderation_store_read (moderation_store_t *self, const moderation_violation_t *v, moderation_record_t *out,
                           size_t n);
bool moderation_store_insert_plan (const moderation_violation_t *v, const moderation_record_t *out, size_t n,
                                   qy_pg_steps_t *st);
//  From the insert's result (kept; NULL when none was planned): each new
//  row's id into out, by (brand, message); a copy of an earlier row of the
//  batch takes its id.
void moderation_store_insert_take (const moderation_violation_t *v, moderation_record_t *out, size_t n,
                                   const PGresult *res);
//  A replayed event is judged as things stood when it happened, not now:
//  was the member muted (end in *mute_until_us, 0 if not) or blocked at
//  event time t_us? Returns 0, or -1 if PostgreSQL failed.
int moderation_store_state_at (moderation_store_t *self, int64_t brand_id, int64_t member_id, int64_t t_us,
                               int64_t *mute_until_us, bool *blocked);
//  What moderation decided about a message before, if anything.
typedef struct {
    int64_t              violation_id;
    char                 category [32];
    moderation_record_t  rec;
} moderation_prior_t;
//  1 found (filled), 0 none, -1 PostgreSQL failed.
int moderation_store_prior (moderation_store_t *self, int64_t brand_id, const char *msg_id, moderation_prior_t *out);
//  Record an enforcement that is not a new strike — a muted member's message
//  recalled ("mute"), a blocked member's message or join answered with
//  removal ("blocked") — so that replaying the message repeats it exactly.
//  The mute's end goes into hits (not mute_until: the row is not a mute).
//  All of a batch's enforcements in one statement; idempotent by (brand, msg_id).
typedef struct {
    const Qy__Event *ev;
    const char      *category;
    Qy__Action       action;
    int64_t          mute_until_us;
} moderation_enforce_t;
//  Add the enforcements' statement to st (none when n is 0).
void moderation_store_enforce_plan (const moderation_enforce_t *list, size_t n, qy_pg_steps_t *st);
void moderation_store_rollback (moderation_store_t *self);
//  --------------------------------------------------- unanswered customers
//  (moderation_questions.c). Does a customer ask something: a member's text
//  that is a question (scoring_is_question), or a waiting ping? Pure.
bool moderation_question (const Qy__Event *ev, bool waiting);
//  Is t within the policy's business hours (answer.from–to, brand-local)? Pure.
bool moderation_open_hours (const moderation_policy_t *p, int64_t t_us, int tz_offset_min);
typedef enum { MODERATION_DUE_NONE, MODERATION_DUE_ALERT, MODERATION_DUE_ESCALATE } moderation_due_t;
//  What an open question asked at asked_us calls for now: the store's alert
//  after answer.after_s, HQ's after answer.escalate_s (once alerted); only
//  in business hours. Pure.
moderation_due_t moderation_question_due (const moderation_policy_t *p, int64_t asked_us, bool alerted, int64_t now_us,
                                          int tz_offset_min);
//  An operator alert to notifier: to the group's store robot (group set),
//  or HQ's (group_id 0). The key makes it once only. Returns 0 or -1.
typedef struct {
    const char *key;
    const char *brand;
    int64_t     brand_id;
    const char *group;
    int64_t     group_id;
    const char *text;
    const char *reason;
    const char *event_id;
    const char *member;         //  the customer it is about (gateway user id), or NULL: an answer task names them
} moderation_alert_t;
int moderation_alert (void *out, const moderation_alert_t *a);
//  Plan the recording of the batch's customer questions (asks[i]) and of
//  the staff messages that answer them: two statements added to st, each
//  only when the batch has rows for it. Idempotent by (brand, msg_id).
void moderation_questions_plan (const Qy__Event *const *evs, const bool *asks, size_t n, qy_pg_steps_t *st);
//  Alert the store about questions waiting past answer.after_s, HQ past
//  answer.escalate_s: once each across replicas. Call every few seconds.
void moderation_questions_sweep (moderation_store_t *store, qy_pg_t *pg, void *actions);

//  PostgreSQL failed: say so (health), keep the heartbeat, wait the next
//  step of wait's schedule (qy_service_wait; start each retry loop with a
//  zeroed qy_wait_t), unless stopping. False when stopping (past the grace).
bool moderation_pg_wait (qy_pg_t *pg, qy_wait_t *wait);

//  ----------------------------------------------------------------- people
//  (moderation_people.c). What a batch owes the people in it besides
//  judgement, for each event not finished before: its report recorded,
//  its nickname checked on join or rename (judge: the brand's, for the
//  normalization; NULL: not checked), its question or staff answer noted
//  (planned by moderation_people_questions to ride with the violations'
//  COMMIT; the rest by moderation_people_run, after it).
typedef struct {
    const Qy__Event           *ev;
    judge_t                   *judge;
    const moderation_report_t *report;       //  may be NULL
    bool                       waiting;      //  a waiting ping (a question)
    bool                       skip;         //  finished before, or a blocked member's
} moderation_person_t;
void moderation_people_questions (const moderation_person_t *people, size_t n, qy_pg_steps_t *st);
//  Retries while PostgreSQL is away; false when stopping.
bool moderation_people_run (qy_pg_t *pg, void *actions, moderation_names_t *names, const moderation_person_t *people,
                            size_t n);

#endif
