//  libFuzzer target: ingest's ZeroMQ door as far as it is pure. A frame
//  is what a gateway sends (a packed Batch); whatever decodes goes where
//  the door and the turn take it: the CURVE key's brand check, clearing
//  the fields owned downstream, validation, the Ack built from the events'
//  ids and reasons, and the packing the outbox does for the bus (which
//  must decode again to the same event). Built and run by
//  run.sh BUILD SECONDS ingest_batch (ctest fuzz_ingest_batch); the seed
//  corpus is corpus/batch/.
#include "ingest.h"
#include "ingest_keys.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  The outbox's packing: the bus must get back what was accepted.
static void s_round_trip (const Qy__Event *ev)
{
    size_t len = qy__event__get_packed_size (ev);
    uint8_t *buf = malloc (len ? len : 1);
    if (qy__event__pack (ev, buf) != len)
        abort ();
    Qy__Event *back = qy__event__unpack (NULL, len, buf);
    if (!back || strcmp (back->msg_id, ev->msg_id) != 0 || strcmp (back->brand, ev->brand) != 0
    ||  back->event_time_us != ev->event_time_us)
        abort ();
    qy__event__free_unpacked (back, NULL);
    free (buf);
}

//  The door's Ack: one result per event, naming its id and reason.
static void s_ack (const Qy__Batch *b, const char **why)
{
    Qy__Ack ack = QY__ACK__INIT;
    ack.batch_id = b->batch_id;
    Qy__ItemResult *items = calloc (b->n_events ? b->n_events : 1, sizeof (*items));
    Qy__ItemResult **ptrs = calloc (b->n_events ? b->n_events : 1, sizeof (*ptrs));
    for (size_t i = 0; i < b->n_events; i++) {
        qy__item_result__init (&items [i]);
        items [i].msg_id = b->events [i]->msg_id;
        items [i].status = why [i] ? QY__ITEM_STATUS__REJECTED : QY__ITEM_STATUS__ACCEPTED;
        items [i].error = (char *) (why [i] ? why [i] : "");
        ptrs [i] = &items [i];
    }
    ack.n_results = b->n_events;
    ack.results = ptrs;
    size_t len = qy__ack__get_packed_size (&ack);
    uint8_t *buf = malloc (len ? len : 1);
    if (qy__ack__pack (&ack, buf) != len)
        abort ();
    free (buf);
    free (items);
    free (ptrs);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    Qy__Batch *b = qy__batch__unpack (NULL, size, data);
    if (!b)
        return 0;
    ingest_keys_t *keys = ingest_keys_new ();
    ingest_keys_add (keys, "acme-gw", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 7, "acme", true);
    char why_key [320];
    const char *problem = ingest_keys_batch_problem (ingest_keys_by_name (keys, "acme-gw"), b, why_key,
                                                     sizeof (why_key));
    if (problem && !*problem)
        abort ();                  //  a refusal must say why
    int64_t now = 1795201800LL * 1000000;
    const char **why = calloc (b->n_events ? b->n_events : 1, sizeof (*why));
    for (size_t i = 0; i < b->n_events; i++) {
        Qy__Event *ev = b->events [i];
        char cleared [256];
        ingest_clear_downstream (ev, cleared, sizeof (cleared));
        if (ev->brand_id || ev->verdict || ev->n_trace || ev->replay || ev->signal)
            abort ();              //  nothing a gateway sets downstream survives
        why [i] = ingest_validate (ev, now);
        (void) ingest_kind_name (ev->kind);
        (void) ingest_role_name (ev->role);
        (void) ingest_channel_kind (ev->join_scene);
        if (!why [i])
            s_round_trip (ev);
    }
    s_ack (b, why);
    free (why);
    ingest_keys_destroy (&keys);
    qy__batch__free_unpacked (b, NULL);
    return 0;
}
