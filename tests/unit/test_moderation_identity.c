//  moderation_identity: nicknames that claim a staff title, the brand, the
//  store or a staff member's name, compared in the judge's normalization
//  (look-alike and evasion variants included).
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "moderation.h"

static judge_t *s_judge;
static moderation_name_t s_names [4];

//  What the nickname claims, normalized as the service does it.
static const char *s_claims (const char *nickname)
{
    size_t len;
    char *nick = strdup (judge_normalize (s_judge, nickname, (size_t) -1, &len));
    const char *found = moderation_impersonation (nick, len, s_names, 4);
    free (nick);
    return found;
}

static void s_name (size_t i, const char *kind, const char *name)
{
    size_t len;
    const char *norm = judge_normalize (s_judge, name, (size_t) -1, &len);
    s_names [i] = (moderation_name_t) { kind, name, strndup (norm, len), len };
}

static int s_setup (void **state)
{
    (void) state;
    size_t n;
    const judge_rule_row_t *rows = judge_default_rules (&n);
    char err [256];
    s_judge = judge_new (rows, n, NULL, err, sizeof (err));
    if (!s_judge)
        return -1;
    s_name (0, "brand", "Acme 美妆");
    s_name (1, "store", "一号店");
    s_name (2, "staff", "小王");
    s_name (3, "staff", "李晓梅老师");
    return 0;
}

static int s_teardown (void **state)
{
    (void) state;
    for (size_t i = 0; i < 4; i++)
        free ((char *) s_names [i].norm);
    judge_destroy (&s_judge);
    return 0;
}

static void test_titles (void **state)
{
    (void) state;
    assert_string_equal (s_claims ("店长"), "店长");
    assert_string_equal (s_claims ("官方客服-小美"), "客服");
    assert_string_equal (s_claims ("客 服"), "客服");            //  spaced out
    assert_string_equal (s_claims ("客-服★"), "客服");
    assert_string_equal (s_claims ("ＫＥＦＵ"), "kefu");         //  full-width pinyin
    assert_string_equal (s_claims ("官方"), "官方");
    assert_string_equal (s_claims ("群管理員"), "管理员");       //  traditional
}

static void test_brand_store_staff (void **state)
{
    (void) state;
    assert_string_equal (s_claims ("ACME美妆"), "Acme 美妆");
    assert_string_equal (s_claims ("ａｃｍｅ 美 妆"), "Acme 美妆");
    assert_string_equal (s_claims ("一號店"), "一号店");
    assert_string_equal (s_claims ("小王"), "小王");               //  a staff member's name, exactly
    assert_string_equal (s_claims ("李晓梅老师♥"), "李晓梅老师");
    //  Ordinary nicknames claim nothing; a short staff name inside another is no claim.
    assert_null (s_claims ("小王爱吃鱼"));
    assert_null (s_claims ("花花-上海-油皮"));
    assert_null (s_claims (""));
    assert_null (moderation_impersonation (NULL, 0, s_names, 4));
}

//  The brand's and staff's names are kept for the ttl: never read is
//  stale, being read is not fresh, a clock gone back reads again.
static void test_names_fresh (void **state)
{
    (void) state;
    const int64_t ttl = 60 * 1000000LL, at = 5000 * 1000000LL;
    assert_false (moderation_names_fresh (0, ttl, at));
    assert_false (moderation_names_fresh (-1, ttl, at));
    assert_true (moderation_names_fresh (at, ttl, at));
    assert_true (moderation_names_fresh (at, ttl, at + ttl - 1));
    assert_false (moderation_names_fresh (at, ttl, at + ttl));
    assert_false (moderation_names_fresh (at, ttl, at - 1));
    assert_false (moderation_names_fresh (at, 0, at));         //  identity.names_ttl_s 0: every batch
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_titles),
        cmocka_unit_test (test_brand_store_staff),
        cmocka_unit_test (test_names_fresh),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
