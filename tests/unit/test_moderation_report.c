//  moderation_report: what a member's report (举报) is, its reason, its
//  weight, and what of a report's own text still counts. Pure.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "moderation.h"

static bool s_detect (Qy__Kind kind, const char *norm, const char *ref, size_t nmentions, moderation_report_t *r)
{
    Qy__Event ev = QY__EVENT__INIT;
    char *mentions [] = { "staff1", "u3" };
    ev.kind = kind;
    ev.ref_msg_id = (char *) ref;
    ev.n_mentions = nmentions;
    ev.mentions = mentions;
    return moderation_report_detect (&ev, norm, strlen (norm), r);
}

static void test_detect (void **state)
{
    (void) state;
    moderation_report_t r;
    //  A reply saying 举报 names the message.
    assert_true (s_detect (QY__KIND__TEXT, "举报她在群里私加群友", "m1", 0, &r));
    assert_true (r.is_report);
    assert_false (r.from_event);
    assert_string_equal (r.reported_msg, "m1");
    assert_string_equal (r.reason, "poaching");
    //  An @ with 举报: a candidate (the @ must be the brand's account, checked against the group's staff).
    assert_true (s_detect (QY__KIND__TEXT, "staff1举报u3骂人", "", 2, &r));
    assert_null (r.reported_msg);
    assert_string_equal (r.reason, "abuse");
    //  The gateway's event is a report whatever its text.
    assert_true (s_detect (QY__KIND__REPORT, "", "m2", 0, &r));
    assert_true (r.from_event);
    assert_string_equal (r.reason, "other");
    //  Not reports: 举报 naming nothing, a reply without 举报, an image.
    assert_false (s_detect (QY__KIND__TEXT, "举报", "", 0, &r));
    assert_false (r.is_report);
    assert_false (s_detect (QY__KIND__TEXT, "说得对", "m4", 0, &r));
    assert_false (s_detect (QY__KIND__IMAGE, "举报", "m4", 0, &r));
}

static void test_reason (void **state)
{
    (void) state;
    const struct { const char *text, *reason; } cases [] = {
        { "举报他私加群友", "poaching" }, { "举报加微信的", "poaching" }, { "举报这人是骗子", "fraud" },
        { "举报发广告", "ad" }, { "举报他骂人", "abuse" }, { "举报色情图片", "porn" }, { "举报", "other" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++)
        assert_string_equal (moderation_report_reason (cases [i].text, strlen (cases [i].text)), cases [i].reason);
}

static void test_weight (void **state)
{
    (void) state;
    //  Trust 0–4 weighs 1–5 (clamped); staff a fifth; each false report halves it; never zero.
    assert_true (moderation_report_weight (0, false, 0) == 1.0);
    assert_true (moderation_report_weight (3, false, 0) == 4.0);
    assert_true (moderation_report_weight (9, false, 0) == 5.0);
    assert_true (moderation_report_weight (-1, false, 0) == 1.0);
    assert_true (moderation_report_weight (4, true, 0) == 1.0);
    assert_true (moderation_report_weight (3, false, 2) == 1.0);
    assert_true (moderation_report_weight (0, true, 1000) > 0);
}

static void test_strip (void **state)
{
    (void) state;
    //  A report's words about poaching do not count; a WeChat id in it does.
    const char *text = "举报 私加群友 加我wxid88776655";
    const char *phrase = strstr (text, "私加"), *id = strstr (text, "wxid");
    judge_result_t r;
    memset (&r, 0, sizeof (r));
    r.hits [0] = (judge_hit_t) { .rule = "ad.contact_weak", .category = QY_CAT_AD, .weight = 0.1, .contact = 1,
                                 .start = (size_t) (phrase - text), .end = (size_t) (phrase - text) + 6 };
    r.hits [1] = (judge_hit_t) { .rule = "ad.classifier", .category = QY_CAT_AD, .weight = 0.6 };
    r.hits [2] = (judge_hit_t) { .rule = "ad.wechat_id", .category = QY_CAT_AD, .weight = 1.0, .contact = 1,
                                 .start = (size_t) (id - text), .end = strlen (text) };
    r.nhits = 3;
    moderation_report_strip (&r, text);
    assert_int_equal (r.nhits, 1);
    assert_string_equal (r.hits [0].rule, "ad.wechat_id");
    assert_true (r.total == 1.0);
}

int main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_detect),
        cmocka_unit_test (test_reason),
        cmocka_unit_test (test_weight),
        cmocka_unit_test (test_strip),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
