//  ingest_reconcile: snapshots against memberships exactly once (the
//  credentials' tests are in test_ingest_auth.c).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "ingest_reconcile.h"
#include "ingest_wecom.h"

#define T(s) ((int64_t) (s) * 1000000)

static ingest_req_t *s_snapshot (void)
{
    const char *body = "{\"fetched_at\":1795201800,\"group_chat\":{\"chat_id\":\"r1\",\"member_list\":["
        "{\"userid\":\"stay\",\"join_time\":1795140000},{\"userid\":\"new\",\"join_time\":1795200000,\"join_scene\":3,\"state\":\"qr\"},"
        "{\"userid\":\"back\",\"join_time\":1795201000},{\"userid\":\"stale\",\"join_time\":1795100000}]}}";
    char err [200], field [64];
    return ingest_wecom_parse (INGEST_EP_SNAPSHOT, "acme", body, strlen (body), T (1795201900), err, 200, field, 64);
}

static void test_reconcile (void **state)
{
    (void) state;
    ingest_req_t *req = s_snapshot ();
    assert_non_null (req);
    ingest_known_t known [] = {
        { "stay", T (1795140000), 0 },
        { "back", T (1795140000), T (1795150000) },      //  left, came back after (snapshot join is later)
        { "stale", T (1795100000), T (1795190000) },     //  left after the join the snapshot shows: stale
        { "gone", T (1795140000), 0 },                   //  not in the snapshot: left
        { "later", T (1795201850), 0 },                  //  joined after the snapshot was taken
        { "talker", 0, 0 },                              //  seen talking, never reported joining
    };
    size_t n = ingest_reconcile (req, 0, req->snap, known, 6, QY__LEAVE_REASON__LEAVE_REASON_UNSPECIFIED);
    assert_int_equal (n, 4);
    assert_int_equal (req->events [0]->kind, QY__KIND__JOIN);
    assert_string_equal (req->events [0]->member, "new");
    assert_string_equal (req->events [0]->msg_id, "snap:join:r1:new:1795200000");
    assert_int_equal (req->events [0]->join_scene, QY__JOIN_SCENE__QR_SCAN);
    assert_string_equal (req->events [0]->channel, "qr");
    assert_string_equal (req->events [1]->member, "back");
    assert_int_equal (req->events [2]->kind, QY__KIND__LEAVE);
    assert_string_equal (req->events [2]->member, "gone");
    assert_string_equal (req->events [2]->msg_id, "snap:leave:r1:gone:1795140000000000");
    assert_true (req->events [2]->event_time_us == T (1795201800));
    assert_string_equal (req->events [3]->member, "talker");
    for (size_t i = 0; i < n; i++)
        assert_null (ingest_validate (req->events [i], T (1795201900)));
    ingest_req_destroy (&req);

    //  Once applied, the same snapshot finds nothing to do.
    req = s_snapshot ();
    ingest_known_t after [] = {
        { "stay", T (1795140000), 0 }, { "new", T (1795200000), 0 }, { "back", T (1795201000), 0 },
        { "stale", T (1795100000), T (1795190000) }, { "gone", T (1795140000), T (1795201800) },
        { "later", T (1795201850), 0 }, { "talker", 0, T (1795201800) },
    };
    assert_int_equal (ingest_reconcile (req, 0, req->snap, after, 7, QY__LEAVE_REASON__LEAVE_REASON_UNSPECIFIED), 0);
    ingest_req_destroy (&req);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_reconcile),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
