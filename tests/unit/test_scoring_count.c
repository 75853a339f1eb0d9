//  scoring_count: what a batch sends to Redis (scoring_count_plan: one
//  transaction per group on a cluster), without Redis. The counting itself
//  is test_scoring_tally.c's.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "scoring.h"
#include "qy/util.h"

#define S_DAY_S 86400LL
#define S_T0 1700000000LL       //  2023-11-14, 22:13 UTC: the next day in UTC+8

static const scoring_count_config_t s_cfg = { .ttl_s = 2 * S_DAY_S, .member_ttl_s = 30 * S_DAY_S,
                                              .half_short_s = 3 * S_DAY_S, .half_long_s = 30 * S_DAY_S,
                                              .reply_window_s = 600, .post_window_s = 1800, .substantial_chars = 10 };

static scoring_brands_t *s_brands (void)
{
    scoring_brands_t *brands = scoring_brands_new (NULL);
    scoring_brand_t b = { .id = 1, .tz_offset_min = 480 };
    qy_snprintf (b.code, sizeof (b.code), "b1");
    scoring_settings_default (&b.settings);
    scoring_brands_put (brands, &b);
    return brands;
}

static void s_event (Qy__Event *ev, int64_t brand, int64_t group, int64_t member, int64_t t_s)
{
    qy__event__init (ev);
    ev->brand_id = brand;
    ev->group_id = group;
    ev->member_id = member;
    ev->event_time_us = t_s * 1000000;
    ev->msg_id = "m";
    ev->brand = "b1";
}

//  Events of brand 1 from rows {group, member, seconds after S_T0}.
static void s_events (Qy__Event *ev, Qy__Event **evs, const int64_t (*rows) [3], int n)
{
    for (int i = 0; i < n; i++) {
        s_event (&ev [i], 1, rows [i][0], rows [i][1], S_T0 + rows [i][2]);
        evs [i] = &ev [i];
    }
}

//  Two groups, one day: each set gets a group-day or group once; an event
//  older than the counter window is sent (the counting says so) but marks
//  no day; one answered before is not sent again; the brand's clock is
//  its latest event.
static void test_plan (void **state)
{
    (void) state;
    scoring_brands_t *brands = s_brands ();
    Qy__Event ev [5], *evs [5];
    const int64_t rows [5][3] = { { 10, 100, 0 }, { 10, 101, 60 }, { 11, 100, 120 }, { 10, 100, -5 * S_DAY_S },
                                  { 12, 100, 900 } };
    s_events (ev, evs, rows, 5);
    scoring_brands_clock (brands, 1, S_T0 + 120);
    scoring_outcome_t out [5] = { SCORING_PENDING, SCORING_PENDING, SCORING_PENDING, SCORING_PENDING, SCORING_COUNTED };
    scoring_plan_t p;
    assert_int_equal (scoring_count_plan (&s_cfg, brands, evs, out, 5, true, &p), 0);
    assert_int_equal (p.nsend, 4);
    assert_true (p.send [0] && p.send [1] && p.send [2] && p.send [3]);
    assert_false (p.send [4]);
    assert_false (p.old [0] || p.old [1] || p.old [2]);
    assert_true (p.old [3]);
    int32_t day = p.keys [0].day;
    assert_int_equal (day, (int32_t) ((S_T0 + 8 * 3600) / S_DAY_S));
    assert_int_equal (p.ndirty, 2);
    char want [64];
    qy_snprintf (want, sizeof (want), "1:10:%d", (int) day);
    assert_string_equal (p.dirty [0], want);
    qy_snprintf (want, sizeof (want), "1:11:%d", (int) day);
    assert_string_equal (p.dirty [1], want);
    assert_int_equal (p.nseen, 2);
    assert_string_equal (p.seen [0], "1:10");
    assert_string_equal (p.seen [1], "1:11");
    assert_int_equal (p.nclocks, 1);
    assert_true (p.clock_brand [0] == 1 && p.clock_s [0] == S_T0 + 120);
    //  On a Redis Cluster one transaction per group, its events in batch
    //  order (the old one too: it answers in its group's call); the
    //  answered one in none.
    assert_int_equal (p.ncalls, 2);
    assert_int_equal (p.call_start [0], 0);
    assert_int_equal (p.call_start [1], 3);
    assert_int_equal (p.call_start [2], 4);
    assert_int_equal (p.order [0], 0);
    assert_int_equal (p.order [1], 1);
    assert_int_equal (p.order [2], 3);
    assert_int_equal (p.order [3], 2);
    scoring_count_plan_free (&p);
    //  A single Redis takes keys of any slot: one call, in batch order.
    assert_int_equal (scoring_count_plan (&s_cfg, brands, evs, out, 5, false, &p), 0);
    assert_int_equal (p.ncalls, 1);
    assert_int_equal (p.call_start [1], 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal (p.order [i], i);
    scoring_count_plan_free (&p);
    //  A brand that cannot be loaded (no PostgreSQL here): nothing planned.
    s_event (&ev [4], 2, 12, 100, S_T0);
    out [4] = SCORING_PENDING;
    assert_int_equal (scoring_count_plan (&s_cfg, brands, evs, out, 5, true, &p), -1);
    scoring_brands_destroy (&brands);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_plan),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
