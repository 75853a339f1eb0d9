/*  =========================================================================
    judge.c - the judge: normalize, run the rule set, ask the classifiers,
    add up the evidence.

    One judgement allocates nothing in the steady state: the normalized
    forms, feature hashes and vectorscan matches live in scratch owned by
    the judge_t and reused, which is also why a judge_t belongs to one
    thread at a time.
    =========================================================================
*/
#include <hs/hs.h>
#include <math.h>
#include <sys/stat.h>

#include "judge.h"
#include "judge_classifier.h"
#include "judge_detect.h"
#include "judge_normalize.h"
#include "judge_util.h"

#ifndef QY_JUDGE_MODEL_DIR
#define QY_JUDGE_MODEL_DIR "/usr/share/qunyun/models"
#endif

enum { S_MODEL_AD, S_MODEL_ABUSE, S_MODEL_COMPLAINT, S_MODELS };
static const char *s_model_names [S_MODELS] = { "ad", "abuse", "complaint" };

struct _judge_t {
    judge_normalizer_t *normalizer;
    judge_rules_t      *rules;
    judge_classifier_t *model [S_MODELS];
    int                 model_used [S_MODELS];  //  a classifier rule refers to it
    int                *rule_model;             //  per rule: model index, or -1
    //  Both models' weights interleaved (ad, abuse) when they have the same
    //  size: one cache miss per feature instead of two. Rebuilt after
    //  online learning.
    float              *pair;
    int                 pair_bits;
    judge_norm_t        norm;
    judge_features_t    features;
    //  During one judge_eval
    const judge_input_t *in;
    size_t              in_len;
    judge_result_t     *out;
    size_t              evidence;   //  out->hits [0, evidence): the rules' hits
                                    //  before the classifiers' own
    int                 disguised;  //  a contact detail was written in disguise
    size_t              disguise_start, disguise_end;   //  its original span
};

static int
s_model_index (const char *category)
{
    int m = judge_name_find (s_model_names, S_MODELS, category);
    return m < S_MODELS ? m : -1;
}

static void s_build_pair (judge_t *self);

judge_t *
judge_new (const judge_rule_row_t *rows, size_t n, const judge_options_t *opts,
           char *err, size_t errlen)
{
    judge_options_t defaults = { NULL, NULL, NULL };
    if (!opts)
        opts = &defaults;
    judge_t *self = (judge_t *) judge_calloc (1, sizeof (*self));
    judge_norm_init (&self->norm);
    judge_features_init (&self->features);
    self->normalizer = judge_normalizer_new (opts->opencc_config, err, errlen);
    if (!self->normalizer)
        goto fail;
    self->rules = judge_rules_new (rows, n, self->normalizer, err, errlen);
    if (!self->rules)
        goto fail;
    const char *paths [S_MODELS] = { opts->ad_model_path, opts->abuse_model_path, NULL };
    for (int m = 0; m < S_MODELS; m++) {
        if (!paths [m])
            continue;
        self->model [m] = judge_classifier_load (paths [m], err, errlen);
        if (!self->model [m])
            goto fail;
    }
    self->rule_model = (int *) judge_malloc ((judge_rules_count (self->rules) + 1) * sizeof (int));
    for (size_t r = 0; r < judge_rules_count (self->rules); r++) {
        const judge_rule_t *rule = judge_rules_get (self->rules, r);
        self->rule_model [r] = -1;
        if (rule->kind != JUDGE_KIND_CLASSIFIER)
            continue;
        int m = s_model_index (rule->model);
        self->rule_model [r] = m;
        if (m < 0) {
            judge_errf (err, errlen, "rule %s: no classifier category '%s' (ad, abuse, complaint)",
                        rule->name, rule->model);
            goto fail;
        }
        self->model_used [m] = 1;
    }
    s_build_pair (self);
    return self;
fail:
    judge_destroy (&self);
    return NULL;
}

static void
s_build_pair (judge_t *self)
{
    free (self->pair);
    self->pair = NULL;
    judge_classifier_t *ad = self->model [S_MODEL_AD], *abuse = self->model [S_MODEL_ABUSE];
    if (!ad || !abuse || judge_classifier_bits (ad) != judge_classifier_bits (abuse))
        return;
    self->pair_bits = judge_classifier_bits (ad);
    size_t size = (size_t) 1 << self->pair_bits;
    float bias;
    const float *wa = judge_classifier_weights (ad, &bias);
    const float *wb = judge_classifier_weights (abuse, &bias);
    self->pair = (float *) judge_malloc (size * 2 * sizeof (float));
    for (size_t i = 0; i < size; i++) {
        self->pair [2 * i] = wa [i];
        self->pair [2 * i + 1] = wb [i];
    }
}

static double
s_sigmoid (double z)
{
    return z > 30 ? 1.0 : z < -30 ? 0.0 : 1.0 / (1.0 + exp (-z));
}

//  Probabilities of both models from the interleaved table
static void
s_predict_pair (judge_t *self, double *p)
{
    const judge_features_t *f = &self->features;
    const int shift = 64 - self->pair_bits;
    const float *pair = self->pair;
    float sa = 0, sb = 0, ea = 0, eb = 0, ba, bb;
    for (size_t i = 0; i < f->ngrams; i++) {
        const float *w = pair + 2 * (f->hash [i] >> shift);
        sa += w [0];
        sb += w [1];
    }
    for (size_t i = f->ngrams; i < f->n; i++) {
        const float *w = pair + 2 * (f->hash [i] >> shift);
        ea += w [0];
        eb += w [1];
    }
    judge_classifier_weights (self->model [S_MODEL_AD], &ba);
    judge_classifier_weights (self->model [S_MODEL_ABUSE], &bb);
    p [S_MODEL_AD] = s_sigmoid ((double) ba + (double) sa * f->value
                               + (double) ea * JUDGE_EVIDENCE_VALUE);
    p [S_MODEL_ABUSE] = s_sigmoid ((double) bb + (double) sb * f->value
                                  + (double) eb * JUDGE_EVIDENCE_VALUE);
}

void
judge_destroy (judge_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    judge_t *self = *self_p;
    judge_rules_destroy (&self->rules);
    judge_normalizer_destroy (&self->normalizer);
    for (int m = 0; m < S_MODELS; m++)
        judge_classifier_destroy (&self->model [m]);
    judge_norm_release (&self->norm);
    judge_features_release (&self->features);
    free (self->rule_model);
    free (self->pair);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------

static void
s_add_hit (judge_t *self, const judge_rule_t *rule, size_t start, size_t end)
{
    judge_result_t *out = self->out;
    if (!rule->dry_run) {
        out->score [rule->category] += rule->weight;
        out->total += rule->weight;
    }
    if (out->nhits == JUDGE_MAX_HITS) {
        out->hits_dropped++;
        return;
    }
    judge_hit_t *hit = out->hits + out->nhits++;
    hit->rule = rule->name;
    hit->category = rule->category;
    hit->weight = rule->weight;
    hit->dry_run = rule->dry_run;
    hit->start = start;
    hit->end = end;
    hit->contact = rule->kind == JUDGE_KIND_URL || rule->kind == JUDGE_KIND_PHONE
                || rule->kind == JUDGE_KIND_QQ || rule->kind == JUDGE_KIND_WECHAT_ID
                || rule->kind == JUDGE_KIND_DISGUISE
                || rule->kind == JUDGE_KIND_CONTACT_PHRASE || rule->kind == JUDGE_KIND_MSGTYPE;
    //  What a negative weight of the category may cancel: contact details;
    //  a model's own opinion (the abuse model hears hostility in a
    //  customer's complaint about a parcel: the dictionary of insults
    //  still counts in full); and every complaint word, where a brand's
    //  complaint model is sure it is no complaint
    hit->cancelable = rule->kind == JUDGE_KIND_PHONE || rule->kind == JUDGE_KIND_QQ
                   || rule->kind == JUDGE_KIND_WECHAT_ID || rule->kind == JUDGE_KIND_CONTACT_PHRASE
                   || rule->kind == JUDGE_KIND_DISGUISE
                   || (rule->kind == JUDGE_KIND_CLASSIFIER && rule->weight > 0)
                   || (rule->category == QY_CAT_COMPLAINT && rule->weight > 0);
}

//  Is a contact detail written in disguise? Someone giving their number
//  in plain digits may be a customer; one who spells it in Chinese
//  numerals (一三八…), full-width or circled characters, or puts it after
//  a homophone of 微 (薇 威 徽 溦 维信 v信) or vx/wx, is dodging a filter.
//  Phone and QQ: two or more non-ASCII characters inside the number (from
//  its first digit: a QQ hit's span starts at its cue, 群号 or 扣; one
//  alone is rather a word the numeral rule took in, 12345678 一起). WeChat ID:
//  a cue other than 微/微信/weixin/wechat, or a non-ASCII, non-Han
//  character (the cue and fillers are Han).
static int
s_disguised (const judge_t *self, judge_kind_t kind, size_t ss, size_t se, size_t os, size_t oe)
{
    const unsigned char *o = (const unsigned char *) self->in->text;
    if (kind == JUDGE_KIND_PHONE || kind == JUDGE_KIND_QQ) {
        while (ss < se && !(self->norm.text [ss] >= '0' && self->norm.text [ss] <= '9'))
            ss++;
        if (ss == se)
            return 0;
        judge_norm_span (&self->norm, ss, se, &os, &oe);
        int foreign = 0;
        for (size_t i = os; i < oe; i++)
            foreign += o [i] >= 0xC0;       //  lead bytes: one per character
        return foreign >= 2;
    }
    const char *t = self->norm.text + ss;
    size_t left = self->norm.len - ss;
    static const char *plain [] = { "微信", "微", "weixin", "wechat", "wei" };
    int cue_plain = 0;
    for (size_t k = 0; k < sizeof (plain) / sizeof (plain [0]) && !cue_plain; k++)
        cue_plain = left >= strlen (plain [k]) && memcmp (t, plain [k], strlen (plain [k])) == 0;
    if (!cue_plain)
        return 1;
    for (size_t i = os; i < oe; ) {
        uint32_t cp;
        size_t n = judge_utf8_decode (o + i, oe - i, &cp);
        i += n ? n : 1;
        if (cp >= 0x80 && !(cp >= 0x4E00 && cp <= 0x9FFF) && !(cp >= 0x3000 && cp <= 0x303F)
        &&  !(cp >= 0xFF01 && cp <= 0xFF0F) && cp != 0xFF1A)
            return 1;
    }
    return 0;
}

static void
s_on_found (void *arg, const judge_match_t *m)
{
    judge_t *self = (judge_t *) arg;
    size_t os, oe;
    if (m->light)
        judge_norm_light_span (&self->norm, m->start, m->end, &os, &oe);
    else
        judge_norm_span (&self->norm, m->start, m->end, &os, &oe);
    const judge_rule_t *rule = judge_rules_get (self->rules, m->rule);
    s_add_hit (self, rule, os, oe);
    if (!self->disguised && !m->light && !rule->dry_run
    &&  (rule->kind == JUDGE_KIND_PHONE || rule->kind == JUDGE_KIND_QQ
         || rule->kind == JUDGE_KIND_WECHAT_ID)
    &&  s_disguised (self, rule->kind, m->start, m->end, os, oe)) {
        self->disguised = 1;
        self->disguise_start = os;
        self->disguise_end = oe;
    }
}

//  The classifiers' features of the message being judged: n-grams of its
//  strict text, and the names of the rules that hit it so far (dry-run
//  rules excluded: they must change nothing).
static void
s_features (judge_t *self)
{
    judge_features_extract (self->norm.text, self->norm.len, &self->features);
    const judge_result_t *out = self->out;
    for (size_t h = 0; h < self->evidence && h < out->nhits; h++)
        if (!out->hits [h].dry_run && out->hits [h].category != QY_CAT_COMPLAINT)
            judge_features_add_evidence (&self->features, out->hits [h].rule, (size_t) -1);
}

static int
s_is_staff (const char *role)
{
    return role && (strcmp (role, "staff") == 0 || strcmp (role, "admin") == 0
                 || strcmp (role, "owner") == 0 || strcmp (role, "bot") == 0);
}

//  Every rule but the classifiers and guards: the text detectors, and
//  the rules on what the gateway reports rather than on the text
static void
s_scan (judge_t *self, const judge_input_t *in, int staff, size_t len)
{
    judge_result_t *out = self->out;

    self->disguised = 0;
    judge_rules_scan (self->rules, &self->norm, !staff, s_on_found, self);

    const char *msgtype = in->msgtype ? in->msgtype : "text";
    for (size_t r = 0; r < judge_rules_count (self->rules) && !staff; r++) {
        const judge_rule_t *rule = judge_rules_get (self->rules, r);
        if (rule->kind == JUDGE_KIND_MSGTYPE) {
            for (size_t k = 0; k < rule->nlist; k++)
                if (strcmp (rule->list [k], msgtype) == 0) {
                    s_add_hit (self, rule, 0, len);
                    break;
                }
        }
        else
        if (rule->kind == JUDGE_KIND_DISGUISE && self->disguised)
            s_add_hit (self, rule, self->disguise_start, self->disguise_end);
        else
        if (rule->kind == JUDGE_KIND_AT_ALL && in->at_all) {
            //  Already reported from the text? Then once is enough.
            int seen = 0;
            for (size_t h = 0; h < out->nhits; h++)
                seen |= out->hits [h].rule == rule->name;
            if (!seen)
                s_add_hit (self, rule, 0, 0);
        }
    }
}

//  Guards last, on the settled scores: a guard hits when the category
//  of its pattern scored at least its threshold (abuse.complaint_guard:
//  the model's sense of hostility does not count against a complaint)
static void
s_guards (judge_t *self)
{
    judge_result_t *out = self->out;
    judge_result_settle (out);
    int added = 0;
    for (size_t r = 0; r < judge_rules_count (self->rules); r++) {
        const judge_rule_t *rule = judge_rules_get (self->rules, r);
        if (rule->kind != JUDGE_KIND_GUARD)
            continue;
        qy_category_t cat = judge_category_parse (rule->model);
        //  Listed only where it cancels something (a model's opinion)
        int cancels = 0;
        for (size_t h = 0; h < out->nhits && !cancels; h++)
            cancels = out->hits [h].category == rule->category && out->hits [h].cancelable
                   && out->hits [h].weight > 0 && !out->hits [h].dry_run;
        if (cancels && out->score [cat] >= rule->threshold - 1e-9) {
            s_add_hit (self, rule, 0, self->in_len);
            added = 1;
        }
    }
    if (added)
        judge_result_settle (out);
}

int
judge_eval (judge_t *self, const judge_input_t *in, judge_result_t *out)
{
    size_t len = in->len;
    if (!in->text && len && len != (size_t) -1)
        return -1;
    if (!in->text)
        len = 0;
    else
    if (len == (size_t) -1)
        len = strlen (in->text);
    out->nhits = 0;
    self->evidence = 0;
    out->hits_dropped = 0;
    memset (out->score, 0, sizeof (out->score));
    out->total = 0;
    out->top = QY_CAT__COUNT;
    out->p_ad = out->p_abuse = out->p_complaint = -1;
    self->in = in;
    self->in_len = len;
    self->out = out;

    judge_normalizer_run (self->normalizer, in->text, len, &self->norm);
    out->normalized = self->norm.text;
    out->normalized_len = self->norm.len;
    int staff = s_is_staff (in->role);
    if (staff && in->exempt_staff)
        return 0;
    s_scan (self, in, staff, len);
    //  The classifiers last: every other rule's hit is evidence for them
    self->evidence = out->nhits;
    double p [S_MODELS] = { -1, -1, -1 };
    int extracted = 0;
    for (size_t r = 0; r < judge_rules_count (self->rules); r++) {
        const judge_rule_t *rule = judge_rules_get (self->rules, r);
        if (rule->kind != JUDGE_KIND_CLASSIFIER)
            continue;
        int m = self->rule_model [r];
        if (!self->model [m] || self->norm.len == 0)
            continue;
        if (!extracted) {
            s_features (self);
            extracted = 1;
            if (self->pair && self->model_used [S_MODEL_AD] && self->model_used [S_MODEL_ABUSE])
                s_predict_pair (self, p);
        }
        if (p [m] < 0)
            p [m] = judge_classifier_predict_features (self->model [m], &self->features);
        if (rule->below ? p [m] < rule->threshold : p [m] >= rule->threshold)
            s_add_hit (self, rule, 0, len);
    }
    s_guards (self);
    out->p_ad = p [S_MODEL_AD];
    out->p_abuse = p [S_MODEL_ABUSE];
    out->p_complaint = p [S_MODEL_COMPLAINT];
    return 0;
}

void
judge_result_sums (const judge_result_t *r, int with_dry_run, double *plain,
                   double *contact, double *negative)
{
    for (int c = 0; c < QY_CAT__COUNT; c++)
        plain [c] = contact [c] = negative [c] = 0;
    for (size_t h = 0; h < r->nhits; h++) {
        const judge_hit_t *hit = r->hits + h;
        if ((hit->dry_run && !with_dry_run) || (unsigned) hit->category >= QY_CAT__COUNT)
            continue;
        if (hit->weight < 0)
            negative [hit->category] += hit->weight;
        else
        if (hit->cancelable)
            contact [hit->category] += hit->weight;
        else
            plain [hit->category] += hit->weight;
    }
}

void
judge_result_settle (judge_result_t *r)
{
    //  A negative weight (a classifier confident that the message is not
    //  of its category) cancels that category's contact details (numbers,
    //  IDs, contact phrases: an ad in one community, ordinary talk in
    //  another), never more. Links, message types, dictionary words,
    //  regular expressions, behaviour and other categories stand,
    //  and no category scores below zero. With hits beyond JUDGE_MAX_HITS
    //  not listed, the scores as counted are only clamped at zero.
    if (!r->hits_dropped) {
        double contact [QY_CAT__COUNT], negative [QY_CAT__COUNT];
        judge_result_sums (r, 0, r->score, contact, negative);
        for (int c = 0; c < QY_CAT__COUNT; c++)
            if (contact [c] + negative [c] > 0)
                r->score [c] += contact [c] + negative [c];
    }
    r->total = 0;
    r->top = QY_CAT__COUNT;
    double best = 0;
    for (int c = 0; c < QY_CAT__COUNT; c++) {
        if (r->score [c] < 0)
            r->score [c] = 0;
        //  A complaint asks for a person, never for a penalty: it is
        //  reported in its own score and never adds to the total
        if (c == QY_CAT_COMPLAINT)
            continue;
        r->total += r->score [c];
        if (r->score [c] > best) {
            best = r->score [c];
            r->top = (qy_category_t) c;
        }
    }
}

const char *
judge_normalize (judge_t *self, const char *text, size_t len, size_t *len_p)
{
    if (text && len == (size_t) -1)
        len = strlen (text);
    judge_normalizer_run (self->normalizer, text, text ? len : 0, &self->norm);
    if (len_p)
        *len_p = self->norm.len;
    return self->norm.text;
}

int
judge_learn (judge_t *self, const char *category, const char *text, int label)
{
    int m = s_model_index (category);
    if (m < 0 || !self->model [m] || !text)
        return -1;
    //  Judge it first (as a member's text message): the rules' hits are
    //  part of what the model learns from.
    judge_result_t scratch;
    judge_input_t in = { text, strlen (text), "text", "member", 0, 0 };
    judge_eval (self, &in, &scratch);
    s_features (self);          //  the text and the rules' hits, not the classifiers'
    judge_classifier_learn_features (self->model [m], &self->features, label);
    self->in = NULL;
    self->out = NULL;
    s_build_pair (self);
    return 0;
}

int
judge_load_model (judge_t *self, const char *category, const char *path,
                  char *err, size_t errlen)
{
    int m = s_model_index (category);
    if (m < 0 || !path) {
        judge_errf (err, errlen, "no classifier category '%s' (ad, abuse, complaint)",
                    category ? category : "");
        return -1;
    }
    judge_classifier_t *model = judge_classifier_load (path, err, errlen);
    if (!model)
        return -1;
    if (strcmp (judge_classifier_category (model), category) != 0) {
        judge_errf (err, errlen, "%s holds a %s model, not %s", path,
                    judge_classifier_category (model), category);
        judge_classifier_destroy (&model);
        return -1;
    }
    judge_classifier_destroy (&self->model [m]);
    self->model [m] = model;
    s_build_pair (self);
    return 0;
}

int
judge_save_model (judge_t *self, const char *category, const char *path)
{
    int m = s_model_index (category);
    if (m < 0 || !self->model [m])
        return -1;
    return judge_classifier_save (self->model [m], path, NULL, 0);
}

int
judge_model_default_path (const char *category, char *buf, size_t buflen)
{
    const char *dir = getenv ("QY_MODEL_DIR");
    struct stat st;
    if (dir && *dir) {
        int n = snprintf (buf, buflen, "%s/%s.model", dir, category);
        if (n < 0 || (size_t) n >= buflen)
            return -1;
        if (stat (buf, &st) == 0)
            return 0;
    }
    int n = snprintf (buf, buflen, "%s/%s.model", QY_JUDGE_MODEL_DIR, category);
    return n < 0 || (size_t) n >= buflen ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Nickname format

//  Length of a field separator at s: '-', full-width '－', en / em dash.
static size_t
s_separator (const char *s)
{
    if (*s == '-')
        return 1;
    //  strncmp, not memcmp: it stops at the terminating NUL
    if (strncmp (s, "\xef\xbc\x8d", 3) == 0 || strncmp (s, "\xe2\x80\x93", 3) == 0
    ||  strncmp (s, "\xe2\x80\x94", 3) == 0)
        return 3;
    return 0;
}

//  Is s[0..len) only white space (ASCII or U+3000)?
static int
s_blank (const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s [i] == ' ' || s [i] == '\t')
            i++;
        else
        if (i + 3 <= len && memcmp (s + i, "\xe3\x80\x80", 3) == 0)
            i += 3;
        else
            return 0;
    }
    return 1;
}

static int
s_on_nick_match (unsigned int id, unsigned long long from, unsigned long long to,
                 unsigned int flags, void *ctx)
{
    (void) id; (void) from; (void) to; (void) flags;
    *(int *) ctx = 1;
    return 1;
}

int
judge_nickname_ok (const char *pattern, const char *nickname)
{
    if (!pattern)
        return -1;
    if (!nickname)
        nickname = "";
    if (strncmp (pattern, "re:", 3) == 0) {
        //  Checked on join and rename only, so compiling here is affordable
        size_t plen = strlen (pattern + 3);
        char *anchored = (char *) judge_malloc (plen + 8);
        snprintf (anchored, plen + 8, "^(?:%s)$", pattern + 3);
        hs_database_t *db = NULL;
        hs_compile_error_t *cerr = NULL;
        int rc = hs_compile (anchored, HS_FLAG_UTF8 | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY,
                             HS_MODE_BLOCK, NULL, &db, &cerr);
        free (anchored);
        if (rc != HS_SUCCESS) {
            hs_free_compile_error (cerr);
            return -1;
        }
        hs_scratch_t *scratch = NULL;
        int matched = 0;
        if (hs_alloc_scratch (db, &scratch) == HS_SUCCESS) {
            hs_scan (db, nickname, (unsigned int) strlen (nickname), 0, scratch,
                     s_on_nick_match, &matched);
            hs_free_scratch (scratch);
        }
        else
            matched = -1;
        hs_free_database (db);
        return matched;
    }
    //  Field labels separated by '-': count the fields the pattern asks for
    size_t fields = 1;
    for (const char *p = pattern; *p; p++)
        fields += *p == '-';
    size_t parts = 0;
    const char *start = nickname, *p = nickname;
    for (;;) {
        size_t sep = *p ? s_separator (p) : 0;
        if (!*p || sep) {
            if (s_blank (start, (size_t) (p - start)))
                return 0;           //  an empty field
            parts++;
            if (!*p)
                break;
            p += sep;
            start = p;
        }
        else
            p++;
    }
    return parts == fields;
}
