//  moderation_marks_add: the finished marks of a batch, one SADD per brand
//  and day in the order the days first come, each with its EXPIRE; marks
//  of later batches append after those still owed.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "moderation_behaviour.h"
#include "moderation_marks.h"
#include "qy/util.h"

#define S_DAY_US (86400LL * 1000000)

//  Command c of m as one string, words separated by spaces.
static char *s_cmd (const moderation_marks_t *m, size_t c)
{
    size_t at = 0;
    for (size_t k = 0; k < c; k++)
        at += (size_t) m->argc [k];
    qy_buf_t b;
    qy_buf_init (&b);
    for (int w = 0; w < m->argc [c]; w++)
        qy_buf_printf (&b, "%s%s", w ? " " : "", m->words [at + (size_t) w]);
    return b.data;
}

static void s_expect (const moderation_marks_t *m, size_t c, const char *want)
{
    char *got = s_cmd (m, c);
    assert_string_equal (got, want);
    free (got);
}

static void test_marks (void **state)
{
    (void) state;
    Qy__Event e [5];
    Qy__Event *evs [5];
    const int64_t brand [] = { 7, 7, 9, 7, 7 };
    const int64_t day [] = { 20000, 20000, 20000, 20001, 20000 };
    const char *ids [] = { "a", "b", "c", "d", "e" };
    for (int i = 0; i < 5; i++) {
        qy__event__init (&e [i]);
        e [i].brand_id = brand [i];
        e [i].event_time_us = day [i] * S_DAY_US + 3600LL * 1000000;
        e [i].msg_id = (char *) ids [i];
        evs [i] = &e [i];
    }
    char k7 [96], k9 [96], k7b [96], want [256];
    moderation_seen_key (k7, sizeof (k7), 7, evs [0]->event_time_us);
    moderation_seen_key (k9, sizeof (k9), 9, evs [2]->event_time_us);
    moderation_seen_key (k7b, sizeof (k7b), 7, evs [3]->event_time_us);
    assert_string_not_equal (k7, k7b);
    moderation_marks_t m = { 0 };
    moderation_marks_add (&m, evs, 5);
    assert_int_equal (m.ncmds, 6);
    qy_snprintf (want, sizeof (want), "SADD %s a b e", k7);
    s_expect (&m, 0, want);
    qy_snprintf (want, sizeof (want), "EXPIRE %s %d", k7, MODERATION_SEEN_TTL_S);
    s_expect (&m, 1, want);
    qy_snprintf (want, sizeof (want), "SADD %s c", k9);
    s_expect (&m, 2, want);
    qy_snprintf (want, sizeof (want), "SADD %s d", k7b);
    s_expect (&m, 4, want);
    qy_snprintf (want, sizeof (want), "EXPIRE %s %d", k7b, MODERATION_SEEN_TTL_S);
    s_expect (&m, 5, want);
    //  A second batch before the first's were sent: appended after them.
    moderation_marks_add (&m, evs + 2, 1);
    assert_int_equal (m.ncmds, 8);
    qy_snprintf (want, sizeof (want), "SADD %s c", k9);
    s_expect (&m, 6, want);
    moderation_marks_add (&m, evs, 0);          //  an empty batch adds nothing
    assert_int_equal (m.ncmds, 8);
    moderation_marks_free (&m);
    assert_int_equal (m.ncmds, 0);
    assert_null (m.words);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_marks),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
