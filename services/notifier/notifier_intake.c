//  Intake: deliveries from the bus checked, the broken ones set aside, and
//  the rest recorded (staff tasks first), waiting for PostgreSQL rather
//  than dropping anything accepted (see notifier.h).
#include "notifier.h"
#include "notifier_tasks.h"
#include "qy/deadletter.h"
#include "qy/log.h"
#include "qy/pb.h"
#include "qy/service.h"
#include <stdlib.h>
#include <string.h>

//  A key goes into the Idempotency-Key header: no CR, LF or other control
//  character may split or end it.
static bool s_key_printable (const char *key)
{
    for (const unsigned char *p = (const unsigned char *) key; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

//  Official brands' deliveries the edge cannot carry become staff tasks
//  first (docs/tasks.md); those not to be sent at all are left out of ds.
//  Returns the new n, or -1 when PostgreSQL failed (retry the whole batch:
//  tasks and deliveries are both idempotent by key).
static long s_tasks_intake (qy_pg_t *pg, Qy__Delivery **ds, size_t n, Qy__Delivery **rest,
                            const notifier_intake_metrics_t *mx)
{
    bool *keep = qy_calloc (n ? n : 1, sizeof (bool));
    int rc = notifier_tasks_intake (pg, ds, n, keep);
    size_t k = 0;
    for (size_t i = 0; rc >= 0 && i < n; i++)
        if (keep [i])
            rest [k++] = ds [i];
    free (keep);
    if (rc > 0)
        qy_metric_add (mx->tasks_new, rc);
    return rc < 0 ? -1 : (long) k;
}

//  Record a batch of deliveries. When PostgreSQL is down or busy (a
//  timeout, a cancel), wait and retry: nothing accepted is dropped. When it
//  refuses the batch for its data, one delivery is bad: record them one by
//  one and dead-letter each one PostgreSQL will not take, so a single bad
//  row never stops delivery.
static int s_store (qy_pg_t *pg, Qy__Delivery **ds, size_t n, const notifier_intake_metrics_t *mx,
                    notifier_insert_claim_t *take)
{
    int fresh;
    qy_wait_t wait = { 0 };
    while ((fresh = notifier_store_insert (pg, ds, n, take)) < 0 && qy_service_waiting ()) {
        //  Refused for what it holds (data exception, constraint, a limit)
        //  and not for the moment (a lock or statement timeout, a cancel):
        //  only then is one delivery at fault.
        bool bad_input = qy_pg_ok (pg) && qy_pg_input_at_fault (qy_pg_last_sqlstate (pg));
        if (bad_input && n > 1) {
            fresh = 0;
            for (size_t i = 0; i < n; i++)
                fresh += s_store (pg, &ds [i], 1, mx, NULL);
            if (take)
                take->left = fresh;     //  one by one, none claimed
            return fresh;
        }
        if (bad_input) {
            size_t len = protobuf_c_message_get_packed_size (&ds [0]->base);
            uint8_t *raw = qy_malloc (len ? len : 1);
            protobuf_c_message_pack (&ds [0]->base, raw);
            const char *why = "delivery refused by PostgreSQL (see the log for the error)";
            int dl = qy_deadletter (pg, ds [0]->brand_id, ds [0]->brand, "notifier", ds [0]->key, why, raw, len);
            if (dl && qy_pg_ok (pg))     //  perhaps the brand_id itself: set aside as an unknown brand
                dl = qy_deadletter (pg, 0, ds [0]->brand, "notifier", ds [0]->key, why, raw, len);
            free (raw);
            if (dl == 0) {
                qy_metric_add (mx->malformed, 1);
                qy_log_warn ("msg_id=%s delivery dead-lettered error=\"refused by PostgreSQL\"", ds [0]->key);
                return 0;
            }
            if (qy_pg_ok (pg)) {
                //  Not even as a dead letter: never wedge every brand's delivery on one row.
                qy_metric_add (mx->malformed, 1);
                qy_log_error ("msg_id=%s delivery dropped error=\"refused by PostgreSQL, also as a dead letter\"",
                              qy_utf8_valid (ds [0]->key) && strlen (ds [0]->key) < 200 ? ds [0]->key : "-");
                return 0;
            }
        }
        if (!qy_service_wait (&wait, QY_DEP_PG, false))
            break;
    }
    if (fresh < 0)
        //  Stopping with PostgreSQL still away: say what is lost, so that
        //  an operator replays the events that made these (qyctl replay).
        for (size_t i = 0; i < n; i++) {
            qy_metric_add (mx->dropped, 1);
            qy_log_error ("delivery=%s brand=%lld dropped at shutdown error=\"PostgreSQL unavailable; replay its event\" event=%s",
                          ds [i]->key, (long long) ds [i]->brand_id, ds [i]->event_id [0] ? ds [i]->event_id : "-");
        }
    return fresh < 0 ? 0 : fresh;
}

int notifier_intake_store (qy_pg_t *pg, Qy__Delivery **all, size_t n_all, const notifier_intake_metrics_t *mx,
                           notifier_insert_claim_t *take)
{
    Qy__Delivery **ds = qy_calloc (n_all ? n_all : 1, sizeof (Qy__Delivery *));
    long kept;
    qy_wait_t wait = { 0 };
    while ((kept = s_tasks_intake (pg, all, n_all, ds, mx)) < 0 && qy_service_wait (&wait, QY_DEP_PG, false))
        ;
    size_t n = kept < 0 ? n_all : (size_t) kept;
    if (kept < 0)
        memcpy (ds, all, n_all * sizeof (Qy__Delivery *));
    int fresh = n ? s_store (pg, ds, n, mx, take) : 0;
    free (ds);
    return fresh;
}

//  Set aside a delivery that arrived broken, waiting for PostgreSQL like
//  a good one would.
static void s_set_aside (qy_pg_t *pg, const Qy__Delivery *d, const char *bad, const zmq_msg_t *m,
                         const notifier_intake_metrics_t *mx)
{
    char why [96];
    qy_snprintf (why, sizeof (why), strncmp (bad ? bad : "", "key (", 5) == 0 ? "delivery field %s"
                                     : "delivery field %s is not valid UTF-8", bad ? bad : "");
    qy_metric_add (mx->malformed, 1);
    qy_wait_t wait = { 0 };
    qy_log_warn ("msg_id=%s delivery dead-lettered error=%s", d && qy_utf8_valid (d->key) && !bad ? d->key : "-",
                 !d ? "protobuf decode failed" : bad ? why : "no key or brand_id");
    while (qy_deadletter (pg, d ? d->brand_id : 0, d && !bad ? d->brand : NULL, "notifier", d && !bad ? d->key : NULL,
                          !d ? "malformed delivery: protobuf decode failed" : bad ? why : "delivery without key or brand_id",
                          zmq_msg_data ((zmq_msg_t *) m), zmq_msg_size ((zmq_msg_t *) m))
           && !qy_pg_ok (pg) && qy_service_wait (&wait, QY_DEP__COUNT, false))
        ;
}

Qy__Delivery *notifier_intake_decode (qy_pg_t *pg, const zmq_msg_t *m, const notifier_intake_metrics_t *mx)
{
    Qy__Delivery *d = qy__delivery__unpack (NULL, zmq_msg_size ((zmq_msg_t *) m), zmq_msg_data ((zmq_msg_t *) m));
    const char *bad = !d ? NULL : qy_pb_bad_utf8 (&d->base);
    if (d && !bad && strlen (d->key) > NOTIFIER_MAX_KEY)
        bad = "key (longer than 512 bytes)";
    if (d && !bad && !s_key_printable (d->key))
        bad = "key (control characters: it goes into an HTTP header)";
    if (d && d->key [0] && d->brand_id && !bad)
        return d;
    s_set_aside (pg, d, bad, m, mx);
    if (d)
        qy__delivery__free_unpacked (d, NULL);
    return NULL;
}
