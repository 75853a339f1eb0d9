#include "qy/zmq.h"
#include "qy/log.h"
#include "qunyun.pb-c.h"
#include "qy/util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

void *qy_zmq_socket (void *ctx, int type, int hwm, int linger_ms)
{
    void *sock = zmq_socket (ctx, type);
    if (!sock) {
        qy_log_error ("zmq_socket failed: %s", zmq_strerror (errno));
        abort ();
    }
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (sock, ZMQ_LINGER, &linger_ms, sizeof (linger_ms));
    return sock;
}

static int s_each (void *sock, const char *endpoints, int bind)
{
    char *list = qy_strdup (endpoints), *save = NULL;
    int rc = 0;
    for (char *ep = strtok_r (list, ", ", &save); ep; ep = strtok_r (NULL, ", ", &save)) {
        if ((bind ? zmq_bind (sock, ep) : zmq_connect (sock, ep)) != 0) {
            qy_log_error ("zmq %s %s failed: %s", bind ? "bind" : "connect", ep, zmq_strerror (errno));
            rc = -1;
            break;
        }
    }
    free (list);
    return rc;
}

int qy_zmq_bind (void *sock, const char *endpoints)
{
    return s_each (sock, endpoints, 1);
}

int qy_zmq_connect (void *sock, const char *endpoints)
{
    return s_each (sock, endpoints, 0);
}

static void s_free (void *data, void *hint)
{
    (void) hint;
    free (data);
}

int qy_zmq_send_pb (void *sock, const ProtobufCMessage *msg, int flags)
{
    size_t len = protobuf_c_message_get_packed_size (msg);
    uint8_t *data = qy_malloc (len ? len : 1);
    protobuf_c_message_pack (msg, data);
    zmq_msg_t m;
    zmq_msg_init_data (&m, data, len, s_free, NULL);
    if (zmq_msg_send (&m, sock, flags) < 0) {
        int e = errno;
        zmq_msg_close (&m);
        errno = e;
        return -1;
    }
    return 0;
}

char *qy_zmq_last_endpoint (void *sock, char *buf, size_t len)
{
    size_t l = len;
    if (zmq_getsockopt (sock, ZMQ_LAST_ENDPOINT, buf, &l) != 0 && len)
        buf [0] = 0;
    return buf;
}

Qy__Ack *qy_zmq_ack_wait (void *dealer, const char *batch_id, int timeout_ms)
{
    int64_t deadline = qy_mono_us () + (int64_t) timeout_ms * 1000;
    for (;;) {
        int64_t left_ms = (deadline - qy_mono_us ()) / 1000;
        zmq_pollitem_t item = { dealer, 0, ZMQ_POLLIN, 0 };
        if (left_ms <= 0 || zmq_poll (&item, 1, (long) left_ms) <= 0)
            return NULL;
        zmq_msg_t m;
        zmq_msg_init (&m);
        zmq_msg_recv (&m, dealer, 0);
        Qy__Ack *ack = qy__ack__unpack (NULL, zmq_msg_size (&m), zmq_msg_data (&m));
        zmq_msg_close (&m);
        if (!ack || !batch_id || strcmp (ack->batch_id, batch_id) == 0)
            return ack;
        qy__ack__free_unpacked (ack, NULL);     //  a late answer to an earlier batch
    }
}

int qy_ack_retry_ms (const Qy__Ack *ack, int64_t now_us, int64_t until_us)
{
    if (!ack || ack->ok || !ack->retry_after_ms)
        return -1;
    int64_t answered_by = now_us + ((int64_t) ack->retry_after_ms + QY_ACK_ANSWER_MS) * 1000;
    return answered_by < until_us ? (int) ack->retry_after_ms : -1;
}
