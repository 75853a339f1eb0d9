//  The Redis half of behaviour counting: each event's keys and values,
//  the pipelined commands of a call, and the counting in C
//  (moderation_behaviour_count.c). Internal to the moderation service and
//  its tests.
#ifndef MODERATION_BEHAVIOUR_H
#define MODERATION_BEHAVIOUR_H
#include "moderation.h"

#define MODERATION_CHECK_NARGS 22
#define MODERATION_WAVE_CAP 2000        //  a wave set keeps its 2,000 latest entries (ZREMRANGEBYRANK 0 -2001)
//  Where moderation_check_args puts the keys and values in args.
enum { MODERATION_ARG_FLOOD = 0, MODERATION_ARG_MUTE = 1, MODERATION_ARG_BLOCK = 2, MODERATION_ARG_REPEAT = 3,
       MODERATION_ARG_WAVE = 4, MODERATION_ARG_JOINED = 5, MODERATION_ARG_JOINS = 6, MODERATION_ARG_JOIN_FLAG = 7,
       MODERATION_ARG_SEEN = 8, MODERATION_ARG_MSG_ID = 9, MODERATION_ARG_TIME = 10, MODERATION_ARG_MEMBER = 12 };

//  One event's keys and values; args points into buf (the places the
//  counting and the reads take, S_ARG_* in moderation_behaviour.c), the
//  numbers are the same values parsed.
typedef struct {
    char        buf [20][96];
    const char *args [MODERATION_CHECK_NARGS];
    int64_t     t_ms;                   //  the event's time
    int64_t     flood_ms, repeat_ms, wave_ms;  //  windows counted (0: not counted)
    int64_t     life_ms;                //  the joined key's lifetime (0: not set)
    int64_t     jw_ms, hold_ms;         //  the join-wave window and how long a wave holds
    int         joins;                  //  joins in the window that make a wave
    bool        chat, join;
    char        wave_me [96];           //  the wave set's entry: group:member:store
} moderation_check_args_t;

//  What one event's counting is about: the event (its brand, group, store,
//  member, message id, time and kind) and what the batch made of it.
typedef struct {
    const Qy__Event *ev;
    bool             count;          //  the sender's behaviour is counted (a member, or staff when not exempt)
    bool             has_content;    //  content_hash is set
    uint64_t         content_hash;
} moderation_check_in_t;

//  An event's kind for counting: "chat", "join" or "other".
const char *moderation_check_kind (Qy__Kind kind);
//  Fill a with the keys and values of in under policy p. Pure.
void moderation_check_args (moderation_check_args_t *a, const moderation_policy_t *p, const moderation_check_in_t *in);

//  An entry of a window's sorted set as read (ZRANGEBYSCORE … WITHSCORES).
typedef struct {
    const char *member;
    int64_t     score;          //  ms
} moderation_entry_t;
//  One event of a window key: its message id (or the wave's
//  "group:member:store"), time and window (ms).
typedef struct {
    const char *id;
    int64_t     t, w;
} moderation_mark_t;
//  The messages in (t - w, t] for each of a window key's k events, in batch
//  order, as if each were counted alone in that order: counts [i] counts
//  the ids read (after the batch's ZADD) that are not the batch's own, and
//  the batch's events 0..i, each id once; every event trims the window to
//  keep × w before it, as the script did. Pure.
void moderation_window_counts (const moderation_entry_t *read, size_t nread, const moderation_mark_t *ev, size_t k,
                               int keep, long *counts);
//  The wave counts (wave_groups, wave_members, wave_stores) of a wave key's
//  k events from the set read before the batch's ZADD GT: each event
//  updates its entry, trims to two windows, caps the set at 2,000 and
//  counts (t - w, t + w]. Pure.
void moderation_wave_counts (const moderation_entry_t *read, size_t nread, const moderation_mark_t *ev, size_t k,
                             moderation_counts_t *counts);

//  One call's counting (a batch on a single Redis, a brand's events on a
//  Cluster: one slot): its commands, their replies and the counts.
//  Per window key: ZADD of the batch's ids, ZRANGEBYSCORE … WITHSCORES (or
//  ZCOUNT when the key has one event of the call), ZREMRANGEBYSCORE,
//  PEXPIRE (the wave: read first, then ZADD GT, trim, PEXPIRE); one MGET of the joined keys and join-wave flags; SET of a
//  joined key per key joined. A join wave raised, and the wave set's cap
//  when needed, are sent after the replies (moderation_counting_raise).
typedef struct {
    size_t        ne;
    const moderation_check_args_t *const *args;     //  borrowed, per event
    size_t        ncmds, appended;
    int          *argc;
    const char ***argv;                 //  per command
    redisReply  **replies;              //  per command, once read
    const char  **argp;                 //  the commands' arguments, one pool (argv points into it)
    char        (*nums) [24];           //  the numbers the commands hold, one pool
    size_t        nargp, nnums;
    size_t       *evp;                  //  the windows' events and marks, one pool each
    moderation_mark_t *markp;
    size_t        nevp;
    void         *windows;              //  per window key (moderation_behaviour.c)
    size_t        nwindows, mget_cmd;
    moderation_counts_t *counts;        //  per event, once counted
    bool         *ok;                   //  per event: its counts came back
    bool         *raised;               //  per event: a join that started a join wave
    int64_t      *since;                //  per event raised: when its wave began (the flag's value)
    const char   *error;                //  the first error reply, or NULL
} moderation_counting_t;

//  Append a plan's ncmds commands (*appended of them). Returns -1 when one could not be.
int moderation_cmds_append (qy_redis_t *redis, size_t ncmds, const int *argc, const char ***argv, size_t *appended);
//  Read the replies of the appended commands into replies. Returns -1 if one is missing.
int moderation_cmds_get (qy_redis_t *redis, size_t ncmds, size_t appended, redisReply **replies);
//  Plan the commands of a call's ne events (in batch order). Pure.
void moderation_counting_plan (moderation_counting_t *self, const moderation_check_args_t *const *args, size_t ne);
//  Append the plan's commands (self->appended of them). Returns -1 when one could not be.
int moderation_counting_append (qy_redis_t *redis, moderation_counting_t *self);
//  Read the appended commands' replies, then count. Returns -1 if one is missing.
int moderation_counting_get (qy_redis_t *redis, moderation_counting_t *self);
//  Count every event from the replies read (events whose replies are missing
//  or errors get ok false). Pure.
void moderation_counting_count (moderation_counting_t *self);
//  What the replies called for: SET the flags of the join waves the call
//  started, cap wave sets that may hold more than 2,000 entries (a second
//  round trip, only when there is one). Returns -1 when Redis did not take them.
int moderation_counting_raise (qy_redis_t *redis, const moderation_counting_t *self);
void moderation_counting_free (moderation_counting_t *self);

//  What a call's events read besides the counts, with plain commands
//  after the counting's (no event of the call changes them): command 0
//  is one MGET of their mute keys, then one SMISMEMBER per block set (its
//  events' members) and one per set of finished ids (their message ids).
typedef struct {
    size_t        ne, ncmds, appended;
    int          *argc;                 //  per command
    const char ***argv;                 //  per command, pointing into the events' arguments
    size_t       *block_cmd, *block_at; //  per event: its block command, its place in that reply
    size_t       *seen_cmd, *seen_at;   //  the same for its finished ids
    redisReply  **replies;              //  per command, once read
} moderation_reads_t;

//  Plan the reads of a call's ne events (args in the call's order). Pure.
void moderation_reads_plan (moderation_reads_t *rd, const moderation_check_args_t *const *args, size_t ne);
//  Append the plan's commands (rd->appended of them). Returns -1 when one could not be.
int moderation_reads_append (qy_redis_t *redis, moderation_reads_t *rd);
//  Read the replies of the appended commands. Returns -1 if one is missing.
int moderation_reads_get (qy_redis_t *redis, moderation_reads_t *rd);
//  The j-th event's mute end (unix µs, 0: none), block and whether its
//  message was finished before (see moderation_seen_key), from rd->replies.
//  Returns -1 (nothing set) if a reply it needs is missing or not the expected shape.
int moderation_reads_take (const moderation_reads_t *rd, size_t j, int64_t *mute_end_us, bool *blocked, bool *seen);
//  The first error among the replies read (a key of the wrong type, say), or NULL.
const char *moderation_reads_error (const moderation_reads_t *rd);
void moderation_reads_free (moderation_reads_t *rd);
//  The set of message ids moderation has finished, per brand and UTC day of
//  the event: a message found there was decided already, and is never
//  judged or enforced again (its recorded violation, if any, is repeated).
void moderation_seen_key (char *buf, size_t len, int64_t brand_id, int64_t event_time_us);
#define MODERATION_SEEN_TTL_S (8 * 86400)
#endif
