//  Dead letters put back from the console, with the effect of `qyctl
//  deadletters replay` (tools/qyctl/qyctl_deadletter.c): each row goes
//  back through the door it was refused at —
//
//    ingest      the event is sent to ingest's door (replay.ingest) and
//                ingest's answer decides (accepted, duplicate, rejected);
//    moderation, scoring, campaign
//                the event is pushed onto that service's bus hop
//                (replay.moderation|scoring|campaign);
//    notifier    a delivery that ran out of attempts is set pending again.
//
//  Safe with several replicas: the row is locked (FOR UPDATE) for the
//  request's transaction, so two clicks on two replicas take turns, and
//  everything downstream is idempotent by (brand, message id) or delivery
//  key, so a second replay changes nothing. A pushed row is marked replayed
//  before the push; a failure the stage reports meanwhile waits on our lock
//  and reopens the row after we commit, as with qyctl. An attempt that did
//  not take (ingest refused it again, the hop is unreachable) is recorded
//  and audited and answered 200 with "done": false; what can never succeed
//  is answered 409, nothing changed, the row left open for `resolve`.
#include "console_int.h"
#include "qy/deadletter.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void *s_ctx;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_ctx_new (void)
{
    s_ctx = zmq_ctx_new ();
}

typedef struct {
    const char *id, *service, *msg_id, *brand, *brand_id;
    unsigned char *payload;
    size_t len;
    Qy__Event *ev;
    char *result;
    bool done;
} s_row_t;

static void s_set (s_row_t *row, bool done, char *result)
{
    free (row->result);
    row->result = result;
    row->done = done;
}

//  Mark the row replayed with its result (before a push: see the top).
static bool s_mark (console_req_t *r, s_row_t *row)
{
    const char *p [] = { row->id, row->result };
    PGresult *res = console_sql (r, "UPDATE dead_letters SET replayed_at = now (), resolved_at = NULL, "
                                 "replays = replays + 1, replay_result = $2 WHERE id = $1::bigint", 2, p);
    PQclear (res);
    return res != NULL;
}

//  The attempt did not take: the row stays open with the result (counted
//  unless s_mark already counted it); refused: ingest's new reason.
static void s_failed (console_req_t *r, s_row_t *row, bool counted, const char *refused)
{
    const char *p [] = { row->id, row->result, counted ? "0" : "1", refused };
    PQclear (console_sql (r, "UPDATE dead_letters SET replayed_at = NULL, replays = replays + $3::int, replay_result = $2, "
                          "failed_again = failed_again + ($4::text IS NOT NULL)::int, reason = coalesce ($4, reason) "
                          "WHERE id = $1::bigint", 4, p));
}

//  notifier: the dead delivery back to pending, attempts reset.
static void s_requeue (console_req_t *r, s_row_t *row)
{
    const char *p [] = { row->msg_id, row->brand_id, row->id };
    PGresult *res = console_sql (r,
        "WITH d AS (UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now (), lease_until = NULL, "
        "           last_error = 'requeued from dead letter ' || $3 WHERE key = $1 AND brand_id = $2::bigint "
        "           AND status = 'dead' RETURNING key) "
        "SELECT (SELECT count (*) FROM d), (SELECT status FROM deliveries WHERE key = $1 AND brand_id = $2::bigint)", 3, p);
    if (!res)
        return;
    if (strcmp (PQgetvalue (res, 0, 0), "1") == 0)
        s_set (row, true, qy_strdup ("requeued"));
    else
    if (PQgetisnull (res, 0, 1))
        s_set (row, false, qy_strdup ("not replayable: the delivery was refused at intake; the sender must send a corrected one"));
    else
        s_set (row, true, qy_printf ("nothing to do: the delivery is %s", PQgetvalue (res, 0, 1)));
    PQclear (res);
    if (row->done)
        s_mark (r, row);
}

//  A socket to endpoint that queues nothing for a peer not connected
//  (IMMEDIATE) and gives up a send after timeout_ms; NULL if it cannot connect.
static void *s_socket (int type, const char *endpoint, int timeout_ms)
{
    pthread_once (&s_once, s_ctx_new);
    int on = 1;
    void *sock = qy_zmq_socket (s_ctx, type, 1000, 1000);
    zmq_setsockopt (sock, ZMQ_IMMEDIATE, &on, sizeof (on));
    zmq_setsockopt (sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof (timeout_ms));
    if (qy_zmq_connect (sock, endpoint)) {
        zmq_close (sock);
        return NULL;
    }
    return sock;
}

//  A bus hop: marked, then pushed; a failed push reopens the row.
static void s_push (console_req_t *r, s_row_t *row, const char *front)
{
    void *sock = s_socket (ZMQ_DEALER, front, (int) r->cfg->replay_timeout_ms);
    if (!sock) {
        s_set (row, false, qy_printf ("not sent: cannot connect to %s", front));
        s_failed (r, row, false, NULL);
        return;
    }
    s_set (row, true, qy_printf ("pushed to the %s hop", row->service));
    if (s_mark (r, row) && zmq_send (sock, row->payload, row->len, 0) < 0) {
        s_set (row, false, qy_printf ("send to %s failed: %s", front,
                                      zmq_errno () == EAGAIN ? "the hop did not take it in time" : zmq_strerror (zmq_errno ())));
        s_failed (r, row, true, NULL);
    }
    zmq_close (sock);           //  linger lets the frame out
}

//  ingest: the event as a batch of one; its answer decides the row.
static void s_ingest (console_req_t *r, s_row_t *row)
{
    int timeout_ms = (int) r->cfg->replay_timeout_ms;
    void *dealer = s_socket (ZMQ_DEALER, r->cfg->replay_ingest, timeout_ms);
    char id [96];
    qy_snprintf (id, sizeof (id), "console-replay-%s-%lld", row->id, (long long) qy_mono_us ());
    row->ev->brand_id = 0;          //  ingest resolves the brand itself
    Qy__Batch batch = QY__BATCH__INIT;
    batch.batch_id = id;
    batch.gateway = "console";
    batch.n_events = 1;
    batch.events = &row->ev;
    Qy__Ack *ack = dealer && qy_zmq_send_pb (dealer, &batch.base, 0) == 0 ? qy_zmq_ack_wait (dealer, id, timeout_ms) : NULL;
    const Qy__ItemResult *res = ack && ack->ok && ack->n_results == 1 ? ack->results [0] : NULL;
    if (!res)
        s_set (row, false, qy_printf ("ingest did not take it: %s",
                                      !ack ? "no answer" : *ack->error ? ack->error : "no result for the event"));
    else
    if (res->status == QY__ITEM_STATUS__REJECTED)
        s_set (row, false, qy_printf ("rejected again: %s", res->error));
    else
        s_set (row, true, qy_strdup (res->status == QY__ITEM_STATUS__ACCEPTED ? "accepted by ingest"
                                                                              : "duplicate: ingest already has it"));
    if (row->done)
        s_mark (r, row);
    else
        s_failed (r, row, false, res && res->status == QY__ITEM_STATUS__REJECTED ? res->error : NULL);
    if (ack)
        qy__ack__free_unpacked (ack, NULL);
    if (dealer)
        zmq_close (dealer);
}

//  Send the row through its door; row->result says what happened.
static void s_route (console_req_t *r, s_row_t *row)
{
    static const char *const hops [] = { "moderation", "scoring", "campaign" };
    const char *fronts [] = { r->cfg->replay_moderation, r->cfg->replay_scoring, r->cfg->replay_campaign };
    int hop = -1;
    for (int h = 0; h < 3; h++)
        if (strcmp (row->service, hops [h]) == 0)
            hop = h;
    if (strcmp (row->service, "notifier") == 0) {
        s_requeue (r, row);
        return;
    }
    if (hop < 0 && strcmp (row->service, "ingest") != 0) {
        s_set (row, false, qy_printf ("not replayable: unknown service %s", row->service));
        return;
    }
    row->ev = row->len ? qy__event__unpack (NULL, row->len, row->payload) : NULL;
    const char *problem = qy_deadletter_replay_problem (row->ev, row->payload, row->len, row->msg_id, row->service,
                                                        row->brand, strtoll (row->brand_id, NULL, 10));
    if (problem)
        s_set (row, false, qy_strdup (problem));
    else
    if (hop < 0)
        s_ingest (r, row);
    else
        s_push (r, row, fronts [hop]);
}

void console_api_deadletter_replay (console_req_t *r)
{
    //  The row's brand: its own, or the code it was set aside under (an
    //  event of a brand that did not exist yet, seen by a platform admin).
    PGresult *res = console_sql (r,
        "SELECT d.id, d.service, coalesce (d.msg_id, ''), d.payload, coalesce (b.code, d.brand_code, ''), "
        "       coalesce (d.brand_id, b2.id, 0) FROM dead_letters d LEFT JOIN brands b ON b.id = d.brand_id "
        "LEFT JOIN brands b2 ON b2.code = d.brand_code WHERE d.id = $1::bigint AND d.resolved_at IS NULL "
        "FOR UPDATE OF d", 1, (const char *[]) { r->seg [1] });
    if (!res)
        return;
    if (PQntuples (res) == 0) {
        console_error (r, 404, "no such open dead letter");
        PQclear (res);
        return;
    }
    s_row_t row = { .id = PQgetvalue (res, 0, 0), .service = PQgetvalue (res, 0, 1), .msg_id = PQgetvalue (res, 0, 2),
                    .brand = PQgetvalue (res, 0, 4), .brand_id = PQgetvalue (res, 0, 5) };
    row.payload = PQunescapeBytea ((const unsigned char *) PQgetvalue (res, 0, 3), &row.len);
    s_route (r, &row);
    if (!r->status && strncmp (row.result, "not replayable", 14) == 0)
        console_error (r, 409, "%s", row.result);
    else
    if (!r->status) {
        qy_buf_t out;
        qy_buf_init (&out);
        qy_buf_printf (&out, "{\"id\":%s,\"service\":", row.id);
        qy_buf_json_str (&out, row.service);
        qy_buf_printf (&out, ",\"done\":%s,\"result\":", row.done ? "true" : "false");
        qy_buf_json_str (&out, row.result);
        qy_buf_puts (&out, "}");
        const char *brand = strcmp (row.brand_id, "0") ? row.brand_id : NULL;
        if (console_audit (r, console_brand_of (r, brand), "deadletter.replay", "dead_letter", row.id, out.data))
            console_reply (r, 200, out.data);
        qy_buf_free (&out);
    }
    if (row.ev)
        qy__event__free_unpacked (row.ev, NULL);
    PQfreemem (row.payload);
    free (row.result);
    PQclear (res);
}
