/*  =========================================================================
    judge_detect.c - compile rule rows into a rule set and scan messages.

    Every keyword, contact-phrase and regex rule goes into a single
    vectorscan database (hs_compile_multi), so a message costs one hs_scan
    whatever the number of dictionaries. Keywords are normalized with the
    message pipeline before compiling, so "薇信", "ＶＸ" and "滴滴我" in a
    dictionary match what the normalizer makes of the message ("薇信", "vx",
    "滴我"), and are compiled as escaped byte literals.

    A keyword line starting with '!' is an exemption: a keyword match that
    lies inside a match of an exemption of the same rule is ignored (e.g.
    "代刷" with "!代刷新"). This is how a brand exempts its own vocabulary.
    =========================================================================
*/
#include <hs/hs.h>

#include "judge_detect.h"
#include "judge_util.h"

#define S_MAX_MATCHES 256

//  One vectorscan pattern id -> rule
typedef struct {
    size_t rule;
    size_t literal_len;     //  literals: byte length (start = end - len); 0: regex
    int    exempt;
} s_pattern_t;

typedef struct {
    size_t pattern;
    size_t start, end;
} s_hsmatch_t;

struct _judge_rules_t {
    judge_rule_t *rules;
    size_t        nrules;
    hs_database_t *db;
    hs_scratch_t *scratch;
    s_pattern_t  *patterns;
    size_t        npatterns;
    s_hsmatch_t   matches [S_MAX_MATCHES];
    size_t        nmatches;
    //  Which rules already reported, per scan (generation counter avoids a clear)
    uint32_t     *seen;
    uint32_t      generation;
};

static const char *s_kind_names [JUDGE_KIND__COUNT] = {
    "url", "phone", "qq", "wechat_id", "contact_phrase", "keyword", "regex", "msgtype",
    "at_all", "classifier", "guard", "disguise"
};

judge_kind_t
judge_kind_parse (const char *name)
{
    return (judge_kind_t) judge_name_find (s_kind_names, JUDGE_KIND__COUNT, name);
}

//  Contact phrases used when a contact_phrase rule has no pattern: the
//  WeChat-era ways of saying "add me elsewhere".
static const char *s_default_contact =
    "加v\n加微\n加vx\n加wx\n+v\nvx\nwx\n薇信\n威信\n徽信\n微x\nv信\n加q\n扣扣\n"
    "滴滴我\n私聊\n私信我\n私我\n看我头像\n头像加\n加我好友\n联系我\n";

//  Split a pattern on newlines into trimmed, non-empty lines.
static char **
s_split_lines (const char *pattern, size_t *n_p)
{
    size_t cap = 8, n = 0;
    char **list = (char **) judge_malloc (cap * sizeof (char *));
    const char *p = pattern ? pattern : "";
    while (*p) {
        const char *e = strchr (p, '\n');
        if (!e)
            e = p + strlen (p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
            a++;
        while (b > a && (b [-1] == ' ' || b [-1] == '\t' || b [-1] == '\r'))
            b--;
        if (b > a) {
            if (n == cap) {
                cap *= 2;
                list = (char **) judge_realloc (list, cap * sizeof (char *));
            }
            list [n++] = judge_strndup (a, (size_t) (b - a));
        }
        p = *e ? e + 1 : e;
    }
    *n_p = n;
    return list;
}

//  Split a comma list ("weapp,card") into trimmed entries.
static char **
s_split_commas (const char *pattern, size_t *n_p)
{
    size_t len = strlen (pattern ? pattern : "");
    char *copy = judge_strndup (pattern ? pattern : "", len);
    for (size_t i = 0; i < len; i++)
        if (copy [i] == ',')
            copy [i] = '\n';
    char **list = s_split_lines (copy, n_p);
    free (copy);
    return list;
}

static void
s_free_list (char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (list [i]);
    free (list);
}

typedef struct {
    char        **expr;
    unsigned int *flags;
    unsigned int *ids;
    size_t        n, cap;
} s_patlist_t;

static void
s_add_pattern (judge_rules_t *self, s_patlist_t *pl, char *expr, unsigned int flags,
               size_t rule, size_t literal_len, int exempt)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 64;
        pl->expr = (char **) judge_realloc (pl->expr, pl->cap * sizeof (char *));
        pl->flags = (unsigned int *) judge_realloc (pl->flags, pl->cap * sizeof (unsigned int));
        pl->ids = (unsigned int *) judge_realloc (pl->ids, pl->cap * sizeof (unsigned int));
        self->patterns = (s_pattern_t *) judge_realloc (self->patterns,
                                                        pl->cap * sizeof (s_pattern_t));
    }
    pl->expr [pl->n] = expr;
    pl->flags [pl->n] = flags;
    pl->ids [pl->n] = (unsigned int) pl->n;
    self->patterns [pl->n].rule = rule;
    self->patterns [pl->n].literal_len = literal_len;
    self->patterns [pl->n].exempt = exempt;
    pl->n++;
}

//  A literal as a regex: every byte escaped, so no character is special.
static char *
s_escape_literal (const char *s)
{
    size_t len = strlen (s);
    char *out = (char *) judge_malloc (len * 4 + 1);
    for (size_t i = 0; i < len; i++)
        snprintf (out + i * 4, 5, "\\x%02x", (unsigned char) s [i]);
    out [len * 4] = 0;
    return out;
}

//  Add the words of a keyword / contact_phrase rule.
static void
s_add_words (judge_rules_t *self, s_patlist_t *pl, size_t rule, const char *pattern,
             const judge_normalizer_t *norm)
{
    size_t nwords;
    char **words = s_split_lines (pattern, &nwords);
    for (size_t w = 0; w < nwords; w++) {
        int exempt = words [w][0] == '!';
        char *normal = judge_normalizer_strdup (norm, words [w] + exempt);
        size_t nl = strlen (normal);
        //  A word that normalizes to one ASCII character ("+v" -> "v")
        //  would match everywhere: skip it. So would a longer word that
        //  collapses to one character ("扣扣" -> "扣" matches every 折扣):
        //  only a word written as one character stays one.
        size_t ncp = 0, ocp = 0;
        for (const char *c = normal; *c; c++)
            ncp += ((unsigned char) *c & 0xC0) != 0x80;
        for (const char *c = words [w] + exempt; *c; c++)
            ocp += ((unsigned char) *c & 0xC0) != 0x80;
        if ((nl > 1 && (ncp > 1 || ocp == 1)) || (nl == 1 && (unsigned char) normal [0] >= 0x80 && ocp == 1))
            s_add_pattern (self, pl, s_escape_literal (normal), 0, rule, nl, exempt);
        free (normal);
    }
    s_free_list (words, nwords);
}

//  Check one regex alone so a bad rule is reported by name; returns the
//  flags it compiles with (start-of-match tracking if vectorscan can).
static int
s_check_regex (const char *expr, unsigned int *flags, char *msg, size_t msglen)
{
    const unsigned int tries [2] = { HS_FLAG_UTF8 | HS_FLAG_SOM_LEFTMOST, HS_FLAG_UTF8 };
    for (int t = 0; t < 2; t++) {
        hs_database_t *db = NULL;
        hs_compile_error_t *cerr = NULL;
        if (hs_compile (expr, tries [t], HS_MODE_BLOCK, NULL, &db, &cerr) == HS_SUCCESS) {
            hs_free_database (db);
            *flags = tries [t];
            return 0;
        }
        snprintf (msg, msglen, "%s", cerr && cerr->message ? cerr->message : "compile error");
        hs_free_compile_error (cerr);
    }
    return -1;
}

//  The row's name, kind and category, checked: unique name, known kind
//  and category. Fills rule; -1 with err on a bad row.
static int
s_rule_header (judge_rules_t *self, size_t i, const judge_rule_row_t *row, char *err, size_t errlen)
{
    judge_rule_t *rule = self->rules + i;
    if (!row->name || !*row->name) {
        judge_errf (err, errlen, "rule #%zu: empty name", i);
        return -1;
    }
    rule->name = judge_strdup (row->name);
    rule->kind = judge_kind_parse (row->kind);
    rule->category = judge_category_parse (row->category);
    rule->weight = row->weight;
    rule->dry_run = row->dry_run != 0;
    if (rule->kind == JUDGE_KIND__COUNT) {
        judge_errf (err, errlen, "rule %s: unknown kind '%s'", row->name,
                    row->kind ? row->kind : "");
        return -1;
    }
    if (rule->category == QY_CAT__COUNT) {
        judge_errf (err, errlen, "rule %s: unknown category '%s'", row->name,
                    row->category ? row->category : "");
        return -1;
    }
    for (size_t k = 0; k < i; k++)
        if (strcmp (self->rules [k].name, rule->name) == 0) {
            judge_errf (err, errlen, "rule %s: duplicate name", row->name);
            return -1;
        }
    return 0;
}

//  A classifier or guard pattern: "ad:0.5" or "ad" (threshold 0.5): hit
//  when p >= 0.5; "ad:<0.2": hit when the model is confident it is not
//  (p < 0.2), for a negative weight. A guard compares a category's score,
//  so it needs a category and no "<".
static int
s_rule_classifier (judge_rule_t *rule, const char *name, const char *pattern, char *err, size_t errlen)
{
    const char *colon = strchr (pattern, ':');
    size_t cl = colon ? (size_t) (colon - pattern) : strlen (pattern);
    const char *number = colon ? colon + 1 : NULL;
    if (number && *number == '<') {
        rule->below = 1;
        number++;
    }
    char *endp = NULL;
    rule->threshold = number ? strtod (number, &endp) : 0.5;
    if (cl == 0 || cl >= sizeof (rule->model)
    ||  (number && (endp == number || *endp))
    ||  rule->threshold < 0 || rule->threshold > 1) {
        judge_errf (err, errlen, "rule %s: classifier pattern must be "
                    "CATEGORY[:THRESHOLD] or CATEGORY:<THRESHOLD, got '%s'",
                    name, pattern);
        return -1;
    }
    memcpy (rule->model, pattern, cl);
    rule->model [cl] = 0;
    if (rule->kind == JUDGE_KIND_GUARD
    &&  (rule->below || judge_category_parse (rule->model) == QY_CAT__COUNT)) {
        judge_errf (err, errlen, "rule %s: guard pattern must be CATEGORY:THRESHOLD "
                    "(a score, not a probability), got '%s'", name, pattern);
        return -1;
    }
    return 0;
}

//  The rule's pattern, by kind: words and regexes go to the vectorscan
//  pattern list, allow-lists and types to the rule itself.
static int
s_rule_pattern (judge_rules_t *self, s_patlist_t *pl, size_t i, const judge_rule_row_t *row,
                const judge_normalizer_t *norm, char *err, size_t errlen)
{
    judge_rule_t *rule = self->rules + i;
    const char *pattern = row->pattern ? row->pattern : "";
    unsigned int flags;
    char msg [200];
    switch (rule->kind) {
        case JUDGE_KIND_KEYWORD:
            s_add_words (self, pl, i, pattern, norm);
            return 0;
        case JUDGE_KIND_CONTACT_PHRASE:
            s_add_words (self, pl, i, *pattern ? pattern : s_default_contact, norm);
            return 0;
        case JUDGE_KIND_REGEX:
            if (!*pattern || s_check_regex (pattern, &flags, msg, sizeof (msg))) {
                judge_errf (err, errlen, "rule %s: bad regex: %s", row->name,
                            *pattern ? msg : "empty");
                return -1;
            }
            s_add_pattern (self, pl, judge_strdup (pattern), flags, i, 0, 0);
            return 0;
        case JUDGE_KIND_URL:
        case JUDGE_KIND_AT_ALL:
            rule->list = s_split_lines (pattern, &rule->nlist);
            rule->all_at = 1;
            for (size_t k = 0; k < rule->nlist; k++) {
                rule->all_at &= rule->list [k][0] == '@';
                for (char *c = rule->list [k]; *c; c++)
                    if (*c >= 'A' && *c <= 'Z')
                        *c = (char) (*c - 'A' + 'a');
            }
            return 0;
        case JUDGE_KIND_PHONE:
            //  Allow-listed numbers: digits only
            rule->list = s_split_lines (pattern, &rule->nlist);
            for (size_t k = 0; k < rule->nlist; k++) {
                char *r = rule->list [k], *w = r;
                for (; *r; r++)
                    if (*r >= '0' && *r <= '9')
                        *w++ = *r;
                *w = 0;
            }
            return 0;
        case JUDGE_KIND_MSGTYPE:
            rule->list = s_split_commas (pattern, &rule->nlist);
            if (!rule->nlist) {
                judge_errf (err, errlen, "rule %s: msgtype needs a list of types", row->name);
                return -1;
            }
            return 0;
        case JUDGE_KIND_GUARD:
        case JUDGE_KIND_CLASSIFIER:
            return s_rule_classifier (rule, row->name, pattern, err, errlen);
        default:
            return 0;
    }
}

//  All the rules' patterns in one vectorscan database, and its scratch.
static int
s_rules_compile (judge_rules_t *self, const s_patlist_t *pl, char *err, size_t errlen)
{
    self->npatterns = pl->n;
    if (!pl->n)
        return 0;
    hs_compile_error_t *cerr = NULL;
    if (hs_compile_multi ((const char *const *) pl->expr, pl->flags, pl->ids,
                          (unsigned int) pl->n, HS_MODE_BLOCK, NULL, &self->db,
                          &cerr) != HS_SUCCESS) {
        size_t at = cerr && cerr->expression >= 0 ? (size_t) cerr->expression : 0;
        judge_errf (err, errlen, "rule %s: vectorscan: %s",
                    self->rules [self->patterns [at].rule].name,
                    cerr && cerr->message ? cerr->message : "compile error");
        hs_free_compile_error (cerr);
        return -1;
    }
    if (hs_alloc_scratch (self->db, &self->scratch) != HS_SUCCESS) {
        judge_errf (err, errlen, "vectorscan: cannot allocate scratch");
        return -1;
    }
    return 0;
}

judge_rules_t *
judge_rules_new (const judge_rule_row_t *rows, size_t n, const judge_normalizer_t *norm,
                 char *err, size_t errlen)
{
    judge_rules_t *self = (judge_rules_t *) judge_calloc (1, sizeof (*self));
    self->rules = (judge_rule_t *) judge_calloc (n ? n : 1, sizeof (judge_rule_t));
    self->seen = (uint32_t *) judge_calloc (n ? n : 1, sizeof (uint32_t));
    s_patlist_t pl = { NULL, NULL, NULL, 0, 0 };
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        self->nrules = i + 1;
        rc = s_rule_header (self, i, rows + i, err, errlen);
        if (rc == 0)
            rc = s_rule_pattern (self, &pl, i, rows + i, norm, err, errlen);
    }
    if (rc == 0)
        rc = s_rules_compile (self, &pl, err, errlen);
    for (size_t i = 0; i < pl.n; i++)
        free (pl.expr [i]);
    free (pl.expr);
    free (pl.flags);
    free (pl.ids);
    if (rc)
        judge_rules_destroy (&self);
    return self;
}

void
judge_rules_destroy (judge_rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    judge_rules_t *self = *self_p;
    for (size_t i = 0; i < self->nrules; i++) {
        free (self->rules [i].name);
        s_free_list (self->rules [i].list, self->rules [i].nlist);
    }
    free (self->rules);
    free (self->patterns);
    free (self->seen);
    if (self->scratch)
        hs_free_scratch (self->scratch);
    if (self->db)
        hs_free_database (self->db);
    free (self);
    *self_p = NULL;
}

size_t
judge_rules_count (const judge_rules_t *self)
{
    return self->nrules;
}

const judge_rule_t *
judge_rules_get (const judge_rules_t *self, size_t index)
{
    return index < self->nrules ? self->rules + index : NULL;
}

//  --------------------------------------------------------------------------

static int
s_on_match (unsigned int id, unsigned long long from, unsigned long long to,
            unsigned int flags, void *ctx)
{
    (void) flags;
    judge_rules_t *self = (judge_rules_t *) ctx;
    if (self->nmatches == S_MAX_MATCHES)
        return 1;       //  enough evidence; stop scanning
    const s_pattern_t *p = self->patterns + id;
    s_hsmatch_t *m = self->matches + self->nmatches++;
    m->pattern = id;
    m->end = (size_t) to;
    m->start = p->literal_len ? (size_t) to - p->literal_len : (size_t) from;
    return 0;
}

static void
s_report (judge_rules_t *self, size_t rule, size_t start, size_t end, int light,
          judge_found_fn *found, void *arg)
{
    if (self->seen [rule] == self->generation)
        return;
    self->seen [rule] = self->generation;
    judge_match_t m = { rule, start, end, light, 0 };
    found (arg, &m);
}

void
judge_rules_scan (judge_rules_t *self, const judge_norm_t *norm, int is_member,
                  judge_found_fn *found, void *arg)
{
    if (++self->generation == 0) {
        memset (self->seen, 0, self->nrules * sizeof (uint32_t));
        self->generation = 1;
    }
    //  1. One vectorscan pass for all dictionaries and regexes
    self->nmatches = 0;
    if (self->db && norm->len)
        hs_scan (self->db, norm->text, (unsigned int) norm->len, 0, self->scratch,
                 s_on_match, self);
    for (size_t i = 0; i < self->nmatches; i++) {
        const s_hsmatch_t *m = self->matches + i;
        const s_pattern_t *p = self->patterns + m->pattern;
        if (p->exempt)
            continue;
        int exempted = 0;
        for (size_t k = 0; k < self->nmatches && !exempted; k++) {
            const s_hsmatch_t *x = self->matches + k;
            const s_pattern_t *xp = self->patterns + x->pattern;
            exempted = xp->exempt && xp->rule == p->rule
                    && x->start <= m->start && m->end <= x->end;
        }
        if (!exempted)
            s_report (self, p->rule, m->start, m->end, 0, found, arg);
    }
    //  2. Hand-written detectors. Most chat lines have no ASCII digits or
    //  letters at all: then there is no number, ID or domain to look for.
    int has_digits = norm->digits > 0, has_alnum = norm->digits + norm->letters > 0;
    for (size_t r = 0; r < self->nrules; r++) {
        const judge_rule_t *rule = self->rules + r;
        size_t s, e;
        switch (rule->kind) {
            case JUDGE_KIND_URL:
                if (norm->letters && judge_detect_url (norm, rule->list, rule->nlist, &s, &e))
                    s_report (self, r, s, e, 1, found, arg);
                break;
            case JUDGE_KIND_PHONE:
                //  Staff post the store's phone number; only members count
                if (is_member && has_digits
                &&  judge_detect_phone (norm, rule->list, rule->nlist, &s, &e))
                    s_report (self, r, s, e, 0, found, arg);
                break;
            case JUDGE_KIND_QQ:
                if (has_digits && judge_detect_qq (norm, &s, &e))
                    s_report (self, r, s, e, 0, found, arg);
                break;
            case JUDGE_KIND_WECHAT_ID:
                if (has_alnum && judge_detect_wechat (norm, &s, &e))
                    s_report (self, r, s, e, 0, found, arg);
                break;
            case JUDGE_KIND_AT_ALL: {
                if (!is_member
                ||  (rule->all_at && !memchr (norm->light, '@', norm->light_len)))
                    break;
                static char *defaults [] = { "@所有人", "@all", "@全体成员" };
                char *const *list = rule->nlist ? rule->list : defaults;
                size_t nlist = rule->nlist ? rule->nlist : sizeof (defaults) / sizeof (*defaults);
                for (size_t k = 0; k < nlist; k++) {
                    const char *at = memmem (norm->light, norm->light_len, list [k],
                                             strlen (list [k]));
                    if (at) {
                        s = (size_t) (at - norm->light);
                        s_report (self, r, s, s + strlen (list [k]), 1, found, arg);
                        break;
                    }
                }
                break;
            }
            default:
                break;
        }
    }
}
