//  A ROUTER standing in for one side of the bus in the unit tests of
//  qy_inlet and qy_outlet (inproc). Include after cmocka.h.
#ifndef QY_TEST_FAKE_BUS_H
#define QY_TEST_FAKE_BUS_H
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

//  The next word a peer said (its first frame after the routing id) into
//  b, waiting up to timeout_ms; the routing id into id, for the answer.
//  Returns its length, 0 when nothing came.
static int s_bus_heard (void *bus, uint8_t *id, size_t idsize, size_t *idlen, uint8_t *b, size_t size,
                         int timeout_ms)
{
    zmq_pollitem_t item = { bus, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return 0;
    int len = zmq_recv (bus, id, idsize, 0);
    assert_true (len > 0);
    *idlen = (size_t) len;
    len = zmq_recv (bus, b, size, 0);
    assert_true (len >= 3);
    assert_memory_equal (b, "QY", 2);
    return len;
}
#endif
