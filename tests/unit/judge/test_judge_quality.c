/*  =========================================================================
    test_judge_quality.c - end-to-end quality on the labelled data through
    the same entry points as `qyctl moderation train|eval`: train on 4/5 of
    a file, evaluate the whole judge on the other 1/5 (never on trained
    rows), with and without the evasion rewriter.

    The floors (and ceilings) asserted here are the numbers measured
    (docs/moderation-judge.md) to their last printed digit: training is
    deterministic, so a change that breaks normalization, a detector or
    the classifier, or makes a figure of issue 20 worse, fails here.
    Timing is printed by eval but never asserted.
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
#include "judge_eval.h"

static char s_data [1024];

//  Data missing: a skip on a developer's machine, a failure in CI, where
//  the shared data must be present (a quality floor that silently stops
//  being measured protects nothing)
#define S_MISSING() do {                                                   \
        const char *ci_ = getenv ("CI");                                   \
        if (ci_ && strcmp (ci_, "true") == 0)                              \
            fail_msg ("shared data missing under CI=true (QY_SHARED_DATA)"); \
        skip ();                                                           \
    } while (0)
static char s_model [64];
static char s_rules [64];

static int
s_file (char *buf, size_t len, const char *rel)
{
    snprintf (buf, len, "%s/%s", s_data, rel);
    return access (buf, R_OK) == 0;
}

static int
s_setup (void **state)
{
    (void) state;
    const char *env = getenv ("QY_SHARED_DATA");
    snprintf (s_data, sizeof (s_data), "%s", env && *env ? env : QY_SHARED_DATA_DIR);
    snprintf (s_model, sizeof (s_model), "/tmp/judge_quality_XXXXXX");
    int fd = mkstemp (s_model);
    if (fd < 0)
        return -1;
    close (fd);
    //  A policy of the classifier alone, to measure it separately
    snprintf (s_rules, sizeof (s_rules), "/tmp/judge_rules_XXXXXX");
    fd = mkstemp (s_rules);
    if (fd < 0)
        return -1;
    const char *tsv = "name\tkind\tcategory\tweight\tpattern\n"
                      "ad.classifier\tclassifier\tad\t0.5\tad:0.5\n";
    if (write (fd, tsv, strlen (tsv)) != (ssize_t) strlen (tsv))
        return -1;
    close (fd);
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    unlink (s_model);
    unlink (s_rules);
    return 0;
}

//  svm: NULL for the log-loss trainer, else the C of `--svm C`
static void
s_train_with (const char *category, const char *bits, const char *svm, char **files, int nfiles)
{
    char *argv [16] = { "train", "--category", (char *) category, "--model", s_model,
                        "--bits", (char *) bits, "--split", "0/5" };
    int argc = 9;
    if (svm) {
        argv [argc++] = "--svm";
        argv [argc++] = (char *) svm;
    }
    for (int i = 0; i < nfiles; i++)
        argv [argc++] = files [i];
    assert_int_equal (judge_cli_train (argc, argv), 0);
}

static void
s_train (const char *category, const char *bits, char **files, int nfiles)
{
    s_train_with (category, bits, NULL, files, nfiles);
}

static judge_metrics_t
s_eval (const char *category, const char *file, const char *rules, const char *evade)
{
    char *argv [16] = { "eval", "--category", (char *) category, "--model", s_model,
                        "--split", "0/5" };
    int argc = 7;
    if (rules) {
        argv [argc++] = "--rules";
        argv [argc++] = (char *) rules;
    }
    if (evade) {
        argv [argc++] = "--evade";
        argv [argc++] = (char *) evade;
    }
    argv [argc++] = (char *) file;
    judge_metrics_t m;
    assert_int_equal (judge_cli_eval_metrics (argc, argv, &m), 0);
    printf ("%-28s %-10s %-6s precision=%.4f recall=%.4f f1=%.4f fpr=%.4f\n",
            strrchr (file, '/') + 1, rules ? "classifier" : "judge", evade ? "evade" : "plain",
            m.precision, m.recall, m.f1, m.fpr);
    return m;
}

static void
test_game_chat_and_evasion (void **state)
{
    (void) state;
    char game [1100];
    if (!s_file (game, sizeof (game), "ads/game_chat_ads.dev.tsv")) {
        printf ("skipped: %s not found (set QY_SHARED_DATA)\n", game);
        S_MISSING ();
    }
    char *files [] = { game };
    s_train ("ad", "20", files, 1);
    judge_metrics_t plain = s_eval ("ad", game, NULL, NULL);
    judge_metrics_t evaded = s_eval ("ad", game, NULL, "7");
    judge_metrics_t clf = s_eval ("ad", game, s_rules, NULL);
    judge_metrics_t clf_evaded = s_eval ("ad", game, s_rules, "7");
    assert_int_equal (plain.rows, 13291);
    //  Disguised ads cost at most 2 points of recall and F1
    assert_true (evaded.recall >= plain.recall - 0.02);
    assert_true (evaded.f1 >= plain.f1 - 0.02);
    assert_true (clf_evaded.recall >= clf.recall - 0.02);
    assert_true (clf_evaded.f1 >= clf.f1 - 0.02);
    //  Floors at what is measured (classifier alone 0.9235, whole judge
    //  0.9177: the model trained on this set cancels the contact details
    //  it labels as normal; 0.827 before the judge learned that).
    //  Training is deterministic: a drop here is a change, not noise.
    assert_true (clf.f1 >= 0.923);
    assert_true (plain.f1 >= 0.917);
    assert_true (plain.recall >= 0.946);
    //  The SVM trainer (--svm 1): measured 0.9246 against 0.9177 (the
    //  linear SVM of scikit-learn on the raw text: 0.9299, judge_vs_svm)
    s_train_with ("ad", "20", "1", files, 1);
    judge_metrics_t svm = s_eval ("ad", game, NULL, NULL);
    assert_true (svm.f1 >= 0.924);
    assert_true (svm.f1 > plain.f1);
}

static void
test_qq_group (void **state)
{
    (void) state;
    char qq [1100];
    if (!s_file (qq, sizeof (qq), "ads/qq_group_ads.dev.tsv")) {
        printf ("skipped: %s not found\n", qq);
        S_MISSING ();
    }
    char *files [] = { qq };
    s_train ("ad", "18", files, 1);
    judge_metrics_t plain = s_eval ("ad", qq, NULL, NULL);
    judge_metrics_t evaded = s_eval ("ad", qq, NULL, "7");
    //  Measured 0.8889 (target 0.85; scikit-learn reference: 0.644)
    assert_true (plain.f1 >= 0.888);
    assert_true (plain.fpr <= 0.02);
    assert_true (evaded.f1 >= plain.f1 - 0.03);
}

static void
test_sms_spam_recall (void **state)
{
    (void) state;
    char game [1100], qq [1100], sms [1100];
    if (!s_file (game, sizeof (game), "ads/game_chat_ads.dev.tsv")
    ||  !s_file (qq, sizeof (qq), "ads/qq_group_ads.dev.tsv")
    ||  !s_file (sms, sizeof (sms), "ads/sms_spam.dev.tsv")) {
        printf ("skipped: ads data not found\n");
        S_MISSING ();
    }
    //  All SMS rows are spam: negatives come from the chat sets. Digits are
    //  masked as 'x' there, so this also checks that detection does not
    //  hinge on digits.
    //  Each file weighs the same in training, whatever its size.
    char *files [] = { game, qq, sms };
    s_train ("ad", "20", files, 3);
    judge_metrics_t m = s_eval ("ad", sms, NULL, NULL);
    assert_int_equal (m.rows, 1600);
    //  Measured 0.993 (target 0.99; 0.989 with every row weighing 1)
    assert_true (m.recall >= 0.993);
    //  The same model on QQ group chat: the game chat set teaches it that
    //  contact details are ordinary talk. Measured 0.80 (0.72 unbalanced)
    judge_metrics_t q = s_eval ("ad", qq, NULL, NULL);
    assert_true (q.f1 >= 0.799);
}

static void
test_cold_abuse (void **state)
{
    (void) state;
    char cold [1100];
    if (!s_file (cold, sizeof (cold), "abuse/cold.dev.tsv")) {
        printf ("skipped: %s not found\n", cold);
        S_MISSING ();
    }
    char *files [] = { cold };
    s_train ("abuse", "18", files, 1);
    judge_metrics_t m = s_eval ("abuse", cold, NULL, NULL);
    //  Measured 0.8628 (COLD alone, split 0/5, log loss)
    assert_true (m.f1 >= 0.862);
    //  The shipped recipe (QQ chat and the hand-written customer lines as
    //  negatives), trained as the shipped abuse.model is (--svm 0.5):
    //  measured 0.8719 (0.8604 with the log loss)
    char qq [1100], chat [1100];
    snprintf (chat, sizeof (chat), "%s/tests/data/customer_chat.tsv", QY_SOURCE_DIR);
    if (!s_file (qq, sizeof (qq), "ads/qq_group_ads.dev.tsv"))
        S_MISSING ();
    char *argv [] = { "train", "--category", "abuse", "--model", s_model, "--split", "0/5", "--svm", "0.5",
                      "--negatives", qq, "--negatives", chat, cold };
    assert_int_equal (judge_cli_train (14, argv), 0);
    judge_metrics_t shipped = s_eval ("abuse", cold, NULL, NULL);
    assert_true (shipped.f1 >= 0.871);
    //  The same as NBSVM (--svm 1 --nb 1): measured 0.8737, better on
    //  COLD but not shipped (more angry customer reviews flagged: §9)
    char *nb [] = { "train", "--category", "abuse", "--model", s_model, "--split", "0/5", "--svm", "1",
                    "--nb", "1", "--negatives", qq, "--negatives", chat, cold };
    assert_int_equal (judge_cli_train (16, nb), 0);
    judge_metrics_t nbsvm = s_eval ("abuse", cold, NULL, NULL);
    assert_true (nbsvm.f1 >= 0.873);
    assert_true (nbsvm.precision > shipped.precision);
}

//  --negative-weight W scales what a --negatives file weighs: the models
//  trained at W = 1 and W = 0.05 differ, and a W outside (0, 1] is refused.
static char *
s_slurp (const char *path, long *len)
{
    FILE *f = fopen (path, "rb");
    assert_non_null (f);
    fseek (f, 0, SEEK_END);
    *len = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *buf = malloc ((size_t) *len + 1);
    assert_int_equal (fread (buf, 1, (size_t) *len, f), (size_t) *len);
    fclose (f);
    return buf;
}

static void
test_negative_weight (void **state)
{
    (void) state;
    char qq [1100], cold [1100];
    if (!s_file (qq, sizeof (qq), "ads/qq_group_ads.dev.tsv") || !s_file (cold, sizeof (cold), "abuse/cold.dev.tsv")) {
        printf ("skipped: data not found\n");
        S_MISSING ();
    }
    char *full [] = { "train", "--category", "ad", "--model", s_model, "--negatives", cold, "--negative-weight", "1", qq };
    assert_int_equal (judge_cli_train (10, full), 0);
    long n1, n2;
    char *m1 = s_slurp (s_model, &n1);
    full [8] = "0.05";
    assert_int_equal (judge_cli_train (10, full), 0);
    char *m2 = s_slurp (s_model, &n2);
    assert_true (n1 != n2 || memcmp (m1, m2, (size_t) n1) != 0);
    free (m1);
    free (m2);
    full [8] = "0";
    assert_int_not_equal (judge_cli_train (10, full), 0);
    full [8] = "2";
    assert_int_not_equal (judge_cli_train (10, full), 0);
}

//  Issue 20 §9 and §4: the customer reviews (no licence: evaluation only)
//  with the shipped models and default rules. None is an ad or abuse of
//  a person; half are complaints.
//  split: "K/N", or NULL for all rows
static judge_metrics_t
s_eval_shipped (const char *category, const char *model, const char *file, const char *split)
{
    char *argv [16] = { "eval", "--category", (char *) category };
    int argc = 3;
    if (split) {
        argv [argc++] = "--split";
        argv [argc++] = (char *) split;
    }
    if (model) {
        argv [argc++] = "--model";
        argv [argc++] = (char *) model;
    }
    argv [argc++] = (char *) file;
    judge_metrics_t m;
    assert_int_equal (judge_cli_eval_metrics (argc, argv, &m), 0);
    printf ("%-26s %-10s %s flagged=%.4f flagged_label1=%.4f flagged_label0=%.4f "
            "precision=%.4f recall=%.4f f1=%.4f\n", strrchr (file, '/') + 1, category, model ? "trained" : "shipped",
            (double) (m.tp + m.fp) / (double) m.rows, m.recall, m.fpr, m.precision, m.recall, m.f1);
    return m;
}

static void
test_customer_reviews (void **state)
{
    (void) state;
    char reviews [1100];
    if (!s_file (reviews, sizeof (reviews), "customer/customer_reviews.dev.tsv")) {
        printf ("skipped: %s not found\n", reviews);
        S_MISSING ();
    }
    //  Measured: ad 0.74 % of all rows (0.94 % before), abuse 0.91 %
    //  (4.90 % before issue 20, 0.98 % with the log-loss abuse.model), of
    //  negative reviews 1.44 % (9.11 %, 1.61 %)
    judge_metrics_t ad = s_eval_shipped ("ad", NULL, reviews, "0/5");
    assert_int_equal (ad.rows, 11949);
    assert_true ((double) (ad.tp + ad.fp) / (double) ad.rows <= 0.0075);
    judge_metrics_t abuse = s_eval_shipped ("abuse", NULL, reviews, "0/5");
    assert_true ((double) (abuse.tp + abuse.fp) / (double) abuse.rows <= 0.0092);
    assert_true (abuse.recall <= 0.0145);
    //  Happy customers flagged: 0.35 % (0.30 % with the log-loss model,
    //  whose share of all rows is 0.98 %); complaining minus happy 1.09
    //  points (target under 0.5)
    assert_true (abuse.fpr <= 0.0036);
    assert_true (abuse.recall - abuse.fpr <= 0.0110);
    //  The shipped complaint default (dictionaries, no model): precise,
    //  with a low recall (measured 0.920 / 0.389, F1 0.547)
    judge_metrics_t shipped = s_eval_shipped ("complaint", NULL, reviews, "0/5");
    assert_true (shipped.precision >= 0.919);
    assert_true (shipped.recall >= 0.388);
    //  A brand's own model trained on 4/5 (measured F1 0.930)
    char *files [] = { reviews };
    s_train ("complaint", "20", files, 1);
    judge_metrics_t trained = s_eval_shipped ("complaint", s_model, reviews, "0/5");
    assert_true (trained.f1 >= 0.930);
}

//  Issue 20 §10: the 5,040 ordinary customer lines the load generator
//  builds (tools/judge/loadgen_lines.py reads them out of
//  tools/loadgen/sim.c) judged by the shipped models and default rules:
//  the share sent to review. And what the shipped ad model recalls of
//  the ads sets it was not trained on (all rows), so that a model that
//  quiets the customers by missing ads fails here.
static void
test_customer_chat_lines (void **state)
{
    (void) state;
    char lines [] = "/tmp/loadgen_lines_XXXXXX";
    int fd = mkstemp (lines);
    assert_true (fd >= 0);
    close (fd);
    char cmd [2048];
    snprintf (cmd, sizeof (cmd), "/usr/bin/python3 %s/tools/judge/loadgen_lines.py > %s",
              QY_SOURCE_DIR, lines);
    int rc = system (cmd);
    if (rc != 0) {
        unlink (lines);
        printf ("skipped: %s failed (python3 missing?)\n", cmd);
        S_MISSING ();
    }
    judge_metrics_t ad = s_eval_shipped ("ad", NULL, lines, NULL);
    judge_metrics_t abuse = s_eval_shipped ("abuse", NULL, lines, NULL);
    unlink (lines);
    assert_int_equal (ad.rows, 5040);
    //  Measured 2.22 % (112 lines, all through the ad model alone); abuse 0
    assert_true (ad.fp <= 112);
    assert_int_equal (abuse.fp, 0);
    char game [1100], sms [1100];
    if (!s_file (game, sizeof (game), "ads/game_chat_ads.dev.tsv")
    ||  !s_file (sms, sizeof (sms), "ads/sms_spam.dev.tsv")) {
        printf ("skipped: ads data not found\n");
        S_MISSING ();
    }
    //  Measured 0.6311 and 0.5168 (the shipped model learned QQ chat only)
    judge_metrics_t g = s_eval_shipped ("ad", NULL, game, NULL);
    judge_metrics_t m = s_eval_shipped ("ad", NULL, sms, NULL);
    assert_true (g.recall >= 0.631);
    assert_true (m.recall >= 0.516);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_game_chat_and_evasion),
        cmocka_unit_test (test_customer_reviews),
        cmocka_unit_test (test_customer_chat_lines),
        cmocka_unit_test (test_qq_group),
        cmocka_unit_test (test_sms_spam_recall),
        cmocka_unit_test (test_cold_abuse),
        cmocka_unit_test (test_negative_weight),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
