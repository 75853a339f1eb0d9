//  A brand's judge, assembled in one place (moderation_judge.c): the
//  service (moderation_store.c) and qyctl's backtest build it the same way,
//  from the brand's rule rows, its own learned models and the shipped ones.
#ifndef QY_MODERATION_JUDGE_H_INCLUDED
#define QY_MODERATION_JUDGE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "judge.h"

enum { MODERATION_MODEL_AD, MODERATION_MODEL_ABUSE, MODERATION_MODELS };

//  What a brand's judge is built from. Paths are borrowed for the call.
typedef struct {
    const char *opencc_config;              //  NULL: the judge's default
    const char *shipped [MODERATION_MODELS];    //  shipped ad / abuse model, NULL: none
    const char *own [MODERATION_MODELS];        //  the brand's learned model file, NULL: none
    const char *complaint;                  //  complaint model, NULL: the dictionaries decide
    bool        strict;                     //  rows rejected is an error (a proposed rule set)
} moderation_judge_spec_t;

typedef struct {
    judge_t *judge;
    bool     own_used [MODERATION_MODELS];  //  the brand's learned model is the one loaded
    bool     degraded;                      //  something was left out (logged)
    bool     default_rules;                 //  running the built-in rules, not the brand's
} moderation_judge_built_t;

//  Build the judge of brand bid (for the logs) from rows. The brand's
//  own models, else the shipped ones; a learned model that does not load
//  falls back to the shipped one, rows that do not compile to no models,
//  then (unless strict) to the built-in rules with the models tried the
//  same way, as for rows NULL: a brand is never left unmoderated.
//  Returns 0, or -1 with a reason in err.
int moderation_judge_build (const char *bid, const judge_rule_row_t *rows, size_t n,
                            const moderation_judge_spec_t *spec, moderation_judge_built_t *out,
                            char *err, size_t errlen);

//  The shipped model of category ("ad", "abuse", "complaint") into buf:
//  <model_dir>/<category>.model when model_dir is set, else
//  judge_model_default_path. Returns buf if the file is readable, else NULL.
const char *moderation_judge_model_path (const char *model_dir, const char *category, char *buf, size_t len);

#endif
