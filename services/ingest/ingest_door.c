//  The ZeroMQ door: a gateway's DEALER sends one Batch per message and
//  gets one Ack. What does not decode is dead-lettered and answered; while
//  moderation is behind, batches are refused before anything is stored,
//  so memory stays bounded and the gateway retries.
#include "ingest_door.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <string.h>

void ingest_door_reply (void *router, ingest_door_req_t *req, const Qy__Ack *ack)
{
    for (int f = 0; f < req->nframes - 1; f++) {
        zmq_msg_t copy;
        zmq_msg_init (&copy);
        zmq_msg_copy (&copy, &req->frames [f]);
        zmq_msg_send (&copy, router, ZMQ_SNDMORE);
    }
    //  ROUTER drops replies to peers that went away: nothing blocks here.
    qy_zmq_send_pb (router, &ack->base, 0);
}

void ingest_door_reply_error (void *router, ingest_door_req_t *req, const char *batch_id, const char *error,
                              uint32_t retry_ms)
{
    Qy__Ack ack = QY__ACK__INIT;
    ack.batch_id = (char *) (batch_id ? batch_id : "");
    ack.ok = false;
    ack.error = (char *) error;
    ack.retry_after_ms = retry_ms;
    ingest_door_reply (router, req, &ack);
}

//  Read one multipart message into req. Returns false when none waits.
static bool s_receive (void *router, ingest_door_req_t *req)
{
    memset (req, 0, sizeof (*req));
    int more = 1;
    bool got = false;
    while (more) {
        zmq_msg_t *f = &req->frames [req->nframes < 4 ? req->nframes : 3];
        if (req->nframes >= 4)
            zmq_msg_close (f);       //  keep only the envelope's first frames and the last
        zmq_msg_init (f);
        if (zmq_msg_recv (f, router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (f);
            break;
        }
        got = true;
        if (req->nframes < 4)
            req->nframes++;
        more = zmq_msg_more (f);
    }
    return got;
}

void ingest_door_zap (ingest_turn_t *t, void *zap)
{
    ingest_zap_t z;
    while (t->keys && ingest_zap_answer (zap, t->keys, &z) == 0) {
        if (z.verdict == INGEST_KEY_OK) {
            qy_log_debug ("gateway connection admitted gateway_key=%s address=%s", z.name, z.address);
            continue;
        }
        bool revoked = z.verdict == INGEST_KEY_REVOKED;
        qy_metric_add (revoked ? t->m->refused_revoked : t->m->refused_unknown, 1);
        //  The public key is no secret: it lets an operator find the gateway.
        //  A gateway retrying with a bad key reconnects every second or so,
        //  a scanner much faster: each refusal is counted, not each logged.
        qy_log_limited (QY_LOG_WARN, "gateway connection refused: %s CURVE key address=%s public_key=%s gateway_key=%s",
                        revoked ? "revoked" : "unknown", z.address, z.public_key [0] ? z.public_key : "(none)",
                        z.name [0] ? z.name : "-");
    }
}

//  With CURVE: is the batch refused by its connection's key? Then it was
//  dead-lettered and answered.
static bool s_key_refused (ingest_turn_t *t, ingest_door_req_t *req, zmq_msg_t *payload)
{
    if (!t->keys)
        return false;
    const char *uid = zmq_msg_gets (payload, "User-Id");
    const ingest_key_t *key = ingest_keys_by_name (t->keys, uid);
    char why [320];
    const char *problem = ingest_keys_batch_problem (key, req->batch, why, sizeof (why));
    if (!problem)
        return false;
    qy_metric_add (!key ? t->m->refused_unknown : !key->enabled ? t->m->refused_revoked : t->m->refused_brand, 1);
    qy_log_limited (QY_LOG_WARN, "batch=%s brand=%s gateway_key=%s refused error=%s", qy_utf8_valid (req->batch->batch_id)
                 ? req->batch->batch_id : "(not UTF-8)", key ? key->brand : "", uid ? uid : "", problem);
    qy_deadletter_refused (t->pg, key ? key->brand_id : 0, key ? key->brand : NULL, "ingest", problem,
                           zmq_msg_data (payload), zmq_msg_size (payload));
    ingest_door_reply_error (t->router, req, req->batch->batch_id, problem, 0);
    qy__batch__free_unpacked (req->batch, NULL);
    req->batch = NULL;
    return true;
}

int ingest_door_take (ingest_turn_t *t, ingest_door_req_t *reqs, int max, size_t max_events, size_t *nevents)
{
    int nreqs = 0;
    while (nreqs < max && *nevents < max_events) {
        ingest_door_req_t *req = &reqs [nreqs];
        if (!s_receive (t->router, req))
            break;
        nreqs++;
        zmq_msg_t *payload = &req->frames [req->nframes - 1];
        req->batch = qy__batch__unpack (NULL, zmq_msg_size (payload), zmq_msg_data (payload));
        if (!req->batch) {
            qy_metric_add (t->m->malformed, 1);
            qy_deadletter_refused (t->pg, 0, NULL, "ingest", "malformed batch: protobuf decode failed",
                                   zmq_msg_data (payload), zmq_msg_size (payload));
            ingest_door_reply_error (t->router, req, "", "malformed batch: protobuf decode failed", 0);
        }
        else
        if (s_key_refused (t, req, payload))
            continue;
        else
        if (!ingest_outbox_room (t->outbox)) {
            //  Moderation is behind: refuse before storing, so memory stays bounded.
            qy_metric_add (t->m->busy, 1);
            ingest_door_reply_error (t->router, req, req->batch->batch_id, "busy: retry later", 200);
            qy__batch__free_unpacked (req->batch, NULL);
            req->batch = NULL;
        }
        else
            *nevents += req->batch->n_events;
    }
    return nreqs;
}

void ingest_door_release (ingest_door_req_t *reqs, int n)
{
    for (int r = 0; r < n; r++) {
        if (reqs [r].batch)
            qy__batch__free_unpacked (reqs [r].batch, NULL);
        for (int f = 0; f < reqs [r].nframes; f++)
            zmq_msg_close (&reqs [r].frames [f]);
    }
}
