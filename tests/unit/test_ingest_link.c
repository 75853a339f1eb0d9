//  ingest_link: whether ingest has a link to the bus, from its socket's
//  monitor events (fed by hand here: no sockets).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <zmq.h>
#include "ingest.h"

static void test_link (void **state)
{
    (void) state;
    ingest_link_t *link = ingest_link_new (NULL, NULL, "bus");
    assert_null (ingest_link_socket (link));
    assert_false (ingest_link_update (link));               //  down until a handshake
    //  A connection that never finished its handshake going away changes nothing.
    ingest_link_event (link, ZMQ_EVENT_DISCONNECTED, "tcp://a:1");
    assert_false (ingest_link_up (link));
    ingest_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "tcp://a:1");
    assert_true (ingest_link_up (link));
    ingest_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "tcp://a:1");   //  said twice: still one link
    ingest_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "tcp://b:1");
    ingest_link_event (link, ZMQ_EVENT_DISCONNECTED, "tcp://a:1");
    assert_true (ingest_link_up (link));                     //  b still holds
    ingest_link_event (link, ZMQ_EVENT_CONNECT_RETRIED, "tcp://a:1");       //  other events: no change
    ingest_link_event (link, ZMQ_EVENT_DISCONNECTED, "tcp://b:1");
    assert_false (ingest_link_up (link));
    ingest_link_event (link, ZMQ_EVENT_DISCONNECTED, "tcp://b:1");
    ingest_link_event (link, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "tcp://b:1");
    assert_true (ingest_link_up (link));                     //  counted from zero again, not below it
    ingest_link_event (link, ZMQ_EVENT_MONITOR_STOPPED, "");
    assert_false (ingest_link_up (link));
    ingest_link_destroy (&link);
    assert_null (link);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_link),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
