//  The load generator's simulated day (tools/loadgen/sim.c): a seed gives
//  the same day whatever the group search does, and day_groups keeps the
//  day's mix when the same traffic is spread over many more groups.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "sim.h"

static sim_config_t s_cfg (int stores, int groups, int day_groups)
{
    return (sim_config_t) { .brand = "bench", .run = "t", .stores = stores, .groups = groups, .members = 120,
                            .messages = 60000, .day_groups = day_groups, .ad_rate = 0.03, .flooder_rate = 0.01,
                            .leave_rate = 0.05, .dup_rate = 0.005, .day_start_us = 1700000000000000LL, .seed = 1 };
}

static int s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  How many different groups the events touch.
static size_t s_groups_touched (Qy__Event **evs, size_t n)
{
    char **g = malloc (n * sizeof (char *));
    for (size_t i = 0; i < n; i++)
        g [i] = evs [i]->group;
    qsort (g, n, sizeof (char *), s_cmp_str);
    size_t k = n > 0;
    for (size_t i = 1; i < n; i++)
        k += strcmp (g [i], g [i - 1]) != 0;
    free (g);
    return k;
}

//  The benchmark's 60-group day (tests/bench/pipeline.sh with 60,000
//  messages), as the generator made it when it found each message's group
//  by a linear scan: the binary search must give the very same day.
static void test_default_day_unchanged (void **state)
{
    (void) state;
    sim_config_t cfg = s_cfg (20, 3, 0);
    sim_counts_t c;
    size_t n;
    Qy__Event **evs = sim_generate (&cfg, &n, &c);
    assert_int_equal (n, 69104);
    assert_int_equal (c.joins, 7200);
    assert_int_equal (c.messages, 60000);
    assert_int_equal (c.ads, 1687);
    assert_int_equal (c.flood_msgs, 1050);
    assert_int_equal (c.leaves, 317);
    assert_int_equal (c.staff_posts, 180);
    assert_int_equal (c.duplicates, 357);
    assert_int_equal (s_groups_touched (evs, n), 60);
    sim_free (evs, n);
    //  day_groups equal to the groups there are changes nothing.
    cfg.day_groups = 60;
    sim_counts_t same;
    evs = sim_generate (&cfg, &n, &same);
    assert_memory_equal (&c, &same, sizeof (c));
    sim_free (evs, n);
}

//  6,000 groups carrying the 60-group day: the same chat, and the joins,
//  leaves, staff posts and floods of 60 groups (within chance), spread
//  over thousands of groups instead of concentrated in 60.
static void test_spread_day_keeps_mix (void **state)
{
    (void) state;
    sim_config_t ref = s_cfg (20, 3, 0), wide = s_cfg (600, 10, 60);
    sim_counts_t a, b;
    size_t na, nb;
    Qy__Event **ea = sim_generate (&ref, &na, &a);
    Qy__Event **eb = sim_generate (&wide, &nb, &b);
    assert_int_equal (b.messages, a.messages);
    assert_in_range (b.joins, a.joins * 95 / 100, a.joins * 105 / 100);
    assert_in_range (b.staff_posts, a.staff_posts * 75 / 100, a.staff_posts * 125 / 100);
    assert_in_range (b.flood_msgs, a.flood_msgs * 60 / 100, a.flood_msgs * 140 / 100);
    assert_in_range (b.leaves, a.leaves * 75 / 100, a.leaves * 125 / 100);
    assert_in_range (b.ads, a.ads * 90 / 100, a.ads * 110 / 100);
    assert_in_range (nb, na * 95 / 100, na * 105 / 100);
    assert_true (s_groups_touched (eb, nb) > 3000);
    sim_free (ea, na);
    sim_free (eb, nb);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_default_day_unchanged),
        cmocka_unit_test (test_spread_day_keeps_mix),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
