/*  =========================================================================
    judge_classifier.c - logistic regression over hashed character 1-3
    grams, trained with AdaGrad.

    Why this model: it is small (a fixed 2^bits weight table, no
    vocabulary), fast (one multiply-shift hash and one table load per
    feature, ~100 ns for a chat message) and it learns online, which is how
    operators' confirm / overturn decisions reach it. The normalizer already
    undid the evasion tricks, so n-grams of the strict text see through them.

    Features of the strict text, framed by a boundary mark B:
      - character unigrams, bigrams (B c0 ... c_last B) and trigrams;
      - for every n-gram holding a digit, the same n-gram with its digits
        replaced by one "digit" symbol, so that 加微z4721501 and
        加微z9130688 share evidence;
      - a bucket of the message length and of its longest digit run.
    All these have the same value 1/sqrt(n), i.e. the n-gram part has unit
    length whatever the message length. Then one feature per rule that hit
    the message (its name hashed), of a fixed value: "evidence" whose
    worth the model learns from its data.
    =========================================================================
*/
#include <errno.h>
#include <math.h>

#include "judge_classifier.h"
#include "judge_util.h"

#define S_BOUNDARY  0x1FFFFDu
#define S_DIGIT     0x1FFFF0u
#define S_FEATURESET 3

struct _judge_classifier_t {
    char     category [16];
    int      bits;
    float   *w;
    float    bias;
    uint64_t examples;          //  how many examples it has seen
};

static inline uint64_t
s_mix (uint64_t x)
{
    //  splitmix64 finalizer: cheap and spreads neighbouring keys
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

//  N-gram hash: one multiply (Fibonacci hashing) and a fold of the high
//  bits down, since the table index is taken from the top bits. This runs
//  ~100 times per message, so the full splitmix finalizer is too dear.
static inline uint64_t
s_gram (uint32_t a, uint32_t b, uint32_t c, uint64_t seed)
{
    uint64_t x = ((uint64_t) a | ((uint64_t) b << 21) | ((uint64_t) c << 42)) ^ (seed << 52);
    x *= 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 32) * 0xD6E8FEB86659FD93ull;
}

void
judge_features_init (judge_features_t *f)
{
    memset (f, 0, sizeof (*f));
}

void
judge_features_release (judge_features_t *f)
{
    free (f->hash);
    free (f->cps);
    memset (f, 0, sizeof (*f));
}

static inline void
s_push (judge_features_t *f, uint64_t h)
{
    f->hash [f->n++] = h;
}

void
judge_features_extract (const char *text, size_t len, judge_features_t *f)
{
    if (len + 2 > f->cps_cap) {
        f->cps_cap = (len + 2) * 2;
        f->cps = (uint32_t *) judge_realloc (f->cps, f->cps_cap * sizeof (uint32_t));
    }
    //  Decode, framed by boundaries
    uint32_t *c = f->cps;
    size_t m = 0, pos = 0;
    const unsigned char *s = (const unsigned char *) text;
    c [m++] = S_BOUNDARY;
    size_t run = 0, longest = 0;
    while (pos < len) {
        uint32_t cp;
        pos += s [pos] < 0x80 ? (cp = s [pos], 1) : judge_utf8_decode (s + pos, len - pos, &cp);
        c [m++] = cp;
        if (cp >= '0' && cp <= '9') {
            if (++run > longest)
                longest = run;
        }
        else
            run = 0;
    }
    c [m++] = S_BOUNDARY;
    size_t chars = m - 2;

    size_t need = chars * 6 + 8 + JUDGE_EVIDENCE_MAX;
    if (need > f->cap) {
        f->cap = need * 2;
        f->hash = (uint64_t *) judge_realloc (f->hash, f->cap * sizeof (uint64_t));
    }
    f->n = 0;
    //  The text's own bigrams and trigrams first (what an operator's
    //  decision on it moves), then what it shares with many texts:
    //  characters, digit shapes, length
    for (size_t i = 1; i < m; i++) {
        s_push (f, s_gram (c [i - 1], c [i], 0, 0x2222));
        if (i >= 2)
            s_push (f, s_gram (c [i - 2], c [i - 1], c [i], 0x3333));
    }
    f->specific = f->n;
    for (size_t i = 1; i < m; i++) {
        uint32_t a = c [i], b = c [i - 1];
        int da = a >= '0' && a <= '9', db = b >= '0' && b <= '9';
        if (i < m - 1) {
            s_push (f, s_gram (a, 0, 0, 0x1111));
            if (da)
                s_push (f, s_gram (S_DIGIT, 0, 0, 0x1112));
        }
        if (da || db)
            s_push (f, s_gram (db ? S_DIGIT : b, da ? S_DIGIT : a, 0, 0x2223));
        if (i >= 2) {
            uint32_t z = c [i - 2];
            int dz = z >= '0' && z <= '9';
            if (da || db || dz)
                s_push (f, s_gram (dz ? S_DIGIT : z, db ? S_DIGIT : b, da ? S_DIGIT : a, 0x3334));
        }
    }
    //  Length and digit-run buckets
    size_t lb = 0;
    while ((size_t) 1 << lb <= chars && lb < 12)
        lb++;
    s_push (f, s_mix (0xA000000000000000ull | lb));
    static const uint8_t run_bucket [] = { 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5 };
    size_t rb = longest < sizeof (run_bucket) ? run_bucket [longest] : 6;
    s_push (f, s_mix (0xB000000000000000ull | rb));
    f->ngrams = f->n;
    f->value = (float) (1.0 / sqrt ((double) f->n));
}

void
judge_features_add_evidence (judge_features_t *f, const char *name, size_t len)
{
    if (!f->hash || !name)
        return;
    if (len == (size_t) -1)
        len = strlen (name);
    //  FNV-1a of the name, then mixed: rule names are few and short
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) name [i]) * 0x100000001B3ull;
    h = s_mix (h ^ 0xE000000000000000ull);
    if (f->n - f->ngrams >= JUDGE_EVIDENCE_MAX)
        return;
    for (size_t i = f->ngrams; i < f->n; i++)
        if (f->hash [i] == h)
            return;
    if (f->n == f->cap) {
        f->cap = f->cap * 2 + JUDGE_EVIDENCE_MAX;
        f->hash = (uint64_t *) judge_realloc (f->hash, f->cap * sizeof (uint64_t));
    }
    f->hash [f->n++] = h;
}

//  Add every name of a comma-separated list
static void
s_add_evidence_list (judge_features_t *f, const char *list)
{
    while (list && *list) {
        const char *end = strchr (list, ',');
        size_t len = end ? (size_t) (end - list) : strlen (list);
        if (len)
            judge_features_add_evidence (f, list, len);
        list = end ? end + 1 : NULL;
    }
}

//  --------------------------------------------------------------------------

judge_classifier_t *
judge_classifier_new (const char *category, int bits)
{
    if (bits < 10 || bits > 24)
        bits = 18;
    judge_classifier_t *self = (judge_classifier_t *) judge_calloc (1, sizeof (*self));
    snprintf (self->category, sizeof (self->category), "%s", category ? category : "");
    self->bits = bits;
    self->w = (float *) judge_calloc ((size_t) 1 << bits, sizeof (float));
    return self;
}

void
judge_classifier_destroy (judge_classifier_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->w);
    free (*self_p);
    *self_p = NULL;
}

const char *
judge_classifier_category (const judge_classifier_t *self)
{
    return self->category;
}

const float *
judge_classifier_weights (const judge_classifier_t *self, float *bias)
{
    *bias = self->bias;
    return self->w;
}

int
judge_classifier_bits (const judge_classifier_t *self)
{
    return self->bits;
}

static inline double
s_sigmoid (double z)
{
    if (z > 30)
        return 1.0;
    if (z < -30)
        return 0.0;
    return 1.0 / (1.0 + exp (-z));
}

double
judge_classifier_predict_features (const judge_classifier_t *self, const judge_features_t *f)
{
    const int shift = 64 - self->bits;
    const float *w = self->w;
    float sum = 0, evidence = 0;
    for (size_t i = 0; i < f->ngrams; i++)
        sum += w [f->hash [i] >> shift];
    for (size_t i = f->ngrams; i < f->n; i++)
        evidence += w [f->hash [i] >> shift];
    return s_sigmoid ((double) self->bias + (double) sum * f->value
                     + (double) evidence * JUDGE_EVIDENCE_VALUE);
}

double
judge_classifier_predict (const judge_classifier_t *self, const char *text, size_t len)
{
    judge_features_t f;
    judge_features_init (&f);
    judge_features_extract (text, len, &f);
    double p = judge_classifier_predict_features (self, &f);
    judge_features_release (&f);
    return p;
}

void
judge_classifier_learn_features (judge_classifier_t *self, const judge_features_t *f, int label)
{
    //  Plain SGD with a large step: an operator's decision is worth more
    //  than one training example, and must show in the next prediction.
    //  It moves the text's own bigrams and trigrams only: the decision is
    //  about this text, while what a rule's hit, a character, a digit
    //  shape or a length is worth, and the prior (the bias), were learned
    //  from all the training data (one overturned WeChat-ID ad must not
    //  clear every WeChat ID, nor a run of overturns every message).
    //  Steps until the text is well on the operator's side (p at most 0.1
    //  when overturned, at least 0.9 when confirmed), at most 20.
    const int shift = 64 - self->bits;
    const double lr = 2.0;
    for (int step = 0; step < 20; step++) {
        double p = judge_classifier_predict_features (self, f);
        if (label ? p >= 0.9 : p <= 0.1)
            break;
        double g = p - (label ? 1.0 : 0.0);
        for (size_t i = 0; i < f->specific; i++)
            self->w [f->hash [i] >> shift] -= (float) (lr * g * f->value);
    }
    self->examples++;
}

void
judge_classifier_learn (judge_classifier_t *self, const char *text, size_t len, int label)
{
    judge_features_t f;
    judge_features_init (&f);
    judge_features_extract (text, len, &f);
    judge_classifier_learn_features (self, &f, label);
    judge_features_release (&f);
}

//  --------------------------------------------------------------------------
//  Training

static uint64_t
s_rand (uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    return s_mix (*state);
}

//  Features of every training example, extracted once: table indices,
//  flattened; example i has idx [first [i], first [i + 1]), its evidence
//  from evidence [i] on (of value JUDGE_EVIDENCE_VALUE), its n-grams of
//  value value [i] (1/sqrt(n)) before.
typedef struct {
    size_t   *first;
    size_t   *evidence;
    float    *value;
    uint32_t *idx;
    size_t    n;
    const double *scale;    //  NBSVM: every entry times scale [idx] (NULL: 1)
} s_sparse_t;

static void
s_sparse_build (s_sparse_t *s, const judge_example_t *ex, size_t n, int bits)
{
    const int shift = 64 - bits;
    size_t cap = 1 << 20, total = 0;
    s->first = (size_t *) judge_malloc ((n + 1) * sizeof (size_t));
    s->evidence = (size_t *) judge_malloc ((n ? n : 1) * sizeof (size_t));
    s->value = (float *) judge_malloc ((n ? n : 1) * sizeof (float));
    s->idx = (uint32_t *) judge_malloc (cap * sizeof (uint32_t));
    s->n = n;
    s->scale = NULL;
    judge_features_t f;
    judge_features_init (&f);
    for (size_t i = 0; i < n; i++) {
        judge_features_extract (ex [i].text, ex [i].len, &f);
        s_add_evidence_list (&f, ex [i].evidence);
        if (total + f.n > cap) {
            while (total + f.n > cap)
                cap *= 2;
            s->idx = (uint32_t *) judge_realloc (s->idx, cap * sizeof (uint32_t));
        }
        s->first [i] = total;
        s->evidence [i] = total + f.ngrams;
        for (size_t k = 0; k < f.n; k++)
            s->idx [total++] = (uint32_t) (f.hash [k] >> shift);
        s->value [i] = f.value;
    }
    s->first [n] = total;
    judge_features_release (&f);
}

static void
s_sparse_free (s_sparse_t *s)
{
    free (s->first);
    free (s->evidence);
    free (s->value);
    free (s->idx);
}

//  The value of entry k of example i
static inline double
s_val (const s_sparse_t *s, size_t i, size_t k)
{
    double v = k < s->evidence [i] ? s->value [i] : JUDGE_EVIDENCE_VALUE;
    return s->scale ? v * s->scale [s->idx [k]] : v;
}

//  Fisher-Yates, deterministic per seed
static void
s_shuffle (size_t *order, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t) (s_rand (rng) % i);
        size_t t = order [i - 1];
        order [i - 1] = order [j];
        order [j] = t;
    }
}

judge_classifier_t *
judge_classifier_train (const char *category, const judge_example_t *ex, size_t n,
                        const judge_train_opts_t *opts)
{
    judge_train_opts_t o = { 18, 8, 0.5, 1e-6, 1 };
    if (opts) {
        if (opts->bits)   o.bits = opts->bits;
        if (opts->epochs) o.epochs = opts->epochs;
        if (opts->lr > 0) o.lr = opts->lr;
        if (opts->l2 >= 0) o.l2 = opts->l2;
        if (opts->seed)   o.seed = opts->seed;
    }
    judge_classifier_t *self = judge_classifier_new (category, o.bits);
    s_sparse_t s;
    s_sparse_build (&s, ex, n, self->bits);
    const size_t *first = s.first, *evidence = s.evidence;
    const float *value = s.value;
    const uint32_t *idx = s.idx;

    size_t size = (size_t) 1 << self->bits;
    float *g2 = (float *) judge_calloc (size, sizeof (float));
    double bias_g2 = 0;
    size_t *order = (size_t *) judge_malloc ((n ? n : 1) * sizeof (size_t));
    for (size_t i = 0; i < n; i++)
        order [i] = i;
    uint64_t rng = o.seed;
    for (int epoch = 0; epoch < o.epochs; epoch++) {
        s_shuffle (order, n, &rng);
        for (size_t r = 0; r < n; r++) {
            size_t i = order [r];
            float v = value [i];
            float sum = 0, ev = 0;
            for (size_t k = first [i]; k < evidence [i]; k++)
                sum += self->w [idx [k]];
            for (size_t k = evidence [i]; k < first [i + 1]; k++)
                ev += self->w [idx [k]];
            double p = s_sigmoid ((double) self->bias + (double) sum * v
                                 + (double) ev * JUDGE_EVIDENCE_VALUE);
            double g = (p - (ex [i].label ? 1.0 : 0.0)) * (ex [i].weight > 0 ? ex [i].weight : 1.0);
            for (size_t k = first [i]; k < first [i + 1]; k++) {
                uint32_t j = idx [k];
                float x = k < evidence [i] ? v : JUDGE_EVIDENCE_VALUE;
                float grad = (float) (g * x + o.l2 * self->w [j]);
                g2 [j] += grad * grad;
                self->w [j] -= (float) o.lr * grad / (sqrtf (g2 [j]) + 1e-6f);
            }
            bias_g2 += g * g;
            self->bias -= (float) (o.lr * g / (sqrt (bias_g2) + 1e-6));
        }
    }
    self->examples = n;
    free (g2);
    free (order);
    s_sparse_free (&s);
    return self;
}

//  --------------------------------------------------------------------------
//  Linear SVM training (L2-regularized squared hinge loss), by dual
//  coordinate descent (Hsieh et al., ICML 2008: liblinear's default
//  solver), then calibrated (Platt) into the same logistic model, so the
//  file, the prediction and online learning are those of the log-loss
//  trainer. Why: on character n-grams the hinge loss generalizes better
//  than the log loss (game chat F1 0.931 vs 0.924, COLD 0.894 vs 0.877
//  in scikit-learn on the same features); liblinear itself has no weight
//  per row, which training needs (every file weighs the same).

static double
s_dot (const s_sparse_t *s, size_t i, const double *w)
{
    double sum = 0;
    for (size_t k = s->first [i]; k < s->first [i + 1]; k++)
        sum += w [s->idx [k]] * s_val (s, i, k);
    return sum;
}

//  ||x_i||^2 with colliding indices summed first (a hashed n-gram that
//  repeats is one coordinate of twice the value): scratch w, all zero.
static double
s_norm2 (const s_sparse_t *s, size_t i, double *w)
{
    double sum = 0;
    for (size_t k = s->first [i]; k < s->first [i + 1]; k++)
        w [s->idx [k]] += s_val (s, i, k);
    for (size_t k = s->first [i]; k < s->first [i + 1]; k++) {
        sum += w [s->idx [k]] * w [s->idx [k]];
        w [s->idx [k]] = 0;
    }
    return sum;
}

//  Dual coordinate descent; w (2^bits) and *b (the bias, a feature of
//  value 1) out. C per example: C times its training weight.
static void
s_svm_solve (const s_sparse_t *s, const judge_example_t *ex, double C, int epochs,
             uint64_t seed, double *w, double *b)
{
    size_t n = s->n;
    double *alpha = (double *) judge_calloc (n ? n : 1, sizeof (double));
    double *qd = (double *) judge_malloc ((n ? n : 1) * sizeof (double));
    double *dii = (double *) judge_malloc ((n ? n : 1) * sizeof (double));
    size_t *order = (size_t *) judge_malloc ((n ? n : 1) * sizeof (size_t));
    for (size_t i = 0; i < n; i++) {
        dii [i] = 0.5 / (C * (ex [i].weight > 0 ? ex [i].weight : 1.0));
        qd [i] = s_norm2 (s, i, w) + 1.0 + dii [i];
        order [i] = i;
    }
    uint64_t rng = seed;
    for (int epoch = 0; epoch < epochs; epoch++) {
        s_shuffle (order, n, &rng);
        double pg_max = 0;
        for (size_t r = 0; r < n; r++) {
            size_t i = order [r];
            double y = ex [i].label ? 1.0 : -1.0;
            double g = y * (s_dot (s, i, w) + *b) - 1.0 + dii [i] * alpha [i];
            double pg = alpha [i] == 0 && g > 0 ? 0 : g;
            if (fabs (pg) > pg_max)
                pg_max = fabs (pg);
            if (pg == 0)
                continue;
            double old = alpha [i];
            alpha [i] = fmax (old - g / qd [i], 0.0);
            double d = (alpha [i] - old) * y;
            for (size_t k = s->first [i]; k < s->first [i + 1]; k++)
                w [s->idx [k]] += d * s_val (s, i, k);
            *b += d;
        }
        if (pg_max < 0.01)              //  converged: no coordinate moves
            break;
    }
    free (order);
    free (dii);
    free (qd);
    free (alpha);
}

//  Log loss of a sigmoid at z against target t, without overflow
static double
s_logloss (double z, double t)
{
    return z > 0 ? (1 - t) * z + log1p (exp (-z)) : -t * z + log1p (exp (z));
}

//  Platt scaling: a, c minimizing the weighted log loss of
//  sigmoid (a * margin + c), by Newton's method with backtracking
//  (Lin, Lin and Weng 2007), targets smoothed as Platt's.
static void
s_platt (const double *margin, const judge_example_t *ex, size_t n, double *a_out, double *c_out)
{
    double npos = 0, nneg = 0;
    for (size_t i = 0; i < n; i++)
        *(ex [i].label ? &npos : &nneg) += 1;
    double hi = (npos + 1) / (npos + 2), lo = 1 / (nneg + 2);
    double a = 1, c = 0;
    for (int it = 0; it < 100; it++) {
        double g1 = 0, g2 = 0, h11 = 1e-12, h22 = 1e-12, h21 = 0, loss = 0;
        for (size_t i = 0; i < n; i++) {
            double t = ex [i].label ? hi : lo, z = a * margin [i] + c;
            double p = 1 / (1 + exp (-z)), q = p * (1 - p);
            g1 += margin [i] * (p - t);
            g2 += p - t;
            h11 += margin [i] * margin [i] * q;
            h22 += q;
            h21 += margin [i] * q;
            loss += s_logloss (z, t);
        }
        if (fabs (g1) < 1e-5 && fabs (g2) < 1e-5)
            break;
        double det = h11 * h22 - h21 * h21;
        double da = -(h22 * g1 - h21 * g2) / det, dc = -(-h21 * g1 + h11 * g2) / det;
        double step = 1;
        for (; step > 1e-10; step /= 2) {
            double na = a + step * da, nc = c + step * dc, nl = 0;
            for (size_t i = 0; i < n; i++) {
                nl += s_logloss (na * margin [i] + nc, ex [i].label ? hi : lo);
            }
            if (nl < loss + 1e-4 * step * (g1 * da + g2 * dc)) {
                a = na;
                c = nc;
                break;
            }
        }
        if (step <= 1e-10)
            break;
    }
    *a_out = a;
    *c_out = c;
}

//  NBSVM (Wang and Manning 2012, "Baselines and Bigrams"): the log-count
//  ratio of every table entry, r = log ((p / |p|1) / (q / |q|1)), p and q
//  the weighted counts of the examples holding it among the positives and
//  the negatives, plus 1 (alpha). Binarized: an entry counts once per
//  example. Entries no example holds get 0 (they carry no evidence, and
//  the constant log (|q|1 / |p|1) would move every unseen n-gram).
//  Returns the number of entries seen.
static size_t
s_nb_ratios (const s_sparse_t *s, const judge_example_t *ex, size_t size, double *r)
{
    double *p = (double *) judge_calloc (size, sizeof (double));
    double *q = (double *) judge_calloc (size, sizeof (double));
    unsigned char *seen = (unsigned char *) judge_calloc (size, 1);
    for (size_t i = 0; i < s->n; i++) {
        double wt = ex [i].weight > 0 ? ex [i].weight : 1.0;
        double *count = ex [i].label ? p : q;
        for (size_t k = s->first [i]; k < s->first [i + 1]; k++)
            if (!(seen [s->idx [k]] & 2)) {         //  once per example
                seen [s->idx [k]] = 3;
                count [s->idx [k]] += wt;
            }
        for (size_t k = s->first [i]; k < s->first [i + 1]; k++)
            seen [s->idx [k]] = 1;
    }
    size_t vocab = 0;
    double psum = 0, qsum = 0;
    for (size_t j = 0; j < size; j++)
        if (seen [j]) {
            vocab++;
            psum += p [j] + 1;
            qsum += q [j] + 1;
        }
    for (size_t j = 0; j < size; j++)
        r [j] = seen [j] ? log (((p [j] + 1) / psum) / ((q [j] + 1) / qsum)) : 0;
    free (seen);
    free (q);
    free (p);
    return vocab;
}

//  NBSVM's interpolation w' = (1 - beta) mean |w| + beta w (the mean over
//  the entries seen in training), then the ratios folded into the weights
//  (w'_j r_j: unseen entries stay 0), so the model scores plain features
//  like any other.
static void
s_nb_fold (double *w, const double *r, size_t size, size_t vocab, double beta)
{
    double l1 = 0;
    for (size_t j = 0; j < size; j++)
        l1 += fabs (w [j]);
    double mean = vocab ? l1 / (double) vocab : 0;
    for (size_t j = 0; j < size; j++)
        w [j] = ((1 - beta) * mean + beta * w [j]) * r [j];
}

judge_classifier_t *
judge_classifier_train_svm (const char *category, const judge_example_t *ex, size_t n,
                            const judge_train_opts_t *opts, double C)
{
    int bits = opts && opts->bits ? opts->bits : 18;
    int epochs = opts && opts->epochs ? opts->epochs : 50;
    double beta = opts ? opts->nb_beta : 0;
    judge_classifier_t *self = judge_classifier_new (category, bits);
    s_sparse_t s;
    s_sparse_build (&s, ex, n, self->bits);
    size_t size = (size_t) 1 << self->bits, vocab = 0;
    double *r = NULL;
    if (beta > 0) {
        r = (double *) judge_malloc (size * sizeof (double));
        vocab = s_nb_ratios (&s, ex, size, r);
        s.scale = r;
    }
    double *w = (double *) judge_calloc (size, sizeof (double)), b = 0;
    s_svm_solve (&s, ex, C > 0 ? C : 0.5, epochs, opts && opts->seed ? opts->seed : 1, w, &b);
    if (r) {
        s_nb_fold (w, r, size, vocab, beta);
        s.scale = NULL;                 //  the margins below on plain features
    }
    double *margin = (double *) judge_malloc ((n ? n : 1) * sizeof (double));
    for (size_t i = 0; i < n; i++)
        margin [i] = s_dot (&s, i, w) + b;
    double a, c;
    s_platt (margin, ex, n, &a, &c);
    for (size_t j = 0; j < size; j++)
        self->w [j] = (float) (a * w [j]);
    self->bias = (float) (a * b + c);
    self->examples = n;
    free (margin);
    free (w);
    free (r);
    s_sparse_free (&s);
    return self;
}

//  --------------------------------------------------------------------------
//  File format (little-endian), documented in docs/moderation-judge.md:
//    "QYJM" u32 version u32 bits u32 featureset char[16] category
//    f32 bias u64 examples u32 encoding (0 dense, 1 sparse) u32 count
//    payload: dense count x f32 | sparse count x (u32 index, f32 weight)
//    u32 FNV-1a checksum of every byte before it

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} s_out_t;

static void
s_put (s_out_t *o, const void *data, size_t len)
{
    if (o->len + len > o->cap) {
        o->cap = (o->len + len) * 2;
        o->buf = (unsigned char *) judge_realloc (o->buf, o->cap);
    }
    memcpy (o->buf + o->len, data, len);
    o->len += len;
}

static void
s_put_u32 (s_out_t *o, uint32_t v)
{
    unsigned char b [4] = { (unsigned char) v, (unsigned char) (v >> 8),
                            (unsigned char) (v >> 16), (unsigned char) (v >> 24) };
    s_put (o, b, 4);
}

static void
s_put_f32 (s_out_t *o, float f)
{
    uint32_t v;
    memcpy (&v, &f, 4);
    s_put_u32 (o, v);
}

static uint32_t
s_get_u32 (const unsigned char *p)
{
    return (uint32_t) p [0] | ((uint32_t) p [1] << 8) | ((uint32_t) p [2] << 16)
         | ((uint32_t) p [3] << 24);
}

static float
s_get_f32 (const unsigned char *p)
{
    uint32_t v = s_get_u32 (p);
    float f;
    memcpy (&f, &v, 4);
    return f;
}

static uint32_t
s_fnv (const unsigned char *p, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p [i]) * 16777619u;
    return h;
}

#define S_HEADER 52

int
judge_classifier_save (const judge_classifier_t *self, const char *path, char *err, size_t errlen)
{
    size_t size = (size_t) 1 << self->bits, nnz = 0;
    for (size_t i = 0; i < size; i++)
        nnz += self->w [i] != 0;
    int sparse = nnz * 2 < size;
    s_out_t o = { NULL, 0, 0 };
    s_put (&o, JUDGE_MODEL_MAGIC, 4);
    s_put_u32 (&o, JUDGE_MODEL_VERSION);
    s_put_u32 (&o, (uint32_t) self->bits);
    s_put_u32 (&o, S_FEATURESET);
    char cat [16] = { 0 };
    memcpy (cat, self->category, strnlen (self->category, sizeof (cat) - 1));
    s_put (&o, cat, sizeof (cat));
    s_put_f32 (&o, self->bias);
    s_put_u32 (&o, (uint32_t) (self->examples & 0xFFFFFFFFu));
    s_put_u32 (&o, (uint32_t) (self->examples >> 32));
    s_put_u32 (&o, (uint32_t) sparse);
    s_put_u32 (&o, (uint32_t) (sparse ? nnz : size));
    for (size_t i = 0; i < size; i++) {
        if (sparse && self->w [i] == 0)
            continue;
        if (sparse)
            s_put_u32 (&o, (uint32_t) i);
        s_put_f32 (&o, self->w [i]);
    }
    s_put_u32 (&o, s_fnv (o.buf, o.len));

    //  Write to a temporary file and rename, so a service reloading the
    //  model never sees half a file.
    size_t tmplen = strlen (path) + 16;
    char *tmp = (char *) judge_malloc (tmplen);
    snprintf (tmp, tmplen, "%s.tmp", path);
    FILE *file = fopen (tmp, "wb");
    int rc = -1;
    if (!file)
        judge_errf (err, errlen, "cannot write %s: %s", tmp, strerror (errno));
    else {
        size_t wrote = fwrite (o.buf, 1, o.len, file);
        if (fclose (file) != 0 || wrote != o.len)
            judge_errf (err, errlen, "cannot write %s: %s", tmp, strerror (errno));
        else
        if (rename (tmp, path) != 0)
            judge_errf (err, errlen, "cannot rename %s: %s", tmp, strerror (errno));
        else
            rc = 0;
        if (rc)
            remove (tmp);
    }
    free (tmp);
    free (o.buf);
    return rc;
}

judge_classifier_t *
judge_classifier_load (const char *path, char *err, size_t errlen)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        judge_errf (err, errlen, "cannot open model %s: %s", path, strerror (errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = (unsigned char *) judge_malloc (cap);
    size_t got;
    while ((got = fread (buf + len, 1, cap - len, file)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = (unsigned char *) judge_realloc (buf, cap);
        }
    }
    fclose (file);

    judge_classifier_t *self = NULL;
    if (len < S_HEADER + 4 || memcmp (buf, JUDGE_MODEL_MAGIC, 4) != 0) {
        judge_errf (err, errlen, "%s: not a judge model", path);
        goto done;
    }
    if (s_get_u32 (buf + len - 4) != s_fnv (buf, len - 4)) {
        judge_errf (err, errlen, "%s: checksum mismatch (truncated file?)", path);
        goto done;
    }
    uint32_t version = s_get_u32 (buf + 4), bits = s_get_u32 (buf + 8);
    uint32_t featureset = s_get_u32 (buf + 12);
    if (version != JUDGE_MODEL_VERSION || featureset != S_FEATURESET || bits < 10 || bits > 24) {
        judge_errf (err, errlen, "%s: unsupported model version %u featureset %u bits %u "
                    "(this build reads version %u featureset %u: train it again)",
                    path, version, featureset, bits, JUDGE_MODEL_VERSION, S_FEATURESET);
        goto done;
    }
    char cat [17] = { 0 };
    memcpy (cat, buf + 16, 16);
    uint32_t sparse = s_get_u32 (buf + 44), count = s_get_u32 (buf + 48);
    size_t size = (size_t) 1 << bits;
    size_t payload = (size_t) count * (sparse ? 8 : 4);
    if ((!sparse && count != size) || (sparse && count > size) || S_HEADER + payload + 4 != len) {
        judge_errf (err, errlen, "%s: bad payload size", path);
        goto done;
    }
    self = judge_classifier_new (cat, (int) bits);
    self->bias = s_get_f32 (buf + 32);
    self->examples = s_get_u32 (buf + 36) | ((uint64_t) s_get_u32 (buf + 40) << 32);
    const unsigned char *p = buf + S_HEADER;
    for (uint32_t i = 0; i < count; i++) {
        if (sparse) {
            uint32_t at = s_get_u32 (p);
            if (at >= size) {
                judge_errf (err, errlen, "%s: weight index out of range", path);
                judge_classifier_destroy (&self);
                goto done;
            }
            self->w [at] = s_get_f32 (p + 4);
            p += 8;
        }
        else {
            self->w [i] = s_get_f32 (p);
            p += 4;
        }
    }
done:
    free (buf);
    return self;
}
