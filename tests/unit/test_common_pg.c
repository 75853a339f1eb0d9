//  qy_pg's pure parts: the refusals that are the input's fault (set aside,
//  400) or the moment's (try again), the int64 parameter and the bulk
//  columns for unnest.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>
#include "qy/pg.h"

static void test_input_at_fault (void **state)
{
    (void) state;
    //  Data exceptions, constraints, program limits: the row's own fault.
    const char *fault [] = {
        "22001",    //  string_data_right_truncation
        "22P02",    //  invalid_text_representation
        "22021",    //  character_not_in_repertoire (a NUL in text)
        "23505",    //  unique_violation
        "23503",    //  foreign_key_violation
        "23514",    //  check_violation
        "54000",    //  program_limit_exceeded (index row too large)
    };
    for (size_t i = 0; i < sizeof (fault) / sizeof (fault [0]); i++)
        assert_true (qy_pg_input_at_fault (fault [i]));
    //  The moment, or our own code: sending again may work, or no single
    //  row is to blame.
    const char *moment [] = {
        "40001",    //  serialization_failure
        "40P01",    //  deadlock_detected
        "57014",    //  query_canceled (statement timeout)
        "55P03",    //  lock_not_available
        "08006",    //  connection_failure
        "53300",    //  too_many_connections
        "25P02",    //  in_failed_sql_transaction
        "42P01",    //  undefined_table: a bug or a missing migration
        "XX000",    //  internal_error
        "", "2", "2250", "220011",
    };
    for (size_t i = 0; i < sizeof (moment) / sizeof (moment [0]); i++)
        assert_false (qy_pg_input_at_fault (moment [i]));
    assert_false (qy_pg_input_at_fault (NULL));
}

static void test_i64 (void **state)
{
    (void) state;
    char b [QY_PG_I64_LEN];
    assert_string_equal (qy_pg_i64 (b, 0), "0");
    assert_string_equal (qy_pg_i64 (b, 1234567890123), "1234567890123");
    assert_string_equal (qy_pg_i64 (b, INT64_MIN), "-9223372036854775808");
    assert_string_equal (qy_pg_i64 (b, INT64_MAX), "9223372036854775807");
    assert_ptr_equal (qy_pg_i64 (b, 7), b);
}

static void test_cols (void **state)
{
    (void) state;
    qy_pg_cols_t cols;
    qy_pg_cols_init (&cols, 5);
    //  Columns filled out of order still line up row by row.
    qy_pg_cols_row (&cols);
    qy_pg_cols_text (&cols, 1, "say \"hi\" \\o/");
    qy_pg_cols_int (&cols, 0, -5);
    qy_pg_cols_bool (&cols, 2, true);
    qy_pg_cols_printf (&cols, 3, "%.2f", 1.5);
    qy_pg_cols_null (&cols, 4);
    qy_pg_cols_row (&cols);
    qy_pg_cols_int (&cols, 0, 9007199254740993);
    qy_pg_cols_text (&cols, 1, NULL);
    qy_pg_cols_bool (&cols, 2, false);
    qy_pg_cols_printf (&cols, 3, "%s", "2026-12-06");
    qy_pg_cols_text (&cols, 4, "NULL");
    const char *p [5];
    qy_pg_cols_params (&cols, p);
    assert_string_equal (p [0], "{-5,9007199254740993}");
    assert_string_equal (p [1], "{\"say \\\"hi\\\" \\\\o/\",NULL}");
    assert_string_equal (p [2], "{t,f}");
    assert_string_equal (p [3], "{1.50,2026-12-06}");
    //  The word NULL as text is quoted, so it stays a word.
    assert_string_equal (p [4], "{NULL,\"NULL\"}");
    assert_int_equal (cols.nrows, 2);
    //  Closing twice closes once.
    assert_string_equal (qy_pg_cols_array (&cols, 0), "{-5,9007199254740993}");
    qy_pg_cols_free (&cols);
    qy_pg_cols_free (&cols);
}

static void test_cols_empty (void **state)
{
    (void) state;
    qy_pg_cols_t cols;
    qy_pg_cols_init (&cols, 2);
    assert_string_equal (qy_pg_cols_array (&cols, 1), "{}");
    assert_int_equal (cols.nrows, 0);
    qy_pg_cols_free (&cols);
    int64_t ids [] = { 3, -1, 40000000000 };
    assert_string_equal (qy_pg_cols_ints (&cols, ids, 3), "{3,-1,40000000000}");
    qy_pg_cols_free (&cols);
    assert_string_equal (qy_pg_cols_ints (&cols, ids, 0), "{}");
    qy_pg_cols_free (&cols);
}

//  Steps keep their columns: the parameters stay valid after the caller's
//  builder is gone, and steps with and without parameters mix.
static void test_steps (void **state)
{
    (void) state;
    qy_pg_steps_t s;
    qy_pg_steps_init (&s);
    assert_int_equal (qy_pg_steps_add (&s, "begin", "BEGIN", NULL, false), 0);
    for (int k = 0; k < 12; k++) {           //  past the first allocation
        qy_pg_cols_t c;
        qy_pg_cols_init (&c, 2);
        qy_pg_cols_row (&c);
        qy_pg_cols_int (&c, 0, k);
        qy_pg_cols_text (&c, 1, "a\"b");
        assert_int_equal (qy_pg_steps_add (&s, "write", "INSERT …", &c, k == 11), (size_t) k + 1);
        assert_null (c.col);                  //  taken over
        qy_pg_cols_free (&c);                 //  harmless
    }
    assert_int_equal (s.n, 13);
    assert_int_equal (s.steps [0].nparams, 0);
    assert_null (s.steps [0].params);
    assert_int_equal (s.steps [12].nparams, 2);
    assert_string_equal (s.steps [12].params [0], "{11}");
    assert_string_equal (s.steps [12].params [1], "{\"a\\\"b\"}");
    assert_true (s.steps [12].keep);
    assert_false (s.steps [11].keep);
    assert_string_equal (s.steps [1].context, "write");
    qy_pg_steps_free (&s);
    assert_int_equal (s.n, 0);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_input_at_fault),
        cmocka_unit_test (test_i64),
        cmocka_unit_test (test_cols),
        cmocka_unit_test (test_cols_empty),
        cmocka_unit_test (test_steps),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
