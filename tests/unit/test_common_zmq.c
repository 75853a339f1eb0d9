//  qy_ack_retry_ms: which of ingest's answers a sender sends again, and
//  after how long (qyctl send and dead-letter replay).
#include "qy/zmq.h"
#include "qunyun.pb-c.h"
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_busy_is_sent_again (void **state)
{
    (void) state;
    Qy__Ack ack = QY__ACK__INIT;
    ack.ok = false;
    ack.error = "busy: retry later";
    ack.retry_after_ms = 200;
    assert_int_equal (qy_ack_retry_ms (&ack, 0, 10000000), 200);
    //  ... while the pause and a second for the answer end before the
    //  sender's deadline
    assert_int_equal (qy_ack_retry_ms (&ack, 8700000, 10000000), 200);
    assert_int_equal (qy_ack_retry_ms (&ack, 8800000, 10000000), -1);
    assert_int_equal (qy_ack_retry_ms (&ack, 11000000, 10000000), -1);
    //  storage away: the pause ingest asks for, whatever it is
    ack.error = "storage unavailable, nothing stored: retry";
    ack.retry_after_ms = 1000;
    assert_int_equal (qy_ack_retry_ms (&ack, 0, 10000000), 1000);
}

static void test_final_answers_are_not (void **state)
{
    (void) state;
    Qy__Ack ack = QY__ACK__INIT;
    ack.ok = true;                      //  taken (items may still be rejected: that is final)
    assert_int_equal (qy_ack_retry_ms (&ack, 0, 10000000), -1);
    ack.ok = false;                     //  a malformed batch: no retry_after
    ack.error = "malformed batch: protobuf decode failed";
    assert_int_equal (qy_ack_retry_ms (&ack, 0, 10000000), -1);
    assert_int_equal (qy_ack_retry_ms (NULL, 0, 10000000), -1);      //  no answer at all
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_busy_is_sent_again),
        cmocka_unit_test (test_final_answers_are_not),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
