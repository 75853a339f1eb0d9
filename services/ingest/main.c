//  qy-ingest: gateways send Batch over ZeroMQ (the door, ingest_door.c) or
//  WeCom-shaped JSON over HTTP (ingest_http.c); both land in the same
//  transaction (the turn, ingest_turn.c), are answered only after it
//  committed, and the accepted events are pushed to moderation through the
//  bus (the outbox, ingest_outbox.c). This file: config, sockets, the loop.
#include "ingest.h"
#include "ingest_door.h"
#include "ingest_http.h"
#include "ingest_outbox.h"
#include "ingest_turn.h"
#include "qy/log.h"
#include "qy/service.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include "qy/zmq_curve.h"
#include "qy/seal.h"
#include <openssl/crypto.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    qy_common_config_t common;
    char *zmq_gateway;
    char *curve_secret;
    char *master_key_file;
    char *zmq_out;
    long  hwm;
    long  max_msg_bytes;
    long  max_batches;
    long  max_events;
    bool  http_on;
    char *http_bind;
    long  http_port, http_max_body, http_queue, http_max_conns, http_max_conns_per_ip, http_conn_timeout_s;
    long  http_window_s, creds_refresh_ms;
    long  resend_grace_s, resend_interval_ms, resend_max;
    long  cache_max;
} ingest_config_t;

static const qy_option_t s_options [] = {
    QY_COMMON_OPTIONS (ingest_config_t),
    { "zmq.gateway", QY_STR, offsetof (ingest_config_t, zmq_gateway), "tcp://*:5540", 0, 0, "ROUTER endpoint gateways connect to" },
    { "gateway.curve_secret_key", QY_STR, offsetof (ingest_config_t, curve_secret), "", 0, 0, "ingest's CURVE secret key (Z85, 40 characters; set it with _FILE). Set: the ZeroMQ door takes only gateways whose key `qyctl gatekey create` made, each for its own brand; empty: a plain door (development)" },
    { "zmq.out",     QY_STR, offsetof (ingest_config_t, zmq_out),     "tcp://bus:5550", 0, 0, "bus front of the moderation hop" },
    { "zmq.hwm",     QY_INT, offsetof (ingest_config_t, hwm),         "20000", 100, 10000000, "high-water mark of each socket (messages)" },
    { "zmq.max_msg_bytes", QY_INT, offsetof (ingest_config_t, max_msg_bytes), "4194304", 1024, 1073741824, "largest frame a gateway may send on zmq.gateway (bytes); larger: ZeroMQ drops its connection unread" },
    { "batch.max_requests", QY_INT, offsetof (ingest_config_t, max_batches), "32", 1, 1024, "gateway batches committed in one transaction" },
    { "batch.max_events",   QY_INT, offsetof (ingest_config_t, max_events),  "5000", 1, 100000, "events committed in one transaction" },
    { "gateway.http",       QY_BOOL, offsetof (ingest_config_t, http_on),    "true", 0, 0, "serve the HTTP front door (docs/gateway.md)" },
    { "gateway.http_bind",  QY_STR, offsetof (ingest_config_t, http_bind),   "0.0.0.0", 0, 0, "address of the HTTP front door" },
    { "gateway.http_port",  QY_INT, offsetof (ingest_config_t, http_port),   "8080", 0, 65535, "port of the HTTP front door (0 = any free)" },
    { "gateway.max_body",   QY_INT, offsetof (ingest_config_t, http_max_body), "4194304", 1024, 268435456, "largest request body (bytes); larger: 413" },
    { "gateway.queue",      QY_INT, offsetof (ingest_config_t, http_queue),  "256", 1, 100000, "HTTP requests waiting for a commit; more: 429" },
    { "gateway.max_conns",  QY_INT, offsetof (ingest_config_t, http_max_conns), "512", 1, 100000, "concurrent HTTP connections" },
    { "gateway.max_conns_per_ip", QY_INT, offsetof (ingest_config_t, http_max_conns_per_ip), "64", 0, 100000, "concurrent HTTP connections from one address (0 = no limit); more are closed at once" },
    { "gateway.conn_timeout_s", QY_INT, offsetof (ingest_config_t, http_conn_timeout_s), "30", 1, 3600, "an HTTP connection idle this long is closed" },
    { "gateway.replay_window_s", QY_INT, offsetof (ingest_config_t, http_window_s), "300", 1, 86400, "signed requests older or newer than this are refused" },
    { "resend.grace_s", QY_INT, offsetof (ingest_config_t, resend_grace_s), "10", 1, 86400, "an archived event not handed on to the bus this long after its commit is re-sent from the archive (ingest died between its commit and its send)" },
    { "resend.interval_ms", QY_INT, offsetof (ingest_config_t, resend_interval_ms), "2000", 100, 3600000, "how often the archive is searched for events not handed on" },
    { "resend.max", QY_INT, offsetof (ingest_config_t, resend_max), "2000", 1, 100000, "events re-sent from the archive per search, in whole archived batches (at least one)" },
    { "cache.max_entries", QY_INT, offsetof (ingest_config_t, cache_max), "2000000", 1000, 100000000, "ids each of ingest's caches (groups, members, channels, memberships) holds before it is dropped and refilled: about 70 bytes an entry, so memory stays bounded whatever the number of groups (docs/scaling.md)" },
    { "gateway.master_key_file", QY_STR, offsetof (ingest_config_t, master_key_file), "", 0, 0, "file holding the master key (64 hex digits) HMAC secrets of gateway credentials are sealed under; the same as qyctl's $QY_INGEST_GATEWAY_MASTER_KEY_FILE. Set: secrets still in plain rows are sealed in place at the next reload; empty (development): sealed secrets cannot be used" },
    { "gateway.creds_refresh_ms", QY_INT, offsetof (ingest_config_t, creds_refresh_ms), "5000", 100, 3600000, "how often gateway credentials are reloaded" },
};

#define S_LINGER_MS 5000          //  how long events still in the pipe to the bus may take at shutdown

//  The sockets: the gateways' ROUTER and the outlet to the bus.
typedef struct {
    void *ctx, *router;
    qy_outlet_t *push;
    void *zap;                  //  the ZAP handler's REP (CURVE only)
    bool bus_up;                //  the outlet's link, as last said
} s_sockets_t;

//  With a secret key the door is a CURVE server whose clients the ZAP
//  handler (this loop, ingest_door_zap) admits by their key; the handler
//  is bound before the door so no handshake passes without it.
static int s_curve_open (const ingest_config_t *cfg, s_sockets_t *z)
{
    if (!cfg->curve_secret [0])
        return 0;
    char err [160], public [QY_CURVE_KEY_LEN + 1];
    z->zap = qy_zmq_socket (z->ctx, ZMQ_REP, 1000, 0);
    if (zmq_bind (z->zap, QY_ZAP_ENDPOINT) != 0
    ||  qy_zmq_curve_server (z->router, cfg->curve_secret, "gateway", err, sizeof (err)) != 0) {
        qy_log_error ("cannot make the gateway door a CURVE server: %s", z->zap ? err : "ZAP handler");
        return -1;
    }
    qy_zmq_curve_public (cfg->curve_secret, public);
    qy_log_info ("gateway door uses CURVE public_key=%s", public);
    return 0;
}

static int s_sockets_open (const ingest_config_t *cfg, s_sockets_t *z)
{
    z->ctx = zmq_ctx_new ();
    z->router = qy_zmq_socket (z->ctx, ZMQ_ROUTER, (int) cfg->hwm, 0);
    //  A frame larger than this is refused while it is read: ZeroMQ drops
    //  the connection without allocating it (a gateway gets no answer).
    int64_t max_msg = cfg->max_msg_bytes;
    zmq_setsockopt (z->router, ZMQ_MAXMSGSIZE, &max_msg, sizeof (max_msg));
    //  Sends nothing before the bus said its epoch, keeps what it sent until
    //  acknowledged (CURVE on the hop when configured): with the bus away,
    //  the outbox says no room and gateways get busy / 429; a bus that dies
    //  gets what it held sent again.
    z->push = qy_outlet_new (z->ctx, cfg->zmq_out, qy_outlet_window (cfg->hwm), "moderation");
    //  /health is 503 ("bus":"down") until a connection to the bus is up.
    qy_service_needs (QY_DEP_BUS);
    if (!z->push || s_curve_open (cfg, z))
        return -1;
    //  Held: a hand-on's events go as packs, flushed when it ends
    //  (ingest_outbox_flush); what a pack left open loses, the archive
    //  re-sends (ingest_outbox_resend).
    qy_outlet_hold (z->push, true);
    if (qy_zmq_bind (z->router, cfg->zmq_gateway)) {
        qy_log_error ("cannot open sockets gateway=%s out=%s", cfg->zmq_gateway, cfg->zmq_out);
        return -1;
    }
    char ep [256];
    qy_log_info ("listening gateway=%s", qy_zmq_last_endpoint (z->router, ep, sizeof (ep)));
    return 0;
}

static void s_sockets_close (const ingest_config_t *cfg, s_sockets_t *z)
{
    if (z->zap)
        zmq_close (z->zap);
    zmq_close (z->router);
    qy_outlet_destroy (&z->push);
    int64_t t_term = qy_mono_us ();
    zmq_ctx_term (z->ctx);
    if (qy_mono_us () - t_term >= (S_LINGER_MS - 100) * 1000LL)
        //  ZeroMQ does not say how many: those sent last, up to zmq.hwm.
        qy_log_warn ("events still in flight to the bus were dropped at shutdown (linger expired); "
                     "archived, recover with qyctl replay linger_ms=%d up_to=%ld", S_LINGER_MS, cfg->hwm);
}

//  An unknown brand code is remembered for a few seconds (a gateway
//  sending for a brand not created yet costs one lookup, not one per
//  event); a brand created meanwhile is announced on qy_config.
static void s_notes (qy_pg_t *listen, ingest_store_t *store, bool *listening)
{
    PGconn *conn = qy_pg_conn (listen);
    PQconsumeInput (conn);
    bool brands = false;
    for (PGnotify *note; (note = PQnotifies (conn)); PQfreemem (note))
        brands |= strncmp (note->extra, "brands:", 7) == 0;
    if (brands)
        ingest_store_forget_unknown (store);
    *listening = PQstatus (conn) == CONNECTION_OK;
}

static ingest_http_t *s_http_open (const ingest_config_t *cfg, ingest_creds_t *creds, qy_pg_t *pg, bool *failed)
{
    *failed = false;
    if (!cfg->http_on)
        return NULL;
    if (cfg->master_key_file [0]) {
        unsigned char mk [32];
        char err [200];
        if (qy_master_key_load (cfg->master_key_file, mk, err, sizeof (err))) {
            qy_log_error ("gateway.master_key_file: %s", err);
            *failed = true;
            return NULL;
        }
        ingest_creds_set_master (creds, mk);
        OPENSSL_cleanse (mk, sizeof (mk));
    }
    ingest_creds_load (creds, pg);
    ingest_http_config_t hc = { cfg->http_bind, cfg->http_port, cfg->http_max_body, cfg->http_queue,
                                cfg->http_max_conns, cfg->http_max_conns_per_ip, cfg->http_conn_timeout_s,
                                cfg->http_window_s };
    ingest_http_t *http = ingest_http_new (&hc, creds);
    if (!http)
        *failed = true;
    else
        qy_log_info ("listening http=%s:%d", cfg->http_bind, ingest_http_port (http));
    return http;
}

//  Everything the loop holds between turns.
typedef struct {
    const ingest_config_t *cfg;
    ingest_turn_t    turn;
    s_sockets_t      z;
    qy_pg_t         *listen;
    bool             listening;
    ingest_creds_t  *creds;
    ingest_keys_t   *keys;          //  CURVE only
    ingest_http_t   *http;
    ingest_handon_t *handon;
    int64_t          next_creds, next_resend;
    ingest_door_req_t *reqs;
    ingest_job_t   **jobs, **answered;
} s_loop_t;

//  Housekeeping before a turn: health, credentials, notifications, the
//  outbox and re-sends. Returns true while events wait in the outbox.
static bool s_before (s_loop_t *l)
{
    const ingest_config_t *cfg = l->cfg;
    qy_service_heartbeat ();
    qy_service_check_deps (l->turn.pg, NULL);
    qy_outlet_poll (l->z.push);
    //  Ready once linked and the bus has said its epoch: linked alone, the
    //  first batches met an outlet with no room yet and were answered busy
    //  (429) by an ingest whose /readyz said ready.
    bool bus_up = qy_outlet_linked (l->z.push) && qy_outlet_known (l->z.push);
    if (l->z.bus_up && !bus_up)
        qy_log_warn ("no link to the bus: gateways are answered busy until it is back");
    l->z.bus_up = bus_up;
    qy_service_set_dep (QY_DEP_BUS, bus_up);
    ingest_outbox_bus_up (l->turn.outbox, bus_up);
    if ((l->http || l->keys) && qy_mono_us () >= l->next_creds) {
        //  Revoked or new credentials and keys take effect within one refresh.
        if (l->http)
            ingest_creds_load (l->creds, l->turn.pg);
        if (l->keys)
            ingest_keys_load (l->keys, l->turn.pg);
        l->next_creds = qy_mono_us () + cfg->creds_refresh_ms * 1000;
    }
    if (!l->listening && (l->listening = qy_pg_listen (l->listen, "qy_config")))
        ingest_store_forget_unknown (l->turn.store);     //  brands may have been created while not listening
    ingest_outbox_settle (l->turn.outbox);
    bool waiting = !ingest_outbox_flush (l->turn.outbox);
    if (qy_mono_us () >= l->next_resend && bus_up) {
        qy_metric_add (l->turn.m->resent, ingest_outbox_resend (l->turn.outbox, cfg->resend_grace_s,
                                                                cfg->resend_max));
        l->next_resend = qy_mono_us () + cfg->resend_interval_ms * 1000;
    }
    ingest_handon_flush (l->handon);
    return waiting;
}

//  One turn: wait for work, take it up to the transaction limits, write.
static void s_turn (s_loop_t *l)
{
    const ingest_config_t *cfg = l->cfg;
    bool waiting = s_before (l);
    zmq_pollitem_t items [6] = { { l->z.router, 0, ZMQ_POLLIN, 0 }, { qy_outlet_link_socket (l->z.push), 0, ZMQ_POLLIN, 0 },
                                 { qy_outlet_socket (l->z.push), 0, ZMQ_POLLIN, 0 } };
    int nitems = 3, notes = -1;
    if (l->z.zap)
        items [nitems++] = (zmq_pollitem_t) { l->z.zap, 0, ZMQ_POLLIN, 0 };
    if (l->listening) {
        notes = nitems;
        items [nitems++] = (zmq_pollitem_t) { NULL, PQsocket (qy_pg_conn (l->listen)), ZMQ_POLLIN, 0 };
    }
    if (l->http)
        items [nitems++] = (zmq_pollitem_t) { NULL, ingest_http_fd (l->http), ZMQ_POLLIN, 0 };
    if (zmq_poll (items, nitems, waiting ? 20 : 200) <= 0)
        return;
    if (notes > 0 && (items [notes].revents & ZMQ_POLLIN))
        s_notes (l->listen, l->turn.store, &l->listening);
    if (l->z.zap)
        ingest_door_zap (&l->turn, l->z.zap);
    size_t nevents = 0;
    int nreqs = ingest_door_take (&l->turn, l->reqs, (int) cfg->max_batches, (size_t) cfg->max_events, &nevents);
    size_t njobs = 0, nanswered = 0;
    if (l->http) {
        //  HTTP jobs count against the same event budget (at least one is taken).
        size_t budget = nevents < (size_t) cfg->max_events ? (size_t) cfg->max_events - nevents : 0;
        njobs = ingest_http_take (l->http, l->jobs, (size_t) cfg->max_batches, budget);
        njobs = ingest_turn_prepare_jobs (&l->turn, l->jobs, njobs, l->answered, &nanswered);
    }
    ingest_turn_handle (&l->turn, l->reqs, nreqs, l->jobs, njobs);
    ingest_handon_flush (l->handon);
    if (l->http) {
        ingest_http_complete (l->http, l->answered, nanswered);
        ingest_http_complete (l->http, l->jobs, njobs);
    }
    ingest_door_release (l->reqs, nreqs);
}

int main (int argc, char **argv)
{
    ingest_config_t cfg = { 0 };
    qy_service_start ("ingest", argc, argv, s_options, QY_ARRAY_LEN (s_options), &cfg, &cfg.common);
    ingest_metrics_t metrics;
    ingest_metrics_init (&metrics);
    s_loop_t l = { .cfg = &cfg, .turn.m = &metrics };
    qy_service_needs (QY_DEP_PG);
    l.turn.pg = qy_pg_new (cfg.common.pg_dsn);
    qy_service_set_dep (QY_DEP_PG, qy_pg_connect (l.turn.pg));
    l.turn.store = ingest_store_new (l.turn.pg, (size_t) cfg.cache_max);
    l.listen = qy_pg_new (cfg.common.pg_dsn);
    if (cfg.curve_secret [0]) {
        l.keys = ingest_keys_new ();
        ingest_keys_load (l.keys, l.turn.pg);
        l.turn.keys = l.keys;
    }
    if (s_sockets_open (&cfg, &l.z))
        return 2;
    l.turn.router = l.z.router;
    l.creds = ingest_creds_new ();
    bool failed;
    l.http = s_http_open (&cfg, l.creds, l.turn.pg, &failed);
    if (failed)
        return 2;
    l.next_creds = qy_mono_us () + cfg.creds_refresh_ms * 1000;
    l.handon = ingest_handon_new (l.turn.pg);
    l.turn.outbox = ingest_outbox_new (l.z.push, l.handon);
    l.next_resend = 0;        //  at once: what a crash left behind goes first
    l.reqs = qy_calloc ((size_t) cfg.max_batches, sizeof (ingest_door_req_t));
    l.jobs = qy_calloc ((size_t) cfg.max_batches, sizeof (ingest_job_t *));
    l.answered = qy_calloc ((size_t) cfg.max_batches, sizeof (ingest_job_t *));
    qy_service_ready ();
    while (qy_service_running ())
        s_turn (&l);
    ingest_http_destroy (&l.http);
    ingest_creds_destroy (&l.creds);
    ingest_keys_destroy (&l.keys);
    //  What was sent is marked once acknowledged; what is not by then stays
    //  unmarked and is re-sent from the archive (by this ingest or another).
    for (int64_t until = qy_mono_us () + 3000000; qy_mono_us () < until; qy_sleep_ms (20)) {
        ingest_outbox_settle (l.turn.outbox);
        if (ingest_outbox_flush (l.turn.outbox) && !ingest_outbox_pending (l.turn.outbox))
            break;
    }
    ingest_outbox_settle (l.turn.outbox);
    ingest_outbox_destroy (&l.turn.outbox);
    ingest_handon_destroy (&l.handon);
    free (l.reqs);
    free (l.jobs);
    free (l.answered);
    s_sockets_close (&cfg, &l.z);
    ingest_store_destroy (&l.turn.store);
    qy_pg_destroy (&l.listen);
    qy_pg_destroy (&l.turn.pg);
    qy_service_stop (s_options, QY_ARRAY_LEN (s_options), &cfg);
    return 0;
}
