//  qyctl replay: re-sends archived events into the chain (the bus front of
//  the moderation hop), for recovery after a stage lost events in flight.
//  Every effect downstream is idempotent by event id, so replaying what was
//  already processed changes nothing; the events carry replay = true.
#include "qyctl.h"
#include "qy/pg.h"
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
    (void) argc;
    (void) argv;
    const char *brand = qyctl_arg (0);
    if (!brand)
        qyctl_usage_error ("replay needs a BRAND");
    const char *endpoint = qyctl_opt ("endpoint", getenv ("QY_REPLAY_ENDPOINT"));
    if (!endpoint)
        endpoint = "tcp://127.0.0.1:5550";
    char *what = qy_printf ("replay re-sends %s's archived events of times %s to %s, ingested %s to %s, into %s", brand,
                            qyctl_opt ("since", "the start"), qyctl_opt ("until", "the end"),
                            qyctl_opt ("ingested-since", "from the start"), qyctl_opt ("ingested-until", "the end"), endpoint);
    qyctl_confirm (what);
    free (what);
    char bid [24];
    int64_t brand_id = qyctl_brand_id (brand);
    qy_pg_i64 (bid, brand_id);
    //  --since/--until: the events' own time (msgtime); --ingested-*: when
    //  ingest accepted them, which is what a crash's time says (a gateway
    //  sends events of hours ago after an outage of its own).
    const char *p [] = { bid, qyctl_opt ("since", "-infinity"), qyctl_opt ("until", "infinity"),
                         qyctl_opt ("ingested-since", "-infinity"),
                         qyctl_opt ("ingested-until", "infinity") };
    PGresult *res = qyctl_exec (
        QY_ARCHIVE_COLUMNS QY_ARCHIVE_FROM
        "WHERE m.brand_id = $1 AND m.event_time >= $2::timestamptz AND m.event_time < $3::timestamptz "
        "  AND m.ingest_time >= $4::timestamptz AND m.ingest_time < $5::timestamptz "
        "ORDER BY m.event_time, m.msg_id", 5, p);
    void *ctx = zmq_ctx_new ();
    void *push = qy_zmq_socket (ctx, ZMQ_DEALER, 20000, 30000);
    qyctl_hop_curve (push);
    if (qy_zmq_connect (push, endpoint))
        qyctl_die ("cannot connect to %s", endpoint);
    int n = PQntuples (res);
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, "replay", n);
    for (int r = 0; r < n; r++) {
        qyctl_progress (&progress, r);
        Qy__Event ev;
        qy_archive_hold_t hold;
        qy_archive_event (res, r, &ev, &hold);
        //  Blocking send: a full hop makes replay wait, never drop.
        if (qy_zmq_send_pb (push, &ev.base, 0))
            qyctl_die ("send to %s failed at %s", endpoint, ev.msg_id);
        qy_archive_release (&hold);
    }
    qyctl_progress_end (&progress);
    PQclear (res);
    zmq_close (push);          //  linger flushes what is queued
    zmq_ctx_term (ctx);
    printf ("replayed %d events of %s into %s\n", n, brand, endpoint);
    return 0;
}

static const qyctl_option_t s_replay_opts [] = {
    { "since",    QYCTL_VALUE, "TIME", "events whose own time is at or after this (default: the archive's start)" },
    { "until",    QYCTL_VALUE, "TIME", "events whose own time is before this (default: the end)" },
    { "ingested-since", QYCTL_VALUE, "TIME", "events ingest accepted at or after this (a crash's time)" },
    { "ingested-until", QYCTL_VALUE, "TIME", "events ingest accepted before this" },
    { "endpoint", QYCTL_VALUE, "E",    "the bus's moderation front (default $QY_REPLAY_ENDPOINT, tcp://127.0.0.1:5550)" },
    { NULL }
};
const qyctl_command_t qyctl_replay_commands [] = {
    { "replay", "BRAND", 1, 1, s_replay_opts, "re-send the brand's archived events into the chain", QYCTL_CONFIRM },
    { NULL }
};
