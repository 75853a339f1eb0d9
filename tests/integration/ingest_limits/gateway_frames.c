//  ingest_limits' C half: a gateway on ingest's ZeroMQ door sending what a
//  well-behaved one never would, and the next hop reading what ingest
//  handed on (tests/integration/ingest_limits/run.sh).
//
//    forged ENDPOINT BRAND GROUP CHANNEL_ID
//        one Batch: a text whose every field owned downstream is filled in
//        (ids, verdict, standing, trace, replay, signal, unknown fields 55,
//        65, 75 and a gateway's 85), and a join without a channel code
//        that names channel CHANNEL_ID by id. Prints the Ack, one line per event.
//    times ENDPOINT BRAND GROUP
//        one Batch of events at absurd times (and two at the edges that pass).
//    frame ENDPOINT BYTES TIMEOUT_MS
//        one frame of BYTES zero bytes; prints "answered: ERROR" when ingest
//        answered, "disconnected" when it dropped the connection instead,
//        "nothing" when neither happened within TIMEOUT_MS.
//    pull ENDPOINT TIMEOUT_MS MSG_ID…
//        bind a PULL where an ingest's zmq.out connects (in place of the
//        bus) and print, for each MSG_ID as it comes (others are skipped),
//        what the next stage would read. Exit 1 if one did not come within
//        TIMEOUT_MS.
#include "qunyun.pb-c.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/outlet.h"
#include "qy/pack.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void s_die (const char *what)
{
    fprintf (stderr, "gateway_frames: %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (2);
}

static void *s_socket (void *ctx, int type, const char *endpoint, bool bind)
{
    void *sock = qy_zmq_socket (ctx, type, 1000, 0);
    if (bind ? qy_zmq_bind (sock, endpoint) : qy_zmq_connect (sock, endpoint))
        s_die (endpoint);
    return sock;
}

//  Wait up to timeout_ms for a frame on sock and unpack it as a d. NULL
//  when none came or it does not decode. Caller frees it.
static ProtobufCMessage *s_recv_pb (void *sock, const ProtobufCMessageDescriptor *d, int timeout_ms)
{
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init (&m);
    zmq_msg_recv (&m, sock, 0);
    ProtobufCMessage *msg = protobuf_c_message_unpack (d, NULL, zmq_msg_size (&m), zmq_msg_data (&m));
    zmq_msg_close (&m);
    return msg;
}

//  The events of one message from ingest's outlet (a pack, or one
//  plain), as the bus's front would take it: up to max into evs.
static size_t s_tap_events (void *router, int timeout_ms, Qy__Event **evs, size_t max)
{
    zmq_msg_t m;
    zmq_msg_init (&m);
    size_t n = 0;
    if (qy_outlet_tap (router, &m, timeout_ms) == 0) {
        qy_pack_iter_t it;
        const void *data;
        size_t len;
        qy_pack_iter (&it, zmq_msg_data (&m), zmq_msg_size (&m));
        while (n < max && qy_pack_next (&it, &data, &len))
            if ((evs [n] = qy__event__unpack (NULL, len, data)))
                n++;
    }
    zmq_msg_close (&m);
    return n;
}

static const char *s_status (Qy__ItemStatus s)
{
    return s == QY__ITEM_STATUS__ACCEPTED ? "accepted" : s == QY__ITEM_STATUS__DUPLICATE ? "duplicate" : "rejected";
}

//  Send the batch and print its Ack. Returns 0, 1 when none came in 10 s.
static int s_call (const char *endpoint, Qy__Event **evs, size_t n)
{
    void *ctx = zmq_ctx_new ();
    void *dealer = s_socket (ctx, ZMQ_DEALER, endpoint, false);
    Qy__Batch batch = QY__BATCH__INIT;
    batch.batch_id = "gateway-frames";
    batch.gateway = "gateway-frames";
    batch.events = evs;
    batch.n_events = n;
    qy_zmq_send_pb (dealer, &batch.base, 0);
    Qy__Ack *ack = (Qy__Ack *) s_recv_pb (dealer, &qy__ack__descriptor, 10000);
    int rc = ack ? 0 : 1;
    if (ack) {
        if (!ack->ok)
            printf ("batch refused: %s\n", ack->error);
        for (size_t i = 0; i < ack->n_results; i++)
            printf ("%s %s%s%s\n", ack->results [i]->msg_id, s_status (ack->results [i]->status),
                    *ack->results [i]->error ? " " : "", ack->results [i]->error);
        qy__ack__free_unpacked (ack, NULL);
    }
    else
        printf ("no answer\n");
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    return rc;
}

static Qy__Event *s_event (const char *brand, const char *group, const char *msg_id, Qy__Kind kind, int64_t t_us)
{
    Qy__Event *ev = qy_calloc (1, sizeof (*ev));
    qy__event__init (ev);
    ev->brand = (char *) brand;
    ev->group = (char *) group;
    ev->msg_id = (char *) msg_id;
    ev->member = "u1";
    ev->kind = kind;
    ev->text = kind == QY__KIND__TEXT ? "hello" : "";
    ev->event_time_us = t_us;
    return ev;
}

static int s_forged (const char *endpoint, const char *brand, const char *group, int64_t channel_id)
{
    int64_t now = qy_now_us ();
    Qy__Event *text = s_event (brand, group, "forged-text", QY__KIND__TEXT, now - 1000000);
    text->ingest_time_us = 1;
    text->brand_id = text->group_id = text->store_id = text->channel_id = text->member_id = 999999;
    Qy__Verdict verdict = QY__VERDICT__INIT;
    verdict.action = QY__ACTION__BLOCK;
    verdict.category = "ad";
    verdict.violation_id = 999999;
    text->verdict = &verdict;
    Qy__Standing standing = QY__STANDING__INIT;
    standing.trust_level = 4;
    text->standing = &standing;
    Qy__Stamp stamp = QY__STAMP__INIT, *stamps [1] = { &stamp };
    stamp.stage = "moderation";
    stamp.at_us = now;
    text->trace = stamps;
    text->n_trace = 1;
    text->replay = true;
    Qy__Signal signal = QY__SIGNAL__INIT;
    signal.name = "member.key";
    text->signal = &signal;
    uint8_t one = 1;
    ProtobufCMessageUnknownField unknown [4];
    const uint32_t tags [4] = { 55, 65, 75, 85 };
    for (int i = 0; i < 4; i++)
        unknown [i] = (ProtobufCMessageUnknownField) { tags [i], PROTOBUF_C_WIRE_TYPE_VARINT, 1, &one };
    text->base.unknown_fields = unknown;
    text->base.n_unknown_fields = 4;
    Qy__Event *join = s_event (brand, group, "forged-join", QY__KIND__JOIN, now - 1000000);
    join->member = "u9";
    join->join_scene = QY__JOIN_SCENE__QR_SCAN;
    join->channel_id = channel_id;
    Qy__Event *evs [] = { text, join };
    int rc = s_call (endpoint, evs, 2);
    free (text);
    free (join);
    return rc;
}

static int s_times (const char *endpoint, const char *brand, const char *group)
{
    const int64_t day = 86400LL * 1000000, now = qy_now_us ();
    struct { const char *id; int64_t t; } cases [] = {
        { "t-min", INT64_MIN }, { "t-negative", -1000000 }, { "t-1999", 946684799LL * 1000000 },
        { "t-2000", 946684800LL * 1000000 }, { "t-ahead", now + day - 60000000 }, { "t-tomorrow", now + day + 60000000 },
        { "t-9999", 253402300799LL * 1000000 }, { "t-max", INT64_MAX },
    };
    Qy__Event *evs [QY_ARRAY_LEN (cases)];
    for (size_t i = 0; i < QY_ARRAY_LEN (cases); i++)
        evs [i] = s_event (brand, group, cases [i].id, QY__KIND__TEXT, cases [i].t);
    int rc = s_call (endpoint, evs, QY_ARRAY_LEN (cases));
    for (size_t i = 0; i < QY_ARRAY_LEN (cases); i++)
        free (evs [i]);
    return rc;
}

static int s_frame (const char *endpoint, size_t bytes, int timeout_ms)
{
    void *ctx = zmq_ctx_new ();
    void *dealer = qy_zmq_socket (ctx, ZMQ_DEALER, 1000, 0);
    if (zmq_socket_monitor (dealer, "inproc://gateway-frames", ZMQ_EVENT_DISCONNECTED))
        s_die ("monitor");
    void *monitor = s_socket (ctx, ZMQ_PAIR, "inproc://gateway-frames", false);
    if (qy_zmq_connect (dealer, endpoint))
        s_die (endpoint);
    uint8_t *frame = qy_calloc (bytes ? bytes : 1, 1);
    zmq_send (dealer, frame, bytes, 0);
    free (frame);
    zmq_pollitem_t items [2] = { { dealer, 0, ZMQ_POLLIN, 0 }, { monitor, 0, ZMQ_POLLIN, 0 } };
    if (zmq_poll (items, 2, timeout_ms) <= 0)
        printf ("nothing\n");
    else
    if (items [0].revents & ZMQ_POLLIN) {
        Qy__Ack *ack = (Qy__Ack *) s_recv_pb (dealer, &qy__ack__descriptor, 0);
        printf ("answered: %s\n", ack ? ack->error : "(undecodable)");
        if (ack)
            qy__ack__free_unpacked (ack, NULL);
    }
    else
        printf ("disconnected\n");       //  the only event the monitor reports
    zmq_socket_monitor (dealer, NULL, 0);
    zmq_close (monitor);
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    return 0;
}

//  Print the event when it is one of ids (crossed off). True when it was.
static bool s_report (const Qy__Event *ev, char **ids, int n, int64_t now)
{
    int want = -1;
    for (int i = 0; i < n; i++)
        if (ids [i] && strcmp (ids [i], ev->msg_id) == 0)
            want = i;
    if (want < 0)
        return false;
    ids [want] = NULL;
    printf ("%s replay=%d verdict=%d standing=%d signal=%d trace=", ev->msg_id, ev->replay, ev->verdict != NULL,
            ev->standing != NULL, ev->signal != NULL);
    for (size_t k = 0; k < ev->n_trace; k++)
        printf ("%s%s", k ? "," : "", ev->trace [k]->stage);
    //  ingest's own stamp: within the hour around now.
    int64_t age = now - ev->ingest_time_us;
    printf (" ingest_time=%s ids=%lld/%lld/%lld/%lld/%lld unknown=", age < 3600000000LL && age > -3600000000LL
            ? "now" : "other", (long long) ev->brand_id, (long long) ev->group_id, (long long) ev->store_id,
            (long long) ev->channel_id, (long long) ev->member_id);
    for (size_t k = 0; k < ev->base.n_unknown_fields; k++)
        printf ("%s%u", k ? "," : "", (unsigned) ev->base.unknown_fields [k].tag);
    printf ("\n");
    return true;
}

static int s_pull (const char *endpoint, int timeout_ms, char **ids, int n)
{
    void *ctx = zmq_ctx_new ();
    void *pull = s_socket (ctx, ZMQ_ROUTER, endpoint, true);       //  as the bus's front
    int left = n;
    int64_t until = qy_mono_us () + (int64_t) timeout_ms * 1000, now = qy_now_us ();
    while (left > 0 && qy_mono_us () < until) {
        Qy__Event *evs [QY_PACK_MAX];
        size_t got = s_tap_events (pull, 100, evs, QY_PACK_MAX);
        for (size_t i = 0; i < got; i++) {
            left -= s_report (evs [i], ids, n, now);
            qy__event__free_unpacked (evs [i], NULL);
        }
    }
    for (int i = 0; i < n; i++)
        if (ids [i])
            printf ("%s did not come\n", ids [i]);
    zmq_close (pull);
    zmq_ctx_term (ctx);
    return left ? 1 : 0;
}

int main (int argc, char **argv)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp (argv [1], "forged") == 0)
        return s_forged (argv [2], argv [3], argv [4], strtoll (argv [5], NULL, 10));
    if (argc == 5 && strcmp (argv [1], "times") == 0)
        return s_times (argv [2], argv [3], argv [4]);
    if (argc == 5 && strcmp (argv [1], "frame") == 0)
        return s_frame (argv [2], (size_t) strtoull (argv [3], NULL, 10), atoi (argv [4]));
    if (argc >= 5 && strcmp (argv [1], "pull") == 0)
        return s_pull (argv [2], atoi (argv [3]), argv + 4, argc - 4);
    fprintf (stderr, "usage: gateway_frames forged ENDPOINT BRAND GROUP CHANNEL_ID | times ENDPOINT BRAND GROUP\n"
                     "       | frame ENDPOINT BYTES TIMEOUT_MS | pull ENDPOINT TIMEOUT_MS MSG_ID…\n");
    return 2;
}
