//  ingest_auth: bearer tokens and HMAC signatures with a replay window,
//  revoked credentials, and rotation: the previous token or secret valid
//  until its not_after, refused from then on. (Sealing itself, qy_seal, is
//  tested with the WeCom connector's use of it: test_wecom_crypto.c.)
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ingest_auth.h"

#define T(s) ((int64_t) (s) * 1000000)
#define BODY "{\"a\":1}"
#define SIG_A1 "fa345d5b654e6667128855e14a4938c54b5b813699e6b72c5c4f501aa493ba92"

//  Check h against c at now; fills out.
static int s_check (ingest_creds_t *c, const ingest_auth_headers_t *h, const char *body, int64_t now,
                    ingest_auth_result_t *out)
{
    ingest_auth_request_t req = { h, body, strlen (body), now, 300 };
    return ingest_creds_check (c, &req, out);
}

static void test_auth (void **state)
{
    (void) state;
    char hex [65], rev [65];
    ingest_hmac_hex ("secret-secret-secret", "1700000000", BODY, 7, hex);
    assert_string_equal (hex, SIG_A1);
    ingest_sha256_hex ("tok-0123456789abcdef", 20, hex);
    assert_string_equal (hex, "6db3068996ff396f601ae0dcf903f6a970c685767d75e325d0cd88103779f2f0");
    ingest_sha256_hex ("revoked-token-0123", 18, rev);
    ingest_creds_t *c = ingest_creds_new ();
    assert_false (ingest_creds_loaded (c));
    ingest_creds_add (c, &(ingest_cred_row_t) { "gw", 7, "acme", "bearer", hex, NULL, true, NULL, NULL, 0 });
    ingest_creds_add (c, &(ingest_cred_row_t) { "signer", 8, "beta", "hmac", NULL, "secret-secret-secret", true, NULL, NULL, 0 });
    ingest_creds_add (c, &(ingest_cred_row_t) { "rev", 7, "acme", "bearer", rev, NULL, false, NULL, NULL, 0 });
    assert_true (ingest_creds_loaded (c));
    ingest_auth_result_t out;
    int64_t now = T (1700000100);
    ingest_auth_headers_t h = { "Bearer tok-0123456789abcdef", NULL, NULL, NULL };
    assert_int_equal (s_check (c, &h, BODY, now, &out), INGEST_AUTH_OK);
    assert_string_equal (out.brand, "acme");
    assert_int_equal (out.brand_id, 7);
    assert_string_equal (out.gateway, "gw");
    assert_false (out.previous);
    h.authorization = "Bearer wrong";
    assert_int_equal (s_check (c, &h, BODY, now, &out), 401);
    assert_string_equal (out.why, "unknown token");
    h.authorization = NULL;
    assert_int_equal (s_check (c, &h, BODY, now, &out), 401);
    ingest_auth_headers_t s = { NULL, "signer", "1700000000", "sha256=" SIG_A1 };
    assert_int_equal (s_check (c, &s, BODY, now, &out), INGEST_AUTH_OK);
    assert_string_equal (out.brand, "beta");
    assert_string_equal (out.gateway, "signer");
    //  Another body under the same signature, or outside the window.
    assert_int_equal (s_check (c, &s, "{\"a\":2}", now, &out), 401);
    assert_int_equal (s_check (c, &s, BODY, T (1700000400), &out), 401);
    assert_non_null (strstr (out.why, "replay window"));
    //  Timestamps at the ends of the range are outside the window, not an
    //  overflow (UBSan's build aborts on one).
    const char *ends [] = { "-9223372036854775808", "9223372036854775807" };
    for (size_t i = 0; i < 2; i++) {
        ingest_auth_headers_t e = { NULL, "signer", ends [i], "sha256=" SIG_A1 };
        assert_int_equal (s_check (c, &e, BODY, now, &out), 401);
        assert_non_null (strstr (out.why, "replay window"));
    }
    //  A revoked credential is 403.
    h.authorization = "Bearer revoked-token-0123";
    assert_int_equal (s_check (c, &h, BODY, now, &out), 403);
    ingest_creds_destroy (&c);
    assert_null (c);
}

//  After a rotation the previous token and secret work until not_after,
//  then are refused; the new ones work throughout.
static void test_rotation (void **state)
{
    (void) state;
    char new_tok [65], old_tok [65];
    ingest_sha256_hex ("new-token-0123456789", 20, new_tok);
    ingest_sha256_hex ("tok-0123456789abcdef", 20, old_tok);
    int64_t not_after = T (1700000200);
    ingest_creds_t *c = ingest_creds_new ();
    ingest_creds_add (c, &(ingest_cred_row_t) { "gw", 7, "acme", "bearer", new_tok, NULL, true, old_tok, NULL,
                                                 not_after });
    ingest_creds_add (c, &(ingest_cred_row_t) { "signer", 8, "beta", "hmac", NULL, "new-secret-new-secret", true,
                                                 NULL, "secret-secret-secret", not_after });
    ingest_auth_result_t out;
    ingest_auth_headers_t old_h = { "Bearer tok-0123456789abcdef", NULL, NULL, NULL };
    ingest_auth_headers_t new_h = { "Bearer new-token-0123456789", NULL, NULL, NULL };
    assert_int_equal (s_check (c, &old_h, BODY, not_after - 1, &out), INGEST_AUTH_OK);
    assert_true (out.previous);
    assert_string_equal (out.gateway, "gw");
    assert_int_equal (s_check (c, &old_h, BODY, not_after, &out), 401);
    assert_non_null (strstr (out.why, "rotated"));
    assert_int_equal (s_check (c, &new_h, BODY, not_after - 1, &out), INGEST_AUTH_OK);
    assert_false (out.previous);
    assert_int_equal (s_check (c, &new_h, BODY, not_after + T (86400), &out), INGEST_AUTH_OK);
    //  Signed with the old secret (timestamps within the window of now).
    ingest_auth_headers_t s = { NULL, "signer", "1700000150", NULL };
    char sig [80], hex [65];
    ingest_hmac_hex ("secret-secret-secret", "1700000150", BODY, 7, hex);
    snprintf (sig, sizeof (sig), "sha256=%s", hex);
    s.signature = sig;
    assert_int_equal (s_check (c, &s, BODY, T (1700000150), &out), INGEST_AUTH_OK);
    assert_true (out.previous);
    s.timestamp = "1700000250";
    ingest_hmac_hex ("secret-secret-secret", "1700000250", BODY, 7, hex);
    snprintf (sig, sizeof (sig), "sha256=%s", hex);
    assert_int_equal (s_check (c, &s, BODY, T (1700000250), &out), 401);
    ingest_hmac_hex ("new-secret-new-secret", "1700000250", BODY, 7, hex);
    snprintf (sig, sizeof (sig), "sha256=%s", hex);
    assert_int_equal (s_check (c, &s, BODY, T (1700000250), &out), INGEST_AUTH_OK);
    assert_false (out.previous);
    ingest_creds_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_auth),
        cmocka_unit_test (test_rotation),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
