//  scoring: hot counters in Redis per member and per group per day (in the
//  brand's time zone), and roll-ups of them to PostgreSQL.
//
//  Redis keys (hash-tagged by group so they can be sharded by group):
//    sc:ids:{g:G}:D    set of message ids counted for group G on day D (idempotency)
//    sc:g:{g:G}:D      hash: msgs, joins, leaves, viol, h0..h23 (messages per hour)
//    sc:a:{g:G}:D      HyperLogLog of members who spoke
//    sc:m:{g:G}:D      hash: member id → messages
//    sc:dirty          set of "B:G:D" whose counters changed since the last roll-up
//  Day numbers count days since 1970-01-01 in the brand's zone.
#ifndef SCORING_H
#define SCORING_H
#include <stdbool.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/redis.h"

//  What an event counts as.
typedef enum { SCORING_MSG, SCORING_JOIN, SCORING_LEAVE, SCORING_OTHER } scoring_kind_t;
scoring_kind_t scoring_kind (const Qy__Event *ev);
//  True when moderation recorded a violation for the event.
bool scoring_is_violation (const Qy__Event *ev);

typedef struct {
    char ids [96], group [96], active [96], members [96];
    char dirty [96];        //  the member of sc:dirty
    int32_t day;
    int hour;
} scoring_keys_t;
void scoring_keys (scoring_keys_t *k, int64_t brand_id, int64_t group_id, int64_t t_us, int tz_offset_min);

//  Lua: count one event once. KEYS ids, group, active, members. ARGV
//  msg_id, kind (msg|join|leave|other), member id, hour, violation (0|1),
//  ttl seconds. Reply {new (0|1), member msgs today, group msgs today,
//  active members today}.
extern const char *scoring_count_lua;

//  Write the roll-ups of up to max dirty group-days. Returns how many were
//  written, or -1 if Redis or PostgreSQL failed (the dirty marks are kept).
int scoring_rollup (qy_redis_t *redis, qy_pg_t *pg, int max);
#endif
