//  qy_pack: many events in one bus message (qy/pack.h): written and read
//  back in order, a pack of one sent plain, a protobuf payload never read
//  as a pack, and a message that starts like a pack but does not walk as
//  one read as a single plain event.
#include "qy/pack.h"
#include "qunyun.pb-c.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "pack_join.h"

static void s_add (qy_pack_t *p, const char *s)
{
    size_t len = strlen (s);
    uint8_t *at = qy_pack_add (p, len);
    memcpy (at, s, len);
}

static void test_round_trip (void **state)
{
    (void) state;
    qy_pack_t p = { 0 };
    s_add (&p, "one");
    s_add (&p, "");
    s_add (&p, "three");
    const uint8_t *wire;
    size_t len = qy_pack_seal (&p, &wire);
    assert_int_equal (len, 4 + 3 * 4 + 3 + 0 + 5);
    assert_int_equal (wire [0], 0x00);
    assert_int_equal (qy_pack_count (wire, len), 3);
    char out [64];
    s_pack_join (wire, len, out, sizeof (out));
    assert_string_equal (out, "one||three");
    qy_pack_reset (&p);
    assert_int_equal (p.n, 0);
    assert_null (p.data);
}

static void test_one_is_plain (void **state)
{
    (void) state;
    qy_pack_t p = { 0 };
    s_add (&p, "alone");
    const uint8_t *wire;
    size_t len = qy_pack_seal (&p, &wire);
    assert_int_equal (len, 5);
    assert_memory_equal (wire, "alone", 5);
    assert_int_equal (qy_pack_count (wire, len), 1);
    qy_pack_reset (&p);
}

//  A protobuf event (first byte a field's tag, never 0) is one event.
static void test_protobuf_plain (void **state)
{
    (void) state;
    Qy__Event ev = QY__EVENT__INIT;
    ev.brand = "acme";
    ev.msg_id = "m-1";
    ev.brand_id = 42;
    uint8_t buf [256];
    size_t len = qy__event__pack (&ev, buf);
    assert_true (buf [0] != 0);
    assert_int_equal (qy_pack_count (buf, len), 1);
    qy_pack_iter_t it;
    const void *data;
    size_t dlen;
    qy_pack_iter (&it, buf, len);
    assert_true (qy_pack_next (&it, &data, &dlen));
    assert_ptr_equal (data, buf);
    assert_int_equal (dlen, len);
    assert_false (qy_pack_next (&it, &data, &dlen));
    assert_int_equal (qy_pack_count ("", 0), 1);            //  an empty payload: one (empty) event
}

//  Starts like a pack, does not walk as one: one plain event (set aside
//  downstream as undecodable), never a read past its end.
static void test_malformed (void **state)
{
    (void) state;
    static const uint8_t short_len [] = { 0, 1, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 9, 'b' };
    static const uint8_t trailing [] = { 0, 1, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b', 'x' };
    static const uint8_t zero [] = { 0, 1, 0, 0 };
    static const uint8_t version [] = { 0, 2, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b' };
    static const uint8_t good [] = { 0, 1, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b' };
    assert_int_equal (qy_pack_count (short_len, sizeof (short_len)), 1);
    assert_int_equal (qy_pack_count (trailing, sizeof (trailing)), 1);
    assert_int_equal (qy_pack_count (zero, sizeof (zero)), 1);
    assert_int_equal (qy_pack_count (version, sizeof (version)), 1);
    assert_int_equal (qy_pack_count (good, sizeof (good)), 2);
    assert_int_equal (qy_pack_count (good, 3), 1);
    qy_pack_iter_t it;
    const void *data;
    size_t len;
    qy_pack_iter (&it, short_len, sizeof (short_len));
    assert_true (qy_pack_next (&it, &data, &len));
    assert_int_equal (len, sizeof (short_len));
    assert_false (qy_pack_next (&it, &data, &len));
}

//  Many events, bigger than the buffer's first size: all back, in order.
static void test_many (void **state)
{
    (void) state;
    qy_pack_t p = { 0 };
    char big [3000];
    memset (big, 'x', sizeof (big) - 1);
    big [sizeof (big) - 1] = 0;
    for (int i = 0; i < QY_PACK_MAX; i++) {
        big [0] = (char) ('A' + i % 26);
        s_add (&p, big);
    }
    const uint8_t *wire;
    size_t len = qy_pack_seal (&p, &wire);
    assert_int_equal (qy_pack_count (wire, len), QY_PACK_MAX);
    qy_pack_iter_t it;
    const void *data;
    size_t dlen;
    qy_pack_iter (&it, wire, len);
    for (int i = 0; i < QY_PACK_MAX; i++) {
        assert_true (qy_pack_next (&it, &data, &dlen));
        assert_int_equal (dlen, sizeof (big) - 1);
        assert_int_equal (((const char *) data) [0], 'A' + i % 26);
    }
    assert_false (qy_pack_next (&it, &data, &dlen));
    qy_pack_reset (&p);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_one_is_plain),
        cmocka_unit_test (test_protobuf_plain),
        cmocka_unit_test (test_malformed),
        cmocka_unit_test (test_many),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
