//  CURVE socket options in one place, so every socket that is a CURVE
//  server or client (the gateway door, the bus and its clients) is set up
//  the same way and no key ever reaches a log line.
#include "qy/zmq_curve.h"
#include "qy/log.h"
#include "qy/metrics.h"
#include "qy/util.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

bool qy_zmq_curve_key_valid (const char *text)
{
    uint8_t bin [32];
    return text && strlen (text) == QY_CURVE_KEY_LEN && zmq_z85_decode (bin, text) != NULL;
}

int qy_zmq_curve_public (const char *secret, char public [QY_CURVE_KEY_LEN + 1])
{
    if (!qy_zmq_curve_key_valid (secret))
        return -1;
    return zmq_curve_public (public, secret) == 0 ? 0 : -1;
}

static int s_fail (char *err, size_t errlen, const char *what)
{
    qy_snprintf (err, errlen, "%s: %s", what, zmq_strerror (errno));
    return -1;
}

int qy_zmq_curve_server (void *sock, const char *secret, const char *domain, char *err, size_t errlen)
{
    if (!zmq_has ("curve"))
        { qy_snprintf (err, errlen, "this libzmq has no CURVE (built without libsodium)"); return -1; }
    if (!qy_zmq_curve_key_valid (secret))
        { qy_snprintf (err, errlen, "the CURVE secret key is not 40 characters of Z85"); return -1; }
    int on = 1;
    if (zmq_setsockopt (sock, ZMQ_CURVE_SERVER, &on, sizeof (on))
    ||  zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, secret, QY_CURVE_KEY_LEN))
        return s_fail (err, errlen, "cannot make a CURVE server");
    if (domain && zmq_setsockopt (sock, ZMQ_ZAP_DOMAIN, domain, strlen (domain)))
        return s_fail (err, errlen, "cannot set the ZAP domain");
    return 0;
}

int qy_zmq_curve_client (void *sock, const char *server_public, const char *secret, char *err, size_t errlen)
{
    if (!zmq_has ("curve"))
        { qy_snprintf (err, errlen, "this libzmq has no CURVE (built without libsodium)"); return -1; }
    char public [QY_CURVE_KEY_LEN + 1];
    if (!qy_zmq_curve_key_valid (server_public))
        { qy_snprintf (err, errlen, "the server's CURVE public key is not 40 characters of Z85"); return -1; }
    if (qy_zmq_curve_public (secret, public))
        { qy_snprintf (err, errlen, "the CURVE secret key is not 40 characters of Z85"); return -1; }
    if (zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, server_public, QY_CURVE_KEY_LEN)
    ||  zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, public, QY_CURVE_KEY_LEN)
    ||  zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, secret, QY_CURVE_KEY_LEN))
        return s_fail (err, errlen, "cannot make a CURVE client");
    return 0;
}

//  Copy a frame's bytes as text (cut to len - 1).
static void s_text (zmq_msg_t *f, char *out, size_t len)
{
    qy_snprintf (out, len, "%.*s", (int) zmq_msg_size (f), (const char *) zmq_msg_data (f));
}

int qy_zap_recv (void *zap, qy_zap_request_t *req)
{
    memset (req, 0, sizeof (*req));
    //  version, request id, domain, address, routing id, mechanism, credentials
    zmq_msg_t f [7];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            break;
        }
        more = zmq_msg_more (&part);
        if (n < 7)
            f [n++] = part;
        else
            zmq_msg_close (&part);
    }
    if (n == 0)
        return -1;
    if (n >= 2) {
        req->request_id_len = zmq_msg_size (&f [1]) < sizeof (req->request_id) ? zmq_msg_size (&f [1]) : 0;
        memcpy (req->request_id, zmq_msg_data (&f [1]), req->request_id_len);
    }
    if (n >= 4) {
        s_text (&f [2], req->domain, sizeof (req->domain));
        s_text (&f [3], req->address, sizeof (req->address));
    }
    req->curve = n == 7 && zmq_msg_size (&f [5]) == 5 && memcmp (zmq_msg_data (&f [5]), "CURVE", 5) == 0
              && zmq_msg_size (&f [6]) == 32;
    if (req->curve)
        zmq_z85_encode (req->public_key, zmq_msg_data (&f [6]), 32);
    for (int i = 0; i < n; i++)
        zmq_msg_close (&f [i]);
    return 0;
}

static void s_send (void *zap, const void *data, size_t len, bool more)
{
    zmq_send (zap, data, len, more ? ZMQ_SNDMORE : 0);
}

void qy_zap_reply (void *zap, const qy_zap_request_t *req, bool ok, const char *user_id)
{
    s_send (zap, "1.0", 3, true);
    s_send (zap, req->request_id, req->request_id_len, true);
    s_send (zap, ok ? "200" : "400", 3, true);
    s_send (zap, ok ? "OK" : "key not allowed", ok ? 2 : 15, true);
    s_send (zap, ok && user_id ? user_id : "", ok && user_id ? strlen (user_id) : 0, true);
    s_send (zap, "", 0, false);
}

// ------------------------------------------------------------------ hops

static struct {
    char   server [QY_CURVE_KEY_LEN + 1];
    char   secret [QY_CURVE_KEY_LEN + 1];
    char  *clients;                     //  comma-separated public keys
    pthread_t   thread;
    atomic_bool stop;
    void       *zap;
    qy_metric_t *refused;
} s_hops;

void qy_zmq_curve_hops (const char *server_public, const char *secret, const char *clients)
{
    qy_strlcpy (s_hops.server, server_public ? server_public : "", sizeof (s_hops.server));
    qy_strlcpy (s_hops.secret, secret ? secret : "", sizeof (s_hops.secret));
    free (s_hops.clients);
    s_hops.clients = clients && *clients ? qy_strdup (clients) : NULL;
}

bool qy_zmq_curve_hops_on (void)
{
    return s_hops.server [0] || s_hops.secret [0];
}

int qy_zmq_curve_hop (void *sock, bool server)
{
    if (!qy_zmq_curve_hops_on ())
        return 0;
    char err [160];
    int rc = server ? qy_zmq_curve_server (sock, s_hops.secret, "hops", err, sizeof (err))
                    : qy_zmq_curve_client (sock, s_hops.server, s_hops.secret, err, sizeof (err));
    if (rc)
        qy_log_error ("CURVE on the hops (zmq.curve_%s): %s", server ? "secret_key" : "server_key and secret_key", err);
    return rc;
}

//  Is key one of the allowed clients'?
static bool s_allowed (const char *key)
{
    size_t len = strlen (key);
    for (const char *p = s_hops.clients; p && *p; ) {
        p += strspn (p, ", ");
        size_t n = strcspn (p, ", ");
        if (n == len && len && memcmp (p, key, n) == 0)
            return true;
        p += n;
    }
    return false;
}

static void *s_zap_run (void *arg)
{
    (void) arg;
    while (!atomic_load (&s_hops.stop)) {
        zmq_pollitem_t it = { s_hops.zap, 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (&it, 1, 200);
        if (rc < 0 && errno == ETERM)
            break;                    //  the context is shutting down
        if (rc <= 0)
            continue;
        qy_zap_request_t req;
        while (qy_zap_recv (s_hops.zap, &req) == 0) {
            bool ok = req.curve && s_allowed (req.public_key);
            if (!ok) {
                qy_metric_add (s_hops.refused, 1);
                qy_log_limited (QY_LOG_WARN, "hop connection refused: CURVE key not in zmq.curve_clients address=%s public_key=%s",
                                req.address, req.public_key [0] ? req.public_key : "(none)");
            }
            qy_zap_reply (s_hops.zap, &req, ok, "hop");
        }
    }
    zmq_close (s_hops.zap);
    return NULL;
}

int qy_zmq_curve_hop_zap_start (void *ctx)
{
    if (!s_hops.clients || !s_hops.secret [0])
        return 0;
    s_hops.refused = qy_counter ("qy_zmq_curve_refused_total", "hop connections refused: CURVE key not allowed");
    s_hops.zap = zmq_socket (ctx, ZMQ_REP);
    if (!s_hops.zap || zmq_bind (s_hops.zap, QY_ZAP_ENDPOINT) != 0) {
        qy_log_error ("cannot bind the hops' ZAP handler: %s", zmq_strerror (errno));
        return -1;
    }
    atomic_store (&s_hops.stop, false);
    pthread_create (&s_hops.thread, NULL, s_zap_run, NULL);
    return 0;
}

void qy_zmq_curve_hop_zap_stop (void)
{
    if (!s_hops.zap)
        return;
    atomic_store (&s_hops.stop, true);
    pthread_join (s_hops.thread, NULL);
    s_hops.zap = NULL;
}
