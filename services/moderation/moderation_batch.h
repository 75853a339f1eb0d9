//  One batch of events through moderation, with its I/O (see moderation_batch.c).
#ifndef MODERATION_BATCH_H
#define MODERATION_BATCH_H
#include <stdbool.h>
#include <stddef.h>
#include "moderation.h"

//  What a batch needs from the running service; borrowed.
typedef struct {
    moderation_store_t *store;
    qy_pg_t            *pg;
    qy_redis_t         *redis;
    void               *out;             //  PUSH to the scoring hop
    void               *actions;         //  PUSH to the notifier hop
    long                alert_negative;  //  abuse violations per group-hour that alert the store (0: off)
    bool                alert_waves;     //  alert HQ on cross-group spam waves
    long                complaints_store;   //  complaints per store-hour that raise complaint_surge (0: off)
    long                complaints_brand;   //  complaints per brand-hour that raise complaint_surge (0: off)
    moderation_names_t *names;              //  brands' and staff's names for impersonation
} moderation_ctx_t;

//  Register the service's metrics (once, at start-up).
void moderation_batch_metrics (void);

typedef struct moderation_batch_t moderation_batch_t;
//  Caller owns the batch; it owns the events added to it.
moderation_batch_t *moderation_batch_new (size_t max);
void moderation_batch_destroy (moderation_batch_t **self_p);
bool moderation_batch_full (const moderation_batch_t *self);
//  Take ownership of ev (unpacked with protobuf-c's default allocator).
void moderation_batch_add (moderation_batch_t *self, Qy__Event *ev);
//  Judge, record, act and pass on every event added, then empty the batch.
//  The batch's finished marks go with the next batch's Redis round trip.
void moderation_batch_run (moderation_batch_t *self, const moderation_ctx_t *ctx);
//  Send the finished marks still owed (when no event waits, and before
//  stopping).
void moderation_batch_flush (moderation_batch_t *self, qy_redis_t *redis);

//  moderation_sync.c: Redis state and removals outside the batch.
//  Set a member's mute end (µs, as text) in Redis for px ms, unless a
//  later end is there already (another replica's longer mute stays).
redisReply *moderation_mute_lengthen (qy_redis_t *redis, const char *key, const char *until_us, const char *px);
//  Send the removal of a blocked member from every group of the brand they
//  are in but except_group (0: none). Keys carry when the block began, so
//  every replica sends the same ones. False when PostgreSQL failed.
bool moderation_remove_everywhere (qy_pg_t *pg, void *actions, int64_t brand, int64_t member, int64_t except_group);
//  Put active mutes and blocks back into Redis from PostgreSQL (at start:
//  Redis may have restarted empty), then set MODERATION_RESTORED_KEY.
//  Returns true when all of it reached Redis.
#define MODERATION_RESTORED_KEY "qy:moderation:restored"
bool moderation_restore (qy_pg_t *pg, qy_redis_t *redis);
//  Redis may lose its data while the service runs (a restart without
//  persistence, a failover to an empty replica): when the marker key is
//  gone, restore again. Cheap (one EXISTS); call every few seconds.
void moderation_restore_if_lost (qy_pg_t *pg, qy_redis_t *redis);
//  Drop from Redis the mutes and blocks operators lifted. False when Redis
//  or PostgreSQL failed: call again later.
bool moderation_restore_lifted (qy_pg_t *pg, qy_redis_t *redis);
//  Resync every member blocked or unblocked in the last day, or whose mute
//  was overturned (an operator's change whose NOTIFY no replica heard: all
//  restarting, or the listening connection lost): Redis made to agree, and
//  the removals of the blocked sent again (notifier keeps one per key).
//  False when PostgreSQL failed (call again).
bool moderation_resync_recent (qy_pg_t *pg, qy_redis_t *redis, void *actions);
//  Handle NOTIFY qy_config messages: reload brands, resync members.
void moderation_listen (PGconn *conn, moderation_store_t *store, qy_pg_t *pg, qy_redis_t *redis, void *actions);
#endif
