//  qyctl send: the scripted gateway. Reads events as JSON lines, sends them
//  to ingest in batches over ZeroMQ (DEALER → ROUTER) and prints each Ack
//  as a JSON line. Field names follow proto/qunyun.proto; "kind", "role",
//  "join_scene" and "leave_reason" take lower-case names; "t" is seconds
//  relative to now (event_time_us wins if given).
#include "qyctl.h"
#include "qy/zmq_curve.h"
#include "qunyun.pb-c.h"
#include "qy/util.h"
#include "qy/zmq.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static int s_enum (const ProtobufCEnumDescriptor *d, const char *name)
{
    char upper [64];
    size_t i = 0;
    for (; name [i] && i + 1 < sizeof (upper); i++)
        upper [i] = (char) (name [i] >= 'a' && name [i] <= 'z' ? name [i] - 32 : name [i]);
    upper [i] = 0;
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name (d, upper);
    if (!v)
        qyctl_die ("unknown %s '%s'", d->short_name, name);
    return v->value;
}

static char *s_str (json_t *o, const char *key)
{
    json_t *v = json_object_get (o, key);
    return v && json_is_string (v) ? qy_strdup (json_string_value (v)) : qy_strdup ("");
}

static Qy__Event *s_event (json_t *o)
{
    Qy__Event *ev = qy_calloc (1, sizeof (*ev));
    qy__event__init (ev);
    ev->brand = s_str (o, "brand");
    ev->msg_id = s_str (o, "msg_id");
    ev->group = s_str (o, "group");
    ev->store = s_str (o, "store");
    ev->member = s_str (o, "member");
    ev->nickname = s_str (o, "nickname");
    ev->text = s_str (o, "text");
    ev->url = s_str (o, "url");
    ev->ref_msg_id = s_str (o, "ref_msg_id");
    ev->channel = s_str (o, "channel");
    ev->inviter = s_str (o, "inviter");
    ev->product = s_str (o, "product");
    ev->unionid = s_str (o, "unionid");
    ev->phone = s_str (o, "phone");
    json_t *v;
    if ((v = json_object_get (o, "kind")) && json_is_string (v))
        ev->kind = s_enum (&qy__kind__descriptor, json_string_value (v));
    if ((v = json_object_get (o, "role")) && json_is_string (v))
        ev->role = s_enum (&qy__role__descriptor, json_string_value (v));
    if ((v = json_object_get (o, "join_scene")) && json_is_string (v))
        ev->join_scene = s_enum (&qy__join_scene__descriptor, json_string_value (v));
    if ((v = json_object_get (o, "leave_reason")) && json_is_string (v))
        ev->leave_reason = s_enum (&qy__leave_reason__descriptor, json_string_value (v));
    if ((v = json_object_get (o, "at_all")))
        ev->at_all = json_is_true (v);
    if ((v = json_object_get (o, "amount_cents")) && json_is_integer (v))
        ev->amount_cents = json_integer_value (v);
    if ((v = json_object_get (o, "event_time_us")) && json_is_integer (v))
        ev->event_time_us = json_integer_value (v);
    else
    if ((v = json_object_get (o, "t")) && json_is_number (v))
        ev->event_time_us = qy_now_us () + (int64_t) (json_number_value (v) * 1e6);
    json_t *m = json_object_get (o, "mentions");
    if (m && json_is_array (m)) {
        ev->n_mentions = json_array_size (m);
        ev->mentions = qy_calloc (ev->n_mentions + 1, sizeof (char *));
        for (size_t i = 0; i < ev->n_mentions; i++)
            ev->mentions [i] = qy_strdup (json_is_string (json_array_get (m, i)) ? json_string_value (json_array_get (m, i)) : "");
    }
    return ev;
}

static void s_free_event (Qy__Event *ev)
{
    char **strs [] = { &ev->brand, &ev->msg_id, &ev->group, &ev->store, &ev->member, &ev->nickname, &ev->text,
                       &ev->url, &ev->ref_msg_id, &ev->channel, &ev->inviter, &ev->product, &ev->unionid, &ev->phone };
    for (size_t i = 0; i < QY_ARRAY_LEN (strs); i++)
        free (*strs [i]);
    for (size_t i = 0; i < ev->n_mentions; i++)
        free (ev->mentions [i]);
    free (ev->mentions);
    free (ev);
}

static const char *s_status (Qy__ItemStatus s)
{
    return s == QY__ITEM_STATUS__ACCEPTED ? "accepted" : s == QY__ITEM_STATUS__DUPLICATE ? "duplicate" : "rejected";
}

//  Send one frame to ingest and wait for its Ack (NULL, with a message on
//  stderr, when none or an undecodable one came back). Caller frees it.
Qy__Ack *qyctl_ingest_call (void *dealer, const void *data, size_t len, const char *batch_id, int timeout_ms)
{
    zmq_send (dealer, data, len, 0);
    Qy__Ack *ack = qy_zmq_ack_wait (dealer, batch_id, timeout_ms);
    if (!ack)
        fprintf (stderr, "qyctl: no answer from ingest within %d ms\n", timeout_ms);
    return ack;
}

//  Print an Ack as a JSON line and free it. Returns -1 when there was
//  none, 1 when the batch or any of its events was refused, else 0.
static int s_print_ack (Qy__Ack *ack)
{
    if (!ack)
        return -1;
    int refused = !ack->ok;
    qy_buf_t b;
    qy_buf_init (&b);
    qy_buf_puts (&b, "{\"batch_id\":");
    qy_buf_json_str (&b, ack->batch_id);
    qy_buf_printf (&b, ",\"ok\":%s,\"error\":", ack->ok ? "true" : "false");
    qy_buf_json_str (&b, ack->error);
    qy_buf_printf (&b, ",\"retry_after_ms\":%u,\"results\":[", ack->retry_after_ms);
    for (size_t i = 0; i < ack->n_results; i++) {
        qy_buf_printf (&b, "%s{\"msg_id\":", i ? "," : "");
        qy_buf_json_str (&b, ack->results [i]->msg_id);
        qy_buf_printf (&b, ",\"status\":\"%s\"", s_status (ack->results [i]->status));
        refused |= ack->results [i]->status == QY__ITEM_STATUS__REJECTED;
        if (ack->results [i]->error && *ack->results [i]->error) {
            qy_buf_puts (&b, ",\"error\":");
            qy_buf_json_str (&b, ack->results [i]->error);
        }
        qy_buf_puts (&b, "}");
    }
    qy_buf_puts (&b, "]}\n");
    fputs (b.data, stdout);
    fflush (stdout);
    qy_buf_free (&b);
    qy__ack__free_unpacked (ack, NULL);
    return refused;
}

//  A batch answered busy (the bus away, moderation behind: nothing stored)
//  goes again after the pause ingest asks for, until timeout_ms from the
//  first send: a script feeding ingest slows down under backpressure
//  instead of dropping what it was given. Sending the same batch again is
//  safe, ingest being idempotent by (brand, message id).
Qy__Ack *qyctl_ingest_batch (void *dealer, const char *batch_id, Qy__Event **evs, size_t n, int timeout_ms)
{
    Qy__Batch batch = QY__BATCH__INIT;
    batch.batch_id = (char *) batch_id;
    batch.gateway = "qyctl";
    batch.n_events = n;
    batch.events = evs;
    size_t len = qy__batch__get_packed_size (&batch);
    uint8_t *buf = qy_malloc (len);
    qy__batch__pack (&batch, buf);
    int64_t until = qy_mono_us () + (int64_t) timeout_ms * 1000;
    Qy__Ack *ack = qyctl_ingest_call (dealer, buf, len, batch_id, timeout_ms);
    int pause_ms;
    while ((pause_ms = qy_ack_retry_ms (ack, qy_mono_us (), until)) >= 0) {
        qy__ack__free_unpacked (ack, NULL);
        qy_sleep_ms (pause_ms);
        int left_ms = (int) ((until - qy_mono_us ()) / 1000);
        ack = qyctl_ingest_call (dealer, buf, len, batch_id, left_ms > 0 ? left_ms : 1);
    }
    free (buf);
    return ack;
}

//  A frame that is no protobuf Event or Batch: a varint field whose
//  length runs past the end.
static const unsigned char s_junk [] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x03, 'b', 'a', 'd' };

//  Send a batch and print its ack. Returns 1 when ingest did not answer;
//  *refused is set when it refused the batch or any event of it.
static int s_flush (void *dealer, Qy__Event **evs, size_t n, int *seq, int timeout_ms, bool *refused)
{
    char id [32];
    qy_snprintf (id, sizeof (id), "send-%d", ++*seq);
    int rc = s_print_ack (qyctl_ingest_batch (dealer, id, evs, n, timeout_ms));
    if (rc > 0)
        *refused = true;
    return rc < 0;
}

//  A door with CURVE: this gateway's secret key (from qyctl gatekey create)
//  and ingest's public key.
static void s_curve (void *dealer)
{
    char *secret = qyctl_secret ("curve-secret", "QY_GATEWAY_CURVE_SECRET");
    const char *server = qyctl_opt ("server-key", getenv ("QY_INGEST_PUBLIC_KEY"));
    if (!secret)
        return;
    char err [160];
    int rc = server ? qy_zmq_curve_client (dealer, server, secret, err, sizeof (err)) : -1;
    explicit_bzero (secret, strlen (secret));
    free (secret);
    if (!server)
        qyctl_die ("--curve-secret-file needs ingest's public key: --server-key or $QY_INGEST_PUBLIC_KEY");
    if (rc)
        qyctl_die ("%s", err);
}

//  Send what is gathered (when anything is) and free it. true when
//  ingest did not answer.
static bool s_flush_free (void *dealer, Qy__Event **evs, size_t *n, int *seq, int timeout_ms, bool *refused)
{
    bool lost = *n && s_flush (dealer, evs, *n, seq, timeout_ms, refused);
    for (size_t i = 0; i < *n; i++)
        s_free_event (evs [i]);
    *n = 0;
    return lost;
}

//  --garbage --push E: what a misbehaving internal sender would push
//  straight onto a bus hop (no ingest, no ack): an undecodable frame and an
//  Event without brand_id. The service behind must dead-letter both and go
//  on.
static int s_push_garbage (const char *push)
{
    if (!qyctl_flag ("garbage"))
        qyctl_die ("--push only sends --garbage");
    void *pctx = zmq_ctx_new ();
    void *sock = qy_zmq_socket (pctx, ZMQ_DEALER, 1000, 2000);
    qyctl_hop_curve (sock);
    if (qy_zmq_connect (sock, push))
        qyctl_die ("cannot connect to %s", push);
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "acme";
    ev.msg_id = "no-brand-id";
    ev.kind = QY__KIND__TEXT;
    size_t len = qy__event__get_packed_size (&ev);
    uint8_t *buf = qy_malloc (len);
    qy__event__pack (&ev, buf);
    int bad = zmq_send (sock, s_junk, sizeof (s_junk), 0) < 0 || zmq_send (sock, buf, len, 0) < 0;
    free (buf);
    zmq_close (sock);       //  linger (2 s) lets the frames out
    zmq_ctx_term (pctx);
    if (bad)
        qyctl_die ("cannot push to %s", push);
    printf ("{\"pushed\":2}\n");
    return 0;
}

//  --garbage to ingest: an undecodable frame, then an event whose msg_id
//  and text are not UTF-8 (bytes a gateway cut in the middle of a
//  character): both rejected, and set aside. 1 when ingest did not answer.
static int s_send_garbage (void *dealer, int *seq, int timeout, bool *refused)
{
    int rc = s_print_ack (qyctl_ingest_call (dealer, s_junk, sizeof (s_junk), NULL, timeout)) < 0;
    Qy__Event ev = QY__EVENT__INIT, *evs [1] = { &ev };
    ev.brand = (char *) qyctl_opt ("brand", "acme");
    ev.msg_id = "garbage-\xe5\xa5";
    ev.group = "room1";
    ev.member = "u1";
    ev.kind = QY__KIND__TEXT;
    ev.text = "cut \xe5\xa5";
    ev.event_time_us = qy_now_us ();
    if (s_flush (dealer, evs, 1, seq, timeout, refused))
        rc = 1;
    return rc;
}

//  The events of a JSON-lines file ("-": stdin), in batches; {"flush":
//  true} ends the current batch early. 1 when ingest missed an answer.
static int s_send_file (void *dealer, const char *file, int batch, int *seq, int timeout, bool *refused)
{
    FILE *f = strcmp (file, "-") == 0 ? stdin : fopen (file, "r");
    if (!f)
        qyctl_die ("cannot read %s", file);
    Qy__Event **evs = qy_calloc ((size_t) batch, sizeof (Qy__Event *));
    qyctl_progress_t progress;
    qyctl_progress_start (&progress, "send events", 0);
    long events = 0;
    size_t n = 0, cap = 0;
    char *line = NULL;
    int lineno = 0, rc = 0;
    while (getline (&line, &cap, f) > 0) {
        lineno++;
        if (line [0] == '#' || line [0] == '\n')
            continue;
        json_error_t err;
        json_t *o = json_loads (line, 0, &err);
        if (!o || !json_is_object (o))
            qyctl_die ("%s:%d: not a JSON object: %s", file, lineno, err.text);
        if (json_is_true (json_object_get (o, "flush"))) {
            if (s_flush_free (dealer, evs, &n, seq, timeout, refused))
                rc = 1;
            json_decref (o);
            continue;
        }
        evs [n++] = s_event (o);
        json_decref (o);
        qyctl_progress (&progress, ++events);
        if (n == (size_t) batch && s_flush_free (dealer, evs, &n, seq, timeout, refused))
            rc = 1;
    }
    if (s_flush_free (dealer, evs, &n, seq, timeout, refused))
        rc = 1;
    qyctl_progress_end (&progress);
    free (evs);
    free (line);
    if (f != stdin)
        fclose (f);
    return rc;
}

int qyctl_send (int argc, char **argv)
{
    (void) argc;
    (void) argv;
    const char *file = qyctl_arg (0);
    const char *endpoint = qyctl_opt ("endpoint", getenv ("QY_INGEST_ENDPOINT"));
    if (!endpoint)
        endpoint = "tcp://127.0.0.1:5540";
    const char *push = qyctl_opt ("push", NULL);
    if (push)
        return s_push_garbage (push);
    //  The batch is an array of that many events: a bad number must not size it.
    int batch = (int) qyctl_long ("--batch", qyctl_opt ("batch", "100"), 1, 10000);
    int timeout = (int) qyctl_long ("--timeout-ms", qyctl_opt ("timeout-ms", "10000"), 1, 3600000);
    void *ctx = zmq_ctx_new ();
    void *dealer = qy_zmq_socket (ctx, ZMQ_DEALER, 1000, 0);
    s_curve (dealer);
    if (qy_zmq_connect (dealer, endpoint))
        qyctl_die ("cannot connect to %s", endpoint);
    int rc = 0, seq = 0;
    bool refused = false;
    if (qyctl_flag ("garbage"))
        rc = s_send_garbage (dealer, &seq, timeout, &refused);
    if (file && s_send_file (dealer, file, batch, &seq, timeout, &refused))
        rc = 1;
    zmq_close (dealer);
    zmq_ctx_term (ctx);
    //  --strict: a refusal is a failure too (scripts that must not lose an event).
    return rc ? rc : refused && qyctl_flag ("strict") ? 3 : 0;
}

static const qyctl_option_t s_send_opts [] = {
    { "endpoint",   QYCTL_VALUE, "E",  "ingest's gateway door (default $QY_INGEST_ENDPOINT, tcp://127.0.0.1:5540)" },
    { "batch",      QYCTL_VALUE, "N",  "events per batch (default 100)" },
    { "timeout-ms", QYCTL_VALUE, "N",  "how long to wait for each batch's Ack, a busy one sent again meanwhile (default 10000)" },
    { "strict",     QYCTL_FLAG,  NULL, "exit 3 when ingest refused any event" },
    { "garbage",    QYCTL_FLAG,  NULL, "send an undecodable frame and a broken event (tests)" },
    { "brand",      QYCTL_VALUE, "B",  "the brand of --garbage's event (default acme)" },
    { "push",       QYCTL_VALUE, "E",  "push --garbage straight onto a bus hop instead" },
    { "curve-secret-file", QYCTL_VALUE, "FILE", "a door with CURVE: the gateway's secret key (qyctl gatekey create), "
                                                "on FILE's first line (else $QY_GATEWAY_CURVE_SECRET)" },
    { "curve-secret", QYCTL_VALUE, "K", "refused: a secret on the command line is seen by every user" },
    { "server-key", QYCTL_VALUE, "K",  "ingest's CURVE public key (default $QY_INGEST_PUBLIC_KEY)" },
    { NULL }
};
const qyctl_command_t qyctl_send_commands [] = {
    { "send", "[FILE|-]", 0, 1, s_send_opts, "send JSON-lines events to ingest; one Ack line per batch" },
    { NULL }
};
