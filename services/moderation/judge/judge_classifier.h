/*  =========================================================================
    judge_classifier.h - logistic regression over hashed character n-grams
    of the normalized (strict) text, one model per category ("ad", "abuse").

    Features are computed once per message (judge_features) and scored by
    every model, so two models cost one extraction. Besides the n-grams, a
    message's features name the rules that hit it ("evidence"): the model
    learns from its training data what a rule's hit is worth there (a QQ
    number is an ad in a brand's group, ordinary talk in a game's world
    chat). All text arguments are
    STRICT normalized text (judge_normalizer_run); judge_learn in judge.h
    takes raw text and normalizes it first.
    =========================================================================
*/
#ifndef QY_JUDGE_CLASSIFIER_H_INCLUDED
#define QY_JUDGE_CLASSIFIER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _judge_classifier_t judge_classifier_t;

//  Hashed features of one text: n-grams first, hash [0, ngrams), all of
//  value 1/sqrt(ngrams), so only hashes are stored (the text's literal
//  bigrams and trigrams in [0, specific), then the shared ones: single
//  characters, digit shapes, length); then the evidence, hash [ngrams, n),
//  each of value JUDGE_EVIDENCE_VALUE. Reused across calls; grows as needed.
#define JUDGE_EVIDENCE_VALUE 0.5f
#define JUDGE_EVIDENCE_MAX   16
typedef struct {
    uint64_t *hash;
    size_t    n;
    size_t    ngrams;
    size_t    specific;
    size_t    cap;
    float     value;
    uint32_t *cps;          //  scratch: decoded code points
    size_t    cps_cap;
} judge_features_t;

typedef struct {
    int      label;         //  1 positive, 0 negative
    const char *text;       //  strict normalized text
    size_t   len;
    const char *evidence;   //  names of the rules that hit it, comma-separated
                            //  (NULL: none)
    float    weight;        //  how much it counts in training (0: 1)
} judge_example_t;

typedef struct {
    int      bits;          //  log2 of the weight table size (10..24), default 18
    int      epochs;        //  passes over the data, default 8
    double   lr;            //  AdaGrad base learning rate, default 0.5
    double   l2;            //  L2 penalty per update, default 1e-6
    uint64_t seed;          //  shuffling seed, default 1
    double   nb_beta;       //  SVM only: > 0, NBSVM (naive-Bayes scaled
                            //  features, interpolation beta); 0: plain
} judge_train_opts_t;

#define JUDGE_MODEL_MAGIC   "QYJM"
#define JUDGE_MODEL_VERSION 1

void judge_features_init (judge_features_t *f);
void judge_features_release (judge_features_t *f);
//  Extract the n-gram features of a strict normalized text into f (no
//  evidence yet).
void judge_features_extract (const char *text, size_t len, judge_features_t *f);
//  Add the evidence that rule `name` hit (len bytes; (size_t) -1: up to
//  NUL). A rule named twice counts once; beyond JUDGE_EVIDENCE_MAX, ignored.
void judge_features_add_evidence (judge_features_t *f, const char *name, size_t len);

//  A new all-zero model for category with 2^bits weights.
judge_classifier_t *judge_classifier_new (const char *category, int bits);
void judge_classifier_destroy (judge_classifier_t **self_p);

//  Train a new model from examples. opts may be NULL. Caller owns result.
judge_classifier_t *judge_classifier_train (const char *category, const judge_example_t *ex,
                                            size_t n, const judge_train_opts_t *opts);

//  The same model trained as a linear SVM (squared hinge loss, C per
//  example: C times its weight; default 0.5), then calibrated into
//  probabilities (Platt). opts: bits and seed; epochs = the solver's
//  maximum passes (default 50); nb_beta > 0 trains it as NBSVM (every
//  feature scaled by its log-count ratio, folded into the weights, so the
//  model file and prediction stay the same). Caller owns result.
judge_classifier_t *judge_classifier_train_svm (const char *category, const judge_example_t *ex,
                                                size_t n, const judge_train_opts_t *opts, double C);

//  Versioned binary file, see docs/moderation-judge.md. 0 or -1 + err.
int judge_classifier_save (const judge_classifier_t *self, const char *path,
                           char *err, size_t errlen);
judge_classifier_t *judge_classifier_load (const char *path, char *err, size_t errlen);

const char *judge_classifier_category (const judge_classifier_t *self);
//  The weight table (2^bits floats) and bias, for callers that score
//  several models in one pass over the features.
const float *judge_classifier_weights (const judge_classifier_t *self, float *bias);
int judge_classifier_bits (const judge_classifier_t *self);

//  Probability that the text belongs to the category.
double judge_classifier_predict (const judge_classifier_t *self, const char *text, size_t len);
double judge_classifier_predict_features (const judge_classifier_t *self,
                                          const judge_features_t *f);

//  Online update from one confirmed (label 1) or overturned (label 0)
//  example: a few plain gradient steps, so that one operator decision
//  visibly moves the prediction for that text and its near duplicates.
void judge_classifier_learn (judge_classifier_t *self, const char *text, size_t len, int label);
void judge_classifier_learn_features (judge_classifier_t *self, const judge_features_t *f,
                                      int label);

#endif
