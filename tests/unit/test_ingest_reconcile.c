//  ingest_reconcile and ingest_auth: snapshots against memberships exactly
//  once; bearer tokens and HMAC signatures with a replay window.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "ingest_auth.h"
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

static void test_auth (void **state)
{
    (void) state;
    char hex [65];
    ingest_hmac_hex ("secret-secret-secret", "1700000000", "{\"a\":1}", 7, hex);
    assert_string_equal (hex, "fa345d5b654e6667128855e14a4938c54b5b813699e6b72c5c4f501aa493ba92");
    ingest_sha256_hex ("tok-0123456789abcdef", 20, hex);
    assert_string_equal (hex, "6db3068996ff396f601ae0dcf903f6a970c685767d75e325d0cd88103779f2f0");

    ingest_creds_t *c = ingest_creds_new ();
    assert_false (ingest_creds_loaded (c));
    ingest_creds_add (c, "gw", 7, "acme", "bearer", hex, NULL, true);
    ingest_creds_add (c, "old", 7, "acme", "bearer", "00", NULL, false);
    ingest_creds_add (c, "signer", 8, "beta", "hmac", NULL, "secret-secret-secret", true);
    char brand [64], gw [64], why [160];
    int64_t bid = 0, now = T (1700000100);
    const char *body = "{\"a\":1}";
    ingest_auth_headers_t h = { "Bearer tok-0123456789abcdef", NULL, NULL, NULL };
    assert_int_equal (ingest_creds_check (c, &h, body, 7, now, 300, brand, 64, &bid, gw, 64, why, 160), 0);
    assert_string_equal (brand, "acme");
    assert_int_equal (bid, 7);
    h.authorization = "Bearer wrong";
    assert_int_equal (ingest_creds_check (c, &h, body, 7, now, 300, brand, 64, &bid, gw, 64, why, 160), 401);
    h.authorization = NULL;
    assert_int_equal (ingest_creds_check (c, &h, body, 7, now, 300, brand, 64, &bid, gw, 64, why, 160), 401);
    char sig [80];
    snprintf (sig, sizeof (sig), "sha256=%s", "fa345d5b654e6667128855e14a4938c54b5b813699e6b72c5c4f501aa493ba92");
    ingest_auth_headers_t s = { NULL, "signer", "1700000000", sig };
    assert_int_equal (ingest_creds_check (c, &s, body, 7, now, 300, brand, 64, &bid, gw, 64, why, 160), 0);
    assert_string_equal (brand, "beta");
    assert_string_equal (gw, "signer");
    //  Another body under the same signature, or outside the window.
    assert_int_equal (ingest_creds_check (c, &s, "{\"a\":2}", 7, now, 300, brand, 64, &bid, gw, 64, why, 160), 401);
    assert_int_equal (ingest_creds_check (c, &s, body, 7, T (1700000400), 300, brand, 64, &bid, gw, 64, why, 160), 401);
    assert_non_null (strstr (why, "replay window"));
    //  A revoked credential is 403.
    ingest_sha256_hex ("revoked-token-0123", 18, hex);
    ingest_creds_add (c, "rev", 7, "acme", "bearer", hex, NULL, false);
    h.authorization = "Bearer revoked-token-0123";
    assert_int_equal (ingest_creds_check (c, &h, body, 7, now, 300, brand, 64, &bid, gw, 64, why, 160), 403);
    ingest_creds_destroy (&c);
    assert_null (c);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_reconcile),
        cmocka_unit_test (test_auth),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
