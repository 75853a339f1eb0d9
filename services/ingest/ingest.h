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

//  Event times ingest takes: from 2000-01-01 (backfilled chat logs) to a
//  day ahead of its own clock (a gateway's clock running ahead). Anything
//  else is refused, so the day, partition and timestamp arithmetic of every
//  stage only ever sees plausible times.
#define INGEST_MIN_TIME_US (946684800LL * 1000000)
#define INGEST_MAX_AHEAD_US (86400LL * 1000000)

//  Why t_us (unix µs) is not a time ingest takes: NULL when it is, else
//  "before 2000" or "more than a day in the future". Safe for any int64.
const char *ingest_time_problem (int64_t t_us, int64_t now_us);
//  Check one event's shape, with no I/O. Returns NULL when it is fine, or
//  a short reason naming the field ("missing field: group"). now_us bounds
//  event times (ingest_time_problem).
const char *ingest_validate (const Qy__Event *ev, int64_t now_us);
//  Clear what a gateway must not set because a stage of Qunyun owns it:
//  ingest_time_us, the resolved ids (fields 30-34), verdict, standing,
//  trace, replay, signal (40-44), and every other field numbered 30-79
//  (moderation 50-59, scoring 60-69, campaign 70-79), known to this build
//  or not (unknown fields are dropped). Other unknown fields (gateways'
//  80-89) are kept. Frees what it clears (the event must come from
//  qy__event__unpack, or be built with malloc'd members). Writes the names
//  of the fields that were set into cleared ("replay,verdict,field 55";
//  empty when none) and returns how many there were.
size_t ingest_clear_downstream (Qy__Event *ev, char *cleared, size_t len);
//  Kind and role names as stored in the archive ("text", "join", "staff").
const char *ingest_kind_name (Qy__Kind kind);
const char *ingest_role_name (Qy__Role role);
const char *ingest_scene_name (Qy__JoinScene scene);
//  Channel kind implied by a join scene (channels.kind).
const char *ingest_channel_kind (Qy__JoinScene scene);

//  The store: caches of brand, group, member and channel ids, and the
//  batch writer. One per thread.
typedef struct ingest_store_t ingest_store_t;

//  Each cache holds at most cache_max entries (plus one batch's), then is
//  dropped and refilled (option cache.max_entries, docs/scaling.md).
ingest_store_t *ingest_store_new (qy_pg_t *pg, size_t cache_max);
void ingest_store_destroy (ingest_store_t **self_p);
//  Forget which brand codes were unknown (a brand was created: NOTIFY
//  qy_config 'brands:ID', or notifications may have been missed).
void ingest_store_forget_unknown (ingest_store_t *self);

//  One item's outcome, parallel to the events handed in.
typedef struct {
    Qy__ItemStatus status;
    char           error [160];
    int64_t        owed;        //  accepted: its batch's ingest_owed row (ingest_handon.c)
} ingest_result_t;

//  Archive events[0..n) in one transaction. First clears in every event
//  what a gateway must not set (ingest_clear_downstream). For each event
//  fills results[i]; accepted events get brand_id, group_id, store_id,
//  channel_id, member_id and ingest_time_us filled in place. Returns 0 when the transaction
//  committed (results are final), -1 when PostgreSQL failed (nothing was
//  stored; the caller answers "retry"). Rejections are dead-lettered.
int ingest_store_write (ingest_store_t *self, Qy__Event **events, size_t n,
                        ingest_result_t *results, int64_t now_us);

//  Handed on (ingest_handon.c): which archived batches went to the bus.
//  Each archived batch (per brand) is a row of ingest_owed until every
//  event of it was acknowledged by the bus.
typedef struct ingest_handon_t ingest_handon_t;
ingest_handon_t *ingest_handon_new (qy_pg_t *pg);
//  Records what is still waiting, then destroys; sets *self_p to NULL.
void ingest_handon_destroy (ingest_handon_t **self_p);
//  Every event of the owed row went to the bus: the row is deleted at the
//  next flush.
void ingest_handon_done (ingest_handon_t *self, int64_t owed);
//  Delete the finished rows in one statement. Returns 0, or -1 when
//  PostgreSQL failed (they are dropped: those events are re-sent later).
int ingest_handon_flush (ingest_handon_t *self);
//  The archived events of the rows owed for grace_s seconds but those in
//  mine (a column of owed row ids: this ingest's own, still on their way),
//  oldest row first, whole rows up to about limit events (at least one
//  row), as rows of QY_ARCHIVE_COLUMNS (qy/archive.h) with the owed row's
//  id after them (ingest_handon_owed_row); caller PQclears. NULL when
//  PostgreSQL failed.
PGresult *ingest_handon_owed (ingest_handon_t *self, long grace_s, long limit, qy_pg_cols_t *mine);
int64_t ingest_handon_owed_row (const PGresult *res, int r);
#endif
