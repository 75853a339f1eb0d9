//  campaign definitions: what a playbook says (target, trigger, steps,
//  their templates), parsed from a definition file, and the pure rules
//  that read it: the clock and calendar, the guards, targeting and
//  activities. No I/O; the
//  unit tests call all of it.
#ifndef CAMPAIGN_DEF_H
#define CAMPAIGN_DEF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

// ------------------------------------------------------------- templates

//  Template variables. NULL values render as empty. {list} and {count} are
//  only filled for posts that gather many members (folded replies,
//  leaderboards, draws).
typedef struct {
    const char *nickname;
    const char *group;
    const char *store;
    const char *product;
    const char *coupon;
    const char *list;
    const char *count;
} campaign_vars_t;

//  Render {nickname} {group} {store} {product} {coupon} {list} {count};
//  "{{" and "}}" are literal braces; an unknown {name} is an error. Returns
//  the text (caller owns it), or NULL with err filled.
char *campaign_render (const char *tmpl, const campaign_vars_t *vars, char *err, size_t errlen);

// ----------------------------------------------------------- definitions

typedef enum {
    CAMPAIGN_T_SCHEDULE,     //  calendar dates / weekdays in the brand's zone
    CAMPAIGN_T_GROUP_AGE,    //  steps' day N counts from the group's creation
    CAMPAIGN_T_JOIN,         //  a member joined
    CAMPAIGN_T_SILENCE,      //  a member silent for N days
    CAMPAIGN_T_SIGNAL,       //  a scoring signal (member.lurker, group.declining …)
    CAMPAIGN_T_KEYWORD,      //  auto-reply to a keyword, folded per window
    CAMPAIGN_T_PURCHASE,     //  repurchase reminder from the product's usage cycle
    CAMPAIGN_T_CHECKIN,      //  签到打卡 with streaks, points and a leaderboard
    CAMPAIGN_T_CONTEST,      //  征集有奖: collect entries by keyword
} campaign_trigger_kind_t;

typedef enum {
    CAMPAIGN_S_POST,         //  a templated post
    CAMPAIGN_S_ACK,          //  folded acknowledgement (check-in, contest entry)
    CAMPAIGN_S_LEADERBOARD,  //  daily check-in leaderboard
    CAMPAIGN_S_DRAW,         //  lottery draw among eligible members
} campaign_step_kind_t;

typedef enum { CAMPAIGN_M_NONE, CAMPAIGN_M_SUBJECT, CAMPAIGN_M_ALL, CAMPAIGN_M_SEGMENT } campaign_mention_t;

typedef struct {
    char  **v;
    size_t  n;
} campaign_strv_t;

//  A member segment; trust_min/max -1 when not given.
typedef struct {
    bool            set;
    int             trust_min, trust_max;
    campaign_strv_t states;
    campaign_strv_t tags;
} campaign_segment_t;

typedef struct {
    char *name;
    char *tmpl;
    int   weight;
} campaign_variant_t;

typedef struct {
    campaign_step_kind_t kind;
    int    day;                  //  days after the trigger's anchor
    int    at_min;               //  minute of the local day; -1: as soon as triggered
    bool   best_time;            //  at the group's most active allowed hour
    bool   promotional;
    char  *coupon;
    campaign_variant_t *variants;    //  a plain "template" is one variant named ""
    size_t nvariants;
    campaign_mention_t mention;
    campaign_segment_t mention_segment;
    int    mention_limit;
    int    top;                  //  leaderboard length
    int    winners;              //  draw
    int    active_days;          //  draw: spoke within the last N days
} campaign_step_t;

typedef struct {
    campaign_strv_t regions, stores, group_types, group_tags, group_states;
    campaign_segment_t members;
} campaign_target_t;

#define CAMPAIGN_NO_DAY INT32_MIN

typedef struct {
    campaign_trigger_kind_t kind;
    int       weekdays;          //  schedule: bit d set for ISO weekday d (1 = Monday)
    int32_t  *dates;             //  schedule: explicit days (days since 1970-01-01)
    size_t    ndates;
    int       every_days;        //  schedule: every N days from "from"
    int32_t   from_day, until_day;   //  CAMPAIGN_NO_DAY when open
    int       silence_days;
    char     *signal;
    campaign_strv_t keywords;    //  keyword, checkin, contest
    int       fold_s;            //  folded replies gather this long
    campaign_strv_t products;    //  purchase: product codes ("*" = any) …
    int      *cycles;            //  … and their usage cycle in days
    int       remind_before;
    int       points, streak_bonus, max_bonus;   //  checkin
    int       max_entries;       //  contest: per member
} campaign_trigger_t;

typedef struct {
    int64_t id;
    char   *name;
    bool    enabled;
    campaign_target_t  target;
    campaign_trigger_t trigger;
    campaign_step_t   *steps;
    size_t  nsteps;
} campaign_def_t;

//  Parse and check one campaign object of a definition file. Returns the
//  definition (caller owns it) or NULL with err naming the campaign, the
//  field and what is wrong.
campaign_def_t *campaign_def_parse (json_t *obj, char *err, size_t errlen);
void campaign_def_destroy (campaign_def_t **self_p);
const char *campaign_trigger_name (campaign_trigger_kind_t k);
//  True when the trigger reacts to messages (keyword, checkin, contest).
bool campaign_trigger_listens (const campaign_def_t *def);

// ----------------------------------------------------------- clock, days

//  The campaign clock: wall time shifted by offset and, for tests, sped
//  up around an anchor: now = wall + offset + (wall - anchor) * (speed - 1).
//  Anchor and offset are fixed in the config, so a restarted service
//  continues the same clock.
typedef struct {
    int64_t offset_us;
    int64_t anchor_us;
    double  speed;
} campaign_clock_t;
int64_t campaign_clock_now (const campaign_clock_t *c);
int64_t campaign_clock_of (const campaign_clock_t *c, int64_t wall_us);

int32_t campaign_days_from_civil (int y, int m, int d);
void campaign_civil_from_days (int32_t day, int *y, int *m, int *d);
//  ISO weekday of a day number: 1 = Monday … 7 = Sunday.
int campaign_weekday (int32_t day);
//  "HH:MM" → minute of day, or -1.
int campaign_parse_hhmm (const char *s);
//  "YYYY-MM-DD" → day number; 0, or -1 if malformed.
int campaign_parse_date (const char *s, int32_t *day);
//  Unix µs of minute `minute` of local day `day` in a zone.
int64_t campaign_local_us (int32_t day, int minute, int tz_offset_min);
//  Minute of the local day of an instant.
int campaign_minute_of (int64_t t_us, int tz_offset_min);
//  Does a schedule trigger fire on this local day?
bool campaign_schedule_on (const campaign_trigger_t *t, int32_t day);

// ------------------------------------------------------------------ guards

typedef struct {
    int promo_quiet_days;        //  no promotional post in a group's first N days
    int promo_per_day;           //  at most K promotional posts per group per day
    int quiet_start, quiet_end;  //  minutes of day; no proactive post in [start, end)
    int at_all_per_day;          //  at most this many @all per group per day
    int member_per_week;         //  a member contacted by at most J campaigns a week
} campaign_guards_t;

void campaign_guards_default (campaign_guards_t *g);
//  Overlay the keys present in obj. Returns 0, or -1 with err.
int campaign_guards_apply (campaign_guards_t *g, json_t *obj, char *err, size_t errlen);
bool campaign_quiet (const campaign_guards_t *g, int minute_of_day);

typedef struct {
    bool promotional;
    bool at_all;
    bool reply;                  //  a folded reply: answers members, not proactive
    bool has_subject;            //  the step is about one member
    bool opted_out;              //  … who opted out
    int  subject_week;           //  other campaigns that contacted the subject this week
    int  group_age_days;
    int  promos_today;
    int  at_all_today;
    int  minute_of_day;
} campaign_guard_in_t;

typedef enum { CAMPAIGN_PASS, CAMPAIGN_BLOCK, CAMPAIGN_DEFER } campaign_verdict_t;
//  Check the guards in a fixed order. On BLOCK *guard names the guard; on
//  DEFER (quiet hours) *guard is "quiet_hours" and *defer_min the minutes
//  until the quiet hours end.
campaign_verdict_t campaign_guard_check (const campaign_guards_t *g, const campaign_guard_in_t *in,
                                         const char **guard, int *defer_min);
//  The allowed hour (not in quiet hours) with the most messages in hist;
//  ties go to the earlier hour; fallback when hist is empty or all zero.
int campaign_best_hour (const int64_t hist [24], const campaign_guards_t *g, int fallback_hour);

// ---------------------------------------------------------------- targeting

typedef struct {
    int64_t id, store_id;
    const char *code, *name, *type, *store_code, *store_name, *region_code, *state;
    const char *const *tags;
    size_t  ntags;
    int64_t created_us;
} campaign_group_t;

typedef struct {
    int  trust;                  //  -1 unknown
    const char *state;           //  NULL unknown
    const char *const *tags;
    size_t ntags;
} campaign_member_t;

bool campaign_target_group (const campaign_target_t *t, const campaign_group_t *g);
//  An unknown trust level or state never matches a segment that asks for one.
bool campaign_segment_match (const campaign_segment_t *s, const campaign_member_t *m);
bool campaign_keyword_match (const campaign_strv_t *keywords, const char *text);
//  The variant a group gets: stable for (campaign, step, group), by weight.
size_t campaign_variant_pick (const campaign_step_t *s, int64_t campaign_id, size_t step, int64_t group_id);
//  The due time of a step whose anchor is local day `anchor_day`; best_hour
//  is used for best-time steps. Event-triggered steps without "at" are due
//  at trigger_us + day days.
int64_t campaign_step_due (const campaign_step_t *s, int32_t anchor_day, int64_t trigger_us,
                           int tz_offset_min, int best_hour);
//  Usage cycle in days of a product for a purchase trigger, or -1.
int campaign_product_cycle (const campaign_trigger_t *t, const char *product);

// ---------------------------------------------------------------- activities

//  Streak after checking in on `today`, given the last check-in day and its
//  streak (last_day CAMPAIGN_NO_DAY when none).
int campaign_checkin_streak (int32_t last_day, int last_streak, int32_t today);
int campaign_checkin_points (const campaign_trigger_t *t, int streak);
//  Draw k winners among n eligible member ids with a seeded generator
//  (splitmix64, partial Fisher-Yates over the ids in ascending order): the
//  same seed and the same eligible set always give the same winners.
//  Writes up to k ids to winners; returns how many.
size_t campaign_draw (const int64_t *eligible, size_t n, uint64_t seed, size_t k, int64_t *winners);
#endif
