/*  =========================================================================
    judge_eval_cli.c - `qyctl moderation train|eval` (and `qy-judge`).

      train --category ad|abuse|complaint [--model PATH] [--rules TSV]
            [--split K/N | --holdout-every N] [--bits B] [--epochs E] [--svm C [--nb BETA]]
            [--negatives FILE]... [--negative-weight W] [--unbalanced] FILE...
      eval  --category ad|abuse|complaint [--model PATH] [--rules TSV]
            [--split K/N | --holdout-every N] [--evade SEED] [--errors N]
            [--dump TSV] FILE...

    Files are `label<TAB>text` with a header line, 1 = positive, or the
    customer reviews' `negative<TAB>source<TAB>category<TAB>text` (header
    `negative…`; a negative review is label 1). With
    --split K/N, row i of each file (0-based, header excluded) belongs to
    the evaluation part when i % N == K; train skips exactly those rows and
    eval reads only them, so a model is never evaluated on what it learned.
    --holdout-every N is --split 0/N.

    eval runs the whole judge (normalization, the rule set, both
    classifiers) and counts a message as positive when the score of the
    category's side reaches the default brand's review threshold: for "ad"
    the side is ad + fraud + gambling + porn, for "abuse" it is abuse.
    --dump writes one line per evaluated row: label, flagged, side score,
    p_ad, p_abuse, the rules hit (comma-separated) and the text. The
    last line printed is always
      precision=P recall=R f1=F fpr=X msgs_per_s=N
    =========================================================================
*/
#include <errno.h>
#include <time.h>

#include "judge.h"
#include "judge_classifier.h"
#include "judge_eval.h"
#include "judge_evasion.h"
#include "judge_normalize.h"
#include "judge_util.h"

typedef struct {
    const char *category;
    const char *model;
    const char *rules;
    int         split_k;
    int         split_n;        //  0: no split
    uint64_t    evade_seed;     //  0: no rewriting
    int         errors;         //  print up to this many misjudged rows
    const char *dump;           //  eval: one line per row to this file
    int         unbalanced;     //  train: every row weighs 1, whatever its file
    int         bits;
    int         epochs;
    double      svm_c;          //  train: > 0, a linear SVM of this C (else log loss)
    double      nb_beta;        //  train: > 0, the SVM as NBSVM with this interpolation
    char      **files;
    int         nfiles;
    char      **negatives;      //  train: files whose every row is a negative
    int         nnegatives;
    double      negative_weight;    //  train: a negatives file weighs this much of a labelled file (1)
} s_args_t;

typedef struct {
    int    label;
    int    file;            //  index of the file it came from
    char  *text;
    size_t len;
} s_row_t;

typedef struct {
    s_row_t *rows;
    size_t   n, cap;
} s_rows_t;

static int
s_usage (const char *cmd)
{
    if (strcmp (cmd, "train") == 0)
        fprintf (stderr, "usage: train --category ad|abuse|complaint [--model PATH] [--rules TSV] "
                 "[--split K/N | --holdout-every N] [--bits B] [--epochs E] [--svm C [--nb BETA]] "
                 "[--negatives FILE]... [--negative-weight W] [--unbalanced] FILE...\n");
    else
        fprintf (stderr, "usage: eval --category ad|abuse|complaint [--model PATH] [--rules TSV] "
                 "[--split K/N | --holdout-every N] [--evade SEED] [--errors N] [--dump TSV] FILE...\n");
    return 2;
}

//  A number > 0 (and <= 1 when capped) into *out: 0, or -1 with a message
static int
s_parse_share (const char *opt, const char *val, int capped, double *out)
{
    *out = atof (val);
    if (*out > 0 && (!capped || *out <= 1))
        return 0;
    fprintf (stderr, "%s wants a number %s\n", opt, capped ? "in (0, 1]" : "> 0");
    return -1;
}

static int
s_parse_args (int argc, char **argv, s_args_t *a)
{
    memset (a, 0, sizeof (*a));
    a->files = (char **) judge_calloc ((size_t) argc + 1, sizeof (char *));
    a->negatives = (char **) judge_calloc ((size_t) argc + 1, sizeof (char *));
    a->negative_weight = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv [i];
        const char *val = i + 1 < argc ? argv [i + 1] : NULL;
        if (strcmp (opt, "--category") == 0 && val)
            a->category = argv [++i];
        else
        if (strcmp (opt, "--model") == 0 && val)
            a->model = argv [++i];
        else
        if (strcmp (opt, "--rules") == 0 && val)
            a->rules = argv [++i];
        else
        if (strcmp (opt, "--split") == 0 && val) {
            if (sscanf (val, "%d/%d", &a->split_k, &a->split_n) != 2
            ||  a->split_n < 2 || a->split_k < 0 || a->split_k >= a->split_n) {
                fprintf (stderr, "--split wants K/N with 0 <= K < N, N >= 2\n");
                return -1;
            }
            i++;
        }
        else
        if (strcmp (opt, "--holdout-every") == 0 && val) {
            a->split_k = 0;
            a->split_n = atoi (argv [++i]);
            if (a->split_n < 2) {
                fprintf (stderr, "--holdout-every wants N >= 2\n");
                return -1;
            }
        }
        else
        if (strcmp (opt, "--evade") == 0 && val)
            a->evade_seed = strtoull (argv [++i], NULL, 10) | 1ull << 63;
        else
        if (strcmp (opt, "--errors") == 0 && val)
            a->errors = atoi (argv [++i]);
        else
        if (strcmp (opt, "--unbalanced") == 0)
            a->unbalanced = 1;
        else
        if (strcmp (opt, "--dump") == 0 && val)
            a->dump = argv [++i];
        else
        if (strcmp (opt, "--bits") == 0 && val)
            a->bits = atoi (argv [++i]);
        else
        if (strcmp (opt, "--epochs") == 0 && val)
            a->epochs = atoi (argv [++i]);
        else
        if (strcmp (opt, "--svm") == 0 && val) {
            if (s_parse_share (opt, argv [++i], 0, &a->svm_c))
                return -1;
        }
        else
        if (strcmp (opt, "--nb") == 0 && val) {
            if (s_parse_share (opt, argv [++i], 1, &a->nb_beta))
                return -1;
        }
        else
        if (strcmp (opt, "--negatives") == 0 && val)
            a->negatives [a->nnegatives++] = argv [++i];
        else
        if (strcmp (opt, "--negative-weight") == 0 && val) {
            if (s_parse_share (opt, argv [++i], 1, &a->negative_weight))
                return -1;
        }
        else
        if (opt [0] == '-' && opt [1] == '-') {
            fprintf (stderr, "unknown or incomplete option %s\n", opt);
            return -1;
        }
        else
            a->files [a->nfiles++] = argv [i];
    }
    if (!a->category || (strcmp (a->category, "ad") && strcmp (a->category, "abuse")
                         && strcmp (a->category, "complaint"))) {
        fprintf (stderr, "--category must be ad, abuse or complaint\n");
        return -1;
    }
    if (a->nfiles == 0) {
        fprintf (stderr, "no input files\n");
        return -1;
    }
    if (a->nb_beta > 0 && !(a->svm_c > 0)) {
        fprintf (stderr, "--nb scales the SVM's features: it needs --svm C\n");
        return -1;
    }
    return 0;
}

//  Read the rows of one file that belong to the wanted part of the split:
//  want_eval 1 keeps i % N == K, 0 keeps the others (all rows if no split).
//  negative 1 reads every row, whatever its label and the split, as a
//  negative (ordinary language from another data set, e.g. QQ chat as
//  non-abuse).
static int
s_read_rows (const char *path, const s_args_t *a, int want_eval, int negative, s_rows_t *rows)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "cannot open %s: %s\n", path, strerror (errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long index = -1;
    int reviews = 0;
    while ((got = getline (&line, &cap, file)) >= 0) {
        size_t len = (size_t) got;
        while (len && (line [len - 1] == '\n' || line [len - 1] == '\r'))
            line [--len] = 0;
        if (index == -1) {
            index = 0;
            //  The customer reviews' header names four columns; their
            //  text is the last one
            reviews = strncmp (line, "negative\t", 9) == 0;
            if (reviews || strncmp (line, "label", 5) == 0)
                continue;       //  header line
        }
        if (len < 2 || (line [0] != '0' && line [0] != '1') || line [1] != '\t')
            continue;           //  not a data row
        size_t skip = 2;
        if (reviews) {
            const char *last = strrchr (line, '\t');
            skip = (size_t) (last - line) + 1;
        }
        long i = index++;
        if (a->split_n && !negative) {
            int in_eval = i % a->split_n == a->split_k;
            if (in_eval != want_eval)
                continue;
        }
        if (rows->n == rows->cap) {
            rows->cap = rows->cap ? rows->cap * 2 : 4096;
            rows->rows = (s_row_t *) judge_realloc (rows->rows, rows->cap * sizeof (s_row_t));
        }
        s_row_t *row = rows->rows + rows->n++;
        row->label = !negative && line [0] == '1';
        row->len = len - skip;
        row->text = judge_strndup (line + skip, row->len);
    }
    free (line);
    fclose (file);
    return 0;
}

static int
s_read_file (const char *path, const s_args_t *a, int want_eval, s_rows_t *rows)
{
    return s_read_rows (path, a, want_eval, 0, rows);
}

static void
s_rows_free (s_rows_t *rows)
{
    for (size_t i = 0; i < rows->n; i++)
        free (rows->rows [i].text);
    free (rows->rows);
    memset (rows, 0, sizeof (*rows));
}

//  The rule set: --rules TSV (loaded into *loaded, the caller frees it),
//  or the default one. NULL (and a message) if the file is bad.
static const judge_rule_row_t *
s_rules (const s_args_t *a, judge_rule_row_t **loaded, size_t *n_p)
{
    if (!a->rules)
        return judge_default_rules (n_p);
    char err [256] = "";
    *loaded = judge_rules_load_tsv (a->rules, n_p, err, sizeof (err));
    if (!*loaded)
        fprintf (stderr, "%s: %s\n", a->rules, err);
    return *loaded;
}

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

//  The training examples, as the classifier sees them at judgement time:
//  the strict normalized text, and the names of the rules that hit it
//  (the rule set of --rules, or the default one), from a judge with no
//  model. Every file weighs the same in total, however many rows it has (a
//  community of 2,000 messages is not drowned by one of 60,000). NULL when
//  the rules do not build.
static judge_example_t *
s_train_examples (const s_args_t *a, const s_rows_t *rows, const size_t *per_source, size_t *positives)
{
    char err [256] = "";
    size_t nrules = 0;
    judge_rule_row_t *loaded = NULL;
    const judge_rule_row_t *rules = s_rules (a, &loaded, &nrules);
    if (!rules)
        return NULL;
    judge_t *judge = judge_new (rules, nrules, NULL, err, sizeof (err));
    judge_rules_free (&loaded, nrules);
    if (!judge) {
        fprintf (stderr, "%s\n", err);
        return NULL;
    }
    int nsources = a->nfiles + a->nnegatives;
    judge_example_t *ex = (judge_example_t *) judge_calloc (rows->n, sizeof (*ex));
    judge_result_t result;
    char evidence [1024];
    for (size_t i = 0; i < rows->n; i++) {
        judge_input_t in = { rows->rows [i].text, rows->rows [i].len, "text", "member", 0, 0 };
        judge_eval (judge, &in, &result);
        size_t at = 0;
        evidence [0] = 0;
        for (size_t h = 0; h < result.nhits; h++)
            if (!result.hits [h].dry_run && result.hits [h].category != QY_CAT_COMPLAINT
            &&  at + strlen (result.hits [h].rule) + 2 < sizeof (evidence))
                at += (size_t) snprintf (evidence + at, sizeof (evidence) - at, "%s%s",
                                         at ? "," : "", result.hits [h].rule);
        ex [i].label = rows->rows [i].label;
        ex [i].text = judge_strndup (result.normalized, result.normalized_len);
        ex [i].len = result.normalized_len;
        ex [i].evidence = at ? judge_strndup (evidence, at) : NULL;
        ex [i].weight = a->unbalanced ? 1.0f
                      : (float) ((double) rows->n / ((double) nsources
                                                      * (double) per_source [rows->rows [i].file]));
        if (rows->rows [i].file >= a->nfiles)
            ex [i].weight *= (float) a->negative_weight;
        *positives += ex [i].label;
    }
    judge_destroy (&judge);
    return ex;
}

int
judge_cli_train (int argc, char **argv)
{
    s_args_t a;
    if (s_parse_args (argc, argv, &a)) {
        free (a.files);
        free (a.negatives);
        return s_usage ("train");
    }
    char model [1024];
    if (!a.model) {
        if (judge_model_default_path (a.category, model, sizeof (model))) {
            free (a.files);
            free (a.negatives);
            return 1;
        }
        a.model = model;
    }
    s_rows_t rows = { NULL, 0, 0 };
    int rc = 1;
    int nsources = a.nfiles + a.nnegatives;
    size_t *per_source = (size_t *) judge_calloc ((size_t) nsources + 1, sizeof (size_t));
    for (int f = 0; f < nsources; f++) {
        size_t before = rows.n;
        if (f < a.nfiles ? s_read_file (a.files [f], &a, 0, &rows)
                         : s_read_rows (a.negatives [f - a.nfiles], &a, 0, 1, &rows))
            goto done;
        for (size_t i = before; i < rows.n; i++)
            rows.rows [i].file = f;
        per_source [f] = rows.n - before;
    }
    char err [256] = "";
    size_t positives = 0;
    judge_example_t *ex = s_train_examples (&a, &rows, per_source, &positives);
    if (!ex)
        goto done;
    //  The weight table grows with the data: 2^18 weights for a few
    //  thousand rows, 2^20 from 20,000 rows on (fewer hash collisions)
    if (!a.bits)
        a.bits = rows.n >= 20000 ? 20 : 18;
    judge_train_opts_t opts = { a.bits, a.epochs, 0, -1, 0, a.nb_beta };
    double t0 = s_now ();
    judge_classifier_t *clf = a.svm_c > 0 ? judge_classifier_train_svm (a.category, ex, rows.n, &opts, a.svm_c)
                                          : judge_classifier_train (a.category, ex, rows.n, &opts);
    double secs = s_now () - t0;
    if (judge_classifier_save (clf, a.model, err, sizeof (err)))
        fprintf (stderr, "%s\n", err);
    else {
        printf ("trained category=%s rows=%zu positives=%zu bits=%d seconds=%.2f model=%s\n",
                a.category, rows.n, positives, judge_classifier_bits (clf), secs, a.model);
        rc = 0;
    }
    judge_classifier_destroy (&clf);
    for (size_t i = 0; i < rows.n; i++) {
        free ((char *) ex [i].text);
        free ((char *) ex [i].evidence);
    }
    free (ex);
done:
    free (per_source);
    s_rows_free (&rows);
    free (a.files);
    free (a.negatives);
    return rc;
}

//  The score of category's side of the judgement
static double
s_side (const judge_result_t *r, const char *category)
{
    if (strcmp (category, "ad") == 0)
        return r->score [QY_CAT_AD] + r->score [QY_CAT_FRAUD] + r->score [QY_CAT_GAMBLING]
             + r->score [QY_CAT_PORN];
    if (strcmp (category, "complaint") == 0)
        return r->score [QY_CAT_COMPLAINT];
    return r->score [QY_CAT_ABUSE];
}

int
judge_cli_eval (int argc, char **argv)
{
    judge_metrics_t m;
    int rc = judge_cli_eval_metrics (argc, argv, &m);
    if (rc == 0) {
        printf ("rows=%zu tp=%zu fp=%zu fn=%zu tn=%zu\n", m.rows, m.tp, m.fp, m.fn, m.tn);
        //  Share flagged of all rows and of each label (of the customer
        //  reviews: complaining and happy customers)
        printf ("flagged=%.4f flagged_label1=%.4f flagged_label0=%.4f\n",
                m.rows ? (double) (m.tp + m.fp) / (double) m.rows : 0, m.recall, m.fpr);
        printf ("precision=%.4f recall=%.4f f1=%.4f fpr=%.4f msgs_per_s=%.0f\n",
                m.precision, m.recall, m.f1, m.fpr, m.msgs_per_s);
    }
    return rc;
}

//  The judge eval runs: the rules, --model for the evaluated category and
//  the default model of each other one that exists (the whole judge runs).
static judge_t *
s_eval_judge (const s_args_t *a, const judge_rule_row_t *rules, size_t nrows)
{
    char err [256] = "";
    char paths [3][1024];
    const char *cats [3] = { "ad", "abuse", "complaint" };
    const char *model_path [3] = { NULL, NULL, NULL };
    for (int m = 0; m < 3; m++) {
        if (strcmp (cats [m], a->category) == 0 && a->model)
            model_path [m] = a->model;
        else
        if (judge_model_default_path (cats [m], paths [m], sizeof (paths [m])) == 0) {
            FILE *probe = fopen (paths [m], "rb");
            if (probe) {
                fclose (probe);
                model_path [m] = paths [m];
            }
            else
            if (strcmp (cats [m], a->category) == 0 && m < 2)
                fprintf (stderr, "warning: no %s model at %s, rules only\n", cats [m], paths [m]);
        }
    }
    judge_options_t opts = { NULL, model_path [0], model_path [1] };
    judge_t *judge = judge_new (rules, nrows, &opts, err, sizeof (err));
    if (!judge || (model_path [2] && judge_load_model (judge, "complaint", model_path [2],
                                                       err, sizeof (err)))) {
        fprintf (stderr, "%s\n", err);
        judge_destroy (&judge);
    }
    return judge;
}

//  One row judged and counted; shown on stderr when it is an error still
//  to show, and written to the dump when there is one.
static void
s_eval_row (judge_t *judge, judge_evader_t *evader, const s_args_t *a, const s_row_t *row, FILE *dump,
            size_t counts [4], int *shown, double *busy)
{
    const char *text = row->text;
    size_t len = row->len;
    //  Only ads are disguised: that is what spammers do
    if (evader && row->label)
        text = judge_evader_rewrite (evader, text, len, &len);
    judge_input_t in = { text, len, "text", "member", 1, 0 };
    judge_result_t result;
    double t0 = s_now ();
    judge_eval (judge, &in, &result);
    *busy += s_now () - t0;
    double side = s_side (&result, a->category);
    int flagged = side >= judge_thresholds_default ().review - 1e-9;
    counts [flagged * 2 + (row->label != 0)]++;     //  tn, fn, fp, tp
    if (flagged != row->label && *shown < a->errors) {
        (*shown)++;
        fprintf (stderr, "%s p_ad=%.3f p_abuse=%.3f p_complaint=%.3f score=%.2f",
                 row->label ? "FN" : "FP", result.p_ad, result.p_abuse, result.p_complaint, side);
        for (size_t h = 0; h < result.nhits; h++)
            fprintf (stderr, " %s", result.hits [h].rule);
        fprintf (stderr, "\t%.*s\n", (int) len, text);
    }
    if (dump) {
        fprintf (dump, "%d\t%d\t%.3f\t%.4f\t%.4f\t", row->label, flagged, side,
                 result.p_ad, result.p_abuse);
        for (size_t h = 0; h < result.nhits; h++)
            fprintf (dump, "%s%s", h ? "," : "", result.hits [h].rule);
        fprintf (dump, "\t%.*s\n", (int) len, text);
    }
}

int
judge_cli_eval_metrics (int argc, char **argv, judge_metrics_t *metrics)
{
    memset (metrics, 0, sizeof (*metrics));
    s_args_t a;
    if (s_parse_args (argc, argv, &a)) {
        free (a.files);
        free (a.negatives);
        return s_usage ("eval");
    }
    int rc = 1;
    char err [256] = "";
    judge_rule_row_t *loaded = NULL;
    size_t nrows = 0;
    judge_t *judge = NULL;
    judge_evader_t *evader = NULL;
    s_rows_t rows = { NULL, 0, 0 };
    FILE *dump = NULL;
    const judge_rule_row_t *rules = s_rules (&a, &loaded, &nrows);
    if (!rules || !(judge = s_eval_judge (&a, rules, nrows)))
        goto done;
    if (a.evade_seed && !(evader = judge_evader_new (a.evade_seed, NULL, err, sizeof (err)))) {
        fprintf (stderr, "%s\n", err);
        goto done;
    }
    for (int f = 0; f < a.nfiles; f++)
        if (s_read_file (a.files [f], &a, 1, &rows))
            goto done;
    if (a.dump && !(dump = fopen (a.dump, "w"))) {
        fprintf (stderr, "cannot write %s: %s\n", a.dump, strerror (errno));
        goto done;
    }
    size_t counts [4] = { 0, 0, 0, 0 };
    int shown = 0;
    double busy = 0;
    for (size_t i = 0; i < rows.n; i++)
        s_eval_row (judge, evader, &a, rows.rows + i, dump, counts, &shown, &busy);
    size_t tn = counts [0], fn = counts [1], fp = counts [2], tp = counts [3];
    double precision = tp + fp ? (double) tp / (double) (tp + fp) : 0;
    double recall = tp + fn ? (double) tp / (double) (tp + fn) : 0;
    double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    double fpr = fp + tn ? (double) fp / (double) (fp + tn) : 0;
    double rate = busy > 0 ? (double) rows.n / busy : 0;
    judge_metrics_t m = { rows.n, tp, fp, fn, tn, precision, recall, f1, fpr, rate };
    *metrics = m;
    rc = 0;
done:
    if (dump && fclose (dump) != 0) {
        fprintf (stderr, "cannot write %s: %s\n", a.dump, strerror (errno));
        rc = 1;
    }
    s_rows_free (&rows);
    judge_evader_destroy (&evader);
    judge_destroy (&judge);
    judge_rules_free (&loaded, nrows);
    free (a.files);
    free (a.negatives);
    return rc;
}
