//  qyctl replay: re-sends archived events into the chain (the bus front of
//  the moderation hop), for recovery after a stage lost events in flight.
//  Every effect downstream is idempotent by event id, so replaying what was
//  already processed changes nothing; the events carry replay = true.
#include "qyctl.h"
#include "qunyun.pb-c.h"
#include "qy/archive.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int qyctl_replay (int argc, char **argv)
{
    const char *brand = qyctl_arg (argc, argv, 0);
    if (!brand)
        qyctl_die ("usage: qyctl replay BRAND [--since TIMESTAMP] [--until TIMESTAMP] [--ingested-since TIMESTAMP] "
                   "[--ingested-until TIMESTAMP] [--endpoint tcp://bus:5550]");
    const char *endpoint = qyctl_opt (argc, argv, "--endpoint", getenv ("QY_REPLAY_ENDPOINT"));
    if (!endpoint)
        endpoint = "tcp://127.0.0.1:5550";
    char bid [24];
    int64_t brand_id = qyctl_brand_id (brand);
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    //  --since/--until: the events' own time (msgtime); --ingested-*: when
    //  ingest accepted them, which is what a crash's time says (a gateway
    //  sends events of hours ago after an outage of its own).
    const char *p [] = { bid, qyctl_opt (argc, argv, "--since", "-infinity"), qyctl_opt (argc, argv, "--until", "infinity"),
                         qyctl_opt (argc, argv, "--ingested-since", "-infinity"),
                         qyctl_opt (argc, argv, "--ingested-until", "infinity") };
    PGresult *res = qyctl_exec (
        QY_ARCHIVE_COLUMNS QY_ARCHIVE_FROM
        "WHERE m.brand_id = $1 AND m.event_time >= $2::timestamptz AND m.event_time < $3::timestamptz "
        "  AND m.ingest_time >= $4::timestamptz AND m.ingest_time < $5::timestamptz "
        "ORDER BY m.event_time, m.msg_id", 5, p);
    void *ctx = zmq_ctx_new ();
    void *push = qy_zmq_socket (ctx, ZMQ_PUSH, 20000, 30000);
    if (qy_zmq_connect (push, endpoint))
        qyctl_die ("cannot connect to %s", endpoint);
    int n = PQntuples (res);
    for (int r = 0; r < n; r++) {
        Qy__Event ev;
        qy_archive_hold_t hold;
        qy_archive_event (res, r, &ev, &hold);
        //  Blocking send: a full hop makes replay wait, never drop.
        if (qy_zmq_send_pb (push, &ev.base, 0))
            qyctl_die ("send to %s failed at %s", endpoint, ev.msg_id);
        qy_archive_release (&hold);
    }
    PQclear (res);
    zmq_close (push);          //  linger flushes what is queued
    zmq_ctx_term (ctx);
    printf ("replayed %d events of %s into %s\n", n, brand, endpoint);
    return 0;
}
