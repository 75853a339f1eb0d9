/*  =========================================================================
    test_judge_classifier.c - training, save / load round trip, online
    learning, corrupt model files.
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
#include <unistd.h>

#include "judge.h"
#include "judge_classifier.h"

//  Strict normalized texts (what the judge feeds the classifier)
static const char *s_ads [] = {
    "加微信abc123出元宝", "出售元宝需要的私聊", "低价出元宝加q12345678", "出银子要的滴我",
    "半价出售2700元宝要的滴", "大量出字五毛一个要的滴", "出钻石需要的密我", "甩7000元宝有要的来",
};
static const char *s_normal [] = {
    "今天天气不错", "这个面霜好用吗", "我们一起去吧", "明天几点开门",
    "谢谢大家", "快递到了没有", "这个颜色好看", "晚上吃什么",
};

//  ex [0..15]: the ads, then the ordinary texts
static void
s_examples (judge_example_t *ex)
{
    for (int i = 0; i < 8; i++) {
        ex [i] = (judge_example_t) { 1, s_ads [i], strlen (s_ads [i]), NULL, 0 };
        ex [8 + i] = (judge_example_t) { 0, s_normal [i], strlen (s_normal [i]), NULL, 0 };
    }
}

static judge_classifier_t *
s_train (void)
{
    judge_example_t ex [16];
    s_examples (ex);
    judge_train_opts_t opts = { 16, 20, 0, -1, 7 };
    return judge_classifier_train ("ad", ex, 16, &opts);
}

static double
s_p (const judge_classifier_t *c, const char *text)
{
    return judge_classifier_predict (c, text, strlen (text));
}

//  Evidence: the same text is an ad when a rule hit it in training, and
//  the model learns that from the data; online learning leaves it alone.
static void
test_evidence (void **state)
{
    (void) state;
    const char *text = "有需要的找我";
    judge_example_t ex [40];
    for (int i = 0; i < 20; i++) {
        ex [i] = (judge_example_t) { 1, text, strlen (text), "ad.wechat_id,ad.contact_weak", 0 };
        ex [20 + i] = (judge_example_t) { 0, text, strlen (text), i % 2 ? "ad.contact_weak" : NULL, 0 };
    }
    judge_train_opts_t opts = { 16, 20, 0, -1, 7 };
    judge_classifier_t *c = judge_classifier_train ("ad", ex, 40, &opts);
    judge_features_t f;
    judge_features_init (&f);
    judge_features_extract (text, strlen (text), &f);
    double bare = judge_classifier_predict_features (c, &f);
    judge_features_add_evidence (&f, "ad.contact_weak", (size_t) -1);
    judge_features_add_evidence (&f, "ad.wechat_id", (size_t) -1);
    judge_features_add_evidence (&f, "ad.wechat_id", (size_t) -1);     //  counted once
    assert_int_equal (f.n - f.ngrams, 2);
    double with = judge_classifier_predict_features (c, &f);
    assert_true (with > 0.8);
    assert_true (bare < 0.2);
    //  An overturn moves the n-grams, not what a WeChat ID is worth
    float bias;
    const float *w = judge_classifier_weights (c, &bias);
    size_t at = f.hash [f.n - 1] >> (64 - judge_classifier_bits (c));
    float before = w [at];
    judge_classifier_learn_features (c, &f, 0);
    assert_true (w [at] == before);
    assert_true (judge_classifier_predict_features (c, &f) < with);
    judge_features_release (&f);
    judge_classifier_destroy (&c);
}

static void
test_train_separates (void **state)
{
    (void) state;
    judge_classifier_t *c = s_train ();
    assert_string_equal (judge_classifier_category (c), "ad");
    assert_int_equal (judge_classifier_bits (c), 16);
    for (int i = 0; i < 8; i++) {
        assert_true (s_p (c, s_ads [i]) > 0.5);
        assert_true (s_p (c, s_normal [i]) < 0.5);
    }
    //  Generalizes to an unseen ad with another number
    assert_true (s_p (c, "出元宝加q98765432") > s_p (c, "今天去哪里玩"));
    judge_classifier_destroy (&c);
    assert_null (c);
}

static void
test_save_load_round_trip (void **state)
{
    (void) state;
    char path [] = "/tmp/judge_model_XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    judge_classifier_t *c = s_train ();
    char err [256];
    assert_int_equal (judge_classifier_save (c, path, err, sizeof (err)), 0);
    judge_classifier_t *d = judge_classifier_load (path, err, sizeof (err));
    assert_non_null (d);
    assert_string_equal (judge_classifier_category (d), "ad");
    assert_int_equal (judge_classifier_bits (d), 16);
    const char *probe [] = { "加微信abc123出元宝", "今天天气不错", "随便什么话", "" };
    for (int i = 0; i < 4; i++)
        assert_true (s_p (c, probe [i]) == s_p (d, probe [i]));

    //  Truncated file: rejected by the size / checksum check
    FILE *f = fopen (path, "rb");
    fseek (f, 0, SEEK_END);
    long size = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *buf = malloc ((size_t) size);
    assert_int_equal (fread (buf, 1, (size_t) size, f), (size_t) size);
    fclose (f);
    f = fopen (path, "wb");
    fwrite (buf, 1, (size_t) size - 9, f);
    fclose (f);
    assert_null (judge_classifier_load (path, err, sizeof (err)));
    //  Flipped byte in the payload: checksum mismatch
    buf [size / 2] ^= 0x40;
    f = fopen (path, "wb");
    fwrite (buf, 1, (size_t) size, f);
    fclose (f);
    assert_null (judge_classifier_load (path, err, sizeof (err)));
    assert_non_null (strstr (err, "checksum"));
    //  Not a model at all
    f = fopen (path, "wb");
    fputs ("label\ttext\n", f);
    fclose (f);
    assert_null (judge_classifier_load (path, err, sizeof (err)));
    assert_null (judge_classifier_load ("/nonexistent/x.model", err, sizeof (err)));
    free (buf);
    unlink (path);
    judge_classifier_destroy (&c);
    judge_classifier_destroy (&d);
}

static void
test_online_learning (void **state)
{
    (void) state;
    judge_classifier_t *c = s_train ();
    const char *text = "这个面霜好用吗";        //  normal in training
    double before = s_p (c, text);
    assert_true (before < 0.5);
    //  An operator confirms it as an ad (say, a paid plug): prediction rises
    judge_classifier_learn (c, text, strlen (text), 1);
    double after = s_p (c, text);
    assert_true (after > before + 0.05);
    for (int i = 0; i < 3; i++)
        judge_classifier_learn (c, text, strlen (text), 1);
    assert_true (s_p (c, text) > 0.5);
    //  Overturned: it falls again
    const char *ad = "出售元宝需要的私聊";
    double ad_before = s_p (c, ad);
    judge_classifier_learn (c, ad, strlen (ad), 0);
    assert_true (s_p (c, ad) < ad_before);
    judge_classifier_destroy (&c);
}

static void
test_judge_learn_and_save (void **state)
{
    (void) state;
    char path [] = "/tmp/judge_model_XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    judge_classifier_t *c = s_train ();
    assert_int_equal (judge_classifier_save (c, path, NULL, 0), 0);
    judge_classifier_destroy (&c);

    judge_rule_row_t rule = { "ad.classifier", "classifier", "ad", "ad:0.5", 0.5, 0 };
    judge_options_t opts = { NULL, path, NULL };
    char err [256];
    judge_t *judge = judge_new (&rule, 1, &opts, err, sizeof (err));
    assert_non_null (judge);
    //  Raw text: the judge normalizes before the classifier sees it
    judge_input_t in = { "今天天氣不錯", (size_t) -1, NULL, NULL, 1, 0 };
    judge_result_t r;
    assert_int_equal (judge_eval (judge, &in, &r), 0);
    assert_true (r.p_ad >= 0 && r.p_ad < 0.5);
    assert_true (r.p_abuse < 0);
    assert_int_equal (r.nhits, 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal (judge_learn (judge, "ad", "今天天氣不錯", 1), 0);
    assert_int_equal (judge_eval (judge, &in, &r), 0);
    assert_true (r.p_ad > 0.5);
    assert_int_equal (r.nhits, 1);
    assert_string_equal (r.hits [0].rule, "ad.classifier");
    assert_int_equal (judge_learn (judge, "abuse", "x", 1), -1);
    assert_int_equal (judge_save_model (judge, "ad", path), 0);
    judge_destroy (&judge);
    c = judge_classifier_load (path, err, sizeof (err));
    assert_non_null (c);
    assert_true (s_p (c, "今天天气不错") > 0.5);
    judge_classifier_destroy (&c);
    unlink (path);
}

//  An operator's overturn under the default rules, with the shipped model:
//  the model learns from the rules' hits as well as the text, so one
//  decision takes the message below the classifier's threshold (taught
//  without the rules' hits, it barely moves), and it moves that text's
//  own n-grams, not what every WeChat ID shares.
static void
test_overturn_under_default_rules (void **state)
{
    (void) state;
    size_t n;
    const judge_rule_row_t *rows = judge_default_rules (&n);
    char ad [1024], err [256];
    assert_int_equal (judge_model_default_path ("ad", ad, sizeof (ad)), 0);
    judge_options_t o = { NULL, ad, NULL };
    judge_t *judge = judge_new (rows, n, &o, err, sizeof (err));
    assert_non_null (judge);
    const char *text = "兼职刷单日结，加V：wx88776655 私聊";
    judge_input_t in = { text, (size_t) -1, "text", "member", 1, 0 };
    //  Another ad with a WeChat ID, sharing no words with it
    judge_input_t other = { "找我拿货 微信号 hjk77777", (size_t) -1, "text", "member", 1, 0 };
    judge_result_t r;
    assert_int_equal (judge_eval (judge, &other, &r), 0);
    double other_before = r.p_ad;
    assert_int_equal (judge_eval (judge, &in, &r), 0);
    assert_true (r.p_ad >= 0.35);
    assert_int_equal (judge_learn (judge, "ad", text, 0), 0);
    //  The decision was about that text: the other ad stays an ad
    assert_int_equal (judge_eval (judge, &other, &r), 0);
    assert_true (r.p_ad >= 0.35);
    assert_true (r.p_ad > other_before - 0.1);
    assert_int_equal (judge_eval (judge, &in, &r), 0);
    assert_true (r.p_ad < 0.35);
    for (size_t h = 0; h < r.nhits; h++)
        if (strstr (r.hits [h].rule, "classifier"))
            assert_true (r.hits [h].weight < 0);       //  ad.classifier_clear at most
    //  The rules that are not contact details still hold it (刷单: fraud)
    assert_true (r.score [QY_CAT_FRAUD] >= 1.0);
    judge_destroy (&judge);
}

//  The SVM trainer: the same model file and prediction, calibrated into
//  probabilities; a row's weight is its share of C, so of two rows that
//  contradict each other the heavier one wins.
static void
test_train_svm (void **state)
{
    (void) state;
    judge_example_t ex [18];
    s_examples (ex);
    const char *both = "需要的找我";
    ex [16] = (judge_example_t) { 1, both, strlen (both), NULL, 8.0f };
    ex [17] = (judge_example_t) { 0, both, strlen (both), NULL, 0.5f };
    judge_train_opts_t opts = { 16, 0, 0, -1, 7 };
    judge_classifier_t *c = judge_classifier_train_svm ("ad", ex, 18, &opts, 0.5);
    assert_string_equal (judge_classifier_category (c), "ad");
    for (int i = 0; i < 8; i++) {
        assert_true (s_p (c, s_ads [i]) > 0.5);
        assert_true (s_p (c, s_normal [i]) < 0.5);
    }
    assert_true (s_p (c, both) > 0.5);
    judge_classifier_destroy (&c);
    ex [16].weight = 0.5f;
    ex [17].weight = 8.0f;
    c = judge_classifier_train_svm ("ad", ex, 18, &opts, 0.5);
    assert_true (s_p (c, both) < 0.5);
    assert_true (s_p (c, "出元宝加q98765432") > s_p (c, "今天去哪里玩"));
    judge_classifier_destroy (&c);
}

//  The SVM as NBSVM (train --svm C --nb BETA): features scaled by their
//  log-count ratio, folded into the weights. With a small beta the model
//  is mostly the naive-Bayes ratios themselves: an entry only ads hold
//  weighs for an ad, one only ordinary texts hold against; an entry no
//  example holds weighs nothing (no constant leaks into unseen n-grams).
static void
s_entries (const char *const *texts, int n, int bits, unsigned char *mark, unsigned char bit)
{
    judge_features_t f;
    judge_features_init (&f);
    for (int i = 0; i < n; i++) {
        judge_features_extract (texts [i], strlen (texts [i]), &f);
        for (size_t k = 0; k < f.n; k++)
            mark [f.hash [k] >> (64 - bits)] |= bit;
    }
    judge_features_release (&f);
}

static void
test_train_nbsvm (void **state)
{
    (void) state;
    judge_example_t ex [16];
    s_examples (ex);
    judge_train_opts_t plain_opts = { 16, 0, 0, -1, 7 };
    judge_classifier_t *plain = judge_classifier_train_svm ("ad", ex, 16, &plain_opts, 0.5);
    judge_train_opts_t nb_opts = { 16, 0, 0, -1, 7, 0.01 };
    judge_classifier_t *nb = judge_classifier_train_svm ("ad", ex, 16, &nb_opts, 0.5);
    nb_opts.nb_beta = 1;
    judge_classifier_t *nb1 = judge_classifier_train_svm ("ad", ex, 16, &nb_opts, 0.5);
    judge_classifier_t *models [] = { nb, nb1 };
    for (int m = 0; m < 2; m++) {
        for (int i = 0; i < 8; i++) {
            assert_true (s_p (models [m], s_ads [i]) > 0.5);
            assert_true (s_p (models [m], s_normal [i]) < 0.5);
        }
        assert_true (s_p (models [m], "出元宝加q98765432") > s_p (models [m], "今天去哪里玩"));
    }
    size_t size = (size_t) 1 << 16;
    unsigned char *mark = calloc (size, 1);
    assert_non_null (mark);
    s_entries (s_ads, 8, 16, mark, 1);
    s_entries (s_normal, 8, 16, mark, 2);
    float bias;
    const float *w = judge_classifier_weights (nb, &bias);
    const float *w1 = judge_classifier_weights (nb1, &bias);
    const float *wp = judge_classifier_weights (plain, &bias);
    size_t ads_only = 0, normal_only = 0, differ = 0, differ1 = 0;
    for (size_t j = 0; j < size; j++) {
        if (mark [j] == 0)
            assert_true (w [j] == 0 && w1 [j] == 0);
        if (mark [j] == 1) {
            assert_true (w [j] > 0);
            ads_only++;
        }
        if (mark [j] == 2) {
            assert_true (w [j] < 0);
            normal_only++;
        }
        differ += w1 [j] != wp [j];
        differ1 += w1 [j] != w [j];
    }
    assert_true (ads_only > 50 && normal_only > 50);
    //  The scaling and the interpolation both change the model
    assert_true (differ > 50 && differ1 > 50);
    free (mark);
    judge_classifier_destroy (&nb1);
    judge_classifier_destroy (&nb);
    judge_classifier_destroy (&plain);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_train_separates),
        cmocka_unit_test (test_train_svm),
        cmocka_unit_test (test_train_nbsvm),
        cmocka_unit_test (test_evidence),
        cmocka_unit_test (test_save_load_round_trip),
        cmocka_unit_test (test_online_learning),
        cmocka_unit_test (test_judge_learn_and_save),
        cmocka_unit_test (test_overturn_under_default_rules),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
