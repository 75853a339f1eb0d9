//  qy_pg_input_at_fault: which refusals mean the input can never be stored
//  (set aside, 400) and which mean the moment (try again).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
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

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_input_at_fault),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
