//  ingest's link to the bus, as its socket's monitor tells it (the
//  outlet's DEALER, qy/outlet.h). Until a connection has finished its
//  handshake every batch is refused busy (429). Whether the socket can send says nothing here (it
//  cannot while the link is down, nor while moderation is behind, which is
//  backpressure, not ill health); the handshakes and disconnections do.
#include "ingest.h"
#include "qy/log.h"
#include "qy/util.h"
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct ingest_link_t {
    char     *name;
    void     *monitor;          //  PAIR reading the socket's monitor events (NULL: events fed by hand)
    void     *sock;             //  the socket watched
    qy_map_t *endpoints;        //  endpoint → 1 while its connection is up
    size_t    up;               //  how many are
};

ingest_link_t *ingest_link_new (void *ctx, void *sock, const char *name)
{
    ingest_link_t *self = qy_calloc (1, sizeof (*self));
    self->name = qy_strdup (name);
    self->endpoints = qy_map_new ();
    if (!ctx || !sock)
        return self;
    char addr [64];
    qy_snprintf (addr, sizeof (addr), "inproc://ingest-link-%p", (void *) self);
    if (zmq_socket_monitor (sock, addr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                                        | ZMQ_EVENT_MONITOR_STOPPED) != 0
        || !(self->monitor = zmq_socket (ctx, ZMQ_PAIR))
        || zmq_connect (self->monitor, addr) != 0) {
        qy_log_error ("%s link cannot be monitored: %s", name, zmq_strerror (zmq_errno ()));
        abort ();
    }
    int linger = 0;
    zmq_setsockopt (self->monitor, ZMQ_LINGER, &linger, sizeof (linger));
    self->sock = sock;
    return self;
}

void ingest_link_destroy (ingest_link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ingest_link_t *self = *self_p;
    if (self->monitor) {
        zmq_socket_monitor (self->sock, NULL, 0);
        zmq_close (self->monitor);
    }
    qy_map_destroy (&self->endpoints);
    free (self->name);
    free (self);
    *self_p = NULL;
}

void *ingest_link_socket (ingest_link_t *self)
{
    return self->monitor;
}

bool ingest_link_up (ingest_link_t *self)
{
    return self->up > 0;
}

void ingest_link_event (ingest_link_t *self, unsigned event, const char *endpoint)
{
    if (event == ZMQ_EVENT_MONITOR_STOPPED) {
        qy_map_clear (self->endpoints);
        self->up = 0;
        return;
    }
    bool up = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    if (!up && event != ZMQ_EVENT_DISCONNECTED)
        return;
    int64_t was = 0;
    qy_map_get (self->endpoints, endpoint, &was);
    if (was == up)
        return;                  //  a connection that never finished its handshake went away
    qy_map_put (self->endpoints, endpoint, up);
    if (up) {
        self->up++;
        qy_log_info ("%s link up endpoint=%s", self->name, endpoint);
    }
    else {
        self->up--;
        qy_log_warn ("%s link down%s endpoint=%s links=%zu", self->name,
                     self->up ? "" : ": gateways are answered busy until it is back", endpoint, self->up);
    }
}

bool ingest_link_update (ingest_link_t *self)
{
    while (self->monitor) {
        //  Two frames per event: 16-bit event and 32-bit value, then the endpoint.
        zmq_msg_t head, where;
        zmq_msg_init (&head);
        if (zmq_msg_recv (&head, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&head);
            break;
        }
        zmq_msg_init (&where);
        if (zmq_msg_more (&head))
            zmq_msg_recv (&where, self->monitor, 0);
        uint16_t event = 0;
        if (zmq_msg_size (&head) >= sizeof (event))
            memcpy (&event, zmq_msg_data (&head), sizeof (event));
        char *endpoint = zmq_msg_size (&where) ? qy_strndup (zmq_msg_data (&where), zmq_msg_size (&where))
                                               : qy_strdup ("");
        ingest_link_event (self, event, endpoint);
        free (endpoint);
        zmq_msg_close (&head);
        zmq_msg_close (&where);
    }
    return ingest_link_up (self);
}
