/*  =========================================================================
    judge_detect.h - compiled rule set and the detectors behind each rule
    kind. Internal to the judge library (and its tests).

    All keyword, contact-phrase and regex rules of a rule set are compiled
    into ONE vectorscan database and matched with one hs_scan per message
    on the strict normalized text. URL, phone, QQ and WeChat-ID detectors
    are hand-written scanners over the normalized text (judge_contact.c,
    judge_url.c): they need context checks (digit-run boundaries, cue words,
    allow-lists) that a regex cannot express cheaply.
    =========================================================================
*/
#ifndef QY_JUDGE_DETECT_H_INCLUDED
#define QY_JUDGE_DETECT_H_INCLUDED

#include "judge_types.h"
#include "judge_normalize.h"

typedef enum {
    JUDGE_KIND_URL,
    JUDGE_KIND_PHONE,
    JUDGE_KIND_QQ,
    JUDGE_KIND_WECHAT_ID,
    JUDGE_KIND_CONTACT_PHRASE,
    JUDGE_KIND_KEYWORD,
    JUDGE_KIND_REGEX,
    JUDGE_KIND_MSGTYPE,
    JUDGE_KIND_AT_ALL,
    JUDGE_KIND_CLASSIFIER,
    JUDGE_KIND_GUARD,           //  after every other rule: "CATEGORY:THRESHOLD"
                                //  hits when that category scored so much
    JUDGE_KIND_DISGUISE,        //  a phone, QQ or WeChat ID hit written in
                                //  disguise (Chinese numerals, full-width, a homophone cue)
    JUDGE_KIND__COUNT
} judge_kind_t;

typedef struct {
    char         *name;
    judge_kind_t  kind;
    qy_category_t category;
    double        weight;
    int           dry_run;
    char        **list;         //  url allow-list, phone allow-list, msgtypes, @all tokens
    size_t        nlist;
    char          model [16];   //  classifier: model category; guard: category
    double        threshold;    //  classifier: minimum probability
    int           below;        //  classifier: hit when p < threshold instead
    int           all_at;       //  at_all: every token starts with '@' (fast reject)
} judge_rule_t;

typedef struct _judge_rules_t judge_rules_t;

//  A match of a rule: span in the strict (light = 0) or light (light = 1)
//  normalized form, or in the original text (orig = 1).
typedef struct {
    size_t rule;
    size_t start, end;
    int    light;
    int    orig;
} judge_match_t;

//  Compile rows. norm is used to normalize keywords with the same pipeline
//  as messages. Returns NULL and fills err if a row is invalid.
judge_rules_t *judge_rules_new (const judge_rule_row_t *rows, size_t n,
                                const judge_normalizer_t *norm, char *err, size_t errlen);
void judge_rules_destroy (judge_rules_t **self_p);

size_t judge_rules_count (const judge_rules_t *self);
const judge_rule_t *judge_rules_get (const judge_rules_t *self, size_t index);
judge_kind_t judge_kind_parse (const char *name);

//  Run every text detector (vectorscan set, URL, phone, QQ, WeChat ID,
//  @all in text) over a normalized message. Calls found() at most once per
//  rule, with its first match. is_member: 0 exempts the sender from rules
//  that are about members only (phone numbers, @all).
typedef void (judge_found_fn) (void *arg, const judge_match_t *match);
void judge_rules_scan (judge_rules_t *self, const judge_norm_t *norm, int is_member,
                       judge_found_fn *found, void *arg);

//  Hand-written detectors: return 1 and the first span found, else 0.
//  Spans are in the strict form, except URLs (light form).
int judge_detect_url (const judge_norm_t *norm, char *const *allow, size_t nallow,
                      size_t *start, size_t *end);
int judge_detect_phone (const judge_norm_t *norm, char *const *allow, size_t nallow,
                        size_t *start, size_t *end);
int judge_detect_qq (const judge_norm_t *norm, size_t *start, size_t *end);
int judge_detect_wechat (const judge_norm_t *norm, size_t *start, size_t *end);

#endif
