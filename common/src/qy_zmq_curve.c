//  CURVE socket options in one place, so every socket that is a CURVE
//  server or client (the gateway door, the bus and its clients) is set up
//  the same way and no key ever reaches a log line.
#include "qy/zmq_curve.h"
#include "qy/util.h"
#include <errno.h>
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
