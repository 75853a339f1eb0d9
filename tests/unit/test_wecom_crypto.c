//  wecom_crypto: signature, AES-256-CBC, PKCS#7 to 32 and the receive id,
//  checked against vectors made by openssl(1) (tests/lib/wecom_vector.sh),
//  never by the code under test.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wecom.h"

#define S_SCRIPT QY_SOURCE_DIR "/tests/lib/wecom_vector.sh"

//  Run the script with args (stdin from input, when given); its first line of output.
static char *s_run (const char *args, const char *input)
{
    char in [] = "/tmp/qy_wecom_vec_XXXXXX";
    int fd = mkstemp (in);
    assert_true (fd >= 0);
    FILE *f = fdopen (fd, "w");
    fputs (input ? input : "", f);
    fclose (f);
    char *cmd = qy_printf ("sh %s %s < %s", S_SCRIPT, args, in);
    FILE *p = popen (cmd, "r");
    assert_non_null (p);
    char line [8192] = "";
    assert_non_null (fgets (line, sizeof (line), p));
    assert_int_equal (pclose (p), 0);
    unlink (in);
    free (cmd);
    line [strcspn (line, "\n")] = 0;
    return qy_strdup (line);
}

static const char *s_xml =
    "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
    "<CreateTime>1795201300</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrA]]></ChatId>"
    "<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail>"
    "<JoinScene>3</JoinScene><MemChangeCnt>1</MemChangeCnt><MemChangeList><Item><![CDATA[wmX]]></Item></MemChangeList></xml>";

static void test_decrypt_openssl_vector (void **state)
{
    (void) state;
    for (int round = 0; round < 5; round++) {
        char *k43 = s_run ("key", NULL);
        char *args = qy_printf ("encrypt %s wwCorp%d", k43, round);
        char *enc = s_run (args, s_xml);
        unsigned char key [32];
        assert_int_equal (wecom_aes_key (k43, key), 0);
        char corp [32], *msg = NULL;
        size_t len = 0;
        qy_snprintf (corp, sizeof (corp), "wwCorp%d", round);
        assert_int_equal (wecom_decrypt (key, enc, corp, &msg, &len), WECOM_OK);
        assert_int_equal (len, strlen (s_xml));
        assert_string_equal (msg, s_xml);
        free (msg);
        //  Another corp's receive id is refused.
        assert_int_equal (wecom_decrypt (key, enc, "wwOther", &msg, &len), WECOM_BAD_RECEIVER);
        //  Another key does not even unpad.
        key [0] ^= 1;
        wecom_rc_t rc = wecom_decrypt (key, enc, corp, &msg, &len);
        assert_true (rc == WECOM_BAD_PADDING || rc == WECOM_BAD_LENGTH || rc == WECOM_BAD_RECEIVER);
        if (rc == WECOM_OK)
            free (msg);
        free (k43); free (args); free (enc);
    }
}

static void test_encrypt_matches_openssl (void **state)
{
    (void) state;
    char *k43 = s_run ("key", NULL);
    char *args = qy_printf ("encrypt %s wwCorp 00112233445566778899aabbccddeeff", k43);
    char *want = s_run (args, "<xml>echo 1234567890</xml>");
    unsigned char key [32], rnd [16];
    for (int i = 0; i < 16; i++)
        rnd [i] = (unsigned char) (i * 0x11);
    assert_int_equal (wecom_aes_key (k43, key), 0);
    const char *m = "<xml>echo 1234567890</xml>";
    char *got = wecom_encrypt (key, rnd, m, strlen (m), "wwCorp");
    assert_string_equal (got, want);
    free (got); free (want); free (args); free (k43);
}

static void test_signature_openssl (void **state)
{
    (void) state;
    const char *rows [][4] = {
        { "QDG6eK", "1409659813", "1372623149", "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS" },
        { "tok", "1795201300", "n0nce", "abc+/=" },
        { "b", "a", "c", "a" },
    };
    for (size_t i = 0; i < QY_ARRAY_LEN (rows); i++) {
        char *args = qy_printf ("sign '%s' '%s' '%s' '%s'", rows [i][0], rows [i][1], rows [i][2], rows [i][3]);
        char *want = s_run (args, NULL), got [41];
        wecom_signature (rows [i][0], rows [i][1], rows [i][2], rows [i][3], got);
        assert_string_equal (got, want);
        free (args); free (want);
    }
}

static void test_padding (void **state)
{
    (void) state;
    assert_int_equal (wecom_pkcs7_pad (0), 32);
    assert_int_equal (wecom_pkcs7_pad (31), 1);
    assert_int_equal (wecom_pkcs7_pad (32), 32);
    assert_int_equal (wecom_pkcs7_pad (33), 31);
    unsigned char b [64];
    memset (b, 'x', sizeof (b));
    memset (b + 32, 32, 32);
    assert_int_equal (wecom_pkcs7_unpad (b, 64), 32);
    b [40] = 31;
    assert_int_equal (wecom_pkcs7_unpad (b, 64), -1);
    memset (b + 32, 33, 32);
    assert_int_equal (wecom_pkcs7_unpad (b, 64), -1);        //  more than a block of 32
    b [63] = 0;
    assert_int_equal (wecom_pkcs7_unpad (b, 64), -1);
    assert_int_equal (wecom_pkcs7_unpad (b, 0), -1);
    assert_int_equal (wecom_pkcs7_unpad (b, 20), -1);
}

static void test_bad_input (void **state)
{
    (void) state;
    unsigned char key [32];
    assert_int_equal (wecom_aes_key ("short", key), -1);
    assert_int_equal (wecom_aes_key ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", key), 0);
    char *msg = NULL;
    size_t len;
    assert_int_equal (wecom_decrypt (key, "not base64!", "c", &msg, &len), WECOM_BAD_BASE64);
    assert_int_equal (wecom_decrypt (key, "", "c", &msg, &len), WECOM_BAD_BASE64);
    assert_int_equal (wecom_decrypt (key, "QUJD", "c", &msg, &len), WECOM_BAD_BASE64);   //  3 bytes
    //  A length field pointing past the end.
    unsigned char rnd [16] = { 0 };
    char *enc = wecom_encrypt (key, rnd, "abc", 3, "c");
    assert_int_equal (wecom_decrypt (key, enc, "c", &msg, &len), WECOM_OK);
    free (msg);
    free (enc);
}

static void test_seal (void **state)
{
    (void) state;
    unsigned char mk [32], other [32];
    memset (mk, 7, sizeof (mk));
    memset (other, 8, sizeof (other));
    char *s = qy_seal (mk, "secret!", 7);
    assert_null (strstr (s, "secret"));
    char *p = qy_unseal (mk, s);
    assert_string_equal (p, "secret!");
    free (p);
    assert_null (qy_unseal (other, s));
    s [5] = s [5] == 'A' ? 'B' : 'A';
    assert_null (qy_unseal (mk, s));
    free (s);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_decrypt_openssl_vector),
        cmocka_unit_test (test_encrypt_matches_openssl),
        cmocka_unit_test (test_signature_openssl),
        cmocka_unit_test (test_padding),
        cmocka_unit_test (test_bad_input),
        cmocka_unit_test (test_seal),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
