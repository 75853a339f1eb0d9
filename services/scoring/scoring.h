//  scoring: hot counters in Redis per member, group and channel (days and
//  hours in the brand's time zone), member standing, group health, channel
//  quality, clean-out suggestions, and roll-ups of it all to PostgreSQL.
//  docs/scoring.md has the rules; this header the shapes.
//
//  Redis keys, all hash-tagged by group so a group lives on one shard and
//  one transaction touches one slot:
//    sc:ids:{g:G}:D    set of message ids counted for group G on day D (idempotency)
//    sc:g:{g:G}:D      hash: n (events), msgs, joins, leaves, viol, staff, posts,
//                      resp, replies, q, ans, h0..h23 (messages per hour)
//    sc:m:{g:G}:D      hash: member id → messages that day
//    sc:w:{g:G}:D      hash: message id → author member id (to resolve quotes)
//    sc:u:{g:G}:M      hash: member M's standing in G (SCORING_FIELDS below)
//    sc:mem:{g:G}      set of member ids seen in G
//    sc:uid:{g:G}      hash: gateway user id → member id (to resolve mentions)
//    sc:gs:{g:G}       hash: last speaker / question / bot post, state, health,
//                      xd (the day the group's keys' expiry was last moved on)
//    sc:lb:{g:G}       sorted set: member → replies received + mentions
//    sc:r:{g:G}        hash: r:M replies (quotes, answers) received by M, n:M mentions
//    sc:ch:{g:G}       hash: per channel C: C:joins C:mem C:act C:vm C:viol,
//                      C:j:D (joins on day D), C:l7:D / C:l30:D (of those,
//                      left within 7 / 30 days)
//    sc:lock:{g:G}     evaluation lease (one replica evaluates a group at a time)
//    sc:v:{g:G}        set by every counting transaction that writes to G: the
//                      one key a counting transaction WATCHes for its group
//    sc:dirty          set of "B:G:D" whose day counters changed since the last roll-up
//    sc:groups         set of "B:G" scoring has seen (what the evaluation visits)
//    sc:clock          sorted set: brand id → latest event time seen (seconds)
//  Day numbers count days since 1970-01-01 in the brand's zone.
#ifndef SCORING_H
#define SCORING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/redis.h"

//  ------------------------------------------------------------ events

//  What an event counts as.
typedef enum { SCORING_MSG, SCORING_JOIN, SCORING_LEAVE, SCORING_OTHER } scoring_kind_t;
scoring_kind_t scoring_kind (const Qy__Event *ev);
//  True when moderation recorded a violation for the event.
bool scoring_is_violation (const Qy__Event *ev);
//  Staff, admins, owners and bots: their messages do not count as the
//  group's own life (self-activation).
bool scoring_is_staff (const Qy__Event *ev);
//  A message that asks something: ends in a question mark (ASCII or
//  full-width) or a Chinese question particle (吗 呢 么), trailing spaces
//  and closing punctuation ignored.
bool scoring_is_question (const char *text);
//  A message with substance: at least min_chars characters (UTF-8 code
//  points) of text, or a link, file, mini-program or video.
bool scoring_is_substantial (const Qy__Event *ev, int min_chars);

typedef struct {
    //  64: the longest, with 20-digit ids and a negative day, takes 53.
    char ids [64], group [64], members [64], authors [64], authors_prev [64];
    char member [64], roster [64], uids [64], state [64], board [64], channels [64], replies [64], lock [64];
    char version [64];      //  bumped by every counting transaction of the group (what the next one WATCHes)
    char dirty [64];        //  the member of sc:dirty
    char seen [64];         //  the member of sc:groups
    int32_t day;
    int hour;
} scoring_keys_t;
void scoring_keys (scoring_keys_t *k, int64_t brand_id, int64_t group_id, int64_t member_id,
                   int64_t t_us, int tz_offset_min);
//  The group-day hash's field counting hour (0 … 23) of the local day:
//  "h0" … "h23"; NULL outside.
const char *scoring_hour_field (int hour);
//  v as Lua's tostring writes it ("%.14g") into buf (room for 32); returns
//  its length. Whole numbers (most counters and times) without printf.
size_t scoring_fmt_num (char *buf, double v);

//  ------------------------------------------------------- the script
//  (counting has none: see scoring_count_tally below.)
//  Lua: fold a group's channel cohorts older than 30 days into running
//  totals (see scoring_fold.lua). KEYS: channels. ARGV: the first day not
//  folded. Reply: the hash's fields and values after, as HGETALL.
extern const char scoring_fold_lua [];          //  scoring_fold.lua (embedded)
//  The member hash's fields (sc:u), in the order counting answers them.
#define SCORING_FIELDS(X) \
    X (first) X (jd) X (jt) X (jn) X (in) X (ch) X (mch) X (last) X (lt) X (days) X (streak) X (msgs) \
    X (as) X (al) X (at) X (subs) X (ans) X (vd) X (viol) X (staff) X (st) X (tl) X (lv) X (lu) X (xd)
enum {
#define S_ENUM(f) SCORING_F_##f,
    SCORING_FIELDS (S_ENUM)
#undef S_ENUM
    SCORING_F__COUNT
};
extern const char *const scoring_field_names [SCORING_F__COUNT];

//  ------------------------------------------------- member standing

//  What the member hash says of one member in one group.
typedef struct {
    int64_t member_id;
    int32_t first_day;      //  first seen (-1 unknown)
    int32_t join_day;       //  latest join (-1 none seen)
    int64_t join_t;         //  its time, unix seconds
    int64_t joins;
    bool    in_group;
    int64_t channel_id;     //  channel of the latest join
    int64_t first_channel;  //  channel the member is counted under (first join; -1 none)
    int32_t last_day;       //  last day with a message (-1 never)
    int64_t last_t;         //  time of the last message
    int64_t days;           //  days with a message
    int64_t streak;         //  consecutive such days ending at last_day
    int64_t msgs;
    double  act_s, act_l;   //  decayed message counts (short and long half-life) as of act_t
    int64_t act_t;
    int64_t substantial;    //  messages with substance
    int64_t replies;        //  quotes and answers received
    int64_t mentions;       //  mentions received
    int64_t answered;       //  questions this member answered
    int32_t viol_day;       //  last violation (-1 none)
    int64_t violations;
    bool    staff;
    char    state [16];     //  state at the last evaluation ("" none)
    int     trust_level;    //  trust level at the last evaluation
    int64_t key_rank;       //  rank in the group's board of replies + mentions (0 = top, -1 none)
    double  key_score;
} scoring_member_t;

//  Fill m from the values of SCORING_FIELDS (NULL = absent); member_id,
//  replies, mentions, key_rank and key_score are the caller's.
void scoring_member_parse (scoring_member_t *m, const char *const *values);
//  Set each member's key_rank from the group's board (member ids, most
//  replies + mentions first): the place among the members who can be key
//  members (in the group, not staff, admins, owners or bots); -1 for the
//  rest and for members not on the board.
void scoring_key_ranks (scoring_member_t *ms, size_t n, const int64_t *board, size_t nb);

//  One trust level's bar (all must hold). Days are whole days.
typedef struct {
    int    days_joined;     //  days since joining (or first seen)
    int    days_active;     //  days with a message
    int    messages;
    int    replies;         //  replies received + mentions
    int    clean_days;      //  no violation in this many days (0 = no condition)
} scoring_trust_bar_t;

//  A brand's scoring settings (brands.settings->'scoring'); defaults in
//  scoring_settings_default, documented in docs/scoring.md.
typedef struct {
    scoring_trust_bar_t trust [5];   //  [1..4]; [0] unused
    int    new_days;                 //  new: joined less than this many days ago
    int    lurker_days;              //  lurker: in the group and silent at least this many days
    double churn_ratio;              //  churn risk: recent rate below this share of the baseline rate
    double churn_min_rate;           //  … when the baseline rate is at least this many messages a day
    int    key_top;                  //  key member: among the top this many of the board
    double key_min;                  //  … with at least this many replies + mentions
    int    capacity_headroom;        //  capacity list when members ≥ capacity − headroom
    double cleanout_floor;           //  clean-out when messages a day (7-day mean) fall under this
    int    cleanout_silent_days;     //  … suggesting members silent at least this many days
    int    suggest_max;              //  at most this many members per list
    double w_reply, w_answer, w_substantial, w_violation;   //  contribution weights
} scoring_settings_t;

void scoring_settings_default (scoring_settings_t *s);
//  Overlay the JSON object json (brands.settings->'scoring', may be NULL
//  or empty) on s. Returns 0, or -1 with a reason in err when it is not
//  an object or a value has the wrong type or range (s keeps the defaults
//  for what failed).
int scoring_settings_parse (scoring_settings_t *s, const char *json, char *err, size_t errlen);

//  value decayed from time from_s to to_s with the given half-life (seconds).
double scoring_decay (double value, int64_t from_s, int64_t to_s, double half_life_s);
//  Messages a day that a decayed count stands for, as of now_s.
double scoring_rate (double act, int64_t act_t, int64_t now_s, double half_life_s);

//  Contribution: replies and quotes received, questions answered and
//  substantial messages, minus violations, weighted by the settings.
double scoring_contribution (const scoring_settings_t *s, const scoring_member_t *m);

typedef struct {
    int    trust_level;
    char   state [16];      //  new, active, lurker, churn_risk, key ("left" when out)
    double contribution;
    double activity;        //  short decayed count as of now
    double baseline;        //  long decayed count as of now
    double rate_recent, rate_baseline;   //  messages a day
} scoring_standing_t;

int scoring_trust_level (const scoring_settings_t *s, const scoring_member_t *m, int32_t today);
//  The standing an event carries: computed from the member hash as of the
//  event, keeping the trust level and key status the last evaluation gave
//  (replies received and the board are the evaluation's to read).
void scoring_event_standing (const scoring_settings_t *s, const scoring_member_t *m, int64_t now_s, int32_t today,
                             double half_short_s, double half_long_s, scoring_standing_t *out);
//  The member's standing as of now_s (today = brand's day of now_s).
void scoring_member_standing (const scoring_settings_t *s, const scoring_member_t *m, int64_t now_s, int32_t today,
                              double half_short_s, double half_long_s, scoring_standing_t *out);

//  ---------------------------------------------------- group health

#define SCORING_DAYS 56     //  days of daily stats the health looks at
typedef struct {
    int64_t msgs, active, joins, leaves, viol, staff, posts, resp;
} scoring_day_t;

typedef struct {
    scoring_day_t day [SCORING_DAYS];  //  [0] = today, [1] = yesterday, …
    int64_t members;                   //  in the group now
    int64_t wau, wau_prev, mau;        //  distinct speakers: last 7 days, the 7 before, last 30
    const int64_t *speaker_msgs;       //  messages per speaker over the last 28 days
    size_t  n_speakers;
    const char *type;                  //  groups.type
    int32_t age_days;                  //  today − first day the group was seen
    int32_t silent_days;               //  today − last day with a member (non-staff) message (-1 never)
    int32_t span_days;                 //  last day with a message − first day seen
} scoring_group_input_t;

typedef struct {
    int64_t dau, wau, mau, members;
    double active_ratio, msgs_per_day, top3_share, gini, self_activation;
    double growth_rate, leave_rate, violation_rate, post_response;
    int    health;
    char   state [16];        //  growing, healthy, declining, zombie
    char   lifecycle [16];    //  temporary, long_term
} scoring_health_t;

//  Gini coefficient of n values (0 = all equal, → 1 = one has all).
double scoring_gini (const int64_t *v, size_t n);
//  Share of the total held by the k largest values (0 when the total is 0).
double scoring_top_share (const int64_t *v, size_t n, size_t k);
void scoring_group_health (const scoring_group_input_t *in, scoring_health_t *out);

//  ------------------------------------------------------ suggestions

typedef struct {
    int64_t member_id;
    double  score;            //  lower = let go first
    char    reason [96];
} scoring_suggestion_t;

//  Rank the members to let go of a group at its capacity: members in the
//  group, never staff or key members, lowest keep-score first. Fills up
//  to max entries of out; returns how many. *needed is how many must go
//  for one more to join (0 when under capacity − headroom).
size_t scoring_capacity_list (const scoring_settings_t *s, const scoring_member_t *ms, const scoring_standing_t *st,
                              size_t n, int64_t capacity, int32_t today, scoring_suggestion_t *out, size_t max,
                              int *needed);
//  Members silent at least cleanout_silent_days (longest silence first),
//  when the group's messages a day are under the floor; 0 otherwise.
size_t scoring_cleanout_list (const scoring_settings_t *s, const scoring_member_t *ms, const scoring_standing_t *st,
                              size_t n, double msgs_per_day, int32_t today, scoring_suggestion_t *out, size_t max);

//  ----------------------------------------------------- channels

typedef struct {
    int64_t channel_id;
    int64_t joins, members, spoke, violators, violations;
    int64_t matured7, retained7, matured30, retained30;
} scoring_channel_t;

//  Fold the fields of a group's sc:ch hash (name/value pairs) into per-
//  channel figures as of today: the counters, the running totals of folded
//  cohorts (C:m7 C:r7 C:m30 C:r30) and the cohorts still in the hash.
//  Linear in n. Caller frees *out. Returns the count.
size_t scoring_channels_fold (const char *const *names, const char *const *values, size_t n, int32_t today,
                              scoring_channel_t **out);

//  ------------------------------------------------------- signals

//  The idempotent message id of a signal: sig:<name>:<group>:<member>:<day>.
void scoring_signal_id (char *buf, size_t len, const char *name, int64_t group_id, int64_t member_id, int32_t day);
//  The signal for a member state change, or NULL when the change is not
//  one campaign acts on (see docs/scoring.md).
const char *scoring_member_signal (const char *from, const char *to);
const char *scoring_group_signal (const char *from, const char *to);

//  ------------------------------------------------------- I/O parts

//  Brands as scoring needs them: time zone and settings, loaded from
//  PostgreSQL on first sight and again after scoring_brands_forget.
typedef struct {
    int64_t id;
    int     tz_offset_min;
    char    code [64];
    scoring_settings_t settings;
} scoring_brand_t;
typedef struct scoring_brands_t scoring_brands_t;
scoring_brands_t *scoring_brands_new (qy_pg_t *pg);
void scoring_brands_destroy (scoring_brands_t **self_p);
//  The brand (defaults for an unknown id), or NULL when PostgreSQL failed.
//  A bad settings object is logged and its defaults kept. The pointer stays
//  valid until scoring_brands_destroy, however many brands come after (its
//  contents change only when the brand is loaded again after a forget).
const scoring_brand_t *scoring_brands_get (scoring_brands_t *self, int64_t brand_id);
//  Reload every brand on its next use (settings may have changed).
void scoring_brands_forget (scoring_brands_t *self);
//  Set a brand by hand (tools and benchmarks without PostgreSQL): kept
//  until the next scoring_brands_forget.
void scoring_brands_put (scoring_brands_t *self, const scoring_brand_t *brand);
//  Note an event time (unix seconds) of the brand (0: only ask); returns
//  the latest noted for it (0 none), the "now" of its counter window.
int64_t scoring_brands_clock (scoring_brands_t *self, int64_t brand_id, int64_t t_s);

//  The state name as a static string ("" when not one of ours), so a
//  Standing can point at it.
const char *scoring_state_name (const char *s);

//  Pure. Whether an event of day moves the expiry of its group's long-lived
//  keys (or of its member's hash) on: xd is the day it was last moved (the
//  field xd of the state hash, of the member hash; NULL or not a number:
//  never), every the renewal period in days (members.renew_days; 0 and 1
//  mean every day). A day before xd (a late event) does not: the keys
//  already live past it.
bool scoring_renew_due (const char *xd, int32_t day, int every);

typedef struct {
    long   ttl_s;              //  day counters
    long   member_ttl_s;       //  member, roster, board, channel keys (refreshed while active)
    int    renew_days;         //  long-lived keys' expiry moved on at most this often (0, 1: daily)
    double half_short_s, half_long_s;
    int    reply_window_s;     //  an answer to the previous speaker within this counts as a reply
    int    post_window_s;      //  member messages this soon after a bot post count as responses
    int    substantial_chars;
} scoring_count_config_t;

//  What became of one event of a batch.
typedef enum {
    SCORING_PENDING,        //  no answer yet (send it, or send it again)
    SCORING_COUNTED,
    SCORING_SEEN,           //  counted before (a redelivery): nothing moved
    SCORING_TOO_OLD,        //  its day is counters.ttl_days or more behind the brand's latest event: not counted
    SCORING_REJECTED,       //  a key of its group has the wrong type (the caller sets it aside)
} scoring_outcome_t;
//  A batch's counting worked out without Redis: which events are counted
//  (pending ones), with their keys and whether they are out of the
//  counter window; the members of sc:dirty and sc:groups, once each (none
//  from an old event); each brand's latest event time (ZADD GT sc:clock).
typedef struct {
    size_t n, nsend;
    const scoring_brand_t **brand;   //  per event (NULL: not sent)
    scoring_keys_t *keys;            //  per event sent
    bool          *send, *old;       //  per event
    const char   **dirty, **seen;    //  point into keys
    size_t         ndirty, nseen;
    int64_t       *clock_brand, *clock_s;
    size_t         nclocks;
    //  One transaction per group (its keys share a hash tag, so a slot) on
    //  a Redis Cluster, one for the batch on a single Redis: call c counts
    //  the events order [call_start [c] .. call_start [c + 1]) in batch
    //  order; calls in the order their groups first appear.
    size_t        *order, *call_start;
    size_t         ncalls;
} scoring_plan_t;
//  Plan the events of evs [0..n) whose out [i] is SCORING_PENDING; the
//  brands' clocks are noted already (a batch is judged against its latest
//  event); cluster: Redis is a Redis Cluster (a call per group). Returns
//  0 (free with scoring_count_plan_free), or -1 when a brand could not be
//  loaded (PostgreSQL away; nothing to free).
int scoring_count_plan (const scoring_count_config_t *cfg, scoring_brands_t *brands, Qy__Event **evs,
                        const scoring_outcome_t *out, size_t n, bool cluster, scoring_plan_t *plan);
void scoring_count_plan_free (scoring_plan_t *plan);
//  ------------------------------------------- counting without Redis
//  What a counting batch read of Redis and will write (scoring_count_kv.c):
//  the reads are loaded in, scoring_count_tally reads and writes current
//  values, and the writes come out as one command per key and field.
typedef struct scoring_kv_t scoring_kv_t;
scoring_kv_t *scoring_kv_new (void);
void scoring_kv_destroy (scoring_kv_t **self_p);
//  What a read answered: a hash field's value (NULL absent), whether a set
//  holds a member, a hash's field count; a key whose read failed (wrong
//  type) is broken, and the events that read it are set aside.
void scoring_kv_load (scoring_kv_t *self, const char *key, const char *field, const char *value);
void scoring_kv_load_member (scoring_kv_t *self, const char *key, const char *member, bool in);
void scoring_kv_load_len (scoring_kv_t *self, const char *key, int64_t len);
void scoring_kv_break (scoring_kv_t *self, const char *key);
//  The key was read to exist and has its expiry (every write that may
//  make it sends EXPIRE NX in the same EXEC): its EXPIRE NX is not sent.
void scoring_kv_lasting (scoring_kv_t *self, const char *key);
bool scoring_kv_broken (scoring_kv_t *self, const char *key);
//  Whether any key is broken (most batches: none, and no key is asked).
bool scoring_kv_any_broken (const scoring_kv_t *self);
//  The event (index in the batch) the writes that follow are for.
void scoring_kv_event (scoring_kv_t *self, size_t event);
//  Current values, with this batch's writes (NULL: absent or not read).
const char *scoring_kv_get (scoring_kv_t *self, const char *key, const char *field);
int64_t scoring_kv_len (scoring_kv_t *self, const char *key);
//  Writes, as the Redis command of the name would do them.
int64_t scoring_kv_hincr (scoring_kv_t *self, const char *key, const char *field, int64_t by);
void scoring_kv_hset (scoring_kv_t *self, const char *key, const char *field, const char *value);   //  NULL: HDEL
bool scoring_kv_sadd (scoring_kv_t *self, const char *key, const char *member);    //  true: added
void scoring_kv_zincr (scoring_kv_t *self, const char *key, const char *member, int64_t by);
//  An expiry after the writes: EXPIRE (nx false) wins over EXPIRE NX.
void scoring_kv_expire (scoring_kv_t *self, const char *key, long ttl_s, bool nx);
//  A copy of s that lives as long as self (NULL for NULL). Values read
//  (get, get_at) live as long too, whatever is written after.
const char *scoring_kv_keep (scoring_kv_t *self, const char *s);
//  The fields names [0..n) of hash key, resolved once per batch: returns a
//  set number whose i-th entry (scoring_kv_field) is the field names [i],
//  loaded with scoring_kv_load_at, read with scoring_kv_get_at and
//  written with scoring_kv_hset_at without looking it up again (the
//  member hash, read and written by every event of its member). names
//  must outlive self. A hash first met here is reached only through its
//  set (scoring_kv_get by name does not see it).
size_t scoring_kv_fields (scoring_kv_t *self, const char *key, const char *const *names, size_t n);
//  A key's number in self (dense from 0, made on first sight), and the
//  entry of one of its hash fields (member false) or set members (true),
//  made if new (*made then true; made may be NULL): what a read planned
//  once per batch loads with scoring_kv_load_at, without a look-up by name.
//  An entry made so counts as read (absent in Redis until loaded): a
//  counter on it is written as its new value (scoring_kv_commands).
size_t scoring_kv_key (scoring_kv_t *self, const char *key);
size_t scoring_kv_entry (scoring_kv_t *self, size_t keyno, const char *field, bool member, bool *made);
size_t scoring_kv_field (const scoring_kv_t *self, size_t set, size_t i);
void scoring_kv_load_at (scoring_kv_t *self, size_t entry, const char *value);
const char *scoring_kv_get_at (const scoring_kv_t *self, size_t entry);
void scoring_kv_hset_at (scoring_kv_t *self, size_t entry, const char *value);
//  The events (indexes, ascending) that wrote key.
size_t scoring_kv_key_events (scoring_kv_t *self, const char *key, const size_t **events);
//  One write command; argv points into the kv (valid while it lives).
typedef struct {
    int           argc;
    const char  **argv;
    const size_t *argvlen;  //  the words' lengths (hiredis measures each twice otherwise)
    const char   *key;
} scoring_cmd_t;
//  The writes: per key HSET (fields set, and counters whose field was read:
//  their new values), HDEL, SADD (one each), HINCRBY and ZINCRBY
//  per field not read (summed), then the expiries. Caller frees with
//  scoring_cmds_free (the words stay the kv's).
size_t scoring_kv_commands (scoring_kv_t *self, scoring_cmd_t **cmds);
void scoring_cmds_free (scoring_cmd_t *cmds, size_t n);

//  One event as the counting takes it.
typedef struct {
    const char   *msg_id;
    scoring_kind_t kind;
    const char   *member;           //  member id, decimal
    int           hour;
    int64_t       t;                //  unix seconds
    int32_t       day;
    bool          violation, staff, bot, question, substantial;
    bool          old;              //  older than the counter window: not counted
    const char   *user, *ref;       //  gateway user id, quoted message id ("" none)
    const char   *channel;          //  channel id, decimal
    const char *const *mentions;    //  user ids (at most 50)
    size_t        nmentions;
    const scoring_keys_t *keys;
} scoring_tally_event_t;
//  What became of it, and the standing after it (values live as long as the kv).
typedef struct {
    scoring_outcome_t outcome;      //  COUNTED, SEEN, TOO_OLD or REJECTED (a key it reads is broken)
    int64_t     member_msgs, group_msgs, active;
    const char *group_state;
    const char *values [SCORING_F__COUNT];
} scoring_tally_answer_t;
//  Pure. Count evs [0..n) in order, each as it would be alone, against
//  what kv holds; the writes are left in kv. Reads needed: every event's
//  id in its ids set, its member hash (SCORING_FIELDS), its group-day's n
//  msgs replies, its member-day field and the day's member count, the
//  group state's lm lt qm qt pt state, the quoted ids in the day's and the
//  day before's authors, the mentioned ids in the uids hash.
void scoring_count_tally (const scoring_count_config_t *cfg, scoring_kv_t *kv, const scoring_tally_event_t *evs,
                          size_t n, scoring_tally_answer_t *answers);
//  Count the events of evs[0..n) whose out[i] is SCORING_PENDING: WATCH
//  and reads, counted in C, MULTI/EXEC of the writes (one transaction for
//  the batch on a single Redis, one per group on a cluster); fill out[i]
//  and st[i] (the standing after the event; empty for a rejected one) for
//  each answered. The caller sets every out[i] to
//  SCORING_PENDING before the first call. Returns 0 when all are answered,
//  or -1 when Redis or PostgreSQL failed: call again with the same arrays,
//  and only the events left pending are sent again (a rejected event's
//  partial counts are not repeated by the retry).
int scoring_count_batch (const scoring_count_config_t *cfg, qy_redis_t *redis, scoring_brands_t *brands,
                         Qy__Event **evs, Qy__Standing *st, scoring_outcome_t *out, size_t n);


//  A dirty mark "brand:group:day" of the roll-ups, parsed.
typedef struct {
    int64_t     brand_id, group_id;
    int32_t     day;            //  the brand's local day (days since 1970-01-01)
    const char *mark;           //  the mark it was read from (borrowed)
} scoring_rollup_key_t;
//  Pure. Which group-days one roll-up writes, from the marks[0..n) it
//  took: malformed marks dropped, each (group, day) once, sorted by group
//  and day (the order its rows are locked in, the same on every replica).
//  keys has room for n. Returns how many.
size_t scoring_rollup_plan (const char *const *marks, size_t n, scoring_rollup_key_t *keys);
//  Write the roll-ups of up to max dirty group-days: their counters read in
//  one Redis pipeline, one statement per table in one transaction. Returns
//  how many were written, or -1 if Redis or PostgreSQL failed (the dirty
//  marks of what was not written are kept).
int scoring_rollup (qy_redis_t *redis, qy_pg_t *pg, scoring_brands_t *brands, int max);

//  The evaluation: member standing, group health, channels, suggestions,
//  signals. Set up once; run every interval.
typedef struct {
    double half_short_s, half_long_s;
    long   member_ttl_s;      //  expiry of member and group keys (members.ttl_days)
    int    lease_ms;          //  how long one replica holds a group's evaluation
    int    sweep_every;       //  every how many rounds all groups are evaluated (0, 1: every round)
    bool   event_clock;       //  judge "now" by the brand's latest event (replays), not the wall clock
    void  *signals;           //  outlet (qy_outlet_t) of the campaign hop
    void  *alerts;            //  outlet (qy_outlet_t) of the notifier hop
} scoring_eval_config_t;
typedef struct scoring_eval_t scoring_eval_t;
scoring_eval_t *scoring_eval_new (const scoring_eval_config_t *cfg, qy_redis_t *redis, qy_pg_t *pg,
                                  scoring_brands_t *brands);
void scoring_eval_destroy (scoring_eval_t **self_p);
//  Evaluate the groups that changed (and, every cfg.sweep_every rounds,
//  all groups seen), for at most about budget_ms; *more is set
//  when the round is not finished (call again soon: it continues where it
//  stopped). Returns groups evaluated, or -1 on a Redis or PostgreSQL
//  failure (what failed is tried again on the next call).
int scoring_eval_run (scoring_eval_t *self, int budget_ms, bool *more);
//  The groups a roll-up wrote ("B:G"), for the evaluation's next round.
#define SCORING_EVAL_QUEUE_KEY "sc:evq"
//  Pure. Whether the round after `rounds` finished ones walks every group
//  (the first always does: after a start nothing is known of what changed).
bool scoring_eval_sweep_due (int64_t rounds, int sweep_every);
//  Signals and alerts sent since start (for metrics).
int64_t scoring_eval_signals (scoring_eval_t *self);
int64_t scoring_eval_alerts (scoring_eval_t *self);
//  Redis lost entirely: the current days counted again from the archive
//  (scoring_rebuild.c). The marker says scoring's counters are whole; its
//  absence (a new, empty Redis) starts a rebuild, claimed by one replica
//  at a time through the lock key.
#define SCORING_RESTORED_KEY "qy:scoring:restored"
#define SCORING_REBUILD_LOCK_KEY "qy:scoring:rebuilding"
typedef struct {
    const scoring_count_config_t *count;
    int  days;                  //  the brand's local days counted again, today included
    long page;                  //  archived events read and counted per step
} scoring_rebuild_config_t;
typedef struct scoring_rebuild_t scoring_rebuild_t;
//  Borrows redis, pg and brands; caller owns the result.
scoring_rebuild_t *scoring_rebuild_new (const scoring_rebuild_config_t *cfg, qy_redis_t *redis, qy_pg_t *pg,
                                        scoring_brands_t *brands);
void scoring_rebuild_destroy (scoring_rebuild_t **self_p);
//  Call from the main loop between batches: idle, checks the marker every
//  two seconds and claims a rebuild when it is gone; rebuilding, counts one
//  page. True while the counters are incomplete (a rebuild under way, here
//  or on another replica).
bool scoring_rebuild_step (scoring_rebuild_t *self);
//  True while this replica rebuilds.
bool scoring_rebuild_running (const scoring_rebuild_t *self);
//  Pure. The first second (unix) of the last `days` local days of a brand
//  at offset tz_offset_min, today included.
int64_t scoring_rebuild_from_s (int64_t now_us, int tz_offset_min, int days);
//  Pure. The verdict of an archived event from its recorded violation:
//  its id and action as the enum's name ("WARN"; unknown: ALLOW).
void scoring_rebuild_verdict (Qy__Verdict *v, int64_t violation_id, const char *action);
#endif
