//  ingest_lookup: a batch's keys missing from a cache, each once and in
//  order (one look-up statement for them all), and the caches' bound.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include "ingest_lookup.h"

static void test_missing_each_once (void **state)
{
    (void) state;
    qy_map_t *cache = qy_map_new ();
    qy_map_put (cache, "1|g2", 12);
    //  Events 0, 2 and 5 bring g1 (cached: no), 3 is not accepted (NULL).
    const char *keys [] = { "1|g1", "1|g2", "1|g1", NULL, "2|g1", "1|g1", "1|g3", "1|g2" };
    size_t first [8];
    size_t n = ingest_lookup_missing (cache, keys, 8, first);
    assert_int_equal (n, 3);
    assert_int_equal (first [0], 0);       //  1|g1
    assert_int_equal (first [1], 4);       //  2|g1: another brand's g1 is another group
    assert_int_equal (first [2], 6);       //  1|g3
    qy_map_destroy (&cache);
}

static void test_all_cached (void **state)
{
    (void) state;
    qy_map_t *cache = qy_map_new ();
    qy_map_put (cache, "1|g1", 11);
    const char *keys [] = { "1|g1", NULL, "1|g1" };
    size_t first [3];
    assert_int_equal (ingest_lookup_missing (cache, keys, 3, first), 0);
    assert_int_equal (ingest_lookup_missing (cache, keys, 0, first), 0);
    qy_map_destroy (&cache);
}

//  A batch of 1,000 new groups is one look-up of 1,000, not 1,000 look-ups.
static void test_large_batch (void **state)
{
    (void) state;
    qy_map_t *cache = qy_map_new ();
    static char buf [2000][16];
    const char *keys [2000];
    for (int i = 0; i < 2000; i++) {
        snprintf (buf [i], sizeof (buf [i]), "7|g%d", i % 1000);
        keys [i] = buf [i];
    }
    static size_t first [2000];
    assert_int_equal (ingest_lookup_missing (cache, keys, 2000, first), 1000);
    for (size_t k = 0; k < 1000; k++)
        assert_int_equal (first [k], k);
    qy_map_destroy (&cache);
}

static void test_room (void **state)
{
    (void) state;
    qy_map_t *cache = qy_map_new ();
    qy_map_put (cache, "a", 1);
    qy_map_put (cache, "b", 2);
    assert_false (ingest_lookup_room (cache, 4, 2));      //  2 + 2 fit in 4
    assert_int_equal (qy_map_size (cache), 2);
    assert_true (ingest_lookup_room (cache, 4, 3));       //  2 + 3 would not: dropped
    assert_int_equal (qy_map_size (cache), 0);
    assert_false (qy_map_get (cache, "a", NULL));
    //  A batch larger than the bound still gets its answers in (dropped first).
    assert_false (ingest_lookup_room (cache, 4, 0));
    assert_false (ingest_lookup_room (cache, 4, 4));
    qy_map_destroy (&cache);
}

//  A key's changes go in successive rounds, in the order they came; a
//  round never holds a key twice.
static void test_rounds (void **state)
{
    (void) state;
    const char *keys [] = { "g1|m1", "g1|m2", NULL, "g1|m1", "g2|m1", "g1|m1", "g1|m2" };
    size_t round [7];
    assert_int_equal (ingest_lookup_rounds (keys, 7, round), 3);
    size_t want [] = { 0, 0, 0, 1, 0, 2, 1 };
    for (size_t i = 0; i < 7; i++)
        assert_int_equal (round [i], want [i]);
    const char *once [] = { "a", "b", "c" };
    assert_int_equal (ingest_lookup_rounds (once, 3, round), 1);
    assert_int_equal (ingest_lookup_rounds (once, 0, round), 0);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_missing_each_once),
        cmocka_unit_test (test_all_cached),
        cmocka_unit_test (test_large_batch),
        cmocka_unit_test (test_room),
        cmocka_unit_test (test_rounds),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
