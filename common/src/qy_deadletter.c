#include "qy/deadletter.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int qy_deadletter_event (qy_pg_t *pg, const Qy__Event *ev, int64_t brand_id, const char *service, const char *reason)
{
    size_t len = qy__event__get_packed_size (ev);
    uint8_t *buf = qy_malloc (len ? len : 1);
    qy__event__pack (ev, buf);
    int rc = qy_deadletter (pg, brand_id, ev->brand, service, ev->msg_id, reason, buf, len);
    free (buf);
    return rc;
}

//  What goes into a text column must be UTF-8 PostgreSQL takes, and short
//  enough for the unique index: an identifier that is not is left out (the
//  raw bytes keep it).
static const char *s_ident (const char *s)
{
    return s && strlen (s) <= QY_DEADLETTER_MAX_ID && qy_utf8_valid (s) ? s : NULL;
}

//  One item to set aside, as the public functions were given it.
typedef struct {
    int64_t     brand_id;
    const char *brand_code, *service, *msg_id, *reason;
    const void *payload;
    size_t      len;
    size_t      keep;       //  bytes of payload kept
    bool        refused;    //  a refused request: closed at once, nothing to replay
} s_letter_t;

//  Set aside: the first keep bytes of payload, its size and SHA-256
//  (computed by PostgreSQL); closed at once when refused.
static int s_store (qy_pg_t *pg, const s_letter_t *l)
{
    int64_t brand_id = l->brand_id;
    size_t len = l->len, keep = l->keep;
    bool refused = l->refused;
    static qy_metric_t *m;
    if (!m)
        m = qy_counter ("qy_dead_letters_total", "messages set aside as dead letters");
    char bid [24], klen [24];
    qy_snprintf (bid, sizeof (bid), "%lld", (long long) brand_id);
    qy_snprintf (klen, sizeof (klen), "%zu", keep);
    //  bytea in hex text form: \x0a1b…
    qy_buf_t hex;
    qy_buf_init (&hex);
    qy_buf_puts (&hex, "\\x");
    qy_buf_hex (&hex, l->payload, len);
    const char *brand_code = s_ident (l->brand_code), *msg_id = s_ident (l->msg_id);
    //  A reason quoting what was sent may end in a cut character: drop it.
    char *why = qy_utf8_prefix (l->reason ? l->reason : "", 1000);
    for (size_t n = strlen (why); n && !qy_utf8_valid (why); )
        why [--n] = 0;
    const char *params [] = { brand_id ? bid : NULL, brand_code ? brand_code : "", l->service,
                              msg_id ? msg_id : "", why, hex.data, klen, refused ? "t" : "f" };
    //  The same item again: nothing, unless an operator replayed it since,
    //  when it failed again and its row is reopened (qyctl deadletters);
    //  a row an operator resolved stays closed.
    bool ok = qy_pg_run (pg, "deadletter",
        "INSERT INTO dead_letters (brand_id, brand_code, service, msg_id, reason, payload, payload_bytes, payload_sha256, "
        "                          resolved_at, replay_result) "
        "SELECT $1, $2, $3, $4, $5, substring (p FROM 1 FOR $7::int), length (p), sha256 (p), "
        "       CASE WHEN $8::bool THEN now () END, CASE WHEN $8::bool THEN 'refused request: kept for diagnosis, nothing to replay' END "
        "FROM (SELECT $6::bytea AS p) x "
        "ON CONFLICT (service, brand_code, msg_id) WHERE msg_id <> '' DO UPDATE "
        "SET reason = EXCLUDED.reason, payload = EXCLUDED.payload, payload_bytes = EXCLUDED.payload_bytes, "
        "    payload_sha256 = EXCLUDED.payload_sha256, brand_id = coalesce (EXCLUDED.brand_id, dead_letters.brand_id), "
        "    replayed_at = NULL, failed_again = dead_letters.failed_again + 1 "
        "WHERE dead_letters.state = 'replayed'", 8, params, NULL);
    qy_buf_free (&hex);
    qy_metric_add (m, 1);
    //  A refused request is the sender's to fix, and it was answered so; a
    //  flood of them must not fill the log (the table keeps each).
    if (refused)
        qy_log_limited (QY_LOG_WARN, "dead letter of a refused request brand=%s reason=%s bytes=%zu kept=%zu stored=%s",
                        brand_code ? brand_code : "", why, len, len < keep ? len : keep, ok ? "yes" : "no");
    else
        qy_log_warn ("dead letter msg_id=%s brand=%s reason=%s bytes=%zu kept=%zu stored=%s", msg_id ? msg_id : "",
                     brand_code ? brand_code : "", why, len, len < keep ? len : keep, ok ? "yes" : "no");
    free (why);
    return ok ? 0 : -1;
}

int qy_deadletter (qy_pg_t *pg, int64_t brand_id, const char *brand_code, const char *service,
                   const char *msg_id, const char *reason, const void *payload, size_t len)
{
    s_letter_t l = { brand_id, brand_code, service, msg_id, reason, payload, len, QY_DEADLETTER_MAX_PAYLOAD, false };
    return s_store (pg, &l);
}

int qy_deadletter_refused (qy_pg_t *pg, int64_t brand_id, const char *brand_code, const char *service,
                           const char *reason, const void *body, size_t len)
{
    s_letter_t l = { brand_id, brand_code, service, NULL, reason, body, len, QY_DEADLETTER_MAX_REFUSED, true };
    return s_store (pg, &l);
}

size_t qy_deadletter_drain_events (qy_inlet_t *inlet, size_t max, qy_pg_t *pg, const char *service,
                                   bool need_group, qy_metric_t *bad, qy_event_fn *on_event, void *arg)
{
    size_t taken = 0;
    while (taken < max) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (qy_inlet_recv (inlet, &m) < 0) {
            zmq_msg_close (&m);
            break;
        }
        taken++;
        const void *data = zmq_msg_data (&m);
        size_t size = zmq_msg_size (&m);
        Qy__Event *ev = qy__event__unpack (NULL, size, data);
        const char *reason = !ev ? "malformed event: protobuf decode failed"
                           : !ev->brand_id ? "event without brand_id: not from ingest"
                           : !ev->msg_id [0] ? "event without msg_id: not from ingest"
                           : need_group && !ev->group_id ? "event without group_id: not from ingest"
                           : NULL;
        if (reason) {
            if (bad)
                qy_metric_add (bad, 1);
            qy_deadletter (pg, ev ? ev->brand_id : 0, ev ? ev->brand : NULL, service,
                           ev ? ev->msg_id : NULL, reason, data, size);
            if (ev)
                qy__event__free_unpacked (ev, NULL);
        }
        else
            on_event (arg, ev, data, size);
        zmq_msg_close (&m);
    }
    return taken;
}

typedef struct {
    qy_pg_t    *pg;
    const char *service;
} s_rest_t;

static void s_rest (void *arg, Qy__Event *ev, const void *data, size_t size)
{
    s_rest_t *r = arg;
    qy_deadletter (r->pg, ev->brand_id, ev->brand, r->service, ev->msg_id, "not taken in: stopping grace over", data, size);
    qy__event__free_unpacked (ev, NULL);
}

size_t qy_deadletter_rest (qy_inlet_t *inlet, qy_pg_t *pg, const char *service)
{
    if (qy_inlet_drained (inlet))
        return 0;
    s_rest_t r = { pg, service };
    size_t n = qy_deadletter_drain_events (inlet, SIZE_MAX, pg, service, false, NULL, s_rest, &r);
    qy_inlet_done (inlet);          //  set aside: no longer owed
    return n;
}

const char *qy_deadletter_replay_problem (const Qy__Event *ev, const void *payload, size_t len, const char *msg_id,
                                          const char *service, const char *brand, int64_t brand_id)
{
    if (!ev && len && ((const unsigned char *) payload) [0] == '{')
        return "not replayable: an item of an HTTP gateway request; the gateway must send it again";
    if (!ev)
        return "not replayable: the payload is not an event";
    if (!msg_id || !*msg_id || strcmp (ev->msg_id, msg_id) != 0)
        return "not replayable: the payload does not carry the row's msg_id";
    if (strcmp (ev->brand, brand) != 0)
        return "not replayable: the event names another brand";
    if (strcmp (service, "ingest") == 0)
        return NULL;
    if (ev->brand_id != brand_id)
        return "not replayable: the event did not come through ingest (no brand_id); send it to ingest";
    if (strcmp (service, "scoring") == 0 && !ev->group_id)
        return "not replayable: the event has no group_id";
    return NULL;
}
