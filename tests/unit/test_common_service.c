//  qy_service_wait: the one schedule every wait for a failed dependency
//  follows, and when it gives up. qy_service_probe: what /livez and
//  /readyz answer while a service starts.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include "qy/service.h"
#include "qy/util.h"

static void test_schedule (void **state)
{
    (void) state;
    //  Doubling from the first pause to the cap, then the cap for ever.
    int want [] = { 100, 200, 400, 500, 500, 500 };
    for (int tries = 1; tries <= 6; tries++)
        assert_int_equal (qy_wait_delay_ms (tries), want [tries - 1]);
    assert_int_equal (qy_wait_delay_ms (1), QY_WAIT_FIRST_MS);
    assert_int_equal (qy_wait_delay_ms (1000), QY_WAIT_MAX_MS);
    assert_int_equal (qy_wait_delay_ms (INT_MAX), QY_WAIT_MAX_MS);
    assert_int_equal (qy_wait_delay_ms (0), QY_WAIT_FIRST_MS);
}

//  The probe's verdict, its body kept in b.
static bool s_probe (qy_probe_t probe, qy_buf_t *b)
{
    qy_buf_reset (b);
    return qy_service_probe (probe, b);
}

//  Not ready until set up, even with no dependency declared yet: ingest
//  declared the bus only after connecting to PostgreSQL, answered ready in
//  between, and a gateway's first batch was answered busy. Set up, every
//  declared dependency must be up. Alive throughout.
static void test_ready_once_set_up (void **state)
{
    (void) state;
    qy_buf_t b;
    qy_buf_init (&b);
    qy_service_heartbeat ();
    assert_true (s_probe (QY_PROBE_LIVE, &b));
    assert_false (s_probe (QY_PROBE_READY, &b));
    assert_non_null (strstr (b.data, "\"starting\":true"));
    qy_service_ready ();
    assert_true (s_probe (QY_PROBE_READY, &b));
    assert_non_null (strstr (b.data, "\"starting\":false"));
    assert_non_null (strstr (b.data, "\"status\":\"ok\""));
    qy_service_needs (QY_DEP_BUS);
    assert_false (s_probe (QY_PROBE_READY, &b));
    assert_non_null (strstr (b.data, "\"bus\":\"down\""));
    qy_service_set_dep (QY_DEP_BUS, true);
    assert_true (s_probe (QY_PROBE_READY, &b));
    assert_true (s_probe (QY_PROBE_LIVE, &b));
    qy_buf_free (&b);
}

static void test_wait_sleeps_then_gives_up (void **state)
{
    (void) state;
    qy_wait_t w = { 0 }, at_stop = { .at_stop = true };
    int64_t t0 = qy_mono_us ();
    assert_true (qy_service_wait (&w, QY_DEP_PG, false));
    assert_true (qy_service_wait (&w, QY_DEP_PG, false));
    int64_t slept = qy_mono_us () - t0;
    assert_int_equal (w.tries, 2);
    assert_true (slept >= 300000 && slept < 2000000);      //  100 + 200 ms
    //  Asked to stop: work whose lease lets another replica redo it gives
    //  up at once; the rest may still wait within the grace.
    qy_service_request_stop ();
    t0 = qy_mono_us ();
    assert_false (qy_service_wait (&at_stop, QY_DEP__COUNT, false));
    assert_int_equal (at_stop.tries, 0);
    assert_true (qy_mono_us () - t0 < 50000);
    assert_true (qy_service_wait (&w, QY_DEP_PG, false));
    assert_int_equal (w.tries, 3);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_schedule),
        cmocka_unit_test (test_ready_once_set_up),     //  before the stop below
        cmocka_unit_test (test_wait_sleeps_then_gives_up),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
