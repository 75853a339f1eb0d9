//  ingest: the front door. Validates batches of events from gateways,
//  attributes them to brand / store / group / channel / member, archives
//  them in PostgreSQL (de-duplicated by brand and message id), applies
//  member events to memberships, and hands accepted events on.
#ifndef INGEST_H
#define INGEST_H
#include <stdbool.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"

#define INGEST_MAX_TEXT 65536
//  Longest codes (store, channel, inviter, product, ref_msg_id, each
//  mention), nicknames and urls an event may carry (bytes), and mentions.
#define INGEST_MAX_CODE 128
#define INGEST_MAX_NAME 256
#define INGEST_MAX_URL 2048
#define INGEST_MAX_MENTIONS 500

//  Check one event's shape, with no I/O. Returns NULL when it is fine, or
//  a short reason naming the field ("missing field: group"). now_us bounds
//  event times: not more than a day in the future.
const char *ingest_validate (const Qy__Event *ev, int64_t now_us);
//  Kind and role names as stored in the archive ("text", "join", "staff").
const char *ingest_kind_name (Qy__Kind kind);
const char *ingest_role_name (Qy__Role role);
const char *ingest_scene_name (Qy__JoinScene scene);
//  Channel kind implied by a join scene (channels.kind).
const char *ingest_channel_kind (Qy__JoinScene scene);

//  The store: caches of brand, group, member and channel ids, and the
//  batch writer. One per thread.
typedef struct ingest_store_t ingest_store_t;

ingest_store_t *ingest_store_new (qy_pg_t *pg);
void ingest_store_destroy (ingest_store_t **self_p);
//  Forget which brand codes were unknown (a brand was created: NOTIFY
//  qy_config 'brands:ID', or notifications may have been missed).
void ingest_store_forget_unknown (ingest_store_t *self);

//  One item's outcome, parallel to the events handed in.
typedef struct {
    Qy__ItemStatus status;
    char           error [160];
} ingest_result_t;

//  Archive events[0..n) in one transaction. For each event fills results[i];
//  accepted events get brand_id, group_id, store_id, channel_id and
//  ingest_time_us filled in place. Returns 0 when the transaction
//  committed (results are final), -1 when PostgreSQL failed (nothing was
//  stored; the caller answers "retry"). Rejections are dead-lettered.
int ingest_store_write (ingest_store_t *self, Qy__Event **events, size_t n,
                        ingest_result_t *results, int64_t now_us);
#endif
