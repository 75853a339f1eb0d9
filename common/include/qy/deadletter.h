//  Dead letters: input that could not be processed is set aside in
//  PostgreSQL (table dead_letters) with the reason and the raw bytes, so
//  nothing accepted is ever silently dropped and an operator can replay it.
#ifndef QY_DEADLETTER_H
#define QY_DEADLETTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "qunyun.pb-c.h"
#include "qy/pg.h"
#include "qy/inlet.h"

//  brand_id 0 = unknown (brand_code keeps what the sender said). A
//  brand_code or msg_id that is not UTF-8 or longer than
//  QY_DEADLETTER_MAX_ID bytes is not stored as text (the payload keeps it).
#define QY_DEADLETTER_MAX_ID 256
//  At most QY_DEADLETTER_MAX_PAYLOAD bytes of the payload are kept, with
//  its size and SHA-256 (an event always fits: ingest bounds its fields).
#define QY_DEADLETTER_MAX_PAYLOAD 262144
//  Returns 0, or -1 if PostgreSQL could not take it (logged).
int qy_deadletter (qy_pg_t *pg, int64_t brand_id, const char *brand_code, const char *service,
                   const char *msg_id, const char *reason, const void *payload, size_t len);
//  A request refused whole (answered 400: the sender knows): its first
//  QY_DEADLETTER_MAX_REFUSED bytes, size and SHA-256 are kept for
//  diagnosis, and the row is closed at once (nothing to replay), so
//  retention removes it.
#define QY_DEADLETTER_MAX_REFUSED 4096
int qy_deadletter_refused (qy_pg_t *pg, int64_t brand_id, const char *brand_code, const char *service,
                           const char *reason, const void *body, size_t len);

//  qy_deadletter of an Event, its bytes packed here (the brand id given:
//  the event's own may not be resolved yet).
int qy_deadletter_event (qy_pg_t *pg, const Qy__Event *ev, int64_t brand_id, const char *service, const char *reason);

//  Take up to max Events waiting at a stage's inlet (without waiting) and hand each
//  well-formed one to on_event, which owns it from then on (free it with
//  qy__event__free_unpacked); data/size are its bytes, valid for the call.
//  An event that does not decode, or lacks a brand_id, a msg_id or (with
//  need_group) a group_id, is not from ingest: it is dead-lettered with
//  the reason and counted in bad. Returns how many messages were taken.
struct qy_metric_t;
typedef void (qy_event_fn) (void *arg, Qy__Event *ev, const void *data, size_t size);
//  A stage stopping past its grace: whatever is still queued at its inlet
//  is set aside as dead letters (for qyctl deadletters replay), not
//  dropped with the socket. Returns how many.
size_t qy_deadletter_rest (qy_inlet_t *inlet, qy_pg_t *pg, const char *service);
size_t qy_deadletter_drain_events (qy_inlet_t *inlet, size_t max, qy_pg_t *pg, const char *service,
                                   bool need_group, struct qy_metric_t *bad,
                                   qy_event_fn *on_event, void *arg);
//  Why a dead-lettered event cannot be replayed through the door of
//  service ("ingest", or a bus hop: "moderation", "scoring", "campaign"),
//  or NULL when it can. ev is the payload decoded (NULL when it did not
//  decode), msg_id the row's, brand and brand_id the brand replaying it.
//  qyctl deadletters replay and the console ask the same questions. Pure.
const char *qy_deadletter_replay_problem (const Qy__Event *ev, const void *payload, size_t len, const char *msg_id,
                                          const char *service, const char *brand, int64_t brand_id);
#endif
