//  libFuzzer target: the HTTP front door's JSON parsing (ingest_wecom.c,
//  ingest_wecom_contact.c),
//  with whatever it accepts run through validation and, for snapshots,
//  reconciliation against a few known memberships. The first byte picks
//  the endpoint (messages, events, snapshot); the rest is the body.
//  Built and run by run.sh (ctest fuzz_ingest_wecom); the seed corpus is
//  corpus/wecom/.
#include "ingest_reconcile.h"
#include "ingest_wecom.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ingest_ep_t ep = (ingest_ep_t) (data [0] % INGEST_EP__COUNT);
    char err [200], field [64];
    int64_t now = 1795201800LL * 1000000;
    ingest_req_t *req = ingest_wecom_parse (ep, "acme", (const char *) data + 1, size - 1, now,
                                            err, sizeof (err), field, sizeof (field));
    if (!req) {
        if (!err [0])
            abort ();             //  a refusal must say why
        return 0;
    }
    for (size_t i = 0; i < req->n_events; i++) {
        const char *why = ingest_validate (req->events [i], now);
        if (why)
            (void) ingest_wecom_field (ep, why);
        if (req->event_item [i] >= req->n_items)
            abort ();
    }
    for (size_t i = 0; i < req->n_items; i++)
        if (req->items [i].error && !req->items [i].field)
            abort ();
    //  A contact event (ingest_wecom_contact.c) names its item, a change and both people.
    for (size_t i = 0; i < req->n_contacts; i++)
        if (req->contact_item [i] >= req->n_items || req->contacts [i]->kind != QY__KIND__CONTACT
        ||  !ingest_contact_change_name (req->contacts [i]->contact_change)
        ||  !*req->contacts [i]->staff || !*req->contacts [i]->member)
            abort ();
    if (req->snap) {
        ingest_known_t known [] = { { "u1", 0, 0 }, { "u2", 1795140000000000LL, 0 },
                                    { "u3", 1795140000000000LL, 1795150000000000LL } };
        ingest_reconcile (req, 0, req->snap, known, 3, QY__LEAVE_REASON__LEAVE_REASON_UNSPECIFIED);
    }
    ingest_req_destroy (&req);
    return 0;
}
