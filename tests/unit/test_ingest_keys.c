//  ingest_keys: which CURVE keys the ZeroMQ door admits and for which
//  brand; the ZAP handler's answers over a real inproc pair; and the
//  common CURVE helpers (a key pair that round-trips, bad keys refused).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "ingest_keys.h"

static ingest_keys_t *s_keys (char pub_a [41], char pub_r [41])
{
    char sec [41];
    assert_int_equal (zmq_curve_keypair (pub_a, sec), 0);
    assert_int_equal (zmq_curve_keypair (pub_r, sec), 0);
    ingest_keys_t *k = ingest_keys_new ();
    ingest_keys_add (k, "acme-gw", pub_a, 7, "acme", true);
    ingest_keys_add (k, "acme-old", pub_r, 7, "acme", false);
    return k;
}

static void test_admit (void **state)
{
    (void) state;
    char a [41], r [41], stranger [41], sec [41];
    ingest_keys_t *k = s_keys (a, r);
    assert_int_equal (zmq_curve_keypair (stranger, sec), 0);
    const ingest_key_t *key;
    assert_int_equal (ingest_keys_admit (k, a, &key), INGEST_KEY_OK);
    assert_string_equal (key->name, "acme-gw");
    assert_int_equal (ingest_keys_admit (k, r, &key), INGEST_KEY_REVOKED);
    assert_string_equal (key->name, "acme-old");
    assert_int_equal (ingest_keys_admit (k, stranger, &key), INGEST_KEY_UNKNOWN);
    assert_null (key);
    assert_non_null (ingest_keys_by_name (k, "acme-gw"));
    assert_null (ingest_keys_by_name (k, "nope"));
    assert_null (ingest_keys_by_name (k, NULL));
    ingest_keys_destroy (&k);
    assert_null (k);
}

static void test_batch_brand (void **state)
{
    (void) state;
    char a [41], r [41], why [320];
    ingest_keys_t *k = s_keys (a, r);
    Qy__Event e1 = QY__EVENT__INIT, e2 = QY__EVENT__INIT, *evs [2] = { &e1, &e2 };
    e1.brand = "acme";
    e2.brand = "acme";
    Qy__Batch b = QY__BATCH__INIT;
    b.n_events = 2;
    b.events = evs;
    const ingest_key_t *gw = ingest_keys_by_name (k, "acme-gw");
    assert_null (ingest_keys_batch_problem (gw, &b, why, sizeof (why)));
    e2.brand = "other";
    const char *p = ingest_keys_batch_problem (gw, &b, why, sizeof (why));
    assert_non_null (p);
    assert_non_null (strstr (p, "brand other refused"));
    e2.brand = "acme";
    p = ingest_keys_batch_problem (ingest_keys_by_name (k, "acme-old"), &b, why, sizeof (why));
    assert_non_null (strstr (p, "revoked"));
    assert_non_null (strstr (ingest_keys_batch_problem (NULL, &b, why, sizeof (why)), "unknown"));
    ingest_keys_destroy (&k);
}

//  One ZAP request as libzmq sends it (RFC 27); the reply's status and User-Id.
static void s_ask (void *req, const char *mechanism, const uint8_t *cred, size_t len)
{
    const char *head [] = { "1.0", "42", "gateway", "127.0.0.1", "" };
    for (int i = 0; i < 5; i++)
        zmq_send (req, head [i], strlen (head [i]), ZMQ_SNDMORE);
    zmq_send (req, mechanism, strlen (mechanism), ZMQ_SNDMORE);
    zmq_send (req, cred, len, 0);
}

static void s_reply (void *req, char status [4], char user [80])
{
    char buf [6] [80];
    for (int i = 0; i < 6; i++) {
        int n = zmq_recv (req, buf [i], sizeof (buf [i]) - 1, 0);
        assert_true (n >= 0);
        buf [i] [n] = 0;
    }
    assert_string_equal (buf [0], "1.0");
    assert_string_equal (buf [1], "42");
    memcpy (status, buf [2], 4);
    strcpy (user, buf [4]);
}

static void test_zap (void **state)
{
    (void) state;
    char a [41], r [41], status [4], user [80];
    ingest_keys_t *k = s_keys (a, r);
    void *ctx = zmq_ctx_new ();
    void *rep = zmq_socket (ctx, ZMQ_REP), *req = zmq_socket (ctx, ZMQ_REQ);
    assert_int_equal (zmq_bind (rep, "inproc://zap-test"), 0);
    assert_int_equal (zmq_connect (req, "inproc://zap-test"), 0);
    ingest_zap_t out;
    assert_int_equal (ingest_zap_answer (rep, k, &out), -1);      //  nothing waiting
    uint8_t bin [32];
    const struct { const char *key, *mech, *status, *user; ingest_key_verdict_t v; } cases [] = {
        { a, "CURVE", "200", "acme-gw", INGEST_KEY_OK },
        { r, "CURVE", "400", "", INGEST_KEY_REVOKED },
        { a, "PLAIN", "400", "", INGEST_KEY_UNKNOWN },
    };
    for (size_t c = 0; c < 3; c++) {
        zmq_z85_decode (bin, cases [c].key);
        s_ask (req, cases [c].mech, bin, 32);
        zmq_pollitem_t it = { rep, 0, ZMQ_POLLIN, 0 };
        assert_int_equal (zmq_poll (&it, 1, 2000), 1);
        assert_int_equal (ingest_zap_answer (rep, k, &out), 0);
        assert_int_equal (out.verdict, cases [c].v);
        s_reply (req, status, user);
        assert_string_equal (status, cases [c].status);
        assert_string_equal (user, cases [c].user);
    }
    assert_string_equal (out.address, "127.0.0.1");
    zmq_close (req);
    zmq_close (rep);
    zmq_ctx_term (ctx);
    ingest_keys_destroy (&k);
}

static void test_curve_helpers (void **state)
{
    (void) state;
    char pub [41], sec [41], derived [41], err [160];
    assert_int_equal (zmq_curve_keypair (pub, sec), 0);
    assert_int_equal (qy_zmq_curve_public (sec, derived), 0);
    assert_string_equal (pub, derived);
    assert_true (qy_zmq_curve_key_valid (pub));
    assert_false (qy_zmq_curve_key_valid ("short"));
    assert_false (qy_zmq_curve_key_valid (NULL));
    assert_int_equal (qy_zmq_curve_public ("not a key", derived), -1);
    void *ctx = zmq_ctx_new ();
    void *s = zmq_socket (ctx, ZMQ_ROUTER), *c = zmq_socket (ctx, ZMQ_DEALER);
    assert_int_equal (qy_zmq_curve_server (s, "bad", NULL, err, sizeof (err)), -1);
    assert_null (strstr (err, "bad"));                //  a key never goes into a message
    assert_int_equal (qy_zmq_curve_client (c, pub, "bad", err, sizeof (err)), -1);
    //  A server and a client that know each other talk.
    assert_int_equal (qy_zmq_curve_server (s, sec, NULL, err, sizeof (err)), 0);
    char cpub [41], csec [41];
    assert_int_equal (zmq_curve_keypair (cpub, csec), 0);
    assert_int_equal (qy_zmq_curve_client (c, pub, csec, err, sizeof (err)), 0);
    assert_int_equal (zmq_bind (s, "tcp://127.0.0.1:*"), 0);
    char ep [64];
    size_t len = sizeof (ep);
    zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len);
    assert_int_equal (zmq_connect (c, ep), 0);
    assert_int_equal (zmq_send (c, "hi", 2, 0), 2);
    char id [64], buf [8];
    int timeout = 5000;
    zmq_setsockopt (s, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    assert_true (zmq_recv (s, id, sizeof (id), 0) > 0);
    assert_int_equal (zmq_recv (s, buf, sizeof (buf), 0), 2);
    int linger = 0;
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_setsockopt (c, ZMQ_LINGER, &linger, sizeof (linger));
    zmq_close (s);
    zmq_close (c);
    zmq_ctx_term (ctx);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_admit),
        cmocka_unit_test (test_batch_brand),
        cmocka_unit_test (test_zap),
        cmocka_unit_test (test_curve_helpers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
