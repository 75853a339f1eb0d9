//  qy_redis_format: the RESP every command to Redis is sent as, byte for
//  byte what hiredis's redisFormatCommandArgv writes.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "qy/redis.h"

//  The same command both ways, with lengths given or not.
static void s_same (int argc, const char **argv, const size_t *argvlen)
{
    char *want;
    long long n = redisFormatCommandArgv (&want, argc, argv, argvlen);
    size_t len;
    char *got = qy_redis_format (argc, argv, argvlen, &len);
    assert_true (n > 0);
    assert_int_equal (len, (size_t) n);
    assert_memory_equal (got, want, len);
    assert_int_equal (got [len], '\0');
    free (got);
    redisFreeCommand (want);
}

static void test_format (void **state)
{
    (void) state;
    const char *hset [] = { "HSET", "sc:u:{g:42}:7", "msgs", "12", "as", "1.9837401930013", "ch", "" };
    s_same (8, hset, NULL);
    const char *one [] = { "MULTI" };
    s_same (1, one, NULL);
    //  Lengths given: words with NULs and CRLFs inside, and one of ten
    //  thousand bytes (a header of five digits).
    char *big = malloc (10000);
    memset (big, 'x', 10000);
    const char *bin [] = { "SET", "k\r\n", "a\0b", big };
    size_t lens [] = { 3, 3, 3, 10000 };
    s_same (4, bin, lens);
    //  Twelve words (the count itself two digits), lengths 1 to 12.
    const char *many [12];
    size_t mlens [12];
    for (int i = 0; i < 12; i++) {
        many [i] = big;
        mlens [i] = (size_t) i + 1;
    }
    s_same (12, many, mlens);
    //  More words than the lengths measured ahead take (64), none given.
    const char *words [100];
    for (int i = 0; i < 100; i++)
        words [i] = i % 2 ? "sc:u:{g:1}:2" : "";
    s_same (100, words, NULL);
    free (big);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_format),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
