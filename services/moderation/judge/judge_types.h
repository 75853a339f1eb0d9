/*  =========================================================================
    judge_types.h - what the judge's public API and its detectors share:
    the categories and a rule row. Kept apart from judge.h so that the
    detectors (judge_detect.c and its scanners) depend on these types only,
    never on the judge that calls them.
    =========================================================================
*/
#ifndef QY_JUDGE_TYPES_H_INCLUDED
#define QY_JUDGE_TYPES_H_INCLUDED

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Categories of a rule, a hit and a score. Behavioural categories (flood,
//  spam_wave) are counted by the service; rules may still name them.
#ifndef QY_CATEGORY_DEFINED
#define QY_CATEGORY_DEFINED
typedef enum {
    QY_CAT_AD,
    QY_CAT_FRAUD,
    QY_CAT_GAMBLING,
    QY_CAT_PORN,
    QY_CAT_ABUSE,
    QY_CAT_FLOOD,
    QY_CAT_SPAM_WAVE,
    QY_CAT_FORMAT,
    QY_CAT_COMPLAINT,       //  a customer's complaint: never punished, escalated
    QY_CAT__COUNT
} qy_category_t;
#endif

//  "ad", "fraud", ... ; "none" for QY_CAT__COUNT.
const char *judge_category_name (qy_category_t cat);
//  Parse a category name; returns QY_CAT__COUNT if unknown.
qy_category_t judge_category_parse (const char *name);

//  One rule as stored in PostgreSQL (table rules) or in default_rules.tsv.
//  The judge copies everything it needs; rows may be freed after judge_new.
typedef struct {
    const char *name;       //  unique rule name, e.g. "ad.wechat_id"
    const char *kind;       //  url | phone | qq | wechat_id | contact_phrase |
                            //  keyword | regex | msgtype | at_all | classifier
    const char *category;   //  ad, fraud, gambling, porn, abuse, flood, spam_wave, format,
                            //  complaint
    const char *pattern;    //  kind-specific, see docs/moderation-judge.md
    double      weight;     //  score contributed when the rule matches
    int         dry_run;    //  1: record the hit, do not count it
} judge_rule_row_t;

#ifdef __cplusplus
}
#endif

#endif
