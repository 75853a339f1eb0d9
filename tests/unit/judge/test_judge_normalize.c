/*  =========================================================================
    test_judge_normalize.c - every normalization trick, and the offset map
    from normalized spans back to the original bytes.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge_normalize.h"

static judge_normalizer_t *s_normalizer;
static judge_norm_t s_norm;

static int
s_setup (void **state)
{
    (void) state;
    char err [256] = "";
    s_normalizer = judge_normalizer_new (NULL, err, sizeof (err));
    if (!s_normalizer) {
        fprintf (stderr, "normalizer: %s\n", err);
        return -1;
    }
    judge_norm_init (&s_norm);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    judge_norm_release (&s_norm);
    judge_normalizer_destroy (&s_normalizer);
    assert_null (s_normalizer);
    return 0;
}

static const char *
s_strict (const char *text)
{
    judge_normalizer_run (s_normalizer, text, strlen (text), &s_norm);
    return s_norm.text;
}

static const char *
s_light (const char *text)
{
    judge_normalizer_run (s_normalizer, text, strlen (text), &s_norm);
    return s_norm.light;
}

static void
test_fullwidth (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("ＶＸ：ａｂｃ１２３"), "vxabc123");
    assert_string_equal (s_strict ("加ＱＱ"), "加qq");
}

static void
test_case_folding (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("WeChat VX"), "wechatvx");
}

static void
test_traditional (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("加微信發貨還有"), "加微信发货还有");
    assert_string_equal (s_strict ("百家樂"), "百家乐");
}

static void
test_zero_width (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("加\xe2\x80\x8b微\xe2\x80\x8d信\xef\xbb\xbf"), "加微信");
    assert_string_equal (s_strict ("v\xe2\x81\xa0x"), "vx");
}

static void
test_separators_and_emoji (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("加 V ❤ 信 😀"), "加v信");
    assert_string_equal (s_strict ("薇*信~号.|"), "薇信号");
    //  Keycap emoji: digit + U+FE0F + U+20E3
    assert_string_equal (s_strict ("1\xef\xb8\x8f\xe2\x83\xa3" "2\xef\xb8\x8f\xe2\x83\xa3"), "12");
}

static void
test_circled_numbers (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("①③⑧①②③④⑤⑥⑦⑧"), "13812345678");
    assert_string_equal (s_strict ("❶❸❽⓪"), "1380");
    assert_string_equal (s_strict ("⑩⑳"), "1020");
    assert_string_equal (s_strict ("０１２３"), "0123");
}

static void
test_chinese_numerals (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("加微一三八一二三四五六七八"), "加微13812345678");
    assert_string_equal (s_strict ("扣壹贰叁肆伍陆柒捌玖"), "扣123456789");
    //  From game chat: "12115.炸天帮工作室一四八三四三九零25141"
    assert_string_equal (s_strict ("工作室一四八三四三九零25141"), "工作室1483439025141");
    //  Separators between spelled digits do not break the run
    assert_string_equal (s_strict ("一三八 一二三四 五六七八"), "13812345678");
}

static void
test_chinese_numerals_stay_text (void **state)
{
    (void) state;
    //  Ordinary chat must never turn into numbers
    assert_string_equal (s_strict ("我们一起去"), "我们一起去");
    assert_string_equal (s_strict ("等一下三个人"), "等一下三个人");
    assert_string_equal (s_strict ("买二送一"), "买二送一");
    assert_string_equal (s_strict ("二〇二四年"), "二〇二四年");
    assert_string_equal (s_strict ("第一第二"), "第一第二");
}

static void
test_math_letters (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("𝐯𝐱"), "vx");
    assert_string_equal (s_strict ("𝕨𝕩 𝓺𝓺"), "wxqq");
    assert_string_equal (s_strict ("🇻🇽"), "vx");
}

static void
test_lookalikes (void **state)
{
    (void) state;
    //  Cyrillic а о е с р х, Greek ο and ν
    assert_string_equal (s_strict ("\xd0\xb0\xd0\xbe\xd0\xb5\xd1\x81\xd1\x80\xd1\x85"), "aoecpx");
    assert_string_equal (s_strict ("g\xce\xbf\xce\xbfgle"), "google");
    assert_string_equal (s_strict ("ⓥⓧ"), "vx");
    assert_string_equal (s_strict ("ｖ"), "v");
}

static void
test_repeats (void **state)
{
    (void) state;
    assert_string_equal (s_strict ("加加加微微信信信"), "加微信");
    assert_string_equal (s_strict ("哈哈哈哈哈"), "哈");
    //  Digits are never collapsed: phone numbers repeat digits
    assert_string_equal (s_strict ("13800000000"), "13800000000");
    //  ASCII repeats are kept: they are part of IDs ("加威信xxddd7")
    assert_string_equal (s_strict ("xxddd7"), "xxddd7");
}

static void
test_light_form (void **state)
{
    (void) state;
    assert_string_equal (s_light ("abc 。com"), "abc.com");
    assert_string_equal (s_light ("a b c.com"), "abc.com");
    assert_string_equal (s_light ("ａｂｃ．ｃｏｍ"), "abc.com");
    assert_string_equal (s_light ("www点abc点com"), "www点abc点com");
    //  The strict form drops the dots
    assert_string_equal (s_strict ("abc.com"), "abccom");
}

//  Find needle in the strict form and return the original substring.
static char *
s_original_of (const char *text, const char *needle)
{
    judge_normalizer_run (s_normalizer, text, strlen (text), &s_norm);
    const char *at = strstr (s_norm.text, needle);
    assert_non_null (at);
    size_t s = (size_t) (at - s_norm.text), os, oe;
    judge_norm_span (&s_norm, s, s + strlen (needle), &os, &oe);
    return strndup (text + os, oe - os);
}

static void
test_offsets (void **state)
{
    (void) state;
    char *orig = s_original_of ("你好 加 Ｖ：①③⑧①②③④⑤⑥⑦⑧ 谢谢", "13812345678");
    assert_string_equal (orig, "①③⑧①②③④⑤⑥⑦⑧");
    free (orig);
    orig = s_original_of ("看看 ｖ 𝐱 吧", "vx");
    assert_string_equal (orig, "ｖ 𝐱");
    free (orig);
    //  A collapsed run maps back to the whole run
    orig = s_original_of ("好好好的", "好");
    assert_string_equal (orig, "好好好");
    free (orig);
    //  Traditional characters map back to themselves
    orig = s_original_of ("快來買百家樂", "百家乐");
    assert_string_equal (orig, "百家樂");
    free (orig);
    //  Light form offsets
    const char *text = "网址 abc 。com 了";
    judge_normalizer_run (s_normalizer, text, strlen (text), &s_norm);
    const char *at = strstr (s_norm.light, "abc.com");
    assert_non_null (at);
    size_t os, oe;
    judge_norm_light_span (&s_norm, (size_t) (at - s_norm.light),
                           (size_t) (at - s_norm.light) + 7, &os, &oe);
    assert_int_equal (oe - os, strlen ("abc 。com"));
    assert_memory_equal (text + os, "abc 。com", oe - os);
}

static void
test_malformed_utf8 (void **state)
{
    (void) state;
    const char bad [] = { 'a', (char) 0xFF, (char) 0xC3, 'b', (char) 0xE4, (char) 0xB8, 0 };
    assert_string_equal (s_strict (bad), "ab");
    assert_string_equal (s_strict (""), "");
    judge_normalizer_run (s_normalizer, NULL, 0, &s_norm);
    assert_int_equal (s_norm.len, 0);
}

static void
test_long_input_grows_scratch (void **state)
{
    (void) state;
    //  U+FDFA expands to 18 code points: scratch must grow, not overflow
    size_t n = 3000;
    char *text = malloc (n * 3 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy (text + i * 3, "\xef\xb7\xba", 3);
    text [n * 3] = 0;
    judge_normalizer_run (s_normalizer, text, n * 3, &s_norm);
    assert_true (s_norm.len > n * 3);
    free (text);
}

static void
test_without_opencc (void **state)
{
    (void) state;
    char err [256];
    judge_normalizer_t *plain = judge_normalizer_new ("", err, sizeof (err));
    assert_non_null (plain);
    char *s = judge_normalizer_strdup (plain, "發貨");
    assert_string_equal (s, "發貨");
    free (s);
    judge_normalizer_destroy (&plain);
    assert_null (judge_normalizer_new ("/nonexistent/t2s.json", err, sizeof (err)));
    assert_non_null (strstr (err, "/nonexistent/t2s.json"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_fullwidth),
        cmocka_unit_test (test_case_folding),
        cmocka_unit_test (test_traditional),
        cmocka_unit_test (test_zero_width),
        cmocka_unit_test (test_separators_and_emoji),
        cmocka_unit_test (test_circled_numbers),
        cmocka_unit_test (test_chinese_numerals),
        cmocka_unit_test (test_chinese_numerals_stay_text),
        cmocka_unit_test (test_math_letters),
        cmocka_unit_test (test_lookalikes),
        cmocka_unit_test (test_repeats),
        cmocka_unit_test (test_light_form),
        cmocka_unit_test (test_offsets),
        cmocka_unit_test (test_malformed_utf8),
        cmocka_unit_test (test_long_input_grows_scratch),
        cmocka_unit_test (test_without_opencc),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
