//  The ZeroMQ door (ingest_door.c): gateways send Batch over ZeroMQ
//  (DEALER → our ROUTER) and get one Ack per batch.
#ifndef INGEST_DOOR_H
#define INGEST_DOOR_H
#include <stddef.h>
#include <zmq.h>
#include "ingest_turn.h"

//  One batch as it came: its routing envelope and payload, and the
//  decoded batch (NULL when it was refused and answered already).
struct ingest_door_req_t {
    zmq_msg_t   frames [4];     //  routing envelope + payload
    int         nframes;
    Qy__Batch  *batch;
    size_t      first;          //  index of its first event in the turn's joint array
};

//  Take the batches waiting on t->router, up to max batches and about
//  max_events events, never blocking. A batch that does not decode is
//  dead-lettered and answered; one arriving while moderation is behind is
//  answered busy. With CURVE, a batch whose connection's key is unknown or
//  revoked by now, or that holds an event of another brand than the
//  key's, is dead-lettered and refused whole. Fills reqs, returns how many, adds their events to
//  *nevents. Release them with ingest_door_release.
int ingest_door_take (ingest_turn_t *t, ingest_door_req_t *reqs, int max, size_t max_events, size_t *nevents);
void ingest_door_release (ingest_door_req_t *reqs, int n);
//  With CURVE (t->keys set): answer the ZAP requests waiting on zap (a REP
//  bound at QY_ZAP_ENDPOINT), counting and logging each refused key.
void ingest_door_zap (ingest_turn_t *t, void *zap);
//  Answer a batch (routing envelope copied from req).
void ingest_door_reply (void *router, ingest_door_req_t *req, const Qy__Ack *ack);
void ingest_door_reply_error (void *router, ingest_door_req_t *req, const char *batch_id, const char *error,
                              uint32_t retry_ms);
#endif
