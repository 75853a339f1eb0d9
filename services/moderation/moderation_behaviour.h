//  The Redis half of behaviour counting: the script and its arguments.
//  Internal to the moderation service and its tests.
#ifndef MODERATION_BEHAVIOUR_H
#define MODERATION_BEHAVIOUR_H
#include "moderation.h"

#define MODERATION_CHECK_NKEYS 9
#define MODERATION_CHECK_NARGS 22

extern qy_script_t moderation_check_script;

//  Arguments of one script call; args points into buf.
typedef struct {
    char        buf [20][96];
    const char *args [MODERATION_CHECK_NARGS];
} moderation_check_args_t;

//  What one script call is about: the event (its brand, group, store,
//  member, message id, time and kind) and what the batch made of it.
typedef struct {
    const Qy__Event *ev;
    bool             count;          //  the sender's behaviour is counted (a member, or staff when not exempt)
    bool             has_content;    //  content_hash is set
    uint64_t         content_hash;
} moderation_check_in_t;

//  The script's kind of an event: "chat", "join" or "other".
const char *moderation_check_kind (Qy__Kind kind);
//  Fill a with the script's KEYS and ARGV for in under policy p. Pure.
void moderation_check_args (moderation_check_args_t *a, const moderation_policy_t *p, const moderation_check_in_t *in);
//  Parse the script's reply. Returns 0, or -1 if it is not the expected array.
int moderation_check_reply (const redisReply *r, moderation_counts_t *c);
//  The j-th event's part of the reply r of a call made for ne events (one
//  call per brand and batch), parsed as moderation_check_reply does.
//  Returns -1 if r is not one part per event or that part is not the
//  expected array (an error: the event's own trouble).
int moderation_check_call_reply (const redisReply *r, size_t j, size_t ne, moderation_counts_t *c);

//  What a call's events read besides the script's counts, with plain
//  commands after the call (no event of the call changes them): command 0
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
//  The error a call's reply r holds for its j-th event (the call's own, or
//  the event's part), or NULL.
const char *moderation_check_call_error (const redisReply *r, size_t j);
//  The set of message ids moderation has finished, per brand and UTC day of
//  the event: a message found there was decided already, and is never
//  judged or enforced again (its recorded violation, if any, is repeated).
void moderation_seen_key (char *buf, size_t len, int64_t brand_id, int64_t event_time_us);
#define MODERATION_SEEN_TTL_S (8 * 86400)
#endif
