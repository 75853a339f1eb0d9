//  A brand's judge is built in one place (moderation_judge_build) for the
//  service and qyctl: its learned models before the shipped ones, and the
//  fallbacks that keep a brand moderated when a model or its rules do not
//  load (and that a proposed rule set, strict, does not take).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "moderation_judge.h"
#include "qy/util.h"

static char s_ad [1024], s_abuse [1024], s_bad [64];

static const judge_rule_row_t s_rows [] = {
    { "ad.classifier", "classifier", "ad", "ad:0.5", 0.5, 0 },
    { "ad.keyword", "keyword", "ad", "一手货源", 1.0, 0 },
};
static const judge_rule_row_t s_broken [] = {
    { "ad.broken", "no_such_kind", "ad", "x", 1.0, 0 },
};

static int s_setup (void **state)
{
    (void) state;
    //  A learned model that does not load: not a model file at all.
    qy_snprintf (s_bad, sizeof (s_bad), "/tmp/qy-test-model-XXXXXX");
    int fd = mkstemp (s_bad);
    if (fd < 0 || write (fd, "not a model", 11) != 11)
        return -1;
    close (fd);
    return moderation_judge_model_path (NULL, "ad", s_ad, sizeof (s_ad))
        && moderation_judge_model_path (NULL, "abuse", s_abuse, sizeof (s_abuse)) ? 0 : -1;
}

static int s_teardown (void **state)
{
    (void) state;
    unlink (s_bad);
    return 0;
}

static judge_result_t s_eval (judge_t *j, const char *text)
{
    judge_result_t r;
    judge_input_t in = { text, (size_t) -1, "text", "member", 1, 0 };
    assert_int_equal (judge_eval (j, &in, &r), 0);
    return r;
}

//  Build with the spec; the result must be a judge.
static moderation_judge_built_t s_build (const moderation_judge_spec_t *spec, const judge_rule_row_t *rows, size_t n)
{
    moderation_judge_built_t b;
    char err [256] = "";
    assert_int_equal (moderation_judge_build ("1", rows, n, spec, &b, err, sizeof (err)), 0);
    assert_non_null (b.judge);
    return b;
}

static void test_shipped_models (void **state)
{
    (void) state;
    moderation_judge_spec_t spec = { .shipped = { s_ad, s_abuse } };
    moderation_judge_built_t b = s_build (&spec, s_rows, 2);
    assert_false (b.degraded || b.default_rules || b.own_used [0] || b.own_used [1]);
    judge_result_t r = s_eval (b.judge, "一手货源");
    assert_true (r.p_ad >= 0);
    assert_true (r.score [QY_CAT_AD] >= 1.0);
    judge_destroy (&b.judge);
}

static void test_learned_model_rejected (void **state)
{
    (void) state;
    moderation_judge_spec_t spec = { .shipped = { s_ad, s_abuse }, .own = { s_bad, NULL } };
    moderation_judge_built_t b = s_build (&spec, s_rows, 2);
    //  The shipped model instead, and the version of the brand's not claimed.
    assert_false (b.own_used [0]);
    assert_false (b.default_rules);
    assert_true (s_eval (b.judge, "你好").p_ad >= 0);
    judge_destroy (&b.judge);
}

static void test_broken_rules (void **state)
{
    (void) state;
    moderation_judge_spec_t spec = { .shipped = { s_ad, s_abuse } };
    //  The service: the built-in rules, loudly, never no judge.
    moderation_judge_built_t b = s_build (&spec, s_broken, 1);
    assert_true (b.default_rules && b.degraded);
    judge_result_t r = s_eval (b.judge, "加我微信 abc12345 有优惠");
    assert_true (r.total > 0);
    assert_true (r.p_ad >= 0);     //  with the models still

    judge_destroy (&b.judge);
    //  Rows NULL (the brand's set is unusable): the same.
    b = s_build (&spec, NULL, 0);
    assert_true (b.default_rules);
    judge_destroy (&b.judge);
    //  A proposed rule set (backtest): an error, with the reason.
    spec.strict = true;
    char err [256] = "";
    assert_int_equal (moderation_judge_build ("1", s_broken, 1, &spec, &b, err, sizeof (err)), -1);
    assert_null (b.judge);
    assert_non_null (strstr (err, "no_such_kind"));
}

static void test_complaint_model (void **state)
{
    (void) state;
    moderation_judge_spec_t spec = { .shipped = { s_ad, s_abuse }, .complaint = s_bad };
    //  A complaint model that does not load leaves the dictionaries.
    moderation_judge_built_t b = s_build (&spec, s_rows, 2);
    assert_true (s_eval (b.judge, "你好").p_complaint < 0);
    judge_destroy (&b.judge);
    //  (One that loads is used: integration_moderation_complaint.)
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_shipped_models),
        cmocka_unit_test (test_learned_model_rejected),
        cmocka_unit_test (test_broken_rules),
        cmocka_unit_test (test_complaint_model),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
