//  Moderation's finished marks, owed to Redis (moderation_marks.c).
//  Internal to the moderation service.
#ifndef MODERATION_MARKS_H
#define MODERATION_MARKS_H
#include <stddef.h>
#include "qunyun.pb-c.h"
#include "qy/redis.h"

//  Commands not yet sent: every command's words one after another, and
//  each command's number of words. Zeroed is empty.
typedef struct {
    char  **words;
    int    *argc;
    size_t  nwords, ncmds, capw, capc;
} moderation_marks_t;

//  Add the marks of evs [0 .. n): per brand and day (moderation_seen_key)
//  one SADD of their message ids, in the order the days first come, each
//  followed by its EXPIRE (MODERATION_SEEN_TTL_S).
void moderation_marks_add (moderation_marks_t *m, Qy__Event *const *evs, size_t n);
//  Append every mark owed to redis's pipeline; returns how many replies
//  that owes (fewer when an append failed: Redis away).
int moderation_marks_append (qy_redis_t *redis, const moderation_marks_t *m);
//  Read those replies and forget the marks, sent or not.
void moderation_marks_done (qy_redis_t *redis, moderation_marks_t *m, int queued);
void moderation_marks_free (moderation_marks_t *m);
#endif
